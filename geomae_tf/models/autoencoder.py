"""`Autoencoder`: the couple (E, D) every zoo family is built from."""

from __future__ import annotations

import keras
import numpy as np

from geomae_tf import validation


@keras.saving.register_keras_serializable(package="geomae_tf")
class Autoencoder(keras.Model):
    """An encoder E and a decoder D trained to minimise ||x - D(E(x))||^2.

    JMIV 2020, section 3, eq. (1). The encoder and decoder are Keras models
    kept as attributes, so a user can encode, decode or navigate the latent
    space directly; the whole couple saves to one `.keras` file.

    Args:
        encoder: keras.Model. Maps images `(N, H, W, 1)` to codes
            `(N, latent_dim)`.
        decoder: keras.Model. Maps codes back to images.
        **kwargs: passed to `keras.Model` (e.g. `name`).

    Example:
    >>> ae = geomae_tf.zoo.disk_autoencoder()
    >>> z = ae.encode(images)            # (N, 1)
    >>> images_back = ae.decode(z)       # (N, 64, 64, 1)
    """

    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(encoder, keras.Model):
            raise TypeError(f"`encoder` must be a keras.Model. Received: encoder of type "
                            f"{type(encoder).__name__}")
        if not isinstance(decoder, keras.Model):
            raise TypeError(f"`decoder` must be a keras.Model. Received: decoder of type "
                            f"{type(decoder).__name__}")
        self.encoder = encoder
        self.decoder = decoder

    # -- Keras plumbing -----------------------------------------------------
    def build(self, input_shape):
        if not self.encoder.built:
            self.encoder.build(input_shape)
        if not self.decoder.built:
            self.decoder.build((None, self.latent_dim))
        super().build(input_shape)

    def call(self, inputs, training=None):
        return self.decoder(self.encoder(inputs, training=training), training=training)

    def compute_output_shape(self, input_shape):
        return self.decoder.compute_output_shape(self.encoder.compute_output_shape(input_shape))

    def get_config(self):
        config = super().get_config()
        config.update({
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
        })
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        config["decoder"] = keras.saving.deserialize_keras_object(config["decoder"])
        return cls(**config)

    # -- geometry of the model ---------------------------------------------
    @property
    def image_shape(self):
        """`(H, W, 1)`: the images this autoencoder takes."""
        return tuple(self.encoder.inputs[0].shape[1:])

    @property
    def latent_dim(self):
        """The size of the code z."""
        return int(self.decoder.inputs[0].shape[-1])

    # -- validated numpy API -----------------------------------------------
    def encode(self, images, batch_size=256):
        """Codes of `images` (float32 in [0, 1], `(N, H, W, 1)`) as a numpy array."""
        images = validation.check_images(images, size=self.image_shape[:2])
        return np.asarray(self.encoder.predict(images, batch_size=batch_size, verbose=0))

    def decode(self, z, batch_size=256):
        """Images decoded from codes `z` shaped `(N, latent_dim)`."""
        z = validation.check_codes(z, latent_dim=self.latent_dim)
        return np.asarray(self.decoder.predict(z, batch_size=batch_size, verbose=0))

    def reconstruct(self, images, batch_size=256):
        """D(E(images)) as a numpy array, after validating `images`."""
        images = validation.check_images(images, size=self.image_shape[:2])
        return np.asarray(self.predict(images, batch_size=batch_size, verbose=0))
