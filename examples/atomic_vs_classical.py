"""
Title: The atomic autoencoder against classical spike recovery
Reproduces: Newson and Traonmilin 2023, section 3.2 (Figure 5: off-the-grid
spikes decomposed into one atom per spike), read against the classical
methods that know the point-spread function.

On the same fresh spike images (64x64, 1 to 10 Gaussian spikes, sigma 2 px,
amplitude U(0.5, 1), continuous positions at least 4 px apart) the script runs

- 3x3 local maxima above a quarter of the smallest amplitude (0.125),
  amplitude = the peak pixel's value,
- the same peaks refined to the intensity centroid of a 5x5 window,
- a greedy continuous fit with the known Gaussian PSF (a spike at the
  residual's maximum, then nonlinear least squares on every position and
  amplitude, until the residual's maximum is below 0.125); with `--psf-sigma`
  also the same fit assuming a wrong PSF width,
- the trained zoo entry `atomic_spikes` when it is installed (and any other
  atomic entries named with `--entries`), its decoded atoms g(z_i) scored by
  `geomae_tf.analysis.atomic.spike_recovery`, once from the encoder's code (the
  paper's answer) and once from the refined code (`refine_codes`: gradient
  steps through the fixed decoder, pruning and reseeding; `--no-refine` skips it),

and scores all of them with the same Hungarian matching within 2 px and the
same metrics (`geomae_tf.analysis.spike_baselines.score_detections`): recall,
precision, position RMSE (px), amplitude error (relative), the share of
detections (atoms) whose half-maximum region holds exactly one true spike, and
the time per image; then recall per number of spikes in the image.

Times are wall-clock on whatever else the machine runs (the load average is
printed); CPU time is printed beside them. The classical methods run one image
at a time in Python; the autoencoder runs batches of 100 through TensorFlow.

Usage:
    python examples/atomic_vs_classical.py                   # 300 images, about a minute
    python examples/atomic_vs_classical.py --n 100 --out figures/atomic_vs_classical.md
    python examples/atomic_vs_classical.py --n 30 --psf-sigma 1.8 2.4   # minutes
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from geomae_tf import zoo
from geomae_tf.analysis import atomic, spike_baselines
from geomae_tf.io import write_text
from geomae_tf.datasets import spikes

#: The columns of the main table: (header, key of the scores, format).
COLUMNS = [("recall", "recall", "{:.3f}"), ("precision", "precision", "{:.3f}"),
           ("position RMSE (px)", "position_rmse", "{:.3f}"),
           ("amplitude error", "amplitude_error", "{:.3f}"),
           ("one-spike share", "one_spike_share", "{:.3f}"),
           ("ms / image (wall)", "ms_wall", "{:.2f}"),
           ("ms / image (CPU)", "ms_cpu", "{:.2f}")]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0].strip())
    parser.add_argument("--n", type=int, default=300, help="number of fresh test images")
    parser.add_argument("--seed", type=int, default=atomic.EVAL_SEED,
                        help="seed of the test images (the zoo evaluation's by default)")
    parser.add_argument("--no-refine", action="store_true",
                        help="skip the refined-code rows (refinement takes about a second "
                             "of CPU per image)")
    parser.add_argument("--entries", nargs="*", default=[],
                        help="atomic zoo entries to include besides atomic_spikes")
    parser.add_argument("--out", default=None, help="write the tables to this markdown file")
    parser.add_argument("--psf-sigma", type=float, nargs="*", default=[],
                        help="extra rows: the greedy fit assuming these PSF sigmas (px) "
                             "instead of the data's 2 px (slow when wrong: seconds per image)")
    return parser.parse_args()


def timed(function, *args, **kwargs):
    """(result, wall ms, CPU ms) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, 1e3 * (time.perf_counter() - wall), 1e3 * (time.process_time() - cpu)


