"""Shared pieces of the disentanglement metrics: input checks, discretisation,
entropy and mutual information (numpy only).

Conventions used by every metric of `geomae_tf.metrics`:

- `z` is an `(N, d)` array of codes: N samples, d latents.
- `factors` is an `(N, K)` array, an `(N,)` array (one factor) or a dict
  `name -> (N,)` array; a dict keeps its insertion order.
- A factor is *discrete* or *continuous*. With `discrete=None` a factor is
  discrete when it takes at most `num_bins` (20) distinct values, continuous
  otherwise; `discrete=True` / `False` sets every factor, a sequence of K
  bools (or, for dict factors, a dict `name -> bool`) sets each one.
- Where a metric needs class labels (MIG's entropies, DCI's classifiers,
  SAP's classifiers), a discrete factor's labels are its distinct values
  (numbered in sorted order) and a continuous factor's labels are its
  `num_bins` equal-width bins between its minimum and maximum
  (`equal_width_bins`).
- Entropies and mutual informations are in nats.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from geomae_tf import validation

if TYPE_CHECKING:
    from geomae_tf.types import ArrayLike

#: Number of equal-width bins of disentanglement_lib's histogram discretiser.
NUM_BINS = 20
#: Fewest samples any metric accepts.
MIN_SAMPLES = 10


def check_numeric(name: str, array: np.ndarray) -> np.ndarray:
    """Returns `array` as finite float64, or raises naming `name`."""
    if array.dtype == object or not (np.issubdtype(array.dtype, np.floating)
                                     or np.issubdtype(array.dtype, np.integer)
                                     or np.issubdtype(array.dtype, np.bool_)):
        raise TypeError(f"`{name}` must be a numeric (float, int or bool) array. "
                        f"Received: {name} with dtype {array.dtype}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        bad = int(array.size - np.count_nonzero(np.isfinite(array)))
        raise ValueError(f"`{name}` must be finite. Received: {name} with {bad} NaN or "
                         f"infinite value(s)")
    return array


def check_latents(z: ArrayLike, name: str = "z") -> np.ndarray:
    """Returns `z` as a float64 `(N, d)` array, or raises naming the problem."""
    array = np.asarray(z)
    if array.ndim != 2:
        hint = " (use z.reshape(-1, 1) for a single latent)" if array.ndim == 1 else ""
        raise ValueError(f"`{name}` must have rank 2, shaped (N, latent_dim){hint}. "
                         f"Received: {name} with shape {array.shape}")
    if array.shape[1] < 1:
        raise ValueError(f"`{name}` must have at least one column (latent). "
                         f"Received: {name} with shape {array.shape}")
    return check_numeric(name, array)


def check_factors(factors: ArrayLike | dict[str, ArrayLike],
                  name: str = "factors") -> tuple[list[str], np.ndarray]:
    """Returns `(names, columns)`: the factors as a list of names and a float64
    `(N, K)` array, or raises naming the problem."""
    if isinstance(factors, dict):
        if not factors:
            raise ValueError(f"`{name}` must name at least one factor. Received: {name}={{}}")
        columns = []
        for key, values in factors.items():
            if not isinstance(key, str):
                raise TypeError(f"`{name}` must have str keys (factor names). Received: key "
                                f"{key!r} of type {type(key).__name__}")
            values = np.asarray(values)
            if values.ndim == 2 and values.shape[1] == 1:
                values = values[:, 0]
            if values.ndim != 1:
                raise ValueError(f"`{name}[{key!r}]` must have rank 1, shaped (N,). "
                                 f"Received: shape {values.shape}")
            columns.append(check_numeric(f"{name}[{key!r}]", values))
        lengths = {len(c) for c in columns}
        if len(lengths) != 1:
            shapes = {k: len(c) for k, c in zip(factors, columns)}
            raise ValueError(f"`{name}` must hold factors of one common length N. "
                             f"Received lengths {shapes}")
        return list(factors), np.stack(columns, axis=1)
    array = np.asarray(factors)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"`{name}` must be an (N, K) array, an (N,) array or a dict "
                         f"name -> (N,) array. Received: {name} with shape {array.shape}")
    if array.shape[1] < 1:
        raise ValueError(f"`{name}` must have at least one column (factor). "
                         f"Received: {name} with shape {array.shape}")
    array = check_numeric(name, array)
    return [f"factor_{j}" for j in range(array.shape[1])], array


def check_discrete(discrete: bool | Sequence[bool] | np.ndarray | dict[str, bool] | None,
                   names: Sequence[str], columns: np.ndarray, num_bins: int) -> list[bool]:
    """Resolves the `discrete` argument into one bool per factor (see module doc)."""
    k = len(names)
    if discrete is None:
        return [len(np.unique(columns[:, j])) <= num_bins for j in range(k)]
    if isinstance(discrete, (bool, np.bool_)):
        return [bool(discrete)] * k
    if isinstance(discrete, dict):
        unknown = [key for key in discrete if key not in names]
        missing = [n for n in names if n not in discrete]
        if unknown or missing:
            raise ValueError(f"`discrete` as a dict must have exactly the factor names "
                             f"{names} as keys. Received: unknown {unknown}, missing {missing}")
        flags = [discrete[n] for n in names]
    elif isinstance(discrete, (list, tuple, np.ndarray)):
        flags = discrete.tolist() if isinstance(discrete, np.ndarray) else list(discrete)
        if len(flags) != k:
            raise ValueError(f"`discrete` must have one bool per factor ({k}). "
                             f"Received: discrete={discrete!r}")
    else:
        raise TypeError(f"`discrete` must be None, a bool, a sequence of {k} bools or a dict "
                        f"name -> bool. Received: discrete={discrete!r}")
    for flag in flags:
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"`discrete` must hold bools. Received: discrete={discrete!r}")
    return [bool(f) for f in flags]


def prepare(z: ArrayLike, factors: ArrayLike | dict[str, ArrayLike], *, num_bins: int = NUM_BINS,
            discrete: bool | Sequence[bool] | np.ndarray | dict[str, bool] | None = None,
            seed: int = 0) -> dict[str, Any]:
    """Validates the common arguments of every metric.

    Returns:
        A dict with `z` (float64 `(N, d)`), `names` (K factor names),
        `factors` (float64 `(N, K)`), `discrete` (K bools), `labels`
        (int `(N, K)`, the class labels of the factors), `num_bins` and `seed`.
    """
    num_bins = validation.check_int("num_bins", num_bins, minimum=2)
    seed = validation.check_int("seed", seed, minimum=0)
    z = check_latents(z)
    names, columns = check_factors(factors)
    if len(z) != len(columns):
        raise ValueError(f"`z` and `factors` must have the same number of samples N. "
                         f"Received: z with {len(z)} rows and factors with {len(columns)}")
    if len(z) < MIN_SAMPLES:
        raise ValueError(f"The metrics need at least {MIN_SAMPLES} samples. Received: "
                         f"{len(z)} sample(s)")
    for j, factor_name in enumerate(names):
        if np.ptp(columns[:, j]) == 0:
            raise ValueError(f"Factor {factor_name!r} is constant (value "
                             f"{columns[0, j]:g}): it has no information to recover; drop it")
    flags = check_discrete(discrete, names, columns, num_bins)
    labels = np.stack([factor_labels(columns[:, j], flags[j], num_bins)
                       for j in range(len(names))], axis=1)
    return {"z": z, "names": names, "factors": columns, "discrete": flags, "labels": labels,
            "num_bins": num_bins, "seed": seed}


def equal_width_bins(values: ArrayLike, num_bins: int = NUM_BINS) -> np.ndarray:
    """Bin index (0 .. num_bins-1) of each value among `num_bins` equal-width bins.

    The bins split [min, max] of `values` into equal parts, as numpy's
    `histogram` does; the maximum falls into the last bin. A constant array
    falls entirely into bin 0.
    """
    values = np.asarray(values, dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    if high == low:
        return np.zeros(values.shape, dtype=np.int64)
    edges = np.linspace(low, high, num_bins + 1)
    return np.clip(np.searchsorted(edges, values, side="right") - 1, 0, num_bins - 1)


def factor_labels(values: ArrayLike, discrete: bool, num_bins: int = NUM_BINS) -> np.ndarray:
    """Class labels of a factor: its distinct values numbered in sorted order
    (discrete) or its equal-width bin (continuous)."""
    if discrete:
        return np.unique(values, return_inverse=True)[1].reshape(-1).astype(np.int64)
    return equal_width_bins(values, num_bins)


def entropy(labels: ArrayLike) -> float:
    """Entropy in nats of the empirical distribution of integer `labels`."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64))
    p = counts[counts > 0] / counts.sum()
    return float(-np.sum(p * np.log(p)))


