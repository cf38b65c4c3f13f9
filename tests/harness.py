"""One small, generic harness for layers, models and served signatures.

`check_layer` runs the checks every geomae_tf layer must pass: its config
round-trips, it runs symbolically and eagerly with the same output shape,
one `fit` step runs, and a model holding it saves to `.keras` and reloads
with identical outputs. `check_served_signature` runs those every signature
of an exported SavedModel must pass.
"""

import re

import numpy as np
import keras


def check_layer(layer, input_shape, tmp_path, atol=1e-6):
    """Runs the shared checks on `layer` for inputs of `input_shape` (no batch).

    Returns the reloaded model, for further layer-specific assertions.
    """
    x = np.random.default_rng(0).uniform(size=(4,) + tuple(input_shape)).astype("float32")

    clone = layer.__class__.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()

    inputs = keras.Input(input_shape)
    outputs = layer(inputs)
    model = keras.Model(inputs, outputs)
    eager = keras.ops.convert_to_numpy(model(x))
    symbolic_shape = tuple(outputs.shape[1:])
    assert eager.shape[1:] == symbolic_shape
    assert layer.compute_output_shape((4,) + tuple(input_shape)) == eager.shape

    if model.trainable_weights:
        model.compile(optimizer="adam", loss="mse")
        before = [w.copy() for w in model.get_weights()]
        model.fit(x, eager, epochs=1, batch_size=4, verbose=0)
        # A loss of zero (target = output) leaves weights unchanged only if no
        # regulariser acts; the step must at least run and stay finite.
        assert all(np.all(np.isfinite(w)) for w in model.get_weights())
        assert len(before) == len(model.get_weights())

    path = tmp_path / "layer_model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reloaded(x)),
                               keras.ops.convert_to_numpy(model(x)), atol=atol)
    return reloaded


def input_of(signature):
    (name, spec), = signature.structured_input_signature[1].items()
    return name, tuple(spec.shape)


def check_served_signature(signature, rng=None):
    """A served signature takes good and empty batches and refuses bad ones.

    Good inputs give one output row per input row; an empty batch gives
    empty outputs of the right shape; wrong sizes and ranks, NaN and (for
    images) 0..255 values fail with INVALID_ARGUMENT naming the input.
    """
    import pytest
    import tensorflow as tf

    rng = np.random.default_rng(1) if rng is None else rng
    name, shape = input_of(signature)
    inner = shape[1:]
    good = rng.uniform(0.1, 0.9, (3,) + inner).astype("float32")
    outputs = signature(**{name: tf.constant(good)})
    for out in outputs.values():
        assert out.shape[0] == 3
    # empty: empty outputs of the same shape past the batch
    empty = signature(**{name: tf.zeros((0,) + inner)})
    assert set(empty) == set(outputs)
    for key, out in empty.items():
        assert out.shape == (0,) + tuple(outputs[key].shape[1:]), key
    # wrong sizes and ranks: refused, naming the input and the expected shape
    expected = "(" + ", ".join(["N"] + [str(d) for d in inner]) + ")"
    wrong = [(3,) + inner + (1,), (3,) + inner[:-1]]
    if len(inner) >= 2:
        wrong += [(3, inner[0] // 2) + inner[1:], (3, inner[0], inner[1] // 2) + inner[2:],
                  (3,) + inner[:-1] + (3,)]
    else:
        wrong += [(3, inner[0] + 1)]
    for bad_shape in wrong:
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match=rf"`{name}` must have shape {re.escape(expected)}"):
            signature(**{name: tf.zeros(bad_shape)})
    # NaN: refused for every input; 0..255 for images
    nan = good.copy()
    nan.flat[1] = np.nan
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"`{name}` must be finite"):
        signature(**{name: tf.constant(nan)})
    if name == "images":
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"values in \[0, 1\]"):
            signature(**{name: tf.constant(good * 255)})
