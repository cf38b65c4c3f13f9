"""Centred filled ellipses: the data of the PCA-like autoencoder (PCA-AE talks).

An image is x = g_sigma * 1_E sampled at the pixel centres (pixel (i, j) has
its centre at (i, j)): the indicator of a filled ellipse centred at
((H-1)/2, (W-1)/2), blurred by a Gaussian of standard deviation sigma
(defaults: 64x64, semi-axes U(2, 32) px, rotation U(0, 90) degrees,
sigma = 0.5 px). Three factors: the semi-axis `a` along the direction at
`rotation` degrees counter-clockwise from the horizontal (as displayed, rows
pointing down), the semi-axis `b` perpendicular to it, and `rotation`.

Two renderers give the same image:
- `render_ellipses` (TensorFlow, vectorised, used inside the `tf.data`
  pipelines): the blur integral x(t) = E[1_E(t + xi)], xi ~ N(0, sigma^2 I),
  is a quadrature on a sub-pixel lattice (`supersample` points per pixel
  along each axis, the pixel centres on the lattice); each lattice cell
  contributes its area covered by the ellipse (first-order signed distance
  to the boundary, so the edge is anti-aliased rather than stair-cased).
  The Gaussian quadrature is a separable strided convolution.
- `render_ellipses_monte_carlo` (numpy): the mean of 1_E(t + xi_k) over
  Gaussian offsets, as in JMIV 2020 appendix A (eq. 21), used to make
  held-out test images by a different route than training.

Two kinds of training data:
- `mode="fixed"`: a seeded set of `n_train` ellipses (12,800 by default, as
  the public PCA-AE reference), rendered once, cached, reshuffled each epoch.
- `mode="stream"`: fresh ellipses forever (use `steps_per_epoch`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from geomae_tf import validation

if TYPE_CHECKING:
    from geomae_tf.types import ArrayLike

IMAGE_SIZE = 64
SEMI_AXIS_RANGE = (2.0, 32.0)
ROTATION_RANGE = (0.0, 90.0)
SIGMA = 0.5
N_TRAIN = 12_800
SUPERSAMPLE = 3
#: Half-width of the Gaussian quadrature, in units of sigma.
_TRUNCATION = 4.0
#: Parameters rendered per vectorised call inside the pipelines (bounds memory).
_CHUNK = 64


def _check_range(name, value, minimum=None):
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            or not value[0] <= value[1]):
        raise ValueError(f"`{name}` must be a (low, high) pair of numbers with low <= high. "
                         f"Received: {name}={value!r}")
    if minimum is not None and value[0] < minimum:
        raise ValueError(f"`{name}` must start at {minimum} or above. "
                         f"Received: {name}={value!r}")
    return float(value[0]), float(value[1])


def _check_common(image_size, sigma, supersample=SUPERSAMPLE):
    image_size = validation.check_int("image_size", image_size, minimum=4)
    sigma = validation.check_float("sigma", sigma, minimum=0.0, exclusive_minimum=True)
    supersample = validation.check_int("supersample", supersample, minimum=1)
    if supersample % 2 == 0:
        raise ValueError(f"`supersample` must be odd so that the pixel centres lie on the "
                         f"sub-pixel lattice. Received: supersample={supersample}")
    return image_size, sigma, supersample


def _lattice(image_size, sigma, supersample):
    """Sub-pixel lattice coordinates (x right, y up, origin at the centre) and
    the 1-D Gaussian quadrature weights."""
    step = 1.0 / supersample
    half = int(math.ceil(_TRUNCATION * sigma * supersample))  # kernel radius, lattice steps
    pad = half * step
    c = (image_size - 1) / 2.0
    n = (image_size - 1) * supersample + 2 * half + 1
    t = -pad + step * np.arange(n)                            # pixel coordinate of each point
    x = (t - c).astype(np.float32)                            # column -> x (right)
    y = (c - t).astype(np.float32)                            # row -> y (up)
    offsets = step * np.arange(-half, half + 1)
    weights = np.exp(-0.5 * (offsets / sigma) ** 2)
    weights = (weights / weights.sum()).astype(np.float32)
    return x, y, weights, step


def render_ellipses(a: tf.Tensor | ArrayLike, b: tf.Tensor | ArrayLike,
                    rotation: tf.Tensor | ArrayLike, image_size: int = IMAGE_SIZE,
                    sigma: float = SIGMA, supersample: int = SUPERSAMPLE) -> tf.Tensor:
    """Renders centred blurred filled ellipses in TensorFlow (vectorised).

    Args:
        a: float tensor (N,). Semi-axis along the `rotation` direction, in px.
        b: float tensor (N,). The perpendicular semi-axis, in px.
        rotation: float tensor (N,). Angle of the `a` axis, in degrees,
            counter-clockwise from the horizontal as displayed.
        image_size: int. Side of the square image. Defaults to 64.
        sigma: float. Standard deviation of the Gaussian blur. Defaults to 0.5.
        supersample: odd int. Lattice points per pixel along each axis of
            the blur quadrature. Defaults to 3.

    Returns:
        float32 tensor (N, image_size, image_size, 1) in [0, 1].

    Example:
    >>> images = render_ellipses([20.0], [5.0], [30.0])   # (1, 64, 64, 1)
    """
    image_size, sigma, supersample = _check_common(image_size, sigma, supersample)
    x, y, weights, step = _lattice(image_size, sigma, supersample)
    a = tf.reshape(tf.cast(a, tf.float32), [-1, 1, 1])
    b = tf.reshape(tf.cast(b, tf.float32), [-1, 1, 1])
    theta = tf.reshape(tf.cast(rotation, tf.float32), [-1, 1, 1]) * (math.pi / 180.0)
    cos, sin = tf.cos(theta), tf.sin(theta)
    xx, yy = tf.constant(x)[None, None, :], tf.constant(y)[None, :, None]
    u = xx * cos + yy * sin
    v = -xx * sin + yy * cos
    f = (u / a) ** 2 + (v / b) ** 2
    grad = 2.0 * tf.sqrt((u / a ** 2) ** 2 + (v / b ** 2) ** 2)
    distance = (f - 1.0) / tf.maximum(grad, 1e-6)                 # > 0 outside
    coverage = tf.clip_by_value(0.5 - distance / step, 0.0, 1.0)[..., None]
    k = tf.constant(weights)
    rows = tf.nn.conv2d(coverage, tf.reshape(k, [-1, 1, 1, 1]), [1, supersample, 1, 1],
                        "VALID")
    out = tf.nn.conv2d(rows, tf.reshape(k, [1, -1, 1, 1]), [1, 1, supersample, 1], "VALID")
    return tf.clip_by_value(out, 0.0, 1.0)


def render_ellipses_monte_carlo(a: ArrayLike, b: ArrayLike, rotation: ArrayLike,
                                image_size: int = IMAGE_SIZE, sigma: float = SIGMA,
                                n_samples: int = 1024, seed: int = 0) -> np.ndarray:
    """Renders blurred ellipses by Monte Carlo (JMIV 2020 appendix A, eq. 21).

    Each pixel t takes the mean of 1_E(t + xi_k) over `n_samples` Gaussian
    offsets xi_k ~ N(0, sigma^2 I), drawn afresh for each image and shared by
    its pixels. Pixels farther than 7 sigma from the boundary are exactly 0
    or 1.

    Returns:
        float32 numpy array (N, image_size, image_size, 1).
    """
    image_size, sigma, _ = _check_common(image_size, sigma)
    n_samples = validation.check_int("n_samples", n_samples, minimum=1)
    a = np.asarray(a, np.float64).reshape(-1)
    b = np.asarray(b, np.float64).reshape(-1)
    theta = np.deg2rad(np.asarray(rotation, np.float64).reshape(-1))
    rng = np.random.default_rng(seed)
    c = (image_size - 1) / 2.0
    ii, jj = np.meshgrid(np.arange(image_size), np.arange(image_size), indexing="ij")
    x, y = jj - c, c - ii
    out = np.zeros((len(a), image_size, image_size), np.float32)

    def inside(px, py, k):
        u = px * np.cos(theta[k]) + py * np.sin(theta[k])
        v = -px * np.sin(theta[k]) + py * np.cos(theta[k])
        return (u / a[k]) ** 2 + (v / b[k]) ** 2 < 1.0

    for k in range(len(a)):
        xi = rng.normal(0.0, sigma, size=(n_samples, 2))
        image = inside(x, y, k).astype(np.float32)
        # Points farther than 7 sigma from the boundary cannot change.
        u = x * np.cos(theta[k]) + y * np.sin(theta[k])
        v = -x * np.sin(theta[k]) + y * np.cos(theta[k])
        r = np.sqrt(u ** 2 + v ** 2)
        near = (r > min(a[k], b[k]) - 7 * sigma) & (r < max(a[k], b[k]) + 7 * sigma)
        px = x[near][:, None] + xi[None, :, 0]
        py = y[near][:, None] + xi[None, :, 1]
        image[near] = np.mean(inside(px, py, k), axis=1)
        out[k] = image
    return out[..., None]


def sample_factors(n: int, seed: int = 0,
                   semi_axis_range: tuple[float, float] | list[float] = SEMI_AXIS_RANGE,
                   rotation_range: tuple[float, float] | list[float] = ROTATION_RANGE
                   ) -> dict[str, np.ndarray]:
    """`n` seeded factors: {"a", "b", "rotation"} (float32 arrays), all uniform."""
    n = validation.check_int("n", n, minimum=1)
    lo, hi = _check_range("semi_axis_range", semi_axis_range, minimum=0.5)
    rlo, rhi = _check_range("rotation_range", rotation_range)
    rng = np.random.default_rng(seed)
    return {"a": rng.uniform(lo, hi, n).astype(np.float32),
            "b": rng.uniform(lo, hi, n).astype(np.float32),
            "rotation": rng.uniform(rlo, rhi, n).astype(np.float32)}


def make_ellipses(n: int, seed: int = 0, image_size: int = IMAGE_SIZE, sigma: float = SIGMA,
                  semi_axis_range: tuple[float, float] | list[float] = SEMI_AXIS_RANGE,
                  rotation_range: tuple[float, float] | list[float] = ROTATION_RANGE,
                  renderer: str = "exact", n_samples: int = 1024,
                  supersample: int = SUPERSAMPLE) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A seeded numpy set of ellipses with its ground-truth factors.

    Args:
        n: int. Number of images.
        seed: int. Seed of the factors (and of the Monte Carlo offsets).
        renderer: "exact" (the lattice quadrature used for training) or
            "monte_carlo" (for held-out evaluation by another route).
        Other args: as in `render_ellipses` and `sample_factors`.

    Returns:
        (images (n, H, W, 1) float32, {"a", "b", "rotation"} float32 arrays).
    """
    validation.check_choice("renderer", renderer, {"exact", "monte_carlo"})
    factors = sample_factors(n, seed, semi_axis_range, rotation_range)
    if renderer == "exact":
        image_size, sigma, supersample = _check_common(image_size, sigma, supersample)
        images = np.concatenate([
            render_ellipses(factors["a"][i:i + _CHUNK], factors["b"][i:i + _CHUNK],
                            factors["rotation"][i:i + _CHUNK], image_size, sigma,
                            supersample).numpy()
            for i in range(0, n, _CHUNK)])
    else:
        images = render_ellipses_monte_carlo(factors["a"], factors["b"], factors["rotation"],
                                             image_size, sigma, n_samples, seed + 1)
    return images, factors