def mutual_information(a: ArrayLike, b: ArrayLike) -> float:
    """Mutual information in nats between two integer label arrays (plug-in
    estimate from their contingency table)."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    na, nb = int(a.max()) + 1, int(b.max()) + 1
    joint = np.bincount(a * nb + b, minlength=na * nb).reshape(na, nb) / len(a)
    pa, pb = joint.sum(axis=1), joint.sum(axis=0)
    nz = joint > 0
    value = np.sum(joint[nz] * np.log(joint[nz] / np.outer(pa, pb)[nz]))
    return float(max(value, 0.0))


def normalized_entropy(p: ArrayLike, base_size: int) -> float:
    """Entropy of the distribution proportional to the nonnegative vector `p`,
    in base `base_size` (so that a uniform `p` over `base_size` items gives 1)."""
    p = np.asarray(p, dtype=np.float64)
    p = p / p.sum()
    nz = p > 0
    return float(-np.sum(p[nz] * np.log(p[nz])) / np.log(base_size))


def top_two_gap(matrix: ArrayLike) -> np.ndarray:
    """Best minus second-best entry of each column of a `(d, K)` score matrix.

    With a single row (one latent) there is no runner-up and the gap is the
    best score itself (the runner-up counts as 0).
    """
    ordered = np.sort(np.asarray(matrix, dtype=np.float64), axis=0)[::-1]
    second = ordered[1] if len(ordered) > 1 else np.zeros(ordered.shape[1])
    return ordered[0] - second


def split_indices(n: int, train_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random split of `range(n)` into train and test indices."""
    train_fraction = validation.check_float("train_fraction", train_fraction, minimum=0.0,
                                            exclusive_minimum=True, maximum=1.0)
    n_train = int(round(train_fraction * n))
    if n_train < 2 or n - n_train < 1:
        raise ValueError(f"`train_fraction` must leave at least 2 training and 1 test "
                         f"sample(s) out of N={n}. Received: train_fraction={train_fraction}")
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[:n_train]), np.sort(order[n_train:])
