"""AtomicDecoder: one shared block g, f_D(z) = sum_i g(z_i) (Newson, Traonmilin 2023, 2.3)."""

import keras
import numpy as np
import pytest

from geomae_tf.layers.atomic_decoder import AtomicDecoder, split_penalty
from tests.harness import check_layer

D0 = 2
SIDE = 4


def small_block(d0=D0, name="g"):
    return keras.Sequential([
        keras.Input((d0,)),
        keras.layers.Dense(8, activation="tanh"),
        keras.layers.Dense(SIDE * SIDE),
        keras.layers.Reshape((SIDE, SIDE, 1)),
    ], name=name)


@keras.saving.register_keras_serializable(package="geomae_tf_tests")
class CountingDense(keras.layers.Layer):
    """A Dense block that counts how many times it is called, and on what."""

    def __init__(self, units=5, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = keras.layers.Dense(units)
        self.calls = []

    def build(self, input_shape):
        self.dense.build(input_shape)

    def call(self, x):
        self.calls.append(tuple(x.shape))
        return self.dense(x)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def codes(n, k, d0=D0, seed=0):
    return np.random.default_rng(seed).normal(size=(n, k * d0)).astype("float32")


def test_shared_layer_checks(tmp_path):
    layer = AtomicDecoder(small_block(), k=3, d0=D0)
    reloaded = check_layer(layer, (3 * D0,), tmp_path)
    # The reloaded layer decodes the same atoms, not only the same sum.
    z = codes(4, 3)
    original_atoms = keras.ops.convert_to_numpy(layer(z, return_atoms=True))
    reloaded_layer = [lay for lay in reloaded.layers if isinstance(lay, AtomicDecoder)][0]
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(reloaded_layer(z, return_atoms=True)), original_atoms,
        atol=1e-6)


@pytest.mark.parametrize("k", [1, 4, 50])
def test_one_set_of_block_variables_whatever_k(k):
    block = small_block()
    layer = AtomicDecoder(block, k=k, d0=D0)
    layer.build((None, k * D0))
    assert len(layer.weights) == len(block.weights) == 4
    assert all(any(w is v for v in block.weights) for w in layer.weights)
    assert layer.count_params() == block.count_params() == (D0 * 8 + 8) + (8 * 16 + 16)


def test_block_runs_once_on_the_batch_of_all_blocks():
    block = CountingDense(5)
    layer = AtomicDecoder(block, k=7, d0=3)
    layer(codes(4, 7, 3))
    assert block.calls == [(28, 3)]          # (N * k, d0), one call, no loop over blocks


def test_atoms_sum_to_the_output_and_are_g_of_each_block():
    block = small_block()
    layer = AtomicDecoder(block, k=5, d0=D0)
    z = codes(6, 5)
    atoms = keras.ops.convert_to_numpy(layer(z, return_atoms=True))
    out = keras.ops.convert_to_numpy(layer(z))
    assert atoms.shape == (6, 5, SIDE, SIDE, 1)
    np.testing.assert_allclose(atoms.sum(axis=1), out, atol=1e-5)
    for i in range(5):
        g_i = keras.ops.convert_to_numpy(block(z[:, i * D0:(i + 1) * D0]))
        np.testing.assert_allclose(atoms[:, i], g_i, atol=1e-5)


def test_block_mask_switches_blocks_off():
    # f_D(z; m) = sum_i m_i g(z_i): a 0 removes the atom, whatever its code
    layer = AtomicDecoder(small_block(), k=5, d0=D0)
    z = codes(4, 5)
    mask = np.ones((4, 5), "float32")
    mask[:, [1, 3]] = 0.0
    atoms = keras.ops.convert_to_numpy(layer(z, return_atoms=True))
    masked = keras.ops.convert_to_numpy(layer(z, block_mask=mask))
    np.testing.assert_allclose(masked, atoms[:, [0, 2, 4]].sum(axis=1), atol=1e-5)
    masked_atoms = keras.ops.convert_to_numpy(layer(z, return_atoms=True, block_mask=mask))
    assert np.all(masked_atoms[:, [1, 3]] == 0)
    ones = keras.ops.convert_to_numpy(layer(z, block_mask=np.ones((4, 5), "float32")))
    np.testing.assert_allclose(ones, atoms.sum(axis=1), atol=1e-5)
    symbolic = layer(keras.Input((5 * D0,)), block_mask=keras.Input((5,)))
    assert tuple(symbolic.shape) == (None, SIDE, SIDE, 1)


