"""The zoo recipes of the position family load, build and feed their models."""

import inspect
from pathlib import Path

import numpy as np
import pytest

from geomae_tf import datasets, zoo
from geomae_tf.analysis import position as analysis
from geomae_tf.training.recipe import load_recipe

ZOO = Path(__file__).resolve().parents[2] / "zoo"
CASES = [("position_encoder_1d", analysis.evaluate_encoder, (64, 1), (1,)),
         ("position_decoder_1d", analysis.evaluate_decoder, (1,), (64, 1))]


@pytest.mark.parametrize("entry, evaluate, x_shape, y_shape", CASES)
def test_recipe_builds_its_model_and_data(entry, evaluate, x_shape, y_shape):
    recipe = load_recipe(ZOO / f"{entry}.toml")
    assert recipe.entry == entry and entry in zoo.ENTRIES
    model = zoo.FACTORIES[recipe.factory](**recipe.model)
    data = datasets.DATASETS[recipe.dataset].training_dataset(**recipe.data_kwargs())
    x, y = next(iter(data))
    assert tuple(x.shape[1:]) == x_shape and tuple(y.shape[1:]) == y_shape
    assert tuple(model(x).shape) == tuple(y.shape)
    signature = zoo.ENTRIES[entry]["signature"]
    assert model.inputs[0].name == signature["input"]
    assert set(recipe.evaluation) <= set(inspect.signature(evaluate).parameters)


def test_encoder_recipe_output_map_returns_the_position():
    # The recipe's fixed output map (position = 64 - E(x)) composed with the
    # [1, 2, 1] network (E(delta_a) = 64 - a) is the identity on positions.
    recipe = load_recipe(ZOO / "position_encoder_1d.toml")
    model = zoo.position_encoder(**recipe.model)
    for level in range(6):
        model.get_layer(f"enc_conv{level}").set_weights(
            [np.array([1, 2, 1], "float32").reshape(3, 1, 1), np.zeros(1, "float32")])
    out = np.asarray(model(np.eye(64, dtype="float32")[:, :, None]))[:, 0]
    np.testing.assert_allclose(out, np.arange(64), atol=1e-5)
