"""The atomic family: Newson and Traonmilin 2023 (sums of atoms g(z_i), shared g)."""

from geomae_tf.models.atomic.atomic_autoencoder import (AtomicAutoencoder,
                                                        atomic_autoencoder, atomic_block,
                                                        atomic_encoder)

__all__ = ["AtomicAutoencoder", "atomic_autoencoder", "atomic_block", "atomic_encoder"]
