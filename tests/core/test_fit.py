"""Training in Python: `fit` on a fresh factory model, data checked as
`encode` checks it."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from geomae_tf import zoo
from geomae_tf.datasets import disks

SIZE16 = dict(image_size=16, depths=(8, 4, 4))


def _disks(n=96, seed=0):
    radii = np.random.default_rng(seed).uniform(1.0, 8.0, n)
    return disks.render_disks(radii, image_size=16).numpy()


def test_fit_on_a_fresh_model_compiles_the_recipes_default_and_learns():
    x = _disks()
    ae = zoo.disk_autoencoder(**SIZE16)
    assert not ae.compiled
    history = ae.fit(x, x, epochs=4, batch_size=16, verbose=0)
    assert ae.compiled
    assert isinstance(ae.optimizer, keras.optimizers.Adam)
    assert float(ae.optimizer.learning_rate) == pytest.approx(1e-3)
    assert isinstance(ae.loss, keras.losses.MeanSquaredError)
    losses = history.history["loss"]
    assert losses[-1] < losses[0]
    # fit(x) alone trains to reconstruct x, and a user's own compile is kept.
    ae2 = zoo.disk_autoencoder(**SIZE16)
    ae2.compile(optimizer=keras.optimizers.SGD(0.5), loss="mae")
    ae2.fit(x, epochs=1, batch_size=32, verbose=0)
    assert isinstance(ae2.optimizer, keras.optimizers.SGD)
    assert int(ae2.optimizer.iterations) == 3


def test_fit_refuses_out_of_range_data_as_encode_does():
    x255 = _disks(32) * 255.0
    ae = zoo.disk_autoencoder(**SIZE16)
    with pytest.raises(ValueError) as from_encode:
        ae.encode(x255)
    with pytest.raises(ValueError) as from_fit:
        ae.fit(x255, x255, epochs=1, verbose=0)
    assert "must have values in [0.0, 1.0]" in str(from_fit.value)
    assert str(from_fit.value).endswith(", 255]") and "Received: x with values" in str(
        from_fit.value)
    assert str(from_fit.value).replace("`x`", "`images`").replace(
        "x with", "images with") == str(from_encode.value)
    assert int(ae.optimizer.iterations) == 0  # refused before any step
    good = _disks(32)
    with pytest.raises(ValueError, match="`y` must have values in"):
        ae.fit(good, x255, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="`validation_data` must have values in"):
        ae.fit(good, good, validation_data=(x255, x255), epochs=1, verbose=0)
    ds = tf.data.Dataset.from_tensor_slices((x255, x255)).batch(8)
    with pytest.raises(ValueError, match="`x` must have values in"):
        ae.fit(ds, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"`x` must be 16x16 images"):
        ae.fit(np.zeros((4, 32, 32, 1), np.float32), epochs=1, verbose=0)


def test_a_fresh_pca_autoencoder_says_what_to_call():
    ae = zoo.pca_autoencoder(latent_dim=2, image_size=16)
    with pytest.raises(RuntimeError, match=r"stage by stage.*train_progressive\(model, x"):
        ae.fit(_disks(8), epochs=1, verbose=0)
