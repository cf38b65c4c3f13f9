"""Loading never surprises: `.keras` files load after `import geomae_tf`, saved
weights build the architecture they were saved from (or say which argument
differs), and a missing version names the versions that exist."""

import json
import re
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from geomae_tf import zoo
from geomae_tf.models.atomic.atomic_autoencoder import atomic_autoencoder as bare_factory

PACKAGE = Path(__file__).resolve().parents[2] / "geomae_tf"


def _registered_in_source():
    """The class names decorated with register_keras_serializable in the package."""
    names = set()
    for path in PACKAGE.rglob("*.py"):
        names |= set(re.findall(r"register_keras_serializable\([^)]*\)\s*\nclass (\w+)",
                                path.read_text()))
    return names


def test_a_saved_keras_file_loads_in_a_fresh_process(tmp_path):
    keras.utils.set_random_seed(0)
    models = {"atomic": zoo.atomic_autoencoder(k=2, d0=2, image_size=16),
              "pca": zoo.pca_autoencoder(latent_dim=2, image_size=16)}
    x = np.random.default_rng(0).uniform(size=(3, 16, 16, 1)).astype("float32")
    for name, model in models.items():
        model.save(tmp_path / f"{name}.keras")
    np.save(tmp_path / "x.npy", x)
    code = (
        "import json, sys, numpy as np, geomae_tf, keras\n"
        "from keras.src.saving import object_registration as registry\n"
        "x = np.load(sys.argv[1] + '/x.npy')\n"
        "out = {n: keras.models.load_model(f'{sys.argv[1]}/{n}.keras').reconstruct(x).tolist()\n"
        "       for n in ('atomic', 'pca')}\n"
        "out['registered'] = sorted(k.split('>')[1] for k in registry.GLOBAL_CUSTOM_OBJECTS\n"
        "                           if k.startswith('geomae_tf>'))\n"
        "print(json.dumps(out))\n")
    run = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    for name, model in models.items():
        np.testing.assert_allclose(out[name], model.reconstruct(x), atol=1e-6)
    assert _registered_in_source() <= set(out["registered"])
    assert {"AtomicAutoencoder", "PCAAutoencoder", "AtomicDecoder"} <= set(out["registered"])


def test_an_entry_refuses_a_contradicting_architecture_by_name():
    with pytest.raises(ValueError, match=r"k=5 where the weights have k=10") as err:
        zoo.atomic_autoencoder(k=5, weights="atomic_spikes")
    assert len(str(err.value)) < 600
    with pytest.raises(ValueError, match="saved from atomic_autoencoder, not from "
                                         "disk_autoencoder"):
        zoo.disk_autoencoder(weights="atomic_spikes")


def test_an_entry_builds_the_architecture_it_was_saved_from():
    # the entry's config says output_scale=-1, output_offset=64 (not the defaults)
    encoder = zoo.position_encoder(weights="position_encoder_1d")
    positions = encoder.predict(np.eye(64, dtype="float32")[[3, 30, 60], :, None], verbose=0)
    np.testing.assert_allclose(positions[:, 0], [3, 30, 60], atol=0.5)
    # arguments equal to the saved ones are fine
    assert zoo.atomic_autoencoder(k=10, d0=3, weights="atomic_spikes").k == 10


def test_a_weights_file_with_its_json_beside_it_is_checked_too(tmp_path):
    model = bare_factory(k=2, d0=2, image_size=16)
    path = tmp_path / "mine.weights.h5"
    model.save_weights(str(path))
    (tmp_path / "mine.json").write_text(json.dumps(
        {"factory": "atomic_autoencoder", "model": {"k": 2, "d0": 2, "image_size": 16}}))
    with pytest.raises(ValueError, match="d0=3 where the weights have d0=2"):
        zoo.atomic_autoencoder(d0=3, image_size=16, weights=str(path))
    rebuilt = zoo.atomic_autoencoder(weights=str(path))
    assert (rebuilt.k, rebuilt.d0, rebuilt.image_shape) == (2, 2, (16, 16, 1))
    # without the zoo's wrapper, Keras' failure is reported with the json's arguments
    with pytest.raises(ValueError, match=r"do not fit this model's architecture.*"
                                         r"atomic_autoencoder\(k=2, d0=2, image_size=16\)"):
        bare_factory(k=3, d0=2, image_size=16, weights=str(path))
    # inference options are not architecture: another `refine` than the json's is taken
    (tmp_path / "mine.json").write_text(json.dumps(
        {"factory": "atomic_autoencoder",
         "model": {"k": 2, "d0": 2, "image_size": 16, "refine": {"rounds": 1}}}))
    assert zoo.atomic_autoencoder(weights=str(path), refine=False).get_config()["refine"] is False


def test_an_entry_name_goes_through_the_zoo_which_the_models_do_not_import():
    # the zoo resolves the entry to its file; a model factory takes a path only
    z = np.full((1, 30), 0.5, "float32")
    served = zoo.atomic_autoencoder(weights="atomic_spikes").decoder(z)
    path = zoo.weights.entry_dir("atomic_spikes") / "atomic_spikes.weights.h5"
    bare = bare_factory(k=10, d0=3, weights=str(path), refine=False)
    np.testing.assert_array_equal(np.asarray(bare.decoder(z)), np.asarray(served))
    with pytest.raises(ValueError, match=r"a path to a \.weights\.h5 file \(a zoo entry's "
                                         r"name: geomae_tf\.zoo's factories\)"):
        bare_factory(k=10, d0=3, weights="atomic_spikes")


def test_a_missing_version_names_the_versions_that_exist():
    present = next(iter(zoo.entry_versions("disk_ae").values()))
    assert 99 not in present
    with pytest.raises(FileNotFoundError,
                       match=rf"no version 99\. Versions present: {re.escape(str(present))}"):
        zoo.load("disk_ae", version=99)
    with pytest.raises(ValueError, match="`version` must be an int >= 1"):
        zoo.load("disk_ae", version=0)
