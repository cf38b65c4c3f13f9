"""Data-parallel training on the devices of one host (`geomae train --devices N`).

Each device holds a full copy of the model and takes its share of every
global batch; the gradients are averaged over the devices before the update,
so one step on a global batch of N*B images is (up to float32 rounding) one
step on the same N*B images on a single device. The recipe's `batch_size` is
the global batch.

- JAX: `keras.distribution.DataParallel` over the first N devices. The step is
  compiled for the whole sharded batch, so batch statistics (the PCA-AE's
  centring and covariance penalty) are global, as on one device.
- TensorFlow: `tf.distribute.MirroredStrategy` over the first N devices. Each
  replica runs the step on its own B images and the gradients are averaged:
  batch statistics are per replica (like an unsynchronised BatchNormalization).
- PyTorch: no data-parallel path through Keras' `model.fit`; `devices` must be 1.

Devices are the host's accelerators when it has some, else its CPUs. A CPU
shows as one device unless it is split: `XLA_FLAGS=--xla_force_host_platform_device_count=N`
(set before the process starts) gives JAX N CPU devices, and this module
splits TensorFlow's CPU into the same number of logical devices, provided no
TensorFlow operation has run yet. On a CPU, data parallelism only measures
its own overhead: the devices share the same cores.

Several processes (one per host, `geomae train --coordinator HOST:PORT
--num-processes N --process-id I`): JAX only. `initialize_processes` starts
`jax.distributed` (process 0 hosts the coordinator; its CPU collectives go
through gloo, so the path also runs on CPU-only hosts), and the
`keras.distribution.DataParallel` then spans every process's devices. Keras
splits each global batch across the processes (`tf.data` `rebatch` then
`shard`): every process reads its own share of every batch. On TensorFlow,
`MultiWorkerMirroredStrategy` does not work with Keras 3's `model.fit`
(keras-team/keras#20585), so more than one process is refused there.

Example:
>>> from geomae_tf.training import distribute
>>> with distribute.data_parallel(2):      # build, compile and fit inside
...     model = geomae_tf.zoo.atomic_autoencoder()
...     model.compile(optimizer="adam", loss="mse")
...     model.fit(dataset, epochs=1)
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import keras

from geomae_tf import validation

if TYPE_CHECKING:
    import tensorflow as tf

#: Keras backends with a data-parallel path, and what it goes through.
SUPPORTED_BACKENDS = {
    "jax": "keras.distribution.DataParallel",
    "tensorflow": "tf.distribute.MirroredStrategy",
}

_HOST_FLAG = re.compile(r"--xla_force_host_platform_device_count=(\d+)")
#: One MirroredStrategy per device list for the whole process: a second
#: strategy over the same devices reuses the first one's collective keys and
#: its all-reduces fail with "Shape mismatch in the collective instance".
_STRATEGIES = {}


def host_cpu_device_count() -> int:
    """The CPU devices asked for by `XLA_FLAGS` (`--xla_force_host_platform_device_count`), else 1."""
    match = _HOST_FLAG.search(os.environ.get("XLA_FLAGS", ""))
    return max(1, int(match.group(1))) if match else 1


def _tensorflow_devices():
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return [d.name for d in tf.config.list_logical_devices("GPU")]
    wanted = host_cpu_device_count()
    cpus = tf.config.list_physical_devices("CPU")
    if wanted > 1 and cpus and tf.config.get_logical_device_configuration(cpus[0]) is None:
        try:
            tf.config.set_logical_device_configuration(
                cpus[0], [tf.config.LogicalDeviceConfiguration()] * wanted)
        except RuntimeError:  # the runtime already runs: keep its devices
            pass
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def _jax_devices():
    import jax

    return [str(d) for d in jax.local_devices()]


def local_devices(backend: str | None = None) -> list[str]:
    """The devices a data-parallel run can use on this host, for `backend`
    (default: Keras' backend): accelerators if any, else CPU devices."""
    backend = backend or keras.backend.backend()
    if backend == "jax":
        return _jax_devices()
    if backend == "tensorflow":
        return _tensorflow_devices()
    raise ValueError(f"Data-parallel training needs KERAS_BACKEND to be one of "
                     f"{sorted(SUPPORTED_BACKENDS)}. Received: KERAS_BACKEND={backend!r}")


def check_devices(devices: int | None, backend: str | None = None) -> int:
    """Returns `devices` as an int after checking it against the backend and host.

    Args:
        devices: int >= 1 or None (None means 1: no distribution).
        backend: str or None. A Keras backend name; None is Keras' own.

    Raises:
        ValueError: `devices` < 1, a backend without a data-parallel path
            (with `devices` > 1), or more devices than the host has.
    """
    if devices is None:
        return 1
    devices = validation.check_int("devices", devices, minimum=1)
    if devices == 1:
        return 1
    backend = backend or keras.backend.backend()
    if backend not in SUPPORTED_BACKENDS:
        raise ValueError(f"`devices` (geomae train --devices) > 1 (data-parallel training) "
                         f"needs KERAS_BACKEND to be one of {sorted(SUPPORTED_BACKENDS)}. "
                         f"Received: devices={devices} with KERAS_BACKEND={backend!r}")
    found = local_devices(backend)
    if devices > len(found):
        hint = ("" if len(found) > 1 else "; on a CPU, start the process with "
                f"XLA_FLAGS=--xla_force_host_platform_device_count={devices} to split it")
        raise ValueError(f"`devices` (geomae train --devices) must be at most {len(found)}, "
                         f"the devices this host has under {backend} ({', '.join(found)})"
                         f"{hint}. Received: devices={devices}")
    return devices


def distribution(devices: int | None = None
                 ) -> keras.distribution.DataParallel | tf.distribute.MirroredStrategy | None:
    """The distribution of a run on `devices` devices (checked by `check_devices`).

    Returns:
        None for one device, else a `keras.distribution.DataParallel` (JAX)
        or a `tf.distribute.MirroredStrategy` (TensorFlow, one per device
        list for the whole process).
    """
    devices = check_devices(devices)
    if devices == 1 and process_count() == 1:
        return None
    backend = keras.backend.backend()
    if backend == "jax":
        return keras.distribution.DataParallel(devices=_jax_mesh_devices(devices))
    import tensorflow as tf

    names = tuple(local_devices(backend)[:devices])
    if names not in _STRATEGIES:
        _STRATEGIES[names] = tf.distribute.MirroredStrategy(list(names))
    return _STRATEGIES[names]


def scope(parallel: keras.distribution.DataParallel | tf.distribute.MirroredStrategy | None
          ) -> contextlib.AbstractContextManager[Any]:
    """The context in which to build, compile and fit under `parallel` (a
    `distribution(...)`; None gives an empty context). It may be entered
    again: build in one block and fit in another."""
    return contextlib.nullcontext() if parallel is None else parallel.scope()


def one_device_copy(model: keras.Model, build: Callable[[], keras.Model]) -> keras.Model:
    """`model`'s weights in a model from `build()` made outside any distribution
    (for evaluation and export after a data-parallel run)."""
    copy = build()
    copy.set_weights(model.get_weights())
    return copy


@contextlib.contextmanager
def outside_distribution() -> Iterator[None]:
    """Runs the block with no Keras distribution set (JAX).

    Saving weights builds Keras objects (a throw-away optimizer), and under a
    multi-process `DataParallel` every new variable is placed by a collective
    that all processes must join: process 0 saving alone would wait for the
    others. Outside the distribution it reads its own replica only.
    """
    if keras.backend.backend() != "jax":
        yield
        return
    previous = keras.distribution.distribution()
    keras.distribution.set_distribution(None)
    try:
        yield
    finally:
        keras.distribution.set_distribution(previous)


@contextlib.contextmanager
def data_parallel(
    devices: int | None = None,
) -> Iterator[keras.distribution.DataParallel | tf.distribute.MirroredStrategy | None]:
    """Distributes what is built, compiled and fitted inside the block.

    Args:
        devices: int or None. The number of devices; None or 1 runs on one
            device with no distribution.

    Yields:
        The `keras.distribution.DataParallel` (JAX), the
        `tf.distribute.MirroredStrategy` (TensorFlow), or None for one device.
    """
    parallel = distribution(devices)
    with scope(parallel):
        yield parallel


#: Keras' environment variables for a multi-process run (as read by
#: `keras.distribution.initialize`): the fallbacks of `--coordinator`,
#: `--num-processes` and `--process-id`.
ENVIRONMENT = {
    "coordinator": "KERAS_DISTRIBUTION_JOB_ADDRESSES",
    "num_processes": "KERAS_DISTRIBUTION_NUM_PROCESSES",
    "process_id": "KERAS_DISTRIBUTION_PROCESS_ID",
}
#: Seconds a process waits for the coordinator and the other processes.
DEFAULT_TIMEOUT = 120
#: Seconds the processes wait for each other when they exit (process 0
#: evaluates and exports alone after training, the others wait for it).
SHUTDOWN_TIMEOUT = 1800


class CoordinatorUnreachableError(ConnectionError, ValueError):
    """The coordinator of a multi-process run did not answer in time."""


def _jax_mesh_devices(devices):
    """The first `devices` local devices of every process, process by process."""
    import jax

    mesh = []
    for index in range(jax.process_count()):
        local = [d for d in jax.devices() if d.process_index == index]
        mesh.extend(local[:devices])
    return mesh


def process_count() -> int:
    """The number of processes of this run (1 unless `initialize_processes` started more)."""
    if keras.backend.backend() != "jax":
        return 1
    import jax

    return jax.process_count() if jax.distributed.is_initialized() else 1


def process_index() -> int:
    """This process's id in a multi-process run (0, the chief, when alone)."""
    if process_count() == 1:
        return 0
    import jax

    return jax.process_index()


def is_chief() -> bool:
    """True in the process that writes the run's results and exports (process 0)."""
    return process_index() == 0


def process_settings(coordinator: str | None = None, num_processes: int | None = None,
                     process_id: int | None = None,
                     timeout: int | None = None) -> dict[str, Any] | None:
    """The checked settings of a multi-process run; unset ones are read from
    Keras' environment variables (`ENVIRONMENT`).

    Args:
        coordinator: str or None. "HOST:PORT" of process 0 (it listens there).
        num_processes: int or None. The number of processes; None or 1 is one process.
        process_id: int or None. This process's id, 0 .. num_processes - 1.
        timeout: int or None. Seconds to wait for the coordinator and the
            other processes. Defaults to `DEFAULT_TIMEOUT`.

    Returns:
        None for one process, else a dict with `coordinator`, `num_processes`,
        `process_id` and `timeout`.

    Raises:
        ValueError: a missing or malformed setting, naming it.
    """
    given = {"coordinator": coordinator, "num_processes": num_processes,
             "process_id": process_id}
    for name, variable in ENVIRONMENT.items():
        if given[name] is None and os.environ.get(variable):
            value = os.environ[variable]
            if name == "coordinator":  # Keras lists every job; the first one coordinates
                given[name] = value.split(",")[0].strip()
            else:
                try:
                    given[name] = int(value)
                except ValueError:
                    raise ValueError(f"`{name}` must be an int: set {variable} to one. "
                                     f"Received: {variable}={value!r}") from None
    if given["num_processes"] is None:
        return None
    n = validation.check_int("num_processes", given["num_processes"], minimum=1)
    if n == 1:
        return None
    flags = "--coordinator HOST:PORT --num-processes N --process-id I"
    address = given["coordinator"]
    if not isinstance(address, str) or address.count(":") < 1 or not address.rsplit(
            ":", 1)[1].isdigit() or not 0 < int(address.rsplit(":", 1)[1]) < 65536:
        raise ValueError(f"`coordinator` (geomae train --coordinator, or "
                         f"{ENVIRONMENT['coordinator']}) must be 'HOST:PORT' with a port in "
                         f"1..65535, where process 0 listens ({flags}). Received: "
                         f"coordinator={address!r}")
    if given["process_id"] is None:
        raise ValueError(f"`process_id` (geomae train --process-id, or "
                         f"{ENVIRONMENT['process_id']}) must be given with num_processes > 1 "
                         f"({flags}). Received: process_id=None, num_processes={n}")
    pid = validation.check_int("process_id", given["process_id"], minimum=0)
    if pid >= n:
        raise ValueError(f"`process_id` must be in 0..{n - 1} (num_processes - 1). "
                         f"Received: process_id={pid}, num_processes={n}")
    timeout = validation.check_int("timeout", DEFAULT_TIMEOUT if timeout is None else timeout,
                                   minimum=1)
    return {"coordinator": address, "num_processes": n, "process_id": pid,
            "timeout": timeout}


def wait_for_coordinator(address: str, timeout: float) -> None:
    """Waits until something accepts TCP connections at `address` ("HOST:PORT").

    Raises:
        CoordinatorUnreachableError: nothing answered within `timeout` seconds.
    """
    host, port = address.rsplit(":", 1)
    host = host.strip("[]")
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, int(port)), timeout=2):
                return
        except OSError as err:
            if time.monotonic() >= deadline:
                raise CoordinatorUnreachableError(
                    f"the coordinator {address} (--coordinator) did not answer within "
                    f"{timeout} s ({err.strerror or err}): start process 0 "
                    f"(--process-id 0) with the same --coordinator, check the host and "
                    f"port, or wait longer (--coordinator-timeout)") from None
            time.sleep(0.5)


