"""Pen strokes: sums of quadratic Bezier curves drawn with a Gaussian pen.

A stand-in for the pen strokes of MNIST digits (Newson and Traonmilin 2023,
section 3, "images consisting of parametric curves") whose atoms are known.
A stroke with control points P0, P1, P2 is the curve
B(t) = (1 - t)^2 P0 + 2 t (1 - t) P1 + t^2 P2, t in [0, 1], and its image is
the curve's ink convolved with a Gaussian pen of standard deviation sigma:

    s(p) = 1 / (sqrt(2 pi) sigma) * integral_0^1 exp(-|p - B(t)|^2 / (2 sigma^2)) |B'(t)| dt,

normalised so that a long straight stroke peaks at 1 on its axis (its ends
fade to 1/2). The integral is a sum of `n_samples` Gaussian stamps along the
curve (spaced below the pen's sigma); each stamp is separable, so a batch
renders as one matrix product. An image is the sum of its 1..`max_strokes`
strokes (uniform count). Where strokes cross the sum can exceed 1: with
`overlap="scale"` (default) such an image is scaled down as a whole, so it
stays exactly a sum of (scaled) strokes; `overlap="clip"` saturates it like
ink instead. Pixel (i, j) has its centre at (i, j); points are `(row, column)`.

Geometry of a stroke: P0 uniform in the square `margin` pixels inside the
border, a direction uniform in [0, 2 pi), a chord length uniform in
`length_range`, P2 = P0 + length * direction (clipped to the square), and
P1 = (P0 + P2) / 2 + bend * length * normal with bend uniform in
[-max_bend, max_bend] (clipped to the square); the curve lies in the convex
hull of its control points, so inside the square.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from geomae_tf import validation

if TYPE_CHECKING:
    from geomae_tf.types import ArrayLike

IMAGE_SIZE = 64
SIGMA = 1.0
MIN_STROKES = 1
MAX_STROKES = 4
LENGTH_RANGE = (8.0, 24.0)
MAX_BEND = 0.5
MARGIN = 3.0
N_SAMPLES = 64
N_TRAIN = 60_000


def _check_args(image_size, sigma, min_strokes, max_strokes, length_range, max_bend, margin,
                overlap, n_samples):
    image_size = validation.check_int("image_size", image_size, minimum=4)
    sigma = validation.check_float("sigma", sigma, minimum=0.0, exclusive_minimum=True)
    min_strokes = validation.check_int("min_strokes", min_strokes, minimum=0)
    max_strokes = validation.check_int("max_strokes", max_strokes, minimum=max(1, min_strokes))
    if (not isinstance(length_range, (list, tuple)) or len(length_range) != 2
            or not 0 <= length_range[0] <= length_range[1]):
        raise ValueError(f"`length_range` must be a (low, high) pair with 0 <= low <= high. "
                         f"Received: length_range={length_range!r}")
    max_bend = validation.check_float("max_bend", max_bend, minimum=0.0)
    margin = validation.check_float("margin", margin, minimum=0.0)
    if image_size - 1 - 2 * margin <= 0:
        raise ValueError(f"`margin` leaves no room for strokes in a {image_size}-pixel image. "
                         f"Received: margin={margin}")
    validation.check_choice("overlap", overlap, {"scale", "clip"})
    n_samples = validation.check_int("n_samples", n_samples, minimum=2)
    return (image_size, sigma, min_strokes, max_strokes,
            (float(length_range[0]), float(length_range[1])), max_bend, margin, overlap,
            n_samples)


def sample_strokes(batch_size: int, seed: tf.Tensor | Sequence[int], image_size: int = IMAGE_SIZE,
                   min_strokes: int = MIN_STROKES, max_strokes: int = MAX_STROKES,
                   length_range: tuple[float, float] | list[float] = LENGTH_RANGE,
                   max_bend: float = MAX_BEND,
                   margin: float = MARGIN) -> tuple[tf.Tensor, tf.Tensor]:
    """Stateless, vectorised sampling of stroke control points in TensorFlow.

    Returns:
        (control_points (B, max_strokes, 3, 2) float32 (P0, P1, P2 as
            `(row, column)`; 0 where inactive), counts (B,) int32).
    """
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 5)
    shape = [batch_size, max_strokes]
    counts = tf.random.stateless_uniform([batch_size], seeds[0], min_strokes, max_strokes + 1,
                                         dtype=tf.int32)
    low, high = margin, image_size - 1.0 - margin
    p0 = tf.random.stateless_uniform(shape + [2], seeds[1], low, high)
    angle = tf.random.stateless_uniform(shape, seeds[2], 0.0, 2.0 * np.pi)
    length = tf.random.stateless_uniform(shape, seeds[3], length_range[0], length_range[1])
    bend = tf.random.stateless_uniform(shape, seeds[4], -max_bend, max_bend)
    direction = tf.stack([tf.sin(angle), tf.cos(angle)], axis=-1)
    normal = tf.stack([tf.cos(angle), -tf.sin(angle)], axis=-1)
    p2 = tf.clip_by_value(p0 + length[..., None] * direction, low, high)
    p1 = tf.clip_by_value(0.5 * (p0 + p2) + (bend * length)[..., None] * normal, low, high)
    points = tf.stack([p0, p1, p2], axis=2)
    active = tf.cast(tf.range(max_strokes)[None, :] < counts[:, None], tf.float32)
    return points * active[..., None, None], counts


def render_strokes(control_points: tf.Tensor | ArrayLike, counts: tf.Tensor | np.ndarray,
                   image_size: int = IMAGE_SIZE, sigma: float = SIGMA,
                   n_samples: int = N_SAMPLES) -> tf.Tensor:
    """Renders each stroke of a batch separately (TensorFlow, vectorised).

    Args:
        control_points: float tensor (B, S, 3, 2).
        counts: int tensor (B,). Strokes beyond the count are blank.
        image_size, sigma, n_samples: as in `make_strokes`.

    Returns:
        float32 tensor (B, S, H, W): one image per stroke (peak about 1).
    """
    control_points = tf.cast(control_points, tf.float32)
    t = (tf.range(n_samples, dtype=tf.float32) + 0.5) / n_samples            # midpoints
    w0, w1, w2 = (1.0 - t) ** 2, 2.0 * t * (1.0 - t), t ** 2
    p0, p1, p2 = (control_points[:, :, i, None, :] for i in range(3))        # (B, S, 1, 2)
    curve = w0[:, None] * p0 + w1[:, None] * p1 + w2[:, None] * p2          # (B, S, Q, 2)
    speed = tf.norm(2.0 * (1.0 - t)[:, None] * (p1 - p0) + 2.0 * t[:, None] * (p2 - p1),
                    axis=-1)                                                  # (B, S, Q)
    weight = speed / n_samples / (np.sqrt(2.0 * np.pi) * sigma)
    active = tf.cast(tf.range(tf.shape(control_points)[1])[None, :] < counts[:, None],
                     tf.float32)
    weight *= active[..., None]
    grid = tf.range(image_size, dtype=tf.float32)
    rows = tf.exp(-(grid - curve[..., 0:1]) ** 2 / (2.0 * sigma ** 2))      # (B, S, Q, H)
    cols = tf.exp(-(grid - curve[..., 1:2]) ** 2 / (2.0 * sigma ** 2))      # (B, S, Q, W)
    return tf.einsum("bsqh,bsqw->bshw", rows * weight[..., None], cols)


def _combine(strokes, overlap):
    images = tf.reduce_sum(strokes, axis=1)[..., None]
    if overlap == "clip":
        return tf.minimum(images, 1.0), tf.ones(tf.shape(images)[:1])
    scale = 1.0 / tf.maximum(tf.reduce_max(images, axis=[1, 2, 3]), 1.0)
    return images * scale[:, None, None, None], scale


def strokes_batch(batch_size: int, seed: tf.Tensor | Sequence[int], image_size: int = IMAGE_SIZE,
                  sigma: float = SIGMA, min_strokes: int = MIN_STROKES,
                  max_strokes: int = MAX_STROKES,
                  length_range: tuple[float, float] | list[float] = LENGTH_RANGE,
                  max_bend: float = MAX_BEND, margin: float = MARGIN, overlap: str = "scale",
                  n_samples: int = N_SAMPLES
                  ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
    """Samples and renders one batch: (images, control_points, counts, scale, strokes)."""
    points, counts = sample_strokes(batch_size, seed, image_size, min_strokes, max_strokes,
                                    length_range, max_bend, margin)
    strokes = render_strokes(points, counts, image_size, sigma, n_samples)
    images, scale = _combine(strokes, overlap)
    return images, points, counts, scale, strokes


def make_strokes(n: int, seed: int = 0, image_size: int = IMAGE_SIZE, sigma: float = SIGMA,
                 min_strokes: int = MIN_STROKES, max_strokes: int = MAX_STROKES,
                 length_range: tuple[float, float] | list[float] = LENGTH_RANGE,
                 max_bend: float = MAX_BEND, margin: float = MARGIN, overlap: str = "scale",
                 n_samples: int = N_SAMPLES, return_strokes: bool = False
                 ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A seeded numpy set of stroke images with its ground truth.

    Args:
        n: int. Number of images.
        seed: int. Seed (never the same images as a training stream's).
        image_size: int. Defaults to 64.
        sigma: float. Standard deviation of the pen, px. Defaults to 1.
        min_strokes, max_strokes: int. The count is uniform on
            {min_strokes, ..., max_strokes}. Defaults to 1 and 4.
        length_range: (low, high). Chord length |P2 - P0| in px before
            clipping. Defaults to (8, 24).
        max_bend: float. Largest offset of P1 from the chord's middle, as a
            fraction of the chord. Defaults to 0.5.
        margin: float. Distance kept from the border, px. Defaults to 3.
        overlap: "scale" or "clip". What happens where the sum exceeds 1.
        n_samples: int. Gaussian stamps per stroke. Defaults to 64.
        return_strokes: bool. Also return each stroke's own image as factor
            `strokes` (n, max_strokes, H, W), times `scale`.

    Returns:
        (images (n, H, W, 1) float32 in [0, 1], factors) with factors
        `control_points` (n, max_strokes, 3, 2) (P0, P1, P2 as
        `(row, column)`, NaN where no stroke), `count` (n,), `scale` (n,).
    """
    n = validation.check_int("n", n, minimum=1)
    seed = validation.check_int("seed", seed, minimum=0)
    args = _check_args(image_size, sigma, min_strokes, max_strokes, length_range, max_bend,
                       margin, overlap, n_samples)
    parts = []
    for chunk, start in enumerate(range(0, n, 512)):
        size = min(512, n - start)
        batch = strokes_batch(size, tf.constant([seed, -1 - chunk], tf.int64), *args)
        parts.append([t.numpy() for t in batch[: 5 if return_strokes else 4]])
    arrays = [np.concatenate(p) for p in zip(*parts)]
    images, points, counts, scale = arrays[:4]
    slots = np.arange(points.shape[1])[None, :] < counts[:, None]
    factors = {"control_points": np.where(slots[..., None, None], points,
                                          np.nan).astype(np.float32),
               "count": counts.astype(np.int32), "scale": scale.astype(np.float32)}
    if return_strokes:
        factors["strokes"] = (arrays[4] * scale[:, None, None, None]).astype(np.float32)
    return images.astype(np.float32), factors


