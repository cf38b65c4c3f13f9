"""The position decoder of JMIV 2020, section 5.4 (Figure 10)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import keras

from geomae_tf import validation
from geomae_tf.models.position.position_layers import (ALPHA, PAPER_DEPTHS, UPSAMPLINGS,
                                                       check_depths, check_length,
                                                       decoder_layers)
from geomae_tf.models.saved_weights import load_weights_file

if TYPE_CHECKING:
    from geomae_tf.types import PathLike


def position_decoder(n: int = 64, depths: tuple[int, ...] | list[int] = PAPER_DEPTHS,
                     use_bias: bool = True, upsampling: str = "zeros", alpha: float = ALPHA,
                     normalize_input: bool = True, weights: PathLike | None = None,
                     name: str = "position_decoder") -> keras.Model:
    """Builds the 1-D position decoder of JMIV 2020, section 5.4.

    From a scalar position a (sample units, 0 .. n - 1) to a signal of
    length n that approximates the triangular Dirac y_a of eq. (19): 1-D
    upsampling, 3-tap convolutions, biases and leaky ReLU (alpha = 0.2),
    filter depths [1, 2, 4, 4, 4, 8] (the code, then the hidden layers; the
    output has one channel). Trained on triangular Diracs at continuously
    sampled positions it decodes unseen positions; trained on one-hot
    vectors at the integer positions it does not (section 5.4).

    Args:
        n: int. Output length, 2 ** len(depths). Defaults to 64.
        depths: tuple of int. Depth of the code (1) and of each hidden level.
            Defaults to (1, 2, 4, 4, 4, 8).
        use_bias: bool. Biases in every convolution. Defaults to True.
        upsampling: "zeros" (zero insertion before the convolution, as in
            section 3: a stride-2 transposed convolution) or "nearest"
            (repeat, then convolve). Defaults to "zeros", which trains to a
            lower peak error here.
        alpha: float. Leaky ReLU slope. Defaults to 0.2.
        normalize_input: bool. Maps the position a to 2 a / (n - 1) - 1 in
            [-1, 1] with a fixed `Rescaling` before the first layer, so the
            input is in sample units and the weights stay O(1). Defaults to
            True.
        weights: None or a path to `.weights.h5`; through `geomae_tf.zoo`, also a
            zoo entry name.
        name: str. Model name.

    Returns:
        A `keras.Model` from `position (N, 1)` to `signals (N, n, 1)`.

    Example:
    >>> decoder = geomae_tf.zoo.position_decoder(weights="position_decoder_1d")
    >>> decoder.predict(np.array([[12.3]], "float32")).shape   # (1, 64, 1)
    """
    n = check_length(n)
    depths = check_depths(depths, n)
    if not isinstance(use_bias, bool):
        raise TypeError(f"`use_bias` must be a bool. Received: use_bias={use_bias!r}")
    if not isinstance(normalize_input, bool):
        raise TypeError(f"`normalize_input` must be a bool. Received: "
                        f"normalize_input={normalize_input!r}")
    validation.check_choice("upsampling", upsampling, set(UPSAMPLINGS))
    alpha = validation.check_float("alpha", alpha, minimum=0.0, maximum=1.0)

    position = keras.Input((1,), name="position")
    x = position
    if normalize_input:
        x = keras.layers.Rescaling(2.0 / (n - 1), offset=-1.0, name="normalize")(x)
    x = keras.layers.Reshape((1, 1), name="dec_reshape")(x)
    x = decoder_layers(x, depths, use_bias, upsampling, alpha)
    signals = keras.layers.Identity(name="signals")(x)
    model = keras.Model(position, signals, name=name)
    if weights is not None:
        load_weights_file(model, weights)
    return model
