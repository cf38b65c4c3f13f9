"""Training a PCA-AE that organises the latent space of an existing generator
(talks, "Understanding and organising the latent space of autoencoders",
slides 41-47; eq. 16).

The model is `geomae_tf.models.pca.organise_generator.organised_generator_model`;
here it is fed codes z0 + eta, eta ~ N(0, sigma^2 I_m), and trained one unit
per stage (`train_progressive`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import keras
import tensorflow as tf

from geomae_tf import validation
from geomae_tf.models.pca.organise_generator import check_generator, organised_generator_model
from geomae_tf.training.progressive import train_progressive

if TYPE_CHECKING:
    from geomae_tf.models.pca.pca_autoencoder import PCAAutoencoder
    from geomae_tf.types import ArrayLike


def generator_dataset(generator: keras.Model, z0: ArrayLike, sigma: float, batch_size: int = 128,
                      seed: int = 0) -> tf.data.Dataset:
    """Infinite (eta, G(z0 + eta)) batches, eta ~ N(0, sigma^2 I), seeded."""
    m, z0, sigma = check_generator(generator, z0, sigma)
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
    check_generator(generator, z0, sigma)
    keras.utils.set_random_seed(validation.check_int("seed", seed, minimum=0))
    model = organised_generator_model(generator, z0, latent_dim, lambda_cov, hidden)
    data = generator_dataset(generator, z0, sigma, batch_size, seed)
    model, histories = train_progressive(model, data, epochs_per_stage,
                                         learning_rate=learning_rate, loss=loss,
                                         steps_per_epoch=steps_per_epoch, verbose=verbose)
    return model, histories
