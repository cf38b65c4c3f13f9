"""The `geomae_disks` tensorflow-datasets builder, generated locally."""

import tensorflow_datasets as tfds

from geomae_tf.datasets import tfds_disks


class GeomaeDisksTest(tfds.testing.DatasetBuilderTestCase):
    DATASET_CLASS = tfds_disks.GeomaeDisks
    BUILDER_CONFIG_NAMES_TO_TEST = ["tiny"]
    SPLITS = {"train": 6, "test": 4}
    EXAMPLE_DIR = str(__import__("pathlib").Path(__file__).parent)
    SKIP_CHECKSUMS = True


def test_tfds_load_generates_locally(tmp_path):
    ds = tfds.load("geomae_disks/tiny", split="train", data_dir=str(tmp_path))
    examples = list(ds.as_numpy_iterator())
    assert len(examples) == 6
    for ex in examples:
        assert ex["image"].shape == (64, 64, 1)
        # the blurred disk's mass is its area
        assert abs(ex["image"].sum() - 3.14159 * ex["radius"] ** 2) < 0.02 * ex["radius"] ** 2 + 1
