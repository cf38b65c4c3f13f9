"""Evaluation and figures of the disk family (JMIV 2020, section 4).

Held-out disks are always drawn from the true distribution and blurred by the
Monte Carlo procedure of appendix A, not by the training renderer, so that
the measured error includes no shortcut through the training generator.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import stats

from geomae_tf.datasets import disks

HELD_OUT_RANGE = (1.0, 31.0)


def code_vs_radius(z, radii):
    """How the 1-D code follows the radius (Figure 3).

    Returns the Spearman correlation of z with r, and the r^2 of the best
    affine fits of z against the radius and against the area pi r^2 (the
    paper finds the code follows the area).
    """
    z = np.asarray(z, np.float64)[:, 0]
    radii = np.asarray(radii, np.float64)

    def r2(x):
        return float(stats.linregress(x, z).rvalue ** 2)

    return {
        "spearman": float(stats.spearmanr(z, radii).statistic),
        "r2_vs_radius": r2(radii),
        "r2_vs_area": r2(np.pi * radii ** 2),
    }


def evaluate(model, n_test=1000, seed=20_201, radius_range=HELD_OUT_RANGE, n_samples=1024,
             bands=None, sigma=disks.SIGMA):
    """Measures a disk autoencoder on fresh Monte-Carlo-blurred disks.

    Args:
        model: an `Autoencoder` on disks.
        n_test: int. Number of held-out disks. Defaults to 1000.
        seed: int. Seed of the held-out radii and blur; differs from every
            training seed.
        radius_range: (low, high). Held-out radii, uniform. Defaults to 1..31.
        n_samples: int. Monte Carlo samples per pixel (appendix A).
        bands: dict name -> (low, high) or None. Also report the MSE of the
            disks whose radius falls in each band (e.g. the hole 11-18).
        sigma: float. Blur of the held-out disks.

    Returns:
        dict: `mse` (mean per-pixel), `spearman`, `abs_spearman`,
        `r2_vs_area`, `r2_vs_radius`, and `mse_<band>` for each band.
    """
    images, factors = disks.make_disks(n_test, seed=seed, radius_range=radius_range,
                                       renderer="monte_carlo", n_samples=n_samples,
                                       sigma=sigma, image_size=model.image_shape[0])
    radii = factors["radius"]
    recon = model.reconstruct(images)
    per_image = np.mean((recon - images) ** 2, axis=(1, 2, 3))
    z = model.encode(images)
    metrics = {"mse": float(per_image.mean()), "n_test": int(n_test)}
    if z.shape[1] == 1:
        metrics.update(code_vs_radius(z, radii))
        metrics["abs_spearman"] = abs(metrics["spearman"])
    for name, (low, high) in (bands or {}).items():
        inside = (radii >= low) & (radii < high)
        metrics[f"mse_{name}"] = float(per_image[inside].mean()) if inside.any() else None
    return metrics


def figures(model, out_dir, seed=7, n_pairs=6, n_interp=8):
    """Writes Figures 2-3 for a disk autoencoder; returns the file paths.

    - `<name>_pairs.png`: input/output pairs (Figure 2).
    - `<name>_interpolation.png`: decoding of codes interpolated between a
      small and a large disk (Figure 3, left).
    - `<name>_code_vs_radius.png`: the code against the radius, with the
      best affine fit in the area (Figure 3, right).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = model.name
    paths = []

    radii = np.linspace(3.0, 29.0, n_pairs)
    images = disks.render_disks_monte_carlo(radii, seed=seed, image_size=model.image_shape[0])
    recon = model.reconstruct(images)
    fig, axes = plt.subplots(2, n_pairs, figsize=(1.6 * n_pairs, 3.4))
    for j in range(n_pairs):
        for row, batch in enumerate((images, recon)):
            axes[row, j].imshow(batch[j, ..., 0], cmap="gray", vmin=0, vmax=1)
            axes[row, j].set_xticks([])
            axes[row, j].set_yticks([])
        axes[0, j].set_title(f"r = {radii[j]:.1f}", fontsize=8)
    axes[0, 0].set_ylabel("input")
    axes[1, 0].set_ylabel("output")
    fig.suptitle(f"{name}: disks autoencoded through a {model.latent_dim}-D code")
    paths.append(out_dir / f"{name}_pairs.png")
    fig.savefig(paths[-1], dpi=100, bbox_inches="tight")
    plt.close(fig)

    ends = model.encode(disks.render_disks_monte_carlo([4.0, 28.0], seed=seed + 1,
                                                       image_size=model.image_shape[0]))
    t = np.linspace(0.0, 1.0, n_interp)[:, None]
    decoded = model.decode((1 - t) * ends[0] + t * ends[1])
    fig, axes = plt.subplots(1, n_interp, figsize=(1.6 * n_interp, 1.9))
    for j in range(n_interp):
        axes[j].imshow(decoded[j, ..., 0], cmap="gray", vmin=0, vmax=1)
        axes[j].set_axis_off()
        axes[j].set_title(f"t = {t[j, 0]:.2f}", fontsize=8)
    fig.suptitle(f"{name}: decoding z = (1 - t) E(x_4) + t E(x_28)")
    paths.append(out_dir / f"{name}_interpolation.png")
    fig.savefig(paths[-1], dpi=100, bbox_inches="tight")
    plt.close(fig)

    if model.latent_dim == 1:
        test, factors = disks.make_disks(400, seed=seed + 2, radius_range=HELD_OUT_RANGE,
                                         image_size=model.image_shape[0])
        z = model.encode(test)[:, 0]
        r = factors["radius"]
        fit = stats.linregress(np.pi * r ** 2, z)
        grid = np.linspace(r.min(), r.max(), 200)
        fig, ax = plt.subplots(figsize=(5, 3.6))
        ax.plot(r, z, ".", ms=3, label="held-out disks")
        ax.plot(grid, fit.intercept + fit.slope * np.pi * grid ** 2, "r-", lw=1,
                label=f"affine in the area, r$^2$ = {fit.rvalue ** 2:.4f}")
        ax.set_xlabel("radius (px)")
        ax.set_ylabel("code z")
        ax.set_title(f"{name}: code against radius (Figure 3)")
        ax.legend(fontsize=8)
        paths.append(out_dir / f"{name}_code_vs_radius.png")
        fig.savefig(paths[-1], dpi=100, bbox_inches="tight")
        plt.close(fig)
    return paths
