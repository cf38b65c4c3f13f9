"""Merging and dropping atoms in the graph (`AtomicRefinement`'s
`merge_tolerance` and `min_gain`) under the Keras backend of this process.

Newson and Traonmilin 2023 decode z into g(z_1) + ... + g(z_k) (section 2.1,
eq. 3). With a block g that is linear in its code, the geometry is exact:
two half strokes sum to the atom of one code, so they merge into one atom.
With a block whose code draws one of two strokes, never both, an atom that
the other atoms can stand in for (or that draws ink the image does not have)
is dropped, and an atom that alone draws its stroke stays.
"""

import os

import numpy as np
import pytest

BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")
pytest.importorskip(BACKEND, reason=f"KERAS_BACKEND={BACKEND} but the {BACKEND} package is "
                    f"not installed: pip install -e '.[{BACKEND}]' (make test installs it)")

import keras  # noqa: E402
from keras import ops  # noqa: E402

from geomae_tf.layers.atomic_decoder import AtomicDecoder  # noqa: E402
from geomae_tf.models.atomic.atomic_refinement import AtomicRefinement  # noqa: E402

SIDE, K, D0 = 16, 3, 2


def stroke(row, c0, c1):
    """A horizontal bar of width 3 px on `row` from column c0 to c1 - 1."""
    image = np.zeros((SIDE, SIDE), np.float32)
    image[row - 1:row + 2, c0:c1] = 1.0
    return image


#: The two images the linear block's code coordinates weigh: the left and
#: the right half of one bar (touching at column 8), and a far bar.
LEFT, RIGHT, FAR = stroke(4, 2, 8), stroke(4, 8, 14), stroke(12, 2, 14)


def layer_of(first, second, exclusive=False):
    """A refinement whose block draws g(c) = c_0 first + c_1 second (linear,
    no bias), or with `exclusive` g(c) = relu(c_0 - c_1) first +
    relu(c_1 - c_0) second: one code draws one of the two images, never both."""
    code = keras.Input((D0,))
    mix = keras.layers.Dense(D0, use_bias=False, activation="relu" if exclusive else None)
    dense = keras.layers.Dense(SIDE * SIDE, use_bias=False)
    block = keras.Model(code, keras.layers.Reshape((SIDE, SIDE, 1))(dense(mix(code))))
    mix.set_weights([np.array([[1, -1], [-1, 1]] if exclusive else np.eye(D0), np.float32)])
    dense.set_weights([np.stack([first.ravel(), second.ravel()])])
    z = keras.Input((K * D0,))
    decoder = keras.Model(z, AtomicDecoder(block, k=K, d0=D0)(z))
    image = keras.Input((SIDE, SIDE, 1))
    encoder = keras.Model(image, keras.layers.Dense(K * D0)(keras.layers.Flatten()(image)))
    return lambda **options: AtomicRefinement(encoder, decoder, rounds=0, steps=0,
                                              off_code=[0.0, 0.0], **options)


def refine(layer, image, blocks):
    """The live atoms (k, H, W) of `blocks` (k, d0) refined on `image`."""
    z, live = layer(ops.convert_to_tensor(image[None, ..., None]),
                    ops.convert_to_tensor(np.asarray(blocks, np.float32).reshape(1, -1)))
    atoms = layer.atomic_decoder(z, return_atoms=True, block_mask=live)
    return ops.convert_to_numpy(atoms)[0, ..., 0]


def active(atoms):
    return int(np.sum(atoms.max(axis=(1, 2)) > 0.25))


def test_two_half_strokes_merge_into_one_atom_and_far_strokes_do_not():
    layer = layer_of(LEFT, RIGHT)(merge_tolerance=0.15)
    whole = LEFT + RIGHT
    atoms = refine(layer, whole, [[1, 0], [0, 1], [0, 0]])
    assert active(atoms) == 1                       # one atom is the whole bar
    np.testing.assert_allclose(atoms.sum(axis=0), whole, atol=1e-3)
    # Two bars that do not touch are two strokes, even if one code draws both.
    layer = layer_of(LEFT + RIGHT, FAR)(merge_tolerance=0.15)
    atoms = refine(layer, whole + FAR, [[1, 0], [0, 1], [0, 0]])
    assert active(atoms) == 2
    np.testing.assert_allclose(atoms.sum(axis=0), whole + FAR, atol=1e-3)


def test_dropping_removes_what_the_other_atoms_can_draw_and_keeps_the_rest():
    make = layer_of(LEFT + RIGHT, FAR, exclusive=True)
    bar = LEFT + RIGHT
    # A duplicate: half the bar twice; one goes, the other takes its ink
    # (refitted by one damped step, then the final steps).
    atoms = refine(make(min_gain=0.5, final_steps=3), bar, [[0.5, 0], [0.5, 0], [0, 0]])
    assert active(atoms) == 1
    np.testing.assert_allclose(atoms.sum(axis=0), bar, atol=1e-3)
    # An atom that draws ink the image does not have is dropped.
    atoms = refine(make(min_gain=0.5, final_steps=3), bar, [[1, 0], [0, 0.6], [0, 0]])
    assert active(atoms) == 1
    np.testing.assert_allclose(atoms.sum(axis=0), bar, atol=1e-3)
    # Each of two strokes is needed: both stay (their gain is 1).
    atoms = refine(make(min_gain=0.5, final_steps=3), bar + FAR, [[1, 0], [0, 1], [0, 0]])
    assert active(atoms) == 2
    np.testing.assert_allclose(atoms.sum(axis=0), bar + FAR, atol=1e-3)
