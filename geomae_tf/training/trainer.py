"""`geomae train`: a recipe in, a trained, evaluated and exported run out.

The run folder `runs/<entry>/` holds everything a run writes: the
TensorBoard logs (`logs/`), the per-epoch history (`history.csv`), the last
finite weights (`last.weights.h5`), the backup that makes an interrupted run
resume from its last completed epoch (`backup/`: run the same command
again), the held-out metrics (`results.json`) and the SavedModel export
(`saved_models/<entry>/1/`, servable as it is).

A run never touches what is published. Publishing (`publish=True`,
`geomae train RECIPE --publish`) copies the run's export to
`saved_models/<entry>/<version>/` and its results to `<recipe>.results.json`
(e.g. `zoo/disk_ae.results.json`): to a new version by default, to the
recipe's `[export] version` when it names one, and never over an existing
version unless `force=True`. A run whose recipe is overridden (`epochs`) or
that skips the evaluation or the export cannot be published.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
import tensorflow as tf

import geomae_tf
from geomae_tf import datasets, io, validation, zoo
from geomae_tf.analysis import reconstruction
from geomae_tf.analysis.families import FAMILIES
from geomae_tf.export.saved_model import export_entry, write_models_config
from geomae_tf.zoo.weights import load_weights_into
from geomae_tf.training import callbacks as gcallbacks
from geomae_tf.training import distribute, run_lock
# The trainers' shared pieces live in the modules below; they read as this
# module's names too (`trainer.fit`, `trainer.evaluator_of`, ...).
from geomae_tf.training.evaluation import (evaluation_kwargs, evaluator_of, family_of,
                                           user_data)
from geomae_tf.training.fitting import (TrainingDivergedError, fit, learning_rate,
                                        run_learning_rate, training_data, validation_data)
from geomae_tf.training.recipe import load_recipe
from geomae_tf.training.recipe_types import RecipeError
from geomae_tf.training.registry import TRAINERS

if TYPE_CHECKING:
    from geomae_tf.training.recipe_types import Recipe
    from geomae_tf.types import PathLike

class PublishError(ValueError):
    """A run that may not be published, or a version that publishing would overwrite."""


#: Held-out images drawn (seed + 1) for the reconstruction metrics of a
#: synthetic dataset's run outside the zoo.
N_HELD_OUT = 512


def held_out_images(recipe: Recipe) -> np.ndarray:
    """Images the run never trained on: the validation split of the user's
    data, else a fresh draw of the recipe's dataset (its seed + 1; one epoch
    of it, at most `N_HELD_OUT` images)."""
    module = datasets.DATASETS[recipe.dataset]
    kwargs = recipe.data_kwargs()
    if user_data(recipe):
        return module.validation_images(**kwargs)
    kwargs["seed"] = kwargs["seed"] + 1
    batches, n = [], 0
    for batch in module.training_dataset(**kwargs):
        x = np.asarray(batch[0] if isinstance(batch, (tuple, list)) else batch)
        batches.append(x)
        n += len(x)
        if n >= N_HELD_OUT:
            break
    return np.concatenate(batches)[:N_HELD_OUT]


def check_image_shape(model: keras.Model, data: tf.data.Dataset, recipe: Recipe) -> None:
    """Refuses data whose images do not fit the model, before training."""
    spec = data.element_spec[0] if isinstance(data.element_spec, tuple) else data.element_spec
    # An Autoencoder is a subclassed Model (no `inputs`): it knows its `image_shape`.
    expected = tuple(model.image_shape) if hasattr(model, "image_shape") else (
        tuple(model.inputs[0].shape[1:]) if model.inputs else None)
    if expected is not None and tuple(spec.shape[1:]) != expected:
        raise RecipeError(
            f"{recipe.path}: [data] gives inputs shaped {tuple(spec.shape[1:])} but the "
            f"[model] takes {expected}: make [data] image_size and [model] image_size agree")


def seed_run(seed: int) -> None:
    """Seeds Python, NumPy and TensorFlow and enables op determinism, so that
    the same seed gives the same weights on a CPU (`train`, and the example
    scripts' `tuning.fit_disk_autoencoder`)."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def build_model(recipe: Recipe, dtype_policy: str = "float32") -> keras.Model:
    """The untrained model of a recipe, its layers under `dtype_policy` ("auto":
    see `resolve_dtype_policy`)."""
    with dtype_policy_scope(dtype_policy):
        try:
            return zoo.FACTORIES[recipe.factory](**recipe.model)
        except (TypeError, ValueError) as err:  # the factory refuses its [model] arguments
            raise RecipeError(f"{recipe.path}: [model] {err}") from None


#: The /proc/cpuinfo flags of CPUs with bfloat16 units (x86: AVX512-BF16, AMX-BF16).
BFLOAT16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_bfloat16_flags(cpuinfo: str | None = None) -> list[str]:
    """The flags of `BFLOAT16_CPU_FLAGS` that the CPU reports.

    Args:
        cpuinfo: str or None. The text of /proc/cpuinfo; None reads it (no
            flags where it cannot be read, e.g. off Linux).

    Example:
    >>> cpu_bfloat16_flags("flags\t: fpu avx512f avx512_bf16")
    ['avx512_bf16']
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return []
    flags = set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            flags.update(value.split())
    return [flag for flag in BFLOAT16_CPU_FLAGS if flag in flags]


def gpu_present() -> bool:
    """Whether the Keras backend of this process sees a GPU."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return any(device.platform == "gpu" for device in jax.devices())
    if backend == "torch":
        import torch

        return torch.cuda.is_available()
    return bool(tf.config.list_physical_devices("GPU"))


def resolve_dtype_policy(name: str, cpuinfo: str | None = None,
                         gpu: bool | None = None) -> str:
    """The Keras dtype policy that `name` stands for on this machine.

    "auto" is "mixed_bfloat16" (bfloat16 compute, float32 variables) where
    bfloat16 computes faster: a GPU, or a CPU with bfloat16 units
    (`BFLOAT16_CPU_FLAGS`); "float32" elsewhere, where bfloat16 only adds
    conversions (3-5x slower under TensorFlow on such CPUs). Any other name
    is returned as it is.

    Args:
        name: str. "auto", or a Keras dtype policy name.
        cpuinfo: str or None. The text of /proc/cpuinfo (None: this machine's).
        gpu: bool or None. Whether a GPU is present (None: `gpu_present()`).

    Example:
    >>> resolve_dtype_policy("auto", cpuinfo="flags : fpu sse2 avx2", gpu=False)
    'float32'
    """
    if name != "auto":
        return name
    if gpu is None:
        gpu = gpu_present()
    return "mixed_bfloat16" if gpu or cpu_bfloat16_flags(cpuinfo) else "float32"


@contextlib.contextmanager
def dtype_policy_scope(name: str) -> Iterator[None]:
    """Sets Keras' global dtype policy to `name` inside the block only.

    Layers take the global policy when they are created, so a model built in
    the block computes under `name` (e.g. "mixed_bfloat16": bfloat16 compute,
    float32 variables; "auto": see `resolve_dtype_policy`) and keeps it after
    the block, while everything built outside is unaffected.
    """
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(resolve_dtype_policy(name))
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def as_float32(model: keras.Model, recipe: Recipe) -> keras.Model:
    """A float32 copy of a model trained under a mixed policy (same weights).

    Mixed policies keep float32 variables, so the copy holds exactly the
    trained values; it computes, is evaluated and is exported in float32.
    """
    if model.dtype_policy.name == "float32":
        return model
    copy = build_model(recipe, "float32")
    copy.set_weights(model.get_weights())
    return copy


def _check_finite(model, history, recipe):
    losses = np.asarray(history.history.get("loss", []), dtype=np.float64)
    bad_loss = losses.size and not np.all(np.isfinite(losses))
    bad_weights = not all(np.all(np.isfinite(w)) for w in model.get_weights())
    if bad_loss or bad_weights:
        epoch = int(np.argmax(~np.isfinite(losses))) + 1 if bad_loss else len(losses)
        raise TrainingDivergedError(
            f"training of {recipe.entry!r} produced NaN/inf (loss at epoch {epoch}): "
            f"stopped, nothing exported. Lower [training] learning_rate in {recipe.path} "
            f"and run again; the last finite weights are in the run folder.")


def published_versions(saved_models: PathLike, entry: str) -> list[int]:
    """The version numbers already published for `entry` under `saved_models`."""
    base = Path(saved_models) / entry
    return sorted(int(p.name) for p in base.glob("*") if p.name.isdigit() and p.is_dir())


def publish_target(recipe: Recipe, saved_models: PathLike = "saved_models",
                   version: int | None = None, force: bool = False) -> Path:
    """The folder a run of `recipe` would be published to, checked before training.

    The version is `version` if given, else the recipe's `[export] version`
    if it names one, else one above the highest published version.

    Raises:
        PublishError: that version exists and `force` is False.
    """
    existing = published_versions(saved_models, recipe.entry)
    if version is None:
        version = recipe.export.get("version")
    if version is None:
        version = max(existing, default=0) + 1
    version = validation.check_int("version", version, minimum=1)
    target = Path(saved_models) / recipe.entry / str(version)
    if version in existing and not force:
        raise PublishError(
            f"{target} is already published (geomae_tf.zoo.load serves it): publishing "
            f"never overwrites a version. Publish to a new version (version="
            f"{max(existing) + 1}, --version {max(existing) + 1}), or replace this one "
            f"(force=True, --force).")
    return target


def publish_run(run_export: PathLike, results: Mapping[str, Any], recipe: Recipe,
                target: PathLike) -> Path:
    """Copies a finished run into the published places, atomically.

    Args:
        run_export: path. The run's version folder (SavedModel, weights, config).
        results: dict. The run's results; written to `<recipe>.results.json`.
        recipe: the run's `Recipe`.
        target: path. `saved_models/<entry>/<version>/` (see `publish_target`).

    Returns:
        The path of the published version folder.
    """
    target = Path(target)
    with io.atomic_directory(target) as tmp:
        shutil.copytree(run_export, tmp, dirs_exist_ok=True)
    write_models_config(target.parents[1])
    published = dict(results, export=str(target))
    io.write_text(Path(recipe.path).with_suffix(".results.json"),
                      json.dumps(published, indent=2, default=float) + "\n")
    return target


def check_publishable(recipe: Recipe, saved_models: PathLike = "saved_models",
                      version: int | None = None, force: bool = False,
                      epochs: int | None = None, evaluate: bool = True,
                      export: bool = True) -> Path:
    """The folder a run of `recipe` would be published to, or why it may not be.

    A run is published only as its recipe says (no `epochs` override, with
    its evaluation and its export), and never over an existing version
    unless `force`.

    Returns:
        The target folder (see `publish_target`).

    Raises:
        PublishError: an override, or an existing version without `force`.
    """
    overrides = [name for name, given in (("epochs", epochs is not None),
                                          ("no evaluation", not evaluate),
                                          ("no export", not export)) if given]
    if overrides:
        raise PublishError(
            f"a run that differs from its recipe is never published: publishing needs "
            f"the recipe as it is, evaluated and exported. Received: publish with "
            f"{', '.join(overrides)} (drop --publish, or the override)")
    return publish_target(recipe, saved_models, version, force)


class ExportError(RuntimeError):
    """The SavedModel could not be written (the message carries TensorFlow's reason)."""


def check_tensorflow_exports() -> None:
    """Refuses, before a run trains, to promise a SavedModel that TensorFlow cannot write.

    Raises:
        RecipeError: TensorFlow is not installed in this environment.
    """
    if importlib.util.find_spec("tensorflow") is None:
        raise RecipeError(f"the run's SavedModel is written by TensorFlow, which is not "
                          f"installed here (KERAS_BACKEND={keras.backend.backend()!r}): "
                          f"pip install 'tensorflow>=2.21,<2.22', or train with --no-export "
                          f"(export=False) and export the run's last.weights.h5 where "
                          f"TensorFlow is (python -m geomae_tf.export --help)")


def export_run(model: keras.Model, entry: str, root: PathLike, config: dict[str, Any],
               workdir: PathLike, version: int = 1) -> Path:
    """Writes a trained model as `root/<entry>/<version>/` (SavedModel, weights, config).

    Under TensorFlow, `export_entry` directly. Under JAX or PyTorch, which
    cannot write a SavedModel, the trained weights and `config` go to a
    temporary folder in `workdir` and `python -m geomae_tf.export` rebuilds the
    model from them in a subprocess under KERAS_BACKEND=tensorflow and exports
    it: the same SavedModel, with the same signatures, as a run trained under
    TensorFlow. The version folder appears whole or not at all.

    Args:
        model: keras.Model. The trained model (float32).
        entry: str. The entry's name (folder under `root`).
        root: path. Folder of the SavedModels.
        config: dict. `factory`, `model` arguments and what else to keep
            (written as `<entry>.json`).
        workdir: path. Where the subprocess's inputs are written (the run folder).
        version: int. The version folder, replaced if it exists. Defaults to 1.

    Returns:
        The path of the version folder.

    Raises:
        ExportError: the TensorFlow subprocess failed (its last lines are in the message).

    Example:
    >>> export_run(model, "atomic_spikes", "runs/atomic_spikes/saved_models",
    ...            {"factory": "atomic_autoencoder", "model": {"k": 10}}, "runs/atomic_spikes")
    """
    signature = zoo.ENTRIES.get(entry, {}).get("signature")
    if keras.backend.backend() == "tensorflow":
        return export_entry(model, entry, root=root, version=version, config=config,
                            signature=signature, overwrite=True)
    check_tensorflow_exports()
    env = dict(os.environ, KERAS_BACKEND="tensorflow")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    package_parent = str(Path(geomae_tf.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([package_parent] + [p for p in [env.get("PYTHONPATH")]
                                                            if p])
    Path(workdir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=workdir, prefix=".export-") as tmp:
        weights = Path(tmp) / f"{entry}.weights.h5"
        model.save_weights(str(weights))
        (Path(tmp) / f"{entry}.json").write_text(json.dumps(config, indent=2, default=float))
        done = subprocess.run([sys.executable, "-m", "geomae_tf.export", str(weights),
                               "--entry", entry, "--root", str(root), "--version", str(version),
                               "--overwrite"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise ExportError(f"the SavedModel of {entry!r} was not written: exporting the "
                          f"weights trained under KERAS_BACKEND={keras.backend.backend()!r} "
                          f"under TensorFlow (python -m geomae_tf.export) failed with exit "
                          f"code {done.returncode}:\n{tail}")
    return Path(root) / entry / str(version)


def init_weights(model: keras.Model, recipe: Recipe) -> None:
    """Loads the weights `[training] init` names into `model` (fine-tuning).

    Keras warns, layer by layer, about every group a mismatched file lacks
    before the loader refuses it: a refusal is reported alone, in one line
    naming the recipe; the warnings of a load that succeeds are shown.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            load_weights_into(model, recipe.training["init"])
        except (TypeError, ValueError, OSError) as err:
            raise RecipeError(f"{recipe.path}: [training] init: {err}") from None
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename,
                               warning.lineno)


def check_run(recipe_path: PathLike, evaluate: bool = True,
              read_data: bool = True) -> dict[str, Any]:
    """What `train` checks before it trains, without training or writing
    anything: `geomae train RECIPE --check`.

    The recipe (every key and value, `load_recipe`), the evaluator's options,
    the model its factory builds (and the weights `[training] init` names),
    and, with `read_data`, the first batch of the training data against the
    model's input.

    Args:
        recipe_path: path of a `.toml` recipe.
        evaluate: bool. Check the `[evaluation]` options too. Defaults to True.
        read_data: bool. Read the first batch of the data. Defaults to True.

    Returns:
        dict: `entry`, `factory`, `trainer`, `parameters` (the model's count)
        and `input_shape`.

    Raises:
        RecipeError, FileNotFoundError, ValueError: what `train` would raise
            before training.

    Example:
    >>> check_run("zoo/disk_ae.toml")["parameters"]
    1412
    """
    recipe = load_recipe(recipe_path)   # the trainer's name and options too
    trainer = recipe.training["trainer"]
    evaluate_fn = evaluator_of(recipe) if evaluate else None
    if evaluate:
        evaluation_kwargs(recipe, evaluate_fn)
    model = build_model(recipe)
    if recipe.training["init"]:
        init_weights(model, recipe)
    if evaluate and "images" in inspect.signature(evaluate_fn).parameters and not hasattr(
            model, "reconstruct"):
        raise RecipeError(f"{recipe.path}: a {type(model).__name__} is no autoencoder, so "
                          f"reconstruction metrics do not apply: set [evaluation] family to "
                          f"one of {sorted(FAMILIES)}")
    if read_data and trainer == "fit":
        check_image_shape(model, training_data(recipe), recipe)
    inputs = getattr(model, "inputs", None)
    shape = getattr(model, "image_shape", None) or (tuple(inputs[0].shape[1:]) if inputs
                                                    else None)
    return {"entry": recipe.entry, "factory": recipe.factory, "trainer": trainer,
            "parameters": int(model.count_params()), "input_shape": shape}


@run_lock.releases_locks
def train(recipe_path: PathLike, out_dir: PathLike = "runs",
          saved_models: PathLike = "saved_models", export: bool = True,
          evaluate: bool = True, epochs: int | None = None, verbose: str | int = "auto",
          command: str | None = None, publish: bool = False, version: int | None = None,
          force: bool = False, devices: int | None = None,
          processes: Mapping[str, Any] | None = None) -> tuple[keras.Model, dict[str, Any]]:
    """Trains the entry of the recipe at `recipe_path`, evaluates, exports, and
    publishes only when asked.

    Everything goes to the run folder `<out_dir>/<entry>/`: `results.json`
    and the SavedModel export `saved_models/<entry>/1/`. Nothing under
    `saved_models` nor `<recipe>.results.json` changes unless `publish`.
    A run interrupted and started again resumes from the folder's backup
    (or, with a staged trainer, after its finished stages or rounds); its
    `results.json` counts every part, whatever the trainer: `epochs` (all
    of them), `train_seconds` (the sum), `parts` (each part's epochs and
    seconds, with its `stage` where the trainer has stages, as `parts.json`
    keeps them), `resumed`, and this part's `evaluate_seconds` and
    `export_seconds`.

    Args:
        recipe_path: path of a `.toml` recipe (e.g. "zoo/disk_ae.toml").
        out_dir: folder of the run folders. Defaults to "runs".
        saved_models: folder of the published SavedModels (only read or
            written when publishing). Defaults to "saved_models".
        export: bool. Export the trained model into the run folder (under
            JAX or PyTorch through TensorFlow, in a subprocess: `export_run`).
        evaluate: bool. Measure the metrics on fresh held-out data and write
            them, with the command, seed and time, to the run's `results.json`.
        epochs: int or None. Overrides the recipe's epochs (quick checks; such
            a run cannot be published).
        verbose: Keras verbosity ("auto" shows a progress bar).
        command: str. The command line recorded in the results.
        publish: bool. Publish the run (see `publish_target`); checked
            before training starts.
        version: int or None. The version to publish to (default: the
            recipe's `[export] version`, else a new one).
        force: bool. Allow publishing over an existing version.
        devices: int or None. Train data-parallel on this many devices of the
            host (`geomae_tf.training.distribute`; the recipe's batch_size is
            the global batch); None or 1 trains on one device.
        processes: dict or None. A multi-process run (JAX, one process per
            host): `coordinator`, `num_processes`, `process_id` and
            `timeout`, as `distribute.initialize_processes` takes them
            (unset ones from Keras' environment variables). `devices` is
            then per process. Only process 0 writes the run folder's
            results, history, logs and weights, and evaluates; the others
            keep only their backup (`<out_dir>/<entry>/process-<i>/`).

    Returns:
        (model, results dict). `results["export"]` is the run's export,
        `results["published"]` the published folder when published.

    Raises:
        PublishError: `publish` with an override, or onto an existing version
            without `force`.
        RunFolderLocked: another live run holds the run folder
            (`geomae_tf.training.run_lock`: the run holds `<run folder>/run.lock`
            from before its first write until it ends, however it ends).
    """
    recipe = load_recipe(recipe_path)
    if export and keras.backend.backend() != "tensorflow":  # checked before training
        check_tensorflow_exports()
    target = check_publishable(recipe, saved_models, version, force, epochs, evaluate,
                               export) if publish else None
    processes = distribute.initialize_processes(**(processes or {}))
    if processes is not None and recipe.training["trainer"] != "fit":
        raise RecipeError(f"{recipe.path}: a multi-process run trains with [training] "
                          f"trainer = \"fit\". Received: trainer="
                          f"{recipe.training['trainer']!r}")
    chief = distribute.is_chief()
    # One run owns its folder: refused at once if another live run holds it.
    run_dir = Path(out_dir) / recipe.entry
    own_dir = run_dir if chief else run_dir / f"process-{distribute.process_index()}"
    run_lock.hold(own_dir, command=command)
    seed = recipe.training["seed"]
    seed_run(seed)
    evaluate_fn = evaluator_of(recipe) if evaluate else None
    eval_kwargs = evaluation_kwargs(recipe, evaluate_fn) if evaluate else {}

    dtype_policy = resolve_dtype_policy(recipe.training["dtype_policy"])
    parallel = distribute.distribution(devices)
    with distribute.scope(parallel):
        model = build_model(recipe, dtype_policy)
        if recipe.training["init"]:  # fine-tuning: start from a trained entry's weights
            init_weights(model, recipe)
    if evaluate and "images" in inspect.signature(evaluate_fn).parameters and not hasattr(
            model, "reconstruct"):
        raise RecipeError(f"{recipe.path}: a {type(model).__name__} is no autoencoder, so "
                          f"reconstruction metrics do not apply: set [evaluation] family to "
                          f"one of {sorted(FAMILIES)}")
    trainer = recipe.training["trainer"]
    # The data is read and checked (and fits the model) before anything is written.
    data = training_data(recipe) if trainer == "fit" else None
    if data is not None:
        check_image_shape(model, data, recipe)
    started = time.time()
    with distribute.scope(parallel):
        if trainer == "fit":   # one folder per process, the data already read
            history = fit(model, recipe, own_dir, verbose=verbose if chief else 0,
                          epochs=epochs, data=data, chief=chief)
        else:   # the recipe checked the name against the registry when it loaded
            history = TRAINERS[trainer].fit(model, recipe, run_dir, verbose=verbose,
                                            epochs=epochs)
    wall = time.time() - started
    _check_finite(model, history, recipe)
    if parallel is not None:  # evaluated and exported as a one-device float32 copy
        model = distribute.one_device_copy(model, lambda: build_model(recipe))
    model = as_float32(model, recipe)

    results = {
        "entry": recipe.entry,
        "command": command or " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:]),
        "seed": seed,
        "epochs": len(history.history.get("loss", [])),
        "final_loss": float(history.history["loss"][-1]) if history.history.get("loss") else None,
        "train_seconds": round(wall, 1),
        "dtype_policy": dtype_policy,  # what "auto" resolved to on this machine
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                   f"TF {tf.__version__}, Keras {keras.__version__}",
        "run_dir": str(run_dir),
    }
    # A run resumed from its backup (or a trainer's saved stages or rounds):
    # every part counts, those of earlier runs too, not only this one.
    parts = getattr(history, "parts", None)
    if parts:
        results["epochs"] = gcallbacks.parts_epochs(parts)
        results["train_seconds"] = round(sum(part["seconds"] for part in parts), 1)
        results["parts"] = parts
    results["resumed"] = bool(getattr(history, "resumed", False))
    stages = getattr(history, "stages", None)
    if stages:  # a staged trainer: its stages may have run in earlier runs
        results["stages"] = stages
        results["train_seconds"] = round(sum(stage["seconds"] for stage in stages.values()), 1)
    if processes is not None:
        results["processes"] = processes["num_processes"]
    if not chief:  # process 0 evaluates and writes the run's results
        if own_dir.is_dir() and not any(own_dir.iterdir()):
            own_dir.rmdir()
        return model, results
    if evaluate:
        started = time.time()
        if "images" in inspect.signature(evaluate_fn).parameters:  # no ground truth
            images = held_out_images(recipe)
            results["metrics"] = evaluate_fn(model, images, **eval_kwargs)
            results["figures"] = [str(p) for p in reconstruction.figures(
                model, images, run_dir / "figures")]
        else:
            results["metrics"] = evaluate_fn(model, **eval_kwargs)
        results["evaluation"] = eval_kwargs
        results["evaluate_seconds"] = round(time.time() - started, 1)
    if export:
        started = time.time()
        config = {"factory": recipe.factory, "model": recipe.model,
                  "recipe": str(recipe.path), "results": results}
        results["export"] = str(export_run(model, recipe.entry, run_dir / "saved_models",
                                           config, workdir=run_dir))
        results["export_seconds"] = round(time.time() - started, 1)
    if target is not None:
        results["published"] = str(publish_run(results["export"], results, recipe, target))
    io.write_text(run_dir / "results.json",
                      json.dumps(results, indent=2, default=float) + "\n")
    return model, results
