"""What each block coordinate does: checked on hand-made blocks whose answer is known."""

import numpy as np
import pytest

from geomae_tf import zoo
from geomae_tf.analysis import atomic_axes
from geomae_tf.analysis.atomic import locate_atoms

SIZE, SIGMA, SHIFT = 32, 2.0, 4.0


def gaussian_block(order=(0, 1, 2)):
    """A block g whose coordinates `order[0]`, `order[1]`, `order[2]` are the
    amplitude, the row offset and the column offset (SHIFT px per unit) of a
    Gaussian of standard deviation SIGMA centred in a SIZE x SIZE image."""
    grid = np.arange(SIZE, dtype=np.float64)
    centre = (SIZE - 1) / 2

    def block(z):
        z = np.asarray(z, np.float64)
        amp = z[:, order[0]]
        row = centre + SHIFT * z[:, order[1]]
        col = centre + SHIFT * z[:, order[2]]
        d2 = ((grid[None, :, None] - row[:, None, None]) ** 2
              + (grid[None, None, :] - col[:, None, None]) ** 2)
        return (amp[:, None, None] * np.exp(-d2 / (2 * SIGMA ** 2)))[..., None]

    return block


def gaussian_codes(n, order=(0, 1, 2), seed=0):
    rng = np.random.default_rng(seed)
    z = np.zeros((n, 3), np.float32)
    z[:, order[0]] = rng.uniform(0.5, 1.0, n)
    z[:, order[1]] = rng.uniform(-1.5, 1.5, n)
    z[:, order[2]] = rng.uniform(-1.5, 1.5, n)
    return z


def test_gaussian_block_is_located_exactly():
    z = gaussian_codes(20)
    positions, amplitudes = locate_atoms(gaussian_block()(z)[:, None])
    centre = (SIZE - 1) / 2
    np.testing.assert_allclose(amplitudes[:, 0], z[:, 0], rtol=1e-5)
    np.testing.assert_allclose(positions[:, 0, 0], centre + SHIFT * z[:, 1], atol=1e-4)
    np.testing.assert_allclose(positions[:, 0, 1], centre + SHIFT * z[:, 2], atol=1e-4)


def test_jacobian_of_a_known_block():
    """Coordinate 0 is the amplitude: d log a / d z0 = 1 / z0, times its spread;
    coordinates 1 and 2 move the centre SHIFT px per unit, times their spread."""
    z = gaussian_codes(50)
    spread = z.std(axis=0)
    out = atomic_axes.block_jacobians(gaussian_block(), z, spread)
    jac = out["jacobian"]
    assert jac.shape == (50, 3, 3)
    np.testing.assert_allclose(jac[:, 0, 0], spread[0] / z[:, 0], rtol=2e-3)
    np.testing.assert_allclose(jac[:, 1, 1], SHIFT * spread[1], rtol=1e-3)
    np.testing.assert_allclose(jac[:, 2, 2], SHIFT * spread[2], rtol=1e-3)
    off_diagonal = jac[:, ~np.eye(3, dtype=bool)]
    assert np.abs(off_diagonal).max() < 1e-3


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 0, 1), (1, 2, 0)])
def test_table_identifies_amplitude_row_and_column(order):
    """Whatever coordinate carries each attribute, the tables say which."""
    z = gaussian_codes(60, order)
    table = atomic_axes.effect_table(
        atomic_axes.block_jacobians(gaussian_block(order), z, z.std(axis=0))["jacobian"])
    for attribute, coordinate in enumerate(order):
        assert table["row_share"][coordinate, attribute] > 0.999
        assert table["column_share"][coordinate, attribute] > 0.999
    # the row (px per std) entries are SHIFT times the spread of the coordinate
    np.testing.assert_allclose(table["mean_abs"][order[1], 1], SHIFT * z[:, order[1]].std(),
                               rtol=1e-3)
    np.testing.assert_allclose(table["mean_signed"][order[2], 2],
                               SHIFT * z[:, order[2]].std(), rtol=1e-3)
    # a coordinate that moves every atom the same way is fully consistent
    assert table["sign_consistency"][order[1], 1] > 0.999
    assert table["n_blocks"] == 60
    text = atomic_axes.format_table(table)
    assert text.count("\n") == 2 + 2  # header, rule, 3 coordinates


def test_mixed_block_splits_its_effect():
    """A coordinate that moves the atom diagonally shares its effect equally
    between rows and columns."""
    base = gaussian_block()

    def diagonal(z):
        z = np.asarray(z, np.float64)
        return base(np.stack([z[:, 0], z[:, 1], z[:, 1] + z[:, 2]], axis=1))

    z = gaussian_codes(40) * np.array([1.0, 0.5, 0.5], np.float32)
    table = atomic_axes.effect_table(
        atomic_axes.block_jacobians(diagonal, z, np.ones(3))["jacobian"])
    np.testing.assert_allclose(table["row_share"][1], [0.0, 0.5, 0.5], atol=1e-3)
    np.testing.assert_allclose(table["row_share"][2], [0.0, 0.0, 1.0], atol=1e-3)


def test_bad_arguments():
    z = gaussian_codes(5)
    with pytest.raises(ValueError, match="`spread` must hold 3 positive numbers"):
        atomic_axes.block_jacobians(gaussian_block(), z, [1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="`step` must be > 0"):
        atomic_axes.block_jacobians(gaussian_block(), z, np.ones(3), step=0.0)
    with pytest.raises(ValueError, match="`block_fn` must return 5 atoms"):
        atomic_axes.block_jacobians(lambda c: np.zeros((4, 8, 8)), z, np.ones(3))
    with pytest.raises(ValueError, match="`jacobian` must be shaped"):
        atomic_axes.effect_table(np.zeros((3, 2, 3)))


def test_active_blocks_of_an_atomic_model():
    """`block_codes_of` returns exactly the blocks whose atom passes the threshold."""
    model = zoo.atomic_autoencoder(k=3, d0=3, image_size=16)
    codes = np.random.default_rng(0).normal(size=(8, 9)).astype(np.float32)
    _, amplitudes = locate_atoms(model.atoms_from_codes(codes))
    threshold = float(np.median(amplitudes))
    active, image, block = atomic_axes.block_codes_of(model, codes, threshold)
    assert len(active) == int(np.sum(amplitudes > threshold)) > 0
    np.testing.assert_array_equal(active, codes.reshape(8, 3, 3)[image, block])
    assert np.all(amplitudes[image, block] > threshold)
