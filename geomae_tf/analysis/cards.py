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

from geomae_tf import atomic
from geomae_tf.zoo.presets import ENTRIES, INTENDED_USE

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


def repository_root() -> Path:
    """The checkout holding `zoo/` and `docs/` (this package's parent folder)."""
    return Path(__file__).resolve().parents[2]


def _fmt(value):
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value == 0 or 1e-2 <= abs(value) < 1e4:
            return f"{value:.4f}".rstrip("0").rstrip(".") if value != 0 else "0"
        return f"{value:.3g}"
    return str(value)


def _weights_summary(entry, saved_models):
    """(parameters, weights file bytes) from `<entry>.weights.h5`, or (None, None).

    Counts the model's variables in the file (the optimizer's are stored beside
    them and left out), without building the model.
    """
    import h5py

    path = Path(saved_models) / entry / "1" / f"{entry}.weights.h5"
    versions = sorted((int(p.name) for p in (Path(saved_models) / entry).glob("*")
                       if p.name.isdigit()), reverse=True)
    for version in versions:
        candidate = Path(saved_models) / entry / str(version) / f"{entry}.weights.h5"
        if candidate.is_file():
            path = candidate
            break
    if not path.is_file():
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


def render_card(entry: str, root: str | Path | None = None) -> str:
    """The markdown model card of zoo entry `entry`, as a string.

    Args:
        entry: str. One of `geomae_tf.zoo.ENTRIES`.
        root: path or None. The checkout holding `zoo/` and `saved_models/`;
            None takes the one this package lives in.

    Returns:
        The card's text. An entry without `zoo/<entry>.results.json` gets a short
        "not yet trained" card.

    Raises:
        ValueError: `entry` is not a zoo entry.
    """
    from geomae_tf.analysis.report import check_claims

    if entry not in ENTRIES:
        raise ValueError(f"`entry` must be one of the zoo's entries {sorted(ENTRIES)}. "
                         f"Received: entry={entry!r}")
    root = Path(root) if root is not None else repository_root()
    spec = ENTRIES[entry]
    recipe_path = root / spec.get("recipe", f"zoo/{entry}.toml")
    results_path = recipe_path.with_name(f"{entry}.results.json")
    if not results_path.is_file() or not recipe_path.is_file():
        return _untrained_card(entry, spec)
    recipe_text = recipe_path.read_text()
    recipe = tomllib.loads(recipe_text)
    results = json.loads(results_path.read_text())
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
    parameters, size = _weights_summary(entry, root / "saved_models")
    recipe_rel = recipe_path.relative_to(root).as_posix()
    holding = sum(c["holds"] for c in claims)
    synthetic = dataset in _SYNTHETIC

    lines = ["---", f"model_name: {entry}", "license: mit", "library_name: keras",
             f"tags: {_yaml_list(['autoencoder', 'keras', 'tensorflow', spec['family']])}",
             f"datasets: {_yaml_list([f'geomae_tf synthetic {dataset}' if synthetic else dataset])}",
             f"metrics: {_yaml_list([c['metric'] for c in claims] or [k for k, _ in others][:4])}",
             f"paper: {json.dumps(spec['paper'])}",
             f"parameters: {parameters if parameters is not None else 'null'}",
             f"recipe: {recipe_rel}",
             f"claims_holding: {holding} of {len(claims)}",
             "---", "",
             f"<!-- Generated by `geomae evaluate --cards` from geomae_tf/zoo/presets.py, "
             f"{recipe_rel} and {results_path.relative_to(root).as_posix()}; "
             "edit those, not this file. -->", "",
             f"# `{entry}`", "", spec.get("description", ""), "",
             f"**Paper:** {spec['paper']}.", ""]
    if spec.get("signature"):
        sig = spec["signature"]
        serving = (f"`serving_default`: `{sig['input']}` -> `{sig['output']}`")
    else:
        serving = ("`serving_default` (`images` -> `reconstruction`), `encode` "
                   "(`images` -> `z`), `decode` (`z` -> `reconstruction`)"
                   + (", `atoms` (`images` -> `atoms`)" if spec["family"].startswith("atomic")
                      else ""))
    model_args = ", ".join(f"{k}={v!r}" for k, v in recipe.get("model", {}).items())
    lines += ["## Model", "",
              f"- Factory: `geomae_tf.zoo.{recipe.get('factory', '?')}({model_args})`",
              f"- Parameters: {parameters:,}" if parameters is not None else
              "- Parameters: (weights not found in saved_models/)",
              f"- Weights: `saved_models/{entry}/1/{entry}.weights.h5`"
              + (f" ({size / 1024:.0f} KiB, with the optimizer's state)" if size else ""),
              f"- TF Serving signatures: {serving}", "",
              "```python", "import geomae_tf", "",
              f'model = geomae_tf.zoo.load("{entry}")   # the trained Keras model', "```", ""]
    header = _recipe_header(recipe_text)
    lines += ["## Training data", "",
              f"{'Synthetic, seeded, generated by this package: ' if synthetic else ''}"
              f"{DATASETS.get(dataset, dataset)}.", ""]
    lines += [f"- `{k}` = `{json.dumps(v)}`" for k, v in data.items() if k != "dataset"]
    lines += ["", "## Training procedure", "",
              f"Reproduce: `geomae train {recipe_rel}` (about "
              f"{results.get('train_seconds', 0) / 60:.0f} min on "
              f"{results.get('machine', 'the recording machine')}).", ""]
    lines += [f"- `{k}` = `{json.dumps(v)}`" for k, v in training.items()]
    recorded = [f"seed {results['seed']}" if "seed" in results else None,
                f"{results['epochs']} epoch(s)" if "epochs" in results else None,
                f"final training loss {_fmt(results['final_loss'])}"
                if "final_loss" in results else None,
                f"dtype policy {results['dtype_policy']}" if "dtype_policy" in results
                else None]
    lines += ["", "Recorded run: " + ", ".join(x for x in recorded if x) + "."]
    if header:
        lines += ["", f"> {header}"]
    settings = ", ".join(f"{k} = {json.dumps(v)}" for k, v in evaluation.items())
    lines += ["", "## Evaluation", "",
              "Measured after training on held-out data, never seen in training (freshly "
              f"generated, or the test split of real data; {settings}).", ""]
    if claims:
        lines += [f"Claims: {holding} of {len(claims)} hold.", ""]
        lines += _table([[f"`{c['claim']}`", c["source"], _fmt(c["measured"])
                          if c["measured"] is not None else "not recorded",
                          "yes" if c["holds"] else "**NO**"] for c in claims],
                        ["claim", "source", "measured", "holds"])
        lines.append("")
    else:
        lines += ["No claim is checked for this entry; the measured metrics:", ""]
    if others:
        lines += _table([[f"`{k}`", _fmt(v)] for k, v in others], ["metric", "value"])
        lines.append("")
    lines += ["## Intended use", "", spec.get("intended_use", INTENDED_USE), "",
              "## Limitations and failure cases", ""]
    lines += [f"- Claim not met: `{c['claim']}` (measured {_fmt(c['measured'])})."
              for c in claims if not c["holds"]]
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
    root = Path(root) if root is not None else repository_root()
    out_dir = Path(out_dir) if out_dir is not None else root / "docs" / "zoo"
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for entry, text in render_cards(root).items():
        path = out_dir / f"{entry}.md"
        atomic.write_text(path, text)
        paths.append(path)
    return paths
