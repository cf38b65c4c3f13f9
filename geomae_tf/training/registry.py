"""The trainers a recipe may name (`[training] trainer`), as objects.

Each `Trainer` holds its name, the function that trains a recipe's model,
and, for a trainer with options of its own, the `[training.<key>]` table it
reads and the function that checks it. `geomae_tf.training.recipe` checks
the trainer's name and options through `TRAINERS` when a recipe loads,
before any model is built; `geomae train` runs `TRAINERS[name].fit`.

Example:
>>> sorted(TRAINERS)
['fit', 'one_atom_first', 'progressive', 'refined']
>>> TRAINERS["refined"].options_key
'refined'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from geomae_tf.training import fitting, one_atom, progressive, refined


@dataclasses.dataclass(frozen=True)
class Trainer:
    """A trainer of `geomae train`.

    Args:
        name: str. Its name in a recipe (`[training] trainer = "..."`).
        fit: callable `(model, recipe, run_dir, verbose=..., epochs=...) ->
            keras.callbacks.History`. Trains `model` in place, writing in
            `run_dir`; the History may carry `parts`, `resumed` and `stages`
            (what `results.json` records of a run in several parts).
        options_key: str or None. The `[training.<options_key>]` table of its
            own options, None when it has none.
        check_options: callable or None. Returns that table with its
            defaults, checked; raises ValueError naming the bad key.
        summary: str. One line on what it does.
    """

    name: str
    fit: Callable[..., Any]
    options_key: str | None = None
    check_options: Callable[[dict[str, Any] | None], dict[str, Any]] | None = None
    summary: str = ""


#: Every trainer, by name.
TRAINERS: dict[str, Trainer] = {trainer.name: trainer for trainer in (
    Trainer("fit", fitting.fit, summary="the recipe's model.fit"),
    Trainer("one_atom_first", one_atom.fit_recipe, "one_atom", one_atom.check_options,
            "a one-block model first, then g fixed, then the recipe's model.fit"),
    Trainer("progressive", progressive.fit_recipe,
            summary="the PCA-like autoencoder, one latent unit (stage) at a time"),
    Trainer("refined", refined.fit_recipe, "refined", refined.check_options,
            "fine-tunes g on refined codes, round by round"),
)}
