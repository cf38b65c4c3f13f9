"""Centred disks of random radius: the data of JMIV 2020, section 4.1 and appendix A.

An image is x_r = g_sigma * 1_{B_r} (eq. 20): the indicator of a centred disk
of radius r blurred by a Gaussian of standard deviation sigma, sampled at the
pixel centres (pixel (i, j) has its centre at (i, j); the disk is centred at
((H-1)/2, (W-1)/2)).

Two renderers give the same image:
- `render_disks` (TensorFlow, vectorised, used inside the `tf.data` pipelines):
  the exact value P(|t + xi - c| < r), xi ~ N(0, sigma^2 I), is a noncentral
  chi-square CDF; it is tabulated once (scipy) as a function of r/sigma and
  (d - r)/sigma and read by bilinear interpolation.
- `render_disks_monte_carlo` (numpy): the Monte Carlo procedure of appendix A,
  eq. (21), used to make held-out test images by a different route than
  training.

Two kinds of training data (section 4.4, eq. 11-12):
- `mode="fixed"`: a seeded set of `n_train` radii (3000 by default), the
  empirical loss L2; limited sets (max radius, a hole) remove radii from it.
- `mode="stream"`: an infinite stream that samples the true distribution, the
  loss L1.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf
from scipy import special

from geomae_tf import validation
from geomae_tf.datasets import sampling

if TYPE_CHECKING:
    from geomae_tf.types import ArrayLike

IMAGE_SIZE = 64
RADIUS_RANGE = (0.0, 32.0)
SIGMA = 1.0
N_TRAIN = 3000

# Table of F(v, w) = P(|c + xi| < v) for |c| = v + w, xi ~ N(0, I) (units of sigma).
_V_MAX, _V_STEP = 80.0, 1.0 / 16.0
_W_MAX, _W_STEP = 8.0, 1.0 / 32.0


@functools.lru_cache(maxsize=1)
def _profile_table():
    v = np.arange(0.0, _V_MAX + _V_STEP / 2, _V_STEP)
    w = np.arange(-_W_MAX, _W_MAX + _W_STEP / 2, _W_STEP)
    vv, ww = np.meshgrid(v, w, indexing="ij")
    u = np.maximum(vv + ww, 0.0)
    table = special.chndtr(vv ** 2, 2.0, u ** 2)
    table = np.where(vv + ww < 0.0, np.where(vv > 0, 1.0, 0.0), table)  # inside: fully covered
    return table.astype(np.float32).reshape(-1), len(v), len(w)


def _check_common(image_size, sigma):
    image_size = validation.check_int("image_size", image_size, minimum=4)
    sigma = validation.check_float("sigma", sigma, minimum=0.0, exclusive_minimum=True)
    return image_size, sigma


def pixel_distances(image_size: int) -> np.ndarray:
    """Distance of every pixel centre to the image centre, shape (H, W)."""
    c = (image_size - 1) / 2.0
    i = np.arange(image_size) - c
    return np.sqrt(i[:, None] ** 2 + i[None, :] ** 2).astype(np.float32)


def render_disks(radii: tf.Tensor | ArrayLike, image_size: int = IMAGE_SIZE,
                 sigma: float = SIGMA) -> tf.Tensor:
    """Renders centred blurred disks in TensorFlow (vectorised over the batch).

    Args:
        radii: float tensor of shape (N,). Radii in pixels, 0 <= r <= 40 sigma.
        image_size: int. Side of the square image. Defaults to 64.
        sigma: float. Standard deviation of the Gaussian blur. Defaults to 1.

    Returns:
        float32 tensor (N, image_size, image_size, 1) in [0, 1].
    """
    image_size, sigma = _check_common(image_size, sigma)
    table, n_v, n_w = _profile_table()
    table = tf.constant(table)
    radii = tf.cast(tf.reshape(radii, [-1, 1, 1]), tf.float32)
    d = tf.constant(pixel_distances(image_size))[None]
    v = tf.clip_by_value(radii / sigma / _V_STEP, 0.0, n_v - 1.001)
    w = tf.clip_by_value(((d - radii) / sigma + _W_MAX) / _W_STEP, 0.0, n_w - 1.001)
    v0, w0 = tf.floor(v), tf.floor(w)
    fv, fw = v - v0, w - w0
    base = tf.cast(v0, tf.int32) * n_w + tf.cast(w0, tf.int32)

    def at(offset):
        return tf.gather(table, base + offset)

    top = at(0) * (1 - fw) + at(1) * fw
    bottom = at(n_w) * (1 - fw) + at(n_w + 1) * fw
    return ((1 - fv) * top + fv * bottom)[..., None]


def render_disks_monte_carlo(radii: ArrayLike, image_size: int = IMAGE_SIZE,
                             sigma: float = SIGMA, n_samples: int = 1024,
                             seed: int = 0) -> np.ndarray:
    """Renders blurred disks by the Monte Carlo procedure of appendix A (eq. 21).

    Each pixel t takes the mean of 1_{B_r}(t + xi_i) over `n_samples` Gaussian
    offsets xi_i ~ N(0, sigma^2 I), drawn afresh for each image and shared by
    its pixels, so that each image is a smooth function of r. Pixels farther
    than 7 sigma from the edge are exactly 0 or 1.

    Args:
        radii: array (N,). Radii in pixels.
        image_size: int. Defaults to 64.
        sigma: float. Defaults to 1.
        n_samples: int. Monte Carlo samples per pixel. Defaults to 1024.
        seed: int. Seed of the offsets.

    Returns:
        float32 numpy array (N, image_size, image_size, 1).
    """
    image_size, sigma = _check_common(image_size, sigma)
    n_samples = validation.check_int("n_samples", n_samples, minimum=1)
    radii = np.asarray(radii, np.float64).reshape(-1)
    rng = np.random.default_rng(seed)
    c = (image_size - 1) / 2.0
    ii, jj = np.meshgrid(np.arange(image_size) - c, np.arange(image_size) - c, indexing="ij")
    d = np.sqrt(ii ** 2 + jj ** 2)
    out = np.zeros((len(radii), image_size, image_size), np.float32)
    for k, r in enumerate(radii):
        xi = rng.normal(0.0, sigma, size=(n_samples, 2))
        image = (d < r).astype(np.float32)
        edge = np.abs(d - r) < 7.0 * sigma
        pi, pj = ii[edge][:, None] + xi[None, :, 0], jj[edge][:, None] + xi[None, :, 1]
        image[edge] = np.mean(pi ** 2 + pj ** 2 < r * r, axis=1)
        out[k] = image
    return out[..., None]


def sample_radii(n: int, seed: int = 0,
                 radius_range: tuple[float, float] | list[float] = RADIUS_RANGE,
                 exclude: Iterable[tuple[float, float] | list[float]] | None = (),
                 max_radius: float | None = None) -> np.ndarray:
    """`n` seeded radii, uniform on `radius_range` less the `exclude` bands.

    `max_radius` (JMIV 2020, section 4.4, Figure 5: R = 18) is a shorthand for
    excluding [max_radius, high).
    """
    n = validation.check_int("n", n, minimum=1)
    intervals = _intervals(radius_range, exclude, max_radius)
    return sampling.uniform_on_intervals_np(n, intervals, np.random.default_rng(seed))


def _intervals(radius_range, exclude, max_radius):
    if not isinstance(radius_range, (list, tuple)) or len(radius_range) != 2:
        raise ValueError(f"`radius_range` must be a (low, high) pair. "
                         f"Received: radius_range={radius_range!r}")
    low, high = radius_range
    if low < 0:
        raise ValueError(f"`radius_range` must start at 0 or above. "
                         f"Received: radius_range={radius_range!r}")
    exclude = list(exclude or ())
    if max_radius is not None:
        validation.check_float("max_radius", max_radius, minimum=low)
        exclude.append((float(max_radius), float(high) + 1.0))
    return sampling.allowed_intervals(low, high, exclude)


def make_disks(n: int, seed: int = 0, image_size: int = IMAGE_SIZE, sigma: float = SIGMA,
               radius_range: tuple[float, float] | list[float] = RADIUS_RANGE,
               exclude: Iterable[tuple[float, float] | list[float]] | None = (),
               max_radius: float | None = None, renderer: str = "exact",
               n_samples: int = 1024) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A seeded numpy set of disks with its ground-truth radii.

    Args:
        n: int. Number of images.
        seed: int. Seed of the radii (and of the Monte Carlo offsets).
        renderer: "exact" (the tabulated blur used for training) or
            "monte_carlo" (appendix A, for held-out evaluation).
        Other args: as in `sample_radii` and `render_disks`.

    Returns:
        (images (n, H, W, 1) float32, {"radius": (n,) float32}).
    """
    validation.check_choice("renderer", renderer, {"exact", "monte_carlo"})
    radii = sample_radii(n, seed, radius_range, exclude, max_radius)
    if renderer == "exact":
        images = render_disks(radii, image_size, sigma).numpy()
    else:
        images = render_disks_monte_carlo(radii, image_size, sigma, n_samples, seed + 1)
    return images, {"radius": radii}


