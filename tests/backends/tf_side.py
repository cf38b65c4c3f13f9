"""The TensorFlow side of the backend checks (a script, or imported under TensorFlow).

Given a JSON list of jobs, it writes one `.npz` of outputs:

- `{"export": name, "entry": ..., "factory": ..., "model": {...}, "weights":
  path.weights.h5, "inputs": x.npy, "codes": z.npy or null}`: rebuilds the
  model under TensorFlow from the weights another backend trained, exports
  it with `export_entry` (the zoo's SavedModel signatures), reloads the
  SavedModel with `tf.saved_model.load` and runs every signature: keys
  `export/<name>/<signature>/<output>`;
- `{"entry": name, "inputs": x.npy}`: the trained zoo entry's outputs
  `model(x)` (and `encoder(x)` for autoencoders) under TensorFlow: keys
  `entry/<name>/outputs` and `entry/<name>/z`.

Usage: KERAS_BACKEND=tensorflow python tests/backends/tf_side.py JOBS.json OUT.npz
"""

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def run(jobs):
    import keras
    import tensorflow as tf

    from geomae_tf import zoo
    from geomae_tf.export.saved_model import export_entry

    assert keras.backend.backend() == "tensorflow", keras.backend.backend()
    out = {}
    for job in jobs:
        x = np.load(job["inputs"])
        if "export" in job:
            model = zoo.FACTORIES[job["factory"]](**job["model"], weights=job["weights"])
            with tempfile.TemporaryDirectory() as root:
                path = export_entry(model, job["entry"], root=root, version=1,
                                    config={"factory": job["factory"], "model": job["model"]},
                                    signature=zoo.ENTRIES[job["entry"]].get("signature"))
                loaded = tf.saved_model.load(str(path))
                for name, fn in loaded.signatures.items():
                    (arg,) = fn.structured_input_signature[1]
                    feed = np.load(job["codes"]) if arg == "z" else x
                    for key, value in fn(**{arg: tf.constant(feed)}).items():
                        out[f"export/{job['export']}/{name}/{key}"] = value.numpy()
        else:
            model = zoo.load(job["entry"])
            out[f"entry/{job['entry']}/outputs"] = keras.ops.convert_to_numpy(model(x))
            if hasattr(model, "encoder"):
                out[f"entry/{job['entry']}/z"] = keras.ops.convert_to_numpy(model.encoder(x))
    return out


def main():
    jobs = json.loads(Path(sys.argv[1]).read_text())
    np.savez(sys.argv[2], **run(jobs))


if __name__ == "__main__":
    main()
