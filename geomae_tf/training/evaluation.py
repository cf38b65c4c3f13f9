"""Which evaluator measures a recipe's run, and with which `[evaluation]` options.

A zoo entry's family (`geomae_tf.zoo.ENTRIES`, or the recipe's `[evaluation]
family`) names its evaluator in `geomae_tf.analysis.families.FAMILIES`, measured on
fresh synthetic data with ground truth; a run on the user's own images, or an
entry outside the zoo, gets the reconstruction metrics. The recipe checks its
`[evaluation]` table against the evaluator when it loads, before anything
trains.

Example:
>>> recipe = load_recipe("zoo/disk_ae.toml")
>>> evaluate = evaluator_of(recipe)
>>> evaluation_kwargs(recipe, evaluate)
{}
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from geomae_tf import datasets, zoo
from geomae_tf.analysis import reconstruction
from geomae_tf.analysis.families import FAMILIES
from geomae_tf.training.recipe_types import RecipeError

if TYPE_CHECKING:
    from geomae_tf.training.recipe_types import Recipe


def family_of(recipe: Recipe) -> str | None:
    """The family of a recipe's entry (which evaluator and figures apply), or
    None for an entry outside the zoo that names none."""
    if recipe.evaluation.get("family"):
        return recipe.evaluation["family"]
    if recipe.entry in zoo.ENTRIES:
        return zoo.ENTRIES[recipe.entry]["family"]
    return None


def user_data(recipe: Recipe) -> bool:
    """True when the recipe trains on data without ground truth (a dataset
    with a validation split, such as the user's own images)."""
    return hasattr(datasets.DATASETS[recipe.dataset], "validation_images")


def evaluator_of(recipe: Recipe) -> Callable[..., dict[str, Any]]:
    """The function that evaluates a run of `recipe`: its family's (measured
    on fresh synthetic data with ground truth), or, on the user's own data or
    for an entry with no family, `analysis.reconstruction.evaluate` (MSE and
    PSNR on held-out images)."""
    family = family_of(recipe)
    if family is None or user_data(recipe):
        return reconstruction.evaluate
    return FAMILIES[family].evaluate


def evaluation_kwargs(recipe: Recipe, evaluate_fn: Callable[..., Any]) -> dict[str, Any]:
    """The recipe's [evaluation] arguments, checked against `evaluate_fn`."""
    kwargs = {k: v for k, v in recipe.evaluation.items() if k != "family"}
    allowed = set(inspect.signature(evaluate_fn).parameters) - {"model", "images"}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise RecipeError(f"{recipe.path}: unknown key(s) {unknown} in [evaluation]. "
                          f"Allowed keys: {sorted(allowed | {'family'})}")
    return kwargs
