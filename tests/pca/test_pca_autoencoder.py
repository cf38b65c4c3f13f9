"""The progressive PCA-like autoencoder: stages, freezing, saving (tiny 16x16)."""

import keras
import numpy as np
import pytest

from geomae_tf.datasets import ellipses
from geomae_tf.models.autoencoder import Autoencoder
from geomae_tf.models.pca import PCAAutoencoder, pca_autoencoder, plain_autoencoder
from geomae_tf.training.progressive import recalibrate_centring, train_progressive

SIZE = 16


def _data(n=128, batch_size=32, seed=0):
    return ellipses.training_dataset(batch_size=batch_size, n_train=n, seed=seed,
                                     image_size=SIZE, semi_axis_range=(1.0, 8.0))


def _images(n=64, seed=1):
    return ellipses.make_ellipses(n, seed=seed, image_size=SIZE,
                                  semi_axis_range=(1.0, 8.0))[0]


def _weights(model):
    return [np.array(w) for w in model.weights]


def test_factory_builds_every_stage_as_one_autoencoder():
    model = pca_autoencoder(latent_dim=3, image_size=SIZE)
    assert isinstance(model, Autoencoder)
    assert model.latent_dim == 3 and model.stage == 3 and model.n_stages == 3
    assert [int(d.inputs[0].shape[-1]) for d in model.stage_decoders] == [1, 2, 3]
    x = _images(4)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x)),
                               keras.ops.convert_to_numpy(model.decoder(model.encoder(x))),
                               atol=1e-6)


def test_factory_rejects_bad_arguments():
    with pytest.raises(ValueError, match="image_size"):
        pca_autoencoder(image_size=48)
    with pytest.raises(ValueError, match="latent_dim"):
        pca_autoencoder(latent_dim=0, image_size=SIZE)
    with pytest.raises(ValueError, match="encoder_depths"):
        pca_autoencoder(image_size=SIZE, encoder_depths=(8, 4))
    with pytest.raises(ValueError, match="lambda_cov"):
        pca_autoencoder(image_size=SIZE, lambda_cov=-1.0)
    with pytest.raises(ValueError, match="stage"):
        pca_autoencoder(latent_dim=2, image_size=SIZE).set_stage(3)


def test_stage_k_trains_only_the_new_unit_and_its_decoder():
    model = pca_autoencoder(latent_dim=3, image_size=SIZE, lambda_cov=10.0).set_stage(2)
    trainable = {id(v) for v in model.trainable_weights}
    expected = {id(v) for v in model.stage_encoders[1].trainable_weights
                + model.stage_decoders[1].trainable_weights}
    assert trainable == expected
    before = [_weights(m) for m in (model.stage_encoders + model.stage_decoders)]
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    model.fit(_data(), epochs=1, steps_per_epoch=2, verbose=0)
    after = [_weights(m) for m in (model.stage_encoders + model.stage_decoders)]
    changed = [any(not np.array_equal(a, b) for a, b in zip(x, y))
               for x, y in zip(before, after)]
    # encoders 1, 2, 3 then decoders 1, 2, 3: only E_2 (weights and its
    # centring statistics) and D_2 move; E_1 is frozen, its statistics too.
    assert changed == [False, True, False, False, True, False]


def test_the_covariance_loss_enters_from_the_second_stage():
    model = pca_autoencoder(latent_dim=2, image_size=SIZE, lambda_cov=5.0)
    x = _images(32)
    model.set_stage(1)
    model(x, training=True)
    assert model.losses == [] or float(sum(model.losses)) == 0.0
    model.set_stage(2)
    model(x, training=True)
    assert len(model.losses) == 1 and float(model.losses[0]) > 0.0


