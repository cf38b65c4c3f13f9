"""The model zoo: prebuilt factories and the trained entries.

>>> import geomae_tf
>>> ae = geomae_tf.zoo.disk_autoencoder(weights="disk_ae")   # trained weights
>>> ae = geomae_tf.zoo.load("disk_ae")                        # the same, by entry
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from geomae_tf.models.atomic.atomic_autoencoder import atomic_autoencoder as _atomic
from geomae_tf.models.disk.disk_autoencoder import disk_autoencoder as _disk
from geomae_tf.models.pca.pca_autoencoder import pca_autoencoder as _pca
from geomae_tf.models.pca.plain_autoencoder import plain_autoencoder as _plain
from geomae_tf.models.pca.vae import vae as _vae
from geomae_tf.models.position.position_decoder import position_decoder as _position_decoder
from geomae_tf.models.position.position_encoder import position_encoder as _position_encoder
from geomae_tf.zoo.presets import ENTRIES
from geomae_tf.zoo.recipe_fields import with_preset
from geomae_tf.zoo.weights import (available_entries, entry_config, entry_dir,
                                   entry_versions, factory_arguments, load_weights_into)

if TYPE_CHECKING:
    import keras


def _architecture_of_weights(factory):
    """`factory`, building the architecture its `weights` were saved with.

    With `weights` a zoo entry (or a `.weights.h5` whose `.json` is beside
    it), the arguments left out come from the entry's config and an argument
    that contradicts it is refused by name (`factory_arguments`), instead of
    Keras failing half-way through loading. The weights (an entry's name or a
    path) are loaded here, by the zoo, which the models do not import.
    """
    @functools.wraps(factory)
    def build(*args, **kwargs):
        arguments = factory_arguments(factory, args, kwargs)
        weights = arguments.pop("weights", None)
        model = factory(**arguments)
        return model if weights is None else load_weights_into(model, weights)

    return build


atomic_autoencoder = _architecture_of_weights(_atomic)
disk_autoencoder = _architecture_of_weights(_disk)
pca_autoencoder = _architecture_of_weights(_pca)
plain_autoencoder = _architecture_of_weights(_plain)
vae = _architecture_of_weights(_vae)
position_decoder = _architecture_of_weights(_position_decoder)
position_encoder = _architecture_of_weights(_position_encoder)

#: Factories by name, as recipes and exported configs refer to them.
FACTORIES = {
    "atomic_autoencoder": atomic_autoencoder,
    "disk_autoencoder": disk_autoencoder,
    "pca_autoencoder": pca_autoencoder,
    "plain_autoencoder": plain_autoencoder,  # the PCA-AE's baselines (JMIV 2022, section 5)
    "position_decoder": position_decoder,
    "position_encoder": position_encoder,
    "vae": vae,
}


def load(entry: str, version: int | None = None) -> keras.Model:
    """The trained Keras model of zoo entry `entry` (its latest version).

    Args:
        entry: str. One of `geomae_tf.zoo.ENTRIES`.
        version: int or None. A version folder; None takes the latest.

    Raises:
        ValueError: `entry` is not a zoo entry.
        FileNotFoundError: the entry has not been trained on this machine, or
            has no version `version` (the message lists those present).
    """
    folder = entry_dir(entry, version)
    config = entry_config(entry, version)
    factory = FACTORIES[config["factory"]]
    return factory(**config["model"], weights=str(folder / f"{entry}.weights.h5"))


__all__ = ["ENTRIES", "FACTORIES", "atomic_autoencoder", "available_entries",
           "disk_autoencoder", "entry_versions", "load", "pca_autoencoder", "plain_autoencoder",
           "position_decoder", "position_encoder", "vae", "with_preset"]
