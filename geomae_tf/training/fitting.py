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


def fit(model: keras.Model, recipe: Recipe, run_dir: PathLike, verbose: str | int = "auto",
        epochs: int | None = None, data: tf.data.Dataset | None = None,
        chief: bool = True) -> keras.callbacks.History:
    """Trains `model` with `model.fit` as the recipe says; returns the History.

    `data` is the recipe's training pipeline when already built; a dataset
    with a validation split (the user's images) also gives `val_loss`.
    Only the `chief` (process 0 of a multi-process run) writes the history,
    logs, last weights and `parts.json` (the parts of a run interrupted and
    resumed: `callbacks.RunParts`, also as `history.parts`); every process
    keeps its own backup in `run_dir`.
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
