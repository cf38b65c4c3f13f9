"""`AtomicAutoencoder`: an `Autoencoder` whose decoder is a sum of shared atoms."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from geomae_tf import validation
from geomae_tf.layers.atomic_decoder import AtomicDecoder
from geomae_tf.models.autoencoder import Autoencoder

if TYPE_CHECKING:
    from geomae_tf.types import ArrayLike, Tensor


@keras.saving.register_keras_serializable(package="geomae_tf")
class AtomicAutoencoder(Autoencoder):
    """An autoencoder f_D o f_E with f_D(z) = g(z_1) + ... + g(z_k).

    Newson and Traonmilin 2023, sections 2.1-2.3. The decoder is a
    `keras.Model` whose last layer is an `AtomicDecoder`; its shared block g
    is `.block`. Besides the `Autoencoder` API (encode, decode, reconstruct)
    it gives the atoms themselves: `decode_atoms(z)` on tensors (used by the
    SavedModel's `atoms` signature) and the validated numpy methods
    `atoms(images)` and `atoms_from_codes(z)`.

    Args:
        encoder: keras.Model. Images `(N, H, W, 1)` to codes `(N, k * d0)`.
        decoder: keras.Model. Codes to images; its last layer must be an
            `AtomicDecoder`.
        **kwargs: passed to `keras.Model` (e.g. `name`).

    Example:
    >>> ae = geomae_tf.zoo.atomic_autoencoder(k=10, d0=3)
    >>> atoms = ae.atoms(images)          # (N, 10, 64, 64, 1)
    >>> np.allclose(atoms.sum(1), ae.reconstruct(images), atol=1e-5)
    True
    """

    def __init__(self, encoder: keras.Model, decoder: keras.Model, **kwargs: Any) -> None:
        super().__init__(encoder, decoder, **kwargs)
        if not decoder.layers or not isinstance(decoder.layers[-1], AtomicDecoder):
            raise ValueError("`decoder` must end with an `AtomicDecoder` layer (the sum of "
                             "the shared blocks). Received: decoder whose last layer is "
                             f"{type(decoder.layers[-1]).__name__ if decoder.layers else None}")

    # Found on demand, not stored: storing the layer again would track (and
    # save) its weights twice.
    @property
    def atomic_decoder(self) -> AtomicDecoder:
        """The `AtomicDecoder` layer that ends the decoder."""
        return self.decoder.layers[-1]

    @property
    def block(self) -> keras.Model:
        """The shared decoder block g: a latent block `(M, d0)` to one atom."""
        return self.atomic_decoder.block

    @property
    def k(self) -> int:
        """Number of latent blocks (atoms per image)."""
        return self.atomic_decoder.k

    @property
    def d0(self) -> int:
        """Size of a latent block."""
        return self.atomic_decoder.d0

    def decode_atoms(self, z: Tensor) -> Tensor:
        """The k atoms g(z_i) of codes `z` (tensor in, tensor `(N, k, H, W, 1)` out)."""
        return self.atomic_decoder(z, return_atoms=True)

    def atoms_from_codes(self, z: ArrayLike, batch_size: int = 256) -> np.ndarray:
        """The atoms of codes `z` `(N, k * d0)` as a numpy array `(N, k, H, W, 1)`."""
        z = validation.check_codes(z, latent_dim=self.latent_dim)
        batch_size = validation.check_int("batch_size", batch_size, minimum=1)
        out = [keras.ops.convert_to_numpy(self.decode_atoms(z[i:i + batch_size]))
               for i in range(0, len(z), batch_size)]
        if not out:
            return np.zeros((0, self.k) + self.image_shape, np.float32)
        return np.concatenate(out)

    def refine_codes(self, images: ArrayLike, z: ArrayLike | None = None,
                     **options: Any) -> np.ndarray:
        """Codes of `images` refined through the fixed decoder: numpy `(N, k * d0)`.

        The encoder's code E(x) is the start; Adam steps on the code, then
        rounds of pruning split atoms and reseeding unexplained residual
        peaks (`geomae_tf.models.atomic.refinement.refine_codes`, whose
        keyword arguments `options` are). Slower than `encode` (about 50
        decoder passes per round), and closer to the images.
        """
        from geomae_tf.models.atomic import refinement

        return refinement.refine_codes(self, images, z=z, **options)

    def atoms(self, images: ArrayLike, batch_size: int = 256,
              refine: bool | dict[str, Any] | None = False) -> np.ndarray:
        """The atoms g(z_i) of `images` `(N, H, W, 1)`: numpy `(N, k, H, W, 1)`.

        Args:
            images: array `(N, H, W, 1)` in [0, 1].
            batch_size: int. Images per forward pass.
            refine: bool or dict. False (the default) decodes the encoder's
                code E(x), the paper's answer, whose atoms sum to
                `reconstruct(images)`; True decodes `refine_codes(images)`
                with its defaults; a dict passes its options.
        """
        if refine is False or refine is None:
            z = self.encode(images, batch_size=batch_size)
        elif refine is True or isinstance(refine, dict):
            z = self.refine_codes(images, **({} if refine is True else refine))
        else:
            raise ValueError(f"`refine` must be a bool or a dict of `refine_codes` options. "
                             f"Received: refine={refine!r}")
        return self.atoms_from_codes(z, batch_size=batch_size)
