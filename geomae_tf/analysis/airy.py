"""The optimal decoding profile of a bias-free disk autoencoder (JMIV 2020, 4.3, App. B).

Without biases and with a code of fixed sign, the decoder is linear
(Proposition 1): D(E(x_r))(t) = h(r) f(t) (eq. 5). The best profile f
maximises (Proposition 2, eq. 7)

    J(f) = int_0^R ( int_0^r f(rho) rho d rho )^2 dr,   ||f||_2 = 1,

where ||f||_2 is the norm of f on the image plane: for a radial f,
||f||^2 = 2 pi int f(rho)^2 rho d rho. This module computes the optimum two ways:

- `optimal_profile_numeric`: J is a quadratic form. Writing F(r) = int_0^r f rho,
  J(f) = int int f(rho) f(rho') rho rho' (R - max(rho, rho'))_+ d rho d rho',
  so, once rho is discretised, the maximiser is the leading eigenvector of a
  symmetric matrix (the constraint carries the same weight rho d rho).
- `airy_profile`: the closed form. The first variation gives mu f = T f with
  (T f)(rho) = int_rho^R F(r) dr, hence mu f' = -F and mu f'' = -rho f: the Airy
  equation f'' = -k rho f with k = 1 / mu, f(0) = 1, f'(0) = 0 and f(R) = 0
  (T f vanishes at R), f = 0 beyond R. With x = k^(1/3) rho,
      f(rho) = (Ai(-x) + Bi(-x) / sqrt(3)) / (2 Ai(0)),
  the combination with zero slope at 0; the leading (positive) solution puts
  its first zero X0 = 1.98635... at rho = R, so k = (X0 / R)^3 and the top
  eigenvalue of T is mu = (R / X0)^3.

The 2-D weight rho d rho matters: with the 1-D norm int f^2 d rho the first
variation is no longer the Airy equation.

What a trained network should match: on its 64 x 64 grid it sees blurred
disks x_r = g_sigma * 1_{B_r}, so its exact optimum among decoders
h(r) f is the leading eigenvector of E[x_r x_r^T] (`discrete_optimum`), of
which the Airy profile is the continuous, unblurred limit. `learned_profile`
reads f from a network as Appendix B does (the mean of the normalised
outputs), and `compare_with_network` prints the three side by side with the
linearity of z against <f, x_r> (Figure 11).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import linalg, optimize, special, stats

from geomae_tf import validation
from geomae_tf.analysis.plotting import pyplot, save_figure
from geomae_tf.datasets import disks

if TYPE_CHECKING:
    from geomae_tf.models.autoencoder import Autoencoder
    from geomae_tf.types import ArrayLike, PathLike


@functools.lru_cache(maxsize=1)
def first_zero() -> float:
    """X0, the first positive zero of Ai(-x) + Bi(-x) / sqrt(3) (about 1.98635)."""
    def g(x):
        ai, _, bi, _ = special.airy(-x)
        return ai + bi / np.sqrt(3.0)

    return float(optimize.brentq(g, 1.0, 3.0, xtol=1e-14))


def airy_k(R: float) -> float:
    """The constant k of f'' = -k rho f that puts the first zero of f at `R`."""
    R = validation.check_float("R", R, minimum=0.0, exclusive_minimum=True)
    return (first_zero() / R) ** 3


def airy_profile(rho: ArrayLike, R: float = 32.0) -> np.ndarray:
    """The closed-form optimal profile of eq. (7): f(0) = 1, f'(0) = 0, f = 0 from R on.

    Args:
        rho: array of radii (>= 0) where to evaluate f.
        R: float. The largest radius of the training disks. Defaults to 32.

    Returns:
        numpy array shaped like `rho`.

    Example:
    >>> from geomae_tf.analysis import airy
    >>> airy.airy_profile([0.0, 16.0, 32.0], R=32.0)   # 1, ~0.72, 0
    """
    rho = np.asarray(rho, np.float64)
    if np.any(rho < 0):
        raise ValueError(f"`rho` must be >= 0. Received: rho with minimum {rho.min()}")
    x = airy_k(R) ** (1.0 / 3.0) * rho
    ai, _, bi, _ = special.airy(-x)
    ai0 = special.airy(0.0)[0]
    f = (ai + bi / np.sqrt(3.0)) / (2.0 * ai0)
    return np.where(rho < R, f, 0.0)


def energy(f: ArrayLike, rho: ArrayLike, R: float = 32.0) -> float:
    """J(f) / ||f||^2 (eq. 7 with the 2-D norm) for f sampled on a uniform grid `rho`.

    `rho` are the midpoints of cells of equal width starting at 0.
    """
    f = np.asarray(f, np.float64)
    rho = np.asarray(rho, np.float64)
    width = rho[1] - rho[0]
    w = rho * width
    kernel = np.maximum(R - np.maximum(rho[:, None], rho[None, :]), 0.0)
    fw = f * w
    return float(fw @ kernel @ fw / np.sum(f * f * w))


def optimal_profile_numeric(R: float = 32.0, n: int = 2000,
                            rho_max: float | None = None) -> dict[str, Any]:
    """Maximises J(f) under ||f||_2 = 1 numerically (eq. 7), as a matrix eigenproblem.

    f is piecewise constant on `n` cells of [0, rho_max]; J is then the
    quadratic form fw^T K fw with fw_i = f_i rho_i h and K_ij = (R - max(rho_i,
    rho_j))_+, the constraint f^T W f with W = diag(rho_i h). With g = W^(1/2) f
    it is the top eigenvector of W^(1/2) K W^(1/2).

    Args:
        R: float. Largest radius of the training disks. Defaults to 32.
        n: int. Number of cells. Defaults to 2000.
        rho_max: float or None. Extent of the grid (defaults to R); cells
            beyond R come out as 0, as they should.

    Returns:
        dict: `rho` (cell midpoints), `f` (scaled so that f(0) = 1 by
        extrapolation of the first two cells), `mu` (top eigenvalue of T, J of
        the optimum per unit norm; (R / X0)^3 in the limit), `k` = 1 / mu.
    """
    R = validation.check_float("R", R, minimum=0.0, exclusive_minimum=True)
    n = validation.check_int("n", n, minimum=10)
    rho_max = R if rho_max is None else validation.check_float("rho_max", rho_max,
                                                               minimum=R)
    width = rho_max / n
    rho = (np.arange(n) + 0.5) * width
    sqrt_w = np.sqrt(rho * width)
    kernel = np.maximum(R - np.maximum(rho[:, None], rho[None, :]), 0.0)
    matrix = sqrt_w[:, None] * kernel * sqrt_w[None, :]
    values, vectors = linalg.eigh(matrix, subset_by_index=[n - 1, n - 1])
    f = vectors[:, 0] / sqrt_w
    f0 = 1.5 * f[0] - 0.5 * f[1]                      # f at rho = 0 (f'(0) = 0)
    f = f / f0
    return {"rho": rho, "f": f, "mu": float(values[0]), "k": 1.0 / float(values[0])}


def optimal_profile_gradient(R: float = 32.0, n: int = 400, steps: int = 300,
                             learning_rate: float | None = None,
                             seed: int = 0) -> dict[str, np.ndarray]:
    """The same optimum by projected gradient ascent of J on the unit sphere (Figure 12).

    Starts from a random profile and follows the gradient of J under the
    2-D norm, renormalising after each step: the route the paper describes.
    Returns `rho` and `f` (scaled so that f(0) = 1) like `optimal_profile_numeric`.
    """
    R = validation.check_float("R", R, minimum=0.0, exclusive_minimum=True)
    n = validation.check_int("n", n, minimum=10)
    steps = validation.check_int("steps", steps, minimum=1)
    width = R / n
    rho = (np.arange(n) + 0.5) * width
    w = rho * width
    kernel = np.maximum(R - np.maximum(rho[:, None], rho[None, :]), 0.0)
    f = np.abs(np.random.default_rng(seed).normal(size=n))
    # A safe step: 1 / trace of T bounds 1 / (its largest eigenvalue).
    step = learning_rate or 1.0 / float(np.sum(np.diag(kernel) * w))
    for _ in range(steps):
        f = f / np.sqrt(np.sum(f * f * w))
        f = f + step * (kernel @ (f * w))              # f + step * (gradient of J) / 2
    f0 = 1.5 * f[0] - 0.5 * f[1]
    return {"rho": rho, "f": f / f0}


def radial_profile(images: ArrayLike,
                   bin_width: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Ring means of centred images: (ring mean radius (n_bins,), values (N, n_bins)).

    Args:
        images: (N, H, W, 1) or (H, W) array.
        bin_width: float. Width of the rings in pixels. Defaults to 1.
    """
    images = np.asarray(images, np.float64)
    if images.ndim == 2:
        images = images[None, ..., None]
    size = images.shape[1]
    d = disks.pixel_distances(size).astype(np.float64).reshape(-1)
    index = np.floor(d / bin_width).astype(int)
    counts = np.bincount(index)
    used = counts > 0
    mean_d = np.bincount(index, weights=d)[used] / counts[used]
    flat = images.reshape(len(images), -1)
    sums = np.stack([np.bincount(index, weights=row)[used] for row in flat])
    return mean_d, sums / counts[used]


