"""Where the zoo's trained entries live, and loading their weights.

Searched in order: the folder named by `$GEOMAE_SAVED_MODELS`, the
repository's `saved_models/` (a source checkout or editable install), and
`<prefix>/share/geomae_tf/saved_models`, where `pip install .` copies the
Keras side of every entry (`<prefix>` being the one the package was installed
under, or `sys.prefix`).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from geomae_tf.zoo.presets import ENTRIES


def search_roots():
    """The folders searched for `<entry>/<version>/`, in order."""
    roots = []
    if os.environ.get("GEOMAE_SAVED_MODELS"):
        roots.append(Path(os.environ["GEOMAE_SAVED_MODELS"]))
    here = Path(__file__).resolve()
    roots.append(here.parents[2] / "saved_models")
    # <prefix>/lib/pythonX.Y/site-packages/geomae_tf/zoo/weights.py
    prefixes = [here.parents[5]] if len(here.parents) > 5 else []
    for prefix in prefixes + [Path(sys.prefix)]:
        root = prefix / "share" / "geomae_tf" / "saved_models"
        if root not in roots:
            roots.append(root)
    return roots


def check_entry(entry):
    if entry not in ENTRIES:
        raise ValueError(f"`entry` must be one of the zoo's entries {sorted(ENTRIES)}. "
                         f"Received: entry={entry!r}")
    return entry


def entry_dir(entry, version=None):
    """The folder of the latest (or the given) version of a trained entry.

    Raises:
        ValueError: `entry` is not a zoo entry.
        FileNotFoundError: the entry has not been trained/exported.
    """
    check_entry(entry)
    for root in search_roots():
        base = root / entry
        versions = sorted((int(p.name) for p in base.glob("*")
                           if p.name.isdigit() and (p / f"{entry}.weights.h5").is_file()))
        if version is not None and version in versions:
            return base / str(version)
        if version is None and versions:
            return base / str(versions[-1])
    raise FileNotFoundError(
        f"zoo entry {entry!r} has no trained weights (version={version}) in any of "
        f"{[str(r) for r in search_roots()]}. Train it with `geomae train "
        f"{ENTRIES[entry]['recipe']}`.")


def available_entries():
    """The zoo entries that have trained weights on this machine."""
    found = []
    for entry in ENTRIES:
        try:
            entry_dir(entry)
        except FileNotFoundError:
            continue
        found.append(entry)
    return found


def entry_config(entry, version=None):
    """The `<entry>.json` written by the export (factory, arguments, metrics)."""
    folder = entry_dir(entry, version)
    return json.loads((folder / f"{entry}.json").read_text())


def load_weights_into(model, weights):
    """Loads `weights` (a zoo entry name or a `.weights.h5` path) into `model`."""
    if isinstance(weights, str) and weights in ENTRIES:
        path = entry_dir(weights) / f"{weights}.weights.h5"
    else:
        path = Path(os.fspath(weights))
        if not str(path).endswith(".weights.h5"):
            raise ValueError(f"`weights` must be None, a zoo entry {sorted(ENTRIES)} or a "
                             f"path to a .weights.h5 file. Received: weights={weights!r}")
        if not path.is_file():
            raise FileNotFoundError(f"`weights` file does not exist. Received: "
                                    f"weights={str(path)!r}")
    model.load_weights(str(path))
    return model
