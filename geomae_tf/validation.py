"""Argument checks shared by the whole package.

Every public entry point validates what a user hands it and raises a
`ValueError` (or `TypeError`) that names the argument, says what is allowed and
echoes what came, in the style of Keras:
``ValueError("`d0` must be a positive int. Received: d0=0")``.
"""

from __future__ import annotations

import numbers
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

if TYPE_CHECKING:
    from geomae_tf.types import ArrayLike

    _T = TypeVar("_T")

#: Slack allowed outside [0, 1] by `check_images` (and by the served
#: signatures). Decoders overshoot [0, 1]: the disk_ae entry decodes its
#: disks (radius 0.5-31.5) into [-0.024, 1.038], so E(D(z)) (JMIV 2020,
#: section 4) passes as is; images further out (e.g. 0..255 values) are
#: refused. Entries that overshoot more (measured on the same disks:
#: disk_ae_hole up to 1.10, disk_ae_hole_encreg 1.14, disk_ae_nobias 1.42 on
#: the smallest disks) are studied with `encode(..., clip=True)`.
RANGE_TOLERANCE = 0.05


def _short(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_int(name: str, value: Any, *, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """Returns `value` if it is an int within [minimum, maximum], else raises."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an int. Received: {name}={_short(value)} "
                        f"of type {type(value).__name__}")
    _check_range(name, int(value), minimum, maximum, "int")
    return int(value)


def check_float(name: str, value: Any, *, minimum: float | None = None,
                maximum: float | None = None, exclusive_minimum: bool = False) -> float:
    """Returns `value` as a float if it is a finite real number in range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number. Received: {name}={_short(value)} "
                        f"of type {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"`{name}` must be finite. Received: {name}={value}")
    if exclusive_minimum and minimum is not None and value <= minimum:
        raise ValueError(f"`{name}` must be > {minimum}. Received: {name}={value}")
    _check_range(name, value, None if exclusive_minimum else minimum, maximum, "number")
    return value


def _check_range(name, value, minimum, maximum, kind):
    if minimum is not None and value < minimum:
        bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"`{name}` must be an {kind} {bound}. Received: {name}={value}")
    if maximum is not None and value > maximum:
        bound = f"<= {maximum}" if minimum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"`{name}` must be an {kind} {bound}. Received: {name}={value}")


def check_choice(name: str, value: _T, allowed: Collection[Any]) -> _T:
    """Returns `value` if it is one of `allowed`, else raises naming them all."""
    if value not in allowed:
        raise ValueError(f"`{name}` must be one of {sorted(allowed)}. "
                         f"Received: {name}={_short(value)}")
    return value


