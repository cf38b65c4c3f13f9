"""One run owns its run folder (`geomae_tf.training.run_lock`): a second run
into a live folder is refused at once, naming the folder and the holder; a lock
left by a killed run is taken over with a notice; the lock goes when its run
ends, however it ends."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from geomae_tf.training import run_lock
from geomae_tf.training.run_lock import LOCK_NAME, RunFolderLocked, RunLock
from tests.core.recipes import write_tiny

REPO = Path(__file__).resolve().parents[2]
LOCK_MODULE = REPO / "geomae_tf" / "training" / "run_lock.py"

# A process that takes the lock, says so, and sleeps; the lock module alone is
# loaded (no TensorFlow), so it starts in a fraction of a second.
HOLDER = f"""
import importlib.util, sys, time
spec = importlib.util.spec_from_file_location("run_lock", {str(LOCK_MODULE)!r})
run_lock = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_lock)
run_lock.RunLock(sys.argv[1], command="holder").acquire()
print("held", flush=True)
time.sleep(120)
"""


def _record(folder):
    text = (Path(folder) / LOCK_NAME).read_text()
    return json.loads(text)


def test_a_held_folder_is_refused_naming_the_folder_and_the_holder(tmp_path):
    folder = tmp_path / "runs" / "disk_ae"
    with RunLock(folder, command="geomae train zoo/disk_ae.toml") as lock:
        assert lock.held and lock.taken_over is None
        record = _record(folder)
        assert record["pid"] == os.getpid() and record["host"] == socket.gethostname()
        assert record["started"].endswith("UTC")
        # a second lock on the same file (even in this process) is refused
        with pytest.raises(RunFolderLocked) as refused:
            RunLock(folder).acquire()
        message = str(refused.value)
        assert "\n" not in message
        assert str(folder) in message and f"pid {os.getpid()}" in message
        assert "geomae train zoo/disk_ae.toml" in message and "--out-dir" in message
        assert refused.value.holder == record
        assert _record(folder) == record  # the refused run changed nothing
    assert not (folder / LOCK_NAME).exists()
    # created for the run (with its parent), which left nothing in them
    assert not folder.exists() and not (tmp_path / "runs").exists()


def test_the_lock_is_released_on_error_and_keeps_what_the_run_wrote(tmp_path):
    folder = tmp_path / "run"

    @run_lock.releases_locks
    def failing_run():
        run_lock.hold(folder)
        (folder / "history.csv").write_text("epoch,loss\n")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        failing_run()
    assert sorted(p.name for p in folder.iterdir()) == ["history.csv"]
    with RunLock(folder) as lock:  # free again, and nothing to take over
        assert lock.taken_over is None
    with pytest.raises(RuntimeError, match="releases_locks"):
        run_lock.hold(folder)


def test_a_lock_left_by_a_killed_process_is_taken_over_with_a_notice(tmp_path, capfd):
    folder = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunFolderLocked, match=f"pid {holder.pid} on host"):
            RunLock(folder).acquire()
    finally:
        holder.kill()  # SIGKILL: no chance to release
        holder.wait()
    assert _record(folder)["pid"] == holder.pid  # the dead run's record stays behind
    capfd.readouterr()
    with RunLock(folder) as lock:
        assert lock.taken_over["pid"] == holder.pid
        assert _record(folder)["pid"] == os.getpid()
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and "taking over the lock" in err
    assert f"pid {holder.pid}" in err and str(folder) in err


def test_a_lock_written_on_another_host_is_never_taken_over(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    record = {"host": "elsewhere.example", "pid": 4242, "started": "-", "command": "x"}
    (folder / LOCK_NAME).write_text(json.dumps(record))
    with pytest.raises(RunFolderLocked, match=r"pid 4242 on host elsewhere.example.*delete "):
        RunLock(folder).acquire()
    assert json.loads((folder / LOCK_NAME).read_text()) == record


def test_a_run_folder_under_a_file_is_refused_in_one_line(tmp_path):
    (tmp_path / "runs").write_text("a file")
    with pytest.raises(ValueError, match=r"cannot be created: .*runs is a file"):
        RunLock(tmp_path / "runs" / "disk_ae").acquire()


# -- two real `geomae train` processes ---------------------------------------------

def _geomae(*args, **popen):
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.Popen(
        [sys.executable, "-m", "geomae_tf", *args], cwd=REPO, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        # Ctrl-C reaches Python as KeyboardInterrupt even where the test runner ignores it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **popen)


def _wait_for_epochs(history, n, process, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if history.exists() and len(history.read_text().splitlines()) > n:
            return
        if process.poll() is not None:
            raise AssertionError(f"the first run ended early: {process.communicate()}")
        time.sleep(0.2)
    raise AssertionError(f"no {n} epochs in {history} after {timeout} s")


@pytest.mark.slow
def test_a_second_geomae_train_into_a_live_run_folder_is_refused(tmp_path):
    recipe = write_tiny(tmp_path / "tiny.toml", epochs=5000)
    out = tmp_path / "runs"
    folder = out / "disk_ae"
    args = ["train", str(recipe), "--out-dir", str(out), "--no-evaluate", "--no-export",
            "--verbose", "0"]
    first = _geomae(*args)
    try:
        _wait_for_epochs(folder / "history.csv", 2, first)
        second = _geomae(*args)
        out2, err2 = second.communicate(timeout=240)
        assert second.returncode == 2, err2
        assert err2.count("\n") == 1 and "Traceback" not in err2, err2
        assert f"run folder {folder} is in use by another run (pid {first.pid} on host" in err2
        assert first.poll() is None  # the first one trains on, untouched
        # Ctrl-C: one line saying what is kept and how to resume, and the lock goes
        first.send_signal(signal.SIGINT)
        _, err1 = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 130, err1
    assert "Traceback" not in err1 and err1.strip().count("\n") == 0, err1
    assert "interrupted" in err1 and str(folder) in err1 and "resumes" in err1
    assert not (folder / LOCK_NAME).exists()
    history = (folder / "history.csv").read_text().splitlines()
    assert sum(line.startswith("epoch") for line in history) == 1  # one run wrote it
    epochs = [int(line.split(",")[0]) for line in history[1:]]
    assert epochs == list(range(len(epochs)))
    assert (folder / "backup").is_dir()
    # a run killed outright (SIGKILL) leaves its record; the next run takes it over
    third = _geomae(*args)
    try:
        _wait_for_epochs(folder / "history.csv", len(history) + 1, third)
    finally:
        third.kill()
        third.wait()
    assert _record(folder)["pid"] == third.pid
    with RunLock(folder, quiet=True) as lock:
        assert lock.taken_over["pid"] == third.pid
