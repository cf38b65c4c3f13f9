"""`geomae train my.toml` on a folder of the user's PNGs: trained, evaluated
by reconstruction on the held-out split, exported and served; bad data stops
it before anything is written."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from geomae_tf import cli
from geomae_tf.datasets.images import ImageDataError
from geomae_tf.training.trainer import train

RECIPE = """
entry = "my_blobs"
factory = "atomic_autoencoder"
[model]
k = 3
d0 = 3
image_size = 32
[data]
dataset = "images"
path = "blobs"          # relative to this recipe
image_size = 32
validation_split = 0.125
[training]
epochs = 1
batch_size = 16
learning_rate = 1e-3
"""


def _blobs(folder, n=64, size=40, seed=0):
    """n PNGs of one to three Gaussian blobs (40 px: resized to 32 by the recipe)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    folder.mkdir(parents=True)
    for i in range(n):
        image = np.zeros((size, size))
        for _ in range(rng.integers(1, 4)):
            cy, cx = rng.uniform(8, size - 8, 2)
            image += rng.uniform(0.5, 1.0) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 18.0)
        Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8)).save(
            folder / f"{i:03d}.png")
    return folder


def test_train_export_and_serve_a_recipe_on_a_folder_of_pngs(tmp_path, capsys):
    import tensorflow as tf

    _blobs(tmp_path / "blobs")
    recipe = tmp_path / "my.toml"
    recipe.write_text(RECIPE)
    code = cli.main(["train", str(recipe), "--out-dir", str(tmp_path / "runs"),
                     "--saved-models", str(tmp_path / "saved_models"), "--verbose", "0"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "not published" in out and not (tmp_path / "saved_models").exists()
    run = tmp_path / "runs" / "my_blobs"
    results = __import__("json").loads((run / "results.json").read_text())
    metrics = results["metrics"]
    assert metrics["n_test"] == 8  # 12.5% of 64 held out, never trained on
    assert 0.0 < metrics["mse"] < 0.1
    assert metrics["psnr"] == pytest.approx(np.mean(10 * np.log10(1 / metrics["mse"])), abs=3)
    assert "val_loss" in (run / "history.csv").read_text()
    for figure in ("reconstruction", "decomposition", "navigation", "interpolation"):
        assert (run / "figures" / f"atomic_ae_{figure}.png").is_file()

    exported = Path(results["export"])
    loaded = tf.saved_model.load(str(exported))
    assert {"serving_default", "encode", "decode", "atoms"} <= set(loaded.signatures)
    x = np.asarray(Image.open(tmp_path / "blobs" / "000.png").resize((32, 32)),
                   np.float32)[None, :, :, None] / 255.0
    served = loaded.signatures["serving_default"](images=tf.constant(x))["reconstruction"]
    assert served.shape == (1, 32, 32, 1) and np.all(np.isfinite(served.numpy()))


def test_bad_images_stop_the_run_before_anything_is_written(tmp_path, capsys):
    folder = _blobs(tmp_path / "blobs", n=4)
    whole = (folder / "000.png").read_bytes()
    (folder / "001.png").write_bytes(whole[: len(whole) // 2])
    recipe = tmp_path / "my.toml"
    recipe.write_text(RECIPE)
    with pytest.raises(ImageDataError, match=r"blobs/001\.png: a corrupt or truncated"):
        train(recipe, out_dir=tmp_path / "runs", saved_models=tmp_path / "sm", verbose=0)
    assert cli.main(["train", str(recipe), "--out-dir", str(tmp_path / "runs")]) == 2
    assert "001.png: a corrupt or truncated image" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists() and not (tmp_path / "sm").exists()
    # A model that does not take the data's image size is refused before training too.
    recipe.write_text(RECIPE.replace("image_size = 32\nvalidation", "image_size = 16\n"
                                                                    "validation"))
    (folder / "001.png").write_bytes(whole)
    with pytest.raises(ValueError, match=r"inputs shaped \(16, 16, 1\) but the \[model\] "
                                         r"takes \(32, 32, 1\)"):
        train(recipe, out_dir=tmp_path / "runs", verbose=0)
    assert not (tmp_path / "runs").exists()


def test_an_entry_outside_the_zoo_needs_no_family(tmp_path):
    from tests.core.recipes import write_tiny

    recipe = write_tiny(tmp_path / "mine.toml", n_train=30, epochs=1)
    text = recipe.read_text().replace('entry = "disk_ae"', 'entry = "my_disks"')
    recipe.write_text(text[:text.index("[evaluation]")])  # no [evaluation] section
    _, results = train(recipe, out_dir=tmp_path / "runs", export=False, verbose=0)
    metrics = results["metrics"]
    assert metrics["n_test"] == 30  # a fresh draw of the recipe's 30 disks (seed + 1)
    assert 0.0 < metrics["mse"] < 1.0 and metrics["psnr"] > 0.0
    assert (tmp_path / "runs" / "my_disks" / "figures" / "disk_ae_reconstruction.png").is_file()
