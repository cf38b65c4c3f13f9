"""The PCA-AE against a plain autoencoder, a VAE and a beta-VAE, with numbers.

The comparison of the PCA-AE papers (Pham, Ladjal and Newson, JMIV 2022,
section 5; PCA-AE talks, slides 49-51), measured the way the
disentanglement literature measures (MIG, DCI, SAP): every baseline has the
PCA-AE's encoder and decoder shapes (`geomae_tf.models.pca.plain_autoencoder`
and `vae`), so only the training of the latent differs. On fresh data of
each dataset the script reports

- the reconstruction MSE,
- MIG, DCI (disentanglement, completeness, informativeness) and SAP against
  the ground-truth factors (ellipses: semi-axes a, b and rotation; grey
  disks: radius and grey level), `geomae_tf.analysis.disentanglement`,
- the attribute-correlation table of the PCA-AE talk (ellipses: area, h/v ratio,
  diagonal ratio; grey disks: radius, grey level, area) and the largest
  |corr| between two latent axes,
- the training budget of each model (optimizer steps, images, seconds),

as a markdown table (printed and written to `<out>/pca_baselines.md`), a JSON
file, and the latent navigation grid of every model.

On ellipses the PCA-AE is the trained zoo entry `pca_ae_ellipses` if it is
installed (its recipe's budget is reported), otherwise it is trained here with
the baselines' budget; on grey disks a 2-unit PCA-AE is trained here. Every
baseline: the fixed training sets of the zoo recipe (12,800 images), batch
128, binary cross-entropy, Adam 2e-3 with a cosine decay, `--steps` steps.

    python examples/pca_baselines_comparison.py                 # minutes: 300 steps each
    python examples/pca_baselines_comparison.py --steps 3000 --out figures/baselines
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np

from geomae_tf import datasets, zoo
from geomae_tf.analysis import disentanglement
from geomae_tf.analysis import pca as analysis
from geomae_tf.models.pca import pca_autoencoder, plain_autoencoder, vae
from geomae_tf.training.progressive import train_progressive

BATCH_SIZE = 128
LEARNING_RATE = 2e-3
N_TRAIN = 12_800
BETA = 4.0
#: The baselines, by the name the tables use: (factory, keyword arguments).
BASELINES = {
    "plain AE": (plain_autoencoder, {}),
    "VAE": (vae, {"beta": 1.0}),
    f"beta-VAE (beta = {BETA:g})": (vae, {"beta": BETA}),
}
LATENT_DIM = {"ellipses": 3, "grey_disks": 2}


def training_data(dataset, seed):
    return datasets.DATASETS[dataset].training_dataset(batch_size=BATCH_SIZE, mode="fixed",
                                                       seed=seed, n_train=N_TRAIN)


def _steps_and_epochs(steps):
    per_epoch = N_TRAIN // BATCH_SIZE
    epochs = max(1, round(steps / per_epoch))
    return epochs, min(per_epoch, steps)


def train_baseline(factory, kwargs, dataset, steps, seed):
    """One baseline trained with `model.fit`; returns (model, budget dict)."""
    keras.utils.set_random_seed(seed)
    model = factory(latent_dim=LATENT_DIM[dataset], **kwargs)
    epochs, per_epoch = _steps_and_epochs(steps)
    schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, epochs * per_epoch,
                                                      alpha=0.01)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="binary_crossentropy")
    started = time.time()
    model.fit(training_data(dataset, seed), epochs=epochs, steps_per_epoch=per_epoch,
              callbacks=[keras.callbacks.TerminateOnNaN()], verbose=0)
    return model, {"steps": epochs * per_epoch, "images": epochs * per_epoch * BATCH_SIZE,
                   "seconds": round(time.time() - started, 1)}


def train_pca(dataset, steps, seed, lambda_cov=3.0):
    """A PCA-AE trained progressively, `steps` optimizer steps in all."""
    keras.utils.set_random_seed(seed)
    n = LATENT_DIM[dataset]
    model = pca_autoencoder(latent_dim=n, lambda_cov=lambda_cov)
    epochs, per_epoch = _steps_and_epochs(max(1, steps // n))
    started = time.time()
    train_progressive(model, training_data(dataset, seed), epochs_per_stage=epochs,
                      steps_per_epoch=per_epoch, learning_rate=LEARNING_RATE,
                      cosine_decay=True, verbose=0)
    return model, {"steps": n * epochs * per_epoch,
                   "images": n * epochs * per_epoch * BATCH_SIZE,
                   "seconds": round(time.time() - started, 1)}


def zoo_pca():
    """The zoo's `pca_ae_ellipses` and its recipe's budget, or None if not installed."""
    if "pca_ae_ellipses" not in zoo.available_entries():
        return None
    results = zoo.entry_config("pca_ae_ellipses").get("results", {})
    from geomae_tf.training.recipe import load_recipe

    recipe = load_recipe(Path(__file__).resolve().parents[1] / "zoo" / "pca_ae_ellipses.toml")
    training = recipe.training
    per_epoch = training["steps_per_epoch"] or recipe.data.get("n_train", N_TRAIN) // \
        training["batch_size"]
    epochs = training["epochs"]
    steps = (sum(epochs) if isinstance(epochs, list) else 3 * epochs) * per_epoch
    return zoo.load("pca_ae_ellipses"), {
        "steps": steps, "images": steps * training["batch_size"],
        "seconds": results.get("train_seconds"), "source": "zoo entry pca_ae_ellipses"}


def measure(model, dataset, n_test, seed):
    """MSE, disentanglement scores and the attribute-correlation table."""
    if dataset == "ellipses":
        table = analysis.evaluate(model, n_test=n_test, renderer="exact")
    else:
        table = analysis.evaluate_grey_disks(model, n_test=n_test)
        latent = np.asarray(table["latent_corr"])
        table["latent_abs_corr_max"] = float(np.abs(latent - np.eye(len(latent))).max())
    scores = disentanglement.dataset_scores(dataset, model, n=n_test, seed=seed)
    return {"mse": table["mse"], **scores, "table": table["table"],
            "attributes": table["attributes"],
            "latent_abs_corr_max": table["latent_abs_corr_max"]}


def markdown(dataset, rows):
    attributes = next(iter(rows.values()))["metrics"]["attributes"]
    head = ("| model | MSE | MIG | DCI dis. | DCI comp. | DCI info. | SAP | "
            "|corr| axes x (" + ", ".join(attributes) + ") | max |corr| between axes | "
            "steps | images | seconds |")
    lines = [f"### {dataset}", "", head, "|" + " --- |" * 12]
    for name, row in rows.items():
        m, b = row["metrics"], row["budget"]
        table = "; ".join("z{}: {}".format(i + 1, " ".join(f"{v:.2f}" for v in r))
                          for i, r in enumerate(m["table"]))
        lines.append(
            f"| {name} | {m['mse']:.4f} | {m['mig']:.3f} | {m['dci_disentanglement']:.3f} | "
            f"{m['dci_completeness']:.3f} | {m['dci_informativeness']:.3f} | {m['sap']:.3f} | "
            f"{table} | {m['latent_abs_corr_max']:.3f} | {b['steps']} | {b['images']} | "
            f"{b['seconds']} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300,
                        help="optimizer steps of each model trained here (default 300)")
    parser.add_argument("--grey-disks-steps", type=int, default=None,
                        help="steps of each model on grey disks (default: --steps)")
    parser.add_argument("--datasets", nargs="+", default=["ellipses", "grey_disks"],
                        choices=sorted(LATENT_DIM))
    parser.add_argument("--train-pca", action="store_true",
                        help="train the ellipses PCA-AE here even if the zoo entry exists")
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="figures/baselines")
    args = parser.parse_args(argv)
    steps = {"ellipses": args.steps, "grey_disks": args.grey_disks_steps or args.steps}
    for name, value in steps.items():
        if value < 1:
            parser.error(f"the steps on {name} must be at least 1. Received: {value}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    report, sections = {}, []
    for dataset in args.datasets:
        models = {}
        found = zoo_pca() if dataset == "ellipses" and not args.train_pca else None
        models["PCA-AE"] = found or train_pca(dataset, steps[dataset], args.seed)
        for name, (factory, kwargs) in BASELINES.items():
            models[name] = train_baseline(factory, kwargs, dataset, steps[dataset], args.seed)
            print(f"{dataset}: {name} trained ({models[name][1]['seconds']} s)", flush=True)
        train_images, _ = getattr(datasets.DATASETS[dataset], f"make_{dataset}")(
            2000, seed=args.seed + 11)
        rows = {}
        for name, (model, budget) in models.items():
            rows[name] = {"metrics": measure(model, dataset, args.n_test, seed=31_415),
                          "budget": budget}
            slug = name.split(" (")[0].replace(" ", "_").replace("-", "_").lower()
            analysis.navigation_grid(model, model.encode(train_images),
                                     out / f"{dataset}_navigation_{slug}.png",
                                     title=f"{name} on {dataset}: latent navigation")
        report[dataset] = rows
        sections.append(markdown(dataset, rows))
        print("\n" + sections[-1] + "\n", flush=True)

    text = ("# PCA-AE against its baselines (examples/pca_baselines_comparison.py)\n\n"
            f"Fresh test data: {args.n_test} images per dataset. Command: "
            f"`python examples/pca_baselines_comparison.py --steps {args.steps} "
            f"--grey-disks-steps {steps['grey_disks']}`.\n\n"
            + "\n\n".join(sections) + "\n")
    (out / "pca_baselines.md").write_text(text)
    (out / "pca_baselines.json").write_text(json.dumps(report, indent=2, default=float))
    print(f"tables, numbers and navigation grids in {out}/")
    return report


if __name__ == "__main__":
    main()
