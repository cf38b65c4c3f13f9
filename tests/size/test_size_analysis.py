"""Per-band evaluation and the learned-profile analysis of the size study."""

import keras
import numpy as np
import pytest

from geomae_tf import zoo
from geomae_tf.analysis import airy
from geomae_tf.analysis import disk as disk_analysis
from geomae_tf.datasets import disks
from geomae_tf.models.autoencoder import Autoencoder


def test_band_mask_takes_pairs_and_unions_as_toml_gives_them():
    r = np.array([0.5, 5.0, 11.0, 17.9, 18.0, 30.0])
    np.testing.assert_array_equal(disk_analysis.band_mask(r, [11, 18]),
                                  [False, False, True, True, False, False])
    np.testing.assert_array_equal(disk_analysis.band_mask(r, [[1, 11], [18, 31]]),
                                  [False, True, False, False, True, True])
    with pytest.raises(ValueError, match="`bands` values must be"):
        disk_analysis.band_mask(r, [18, 11])


def test_band_mses_split_the_overall_mse():
    keras.utils.set_random_seed(0)
    ae = zoo.disk_autoencoder()
    m = disk_analysis.evaluate(ae, n_test=60, n_samples=32,
                               bands={"hole": [11.0, 18.0],
                                      "observed": [[1.0, 11.0], [18.0, 31.0]]})
    _, factors = disks.make_disks(60, seed=20_201, radius_range=(1.0, 31.0))
    share = disk_analysis.band_mask(factors["radius"], [11.0, 18.0]).mean()
    assert 0 < share < 1
    assert m["mse"] == pytest.approx(share * m["mse_hole"] + (1 - share) * m["mse_observed"],
                                     rel=1e-5)
    assert m["hole_over_observed"] == pytest.approx(m["mse_hole"] / m["mse_observed"])


def _linear_airy_autoencoder(size=64):
    """E(x) = <f, x>, D(z) = z f with f the Airy optimum: the ideal bias-free network."""
    f = airy.airy_profile(disks.pixel_distances(size), 32.0).astype("float32").reshape(-1)
    f = f / np.linalg.norm(f)
    images = keras.Input((size, size, 1))
    enc = keras.layers.Dense(1, use_bias=False)
    encoder = keras.Model(images, enc(keras.layers.Flatten()(images)))
    code = keras.Input((1,))
    dec = keras.layers.Dense(size * size, use_bias=False)
    decoder = keras.Model(code, keras.layers.Reshape((size, size, 1))(dec(code)))
    enc.kernel.assign(f[:, None])
    dec.kernel.assign(f[None, :])
    return Autoencoder(encoder, decoder)


def test_compare_with_network_recognises_the_ideal_decoder():
    c = airy.compare_with_network(_linear_airy_autoencoder(), R=32.0, n=60, n_samples=32)
    assert c["corr_learned_airy"] > 0.9999
    assert c["cosine_learned_airy_2d"] > 0.9999
    assert c["r2_z_vs_inner"] > 0.9999 and c["r2_z_vs_inner_origin"] > 0.9999
    assert c["output_spread"] < 1e-5 and c["fraction_dominant_sign"] == 1.0
    assert c["corr_airy_discrete"] > 0.99
    # A narrow Gaussian decoding profile is far from the optimum.
    other = _linear_airy_autoencoder()
    gauss = np.exp(-disks.pixel_distances(64) ** 2 / 72.0).reshape(1, -1)
    other.decoder.layers[-2].kernel.assign(gauss.astype("float32"))
    assert airy.compare_with_network(other, n=60, n_samples=32)["corr_learned_airy"] < 0.9


def test_untrained_bias_free_network_already_decodes_as_h_times_f():
    """Eq. (5) holds by Proposition 1: outputs of one code sign are scaled copies."""
    keras.utils.set_random_seed(3)
    ae = zoo.disk_autoencoder(use_bias=False)
    learned = airy.learned_profile(ae, n=40, n_samples=32)
    assert learned["spread"] < 1e-4
    assert learned["fraction_dominant_sign"] >= 0.5
    np.testing.assert_allclose(np.linalg.norm(learned["image"]), 1.0, rtol=1e-6)
