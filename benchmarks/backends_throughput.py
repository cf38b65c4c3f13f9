"""Training throughput of the atomic autoencoder under each Keras backend.

Newson and Traonmilin 2023, section 2.3: the 64 x 64, k = 10, d0 = 3 network
(`geomae_tf.zoo.atomic_autoencoder`), trained with `model.fit` (Adam, MSE,
batch 64) on in-memory images, under

- TensorFlow, JAX and PyTorch, each in float32 and in mixed_bfloat16
  (bfloat16 compute, float32 variables) where it runs;
- data parallelism on 2 devices against 1 (TensorFlow's MirroredStrategy
  and JAX's DataParallel, `geomae_tf.training.distribute`): on a CPU the
  two devices are one CPU split in two
  (`XLA_FLAGS=--xla_force_host_platform_device_count=2`), sharing the same
  cores, so the ratio measures the overhead of data parallelism, never a
  gain; on a host with two accelerators it measures the speed-up.

Each configuration runs in its own process (Keras fixes its backend on
import; the CPU split happens before the backend starts): a warm-up `fit`
(compilation), then `--steps` timed steps. Images/s are per second of wall
clock and per second of CPU time of the process (all its threads): on a
shared machine the wall-clock rate falls with the load, so the 1-minute
load average is printed before and after.

Usage:
    python benchmarks/backends_throughput.py              # about 5-8 minutes
    python benchmarks/backends_throughput.py --steps 60 --backends jax tensorflow
    python benchmarks/backends_throughput.py --configs torch:float32:1 jax:float32:2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
POLICIES = ("float32", "mixed_bfloat16")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=30, help="timed steps per configuration")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--d0", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax", "torch"],
                        choices=["tensorflow", "jax", "torch"])
    parser.add_argument("--configs", nargs="+", default=None, metavar="BACKEND:POLICY:DEVICES",
                        help="only these configurations, e.g. torch:float32:1 jax:float32:2")
    parser.add_argument("--timeout", type=int, default=900,
                        help="seconds one configuration may take")
    parser.add_argument("--child", nargs=3, metavar=("BACKEND", "POLICY", "DEVICES"),
                        help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def child(args):
    """One configuration, in this process: prints one JSON line."""
    import numpy as np

    sys.path.insert(0, str(REPO))
    import keras

    from geomae_tf import zoo
    from geomae_tf.training import distribute, trainer

    _, policy, devices = args.child
    devices = int(devices)
    keras.utils.set_random_seed(0)
    n = args.batch_size * max(args.steps, args.warmup)
    x = np.random.default_rng(0).uniform(
        size=(n, args.image_size, args.image_size, 1)).astype("float32")
    with distribute.data_parallel(devices):
        with trainer.dtype_policy_scope(policy):
            model = zoo.atomic_autoencoder(k=args.k, d0=args.d0, image_size=args.image_size)
        model.compile(optimizer=keras.optimizers.Adam(5e-4), loss="mse")
        warm = x[:args.batch_size * args.warmup]
        model.fit(warm, warm, batch_size=args.batch_size, epochs=1, shuffle=False, verbose=0)
        timed = x[:args.batch_size * args.steps]
        wall, cpu = time.perf_counter(), time.process_time()
        history = model.fit(timed, timed, batch_size=args.batch_size, epochs=1,
                            shuffle=False, verbose=0)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    images = args.batch_size * args.steps
    print(json.dumps({"images_per_s": images / wall, "images_per_cpu_s": images / cpu,
                      "loss": float(history.history["loss"][-1]),
                      "devices": (distribute.local_devices()[:devices] if devices > 1
                                  else [keras.backend.backend()]),
                      "jit_compile": str(getattr(model, "jit_compile", None)),
                      "parameters": int(model.count_params())}))


def cpu_description():
    """The CPU's model name and whether it has bfloat16 units (Linux /proc/cpuinfo)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown CPU"
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines()
                  if line.startswith("model name")), "unknown CPU")
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines()
                  if line.startswith("flags")), [])
    bf16 = [f for f in ("avx512_bf16", "amx_bf16") if f in flags]
    return f"{model}; bfloat16 units: {', '.join(bf16) if bf16 else 'none'}"


def configurations(backends):
    for backend in backends:
        for policy in POLICIES:
            yield backend, policy, 1
    for backend in backends:
        if backend != "torch":  # no data-parallel path through Keras' fit
            yield backend, "float32", 2


def run(args, backend, policy, devices):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3",
               XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}"
               if devices > 1 else "")
    argv = [sys.executable, __file__, "--child", backend, policy, str(devices),
            "--steps", str(args.steps), "--warmup", str(args.warmup),
            "--batch-size", str(args.batch_size), "--image-size", str(args.image_size),
            "--k", str(args.k), "--d0", str(args.d0)]
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True,
                              timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"ran past {args.timeout} s"}
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        return {"error": (lines[-1] if lines else f"exit code {done.returncode}")[:120]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        return child(args)
    print(f"atomic autoencoder {args.image_size}x{args.image_size}, k={args.k}, d0={args.d0}, "
          f"batch {args.batch_size}: {args.warmup} warm-up + {args.steps} timed steps per "
          f"configuration, each in its own process; {os.cpu_count()} CPU cores")
    print(f"CPU: {cpu_description()}")
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"{'backend':<11} {'policy':<15} {'devices':>7} {'images/s':>9} "
          f"{'images/CPU-s':>12}  note")
    rows = []
    chosen = ([(b, p, int(d)) for b, p, d in (c.split(":") for c in args.configs)]
              if args.configs else configurations(args.backends))
    for backend, policy, devices in chosen:
        result = run(args, backend, policy, devices)
        rows.append(dict(result, backend=backend, policy=policy, n_devices=devices))
        if "error" in result:
            print(f"{backend:<11} {policy:<15} {devices:>7} {'-':>9} {'-':>12}  fails: "
                  f"{result['error']}", flush=True)
        else:
            print(f"{backend:<11} {policy:<15} {devices:>7} {result['images_per_s']:>9.1f} "
                  f"{result['images_per_cpu_s']:>12.1f}  loss {result['loss']:.4f}, "
                  f"jit_compile {result['jit_compile']}", flush=True)
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    one = {r["backend"]: r for r in rows if r["n_devices"] == 1 and r["policy"] == "float32"
           and "error" not in r}
    for r in rows:
        if r["n_devices"] == 2 and "error" not in r and r["backend"] in one:
            print(f"{r['backend']}: 2 devices / 1 device = "
                  f"{r['images_per_s'] / one[r['backend']]['images_per_s']:.2f} "
                  f"({', '.join(r['devices'])})")
    split = [r for r in rows if r["n_devices"] == 2 and "error" not in r]
    if split and all("cpu" in d.lower() for r in split for d in r["devices"]):
        print("The 2 devices are one CPU split in two, sharing its cores: the ratio is the "
              "overhead of data parallelism on this machine, not a speed-up.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
