"""The PCA-like autoencoder (PCA-AE talks; Ladjal, Newson, Pham 2019; Pham,
Ladjal, Newson, JMIV 2022): ordered, decorrelated latent axes.

The latent space grows one unit per stage (talks, slide 46 "PCA autoencoder
architecture"): stage k adds a new one-unit encoder E_k, the earlier encoders
E_1..E_{k-1} are frozen (their normalisation runs on its moving statistics),
and a fresh decoder D_k with a k-dimensional input is trained on
||x - D_k(E_1(x), ..., E_k(x))||^2 + lambda L_cov^(k) (eq. 17), the covariance
loss pushing the new unit to be decorrelated from the earlier ones. Each
unit ends with a `CentredLatent` (zero mean, no trainable parameter).

The network of each stage follows the public reference's ellipse network:
4x4 convolutions with stride 2 and leaky ReLU (alpha = 0.2) down to one
number (depths 32, 16, 8, 4, 2 at 64x64), and a decoder of 4x4 transposed
convolutions whose depths grow with k (2k, 4k, 8k, 16k, 32k) up to a sigmoid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
from keras import ops

from geomae_tf import validation
from geomae_tf.layers.centred_latent import CentredLatent
from geomae_tf.layers.covariance_loss import CovarianceLoss
from geomae_tf.models.autoencoder import Autoencoder
from geomae_tf.models.saved_weights import load_weights_file

if TYPE_CHECKING:
    from geomae_tf.types import ArrayLike, PathLike, Tensor

#: Leaky ReLU slope of the public reference.
ALPHA = 0.2
#: Depth of the first encoder layer; each further layer halves it.
ENCODER_BASE_DEPTH = 32


def levels_of(image_size: int) -> int:
    """The number of stride-2 levels from `image_size` down to 1x1."""
    image_size = validation.check_int("image_size", image_size, minimum=4)
    levels = int(round(math.log2(image_size)))
    if 2 ** levels != image_size:
        raise ValueError(f"`image_size` must be a power of two (the strided convolutions go "
                         f"down to a 1x1 code). Received: image_size={image_size}")
    return levels


def default_encoder_depths(image_size: int) -> tuple[int, ...]:
    """Hidden depths of a one-unit encoder: 32, 16, 8, ... (levels - 1 layers)."""
    return tuple(max(1, ENCODER_BASE_DEPTH >> i) for i in range(levels_of(image_size) - 1))


def default_decoder_depths(image_size: int) -> tuple[int, ...]:
    """Hidden depths of a decoder per latent unit (the encoder's, reversed)."""
    return tuple(reversed(default_encoder_depths(image_size)))


def _check_depths(name, depths, image_size):
    expected = levels_of(image_size) - 1
    if not isinstance(depths, (list, tuple)) or len(depths) != expected:
        raise ValueError(f"`{name}` must be a tuple of {expected} positive ints for "
                         f"{image_size}x{image_size} images (one per hidden level). "
                         f"Received: {name}={depths!r}")
    return tuple(validation.check_int(f"{name}[i]", d, minimum=1) for d in depths)


def conv_encoder(image_size: int, depths: Sequence[int], units: int, name: str,
                 centred: bool = True, momentum: float = 0.99) -> keras.Model:
    """A strided convolutional encoder from images to `units` numbers.

    4x4 convolutions with stride 2 and leaky ReLU, hidden depths `depths`,
    then a last strided convolution to a 1x1 map of `units` channels, then
    (if `centred`) a `CentredLatent`.
    """
    images = keras.Input((image_size, image_size, 1), name="images")
    x = images
    for i, depth in enumerate(depths):
        x = keras.layers.Conv2D(depth, 4, strides=2, padding="same", name=f"conv{i}")(x)
        x = keras.layers.LeakyReLU(negative_slope=ALPHA, name=f"lrelu{i}")(x)
    x = keras.layers.Conv2D(units, 4, strides=2, padding="same", name="code_conv")(x)
    z = keras.layers.Flatten(name="code")(x)
    if centred:
        z = CentredLatent(momentum=momentum, name="centred")(z)
    return keras.Model(images, z, name=name)


def conv_decoder(image_size: int, units: int, depths: Sequence[int], name: str,
                 output_activation: str = "sigmoid") -> keras.Model:
    """A transposed-convolution decoder from `units` numbers to images."""
    code = keras.Input((units,), name="z")
    y = keras.layers.Reshape((1, 1, units), name="reshape")(code)
    for i, depth in enumerate(depths):
        y = keras.layers.Conv2DTranspose(depth, 4, strides=2, padding="same",
                                         name=f"deconv{i}")(y)
        y = keras.layers.LeakyReLU(negative_slope=ALPHA, name=f"lrelu{i}")(y)
    y = keras.layers.Conv2DTranspose(1, 4, strides=2, padding="same", name="deconv_out")(y)
    y = keras.layers.Activation(output_activation, name="output")(y)
    return keras.Model(code, y, name=name)


@keras.saving.register_keras_serializable(package="geomae_tf")
class PCAAutoencoder(Autoencoder):
    """A progressive PCA-like autoencoder: one-unit encoders and one decoder per stage.

    The model holds every stage: `stage_encoders[i]` maps an input to the
    (i+1)-th latent unit, `stage_decoders[k-1]` decodes the first k units.
    `stage` says which decoder `call` uses (training stage k uses units 1..k
    and decoder k, with the covariance loss on the k-th unit); once trained
    `stage == latent_dim`, `.encoder` maps inputs to all units and
    `.decoder` is the last decoder, so the model is an ordinary `Autoencoder`
    (export, navigation). An optional frozen `head` turns decoded outputs
    into images (used to organise the latent space of an existing
    generator, talks slides 42-47). The whole model, every stage included,
    saves and reloads as one (`.keras` or `.weights.h5`).

    Args:
        stage_encoders: list of keras.Model. One-unit encoders (the last layer
            a `CentredLatent`).
        stage_decoders: list of keras.Model, the k-th taking k inputs.
        covariance_weight: float >= 0. The weight lambda of eq. 17.
        stage: int or None. The active stage; None means the last.
        head: keras.Model or None. A frozen map applied after the decoder.
        **kwargs: passed to `keras.Model`.

    Example:
    >>> ae = geomae_tf.zoo.pca_autoencoder(latent_dim=3)
    >>> train_progressive(ae, dataset, epochs_per_stage=10)
    >>> ae.encode(images)             # (N, 3), ordered and decorrelated
    """

    def __init__(self, stage_encoders: Sequence[keras.Model],
                 stage_decoders: Sequence[keras.Model], covariance_weight: float = 1.0,
                 stage: int | None = None, head: keras.Model | None = None,
                 **kwargs: Any) -> None:
        stage_encoders, stage_decoders = list(stage_encoders), list(stage_decoders)
        if not stage_encoders or len(stage_encoders) != len(stage_decoders):
            raise ValueError(f"`stage_encoders` and `stage_decoders` must be non-empty lists "
                             f"of the same length. Received: {len(stage_encoders)} encoders, "
                             f"{len(stage_decoders)} decoders")
        for i, (enc, dec) in enumerate(zip(stage_encoders, stage_decoders)):
            if not isinstance(enc, keras.Model) or not isinstance(dec, keras.Model):
                raise TypeError("`stage_encoders` and `stage_decoders` must hold keras.Model "
                                f"objects. Received at stage {i + 1}: {type(enc).__name__}, "
                                f"{type(dec).__name__}")
            if int(enc.outputs[0].shape[-1]) != 1:
                raise ValueError(f"`stage_encoders[{i}]` must output one unit. Received: "
                                 f"output shape {tuple(enc.outputs[0].shape)}")
            if int(dec.inputs[0].shape[-1]) != i + 1:
                raise ValueError(f"`stage_decoders[{i}]` must take {i + 1} input(s) (stage "
                                 f"{i + 1}). Received: input shape {tuple(dec.inputs[0].shape)}")
        if head is not None and not isinstance(head, keras.Model):
            raise TypeError(f"`head` must be None or a keras.Model. Received: head of type "
                            f"{type(head).__name__}")
        inputs = keras.Input(tuple(stage_encoders[0].inputs[0].shape[1:]), name="inputs")
        codes = [enc(inputs) for enc in stage_encoders]
        z = keras.layers.Concatenate(name="z")(codes) if len(codes) > 1 else codes[0]
        super().__init__(keras.Model(inputs, z, name="encoder"), stage_decoders[-1], **kwargs)
        self.stage_encoders = stage_encoders
        self.stage_decoders = stage_decoders
        self.head = head
        if head is not None:
            head.trainable = False
        self.covariance_weight = validation.check_float("covariance_weight",
                                                        covariance_weight, minimum=0.0)
        self.covariance = CovarianceLoss(weight=self.covariance_weight, mode="newest",
                                         name="covariance")
        self.set_stage(len(stage_encoders) if stage is None else stage)

    # -- stages ----------------------------------------------------------------
    @property
    def n_stages(self) -> int:
        return len(self.stage_encoders)

    def set_stage(self, stage: int) -> PCAAutoencoder:
        """Makes `stage` active: only its new encoder and its decoder train.

        Recompile (with a NEW optimizer) after changing the stage.
        """
        stage = validation.check_int("stage", stage, minimum=1, maximum=self.n_stages)
        self.stage = stage
        for i, enc in enumerate(self.stage_encoders):
            enc.trainable = i == stage - 1
        for i, dec in enumerate(self.stage_decoders):
            dec.trainable = i == stage - 1
        return self

    def set_covariance_weight(self, weight: float) -> PCAAutoencoder:
        """Sets lambda (recompile afterwards)."""
        self.covariance_weight = validation.check_float("lambda_cov", weight, minimum=0.0)
        self.covariance.weight = self.covariance_weight
        return self

    # -- Keras plumbing ----------------------------------------------------------
    def build(self, input_shape: tuple[int | None, ...]) -> None:
        for dec in self.stage_decoders:
            if not dec.built:
                dec.build(tuple(dec.inputs[0].shape))
        super().build(input_shape)

    def call(self, inputs: Tensor, training: bool | None = None) -> Tensor:
        k = self.stage
        codes = [self.stage_encoders[i](inputs, training=training) for i in range(k)]
        z = ops.concatenate(codes, axis=-1) if k > 1 else codes[0]
        z = self.covariance(z)
        out = self.stage_decoders[k - 1](z, training=training)
        if self.head is not None:
            out = self.head(out, training=False)
        return out

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        shape = self.stage_decoders[self.stage - 1].compute_output_shape(
            (input_shape[0], self.stage))
        return self.head.compute_output_shape(shape) if self.head is not None else shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("encoder", None)
        config.pop("decoder", None)
        config.update({
            "stage_encoders": [keras.saving.serialize_keras_object(m)
                               for m in self.stage_encoders],
            "stage_decoders": [keras.saving.serialize_keras_object(m)
                               for m in self.stage_decoders],
            "covariance_weight": self.covariance_weight,
            "stage": self.stage,
            "head": (keras.saving.serialize_keras_object(self.head)
                     if self.head is not None else None),
        })
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> PCAAutoencoder:
        config = dict(config)
        for key in ("stage_encoders", "stage_decoders"):
            config[key] = [keras.saving.deserialize_keras_object(c) for c in config[key]]
        if config.get("head") is not None:
            config["head"] = keras.saving.deserialize_keras_object(config["head"])
        return cls(**config)

    # -- numpy API -----------------------------------------------------------------
    @property
    def _inputs_shape(self):
        return tuple(self.encoder.inputs[0].shape[1:])

    def _check_inputs(self, x):
        if len(self._inputs_shape) == 3:
            return validation.check_images(x, size=self._inputs_shape[:2])
        return validation.check_codes(x, name="inputs", latent_dim=self._inputs_shape[0])

    def encode(self, x: ArrayLike, batch_size: int = 256) -> np.ndarray:
        """The codes (N, latent_dim) of inputs `x` (images, or generator codes)."""
        x = self._check_inputs(x)
        return self._apply(self.encoder, x, batch_size)

    def decode(self, z: ArrayLike, batch_size: int = 256) -> np.ndarray:
        """Decodes codes `z` (N, k) with the decoder of stage k (k <= latent_dim).

        The first k units of a PCA-AE are decoded by the decoder trained with
        them; `k = latent_dim` is the final model.
        """
        z = validation.check_codes(z)
        k = z.shape[1]
        if not 1 <= k <= self.n_stages:
            raise ValueError(f"`z` must have between 1 and {self.n_stages} columns. "
                             f"Received: z with shape {z.shape}")
        out = self._apply(self.stage_decoders[k - 1], z, batch_size)
        if self.head is not None:
            out = self._apply(self.head, out, batch_size)
        return out

    def reconstruct(self, x: ArrayLike, batch_size: int = 256,
                    n_components: int | None = None) -> np.ndarray:
        """D_k(E_1(x), ..., E_k(x)) with k = `n_components` (default: all)."""
        k = self.n_stages if n_components is None else validation.check_int(
            "n_components", n_components, minimum=1, maximum=self.n_stages)
        return self.decode(self.encode(x, batch_size)[:, :k], batch_size)


def pca_autoencoder(latent_dim: int = 3, image_size: int = 64,
                    encoder_depths: tuple[int, ...] | list[int] | None = None,
                    decoder_depths: tuple[int, ...] | list[int] | None = None,
                    lambda_cov: float = 1.0, momentum: float = 0.99,
                    output_activation: str = "sigmoid", weights: PathLike | None = None,
                    name: str = "pca_ae") -> PCAAutoencoder:
    """Builds a PCA-like autoencoder with every stage (untrained unless `weights`).

    Train it with `geomae_tf.training.progressive.train_progressive` (or
    `geomae train zoo/pca_ae_ellipses.toml`): stage by stage, each stage a
    `model.fit` with the new unit and decoder trainable.

    Args:
        latent_dim: int. Number of latent units (= stages). Defaults to 3
            (ellipses: area, two elongations).
        image_size: int. Side of the square input, a power of two. Defaults to 64.
        encoder_depths: tuple or None. Hidden depths of each one-unit encoder
            (levels - 1 of them); None gives 32, 16, 8, ... (the reference).
        decoder_depths: tuple or None. Hidden depths of a decoder PER LATENT
            UNIT: the stage-k decoder has k times these depths; None gives
            2, 4, 8, ... (the reference: 2k, 4k, 8k, 16k, 32k at 64x64).
        lambda_cov: float >= 0. Weight of the covariance loss. Defaults to 1
            (the reference's `lambdacov`).
        momentum: float. Momentum of the centring moving statistics.
        output_activation: str. Activation of the decoder output. Defaults
            to "sigmoid" (train with binary cross-entropy, as the reference).
        weights: None or a path to `.weights.h5`; through `geomae_tf.zoo`, also a
            zoo entry name.
        name: str. Name of the model.

    Returns:
        A `PCAAutoencoder` (an `Autoencoder`) at its last stage.

    Example:
    >>> ae = geomae_tf.zoo.pca_autoencoder(latent_dim=3, weights="pca_ae_ellipses")
    >>> ae.encode(images)       # (N, 3): area, then two elongations
    """
    latent_dim = validation.check_int("latent_dim", latent_dim, minimum=1)
    image_size = validation.check_int("image_size", image_size, minimum=4)
    levels_of(image_size)
    encoder_depths = _check_depths("encoder_depths", encoder_depths
                                   if encoder_depths is not None
                                   else default_encoder_depths(image_size), image_size)
    decoder_depths = _check_depths("decoder_depths", decoder_depths
                                   if decoder_depths is not None
                                   else default_decoder_depths(image_size), image_size)
    lambda_cov = validation.check_float("lambda_cov", lambda_cov, minimum=0.0)
    if not isinstance(output_activation, str):
        raise TypeError(f"`output_activation` must be a str such as 'sigmoid'. Received: "
                        f"output_activation={output_activation!r}")
    encoders = [conv_encoder(image_size, encoder_depths, 1, f"encoder_{k + 1}",
                             momentum=momentum) for k in range(latent_dim)]
    decoders = [conv_decoder(image_size, k + 1, tuple((k + 1) * d for d in decoder_depths),
                             f"decoder_{k + 1}", output_activation)
                for k in range(latent_dim)]
    model = PCAAutoencoder(encoders, decoders, covariance_weight=lambda_cov, name=name)
    model.build((None, image_size, image_size, 1))
    if weights is not None:
        load_weights_file(model, weights)
    return model
