"""The atomic autoencoder of Newson and Traonmilin 2023 (section 2.3)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import keras

from geomae_tf import validation
from geomae_tf.layers.atomic_decoder import AtomicDecoder
from geomae_tf.layers.upsample_conv2d import UpsampleConv2D
from geomae_tf.models.atomic.atomic_model import AtomicAutoencoder
from geomae_tf.models.saved_weights import load_weights_file

if TYPE_CHECKING:
    from geomae_tf.types import PathLike

#: Channels of the encoder's four 3x3 stride-2 convolutions (section 2.3).
ENCODER_CHANNELS = (32, 16, 8, 8)
#: The block g starts from a 2 x 2 x 8 tensor (section 2.3).
BLOCK_SEED_SHAPE = (2, 2, 8)
#: Leaky ReLU slope (section 2.3).
ALPHA = 0.2


def block_channels(image_size: int) -> tuple[int, ...]:
    """Channels of the convolutional layers of g for `image_size` images.

    g starts at 2 x 2 and each layer upsamples by 2, so it has
    log2(image_size) - 1 layers (5 at 64, 6 at 128). Section 2.3: the
    channels mirror the encoder's: 8 until they can double up to 32 at the
    last layer, i.e. (8, ..., 8, 16, 32). A last 3x3 convolution then maps
    the 32 channels to the one-channel image.
    """
    n_layers = int(round(math.log2(image_size))) - 1
    return (8,) * (n_layers - 2) + (16, 32)


def _check_image_size(image_size):
    image_size = validation.check_int("image_size", image_size, minimum=16)
    if image_size & (image_size - 1):
        raise ValueError(f"`image_size` must be a power of two >= 16 (the encoder halves it "
                         f"four times, the block doubles 2 x 2 up to it). Received: "
                         f"image_size={image_size}")
    return image_size


def atomic_encoder(latent_dim: int, image_size: int = 64, encoder_units: int | None = None,
                   name: str = "encoder") -> keras.Model:
    """The encoder f_E of section 2.3: images to codes `(N, latent_dim)`.

    Four 3x3 stride-2 convolutions with 32, 16, 8 and 8 channels, each
    followed by a leaky ReLU (alpha = 0.2), then two dense layers: a hidden
    one with leaky ReLU and a linear one to the code (the code is left
    unbounded; the latent bounds are estimated from the training codes,
    section 2.3).

    Args:
        latent_dim: int. k * d0.
        image_size: int. Side of the square images (a power of two >= 16).
        encoder_units: int or None. Width of the hidden dense layer; None
            uses the size of the flattened convolutional features,
            8 * (image_size / 16)^2 (128 at 64 px, 512 at 128 px).
        name: str.
    """
    image_size = _check_image_size(image_size)
    latent_dim = validation.check_int("latent_dim", latent_dim, minimum=1)
    features = ENCODER_CHANNELS[-1] * (image_size // 16) ** 2
    units = features if encoder_units is None else validation.check_int(
        "encoder_units", encoder_units, minimum=1)
    images = keras.Input((image_size, image_size, 1), name="images")
    x = images
    for i, channels in enumerate(ENCODER_CHANNELS):
        x = keras.layers.Conv2D(channels, 3, strides=2, padding="same",
                                name=f"enc_conv{i}")(x)
        x = keras.layers.LeakyReLU(negative_slope=ALPHA, name=f"enc_lrelu{i}")(x)
    x = keras.layers.Flatten(name="enc_flatten")(x)
    x = keras.layers.Dense(units, name="enc_dense0")(x)
    x = keras.layers.LeakyReLU(negative_slope=ALPHA, name="enc_lrelu_dense0")(x)
    z = keras.layers.Dense(latent_dim, name="z")(x)
    return keras.Model(images, z, name=name)


def atomic_block(d0: int = 3, image_size: int = 64, block_units: int = 32,
                 upsampling: str = "nearest", name: str = "block") -> keras.Model:
    """The shared decoder block g of section 2.3: one latent block to one atom.

    Two dense layers with leaky ReLU reach 2 x 2 x 8; then each layer is a
    3x3 convolution, an upsampling by 2 and a leaky ReLU, with the channels
    of `block_channels(image_size)`; a last linear 3x3 convolution gives the
    one-channel atom `(image_size, image_size, 1)`.

    With nearest upsampling (the default) the same function is computed in a
    cheaper order, exactly: the leaky ReLU, being pointwise, is applied
    before the upsampling, and each "upsampling then next convolution" pair
    is one `UpsampleConv2D` layer, a stride-2 transposed convolution of the
    low-resolution map that never builds the upsampled one (its variables
    are those of the `Conv2D` it replaces). The layers are then: conv 3x3 at
    2 x 2, leaky ReLU, and for each further resolution an `UpsampleConv2D`
    (+ leaky ReLU, except after the last one). With "bilinear" the literal
    order conv, upsampling, leaky ReLU is kept.

    Args:
        d0: int. Size of a latent block. Defaults to 3.
        image_size: int. Side of the atoms (a power of two >= 16).
        block_units: int. Width of the first dense layer. Defaults to 32.
        upsampling: "nearest" or "bilinear". Defaults to "nearest".
        name: str.
    """
    d0 = validation.check_int("d0", d0, minimum=1)
    image_size = _check_image_size(image_size)
    block_units = validation.check_int("block_units", block_units, minimum=1)
    validation.check_choice("upsampling", upsampling, {"nearest", "bilinear"})
    code = keras.Input((d0,), name="z_i")
    y = keras.layers.Dense(block_units, name="g_dense0")(code)
    y = keras.layers.LeakyReLU(negative_slope=ALPHA, name="g_lrelu_dense0")(y)
    y = keras.layers.Dense(math.prod(BLOCK_SEED_SHAPE), name="g_dense1")(y)
    y = keras.layers.LeakyReLU(negative_slope=ALPHA, name="g_lrelu_dense1")(y)
    y = keras.layers.Reshape(BLOCK_SEED_SHAPE, name="g_reshape")(y)
    channels = block_channels(image_size)
    if upsampling == "nearest":
        y = keras.layers.Conv2D(channels[0], 3, padding="same", name="g_conv0")(y)
        y = keras.layers.LeakyReLU(negative_slope=ALPHA, name="g_lrelu0")(y)
        for i, filters in enumerate(channels[1:], start=1):
            y = UpsampleConv2D(filters, name=f"g_upconv{i}")(y)
            y = keras.layers.LeakyReLU(negative_slope=ALPHA, name=f"g_lrelu{i}")(y)
        atom = UpsampleConv2D(1, name="g_out")(y)
    else:
        for i, filters in enumerate(channels):
            y = keras.layers.Conv2D(filters, 3, padding="same", name=f"g_conv{i}")(y)
            y = keras.layers.UpSampling2D(2, interpolation="bilinear", name=f"g_up{i}")(y)
            y = keras.layers.LeakyReLU(negative_slope=ALPHA, name=f"g_lrelu{i}")(y)
        atom = keras.layers.Conv2D(1, 3, padding="same", name="g_out")(y)
    return keras.Model(code, atom, name=name)


def atomic_autoencoder(k: int = 10, d0: int = 3, image_size: int = 64,
                       encoder_units: int | None = None, block_units: int = 32,
                       upsampling: str = "nearest", split_penalty: float = 0.0,
                       weights: PathLike | None = None,
                       refine: bool | dict[str, Any] | None = None,
                       name: str = "atomic_ae") -> AtomicAutoencoder:
    """Builds the atomic autoencoder of Newson and Traonmilin 2023, section 2.3.

    The encoder (`atomic_encoder`) maps an image to a code of k blocks of
    size d0; the decoder is an `AtomicDecoder` that applies ONE block g
    (`atomic_block`, shared weights) to each block and sums the k atoms:
    f_D(z) = g(z_1) + ... + g(z_k) (eq. 3).

    Layer counts: g has log2(image_size) - 1 convolution + upsampling layers,
    5 at 64 px (channels 8, 8, 8, 16, 32) and 6 at 128 px (8, 8, 8, 8, 16,
    32), plus the last convolution to one channel. Parameters: 36,103 at
    64 px with k = 10, d0 = 3 and the defaults; 294,351 at 128 px (the
    paper's "around 300,000" for its 128 x 128 MNIST model): almost all of
    them are in the encoder's hidden dense layer, whose width the paper does
    not give; here it equals the flattened features (128 at 64 px, 512 at
    128 px).

    Args:
        k: int. Number of latent blocks (atoms). Defaults to 10.
        d0: int. Size of each block. Defaults to 3 (position and amplitude
            of a spike).
        image_size: int. Side of the square images, a power of two >= 16.
            Defaults to 64 (128 for MNIST in the paper).
        encoder_units: int or None. Hidden width of the encoder's dense part
            (None: the flattened feature size).
        block_units: int. Hidden width of g's dense part. Defaults to 32.
        upsampling: "nearest" or "bilinear". Defaults to "nearest".
        split_penalty: float >= 0. Weight of the training term that prefers
            one atom per object to pieces of it (`AtomicDecoder`'s
            `split_penalty`; not in the paper). Defaults to 0 (eq. 3 alone).
        weights: None or a path to `.weights.h5`; through `geomae_tf.zoo`, also a
            zoo entry name (e.g. "atomic_spikes", "atomic_mnist"; it must match
            the architecture).
        refine: None, bool or dict. The model's own refinement options, the
            default of `atoms(images)` and of the SavedModel's `atoms`
            signature (`AtomicRefinement`'s options; a zoo entry stores its
            own). None or True: the refinement's defaults; False: the
            encoder's one-pass atoms.
        name: str. Name of the model.

    Returns:
        An `AtomicAutoencoder` with `.encoder`, `.decoder`, `.block`,
        `decode_atoms(z)` and `atoms(images)`.

    Example:
    >>> ae = geomae_tf.zoo.atomic_autoencoder(k=10, d0=3)
    >>> ae.atoms(images).shape    # (N, 10, 64, 64, 1); the sum is the output
    """
    k = validation.check_int("k", k, minimum=1)
    d0 = validation.check_int("d0", d0, minimum=1)
    image_size = _check_image_size(image_size)
    encoder = atomic_encoder(k * d0, image_size, encoder_units)
    block = atomic_block(d0, image_size, block_units, upsampling)
    code = keras.Input((k * d0,), name="z")
    reconstruction = AtomicDecoder(block, k=k, d0=d0, split_penalty=split_penalty,
                                   name="atomic_decoder")(code)
    decoder = keras.Model(code, reconstruction, name="decoder")
    model = AtomicAutoencoder(encoder, decoder, refine=refine, name=name)
    model.build((None, image_size, image_size, 1))
    if weights is not None:
        load_weights_file(model, weights)
    return model
