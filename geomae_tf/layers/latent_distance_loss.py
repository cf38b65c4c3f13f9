"""`LatentDistanceLoss`: the type 1 regulariser of JMIV 2020, section 4.4.1."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import keras
from keras import ops

from geomae_tf import validation

if TYPE_CHECKING:
    from geomae_tf.types import Tensor

IMAGE_DISTANCES = ("mean", "sum")


def latent_distance_penalty(x: Tensor, z: Tensor, permutation: Tensor,
                            image_distance: str = "mean") -> Tensor:
    """psi_1 averaged over a batch: mean_i (||x_i - x_p(i)||^2 - ||z_i - z_p(i)||^2)^2.

    Args:
        x: tensor (batch, ...). The inputs.
        z: tensor (batch, d). Their codes.
        permutation: int tensor (batch,). p(i), the neighbour of each element.
        image_distance: "sum" (||x - x'||^2 as in the paper) or "mean" (divided
            by the number of features of x, the scale of Keras' MSE).

    Returns:
        A scalar tensor.
    """
    x = ops.reshape(x, (ops.shape(x)[0], -1))
    z = ops.reshape(z, (ops.shape(z)[0], -1))
    dx = ops.sum(ops.square(x - ops.take(x, permutation, axis=0)), axis=-1)
    if image_distance == "mean":
        dx = dx / ops.cast(ops.shape(x)[-1], dx.dtype)
    dz = ops.sum(ops.square(z - ops.take(z, permutation, axis=0)), axis=-1)
    return ops.mean(ops.square(dx - dz))


@keras.saving.register_keras_serializable(package="geomae_tf")
class LatentDistanceLoss(keras.layers.Layer):
    """Passes codes z through and adds `weight * psi_1` to the model's losses.

    The type 1 regulariser of JMIV 2020, section 4.4.1 (after [22-24]): each
    element x of the batch gets a random neighbour x' from the same batch
    (a fresh random permutation at every step), and the code should keep
    their distance:

        psi_1(x, x') = (||x - x'||^2 - ||E(x) - E(x')||^2)^2,

    averaged over the batch. Called on `[x, z]`, it returns z unchanged; the
    penalty is added (`add_loss`) during training only, so evaluation losses
    stay pure reconstruction errors. The paper's ||x - x'||^2 is a sum over
    pixels while Keras' MSE data term is a mean: with
    `image_distance="mean"` (the default) the image distance is divided by
    the number of pixels P too, which keeps lambda on the scale of the data
    term (lambda_paper = P * lambda here, and the code becomes an isometry up
    to the factor 1 / sqrt(P)); `image_distance="sum"` is psi_1 verbatim.

    Args:
        weight: float >= 0. The weight lambda. Defaults to 1.
        image_distance: "mean" or "sum". See above. Defaults to "mean".
        seed: int or None. Seed of the random neighbours. Defaults to None.
        **kwargs: passed to `keras.layers.Layer`.

    Example:
    >>> from geomae_tf.layers.latent_distance_loss import LatentDistanceLoss
    >>> z = LatentDistanceLoss(weight=1e-2)([images, z])   # z unchanged
    """

    def __init__(self, weight: float = 1.0, image_distance: str = "mean",
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.weight = validation.check_float("weight", weight, minimum=0.0)
        self.image_distance = validation.check_choice("image_distance", image_distance,
                                                      set(IMAGE_DISTANCES))
        if seed is not None:
            seed = validation.check_int("seed", seed, minimum=0)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def penalty(self, x: Tensor, z: Tensor, permutation: Tensor | None = None) -> Tensor:
        """psi_1 of the batch (unweighted); a random permutation unless one is given."""
        if permutation is None:
            permutation = keras.random.shuffle(ops.arange(ops.shape(z)[0]),
                                               seed=self.seed_generator)
        return latent_distance_penalty(x, z, permutation, self.image_distance)

    def call(self, inputs: Sequence[Tensor], training: bool | None = None) -> Tensor:
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError("`inputs` must be a pair [x, z] (the images and their codes). "
                             f"Received: inputs of type {type(inputs).__name__}")
        x, z = inputs
        if training and self.weight > 0.0:
            self.add_loss(self.weight * self.penalty(x, z))
        return z

    def compute_output_shape(self, input_shape: Sequence[tuple[int | None, ...]]
                             ) -> tuple[int | None, ...]:
        return tuple(input_shape[1])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"weight": self.weight, "image_distance": self.image_distance,
                       "seed": self.seed})
        return config
