"""The chief/worker service of a distributed `geomae tune` sweep.

Keras Tuner's distributed mode serves the oracle over gRPC: the chief
(`serve_oracle`) answers the workers' requests for trials and their results;
each worker (`_worker_client`, `_SweepTuner`) pulls trials until the grid is
done. Here, workers send a heartbeat while they train, and the chief puts the
trial of a worker silent for `worker_timeout` seconds back in the queue, so a
lost worker neither stops the sweep nor leaves a trial unrun. What a sweep
tries (the lambda grid, the objective, the tables) is
`geomae_tf.training.tuning`'s.

Example (two shells, a folder both see)::

    geomae tune zoo/disk_ae_hole_encreg.toml --chief --oracle-address 127.0.0.1:8765
    geomae tune zoo/disk_ae_hole_encreg.toml --worker --oracle-address 127.0.0.1:8765
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Mapping
from concurrent import futures
from typing import Any

import grpc
import keras_tuner as kt
from keras_tuner.engine import trial as kt_trial
from keras_tuner.src import protos
from keras_tuner.src.distribute import oracle_chief, oracle_client

from geomae_tf import validation


#: Seconds between a worker's heartbeats while it trains, and between its requests
#: for a trial while the oracle has none to give yet.
HEARTBEAT_S = 2.0
IDLE_POLL_S = 1.0
CHIEF_ID = "chief"


class TuneConnectionError(ConnectionError):
    """The oracle of a distributed sweep cannot be served or reached."""


def parse_address(address: str) -> tuple[str, int]:
    """`"HOST:PORT"` -> `(host, port)` (`"[::1]:8000"` for IPv6)."""
    host, sep, port = str(address).rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"`oracle_address` must be HOST:PORT with a port in 1..65535. "
                         f"Received: oracle_address={address!r}")
    return host, int(port)


def distributed_role(chief: bool = False, worker: bool = False,
                     oracle_address: str | None = None, tuner_id: str | None = None,
                     environ: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """Which part of a sweep this process plays: None (alone) or a dict with `role`
    ("chief" or "worker"), `host`, `port` and `tuner_id`.

    Without `chief` or `worker`, Keras Tuner's variables decide:
    `KERASTUNER_ORACLE_IP` set makes a distributed run, whose role is chief when
    `KERASTUNER_TUNER_ID` contains "chief" (Keras Tuner's rule), else worker.

    Args:
        chief, worker: bool. The role asked on the command line (not both).
        oracle_address: str or None. `HOST:PORT` of the chief's oracle (defaults to
            `KERASTUNER_ORACLE_IP:KERASTUNER_ORACLE_PORT`).
        tuner_id: str or None. A worker's name, unique in the sweep (defaults to
            `KERASTUNER_TUNER_ID`, else `<hostname>-<pid>`).
        environ: mapping or None. Defaults to `os.environ`.
    """
    env = os.environ if environ is None else environ
    if chief and worker:
        raise ValueError("`chief` and `worker` exclude each other. Received: chief=True, "
                         "worker=True")
    env_id = env.get("KERASTUNER_TUNER_ID")
    if not (chief or worker):
        if "KERASTUNER_ORACLE_IP" not in env:
            if oracle_address is not None or tuner_id is not None:
                raise ValueError(f"`oracle_address` and `tuner_id` belong to a distributed "
                                 f"sweep: add --chief or --worker. Received: "
                                 f"oracle_address={oracle_address!r}, tuner_id={tuner_id!r}")
            return None
        chief = CHIEF_ID in (tuner_id or env_id or "")
    if oracle_address is None:
        if "KERASTUNER_ORACLE_IP" not in env or "KERASTUNER_ORACLE_PORT" not in env:
            raise ValueError("a distributed sweep needs the oracle's address: "
                             "--oracle-address HOST:PORT, or KERASTUNER_ORACLE_IP and "
                             "KERASTUNER_ORACLE_PORT. Received: neither")
        oracle_address = f"{env['KERASTUNER_ORACLE_IP']}:{env['KERASTUNER_ORACLE_PORT']}"
    host, port = parse_address(oracle_address)
    if chief:
        return {"role": "chief", "host": host, "port": port, "tuner_id": CHIEF_ID}
    name = tuner_id or env_id or f"{socket.gethostname()}-{os.getpid()}"
    if not isinstance(name, str) or CHIEF_ID in name or not name.strip():
        raise ValueError(f"`tuner_id` of a worker must be a non-empty name without "
                         f"'{CHIEF_ID}' (Keras Tuner's mark of the chief). Received: "
                         f"tuner_id={name!r}")
    return {"role": "worker", "host": host, "port": port, "tuner_id": name}


@contextlib.contextmanager
def _keras_tuner_environment(role):
    """Keras Tuner reads its distributed mode from the environment: set, then restore."""
    names = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")
    saved = {n: os.environ.get(n) for n in names}
    for n in names:
        os.environ.pop(n, None)
    if role is not None:
        os.environ.update(KERASTUNER_TUNER_ID=role["tuner_id"],
                          KERASTUNER_ORACLE_IP=role["host"],
                          KERASTUNER_ORACLE_PORT=str(role["port"]))
    try:
        yield
    finally:
        for n, v in saved.items():
            if v is None:
                os.environ.pop(n, None)
            else:
                os.environ[n] = v


def wait_for_oracle(host: str, port: int, timeout: float) -> None:
    """Waits at most `timeout` seconds for the chief's oracle to answer at host:port.

    Raises:
        TuneConnectionError: it did not (the chief is not started, or unreachable).
    """

    timeout = validation.check_float("connect_timeout", timeout, minimum=0.0,
                                     exclusive_minimum=True)
    channel = grpc.insecure_channel(f"{host}:{port}")
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
    except grpc.FutureTimeoutError:
        raise TuneConnectionError(
            f"no oracle answered at {host}:{port} within {timeout:g} s (connect_timeout): "
            f"start the chief first (geomae tune RECIPE --chief --oracle-address "
            f"{host}:{port}) and check that this machine can reach it") from None
    finally:
        channel.close()


def _worker_client(oracle, timeout):
    """A Keras Tuner `OracleClient` that waits `IDLE_POLL_S` after an IDLE answer
    and sends heartbeats (`start_heartbeat` / `stop_heartbeat`) while a trial runs."""

    class WorkerClient(oracle_client.OracleClient):
        def __init__(self, oracle):
            super().__init__(oracle)
            self._beat = None

        def create_trial(self, tuner_id):
            trial = super().create_trial(tuner_id)
            if trial.status == kt_trial.TrialStatus.IDLE:
                time.sleep(IDLE_POLL_S)
            return trial

        def start_heartbeat(self, trial_id):
            self.stop_heartbeat()
            stop = threading.Event()
            request = protos.get_service().GetTrialRequest(trial_id=trial_id)

            def beat():
                while not stop.wait(HEARTBEAT_S):
                    try:
                        self.stub.GetTrial(request, timeout=max(HEARTBEAT_S, 1.0))
                    except grpc.RpcError:
                        pass   # the trial's own requests report an unreachable chief

            thread = threading.Thread(target=beat, name=f"heartbeat-{trial_id}", daemon=True)
            thread.start()
            self._beat = (stop, thread)

        def stop_heartbeat(self):
            if self._beat is not None:
                self._beat[0].set()
                self._beat[1].join()
                self._beat = None

    return WorkerClient(oracle)


class _SweepTuner(kt.Tuner):
    """`keras_tuner.Tuner` whose workers beat while they train and say which
    trials they run (one line each, for the logs)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ran = []   # the trials this worker completed or failed

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        if hasattr(self.oracle, "start_heartbeat"):
            self.oracle.start_heartbeat(trial.trial_id)
            print(f"{self.tuner_id}: trial {trial.trial_id} started "
                  f"(lam={trial.hyperparameters.get('lam'):g})", flush=True)

    def on_trial_end(self, trial):
        try:
            super().on_trial_end(trial)
        finally:
            if hasattr(self.oracle, "stop_heartbeat"):
                self.oracle.stop_heartbeat()
        if hasattr(self.oracle, "start_heartbeat"):
            self.ran.append(trial.trial_id)
            print(f"{self.tuner_id}: trial {trial.trial_id} {trial.status.lower()}",
                  flush=True)


