"""`geomae train` exports its SavedModel under every Keras backend.

Only TensorFlow writes SavedModels: under JAX or PyTorch the run's trained
weights go through `python -m geomae_tf.export` in a subprocess under
KERAS_BACKEND=tensorflow (`trainer.export_run`), with no step left to the
user. Run once per backend, as `test_backend_smoke.py`.
"""

import contextlib
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest

BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")
pytest.importorskip(BACKEND, reason=f"KERAS_BACKEND={BACKEND} but the {BACKEND} package is "
                    f"not installed: pip install -e '.[{BACKEND}]' (make test installs it)")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from geomae_tf import cli, zoo  # noqa: E402
from geomae_tf.training.recipe import load_recipe  # noqa: E402
from tests.backends.recipes import tiny_atomic  # noqa: E402


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """`geomae train` of a 1-epoch tiny atomic recipe under this backend (not
    evaluated, exported), and the model it trained, rebuilt here from the
    run's last weights."""
    folder = tmp_path_factory.mktemp(f"export_{BACKEND}")
    recipe = folder / "tiny.toml"
    recipe.write_text(tiny_atomic(n_train=32, training="epochs = 1\nbatch_size = 16\n"
                                                       "seed = 0\n"))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["train", str(recipe), "--out-dir", str(folder / "runs"),
                         "--no-evaluate", "--verbose", "0"])
    run_dir = folder / "runs" / "atomic_spikes"
    model = zoo.atomic_autoencoder(**load_recipe(recipe).model)
    model.load_weights(run_dir / "last.weights.h5")
    results = json.loads((run_dir / "results.json").read_text())
    return {"folder": folder, "code": code, "out": out.getvalue(), "model": model,
            "results": results, "run_dir": run_dir}


def test_geomae_train_exports_its_savedmodel_under_this_backend(trained):
    assert keras.backend.backend() == BACKEND
    assert trained["code"] == 0, trained["out"]
    run_dir = trained["run_dir"]
    export = run_dir / "saved_models" / "atomic_spikes" / "1"
    assert trained["results"]["export"] == str(export)
    assert f"exported to {export}" in trained["out"]
    assert {p.name for p in export.iterdir()} >= {"saved_model.pb", "variables",
                                                  "atomic_spikes.weights.h5",
                                                  "atomic_spikes.json"}
    config = json.loads((export / "atomic_spikes.json").read_text())
    assert config["factory"] == "atomic_autoencoder" and config["model"]["k"] == 3
    assert config["results"]["entry"] == "atomic_spikes"
    # no half-written export and no hand-over folder are left behind
    assert not [p.name for p in run_dir.rglob(".*")]


def test_every_signature_gives_this_backends_outputs(trained):
    """The SavedModel written through TensorFlow computes what the model trained
    here computes, signature by signature."""
    model = trained["model"]
    served = tf.saved_model.load(trained["results"]["export"])
    x = np.random.default_rng(0).uniform(0, 1, (4, 16, 16, 1)).astype("float32")
    z = keras.ops.convert_to_numpy(model.encoder(x))
    expected = {"serving_default": ("images", x, "reconstruction", model(x)),
                "encode": ("images", x, "z", z),
                "decode": ("z", z, "reconstruction", model.decoder(z)),
                "encoder_atoms": ("images", x, "atoms", model.decode_atoms(z))}
    assert set(served.signatures) == set(expected) | {"atoms"}
    for name, (argument, value, output, wanted) in expected.items():
        got = served.signatures[name](**{argument: tf.constant(value)})[output].numpy()
        np.testing.assert_allclose(got, keras.ops.convert_to_numpy(wanted), rtol=1e-4,
                                   atol=1e-5, err_msg=name)
    # `atoms`: the code refined in the graph with the options stored in the export;
    # its discrete steps are compared with `ae.atoms` under TensorFlow
    refine = json.loads((Path(trained["results"]["export"]) / "atomic_spikes.json")
                        .read_text())["model"]["refine"]
    refined = served.signatures["atoms"](images=tf.constant(x))["atoms"].numpy()
    assert refined.shape == (4, 3, 16, 16, 1) and np.all(np.isfinite(refined))
    if BACKEND == "tensorflow":
        np.testing.assert_allclose(refined, model.atoms(x, refine=refine), rtol=1e-4,
                                   atol=1e-5)


def test_the_exported_weights_are_the_trained_ones(trained):
    model = trained["model"]
    copy = zoo.atomic_autoencoder(
        weights=str(Path(trained["results"]["export"]) / "atomic_spikes.weights.h5"))
    for a, b in zip(model.get_weights(), copy.get_weights()):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), b)


@pytest.mark.skipif(BACKEND == "tensorflow", reason="TensorFlow exports in this process")
def test_exporting_in_this_process_is_refused_naming_the_backend(trained):
    from geomae_tf.export.__main__ import export_weights

    weights = Path(trained["results"]["export"]) / "atomic_spikes.weights.h5"
    with pytest.raises(ValueError, match=rf"run with KERAS_BACKEND=tensorflow. Received: "
                                         rf"KERAS_BACKEND='{BACKEND}'"):
        export_weights(weights, "atomic_spikes", trained["folder"] / "out", version=1)
    assert not (trained["folder"] / "out").exists()
