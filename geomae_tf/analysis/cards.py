"""Model cards of the zoo's entries (`docs/zoo/<entry>.md`).

A card is generated, never edited by hand, from three sources:

- the entry's preset (`geomae_tf.zoo.presets.ENTRIES`): paper and section,
  description, the claims it is checked against, known limitations;
- its recipe (`zoo/<entry>.toml`): the training data and schedule;
- its recorded results (`zoo/<entry>.results.json`), written by `geomae train`
  after evaluating the trained model on held-out data (freshly generated, or
  the test split of real data).

Cards do not re-run evaluations: they report the recorded results, so they are
deterministic and a test can check they are in step with the results files.
`geomae evaluate --cards` rewrites them. An entry listed in the presets without
a results file gets a short "not yet trained" card.

The fields follow model hubs' cards (a YAML front matter with `license`,
`datasets`, `metrics`, `tags`; then model details, training data, evaluation,
intended use, limitations, licence, citation).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import h5py

from geomae_tf import io
from geomae_tf.analysis.claims import check_claims
from geomae_tf.analysis.docs_figures import figures_of
from geomae_tf.zoo.presets import ENTRIES, INTENDED_USE
from geomae_tf.zoo.weights import checkout_root

#: What each synthetic dataset is (the recipes' `[data] dataset`).
DATASETS = {
    "disks": "centred disks, 64x64, radius U(0, 32) px, Gaussian blur sigma 1 px "
             "(`geomae_tf.datasets.disks`)",
    "ellipses": "centred filled ellipses, 64x64, semi-axes U(2, 32) px, rotation "
                "U(0, 90) degrees, blur sigma 0.5 px (`geomae_tf.datasets.ellipses`)",
    "diracs": "1-D Diracs of length 64: one-hot vectors, or triangular Diracs at "
              "continuous positions (`geomae_tf.datasets.diracs`)",
    "spikes": "64x64 sums of 1-10 Gaussian spikes, sigma 2 px, amplitude U(0.5, 1), "
              "off-grid positions (`geomae_tf.datasets.spikes`)",
    "strokes": "64x64 sums of quadratic Bezier strokes drawn with a Gaussian pen, "
               "sigma 1 px (`geomae_tf.datasets.strokes`)",
    "mnist": "MNIST digits upscaled to 128x128 (`geomae_tf.datasets.mnist`; MNIST is "
             "CC BY-SA 3.0)",
    "images": "the user's own images (`geomae_tf.datasets.images`)",
}

#: The papers an entry's `paper` field may start with, and how to cite them.
CITATIONS = {
    "JMIV 2020": "A. Newson, A. Almansa, Y. Gousseau, S. Ladjal. Processing Simple "
                 "Geometric Attributes with Autoencoders. Journal of Mathematical Imaging "
                 "and Vision 62(3):293-312, 2020. doi:10.1007/s10851-019-00924-w",
    "Ladjal": "S. Ladjal, A. Newson, C.-H. Pham. A PCA-like Autoencoder. arXiv:1904.01277, "
              "2019",
    "Newson and Traonmilin": "A. Newson, Y. Traonmilin. Disentangled latent "
                             "representations of images with atomic autoencoders. "
                             "2023. hal-03962759",
}

_SYNTHETIC = {"disks", "ellipses", "diracs", "spikes", "strokes"}

#: What each recorded metric means (the cards' "meaning" column, the README's glossary).
#: A `refined_` prefix means the same measure on the code refined through the fixed
#: decoder (`ae.atoms(images, refine=...)`).
GLOSSARY = {
    "mse": "mean squared error per pixel, grey levels in [0, 1]",
    "bce": "binary cross-entropy per pixel",
    "psnr": "peak signal-to-noise ratio of the reconstruction, dB",
    "spearman": "rank correlation of the code with the radius",
    "abs_spearman": "|rank correlation| of the code with the radius (1: monotone)",
    "r2_vs_radius": "r2 of the best affine fit of the code in the radius",
    "r2_vs_area": "r2 of the best affine fit of the code in the area (pi r^2)",
    "mse_hole": "MSE on disks of the radii never seen in training (11-18 px)",
    "mse_observed": "MSE on disks of the radii seen in training",
    "hole_over_observed": "mse_hole / mse_observed",
    "mse_small": "MSE on radii 1-11 px", "mse_middle": "MSE on radii 11-18 px",
    "mse_large": "MSE on radii 18-31 px",
    "corr_learned_airy": "correlation of the decoder's learned radial profile f with "
                         "the Airy optimum (JMIV 2020, appendix B)",
    "corr_learned_discrete": "the same with the exact optimum on the pixel grid",
    "corr_airy_discrete": "Airy closed form against the optimum on the grid",
    "cosine_learned_airy_2d": "cosine of the learned 2-D profile with the Airy one",
    "cosine_learned_discrete_2d": "cosine of the learned 2-D profile with the grid optimum",
    "r2_z_vs_inner": "r2 of the code z against <f, 1_Br> (JMIV 2020, Figure 11)",
    "r2_z_vs_inner_origin": "the same, fit through the origin",
    "fraction_dominant_sign": "share of the test disks whose code has the dominant sign",
    "output_spread": "largest distance of a normalised output to their mean (0: one "
                     "profile, scaled)",
    "min_abs_cosine": "smallest |cosine| of a layer's kernel with [1, 2, 1]",
    "abs_corr": "|correlation| of the output with the position",
    "corr": "correlation of the output with the position",
    "slope": "slope of the affine fit of the output in the position",
    "intercept": "intercept of that fit",
    "fit_rmse": "RMS error of that fit, samples",
    "position_rmse": "RMS position error (px, or samples for 1-D signals)",
    "continuous_abs_corr": "|correlation| with the position for triangular Diracs at "
                           "continuous positions",
    "continuous_fit_rmse": "RMS error of that fit, samples",
    "cosine_goal": "the zoo's bound on min_abs_cosine", "corr_goal": "the zoo's bound on abs_corr",
    "distinct_outputs": "distinct outputs over the 64 positions",
    "peak_rmse": "RMS error of the decoded peak's position (centroid), samples",
    "peak_rmse_parabolic": "the same, peak located by a parabola",
    "peak_rmse_integer": "the same, peak at the largest sample",
    "peak_max_error": "largest peak position error, samples",
    "outliers": "positions decoded more than 1 sample off",
    "signal_mse": "MSE of the decoded signal",
    "rmse_goal": "the zoo's bound on peak_rmse",
    "latent_abs_corr_max": "largest |correlation| between two latent axes",
    "ratio_axis_first": "the larger Pearson |corr| of axes 2-3 with the elongation "
                        "ratios (h/v, diagonal), axes matched to ratios",
    "ratio_axis_second": "the other matched entry",
    "worst_off_diagonal": "largest |corr| of an axis with an attribute it is not "
                          "matched to",
    "ideal_worst_off_diagonal": "the same for the exact codes (area, log-ratios)",
    "recall": "share of the true spikes matched by an active atom within 2 px",
    "precision": "share of the active atoms that match a true spike",
    "f1": "harmonic mean of recall and precision",
    "amplitude_error": "mean |a - a_true| / a_true over the matched spikes",
    "amplitude_bias": "mean relative error of the matched amplitudes (signed)",
    "one_spike_share": "share of the active atoms whose half-maximum region holds exactly one true spike",
    "active_per_spike": "active atoms per true spike",
    "position_rmse_pixel": "RMS position error of the atoms' brightest pixels, px",
    "n_true": "true spikes", "n_active": "active atoms", "n_matched": "matched pairs",
    "threshold": "an atom is active when its peak exceeds this",
    "gate": "matching distance, px",
    "stroke_recall": "share of the true strokes matched one to one by an active atom "
                     "(cosine >= 0.8)",
    "atom_precision": "share of the active atoms that match a stroke",
    "stroke_match_rate": "share of the strokes that some atom matches",
    "output_match_rate": "share of the images whose whole output has cosine >= 0.8 "
                         "with them",
    "stroke_cosine": "mean cosine of each stroke with its best atom",
    "active_atoms": "active atoms per image",
    "active_per_stroke": "active atoms per true stroke",
    "blob_match_rate": "share of the strokes that a round blob at their centre "
                       "would match (the stroke metrics' floor)",
    "locality": "mean share of an active atom's mass in its largest connected piece",
    "connected_share": "share of the active atoms in one connected piece",
    "interpolation_ratio": "distance of the images decoded along a latent "
                           "interpolation to their own re-encoding, over the same for "
                           "the test images (1: as consistent as the model's own "
                           "outputs)",
    "interpolation_cycle_mse": "MSE between interpolated images and their re-encoding",
    "test_cycle_mse": "the same for the test images",
    "mig": "mutual information gap (disentanglement_lib)",
    "sap": "separated attribute predictability (disentanglement_lib)",
    "dci_disentanglement": "DCI disentanglement (Eastwood and Williams 2018)",
    "dci_completeness": "DCI completeness", "dci_informativeness": "DCI informativeness",
}


def _fmt(value):
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value == 0 or 1e-2 <= abs(value) < 1e4:
            return f"{value:.4f}".rstrip("0").rstrip(".") if value != 0 else "0"
        return f"{value:.3g}"
    return str(value)


def latest_version(entry: str, saved_models: str | Path) -> int | None:
    """The highest version folder of `entry` under `saved_models` holding its
    `<entry>.json`, or None."""
    versions = [int(p.name) for p in (Path(saved_models) / entry).glob("*")
                if p.name.isdigit() and (p / f"{entry}.json").is_file()]
    return max(versions, default=None)


def recorded_results(entry: str, root: str | Path | None = None) -> tuple[dict, int | None]:
    """(results, version): what the cards and the README's zoo table report.

    The results recorded with the entry's latest published version
    (`saved_models/<entry>/<version>/<entry>.json`, key `results`). The
    recipe's `zoo/<entry>.results.json` adds what was measured since on the same
    weights (e.g. a refined code's scores) when it agrees with the version on
    every metric they share; otherwise it belongs to another version and is
    left out. Without a published version, the recipe's results alone.

    Args:
        entry: str. A zoo entry.
        root: path or None. The checkout holding `zoo/` and `saved_models/`.

    Returns:
        (dict, int or None): the results (`metrics`, `evaluation`, ...; empty
        when nothing is recorded) and the version they describe.
    """
    root = Path(root) if root is not None else checkout_root()
    recipe_path = root / ENTRIES[entry].get("recipe", f"zoo/{entry}.toml")
    results_path = recipe_path.with_name(f"{entry}.results.json")
    own = json.loads(results_path.read_text()) if results_path.is_file() else {}
    version = latest_version(entry, root / "saved_models")
    if version is None:
        return own, None
    config = json.loads((root / "saved_models" / entry / str(version) / f"{entry}.json")
                        .read_text())
    published = config.get("results", {})
    shared = set(own.get("metrics", {})) & set(published.get("metrics", {}))
    if own and all(own["metrics"][k] == published["metrics"][k] for k in shared):
        merged = dict(published, **{k: v for k, v in own.items() if k != "metrics"})
        merged["metrics"] = dict(published.get("metrics", {}), **own["metrics"])
        return merged, version
    return published, version


def _weights_summary(entry, saved_models, version=None):
    """(parameters, weights file bytes) from `<entry>.weights.h5` of `version`
    (None: the latest version holding one), or (None, None).

    Counts the model's variables in the file (the optimizer's are stored beside
    them and left out), without building the model.
    """
    folder = Path(saved_models) / entry
    versions = [version] if version is not None else sorted(
        (int(p.name) for p in folder.glob("*") if p.name.isdigit()), reverse=True)
    paths = [folder / str(v) / f"{entry}.weights.h5" for v in versions]
    path = next((p for p in paths if p.is_file()), None)
    if path is None:
        return None, None
    count = 0

    def visit(name, obj):
        nonlocal count
        if isinstance(obj, h5py.Dataset) and not name.startswith("optimizer"):
            count += int(obj.size)

    with h5py.File(path, "r") as handle:
        handle.visititems(visit)
    return count, path.stat().st_size


def _recipe_header(text):
    """The recipe's leading comment block, without the `#` marks."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line[1:].strip())
    return " ".join(x for x in lines if x and not x.startswith("Reproduce:")).strip()