def initialize_processes(coordinator: str | None = None, num_processes: int | None = None,
                         process_id: int | None = None,
                         timeout: int | None = None) -> dict[str, Any] | None:
    """Joins a multi-process (several hosts) data-parallel run, JAX only.

    Call it before anything runs on the JAX backend. Process 0 starts the
    coordinator at `coordinator`; the others first wait for it to accept
    connections (a clear error after `timeout` seconds), then every process
    calls `jax.distributed.initialize(coordinator, num_processes,
    process_id, initialization_timeout=timeout)`. JAX ends a process whose
    peers do not all arrive within `timeout` seconds (DEADLINE_EXCEEDED):
    a run never hangs. Afterwards `distribution(devices)` spans the
    devices of every process.

    Args: as `process_settings` (unset ones from Keras' environment variables).

    Returns:
        The settings (see `process_settings`), or None for one process.

    Raises:
        ValueError: bad settings, or a backend other than JAX with
            num_processes > 1.
        CoordinatorUnreachableError: process > 0 found no coordinator in time.
    """
    settings = process_settings(coordinator, num_processes, process_id, timeout)
    if settings is None:
        return None
    backend = keras.backend.backend()
    if backend != "jax":
        why = ("TensorFlow's MultiWorkerMirroredStrategy does not work with Keras 3's "
               "model.fit (keras-team/keras#20585)" if backend == "tensorflow" else
               f"{backend} has no multi-process path through Keras' model.fit")
        raise ValueError(f"`num_processes` (geomae train --num-processes) > 1 needs "
                         f"KERAS_BACKEND=jax: {why}. Run every process as KERAS_BACKEND=jax "
                         f"geomae train RECIPE --no-export --coordinator HOST:PORT "
                         f"--num-processes N --process-id I. Received: num_processes="
                         f"{settings['num_processes']} with KERAS_BACKEND={backend!r}")
    import jax

    if jax.distributed.is_initialized():
        if jax.process_count() != settings["num_processes"] or (
                jax.process_index() != settings["process_id"]):
            raise ValueError(f"this process already runs as process {jax.process_index()} "
                             f"of {jax.process_count()}. Received: process_id="
                             f"{settings['process_id']}, num_processes="
                             f"{settings['num_processes']}")
        return settings
    if settings["process_id"] > 0:
        wait_for_coordinator(settings["coordinator"], settings["timeout"])
    print(f"process {settings['process_id']} of {settings['num_processes']}: waiting up to "
          f"{settings['timeout']} s for every process at {settings['coordinator']} "
          f"(jax.distributed)", file=sys.stderr, flush=True)
    # Collectives between CPU devices of different processes (jax's default
    # since 0.4.3x; set so that older versions do not fall back to none).
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(settings["coordinator"], settings["num_processes"],
                               settings["process_id"],
                               initialization_timeout=settings["timeout"],
                               shutdown_timeout_seconds=SHUTDOWN_TIMEOUT)
    return settings
