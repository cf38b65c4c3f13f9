"""Off-the-grid Gaussian spikes: the data of Newson and Traonmilin 2023, section 3.

An image is a sum of 1..10 spikes (uniform count) convolved with a Gaussian
of standard deviation sigma = 2 px, sampled at the pixel centres:

    x(i, j) = sum_s a_s exp(-((i - t_s,0)^2 + (j - t_s,1)^2) / (2 sigma^2)),

so a spike's peak value is its amplitude a_s ~ U(0.5, 1). The centres t_s
are continuous (off the grid), at least 2 sigma from the border and from
each other (the package's defaults). Pixel (i, j) has its centre at (i, j): a position
is `(row, column)` in pixel units.

Where spikes are close, their sum can exceed 1 at a pixel; such an image is
scaled down as a whole (every amplitude with it, so that the image is still
exactly the sum of its spikes) to stay in [0, 1]. The factor `scale` records
it (1 for most images).

Rendering is vectorised TensorFlow (a Gaussian is separable: an image is
one small matrix product per batch), used both by the `tf.data` pipelines
and by the numpy maker `make_spikes`, which keeps the ground truth:
positions and amplitudes padded to `max_spikes`, and the count.
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
SIGMA = 2.0
AMPLITUDE_RANGE = (0.5, 1.0)
MIN_SPIKES = 1
MAX_SPIKES = 10
N_TRAIN = 60_000
#: Candidates drawn per spike: the first one far enough from the others is kept.
N_CANDIDATES = 32


def _check_args(image_size, sigma, amplitude_range, min_spikes, max_spikes, min_separation,
                border):
    image_size = validation.check_int("image_size", image_size, minimum=4)
    sigma = validation.check_float("sigma", sigma, minimum=0.0, exclusive_minimum=True)
    if (not isinstance(amplitude_range, (list, tuple)) or len(amplitude_range) != 2
            or not 0 < amplitude_range[0] <= amplitude_range[1]):
        raise ValueError(f"`amplitude_range` must be a (low, high) pair with 0 < low <= high. "
                         f"Received: amplitude_range={amplitude_range!r}")
    min_spikes = validation.check_int("min_spikes", min_spikes, minimum=0)
    max_spikes = validation.check_int("max_spikes", max_spikes, minimum=max(1, min_spikes))
    min_separation = 2.0 * sigma if min_separation is None else validation.check_float(
        "min_separation", min_separation, minimum=0.0)
    border = 2.0 * sigma if border is None else validation.check_float(
        "border", border, minimum=0.0)
    if image_size - 1 - 2 * border <= 0:
        raise ValueError(f"`border` leaves no room for spikes in a {image_size}-pixel image. "
                         f"Received: border={border}")
    return (image_size, sigma, (float(amplitude_range[0]), float(amplitude_range[1])),
            min_spikes, max_spikes, min_separation, border)


def sample_spikes(batch_size: int, seed: tf.Tensor | Sequence[int],
                  image_size: int = IMAGE_SIZE, sigma: float = SIGMA,
                  amplitude_range: tuple[float, float] | list[float] = AMPLITUDE_RANGE,
                  min_spikes: int = MIN_SPIKES, max_spikes: int = MAX_SPIKES,
                  min_separation: float | None = None, border: float | None = None,
                  count_cap: int | tf.Tensor | None = None
                  ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Stateless, vectorised sampling of spike parameters in TensorFlow.

    Spikes are placed one slot at a time: for each slot, `N_CANDIDATES`
    uniform candidates are drawn in the allowed square and the first one at
    least `min_separation` from the spikes already placed is kept (the
    chance that none is, at the defaults, is below 1e-20; such a slot would
    be dropped). Active spikes come first.

    Args:
        batch_size: int. Number of images.
        seed: int tensor of shape (2,). The stateless seed.
        count_cap: None, or an int scalar tensor in [min_spikes, max_spikes]:
            the count is then uniform on {min_spikes, ..., count_cap} (what
            the curriculum of `training_dataset` raises step by step).
        Other args: as in `make_spikes`.

    Returns:
        (positions (B, max_spikes, 2) float32 (0 where inactive),
            amplitudes (B, max_spikes) float32 (0 where inactive),
            counts (B,) int32).
    """
    (image_size, sigma, (a_low, a_high), min_spikes, max_spikes, min_separation,
     border) = _check_args(image_size, sigma, amplitude_range, min_spikes, max_spikes,
                           min_separation, border)
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 3)
    if count_cap is None:
        counts = tf.random.stateless_uniform([batch_size], seeds[0], min_spikes,
                                             max_spikes + 1, dtype=tf.int32)
    else:
        cap = tf.clip_by_value(tf.cast(count_cap, tf.int32), min_spikes, max_spikes)
        counts = tf.random.stateless_uniform([batch_size], seeds[0], min_spikes, cap + 1,
                                             dtype=tf.int32)
    low, high = border, image_size - 1.0 - border
    candidates = tf.random.stateless_uniform([batch_size, max_spikes, N_CANDIDATES, 2],
                                             seeds[1], low, high)
    amplitudes = tf.random.stateless_uniform([batch_size, max_spikes], seeds[2], a_low, a_high)

    placed, active = [], []
    for slot in range(max_spikes):
        c = candidates[:, slot]                                       # (B, M, 2)
        wanted = slot < counts                                        # (B,)
        if slot == 0:
            ok = tf.ones(tf.shape(c)[:2], tf.bool)
        else:
            previous = tf.stack(placed, axis=1)                       # (B, slot, 2)
            d2 = tf.reduce_sum((c[:, :, None] - previous[:, None]) ** 2, axis=-1)
            far = (d2 >= min_separation ** 2) | ~tf.stack(active, axis=1)[:, None, :]
            ok = tf.reduce_all(far, axis=-1)                          # (B, M)
        first = tf.argmax(tf.cast(ok, tf.int32), axis=1, output_type=tf.int32)
        placed.append(tf.gather(c, first, axis=1, batch_dims=1))
        active.append(wanted & tf.reduce_any(ok, axis=1))
    positions = tf.stack(placed, axis=1)
    active = tf.stack(active, axis=1)
    # Active slots first (a dropped slot, if any, moves to the end).
    order = tf.argsort(tf.cast(~active, tf.int32), axis=1, stable=True)
    positions = tf.gather(positions, order, axis=1, batch_dims=1)
    active = tf.gather(active, order, axis=1, batch_dims=1)
    mask = tf.cast(active, tf.float32)
    return (positions * mask[..., None], amplitudes * mask,
            tf.reduce_sum(tf.cast(active, tf.int32), axis=1))


