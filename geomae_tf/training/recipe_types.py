"""The parsed recipe (`Recipe`) and the error of a recipe that cannot be used.

`geomae_tf.training.recipe.load_recipe` reads and checks a recipe file into a
`Recipe`; the trainers read it. This module holds only the two types, so that
the trainers, which the recipe's checks call, need not import the recipe's
reader.

Example:
>>> recipe = load_recipe("zoo/disk_ae.toml")
>>> recipe.dataset, recipe.data_kwargs()["batch_size"]
('disks', 300)
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any


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
