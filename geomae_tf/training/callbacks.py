"""Callbacks that make long training safe to interrupt."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from geomae_tf import atomic
from geomae_tf.training import distribute

if TYPE_CHECKING:
    from geomae_tf.types import PathLike


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` whose backups are written atomically.

    Keras writes the backup weights and the epoch number in place; a kill
    during that write leaves a broken file that the next run cannot restore.
    Here both are written to temporary files and moved into place, so the
    backup always holds a whole epoch and an interrupted run resumes from its
    last completed epoch.
    """

    def _save_model(self):
        with atomic.atomic_path(self._weights_path, suffix=".weights.h5") as tmp:
            self.model.save_weights(tmp)
        atomic.write_text(self._training_metadata_path, json.dumps(
            {"epoch": self._current_epoch, "batch": self._last_batch_seen}))


class AtomicWeightsCheckpoint(keras.callbacks.Callback):
    """Saves the weights after every epoch (atomically) when they are finite."""

    def __init__(self, filepath: PathLike):
        super().__init__()
        self.filepath = str(filepath)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if all(np.all(np.isfinite(w)) for w in self.model.get_weights()):
            # Written by one process of a multi-process run: outside its distribution.
            with atomic.atomic_path(self.filepath, suffix=".weights.h5") as tmp, \
                    distribute.outside_distribution():
                self.model.save_weights(tmp)
