"""CodeRefinement and refined atomic inference (Newson and Traonmilin 2023,
section 2.1 eq. 3: the decoder is a sum of shared atoms; refining the code
through it is a continuous fit with g as the point-spread function)."""

import keras
import numpy as np
import pytest
from keras import ops

from geomae_tf.layers.atomic_decoder import AtomicDecoder
from geomae_tf.layers.code_refinement import CodeRefinement
from geomae_tf.models.atomic import refinement
from geomae_tf.models.atomic.atomic_model import AtomicAutoencoder

SIDE = 16
SIGMA = 1.5


@keras.saving.register_keras_serializable(package="geomae_tf_tests")
class GaussianBlock(keras.layers.Layer):
    """A hand-made g: z = (amplitude, row, column) to a Gaussian spike.

    Row and column are in units of 4 px around the image's centre.
    """

    def call(self, z):
        grid = ops.arange(SIDE, dtype="float32")
        amp = z[:, 0][:, None, None]
        row = (SIDE - 1) / 2 + 4.0 * z[:, 1][:, None, None]
        col = (SIDE - 1) / 2 + 4.0 * z[:, 2][:, None, None]
        d2 = (grid[None, :, None] - row) ** 2 + (grid[None, None, :] - col) ** 2
        return (amp * ops.exp(-d2 / (2 * SIGMA ** 2)))[..., None]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], SIDE, SIDE, 1)


def gaussian_decoder(k=3):
    code = keras.Input((3 * k,))
    return keras.Model(code, AtomicDecoder(GaussianBlock(), k=k, d0=3)(code))


def spike_images(blocks):
    """Images of known spike codes (N, k, 3), drawn by the same block."""
    decoder = gaussian_decoder(blocks.shape[1])
    return np.asarray(decoder(blocks.reshape(len(blocks), -1).astype("float32")))


def sq_error(decoder, images, z):
    return np.sum((np.asarray(decoder(z)) - images) ** 2, axis=(1, 2, 3))


TRUE = np.array([[[0.8, -0.6, 0.5], [0.6, 0.7, -0.4], [0.9, 0.1, 0.1]],
                 [[0.7, 0.5, 0.5], [0.5, -0.5, -0.5], [1.0, 0.0, -0.6]]], np.float32)


def test_refinement_lowers_the_error_towards_the_true_codes():
    decoder = gaussian_decoder()
    images = spike_images(TRUE)
    start = (TRUE + np.random.default_rng(0).normal(0, 0.08, TRUE.shape)).reshape(2, -1)
    refined = np.asarray(CodeRefinement(decoder, steps=200, learning_rate=0.02)(
        images, start.astype("float32")))
    before, after = sq_error(decoder, images, start), sq_error(decoder, images, refined)
    assert np.all(after < 0.01 * before)
    np.testing.assert_allclose(refined, TRUE.reshape(2, -1), atol=0.02)


def test_images_are_refined_independently_of_their_batch():
    decoder = gaussian_decoder()
    images = spike_images(TRUE)
    start = (TRUE + 0.1).reshape(2, -1)
    layer = CodeRefinement(decoder, steps=20)
    together = np.asarray(layer(images, start))
    alone = np.concatenate([np.asarray(layer(images[i:i + 1], start[i:i + 1]))
                            for i in range(2)])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_permuting_the_blocks_permutes_the_refined_blocks():
    # The decoder is a sum over blocks: its loss, hence every Adam step, is
    # blind to the blocks' order.
    decoder = gaussian_decoder()
    images = spike_images(TRUE)
    start = (TRUE + 0.1).astype("float32")
    perm = [2, 0, 1]
    layer = CodeRefinement(decoder, steps=30)
    refined = np.asarray(layer(images, start.reshape(2, -1))).reshape(2, 3, 3)
    permuted = np.asarray(layer(images, start[:, perm].reshape(2, -1))).reshape(2, 3, 3)
    np.testing.assert_allclose(permuted, refined[:, perm], atol=1e-5)


def test_masked_coordinates_stay_fixed_while_the_others_fit():
    decoder = gaussian_decoder()
    images = spike_images(TRUE)
    start = (TRUE + 0.1).reshape(2, -1).astype("float32")
    mask = np.ones_like(start)
    mask[:, 3:6] = 0.0                      # block 1 held
    refined = np.asarray(CodeRefinement(decoder, steps=40)(images, start, mask))
    np.testing.assert_array_equal(refined[:, 3:6], start[:, 3:6])
    assert np.all(np.abs(refined[:, :3] - start[:, :3]).max(axis=1) > 0.01)
    assert np.all(sq_error(decoder, images, refined) < sq_error(decoder, images, start))


def test_the_decoder_is_never_changed_and_zero_steps_is_identity():
    code = keras.Input((6,))
    decoder = keras.Model(code, keras.layers.Dense(SIDE * SIDE)(code))
    weights = [w.copy() for w in decoder.get_weights()]
    images = np.random.default_rng(1).uniform(size=(3, SIDE * SIDE)).astype("float32")
    start = np.zeros((3, 6), np.float32)
    np.testing.assert_array_equal(np.asarray(CodeRefinement(decoder, steps=0)(images, start)),
                                  start)
    CodeRefinement(decoder, steps=10)(images, start)
    for before, after in zip(weights, decoder.get_weights()):
        np.testing.assert_array_equal(before, after)


