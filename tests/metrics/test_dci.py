"""DCI: the closed-form importance-matrix cases of disentanglement_lib's
dci_test.py, the sanity triplet with gradient-boosted trees, and bad input."""

import numpy as np
import pytest

from geomae_tf import metrics
from geomae_tf.metrics.utils import split_indices

D = metrics.disentanglement_from_importance
C = metrics.completeness_from_importance
#: Small ensembles keep the tests quick; the metric's default is 100 stages.
FAST = {"n_estimators": 10}


# -- closed-form importance matrices (disentanglement_lib's cases) ------------

def test_diagonal_importance_is_perfect():
    importance = np.diag(5.0 * np.ones(5))
    assert D(importance) == pytest.approx(1.0)
    assert C(importance) == pytest.approx(1.0)


def test_diagonal_with_empty_codes_is_perfect():
    importance = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    assert D(importance) == pytest.approx(1.0)
    assert C(importance) == pytest.approx(1.0)


def test_zero_importance_scores_zero():
    importance = np.zeros((10, 10))
    assert D(importance) == pytest.approx(0.0, abs=1e-7)
    assert C(importance) == pytest.approx(0.0, abs=1e-7)


def test_redundant_codes_halve_completeness_only():
    importance = np.vstack([np.diag(5.0 * np.ones(5))] * 2)   # 10 codes, 5 factors
    assert D(importance) == pytest.approx(1.0)
    assert C(importance) == pytest.approx(1.0 - np.log(2) / np.log(10))


def test_missed_factors_do_not_count():
    importance = np.diag(5.0 * np.ones(5))[:2, :]
    assert D(importance) == pytest.approx(1.0)
    assert C(importance) == pytest.approx(1.0)


def test_one_code_for_two_factors_halves_disentanglement_only():
    importance = np.hstack([np.diag(5.0 * np.ones(5))] * 2)   # 5 codes, 10 factors
    assert D(importance) == pytest.approx(1.0 - np.log(2) / np.log(10))
    assert C(importance) == pytest.approx(1.0)


def test_weighted_average_by_hand():
    # Code 0 splits evenly (D_0 = 0, weight 2/3), code 1 is pure (D_1 = 1,
    # weight 1/3); the same holds for the factors' columns.
    importance = np.array([[1.0, 1.0], [1.0, 0.0]])
    assert D(importance) == pytest.approx(1.0 / 3.0)
    assert C(importance) == pytest.approx(1.0 / 3.0)
    # Scores depend on proportions only.
    assert D(7.0 * importance) == pytest.approx(D(importance))


def test_single_factor_and_single_code():
    assert D(np.array([[0.7], [0.3]])) == pytest.approx(1.0)      # K = 1
    assert C(np.array([[0.7], [0.3]])) == pytest.approx(1.0 - (
        -(0.7 * np.log(0.7) + 0.3 * np.log(0.3)) / np.log(2)))
    assert C(np.array([[0.4, 0.6]])) == pytest.approx(1.0)         # d = 1
    assert D(np.array([[0.0]])) == 0.0 and C(np.array([[0.0]])) == 0.0


def test_bad_importance_matrices_raise():
    with pytest.raises(ValueError, match="nonnegative"):
        D(np.array([[1.0, -0.1]]))
    with pytest.raises(ValueError, match="`importance` must be finite"):
        C(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="2-D array"):
        D(np.ones(3))


# -- sanity triplet with gradient-boosted trees -------------------------------

def test_identity_code_scores_high(discrete_factors):
    scores = metrics.dci(discrete_factors, discrete_factors, **FAST)
    assert set(scores) == {"disentanglement", "completeness", "informativeness"}
    assert scores["disentanglement"] >= 0.9
    assert scores["completeness"] >= 0.9
    assert scores["informativeness"] >= 0.9


def test_identity_code_of_continuous_factors_scores_high(continuous_factors):
    scores = metrics.dci(continuous_factors[:400], continuous_factors[:400], **FAST)
    assert min(scores.values()) >= 0.9


