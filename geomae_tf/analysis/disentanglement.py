"""MIG, DCI and SAP of zoo entries whose data have ground-truth factors.

`FACTOR_SOURCES` maps a family to a function `(model, n, seed) -> (z, factors)`
that draws fresh data with known factors and encodes it: disks (radius),
ellipses (semi-axes and rotation), grey disks (radius and grey level). The
scores use `geomae_tf.metrics` with fixed settings, reported beside them, so
that tables from different runs compare.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from geomae_tf import metrics
from geomae_tf.datasets import disks, ellipses, grey_disks

if TYPE_CHECKING:
    from geomae_tf.models.autoencoder import Autoencoder
    from geomae_tf.types import ArrayLike

#: Held-out samples and tree ensemble used for every table (DCI depends on both).
N_SAMPLES = 1000
DCI_ESTIMATORS = 50


def _disks(model, n, seed):
    images, factors = disks.make_disks(n, seed=seed, radius_range=(1.0, 31.0),
                                       image_size=model.image_shape[0])
    return model.encode(images), factors


def _ellipses(model, n, seed):
    images, factors = ellipses.make_ellipses(n, seed=seed, image_size=model.image_shape[0])
    return model.encode(images), factors


def _grey_disks(model, n, seed):
    images, factors = grey_disks.make_grey_disks(n, seed=seed, image_size=model.image_shape[0])
    return model.encode(images), {"radius": factors["radius"], "grey": factors["grey"]}


#: Fresh data with ground-truth factors, by dataset name.
DATASET_SOURCES = {
    "disks": _disks,
    "ellipses": _ellipses,
    "grey_disks": _grey_disks,
}

#: The factor source of each zoo family (families without one get no scores).
FACTOR_SOURCES = {
    "disk": _disks,
    "pca": _ellipses,
}


def register(family: str,
             source: Callable[[Autoencoder, int, int],
                              tuple[np.ndarray, dict[str, np.ndarray]]]) -> None:
    """Adds a `(model, n, seed) -> (z, factors)` source for `family`."""
    FACTOR_SOURCES[family] = source


def scores(z: ArrayLike, factors: Mapping[str, ArrayLike] | ArrayLike,
           seed: int = 0) -> dict[str, float]:
    """MIG, SAP and DCI of codes `z` against `factors` (dict name -> (N,))."""
    z = np.asarray(z, np.float64)
    result = {
        "mig": metrics.mig(z, factors, seed=seed),
        "sap": metrics.sap(z, factors, seed=seed),
    }
    dci = metrics.dci(z, factors, seed=seed, n_estimators=DCI_ESTIMATORS)
    result.update({f"dci_{k}": v for k, v in dci.items()})
    return result


def dataset_scores(dataset: str, model: Autoencoder, n: int = N_SAMPLES,
                   seed: int = 31_415) -> dict[str, float]:
    """MIG, SAP and DCI of `model` on fresh `dataset` images ("disks",
    "ellipses" or "grey_disks") against their ground-truth factors."""
    if dataset not in DATASET_SOURCES:
        raise ValueError(f"`dataset` must be one of {sorted(DATASET_SOURCES)}. "
                         f"Received: dataset={dataset!r}")
    z, factors = DATASET_SOURCES[dataset](model, n, seed)
    return scores(z, factors, seed=seed)


def entry_scores(family: str, model: Autoencoder, n: int = N_SAMPLES,
                 seed: int = 31_415) -> dict[str, float]:
    """The disentanglement scores of a model of `family`, or {} if it has no factors."""
    if family not in FACTOR_SOURCES:
        return {}
    z, factors = FACTOR_SOURCES[family](model, n, seed)
    return scores(z, factors, seed=seed)
