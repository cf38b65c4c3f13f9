"""Throughput of the disk autoencoder (JMIV 2020, Table 1 network): training fed from in-memory
arrays against the on-the-fly `tf.data` pipelines, and SavedModel inference.

Usage:
    python benchmarks/disk_ae_throughput.py [--epochs 6] [--saved-model saved_models/disk_ae/1]

Prints images/s for each way of feeding `model.fit` (the first epoch, which
traces the graph, is not timed) and the pipeline's overhead relative to the
arrays, then SavedModel `serving_default` images/s at batch 1 and 256.
Numbers depend on the machine and on what else runs on it: run it alone.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from geomae_tf import zoo  # noqa: E402
from geomae_tf.datasets import disks  # noqa: E402


class EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)


def train_rate(make_data, epochs, n_images, steps_per_epoch=None):
    keras.utils.set_random_seed(0)
    model = zoo.disk_autoencoder()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    timer = EpochTimer()
    x, y = make_data()
    model.fit(x, y, epochs=epochs, batch_size=None if y is None else 300,
              steps_per_epoch=steps_per_epoch, callbacks=[timer], verbose=0, shuffle=False)
    return n_images * (epochs - 1) / sum(timer.times[1:])


def serving_rate(path, batch, seconds=5.0):
    fn = tf.saved_model.load(path).signatures["serving_default"]
    images = tf.constant(disks.render_disks(np.linspace(1, 31, batch)).numpy())
    fn(images=images)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn(images=images)
        n += batch
    return n / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6, help="epochs per feeding (>= 2)")
    parser.add_argument("--saved-model", default="saved_models/disk_ae/1")
    args = parser.parse_args()
    n = disks.N_TRAIN
    arrays, _ = disks.make_disks(n, seed=0)

    rates = {
        "in-memory arrays": train_rate(lambda: (arrays, arrays), args.epochs, n),
        "tf.data fixed set, rendered on the fly": train_rate(
            lambda: (disks.training_dataset(mode="fixed", seed=0), None), args.epochs, n),
        "tf.data stream (true distribution)": train_rate(
            lambda: (disks.training_dataset(mode="stream", seed=0), None), args.epochs, n,
            steps_per_epoch=n // 300),
    }
    base = rates["in-memory arrays"]
    print(f"\nTraining disk_ae (batch 300, {os.cpu_count()} cores, TF {tf.__version__}):")
    print(f"{'feeding':45s} {'images/s':>10s} {'cost vs arrays':>15s}")
    for name, rate in rates.items():
        print(f"{name:45s} {rate:10.0f} {100 * (base - rate) / base:14.1f}%")

    if os.path.isdir(args.saved_model):
        print(f"\nSavedModel inference ({args.saved_model}, serving_default):")
        for batch in (1, 256):
            print(f"batch {batch:4d}: {serving_rate(args.saved_model, batch):10.0f} images/s")
    else:
        print(f"\n(no SavedModel at {args.saved_model}: train and export disk_ae first)")


if __name__ == "__main__":
    main()