def render_spikes(positions: tf.Tensor | ArrayLike, amplitudes: tf.Tensor | ArrayLike,
                  image_size: int = IMAGE_SIZE, sigma: float = SIGMA) -> tf.Tensor:
    """Renders sums of Gaussian spikes in TensorFlow (vectorised, separable).

    Args:
        positions: float tensor (B, S, 2). Centres `(row, column)` in pixels.
        amplitudes: float tensor (B, S). Peak values (0 for absent spikes).
        image_size: int. Side of the square images. Defaults to 64.
        sigma: float. Standard deviation of the Gaussian. Defaults to 2.

    Returns:
        float32 tensor (B, image_size, image_size, 1) (not rescaled).
    """
    positions = tf.cast(positions, tf.float32)
    amplitudes = tf.cast(amplitudes, tf.float32)
    grid = tf.range(image_size, dtype=tf.float32)
    rows = tf.exp(-(grid - positions[..., 0:1]) ** 2 / (2.0 * sigma ** 2))   # (B, S, H)
    cols = tf.exp(-(grid - positions[..., 1:2]) ** 2 / (2.0 * sigma ** 2))   # (B, S, W)
    images = tf.einsum("bsh,bsw->bhw", rows * amplitudes[..., None], cols)
    return images[..., None]


def _fit_to_unit_range(images, amplitudes):
    peak = tf.reduce_max(images, axis=[1, 2, 3])
    scale = 1.0 / tf.maximum(peak, 1.0)
    return images * scale[:, None, None, None], amplitudes * scale[:, None], scale


