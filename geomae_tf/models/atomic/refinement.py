"""Refined inference of an atomic code: gradient steps, pruning and reseeding.

Newson and Traonmilin 2023 decode a code z = (z_1, ..., z_k) into
g(z_1) + ... + g(z_k) (section 2.1, eq. 3), and its encoder outputs the k
blocks in a fixed order (section 2.3). On spikes the encoder alone splits
some spikes over two blocks, merges close pairs into one and misses spikes in
crowded images. Its code is a good starting point, though, and the decoder
is a learned point-spread function: `refine_codes` improves the code with the
decoder fixed, in the manner of a greedy continuous fit (matching pursuit
with a known PSF), but with g in place of the PSF:

1. Adam steps on ||f_D(z) - x||^2 over z (`CodeRefinement`).
2. Pruning: an active atom whose centre lies within `merge_distance` of a
   brighter active atom is a split; it and every inactive block are
   switched off (set to the code whose atom has the least energy).
3. Reseeding: each peak of the residual x - (sum of the kept atoms) above
   `threshold` gets, in a free block, a code whose atom lies there: the
   residual is encoded by the model's own encoder and the residual's atom
   found within `gate` px of the peak is taken; failing that, the code of
   the nearest atom of a bank of active atoms (`atom_bank`, by default the
   atoms the encoder finds in the images being refined).
4. Adam steps again, on the kept and reseeded blocks only: a block
   switched off stays off, so no faint atom can take part of a spike's
   amplitude again. Steps 2-4 are one round.

For extended atoms (strokes), two more steps are asked for by option:
`merge` (`merge_tolerance`) joins two touching atoms that one block redraws,
at the end of each round, and `drop` (`min_gain`) ends the refinement by
switching off, one at a time, the atoms the other atoms can stand in for.

Nothing here knows the true PSF: only the trained encoder and decoder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from scipy import ndimage

from geomae_tf import validation
from geomae_tf.layers.code_refinement import CodeRefinement
from geomae_tf.models.atomic.inference import locate_atoms

if TYPE_CHECKING:
    import keras

    from geomae_tf.types import ArrayLike


class _AtomicModel(Protocol):
    """What this module reads of an atomic autoencoder (`AtomicAutoencoder`,
    whose `atoms` and `refine_codes` call this module): its k blocks of d0,
    shared block g, decoder and encoder."""

    block: keras.Model
    decoder: keras.Model

    @property
    def k(self) -> int: ...

    @property
    def d0(self) -> int: ...

    @property
    def image_shape(self) -> tuple[int, ...]: ...

    @property
    def latent_dim(self) -> int: ...

    def encode(self, images: ArrayLike, batch_size: int = 256,
               clip: bool = False) -> np.ndarray: ...

    def atoms_from_codes(self, z: ArrayLike, batch_size: int = 256) -> np.ndarray: ...

    def refiner(self, options: dict[str, Any] | None = None) -> keras.layers.Layer: ...


def off_code(model: _AtomicModel, steps: int = 300,
             learning_rate: float = 0.05) -> np.ndarray:
    """A block code whose atom g(c) has (nearly) no energy: min ||g(c)||^2.

    The starts are the encoder's k block codes of a blank image (whose atoms
    sum to nearly nothing); each is refined by Adam on ||g(c)||^2 and the
    one of least energy is kept. Found once per model, then cached on the
    model (`model._off_code`); used to switch a block off.
    """
    cached = getattr(model, "_off_code", None)
    if cached is None:
        # The same code as the graph refinement's (`AtomicRefinement.off_code_of`).
        cached = model.refiner().off_code_of(steps, learning_rate)
    return np.asarray(cached, np.float32)


def atom_bank(model: _AtomicModel, images: ArrayLike,
              threshold: float = 0.25) -> dict[str, np.ndarray]:
    """Block codes of the active atoms the encoder finds in `images`, with
    their centres and amplitudes: the candidates of reseeding.

    Returns:
        dict: `codes` (M, d0), `positions` (M, 2), `amplitudes` (M,).
    """
    z = model.encode(images)
    positions, amplitudes, _ = _locate(model, z)
    active = amplitudes > threshold
    return {"codes": np.asarray(z, np.float32).reshape(len(z), model.k, model.d0)[active],
            "positions": positions[active], "amplitudes": amplitudes[active]}


def _locate(model, z):
    """Centres (N, k, 2), amplitudes (N, k) and atoms (N, k, H, W) of codes z."""
    atoms = model.atoms_from_codes(z)[..., 0]
    positions, amplitudes = locate_atoms(atoms)
    return positions, amplitudes, atoms


def prune(model: _AtomicModel, z: ArrayLike, merge_distance: float = 1.5,
          threshold: float = 0.25) -> tuple[np.ndarray, list[list[int]], np.ndarray]:
    """Switches off inactive blocks and blocks that split a brighter atom.

    Returns:
        (codes (N, k * d0), kept: list of the kept block indices per image,
        atoms (N, k, H, W) of the input codes).
    """
    n, k, d0 = len(z), model.k, model.d0
    blocks = np.array(z, np.float32).reshape(n, k, d0)
    positions, amplitudes, atoms = _locate(model, z)
    off = off_code(model)
    kept_all = []
    for i in range(n):
        kept = []
        for j in np.argsort(-amplitudes[i]):
            split = any(np.linalg.norm(positions[i, j] - positions[i, q]) < merge_distance
                        for q in kept)
            if amplitudes[i, j] > threshold and not split:
                kept.append(int(j))
            else:
                blocks[i, j] = off
        kept_all.append(kept)
    return blocks.reshape(n, k * d0), kept_all, atoms


def reseed(model: _AtomicModel, images: np.ndarray, z: ArrayLike, kept: list[list[int]],
           atoms: np.ndarray, threshold: float = 0.25, gate: float = 2.0,
           bank: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, int]:
    """Gives free blocks the codes of the residual's unexplained peaks.

    Args:
        model: an `AtomicAutoencoder`.
        images: array (N, H, W, 1).
        z: array (N, k * d0). Codes after `prune`.
        kept: list of the kept block indices per image (from `prune`).
        atoms: array (N, k, H, W). The atoms the kept blocks decode to.
        threshold: float. Residual peaks at or below it are left alone.
        gate: float. A residual atom farther than this from a peak is not
            taken for it.
        bank: dict or None. From `atom_bank`: the fallback candidates.

    Returns:
        (codes (N, k * d0), number of blocks reseeded).
    """
    n, k, d0 = len(z), model.k, model.d0
    blocks = np.array(z, np.float32).reshape(n, k, d0)
    explained = np.stack([atoms[i, kept[i]].sum(axis=0) for i in range(n)])
    residual = images[..., 0] - explained
    residual_codes = model.encode(np.clip(residual, 0.0, 1.0)[..., None])
    found, found_amp, _ = _locate(model, residual_codes)
    residual_codes = residual_codes.reshape(n, k, d0)
    count = 0
    for i in range(n):
        free = [j for j in range(k) if j not in kept[i]]
        r = residual[i]
        peaks = np.argwhere((r == ndimage.maximum_filter(r, 3)) & (r > threshold))
        peaks = sorted(peaks, key=lambda p: -r[p[0], p[1]])
        used = np.zeros(k, bool)
        for peak in peaks:
            if not free:
                break
            dist = np.linalg.norm(found[i] - peak, axis=1)
            dist[(found_amp[i] <= threshold) | used] = np.inf
            best = int(np.argmin(dist))
            if dist[best] <= gate:
                used[best] = True
                blocks[i, free.pop(0)] = residual_codes[i, best]
            elif bank is not None and len(bank["codes"]):
                # The bank's atom nearest the peak, of an amplitude near the peak's.
                cost = (np.linalg.norm(bank["positions"] - peak, axis=1)
                        + 0.5 * np.abs(bank["amplitudes"] - r[peak[0], peak[1]]))
                blocks[i, free.pop(0)] = bank["codes"][int(np.argmin(cost))]
            else:
                continue
            count += 1
    return blocks.reshape(n, k * d0), count


def _supports(atoms, threshold):
    """Masks (N, k, H, W) of each atom's pixels above 10% of its peak, grown by 2 px."""
    peak = atoms.max(axis=(2, 3), keepdims=True)
    support = (atoms > 0.1 * np.maximum(peak, threshold)) & (peak > threshold)
    return ndimage.binary_dilation(support, structure=np.ones((1, 1, 5, 5), bool))


