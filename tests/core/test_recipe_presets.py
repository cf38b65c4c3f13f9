"""A zoo entry is written in one place: its preset holds the description, the paper
and the evaluation options; its recipe (zoo/<entry>.toml) holds the model, the data
and the training, and repeats none of them."""

import tomllib
from pathlib import Path

import pytest

from geomae_tf.training.recipe import load_recipe
from geomae_tf.zoo import ENTRIES, with_preset
from geomae_tf.zoo.recipe_fields import PRESET_KEYS

REPO = Path(__file__).resolve().parents[2]
RECIPES = sorted((REPO / "zoo").glob("*.toml"))


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_zoo_recipe_leaves_its_presets_facts_to_the_preset(path):
    raw = tomllib.loads(path.read_text())
    assert raw["entry"] in ENTRIES and ENTRIES[raw["entry"]]["recipe"] == f"zoo/{path.name}"
    repeated = [key for key in PRESET_KEYS if key in raw]
    repeated += ["[evaluation]"] if "evaluation" in raw else []
    assert not repeated, f"{path.name} repeats {repeated}: written in geomae_tf/zoo/presets.py"


@pytest.mark.parametrize("entry", ["disk_ae", "pca_ae_ellipses", "atomic_spikes",
                                   "atomic_strokes"])
def test_loaded_zoo_recipe_carries_the_presets_facts(entry):
    recipe = load_recipe(REPO / ENTRIES[entry]["recipe"])
    spec = ENTRIES[entry]
    assert (recipe.description, recipe.paper) == (spec["description"], spec["paper"])
    assert recipe.evaluation == spec["evaluation"]
    assert {"n_test", "seed"} <= set(recipe.evaluation)


def test_a_users_recipe_keeps_its_own_description_and_evaluation():
    raw = {"entry": "my_disks", "factory": "disk_autoencoder", "description": "mine",
           "paper": "my notes", "evaluation": {"n_test": 10}}
    assert with_preset(raw) == raw
    own = {"entry": "atomic_spikes", "description": "a study of the spike entry",
           "evaluation": {"refine": False}}
    completed = with_preset(own)
    assert completed["description"] == "a study of the spike entry"
    assert completed["paper"] == ENTRIES["atomic_spikes"]["paper"]
    # a key the recipe states wins; the others come from the preset
    assert completed["evaluation"] == {**ENTRIES["atomic_spikes"]["evaluation"], "refine": False}


def test_presets_options_are_copied_not_shared():
    completed = with_preset({"entry": "atomic_spikes"})
    completed["evaluation"]["refine"]["steps"] = 99
    assert ENTRIES["atomic_spikes"]["evaluation"]["refine"]["steps"] != 99
