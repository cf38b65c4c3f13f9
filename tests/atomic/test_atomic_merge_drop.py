"""Merging and dropping atoms is part of the served graph: the SavedModel's
`atoms` signature of a model whose refinement options merge and drop
(Newson and Traonmilin 2023, section 2.1 eq. 3, the code refined through
the fixed decoder) answers what `ae.atoms(x)` answers. The geometry of the
two moves is checked under every backend in
tests/backends/test_atomic_merge_drop_backends.py."""

import numpy as np
import tensorflow as tf

from geomae_tf.datasets import strokes
from geomae_tf.export.saved_model import export_saved_model
from geomae_tf.models.atomic import atomic_autoencoder

OPTIONS = {"rounds": 0, "steps": 2, "merge_tolerance": 0.5, "merge_pairs": 2,
           "merge_passes": 1, "merge_steps": 2, "min_gain": 0.5, "drop_passes": 1}


def test_the_served_atoms_merge_and_drop_as_ae_atoms_does(tmp_path):
    ae = atomic_autoencoder(k=4, d0=3, image_size=16, refine=OPTIONS)
    images = strokes.make_strokes(5, seed=3, image_size=16)
    images = images[0] if isinstance(images, tuple) else images
    expected = ae.atoms(images)
    served = tf.saved_model.load(str(export_saved_model(ae, tmp_path)))
    got = served.signatures["atoms"](images=tf.constant(images))["atoms"].numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4)
    # Dropping switches blocks off (zero images): the untrained model's
    # faint atoms go, so fewer than k blocks are live.
    live = np.any(expected != 0.0, axis=(2, 3, 4))
    assert live.sum(axis=1).min() < ae.k
