"""Ways to get the atoms of spike images, side by side: scores and time per image.

Newson and Traonmilin 2023 decompose an image of Gaussian spikes into atoms
g(z_i) (sections 2.1 and 3.2). On the same fresh spike images, in one run,
this script scores (with `geomae_tf.analysis.atomic.spike_recovery` and,
for the classical detectors, `spike_baselines.score_detections`: the same
Hungarian matching within 2 px) and times, at batch `--batch`:

- `served encoder_atoms`: the SavedModel's one-pass atoms g(z_i) of E(x);
- `refined graph (Python)`: `ae.atoms(x)`, the code refined in the graph
  (`AtomicRefinement`) with the entry's own options;
- `served atoms`: the SavedModel's `atoms` signature, the same refinement
  traced into the SavedModel (what a TF Serving client gets);
- `refine_codes (numpy)` (with `--python-refine`): the former refinement,
  Adam steps then per-image numpy pruning and reseeding (slow);
- `3x3 local maxima` and `5x5 centroid`: classical detectors
  (`geomae_tf.analysis.spike_baselines`), which know nothing of the model.

The SavedModel is exported from the loaded entry into a temporary folder,
with the entry's refinement options (`geomae_tf.zoo.presets`), as
`geomae export` does. Times are wall-clock milliseconds per image, after a
warm-up call; the 1-minute load average is printed, since on a shared
machine the times grow with the load.

Usage:
    python benchmarks/atomic_inference.py                 # 64 images, about 1-2 min
    python benchmarks/atomic_inference.py --n 256 --entry atomic_spikes
    python benchmarks/atomic_inference.py --python-refine
    python benchmarks/atomic_inference.py --entry atomic_strokes   # strokes (section 3)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np


def _timed(fn, images, batch):
    """`fn` on `images` by batches of `batch` after one warm-up call: (out, ms/image)."""
    fn(images[:batch])
    start = time.perf_counter()
    out = [fn(images[i:i + batch]) for i in range(0, len(images), batch)]
    seconds = time.perf_counter() - start
    if isinstance(out[0], list):
        out = [d for part in out for d in part]
    else:
        out = np.concatenate(out)
    return out, 1000.0 * seconds / len(images)


def _model_ways(ae, tmp, args, python_options):
    """The model's ways, by name: the SavedModel (exported into `tmp`)'s
    `encoder_atoms` and `atoms`, `ae.atoms`, and with `--python-refine` the
    former numpy refinement with `python_options`."""
    import tensorflow as tf

    from geomae_tf.export.saved_model import export_saved_model

    served = tf.saved_model.load(str(export_saved_model(ae, tmp)))
    sig_atoms = served.signatures["atoms"]
    sig_encoder = served.signatures["encoder_atoms"]
    ways = {
        "served encoder_atoms": lambda x: sig_encoder(images=tf.constant(x))["atoms"].numpy(),
        "refined graph (Python)": lambda x: ae.atoms(x, batch_size=args.batch),
        "served atoms": lambda x: sig_atoms(images=tf.constant(x))["atoms"].numpy(),
    }
    if args.python_refine:
        ways["refine_codes (numpy)"] = lambda x: ae.atoms_from_codes(
            ae.refine_codes(x, batch_size=args.batch, **python_options))
    return ways


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=64, help="fresh spike images (default 64)")
    parser.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    parser.add_argument("--entry", default="atomic_spikes_refined",
                        help="zoo entry (default atomic_spikes_refined)")
    parser.add_argument("--seed", type=int, default=4242, help="seed of the images")
    parser.add_argument("--python-refine", action="store_true",
                        help="also time the former numpy refinement (refine_codes, slow)")
    args = parser.parse_args(argv)

    from geomae_tf import zoo
    from geomae_tf.analysis import atomic, spike_baselines
    from geomae_tf.datasets import spikes

    ae = zoo.load(args.entry)
    options = zoo.ENTRIES[args.entry].get("evaluation", {}).get("refine")
    if "refine" not in zoo.entry_config(args.entry)["model"] and options is not None:
        ae.set_refine(options)   # an entry exported before the options were stored
    if "strokes" in args.entry:
        return _strokes(ae, args)
    images, f = spikes.make_spikes(args.n, seed=args.seed, image_size=ae.image_shape[0])
    truth = (f["positions"], f["amplitudes"], f["count"])
    print(f"entry {args.entry}, {args.n} fresh spike images, batch {args.batch}, "
          f"refinement options {ae.refine}; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")

    with tempfile.TemporaryDirectory() as tmp:
        ways = _model_ways(ae, tmp, args, {"rounds": 1})
        rows = []
        for name, fn in ways.items():
            atoms, ms = _timed(fn, images, args.batch)
            rows.append((name, atomic.spike_recovery(atoms, *truth), ms))
    for name, method in (("3x3 local maxima", spike_baselines.local_maxima),
                         ("5x5 centroid", spike_baselines.centroid_maxima)):
        found, ms = _timed(lambda x, m=method: spike_baselines.detect(x, m), images, args.batch)
        rows.append((name, spike_baselines.score_detections(found, *truth), ms))

    keys = ("recall", "precision", "position_rmse", "amplitude_error", "one_spike_share")
    print(f"{'way':26s} {'recall':>7s} {'precis.':>7s} {'RMSE px':>7s} {'amp.err':>7s} "
          f"{'1-spike':>7s} {'ms/image':>9s}")
    for name, scores, ms in rows:
        print(f"{name:26s} " + " ".join(f"{scores[k]:7.3f}" for k in keys) + f" {ms:9.1f}")


def _strokes(ae, args):
    """The same ways on pen-stroke images (section 3): stroke recall, atom
    precision (`geomae_tf.analysis.atomic.stroke_matching`: one active atom
    per true stroke at cosine >= 0.8), PSNR of the atoms' sum, ms per image.
    No classical detector decomposes strokes, so none is listed."""
    from geomae_tf.analysis import atomic
    from geomae_tf.datasets import strokes

    images, f = strokes.make_strokes(args.n, seed=args.seed, image_size=ae.image_shape[0],
                                     return_strokes=True)
    print(f"entry {args.entry}, {args.n} fresh stroke images, batch {args.batch}, "
          f"refinement options {ae.refine}; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        ways = _model_ways(ae, tmp, args,
                           {"rounds": 1, "merge_tolerance": 0.15, "min_gain": 0.5})
        print(f"{'way':26s} {'recall':>7s} {'precis.':>7s} {'PSNR dB':>7s} {'atoms':>6s} "
              f"{'ms/image':>9s} {'load':>5s}")
        for name, fn in ways.items():
            atoms, ms = _timed(fn, images, args.batch)
            scores = atomic.stroke_matching(atoms, f["strokes"], f["count"])
            mse = float(np.mean((atoms.sum(axis=1) - images) ** 2))
            count = float(np.mean((atoms.max(axis=(2, 3, 4)) > atomic.ACTIVE_THRESHOLD).sum(1)))
            print(f"{name:26s} {scores['stroke_recall']:7.3f} {scores['atom_precision']:7.3f} "
                  f"{10 * np.log10(1.0 / max(mse, 1e-12)):7.2f} {count:6.2f} {ms:9.1f} "
                  f"{os.getloadavg()[0]:5.1f}", flush=True)


if __name__ == "__main__":
    main()
