"""Where the zoo's trained entries and their recipes live, and loading their weights.

Trained entries are searched in order in: the folder named by
`$GEOMAE_SAVED_MODELS`, the repository's `saved_models/` (a source checkout
or editable install), and `<prefix>/share/geomae_tf/saved_models`, where a
wheel or sdist install copies every version of every entry, SavedModel
included (`<prefix>` being the one the package was installed under, or
`sys.prefix`). Recipes (`zoo/<entry>.toml`) likewise: the repository's
`zoo/`, then `<prefix>/share/geomae_tf/zoo`, then `zoo/` of the current folder.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geomae_tf import validation
from geomae_tf.models.saved_weights import (call_text, load_weights_file, mismatch_error,
                                             saved_config)
from geomae_tf.zoo.presets import ENTRIES

if TYPE_CHECKING:
    import keras

    from geomae_tf.types import PathLike


def checkout_root() -> Path:
    """The folder above the package: a source checkout's root (or site-packages)."""
    return Path(__file__).resolve().parents[2]


def installed_roots() -> list[Path]:
    """`<prefix>/share/geomae_tf` of the installs that may hold this package's data:
    the prefix the package was installed under, then `sys.prefix`."""
    here = Path(__file__).resolve()
    # <prefix>/lib/pythonX.Y/site-packages/geomae_tf/zoo/weights.py
    prefixes = [here.parents[5]] if len(here.parents) > 5 else []
    roots = []
    for prefix in prefixes + [Path(sys.prefix)]:
        root = prefix / "share" / "geomae_tf"
        if root not in roots:
            roots.append(root)
    return roots


def search_roots() -> list[Path]:
    """The folders searched for `<entry>/<version>/`, in order.

    `$GEOMAE_SAVED_MODELS` when set, the repository's `saved_models/`, then
    `<prefix>/share/geomae_tf/saved_models` of the install (`installed_roots`).

    Example:
    >>> [str(root) for root in geomae_tf.zoo.weights.search_roots()]
    """
    roots = []
    if os.environ.get("GEOMAE_SAVED_MODELS"):
        roots.append(Path(os.environ["GEOMAE_SAVED_MODELS"]))
    roots.append(checkout_root() / "saved_models")
    for root in installed_roots():
        if root / "saved_models" not in roots:
            roots.append(root / "saved_models")
    return roots


def recipe_roots() -> list[Path]:
    """The folders searched for an entry's recipe: the repository's `zoo/`,
    `<prefix>/share/geomae_tf/zoo` of the install, then `zoo/` of the current folder."""
    roots = [checkout_root() / "zoo"] + [root / "zoo" for root in installed_roots()]
    roots.append(Path.cwd() / "zoo")
    return list(dict.fromkeys(roots))


def recipe_path(entry: str) -> Path:
    """The recipe of zoo entry `entry` (`zoo/<entry>.toml`), where it is on this machine.

    Args:
        entry: str. One of `geomae_tf.zoo.ENTRIES`.

    Returns:
        The path of the first recipe found in `recipe_roots()`.

    Raises:
        ValueError: `entry` is not a zoo entry.
        FileNotFoundError: no copy of the recipe in any of `recipe_roots()`.

    Example:
    >>> geomae_tf.zoo.weights.recipe_path("disk_ae")   # .../zoo/disk_ae.toml
    """
    check_entry(entry)
    name = Path(ENTRIES[entry]["recipe"]).name
    roots = recipe_roots()
    for root in roots:
        if (root / name).is_file():
            return root / name
    raise FileNotFoundError(f"the recipe of zoo entry {entry!r} ({name}) is in none of "
                            f"{[str(r) for r in roots]}")


def _recipe_hint(entry):
    """`recipe_path(entry)` as text, or the recipe's repository path when absent."""
    try:
        return str(recipe_path(entry))
    except FileNotFoundError:
        return ENTRIES[entry]["recipe"]


def check_entry(entry: str) -> str:
    if entry not in ENTRIES:
        raise ValueError(f"`entry` must be one of the zoo's entries {sorted(ENTRIES)}. "
                         f"Received: entry={entry!r}")
    return entry


def entry_versions(entry: str) -> dict[Path, list[int]]:
    """`{root: [versions]}`: the trained versions of `entry` in each search root."""
    check_entry(entry)
    found = {}
    for root in search_roots():
        versions = sorted(int(p.name) for p in (root / entry).glob("*")
                          if p.name.isdigit() and (p / f"{entry}.weights.h5").is_file())
        if versions:
            found[root] = versions
    return found


