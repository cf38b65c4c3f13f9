"""The plain autoencoder the PCA-AE is compared with (same latent size, same
kind of network, all units trained together, no covariance loss)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from geomae_tf import validation
from geomae_tf.models.autoencoder import Autoencoder
from geomae_tf.models.pca.pca_autoencoder import (_check_depths, conv_decoder, conv_encoder,
                                                  default_decoder_depths,
                                                  default_encoder_depths)
from geomae_tf.models.saved_weights import load_weights_file

if TYPE_CHECKING:
    from geomae_tf.types import PathLike


def plain_autoencoder(latent_dim: int = 3, image_size: int = 64,
                      encoder_depths: tuple[int, ...] | list[int] | None = None,
                      decoder_depths: tuple[int, ...] | list[int] | None = None,
                      centred: bool = True, output_activation: str = "sigmoid",
                      weights: PathLike | None = None, name: str = "plain_ae") -> Autoencoder:
    """Builds the standard autoencoder of the PCA-AE comparison (talks, slide 49).

    As the public reference's baseline: one encoder whose depths are
    `latent_dim` times the PCA-AE's one-unit encoder depths (96, 48, 24, 12, 6
    for 3 units at 64x64), ending with a `CentredLatent` (if `centred`), and
    the same decoder as the PCA-AE's last stage.

    Args:
        latent_dim: int. Size of the code. Defaults to 3.
        image_size: int. A power of two. Defaults to 64.
        encoder_depths, decoder_depths: tuple or None. Depths PER LATENT UNIT
            (multiplied by `latent_dim`); None gives the PCA-AE defaults.
        centred: bool. End the encoder with a `CentredLatent`. Defaults to True.
        output_activation: str. Defaults to "sigmoid".
        weights: None or a path to `.weights.h5`.
        name: str.

    Returns:
        An `Autoencoder`; train it with `model.fit` (binary cross-entropy).
    """
    latent_dim = validation.check_int("latent_dim", latent_dim, minimum=1)
    image_size = validation.check_int("image_size", image_size, minimum=4)
    enc, dec = baseline_depths(latent_dim, image_size, encoder_depths, decoder_depths)
    if not isinstance(centred, bool):
        raise TypeError(f"`centred` must be a bool. Received: centred={centred!r}")
    encoder = conv_encoder(image_size, enc, latent_dim, "encoder", centred=centred)
    decoder = conv_decoder(image_size, latent_dim, dec, "decoder", output_activation)
    return built(Autoencoder(encoder, decoder, name=name), image_size, weights)


def baseline_depths(latent_dim: int, image_size: int,
                    encoder_depths: tuple[int, ...] | list[int] | None = None,
                    decoder_depths: tuple[int, ...] | list[int] | None = None
                    ) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The (encoder, decoder) depths of a baseline with `latent_dim` units:
    the per-unit depths (None: the PCA-AE's) times `latent_dim`, checked."""
    enc = _check_depths("encoder_depths", encoder_depths if encoder_depths is not None
                        else default_encoder_depths(image_size), image_size)
    dec = _check_depths("decoder_depths", decoder_depths if decoder_depths is not None
                        else default_decoder_depths(image_size), image_size)
    return tuple(latent_dim * d for d in enc), tuple(latent_dim * d for d in dec)


def built(model: Autoencoder, image_size: int,
          weights: PathLike | None = None) -> Autoencoder:
    """`model` built for `image_size` images, with `weights` (a path) loaded."""
    model.build((None, image_size, image_size, 1))
    if weights is not None:
        load_weights_file(model, weights)
    return model
