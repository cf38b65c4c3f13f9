"""Progressive PCA-AE training in Python (PCA-AE talks, eq. 17): a numpy array
of images is enough, and a stage whose new unit collapses warns."""

import warnings

import numpy as np
import pytest

from geomae_tf import zoo
from geomae_tf.datasets import disks
from geomae_tf.training.progressive import train_progressive, warn_if_collapsed


def _disks(n=64, seed=0):
    radii = np.random.default_rng(seed).uniform(1.0, 8.0, n)
    return disks.render_disks(radii, image_size=16).numpy()


def test_train_progressive_takes_a_numpy_array():
    x = _disks(64)
    ae, histories = train_progressive(zoo.pca_autoencoder(latent_dim=2, image_size=16), x,
                                      epochs_per_stage=1, batch_size=16, verbose=0,
                                      recalibrate_steps=4)
    assert len(histories) == 2 and ae.stage == 2
    for history in histories:
        assert len(history.history["loss"]) == 1
        assert np.all(np.isfinite(history.history["loss"]))
    assert ae.encode(x).shape == (64, 2)
    with pytest.raises(ValueError, match="`dataset` must have values in"):
        train_progressive(zoo.pca_autoencoder(latent_dim=1, image_size=16), x * 255.0,
                          epochs_per_stage=1, verbose=0)


def test_a_collapsed_pca_unit_warns():
    assert not warn_if_collapsed(1, np.array([0.3]), 1e-5)
    with pytest.warns(UserWarning, match=r"stage 2: the new latent unit collapsed \(variance "
                                         r"of its code 1e-08, below the centring's epsilon "
                                         r"1e-05\)"):
        assert warn_if_collapsed(2, np.array([1e-8]), 1e-5)
    # Identical images: every unit's code is constant, so stage 1 collapses.
    constant = np.full((32, 16, 16, 1), 0.5, np.float32)
    with pytest.warns(UserWarning, match="stage 1: the new latent unit collapsed"):
        train_progressive(zoo.pca_autoencoder(latent_dim=1, image_size=16), constant,
                          epochs_per_stage=1, batch_size=16, verbose=0, recalibrate_steps=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # varied images: no collapse
        train_progressive(zoo.pca_autoencoder(latent_dim=1, image_size=16), _disks(32),
                          epochs_per_stage=1, batch_size=16, verbose=0, recalibrate_steps=2)
