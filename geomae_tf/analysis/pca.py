"""Evaluation and figures of the PCA family (PCA-AE talks, slides 48-51).

The attribute-correlation table of the PCA-like autoencoder on ellipses: the
absolute correlation between each latent axis and three attributes measured
on the image itself (the public reference's definitions):

- `area`: the sum of the pixels;
- `hv_ratio`: the horizontal/vertical axis ratio, the sum of the middle row
  over the sum of the middle column (for an even side, the two middle rows,
  and columns, averaged: the image centre is at ((H-1)/2, (W-1)/2));
- `diag_ratio`: the diagonal ratio, the trace over the anti-diagonal trace
  (both diagonals pass through the image centre).

A good PCA-AE ties its first axis to the area and the next two to the
ratios, every other entry small, and its axes pairwise decorrelated. Also:
the latent navigation grids (each axis swept from its low to its high value
on training images, the others at zero) and, for the slides' failure case
(disks of varying radius and grey level), the correlation with the true
factors.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from geomae_tf import validation
from geomae_tf.analysis.latent import sweep_codes
from geomae_tf.analysis.plotting import pyplot, save_figure
from geomae_tf.datasets import ellipses, grey_disks

if TYPE_CHECKING:
    import keras
    from matplotlib.figure import Figure

    from geomae_tf.models.autoencoder import Autoencoder
    from geomae_tf.models.pca.pca_autoencoder import PCAAutoencoder
    from geomae_tf.types import ArrayLike, PathLike

ATTRIBUTES = ("area", "hv_ratio", "diag_ratio")
#: The zoo's targets (PCA-AE talk, slides 46-50) for a 3-unit PCA-AE on fresh ellipses.
TARGETS = {"area": 0.98, "ratios": (0.80, 0.76), "off_diagonal": 0.10, "latent": 0.05}
#: What the public reference reports (first axis/area, the two ratios, worst other entry).
REFERENCE = {"area": 0.977, "ratios": (0.788, 0.745), "off_diagonal": 0.13}


def image_attributes(images: ArrayLike) -> dict[str, np.ndarray]:
    """The three attributes of each image: {"area", "hv_ratio", "diag_ratio"}.

    Args:
        images: float array (N, H, W, 1) in [0, 1].

    Returns:
        dict of float64 arrays (N,).
    """
    x = validation.check_images(images).astype(np.float64)[..., 0]
    _, h, w = x.shape
    rows = [h // 2] if h % 2 else [h // 2 - 1, h // 2]
    cols = [w // 2] if w % 2 else [w // 2 - 1, w // 2]
    row_sum = x[:, rows, :].mean(axis=1).sum(axis=-1)
    col_sum = x[:, :, cols].mean(axis=2).sum(axis=-1)
    n = min(h, w)
    diag = np.trace(x[:, :n, :n], axis1=1, axis2=2)
    anti = np.trace(x[:, :n, ::-1][:, :, :n], axis1=1, axis2=2)
    tiny = 1e-12
    return {"area": x.sum(axis=(1, 2)),
            "hv_ratio": row_sum / np.maximum(col_sum, tiny),
            "diag_ratio": diag / np.maximum(anti, tiny)}


def _corr(a, b, method):
    if np.std(a) == 0 or np.std(b) == 0:
        return 0.0
    if method == "spearman":
        return float(stats.spearmanr(a, b).statistic)
    return float(np.corrcoef(a, b)[0, 1])


def correlation_table(z: ArrayLike, attributes: Mapping[str, ArrayLike],
                      method: str = "pearson") -> np.ndarray:
    """|corr| between each latent axis (rows) and each attribute (columns).

    Args:
        z: array (N, k). Latent codes.
        attributes: dict name -> array (N,), in column order.
        method: "pearson" (default) or "spearman".

    Returns:
        float array (k, len(attributes)).
    """
    z = validation.check_codes(z)
    validation.check_choice("method", method, {"pearson", "spearman"})
    return np.array([[abs(_corr(z[:, i], np.asarray(v, np.float64), method))
                      for v in attributes.values()] for i in range(z.shape[1])])


def latent_correlations(z: ArrayLike, method: str = "pearson") -> np.ndarray:
    """|corr| between the latent axes, (k, k), ones on the diagonal."""
    z = validation.check_codes(z)
    k = z.shape[1]
    return np.array([[1.0 if i == j else abs(_corr(z[:, i], z[:, j], method))
                      for j in range(k)] for i in range(k)])


def multiple_correlation(z: ArrayLike, attribute: ArrayLike) -> float:
    """The multiple correlation R of `attribute` with the columns of `z`.

    The correlation between the attribute and its best affine prediction
    from z (least squares). For the ratio attributes and z = (z2, z3) it
    says whether the two elongation axes together capture the elongation,
    whatever their orientation in that plane (the ellipses are
    rotation-invariant, so the orientation of axis 2 is not determined by
    the data: the per-axis table entries depend on it, R does not).
    """
    z = validation.check_codes(z)
    y = np.asarray(attribute, np.float64)
    design = np.column_stack([np.ones(len(z)), z])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return abs(_corr(design @ coef, y, "pearson"))


def elongation_r2(z: ArrayLike, factors: Mapping[str, ArrayLike], n_neighbors: int = 10,
                  folds: int = 5, seed: int = 0) -> dict[str, float]:
    """How well the axes `z` code the elongation a - b along the grid's directions.

    A k-nearest-neighbour regression (cross-validated, `folds` folds) of
    (a - b) cos 2t (horizontal/vertical) and (a - b) sin 2t (diagonal) from
    the columns of `z`; returns the R2 of each. Unlike a Pearson entry, it
    does not depend on the axes' shape (the ratios are heavy-tailed) nor on
    their turn inside the elongation plane.

    Args:
        z: array (N, d). Codes (e.g. axes 2-3 of a PCA-AE).
        factors: dict with `a`, `b` (semi-axes, px) and `rotation` (degrees).
        n_neighbors: int. Neighbours averaged. Defaults to 10.
        folds: int. Cross-validation folds. Defaults to 5.
        seed: int. Seed of the fold split. Defaults to 0.

    Returns:
        dict: `hv` and `diag`, the R2 of each direction.

    Example:
        >>> z = model.encode(images)[:, 1:3]            # doctest: +SKIP
        >>> elongation_r2(z, factors)                   # doctest: +SKIP
        {'hv': 0.90, 'diag': 0.83}
    """
    z = validation.check_codes(z).astype(np.float64)
    n_neighbors = validation.check_int("n_neighbors", n_neighbors, minimum=1)
    folds = validation.check_int("folds", folds, minimum=2)
    a, b = (np.asarray(factors[k], np.float64) for k in ("a", "b"))
    turn = 2.0 * np.deg2rad(np.asarray(factors["rotation"], np.float64))
    targets = {"hv": (a - b) * np.cos(turn), "diag": (a - b) * np.sin(turn)}
    fold = np.random.default_rng(seed).permutation(len(z)) % folds
    predicted = {name: np.empty(len(z)) for name in targets}
    for f in range(folds):
        test, train = fold == f, fold != f
        distances = ((z[test][:, None, :] - z[train][None, :, :]) ** 2).sum(-1)
        nearest = np.argsort(distances, axis=1)[:, :n_neighbors]
        for name, y in targets.items():
            predicted[name][test] = y[train][nearest].mean(axis=1)
    return {name: float(1.0 - np.mean((predicted[name] - y) ** 2) / np.var(y))
            for name, y in targets.items()}


def _exact_codes(factors):
    """The exact codes of the ellipses' geometry (see `ideal_code_table`): the
    area pi a b and the log aspect ratio along the h/v and the diagonal
    directions, u = log(a/b) cos 2θ and v = log(a/b) sin 2θ."""
    for key in ("a", "b", "rotation"):
        if key not in factors:
            raise ValueError(f"`factors` must hold 'a', 'b' and 'rotation'. "
                             f"Received keys: {sorted(factors)}")
    a, b = (np.asarray(factors[k], np.float64) for k in ("a", "b"))
    if np.any(a <= 0) or np.any(b <= 0):
        raise ValueError("`factors` semi-axes 'a' and 'b' must be positive.")
    theta = np.deg2rad(np.asarray(factors["rotation"], np.float64))
    elongation = np.log(a / b)
    return np.pi * a * b, elongation * np.cos(2 * theta), elongation * np.sin(2 * theta)


def _orientation(cos_part, sin_part):
    """The ellipse orientation (degrees, in [-90, 90)) that a direction of the
    elongation plane stands for, and its distance to the nearest multiple of
    45 degrees (the h/v and diagonal directions of the pixel grid)."""
    angle = float(np.degrees(np.arctan2(sin_part, cos_part)) / 2.0)
    angle = (angle + 90.0) % 180.0 - 90.0
    offset = abs(angle) % 45.0
    return angle, float(min(offset, 45.0 - offset))


def elongation_directions(z: ArrayLike,
                          factors: Mapping[str, ArrayLike]) -> list[dict[str, float]]:
    """Which direction of the elongation plane each latent axis follows.

    Each axis is regressed on the exact elongation codes u = log(a/b) cos 2θ
    and v = log(a/b) sin 2θ (see `ideal_code_table`); the direction of its
    coefficients gives the ellipse orientation the axis follows: 0 or 90
    degrees for the h/v direction, 45 or -45 for the diagonal one. The
    ellipses cover every orientation, so the data do not prefer the pixel
    grid's directions; an axis that lands `grid_offset_deg` away from them
    mixes the two ratios, which shows as off-diagonal table entries.

    Args:
        z: array (N, k). Latent codes.
        factors: dict with `a`, `b` and `rotation` (degrees), arrays (N,).

    Returns:
        list, one dict per axis: `angle_deg` (in [-90, 90)), `grid_offset_deg`
        (distance to the nearest multiple of 45 degrees, in [0, 22.5]) and
        `fit_corr` (the correlation of the axis with its affine fit on u, v:
        how much of the axis is elongation).
    """
    z = validation.check_codes(z)
    _, u, v = _exact_codes(factors)
    design = np.column_stack([u, v, np.ones(len(u))])
    out = []
    for i in range(z.shape[1]):
        coef, *_ = np.linalg.lstsq(design, z[:, i], rcond=None)
        angle, offset = _orientation(coef[0], coef[1])
        out.append({"angle_deg": angle, "grid_offset_deg": offset,
                    "fit_corr": abs(_corr(design @ coef, z[:, i], "pearson"))})
    return out


def sample_elongation_directions(images: ArrayLike, n_components: int = 2,
                                 radius_fraction: float = 0.95) -> list[dict[str, float]]:
    """The elongation directions that linear PCA finds in a set of images.

    Computes the principal components of `images` and, among them, the
    `n_components` with the largest quadrupole content (projection on the
    cos 2phi and sin 2phi patterns around the image centre): the linear
    analogue of a PCA-like autoencoder's elongation axes. On rotation-
    invariant ellipses the two elongation components have nearly equal
    variances (25.6 and 24.9 on the zoo entry's 12,800 training ellipses), so
    their directions are set by the sample's noise (a mirror-symmetric sample
    has none between the h/v and the diagonal elongation: its pair lies on
    the grid's directions). A trained PCA-AE's axes need not follow them: on
    the same 12,800 images, runs put axis 2 at -52.8, 38.0, -75.9 and 78.4
    degrees (measured with v0.1.2), and training on a mirror-symmetric set put it at
    -58.0.

    Args:
        images: float array (N, H, W, 1).
        n_components: int. How many elongation components to return.
        radius_fraction: float in (0, 1]. The quadrupole patterns are cut at
            this fraction of the half side.

    Returns:
        list of dicts, one per component (by decreasing variance):
        `angle_deg` (the orientation, as in `elongation_directions`),
        `variance` (its eigenvalue), `quadrupole` (the norm of its projection
        on the two patterns, in [0, 1]).
    """
    x = validation.check_images(images).astype(np.float64)[..., 0]
    n_components = validation.check_int("n_components", n_components, minimum=1)
    radius_fraction = validation.check_float("radius_fraction", radius_fraction,
                                             minimum=0.0, maximum=1.0, exclusive_minimum=True)
    n, h, w = x.shape
    flat = x.reshape(n, -1)
    flat = flat - flat.mean(axis=0)
    _, singular, vt = np.linalg.svd(flat, full_matrices=False)
    yy, xx = np.mgrid[0:h, 0:w]
    yy, xx = yy - (h - 1) / 2.0, xx - (w - 1) / 2.0
    phi, r = np.arctan2(yy, xx), np.hypot(xx, yy)
    disk = r < radius_fraction * min(h, w) / 2.0
    q_cos = (np.cos(2 * phi) * disk).ravel()
    q_sin = (np.sin(2 * phi) * disk).ravel()
    q_cos, q_sin = q_cos / np.linalg.norm(q_cos), q_sin / np.linalg.norm(q_sin)
    c, s = vt @ q_cos, vt @ q_sin
    strength = np.hypot(c, s)
    order = np.argsort(-strength)[:n_components]
    order = sorted(order, key=lambda i: -singular[i])
    out = []
    for i in order:
        # rows grow downwards while `rotation` turns counter-clockwise as displayed
        angle, _ = _orientation(c[i], -s[i])
        out.append({"angle_deg": angle, "variance": float(singular[i] ** 2 / n),
                    "quadrupole": float(strength[i])})
    return out


def ideal_code_table(factors: Mapping[str, ArrayLike],
                     attributes: Mapping[str, ArrayLike]) -> dict[str, Any]:
    """The correlation table of EXACT codes of the ellipses' geometry.

    The codes are one natural choice of what a PCA-like autoencoder could put
    on its three axes: the area pi a b, and the log aspect ratio log(a/b)
    along the two directions of the elongation plane, u = log(a/b) cos(2 theta)
    (the h/v direction) and v = log(a/b) sin(2 theta) (the diagonal one). The
    ellipses are rotation-invariant (semi-axes drawn independently and a
    rotation over 90 degrees cover every orientation), so the data do not tie
    an axis to one ratio. The table reads like a model's (`correlation_table`:
    rows = codes, columns = `ATTRIBUTES`):

    - its ratio entries are NOT a ceiling of a model's. The table's Pearson
      |corr| depends on how an axis is parametrised, not only on what it
      codes: the ratios are heavy-tailed (a/b up to 16), and an axis that is
      a stretched function of the same elongation scores higher. On the
      evaluation's 1000 ellipses u reaches 0.817 with the h/v ratio, the log
      of the h/v ratio attribute 0.850, and the attribute itself 1. Rank
      correlations (`correlation_table(..., method="spearman")`) do not
      depend on the parametrisation;
    - its off-diagonal entries are what a faithful code shows: the area
      attribute itself correlates with the ratios on these images (-0.15 and
      -0.11; small ellipses are the elongated ones, and the heavy upper tail
      of a ratio carries the Pearson coefficient), so an axis that codes the
      exact area inherits that correlation. Its rank correlation with the
      ratios is near zero.

    Args:
        factors: dict with `a`, `b` (semi-axes) and `rotation` (degrees),
            arrays (N,), as `ellipses.make_ellipses` returns them.
        attributes: dict with `ATTRIBUTES` (see `image_attributes`).

    Returns:
        dict: `table` ((3, 3) array of |corr|), `codes` (names of the rows),
        `ratio_ceiling` (`hv_ratio` and `diag_ratio`: the table's ratio
        entries; the key keeps its historical name, they are not a ceiling),
        `worst_off_diagonal` (its largest off-diagonal entry).
    """
    codes = np.stack(_exact_codes(factors), axis=1)
    missing = [name for name in ATTRIBUTES if name not in attributes]
    if missing:
        raise ValueError(f"`attributes` must hold {list(ATTRIBUTES)}. Missing: {missing}")
    table = correlation_table(codes, {name: attributes[name] for name in ATTRIBUTES})
    return {"table": table, "codes": ["area", "log_ratio_hv", "log_ratio_diag"],
            "ratio_ceiling": {"hv_ratio": float(table[1, 1]),
                              "diag_ratio": float(table[2, 2])},
            "worst_off_diagonal": float(np.max(table[~np.eye(3, dtype=bool)]))}


def ideal_axis_correlations(factors: Mapping[str, ArrayLike],
                            attributes: Mapping[str, ArrayLike]) -> dict[str, float]:
    """The |corr| that the exact log-aspect-ratio axes reach with the two ratio
    attributes: the ratio entries of `ideal_code_table` (a reference point,
    not a ceiling: see there).

    Returns:
        dict: `hv_ratio` and `diag_ratio`, each the |corr| of the attribute
        with its ideal axis.
    """
    return ideal_code_table(factors, attributes)["ratio_ceiling"]


def match_axes(table: ArrayLike) -> list[int]:
    """The assignment of attributes to axes that maximises the matched |corr|.

    Axis 1 is always matched with the first attribute (area); the other
    attributes are matched with the remaining axes by the best permutation.

    Returns:
        list of attribute indices, one per matched axis (axis i -> result[i]).
    """
    table = np.asarray(table)
    k, n_attr = table.shape
    m = min(k, n_attr)
    best, best_score = None, -1.0
    for perm in itertools.permutations(range(1, n_attr), m - 1):
        assignment = (0,) + perm
        score = sum(table[i, a] for i, a in enumerate(assignment))
        if score > best_score:
            best, best_score = list(assignment), score
    return best


def check_targets(table: ArrayLike, latent_corr: ArrayLike,
                  targets: Mapping[str, Any] = TARGETS) -> dict[str, Any]:
    """Checks the issue's targets on a (3, 3) table and the latent |corr|.

    Returns:
        dict: `area` (axis 1 vs area), `ratios` (the two matched ratio
        entries, largest first), `assignment` (attribute of each axis),
        `worst_off_diagonal`, `worst_latent`, and `met` (all targets met).
    """
    table = np.asarray(table)
    assignment = match_axes(table)
    matched = [table[i, a] for i, a in enumerate(assignment)]
    mask = np.ones_like(table, dtype=bool)
    for i, a in enumerate(assignment):
        mask[i, a] = False
    off = float(table[mask].max()) if mask.any() else 0.0
    latent = np.asarray(latent_corr)
    latent_off = float((latent - np.eye(len(latent))).max()) if len(latent) > 1 else 0.0
    ratios = sorted(matched[1:], reverse=True)
    met = (matched[0] >= targets["area"] and off <= targets["off_diagonal"]
           and latent_off <= targets["latent"] and len(ratios) == len(targets["ratios"])
           and all(r >= t for r, t in zip(ratios, targets["ratios"])))
    return {"area": float(matched[0]), "ratios": [float(r) for r in ratios],
            "assignment": [ATTRIBUTES[a] for a in assignment],
            "worst_off_diagonal": off, "worst_latent": latent_off, "met": bool(met)}


def fresh_ellipses(n_test: int = 1000, seed: int = 20_190_401, image_size: int = 64,
                   renderer: str = "monte_carlo", n_samples: int = 256
                   ) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Fresh ellipses (never seen in training: their own seed, and by default
    another renderer) and their image attributes."""
    images, factors = ellipses.make_ellipses(n_test, seed=seed, image_size=image_size,
                                             renderer=renderer, n_samples=n_samples)
    return images, factors, image_attributes(images)


