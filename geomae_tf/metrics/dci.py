"""Disentanglement, Completeness and Informativeness (DCI), as
disentanglement_lib computes them.

Eastwood and Williams, "A Framework for the Quantitative Evaluation of
Disentangled Representations" (ICLR 2018), section 2, with
disentanglement_lib's choices (`dci.py`):

- Importance matrix R `(d, K)`: for each factor k, a gradient-boosted tree
  classifier (sklearn `GradientBoostingClassifier`) predicts the factor's
  class labels from all d latents, trained on a seeded random `train_fraction`
  of the samples; R[:, k] is its feature importances. A discrete factor's
  classes are its values; a continuous factor's are its 20 equal-width bins.
- Disentanglement: each code i gets D_i = 1 - H_K(R[i, :] / sum_k R[i, k]),
  an entropy in base K (the number of factors); D = sum_i rho_i D_i with
  rho_i = sum_k R[i, k] / sum R.
- Completeness: each factor gets C_k = 1 - H_d(R[:, k] / sum_i R[i, k]), an
  entropy in base d (the number of codes); C = sum_k w_k C_k with
  w_k = sum_i R[i, k] / sum R.
- Informativeness: the classifiers' accuracy on the held-out samples,
  averaged over the factors.

Edge cases, chosen to agree with disentanglement_lib where it is defined: a
code (factor) with zero importance scores D_i = 0 (C_k = 0), as a uniform
distribution would (disentanglement_lib adds 1e-11 everywhere); when R is
all zero the weights are uniform, so D = C = 0. With a single factor
(K = 1) every code with nonzero importance has D_i = 1; with a single code
(d = 1) every factor with nonzero importance has C_k = 1 (disentanglement_lib
divides by log 1 there).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier

from geomae_tf import validation
from geomae_tf.metrics import utils

if TYPE_CHECKING:
    from geomae_tf.types import ArrayLike


def _check_importance(importance):
    array = np.asarray(importance)
    if array.ndim != 2 or min(array.shape) < 1:
        raise ValueError(f"`importance` must be a non-empty 2-D array shaped "
                         f"(num_codes, num_factors). Received: importance with shape "
                         f"{array.shape}")
    array = utils.check_numeric("importance", array)
    if np.any(array < 0):
        raise ValueError(f"`importance` must be nonnegative. Received: importance with "
                         f"minimum {array.min():g}")
    return array


def _weighted_concentration(matrix):
    """sum_i rho_i (1 - H_n(row_i)) over the rows of `matrix` (n = row length)."""
    n = matrix.shape[1]
    sums = matrix.sum(axis=1)
    per_row = np.zeros(len(matrix))
    for i, row in enumerate(matrix):
        if sums[i] > 0:
            per_row[i] = 1.0 if n == 1 else 1.0 - utils.normalized_entropy(row, n)
    total = sums.sum()
    weights = sums / total if total > 0 else np.full(len(matrix), 1.0 / len(matrix))
    return float(np.sum(weights * per_row))


def disentanglement_from_importance(importance: ArrayLike) -> float:
    """DCI disentanglement of an importance matrix `(num_codes, num_factors)`.

    Args:
        importance: array `(d, K)`, nonnegative. R[i, k] is how much code i
            matters for predicting factor k.

    Returns:
        float in [0, 1]: 1 when every code that matters matters for one
        factor only.

    Example:
    >>> disentanglement_from_importance(np.eye(5))
    1.0
    """
    return _weighted_concentration(_check_importance(importance))


def completeness_from_importance(importance: ArrayLike) -> float:
    """DCI completeness of an importance matrix `(num_codes, num_factors)`.

    Args:
        importance: array `(d, K)`, nonnegative. R[i, k] is how much code i
            matters for predicting factor k.

    Returns:
        float in [0, 1]: 1 when every factor is predicted by one code only.

    Example:
    >>> completeness_from_importance(np.vstack([np.eye(5), np.eye(5)]))  # 1 - ln 2 / ln 10
    0.699...
    """
    return _weighted_concentration(_check_importance(importance).T)


def importance_matrix(z: ArrayLike, factors: ArrayLike | dict[str, ArrayLike], *,
                      num_bins: int = utils.NUM_BINS,
                      discrete: bool | Sequence[bool] | np.ndarray | dict[str, bool] | None = None,
                      train_fraction: float = 0.75, n_estimators: int = 100,
                      max_depth: int = 3,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Importance matrix of gradient-boosted trees, and their accuracies.

    Args: as `dci`.

    Returns:
        `(importance, train_accuracy, test_accuracy)`: a `(d, K)` array (each
        nonzero column sums to 1) and two `(K,)` arrays, one accuracy per
        factor.
    """
    data = utils.prepare(z, factors, num_bins=num_bins, discrete=discrete, seed=seed)
    return _importance_matrix(data, train_fraction, n_estimators, max_depth)


