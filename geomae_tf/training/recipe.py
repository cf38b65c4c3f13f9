"""Recipes: one TOML file per zoo entry (`zoo/<entry>.toml`).

A recipe names the model factory and its arguments, the dataset and its
arguments, the training schedule, the held-out evaluation and the export
version. Every key is checked against what the factory, the dataset and the
trainer accept: a typo is an error that lists the allowed keys, never a
silently ignored setting.

Example (`zoo/disk_ae.toml`)::

    entry = "disk_ae"
    factory = "disk_autoencoder"
    [model]
    latent_dim = 1
    [data]
    dataset = "disks"
    mode = "fixed"
    [training]
    epochs = 200
    batch_size = 300
    learning_rate = 1e-3
    seed = 0

A recipe trains on the user's own images with `[data] dataset = "images"`,
`path = "..."` (a folder of PNG/JPEG, a `.npy`/`.npz` array, or
"tfds:NAME"; a relative path is read from the recipe's folder) and
`image_size = ...` (see `geomae_tf.datasets.images`).
"""

from __future__ import annotations

import inspect
import math
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geomae_tf import datasets, validation, zoo
from geomae_tf.analysis.families import FAMILIES
from geomae_tf.training import evaluation
from geomae_tf.training.recipe_types import Recipe, RecipeError
from geomae_tf.training.registry import TRAINERS

if TYPE_CHECKING:
    from geomae_tf.types import PathLike

TOP_LEVEL_KEYS = {"entry", "factory", "description", "paper", "model", "data", "training",
                  "evaluation", "export", "tune"}
TRAINING_DEFAULTS = {
    "epochs": 10,
    "batch_size": 300,
    "learning_rate": 1e-3,
    "seed": 0,
    "steps_per_epoch": None,
    "loss": "mse",
    "trainer": "fit",
    "lr_schedule": "constant",
    "beta_1": 0.9,
    "dtype_policy": "float32",
    "init": None,
    "refined": None,
    "one_atom": None,
}
#: `trainer`: one of `geomae_tf.training.registry.TRAINERS`. `init`: None, or a
#: zoo entry name or `.weights.h5` path whose weights the model starts from
#: (fine-tuning). `refined`: the options of the "refined" trainer
#: (`[training.refined]`, see `geomae_tf.training.refined`). `one_atom`: those
#: of the "one_atom_first" trainer (`[training.one_atom]`, see
#: `geomae_tf.training.one_atom`): each trainer's `options_key` in the registry.
#: Learning-rate schedules: "constant", or "cosine" (keras.optimizers.schedules.
#: CosineDecay: to 1% of the rate over the whole run; with the progressive
#: trainer, to 5% within each stage, each stage having its own optimizer).
#: `beta_1` is Adam's first-moment decay (Keras' default 0.9; the public PCA-AE
#: reference uses 0.5).
LR_SCHEDULES = ("constant", "cosine")
#: Keras dtype policies a run may train under: "float32", "mixed_bfloat16"
#: (bfloat16 compute, float32 variables; faster only on CPUs with bfloat16
#: units and on GPUs), or "auto": "mixed_bfloat16" where those are present,
#: "float32" elsewhere (`geomae_tf.training.trainer.resolve_dtype_policy`; the
#: run's results.json records the policy it resolved to). The trained entry is
#: always evaluated and exported in float32.
DTYPE_POLICIES = ("auto", "float32", "mixed_bfloat16")
#: The trainers that train a model built under a mixed dtype policy (the
#: one-atom trainer's stage 1 builds its one-block model in float32).
MIXED_TRAINERS = ("fit", "one_atom_first")
#: `[export] version`: the version `geomae train RECIPE --publish` publishes to
#: (refused when it exists, unless --force); None publishes to a new version.
EXPORT_DEFAULTS = {"version": None}
#: `[tune]`: the options of `geomae tune` (`geomae_tf.training.tuning`, which
#: documents them), checked when the recipe loads (`check_tune`).
TUNE_DEFAULTS = {
    "regularizer": None,
    "lambdas": None,
    "lambda_range": None,
    "n_lambdas": 5,
    "include_zero": True,
    "epochs": None,
    "max_trials": None,
    "hole": None,
    "n_val": 200,
    "val_seed": 1789,
    "n_test": 300,
    "test_seed": 2024,
    "n_samples": 256,
    "test_n_samples": 1024,
    "max_gap": None,
}


def _check_keys(path, section, given, allowed):
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise RecipeError(f"{path}: unknown key(s) {unknown} in [{section}]. "
                          f"Allowed keys: {sorted(allowed)}")


