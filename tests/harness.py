"""One small, generic harness for layers and models (STYLE.md).

`check_layer` runs the checks every geomae_tf layer must pass: its config
round-trips, it runs symbolically and eagerly with the same output shape,
one `fit` step runs, and a model holding it saves to `.keras` and reloads
with identical outputs.
"""

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
