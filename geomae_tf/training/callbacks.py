"""Callbacks that make long training safe to interrupt."""

from __future__ import annotations

import datetime
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from geomae_tf import io
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
        with io.atomic_path(self._weights_path, suffix=".weights.h5") as tmp:
            self.model.save_weights(tmp)
        io.write_text(self._training_metadata_path, json.dumps(
            {"epoch": self._current_epoch, "batch": self._last_batch_seen}))


class AtomicWeightsCheckpoint(keras.callbacks.Callback):
    """Saves the weights after every epoch (atomically) when they are finite."""

    def __init__(self, filepath: PathLike):
        super().__init__()
        self.filepath = str(filepath)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if all(np.all(np.isfinite(w)) for w in self.model.get_weights()):
            # Written by one process of a multi-process run: outside its distribution.
            with io.atomic_path(self.filepath, suffix=".weights.h5") as tmp, \
                    distribute.outside_distribution():
                self.model.save_weights(tmp)


class RunParts(keras.callbacks.Callback):
    """Records the parts of a run that was interrupted and resumed, so that its
    results count every epoch and every second, not only the last part's.

    After every epoch the file `filepath` (JSON, written atomically) holds
    one entry per part of the run: `first_epoch` and `last_epoch` (counted
    from 1, inclusive), `seconds` (training time of the part) and `started`.
    A part that starts at epoch 0 (nothing restored) begins a new record; one
    that resumes at epoch e keeps the earlier parts, cut at e (an epoch done
    after the last backup is done again). `parts` holds the record once
    training ends.

    A trainer that runs several `fit`s (stages) shares one record: each
    stage's parts carry `stage`, and a stage that begins or resumes leaves
    the other stages' parts as they are. The callback needs no model: a
    trainer without `fit` calls its methods itself, one "epoch" per round.

    Args:
        filepath: path. The record, e.g. `<run folder>/parts.json`.
        stage: int, str or None. The stage whose parts this callback
            records (None: a run of one `fit`). Defaults to None.

    Example:
    >>> parts = RunParts("runs/pca_ae/parts.json", stage=2)
    >>> history = model.fit(data, epochs=30, callbacks=[backup, parts])
    >>> parts_epochs(parts.parts)   # with stage 1's 30 epochs, recorded before
    60
    """

    def __init__(self, filepath: PathLike, stage: int | str | None = None) -> None:
        super().__init__()
        self.filepath = Path(filepath)
        self.stage = stage
        self.parts: list[dict[str, Any]] = []
        self._part: dict[str, Any] | None = None
        self._started = 0.0

    def _recorded(self) -> list[dict[str, Any]]:
        try:
            parts = json.loads(self.filepath.read_text())
        except (OSError, ValueError):
            return []
        return parts if isinstance(parts, list) else []

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._started = time.time()
        self._part = None
        self.parts = self._recorded()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self._part is not None:
            return
        others = [part for part in self.parts if part.get("stage") != self.stage]
        earlier = []
        for part in self.parts if epoch > 0 else []:
            if part.get("stage") == self.stage and part.get("first_epoch", 1) <= epoch:
                earlier.append(dict(part, last_epoch=min(part.get("last_epoch", 0), epoch)))
        self._part = {"first_epoch": epoch + 1, "last_epoch": epoch, "seconds": 0.0,
                      "started": datetime.datetime.now(datetime.timezone.utc)
                      .strftime("%Y-%m-%d %H:%M:%S UTC")}
        if self.stage is not None:
            self._part["stage"] = self.stage
        self.parts = others + earlier + [self._part]

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self._part is None:
            return
        self._part["last_epoch"] = epoch + 1
        self._part["seconds"] = round(time.time() - self._started, 2)
        io.write_text(self.filepath, json.dumps(self.parts, indent=1) + "\n")

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._part is not None:
            self._part["seconds"] = round(time.time() - self._started, 2)
            io.write_text(self.filepath, json.dumps(self.parts, indent=1) + "\n")


def parts_epochs(parts: list[dict[str, Any]]) -> int:
    """The epochs a run's parts cover, every stage's together: the last epoch
    of each stage's last part, summed (parts cut at a resume never overlap).

    Example:
    >>> parts_epochs([{"stage": 1, "first_epoch": 1, "last_epoch": 2},
    ...               {"stage": 2, "first_epoch": 1, "last_epoch": 4},
    ...               {"stage": 2, "first_epoch": 5, "last_epoch": 6}])
    8
    """
    last: dict[Any, int] = {}
    for part in parts:
        stage = part.get("stage")
        last[stage] = max(last.get(stage, 0), int(part.get("last_epoch", 0)))
    return sum(last.values())


def parts_resumed(parts: list[dict[str, Any]]) -> bool:
    """Whether a stage of the run was interrupted and resumed: it has several
    parts, or one that does not begin at its first epoch.

    Example:
    >>> parts_resumed([{"first_epoch": 1, "last_epoch": 3}, {"first_epoch": 4,
    ...                                                      "last_epoch": 6}])
    True
    """
    first: dict[Any, list[int]] = {}
    for part in parts:
        first.setdefault(part.get("stage"), []).append(int(part.get("first_epoch", 1)))
    return any(len(starts) > 1 or starts[0] > 1 for starts in first.values())
