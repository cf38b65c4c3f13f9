"""The separable 2-D [1, 2, 1] encoder returns (row, column) codes of a 2-D Dirac."""

import numpy as np
import pytest

from geomae_tf.layers.dirac_position_encoder_2d import DiracPositionEncoder2D
from tests.harness import check_layer


def diracs_2d(size):
    images = np.zeros((size * size, size, size, 1), "float32")
    rows, cols = np.divmod(np.arange(size * size), size)
    images[np.arange(size * size), rows, cols, 0] = 1.0
    return images, rows, cols


@pytest.mark.parametrize("levels", [1, 3, 5])
def test_every_2d_dirac_gives_its_row_and_column(levels):
    size = 2 ** levels
    images, rows, cols = diracs_2d(size)
    out = np.asarray(DiracPositionEncoder2D(levels=levels)(images))
    assert out.shape == (size * size, 1, 1, 2)
    np.testing.assert_array_equal(out[:, 0, 0, 0], size - rows)
    np.testing.assert_array_equal(out[:, 0, 0, 1], size - cols)


def test_scale_multiplies_both_codes_by_b_to_the_l():
    images, rows, cols = diracs_2d(8)
    out = np.asarray(DiracPositionEncoder2D(levels=3, scale=-2.0)(images))[:, 0, 0]
    np.testing.assert_allclose(out, (-2.0) ** 3 * np.stack([8 - rows, 8 - cols], 1))


def test_rectangular_image_and_codes_per_channel():
    x = np.zeros((1, 16, 32, 2), "float32")
    x[0, 5, 20, 0] = 1.0
    x[0, 9, 2, 1] = 1.0
    out = np.asarray(DiracPositionEncoder2D(levels=4)(x))
    assert out.shape == (1, 1, 2, 4)
    # the Dirac at column 20 lies in the second 16-wide block: local column 4.
    np.testing.assert_array_equal(out[0, 0, 1, [0, 2]], [16 - 5, 16 - 4])
    np.testing.assert_array_equal(out[0, 0, 0, [1, 3]], [16 - 9, 16 - 2])


def test_harness_and_fixed_weights(tmp_path):
    layer = DiracPositionEncoder2D(levels=2)
    check_layer(layer, (4, 8, 1), tmp_path)
    assert not layer.trainable_weights


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="scale"):
        DiracPositionEncoder2D(scale=0)
    with pytest.raises(ValueError, match="rank 4"):
        DiracPositionEncoder2D(levels=1)(np.zeros((1, 8, 1), "float32"))
    with pytest.raises(ValueError, match="multiples of 2 \\*\\* levels"):
        DiracPositionEncoder2D(levels=2)(np.zeros((1, 8, 6, 1), "float32"))
