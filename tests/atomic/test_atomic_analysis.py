"""Spike recovery scores and figures of the atomic family."""

import numpy as np
import pytest

from geomae_tf.analysis import atomic
from geomae_tf.datasets import spikes, strokes
from geomae_tf.models.atomic import atomic_autoencoder

K = 10


def render_atoms(positions, amplitudes, size=64, sigma=2.0):
    """One Gaussian atom per (position, amplitude) row: (N, S, H, W, 1)."""
    n, s = amplitudes.shape
    atoms = spikes.render_spikes(np.nan_to_num(positions).reshape(n * s, 1, 2),
                                 amplitudes.reshape(n * s, 1), size, sigma).numpy()
    return atoms.reshape(n, s, size, size, 1)


@pytest.fixture(scope="module")
def truth():
    images, f = spikes.make_spikes(60, seed=21)
    return images, f["positions"], f["amplitudes"], f["count"]


def test_a_perfect_decomposition_scores_perfectly(truth):
    images, pos, amp, count = truth
    atoms = render_atoms(pos, amp)
    np.testing.assert_allclose(atoms.sum(axis=1), images, atol=1e-5)
    m = atomic.spike_recovery(atoms, pos, amp, count)
    assert m["precision"] == m["recall"] == m["f1"] == 1.0
    assert m["position_rmse"] < 1e-4
    assert m["amplitude_error"] < 1e-4
    assert m["one_spike_share"] == 1.0
    assert m["n_true"] == m["n_active"] == m["n_matched"] == count.sum()


def test_nearest_pixel_alone_is_about_0_41_px(truth):
    _, pos, amp, count = truth
    m = atomic.spike_recovery(render_atoms(pos, amp), pos, amp, count, refine=False)
    # Uniform sub-pixel offsets: sqrt(2 / 12) = 0.408 px.
    assert 0.33 < m["position_rmse"] < 0.48
    assert m["recall"] == 1.0


def test_shifted_and_dimmed_atoms(truth):
    _, pos, amp, count = truth
    atoms = render_atoms(pos + np.array([0.3, -0.4]), 0.9 * amp)
    m = atomic.spike_recovery(atoms, pos, amp, count)
    assert m["position_rmse"] == pytest.approx(0.5, abs=1e-3)
    assert m["amplitude_error"] == pytest.approx(0.1, abs=1e-3)
    assert m["amplitude_bias"] == pytest.approx(-0.1, abs=1e-3)   # peaks fall short
    assert m["recall"] == m["precision"] == 1.0


def test_missed_and_spurious_atoms(truth):
    _, pos, amp, count = truth
    # Drop the first spike of every image and put a far spurious atom instead.
    pred_pos, pred_amp = pos.copy(), amp.copy()
    pred_pos[:, 0] = np.nan
    pred_amp[:, 0] = 0.0
    extra_pos = np.full((len(pos), 1, 2), np.nan)
    extra_amp = np.zeros((len(pos), 1))
    for n in range(len(pos)):
        p = pos[n, :count[n]]
        grid = np.stack(np.meshgrid(np.arange(4, 60), np.arange(4, 60)), -1).reshape(-1, 2)
        far = grid[np.linalg.norm(grid[:, None] - p[None], axis=-1).min(1) > 8]
        extra_pos[n, 0], extra_amp[n, 0] = far[0], 0.8
    atoms = np.concatenate([render_atoms(pred_pos, pred_amp),
                            render_atoms(extra_pos, extra_amp)], axis=1)
    m = atomic.spike_recovery(atoms, pos, amp, count)
    n_true = count.sum()
    assert m["recall"] == pytest.approx((n_true - len(pos)) / n_true)
    assert m["precision"] == pytest.approx((n_true - len(pos)) / n_true)
    assert m["position_rmse"] < 1e-4


