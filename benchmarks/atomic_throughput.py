"""Throughput of the atomic autoencoder (Newson and Traonmilin 2023, section 2.3).

Measures, on this machine:
1. training images/s of the 64 x 64, k = 10, d0 = 3 model (`model.fit`,
   Adam, MSE, batch 64) on in-memory spike images (the data pipeline's own
   cost is measured separately, as images/s of `spikes.training_dataset`);
2. the analytic FLOPs per image: multiply-accumulates of every convolution
   and dense layer (the block counted k times), x2 for a forward pass, x3
   for a training step (forward, gradient w.r.t. activations, gradient
   w.r.t. weights); and the FLOPs actually executed, fewer because each
   `UpsampleConv2D` runs 2 x 2 taps per output pixel where the network's
   3x3 convolution over the upsampled map counts 3 x 3, and g's last
   (linear) convolution runs once per image, not k times (`AtomicDecoder`);
3. the machine's float32 matrix-multiply rate (`tf.linalg.matmul`,
   2048 x 2048, best of 5) and the fraction of it that training achieves,
   counted in analytic FLOPs (the issue's yardstick: how fast the paper's
   network trains) and in executed FLOPs (how busy the arithmetic units are);
4. the vectorised `AtomicDecoder` (g once on (batch * k, d0)) against a
   Python loop over the k blocks calling the same g (both applying g's
   linear last convolution once to the sum), forward + backward.

Usage:
    python benchmarks/atomic_throughput.py            # about 2-3 minutes
    python benchmarks/atomic_throughput.py --steps 100 --threads 2
    python benchmarks/atomic_throughput.py --dtype-policy mixed_bfloat16

With `--dtype-policy mixed_bfloat16` (bfloat16 compute, float32 variables) the
fraction is given against both the float32 matmul rate (the issue's yardstick)
and the bfloat16 one (what that compute could reach).

Every rate is given twice: per second of wall-clock time, and per second of
CPU time used by this process (`time.process_time`, all its threads). On a
machine shared with other jobs the wall-clock rates drop with the load while
the CPU-time rates barely move: compare those, and read the wall-clock ones
as what a quiet machine gives only when it was quiet (the 1-minute load
average is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import time


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--d0", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=40, help="timed training steps")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the best is kept")
    parser.add_argument("--upsampling", default="nearest", choices=["nearest", "bilinear"])
    parser.add_argument("--threads", type=int, default=None,
                        help="TF intra-op threads (default: TensorFlow's choice)")
    parser.add_argument("--dtype-policy", default="float32",
                        choices=["float32", "mixed_bfloat16"],
                        help="Keras dtype policy of the model (mixed_bfloat16: bfloat16 "
                             "compute, float32 variables; this CPU has AVX512-BF16)")
    parser.add_argument("--deterministic", action="store_true",
                        help="enable TF op determinism, as `geomae train` does")
    parser.add_argument("--json", default=None, help="also write the numbers to this file")
    return parser.parse_args()


def layer_macs(model, repeat=1, executed=False):
    """Multiply-accumulates of the Conv2D and Dense layers of `model`, per input.

    Analytic (the default): each `UpsampleConv2D` counts as the 3x3
    convolution over the upsampled map that it computes, as the paper's
    network is defined. `executed=True`: what the layer actually runs, a
    stride-2 transposed convolution in which each output pixel takes 2 x 2
    taps, i.e. 4/9 of the analytic count.
    """
    import keras

    from geomae_tf.layers.upsample_conv2d import UpsampleConv2D

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += layer_macs(layer, executed=executed)
        elif isinstance(layer, keras.layers.Conv2D):
            out = layer.output.shape
            kh, kw = layer.kernel_size
            total += out[1] * out[2] * kh * kw * layer.input.shape[-1] * layer.filters
        elif isinstance(layer, UpsampleConv2D):
            out = layer.output.shape
            taps = 4 if executed else 9
            total += out[1] * out[2] * taps * layer.input.shape[-1] * layer.filters
        elif isinstance(layer, keras.layers.Dense):
            total += layer.input.shape[-1] * layer.units
    return total * repeat


class Best:
    """Keeps the shortest wall-clock and CPU times of repeated runs."""

    def __init__(self):
        self.wall = self.cpu = float("inf")

    def time(self, fn):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        self.wall = min(self.wall, time.perf_counter() - wall)
        self.cpu = min(self.cpu, time.process_time() - cpu)

    def rates(self, amount):
        """`amount` per wall-clock second and per CPU second."""
        return amount / self.wall, amount / self.cpu


def matmul_rate(n=2048, repeats=5, dtype="float32"):
    """Best-of-`repeats` matmul rate in FLOP/s (wall, CPU) in `dtype`."""
    import tensorflow as tf

    a = tf.cast(tf.random.normal((n, n)), dtype)
    b = tf.cast(tf.random.normal((n, n)), dtype)
    tf.linalg.matmul(a, b).numpy()
    best = Best()
    for _ in range(repeats):
        best.time(lambda: tf.linalg.matmul(a, b).numpy())
    return best.rates(2.0 * n ** 3)


def training_rate(model, images, steps, repeats):
    import keras
    import tensorflow as tf

    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    data = tf.data.Dataset.from_tensors((images, images)).repeat()
    model.fit(data, epochs=1, steps_per_epoch=3, verbose=0, shuffle=False)   # warm-up
    best = Best()
    for _ in range(repeats):
        best.time(lambda: model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0,
                                    shuffle=False))
    return best.rates(len(images) * steps)


def pipeline_rate(batch_size, image_size, batches=30):
    from geomae_tf.datasets import spikes

    it = iter(spikes.training_dataset(batch_size=batch_size, image_size=image_size))
    next(it)
    start = time.perf_counter()
    for _ in range(batches):
        next(it)
    return batch_size * batches / (time.perf_counter() - start)


def decoder_rates(model, batch_size, calls, repeats):
    """Forward + backward images/s (wall, CPU) of the vectorised decoder and of a loop.

    Both compute the gradient of the same loss w.r.t. the same block's
    variables; their timed runs alternate, so that a change in the machine's
    load hits both alike. The best run of each is kept.
    """
    import tensorflow as tf

    block, k, d0 = model.block, model.k, model.d0
    z = tf.random.normal((batch_size, k * d0))
    weights = block.trainable_weights

    decoder = model.atomic_decoder

    def vectorised(codes):
        decoder._sum_path = "tail"         # g on (N * k, d0), its linear tail once
        return decoder(codes)

    def loop(codes):
        if decoder._affine_tail() is not None:
            decoder._sum_path = "tail_loop"    # g's body once per block, its tail once
            out = decoder(codes)
            decoder._sum_path = "tail"
            return out
        out = 0.0
        for i in range(k):
            out = out + block(codes[:, i * d0:(i + 1) * d0])
        return out

    def step_fn(decode):
        @tf.function
        def step():
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(decode(z)))
            return tape.gradient(loss, weights)
        return lambda: [g.numpy() for g in step()]

    check = float(tf.reduce_max(tf.abs(vectorised(z) - loop(z))))
    steps = {"vectorised": step_fn(vectorised), "loop": step_fn(loop)}
    best = {name: Best() for name in steps}
    for fn in steps.values():
        fn()  # tracing
    for _ in range(repeats):
        for name, fn in steps.items():
            best[name].time(lambda: [fn() for _ in range(calls)])
    return (best["vectorised"].rates(batch_size * calls), best["loop"].rates(batch_size * calls),
            check)


def main():
    args = parse_args()
    if args.threads:
        os.environ["TF_NUM_INTRAOP_THREADS"] = str(args.threads)
        os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
    import keras
    import tensorflow as tf

    from geomae_tf.datasets import spikes
    from geomae_tf.models.atomic import atomic_autoencoder

    keras.utils.set_random_seed(0)
    keras.config.set_dtype_policy(args.dtype_policy)
    if args.deterministic:
        tf.config.experimental.enable_op_determinism()
    model = atomic_autoencoder(k=args.k, d0=args.d0, image_size=args.image_size,
                               upsampling=args.upsampling)
    enc_macs = layer_macs(model.encoder)
    block_macs = layer_macs(model.block)

    def training_flops(executed):
        """x2 for a forward pass, x3 for a training step; the block counted k times,
        except, as executed, g's last (linear) convolution: `AtomicDecoder` runs it
        once on the sum of the blocks' features."""
        block = layer_macs(model.block, executed=executed)
        split = model.atomic_decoder._affine_tail()
        if executed and split is not None:
            body = layer_macs(split.body, executed=True)
            block = args.k * body + (block - body)
        else:
            block = args.k * block
        return 3.0 * 2.0 * (layer_macs(model.encoder, executed=executed) + block)

    train_flops = training_flops(executed=False)
    forward_flops = train_flops / 3.0
    executed_flops = training_flops(executed=True)
    images, _ = spikes.make_spikes(args.batch_size, seed=1, image_size=args.image_size)

    load_before = os.getloadavg()[0]
    rate = matmul_rate()                       # the yardstick: float32, as in the issue
    bf16_rate = matmul_rate(dtype="bfloat16") if args.dtype_policy != "float32" else None
    train = training_rate(model, tf.constant(images), args.steps, args.repeats)
    data = pipeline_rate(args.batch_size, args.image_size)
    vec, loop, diff = decoder_rates(model, args.batch_size, max(5, args.steps // 4),
                                    args.repeats)
    results = {
        "model": f"atomic_autoencoder(k={args.k}, d0={args.d0}, image_size={args.image_size}, "
                 f"upsampling={args.upsampling!r})",
        "parameters": int(model.count_params()),
        "dtype_policy": args.dtype_policy,
        "threads": args.threads or "tensorflow default",
        "deterministic_ops": args.deterministic,
        "cpu_count": os.cpu_count(),
        "load_average_1min_before": round(load_before, 2),
        "encoder_macs_per_image": int(enc_macs),
        "block_macs_per_atom": int(block_macs),
        "forward_flops_per_image": int(forward_flops),
        "training_flops_per_image": int(train_flops),
        "executed_training_flops_per_image": int(executed_flops),
        "matmul_gflops_wall": round(rate[0] / 1e9, 1),
        "matmul_gflops_cpu": round(rate[1] / 1e9, 1),
        "training_images_per_s_wall": round(train[0], 1),
        "training_images_per_cpu_s": round(train[1], 1),
        "training_gflops_wall": round(train[0] * train_flops / 1e9, 1),
        "fraction_of_matmul_rate_wall": round(train[0] * train_flops / rate[0], 3),
        "fraction_of_matmul_rate_cpu": round(train[1] * train_flops / rate[1], 3),
        "executed_fraction_of_matmul_rate_wall": round(train[0] * executed_flops / rate[0], 3),
        **({"bf16_matmul_gflops_wall": round(bf16_rate[0] / 1e9, 1),
            "bf16_matmul_gflops_cpu": round(bf16_rate[1] / 1e9, 1),
            "fraction_of_bf16_matmul_rate_wall": round(train[0] * train_flops / bf16_rate[0], 3),
            "fraction_of_bf16_matmul_rate_cpu": round(train[1] * train_flops / bf16_rate[1], 3)}
           if bf16_rate else {}),
        "spike_pipeline_images_per_s_wall": round(data, 1),
        "decoder_vectorised_images_per_s_wall": round(vec[0], 1),
        "decoder_loop_images_per_s_wall": round(loop[0], 1),
        "decoder_vectorised_images_per_cpu_s": round(vec[1], 1),
        "decoder_loop_images_per_cpu_s": round(loop[1], 1),
        "vectorised_over_loop_wall": round(vec[0] / loop[0], 3),
        "vectorised_over_loop_cpu": round(vec[1] / loop[1], 3),
        "max_abs_difference_vectorised_vs_loop": diff,
        "load_average_1min_after": round(os.getloadavg()[0], 2),
    }
    width = max(map(len, results))
    for key, value in results.items():
        print(f"{key:<{width}}  {value}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2, default=str)
    return results


if __name__ == "__main__":
    main()
