"""Classical spike recovery (local maxima, centroid, greedy Gaussian fit) and its
scoring with the atomic autoencoder's matching and metrics."""

import numpy as np
import pytest

from geomae_tf.analysis import atomic, spike_baselines
from geomae_tf.datasets import spikes

#: Sub-pixel offsets of an isolated spike, per axis.
OFFSETS = np.linspace(-0.4, 0.4, 5)


def render(positions, amplitudes):
    """One 64x64 image (64, 64, 1) of spikes at `positions` (S, 2)."""
    return spikes.render_spikes(np.asarray([positions], np.float32),
                                np.asarray([amplitudes], np.float32)).numpy()[0]


def isolated_spikes():
    """(true position, amplitude, image) of isolated spikes on a grid of sub-pixel offsets."""
    out = []
    for i, dr in enumerate(OFFSETS):
        for j, dc in enumerate(OFFSETS):
            position = np.array([30.0 + dr, 33.0 + dc])
            amplitude = 0.5 + 0.1 * ((i + j) % 5)
            out.append((position, amplitude, render([position], [amplitude])))
    return out


@pytest.fixture(scope="module")
def truth():
    images, f = spikes.make_spikes(40, seed=21)
    return images, f["positions"], f["amplitudes"], f["count"]


def padded(detections):
    """Detections as (positions (N, P, 2), amplitudes (N, P)), zero-padded."""
    width = max(1, max(len(d) for d in detections))
    pos = np.zeros((len(detections), width, 2))
    amp = np.zeros((len(detections), width))
    for i, d in enumerate(detections):
        pos[i, :len(d)], amp[i, :len(d)] = d[:, :2], d[:, 2]
    return pos, amp


def test_local_maxima_returns_the_nearest_pixel_and_its_value():
    for position, amplitude, image in isolated_spikes():
        d = spike_baselines.local_maxima(image)
        assert d.shape == (1, 3)
        np.testing.assert_array_equal(d[0, :2], np.rint(position))
        assert np.max(np.abs(d[0, :2] - position)) < 0.5
        # the peak pixel's value: the Gaussian at most 0.4 * sqrt(2) px off its centre
        assert amplitude * np.exp(-0.32 / 8.0) - 1e-6 <= d[0, 2] <= amplitude + 1e-6


def test_centroid_refines_the_position():
    for position, _, image in isolated_spikes():
        d = spike_baselines.centroid_maxima(image)
        assert d.shape == (1, 3)
        error = np.linalg.norm(d[0, :2] - position)
        assert error < 0.35
        # the truncated window pulls the centroid towards the peak pixel, never past it
        pixel_error = np.linalg.norm(np.rint(position) - position)
        assert error < 0.6 * pixel_error + 1e-9


def test_greedy_fit_is_exact_on_an_isolated_spike():
    for position, amplitude, image in isolated_spikes():
        d = spike_baselines.greedy_fit(image)
        assert d.shape == (1, 3)
        assert np.linalg.norm(d[0, :2] - position) < 0.05
        assert abs(d[0, 2] - amplitude) / amplitude < 0.01


@pytest.mark.parametrize("angle", [0.0, 0.3, np.pi / 4])
def test_greedy_fit_separates_two_spikes_4_px_apart(angle):
    # At 2 sigma apart two equal Gaussians sum to one flat-topped peak: one local maximum.
    first = np.array([30.3, 31.1])
    second = first + 4.0 * np.array([np.sin(angle), np.cos(angle)])
    image = render([first, second], [0.5, 0.5])
    assert len(spike_baselines.local_maxima(image)) == 1
    d = spike_baselines.greedy_fit(image)
    assert d.shape == (2, 3)
    p, t = atomic.match_spikes(d[:, :2], np.stack([first, second]))
    assert len(p) == 2
    np.testing.assert_allclose(d[p, :2], np.stack([first, second])[t], atol=1e-3)
    np.testing.assert_allclose(d[:, 2], 0.5, rtol=1e-3)


@pytest.mark.parametrize("method", sorted(spike_baselines.METHODS))
def test_an_empty_image_gives_no_detection(method):
    detections = spike_baselines.detect(np.zeros((2, 64, 64, 1), np.float32), method)
    assert [d.shape for d in detections] == [(0, 3), (0, 3)]


