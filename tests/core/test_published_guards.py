"""Every published entry's latest version refuses bad input and answers empty batches.

Walks `saved_models/<entry>/<latest>/` and calls each signature of the SavedModel,
loaded back through TensorFlow as TF Serving loads it, with a good batch, an
empty batch, NaN, out-of-range values (a 0..255 image) and a wrong size: the
bad ones fail with INVALID_ARGUMENT naming the input.
"""

import functools
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from geomae_tf.zoo import ENTRIES as ZOO
from tests.harness import check_served_signature, input_of

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "saved_models"
ENTRIES = sorted(p.name for p in ROOT.iterdir()
                 if p.is_dir() and any(v.name.isdigit() for v in p.iterdir()))
ATOMIC = {entry for entry, spec in ZOO.items() if spec["family"].startswith("atomic")}


def latest(entry):
    return max(int(v.name) for v in (ROOT / entry).iterdir() if v.name.isdigit())


@functools.cache
def load(entry):
    return tf.saved_model.load(str(ROOT / entry / str(latest(entry))))


def test_every_entry_has_a_guarded_latest_version():
    # the published entries are exactly the zoo's
    assert set(ENTRIES) == set(ZOO)
    for entry in ENTRIES:
        assert (ROOT / entry / str(latest(entry)) / "saved_model.pb").is_file()


@pytest.mark.parametrize("entry", sorted(ATOMIC))
def test_atomic_entries_serve_refined_and_encoder_atoms(entry):
    model = load(entry)
    assert {"serving_default", "encode", "decode", "atoms", "encoder_atoms"} <= set(
        model.signatures)
    _, shape = input_of(model.signatures["encoder_atoms"])
    images = np.random.default_rng(0).uniform(0.0, 1.0, (2,) + shape[1:]).astype("float32")
    atoms = model.signatures["encoder_atoms"](images=tf.constant(images))["atoms"].numpy()
    reconstruction = model.signatures["serving_default"](
        images=tf.constant(images))["reconstruction"].numpy()
    # the encoder's atoms sum to the reconstruction (eq. 3 of the atomic paper)
    np.testing.assert_allclose(atoms.sum(axis=1), reconstruction, atol=1e-4)


@pytest.mark.parametrize("entry", ENTRIES)
def test_every_signature_takes_good_and_empty_batches_and_refuses_bad_ones(entry):
    for signature in load(entry).signatures.values():
        check_served_signature(signature)