def discrete_optimum(radii: ArrayLike, image_size: int = disks.IMAGE_SIZE,
                     sigma: float = disks.SIGMA) -> np.ndarray:
    """The exact best decoder h(r) f on the pixel grid for blurred disks of radii `radii`.

    The leading eigenvector of (1/N) sum_r x_r x_r^T, the uncentred second
    moment of the images (a rank-one fit of the data). Returned as an image
    (H, W) of unit norm and positive at the centre.
    """
    images = disks.render_disks(np.asarray(radii, np.float32), image_size, sigma).numpy()
    flat = images.reshape(len(images), -1).astype(np.float64)
    _, _, vt = np.linalg.svd(flat, full_matrices=False)
    f = vt[0].reshape(image_size, image_size)
    centre = disks.pixel_distances(image_size) < 2.0
    return f * np.sign(f[centre].sum())


def learned_profile(model: Autoencoder, n: int = 400, seed: int = 31,
                    radius_range: Sequence[float] = (1.0, 31.0),
                    n_samples: int = 256) -> dict[str, Any]:
    """The profile f a bias-free disk autoencoder learned (Appendix B, Figures 11-12).

    Encodes and decodes fresh Monte-Carlo-blurred disks, keeps those whose
    code has the dominant sign (Proposition 1: one linear decoder per sign),
    normalises each output to unit norm and averages them.

    Returns:
        dict: `image` (H, W, unit norm, positive at the centre), `sign` of
        the codes used, `fraction_dominant_sign`, `images`, `radii`, `z`,
        `outputs` of the test disks, and `spread`, the largest distance of a
        normalised output from the mean (0 if every output is h(r) f).
    """
    images, factors = disks.make_disks(n, seed=seed, radius_range=radius_range,
                                       renderer="monte_carlo", n_samples=n_samples,
                                       image_size=model.image_shape[0])
    z = model.encode(images)[:, 0]
    outputs = model.reconstruct(images)[..., 0].astype(np.float64)
    sign = 1.0 if np.sum(z > 0) >= np.sum(z < 0) else -1.0
    keep = np.sign(z) == sign
    flat = outputs[keep].reshape(int(keep.sum()), -1)
    norms = np.linalg.norm(flat, axis=1, keepdims=True)
    unit = flat / np.where(norms > 0, norms, 1.0)
    centre = disks.pixel_distances(outputs.shape[1]).reshape(-1) < 2.0
    unit = unit * np.sign(unit[:, centre].sum(axis=1, keepdims=True) + 1e-30)
    mean = unit.mean(axis=0)
    mean = mean / np.linalg.norm(mean)
    return {"image": mean.reshape(outputs.shape[1:]), "sign": sign,
            "fraction_dominant_sign": float(keep.mean()), "images": images,
            "radii": factors["radius"], "z": z, "outputs": outputs,
            "spread": float(np.max(np.linalg.norm(unit - mean, axis=1)))}


