"""UpsampleConv2D: Conv3x3(Upsample2x(x)) computed as one stride-2 transposed convolution, exactly."""

import keras
import numpy as np
import pytest

from geomae_tf.layers.upsample_conv2d import UpsampleConv2D
from tests.harness import check_layer


def test_shared_layer_checks(tmp_path):
    check_layer(UpsampleConv2D(3), (5, 6, 2), tmp_path)


@pytest.mark.parametrize("shape, filters",
                         [((4, 4, 8), 8), ((7, 5, 3), 1), ((2, 2, 8), 16), ((1, 3, 2), 3)])
def test_equals_upsampling_then_convolution(shape, filters):
    x = np.random.default_rng(0).normal(size=(3,) + shape).astype("float32")
    fused = UpsampleConv2D(filters, bias_initializer="random_normal")
    y = keras.ops.convert_to_numpy(fused(x))
    conv = keras.layers.Conv2D(filters, 3, padding="same")
    conv.build((None, 2 * shape[0], 2 * shape[1], shape[2]))
    conv.set_weights(fused.get_weights())            # the same variables, the same shapes
    reference = keras.ops.convert_to_numpy(
        conv(keras.layers.UpSampling2D(2, interpolation="nearest")(x)))
    assert y.shape == (3, 2 * shape[0], 2 * shape[1], filters)
    np.testing.assert_allclose(y, reference, atol=1e-5)


def test_gradients_equal_those_of_the_unfused_layers():
    import tensorflow as tf

    x = tf.constant(np.random.default_rng(1).normal(size=(2, 4, 4, 3)).astype("float32"))
    fused = UpsampleConv2D(2)
    fused.build(x.shape)
    conv = keras.layers.Conv2D(2, 3, padding="same")
    conv.build((None, 8, 8, 3))
    conv.set_weights(fused.get_weights())
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        a = tf.reduce_sum(fused(x) ** 2)
        b = tf.reduce_sum(conv(tf.repeat(tf.repeat(x, 2, axis=1), 2, axis=2)) ** 2)
    for ga, gb in zip(tape.gradient(a, [x, fused.kernel, fused.bias]),
                      tape.gradient(b, [x, conv.kernel, conv.bias])):
        np.testing.assert_allclose(ga.numpy(), gb.numpy(), rtol=1e-4, atol=1e-4)


def test_symbolic_shape_and_config():
    layer = UpsampleConv2D(4, use_bias=False)
    assert tuple(layer(keras.Input((3, 5, 2))).shape) == (None, 6, 10, 4)
    assert len(layer.weights) == 1
    assert UpsampleConv2D.from_config(layer.get_config()).get_config() == layer.get_config()


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match=r"`filters` must be an int >= 1. Received: filters=0"):
        UpsampleConv2D(0)
    with pytest.raises(TypeError, match=r"`use_bias` must be a bool"):
        UpsampleConv2D(2, use_bias="yes")
    with pytest.raises(ValueError, match=r"`inputs` must be channels-last images"):
        UpsampleConv2D(2)(keras.Input((4, 4)))