def _table(rows, header):
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def _yaml_list(items):
    return "[" + ", ".join(json.dumps(x) for x in items) + "]"


def _citation(paper):
    return [text for key, text in CITATIONS.items() if paper.startswith(key)]


def _untrained_card(entry, spec):
    recipe = spec.get("recipe", f"zoo/{entry}.toml")
    lines = ["---", f"model_name: {entry}", "license: mit", "library_name: keras",
             "status: not yet trained", "---", "", f"# `{entry}` (not yet trained)", "",
             spec.get("description", ""), "",
             f"**Paper:** {spec.get('paper', '?')}.", "",
             "This zoo entry is listed but has no recorded results yet: train it with "
             f"`geomae train {recipe}`, then regenerate the cards with "
             "`geomae evaluate --cards`.", ""]
    return "\n".join(lines)


def _held(claims):
    """(held, checked, restated) over the claims; restated ones are not counted
    as checked: the card gives the claim the evidence supports instead."""
    checked = [c for c in claims if not c.get("restated")]
    return (sum(c["holds"] for c in checked), len(checked),
            len(claims) - len(checked))


def held_text(claims: list[dict]) -> str:
    """"2 of 2 (3 restated)": the claims held, for the card and the README."""
    held, checked, restated = _held(claims)
    return f"{held} of {checked}" + (f" ({restated} restated)" if restated else "")


