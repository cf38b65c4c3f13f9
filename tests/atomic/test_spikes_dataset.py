"""Spike images (the package's defaults): sums of off-grid Gaussian spikes."""

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


def test_curriculum_raises_the_spike_count_step_by_step():
    """The cap climbs 1, 2, ..., 10 in ten equal stages of `curriculum_steps` batches,
    every sampled count respects it, and the pipeline's first batches hold lone
    spikes only (an image of one spike has a mass over its peak at most that of an
    off-grid Gaussian, 2 pi sigma^2 / exp(-1/4), while two spikes of amplitudes
    a >= a' >= a / 2 give at least 2 pi sigma^2 * 1.5 / (1 + exp(-2)))."""
    caps = [int(spikes.curriculum_cap(step, 100)) for step in range(0, 130, 10)]
    assert caps == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 10, 10]
    for cap in (1, 4):
        _, _, counts = spikes.sample_spikes(256, np.array([3, 0]), count_cap=cap)
        assert counts.numpy().max() == cap and counts.numpy().min() >= 1
    ds = spikes.training_dataset(batch_size=16, seed=2, image_size=32, sigma=1.0,
                                 curriculum_steps=20)
    batches = [x.numpy() for x, _ in ds.take(21)]

    def mass_over_peak(batch):
        flat = batch.reshape(len(batch), -1)
        return flat.sum(1) / flat.max(1)

    unit = 2 * np.pi * 1.0 ** 2                      # a unit spike's mass, sigma 1 px
    assert mass_over_peak(batches[0]).max() <= unit / np.exp(-0.25) + 1e-3
    assert mass_over_peak(batches[-1]).max() > unit * 1.5 / (1 + np.exp(-2.0))
    with pytest.raises(ValueError, match='`curriculum_steps` needs mode="stream"'):
        spikes.training_dataset(mode="fixed", n_train=8, curriculum_steps=10)


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
