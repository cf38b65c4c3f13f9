"""The disk autoencoder of JMIV 2020 (section 3, Figure 1, Table 1)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import keras

from geomae_tf import validation
from geomae_tf.layers.latent_distance_loss import LatentDistanceLoss
from geomae_tf.models.autoencoder import Autoencoder
from geomae_tf.models.saved_weights import load_weights_file

if TYPE_CHECKING:
    from geomae_tf.types import PathLike

#: Depths of the hidden layers of Table 1 (the code z comes after them).
TABLE1_DEPTHS = (8, 4, 4, 3, 2)
#: Leaky ReLU slope of eq. (2).
ALPHA = 0.2

#: The regularisers of section 4.4.1 (and the talks' denoising variant), as data:
#: which pieces each one switches on. `lam` is their weight (for "denoising",
#: the standard deviation of the Gaussian noise added to the input in training).
REGULARIZERS = {
    "none": {},
    "latent_distance": {"latent_distance": True},          # type 1, psi_1
    "weight_decay": {"encoder_decay": True, "decoder_decay": True},   # type 2, psi_2
    "encoder_weight_decay": {"encoder_decay": True},       # type 3, psi_3
    "denoising": {"input_noise": True},                    # the talks' denoising AE
}


def disk_autoencoder(image_size: int = 64, latent_dim: int = 1,
                     depths: tuple[int, ...] | list[int] = TABLE1_DEPTHS, use_bias: bool = True,
                     upsampling: str = "nearest", regularizer: str = "none", lam: float = 0.0,
                     regularizer_seed: int = 0, weights: PathLike | None = None,
                     name: str = "disk_ae") -> Autoencoder:
    """Builds the disk autoencoder of JMIV 2020, Table 1.

    The encoder is a cascade of 3x3 convolutions with stride 2 and leaky ReLU
    (alpha = 0.2, eq. 2-3) whose depths are `depths` (8, 4, 4, 3, 2 in
    Table 1) followed by a last strided convolution to a 1x1 map of
    `latent_dim` channels: the code z. The decoder mirrors it: upsampling by
    2, 3x3 convolution, leaky ReLU, with the depths reversed, down to one
    channel at full resolution. Without biases (`use_bias=False`, section 4.3)
    the decoder is positively homogeneous: D(l z) = l D(z) for l > 0
    (Proposition 1).

    Regularisers (section 4.4.1; the training loss becomes the reconstruction
    MSE plus lam * psi):
    - "latent_distance" (type 1): `LatentDistanceLoss` on [images, z], psi_1 =
      (||x - x'||^2 / P - ||E(x) - E(x')||^2)^2 for a random neighbour x' in
      the batch (P pixels: the image distance on the MSE's scale).
    - "weight_decay" (type 2): `keras.regularizers.L2(lam)` on every kernel,
      psi_2 = sum of the squared encoder and decoder weights (biases free).
    - "encoder_weight_decay" (type 3): the same on the encoder's kernels only.
    - "denoising" (the talks' slides): `keras.layers.GaussianNoise(lam)` on the
      encoder's input, active in training only; the target stays clean.
    The paper's lambda multiplies a sum of squared pixel errors; Keras' MSE is
    their mean, so lam here = lambda_paper / P for the weight decays.

    Args:
        image_size: int. Side of the square input, a power of two equal to
            2 ** (len(depths) + 1). Defaults to 64.
        latent_dim: int. Size of the code. Defaults to 1 (one number codes
            the radius).
        depths: tuple of int. Hidden depths of the encoder; the decoder uses
            them reversed. Defaults to Table 1's (8, 4, 4, 3, 2).
        use_bias: bool. Whether every convolution has a bias. Defaults to True.
        upsampling: str. "nearest" or "bilinear" upsampling in the decoder.
        regularizer: str. One of "none", "latent_distance", "weight_decay",
            "encoder_weight_decay", "denoising". Defaults to "none".
        lam: float >= 0. The regulariser's weight lambda (the noise standard
            deviation for "denoising"). Must be 0 when `regularizer="none"`.
            Defaults to 0.
        regularizer_seed: int. Seed of the random neighbours or the noise.
        weights: None or a path to `.weights.h5`; through `geomae_tf.zoo`, also a
            zoo entry name.
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
    validation.check_choice("regularizer", regularizer, set(REGULARIZERS))
    lam = validation.check_float("lam", lam, minimum=0.0)
    if regularizer == "none" and lam != 0.0:
        raise ValueError(f"`lam` is the weight of a regulariser: set `regularizer` to one "
                         f"of {sorted(set(REGULARIZERS) - {'none'})}, or lam=0. Received: "
                         f"regularizer='none', lam={lam}")
    regularizer_seed = validation.check_int("regularizer_seed", regularizer_seed, minimum=0)
    pieces = REGULARIZERS[regularizer]

    def kernel_regularizer(on):
        return keras.regularizers.L2(lam) if on else None

    enc_reg = kernel_regularizer(pieces.get("encoder_decay"))
    dec_reg = kernel_regularizer(pieces.get("decoder_decay"))

    images = keras.Input((image_size, image_size, 1), name="images")
    x = images
    if pieces.get("input_noise"):
        x = keras.layers.GaussianNoise(lam, seed=regularizer_seed, name="input_noise")(x)
    for i, depth in enumerate(depths):
        x = keras.layers.Conv2D(depth, 3, strides=2, padding="same", use_bias=use_bias,
                                kernel_regularizer=enc_reg, name=f"enc_conv{i}")(x)
        x = keras.layers.LeakyReLU(negative_slope=ALPHA, name=f"enc_lrelu{i}")(x)
    x = keras.layers.Conv2D(latent_dim, 3, strides=2, padding="same", use_bias=use_bias,
                            kernel_regularizer=enc_reg, name="enc_code")(x)
    z = keras.layers.Flatten(name="z")(x)
    if pieces.get("latent_distance"):
        z = LatentDistanceLoss(lam, seed=regularizer_seed, name="latent_distance")([images, z])
    encoder = keras.Model(images, z, name="encoder")

    code = keras.Input((latent_dim,), name="z")
    y = keras.layers.Reshape((1, 1, latent_dim), name="dec_reshape")(code)
    for i, depth in enumerate(tuple(reversed(depths)) + (1,)):
        y = keras.layers.UpSampling2D(2, interpolation=upsampling, name=f"dec_up{i}")(y)
        y = keras.layers.Conv2D(depth, 3, padding="same", use_bias=use_bias,
                                kernel_regularizer=dec_reg, name=f"dec_conv{i}")(y)
        y = keras.layers.LeakyReLU(negative_slope=ALPHA, name=f"dec_lrelu{i}")(y)
    decoder = keras.Model(code, y, name="decoder")

    model = Autoencoder(encoder, decoder, name=name)
    model.build((None, image_size, image_size, 1))
    if weights is not None:
        load_weights_file(model, weights)
    return model


