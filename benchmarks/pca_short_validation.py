"""Short validation of the `pca_ae_ellipses` recipe through `geomae train`'s code path.

Runs `geomae_tf.training.trainer.train` on `zoo/pca_ae_ellipses.toml` with
fewer epochs per stage (`--epochs`) and the recipe's own trainer
(`progressive`) and evaluator (family `pca`), without exporting, on a copy
of the recipe in `--out`. Prints the
per-stage losses, the training time and the evaluation (correlation table,
latent |corr|, targets).

    TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 \
        python benchmarks/pca_short_validation.py --epochs 3 --out /tmp/pca_validation
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from geomae_tf.training import trainer


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="zoo/pca_ae_ellipses.toml")
    parser.add_argument("--epochs", type=int, default=3, help="epochs PER STAGE")
    parser.add_argument("--out", default="/tmp/pca_validation")
    args = parser.parse_args(argv)
    # Work on a copy: `train` writes `<recipe>.results.json` beside the recipe,
    # and a short run's numbers must not land in zoo/.
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    recipe = out / Path(args.recipe).name
    shutil.copyfile(args.recipe, recipe)
    started = time.time()
    model, results = trainer.train(recipe, out_dir=args.out, export=False,
                                   evaluate=True, epochs=args.epochs, verbose=2,
                                   command=f"benchmarks/pca_short_validation.py --epochs "
                                           f"{args.epochs}")
    print(json.dumps(results, indent=1, default=float))
    print(f"wall {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
