"""Evaluation and figures of the disk family (JMIV 2020, section 4).

Held-out disks are always drawn from the true distribution and blurred by the
Monte Carlo procedure of appendix A, not by the training renderer, so that
the measured error includes no shortcut through the training generator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from geomae_tf.analysis import airy
from geomae_tf.analysis.plotting import pyplot, save_figure
from geomae_tf.datasets import disks

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from geomae_tf.models.autoencoder import Autoencoder
    from geomae_tf.types import ArrayLike, PathLike

HELD_OUT_RANGE = (1.0, 31.0)


def code_vs_radius(z: ArrayLike, radii: ArrayLike) -> dict[str, float]:
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


def band_mask(radii: ArrayLike,
              band: Sequence[float] | Sequence[Sequence[float]]) -> np.ndarray:
    """Which `radii` fall in `band`: a (low, high) pair or a list of such pairs (a union).

    Bands read from TOML arrive as lists: `[11, 18]` or `[[1, 11], [18, 31]]`.
    """
    radii = np.asarray(radii)
    if (isinstance(band, (list, tuple)) and len(band) > 0
            and all(isinstance(b, (list, tuple)) for b in band)):
        pieces = band
    else:
        pieces = [band]
    mask = np.zeros(radii.shape, bool)
    for piece in pieces:
        if (not isinstance(piece, (list, tuple)) or len(piece) != 2
                or not float(piece[0]) < float(piece[1])):
            raise ValueError(f"`bands` values must be (low, high) pairs with low < high, or "
                             f"lists of them. Received: {band!r}")
        mask |= (radii >= float(piece[0])) & (radii < float(piece[1]))
    return mask


def evaluate(model: Autoencoder, n_test: int = 1000, seed: int = 20_201,
             radius_range: Sequence[float] = HELD_OUT_RANGE, n_samples: int = 1024,
             bands: Mapping[str, Sequence[float] | Sequence[Sequence[float]]] | None = None,
             sigma: float = disks.SIGMA, profile_R: float | None = None) -> dict[str, Any]:
    """Measures a disk autoencoder on fresh Monte-Carlo-blurred disks.

    Args:
        model: an `Autoencoder` on disks.
        n_test: int. Number of held-out disks. Defaults to 1000.
        seed: int. Seed of the held-out radii and blur; differs from every
            training seed.
        radius_range: (low, high). Held-out radii, uniform. Defaults to 1..31.
        n_samples: int. Monte Carlo samples per pixel (appendix A).
        bands: dict name -> (low, high), or a list of such pairs (a union), or
            None. Also report the MSE of the disks whose radius falls in each
            band (e.g. `{"hole": (11, 18), "observed": [(1, 11), (18, 31)]}`),
            and, with both a "hole" and an "observed" band,
            `hole_over_observed` (the generalisation ratio of section 4.4).
        sigma: float. Blur of the held-out disks.
        profile_R: float or None. For a bias-free model (section 4.3): also
            compare its decoding profile with the optimum of Proposition 2 for
            training radii up to `profile_R` (`geomae_tf.analysis.airy`), adding
            `corr_learned_airy`, `cosine_learned_airy_2d`, `r2_z_vs_inner`, ...

    Returns:
        dict: `mse` (mean per-pixel), `spearman`, `abs_spearman`,
        `r2_vs_area`, `r2_vs_radius`, `mse_<band>` for each band, and the
        profile metrics when `profile_R` is set.
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
    for name, band in (bands or {}).items():
        inside = band_mask(radii, band)
        metrics[f"mse_{name}"] = float(per_image[inside].mean()) if inside.any() else None
    if metrics.get("mse_hole") is not None and metrics.get("mse_observed"):
        metrics["hole_over_observed"] = metrics["mse_hole"] / metrics["mse_observed"]
    if profile_R is not None:
        comparison = airy.compare_with_network(model, R=profile_R, seed=seed + 3)
        metrics.update({k: v for k, v in comparison.items()
                        if isinstance(v, float) and k != "R"})
    return metrics


