"""1-D Diracs: the data of JMIV 2020, section 5 (position).

Two kinds of Dirac of length n (64 by default), positions in sample units
0 .. n - 1 (the package's data conventions):
- `mode="onehot"`: one-hot vectors at integer positions a (sections 5.1-5.3,
  the encoder's data; also the decoder's failure case of section 5.4).
- `mode="continuous"`: triangular Diracs y_a(t) = max(0, 1 - |t - a|)
  (eq. 19) at continuous positions a ~ U(0, n - 1) (section 5.4, the
  decoder's data). A triangular Dirac at an integer position is the one-hot
  vector, so one renderer serves both.

Three ways to pair them for `model.fit` (`task`):
- "encode": (signals, position) for the supervised position encoder;
- "decode": (position, signals) for the position decoder;
- "autoencode": (signals, signals) for an autoencoder with a 1-D code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from geomae_tf import validation

if TYPE_CHECKING:
    from geomae_tf.types import ArrayLike

LENGTH = 64
N_TRAIN = 4096
MODES = ("onehot", "continuous")
TASKS = ("encode", "decode", "autoencode")


def _check_length(length):
    return validation.check_int("length", length, minimum=2)


def triangular_diracs(positions: ArrayLike, length: int = LENGTH) -> np.ndarray:
    """Numpy triangular Diracs y_a(t) = max(0, 1 - |t - a|) (eq. 19).

    At an integer position a this is the one-hot vector delta_a.

    Args:
        positions: array (N,). Positions in sample units, in [0, length - 1].
        length: int. Signal length n. Defaults to 64.

    Returns:
        float32 array (N, length, 1).
    """
    length = _check_length(length)
    positions = _check_positions(positions, length)
    t = np.arange(length, dtype=np.float64)
    signals = np.maximum(0.0, 1.0 - np.abs(t[None, :] - positions[:, None].astype(np.float64)))
    return signals.astype(np.float32)[..., None]


def render_diracs(positions: tf.Tensor | ArrayLike, length: int = LENGTH) -> tf.Tensor:
    """The TensorFlow version of `triangular_diracs`, vectorised over the batch."""
    length = _check_length(length)
    positions = tf.cast(tf.reshape(positions, [-1, 1]), tf.float32)
    t = tf.range(length, dtype=tf.float32)[None, :]
    return tf.maximum(0.0, 1.0 - tf.abs(t - positions))[..., None]


def onehots(length: int = LENGTH) -> tuple[np.ndarray, np.ndarray]:
    """Every one-hot vector of length n, in order of position: (n, n, 1), and positions."""
    length = _check_length(length)
    return np.eye(length, dtype=np.float32)[..., None], np.arange(length, dtype=np.float32)


def _check_positions(positions, length):
    positions = np.asarray(positions, dtype=np.float32).reshape(-1)
    if not np.all(np.isfinite(positions)):
        raise ValueError("`positions` must be finite. Received: positions with NaN or "
                         "infinite values")
    if positions.size and (positions.min() < 0 or positions.max() > length - 1):
        raise ValueError(f"`positions` must lie in [0, length - 1] = [0, {length - 1}]. "
                         f"Received: positions in [{positions.min():.4g}, "
                         f"{positions.max():.4g}]")
    return positions


def sample_positions(n: int, seed: int = 0, mode: str = "onehot",
                     length: int = LENGTH) -> np.ndarray:
    """`n` seeded positions: integers 0 .. n - 1 (onehot) or U(0, n - 1) (continuous).

    Returns:
        float32 array (n,).
    """
    n = validation.check_int("n", n, minimum=1)
    validation.check_choice("mode", mode, set(MODES))
    length = _check_length(length)
    rng = np.random.default_rng(seed)
    if mode == "onehot":
        return rng.integers(0, length, size=n).astype(np.float32)
    return rng.uniform(0.0, length - 1, size=n).astype(np.float32)


def make_diracs(n: int, seed: int = 0, mode: str = "onehot",
                length: int = LENGTH) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A seeded numpy set of Diracs with their positions.

    Args:
        n: int. Number of signals.
        seed: int. Seed of the positions.
        mode: "onehot" (integer positions) or "continuous" (triangular
            Diracs at positions U(0, length - 1), eq. 19).
        length: int. Signal length. Defaults to 64.

    Returns:
        (signals (n, length, 1) float32, {"position": (n,) float32}).
    """
    positions = sample_positions(n, seed, mode, length)
    return triangular_diracs(positions, length), {"position": positions}


def _pairs(task):
    if task == "encode":
        return lambda positions, signals: (signals, positions[:, None])
    if task == "decode":
        return lambda positions, signals: (positions[:, None], signals)
    return lambda positions, signals: (signals, signals)


def training_dataset(batch_size: int = 64, mode: str = "onehot", task: str = "encode",
                     seed: int = 0, n_train: int = N_TRAIN, length: int = LENGTH,
                     stream: bool = False) -> tf.data.Dataset:
    """The `tf.data` pipeline of training pairs for `model.fit`.

    Args:
        batch_size: int. Defaults to 64.
        mode: "onehot" or "continuous" (see the module docstring).
        task: "encode" -> (signals, position (N, 1)); "decode" ->
            (position (N, 1), signals); "autoencode" -> (signals, signals).
        seed: int. Seed of the positions and of the shuffling.
        n_train: int. Signals per epoch. With "onehot" every position appears
            n_train / length times (balanced); with "continuous" the positions
            are a fixed seeded draw, reshuffled each epoch. Defaults to 4096.
        length: int. Signal length n. Defaults to 64.
        stream: bool. "continuous" only: fresh positions for every batch
            (an infinite dataset: give `steps_per_epoch`). Defaults to False.

    Returns:
        A `tf.data.Dataset` of pairs, signals shaped (N, length, 1).
    """
    batch_size = validation.check_int("batch_size", batch_size, minimum=1)
    validation.check_choice("mode", mode, set(MODES))
    validation.check_choice("task", task, set(TASKS))
    seed = validation.check_int("seed", seed, minimum=0)
    n_train = validation.check_int("n_train", n_train, minimum=1)
    length = _check_length(length)
    if not isinstance(stream, bool):
        raise TypeError(f"`stream` must be a bool. Received: stream={stream!r}")
    if stream and mode != "continuous":
        raise ValueError(f"`stream` needs mode=\"continuous\" (one-hot positions are a "
                         f"finite set). Received: stream={stream}, mode={mode!r}")
    pair = _pairs(task)

    def render(positions):
        return pair(positions, render_diracs(positions, length))

    if stream:
        ds = tf.data.Dataset.counter().map(
            lambda step: tf.random.stateless_uniform(
                [batch_size], tf.stack([tf.cast(seed, tf.int64), step]), 0.0,
                float(length - 1)))
    else:
        if mode == "onehot":
            positions = np.resize(np.arange(length, dtype=np.float32), n_train)
        else:
            positions = sample_positions(n_train, seed, "continuous", length)
        ds = tf.data.Dataset.from_tensor_slices(positions)
        ds = ds.shuffle(n_train, seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    return ds.map(render, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
