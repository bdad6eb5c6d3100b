"""Sweeps through Hydra's launchers: joblib (parallel jobs on one machine) and
submitit (SLURM on a cluster; tested with its local back end, which runs each job as
a separate process exactly as a SLURM node would)."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["replications=1", "horizon_days=2", "warmup_days=0.5", "executor=serial", "dispatch=direct,two_level"]


def sweep_with(launcher: list[str], sweep_dir: Path) -> list[dict]:
    proc = subprocess.run([sys.executable, "run.py", "-m", *launcher, *SMALL, f"hydra.sweep.dir={sweep_dir}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with (sweep_dir / "sweep_summary.csv").open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def metric(rows: list[dict], dispatch: str, name: str) -> str:
    return next(r["mean"] for r in rows if r["dispatch"] == dispatch and r["metric"] == name)


@pytest.fixture(scope="module")
def basic_sweep(tmp_path_factory):
    return sweep_with([], tmp_path_factory.mktemp("basic") / "s")


@pytest.mark.parametrize("launcher, package", [
    (["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"], "hydra_plugins.hydra_joblib_launcher"),
    (["hydra/launcher=submitit_local"], "hydra_plugins.hydra_submitit_launcher"),
])
@pytest.mark.slow
def test_launcher_runs_the_sweep_with_the_same_results(launcher, package, basic_sweep, tmp_path):
    pytest.importorskip(package, reason=f"{package} not installed (pip install -e '.[test]')")
    rows = sweep_with(launcher, tmp_path / "s")
    assert {r["dispatch"] for r in rows} == {"direct", "two_level"}
    for name in ("calls_offered", "service_level", "tickets_created", "dispatch_delay_mean_h"):
        for dispatch in ("direct", "two_level"):
            assert metric(rows, dispatch, name) == metric(basic_sweep, dispatch, name), (
                "a launcher changes where jobs run, never their results")
