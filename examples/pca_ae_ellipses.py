"""PCA-like autoencoder on ellipses: ordered, decorrelated, interpretable axes.

Reproduces the PCA-AE part of the talks (Ladjal, Newson, Pham; slides 46-51):
a PCA-AE with 3 latent units trained progressively on centred ellipses
(two semi-axes and a rotation), compared with a plain autoencoder of the same
latent size and with the PCA-AE without its covariance loss (lambda = 0):

- the correlation table between latent axes and three image attributes
  (area; horizontal/vertical ratio; diagonal ratio), printed and saved;
- the |corr| between latent axes;
- the latent navigation grids (each axis swept from its lowest to its highest
  training value, the others at 0), slides 49-50;
- the failure case of the slides: disks of varying radius AND grey level.

By default every model trains for a couple of minutes (the numbers are then
far from converged); `--full` uses the zoo recipe's schedule
(`zoo/pca_ae_ellipses.toml`, about half an hour per model on 2 CPU cores).
`--weights` evaluates an already trained PCA-AE (e.g. a run's
`stage3.weights.h5`) instead of training one.

    python examples/pca_ae_ellipses.py --out figures/
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np

from geomae_tf.analysis import pca as analysis
from geomae_tf.datasets import ellipses, grey_disks
from geomae_tf.models.pca import pca_autoencoder, plain_autoencoder
from geomae_tf.training.progressive import train_progressive

# -- Schedules ------------------------------------------------------------------
QUICK = {"batch_size": 64, "steps_per_stage": 150, "learning_rate": 2e-3, "lambda_cov": 3.0}
# --full: the zoo recipe's budget (3 x 3000 steps of 128 ellipses).
FULL = {"batch_size": 128, "steps_per_stage": 3000, "learning_rate": 2e-3, "lambda_cov": 3.0}


def train_pca(schedule, lambda_cov, seed, dataset="ellipses", latent_dim=3):
    keras.utils.set_random_seed(seed)
    module = ellipses if dataset == "ellipses" else grey_disks
    data = module.training_dataset(batch_size=schedule["batch_size"], mode="stream",
                                   seed=seed)
    model = pca_autoencoder(latent_dim=latent_dim, lambda_cov=lambda_cov,
                            name=f"pca_ae_lambda{lambda_cov:g}")
    steps = schedule["steps_per_stage"]
    epochs = max(1, steps // 500)
    train_progressive(model, data, epochs_per_stage=epochs,
                      steps_per_epoch=max(1, steps // epochs),
                      learning_rate=schedule["learning_rate"], cosine_decay=True, verbose=0)
    return model


def train_plain(schedule, seed, latent_dim=3):
    keras.utils.set_random_seed(seed)
    data = ellipses.training_dataset(batch_size=schedule["batch_size"], mode="stream",
                                     seed=seed)
    model = plain_autoencoder(latent_dim=latent_dim)
    steps = latent_dim * schedule["steps_per_stage"]          # the same total budget
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(
        schedule["learning_rate"], steps, alpha=0.05)), loss="binary_crossentropy")
    epochs = max(1, steps // 500)
    model.fit(data, epochs=epochs, steps_per_epoch=max(1, steps // epochs), verbose=0)
    return model


def print_table(name, metrics):
    table = np.asarray(metrics["table"])
    print(f"\n{name}: |corr| (rows: latent axes; fresh ellipses, n = {metrics['n_test']})")
    print("        " + "".join(f"{a:>12}" for a in analysis.ATTRIBUTES))
    for i, (row, ranks) in enumerate(zip(table, metrics["table_spearman"])):
        print(f"  z{i + 1}    " + "".join(f"{v:12.3f}" for v in row)
              + "   (Spearman " + ", ".join(f"{v:.3f}" for v in ranks) + ")")
    for i, d in enumerate(metrics.get("elongation_directions", []), start=2):
        print(f"  z{i} follows the elongation at {d['angle_deg']:+.1f} deg, "
              f"{d['grid_offset_deg']:.1f} deg off the grid's directions "
              f"(fit |corr| {d['fit_corr']:.3f})")
    print(f"  max |corr| between latent axes: {metrics['latent_abs_corr_max']:.3f}   "
          f"MSE: {metrics['mse']:.5f}")
    if "mse_by_components" in metrics:
        print("  MSE with the first 1..k axes: "
              + ", ".join(f"{v:.5f}" for v in metrics["mse_by_components"]))
    if "targets" in metrics:
        print(f"  targets (PCA-AE talk, slides 46-50) met: {metrics['targets']['met']}  {metrics['targets']}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the recipe-length schedule")
    parser.add_argument("--out", default="figures", help="folder of the figures")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--weights", default=None,
                        help="a trained PCA-AE .weights.h5 (skips its training)")
    parser.add_argument("--n-test", type=int, default=1000)
    args = parser.parse_args(argv)
    schedule = FULL if args.full else QUICK
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    started = time.time()
    models = {}
    if args.weights:
        models["PCA-AE"] = pca_autoencoder(latent_dim=3, weights=args.weights)
    else:
        models["PCA-AE"] = train_pca(schedule, schedule["lambda_cov"], args.seed)
    models["PCA-AE, lambda = 0"] = train_pca(schedule, 0.0, args.seed)
    models["plain AE"] = train_plain(schedule, args.seed)
    print(f"trained in {time.time() - started:.0f} s")

    train_images, _ = ellipses.make_ellipses(2000, seed=args.seed + 11)
    results, tables = {}, {}
    for name, model in models.items():
        metrics = analysis.evaluate(model, n_test=args.n_test, renderer="exact")
        print_table(name, metrics)
        results[name] = metrics
        tables[name] = metrics["table"]
        slug = name.replace(", ", "_").replace(" = ", "").replace(" ", "_")
        analysis.navigation_grid(model, model.encode(train_images),
                                 out / f"pca_ae_ellipses_navigation_{slug}.png",
                                 title=f"{name}: latent navigation (others at 0)")
    analysis.table_figure(tables, out / "pca_ae_ellipses_tables.png")

    # The slides' failure case: disks of varying radius and grey level.
    grey = train_pca(schedule, schedule["lambda_cov"], args.seed, dataset="grey_disks",
                     latent_dim=2)
    grey_metrics = analysis.evaluate_grey_disks(grey)
    print("\ngrey disks (failure case), |corr| rows z1, z2 vs",
          grey_metrics["attributes"], ":", grey_metrics["table"],
          " latent |corr|:", grey_metrics["latent_corr"][0][1])
    disks_images, _ = grey_disks.make_grey_disks(2000, seed=args.seed + 12)
    analysis.navigation_grid(grey, grey.encode(disks_images),
                             out / "pca_ae_grey_disks_navigation.png",
                             title="PCA-AE on grey disks: latent navigation")
    results["grey_disks"] = grey_metrics
    (out / "pca_ae_ellipses.json").write_text(json.dumps(results, indent=2, default=float))
    print(f"\nfigures and numbers in {out}/ (total {time.time() - started:.0f} s)")
    return results


if __name__ == "__main__":
    main()
