"""Data-parallel training on two CPU devices of one host (`geomae train --devices N`).

Run once per Keras backend, as `test_backend_smoke.py`. JAX and TensorFlow
start a fresh process with the CPU split in two
(`XLA_FLAGS=--xla_force_host_platform_device_count=2`, see `parallel_step.py`);
PyTorch has no data-parallel path and must say so.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")
pytest.importorskip(BACKEND, reason=f"KERAS_BACKEND={BACKEND} but the {BACKEND} package is "
                    f"not installed: pip install -e '.[{BACKEND}]' (make test installs it)")

import keras  # noqa: E402

from geomae_tf.training import distribute  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
parallel = pytest.mark.skipif(BACKEND not in distribute.SUPPORTED_BACKENDS,
                              reason=f"no data-parallel path under KERAS_BACKEND={BACKEND}")


@pytest.fixture(scope="module")
def two_device_step():
    env = dict(os.environ, KERAS_BACKEND=BACKEND, TF_CPP_MIN_LOG_LEVEL="3",
               XLA_FLAGS="--xla_force_host_platform_device_count=2")
    done = subprocess.run([sys.executable, str(REPO / "tests" / "backends" / "parallel_step.py"),
                           "2"], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@parallel
@pytest.mark.parametrize("kind", ["atomic", "pca"])
def test_two_device_step_averages_gradients(two_device_step, kind):
    """One step on 2B images over two devices is the one-device step (averaged
    gradients); a sum over the devices would double the update."""
    report = two_device_step
    assert report["backend"] == BACKEND and len(report["devices"]) == 2
    result = report[kind]
    assert result["update_size"] > 1e-4  # the step moves the weights well above rounding
    assert result["parallel_vs_reference"] < 1e-4, result
    assert result["parallel_vs_summed"] == pytest.approx(0.5, abs=0.01), result
    # Batch statistics: global under JAX, per replica under TensorFlow.
    expected = "halves" if (kind == "pca" and BACKEND == "tensorflow") else "full"
    assert result["reference"] == expected


@parallel
def test_two_device_run_stays_finite(two_device_step):
    result = two_device_step["atomic"]
    assert len(result["run_losses"]) == 3 and result["run_weights_finite"]
    assert all(0.0 < v < 1.0 for v in result["run_losses"]), result["run_losses"]


@parallel
def test_more_devices_than_exist_is_refused_by_name():
    found = distribute.local_devices()
    with pytest.raises(ValueError, match=r"`devices` \(geomae train --devices\) must be at most") as err:
        distribute.check_devices(len(found) + 1)
    assert f"Received: devices={len(found) + 1}" in str(err.value)
    assert found[0] in str(err.value)


def test_one_device_needs_no_distribution():
    assert distribute.check_devices(None) == 1 and distribute.check_devices(1) == 1
    with distribute.data_parallel(1) as scope:
        assert scope is None
    with pytest.raises(ValueError, match=r"`devices` must be an int >= 1. Received: devices=0"):
        distribute.check_devices(0)


@pytest.mark.skipif(BACKEND in distribute.SUPPORTED_BACKENDS,
                    reason=f"KERAS_BACKEND={BACKEND} has a data-parallel path")
def test_backend_without_data_parallel_path_is_refused_by_name():
    with pytest.raises(ValueError, match=r"needs KERAS_BACKEND to be one of \['jax', "
                                         r"'tensorflow'\]") as err:
        distribute.check_devices(2)
    assert f"Received: devices=2 with KERAS_BACKEND='{keras.backend.backend()}'" in str(
        err.value)


def test_unknown_backend_is_refused_by_name():
    with pytest.raises(ValueError, match=r"Received: KERAS_BACKEND='numpy'"):
        distribute.local_devices("numpy")
    with pytest.raises(ValueError, match=r"Received: devices=2 with KERAS_BACKEND='numpy'"):
        distribute.check_devices(2, backend="numpy")


@parallel
def test_geomae_train_devices_runs_data_parallel(two_device_step):
    """`geomae train RECIPE --devices 2` (a tiny atomic recipe) trains and ends
    finite; under TensorFlow it exports its one-device copy (elsewhere it runs
    with --no-export to stay short: test_export_any_backend.py checks that export)."""
    cli = two_device_step["cli"]
    assert cli["exit_code"] == 0 and cli["epochs"] == 2
    assert 0.0 < cli["final_loss"] < 1.0
    if BACKEND == "tensorflow":
        assert cli["export"] and Path(cli["export"]).name == "1"


def test_geomae_train_refuses_more_devices_than_exist(tmp_path, capsys):
    from geomae_tf import cli
    from tests.core.recipes import write_tiny

    recipe = write_tiny(tmp_path / "tiny.toml")
    code = cli.main(["train", str(recipe), "--devices", "64", "--no-export",
                     "--out-dir", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "geomae train: error: `devices` (geomae train --devices)" in err
    assert "Received: devices=64" in err
    assert not (tmp_path / "disk_ae").exists()  # refused before anything was written
