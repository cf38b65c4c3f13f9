"""The small PNGs of `docs/figures/`, shown in the README and the model cards.

`DOC_FIGURES` lists them as data (file, the entries whose cards show it, a
caption); `write_docs_figures` draws them all from the trained entries
(`geomae figures --docs`, a few minutes on 2 CPU cores). Most are the families'
own figures (`geomae figures ENTRY`); three compare or combine: the Airy
profile of the bias-free disk decoder (JMIV 2020, appendix B, Figure 12), the
hole with and without encoder weight decay (JMIV 2020, Figures 6-7), and
spikes decomposed beside 3x3 local maxima.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from geomae_tf import zoo
from geomae_tf.analysis import airy, disk, report, spike_baselines
from geomae_tf.analysis.plotting import pyplot, save_figure
from geomae_tf.datasets import spikes
from geomae_tf.models.atomic.inference import ACTIVE_THRESHOLD, locate_atoms
from geomae_tf.zoo.weights import checkout_root

if TYPE_CHECKING:
    from geomae_tf.models.atomic.atomic_model import AtomicAutoencoder
    from geomae_tf.types import PathLike

#: Largest size of a PNG in docs/figures (bytes): the repository stays small.
MAX_BYTES = 150_000
#: Resolution of the figures drawn here.
DPI = 90

#: The figures: `file` (under docs/figures/), `entries` (whose cards show it, the
#: first drawing it), `caption`; `source` is the file an entry's own figures write
#: (`geomae figures ENTRY`), absent for the figures drawn here.
DOC_FIGURES = [
    {"file": "disk_ae_code_vs_radius.png", "entries": ["disk_ae"],
     "source": "disk_ae/disk_ae_code_vs_radius.png",
     "caption": "The code of 400 fresh disks against their radius: one number, affine in "
                "the area (JMIV 2020, Figure 3)."},
    {"file": "disk_ae_nobias_airy_profile.png", "entries": ["disk_ae_nobias"],
     "caption": "The bias-free decoder's radial profile f beside the Airy closed form and "
                "the optimum on the pixel grid (JMIV 2020, appendix B, Figure 12)."},
    {"file": "disk_hole_mse.png", "entries": ["disk_ae_hole", "disk_ae_hole_encreg"],
     "caption": "Reconstruction error against the radius: without regularisation the "
                "error jumps in the hole of radii never seen (11-18 px, shaded); weight "
                "decay on the encoder lowers that peak about fourfold (JMIV 2020, "
                "sections 4.4-4.4.1, Figures 6-7)."},
    {"file": "disk_hole.png", "entries": ["disk_ae_hole", "disk_ae_hole_encreg"],
     "caption": "Disks of radii seen (green) and never seen (red, 11-18 px) in training, "
                "through disk_ae_hole (no regularisation) and disk_ae_hole_encreg "
                "(weight decay on the encoder) (JMIV 2020, Figures 6-7)."},
    {"file": "position_encoder_1d_kernels.png", "entries": ["position_encoder_1d"],
     "source": "position_encoder_1d/position_encoder_1d_kernels.png",
     "caption": "Each layer's learned kernel, scaled to match [1, 2, 1] best (JMIV 2020, "
                "section 5.3, Figure 9)."},
    {"file": "position_decoder_1d_outputs.png", "entries": ["position_decoder_1d"],
     "source": "position_decoder_1d/position_decoder_1d_outputs.png",
     "caption": "Signals decoded from increasing positions z, one row each: the decoded "
                "peak (red) follows z (JMIV 2020, section 5.4, Figure 10)."},
    {"file": "pca_ae_ellipses_navigation.png", "entries": ["pca_ae_ellipses"],
     "source": "pca_ae_ellipses/pca_ae_ellipses_navigation.png",
     "caption": "Each PCA-AE axis moved alone, the others at 0: z1 the area, z2 and z3 "
                "the elongation along two directions."},
    {"file": "spikes_vs_local_maxima.png",
     "entries": ["atomic_spikes_refined", "atomic_spikes"],
     "caption": "Fresh spike images: the true centres (+), 3x3 local maxima (x), the "
                "centres of atomic_spikes_refined's refined atoms (o), and those atoms, "
                "one colour each."},
    {"file": "atomic_spikes_decomposition.png", "entries": ["atomic_spikes"],
     "source": "atomic_spikes/atomic_spikes_decomposition.png",
     "caption": "The paper's Figure 5 on atomic_spikes: input (true centres +), output "
                "and the 10 atoms g(z_i) of the encoder's code."},
    {"file": "atomic_spikes_refined_decomposition_refined.png",
     "entries": ["atomic_spikes_refined"],
     "source": "atomic_spikes_refined/atomic_spikes_refined_decomposition_refined.png",
     "caption": "The same images decomposed by atomic_spikes_refined, its code refined "
                "through the fixed decoder: one atom per spike."},
    {"file": "atomic_strokes_decomposition_refined.png", "entries": ["atomic_strokes"],
     "source": "atomic_strokes/atomic_strokes_decomposition_refined.png",
     "caption": "Pen strokes decomposed by atomic_strokes (code refined, atoms merged and "
                "dropped): one atom per stroke."},
    {"file": "atomic_mnist_reconstruction.png", "entries": ["atomic_mnist"],
     "source": "atomic_mnist/atomic_mnist_reconstruction.png",
     "caption": "Test digits (odd rows) and their reconstructions (even rows) at 128 x 128, "
                "blurred at this training budget (Newson & Traonmilin 2023, Figure 2)."},
    {"file": "atomic_mnist_decomposition.png", "entries": ["atomic_mnist"],
     "source": "atomic_mnist/atomic_mnist_decomposition.png",
     "caption": "Test digits broken into 10 atoms (Newson & Traonmilin 2023, Figure 3): "
                "pieces of strokes and diffuse patches at this training budget."},
    {"file": "atomic_mnist_interpolation.png", "entries": ["atomic_mnist"],
     "source": "atomic_mnist/atomic_mnist_interpolation.png",
     "caption": "Decoding (1 - t) E(a) + t E(b) between two test digits (Newson & "
                "Traonmilin 2023, Figure 4)."},
    {"file": "atomic_mnist_k16_d6_reconstruction.png", "entries": ["atomic_mnist_k16_d6"],
     "source": "atomic_mnist_k16_d6/atomic_mnist_k16_d6_reconstruction.png",
     "caption": "Test digits (odd rows) and their reconstructions (even rows) by "
                "atomic_mnist_k16_d6, 22.0 dB on the 500 test digits (Newson & "
                "Traonmilin 2023, Figure 2)."},
    {"file": "atomic_mnist_k16_d6_decomposition.png", "entries": ["atomic_mnist_k16_d6"],
     "source": "atomic_mnist_k16_d6/atomic_mnist_k16_d6_decomposition.png",
     "caption": "Test digits broken into 16 atoms by atomic_mnist_k16_d6 (Newson & "
                "Traonmilin 2023, Figure 3): mostly connected pieces of strokes, about 13 "
                "of them active per digit."},
    {"file": "atomic_mnist_k16_d6_interpolation.png", "entries": ["atomic_mnist_k16_d6"],
     "source": "atomic_mnist_k16_d6/atomic_mnist_k16_d6_interpolation.png",
     "caption": "Decoding (1 - t) E(a) + t E(b) between two test digits with "
                "atomic_mnist_k16_d6 (Newson & Traonmilin 2023, Figure 4)."},
    {"file": "atomic_mnist_strokes_first_reconstruction.png",
     "entries": ["atomic_mnist_strokes_first"],
     "source": "atomic_mnist_strokes_first/atomic_mnist_strokes_first_reconstruction.png",
     "caption": "Test digits (odd rows) and their reconstructions (even rows) by "
                "atomic_mnist_strokes_first's encoder and decoder, 21.3 dB on the 500 test "
                "digits (Newson & Traonmilin 2023, Figure 2)."},
    {"file": "atomic_mnist_strokes_first_decomposition.png",
     "entries": ["atomic_mnist_strokes_first"],
     "source": "atomic_mnist_strokes_first/atomic_mnist_strokes_first_decomposition.png",
     "caption": "Test digits broken into 16 atoms by atomic_mnist_strokes_first's encoder "
                "alone (Newson & Traonmilin 2023, Figure 3): each atom one short piece of "
                "stroke, about 9.5 of them active per digit, the other blocks off."},
    {"file": "atomic_mnist_strokes_first_decomposition_refined.png",
     "entries": ["atomic_mnist_strokes_first"],
     "source": "atomic_mnist_strokes_first/"
               "atomic_mnist_strokes_first_decomposition_refined.png",
     "caption": "The same digits through atomic_mnist_strokes_first's answer (`atoms`: the "
                "code refined through the fixed decoder, atoms the others stand in for "
                "dropped): 6.8 active atoms per digit, each one piece, 24.0 dB (Newson & "
                "Traonmilin 2023, Figure 3)."},
    {"file": "atomic_mnist_strokes_first_interpolation.png",
     "entries": ["atomic_mnist_strokes_first"],
     "source": "atomic_mnist_strokes_first/atomic_mnist_strokes_first_interpolation.png",
     "caption": "Decoding (1 - t) E(a) + t E(b) between two test digits with "
                "atomic_mnist_strokes_first (Newson & Traonmilin 2023, Figure 4)."},
]


def figures_of(entry: str) -> list[dict]:
    """The `DOC_FIGURES` that the card of `entry` shows."""
    return [f for f in DOC_FIGURES if entry in f["entries"]]


def _airy_profile(out_dir):
    comparison = airy.compare_with_network(zoo.load("disk_ae_nobias"))
    return airy.figures(comparison, out_dir, name="disk_ae_nobias")[0]


def _hole(path):
    models = {"disk_ae_hole": zoo.load("disk_ae_hole"),
              "disk_ae_hole_encreg": zoo.load("disk_ae_hole_encreg")}
    radii = [6.0, 9.0, 12.0, 14.5, 17.0, 20.0, 26.0]
    return disk.pairs_figure(models, radii, lambda r: not 11.0 <= r <= 18.0, path,
                             title="The hole (radii 11-18 px)")


def _hole_mse(path):
    plt = pyplot()
    radii = np.linspace(2.0, 30.0, 57)
    fig, ax = plt.subplots(figsize=(5.2, 3.2))
    ax.axvspan(11.0, 18.0, color="red", alpha=0.12, lw=0, label="radii never seen")
    for entry, style in (("disk_ae_hole", "k.-"), ("disk_ae_hole_encreg", "b.-")):
        errors = disk.per_radius_errors(zoo.load(entry), radii)["per_image"]
        ax.semilogy(radii, errors, style, ms=3, lw=1, label=entry)
    ax.set_xlabel("radius (px)")
    ax.set_ylabel("MSE per pixel")
    ax.set_title("The hole: error against the radius", fontsize=10)
    ax.legend(fontsize=8)
    return save_figure(fig, path, dpi=DPI)


def spikes_vs_maxima_figure(model: AtomicAutoencoder, path: PathLike, n_images: int = 3,
                            seed: int = 7, refine: bool | dict[str, Any] | None = None) -> Path:
    """Spikes found by 3x3 local maxima beside an atomic model's atoms.

    One row per fresh spike image: the image with its true centres (+) and
    the local maxima (x); the same with the centres of the active atoms (o);
    the active atoms, one colour each.

    Args:
        model: an `AtomicAutoencoder` trained on spikes.
        path: where to save the PNG.
        n_images: int. Images shown. Defaults to 3.
        seed: int. Seed of the images. Defaults to 7.
        refine: the `refine` argument of `model.atoms` (None: the model's own).

    Returns:
        The path written.
    """
    plt = pyplot()
    images, truth = spikes.make_spikes(n_images, seed=seed, image_size=model.image_shape[0])
    atoms = model.atoms(images, **({} if refine is None else {"refine": refine}))[..., 0]
    centres, peaks = locate_atoms(atoms)
    cmap = plt.get_cmap("tab10")
    fig, axes = plt.subplots(n_images, 3, figsize=(6.6, 2.2 * n_images), squeeze=False)
    for r in range(n_images):
        true = truth["positions"][r, :truth["count"][r]]
        found = spike_baselines.local_maxima(images[r])
        active = peaks[r] > ACTIVE_THRESHOLD
        for ax in axes[r, :2]:
            ax.imshow(images[r, ..., 0], cmap="gray", vmin=0, vmax=1)
            ax.plot(true[:, 1], true[:, 0], "r+", ms=7, mew=1.2)
        axes[r, 0].plot(found[:, 1], found[:, 0], "x", color="cyan", ms=8, mew=1.5)
        c = centres[r][active]
        axes[r, 1].plot(c[:, 1], c[:, 0], "o", mfc="none", color="yellow", ms=7)
        colour = np.zeros(images.shape[1:3] + (3,))
        for i in np.flatnonzero(active):
            weight = np.clip(atoms[r, i] / max(peaks[r, i], 1e-6), 0, 1)[..., None]
            colour = np.maximum(colour, weight * np.asarray(cmap(i % 10)[:3]))
        axes[r, 2].imshow(colour)
        for ax in axes[r]:
            ax.set_xticks([])
            ax.set_yticks([])
        count = int(truth["count"][r])
        axes[r, 0].set_ylabel(f"{count} spike{'s' if count != 1 else ''}", fontsize=8)
    axes[0, 0].set_title("true (+), 3x3 local maxima (x)", fontsize=8)
    axes[0, 1].set_title("true (+), atoms' centres (o)", fontsize=8)
    axes[0, 2].set_title(f"{model.name}'s atoms", fontsize=8)
    return save_figure(fig, path, dpi=DPI)


def write_docs_figures(out_dir: PathLike | None = None) -> list[Path]:
    """Draws every figure of `DOC_FIGURES` into `out_dir`; returns the paths.

    Args:
        out_dir: path or None. Defaults to `docs/figures` of this checkout.

    Raises:
        ValueError: a figure came out larger than `MAX_BYTES`.
    """
    out_dir = Path(out_dir) if out_dir is not None else checkout_root() / "docs" / "figures"
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        entries = {f["source"].split("/")[0] for f in DOC_FIGURES if "source" in f}
        for entry in sorted(entries):
            report.entry_figures(entry, tmp)
        drawn = {"disk_ae_nobias_airy_profile.png": _airy_profile(tmp / "airy"),
                 "disk_hole.png": _hole(tmp / "disk_hole.png"),
                 "disk_hole_mse.png": _hole_mse(tmp / "disk_hole_mse.png"),
                 "spikes_vs_local_maxima.png": spikes_vs_maxima_figure(
                     _named(zoo.load("atomic_spikes_refined"), "atomic_spikes_refined"),
                     tmp / "spikes_vs_local_maxima.png",
                     refine=zoo.ENTRIES["atomic_spikes_refined"]["figures"]["refine"])}
        for figure in DOC_FIGURES:
            source = tmp / figure["source"] if "source" in figure else drawn[figure["file"]]
            target = out_dir / figure["file"]
            shutil.copyfile(source, target)
            if target.stat().st_size > MAX_BYTES:
                raise ValueError(f"{target} is {target.stat().st_size} bytes, above "
                                 f"{MAX_BYTES}: draw it smaller")
            paths.append(target)
    return paths


def _named(model, name):
    model.name = name
    return model
