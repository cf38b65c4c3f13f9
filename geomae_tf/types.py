"""Type aliases of the public API's hints.

`Tensor` is a backend tensor (a `tf.Tensor`, a `jax.Array` or a
`torch.Tensor`, as `KERAS_BACKEND` decides) or anything `keras.ops` accepts;
`ArrayLike` is what numpy converts to an array; `PathLike` a file path.
"""

from __future__ import annotations

import os
from typing import Any, Union

from numpy.typing import ArrayLike

#: A backend tensor, or anything `keras.ops` converts (numpy arrays included).
Tensor = Any
#: A file or folder path.
PathLike = Union[str, os.PathLike]

__all__ = ["ArrayLike", "PathLike", "Tensor"]
