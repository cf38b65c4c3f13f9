"""Export saved weights as a zoo entry's SavedModel, under TensorFlow.

`python -m geomae_tf.export WEIGHTS --entry NAME --root DIR --version N`
rebuilds the model that `WEIGHTS` (`<name>.weights.h5`, with the `<name>.json`
that `geomae train` writes beside it: factory, arguments, results) were
saved from, loads them and writes `DIR/NAME/N/` with `export_entry`: the
SavedModel with the zoo's signatures, the weights and the config, atomically.

`geomae train` runs it in a subprocess under KERAS_BACKEND=tensorflow when it
trained under JAX or PyTorch, since only TensorFlow writes SavedModels; Keras'
`.weights.h5` are the same under every backend.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import keras

from geomae_tf import zoo
from geomae_tf.export.saved_model import export_entry

SUFFIX = ".weights.h5"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m geomae_tf.export",
        description="Export <name>.weights.h5 (with <name>.json beside it) as a zoo "
                    "entry's SavedModel, under TensorFlow.")
    parser.add_argument("weights", help="the <name>.weights.h5 to export")
    parser.add_argument("--entry", required=True, help="the entry's name (folder under --root)")
    parser.add_argument("--root", default="saved_models",
                        help="root of the SavedModels (<root>/<entry>/<version>/)")
    parser.add_argument("--version", type=int, required=True, help="the version folder")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the version folder if it exists (atomically)")
    return parser


def export_weights(weights: str | os.PathLike, entry: str, root: str | os.PathLike,
                   version: int, overwrite: bool = False) -> Path:
    """Rebuilds the model of `weights` from the config beside them and exports it.

    Args:
        weights: path. `<name>.weights.h5`, with `<name>.json` (`factory`,
            `model` arguments, anything else to keep) in the same folder.
        entry: str. The entry's name: the folder under `root`, and the
            signature of `geomae_tf.zoo.ENTRIES[entry]` when it names one.
        root: path. Folder of the SavedModels.
        version: int. The version folder written.
        overwrite: bool. Replace the version folder if it exists (atomically).

    Returns:
        The path of the version folder.

    Raises:
        ValueError: Keras runs another backend than TensorFlow, or `weights`
            is no `.weights.h5` with a config naming its factory beside it.
        FileNotFoundError: `weights` does not exist.

    Example:
    >>> export_weights("trained/disk_ae.weights.h5", "disk_ae", "served", version=1)
    """
    if keras.backend.backend() != "tensorflow":
        raise ValueError(f"the SavedModel is written by TensorFlow: run with "
                         f"KERAS_BACKEND=tensorflow. Received: KERAS_BACKEND="
                         f"{keras.backend.backend()!r}")
    path = Path(weights)
    if not path.name.endswith(SUFFIX):
        raise ValueError(f"`weights` must be a {SUFFIX} file. Received: weights={str(path)!r}")
    if not path.is_file():
        raise FileNotFoundError(f"`weights` file does not exist. Received: weights={str(path)!r}")
    sibling = path.with_name(path.name[:-len(SUFFIX)] + ".json")
    config = json.loads(sibling.read_text()) if sibling.is_file() else None
    if not isinstance(config, dict) or config.get("factory") not in zoo.FACTORIES:
        raise ValueError(f"`weights` need {sibling.name} beside them, naming a `factory` among "
                         f"{sorted(zoo.FACTORIES)} and its `model` arguments. Received: "
                         f"{sibling} {'without a factory' if sibling.is_file() else 'missing'}")
    model = zoo.FACTORIES[config["factory"]](**(config.get("model") or {}), weights=str(path))
    return export_entry(model, entry, root=root, version=version, config=config,
                        signature=zoo.ENTRIES.get(entry, {}).get("signature"),
                        overwrite=overwrite)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        target = export_weights(args.weights, args.entry, args.root, args.version,
                                args.overwrite)
    except (ValueError, FileNotFoundError) as err:
        print(f"python -m geomae_tf.export: error: {err}", file=sys.stderr)
        return 2
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
