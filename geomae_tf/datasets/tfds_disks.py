"""`geomae_disks`: the disk dataset as a tensorflow-datasets builder.

Generated locally from the same seeded generator as `geomae_tf.datasets.disks`
(nothing is downloaded), so `tfds.load("geomae_disks")` works offline once
`geomae_tf` is imported:

>>> import geomae_tf, tensorflow_datasets as tfds
>>> ds = tfds.load("geomae_disks", split="train")   # 3000 disks, radius U(0, 32)

Configs: `default` (3000 training, 1000 test disks) and `tiny` (6 and 4, for
tests). Each example holds the image (64, 64, 1) float32 in [0, 1] and its
radius.
"""

from __future__ import annotations

import dataclasses

import numpy as np

import tensorflow_datasets as tfds

from geomae_tf.datasets import disks


@dataclasses.dataclass
class DisksConfig(tfds.core.BuilderConfig):
    n_train: int = disks.N_TRAIN
    n_test: int = 1000
    seed: int = 0


class GeomaeDisks(tfds.core.GeneratorBasedBuilder):
    """Centred blurred disks of random radius (JMIV 2020, section 4.1)."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release: the package's default disks."}
    BUILDER_CONFIGS = [
        DisksConfig(name="default", description="3000 training and 1000 test disks."),
        DisksConfig(name="tiny", description="6 training and 4 test disks (tests).",
                    n_train=6, n_test=4),
    ]

    def _info(self):
        return self.dataset_info_from_configs(
            description=__doc__.splitlines()[0],
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Tensor(shape=(disks.IMAGE_SIZE, disks.IMAGE_SIZE, 1),
                                              dtype=np.float32),
                "radius": tfds.features.Scalar(dtype=np.float32),
            }),
            supervised_keys=("image", "image"),
            citation="Newson, Almansa, Gousseau, Ladjal. Processing simple geometric "
                     "attributes with autoencoders. JMIV 2020.",
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # generated locally, nothing to download
        config = self.builder_config
        return {
            "train": self._generate_examples(config.n_train, config.seed),
            "test": self._generate_examples(config.n_test, config.seed + 1),
        }

    def _generate_examples(self, n, seed):
        images, factors = disks.make_disks(n, seed=seed)
        for i in range(n):
            yield i, {"image": images[i], "radius": factors["radius"][i]}
