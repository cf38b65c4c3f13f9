"""One run owns its run folder: a lock file with the holder's host, pid and start.

`geomae train` writes a run's history, backups, export and results into one
folder, and resumes from the backup it finds there. Two runs into the same
folder would interleave their history, resume each other's backup and
replace each other's export without a word, so a run takes `RunLock(folder)`
before it writes anything and holds it until it ends (normally, on an
error, or on Ctrl-C).

The lock is an advisory `fcntl.flock` on the open file `<folder>/run.lock`,
which also holds the holder's host, pid, start time and command as JSON. The
kernel drops a flock when its process dies, however it dies (SIGKILL
included), so a lock file left by a killed run holds no flock: the next run
takes it over with a one-line notice naming the dead holder. A lock file
written on another host is never taken over while its holder may live (flock
need not reach across a network file system): delete it by hand once that
run is gone, as the refusal says.

Example:
>>> with RunLock("runs/disk_ae"):      # RunFolderLocked if another run holds it
...     train_into("runs/disk_ae")
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import errno
import functools
import json
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: the holder's pid decides (`_take_over`)
    fcntl = None

if TYPE_CHECKING:
    from geomae_tf.types import PathLike

#: The lock file's name inside the run folder.
LOCK_NAME = "run.lock"

_F = TypeVar("_F", bound=Callable[..., Any])
#: The locks taken by `hold` inside the running `releases_locks` function.
_HELD: contextvars.ContextVar[list[RunLock] | None] = contextvars.ContextVar(
    "geomae_run_locks", default=None)


class RunFolderLocked(RuntimeError):
    """Another live run holds the run folder; `holder` is its lock record."""

    def __init__(self, message: str, folder: Path, holder: dict[str, Any]) -> None:
        super().__init__(message)
        self.folder = folder
        self.holder = holder


def describe(holder: dict[str, Any]) -> str:
    """A lock record as words: "pid 123 on host h, started <date and time> UTC"."""
    if not holder:
        return "a run whose lock record is unreadable"
    text = f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}"
    if holder.get("started"):
        text += f", started {holder['started']}"
    if holder.get("command"):
        text += f" ({holder['command']})"
    return text


def pid_alive(pid: int) -> bool:
    """Whether a process `pid` exists on this host (one we may not signal counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLock:
    """Exclusive ownership of a run folder while the block runs.

    Args:
        folder: path. The run folder; created if missing (and removed again on
            release, with the parents the lock created, when the run left
            nothing in it).
        command: str or None. Recorded in the lock for the refusal message.
            Defaults to this process's command line.
        quiet: bool. No notice on stderr when a stale lock is taken over.

    Raises:
        RunFolderLocked: (on entry) a live run holds the folder; the message
            names the folder and the holder.

    Example:
    >>> with RunLock("runs/disk_ae") as lock:
    ...     lock.taken_over          # the dead holder's record, or None
    """

    def __init__(self, folder: PathLike, command: str | None = None,
                 quiet: bool = False) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.command = command if command is not None else " ".join(
            [os.path.basename(sys.argv[0])] + sys.argv[1:])
        self.quiet = quiet
        self.taken_over: dict[str, Any] | None = None
        self._fd: int | None = None
        self._created: list[Path] = []  # folders this lock made, deepest first

    # -- the record ------------------------------------------------------------
    def _record(self) -> dict[str, Any]:
        started = datetime.datetime.now(datetime.timezone.utc)
        return {"host": socket.gethostname(), "pid": os.getpid(),
                "started": started.strftime("%Y-%m-%d %H:%M:%S UTC"),
                "command": self.command}

    @staticmethod
    def _read(fd: int) -> dict[str, Any]:
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        text = b"".join(chunks).decode("utf-8", errors="replace").strip()
        if not text:
            return {}
        try:
            holder = json.loads(text)
        except ValueError:
            return {"unreadable": text[:200]}
        return holder if isinstance(holder, dict) else {"unreadable": text[:200]}

    def _refuse(self, holder: dict[str, Any], why: str = "") -> RunFolderLocked:
        return RunFolderLocked(
            f"run folder {self.folder} is in use by another run ({describe(holder)}){why}: "
            f"wait for it to end, or give this run another --out-dir", self.folder, holder)

    # -- taking and releasing ---------------------------------------------------
    def acquire(self) -> RunLock:
        """Takes the lock (see the class); returns self."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this RunLock")
        for folder in [self.folder, *self.folder.parents]:
            if folder.exists() and not folder.is_dir():
                raise ValueError(f"the run folder {self.folder} cannot be created: {folder} "
                                 f"is a file (give --out-dir a folder)")
        self._created = [f for f in [self.folder, *self.folder.parents] if not f.exists()]
        self.folder.mkdir(parents=True, exist_ok=True)
        for _ in range(20):  # a holder may release (and unlink) while we open
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                if not self._try_lock(fd):
                    raise self._refuse(self._read(fd))
                try:
                    same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
                except FileNotFoundError:
                    same = False
                if not same:  # locked a file its holder had just unlinked: again
                    os.close(fd)
                    continue
                previous = self._read(fd)
                if previous:
                    self._take_over(previous)
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
                os.write(fd, (json.dumps(self._record()) + "\n").encode())
                os.fsync(fd)
            except BaseException:
                os.close(fd)
                self._remove_folder_if_created()
                raise
            self._fd = fd
            return self
        raise RuntimeError(f"could not take the lock {self.path}: it kept being replaced")

    @staticmethod
    def _try_lock(fd: int) -> bool:
        if fcntl is None:  # pragma: no cover
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            raise
        return True

    def _take_over(self, previous: dict[str, Any]) -> None:
        """`previous` holds no flock any more: its run died without releasing.
        On another host that proves nothing (flock may not reach across NFS)."""
        host, pid = previous.get("host"), previous.get("pid")
        if host is not None and host != socket.gethostname():
            raise self._refuse(previous, f"; its host cannot be checked from "
                                         f"{socket.gethostname()}: if that run is gone, "
                                         f"delete {self.path}")
        if fcntl is None and isinstance(pid, int) and pid_alive(pid):  # pragma: no cover
            raise self._refuse(previous)  # without flock, a live pid on this host holds
        self.taken_over = previous
        if not self.quiet:
            print(f"run folder {self.folder}: taking over the lock of a run that ended "
                  f"without releasing it ({describe(previous)})", file=sys.stderr, flush=True)

    def release(self) -> None:
        """Releases the lock (a no-op when not held): the file goes, then the flock."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        os.close(fd)
        self._remove_folder_if_created()

    def _remove_folder_if_created(self) -> None:
        for folder in self._created:  # only empty ones: where the run wrote nothing
            try:
                folder.rmdir()
            except OSError:
                break
        self._created = []

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._fd is not None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.release()



def releases_locks(fn: _F) -> _F:
    """Decorates `fn` so that every lock it takes with `hold` is released when
    it returns or raises (KeyboardInterrupt included)."""

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        held: list[RunLock] = []
        token = _HELD.set(held)
        try:
            return fn(*args, **kwargs)
        finally:
            _HELD.reset(token)
            for lock in reversed(held):
                lock.release()

    return wrapped  # type: ignore[return-value]


def hold(folder: PathLike, command: str | None = None) -> RunLock:
    """Takes `RunLock(folder)` until the function decorated with
    `releases_locks` that runs this call returns; returns the lock.

    Example:
    >>> @releases_locks
    ... def train_into(folder):
    ...     hold(folder)       # RunFolderLocked if another run holds it
    ...     ...                # released on return, error or Ctrl-C
    """
    held = _HELD.get()
    if held is None:
        raise RuntimeError("run_lock.hold() runs inside a function decorated with "
                           "run_lock.releases_locks, which releases the lock")
    lock = RunLock(folder, command=command).acquire()
    held.append(lock)
    return lock
