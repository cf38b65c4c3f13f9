"""What each coordinate of an atomic block does: amplitude, row shift, column shift.

Newson and Traonmilin 2023, section 2.3 and Figure 6: with d0 = 3 the block
g of the spike autoencoder should code one spike's amplitude and its two
position coordinates. This module measures what a trained g does with each
coordinate. At the code z_i of every active block (its atom's amplitude above
`ACTIVE_THRESHOLD`) of fresh spike images, the atom g(z_i) is located
(`geomae_tf.models.atomic.inference.locate_atoms`: peak refined to sub-pixel, exact
for a Gaussian) and the Jacobian of

    (log amplitude, row, column)  with respect to  (z_i1, ..., z_id0)

is estimated by central finite differences, with a step `step` times the
coordinate's spread over training codes, then multiplied by that spread:
entries are "relative amplitude change per std" and "pixels per std". Their
absolute values averaged over blocks and images make a d0 x 3 table; its row
shares say how much of a coordinate's effect is amplitude, row or column
(counting a 100% amplitude change like a 1-pixel shift), and its column
shares say which coordinate carries each attribute (unit-free).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from geomae_tf import validation
from geomae_tf.analysis.atomic.common import _check_atomic
from geomae_tf.analysis.latent import training_codes
from geomae_tf.datasets import spikes
from geomae_tf.models.atomic.inference import ACTIVE_THRESHOLD, locate_atoms

if TYPE_CHECKING:
    from geomae_tf.models.atomic.atomic_model import AtomicAutoencoder
    from geomae_tf.types import ArrayLike

#: The three attributes of a located atom, in the Jacobian's row order.
ATTRIBUTES = ("amplitude", "row", "column")
#: Finite-difference step, as a fraction of each coordinate's training spread.
DEFAULT_STEP = 0.05
EVAL_SEED = 20_232


def _as_atoms(atoms, n):
    atoms = np.asarray(atoms, np.float64)
    if atoms.ndim == 4 and atoms.shape[-1] == 1:
        atoms = atoms[..., 0]
    if atoms.ndim != 3 or atoms.shape[0] != n:
        raise ValueError(f"`block_fn` must return {n} atoms shaped (M, H, W) or "
                         f"(M, H, W, 1). Received: an array with shape {np.shape(atoms)}")
    return atoms


def _locate(block_fn, codes):
    atoms = _as_atoms(block_fn(codes.astype(np.float32)), len(codes))
    positions, amplitudes = locate_atoms(atoms[:, None])
    return amplitudes[:, 0], positions[:, 0]


def block_jacobians(block_fn: Callable[[np.ndarray], ArrayLike], block_codes: ArrayLike,
                    spread: ArrayLike, step: float = DEFAULT_STEP) -> dict[str, np.ndarray]:
    """Jacobians of an atom's (log amplitude, row, column) in its block's coordinates.

    Args:
        block_fn: callable. Block codes `(M, d0)` to atoms `(M, H, W[, 1])`:
            the shared block g (e.g. `lambda z: model.block.predict(z)`).
        block_codes: array (M, d0). The block codes z_i at which to measure.
        spread: array (d0,). Each coordinate's spread (standard deviation)
            over training codes: the unit of the coordinates.
        step: float > 0. Finite-difference step as a fraction of `spread`.
            Defaults to 0.05.

    Returns:
        dict: `jacobian` (M, 3, d0): row a, column j is d attribute_a / d z_j
        times spread_j, with attributes (log amplitude, row px, column px);
        `amplitude` (M,) and `position` (M, 2) of the atoms at `block_codes`.
    """
    block_codes = validation.check_codes(block_codes, name="block_codes")
    d0 = block_codes.shape[1]
    spread = np.asarray(spread, np.float64).reshape(-1)
    if spread.shape != (d0,) or not np.all(np.isfinite(spread)) or np.any(spread <= 0):
        raise ValueError(f"`spread` must hold {d0} positive numbers, one per block "
                         f"coordinate. Received: spread={spread.tolist()}")
    step = validation.check_float("step", step, minimum=0.0, exclusive_minimum=True)
    amplitude, position = _locate(block_fn, block_codes)
    jacobian = np.zeros((len(block_codes), 3, d0))
    for j in range(d0):
        h = step * spread[j]
        plus, minus = block_codes.astype(np.float64), block_codes.astype(np.float64)
        plus[:, j] += h
        minus[:, j] -= h
        amp_p, pos_p = _locate(block_fn, plus)
        amp_m, pos_m = _locate(block_fn, minus)
        with np.errstate(divide="ignore", invalid="ignore"):
            d_log_amp = (np.log(np.maximum(amp_p, 1e-12)) - np.log(np.maximum(amp_m, 1e-12)))
        jacobian[:, 0, j] = d_log_amp / (2 * step)
        jacobian[:, 1:, j] = (pos_p - pos_m) / (2 * step)
    return {"jacobian": jacobian, "amplitude": amplitude, "position": position}


def effect_table(jacobian: ArrayLike) -> dict[str, Any]:
    """The d0 x 3 tables of what each coordinate does, from `block_jacobians`.

    Args:
        jacobian: array (M, 3, d0).

    Returns:
        dict: `mean_abs` (d0, 3): mean |relative amplitude change|, |row
        shift| (px) and |column shift| (px) per std of the coordinate;
        `mean_signed` (d0, 3): the same without absolute values (a
        coordinate that moves every atom the same way keeps its size);
        `row_share` (d0, 3): each row of `mean_abs` divided by its sum
        (what a coordinate does; a 100% amplitude change counts as 1 px);
        `column_share` (d0, 3): each column divided by its sum (which
        coordinate carries an attribute); `sign_consistency` (d0, 3):
        |mean_signed| / mean_abs, 1 where a coordinate moves an attribute the
        same way at every atom, near 0 where the direction depends on the atom;
        `n_blocks` (M).
    """
    jacobian = np.asarray(jacobian, np.float64)
    if jacobian.ndim != 3 or jacobian.shape[1] != 3 or not len(jacobian):
        raise ValueError(f"`jacobian` must be shaped (M, 3, d0) with M >= 1. Received: "
                         f"jacobian with shape {jacobian.shape}")
    jacobian = jacobian[np.all(np.isfinite(jacobian), axis=(1, 2))]
    mean_abs = np.abs(jacobian).mean(axis=0).T          # (d0, 3)
    mean_signed = jacobian.mean(axis=0).T
    rows = mean_abs.sum(axis=1, keepdims=True)
    cols = mean_abs.sum(axis=0, keepdims=True)
    return {
        "mean_abs": mean_abs,
        "mean_signed": mean_signed,
        "row_share": np.divide(mean_abs, rows, out=np.zeros_like(mean_abs), where=rows > 0),
        "column_share": np.divide(mean_abs, cols, out=np.zeros_like(mean_abs),
                                  where=cols > 0),
        "sign_consistency": np.divide(np.abs(mean_signed), mean_abs,
                                      out=np.zeros_like(mean_abs), where=mean_abs > 0),
        "n_blocks": int(len(jacobian)),
    }


def block_codes_of(model: AtomicAutoencoder, codes: ArrayLike,
                   threshold: float = ACTIVE_THRESHOLD
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The block codes z_i of the active atoms of `codes` (N, k * d0).

    Returns:
        (active block codes (M, d0), their image index (M,), their block index (M,)).
    """
    codes = validation.check_codes(codes, name="codes", latent_dim=model.latent_dim)
    threshold = validation.check_float("threshold", threshold)
    atoms = model.atoms_from_codes(codes)
    _, amplitudes = locate_atoms(atoms)
    image, block = np.nonzero(amplitudes > threshold)
    blocks = codes.reshape(len(codes), model.k, model.d0)
    return blocks[image, block], image, block


