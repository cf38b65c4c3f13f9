"""The PCA family: the PCA-like autoencoder (PCA-AE talks; JMIV 2022)."""

from geomae_tf.models.pca.pca_autoencoder import PCAAutoencoder, pca_autoencoder
from geomae_tf.models.pca.plain_autoencoder import plain_autoencoder

__all__ = ["PCAAutoencoder", "pca_autoencoder", "plain_autoencoder"]
