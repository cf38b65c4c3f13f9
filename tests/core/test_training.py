"""`geomae train`: reproducible, resumable, and stopped by NaNs."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from geomae_tf import zoo
from geomae_tf.training.recipe import RecipeError, load_recipe
from geomae_tf.training.trainer import TrainingDivergedError, build_model, fit, train
from tests.core.recipes import write_tiny

REPO = Path(__file__).resolve().parents[2]


def test_same_seed_same_weights_on_cpu(tmp_path):
    recipe = write_tiny(tmp_path / "r.toml", seed=3)
    runs = []
    for i in range(2):
        model, _ = train(recipe, out_dir=tmp_path / f"runs{i}", export=False, evaluate=False,
                         verbose=0)
        runs.append(model.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
    other, _ = train(write_tiny(tmp_path / "s.toml", seed=4), out_dir=tmp_path / "runs2",
                     export=False, evaluate=False, verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(runs[0], other.get_weights()))


def test_training_lowers_the_loss_and_records_the_run(tmp_path):
    recipe = write_tiny(tmp_path / "r.toml", epochs=4, learning_rate=3e-3)
    model, results = train(recipe, out_dir=tmp_path / "runs", saved_models=tmp_path / "sm",
                           verbose=0, command="geomae train r.toml")
    history = list(csv.DictReader(open(tmp_path / "runs" / "disk_ae" / "history.csv")))
    losses = [float(row["loss"]) for row in history]
    assert losses[-1] < losses[0]
    recorded = (tmp_path / "runs" / "disk_ae" / "results.json").read_text()
    for key in ('"command": "geomae train r.toml"', '"seed": 0', '"train_seconds"', '"mse"'):
        assert key in recorded
    # The run keeps its own export; nothing is published without being asked.
    run_export = tmp_path / "runs" / "disk_ae" / "saved_models" / "disk_ae" / "1"
    assert Path(results["export"]) == run_export
    assert (Path(results["export"]) / "saved_model.pb").is_file()
    assert not (tmp_path / "sm").exists() and not (tmp_path / "r.results.json").exists()
    assert list((tmp_path / "runs" / "disk_ae" / "logs").rglob("events.out.tfevents.*"))
    # a run in one part: not resumed, every part's seconds recorded, the lock gone
    assert results["resumed"] is False and results["epochs"] == 4
    assert [(p["first_epoch"], p["last_epoch"]) for p in results["parts"]] == [(1, 4)]
    assert results["evaluate_seconds"] > 0 and results["export_seconds"] > 0
    assert not (tmp_path / "runs" / "disk_ae" / "run.lock").exists()


def test_nan_stops_training_and_exports_nothing(tmp_path):
    recipe = write_tiny(tmp_path / "r.toml", epochs=5, learning_rate=1e30)
    with pytest.raises(TrainingDivergedError, match="NaN/inf.*nothing exported"):
        train(recipe, out_dir=tmp_path / "runs", saved_models=tmp_path / "sm", verbose=0)
    assert not (tmp_path / "sm").exists()
    assert not (tmp_path / "runs" / "disk_ae" / "saved_models").exists()


def _epochs(path):
    if not path.exists():
        return []
    return [int(row["epoch"]) for row in csv.DictReader(open(path))]


@pytest.mark.slow
def test_a_finished_run_is_not_trained_again(tmp_path):
    """Run again on a folder whose run ended (stopped in its evaluation or
    export, say), `geomae train` takes its last weights and recorded history
    instead of training anew: same weights, same record, nothing rewritten."""
    recipe = write_tiny(tmp_path / "r.toml", epochs=3)
    first, results = train(recipe, out_dir=tmp_path / "runs", export=False, evaluate=False,
                           verbose=0)
    run_dir = tmp_path / "runs" / "disk_ae"
    stamps = {name: (run_dir / name).stat().st_mtime_ns
              for name in ("parts.json", "history.csv", "last.weights.h5")}
    again, second = train(recipe, out_dir=tmp_path / "runs", export=False, evaluate=False,
                          verbose=0)
    for a, b in zip(first.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    for key in ("epochs", "final_loss", "train_seconds", "parts"):
        assert second[key] == results[key], key
    assert stamps == {name: (run_dir / name).stat().st_mtime_ns for name in stamps}
    # a longer recipe is no finished run: it trains (from scratch, the backup being gone)
    longer = write_tiny(tmp_path / "r.toml", epochs=4)
    _, third = train(longer, out_dir=tmp_path / "runs", export=False, evaluate=False,
                     verbose=0)
    assert third["epochs"] == 4


def test_killed_run_resumes_from_its_last_completed_epoch(tmp_path):
    recipe = write_tiny(tmp_path / "r.toml", n_train=300, epochs=25, batch_size=30)
    command = [sys.executable, "-m", "geomae_tf", "train", str(recipe), "--out-dir",
               str(tmp_path / "runs"), "--no-export", "--no-evaluate", "--verbose", "2"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    history = tmp_path / "runs" / "disk_ae" / "history.csv"
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while len(_epochs(history)) < 3 and time.time() < deadline and first.poll() is None:
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait()
    done_before = _epochs(history)
    assert 3 <= len(done_before) < 25, "the run must be killed mid-training"

    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-2000:]
    epochs = _epochs(history)
    resumed = epochs[len(done_before):]
    # It continues (no restart at epoch 0) right after the last backed-up epoch
    # (the backup is written before the CSV line, so at most one epoch more).
    assert resumed[0] in (done_before[-1] + 1, done_before[-1] + 2)
    assert resumed[-1] == 24
    assert 0 not in resumed
    # results.json counts both parts: every epoch, the seconds of each part, resumed
    results = json.loads((tmp_path / "runs" / "disk_ae" / "results.json").read_text())
    assert results["epochs"] == 25 and results["resumed"] is True
    first_part, second_part = results["parts"]
    assert first_part["first_epoch"] == 1 and second_part["last_epoch"] == 25
    assert second_part["first_epoch"] == resumed[0] + 1 <= first_part["last_epoch"] + 1
    assert first_part["seconds"] > 0 and second_part["seconds"] > 0
    assert results["train_seconds"] == pytest.approx(
        first_part["seconds"] + second_part["seconds"], abs=0.1)
    assert "trained 25 epoch(s)" in second.stdout


def test_unknown_recipe_keys_are_named(tmp_path):
    bad = write_tiny(tmp_path / "r.toml", extra="\n[export]\nversoin = 2\n")
    with pytest.raises(RecipeError, match=r"unknown key\(s\) \['versoin'\] in \[export\]"):
        load_recipe(bad)
    bad.write_text(bad.read_text().replace("latent_dim = 1", "latent_dims = 1"))
    with pytest.raises(RecipeError, match=r"\['latent_dims'\] in \[model\]"):
        load_recipe(bad)
    with pytest.raises(RecipeError, match="must be a .toml file"):
        load_recipe(tmp_path / "r.yaml")
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_recipe(tmp_path / "missing.toml")


def test_cosine_schedule_decays_to_one_percent_over_the_run(tmp_path):
    from geomae_tf.training.trainer import learning_rate

    recipe = load_recipe(write_tiny(tmp_path / "r.toml", n_train=60, batch_size=30,
                                    epochs=4, extra=""))
    assert learning_rate(recipe.training, 2, 4) == recipe.training["learning_rate"]
    cosine = dict(recipe.training, lr_schedule="cosine")
    schedule = learning_rate(cosine, steps_per_epoch=2, epochs=4)
    start, middle, end = (float(schedule(step)) for step in (0, 4, 8))
    assert start == pytest.approx(1e-3)
    assert middle == pytest.approx(1e-3 * (0.01 + 0.99 * 0.5))  # half-way down the cosine
    assert end == pytest.approx(1e-5)


def test_cosine_recipe_trains_with_fit_and_bad_schedules_are_named(tmp_path):
    text = write_tiny(tmp_path / "r.toml", n_train=60, batch_size=30, epochs=2).read_text()
    good = tmp_path / "cosine.toml"
    good.write_text(text.replace("seed = 0", "seed = 0\nlr_schedule = \"cosine\"\nbeta_1 = 0.5"))
    recipe = load_recipe(good)
    model = build_model(recipe)
    history = fit(model, recipe, tmp_path / "run", verbose=0)
    # 2 epochs of 2 steps: the optimizer's rate ends at 1% of the recipe's.
    assert int(model.optimizer.iterations) == 4
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-5)
    assert float(model.optimizer.beta_1) == 0.5
    assert np.all(np.isfinite(history.history["loss"]))
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("seed = 0", "seed = 0\nlr_schedule = \"linear\""))
    with pytest.raises(RecipeError, match="lr_schedule.*linear"):
        load_recipe(bad)


def test_mixed_bfloat16_run_trains_in_bfloat16_and_yields_a_float32_entry(tmp_path):
    import keras

    from geomae_tf.training.trainer import as_float32

    text = write_tiny(tmp_path / "r.toml", epochs=3, learning_rate=3e-3).read_text()
    mixed = tmp_path / "mixed.toml"
    mixed.write_text(text.replace("seed = 0", "seed = 0\ndtype_policy = \"mixed_bfloat16\""))
    recipe = load_recipe(mixed)
    built = build_model(recipe, recipe.training["dtype_policy"])
    # Under the policy: bfloat16 compute, float32 variables; the global policy is untouched.
    assert {layer.compute_dtype for layer in built.layers if layer.weights} == {"bfloat16"}
    assert {w.dtype for w in built.weights} == {"float32"}
    assert keras.config.dtype_policy().name == "float32"
    # The float32 copy holds exactly the same values and computes in float32.
    copy = as_float32(built, recipe)
    assert copy.dtype_policy.name == "float32"
    for a, b in zip(built.get_weights(), copy.get_weights()):
        np.testing.assert_array_equal(a, b)

    model, results = train(mixed, out_dir=tmp_path / "runs", saved_models=tmp_path / "sm",
                           verbose=0)
    losses = [float(row["loss"]) for row in
              csv.DictReader(open(tmp_path / "runs" / "disk_ae" / "history.csv"))]
    assert losses[-1] < losses[0]
    assert results["dtype_policy"] == "mixed_bfloat16"
    assert model.dtype_policy.name == "float32"
    assert keras.config.dtype_policy().name == "float32"
    assert np.isfinite(results["metrics"]["mse"])
    assert (Path(results["export"]) / "saved_model.pb").is_file()


def test_bad_dtype_policies_are_named(tmp_path):
    text = write_tiny(tmp_path / "r.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("seed = 0", "seed = 0\ndtype_policy = \"float16\""))
    with pytest.raises(RecipeError, match=r"`training.dtype_policy` must be one of "
                                          r"\['auto', 'float32', 'mixed_bfloat16'\]. Received: "
                                          r"training.dtype_policy='float16'"):
        load_recipe(bad)
    bad.write_text(text.replace("seed = 0", "seed = 0\ndtype_policy = \"mixed_bfloat16\"\n"
                                            "trainer = \"progressive\""))
    with pytest.raises(RecipeError, match=r"needs trainer = \"fit\""):
        load_recipe(bad)


def test_a_misspelt_trainer_is_refused_when_the_recipe_loads(tmp_path):
    """The recipe checks `[training] trainer` against the trainer registry:
    the error names the file, the section, the key, every trainer and what
    came, before any model is built."""
    from geomae_tf.training.registry import TRAINERS

    path = write_tiny(tmp_path / "r.toml")
    path.write_text(path.read_text().replace("[training]\n",
                                             "[training]\ntrainer = \"progresive\"\n"))
    with pytest.raises(RecipeError) as refused:
        load_recipe(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: [training] trainer must be one of ")
    assert str(sorted(TRAINERS)) in message and "Received: trainer='progresive'" in message
    # one mechanism: every trainer is an object with its own fit, and its options
    # table, where it has one, is checked by its own check_options
    assert sorted(TRAINERS) == ["fit", "one_atom_first", "progressive", "refined"]
    assert all(callable(trainer.fit) and trainer.name == name
               for name, trainer in TRAINERS.items())
    assert {name: trainer.options_key for name, trainer in TRAINERS.items()
            if trainer.options_key} == {"one_atom_first": "one_atom", "refined": "refined"}
    path.write_text(path.read_text().replace("\"progresive\"", "\"fit\"")
                    + "\n[training.one_atom]\nsteps = 3\n")
    with pytest.raises(RecipeError, match=r"\[training.one_atom\] needs trainer = "
                                          r"\"one_atom_first\". Received: trainer='fit'"):
        load_recipe(path)


def test_a_misspelt_family_is_refused_when_the_recipe_loads(tmp_path):
    """`[evaluation] family` is checked against the families' registry, which
    holds objects like the trainers' (no "module:function" strings): every
    family of the zoo has one, with its own evaluate and figures."""
    from geomae_tf.analysis.families import FAMILIES, Family

    assert {spec["family"] for spec in zoo.ENTRIES.values()} == set(FAMILIES)
    assert all(isinstance(family, Family) and family.name == name
               and callable(family.evaluate) and callable(family.figures)
               for name, family in FAMILIES.items())
    assert FAMILIES["atomic_mnist"].evaluate.__name__ == "evaluate_mnist"
    path = write_tiny(tmp_path / "r.toml")
    path.write_text(path.read_text().replace("[evaluation]\n",
                                             "[evaluation]\nfamily = \"dsik\"\n"))
    with pytest.raises(RecipeError) as refused:
        load_recipe(path)
    assert str(refused.value) == (f"{path}: [evaluation] family must be one of "
                                  f"{sorted(FAMILIES)}. Received: family='dsik'")
