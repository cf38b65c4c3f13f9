"""The disk autoencoder of JMIV 2020, Table 1."""

import keras
import numpy as np
import pytest

from geomae_tf import zoo
from geomae_tf.datasets import disks


def _conv_depths(model):
    return [layer.filters for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def test_table_1_depths_and_one_number_code():
    ae = zoo.disk_autoencoder()
    assert _conv_depths(ae.encoder) == [8, 4, 4, 3, 2, 1]
    assert _conv_depths(ae.decoder) == [2, 3, 4, 4, 8, 1]
    assert all(layer.strides == (2, 2) for layer in ae.encoder.layers
               if isinstance(layer, keras.layers.Conv2D))
    assert all(layer.kernel_size == (3, 3) for layer in ae.encoder.layers + ae.decoder.layers
               if isinstance(layer, keras.layers.Conv2D))
    slopes = {layer.negative_slope for layer in ae.encoder.layers + ae.decoder.layers
              if isinstance(layer, keras.layers.LeakyReLU)}
    assert slopes == {0.2}
    x = disks.render_disks([5.0, 20.0]).numpy()
    assert ae.encode(x).shape == (2, 1)
    assert ae.reconstruct(x).shape == (2, 64, 64, 1)


def test_decoder_without_biases_is_positively_homogeneous():
    """Proposition 1: D(l z) = l D(z) for every l > 0 when there are no biases."""
    ae = zoo.disk_autoencoder(use_bias=False)
    assert not any("bias" in w.path for w in ae.weights)
    z = np.random.default_rng(0).normal(size=(5, 1)).astype("float32")
    d = ae.decode(z)
    for lam in (0.1, 2.0, 37.0):
        np.testing.assert_allclose(ae.decode(lam * z), lam * d, rtol=1e-4,
                                   atol=1e-5 * lam * np.abs(d).max())


def test_whole_autoencoder_round_trips_through_keras_file(tmp_path):
    ae = zoo.disk_autoencoder(latent_dim=2)
    x = disks.render_disks([3.0, 9.0, 30.0]).numpy()
    ae.save(tmp_path / "ae.keras")
    back = keras.saving.load_model(tmp_path / "ae.keras")
    np.testing.assert_allclose(back.reconstruct(x), ae.reconstruct(x), atol=1e-6)
    np.testing.assert_allclose(back.encode(x), ae.encode(x), atol=1e-6)
    assert back.latent_dim == 2


@pytest.mark.parametrize("kwargs, message", [
    ({"image_size": 48}, "`image_size` must be 2 \\*\\* "),
    ({"latent_dim": 0}, "`latent_dim` must be"),
    ({"use_bias": "no"}, "`use_bias` must be a bool"),
    ({"upsampling": "cubic"}, "`upsampling` must be one of"),
    ({"weights": "not_an_entry"}, "`weights` must be None, a zoo entry"),
])
def test_bad_factory_arguments_are_named(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        zoo.disk_autoencoder(**kwargs)


@pytest.mark.parametrize("images, message", [
    (np.zeros((64, 64, 1), "float32"), "rank 4"),
    (np.zeros((2, 32, 32, 1), "float32"), "64x64"),
    (np.zeros((2, 64, 64, 3), "float32"), "1 channel"),
    (np.zeros((2, 64, 64, 1), "uint8"), "not integers"),
    (np.full((2, 64, 64, 1), 255.0, "float32"), "values in \\[0.0, 1.0\\]"),
    (np.full((2, 64, 64, 1), np.nan, "float32"), "NaN"),
])
def test_bad_images_get_a_clear_error(images, message):
    ae = zoo.disk_autoencoder()
    with pytest.raises((ValueError, TypeError), match=f"`images`.*{message}|{message}"):
        ae.encode(images)


def test_bad_codes_get_a_clear_error():
    ae = zoo.disk_autoencoder()
    with pytest.raises(ValueError, match="`z` must have 1 column"):
        ae.decode(np.zeros((3, 2), "float32"))
