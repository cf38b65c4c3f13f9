"""`geomae tune`: Keras Tuner sweeps the regularisation weight lambda (JMIV 2020, 4.4.1).

For one regulariser of `disk_autoencoder` (type 1 "latent_distance", type 2
"weight_decay", type 3 "encoder_weight_decay", or "denoising"), a grid search
(`LambdaGridOracle` in a `keras_tuner.Tuner`) trains one network per lambda,
on a log scale plus lambda = 0, all from the same initialisation, on the
recipe's (limited) training set. The objective is the reconstruction MSE on
held-out disks whose radii fall in the hole, drawn from the true distribution
and blurred by Monte Carlo (appendix A), passed as validation data:
`val_mse`, not `val_loss`, because Keras adds the weight-decay penalty to
`val_loss` too.

A recipe's `[tune]` section (all keys optional)::

    [tune]
    regularizer = "encoder_weight_decay"  # default: [model] regularizer
    lambda_range = [1e-6, 1e-2]           # log-spaced (default: DEFAULT_RANGES) ...
    n_lambdas = 5                         # ... this many values,
    include_zero = true                   # ... plus lambda = 0
    # lambdas = [0.0, 1e-5, 1e-4]         # or an explicit list instead
    epochs = 100                          # default: [training] epochs
    max_trials = 6                        # default: every lambda
    hole = [11.0, 18.0]                   # default: the first [data] exclude band
    n_val = 200                           # held-out hole disks (the objective)
    n_test = 300                          # fresh disks over 1..31 for the table and plot
    max_gap = 2.0                         # choose the best lambda whose test hole MSE is
                                          # at most this times its observed MSE

Outputs in `<out_dir>/<entry>/`: `lambda_sweep.md` and `lambda_sweep.json`
(one row per lambda), `lambda_sweep.png` (code against radius for every
lambda, Figure 8, and the reconstruction error against the radius), and the
Keras Tuner project (`tuner/`); a second run with more trials, or with more
lambdas in the grid, resumes it.

Distributed sweeps (Keras Tuner's chief/worker mode): `geomae tune RECIPE --chief
--oracle-address HOST:PORT` serves the oracle over gRPC and trains nothing;
`geomae tune RECIPE --worker --oracle-address HOST:PORT` (one per machine or
process, all on the chief's `--out-dir`, a shared folder) pulls trials until the
grid is done. Keras Tuner's `KERASTUNER_TUNER_ID`, `KERASTUNER_ORACLE_IP` and
`KERASTUNER_ORACLE_PORT` select the same modes. Workers send a heartbeat while
they train; the chief puts the trial of a worker silent for `worker_timeout`
seconds back in the queue, and an idle worker waits for such trials before it
stops, so a lost worker neither stops the sweep nor leaves a trial unrun. When the
grid is done the chief writes the table and plot. The service itself (gRPC, the
heartbeats, the lost workers' trials) is `geomae_tf.training.tuning_service`.
"""

from __future__ import annotations

import functools
import json
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import grpc
import keras_tuner as kt
import numpy as np
import tensorflow as tf
from keras_tuner.engine import trial as kt_trial
from keras_tuner.src.distribute import oracle_client

from geomae_tf import datasets, io, validation, zoo
from geomae_tf.analysis import disk as disk_analysis
from geomae_tf.analysis.plotting import pyplot, save_figure
from geomae_tf.datasets import disks
from geomae_tf.models.disk.disk_autoencoder import REGULARIZERS
from geomae_tf.training import trainer
from geomae_tf.training.recipe import TUNE_DEFAULTS, RecipeError, check_tune, load_recipe
# The chief/worker service (gRPC) has its own module; its public names read as
# this module's too (`tuning.distributed_role`, `tuning.TuneConnectionError`).
from geomae_tf.training.tuning_service import (CHIEF_ID, HEARTBEAT_S, IDLE_POLL_S,
                                               TuneConnectionError, _keras_tuner_environment,
                                               _SweepTuner, _worker_client, distributed_role,
                                               parse_address, serve_oracle, wait_for_oracle)

