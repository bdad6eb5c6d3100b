"""End to end through the command line: `python run.py ...` simulates, prints a table and
writes summary.json and hourly.csv into the Hydra run directory; the same command gives
the same numbers; the textbook scenario lands near Erlang A.
"""
from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.catalogue import KPIS
from analysis.erlang import erlang_a

REPO = Path(__file__).resolve().parent.parent

METRICS = ("calls_offered", "calls_answered", "calls_abandoned", "abandonment_rate", "p_wait",
           "service_level", "asa_s", "mean_wait_s", "agent_occupancy", "tickets_created")
RATES = ("abandonment_rate", "p_wait", "service_level", "agent_occupancy")
BEIJING_ARGS = ["replications=2", "horizon_days=2", "warmup_days=0.5"]
FLAT_ARGS = ["scenario=erlang_flat", "replications=2", "horizon_days=1"]


class Run:
    def __init__(self, out_dir: Path, proc: subprocess.CompletedProcess):
        self.dir, self.proc = out_dir, proc

    @property
    def summary(self) -> dict:
        return json.loads((self.dir / "summary.json").read_text(encoding="utf-8"))

    @property
    def hourly(self) -> list[dict]:
        with (self.dir / "hourly.csv").open(newline="", encoding="utf-8-sig") as fh:
            return list(csv.DictReader(fh))


