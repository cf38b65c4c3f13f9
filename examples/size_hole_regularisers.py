"""The radius hole and the regularisers, five runs each (JMIV 2020, 4.4-4.4.1; Figures 6-7).

Trains the disk autoencoder on disks whose radii 11-18 were removed, with
each regulariser of section 4.4.1 (none; type 1, latent-distance
preservation; type 2, weight decay on encoder and decoder; type 3, weight
decay on the encoder only; and the talks' denoising variant), several seeds
each, and measures every run on fresh Monte-Carlo-blurred disks drawn from
the true distribution. Prints and writes (`size_hole_regularisers.md/.json`)
the mean and spread of the hole MSE per regulariser, and draws the
code-vs-radius curves of every run in one figure (Figure 7) and the
input/output pairs of seed 0 (Figure 6).

The paper's claims to confirm or refute: the unregularised network is
unstable across runs; encoder-only weight decay (type 3) generalises best.

Every finished run is saved in `<out>/size_hole_runs/`; running the same
command again skips them (a long run can be interrupted and resumed).

Usage:
    python examples/size_hole_regularisers.py             # 2 seeds x 4 epochs: minutes
    python examples/size_hole_regularisers.py --full      # 5 seeds x 60 epochs: ~2 h on CPU
    python examples/size_hole_regularisers.py --seeds 5 --epochs 60 \
        --regularizers none encoder_weight_decay
"""

import argparse
import json
from pathlib import Path

import numpy as np

from geomae_tf import zoo
from geomae_tf.analysis import disk as disk_analysis
from geomae_tf.training.tuning import code_curves_figure, fit_disk_autoencoder

HOLE = (11.0, 18.0)
BANDS = {"hole": list(HOLE), "observed": [[1.0, HOLE[0]], [HOLE[1], 31.0]]}
#: lambda per regulariser (Keras MSE scale; noise std for denoising): each one the best
#: of its sweep on the study's settings (`python examples/size_lambda_sweep.py --full`,
#: docs/size_hole_study.md), except type 1, whose best was lambda = 0 (it brings nothing):
#: its best non-zero value. `--tuned figures/lambda_sweep` reads the sweeps' choices again.
LAMBDAS = {"none": 0.0, "latent_distance": 1e-2, "weight_decay": 1e-4,
           "encoder_weight_decay": 3e-4, "denoising": 0.0234035}
COLOURS = {"none": "black", "latent_distance": "tab:orange", "weight_decay": "tab:blue",
           "encoder_weight_decay": "tab:green", "denoising": "tab:purple"}


def run_one(regularizer, lam, seed, epochs, n_test, folder):
    path = folder / f"{regularizer}_lam{lam:g}_seed{seed}_ep{epochs}.json"
    if path.exists():
        return json.loads(path.read_text())
    kwargs = {"regularizer": regularizer, "lam": lam}
    model, history = fit_disk_autoencoder(kwargs, {"exclude": [HOLE]}, epochs=epochs, seed=seed)
    metrics = disk_analysis.evaluate(model, n_test=n_test, n_samples=512, bands=BANDS)
    curve = disk_analysis.per_radius_errors(model, np.linspace(1.0, 31.0, 121))
    result = {"regularizer": regularizer, "lam": lam, "seed": seed, "epochs": epochs,
              "final_training_mse": float(history["mse"][-1]), **metrics,
              "curve_radii": curve["radii"].tolist(), "curve_z": curve["z"][:, 0].tolist(),
              "curve_mse": curve["per_image"].tolist()}
    model.save_weights(str(path.with_suffix(".weights.h5")))
    path.write_text(json.dumps(result) + "\n")
    return result


def summarise(results, regularizers):
    rows = []
    for reg in regularizers:
        runs = [r for r in results if r["regularizer"] == reg]
        hole = np.array([r["mse_hole"] for r in runs])
        obs = np.array([r["mse_observed"] for r in runs])
        rows.append({"regularizer": reg, "lam": runs[0]["lam"], "runs": len(runs),
                     "hole_mean": float(hole.mean()), "hole_std": float(hole.std(ddof=1))
                     if len(runs) > 1 else 0.0, "hole_min": float(hole.min()),
                     "hole_max": float(hole.max()), "observed_mean": float(obs.mean()),
                     "ratio_mean": float(np.mean(hole / obs)),
                     "monotone_runs": int(sum(r["abs_spearman"] > 0.999 for r in runs)),
                     "hole_le_2e-3_runs": int(np.sum(hole <= 2e-3))})
    return rows


