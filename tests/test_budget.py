"""Issue 12, class 3: a run that cannot fit is refused before it simulates, with one
line giving the estimate and the limit (sim/budget.py); sizes that cannot be meant are
refused by range.

Each of these ran until MemoryError after minutes before (or ran at all: 10^9
replications, 10^9 robustness draws)."""
from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis.kpis.stats import build_precision_config
from analysis.kpis.calls import CALL_KPIS
from sim import budget
from sim.budget import RunTooBig, check_fits, estimate, expected_fresh_calls
from sim.config import build_config
from sim.errors import ConfigError
from sim.experiment import ExecutorConfig, build_executor_config
from sim.model import run_replication
from sim.ranking import build_ranking_config
from tests.test_fuzz import composed_raw

REPO = Path(__file__).resolve().parent.parent
SERIAL = ExecutorConfig(kind="serial")


def checked(overrides: list[str]):
    """Validate as run.py does, including the memory check; the estimate if it fits."""
    raw = composed_raw(overrides)
    cfg = build_config(raw)
    rank = build_ranking_config(raw["ranking"]) if cfg.tickets else None
    precision = build_precision_config(raw.get("precision"), CALL_KPIS, cfg.replications)
    return check_fits(cfg, build_executor_config(raw["executor"]), rank,
                      precision.max_replications if precision else None, raw.get("max_memory_gb"))


@pytest.mark.slow
def test_the_shipped_scenarios_fit():
    for scenario in ("beijing_2019", "beijing_2019_year", "erlang_flat", "growth_2024", "rainstorm"):
        est = checked([f"scenario={scenario}", "max_memory_gb=16"])
        assert est.peak_bytes < 16e9


CANNOT_FIT = [
    ["horizon_days=1e5"],
    ["arrivals.daily_calls=1e12"],
    ['arrivals.shocks=[{start: "2019-06-05T08:00", days: 1, factor: 1e9}]'],
    ["ranking.robustness.sampling_draws=900000"],  # 343 streets x 9e5 draws x ~100 bytes
    ["replications=100000"],  # kept results of 10^5 replications
    ["precision={metric: service_level, half_width: 0.001, max_replications: 100000}"],
    ["horizon_days=60", "max_memory_gb=0.2"],  # a configured limit
]


@pytest.mark.parametrize("overrides", CANNOT_FIT, ids=[o[0].split("=")[0] for o in CANNOT_FIT])
def test_what_cannot_fit_is_refused_with_the_estimate_and_the_limit(overrides):
    with pytest.raises(RunTooBig) as err:
        checked([*overrides, "max_memory_gb=16"] if "max_memory_gb" not in overrides[-1] else overrides)
    text = str(err.value)
    assert "\n" not in text and text.startswith("config error: the run does not fit in memory: estimated peak ")
    assert "limit " in text and "max_memory_gb" in text


NOT_MEANT = [
    ("replications", ["replications=1000000000"]),
    ("precision.max_replications", ["precision={metric: service_level, half_width: 0.01, max_replications: 1000000000}"]),
    ("ranking.robustness.weight_draws", ["ranking.robustness.weight_draws=1000000000"]),
    ("ranking.robustness.sampling_draws", ["ranking.robustness.sampling_draws=1000000000"]),
    ("call_center.seats", ["call_center.seats=1000000000"]),
    ("max_memory_gb", ["max_memory_gb=-1"]),
    ("max_memory_gb", ["max_memory_gb=0"]),
    ("max_memory_gb", ["max_memory_gb=.nan"]),
    ("max_memory_gb", ["max_memory_gb=lots"]),
]


@pytest.mark.parametrize(("key", "overrides"), NOT_MEANT, ids=[f"{k}-{i}" for i, (k, _) in enumerate(NOT_MEANT)])
def test_sizes_that_cannot_be_meant_name_key_value_and_range(key, overrides):
    with pytest.raises(ConfigError) as err:
        checked(overrides)
    assert err.value.key == key and "\n" not in str(err.value)
    assert not isinstance(err.value, RunTooBig)


