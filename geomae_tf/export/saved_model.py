"""SavedModel export with the serving signatures of the zoo (TF Serving).

`export_saved_model(model, directory)` writes any of the package's
autoencoders or position models as `directory/<version>/`, the layout
`tensorflow_model_server --model_base_path=directory` serves (an integer
version folder under a base path; a new export gets the next version, so a
served version is never overwritten). `export_entry` does the same for a zoo
entry under `saved_models/<entry>/<version>/`, adding `<entry>.weights.h5`
and `<entry>.json` (factory and arguments) so that the Keras side can
rebuild the model (`geomae_tf.zoo.load`), and rewrites
`saved_models/models.config`.

Signatures (inputs -> outputs, exact names):
    autoencoders: `serving_default` images -> reconstruction, `encode`
        images -> z, `decode` z -> reconstruction, and for atomic ones
        (Newson and Traonmilin 2023) `atoms` images -> atoms `(N, k, H, W, 1)`;
    position models (JMIV 2020, section 5): `serving_default`
        signals -> position, or position -> signals.

Every signature checks its input as `Autoencoder.encode` does, and a caller
sees the refusal as INVALID_ARGUMENT (`tf.errors.InvalidArgumentError`):
images must be finite and in [0, 1] up to
`geomae_tf.validation.RANGE_TOLERANCE`; codes, signals and positions finite.
Shapes and dtypes are fixed by the signature itself (batch size free, an
empty batch gives an empty answer).

Every export is written into a temporary folder and moved into place at the
end: an export interrupted half-way leaves the previous version untouched.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import tensorflow as tf

from geomae_tf import atomic, validation
from geomae_tf.models.autoencoder import Autoencoder

if TYPE_CHECKING:
    from geomae_tf.types import PathLike


def guard_images(images: tf.Tensor,
                 tolerance: float = validation.RANGE_TOLERANCE) -> tf.Tensor:
    """`images` once checked finite and in [0, 1] up to `tolerance` (graph ops).

    Inside an exported function a refused batch fails the call with
    INVALID_ARGUMENT; an accepted one costs one pass over the values.
    """
    images = tf.debugging.assert_all_finite(
        images, "`images` must be finite (no NaN or infinite value)")
    low = tf.debugging.assert_greater_equal(
        tf.reduce_min(images), tf.constant(-tolerance, images.dtype),
        message=f"`images` must have values in [0, 1] (up to {tolerance:g} outside); "
                "uint8 images must be divided by 255")
    high = tf.debugging.assert_less_equal(
        tf.reduce_max(images), tf.constant(1.0 + tolerance, images.dtype),
        message=f"`images` must have values in [0, 1] (up to {tolerance:g} outside); "
                "uint8 images must be divided by 255")
    with tf.control_dependencies([low, high]):
        return tf.identity(images)


def guard_finite(x: tf.Tensor, name: str) -> tf.Tensor:
    """`x` once checked finite (graph op; INVALID_ARGUMENT otherwise)."""
    return tf.debugging.assert_all_finite(x, f"`{name}` must be finite (no NaN or infinite "
                                             "value)")


def _input_name(shape):
    """What an autoencoder takes: images `(H, W, C)`, signals `(n, 1)` or codes."""
    return {3: "images", 2: "signals"}.get(len(shape), "inputs")


def _guard(x, name, guarded):
    if not guarded:
        return x
    return guard_images(x) if name == "images" else guard_finite(x, name)


def autoencoder_endpoints(
        model: Autoencoder, guarded: bool = True,
) -> dict[str, tuple[list[tf.TensorSpec], Callable[[tf.Tensor], dict[str, tf.Tensor]]]]:
    """The signatures of an autoencoder: `serving_default`, `encode`, `decode`
    (and `atoms` when the model has a shared decoder block).

    `guarded=False` leaves the input checks out (to measure what they cost).
    """
    name = _input_name(model.image_shape)
    x_spec = tf.TensorSpec((None,) + tuple(model.image_shape), tf.float32, name=name)
    z_spec = tf.TensorSpec((None, model.latent_dim), tf.float32, name="z")

    def serve(x):
        return {"reconstruction": model(_guard(x, name, guarded))}

    def encode(x):
        return {"z": model.encoder(_guard(x, name, guarded))}

    def decode(z):
        return {"reconstruction": model.decoder(_guard(z, "z", guarded))}

    endpoints = {"serving_default": ([x_spec], serve), "encode": ([x_spec], encode),
                 "decode": ([z_spec], decode)}
    if hasattr(model, "decode_atoms"):
        def atoms(x):
            return {"atoms": model.decode_atoms(model.encoder(_guard(x, name, guarded)))}

        endpoints["atoms"] = ([x_spec], atoms)
    return endpoints


def single_io_endpoints(
        model: keras.Model, input_name: str, output_name: str, guarded: bool = True,
) -> dict[str, tuple[list[tf.TensorSpec], Callable[[tf.Tensor], dict[str, tf.Tensor]]]]:
    """`serving_default` of a one-input, one-output model, with exact names."""
    shape = (None,) + tuple(model.inputs[0].shape[1:])
    spec = tf.TensorSpec(shape, tf.float32, name=input_name)

    def serve(x):
        return {output_name: model(_guard(x, input_name, guarded))}

    return {"serving_default": ([spec], serve)}


def endpoints_for(
        model: keras.Model, signature: dict[str, str] | None = None, guarded: bool = True,
) -> dict[str, tuple[list[tf.TensorSpec], Callable[[tf.Tensor], dict[str, tf.Tensor]]]]:
    """Chooses the endpoints of `model`: an autoencoder's, or `serving_default`
    of a one-input, one-output model (position encoder or decoder) named by
    `signature` or, by default, by the model's input and output layers."""
    if isinstance(model, Autoencoder):
        return autoencoder_endpoints(model, guarded)
    if not isinstance(model, keras.Model):
        raise TypeError(f"`model` must be a keras.Model (an autoencoder or a position model "
                        f"of geomae_tf). Received: model of type {type(model).__name__}")
    if signature is None and len(model.inputs or ()) == 1 and len(model.outputs or ()) == 1:
        signature = {"input": model.inputs[0].name, "output": model.output_names[0]}
    if signature:
        return single_io_endpoints(model, signature["input"], signature["output"], guarded)
    raise ValueError("`model` must be an Autoencoder or a one-input, one-output model, or "
                     "`signature` must name the input and output. Received: model of type "
                     f"{type(model).__name__}, signature={signature!r}")


