"""What inference of an atomic code needs: locating atoms, thresholds, the
gradient of the code's error, in numpy (analysis) and in tensor operations
(the refinement in the graph).

Newson and Traonmilin 2023 decode a code z = (z_1, ..., z_k) into
g(z_1) + ... + g(z_k) (section 2.1, eq. 3). Each atom g(z_i) is located by
its peak, refined to sub-pixel by the vertex of a parabola through the
log-intensities of the peak and its four neighbours (exact for a Gaussian);
its amplitude is the height of that vertex. The analysis of the family
(`geomae_tf.analysis.atomic`) uses these functions, never the reverse.

The gradient through the fixed decoder is taken with each backend's own
autodiff (`tf.GradientTape`, `jax.grad`, `torch.autograd`), the way Keras'
own trainers do, so refinement runs under TensorFlow, JAX and PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import keras
import numpy as np
from keras import ops

if TYPE_CHECKING:
    from geomae_tf.types import ArrayLike, Tensor

#: Atoms whose amplitude is at or below this are inactive: half the smallest
#: true spike amplitude (spike amplitudes are U(0.5, 1)).
ACTIVE_THRESHOLD = 0.25


# -- locating atoms (numpy) ------------------------------------------------------
def _parabola(left, centre, right):
    """Vertex of the parabola through (-1, left), (0, centre), (1, right).

    f(x) = centre + s x + q x^2 / 2 with s = (right - left) / 2 and
    q = left - 2 centre + right: the vertex is at -s / q and rises
    -s^2 / (2 q) above the centre. Where q >= 0 (no maximum) the centre is kept.
    """
    slope = 0.5 * (right - left)
    curvature = left - 2.0 * centre + right
    ok = curvature < 0
    safe = np.where(ok, curvature, -1.0)
    offset = np.where(ok, np.clip(-slope / safe, -0.5, 0.5), 0.0)
    gain = np.where(ok, -slope ** 2 / (2.0 * safe), 0.0)
    return offset, gain


def locate_atoms(atoms: ArrayLike, refine: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Position and amplitude of each atom (its peak, refined to sub-pixel).

    The peak pixel is refined along rows and columns by the vertex of the
    parabola through the log-intensities of the peak and its two neighbours
    (exact for a Gaussian: x * G(t) is a parabola in log scale); where a
    neighbour is not positive the parabola goes through the intensities
    instead. The amplitude is the height of the fitted peak (at least the
    peak pixel's value). `locate_atoms_ops` is the same in tensor operations.

    Args:
        atoms: array (N, k, H, W) or (N, k, H, W, 1).
        refine: bool. Sub-pixel refinement; False returns the peak pixel.

    Returns:
        (positions (N, k, 2) as `(row, column)`, amplitudes (N, k)).

    Example:
    >>> positions, amplitudes = locate_atoms(ae.atoms(images))
    """
    atoms = np.asarray(atoms, np.float64)
    if atoms.ndim == 5 and atoms.shape[-1] == 1:
        atoms = atoms[..., 0]
    if atoms.ndim != 4:
        raise ValueError(f"`atoms` must be shaped (N, k, H, W) or (N, k, H, W, 1). "
                         f"Received: atoms with shape {atoms.shape}")
    n, k, h, w = atoms.shape
    flat = atoms.reshape(n, k, h * w)
    peak = np.argmax(flat, axis=-1)
    rows, cols = np.divmod(peak, w)
    centre = np.take_along_axis(flat, peak[..., None], -1)[..., 0]
    positions = np.stack([rows, cols], axis=-1).astype(np.float64)
    amplitudes = centre.copy()
    if not refine:
        return positions, amplitudes

    def value(dr, dc):
        r = np.clip(rows + dr, 0, h - 1)
        c = np.clip(cols + dc, 0, w - 1)
        return np.take_along_axis(flat, (r * w + c)[..., None], -1)[..., 0]

    up, down, left, right = value(-1, 0), value(1, 0), value(0, -1), value(0, 1)
    inner_r = (rows > 0) & (rows < h - 1)
    inner_c = (cols > 0) & (cols < w - 1)
    use_log = (np.minimum.reduce([up, down, left, right]) > 0) & (centre > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lg = [np.log(np.where(use_log, v, 1.0)) for v in (up, centre, down, left, right)]
    dr_log, gr_log = _parabola(lg[0], lg[1], lg[2])
    dc_log, gc_log = _parabola(lg[3], lg[1], lg[4])
    dr_lin, gr_lin = _parabola(up, centre, down)
    dc_lin, gc_lin = _parabola(left, centre, right)
    dr = np.where(inner_r, np.where(use_log, dr_log, dr_lin), 0.0)
    dc = np.where(inner_c, np.where(use_log, dc_log, dc_lin), 0.0)
    positions[..., 0] += dr
    positions[..., 1] += dc
    log_height = np.where(inner_r, gr_log, 0.0) + np.where(inner_c, gc_log, 0.0)
    lin_height = np.where(inner_r, gr_lin, 0.0) + np.where(inner_c, gc_lin, 0.0)
    amplitudes = np.where(use_log, centre * np.exp(log_height), centre + lin_height)
    return positions, np.maximum(amplitudes, centre)


# -- locating atoms (tensor operations) -----------------------------------------
def _parabola_ops(left, centre, right):
    slope = 0.5 * (right - left)
    curvature = left - 2.0 * centre + right
    ok = curvature < 0
    safe = ops.where(ok, curvature, -1.0)
    offset = ops.where(ok, ops.clip(-slope / safe, -0.5, 0.5), 0.0)
    gain = ops.where(ok, -ops.square(slope) / (2.0 * safe), 0.0)
    return offset, gain


def locate_atoms_ops(atoms: Tensor) -> tuple[Tensor, Tensor]:
    """`locate_atoms` in tensor operations (any Keras backend, traceable).

    Args:
        atoms: tensor (N, k, H, W) float32.

    Returns:
        (positions (N, k, 2) as `(row, column)`, amplitudes (N, k)).
    """
    shape = ops.shape(atoms)
    h, w = int(atoms.shape[2]), int(atoms.shape[3])
    flat = ops.reshape(atoms, (shape[0], shape[1], h * w))
    peak = ops.cast(ops.argmax(flat, axis=-1), "int32")
    rows, cols = peak // w, peak % w

    def value(dr, dc):
        r = ops.clip(rows + dr, 0, h - 1)
        c = ops.clip(cols + dc, 0, w - 1)
        return ops.take_along_axis(flat, ops.expand_dims(r * w + c, -1), axis=-1)[..., 0]

    centre = value(0, 0)
    up, down, left, right = value(-1, 0), value(1, 0), value(0, -1), value(0, 1)
    inner_r = ops.logical_and(rows > 0, rows < h - 1)
    inner_c = ops.logical_and(cols > 0, cols < w - 1)
    smallest = ops.minimum(ops.minimum(up, down), ops.minimum(left, right))
    use_log = ops.logical_and(smallest > 0, centre > 0)
    lg = [ops.log(ops.where(use_log, v, 1.0)) for v in (up, centre, down, left, right)]
    dr_log, gr_log = _parabola_ops(lg[0], lg[1], lg[2])
    dc_log, gc_log = _parabola_ops(lg[3], lg[1], lg[4])
    dr_lin, gr_lin = _parabola_ops(up, centre, down)
    dc_lin, gc_lin = _parabola_ops(left, centre, right)
    dr = ops.where(inner_r, ops.where(use_log, dr_log, dr_lin), 0.0)
    dc = ops.where(inner_c, ops.where(use_log, dc_log, dc_lin), 0.0)
    positions = ops.stack([ops.cast(rows, atoms.dtype) + dr,
                           ops.cast(cols, atoms.dtype) + dc], axis=-1)
    log_height = ops.where(inner_r, gr_log, 0.0) + ops.where(inner_c, gc_log, 0.0)
    lin_height = ops.where(inner_r, gr_lin, 0.0) + ops.where(inner_c, gc_lin, 0.0)
    amplitudes = ops.where(use_log, centre * ops.exp(ops.minimum(log_height, 10.0)),
                           centre + lin_height)
    return positions, ops.maximum(amplitudes, centre)


# -- the gradient of a code's error, per backend ----------------------------------
def code_gradient(loss: Callable[[Tensor], Tensor], z: Tensor) -> Tensor:
    """d loss(z) / dz with the backend's own autodiff; `loss` returns a scalar.

    TensorFlow: `tf.GradientTape`; JAX: `jax.grad`; PyTorch:
    `torch.autograd.grad` (as Keras' trainers take their gradients). The
    variables `loss` reads are constants here: only z moves.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(z)
            value = loss(z)
        return tape.gradient(value, z)
    if backend == "jax":
        import jax

        return jax.grad(loss)(z)
    if backend == "torch":
        import torch

        with torch.enable_grad():
            z = z.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(loss(z), z)
        return grad.detach()
    raise NotImplementedError(f"Refinement takes gradients with the backend's autodiff: "
                              f"tensorflow, jax or torch. Received: KERAS_BACKEND={backend!r}")


def adam_steps(loss: Callable[[Tensor], Tensor], z: Tensor, steps: int, learning_rate: float,
               mask: Tensor | None = None, beta_1: float = 0.9, beta_2: float = 0.999,
               epsilon: float = 1e-7) -> Tensor:
    """`steps` Adam steps on z minimising `loss(z)`; coordinates where `mask`
    is 0 stay fixed. A fixed-count loop (`keras.ops.fori_loop`: a
    `tf.while_loop` under TensorFlow, `lax.fori_loop` under JAX). Since the
    loss is a sum over images and Adam keeps one state per coordinate, each
    image is refined independently of the others in the batch."""
    if steps <= 0:
        return z
    mask = ops.ones_like(z) if mask is None else ops.cast(mask, z.dtype)

    def body(t, state):
        z, m, v = state
        grad = code_gradient(loss, z) * mask
        m = beta_1 * m + (1.0 - beta_1) * grad
        v = beta_2 * v + (1.0 - beta_2) * ops.square(grad)
        step = ops.cast(t + 1, z.dtype)
        rate = learning_rate * ops.sqrt(1.0 - beta_2 ** step) / (1.0 - beta_1 ** step)
        return z - rate * m / (ops.sqrt(v) + epsilon), m, v

    zeros = ops.zeros_like(z)
    if keras.backend.backend() == "torch":   # eager: a plain loop
        state = (z, zeros, zeros)
        for t in range(steps):
            state = body(t, state)
        return ops.stop_gradient(state[0])
    z, _, _ = ops.fori_loop(0, steps, body, (z, zeros, zeros))
    return ops.stop_gradient(z)


def gauss_newton_steps(block: Callable[[Tensor], Tensor], images: Tensor, z: Tensor, k: int,
                       d0: int, steps: int, mask: Tensor | None = None, damping: float = 0.1,
                       step_size: float = 1.0, eps: float = 1e-2,
                       reuse_jacobian: bool = False, tolerance: float = 1.0) -> Tensor:
    """`steps` damped Gauss-Newton (Levenberg-Marquardt) steps on each block of z.

    The error ||x - sum_i g(z_i)||^2 is linearised around each block in
    turn, the others held (a block-Jacobi step): block i moves by
    (J_i^T J_i + damping diag(J_i^T J_i))^-1 J_i^T r, with r the image's
    residual and J_i the Jacobian of g at z_i (forward differences of size
    `eps`, so one step costs d0 + 1 passes of g and no gradient). With
    d0 = 3 parameters per atom this converges in a few steps where gradient
    steps take tens. The damping adapts per image (Levenberg-Marquardt): a
    step that raises an image's error is undone and its damping grows, so
    the error never rises (with the default `tolerance` of 1). With `reuse_jacobian`, the steps after the first keep
    its Jacobian (the chord method: one pass of g per step instead of
    d0 + 1). Blocks where `mask` (N, k) is 0 stay fixed.
    """
    if steps <= 0:
        return z
    shape = ops.shape(z)
    eye = ops.eye(d0, dtype=z.dtype)
    x = ops.reshape(images, (shape[0], -1))                                  # (N, P)
    mask = (ops.ones((shape[0], k), z.dtype) if mask is None
            else ops.cast(mask, z.dtype))[..., None]

    def evaluate(z):
        """Atoms (N, k, P), Jacobians (N, k, d0, P) and squared errors (N,) at z."""
        blocks = ops.reshape(z, (-1, k, 1, d0))
        probes = ops.concatenate([blocks, blocks + eps * eye[None, None]], axis=2)
        out = ops.reshape(block(ops.reshape(probes, (-1, d0))), (shape[0], k, d0 + 1, -1))
        atoms = out[:, :, 0]
        jac = (out[:, :, 1:] - atoms[:, :, None]) / eps
        return atoms, jac, ops.sum(ops.square(x - ops.sum(atoms, axis=1)), axis=1)

    def pick(take_new, new, old):
        shape_ = (-1,) + (1,) * (len(new.shape) - 1)
        return ops.where(ops.reshape(take_new, shape_), new, old)

    # Levenberg-Marquardt: a step that raises an image's error (beyond
    # `tolerance` times) is undone and that image's damping grows tenfold; an
    # accepted step lowers it.
    atoms, jac, err = evaluate(z)
    lam = damping * ops.ones_like(err)[:, None, None, None]
    for step in range(steps):
        if step:
            new_atoms, new_jac, new_err = (
                (ops.reshape(block(ops.reshape(z, (-1, d0))), (shape[0], k, -1)), jac, None)
                if reuse_jacobian else evaluate(z))
            if new_err is None:
                new_err = ops.sum(ops.square(x - ops.sum(new_atoms, axis=1)), axis=1)
            better = new_err <= tolerance * err
            z = pick(better, z, z_old)
            atoms, jac, err = (pick(better, new_atoms, atoms), pick(better, new_jac, jac),
                               ops.where(better, new_err, err))
            lam = pick(better, lam * 0.3, lam * 10.0)
        jtj = ops.einsum("nkap,nkbp->nkab", jac, jac)
        scale = ops.diagonal(jtj, axis1=-2, axis2=-1)
        lhs = jtj + lam * scale[..., None] * eye + 1e-6 * eye
        residual = x - ops.sum(atoms, axis=1)                                  # (N, P)
        jtr = ops.einsum("nkap,np->nka", jac, residual)
        delta = ops.solve(lhs, jtr[..., None])[..., 0]                         # (N, k, d0)
        z_old = z
        z = ops.reshape(ops.reshape(z, (-1, k, d0)) + step_size * mask * delta, shape)
    # the last step is kept only where it lowered the error
    last = ops.sum(ops.square(x - ops.sum(ops.reshape(
        block(ops.reshape(z, (-1, d0))), (shape[0], k, -1)), axis=1)), axis=1)
    return pick(last <= tolerance * err, z, z_old)
