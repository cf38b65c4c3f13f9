"""Strokes: how well the atoms of an atomic autoencoder are the true strokes
(Newson and Traonmilin 2023, section 3): reconstruction error, and the
one-to-one match of atoms and strokes (cosine similarity after Hungarian
matching), against the floor a round blob would reach.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import optimize

from geomae_tf import validation
from geomae_tf.analysis.atomic.common import EVAL_SEED, _check_atomic
from geomae_tf.datasets import strokes
from geomae_tf.models.atomic.inference import ACTIVE_THRESHOLD

if TYPE_CHECKING:
    from geomae_tf.models.atomic.atomic_model import AtomicAutoencoder
    from geomae_tf.types import ArrayLike

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
