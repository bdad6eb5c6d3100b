"""Run the replications of one configuration, here or in parallel, and reduce each one
as it finishes.

Records of a replication can be tens of MB, so they are reduced (by a function the
caller passes, typically from ``analysis/``) right after the replication ends, where it
ran, and only the small reduced result is kept (and, in parallel, sent back). ``sim/``
does not import ``analysis/``; ``run.py`` wires the two together.

Where the replications run is the ``executor`` config section (``conf/executor/``):

- ``serial``: one after the other in this process;
- ``local``: a process pool on this machine, ``workers`` processes (0: every core);
- ``dask``: a dask.distributed cluster: the scheduler at ``address``, or, without an
  address, a ``LocalCluster`` of ``workers`` single-threaded processes started for the
  run and closed after it. dask is an optional dependency (``pip install -e ".[dask]"``),
  imported only here and only for this kind.

Every replication draws from its own streams at (seed, replication) and shares no state
with the others, so the results are bit-identical whatever the executor, the number of
workers or the order in which replications finish; they are returned in replication
order. ``reduce`` must be picklable for ``local`` and ``dask`` (a top-level function, or
``functools.partial`` of one), and so must what it returns.
"""
from __future__ import annotations

import contextlib
import importlib.util
import logging
import re
import os
import functools
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from queue import Empty
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Callable, TypeVar

from sim.config import SimConfig
from sim.errors import ConfigError
from sim.model import ReplicationRecords, run_replication
from sim.validate import check_keys, integer
from sim.worker_guard import guard_worker, sigint_held

T = TypeVar("T")
Reduce = Callable[[ReplicationRecords], T]
#: ``on_done(done, total, rep)``: ``done`` of ``total`` replications finished, the last
#: one being replication ``rep``.
Progress = Callable[[int, int, int], None]
#: ``on_days(replication, simulated days done)``: how far a running replication is.
DaysProgress = Callable[[int, float], None]
#: How often (seconds) the parent looks for progress from a process pool's workers.
POLL_S = 0.5
#: Seconds a terminated worker has to end (on Ctrl-C) before it is killed.
STOP_WAIT_S = 5.0

KINDS = ("serial", "local", "dask")
EXECUTOR_KEYS = {"kind", "workers", "address"}
DASK_MISSING = 'executor.kind = dask needs dask.distributed: pip install -e ".[dask]"'
#: Worker processes start with 'spawn': a fresh interpreter on every platform (the only
#: method on Windows, the default on macOS), inheriting nothing from the parent (Hydra's
#: logging, a frozen GC heap, threads), at the cost of one import of the model per
#: worker (about a second, once per run, against 10 s or more per replication).
MP_CONTEXT = "spawn"


@dataclass(frozen=True)
class ExecutorConfig:
    """Where replications run. ``workers`` 0 means every core this process may use;
    it sizes the local pool and a dask ``LocalCluster`` (not a cluster at ``address``)."""

    kind: str = "serial"
    workers: int = 0
    address: str | None = None


def build_executor_config(raw: dict | None) -> ExecutorConfig:
    """Validate the ``executor`` config section (None: serial)."""
    if raw is None:
        return ExecutorConfig()
    if not isinstance(raw, dict):
        raise ConfigError("executor", raw, "a mapping with kind, workers, address (see conf/executor/)")
    check_keys(raw, EXECUTOR_KEYS, "executor")
    kind = raw.get("kind", "serial")
    if kind not in KINDS:
        raise ConfigError("executor.kind", kind, " or ".join(KINDS))
    workers = integer(raw.get("workers", 0), "executor.workers", lo=0,
                      allowed="a whole number of worker processes >= 0 (0: every core)")
    address = raw.get("address")
    if address is not None:
        if kind != "dask":
            raise ConfigError("executor.address", address, f"null unless executor.kind = dask (kind is {kind})")
        if not _is_scheduler_address(address):
            raise ConfigError("executor.address", address,
                              "the address of a dask scheduler, [tcp|tls|ucx|ws|wss://]host:port like "
                              "tcp://10.0.0.5:8786, or null")
    if kind == "dask" and importlib.util.find_spec("distributed") is None:
        raise ConfigError("executor.kind", kind, f"serial or local here: {DASK_MISSING}")
    return ExecutorConfig(kind=kind, workers=workers, address=address)


