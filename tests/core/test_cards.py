"""Model cards (docs/zoo/<entry>.md): in step with the recipes' recorded results."""

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from geomae_tf.analysis import cards, report
from geomae_tf.training.recipe import load_recipe
from geomae_tf.zoo.presets import ENTRIES

REPO = Path(__file__).resolve().parents[2]
TRAINED = [e for e in ENTRIES if cards.recorded_results(e, REPO)[0].get("metrics")]


def front_matter(text):
    """The card's YAML front matter as {key: raw value} (flat keys only)."""
    assert text.startswith("---\n")
    block = text.split("---\n")[1]
    return dict(line.split(": ", 1) for line in block.strip().splitlines())


@pytest.mark.parametrize("entry", TRAINED)
def test_card_on_disk_is_the_generated_one(entry):
    # regenerated in memory from presets, recipe and results: the committed card must
    # match, or `geomae evaluate --cards` was not run after the results changed
    path = REPO / "docs" / "zoo" / f"{entry}.md"
    assert path.is_file(), f"no model card for {entry}: run `geomae evaluate --cards`"
    assert path.read_text() == cards.render_card(entry, REPO), (
        f"{path} is out of step with zoo/{entry}.results.json: run `geomae evaluate --cards`")


@pytest.mark.parametrize("entry", TRAINED)
def test_card_reports_the_recorded_claims_and_hub_fields(entry):
    text = cards.render_card(entry, REPO)
    meta = front_matter(text)
    assert meta["license"] == "mit" and meta["model_name"] == entry
    dataset = load_recipe(REPO / "zoo" / f"{entry}.toml").dataset
    # synthetic data is named as the package's own; real data (MNIST) by its name
    assert meta["datasets"] == (f'["geomae_tf synthetic {dataset}"]' if dataset in
                                cards._SYNTHETIC else f'["{dataset}"]')
    results, version = cards.recorded_results(entry, REPO)
    claims = report.check_claims(entry, results["metrics"])
    checked = [c for c in claims if not c["restated"]]
    held = sum(c["holds"] for c in checked)
    assert meta["claims_holding"] == f"{held} of {len(checked)}"
    assert meta["version"] == str(version)
    for claim in claims:
        row = next(line for line in text.splitlines() if line.startswith(f"| `{claim['claim']}`"))
        if claim["restated"]:   # kept with its measure, restated with the evidence below
            assert row.endswith("| restated (below) |")
            assert f"- `{claim['claim']}` (measured" in text.split("### Restated claims")[1]
        else:
            assert row.endswith("| yes |" if claim["holds"] else "| **NO** |")
        if not claim["holds"] and not claim["restated"]:   # listed among the limitations
            assert f"- Claim not met: `{claim['claim']}`" in text
    for section in ("## Training data", "## Training procedure", "## Evaluation",
                    "## Intended use", "## Limitations and failure cases", "## Licence"):
        assert section in text
    assert f"geomae train zoo/{entry}.toml" in text
    assert "session" not in text.lower() and "/tmp/" not in text


def test_parameters_are_counted_without_the_optimizer():
    # the disk autoencoder of Table 1 has 1,412 parameters (encoder and decoder 706 each)
    parameters, size = cards._weights_summary("disk_ae", REPO / "saved_models")
    assert parameters == 1412 and size > 0


def test_entry_without_results_gets_a_not_yet_trained_card(tmp_path):
    # a checkout where the recipe's results are missing (an entry added before training)
    (tmp_path / "zoo").mkdir()
    shutil.copy(REPO / "zoo" / "disk_ae.toml", tmp_path / "zoo" / "disk_ae.toml")
    text = cards.render_card("disk_ae", tmp_path)
    assert front_matter(text)["status"] == "not yet trained"
    assert "geomae train zoo/disk_ae.toml" in text and "## Evaluation" not in text


def test_write_cards_covers_every_entry(tmp_path):
    paths = cards.write_cards(tmp_path / "cards", root=REPO)
    assert sorted(p.name for p in paths) == sorted(f"{e}.md" for e in ENTRIES)
    for path in paths:
        assert re.match(r"---\nmodel_name: \w+\n", path.read_text())


def test_unknown_entry_is_refused():
    with pytest.raises(ValueError, match="`entry` must be one of"):
        cards.render_card("disk_ae_v9", REPO)


