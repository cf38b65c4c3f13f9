"""Progressive (stage-by-stage) training of the PCA-like autoencoder.

Stage k (PCA-AE talks, slide 46, eq. 17): the new one-unit encoder E_k and a
fresh decoder D_k train with `model.fit` on
reconstruction + lambda * covariance, E_1..E_{k-1} frozen (their
`CentredLatent` on its moving statistics), a NEW optimizer each stage. After
each stage the new unit's centring statistics are re-measured on the
training data with the final weights (`recalibrate_centring`), so a frozen
unit is centred exactly rather than by a moving average that lags behind the
last updates.

Two entry points:
- `train_progressive(model, dataset, epochs_per_stage, ...)`: the library
  function (any `PCAAutoencoder`, any `(x, y)` dataset).
- `fit_recipe(model, recipe, run_dir, verbose, epochs)`: what
  `geomae train` calls for a recipe with `[training] trainer = "progressive"`
  (`geomae_tf.training.registry.TRAINERS["progressive"]`). `epochs` is per stage; a
  run interrupted during stage k resumes there (stages already finished are
  skipped, the current one restores its last completed epoch).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from geomae_tf import datasets, io, validation
from geomae_tf.models.pca.pca_autoencoder import PCAAutoencoder, pca_autoencoder
from geomae_tf.training import callbacks as gcallbacks

if TYPE_CHECKING:
    import keras_tuner
    import tensorflow as tf

    from geomae_tf.training.recipe_types import Recipe
    from geomae_tf.types import ArrayLike, PathLike

LOSSES = {"bce": keras.losses.BinaryCrossentropy, "mse": keras.losses.MeanSquaredError}


def _per_stage(name, value, n_stages, check):
    values = list(value) if isinstance(value, (list, tuple)) else [value] * n_stages
    if len(values) != n_stages:
        raise ValueError(f"`{name}` must be one value or a list of {n_stages} (one per "
                         f"stage). Received: {name}={value!r}")
    return [check(f"{name}", v) for v in values]


def _make_model(model_or_factory_args):
    if isinstance(model_or_factory_args, PCAAutoencoder):
        return model_or_factory_args
    if isinstance(model_or_factory_args, dict):
        return pca_autoencoder(**model_or_factory_args)
    raise TypeError("`model` must be a PCAAutoencoder or a dict of `pca_autoencoder` "
                    f"arguments. Received: {type(model_or_factory_args).__name__}")


def recalibrate_centring(model: PCAAutoencoder, dataset: Iterable[Any], stage: int,
                         steps: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Sets the moving mean/variance of unit `stage` to its statistics on `dataset`.

    Runs the stage's encoder up to its `CentredLatent` over `steps` batches
    of `dataset` (`(x, y)` batches) and writes the measured mean and
    variance of the raw code into the layer: a frozen unit is then centred
    (and scaled) exactly on the training distribution.

    Returns the (mean, variance) written.
    """
    steps = validation.check_int("steps", steps, minimum=1)
    encoder = model.stage_encoders[stage - 1]
    centred = encoder.get_layer("centred")
    raw = keras.Model(encoder.inputs, centred.input)
    values = []
    for i, batch in enumerate(dataset):
        if i >= steps:
            break
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        values.append(keras.ops.convert_to_numpy(raw(x, training=False)))
    values = np.concatenate(values).astype(np.float64)
    mean, var = values.mean(axis=0), values.var(axis=0)
    centred.moving_mean.assign(mean.astype("float32"))
    centred.moving_variance.assign(var.astype("float32"))
    return mean, var


def _optimizer(learning_rate, beta_1, decay_steps):
    if decay_steps:
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps,
                                                               alpha=0.05)
    return keras.optimizers.Adam(learning_rate, beta_1=beta_1)