def _headline(metrics, spec):
    """The entry's `headline` numbers with their units, e.g. "PSNR 25.2 dB"."""
    out = []
    for metric, label, unit in spec.get("headline", ()):
        value = metrics.get(metric)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        if unit == "%":
            text = f"{100 * value:.0f}%"
        elif abs(value) < 1e-2 and value != 0:
            text = f"{value:.1e}".replace("e-0", "e-")
        elif unit == "px":
            text = f"{value:.2f} px"
        elif unit == "dB":
            text = f"{value:.1f} dB"
        else:
            text = (f"{value:.4f}" if abs(value) <= 1 else f"{value:.3g}") + (
                f" {unit}" if unit else "")
        out.append(f"{label} {text}")
    return out


def _meaning(metric):
    """The glossary's line for `metric` (a `refined_` metric: the same, refined)."""
    if metric in GLOSSARY:
        return GLOSSARY[metric]
    if metric.startswith("refined_") and metric[8:] in GLOSSARY:
        return f"{GLOSSARY[metric[8:]]}; code refined through the fixed decoder"
    if metric.startswith("corr_z"):
        axis, _, attribute = metric[6:].partition("_")
        return f"Pearson |corr| of latent axis {axis} with the image's {attribute}"
    return ""


def render_card(entry: str, root: str | Path | None = None) -> str:
    """The markdown model card of zoo entry `entry`, as a string.

    Args:
        entry: str. One of `geomae_tf.zoo.ENTRIES`.
        root: path or None. The checkout holding `zoo/` and `saved_models/`;
            None takes the one this package lives in.

    Returns:
        The card's text, from the results recorded with the entry's latest
        version (see `recorded_results`). An entry without recorded results
        gets a short "not yet trained" card.

    Raises:
        ValueError: `entry` is not a zoo entry.

    Example:
        >>> print(render_card("disk_ae")[:40])   # doctest: +SKIP
    """
    if entry not in ENTRIES:
        raise ValueError(f"`entry` must be one of the zoo's entries {sorted(ENTRIES)}. "
                         f"Received: entry={entry!r}")
    root = Path(root) if root is not None else checkout_root()
    spec = ENTRIES[entry]
    recipe_path = root / spec.get("recipe", f"zoo/{entry}.toml")
    results, version = recorded_results(entry, root)
    if not results.get("metrics") or not recipe_path.is_file():
        return _untrained_card(entry, spec)
    recipe_text = recipe_path.read_text()
    recipe = tomllib.loads(recipe_text)
    metrics = results.get("metrics", {})
    data = recipe.get("data", {})
    dataset = data.get("dataset", "?")
    training = recipe.get("training", {})
    evaluation = results.get("evaluation", recipe.get("evaluation", {}))
    claims = check_claims(entry, metrics)
    claimed = {c["metric"] for c in claims}
    others = [(k, v) for k, v in metrics.items()
              if isinstance(v, (int, float)) and not isinstance(v, bool)
              and k not in claimed and k not in {"n_test", "n", "seed"}
              and k not in evaluation]
    parameters, size = _weights_summary(entry, root / "saved_models", version)
    recipe_rel = recipe_path.relative_to(root).as_posix()
    held, checked, _ = _held(claims)
    synthetic = dataset in _SYNTHETIC
    folder = f"saved_models/{entry}/{version}" if version is not None else None
    sources = " and ".join(x for x in (f"{folder}/{entry}.json" if folder else None,
                                       f"zoo/{entry}.results.json") if x)

    lines = ["---", f"model_name: {entry}", "license: mit", "library_name: keras",
             f"tags: {_yaml_list(['autoencoder', 'keras', 'tensorflow', spec['family']])}",
             f"datasets: {_yaml_list([f'geomae_tf synthetic {dataset}' if synthetic else dataset])}",
             f"metrics: {_yaml_list([c['metric'] for c in claims] or [k for k, _ in others][:4])}",
             f"paper: {json.dumps(spec['paper'])}",
             f"parameters: {parameters if parameters is not None else 'null'}",
             f"recipe: {recipe_rel}",
             f"version: {version if version is not None else 'null'}",
             f"claims_holding: {held} of {checked}",
             "---", "",
             f"<!-- Generated by `geomae evaluate --cards` from geomae_tf/zoo/presets.py, "
             f"{recipe_rel} and {sources}; edit those, not this file. -->", "",
             f"# `{entry}`", "",
             f"{spec.get('description', '')} This card describes version {version}"
             + (f" ([`{folder}/`](../../{folder}/))." if folder else "."), "",
             f"**Paper:** {spec['paper']}.", "",
             f"**Reproduce:** `geomae train {recipe_rel}` (about "
             f"{results.get('train_seconds', 0) / 60:.0f} min on "
             f"{results.get('machine', 'the recording machine')}); this card: `geomae "
             "evaluate --cards`; its figures: `geomae figures --docs`.", ""]
    headline = _headline(metrics, spec)
    if headline:
        lines += [f"**At a glance** (held-out data): {'; '.join(headline)}; claims held: "
                  f"{held_text(claims)}.", ""]
    for figure in figures_of(entry):
        lines += [f"![{figure['caption']}](../figures/{figure['file']})", "",
                  f"*{figure['caption']}*", ""]
    if spec.get("signature"):
        sig = spec["signature"]
        serving = (f"`serving_default`: `{sig['input']}` -> `{sig['output']}`")
    else:
        serving = ("`serving_default` (`images` -> `reconstruction`), `encode` "
                   "(`images` -> `z`), `decode` (`z` -> `reconstruction`)"
                   + (", `atoms` (`images` -> `atoms`: the entry's answer, its code refined "
                      "in the graph with the options stored with it), `encoder_atoms` "
                      "(`images` -> `atoms`: the encoder's one-pass atoms)"
                      if spec["family"].startswith("atomic") else ""))
    model_args = ", ".join(f"{k}={v!r}" for k, v in recipe.get("model", {}).items())
    weights = f"{folder}/{entry}.weights.h5" if folder else "(not published)"
    lines += ["## Model", "",
              f"- Factory: `geomae_tf.zoo.{recipe.get('factory', '?')}({model_args})`",
              f"- Parameters: {parameters:,}" if parameters is not None else
              "- Parameters: (weights not found in saved_models/)",
              f"- Weights: `{weights}`"
              + (f" ({size / 1024:.0f} KiB, with the optimizer's state)" if size else ""),
              f"- TF Serving signatures: {serving}; requests and responses: "
              "[docs/serving.md](../serving.md)", "",
              "```python", "import geomae_tf", "",
              f'model = geomae_tf.zoo.load("{entry}")   # the trained Keras model', "```", ""]
    header = _recipe_header(recipe_text)
    lines += ["## Training data", "",
              f"{'Synthetic, seeded, generated by this package: ' if synthetic else ''}"
              f"{DATASETS.get(dataset, dataset)}.", ""]
    lines += [f"- `{k}` = `{json.dumps(v)}`" for k, v in data.items() if k != "dataset"]
    lines += ["", "## Training procedure", "",
              f"Reproduce: `geomae train {recipe_rel}`.", ""]
    if header:
        lines += [f"> {header}", ""]
    lines += [f"- `{k}` = `{json.dumps(v)}`" for k, v in training.items()]
    recorded = [f"seed {results['seed']}" if "seed" in results else None,
                f"{results['epochs']} epoch(s)" if "epochs" in results else None,
                f"final training loss {_fmt(results['final_loss'])}"
                if "final_loss" in results else None,
                f"dtype policy {results['dtype_policy']}" if "dtype_policy" in results
                else None]
    lines += ["", "Recorded run: " + ", ".join(x for x in recorded if x) + "."]
    settings = ", ".join(f"{k} = {json.dumps(v)}" for k, v in evaluation.items())
    lines += ["", "## Evaluation", "",
              "Measured after training on held-out data, never seen in training (freshly "
              f"generated, or the test split of real data; {settings}).", ""]
    if claims:
        lines += [f"Claims: {held_text(claims)} hold. A source quotes the paper and its "
                  "section, or says \"zoo target\": a property or a threshold this zoo "
                  "sets.", ""]
        lines += _table([[f"`{c['claim']}`", c["source"], _fmt(c["measured"])
                          if c["measured"] is not None else "not recorded",
                          "restated (below)" if c.get("restated") else
                          "yes" if c["holds"] else "**NO**"] for c in claims],
                        ["claim", "source", "measured", "holds"])
        lines.append("")
    else:
        lines += ["No claim is checked for this entry; the measured metrics:", ""]
    restated = [c for c in claims if c.get("restated")]
    if restated:
        lines += ["### Restated claims", "",
                  "The project's evidence shows these claims to be ill-posed on this "
                  "data; each is kept above with its measure, and restated here as the "
                  "claim the evidence supports.", ""]
        for c in restated:
            r = c["restated"]
            lines += [f"- `{c['claim']}` (measured {_fmt(c['measured'])}) restated: "
                      f"{r['claim']}: {r['measured']}. Why: {r['why']}."]
        lines.append("")
    if others:
        lines += _table([[f"`{k}`", _fmt(v), _meaning(k).replace("|", "\\|")]
                         for k, v in others],
                        ["metric", "value", "meaning"])
        lines.append("")
    lines += ["## Intended use", "", spec.get("intended_use", INTENDED_USE), "",
              "## Limitations and failure cases", ""]
    lines += [f"- Claim not met: `{c['claim']}` (measured {_fmt(c['measured'])})."
              for c in claims if not c["holds"] and not c.get("restated")]
    lines += [f"- {text}" for text in spec.get("limitations", ())]
    lines += ["", "## Licence", "",
              "Code and weights: MIT (see `LICENSE`). "
              + ("Trained only on synthetic images that this package generates; no "
                 "third-party data." if synthetic else
                 f"Trained on {DATASETS.get(dataset, dataset)}: check that data's licence."),
              "", "## Citation", ""]
    lines += [f"- {text}" for text in _citation(spec["paper"])]
    lines += ["- This implementation: see `CITATION.cff`.", ""]
    return "\n".join(lines)


