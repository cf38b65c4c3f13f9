"""Spike images (CONTRACT.md defaults): sums of off-grid Gaussian spikes."""

import numpy as np
import pytest

from geomae_tf import datasets
from geomae_tf.datasets import spikes


def numpy_render(positions, amplitudes, count, size=64, sigma=2.0):
    i = np.arange(size, dtype=np.float64)
    image = np.zeros((size, size))
    for (r, c), a in zip(positions[:count], amplitudes[:count]):
        image += a * np.exp(-((i[:, None] - r) ** 2 + (i[None, :] - c) ** 2) / (2 * sigma ** 2))
    return image


@pytest.fixture(scope="module")
def sample():
    return spikes.make_spikes(400, seed=11)


def test_registered():
    assert datasets.DATASETS["spikes"] is spikes


def test_images_are_exactly_the_sum_of_their_spikes(sample):
    images, f = sample
    assert images.shape == (400, 64, 64, 1) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0 + 1e-6
    for n in range(0, 400, 37):
        np.testing.assert_allclose(images[n, ..., 0],
                                   numpy_render(f["positions"][n], f["amplitudes"][n],
                                                f["count"][n]), atol=1e-5)


def test_counts_amplitudes_and_padding(sample):
    _, f = sample
    counts = f["count"]
    assert counts.min() == 1 and counts.max() == 10
    assert len(np.unique(counts)) == 10            # every count 1..10 occurs
    slots = np.arange(10)[None] < counts[:, None]
    assert np.all(np.isnan(f["positions"][~slots]))
    assert np.all(f["amplitudes"][~slots] == 0)
    assert not np.any(np.isnan(f["positions"][slots]))
    # U(0.5, 1), times the rare down-scaling that keeps the image in [0, 1].
    amp = f["amplitudes"][slots] / np.repeat(f["scale"], counts)
    assert amp.min() >= 0.5 - 1e-6 and amp.max() <= 1.0 + 1e-6
    assert np.mean(f["scale"] < 1.0) < 0.1


def test_positions_off_grid_separated_and_away_from_the_border(sample):
    _, f = sample
    sigma = spikes.SIGMA
    for pos, count in zip(f["positions"], f["count"]):
        p = pos[:count]
        assert p.min() >= 2 * sigma and p.max() <= 63 - 2 * sigma
        d = np.linalg.norm(p[:, None] - p[None], axis=-1) + np.eye(count) * 1e9
        assert d.min() >= 2 * sigma
    frac = np.concatenate([pos[:c] for pos, c in zip(f["positions"], f["count"])]) % 1.0
    # Continuous positions: fractional parts spread over [0, 1).
    assert np.histogram(frac, bins=4, range=(0, 1))[0].min() > 0.15 * frac.size


def test_seeded():
    a, fa = spikes.make_spikes(5, seed=3)
    b, fb = spikes.make_spikes(5, seed=3)
    c, _ = spikes.make_spikes(5, seed=4)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fa["count"], fb["count"])
    assert np.abs(a - c).max() > 0.1


def test_stream_pipeline_is_fresh_and_reproducible():
    ds = spikes.training_dataset(batch_size=4, seed=5, image_size=32, sigma=1.0)
    (x1, y1), (x2, _) = list(ds.take(2))
    assert x1.shape == (4, 32, 32, 1)
    np.testing.assert_array_equal(x1.numpy(), y1.numpy())
    assert np.abs(x1.numpy() - x2.numpy()).max() > 0.1
    again = next(iter(spikes.training_dataset(batch_size=4, seed=5, image_size=32, sigma=1.0)))
    np.testing.assert_array_equal(again[0].numpy(), x1.numpy())
    assert 0.0 <= x1.numpy().min() and x1.numpy().max() <= 1.0 + 1e-6


def test_fixed_pipeline_is_finite():
    ds = spikes.training_dataset(batch_size=4, mode="fixed", n_train=10, image_size=32,
                                 sigma=1.0)
    assert [x.shape[0] for x, _ in ds] == [4, 4, 2]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"mode": "forever"}, ValueError, r"`mode` must be one of \['fixed', 'stream'\]"),
    ({"amplitude_range": (1.0, 0.5)}, ValueError, r"`amplitude_range` must be a \(low, high\)"),
    ({"border": 40.0}, ValueError, r"`border` leaves no room"),
    ({"max_spikes": 0}, ValueError, r"`max_spikes` must be an int >= 1"),
    ({"sigma": 0.0}, ValueError, r"`sigma` must be > 0"),
])
def test_bad_arguments_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        spikes.training_dataset(**kwargs)
