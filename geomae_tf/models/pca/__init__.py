"""The PCA family: the PCA-like autoencoder (PCA-AE talks; JMIV 2022) and the
baselines it is compared with (plain autoencoder, VAE, beta-VAE)."""

from geomae_tf.models.pca.pca_autoencoder import PCAAutoencoder, pca_autoencoder
from geomae_tf.models.pca.plain_autoencoder import plain_autoencoder
from geomae_tf.models.pca.vae import vae

__all__ = ["PCAAutoencoder", "pca_autoencoder", "plain_autoencoder", "vae"]
