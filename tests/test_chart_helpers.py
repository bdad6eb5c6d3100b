"""The chart helper processes (analysis.chart_helpers): started by run.py when its tables
stage begins, only for a run that draws charts in more than one process; stopped when
the block ends, a failure of the tables included; the charts handed out longest first."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from analysis.chart_helpers import chart_helpers
from analysis.run_outputs import DRAW_ORDER, RUN_CHARTS, draw_order

REPO = Path(__file__).resolve().parent.parent
SMALL = ["replications=1", "horizon_days=3", "warmup_days=1", "executor=local", "executor.workers=2",
         "report=false"]
TWO_CHARTS = "charts=[calls_by_hour,lead_time_distribution]"
STARTED, STOPPED = "chart helpers: 1 process(es) started", "chart helpers: stopped"


def alive(pid: int) -> bool:
    """Is ``pid`` a live process (not a zombie)? Linux /proc."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "run.py", *args], cwd=REPO, capture_output=True, text=True, timeout=300)


def test_the_draw_order_is_every_chart_once_and_the_longest_first():
    assert sorted(DRAW_ORDER) == sorted(RUN_CHARTS) and len(DRAW_ORDER) == len(RUN_CHARTS)
    assert DRAW_ORDER[0] == "league_bump"  # the slowest on the default run
    assert draw_order(["calls_by_hour", "funnel_plot", "league_bump"]) == ["league_bump", "funnel_plot",
                                                                           "calls_by_hour"]


@pytest.mark.parametrize("charts, workers", [((), 2), ((), 1), (RUN_CHARTS, 1), (("calls_by_hour",), 2)])
def test_no_helper_without_charts_or_with_one_process(charts, workers):
    with chart_helpers(charts, workers) as helpers:
        assert helpers is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_helpers_are_gone_when_the_block_fails():
    """As when the tables stage fails: the error comes through and no helper is left."""
    with pytest.raises(RuntimeError, match="the tables failed"):
        with chart_helpers(RUN_CHARTS, 2) as helpers:
            assert helpers is not None and helpers.processes == 1
            pids = [f.result(timeout=120) for f in helpers.warm]  # warmed up: matplotlib imported
            assert all(alive(pid) for pid in pids)
            raise RuntimeError("the tables failed")
    assert not any(alive(pid) for pid in pids)


def test_a_run_without_charts_starts_no_helper(tmp_path):
    out = tmp_path / "run"
    proc = run_cli(*SMALL, "charts=none", f"hydra.run.dir={out}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "chart helpers" not in (out / "run.log").read_text(encoding="utf-8")


@pytest.mark.slow
def test_the_helper_starts_before_the_tables_and_stops_after_the_charts(tmp_path):
    out = tmp_path / "run"
    proc = run_cli(*SMALL, TWO_CHARTS, f"hydra.run.dir={out}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = (out / "run.log").read_text(encoding="utf-8")
    order = [log.index(line) for line in ("stage simulate", STARTED, "stage tables", "stage charts", STOPPED)]
    assert order == sorted(order), log
    assert "chart helpers" not in proc.stdout + proc.stderr  # run.log only
    assert sorted(p.name for p in (out / "charts").glob("*.png")) == ["calls_by_hour.png",
                                                                      "lead_time_distribution.png"]


@pytest.mark.slow
def test_a_failure_in_the_tables_stops_the_helper(tmp_path):
    out = tmp_path / "run"
    (out / "hourly.csv").mkdir(parents=True)  # a folder where the tables stage writes a file
    proc = run_cli(*SMALL, TWO_CHARTS, f"hydra.run.dir={out}")
    assert proc.returncode != 0
    log = (out / "run.log").read_text(encoding="utf-8")
    assert STARTED in log and STOPPED in log.split(STARTED, 1)[1], log
    assert "stage tables" not in log and not (out / "charts").exists()


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_once_the_helper_is_started_is_one_line_130_and_leaves_no_process(tmp_path):
    """Ctrl-C in the tables or charts stage, the helper started (and still importing)."""
    import os
    import signal
    import time

    from tests.test_interrupts import children

    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "run.py", *SMALL, "charts=all", f"hydra.run.dir={out}"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while STARTED not in ((out / "run.log").read_text(encoding="utf-8") if (out / "run.log").is_file() else ""):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1][-2000:]
        time.sleep(0.05)
    kids = children(proc.pid)  # the helper (and multiprocessing's resource tracker)
    assert kids
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    lines = [line for line in err.splitlines()
             if line.strip() and not line.lstrip().startswith(("progress", "drawing"))]
    assert proc.returncode == 130, err
    assert len(lines) == 1 and lines[0].startswith("interrupted (Ctrl-C)"), err
    time.sleep(0.5)
    assert not [k for k in kids if alive(k)], "a process of the run outlived it"
