"""Evaluation and figures of the position family (JMIV 2020, section 5).

Encoders (section 5.3, Figure 9): each level's learned 3-tap kernel and its
cosine similarity with the hand-crafted filter [1, 2, 1], and how well the
output (or the 1-D code) is an affine function of the position over every
one-hot input.

Decoders (section 5.4, Figure 10): the position of the decoded peak, found
with sub-sample precision, against the true position at random continuous
positions never seen in training.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from geomae_tf import validation
from geomae_tf.analysis.plotting import pyplot, save_figure
from geomae_tf.datasets import diracs

if TYPE_CHECKING:
    import keras

    from geomae_tf.types import ArrayLike, PathLike

#: The hand-crafted filter of eq. (13).
PHI = np.array([1.0, 2.0, 1.0])
PEAK_METHODS = ("centroid", "parabolic")


# -- encoders ---------------------------------------------------------------
def _encoder_of(model):
    """The signals -> number part of a position encoder or autoencoder."""
    return getattr(model, "encoder", model)


def encoder_kernels(model: keras.Model) -> list[np.ndarray]:
    """The learned 3-tap kernel of every level, input side first.

    Args:
        model: a `position_encoder` (supervised) or a `PositionAutoencoder`.

    Returns:
        A list of numpy arrays of shape (3,): (w0, w1, w2) with
        u(t) = w0 u(2t - 1) + w1 u(2t) + w2 u(2t + 1) + b (strided).
    """
    encoder = _encoder_of(model)
    kernels, level = [], 0
    while True:
        try:
            layer = encoder.get_layer(f"enc_conv{level}")
        except ValueError:
            break
        kernels.append(np.asarray(layer.kernel)[:, 0, 0].astype(np.float64))
        level += 1
    if not kernels:
        raise ValueError(f"`model` must be a position encoder with layers named enc_conv0, "
                         f"enc_conv1, ... Received: model {getattr(model, 'name', model)!r}")
    return kernels


def _pooling_of(model):
    encoder = _encoder_of(model)
    return "max" if any(layer.name.startswith("enc_maxpool") for layer in encoder.layers) \
        else "strided"


def cosine(u: ArrayLike, v: ArrayLike) -> float:
    """Cosine similarity of two vectors (0 if one is zero)."""
    u, v = np.asarray(u, np.float64), np.asarray(v, np.float64)
    norm = np.linalg.norm(u) * np.linalg.norm(v)
    return float(u @ v / norm) if norm > 0 else 0.0


def live_taps(level: int, levels: int, pooling: str = "strided") -> np.ndarray:
    """Indices of the taps of `level` that ever multiply a sample of the signal.

    With subsampling at even positions the left tap w0 reads u(2t - 1); at
    the last level (input length 2, t = 0 only) that is always the zero
    padding, so w0 gets no gradient and keeps its initial value: only the
    taps (w1, w2) are learned there. Every other tap is live.
    """
    if pooling == "strided" and level == levels - 1:
        return np.array([1, 2])
    return np.array([0, 1, 2])


def kernel_cosines(kernels: Sequence[np.ndarray],
                   pooling: str = "strided") -> dict[str, Any]:
    """Cosine of each level's kernel with [1, 2, 1], on its live taps and on all three.

    Returns:
        dict with `cosines` (live taps, signed: b [1, 2, 1] with b < 0 gives
        -1), `abs_cosines`, `min_abs_cosine` and `cosines_all_taps`.
    """
    levels = len(kernels)
    live = [cosine(k[live_taps(i, levels, pooling)], PHI[live_taps(i, levels, pooling)])
            for i, k in enumerate(kernels)]
    return {
        "cosines": live,
        "abs_cosines": [abs(c) for c in live],
        "min_abs_cosine": float(min(abs(c) for c in live)),
        "cosines_all_taps": [cosine(k, PHI) for k in kernels],
    }


def affine_fit(outputs: ArrayLike, positions: ArrayLike) -> dict[str, float]:
    """How well `outputs` are an affine function of `positions`.

    Returns:
        dict: `slope`, `intercept` (outputs ~ slope * position + intercept),
        `corr` (Pearson), `abs_corr`, and `fit_rmse`: the RMSE in samples of
        the position read back through the inverse of the fitted map.
    """
    outputs = np.asarray(outputs, np.float64).reshape(-1)
    positions = np.asarray(positions, np.float64).reshape(-1)
    if np.std(outputs) == 0:
        return {"slope": 0.0, "intercept": float(outputs.mean()), "corr": 0.0,
                "abs_corr": 0.0, "fit_rmse": float(np.std(positions))}
    slope, intercept = np.polyfit(positions, outputs, 1)
    corr = float(np.corrcoef(outputs, positions)[0, 1])
    read_back = (outputs - intercept) / slope
    return {"slope": float(slope), "intercept": float(intercept), "corr": corr,
            "abs_corr": abs(corr),
            "fit_rmse": float(np.sqrt(np.mean((read_back - positions) ** 2)))}


def encode_positions(model: keras.Model, signals: ArrayLike) -> np.ndarray:
    """The encoder's scalar output for `signals` (N, n, 1), as a numpy vector."""
    encoder = _encoder_of(model)
    signals = validation.check_signals(signals, length=int(encoder.inputs[0].shape[1]))
    return _batched(encoder, signals).reshape(-1)


