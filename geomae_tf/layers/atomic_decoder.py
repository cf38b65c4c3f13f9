"""`AtomicDecoder`: one shared block g applied to k latent blocks, summed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras
from keras import ops

from geomae_tf import validation
from geomae_tf.layers.upsample_conv2d import UpsampleConv2D

if TYPE_CHECKING:
    from geomae_tf.types import Tensor

#: Layer types that are affine maps when their activation is linear: a chain of
#: them at the end of g can be applied once to a sum of features.
_AFFINE_WITH_ACTIVATION = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D,
                           keras.layers.Conv3D, keras.layers.Conv2DTranspose)
_AFFINE = (keras.layers.Reshape, keras.layers.Flatten, keras.layers.Identity)


def _is_affine(layer: keras.layers.Layer) -> bool:
    """Whether `layer` computes an affine map of its one input (channels last)."""
    if isinstance(layer, UpsampleConv2D) or isinstance(layer, _AFFINE):
        return True
    if isinstance(layer, _AFFINE_WITH_ACTIVATION):
        return (keras.activations.serialize(layer.activation) == "linear"
                and getattr(layer, "data_format", "channels_last") == "channels_last")
    return False


class _AffineTail:
    """g split as tail(body(z)), tail the longest chain of affine layers ending g.

    A plain object, not a layer: it adds no variables and nothing to saved
    files; `body` is a Functional view of g's own layers.
    """

    def __init__(self, body: keras.Model, tail: list[keras.layers.Layer]) -> None:
        self.body = body
        self.tail = tail

    def apply_tail(self, x: Tensor) -> Tensor:
        for layer in self.tail:
            x = layer(x)
        return x

    @classmethod
    def of(cls, block: keras.layers.Layer) -> _AffineTail | None:
        """The split of `block`, or None when it has no affine tail to move."""
        if not isinstance(block, keras.Model):
            return None
        try:
            inputs, outputs = block.inputs, block.outputs
        except (AttributeError, ValueError):          # a subclassed or unbuilt model
            return None
        if not inputs or len(inputs) != 1 or not outputs or len(outputs) != 1:
            return None
        tensor, tail = outputs[0], []
        while tensor is not inputs[0]:
            history = getattr(tensor, "_keras_history", None)
            if history is None:
                return None
            layer = history.operation
            node = layer._inbound_nodes[history.node_index]
            if not _is_affine(layer) or len(node.input_tensors) != 1:
                break
            tail.insert(0, layer)
            tensor = node.input_tensors[0]
        if not tail or tensor is inputs[0] or any(dim is None for dim in tensor.shape[1:]):
            return None           # nothing to move, g affine as a whole, or unknown shapes
        return cls(keras.Model(inputs, tensor, name=f"{block.name}_body"), tail)


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

    When g ends with affine layers T (e.g. the atomic autoencoder's last
    3x3 convolution, linear: section 2.3), the sum is computed as
    sum_i m_i T(y_i) = T(sum_i m_i y_i) + (sum_i m_i - 1) T(0), y_i the
    features before T: T runs once per image instead of k times, the same
    function up to float rounding. The atoms themselves (`return_atoms=True`,
    or a split penalty in training) are still drawn one by one, g(z_i).

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
        # How the sum is computed: "tail" (the affine tail of g once on the
        # sum of features, where g has one; g's body vectorised on N * k
        # blocks), "tail_loop" (the same, g's body in a loop over the k
        # blocks) or "atoms" (sum of the k atoms). All compute the same
        # function; the last two are kept for the benchmarks' comparisons.
        self._sum_path = "tail"
        self._split = None

    def _affine_tail(self) -> _AffineTail | None:
        if self._split is None:
            self._split = _AffineTail.of(self.block) or False
        return self._split or None

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
        split = self._affine_tail() if self._sum_path != "atoms" else None
        if split is not None and not return_atoms and not (training and self.split_penalty > 0.0):
            return self._sum_through_tail(split, z, block_mask)
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

    def _sum_through_tail(self, split: _AffineTail, z: Tensor,
                          block_mask: Tensor | None) -> Tensor:
        """T(sum_i m_i y_i) + (sum_i m_i - 1) T(0): the sum of the atoms, T once."""
        if self._sum_path == "tail_loop":
            summed = None
            for i in range(self.k):
                features = split.body(z[:, i * self.d0:(i + 1) * self.d0])   # (N, ...)
                if block_mask is not None:
                    weight = ops.cast(block_mask[:, i], features.dtype)
                    features = features * ops.reshape(weight, (-1,) + (1,) * (
                        len(features.shape) - 1))
                summed = features if summed is None else summed + features
            feature_shape = tuple(summed.shape[1:])
        else:
            features = split.body(ops.reshape(z, (-1, self.d0)))   # (N * k, ...)
            feature_shape = tuple(features.shape[1:])
            features = ops.reshape(features, (-1, self.k) + feature_shape)
            if block_mask is not None:
                features = features * ops.reshape(ops.cast(block_mask, features.dtype),
                                                  (-1, self.k) + (1,) * len(feature_shape))
            summed = ops.sum(features, axis=1)
        if block_mask is None:
            count = float(self.k)
        else:
            count = ops.sum(ops.cast(block_mask, "float32"), axis=1)              # (N,)
        out = split.apply_tail(summed)
        offset = split.apply_tail(ops.zeros((1,) + feature_shape, features.dtype))  # T(0)
        if block_mask is None:
            return out + (count - 1.0) * offset
        count = ops.reshape(count - 1.0, (-1,) + (1,) * (len(out.shape) - 1))
        return out + ops.cast(count, out.dtype) * offset

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
