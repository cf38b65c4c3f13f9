"""What sets the PCA-AE's correlation-table entries on ellipses (PCA-AE talk,
slides 46-50).

The zoo's targets are Pearson |corr| entries between the latent axes and
three image attributes (area; horizontal/vertical ratio; diagonal ratio; see
`geomae_tf.analysis.pca`). This script measures, on the evaluation's 1000
fresh ellipses, the three things that set them besides how well an axis
codes the elongation:

1. the axis's parametrisation: the exact log aspect ratio along the h/v
   direction, u = log(a/b) cos 2theta, and exp(u) (the same ranks) score
   very differently in Pearson, the ratios being heavy-tailed;
2. the axis's direction: how much an exact axis turned by a few degrees
   leaks into the other ratio, and the near-degenerate pair of elongation
   components of the training set (linear PCA);
3. the area attribute's own correlation with the ratios (what a faithful
   area axis shows).

With `--restarts SEED ...` it also retrains stage 2 of the zoo entry from
the entry's stage 1, once per seed (same images, the recipe's stage-2
settings), and prints, for each restart, the direction its new axis follows
(`elongation_directions`) and its table entries. A restart took 744 s on
2 CPU cores, partly shared (seed 2).

    python examples/pca_axis_directions.py
    python examples/pca_axis_directions.py --restarts 2 3
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from geomae_tf import datasets, zoo
from geomae_tf.analysis import pca as analysis
from geomae_tf.datasets import ellipses
from geomae_tf.training import progressive, trainer
from geomae_tf.training.recipe import load_recipe

RECIPE = Path(__file__).resolve().parents[1] / "zoo" / "pca_ae_ellipses.toml"
RATIOS = ("hv_ratio", "diag_ratio")


def row(values):
    return "  ".join(f"{v:6.3f}" for v in values)


def exact_codes(factors, attrs):
    e = np.log(factors["a"] / factors["b"])
    theta = np.deg2rad(factors["rotation"])
    ratios = {k: attrs[k] for k in RATIOS}
    print("1. Parametrisation: |corr| with (h/v ratio, diagonal ratio)")
    u = e * np.cos(2 * theta)
    for name, code in (("u = log(a/b) cos 2theta", u), ("exp(u), same ranks", np.exp(u))):
        pearson = analysis.correlation_table(code[:, None], ratios)[0]
        ranks = analysis.correlation_table(code[:, None], ratios, "spearman")[0]
        print(f"   {name:26s} Pearson {row(pearson)}   Spearman {row(ranks)}")
    print("2. Direction: the exact axis u turned by delta degrees")
    for delta in (0, 2, 4, 8, 12):
        turned = e * np.cos(2 * (theta - np.deg2rad(delta)))
        print(f"   delta = {delta:2d}: Pearson {row(analysis.correlation_table(turned[:, None], ratios)[0])}")
    print("3. Area: |corr| of the exact area code pi a b with (area, h/v, diagonal)")
    area = (np.pi * factors["a"] * factors["b"])[:, None]
    every = {k: attrs[k] for k in analysis.ATTRIBUTES}
    print(f"   Pearson {row(analysis.correlation_table(area, every)[0])}   "
          f"Spearman {row(analysis.correlation_table(area, every, 'spearman')[0])}")


def training_pair(recipe):
    images, _ = ellipses.make_ellipses(recipe.data["n_train"], seed=recipe.training["seed"])
    pair = analysis.sample_elongation_directions(images)
    print("   linear PCA of the entry's training images, elongation pair: "
          + ", ".join(f"{d['angle_deg']:+.1f} deg (variance {d['variance']:.2f})" for d in pair))


def describe(name, z, factors, attrs):
    every = {k: attrs[k] for k in analysis.ATTRIBUTES}
    table = analysis.correlation_table(z, every)
    ranks = analysis.correlation_table(z, every, "spearman")
    (direction,) = analysis.elongation_directions(z[:, 1:2], factors)
    print(f"   {name}: axis 2 at {direction['angle_deg']:+.1f} deg "
          f"({direction['grid_offset_deg']:.1f} off the grid); z2 Pearson {row(table[1])}, "
          f"Spearman {row(ranks[1])}; z1-z2 |corr| {abs(np.corrcoef(z[:, 0], z[:, 1])[0, 1]):.3f}")


def restarts(seeds, images, factors, attrs):
    recipe = load_recipe(RECIPE)
    training = recipe.training
    describe("the entry", zoo.pca_autoencoder(latent_dim=3, weights="pca_ae_ellipses")
             .encode(images)[:, :2], factors, attrs)
    for seed in seeds:
        started = time.time()
        trainer.seed_run(seed)
        entry = zoo.pca_autoencoder(latent_dim=3, weights="pca_ae_ellipses")
        model = zoo.pca_autoencoder(latent_dim=3, lambda_cov=recipe.model["lambda_cov"])
        model.stage_encoders[0].set_weights(entry.stage_encoders[0].get_weights())
        model.stage_decoders[0].set_weights(entry.stage_decoders[0].get_weights())
        data = datasets.DATASETS["ellipses"].training_dataset(**recipe.data_kwargs())
        progressive.train_stage(model, 2, data, training["epochs"], training["learning_rate"],
                                training["loss"], training["steps_per_epoch"], verbose=0,
                                beta_1=training["beta_1"],
                                cosine_decay=training["lr_schedule"] == "cosine")
        describe(f"restart seed {seed} ({time.time() - started:.0f} s)",
                 model.encode(images)[:, :2], factors, attrs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restarts", type=int, nargs="*", default=[], metavar="SEED",
                        help="retrain stage 2 from the entry's stage 1 with these seeds")
    parser.add_argument("--n-test", type=int, default=1000)
    args = parser.parse_args(argv)
    if any(seed < 0 for seed in args.restarts):
        parser.error(f"--restarts takes seeds >= 0. Received: {args.restarts}")
    images, factors, attrs = analysis.fresh_ellipses(args.n_test)
    exact_codes(factors, attrs)
    training_pair(load_recipe(RECIPE))
    if args.restarts:
        print(f"Stage 2 of pca_ae_ellipses, restarted from its stage 1 (seeds {args.restarts}):")
        restarts(args.restarts, images, factors, attrs)


if __name__ == "__main__":
    main()