def _unit_centre(f_image):
    f = np.asarray(f_image, np.float64)
    return f / np.linalg.norm(f)


def compare_with_network(model: Autoencoder, R: float = 32.0, n: int = 400, seed: int = 31,
                         radius_range: Sequence[float] = (1.0, 31.0),
                         n_samples: int = 256, rho_max: float | None = None) -> dict[str, Any]:
    """Learned against optimal profile, and z against <f, x_r> (Figures 11, 12).

    Args:
        model: a bias-free disk autoencoder with a 1-D code.
        R: float. Largest training radius (32 for the full set, 18 for Fig. 13).
        n, seed, radius_range, n_samples: the fresh test disks.
        rho_max: float or None. Compare radial profiles on rings up to this
            radius (defaults to R).

    Returns:
        dict with `corr_learned_airy` (Pearson correlation of the ring-mean
        profiles on [0, rho_max]), `cosine_learned_airy_2d` (cosine of the
        images on the grid, the 2-D norm), `corr_learned_discrete` and
        `cosine_learned_discrete_2d` (against the exact grid optimum
        `discrete_optimum`), `corr_airy_discrete`, `r2_z_vs_inner` (r^2 of
        the affine fit of z against <f, x_r>, Figure 11), `r2_z_vs_inner_origin`
        (fit through the origin, as D(E(x)) = h f implies), the profiles
        themselves, and `fraction_dominant_sign`.
    """
    R = validation.check_float("R", R, minimum=0.0, exclusive_minimum=True)
    rho_max = R if rho_max is None else float(rho_max)
    learned = learned_profile(model, n=n, seed=seed, radius_range=radius_range,
                              n_samples=n_samples)
    size = learned["image"].shape[0]
    d = disks.pixel_distances(size).astype(np.float64)
    airy_image = _unit_centre(airy_profile(d, R))
    train_radii = np.linspace(0.0, R, 512, endpoint=False) + R / 1024
    discrete = _unit_centre(discrete_optimum(train_radii, size))
    f_learned = _unit_centre(learned["image"])

    rings, profiles = radial_profile(np.stack([f_learned, airy_image, discrete])[..., None])
    inside = rings <= rho_max
    corr = np.corrcoef(profiles[:, inside])

    keep = np.sign(learned["z"]) == learned["sign"]
    inner = np.einsum("nhw,hw->n", learned["images"][..., 0].astype(np.float64), f_learned)
    z = learned["z"][keep]
    fit = stats.linregress(inner[keep], z)
    slope0 = np.sum(inner[keep] * z) / np.sum(inner[keep] ** 2)
    resid0 = z - slope0 * inner[keep]
    r2_origin = 1.0 - np.sum(resid0 ** 2) / np.sum((z - z.mean()) ** 2)
    return {
        "R": R,
        "corr_learned_airy": float(corr[0, 1]),
        "corr_learned_discrete": float(corr[0, 2]),
        "corr_airy_discrete": float(corr[1, 2]),
        "cosine_learned_airy_2d": float(np.sum(f_learned * airy_image)),
        "cosine_learned_discrete_2d": float(np.sum(f_learned * discrete)),
        "r2_z_vs_inner": float(fit.rvalue ** 2),
        "r2_z_vs_inner_origin": float(r2_origin),
        "fraction_dominant_sign": learned["fraction_dominant_sign"],
        "output_spread": learned["spread"],
        "rings": rings, "profile_learned": profiles[0], "profile_airy": profiles[1],
        "profile_discrete": profiles[2], "inner": inner[keep], "z": z,
        "radii": learned["radii"][keep],
    }


