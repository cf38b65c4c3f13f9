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

Multi-machine data parallelism (`MultiWorkerMirroredStrategy`) is not offered:
Keras 3's `model.fit` does not work under it; JAX's `keras.distribution` is the
multi-process path.

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

import keras

from geomae_tf import validation

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


def host_cpu_device_count():
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

    return [str(d) for d in jax.devices()]


def local_devices(backend=None):
    """The devices a data-parallel run can use on this host, for `backend`
    (default: Keras' backend): accelerators if any, else CPU devices."""
    backend = backend or keras.backend.backend()
    if backend == "jax":
        return _jax_devices()
    if backend == "tensorflow":
        return _tensorflow_devices()
    raise ValueError(f"Data-parallel training needs KERAS_BACKEND to be one of "
                     f"{sorted(SUPPORTED_BACKENDS)}. Received: KERAS_BACKEND={backend!r}")


def check_devices(devices, backend=None):
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


def distribution(devices=None):
    """The distribution of a run on `devices` devices (checked by `check_devices`).

    Returns:
        None for one device, else a `keras.distribution.DataParallel` (JAX)
        or a `tf.distribute.MirroredStrategy` (TensorFlow, one per device
        list for the whole process).
    """
    devices = check_devices(devices)
    if devices == 1:
        return None
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return keras.distribution.DataParallel(devices=jax.devices()[:devices])
    import tensorflow as tf

    names = tuple(local_devices(backend)[:devices])
    if names not in _STRATEGIES:
        _STRATEGIES[names] = tf.distribute.MirroredStrategy(list(names))
    return _STRATEGIES[names]


def scope(parallel):
    """The context in which to build, compile and fit under `parallel` (a
    `distribution(...)`; None gives an empty context). It may be entered
    again: build in one block and fit in another."""
    return contextlib.nullcontext() if parallel is None else parallel.scope()


def one_device_copy(model, build):
    """`model`'s weights in a model from `build()` made outside any distribution
    (for evaluation and export after a data-parallel run)."""
    copy = build()
    copy.set_weights(model.get_weights())
    return copy


@contextlib.contextmanager
def data_parallel(devices=None):
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