def _parameters(fn):
    params = inspect.signature(fn).parameters
    return {name for name, p in params.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _pair(name, value, minimum=None, exclusive=False, ordered="<"):
    """`value` as a [low, high] pair of numbers (low < high, or <=)."""
    if not isinstance(value, (list, tuple)) or len(value) != 2 \
            or not all(_is_number(v) for v in value):
        raise ValueError(f"`{name}` must be a [low, high] pair of numbers. "
                         f"Received: {name}={value!r}")
    low, high = (float(v) for v in value)
    if minimum is not None and (low < minimum or (exclusive and low == minimum)):
        raise ValueError(f"`{name}` must start {'above' if exclusive else 'at or above'} "
                         f"{minimum:g}. Received: {name}={value!r}")
    if not (low < high if ordered == "<" else low <= high):
        raise ValueError(f"`{name}` must be a [low, high] pair with low {ordered} high. "
                         f"Received: {name}={value!r}")
    return [low, high]


def check_tune(options: dict[str, Any] | None) -> dict[str, Any]:
    """The `[tune]` table checked (keys and values): `TUNE_DEFAULTS` updated
    by `options`. What depends on the rest of the recipe (the regulariser,
    the hole from `[data] exclude`) is checked by `geomae tune` itself.

    Raises:
        ValueError: an unknown key, or a value of the wrong type or range,
            named `tune.<key>`.

    Example:
    >>> check_tune({"max_trials": 3})["n_lambdas"]
    5
    """
    settings = validation.with_defaults("tune", options, TUNE_DEFAULTS)
    for key in ("n_lambdas", "n_val", "n_test", "n_samples", "test_n_samples"):
        validation.check_int(f"tune.{key}", settings[key], minimum=1)
    for key in ("epochs", "max_trials"):
        if settings[key] is not None:
            validation.check_int(f"tune.{key}", settings[key], minimum=1)
    for key in ("val_seed", "test_seed"):
        validation.check_int(f"tune.{key}", settings[key], minimum=0)
    if not isinstance(settings["include_zero"], bool):
        raise ValueError(f"`tune.include_zero` must be true or false. Received: "
                         f"include_zero={settings['include_zero']!r}")
    if settings["regularizer"] is not None and not isinstance(settings["regularizer"], str):
        raise ValueError(f"`tune.regularizer` must be the name of a regulariser. "
                         f"Received: regularizer={settings['regularizer']!r}")
    lambdas = settings["lambdas"]
    if lambdas is not None:
        if not isinstance(lambdas, (list, tuple)) or not lambdas:
            raise ValueError(f"`tune.lambdas` must be a non-empty list of numbers >= 0. "
                             f"Received: lambdas={lambdas!r}")
        for i, value in enumerate(lambdas):
            validation.check_float(f"tune.lambdas[{i}]", value, minimum=0.0)
    if settings["lambda_range"] is not None:
        _pair("tune.lambda_range", settings["lambda_range"], minimum=0.0, exclusive=True,
              ordered="<=")
    if settings["hole"] is not None:
        _pair("tune.hole", settings["hole"])
    if settings["max_gap"] is not None:
        validation.check_float("tune.max_gap", settings["max_gap"], minimum=1.0)
    return settings


#: How a parameter's annotation reads a TOML value: base name -> accepted types.
_ANNOTATED = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": _is_number,
    "bool": lambda v: isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
    "PathLike": lambda v: isinstance(v, str),
    "None": lambda v: v is None,
    "tuple": lambda v: isinstance(v, (list, tuple)),
    "list": lambda v: isinstance(v, (list, tuple)),
    "Sequence": lambda v: isinstance(v, (list, tuple)),
    "Iterable": lambda v: isinstance(v, (list, tuple)),
    "Mapping": lambda v: isinstance(v, dict),
    "dict": lambda v: isinstance(v, dict),
}
#: Word for word, what each base name asks for (in error messages).
_WORDS = {"int": "an int", "float": "a number", "bool": "true or false", "str": "a string",
          "PathLike": "a path (string)", "None": "absent", "tuple": "a list",
          "list": "a list", "Sequence": "a list", "Iterable": "a list", "Mapping": "a table",
          "dict": "a table"}


def _alternatives(annotation):
    """The top-level alternatives of an annotation string ("int | None" ->
    ["int", "None"]), each cut to its base name ("tuple[int, int]" -> "tuple")."""
    parts, depth, current = [], 0, ""
    for char in annotation:
        depth += char == "["
        depth -= char == "]"
        if char == "|" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part.strip().split("[")[0].split(".")[-1] for part in parts]