def figures(comparison: Mapping[str, Any], out_dir: PathLike,
            name: str = "disk_ae_nobias") -> list[Path]:
    """Figures 11 and 12 from `compare_with_network`'s result; returns the paths."""
    plt = pyplot()

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    c = comparison
    paths = []
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    scale = 1.0 / c["profile_learned"][0]
    ax.plot(c["rings"], c["profile_learned"] * scale, "k.-", lw=1, ms=3,
            label=f"learned by the network (corr {c['corr_learned_airy']:.4f})")
    ax.plot(c["rings"], c["profile_discrete"] / c["profile_discrete"][0], "g--", lw=1,
            label="exact optimum on the grid (blurred disks)")
    rho = np.linspace(0, max(c["rings"].max(), c["R"]), 400)
    ax.plot(rho, airy_profile(rho, c["R"]), "r-", lw=1,
            label=f"Airy closed form, R = {c['R']:g}")
    numeric = optimal_profile_numeric(c["R"], n=800)
    ax.plot(numeric["rho"], numeric["f"], "b:", lw=1.5, label="numerical maximum of J")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlabel("rho (px)")
    ax.set_ylabel("f(rho) / f(0)")
    ax.set_title(f"{name}: decoding profile (Figure 12)")
    ax.legend(fontsize=7)
    paths.append(out_dir / f"{name}_airy_profile.png")
    save_figure(fig, paths[-1])

    fig, ax = plt.subplots(figsize=(4.5, 3.6))
    sc = ax.scatter(c["inner"], c["z"], c=c["radii"], s=4, cmap="viridis")
    fig.colorbar(sc, label="radius (px)")
    ax.set_xlabel("<f, x_r>")
    ax.set_ylabel("code z")
    ax.set_title(f"z against <f, x_r> (Figure 11), r$^2$ = {c['r2_z_vs_inner']:.4f}",
                 fontsize=9)
    paths.append(out_dir / f"{name}_z_vs_inner.png")
    save_figure(fig, paths[-1])
    return paths
