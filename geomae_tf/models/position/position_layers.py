"""The layers shared by the position family: JMIV 2020, sections 5.3-5.4.

The encoder's one-channel levels (3-tap convolution, stride 2, Figure 9) and
the decoder's upsampling levels (Figure 10), with the checks of their
arguments; `position_encoder`, `position_decoder` and `position_autoencoder`
are built from them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import keras

from geomae_tf import validation

if TYPE_CHECKING:
    from geomae_tf.types import Tensor

#: Leaky ReLU slope of eq. (2).
ALPHA = 0.2
POOLINGS = ("strided", "max")


def check_length(n: int) -> int:
    """`n` as a power of two >= 2 (one level halves the length)."""
    n = validation.check_int("n", n, minimum=2)
    if n & (n - 1):
        raise ValueError(f"`n` must be a power of two so that halving reaches one number. "
                         f"Received: n={n}")
    return n


def encoder_layers(x: Tensor, n: int, use_bias: bool = True, pooling: str = "strided",
                   alpha: float = ALPHA, prefix: str = "enc") -> Tensor:
    """Applies the log2(n) one-channel levels to `x` (n, 1); returns (N, 1).

    "strided": zero padding on the left by one, then a 3-tap convolution
    with stride 2, so level l computes
    u(t) = w0 u(2t - 1) + w1 u(2t) + w2 u(2t + 1) + b: exactly the
    subsampling at even positions of the hand-crafted encoder (Table 2).
    "max": a 3-tap convolution with stride 1 ("same" padding) then max
    pooling by 2. Leaky ReLU after every level but the last (the output is
    affine). The convolutions are named `<prefix>_conv<l>`.
    """
    levels = int(math.log2(n))
    for level in range(levels):
        if pooling == "strided":
            x = keras.layers.ZeroPadding1D((1, 0), name=f"{prefix}_pad{level}")(x)
            x = keras.layers.Conv1D(1, 3, strides=2, padding="valid", use_bias=use_bias,
                                    name=f"{prefix}_conv{level}")(x)
        else:
            x = keras.layers.Conv1D(1, 3, strides=1, padding="same", use_bias=use_bias,
                                    name=f"{prefix}_conv{level}")(x)
            x = keras.layers.MaxPooling1D(2, name=f"{prefix}_maxpool{level}")(x)
        if level < levels - 1:
            x = keras.layers.LeakyReLU(negative_slope=alpha, name=f"{prefix}_lrelu{level}")(x)
    return x


#: Filter depths of section 5.4: the code (1), then the hidden layers; the output has 1.
PAPER_DEPTHS = (1, 2, 4, 4, 4, 8)
UPSAMPLINGS = ("nearest", "zeros")


def check_depths(depths: tuple[int, ...] | list[int], n: int) -> tuple[int, ...]:
    """`depths` as a tuple of positive ints starting with 1, one per halving of n."""
    if not isinstance(depths, (list, tuple)) or not depths:
        raise ValueError(f"`depths` must be a non-empty tuple of positive ints. "
                         f"Received: depths={depths!r}")
    depths = tuple(validation.check_int("depths[i]", d, minimum=1) for d in depths)
    if depths[0] != 1:
        raise ValueError(f"`depths[0]` is the depth of the code (one number) and must be 1. "
                         f"Received: depths={depths}")
    if 2 ** len(depths) != n:
        raise ValueError(f"`n` must be 2 ** len(depths) = {2 ** len(depths)}: each depth is "
                         f"one upsampling by 2 from a length-1 code. Received: n={n}, "
                         f"depths={depths}")
    return depths


def decoder_layers(x: Tensor, depths: Sequence[int], use_bias: bool = True,
                   upsampling: str = "zeros", alpha: float = ALPHA, prefix: str = "dec") -> Tensor:
    """Upsamples a code (N, 1, 1) to a signal (N, 2 ** len(depths), 1).

    One level per entry of `depths`: upsampling by 2, 3-tap convolution (to
    the next depth, and to 1 channel at the last level), bias, leaky ReLU.
    "nearest" repeats samples (`UpSampling1D`); "zeros" inserts zeros
    before the convolution (section 3; a stride-2 transposed convolution).
    """
    outputs = tuple(depths[1:]) + (1,)
    for level, depth in enumerate(outputs):
        if upsampling == "nearest":
            x = keras.layers.UpSampling1D(2, name=f"{prefix}_up{level}")(x)
            x = keras.layers.Conv1D(depth, 3, padding="same", use_bias=use_bias,
                                    name=f"{prefix}_conv{level}")(x)
        else:
            x = keras.layers.Conv1DTranspose(depth, 3, strides=2, padding="same",
                                             use_bias=use_bias, name=f"{prefix}_conv{level}")(x)
        x = keras.layers.LeakyReLU(negative_slope=alpha, name=f"{prefix}_lrelu{level}")(x)
    return x
