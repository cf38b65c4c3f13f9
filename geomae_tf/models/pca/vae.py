"""The VAE and beta-VAE the PCA-AE is compared with (same networks, Gaussian latent).

Pham, Ladjal and Newson (JMIV 2022, section 5) and the PCA-AE talks compare
the PCA-AE with a plain autoencoder, a VAE and a beta-VAE. Here each baseline
has the PCA-AE's networks, so that only the latent's training differs: the
encoder of `plain_autoencoder` (depths `latent_dim` times the one-unit
encoder's) ending in `2 * latent_dim` numbers read as (mu, log_var), a
`GaussianSampling` layer, and the same decoder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import keras

from geomae_tf import validation
from geomae_tf.layers.gaussian_sampling import GaussianSampling
from geomae_tf.models.autoencoder import Autoencoder
from geomae_tf.models.pca.pca_autoencoder import conv_decoder, conv_encoder
from geomae_tf.models.pca.plain_autoencoder import baseline_depths, built

if TYPE_CHECKING:
    from geomae_tf.types import PathLike


def vae(latent_dim: int = 3, beta: float = 1.0, image_size: int = 64,
        encoder_depths: tuple[int, ...] | list[int] | None = None,
        decoder_depths: tuple[int, ...] | list[int] | None = None,
        output_activation: str = "sigmoid", seed: int | None = None,
        weights: PathLike | None = None, name: str | None = None) -> Autoencoder:
    """Builds a VAE (`beta = 1`) or a beta-VAE (`beta > 1`) with the PCA-AE's shapes.

    The loss `model.fit` minimises is the reconstruction loss (mean over the
    pixels, e.g. binary cross-entropy as the PCA-AE reference) plus
    `beta / (image_size ** 2)` times the KL divergence of the posterior from
    N(0, I) (added by `GaussianSampling`): the negative ELBO per pixel for
    `beta = 1`, the beta-VAE objective (Higgins et al. 2017) otherwise.

    Args:
        latent_dim: int. Size of the code. Defaults to 3.
        beta: float >= 0. Weight of the KL term. Defaults to 1 (a VAE).
        image_size: int. A power of two. Defaults to 64.
        encoder_depths, decoder_depths: tuple or None. Depths PER LATENT UNIT,
            as in `plain_autoencoder` (None: the PCA-AE defaults).
        output_activation: str. Defaults to "sigmoid".
        seed: int or None. Seed of the sampling noise.
        weights: None or a path to `.weights.h5`.
        name: str or None. Defaults to "vae" or "beta_vae".

    Returns:
        An `Autoencoder` whose `encode` returns the posterior means mu.
    """
    latent_dim = validation.check_int("latent_dim", latent_dim, minimum=1)
    beta = validation.check_float("beta", beta, minimum=0.0)
    image_size = validation.check_int("image_size", image_size, minimum=4)
    enc, dec = baseline_depths(latent_dim, image_size, encoder_depths, decoder_depths)
    name = name or ("vae" if beta == 1.0 else "beta_vae")
    trunk = conv_encoder(image_size, enc, 2 * latent_dim, "encoder_trunk", centred=False)
    sampling = GaussianSampling(kl_weight=beta / image_size ** 2, seed=seed, name="sampling")
    encoder = keras.Model(trunk.inputs, sampling(trunk.outputs[0]), name="encoder")
    decoder = conv_decoder(image_size, latent_dim, dec, "decoder", output_activation)
    return built(Autoencoder(encoder, decoder, name=name), image_size, weights)
