"""Regularised disk autoencoders export and reload like every autoencoder (the zoo's signatures).

The two regularisers that add layers (the latent-distance loss and the input
noise) are exported; weight decay only adds kernel regularisers, which
serving ignores.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from geomae_tf import zoo
from geomae_tf.datasets import disks
from geomae_tf.export import saved_model as export


@pytest.mark.parametrize("regularizer, lam", [("latent_distance", 0.1), ("denoising", 0.05)])
def test_regularised_model_exports_its_signatures_and_reloads(tmp_path, regularizer, lam):
    keras.utils.set_random_seed(0)
    kwargs = {"regularizer": regularizer, "lam": lam}
    model = zoo.disk_autoencoder(**kwargs)
    path = export.export_entry(model, "disk_ae_hole_encreg", root=tmp_path, version=1,
                               config={"factory": "disk_autoencoder", "model": kwargs})
    x = disks.render_disks([4.0, 14.0, 25.0]).numpy()
    loaded = tf.saved_model.load(str(path))
    out = loaded.signatures["serving_default"](images=tf.constant(x))["reconstruction"]
    np.testing.assert_allclose(out.numpy(), model.reconstruct(x), atol=1e-5)
    z = loaded.signatures["encode"](images=tf.constant(x))["z"]
    np.testing.assert_allclose(z.numpy(), model.encode(x), atol=1e-5)
    # The noise and the neighbour sampling are training-only: serving is deterministic.
    again = loaded.signatures["serving_default"](images=tf.constant(x))["reconstruction"]
    np.testing.assert_array_equal(again.numpy(), out.numpy())
    rebuilt = zoo.disk_autoencoder(**kwargs,
                                   weights=str(path / "disk_ae_hole_encreg.weights.h5"))
    np.testing.assert_allclose(rebuilt.reconstruct(x), model.reconstruct(x), atol=1e-6)
