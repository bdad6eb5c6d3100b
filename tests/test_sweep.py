"""Sweeps: a Hydra multirun aggregates into one table; re-running finishes only the
missing jobs; re-aggregating gives the same table."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.sweep import SWEEP_FILE, main as sweep_main
from analysis.rundir import DONE_FILE

ROOT = Path(__file__).resolve().parent.parent
SWEEP = ["replications=2", "horizon_days=3", "warmup_days=1", "executor=serial",
         "dispatch=direct,two_level", "call_center.seats=450,500", "ranking=w10_45_45,equal"]


def multirun(sweep_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    args = [sys.executable, "run.py", "-m", *SWEEP, f"hydra.sweep.dir={sweep_dir}", *extra]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def read_table(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    sweep_dir = tmp_path_factory.mktemp("sweep") / "s"
    proc = multirun(sweep_dir)
    return sweep_dir, proc


def test_a_2x2x2_sweep_gives_one_table_with_8_jobs_and_every_kpi(sweep):
    sweep_dir, _ = sweep
    rows = read_table(sweep_dir / SWEEP_FILE)
    jobs = {r["job"] for r in rows}
    assert len(jobs) == 8
    for key in ("dispatch", "call_center.seats", "ranking"):
        assert key in rows[0], "swept values are columns"
    assert {r["dispatch"] for r in rows} == {"direct", "two_level"}
    metrics_per_job = {j: {r["metric"] for r in rows if r["job"] == j} for j in jobs}
    first = next(iter(metrics_per_job.values()))
    assert {"service_level", "deadline_compliance", "satisfaction_rate", "tickets_per_day"} <= first
    assert all(m == first for m in metrics_per_job.values()), "every job reports every KPI"
    charts = list((sweep_dir / "charts").glob("*.png"))
    assert len(charts) >= 3, "comparison charts for the sweep"
    assert (sweep_dir / "report.html").is_file()


def test_re_aggregating_gives_the_same_table(sweep):
    sweep_dir, _ = sweep
    before = (sweep_dir / SWEEP_FILE).read_bytes()
    assert sweep_main([str(sweep_dir)]) == 0
    assert (sweep_dir / SWEEP_FILE).read_bytes() == before


@pytest.mark.slow
def test_an_interrupted_sweep_finishes_only_the_missing_jobs(sweep):
    sweep_dir, _ = sweep
    jobs = sorted(p.parent for p in sweep_dir.glob(f"*/{DONE_FILE}"))
    victim = jobs[3]
    stamps = {j: (j / DONE_FILE).stat().st_mtime_ns for j in jobs if j != victim}
    for f in victim.iterdir():  # the job's outputs are gone, as after a crash mid-job
        if f.is_file():
            f.unlink()
    proc = multirun(sweep_dir)
    assert proc.stdout.count("already done") == 7
    assert (victim / DONE_FILE).is_file() and (victim / "summary.json").is_file()
    assert all((j / DONE_FILE).stat().st_mtime_ns == t for j, t in stamps.items()), "others untouched"
    assert len({r["job"] for r in read_table(sweep_dir / SWEEP_FILE)}) == 8


def test_aggregating_an_empty_directory_is_a_clear_error(tmp_path, capsys):
    assert sweep_main([str(tmp_path)]) == 2
    assert "no finished job" in capsys.readouterr().err