def figures(model: Autoencoder, out_dir: PathLike, seed: int = 7, n_pairs: int = 6,
            n_interp: int = 8, name: str | None = None,
            unseen_radii: Sequence[Sequence[float]] = ()) -> list[Path]:
    """Writes Figures 2-3 for a disk autoencoder; returns the file paths.

    - `<name>_pairs.png`: input/output pairs (Figure 2).
    - `<name>_interpolation.png`: decoding of codes interpolated between a
      small and a large disk (Figure 3, left).
    - `<name>_code_vs_radius.png`: the code against the radius, with the
      best affine fit in the area (Figure 3, right); see
      `code_vs_radius_figure`.

    Args:
        model: a disk autoencoder.
        out_dir: str or Path. Folder of the figures.
        seed: int. Seed of the disks drawn. Defaults to 7.
        n_pairs: int. Input/output pairs shown. Defaults to 6.
        n_interp: int. Interpolation steps. Defaults to 8.
        name: str or None. Name in titles and file names (a zoo entry's);
            None takes `model.name`.
        unseen_radii: sequence of (low, high). Radius bands never seen in
            training (JMIV 2020, section 4.4: the hole 11-18), shaded in the
            code plot. Defaults to none.
    """
    plt = pyplot()

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = name or model.name
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
    save_figure(fig, paths[-1])

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
    save_figure(fig, paths[-1])

    if model.latent_dim == 1:
        fig = code_vs_radius_figure(model, name=name, seed=seed + 2,
                                    unseen_radii=unseen_radii)
        paths.append(save_figure(fig, out_dir / f"{name}_code_vs_radius.png"))
    return paths


def code_vs_radius_figure(model: Autoencoder, name: str | None = None, seed: int = 9,
                          n: int = 400,
                          unseen_radii: Sequence[Sequence[float]] = ()) -> Figure:
    """The code of fresh disks against their radius (JMIV 2020, Figure 3, right).

    Draws the codes of `n` fresh disks (radius U(1, 31), exact renderer), the
    best affine fit in the area, and shades the radius bands never seen in
    training (section 4.4, Figure 6: radii 11-18 for the hole entries).

    Args:
        model: a disk autoencoder with a 1-D code.
        name: str or None. Title prefix (a zoo entry's name); None takes
            `model.name`.
        seed: int. Seed of the fresh disks. Defaults to 9.
        n: int. Number of fresh disks. Defaults to 400.
        unseen_radii: sequence of (low, high). Bands to shade. Defaults to none.

    Returns:
        matplotlib.figure.Figure.
    """
    test, factors = disks.make_disks(n, seed=seed, radius_range=HELD_OUT_RANGE,
                                     image_size=model.image_shape[0])
    z = model.encode(test)[:, 0]
    r = factors["radius"]
    fit = stats.linregress(np.pi * r ** 2, z)
    grid = np.linspace(r.min(), r.max(), 200)
    fig, ax = pyplot().subplots(figsize=(5, 3.6))
    for i, (low, high) in enumerate(unseen_radii):
        ax.axvspan(low, high, color="red", alpha=0.12, lw=0,
                   label="radii never seen in training" if i == 0 else None)
    ax.plot(r, z, ".", ms=3, label=f"{n} fresh disks (seed {seed})")
    ax.plot(grid, fit.intercept + fit.slope * np.pi * grid ** 2, "r-", lw=1,
            label=f"affine in the area, r$^2$ = {fit.rvalue ** 2:.4f}")
    ax.set_xlabel("radius (px)")
    ax.set_ylabel("code z")
    ax.set_title(f"{name or model.name}: code against radius (Figure 3)")
    ax.legend(fontsize=8)
    return fig


