"""MNIST upscaled to 128 x 128 (tested with tfds' mock data: no download here)."""

import numpy as np
import pytest

tfds = pytest.importorskip("tensorflow_datasets")
pytest.importorskip("dill")

from geomae_tf import datasets  # noqa: E402
from geomae_tf.datasets import mnist  # noqa: E402


def test_registered():
    assert datasets.DATASETS["mnist"] is mnist


def test_upscaled_images_in_unit_range():
    with tfds.testing.mock_data(num_examples=12):
        images, factors = mnist.make_mnist(6, seed=1)
        native, _ = mnist.make_mnist(6, seed=1, image_size=28)
    assert images.shape == (6, 128, 128, 1) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert factors["label"].shape == (6,) and set(factors["label"]) <= set(range(10))
    # At 28 px nothing is resampled: the pixels are the uint8 values / 255.
    np.testing.assert_allclose(native * 255.0, np.rint(native * 255.0), atol=1e-3)
    # Bilinear upscaling keeps the mean intensity.
    np.testing.assert_allclose(images.mean(axis=(1, 2, 3)), native.mean(axis=(1, 2, 3)),
                               rtol=0.05)


def test_training_pipeline():
    with tfds.testing.mock_data(num_examples=10):
        fixed = mnist.training_dataset(batch_size=4, image_size=64)
        shapes = [tuple(x.shape) for x, _ in fixed]
        x, y = next(iter(mnist.training_dataset(batch_size=4, mode="stream")))
    assert shapes == [(4, 64, 64, 1), (4, 64, 64, 1), (2, 64, 64, 1)]
    assert x.shape == (4, 128, 128, 1)
    np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_bad_mode_raises():
    with pytest.raises(ValueError, match=r"`mode` must be one of"):
        mnist.training_dataset(mode="all")
