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
        (Newson and Traonmilin 2023) `atoms` images -> atoms `(N, k, H, W, 1)`
        (the model's refined code, computed in the graph with its own
        options; switched-off blocks are zero images) and `encoder_atoms`
        images -> atoms (the encoder's one-pass code: they sum to
        `serving_default`'s reconstruction);
    position models (JMIV 2020, section 5): `serving_default`
        signals -> position, or position -> signals.

Every signature checks its input as `Autoencoder.encode` does, and a caller
sees the refusal as INVALID_ARGUMENT (`tf.errors.InvalidArgumentError`):
the input must have the signature's rank and sizes (e.g. `images` of shape
`(N, 64, 64, 1)`; a TensorFlow function runs any shape it is given, so the
sizes are checked at run time), images must be finite and in [0, 1] up to
`geomae_tf.validation.RANGE_TOLERANCE`; codes, signals and positions
finite. The dtype is fixed by the signature. The batch size is free, and an
empty batch gives an empty answer of the right shape.

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

from geomae_tf import io, validation
from geomae_tf.models.autoencoder import Autoencoder
from geomae_tf.zoo.presets import ENTRIES

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


def guard_shape(x: tf.Tensor, name: str,
                shape: tuple[int | None, ...] | None = None) -> tf.Tensor:
    """`x` once checked to have the rank and sizes of `shape` (graph ops).

    `shape` is the expected shape with the batch first, `None` for a free
    size; it defaults to the static shape of `x`, i.e. the signature's
    `tf.TensorSpec` inside an exported function. A TensorFlow function runs
    whatever shape its caller feeds (a served `(None, 64, 64, 1)` signature
    would encode a 32x32 image), so the sizes are compared at run time and a
    mismatch fails the call with INVALID_ARGUMENT naming `name`.
    """
    shape = tuple(x.shape) if shape is None else tuple(shape)
    expected = "(" + ", ".join("N" if i == 0 else str(d) if d is not None else "any"
                               for i, d in enumerate(shape)) + ")"
    # the shape seen through an op of unknown static shape: Grappler folds
    # tf.shape(x) of the signature's placeholder to its spec otherwise
    actual = tf.shape(tf.compat.v1.placeholder_with_default(x, shape=None))
    known = [i for i, d in enumerate(shape) if d is not None and i > 0]
    rank_ok = tf.equal(tf.size(actual), len(shape))

    def sizes_ok():
        if not known:
            return tf.constant(True)
        return tf.reduce_all(tf.equal(tf.gather(actual, known),
                                      tf.constant([shape[i] for i in known], actual.dtype)))

    ok = tf.cond(rank_ok, sizes_ok, lambda: tf.constant(False))
    check = tf.debugging.Assert(
        ok, [f"`{name}` must have shape {expected}. Received shape:", actual], summarize=8)
    with tf.control_dependencies([check]):
        return tf.identity(x)