def training_dataset(batch_size: int = 512, mode: str = "fixed", seed: int = 0,
                     n_train: int = N_TRAIN, image_size: int = IMAGE_SIZE,
                     sigma: float = SIGMA,
                     semi_axis_range: tuple[float, float] | list[float] = SEMI_AXIS_RANGE,
                     rotation_range: tuple[float, float] | list[float] = ROTATION_RANGE,
                     supersample: int = SUPERSAMPLE) -> tf.data.Dataset:
    """The `tf.data` pipeline of (image, image) batches for `model.fit`.

    Rendering happens inside the pipeline, vectorised over chunks of 64
    ellipses, in a parallel map followed by prefetch.

    Args:
        batch_size: int. Defaults to 512 (the public PCA-AE reference).
        mode: "fixed" (a seeded set of `n_train` ellipses rendered once,
            cached and reshuffled every epoch) or "stream" (fresh ellipses
            forever; use `steps_per_epoch`).
        seed: int. Seed of the factors and of the shuffling.
        n_train: int. Size of the fixed set. Defaults to 12,800.
        Other args: as in `make_ellipses`.

    Returns:
        A `tf.data.Dataset` of `(images, images)`.
    """
    batch_size = validation.check_int("batch_size", batch_size, minimum=1)
    validation.check_choice("mode", mode, {"fixed", "stream"})
    seed = validation.check_int("seed", seed, minimum=0)
    image_size, sigma, supersample = _check_common(image_size, sigma, supersample)
    lo, hi = _check_range("semi_axis_range", semi_axis_range, minimum=0.5)
    rlo, rhi = _check_range("rotation_range", rotation_range)

    def render(a, b, rotation):
        return render_ellipses(a, b, rotation, image_size, sigma, supersample)

    if mode == "fixed":
        n_train = validation.check_int("n_train", n_train, minimum=1)
        f = sample_factors(n_train, seed, (lo, hi), (rlo, rhi))
        ds = tf.data.Dataset.from_tensor_slices((f["a"], f["b"], f["rotation"])).batch(_CHUNK)
        ds = ds.map(render, num_parallel_calls=tf.data.AUTOTUNE).unbatch().cache()
        ds = ds.shuffle(n_train, seed=seed, reshuffle_each_iteration=True).batch(batch_size)
        ds = ds.apply(tf.data.experimental.assert_cardinality(-(-n_train // batch_size)))
        ds = ds.map(lambda x: (x, x))
    else:
        def draw(step):
            key = tf.stack([tf.cast(seed, tf.int64), step])
            keys = tf.random.experimental.stateless_split(key, 3)
            a = tf.random.stateless_uniform([_CHUNK], keys[0], lo, hi)
            b = tf.random.stateless_uniform([_CHUNK], keys[1], lo, hi)
            rotation = tf.random.stateless_uniform([_CHUNK], keys[2], rlo, rhi)
            return render(a, b, rotation)

        ds = tf.data.Dataset.counter().map(draw, num_parallel_calls=tf.data.AUTOTUNE)
        ds = ds.rebatch(batch_size).map(lambda x: (x, x))
    return ds.prefetch(tf.data.AUTOTUNE)
