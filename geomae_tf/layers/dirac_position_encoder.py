"""`DiracPositionEncoder`: the hand-crafted [1, 2, 1] position encoder (JMIV 2020, 5.1-5.2)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import keras
from keras import ops

from geomae_tf import validation

if TYPE_CHECKING:
    from geomae_tf.types import Tensor

#: The filter phi of eq. (13).
PHI = (1.0, 2.0, 1.0)


def check_scale(scale: float) -> float:
    """`scale` (the factor b of b * [1, 2, 1]) as a non-zero float."""
    scale = validation.check_float("scale", scale)
    if scale == 0.0:
        raise ValueError("`scale` must be a non-zero number (the filter is b * [1, 2, 1] "
                         "with b != 0). Received: scale=0.0")
    return scale


def filter_and_subsample(x: Tensor, kernel: Sequence[float] | Tensor, axis: int = 1) -> Tensor:
    """One level of the encoder along `axis`: 3-tap filter, keep even positions.

    u(t) = k0 * x(2t - 1) + k1 * x(2t) + k2 * x(2t + 1), with x(-1) = 0 (zero
    padding on the left only; the right tap of the last output is x(n - 1)).
    This is eq. (14) with s = 2 and the subsampling "at every even position".
    The length along `axis` must be even.

    Args:
        x: tensor. Signals, the filtered axis of even length.
        kernel: sequence of 3 scalars (or a tensor of shape (3,)).
        axis: int. The axis to filter and subsample. Defaults to 1.

    Returns:
        The tensor with that axis halved.
    """
    rank = len(x.shape)
    axis = axis % rank

    def take(start):
        index = [slice(None)] * rank
        index[axis] = slice(start, None, 2)
        return x[tuple(index)]

    even, odd = take(0), take(1)
    pad = [(0, 0)] * rank
    pad[axis] = (1, 0)
    index = [slice(None)] * rank
    index[axis] = slice(0, -1)
    previous_odd = ops.pad(odd, pad)[tuple(index)]  # x(2t - 1), 0 for t = 0
    return kernel[0] * previous_odd + kernel[1] * even + kernel[2] * odd


@keras.saving.register_keras_serializable(package="geomae_tf")
class DiracPositionEncoder(keras.layers.Layer):
    """Filters by b * [1, 2, 1] and keeps the even positions, `levels` times.

    The linear network E of JMIV 2020, section 5 (eq. 13-14, Table 2): no
    bias, no non-linearity, fixed weights. Each level computes
    u(t) = b (u(2t - 1) + 2 u(2t) + u(2t + 1)) with zero padding on the left,
    halving the length. For a one-hot input of length n = 2^L at position a
    (numbered 0 .. n - 1), L levels return b^L (2^L - a): the position, in
    inverted order (Proposition 3). Channels are filtered independently.

    Args:
        levels: int. Number L of filter-and-subsample levels, >= 1. The
            input length must be a multiple of 2^L. Defaults to 6 (n = 64 to
            one number).
        scale: float. The factor b of the filter b * [1, 2, 1], non-zero.
            Defaults to 1.
        **kwargs: passed to `keras.layers.Layer`.

    Examples:
        >>> from geomae_tf.layers.dirac_position_encoder import DiracPositionEncoder
        >>> layer = DiracPositionEncoder(levels=3)
        >>> layer(np.eye(8, dtype="float32")[:, :, None])[:, 0, 0]
        [8., 7., 6., 5., 4., 3., 2., 1.]
    """

    def __init__(self, levels: int = 6, scale: float = 1.0, **kwargs: Any) -> None:
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self.levels = validation.check_int("levels", levels, minimum=1)
        self.scale = check_scale(scale)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self._check_shape(input_shape)
        self.kernel = self.add_weight(
            name="kernel", shape=(3,), trainable=False,
            initializer=keras.initializers.Constant([self.scale * p for p in PHI]))
        super().build(input_shape)

    def _check_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"`inputs` must have rank 3, shaped (N, n, channels). "
                             f"Received: input_shape={tuple(input_shape)}")
        length = input_shape[1]
        if length is not None and length % 2 ** self.levels:
            raise ValueError(f"`inputs` length must be a multiple of 2 ** levels = "
                             f"{2 ** self.levels}. Received: input_shape={tuple(input_shape)}"
                             f", levels={self.levels}")

    def intermediate_outputs(self, inputs: Tensor) -> list[Tensor]:
        """The list [u(1), ..., u(L)] of every level's output (Table 2's rows)."""
        outputs, u = [], ops.convert_to_tensor(inputs)
        if not self.built:
            self.build(tuple(u.shape))
        kernel = ops.cast(self.kernel, u.dtype)
        for _ in range(self.levels):
            u = filter_and_subsample(u, kernel, axis=1)
            outputs.append(u)
        return outputs

    def call(self, inputs: Tensor) -> Tensor:
        return self.intermediate_outputs(inputs)[-1]

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        self._check_shape(input_shape)
        length = input_shape[1]
        length = None if length is None else length // 2 ** self.levels
        return (input_shape[0], length, input_shape[2])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"levels": self.levels, "scale": self.scale})
        return config
