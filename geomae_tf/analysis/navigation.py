"""Navigating a latent space: one coordinate at a time, as GIFs and PNG strips.

A sweep (`geomae_tf.analysis.latent.sweep_codes`, the one every family's
figures use) moves ONE latent coordinate from its lower to its upper bound while
the other coordinates stay at a reference code (the code of one training
image, or the mean of the training codes), and decodes every step. The
bounds are those of the training codes: by default their 1st and 99th
percentiles (`quantile=0.01`; `quantile=0` gives the minimum and maximum),
as in the latent navigation of Newson and Traonmilin 2023, section 2.3 and
Figure 6 (atomic blocks), the PCA-AE talks (slides 49-50) and JMIV 2020,
Figure 3 (the disk code).

Each swept coordinate gives an animated GIF (one frame per step, written by
`matplotlib.animation.FuncAnimation` and `PillowWriter`) and a PNG strip;
`navigate` also saves the sweep (codes, values, decoded outputs) as `.npz`.
In a GIF frame the decoded image fills the bottom `H * scale` rows, each
pixel a `scale x scale` square in the grey colormap on [0, 1] (8-bit), under
a band of `FRAME_BAND` rows that holds the step and the coordinate's value.

Coordinates of an atomic autoencoder are counted as its `block=` arguments
are in `geomae_tf.analysis.atomic`: from 0, block `i` holding coordinates
`i * d0 .. i * d0 + d0 - 1` of the code (the paper's z_{i+1}).

The figure helpers build `matplotlib.figure.Figure` objects directly (no
pyplot, no backend switch) and return them.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.animation import FuncAnimation, PillowWriter
from matplotlib.figure import Figure

from geomae_tf import validation
from geomae_tf.analysis.latent import DEFAULT_STEPS, latent_bounds, sweep_codes
from geomae_tf.analysis.plotting import save_figure
from geomae_tf.io import atomic_path

if TYPE_CHECKING:
    import keras

    from geomae_tf.models.atomic.atomic_model import AtomicAutoencoder
    from geomae_tf.types import ArrayLike, PathLike

# DEFAULT_STEPS (steps per sweep: frames per GIF) and the sweep's codes
# (`sweep_codes`) are `geomae_tf.analysis.latent`'s, shared by every family.
#: Bounds of a coordinate: its `quantile` and `1 - quantile` over training codes.
DEFAULT_QUANTILE = 0.01
#: Rows of a GIF frame above the image (the step and the value).
FRAME_BAND = 24
#: A GIF frame is about this many pixels wide (the image scaled by an integer).
FRAME_WIDTH = 256


# -- what a model decodes ----------------------------------------------------
def _is_autoencoder(model):
    return hasattr(model, "encode") and hasattr(model, "decode")


def _is_code_decoder(model):
    """A plain Keras model from a code `(N, d)` (e.g. the position decoder)."""
    inputs = getattr(model, "inputs", None)
    return (not _is_autoencoder(model) and inputs is not None and len(inputs) == 1
            and len(inputs[0].shape) == 2)


def check_navigable(model: keras.Model) -> keras.Model:
    """`model` if it decodes codes: an autoencoder or a code -> output model."""
    if not (_is_autoencoder(model) or _is_code_decoder(model)):
        raise TypeError(f"`model` must be an autoencoder (with encode and decode) or a model "
                        f"from codes (N, latent_dim) to outputs, such as the position "
                        f"decoder. Received: model of type {type(model).__name__}")
    return model


def latent_dim_of(model: keras.Model) -> int:
    """The number of latent coordinates `model` decodes."""
    check_navigable(model)
    if _is_autoencoder(model):
        return int(model.latent_dim)
    return int(model.inputs[0].shape[-1])


def _is_atomic(model):
    return hasattr(model, "block") and hasattr(model, "d0") and hasattr(model, "k")


def decode(model: keras.Model, codes: ArrayLike, atom_block: int | None = None) -> np.ndarray:
    """Decodes `codes` (N, latent_dim) with `model`, as a numpy array.

    Args:
        model: an autoencoder, or a model from codes to outputs.
        codes: array (N, latent_dim).
        atom_block: None, or (atomic autoencoders only) an int: decode the
            atom g(z_i) of block `i` alone instead of the whole image.

    Returns:
        Images (N, H, W, 1) or signals (N, n, 1).
    """
    codes = validation.check_codes(codes, name="codes", latent_dim=latent_dim_of(model))
    if atom_block is not None:
        _check_atomic(model)
        atom_block = validation.check_int("atom_block", atom_block, minimum=0,
                                          maximum=model.k - 1)
        d0 = model.d0
        return np.asarray(model.block.predict(codes[:, atom_block * d0:(atom_block + 1) * d0],
                                              batch_size=256, verbose=0))
    if _is_autoencoder(model):
        return np.asarray(model.decode(codes))
    return np.asarray(model.predict(codes, batch_size=256, verbose=0))


def _check_atomic(model):
    if not _is_atomic(model):
        raise TypeError(f"`model` must be an atomic autoencoder (with blocks) to navigate "
                        f"one block. Received: model of type {type(model).__name__}")
    return model


# -- the codes of a sweep ---------------------------------------------------------
def block_axes(model: AtomicAutoencoder, block: int) -> list[int]:
    """The code coordinates of atomic block `block` (counted from 0)."""
    _check_atomic(model)
    block = validation.check_int("block", block, minimum=0, maximum=model.k - 1)
    return list(range(block * model.d0, (block + 1) * model.d0))


def axis_label(model: keras.Model, axis: int) -> str:
    """`z[3]`, or `z[6] (block 2, coord 0)` for an atomic autoencoder."""
    if _is_atomic(model):
        return f"z[{axis}] (block {axis // model.d0}, coord {axis % model.d0})"
    return f"z[{axis}]"


def brightest_block(model: AtomicAutoencoder, code: ArrayLike) -> int:
    """The block whose atom g(z_i) has the highest peak for `code` (latent_dim,)."""
    _check_atomic(model)
    atoms = model.atoms_from_codes(np.asarray(code, np.float32).reshape(1, -1))
    return int(np.argmax(atoms.max(axis=(2, 3, 4))[0]))


def reference_code(codes: ArrayLike, reference: int | str | ArrayLike = 0) -> np.ndarray:
    """The code the other coordinates stay at during a sweep.

    Args:
        codes: array (N, latent_dim). Training codes.
        reference: int (the code of training sample `reference`), "mean" (the
            mean training code) or an array (latent_dim,) used as it is.

    Returns:
        float32 array (latent_dim,).
    """
    codes = validation.check_codes(codes, name="codes")
    if isinstance(reference, str):
        validation.check_choice("reference", reference, {"mean"})
        return codes.mean(axis=0).astype(np.float32)
    if isinstance(reference, (int, np.integer)) and not isinstance(reference, bool):
        index = validation.check_int("reference", int(reference), minimum=0,
                                     maximum=len(codes) - 1)
        return codes[index].copy()
    code = np.asarray(reference, np.float32).reshape(-1)
    if code.shape != (codes.shape[1],):
        raise ValueError(f"`reference` must be an int, \"mean\" or a code of "
                         f"{codes.shape[1]} values. Received: reference with shape "
                         f"{np.shape(reference)}")
    return code


def sweep(model: keras.Model, reference: ArrayLike, bounds: Sequence[ArrayLike],
          axes: Sequence[int], steps: int = DEFAULT_STEPS,
          atom_block: int | None = None) -> dict[str, np.ndarray]:
    """Decodes the sweep of each axis of `axes` (see `sweep_codes`).

    Args:
        model: an autoencoder or a model from codes to outputs.
        reference: array (latent_dim,). See `reference_code`.
        bounds: (low, high), e.g. from `geomae_tf.analysis.latent.latent_bounds`.
        axes: list of int. Coordinates to sweep.
        steps: int. Values per axis.
        atom_block: None or int. See `decode`.

    Returns:
        dict: `axes` (A,), `codes` (A, steps, latent_dim), `values` (A, steps)
        and `outputs` (A, steps, ...): `outputs[a, s]` is the decoding of
        `codes[a, s]`.
    """
    codes, values = sweep_codes(reference, bounds[0], bounds[1], axes, steps)
    n_axes, steps, latent_dim = codes.shape
    outputs = decode(model, codes.reshape(-1, latent_dim), atom_block=atom_block)
    return {"axes": np.asarray(axes), "codes": codes, "values": values,
            "outputs": outputs.reshape((n_axes, steps) + outputs.shape[1:])}


# -- figures -------------------------------------------------------------------
def _is_image(output):
    return np.ndim(output) == 3


def frame_scale(width: int) -> int:
    """The integer magnification of an image `width` pixels wide in a GIF frame."""
    return max(1, int(round(FRAME_WIDTH / int(width))))


def strip_figure(outputs: ArrayLike, values: np.ndarray | Sequence[float], label: str,
                 title: str | None = None) -> Figure:
    """A row of the decoded outputs of one sweep, each titled by its value.

    Args:
        outputs: array (steps, H, W, 1) of images, or (steps, n, 1) of signals.
        values: array (steps,). The swept coordinate's values.
        label: str. The coordinate's name.
        title: str or None. The figure's title.

    Returns:
        A `matplotlib.figure.Figure`.
    """
    outputs = np.asarray(outputs)
    steps = len(outputs)
    fig = Figure(figsize=(1.1 * steps, 1.5 if _is_image(outputs[0]) else 1.3))
    axes = fig.subplots(1, steps, squeeze=False)[0]
    for s, ax in enumerate(axes):
        if _is_image(outputs[s]):
            ax.imshow(outputs[s][..., 0], cmap="gray", vmin=0.0, vmax=1.0,
                      interpolation="nearest")
        else:
            ax.plot(outputs[s][:, 0], lw=0.8)
            ax.set_ylim(min(-0.1, float(outputs.min())), max(1.1, float(outputs.max())))
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{values[s]:+.2f}", fontsize=6)
    axes[0].set_ylabel(label, fontsize=6)
    fig.suptitle(title or f"sweep of {label}", fontsize=8)
    return fig


def sweep_figure(outputs: ArrayLike, values: np.ndarray, labels: Sequence[str],
                 title: str | None = None) -> Figure:
    """All the sweeps of `sweep` in one figure: one row per coordinate.

    Args:
        outputs: array (A, steps, H, W, 1). Decoded images (`sweep(...)["outputs"]`).
        values: array (A, steps). The swept values.
        labels: list of A str. The coordinates' names.
        title: str or None.

    Returns:
        A `matplotlib.figure.Figure`.
    """
    outputs = np.asarray(outputs)
    n_axes, steps = outputs.shape[:2]
    if len(labels) != n_axes or not _is_image(outputs[0, 0]):
        raise ValueError(f"`outputs` must be images shaped (A, steps, H, W, 1) and `labels` "
                         f"hold A names. Received: outputs {outputs.shape}, "
                         f"{len(labels)} labels")
    fig = Figure(figsize=(1.0 * steps, 1.1 * n_axes + 0.4))
    axes = fig.subplots(n_axes, steps, squeeze=False)
    for a in range(n_axes):
        for s in range(steps):
            ax = axes[a, s]
            ax.imshow(outputs[a, s][..., 0], cmap="gray", vmin=0.0, vmax=1.0,
                      interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{values[a, s]:+.2f}", fontsize=6)
        axes[a, 0].set_ylabel(labels[a], fontsize=6)
    if title:
        fig.suptitle(title, fontsize=8)
    return fig


def sweep_animation(outputs: ArrayLike, values: ArrayLike,
                    label: str) -> tuple[Figure, FuncAnimation]:
    """The animation of one sweep: one frame per step.

    Images fill the bottom of the frame at `frame_scale(W)` screen pixels
    per image pixel (nearest neighbour, grey on [0, 1]); signals are drawn
    as curves. A band of `FRAME_BAND` rows above shows the step and the
    value (every frame differs, so no frame is merged into the next).

    Returns:
        (figure, `matplotlib.animation.FuncAnimation`), to save with
        `PillowWriter` at `dpi=100` (see `save_gif`).
    """
    outputs = np.asarray(outputs)
    values = np.asarray(values)
    steps = len(outputs)
    image = _is_image(outputs[0])
    if image:
        h, w = outputs.shape[1:3]
        scale = frame_scale(w)
        width, height = w * scale, h * scale
    else:
        width, height = FRAME_WIDTH, FRAME_WIDTH // 2
    total = height + FRAME_BAND
    fig = Figure(figsize=(width / 100, total / 100), dpi=100)
    ax = fig.add_axes((0.0, 0.0, 1.0, height / total))
    if image:
        ax.set_axis_off()
        artist = ax.imshow(outputs[0][..., 0], cmap="gray", vmin=0.0, vmax=1.0,
                           interpolation="nearest")
    else:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylim(min(-0.1, float(outputs.min())), max(1.1, float(outputs.max())))
        (artist,) = ax.plot(outputs[0][:, 0], lw=1.0)
    text = fig.text(0.5, 1.0 - 0.5 * FRAME_BAND / total, "", ha="center", va="center",
                    fontsize=7)

    def draw(step):
        if image:
            artist.set_data(outputs[step][..., 0])
        else:
            artist.set_ydata(outputs[step][:, 0])
        text.set_text(f"{step + 1}/{steps}  {label} = {values[step]:+.3f}")
        return artist, text

    return fig, FuncAnimation(fig, draw, frames=steps, blit=False)


def save_gif(outputs: ArrayLike, values: ArrayLike, path: PathLike, label: str,
             fps: float = 8) -> Path:
    """Writes the animated GIF of one sweep (see `sweep_animation`) atomically.

    Returns:
        The path written.
    """
    fps = validation.check_float("fps", fps, minimum=0.0, exclusive_minimum=True)
    fig, animation = sweep_animation(outputs, values, label)
    with atomic_path(path, suffix=".gif") as tmp:
        animation.save(tmp, writer=PillowWriter(fps=fps), dpi=100)
    return Path(path)


def save_png(fig: Figure, path: PathLike, dpi: int = 100) -> Path:
    """Writes `fig` to `path` as a PNG atomically (`plotting.save_figure` into a
    temporary sibling, then moved into place); returns the path."""
    with atomic_path(path, suffix=".png") as tmp:
        save_figure(fig, tmp, dpi=dpi)
    return Path(path)


def figure_png(fig: Figure, dpi: int = 100) -> bytes:
    """The PNG bytes of `fig` (e.g. for an `ipywidgets.Image`)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


