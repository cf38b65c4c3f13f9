"""Seeded sampling of a scalar factor from an interval with holes removed.

JMIV 2020, section 4.4: training sets whose radii stop at R, or miss a band
(radii 11-18 removed). The same code serves the fixed (numpy, seeded) sets and
the infinite on-the-fly streams (TensorFlow, stateless).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import tensorflow as tf

from geomae_tf import validation


def allowed_intervals(low: float, high: float,
                      exclude: Iterable[tuple[float, float] | list[float]] | None = ()
                      ) -> list[tuple[float, float]]:
    """Returns the sub-intervals of [low, high) left once `exclude` is removed.

    Args:
        low: float. Lower bound of the factor.
        high: float. Upper bound (exclusive).
        exclude: sequence of (a, b) pairs. Bands to remove.

    Returns:
        A list of (start, stop) pairs of positive length.
    """
    low = validation.check_float("low", low)
    high = validation.check_float("high", high)
    if high <= low:
        raise ValueError(f"`radius_range` must be (low, high) with low < high. "
                         f"Received: low={low}, high={high}")
    intervals = [(low, high)]
    for band in exclude or ():
        if not isinstance(band, (list, tuple)) or len(band) != 2 or band[0] >= band[1]:
            raise ValueError(f"`exclude` must be a list of (a, b) pairs with a < b. "
                             f"Received: exclude={exclude!r}")
        a, b = float(band[0]), float(band[1])
        intervals = [piece for start, stop in intervals
                     for piece in ((start, min(stop, a)), (max(start, b), stop))
                     if piece[1] > piece[0]]
    if not intervals:
        raise ValueError(f"`exclude` removes the whole range [{low}, {high}). "
                         f"Received: exclude={exclude!r}")
    return intervals


def uniform_on_intervals_np(n: int, intervals: Sequence[tuple[float, float]],
                            rng: np.random.Generator) -> np.ndarray:
    """`n` numpy samples uniform on the union of `intervals`."""
    starts = np.array([s for s, _ in intervals])
    lengths = np.array([e - s for s, e in intervals])
    cumulative = np.concatenate([[0.0], np.cumsum(lengths)])
    t = rng.uniform(0.0, cumulative[-1], size=n)
    k = np.clip(np.searchsorted(cumulative, t, side="right") - 1, 0, len(intervals) - 1)
    return (starts[k] + t - cumulative[k]).astype(np.float32)


def uniform_on_intervals_tf(shape: Sequence[int] | tf.Tensor,
                            intervals: Sequence[tuple[float, float]],
                            seed: tf.Tensor | Sequence[int]) -> tf.Tensor:
    """A stateless TensorFlow sample uniform on the union of `intervals`.

    Args:
        shape: the output shape.
        intervals: list of (start, stop) pairs (see `allowed_intervals`).
        seed: int32 tensor of shape (2,), the stateless seed.
    """
    starts = tf.constant([s for s, _ in intervals], tf.float32)
    lengths = np.array([e - s for s, e in intervals], np.float32)
    cumulative = tf.constant(np.concatenate([[0.0], np.cumsum(lengths)]), tf.float32)
    t = tf.random.stateless_uniform(shape, seed, 0.0, float(cumulative[-1]))
    k = tf.searchsorted(cumulative, tf.reshape(t, [-1]), side="right") - 1
    k = tf.reshape(tf.clip_by_value(k, 0, len(intervals) - 1), tf.shape(t))
    return tf.gather(starts, k) + t - tf.gather(cumulative, k)
