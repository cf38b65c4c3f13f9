"""One atom first (geomae_tf.training.one_atom): a one-block model learns
images of at most one object, its g and encoder trunk start the k-block model,
g stays fixed while the encoder alone learns to use it, and a run resumes
after its last finished stage."""

import json
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from geomae_tf.datasets import spikes, strokes
from geomae_tf.training import one_atom
from geomae_tf.training.recipe import RecipeError, load_recipe
from geomae_tf.zoo import atomic_autoencoder

SIDE = 16

RECIPE = """
entry = "atomic_spikes"
factory = "atomic_autoencoder"
[model]
k = 3
d0 = 3
image_size = 16
[data]
dataset = "spikes"
mode = "stream"
image_size = 16
max_spikes = 3
seed = 1
[training]
trainer = "one_atom_first"
epochs = {epochs}
steps_per_epoch = 2
batch_size = 4
learning_rate = 1e-3
seed = 0
[training.one_atom]
steps = 3
data = {{ max_spikes = 1 }}
blank_rate = 0.25
frozen_block_steps = 2
"""


def write_recipe(tmp_path, epochs=1):
    path = tmp_path / "one_atom.toml"
    path.write_text(textwrap.dedent(RECIPE.format(epochs=epochs)))
    return path


def test_blanks_are_the_asked_share_and_the_rest_is_untouched():
    images = tf.random.stateless_uniform([500, SIDE, SIDE, 1], [3, 4], 0.1, 1.0)
    data = tf.data.Dataset.from_tensor_slices((images, images)).batch(100)
    blanked = list(one_atom.with_blanks(data, 0.3, seed=7))
    inputs = np.concatenate([np.asarray(x) for x, _ in blanked])
    targets = np.concatenate([np.asarray(y) for _, y in blanked])
    np.testing.assert_array_equal(inputs, targets)     # still an autoencoder's pairs
    blank = inputs.max(axis=(1, 2, 3)) == 0
    assert 0.22 < blank.mean() < 0.38
    np.testing.assert_array_equal(inputs[~blank], np.asarray(images)[~blank])


def test_transfer_gives_the_same_atoms_and_encoder_trunk_for_another_k():
    one = atomic_autoencoder(k=1, d0=3, image_size=SIDE)
    many = atomic_autoencoder(k=4, d0=3, image_size=SIDE)
    one_atom.transfer(one, many)
    codes = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    np.testing.assert_array_equal(np.asarray(one.block(codes)), np.asarray(many.block(codes)))
    for layer in one.encoder.layers:
        if layer.weights and layer.name != "z":
            for a, b in zip(layer.get_weights(), many.encoder.get_layer(layer.name).get_weights()):
                np.testing.assert_array_equal(a, b)
    assert many.encoder.get_layer("z").kernel.shape[-1] == 12   # k * d0, not copied


