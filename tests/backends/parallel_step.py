"""One data-parallel step against one single-device step (run as a script).

Started by `test_data_parallel.py` in a fresh process, because the host's CPU
must be split into devices before the backend starts:
`XLA_FLAGS=--xla_force_host_platform_device_count=2` (JAX reads it,
`geomae_tf.training.distribute` splits TensorFlow's CPU by it).

For each model (a small atomic autoencoder, a small PCA-AE at stage 2: unit 1
frozen on its moving statistics, unit 2 training with the covariance penalty)
it takes the same initial weights and the same 2B images and measures the
plain-SGD update of the trainable weights:

- `full`: one step on the 2B images on one device;
- `halves`: the mean of two one-device steps, one on each half (B images);
- `parallel`: one step on the 2B images on two devices (global batch 2B).

SGD's update is lr * gradient, so if the gradients are averaged `parallel`
equals `full` (the atomic model, which has no batch statistics, on both
backends; the PCA-AE under JAX, whose sharded batch is one computation) or
`halves` (the PCA-AE under TensorFlow: each replica centres and decorrelates
its own B codes), and twice that if they were summed. It prints one JSON
line: the relative differences, the losses of a short 2-device Adam run of the
atomic model, and what `geomae train RECIPE --devices N` gave on a tiny
atomic recipe.
"""

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import keras  # noqa: E402

from geomae_tf import zoo  # noqa: E402
from geomae_tf.training import distribute  # noqa: E402
from tests.backends.recipes import tiny_atomic  # noqa: E402

B = 4
LEARNING_RATE = 0.5


def build(kind):
    keras.utils.set_random_seed(7)
    if kind == "atomic":
        return zoo.atomic_autoencoder(k=3, d0=3, image_size=16, block_units=8)
    model = zoo.pca_autoencoder(latent_dim=2, image_size=16, lambda_cov=1.0)
    model.set_stage(2)
    return model


def update(model, weights, x):
    """The change of the trainable weights after one SGD step on `x` (one batch)."""
    model.set_weights(weights)
    model.compile(optimizer=keras.optimizers.SGD(LEARNING_RATE), loss="mse")
    before = [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]
    model.fit(x, x, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    after = [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]
    return np.concatenate([(a - b).ravel() for a, b in zip(after, before)])


def relative(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def main():
    devices = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    backend = keras.backend.backend()
    x = np.random.default_rng(0).uniform(size=(2 * B, 16, 16, 1)).astype("float32")
    report = {"backend": backend, "devices": distribute.local_devices()}
    for kind in ("atomic", "pca"):
        single = build(kind)
        weights = single.get_weights()
        # The atomic model has no batch statistics: `full` and `halves` agree.
        per_replica = kind == "pca" and backend == "tensorflow"
        if per_replica:
            reference = 0.5 * (update(single, weights, x[:B]) + update(single, weights, x[B:]))
        else:
            reference = update(single, weights, x)
        with distribute.data_parallel(devices):
            model = build(kind)
            parallel = update(model, weights, x)
            losses, finite = [], True
            if kind == "atomic":  # a short run from the same start: finite losses
                model.set_weights(weights)
                model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
                run = np.random.default_rng(1).uniform(size=(4 * B, 16, 16, 1))
                run = run.astype("float32")
                losses = model.fit(run, run, batch_size=2 * B, epochs=3, shuffle=False,
                                   verbose=0).history["loss"]
                finite = all(np.all(np.isfinite(keras.ops.convert_to_numpy(v)))
                             for v in model.variables)
        report[kind] = {
            "reference": "halves" if per_replica else "full",
            "parallel_vs_reference": relative(parallel, reference),
            "parallel_vs_summed": relative(parallel, 2 * reference),
            "update_size": float(np.max(np.abs(reference))),
            "run_losses": [float(v) for v in losses],
            "run_weights_finite": bool(finite),
        }
    report["cli"] = train_from_command_line(devices)
    print(json.dumps(report))


RECIPE = tiny_atomic(n_train=32)


def train_from_command_line(devices):
    """`geomae train RECIPE --devices N` on a tiny atomic recipe: its exit code,
    losses and run folder."""
    import tempfile

    from geomae_tf import cli

    folder = Path(tempfile.mkdtemp())
    recipe = folder / "tiny_atomic.toml"
    recipe.write_text(RECIPE)
    no_export = [] if keras.backend.backend() == "tensorflow" else ["--no-export"]
    code = cli.main(["train", str(recipe), "--devices", str(devices), "--no-evaluate",
                     "--out-dir", str(folder / "runs"), "--verbose", "0"] + no_export)
    results = json.loads((folder / "runs" / "atomic_spikes" / "results.json").read_text())
    return {"exit_code": code, "final_loss": results["final_loss"],
            "epochs": results["epochs"], "export": results.get("export")}


if __name__ == "__main__":
    main()
