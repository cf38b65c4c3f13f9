"""`DiracPositionEncoder2D`: the separable 2-D [1, 2, 1] position encoder (JMIV 2020, 5.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras
from keras import ops

from geomae_tf import validation
from geomae_tf.layers.dirac_position_encoder import PHI, check_scale, filter_and_subsample

if TYPE_CHECKING:
    from geomae_tf.types import Tensor

#: Sum of each pair (x(2t) + x(2t + 1)): the other direction's marginal, exact at the border.
PAIR_SUM = (0.0, 1.0, 1.0)


@keras.saving.register_keras_serializable(package="geomae_tf")
class DiracPositionEncoder2D(keras.layers.Layer):
    """Returns the (row, column) codes of a 2-D Dirac with separable [1, 2, 1] filters.

    "This result easily generalises to 2D since the two directions can be
    processed independently" (JMIV 2020 talk; paper section 5.2). Each of
    the `levels` levels halves both axes. The row code filters the rows
    (axis 1) by b * [1, 2, 1] at even positions, as `DiracPositionEncoder`,
    and sums the columns (axis 2) in pairs (the separable kernel
    b [1, 2, 1]^T x [0, 1, 1], stride 2), which carries the column marginal
    down without losing mass; the column code swaps the two axes. No bias,
    no non-linearity, fixed weights. For a 2-D one-hot image of size
    2^L x 2^L with its 1 at (i, j), L levels return
    (b^L (2^L - i), b^L (2^L - j)).

    Args:
        levels: int. Number L of levels, >= 1. Height and width must be
            multiples of 2^L. Defaults to 6 (64 x 64 to 1 x 1).
        scale: float. The factor b of b * [1, 2, 1], non-zero. Defaults to 1.
        **kwargs: passed to `keras.layers.Layer`.

    Input shape: `(N, H, W, C)`. Output shape: `(N, H / 2^L, W / 2^L, 2 C)`:
    the C row codes, then the C column codes.

    Examples:
        >>> image = np.zeros((1, 8, 8, 1), "float32"); image[0, 2, 5, 0] = 1
        >>> from geomae_tf.layers.dirac_position_encoder_2d import DiracPositionEncoder2D
        >>> DiracPositionEncoder2D(levels=3)(image)[0, 0, 0]
        [6., 3.]
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
        self.pair_kernel = self.add_weight(
            name="pair_kernel", shape=(3,), trainable=False,
            initializer=keras.initializers.Constant(PAIR_SUM))
        super().build(input_shape)

    def _check_shape(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"`inputs` must have rank 4, shaped (N, H, W, channels). "
                             f"Received: input_shape={tuple(input_shape)}")
        for size in input_shape[1:3]:
            if size is not None and size % 2 ** self.levels:
                raise ValueError(f"`inputs` height and width must be multiples of 2 ** "
                                 f"levels = {2 ** self.levels}. Received: input_shape="
                                 f"{tuple(input_shape)}, levels={self.levels}")

    def call(self, inputs: Tensor) -> Tensor:
        inputs = ops.convert_to_tensor(inputs)
        kernel = ops.cast(self.kernel, inputs.dtype)
        pair = ops.cast(self.pair_kernel, inputs.dtype)
        rows, cols = inputs, inputs
        for _ in range(self.levels):
            rows = filter_and_subsample(filter_and_subsample(rows, kernel, 1), pair, 2)
            cols = filter_and_subsample(filter_and_subsample(cols, pair, 1), kernel, 2)
        return ops.concatenate([rows, cols], axis=-1)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        self._check_shape(input_shape)
        size = [None if s is None else s // 2 ** self.levels for s in input_shape[1:3]]
        channels = None if input_shape[3] is None else 2 * input_shape[3]
        return (input_shape[0], size[0], size[1], channels)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"levels": self.levels, "scale": self.scale})
        return config