def test_permuting_blocks_leaves_the_output_unchanged():
    k = 6
    layer = AtomicDecoder(small_block(), k=k, d0=D0)
    z = codes(5, k)
    perm = np.random.default_rng(1).permutation(k)
    z_perm = z.reshape(5, k, D0)[:, perm].reshape(5, k * D0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(z_perm)),
                               keras.ops.convert_to_numpy(layer(z)), atol=1e-5)
    # ...but permuting coordinates inside a block changes it (blocks are not bags of numbers).
    z_swap = z.reshape(5, k, D0)[:, :, ::-1].reshape(5, k * D0)
    assert np.abs(keras.ops.convert_to_numpy(layer(z_swap))
                  - keras.ops.convert_to_numpy(layer(z))).max() > 1e-3


def test_changing_one_block_changes_only_its_atom():
    layer = AtomicDecoder(small_block(), k=4, d0=D0)
    z = codes(3, 4)
    z2 = z.copy()
    z2[:, 2 * D0:3 * D0] += 1.0
    a1 = keras.ops.convert_to_numpy(layer(z, return_atoms=True))
    a2 = keras.ops.convert_to_numpy(layer(z2, return_atoms=True))
    np.testing.assert_allclose(np.delete(a1, 2, axis=1), np.delete(a2, 2, axis=1), atol=1e-6)
    assert np.abs(a1[:, 2] - a2[:, 2]).max() > 1e-3


def test_symbolic_shapes():
    layer = AtomicDecoder(small_block(), k=3, d0=D0)
    z = keras.Input((3 * D0,))
    assert tuple(layer(z).shape) == (None, SIDE, SIDE, 1)
    assert tuple(layer(z, return_atoms=True).shape) == (None, 3, SIDE, SIDE, 1)
    assert layer.compute_output_shape((None, 3 * D0)) == (None, SIDE, SIDE, 1)


def test_config_round_trip_is_exact():
    layer = AtomicDecoder(small_block(), k=3, d0=D0, name="atoms")
    config = layer.get_config()
    assert config["k"] == 3 and config["d0"] == D0
    clone = AtomicDecoder.from_config(config)
    assert clone.get_config() == config
    assert clone.block is not layer.block


def test_keras_file_round_trip_is_exact(tmp_path):
    k = 4
    z_in = keras.Input((k * D0,))
    model = keras.Model(z_in, AtomicDecoder(small_block(), k=k, d0=D0)(z_in))
    path = tmp_path / "atomic.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    z = codes(5, k)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(reloaded(z)),
                                  keras.ops.convert_to_numpy(model(z)))
    assert len(reloaded.weights) == len(model.weights) == 4


@pytest.mark.parametrize("kwargs, error, match", [
    ({"k": 0}, ValueError, r"`k` must be an int >= 1. Received: k=0"),
    ({"d0": -2}, ValueError, r"`d0` must be an int >= 1. Received: d0=-2"),
    ({"k": 2.5}, TypeError, r"`k` must be an int"),
    ({"d0": "3"}, TypeError, r"`d0` must be an int"),
    ({"split_penalty": -0.1}, ValueError, r"`split_penalty` must be .*Received: split_penalty=-0.1"),
])
def test_bad_arguments_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        AtomicDecoder(small_block(), **{"k": 3, "d0": D0, **kwargs})


def test_bad_block_raises():
    with pytest.raises(TypeError, match="`block` must be a keras.layers.Layer"):
        AtomicDecoder(lambda z: z, k=3, d0=D0)


def test_bad_z_shape_raises():
    layer = AtomicDecoder(small_block(), k=3, d0=D0)
    with pytest.raises(ValueError, match=r"`z` must be shaped \(N, k \* d0\) = \(N, 6\)"):
        layer(np.zeros((2, 5), "float32"))
    with pytest.raises(ValueError, match=r"`z` must be shaped"):
        layer(keras.Input((3, 2)))


# -- the split penalty: sum_i ||a_i|| - ||sum_i a_i||, per root mean square ----------
def _atoms(*images):
    """One image's atoms, (1, k, 4, 4, 1), from k arrays of 16 values."""
    return np.stack([np.reshape(np.asarray(a, "float32"), (SIDE, SIDE, 1))
                     for a in images])[None]


def _value(atoms):
    return float(keras.ops.convert_to_numpy(split_penalty(atoms)))


def test_split_penalty_is_zero_for_one_atom_or_proportional_parts():
    stroke = np.zeros(16, "float32")
    stroke[[1, 5, 9, 13]] = 1.0                          # a column of 4 pixels
    empty = np.zeros(16, "float32")
    assert _value(_atoms(stroke, empty, empty)) == pytest.approx(0.0, abs=1e-5)
    assert _value(_atoms(0.3 * stroke, 0.7 * stroke, empty)) == pytest.approx(0.0, abs=1e-5)


