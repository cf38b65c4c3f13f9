"""Keras layers of the zoo, one per file (registered for `.keras` saving)."""

from geomae_tf.layers.atomic_decoder import AtomicDecoder
from geomae_tf.layers.centred_latent import CentredLatent
from geomae_tf.layers.code_refinement import CodeRefinement
from geomae_tf.layers.covariance_loss import CovarianceLoss
from geomae_tf.layers.dirac_position_encoder import DiracPositionEncoder
from geomae_tf.layers.dirac_position_encoder_2d import DiracPositionEncoder2D
from geomae_tf.layers.gaussian_sampling import GaussianSampling
from geomae_tf.layers.latent_distance_loss import LatentDistanceLoss
from geomae_tf.layers.upsample_conv2d import UpsampleConv2D

__all__ = ["AtomicDecoder", "CentredLatent", "CodeRefinement", "CovarianceLoss",
           "DiracPositionEncoder", "DiracPositionEncoder2D", "GaussianSampling",
           "LatentDistanceLoss", "UpsampleConv2D"]
