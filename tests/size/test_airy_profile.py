"""The optimal decoding profile of Proposition 2 (JMIV 2020, 4.3, appendix B)."""

import numpy as np
import pytest

from geomae_tf.analysis import airy


@pytest.mark.parametrize("R", [32.0, 18.0])
def test_eigenvector_and_airy_closed_form_agree(R):
    numeric = airy.optimal_profile_numeric(R, n=1500)
    closed = airy.airy_profile(numeric["rho"], R)
    np.testing.assert_allclose(numeric["f"], closed, atol=1e-5)
    # The top eigenvalue of T is 1 / k = (R / X0)^3.
    assert numeric["mu"] == pytest.approx((R / airy.first_zero()) ** 3, rel=1e-5)
    assert numeric["k"] == pytest.approx(airy.airy_k(R), rel=1e-5)


def test_gradient_ascent_reaches_the_same_optimum():
    ascent = airy.optimal_profile_gradient(32.0, n=300, steps=200)
    np.testing.assert_allclose(ascent["f"], airy.airy_profile(ascent["rho"], 32.0), atol=1e-4)


def test_closed_form_solves_the_airy_problem():
    R = 32.0
    k = airy.airy_k(R)
    h = 1e-3
    rho = np.linspace(0.5, R - 0.5, 50)
    f = airy.airy_profile
    second = (f(rho + h, R) - 2 * f(rho, R) + f(rho - h, R)) / h ** 2
    np.testing.assert_allclose(second, -k * rho * f(rho, R), atol=1e-6)
    assert f(np.array([0.0]), R)[0] == pytest.approx(1.0)
    assert (f(np.array([h]), R)[0] - f(np.array([0.0]), R)[0]) / h == pytest.approx(0.0, abs=1e-6)
    assert f(np.array([R - 1e-9]), R)[0] == pytest.approx(0.0, abs=1e-6)
    assert airy.first_zero() == pytest.approx(1.98635, abs=1e-5)


def test_optimum_is_positive_decreasing_and_vanishes_beyond_R():
    out = airy.optimal_profile_numeric(18.0, n=1200, rho_max=32.0)
    f, rho = out["f"], out["rho"]
    assert np.all(f[rho < 17.9] > 0)
    assert np.all(np.diff(f[rho < 18.0]) < 0)
    np.testing.assert_allclose(f[rho > 18.0], 0.0, atol=1e-9)


def test_optimum_beats_every_other_profile():
    R = 32.0
    rho = (np.arange(600) + 0.5) * R / 600
    best = airy.energy(airy.airy_profile(rho, R), rho, R)
    rng = np.random.default_rng(0)
    assert best > airy.energy(np.ones_like(rho), rho, R)          # the flat profile
    assert best > airy.energy(1 - rho / R, rho, R)                 # a cone
    for _ in range(20):                                            # perturbations
        other = airy.airy_profile(rho, R) + 0.05 * rng.normal(size=rho.size)
        assert best > airy.energy(other, rho, R)
    assert best == pytest.approx((R / airy.first_zero()) ** 3, rel=1e-4)


def test_profile_scales_with_R():
    """f_R(rho) = f_1(rho / R): the optimum only depends on rho / R."""
    rho = np.linspace(0, 1, 30)
    np.testing.assert_allclose(airy.airy_profile(rho * 18.0, 18.0),
                               airy.airy_profile(rho * 32.0, 32.0), atol=1e-12)


def test_grid_optimum_of_blurred_disks_is_close_to_airy():
    """The exact rank-one fit of blurred 64x64 disks follows the Airy profile."""
    from geomae_tf.datasets import disks

    radii = np.linspace(0.0, 32.0, 128, endpoint=False) + 0.125
    grid = airy.discrete_optimum(radii)
    d = disks.pixel_distances(64)
    rings, prof = airy.radial_profile(np.stack([grid, airy.airy_profile(d, 32.0)])[..., None])
    inside = rings <= 32.0
    assert np.corrcoef(prof[:, inside])[0, 1] > 0.99


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="`R` must be > 0"):
        airy.airy_profile([1.0], R=0.0)
    with pytest.raises(ValueError, match="`rho` must be >= 0"):
        airy.airy_profile([-1.0])
    with pytest.raises(ValueError, match="`rho_max` must be"):
        airy.optimal_profile_numeric(18.0, rho_max=10.0)