def test_the_stages_run_in_order_keep_g_fixed_in_stage_2_and_resume(tmp_path):
    recipe = load_recipe(write_recipe(tmp_path, epochs=2))
    model = atomic_autoencoder(k=3, d0=3, image_size=SIDE)
    run_dir = tmp_path / "run"
    history = one_atom.fit_recipe(model, recipe, run_dir, verbose=0, epochs=1)
    assert len(history.history["loss"]) == 1 and history.resumed is False
    state = json.loads((run_dir / "one_atom.json").read_text())
    assert state["one_atom"]["steps"] == 3 and state["block_fixed"]["steps"] == 2
    # stage 2 trained the encoder with stage 1's g, unchanged
    one = atomic_autoencoder(k=1, d0=3, image_size=SIDE)
    one.load_weights(str(run_dir / "one_atom.weights.h5"))
    fixed = atomic_autoencoder(k=3, d0=3, image_size=SIDE)
    fixed.load_weights(str(run_dir / "block_fixed.weights.h5"))
    for a, b in zip(one.block.get_weights(), fixed.block.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert any(np.abs(a - b).max() > 0 for a, b in zip(
        one.encoder.get_layer("enc_conv0").get_weights(),
        fixed.encoder.get_layer("enc_conv0").get_weights()))
    # stage 3 trained g jointly
    assert any(np.abs(a - b).max() > 0 for a, b in zip(fixed.block.get_weights(),
                                                       model.block.get_weights()))
    assert all(w.trainable for w in model.block.weights)
    # run again (stage 3 resumes from its own backup when interrupted, as with
    # trainer = "fit"): stages 1 and 2 are not redone
    stamps = [(run_dir / name).stat().st_mtime_ns
              for name in ("one_atom.weights.h5", "block_fixed.weights.h5")]
    fresh = atomic_autoencoder(k=3, d0=3, image_size=SIDE)
    history = one_atom.fit_recipe(fresh, recipe, run_dir, verbose=0)
    assert len(history.history["loss"]) == 2 and history.resumed is True
    assert np.all(np.isfinite(history.history["loss"]))
    assert json.loads((run_dir / "one_atom.json").read_text()) == state
    assert stamps == [(run_dir / name).stat().st_mtime_ns
                      for name in ("one_atom.weights.h5", "block_fixed.weights.h5")]


def test_stage_1_data_hold_at_most_one_object():
    # what the recipe's override gives the one-block model: one spike or none
    data = spikes.training_dataset(batch_size=64, image_size=SIDE, max_spikes=1, seed=1)
    images = np.asarray(next(iter(one_atom.with_blanks(data, 0.25, seed=1)))[0])
    peaks = [(np.asarray(tf.nn.max_pool2d(x[None], 3, 1, "SAME"))[0] == x) & (x > 0.2)
             for x in images]
    assert max(int(p.sum()) for p in peaks) <= 1


STROKES_FIRST = """
dataset = "strokes"
data = { image_size = 16, max_strokes = 1, length_range = [4.0, 10.0], margin = 2.0 }
"""


def test_stage_1_may_draw_single_objects_from_another_dataset(tmp_path):
    # real digits have no one-stroke images: stage 1 then learns synthetic strokes,
    # with that dataset's own defaults, the overrides, the recipe's batch and seed
    path = write_recipe(tmp_path)
    path.write_text(path.read_text().replace("data = { max_spikes = 1 }", STROKES_FIRST))
    recipe = load_recipe(path)
    options = one_atom.check_options(recipe.training["one_atom"])
    got = np.asarray(next(iter(one_atom.stage_one_data(recipe, options)))[0])
    want = np.asarray(next(iter(strokes.training_dataset(
        batch_size=4, seed=0, image_size=16, max_strokes=1, length_range=(4.0, 10.0),
        margin=2.0)))[0])
    np.testing.assert_array_equal(got, want)
    # without `dataset`: the recipe's own data (spikes), with the overrides
    own = one_atom.check_options({"data": {"max_spikes": 1}})
    got = np.asarray(next(iter(one_atom.stage_one_data(recipe, own)))[0])
    want = np.asarray(next(iter(spikes.training_dataset(
        batch_size=4, seed=1, image_size=16, max_spikes=1, mode="stream")))[0])
    np.testing.assert_array_equal(got, want)


def test_a_stage_1_whose_dataset_changed_is_redone(tmp_path):
    path = write_recipe(tmp_path)
    run_dir = tmp_path / "run"
    one_atom.fit_recipe(atomic_autoencoder(k=3, d0=3, image_size=SIDE), load_recipe(path),
                        run_dir, verbose=0)
    first = json.loads((run_dir / "one_atom.json").read_text())
    assert first["one_atom"]["source"] == {"dataset": "spikes", "data": {"max_spikes": 1}}
    path.write_text(path.read_text().replace("data = { max_spikes = 1 }", STROKES_FIRST))
    one_atom.fit_recipe(atomic_autoencoder(k=3, d0=3, image_size=SIDE), load_recipe(path),
                        run_dir, verbose=0)
    second = json.loads((run_dir / "one_atom.json").read_text())
    assert second["one_atom"]["source"]["dataset"] == "strokes"
    assert second["one_atom"]["loss"] != first["one_atom"]["loss"]


def test_the_stages_train_under_a_mixed_dtype_policy(tmp_path):
    from geomae_tf.training import trainer

    path = write_recipe(tmp_path)
    path.write_text(path.read_text().replace("seed = 0",
                                             'seed = 0\ndtype_policy = "mixed_bfloat16"'))
    model, results = trainer.train(path, out_dir=tmp_path / "runs", export=False,
                                   evaluate=False, verbose=0)
    assert results["dtype_policy"] == "mixed_bfloat16"
    assert all(np.isfinite(stage["loss"]) for stage in results["stages"].values())
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())


