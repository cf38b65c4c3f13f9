"""The disk autoencoder of JMIV 2020 (section 3, Figure 1, Table 1)."""

from __future__ import annotations


import keras

from geomae_tf import validation
from geomae_tf.models.autoencoder import Autoencoder

#: Depths of the hidden layers of Table 1 (the code z comes after them).
TABLE1_DEPTHS = (8, 4, 4, 3, 2)
#: Leaky ReLU slope of eq. (2).
ALPHA = 0.2


def disk_autoencoder(image_size=64, latent_dim=1, depths=TABLE1_DEPTHS, use_bias=True,
                     upsampling="nearest", weights=None, name="disk_ae"):
    """Builds the disk autoencoder of JMIV 2020, Table 1.

    The encoder is a cascade of 3x3 convolutions with stride 2 and leaky ReLU
    (alpha = 0.2, eq. 2-3) whose depths are `depths` (8, 4, 4, 3, 2 in
    Table 1) followed by a last strided convolution to a 1x1 map of
    `latent_dim` channels: the code z. The decoder mirrors it: upsampling by
    2, 3x3 convolution, leaky ReLU, with the depths reversed, down to one
    channel at full resolution. Without biases (`use_bias=False`, section 4.3)
    the decoder is positively homogeneous: D(l z) = l D(z) for l > 0
    (Proposition 1).

    Args:
        image_size: int. Side of the square input, a power of two equal to
            2 ** (len(depths) + 1). Defaults to 64.
        latent_dim: int. Size of the code. Defaults to 1 (one number codes
            the radius).
        depths: tuple of int. Hidden depths of the encoder; the decoder uses
            them reversed. Defaults to Table 1's (8, 4, 4, 3, 2).
        use_bias: bool. Whether every convolution has a bias. Defaults to True.
        upsampling: str. "nearest" or "bilinear" upsampling in the decoder.
        weights: None, a zoo entry name or a path to `.weights.h5`.
        name: str. Name of the model.

    Returns:
        An `Autoencoder` with `.encoder` and `.decoder`; its default recipe
        (`zoo/disk_ae.toml`) is Adam 1e-3, batch 300 (Table 1).

    Example:
    >>> ae = geomae_tf.zoo.disk_autoencoder(weights="disk_ae")
    >>> ae.encode(images).shape   # (N, 1)
    """
    image_size = validation.check_int("image_size", image_size, minimum=2)
    latent_dim = validation.check_int("latent_dim", latent_dim, minimum=1)
    if not isinstance(depths, (list, tuple)) or not depths:
        raise ValueError(f"`depths` must be a non-empty tuple of positive ints. "
                         f"Received: depths={depths!r}")
    depths = tuple(validation.check_int("depths[i]", d, minimum=1) for d in depths)
    n_layers = len(depths) + 1
    if 2 ** n_layers != image_size:
        raise ValueError(f"`image_size` must be 2 ** (len(depths) + 1) = {2 ** n_layers} so "
                         f"that the strided convolutions reach a 1x1 code. Received: "
                         f"image_size={image_size}, depths={depths}")
    if not isinstance(use_bias, bool):
        raise TypeError(f"`use_bias` must be a bool. Received: use_bias={use_bias!r}")
    validation.check_choice("upsampling", upsampling, {"nearest", "bilinear"})

    images = keras.Input((image_size, image_size, 1), name="images")
    x = images
    for i, depth in enumerate(depths):
        x = keras.layers.Conv2D(depth, 3, strides=2, padding="same", use_bias=use_bias,
                                name=f"enc_conv{i}")(x)
        x = keras.layers.LeakyReLU(negative_slope=ALPHA, name=f"enc_lrelu{i}")(x)
    x = keras.layers.Conv2D(latent_dim, 3, strides=2, padding="same", use_bias=use_bias,
                            name="enc_code")(x)
    z = keras.layers.Flatten(name="z")(x)
    encoder = keras.Model(images, z, name="encoder")

    code = keras.Input((latent_dim,), name="z")
    y = keras.layers.Reshape((1, 1, latent_dim), name="dec_reshape")(code)
    for i, depth in enumerate(tuple(reversed(depths)) + (1,)):
        y = keras.layers.UpSampling2D(2, interpolation=upsampling, name=f"dec_up{i}")(y)
        y = keras.layers.Conv2D(depth, 3, padding="same", use_bias=use_bias,
                                name=f"dec_conv{i}")(y)
        y = keras.layers.LeakyReLU(negative_slope=ALPHA, name=f"dec_lrelu{i}")(y)
    decoder = keras.Model(code, y, name="decoder")

    model = Autoencoder(encoder, decoder, name=name)
    model.build((None, image_size, image_size, 1))
    if weights is not None:
        from geomae_tf.zoo.weights import load_weights_into

        load_weights_into(model, weights)
    return model


