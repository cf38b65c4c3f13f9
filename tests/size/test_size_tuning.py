"""`geomae tune`: Keras Tuner sweeps lambda with the hole MSE as objective."""

import json

import numpy as np
import pytest

from geomae_tf import cli
from geomae_tf.training import trainer, tuning
from geomae_tf.training.recipe import RecipeError, load_recipe

TINY = """
entry = "disk_ae_hole_encreg"
factory = "disk_autoencoder"
[model]
latent_dim = 1
regularizer = "encoder_weight_decay"
lam = 1e-4
[data]
dataset = "disks"
mode = "fixed"
n_train = 60
exclude = [[11.0, 18.0]]
[training]
epochs = 1
batch_size = 30
[tune]
lambdas = [0.0, 1e-3]
n_val = 8
n_test = 30
n_samples = 32
"""


def test_lambda_grid_is_log_spaced_plus_zero():
    grid = tuning.lambda_grid(lambda_range=[1e-6, 1e-2], n_lambdas=5)
    assert grid[0] == 0.0
    np.testing.assert_allclose(np.diff(np.log10(grid[1:])), 1.0)
    assert tuning.lambda_grid(lambdas=[1e-3, 0.0, 1e-3]) == [0.0, 1e-3]
    assert 0.0 not in tuning.lambda_grid(lambda_range=[1e-3, 1e-1], n_lambdas=3,
                                         include_zero=False)
    with pytest.raises(ValueError, match="`lambda_range"):
        tuning.lambda_grid(lambda_range=[0.0, 1.0])


def test_choose_lambda_respects_the_generalisation_gap():
    rows = [{"lam": 0.0, "objective_val_mse_hole": 3e-3, "hole_over_observed": 3.1},
            {"lam": 3e-4, "objective_val_mse_hole": 1.2e-3, "hole_over_observed": 2.3},
            {"lam": 3e-3, "objective_val_mse_hole": 1.4e-3, "hole_over_observed": 1.9},
            {"lam": 1e-2, "objective_val_mse_hole": 2.1e-3, "hole_over_observed": 1.6}]
    assert tuning.choose_lambda(rows)["lam"] == 3e-4
    assert tuning.choose_lambda(rows, max_gap=2.0)["lam"] == 3e-3
    assert tuning.choose_lambda(rows, max_gap=1.1) is None
    for r in rows:
        r.update({"best_epoch": 60, "mse_hole": 1e-3, "mse_observed": 5e-4,
                  "abs_spearman": 1.0, "r2_vs_area": 0.99})
    table = tuning.markdown_table(rows, "encoder_weight_decay", (11, 18), max_gap=2.0)
    assert "| **0.003** |" in table and "| 0.0003 * |" in table


