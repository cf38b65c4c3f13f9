"""Export of zoo entries as TF Serving SavedModels (CONTRACT.md signatures).

`saved_models/<entry>/<version>/` holds the SavedModel that
`tensorflow_model_server` serves, plus `<entry>.weights.h5` and
`<entry>.json` (factory and arguments) so that the Keras side can rebuild
the model (`geomae_tf.zoo.load`). Every export is written into a temporary
folder and moved into place at the end: an export interrupted half-way leaves
the previous version untouched. `saved_models/models.config` is rewritten
(atomically) after every export to list every entry present.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import tensorflow as tf

from geomae_tf import atomic, validation
from geomae_tf.models.autoencoder import Autoencoder


def autoencoder_endpoints(model):
    """The signatures of an autoencoder: `serving_default`, `encode`, `decode`
    (and `atoms` when the model has a shared decoder block)."""
    h, w, c = model.image_shape
    images = tf.TensorSpec((None, h, w, c), tf.float32, name="images")
    z = tf.TensorSpec((None, model.latent_dim), tf.float32, name="z")
    endpoints = {
        "serving_default": ([images], lambda images: {"reconstruction": model(images)}),
        "encode": ([images], lambda images: {"z": model.encoder(images)}),
        "decode": ([z], lambda z: {"reconstruction": model.decoder(z)}),
    }
    if hasattr(model, "decode_atoms"):
        endpoints["atoms"] = ([images], lambda images: {
            "atoms": model.decode_atoms(model.encoder(images))})
    return endpoints


def single_io_endpoints(model, input_name, output_name):
    """`serving_default` of a one-input, one-output model, with exact names."""
    shape = tuple(model.inputs[0].shape)
    spec = tf.TensorSpec(shape, tf.float32, name=input_name)
    return {"serving_default": ([spec], lambda x: {output_name: model(x)})}


def endpoints_for(model, signature=None):
    """Chooses the endpoints of `model` from its kind and the entry's spec."""
    if isinstance(model, Autoencoder):
        return autoencoder_endpoints(model)
    if signature:
        return single_io_endpoints(model, signature["input"], signature["output"])
    raise ValueError("`model` must be an Autoencoder, or `signature` must name the "
                     f"input and output. Received: model of type {type(model).__name__}, "
                     f"signature={signature!r}")


def export_entry(model, entry, root="saved_models", version=None, config=None,
                 signature=None):
    """Writes `model` as version `version` of zoo entry `entry`, atomically.

    Args:
        model: keras.Model. The trained model.
        entry: str. The entry's name (folder under `root`).
        root: path. Folder of the zoo's SavedModels. Defaults to "saved_models".
        version: int or None. Version folder; None takes one more than the
            highest existing version (so the previous one is never touched).
        config: dict. What `geomae_tf.zoo.load` needs: `factory`, `model`
            (arguments) and anything else worth keeping (metrics, recipe).
        signature: dict or None. `{"input": name, "output": name}` for models
            that are not autoencoders.

    Returns:
        The path of the version folder.
    """
    if not isinstance(entry, str) or not entry.isidentifier():
        raise ValueError(f"`entry` must be a name made of letters, digits and '_'. "
                         f"Received: entry={entry!r}")
    root = Path(root)
    if version is None:
        existing = [int(p.name) for p in (root / entry).glob("*") if p.name.isdigit()]
        version = max(existing, default=0) + 1
    version = validation.check_int("version", version, minimum=1)
    target = root / entry / str(version)

    archive = keras.export.ExportArchive()
    archive.track(model)
    for name, (specs, fn) in endpoints_for(model, signature).items():
        archive.add_endpoint(name=name, fn=fn, input_signature=specs)

    with atomic.atomic_directory(target) as tmp:
        archive.write_out(str(tmp), verbose=False)
        model.save_weights(str(tmp / f"{entry}.weights.h5"))
        (tmp / f"{entry}.json").write_text(json.dumps(config or {}, indent=2, default=float))
    write_models_config(root)
    return target


def write_models_config(root="saved_models", serve_root=None):
    """Rewrites `root/models.config` to list every entry with a version folder.

    The file is the `--model_config_file` of `tensorflow_model_server`, which
    requires absolute `base_path`s: by default those of this checkout
    (`make demo` refreshes them), or `serve_root/<entry>` (e.g. `/models`
    when `saved_models/` is mounted there in the TF Serving container).
    Returns the list of entries written.
    """
    root = Path(root)
    serve_root = Path(serve_root) if serve_root else root.resolve()
    entries = sorted(p.name for p in root.iterdir()
                     if p.is_dir() and not p.name.startswith(".")
                     and any(v.name.isdigit() for v in p.iterdir()))
    blocks = "".join(
        "  config {\n"
        f"    name: \"{name}\"\n"
        f"    base_path: \"{serve_root / name}\"\n"
        "    model_platform: \"tensorflow\"\n"
        "  }\n" for name in entries)
    atomic.write_text(root / "models.config", "model_config_list {\n" + blocks + "}\n")
    return entries