def entry_dir(entry: str, version: int | None = None) -> Path:
    """The folder of the latest (or the given) version of a trained entry.

    The first search root that has the entry is used (see `search_roots`).

    Raises:
        ValueError: `entry` is not a zoo entry, or `version` not a positive int.
        FileNotFoundError: the entry has not been trained/exported, or has no
            such version (the message lists the versions that exist).
    """
    check_entry(entry)
    if version is not None:
        version = validation.check_int("version", version, minimum=1)
    found = entry_versions(entry)
    for root, versions in found.items():
        if version is None:
            return root / entry / str(versions[-1])
        if version in versions:
            return root / entry / str(version)
    if found:
        present = "; ".join(f"{versions} in {root / entry}" for root, versions in found.items())
        raise FileNotFoundError(
            f"zoo entry {entry!r} has no version {version}. Versions present: {present}. "
            f"Pass one of them, or version=None for the latest.")
    raise FileNotFoundError(
        f"zoo entry {entry!r} has no trained weights in any of "
        f"{[str(r) for r in search_roots()]}. Train it with `geomae train "
        f"{_recipe_hint(entry)} --publish`.")


def available_entries() -> list[str]:
    """The zoo entries that have trained weights on this machine."""
    found = []
    for entry in ENTRIES:
        try:
            entry_dir(entry)
        except FileNotFoundError:
            continue
        found.append(entry)
    return found


def entry_config(entry: str, version: int | None = None) -> dict[str, Any]:
    """The `<entry>.json` written by the export (factory, arguments, metrics)."""
    folder = entry_dir(entry, version)
    return json.loads((folder / f"{entry}.json").read_text())


def weights_config(weights: PathLike) -> tuple[str, dict[str, Any]] | None:
    """`(source, config)` of saved weights, or None when nothing says how they were built.

    A zoo entry's `<entry>.json`, or for a path `<dir>/<name>.weights.h5` the
    `<dir>/<name>.json` beside it (as `export_entry` writes them), when it
    names a `factory`.
    """
    if isinstance(weights, str) and weights in ENTRIES:
        folder = entry_dir(weights)
        return str(folder / f"{weights}.json"), entry_config(weights)
    return saved_config(weights)


def _plain(value):
    """JSON's view of a value (tuples as lists), to compare arguments with a config."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


#: Factory arguments that do not change the saved variables: a call may set
#: them to other values than the weights' config (`refine`: an atomic model's
#: inference options, Newson and Traonmilin 2023, section 2.3).
NOT_ARCHITECTURE = ("weights", "name", "refine")


def factory_arguments(factory: Callable[..., Any], args: tuple[Any, ...] = (),
                      kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """The arguments to call `factory` with so that its `weights` fit.

    When `weights` (a zoo entry or a `.weights.h5` with its `.json` beside
    it) says which factory and arguments built the saved model, the
    arguments the caller leaves out are taken from there, as keras-hub's
    `from_preset` takes a preset's architecture; an argument the caller sets
    to another value than the saved one is refused, by name, except those of
    `NOT_ARCHITECTURE` (inference options such as an atomic model's `refine`).

    Args:
        factory: callable. A model factory of the zoo.
        args: tuple. Positional arguments of the call.
        kwargs: dict. Keyword arguments of the call.

    Returns:
        A dict of keyword arguments for `factory`.

    Raises:
        ValueError: the weights were built by another factory, or with an
            architecture argument that differs from the call's.
    """
    signature = inspect.signature(factory)
    explicit = dict(signature.bind(*args, **(kwargs or {})).arguments)
    weights = explicit.get("weights")
    found = None if weights is None else weights_config(weights)
    if found is None:
        return explicit
    source, config = found
    name = factory.__name__
    saved = {k: v for k, v in (config.get("model") or {}).items() if k in signature.parameters}
    if config["factory"] != name:
        raise ValueError(f"`weights`={weights!r} were saved from {config['factory']}, not "
                         f"from {name} ({source}). Use "
                         f"geomae_tf.zoo.{config['factory']}(weights=...) or geomae_tf.zoo.load.")
    differ = []
    for key, value in explicit.items():
        if key in NOT_ARCHITECTURE:
            continue
        saved_value = saved.get(key, signature.parameters[key].default)
        if _plain(value) != _plain(saved_value):
            differ.append(f"{key}={value!r} where the weights have {key}={saved_value!r}")
    if differ:
        raise ValueError(f"`weights`={weights!r} were saved from "
                         f"{call_text(config['factory'], saved)} ({source}); this call asks "
                         f"for {'; '.join(differ)}. Leave out the argument(s) to build the "
                         f"saved architecture, or pass weights=None for an untrained model.")
    return {**saved, **explicit}


def load_weights_into(model: keras.Model, weights: PathLike) -> keras.Model:
    """Loads `weights` (a zoo entry name or a `.weights.h5` path) into `model`.

    Raises:
        ValueError: `weights` is neither, or the saved weights do not fit
            `model` (the message says how they were built when their `.json`
            is known).
        FileNotFoundError: the file does not exist.
    """
    if not (isinstance(weights, str) and weights in ENTRIES):
        if not str(Path(os.fspath(weights))).endswith(".weights.h5"):
            raise ValueError(f"`weights` must be None, a zoo entry {sorted(ENTRIES)} or a "
                             f"path to a .weights.h5 file. Received: weights={weights!r}")
        return load_weights_file(model, weights)   # a file: the models' own loader
    try:
        model.load_weights(str(entry_dir(weights) / f"{weights}.weights.h5"))
    except ValueError as err:
        raise mismatch_error(weights, err, weights_config(weights)) from None
    return model