if TYPE_CHECKING:
    from geomae_tf.types import PathLike

OBJECTIVE = "val_mse"
#: Default log ranges of lambda per regulariser, on the scale of Keras' MSE data term
#: (for "denoising" lambda is the noise standard deviation, in grey levels).
DEFAULT_RANGES = {
    "latent_distance": [1e-4, 1.0],
    "weight_decay": [1e-6, 1e-2],
    "encoder_weight_decay": [1e-6, 1e-2],
    "denoising": [1e-2, 0.3],
}


def lambda_grid(lambdas: list[float] | tuple[float, ...] | None = None,
                lambda_range: list[float] | tuple[float, float] = (1e-6, 1e-2),
                n_lambdas: int = 5, include_zero: bool = True) -> list[float]:
    """The lambdas to try: an explicit list, or `n_lambdas` log-spaced values in
    `lambda_range` (plus 0 first when `include_zero`), sorted, without repeats."""
    if lambdas is not None:
        if not isinstance(lambdas, (list, tuple)) or not lambdas:
            raise ValueError(f"`lambdas` must be a non-empty list of numbers >= 0. "
                             f"Received: lambdas={lambdas!r}")
        values = [validation.check_float("lambdas[i]", v, minimum=0.0) for v in lambdas]
    else:
        if not isinstance(lambda_range, (list, tuple)) or len(lambda_range) != 2:
            raise ValueError(f"`lambda_range` must be a [low, high] pair. "
                             f"Received: lambda_range={lambda_range!r}")
        low = validation.check_float("lambda_range[0]", lambda_range[0], minimum=0.0,
                                     exclusive_minimum=True)
        high = validation.check_float("lambda_range[1]", lambda_range[1], minimum=low)
        n = validation.check_int("n_lambdas", n_lambdas, minimum=1)
        values = [float(v) for v in np.geomspace(low, high, n)]
        if not isinstance(include_zero, bool):
            raise TypeError(f"`include_zero` must be a bool. Received: "
                            f"include_zero={include_zero!r}")
        if include_zero:
            values.append(0.0)
    return sorted({float(f"{v:.6g}") for v in values})


def band_disks(n: int, band: Sequence[float], seed: int, image_size: int = disks.IMAGE_SIZE,
               n_samples: int = 256) -> np.ndarray:
    """`n` fresh Monte-Carlo-blurred disks with radii uniform in `band` (the hole)."""
    images, _ = disks.make_disks(n, seed=seed, radius_range=tuple(band), renderer="monte_carlo",
                                 n_samples=n_samples, image_size=image_size)
    return images


def _synchronized(method: Callable) -> Callable:
    """`keras_tuner.synchronized` (one oracle call at a time, across threads and
    processes), keeping the method's name, docstring and signature."""
    return functools.wraps(method)(kt.synchronized(method))


