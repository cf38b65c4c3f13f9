"""Keras Tuner sweeps the regularisation weight lambda on the hole set (JMIV 2020, Figure 8).

For each regulariser, a grid search over lambda (log scale, plus lambda = 0)
trains one network per value from the same initialisation on disks whose
radii 11-18 were removed; the objective is the reconstruction MSE on fresh
disks whose radii fall in the hole. Writes, per regulariser, a table
(`lambda_sweep.md/.json`) and the code-vs-radius curves for every lambda
(`lambda_sweep.png`, Figure 8) under `<out>/lambda_sweep/`, and prints the
tables. The settings are those of `examples/recipes/size_hole_study.toml`
(60 epochs, constant rate, as the 5-seed study of size_hole_regularisers.py);
the zoo entry's own sweep, on its own schedule: `geomae tune zoo/disk_ae_hole_encreg.toml`.

Usage:
    python examples/size_lambda_sweep.py                  # type 3, 3 lambdas x 3 epochs
    python examples/size_lambda_sweep.py --full           # every regulariser, the recipe's
                                                          # 6 lambdas x 60 epochs (hours)
"""

import argparse
from pathlib import Path

from geomae_tf.training import tuning
from geomae_tf.training.recipe import load_recipe

#: The study's fixed settings (60 epochs, constant rate), shared with size_hole_regularisers.py.
RECIPE = Path(__file__).resolve().parent / "recipes" / "size_hole_study.toml"
REGULARIZERS = ["encoder_weight_decay", "weight_decay", "latent_distance", "denoising"]
QUICK_LAMBDAS = {"encoder_weight_decay": [0.0, 1e-4, 1e-2], "weight_decay": [0.0, 1e-5, 1e-3],
                 "latent_distance": [0.0, 1e-3, 1e-1], "denoising": [0.0, 0.03, 0.3]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true",
                        help="every regulariser, the recipe's lambdas and epochs")
    parser.add_argument("--regularizers", nargs="+", default=None, choices=REGULARIZERS)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--recipe", default=str(RECIPE))
    parser.add_argument("--out", default="figures")
    args = parser.parse_args()
    regularizers = args.regularizers or (REGULARIZERS if args.full else REGULARIZERS[:1])
    epochs = args.epochs or (None if args.full else 3)
    out = Path(args.out) / ("lambda_sweep" if args.full else "lambda_sweep_quick")
    entry = load_recipe(args.recipe).entry
    for reg in regularizers:
        overrides = {"regularizer": reg}
        if args.full:
            overrides["lambda_range"] = tuning.DEFAULT_RANGES[reg]
        else:
            overrides.update({"lambdas": QUICK_LAMBDAS[reg], "n_val": 100, "n_test": 150})
        tuning.tune_from_recipe(args.recipe, out_dir=out, epochs=epochs, overrides=overrides)
        folder = out / f"{entry}_{reg}"
        print((folder / "lambda_sweep.md").read_text())
        print("figure:", folder / "lambda_sweep.png")


if __name__ == "__main__":
    main()