def with_defaults(section: str, options: Mapping[str, Any] | None,
                  defaults: Mapping[str, Any]) -> dict[str, Any]:
    """`defaults` updated by `options`, raising a `ValueError` that names the
    unknown keys of the table `[section]` and the allowed ones."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in [{section}]. Allowed keys: "
                         f"{sorted(defaults)}")
    return {**defaults, **options}


def as_array(name: str, value: ArrayLike) -> np.ndarray:
    """`np.asarray(value)`, raising a `TypeError` that names `name` for values
    numpy cannot turn into one rectangular array (ragged lists, ...)."""
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as err:
        raise TypeError(f"`{name}` must be an array (a numpy array, a tensor or nested lists "
                        f"of equal lengths). Received: {name}={_short(value)} ({err})") from None


def check_images(images: ArrayLike, *, name: str = "images",
                 size: int | Sequence[int] | None = None, channels: int = 1,
                 value_range: tuple[float, float] | None = (0.0, 1.0),
                 tolerance: float = RANGE_TOLERANCE, clip: bool = False) -> np.ndarray:
    """Validates a batch of images in the package's convention.

    Images are float32 in [0, 1], channels-last, shaped `(N, H, W, 1)`
    (the package's data conventions).

    Args:
        images: array-like. The batch to check.
        name: str. The argument's name, used in error messages.
        size: int, tuple or None. Expected `H` (and `W`); None accepts any size.
        channels: int. Expected number of channels. Defaults to 1.
        value_range: tuple or None. Allowed value range. Defaults to (0, 1).
        tolerance: float. Slack allowed outside `value_range`. Defaults to
            `RANGE_TOLERANCE` (0.05): decoded images, which overshoot [0, 1]
            by a few hundredths, pass.
        clip: bool. If True, finite values outside `value_range` are clipped
            into it instead of refused (to study E(D(z)) for any z).
            Defaults to False.

    Returns:
        The images as a float32 numpy array (a batch of 0 images is valid).
    """
    array = as_array(name, images)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.floating)
                                     or np.issubdtype(array.dtype, np.integer)):
        raise TypeError(f"`{name}` must be a float array (float32 in [0, 1]). "
                        f"Received: {name} with dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"`{name}` must be float32 in [0, 1], not integers (divide uint8 "
                        f"images by 255). Received: {name} with dtype {array.dtype}")
    if array.ndim != 4:
        raise ValueError(f"`{name}` must have rank 4, shaped (N, H, W, {channels}). "
                         f"Received: {name} with shape {array.shape}")
    if array.shape[-1] != channels:
        raise ValueError(f"`{name}` must have {channels} channel(s) in the last axis "
                         f"(channels-last). Received: {name} with shape {array.shape}")
    if size is not None:
        expected = (size, size) if isinstance(size, numbers.Integral) else tuple(size)
        if tuple(array.shape[1:3]) != expected:
            raise ValueError(f"`{name}` must be {expected[0]}x{expected[1]} images, shaped "
                             f"(N, {expected[0]}, {expected[1]}, {channels}). "
                             f"Received: {name} with shape {array.shape}")
    array = array.astype(np.float32, copy=False)
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(f"`{name}` must be finite. Received: {name} with {bad} NaN or "
                         f"infinite value(s)")
    if value_range is not None and clip:
        return np.clip(array, value_range[0], value_range[1])
    if value_range is not None and array.size:
        low, high = value_range
        amin, amax = float(array.min()), float(array.max())
        if amin < low - tolerance or amax > high + tolerance:
            raise ValueError(f"`{name}` must have values in [{low}, {high}] (up to "
                             f"{tolerance:g} outside; pass clip=True to clip). Received: "
                             f"{name} with values in [{amin:.4g}, {amax:.4g}]")
    return array


def check_signals(signals: ArrayLike, *, name: str = "signals",
                  length: int | None = None) -> np.ndarray:
    """Validates 1-D signals shaped `(N, n, 1)` (the package's data conventions)."""
    array = as_array(name, signals)
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"`{name}` must be a float array. Received: {name} with dtype "
                        f"{array.dtype}")
    if array.ndim != 3 or array.shape[-1] != 1:
        raise ValueError(f"`{name}` must have rank 3, shaped (N, n, 1). Received: {name} "
                         f"with shape {array.shape}")
    if length is not None and array.shape[1] != length:
        raise ValueError(f"`{name}` must have length {length}, shaped (N, {length}, 1). "
                         f"Received: {name} with shape {array.shape}")
    array = array.astype(np.float32, copy=False)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"`{name}` must be finite. Received: {name} with NaN or infinite "
                         "values")
    return array


def check_codes(z: ArrayLike, *, name: str = "z", latent_dim: int | None = None) -> np.ndarray:
    """Validates latent codes shaped `(N, latent_dim)`."""
    array = as_array(name, z)
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise TypeError(f"`{name}` must be a float array. Received: {name} with dtype "
                        f"{array.dtype}")
    if array.ndim != 2:
        raise ValueError(f"`{name}` must have rank 2, shaped (N, latent_dim). Received: "
                         f"{name} with shape {array.shape}")
    if latent_dim is not None and array.shape[1] != latent_dim:
        raise ValueError(f"`{name}` must have {latent_dim} column(s), shaped (N, {latent_dim})."
                         f" Received: {name} with shape {array.shape}")
    array = array.astype(np.float32, copy=False)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"`{name}` must be finite. Received: {name} with NaN or infinite "
                         "values")
    return array
