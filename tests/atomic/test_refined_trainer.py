"""Fine-tuning g on refined codes (geomae_tf.training.refined): a blurred atom
sharpens when g is fitted to codes that explain each image, g is the model's
own shared block, and a run resumes after its last finished round."""

import json
import textwrap

import keras
import numpy as np
import pytest
from keras import ops

from geomae_tf.layers.atomic_decoder import AtomicDecoder
from geomae_tf.models.atomic import refinement
from geomae_tf.models.atomic.atomic_model import AtomicAutoencoder
from geomae_tf.training import refined
from geomae_tf.training.recipe import RecipeError, load_recipe
from geomae_tf.zoo import atomic_autoencoder

SIDE = 16
TRUE_SIGMA = 1.5


@keras.saving.register_keras_serializable(package="geomae_tf_tests")
class WidthGaussianBlock(keras.layers.Layer):
    """g: (amplitude, row, column) to a Gaussian spike whose width is a weight."""

    def build(self, input_shape):
        self.log_sigma = self.add_weight(shape=(), name="log_sigma",
                                         initializer=keras.initializers.Constant(np.log(2.4)))

    def call(self, z):
        grid = ops.arange(SIDE, dtype="float32")
        row = (SIDE - 1) / 2 + 4.0 * z[:, 1][:, None, None]
        col = (SIDE - 1) / 2 + 4.0 * z[:, 2][:, None, None]
        d2 = (grid[None, :, None] - row) ** 2 + (grid[None, None, :] - col) ** 2
        sigma = ops.exp(self.log_sigma)
        return (z[:, 0][:, None, None] * ops.exp(-d2 / (2 * sigma ** 2)))[..., None]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], SIDE, SIDE, 1)


def width_model(k=3):
    images = keras.Input((SIDE, SIDE, 1))
    encoder = keras.Model(images, keras.layers.Dense(3 * k)(keras.layers.Flatten()(images)))
    code = keras.Input((3 * k,))
    decoder = keras.Model(code, AtomicDecoder(WidthGaussianBlock(), k=k, d0=3)(code))
    model = AtomicAutoencoder(encoder, decoder)
    model.build((None, SIDE, SIDE, 1))
    return model


def spikes_of(codes, sigma=TRUE_SIGMA):
    """Images of spike codes (N, k, 3) with Gaussians of width `sigma`."""
    grid = np.arange(SIDE, dtype=np.float64)
    row = (SIDE - 1) / 2 + 4.0 * codes[..., 1, None, None]
    col = (SIDE - 1) / 2 + 4.0 * codes[..., 2, None, None]
    d2 = (grid[:, None] - row) ** 2 + (grid[None, :] - col) ** 2
    atoms = codes[..., 0, None, None] * np.exp(-d2 / (2 * sigma ** 2))
    return atoms.sum(axis=1)[..., None].astype(np.float32)


def test_a_blurred_atom_sharpens_when_fitted_to_codes_that_explain_the_images():
    # g's atom starts wider (sigma 2.4 px) than the spikes (1.5 px); fitted
    # jointly with the table of codes, its width goes to the spikes' width and
    # the table keeps the true amplitudes and positions.
    rng = np.random.default_rng(0)
    codes = np.stack([rng.uniform(0.5, 1.0, (24, 3)), rng.uniform(-1.2, 1.2, (24, 3)),
                      rng.uniform(-1.2, 1.2, (24, 3))], axis=-1).astype(np.float32)
    images = spikes_of(codes)
    model = width_model()
    table = refined.code_table_model(model, codes.reshape(24, -1), np.ones((24, 3)))
    table.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    table.fit([np.arange(24), np.ones((24, 3), np.float32)], images, batch_size=24,
              epochs=300, verbose=0)
    sigma = float(np.exp(keras.ops.convert_to_numpy(model.block.log_sigma)))
    assert abs(sigma - TRUE_SIGMA) < 0.05
    fitted = keras.ops.convert_to_numpy(table.get_layer("codes").embeddings).reshape(24, 3, 3)
    np.testing.assert_allclose(fitted[..., 0], codes[..., 0], atol=0.05)


def test_the_table_decodes_with_the_models_own_block_and_mask():
    model = atomic_autoencoder(k=2, d0=3, image_size=SIDE)
    codes = np.random.default_rng(1).normal(size=(5, 6)).astype(np.float32)
    live = np.array([[1, 0]] * 5, np.float32)
    table = refined.code_table_model(model, codes, live)
    before = [w.copy() for w in model.block.get_weights()]
    out = keras.ops.convert_to_numpy(table([np.arange(5), live]))
    atoms = model.atoms_from_codes(codes)
    np.testing.assert_allclose(out, atoms[:, 0], atol=1e-5)   # block 2 is switched off
    table.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    table.fit([np.arange(5), live], np.zeros((5, SIDE, SIDE, 1), np.float32), epochs=2,
              verbose=0)
    assert any(np.abs(a - b).max() > 0 for a, b in zip(before, model.block.get_weights()))
    fitted = keras.ops.convert_to_numpy(table.get_layer("codes").embeddings)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(table([np.arange(5), live])),
                               model.atoms_from_codes(fitted)[:, 0], atol=1e-5)


