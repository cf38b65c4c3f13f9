"""The disk family: JMIV 2020, sections 3-4 (size of a centred disk in one number)."""

from geomae_tf.models.disk.disk_autoencoder import disk_autoencoder

__all__ = ["disk_autoencoder"]
