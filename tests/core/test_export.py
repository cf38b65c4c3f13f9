"""SavedModel export with the zoo's serving signatures, reloaded through TF."""

import os
import shutil
import subprocess
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from geomae_tf import zoo
from geomae_tf.datasets import disks
from geomae_tf.export import saved_model as export


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("saved_models")
    keras.utils.set_random_seed(0)
    model = zoo.disk_autoencoder()
    path = export.export_entry(model, "disk_ae", root=root, version=1,
                               config={"factory": "disk_autoencoder", "model": {}})
    return model, root, path


def test_every_signature_matches_the_keras_model(exported):
    model, _, path = exported
    loaded = tf.saved_model.load(str(path))
    assert set(loaded.signatures) == {"serving_default", "encode", "decode"}
    x = disks.render_disks([2.0, 14.0, 30.0]).numpy()
    out = loaded.signatures["serving_default"](images=tf.constant(x))
    assert set(out) == {"reconstruction"}
    np.testing.assert_allclose(out["reconstruction"].numpy(), model.reconstruct(x), atol=1e-5)
    z = loaded.signatures["encode"](images=tf.constant(x))
    assert set(z) == {"z"}
    np.testing.assert_allclose(z["z"].numpy(), model.encode(x), atol=1e-5)
    back = loaded.signatures["decode"](z=z["z"])
    assert set(back) == {"reconstruction"}
    np.testing.assert_allclose(back["reconstruction"].numpy(), model.decode(model.encode(x)),
                               atol=1e-5)


def test_saved_model_cli_shows_the_contract_names(exported):
    _, _, path = exported
    cli = shutil.which("saved_model_cli") or str(Path(os.sys.executable).parent /
                                                 "saved_model_cli")
    shown = subprocess.run([cli, "show", "--dir", str(path), "--all"], capture_output=True,
                           text=True, check=True).stdout
    for name in ("signature_def['serving_default']", "signature_def['encode']",
                 "signature_def['decode']", "inputs['images']", "inputs['z']",
                 "outputs['reconstruction']", "outputs['z']"):
        assert name in shown


def test_models_config_lists_every_entry(exported):
    _, root, _ = exported
    text = (root / "models.config").read_text()
    assert 'name: "disk_ae"' in text
    assert f'base_path: "{(root / "disk_ae").resolve()}"' in text
    export.write_models_config(root, serve_root="/models")
    assert 'base_path: "/models/disk_ae"' in (root / "models.config").read_text()


def test_interrupted_export_leaves_the_previous_version_untouched(exported, monkeypatch):
    model, root, path = exported
    before = {p.relative_to(path): p.read_bytes() for p in path.rglob("*") if p.is_file()}

    def broken_write_out(self, filepath, **kwargs):
        Path(filepath, "saved_model.pb").write_bytes(b"half written")
        raise InterruptedError("interrupted half-way")

    # ExportArchive() returns a backend-specific class: patch that one.
    monkeypatch.setattr(type(keras.export.ExportArchive()), "write_out", broken_write_out)
    with pytest.raises(InterruptedError):
        export.export_entry(model, "disk_ae", root=root, version=1, overwrite=True)
    after = {p.relative_to(path): p.read_bytes() for p in path.rglob("*") if p.is_file()}
    assert after == before
    assert not [p for p in (root / "disk_ae").iterdir() if p.name.startswith(".")]


def test_default_version_never_overwrites(exported):
    model, root, _ = exported
    path = export.export_entry(model, "disk_ae", root=root)
    assert path.name == "2" and (root / "disk_ae" / "1" / "saved_model.pb").is_file()
    shutil.rmtree(path)


def test_bad_entry_names_are_refused(exported):
    model, root, _ = exported
    with pytest.raises(ValueError, match="`entry` must be a name"):
        export.export_entry(model, "../evil", root=root)
