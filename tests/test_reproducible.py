"""Issue 12, class 8: the same seed and config give byte-identical files (every file of
the run directory: CSVs, JSON, PNG, SVG, report.html), apart from the stated fields
(analysis.reproducible.VARYING: run.log, summary.json's wall_time_s, report.html's
generation time, the output path and the folder the run was started from), which the comparison masks.

The two runs are separate processes with different ``PYTHONHASHSEED`` (so anything that
follows the order of a set of strings shows) started from different folders."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.reproducible import differing_files, masked

REPO = Path(__file__).resolve().parent.parent
#: Small, with charts, the report and the Parquet records: 2 replications of 10 days (3 charts drawn).
SMALL = ["replications=2", "horizon_days=10", "warmup_days=2", "executor=serial", "charts=all", "report=true",
         "records=parquet"]
#: A ranked month (league, robustness and funnel charts) and the accountability loop
#: over two months (the year charts), on a small city volume, in a process pool.
WIDE = ["replications=2", "start=2019-05-29T00:00", "horizon_days=80", "warmup_days=3", "arrivals.daily_calls=600",
        "call_center.seats=25", "ranking.min_surveys=2", "ranking.robustness.weight_draws=200",
        "ranking.robustness.sampling_draws=200", "accountability=pressure", "executor=local", "executor.workers=2",
        "charts=all", "report=true"]


def run_twice(tmp_path: Path, args: list[str], dir_key: str = "hydra.run.dir") -> tuple[Path, Path, Path, Path]:
    """Run ``args`` twice side by side (hash seeds 1 and 2, started from two folders)."""
    procs, dirs = [], []
    for name, hash_seed in (("a", "1"), ("b", "2")):
        cwd, out = tmp_path / f"cwd_{name}", tmp_path / f"run_{name}"
        if dir_key == "hydra.sweep.dir":  # a sweep's report is titled by its folder's name
            out = out / "sweep"
        cwd.mkdir()
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        procs.append(subprocess.Popen([sys.executable, str(REPO / "run.py"), *args, f"{dir_key}={out}"], cwd=cwd,
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        dirs.append((out, cwd))
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
    (a, cwd_a), (b, cwd_b) = dirs
    return a, b, cwd_a, cwd_b


def assert_identical(a: Path, b: Path, cwd_a: Path, cwd_b: Path, charts: int) -> None:
    assert differing_files(a, b, cwd_a, cwd_b) == []
    drawn = sorted(p.name for p in (a / "charts").glob("*.png"))
    assert len(drawn) >= charts, drawn
    for must in ("summary.json", "report.html", "rankings.csv", "run_complete.json", ".hydra/config.yaml",
                 "charts/captions.json"):
        assert (a / must).is_file(), must
    # the masks hid only what was stated: the wall times differ, the rest is the same bytes
    assert json.loads((a / "summary.json").read_text())["wall_time_s"] is not None
    assert (a / "rankings.csv").read_bytes() == (b / "rankings.csv").read_bytes()


@pytest.mark.slow
def test_same_seed_and_config_give_the_same_bytes(tmp_path):
    a, b, cwd_a, cwd_b = run_twice(tmp_path, SMALL)
    assert_identical(a, b, cwd_a, cwd_b, charts=3)
    assert len(list((a / "records").glob("*.parquet"))) == 8  # calls, tickets, 2 monthly tables x 2 replications


@pytest.mark.slow
def test_same_bytes_with_league_charts_the_loop_and_a_pool(tmp_path):
    a, b, cwd_a, cwd_b = run_twice(tmp_path, WIDE)
    assert_identical(a, b, cwd_a, cwd_b, charts=10)


@pytest.mark.slow
def test_a_sweep_gives_the_same_bytes(tmp_path):
    """Each job's files, sweep_summary.csv, the sweep's charts and report."""
    a, b, cwd_a, cwd_b = run_twice(tmp_path, ["-m", "call_center.seats=400,500", "replications=1", "horizon_days=3",
                                              "warmup_days=1", "executor=serial"], dir_key="hydra.sweep.dir")
    assert differing_files(a, b, cwd_a, cwd_b) == []
    assert (a / "sweep_summary.csv").is_file() and (a / "report.html").is_file()
    assert len(list(a.glob("*/summary.json"))) == 2


def test_only_the_stated_fields_are_masked(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for d, wall, kpi in ((a, 1.5, 0.9), (b, 7.25, 0.9)):
        d.mkdir()
        (d / "summary.json").write_text(json.dumps({"wall_time_s": wall, "seed": 1, "kpi": kpi, "out": str(d)}))
        (d / "run.log").write_text(f"[{wall}] started\n")
    assert differing_files(a, b) == []
    (b / "summary.json").write_text(json.dumps({"wall_time_s": 7.25, "seed": 1, "kpi": 0.91, "out": str(b)}))
    assert differing_files(a, b) == ["summary.json"]
    (b / "extra.csv").write_text("x\n")
    assert differing_files(a, b) == ["extra.csv", "summary.json"]
    assert b"<RUN_DIR>" in masked(a / "summary.json", a)


def test_the_report_time_is_masked_and_nothing_else_in_the_report(tmp_path):
    """Two runs made in different minutes: their reports' footers differ in the time only."""
    a, b = tmp_path / "a", tmp_path / "b"
    page = ("<p>Service level 80.1%</p><footer><p>Generated by hotline-sim 0.4.0 on {now} from "
            "<code>{out}</code>.</p></footer>")
    for d, now in ((a, "2026-12-01 10:51 UTC"), (b, "2026-12-02 09:03 CET")):
        d.mkdir()
        (d / "report.html").write_text(page.format(now=now, out=d), encoding="utf-8")
    assert differing_files(a, b) == []
    (b / "report.html").write_text(page.replace("80.1%", "80.2%").format(now="x", out=b), encoding="utf-8")
    assert differing_files(a, b) == ["report.html"]
