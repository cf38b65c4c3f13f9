"""Organising the latent space of an existing generator with a PCA-AE (talks,
"Understanding and organising the latent space of autoencoders", slides 41-47).

A frozen generator (decoder) G with an m-dimensional latent space is
explored locally around a centre code z0: the data are codes z0 + eta,
eta ~ N(0, sigma^2 I_m), and a PCA-like autoencoder (E, D) on eta is trained
so that the generated images match,

    L(eta) = ||G(z0 + eta) - G(z0 + D(E(eta)))||^2 + lambda L_cov(E(eta))   (eq. 16)

progressively, one unit per stage. The new axes are ordered by how much of
the image variation they explain and decorrelated; navigating one of them
changes one attribute of the generated image.

This module builds the model; `geomae_tf.training.organise_generator` trains it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import keras
import numpy as np

from geomae_tf import validation
from geomae_tf.layers.centred_latent import CentredLatent
from geomae_tf.models.pca.pca_autoencoder import ALPHA, PCAAutoencoder

if TYPE_CHECKING:
    from geomae_tf.types import ArrayLike


@keras.saving.register_keras_serializable(package="geomae_tf")
class _Offset(keras.layers.Layer):
    """x -> x + offset (a fixed vector): the centre code z0 of the exploration."""

    def __init__(self, offset, **kwargs):
        super().__init__(**kwargs)
        self.offset = [float(v) for v in np.asarray(offset, np.float64).reshape(-1)]

    def call(self, inputs):
        return inputs + keras.ops.convert_to_tensor(self.offset, dtype=inputs.dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config["offset"] = self.offset
        return config


def mlp_stage_encoder(input_dim: int, hidden: Sequence[int], name: str,
                      momentum: float = 0.99) -> keras.Model:
    """A one-unit encoder of codes: dense layers with leaky ReLU, then one
    unit and a `CentredLatent`."""
    codes = keras.Input((input_dim,), name="eta")
    x = codes
    for i, width in enumerate(hidden):
        x = keras.layers.Dense(width, name=f"dense{i}")(x)
        x = keras.layers.LeakyReLU(negative_slope=ALPHA, name=f"lrelu{i}")(x)
    x = keras.layers.Dense(1, name="code")(x)
    return keras.Model(codes, CentredLatent(momentum=momentum, name="centred")(x), name=name)


def mlp_stage_decoder(units: int, output_dim: int, hidden: Sequence[int],
                      name: str) -> keras.Model:
    """A decoder from `units` PCA-AE axes back to an offset eta in R^m."""
    z = keras.Input((units,), name="z")
    y = z
    for i, width in enumerate(hidden):
        y = keras.layers.Dense(width * units, name=f"dense{i}")(y)
        y = keras.layers.LeakyReLU(negative_slope=ALPHA, name=f"lrelu{i}")(y)
    return keras.Model(z, keras.layers.Dense(output_dim, name="eta")(y), name=name)


def generator_head(generator: keras.Model, z0: ArrayLike) -> keras.Model:
    """The frozen map eta -> G(z0 + eta), as a Keras model."""
    m = int(generator.inputs[0].shape[-1])
    eta = keras.Input((m,), name="eta")
    generator.trainable = False
    head = keras.Model(eta, generator(_Offset(z0, name="plus_z0")(eta)), name="generator_head")
    head.trainable = False
    return head


def check_generator(generator: keras.Model, z0: ArrayLike, sigma: float
                    ) -> tuple[int, np.ndarray, float]:
    """`(m, z0, sigma)` once checked: a one-input generator of codes (N, m), a finite
    centre code of length m and a spread sigma > 0."""
    if not isinstance(generator, keras.Model) or len(generator.inputs) != 1:
        raise TypeError("`generator` must be a keras.Model with one input (codes (N, m)). "
                        f"Received: generator of type {type(generator).__name__}")
    m = generator.inputs[0].shape[-1]
    if len(generator.inputs[0].shape) != 2 or m is None:
        raise ValueError("`generator` must take codes shaped (N, m). Received: input shape "
                         f"{tuple(generator.inputs[0].shape)}")
    z0 = np.asarray(z0, np.float32).reshape(-1)
    if z0.shape != (m,) or not np.all(np.isfinite(z0)):
        raise ValueError(f"`z0` must be a finite vector of length m = {m} (the generator's "
                         f"latent size). Received: z0 with shape {z0.shape}")
    sigma = validation.check_float("sigma", sigma, minimum=0.0, exclusive_minimum=True)
    return int(m), z0, sigma


def organised_generator_model(generator: keras.Model, z0: ArrayLike, latent_dim: int = 3,
                              lambda_cov: float = 1.0, hidden: Sequence[int] = (64, 64)
                              ) -> PCAAutoencoder:
    """The untrained PCA-AE on codes eta whose head is eta -> G(z0 + eta).

    One one-unit encoder and one decoder per stage (`mlp_stage_encoder`,
    `mlp_stage_decoder`), the covariance loss of weight `lambda_cov`, and
    the frozen `generator_head`; `geomae_tf.training.organise_generator`
    trains it stage by stage.

    Args:
        generator: keras.Model. A decoder G: codes (N, m) -> images; frozen.
        z0: array (m,). The centre code.
        latent_dim: int. Number of organised axes (stages). Defaults to 3.
        lambda_cov: float >= 0. Weight of the covariance loss.
        hidden: tuple of int. Widths of the dense layers of each one-unit
            encoder (the stage-k decoder uses k times them).

    Example:
    >>> pca = organised_generator_model(ae.decoder, z0=ae.encode(image)[0])
    """
    m, z0, _ = check_generator(generator, z0, 1.0)
    latent_dim = validation.check_int("latent_dim", latent_dim, minimum=1)
    hidden = tuple(validation.check_int("hidden[i]", h, minimum=1) for h in hidden)
    encoders = [mlp_stage_encoder(m, hidden, f"encoder_{k + 1}") for k in range(latent_dim)]
    decoders = [mlp_stage_decoder(k + 1, m, hidden, f"decoder_{k + 1}")
                for k in range(latent_dim)]
    model = PCAAutoencoder(encoders, decoders, covariance_weight=lambda_cov,
                           head=generator_head(generator, z0), name="organised_generator")
    model.build((None, m))
    return model
