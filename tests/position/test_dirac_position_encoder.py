"""The hand-crafted [1, 2, 1] encoder: Table 2 and Proposition 3 of JMIV 2020."""

import numpy as np
import pytest

from geomae_tf.layers.dirac_position_encoder import DiracPositionEncoder
from tests.harness import check_layer

# Table 2 of the paper: every one-hot vector of length 8 and u(1), u(2), u(3).
TABLE2_U1 = [[2, 0, 0, 0], [1, 1, 0, 0], [0, 2, 0, 0], [0, 1, 1, 0],
             [0, 0, 2, 0], [0, 0, 1, 1], [0, 0, 0, 2], [0, 0, 0, 1]]
TABLE2_U2 = [[4, 0], [3, 1], [2, 2], [1, 3], [0, 4], [0, 3], [0, 2], [0, 1]]
TABLE2_U3 = [[8], [7], [6], [5], [4], [3], [2], [1]]


def onehots(n):
    return np.eye(n, dtype="float32")[:, :, None]


def test_table2_every_layer_exactly():
    u1, u2, u3 = DiracPositionEncoder(levels=3).intermediate_outputs(onehots(8))
    np.testing.assert_array_equal(np.asarray(u1)[..., 0], TABLE2_U1)
    np.testing.assert_array_equal(np.asarray(u2)[..., 0], TABLE2_U2)
    np.testing.assert_array_equal(np.asarray(u3)[..., 0], TABLE2_U3)


def test_section_5_1_example_n4():
    u1, u2 = DiracPositionEncoder(levels=2).intermediate_outputs(onehots(4)[[0, 3]])
    np.testing.assert_array_equal(np.asarray(u1)[0, :, 0], [2, 0])
    np.testing.assert_array_equal(np.asarray(u2)[:, 0, 0], [4, 1])


@pytest.mark.parametrize("levels", range(1, 9))
def test_proposition3_inverted_position(levels):
    n = 2 ** levels
    out = np.asarray(DiracPositionEncoder(levels=levels)(onehots(n)))
    assert out.shape == (n, 1, 1)
    np.testing.assert_array_equal(out[:, 0, 0], n - np.arange(n))


@pytest.mark.parametrize("scale", [3.0, -0.5, 1.7])
def test_any_multiple_of_the_filter_up_to_its_factor(scale):
    levels = 6
    n = 2 ** levels
    out = np.asarray(DiracPositionEncoder(levels=levels, scale=scale)(onehots(n)))[:, 0, 0]
    np.testing.assert_allclose(out, scale ** levels * (n - np.arange(n)), rtol=1e-5)


def test_linear_on_triangular_diracs_between_samples():
    # E is linear and c_a = 2^L - a is affine, so a triangular Dirac at a
    # continuous interior position is encoded exactly as well.
    t = np.arange(64)
    positions = np.array([0.0, 0.25, 10.5, 31.9, 62.75, 63.0])
    x = np.maximum(0, 1 - np.abs(t[None] - positions[:, None])).astype("float32")[..., None]
    out = np.asarray(DiracPositionEncoder(levels=6)(x))[:, 0, 0]
    np.testing.assert_allclose(out, 64 - positions, atol=1e-4)


def test_partial_levels_and_channels_are_independent():
    x = np.zeros((2, 16, 2), "float32")
    x[0, 3, 0] = 1.0   # channel 0: position 3
    x[0, 12, 1] = 2.0  # channel 1: twice a Dirac at 12
    out = np.asarray(DiracPositionEncoder(levels=4)(x))
    np.testing.assert_allclose(out[0, 0], [16 - 3, 2 * (16 - 12)])
    np.testing.assert_allclose(out[1], 0.0)
    two_levels = np.asarray(DiracPositionEncoder(levels=2)(x))
    assert two_levels.shape == (2, 4, 2)
    # u(1) of a one-hot at 3 is [0, 1, 1, 0, ...], so u(2) = [1, 1 + 2, 0, 0]
    np.testing.assert_array_equal(two_levels[0, :, 0], [1, 3, 0, 0])


def test_weights_are_fixed(tmp_path):
    layer = DiracPositionEncoder(levels=3, scale=2.0)
    reloaded = check_layer(layer, (8, 1), tmp_path)
    assert not layer.trainable_weights
    np.testing.assert_allclose(np.asarray(layer.kernel), [2.0, 4.0, 2.0])
    np.testing.assert_allclose(np.asarray(reloaded(onehots(8)))[:, 0, 0],
                               8 * (8 - np.arange(8)))


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="scale"):
        DiracPositionEncoder(scale=0.0)
    with pytest.raises(ValueError, match="levels"):
        DiracPositionEncoder(levels=0)
    with pytest.raises(TypeError, match="levels"):
        DiracPositionEncoder(levels=2.5)
    with pytest.raises(ValueError, match="multiple of 2 \\*\\* levels"):
        DiracPositionEncoder(levels=3)(np.zeros((1, 12, 1), "float32"))
    with pytest.raises(ValueError, match="rank 3"):
        DiracPositionEncoder(levels=1)(np.zeros((1, 8), "float32"))