class LambdaGridOracle(kt.Oracle):
    """Tries each lambda once, smallest first; its only state is its trials.

    Keras Tuner's `GridSearch` keeps its queue of next combinations in memory
    only, so a reloaded grid search stops after the trials already run; this
    oracle picks the smallest lambda not yet tried, so running the same
    sweep again with more `max_trials` resumes it.

    Args:
        lambdas: list of float. The grid.
        **kwargs: passed to `keras_tuner.Oracle` (objective, max_trials, seed).
    """

    def __init__(self, lambdas: Iterable[float], **kwargs: Any):
        super().__init__(**kwargs)
        self.lambdas = sorted(float(v) for v in lambdas)

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        tried = {t.hyperparameters.values.get("lam") for t in self.trials.values()}
        for lam in self.lambdas:
            if lam not in tried:
                return {"status": kt_trial.TrialStatus.RUNNING, "values": {"lam": lam}}
        return {"status": kt_trial.TrialStatus.STOPPED, "values": None}

    @_synchronized
    def create_trial(self, tuner_id: str) -> kt_trial.Trial:
        """As `keras_tuner.Oracle.create_trial`, but a tuner that would be stopped
        while other tuners still run trials is told to wait (IDLE): a trial of a
        lost worker may come back to the queue (`release_tuner`)."""
        trial = super().create_trial(tuner_id)
        if (trial.status == kt_trial.TrialStatus.STOPPED
                and any(other != tuner_id for other in self.ongoing_trials)):
            self.tuner_ids.add(tuner_id)
            trial.status = kt_trial.TrialStatus.IDLE
        return trial

    @_synchronized
    def end_trial(self, trial: kt_trial.Trial) -> None:
        super().end_trial(trial)
        self.save()   # Keras Tuner saves before it forgets the ongoing trial

    @_synchronized
    def release_tuner(self, tuner_id: str) -> kt_trial.Trial | None:
        """Forgets a lost tuner; its ongoing trial (returned, or None) goes back to
        the queue, to be run by the next tuner that asks for a trial."""
        self.tuner_ids.discard(tuner_id)
        trial = self.ongoing_trials.pop(tuner_id, None)
        if trial is not None:
            trial.status = kt_trial.TrialStatus.IDLE
            self._retry_queue.append(trial.trial_id)
            self._save_trial(trial)
        self.save()
        return trial


class LambdaHyperModel(kt.HyperModel):
    """Builds `factory(**model_kwargs, regularizer=..., lam=hp.Choice("lam", lambdas))`.

    Every trial starts from the same seeded initialisation, so trials differ
    by lambda only. Compiled with the reconstruction MSE (Adam) and an `mse`
    metric, the pure data term that the objective `val_mse` reads.

    Args:
        factory: the model factory (`geomae_tf.zoo.disk_autoencoder`).
        model_kwargs: dict. Its other arguments.
        regularizer: str. The regulariser whose weight is swept.
        lambdas: list of float. The values of lambda.
        learning_rate: float or a `keras.optimizers.schedules.LearningRateSchedule`
            (the recipe's `lr_schedule`, so that lambda is tuned under the
            schedule the entry is trained with). Adam's learning rate.
        seed: int. Seed of every trial's initialisation.
    """

    def __init__(self, factory: Callable[..., keras.Model], model_kwargs: Mapping[str, Any],
                 regularizer: str, lambdas: Iterable[float],
                 learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-3,
                 seed: int = 0):
        super().__init__(name=f"lambda_{regularizer}")
        self.factory = factory
        self.model_kwargs = dict(model_kwargs)
        self.regularizer = regularizer
        self.lambdas = list(lambdas)
        self.learning_rate = learning_rate
        self.seed = seed

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        lam = hp.Choice("lam", self.lambdas, ordered=True)
        keras.utils.set_random_seed(self.seed)
        model = self.factory(**self.model_kwargs, regularizer=self.regularizer, lam=lam)
        model.compile(optimizer=keras.optimizers.Adam(self.learning_rate), loss="mse",
                      metrics=[keras.metrics.MeanSquaredError(name="mse")])
        return model


def fit_disk_autoencoder(model_kwargs: Mapping[str, Any] | None = None,
                         data_kwargs: Mapping[str, Any] | None = None, epochs: int = 10,
                         batch_size: int = 64, learning_rate: float = 1e-3, seed: int = 0,
                         verbose: str | int = 0) -> tuple[keras.Model, dict[str, list[float]]]:
    """Trains one `disk_autoencoder` with `model.fit` (the example scripts' runs).

    Args:
        model_kwargs: dict. Arguments of `disk_autoencoder` (e.g. `use_bias`,
            `regularizer`, `lam`).
        data_kwargs: dict. Arguments of `datasets.disks.training_dataset`
            (e.g. `exclude=[(11, 18)]`, `max_radius=18`); fixed mode by default.
        epochs, batch_size, learning_rate, seed: the schedule (Adam, MSE).
        verbose: Keras verbosity.

    Returns:
        (model, history dict). The same seed gives the same weights on a CPU
        (op determinism is enabled, as `geomae train` does).
    """
    trainer.seed_run(seed)
    model = zoo.disk_autoencoder(**(model_kwargs or {}))
    data = disks.training_dataset(**{"mode": "fixed", **(data_kwargs or {}),
                                     "batch_size": batch_size, "seed": seed})
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse",
                  metrics=[keras.metrics.MeanSquaredError(name="mse")])
    history = model.fit(data, epochs=epochs, verbose=verbose, shuffle=False)
    return model, history.history


