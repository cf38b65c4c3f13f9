"""Max pooling breaks position encoding (JMIV 2020 talk, position slides).

The position encoder of section 5.3 subsamples with stride-2 convolutions;
the talk shows that the same encoder with max pooling instead (stride-1
3-tap convolution, leaky ReLU, max over pairs) does not extract the
position of a one-hot vector. Both are trained on the 64 one-hot vectors
with the zoo recipe's schedule (zoo/position_encoder_1d.toml); we report how
far each output is from an affine function of the position: |correlation|,
the RMSE (in samples) of the position read back through the best affine
fit, and how many of the 64 positions get an output that cannot be told
apart from another one's (closer than 0.5 sample after the affine fit).

Default: one seed of each, about two minutes on one core. `--full`: 4 seeds.

Usage:
    python examples/position_max_pooling.py [--full] [--out figures/]
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


def confusable(outputs, fit):
    """Positions whose read-back position is within 0.5 sample of another's."""
    read = (np.asarray(outputs) - fit["intercept"]) / (fit["slope"] or 1.0)
    gaps = np.abs(read[:, None] - read[None, :]) + np.eye(len(read)) * 1e9
    return int(np.sum(gaps.min(1) < 0.5))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="4 seeds of each")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's")
    parser.add_argument("--out", default="figures", help="folder for the figure")
    args = parser.parse_args()
    recipe = load_recipe(RECIPE)
    seeds = range(4 if args.full else 1)
    signals, positions = diracs.onehots(64)
    outputs = {}
    summary = {}
    for pooling in ("strided", "max"):
        summary[pooling] = []
        for seed in seeds:
            started = time.time()
            keras.utils.set_random_seed(seed)
            model = zoo.position_encoder(**{**recipe.model, "pooling": pooling})
            data = diracs.training_dataset(**{**recipe.data_kwargs(), "seed": seed})
            model.compile(optimizer=keras.optimizers.Adam(recipe.training["learning_rate"]),
                          loss="mse")
            history = model.fit(data, epochs=args.epochs or recipe.training["epochs"],
                                verbose=0)
            m = analysis.evaluate_encoder(model, n_test=500)
            out = analysis.encode_positions(model, signals)
            m["confusable"] = confusable(out, m)
            summary[pooling].append(m)
            if seed == 0:
                outputs[f"{pooling} (seed 0)"] = out
            print(f"{pooling:8s} seed {seed}: loss {history.history['loss'][-1]:.4g}, |corr| = "
                  f"{m['abs_corr']:.6f}, affine-fit RMSE = {m['fit_rmse']:.3f} samples, raw "
                  f"RMSE = {m['position_rmse']:.3f}, confusable positions = "
                  f"{m['confusable']}/64, min |cos| with [1,2,1] = {m['min_abs_cosine']:.3f} "
                  f"({time.time() - started:.0f} s)")
    for pooling, rows in summary.items():
        print(f"{pooling:8s}: median |corr| {np.median([r['abs_corr'] for r in rows]):.6f}, "
              f"median fit RMSE {np.median([r['fit_rmse'] for r in rows]):.3f} samples, "
              f"median confusable {np.median([r['confusable'] for r in rows]):.0f}/64")
    path = analysis.plot_encoder_outputs(outputs, Path(args.out) / "position_max_pooling.png")
    print(f"figure: {path}")


if __name__ == "__main__":
    main()
