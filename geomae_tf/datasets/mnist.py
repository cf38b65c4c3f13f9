"""MNIST digits upscaled to 128 x 128: the stroke experiment of Newson and
Traonmilin 2023, section 3 (Figures 2-4).

The paper downscales a 500 x 500 high-resolution MNIST to 128 x 128; here the
28 x 28 digits of tensorflow-datasets' "mnist" are upscaled (bilinear) to
`image_size`, as floats in [0, 1] shaped (N, H, W, 1).

Running it for real: tensorflow-datasets downloads MNIST (about 11 MB) into
`~/tensorflow_datasets` (or `data_dir`) the first time, which needs network
access::

    python -c "import tensorflow_datasets as tfds; tfds.load('mnist', split='train')"

On a machine without network, copy a prepared `~/tensorflow_datasets/mnist/`
folder from one that has it and pass `data_dir` (or keep the default). The
module imports tensorflow-datasets only when used.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from geomae_tf import validation

IMAGE_SIZE = 128
SHUFFLE_BUFFER = 10_000


def _load(split, data_dir, download):
    import tensorflow_datasets as tfds

    return tfds.load("mnist", split=split, data_dir=data_dir, download=download,
                     shuffle_files=False)


def _preprocess(image_size):
    def fn(example):
        image = tf.cast(example["image"], tf.float32) / 255.0
        image = tf.image.resize(image, (image_size, image_size), method="bilinear")
        return tf.clip_by_value(image, 0.0, 1.0), example["label"]
    return fn


def make_mnist(n, seed=0, split="test", image_size=IMAGE_SIZE, data_dir=None, download=True):
    """`n` MNIST digits (seeded choice from `split`) with their labels.

    Args:
        n: int. Number of images (at most the split's size).
        seed: int. Seed of the choice.
        split: str. A tfds split, e.g. "test" or "train[:1000]".
        image_size: int. Side after upscaling. Defaults to 128.
        data_dir: str or None. tensorflow-datasets' data folder.
        download: bool. Download MNIST if it is not in `data_dir`.

    Returns:
        (images (n, H, W, 1) float32 in [0, 1], {"label": (n,) int}).
    """
    n = validation.check_int("n", n, minimum=1)
    seed = validation.check_int("seed", seed, minimum=0)
    image_size = validation.check_int("image_size", image_size, minimum=4)
    ds = _load(split, data_dir, download).shuffle(SHUFFLE_BUFFER, seed=seed).take(n)
    ds = ds.map(_preprocess(image_size)).batch(n)
    images, labels = next(iter(ds))
    return images.numpy(), {"label": labels.numpy().astype(np.int32)}


def training_dataset(batch_size=64, mode="fixed", seed=0, n_train=None, image_size=IMAGE_SIZE,
                     split="train", data_dir=None, download=True):
    """The `tf.data` pipeline of (images, images) batches for `model.fit`.

    Args:
        batch_size: int. Defaults to 64.
        mode: "fixed" (one pass over the split per epoch, reshuffled) or
            "stream" (the split repeated forever: set `steps_per_epoch`).
        seed: int. Seed of the shuffling.
        n_train: int or None. Use only the first `n_train` images of the split.
        image_size: int. Side after upscaling. Defaults to 128.
        split: str. A tfds split. Defaults to "train".
        data_dir: str or None. tensorflow-datasets' data folder.
        download: bool. Download MNIST if needed (needs network access).

    Returns:
        A `tf.data.Dataset` of `(images, images)`.
    """
    batch_size = validation.check_int("batch_size", batch_size, minimum=1)
    validation.check_choice("mode", mode, {"fixed", "stream"})
    seed = validation.check_int("seed", seed, minimum=0)
    image_size = validation.check_int("image_size", image_size, minimum=4)
    ds = _load(split, data_dir, download)
    if n_train is not None:
        ds = ds.take(validation.check_int("n_train", n_train, minimum=1))
    ds = ds.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    if mode == "stream":
        ds = ds.repeat()
    preprocess = _preprocess(image_size)

    def pairs(examples):
        images = preprocess(examples)[0]
        return images, images

    return (ds.batch(batch_size).map(pairs, num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(tf.data.AUTOTUNE))
