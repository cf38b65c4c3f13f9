"""`export_saved_model` writes any autoencoder or position model with the zoo's
signatures; every signature, reloaded through TF, answers what the Keras model
answers (and `geomae export --model PATH.keras --out DIR` does the same)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from geomae_tf import cli, zoo
from geomae_tf.export import export_saved_model

RNG = np.random.default_rng(0)


def _images(n, size):
    return RNG.uniform(0.0, 1.0, (n, size, size, 1)).astype("float32")


def _build(kind):
    keras.utils.set_random_seed(0)
    if kind == "atomic":
        return zoo.atomic_autoencoder(k=3, d0=2, image_size=16)
    if kind == "disk":
        return zoo.disk_autoencoder()
    if kind == "pca":
        return zoo.pca_autoencoder(latent_dim=2, image_size=16)
    if kind == "position_encoder":
        return zoo.position_encoder()
    return zoo.position_decoder()


@pytest.fixture(scope="module", params=["atomic", "disk", "pca", "position_encoder",
                                        "position_decoder"])
def exported(request, tmp_path_factory):
    model = _build(request.param)
    base = tmp_path_factory.mktemp(request.param)
    path = export_saved_model(model, base)
    return request.param, model, base, path, tf.saved_model.load(str(path))


def test_version_none_writes_the_next_integer_version(exported):
    _, _, base, path, _ = exported
    assert path == base / "1" and (path / "saved_model.pb").is_file()


def test_every_signature_answers_what_the_keras_model_answers(exported):
    kind, model, _, _, loaded = exported
    if kind == "position_encoder":
        assert set(loaded.signatures) == {"serving_default"}
        signals = np.eye(64, dtype="float32")[[0, 17, 63], :, None]
        out = loaded.signatures["serving_default"](signals=tf.constant(signals))
        assert set(out) == {"position"}
        np.testing.assert_allclose(out["position"].numpy(),
                                   model.predict(signals, verbose=0), atol=1e-5)
        return
    if kind == "position_decoder":
        assert set(loaded.signatures) == {"serving_default"}
        position = np.array([[0.0], [12.5], [63.0]], "float32")
        out = loaded.signatures["serving_default"](position=tf.constant(position))
        assert set(out) == {"signals"}
        np.testing.assert_allclose(out["signals"].numpy(),
                                   model.predict(position, verbose=0), atol=1e-5)
        return
    expected = {"serving_default", "encode", "decode"} | (
        {"atoms", "encoder_atoms"} if kind == "atomic" else set())
    assert set(loaded.signatures) == expected
    x = _images(3, model.image_shape[0])
    served = loaded.signatures["serving_default"](images=tf.constant(x))
    np.testing.assert_allclose(served["reconstruction"].numpy(), model.reconstruct(x),
                               atol=1e-5)
    z = loaded.signatures["encode"](images=tf.constant(x))["z"].numpy()
    np.testing.assert_allclose(z, model.encode(x), atol=1e-5)
    back = loaded.signatures["decode"](z=tf.constant(z))["reconstruction"].numpy()
    np.testing.assert_allclose(back, model.decode(z), atol=1e-5)
    if kind == "atomic":
        atoms = loaded.signatures["atoms"](images=tf.constant(x))["atoms"].numpy()
        assert atoms.shape == (3, 3, 16, 16, 1)
        np.testing.assert_allclose(atoms, model.atoms(x), atol=1e-5)
        # the encoder's one-pass atoms sum to the reconstruction (Newson and
        # Traonmilin 2023, eq. 3); `atoms` is the refined decomposition
        one_pass = loaded.signatures["encoder_atoms"](images=tf.constant(x))["atoms"].numpy()
        np.testing.assert_allclose(one_pass, model.atoms(x, refine=False), atol=1e-5)
        np.testing.assert_allclose(one_pass.sum(axis=1), served["reconstruction"].numpy(),
                                   atol=1e-5)


def test_a_second_export_never_replaces_the_first(tmp_path):
    model = _build("position_decoder")
    first = export_saved_model(model, tmp_path)
    second = export_saved_model(model, tmp_path)
    assert (first.name, second.name) == ("1", "2")
    assert (first / "saved_model.pb").is_file()


def test_other_objects_are_refused_by_name(tmp_path):
    with pytest.raises(TypeError, match="`model` must be a keras.Model"):
        export_saved_model("mine.keras", tmp_path)
    with pytest.raises(ValueError, match="`version` must be an int >= 1"):
        export_saved_model(_build("position_decoder"), tmp_path, version=0)


def test_cli_exports_a_model_the_user_trained(tmp_path, capsys):
    model = _build("atomic")
    model.save(tmp_path / "mine.keras")
    out = tmp_path / "served" / "mine"
    assert cli.main(["export", "--model", str(tmp_path / "mine.keras"), "--out", str(out)]) == 0
    assert f"exported to {out / '1'}" in capsys.readouterr().out
    loaded = tf.saved_model.load(str(out / "1"))
    x = _images(2, 16)
    np.testing.assert_allclose(loaded.signatures["atoms"](images=tf.constant(x))["atoms"],
                               model.atoms(x), atol=1e-5)
    # an existing version is replaced only with --force; bad arguments exit with 2
    assert cli.main(["export", "--model", str(tmp_path / "mine.keras"), "--out", str(out),
                     "--version", "1"]) == 2
    assert "exists" in capsys.readouterr().err
    assert cli.main(["export", "--model", str(tmp_path / "nowhere.keras"),
                     "--out", str(out)]) == 2
    assert "--model must be an existing .keras file" in capsys.readouterr().err
    assert cli.main(["export", "--out", str(out)]) == 2


def test_an_existing_version_is_replaced_only_with_overwrite(tmp_path):
    model = _build("position_decoder")
    first = export_saved_model(model, tmp_path, version=1)
    marker = first / "mine.txt"
    marker.write_text("kept")
    with pytest.raises(ValueError, match=r"exists: .*overwrite=True .*version=2"):
        export_saved_model(model, tmp_path, version=1)
    assert marker.read_text() == "kept"
    assert export_saved_model(model, tmp_path, version=1, overwrite=True) == first
    assert not marker.exists() and (first / "saved_model.pb").is_file()
    with pytest.raises(ValueError, match="`overwrite` must be True or False"):
        export_saved_model(model, tmp_path, version=1, overwrite="yes")


def test_a_file_where_a_folder_belongs_is_refused_in_one_line(tmp_path, capsys):
    model = _build("position_decoder")
    a_file = tmp_path / "served"
    a_file.write_text("not a folder")
    for base in (a_file, a_file / "deeper"):
        with pytest.raises(ValueError, match=r"`directory` must be a folder.* is a file"):
            export_saved_model(model, base)
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "1").write_text("a file named like a version")
    with pytest.raises(ValueError, match="is a file, not a version folder"):
        export_saved_model(model, tmp_path / "base", version=1, overwrite=True)
    assert a_file.read_text() == "not a folder"
    # the CLI: one line on stderr, exit 2, for --out and for an existing version
    keras_file = tmp_path / "mine.keras"
    model.save(keras_file)
    assert cli.main(["export", "--model", str(keras_file), "--out", str(a_file)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a file" in err and "Traceback" not in err


def test_cli_exports_a_sequential_and_names_a_corrupt_keras_file(tmp_path, capsys):
    model = keras.Sequential([keras.Input((64, 1)), keras.layers.Conv1D(2, 3),
                              keras.layers.GlobalMaxPooling1D()])
    model.save(tmp_path / "seq.keras")
    out = tmp_path / "served"
    assert cli.main(["export", "--model", str(tmp_path / "seq.keras"), "--out", str(out)]) == 0
    loaded = tf.saved_model.load(str(out / "1"))
    (name, spec), = loaded.signatures["serving_default"].structured_input_signature[1].items()
    assert tuple(spec.shape) == (None, 64, 1)
    # the same version again needs --force, which replaces it
    assert cli.main(["export", "--model", str(tmp_path / "seq.keras"), "--out", str(out),
                     "--version", "1", "--force"]) == 0
    capsys.readouterr()
    (tmp_path / "broken.keras").write_bytes(b"PK\x03\x04 not a zip archive")
    assert cli.main(["export", "--model", str(tmp_path / "broken.keras"), "--out",
                     str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a .keras file" in err and "not found" not in err
