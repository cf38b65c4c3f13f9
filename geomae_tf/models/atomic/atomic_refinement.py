"""`AtomicRefinement`: the refined atomic code of a batch, in tensor operations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras
import numpy as np
from keras import ops

from geomae_tf import validation
from geomae_tf.layers.atomic_decoder import AtomicDecoder
from geomae_tf.models.atomic.inference import (ACTIVE_THRESHOLD, adam_steps,
                                               gauss_newton_steps, locate_atoms_ops)

if TYPE_CHECKING:
    from geomae_tf.types import Tensor

#: The options of the refinement in the graph and their defaults.
DEFAULTS = {"steps": 3, "final_steps": None, "learning_rate": 0.05, "rounds": 2,
            "merge_distance": 1.5, "threshold": ACTIVE_THRESHOLD, "gate": 2.0,
            "solver": "gauss_newton", "damping": 0.1, "reuse_jacobian": False,
            "merge_tolerance": None, "merge_pairs": 4, "merge_passes": 2, "merge_steps": 4,
            "min_gain": None, "drop_passes": 2}


def _pairwise_distance(a, b):
    """|a - b| over the last axis (size 2), broadcast."""
    return ops.sqrt(ops.sum(ops.square(a - b), axis=-1) + 1e-12)


@keras.saving.register_keras_serializable(package="geomae_tf")
class AtomicRefinement(keras.layers.Layer):
    """Refines the codes of an atomic autoencoder for a whole batch, in the graph.

    Newson and Traonmilin 2023 decode z = (z_1, ..., z_k) into
    g(z_1) + ... + g(z_k) (section 2.1, eq. 3). The encoder's one-pass code
    splits some spikes over two blocks, merges close pairs into one and
    misses spikes in crowded images; with the decoder fixed, the code is
    improved as a greedy continuous fit with g in place of a point-spread
    function (the family of sliding Frank-Wolfe, Denoyelle et al. 2019):

    1. `steps` steps on ||f_D(z) - x||^2 over z: damped Gauss-Newton on
       each block (`solver="gauss_newton"`, a few passes of g per step, no
       gradient) or Adam with the backend's autodiff (`solver="adam"`).
    2. Pruning: an active atom (amplitude above `threshold`) whose centre
       lies within `merge_distance` of a brighter kept atom is a split; it
       and every inactive block are switched off (set to the off code, whose
       atom has nearly no energy).
    3. Reseeding: the peaks of the residual x - (sum of the kept atoms)
       above `threshold` (3x3 local maxima, by max-pooling), brightest first,
       fill the free blocks: each gets the code of the residual's own atom
       (the encoder applied to the residual) found within `gate` px of the
       peak, or else the code of the batch's encoder atom that is nearest to
       the peak and of the nearest amplitude.
    4. `final_steps` steps on the kept and reseeded blocks only.
    Steps 2-4 are one round, repeated `rounds` times; the last round ends
    with pruning again (an atom left on a brighter one's centre).
    For extended atoms (strokes, section 3), whose pieces lie far apart and
    escape pruning, two more moves follow when asked for:
    5. Merging (`merge_tolerance`): `merge_passes` passes, each joining the
       pairs of touching atoms that one block redraws (`_merge`), then
       `final_steps` solver steps on the live blocks.
    6. Dropping (`min_gain`): `drop_passes` passes, each switching off in
       every image the atom the others can best stand in for, when its gain
       is below `min_gain` (`_drop`), then `final_steps` solver steps.

    Every step is a batched tensor operation with fixed iteration counts and
    masks (no per-image loop, no numpy): the layer runs under TensorFlow,
    JAX and PyTorch (the gradient through the decoder taken with each
    backend's autodiff) and traces into a SavedModel. Atoms are located by
    `geomae_tf.models.atomic.inference.locate_atoms_ops`.

    Args:
        encoder: keras.Model. Images `(N, H, W, 1)` to codes `(N, k * d0)`.
        decoder: keras.Model. Codes to images, ending with an `AtomicDecoder`.
        steps: int >= 0. Solver steps before the first round. Defaults to 3.
        final_steps: int >= 0 or None. Solver steps after each round, on the
            live blocks; None: `steps`.
        learning_rate: float > 0. Adam's step size in code units. Defaults
            to 0.05.
        rounds: int >= 0. Prune-and-reseed rounds. Defaults to 2.
        merge_distance: float >= 0. Pruning radius (px). Defaults to 1.5.
        threshold: float. Activity threshold of an atom's amplitude and of a
            residual peak. Defaults to 0.25.
        gate: float >= 0. Largest distance (px) between a residual peak and
            the residual atom that reseeds it. Defaults to 2.
        solver: "gauss_newton" (the default) or "adam".
        damping: float >= 0. Levenberg-Marquardt damping of the Gauss-Newton
            steps (relative to the diagonal). Defaults to 0.1.
        reuse_jacobian: bool. Gauss-Newton steps after the first of a pass
            keep its Jacobian (cheaper, less exact). Defaults to False.
        merge_tolerance: float >= 0 or None. Largest relative error
            ||g(c) - a_i - a_j||^2 / ||a_i + a_j||^2 of a merge; None (the
            default) never merges.
        merge_pairs: int >= 1. Candidate pairs fitted per image and pass
            (those whose supports overlap most). Defaults to 4.
        merge_passes: int >= 0. Merging passes. Defaults to 2.
        merge_steps: int >= 0. Gauss-Newton steps of each pair's fit.
            Defaults to 4.
        min_gain: float >= 0 or None. Least gain (error growth without the
            atom, others refitted, over its energy) of a kept atom; None
            (the default) never drops.
        drop_passes: int >= 0. Dropping passes (one atom per image each).
            Defaults to 2.
        off_code: sequence of d0 floats or None. The code of a switched-off
            block; None finds it on first use (`off_code_of`).
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        images: tensor `(N, H, W, 1)`.
        z: tensor `(N, k * d0)` or None. Starting codes; None: the encoder's.

    Returns:
        `(codes (N, k * d0), live (N, k))`: the refined codes and 1 on the
        blocks that are not switched off.

    Example:
    >>> ae = geomae_tf.zoo.load("atomic_spikes_refined")
    >>> refine = AtomicRefinement(ae.encoder, ae.decoder, steps=20)
    >>> z, live = refine(images)
    >>> atoms = ae.atomic_decoder(z, return_atoms=True, block_mask=live)
    """

    def __init__(self, encoder: keras.Model, decoder: keras.Model, steps: int = 3,
                 final_steps: int | None = None, learning_rate: float = 0.05,
                 rounds: int = 2, merge_distance: float = 1.5,
                 threshold: float = ACTIVE_THRESHOLD, gate: float = 2.0,
                 solver: str = "gauss_newton", damping: float = 0.1,
                 reuse_jacobian: bool = False, merge_tolerance: float | None = None,
                 merge_pairs: int = 4, merge_passes: int = 2, merge_steps: int = 4,
                 min_gain: float | None = None, drop_passes: int = 2,
                 off_code: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name, value in (("encoder", encoder), ("decoder", decoder)):
            if not isinstance(value, keras.Model):
                raise TypeError(f"`{name}` must be a keras.Model. Received: {name} of type "
                                f"{type(value).__name__}")
        if not decoder.layers or not isinstance(decoder.layers[-1], AtomicDecoder):
            raise ValueError("`decoder` must end with an `AtomicDecoder` layer. Received: "
                             "a decoder whose last layer is "
                             f"{type(decoder.layers[-1]).__name__ if decoder.layers else None}")
        self.encoder = encoder
        self.decoder = decoder
        self.steps = validation.check_int("steps", steps, minimum=0)
        self.final_steps = self.steps if final_steps is None else validation.check_int(
            "final_steps", final_steps, minimum=0)
        self.learning_rate = validation.check_float("learning_rate", learning_rate,
                                                    minimum=0.0, exclusive_minimum=True)
        self.rounds = validation.check_int("rounds", rounds, minimum=0)
        self.merge_distance = validation.check_float("merge_distance", merge_distance,
                                                     minimum=0.0)
        self.threshold = validation.check_float("threshold", threshold)
        self.gate = validation.check_float("gate", gate, minimum=0.0)
        self.solver = validation.check_choice("solver", solver, {"adam", "gauss_newton"})
        self.damping = validation.check_float("damping", damping, minimum=0.0)
        if not isinstance(reuse_jacobian, bool):
            raise TypeError(f"`reuse_jacobian` must be a bool. Received: "
                            f"reuse_jacobian={reuse_jacobian!r}")
        self.reuse_jacobian = reuse_jacobian
        self.merge_tolerance = None if merge_tolerance is None else validation.check_float(
            "merge_tolerance", merge_tolerance, minimum=0.0)
        self.merge_pairs = validation.check_int("merge_pairs", merge_pairs, minimum=1)
        self.merge_passes = validation.check_int("merge_passes", merge_passes, minimum=0)
        self.merge_steps = validation.check_int("merge_steps", merge_steps, minimum=0)
        self.min_gain = None if min_gain is None else validation.check_float(
            "min_gain", min_gain, minimum=0.0)
        self.drop_passes = validation.check_int("drop_passes", drop_passes, minimum=0)
        self.off_code = None if off_code is None else [float(v) for v in off_code]
        if self.off_code is not None and len(self.off_code) != self.d0:
            raise ValueError(f"`off_code` must hold d0 = {self.d0} values. Received: "
                             f"off_code={off_code!r}")
        self._graph_call = None

    @property
    def atomic_decoder(self) -> AtomicDecoder:
        return self.decoder.layers[-1]

    @property
    def k(self) -> int:
        return self.atomic_decoder.k

    @property
    def d0(self) -> int:
        return self.atomic_decoder.d0

    def build(self, images_shape: tuple[int | None, ...],
              z_shape: tuple[int | None, ...] | None = None) -> None:
        self.built = True

    # -- the off code -----------------------------------------------------------
    def off_code_of(self, steps: int = 300, learning_rate: float = 0.05) -> np.ndarray:
        """A block code whose atom has (nearly) no energy: min ||g(c)||^2.

        The starts are the encoder's k block codes of a blank image; each is
        refined by Adam on ||g(c)||^2 and the one of least energy is kept.
        Found once (eagerly), then stored as the `off_code` option.
        """
        if self.off_code is None:
            block = self.atomic_decoder.block
            shape = tuple(self.encoder.inputs[0].shape[1:])
            blank = ops.zeros((1,) + shape)
            starts = ops.reshape(self.encoder(blank), (self.k, self.d0))

            def energy(c):
                return ops.sum(ops.square(block(c)))

            codes = adam_steps(energy, starts, steps, learning_rate)
            each = ops.sum(ops.square(block(codes)), axis=(1, 2, 3))
            best = int(np.argmin(ops.convert_to_numpy(each)))
            self.off_code = [float(v) for v in ops.convert_to_numpy(codes)[best]]
        return np.asarray(self.off_code, np.float32)

    # -- the refinement -----------------------------------------------------------
    def _atoms(self, z):
        return self.atomic_decoder(z, return_atoms=True)[..., 0]          # (N, k, H, W)

    def _prune(self, positions, amplitudes):
        """(N, k) bool: the active atoms that split no brighter kept atom (greedy,
        brightest first; k fixed steps over the whole batch)."""
        values, order = ops.top_k(amplitudes, self.k)                       # brightest first
        perm = ops.one_hot(ops.cast(order, "int32"), self.k, dtype=amplitudes.dtype)
        pos = ops.einsum("nrk,nkc->nrc", perm, positions)                    # sorted
        active = values > self.threshold
        kept = []
        for r in range(self.k):
            keep = active[:, r]
            if r:
                earlier = ops.stack(kept, axis=1)                             # (N, r)
                close = _pairwise_distance(pos[:, r:r + 1], pos[:, :r]) < self.merge_distance
                keep = ops.logical_and(keep, ops.logical_not(
                    ops.any(ops.logical_and(close, earlier), axis=1)))
            kept.append(keep)
        kept = ops.cast(ops.stack(kept, axis=1), amplitudes.dtype)          # (N, k) sorted
        # Back to the blocks' order: block order[r] takes kept[r].
        return ops.einsum("nrk,nr->nk", perm, kept) > 0.5

    def _reseed(self, images, blocks, atoms, kept, bank):
        """Gives the free blocks the codes of the residual's peaks, brightest first."""
        k, d0 = self.k, self.d0
        h, w = int(atoms.shape[2]), int(atoms.shape[3])
        keptf = ops.cast(kept, atoms.dtype)
        residual = images[..., 0] - ops.sum(atoms * keptf[:, :, None, None], axis=1)
        pooled = ops.max_pool(residual[..., None], 3, strides=1, padding="same")[..., 0]
        is_peak = ops.logical_and(residual >= pooled, residual > self.threshold)
        score = ops.reshape(ops.where(is_peak, residual, -1.0), (-1, h * w))
        values, index = ops.top_k(score, k)                                  # (N, k)
        index = ops.cast(index, "int32")
        peaks = ops.cast(ops.stack([index // w, index % w], axis=-1), atoms.dtype)
        valid = values > self.threshold
        # The residual's own atoms: the encoder applied to the residual.
        rcodes = self.encoder(ops.clip(residual, 0.0, 1.0)[..., None])
        rblocks = ops.reshape(rcodes, (-1, k, d0))
        rpos, ramp = locate_atoms_ops(self._atoms(rcodes))
        bank_codes, bank_pos, bank_amp = bank
        far = ops.cast(1e6, atoms.dtype)
        used = ops.zeros_like(kept)
        chosen = []
        for t in range(k):
            peak = peaks[:, t]                                                # (N, 2)
            dist = _pairwise_distance(rpos, peak[:, None])                    # (N, k)
            free = ops.logical_and(ramp > self.threshold, ops.logical_not(used))
            dist = ops.where(free, dist, far)
            best = ops.one_hot(ops.cast(ops.argmin(dist, axis=1), "int32"), k,
                               dtype=atoms.dtype)                                # (N, k)
            near = ops.logical_and(valid[:, t], ops.min(dist, axis=1) <= self.gate)
            used = ops.logical_or(used, ops.logical_and(best > 0.5, near[:, None]))
            own = ops.einsum("nk,nkd->nd", best, rblocks)
            cost = (_pairwise_distance(bank_pos[None], peak[:, None])
                    + 0.5 * ops.abs(bank_amp[None] - values[:, t:t + 1]))       # (N, M)
            cost = ops.where(bank_amp[None] > self.threshold, cost, far)
            other = ops.take(bank_codes, ops.argmin(cost, axis=1), axis=0)
            chosen.append(ops.where(near[:, None], own, other))
        chosen = ops.stack(chosen, axis=1)                                   # (N, k, d0)
        free = ops.logical_not(kept)
        rank = ops.cumsum(ops.cast(free, "int32"), axis=1) - 1
        count = ops.sum(ops.cast(valid, "int32"), axis=1, keepdims=True)
        assign = ops.logical_and(free, rank < count)
        seeds = ops.einsum("njt,ntd->njd", ops.one_hot(ops.clip(rank, 0, k - 1), k,
                                                       dtype=chosen.dtype), chosen)
        return ops.where(assign[..., None], seeds, blocks), ops.logical_or(kept, assign)

    # -- merging and dropping (extended atoms: strokes) ----------------------------
    def _block_images(self, blocks):
        """g of each block: (N, k, d0) to (N, k, H * W)."""
        n = ops.shape(blocks)[0]
        return ops.reshape(self.atomic_decoder.block(ops.reshape(blocks, (-1, self.d0))),
                           (n, self.k, -1))

    def _merge(self, blocks, live, off):
        """One merging pass: pairs of touching live atoms that ONE block redraws.

        For each image, the `merge_pairs` pairs of active atoms whose supports
        (pixels above 10% of the peak, grown by 2 px) overlap most are
        candidates. A single block code c is fitted to each pair's sum
        a_i + a_j (`merge_steps` Gauss-Newton steps, started at z_i and at
        z_j, the better kept); where ||g(c) - a_i - a_j||^2 / ||a_i + a_j||^2
        is at most `merge_tolerance`, block i takes c and block j is switched
        off, the best fits first, each atom merged at most once per pass.
        Fixed counts and masks: k(k - 1) / 2 pairs are scored, `merge_pairs`
        fitted, whatever the image.
        """
        k, d0, pairs = self.k, self.d0, min(self.merge_pairs, self.k * (self.k - 1) // 2)
        n = ops.shape(blocks)[0]
        h, w = (int(v) for v in self.encoder.inputs[0].shape[1:3])
        livef = ops.cast(live, blocks.dtype)
        atoms = self._block_images(blocks) * livef[..., None]                # (N, k, P)
        peak = ops.max(atoms, axis=-1)
        active = ops.logical_and(live, peak > self.threshold)
        level = 0.1 * ops.maximum(peak, self.threshold)
        support = ops.cast(ops.logical_and(atoms > level[..., None], active[..., None]),
                           blocks.dtype)
        grown = ops.max_pool(ops.reshape(support, (-1, h, w, 1)), 5, strides=1,
                             padding="same")
        grown = ops.reshape(grown, (n, k, h * w))
        overlap = ops.einsum("nap,nbp->nab", grown, grown)                   # (N, k, k)
        upper = ops.convert_to_tensor(np.triu(np.ones((k, k), bool), 1))
        score = ops.where(ops.logical_and(upper[None], overlap > 0), overlap, -1.0)
        values, index = ops.top_k(ops.reshape(score, (n, k * k)), pairs)      # (N, pairs)
        index = ops.cast(index, "int32")
        valid = values > 0
        first = ops.one_hot(index // k, k, dtype=blocks.dtype)                # (N, pairs, k)
        second = ops.one_hot(index % k, k, dtype=blocks.dtype)
        target = ops.einsum("nrk,nkp->nrp", first + second, atoms)           # (N, pairs, P)
        starts = ops.concatenate([ops.einsum("nrk,nkd->nrd", first, blocks),
                                  ops.einsum("nrk,nkd->nrd", second, blocks)], axis=1)
        targets = ops.concatenate([target, target], axis=1)                   # (N, 2 pairs, P)
        codes = gauss_newton_steps(self.atomic_decoder.block,
                                   ops.reshape(targets, (-1, h, w, 1)),
                                   ops.reshape(starts, (-1, d0)), 1, d0, self.merge_steps,
                                   damping=self.damping)
        fit = ops.reshape(self.atomic_decoder.block(codes), (n, 2 * pairs, h * w))
        codes = ops.reshape(codes, (n, 2 * pairs, d0))
        error = (ops.sum(ops.square(fit - targets), axis=-1)
                 / ops.maximum(ops.sum(ops.square(targets), axis=-1), 1e-12))
        better = error[:, :pairs] <= error[:, pairs:]
        error = ops.where(better, error[:, :pairs], error[:, pairs:])         # (N, pairs)
        codes = ops.where(better[..., None], codes[:, :pairs], codes[:, pairs:])
        good = ops.logical_and(valid, error <= self.merge_tolerance)
        # The best fits first: `pairs` fixed steps over the sorted candidates.
        _, order = ops.top_k(ops.where(good, -error, -1e9), pairs)
        rank = ops.one_hot(ops.cast(order, "int32"), pairs, dtype=blocks.dtype)  # (N, r, pairs)
        done = ops.zeros_like(livef)
        for r in range(pairs):
            pick = rank[:, r]                                                  # (N, pairs)
            a = ops.einsum("nq,nqk->nk", pick, first)
            b = ops.einsum("nq,nqk->nk", pick, second)
            ok = ops.logical_and(ops.sum(pick * ops.cast(good, pick.dtype), axis=1) > 0.5,
                                 ops.sum((a + b) * done, axis=1) < 0.5)        # (N,)
            okf = ops.cast(ok, blocks.dtype)[:, None]
            code = ops.einsum("nq,nqd->nd", pick, codes)
            blocks = ops.where((a * okf)[..., None] > 0.5, code[:, None], blocks)
            blocks = ops.where((b * okf)[..., None] > 0.5, off, blocks)
            live = ops.logical_and(live, ops.logical_not(b * okf > 0.5))
            done = done + (a + b) * okf
        return blocks, live

    def _drop(self, images, blocks, live, off):
        """One dropping pass: switches off, in each image, the live atom that the
        others can best stand in for, when its gain is below `min_gain`.

        Inactive blocks (peak at or below `threshold`) are switched off first.
        The gain of an active atom a_j is what the image's squared error grows
        by when block j is switched off and the other live blocks are refitted,
        as a share of ||a_j||^2. The refit is one joint Levenberg-Marquardt
        step of all the other blocks (their Jacobians by forward differences,
        as `gauss_newton_steps`), which ranks the k candidates of an image
        in one batched solve; the best candidate's gain is then measured
        through the decoder, refitted or not (the smaller error), and it is
        switched off if that gain is below `min_gain`: the backward step of a
        greedy sparse fit, each atom costing `min_gain` times its energy.
        """
        k, d0, eps = self.k, self.d0, 1e-2
        n = ops.shape(blocks)[0]
        x = ops.reshape(images, (n, -1))                                       # (N, P)
        eye = ops.eye(d0, dtype=blocks.dtype)
        probes = ops.concatenate([blocks[:, :, None], blocks[:, :, None] + eps * eye[None, None]],
                                 axis=2)                                       # (N, k, d0+1, d0)
        out = ops.reshape(self.atomic_decoder.block(ops.reshape(probes, (-1, d0))),
                          (n, k, d0 + 1, -1))
        atoms = out[:, :, 0]
        peak = ops.max(atoms, axis=-1)
        live = ops.logical_and(live, peak > self.threshold)
        livef = ops.cast(live, blocks.dtype)
        blocks = ops.where(live[..., None], blocks, off)
        atoms = atoms * livef[..., None]                                       # (N, k, P)
        jac = (out[:, :, 1:] - out[:, :, :1]) * (livef[..., None, None] / eps)  # (N, k, d0, P)
        residual = x - ops.sum(atoms, axis=1)
        error = ops.sum(ops.square(residual), axis=1)                          # (N,)
        energy = ops.sum(ops.square(atoms), axis=-1)                           # (N, k)
        size = k * d0
        flat = ops.reshape(jac, (n, size, -1))                                 # (N, K, P)
        gram = ops.einsum("nap,nbp->nab", flat, flat)                          # (N, K, K)
        jr = ops.einsum("nap,np->na", flat, residual)                          # (N, K)
        ja = ops.einsum("nap,njp->nja", flat, atoms)                           # (N, k, K)
        rhs = jr[:, None] + ja                                                 # (N, j, K)
        # Candidate j refits the live blocks other than j: mask (N, j, K).
        others = ops.logical_and(live[:, None], ops.logical_not(ops.eye(k, dtype="bool")[None]))
        mask = ops.repeat(ops.cast(others, blocks.dtype), d0, axis=2)
        eye_k = ops.eye(size, dtype=blocks.dtype)
        diag = ops.diagonal(gram, axis1=-2, axis2=-1)                          # (N, K)
        lhs = (gram[:, None] + self.damping * (diag[:, None, None] * eye_k[None, None])
               ) * mask[..., None] * mask[..., None, :] + (1.0 - mask)[..., None] * eye_k
        lhs = lhs + 1e-6 * eye_k
        delta = ops.solve(lhs, (rhs * mask)[..., None])[..., 0] * mask        # (N, j, K)
        bare = error[:, None] + 2.0 * ops.einsum("np,njp->nj", residual, atoms) + energy
        model = (bare - 2.0 * ops.sum(delta * rhs, axis=-1)
                 + ops.einsum("nja,nab,njb->nj", delta, gram, delta))
        gain = (ops.minimum(model, bare) - error[:, None]) / ops.maximum(energy, 1e-12)
        active = ops.logical_and(live, energy > 0)
        gain = ops.where(active, gain, 1e9)
        best = ops.one_hot(ops.cast(ops.argmin(gain, axis=1), "int32"), k,
                           dtype=blocks.dtype)                                 # (N, k)
        # The best candidate, measured through the decoder.
        step = ops.reshape(ops.einsum("nj,nja->na", best, delta), (n, k, d0))
        kept = ops.logical_and(live, best < 0.5)
        keptf = ops.cast(kept, blocks.dtype)
        refit = ops.where(kept[..., None], blocks + step, off)
        refit_error = ops.sum(ops.square(x - ops.sum(
            self._block_images(refit) * keptf[..., None], axis=1)), axis=1)
        bare_error = ops.sum(bare * best, axis=1)
        use_refit = refit_error < bare_error
        chosen = ops.minimum(refit_error, bare_error)
        gain = (chosen - error) / ops.maximum(ops.sum(energy * best, axis=1), 1e-12)
        drop = ops.logical_and(ops.any(active, axis=1), gain < self.min_gain)  # (N,)
        dropped = ops.where(use_refit[:, None, None], refit,
                            ops.where(kept[..., None], blocks, off))
        blocks = ops.where(drop[:, None, None], dropped, blocks)
        live = ops.where(drop[:, None], kept, live)
        return blocks, live

    def _descend(self, images, loss, z, steps, live):
        """`steps` steps of the solver on the blocks where `live` (N, k) is 1."""
        if self.solver == "gauss_newton":
            return gauss_newton_steps(self.atomic_decoder.block, images, z, self.k, self.d0,
                                      steps, mask=live, damping=self.damping,
                                      reuse_jacobian=self.reuse_jacobian)
        mask = None if live is None else ops.repeat(live, self.d0, axis=1)
        return adam_steps(loss, z, steps, self.learning_rate, mask=mask)

    def _refine(self, images, z):
        k, d0 = self.k, self.d0
        off = ops.convert_to_tensor(self.off_code_of(), dtype=z.dtype)

        def loss(codes):
            return ops.sum(ops.square(self.decoder(codes) - images))

        # The bank of fallback codes: the encoder's active atoms of the batch,
        # plus the off code (so that it is never empty).
        start_atoms = self._atoms(z)
        spos, samp = locate_atoms_ops(start_atoms)
        bank = (ops.concatenate([ops.reshape(z, (-1, d0)), off[None]], axis=0),
                ops.concatenate([ops.reshape(spos, (-1, 2)), ops.zeros((1, 2), z.dtype)], 0),
                ops.concatenate([ops.reshape(samp, (-1,)), ops.ones((1,), z.dtype)], 0))
        z = self._descend(images, loss, z, self.steps, None)
        live = ops.ones((ops.shape(z)[0], k), dtype="bool")
        for _ in range(self.rounds):
            atoms = self._atoms(z)
            positions, amplitudes = locate_atoms_ops(atoms)
            kept = self._prune(positions, amplitudes)
            blocks = ops.where(kept[..., None], ops.reshape(z, (-1, k, d0)), off)
            blocks, live = self._reseed(images, blocks, atoms, kept, bank)
            z = ops.reshape(blocks, (-1, k * d0))
            z = self._descend(images, loss, z, self.final_steps, ops.cast(live, z.dtype))
        if self.rounds:
            # The last steps can leave an atom on a brighter one's centre: pruned again.
            positions, amplitudes = locate_atoms_ops(self._atoms(z))
            live = ops.logical_and(live, self._prune(positions, amplitudes))
        if self.merge_tolerance is not None or self.min_gain is not None:
            blocks = ops.where(live[..., None], ops.reshape(z, (-1, k, d0)), off)
            if self.merge_tolerance is not None:
                for _ in range(self.merge_passes):
                    blocks, live = self._merge(blocks, live, off)
                z = self._descend(images, loss, ops.reshape(blocks, (-1, k * d0)),
                                  self.final_steps, ops.cast(live, z.dtype))
                blocks = ops.reshape(z, (-1, k, d0))
            if self.min_gain is not None and self.drop_passes:
                for _ in range(self.drop_passes):
                    blocks, live = self._drop(images, blocks, live, off)
                z = self._descend(images, loss, ops.reshape(blocks, (-1, k * d0)),
                                  self.final_steps, ops.cast(live, z.dtype))
            z = ops.reshape(z, (-1, k * d0))
        return z, ops.cast(live, z.dtype)

    def call(self, images: Tensor, z: Tensor | None = None) -> tuple[Tensor, Tensor]:
        images = ops.cast(images, self.compute_dtype)
        z = self.encoder(images) if z is None else ops.cast(z, self.compute_dtype)
        self.off_code_of()
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            if tf.executing_eagerly():
                # One traced graph per layer (any batch size), reused by every call.
                if self._graph_call is None:
                    shape = tuple(self.encoder.inputs[0].shape[1:])
                    self._graph_call = tf.function(self._refine, input_signature=[
                        tf.TensorSpec((None,) + shape, self.compute_dtype),
                        tf.TensorSpec((None, self.k * self.d0), self.compute_dtype)])
                return self._graph_call(images, z)
        return self._refine(images, z)

    def compute_output_shape(self, images_shape: tuple[int | None, ...],
                             z_shape: tuple[int | None, ...] | None = None
                             ) -> tuple[tuple[int | None, ...], tuple[int | None, ...]]:
        return (images_shape[0], self.k * self.d0), (images_shape[0], self.k)

    def options(self) -> dict[str, Any]:
        """The refinement's options (what `AtomicAutoencoder(refine=...)` stores)."""
        return {"steps": self.steps, "final_steps": self.final_steps,
                "learning_rate": self.learning_rate, "rounds": self.rounds,
                "merge_distance": self.merge_distance, "threshold": self.threshold,
                "gate": self.gate, "solver": self.solver, "damping": self.damping,
                "reuse_jacobian": self.reuse_jacobian, "merge_tolerance": self.merge_tolerance,
                "merge_pairs": self.merge_pairs, "merge_passes": self.merge_passes,
                "merge_steps": self.merge_steps, "min_gain": self.min_gain,
                "drop_passes": self.drop_passes}

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            **self.options(),
            "off_code": self.off_code,
        })
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> AtomicRefinement:
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        config["decoder"] = keras.saving.deserialize_keras_object(config["decoder"])
        return cls(**config)
