"""Trained position encoders find the [1, 2, 1] filter (JMIV 2020, section 5.3, Figure 9).

A 1-D encoder with one channel per level, 3-tap kernels, stride 2 (at even
positions), biases and leaky ReLU, 64 -> 1, is trained on the 64 one-hot
vectors
- supervised by the position, as in the talk (zoo entry position_encoder_1d,
  recipe zoo/position_encoder_1d.toml), and
- as the encoder of an autoencoder with a 1-D code (the paper's set-up),
then each level's kernel is compared with [1, 2, 1] (cosine similarity; the
filter works up to any factor b, so |cos| is what counts) and the output
with the position (|correlation| over the 64 positions).

The supervised network is trained on the inverted position 64 - a (a fixed
output map keeps the model's output in sample units); `--full` also trains
it on a directly, which the same schedule rarely solves. The autoencoder
also prints |Spearman| (is its code at least monotone in the position?) and
its reconstruction loss (0.0156 is what the all-zero output scores on
one-hot vectors).

Default: one seed of each model, about four minutes on one core.
`--full`: 8 seeds of each, and the direct-position variant (about 35 min).

Usage:
    python examples/position_learned_filters.py [--full] [--out figures/]
"""

import argparse
import time
from pathlib import Path

import keras
import numpy as np

from geomae_tf import zoo
from geomae_tf.analysis import position as analysis
from geomae_tf.datasets import diracs
from geomae_tf.training.recipe import load_recipe

RECIPE = Path(__file__).resolve().parents[1] / "zoo" / "position_encoder_1d.toml"


def train(model_kwargs, data_kwargs, training, seed, epochs=None):
    """Builds and trains one encoder as the recipe does (Adam, constant rate, MSE).

    Returns the model and its final training loss.
    """
    keras.utils.set_random_seed(seed)
    model = zoo.position_encoder(**model_kwargs)
    data = diracs.training_dataset(**{**data_kwargs, "seed": seed})
    model.compile(optimizer=keras.optimizers.Adam(training["learning_rate"]), loss="mse")
    history = model.fit(data, epochs=epochs or training["epochs"], verbose=0)
    return model, float(history.history["loss"][-1])


def run(name, model_kwargs, data_kwargs, training, seeds, epochs):
    print(f"\n== {name} ==")
    print(f"   model {model_kwargs}; data {data_kwargs}; Adam {training['learning_rate']}, "
          f"{epochs or training['epochs']} epochs")
    rows, kernels = [], []
    for seed in seeds:
        started = time.time()
        model, loss = train(model_kwargs, data_kwargs, training, seed, epochs)
        m = analysis.evaluate_encoder(model, n_test=500)
        m["loss"] = loss
        rows.append(m)
        kernels.append(analysis.encoder_kernels(model))
        print(f"   seed {seed}: |corr| = {m['abs_corr']:.7f}, min |cos| = "
              f"{m['min_abs_cosine']:.5f}, cos per level = "
              f"{[round(c, 4) for c in m['cosines']]}, fit RMSE = {m['fit_rmse']:.3f} samples, "
              f"|Spearman| = {m['abs_spearman']:.4f}, final loss = {m['loss']:.4g}"
              f"{', goals met' if m['meets_goals'] else ''} ({time.time() - started:.0f} s)")
        for level, k in enumerate(kernels[-1]):
            live = analysis.live_taps(level, len(kernels[-1]))
            shown = k / np.abs(k[live]).max()
            print(f"      level {level + 1}: kernel {np.round(k, 3).tolist()} -> "
                  f"{np.round(shown, 3).tolist()}"
                  f"{'  (left tap reads only padding)' if len(live) < 3 else ''}")
    ok = sum(m["meets_goals"] for m in rows)
    print(f"   goals (every level |cos| >= 0.99, |corr| >= 0.9999) met by {ok}/{len(rows)} seeds")
    return rows, kernels


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="8 seeds and the direct target")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's")
    parser.add_argument("--out", default="figures", help="folder for the figures")
    args = parser.parse_args()
    recipe = load_recipe(RECIPE)
    seeds = list(range(args.seeds or (8 if args.full else 1)))
    data = {k: v for k, v in recipe.data_kwargs().items()}
    training = recipe.training

    supervised, sup_kernels = run("supervised by the position (zoo recipe)", recipe.model,
                                  data, training, seeds, args.epochs)
    ae_model = {"supervised": False}
    ae_data = {**data, "task": "autoencode"}
    autoencoder, ae_kernels = run("encoder of an autoencoder with a 1-D code", ae_model,
                                  ae_data, training, seeds, args.epochs)
    kernel_sets = [sup_kernels[0], ae_kernels[0]]
    labels = ["supervised", "autoencoder"]
    if args.full:
        direct = {**recipe.model, "output_scale": 1.0, "output_offset": 0.0}
        direct_rows, direct_kernels = run("supervised, trained on a directly", direct, data,
                                          training, seeds, args.epochs)
        kernel_sets.append(direct_kernels[0])
        labels.append("direct target")

    out = Path(args.out)
    path = analysis.plot_kernels(kernel_sets, out / "position_learned_filters.png", labels,
                                 title="Figure 9: learned kernels per level (seed 0)")
    print(f"\nfigure: {path}")


if __name__ == "__main__":
    main()
