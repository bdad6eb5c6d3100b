"""The run's progress display (analysis/progress.py) and the simulated-day reports it
reads (sim.model.run_replication's ``on_day``, sim.experiment's ``on_days``)."""
from __future__ import annotations

import io
from datetime import datetime

from analysis.progress import RunProgress
from sim.experiment import ExecutorConfig, run_experiment
from sim.model import run_replication
from tests.test_tickets import full_config

START = datetime(2019, 6, 1)


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_under_a_pipe_a_line_per_tenth_with_the_simulated_date_and_time_left():
    out, clock = io.StringIO(), Clock()
    p = RunProgress(START, horizon_days=10, replications=2, stream=out, tty=False, clock=clock)
    for day in range(1, 11):
        clock.t += 1.0
        p.on_days(0, day)
    p.on_done(1, 2, 0)
    lines = out.getvalue().splitlines()
    assert len(lines) == 5  # 10%, 20%, ..., 50% of two replications' days
    assert "simulating 2019-06-03" in lines[0] and "2 s, about 18 s left" in lines[0]  # 2 of 20 days in 2 s
    assert lines[-1].startswith("  progress  50% | simulating 2019-06-11")  # the last day of the first
    for day in range(1, 11):
        p.on_days(1, day)
    p.on_done(2, 2, 1)
    assert out.getvalue().splitlines()[-1].startswith("  progress 100%")
    assert "left" not in out.getvalue().splitlines()[-1]


def test_on_a_terminal_one_line_redrawn():
    out, clock = io.StringIO(), Clock()
    p = RunProgress(START, horizon_days=4, replications=1, stream=out, tty=True, clock=clock)
    for day in range(1, 5):
        clock.t += 1.0
        p.on_days(0, day)
    p.on_done(1, 1, 0)
    p.close()
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n") and text.count("\r") == 5
    assert "[####################] 100%" in text


def test_replications_report_simulated_days_without_changing_results():
    cfg = full_config("horizon_days=3", "warmup_days=1", "replications=2")
    seen = []
    plain = run_replication(cfg, 0)
    reported = run_replication(cfg, 0, on_day=seen.append)
    assert seen == [1.0, 2.0]  # the run ends at day 3, before a third report
    assert (plain.tickets.closed_min.tobytes() == reported.tickets.closed_min.tobytes())


def test_pool_workers_report_simulated_days_to_the_parent():
    cfg = full_config("horizon_days=3", "warmup_days=1", "replications=2")
    seen = []
    results = run_experiment(cfg, _count, executor=ExecutorConfig(kind="local", workers=2),
                             on_days=lambda rep, days: seen.append((rep, days)))
    assert len(results) == 2
    assert sorted(seen) == [(0, 1.0), (0, 2.0), (1, 1.0), (1, 2.0)]


def _count(rec) -> int:
    return len(rec.tickets.created_min)


def test_the_replication_that_finished_stops_counting_as_running():
    """Two replications run side by side; the one behind finishes first (a pool gives
    no order): its days leave the running ones, the other's stay."""
    out, clock = io.StringIO(), Clock()
    p = RunProgress(START, horizon_days=10, replications=2, stream=out, tty=False, clock=clock)
    p.on_days(0, 9.0)
    p.on_days(1, 4.0)
    p.on_done(1, 2, 1)  # replication 1 done although replication 0 was further along
    assert p.days == {0: 9.0}
    assert p.share == (10 + 9.0) / 20
