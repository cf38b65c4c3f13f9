"""`AtomicAutoencoder`: an `Autoencoder` whose decoder is a sum of shared atoms."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from geomae_tf import validation
from geomae_tf.layers.atomic_decoder import AtomicDecoder
from geomae_tf.models.atomic import refinement
from geomae_tf.models.atomic.atomic_refinement import DEFAULTS as REFINE_DEFAULTS
from geomae_tf.models.atomic.atomic_refinement import AtomicRefinement
from geomae_tf.models.autoencoder import Autoencoder

if TYPE_CHECKING:
    from geomae_tf.types import ArrayLike, Tensor


@keras.saving.register_keras_serializable(package="geomae_tf")
class AtomicAutoencoder(Autoencoder):
    """An autoencoder f_D o f_E with f_D(z) = g(z_1) + ... + g(z_k).

    Newson and Traonmilin 2023, sections 2.1-2.3. The decoder is a
    `keras.Model` whose last layer is an `AtomicDecoder`; its shared block g
    is `.block`. Besides the `Autoencoder` API (encode, decode, reconstruct)
    it gives the atoms themselves: `decode_atoms(z)` and `atoms_tensor(x)`
    on tensors (used by the SavedModel's `encoder_atoms` and `atoms`
    signatures) and the validated numpy methods `atoms(images)` and
    `atoms_from_codes(z)`. Its answer by default is the refined code
    (`AtomicRefinement`, in the graph) with the model's own options
    `refine`, which a zoo entry stores with its weights.

    Args:
        encoder: keras.Model. Images `(N, H, W, 1)` to codes `(N, k * d0)`.
        decoder: keras.Model. Codes to images; its last layer must be an
            `AtomicDecoder`.
        refine: None, bool or dict. The model's own refinement options (the
            default of `atoms`): a dict of `AtomicRefinement` options; None
            or True: its defaults; False: the encoder's one-pass code.
        **kwargs: passed to `keras.Model` (e.g. `name`).

    Example:
    >>> ae = geomae_tf.zoo.atomic_autoencoder(k=10, d0=3)
    >>> atoms = ae.atoms(images, refine=False)     # (N, 10, 64, 64, 1)
    >>> np.allclose(atoms.sum(1), ae.reconstruct(images), atol=1e-5)
    True
    >>> best = ae.atoms(images)                    # the refined code's atoms
    """

    def __init__(self, encoder: keras.Model, decoder: keras.Model,
                 refine: bool | dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(encoder, decoder, **kwargs)
        if not decoder.layers or not isinstance(decoder.layers[-1], AtomicDecoder):
            raise ValueError("`decoder` must end with an `AtomicDecoder` layer (the sum of "
                             "the shared blocks). Received: decoder whose last layer is "
                             f"{type(decoder.layers[-1]).__name__ if decoder.layers else None}")
        # Plain attributes, kept out of Keras' tracking: the refiner holds no
        # variables of its own, and the weights files stay those of E and D.
        object.__setattr__(self, "refine", _check_refine(refine))
        object.__setattr__(self, "_refiners", {})

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["refine"] = self.refine if self.refine is False else dict(self.refine)
        return config

    def set_refine(self, refine: bool | dict[str, Any] | None) -> AtomicAutoencoder:
        """Sets the model's own refinement options (see `atoms`); returns the model."""
        object.__setattr__(self, "refine", _check_refine(refine))
        return self

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
        return refinement.refine_codes(self, images, z=z, **options)

    def refiner(self, options: dict[str, Any] | None = None) -> AtomicRefinement:
        """The `AtomicRefinement` layer of these options (default: the model's own).

        One layer per set of options, kept by the model; they share the off
        code, found once.
        """
        options = _graph_options(self.refine if options is None else options)
        key = tuple(sorted(options.items()))
        if key not in self._refiners:
            off = getattr(self, "_off_code", None)
            layer = AtomicRefinement(self.encoder, self.decoder, off_code=off, **options)
            object.__setattr__(self, "_off_code", [float(v) for v in layer.off_code_of()])
            self._refiners[key] = layer
        return self._refiners[key]

    def atoms_tensor(self, images: Tensor, refine: bool | dict[str, Any] | None = None
                     ) -> Tensor:
        """`atoms` on tensors, in the graph: images `(N, H, W, 1)` to `(N, k, H, W, 1)`.

        `refine` as in `atoms`; switched-off blocks are zero images. Used by
        the SavedModel's `atoms` (the model's own options) and
        `encoder_atoms` (refine=False) signatures.
        """
        options = self._options(refine)
        if options is False:
            return self.decode_atoms(self.encoder(images))
        z, live = self.refiner(options)(images)
        return self.atomic_decoder(z, return_atoms=True, block_mask=live)

    def _options(self, refine):
        if refine is None or refine is True:
            return self.refine if refine is None else (self.refine or {})
        return _check_refine(refine)

    def atoms(self, images: ArrayLike, batch_size: int = 256,
              refine: bool | dict[str, Any] | None = None) -> np.ndarray:
        """The atoms g(z_i) of `images` `(N, H, W, 1)`: numpy `(N, k, H, W, 1)`.

        By default the model's best decomposition: the code refined with the
        model's own options (`refine`, stored in its config and with a zoo
        entry), computed in the graph by `AtomicRefinement` (switched-off
        blocks are zero images). `refine=False` gives the encoder's
        one-pass atoms, the paper's answer (Newson and Traonmilin 2023,
        section 2.3), whose sum is `reconstruct(images)`.

        Args:
            images: array `(N, H, W, 1)` in [0, 1].
            batch_size: int. Images per forward pass (refinement uses at
                most 64 at a time).
            refine: None, bool or dict. None: the model's own options; True:
                the same, or the refinement's defaults for a model whose
                own answer is the encoder's; False: the encoder's code; a
                dict: these options (`AtomicRefinement`'s, merging and
                dropping included; `bank` and `batch_size` of
                `refinement.refine_codes` run in Python under TensorFlow).

        Example:
        >>> ae = geomae_tf.zoo.load("atomic_spikes_refined")
        >>> best = ae.atoms(images)                  # refined, the entry's options
        >>> one_pass = ae.atoms(images, refine=False)
        """
        options = self._options(refine)
        if options is False:
            z = self.encode(images, batch_size=batch_size)
            return self.atoms_from_codes(z, batch_size=batch_size)
        images = self.check_inputs(images)
        batch_size = min(validation.check_int("batch_size", batch_size, minimum=1), 64)
        if any(options.get(key) is not None for key in PYTHON_OPTIONS):
            z = self.refine_codes(images, **options)
            return self.atoms_from_codes(z, batch_size=batch_size)
        layer = self.refiner(options)
        out = []
        for start in range(0, len(images), batch_size):
            z, live = layer(images[start:start + batch_size])
            out.append(keras.ops.convert_to_numpy(
                self.atomic_decoder(z, return_atoms=True, block_mask=live)))
        if not out:
            return np.zeros((0, self.k) + self.image_shape, np.float32)
        return np.concatenate(out)


#: Options of `refinement.refine_codes` that the graph refinement does not
#: take: with one of them set, `atoms` refines in Python (TensorFlow only).
PYTHON_OPTIONS = ("bank", "batch_size")


def _check_refine(refine):
    """None or True: {} (the refinement's defaults); False; a dict of options."""
    if refine is None or refine is True:
        return {}
    if refine is False:
        return False
    if not isinstance(refine, dict):
        raise ValueError(f"`refine` must be a bool, None or a dict of refinement options. "
                         f"Received: refine={refine!r}")
    allowed = set(REFINE_DEFAULTS) | set(PYTHON_OPTIONS)
    unknown = sorted(set(refine) - allowed)
    if unknown:
        raise ValueError(f"`refine` options must be among {sorted(allowed)}. Received: "
                         f"unknown options {unknown}")
    return dict(refine)


def _graph_options(options):
    """The options `AtomicRefinement` takes, from a dict of refine options."""
    if not isinstance(options, dict):
        options = {}
    return {key: options[key] for key in REFINE_DEFAULTS if options.get(key) is not None}