#: A dask scheduler's address: an optional protocol, a host name, IPv4 or [IPv6] address, a port.
SCHEDULER_ADDRESS = re.compile(r"(?:(?:tcp|tls|ucx|ws|wss)://)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):(\d{1,5})")


def _is_scheduler_address(address) -> bool:
    match = SCHEDULER_ADDRESS.fullmatch(address) if isinstance(address, str) else None
    return match is not None and 1 <= int(match.group(1)) <= 65535


def run_experiment(cfg: SimConfig, reduce: Reduce, on_done: Progress | None = None,
                   executor: ExecutorConfig | None = None, reps: range | None = None,
                   on_days: DaysProgress | None = None) -> list[T]:
    """Run replications ``reps`` (default 0..cfg.replications-1) and return
    ``reduce(records)`` of each, in replication order. ``on_done(done, total, rep)``
    is called in this process each time a replication's result arrives (``rep``: which); ``on_days(rep,
    days)`` each simulated day of a running replication (serial and local executors;
    a dask cluster reports finished replications only)."""
    executor = executor or ExecutorConfig()
    runner = {"serial": _run_serial, "local": _run_local, "dask": _run_dask}.get(executor.kind)
    if runner is None:
        raise ConfigError("executor.kind", executor.kind, " or ".join(KINDS))
    return runner(cfg, reduce, on_done or _no_progress, executor, reps or range(cfg.replications), on_days)


def run_until_precise(cfg: SimConfig, reduce: Reduce, half_width: Callable[[list], float], target: float,
                      max_replications: int, on_done: Progress | None = None,
                      executor: ExecutorConfig | None = None, on_days: DaysProgress | None = None) -> list[T]:
    """Run ``cfg.replications`` replications, then keep adding batches of the same size
    (replications n, n+1, ...: each its own random streams, so the first n are the
    same as a plain run's) until ``half_width(results)`` is at most ``target`` or
    ``max_replications`` are done."""
    step = cfg.replications
    results = run_experiment(cfg, reduce, on_done, executor, range(step), on_days)
    while len(results) < max_replications and not half_width(results) <= target:
        more = range(len(results), min(len(results) + step, max_replications))
        results += run_experiment(cfg, reduce, on_done, executor, more, on_days)
    return results


def replicate(cfg: SimConfig, rep: int, reduce: Reduce, on_days: DaysProgress | None = None) -> T:
    """One task: simulate replication ``rep`` and reduce it where it ran."""
    on_day = None if on_days is None else functools.partial(on_days, rep)
    return reduce(run_replication(cfg, rep, on_day))


#: In a pool worker: the queue its replications report simulated days to (or None).
_worker_days_queue = None


def _init_worker(queue, parent_pid: int) -> None:
    """A pool worker's start: it dies with its parent and leaves Ctrl-C to it
    (sim.worker_guard), and reports simulated days to ``queue``."""
    global _worker_days_queue
    guard_worker(parent_pid)  # started by the thread that runs the pool: the parent-death signal is safe
    _worker_days_queue = queue


def _put_days(rep: int, days: float) -> None:
    _worker_days_queue.put((rep, days))


def replicate_in_worker(cfg: SimConfig, rep: int, reduce: Reduce) -> T:
    """One task in a pool worker: as :func:`replicate`, reporting simulated days to
    the parent through the queue the worker was started with."""
    return replicate(cfg, rep, reduce, None if _worker_days_queue is None else _put_days)


def all_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _no_progress(done: int, total: int, rep: int) -> None:
    pass


def _run_serial(cfg: SimConfig, reduce: Reduce, on_done: Progress, executor: ExecutorConfig, reps: range,
                on_days: DaysProgress | None = None) -> list:
    n = len(reps)
    results = []
    for done, rep in enumerate(reps, start=1):
        results.append(replicate(cfg, rep, reduce, on_days))
        on_done(done, n, rep)
    return results


