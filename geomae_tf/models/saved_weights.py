"""A model factory's `weights=`: loading a `.weights.h5` file into the model it built.

The factories of `geomae_tf.models` take a path; the zoo's factories
(`geomae_tf.zoo.disk_autoencoder(weights="disk_ae")`, ...) also take a zoo
entry's name, which the zoo resolves to its file above the models
(`geomae_tf.zoo.weights.load_weights_into`). Saved weights fit only the
architecture they were saved from: the `<name>.json` that `export_entry` writes
beside `<name>.weights.h5` says which, and the error names it.

Example:
>>> ae = disk_autoencoder(latent_dim=1, weights="runs/disk_ae/disk_ae.weights.h5")
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras

    from geomae_tf.types import PathLike

#: The file name ending of saved weights (Keras' `model.save_weights`).
SUFFIX = ".weights.h5"


def saved_config(path: PathLike) -> tuple[str, dict[str, Any]] | None:
    """`(where, config)`: the `<dir>/<name>.json` beside `<dir>/<name>.weights.h5`
    and what it holds, when it names the `factory` that built the weights; else None.

    Args:
        path: str or path-like. A `.weights.h5` file.

    Example:
    >>> saved_config("saved_models/disk_ae/2/disk_ae.weights.h5")[1]["factory"]
    'disk_autoencoder'
    """
    try:
        path = Path(os.fspath(path))
    except TypeError:
        return None
    if not path.name.endswith(SUFFIX):
        return None
    sibling = path.with_name(path.name[:-len(SUFFIX)] + ".json")
    if not sibling.is_file():
        return None
    config = json.loads(sibling.read_text())
    if not isinstance(config, dict) or "factory" not in config:
        return None
    return str(sibling), config


def call_text(factory_name: str, arguments: dict[str, Any]) -> str:
    """How a factory call reads: `call_text("f", {"k": 2})` is `"f(k=2)"`."""
    return f"{factory_name}({', '.join(f'{k}={v!r}' for k, v in arguments.items())})"


def mismatch_error(weights: Any, err: ValueError,
                   found: tuple[str, dict[str, Any]] | None) -> ValueError:
    """The error for saved weights that do not fit a model: Keras' first line, and
    the call that built them when `found` (`saved_config`'s answer) says it."""
    how = ""
    if found:
        source, config = found
        call = call_text(config["factory"], config.get("model") or {})
        how = (f" They were saved from {call}"
               f" ({source}); build the model with those arguments, or use "
               f"geomae_tf.zoo.load.")
    first = str(err).strip().splitlines()[0]
    return ValueError(f"`weights`={str(weights)!r} do not fit this model's architecture "
                      f"(Keras: {first}).{how}")


def load_weights_file(model: keras.Model, weights: PathLike) -> keras.Model:
    """Loads the `.weights.h5` file `weights` into `model` and returns it.

    Args:
        model: keras.Model. The model a factory built.
        weights: str or path-like. A `.weights.h5` file (a zoo entry's name goes
            through the zoo's factories, `geomae_tf.zoo.<factory>(weights=...)`).

    Raises:
        ValueError: `weights` is not a `.weights.h5` path, or the weights do not
            fit `model` (the message says how they were built when their
            `.json` is beside them).
        FileNotFoundError: the file does not exist.

    Example:
    >>> load_weights_file(model, "runs/disk_ae/disk_ae.weights.h5")
    """
    try:
        path = Path(os.fspath(weights))
    except TypeError:
        path = None
    if path is None or not str(path).endswith(SUFFIX):
        raise ValueError(f"`weights` must be None or a path to a {SUFFIX} file (a zoo "
                         f"entry's name: geomae_tf.zoo's factories). Received: "
                         f"weights={weights!r}")
    if not path.is_file():
        raise FileNotFoundError(f"`weights` file does not exist. Received: "
                                f"weights={str(path)!r}")
    try:
        model.load_weights(str(path))
    except ValueError as err:
        raise mismatch_error(weights, err, saved_config(path)) from None
    return model


__all__ = ["SUFFIX", "call_text", "load_weights_file", "mismatch_error", "saved_config"]