def merge(model: _AtomicModel, z: ArrayLike, tolerance: float = 0.05, steps: int = 50,
          learning_rate: float = 0.05, threshold: float = 0.25) -> tuple[np.ndarray, int]:
    """Merges pairs of touching active atoms that ONE block can draw.

    A stroke coded as two pieces, or as two dim copies of itself, is a local
    minimum of the code's error: no small step joins them. For each pair of
    active atoms (i, j) of an image whose supports touch, a single block
    code c is fitted to a_i + a_j (Adam on ||g(c) - a_i - a_j||^2, started at
    z_i and at z_j, the better one kept); when its relative error
    ||g(c) - a_i - a_j||^2 / ||a_i + a_j||^2 is at most `tolerance`, block i
    takes c and block j is switched off. Pairs are merged greedily, the best
    fit first, each atom at most once per call.

    Args:
        model: an `AtomicAutoencoder`.
        z: array (N, k * d0).
        tolerance: float. Largest relative error of an accepted merge.
        steps, learning_rate: the fit of c.
        threshold: float. Activity threshold of an atom's peak.

    Returns:
        (codes (N, k * d0), number of merges).
    """
    import tensorflow as tf

    n, k, d0 = len(z), model.k, model.d0
    blocks = np.array(z, np.float32).reshape(n, k, d0)
    atoms = model.atoms_from_codes(blocks.reshape(n, -1))[..., 0]
    support = _supports(atoms, threshold)
    pairs = [(i, a, b) for i in range(n) for a in range(k) for b in range(a + 1, k)
             if np.any(support[i, a] & support[i, b])]
    if not pairs:
        return blocks.reshape(n, -1), 0
    targets = np.stack([atoms[i, a] + atoms[i, b] for i, a, b in pairs])[..., None]
    starts = np.concatenate([[blocks[i, a] for i, a, _ in pairs],
                             [blocks[i, b] for i, _, b in pairs]])
    both = np.concatenate([targets, targets])   # one fit from each start
    fit = CodeRefinement(model.block, steps=steps, learning_rate=learning_rate)
    codes = fit(tf.constant(both), tf.constant(starts)).numpy()
    error = (np.sum(np.square(np.asarray(model.block(codes)) - both), axis=(1, 2, 3))
             / np.maximum(np.sum(np.square(both), axis=(1, 2, 3)), 1e-12))
    m = len(pairs)
    best = np.where(error[:m] <= error[m:], np.arange(m), np.arange(m) + m)
    off = off_code(model)
    done = np.zeros((n, k), bool)
    merged = 0
    for p in np.argsort(error[best]):
        i, a, b = pairs[p]
        if error[best[p]] > tolerance or done[i, a] or done[i, b]:
            continue
        blocks[i, a], blocks[i, b] = codes[best[p]], off
        done[i, a] = done[i, b] = True
        merged += 1
    return blocks.reshape(n, k * d0), merged


