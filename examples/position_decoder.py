"""Decoding a position: only continuous sampling works (JMIV 2020, section 5.4, Figure 10).

A 1-D convolutional decoder (filter depths 1, 2, 4, 4, 4, 8; 3-tap kernels;
biases; leaky ReLU) maps a scalar position z to a signal of length 64. It is
trained twice with the zoo recipe's schedule (zoo/position_decoder_1d.toml):
- on one-hot vectors at the 64 integer positions (the encoder's data, as in
  the CoordConv experiments), and
- on triangular Diracs y_a(t) = max(0, 1 - |t - a|) (eq. 19) at positions
  a ~ U(0, 63) (continuous sampling; the zoo entry position_decoder_1d).
Both are then asked to decode 1000 random continuous positions never seen in
training; the decoded peak is located with sub-sample precision (centroid of
the three samples around the maximum, exact on a triangular Dirac; the
parabolic vertex is printed too) and compared with z.

A decoder that could only snap to the nearest integer would score
sqrt(1/12) = 0.29 sample: the one-hot decoder does worse than that, the
continuous one better.

Default: one seed of each, about three minutes on one core. `--full`: 3 seeds.

Usage:
    python examples/position_decoder.py [--full] [--out figures/]
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

RECIPE = Path(__file__).resolve().parents[1] / "zoo" / "position_decoder_1d.toml"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="3 seeds of each")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's")
    parser.add_argument("--out", default="figures", help="folder for the figures")
    args = parser.parse_args()
    recipe = load_recipe(RECIPE)
    seeds = range(3 if args.full else 1)
    models, summary = {}, {}
    for mode in ("onehot", "continuous"):
        summary[mode] = []
        for seed in seeds:
            started = time.time()
            keras.utils.set_random_seed(seed)
            model = zoo.position_decoder(**recipe.model, name=f"decoder_{mode}")
            data = diracs.training_dataset(**{**recipe.data_kwargs(), "mode": mode,
                                              "seed": seed})
            model.compile(optimizer=keras.optimizers.Adam(recipe.training["learning_rate"]),
                          loss="mse")
            history = model.fit(data, epochs=args.epochs or recipe.training["epochs"],
                                verbose=0)
            m = analysis.evaluate_decoder(model, n_test=1000)
            summary[mode].append(m)
            models.setdefault(mode, model)
            print(f"trained on {mode:10s} seed {seed}: loss {history.history['loss'][-1]:.5f}; "
                  f"at 1000 random continuous positions: peak RMSE {m['peak_rmse']:.3f} "
                  f"sample (parabolic {m['peak_rmse_parabolic']:.3f}), max error "
                  f"{m['peak_max_error']:.2f}, errors > 1 sample {100 * m['outliers']:.1f}%, "
                  f"signal MSE {m['signal_mse']:.5f}; at the 64 integers: peak RMSE "
                  f"{m['peak_rmse_integer']:.3f} ({time.time() - started:.0f} s)")
    for mode, rows in summary.items():
        print(f"{mode:10s}: median peak RMSE at continuous positions "
              f"{np.median([r['peak_rmse'] for r in rows]):.3f} sample "
              f"(goal <= 0.5, ideally 0.2)")
    out = Path(args.out)
    labels = ["trained on one-hot (integer positions)", "trained on continuous positions"]
    paths = [analysis.plot_decoder_outputs([models["onehot"], models["continuous"]],
                                           out / "position_decoder.png", labels=labels),
             analysis.plot_decoder_profiles([models["onehot"], models["continuous"]],
                                            out / "position_decoder_profiles.png",
                                            labels=labels)]
    print("figures: " + ", ".join(str(p) for p in paths))


if __name__ == "__main__":
    main()