def training_dataset(batch_size: int = 64, mode: str = "stream", seed: int = 0,
                     n_train: int = N_TRAIN, image_size: int = IMAGE_SIZE,
                     sigma: float = SIGMA, min_strokes: int = MIN_STROKES,
                     max_strokes: int = MAX_STROKES,
                     length_range: tuple[float, float] | list[float] = LENGTH_RANGE,
                     max_bend: float = MAX_BEND, margin: float = MARGIN,
                     overlap: str = "scale",
                     n_samples: int = N_SAMPLES) -> tf.data.Dataset:
    """The `tf.data` pipeline of (images, images) batches for `model.fit`.

    Args:
        batch_size: int. Defaults to 64.
        mode: "stream" (fresh strokes forever, the default: set
            `steps_per_epoch`) or "fixed" (a seeded set of `n_train` images,
            reshuffled each epoch).
        seed: int. Seed of the strokes and of the shuffling.
        n_train: int. Size of the fixed set. Defaults to 60,000.
        Other args: as in `make_strokes`.

    Returns:
        A `tf.data.Dataset` of `(images, images)`.
    """
    batch_size = validation.check_int("batch_size", batch_size, minimum=1)
    validation.check_choice("mode", mode, {"fixed", "stream"})
    seed = validation.check_int("seed", seed, minimum=0)
    args = _check_args(image_size, sigma, min_strokes, max_strokes, length_range, max_bend,
                       margin, overlap, n_samples)
    image_size, sigma, overlap, n_samples = args[0], args[1], args[7], args[8]
    sample_args = (image_size,) + args[2:7]

    def render(points, counts):
        images = _combine(render_strokes(points, counts, image_size, sigma, n_samples),
                          overlap)[0]
        return images, images

    if mode == "stream":
        ds = tf.data.Dataset.counter().map(
            lambda step: sample_strokes(batch_size, tf.stack([tf.cast(seed, tf.int64), step]),
                                        *sample_args))
    else:
        n_train = validation.check_int("n_train", n_train, minimum=1)
        points, counts = sample_strokes(n_train, tf.constant([seed, -(2 ** 40)], tf.int64),
                                        *sample_args)
        ds = tf.data.Dataset.from_tensor_slices((points, counts))
        ds = ds.shuffle(n_train, seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    return ds.map(render, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