def block_spread(model: AtomicAutoencoder, train_codes: ArrayLike,
                 threshold: float = ACTIVE_THRESHOLD) -> np.ndarray:
    """Standard deviation of each block coordinate over the active blocks of
    training codes (pooled over blocks: they share g)."""
    active, _, _ = block_codes_of(model, train_codes, threshold)
    if len(active) < 2:
        raise ValueError(f"`train_codes` must have at least 2 active blocks (atom amplitude "
                         f"> {threshold}) to measure a spread. Received: {len(active)}")
    return active.std(axis=0).astype(np.float64)


def atomic_block_axes(model: AtomicAutoencoder, train_codes: ArrayLike | None = None,
                      n_test: int = 200, seed: int = EVAL_SEED, step: float = DEFAULT_STEP,
                      threshold: float = ACTIVE_THRESHOLD,
                      n_train_codes: int = 1000) -> dict[str, Any]:
    """What each coordinate of an atomic spike model's block does (Figure 6).

    Args:
        model: an `AtomicAutoencoder` trained on spikes (e.g.
            `geomae_tf.zoo.load("atomic_spikes")`).
        train_codes: array (N, k * d0) or None. Training codes (their active
            blocks give each coordinate's spread); None encodes the first
            `n_train_codes` images of the spikes training stream.
        n_test: int. Fresh spike images whose active blocks are measured.
        seed: int. Seed of the fresh images.
        step: float. See `block_jacobians`.
        threshold: float. An atom is active when its amplitude exceeds it.
        n_train_codes: int. See `train_codes`.

    Returns:
        dict: the tables of `effect_table`, `spread` (d0,), `attributes`,
        `n_test`, `step`.
    """
    _check_atomic(model)
    n_test = validation.check_int("n_test", n_test, minimum=1)
    if train_codes is None:
        train_codes = training_codes(model, "spikes", n=n_train_codes)
    spread = block_spread(model, train_codes, threshold)
    images, _ = spikes.make_spikes(n_test, seed=seed, image_size=model.image_shape[0])
    active, _, _ = block_codes_of(model, model.encode(images), threshold)
    if not len(active):
        raise ValueError(f"no atom of the {n_test} fresh images is active (amplitude > "
                         f"{threshold}): nothing to measure")

    def block_fn(z):
        return model.block.predict(z, batch_size=512, verbose=0)

    measured = block_jacobians(block_fn, active, spread, step)
    table = effect_table(measured["jacobian"])
    table.update({"spread": spread, "attributes": ATTRIBUTES, "n_test": n_test,
                  "step": step})
    return table


def format_table(table: Mapping[str, Any]) -> str:
    """The tables of `effect_table` / `atomic_block_axes` as Markdown."""
    mean_abs, row, col = table["mean_abs"], table["row_share"], table["column_share"]
    lines = ["| coordinate | |d amp|/amp per std | |d row| px per std | |d col| px per std "
             "| share amp / row / col (of the coordinate) "
             "| share of amp / row / col (over coordinates) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for j in range(len(mean_abs)):
        lines.append(f"| {j} | {mean_abs[j, 0]:.3f} | {mean_abs[j, 1]:.3f} | "
                     f"{mean_abs[j, 2]:.3f} | {row[j, 0]:.2f} / {row[j, 1]:.2f} / "
                     f"{row[j, 2]:.2f} | {col[j, 0]:.2f} / {col[j, 1]:.2f} / {col[j, 2]:.2f} |")
    return "\n".join(lines)
