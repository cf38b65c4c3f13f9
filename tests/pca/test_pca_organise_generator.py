"""Organising a frozen generator's latent space with a PCA-AE (talks, slides 42-47)."""

import keras
import numpy as np
import pytest

from geomae_tf.analysis.pca import organisation_report
from geomae_tf.models.pca.organise_generator import generator_head
from geomae_tf.training.organise_generator import organise_generator


def _linear_generator(m=4, side=6, scales=(3.0, 1.0, 0.3, 0.1)):
    """G(z) = reshape(W z): orthogonal directions of decreasing norm."""
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(side * side, m)))
    w = (q * np.asarray(scales)[None]).T.astype("float32")          # (m, side*side)
    z = keras.Input((m,))
    dense = keras.layers.Dense(side * side, use_bias=False, name="w")
    out = keras.layers.Reshape((side, side, 1))(dense(z))
    generator = keras.Model(z, out)
    dense.set_weights([w])
    return generator


def test_the_first_organised_axis_follows_the_most_important_direction():
    generator = _linear_generator()
    z0 = np.zeros(4, "float32")
    model, histories = organise_generator(generator, z0, sigma=1.0, latent_dim=2,
                                          lambda_cov=1.0, hidden=(16,), epochs_per_stage=2,
                                          steps_per_epoch=40, batch_size=128,
                                          learning_rate=1e-2, seed=0)
    assert len(histories) == 2
    report = organisation_report(model, generator, z0, sigma=1.0, n=500)
    # ordered: more axes reconstruct better, the first axis matters most
    assert report["mse_by_components"][1] < report["mse_by_components"][0]
    assert report["axis_importance"][0] > report["axis_importance"][1]
    # the raw axes' importance is the squared scale of each direction
    assert np.argmax(report["raw_axis_importance"]) == 0
    eta = np.random.default_rng(1).normal(size=(500, 4)).astype("float32")
    z = model.encode(eta)
    assert abs(np.corrcoef(z[:, 0], eta[:, 0])[0, 1]) > 0.9
    # the generator itself was not trained
    assert not generator.trainable


def test_generator_head_adds_the_centre_code():
    generator = _linear_generator()
    z0 = np.arange(4, dtype="float32")
    head = generator_head(generator, z0)
    eta = np.ones((2, 4), "float32")
    np.testing.assert_allclose(head.predict(eta, verbose=0),
                               generator.predict(eta + z0, verbose=0), atol=1e-5)


def test_bad_generator_arguments_raise():
    generator = _linear_generator()
    with pytest.raises(ValueError, match="z0"):
        organise_generator(generator, np.zeros(3), sigma=1.0)
    with pytest.raises(ValueError, match="sigma"):
        organise_generator(generator, np.zeros(4), sigma=0.0)
    with pytest.raises(TypeError, match="generator"):
        organise_generator("G", np.zeros(4), sigma=1.0)