def _first_given(*values):
    """The first value that is not None."""
    return next(value for value in values if value is not None)


def _tune_settings(recipe, max_trials, epochs, overrides=None):
    settings = dict(TUNE_DEFAULTS)
    for where, given in (("[tune]", recipe.tune), ("overrides", overrides or {})):
        try:  # the recipe's own [tune] was checked when it loaded; overrides are new
            check_tune(given)
        except (TypeError, ValueError) as err:
            raise RecipeError(f"{recipe.path}: {where} {err}") from None
        if "lambda_range" in given and "lambdas" not in given:
            # a range given here replaces an explicit list given earlier (the recipe's
            # list belongs to its own regulariser, not to the one overridden)
            settings["lambdas"] = None
        settings.update(given)
    if recipe.factory != "disk_autoencoder":
        raise RecipeError(f"{recipe.path}: `geomae tune` sweeps the regularisers of "
                          f"disk_autoencoder. Received: factory={recipe.factory!r}")
    settings["regularizer"] = settings["regularizer"] or recipe.model.get("regularizer")
    choices = sorted(set(REGULARIZERS) - {"none"})
    if settings["regularizer"] not in choices:
        raise RecipeError(f"{recipe.path}: [tune] regularizer must be one of {choices}. "
                          f"Received: regularizer={settings['regularizer']!r}")
    if settings["hole"] is None:
        exclude = recipe.data.get("exclude") or []
        if not exclude:
            raise RecipeError(f"{recipe.path}: set [tune] hole = [low, high] (the radii "
                              f"of the objective) or [data] exclude.")
        settings["hole"] = list(exclude[0])
    try:
        hole = settings["hole"]
        if not isinstance(hole, (list, tuple)) or len(hole) != 2 or not hole[0] < hole[1]:
            raise ValueError(f"`hole` must be a [low, high] pair with low < high. "
                             f"Received: hole={hole!r}")
        settings["lambda_range"] = (settings["lambda_range"]
                                    or DEFAULT_RANGES[settings["regularizer"]])
        settings["lambdas"] = lambda_grid(settings["lambdas"], settings["lambda_range"],
                                          settings["n_lambdas"], settings["include_zero"])
        # an argument given as 0 is refused, never read as "not given"
        settings["epochs"] = validation.check_int(
            "epochs", _first_given(epochs, settings["epochs"], recipe.training["epochs"]),
            minimum=1)
        trials = _first_given(max_trials, settings["max_trials"], len(settings["lambdas"]))
        settings["max_trials"] = validation.check_int("max_trials", trials, minimum=1)
        for key in ("n_val", "n_test", "n_samples", "test_n_samples"):
            settings[key] = validation.check_int(key, settings[key], minimum=1)
        if settings["max_gap"] is not None:
            settings["max_gap"] = validation.check_float("max_gap", settings["max_gap"],
                                                         minimum=1.0)
    except (TypeError, ValueError) as err:
        raise RecipeError(f"{recipe.path}: [tune] {err}") from None
    return settings


def _spec_text(recipe, settings):
    """What a sweep depends on; the recipe's own `lam` and `epochs` do not count."""
    spec = {"recipe": str(recipe.path),
            "model": {k: v for k, v in recipe.model.items() if k not in ("regularizer", "lam")},
            "data": recipe.data,
            "training": {k: v for k, v in recipe.training.items() if k != "epochs"},
            **{k: settings[k] for k in ("regularizer", "lambdas", "epochs", "hole", "n_val",
                                        "val_seed", "n_samples")}}
    return json.dumps(spec, indent=2, sort_keys=True, default=str) + "\n"