def render_cards(root: str | Path | None = None) -> dict[str, str]:
    """{entry: card text} for every entry of `geomae_tf.zoo.ENTRIES`."""
    return {entry: render_card(entry, root) for entry in ENTRIES}


def write_cards(out_dir: str | Path | None = None,
                root: str | Path | None = None) -> list[Path]:
    """Writes `<out_dir>/<entry>.md` for every zoo entry (atomically); returns the paths.

    Args:
        out_dir: path or None. Defaults to `<root>/docs/zoo`.
        root: path or None. The checkout holding `zoo/` and `saved_models/`.
    """
    root = Path(root) if root is not None else checkout_root()
    out_dir = Path(out_dir) if out_dir is not None else root / "docs" / "zoo"
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for entry, text in render_cards(root).items():
        path = out_dir / f"{entry}.md"
        io.write_text(path, text)
        paths.append(path)
    return paths


#: The README's words for the headline numbers, explained once under its zoo table.
README_GLOSSARY = (
    "MSE: mean squared error per pixel, grey levels in [0, 1]; r2: coefficient of "
    "determination of an affine fit; corr.: Pearson correlation; PSNR: peak "
    "signal-to-noise ratio (peak 1); px: pixels (samples for 1-D signals); "
    "\"spikes found\" / \"strokes found\": share of the true spikes (strokes) matched by "
    "one atom, the code refined through the fixed decoder; \"encoder alone\": the same "
    "with the encoder's one-pass code (the paper's); claims held: the entry's claims "
    "that its recorded evaluation meets, restated ones apart (each card gives every "
    "metric with its meaning, and each claim with its source).")