@pytest.mark.parametrize("old, new, match", [
    ("blank_rate = 0.25", "colour = 1", r"unknown key\(s\) \['colour'\]"),
    ("steps = 3", "steps = 0", "steps"),
    ("blank_rate = 0.25", "blank_rate = 1.0", r"blank_rate` must be in \[0, 1\)"),
    ("data = { max_spikes = 1 }", "data = 1", "data` must be a table"),
    ("frozen_block_steps = 2", "frozen_block_steps = -1", "frozen_block_steps"),
    ("blank_rate = 0.25", 'dataset = "pens"',
     r"`training.one_atom.dataset` must be one of .*'strokes'.*Received: .*'pens'"),
])
def test_bad_one_atom_options_name_the_key(tmp_path, old, new, match):
    path = write_recipe(tmp_path)
    path.write_text(path.read_text().replace(old, new))
    with pytest.raises(RecipeError, match=match):
        load_recipe(path)


def test_one_atom_options_need_the_one_atom_trainer(tmp_path):
    path = write_recipe(tmp_path)
    path.write_text(path.read_text().replace('trainer = "one_atom_first"', 'trainer = "fit"'))
    with pytest.raises(RecipeError, match='trainer = "one_atom_first"'):
        load_recipe(path)


def test_the_trainer_refuses_a_model_that_is_not_atomic(tmp_path):
    recipe = load_recipe(write_recipe(tmp_path))
    with pytest.raises(TypeError, match="atomic autoencoder"):
        one_atom.fit_recipe(keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)]),
                            recipe, tmp_path / "run", verbose=0)


def test_a_stage_whose_steps_changed_is_redone_and_stage_2_after_it(tmp_path):
    path = write_recipe(tmp_path)
    run_dir = tmp_path / "run"
    one_atom.fit_recipe(atomic_autoencoder(k=3, d0=3, image_size=SIDE), load_recipe(path),
                        run_dir, verbose=0)
    first = json.loads((run_dir / "one_atom.json").read_text())
    path.write_text(path.read_text().replace("steps = 3", "steps = 4"))
    one_atom.fit_recipe(atomic_autoencoder(k=3, d0=3, image_size=SIDE), load_recipe(path),
                        run_dir, verbose=0)
    second = json.loads((run_dir / "one_atom.json").read_text())
    assert first["one_atom"]["steps"] == 3 and second["one_atom"]["steps"] == 4
    assert second["block_fixed"]["loss"] != first["block_fixed"]["loss"]   # stage 2 redone


def test_geomae_train_records_every_stage_and_their_summed_time(tmp_path):
    from geomae_tf.training import trainer

    path = write_recipe(tmp_path)
    _, first = trainer.train(path, out_dir=tmp_path / "runs", export=False, evaluate=False,
                             verbose=0)
    stages = first["stages"]
    assert list(stages) == ["one_atom", "block_fixed", "joint"]
    assert [stages[key]["steps"] for key in stages] == [3, 2, 2]
    assert first["train_seconds"] == pytest.approx(sum(s["seconds"] for s in stages.values()),
                                                   abs=0.11)
    assert first["resumed"] is False and first["epochs"] == 1
    # a second run reuses stages 1-2: their times, recorded when they ran, still count
    (tmp_path / "runs" / "atomic_spikes" / "last.weights.h5").unlink()
    _, second = trainer.train(path, out_dir=tmp_path / "runs", export=False, evaluate=False,
                              verbose=0)
    for key in ("one_atom", "block_fixed"):
        assert second["stages"][key] == stages[key]
    assert second["train_seconds"] >= stages["one_atom"]["seconds"] + \
        stages["block_fixed"]["seconds"]
    # ... and the run says so: it resumed after the stages an earlier run finished
    assert second["resumed"] is True
    assert second["stages"]["joint"]["seconds"] == pytest.approx(
        sum(part["seconds"] for part in second["parts"]), abs=0.11)
