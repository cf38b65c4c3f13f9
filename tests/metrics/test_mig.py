"""MIG: disentanglement_lib's sanity triplet, the information identities it
rests on, and bad input."""

import numpy as np
import pytest

from geomae_tf import metrics


# -- sanity triplet (disentanglement_lib's mig_test.py) ----------------------

def test_identity_code_of_discrete_factors_scores_high(discrete_factors):
    assert metrics.mig(discrete_factors, discrete_factors) >= 0.9


def test_identity_code_of_continuous_factors_scores_high(continuous_factors):
    assert metrics.mig(continuous_factors, continuous_factors) >= 0.9


def test_constant_code_scores_zero(discrete_factors):
    assert metrics.mig(np.zeros_like(discrete_factors), discrete_factors) <= 0.2
    assert metrics.mig(np.zeros_like(discrete_factors), discrete_factors) == 0.0


def test_duplicated_code_has_no_gap(discrete_factors, continuous_factors):
    for factors in (discrete_factors, continuous_factors):
        assert metrics.mig(np.hstack([factors, factors]), factors) <= 0.1


def test_rotated_code_scores_low(rotated_pair):
    code, factors = rotated_pair
    assert metrics.mig(factors, factors) >= 0.9
    assert metrics.mig(code, factors) <= 0.1


# -- the quantities MIG is made of -------------------------------------------

def test_a_bijective_code_carries_the_whole_entropy(discrete_factors):
    mi, entropies = metrics.mutual_information_matrix(discrete_factors, discrete_factors)
    # I(z; v) = H(v) when z determines v (each of the 10 values has its own bin).
    np.testing.assert_allclose(np.diag(mi), entropies, rtol=1e-12)
    # 10 equiprobable values: H close to ln 10; independent pairs: I close to 0.
    np.testing.assert_allclose(entropies, np.log(10), atol=0.02)
    off_diagonal = mi[~np.eye(5, dtype=bool)]
    assert np.all(off_diagonal >= 0) and np.all(off_diagonal < 0.15)
    # MIG is the normalised gap of exactly these numbers.
    gaps = (np.sort(mi, axis=0)[-1] - np.sort(mi, axis=0)[-2]) / entropies
    assert metrics.mig(discrete_factors, discrete_factors) == pytest.approx(np.mean(gaps))


def test_mig_is_invariant_to_scaling_and_flipping_latents(continuous_factors):
    z = continuous_factors + 0.1 * np.random.default_rng(5).normal(size=continuous_factors.shape)
    reference = metrics.mig(z, continuous_factors)
    assert 0.2 < reference < 0.9
    flipped = z * np.array([4.0, -2.0, 0.5, -1.0])   # exact in floating point
    assert metrics.mig(flipped, continuous_factors) == pytest.approx(reference, abs=1e-12)


def test_single_latent_runner_up_counts_as_zero():
    radius = np.random.default_rng(3).uniform(0, 32, size=300)
    # One latent, one factor (the disk autoencoder): MIG = I(z; r) / H(r).
    assert metrics.mig(4.0 * radius[:, None], {"radius": radius}) == pytest.approx(1.0)
    assert metrics.mig(np.random.default_rng(4).normal(size=(300, 1)), radius) < 0.2


def test_continuous_factors_are_binned_unless_declared_discrete():
    values = np.random.default_rng(6).uniform(size=400)   # 400 distinct values
    z = values[:, None]
    _, binned = metrics.mutual_information_matrix(z, values)
    _, exact = metrics.mutual_information_matrix(z, values, discrete=True)
    assert binned[0] <= np.log(20) + 1e-12            # 20 equal-width bins
    assert exact[0] == pytest.approx(np.log(400))     # every value its own class
    _, coarse = metrics.mutual_information_matrix(z, values, num_bins=4)
    assert coarse[0] == pytest.approx(np.log(4), abs=0.01)


def test_dict_factors_match_array_factors(discrete_factors):
    named = {f"f{j}": discrete_factors[:, j] for j in range(5)}
    z = discrete_factors[:, ::-1]
    assert metrics.mig(z, named) == metrics.mig(z, discrete_factors)


# -- bad input ---------------------------------------------------------------

def test_bad_inputs_raise_clear_errors(discrete_factors):
    z = discrete_factors
    with pytest.raises(ValueError, match="same number of samples"):
        metrics.mig(z[:-1], discrete_factors)
    with pytest.raises(ValueError, match=r"`z` must have rank 2.*reshape"):
        metrics.mig(z[:, 0], discrete_factors)
    bad = z.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="`z` must be finite.*1 NaN"):
        metrics.mig(bad, discrete_factors)
    with pytest.raises(ValueError, match="`factors` must be finite"):
        metrics.mig(z, bad)
    with pytest.raises(ValueError, match="at least 10 samples"):
        metrics.mig(z[:5], discrete_factors[:5])
    with pytest.raises(ValueError, match="'f0' is constant"):
        metrics.mig(z, {"f0": np.ones(len(z)), "f1": z[:, 1]})
    with pytest.raises(ValueError, match="one common length"):
        metrics.mig(z, {"f0": z[:, 0], "f1": z[:-1, 1]})
    with pytest.raises(TypeError, match="numeric"):
        metrics.mig(z, np.array(["a", "b"] * (len(z) // 2)))
    with pytest.raises(ValueError, match="`num_bins` must be an int >= 2"):
        metrics.mig(z, discrete_factors, num_bins=1)
    with pytest.raises(ValueError, match="one bool per factor"):
        metrics.mig(z, discrete_factors, discrete=[True, False])
    with pytest.raises(ValueError, match="exactly the factor names"):
        metrics.mig(z, {"a": z[:, 0]}, discrete={"b": True})
    with pytest.raises(TypeError, match="`seed` must be an int"):
        metrics.mig(z, discrete_factors, seed=0.5)