def train_stage(model: PCAAutoencoder, stage: int, dataset: tf.data.Dataset, epochs: int,
                learning_rate: float = 1e-3, loss: str = "bce",
                steps_per_epoch: int | None = None,
                callbacks: Iterable[keras.callbacks.Callback] | None = None,
                verbose: str | int = "auto", beta_1: float = 0.9, cosine_decay: bool = False,
                recalibrate_steps: int = 20, initial_epoch: int = 0) -> keras.callbacks.History:
    """Trains one stage of a `PCAAutoencoder` with `model.fit`; returns the History.

    Sets the stage (only E_stage and D_stage trainable), compiles with a new
    Adam optimizer (`beta_1`; cosine decay over the stage if `cosine_decay`
    and the number of steps is known) and the reconstruction loss (`"bce"`
    or `"mse"`; the covariance term comes from the model's
    `CovarianceLoss`), fits, then re-measures the new unit's centring.
    """
    model.set_stage(stage)
    steps = steps_per_epoch
    if steps is None:
        cardinality = int(dataset.cardinality()) if hasattr(dataset, "cardinality") else -1
        steps = cardinality if cardinality > 0 else None
    decay_steps = epochs * steps if (cosine_decay and steps) else None
    model.compile(optimizer=_optimizer(learning_rate, beta_1, decay_steps),
                  loss=LOSSES[loss]())
    history = model.fit(dataset, epochs=epochs, steps_per_epoch=steps_per_epoch,
                        callbacks=list(callbacks or []), verbose=verbose,
                        initial_epoch=initial_epoch, shuffle=False)
    centred = model.stage_encoders[stage - 1].get_layer("centred")
    if recalibrate_steps:
        variance = recalibrate_centring(model, dataset, stage, recalibrate_steps)[1]
    else:
        variance = np.asarray(centred.moving_variance)
    warn_if_collapsed(stage, variance, centred.epsilon)
    return history


def warn_if_collapsed(stage: int, variance: ArrayLike, epsilon: float) -> bool:
    """Warns when the new unit of `stage` has collapsed: the variance of its
    raw code is below the centring's epsilon, so the unit codes (almost)
    nothing and `CentredLatent` only amplifies noise. Returns True if so."""
    variance = float(np.max(variance))
    if variance >= epsilon:
        return False
    warnings.warn(f"PCA-AE stage {stage}: the new latent unit collapsed (variance of its code "
                  f"{variance:.3g}, below the centring's epsilon {epsilon:g}): it carries "
                  f"no information. Retrain the stage (another seed, a lower lambda_cov or "
                  f"learning rate), or stop at {stage - 1} unit(s).", UserWarning, stacklevel=3)
    return True


def as_dataset(data: np.ndarray | tf.data.Dataset, batch_size: int = 128,
               seed: int = 0) -> tf.data.Dataset:
    """`data` as `model.fit` takes it: a numpy array of images `(N, H, W, 1)`
    becomes a shuffled (seeded) `tf.data` pipeline of `(x, x)` batches;
    anything else (a `tf.data.Dataset` of `(x, y)` batches) is returned as is."""
    if not isinstance(data, np.ndarray):
        return data
    import tensorflow as tf

    x = validation.check_images(data, name="dataset") if data.ndim == 4 else \
        validation.check_codes(data, name="dataset")
    batch_size = validation.check_int("batch_size", batch_size, minimum=1)
    return (tf.data.Dataset.from_tensor_slices((x, x))
            .shuffle(len(x), seed=validation.check_int("seed", seed, minimum=0),
                     reshuffle_each_iteration=True)
            .batch(batch_size).prefetch(tf.data.AUTOTUNE))


