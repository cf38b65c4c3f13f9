"""Separated Attribute Predictability (SAP), as disentanglement_lib computes it.

Kumar, Sattigeri, Balakrishnan, "Variational Inference of Disentangled Latent
Concepts from Unlabeled Observations" (ICLR 2018), section 3, with
disentanglement_lib's estimators (`sap_score.py`):

- A score matrix S `(d, K)` says how well latent i alone predicts factor k:
  - continuous factor: the R^2 of a linear fit of v_k on z_i, i.e. the
    squared correlation cov(z_i, v_k)^2 / (var z_i var v_k) (0 for a
    constant latent), computed on all N samples;
  - discrete factor: the held-out accuracy of a linear SVM (sklearn
    `LinearSVC(C=0.01, class_weight="balanced")`) trained on z_i alone on a
    seeded random `train_fraction` of the samples and tested on the rest.
    Unlike disentanglement_lib, z_i is first standardised (with the training
    mean and standard deviation) so that the score does not depend on the
    latent's scale through the fixed C.
- SAP = 1/K sum_k (S_(1),k - S_(2),k), the best minus the second-best score
  of each factor (with a single latent, the runner-up counts as 0).

Note that for a discrete factor with m balanced classes even a perfect code
scores about 1 - 1/m (its runner-up predicts at chance level), and a linear
classifier on one latent separates only the two extreme classes well, so
discrete SAP values are much lower than continuous ones: compare SAP values
only between codes evaluated on the same factors.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC

from geomae_tf.metrics import utils

if TYPE_CHECKING:
    from geomae_tf.types import ArrayLike

#: Regularisation of disentanglement_lib's per-latent LinearSVC.
SVC_C = 0.01


def sap_score_matrix(z: ArrayLike, factors: ArrayLike | dict[str, ArrayLike], *,
                     num_bins: int = utils.NUM_BINS,
                     discrete: bool | Sequence[bool] | np.ndarray | dict[str, bool] | None = None,
                     train_fraction: float = 0.75, seed: int = 0) -> np.ndarray:
    """The `(d, K)` matrix of per-latent predictability scores (see `sap`)."""
    data = utils.prepare(z, factors, num_bins=num_bins, discrete=discrete, seed=seed)
    return _score_matrix(data, train_fraction)


def _r_squared(x, y):
    x = x - x.mean()
    y = y - y.mean()
    var_x, var_y = np.dot(x, x), np.dot(y, y)
    if var_x == 0 or var_y == 0:
        return 0.0
    return float(np.dot(x, y) ** 2 / (var_x * var_y))


def _svm_accuracy(x_train, y_train, x_test, y_test, seed):
    mean, std = x_train.mean(), x_train.std()
    std = std if std > 0 else 1.0
    classifier = LinearSVC(C=SVC_C, class_weight="balanced", dual="auto", random_state=seed,
                           max_iter=10000)
    with warnings.catch_warnings():
        # A latent unrelated to the factor gives an ill-posed fit; its score
        # (chance accuracy) is what SAP needs, converged or not.
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(((x_train - mean) / std)[:, None], y_train)
    return float(np.mean(classifier.predict(((x_test - mean) / std)[:, None]) == y_test))


def _score_matrix(data, train_fraction):
    z, factors, labels = data["z"], data["factors"], data["labels"]
    names, flags, seed = data["names"], data["discrete"], data["seed"]
    scores = np.zeros((z.shape[1], len(names)))
    if any(flags):
        train, test = utils.split_indices(len(z), train_fraction, seed)
    for k, discrete in enumerate(flags):
        if discrete and len(np.unique(labels[train, k])) < 2:
            raise ValueError(f"Factor {names[k]!r} takes a single value on the "
                             f"{len(train)} training samples: more samples or a larger "
                             f"`train_fraction` are needed")
        for i in range(z.shape[1]):
            if discrete:
                scores[i, k] = _svm_accuracy(z[train, i], labels[train, k], z[test, i],
                                             labels[test, k], seed)
            else:
                scores[i, k] = _r_squared(z[:, i], factors[:, k])
    return scores


def sap(z: ArrayLike, factors: ArrayLike | dict[str, ArrayLike], *, num_bins: int = utils.NUM_BINS,
        discrete: bool | Sequence[bool] | np.ndarray | dict[str, bool] | None = None,
        train_fraction: float = 0.75, seed: int = 0) -> float:
    """SAP score of codes `z` with respect to ground-truth factors.

    For each factor, how much better the single most predictive latent
    predicts it than the second most predictive one; averaged over the
    factors. Near 1: each (continuous) factor is linearly read off one latent
    and no other; near 0: no latent predicts it, or two do equally well.

    Args:
        z: array `(N, d)`. The codes, one row per sample.
        factors: array `(N, K)` or `(N,)`, or dict name -> `(N,)` array. The
            ground-truth factors of the same samples.
        num_bins: int. Only used to tell discrete factors when `discrete` is
            None: a factor is discrete when it takes at most `num_bins`
            distinct values. Defaults to 20.
        discrete: None, bool, sequence of K bools or dict name -> bool. Which
            factors are discrete (scored by classification accuracy) rather
            than continuous (scored by R^2).
        train_fraction: float in (0, 1). Share of the samples the classifiers
            of discrete factors train on (the rest test them). Defaults to 0.75.
        seed: int. Seeds the split and the classifiers. Defaults to 0.

    Returns:
        float in [0, 1].

    Example:
    >>> geomae_tf.metrics.sap(z, {"a": a, "b": b, "theta": theta})
    """
    data = utils.prepare(z, factors, num_bins=num_bins, discrete=discrete, seed=seed)
    return float(np.mean(utils.top_two_gap(_score_matrix(data, train_fraction))))
