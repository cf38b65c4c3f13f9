"""The VAE / beta-VAE baselines of the PCA-AE comparison (JMIV 2022, section 5)."""

import keras
import numpy as np
import pytest

from geomae_tf.analysis import disentanglement
from geomae_tf.datasets import grey_disks
from geomae_tf.layers import GaussianSampling
from geomae_tf.models.pca import plain_autoencoder, vae
from tests.harness import check_layer


def test_gaussian_sampling_passes_the_layer_harness(tmp_path):
    check_layer(GaussianSampling(kl_weight=0.5, seed=3), (6,), tmp_path)


def test_kl_term_is_the_closed_form_and_zero_at_the_prior():
    layer = GaussianSampling(kl_weight=2.0, seed=0)
    layer(np.zeros((4, 4), "float32"), training=True)          # mu = 0, log_var = 0
    assert float(layer.losses[0]) == pytest.approx(0.0, abs=1e-7)
    mu = np.array([[1.0, -2.0], [0.5, 0.0]], "float32")
    log_var = np.array([[0.0, np.log(4.0)], [-1.0, 1.0]], "float32")
    layer(np.concatenate([mu, log_var], axis=1), training=True)
    kl = -0.5 * np.sum(1 + log_var - mu ** 2 - np.exp(log_var), axis=1)
    assert float(layer.losses[0]) == pytest.approx(2.0 * kl.mean(), rel=1e-5)
    assert float(layer.losses[0]) > 0


def test_sampling_is_reparameterised_in_training_and_the_mean_otherwise():
    layer = GaussianSampling(seed=1)
    n = 20_000
    x = np.tile(np.array([[3.0, np.log(4.0)]], "float32"), (n, 1))   # N(3, 2^2)
    z = keras.ops.convert_to_numpy(layer(x, training=True))[:, 0]
    assert z.mean() == pytest.approx(3.0, abs=0.05)
    assert z.std() == pytest.approx(2.0, abs=0.05)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x, training=False)),
                                  np.full((n, 1), 3.0, "float32"))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="kl_weight"):
        GaussianSampling(kl_weight=-1.0)
    with pytest.raises(ValueError, match="even number of input features"):
        GaussianSampling()(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="beta"):
        vae(beta=-0.5)
    with pytest.raises(ValueError, match="dataset"):
        disentanglement.dataset_scores("mnist", None)


def test_vae_has_the_plain_autoencoders_shapes_and_a_deterministic_code(tmp_path):
    keras.utils.set_random_seed(0)
    model, plain = vae(latent_dim=3, beta=4.0, seed=0), plain_autoencoder(latent_dim=3)
    conv = [layer.filters for layer in model.encoder.layers if hasattr(layer, "filters")]
    plain_conv = [layer.filters for layer in plain.encoder.layers if hasattr(layer, "filters")]
    assert conv[:-1] == plain_conv[:-1] and conv[-1] == 2 * plain_conv[-1]  # (mu, log_var)
    assert model.decoder.count_params() == plain.decoder.count_params()
    assert model.get_layer("encoder").get_layer("sampling").kl_weight == pytest.approx(4 / 64 ** 2)
    x = grey_disks.make_grey_disks(16, seed=0)[0]
    np.testing.assert_array_equal(model.encode(x), model.encode(x))
    path = tmp_path / "vae.keras"
    model.save(path)
    again = keras.saving.load_model(path)
    np.testing.assert_allclose(again.reconstruct(x), model.reconstruct(x), atol=1e-6)


def test_a_fit_step_minimises_reconstruction_plus_kl():
    keras.utils.set_random_seed(0)
    model = vae(latent_dim=2, beta=1.0, seed=0)
    x = grey_disks.make_grey_disks(32, seed=1)[0]
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model(x, training=True)
    assert len(model.losses) == 1 and float(model.losses[0]) >= 0   # the KL term is collected
    history = model.fit(x, x, epochs=3, batch_size=16, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


class _FactorReader:
    """A hand-made encoder that reads (radius, grey level) off a grey disk."""

    image_shape = (64, 64, 1)

    def encode(self, images):
        grey = images.max(axis=(1, 2, 3))
        radius = np.sqrt(images.sum(axis=(1, 2, 3)) / grey / np.pi)
        return np.stack([radius, grey], axis=1)


def test_grey_disk_scores_reward_a_representation_that_separates_the_factors():
    good = disentanglement.dataset_scores("grey_disks", _FactorReader(), n=400, seed=0)

    class Mixed(_FactorReader):
        def encode(self, images):
            z = super().encode(images)
            z = (z - z.mean(0)) / z.std(0)
            return np.stack([z[:, 0] + z[:, 1], z[:, 0] - z[:, 1]], axis=1)

    mixed = disentanglement.dataset_scores("grey_disks", Mixed(), n=400, seed=0)
    assert good["mig"] > 0.5 > mixed["mig"] + 0.2
    assert good["dci_disentanglement"] > mixed["dci_disentanglement"] + 0.3
