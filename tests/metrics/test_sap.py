"""SAP: disentanglement_lib's sanity triplet (continuous factors, as its
sap_score_test.py), the R^2 and accuracy scores it is made of, and bad input."""

import numpy as np
import pytest

from geomae_tf import metrics


# -- sanity triplet (continuous factors) -------------------------------------

def test_identity_code_scores_high(continuous_factors):
    assert metrics.sap(continuous_factors, continuous_factors) >= 0.9


def test_constant_code_scores_zero(continuous_factors):
    assert metrics.sap(np.zeros_like(continuous_factors), continuous_factors) == 0.0


def test_duplicated_code_has_no_gap(continuous_factors):
    z = np.hstack([continuous_factors, continuous_factors])
    assert metrics.sap(z, continuous_factors) <= 0.1


def test_rotated_code_scores_low(rotated_pair):
    code, factors = rotated_pair
    # Each factor explains half of each latent's variance: no separation.
    np.testing.assert_allclose(metrics.sap_score_matrix(code, factors), 0.5, atol=0.05)
    assert metrics.sap(code, factors) <= 0.1


# -- the scores SAP is made of -----------------------------------------------

def test_continuous_score_is_the_r2_of_a_linear_fit():
    rng = np.random.default_rng(9)
    factor = rng.uniform(size=2000)                    # variance 1/12
    noisy = factor + rng.normal(scale=np.sqrt(1 / 12), size=2000)   # R^2 = 1/2
    z = np.stack([3.0 * factor - 1.0, noisy, rng.normal(size=2000)], axis=1)
    scores = metrics.sap_score_matrix(z, factor)[:, 0]
    assert scores[0] == pytest.approx(1.0, abs=1e-12)
    assert scores[1] == pytest.approx(0.5, abs=0.05)
    assert scores[2] == pytest.approx(0.0, abs=0.01)
    assert metrics.sap(z, factor) == pytest.approx(scores[0] - scores[1])


def test_discrete_factors_score_by_held_out_accuracy():
    # Binary factors: the own latent classifies perfectly, any other one at
    # chance, so even a perfect code scores only about 1 - 1/2 (see sap.py).
    factors = np.random.default_rng(10).integers(0, 2, size=(400, 3)).astype(float)
    scores = metrics.sap_score_matrix(factors, factors)
    np.testing.assert_allclose(np.diag(scores), 1.0)
    assert np.all(scores[~np.eye(3, dtype=bool)] <= 0.65)
    assert 0.35 <= metrics.sap(factors, factors) <= 0.65
    assert metrics.sap(np.hstack([factors, factors]), factors) == 0.0
    # Standardised latents: the fixed C of the SVM does not see the scale.
    assert metrics.sap(1e-6 * factors, factors) == metrics.sap(factors, factors)


def test_single_latent_runner_up_counts_as_zero():
    radius = np.random.default_rng(11).uniform(0, 32, size=300)
    assert metrics.sap(-radius[:, None], {"radius": radius}) == pytest.approx(1.0)


def test_seeded_and_reproducible(discrete_factors):
    z = discrete_factors + np.random.default_rng(12).normal(size=discrete_factors.shape)
    first = metrics.sap(z, discrete_factors, seed=4)
    assert metrics.sap(z, discrete_factors, seed=4) == first
    # Declared continuous, the 10-valued factors are scored by R^2 instead.
    scores = metrics.sap_score_matrix(z, discrete_factors, discrete=False)
    np.testing.assert_array_equal(np.argmax(scores, axis=0), np.arange(5))
    ordered = np.sort(scores, axis=0)
    assert metrics.sap(z, discrete_factors, discrete=False) == pytest.approx(
        np.mean(ordered[-1] - ordered[-2]))


# -- bad input ---------------------------------------------------------------

def test_bad_inputs_raise_clear_errors(continuous_factors):
    z = continuous_factors
    with pytest.raises(ValueError, match="same number of samples"):
        metrics.sap(z[:100], z)
    with pytest.raises(ValueError, match="`z` must have rank 2"):
        metrics.sap(z[None], z)
    with pytest.raises(ValueError, match="`z` must have at least one column"):
        metrics.sap(z[:, :0], z)
    with pytest.raises(ValueError, match=r"`factors\['b'\]` must be finite"):
        metrics.sap(z, {"a": z[:, 0], "b": np.full(len(z), np.nan)})
    with pytest.raises(ValueError, match="`seed` must be an int >= 0"):
        metrics.sap(z, z, seed=-1)
    with pytest.raises(TypeError, match="`discrete` must be None, a bool"):
        metrics.sap(z, z, discrete="yes")
    with pytest.raises(ValueError, match="`train_fraction` must be"):
        metrics.sap(z, z.round(), discrete=True, train_fraction=1.5)
