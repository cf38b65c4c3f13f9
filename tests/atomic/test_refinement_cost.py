"""The refined atomic code's cost is fixed by its options (Newson and Traonmilin
2023, section 2.1 eq. 3: the code is fitted through the decoder, a sum of
shared blocks g): every image of a batch takes the same passes of the encoder
and of g, whatever the image, so the served answer's time follows from its
options. A Gauss-Newton step decodes each block and its d0 forward
differences (d0 + 1 passes of g) and the last step is checked by one more
decode; a prune-and-reseed round decodes the atoms, encodes the residual and
decodes its atoms."""

import keras
import numpy as np
import pytest
from keras import ops

from geomae_tf.datasets import spikes
from geomae_tf.layers.atomic_decoder import AtomicDecoder
from geomae_tf.models.atomic.atomic_refinement import AtomicRefinement

SIDE, K, D0, N = 16, 3, 3, 4


class CountingBlock(keras.layers.Layer):
    """g: (amplitude, row, column) to a Gaussian spike; counts the codes it decodes."""

    def build(self, input_shape):
        self.decoded = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                       name="decoded")

    def call(self, z):
        self.decoded.assign_add(ops.cast(ops.shape(z)[0], "float32"))
        grid = ops.arange(SIDE, dtype="float32")
        row = (SIDE - 1) / 2 + 4.0 * z[:, 1][:, None, None]
        col = (SIDE - 1) / 2 + 4.0 * z[:, 2][:, None, None]
        d2 = (grid[None, :, None] - row) ** 2 + (grid[None, None, :] - col) ** 2
        return (z[:, 0][:, None, None] * ops.exp(-d2 / 4.5))[..., None]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], SIDE, SIDE, 1)


class CountingDense(keras.layers.Dense):
    """A Dense layer that counts the rows it sees (the encoder's passes)."""

    def build(self, input_shape):
        super().build(input_shape)
        self.seen = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                    name="seen")

    def call(self, x):
        self.seen.assign_add(ops.cast(ops.shape(x)[0], "float32"))
        return super().call(x)


@pytest.fixture(scope="module")
def counted():
    images_in = keras.Input((SIDE, SIDE, 1))
    dense = CountingDense(K * D0, kernel_initializer=keras.initializers.RandomNormal(
        stddev=0.05, seed=1))
    encoder = keras.Model(images_in, dense(keras.layers.Flatten()(images_in)))
    block = CountingBlock()
    code = keras.Input((K * D0,))
    decoder = keras.Model(code, AtomicDecoder(block, k=K, d0=D0)(code))
    images, _ = spikes.make_spikes(N, seed=3, image_size=SIDE, sigma=1.5, max_spikes=K)
    return encoder, decoder, dense, block, images


def gauss_newton(steps):
    return (D0 + 1) * steps + 1 if steps else 0


@pytest.mark.parametrize("steps, final_steps, rounds", [(3, 3, 2), (1, 1, 1), (2, 0, 0),
                                                        (0, 1, 1)])
def test_every_image_takes_the_passes_its_options_fix(counted, steps, final_steps, rounds):
    encoder, decoder, dense, block, images = counted
    layer = AtomicRefinement(encoder, decoder, steps=steps, final_steps=final_steps,
                             rounds=rounds, merge_distance=2.0)
    layer.off_code_of()                       # found once, eagerly, before the count
    for n in (N, N // 2):                     # any batch: the same passes per image
        dense.seen.assign(0.0)
        block.decoded.assign(0.0)
        z, live = layer(images[:n])
        assert np.all(np.isfinite(ops.convert_to_numpy(z)))
        # the encoder's code, and once more per round (the residual's atoms)
        assert float(dense.seen.numpy()) == n * (1 + rounds)
        # the fallback bank's atoms, the first steps, per round: the atoms to
        # prune, the residual's atoms and the final steps; then pruning again
        decodes = (1 + gauss_newton(steps) + rounds * (2 + gauss_newton(final_steps))
                   + (1 if rounds else 0))
        assert float(block.decoded.numpy()) == n * K * decodes