def readme_table(root: str | Path | None = None) -> str:
    """The README's zoo table: one line per entry, from the results its card reports.

    Each line: the entry (linked to its card), what it shows, 2-3 headline
    numbers with their units, the claims held, and the recorded version;
    a glossary of the table's words follows it.

    Args:
        root: path or None. The checkout holding `zoo/` and `saved_models/`.

    Example:
        >>> print(readme_table().splitlines()[0])   # doctest: +SKIP
        | entry | shows | measured on held-out data | claims held | card |
    """

    root = Path(root) if root is not None else checkout_root()
    lines = ["| entry | shows | measured on held-out data | claims held | card |",
             "| --- | --- | --- | --- | --- |"]
    for entry, spec in ENTRIES.items():
        results, version = recorded_results(entry, root)
        metrics = results.get("metrics", {})
        if not metrics:
            lines.append(f"| `{entry}` | {spec.get('shows', '')} | not yet trained | - | "
                         f"[card](docs/zoo/{entry}.md) |")
            continue
        claims = check_claims(entry, metrics)
        n = metrics.get("n_test")
        numbers = "; ".join(_headline(metrics, spec)) + (f" ({n} samples)" if n else "")
        lines.append(f"| [`{entry}`](docs/zoo/{entry}.md) | {spec.get('shows', '')} | "
                     f"{numbers} | {held_text(claims)} | "
                     f"[card](docs/zoo/{entry}.md), v{version} |")
    return "\n".join(lines + ["", README_GLOSSARY])


def update_readme(path: str | Path | None = None, root: str | Path | None = None,
                  start: str = "<!-- zoo-table:start -->",
                  end: str = "<!-- zoo-table:end -->") -> Path:
    """Replaces the README's zoo table (between the markers) with `readme_table`.

    Args:
        path: path or None. The README; defaults to `<root>/README.md`.
        root: path or None. The checkout holding `zoo/` and `saved_models/`.

    Raises:
        ValueError: the README lacks the markers.
    """
    root = Path(root) if root is not None else checkout_root()
    path = Path(path) if path is not None else root / "README.md"
    text = path.read_text()
    if start not in text or end not in text:
        raise ValueError(f"`readme` must contain the markers {start} and {end}. "
                         f"Received: readme={str(path)!r} without them")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    io.write_text(path, f"{head}{start}\n{readme_table(root)}\n{end}{tail}")
    return path