def test_config_round_trip_and_keras_file(tmp_path):
    decoder = gaussian_decoder()
    layer = CodeRefinement(decoder, steps=7, learning_rate=0.03)
    clone = CodeRefinement.from_config(layer.get_config())
    assert {k: v for k, v in clone.get_config().items() if k != "decoder"} == \
        {k: v for k, v in layer.get_config().items() if k != "decoder"}
    images_in, z_in = keras.Input((SIDE, SIDE, 1)), keras.Input((9,))
    model = keras.Model([images_in, z_in], layer(images_in, z_in))
    images = spike_images(TRUE)
    start = (TRUE + 0.1).reshape(2, -1)
    model.save(tmp_path / "refine.keras")
    reloaded = keras.saving.load_model(tmp_path / "refine.keras")
    np.testing.assert_allclose(np.asarray(reloaded([images, start])),
                               np.asarray(model([images, start])), atol=1e-5)


@pytest.mark.parametrize("kwargs, message", [
    ({"steps": -1}, "`steps`"),
    ({"learning_rate": 0.0}, "`learning_rate`"),
    ({"decoder": "g"}, "`decoder`"),
])
def test_bad_arguments_are_named(kwargs, message):
    args = {"decoder": gaussian_decoder(), **kwargs}
    with pytest.raises((ValueError, TypeError), match=message):
        CodeRefinement(**args)


def tiny_atomic(k=3):
    images = keras.Input((SIDE, SIDE, 1))
    encoder = keras.Model(images, keras.layers.Dense(3 * k)(keras.layers.Flatten()(images)))
    model = AtomicAutoencoder(encoder, gaussian_decoder(k))
    model.build((None, SIDE, SIDE, 1))
    return model


def test_off_code_decodes_to_nothing():
    model = tiny_atomic()
    off = refinement.off_code(model)
    atom = np.asarray(model.block(off[None]))
    assert np.abs(atom).max() < 0.01


def test_prune_switches_off_a_split_spike_and_inactive_blocks():
    model = tiny_atomic()
    # One spike split in two halves at the same place, and a faint block.
    z = np.array([[[0.45, 0.2, 0.2], [0.4, 0.21, 0.2], [0.05, -0.7, 0.7]]], np.float32)
    pruned, kept, _ = refinement.prune(model, z.reshape(1, -1), merge_distance=1.5,
                                       threshold=0.25)
    assert kept == [[0]]
    atoms = model.atoms_from_codes(pruned)[0, ..., 0]
    assert atoms[0].max() > 0.4
    assert np.abs(atoms[1:]).max() < 0.01


def test_atoms_refine_option_is_checked():
    model = tiny_atomic()
    with pytest.raises(ValueError, match="`refine`"):
        model.atoms(np.zeros((1, SIDE, SIDE, 1), np.float32), refine="yes")


def test_a_missed_spike_is_reseeded_by_the_trained_entry():
    # The encoder's code with every block switched off misses every spike;
    # one round of pruning and reseeding (no PSF known, only the entry's
    # encoder and decoder) puts an atom on it, and the steps after it fit them.
    from geomae_tf import zoo
    from geomae_tf.analysis.atomic import spike_recovery
    from geomae_tf.datasets import spikes

    if "atomic_spikes" not in zoo.available_entries():
        pytest.skip("the atomic_spikes entry is not installed")
    model = zoo.load("atomic_spikes")
    images, f = spikes.make_spikes(4, seed=5, max_spikes=1)
    off = refinement.off_code(model)
    start = np.tile(off, (4, model.k))
    z = model.refine_codes(images, z=start, steps=30, rounds=1)
    truth = (f["positions"], f["amplitudes"], f["count"])
    before = spike_recovery(model.atoms_from_codes(start), *truth)
    after = spike_recovery(model.atoms_from_codes(z), *truth)
    assert before["recall"] == 0.0
    assert after["recall"] == 1.0 and after["precision"] == 1.0
    assert after["position_rmse"] < 0.6


@keras.saving.register_keras_serializable(package="geomae_tf_tests")
class BarBlock(keras.layers.Layer):
    """A hand-made g for extended atoms: z = (amplitude, row, start, end) to a
    horizontal bar (a soft segment between the columns start and end, Gaussian
    across), coordinates in units of 4 px around the image's centre."""

    def call(self, z):
        grid = ops.arange(SIDE, dtype="float32")
        centre = (SIDE - 1) / 2
        amp = z[:, 0][:, None, None]
        row = centre + 4.0 * z[:, 1][:, None, None]
        start = centre + 4.0 * z[:, 2][:, None, None]
        end = centre + 4.0 * z[:, 3][:, None, None]
        across = ops.exp(-(grid[None, :, None] - row) ** 2 / 2.0)
        along = ops.sigmoid(grid[None, None, :] - start) - ops.sigmoid(grid[None, None, :] - end)
        return (amp * across * along)[..., None]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], SIDE, SIDE, 1)