def test_live_blocks_are_the_blocks_not_switched_off():
    model = width_model()
    off = refinement.off_code(model)
    codes = np.array([[0.8, 0.1, 0.1], off, [0.6, -0.5, 0.5]], np.float32)[None]
    np.testing.assert_array_equal(refined.live_blocks(model, codes.reshape(1, -1)),
                                  [[1.0, 0.0, 1.0]])


RECIPE = """
entry = "atomic_spikes_refined"
factory = "atomic_autoencoder"
[model]
k = 2
d0 = 3
image_size = 16
[data]
dataset = "spikes"
mode = "stream"
image_size = 16
max_spikes = 2
seed = 1
[training]
trainer = "refined"
epochs = {epochs}
steps_per_epoch = 2
batch_size = 4
learning_rate = 1e-3
seed = 0
[training.refined]
images_per_round = 6
refine = {{ steps = 3, rounds = 1 }}
"""


def write_recipe(tmp_path, epochs=1):
    path = tmp_path / "refined.toml"
    path.write_text(textwrap.dedent(RECIPE.format(epochs=epochs)))
    return path


def test_a_run_resumes_after_its_last_finished_round(tmp_path):
    recipe = load_recipe(write_recipe(tmp_path, epochs=2))
    model = atomic_autoencoder(k=2, d0=3, image_size=SIDE)
    run_dir = tmp_path / "run"
    history = refined.fit_recipe(model, recipe, run_dir, verbose=0, epochs=1)
    assert history.history["round"] == [1]
    assert (run_dir / "round1.weights.h5").is_file()
    # an interrupted run: a fresh model, the same command, starts from round 1's weights
    fresh = atomic_autoencoder(k=2, d0=3, image_size=SIDE)
    initial = [w.copy() for w in fresh.get_weights()]
    history = refined.fit_recipe(fresh, recipe, run_dir, verbose=0)
    assert history.history["round"] == [1, 2]
    assert np.all(np.isfinite(history.history["loss"]))
    rows = json.loads((run_dir / "rounds.json").read_text())
    assert [row["round"] for row in rows] == [1, 2]
    assert rows[0]["loss"] == history.history["loss"][0]   # round 1 was not redone
    assert any(np.abs(a - b).max() > 0 for a, b in zip(initial, fresh.get_weights()))


@pytest.mark.parametrize("old, new, match", [
    ("images_per_round = 6", "colour = 1", r"unknown key\(s\) \['colour'\]"),
    ("images_per_round = 6", "images_per_round = 0", "images_per_round"),
    ("refine = { steps = 3, rounds = 1 }", "refine = 3", "refine` must be a table"),
    ("images_per_round = 6", "distill_steps = -1", "distill_steps"),
])
def test_bad_refined_options_name_the_key(tmp_path, old, new, match):
    path = write_recipe(tmp_path)
    path.write_text(path.read_text().replace(old, new))
    with pytest.raises(RecipeError, match=match):
        load_recipe(path)


def test_refined_options_need_the_refined_trainer(tmp_path):
    path = write_recipe(tmp_path)
    path.write_text(path.read_text().replace('trainer = "refined"', 'trainer = "fit"'))
    with pytest.raises(RecipeError, match='trainer = "refined"'):
        load_recipe(path)


def test_the_trainer_refuses_a_model_that_is_not_atomic(tmp_path):
    recipe = load_recipe(write_recipe(tmp_path))
    with pytest.raises(TypeError, match="atomic autoencoder"):
        refined.fit_recipe(keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)]),
                           recipe, tmp_path / "run", verbose=0)


@pytest.mark.slow
def test_a_killed_run_resumed_records_every_round_and_part(tmp_path):
    """`geomae train` killed (SIGKILL) after some rounds, then the same
    command: results.json counts every round, the seconds of both parts, and
    that the run was resumed."""
    from tests.interrupt import kill_when, run, train_command

    rounds = 6
    path = write_recipe(tmp_path, epochs=rounds)
    run_dir = tmp_path / "runs" / "atomic_spikes_refined"
    command = train_command(path, tmp_path / "runs")
    state = run_dir / "rounds.json"

    def finished():
        try:
            return len(json.loads(state.read_text()))
        except (OSError, ValueError):
            return 0

    assert kill_when(command, lambda: finished() >= 2), "killed before it ended"
    done = finished()
    assert 2 <= done < rounds, "the run must be killed mid-way"
    second = run(command)
    assert second.returncode == 0, second.stderr[-2000:]
    results = json.loads((run_dir / "results.json").read_text())
    assert results["epochs"] == rounds and results["resumed"] is True
    first, last = results["parts"]
    assert first["first_epoch"] == 1 and first["last_epoch"] in (done, done + 1)
    assert last["first_epoch"] == first["last_epoch"] + 1 and last["last_epoch"] == rounds
    assert first["seconds"] > 0 and last["seconds"] > 0
    assert results["train_seconds"] == pytest.approx(first["seconds"] + last["seconds"],
                                                     abs=0.1)
    assert [row["round"] for row in json.loads(state.read_text())] == list(range(1, rounds + 1))
    assert f"trained {rounds} epoch(s)" in second.stdout