def _check_value(name, value, annotation):
    """`value` checked against the parameter's annotation (a string, with
    `from __future__ import annotations`), and counts and seeds for range."""
    if not isinstance(annotation, str) or not annotation:
        return
    bases = _alternatives(annotation)
    if not all(base in _ANNOTATED for base in bases):
        return  # an annotation this check does not read (ArrayLike, a class, ...)
    if not any(_ANNOTATED[base](value) for base in bases):
        wanted = " or ".join(dict.fromkeys(_WORDS[base] for base in bases if base != "None"))
        raise ValueError(f"`{name}` must be {wanted}. Received: {name.split('.')[-1]}="
                         f"{value!r}")
    key = name.split(".")[-1]
    if _ANNOTATED["int"](value) and "int" in bases:
        if key == "seed" or key.endswith("_seed"):
            validation.check_int(name, value, minimum=0)
        elif key.startswith(("n_", "max_")) or key in ("batch_size", "image_size", "k",
                                                        "d0", "latent_dim"):
            validation.check_int(name, value, minimum=1)
    if _is_number(value) and not math.isfinite(value):  # TOML has nan and inf
        raise ValueError(f"`{name}` must be finite. Received: {key}={value!r}")


def _check_arguments(path, section, fn, values, skip=()):
    """Every value of the table `[section]` checked against the annotation of
    the parameter of `fn` it goes to: a RecipeError naming the file, the
    section and the key before anything runs, instead of an error (or a
    silent misreading: `use_bias = "false"` is a true string) deep inside."""
    params = inspect.signature(fn).parameters
    for key, value in values.items():
        if key in skip or key not in params:
            continue
        try:
            _check_value(f"{section}.{key}", value, params[key].annotation)
        except (TypeError, ValueError) as err:
            raise RecipeError(f"{path}: {err}") from None


def _check_trainer(training):
    """The `[training] trainer` name, checked against the trainer registry, and
    the options table of each trainer (`[training.refined]`, ...) checked by
    its trainer's `check_options`, refused under another trainer."""
    name = training["trainer"]
    if not isinstance(name, str) or name not in TRAINERS:
        raise ValueError(f"[training] trainer must be one of {sorted(TRAINERS)}. "
                         f"Received: trainer={name!r}")
    for trainer in TRAINERS.values():
        if trainer.options_key is None or training[trainer.options_key] is None:
            continue
        if name != trainer.name:
            raise ValueError(f"[training.{trainer.options_key}] needs trainer = "
                             f"\"{trainer.name}\". Received: trainer={name!r}")
        trainer.check_options(training[trainer.options_key])


def _check_evaluation(recipe):
    """The `[evaluation]` table checked against the evaluator the run will use
    (its keys and the types of its values), before anything trains."""
    family = recipe.evaluation.get("family")
    if family is not None and (not isinstance(family, str)
                               or family not in FAMILIES):
        raise RecipeError(f"{recipe.path}: [evaluation] family must be one of "
                          f"{sorted(FAMILIES)}. Received: family={family!r}")
    evaluate_fn = evaluation.evaluator_of(recipe)
    kwargs = evaluation.evaluation_kwargs(recipe, evaluate_fn)  # unknown keys
    _check_arguments(recipe.path, "evaluation", evaluate_fn, kwargs)


def _check_epochs(training):
    """`epochs` is a positive int; the progressive trainer also takes one per
    stage (a list such as [30, 60, 60])."""
    epochs = training["epochs"]
    if isinstance(epochs, list):
        if training["trainer"] != "progressive":
            raise ValueError(f"`training.epochs` may be a list (one per stage) only with "
                             f"trainer = \"progressive\". Received: epochs={epochs!r} with "
                             f"trainer={training['trainer']!r}")
        if not epochs:
            raise ValueError("`training.epochs` must be a positive int or a non-empty list "
                             "of positive ints (one per stage). Received: epochs=[]")
        for i, value in enumerate(epochs):
            validation.check_int(f"training.epochs[{i}]", value, minimum=1)
    else:
        validation.check_int("training.epochs", epochs, minimum=1)