def _extends(old, new):
    """Whether sweep `new` is sweep `old` with possibly more lambdas."""
    def rest(spec):
        return {k: v for k, v in spec.items() if k != "lambdas"}

    return rest(old) == rest(new) and set(old["lambdas"]) <= set(new["lambdas"])


def tune_from_recipe(recipe_path: PathLike, out_dir: PathLike = "runs/tune",
                     max_trials: int | None = None, epochs: int | None = None,
                     verbose: str | int = 0, overrides: Mapping[str, Any] | None = None,
                     chief: bool = False, worker: bool = False,
                     oracle_address: str | None = None, tuner_id: str | None = None,
                     connect_timeout: float = 60.0,
                     worker_timeout: float = 60.0) -> list[dict[str, Any]] | list[str]:
    """Sweeps lambda for the recipe's regulariser with Keras Tuner; writes the results.

    Args:
        recipe_path: a `.toml` recipe of `disk_autoencoder` with a `[tune]`
            section (see the module docstring).
        out_dir: folder of the tuning runs. Defaults to "runs/tune".
        max_trials: int or None. Overrides `[tune] max_trials`.
        epochs: int or None. Overrides `[tune] epochs` (quick checks).
        verbose: Keras verbosity of each trial's `fit`.
        overrides: dict or None. `[tune]` keys to override (e.g. another
            `regularizer` and its `lambda_range`); the sweep then goes to
            `<out_dir>/<entry>_<regularizer>/`.
        chief: bool. Serve the oracle of a distributed sweep (trains nothing); writes
            the results when the workers are done.
        worker: bool. Pull trials from the chief's oracle until the grid is done;
            `out_dir` must be the chief's (a shared folder).
        oracle_address: str or None. `HOST:PORT` of the chief's oracle (defaults to
            `KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT`).
        tuner_id: str or None. A worker's unique name (defaults to
            `KERASTUNER_TUNER_ID`, else `<hostname>-<pid>`).
        connect_timeout: float. Seconds a worker waits for the chief, at start and
            for each request. Defaults to 60.
        worker_timeout: float. Seconds of silence after which the chief counts a
            worker as lost and queues its trial again. Defaults to 60.

    Returns:
        The list of result rows (one dict per lambda tried), also written to
        `lambda_sweep.json` and `.md` (and printed), with the plot
        `lambda_sweep.png`. A worker returns the ids of the trials it ran.

    Raises:
        TuneConnectionError: a worker found no oracle within `connect_timeout`
            seconds, or the chief cannot bind `oracle_address`.
    """
    role = distributed_role(chief, worker, oracle_address, tuner_id)
    recipe = load_recipe(recipe_path)
    if recipe.training["dtype_policy"] != "float32":
        raise RecipeError(f"{recipe.path}: `geomae tune` trains in float32 only: remove "
                          f"[training] dtype_policy or set it to \"float32\". Received: "
                          f"dtype_policy={recipe.training['dtype_policy']!r}")
    settings = _tune_settings(recipe, max_trials, epochs, overrides)
    folder = Path(out_dir) / (f"{recipe.entry}_{settings['regularizer']}" if overrides
                              else recipe.entry)
    is_worker = role is not None and role["role"] == "worker"
    if is_worker:
        connect_timeout = validation.check_float("connect_timeout", connect_timeout,
                                                 minimum=0.0, exclusive_minimum=True)
        wait_for_oracle(role["host"], role["port"], connect_timeout)
    folder.mkdir(parents=True, exist_ok=True)
    spec_path = folder / "tune_spec.json"
    spec_text = _spec_text(recipe, settings)
    if is_worker:
        _check_worker_spec(spec_path, spec_text, role)
    else:
        if spec_path.exists() and not _extends(json.loads(spec_path.read_text()),
                                               json.loads(spec_text)):
            raise RecipeError(f"{folder} holds a sweep with other settings ({spec_path}); "
                              f"use another --out-dir or delete that folder to start "
                              f"afresh (adding lambdas to the grid is the only change that "
                              f"resumes).")
        io.write_text(spec_path, spec_text)

    image_size = int(recipe.model.get("image_size", disks.IMAGE_SIZE))
    seed = recipe.training["seed"]
    tf.config.experimental.enable_op_determinism()   # same seed, same sweep (as train)
    train_data = datasets.DATASETS[recipe.dataset].training_dataset(**recipe.data_kwargs())
    hole = tuple(float(v) for v in settings["hole"])
    model_kwargs = {k: v for k, v in recipe.model.items() if k not in ("regularizer", "lam")}
    hypermodel = LambdaHyperModel(zoo.FACTORIES[recipe.factory], model_kwargs,
                                  settings["regularizer"], settings["lambdas"],
                                  trainer.run_learning_rate(recipe.training, train_data,
                                                            settings["epochs"]),
                                  seed)
    oracle = LambdaGridOracle(settings["lambdas"],
                              objective=kt.Objective(OBJECTIVE, direction="min"),
                              max_trials=settings["max_trials"], seed=seed)
    with _keras_tuner_environment(role):
        tuner = _SweepTuner(oracle=oracle, hypermodel=hypermodel, directory=str(folder),
                            project_name="tuner", overwrite=False)   # never for a worker
        if is_worker:
            return _run_worker(tuner, oracle, role, connect_timeout, train_data, settings,
                               hole, image_size, verbose)
        oracle_file = Path(tuner.project_dir) / "oracle.json"
        if not oracle.trials and oracle_file.exists():
            oracle.reload()   # the project was saved under another tuner id (chief, tuner0)
        oracle.max_trials = settings["max_trials"]   # a reloaded oracle keeps its old one
        if role is None:
            x_val = band_disks(settings["n_val"], hole, settings["val_seed"], image_size,
                               settings["n_samples"])
            tuner.search(train_data, validation_data=(x_val, x_val),
                         epochs=settings["epochs"], shuffle=False,
                         verbose=verbose)   # the pipeline shuffles each epoch
        else:
            oracle.verbose = verbose   # Keras Tuner's own table per trial when verbose
            tuner.save()
            print(f"chief: serving the oracle at {role['host']}:{role['port']} "
                  f"({len(settings['lambdas'])} lambdas, at most {settings['max_trials']} "
                  f"trials; tuner folder {tuner.project_dir})", flush=True)
            serve_oracle(oracle, role["host"], role["port"], worker_timeout)
            oracle.save()

    rows, curves = _trial_results(tuner, settings, hole, image_size)
    _write_results(folder, recipe, settings, rows, curves, hole)
    print(markdown_table(rows, settings["regularizer"], hole, settings["max_gap"]))
    best = choose_lambda(rows, settings["max_gap"])
    if role is not None and best is not None:
        print(f"chief: best lambda {best['lam']:g} (trial {best['trial']}, hole val_mse "
              f"{best['objective_val_mse_hole']:.4e})", flush=True)
    print(f"written: {folder / 'lambda_sweep.md'}, {folder / 'lambda_sweep.json'}, "
          f"{folder / 'lambda_sweep.png'}")
    return rows


