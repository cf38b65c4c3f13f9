"""Keras Tuner sweeps lambda; `geomae train`'s progressive trainer runs a recipe."""

import keras_tuner as kt
import numpy as np
import pytest

from geomae_tf.datasets import ellipses
from geomae_tf.models.pca import PCAAutoencoder
from geomae_tf.training.progressive import fit_recipe, pca_hypermodel
from geomae_tf.training.recipe import load_recipe

SIZE = 16
RECIPE = """
entry = "pca_ae_tiny"
factory = "pca_autoencoder"
[model]
latent_dim = 2
image_size = 16
lambda_cov = 1.0
[data]
dataset = "ellipses"
mode = "fixed"
n_train = 64
image_size = 16
semi_axis_range = [1.0, 8.0]
[training]
trainer = "progressive"
epochs = 1
batch_size = 32
learning_rate = 1e-3
loss = "bce"
"""


def test_a_one_trial_tuner_search_builds_with_the_swept_lambda(tmp_path):
    data = ellipses.training_dataset(batch_size=32, n_train=64, image_size=SIZE,
                                     semi_axis_range=(1.0, 8.0))
    hypermodel = pca_hypermodel({"latent_dim": 2, "image_size": SIZE},
                                lambda_values=[0.0, 10.0], epochs_per_stage=1)
    tuner = kt.RandomSearch(hypermodel, objective=kt.Objective("latent_abs_corr", "min"),
                            max_trials=1, directory=str(tmp_path), project_name="pca",
                            seed=0)
    tuner.search(data)
    (trial,) = tuner.oracle.get_best_trials(1)
    assert trial.hyperparameters.get("lambda_cov") in (0.0, 10.0)
    score = trial.metrics.get_last_value("latent_abs_corr")
    assert 0.0 <= score <= 1.0
    model = hypermodel.build(trial.hyperparameters)
    assert isinstance(model, PCAAutoencoder)
    assert model.covariance.weight == trial.hyperparameters.get("lambda_cov")


def test_pca_hypermodel_refuses_a_fixed_lambda():
    with pytest.raises(ValueError, match="lambda_cov"):
        pca_hypermodel({"lambda_cov": 1.0})


def test_fit_recipe_trains_every_stage_and_resumes_after_the_last(tmp_path):
    path = tmp_path / "pca_ae_tiny.toml"
    path.write_text(RECIPE)
    recipe = load_recipe(path)
    from geomae_tf import zoo

    model = zoo.FACTORIES[recipe.factory](**recipe.model)
    history = fit_recipe(model, recipe, tmp_path / "run", verbose=0)
    assert history.history["stage"] == [1, 2]
    assert np.all(np.isfinite(history.history["loss"]))
    assert (tmp_path / "run" / "stage2.weights.h5").is_file()
    # Run again: both stages are done, nothing retrains, the weights reload.
    again = zoo.FACTORIES[recipe.factory](**recipe.model)
    history2 = fit_recipe(again, recipe, tmp_path / "run", verbose=0)
    assert history2.history["loss"] == pytest.approx(history.history["loss"])
    x = ellipses.make_ellipses(4, image_size=SIZE, semi_axis_range=(1.0, 8.0))[0]
    np.testing.assert_allclose(again.encode(x), model.encode(x), atol=1e-6)


