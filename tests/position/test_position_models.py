"""The position family's factories: encoder, decoder and autoencoder (JMIV 2020, section 5)."""

import keras
import numpy as np
import pytest

from geomae_tf import zoo
from geomae_tf.analysis import position as analysis
from geomae_tf.layers.dirac_position_encoder import DiracPositionEncoder
from geomae_tf.models.position import PositionAutoencoder, position_autoencoder


def set_kernels(model, kernel, bias=0.0):
    for level in range(6):
        layer = model.get_layer(f"enc_conv{level}")
        weights = [np.asarray(kernel, "float32").reshape(3, 1, 1)]
        if layer.use_bias:
            weights.append(np.full((1,), bias, "float32"))
        layer.set_weights(weights)


def test_factories_registered_with_contract_names():
    encoder = zoo.FACTORIES["position_encoder"]()
    decoder = zoo.FACTORIES["position_decoder"]()
    assert encoder.inputs[0].name == "signals" and tuple(encoder.inputs[0].shape) == (None, 64, 1)
    assert tuple(encoder.outputs[0].shape) == (None, 1)
    assert decoder.inputs[0].name == "position" and tuple(decoder.outputs[0].shape) == (None, 64, 1)


def test_strided_encoder_with_121_kernels_is_the_handcrafted_network():
    # Same padding and subsampling as Table 2: with b [1, 2, 1] kernels and no
    # bias, the trained architecture computes exactly DiracPositionEncoder,
    # leaky ReLUs included (every activation is >= 0).
    model = zoo.position_encoder(use_bias=False)
    set_kernels(model, [0.5, 1.0, 0.5])
    x = np.eye(64, dtype="float32")[:, :, None]
    out = np.asarray(model(x))[:, 0]
    np.testing.assert_allclose(out, 0.5 ** 6 * (64 - np.arange(64)), rtol=1e-6)
    np.testing.assert_allclose(out, np.asarray(DiracPositionEncoder(6, 0.5)(x))[:, 0, 0],
                               rtol=1e-6)
    metrics = analysis.evaluate_encoder(model, n_test=50)
    assert metrics["min_abs_cosine"] > 0.9999 and metrics["abs_corr"] > 0.99999
    assert metrics["meets_goals"]


def test_output_scale_keeps_sample_units():
    model = zoo.position_encoder(use_bias=False, output_scale=-1.0)
    set_kernels(model, [1.0, 2.0, 1.0])
    out = np.asarray(model(np.eye(64, dtype="float32")[:, :, None]))[:, 0]
    np.testing.assert_allclose(out, np.arange(64) - 64.0)


def test_max_pooling_encoder_shape_and_names():
    model = zoo.position_encoder(pooling="max")
    names = [layer.name for layer in model.layers]
    assert "enc_maxpool5" in names and not any(n.startswith("enc_pad") for n in names)
    assert tuple(model.outputs[0].shape) == (None, 1)


def test_decoder_without_bias_is_positively_homogeneous_in_the_code():
    # Proposition 1 (JMIV 2020): D(l z) = l D(z), l > 0, with no bias.
    decoder = zoo.position_decoder(use_bias=False, normalize_input=False)
    z = np.array([[0.3], [-1.2]], "float32")
    np.testing.assert_allclose(np.asarray(decoder(2.5 * z)), 2.5 * np.asarray(decoder(z)),
                               rtol=1e-5, atol=1e-6)


def test_decoder_depths_and_upsampling_options():
    decoder = zoo.position_decoder(n=16, depths=(1, 3, 5, 2), upsampling="nearest")
    assert tuple(decoder.outputs[0].shape) == (None, 16, 1)
    assert tuple(decoder.get_layer("dec_conv2").kernel.shape) == (3, 5, 2)
    assert tuple(decoder.get_layer("dec_conv3").kernel.shape) == (3, 2, 1)
    zeros = zoo.position_decoder(n=16, depths=(1, 3, 5, 2), upsampling="zeros")
    assert tuple(zeros(np.zeros((2, 1), "float32")).shape) == (2, 16, 1)


