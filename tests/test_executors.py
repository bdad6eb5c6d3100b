"""Where replications run: in process (serial), in a local process pool, or on a
dask.distributed cluster (a scheduler and a worker started here as processes on
loopback, or a LocalCluster). Every executor must give bit-identical reduced results,
in replication order, and report progress once per replication; bad executor configs
stop with the one-line config error.
"""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from analysis.kpis.calls import reduce_replication
from sim.config import SimConfig, build_config
from sim.errors import ConfigError
from sim.experiment import ExecutorConfig, build_executor_config, run_experiment

REPO = Path(__file__).resolve().parent.parent
CONF = REPO / "conf"
#: The full model (tickets, streets, survey), short: 3 replications of 4 days.
SMALL = ("horizon_days=4", "warmup_days=1", "replications=3", 'start="2019-06-03T00:00"')
START_TIMEOUT_S = 60


def compose_raw(*overrides: str) -> dict:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return OmegaConf.to_container(compose("config", overrides=list(overrides)), resolve=True)


@pytest.fixture(scope="module")
def cfg() -> SimConfig:
    return build_config(compose_raw(*SMALL))


class Run:
    """One run_experiment call and the progress it reported."""

    def __init__(self, cfg: SimConfig, executor: ExecutorConfig):
        self.progress: list[tuple[int, int, int]] = []
        self.results = run_experiment(cfg, partial(reduce_replication, cfg=cfg),
                                      on_done=lambda done, total, rep: self.progress.append((done, total, rep)),
                                      executor=executor)


@pytest.fixture(scope="module")
def serial(cfg) -> Run:
    return Run(cfg, ExecutorConfig("serial"))


@pytest.fixture(scope="module")
def local(cfg) -> Run:
    return Run(cfg, ExecutorConfig("local", workers=2))


@pytest.fixture(scope="module")
def dask_local_cluster(cfg) -> Run:
    pytest.importorskip("distributed")
    return Run(cfg, ExecutorConfig("dask", workers=2))


def _wait_for(path: Path, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not path.exists() or not path.read_text().strip():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"dask scheduler did not start:\n{log.read_text()}")
        time.sleep(0.1)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def dask_scheduler(tmp_path_factory):
    """A dask scheduler and one single-threaded worker, separate processes on loopback;
    yields the scheduler's address. Both are stopped by pid, also if a test fails (and
    exit on their own if this process dies: idle / death time-outs)."""
    distributed = pytest.importorskip("distributed")
    tmp = tmp_path_factory.mktemp("dask")
    sched_file = tmp / "scheduler.json"
    procs = []
    try:
        log = tmp / "scheduler.log"
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
             "--no-dashboard", "--scheduler-file", str(sched_file), "--idle-timeout", "600s"],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=log.open("w")))
        _wait_for(sched_file, procs[0], log)
        address = json.loads(sched_file.read_text())["address"]
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, "--host", "127.0.0.1",
             "--nthreads", "1", "--no-nanny", "--no-dashboard", "--death-timeout", "60s",
             "--local-directory", str(tmp)],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=(tmp / "worker.log").open("w")))
        with distributed.Client(address, timeout=START_TIMEOUT_S) as client:
            client.wait_for_workers(1, timeout=START_TIMEOUT_S)
        yield address
    finally:
        for proc in reversed(procs):
            _stop(proc)


@pytest.fixture(scope="module")
def dask_remote(cfg, dask_scheduler) -> Run:
    return Run(cfg, ExecutorConfig("dask", address=dask_scheduler))


