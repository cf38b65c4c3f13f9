"""`CentredLatent`: the parameter-free normalisation before a PCA-AE latent unit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras

from geomae_tf import validation

if TYPE_CHECKING:
    from geomae_tf.types import Tensor


@keras.saving.register_keras_serializable(package="geomae_tf")
class CentredLatent(keras.layers.Layer):
    """Batch normalisation with no trainable parameters: E[z] = 0, Var[z] = 1.

    The PCA-like autoencoder imposes zero-mean codes "by adding a Batch
    Normalisation layer just before the latent space, without training the
    Batch Normalisation parameters" (PCA-AE talks, slides 47 and 37, eq.
    15-17; `BatchNormalization(center=False, scale=False)`). In training mode
    the batch is centred and scaled by its own statistics; in inference mode,
    or once the layer is frozen (`trainable = False`, as the earlier units of
    a progressive PCA-AE are), by the moving statistics.

    Args:
        momentum: float in [0, 1). Momentum of the moving mean and variance.
            Defaults to 0.99.
        epsilon: float > 0. Added to the variance. Defaults to 1e-5 (as
            the reference's `BatchNorm1d`).
        **kwargs: passed to `keras.layers.Layer`.

    Example:
    >>> from geomae_tf.layers.centred_latent import CentredLatent
    >>> layer = CentredLatent()
    >>> z = layer(np.random.normal(3.0, 2.0, (512, 1)), training=True)
    >>> float(z.numpy().mean())   # ~0
    """

    def __init__(self, momentum: float = 0.99, epsilon: float = 1e-5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.momentum = validation.check_float("momentum", momentum, minimum=0.0,
                                               maximum=1.0)
        if self.momentum >= 1.0:
            raise ValueError(f"`momentum` must be in [0, 1). Received: momentum={momentum}")
        self.epsilon = validation.check_float("epsilon", epsilon, minimum=0.0,
                                              exclusive_minimum=True)
        self.norm = keras.layers.BatchNormalization(center=False, scale=False,
                                                    momentum=self.momentum,
                                                    epsilon=self.epsilon, name="norm")

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.norm.build(input_shape)

    def call(self, inputs: Tensor, training: bool | None = None) -> Tensor:
        return self.norm(inputs, training=training)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return tuple(input_shape)

    @property
    def moving_mean(self) -> keras.Variable:
        return self.norm.moving_mean

    @property
    def moving_variance(self) -> keras.Variable:
        return self.norm.moving_variance

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"momentum": self.momentum, "epsilon": self.epsilon})
        return config
