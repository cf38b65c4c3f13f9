"""The position family: JMIV 2020, section 5 (the position of a 1-D Dirac in one number)."""

from geomae_tf.models.position.dirac_position_network import dirac_position_network
from geomae_tf.models.position.position_autoencoder import (PositionAutoencoder,
                                                            position_autoencoder)
from geomae_tf.models.position.position_decoder import position_decoder
from geomae_tf.models.position.position_encoder import position_encoder

__all__ = ["PositionAutoencoder", "dirac_position_network", "position_autoencoder",
           "position_decoder", "position_encoder"]
