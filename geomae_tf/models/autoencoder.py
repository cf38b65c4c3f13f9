"""`Autoencoder`: the couple (E, D) every zoo family is built from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from geomae_tf import validation

if TYPE_CHECKING:
    from geomae_tf.types import ArrayLike, Tensor


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

    def __init__(self, encoder: keras.Model, decoder: keras.Model, **kwargs: Any) -> None:
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
    def build(self, input_shape: tuple[int | None, ...]) -> None:
        if not self.encoder.built:
            self.encoder.build(input_shape)
        if not self.decoder.built:
            self.decoder.build((None, self.latent_dim))
        super().build(input_shape)

    def call(self, inputs: Tensor, training: bool | None = None) -> Tensor:
        return self.decoder(self.encoder(inputs, training=training), training=training)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return self.decoder.compute_output_shape(self.encoder.compute_output_shape(input_shape))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
        })
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Autoencoder:
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        config["decoder"] = keras.saving.deserialize_keras_object(config["decoder"])
        return cls(**config)

    # -- training in Python ---------------------------------------------------
    def compile_defaults(self) -> Autoencoder:
        """Compiles with the zoo recipes' default: Adam (learning rate 1e-3)
        on the mean squared error, the reconstruction loss of eq. (1) (JMIV
        2020, Table 1); losses the model adds itself (regularisers) come on
        top. Returns the model."""
        self.compile(optimizer=keras.optimizers.Adam(1e-3),
                     loss=keras.losses.MeanSquaredError())
        return self

    def fit(self, x: Any = None, y: Any = None, *args: Any, validation_data: Any = None,
            **kwargs: Any) -> keras.callbacks.History:
        """`keras.Model.fit` for an autoencoder: `fit(x)` trains D(E(x)) ~ x.

        A model that was never compiled is compiled first with
        `compile_defaults()` (Adam 1e-3, MSE); compile it yourself for
        anything else. Arrays (`x`, `y`, `validation_data`) are checked as
        `encode` checks its input (float32 in [0, 1], `(N, H, W, 1)` at the
        model's size); a `tf.data.Dataset` has its first batch checked.

        Example:
        >>> ae = geomae_tf.zoo.disk_autoencoder()
        >>> ae.fit(images, images, epochs=5, batch_size=64)   # or ae.fit(images)
        """
        if not self.compiled:
            if hasattr(self, "set_stage"):  # a progressive model: one stage at a time
                raise RuntimeError(
                    f"{type(self).__name__} trains stage by stage (PCA-AE talks, eq. 17): "
                    "call geomae_tf.training.progressive.train_progressive(model, x, "
                    "epochs_per_stage=...), or compile the model yourself to train its "
                    "current stage only")
            self.compile_defaults()
        if _is_array(x):
            x = self.check_inputs(keras.ops.convert_to_numpy(x), name="x")
            y = x if y is None else y
        elif hasattr(x, "element_spec") and hasattr(x, "take"):  # a tf.data.Dataset
            for batch in x.take(1):
                self.check_inputs(np.asarray(batch[0] if isinstance(batch, (tuple, list))
                                             else batch), name="x")
        if _is_array(y):
            y = self.check_inputs(keras.ops.convert_to_numpy(y), name="y")
        if isinstance(validation_data, (tuple, list)):
            validation_data = tuple(
                self.check_inputs(keras.ops.convert_to_numpy(v), name="validation_data")
                if _is_array(v) and i < 2 else v for i, v in enumerate(validation_data))
        return super().fit(x, y, *args, validation_data=validation_data, **kwargs)

    # -- geometry of the model ---------------------------------------------
    @property
    def image_shape(self) -> tuple[int, ...]:
        """`(H, W, 1)`: the images this autoencoder takes."""
        return tuple(self.encoder.inputs[0].shape[1:])

    @property
    def latent_dim(self) -> int:
        """The size of the code z."""
        return int(self.decoder.inputs[0].shape[-1])

    # -- validated numpy API -----------------------------------------------
    # `encode`, `decode`, `reconstruct`, `predict` and an inference call on
    # concrete values (`ae(x)`) check their input with `geomae_tf.validation`
    # (shape, dtype, finiteness, range [0, 1] up to RANGE_TOLERANCE) and take
    # empty batches; the SavedModel's signatures apply the same checks
    # (`geomae_tf.export`).
    def check_inputs(self, images: ArrayLike, name: str = "images",
                     clip: bool = False) -> np.ndarray:
        """`images` validated for this autoencoder, as float32 numpy.

        Images `(N, H, W, 1)` in [0, 1] (up to
        `geomae_tf.validation.RANGE_TOLERANCE`), 1-D signals `(N, n, 1)`
        for an autoencoder of signals, codes `(N, d)` for one of codes.
        `clip=True` clips finite values of images into [0, 1] instead of
        refusing them.
        """
        if len(self.image_shape) == 2:
            return validation.check_signals(images, name=name, length=self.image_shape[0])
        if len(self.image_shape) == 1:  # an autoencoder of codes (e.g. a generator's)
            return validation.check_codes(images, name=name, latent_dim=self.image_shape[0])
        return validation.check_images(images, name=name, size=self.image_shape[:2],
                                       channels=self.image_shape[2], clip=clip)

    def _apply(self, model, x, batch_size):
        """`model` on the validated array `x` as numpy, by batches; an empty
        batch gives an empty result of the right shape."""
        batch_size = validation.check_int("batch_size", batch_size, minimum=1)
        if len(x) == 0:
            return _empty_result(model, x)
        if model is self:
            return np.asarray(keras.Model.predict(self, x, batch_size=batch_size, verbose=0))
        return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))

    def encode(self, images: ArrayLike, batch_size: int = 256, clip: bool = False) -> np.ndarray:
        """Codes of `images` (float32 in [0, 1], `(N, H, W, 1)`) as a numpy array.

        Args:
            images: array `(N, H, W, 1)`, values in [0, 1] (decoded images,
                which overshoot by a few hundredths, pass; see
                `geomae_tf.validation.RANGE_TOLERANCE`).
            batch_size: int. Defaults to 256.
            clip: bool. Clip finite values into [0, 1] first, e.g. to encode
                D(z) for any z (E o D, JMIV 2020 section 4). Defaults to False.
        """
        images = self.check_inputs(images, clip=clip)
        return self._apply(self.encoder, images, batch_size)

    def decode(self, z: ArrayLike, batch_size: int = 256) -> np.ndarray:
        """Images decoded from codes `z` shaped `(N, latent_dim)`."""
        z = validation.check_codes(z, latent_dim=self.latent_dim)
        return self._apply(self.decoder, z, batch_size)

    def reconstruct(self, images: ArrayLike, batch_size: int = 256,
                    clip: bool = False) -> np.ndarray:
        """D(E(images)) as a numpy array, after validating `images` (see `encode`)."""
        images = self.check_inputs(images, clip=clip)
        return self._apply(self, images, batch_size)

    def predict(self, x: Any, batch_size: int | None = None, verbose: str | int = "auto",
                steps: int | None = None,
                callbacks: list[keras.callbacks.Callback] | None = None) -> np.ndarray:
        """`keras.Model.predict`, with arrays and tensors validated first.

        Arrays go through `check_inputs` (an empty batch gives an empty
        result); datasets and generators are passed to Keras unchanged.
        """
        if isinstance(x, np.ndarray) or _is_concrete_tensor(x):
            x = self.check_inputs(keras.ops.convert_to_numpy(x))
            if len(x) == 0:
                return _empty_result(self, x)
        return super().predict(x, batch_size=batch_size, verbose=verbose, steps=steps,
                               callbacks=callbacks)

    def __call__(self, *args, **kwargs):
        # Inference on concrete values (numpy, eager tensors) is validated like
        # `encode`; symbolic calls (functional construction, tf.function,
        # jit) and training calls go to Keras unchecked.
        inputs = args[0] if args else kwargs.get("inputs")
        if not kwargs.get("training") and (isinstance(inputs, np.ndarray)
                                           or _is_concrete_tensor(inputs)):
            self.check_inputs(keras.ops.convert_to_numpy(inputs))
        return super().__call__(*args, **kwargs)


def _empty_result(model, x):
    """`model`'s answer to the empty batch `x`: empty, of the right shape.

    TensorFlow's CPU convolution (oneDNN) returns an output shaped like its
    input for an empty batch (`(0, 64, 64, 8)` where 4 channels are due),
    which the next bias addition refuses; so the model runs on one zero
    input and its answer is cut to no row, under every backend.
    """
    one = np.zeros((1,) + tuple(x.shape[1:]), x.dtype)
    return np.asarray(keras.ops.convert_to_numpy(model(one, training=False)))[:0]


def _is_array(x):
    """True for a numpy array or a tensor holding values (data `fit` can check)."""
    return isinstance(x, np.ndarray) or _is_concrete_tensor(x)


def _is_concrete_tensor(x):
    """True for a backend tensor holding values now (not a symbolic one)."""
    if isinstance(x, keras.KerasTensor) or not keras.ops.is_tensor(x):
        return False
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.executing_eagerly() and not tf.is_symbolic_tensor(x)
    if backend == "jax":
        import jax

        return not isinstance(x, jax.core.Tracer)
    return True
