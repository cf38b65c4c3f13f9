"""The disk data of JMIV 2020 (section 4.1, appendix A, eq. 11-12)."""

import numpy as np
import pytest
import tensorflow as tf

from geomae_tf.datasets import disks


def test_exact_renderer_matches_the_monte_carlo_procedure_of_appendix_a():
    radii = np.array([0.5, 3.0, 10.0, 17.5, 31.0], np.float32)
    exact = disks.render_disks(radii).numpy()
    mc = disks.render_disks_monte_carlo(radii, n_samples=4096, seed=3)
    assert np.mean((exact - mc) ** 2) < 2e-5
    assert np.abs(exact - mc).max() < 0.05


def test_blurred_disk_keeps_the_area_and_is_centred():
    radii = np.array([4.0, 12.0, 25.0], np.float32)
    images = disks.render_disks(radii).numpy()[..., 0]
    np.testing.assert_allclose(images.sum(axis=(1, 2)), np.pi * radii ** 2, rtol=0.01)
    # symmetric about the centre ((H-1)/2, (W-1)/2): flips leave it unchanged
    np.testing.assert_allclose(images, images[:, ::-1, :], atol=1e-5)
    np.testing.assert_allclose(images, np.transpose(images, (0, 2, 1)), atol=1e-5)
    assert images.min() >= 0.0 and images.max() <= 1.0


def test_fixed_set_is_seeded_and_finite():
    def radii_of(seed):
        ds = disks.training_dataset(batch_size=50, n_train=200, seed=seed)
        return np.sort(np.concatenate([x.numpy().sum(axis=(1, 2, 3)) for x, _ in ds]))

    a, b, c = radii_of(1), radii_of(1), radii_of(2)
    assert len(a) == 200
    np.testing.assert_allclose(a, b)
    assert not np.allclose(a, c)


def test_a_hole_removes_radii_from_both_modes():
    r = disks.sample_radii(5000, seed=0, exclude=[(11, 18)])
    assert not np.any((r >= 11) & (r < 18))
    assert r.min() >= 0 and r.max() < 32
    assert np.any(r < 11) and np.any(r >= 18)
    stream = disks.training_dataset(mode="stream", batch_size=64, seed=5, max_radius=18)
    areas = np.concatenate([x.numpy().sum(axis=(1, 2, 3)) for x, _ in stream.take(20)])
    assert areas.max() < np.pi * 18.5 ** 2


def test_stream_is_infinite_and_samples_the_true_distribution():
    stream = disks.training_dataset(mode="stream", batch_size=256, seed=0)
    assert stream.cardinality() == tf.data.INFINITE_CARDINALITY
    x, y = next(iter(stream))
    np.testing.assert_array_equal(x.numpy(), y.numpy())
    radii = np.sqrt(x.numpy().sum(axis=(1, 2, 3)) / np.pi)
    # uniform on (0, 32): mean 16, and both halves populated
    assert 13.5 < radii.mean() < 18.5
    assert (radii < 16).sum() > 80 and (radii > 16).sum() > 80


@pytest.mark.parametrize("kwargs, message", [
    ({"mode": "random"}, "`mode` must be one of"),
    ({"batch_size": 0}, "`batch_size` must be"),
    ({"exclude": [(0, 40)]}, "removes the whole range"),
    ({"sigma": -1.0}, "`sigma` must be"),
    ({"radius_range": (5, 2)}, "low < high"),
])
def test_bad_dataset_arguments_are_named(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        disks.training_dataset(**kwargs)