def load_recipe(path: PathLike) -> Recipe:
    """Reads and checks the recipe at `path` (a `.toml` file).

    Raises:
        FileNotFoundError: `path` does not exist.
        RecipeError: unknown keys, unknown factory, dataset or trainer, bad values.
    """
    path = Path(path)
    if path.suffix != ".toml":
        raise RecipeError(f"`recipe` must be a .toml file such as zoo/disk_ae.toml. "
                          f"Received: recipe={str(path)!r}")
    if not path.is_file():
        raise FileNotFoundError(f"`recipe` must be an existing file. Received: "
                                f"recipe={str(path)!r} (no such file)")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise RecipeError(f"{path}: not valid TOML: {err}") from None
    _check_keys(path, "top level", raw, TOP_LEVEL_KEYS)
    for section in ("model", "data", "training", "evaluation", "export", "tune"):
        if not isinstance(raw.get(section, {}), dict):
            raise RecipeError(f"{path}: [{section}] must be a table of options. "
                              f"Received: {section}={raw[section]!r}")
    for key in ("entry", "factory"):
        if not isinstance(raw.get(key), str):
            raise RecipeError(f"{path}: `{key}` must be a string. Received: "
                              f"{key}={raw.get(key)!r}")
    raw = zoo.with_preset(raw)  # a zoo entry's description, paper, evaluation options
    factory = raw["factory"]
    if factory not in zoo.FACTORIES:
        raise RecipeError(f"{path}: `factory` must be one of {sorted(zoo.FACTORIES)}. "
                          f"Received: factory={factory!r}")
    model = dict(raw.get("model", {}))
    _check_keys(path, "model", model,
                _parameters(zoo.FACTORIES[factory]) - {"weights"})
    _check_arguments(path, "model", zoo.FACTORIES[factory], model)

    data = dict(raw.get("data", {}))
    dataset = data.get("dataset")
    if not isinstance(dataset, str) or dataset not in datasets.DATASETS:
        raise RecipeError(f"{path}: [data] `dataset` must be one of "
                          f"{sorted(datasets.DATASETS)}. Received: dataset={dataset!r}")
    _check_keys(path, "data", data,
                _parameters(datasets.DATASETS[dataset].training_dataset) | {"dataset"})
    _check_arguments(path, "data", datasets.DATASETS[dataset].training_dataset, data)
    if isinstance(data.get("path"), str) and not data["path"].startswith("tfds:"):
        # the user's data: a relative path is relative to the recipe's folder
        data["path"] = str(path.parent / Path(data["path"]).expanduser())

    training = dict(TRAINING_DEFAULTS)
    given = raw.get("training", {})
    _check_keys(path, "training", given, TRAINING_DEFAULTS)
    training.update(given)
    try:
        _check_trainer(training)
        _check_epochs(training)
        validation.check_int("training.batch_size", training["batch_size"], minimum=1)
        validation.check_int("training.seed", training["seed"], minimum=0)
        validation.check_float("training.learning_rate", training["learning_rate"],
                               minimum=0.0, exclusive_minimum=True)
        if training["steps_per_epoch"] is not None:
            validation.check_int("training.steps_per_epoch", training["steps_per_epoch"],
                                 minimum=1)
        validation.check_choice("training.loss", training["loss"], {"mse", "bce"})
        validation.check_choice("training.lr_schedule", training["lr_schedule"],
                                set(LR_SCHEDULES))
        beta_1 = validation.check_float("training.beta_1", training["beta_1"], minimum=0.0)
        if beta_1 >= 1.0:
            raise ValueError(f"`training.beta_1` must be in [0, 1) (Adam's first-moment "
                             f"decay). Received: beta_1={beta_1!r}")
        if training["init"] is not None and not isinstance(training["init"], str):
            raise ValueError(f"`training.init` must be a zoo entry name or a .weights.h5 "
                             f"path to start from. Received: init={training['init']!r}")
        validation.check_choice("training.dtype_policy", training["dtype_policy"],
                                set(DTYPE_POLICIES))
        if (training["dtype_policy"] != "float32"
                and training["trainer"] not in MIXED_TRAINERS):
            raise ValueError(f"`training.dtype_policy` other than \"float32\" needs "
                             f"trainer = \"fit\" or \"one_atom_first\". Received: "
                             f"dtype_policy={training['dtype_policy']!r} with "
                             f"trainer={training['trainer']!r}")
    except (TypeError, ValueError) as err:
        raise RecipeError(f"{path}: {err}") from None
    if data.get("mode") == "stream" and training["steps_per_epoch"] is None:
        raise RecipeError(f"{path}: [data] mode = \"stream\" is infinite: set "
                          f"[training] steps_per_epoch.")

    export = dict(EXPORT_DEFAULTS)
    _check_keys(path, "export", raw.get("export", {}), EXPORT_DEFAULTS)
    export.update(raw.get("export", {}))
    if export["version"] is not None:
        try:
            validation.check_int("export.version", export["version"], minimum=1)
        except (TypeError, ValueError) as err:
            raise RecipeError(f"{path}: {err}") from None
    tune = raw.get("tune", {})
    try:
        check_tune(tune)
    except (TypeError, ValueError) as err:
        raise RecipeError(f"{path}: {err}") from None
    recipe = Recipe(path=path, entry=raw["entry"], factory=factory,
                    description=raw.get("description", ""), paper=raw.get("paper", ""),
                    model=model, data=data, training=training,
                    evaluation=dict(raw.get("evaluation", {})), export=export,
                    tune=dict(tune))
    _check_evaluation(recipe)
    return recipe
