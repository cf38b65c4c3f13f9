"""geomae_tf: geometric autoencoders in Keras 3 / TensorFlow.

Autoencoders whose latent space can be understood, navigated and trusted:
size and position (Newson et al., JMIV 2020), the PCA-like autoencoder
(Ladjal, Newson, Pham) and the atomic autoencoder (Newson, Traonmilin 2023).

Subpackages are imported on first use, so that `geomae_tf.metrics` (numpy and
scikit-learn only) does not pay for TensorFlow:

>>> import geomae_tf
>>> ae = geomae_tf.zoo.disk_autoencoder(weights="disk_ae")
"""

import importlib
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

_SUBPACKAGES = ("analysis", "datasets", "export", "layers", "metrics", "models", "training",
                "validation", "zoo")


def __getattr__(name):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"geomae_tf.{name}")
    raise AttributeError(f"module 'geomae_tf' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBPACKAGES))


__all__ = list(_SUBPACKAGES) + ["__version__"]