def test_split_penalty_charges_a_stroke_cut_in_two_halves_sqrt2_minus_1_times_its_norm():
    top, bottom = np.zeros(16, "float32"), np.zeros(16, "float32")
    top[[1, 5]] = 1.0
    bottom[[9, 13]] = 1.0
    whole_rms = np.sqrt(4 / 16)
    value = _value(_atoms(top, bottom, np.zeros(16, "float32")))
    assert value == pytest.approx((np.sqrt(2) - 1) * whole_rms, rel=1e-4)
    # three pieces cost more than two: the penalty counts the cuts
    pieces = [np.zeros(16, "float32") for _ in range(3)]
    pieces[0][1], pieces[1][5], pieces[2][[9, 13]] = 1.0, 1.0, 1.0
    assert _value(_atoms(*pieces)) > value


def test_split_penalty_is_added_in_training_only_and_trains():
    k = 3
    z_in = keras.Input((k * D0,))
    layer = AtomicDecoder(small_block(), k=k, d0=D0, split_penalty=0.5)
    model = keras.Model(z_in, layer(z_in))
    z = codes(4, k)
    model(z, training=False)
    assert not model.losses
    model(z, training=True)
    (loss,) = model.losses
    atoms = layer(z, return_atoms=True)
    assert float(keras.ops.convert_to_numpy(loss)) == pytest.approx(0.5 * _value(atoms),
                                                                    rel=1e-5)
    assert AtomicDecoder.from_config(layer.get_config()).split_penalty == 0.5
    # fit's loss is the MSE plus the penalty (a learning rate of 0 keeps the weights)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    target = np.zeros((4, SIDE, SIDE, 1), "float32")
    history = model.fit(z, target, batch_size=4, epochs=1, verbose=0)
    mse = float(np.mean(keras.ops.convert_to_numpy(model(z)) ** 2))
    assert history.history["loss"][0] == pytest.approx(mse + 0.5 * _value(atoms), rel=1e-4)


# -- g's affine tail applied once to the sum of features -------------------------------
# sum_i m_i T(y_i) = T(sum_i m_i y_i) + (sum_i m_i - 1) T(0) for an affine T: the
# reconstruction runs g's last (linear) layers once per image, the atoms k times.
def _decoders(block, k, d0, path="tail"):
    """The same layer computing its sum through the tail (the blocks' features
    summed vectorised, "tail", or in a loop over the blocks, "tail_loop"), and
    through the atoms."""
    fast = AtomicDecoder(block, k=k, d0=d0)
    fast._sum_path = path
    slow = AtomicDecoder(block, k=k, d0=d0)
    slow._sum_path = "atoms"
    return fast, slow


def _paper_block(d0=D0, upsampling="nearest"):
    from geomae_tf.models.atomic.atomic_autoencoder import atomic_block

    block = atomic_block(d0, image_size=16, upsampling=upsampling)
    rng = np.random.default_rng(3)   # non-zero biases, so that the k copies of T(0) matter
    block.set_weights([w + 0.1 * rng.normal(size=w.shape).astype("float32")
                       for w in block.get_weights()])
    return block


@pytest.mark.parametrize("upsampling", ["nearest", "bilinear"])
def test_the_paper_block_ends_with_its_linear_last_convolution_alone(upsampling):
    from geomae_tf.layers.atomic_decoder import _AffineTail

    split = _AffineTail.of(_paper_block(upsampling=upsampling))
    # g_out is linear; the leaky ReLU before it is not, so the tail stops there
    assert [layer.name for layer in split.tail] == ["g_out"]
    # nearest: g_out is an UpsampleConv2D of the 8 x 8 map; bilinear: a conv at 16 x 16
    side = 8 if upsampling == "nearest" else 16
    assert tuple(split.body.output.shape) == (None, side, side, 32)
    # the tail is taken from small_block's Dense(16) + Reshape, not its tanh layer
    assert [type(lay).__name__ for lay in _AffineTail.of(small_block()).tail] == ["Dense", "Reshape"]


def test_no_tail_when_g_ends_non_linear_or_is_not_functional():
    from geomae_tf.layers.atomic_decoder import _AffineTail

    relu_end = keras.Sequential([keras.Input((D0,)), keras.layers.Dense(16),
                                 keras.layers.Dense(16, activation="relu")])
    assert _AffineTail.of(relu_end) is None
    assert _AffineTail.of(CountingDense(5)) is None
    linear = keras.Sequential([keras.Input((D0,)), keras.layers.Dense(16)])
    assert _AffineTail.of(linear) is None             # nothing left to run k times
    # ...and such layers still decode the sum of their atoms
    layer = AtomicDecoder(relu_end, k=3, d0=D0)
    z = codes(4, 3)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(z)),
        keras.ops.convert_to_numpy(layer(z, return_atoms=True)).sum(axis=1), atol=1e-5)


