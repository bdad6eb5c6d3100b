"""The ``charts`` and ``report`` options: what a run draws after its tables, validated
like every key; off in a sweep's jobs unless given on the command line, while the
sweep's own aggregate is still made."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.run_outputs import RUN_CHARTS, build_output_config, sweep_job_options
from analysis.rundir import DONE_FILE, config_fingerprint
from analysis.sweep import SWEEP_FILE
from sim.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
SMALL = ["replications=1", "horizon_days=3", "warmup_days=1", "executor=serial"]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "run.py", *args], cwd=REPO, capture_output=True, text=True, timeout=300)


# ------------------------------------------------------------------ the options themselves


def test_all_none_and_lists_of_names():
    assert build_output_config("all", True).charts == RUN_CHARTS
    assert build_output_config("none", False).charts == () and not build_output_config("none", False).report
    assert build_output_config([], True).charts == ()
    # in the drawing order, whatever the order given; a single name without brackets is fine
    assert build_output_config(["funnel_plot", "calls_by_hour"], True).charts == ("calls_by_hour", "funnel_plot")
    assert build_output_config("league_bump", True).charts == ("league_bump",)


@pytest.mark.parametrize("charts, report, key, words", [
    (["calls_by_hour", "bogus", "nope"], True, "charts", ("bogus, nope", "calls_by_hour")),
    ("some", True, "charts", ("all, none", "funnel_plot")),
    (None, True, "charts", ("all, none",)),
    ([1, 2], True, "charts", ("all, none",)),
    ("all", "yes", "report", ("true or false",)),
])
def test_bad_values_are_one_line_config_errors(charts, report, key, words):
    with pytest.raises(ConfigError) as err:
        build_output_config(charts, report)
    message = str(err.value)
    assert message.startswith(f"config error: {key} = ") and "\n" not in message
    assert all(w in message for w in words), message


def test_a_sweep_job_draws_only_what_the_command_line_asked_for():
    assert sweep_job_options("all", True, {"call_center.seats"}) == ("none", False)
    assert sweep_job_options(["funnel_plot"], True, {"charts"}) == (["funnel_plot"], False)
    assert sweep_job_options("all", True, {"report"}) == ("none", True)


def test_charts_and_report_do_not_change_the_config_fingerprint():
    raw = {"seed": 1, "replications": 2}
    assert config_fingerprint({**raw, "charts": "none", "report": False}) == config_fingerprint(raw)


def test_the_chart_names_are_those_the_chart_module_draws(tmp_path):
    from analysis.charts import RunData, _run_builders
    assert tuple(name for name, _ in _run_builders(RunData(tmp_path), None)) == RUN_CHARTS


# ------------------------------------------------------------------ through the command line


@pytest.fixture(scope="module")
def bare_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("outputs") / "bare"
    return out, run_cli(*SMALL, "charts=none", "report=false", f"hydra.run.dir={out}")


def test_no_charts_and_no_report(bare_run):
    out, proc = bare_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not (out / "charts").exists() and not (out / "report.html").exists()
    assert (out / "summary.json").is_file() and (out / DONE_FILE).is_file()
    assert "report:" not in proc.stdout


@pytest.mark.slow
def test_charts_drawn_side_by_side_are_those_drawn_one_by_one(bare_run, tmp_path):
    from analysis.charts import make_run_charts
    out, proc = bare_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    names = ["calls_by_hour", "lead_time_distribution", "policy_comparison"]  # the last is skipped (no comparison)
    one = make_run_charts(out, out_dir=tmp_path / "one", names=names, workers=1)
    two = make_run_charts(out, out_dir=tmp_path / "two", names=names, workers=2)
    assert [p.name for p in one] == [p.name for p in two] == ["calls_by_hour.png", "lead_time_distribution.png"]
    for a, b in zip(one, two):
        assert a.read_bytes() == b.read_bytes()
    captions = (tmp_path / "one" / "captions.json").read_text(encoding="utf-8")
    assert captions == (tmp_path / "two" / "captions.json").read_text(encoding="utf-8")
    assert "policy_comparison" in json.loads(captions)["_skipped"]


def test_one_chart_by_name(tmp_path):
    out = tmp_path / "run"
    proc = run_cli(*SMALL, "charts=[calls_by_hour]", f"hydra.run.dir={out}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(p.name for p in (out / "charts").iterdir()) == ["calls_by_hour.png", "calls_by_hour.svg",
                                                                  "captions.json"]
    assert list(json.loads((out / "charts" / "captions.json").read_text(encoding="utf-8"))) == ["calls_by_hour"]
    assert (out / "report.html").is_file() and (out / DONE_FILE).is_file()
    # run.log holds every stage with its time, in order; the console does not repeat them
    log = (out / "run.log").read_text(encoding="utf-8")
    stages = re.findall(r"stage (\w+): (\d+\.\d) s", log)
    assert [name for name, _ in stages] == ["simulate", "tables", "charts", "report"], log
    assert "stage " not in proc.stdout + proc.stderr
    assert "(1 chart(s)" in log


def test_a_bad_chart_name_stops_before_simulating(tmp_path):
    out = tmp_path / "run"
    proc = run_cli(*SMALL, "charts=[calls_by_hour,bogus]", f"hydra.run.dir={out}")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("config error: charts = ") and "bogus" in lines[0]
    assert "Traceback" not in proc.stderr and not (out / "summary.json").exists()


@pytest.mark.slow
def test_a_sweep_draws_no_job_charts_but_its_own_aggregate(tmp_path):
    sweep_dir = tmp_path / "sweep"
    proc = run_cli("-m", *SMALL, "call_center.seats=450,500", f"hydra.sweep.dir={sweep_dir}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = sorted(p.parent for p in sweep_dir.glob(f"*/{DONE_FILE}"))
    assert len(jobs) == 2 and all("charts" not in j.name and "report" not in j.name for j in jobs)
    for job in jobs:
        assert (job / "summary.json").is_file()
        assert not (job / "charts").exists() and not (job / "report.html").exists()
    assert (sweep_dir / SWEEP_FILE).is_file() and (sweep_dir / "report.html").is_file()
    assert list((sweep_dir / "charts").glob("*.png")), "the sweep's own charts"

    # asked for on the command line, a finished job's missing report is made without simulating again
    proc = run_cli("-m", *SMALL, "call_center.seats=450,500", "report=true", f"hydra.sweep.dir={sweep_dir}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("already done") == 2
    assert all((job / "report.html").is_file() and not (job / "charts").exists() for job in jobs)
