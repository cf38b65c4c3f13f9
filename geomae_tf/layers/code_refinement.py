"""`CodeRefinement`: gradient steps on the code through a fixed decoder."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras
from keras import ops

from geomae_tf import validation

if TYPE_CHECKING:
    from geomae_tf.types import Tensor


@keras.saving.register_keras_serializable(package="geomae_tf")
class CodeRefinement(keras.layers.Layer):
    """Refines codes z so that the decoder reproduces the images better.

    Amortised inference followed by a few steps of iterative inference: the
    encoder's code is the starting point, then `steps` Adam steps minimise
    ||f_D(z) - x||^2 over z with the decoder f_D fixed. For an atomic
    autoencoder (Newson and Traonmilin 2023, section 2.1, eq. 3) this is the
    learned counterpart of a continuous spike fit with a known point-spread
    function: g plays the PSF, each block z_i one spike's parameters. The
    paper's conclusion (section 4) names better inference of the atomic code
    as future work; the encoder alone is kept as the default answer of the
    model, and refinement is asked for explicitly.

    The loss is a sum over images, and Adam keeps one state per coordinate,
    so every image is refined independently of the others in the batch. The
    decoder's variables are never changed.

    Runs under the TensorFlow backend (it takes gradients with
    `tf.GradientTape` inside the layer, so it can be part of a SavedModel).

    Args:
        decoder: keras.Layer or keras.Model. Codes `(N, latent_dim)` to
            images `(N, H, W, C)`; it is called, never trained.
        steps: int. Number of Adam steps. Defaults to 50.
        learning_rate: float. Adam's step size, in code units. Defaults to
            0.05.
        beta_1, beta_2, epsilon: floats. Adam's constants. Default to 0.9,
            0.999 and 1e-7 (Keras' defaults).
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        images: tensor `(N, H, W, C)`. The images the codes should decode to.
        z: tensor `(N, latent_dim)`. Starting codes (e.g. the encoder's).
        mask: tensor `(N, latent_dim)` of 0 and 1, or None. Coordinates
            where it is 0 are held fixed (e.g. blocks switched off).

    Example:
    >>> ae = geomae_tf.zoo.load("atomic_spikes")
    >>> refine = CodeRefinement(ae.decoder, steps=50)
    >>> z = refine(images, ae.encoder(images))
    """

    def __init__(self, decoder: keras.layers.Layer, steps: int = 50, learning_rate: float = 0.05,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(decoder, keras.layers.Layer):
            raise TypeError(f"`decoder` must be a keras.layers.Layer or keras.Model (codes to "
                            f"images). Received: decoder of type {type(decoder).__name__}")
        self.decoder = decoder
        self.steps = validation.check_int("steps", steps, minimum=0)
        self.learning_rate = validation.check_float("learning_rate", learning_rate,
                                                    minimum=0.0, exclusive_minimum=True)
        self.beta_1 = validation.check_float("beta_1", beta_1, minimum=0.0, maximum=0.999999)
        self.beta_2 = validation.check_float("beta_2", beta_2, minimum=0.0, maximum=0.999999)
        self.epsilon = validation.check_float("epsilon", epsilon, minimum=0.0,
                                              exclusive_minimum=True)

    def build(self, images_shape: tuple[int | None, ...],
              z_shape: tuple[int | None, ...] | None = None) -> None:
        if not self.decoder.built and z_shape is not None:
            self.decoder.build(z_shape)
        self.built = True

    def _adam(self, images, z, mask):
        import tensorflow as tf

        b1, b2 = self.beta_1, self.beta_2

        def body(t, z, m, v):
            with tf.GradientTape() as tape:
                tape.watch(z)
                loss = tf.reduce_sum(tf.square(self.decoder(z) - images))
            grad = tape.gradient(loss, z) * mask
            m = b1 * m + (1.0 - b1) * grad
            v = b2 * v + (1.0 - b2) * tf.square(grad)
            step = tf.cast(t + 1, z.dtype)
            rate = self.learning_rate * tf.sqrt(1.0 - b2 ** step) / (1.0 - b1 ** step)
            return t + 1, z - rate * m / (tf.sqrt(v) + self.epsilon), m, v

        zeros = tf.zeros_like(z)
        _, z, _, _ = tf.while_loop(lambda t, *_: t < self.steps, body,
                                   (tf.constant(0), z, zeros, zeros))
        return tf.stop_gradient(z)

    def call(self, images: Tensor, z: Tensor, mask: Tensor | None = None) -> Tensor:
        if keras.backend.backend() != "tensorflow":
            raise NotImplementedError(
                "CodeRefinement takes gradients inside the layer and runs under the "
                "TensorFlow backend only. Received: KERAS_BACKEND="
                f"{keras.backend.backend()!r}")
        images = ops.cast(images, self.compute_dtype)
        z = ops.cast(z, self.compute_dtype)
        if self.steps == 0:
            return z
        mask = ops.ones_like(z) if mask is None else ops.cast(mask, self.compute_dtype)
        import tensorflow as tf

        if tf.executing_eagerly():
            # One traced graph per layer, reused by every eager call.
            if getattr(self, "_graph_adam", None) is None:
                self._graph_adam = tf.function(self._adam, reduce_retracing=True)
            return self._graph_adam(images, z, mask)
        return self._adam(images, z, mask)

    def compute_output_shape(self, images_shape: tuple[int | None, ...],
                             z_shape: tuple[int | None, ...],
                             mask_shape: tuple[int | None, ...] | None = None
                             ) -> tuple[int | None, ...]:
        return tuple(z_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "steps": self.steps,
            "learning_rate": self.learning_rate,
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        })
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> CodeRefinement:
        config = dict(config)
        config["decoder"] = keras.saving.deserialize_keras_object(config["decoder"])
        return cls(**config)