@pytest.mark.parametrize("path", ["tail", "tail_loop"])
@pytest.mark.parametrize("make_block", [small_block, _paper_block])
def test_tail_sum_equals_the_sum_of_the_atoms_with_and_without_mask(make_block, path):
    k = 5
    fast, slow = _decoders(make_block(), k, D0, path)
    z = codes(6, k)
    atoms = keras.ops.convert_to_numpy(fast(z, return_atoms=True))
    out = keras.ops.convert_to_numpy(fast(z))
    scale = np.abs(out).max()
    assert scale > 0.1
    np.testing.assert_allclose(out, atoms.sum(axis=1), atol=1e-5 * scale)
    np.testing.assert_allclose(out, keras.ops.convert_to_numpy(slow(z)), atol=1e-5 * scale)
    # a mask with zeros, fractions and a row of all zeros (the empty sum is 0, not T(0))
    mask = np.random.default_rng(2).uniform(size=(6, k)).astype("float32")
    mask[:, 1] = 0.0
    mask[0] = 0.0
    masked = keras.ops.convert_to_numpy(fast(z, block_mask=mask))
    np.testing.assert_allclose(masked, (atoms * mask[:, :, None, None, None]).sum(axis=1),
                               atol=1e-5 * scale)
    np.testing.assert_allclose(masked[0], 0.0, atol=1e-6)
    np.testing.assert_allclose(masked, keras.ops.convert_to_numpy(slow(z, block_mask=mask)),
                               atol=1e-5 * scale)


@pytest.mark.parametrize("path", ["tail", "tail_loop"])
def test_tail_sum_has_the_gradients_of_the_sum_of_the_atoms(path):
    import tensorflow as tf

    k = 4
    block = _paper_block()
    fast, slow = _decoders(block, k, D0, path)
    z = tf.constant(codes(3, k))
    target = tf.constant(np.random.default_rng(5).normal(size=(3, 16, 16, 1)).astype("float32"))

    def gradients(layer):
        with tf.GradientTape() as tape:
            tape.watch(z)
            loss = tf.reduce_mean(tf.square(layer(z) - target))
        return tape.gradient(loss, [z] + block.trainable_weights)

    for g_fast, g_slow in zip(gradients(fast), gradients(slow)):
        g_slow = g_slow.numpy()
        np.testing.assert_allclose(g_fast.numpy(), g_slow, atol=1e-5 * np.abs(g_slow).max())


def test_tail_sum_adds_no_variables_and_saves_the_same_weights_file(tmp_path):
    import h5py

    k = 3

    def saved_names(model, path):
        model.save_weights(path)
        with h5py.File(path, "r") as f:
            names = []
            f.visit(names.append)
        return sorted(names)

    z_in = keras.Input((k * D0,))
    layer = AtomicDecoder(_paper_block(), k=k, d0=D0)
    model = keras.Model(z_in, layer(z_in))
    before = saved_names(model, tmp_path / "before.weights.h5")
    z = codes(2, k)
    out = keras.ops.convert_to_numpy(model(z))            # builds the split g = T(body)
    assert layer._affine_tail() is not None
    assert saved_names(model, tmp_path / "after.weights.h5") == before
    assert len(model.weights) == len(layer.block.weights) == 12
    # a file saved before the split loads into a fresh model, with the same outputs
    fresh_layer = AtomicDecoder(_paper_block(), k=k, d0=D0)
    fresh_z = keras.Input((k * D0,))
    fresh = keras.Model(fresh_z, fresh_layer(fresh_z))
    fresh.load_weights(tmp_path / "before.weights.h5")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(fresh(z)), out, atol=1e-6)
    assert AtomicDecoder.from_config(layer.get_config()).get_config() == layer.get_config()


def test_tail_sum_under_mixed_bfloat16():
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        fast, slow = _decoders(_paper_block(), 4, D0)
    finally:
        keras.config.set_dtype_policy("float32")
    z = codes(3, 4)
    out = keras.ops.convert_to_numpy(keras.ops.cast(fast(z), "float32"))
    reference = keras.ops.convert_to_numpy(keras.ops.cast(slow(z), "float32"))
    assert fast(z).dtype == slow(z).dtype
    np.testing.assert_allclose(out, reference, atol=0.02 * np.abs(reference).max())


@pytest.mark.parametrize("entry", ["atomic_spikes", "atomic_mnist"])
def test_published_entries_reconstruct_as_the_sum_of_their_atoms(entry):
    from geomae_tf import zoo

    model = zoo.load(entry)
    side = model.encoder.inputs[0].shape[1]
    images = np.random.default_rng(0).uniform(size=(4, side, side, 1)).astype("float32")
    z = model.encoder(images)
    decoder = model.atomic_decoder
    assert decoder._affine_tail() is not None
    out = keras.ops.convert_to_numpy(model.decoder(z))
    decoder._sum_path = "atoms"
    try:
        reference = keras.ops.convert_to_numpy(model.decoder(z))
    finally:
        decoder._sum_path = "tail"
    np.testing.assert_allclose(out, reference, atol=1e-5)