def test_autoencoder_variant(tmp_path):
    ae = zoo.position_encoder(supervised=False)
    assert isinstance(ae, PositionAutoencoder) and ae.latent_dim == 1
    x = np.eye(64, dtype="float32")[:, :, None]
    assert ae.encode(x).shape == (64, 1) and ae.reconstruct(x[:3]).shape == (3, 64, 1)
    ae.compile(optimizer="adam", loss="mse")
    ae.fit(x, x, epochs=1, batch_size=64, verbose=0)
    path = tmp_path / "ae.keras"
    ae.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_allclose(reloaded.encode(x), ae.encode(x), rtol=1e-6)
    with pytest.raises(ValueError, match="length 64"):
        ae.encode(np.zeros((2, 32, 1), "float32"))


def test_weights_round_trip(tmp_path):
    model = zoo.position_decoder()
    path = tmp_path / "d.weights.h5"
    model.save_weights(path)
    again = zoo.position_decoder(weights=str(path))
    p = np.array([[3.5]], "float32")
    np.testing.assert_allclose(np.asarray(again(p)), np.asarray(model(p)))
    same = position_autoencoder()
    assert isinstance(same, PositionAutoencoder)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="power of two"):
        zoo.position_encoder(n=48)
    with pytest.raises(ValueError, match="pooling"):
        zoo.position_encoder(pooling="average")
    with pytest.raises(TypeError, match="supervised"):
        zoo.position_encoder(supervised="yes")
    with pytest.raises(ValueError, match="output_scale"):
        zoo.position_encoder(output_scale=0)
    with pytest.raises(ValueError, match="supervised encoder only"):
        zoo.position_encoder(supervised=False, output_offset=64.0)
    with pytest.raises(ValueError, match="2 \\*\\* len\\(depths\\)"):
        zoo.position_decoder(n=32)
    with pytest.raises(ValueError, match="depths\\[0\\]"):
        zoo.position_decoder(depths=(2, 2, 4, 4, 4, 8))
    with pytest.raises(ValueError, match="upsampling"):
        zoo.position_decoder(upsampling="bilinear")


def test_handcrafted_network_returns_the_position(tmp_path):
    from geomae_tf.models.position import dirac_position_network

    model = dirac_position_network(64, scale=-0.5)
    assert not model.trainable_weights
    x = np.eye(64, dtype="float32")[:, :, None]
    np.testing.assert_allclose(np.asarray(model(x))[:, 0], np.arange(64), atol=1e-5)
    inverted = dirac_position_network(16, inverted=True)
    np.testing.assert_array_equal(
        np.asarray(inverted(np.eye(16, dtype="float32")[:, :, None]))[:, 0], 16 - np.arange(16))
    path = tmp_path / "handcrafted.keras"
    model.save(path)
    np.testing.assert_allclose(np.asarray(keras.saving.load_model(path)(x)),
                               np.asarray(model(x)))
    with pytest.raises(ValueError, match="enc_conv0"):  # no learned kernels to analyse
        analysis.evaluate_encoder(model, n_test=10)


@pytest.mark.parametrize("entry", ["position_encoder_1d", "position_decoder_1d"])
def test_savedmodel_signature_names_match_the_contract(entry, tmp_path):
    import tensorflow as tf

    from geomae_tf.export.saved_model import export_entry

    spec = zoo.ENTRIES[entry]["signature"]
    if entry == "position_encoder_1d":
        model = zoo.position_encoder(output_scale=-1.0, output_offset=64.0)
        x = np.eye(64, dtype="float32")[:4, :, None]
    else:
        model = zoo.position_decoder()
        x = np.array([[3.3], [40.0]], "float32")
    folder = export_entry(model, entry, root=tmp_path, version=1, config={}, signature=spec)
    serving = tf.saved_model.load(str(folder)).signatures["serving_default"]
    out = serving(**{spec["input"]: tf.constant(x)})[spec["output"]].numpy()
    np.testing.assert_allclose(out, np.asarray(model(x)), atol=1e-6)