def empty_safe(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` (tensors in, a dict of batch-first tensors out) that also takes
    an empty batch, giving empty outputs of the right shape.

    TensorFlow's CPU convolution (oneDNN) returns an output shaped like its
    input for an empty batch (`(0, 64, 64, 8)` where 4 channels are due),
    which the bias addition then refuses. An empty batch is therefore
    replaced by one zero input and the outputs cut back to the batch size;
    a non-empty batch runs unchanged.
    """

    def wrapped(*inputs):
        n = tf.shape(inputs[0])[0]

        def one(x):
            if x.shape[1:].is_fully_defined():
                return tf.zeros((1,) + tuple(x.shape[1:]), x.dtype)
            return tf.zeros(tf.concat([[1], tf.shape(x)[1:]], 0), x.dtype)

        padded = [tf.cond(n > 0, lambda x=x: x, lambda x=x: one(x)) for x in inputs]
        for x, p in zip(inputs, padded):
            p.set_shape(x.shape)
        return tf.nest.map_structure(lambda t: t[:n], fn(*padded))

    return wrapped


def _input_name(shape):
    """What an autoencoder takes: images `(H, W, C)`, signals `(n, 1)` or codes."""
    return {3: "images", 2: "signals"}.get(len(shape), "inputs")


def _guard(x, name, guarded):
    """`x` checked for its values: images finite and in [0, 1], anything else
    finite (shapes are checked by `guard_shape`, applied to every signature
    by `endpoints_for`)."""
    if not guarded:
        return x
    return guard_images(x) if name == "images" else guard_finite(x, name)


def _served(specs, fn, guarded):
    """An endpoint `fn` with its inputs checked against `specs` (rank and
    sizes, when `guarded`) and empty batches answered (`empty_safe`)."""
    fn = empty_safe(fn)
    if not guarded:
        return fn

    def checked(*inputs):
        return fn(*[guard_shape(x, spec.name, tuple(spec.shape))
                    for x, spec in zip(inputs, specs)])

    return checked


def autoencoder_endpoints(
        model: Autoencoder, guarded: bool = True,
) -> dict[str, tuple[list[tf.TensorSpec], Callable[[tf.Tensor], dict[str, tf.Tensor]]]]:
    """The signatures of an autoencoder: `serving_default`, `encode`, `decode`
    (and `atoms`, its refined decomposition, and `encoder_atoms`, the
    encoder's one-pass atoms, when the model has a shared decoder block).

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
        if hasattr(model, "refiner"):
            model.refiner()  # its off code is found eagerly, before tracing

        def encoder_atoms(x):
            return {"atoms": model.decode_atoms(model.encoder(_guard(x, name, guarded)))}

        def atoms(x):
            # The model's best decomposition: its code refined in the graph
            # with its own options (`AtomicAutoencoder.atoms_tensor`).
            return {"atoms": model.atoms_tensor(_guard(x, name, guarded))}

        endpoints["atoms"] = ([x_spec], atoms)
        endpoints["encoder_atoms"] = ([x_spec], encoder_atoms)
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
    of a one-input, one-output model (a position encoder or decoder, any
    functional or `keras.Sequential` model with a known input shape) named by
    `signature` or, by default, by the model's input and output layers.

    Every endpoint checks the shape of its inputs (`guard_shape`) and takes
    empty batches (`empty_safe`); `guarded=False` leaves the input checks
    out (to measure what they cost).
    """
    if isinstance(model, Autoencoder):
        endpoints = autoencoder_endpoints(model, guarded)
    elif not isinstance(model, keras.Model):
        raise TypeError(f"`model` must be a keras.Model (an autoencoder or a position model "
                        f"of geomae_tf). Received: model of type {type(model).__name__}")
    else:
        if signature is None:
            signature = _single_io_names(model)
        _check_signature(signature)
        endpoints = single_io_endpoints(model, signature["input"], signature["output"],
                                        guarded)
    return {name: (specs, _served(specs, fn, guarded))
            for name, (specs, fn) in endpoints.items()}


def _model_io(model):
    """The model's symbolic inputs and outputs, or empty lists when it has
    none (a subclassed model, or a Sequential never given an input shape)."""
    try:
        return list(model.inputs or ()), list(model.outputs or ())
    except (AttributeError, ValueError):
        return [], []


def _single_io_names(model):
    """`{"input": ..., "output": ...}` named after a one-input, one-output
    model's input tensor and output layer; ValueError for any other model."""
    inputs, outputs = _model_io(model)
    kind = type(model).__name__
    if not inputs:
        raise ValueError(
            f"`model` must be an Autoencoder of geomae_tf or a model with a known input "
            f"shape (built from keras.Input, e.g. keras.Sequential([keras.Input((64, 64, 1)), "
            f"...])), so that its signature can be written. Received: a {kind} without "
            f"symbolic inputs")
    if len(inputs) != 1 or len(outputs) != 1:
        raise ValueError(
            f"`model` must have one input and one output to be served as `serving_default` "
            f"(or be an Autoencoder of geomae_tf). Received: a {kind} with {len(inputs)} "
            f"input(s) and {len(outputs)} output(s)")
    output_names = getattr(model, "output_names", None) or [model.layers[-1].name]
    return {"input": inputs[0].name, "output": output_names[0]}


def _check_signature(signature):
    if (not isinstance(signature, dict) or set(signature) != {"input", "output"}
            or not all(isinstance(v, str) and v for v in signature.values())):
        raise ValueError("`signature` must be a dict {'input': name, 'output': name} of two "
                         f"non-empty strings. Received: signature={signature!r}")


def next_version(base: PathLike) -> int:
    """One more than the highest integer version folder under `base` (1 if none)."""
    existing = [int(p.name) for p in Path(base).glob("*") if p.name.isdigit()]
    return max(existing, default=0) + 1


def _write_version(model, base, version, signature=None, extra=None, overwrite=False,
                   argument="directory", given=None):
    """Writes the SavedModel of `model` into `base/<version>/` atomically;
    `extra(tmp)` adds files to the folder before it is moved into place.
    An existing version is replaced only with `overwrite=True`."""
    base = Path(base)
    for folder in [base, *base.parents]:
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"`{argument}` must be a folder (or a path to create), but "
                             f"{folder} is a file. Received: "
                             f"{argument}={str(base if given is None else given)!r}")
    if version is not None:
        version = validation.check_int("version", version, minimum=1)
    _check_bool("overwrite", overwrite)
    version = next_version(base) if version is None else version
    target = base / str(version)
    if target.exists() and not target.is_dir():
        raise ValueError(f"{target} is a file, not a version folder: move it away first")
    if target.exists() and not overwrite:
        raise ValueError(f"{target} exists: an export never replaces a version unless "
                         f"overwrite=True (new: version={next_version(base)}, or version=None)")
    endpoints = endpoints_for(model, signature)
    archive = keras.export.ExportArchive()
    archive.track(model)
    for name, (specs, fn) in endpoints.items():
        archive.add_endpoint(name=name, fn=fn, input_signature=specs)
    with io.atomic_directory(target) as tmp:
        archive.write_out(str(tmp), verbose=False)
        if extra is not None:
            extra(tmp)
    return target


def _check_bool(name, value):
    if not isinstance(value, bool):
        raise ValueError(f"`{name}` must be True or False. Received: {name}={value!r}")
    return value


def export_saved_model(model: keras.Model, directory: PathLike, version: int | None = None,
                       signature: dict[str, str] | None = None,
                       overwrite: bool = False) -> Path:
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
            replaces a served version.
        signature: dict or None. `{"input": name, "output": name}` to rename
            a one-input model's signature.
        overwrite: bool. Allow `version` to name an existing version, which
            is then replaced atomically; without it that is a ValueError.
            Defaults to False.

    Returns:
        The path of the version folder.

    Example:
    >>> ae = keras.saving.load_model("mine.keras")
    >>> geomae_tf.export.export_saved_model(ae, "served/mine")   # served/mine/1
    """
    return _write_version(model, directory, version, signature, overwrite=overwrite)


def export_entry(model: keras.Model, entry: str, root: PathLike = "saved_models",
                 version: int | None = None, config: dict[str, Any] | None = None,
                 signature: dict[str, str] | None = None, overwrite: bool = False) -> Path:
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
        overwrite: bool. Allow `version` to name an existing version (replaced
            atomically). Defaults to False.

    Returns:
        The path of the version folder.
    """
    if not isinstance(entry, str) or not entry.isidentifier():
        raise ValueError(f"`entry` must be a name made of letters, digits and '_'. "
                         f"Received: entry={entry!r}")
    root = Path(root)
    config = _with_refine_options(model, entry, config)

    def keras_side(tmp):
        model.save_weights(str(tmp / f"{entry}.weights.h5"))
        (tmp / f"{entry}.json").write_text(json.dumps(config or {}, indent=2, default=float))

    target = _write_version(model, root / entry, version, signature, extra=keras_side,
                            overwrite=overwrite, argument="root", given=root)
    write_models_config(root)
    return target


def _with_refine_options(model, entry, config):
    """`config` with an atomic model's own refinement options in
    `config["model"]["refine"]`, and the model set to them (so that the
    `atoms` signature and `geomae_tf.zoo.load(entry).atoms` agree): the
    options the config has, else for a zoo entry its evaluation options in the
    zoo's presets (none: False, the encoder's atoms), else the model's own."""
    if not hasattr(model, "set_refine") or not isinstance((config or {}).get("model"), dict):
        return config
    options = config["model"].get("refine")
    if options is None:
        if entry in ENTRIES:  # a zoo entry without refinement options: its encoder's atoms
            options = ENTRIES[entry].get("evaluation", {}).get("refine", False)
    if options is not None:
        model.set_refine(options)
    refine = model.refine if model.refine is False else dict(model.refine)
    return {**config, "model": {**config["model"], "refine": refine}}


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
    io.write_text(root / "models.config", "model_config_list {\n" + blocks + "}\n")
    return entries
