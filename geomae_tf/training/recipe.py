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

import dataclasses
import inspect
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geomae_tf import validation

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
#: `init`: None, or a zoo entry name or `.weights.h5` path whose weights the
#: model starts from (fine-tuning). `refined`: the options of the "refined"
#: trainer (`[training.refined]`, see `geomae_tf.training.refined`). `one_atom`:
#: those of the "one_atom_first" trainer (`[training.one_atom]`, see
#: `geomae_tf.training.one_atom`).
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
#: `[export] version`: the version `geomae train RECIPE --publish` publishes to
#: (refused when it exists, unless --force); None publishes to a new version.
EXPORT_DEFAULTS = {"version": None}


class RecipeError(ValueError):
    """A recipe that cannot be used, with the file and key it concerns."""


@dataclasses.dataclass
class Recipe:
    """A parsed and checked recipe."""

    path: Path
    entry: str
    factory: str
    description: str
    paper: str
    model: dict
    data: dict
    training: dict
    evaluation: dict
    export: dict
    tune: dict = dataclasses.field(default_factory=dict)

    @property
    def dataset(self) -> str | None:
        return self.data.get("dataset")

    def data_kwargs(self) -> dict[str, Any]:
        """Arguments of the dataset's `training_dataset` (without `dataset`)."""
        kwargs = {k: v for k, v in self.data.items() if k != "dataset"}
        kwargs.setdefault("batch_size", self.training["batch_size"])
        kwargs.setdefault("seed", self.training["seed"])
        return kwargs


def _check_keys(path, section, given, allowed):
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise RecipeError(f"{path}: unknown key(s) {unknown} in [{section}]. "
                          f"Allowed keys: {sorted(allowed)}")


def _parameters(fn):
    params = inspect.signature(fn).parameters
    return {name for name, p in params.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


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
        RecipeError: unknown keys, unknown factory or dataset, bad values.
    """
    from geomae_tf import datasets, zoo  # late: the registries import models

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
    for key in ("entry", "factory"):
        if not isinstance(raw.get(key), str):
            raise RecipeError(f"{path}: `{key}` must be a string. Received: "
                              f"{key}={raw.get(key)!r}")
    factory = raw["factory"]
    if factory not in zoo.FACTORIES:
        raise RecipeError(f"{path}: `factory` must be one of {sorted(zoo.FACTORIES)}. "
                          f"Received: factory={factory!r}")
    model = dict(raw.get("model", {}))
    _check_keys(path, "model", model,
                _parameters(zoo.FACTORIES[factory]) - {"weights"})

    data = dict(raw.get("data", {}))
    dataset = data.get("dataset")
    if dataset not in datasets.DATASETS:
        raise RecipeError(f"{path}: [data] `dataset` must be one of "
                          f"{sorted(datasets.DATASETS)}. Received: dataset={dataset!r}")
    _check_keys(path, "data", data,
                _parameters(datasets.DATASETS[dataset].training_dataset) | {"dataset"})
    if isinstance(data.get("path"), str) and not data["path"].startswith("tfds:"):
        # the user's data: a relative path is relative to the recipe's folder
        data["path"] = str(path.parent / Path(data["path"]).expanduser())

    training = dict(TRAINING_DEFAULTS)
    given = raw.get("training", {})
    _check_keys(path, "training", given, TRAINING_DEFAULTS)
    training.update(given)
    try:
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
        if training["refined"] is not None:
            if training["trainer"] != "refined":
                raise ValueError(f"[training.refined] needs trainer = \"refined\". Received: "
                                 f"trainer={training['trainer']!r}")
            from geomae_tf.training.refined import check_options

            check_options(training["refined"])
        if training["one_atom"] is not None:
            if training["trainer"] != "one_atom_first":
                raise ValueError(f"[training.one_atom] needs trainer = \"one_atom_first\". "
                                 f"Received: trainer={training['trainer']!r}")
            from geomae_tf.training.one_atom import check_options as check_one_atom

            check_one_atom(training["one_atom"])
        validation.check_choice("training.dtype_policy", training["dtype_policy"],
                                set(DTYPE_POLICIES))
        if training["dtype_policy"] != "float32" and training["trainer"] != "fit":
            raise ValueError(f"`training.dtype_policy` other than \"float32\" needs "
                             f"trainer = \"fit\". Received: "
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
    return Recipe(path=path, entry=raw["entry"], factory=factory,
                  description=raw.get("description", ""), paper=raw.get("paper", ""),
                  model=model, data=data, training=training,
                  evaluation=dict(raw.get("evaluation", {})), export=export,
                  tune=dict(raw.get("tune", {})))