def assert_identical(a, b, path="result") -> None:
    """Equal to the bit: floats by their hex form, arrays by dtype, shape and bytes."""
    assert type(a) is type(b), path
    if isinstance(a, dict):
        assert list(a) == list(b), path
        for key in a:
            assert_identical(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_identical(x, y, f"{path}[{i}]")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, path
        assert a.tobytes() == b.tobytes(), path
    elif isinstance(a, float):
        assert a.hex() == b.hex(), f"{path}: {a!r} != {b!r}"
    else:
        assert a == b, path


# ---------------------------------------------------------------- same results everywhere


def test_serial_gives_one_result_per_replication(serial):
    assert len(serial.results) == 3
    offered = [r["overall"]["calls_offered"] for r in serial.results]
    assert all(n > 0 for n in offered) and len(set(offered)) == 3  # independent replications
    assert serial.results[0]["overall"]["tickets_created"] > 0  # the full model ran


@pytest.mark.parametrize("name", ["local", "dask_local_cluster", "dask_remote"])
def test_executor_results_are_bit_identical_to_serial(request, serial, name):
    other = request.getfixturevalue(name)
    assert len(other.results) == len(serial.results)
    for rep, (s, o) in enumerate(zip(serial.results, other.results)):
        assert o["overall"] == s["overall"], f"replication {rep}"  # same order as serial
        for metric, values in s["hourly"].items():
            assert np.array_equal(values, o["hourly"][metric], equal_nan=True), (rep, metric)
        assert_identical(s, o, f"replication {rep}")


@pytest.mark.parametrize("name", ["serial", "local", "dask_local_cluster", "dask_remote"])
def test_progress_once_per_replication_in_order(request, name):
    """A count per finished replication, and which one it was (each once)."""
    run = request.getfixturevalue(name)
    assert [(done, total) for done, total, _ in run.progress] == [(1, 3), (2, 3), (3, 3)]
    assert sorted(rep for _, _, rep in run.progress) == [0, 1, 2]


def test_no_executor_means_serial(cfg, serial):
    one = dataclasses.replace(cfg, replications=1)
    assert_identical(run_experiment(one, partial(reduce_replication, cfg=one))[0], serial.results[0])


# ---------------------------------------------------------------- config


def test_every_executor_config_file_is_valid():
    for kind in ("serial", "local", "dask"):
        raw = compose_raw(f"executor={kind}")
        assert build_executor_config(raw["executor"]) == ExecutorConfig(kind=kind, workers=0, address=None)
        build_config(raw)  # the sim validator lets the section through


def test_default_executor_is_local_and_accepts_an_address_for_dask():
    assert build_executor_config(compose_raw()["executor"]).kind == "local"
    raw = compose_raw("executor=dask", "executor.address=tcp://127.0.0.1:8786", "executor.workers=3")
    assert build_executor_config(raw["executor"]) == ExecutorConfig("dask", 3, "tcp://127.0.0.1:8786")


@pytest.mark.parametrize(("raw", "key", "text"), [
    ({"kind": "threads", "workers": 0, "address": None}, "executor.kind", "serial or local or dask"),
    ({"kind": "local", "workers": -1, "address": None}, "executor.workers", ">= 0"),
    ({"kind": "local", "workers": 1.5, "address": None}, "executor.workers", ">= 0"),
    ({"kind": "local", "workers": 0, "address": "tcp://127.0.0.1:8786"}, "executor.address", "kind = dask"),
    ({"kind": "serial", "workers": 0, "address": "tcp://127.0.0.1:8786"}, "executor.address", "kind = dask"),
    ({"kind": "dask", "workers": 0, "address": ""}, "executor.address", "scheduler"),
    ({"kind": "local", "worker": 2}, "executor.worker", "a known key"),
    ("local", "executor", "a mapping"),
])
def test_bad_executor_config_gives_one_line_error(raw, key, text):
    with pytest.raises(ConfigError) as err:
        build_executor_config(raw)
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"config error: {key} = ") and text in message


def test_dask_missing_gives_one_line_error(monkeypatch, cfg):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    for call in (lambda: build_executor_config({"kind": "dask"}),
                 lambda: run_experiment(cfg, partial(reduce_replication, cfg=cfg), executor=ExecutorConfig("dask"))):
        with pytest.raises(ConfigError) as err:
            call()
        message = str(err.value)
        assert "\n" not in message and message.startswith("config error: executor.kind = 'dask'")
        assert 'pip install -e ".[dask]"' in message


def test_importing_the_project_does_not_import_dask():
    code = "import sys, run, sim.experiment; assert 'distributed' not in sys.modules and 'dask' not in sys.modules"
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_cli_bad_executor_exits_2_with_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "run.py", "executor.workers=-2", f"hydra.run.dir={tmp_path}"],
                          cwd=REPO, capture_output=True, text=True, timeout=120, env={**os.environ, "HYDRA_FULL_ERROR": "0"})
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "config error: executor.workers = -2 is not allowed; expected a whole number of worker processes >= 0 (0: every core)"]


def test_precision_adds_replications_until_the_ci_is_narrow():
    """run_until_precise keeps the first replications of a plain run and stops as soon
    as the half-width is small enough, or at the cap."""
    from sim.experiment import run_until_precise
    from tests.conftest import erlang_config
    from analysis.kpis.calls import replication_kpis
    from analysis.kpis.stats import ci_half_width
    cfg = erlang_config(5, 0.8, days=1, warmup_days=0.1, replications=2)
    reduce = partial(replication_kpis, sl_threshold_s=30)
    plain = run_experiment(cfg, reduce)
    widths = []

    def width(results):
        widths.append(ci_half_width(results, "p_wait"))
        return widths[-1]

    capped = run_until_precise(cfg, reduce, width, target=0.0, max_replications=6)
    assert len(capped) == 6, "an unreachable target stops at the cap"
    assert len(widths) == 2, "checked after 2 and 4 replications (batches of the initial size), then capped"
    assert capped[0]["overall"] == plain[0]["overall"] and capped[1]["overall"] == plain[1]["overall"]
    loose = run_until_precise(cfg, reduce, width, target=1.0, max_replications=6)
    assert len(loose) == 2, "already precise enough: no extra replications"