def markdown(rows, epochs):
    lines = [f"Hole [11, 18): {epochs} epochs per run; MSE on fresh Monte-Carlo-blurred disks.",
             "", "| regulariser | lambda | runs | hole MSE mean | std | min | max | observed MSE "
             "mean | hole / observed | runs with monotone code | runs with hole MSE <= 2e-3 |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['regularizer']} | {r['lam']:g} | {r['runs']} | {r['hole_mean']:.2e} | "
                     f"{r['hole_std']:.1e} | {r['hole_min']:.2e} | {r['hole_max']:.2e} | "
                     f"{r['observed_mean']:.2e} | {r['ratio_mean']:.1f} | {r['monotone_runs']} | "
                     f"{r['hole_le_2e-3_runs']} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="5 seeds x 60 epochs")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--regularizers", nargs="+", default=list(LAMBDAS),
                        choices=list(LAMBDAS))
    parser.add_argument("--lam", nargs="+", default=[], metavar="REG=VALUE",
                        help="override lambdas, e.g. encoder_weight_decay=3e-4")
    parser.add_argument("--tuned", nargs="+", default=[], metavar="DIR",
                        help="read each regulariser's chosen lambda from "
                             "DIR/*/lambda_sweep.json (e.g. runs/tune figures/lambda_sweep)")
    parser.add_argument("--n-test", type=int, default=None)
    parser.add_argument("--out", default="figures")
    args = parser.parse_args()
    seeds = args.seeds or (5 if args.full else 2)
    epochs = args.epochs or (60 if args.full else 4)
    n_test = args.n_test or (1000 if args.full else 200)
    lambdas = dict(LAMBDAS)
    for sweep in sorted(p for d in args.tuned for p in Path(d).glob("*/lambda_sweep.json")):
        summary = json.loads(sweep.read_text())
        lam = summary.get("chosen_lam", summary.get("best_lam"))
        if lam is not None:
            lambdas[summary["regularizer"]] = float(lam)
            print(f"{summary['regularizer']}: tuned lambda {lam:g} ({sweep})")
    for item in args.lam:
        reg, _, value = item.partition("=")
        if reg not in lambdas:
            parser.error(f"--lam: unknown regulariser {reg!r}; allowed: {sorted(lambdas)}")
        lambdas[reg] = float(value)
    out = Path(args.out)
    folder = out / "size_hole_runs"
    folder.mkdir(parents=True, exist_ok=True)

    results = []
    for reg in args.regularizers:
        for seed in range(seeds):
            r = run_one(reg, lambdas[reg], seed, epochs, n_test, folder)
            results.append(r)
            print(f"{reg:>21} lambda={r['lam']:<7g} seed {seed}: hole MSE {r['mse_hole']:.2e}, "
                  f"observed {r['mse_observed']:.2e}, |spearman| {r['abs_spearman']:.4f}",
                  flush=True)
    rows = summarise(results, args.regularizers)
    table = markdown(rows, epochs)
    print()
    print(table)
    (out / "size_hole_regularisers.md").write_text(table)
    (out / "size_hole_regularisers.json").write_text(json.dumps(rows, indent=2) + "\n")

    curves = []
    for r in results:
        first = r["seed"] == 0
        curves.append({"radii": np.array(r["curve_radii"]), "z": np.array(r["curve_z"]),
                       "per_image": np.array(r["curve_mse"]), "colour": COLOURS[r["regularizer"]],
                       "name": f"{r['regularizer']} (lambda {r['lam']:g})" if first else None})
    paths = [code_curves_figure(curves, HOLE, out / "size_hole_regularisers.png",
                                title=f"{seeds} runs per regulariser, {epochs} epochs (Figure 7)")]
    models = {}
    for reg in args.regularizers:
        weights = folder / f"{reg}_lam{lambdas[reg]:g}_seed0_ep{epochs}.weights.h5"
        models[reg] = zoo.disk_autoencoder(regularizer=reg, lam=lambdas[reg],
                                           weights=str(weights))
    paths.append(disk_analysis.pairs_figure(models, [5, 9, 12.5, 14.5, 16.5, 21, 27],
                                            lambda r: not HOLE[0] <= r < HOLE[1],
                                            out / "size_hole_pairs.png",
                                            title="Hole [11, 18), seed 0 (Figure 6)"))
    for p in paths:
        print("figure:", p)


if __name__ == "__main__":
    main()
