"""The REST requests and responses of `docs/serving.md`, computed from the zoo.

Each example names an entry, a signature, the request body (JSON with
`signature_name` and `instances`, as TF Serving's REST API takes it) and an
excerpt of the response: the numbers the page shows. `write_serving_examples`
calls each entry's latest SavedModel with the body's `instances` (as
`tf.saved_model.load(...).signatures[name]`, what TF Serving runs) and writes
the examples between the page's markers; a test calls them again and compares.

Run `python -m geomae_tf.analysis.serving_examples` to rewrite the examples
(about 20 s on 2 CPU cores).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from geomae_tf import io
from geomae_tf.datasets import disks, spikes
from geomae_tf.zoo.weights import checkout_root, entry_dir

#: Markers of the generated part of docs/serving.md.
START, END = "<!-- serving-examples:start -->", "<!-- serving-examples:end -->"


def _disk_image():
    return disks.render_disks_monte_carlo([10.0], seed=0)[0]          # (64, 64, 1)


def _spike_image():
    positions = np.array([[[20.3, 14.7], [40.0, 45.5], [12.5, 50.2]]], np.float32)
    amplitudes = np.array([[0.9, 0.7, 0.6]], np.float32)
    return np.asarray(spikes.render_spikes(positions, amplitudes))[0]   # (64, 64, 1)


def _one_hot(position=20, length=64):
    signal = np.zeros((length, 1), np.float32)
    signal[position] = 1.0
    return signal


def _disk_code():
    return _signature("disk_ae", "encode")(images=_disk_image()[None])["z"][0]


def _signature(entry, name):
    import tensorflow as tf

    loaded = tf.saved_model.load(str(entry_dir(entry)))
    function = loaded.signatures[name]

    def call(**inputs):
        outputs = function(**{k: tf.constant(np.asarray(v, np.float32))
                              for k, v in inputs.items()})
        return {k: v.numpy().astype(np.float64) for k, v in outputs.items()}

    call.loaded = loaded   # keeps the SavedModel alive with its function
    return call


def _central_row(x):
    """Row 32, columns 16-31 of an image (N, 64, 64, 1): a disk's edge and inside."""
    return np.round(x[0, 32, 16:32, 0], 4).tolist()


def _atom_peaks(x):
    """(peak value, row, column) of each of the 10 atoms (N, 10, 64, 64, 1)."""
    atoms = x[0, ..., 0]
    out = []
    for atom in atoms:
        r, c = np.unravel_index(int(np.argmax(atom)), atom.shape)
        out.append([round(float(atom[r, c]), 3), int(r), int(c)])
    return out


#: The examples: `entry`, `signature`, `inputs` (name -> a function building ONE
#: instance), `output`, `excerpt` (the numbers shown: a function of the output
#: array), `what` (how the page describes the excerpt), `full` (the body and the
#: response are short enough to show whole).
EXAMPLES = [
    {"entry": "position_encoder_1d", "signature": "serving_default",
     "input": "signals", "instance": _one_hot, "output": "position",
     "excerpt": lambda y: np.round(y[:, 0], 3).tolist(),
     "what": "the position read from a one-hot signal at sample 20", "full": True},
    {"entry": "position_decoder_1d", "signature": "serving_default",
     "input": "position", "instance": lambda: np.array([20.5], np.float32),
     "output": "signals", "excerpt": lambda y: np.round(y[0, 17:25, 0], 3).tolist(),
     "what": "samples 17-24 of the decoded signal: a triangle peaking between 20 and 21",
     "full": False},
    {"entry": "disk_ae", "signature": "encode", "input": "images",
     "instance": _disk_image, "output": "z",
     "excerpt": lambda y: np.round(y[:, 0], 4).tolist(),
     "what": "the one-number code of a disk of radius 10 px", "full": False},
    {"entry": "disk_ae", "signature": "decode", "input": "z",
     "instance": lambda: np.round(_disk_code(), 4), "output": "reconstruction",
     "excerpt": _central_row,
     "what": "row 32, columns 16-31 of the decoded disk: 0 outside, 1 inside, "
             "the edge at column 21.5",
     "full": False},
    {"entry": "disk_ae", "signature": "serving_default", "input": "images",
     "instance": _disk_image, "output": "reconstruction", "excerpt": _central_row,
     "what": "row 32, columns 16-31 of the reconstruction", "full": False},
    {"entry": "atomic_spikes", "signature": "atoms", "input": "images",
     "instance": _spike_image, "output": "atoms", "excerpt": _atom_peaks,
     "what": "each atom's (peak value, row, column) for three spikes at (20.3, 14.7), "
             "(40.0, 45.5), (12.5, 50.2) of amplitudes 0.9, 0.7, 0.6 (an atom is "
             "active above 0.25)",
     "full": False},
]


def request_body(example: dict[str, Any]) -> dict[str, Any]:
    """The REST request body of `example`: `{"signature_name", "instances"}`."""
    instance = np.asarray(example["instance"](), np.float64)
    return {"signature_name": example["signature"],
            "instances": [np.round(instance, 4).tolist()]}


def call_example(example: dict[str, Any]) -> np.ndarray:
    """The output array of `example`'s signature on its request body's instances."""
    body = request_body(example)
    outputs = _signature(example["entry"], example["signature"])(
        **{example["input"]: body["instances"]})
    return outputs[example["output"]]


def _shorten(value, depth=0):
    """A JSON text of `value` with long lists cut to their first and last items."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_shorten(v, depth + 1)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, list):
        items = [_shorten(v, depth + 1) for v in value]
        if len(items) > 4:
            items = items[:2] + [f"... {len(value) - 3} more ..."] + items[-1:]
        return "[" + ", ".join(items) + "]"
    return json.dumps(value)


def render(examples: list[dict[str, Any]] | None = None) -> str:
    """The markdown of the examples (requests, responses, excerpts)."""
    lines = []
    for example in EXAMPLES if examples is None else examples:
        body = request_body(example)
        y = call_example(example)
        shape = "(" + ", ".join(str(d) for d in y.shape) + ")"
        lines += [f"### `{example['entry']}`, signature `{example['signature']}`", "",
                  f"Request (`{example['input']}`, one instance) and response "
                  f"(`{example['output']}`, shape {shape}):", "", "```json"]
        if example["full"]:
            lines += [json.dumps(body), "```", "", "```json",
                      json.dumps({"predictions": np.round(y, 4).tolist()}), "```"]
        else:
            lines += [_shorten(body), "```", "", "```json",
                      _shorten({"predictions": np.round(y, 4).tolist()}), "```"]
        lines += ["", f"Excerpt, {example['what']}:", "",
                  f"<!-- excerpt: {example['entry']} {example['signature']} -->",
                  "```json", json.dumps(example["excerpt"](y)), "```", ""]
    return "\n".join(lines)


def documented_excerpts(text: str) -> dict[tuple[str, str], list]:
    """{(entry, signature): excerpt} as the page `text` shows them."""
    out = {}
    for block in text.split("<!-- excerpt: ")[1:]:
        key, rest = block.split(" -->", 1)
        entry, signature = key.split()
        out[(entry, signature)] = json.loads(rest.split("```json", 1)[1].split("```", 1)[0])
    return out


def write_serving_examples(path: str | Path | None = None) -> Path:
    """Rewrites the examples between the markers of `docs/serving.md`; returns its path."""
    path = Path(path) if path is not None else checkout_root() / "docs" / "serving.md"
    text = path.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    io.write_text(path, f"{head}{START}\n{render()}\n{END}{tail}")
    return path


if __name__ == "__main__":
    print(write_serving_examples())
