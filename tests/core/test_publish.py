"""Nothing published is ever overwritten: runs stay in their run folder, and
publishing (`geomae train RECIPE --publish`, `geomae export ENTRY --version N`)
writes a new version unless told to replace one."""

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from geomae_tf import cli
from geomae_tf.training.recipe import load_recipe
from geomae_tf.training.trainer import (PublishError, publish_run, publish_target,
                                        train)
from tests.core.recipes import write_tiny

REPO = Path(__file__).resolve().parents[2]


def _snapshot(*roots):
    """{path: sha256} of every file under `roots` (files or folders)."""
    out = {}
    for root in roots:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for f in files:
            out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


@pytest.fixture
def published(tmp_path):
    """A recipe beside its published results, and a saved_models root holding
    a copy of the published `disk_ae` version 1."""
    recipe = write_tiny(tmp_path / "disk_ae.toml", n_train=30, epochs=1)
    (tmp_path / "disk_ae.results.json").write_text('{"entry": "disk_ae", "published": 1}\n')
    root = tmp_path / "saved_models"
    shutil.copytree(REPO / "saved_models" / "disk_ae" / "1", root / "disk_ae" / "1")
    return recipe, root


def test_a_run_with_an_override_touches_nothing_published(published, tmp_path):
    recipe, root = published
    before = _snapshot(root, tmp_path / "disk_ae.results.json")
    model, results = train(recipe, out_dir=tmp_path / "runs", saved_models=root, epochs=1,
                           verbose=0)
    assert _snapshot(root, tmp_path / "disk_ae.results.json") == before
    assert sorted(p.name for p in (root / "disk_ae").iterdir()) == ["1"]
    run = tmp_path / "runs" / "disk_ae"
    assert (run / "results.json").is_file() and "published" not in results
    assert (Path(results["export"]) / "saved_model.pb").is_file()
    assert Path(results["export"]).is_relative_to(run)
    # An override is never published, and the refusal comes before any training.
    with pytest.raises(PublishError, match=r"never published.*Received: publish with epochs"):
        train(recipe, out_dir=tmp_path / "runs2", saved_models=root, epochs=1, publish=True)
    with pytest.raises(PublishError, match="no evaluation"):
        train(recipe, out_dir=tmp_path / "runs2", saved_models=root, evaluate=False,
              publish=True)
    assert not (tmp_path / "runs2").exists()
    assert _snapshot(root, tmp_path / "disk_ae.results.json") == before


def test_publishing_onto_an_existing_version_is_refused_without_force(published, tmp_path):
    recipe, root = published
    pinned = tmp_path / "pinned.toml"  # the zoo's recipes name their version
    pinned.write_text(recipe.read_text() + "\n[export]\nversion = 1\n")
    (tmp_path / "pinned.results.json").write_text("{}\n")
    before = _snapshot(root, tmp_path / "pinned.results.json")
    with pytest.raises(PublishError, match=r"disk_ae/1 is already published.*version=2.*"
                                           r"force=True"):
        train(pinned, out_dir=tmp_path / "runs", saved_models=root, publish=True)
    with pytest.raises(PublishError, match="already published"):
        train(recipe, out_dir=tmp_path / "runs", saved_models=root, publish=True, version=1)
    assert not (tmp_path / "runs").exists()  # refused before training
    assert _snapshot(root, tmp_path / "pinned.results.json") == before
    assert publish_target(load_recipe(pinned), root, force=True) == root / "disk_ae" / "1"
    assert publish_target(load_recipe(recipe), root) == root / "disk_ae" / "2"


def _weights(folder, entry="disk_ae"):
    """The model weights of a version folder, rebuilt as `geomae_tf.zoo.load` does."""
    from geomae_tf import zoo

    config = json.loads((folder / f"{entry}.json").read_text())
    model = zoo.FACTORIES[config["factory"]](**config["model"],
                                             weights=str(folder / f"{entry}.weights.h5"))
    return np.concatenate([w.ravel() for w in model.get_weights()])


def test_publishing_writes_a_new_version_and_the_published_results(published, tmp_path):
    import tensorflow as tf

    recipe, root = published
    before = _snapshot(root / "disk_ae" / "1")
    model, results = train(recipe, out_dir=tmp_path / "runs", saved_models=root,
                           publish=True, verbose=0, command="geomae train --publish")
    target = root / "disk_ae" / "2"
    assert results["published"] == str(target)
    assert _snapshot(root / "disk_ae" / "1") == before
    recorded = (tmp_path / "disk_ae.results.json").read_text()
    assert f'"export": "{target}"' in recorded and '"mse"' in recorded
    assert 'name: "disk_ae"' in (root / "models.config").read_text()
    loaded = tf.saved_model.load(str(target))
    x = np.zeros((2, 64, 64, 1), np.float32)
    out = loaded.signatures["serving_default"](images=tf.constant(x))["reconstruction"]
    np.testing.assert_allclose(out.numpy(), model.reconstruct(x), atol=1e-5)

    # --force replaces a version with the run, whole (the version's old files go).
    (root / "disk_ae" / "1" / "stale.txt").write_text("from the replaced version")
    replaced = publish_run(results["export"], results, load_recipe(recipe),
                           publish_target(load_recipe(recipe), root, version=1, force=True))
    assert replaced == root / "disk_ae" / "1" and not (replaced / "stale.txt").exists()
    np.testing.assert_array_equal(_weights(replaced), _weights(target))
    assert not [p for p in (root / "disk_ae").iterdir() if p.name.startswith(".")]


def test_cli_train_refuses_publish_with_an_override(published, capsys):
    recipe, root = published
    code = cli.main(["train", str(recipe), "--publish", "--epochs", "1",
                     "--saved-models", str(root)])
    assert code == 2
    assert "never published" in capsys.readouterr().err
    assert cli.main(["train", str(recipe), "--force"]) == 2
    assert "add --publish" in capsys.readouterr().err


def test_cli_export_entry_names_the_version_it_writes(published, monkeypatch, capsys):
    _, root = published
    monkeypatch.setenv("GEOMAE_SAVED_MODELS", str(root))
    before = _snapshot(root)
    assert cli.main(["export", "disk_ae", "--saved-models", str(root)]) == 2
    err = capsys.readouterr().err
    assert f"writes {root}/disk_ae/<version>/" in err and "--version 2" in err
    assert cli.main(["export", "disk_ae", "--saved-models", str(root), "--version", "1"]) == 2
    assert "never overwrites" in capsys.readouterr().err
    assert _snapshot(root) == before

    assert cli.main(["export", "disk_ae", "--saved-models", str(root), "--version", "2"]) == 0
    out = capsys.readouterr().out
    assert f"exported to {root}/disk_ae/2 (the latest version" in out
    assert (root / "disk_ae" / "2" / "saved_model.pb").is_file()
    # a new version serves the latest one's weights, and says so
    assert json.loads((root / "disk_ae" / "2" / "disk_ae.json").read_text())[
        "weights_from_version"] == 1
    np.testing.assert_array_equal(_weights(root / "disk_ae" / "2"),
                                  _weights(root / "disk_ae" / "1"))
    # Rewriting version 1 in place re-exports version 1's own weights.
    assert cli.main(["export", "disk_ae", "--saved-models", str(root), "--version", "1",
                     "--force"]) == 0
    assert "version 2 stays the latest" in capsys.readouterr().out
    np.testing.assert_array_equal(_weights(root / "disk_ae" / "1"),
                                  _weights(REPO / "saved_models" / "disk_ae" / "1"))