def curriculum_cap(step: int | tf.Tensor, curriculum_steps: int, min_spikes: int = MIN_SPIKES,
                   max_spikes: int = MAX_SPIKES) -> tf.Tensor:
    """The largest spike count allowed at batch `step` of a curriculum.

    The curriculum's `curriculum_steps` batches are cut into equal stages,
    one per count from max(min_spikes, 1) to `max_spikes`; the cap is that
    count during its stage and `max_spikes` after the curriculum: with the
    defaults and 4000 steps, 400 batches of single spikes, then 400 of at
    most 2, and so on up to 10 from step 3600. Works on an int tensor
    `step` (inside `tf.data`) or a Python int.
    """
    low = max(min_spikes, 1)
    levels = max_spikes - low + 1
    step = tf.cast(step, tf.int64)
    cap = low + (step * levels) // curriculum_steps
    return tf.cast(tf.minimum(cap, max_spikes), tf.int32)


def spikes_batch(batch_size: int, seed: tf.Tensor | Sequence[int], image_size: int = IMAGE_SIZE,
                 sigma: float = SIGMA, **kwargs
                 ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
    """Samples and renders one batch: (images, positions, amplitudes, counts, scale)."""
    positions, amplitudes, counts = sample_spikes(batch_size, seed, image_size, sigma,
                                                  **kwargs)
    images = render_spikes(positions, amplitudes, image_size, sigma)
    images, amplitudes, scale = _fit_to_unit_range(images, amplitudes)
    return images, positions, amplitudes, counts, scale


def make_spikes(n: int, seed: int = 0, image_size: int = IMAGE_SIZE, sigma: float = SIGMA,
                amplitude_range: tuple[float, float] | list[float] = AMPLITUDE_RANGE,
                min_spikes: int = MIN_SPIKES, max_spikes: int = MAX_SPIKES,
                min_separation: float | None = None, border: float | None = None
                ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A seeded numpy set of spike images with its ground truth.

    Args:
        n: int. Number of images.
        seed: int. Seed (its images never coincide with those of a training
            stream of the same seed).
        image_size: int. Defaults to 64.
        sigma: float. Standard deviation of the spikes, px. Defaults to 2.
        amplitude_range: (low, high). Peak values. Defaults to (0.5, 1).
        min_spikes, max_spikes: int. The count is uniform on
            {min_spikes, ..., max_spikes}. Defaults to 1 and 10.
        min_separation: float or None. Minimum distance between centres;
            None means 2 sigma.
        border: float or None. Minimum distance from the centres to the
            border pixels' centres; None means 2 sigma.

    Returns:
        (images (n, H, W, 1) float32 in [0, 1], factors) with factors
        `positions` (n, max_spikes, 2) `(row, column)`, NaN where no spike;
        `amplitudes` (n, max_spikes), 0 where no spike; `count` (n,) int;
        `scale` (n,) the factor applied to keep the image in [0, 1].
    """
    n = validation.check_int("n", n, minimum=1)
    seed = validation.check_int("seed", seed, minimum=0)
    kwargs = dict(amplitude_range=amplitude_range, min_spikes=min_spikes,
                  max_spikes=max_spikes, min_separation=min_separation, border=border)
    _check_args(image_size, sigma, **kwargs)
    parts = []
    for chunk, start in enumerate(range(0, n, 1024)):
        size = min(1024, n - start)
        batch = spikes_batch(size, tf.constant([seed, -1 - chunk], tf.int64), image_size,
                             sigma, **kwargs)
        parts.append([t.numpy() for t in batch])
    images, positions, amplitudes, counts, scale = (np.concatenate(p) for p in zip(*parts))
    slots = np.arange(positions.shape[1])[None, :] < counts[:, None]
    positions = np.where(slots[..., None], positions, np.nan).astype(np.float32)
    return images.astype(np.float32), {"positions": positions,
                                       "amplitudes": amplitudes.astype(np.float32),
                                       "count": counts.astype(np.int32),
                                       "scale": scale.astype(np.float32)}


def training_dataset(batch_size: int = 64, mode: str = "stream", seed: int = 0,
                     n_train: int = N_TRAIN, image_size: int = IMAGE_SIZE,
                     sigma: float = SIGMA,
                     amplitude_range: tuple[float, float] | list[float] = AMPLITUDE_RANGE,
                     min_spikes: int = MIN_SPIKES, max_spikes: int = MAX_SPIKES,
                     min_separation: float | None = None, border: float | None = None,
                     curriculum_steps: int | None = None) -> tf.data.Dataset:
    """The `tf.data` pipeline of (images, images) batches for `model.fit`.

    Sampling and rendering happen inside the pipeline, vectorised over each
    batch, in a parallel map followed by prefetch.

    Args:
        batch_size: int. Defaults to 64.
        mode: "stream" (fresh images forever, the default: set
            `steps_per_epoch`) or "fixed" (a seeded set of `n_train` images
            reshuffled each epoch).
        seed: int. Seed of the images and of the shuffling.
        n_train: int. Size of the fixed set. Defaults to 60,000.
        curriculum_steps: None (default: the count is uniform on
            {min_spikes, ..., max_spikes} from the first batch), or an int:
            in "stream" mode, the largest count rises from 1 to `max_spikes`
            in equal stages over that many batches (`curriculum_cap`), so
            that the blocks first learn lone spikes, then crowded images.
        Other args: as in `make_spikes`.

    Returns:
        A `tf.data.Dataset` of `(images, images)`.
    """
    batch_size = validation.check_int("batch_size", batch_size, minimum=1)
    validation.check_choice("mode", mode, {"fixed", "stream"})
    seed = validation.check_int("seed", seed, minimum=0)
    kwargs = dict(amplitude_range=amplitude_range, min_spikes=min_spikes,
                  max_spikes=max_spikes, min_separation=min_separation, border=border)
    image_size, sigma = _check_args(image_size, sigma, **kwargs)[:2]

    def pairs(images):
        return images, images

    if curriculum_steps is not None:
        curriculum_steps = validation.check_int("curriculum_steps", curriculum_steps, minimum=1)
        if mode != "stream":
            raise ValueError(f"`curriculum_steps` needs mode=\"stream\" (a fixed set has no "
                             f"step to follow). Received: mode={mode!r}")
    if mode == "stream":
        def cap(step):  # None: the count is uniform from the first batch
            return None if curriculum_steps is None else curriculum_cap(
                step, curriculum_steps, kwargs["min_spikes"], kwargs["max_spikes"])

        ds = tf.data.Dataset.counter().map(
            lambda step: pairs(spikes_batch(batch_size, tf.stack([tf.cast(seed, tf.int64), step]),
                                            image_size, sigma, count_cap=cap(step),
                                            **kwargs)[0]),
            num_parallel_calls=tf.data.AUTOTUNE)
    else:
        n_train = validation.check_int("n_train", n_train, minimum=1)
        positions, amplitudes, _ = sample_spikes(n_train, tf.constant([seed, -(2 ** 40)],
                                                                      tf.int64),
                                                 image_size, sigma, **kwargs)
        ds = tf.data.Dataset.from_tensor_slices((positions, amplitudes))
        ds = ds.shuffle(n_train, seed=seed, reshuffle_each_iteration=True).batch(batch_size)
        ds = ds.map(lambda p, a: pairs(_fit_to_unit_range(
            render_spikes(p, a, image_size, sigma), a)[0]),
            num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)
