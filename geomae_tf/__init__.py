"""geomae_tf: geometric autoencoders in Keras 3 / TensorFlow.

Autoencoders whose latent space can be understood, navigated and trusted:
size and position (Newson et al., JMIV 2020), the PCA-like autoencoder
(Ladjal, Newson, Pham) and the atomic autoencoder (Newson, Traonmilin 2023).

`import geomae_tf` imports Keras and registers every layer and model class
of the package (`geomae_tf.layers`, `geomae_tf.models`), so that a model
saved with `model.save("mine.keras")` loads in a fresh process with
`keras.saving.load_model("mine.keras")`; the other subpackages are imported
on first use:

>>> import geomae_tf
>>> ae = geomae_tf.zoo.disk_autoencoder(weights="disk_ae")
"""

import importlib
import os
import pkgutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.11.0"


def _register_serializable():
    """Imports every module of `geomae_tf.layers` and `geomae_tf.models`: their
    classes register themselves with Keras (`register_keras_serializable`)."""
    for package in ("geomae_tf.layers", "geomae_tf.models"):
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, prefix=package + "."):
            importlib.import_module(info.name)


from geomae_tf import logs as _logs  # noqa: E402  (standard library only)

with _logs.filtered_stderr():  # TensorFlow's start-up notes held back, real warnings kept
    _register_serializable()

_SUBPACKAGES = ("analysis", "datasets", "export", "layers", "metrics", "models", "training",
                "validation", "zoo")


def __getattr__(name):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"geomae_tf.{name}")
    raise AttributeError(f"module 'geomae_tf' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBPACKAGES))


__all__ = list(_SUBPACKAGES) + ["__version__"]
