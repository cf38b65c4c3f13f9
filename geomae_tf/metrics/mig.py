"""Mutual Information Gap (MIG), as disentanglement_lib computes it.

Chen, Li, Grosse, Duvenaud, "Isolating Sources of Disentanglement in
Variational Autoencoders" (NeurIPS 2018), section 4.1; the discrete
estimator of Locatello et al.'s disentanglement_lib (`mig.py`):

    MIG = 1/K sum_k ( I(z_(1); v_k) - I(z_(2); v_k) ) / H(v_k)

where z_(1), z_(2) are the latents with the largest and second-largest
mutual information with factor v_k. Each latent is discretised into
`num_bins` (20) equal-width histogram bins; a discrete factor keeps its
values, a continuous one is binned the same way (see `utils`). Mutual
informations and entropies are plug-in estimates from contingency tables,
in nats.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from geomae_tf.metrics import utils

if TYPE_CHECKING:
    from geomae_tf.types import ArrayLike


def mutual_information_matrix(
        z: ArrayLike, factors: ArrayLike | dict[str, ArrayLike], *,
        num_bins: int = utils.NUM_BINS,
        discrete: bool | Sequence[bool] | np.ndarray | dict[str, bool] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Mutual information between every discretised latent and every factor.

    Args:
        z: array `(N, d)`. The codes.
        factors: array `(N, K)` or `(N,)`, or dict name -> `(N,)` array.
        num_bins: int. Equal-width bins per latent (and per continuous
            factor). Defaults to 20.
        discrete: None, bool, sequence or dict of bools. Which factors are
            discrete; None: those with at most `num_bins` distinct values.

    Returns:
        `(mi, entropies)`: a `(d, K)` array of I(z_i; v_k) and a `(K,)` array
        of H(v_k), in nats.
    """
    data = utils.prepare(z, factors, num_bins=num_bins, discrete=discrete)
    return _mutual_information_matrix(data)


def _mutual_information_matrix(data):
    codes = np.stack([utils.equal_width_bins(column, data["num_bins"])
                      for column in data["z"].T], axis=1)
    labels = data["labels"]
    mi = np.array([[utils.mutual_information(codes[:, i], labels[:, k])
                    for k in range(labels.shape[1])] for i in range(codes.shape[1])])
    entropies = np.array([utils.entropy(labels[:, k]) for k in range(labels.shape[1])])
    return mi, entropies


def mig(z: ArrayLike, factors: ArrayLike | dict[str, ArrayLike], *, num_bins: int = utils.NUM_BINS,
        discrete: bool | Sequence[bool] | np.ndarray | dict[str, bool] | None = None,
        seed: int = 0) -> float:
    """Mutual Information Gap of codes `z` with respect to ground-truth factors.

    For each factor, the gap between the largest and the second-largest mutual
    information it shares with a single latent, divided by the factor's
    entropy; averaged over the factors. 1 means every factor is captured by
    exactly one latent (and fully); 0 means no latent is singled out (nothing
    is captured, or a factor is coded twice). With a single latent the
    runner-up counts as 0, so MIG is I(z; v_k) / H(v_k).

    Args:
        z: array `(N, d)`. The codes, one row per sample.
        factors: array `(N, K)` or `(N,)`, or dict name -> `(N,)` array. The
            ground-truth factors of the same samples.
        num_bins: int. Equal-width histogram bins per latent (and per
            continuous factor). Defaults to 20, as disentanglement_lib.
        discrete: None, bool, sequence of K bools or dict name -> bool. Which
            factors are discrete (their values are the classes); the others
            are binned into `num_bins` equal-width bins. None: a factor is
            discrete when it takes at most `num_bins` distinct values.
        seed: int. Unused: MIG is deterministic. Accepted (and validated) so
            that `mig`, `sap` and `dci` share one signature.

    Returns:
        float in [0, 1].

    Example:
    >>> factors = {"radius": radii}
    >>> geomae_tf.metrics.mig(model.encoder.predict(images), factors)
    """
    data = utils.prepare(z, factors, num_bins=num_bins, discrete=discrete, seed=seed)
    mi, entropies = _mutual_information_matrix(data)
    return float(np.mean(utils.top_two_gap(mi) / entropies))
