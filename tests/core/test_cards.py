"""Model cards (docs/zoo/<entry>.md): in step with the recipes' recorded results."""

import json
import re
import shutil
from pathlib import Path

import pytest

from geomae_tf.analysis import cards, report
from geomae_tf.training.recipe import load_recipe
from geomae_tf.zoo.presets import ENTRIES

REPO = Path(__file__).resolve().parents[2]
TRAINED = [e for e in ENTRIES if (REPO / "zoo" / f"{e}.results.json").is_file()]


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
    results = json.loads((REPO / "zoo" / f"{entry}.results.json").read_text())
    claims = report.check_claims(entry, results["metrics"])
    held = sum(c["holds"] for c in claims)
    assert meta["claims_holding"] == f"{held} of {len(claims)}"
    for claim in claims:
        row = next(line for line in text.splitlines() if line.startswith(f"| `{claim['claim']}`"))
        assert row.endswith("| yes |" if claim["holds"] else "| **NO** |")
        if not claim["holds"]:  # every unmet claim is listed among the limitations
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