def test_keras_and_weights_round_trip(tmp_path):
    model = pca_autoencoder(latent_dim=2, image_size=SIZE)
    x = _images(8)
    expected = keras.ops.convert_to_numpy(model(x))
    model.save(tmp_path / "pca.keras")
    reloaded = keras.saving.load_model(tmp_path / "pca.keras")
    assert isinstance(reloaded, PCAAutoencoder) and reloaded.stage == 2
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reloaded(x)), expected, atol=1e-6)
    np.testing.assert_allclose(reloaded.encode(x), model.encode(x), atol=1e-6)

    model.save_weights(tmp_path / "pca.weights.h5")
    fresh = pca_autoencoder(latent_dim=2, image_size=SIZE)
    assert not np.allclose(keras.ops.convert_to_numpy(fresh(x)), expected, atol=1e-6)
    loaded = pca_autoencoder(latent_dim=2, image_size=SIZE,
                             weights=str(tmp_path / "pca.weights.h5"))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)), expected, atol=1e-6)
    # every stage travels: the stage-1 decoder too
    np.testing.assert_allclose(loaded.decode(model.encode(x)[:, :1]),
                               model.decode(model.encode(x)[:, :1]), atol=1e-6)


def test_progressive_training_freezes_and_centres_earlier_units():
    model = pca_autoencoder(latent_dim=2, image_size=SIZE, lambda_cov=1.0)
    data = _data()
    model, histories = train_progressive(model, data, epochs_per_stage=[2, 1],
                                         learning_rate=3e-3, verbose=0,
                                         recalibrate_steps=4)
    assert [len(h.history["loss"]) for h in histories] == [2, 1]
    assert model.stage == 2
    # After stage 2 the frozen unit 1 is centred (recalibrated on the data)
    # and the codes of the training images have zero mean, unit variance.
    images = np.concatenate([x.numpy() for x, _ in data])
    z = model.encode(images)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-3)
    np.testing.assert_allclose(z.std(axis=0), 1.0, atol=1e-2)


def test_recalibration_writes_the_measured_statistics():
    model = pca_autoencoder(latent_dim=1, image_size=SIZE)
    mean, var = recalibrate_centring(model, _data(), stage=1, steps=2)
    layer = model.stage_encoders[0].get_layer("centred")
    np.testing.assert_allclose(layer.moving_mean.numpy(), mean, rtol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(), var, rtol=1e-5)


def test_train_progressive_rejects_bad_schedules():
    with pytest.raises(ValueError, match="epochs_per_stage"):
        train_progressive(pca_autoencoder(latent_dim=2, image_size=SIZE), _data(),
                          epochs_per_stage=[1, 1, 1])
    with pytest.raises(TypeError, match="PCAAutoencoder"):
        train_progressive("model", _data(), epochs_per_stage=1)


def test_plain_autoencoder_matches_the_pca_decoder_shape():
    plain = plain_autoencoder(latent_dim=3, image_size=SIZE)
    pca = pca_autoencoder(latent_dim=3, image_size=SIZE)
    assert plain.latent_dim == 3
    assert [tuple(w.shape) for w in plain.decoder.weights] == [
        tuple(w.shape) for w in pca.decoder.weights]


def test_savedmodel_export_serves_every_signature(tmp_path):
    import tensorflow as tf

    from geomae_tf.export.saved_model import export_entry

    model = pca_autoencoder(latent_dim=2, image_size=SIZE)
    config = {"factory": "pca_autoencoder", "model": {"latent_dim": 2, "image_size": SIZE}}
    folder = export_entry(model, "pca_ae_tiny", root=tmp_path, version=1, config=config)
    served = tf.saved_model.load(str(folder))
    x = _images(3)
    z = model.encode(x)
    np.testing.assert_allclose(served.signatures["encode"](images=x)["z"].numpy(), z,
                               atol=1e-5)
    np.testing.assert_allclose(served.signatures["serving_default"](images=x)[
        "reconstruction"].numpy(), model.reconstruct(x), atol=1e-5)
    np.testing.assert_allclose(served.signatures["decode"](z=z)["reconstruction"].numpy(),
                               model.decode(z), atol=1e-5)
