"""The call-centre engine: conservation, reproducibility, common random numbers,
rosters and shift ends, redials."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analysis.kpis.calls import replication_kpis
from sim.config import build_config
from sim.model import run_replication
from sim.records import ABANDONED, ANSWERED, WAITING_AT_END
from tests.conftest import erlang_raw


def busy_day_raw(**cc):
    """A time-varying day: hourly profile, a roster that changes every hour, lognormal
    times, redials and impatient callers; strained enough that every path is used."""
    raw = erlang_raw(40, 8.0, days=3, warmup_days=0.5)
    raw["arrivals"].update(intraday_profile="beijing_weekday", redial_prob=0.6,
                           redial_delay={"dist": "exponential", "mean_min": 5.0},
                           category_mix="beijing_2019_06")
    raw["call_center"].update(
        roster=[int(a) for a in np.clip(np.round(40 * np.sin(np.linspace(0, np.pi, 24)) + 2), 0, 40)],
        handle_time={"dist": "lognormal", "mean_min": 5.0, "cv": 0.9},
        demand_handle_time={"dist": "gamma", "mean_min": 7.0, "cv": 0.5},
        patience={"dist": "lognormal", "mean_min": 2.0, "cv": 1.2})
    raw["call_center"].update(cc)
    return raw


@pytest.fixture(scope="module")
def busy_day():
    return run_replication(build_config(busy_day_raw()), 0)


def test_every_call_is_accounted_for(busy_day):
    calls, counts = busy_day.calls, busy_day.calls.engine_counts
    outcome = calls.outcome
    assert counts["offered"] == len(calls.arrival_min)
    assert counts["answered"] == np.count_nonzero(outcome == ANSWERED)
    assert counts["abandoned"] == np.count_nonzero(outcome == ABANDONED)
    assert counts["waiting_at_end"] == np.count_nonzero(outcome == WAITING_AT_END)
    assert counts["offered"] == counts["answered"] + counts["abandoned"] + counts["waiting_at_end"]
    assert counts["redials"] == np.count_nonzero(calls.is_redial) > 0
    assert counts["abandoned"] > 0 and counts["answered"] > 0


def test_answered_calls_respect_patience_and_order(busy_day):
    calls = busy_day.calls
    answered = ~np.isnan(calls.answer_min)
    wait = calls.answer_min[answered] - calls.arrival_min[answered]
    assert (wait >= 0).all()
    assert (wait <= calls.patience_min[answered]).all(), "nobody is answered after hanging up"
    # FCFS: among answered callers, answer times follow arrival order.
    order = np.argsort(calls.arrival_min[answered], kind="stable")
    assert (np.diff(calls.answer_min[answered][order]) >= 0).all()


def test_tickets_come_from_answered_demands(busy_day):
    calls, tickets = busy_day.calls, busy_day.tickets
    ended = calls.answer_min + calls.handle_min <= calls.horizon_min
    expected = np.flatnonzero(calls.is_demand & ended)
    assert np.array_equal(np.sort(tickets.caller), expected)
    assert np.allclose(tickets.created_min, (calls.answer_min + calls.handle_min)[tickets.caller])
    assert np.array_equal(tickets.category, calls.category[tickets.caller])


def test_agents_never_exceed_roster_or_seats(busy_day):
    calls = busy_day.calls
    assert calls.staff_agents.min() >= 0 and calls.staff_agents.max() <= 40
    kpi = replication_kpis(busy_day, 30)
    occ = kpi["hourly"]["agent_occupancy"]
    assert np.nanmax(occ) <= 1.0 + 1e-9  # prefix sums of large times round off
    # Busy agents at any instant never exceed agents present.
    answered = ~np.isnan(calls.answer_min)
    starts, ends = calls.answer_min[answered], calls.answer_min[answered] + calls.handle_min[answered]
    probe = np.linspace(0, calls.horizon_min, 4000, endpoint=False)
    busy = np.searchsorted(np.sort(starts), probe, "right") - np.searchsorted(np.sort(ends), probe, "right")
    present = calls.staff_agents[np.searchsorted(calls.staff_time_min, probe, "right") - 1]
    assert (busy <= present).all()


def test_same_seed_same_result_and_other_seed_differs():
    raw = busy_day_raw()
    a, b = (run_replication(build_config(raw), 0) for _ in range(2))
    for name in ("arrival_min", "answer_min", "handle_min", "patience_min", "category", "is_redial"):
        assert np.array_equal(getattr(a.calls, name), getattr(b.calls, name), equal_nan=True), name
    raw["seed"] += 1
    c = run_replication(build_config(raw), 0)
    assert not np.array_equal(a.calls.arrival_min[:100], c.calls.arrival_min[:100])
    d = run_replication(build_config(busy_day_raw()), 1)
    assert not np.array_equal(a.calls.arrival_min[:100], d.calls.arrival_min[:100]), "replications differ"


@pytest.mark.parametrize("change", [
    {"seats": 60, "roster": "full"},
    {"handle_time": {"dist": "exponential", "mean_min": 9.0}},
    {"patience": {"dist": "infinite"}},
])
def test_changes_outside_arrivals_leave_arrivals_unchanged(change):
    base = run_replication(build_config(busy_day_raw()), 0).calls
    other = run_replication(build_config(busy_day_raw(**change)), 0).calls
    fresh_a, fresh_b = ~base.is_redial, ~other.is_redial
    assert np.array_equal(base.arrival_min[fresh_a], other.arrival_min[fresh_b])
    assert np.array_equal(base.category[fresh_a], other.category[fresh_b])
    assert np.array_equal(base.is_demand[fresh_a], other.is_demand[fresh_b])
    if "handle_time" not in change:
        assert np.array_equal(base.handle_min[fresh_a], other.handle_min[fresh_b])
    assert not np.array_equal(base.answer_min, other.answer_min, equal_nan=True), "the change had an effect"


def test_call_in_progress_at_shift_end_is_finished_not_cut():
    """One agent on duty 00-12 h, none 12-24 h; every call lasts 100 min."""
    raw = erlang_raw(1, 0.5, days=2, warmup_days=0.5, mean_patience_min=None)
    raw["call_center"].update(roster=[1, 0], handle_time={"dist": "deterministic", "mean_min": 100.0})
    calls = run_replication(build_config(raw), 0).calls
    shift_end = 720.0
    answer = calls.answer_min[~np.isnan(calls.answer_min)]
    in_progress = answer[(answer < shift_end) & (answer + 100.0 > shift_end)]
    assert len(in_progress) == 1, "the agent is busy when the shift ends"
    finish = in_progress[0] + 100.0
    # The agent leaves when that call ends, not at 12:00, and takes no new call after 12:00.
    leave = calls.staff_time_min[(calls.staff_time_min > shift_end - 1) & (calls.staff_time_min < 1440)]
    assert np.allclose(leave, [finish])
    assert not ((answer >= shift_end) & (answer < 1440)).any()
    # Next morning the agent is back and serves the night's queue from 00:00.
    assert np.isclose(answer[answer >= 1440].min(), 1440.0)


def test_roster_rising_before_a_leaving_agent_finishes_keeps_that_agent():
    """Roster 2 -> 1 -> 2 every 30 min with long calls: the leaving agent stays when the
    roster rises again, so agents present never exceed the roster's maximum."""
    raw = erlang_raw(2, 2.0, days=1, warmup_days=0.1, mean_patience_min=None)
    raw["call_center"].update(roster=[2, 1] * 24, handle_time={"dist": "deterministic", "mean_min": 45.0})
    calls = run_replication(build_config(raw), 0).calls
    assert calls.staff_agents.max() == 2
    assert calls.staff_agents.min() >= 0


def test_redial_share_matches_probability():
    """With redial probability p, redials / abandoned callers whose redial fell inside
    the run is Binomial(n, p)."""
    p = 0.3
    raw = erlang_raw(5, 1.5, days=6, warmup_days=0.1, mean_patience_min=0.5)
    raw["arrivals"].update(redial_prob=p, redial_delay={"dist": "deterministic", "mean_min": 10.0})
    calls = run_replication(build_config(raw), 0).calls
    abandoned_at = (calls.arrival_min + calls.patience_min)[calls.outcome == ABANDONED]
    eligible = int(np.count_nonzero(abandoned_at + 10.0 < calls.horizon_min))
    redials = int(np.count_nonzero(calls.is_redial))
    assert stats.binomtest(redials, eligible, p).pvalue > 0.001
    # A redial arrives exactly 10 min after some abandonment.
    redial_times = calls.arrival_min[calls.is_redial]
    assert np.isin(np.round(redial_times - 10.0, 9), np.round(abandoned_at, 9)).all()


def test_no_redials_when_probability_zero():
    calls = run_replication(build_config(erlang_raw(3, 1.0, days=2, mean_patience_min=0.5)), 0).calls
    assert not calls.is_redial.any()
