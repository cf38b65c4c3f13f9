"""Multi-process data-parallel training (`geomae train --coordinator HOST:PORT
--num-processes N --process-id I`), JAX only.

Two processes on 127.0.0.1, one CPU device each, train a tiny atomic recipe
(`multiprocess_worker.py`): JAX's CPU collectives (gloo) carry the
all-reduce between the processes, as they would between hosts. The run is
started once, under `KERAS_BACKEND=jax` (`make test`'s JAX pass); the
refusals and the checks of the settings run under every backend.
"""

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")
pytest.importorskip(BACKEND, reason=f"KERAS_BACKEND={BACKEND} but the {BACKEND} package is "
                    f"not installed: pip install -e '.[{BACKEND}]' (make test installs it)")

from geomae_tf.training import distribute  # noqa: E402
from tests.backends.recipes import tiny_atomic  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
WORKER = REPO / "tests" / "backends" / "multiprocess_worker.py"
jax_only = pytest.mark.skipif(BACKEND != "jax", reason="multi-process runs are JAX's "
                              "(run by make test's KERAS_BACKEND=jax pass)")

RECIPE = tiny_atomic(n_train=40)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment():
    return dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3", XLA_FLAGS="",
                PYTHONPATH=str(REPO))


def start(argv):
    return subprocess.Popen(argv, env=environment(), cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(process, timeout):
    """(exit code, stdout, stderr) of `process`, killed past `timeout` seconds."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"a process ran past {timeout} s (a hang): {err[-3000:]}")
    return process.returncode, out, err


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("multiprocess")
    recipe = folder / "tiny_atomic.toml"
    recipe.write_text(RECIPE)
    port = free_port()
    processes = [start([sys.executable, str(WORKER), str(folder), "--", "train", str(recipe),
                        "--coordinator", f"127.0.0.1:{port}", "--num-processes", "2",
                        "--process-id", str(i), "--coordinator-timeout", "60",
                        "--out-dir", str(folder / "runs"), "--no-export", "--no-evaluate"])
                 for i in (0, 1)]
    done = [finish(p, timeout=300) for p in processes]
    for code, _, err in done:
        assert code == 0, err[-4000:]
    results = [json.loads(out.strip().splitlines()[-1]) for _, out, _ in done]
    weights = [list(np.load(folder / f"weights-{i}.npz").values()) for i in (0, 1)]
    return {"folder": folder, "results": results, "weights": weights}


@jax_only
@pytest.mark.slow  # two processes start JAX and TensorFlow: ~1-2 min
def test_two_processes_end_with_the_same_finite_weights(two_process_run):
    """Each process computes the gradient of its half of every global batch;
    the all-reduce between them makes one update, so both end bit-identical."""
    first, second = two_process_run["results"]
    assert (first["process_index"], second["process_index"]) == (0, 1)
    assert first["process_count"] == second["process_count"] == 2
    assert first["processes"] == second["processes"] == 2
    assert first["epochs"] == second["epochs"] == 2
    assert first["final_loss"] == second["final_loss"]
    assert math.isfinite(first["final_loss"]) and 0.0 < first["final_loss"] < 1.0
    a, b = two_process_run["weights"]
    assert len(a) == len(b) > 0
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert all(np.all(np.isfinite(x)) for x in a)


@jax_only
@pytest.mark.slow  # two processes start JAX and TensorFlow: ~1-2 min
def test_only_process_zero_writes_the_run(two_process_run):
    import keras

    run_dir = two_process_run["folder"] / "runs" / "atomic_spikes"
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "history.csv", "last.weights.h5", "logs", "parts.json", "results.json"]  # no process-1 folder
    written = json.loads((run_dir / "results.json").read_text())
    assert written["processes"] == 2 and written["final_loss"] == two_process_run[
        "results"][0]["final_loss"]
    history = (run_dir / "history.csv").read_text().strip().splitlines()
    assert len(history) == 1 + 2  # header and one line per epoch, written once
    # The weights process 0 saved are the ones both processes ended with.
    from geomae_tf import zoo

    model = zoo.atomic_autoencoder(k=3, d0=3, image_size=16, block_units=8)
    model.load_weights(run_dir / "last.weights.h5")
    saved = [keras.ops.convert_to_numpy(w) for w in model.get_weights()]
    assert all(np.array_equal(x, y) for x, y in zip(saved, two_process_run["weights"][1]))


def cli_train(tmp_path, *options):
    recipe = tmp_path / "tiny_atomic.toml"
    recipe.write_text(RECIPE)
    return [sys.executable, "-m", "geomae_tf.cli", "train", str(recipe), "--no-export",
            "--no-evaluate", "--out-dir", str(tmp_path / "runs"), *options]


@jax_only
def test_unreachable_coordinator_is_a_clear_error(tmp_path):
    """Process 1 with no process 0 listening: exit code 2 and a message
    naming the address, after --coordinator-timeout seconds (no hang)."""
    address = f"127.0.0.1:{free_port()}"
    code, _, err = finish(start(cli_train(
        tmp_path, "--coordinator", address, "--num-processes", "2", "--process-id", "1",
        "--coordinator-timeout", "3")), timeout=120)
    assert code == 2, err[-3000:]
    assert f"geomae train: error: the coordinator {address} (--coordinator) did not " \
           f"answer within 3 s" in err
    assert not (tmp_path / "runs").exists()


@jax_only
def test_missing_processes_end_the_coordinator(tmp_path):
    """Process 0 whose peers never come: JAX ends it after the timeout
    (DEADLINE_EXCEEDED), after saying what it waited for: never a hang."""
    address = f"127.0.0.1:{free_port()}"
    code, _, err = finish(start(cli_train(
        tmp_path, "--coordinator", address, "--num-processes", "2", "--process-id", "0",
        "--coordinator-timeout", "3")), timeout=120)
    assert code != 0
    assert f"process 0 of 2: waiting up to 3 s for every process at {address}" in err
    assert "DEADLINE_EXCEEDED" in err


@pytest.mark.skipif(BACKEND == "jax", reason="JAX has the multi-process path")
def test_more_than_one_process_is_refused_outside_jax(tmp_path, capsys):
    from geomae_tf import cli

    recipe = tmp_path / "tiny_atomic.toml"
    recipe.write_text(RECIPE)
    code = cli.main(["train", str(recipe), "--no-export", "--out-dir", str(tmp_path / "runs"),
                     "--coordinator", "127.0.0.1:1234", "--num-processes", "2",
                     "--process-id", "0"])
    assert code == 2
    err = capsys.readouterr().err
    assert "geomae train: error: `num_processes` (geomae train --num-processes) > 1 needs " \
           "KERAS_BACKEND=jax" in err
    assert f"Received: num_processes=2 with KERAS_BACKEND='{BACKEND}'" in err
    if BACKEND == "tensorflow":
        assert "MultiWorkerMirroredStrategy does not work with Keras 3's model.fit " \
               "(keras-team/keras#20585)" in err
    assert not (tmp_path / "runs").exists()


def test_process_settings_are_checked_by_name(monkeypatch):
    for variable in distribute.ENVIRONMENT.values():
        monkeypatch.delenv(variable, raising=False)
    assert distribute.process_settings() is None
    assert distribute.process_settings("127.0.0.1:1234", 1, 0) is None
    assert distribute.process_settings("10.0.0.1:1234", 2, 1, timeout=5) == {
        "coordinator": "10.0.0.1:1234", "num_processes": 2, "process_id": 1, "timeout": 5}
    assert distribute.process_settings("h:1", 2, 0)["timeout"] == distribute.DEFAULT_TIMEOUT
    with pytest.raises(ValueError, match=r"`coordinator` .* must be 'HOST:PORT'.* "
                                         r"Received: coordinator='localhost'"):
        distribute.process_settings("localhost", 2, 0)
    with pytest.raises(ValueError, match=r"Received: coordinator='h:70000'"):
        distribute.process_settings("h:70000", 2, 0)
    with pytest.raises(ValueError, match=r"`process_id` .* must be given with "
                                         r"num_processes > 1"):
        distribute.process_settings("h:1", 2)
    with pytest.raises(ValueError, match=r"`process_id` must be in 0..1 \(num_processes - 1\)"
                                         r". Received: process_id=2, num_processes=2"):
        distribute.process_settings("h:1", 2, 2)
    with pytest.raises(ValueError, match=r"`num_processes` must be an int >= 1"):
        distribute.process_settings("h:1", 0, 0)
    # Keras' environment variables stand in for unset options.
    monkeypatch.setenv("KERAS_DISTRIBUTION_JOB_ADDRESSES", "10.0.0.1:1234,10.0.0.2:1234")
    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "2")
    monkeypatch.setenv("KERAS_DISTRIBUTION_PROCESS_ID", "1")
    assert distribute.process_settings()["coordinator"] == "10.0.0.1:1234"
    assert distribute.process_settings(process_id=0)["process_id"] == 0
    monkeypatch.setenv("KERAS_DISTRIBUTION_PROCESS_ID", "one")
    with pytest.raises(ValueError, match=r"Received: KERAS_DISTRIBUTION_PROCESS_ID='one'"):
        distribute.process_settings()


def test_wait_for_coordinator_gives_up_after_its_timeout():
    with socket.socket() as listening:  # a coordinator that answers
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        distribute.wait_for_coordinator(f"127.0.0.1:{listening.getsockname()[1]}", 2)
    address = f"127.0.0.1:{free_port()}"
    with pytest.raises(distribute.CoordinatorUnreachableError,
                       match=rf"the coordinator {address} \(--coordinator\) did not answer "
                             rf"within 1 s"):
        distribute.wait_for_coordinator(address, 1)
