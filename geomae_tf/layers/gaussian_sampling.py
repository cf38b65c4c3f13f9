"""`GaussianSampling`: the reparameterised latent of a (beta-)VAE, with its KL term."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras
from keras import ops

from geomae_tf import validation

if TYPE_CHECKING:
    from geomae_tf.types import Tensor


@keras.saving.register_keras_serializable(package="geomae_tf")
class GaussianSampling(keras.layers.Layer):
    """z = mu + exp(log_var / 2) * eps in training, z = mu otherwise; adds the KL term.

    The baseline the PCA-AE papers compare with (PCA-AE talks; Pham, Ladjal
    and Newson, JMIV 2022, section 5: "a VAE and a beta-VAE"). The input is
    the encoder's last `2 * latent_dim` numbers, read as (mu, log_var). In
    training mode the layer samples z by the reparameterisation trick
    (Kingma and Welling 2014) and adds, through `add_loss`,

        kl_weight * mean over the batch of
            -1/2 sum_j (1 + log_var_j - mu_j^2 - exp(log_var_j)),

    the KL divergence of N(mu, diag(exp(log_var))) from N(0, I). With a
    reconstruction loss averaged over the P pixels of an image, the ELBO of
    a VAE is matched by `kl_weight = 1 / P` and a beta-VAE's by `beta / P`
    (`geomae_tf.models.pca.vae` sets it so). At inference (`encode`,
    export) z is the mean mu, the usual deterministic code of a VAE.

    Args:
        kl_weight: float >= 0. Weight of the KL term (0: a plain autoencoder
            with noisy codes).
        seed: int or None. Seed of the sampling noise.
        **kwargs: passed to `keras.layers.Layer`.

    Example:
    >>> layer = GaussianSampling(kl_weight=1 / 4096, seed=0)
    >>> z = layer(np.zeros((8, 6), "float32"))          # (8, 3): the means
    """

    def __init__(self, kl_weight: float = 1.0, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kl_weight = validation.check_float("kl_weight", kl_weight, minimum=0.0)
        if seed is not None:
            seed = validation.check_int("seed", seed, minimum=0)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        if input_shape[-1] is None or input_shape[-1] % 2:
            raise ValueError(f"`GaussianSampling` needs an even number of input features "
                             f"(mu and log_var). Received: input_shape={tuple(input_shape)}")

    def split(self, inputs: Tensor) -> tuple[Tensor, Tensor]:
        """(mu, log_var): the two halves of the input features."""
        half = inputs.shape[-1] // 2
        return inputs[..., :half], inputs[..., half:]

    def call(self, inputs: Tensor, training: bool | None = None) -> Tensor:
        mu, log_var = self.split(inputs)
        if not training:
            return mu
        kl = -0.5 * ops.sum(1.0 + log_var - ops.square(mu) - ops.exp(log_var), axis=-1)
        self.add_loss(self.kl_weight * ops.mean(kl))
        eps = keras.random.normal(ops.shape(mu), seed=self.seed_generator)
        return mu + ops.exp(0.5 * log_var) * eps

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return tuple(input_shape[:-1]) + (input_shape[-1] // 2,)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"kl_weight": self.kl_weight, "seed": self.seed})
        return config