def train_progressive(model: PCAAutoencoder | dict[str, Any],
                      dataset: np.ndarray | tf.data.Dataset,
                      epochs_per_stage: int | list[int] | tuple[int, ...],
                      lambda_cov: float | None = None,
                      learning_rate: float | list[float] | tuple[float, ...] = 1e-3,
                      loss: str = "bce", steps_per_epoch: int | None = None,
                      callbacks: (Sequence[keras.callbacks.Callback]
                                  | Callable[[int], Sequence[keras.callbacks.Callback]]
                                  | None) = None,
                      verbose: str | int = "auto", beta_1: float = 0.9,
                      cosine_decay: bool = False, recalibrate_steps: int = 20,
                      stages: Iterable[int] | None = None, batch_size: int = 128,
                      seed: int = 0) -> tuple[PCAAutoencoder, list[keras.callbacks.History]]:
    """Trains a PCA-like autoencoder stage by stage (PCA-AE talks, eq. 17).

    A stage whose new unit collapses (the variance of its code below the
    centring's epsilon) raises a `UserWarning` (`warn_if_collapsed`).

    Args:
        model: a `PCAAutoencoder`, or a dict of `pca_autoencoder` arguments.
        dataset: a numpy array of images `(N, H, W, 1)` (float32 in [0, 1];
            batched by `batch_size`, shuffled with `seed`), or a
            `tf.data.Dataset` of `(x, y)` batches; for an autoencoder y = x.
        epochs_per_stage: int, or a list with one int per stage.
        lambda_cov: float or None. Weight of the covariance loss; None keeps
            the model's own (`lambda_cov` of the factory).
        learning_rate: float, or a list per stage. Adam's learning rate.
        loss: "bce" (binary cross-entropy, the reference's) or "mse".
        steps_per_epoch: int or None (required for an infinite dataset).
        callbacks: None, a list of callbacks used at every stage, or a
            callable `stage -> list` (e.g. one backup folder per stage).
        verbose: Keras verbosity.
        beta_1: float. Adam's beta_1 (the reference uses 0.5).
        cosine_decay: bool. Cosine learning-rate decay within each stage.
        recalibrate_steps: int. Batches used to re-measure each new unit's
            centring at the end of its stage; 0 skips it.
        stages: iterable of stage numbers to run (default: all, in order).
        batch_size: int. Batch size for a numpy `dataset`. Defaults to 128
            (the zoo's PCA-AE recipe).
        seed: int. Shuffling seed for a numpy `dataset`. Defaults to 0.

    Returns:
        (model, list of per-stage `History` objects).

    Example:
    >>> ae = geomae_tf.zoo.pca_autoencoder(latent_dim=3)
    >>> images, _ = geomae_tf.datasets.ellipses.make_ellipses(2000)
    >>> ae, histories = train_progressive(ae, images, epochs_per_stage=20, lambda_cov=1.0)
    """
    model = _make_model(model)
    dataset = as_dataset(dataset, batch_size, seed)
    n = model.n_stages
    epochs = _per_stage("epochs_per_stage", epochs_per_stage, n,
                        lambda name, v: validation.check_int(name, v, minimum=1))
    rates = _per_stage("learning_rate", learning_rate, n,
                       lambda name, v: validation.check_float(name, v, minimum=0.0,
                                                              exclusive_minimum=True))
    validation.check_choice("loss", loss, set(LOSSES))
    if steps_per_epoch is not None:
        steps_per_epoch = validation.check_int("steps_per_epoch", steps_per_epoch, minimum=1)
    if lambda_cov is not None:
        model.set_covariance_weight(lambda_cov)
    stages = list(range(1, n + 1)) if stages is None else [
        validation.check_int("stages[i]", s, minimum=1, maximum=n) for s in stages]
    histories = []
    for stage in stages:
        stage_callbacks = callbacks(stage) if callable(callbacks) else callbacks
        histories.append(train_stage(model, stage, dataset, epochs[stage - 1],
                                     rates[stage - 1], loss, steps_per_epoch,
                                     stage_callbacks, verbose, beta_1, cosine_decay,
                                     recalibrate_steps))
    model.set_stage(n)
    return model, histories


def merge_histories(histories: Iterable[tuple[int, keras.callbacks.History | None]]
                    ) -> keras.callbacks.History:
    """One `keras.callbacks.History` holding every stage's epochs, plus a
    `stage` column (what `geomae train` reads: `history.history["loss"]`)."""
    merged = keras.callbacks.History()
    merged.history = {}
    for stage, history in histories:
        logs = history.history if history is not None else {}
        length = len(next(iter(logs.values()))) if logs else 0
        for key, values in logs.items():
            merged.history.setdefault(key, []).extend(values)
        merged.history.setdefault("stage", []).extend([stage] * length)
    return merged


