"""geomae_tf: geometric autoencoders in Keras 3 / TensorFlow.

Autoencoders whose latent space can be understood, navigated and trusted:
size and position (Newson et al., JMIV 2020), the PCA-like autoencoder
(Ladjal, Newson, Pham) and the atomic autoencoder (Newson, Traonmilin 2023).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

from geomae_tf import datasets, models, validation, zoo  # noqa: E402

__all__ = ["datasets", "models", "validation", "zoo", "__version__"]
