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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import keras
import numpy as np
import tensorflow as tf

from geomae_tf import validation
from geomae_tf.layers.centred_latent import CentredLatent
from geomae_tf.models.pca.pca_autoencoder import ALPHA, PCAAutoencoder
from geomae_tf.training.progressive import train_progressive

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


def _check_generator(generator, z0, sigma):
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


def generator_dataset(generator: keras.Model, z0: ArrayLike, sigma: float, batch_size: int = 128,
                      seed: int = 0) -> tf.data.Dataset:
    """Infinite (eta, G(z0 + eta)) batches, eta ~ N(0, sigma^2 I), seeded."""
    m, z0, sigma = _check_generator(generator, z0, sigma)
    batch_size = validation.check_int("batch_size", batch_size, minimum=1)
    centre = tf.constant(z0[None])

    def draw(step):
        eta = sigma * tf.random.stateless_normal([batch_size, m],
                                                 tf.stack([tf.cast(seed, tf.int64), step]))
        return eta, generator(centre + eta, training=False)

    return tf.data.Dataset.counter().map(draw).prefetch(tf.data.AUTOTUNE)


def organise_generator(generator: keras.Model, z0: ArrayLike, sigma: float,
                       latent_dim: int = 3, lambda_cov: float = 1.0,
                       hidden: Sequence[int] = (64, 64),
                       epochs_per_stage: int | list[int] | tuple[int, ...] = 4,
                       steps_per_epoch: int = 100, batch_size: int = 128,
                       learning_rate: float | list[float] | tuple[float, ...] = 1e-3,
                       loss: str = "mse", seed: int = 0, verbose: int | str = 0
                       ) -> tuple[PCAAutoencoder, list[keras.callbacks.History]]:
    """Trains a PCA-AE that organises the latent space of `generator` around `z0`.

    Args:
        generator: keras.Model. A decoder G: codes (N, m) -> images; frozen.
        z0: array (m,). The centre code.
        sigma: float > 0. Spread of the explored codes z0 + eta,
            eta ~ N(0, sigma^2 I).
        latent_dim: int. Number of organised axes (stages). Defaults to 3.
        lambda_cov: float >= 0. Weight of the covariance loss.
        hidden: tuple of int. Widths of the dense layers of each one-unit
            encoder (the stage-k decoder uses k times them).
        epochs_per_stage, steps_per_epoch, batch_size, learning_rate: the
            schedule of each stage (fresh codes at every step).
        loss: "mse" (the mean over pixels of the squared difference of the
            generated images) or "bce".
        seed: int. Seed of the codes and of the initial weights.
        verbose: Keras verbosity.

    Returns:
        (model, histories): a `PCAAutoencoder` on codes whose `head` is
        eta -> G(z0 + eta): `model.encode(eta)` gives the organised axes,
        `model.decode(z)` the generated images of organised codes `z`
        (its first k columns use the stage-k decoder); one `History` per stage.

    Example:
    >>> pca, _ = organise_generator(ae.decoder, z0=ae.encode(image)[0], sigma=0.5)
    >>> pca.decode([[2.0, 0.0, 0.0]])     # move along the most important axis
    """
    m, z0, sigma = _check_generator(generator, z0, sigma)
    latent_dim = validation.check_int("latent_dim", latent_dim, minimum=1)
    hidden = tuple(validation.check_int("hidden[i]", h, minimum=1) for h in hidden)
    keras.utils.set_random_seed(validation.check_int("seed", seed, minimum=0))
    encoders = [mlp_stage_encoder(m, hidden, f"encoder_{k + 1}") for k in range(latent_dim)]
    decoders = [mlp_stage_decoder(k + 1, m, hidden, f"decoder_{k + 1}")
                for k in range(latent_dim)]
    model = PCAAutoencoder(encoders, decoders, covariance_weight=lambda_cov,
                           head=generator_head(generator, z0), name="organised_generator")
    model.build((None, m))
    data = generator_dataset(generator, z0, sigma, batch_size, seed)
    model, histories = train_progressive(model, data, epochs_per_stage,
                                         learning_rate=learning_rate, loss=loss,
                                         steps_per_epoch=steps_per_epoch, verbose=verbose)
    return model, histories
