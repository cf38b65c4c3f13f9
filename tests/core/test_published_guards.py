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

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "saved_models"
ENTRIES = sorted(p.name for p in ROOT.iterdir()
                 if p.is_dir() and any(v.name.isdigit() for v in p.iterdir()))
ATOMIC = {"atomic_spikes", "atomic_spikes_refined", "atomic_strokes", "atomic_mnist"}


def latest(entry):
    return max(int(v.name) for v in (ROOT / entry).iterdir() if v.name.isdigit())


def _inputs(fn):
    """`{name: TensorSpec}` of a signature's inputs."""
    return fn.structured_input_signature[1]


def _good(name, spec, n):
    shape = (n,) + tuple(spec.shape[1:])
    if name == "position":
        return np.full(shape, 10.0, np.float32)
    if name == "signals":
        x = np.zeros(shape, np.float32)
        x[:, 5, 0] = 1.0
        return x
    if name == "z":
        return np.zeros(shape, np.float32)
    return np.full(shape, 0.5, np.float32)   # images


@functools.cache
def load(entry):
    return tf.saved_model.load(str(ROOT / entry / str(latest(entry))))


def test_every_entry_has_a_guarded_latest_version():
    assert len(ENTRIES) == 11
    for entry in ENTRIES:
        assert (ROOT / entry / str(latest(entry)) / "saved_model.pb").is_file()


@pytest.mark.parametrize("entry", sorted(ATOMIC))
def test_atomic_entries_serve_refined_and_encoder_atoms(entry):
    model = load(entry)
    assert {"serving_default", "encode", "decode", "atoms", "encoder_atoms"} <= set(
        model.signatures)
    spec = _inputs(model.signatures["encoder_atoms"])["images"]
    images = _good("images", spec, 2)
    atoms = model.signatures["encoder_atoms"](images=tf.constant(images))["atoms"].numpy()
    reconstruction = model.signatures["serving_default"](
        images=tf.constant(images))["reconstruction"].numpy()
    # the encoder's atoms sum to the reconstruction (eq. 3 of the atomic paper)
    np.testing.assert_allclose(atoms.sum(axis=1), reconstruction, atol=1e-4)


@pytest.mark.parametrize("entry", ENTRIES)
def test_every_signature_takes_good_and_empty_batches_and_refuses_bad_ones(entry):
    model = load(entry)
    for signature, fn in model.signatures.items():
        ((name, spec),) = _inputs(fn).items()
        good = _good(name, spec, 2)
        outputs = fn(**{name: tf.constant(good)})
        assert all(out.shape[0] == 2 for out in outputs.values()), (entry, signature)
        empty = fn(**{name: tf.constant(good[:0])})
        for key, out in empty.items():
            assert out.shape[0] == 0, (entry, signature, key)
            assert tuple(out.shape[1:]) == tuple(outputs[key].shape[1:]), (entry, signature)

        bad = good.copy()
        bad.flat[0] = np.nan
        with pytest.raises(tf.errors.InvalidArgumentError, match=f"`{name}` must be finite"):
            fn(**{name: tf.constant(bad)})
        if name == "images":
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"\[0, 1\]"):
                fn(**{name: tf.constant(good * 255.0)})
        if len(spec.shape) >= 3:   # images (N, H, W, 1) or signals (N, n, 1)
            half = good[:, ::2]
            with pytest.raises(tf.errors.InvalidArgumentError,
                               match=f"`{name}` must have shape"):
                fn(**{name: tf.constant(half)})