def _check_worker_spec(spec_path, spec_text, role):
    """A worker trains the chief's sweep: its recipe must give the same settings, and
    its folder must be the chief's (the chief reads the workers' checkpoints)."""
    if not spec_path.exists():
        raise RecipeError(f"{spec_path} does not exist: a worker's --out-dir must be the "
                          f"chief's folder (shared by every machine of the sweep); the "
                          f"chief at {role['host']}:{role['port']} writes it on start")
    chief_spec = json.loads(spec_path.read_text())
    own_spec = json.loads(spec_text)
    chief_spec.pop("recipe", None)   # the recipe's path may differ between machines
    own_spec.pop("recipe", None)
    if chief_spec != own_spec:
        raise RecipeError(f"this worker's recipe and options give another sweep than the "
                          f"chief's ({spec_path}): give the worker the chief's recipe")


def _run_worker(tuner, oracle, role, connect_timeout, train_data, settings, hole,
                image_size, verbose):

    x_val = band_disks(settings["n_val"], hole, settings["val_seed"], image_size,
                       settings["n_samples"])
    tuner.oracle = _worker_client(oracle, connect_timeout)
    saved_timeout, oracle_client.TIMEOUT = oracle_client.TIMEOUT, connect_timeout
    print(f"{role['tuner_id']}: pulling trials from {role['host']}:{role['port']}",
          flush=True)
    try:
        tuner.search(train_data, validation_data=(x_val, x_val), epochs=settings["epochs"],
                     shuffle=False, verbose=verbose)
    except grpc.RpcError as err:
        raise TuneConnectionError(
            f"the oracle at {role['host']}:{role['port']} stopped answering "
            f"(connect_timeout {connect_timeout:g} s): {err.code().name}") from None
    finally:
        oracle_client.TIMEOUT = saved_timeout
        tuner.oracle.stop_heartbeat()
    print(f"{role['tuner_id']}: done; ran trial(s) {', '.join(tuner.ran) or 'none'}",
          flush=True)
    return list(tuner.ran)


