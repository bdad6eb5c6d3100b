"""A year of 2019 month by month: seats that change during a run
(``call_center.seat_changes``), the ``beijing_2019_year`` scenario, and the city-wide
monthly outputs (``city_monthly.csv``)."""
from __future__ import annotations

import csv
import math
from collections import defaultdict
from datetime import datetime, timedelta

import numpy as np
import pytest

from analysis.kpis.city_monthly import CITY_MONTHLY_METRICS, city_monthly_rows
from analysis.kpis.stats import mean_ci
from sim.config import build_config
from sim.errors import ConfigError
from sim.model import run_replication
from sim.scenario_data import load_named
from tests.conftest import erlang_raw
from tests.test_cli import assert_ok, run_cli
from tests.test_tickets import full_config, full_raw

SHARES = load_named("rosters", "beijing_2019", "r", "seat_share")[1]


def small_raw(roster="full", changes=None) -> dict:
    """A small call centre, 3 days from Monday 3 June 2019, with a seat change."""
    raw = erlang_raw(10, 1.0, days=3, warmup_days=0.5, replications=1)
    raw["call_center"]["roster"] = roster
    if changes is not None:
        raw["call_center"]["seat_changes"] = changes
    return raw


def on_duty(calls, minute: float) -> int:
    """Agents on duty at ``minute`` (staff_time_min / staff_agents: a step function)."""
    return int(calls.staff_agents[np.searchsorted(calls.staff_time_min, minute, side="right") - 1])


# ------------------------------------------------------------------ seat changes
def test_agents_on_duty_follow_the_seat_changes():
    calls = run_replication(build_config(small_raw(changes=[{"from": "2019-06-04", "seats": 14},
                                                            {"from": "2019-06-05", "seats": 6}])), 0).calls
    assert [on_duty(calls, m) for m in (0, 1439, 1440, 2879)] == [10, 10, 14, 14]
    # going down, busy agents finish their call first: everyone who stays is gone within the hour
    assert on_duty(calls, 2880 + 60) == 6 and on_duty(calls, 4000) == 6
    assert calls.staff_agents.max() == 14


def test_a_seat_share_roster_is_applied_to_the_new_seats():
    cfg = build_config({**small_raw("beijing_2019", [{"from": "2019-06-04", "seats": 650}]),
                        "call_center": {**small_raw()["call_center"], "seats": 500, "roster": "beijing_2019",
                                        "seat_changes": [{"from": "2019-06-04", "seats": 650}]}})
    calls = run_replication(cfg, 0).calls
    ten = 10 * 60 + 30  # 10:30, the roster's 10-11 h slice
    assert on_duty(calls, ten) == round(SHARES[10] * 500) == 148
    assert on_duty(calls, 1440 + ten) == round(SHARES[10] * 650) == 192
    assert on_duty(calls, 2 * 1440 + ten) == 192


@pytest.mark.parametrize("roster", ["full", "beijing_2019"])
def test_no_seat_changes_give_the_same_records_as_before(roster):
    before = run_replication(build_config(small_raw(roster)), 0).calls
    empty = run_replication(build_config(small_raw(roster, [])), 0).calls
    for name in ("arrival_min", "answer_min", "deadline_min", "handle_min", "staff_time_min", "staff_agents",
                 "work_start_min", "work_min"):
        assert np.array_equal(getattr(before, name), getattr(empty, name), equal_nan=True), name


@pytest.mark.parametrize("changes, key", [
    ("650", "call_center.seat_changes"),
    ([650], "call_center.seat_changes[0]"),
    ([{"from": "2019-06-03", "seats": 12}], "call_center.seat_changes[0].from"),    # the start: not inside
    ([{"from": "2019-06-06", "seats": 12}], "call_center.seat_changes[0].from"),    # the end
    ([{"from": "2019-06-02", "seats": 12}], "call_center.seat_changes[0].from"),
    ([{"from": "4 June", "seats": 12}], "call_center.seat_changes[0].from"),
    ([{"from": "2019-06-04T12:00", "seats": 12}], "call_center.seat_changes[0].from"),
    ([{"from": "2019-06-05", "seats": 12}, {"from": "2019-06-04", "seats": 8}], "call_center.seat_changes[1].from"),
    ([{"from": "2019-06-04", "seats": 12}, {"from": "2019-06-04", "seats": 8}], "call_center.seat_changes[1].from"),
    ([{"from": "2019-06-04", "seats": 0}], "call_center.seat_changes[0].seats"),
    ([{"from": "2019-06-04", "seats": 12.5}], "call_center.seat_changes[0].seats"),
    ([{"from": "2019-06-04"}], "call_center.seat_changes[0].seats"),
    ([{"from": "2019-06-04", "seats": 12, "roster": "full"}], "call_center.seat_changes[0].roster"),
])
def test_bad_seat_changes_are_one_line_config_errors(changes, key):
    with pytest.raises(ConfigError) as err:
        build_config(small_raw(changes=changes))
    assert err.value.key == key and "\n" not in str(err.value)