def _run_local(cfg: SimConfig, reduce: Reduce, on_done: Progress, executor: ExecutorConfig, reps: range,
               on_days: DaysProgress | None = None) -> list:
    n = len(reps)
    workers = min(executor.workers or all_cores(), n)
    results: list = [None] * n
    ctx = get_context(MP_CONTEXT)
    queue = ctx.Queue() if on_days is not None else None  # workers' simulated days, to the parent
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(queue, os.getpid())) as pool:
        futures: dict = {}
        try:
            with sigint_held():  # the workers start (at submit) with Ctrl-C held until they ignore it
                for k, rep in enumerate(reps):
                    futures[pool.submit(replicate_in_worker, cfg, rep, reduce)] = k
            pending, done_count = set(futures), 0
            while pending:
                finished, pending = wait(pending, timeout=POLL_S, return_when=FIRST_COMPLETED)
                _drain(queue, on_days)
                for fut in finished:
                    results[futures[fut]] = fut.result()
                    done_count += 1
                    on_done(done_count, n, reps[futures[fut]])
        except BaseException as err:
            for fut in futures:  # do not start what is still queued
                fut.cancel()
            if isinstance(err, (KeyboardInterrupt, SystemExit)):
                _stop_workers(pool)  # Ctrl-C: do not wait for the running replications
            raise
    return results


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Terminate a pool's worker processes now (its ``shutdown`` would wait for the
    replications they are running) and wait for them to end, and for the pool's
    manager thread: left running, it could close its wake-up pipe just as the
    interpreter's exit wakes it through that pipe (an OSError traceback after the
    one line, about one early Ctrl-C in twenty)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # CPython's pool keeps them there
    manager = getattr(pool, "_executor_manager_thread", None)  # and its manager thread there
    for proc in processes:
        proc.terminate()
    for proc in processes:
        proc.join(STOP_WAIT_S)
        if proc.is_alive():
            proc.kill()
    pool.shutdown(wait=False, cancel_futures=True)
    if manager is not None:
        manager.join(STOP_WAIT_S)  # it ends once it sees its workers gone


def _drain(queue, on_days: DaysProgress | None) -> None:
    """Pass on what the workers reported since the last look."""
    if queue is None:
        return
    while True:
        try:
            rep, days = queue.get_nowait()
        except Empty:
            return
        on_days(rep, days)


def _run_dask(cfg: SimConfig, reduce: Reduce, on_done: Progress, executor: ExecutorConfig, reps: range,
              on_days: DaysProgress | None = None) -> list:
    try:
        from distributed import Client, LocalCluster, as_completed as dask_as_completed
    except ImportError:
        raise ConfigError("executor.kind", "dask", f"serial or local here: {DASK_MISSING}") from None
    n = len(reps)
    cluster = None
    with contextlib.ExitStack() as stack:
        if executor.address is None:
            stack.enter_context(_quiet_logger("distributed", logging.WARNING))
            # on loopback only; no dashboard, its HTTP port free (not a fixed 8787)
            cluster = stack.enter_context(LocalCluster(
                n_workers=min(executor.workers or all_cores(), n), threads_per_worker=1, processes=True,
                host="127.0.0.1", dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}))
        client = stack.enter_context(Client(executor.address or cluster))
        futures = [client.submit(replicate, cfg, rep, reduce, pure=False) for rep in reps]
        index = {fut.key: rep for rep, fut in enumerate(futures)}
        results: list = [None] * n
        try:
            for done, fut in enumerate(dask_as_completed(futures), start=1):
                results[index[fut.key]] = fut.result()
                on_done(done, n, reps[index[fut.key]])
        except BaseException:
            client.cancel(futures)
            raise
        return results


@contextlib.contextmanager
def _quiet_logger(name: str, level: int):
    """Raise a logger's level for a while. A LocalCluster's start and stop log some 40
    INFO lines (and a harmless traceback) that Hydra's root handler would print into
    every run; LocalCluster's own ``silence_logs`` only reaches dask's handlers."""
    logger = logging.getLogger(name)
    old = logger.level
    if logger.getEffectiveLevel() < level:
        logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(old)