def bar_model(k=3):
    images = keras.Input((SIDE, SIDE, 1))
    encoder = keras.Model(images, keras.layers.Dense(4 * k)(keras.layers.Flatten()(images)))
    code = keras.Input((4 * k,))
    model = AtomicAutoencoder(encoder, keras.Model(code, AtomicDecoder(BarBlock(), k=k, d0=4)(
        code)))
    model.build((None, SIDE, SIDE, 1))
    return model


@pytest.mark.parametrize("pieces, merges", [
    # a bar cut into two halves: one block draws the whole bar
    ([[0.9, 0.0, -1.5, 0.0], [0.9, 0.0, 0.0, 1.5]], 1),
    # a bar drawn as two dim copies of itself: one block draws it at the sum's amplitude
    ([[0.45, 0.0, -1.5, 1.5], [0.45, 0.0, -1.5, 1.5]], 1),
    # two parallel bars 3 px apart, touching: no one bar draws both
    ([[0.9, -0.375, -1.5, 1.5], [0.9, 0.375, -1.5, 1.5]], 0),
])
def test_merge_joins_the_pieces_of_one_atom_and_only_those(pieces, merges):
    model = bar_model()
    off = refinement.off_code(model)
    z = np.concatenate([np.array(pieces, np.float32).ravel(), off])[None]
    target = model.atoms_from_codes(z)[0].sum(axis=0)
    merged, count = refinement.merge(model, z, tolerance=0.05, steps=300)
    assert count == merges
    atoms = model.atoms_from_codes(merged)[0]
    active = atoms.max(axis=(1, 2, 3)) > 0.25
    assert active.sum() == 2 - merges
    # what the merged code draws is still the image
    error = np.sum((atoms.sum(axis=0) - target) ** 2) / np.sum(target ** 2)
    assert error < 0.05


def test_refine_codes_merges_a_split_bar_only_when_asked():
    model = bar_model()
    off = refinement.off_code(model)
    halves = np.concatenate([[0.9, 0.0, -1.5, 0.0, 0.9, 0.0, 0.0, 1.5], off]).astype("float32")
    image = model.atoms_from_codes(halves[None])[0].sum(axis=0)[None]
    options = dict(z=halves[None], steps=20, rounds=1, merge_distance=0.0)
    for tolerance, active in ((None, 2), (0.05, 1)):
        z = refinement.refine_codes(model, image, merge_tolerance=tolerance, **options)
        assert (model.atoms_from_codes(z)[0].max(axis=(1, 2, 3)) > 0.25).sum() == active
    with pytest.raises(ValueError, match="merge_tolerance"):
        refinement.refine_codes(model, image, merge_tolerance=-1.0, **options)


def test_drop_switches_off_a_dim_copy_and_keeps_atoms_of_their_own():
    model = bar_model()
    off = refinement.off_code(model)
    # a bar drawn as two dim copies of itself, and a second bar of its own
    codes = [[0.45, -1.0, -1.5, 1.5], [0.45, -1.0, -1.5, 1.5], [0.9, 1.0, -1.5, 1.5]]
    z = np.array(codes, np.float32).ravel()[None]
    image = model.atoms_from_codes(z)[0].sum(axis=0)[None]
    dropped_z, count = refinement.drop(model, image, z, min_gain=0.4, steps=200)
    assert count == 1
    atoms = model.atoms_from_codes(dropped_z)[0]
    active = atoms.max(axis=(1, 2, 3)) > 0.25
    assert active.sum() == 2 and active[2]
    # the kept copy took over the other's ink: the sum still draws the image
    assert np.sum((atoms.sum(axis=0) - image[0]) ** 2) / np.sum(image ** 2) < 0.01
    # two bars that each draw ink of their own are both kept, at any gain below 1
    distinct = np.concatenate([np.array(codes[1:], np.float32).ravel(), off])[None]
    image = model.atoms_from_codes(distinct)[0].sum(axis=0)[None]
    kept_z, count = refinement.drop(model, image, distinct, min_gain=0.9, steps=200)
    assert count == 0
    np.testing.assert_allclose(kept_z[0, :8], distinct[0, :8], atol=1e-6)


def test_refine_codes_drops_only_when_asked():
    model = bar_model()
    copies = np.array([0.45, 0.0, -1.5, 1.5] * 2 + [0.0, 0.0, 0.0, 0.0], np.float32)[None]
    copies[0, 8:] = refinement.off_code(model)
    image = model.atoms_from_codes(copies)[0].sum(axis=0)[None]
    options = dict(z=copies, steps=50, rounds=0)
    for min_gain, active in ((None, 2), (0.4, 1)):
        z = refinement.refine_codes(model, image, min_gain=min_gain, **options)
        assert (model.atoms_from_codes(z)[0].max(axis=(1, 2, 3)) > 0.25).sum() == active
    with pytest.raises(ValueError, match="min_gain"):
        refinement.refine_codes(model, image, min_gain=-0.1, **options)
