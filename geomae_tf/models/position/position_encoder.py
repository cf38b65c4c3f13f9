"""The trained position encoder of JMIV 2020, section 5.3 (Figure 9) and its max-pooling twin."""

from __future__ import annotations

from typing import TYPE_CHECKING

import keras

from geomae_tf import validation
from geomae_tf.models.position.position_autoencoder import position_autoencoder
from geomae_tf.models.position.position_layers import (ALPHA, POOLINGS, check_length,
                                                       encoder_layers)
from geomae_tf.models.saved_weights import load_weights_file

if TYPE_CHECKING:
    from geomae_tf.types import PathLike


def position_encoder(n: int = 64, supervised: bool = True, use_bias: bool = True,
                     pooling: str = "strided", alpha: float = ALPHA, output_scale: float = 1.0,
                     output_offset: float = 0.0, weights: PathLike | None = None,
                     name: str | None = None) -> keras.Model:
    """Builds the 1-D position encoder of JMIV 2020, section 5.3.

    One channel per layer ("Depths (position) 1 1 1 1 1 1 1", Figure 1),
    3-tap kernels, stride 2, biases and leaky ReLU (alpha = 0.2), from a
    signal of length n down to one number. Trained on one-hot vectors, its
    kernels converge to b [1, 2, 1] (Figure 9), the hand-crafted filter of
    `geomae_tf.layers.DiracPositionEncoder`, and its output is an affine
    function of the position.

    Args:
        n: int. Signal length, a power of two. Defaults to 64 (6 levels).
        supervised: bool. True: a `keras.Model` from `signals (N, n, 1)` to
            `position (N, 1)`, trained on (one-hot, position) pairs (the
            talk's experiment; zoo entry `position_encoder_1d`). False: a
            `PositionAutoencoder` whose `.encoder` is this encoder with a 1-D
            code and whose `.decoder` is a `position_decoder`, trained to
            reconstruct the one-hot vectors (the paper's experiment).
            Defaults to True.
        use_bias: bool. Biases in every convolution. Defaults to True.
        pooling: "strided" (stride-2 convolutions, the paper) or "max"
            (stride-1 convolutions then max pooling by 2, the talk slide's
            failure case). Defaults to "strided".
        alpha: float. Leaky ReLU slope. Defaults to 0.2.
        output_scale: float. A fixed (non-trainable) factor on the last
            level's output (supervised only). Defaults to 1.
        output_offset: float. A fixed offset added after `output_scale`:
            position = output_offset + output_scale * E(x). With
            `output_scale=-1, output_offset=n` the network E is trained on
            the inverted position n - a, the order in which the [1, 2, 1]
            network reads it (Proposition 3: E(delta_a) = 2^L - a), while
            the model still returns the position a in sample units. This
            orientation is what makes training reliable (see
            zoo/position_encoder_1d.toml). Defaults to 0.
        weights: None or a path to `.weights.h5`; through `geomae_tf.zoo`, also a
            zoo entry name.
        name: str or None. Model name; None gives "position_encoder" (or
            "position_autoencoder").

    Returns:
        A `keras.Model` (see `supervised`).

    Example:
    >>> encoder = geomae_tf.zoo.position_encoder(weights="position_encoder_1d")
    >>> encoder.predict(np.eye(64, dtype="float32")[:, :, None])[:, 0]   # ~ 0 .. 63
    """
    n = check_length(n)
    for arg, value in (("supervised", supervised), ("use_bias", use_bias)):
        if not isinstance(value, bool):
            raise TypeError(f"`{arg}` must be a bool. Received: {arg}={value!r}")
    validation.check_choice("pooling", pooling, set(POOLINGS))
    alpha = validation.check_float("alpha", alpha, minimum=0.0, maximum=1.0)
    output_scale = validation.check_float("output_scale", output_scale)
    if output_scale == 0.0:
        raise ValueError("`output_scale` must be non-zero. Received: output_scale=0.0")
    output_offset = validation.check_float("output_offset", output_offset)
    if not supervised:
        if output_scale != 1.0 or output_offset != 0.0:
            raise ValueError(f"`output_scale` and `output_offset` apply to the supervised "
                             f"encoder only (an autoencoder's code has no units). Received: "
                             f"supervised=False, output_scale={output_scale}, "
                             f"output_offset={output_offset}")
        return position_autoencoder(n=n, use_bias=use_bias, pooling=pooling, alpha=alpha,
                                    weights=weights, name=name or "position_autoencoder")

    signals = keras.Input((n, 1), name="signals")
    x = encoder_layers(signals, n, use_bias, pooling, alpha)
    if output_scale != 1.0 or output_offset != 0.0:
        x = keras.layers.Rescaling(output_scale, offset=output_offset, name="output_map")(x)
    position = keras.layers.Flatten(name="position")(x)
    model = keras.Model(signals, position, name=name or "position_encoder")
    if weights is not None:
        load_weights_file(model, weights)
    return model
