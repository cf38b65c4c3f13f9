"""The latent space of a trained autoencoder: bounds of its coordinates and sweeps.

A sweep moves ONE latent coordinate from its lower to its upper bound while
the other coordinates stay at a reference code, and is decoded step by step.
The bounds are those of the training codes (a quantile on each side), as in
the latent navigation of Newson and Traonmilin 2023, section 2.3 and Figure 6
(atomic blocks), the PCA-AE talks (slides 49-50) and JMIV 2020, Figure 3 (the
disk code). Every family's navigation figures take their codes from
`sweep_codes`:

>>> low, high = latent_bounds(train_codes, quantile=0.01)
>>> codes, values = sweep_codes(train_codes[0], low, high, axes=[0, 2], steps=5)
>>> codes.shape   # (len(axes), steps, latent_dim): codes[a, s] moves axes[a]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from geomae_tf import validation
from geomae_tf.datasets import DATASETS

if TYPE_CHECKING:
    from geomae_tf.models.autoencoder import Autoencoder
    from geomae_tf.types import ArrayLike

#: Steps per sweep.
DEFAULT_STEPS = 16


def latent_bounds(codes: ArrayLike, quantile: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of each latent coordinate over training codes (section 2.3).

    Args:
        codes: array (N, latent_dim). Codes E(x) of training images.
        quantile: float in [0, 0.5). 0 gives min and max; e.g. 0.01 ignores
            the 1% extremes on each side.

    Returns:
        (low, high), each of shape (latent_dim,).
    """
    codes = validation.check_codes(codes)
    quantile = validation.check_float("quantile", quantile, minimum=0.0, maximum=0.499)
    return (np.quantile(codes, quantile, axis=0).astype(np.float32),
            np.quantile(codes, 1.0 - quantile, axis=0).astype(np.float32))


def training_codes(model: Autoencoder, dataset: str = "spikes", n: int = 1000, seed: int = 0,
                   **kwargs) -> np.ndarray:
    """Codes of the first `n` images of a training stream (for `latent_bounds`).

    Args:
        model: an autoencoder with `encode` and `image_shape`.
        dataset: str. A name of `geomae_tf.datasets.DATASETS`.
        n: int. Images encoded (one batch of the stream).
        seed: int. Seed of the stream.
        **kwargs: passed to the dataset's `training_dataset`.

    Returns:
        Codes (n, latent_dim).
    """
    validation.check_choice("dataset", dataset, set(DATASETS))
    ds = DATASETS[dataset].training_dataset(batch_size=n, seed=seed,
                                            image_size=model.image_shape[0], **kwargs)
    images = next(iter(ds))[0].numpy()
    return model.encode(images)


def sweep_codes(reference: ArrayLike, low: ArrayLike, high: ArrayLike, axes: Sequence[int],
                steps: int = DEFAULT_STEPS) -> tuple[np.ndarray, np.ndarray]:
    """Codes that move each axis of `axes` from `low` to `high`, one at a time.

    Args:
        reference: array (latent_dim,). The other coordinates' values.
        low, high: arrays (latent_dim,). Bounds of every coordinate.
        axes: list of int. The coordinates swept.
        steps: int >= 2. Values per axis, `linspace(low, high, steps)`.

    Returns:
        (codes (len(axes), steps, latent_dim), values (len(axes), steps)),
        both float32: `codes[a, s]` is `reference` with coordinate `axes[a]`
        set to `values[a, s]`.
    """
    reference = np.asarray(reference, np.float32).reshape(-1)
    low = np.asarray(low, np.float32).reshape(-1)
    high = np.asarray(high, np.float32).reshape(-1)
    latent_dim = reference.shape[0]
    if low.shape != (latent_dim,) or high.shape != (latent_dim,):
        raise ValueError(f"`low` and `high` must have {latent_dim} values, one per "
                         f"coordinate. Received: low {low.shape}, high {high.shape}")
    steps = validation.check_int("steps", steps, minimum=2)
    axes = [validation.check_int("axes[i]", a, minimum=0, maximum=latent_dim - 1)
            for a in axes]
    if not axes:
        raise ValueError("`axes` must name at least one coordinate. Received: axes=[]")
    codes = np.repeat(reference[None, None], len(axes), 0).repeat(steps, 1)
    values = np.stack([np.linspace(low[a], high[a], steps, dtype=np.float32) for a in axes])
    for i, a in enumerate(axes):
        codes[i, :, a] = values[i]
    return codes, values