def fit_recipe(model: PCAAutoencoder, recipe: Recipe, run_dir: PathLike,
               verbose: str | int = "auto",
               epochs: int | list[int] | None = None) -> keras.callbacks.History:
    """`geomae train`'s trainer for `[training] trainer = "progressive"`.

    Uses the recipe's [training] keys as they are: `epochs` (per stage: one
    int for every stage, or a list with one per stage, e.g. [30, 60, 60]),
    `batch_size`, `learning_rate`, `steps_per_epoch`, `loss`, `beta_1`
    (Adam's), `lr_schedule` ("cosine": the learning rate decays along a
    cosine within each stage; "constant", the recipe default, as the public
    reference); lambda is the model's `lambda_cov` ([model] section). Each
    stage gets its own backup folder (`backup/stage<k>`); a finished stage
    writes `stage<k>.weights.h5` and is skipped when the run is started
    again.

    Every part of every stage, those of earlier runs included, is recorded in
    `parts.json` (`callbacks.RunParts`, one `stage` per part) and returned as
    `history.parts`; `history.resumed` says whether this run continued
    stages or epochs that an earlier one recorded, and `history.stages` gives
    each stage's epochs, last loss and seconds (all of its parts).

    Returns:
        A `History` with every stage's epochs (and a `stage` column).
    """
    training = recipe.training
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    data = datasets.DATASETS[recipe.dataset].training_dataset(**recipe.data_kwargs())
    n_epochs = _per_stage("training.epochs", epochs or training["epochs"], model.n_stages,
                          lambda name, v: validation.check_int(name, v, minimum=1))
    histories = []
    done = [k for k in range(1, model.n_stages + 1)
            if (run_dir / f"stage{k}.weights.h5").is_file()]
    last_done = max(done, default=0)
    if last_done:
        model.load_weights(str(run_dir / f"stage{last_done}.weights.h5"))
    parts_path = run_dir / "parts.json"
    io.write_text(parts_path, json.dumps(_recorded_parts(parts_path, last_done), indent=1)
                  + "\n")
    for stage in range(last_done + 1, model.n_stages + 1):
        parts = gcallbacks.RunParts(parts_path, stage=stage)
        stage_callbacks = [  # the record before the backup: a kill between redoes the epoch
            parts,
            gcallbacks.AtomicBackupAndRestore(str(run_dir / "backup" / f"stage{stage}")),
            keras.callbacks.TerminateOnNaN(),
            gcallbacks.AtomicWeightsCheckpoint(run_dir / "last.weights.h5"),
            keras.callbacks.CSVLogger(str(run_dir / f"history_stage{stage}.csv"), append=True),
            keras.callbacks.TensorBoard(log_dir=str(run_dir / "logs" / f"stage{stage}")),
        ]
        history = train_stage(model, stage, data, n_epochs[stage - 1],
                              training["learning_rate"],
                              training["loss"], training["steps_per_epoch"], stage_callbacks,
                              verbose, training["beta_1"],
                              training["lr_schedule"] == "cosine")
        losses = history.history.get("loss", [])
        if losses and not np.all(np.isfinite(losses)):
            histories.append((stage, history))
            break
        with io.atomic_path(run_dir / f"stage{stage}.weights.h5", suffix=".weights.h5") as tmp:
            model.save_weights(tmp)
        io.write_text(run_dir / f"stage{stage}.json", json.dumps(
            {k: [float(v) for v in vals] for k, vals in history.history.items()}))
        histories.append((stage, history))
    model.set_stage(model.n_stages)
    if not histories:  # every stage was already done: report the saved histories
        for stage in range(1, model.n_stages + 1):
            saved = run_dir / f"stage{stage}.json"
            h = keras.callbacks.History()
            h.history = json.loads(saved.read_text()) if saved.is_file() else {}
            histories.append((stage, h))
    merged = merge_histories(histories)
    merged.parts = _recorded_parts(parts_path, model.n_stages)
    # resumed: stages finished by an earlier run, or a stage continued from its backup
    merged.resumed = last_done > 0 or gcallbacks.parts_resumed(merged.parts)
    merged.stages = _stage_records(merged.parts, histories, run_dir)
    return merged


def _recorded_parts(path, last_stage):
    """The parts recorded in `path` (`callbacks.RunParts`' JSON list) of the
    stages up to `last_stage + 1`: a later stage's parts belong to weights
    that no longer exist, and that stage runs again."""
    try:
        parts = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(parts, list):
        return []
    return [part for part in parts if isinstance(part, dict)
            and isinstance(part.get("stage"), int) and part["stage"] <= last_stage + 1]