def _batched(model, inputs, batch_size=1024):
    """`model(inputs)` in batches, as numpy (no `predict` retracing per shape)."""
    return np.concatenate([np.asarray(model(inputs[i:i + batch_size], training=False))
                           for i in range(0, len(inputs), batch_size)])


def evaluate_encoder(model: keras.Model, n_test: int = 1000, seed: int = 20_205,
                     cosine_goal: float = 0.99, corr_goal: float = 0.9999) -> dict[str, Any]:
    """Measures a position encoder (supervised, or the encoder of an autoencoder).

    Every one of the n one-hot vectors is encoded; its output is compared
    with the position by an affine fit (the code of an autoencoder may be
    any affine function of the position, a supervised encoder should give
    the position itself). As a check beyond the training set, `n_test`
    triangular Diracs at random continuous positions are encoded too (the
    [1, 2, 1] encoder, being linear, encodes them exactly).

    Args:
        model: a `position_encoder` or a `PositionAutoencoder`.
        n_test: int. Number of continuous held-out positions. Defaults to 1000.
        seed: int. Seed of those positions.
        cosine_goal: float. Goal on every level's |cosine| with [1, 2, 1].
        corr_goal: float. Goal on |corr| over the one-hot vectors.

    Returns:
        dict: `kernels` (list of lists), `cosines`, `abs_cosines`,
        `min_abs_cosine`, `cosines_all_taps`, `abs_corr`, `corr`, `slope`,
        `intercept`, `fit_rmse` (samples), `abs_spearman` (is the output
        monotone in the position?), `distinct_outputs` (of the n),
        `position_rmse` (raw output vs position, samples),
        `continuous_abs_corr`, `continuous_fit_rmse`,
        `meets_goals` (bool) and the goals.
    """
    n_test = validation.check_int("n_test", n_test, minimum=2)
    seed = validation.check_int("seed", seed, minimum=0)
    encoder = _encoder_of(model)
    n = int(encoder.inputs[0].shape[1])
    kernels = encoder_kernels(model)
    metrics = {"kernels": [k.tolist() for k in kernels], "n": n}
    metrics.update(kernel_cosines(kernels, _pooling_of(model)))

    signals, positions = diracs.onehots(n)
    outputs = encode_positions(model, signals)
    metrics.update(affine_fit(outputs, positions))
    metrics["abs_spearman"] = (0.0 if np.std(outputs) == 0 else
                               abs(float(stats.spearmanr(outputs, positions).statistic)))
    metrics["distinct_outputs"] = int(len(np.unique(np.round(outputs, 6))))
    metrics["position_rmse"] = float(np.sqrt(np.mean((outputs - positions) ** 2)))

    held_out, factors = diracs.make_diracs(n_test, seed=seed, mode="continuous", length=n)
    continuous = affine_fit(encode_positions(model, held_out), factors["position"])
    metrics["continuous_abs_corr"] = continuous["abs_corr"]
    metrics["continuous_fit_rmse"] = continuous["fit_rmse"]
    metrics["cosine_goal"], metrics["corr_goal"] = cosine_goal, corr_goal
    metrics["meets_goals"] = bool(metrics["min_abs_cosine"] >= cosine_goal
                                  and metrics["abs_corr"] >= corr_goal)
    metrics["n_test"] = n_test
    return metrics


