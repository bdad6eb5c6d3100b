"""Shared helpers for the tests: small textbook call centres built in code; and which
tests wait on a whole simulated run (those run under ``-m slow``)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from sim.config import SimConfig, build_config

MINUTES_PER_DAY = 1440


def erlang_raw(agents: int, arrivals_per_min: float, mean_handle_min: float = 5.0,
               mean_patience_min: float | None = 3.0, days: float = 10.0, warmup_days: float = 0.5,
               seed: int = 2024, replications: int = 5) -> dict:
    """A raw config of an M/M/c(+M) centre: flat Poisson arrivals, every seat staffed,
    exponential handle time and (unless None) exponential patience, no redials."""
    patience = ({"dist": "infinite"} if mean_patience_min is None
                else {"dist": "exponential", "mean_min": mean_patience_min})
    return {
        "seed": seed, "replications": replications, "horizon_days": days, "warmup_days": warmup_days,
        "start": "2019-06-03T00:00",
        "arrivals": {"daily_calls": arrivals_per_min * MINUTES_PER_DAY, "intraday_profile": "flat",
                     "category_mix": "uniform", "redial_prob": 0.0},
        "call_center": {"seats": agents, "roster": "full",
                        "handle_time": {"dist": "exponential", "mean_min": mean_handle_min},
                        "patience": patience, "sl_threshold_s": 30, "ticket_share": 0.4},
    }


def erlang_config(*args, **kwargs) -> SimConfig:
    return build_config(erlang_raw(*args, **kwargs))


def t_interval(values, confidence: float) -> tuple[float, float]:
    """Student-t confidence interval of the mean of independent replications."""
    x = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return x.mean() - half, x.mean() + half


@pytest.fixture
def tmp_outputs(tmp_path):
    return tmp_path / "run"


@pytest.fixture()
def scenarios_copy(tmp_path, monkeypatch) -> Path:
    """scenarios/ copied to tmp_path and read from there (the real folder is untouched):
    for tests that break a named data file on purpose."""
    from sim import city as city_module, scenario_data
    d = tmp_path / "scenarios"
    shutil.copytree(scenario_data.SCENARIOS_DIR, d, ignore=shutil.ignore_patterns("sources", "*.py"))
    monkeypatch.setattr(scenario_data, "SCENARIOS_DIR", d)
    monkeypatch.setattr(city_module, "SCENARIOS_DIR", d)
    return d


#: Module fixtures that simulate a whole run through the CLI (20-40 s each on two busy
#: cores): every test that uses one runs with ``-m slow``, so the default run stays near
#: five minutes (the house rule); CI runs both (``.ci/run``). (test module, fixture).
WHOLE_RUN_FIXTURES = {
    ("test_year", "year_run"), ("test_report", "base_run"), ("test_charts", "run_dir"),
    ("test_weight_robustness_run", "runs"), ("test_accountability", "loop_run"), ("test_sweep", "sweep"),
    ("test_cli", "beijing"), ("test_cli", "beijing_again"),
}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Mark slow the tests that wait on a whole-run fixture (:data:`WHOLE_RUN_FIXTURES`),
    before ``-m`` selects."""
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if getattr(item, "module", None) else ""
        if any((module, name) in WHOLE_RUN_FIXTURES for name in getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