# -- the whole navigation -----------------------------------------------------------
def navigate(model: keras.Model, codes: ArrayLike, out_dir: PathLike, name: str | None = None,
             reference: int | str | ArrayLike = 0, block: int | None = None,
             axes: Sequence[int] | None = None, steps: int = DEFAULT_STEPS,
             quantile: float = DEFAULT_QUANTILE, fps: float = 8,
             atom_only: bool = False) -> dict[str, Any]:
    """Sweeps latent coordinates of `model` and writes a GIF and a PNG per coordinate.

    Args:
        model: an autoencoder, or a model from codes to outputs (the position
            decoder).
        codes: array (N, latent_dim). Training codes: they set the bounds
            (and the reference).
        out_dir: folder of the outputs.
        name: str or None. Prefix of the files (default: the model's name).
        reference: int, "mean" or a code. See `reference_code`. Defaults to
            0 (the first training code).
        block: None or int. An atomic autoencoder's block (from 0) whose d0
            coordinates are swept; None sweeps `axes`, or for an atomic
            autoencoder the block with the brightest atom in the reference.
        axes: None or list of int. Coordinates to sweep when `block` is None
            (default: all of them; for an atomic autoencoder, see `block`).
        steps: int. Frames per GIF. Defaults to 16.
        quantile: float in [0, 0.5). Bounds are the `quantile` and
            `1 - quantile` of the training codes. Defaults to 0.01.
        fps: float. Frames per second of the GIFs. Defaults to 8.
        atom_only: bool. Atomic autoencoders: show the swept block's atom
            g(z_i) alone instead of the whole decoded image.

    Returns:
        dict: `gifs` and `strips` (one path per swept coordinate), `npz` (the
        sweep: `axes`, `codes`, `values`, `outputs`, `low`, `high`,
        `reference`, `quantile`, `frame_scale`, `frame_band`), `block`,
        `axes`, and the `sweep` itself (see `sweep`).
    """
    check_navigable(model)
    latent_dim = latent_dim_of(model)
    codes = validation.check_codes(codes, name="codes", latent_dim=latent_dim)
    ref = reference_code(codes, reference)
    if not isinstance(atom_only, bool):
        raise TypeError(f"`atom_only` must be a bool. Received: atom_only={atom_only!r}")
    if block is None and axes is None and _is_atomic(model):
        block = brightest_block(model, ref)
    if block is not None:
        if axes is not None:
            raise ValueError(f"`axes` and `block` are exclusive: give one. Received: "
                             f"axes={axes!r}, block={block!r}")
        axes = block_axes(model, block)
    elif axes is None:
        axes = list(range(latent_dim))
    if atom_only and block is None:
        raise ValueError("`atom_only` needs an atomic autoencoder and its `block`. "
                         f"Received: atom_only=True with block=None and model of type "
                         f"{type(model).__name__}")
    low, high = latent_bounds(codes, quantile)
    result = sweep(model, ref, (low, high), axes, steps, atom_block=block if atom_only
                   else None)
    name = name or model.name
    out_dir = Path(out_dir)
    prefix = f"{name}_block{block}" if block is not None else name
    gifs, strips = [], []
    for i, axis in enumerate(result["axes"]):
        label = axis_label(model, int(axis))
        stem = (f"{prefix}_coord{int(axis) - axes[0]}" if block is not None
                else f"{prefix}_axis{int(axis)}")
        gifs.append(save_gif(result["outputs"][i], result["values"][i],
                             out_dir / f"{stem}.gif", label, fps=fps))
        fig = strip_figure(result["outputs"][i], result["values"][i], label,
                           title=f"{name}: {label}, {_bounds_name(quantile)}")
        strips.append(save_png(fig, out_dir / f"{stem}.png"))
    image = _is_image(result["outputs"][0, 0])
    npz = out_dir / f"{prefix}_sweep.npz"
    with atomic_path(npz, suffix=".npz") as tmp, open(tmp, "wb") as f:
        np.savez_compressed(
            f, axes=result["axes"], codes=result["codes"], values=result["values"],
            outputs=result["outputs"], low=low, high=high, reference=ref,
            quantile=np.float32(quantile),
            frame_scale=np.int32(frame_scale(result["outputs"].shape[3]) if image else 0),
            frame_band=np.int32(FRAME_BAND))
    return {"gifs": gifs, "strips": strips, "npz": npz, "block": block,
            "axes": [int(a) for a in result["axes"]], "sweep": result}


def _bounds_name(quantile):
    if quantile == 0:
        return "training codes' min to max"
    low, high = _ordinal(100 * quantile), _ordinal(100 * (1 - quantile))
    return f"training codes' {low} to {high} percentile"


def _ordinal(percent):
    text = f"{percent:g}"
    if text.endswith(("11", "12", "13")) or not text.isdigit():
        return f"{text}th"
    return text + {"1": "st", "2": "nd", "3": "rd"}.get(text[-1], "th")
