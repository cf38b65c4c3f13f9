"""Classical off-the-grid spike recovery, scored like the atomic autoencoder.

Newson and Traonmilin 2023, section 3.2 (Figure 5), decompose images of
Gaussian spikes with an atomic autoencoder. Sparse spike recovery has
classical answers, the best of which know the point-spread function (PSF);
this module gives three of them, from the crudest to the best, so that the
learned decomposition can be read against them on the same images:

- `local_maxima`: pixels that are the maximum of their 3x3 neighbourhood and
  exceed a threshold; position on the pixel grid, amplitude the peak value.
- `centroid_maxima`: the same peaks, each position refined to the intensity
  centroid of the 5x5 window around it.
- `greedy_fit`: a greedy continuous fit with the known Gaussian PSF (in the
  spirit of orthogonal matching pursuit over a continuous dictionary, the
  "sliding" refinement of off-the-grid methods): add a spike at the
  residual's maximum, refine every position and amplitude by nonlinear
  least squares (`scipy.optimize.least_squares`), stop when the residual's
  maximum falls below the threshold.

Every method returns, per image, an array of detections `(row, column,
amplitude)` in the data's convention: pixel `(i, j)` has its centre at
`(i, j)` and a spike's amplitude is its peak height
(`geomae_tf.datasets.spikes`).

`score_detections` scores detections with the matching and the metrics of
`geomae_tf.analysis.atomic.spike_recovery` (Hungarian matching within the
same distance gate, `atomic.match_spikes`): a detection plays the role of
an active atom. The one-spike share is the atomic one applied to the
detection drawn as the known PSF at its position and amplitude (what the
atom of a perfect decomposition is): the share of detections whose
half-maximum region holds exactly one true centre. A detection between two
merged spikes holds both; a spurious one far from every spike holds none.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage, optimize

from geomae_tf import validation
from geomae_tf.analysis.atomic import spikes as recovery
from geomae_tf.datasets import spikes

if TYPE_CHECKING:
    from geomae_tf.types import ArrayLike

#: A quarter of the smallest spike amplitude (amplitudes are U(0.5, 1)).
DETECTION_THRESHOLD = 0.125
#: Side of the centroid window of `centroid_maxima`.
CENTROID_WINDOW = 5
#: Most spikes `greedy_fit` adds (twice the data's largest count).
GREEDY_MAX_SPIKES = 2 * spikes.MAX_SPIKES
#: `greedy_fit` fits the pixels within this many sigmas of a spike (the
#: Gaussian falls below 4e-4 of its peak beyond).
SUPPORT_RADIUS = 4.0
#: Most residual evaluations of one least-squares refinement of `greedy_fit`.
#: With the right PSF a refinement converges in about 5 to 20; with a wrong
#: one it can wander for thousands.
MAX_EVALUATIONS = 100


def _check_image(image):
    array = np.asarray(image, np.float64)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 2:
        raise ValueError(f"`image` must be shaped (H, W) or (H, W, 1). Received: image with "
                         f"shape {np.shape(image)}")
    if not np.all(np.isfinite(array)):
        raise ValueError("`image` must be finite. Received: image with NaN or infinite values")
    return array


def _peaks(image, threshold):
    """Row and column indices of the 3x3 local maxima above `threshold`.

    A plateau of equal maxima (flat tops) gives one peak: the first pixel of
    each connected group.
    """
    neighbourhood_max = ndimage.maximum_filter(image, size=3, mode="constant", cval=-np.inf)
    mask = (image >= neighbourhood_max) & (image > threshold)
    labels, n = ndimage.label(mask, structure=np.ones((3, 3), int))
    if not n:
        return np.zeros(0, int), np.zeros(0, int)
    flat = labels.ravel()
    _, first = np.unique(flat, return_index=True)
    first = first[flat[first] > 0]
    return np.divmod(first, image.shape[1])


def local_maxima(image: ArrayLike, threshold: float = DETECTION_THRESHOLD) -> np.ndarray:
    """Spikes as the 3x3 local maxima of the image above a threshold.

    Args:
        image: array (H, W) or (H, W, 1).
        threshold: float. A peak must exceed it. Defaults to 0.125, a quarter
            of the smallest spike amplitude.

    Returns:
        float array (P, 3) of detections `(row, column, amplitude)`: the peak
        pixel and its value, brightest first.

    Examples:
        >>> images, truth = spikes.make_spikes(1, seed=0)
        >>> local_maxima(images[0])[:, :2]   # close to truth["positions"][0]
    """
    image = _check_image(image)
    threshold = validation.check_float("threshold", threshold)
    rows, cols = _peaks(image, threshold)
    detections = np.stack([rows, cols, image[rows, cols]], axis=-1).astype(np.float64)
    return detections[np.argsort(-detections[:, 2], kind="stable")].reshape(-1, 3)


def centroid_maxima(image: ArrayLike, threshold: float = DETECTION_THRESHOLD,
                    window: int = CENTROID_WINDOW) -> np.ndarray:
    """Local maxima with each position refined to the window's intensity centroid.

    Args:
        image: array (H, W) or (H, W, 1).
        threshold: float. As in `local_maxima`. Defaults to 0.125.
        window: odd int. Side of the square window around the peak pixel
            (cut at the image's border). Defaults to 5.

    Returns:
        float array (P, 3) of detections `(row, column, amplitude)`: the
        centroid and the peak pixel's value, brightest first.
    """
    image = _check_image(image)
    threshold = validation.check_float("threshold", threshold)
    window = validation.check_int("window", window, minimum=1)
    if window % 2 == 0:
        raise ValueError(f"`window` must be an odd int (the peak pixel is its centre). "
                         f"Received: window={window}")
    half = window // 2
    h, w = image.shape
    detections = local_maxima(image, threshold)
    for d in detections:
        r, c = int(d[0]), int(d[1])
        r0, r1, c0, c1 = max(r - half, 0), min(r + half + 1, h), max(c - half, 0), min(
            c + half + 1, w)
        weights = np.maximum(image[r0:r1, c0:c1], 0.0)
        total = weights.sum()
        d[0] = np.sum(weights.sum(axis=1) * np.arange(r0, r1)) / total
        d[1] = np.sum(weights.sum(axis=0) * np.arange(c0, c1)) / total
    return detections


class _GaussianSum:
    """Residual and Jacobian of a sum of Gaussians with a known sigma.

    Parameters are stacked `(row_1, col_1, amp_1, row_2, ...)`; the model is
    sum_s a_s R_s(i) C_s(j) with R_s(i) = exp(-(i - r_s)^2 / 2 sigma^2),
    evaluated at the pixels `(rows[m], cols[m])` only.
    """

    def __init__(self, values, rows, cols, sigma):
        self.values = values
        self.rows = rows.astype(np.float64)
        self.cols = cols.astype(np.float64)
        self.sigma2 = sigma ** 2

    def _terms(self, params):
        p = params.reshape(-1, 3)
        dr = self.rows[:, None] - p[None, :, 0]                     # (M, S)
        dc = self.cols[:, None] - p[None, :, 1]
        g = np.exp(-(dr ** 2 + dc ** 2) / (2.0 * self.sigma2))
        return p, dr, dc, g

    def residual(self, params):
        p, _, _, g = self._terms(params)
        return g @ p[:, 2] - self.values

    def jacobian(self, params):
        p, dr, dc, g = self._terms(params)
        ag = g * (p[:, 2] / self.sigma2)
        return np.stack([ag * dr, ag * dc, g], axis=-1).reshape(len(g), -1)


def _render_gaussians(params, h, w, sigma2):
    """The image (h, w) of the Gaussians `(row, col, amp)` stacked in `params`."""
    p = np.asarray(params, np.float64).reshape(-1, 3)
    r = np.exp(-(np.arange(h)[None] - p[:, 0:1]) ** 2 / (2.0 * sigma2))
    c = np.exp(-(np.arange(w)[None] - p[:, 1:2]) ** 2 / (2.0 * sigma2))
    return (p[:, 2:3] * r).T @ c


def greedy_fit(image: ArrayLike, threshold: float = DETECTION_THRESHOLD,
               sigma: float = spikes.SIGMA, max_spikes: int = GREEDY_MAX_SPIKES) -> np.ndarray:
    """Greedy continuous fit of Gaussian spikes with a known PSF.

    Repeats: put a new spike at the residual's maximum pixel, with the
    residual's value there as its amplitude; refine the positions and
    amplitudes of all spikes so far by nonlinear least squares
    (Levenberg-Marquardt, analytic Jacobian, at most `MAX_EVALUATIONS`
    evaluations) on the pixels within `SUPPORT_RADIUS` sigmas of a spike;
    until the residual's maximum is at most `threshold` or `max_spikes`
    spikes are placed.
    Continuous positions make it exact on noise-free sums of Gaussians
    whenever the greedy start lands in the right basin.

    Args:
        image: array (H, W) or (H, W, 1).
        threshold: float. Stops when the residual's maximum is at most this.
            Defaults to 0.125, a quarter of the smallest spike amplitude.
        sigma: float. Standard deviation of the Gaussian PSF, px. Defaults
            to 2 (the data's).
        max_spikes: int. Most spikes placed. Defaults to 20.

    Returns:
        float array (P, 3) of detections `(row, column, amplitude)`, the
        amplitude being the Gaussian's peak height, brightest first.
    """
    image = _check_image(image)
    threshold = validation.check_float("threshold", threshold)
    sigma = validation.check_float("sigma", sigma, minimum=0.0, exclusive_minimum=True)
    max_spikes = validation.check_int("max_spikes", max_spikes, minimum=0)
    h, w = image.shape
    grid = np.stack(np.meshgrid(np.arange(h), np.arange(w), indexing="ij"), -1).reshape(-1, 2)
    reach = (SUPPORT_RADIUS * sigma) ** 2
    params = np.zeros(0)
    residual = image
    while len(params) < 3 * max_spikes:
        peak = int(np.argmax(residual))
        if residual.flat[peak] <= threshold:
            break
        params = np.concatenate([params, [*divmod(peak, w), residual.flat[peak]]])
        centres = params.reshape(-1, 3)[:, :2]
        support = np.min(np.sum((grid[:, None] - centres[None]) ** 2, axis=-1), axis=1) <= reach
        problem = _GaussianSum(image.ravel()[support], grid[support, 0], grid[support, 1],
                               sigma)
        params = optimize.least_squares(problem.residual, params, jac=problem.jacobian,
                                        method="lm", max_nfev=MAX_EVALUATIONS).x
        residual = image - _render_gaussians(params, h, w, sigma ** 2)
    detections = params.reshape(-1, 3)
    return detections[np.argsort(-detections[:, 2], kind="stable")]


#: The classical methods, by the name the comparison tables use.
METHODS = {
    "local maxima (3x3)": local_maxima,
    "local maxima + 5x5 centroid": centroid_maxima,
    "greedy Gaussian fit": greedy_fit,
}


def detect(images: ArrayLike, method: str | Callable[..., ArrayLike],
           **kwargs) -> list[np.ndarray]:
    """Runs one detection method on every image of a batch.

    Args:
        images: array (N, H, W, 1), float32 in [0, 1].
        method: a key of `METHODS` or a function `image -> (P, 3)` detections.
        **kwargs: passed to the method (e.g. `threshold`).

    Returns:
        list of N float arrays (P_n, 3) of `(row, column, amplitude)`.
    """
    images = validation.check_images(images)
    if not callable(method):
        validation.check_choice("method", method, set(METHODS))
        method = METHODS[method]
    return [np.asarray(method(image, **kwargs), np.float64).reshape(-1, 3)
            for image in images]


def _check_detections(detections, positions):
    n = np.shape(positions)[0] if np.ndim(positions) else 0
    if len(detections) != n:
        raise ValueError(f"`detections` must hold one array per image ({n} images in "
                         f"`positions`). Received: {len(detections)} arrays")
    out = []
    for i, d in enumerate(detections):
        d = np.asarray(d, np.float64)
        if d.size == 0:
            d = d.reshape(0, 3)
        if d.ndim != 2 or d.shape[1] != 3:
            raise ValueError(f"`detections[{i}]` must be shaped (P, 3) as (row, column, "
                             f"amplitude). Received: shape {d.shape}")
        out.append(d)
    return out


def score_detections(detections: Sequence[ArrayLike], positions: ArrayLike,
                     amplitudes: ArrayLike, counts: ArrayLike,
                     gate: float = recovery.DISTANCE_GATE, sigma: float = spikes.SIGMA,
                     image_size: int = spikes.IMAGE_SIZE) -> dict[str, float]:
    """Scores detections against the true spikes as the atomic evaluation does.

    Every detection counts as an active atom of
    `geomae_tf.analysis.atomic.spike_recovery`: the same Hungarian matching
    within `gate` (`atomic.match_spikes`) and the same metrics. The
    one-spike share is that of the detection drawn as the known Gaussian PSF
    at its position: a true centre is inside its half-maximum region when
    the Gaussian at the centre's pixel is at least half its largest pixel
    value (exactly `spike_recovery` on the detections rendered as atoms).

    Args:
        detections: sequence of N arrays (P_n, 3) of `(row, column, amplitude)`.
        positions: array (N, S, 2). True centres; only the first `counts[n]`
            rows of image n are read.
        amplitudes: array (N, S). True amplitudes.
        counts: array (N,). Number of true spikes per image.
        gate: float. Largest distance (px) of a match. Defaults to 2.
        sigma: float. PSF of the half-maximum regions, px. Defaults to 2.
        image_size: int. Side of the images (the pixel grid). Defaults to 64.

    Returns:
        dict with the keys of `atomic.spike_recovery`: `precision`, `recall`,
        `f1`, `position_rmse`, `amplitude_error`, `amplitude_bias`,
        `one_spike_share`, `active_per_spike` (detections per true spike),
        `n_true`, `n_active` (detections), `n_matched`.
    """
    detections = _check_detections(detections, positions)
    positions, amplitudes, counts = recovery._check_truth(positions, amplitudes, counts,
                                                          len(detections))
    gate = validation.check_float("gate", gate, minimum=0.0)
    sigma = validation.check_float("sigma", sigma, minimum=0.0, exclusive_minimum=True)
    image_size = validation.check_int("image_size", image_size, minimum=1)
    half_max = 2.0 * sigma ** 2 * math.log(2.0)
    last = image_size - 1
    sq_errors, amp_errors, amp_bias = [], [], []
    n_true = n_active = n_matched = n_one = 0
    for i, det in enumerate(detections):
        true_pos = positions[i, :counts[i]]
        true_amp = amplitudes[i, :counts[i]]
        p, t = recovery.match_spikes(det[:, :2], true_pos, gate)
        sq_errors.extend(np.sum((det[p, :2] - true_pos[t]) ** 2, axis=-1))
        relative = (det[p, 2] - true_amp[t]) / true_amp[t]
        amp_errors.extend(np.abs(relative))
        amp_bias.extend(relative)
        n_true += len(true_pos)
        n_active += len(det)
        n_matched += len(p)
        if len(det) and len(true_pos):
            centre = det[:, None, :2]
            nearest = np.clip(np.rint(det[:, :2]), 0, last)
            top = np.sum((nearest - det[:, :2]) ** 2, axis=-1)          # to the brightest pixel
            pix = np.clip(np.rint(true_pos), 0, last)
            d2 = np.sum((pix[None] - centre) ** 2, axis=-1)              # (P, T)
            inside = d2 <= top[:, None] + half_max
            n_one += int(np.count_nonzero(inside.sum(axis=1) == 1))
    return recovery.recovery_scores(sq_errors, amp_errors, amp_bias, n_true, n_active,
                                    n_matched, n_one)


def scores_by_count(detections: Sequence[ArrayLike], positions: ArrayLike,
                    amplitudes: ArrayLike, counts: ArrayLike,
                    gate: float = recovery.DISTANCE_GATE, sigma: float = spikes.SIGMA,
                    image_size: int = spikes.IMAGE_SIZE) -> dict[str, list[float]]:
    """`score_detections` on the images of each spike count separately.

    Returns:
        dict of lists in the layout of `atomic.recovery_by_count`: `count`,
        `n_images`, `precision`, `recall`, `position_rmse`,
        `amplitude_error`, `one_spike_share`.
    """
    detections = _check_detections(detections, positions)
    positions, amplitudes, counts = recovery._check_truth(positions, amplitudes, counts,
                                                          len(detections))
    keys = ("precision", "recall", "position_rmse", "amplitude_error", "one_spike_share")
    out = {"count": [], "n_images": [], **{key: [] for key in keys}}
    for c in np.unique(counts):
        idx = np.flatnonzero(counts == c)
        scores = score_detections([detections[i] for i in idx], positions[idx],
                                  amplitudes[idx], counts[idx], gate, sigma, image_size)
        out["count"].append(int(c))
        out["n_images"].append(int(len(idx)))
        for key in keys:
            out[key].append(scores[key])
    return out