def test_recovery_by_count_shows_where_spikes_are_lost(truth, tmp_path):
    """Atoms that drop one spike only in images of 6 or more spikes: recall is 1 up
    to 5 spikes and (c - 1) / c from 6 on; precision stays 1 throughout."""
    _, pos, amp, count = truth
    pred_pos, pred_amp = pos.copy(), amp.copy()
    crowded = count >= 6
    pred_pos[crowded, 0], pred_amp[crowded, 0] = np.nan, 0.0
    by = atomic.recovery_by_count(render_atoms(pred_pos, pred_amp), pos, amp, count)
    assert by["count"] == sorted(set(count.tolist()))
    assert sum(by["n_images"]) == len(count)
    for c, recall, precision in zip(by["count"], by["recall"], by["precision"]):
        assert recall == pytest.approx(1.0 if c < 6 else (c - 1) / c)
        assert precision == 1.0
    path = atomic.recovery_by_count_figure(by, tmp_path / "by_count.png")
    assert path.stat().st_size > 0


def test_a_merged_atom_holds_two_spikes():
    pos = np.array([[[20.0, 20.0], [20.0, 23.0]]])
    amp = np.array([[1.0, 1.0]])
    merged = render_atoms(pos, amp).sum(axis=1, keepdims=True)       # one atom, two spikes
    atoms = np.concatenate([merged, np.zeros_like(merged)], axis=1)
    m = atomic.spike_recovery(atoms, pos, amp, np.array([2]))
    assert m["one_spike_share"] == 0.0
    assert m["recall"] == 0.5 and m["precision"] == 1.0


def test_hungarian_matching_beats_greedy_and_respects_the_gate():
    true = np.array([[10.0, 0.0], [11.5, 0.0]])
    pred = np.array([[10.9, 0.0], [12.2, 0.0]])
    # Greedy nearest-first would give 10.9 -> 11.5 and leave 12.2 beyond the gate.
    p, t = atomic.match_spikes(pred, true, gate=2.0)
    assert sorted(zip(p, t)) == [(0, 0), (1, 1)]
    p, t = atomic.match_spikes(np.array([[13.0, 0.0]]), np.array([[10.0, 0.0]]), gate=2.0)
    assert len(p) == 0


def test_locate_atoms_is_exact_for_off_grid_gaussians():
    pos = np.array([[[10.3, 40.7], [31.9, 5.2]]])
    amp = np.array([[0.7, 0.55]])
    est_pos, est_amp = atomic.locate_atoms(render_atoms(pos, amp))
    np.testing.assert_allclose(est_pos, pos, atol=1e-4)
    np.testing.assert_allclose(est_amp, amp, atol=1e-5)


def test_bad_inputs_raise(truth):
    _, pos, amp, count = truth
    with pytest.raises(ValueError, match=r"`atoms` must be shaped \(N, k, H, W\)"):
        atomic.locate_atoms(np.zeros((2, 64, 64)))
    with pytest.raises(ValueError, match=r"`positions` must be shaped \(N, max_spikes, 2\)"):
        atomic.spike_recovery(np.zeros((3, K, 64, 64, 1)), pos, amp, count)
    with pytest.raises(TypeError, match="`model` must be an atomic autoencoder"):
        atomic.evaluate_spikes(object())


