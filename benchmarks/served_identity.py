"""Does today's code serve what the zoo published? Every entry, every signature.

Each zoo entry's latest SavedModel under `saved_models/` was written by the
code of the day it was published. This script exports the same weights again
with today's code (`python -m geomae_tf.export`'s `export_weights`: the
factory and options of the `<entry>.json` beside them, the path `geomae
train` takes) into a temporary folder, loads both SavedModels with
TensorFlow alone (`tf.saved_model.load`) and calls every signature of the
published one on the same inputs: `--n` images of the entry's size (uniform
noise in [0, 1], seeded) or codes (standard normal, seeded). It prints, per
entry and signature, the largest absolute difference between the two
answers and whether they are bit for bit the same.

A refactoring of the package that changes no behaviour leaves every row
identical; a row that differs names the entry and signature to look at.

Usage:
    python benchmarks/served_identity.py                       # every entry
    python benchmarks/served_identity.py --entries disk_ae atomic_strokes --n 4
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from geomae_tf import zoo  # noqa: E402
from geomae_tf.export.__main__ import SUFFIX, export_weights  # noqa: E402
from geomae_tf.zoo.weights import entry_dir  # noqa: E402


def inputs_of(function, n: int, seed: int) -> dict[str, tf.Tensor]:
    """Seeded inputs for every argument of a signature: images in [0, 1]
    (rank 4) or standard-normal codes (rank 2), `n` of them."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, spec in sorted(function.structured_input_signature[1].items()):
        shape = [n if d is None else d for d in spec.shape.as_list()]
        values = rng.uniform(size=shape) if len(shape) == 4 else rng.standard_normal(shape)
        out[name] = tf.constant(values, dtype=spec.dtype)
    return out


def compare(entry: str, n: int, seed: int, scratch: Path) -> list[dict]:
    """One row per signature of `entry`'s latest published SavedModel."""
    published_dir = entry_dir(entry)
    weights = published_dir / f"{entry}{SUFFIX}"
    started = time.time()
    fresh_dir = export_weights(weights, entry, scratch, version=int(published_dir.name))
    export_s = time.time() - started
    published = tf.saved_model.load(str(published_dir))
    fresh = tf.saved_model.load(str(fresh_dir))
    rows = []
    for name in sorted(published.signatures):
        if name not in fresh.signatures:
            rows.append({"entry": entry, "version": published_dir.name, "signature": name,
                         "max_abs_diff": float("nan"), "identical": False,
                         "note": "missing from today's export"})
            continue
        kwargs = inputs_of(published.signatures[name], n, seed)
        old = published.signatures[name](**kwargs)
        new = fresh.signatures[name](**kwargs)
        diffs, same = [], sorted(old) == sorted(new)
        for key in sorted(set(old) & set(new)):
            a, b = old[key].numpy(), new[key].numpy()
            same &= a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)
            if a.shape == b.shape:
                diffs.append(float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)),
                                          initial=0.0)))
        rows.append({"entry": entry, "version": published_dir.name, "signature": name,
                     "max_abs_diff": max(diffs, default=float("nan")), "identical": same,
                     "note": f"outputs {sorted(old)}; export {export_s:.0f} s"})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", nargs="*", default=sorted(zoo.ENTRIES),
                        help="zoo entries (default: all)")
    parser.add_argument("--n", type=int, default=4, help="inputs per signature call")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    unknown = sorted(set(args.entries) - set(zoo.ENTRIES))
    if unknown:
        parser.error(f"--entries must be zoo entries {sorted(zoo.ENTRIES)}. Received: {unknown}")
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for entry in args.entries:
            entry_rows = compare(entry, args.n, args.seed, Path(scratch))
            rows += entry_rows
            for row in entry_rows:
                print(f"{row['entry']:24s} v{row['version']:>2s}  {row['signature']:16s} "
                      f"max|diff| {row['max_abs_diff']:.3g}  "
                      f"{'identical' if row['identical'] else 'DIFFERENT'}  ({row['note']})",
                      flush=True)
    different = [r for r in rows if not r["identical"]]
    print(f"{len(rows) - len(different)} of {len(rows)} signatures identical over "
          f"{len(args.entries)} entries")
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