def run_classical(images, truth, psf_sigmas=()):
    methods = [(name, name, {}) for name in spike_baselines.METHODS]
    methods += [(f"greedy Gaussian fit, PSF sigma assumed {s:g} px", "greedy Gaussian fit",
                 {"sigma": s}) for s in psf_sigmas]
    rows = {}
    for name, method, kwargs in methods:
        detections, wall, cpu = timed(spike_baselines.detect, images, method, **kwargs)
        scores = spike_baselines.score_detections(detections, *truth)
        scores["by_count"] = spike_baselines.scores_by_count(detections, *truth)
        scores.update(ms_wall=wall / len(images), ms_cpu=cpu / len(images))
        rows[name] = scores
        print(f"  {name}: done in {wall / 1e3:.1f} s")
    return rows


def run_entry(entry, images, truth, refine=False):
    """Scores of an atomic zoo entry, or None (with a note) where it is missing.

    With `refine` the atoms decode the refined code
    (`AtomicAutoencoder.refine_codes`: Adam steps through the fixed decoder,
    one round of pruning splits and reseeding residual peaks) instead of the
    encoder's."""
    if entry not in zoo.available_entries():
        print(f"  {entry}: no trained weights on this machine, skipped")
        return None
    model = zoo.load(entry)
    if not hasattr(model, "atoms"):
        print(f"  {entry}: not an atomic autoencoder, skipped")
        return None
    model.atoms(images[:100], batch_size=100)          # build and trace outside the timing
    atoms, wall, cpu = timed(model.atoms, images, batch_size=100, refine=refine)
    scores = atomic.spike_recovery(atoms, *truth)
    scores["by_count"] = atomic.recovery_by_count(atoms, *truth)
    scores.update(ms_wall=wall / len(images), ms_cpu=cpu / len(images))
    print(f"  {entry}: done in {wall / 1e3:.1f} s")
    return scores


def markdown(rows, counts, n, seed, load):
    head = ["method", *(c[0] for c in COLUMNS)]
    lines = [f"Fresh spike images: {n}, seed {seed}; load average during the run "
             f"{load[0]:.1f} / {load[1]:.1f} (1 / 5 min).", "",
             "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name, s in rows.items():
        lines.append("| " + " | ".join([name] + [fmt.format(s[key]) for _, key, fmt in COLUMNS])
                     + " |")
    present = sorted(set(counts.tolist()))
    n_images = [int(np.sum(counts == c)) for c in present]
    lines += ["", "Recall by number of spikes in the image (images per count in brackets):", "",
              "| method | " + " | ".join(f"{c} ({m})" for c, m in zip(present, n_images)) + " |",
              "|" + " --- |" * (len(present) + 1)]
    for name, s in rows.items():
        by_count = dict(zip(s["by_count"]["count"], s["by_count"]["recall"]))
        lines.append("| " + " | ".join([name] + [f"{by_count[c]:.3f}" for c in present]) + " |")
    return "\n".join(lines) + "\n"


def main():
    args = parse_args()
    images, f = spikes.make_spikes(args.n, seed=args.seed)
    truth = (f["positions"], f["amplitudes"], f["count"])
    print(f"{args.n} fresh spike images (seed {args.seed}), {int(f['count'].sum())} spikes")
    started = time.perf_counter()
    rows = run_classical(images, truth, args.psf_sigma)
    for entry in ["atomic_spikes", *[e for e in args.entries if e != "atomic_spikes"]]:
        scores = run_entry(entry, images, truth)
        if scores is not None:
            rows[f"atomic autoencoder ({entry})"] = scores
        if scores is not None and not args.no_refine:
            rows[f"atomic autoencoder ({entry}), refined code"] = run_entry(
                entry, images, truth, refine=True)
    text = markdown(rows, f["count"], args.n, args.seed, os.getloadavg())
    print("\n" + text)
    print(f"total {time.perf_counter() - started:.0f} s")
    if args.out:
        write_text(args.out, text)
        print(f"tables written to {args.out}")


if __name__ == "__main__":
    main()