def test_constant_code_scores_low(discrete_factors):
    scores = metrics.dci(np.zeros_like(discrete_factors), discrete_factors, **FAST)
    assert scores["disentanglement"] <= 0.2
    assert scores["completeness"] <= 0.2
    # Nothing to learn from: accuracy of guessing among 10 classes.
    assert scores["informativeness"] <= 0.2


def test_duplicated_code_halves_completeness(discrete_factors):
    scores = metrics.dci(np.hstack([discrete_factors, discrete_factors]), discrete_factors,
                         **FAST)
    assert scores["disentanglement"] >= 0.9
    target = 1.0 - np.log(2) / np.log(10)          # 10 codes
    assert scores["completeness"] == pytest.approx(target, abs=0.07)


def test_rotated_code_is_neither_disentangled_nor_complete(rotated_pair):
    code, factors = rotated_pair
    scores = metrics.dci(code[:400], factors[:400], **FAST)
    assert scores["disentanglement"] <= 0.2
    assert scores["completeness"] <= 0.2


def test_importance_matrix_columns_are_distributions(discrete_factors):
    z = np.hstack([discrete_factors, np.zeros((len(discrete_factors), 1))])
    importance, train_acc, test_acc = metrics.importance_matrix(z, discrete_factors, **FAST)
    assert importance.shape == (6, 5)
    np.testing.assert_allclose(importance.sum(axis=0), 1.0)
    # Each factor is read from its own code; the constant code is never used.
    np.testing.assert_array_equal(np.argmax(importance, axis=0), np.arange(5))
    assert np.all(importance[5] == 0)
    assert np.all(train_acc >= test_acc - 1e-12) and np.all(test_acc >= 0.9)


def test_single_latent_code_of_one_factor():
    radius = np.random.default_rng(7).uniform(0, 32, size=300)
    scores = metrics.dci(np.sqrt(radius)[:, None], {"radius": radius}, **FAST)
    assert scores["disentanglement"] == 1.0 and scores["completeness"] == 1.0
    assert scores["informativeness"] >= 0.8


def test_seeded_and_reproducible(discrete_factors):
    z = discrete_factors + np.random.default_rng(8).normal(size=discrete_factors.shape)
    first = metrics.dci(z[:300], discrete_factors[:300], seed=3, **FAST)
    assert metrics.dci(z[:300], discrete_factors[:300], seed=3, **FAST) == first


# -- bad input ---------------------------------------------------------------

def test_bad_inputs_raise_clear_errors(discrete_factors):
    z = discrete_factors
    with pytest.raises(ValueError, match="same number of samples"):
        metrics.dci(z, discrete_factors[:-3], **FAST)
    with pytest.raises(ValueError, match="at least 10 samples"):
        metrics.dci(z[:9], discrete_factors[:9], **FAST)
    bad = z.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="`z` must be finite"):
        metrics.dci(bad, discrete_factors, **FAST)
    with pytest.raises(ValueError, match="`train_fraction` must be"):
        metrics.dci(z, discrete_factors, train_fraction=0.0, **FAST)
    with pytest.raises(ValueError, match="`train_fraction` must leave"):
        metrics.dci(z, discrete_factors, train_fraction=1.0, **FAST)
    with pytest.raises(ValueError, match="`n_estimators` must be an int >= 1"):
        metrics.dci(z, discrete_factors, n_estimators=0)
    # A factor whose rare value falls only in the test split cannot be learnt.
    train, _ = split_indices(20, 0.1, 0)
    rare = np.ones(20)
    rare[train] = 0.0
    rare[np.setdiff1d(np.arange(20), train)[:2]] = 0.0
    with pytest.raises(ValueError, match="single value on the 2 training samples"):
        metrics.dci(np.arange(20.0)[:, None], rare, train_fraction=0.1, seed=0, **FAST)
