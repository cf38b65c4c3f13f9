"""The zoo: trained entries load from a checkout (installs: test_install.py)."""

import numpy as np
import pytest
from scipy import stats

from geomae_tf import zoo
from geomae_tf.datasets import disks


def test_disk_ae_is_trained_and_reconstructs_fresh_disks():
    ae = zoo.disk_autoencoder(weights="disk_ae")
    images, factors = disks.make_disks(64, seed=99, radius_range=(1, 31),
                                       renderer="monte_carlo", n_samples=256)
    mse = float(np.mean((ae.reconstruct(images) - images) ** 2))
    assert mse < 1e-3
    z = ae.encode(images)[:, 0]
    # the code is monotone in the radius (JMIV 2020, Fig. 3: |Spearman| >= 0.999)
    assert abs(stats.spearmanr(z, factors["radius"]).statistic) >= 0.999
    loaded = zoo.load("disk_ae")
    np.testing.assert_allclose(loaded.encode(images), ae.encode(images), atol=1e-6)


def test_unknown_entries_and_weights_are_named():
    with pytest.raises(ValueError, match="`entry` must be one of the zoo's entries"):
        zoo.load("disk_vae")
    with pytest.raises(FileNotFoundError, match="`weights` file does not exist"):
        zoo.disk_autoencoder(weights="/nowhere/w.weights.h5")