@pytest.mark.parametrize("entry", TRAINED)
def test_card_links_the_version_it_describes(entry):
    # the latest published version: its folder and weights, never an older one's
    _, version = cards.recorded_results(entry, REPO)
    latest = max(int(p.name) for p in (REPO / "saved_models" / entry).iterdir()
                 if p.name.isdigit())
    assert version == latest
    text = cards.render_card(entry, REPO)
    assert f"](../../saved_models/{entry}/{version}/)" in text
    assert f"`saved_models/{entry}/{version}/{entry}.weights.h5`" in text
    assert not re.search(rf"saved_models/{entry}/(?!{version}/)\d+/", text)


def test_every_claim_names_its_source():
    # the paper's statement with its section, or the zoo's own target
    for entry, spec in ENTRIES.items():
        for metric, _, _, source in spec.get("checks", ()):
            assert source.startswith("zoo target") or (
                re.match(r"(Newson et al\. JMIV 2020|Newson & Traonmilin 2023|PCA-AE talk)",
                         source) and ("sect." in source or "'" in source)
                and "threshold: zoo target" in source), f"{entry} {metric}: {source}"
        for metric in spec.get("restated", {}):
            assert metric in {c[0] for c in spec["checks"]}


def test_pca_ratio_claims_are_restated_with_their_evidence():
    text = cards.render_card("pca_ae_ellipses", REPO)
    restated = text.split("### Restated claims")[1].split("## ")[0]
    for claim in ("ratio_axis_first >= 0.8", "ratio_axis_second >= 0.76",
                  "worst_off_diagonal <= 0.1"):
        assert f"`{claim}` (measured" in restated
    assert "kNN R2 0.90" in restated and "kNN R2 0.83" in restated
    assert "Claim not met: `ratio_axis_first" not in text
    assert front_matter(text)["claims_holding"] == "2 of 2"


def test_elongation_r2_reads_what_two_axes_code():
    # exact elongation codes give R2 near 1, the area axis alone near 0 or below
    from geomae_tf.analysis import pca
    from geomae_tf.datasets import ellipses

    _, factors = ellipses.make_ellipses(400, seed=3)
    a, b = factors["a"].astype(float), factors["b"].astype(float)
    turn = 2 * np.deg2rad(factors["rotation"].astype(float))
    exact = np.stack([(a - b) * np.cos(turn), (a - b) * np.sin(turn)], axis=1)
    scores = pca.elongation_r2(exact, factors)
    assert scores["hv"] > 0.95 and scores["diag"] > 0.95
    area = pca.elongation_r2((np.pi * a * b)[:, None], factors)
    assert area["hv"] < 0.2 and area["diag"] < 0.2


def test_recorded_results_take_the_latest_version(tmp_path):
    # a newer version's recorded results win; the recipe's results are merged in only
    # when they agree with that version on every shared metric (the same weights)
    (tmp_path / "zoo").mkdir()
    shutil.copy(REPO / "zoo" / "disk_ae.toml", tmp_path / "zoo" / "disk_ae.toml")
    for version, mse in ((1, 0.5), (2, 0.25)):
        folder = tmp_path / "saved_models" / "disk_ae" / str(version)
        folder.mkdir(parents=True)
        (folder / "disk_ae.json").write_text(json.dumps(
            {"results": {"metrics": {"mse": mse}, "train_seconds": 60}}))
    own = tmp_path / "zoo" / "disk_ae.results.json"
    own.write_text(json.dumps({"metrics": {"mse": 0.5, "extra": 1.0}}))
    results, version = cards.recorded_results("disk_ae", tmp_path)
    assert version == 2 and results["metrics"] == {"mse": 0.25}
    own.write_text(json.dumps({"metrics": {"mse": 0.25, "extra": 1.0}}))
    results, _ = cards.recorded_results("disk_ae", tmp_path)
    assert results["metrics"] == {"mse": 0.25, "extra": 1.0}


def test_readme_table_reports_the_cards_numbers():
    # the README's zoo table is generated from the same recorded results as the cards
    readme = (REPO / "README.md").read_text()
    table = readme.split("<!-- zoo-table:start -->\n")[1].split("\n<!-- zoo-table:end -->")[0]
    assert table == cards.readme_table(REPO), "run `geomae evaluate --cards`"
    for entry in TRAINED:
        row = next(line for line in table.splitlines() if line.startswith(f"| [`{entry}`]"))
        card = cards.render_card(entry, REPO)
        held = front_matter(card)["claims_holding"]
        assert f"| {held}" in row
        glance = card.split("**At a glance** (held-out data): ")[1].split("; claims held")[0]
        assert glance in row                         # the same numbers, the same units
    for word in ("MSE", "PSNR", "px", "r2"):         # the glossary under the table
        assert f"{word}:" in table.split("\n\n")[-1]
