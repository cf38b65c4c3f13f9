"""`UpsampleConv2D`: nearest upsampling by 2 then a 3x3 convolution, fused."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from geomae_tf import validation


def _phase_taps():
    """(2, 3, 3) matrix T[phase, offset, tap]: which taps of the 3x3 kernel over
    the upsampled map land on low-resolution offset -1, 0, +1 for each phase."""
    taps = np.zeros((2, 3, 3), np.float32)
    taps[0, 0, 0] = taps[0, 1, 1] = taps[0, 1, 2] = 1.0   # even rows: 2i-1 -> i-1; 2i, 2i+1 -> i
    taps[1, 1, 0] = taps[1, 1, 1] = taps[1, 2, 2] = 1.0   # odd rows: 2i, 2i+1 -> i; 2i+2 -> i+1
    return taps


@keras.saving.register_keras_serializable(package="geomae_tf")
class UpsampleConv2D(keras.layers.Layer):
    """Nearest-neighbour upsampling by 2 followed by a 3x3 "same" convolution.

    The decoder block g of Newson and Traonmilin 2023 (section 2.3) repeats
    "3x3 convolution, upsampling by 2, leaky ReLU": every convolution after
    the first reads a nearest-upsampled map. This layer computes
    Conv3x3(Upsample2x(x)) exactly, without building the upsampled map: each
    of the four output phases (even/odd row, even/odd column) is a 3x3
    convolution of the low-resolution x with a kernel made of sums of the
    original taps, and the four phases are interleaved (depth to space). It
    holds the same variables as `Conv2D(filters, 3)` (kernel `(3, 3, C_in,
    filters)`, bias), gives the same outputs up to float rounding, touches 4x
    less memory and, for few output channels (the block's last layer maps 32
    channels to 1), runs several times faster on CPU.

    Args:
        filters: int. Output channels.
        use_bias: bool. Defaults to True.
        kernel_initializer: initializer of the 3x3 kernel (as for `Conv2D`).
            Defaults to "glorot_uniform".
        bias_initializer: Defaults to "zeros".
        **kwargs: passed to `keras.layers.Layer`.

    Example:
    >>> y = UpsampleConv2D(16)(x)          # x: (N, 8, 8, 8) -> y: (N, 16, 16, 16)
    >>> # equals Conv2D(16, 3, padding="same")(UpSampling2D(2)(x)) with the same weights
    """

    def __init__(self, filters, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.filters = validation.check_int("filters", filters, minimum=1)
        if not isinstance(use_bias, bool):
            raise TypeError(f"`use_bias` must be a bool. Received: use_bias={use_bias!r}")
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(f"`inputs` must be channels-last images (N, H, W, C) with a known "
                             f"C. Received: inputs with shape {tuple(input_shape)}")
        self.kernel = self.add_weight(name="kernel",
                                      shape=(3, 3, int(input_shape[-1]), self.filters),
                                      initializer=self.kernel_initializer)
        self.bias = (self.add_weight(name="bias", shape=(self.filters,),
                                     initializer=self.bias_initializer)
                     if self.use_bias else None)

    def phase_kernel(self):
        """The (3, 3, C_in, 4 * filters) kernel of the four phases, ordered (row, col, c)."""
        taps = ops.convert_to_tensor(_phase_taps(), dtype=self.kernel.dtype)
        kernel = ops.einsum("ard,bce,deio->rciabo", taps, taps, self.kernel)
        return ops.reshape(kernel, (3, 3, self.kernel.shape[2], 4 * self.filters))

    def call(self, inputs):
        y = ops.conv(inputs, self.phase_kernel(), strides=1, padding="same")
        if self.use_bias:
            y = y + ops.tile(self.bias, (4,))
        h, w = ops.shape(inputs)[1], ops.shape(inputs)[2]
        y = ops.reshape(y, (-1, h, w, 2, 2, self.filters))
        y = ops.transpose(y, (0, 1, 3, 2, 4, 5))
        return ops.reshape(y, (-1, 2 * h, 2 * w, self.filters))

    def compute_output_shape(self, input_shape):
        n, h, w = input_shape[:3]
        return (n, None if h is None else 2 * h, None if w is None else 2 * w, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        })
        return config