def _stage_records(parts, histories, run_dir):
    """Each stage's `epochs`, last `loss` and `seconds`, from every part of it."""
    stages = {}
    for stage in sorted({part["stage"] for part in parts}):
        own = [part for part in parts if part["stage"] == stage]
        loss = None
        for number, history in histories:
            if number == stage and history is not None and history.history.get("loss"):
                loss = float(history.history["loss"][-1])
        if loss is None and (run_dir / f"stage{stage}.json").is_file():
            saved = json.loads((run_dir / f"stage{stage}.json").read_text()).get("loss")
            loss = float(saved[-1]) if saved else None
        stages[f"stage{stage}"] = {"epochs": max(part["last_epoch"] for part in own),
                                   "loss": loss,
                                   "seconds": round(sum(part["seconds"] for part in own), 1)}
    return stages


def pca_hypermodel(model_kwargs: Mapping[str, Any] | None = None,
                   lambda_values: Iterable[float] | None = None,
                   lambda_range: tuple[float, float] = (1e-2, 1e2),
                   epochs_per_stage: int | list[int] | tuple[int, ...] = 1,
                   learning_rate: float | list[float] | tuple[float, ...] = 1e-3,
                   loss: str = "bce", steps_per_epoch: int | None = None,
                   validation_images: np.ndarray | None = None,
                   beta_1: float = 0.9) -> keras_tuner.HyperModel:
    """A Keras Tuner `HyperModel` that sweeps the covariance weight lambda.

    `build(hp)` makes a `pca_autoencoder(**model_kwargs, lambda_cov=...)`
    with lambda from `hp.Choice("lambda_cov", lambda_values)` (or
    `hp.Float` log-uniform on `lambda_range`); `fit` trains it stage by stage
    (`train_progressive`) and returns, measured on `validation_images` (or
    on one batch of the training data):

    - `reconstruction`: the mean squared error of the final model;
    - `latent_abs_corr`: the largest |corr| between two latent axes;
    - `score`: reconstruction / (reconstruction of the first stage alone)
      + latent_abs_corr, small when the model both reconstructs and
      decorrelates.

    Use it with any tuner, e.g.
    ``keras_tuner.GridSearch(pca_hypermodel(...), objective=
    keras_tuner.Objective("latent_abs_corr", "min"), max_trials=4)`` and
    ``tuner.search(dataset)``.
    """
    import keras_tuner as kt  # only the tuners need it: 0.1 s at import, every command spared

    model_kwargs = dict(model_kwargs or {})
    if "lambda_cov" in model_kwargs:
        raise ValueError("`model_kwargs` must not set `lambda_cov`: the tuner sweeps it. "
                         f"Received: model_kwargs={model_kwargs!r}")
    low, high = (validation.check_float("lambda_range[0]", lambda_range[0], minimum=0.0,
                                        exclusive_minimum=True),
                 validation.check_float("lambda_range[1]", lambda_range[1], minimum=0.0,
                                        exclusive_minimum=True))

    class PCAHyperModel(kt.HyperModel):
        def build(self, hp):
            if lambda_values is not None:
                lam = hp.Choice("lambda_cov", [float(v) for v in lambda_values])
            else:
                lam = hp.Float("lambda_cov", low, high, sampling="log")
            return pca_autoencoder(**model_kwargs, lambda_cov=lam)

        def fit(self, hp, model, x, *args, **kwargs):
            train_progressive(model, x, epochs_per_stage, learning_rate=learning_rate,
                              loss=loss, steps_per_epoch=steps_per_epoch, verbose=0,
                              beta_1=beta_1)
            images = validation_images
            if images is None:
                images = np.asarray(next(iter(x))[0])
            z = model.encode(images)
            errors = [float(np.mean((model.decode(z[:, :j]) - images) ** 2))
                      for j in (1, model.n_stages)]
            corr = np.abs(np.corrcoef(z.T)) if z.shape[1] > 1 else np.eye(1)
            latent = float(np.max(corr - np.eye(len(corr)))) if z.shape[1] > 1 else 0.0
            return {"reconstruction": errors[1], "latent_abs_corr": latent,
                    "score": errors[1] / max(errors[0], 1e-12) + latent}

    return PCAHyperModel(name="pca_ae")
