"""
Title: Atomic decomposition of spikes and strokes
Reproduces: Newson and Traonmilin 2023, section 3, Figures 3-6.

An atomic autoencoder codes an image with k blocks z_1..z_k of d0 numbers
and decodes it as the sum g(z_1) + ... + g(z_k) of ONE shared block g. Trained
on nothing but the reconstruction error, each block comes to draw one simple
object: one spike (Figure 5) or one pen stroke (Figure 3). This script

1. takes the trained zoo entry (`atomic_spikes` / `atomic_strokes`) when it
   is available, or trains the k = 10, d0 = 3 network of section 2.3 on fresh
   images (a couple of minutes by default, the zoo recipe's schedule with
   `--full`, 80 CPU-minutes: under an hour on 2 cores);
2. draws the decomposition of a few test images into their atoms
   (Figures 3 and 5), the navigation of one block's coordinates inside the
   bounds of the training codes (Figure 6) and a latent interpolation between
   two images (Figure 4);
3. prints the reconstruction error and how many atoms are active per image.

Usage:
    python examples/atomic_decomposition.py                  # spikes, ~2-3 minutes
    python examples/atomic_decomposition.py --data strokes
    python examples/atomic_decomposition.py --full           # the zoo schedule (< 1 hour)
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import keras
import numpy as np

import geomae_tf
from geomae_tf.analysis import atomic
from geomae_tf.datasets import DATASETS

# ----------------------------------------------------------------------------
# Settings
# ----------------------------------------------------------------------------
ENTRY = {"spikes": "atomic_spikes", "strokes": "atomic_strokes"}
QUICK_STEPS = 250          # batch 64: about 16,000 images, a couple of minutes
FULL_STEPS = 12_000        # the zoo recipes: 60 epochs x 200 steps


def parse_args():
    parser = argparse.ArgumentParser(description="Atomic decomposition (Figures 3-6).")
    parser.add_argument("--data", choices=sorted(ENTRY), default="spikes")
    parser.add_argument("--full", action="store_true",
                        help=f"train {FULL_STEPS} steps (the zoo recipe) instead of "
                             f"{QUICK_STEPS}")
    parser.add_argument("--train", action="store_true",
                        help="train even if the zoo entry is available")
    parser.add_argument("--steps", type=int, default=None, help="override the step count")
    parser.add_argument("--out", default="figures", help="folder of the figures")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


# ----------------------------------------------------------------------------
# The model: the zoo entry, or a fresh one trained here
# ----------------------------------------------------------------------------
def get_model(args):
    entry = ENTRY[args.data]
    if not args.train and entry in geomae_tf.zoo.available_entries():
        print(f"Using the trained zoo entry {entry!r}.")
        return geomae_tf.zoo.load(entry)
    steps = args.steps or (FULL_STEPS if args.full else QUICK_STEPS)
    keras.utils.set_random_seed(args.seed)
    model = geomae_tf.zoo.atomic_autoencoder(k=10, d0=3, image_size=64, name=entry)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    data = DATASETS[args.data].training_dataset(batch_size=64, mode="stream", seed=args.seed)
    epochs = math.ceil(steps / 200)
    per_epoch = math.ceil(steps / epochs)
    print(f"Training atomic_autoencoder(k=10, d0=3) on fresh {args.data} for "
          f"{epochs * per_epoch} steps of 64 images...")
    started = time.time()
    model.fit(data, epochs=epochs, steps_per_epoch=per_epoch, shuffle=False, verbose=2)
    print(f"  trained in {time.time() - started:.0f} s")
    return model


# ----------------------------------------------------------------------------
# Figures and numbers
# ----------------------------------------------------------------------------
def main():
    args = parse_args()
    out = Path(args.out)
    model = get_model(args)
    module = DATASETS[args.data]
    maker = getattr(module, f"make_{args.data}")
    images, factors = maker(6, seed=7)

    bounds = atomic.latent_bounds(atomic.training_codes(model, args.data, n=1000))
    name = f"atomic_{args.data}"
    paths = [
        atomic.decomposition_figure(model, images[:4], out / f"{name}_decomposition.png",
                                    factors.get("positions"), factors.get("count")),
        atomic.navigation_figure(model, images[0], out / f"{name}_navigation.png", bounds),
        atomic.interpolation_figure(model, images[4], images[5],
                                    out / f"{name}_interpolation.png"),
    ]

    test, test_factors = maker(200, seed=atomic.EVAL_SEED)
    atoms = model.atoms(test)
    mse = float(np.mean((atoms.sum(axis=1) - test) ** 2))
    active = (atoms.max(axis=(2, 3, 4)) > atomic.ACTIVE_THRESHOLD).sum(axis=1)
    objects = test_factors["count"]
    print(f"\nOn 200 fresh {args.data} images:")
    print(f"  reconstruction MSE per pixel        {mse:.5f}")
    print(f"  active atoms per image (peak > {atomic.ACTIVE_THRESHOLD})  {active.mean():.2f}"
          f"   (true objects per image: {objects.mean():.2f})")
    if active.std() > 0:
        print(f"  correlation active atoms / objects  {np.corrcoef(active, objects)[0, 1]:.3f}")
    else:
        print("  (no atom is bright yet: a short run only checks the pipeline; train with "
              "--full or use the zoo entry for the paper's decompositions)")
    print("\nFigures:")
    for path in paths:
        print(f"  {path}")


if __name__ == "__main__":
    main()
