"""Every zoo family under the Keras backend of this process (KERAS_BACKEND).

`make test` runs this file three times, with KERAS_BACKEND = tensorflow, jax
and torch (the backend is fixed when Keras is imported, so one process per
backend). Under each: every layer passes the shared harness; one tiny
`geomae train` recipe per family (disk, position encoder and decoder, PCA-AE
through the progressive trainer, atomic) trains, saves to `.keras` and
reloads; the weights it trained rebuild under TensorFlow into the SavedModel
of the zoo, whose every signature gives this backend's outputs; and every
trained zoo entry gives TensorFlow's outputs. TensorFlow's side runs in a
subprocess (`tf_side.py`) unless this process is TensorFlow's.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")
pytest.importorskip(BACKEND, reason=f"KERAS_BACKEND={BACKEND} but the {BACKEND} package is "
                    f"not installed: pip install -e '.[{BACKEND}]' (make test installs it)")

import keras  # noqa: E402

from geomae_tf import zoo  # noqa: E402
from geomae_tf.layers import (AtomicDecoder, CentredLatent, CovarianceLoss,  # noqa: E402
                              DiracPositionEncoder, DiracPositionEncoder2D, GaussianSampling,
                              UpsampleConv2D)
from geomae_tf.training import trainer  # noqa: E402
from geomae_tf.training.recipe import load_recipe  # noqa: E402
from tests.backends.recipes import tiny_atomic  # noqa: E402
from tests.harness import check_layer  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def test_keras_runs_the_backend_asked_for():
    assert keras.backend.backend() == BACKEND


def _block():
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(16),
                             keras.layers.Reshape((4, 4, 1))], name="g")


LAYERS = {
    "AtomicDecoder": (lambda: AtomicDecoder(_block(), k=3, d0=2), (6,)),
    "CentredLatent": (lambda: CentredLatent(), (3,)),
    "CovarianceLoss": (lambda: CovarianceLoss(weight=0.5), (3,)),
    "DiracPositionEncoder": (lambda: DiracPositionEncoder(levels=3, scale=2.0), (8, 1)),
    "DiracPositionEncoder2D": (lambda: DiracPositionEncoder2D(levels=2), (4, 8, 1)),
    "GaussianSampling": (lambda: GaussianSampling(kl_weight=0.5, seed=3), (6,)),
    "UpsampleConv2D": (lambda: UpsampleConv2D(3), (5, 6, 2)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_harness(name, tmp_path):
    make, shape = LAYERS[name]
    check_layer(make(), shape, tmp_path, atol=1e-5)


# One tiny recipe per family (the zoo's factories at a small size; `LatentDistanceLoss`
# trains inside the disk model).
RECIPES = {
    "disk": """
entry = "disk_ae"
factory = "disk_autoencoder"
[model]
image_size = 16
depths = [4, 3, 2]
regularizer = "latent_distance"
lam = 0.1
[data]
dataset = "disks"
mode = "fixed"
image_size = 16
n_train = 32
""",
    "position_encoder": """
entry = "position_encoder_1d"
factory = "position_encoder"
[model]
n = 16
[data]
dataset = "diracs"
mode = "onehot"
task = "encode"
length = 16
n_train = 32
""",
    "position_decoder": """
entry = "position_decoder_1d"
factory = "position_decoder"
[model]
n = 16
depths = [1, 2, 4, 4]
[data]
dataset = "diracs"
mode = "continuous"
task = "decode"
length = 16
n_train = 32
""",
    "pca": """
