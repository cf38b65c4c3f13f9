"""The diracs dataset: one-hot and triangular Diracs (JMIV 2020, section 5, eq. 19)."""

import numpy as np
import pytest

from geomae_tf.datasets import DATASETS, diracs


def test_registered():
    assert DATASETS["diracs"] is diracs


def test_triangular_dirac_is_eq19_and_onehot_at_integers():
    positions = np.array([0.0, 5.0, 7.25, 62.5, 63.0])
    signals = diracs.triangular_diracs(positions)
    assert signals.shape == (5, 64, 1) and signals.dtype == np.float32
    t = np.arange(64)
    np.testing.assert_allclose(signals[..., 0],
                               np.maximum(0, 1 - np.abs(t[None] - positions[:, None])))
    np.testing.assert_array_equal(signals[1, :, 0], np.eye(64)[5])
    # mass 1 and centre of mass at the position, for every position in [0, 63]
    np.testing.assert_allclose(signals[..., 0].sum(1), 1.0, atol=1e-6)
    np.testing.assert_allclose((signals[..., 0] * t).sum(1), positions, atol=1e-5)


def test_tf_renderer_matches_numpy():
    positions = np.random.default_rng(0).uniform(0, 63, 50).astype("float32")
    np.testing.assert_allclose(diracs.render_diracs(positions).numpy(),
                               diracs.triangular_diracs(positions), atol=1e-6)


def test_make_diracs_modes_and_seeding():
    onehot, factors = diracs.make_diracs(200, seed=3, mode="onehot")
    assert onehot.shape == (200, 64, 1)
    positions = factors["position"]
    np.testing.assert_array_equal(positions, np.round(positions))
    np.testing.assert_array_equal(onehot[..., 0].argmax(1), positions)
    np.testing.assert_array_equal(onehot.sum((1, 2)), 1.0)
    continuous, factors = diracs.make_diracs(200, seed=3, mode="continuous", length=32)
    assert continuous.shape == (200, 32, 1)
    assert 0 <= factors["position"].min() and factors["position"].max() <= 31
    assert np.mean(factors["position"] != np.round(factors["position"])) > 0.99
    again, _ = diracs.make_diracs(200, seed=3, mode="continuous", length=32)
    np.testing.assert_array_equal(again, continuous)


@pytest.mark.parametrize("task", ["encode", "decode", "autoencode"])
def test_training_dataset_pairs(task):
    ds = diracs.training_dataset(batch_size=16, mode="continuous", task=task, n_train=64,
                                 seed=1)
    x, y = next(iter(ds))
    x, y = x.numpy(), y.numpy()
    if task == "encode":
        assert x.shape == (16, 64, 1) and y.shape == (16, 1)
        np.testing.assert_allclose((x[..., 0] * np.arange(64)).sum(1), y[:, 0], atol=1e-4)
    elif task == "decode":
        assert x.shape == (16, 1) and y.shape == (16, 64, 1)
        np.testing.assert_allclose(y, diracs.triangular_diracs(x[:, 0]), atol=1e-6)
    else:
        np.testing.assert_array_equal(x, y)


def test_onehot_epoch_is_balanced_over_positions():
    ds = diracs.training_dataset(batch_size=50, mode="onehot", task="encode", n_train=256)
    positions = np.concatenate([y.numpy()[:, 0] for _, y in ds])
    assert len(positions) == 256
    np.testing.assert_array_equal(np.bincount(positions.astype(int), minlength=64), 4)


def test_stream_gives_fresh_continuous_positions():
    ds = diracs.training_dataset(batch_size=8, mode="continuous", task="decode", stream=True)
    batches = [x.numpy()[:, 0] for x, _ in ds.take(3)]
    assert len({tuple(b) for b in batches}) == 3
    assert all(((b >= 0) & (b <= 63)).all() for b in batches)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="mode"):
        diracs.training_dataset(mode="gaussian")
    with pytest.raises(ValueError, match="task"):
        diracs.training_dataset(task="classify")
    with pytest.raises(ValueError, match="stream"):
        diracs.training_dataset(mode="onehot", stream=True)
    with pytest.raises(ValueError, match="positions"):
        diracs.triangular_diracs([70.0])
    with pytest.raises(ValueError, match="length"):
        diracs.make_diracs(4, length=1)