# -- decoders ---------------------------------------------------------------
def peak_positions(signals: ArrayLike, method: str = "centroid") -> np.ndarray:
    """Sub-sample position of the highest peak of each signal.

    Args:
        signals: array (N, n) or (N, n, 1).
        method: "centroid": the centre of mass of the (non-negative part of
            the) three samples around the arg-max; exact for a triangular
            Dirac (eq. 19), whose two non-zero samples 1 - f and f at k and
            k + 1 average to k + f. "parabolic": the vertex of the parabola
            through those three samples (biased on a triangle by up to
            ~0.15 sample, exact at integers and half-integers).

    Returns:
        float64 array (N,) of positions in sample units.
    """
    validation.check_choice("method", method, set(PEAK_METHODS))
    y = np.asarray(signals, np.float64)
    if y.ndim == 3:
        y = y[..., 0]
    if y.ndim != 2 or y.shape[1] < 3:
        raise ValueError(f"`signals` must be shaped (N, n) or (N, n, 1) with n >= 3. "
                         f"Received: signals with shape {np.shape(signals)}")
    n = y.shape[1]
    k = np.argmax(y, axis=1)
    centre = np.clip(k, 1, n - 2)
    rows = np.arange(len(y))
    left, mid, right = (y[rows, centre - 1], y[rows, centre], y[rows, centre + 1])
    if method == "centroid":
        w = np.maximum(np.stack([left, mid, right], 1), 0.0)
        total = w.sum(1)
        offset = np.where(total > 0, (w[:, 2] - w[:, 0]) / np.where(total > 0, total, 1), 0.0)
        return centre + offset
    denominator = left - 2 * mid + right
    safe = np.where(denominator < 0, denominator, -1.0)
    offset = np.where(denominator < 0, 0.5 * (left - right) / safe, 0.0)
    offset = np.clip(offset, -1.0, 1.0)
    # at the borders the arg-max itself is the border sample: keep it unless the
    # parabola through the inner three samples points there.
    return np.where((k == centre) | (np.abs(centre + offset - k) < 1.0), centre + offset,
                    k.astype(np.float64))


def decode_positions(model: keras.Model, positions: ArrayLike) -> np.ndarray:
    """The decoder's signals for `positions` (N,), as a numpy array (N, n)."""
    positions = np.asarray(positions, np.float32).reshape(-1, 1)
    return _batched(model, positions)[..., 0]