entry = "pca_ae_ellipses"
factory = "pca_autoencoder"
[model]
latent_dim = 2
image_size = 16
[data]
dataset = "ellipses"
mode = "fixed"
image_size = 16
n_train = 32
[training]
trainer = "progressive"
loss = "bce"
""",
    "atomic": tiny_atomic(n_train=32, training=None),
}
TRAINING = "epochs = 2\nbatch_size = 16\nlearning_rate = 1e-3\nseed = 0\n"
FAMILIES = sorted(RECIPES)
_FITTED = {}


def _recipe_text(family):
    text = RECIPES[family]
    if "[training]" in text:
        return text.replace("[training]\n", "[training]\n" + TRAINING)
    return text + "[training]\n" + TRAINING


def _inputs(model, n=3, seed=0):
    """Valid inputs for `model`: images or signals in [0, 1], or positions in [0, n-1]."""
    inputs = model.encoder.inputs if hasattr(model, "encoder") else model.inputs
    shape = tuple(inputs[0].shape[1:])
    rng = np.random.default_rng(seed)
    if shape == (1,):  # a position decoder
        length = int(model.outputs[0].shape[1])
        return rng.uniform(0, length - 1, size=(n, 1)).astype("float32")
    return rng.uniform(size=(n,) + shape).astype("float32")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp(f"backend_{BACKEND}")


def fitted(family, workdir):
    """Trains the family's tiny recipe once under this backend (cached; a
    failure is cached too and raised again to every test that needs it)."""
    if family not in _FITTED:
        try:
            _FITTED[family] = _fit(family, workdir)
        except Exception as err:  # noqa: BLE001 - re-raised below, for each test
            _FITTED[family] = err
    if isinstance(_FITTED[family], Exception):
        raise _FITTED[family]
    return _FITTED[family]


def _fit(family, workdir):
    folder = workdir / family
    folder.mkdir()
    path = folder / f"{family}.toml"
    path.write_text(_recipe_text(family))
    recipe = load_recipe(path)
    trainer.seed_run(recipe.training["seed"])
    initial = trainer.build_model(recipe).get_weights()
    model, results = trainer.train(path, out_dir=folder / "runs", export=False,
                                   evaluate=False, verbose=0)
    weights = folder / f"{family}.weights.h5"
    model.save_weights(weights)
    x = _inputs(model)
    np.save(folder / "x.npy", x)
    record = {"recipe": recipe, "model": model, "initial": initial, "results": results,
              "weights": weights, "x": x, "outputs": keras.ops.convert_to_numpy(model(x))}
    if hasattr(model, "encoder"):
        z = keras.ops.convert_to_numpy(model.encoder(x))
        np.save(folder / "z.npy", z)
        record["z"] = z
        record["decoded"] = keras.ops.convert_to_numpy(model.decoder(z))
        if hasattr(model, "decode_atoms"):
            record["atoms"] = keras.ops.convert_to_numpy(model.decode_atoms(z))
    return record


@pytest.mark.parametrize("family", FAMILIES)
def test_family_trains_saves_and_reloads(family, workdir):
    record = fitted(family, workdir)
    model = record["model"]
    history = record["results"]
    assert history["epochs"] >= 2 and np.isfinite(history["final_loss"])
    after = model.get_weights()
    assert all(np.all(np.isfinite(w)) for w in after)
    moved = max(float(np.max(np.abs(a - b))) for a, b in zip(after, record["initial"])
                if a.size)
    assert moved > 1e-5, "training left every weight where it started"
    path = workdir / family / f"{family}.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reloaded(record["x"])),
                               record["outputs"], rtol=1e-5, atol=1e-6)


def available_entries():
    return zoo.available_entries()


@pytest.fixture(scope="module")
def tensorflow_side(workdir):
    """TensorFlow's outputs: the SavedModels rebuilt from this backend's weights,
    and every trained zoo entry on fixed inputs."""
    jobs = []
    for family in FAMILIES:
        record = fitted(family, workdir)
        recipe = record["recipe"]
        folder = workdir / family
        jobs.append({"export": family, "entry": recipe.entry, "factory": recipe.factory,
                     "model": recipe.model, "weights": str(record["weights"]),
                     "inputs": str(folder / "x.npy"),
                     "codes": str(folder / "z.npy") if "z" in record else None})
    entry_inputs = {}
    for entry in available_entries():
        x = _inputs(zoo.load(entry), seed=1)
        np.save(workdir / f"{entry}.npy", x)
        entry_inputs[entry] = x
        jobs.append({"entry": entry, "inputs": str(workdir / f"{entry}.npy")})
    if BACKEND == "tensorflow":
        sys.path.insert(0, str(HERE))
        import tf_side

        return tf_side.run(jobs), entry_inputs
    (workdir / "jobs.json").write_text(json.dumps(jobs))
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, str(HERE / "tf_side.py"), str(workdir / "jobs.json"),
                           str(workdir / "tf.npz")], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    return dict(np.load(workdir / "tf.npz")), entry_inputs


def _close(got, expected):
    scale = max(1.0, float(np.max(np.abs(expected))))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.parametrize("family", FAMILIES)
def test_weights_trained_here_export_as_the_zoo_savedmodel(family, workdir, tensorflow_side):
    """Trained under this backend, rebuilt under TensorFlow from `.weights.h5`,
    exported: every signature gives this backend's outputs."""
    outputs, _ = tensorflow_side
    record = fitted(family, workdir)
    prefix = f"export/{family}/"
    got = {k[len(prefix):]: v for k, v in outputs.items() if k.startswith(prefix)}
    if "z" in record:  # an autoencoder: the zoo's SavedModel signatures
        expected = {"serving_default/reconstruction": record["outputs"],
                    "encode/z": record["z"], "decode/reconstruction": record["decoded"]}
        if "atoms" in record:
            # the encoder's one-pass atoms; `atoms` is that code refined with the
            # entry's options, whose discrete steps (pruning, reseeding) are compared
            # with `ae.atoms` under one backend in tests/atomic
            expected["encoder_atoms/atoms"] = record["atoms"]
            expected["atoms/atoms"] = None
    else:
        signature = zoo.ENTRIES[record["recipe"].entry]["signature"]
        expected = {f"serving_default/{signature['output']}": record["outputs"]}
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        if value is None:
            assert got[key].shape == got["encoder_atoms/atoms"].shape
            assert np.all(np.isfinite(got[key]))
        else:
            _close(got[key], value)


@pytest.mark.parametrize("entry", sorted(zoo.ENTRIES))
def test_trained_entry_gives_tensorflow_outputs(entry, tensorflow_side):
    outputs, entry_inputs = tensorflow_side
    if entry not in entry_inputs:
        pytest.skip(f"zoo entry {entry!r} is not trained on this machine")
    model = zoo.load(entry)
    x = entry_inputs[entry]
    _close(keras.ops.convert_to_numpy(model(x)), outputs[f"entry/{entry}/outputs"])
    if hasattr(model, "encoder"):
        _close(keras.ops.convert_to_numpy(model.encoder(x)), outputs[f"entry/{entry}/z"])
