"""The simulated call centre against queueing theory.

With flat Poisson arrivals, every seat staffed and exponential handle times, the model
is M/M/c (Erlang C) when callers never hang up and M/M/c+M (Erlang A) with exponential
patience. Each KPI's mean over independent replications must contain the analytic
value within the simulation's own 99% confidence interval, and that interval must be
narrow enough to mean something: its half-width at most 10% of the theory value (or,
for values near zero, a small absolute tolerance). Each case simulates long enough for
that. Cases run from one agent to hundreds and from light load to overload.
"""
from __future__ import annotations

import pytest

import numpy as np

from analysis.erlang import erlang_a, erlang_c
from analysis.kpis.calls import replication_kpis
from sim.experiment import run_experiment
from tests.conftest import erlang_config, t_interval

MEAN_HANDLE_MIN = 5.0
THRESHOLD_MIN = 0.5  # sl_threshold_s = 30 in erlang_raw
#: The 99% CI's half-width may be at most this share of the theory value ...
MAX_RELATIVE_HALF_WIDTH = 0.10
#: ... or, for values near zero, this much (shares: one point or half a point; seconds).
ABSOLUTE_HALF_WIDTH = {"p_wait": 0.01, "service_level": 0.01, "agent_occupancy": 0.01,
                       "abandonment_rate": 0.005, "asa_s": 2.0, "mean_wait_s": 2.0}

# (agents, offered load in Erlangs, mean patience in min or None, days, replications)
CASES_C = [
    pytest.param(1, 0.7, None, 60, 10, id="C-1agent-rho0.70"),
    pytest.param(10, 9.0, None, 50, 10, id="C-10agents-rho0.90"),
]
CASES_A = [
    pytest.param(3, 4.5, 3.0, 10, 8, id="A-3agents-overloaded1.5"),
    pytest.param(50, 47.5, 3.0, 8, 8, id="A-50agents-rho0.95"),
    pytest.param(20, 10.0, 1.0, 6, 8, id="A-20agents-light0.5"),
    pytest.param(300, 330.0, 2.0, 1, 8, id="A-300agents-overloaded1.1"),
]
SLOW_CASES = [
    pytest.param(100, 95.0, None, 30, 8, id="C-100agents-rho0.95"),
    pytest.param(500, 475.0, 2.0, 6, 10, id="A-500agents-rho0.95"),
    # near critical load: waits mix slowly (at rho 0.995 a 10% CI would take ~40x this)
    pytest.param(200, 196.0, None, 60, 10, id="C-200agents-rho0.98"),
]


def simulate(agents, load, patience, days, reps):
    cfg = erlang_config(agents, load / MEAN_HANDLE_MIN, MEAN_HANDLE_MIN, patience, days=days,
                        warmup_days=min(0.5, days / 4), replications=reps)
    return [k["overall"] for k in run_experiment(cfg, lambda rec: replication_kpis(rec, 30))]


def theory(agents, load, patience):
    lam, mu = load / MEAN_HANDLE_MIN, 1 / MEAN_HANDLE_MIN
    if patience is None:
        r = erlang_c(agents, lam, mu)
        return {"p_wait": r.p_wait, "asa_s": r.asa * 60, "mean_wait_s": r.mean_wait * 60,
                "service_level": r.service_level(THRESHOLD_MIN), "abandonment_rate": 0.0,
                "agent_occupancy": r.occupancy}
    r = erlang_a(agents, lam, mu, 1 / patience)
    return {"p_wait": r.p_wait, "asa_s": r.asa * 60, "mean_wait_s": r.mean_wait * 60,
            "service_level": r.service_level(THRESHOLD_MIN), "abandonment_rate": r.p_abandon,
            "agent_occupancy": r.occupancy}


def assert_matches_theory(per_rep, expected):
    failures = []
    for name, value in expected.items():
        values = [rep[name] for rep in per_rep]
        if name == "abandonment_rate" and value == 0.0:
            assert max(values) == 0.0, "no caller may abandon when patience is infinite"
            continue
        lo, hi = t_interval(values, 0.99)
        if not lo <= value <= hi:
            failures.append(f"{name}: theory {value:.5g} outside simulated 99% CI [{lo:.5g}, {hi:.5g}]")
        allowed = max(MAX_RELATIVE_HALF_WIDTH * abs(value), ABSOLUTE_HALF_WIDTH[name])
        if (hi - lo) / 2 > allowed:
            failures.append(f"{name}: 99% CI [{lo:.5g}, {hi:.5g}] too wide to test theory {value:.5g} "
                            f"(half-width > {allowed:.3g}): simulate longer")
    assert not failures, "; ".join(failures)


def test_a_ci_too_wide_to_test_theory_fails():
    """The width bound bites: a mean that contains the theory value only because the
    replications scatter widely is not a pass."""
    rng = np.random.default_rng(1)
    wide = [{"mean_wait_s": v} for v in 100 + rng.normal(0, 40, 10)]
    try:
        assert_matches_theory(wide, {"mean_wait_s": 100.0})
    except AssertionError as err:
        assert "too wide" in str(err)
    else:
        raise AssertionError("a CI of +-30% passed as a match")


@pytest.mark.parametrize("agents, load, patience, days, reps", CASES_C + CASES_A)
def test_simulation_matches_erlang(agents, load, patience, days, reps):
    assert_matches_theory(simulate(agents, load, patience, days, reps), theory(agents, load, patience))


@pytest.mark.slow
@pytest.mark.parametrize("agents, load, patience, days, reps", SLOW_CASES)
def test_large_centres_match_erlang(agents, load, patience, days, reps):
    assert_matches_theory(simulate(agents, load, patience, days, reps), theory(agents, load, patience))
