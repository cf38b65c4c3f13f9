"""Centred disks of random radius AND grey level: the PCA-AE's failure case.

The talk on the PCA-like autoencoder (slide "Disks with varying grey-level,
failure case") trains it on centred disks whose radius and grey level both
vary: the second axis is not well learned. An image is
x = grey * (g_sigma * 1_{B_r}), the blurred disk of `geomae_tf.datasets.disks`
(same exact renderer, same conventions) scaled by its grey level. Two
factors are kept: `radius` and `grey`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from geomae_tf import validation
from geomae_tf.datasets import disks

if TYPE_CHECKING:
    from geomae_tf.types import ArrayLike

IMAGE_SIZE = 64
RADIUS_RANGE = (2.0, 30.0)
GREY_RANGE = (0.2, 1.0)
SIGMA = 1.0
N_TRAIN = 12_800


def _check_range(name, value, low_bound, high_bound=None):
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            or not value[0] <= value[1] or value[0] < low_bound
            or (high_bound is not None and value[1] > high_bound)):
        allowed = f"[{low_bound}, {high_bound}]" if high_bound is not None else f">= {low_bound}"
        raise ValueError(f"`{name}` must be a (low, high) pair with low <= high, within "
                         f"{allowed}. Received: {name}={value!r}")
    return float(value[0]), float(value[1])


def render_grey_disks(radii: tf.Tensor | ArrayLike, greys: tf.Tensor | ArrayLike,
                      image_size: int = IMAGE_SIZE, sigma: float = SIGMA) -> tf.Tensor:
    """Renders centred blurred disks of grey level `greys` (TensorFlow, vectorised).

    Args:
        radii: float tensor (N,). Radii in pixels.
        greys: float tensor (N,). Grey levels in [0, 1].
        image_size: int. Defaults to 64.
        sigma: float. Gaussian blur. Defaults to 1 px.

    Returns:
        float32 tensor (N, image_size, image_size, 1) in [0, 1].
    """
    greys = tf.reshape(tf.cast(greys, tf.float32), [-1, 1, 1, 1])
    return disks.render_disks(radii, image_size, sigma) * greys


def sample_factors(n: int, seed: int = 0,
                   radius_range: tuple[float, float] | list[float] = RADIUS_RANGE,
                   grey_range: tuple[float, float] | list[float] = GREY_RANGE
                   ) -> dict[str, np.ndarray]:
    """`n` seeded factors {"radius", "grey"}, both uniform (float32 arrays)."""
    n = validation.check_int("n", n, minimum=1)
    rlo, rhi = _check_range("radius_range", radius_range, 0.0)
    glo, ghi = _check_range("grey_range", grey_range, 0.0, 1.0)
    rng = np.random.default_rng(seed)
    return {"radius": rng.uniform(rlo, rhi, n).astype(np.float32),
            "grey": rng.uniform(glo, ghi, n).astype(np.float32)}


def make_grey_disks(n: int, seed: int = 0, image_size: int = IMAGE_SIZE, sigma: float = SIGMA,
                    radius_range: tuple[float, float] | list[float] = RADIUS_RANGE,
                    grey_range: tuple[float, float] | list[float] = GREY_RANGE,
                    renderer: str = "exact",
                    n_samples: int = 1024) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A seeded numpy set of grey disks with its ground-truth factors.

    Args:
        n: int. Number of images.
        seed: int. Seed of the factors (and of the Monte Carlo offsets).
        renderer: "exact" (training renderer) or "monte_carlo" (held-out).

    Returns:
        (images (n, H, W, 1) float32, {"radius", "grey"} float32 arrays).
    """
    validation.check_choice("renderer", renderer, {"exact", "monte_carlo"})
    factors = sample_factors(n, seed, radius_range, grey_range)
    if renderer == "exact":
        images = render_grey_disks(factors["radius"], factors["grey"], image_size,
                                   sigma).numpy()
    else:
        images = disks.render_disks_monte_carlo(factors["radius"], image_size, sigma,
                                                n_samples, seed + 1)
        images = images * factors["grey"][:, None, None, None]
    return images, factors


def training_dataset(batch_size: int = 512, mode: str = "fixed", seed: int = 0,
                     n_train: int = N_TRAIN, image_size: int = IMAGE_SIZE,
                     sigma: float = SIGMA,
                     radius_range: tuple[float, float] | list[float] = RADIUS_RANGE,
                     grey_range: tuple[float, float] | list[float] = GREY_RANGE
                     ) -> tf.data.Dataset:
    """The `tf.data` pipeline of (image, image) batches for `model.fit`.

    Args:
        batch_size: int. Defaults to 512.
        mode: "fixed" (a seeded set of `n_train` disks, reshuffled each
            epoch) or "stream" (fresh disks forever; use `steps_per_epoch`).
        seed: int. Seed of the factors and of the shuffling.
        n_train: int. Size of the fixed set. Defaults to 12,800.
        Other args: as in `make_grey_disks`.

    Returns:
        A `tf.data.Dataset` of `(images, images)`.
    """
    batch_size = validation.check_int("batch_size", batch_size, minimum=1)
    validation.check_choice("mode", mode, {"fixed", "stream"})
    seed = validation.check_int("seed", seed, minimum=0)
    image_size = validation.check_int("image_size", image_size, minimum=4)
    sigma = validation.check_float("sigma", sigma, minimum=0.0, exclusive_minimum=True)
    rlo, rhi = _check_range("radius_range", radius_range, 0.0)
    glo, ghi = _check_range("grey_range", grey_range, 0.0, 1.0)

    def render(radius, grey):
        images = render_grey_disks(radius, grey, image_size, sigma)
        return images, images

    if mode == "fixed":
        n_train = validation.check_int("n_train", n_train, minimum=1)
        f = sample_factors(n_train, seed, (rlo, rhi), (glo, ghi))
        ds = tf.data.Dataset.from_tensor_slices((f["radius"], f["grey"]))
        ds = ds.shuffle(n_train, seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    else:
        def draw(step):
            keys = tf.random.experimental.stateless_split(
                tf.stack([tf.cast(seed, tf.int64), step]), 2)
            return (tf.random.stateless_uniform([batch_size], keys[0], rlo, rhi),
                    tf.random.stateless_uniform([batch_size], keys[1], glo, ghi))

        ds = tf.data.Dataset.counter().map(draw)
    return ds.map(render, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