@pytest.mark.slow
def test_two_trial_search_resumes_and_writes_its_table_and_plot(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text(TINY)
    out = tmp_path / "tune"
    assert cli.main(["tune", str(recipe), "--out-dir", str(out), "--max-trials", "1"]) == 0
    folder = out / "disk_ae_hole_encreg"
    assert len(json.loads((folder / "lambda_sweep.json").read_text())["rows"]) == 1
    # Running again resumes the sweep: the second lambda only.
    assert cli.main(["tune", str(recipe), "--out-dir", str(out)]) == 0
    summary = json.loads((folder / "lambda_sweep.json").read_text())
    rows = summary["rows"]
    assert [r["lam"] for r in rows] == [0.0, 1e-3]
    assert summary["regularizer"] == "encoder_weight_decay"
    assert summary["hole"] == [11.0, 18.0]
    for r in rows:
        assert np.isfinite(r["objective_val_mse_hole"]) and r["objective_val_mse_hole"] > 0
        assert np.isfinite(r["mse_hole"]) and np.isfinite(r["mse_observed"])
    assert summary["best_lam"] in (0.0, 1e-3)
    table = (folder / "lambda_sweep.md").read_text()
    assert table.count("\n| ") == 4 and "| **" in table          # header, rule, 2 rows
    assert (folder / "lambda_sweep.png").stat().st_size > 10_000
    # Another [tune] in the same folder is refused rather than mixed in ...
    recipe.write_text(TINY.replace("lambdas = [0.0, 1e-3]", "lambdas = [0.0, 1e-2]"))
    with pytest.raises(RecipeError, match="other settings"):
        tuning.tune_from_recipe(recipe, out_dir=out)
    # ... but a finer grid extends the sweep with the new lambdas only.
    recipe.write_text(TINY.replace("lambdas = [0.0, 1e-3]", "lambdas = [0.0, 1e-4, 1e-3]"))
    rows = tuning.tune_from_recipe(recipe, out_dir=out)
    assert [r["lam"] for r in rows] == [0.0, 1e-4, 1e-3]
    assert len(list((folder / "tuner").glob("trial_*"))) == 3


@pytest.mark.parametrize("extra, message", [
    ("colour = 1\n", "unknown key"),
    ("regularizer = \"dropout\"\n", "regularizer must be one of"),
    ("hole = [18.0, 11.0]\n", "`tune.hole` must be"),
    ("lambdas = []\n", "`tune.lambdas` must be"),
    ("max_gap = 0.5\n", "`tune.max_gap` must be"),
])
def test_bad_tune_sections_are_named(tmp_path, extra, message):
    text = TINY.replace("lambdas = [0.0, 1e-3]\n", "") + extra
    path = tmp_path / "r.toml"
    path.write_text(text)
    with pytest.raises(RecipeError, match=message):
        tuning._tune_settings(load_recipe(path), None, None)


def test_an_overridden_range_replaces_the_recipe_lambda_list(tmp_path):
    """The recipe's explicit `lambdas` belong to its own regulariser: sweeping another
    one over its `lambda_range` must use that range, not the recipe's list."""
    path = tmp_path / "r.toml"
    path.write_text(TINY)
    recipe = load_recipe(path)
    assert tuning._tune_settings(recipe, None, None)["lambdas"] == [0.0, 1e-3]
    settings = tuning._tune_settings(recipe, None, None, overrides={
        "regularizer": "latent_distance", "lambda_range": [1e-4, 1.0]})
    assert settings["lambdas"] == [0.0, 1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    both = tuning._tune_settings(recipe, None, None, overrides={
        "lambda_range": [1e-4, 1.0], "lambdas": [0.0, 0.5]})
    assert both["lambdas"] == [0.0, 0.5]


def test_trials_follow_the_recipe_learning_rate_schedule(tmp_path):
    """Lambda is tuned under the schedule the entry is trained with: a cosine recipe
    gives every trial a decay over the trial's own length, to 1% of the rate."""
    path = tmp_path / "r.toml"
    path.write_text(TINY)
    recipe = load_recipe(path)
    data = tuning.datasets.DATASETS["disks"].training_dataset(**recipe.data_kwargs())
    assert trainer.run_learning_rate(recipe.training, data, 5) == recipe.training["learning_rate"]
    path.write_text(TINY.replace("batch_size = 30", "batch_size = 30\nlr_schedule = \"cosine\""))
    recipe = load_recipe(path)
    rate = trainer.run_learning_rate(recipe.training, data, 5)
    steps = int(data.cardinality()) * 5                  # 60 disks / 30 = 2 batches x 5
    assert steps == 10
    start = recipe.training["learning_rate"]
    assert float(rate(0)) == pytest.approx(start)
    assert float(rate(steps)) == pytest.approx(0.01 * start, rel=1e-4)
    assert float(rate(steps // 2)) == pytest.approx(0.505 * start, rel=1e-3)


def test_the_hole_study_recipe_is_a_valid_sweep_for_every_regulariser():
    """examples/recipes/size_hole_study.toml drives size_lambda_sweep.py: each regulariser's
    sweep takes its own default range, on the study's fixed 60-epoch constant schedule."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "recipes" / "size_hole_study.toml"
    recipe = load_recipe(path)
    assert recipe.training["epochs"] == 60 and recipe.training["lr_schedule"] == "constant"
    for reg, (low, high) in tuning.DEFAULT_RANGES.items():
        settings = tuning._tune_settings(recipe, None, None, overrides={
            "regularizer": reg, "lambda_range": [low, high]})
        assert settings["lambdas"][0] == 0.0 and settings["lambdas"][1] == pytest.approx(low)
        assert settings["lambdas"][-1] == pytest.approx(high) and settings["epochs"] == 60


def test_a_mixed_precision_recipe_is_refused_by_name(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text(TINY.replace("batch_size = 30", "batch_size = 30\n"
                                                    "dtype_policy = \"mixed_bfloat16\""))
    with pytest.raises(RecipeError, match=r"trains in float32 only.*"
                                          r"dtype_policy='mixed_bfloat16'"):
        tuning.tune_from_recipe(path, out_dir=tmp_path / "tune")
    assert not (tmp_path / "tune").exists()


def test_fit_disk_autoencoder_same_seed_same_weights():
    """The example scripts' runs are reproducible: op determinism is on, as in train."""
    runs = [tuning.fit_disk_autoencoder(data_kwargs={"n_train": 60}, epochs=2,
                                        batch_size=30, seed=5)[0].get_weights()
            for _ in range(2)]
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
