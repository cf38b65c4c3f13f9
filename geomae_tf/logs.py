"""Quiet start-up of TensorFlow for the command line.

Importing TensorFlow 2.21 writes informational lines straight to the process's
stderr (file descriptor 2), before its logging is set up, so neither
`TF_CPP_MIN_LOG_LEVEL` nor Python's logging can hold them back: "All log
messages before absl::InitializeLog() ...", "Could not find cuda drivers" (once
per library that probes CUDA), the CPU-feature note, "failed call to cuInit" on
a machine without a GPU, oneDNN's numerical note. `quiet_tensorflow()` imports
TensorFlow with fd 2 captured, then writes back every line that matches none of
`NOISE`: real warnings and errors still show. It also drops tf.function's
"retracing" notes, which the evaluations (predictions on batches of several
shapes) trigger by design.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from types import ModuleType

#: Start-up lines that say nothing about the user's run.
NOISE = tuple(re.compile(p) for p in (
    r"All log messages before absl::InitializeLog\(\) is called",
    r"cudart_stub\.cc.*Could not find cuda drivers",
    r"cuda_platform\.cc.*failed call to cuInit",
    r"cpu_feature_guard\.cc",
    r"^To enable the following instructions:.*rebuild TensorFlow",
    r"oneDNN custom operations are on",
    r"Unable to register cu(DNN|FFT|BLAS) factory",
    r"computation_placer\.cc.*already registered",
    r"TF-TRT Warning: Could not find TensorRT",
))


def is_noise(line: str) -> bool:
    """Whether a stderr line is one of TensorFlow's start-up notes (`NOISE`)."""
    return any(pattern.search(line) for pattern in NOISE)


@contextlib.contextmanager
def filtered_stderr() -> Iterator[None]:
    """Runs the block with file descriptor 2 captured; afterwards writes back
    every captured line that `is_noise` does not match, in order."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", errors="replace")
            kept = [line for line in text.splitlines(keepends=True) if not is_noise(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def quiet_tensorflow() -> ModuleType:
    """Imports TensorFlow and lists its devices with the start-up notes filtered out.

    Also sets `TF_CPP_MIN_LOG_LEVEL=2` (TensorFlow's C++ info lines) unless the
    user set it, and Python absl logging to warnings. Returns the `tensorflow`
    module.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with filtered_stderr():
        import tensorflow as tf

        tf.config.list_physical_devices()  # probes CUDA once, here
    with contextlib.suppress(ImportError):
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.WARNING)
    tf.get_logger().addFilter(_drop_retracing_notes)
    return tf


def _drop_retracing_notes(record):
    """A `logging` filter: False for tf.function's retracing notes (the evaluations
    predict on batches of several shapes by design), True for everything else."""
    return "triggered tf.function retracing" not in record.getMessage()