def test_perfect_detections_score_perfectly(truth):
    _, pos, amp, count = truth
    detections = [np.concatenate([pos[i, :count[i]], amp[i, :count[i], None]], axis=1)
                  for i in range(len(count))]
    m = spike_baselines.score_detections(detections, pos, amp, count)
    assert m["recall"] == m["precision"] == m["f1"] == 1.0
    assert m["position_rmse"] == 0.0
    assert m["amplitude_error"] == 0.0
    assert m["one_spike_share"] == 1.0
    assert m["n_true"] == m["n_active"] == m["n_matched"] == count.sum()


def test_a_false_detection_lowers_precision_exactly(truth):
    _, pos, amp, count = truth
    detections = []
    for i in range(len(count)):
        true = pos[i, :count[i]]
        grid = np.stack(np.meshgrid(np.arange(4, 60), np.arange(4, 60)), -1).reshape(-1, 2)
        far = grid[np.linalg.norm(grid[:, None] - true[None], axis=-1).min(axis=1) > 8][0]
        detections.append(np.concatenate([
            np.concatenate([true, amp[i, :count[i], None]], axis=1), [[*far, 0.8]]]))
    m = spike_baselines.score_detections(detections, pos, amp, count)
    n_true = count.sum()
    assert m["recall"] == 1.0
    assert m["precision"] == pytest.approx(n_true / (n_true + len(count)))
    assert m["position_rmse"] == 0.0
    # the false detection's half-maximum region holds no spike
    assert m["one_spike_share"] == pytest.approx(n_true / (n_true + len(count)))


def test_scores_equal_the_atomic_evaluation_of_the_detections_drawn_as_atoms(truth):
    """Each detection rendered as the known PSF is the atom of a perfect
    decomposition: `spike_recovery` on those atoms gives the same scores."""
    images, pos, amp, count = truth
    detections = spike_baselines.detect(images, "local maxima + 5x5 centroid")
    det_pos, det_amp = padded(detections)
    n, k = det_amp.shape
    atoms = spikes.render_spikes(det_pos.reshape(n * k, 1, 2),
                                 det_amp.reshape(n * k, 1)).numpy().reshape(n, k, 64, 64, 1)
    expected = atomic.spike_recovery(atoms, pos, amp, count, threshold=0.0)
    got = spike_baselines.score_detections(detections, pos, amp, count)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-4), key
    assert got["recall"] < 1.0 or got["position_rmse"] > 0.2   # a real, imperfect method


def test_scores_by_count_add_up(truth):
    images, pos, amp, count = truth
    detections = spike_baselines.detect(images, "local maxima (3x3)")
    total = spike_baselines.score_detections(detections, pos, amp, count)
    by_count = spike_baselines.scores_by_count(detections, pos, amp, count)
    assert by_count["count"] == sorted(set(count.tolist()))
    assert sum(by_count["n_images"]) == len(count)
    spikes_per_count = np.array(by_count["count"]) * np.array(by_count["n_images"])
    matched = np.sum(np.array(by_count["recall"]) * spikes_per_count)
    assert matched == pytest.approx(total["n_matched"])


def test_arguments_are_checked(truth):
    _, pos, amp, count = truth
    with pytest.raises(ValueError, match="`method` must be one of"):
        spike_baselines.detect(np.zeros((1, 64, 64, 1), np.float32), "watershed")
    with pytest.raises(ValueError, match="`window` must be an odd int"):
        spike_baselines.centroid_maxima(np.zeros((64, 64)), window=4)
    with pytest.raises(ValueError, match="`image` must be shaped"):
        spike_baselines.greedy_fit(np.zeros((2, 64, 64)))
    with pytest.raises(ValueError, match="one array per image"):
        spike_baselines.score_detections([np.zeros((0, 3))], pos, amp, count)
    with pytest.raises(ValueError, match=r"`detections\[0\]` must be shaped \(P, 3\)"):
        spike_baselines.score_detections([np.zeros((2, 2))] * len(count), pos, amp, count)
