"""The families of the zoo, as objects: how each one is measured and drawn.

A zoo entry names its family (`geomae_tf.zoo.ENTRIES[entry]["family"]`);
`FAMILIES[family]` holds the function that measures a model of that family
on fresh synthetic data with ground truth (`geomae evaluate`, and the
evaluation at the end of `geomae train`) and the one that draws its figures
(`geomae figures`). A family outside `FAMILIES` is an error when a recipe
loads, before anything trains.

Example:
>>> len(FAMILIES), "atomic_mnist" in FAMILIES
(7, True)
>>> FAMILIES["disk"].evaluate.__module__
'geomae_tf.analysis.disk'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from geomae_tf.analysis import disk, pca, position
from geomae_tf.analysis.atomic import figures as atomic_figures
from geomae_tf.analysis.atomic import mnist, spikes, strokes


@dataclasses.dataclass(frozen=True)
class Family:
    """One family of zoo entries.

    Args:
        name: str. Its name in `geomae_tf.zoo.ENTRIES` and in a recipe's
            `[evaluation] family`.
        evaluate: callable `(model, **options) -> dict` of metrics, measured
            on fresh data with ground truth; `options` are the recipe's
            `[evaluation]` table.
        figures: callable `(model, out_dir, **options) -> list[Path]`; the
            entry's preset `figures` are its options.
    """

    name: str
    evaluate: Callable[..., dict[str, Any]]
    figures: Callable[..., list[Path]]


#: Every family, by name.
FAMILIES: dict[str, Family] = {one.name: one for one in (
    Family("disk", disk.evaluate, disk.figures),
    Family("atomic_spikes", spikes.evaluate_spikes, atomic_figures.figures_spikes),
    Family("atomic_strokes", strokes.evaluate_strokes, atomic_figures.figures_strokes),
    Family("atomic_mnist", mnist.evaluate_mnist, atomic_figures.figures_mnist),
    Family("pca", pca.evaluate, pca.figures),
    Family("position_encoder", position.evaluate_encoder, position.figures_encoder),
    Family("position_decoder", position.evaluate_decoder, position.figures_decoder),
)}