def per_radius_errors(model: Autoencoder, radii: ArrayLike, seed: int = 11,
                      n_samples: int = 512) -> dict[str, np.ndarray]:
    """Codes and per-disk MSE of fresh Monte-Carlo-blurred disks of the given radii.

    Returns a dict with `radii`, `images`, `reconstructions`, `z` (N, d) and
    `per_image` (N,) MSE.
    """
    radii = np.asarray(radii, np.float64)
    images = disks.render_disks_monte_carlo(radii, image_size=model.image_shape[0],
                                            n_samples=n_samples, seed=seed)
    recon = model.reconstruct(images)
    return {"radii": radii, "images": images, "reconstructions": recon,
            "z": model.encode(images), "per_image": np.mean((recon - images) ** 2,
                                                            axis=(1, 2, 3))}


def pairs_figure(models: Mapping[str, Autoencoder], radii: ArrayLike,
                 observed: Callable[[float], bool], path: PathLike, title: str = "") -> Path:
    """Inputs and outputs with a green (observed radius) or red (unseen) border.

    Figures 5 and 6 of JMIV 2020. `models` is a dict name -> autoencoder (one
    output row each); `observed(r)` says whether radius r was in the training
    set. Returns the path.
    """
    plt = pyplot()

    radii = np.asarray(radii, np.float64)
    first = next(iter(models.values()))
    images = disks.render_disks_monte_carlo(radii, image_size=first.image_shape[0], seed=5)
    rows = [("input", images)] + [(name, m.reconstruct(images)) for name, m in models.items()]
    fig, axes = plt.subplots(len(rows), len(radii), figsize=(1.3 * len(radii),
                                                               1.4 * len(rows) + 0.4),
                             squeeze=False)
    for i, (name, batch) in enumerate(rows):
        for j, r in enumerate(radii):
            ax = axes[i, j]
            ax.imshow(np.clip(batch[j, ..., 0], 0, 1), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            colour = "green" if observed(r) else "red"
            for spine in ax.spines.values():
                spine.set_edgecolor(colour)
                spine.set_linewidth(3)
            if i == 0:
                ax.set_title(f"r = {r:.1f}", fontsize=8)
        axes[i, 0].set_ylabel(name, fontsize=8)
    fig.suptitle(title + " (green: radius seen in training, red: never seen)", fontsize=9)
    return save_figure(fig, path)


def output_profiles_figure(model: Autoencoder, radii: ArrayLike, path: PathLike,
                           title: str = "", R: float | None = None) -> Path:
    """Grey levels along the central row of inputs and outputs (Figures 4 and 13).

    For a bias-free decoder every output is h(r) f(t) (eq. 5): the output
    profiles are scaled copies of one function. With `R`, the Airy optimum
    of Proposition 2 for radii up to R is drawn too (scaled to the largest
    output). Returns the path.
    """
    plt = pyplot()

    out = per_radius_errors(model, radii, seed=9)
    size = model.image_shape[0]
    t = np.arange(size) - (size - 1) / 2.0
    row = size // 2
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    cmap = plt.get_cmap("viridis")
    for j, r in enumerate(out["radii"]):
        colour = cmap(j / max(len(out["radii"]) - 1, 1))
        axes[0].plot(t, out["images"][j, row, :, 0], color=colour, lw=1, label=f"r = {r:.0f}")
        axes[1].plot(t, out["reconstructions"][j, row, :, 0], color=colour, lw=1)
    if R is not None:
        peak = float(np.max(out["reconstructions"][:, row, :, 0]))
        profile = airy.airy_profile(np.abs(t), R)
        axes[1].plot(t, peak * profile, "r--", lw=1, label=f"Airy optimum, R = {R:g}")
        axes[1].legend(fontsize=7)
    axes[0].set_title("inputs (central row)", fontsize=9)
    axes[1].set_title("outputs (central row)", fontsize=9)
    axes[0].legend(fontsize=6, ncol=2)
    for ax in axes:
        ax.set_xlabel("t (px from the centre)")
    axes[0].set_ylabel("grey level")
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)
