"""CentredLatent and CovarianceLoss (PCA-AE talks, eq. 14-17)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from geomae_tf.layers.centred_latent import CentredLatent
from geomae_tf.layers.covariance_loss import CovarianceLoss, covariance_penalty
from tests.harness import check_layer


def _independent_codes(m=4096, k=3, seed=0):
    z = np.random.default_rng(seed).normal(size=(m, k))
    # Exactly decorrelated and centred on the batch (Gram-Schmidt of the columns).
    q, _ = np.linalg.qr(z - z.mean(axis=0))
    return (q * np.sqrt(m)).astype("float32")


def test_centred_latent_harness(tmp_path):
    check_layer(CentredLatent(), (3,), tmp_path)


def test_centred_latent_has_no_trainable_parameter_and_centres_the_batch():
    layer = CentredLatent()
    z = np.random.default_rng(0).normal(5.0, 3.0, (512, 2)).astype("float32")
    out = keras.ops.convert_to_numpy(layer(z, training=True))
    assert layer.trainable_weights == []
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=0), 1.0, atol=1e-3)


def test_frozen_centred_latent_uses_its_moving_statistics():
    layer = CentredLatent(momentum=0.0)          # moving stats = last batch's
    z = np.random.default_rng(1).normal(2.0, 4.0, (256, 1)).astype("float32")
    layer(z, training=True)
    layer.trainable = False
    shifted = z + 10.0
    out = keras.ops.convert_to_numpy(layer(shifted, training=True))
    # Frozen: normalised by the stored statistics, so the shift survives.
    assert out.mean() == pytest.approx(10.0 / z.std(), rel=1e-2)


def test_centred_latent_rejects_bad_momentum():
    with pytest.raises(ValueError, match="momentum"):
        CentredLatent(momentum=1.0)


def test_covariance_loss_harness(tmp_path):
    check_layer(CovarianceLoss(weight=0.5), (3,), tmp_path)


@pytest.mark.parametrize("mode", ["newest", "all"])
@pytest.mark.parametrize("subtract_mean", [True, False])
def test_covariance_penalty_is_zero_for_independent_codes(mode, subtract_mean):
    z = _independent_codes()
    value = float(covariance_penalty(tf.constant(z), mode, subtract_mean))
    assert value == pytest.approx(0.0, abs=1e-8)


def test_covariance_penalty_is_the_squared_covariance_for_correlated_codes():
    rng = np.random.default_rng(2)
    a = rng.normal(size=20000)
    z = np.stack([a, 0.6 * a + 0.8 * rng.normal(size=20000)], axis=1).astype("float32")
    value = float(covariance_penalty(tf.constant(z), "newest"))
    expected = np.cov(z.T, bias=True)[0, 1] ** 2
    assert value == pytest.approx(expected, rel=1e-4)
    assert value > 0.3                                # cov ~ 0.6


def test_covariance_penalty_subtracts_the_means():
    z = _independent_codes(k=2) + np.array([3.0, -2.0], "float32")
    assert float(covariance_penalty(tf.constant(z), subtract_mean=True)) < 1e-8
    # eq. 15 assumes zero-mean codes: (E[z1 z2])^2 = (3 * -2)^2 here.
    assert float(covariance_penalty(tf.constant(z), subtract_mean=False)) == pytest.approx(
        36.0, rel=1e-4)


def test_newest_mode_averages_over_the_earlier_components():
    base = _independent_codes(k=3, seed=3)
    z = base.copy()
    z[:, 2] = 0.5 * base[:, 0] + np.sqrt(0.75) * base[:, 2]   # cov(z1, z3) = 0.5, cov(z2, z3) = 0
    value = float(covariance_penalty(tf.constant(z), "newest"))
    assert value == pytest.approx((0.5 ** 2 + 0.0) / 2, rel=1e-3)


def test_gradient_reaches_only_the_newest_unit():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(256, 1))
    z = tf.Variable(np.concatenate([a, rng.normal(size=(256, 1)), a + rng.normal(size=(256, 1))],
                                   axis=1).astype("float32"))
    with tf.GradientTape() as tape:
        loss = covariance_penalty(z, "newest")
    grad = tape.gradient(loss, z).numpy()
    assert np.all(grad[:, :2] == 0.0)
    assert np.abs(grad[:, 2]).max() > 1e-4


def test_covariance_loss_adds_weighted_penalty_and_returns_codes_unchanged():
    z = np.random.default_rng(5).normal(size=(128, 2)).astype("float32")
    z[:, 1] += z[:, 0]
    layer = CovarianceLoss(weight=3.0)
    out = layer(z)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(out), z)
    (loss,) = layer.losses
    assert float(loss) == pytest.approx(3.0 * float(covariance_penalty(tf.constant(z))),
                                        rel=1e-5)


def test_covariance_loss_enters_the_training_loss():
    inputs = keras.Input((2,))
    model = keras.Model(inputs, CovarianceLoss(weight=2.0)(inputs))
    model.compile(loss="mse")
    z = np.random.default_rng(6).normal(size=(64, 2)).astype("float32")
    z[:, 1] = z[:, 0]
    loss = model.evaluate(z, z, batch_size=64, verbose=0)
    assert loss == pytest.approx(2.0 * float(covariance_penalty(tf.constant(z))), rel=1e-4)


def test_covariance_loss_rejects_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        CovarianceLoss(mode="pairs")
    with pytest.raises(ValueError, match="weight"):
        CovarianceLoss(weight=-1.0)
    with pytest.raises(TypeError, match="subtract_mean"):
        CovarianceLoss(subtract_mean="yes")
