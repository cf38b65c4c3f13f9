"""Amortising the spike refinement: cheaper options and distilled encoders, measured.

Newson and Traonmilin 2023 decode a code z into g(z_1) + ... + g(z_k)
(section 2.1, eq. 3). A spike entry's answer refines the encoder's code in
the graph (`AtomicRefinement`: Gauss-Newton steps on each block, rounds of
pruning and reseeding); its cost is counted here in passes of the encoder E
and of the decoder (k blocks of g at once), which the script also times. On
the same fresh spike images (Hungarian matching within 2 px,
`geomae_tf.analysis.atomic.spike_recovery`), through the served `atoms`
signature at batch `--batch`, it prints recall, precision, position RMSE,
amplitude error, one-spike share and milliseconds per image for:

- the entry's own options and each of `--options` (a JSON list of
  `AtomicRefinement` option sets: fewer steps and rounds);
- with `--distill`, the same after the encoder is distilled on the codes the
  entry's own options give for `--n-train` other fresh images, g fixed:
  `codes` (mean squared error on the codes, as the refined trainer's
  `distill_steps` does), `matched` (the same, each image's target blocks
  first put in the order of the encoder's blocks: Hungarian matching on the
  code distance, redone every `--steps` steps) or `atoms` (the decoded atoms
  of the two codes compared, matched the same way on the atoms' images).

Times are wall-clock after a warm-up call; the 1-minute load average is
printed beside them, since on a shared machine they grow with the load.

Usage:
    python benchmarks/atomic_amortise.py --n 192          # the options, about 5 min
    python benchmarks/atomic_amortise.py --n 192 --distill matched --n-train 1536
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np

#: Cheaper option sets measured by default (the entry's merge distance kept).
CHEAPER = [{"steps": 1, "final_steps": 1, "rounds": 1},
           {"steps": 2, "final_steps": 2, "rounds": 1},
           {"steps": 0, "final_steps": 1, "rounds": 1},
           {"steps": 2, "final_steps": 0, "rounds": 0}]


def passes(options: dict) -> tuple[int, int]:
    """(encoder passes, decoder passes) of one refined answer with `options`.

    A Gauss-Newton pass of s steps decodes d0 + 1 = 4 codes per step (the
    atoms and forward differences, 1 + the first 4 with `reuse_jacobian`) and
    once more to accept the last step; the encoder's atoms are decoded once
    (the fallback bank of reseeding); a round decodes the atoms to prune,
    encodes the residual and decodes its atoms; the last round prunes again
    (one decode) and the answer is decoded once
    (tests/atomic/test_refinement_cost.py counts the same passes).
    """
    def gauss_newton(s):
        if not s:
            return 0
        return (4 + (s - 1) + 1) if options.get("reuse_jacobian") else 4 * s + 1

    steps, rounds = options.get("steps", 3), options.get("rounds", 2)
    final = options.get("final_steps", steps)
    final = steps if final is None else final
    decoder = (2 + gauss_newton(steps) + rounds * (2 + gauss_newton(final))
               + (1 if rounds else 0))
    return 1 + rounds, decoder


def _score(ae, options, images, truth, batch):
    """Scores and ms per image of the served `atoms` signature with `options`."""
    import tensorflow as tf

    from geomae_tf.analysis import atomic
    from geomae_tf.export.saved_model import export_saved_model

    ae.set_refine(options)
    with tempfile.TemporaryDirectory() as tmp:
        signature = tf.saved_model.load(str(export_saved_model(ae, tmp))).signatures["atoms"]

        def run(x):
            return signature(images=tf.constant(x))["atoms"].numpy()

        run(images[:batch])
        start = time.perf_counter()
        atoms = np.concatenate([run(images[i:i + batch]) for i in range(0, len(images), batch)])
        ms = 1000.0 * (time.perf_counter() - start) / len(images)
    return atomic.spike_recovery(atoms, *truth), ms


def _unit_times(ae, images, batch):
    """ms per image of one encoder pass and one decoder pass (k blocks), traced."""
    import tensorflow as tf

    encode = tf.function(ae.encoder)
    decode = tf.function(ae.decode_atoms)
    x = tf.constant(images[:batch])
    z = encode(x)
    decode(z)
    out = {}
    for name, fn, arg in (("encoder", encode, x), ("decoder", decode, z)):
        start = time.perf_counter()
        for _ in range(5):
            fn(arg)
        out[name] = 1000.0 * (time.perf_counter() - start) / (5 * batch)
    return out


def _match(pred, target):
    """`target` (N, k, F) with each image's rows reordered to best match `pred`."""
    from scipy.optimize import linear_sum_assignment

    out = np.empty_like(target)
    for n in range(len(pred)):
        p, t = pred[n], target[n]
        cost = (p * p).sum(1)[:, None] + (t * t).sum(1)[None] - 2.0 * p @ t.T
        rows, cols = linear_sum_assignment(cost)
        out[n, rows] = t[cols]
    return out