def evaluate_decoder(model: keras.Model, n_test: int = 1000, seed: int = 20_206,
                     rmse_goal: float = 0.5) -> dict[str, Any]:
    """Measures a position decoder at random continuous positions.

    Args:
        model: a `position_decoder` (`position (N, 1)` -> `signals (N, n, 1)`).
        n_test: int. Number of held-out positions, U(0, n - 1). Defaults to 1000.
        seed: int. Seed of the positions (differs from the training seeds).
        rmse_goal: float. Goal on `peak_rmse` (samples). Defaults to 0.5.

    Returns:
        dict: `peak_rmse` (centroid peak vs true position, samples),
        `peak_rmse_parabolic`, `peak_max_error`, `peak_rmse_integer` (at the
        n integer positions), `outliers` (fraction of errors above one
        sample), `signal_mse` (against the triangular Dirac), `meets_goal`.
    """
    n_test = validation.check_int("n_test", n_test, minimum=1)
    seed = validation.check_int("seed", seed, minimum=0)
    n = int(model.outputs[0].shape[1])
    signals, factors = diracs.make_diracs(n_test, seed=seed, mode="continuous", length=n)
    positions = factors["position"].astype(np.float64)
    decoded = decode_positions(model, positions)
    errors = peak_positions(decoded, "centroid") - positions
    parabolic = peak_positions(decoded, "parabolic") - positions
    integers = np.arange(n, dtype=np.float64)
    integer_errors = peak_positions(decode_positions(model, integers)) - integers
    metrics = {
        "peak_rmse": float(np.sqrt(np.mean(errors ** 2))),
        "peak_rmse_parabolic": float(np.sqrt(np.mean(parabolic ** 2))),
        "peak_max_error": float(np.max(np.abs(errors))),
        "peak_rmse_integer": float(np.sqrt(np.mean(integer_errors ** 2))),
        "outliers": float(np.mean(np.abs(errors) > 1.0)),
        "signal_mse": float(np.mean((decoded - signals[..., 0]) ** 2)),
        "rmse_goal": rmse_goal,
        "n_test": n_test,
    }
    metrics["meets_goal"] = bool(metrics["peak_rmse"] <= rmse_goal)
    return metrics


# -- figures ----------------------------------------------------------------
def plot_kernels(kernel_sets: Sequence[Sequence[ArrayLike]] | Sequence[ArrayLike],
                 path: PathLike, labels: Sequence[str] | None = None,
                 title: str | None = None, pooling: str = "strided") -> Path:
    """Figure 9: each level's learned kernel, normalised, against [1, 2, 1].

    Args:
        kernel_sets: a list of kernel lists (one per trained model), as
            returned by `encoder_kernels`; or one kernel list.
        path: where to write the PNG.
        labels: one label per model.
        title: the figure title.
        pooling: "strided" (the last level's left tap reads only padding and
            is shown as such) or "max".

    Returns:
        The path written.
    """
    plt = pyplot()
    if np.ndim(kernel_sets[0]) == 1:
        kernel_sets = [kernel_sets]
    labels = labels or [f"model {i}" for i in range(len(kernel_sets))]
    levels = len(kernel_sets[0])
    fig, axes = plt.subplots(len(kernel_sets) + 1, levels, figsize=(1.6 * levels + 1.2,
                             0.8 * (len(kernel_sets) + 1) + 0.6), squeeze=False)
    reference = PHI / np.linalg.norm(PHI)
    rows = [[reference] * levels] + [list(k) for k in kernel_sets]
    names = ["[1, 2, 1]"] + list(labels)
    for r, (kernels, name) in enumerate(zip(rows, names)):
        for level, kernel in enumerate(kernels):
            ax = axes[r, level]
            kernel = np.asarray(kernel, np.float64)
            live = live_taps(level, levels, pooling) if r else np.arange(3)
            # the kernel times the factor that best matches the unit-norm [1, 2, 1]
            # on its live taps: any b [1, 2, 1] shows exactly as the first row.
            shown = np.full(3, np.nan)
            energy = kernel[live] @ kernel[live]
            factor = (kernel[live] @ reference[live]) / energy if energy > 0 else 0.0
            shown[live] = factor * kernel[live]
            ax.imshow(shown[None, :], cmap="viridis", vmin=0, vmax=0.85)
            for i, value in enumerate(shown):
                ax.text(i, 0, "pad" if np.isnan(value) else f"{value:.2f}", ha="center",
                        va="center", color="k" if np.isnan(value) else "w", fontsize=7)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"level {level + 1}", fontsize=8)
            if level == 0:
                ax.set_ylabel(name, fontsize=7, rotation=0, ha="right", va="center")
    fig.suptitle(title or "Learned encoder kernels (scaled to best match [1, 2, 1])",
                 fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path, dpi=120, bbox_inches=None)


