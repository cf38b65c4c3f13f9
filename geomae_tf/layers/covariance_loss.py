"""`CovarianceLoss`: the PCA-AE covariance regulariser (talks, eq. 14-16)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras
from keras import ops

from geomae_tf import validation

if TYPE_CHECKING:
    from geomae_tf.types import Tensor

MODES = ("newest", "all")


def covariance_penalty(z: Tensor, mode: str = "newest", subtract_mean: bool = True,
                       stop_gradient_earlier: bool = True) -> Tensor:
    """The covariance penalty of a batch of codes `z` shaped (m, k).

    With Cov(z_i, z_j) estimated on the batch as
    (1/m) sum_j z_i z_k - (1/m^2) sum_j z_i sum_j z_k (eq. 14, or without the
    second term when `subtract_mean=False`, eq. 15 for zero-mean codes):

    - `mode="newest"` (eq. 16, the progressive PCA-AE): the mean over the
      earlier components i < k of Cov(z_i, z_k)^2, k the last column. With
      `stop_gradient_earlier`, the earlier (frozen) components are constants,
      so the gradient reaches the newest unit only.
    - `mode="all"`: the mean of Cov(z_i, z_j)^2 over all pairs i < j.

    Returns a scalar; 0 when `z` has fewer than two columns.
    """
    k = z.shape[-1]
    if k is None or k < 2:
        return ops.zeros((), dtype=z.dtype if hasattr(z, "dtype") else "float32")
    if subtract_mean:
        z = z - ops.mean(z, axis=0, keepdims=True)
    m = ops.cast(ops.shape(z)[0], z.dtype)
    if mode == "newest":
        earlier, newest = z[:, :-1], z[:, -1:]
        if stop_gradient_earlier:
            earlier = ops.stop_gradient(earlier)
        cov = ops.sum(earlier * newest, axis=0) / m
        return ops.mean(ops.square(cov))
    cov = ops.matmul(ops.transpose(z), z) / m
    upper = ops.triu(ops.ones((k, k), dtype=z.dtype), 1)
    return ops.sum(ops.square(cov) * upper) / (k * (k - 1) / 2)


@keras.saving.register_keras_serializable(package="geomae_tf")
class CovarianceLoss(keras.layers.Layer):
    """Identity on codes z that adds `weight * L_cov(z)` to the model's losses.

    The covariance loss of the PCA-like autoencoder (PCA-AE talks, eq. 14-17;
    Ladjal, Newson, Pham 2019): at stage k of the progressive training the
    total loss is ||x - D(E(x))||^2 + lambda L_cov^(k)(z), with
    L_cov^(k) = (1/(k-1)) sum_{i<k} ((1/m) sum_j z_i^(j) z_k^(j))^2 for
    zero-mean codes, or with the product of the batch means subtracted
    (eq. 14, `subtract_mean=True`, the default; for a batch-normalised newest
    unit both are equal). Put it on the latent code of a model compiled with
    the reconstruction loss: Keras adds both (`add_loss`). Unlike an
    `activity_regularizer`, whose loss Keras 3.15 divides by the batch size,
    the weight here is exactly lambda.

    Args:
        weight: float >= 0. The weight lambda. Defaults to 1 (the public
            reference's `lambdacov`).
        mode: "newest" (eq. 16: the last column against the earlier ones) or
            "all" (every pair of columns). Defaults to "newest".
        subtract_mean: bool. Subtract the batch means (eq. 14) or assume
            zero-mean codes (eq. 15). Defaults to True.
        stop_gradient_earlier: bool. In "newest" mode, treat the earlier
            columns as constants so the gradient reaches the newest unit only.
            Defaults to True.
        **kwargs: passed to `keras.layers.Layer`.

    Example:
    >>> from geomae_tf.layers.covariance_loss import CovarianceLoss
    >>> cov = CovarianceLoss(weight=1.0)
    >>> z = cov(codes)            # codes unchanged; cov.losses holds the penalty
    """

    def __init__(self, weight: float = 1.0, mode: str = "newest", subtract_mean: bool = True,
                 stop_gradient_earlier: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.weight = validation.check_float("weight", weight, minimum=0.0)
        self.mode = validation.check_choice("mode", mode, set(MODES))
        for name, value in (("subtract_mean", subtract_mean),
                            ("stop_gradient_earlier", stop_gradient_earlier)):
            if not isinstance(value, bool):
                raise TypeError(f"`{name}` must be a bool. Received: {name}={value!r}")
        self.subtract_mean = subtract_mean
        self.stop_gradient_earlier = stop_gradient_earlier

    def penalty(self, z: Tensor) -> Tensor:
        """L_cov(z), unweighted."""
        return covariance_penalty(z, self.mode, self.subtract_mean, self.stop_gradient_earlier)

    def call(self, inputs: Tensor) -> Tensor:
        if len(inputs.shape) != 2:
            raise ValueError(f"`inputs` must be codes shaped (batch, k). Received: inputs "
                             f"with shape {tuple(inputs.shape)}")
        if self.weight > 0.0 and inputs.shape[-1] is not None and inputs.shape[-1] >= 2:
            self.add_loss(self.weight * self.penalty(inputs))
        return inputs

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"weight": self.weight, "mode": self.mode,
                       "subtract_mean": self.subtract_mean,
                       "stop_gradient_earlier": self.stop_gradient_earlier})
        return config
