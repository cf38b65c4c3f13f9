"""Model families of the zoo, one folder each (disk / position / pca / atomic)."""

from geomae_tf.models.autoencoder import Autoencoder
from geomae_tf.models.disk.disk_autoencoder import disk_autoencoder

__all__ = ["Autoencoder", "disk_autoencoder"]
