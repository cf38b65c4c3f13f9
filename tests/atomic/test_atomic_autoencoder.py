"""The atomic autoencoder of Newson and Traonmilin 2023, section 2.3."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import geomae_tf
from geomae_tf.datasets import spikes
from geomae_tf.layers.atomic_decoder import AtomicDecoder
from geomae_tf.models.atomic import AtomicAutoencoder, atomic_autoencoder
from geomae_tf.layers.upsample_conv2d import UpsampleConv2D
from geomae_tf.models.atomic.atomic_autoencoder import atomic_block, block_channels


def layer_types(model, cls):
    return [layer for layer in model.layers if isinstance(layer, cls)]


def conv_channels(block):
    """Output channels of the block's convolutions, in order (fused or not)."""
    return [layer.filters for layer in block.layers
            if isinstance(layer, (keras.layers.Conv2D, UpsampleConv2D))]


@pytest.mark.parametrize("size, channels", [(64, (8, 8, 8, 16, 32)),
                                            (128, (8, 8, 8, 8, 16, 32))])
@pytest.mark.parametrize("upsampling", ["nearest", "bilinear"])
def test_architecture_of_section_2_3(size, channels, upsampling):
    assert block_channels(size) == channels
    ae = atomic_autoencoder(k=10, d0=3, image_size=size, upsampling=upsampling)
    convs = layer_types(ae.encoder, keras.layers.Conv2D)
    assert [c.filters for c in convs] == [32, 16, 8, 8]
    assert all(c.strides == (2, 2) and c.kernel_size == (3, 3) for c in convs)
    assert len(layer_types(ae.encoder, keras.layers.Dense)) == 2
    assert ae.latent_dim == 30
    g = ae.block
    assert len(layer_types(g, keras.layers.Dense)) == 2
    assert tuple(g.get_layer("g_reshape").output.shape[1:]) == (2, 2, 8)
    # log2(size) - 1 layers [conv, upsample x2, leaky ReLU], then a conv to 1 channel.
    assert conv_channels(g) == list(channels) + [1]
    n_upsamplings = (len(layer_types(g, keras.layers.UpSampling2D))
                     + len(layer_types(g, UpsampleConv2D)))
    assert n_upsamplings == len(channels) == np.log2(size) - 1
    assert tuple(g.output.shape[1:]) == (size, size, 1)
    lrelus = layer_types(ae.encoder, keras.layers.LeakyReLU) + layer_types(
        g, keras.layers.LeakyReLU)
    assert all(abs(lr.negative_slope - 0.2) < 1e-7 for lr in lrelus)


def test_fused_block_is_the_literal_conv_upsample_lrelu_stack():
    """The nearest block equals [conv, upsample, leaky ReLU] x L + conv, weight for weight."""
    size = 32
    g = atomic_block(d0=3, image_size=size)
    code = keras.Input((3,))
    y = code
    dense = layer_types(g, keras.layers.Dense)
    convs = [layer for layer in g.layers
             if isinstance(layer, (keras.layers.Conv2D, UpsampleConv2D))]
    for layer in dense:
        y = keras.layers.LeakyReLU(0.2)(keras.layers.Dense(layer.units)(y))
    y = keras.layers.Reshape((2, 2, 8))(y)
    literal = []
    for layer in convs:
        conv = keras.layers.Conv2D(layer.filters, 3, padding="same")
        literal.append(conv)
        y = conv(y)
        if layer is not convs[-1]:
            y = keras.layers.LeakyReLU(0.2)(keras.layers.UpSampling2D(2)(y))
    reference = keras.Model(code, y)
    for src, dst in zip(dense + convs, layer_types(reference, keras.layers.Dense) + literal):
        dst.set_weights(src.get_weights())
    z = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(g(z)),
                               keras.ops.convert_to_numpy(reference(z)), atol=1e-5)


def test_parameter_counts():
    # The paper's "around 300,000" is the 128-pixel model; the weights of the
    # shared block are counted once whatever k is.
    assert atomic_autoencoder(image_size=64).count_params() == 36_103
    assert atomic_autoencoder(image_size=128).count_params() == 294_351
    one = atomic_autoencoder(k=1, d0=3, image_size=64)
    many = atomic_autoencoder(k=40, d0=3, image_size=64)
    assert one.block.count_params() == many.block.count_params() == 9_033
    assert many.decoder.count_params() == many.block.count_params()


def test_registered_factory_and_public_attributes():
    # the zoo's factory is this one, taking the architecture of saved weights
    assert geomae_tf.zoo.FACTORIES["atomic_autoencoder"].__wrapped__ is atomic_autoencoder
    ae = geomae_tf.zoo.atomic_autoencoder(k=4, d0=2, image_size=16)
    assert isinstance(ae, AtomicAutoencoder)
    assert isinstance(ae, geomae_tf.models.Autoencoder)
    assert (ae.k, ae.d0, ae.latent_dim, ae.image_shape) == (4, 2, 8, (16, 16, 1))
    assert ae.block is ae.decoder.layers[-1].block
    assert isinstance(ae.decoder.layers[-1], AtomicDecoder)