def test_stroke_matching_counts_whole_strokes_only():
    """Atoms that are the strokes score 1; an atom that is half a stroke, or
    two strokes in one, matches nothing (section 3: an atom is one stroke)."""
    images, f = strokes.make_strokes(6, seed=5, image_size=32, min_strokes=2, max_strokes=3,
                                     return_strokes=True)
    counts, true = f["count"], f["strokes"]
    k = 5
    perfect = np.zeros((6, k, 32, 32, 1), np.float32)
    for i, c in enumerate(counts):
        perfect[i, k - c:, ..., 0] = true[i, :c][::-1]       # order does not matter
    m = atomic.stroke_matching(perfect, true, counts)
    assert m["stroke_recall"] == m["atom_precision"] == m["stroke_match_rate"] == 1.0
    assert m["stroke_cosine"] == pytest.approx(1.0)

    # image 0: its first stroke cut in two halves (both active), its others kept
    split = perfect.copy()
    s0 = true[0, 0]
    rows = np.nonzero(s0.max(axis=1) > 0.05)[0]
    cut = (rows.min() + rows.max()) // 2 + 1
    top, bottom = s0.copy(), s0.copy()
    top[cut:], bottom[:cut] = 0, 0
    if top.max() <= atomic.ACTIVE_THRESHOLD or bottom.max() <= atomic.ACTIVE_THRESHOLD:
        pytest.skip("the generator drew a stroke too flat to cut")
    split[0] = 0
    split[0, 0, ..., 0], split[0, 1, ..., 0] = top, bottom
    split[0, 2:2 + counts[0] - 1, ..., 0] = true[0, 1:counts[0]]
    n_strokes, n_active = counts.sum(), counts.sum() + 1
    halves = atomic.stroke_matching(split, true, counts)
    cos_half = max(np.sum(top * s0), np.sum(bottom * s0)) / (
        np.linalg.norm(s0) * np.linalg.norm(top if np.sum(top * s0) > np.sum(bottom * s0)
                                            else bottom))
    lost = 0 if cos_half >= atomic.MIN_STROKE_COSINE else 1
    assert halves["stroke_recall"] == pytest.approx((n_strokes - lost) / n_strokes)
    assert halves["atom_precision"] == pytest.approx((n_strokes - lost) / n_active)

    # image 1: its first two strokes in one atom
    merged = perfect.copy()
    merged[1] = 0
    merged[1, 0, ..., 0] = true[1, 0] + true[1, 1]
    merged[1, 1:counts[1] - 1, ..., 0] = true[1, 2:counts[1]]
    m = atomic.stroke_matching(merged, true, counts)
    a, b = true[1, 0].ravel(), true[1, 1].ravel()
    dominated = max(a @ (a + b) / np.linalg.norm(a), b @ (a + b) / np.linalg.norm(b)) \
        / np.linalg.norm(a + b) >= atomic.MIN_STROKE_COSINE
    hits = n_strokes - 2 + dominated       # the merged atom matches at most its dominant stroke
    assert m["stroke_recall"] == pytest.approx(hits / n_strokes)
    assert m["atom_precision"] == pytest.approx(hits / (n_strokes - 1))

    # inactive atoms (peak below the threshold) count for neither score
    faint = perfect * 0.2
    m = atomic.stroke_matching(faint, true, counts)
    assert m["stroke_recall"] == 0.0 and np.isnan(m["atom_precision"])
    assert m["stroke_match_rate"] == 1.0          # the all-atom matching ignores activity
    with pytest.raises(ValueError, match="must agree"):
        atomic.stroke_matching(perfect[:2], true, counts)


def test_a_round_blob_matches_a_round_stroke_but_not_a_long_thin_one():
    """The stroke metric's floor: a blob at the centre of a short thick stroke
    passes cosine 0.8, one at the centre of a long thin stroke does not."""
    rows, cols = np.mgrid[0:32, 0:32].astype(float)
    round_ = np.exp(-((rows - 16) ** 2 + (cols - 16) ** 2) / (2 * 2.0 ** 2))
    line = np.exp(-((rows - 16) ** 2) / (2 * 0.7 ** 2)) * ((cols > 4) & (cols < 28))
    cosines = atomic.blob_cosines(np.stack([round_, line])[None], [2])
    assert cosines[0] == pytest.approx(1.0, abs=1e-3)
    assert cosines[1] < 0.6
    with pytest.raises(ValueError, match="must agree"):
        atomic.blob_cosines(np.stack([round_, line])[None], [2, 1])