def test_epochs_may_be_given_per_stage(tmp_path):
    """`epochs = [1, 2]` trains stage 1 for one epoch and stage 2 for two; a list of
    the wrong length, a non-positive entry, or a list for the plain trainer is an
    error that names the key."""
    path = tmp_path / "pca_ae_tiny.toml"
    path.write_text(RECIPE.replace("epochs = 1", "epochs = [1, 2]"))
    recipe = load_recipe(path)
    from geomae_tf import zoo

    model = zoo.FACTORIES[recipe.factory](**recipe.model)
    history = fit_recipe(model, recipe, tmp_path / "run", verbose=0)
    assert history.history["stage"] == [1, 2, 2]
    path.write_text(RECIPE.replace("epochs = 1", "epochs = [1, 0]"))
    with pytest.raises(ValueError, match=r"training.epochs\[1\]"):
        load_recipe(path)
    path.write_text(RECIPE.replace("epochs = 1", "epochs = [1, 1, 1]"))
    with pytest.raises(ValueError, match="one per stage"):
        fit_recipe(zoo.FACTORIES[recipe.factory](**recipe.model), load_recipe(path),
                   tmp_path / "run3", verbose=0)
    path.write_text(RECIPE.replace("epochs = 1", "epochs = [1, 2]")
                    .replace('trainer = "progressive"', 'trainer = "fit"'))
    with pytest.raises(ValueError, match="only with"):
        load_recipe(path)


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_the_progressive_trainer_follows_the_recipes_optimizer_keys(tmp_path, schedule):
    """`beta_1` and `lr_schedule` reach each stage's Adam: "constant" keeps the
    learning rate (the public reference), "cosine" decays it within the stage."""
    path = tmp_path / "pca_ae_tiny.toml"
    path.write_text(RECIPE.replace("loss = \"bce\"",
                                   f"loss = \"bce\"\nbeta_1 = 0.5\nlr_schedule = \"{schedule}\""))
    recipe = load_recipe(path)
    from geomae_tf import zoo

    model = zoo.FACTORIES[recipe.factory](**recipe.model)
    fit_recipe(model, recipe, tmp_path / "run", verbose=0)
    assert float(model.optimizer.beta_1) == 0.5
    rate = float(np.asarray(model.optimizer.learning_rate))
    if schedule == "constant":
        assert rate == pytest.approx(1e-3)
    else:
        assert rate < 0.5e-3


@pytest.mark.parametrize("value, match", [(1.0, r"\[0, 1\)"), (-0.1, "beta_1"),
                                          ("\"x\"", "real number")])
def test_a_bad_beta_1_is_named(tmp_path, value, match):
    path = tmp_path / "pca_ae_tiny.toml"
    path.write_text(RECIPE.replace("loss = \"bce\"", f"loss = \"bce\"\nbeta_1 = {value}"))
    with pytest.raises(ValueError, match=match):
        load_recipe(path)


@pytest.mark.slow
def test_a_run_killed_in_stage_2_and_resumed_records_every_part(tmp_path):
    """`geomae train` killed (SIGKILL) during stage 2, then the same command:
    results.json counts stage 1 (from the first run) and both parts of stage
    2, their seconds, and that the run was resumed."""
    import json

    from tests.interrupt import kill_when, run, train_command

    path = tmp_path / "pca_ae_tiny.toml"
    path.write_text(RECIPE.replace("epochs = 1", "epochs = [1, 30]"))
    run_dir = tmp_path / "runs" / "pca_ae_tiny"
    command = train_command(path, tmp_path / "runs")
    csv = run_dir / "history_stage2.csv"

    def stage_2_epochs():
        return len(csv.read_text().splitlines()) - 1 if csv.is_file() else 0

    assert kill_when(command, lambda: stage_2_epochs() >= 3), "killed before it ended"
    done = stage_2_epochs()
    assert 3 <= done < 30, "the run must be killed mid-way through stage 2"
    second = run(command)
    assert second.returncode == 0, second.stderr[-2000:]
    results = json.loads((run_dir / "results.json").read_text())
    assert results["epochs"] == 31 and results["resumed"] is True
    parts = results["parts"]
    assert [part["stage"] for part in parts] == [1, 2, 2]
    assert (parts[0]["first_epoch"], parts[0]["last_epoch"]) == (1, 1)
    # stage 2 resumed from its backup: its parts meet, without a gap or an overlap
    assert parts[1]["first_epoch"] == 1 and parts[1]["last_epoch"] in (done, done + 1)
    assert parts[2]["first_epoch"] == parts[1]["last_epoch"] + 1
    assert parts[2]["last_epoch"] == 30
    assert all(part["seconds"] > 0 for part in parts)
    assert results["train_seconds"] == pytest.approx(sum(p["seconds"] for p in parts), abs=0.2)
    assert {key: stage["epochs"] for key, stage in results["stages"].items()} == {
        "stage1": 1, "stage2": 30}
    # stage 1 ran once: the second run loaded its weights
    assert len((run_dir / "history_stage1.csv").read_text().splitlines()) == 1 + 1
    assert "trained 31 epoch(s)" in second.stdout
