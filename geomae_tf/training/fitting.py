"""The plain trainer (`[training] trainer = "fit"`): the recipe's `model.fit`.

Also the pieces every trainer shares: the recipe's training and validation
pipelines, its learning rate (constant or a cosine over the run), and the
error a run that diverged raises. The one-atom-first trainer runs this `fit`
as its joint stage; `geomae tune` trains its trials under the same learning
rate.

Example:
>>> recipe = load_recipe("zoo/disk_ae.toml")
>>> model = geomae_tf.zoo.disk_autoencoder(**recipe.model)
>>> history = fit(model, recipe, "runs/disk_ae", epochs=2)
>>> len(history.parts), history.resumed
(1, False)
"""

from __future__ import annotations

import csv
import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import keras
import tensorflow as tf

from geomae_tf import datasets
from geomae_tf.training import callbacks as gcallbacks
from geomae_tf.training import distribute
from geomae_tf.training.recipe_types import RecipeError

if TYPE_CHECKING:
    from geomae_tf.training.recipe_types import Recipe
    from geomae_tf.types import PathLike


class TrainingDivergedError(RuntimeError):
    """Training produced NaN or infinite values; nothing was exported."""


def training_data(recipe: Recipe) -> tf.data.Dataset:
    """The recipe's training pipeline (built, so its data is checked now)."""
    return datasets.DATASETS[recipe.dataset].training_dataset(**recipe.data_kwargs())


def validation_data(recipe: Recipe) -> tf.data.Dataset | None:
    """The validation pipeline for `model.fit`, when the dataset has a
    validation split (the user's images), else None."""
    fn = datasets.DATASETS[recipe.dataset].training_dataset
    params = inspect.signature(fn).parameters
    if "subset" not in params:
        return None
    split = recipe.data.get("validation_split", params["validation_split"].default)
    return fn(**recipe.data_kwargs(), subset="validation") if split > 0 else None


def _loss(name):
    return {"mse": keras.losses.MeanSquaredError(),
            "bce": keras.losses.BinaryCrossentropy()}[name]


def learning_rate(training: Mapping[str, Any], steps_per_epoch: int,
                  epochs: int) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The optimizer's learning rate (a float or a schedule) for a recipe's
    [training] section; `steps_per_epoch * epochs` is the length of the run."""
    rate = training["learning_rate"]
    if training.get("lr_schedule", "constant") == "cosine":
        return keras.optimizers.schedules.CosineDecay(
            rate, decay_steps=max(1, int(steps_per_epoch) * int(epochs)), alpha=0.01)
    return rate


def _steps_per_epoch(data, training):
    if training["steps_per_epoch"] is not None:
        return training["steps_per_epoch"]
    cardinality = int(data.cardinality())
    if cardinality < 1:
        raise RecipeError("[training] lr_schedule = \"cosine\" needs the run's length: "
                          "set [training] steps_per_epoch")
    return cardinality


def _known_steps(data, training):
    """Steps per epoch: the recipe's, else the data's cardinality, else None."""
    if training["steps_per_epoch"] is not None:
        return training["steps_per_epoch"]
    cardinality = int(data.cardinality())
    return cardinality if cardinality > 0 else None


def run_learning_rate(training: Mapping[str, Any], data: tf.data.Dataset,
                      epochs: int) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The learning rate of a run of `epochs` over `data` under a recipe's
    [training] section: its constant rate, or its schedule over the run's
    length (`steps_per_epoch`, else the cardinality of `data`). Used by
    `fit` and by every trial of `geomae tune`, so that lambda is tuned under
    the schedule the entry is trained with."""
    if training.get("lr_schedule", "constant") == "constant":
        return training["learning_rate"]
    return learning_rate(training, _steps_per_epoch(data, training), epochs)