def evaluate(model: Autoencoder, n_test: int = 1000, seed: int = 20_190_401,
             renderer: str = "monte_carlo", n_samples: int = 256,
             method: str = "pearson") -> dict[str, Any]:
    """Measures a PCA-AE (or any autoencoder) on fresh ellipses.

    Args:
        model: an `Autoencoder` on ellipses (e.g. a `PCAAutoencoder`).
        n_test: int. Number of fresh ellipses. Defaults to 1000.
        seed: int. Their seed (differs from every training seed).
        renderer: "monte_carlo" (default; another route than training) or
            "exact".
        n_samples: int. Monte Carlo samples per pixel.
        method: "pearson" (default) or "spearman" correlation.

    Returns:
        dict: `table` (|corr| axes x attributes, rows = axes, by `method`),
        `table_spearman` (the same with rank correlations: what an axis codes,
        whatever its parametrisation; Pearson entries also depend on the
        shape of the axis, the ratios being heavy-tailed), `latent_corr`,
        one `corr_z<i>_<attribute>` entry per cell, `targets` (see
        `check_targets`) with its matched ratio entries and worst other entry
        also as `ratio_axis_first`, `ratio_axis_second`, `worst_off_diagonal`,
        `mse` and `bce` of the reconstruction, and for a progressive model
        `mse_by_components` (the error with the first j axes only,
        j = 1..k: it must decrease); with 3 or more axes,
        `ratio_multiple_corr` (see `multiple_correlation`) and
        `ratio_ideal_axis_corr`, what the exact log-aspect-ratio axes reach
        on these images (a reference point, not a ceiling), with
        `ideal_table` and `ideal_worst_off_diagonal`, the table of exact codes
        and its largest other entry (see `ideal_code_table`), and
        `elongation_directions` of axes 2 and 3 (see there).
    """
    n_test = validation.check_int("n_test", n_test, minimum=10)
    images, factors, attrs = fresh_ellipses(n_test, seed, model.image_shape[0], renderer,
                                            n_samples)
    z = model.encode(images)
    table = correlation_table(z, attrs, method)
    latent = latent_correlations(z, method)
    recon = model.reconstruct(images)
    clipped = np.clip(recon, 1e-7, 1 - 1e-7)
    metrics = {
        "n_test": n_test,
        "method": method,
        "mse": float(np.mean((recon - images) ** 2)),
        "bce": float(-np.mean(images * np.log(clipped) + (1 - images) * np.log(1 - clipped))),
        "table": table.round(4).tolist(),
        "attributes": list(ATTRIBUTES),
        "table_spearman": correlation_table(z, attrs, "spearman").round(4).tolist(),
        "latent_corr": latent.round(4).tolist(),
        "latent_abs_corr_max": float((latent - np.eye(len(latent))).max())
        if len(latent) > 1 else 0.0,
    }
    for i in range(table.shape[0]):
        for j, name in enumerate(ATTRIBUTES):
            metrics[f"corr_z{i + 1}_{name}"] = float(table[i, j])
    if table.shape[0] == len(ATTRIBUTES):
        metrics["targets"] = check_targets(table, latent)
        # flat copies for the zoo's claims: the two ratio entries of the best matching
        # (whichever axis takes which ratio; the data do not order them), largest first
        metrics["ratio_axis_first"], metrics["ratio_axis_second"] = metrics["targets"]["ratios"]
        metrics["worst_off_diagonal"] = metrics["targets"]["worst_off_diagonal"]
    if z.shape[1] >= 3:
        metrics["ratio_multiple_corr"] = {
            name: multiple_correlation(z[:, 1:3], attrs[name]) for name in ATTRIBUTES[1:]}
        ideal = ideal_code_table(factors, attrs)
        metrics["ratio_ideal_axis_corr"] = ideal["ratio_ceiling"]
        metrics["ideal_table"] = ideal["table"].round(4).tolist()
        metrics["ideal_worst_off_diagonal"] = ideal["worst_off_diagonal"]
        metrics["elongation_directions"] = elongation_directions(z[:, 1:3], factors)
    if hasattr(model, "n_stages"):
        metrics["mse_by_components"] = [
            float(np.mean((model.decode(z[:, :j]) - images) ** 2))
            for j in range(1, model.n_stages + 1)]
    return metrics