def next_version(base: PathLike) -> int:
    """One more than the highest integer version folder under `base` (1 if none)."""
    existing = [int(p.name) for p in Path(base).glob("*") if p.name.isdigit()]
    return max(existing, default=0) + 1


def _write_version(model, base, version, signature=None, extra=None):
    """Writes the SavedModel of `model` into `base/<version>/` atomically;
    `extra(tmp)` adds files to the folder before it is moved into place."""
    endpoints = endpoints_for(model, signature)
    base = Path(base)
    version = next_version(base) if version is None else version
    version = validation.check_int("version", version, minimum=1)
    target = base / str(version)
    archive = keras.export.ExportArchive()
    archive.track(model)
    for name, (specs, fn) in endpoints.items():
        archive.add_endpoint(name=name, fn=fn, input_signature=specs)
    with atomic.atomic_directory(target) as tmp:
        archive.write_out(str(tmp), verbose=False)
        if extra is not None:
            extra(tmp)
    return target


def export_saved_model(model: keras.Model, directory: PathLike, version: int | None = None,
                       signature: dict[str, str] | None = None) -> Path:
    """Writes `model` as a TF Serving SavedModel in `directory/<version>/`, atomically.

    Args:
        model: keras.Model. One of the package's autoencoders (signatures
            `serving_default`, `encode`, `decode`, and `atoms` for atomic
            ones) or a one-input, one-output model such as a position
            encoder or decoder (`serving_default` only; input and output
            named after the model's input and output layers, e.g.
            `signals -> position`).
        directory: path. The model's base path, as
            `tensorflow_model_server --model_base_path` takes it.
        version: int or None. The version folder; None takes one more than
            the highest existing one (1 in a new folder), so an export never
            replaces a served version; an explicit version replaces that
            folder, atomically.
        signature: dict or None. `{"input": name, "output": name}` to rename
            a one-input model's signature.

    Returns:
        The path of the version folder.

    Example:
    >>> ae = keras.saving.load_model("mine.keras")
    >>> geomae_tf.export.export_saved_model(ae, "served/mine")   # served/mine/1
    """
    return _write_version(model, directory, version, signature)


def export_entry(model: keras.Model, entry: str, root: PathLike = "saved_models",
                 version: int | None = None, config: dict[str, Any] | None = None,
                 signature: dict[str, str] | None = None) -> Path:
    """Writes `model` as version `version` of zoo entry `entry`, atomically.

    The SavedModel of `export_saved_model`, plus `<entry>.weights.h5` and
    `<entry>.json` in the version folder; then `root/models.config` is
    rewritten.

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

    def keras_side(tmp):
        model.save_weights(str(tmp / f"{entry}.weights.h5"))
        (tmp / f"{entry}.json").write_text(json.dumps(config or {}, indent=2, default=float))

    target = _write_version(model, root / entry, version, signature, extra=keras_side)
    write_models_config(root)
    return target


def write_models_config(root: PathLike = "saved_models",
                        serve_root: PathLike | None = None) -> list[str]:
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
