"""`AtomicDecoder`: one shared block g applied to k latent blocks, summed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras
from keras import ops

from geomae_tf import validation

if TYPE_CHECKING:
    from geomae_tf.types import Tensor


def split_penalty(atoms: Tensor) -> Tensor:
    """How much a decomposition splits its image: atoms `(N, k, ...)` to a scalar.

    The batch mean of (sum_i ||a_i|| - ||sum_i a_i||) / sqrt(P), norms over
    the P values of an atom (so each term is a root mean square). By the
    triangle inequality it is >= 0, and 0 exactly when the non-zero atoms
    are positive multiples of one image (one atom, or one atom cut in
    proportional parts). Cutting an image into two disjoint halves of equal
    energy costs (sqrt(2) - 1) times its norm; the mean squared error of
    eq. (3) cannot tell the two halves from the whole, this term can. Unlike
    an L1 or L2 penalty on the atoms it does not shrink a lone atom. Its zero
    set is also its weakness: dim, overlapping copies of the whole output
    cost nothing, and on strokes (mu = 0.05) training drifted there
    (docs/atomic.md).
    """
    flat = ops.reshape(atoms, (ops.shape(atoms)[0], ops.shape(atoms)[1], -1))
    size = ops.cast(ops.shape(flat)[-1], flat.dtype)
    norms = ops.sqrt(ops.sum(ops.square(flat), axis=-1) / size + 1e-12)   # (N, k)
    total = ops.sqrt(ops.sum(ops.square(ops.sum(flat, axis=1)), axis=-1) / size + 1e-12)
    return ops.mean(ops.sum(norms, axis=1) - total)


@keras.saving.register_keras_serializable(package="geomae_tf")
class AtomicDecoder(keras.layers.Layer):
    """Decodes z = (z_1, ..., z_k) into the sum of atoms g(z_1) + ... + g(z_k).

    Newson and Traonmilin 2023, section 2.1 eq. (3) and section 2.3: the
    decoder of an atomic autoencoder is made of k identical ("tied") blocks,
    f_D(z) = sum_i g(z_i), each z_i a block of d0 consecutive coordinates of
    the code. The block g is ONE Keras layer (or model) holding one set of
    variables whatever k is. It runs once on the codes reshaped to
    `(batch * k, d0)`, never in a Python loop over the blocks, so the layer
    is a single large batched computation on every backend.

    Args:
        block: keras.layers.Layer. The shared block g; it maps `(M, d0)` to
            `(M, ...)`, e.g. images `(M, H, W, 1)`.
        k: int. Number of latent blocks (atoms per input). Defaults to 10.
        d0: int. Size of each latent block. Defaults to 3.
        split_penalty: float >= 0. Weight mu of `split_penalty(atoms)`,
            added to the model's losses (`add_loss`) in training only: the
            loss becomes ||x - f_D(z)||^2 + mu * split_penalty, which prefers
            one atom per object to pieces of it (a stroke cut in two).
            Defaults to 0 (the paper's loss, eq. 3).
        **kwargs: passed to `keras.layers.Layer` (e.g. `name`).

    Call arguments:
        z: tensor `(N, k * d0)`. The codes.
        return_atoms: bool. If True, return the k atoms `(N, k, ...)`
            instead of their sum `(N, ...)`. Defaults to False.
        block_mask: None or tensor `(N, k)`. Weights of the atoms: block i of
            image n contributes `block_mask[n, i] * g(z_i)` (0 switches a
            block off, as `refine_codes` does). Defaults to None (all 1).
        training: bool or None. The split penalty is added only when True.

    Example:
    >>> g = keras.Sequential([keras.Input((3,)), keras.layers.Dense(64),
    ...                       keras.layers.Reshape((8, 8, 1))])
    >>> decoder = AtomicDecoder(g, k=10, d0=3)
    >>> decoder(z).shape                      # z: (N, 30) -> (N, 8, 8, 1)
    >>> decoder(z, return_atoms=True).shape   # (N, 10, 8, 8, 1)
    """

    def __init__(self, block: keras.layers.Layer, k: int = 10, d0: int = 3,
                 split_penalty: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(block, keras.layers.Layer):
            raise TypeError(f"`block` must be a keras.layers.Layer or keras.Model (the "
                            f"shared decoder block g). Received: block of type "
                            f"{type(block).__name__}")
        self.block = block
        self.k = validation.check_int("k", k, minimum=1)
        self.d0 = validation.check_int("d0", d0, minimum=1)
        self.split_penalty = validation.check_float("split_penalty", split_penalty,
                                                    minimum=0.0)

    @property
    def latent_dim(self) -> int:
        """k * d0: the size of the codes this layer decodes."""
        return self.k * self.d0

    def _check_input_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 2 or (input_shape[-1] is not None
                                     and input_shape[-1] != self.latent_dim):
            raise ValueError(f"`z` must be shaped (N, k * d0) = (N, {self.latent_dim}) for "
                             f"k={self.k}, d0={self.d0}. Received: z with shape "
                             f"{input_shape}")
        return input_shape

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self._check_input_shape(input_shape)
        if not self.block.built:
            self.block.build((None, self.d0))
        self.built = True

    def _atom_shape(self):
        spec = self.block.compute_output_spec(keras.KerasTensor((None, self.d0)))
        return tuple(spec.shape[1:])

    def call(self, z: Tensor, return_atoms: bool = False,
             block_mask: Tensor | None = None, training: bool | None = None) -> Tensor:
        blocks = ops.reshape(z, (-1, self.d0))                  # (N * k, d0)
        images = self.block(blocks)                             # (N * k, ...)
        atom_shape = tuple(images.shape[1:])
        if any(dim is None for dim in atom_shape):
            atom_shape = self._atom_shape()
        atoms = ops.reshape(images, (-1, self.k) + atom_shape)  # (N, k, ...)
        if block_mask is not None:
            block_mask = ops.cast(block_mask, atoms.dtype)
            atoms = atoms * ops.reshape(block_mask, (-1, self.k) + (1,) * len(atom_shape))
        if training and self.split_penalty > 0.0:
            self.add_loss(self.split_penalty * split_penalty(atoms))
        if return_atoms:
            return atoms
        return ops.sum(atoms, axis=1)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        input_shape = self._check_input_shape(input_shape)
        return (input_shape[0],) + self._atom_shape()

    def compute_output_spec(self, z: keras.KerasTensor, return_atoms: bool = False,
                            block_mask: keras.KerasTensor | None = None,
                            training: bool | None = None) -> keras.KerasTensor:
        shape = self._check_input_shape(z.shape)
        atom_shape = self._atom_shape()
        if return_atoms:
            shape = (shape[0], self.k) + atom_shape
        else:
            shape = (shape[0],) + atom_shape
        return keras.KerasTensor(shape, dtype=self.compute_dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({
            "block": keras.saving.serialize_keras_object(self.block),
            "k": self.k,
            "d0": self.d0,
            "split_penalty": self.split_penalty,
        })
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> AtomicDecoder:
        config = dict(config)
        config["block"] = keras.saving.deserialize_keras_object(config["block"])
        return cls(**config)
