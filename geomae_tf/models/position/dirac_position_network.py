"""The hand-crafted position encoder as a model (JMIV 2020, sections 5.1-5.2)."""

from __future__ import annotations

import keras

from geomae_tf.layers.dirac_position_encoder import DiracPositionEncoder, check_scale
from geomae_tf.models.position.position_layers import check_length


def dirac_position_network(n: int = 64, scale: float = 1.0, inverted: bool = False,
                           name: str = "dirac_position_network") -> keras.Model:
    """The linear network E of section 5: b [1, 2, 1] and subsampling, log2(n) times.

    No bias, no non-linearity, no trainable weight. E(delta_a) = b^L (2^L - a)
    for a one-hot input at position a (Proposition 3); by default a fixed
    affine map turns that into the position itself, a = n - E(x) / b^L, so
    the model has the `position_encoder_1d` signature (`signals (N, n, 1)` ->
    `position (N, 1)`) and reads triangular Diracs at continuous positions
    exactly too (E is linear and 2^L - a is affine).

    Args:
        n: int. Signal length, a power of two. Defaults to 64.
        scale: float. The factor b of the filter, non-zero. Defaults to 1.
        inverted: bool. True returns E(x) itself (b^L (n - a)). Defaults to False.
        name: str. Model name.

    Returns:
        A `keras.Model` from `signals` to `position`.

    Example:
    >>> model = dirac_position_network(64)
    >>> model(np.eye(64, dtype="float32")[:, :, None])[:, 0]   # 0, 1, ..., 63
    """
    n = check_length(n)
    scale = check_scale(scale)
    if not isinstance(inverted, bool):
        raise TypeError(f"`inverted` must be a bool. Received: inverted={inverted!r}")
    levels = n.bit_length() - 1
    signals = keras.Input((n, 1), name="signals")
    x = DiracPositionEncoder(levels=levels, scale=scale, name="dirac_position_encoder")(signals)
    if not inverted:
        x = keras.layers.Rescaling(-1.0 / scale ** levels, offset=float(n), name="to_position")(x)
    position = keras.layers.Flatten(name="position")(x)
    return keras.Model(signals, position, name=name)