def run_cli(out_dir: Path, args: list[str]) -> Run:
    proc = subprocess.run([sys.executable, "run.py", *args, f"hydra.run.dir={out_dir}"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    return Run(out_dir, proc)


@pytest.fixture(scope="module")
def beijing(tmp_path_factory) -> Run:
    return run_cli(tmp_path_factory.mktemp("cli") / "beijing_a", BEIJING_ARGS)


@pytest.fixture(scope="module")
def beijing_again(tmp_path_factory) -> Run:
    return run_cli(tmp_path_factory.mktemp("cli") / "beijing_b", BEIJING_ARGS)


@pytest.fixture(scope="module")
def flat(tmp_path_factory) -> Run:
    # warm-up 0.1 day = 02:24, not on a clock hour
    return run_cli(tmp_path_factory.mktemp("cli") / "flat", [*FLAT_ARGS, "warmup_days=0.1"])


@pytest.fixture(scope="module")
def flat_on_the_hour(tmp_path_factory) -> Run:
    # warm-up 0.125 day = 03:00, on a clock hour
    return run_cli(tmp_path_factory.mktemp("cli") / "flat_hour", [*FLAT_ARGS, "warmup_days=0.125"])


def assert_ok(run: Run) -> None:
    assert run.proc.returncode == 0, run.proc.stderr
    assert "Traceback" not in run.proc.stderr


# ---------------------------------------------------------------- the default scenario


def test_cli_exits_0_and_writes_outputs_into_the_run_dir(beijing):
    assert_ok(beijing)
    assert (beijing.dir / "summary.json").is_file() and (beijing.dir / "hourly.csv").is_file()
    assert str(beijing.dir) in beijing.proc.stdout  # tells the user where the outputs went


def test_summary_header(beijing):
    assert_ok(beijing)
    s = beijing.summary
    assert s["scenario"] == "beijing_2019"
    assert s["replications"] == 2
    assert s["horizon_days"] == 2 and s["warmup_days"] == 0.5
    assert s["measured_days"] == pytest.approx(1.5)


@pytest.mark.parametrize("name", METRICS)
def test_summary_metric_has_mean_ci_and_replications(beijing, name):
    assert_ok(beijing)
    m = beijing.summary["metrics"][name]
    assert {"mean", "ci_low", "ci_high", "per_replication"} <= set(m)
    reps = m["per_replication"]
    assert len(reps) == 2 and all(isinstance(v, (int, float)) and math.isfinite(v) for v in reps)
    assert m["mean"] == pytest.approx(sum(reps) / 2)
    assert m["ci_low"] <= m["mean"] <= m["ci_high"]
    if name in RATES:
        assert all(0.0 <= v <= 1.0 for v in reps)
    else:
        assert all(v >= 0 for v in reps)


def test_calls_are_conserved_per_replication(beijing):
    assert_ok(beijing)
    m = beijing.summary["metrics"]
    for i in range(2):
        offered = m["calls_offered"]["per_replication"][i]
        parts = [m[k]["per_replication"][i] for k in ("calls_answered", "calls_abandoned", "calls_waiting_at_end")]
        assert offered == sum(parts) and offered > 0
        assert m["abandonment_rate"]["per_replication"][i] == pytest.approx(parts[1] / offered)
        assert m["service_level"]["per_replication"][i] <= parts[0] / offered + 1e-12
        per_day = m["calls_offered_per_day"]["per_replication"][i]
        assert per_day * beijing.summary["measured_days"] == pytest.approx(offered)


def test_replications_are_independent_draws(beijing):
    assert_ok(beijing)
    m = beijing.summary["metrics"]
    first = [m[k]["per_replication"][0] for k in METRICS]
    second = [m[k]["per_replication"][1] for k in METRICS]
    assert first != second


def test_hourly_csv_covers_every_hour(beijing):
    assert_ok(beijing)
    rows = beijing.hourly
    assert rows and set(rows[0]) == {"hour", "metric", "mean", "ci_low", "ci_high"}
    assert {int(r["hour"]) for r in rows} == set(range(24))
    metrics = {r["metric"] for r in rows}
    assert {"calls_offered_per_day", "service_level"} <= metrics
    assert len(rows) == 24 * len(metrics)
    # the measured window 12:00 day 1 .. 24:00 day 2 covers every hour: all means present
    offered = {int(r["hour"]): float(r["mean"]) for r in rows if r["metric"] == "calls_offered_per_day"}
    assert all(v > 0 for v in offered.values())


def test_stdout_has_a_kpi_table(beijing):
    assert_ok(beijing)
    out = beijing.proc.stdout
    for name in ("service_level", "abandonment_rate", "calls_offered", "response_rate"):
        assert KPIS[name].cli_label in out, name  # labels from the KPI catalogue


def test_same_command_same_numbers(beijing, beijing_again):
    assert_ok(beijing)
    assert_ok(beijing_again)
    a, b = beijing.summary, beijing_again.summary
    for name, m in a["metrics"].items():
        assert m["per_replication"] == b["metrics"][name]["per_replication"], name
    assert (beijing.dir / "hourly.csv").read_bytes() == (beijing_again.dir / "hourly.csv").read_bytes()


# ---------------------------------------------------------------- the textbook scenario


def test_erlang_flat_runs_near_erlang_a(flat):
    assert_ok(flat)
    s = flat.summary
    assert s["scenario"] == "erlang_flat" and s["replications"] == 2
    expected = erlang_a(50, 9.5, 0.2, 1 / 3).p_abandon
    observed = s["metrics"]["abandonment_rate"]["mean"]
    # a sanity band only: the statistical check against theory lives in test_theory.py
    assert 0.3 * expected <= observed <= 3 * expected


@pytest.mark.parametrize("run_name", [
    "flat_on_the_hour",
    "flat",
])
def test_full_roster_means_every_seat_on_duty(request, run_name):
    run = request.getfixturevalue(run_name)
    assert_ok(run)
    reps = run.summary["metrics"]["agents_on_duty_mean"]["per_replication"]
    assert reps == pytest.approx([50.0, 50.0], abs=1e-9)


@pytest.mark.parametrize("run_name", [
    "flat_on_the_hour",
    "flat",
])
def test_hourly_rows_are_complete_for_every_hour_with_calls(request, run_name):
    run = request.getfixturevalue(run_name)
    assert_ok(run)
    table = {(int(r["hour"]), r["metric"]): r["mean"] for r in run.hourly}
    hours_with_calls = {h for (h, metric), v in table.items() if metric == "p_wait" and v != ""}
    assert len(hours_with_calls) >= 20
    for h in sorted(hours_with_calls):
        for metric in ("calls_offered_per_day", "agents_on_duty_mean"):
            assert table[(h, metric)] != "", f"hour {h}: {metric} missing though calls were measured"
        assert float(table[(h, "agents_on_duty_mean")]) == pytest.approx(50.0)


@pytest.mark.slow
def test_a_missed_precision_target_is_in_summary_json_and_warned(tmp_path):
    run = run_cli(tmp_path / "precise", [*FLAT_ARGS, "warmup_days=0.1", "executor=serial",
                                         "precision={metric: service_level, half_width: 1e-9, max_replications: 2}"])
    assert_ok(run)
    p = run.summary["precision"]
    assert p["met"] is False and p["replications"] == 2 and p["metric"] == "service_level"
    assert p["target_half_width"] == 1e-9 and p["achieved_half_width"] > 1e-9
    out = run.proc.stdout + run.proc.stderr
    assert "WARNING" in out and "precision target missed" in out
    assert "precision target missed" in (run.dir / "run.log").read_text(encoding="utf-8")