def training_dataset(batch_size: int = 300, mode: str = "fixed", seed: int = 0,
                     n_train: int = N_TRAIN, image_size: int = IMAGE_SIZE,
                     sigma: float = SIGMA,
                     radius_range: tuple[float, float] | list[float] = RADIUS_RANGE,
                     exclude: Iterable[tuple[float, float] | list[float]] | None = (),
                     max_radius: float | None = None) -> tf.data.Dataset:
    """The `tf.data` pipeline of (image, image) batches for `model.fit`.

    Rendering happens inside the pipeline, vectorised over each batch, in a
    parallel map followed by prefetch.

    Args:
        batch_size: int. Defaults to 300 (Table 1).
        mode: "fixed" (a seeded set of `n_train` radii, reshuffled each epoch;
            finite) or "stream" (fresh radii forever; use `steps_per_epoch`).
        seed: int. Seed of the radii and of the shuffling.
        n_train: int. Size of the fixed set. Defaults to 3000.
        Other args: as in `make_disks`.

    Returns:
        A `tf.data.Dataset` of `(images, images)`.
    """
    batch_size = validation.check_int("batch_size", batch_size, minimum=1)
    validation.check_choice("mode", mode, {"fixed", "stream"})
    seed = validation.check_int("seed", seed, minimum=0)
    image_size, sigma = _check_common(image_size, sigma)
    intervals = _intervals(radius_range, exclude, max_radius)

    def render(radii):
        images = render_disks(radii, image_size, sigma)
        return images, images

    if mode == "fixed":
        n_train = validation.check_int("n_train", n_train, minimum=1)
        radii = sampling.uniform_on_intervals_np(n_train, intervals,
                                                 np.random.default_rng(seed))
        ds = tf.data.Dataset.from_tensor_slices(radii)
        ds = ds.shuffle(n_train, seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    else:
        ds = tf.data.Dataset.counter().map(
            lambda step: sampling.uniform_on_intervals_tf(
                [batch_size], intervals, tf.stack([tf.cast(seed, tf.int64), step])))
    return ds.map(render, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
