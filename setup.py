"""What an install carries besides the package: the trained zoo and its recipes.

The list is computed from the folders themselves, so that every published
version of every entry travels with every way of installing (wheel, sdist,
editable) and a newly published version needs no edit here:

- `saved_models/<entry>/<version>/` (integer versions), every file: the Keras
  side (`<entry>.weights.h5`, `<entry>.json`) and the SavedModel
  (`saved_model.pb`, `variables/`, ...), copied under
  `<prefix>/share/geomae_tf/saved_models/`;
- `zoo/*.toml` (the recipes) and `zoo/*.results.json` (their recorded
  results), copied under `<prefix>/share/geomae_tf/zoo/`.

`geomae_tf.zoo.weights` finds them there. Everything else is in setup.cfg.
"""

import os
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent
SHARE = Path("share") / "geomae_tf"


def _visible(path):
    return not path.name.startswith(".") and path.name != "__pycache__"


def zoo_data_files(root=HERE):
    """`[(install folder, [source files])]` for the zoo, paths relative to `root`."""
    data_files = {}

    def add(folder, path):
        data_files.setdefault(str(SHARE / folder), []).append(
            path.relative_to(root).as_posix())

    saved_models = root / "saved_models"
    for entry in sorted(p for p in saved_models.glob("*") if p.is_dir() and _visible(p)):
        for version in sorted(p for p in entry.iterdir() if p.is_dir() and p.name.isdigit()):
            for dirpath, dirnames, filenames in os.walk(version):
                dirnames[:] = sorted(d for d in dirnames if _visible(Path(d)))
                folder = Path(dirpath)
                for name in sorted(filenames):
                    if _visible(Path(name)):
                        add(folder.relative_to(root), folder / name)
    for pattern in ("*.toml", "*.results.json"):
        for recipe in sorted((root / "zoo").glob(pattern)):
            add("zoo", recipe)
    return sorted(data_files.items())


setup(data_files=zoo_data_files())
