"""What the input checks of the served signatures cost: `serving_default` calls/s
with and without them.

Usage:
    python benchmarks/serving_guard.py [--entries disk_ae atomic_spikes] [--rounds 7]

For each zoo entry, the trained model is exported twice into a temporary
folder, once with the signatures `geomae_tf.export` writes (inputs checked
finite and in [0, 1]: `guard_images`) and once without the checks, and both
are reloaded with `tf.saved_model.load`. The two are then called in
alternation (so that both see the same load on the machine), at batch 1 and
256; each round times a fixed number of calls, and the best round of each
is reported (the one least disturbed by other work on the machine), with
the median round's ratio beside it. Numbers depend on the machine and on
what else runs on it.
"""

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from geomae_tf import zoo  # noqa: E402
from geomae_tf.export.saved_model import endpoints_for  # noqa: E402


def export(model, path, guarded):
    archive = keras.export.ExportArchive()
    archive.track(model)
    for name, (specs, fn) in endpoints_for(model, guarded=guarded).items():
        archive.add_endpoint(name=name, fn=fn, input_signature=specs)
    archive.write_out(path, verbose=False)
    return tf.saved_model.load(path).signatures["serving_default"]


def calls_per_second(serve, images, calls):
    start = time.perf_counter()
    for _ in range(calls):
        serve(images=images)
    return calls / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", nargs="+", default=["disk_ae", "atomic_spikes"])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'entry':<16}{'batch':>6}{'unguarded calls/s':>19}{'guarded calls/s':>17}"
          f"{'ratio (best)':>14}{'ratio (median)':>16}")
    with tempfile.TemporaryDirectory() as tmp:
        for entry in args.entries:
            model = zoo.load(entry)
            served = {guarded: export(model, os.path.join(tmp, f"{entry}_{guarded}"), guarded)
                      for guarded in (False, True)}
            for batch, calls in ((1, 200), (256, 5)):
                images = tf.constant(rng.uniform(size=(batch,) + model.image_shape)
                                     .astype("float32"))
                for serve in served.values():  # warm-up (first calls trace and allocate)
                    calls_per_second(serve, images, 3)
                rates = {False: [], True: []}
                for _ in range(args.rounds):
                    for guarded, serve in served.items():
                        rates[guarded].append(calls_per_second(serve, images, calls))
                plain, checked = (max(rates[g]) for g in (False, True))
                median = statistics.median(rates[True]) / statistics.median(rates[False])
                print(f"{entry:<16}{batch:>6}{plain:>19.3g}{checked:>17.3g}"
                      f"{checked / plain:>14.3f}{median:>16.3f}", flush=True)


if __name__ == "__main__":
    main()