def _squared_errors(model, codes, images):
    """||f_D(z) - x||^2 of each image."""
    return np.sum(np.square(np.asarray(model.decoder(codes)) - images), axis=(1, 2, 3))


def drop(model: _AtomicModel, images: ArrayLike, z: ArrayLike, min_gain: float = 0.5,
         steps: int = 50, learning_rate: float = 0.05,
         threshold: float = 0.25) -> tuple[np.ndarray, int]:
    """Switches off, one at a time, the active atoms the others can stand in for.

    `merge` joins two atoms that ONE block redraws; it cannot remove an atom
    whose ink the rest of the code could share out: a dim copy stacked on a
    stroke whose own atom could be brighter, a sliver along a stroke. The
    gain of an active atom a_j is what the image's squared error grows by
    when block j is switched off and the other active blocks are refitted
    (Adam, `steps`), as a share of its own energy ||a_j||^2: about 1 for an
    atom that draws ink no other atom can, near 0 (or below) for one the
    others take over. Each pass switches off every inactive block and, in
    each image, the active atom of least gain when that gain is below
    `min_gain` (the others keep their refitted codes); passes repeat until
    no atom is switched off. It is the backward step of a greedy sparse fit,
    an atom costing `min_gain` times its energy, with g in place of a
    dictionary.

    Args:
        model: an `AtomicAutoencoder`.
        images: array (N, H, W, 1).
        z: array (N, k * d0).
        min_gain: float >= 0. Least gain of an atom that is kept.
        steps, learning_rate: the refit of the other blocks.
        threshold: float. Activity threshold of an atom's peak.

    Returns:
        (codes (N, k * d0), number of atoms switched off).
    """
    import tensorflow as tf

    images = np.asarray(images, np.float32)
    n, k, d0 = len(z), model.k, model.d0
    blocks = np.array(z, np.float32).reshape(n, k, d0)
    off = off_code(model)
    fit = CodeRefinement(model.decoder, steps=steps, learning_rate=learning_rate)
    todo, dropped = np.arange(n), 0
    for _ in range(k):
        atoms = model.atoms_from_codes(blocks[todo].reshape(len(todo), -1))[..., 0]
        peak = atoms.max(axis=(2, 3))
        blocks[todo] = np.where((peak <= threshold)[..., None], off, blocks[todo])
        candidates = np.argwhere(peak > threshold)          # (image in todo, block)
        if not len(candidates):
            break
        rows, cols = candidates[:, 0], candidates[:, 1]
        starts = blocks[todo[rows]]
        starts[np.arange(len(rows)), cols] = off
        starts = starts.reshape(len(rows), -1)
        targets = images[todo[rows]]
        codes = fit(tf.constant(targets), tf.constant(starts),
                    tf.constant(_live_mask(model, starts))).numpy()
        before = _squared_errors(model, blocks[todo].reshape(len(todo), -1), images[todo])
        energy = np.sum(np.square(atoms), axis=(2, 3))[rows, cols]
        gain = (_squared_errors(model, codes, targets) - before[rows]) / np.maximum(energy,
                                                                                     1e-12)
        changed = []
        for q in np.unique(rows):
            best = np.flatnonzero(rows == q)[np.argmin(gain[rows == q])]
            if gain[best] < min_gain:
                blocks[todo[q]] = codes[best].reshape(k, d0)
                changed.append(todo[q])
        dropped += len(changed)
        if not changed:
            break
        todo = np.asarray(changed)
    return blocks.reshape(n, k * d0), dropped