def plot_encoder_outputs(outputs_by_name: Mapping[str, ArrayLike], path: PathLike,
                         n: int = 64) -> Path:
    """The encoder output against the position of every one-hot input."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    positions = np.arange(n)
    for name, outputs in outputs_by_name.items():
        fit = affine_fit(outputs, positions)
        ax.plot(positions, outputs, ".-", ms=3, label=f"{name} (|corr| {fit['abs_corr']:.5f})")
    ax.set_xlabel("position a of the one-hot input")
    ax.set_ylabel("encoder output")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path, dpi=120, bbox_inches=None)


def plot_decoder_outputs(models: keras.Model | list[keras.Model] | tuple[keras.Model, ...],
                         path: PathLike, positions: ArrayLike | None = None,
                         labels: Sequence[str] | None = None) -> Path:
    """Figure 10: normalised decoded signals for increasing positions z.

    One panel per decoder: rows are the positions z, columns the samples t;
    each decoded signal is divided by its maximum, as in the paper.
    """
    plt = pyplot()
    if not isinstance(models, (list, tuple)):
        models = [models]
    labels = labels or [m.name for m in models]
    n = int(models[0].outputs[0].shape[1])
    positions = np.linspace(0.0, n - 1, 4 * n + 1) if positions is None else np.asarray(
        positions, np.float64)
    fig, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models), 4), squeeze=False)
    for ax, model, label in zip(axes[0], models, labels):
        decoded = decode_positions(model, positions)
        peak = np.max(np.abs(decoded), axis=1, keepdims=True)
        ax.imshow(decoded / np.where(peak > 0, peak, 1.0), aspect="auto", cmap="gray",
                  extent=(-0.5, n - 0.5, positions[-1], positions[0]), vmin=0, vmax=1)
        ax.plot(peak_positions(decoded), positions, "r-", lw=0.6, label="decoded peak")
        ax.set_xlabel("t (sample)")
        ax.set_ylabel("input position z")
        ax.set_title(label, fontsize=9)
        ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return save_figure(fig, path, dpi=120, bbox_inches=None)


def plot_decoder_profiles(models: keras.Model | list[keras.Model] | tuple[keras.Model, ...],
                          path: PathLike, positions: ArrayLike = (20.0, 20.25, 20.5, 20.75),
                          labels: Sequence[str] | None = None) -> Path:
    """Decoded signals around a few close positions, with the true triangles."""
    plt = pyplot()
    if not isinstance(models, (list, tuple)):
        models = [models]
    labels = labels or [m.name for m in models]
    n = int(models[0].outputs[0].shape[1])
    positions = np.asarray(positions, np.float64)
    centre = int(round(float(np.mean(positions))))
    window = slice(max(centre - 5, 0), min(centre + 6, n))
    t = np.arange(n)[window]
    fig, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models), 3.2), squeeze=False)
    truth = diracs.triangular_diracs(positions, n)[..., 0]
    for ax, model, label in zip(axes[0], models, labels):
        decoded = decode_positions(model, positions)
        for i, a in enumerate(positions):
            line, = ax.plot(t, decoded[i, window], "o-", ms=3, label=f"z = {a:g}")
            ax.plot(t, truth[i, window], ":", color=line.get_color())
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("t (sample)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path, dpi=120, bbox_inches=None)


def figures_encoder(model: keras.Model, out_dir: PathLike) -> list[Path]:
    """Writes the kernels (Figure 9) and the output-vs-position plot; returns the paths."""
    out_dir = Path(out_dir)
    name = model.name
    return [plot_kernels(encoder_kernels(model), out_dir / f"{name}_kernels.png", [name],
                         pooling=_pooling_of(model)),
            plot_encoder_outputs({name: encode_positions(model, diracs.onehots(
                int(_encoder_of(model).inputs[0].shape[1]))[0])},
                out_dir / f"{name}_outputs.png", int(_encoder_of(model).inputs[0].shape[1]))]


def figures_decoder(model: keras.Model, out_dir: PathLike) -> list[Path]:
    """Writes Figure 10 and close-up profiles for a decoder; returns the paths."""
    out_dir = Path(out_dir)
    return [plot_decoder_outputs(model, out_dir / f"{model.name}_outputs.png"),
            plot_decoder_profiles(model, out_dir / f"{model.name}_profiles.png")]