def _trial_results(tuner, settings, hole, image_size):
    test, factors = disks.make_disks(settings["n_test"], seed=settings["test_seed"],
                                     radius_range=disk_analysis.HELD_OUT_RANGE,
                                     renderer="monte_carlo",
                                     n_samples=settings["test_n_samples"],
                                     image_size=image_size)
    radii = factors["radius"]
    in_hole = (radii >= hole[0]) & (radii < hole[1])
    rows, curves = [], []
    trials = [t for t in tuner.oracle.trials.values()
              if t.status == "COMPLETED" and t.score is not None]
    for trial in sorted(trials, key=lambda t: t.hyperparameters.get("lam")):
        with warnings.catch_warnings():   # the checkpoint's optimizer state is not needed
            warnings.filterwarnings("ignore", message="Skipping variable loading")
            model = tuner.load_model(trial)
        recon = np.asarray(model.predict(test, batch_size=256, verbose=0))
        per_image = np.mean((recon - test) ** 2, axis=(1, 2, 3))
        z = np.asarray(model.encoder.predict(test, batch_size=256, verbose=0))
        code = disk_analysis.code_vs_radius(z, radii)
        hole_mse = float(per_image[in_hole].mean()) if in_hole.any() else float("nan")
        observed_mse = float(per_image[~in_hole].mean())
        rows.append({
            "lam": float(trial.hyperparameters.get("lam")),
            "objective_val_mse_hole": float(trial.score),
            "best_epoch": int(trial.best_step) + 1 if trial.best_step is not None else None,
            "mse_hole": hole_mse,
            "mse_observed": observed_mse,
            "hole_over_observed": hole_mse / observed_mse if observed_mse > 0 else None,
            "abs_spearman": abs(code["spearman"]),
            "r2_vs_area": code["r2_vs_area"],
            "trial": trial.trial_id,
        })
        curves.append({"name": f"lambda = {rows[-1]['lam']:.3g}", "radii": radii,
                       "z": z[:, 0], "per_image": per_image})
    return rows, curves


def choose_lambda(rows: Iterable[dict[str, Any]],
                  max_gap: float | None = None) -> dict[str, Any] | None:
    """The chosen row: the best objective, among the rows whose test hole MSE is at
    most `max_gap` times their observed MSE when `max_gap` is set (None if none is)."""
    pool = [r for r in rows if max_gap is None or (r["hole_over_observed"] is not None
                                                   and r["hole_over_observed"] <= max_gap)]
    return min(pool, key=lambda r: r["objective_val_mse_hole"]) if pool else None