def test_the_limit_defaults_to_the_machines_available_memory(monkeypatch):
    monkeypatch.setattr(budget, "available_memory_bytes", lambda: 0.3e9)
    with pytest.raises(RunTooBig, match="machine's available memory"):
        checked(["horizon_days=60"])
    monkeypatch.setattr(budget, "available_memory_bytes", lambda: 64e9)
    assert checked(["horizon_days=60"]).peak_bytes < 64e9


def test_fresh_calls_follow_the_calendar_and_the_shocks():
    cfg = build_config(composed_raw(["horizon_days=14", "warmup_days=0", "arrivals.month_factors=[1,1,1,1,1,1,1,1,1,1,1,1]",
                                   "arrivals.weekday_factors=[1,1,1,1,1,2,2]"]))
    assert expected_fresh_calls(cfg) == pytest.approx(cfg.arrivals.daily_calls * (10 + 4 * 2))
    shocked = build_config(composed_raw(["horizon_days=14", "warmup_days=0",
                                       "arrivals.month_factors=[1,1,1,1,1,1,1,1,1,1,1,1]",
                                       "arrivals.weekday_factors=[1,1,1,1,1,1,1]",
                                       'arrivals.shocks=[{start: "2019-06-05T00:00", days: 2, factor: 3}]']))
    assert expected_fresh_calls(shocked) == pytest.approx(shocked.arrivals.daily_calls * (14 + 2 * 2))


def test_more_workers_more_memory_serial_least():
    cfg = build_config(composed_raw([]))
    serial = estimate(cfg, SERIAL)
    two = estimate(cfg, ExecutorConfig(kind="local", workers=2))
    six = estimate(cfg, ExecutorConfig(kind="local", workers=6))
    assert (serial.workers, two.workers, six.workers) == (0, 2, 6)
    assert serial.peak_bytes < two.peak_bytes < six.peak_bytes
    # never more workers than replications
    assert estimate(build_config(composed_raw(["replications=1"])), ExecutorConfig(kind="local", workers=6)).workers == 1


@pytest.mark.parametrize("dispatch", ["none", "direct"])
def test_the_estimate_is_at_or_above_what_a_replication_simulates(dispatch):
    """The call and ticket estimates err high (redials as if every first call abandoned,
    repeat calls as if no ticket were resolved), but not wildly: within 2x."""
    cfg = build_config(composed_raw([f"dispatch={dispatch}", "horizon_days=3", "warmup_days=0", "replications=1"]))
    est = estimate(cfg, SERIAL)
    rec = run_replication(cfg, 0)
    calls, tickets = len(rec.calls.arrival_min), len(rec.tickets.created_min)
    assert calls <= est.calls <= 2 * calls
    assert tickets <= est.tickets <= 2 * tickets


def test_cli_refuses_at_once_in_one_line(tmp_path):
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "run.py", "arrivals.daily_calls=1e12", "replications=1", "executor=serial",
                           f"hydra.run.dir={tmp_path / 'run'}"], cwd=REPO, capture_output=True, text=True, timeout=60)
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
    assert proc.returncode == 2 and len(lines) == 1, lines
    assert lines[0].startswith("config error: the run does not fit in memory: estimated peak ")
    assert time.perf_counter() - t0 < 30  # refused before simulating, not by MemoryError


def test_a_shock_lasting_1e308_days_or_factors_of_1e308_are_no_crash():
    """Found by tests/test_fuzz.py: the estimate overflowed (OverflowError) on a shock of
    1e308 days; factors of 1e308 give an estimate of inf, refused."""
    est = checked(['arrivals.shocks=[{start: "2019-06-05T00:00", days: 1e308, factor: 1.5}]', "max_memory_gb=16"])
    assert 0 < est.calls < math.inf
    with pytest.raises(RunTooBig):
        checked(["arrivals.weekday_factors=[1e308,1e308,1e308,1e308,1e308,1e308,1e308]", "max_memory_gb=16"])
