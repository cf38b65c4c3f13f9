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
