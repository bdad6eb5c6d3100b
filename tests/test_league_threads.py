"""The rank robustness of each month (analysis.rankings.league.robustness_outputs) is
computed in a thread per month (the months are independent; NumPy works outside the
GIL): the rows and the summary must be exactly those of computing the months one
after the other, and the months must really run side by side."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import analysis.rankings.league as league
import analysis.rankings.robustness as robustness
from analysis.kpis.calls import reduce_replication
from sim.model import run_replication
from sim.config import build_config
from sim.ranking import build_ranking_config
from tests.test_tickets import full_raw

#: Two whole months (June and July 2019) on a small city volume, two replications.
TWO_MONTHS = ("arrivals.daily_calls=600", "call_center.seats=25", 'start="2019-05-29T00:00"', "warmup_days=3",
              "horizon_days=80", "ranking.min_surveys=2", "ranking.robustness.weight_draws=100",
              "ranking.robustness.sampling_draws=100", "replications=2")


@pytest.fixture(scope="module")
def run():
    raw = full_raw(*TWO_MONTHS)
    cfg, rank_cfg = build_config(raw), build_ranking_config(raw["ranking"])  # as run.py builds them
    per_rep = [reduce_replication(run_replication(cfg, r), cfg) for r in range(2)]
    return cfg, rank_cfg, per_rep, league.league_tables(per_rep, cfg.city, rank_cfg)


def outputs(run, monkeypatch, cores: int):
    cfg, rank_cfg, per_rep, tables = run
    monkeypatch.setattr(league, "month_threads", lambda months: min(months, cores))
    return league.robustness_outputs(per_rep, tables, cfg.city, rank_cfg, cfg.tickets.survey.basic_satisfied_weight)


def same(a, b) -> bool:
    """Equal, NaN equal to NaN, through lists and dicts."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return type(a) is type(b) and a == b


def test_months_in_threads_give_the_serial_results(run, monkeypatch):
    months = {t["month"] for t in run[3] if t["level"] == "streets"}
    assert len(months) >= 2  # otherwise nothing runs side by side
    serial = outputs(run, monkeypatch, 1)
    threaded = outputs(run, monkeypatch, 4)
    assert len(serial[0]) > 100 and len(serial[1]) > 100
    assert same(serial, threaded)


def test_the_months_run_side_by_side(run, monkeypatch):
    """Each month's rank_distributions runs in a thread of its own, and (a barrier that
    every month must reach before any goes on) at the same time."""
    months = sorted({t["month"] for t in run[3] if t["level"] == "streets"})
    barrier = threading.Barrier(len(months), timeout=60)
    idents = []
    real = robustness.rank_distributions

    def side_by_side(*args, **kwargs):
        idents.append(threading.get_ident())
        barrier.wait()  # BrokenBarrierError after 60 s if the months ran one by one
        return real(*args, **kwargs)

    monkeypatch.setattr(robustness, "rank_distributions", side_by_side)
    outputs(run, monkeypatch, 4)
    assert len(set(idents)) == len(months)