def distill(ae, options, how, n_train, steps, cycles, learning_rate, batch, seed=777):
    """Fits `ae.encoder` (g fixed) to the codes `options` give; returns the code MSE
    before and after (on the training images, blocks matched for `matched`)."""
    import keras
    from keras import ops

    from geomae_tf.datasets import spikes

    k, d0 = ae.k, ae.d0
    layer = ae.refiner(options)
    off = np.asarray(layer.off_code_of(), np.float32)
    images, _ = spikes.make_spikes(n_train, seed=seed, image_size=ae.image_shape[0])
    codes, lives = [], []
    for i in range(0, n_train, batch):
        z, live = layer(images[i:i + batch])
        z = ops.convert_to_numpy(z).reshape(-1, k, d0)
        live = ops.convert_to_numpy(live)
        codes.append(np.where(live[..., None] > 0.5, z, off))   # switched off: the off code
        lives.append(live)
    codes, lives = np.concatenate(codes), np.concatenate(lives).astype(np.float32)
    if how == "atoms":
        ae.block.trainable = False
        x = keras.Input(ae.image_shape)
        atoms = ae.atomic_decoder(ae.encoder(x), return_atoms=True)
        student = keras.Model(x, keras.layers.Reshape((k, -1))(atoms))
        target = np.concatenate([ops.convert_to_numpy(ae.atomic_decoder(
            codes[i:i + batch].reshape(-1, k * d0), return_atoms=True,
            block_mask=lives[i:i + batch])) for i in range(0, n_train, batch)])
        target = target.reshape(n_train, k, -1)
    else:
        student = keras.Sequential([ae.encoder, keras.layers.Reshape((k, d0))])
        target = codes
    student.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    rng = np.random.default_rng(seed)
    errors = []
    for cycle in range(cycles if how != "codes" else 1):
        pred = student.predict(images, batch_size=2 * batch, verbose=0)
        goal = target if how == "codes" else _match(pred, target)
        errors.append(float(np.mean((pred - goal) ** 2)))
        order = rng.permutation(np.resize(np.arange(n_train), steps * batch))
        student.fit(images[order], goal[order], batch_size=batch, epochs=1, shuffle=False,
                    verbose=0)
    pred = student.predict(images, batch_size=2 * batch, verbose=0)
    errors.append(float(np.mean((pred - (target if how == "codes" else _match(pred, target)))
                                ** 2)))
    ae.block.trainable = True
    return errors[0], errors[-1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entry", default="atomic_spikes_refined")
    parser.add_argument("--n", type=int, default=192, help="fresh test images (default 192)")
    parser.add_argument("--seed", type=int, default=20231, help="seed of the test images")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--options", default=json.dumps(CHEAPER),
                        help="JSON list of AtomicRefinement option sets to measure")
    parser.add_argument("--distill", choices=("codes", "matched", "atoms"), default=None)
    parser.add_argument("--n-train", type=int, default=1536)
    parser.add_argument("--steps", type=int, default=100,
                        help="distillation steps per cycle (codes: the only cycle)")
    parser.add_argument("--cycles", type=int, default=8, help="matchings (matched, atoms)")
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    args = parser.parse_args(argv)

    from geomae_tf import zoo
    from geomae_tf.datasets import spikes

    ae = zoo.load(args.entry)
    own = dict(ae.refine or zoo.ENTRIES[args.entry]["evaluation"]["refine"])
    images, f = spikes.make_spikes(args.n, seed=args.seed, image_size=ae.image_shape[0])
    truth = (f["positions"], f["amplitudes"], f["count"])
    units = _unit_times(ae, images, args.batch)
    print(f"entry {args.entry}, {args.n} fresh spike images, batch {args.batch}; one encoder "
          f"pass {units['encoder']:.2f} ms/image, one decoder pass {units['decoder']:.2f} "
          f"ms/image; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    sets = [own] + [{**own, **extra} for extra in json.loads(args.options)]
    if args.distill:
        before, after = distill(ae, own, args.distill, args.n_train, args.steps, args.cycles,
                                args.learning_rate, args.batch)
        print(f"encoder distilled ({args.distill}) on {args.n_train} images: distillation "
              f"error {before:.4g} -> {after:.4g}")
    keys = ("recall", "precision", "position_rmse", "amplitude_error", "one_spike_share")
    print(f"{'options':62s} {'E':>2s} {'D':>3s} {'recall':>7s} {'precis.':>7s} "
          f"{'RMSE px':>7s} {'amp.err':>7s} {'1-spike':>7s} {'ms/img':>7s} {'load':>5s}")
    for options in [False] + sets:
        scores, ms = _score(ae, options, images, truth, args.batch)
        e, d = (1, 1) if options is False else passes(options)
        name = "encoder alone" if options is False else json.dumps(
            {key: options[key] for key in ("steps", "final_steps", "rounds") if key in options})
        print(f"{name:62s} {e:2d} {d:3d} " + " ".join(f"{scores[k]:7.3f}" for k in keys)
              + f" {ms:7.1f} {os.getloadavg()[0]:5.1f}", flush=True)


if __name__ == "__main__":
    main()