def serve_oracle(oracle: kt.Oracle, host: str, port: int, worker_timeout: float = 60.0,
                 poll: float = 0.2) -> list[tuple[str, str | None]]:
    """The chief: serves `oracle` over gRPC at host:port until the sweep is done.

    Done means: a worker was told to stop, no trial is running and every worker
    that asked for trials has been told to stop. A worker silent for
    `worker_timeout` seconds (no heartbeat, no request) is lost: its trial goes
    back to the queue (the oracle's `release_tuner`, as
    `geomae_tf.training.tuning.LambdaGridOracle` has it) for the next worker.

    Returns:
        The list of `(tuner_id, trial_id or None)` that were released.

    Raises:
        TuneConnectionError: host:port cannot be bound.
    """

    worker_timeout = validation.check_float("worker_timeout", worker_timeout, minimum=0.0,
                                            exclusive_minimum=True)

    class Servicer(oracle_chief.OracleServicer):
        """Keras Tuner's servicer, noting when each tuner was last heard from."""

        def __init__(self, oracle):
            super().__init__(oracle)
            self.seen = {}

        def _heard(self, tuner_id=None, trial_id=None):
            now = time.monotonic()
            if tuner_id is not None:
                self.seen[tuner_id] = now
            for tuner, trial in list(self.oracle.ongoing_trials.items()):
                if trial.trial_id == trial_id:
                    self.seen[tuner] = now

        def CreateTrial(self, request, context):
            self._heard(tuner_id=request.tuner_id)
            return super().CreateTrial(request, context)

        def GetTrial(self, request, context):
            self._heard(trial_id=request.trial_id)
            return super().GetTrial(request, context)

        def UpdateTrial(self, request, context):
            self._heard(trial_id=request.trial_id)
            return super().UpdateTrial(request, context)

        def EndTrial(self, request, context):
            self._heard(trial_id=request.trial.trial_id)
            tuner_id = next((t for t, trial in list(self.oracle.ongoing_trials.items())
                             if trial.trial_id == request.trial.trial_id), "?")
            response = super().EndTrial(request, context)
            trial = self.oracle.trials[request.trial.trial_id]
            score = ("" if trial.score is None
                     else f", {self.oracle.objective.name} {trial.score:.4e}")
            print(f"chief: trial {trial.trial_id} (lam={trial.hyperparameters.get('lam'):g}) "
                  f"{trial.status.lower()} by {tuner_id}{score}", flush=True)
            return response

    servicer = Servicer(oracle)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError:
        bound = 0
    if not bound:
        raise TuneConnectionError(f"cannot serve the oracle at {host}:{port}: the address "
                                  f"is in use or not this machine's (oracle_address)")
    server.start()
    released = []
    try:
        while True:
            time.sleep(poll)
            now = time.monotonic()
            for tuner_id in set(oracle.ongoing_trials) | set(oracle.tuner_ids):
                # a trial reloaded from an earlier chief is leased from now on
                if now - servicer.seen.setdefault(tuner_id, now) > worker_timeout:
                    trial = oracle.release_tuner(tuner_id)
                    servicer.seen.pop(tuner_id, None)
                    released.append((tuner_id, trial.trial_id if trial else None))
                    what = (f"its trial {trial.trial_id} goes back to the queue" if trial
                            else "it held no trial")
                    print(f"chief: lost tuner {tuner_id} (silent for more than "
                          f"{worker_timeout:g} s); {what}", flush=True)
            if (servicer.stop_triggered and not oracle.ongoing_trials
                    and not oracle.tuner_ids):
                return released
    finally:
        server.stop(grace=1.0)