def markdown_table(rows: Sequence[dict[str, Any]], regularizer: str, hole: Sequence[float],
                   max_gap: float | None = None) -> str:
    """The sweep as a markdown table (the chosen lambda in bold, the plain best starred)."""
    best = choose_lambda(rows)
    chosen = choose_lambda(rows, max_gap)
    rule = ("the best objective" if max_gap is None else
            f"the best objective among the lambdas with hole / observed <= {max_gap:g}")
    lines = [f"Lambda sweep, regulariser `{regularizer}`; objective: reconstruction MSE on "
             f"fresh disks with radii in the hole [{hole[0]:g}, {hole[1]:g}) (val_mse, best "
             f"epoch). Test columns: other fresh disks over radii 1..31. In bold: {rule}"
             + ("; starred: the plain best objective." if max_gap is not None else "."), "",
             "| lambda | objective (hole val_mse) | best epoch | hole MSE (test) | observed "
             "MSE (test) | hole / observed | abs Spearman z-r | r2 z vs area |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lam = f"{r['lam']:.3g}" + (" *" if r is best and max_gap is not None else "")
        lam = f"**{lam}**" if r is chosen else lam
        ratio = "-" if r["hole_over_observed"] is None else f"{r['hole_over_observed']:.2f}"
        lines.append(f"| {lam} | {r['objective_val_mse_hole']:.3e} | {r['best_epoch']} | "
                     f"{r['mse_hole']:.3e} | {r['mse_observed']:.3e} | {ratio} | "
                     f"{r['abs_spearman']:.4f} | {r['r2_vs_area']:.4f} |")
    return "\n".join(lines) + "\n"


def _write_results(folder, recipe, settings, rows, curves, hole):
    best, chosen = choose_lambda(rows), choose_lambda(rows, settings["max_gap"])
    summary = {"entry": recipe.entry, "recipe": str(recipe.path),
               "regularizer": settings["regularizer"], "hole": list(hole),
               "epochs": settings["epochs"], "objective": OBJECTIVE,
               "max_gap": settings["max_gap"], "rows": rows,
               "best_lam": best["lam"] if best else None,
               "chosen_lam": chosen["lam"] if chosen else None}
    io.write_text(folder / "lambda_sweep.json",
                      json.dumps(summary, indent=2, default=float) + "\n")
    io.write_text(folder / "lambda_sweep.md",
                      markdown_table(rows, settings["regularizer"], hole,
                                     settings["max_gap"]))
    code_curves_figure(curves, hole, folder / "lambda_sweep.png",
                       title=f"{recipe.entry}: {settings['regularizer']}, "
                             f"{settings['epochs']} epochs (Figure 8)")


def code_curves_figure(curves: Sequence[Mapping[str, Any]], hole: Sequence[float],
                       path: PathLike, title: str) -> Path:
    """Code against radius (min-max scaled per curve) and per-disk MSE against radius.

    `curves`: dicts with `radii`, `z`, `per_image`, `name` (legend; None for
    no entry) and optionally `colour`. The hole is shaded. Figures 7-8 of
    JMIV 2020.
    """
    plt = pyplot()

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    cmap = plt.get_cmap("viridis")
    for i, c in enumerate(curves):
        order = np.argsort(c["radii"])
        z = c["z"][order]
        span = z.max() - z.min()
        scaled = (z - z.min()) / span if span > 0 else z * 0
        colour = c.get("colour") or cmap(i / max(len(curves) - 1, 1))
        name = c.get("name") or "_nolegend_"
        axes[0].plot(c["radii"][order], scaled, "-", color=colour, lw=1, label=name)
        axes[1].semilogy(c["radii"][order], c["per_image"][order] + 1e-8, ".", ms=2,
                         color=colour)
    for ax in axes:
        ax.axvspan(hole[0], hole[1], color="red", alpha=0.1, label="_hole")
        ax.set_xlabel("radius (px)")
    axes[0].set_ylabel("code z, min-max scaled")
    axes[1].set_ylabel("per-disk MSE")
    handles, labels = axes[0].get_legend_handles_labels()
    if len(labels) <= 12:
        axes[0].legend(fontsize=7)
    fig.suptitle(title + "; shaded: radii never seen in training", fontsize=9)
    return save_figure(fig, path)
