"""
Title: The atomic autoencoder under another Keras backend (JAX), same numbers.
Reproduces: the check (docs/atomic.md) that the GPU path (Keras 3 with
`KERAS_BACKEND=jax`, no TensorFlow) computes
the same network as TensorFlow (Newson and Traonmilin 2023, section 2.3).

The model code (`AtomicDecoder`, `UpsampleConv2D`, the factory) uses
`keras.ops` only. This script builds `atomic_autoencoder(k=10, d0=3)` under
whatever backend Keras runs, loads the `atomic_spikes` entry's weights,
decodes fixed spike images and, with `--train-epochs`, fine-tunes on them
with `model.fit`. It saves the outputs and the losses; `--compare` reads
another backend's file and prints the largest differences.

The images come from a `.npy` file (`--images`), so that the JAX run needs
neither TensorFlow nor tf.data; write it once on the TensorFlow side.

Measured with v0.1.2 (jax 0.10.2 on the CPU, in a virtual environment without
TensorFlow): outputs equal to TensorFlow's within 1.8e-6 (values up to 0.95),
and 10 epochs of `fit` (Adam 1e-3, batch 8, 16 images) gave the same ten
losses as TensorFlow to the 4 digits printed.

Usage:
    python examples/atomic_jax_backend.py --write-images /tmp/x.npy --out /tmp/tf.npz
    KERAS_BACKEND=jax python examples/atomic_jax_backend.py --images /tmp/x.npy \\
        --out /tmp/jax.npz --compare /tmp/tf.npz
    (the first run may also take --train-epochs 10, and then so must the second)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--images", default=None, help=".npy of (N, 64, 64, 1) images")
    parser.add_argument("--write-images", default=None,
                        help="write 16 fresh spike images (seed 3) to this .npy first "
                             "(needs the TensorFlow side: the spikes renderer)")
    parser.add_argument("--weights", default=str(REPO / "saved_models" / "atomic_spikes" / "1"
                                                 / "atomic_spikes.weights.h5"))
    parser.add_argument("--train-epochs", type=int, default=10)
    parser.add_argument("--out", required=True, help=".npz of outputs and losses")
    parser.add_argument("--compare", default=None, help="another backend's .npz")
    return parser.parse_args()


def main():
    args = parse_args()
    sys.path.insert(0, str(REPO))
    if args.write_images:
        from geomae_tf.datasets import spikes

        images, _ = spikes.make_spikes(16, seed=3, image_size=64)
        np.save(args.write_images, np.asarray(images, np.float32))
        args.images = args.images or args.write_images
    if not args.images:
        raise SystemExit("error: give --images FILE.npy (or --write-images FILE.npy)")
    import keras

    from geomae_tf.models.atomic.atomic_autoencoder import atomic_autoencoder

    x = np.load(args.images)
    model = atomic_autoencoder(k=10, d0=3, image_size=x.shape[1])
    model.load_weights(args.weights)
    outputs = keras.ops.convert_to_numpy(model(x))
    losses = []
    if args.train_epochs:
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
        history = model.fit(x, x, batch_size=8, epochs=args.train_epochs, shuffle=False,
                            verbose=0)
        losses = history.history["loss"]
    backend = keras.backend.backend()
    np.savez(args.out, outputs=outputs, losses=np.asarray(losses), backend=backend)
    print(f"{backend}: output sum {outputs.sum():.4f}, MSE {np.mean((outputs - x) ** 2):.6f}, "
          f"fit losses {[round(float(v), 5) for v in losses]}")
    if args.compare:
        other = np.load(args.compare)
        print(f"against {other['backend']}: max |output difference| "
              f"{np.abs(other['outputs'] - outputs).max():.2e} (outputs up to "
              f"{np.abs(outputs).max():.2f}); max |loss difference| "
              f"{np.abs(other['losses'] - np.asarray(losses)).max() if len(losses) else 0:.2e}")


if __name__ == "__main__":
    main()
