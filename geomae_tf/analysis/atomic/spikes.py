"""Spike recovery of an atomic autoencoder (Newson and Traonmilin 2023, section 3).

Each decoded atom g(z_i) is located (peak pixel refined to sub-pixel by a
parabola through the log-intensities of its neighbours, exact for a
Gaussian: `geomae_tf.models.atomic.inference.locate_atoms`), atoms whose
amplitude passes a threshold are declared active, and active atoms are
matched to the true spikes by the Hungarian algorithm
(`scipy.optimize.linear_sum_assignment`) within a distance gate. Reported:
precision, recall, position RMSE (px), amplitude relative error, and the
share of active atoms whose half-maximum region holds exactly one true
spike centre.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import optimize

from geomae_tf import validation
from geomae_tf.analysis.atomic.common import EVAL_SEED, _check_atomic
from geomae_tf.analysis.plotting import pyplot, save_figure
from geomae_tf.datasets import spikes
from geomae_tf.models.atomic.inference import ACTIVE_THRESHOLD, locate_atoms

if TYPE_CHECKING:
    from geomae_tf.models.atomic.atomic_model import AtomicAutoencoder
    from geomae_tf.types import ArrayLike, PathLike

#: A detection farther than this from a true centre does not match it
#: (half the minimum separation of 2 sigma = 4 px).
DISTANCE_GATE = 2.0


def match_spikes(pred_positions: ArrayLike, true_positions: ArrayLike,
                 gate: float = DISTANCE_GATE) -> tuple[np.ndarray, np.ndarray]:
    """Hungarian matching of detections to true spikes within a distance gate.

    Args:
        pred_positions: array (P, 2). Detected centres.
        true_positions: array (T, 2). True centres.
        gate: float. Pairs farther apart than this never match.

    Returns:
        (pred_index, true_index) int arrays of the matched pairs.
    """
    pred_positions = np.asarray(pred_positions, np.float64).reshape(-1, 2)
    true_positions = np.asarray(true_positions, np.float64).reshape(-1, 2)
    if not len(pred_positions) or not len(true_positions):
        return np.zeros(0, int), np.zeros(0, int)
    dist = np.linalg.norm(pred_positions[:, None] - true_positions[None], axis=-1)
    cost = np.where(dist <= gate, dist, 1e6)
    rows, cols = optimize.linear_sum_assignment(cost)
    keep = dist[rows, cols] <= gate
    return rows[keep], cols[keep]


def _check_truth(positions, amplitudes, counts, n, name="positions"):
    positions = np.asarray(positions, np.float64)
    amplitudes = np.asarray(amplitudes, np.float64)
    counts = np.asarray(counts).astype(int)
    if positions.ndim != 3 or positions.shape[0] != n or positions.shape[-1] != 2:
        raise ValueError(f"`{name}` must be shaped (N, max_spikes, 2) with N = {n} (one row "
                         f"per image of `atoms`). Received: {name} with shape "
                         f"{positions.shape}")
    if amplitudes.shape != positions.shape[:2] or counts.shape != (n,):
        raise ValueError(f"`amplitudes` must be shaped {positions.shape[:2]} and `counts` "
                         f"({n},). Received: amplitudes {amplitudes.shape}, counts "
                         f"{counts.shape}")
    return positions, amplitudes, counts


def recovery_scores(sq_errors: Sequence[float], amp_errors: Sequence[float],
                    amp_bias: Sequence[float], n_true: int, n_active: int, n_matched: int,
                    n_one: int) -> dict[str, float]:
    """The metrics of `spike_recovery` from its tallies over matched pairs.

    Args:
        sq_errors, amp_errors, amp_bias: lists over the matched pairs: squared
            position error, |relative amplitude error|, relative amplitude error.
        n_true, n_active, n_matched: true spikes, active atoms (detections),
            matched pairs.
        n_one: active atoms whose half-maximum region holds exactly one true centre.

    Returns:
        dict: see `spike_recovery`.
    """
    precision = n_matched / n_active if n_active else 0.0
    recall = n_matched / n_true if n_true else 0.0
    return {
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(2 * precision * recall / (precision + recall)) if n_matched else 0.0,
        "position_rmse": float(np.sqrt(np.mean(sq_errors))) if sq_errors else float("nan"),
        "amplitude_error": float(np.mean(amp_errors)) if amp_errors else float("nan"),
        "amplitude_bias": float(np.mean(amp_bias)) if amp_bias else float("nan"),
        "one_spike_share": float(n_one / n_active) if n_active else 0.0,
        "active_per_spike": float(n_active / n_true) if n_true else 0.0,
        "n_true": int(n_true), "n_active": int(n_active), "n_matched": int(n_matched),
    }


def spike_recovery(atoms: ArrayLike, positions: ArrayLike, amplitudes: ArrayLike,
                   counts: ArrayLike, threshold: float = ACTIVE_THRESHOLD,
                   gate: float = DISTANCE_GATE, refine: bool = True) -> dict[str, float]:
    """Scores a decomposition into atoms against the true spikes.

    Args:
        atoms: array (N, k, H, W[, 1]). The decoded atoms g(z_i).
        positions: array (N, S, 2). True centres `(row, column)`; only the
            first `counts[n]` rows of image n are read.
        amplitudes: array (N, S). True amplitudes.
        counts: array (N,). Number of true spikes per image.
        threshold: float. An atom is active when its amplitude exceeds it.
        gate: float. Largest distance (px) of a match.
        refine: bool. Sub-pixel refinement of the atoms' positions.

    Returns:
        dict: `precision` (matched / active atoms), `recall` (matched / true
        spikes), `f1`, `position_rmse` (px, over matched pairs),
        `amplitude_error` (mean |a - a_true| / a_true over matched pairs),
        `amplitude_bias` (mean (a - a_true) / a_true: negative when the
        atoms' peaks fall short, e.g. atoms wider than the spikes),
        `one_spike_share` (share of active atoms whose half-maximum region
        holds exactly one true centre), `active_per_spike` (active atoms per
        true spike), `n_true`, `n_active`, `n_matched`.
    """
    atoms = np.asarray(atoms, np.float64)
    if atoms.ndim == 5 and atoms.shape[-1] == 1:
        atoms = atoms[..., 0]
    est_pos, est_amp = locate_atoms(atoms, refine=refine)
    positions, amplitudes, counts = _check_truth(positions, amplitudes, counts, len(atoms))
    threshold = validation.check_float("threshold", threshold)
    gate = validation.check_float("gate", gate, minimum=0.0)
    h, w = atoms.shape[2:]
    sq_errors, amp_errors, amp_bias = [], [], []
    n_true = n_active = n_matched = n_one = 0
    for i in range(len(atoms)):
        true_pos = positions[i, :counts[i]]
        true_amp = amplitudes[i, :counts[i]]
        active = np.flatnonzero(est_amp[i] > threshold)
        p, t = match_spikes(est_pos[i, active], true_pos, gate)
        sq_errors.extend(np.sum((est_pos[i, active[p]] - true_pos[t]) ** 2, axis=-1))
        relative = (est_amp[i, active[p]] - true_amp[t]) / true_amp[t]
        amp_errors.extend(np.abs(relative))
        amp_bias.extend(relative)
        n_true += len(true_pos)
        n_active += len(active)
        n_matched += len(p)
        pix = np.clip(np.rint(true_pos).astype(int), 0, [h - 1, w - 1])
        for a in active:
            atom = atoms[i, a]
            inside = atom[pix[:, 0], pix[:, 1]] >= 0.5 * atom.max()
            n_one += int(np.count_nonzero(inside) == 1)
    return recovery_scores(sq_errors, amp_errors, amp_bias, n_true, n_active, n_matched,
                           n_one)


def recovery_by_count(atoms: ArrayLike, positions: ArrayLike, amplitudes: ArrayLike,
                      counts: ArrayLike, threshold: float = ACTIVE_THRESHOLD,
                      gate: float = DISTANCE_GATE) -> dict[str, list[float]]:
    """`spike_recovery` on the images of each spike count separately.

    Shows where a decomposition fails: a network that separates a few spikes
    but merges or drops them in crowded images has its recall fall with the
    count.

    Returns:
        dict of lists, one entry per spike count present, in increasing
        order: `count`, `n_images`, `precision`, `recall`, `position_rmse`,
        `amplitude_error`, `one_spike_share`.
    """
    positions, amplitudes, counts = _check_truth(positions, amplitudes, counts, len(atoms))
    keys = ("precision", "recall", "position_rmse", "amplitude_error", "one_spike_share")
    out = {"count": [], "n_images": [], **{key: [] for key in keys}}
    for c in np.unique(counts):
        idx = np.flatnonzero(counts == c)
        scores = spike_recovery(np.asarray(atoms)[idx], positions[idx], amplitudes[idx],
                                counts[idx], threshold=threshold, gate=gate)
        out["count"].append(int(c))
        out["n_images"].append(int(len(idx)))
        for key in keys:
            out[key].append(scores[key])
    return out


def recovery_by_count_figure(by_count: Mapping[str, Sequence[float]], path: PathLike,
                             title: str = "spike recovery by spike count") -> Path:
    """Precision and recall (left axis) and position RMSE (right) against the
    number of spikes in the image, from `recovery_by_count`."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.0, 3.2))
    ax.plot(by_count["count"], by_count["recall"], "o-", label="recall")
    ax.plot(by_count["count"], by_count["precision"], "s-", label="precision")
    ax.axhline(0.95, color="grey", lw=0.8, ls="--", label="target 0.95")
    ax.set_xlabel("spikes in the image")
    ax.set_ylim(0.0, 1.05)
    ax2 = ax.twinx()
    ax2.plot(by_count["count"], by_count["position_rmse"], "^:", color="tab:red",
             label="position RMSE (px)")
    ax2.set_ylabel("position RMSE (px)", color="tab:red")
    ax2.set_ylim(0.0, max(1.0, 1.1 * np.nanmax(by_count["position_rmse"])))
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=7, loc="lower left")
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def evaluate_spikes(model: AtomicAutoencoder, n_test: int = 300, seed: int = EVAL_SEED,
                    threshold: float = ACTIVE_THRESHOLD, gate: float = DISTANCE_GATE,
                    sigma: float = spikes.SIGMA, max_spikes: int = spikes.MAX_SPIKES,
                    batch_size: int = 100,
                    refine: bool | Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Spike recovery of an atomic autoencoder on fresh spike images.

    Args:
        model: an `AtomicAutoencoder` trained on spikes.
        n_test: int. Number of fresh images. Defaults to 300.
        seed: int. Seed of the images (never a training image).
        threshold, gate: as in `spike_recovery`.
        sigma, max_spikes: as in `geomae_tf.datasets.spikes.make_spikes`.
        batch_size: int. Images per forward pass.
        refine: None, True or dict. Also score the refined code
            (`AtomicAutoencoder.refine_codes`, with these options; True: its
            defaults) on the same images, under keys prefixed `refined_`.

    Returns:
        dict: the metrics of `spike_recovery`, plus `recall_by_count` and
        `precision_by_count` (spike count -> score, see `recovery_by_count`),
        `mse` (per pixel),
        `position_rmse_pixel` (the same matching on the peak pixels alone,
        without sub-pixel refinement), `n_test`, `threshold`, `gate`.
    """
    _check_atomic(model)
    n_test = validation.check_int("n_test", n_test, minimum=1)
    images, factors = spikes.make_spikes(n_test, seed=seed, image_size=model.image_shape[0],
                                         sigma=sigma, max_spikes=max_spikes)
    truth = (factors["positions"], factors["amplitudes"], factors["count"])

    def scores_of(atoms, pixel_rmse=False):
        scores = spike_recovery(atoms, *truth, threshold=threshold, gate=gate)
        if pixel_rmse:
            scores["position_rmse_pixel"] = spike_recovery(
                atoms, *truth, threshold=threshold, gate=gate, refine=False)["position_rmse"]
        scores["mse"] = float(np.mean((atoms.sum(axis=1) - images) ** 2))
        by_count = recovery_by_count(atoms, *truth, threshold=threshold, gate=gate)
        scores["recall_by_count"] = dict(zip(map(str, by_count["count"]), by_count["recall"]))
        scores["precision_by_count"] = dict(zip(map(str, by_count["count"]),
                                                by_count["precision"]))
        return scores

    metrics = scores_of(model.atoms(images, batch_size=batch_size, refine=False),
                        pixel_rmse=True)
    metrics.update({"n_test": n_test, "threshold": threshold, "gate": gate})
    if refine:
        options = (model.refine or {}) if refine is True else dict(refine)
        refined = scores_of(model.atoms(images, batch_size=batch_size, refine=options))
        metrics.update({f"refined_{key}": value for key, value in refined.items()})
        metrics["refine"] = options
    return metrics
