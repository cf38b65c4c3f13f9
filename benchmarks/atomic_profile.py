"""Where a training step of the atomic autoencoder spends its time, and what speeds it up.

Newson and Traonmilin 2023, section 2.3: at 128 x 128 (the MNIST setting) the
decoder runs the shared block g on k latent blocks per image. For each
setting (k, d0) given, on one in-memory batch, this script prints:

1. the machine's matmul rate (`tf.linalg.matmul`, 2048 x 2048, best of 5),
   float32 and bfloat16;
2. the FLOPs per image of a training step (x3 the forward pass: forward,
   gradient w.r.t. activations, gradient w.r.t. weights), per layer group,
   as executed (each `UpsampleConv2D` runs 2 x 2 taps per output pixel);
   the last convolution of g counted k times (sum of the atoms) or once
   (`AtomicDecoder` applying g's linear tail once to the sum of features);
3. a profile: forward time and forward + backward time of each layer group
   (the encoder, g's dense part, each resolution of g, the sum over the k
   blocks, g's last convolution), each on its real input, best of the
   repeats, with its share of the summed forward + backward time and its
   executed GFLOP/s; and the whole step split into forward, backward and
   optimizer;
4. training images/s of the variants, side by side, their timed runs
   alternated so that a change of the machine's load hits all alike, as
   ratios to the first, in wall-clock and in CPU time: the sum of the atoms
   ("atoms"), the linear tail once ("tail", `AtomicDecoder`'s default),
   the tail once with g's body in a Python loop over the k blocks
   ("tail_loop"), "tail" under XLA (`jit_compile=True`), "atoms" and
   "tail" under the `mixed_bfloat16` policy (bfloat16 compute: not the same
   numbers, the outputs differ by about 1e-4);
5. the decoder alone (forward + backward) along its three sum paths, and
   g's largest convolution in channels-last (NHWC) against channels-first
   (NCHW) layout.

Usage:
    python benchmarks/atomic_profile.py                      # about 10 minutes on 2 cores
    python benchmarks/atomic_profile.py --settings 10x3 --repeats 2 --steps 2

Absolute speeds move with the machine's load (the 1-minute load average is
printed before and after); compare the ratios, and on a machine shared with
other jobs the CPU-time ones, which move least.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import atomic_throughput  # noqa: E402 - the benchmark beside this one


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settings", default="10x3,16x6",
                        help="comma-separated k x d0 settings (default: the paper's 10x3 and "
                             "the authors' code's 16x6)")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=3, help="training steps per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the best is kept")
    parser.add_argument("--variants", default="atoms,tail,tail_loop,tail_xla,atoms_bf16,tail_bf16",
                        help="training variants to compare (the first is the reference)")
    parser.add_argument("--skip-profile", action="store_true",
                        help="only the variants and the decoder comparisons")
    parser.add_argument("--threads", type=int, default=None,
                        help="TF intra-op threads (default: TensorFlow's choice)")
    parser.add_argument("--json", default=None, help="also write the numbers to this file")
    return parser.parse_args()


CPU_TIMES = {}


def alternate(fns, repeats):
    """Best wall-clock time of each of `fns` (dict), their runs interleaved
    (round r starts with the r-th).

    The best CPU time of this process (all its threads) is kept beside it, in
    `CPU_TIMES[name]`: on a machine shared with other jobs it moves less
    than the wall-clock time.
    """
    for fn in fns.values():
        fn()                                      # tracing, compilation, warm-up
    best = {name: float("inf") for name in fns}
    for name in fns:
        CPU_TIMES[name] = float("inf")
    names = list(fns)
    for round_ in range(repeats):
        # each round starts one further along, so that no way always follows the same one
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            fn = fns[name]
            start, cpu = time.perf_counter(), time.process_time()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
            CPU_TIMES[name] = min(CPU_TIMES[name], time.process_time() - cpu)
    return best


def layer_macs(layer):
    """Executed multiply-accumulates of one layer per sample (0 if it has none)."""
    return atomic_throughput.layer_macs(types.SimpleNamespace(layers=[layer]), executed=True)


def block_groups(block):
    """g's layers in groups: the dense part, then one group per resolution
    (its convolution and leaky ReLU), the last convolution on its own."""
    import keras

    layers = [layer for layer in block.layers if not isinstance(layer, keras.layers.InputLayer)]
    groups, current, name = [], [], "g dense"
    for layer in layers:
        is_conv = hasattr(layer, "filters")
        if is_conv and current:
            groups.append((name, current))
            current = []
        if is_conv:
            side = layer.output.shape[1]
            name = "g last conv" if layer is layers[-1] else f"g conv to {side} px"
        current.append(layer)
    groups.append((name, current))
    return groups


def profile(model, images, repeats, summary):
    """Forward and forward + backward time of each layer group, on its real input."""
    import numpy as np
    import tensorflow as tf

    k, d0 = model.k, model.d0
    n = int(images.shape[0])
    z = model.encoder(images)
    rows = []

    def timed(name, fn, x, weights, repeats_, count, macs):
        y = fn(x)
        r = tf.random.normal(y.shape)

        @tf.function
        def forward():
            return tf.reduce_sum(fn(x) * r)

        @tf.function
        def backward():
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf.reduce_sum(fn(x) * r)
            # the loss is returned too: the gradient of a linear group does not
            # need its forward pass, which would otherwise be pruned
            return [loss] + tape.gradient(loss, [x] + list(weights))

        times = alternate({"fwd": lambda: forward().numpy(),
                           "fwdbwd": lambda: [g.numpy() for g in backward()]}, repeats_)
        rows.append({"group": name, "inputs": count, "forward_s": times["fwd"],
                     "forward_backward_s": times["fwdbwd"],
                     "forward_backward_cpu_s": CPU_TIMES["fwdbwd"],
                     "train_flops_per_image": 6.0 * macs * count / n})
        return y

    timed("encoder", model.encoder, images, model.encoder.trainable_weights, repeats, n,
          sum(layer_macs(lay) for lay in model.encoder.layers))
    x = tf.reshape(z, (-1, d0))
    groups = block_groups(model.block)
    for name, layers in groups[:-1]:
        def fn(t, layers=layers):
            for layer in layers:
                t = layer(t)
            return t
        weights = [w for layer in layers for w in layer.trainable_weights]
        x = timed(name, fn, x, weights, repeats, n * k, sum(map(layer_macs, layers)))
    features = x                                                  # (N * k, H, W, C)
    (last_name, last_layers), = groups[-1:]
    last = last_layers[0]
    atoms = timed(f"{last_name} x k (atoms)", last, features, last.trainable_weights, repeats,
                  n * k, layer_macs(last))
    shape = tuple(atoms.shape[1:])
    timed("sum of k atoms", lambda t: tf.reduce_sum(tf.reshape(t, (-1, k) + shape), 1), atoms,
          [], repeats, n * k, 0)
    fshape = tuple(features.shape[1:])
    summed = timed("sum of k features (tail)",
                   lambda t: tf.reduce_sum(tf.reshape(t, (-1, k) + fshape), 1), features, [],
                   repeats, n * k, 0)
    timed(f"{last_name} x 1 (tail)", last, summed, last.trainable_weights, repeats, n,
          layer_macs(last))

    # the whole step: forward alone, forward + backward, + Adam (the "tail" path)
    optimizer = model.optimizer

    @tf.function
    def fwd():
        return tf.reduce_mean(tf.square(model(images, training=True) - images))

    @tf.function
    def fwdbwd():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(images, training=True) - images))
        return [loss] + tape.gradient(loss, model.trainable_weights)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(images, training=True) - images))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_weights),
                                      model.trainable_weights))
        return loss

    whole = alternate({"forward": lambda: fwd().numpy(),
                       "forward_backward": lambda: [g.numpy() for g in fwdbwd()],
                       "train_step": lambda: step().numpy()}, repeats)
    tail_rows = [r for r in rows if "atoms" not in r["group"]]
    total = sum(r["forward_backward_s"] for r in tail_rows)
    total_cpu = sum(r["forward_backward_cpu_s"] for r in tail_rows)
    print(f"\n  profile, batch {n} (best of {repeats}; wall-clock s, and CPU s of this "
          f"process; share: of the summed forward + backward CPU time of the groups on the "
          f"tail path, {total_cpu:.3f} CPU s, {total:.3f} s wall)")
    print(f"  {'group':<28}{'inputs':>7}{'fwd s':>9}{'fwd+bwd s':>11}{'bwd/fwd':>9}"
          f"{'fwd+bwd cpu':>13}{'share':>8}{'MFLOP/img':>11}{'GFLOP/s':>9}")
    for r in rows:
        share = r["forward_backward_cpu_s"] / total_cpu if r in tail_rows else float("nan")
        gflops = r["train_flops_per_image"] * n / r["forward_backward_s"] / 1e9
        bwd = (r["forward_backward_s"] - r["forward_s"]) / r["forward_s"]
        print(f"  {r['group']:<28}{r['inputs']:>7}{r['forward_s']:>9.4f}"
              f"{r['forward_backward_s']:>11.4f}{bwd:>9.2f}{r['forward_backward_cpu_s']:>13.4f}"
              f"{share:>8.1%}{r['train_flops_per_image'] / 1e6:>11.1f}{gflops:>9.1f}")
    print(f"  whole step (tail path): forward {whole['forward']:.3f} s, forward + backward "
          f"{whole['forward_backward']:.3f} s (backward {whole['forward_backward'] - whole['forward']:.3f}"
          f" s = {(whole['forward_backward'] - whole['forward']) / whole['forward']:.2f} x forward), "
          f"+ Adam: {whole['train_step']:.3f} s")
    summary["profile"] = rows
    summary["whole_step_s"] = whole
    return np.asarray(0)


def flops_per_image(model, tail):
    """Executed training FLOPs per image (x2 per MAC, x3 for a training step)."""
    k = model.k
    enc = sum(layer_macs(lay) for lay in model.encoder.layers)
    layers = [lay for lay in model.block.layers if hasattr(lay, "filters") or hasattr(lay, "units")]
    body = sum(layer_macs(lay) for lay in layers[:-1])
    last = layer_macs(layers[-1])
    return 6.0 * (enc + k * body + (1 if tail else k) * last)


def build(k, d0, image_size, policy, weights=None):
    import keras

    from geomae_tf.models.atomic import atomic_autoencoder

    keras.config.set_dtype_policy(policy)
    try:
        keras.utils.set_random_seed(0)
        model = atomic_autoencoder(k=k, d0=d0, image_size=image_size)
    finally:
        keras.config.set_dtype_policy("float32")
    if weights is not None:
        model.set_weights(weights)
    return model


VARIANTS = {                 # name: (sum path, dtype policy, jit_compile)
    "atoms": ("atoms", "float32", False),
    "tail": ("tail", "float32", False),
    "tail_loop": ("tail_loop", "float32", False),
    "tail_xla": ("tail", "float32", True),
    "tail_bf16": ("tail", "mixed_bfloat16", False),
    "atoms_bf16": ("atoms", "mixed_bfloat16", False),
    "tail_loop_bf16": ("tail_loop", "mixed_bfloat16", False),
    "atoms_xla": ("atoms", "float32", True),
}


def compare_variants(k, d0, args, images, names, summary):
    import keras
    import numpy as np
    import tensorflow as tf

    reference = build(k, d0, args.image_size, "float32")
    weights = reference.get_weights()
    data = tf.data.Dataset.from_tensors((images, images)).repeat()
    fits, outputs = {}, {}
    for name in names:
        path, policy, jit = VARIANTS[name]
        model = build(k, d0, args.image_size, policy, weights)
        model.atomic_decoder._sum_path = path
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse", jit_compile=jit)
        outputs[name] = np.asarray(model.predict(images[:8], verbose=0), "float32")
        fits[name] = (lambda m=model: m.fit(data, epochs=1, steps_per_epoch=args.steps,
                                            verbose=0, shuffle=False))
    times = alternate(fits, args.repeats)
    n = int(images.shape[0]) * args.steps
    first = names[0]
    print(f"\n  training variants (model.fit, Adam, MSE; best of {args.repeats} runs of "
          f"{args.steps} steps, alternated)")
    print(f"  {'variant':<16}{'images/s':>10}{'ratio':>8}{'images/cpu s':>14}{'ratio':>8}"
          f"{'max |out - ' + first + '|':>22}")
    rows = {}
    for name in names:
        diff = float(np.abs(outputs[name] - outputs[first]).max())
        cpu = CPU_TIMES[name]
        rows[name] = {"images_per_s": n / times[name], "ratio": times[first] / times[name],
                      "images_per_cpu_s": n / cpu, "ratio_cpu": CPU_TIMES[first] / cpu,
                      "max_abs_diff_output": diff}
        print(f"  {name:<16}{n / times[name]:>10.1f}{times[first] / times[name]:>8.3f}"
              f"{n / cpu:>14.1f}{CPU_TIMES[first] / cpu:>8.3f}{diff:>22.2e}")
    summary["variants"] = rows
    return reference


def compare_decoder(model, batch_size, repeats, summary):
    """The decoder alone, forward + backward, along each of its sum paths."""
    import tensorflow as tf

    decoder = model.atomic_decoder
    z = tf.random.normal((batch_size, model.k * model.d0))
    weights = model.block.trainable_weights
    paths = {"atoms": "sum of the k atoms", "tail": "tail once, g vectorised on N * k blocks",
             "tail_loop": "tail once, g in a loop over the k blocks"}

    def grads(path):
        @tf.function
        def step():
            decoder._sum_path = path              # read when the function is traced
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(decoder(z)))
            return tape.gradient(loss, weights)
        return lambda: [g.numpy() for g in step()]

    times = alternate({path: grads(path) for path in paths}, repeats)
    cpu = {path: CPU_TIMES[path] for path in paths}
    decoder._sum_path = "tail"
    print(f"\n  decoder alone, forward + backward (best of {repeats}, alternated):")
    for path, what in paths.items():
        print(f"  {path:<10} {times[path]:.3f} s ({cpu[path]:.3f} CPU s): speed "
              f"{times['atoms'] / times[path]:.3f} x atoms ({cpu['atoms'] / cpu[path]:.3f} in "
              f"CPU time)  [{what}]")
    summary["decoder_seconds"] = times
    summary["decoder_cpu_seconds"] = cpu


def compare_layouts(model, batch_size, repeats, summary):
    """g's largest convolution (the last `UpsampleConv2D` before the output),
    forward + backward, in NHWC and in NCHW."""
    import tensorflow as tf

    from geomae_tf.layers.upsample_conv2d import UpsampleConv2D

    layer = [lay for lay in model.block.layers if isinstance(lay, UpsampleConv2D)][-2]
    n = batch_size * model.k
    h, w, c = layer.input.shape[1:]
    kernel = layer.transpose_kernel()
    steps, results = {}, {}
    for fmt in ("NHWC", "NCHW"):
        shape = (n, h, w, c) if fmt == "NHWC" else (n, c, h, w)
        out = ((n, 2 * h, 2 * w, layer.filters) if fmt == "NHWC"
               else (n, layer.filters, 2 * h, 2 * w))
        strides = (1, 2, 2, 1) if fmt == "NHWC" else (1, 1, 2, 2)
        x = tf.random.normal(shape)

        @tf.function
        def step(x=x, out=out, strides=strides, fmt=fmt):
            with tf.GradientTape() as tape:
                tape.watch([x, kernel])
                y = tf.nn.conv2d_transpose(x, kernel, out, strides, "SAME", data_format=fmt)
                loss = tf.reduce_sum(tf.nn.leaky_relu(y, 0.2))
            return tape.gradient(loss, [x, kernel])
        try:
            [g.numpy() for g in step()]
            steps[fmt] = lambda step=step: [g.numpy() for g in step()]
        except Exception as error:            # noqa: BLE001 - report the kernel's refusal
            results[fmt] = f"not run: {type(error).__name__}: {str(error).splitlines()[0][:120]}"
    results.update(alternate(steps, repeats))
    print(f"\n  {layer.name} ({n} x {h} x {w} x {c} -> {2 * h} x {2 * w} x {layer.filters}), "
          f"forward + backward (best of {repeats}, alternated): " + ", ".join(
              f"{fmt} {t:.3f} s" if isinstance(t, float) else f"{fmt} {t}"
              for fmt, t in results.items()))
    summary["layout_seconds"] = results


def main():
    args = parse_args()
    if args.threads:
        os.environ["TF_NUM_INTRAOP_THREADS"] = str(args.threads)
        os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
    import keras
    import numpy as np
    import tensorflow as tf

    flags = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
    results = {"cpu_count": os.cpu_count(),
               "bf16_units": [f for f in ("avx512_bf16", "amx_bf16") if f in flags],
               "load_average_1min_before": round(os.getloadavg()[0], 2)}
    f32, f32_cpu = atomic_throughput.matmul_rate(dtype="float32")
    bf16 = atomic_throughput.matmul_rate(dtype="bfloat16")[0]
    results.update(matmul_gflops_float32=f32 / 1e9, matmul_gflops_bfloat16=bf16 / 1e9)
    print(f"cpus {os.cpu_count()}, bfloat16 units: {results['bf16_units'] or 'none'}, "
          f"1-min load {results['load_average_1min_before']}")
    print(f"matmul 2048 x 2048 (best of 5): float32 {f32 / 1e9:.1f} GFLOP/s "
          f"({f32_cpu / 1e9:.1f} per CPU second), bfloat16 {bf16 / 1e9:.1f} GFLOP/s")
    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(size=(args.batch_size, args.image_size, args.image_size, 1))
                         .astype("float32") ** 8)
    names = [v for v in args.variants.split(",") if v]
    for setting in args.settings.split(","):
        k, d0 = map(int, setting.lower().split("x"))
        summary = results.setdefault(f"k={k},d0={d0}", {})
        model = build(k, d0, args.image_size, "float32")
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
        model.optimizer.build(model.trainable_weights)
        atoms_flops, tail_flops = flops_per_image(model, False), flops_per_image(model, True)
        print(f"\n== k = {k}, d0 = {d0}, {args.image_size} px, batch {args.batch_size}, "
              f"{model.count_params():,} parameters ==")
        print(f"  executed training FLOPs per image: {atoms_flops / 1e6:.1f} M summing the atoms, "
              f"{tail_flops / 1e6:.1f} M with the linear tail once")
        summary.update(flops_per_image_atoms=atoms_flops, flops_per_image_tail=tail_flops)
        if not args.skip_profile:
            profile(model, images, args.repeats, summary)
        if names:
            compare_variants(k, d0, args, images, names, summary)
        if "tail" in names:
            rate = summary["variants"]["tail"]["images_per_s"]
            cpu_rate = summary["variants"]["tail"]["images_per_cpu_s"]
            fraction, cpu_fraction = rate * tail_flops / f32, cpu_rate * tail_flops / f32_cpu
            print(f"  'tail' float32: {rate * tail_flops / 1e9:.1f} GFLOP/s executed = "
                  f"{fraction:.1%} of the float32 matmul rate; per CPU second of each: "
                  f"{cpu_fraction:.1%}")
            summary["tail_fraction_of_matmul_rate"] = fraction
            summary["tail_fraction_of_matmul_rate_cpu"] = cpu_fraction
        if not args.skip_profile:
            compare_decoder(model, args.batch_size, args.repeats, summary)
            compare_layouts(model, args.batch_size, args.repeats, summary)
    results["load_average_1min_after"] = round(os.getloadavg()[0], 2)
    print(f"\n1-min load after: {results['load_average_1min_after']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2, default=str)


if __name__ == "__main__":
    main()