def _importance_matrix(data, train_fraction, n_estimators, max_depth):
    n_estimators = validation.check_int("n_estimators", n_estimators, minimum=1)
    max_depth = validation.check_int("max_depth", max_depth, minimum=1)
    z, labels, names, seed = data["z"], data["labels"], data["names"], data["seed"]
    train, test = utils.split_indices(len(z), train_fraction, seed)
    importance = np.zeros((z.shape[1], labels.shape[1]))
    train_accuracy = np.zeros(labels.shape[1])
    test_accuracy = np.zeros(labels.shape[1])
    for k in range(labels.shape[1]):
        y_train, y_test = labels[train, k], labels[test, k]
        if len(np.unique(y_train)) < 2:
            raise ValueError(f"Factor {names[k]!r} takes a single value on the "
                             f"{len(train)} training samples: more samples or a larger "
                             f"`train_fraction` are needed")
        model = GradientBoostingClassifier(n_estimators=n_estimators, max_depth=max_depth,
                                           random_state=seed)
        model.fit(z[train], y_train)
        importance[:, k] = np.abs(model.feature_importances_)
        train_accuracy[k] = np.mean(model.predict(z[train]) == y_train)
        test_accuracy[k] = np.mean(model.predict(z[test]) == y_test)
    return importance, train_accuracy, test_accuracy


def dci(z: ArrayLike, factors: ArrayLike | dict[str, ArrayLike], *, num_bins: int = utils.NUM_BINS,
        discrete: bool | Sequence[bool] | np.ndarray | dict[str, bool] | None = None,
        train_fraction: float = 0.75, n_estimators: int = 100, max_depth: int = 3,
        seed: int = 0) -> dict[str, float]:
    """DCI disentanglement, completeness and informativeness of codes `z`.

    Args:
        z: array `(N, d)`. The codes, one row per sample.
        factors: array `(N, K)` or `(N,)`, or dict name -> `(N,)` array. The
            ground-truth factors of the same samples.
        num_bins: int. Equal-width bins of a continuous factor (its classes).
            Defaults to 20.
        discrete: None, bool, sequence of K bools or dict name -> bool. Which
            factors are discrete; None: those with at most `num_bins`
            distinct values.
        train_fraction: float in (0, 1). Share of the samples (drawn at random
            with `seed`) the classifiers train on; the rest measure
            informativeness. Defaults to 0.75.
        n_estimators: int. Boosting stages per classifier. Defaults to 100
            (sklearn's and disentanglement_lib's).
        max_depth: int. Depth of each tree. Defaults to 3 (idem).
        seed: int. Seeds the split and the trees. Defaults to 0.

    Returns:
        dict with `disentanglement`, `completeness` and `informativeness`
        (floats in [0, 1]; informativeness is the mean held-out accuracy).

    Example:
    >>> scores = geomae_tf.metrics.dci(z, {"a": a, "b": b, "theta": theta})
    >>> scores["disentanglement"]
    """
    data = utils.prepare(z, factors, num_bins=num_bins, discrete=discrete, seed=seed)
    importance, _, test_accuracy = _importance_matrix(data, train_fraction, n_estimators,
                                                      max_depth)
    return {"disentanglement": disentanglement_from_importance(importance),
            "completeness": completeness_from_importance(importance),
            "informativeness": float(np.mean(test_accuracy))}