def test_an_agent_count_roster_cannot_follow_a_seat_change():
    with pytest.raises(ConfigError) as err:
        build_config(small_raw([10] * 24, [{"from": "2019-06-04", "seats": 12}]))
    assert err.value.key == "call_center.roster"


# ------------------------------------------------------------------ the year scenario
def test_the_year_scenario_composes_and_validates():
    cfg = full_config("scenario=beijing_2019_year")
    assert cfg.warmup_days == 28  # repeat calls take weeks to reach their level
    day = 24 * 60
    assert cfg.start.timestamp() + cfg.warmup_min * 60 == datetime(2019, 1, 1).timestamp()
    assert cfg.start.timestamp() + cfg.horizon_min * 60 == datetime(2020, 1, 11).timestamp()
    assert cfg.horizon_min / day == 403
    cc = cfg.call_center
    assert cc.seats == 500 and cc.roster == tuple(round(s * 500) for s in SHARES)
    (change,) = cc.seat_changes
    assert change.at == datetime(2019, 10, 1) and change.seats == 650
    assert change.roster == tuple(round(s * 650) for s in SHARES)
    f = cfg.arrivals.month_factors
    assert len(f) == 12 and f[:6] == (1.0,) * 6 and all(b >= a for a, b in zip(f, f[1:]))
    assert f[9] == pytest.approx(17500 / 13800, abs=0.01) and f[10] == pytest.approx(18000 / 13800, abs=0.01)
    # the heating season sets the mix: few heating calls from 16 March to 14 November, the start-up spike
    off, spike = cfg.arrivals.shocks
    assert off.start == datetime(2019, 3, 16) and off.start + timedelta(days=off.days) == datetime(2019, 11, 15)
    assert off.factor < 1 and off.categories == ("heating",)
    assert spike.start == datetime(2019, 11, 15) and spike.factor > 1 and spike.categories == ("heating",)
    # the rest as beijing_2019
    base = full_config()
    assert cfg.arrivals.daily_calls == base.arrivals.daily_calls and cc.handle_time == base.call_center.handle_time


# ------------------------------------------------------------------ city_monthly.csv
def _fake_rep(rng, months=("2019-01", "2019-02"), n=5) -> dict:
    from analysis.kpis.tickets import MONTHLY_COLUMNS
    table = {c: [] for c in MONTHLY_COLUMNS}
    table["month"], table["unit"] = [], []
    for m in months:
        for u in range(n):
            counts = {c: int(rng.integers(0, 50)) for c in MONTHLY_COLUMNS}
            counts["tickets"] = counts["closed"] = 100
            counts["responded_known"] = counts["surveyed"] = 90
            counts["signed_on_time"] = counts["resolved"] = counts["solved"] = int(rng.integers(0, 90))
            counts["survey_pending"] = 0
            for c in MONTHLY_COLUMNS:
                table[c].append(counts[c])
            table["month"].append(m)
            table["unit"].append(u)
    return {"monthly": {"streets": {k: np.asarray(v) for k, v in table.items()}},
            "month_coverage": {m: 1.0 for m in months}}


def test_city_monthly_rows_are_ratios_of_sums_with_a_t_interval():
    rng = np.random.default_rng(7)
    per_rep = [_fake_rep(rng) for _ in range(3)]
    rows = {(r[0], r[1]): r[2:] for r in city_monthly_rows(per_rep, 0.9)}
    assert {m for m, _ in rows} == {"2019-01", "2019-02"} and {k for _, k in rows} == set(CITY_MONTHLY_METRICS)
    for month in ("2019-01", "2019-02"):
        values = []
        for rep in per_rep:
            t = rep["monthly"]["streets"]
            sel = t["month"] == month
            values.append((t["satisfied"][sel].sum() + 0.9 * t["basically_satisfied"][sel].sum())
                          / t["surveyed"][sel].sum())
        ci = mean_ci(values)
        assert rows[(month, "satisfaction_rate")][0] == pytest.approx(ci["mean"])
        assert rows[(month, "satisfaction_rate")][1] == pytest.approx(max(ci["ci_low"], 0))