def evaluate_grey_disks(model: Autoencoder, n_test: int = 1000, seed: int = 20_190_402,
                        method: str = "pearson") -> dict[str, Any]:
    """The slides' failure case: |corr| of each axis with radius, grey level,
    and the image area (sum of pixels) on fresh grey disks."""
    images, factors = grey_disks.make_grey_disks(n_test, seed=seed,
                                                 image_size=model.image_shape[0])
    z = model.encode(images)
    attrs = {"radius": factors["radius"], "grey": factors["grey"],
             "area": images.sum(axis=(1, 2, 3))}
    table = correlation_table(z, attrs, method)
    recon = model.reconstruct(images)
    return {"table": table.round(4).tolist(), "attributes": list(attrs),
            "latent_corr": latent_correlations(z, method).round(4).tolist(),
            "mse": float(np.mean((recon - images) ** 2))}


def navigation_codes(z_train: ArrayLike, n_steps: int = 7,
                     quantiles: Sequence[float] = (0.0, 1.0)
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The codes of a navigation grid: row i sweeps axis i from its low to its
    high training value (the `quantiles` of `z_train[:, i]`), others at 0
    (`geomae_tf.analysis.latent.sweep_codes` from the zero code).

    Returns:
        (codes (k, n_steps, k), values (k, n_steps)).
    """
    z_train = validation.check_codes(z_train, name="z_train")
    n_steps = validation.check_int("n_steps", n_steps, minimum=2)
    k = z_train.shape[1]
    low = np.quantile(z_train, quantiles[0], axis=0)
    high = np.quantile(z_train, quantiles[1], axis=0)
    return sweep_codes(np.zeros(k, np.float32), low, high, range(k), n_steps)


def navigation_grid(model: Autoencoder, z_train: ArrayLike, path: PathLike, n_steps: int = 7,
                    quantiles: Sequence[float] = (0.0, 1.0),
                    title: str | None = None) -> tuple[Path, np.ndarray]:
    """Saves the latent navigation grid of `model` (slides 49-50) to `path`.

    Args:
        model: an autoencoder with `decode`.
        z_train: array (N, k). Codes of training images (sets the ranges).
        path: where to save the figure (PNG).
        n_steps: int. Columns of the grid.
        quantiles: (low, high). The range of each axis, as quantiles of its
            training values. Defaults to (0, 1): the lowest and highest.
        title: str or None.

    Returns:
        (path, decoded images (k, n_steps, H, W, 1)).
    """
    plt = pyplot()

    codes, values = navigation_codes(z_train, n_steps, quantiles)
    k = codes.shape[0]
    decoded = model.decode(codes.reshape(-1, k))
    decoded = decoded.reshape((k, n_steps) + decoded.shape[1:])
    fig, axes = plt.subplots(k, n_steps, figsize=(1.3 * n_steps, 1.4 * k), squeeze=False)
    for i in range(k):
        for j in range(n_steps):
            axes[i, j].imshow(decoded[i, j, ..., 0], cmap="gray", vmin=0, vmax=1)
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
            axes[i, j].set_title(f"{values[i, j]:+.2f}", fontsize=7)
        axes[i, 0].set_ylabel(f"z{i + 1}")
    fig.suptitle(title or f"{model.name}: latent navigation (others at 0)")
    path = save_figure(fig, path)
    return path, decoded


def correlation_table_figure(tables: Mapping[str, ArrayLike],
                             attributes: Sequence[str] = ATTRIBUTES,
                             samples: str | None = None) -> Figure:
    """The correlation tables {name: (k, 3) array} side by side, as a Figure.

    Args:
        tables: dict. Name (a model or zoo entry) -> |corr| table, rows = axes.
        attributes: sequence of str. Column names. Defaults to `ATTRIBUTES`.
        samples: str or None. Which samples the tables were measured on (e.g.
            "1000 fresh ellipses, seed 20190401, Monte Carlo renderer"),
            printed under the title. Defaults to "fresh ellipses".

    Returns:
        matplotlib.figure.Figure.
    """
    fig, axes = pyplot().subplots(1, len(tables), figsize=(3.8 * len(tables), 3.8),
                                  squeeze=False, layout="constrained")
    for ax, (name, table) in zip(axes[0], tables.items()):
        table = np.asarray(table)
        ax.imshow(table, vmin=0, vmax=1, cmap="viridis")
        for (i, j), v in np.ndenumerate(table):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center",
                    color="black" if v > 0.5 else "white", fontsize=9)
        ax.set_xticks(range(len(attributes)), attributes, fontsize=8)
        ax.set_yticks(range(table.shape[0]), [f"z{i + 1}" for i in range(table.shape[0])])
        ax.set_title(name, fontsize=9)
    fig.suptitle(f"|corr| between latent axes and image attributes\n"
                 f"({samples or 'fresh ellipses'})", fontsize=9)
    return fig


def table_figure(tables: Mapping[str, ArrayLike], path: PathLike,
                 attributes: Sequence[str] = ATTRIBUTES, samples: str | None = None) -> Path:
    """Saves `correlation_table_figure(tables, attributes, samples)` to `path`;
    returns the path."""
    return save_figure(correlation_table_figure(tables, attributes, samples), path)


def figures(model: Autoencoder, out_dir: PathLike, seed: int = 7, n_train_codes: int = 2000,
            n_steps: int = 7, n_test: int = 1000, eval_seed: int = 20_190_401,
            renderer: str = "monte_carlo", name: str | None = None) -> list[Path]:
    """Writes the navigation grid and the correlation table of `model`; returns the paths.

    The table is measured on the samples `evaluate` uses by default (1000 fresh
    ellipses, seed 20190401, Monte Carlo renderer), so it shows the numbers
    `geomae evaluate` prints, and says so in its title.

    Args:
        model: a PCA-AE (or any autoencoder) on ellipses.
        out_dir: str or Path. Folder of the figures.
        seed: int. Seed of the ellipses whose codes set the navigation ranges.
        n_train_codes: int. Their number. Defaults to 2000.
        n_steps: int. Columns of the navigation grid. Defaults to 7.
        n_test: int. Fresh ellipses of the table. Defaults to 1000.
        eval_seed: int. Their seed. Defaults to 20190401 (`evaluate`'s).
        renderer: str. Their renderer. Defaults to "monte_carlo" (`evaluate`'s).
        name: str or None. Name in titles and file names (a zoo entry's); None
            takes `model.name`.
    """
    out_dir = Path(out_dir)
    name = name or model.name
    train_images, _ = ellipses.make_ellipses(n_train_codes, seed=seed,
                                             image_size=model.image_shape[0])
    z_train = model.encode(train_images)
    grid, _ = navigation_grid(model, z_train, out_dir / f"{name}_navigation.png",
                              n_steps=n_steps, title=f"{name}: latent navigation (others at 0)")
    images, _, attrs = fresh_ellipses(n_test, eval_seed, model.image_shape[0], renderer)
    table = correlation_table(model.encode(images), attrs)
    renderer_name = {"monte_carlo": "Monte Carlo"}.get(renderer, renderer)
    samples = f"{n_test} fresh ellipses, seed {eval_seed}, {renderer_name} renderer"
    return [grid, table_figure({name: table}, out_dir / f"{name}_table.png", samples=samples)]


def organisation_report(model: PCAAutoencoder, generator: keras.Model, z0: ArrayLike,
                        sigma: float, n: int = 2000, seed: int = 123,
                        batch_size: int = 256) -> dict[str, Any]:
    """Numbers showing how a PCA-AE organised a generator's latent space.

    On fresh codes z0 + eta, eta ~ N(0, sigma^2 I), with x = G(z0 + eta):

    - `mse_by_components[j-1]`: mean squared image error of
      G(z0 + D_j(E_1..j(eta))) against x: it decreases with j;
    - `axis_importance[i]`: the image change when organised axis i alone is
      set to 0 in the full model, mean squared: ordered (decreasing) when
      the axes are ordered by importance;
    - `raw_axis_importance`: the same for each axis of the generator's own
      code (eta_i set to 0), for comparison: no order, no concentration;
    - `latent_corr`, `latent_abs_corr_max`: |corr| between organised axes;
    - `variance_explained_by_k_axes` vs `..._by_k_best_raw_axes`: 1 - error
      / error of the centre image G(z0), for the k organised axes and for the
      k most important raw axes kept (the others set to 0).
    """
    z0 = np.asarray(z0, np.float32).reshape(-1)
    rng = np.random.default_rng(seed)
    eta = (sigma * rng.normal(size=(n, z0.size))).astype(np.float32)
    x = np.asarray(generator.predict(z0 + eta, batch_size=batch_size, verbose=0))
    centre = np.asarray(generator.predict(z0[None], verbose=0))
    z = model.encode(eta, batch_size)
    k = z.shape[1]

    def mse(a, b):
        return float(np.mean((a - b) ** 2))

    by_components = [mse(model.decode(z[:, :j], batch_size), x) for j in range(1, k + 1)]
    full = model.decode(z, batch_size)
    importance = []
    for i in range(k):
        zi = z.copy()
        zi[:, i] = 0.0
        importance.append(mse(model.decode(zi, batch_size), full))
    raw = []
    for i in range(z0.size):
        ei = eta.copy()
        ei[:, i] = 0.0
        raw.append(mse(np.asarray(generator.predict(z0 + ei, batch_size=batch_size,
                                                    verbose=0)), x))
    best = np.argsort(raw)[::-1][:k]
    kept = np.zeros_like(eta)
    kept[:, best] = eta[:, best]
    base = mse(np.broadcast_to(centre, x.shape), x)
    raw_k = mse(np.asarray(generator.predict(z0 + kept, batch_size=batch_size, verbose=0)), x)
    latent = latent_correlations(z)
    return {
        "mse_by_components": by_components,
        "axis_importance": importance,
        "raw_axis_importance": [float(v) for v in raw],
        "latent_corr": latent.round(4).tolist(),
        "latent_abs_corr_max": float((latent - np.eye(k)).max()) if k > 1 else 0.0,
        "mse_of_centre_image": base,
        "variance_explained_by_k_axes": 1.0 - by_components[-1] / base,
        "variance_explained_by_k_best_raw_axes": 1.0 - raw_k / base,
    }
