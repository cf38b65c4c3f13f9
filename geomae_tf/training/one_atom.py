"""One atom first: g learns whole atoms before k blocks share an image
(`trainer = "one_atom_first"`).

Newson and Traonmilin 2023 train the atomic autoencoder jointly, by the
reconstruction error alone (section 2.3), and on MNIST its atoms come out as
whole strokes (section 3, Figures 2-4). Nothing in that loss prefers one
atom per object, though: the sum g(z_1) + ... + g(z_k) can draw a stroke as
two halves, or as dim overlapping copies, at no cost. On synthetic pen
strokes (`geomae_tf.datasets.strokes`) the jointly trained model does split
them: its blocks draw pieces (docs/atomic.md). Proposition 2 says when a
block cannot code two atoms (d0 is too small); nothing says when it must code
a whole one.

This trainer keeps the paper's architecture and loss and orders what g
sees, in three stages:

1. **one atom** (`steps` steps): a one-block model (the same factory with
   k = 1, hence the same g and the same encoder trunk) learns images of at
   most one object (the recipe's data with the overrides in `data`, e.g.
   `{max_strokes = 1}`), a share `blank_rate` of them blank. With one block
   the code cannot split the object, so g becomes a generator of whole
   objects, and of nothing (the off code).
2. **block fixed** (`frozen_block_steps` steps, optional): the k-block
   model starts with that g and encoder trunk (the last dense layer, whose
   width is k * d0, starts fresh) and trains its encoder alone on the
   recipe's data, g fixed: each block must now code one whole object, or
   nothing.
3. **joint**: the recipe's own `model.fit` (its epochs, schedule, backups
   and history), as `trainer = "fit"` would run it.

Each stage writes its weights atomically in the run folder
(`one_atom.weights.h5`, `block_fixed.weights.h5`); a run started again skips
the stages that finished with the recipe's number of steps (an interrupted
stage, or one whose steps changed, is redone, and stage 2 after a new stage
1) and resumes stage 3 from its backup.

Real digits have no one-stroke images, so stage 1 may draw its objects from
another registered dataset: `dataset = "strokes"` with
`data = {image_size = 128, max_strokes = 1, ...}` teaches g single pen
strokes of the digits' size and width before it meets the digits (stage 1
then takes only `data`, the batch size and the seed; stages 2 and 3 train
on the recipe's own data).

Recipe keys, in `[training.one_atom]`: `steps` (default 4,000), `data`
(default `{}`), `dataset` (default the recipe's), `blank_rate` (default
0.15), `learning_rate` (default the recipe's; stage 1 decays it by a cosine
to 1%, stage 2 keeps it constant), `frozen_block_steps` (default 0).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import tensorflow as tf

from geomae_tf import datasets, io, validation, zoo
from geomae_tf.models.atomic.atomic_model import AtomicAutoencoder
from geomae_tf.training import fitting
from geomae_tf.training.callbacks import parts_epochs

if TYPE_CHECKING:
    from geomae_tf.training.recipe_types import Recipe
    from geomae_tf.types import PathLike

#: `[training.one_atom]` keys and their defaults.
DEFAULTS = {
    "steps": 4000,
    "data": {},
    "dataset": None,
    "blank_rate": 0.15,
    "learning_rate": None,
    "frozen_block_steps": 0,
}
#: Steps per Keras epoch of stages 1 and 2 (one progress line each).
STAGE_EPOCH = 100


def check_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """The `[training.one_atom]` options with their defaults, checked."""
    merged = validation.with_defaults("training.one_atom", options, DEFAULTS)
    validation.check_int("training.one_atom.steps", merged["steps"], minimum=1)
    validation.check_int("training.one_atom.frozen_block_steps",
                         merged["frozen_block_steps"], minimum=0)
    if not isinstance(merged["data"], dict):
        raise ValueError(f"`training.one_atom.data` must be a table of [data] overrides for "
                         f"the one-atom stage (e.g. {{max_strokes = 1}}). Received: "
                         f"data={merged['data']!r}")
    if merged["dataset"] is not None:
        validation.check_choice("training.one_atom.dataset", merged["dataset"],
                                set(datasets.DATASETS))
    rate = validation.check_float("training.one_atom.blank_rate", merged["blank_rate"],
                                  minimum=0.0)
    if rate >= 1.0:
        raise ValueError(f"`training.one_atom.blank_rate` must be in [0, 1) (the share of "
                         f"blank images in the one-atom stage). Received: blank_rate={rate!r}")
    if merged["learning_rate"] is not None:
        validation.check_float("training.one_atom.learning_rate", merged["learning_rate"],
                               minimum=0.0, exclusive_minimum=True)
    return merged


def with_blanks(data: tf.data.Dataset, blank_rate: float, seed: int) -> tf.data.Dataset:
    """`data`'s (images, images) batches with a share `blank_rate` of the
    images (drawn per image, seeded by `seed` and the batch's index) set to 0."""
    if not blank_rate:
        return data

    def blank(step, batch):
        images = batch[0]
        draw = tf.random.stateless_uniform(tf.shape(images)[:1],
                                           tf.stack([tf.constant(seed, tf.int64), step]))
        kept = images * tf.cast(draw >= blank_rate, images.dtype)[:, None, None, None]
        return kept, kept

    return data.enumerate().map(blank)


def transfer(source: AtomicAutoencoder, target: AtomicAutoencoder) -> None:
    """Copies g and the encoder's layers, except the code layer "z", from a
    model with another k (the same factory arguments otherwise)."""
    target.block.set_weights(source.block.get_weights())
    for layer in source.encoder.layers:
        if layer.weights and layer.name != "z":
            target.encoder.get_layer(layer.name).set_weights(layer.get_weights())


def stage_one_data(recipe: Recipe, options: dict[str, Any]) -> tf.data.Dataset:
    """Stage 1's (images, images) batches, before blanking: the recipe's
    dataset with its [data] arguments overridden by `options["data"]`, or,
    when `options["dataset"]` names another, that dataset with its own
    defaults, `options["data"]`, the recipe's batch size and seed."""
    if options.get("dataset") in (None, recipe.dataset):
        return datasets.DATASETS[recipe.dataset].training_dataset(
            **{**recipe.data_kwargs(), **options["data"]})
    return datasets.DATASETS[options["dataset"]].training_dataset(
        **{"batch_size": recipe.training["batch_size"], "seed": recipe.training["seed"],
           **options["data"]})


def _save(model, path):
    with io.atomic_path(path, suffix=".weights.h5") as tmp:
        model.save_weights(tmp)


def fit_recipe(model: AtomicAutoencoder, recipe: Recipe, run_dir: PathLike,
               verbose: str | int = "auto",
               epochs: int | None = None) -> keras.callbacks.History:
    """`geomae train`'s trainer for `[training] trainer = "one_atom_first"`.

    Runs the three stages of the module's docstring on `model` in place and
    returns stage 3's `History` (`model.fit`'s); the stages' losses and
    times go to `one_atom.json` in the run folder. `epochs` overrides stage
    3's epochs only.
    """
    if not isinstance(model, AtomicAutoencoder):
        raise TypeError(f"trainer = \"one_atom_first\" trains an atomic autoencoder (factory "
                        f"atomic_autoencoder). Received: a {type(model).__name__}")
    training = recipe.training
    options = check_options(training.get("one_atom"))
    rate = options["learning_rate"] or training["learning_rate"]
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    state_path = run_dir / "one_atom.json"
    state = json.loads(state_path.read_text()) if state_path.is_file() else {}
    dataset = datasets.DATASETS[recipe.dataset]
    seed = training["seed"]
    one_source = {"dataset": options["dataset"] or recipe.dataset, "data": options["data"]}

    one_path = run_dir / "one_atom.weights.h5"
    model_args = {key: value for key, value in recipe.model.items() if key != "split_penalty"}
    one = zoo.FACTORIES[recipe.factory](**{**model_args, "k": 1})
    reused = []   # the stages an earlier run finished: this run resumes after them
    done = state.get("one_atom", {})
    if (one_path.is_file() and done.get("steps") == options["steps"]
            and done.get("source", one_source) == one_source):
        one.load_weights(str(one_path))
        reused.append("one_atom")
        if verbose:
            print(f"stage 1 (one atom) already done: {one_path}")
    else:
        if verbose:
            print(f"stage 1 (one atom): {options['steps']} steps of images with at most one "
                  f"object ({one_source['dataset']}, {options['data']}), "
                  f"{options['blank_rate']:.0%} blank, k = 1")
        data = with_blanks(stage_one_data(recipe, options), options["blank_rate"], seed + 1)
        schedule = keras.optimizers.schedules.CosineDecay(rate, options["steps"], alpha=0.01)
        state.pop("block_fixed", None)   # stage 2 follows a new stage 1
        _run_stage(one, data, options["steps"], schedule, training["beta_1"], verbose,
                   "one_atom", "stage 1 (one atom)", state, state_path, one_path, recipe)
        state["one_atom"]["source"] = one_source
        io.write_text(state_path, json.dumps(state, indent=2) + "\n")

    fixed_path = run_dir / "block_fixed.weights.h5"
    if (options["frozen_block_steps"] and fixed_path.is_file()
            and state.get("block_fixed", {}).get("steps") == options["frozen_block_steps"]):
        model.load_weights(str(fixed_path))
        reused.append("block_fixed")
        if verbose:
            print(f"stage 2 (g fixed) already done: {fixed_path}")
    else:
        transfer(one, model)
        if options["frozen_block_steps"]:
            if verbose:
                print(f"stage 2 (g fixed): {options['frozen_block_steps']} steps of the "
                      f"encoder alone, k = {model.k}")
            data = dataset.training_dataset(**recipe.data_kwargs())
            model.block.trainable = False
            try:
                _run_stage(model, data, options["frozen_block_steps"], rate,
                           training["beta_1"], verbose, "block_fixed", "stage 2 (g fixed)",
                           state, state_path, fixed_path, recipe)
            finally:
                model.block.trainable = True

    if verbose:
        print(f"stage 3 (joint): the recipe's model.fit, k = {model.k}")
    started = time.time()
    history = fitting.fit(model, recipe, run_dir, verbose=verbose, epochs=epochs)
    losses = history.history.get("loss") or [float("nan")]
    # what `geomae train` records: every stage, those of an earlier run included,
    # and the joint stage's every part (`history.parts`, resumed from its backup)
    history.stages = {key: state[key] for key in ("one_atom", "block_fixed") if key in state}
    joint_epochs = parts_epochs(history.parts) if history.parts else len(losses)
    joint_seconds = (sum(part["seconds"] for part in history.parts) if history.parts
                     else time.time() - started)
    history.stages["joint"] = {"steps": joint_epochs * (history.params or {}).get("steps", 0),
                               "loss": float(losses[-1]),
                               "seconds": round(joint_seconds, 1)}
    history.resumed = bool(reused) or history.resumed
    return history


def _run_stage(model, data, steps, rate, beta_1, verbose, key, stage, state, state_path,
               weights_path, recipe):
    """Compiles `model` (Adam at `rate`, mean squared error), fits `steps`
    steps, records the stage under `state[key]` and writes its weights and
    the state atomically (nothing when a loss is not finite)."""
    model.compile(optimizer=keras.optimizers.Adam(rate, beta_1=beta_1), loss="mse")
    started = time.time()
    history = _fit_steps(model, data, steps, verbose)
    state[key] = {"steps": steps, "loss": history[-1],
                  "seconds": round(time.time() - started, 1)}
    _check(history, stage, recipe)
    _save(model, weights_path)
    io.write_text(state_path, json.dumps(state, indent=2) + "\n")


def _fit_steps(model, data, steps, verbose):
    """Fits `steps` steps (Keras epochs of `STAGE_EPOCH` steps when it divides
    them, else one epoch); returns the epochs' losses."""
    size = STAGE_EPOCH if steps % STAGE_EPOCH == 0 else steps
    history = model.fit(data, epochs=steps // size, steps_per_epoch=size, shuffle=False,
                        verbose=verbose, callbacks=[keras.callbacks.TerminateOnNaN()])
    return [float(v) for v in history.history["loss"]]


def _check(losses, stage, recipe):
    if not losses or not all(math.isfinite(v) for v in losses):
        raise fitting.TrainingDivergedError(
            f"{stage} of {recipe.path} gave a non-finite loss; nothing was saved. Lower "
            f"[training.one_atom] learning_rate and run again.")