def test_atoms_sum_to_the_reconstruction():
    ae = atomic_autoencoder(k=5, d0=3, image_size=32)
    images, _ = spikes.make_spikes(6, seed=1, image_size=32, sigma=1.0)
    atoms = ae.atoms(images, refine=False)
    assert atoms.shape == (6, 5, 32, 32, 1)
    np.testing.assert_allclose(atoms.sum(axis=1), ae.reconstruct(images), atol=1e-5)
    z = ae.encode(images)
    np.testing.assert_allclose(ae.atoms_from_codes(z), atoms, atol=1e-6)
    tensor_atoms = keras.ops.convert_to_numpy(ae.decode_atoms(z))
    np.testing.assert_allclose(tensor_atoms, atoms, atol=1e-6)


def test_a_few_fit_steps_on_spikes_stay_finite():
    ae = atomic_autoencoder(k=3, d0=3, image_size=16)
    ae.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    data = spikes.training_dataset(batch_size=8, image_size=16, sigma=1.0, max_spikes=3)
    history = ae.fit(data, epochs=1, steps_per_epoch=3, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"][-1])


def test_keras_file_and_weights_round_trip(tmp_path):
    ae = atomic_autoencoder(k=3, d0=2, image_size=16)
    images, _ = spikes.make_spikes(3, seed=2, image_size=16, sigma=1.0, max_spikes=3)
    path = tmp_path / "atomic.keras"
    ae.save(path)
    reloaded = keras.saving.load_model(path)
    assert isinstance(reloaded, AtomicAutoencoder)
    np.testing.assert_array_equal(reloaded.atoms(images), ae.atoms(images))
    weights = tmp_path / "atomic.weights.h5"
    ae.save_weights(weights)
    rebuilt = atomic_autoencoder(k=3, d0=2, image_size=16, weights=str(weights))
    np.testing.assert_array_equal(rebuilt.reconstruct(images), ae.reconstruct(images))


def test_export_serves_the_refined_atoms_and_the_encoder_atoms(tmp_path):
    """`atoms` is the model's refined decomposition with its stored options,
    computed in the graph; `encoder_atoms` the one-pass atoms, which sum to
    `serving_default`'s reconstruction (Newson and Traonmilin 2023, eq. 3)."""
    from geomae_tf import zoo
    from geomae_tf.export.saved_model import export_entry

    ae = atomic_autoencoder(k=3, d0=2, image_size=16)
    images, _ = spikes.make_spikes(3, seed=3, image_size=16, sigma=1.0, max_spikes=3)
    options = {"rounds": 1, "steps": 2, "merge_distance": 2.0}
    folder = export_entry(ae, "atomic_tiny", root=tmp_path / "saved",
                          config={"factory": "atomic_autoencoder",
                                  "model": {"k": 3, "d0": 2, "image_size": 16,
                                            "refine": options}})
    stored = json.loads((folder / "atomic_tiny.json").read_text())
    assert stored["model"]["refine"] == options
    assert ae.refine == options
    loaded = tf.saved_model.load(str(folder))
    assert {"serving_default", "encode", "decode", "atoms", "encoder_atoms"} <= set(
        loaded.signatures)
    served = loaded.signatures["atoms"](images=tf.constant(images))["atoms"].numpy()
    np.testing.assert_allclose(served, ae.atoms(images), atol=1e-4)
    one_pass = loaded.signatures["encoder_atoms"](images=tf.constant(images))["atoms"].numpy()
    np.testing.assert_allclose(one_pass, ae.atoms(images, refine=False), atol=1e-5)
    recon = loaded.signatures["serving_default"](images=tf.constant(images))
    np.testing.assert_allclose(recon["reconstruction"].numpy(), one_pass.sum(axis=1),
                               atol=1e-5)
    # The Keras side rebuilt from the entry's files gives the same default answer.
    rebuilt = zoo.atomic_autoencoder(**stored["model"],
                                     weights=str(folder / "atomic_tiny.weights.h5"))
    assert rebuilt.refine == options
    np.testing.assert_allclose(rebuilt.atoms(images), served, atol=1e-4)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"image_size": 48}, ValueError, r"`image_size` must be a power of two >= 16"),
    ({"image_size": 8}, ValueError, r"`image_size` must be an int >= 16"),
    ({"k": 0}, ValueError, r"`k` must be an int >= 1. Received: k=0"),
    ({"d0": 1.5}, TypeError, r"`d0` must be an int"),
    ({"upsampling": "cubic"}, ValueError, r"`upsampling` must be one of"),
    ({"weights": "missing.h5"}, ValueError, r"`weights` must be None, a zoo entry"),
])
def test_bad_arguments_raise(kwargs, error, match):
    # the public factory (geomae_tf.zoo), which also resolves zoo entry names
    with pytest.raises(error, match=match):
        geomae_tf.zoo.atomic_autoencoder(**{"image_size": 16, **kwargs})


def test_bad_images_raise_in_the_numpy_api():
    ae = atomic_autoencoder(k=2, d0=3, image_size=16)
    with pytest.raises(ValueError, match=r"`images` must be 16x16 images"):
        ae.atoms(np.zeros((2, 32, 32, 1), np.float32))
    with pytest.raises(ValueError, match=r"`z` must have 6 column"):
        ae.atoms_from_codes(np.zeros((2, 5), np.float32))


def test_decoder_must_end_with_an_atomic_decoder():
    ae = atomic_autoencoder(k=2, d0=3, image_size=16)
    z = keras.Input((6,))
    plain = keras.Model(z, keras.layers.Reshape((16, 16, 1))(keras.layers.Dense(256)(z)))
    with pytest.raises(ValueError, match="must end with an `AtomicDecoder`"):
        AtomicAutoencoder(ae.encoder, plain)
