"""Organising the latent space of an existing generator with a PCA-AE.

Reproduces the idea of the talk "Understanding and organising the latent
space of autoencoders" (slides 41-47; Pham, Ladjal, Newson): instead of a
pre-trained GAN, our own generator is the decoder of a plain autoencoder with
a 16-D latent space trained briefly on ellipses. Around the code z0 of one
ellipse, codes z0 + eta (eta ~ N(0, sigma^2 I)) are re-organised by a PCA-AE
trained on ||G(z0 + eta) - G(z0 + D(E(eta)))||^2 + lambda L_cov.

Printed numbers show that the new axes are
- ordered by reconstruction importance (the image error with the first j
  axes decreases with j; setting axis i to 0 changes the image less and less
  as i grows), and
- decorrelated (|corr| between organised axes),
where the generator's own 16 axes have no such order. The figure compares
navigating the three most important raw axes with the organised ones.

    python examples/pca_organise_generator.py --out figures/      # ~ minutes
    python examples/pca_organise_generator.py --full              # longer
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np

from geomae_tf.analysis import pca as analysis
from geomae_tf.datasets import ellipses
from geomae_tf.models.pca import plain_autoencoder
from geomae_tf.training.organise_generator import organise_generator

QUICK = {"ae_steps": 600, "stage_epochs": 5, "stage_steps": 100, "batch_size": 64}
FULL = {"ae_steps": 6000, "stage_epochs": 10, "stage_steps": 300, "batch_size": 128}


def train_generator(steps, latent_dim=16, seed=0):
    """A plain autoencoder on ellipses; its decoder is the generator G."""
    keras.utils.set_random_seed(seed)
    data = ellipses.training_dataset(batch_size=64, mode="stream", seed=seed)
    ae = plain_autoencoder(latent_dim=latent_dim, decoder_depths=(1, 1, 1, 2, 2),
                           encoder_depths=(4, 2, 2, 1, 1), name="generator_ae")
    ae.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(
        2e-3, steps, alpha=0.05)), loss="binary_crossentropy")
    epochs = max(1, steps // 200)
    ae.fit(data, epochs=epochs, steps_per_epoch=max(1, steps // epochs), verbose=0)
    return ae


def navigation_figure(path, rows, labels, values):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_rows, n_cols = len(rows), rows[0].shape[0]
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.3 * n_cols, 1.4 * n_rows),
                             squeeze=False)
    for i, row in enumerate(rows):
        for j in range(n_cols):
            axes[i, j].imshow(row[j, ..., 0], cmap="gray", vmin=0, vmax=1)
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
            axes[i, j].set_title(f"{values[j]:+.1f}", fontsize=7)
        axes[i, 0].set_ylabel(labels[i], fontsize=8)
    fig.suptitle("around z0: raw generator axes (top) vs PCA-AE axes (bottom), in units "
                 "of each axis' std")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--out", default="figures")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sigma", type=float, default=0.5)
    parser.add_argument("--axes", type=int, default=3, help="organised axes (stages)")
    parser.add_argument("--lambda-cov", type=float, default=1.0)
    args = parser.parse_args(argv)
    schedule = FULL if args.full else QUICK
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    started = time.time()
    ae = train_generator(schedule["ae_steps"], seed=args.seed)
    generator = ae.decoder
    centre_image = ellipses.render_ellipses([18.0], [9.0], [30.0]).numpy()
    z0 = ae.encode(centre_image)[0]
    print(f"generator trained in {time.time() - started:.0f} s; z0 = code of an ellipse "
          f"(a = 18, b = 9, 30 deg), sigma = {args.sigma}")

    model, _ = organise_generator(generator, z0, args.sigma, latent_dim=args.axes,
                                  lambda_cov=args.lambda_cov,
                                  epochs_per_stage=schedule["stage_epochs"],
                                  steps_per_epoch=schedule["stage_steps"],
                                  batch_size=schedule["batch_size"], learning_rate=2e-3,
                                  seed=args.seed)
    report = analysis.organisation_report(model, generator, z0, args.sigma)
    print(f"PCA-AE trained; total {time.time() - started:.0f} s\n")
    print("image MSE with the first j organised axes (must decrease):",
          [round(v, 6) for v in report["mse_by_components"]])
    print("importance of each organised axis (image MSE when it alone is set to 0):",
          [round(v, 6) for v in report["axis_importance"]])
    raw = np.asarray(report["raw_axis_importance"])
    print("importance of the generator's own 16 axes, sorted:",
          [round(v, 6) for v in np.sort(raw)[::-1]])
    print(f"share of the variation explained by the {args.axes} organised axes: "
          f"{report['variance_explained_by_k_axes']:.3f}; by the {args.axes} best raw "
          f"axes: {report['variance_explained_by_k_best_raw_axes']:.3f}")
    print(f"max |corr| between organised axes: {report['latent_abs_corr_max']:.3f}")

    steps = np.linspace(-2.0, 2.0, 7)
    rows, labels = [], []
    best_raw = np.argsort(raw)[::-1][:args.axes]
    for i in best_raw:
        codes = np.tile(z0, (len(steps), 1))
        codes[:, i] += args.sigma * steps
        rows.append(generator.predict(codes, verbose=0))
        labels.append(f"raw axis {i}")
    eta = (args.sigma * np.random.default_rng(1).normal(size=(2000, z0.size))).astype("f4")
    spread = model.encode(eta).std(axis=0)
    for i in range(args.axes):
        codes = np.zeros((len(steps), args.axes), np.float32)
        codes[:, i] = steps * spread[i]
        rows.append(model.decode(codes))
        labels.append(f"PCA-AE axis {i + 1}")
    navigation_figure(out / "pca_organise_generator.png", rows, labels, steps)
    (out / "pca_organise_generator.json").write_text(json.dumps(report, indent=2))
    print(f"figure and numbers in {out}/")
    return report


if __name__ == "__main__":
    main()
