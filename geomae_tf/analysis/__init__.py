"""Evaluation and figures, one module per family.

`EVALUATORS` and `FIGURES` map a family name (see `geomae_tf.zoo.ENTRIES`) to
"module:function" strings, imported only when used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

EVALUATORS = {
    "disk": "geomae_tf.analysis.disk:evaluate",
    "atomic_spikes": "geomae_tf.analysis.atomic.spikes:evaluate_spikes",
    "atomic_strokes": "geomae_tf.analysis.atomic.strokes:evaluate_strokes",
    "atomic_mnist": "geomae_tf.analysis.atomic.mnist:evaluate_mnist",
    "pca": "geomae_tf.analysis.pca:evaluate",
    "position_encoder": "geomae_tf.analysis.position:evaluate_encoder",
    "position_decoder": "geomae_tf.analysis.position:evaluate_decoder",
}
FIGURES = {
    "disk": "geomae_tf.analysis.disk:figures",
    "atomic_spikes": "geomae_tf.analysis.atomic.figures:figures_spikes",
    "atomic_strokes": "geomae_tf.analysis.atomic.figures:figures_strokes",
    "atomic_mnist": "geomae_tf.analysis.atomic.figures:figures_mnist",
    "pca": "geomae_tf.analysis.pca:figures",
    "position_encoder": "geomae_tf.analysis.position:figures_encoder",
    "position_decoder": "geomae_tf.analysis.position:figures_decoder",
}


def resolve(table: Mapping[str, str], family: str) -> Callable[..., Any]:
    """The function registered for `family` in `table` (EVALUATORS or FIGURES)."""
    if family not in table:
        raise ValueError(f"`family` must be one of {sorted(table)}. Received: family={family!r}")
    module, _, name = table[family].partition(":")
    return getattr(importlib.import_module(module), name)