def test_a_month_left_out_of_the_league_is_left_out_here():
    rng = np.random.default_rng(8)
    per_rep = [_fake_rep(rng)]
    per_rep[0]["month_coverage"]["2019-02"] = 0.5
    assert {r[0] for r in city_monthly_rows(per_rep, 0.9)} == {"2019-01"}


@pytest.fixture(scope="module")
def year_run(tmp_path_factory):
    # January 2019 and 14 days of February: January's callbacks are complete, February is cut off
    return run_cli(tmp_path_factory.mktemp("year") / "run",
                   ["scenario=beijing_2019_year", "replications=2", "horizon_days=66", "call_center.seat_changes=[]",
                    "charts=none", "report=false"])


def _read(path) -> list[dict]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def test_a_short_year_runs_end_to_end(year_run):
    assert_ok(year_run)
    rows = _read(year_run.dir / "city_monthly.csv")
    assert {r["month"] for r in rows} == {"2019-01"}  # February is not ranked: cut off
    assert [r["metric"] for r in rows] == list(CITY_MONTHLY_METRICS)
    assert year_run.summary["start"].startswith("2018-12-04")


def test_city_monthly_matches_the_street_tables(year_run):
    """Recomputed from streets_monthly.csv: sums over the streets per replication, then
    the mean and t-interval over replications."""
    streets = _read(year_run.dir / "streets_monthly.csv")
    sums = defaultdict(lambda: defaultdict(float))
    for r in streets:
        if r["month"] == "2019-01":
            for k in ("tickets", "signed_on_time", "responded_known", "surveyed", "resolved", "satisfied",
                      "basically_satisfied", "closed", "solved", "survey_made", "survey_missed", "repeat_calls",
                      "caseworkers", "gamed"):
                sums[r["replication"]][k] += float(r[k])
    w = full_config().tickets.survey.basic_satisfied_weight
    expected = {
        "tickets": [s["tickets"] for s in sums.values()],
        "response_rate": [s["signed_on_time"] / s["responded_known"] for s in sums.values()],
        "resolution_rate": [s["resolved"] / s["surveyed"] for s in sums.values()],
        "satisfaction_rate": [(s["satisfied"] + w * s["basically_satisfied"]) / s["surveyed"] for s in sums.values()],
        "true_resolution_rate": [s["solved"] / s["closed"] for s in sums.values()],
        "survey_coverage": [s["survey_made"] / (s["survey_made"] + s["survey_missed"]) for s in sums.values()],
        "repeat_calls": [s["repeat_calls"] for s in sums.values()],
        "caseworkers": [s["caseworkers"] for s in sums.values()],
        "gaming_share": [s["gamed"] / s["surveyed"] for s in sums.values()],
    }
    assert len(sums) == 2
    for r in _read(year_run.dir / "city_monthly.csv"):
        ci = mean_ci(expected[r["metric"]])
        assert float(r["mean"]) == pytest.approx(ci["mean"], rel=1e-5), r["metric"]
        assert float(r["ci_low"]) == pytest.approx(max(ci["ci_low"], 0.0), rel=1e-5, abs=1e-12), r["metric"]
        if r["metric"] != "response_rate":  # a share at 1.0: its interval is clipped to 1
            assert float(r["ci_high"]) == pytest.approx(ci["ci_high"], rel=1e-5), r["metric"]
    # caseworkers: the street slots, the same every month and replication
    assert expected["caseworkers"][0] == expected["caseworkers"][1] > 0


def test_measured_resolution_is_the_true_rate_within_sampling_error(year_run):
    """The callbacks are a fair sample of the closed tickets (drawn per ticket, reached
    or not independently of the outcome): per replication, the measured rate (surveyed)
    lies within the binomial sampling error of the true rate (all closed tickets)."""
    sums = defaultdict(lambda: defaultdict(float))
    for r in _read(year_run.dir / "streets_monthly.csv"):
        if r["month"] == "2019-01":
            for k in ("surveyed", "resolved", "closed", "solved"):
                sums[r["replication"]][k] += float(r[k])
    for s in sums.values():
        true = s["solved"] / s["closed"]
        measured = s["resolved"] / s["surveyed"]
        assert 0 < true < 1 and s["surveyed"] <= s["closed"]
        # the surveyed tickets are a subsample of the closed: finite-population error
        se = math.sqrt(true * (1 - true) / s["surveyed"] * (1 - s["surveyed"] / s["closed"]))
        assert abs(measured - true) < 4 * se, (measured, true, se)
