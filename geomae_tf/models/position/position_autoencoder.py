"""The position autoencoder: Diracs through a 1-D code (JMIV 2020, sections 5.3-5.4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import keras

from geomae_tf import validation
from geomae_tf.models.autoencoder import Autoencoder
from geomae_tf.models.position.position_layers import (ALPHA, PAPER_DEPTHS, POOLINGS,
                                                       check_depths, check_length,
                                                       decoder_layers, encoder_layers)
from geomae_tf.models.saved_weights import load_weights_file

if TYPE_CHECKING:
    import numpy as np

    from geomae_tf.types import ArrayLike, PathLike


@keras.saving.register_keras_serializable(package="geomae_tf")
class PositionAutoencoder(Autoencoder):
    """An `Autoencoder` of 1-D signals `(N, n, 1)` with a 1-D code.

    The same couple (E, D) as `Autoencoder`, with the numpy API checking
    signals instead of images.

    Example:
    >>> ae = geomae_tf.zoo.position_encoder(supervised=False)
    >>> z = ae.encode(np.eye(64, dtype="float32")[:, :, None])   # (64, 1)
    """

    @property
    def image_shape(self) -> tuple[int, ...]:
        """`(n, 1)`: the signals this autoencoder takes."""
        return tuple(self.encoder.inputs[0].shape[1:])

    def encode(self, signals: ArrayLike, batch_size: int = 256) -> np.ndarray:
        """Codes of `signals` `(N, n, 1)` as a numpy array `(N, 1)`."""
        signals = validation.check_signals(signals, length=self.image_shape[0])
        return self._apply(self.encoder, signals, batch_size)

    def decode(self, z: ArrayLike, batch_size: int = 256) -> np.ndarray:
        """Signals decoded from codes `z` shaped `(N, latent_dim)`."""
        z = validation.check_codes(z, latent_dim=self.latent_dim)
        return self._apply(self.decoder, z, batch_size)

    def reconstruct(self, signals: ArrayLike, batch_size: int = 256) -> np.ndarray:
        """D(E(signals)) as a numpy array."""
        signals = validation.check_signals(signals, length=self.image_shape[0])
        return self._apply(self, signals, batch_size)


def position_autoencoder(n: int = 64, depths: tuple[int, ...] | list[int] = PAPER_DEPTHS,
                         use_bias: bool = True, pooling: str = "strided", alpha: float = ALPHA,
                         upsampling: str = "zeros", weights: PathLike | None = None,
                         name: str = "position_autoencoder") -> PositionAutoencoder:
    """Builds an autoencoder of Diracs with a 1-D code (the paper's section 5.3 set-up).

    The encoder is `position_encoder`'s (one channel per level, 3-tap
    kernels, stride 2, biases, leaky ReLU), the code is one number, and the
    decoder is `position_decoder`'s architecture taking the code z. Trained
    to reconstruct one-hot vectors, the encoder's kernels are compared with
    [1, 2, 1] (Figure 9).

    Args:
        n: int. Signal length, a power of two. Defaults to 64.
        depths: tuple of int. The decoder's depths (see `position_decoder`).
        use_bias: bool. Defaults to True.
        pooling: "strided" or "max" (the encoder's subsampling).
        alpha: float. Leaky ReLU slope. Defaults to 0.2.
        upsampling: "nearest" or "zeros" (the decoder's upsampling).
        weights: None or a path to `.weights.h5`; through `geomae_tf.zoo`, also a
            zoo entry name.
        name: str. Model name.

    Returns:
        A `PositionAutoencoder` with `.encoder` (`signals` -> `z (N, 1)`)
        and `.decoder` (`z` -> `(N, n, 1)`).
    """
    n = check_length(n)
    depths = check_depths(depths, n)
    if not isinstance(use_bias, bool):
        raise TypeError(f"`use_bias` must be a bool. Received: use_bias={use_bias!r}")
    validation.check_choice("pooling", pooling, set(POOLINGS))
    validation.check_choice("upsampling", upsampling, {"nearest", "zeros"})
    alpha = validation.check_float("alpha", alpha, minimum=0.0, maximum=1.0)

    signals = keras.Input((n, 1), name="signals")
    z = keras.layers.Flatten(name="z")(encoder_layers(signals, n, use_bias, pooling, alpha))
    encoder = keras.Model(signals, z, name="encoder")

    code = keras.Input((1,), name="z")
    x = keras.layers.Reshape((1, 1), name="dec_reshape")(code)
    decoder = keras.Model(code, decoder_layers(x, depths, use_bias, upsampling, alpha),
                          name="decoder")

    model = PositionAutoencoder(encoder, decoder, name=name)
    model.build((None, n, 1))
    if weights is not None:
        load_weights_file(model, weights)
    return model