def _live_mask(model, z):
    """1 on the coordinates of every block that is not switched off, else 0."""
    blocks = np.asarray(z, np.float32).reshape(len(z), model.k, model.d0)
    live = np.any(blocks != off_code(model), axis=-1, keepdims=True)
    return np.broadcast_to(live, blocks.shape).reshape(len(z), -1).astype(np.float32)


def refine_codes(model: _AtomicModel, images: ArrayLike, z: ArrayLike | None = None,
                 steps: int = 50, learning_rate: float = 0.05, rounds: int = 1,
                 merge_distance: float = 1.5, threshold: float = 0.25, gate: float = 2.0,
                 bank: dict[str, np.ndarray] | ArrayLike | None = None,
                 merge_tolerance: float | None = None, min_gain: float | None = None,
                 batch_size: int = 100) -> np.ndarray:
    """The refined codes of `images` (see the module's docstring).

    Args:
        model: an `AtomicAutoencoder`.
        images: array (N, H, W, 1) in [0, 1].
        z: array (N, k * d0) or None. Starting codes; None uses the encoder's.
        steps: int. Adam steps before the first round and after each round.
            0 with rounds=0 returns the starting codes.
        learning_rate: float. Adam's step size.
        rounds: int. Prune-and-reseed rounds (0: gradient steps only).
        merge_distance: float. Atoms closer than this (px) to a brighter one
            are splits and are switched off.
        threshold: float. Activity threshold of an atom's amplitude, and of
            a residual peak.
        gate: float. Largest distance (px) between a residual peak and the
            residual atom that reseeds it.
        bank: dict, array or None. Fallback candidates of reseeding: a dict
            from `atom_bank`, or images to build it from; None builds it
            from `images` themselves (when rounds > 0).
        merge_tolerance: float or None. None (the default) never merges;
            else each round ends with `merge` at this tolerance, repeated
            until nothing merges, then Adam steps on the live blocks: for
            extended atoms (strokes), whose pieces lie far apart and escape
            `merge_distance`.
        min_gain: float or None. None (the default) keeps every atom; else
            `drop` ends the refinement at this least gain: an atom stays
            only if the others, refitted, cannot draw more than
            1 - min_gain of its energy.
        batch_size: int. Images refined together.

    Returns:
        numpy array (N, k * d0).
    """
    import tensorflow as tf

    images = validation.check_images(images, size=model.image_shape[0])
    steps = validation.check_int("steps", steps, minimum=0)
    rounds = validation.check_int("rounds", rounds, minimum=0)
    merge_distance = validation.check_float("merge_distance", merge_distance, minimum=0.0)
    threshold = validation.check_float("threshold", threshold)
    gate = validation.check_float("gate", gate, minimum=0.0)
    if merge_tolerance is not None:
        merge_tolerance = validation.check_float("merge_tolerance", merge_tolerance,
                                                 minimum=0.0)
    if min_gain is not None:
        min_gain = validation.check_float("min_gain", min_gain, minimum=0.0)
    batch_size = validation.check_int("batch_size", batch_size, minimum=1)
    z = model.encode(images) if z is None else validation.check_codes(
        z, latent_dim=model.latent_dim)
    if len(z) != len(images):
        raise ValueError(f"`z` must have one code per image ({len(images)}). Received: z "
                         f"with {len(z)} rows")
    refine = CodeRefinement(model.decoder, steps=steps, learning_rate=learning_rate)
    if rounds and not isinstance(bank, dict):
        bank = atom_bank(model, images if bank is None else
                         validation.check_images(bank, name="bank",
                                                 size=model.image_shape[0]), threshold)

    def descend(codes, batch, mask=None):
        if not steps:
            return codes
        mask = None if mask is None else tf.constant(mask)
        return refine(tf.constant(batch), tf.constant(codes), mask).numpy()

    out = []
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size]
        codes = descend(np.asarray(z[start:start + batch_size], np.float32), batch)
        for _ in range(rounds):
            codes, kept, atoms = prune(model, codes, merge_distance, threshold)
            codes, _ = reseed(model, batch, codes, kept, atoms, threshold, gate, bank)
            codes = descend(codes, batch, mask=_live_mask(model, codes))
            if merge_tolerance is not None:
                for _ in range(model.k - 1):   # a stroke in three pieces needs two passes
                    codes, merged = merge(model, codes, merge_tolerance, threshold=threshold)
                    if not merged:
                        break
                codes = descend(codes, batch, mask=_live_mask(model, codes))
        if min_gain is not None:
            codes, _ = drop(model, batch, codes, min_gain, steps, learning_rate, threshold)
        out.append(codes)
    if not out:
        return np.zeros((0, model.latent_dim), np.float32)
    return np.concatenate(out).astype(np.float32)
