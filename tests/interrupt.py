"""Runs `geomae train` in a subprocess, kills it with SIGKILL mid-way, and
runs the same command again: what a user does after a crash."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def train_command(recipe, out_dir):
    """`geomae train RECIPE` into `out_dir`, without evaluation or export."""
    return [sys.executable, "-m", "geomae_tf", "train", str(recipe), "--out-dir",
            str(out_dir), "--no-export", "--no-evaluate", "--verbose", "2"]


def kill_when(command, ready, timeout=300):
    """Starts `command`, kills it with SIGKILL as soon as `ready()` is true
    (polled every 50 ms), and returns whether it was still running then."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while not ready() and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    running = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait()
    return running


def run(command, timeout=600):
    """Runs `command` to its end; returns the CompletedProcess."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