def finished_run(run_dir: PathLike, epochs: int,
                 steps_per_epoch: int | None = None) -> keras.callbacks.History | None:
    """The recorded History of a one-process run in `run_dir` that trained its
    `epochs` to the end, else None.

    Ended means: `parts.json` covers the `epochs`, `last.weights.h5` is there,
    and the backup is gone (Keras deletes it when `fit` returns, after every
    callback has written the last epoch). The History holds `history.csv`'s
    last row per epoch, `parts` and `resumed` as `fit` sets them, and
    `finished = True`.
    """
    run_dir = Path(run_dir)
    parts = gcallbacks.RunParts(run_dir / "parts.json")._recorded()
    if (not parts or any(part.get("stage") is not None for part in parts)
            or gcallbacks.parts_epochs(parts) != epochs
            or not (run_dir / "last.weights.h5").is_file()
            or (run_dir / "backup").exists() or not (run_dir / "history.csv").is_file()):
        return None
    with open(run_dir / "history.csv", newline="") as handle:
        rows = {int(row["epoch"]): row for row in csv.DictReader(handle)}
    if sorted(rows) != list(range(epochs)):
        return None
    history = keras.callbacks.History()
    history.epoch = list(range(epochs))
    history.history = {key: [float(rows[e][key]) for e in range(epochs)]
                       for key in rows[0] if key != "epoch" and rows[0][key] not in ("", "NA")}
    history.params = {"epochs": epochs, "steps": steps_per_epoch}
    history.parts = parts
    history.resumed = gcallbacks.parts_resumed(parts)
    history.finished = True
    return history


def fit(model: keras.Model, recipe: Recipe, run_dir: PathLike, verbose: str | int = "auto",
        epochs: int | None = None, data: tf.data.Dataset | None = None,
        chief: bool = True) -> keras.callbacks.History:
    """Trains `model` with `model.fit` as the recipe says; returns the History.

    `data` is the recipe's training pipeline when already built; a dataset
    with a validation split (the user's images) also gives `val_loss`.
    Only the `chief` (process 0 of a multi-process run) writes the history,
    logs, last weights and `parts.json` (the parts of a run interrupted and
    resumed: `callbacks.RunParts`, also as `history.parts`); every process
    keeps its own backup in `run_dir`. A run folder whose run already ended
    (`finished_run`) is not trained again: the model takes its last weights,
    and its recorded history is returned (a run stopped after training, in
    its evaluation or export, goes on from there with the same command).
    """
    training = recipe.training
    data = training_data(recipe) if data is None else data
    epochs = epochs or training["epochs"]
    rate = run_learning_rate(training, data, epochs)
    model.compile(optimizer=keras.optimizers.Adam(rate, beta_1=training["beta_1"]),
                  loss=_loss(training["loss"]))
    run_dir = Path(run_dir)
    parts = gcallbacks.RunParts(run_dir / "parts.json")
    # The record of parts before the backup: a kill between the two redoes the
    # epoch, so the parts of a resumed run never leave a gap.
    callbacks = ([parts] if chief else []) + [
        gcallbacks.AtomicBackupAndRestore(str(run_dir / "backup")),
        keras.callbacks.TerminateOnNaN(),
    ] + ([
        gcallbacks.AtomicWeightsCheckpoint(run_dir / "last.weights.h5"),
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=True),
        keras.callbacks.TensorBoard(log_dir=str(run_dir / "logs")),
    ] if chief else [])
    finished = (finished_run(run_dir, epochs, _known_steps(data, training))
                if distribute.process_count() == 1 else None)
    if finished is not None:   # trained to its end already: its weights, not a new run
        model.optimizer.build(model.trainable_variables)   # its state is in the file too
        model.load_weights(str(run_dir / "last.weights.h5"))
        if verbose:
            print(f"{run_dir}: trained to its last epoch ({epochs}) already; its weights "
                  f"are used, nothing is trained again")
        return finished
    validation = validation_data(recipe)
    if distribute.process_count() > 1:  # every process takes as many equal batches
        batch_size = recipe.data_kwargs()["batch_size"]
        data = data.rebatch(batch_size, drop_remainder=True)
        if validation is not None:
            validation = validation.rebatch(batch_size, drop_remainder=True)
    history = model.fit(data, epochs=epochs, validation_data=validation,
                        steps_per_epoch=training["steps_per_epoch"], callbacks=callbacks,
                        shuffle=False,
                        verbose=verbose)
    history.parts = parts.parts if chief else []  # every part of a resumed run
    history.resumed = gcallbacks.parts_resumed(history.parts)
    return history
