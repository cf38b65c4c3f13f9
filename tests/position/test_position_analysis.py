"""Metrics of the position study: kernel cosines, affine fit, decoded peaks."""

import keras
import numpy as np
import pytest

from geomae_tf import zoo
from geomae_tf.analysis import position as analysis
from geomae_tf.datasets import diracs


class _Triangle(keras.layers.Layer):
    """A perfect decoder: position a -> max(0, 1 - |t - a|) (or one-hot at round(a))."""

    def __init__(self, snap=False, **kwargs):
        super().__init__(**kwargs)
        self.snap = snap

    def call(self, a):
        a = keras.ops.round(a) if self.snap else a
        t = keras.ops.arange(64, dtype="float32")[None, :]
        return keras.ops.relu(1.0 - keras.ops.abs(t - a))[..., None]


def perfect_decoder(snap=False):
    position = keras.Input((1,), name="position")
    return keras.Model(position, _Triangle(snap)(position))


def test_centroid_peak_is_exact_on_triangular_diracs():
    positions = np.concatenate([[0.0, 0.3, 62.7, 63.0], np.random.default_rng(0).uniform(
        0, 63, 200)])
    signals = diracs.triangular_diracs(positions)
    np.testing.assert_allclose(analysis.peak_positions(signals), positions, atol=1e-5)


def test_parabolic_peak_exact_at_integers_and_half_integers_biased_between():
    positions = np.array([5.0, 5.5, 40.0, 40.5])
    np.testing.assert_allclose(
        analysis.peak_positions(diracs.triangular_diracs(positions), "parabolic"), positions,
        atol=1e-5)
    quarter = analysis.peak_positions(diracs.triangular_diracs([10.25]), "parabolic")[0]
    assert 10.0 < quarter < 10.25  # the parabola through a triangle is pulled to the sample


def test_parabolic_peak_of_a_sampled_parabola():
    t = np.arange(64)
    signal = 1.0 - 0.1 * (t - 17.3) ** 2
    np.testing.assert_allclose(analysis.peak_positions(signal[None], "parabolic"), [17.3],
                               atol=1e-6)


def test_affine_fit_sanity_triplet():
    a = np.arange(64.0)
    perfect = analysis.affine_fit(3.0 - 0.5 * a, a)
    assert perfect["abs_corr"] == pytest.approx(1.0) and perfect["fit_rmse"] < 1e-9
    assert perfect["slope"] == pytest.approx(-0.5) and perfect["intercept"] == pytest.approx(3)
    constant = analysis.affine_fit(np.full(64, 2.0), a)
    assert constant["abs_corr"] == 0.0
    folded = analysis.affine_fit(np.abs(a - 31.5), a)  # not injective: two positions per value
    assert folded["abs_corr"] < 0.1 and folded["fit_rmse"] > 10


def test_kernel_cosines_up_to_the_factor_and_live_taps():
    kernels = [np.array([1.0, 2.0, 1.0]) * b for b in (1.0, -3.0, 0.5)]
    kernels.append(np.array([7.0, 2.0, 1.0]))  # last level: the left tap reads only padding
    result = analysis.kernel_cosines(kernels)
    np.testing.assert_allclose(result["cosines"], [1.0, -1.0, 1.0, 1.0])
    assert result["min_abs_cosine"] == pytest.approx(1.0)
    assert result["cosines_all_taps"][-1] < 0.8
    assert analysis.kernel_cosines([np.array([0.0, 1.0, 1.0])] * 2)["cosines"][0] == \
        pytest.approx(3 / np.sqrt(12))


def test_evaluate_encoder_on_a_constant_encoder_fails_the_goals():
    model = zoo.position_encoder()
    for level in range(6):
        model.get_layer(f"enc_conv{level}").set_weights([np.zeros((3, 1, 1), "float32"),
                                                         np.ones((1,), "float32")])
    metrics = analysis.evaluate_encoder(model, n_test=20)
    assert metrics["abs_corr"] == 0.0 and not metrics["meets_goals"]


def test_evaluate_decoder_perfect_and_snapping_decoders():
    perfect = analysis.evaluate_decoder(perfect_decoder(), n_test=400)
    assert perfect["peak_rmse"] < 1e-4 and perfect["signal_mse"] < 1e-10
    assert perfect["meets_goal"] and perfect["outliers"] == 0
    # decoding only to the nearest integer (what one-hot training can at best give)
    snapping = analysis.evaluate_decoder(perfect_decoder(snap=True), n_test=4000)
    assert snapping["peak_rmse"] == pytest.approx(np.sqrt(1 / 12), abs=0.02)
    assert snapping["peak_rmse_integer"] < 1e-6


def test_figures_are_written(tmp_path):
    encoder = zoo.position_encoder()
    paths = analysis.figures_encoder(encoder, tmp_path)
    paths += analysis.figures_decoder(zoo.position_decoder(), tmp_path)
    assert len(paths) == 4 and all(p.is_file() and p.stat().st_size > 1000 for p in paths)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="method"):
        analysis.peak_positions(np.zeros((1, 8)), method="gaussian")
    with pytest.raises(ValueError, match="signals"):
        analysis.peak_positions(np.zeros(8))
    with pytest.raises(ValueError, match="enc_conv0"):
        analysis.encoder_kernels(zoo.position_decoder())