def test_latent_bounds():
    codes = np.random.default_rng(0).normal(size=(500, 6)).astype(np.float32)
    low, high = atomic.latent_bounds(codes)
    np.testing.assert_allclose(low, codes.min(0))
    np.testing.assert_allclose(high, codes.max(0))
    low1, high1 = atomic.latent_bounds(codes, quantile=0.05)
    assert np.all(low1 > low) and np.all(high1 < high)


def test_evaluators_and_figures_on_a_tiny_model(tmp_path):
    ae = atomic_autoencoder(k=3, d0=3, image_size=16)
    m = atomic.evaluate_spikes(ae, n_test=8, seed=1, sigma=1.0, max_spikes=3)
    for key in ("precision", "recall", "one_spike_share"):
        assert 0.0 <= m[key] <= 1.0
    assert m["mse"] > 0 and m["n_test"] == 8
    assert set(m["recall_by_count"]) <= {"1", "2", "3"}
    s = atomic.evaluate_strokes(ae, n_test=4, seed=1, max_strokes=2)
    assert s["psnr"] == pytest.approx(10 * np.log10(1 / s["mse"]))
    wide = atomic.evaluate_strokes(ae, n_test=4, seed=1, max_strokes=2, sigma=2.0)
    assert wide["mse"] != s["mse"]          # the pen's width reaches the evaluated images
    assert -1.0 <= s["stroke_cosine"] <= 1.0
    assert 0.0 <= s["stroke_recall"] <= 1.0 and 0.0 <= s["blob_match_rate"] <= 1.0
    assert 0.0 <= s["output_match_rate"] <= 1.0
    images, f = spikes.make_spikes(4, seed=3, image_size=16, sigma=1.0, max_spikes=3)
    bounds = atomic.latent_bounds(ae.encode(images))
    paths = [
        atomic.decomposition_figure(ae, images[:2], tmp_path / "d.png", f["positions"],
                                    f["count"]),
        atomic.navigation_figure(ae, images[0], tmp_path / "n.png", bounds, steps=3),
        atomic.interpolation_figure(ae, images[0], images[1], tmp_path / "i.png", steps=3),
    ]
    assert all(p.is_file() and p.stat().st_size > 1000 for p in paths)


def test_spike_figures_add_the_refined_decomposition(tmp_path):
    ae = atomic_autoencoder(k=3, d0=3, image_size=16, name="tiny")
    plain = atomic.figures_spikes(ae, tmp_path / "plain", n_images=2)
    refined = atomic.figures_spikes(ae, tmp_path / "refined", n_images=2,
                                    refine={"steps": 2, "rounds": 0})
    assert [p.name for p in refined] == [p.name for p in plain] + [
        "tiny_decomposition_refined.png"]
    assert refined[-1].stat().st_size > 1000


def test_stroke_scores_of_the_refined_code_and_its_figure(tmp_path):
    ae = atomic_autoencoder(k=3, d0=3, image_size=16, name="tiny")
    # no step and no round: the refined code is the encoder's, and so are its scores
    same = atomic.evaluate_strokes(ae, n_test=4, seed=1, max_strokes=2,
                                   refine={"steps": 0, "rounds": 0})
    for key in ("mse", "active_atoms", "stroke_cosine", "stroke_recall"):
        assert same[f"refined_{key}"] == pytest.approx(same[key])
    fitted = atomic.evaluate_strokes(ae, n_test=4, seed=1, max_strokes=2,
                                     refine={"steps": 30, "rounds": 0})
    assert fitted["refined_mse"] < fitted["mse"]     # Adam on the code lowers the error
    assert fitted["refine"] == {"steps": 30, "rounds": 0}
    plain = atomic.figures_strokes(ae, tmp_path / "plain", n_images=2)
    refined = atomic.figures_strokes(ae, tmp_path / "refined", n_images=2,
                                     refine={"steps": 2, "rounds": 0})
    assert [p.name for p in refined] == [p.name for p in plain] + [
        "tiny_decomposition_refined.png"]
    assert refined[-1].stat().st_size > 1000
