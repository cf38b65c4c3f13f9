"""What can be measured and drawn without ground truth: reconstruction on
held-out images (the objective of every autoencoder of the zoo, JMIV 2020
section 3, eq. 1), used for recipes trained on the user's own images.

- `evaluate(model, images)`: MSE and PSNR of D(E(x)) on the held-out images.
- `figures(model, images, out_dir)`: inputs beside their reconstructions for
  any autoencoder; for an atomic autoencoder also its decomposition into
  atoms, a navigation of one block and an interpolation (Newson and
  Traonmilin 2023, Figures 4-6), which need no ground truth either.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from geomae_tf import validation
from geomae_tf.analysis.atomic.figures import (decomposition_figure, interpolation_figure,
                                               navigation_figure)
from geomae_tf.analysis.latent import latent_bounds
from geomae_tf.analysis.plotting import pyplot, save_figure

if TYPE_CHECKING:
    from geomae_tf.models.autoencoder import Autoencoder
    from geomae_tf.types import ArrayLike, PathLike

#: Per-image MSE floor in the PSNR (a perfect reconstruction gives 100 dB).
MSE_FLOOR = 1e-10


def evaluate(model: Autoencoder, images: ArrayLike, batch_size: int = 256) -> dict[str, float]:
    """Reconstruction metrics of `model` on `images` (values in [0, 1]).

    Returns:
        dict: `mse` (mean squared error over every pixel), `psnr` (the mean
        over images of 10 log10(1 / MSE_i), in dB, peak value 1), `mae`,
        `n_test` (the number of images).
    """
    images = validation.check_images(images, size=model.image_shape[:2])
    if not len(images):
        raise ValueError("`images` must hold at least one image. Received: images with "
                         f"shape {images.shape}")
    recon = np.asarray(model.reconstruct(images, batch_size=batch_size), np.float64)
    err = recon - images.astype(np.float64)
    per_image = np.mean(err ** 2, axis=(1, 2, 3))
    return {
        "mse": float(per_image.mean()),
        "psnr": float(np.mean(10.0 * np.log10(1.0 / np.maximum(per_image, MSE_FLOOR)))),
        "mae": float(np.mean(np.abs(err))),
        "n_test": int(len(images)),
    }


def reconstruction_figure(model: Autoencoder, images: ArrayLike, path: PathLike,
                          n: int = 8) -> Path:
    """The first `n` images (top row) and their reconstructions (bottom row)."""
    plt = pyplot()
    images = validation.check_images(images, size=model.image_shape[:2])[:n]
    recon = model.reconstruct(images)
    fig, axes = plt.subplots(2, len(images), figsize=(1.3 * len(images), 2.8), squeeze=False)
    for j in range(len(images)):
        for row, (data, title) in enumerate(((images, "input"), (recon, "D(E(x))"))):
            axes[row, j].imshow(data[j, ..., 0], cmap="gray", vmin=0.0, vmax=1.0)
            axes[row, j].set_xticks([])
            axes[row, j].set_yticks([])
            if j == 0:
                axes[row, j].set_ylabel(title, fontsize=8)
    fig.suptitle(f"{model.name}: held-out images and their reconstructions", fontsize=9)
    return save_figure(fig, path)


def figures(model: Autoencoder, images: np.ndarray, out_dir: PathLike,
            n: int = 8) -> list[Path]:
    """The figures that need no ground truth; returns their paths."""
    out_dir = Path(out_dir)
    paths = [reconstruction_figure(model, images, out_dir / f"{model.name}_reconstruction.png",
                                   n)]
    if hasattr(model, "decode_atoms") and len(images) >= 2:
        bounds = latent_bounds(model.encode(images))
        paths += [
            decomposition_figure(model, images[:min(n, 4)],
                                 out_dir / f"{model.name}_decomposition.png"),
            navigation_figure(model, images[0], out_dir / f"{model.name}_navigation.png",
                              bounds),
            interpolation_figure(model, images[0], images[1],
                                 out_dir / f"{model.name}_interpolation.png"),
        ]
    return paths
