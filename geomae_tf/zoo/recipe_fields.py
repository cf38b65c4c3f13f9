"""What a zoo entry's recipe takes from the entry's preset, written only there.

An entry's description, paper and evaluation options (held-out size and seed;
the refinement options of an atomic entry: the answer of `atoms(images)` and of
the served `atoms` signature) are written once, in
`geomae_tf.zoo.presets.ENTRIES`, beside its claims and card text; the recipe
(`zoo/<entry>.toml`) holds the model, the data and the training.
`geomae_tf.training.recipe.load_recipe`
completes a recipe from its entry's preset with `with_preset`. A recipe whose
`entry` is not in the zoo (the user's own) gives `description` and `paper`
itself, as any recipe may still do for a key it states.

Example:
>>> with_preset({"entry": "disk_ae"})["evaluation"]
{'n_test': 1000, 'seed': 20201}
>>> with_preset({"entry": "disk_ae", "evaluation": {"n_test": 50}})["evaluation"]
{'n_test': 50, 'seed': 20201}
"""

from __future__ import annotations

import copy
from typing import Any

from geomae_tf.zoo.presets import ENTRIES

#: The top-level keys a zoo entry's recipe leaves to its preset.
PRESET_KEYS = ("description", "paper")


def with_preset(recipe: dict[str, Any]) -> dict[str, Any]:
    """`recipe` (a recipe's TOML tables) completed from its entry's preset.

    Args:
        recipe: dict. The recipe as read from TOML; its `entry` names the entry.

    Returns:
        A new dict: for a zoo entry, `description` and `paper` from
        `ENTRIES[entry]` where the recipe does not state them, and the
        preset's `evaluation` options after the recipe's own `[evaluation]`
        keys (a key the recipe states is kept); any other recipe unchanged.

    Example:
    >>> with_preset({"entry": "disk_ae"})["paper"]
    'JMIV 2020, sections 3 and 4.1-4.2, Table 1, Figures 2-3'
    """
    spec = ENTRIES.get(recipe.get("entry")) if isinstance(recipe.get("entry"), str) else None
    if spec is None:
        return dict(recipe)
    completed = {key: spec[key] for key in PRESET_KEYS if key in spec}
    completed.update(recipe)
    evaluation = dict(recipe.get("evaluation", {}))
    for key, value in spec.get("evaluation", {}).items():
        evaluation.setdefault(key, copy.deepcopy(value))
    if evaluation:
        completed["evaluation"] = evaluation
    return completed


__all__ = ["PRESET_KEYS", "with_preset"]
