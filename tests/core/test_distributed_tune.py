"""Distributed lambda sweeps: `geomae tune RECIPE --chief` serves Keras Tuner's oracle,
`--worker` processes pull the trials (JMIV 2020, 4.4.1, run on several machines)."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import keras_tuner as kt
import pytest

from geomae_tf import cli
from geomae_tf.training import tuning

LAMBDAS = [0.0, 1e-4, 1e-3, 1e-2]
TINY = f"""
entry = "disk_ae_hole_encreg"
factory = "disk_autoencoder"
[model]
latent_dim = 1
regularizer = "encoder_weight_decay"
lam = 1e-4
[data]
dataset = "disks"
mode = "fixed"
n_train = 60
exclude = [[11.0, 18.0]]
[training]
epochs = 1
batch_size = 30
[tune]
lambdas = {LAMBDAS}
n_val = 8
n_test = 30
n_samples = 32
"""


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _grid_oracle(tmp_path, lambdas):
    oracle = tuning.LambdaGridOracle(lambdas, objective=kt.Objective("val_mse", "min"),
                                     max_trials=len(lambdas), seed=1)
    oracle._set_project_dir(str(tmp_path), "tuner")
    oracle.update_space(_lam_space(lambdas))
    return oracle


def _lam_space(lambdas):
    hp = kt.HyperParameters()
    hp.Choice("lam", lambdas, ordered=True)
    return hp


def _finish(oracle, trial, score):
    oracle.update_trial(trial.trial_id, {"val_mse": score})
    trial.status = "COMPLETED"
    oracle.end_trial(trial)


def test_a_lost_tuner_s_trial_goes_to_the_next_tuner_and_idle_tuners_wait(tmp_path):
    oracle = _grid_oracle(tmp_path, [0.0, 1e-3])
    a, b = oracle.create_trial("a"), oracle.create_trial("b")
    assert (a.status, b.status) == ("RUNNING", "RUNNING")
    assert {a.hyperparameters.get("lam"), b.hyperparameters.get("lam")} == {0.0, 1e-3}
    # Every lambda is taken: a third tuner waits while others run, it is not stopped.
    assert oracle.create_trial("c").status == "IDLE"
    assert "c" in oracle.tuner_ids
    # b is lost: its trial, same id and lambda, goes to the next tuner that asks.
    assert oracle.release_tuner("b").trial_id == b.trial_id
    assert "b" not in oracle.tuner_ids and "b" not in oracle.ongoing_trials
    again = oracle.create_trial("c")
    assert again.trial_id == b.trial_id and again.status == "RUNNING"
    assert again.hyperparameters.get("lam") == b.hyperparameters.get("lam")
    _finish(oracle, a, 0.2)
    assert oracle.create_trial("a").status == "IDLE"   # c still runs
    _finish(oracle, again, 0.1)
    assert oracle.create_trial("a").status == "STOPPED"
    assert oracle.create_trial("c").status == "STOPPED"
    assert not oracle.tuner_ids and not oracle.ongoing_trials
    # What is on disk has no trial left running and each trial ended once.
    state = json.loads((tmp_path / "tuner" / "oracle.json").read_text())
    assert state["ongoing_trials"] == {} and state["retry_queue"] == []
    assert sorted(state["end_order"]) == sorted([a.trial_id, b.trial_id])
    assert set(state["run_times"].values()) == {1}
    assert oracle.get_best_trials(1)[0].trial_id == b.trial_id


def test_the_role_comes_from_the_options_or_keras_tuner_s_variables():
    assert tuning.distributed_role(environ={}) is None
    assert tuning.distributed_role(chief=True, oracle_address="10.0.0.1:8000", environ={}) \
        == {"role": "chief", "host": "10.0.0.1", "port": 8000, "tuner_id": "chief"}
    env = {"KERASTUNER_TUNER_ID": "worker3", "KERASTUNER_ORACLE_IP": "10.0.0.1",
           "KERASTUNER_ORACLE_PORT": "8000"}
    assert tuning.distributed_role(environ=env) == {
        "role": "worker", "host": "10.0.0.1", "port": 8000, "tuner_id": "worker3"}
    assert tuning.distributed_role(environ={**env, "KERASTUNER_TUNER_ID": "chief"})["role"] \
        == "chief"
    assert tuning.distributed_role(worker=True, oracle_address="[::1]:9000",
                                   tuner_id="w0", environ={})["host"] == "::1"
    with pytest.raises(ValueError, match="`chief` and `worker`"):
        tuning.distributed_role(chief=True, worker=True, environ={})
    with pytest.raises(ValueError, match="oracle's address"):
        tuning.distributed_role(worker=True, environ={})
    with pytest.raises(ValueError, match="`oracle_address` must be HOST:PORT"):
        tuning.distributed_role(worker=True, oracle_address="localhost", environ={})
    with pytest.raises(ValueError, match="`tuner_id` of a worker"):
        tuning.distributed_role(worker=True, oracle_address="h:1", tuner_id="chief2",
                                environ={})
    with pytest.raises(ValueError, match="add --chief or --worker"):
        tuning.distributed_role(oracle_address="h:1", environ={})


def test_a_worker_without_a_chief_stops_with_a_clear_error(tmp_path, capsys):
    recipe = tmp_path / "r.toml"
    recipe.write_text(TINY)
    port = _free_port()
    result = {}

    def run():
        result["rc"] = cli.main(["tune", str(recipe), "--out-dir", str(tmp_path / "tune"),
                                 "--worker", "--oracle-address", f"127.0.0.1:{port}",
                                 "--connect-timeout", "1"])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "a worker without a chief hangs"
    assert result["rc"] == 2
    err = capsys.readouterr().err
    assert f"no oracle answered at 127.0.0.1:{port} within 1 s (connect_timeout)" in err
    assert "--chief" in err


def _start(tmp_path, recipe, out, name, *options):
    log = open(tmp_path / f"{name}.log", "w")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for var in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        env.pop(var, None)
    proc = subprocess.Popen([sys.executable, "-m", "geomae_tf.cli", "tune", str(recipe),
                             "--out-dir", str(out), *options],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    proc.log_path = Path(log.name)
    log.close()
    return proc


def _started(proc, name):
    return proc.log_path.read_text().count(f"{name}: trial ")


@pytest.mark.slow
def test_chief_and_two_workers_sweep_every_lambda_once_and_survive_a_killed_worker(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text(TINY)
    out = tmp_path / "tune"
    address = f"127.0.0.1:{_free_port()}"
    procs = {}
    try:
        procs["chief"] = _start(tmp_path, recipe, out, "chief", "--chief",
                                "--oracle-address", address, "--worker-timeout", "8")
        for name in ("w0", "w1"):
            procs[name] = _start(tmp_path, recipe, out, name, "--worker", "--oracle-address",
                                 address, "--tuner-id", name, "--connect-timeout", "120")
        # SIGKILL the first worker that starts its second trial, in the middle of it.
        killed, deadline = None, time.monotonic() + 150
        while killed is None and time.monotonic() < deadline:
            for name in ("w0", "w1"):
                if procs[name].log_path.read_text().count(f"{name}: trial ") >= 3:
                    # "started", "completed", "started"
                    procs[name].send_signal(signal.SIGKILL)
                    killed = name
                    break
            if procs["chief"].poll() is not None:
                break
            time.sleep(0.05)
        assert killed is not None, procs["chief"].log_path.read_text()
        survivor = "w1" if killed == "w0" else "w0"
        assert procs["chief"].wait(timeout=180) == 0, procs["chief"].log_path.read_text()
        assert procs[survivor].wait(timeout=30) == 0
        assert procs[killed].wait(timeout=10) == -signal.SIGKILL
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)

    logs = {name: p.log_path.read_text() for name, p in procs.items()}
    lost = [line for line in logs["chief"].splitlines() if "lost tuner" in line]
    assert len(lost) == 1 and f"lost tuner {killed} " in lost[0]
    requeued = lost[0].split("its trial ")[1].split()[0]
    assert f"{killed}: trial {requeued} started" in logs[killed]
    assert f"{survivor}: trial {requeued} completed" in logs[survivor]
    assert f"completed by {survivor}, val_mse " in logs["chief"]
    assert [line for line in logs["chief"].splitlines()
            if line.startswith(f"chief: trial {requeued} ")][-1].count(f"by {survivor}") == 1

    # Every trial was completed exactly once, by one worker or the other.
    completed = [line.split()[2] for name in ("w0", "w1") for line in logs[name].splitlines()
                 if line.startswith(f"{name}: trial ") and line.endswith(" completed")]
    project = out / "disk_ae_hole_encreg" / "tuner"
    trial_ids = sorted(p.name[len("trial_"):] for p in project.glob("trial_*"))
    assert len(trial_ids) == len(LAMBDAS)
    assert sorted(completed) == trial_ids
    assert " completed" in logs[killed]   # its first trial, before it was killed

    # The oracle's state: nothing running or queued, each trial ended once, one
    # lambda per trial, one objective value per epoch.
    state = json.loads((project / "oracle.json").read_text())
    assert state["ongoing_trials"] == {} and state["retry_queue"] == []
    assert sorted(state["end_order"]) == trial_ids
    assert state["run_times"] == {t: 1 for t in trial_ids}
    lams = []
    for t in trial_ids:
        trial = json.loads((project / f"trial_{t}" / "trial.json").read_text())
        assert trial["status"] == "COMPLETED"
        assert (project / f"trial_{t}" / "checkpoint.weights.h5").exists()
        lams.append(trial["hyperparameters"]["values"]["lam"])
        history = trial["metrics"]["metrics"]["val_mse"]["observations"]
        assert [len(o["value"]) for o in history] == [1] * len(history)
    assert sorted(lams) == LAMBDAS

    # The chief wrote the table and reports the best lambda.
    summary = json.loads((out / "disk_ae_hole_encreg" / "lambda_sweep.json").read_text())
    assert [r["lam"] for r in summary["rows"]] == LAMBDAS
    best = min(summary["rows"], key=lambda r: r["objective_val_mse_hole"])
    assert summary["best_lam"] == best["lam"]
    assert f"chief: best lambda {best['lam']:g} (trial {best['trial']}," in logs["chief"]
