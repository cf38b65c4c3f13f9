"""Fine-tuning the shared block g on refined codes (`trainer = "refined"`).

Newson and Traonmilin 2023 train the encoder and the decoder of an atomic
autoencoder jointly, by the reconstruction error alone (section 2.3). On
spikes, the encoder's code is imprecise (split, merged and misplaced atoms),
and the block g that is best under the mean squared error for such codes is
blurred: on the `atomic_spikes` entry an atom's mass over its peak is
2 pi x 5.5 px^2 where a Gaussian spike of sigma 2 px has 2 pi x 4, so even
the refined code (`AtomicAutoencoder.refine_codes`), which places one atom on
each spike, reads the amplitudes 12% low. Refining the code cannot change g;
this trainer changes g, with the paper's architecture and loss kept:

each round (one "epoch" of the run's history)

1. draws `images_per_round` fresh images from the recipe's data stream;
2. refines their codes through the current decoder (`refine_codes`, options
   `refine`), which switches the blocks that are not a spike off;
3. fits g jointly with a table of those codes, one row per image (a
   `keras.layers.Embedding` initialised with the refined codes: the code
   table of Generative Latent Optimization, Bojanowski et al. 2018), by
   `model.fit` on ||sum_i m_i g(z_i) - x||^2 (`AtomicDecoder(...,
   block_mask=m)`, m = 0 on the switched-off blocks) for `steps_per_epoch`
   steps of `batch_size` images;
4. fits the encoder to the table's final codes (mean squared error on the
   codes) for `distill_steps` steps, so that the encoder's code, where
   refinement starts, follows the sharper g.

Start from a trained entry (`[training] init = "atomic_spikes"`). A round
that finishes writes `round<r>.weights.h5` atomically; a run started again
resumes after the last finished round (an interrupted round is redone).

Recipe keys, in `[training.refined]`: `images_per_round` (default 512),
`refine` (options of `refine_codes`, default `{rounds = 1}`),
`distill_steps` (default 0), `distill_learning_rate` (default the
recipe's `learning_rate`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from geomae_tf import datasets, io, validation
from geomae_tf.models.atomic import refinement
from geomae_tf.models.atomic.atomic_model import AtomicAutoencoder
from geomae_tf.training.callbacks import RunParts

if TYPE_CHECKING:
    from geomae_tf.training.recipe_types import Recipe
    from geomae_tf.types import ArrayLike, PathLike

#: `[training.refined]` keys and their defaults.
DEFAULTS = {
    "images_per_round": 512,
    "refine": {"rounds": 1},
    "distill_steps": 0,
    "distill_learning_rate": None,
}


def check_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """The `[training.refined]` options with their defaults, checked."""
    merged = validation.with_defaults("training.refined", options, DEFAULTS)
    validation.check_int("training.refined.images_per_round", merged["images_per_round"],
                         minimum=1)
    if not isinstance(merged["refine"], dict):
        raise ValueError(f"`training.refined.refine` must be a table of refine_codes options "
                         f"(e.g. {{rounds = 1}}). Received: refine={merged['refine']!r}")
    validation.check_int("training.refined.distill_steps", merged["distill_steps"], minimum=0)
    if merged["distill_learning_rate"] is not None:
        validation.check_float("training.refined.distill_learning_rate",
                               merged["distill_learning_rate"], minimum=0.0,
                               exclusive_minimum=True)
    return merged


def code_table_model(model: AtomicAutoencoder, codes: ArrayLike,
                     live: ArrayLike) -> keras.Model:
    """(image index, block mask) -> sum_i m_i g(z_i), z the table's row.

    The table (`keras.layers.Embedding`, named "codes") starts at `codes`
    `(N, k * d0)`; the decoder is the model's own `AtomicDecoder`, so fitting
    this model trains the shared block g of `model` in place.
    """
    codes = np.asarray(codes, np.float32)
    n, latent_dim = codes.shape
    index = keras.Input((), dtype="int32", name="index")
    mask = keras.Input((model.k,), name="block_mask")
    table = keras.layers.Embedding(n, latent_dim, name="codes",
                                   embeddings_initializer=keras.initializers.Constant(codes))
    out = model.atomic_decoder(table(index), block_mask=mask)
    return keras.Model([index, mask], out, name="code_table")


def live_blocks(model: AtomicAutoencoder, codes: ArrayLike) -> np.ndarray:
    """(N, k) float32: 0 on the blocks that `refine_codes` switched off, else 1."""
    mask = refinement._live_mask(model, np.asarray(codes, np.float32))
    return mask.reshape(len(mask), model.k, model.d0)[:, :, 0].copy()


def _images(stream, n):
    """The next `n` images of a tf.data stream of (images, targets) batches."""
    out, have = [], 0
    for batch in stream:
        images = batch[0] if isinstance(batch, (tuple, list)) else batch
        images = np.asarray(images, np.float32)
        out.append(images)
        have += len(images)
        if have >= n:
            break
    if have < n:
        raise ValueError(f"`training.refined.images_per_round` must not exceed the images "
                         f"the data gives. Received: images_per_round={n}, data ended "
                         f"after {have}")
    return np.concatenate(out)[:n]


def fit_recipe(model: AtomicAutoencoder, recipe: Recipe, run_dir: PathLike,
               verbose: str | int = "auto",
               epochs: int | None = None) -> keras.callbacks.History:
    """`geomae train`'s trainer for `[training] trainer = "refined"`.

    Uses `epochs` (rounds), `steps_per_epoch`, `batch_size`,
    `learning_rate` (Adam, constant), `seed` and `[training.refined]` (see
    the module's docstring). Returns a `History` with one row per round:
    `loss` (the table fit's last epoch), `distill_loss`, `live_atoms` (mean
    live blocks per image) and `round`; its `parts` hold every part of the
    run, those of earlier runs included (`parts.json`, one epoch per round,
    as `callbacks.RunParts` records them) and `resumed` says whether this
    run continued rounds that an earlier one finished.
    """
    if not isinstance(model, AtomicAutoencoder):
        raise TypeError(f"trainer = \"refined\" fine-tunes an atomic autoencoder (factory "
                        f"atomic_autoencoder). Received: a {type(model).__name__}")
    training = recipe.training
    options = check_options(training.get("refined"))
    rounds = validation.check_int("epochs", epochs or training["epochs"], minimum=1)
    steps = validation.check_int("training.steps_per_epoch", training["steps_per_epoch"] or 100,
                                 minimum=1)
    batch_size = training["batch_size"]
    n_images = options["images_per_round"]
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    state_path = run_dir / "rounds.json"
    rows = json.loads(state_path.read_text()) if state_path.is_file() else []
    rows = [row for row in rows if (run_dir / f"round{row['round']}.weights.h5").is_file()]
    if rows:
        model.load_weights(str(run_dir / f"round{rows[-1]['round']}.weights.h5"))
        if verbose:
            print(f"resuming after round {rows[-1]['round']} of {rounds}")
    data = datasets.DATASETS[recipe.dataset].training_dataset(**recipe.data_kwargs())
    batches_per_round = math.ceil(n_images / batch_size)
    stream = iter(data.skip(len(rows) * batches_per_round))
    distill_lr = options["distill_learning_rate"] or training["learning_rate"]
    # every part of the run (one "epoch" per round), those of earlier runs too
    parts = RunParts(run_dir / "parts.json")
    parts.on_train_begin()
    resumed = bool(rows)
    for r in range(len(rows) + 1, rounds + 1):
        parts.on_epoch_begin(r - 1)
        images = _images(stream, n_images)
        if hasattr(model, "_off_code"):   # g changed: find its off code again
            del model._off_code
        codes = model.refine_codes(images, **options["refine"])
        live = live_blocks(model, codes)
        table = code_table_model(model, codes, live)
        table.compile(optimizer=keras.optimizers.Adam(training["learning_rate"]), loss="mse")
        order = np.random.default_rng(training["seed"] + r).permutation(
            np.resize(np.arange(n_images), steps * batch_size))
        inputs = [order.astype("int32"), live[order]]
        history = table.fit(inputs, images[order], batch_size=batch_size, epochs=1,
                            shuffle=False, verbose=verbose,
                            callbacks=[keras.callbacks.TerminateOnNaN()])
        loss = float(history.history["loss"][-1])
        row = {"round": r, "loss": loss, "live_atoms": float(live.sum(axis=1).mean())}
        if not np.isfinite(loss):
            rows.append(row)
            break
        if options["distill_steps"]:
            targets = keras.ops.convert_to_numpy(table.get_layer("codes").embeddings)
            model.encoder.compile(optimizer=keras.optimizers.Adam(distill_lr), loss="mse")
            pick = np.random.default_rng(training["seed"] + 10_000 + r).permutation(
                np.resize(np.arange(n_images), options["distill_steps"] * batch_size))
            distilled = model.encoder.fit(images[pick], targets[pick], batch_size=batch_size,
                                          epochs=1, shuffle=False, verbose=verbose,
                                          callbacks=[keras.callbacks.TerminateOnNaN()])
            row["distill_loss"] = float(distilled.history["loss"][-1])
        rows.append(row)
        parts.on_epoch_end(r - 1)   # before the round's files: a kill between redoes it
        with io.atomic_path(run_dir / f"round{r}.weights.h5", suffix=".weights.h5") as tmp:
            model.save_weights(tmp)
        io.write_text(state_path, json.dumps(rows, indent=2) + "\n")
        if verbose:
            print(f"round {r}/{rounds}: loss {loss:.3g}, live atoms per image "
                  f"{row['live_atoms']:.2f}" + (f", distill loss {row['distill_loss']:.3g}"
                                                 if "distill_loss" in row else ""))
    result = keras.callbacks.History()
    result.history = {key: [row.get(key, float("nan")) for row in rows]
                      for key in ("loss", "distill_loss", "live_atoms", "round")}
    parts.on_train_end()
    result.parts, result.resumed = parts.parts, resumed
    return result
