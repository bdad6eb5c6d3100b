"""Two planner recipes (issue 13), each a config key with a paired test under common
random numbers (same seed, one change): more caseworkers in one district
(``streets.capacity.district_factor``) or one street (``streets.capacity.street_factor``)
and a roster that differs on weekends (``call_center.weekend_roster``)."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from analysis.kpis.calls import reduce_replication
from sim.config import build_config
from sim.errors import ConfigError
from sim.model import run_replication
from sim.ticketing import street_caseworkers
from tests.conftest import t_interval

REPO = Path(__file__).resolve().parent.parent
REPS = 3


def config(*overrides: str, district_factor=None, street_factor=None):
    """The composed, validated config; ``district_factor`` and ``street_factor`` set in
    the mapping, as a YAML file would (Hydra's command line takes no Chinese keys:
    there, English names or codes)."""
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        raw = OmegaConf.to_container(compose("config", overrides=list(overrides)), resolve=True)
    if district_factor is not None:
        raw["streets"]["capacity"]["district_factor"] = district_factor
    if street_factor is not None:
        raw["streets"]["capacity"]["street_factor"] = street_factor
    return build_config(raw)


# ====================================================================== caseworkers by district
#: A quarter of Beijing's calls (seats scaled), caseworkers a little short everywhere (scale 0.8)
#: so that more of them in one district shows; five weeks measured.
CITY = ("arrivals.daily_calls=3000", "call_center.seats=110", "streets.capacity.scale=0.8", "horizon_days=42",
        "warmup_days=7")


def test_district_factor_scales_that_districts_caseworkers_only():
    base = config(*CITY)
    more = config(*CITY, district_factor={"东城区": 1.5, "Xicheng": 2, 110105: 0.5})  # Chinese, English, code
    city = base.city
    a, b = street_caseworkers(base, city), street_caseworkers(more, city)
    district = np.asarray(city.street_district)
    named = {city.district_zh.index(n): f for n, f in (("东城区", 1.5), ("西城区", 2.0), ("朝阳区", 0.5))}
    for d in range(city.n_districts):
        sel = district == d
        expected = named.get(d, 1.0)
        if expected == 1.0:
            assert np.array_equal(a[sel], b[sel]), city.district_zh[d]
        elif expected > 1:
            assert b[sel].sum() >= expected * a[sel].sum() - sel.sum(), city.district_zh[d]  # ceil per street
        else:
            assert b[sel].sum() < a[sel].sum()


@pytest.mark.parametrize("value, key, words", [
    ({"Atlantis": 1.2}, "streets.capacity.district_factor.Atlantis", "东城区 (Dongcheng, 110101)"),
    ({"东城区": 0}, "streets.capacity.district_factor.东城区", "a number > 0"),
    ({"东城区": 1.2, "dongcheng": 1.3}, "streets.capacity.district_factor.dongcheng", "each district once"),
    (1.2, "streets.capacity.district_factor", "a mapping {district: factor}"),
])
def test_bad_district_factors_are_one_line_errors(value, key, words):
    with pytest.raises(ConfigError) as err:
        config(*CITY, district_factor=value)
    assert err.value.key == key and words in str(err.value) and "\n" not in str(err.value)


def test_unknown_district_on_the_command_line_lists_the_districts(tmp_path):
    proc = subprocess.run([sys.executable, "run.py", "streets.capacity.district_factor={Atlantis: 1.2}",
                           f"hydra.run.dir={tmp_path}"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Atlantis" in lines[0] and "延庆区 (Yanqing, 110119)" in lines[0]


def _deadlines(cfg, rep: int) -> tuple[np.ndarray, np.ndarray]:
    """Street tickets whose deadline fell in the measured months, and those met, per district."""
    table = reduce_replication(run_replication(cfg, rep), cfg)["monthly"]["districts"]
    n, unit = cfg.city.n_districts, np.asarray(table["unit"], int)
    due = np.bincount(unit, weights=np.asarray(table["deadline_due"], float), minlength=n)
    met = np.bincount(unit, weights=np.asarray(table["deadline_met"], float), minlength=n)
    return met, due


@pytest.mark.slow
def test_more_caseworkers_in_a_district_raise_its_deadline_compliance():
    """Same seed, one change: half as many caseworkers again in Chaoyang (朝阳区). Its
    deadline compliance rises (paired 95% CI above 0); the rest of the city's, pooled,
    moves far less."""
    base = config(*CITY)
    more = config(*CITY, "streets.capacity.district_factor={Chaoyang: 1.5}")  # the command line's form
    d = base.city.district_zh.index("朝阳区")
    gain, rest = [], []
    for r in range(REPS):
        (met_a, due_a), (met_b, due_b) = _deadlines(base, r), _deadlines(more, r)
        gain.append(met_b[d] / due_b[d] - met_a[d] / due_a[d])
        others = np.arange(len(due_a)) != d
        rest.append(met_b[others].sum() / due_b[others].sum() - met_a[others].sum() / due_a[others].sum())
    lo, hi = t_interval(gain, 0.95)
    print(f"Chaoyang deadline compliance {np.mean(gain) * 100:+.2f} pp [{lo * 100:+.2f}, {hi * 100:+.2f}]; "
          f"rest of the city {np.mean(rest) * 100:+.2f} pp")
    assert lo > 0, (lo, hi)
    assert abs(np.mean(rest)) < np.mean(gain) / 3, (rest, gain)


# ====================================================================== caseworkers by street
def test_street_factor_scales_that_streets_caseworkers_only_and_multiplies_the_districts():
    base = config(*CITY)
    city = base.city
    named = {"110105001": 3.0, "景山街道": 2.0, "jiaodaokou": 0.5}  # code, Chinese name, English name (any case)
    more = config(*CITY, street_factor=named, district_factor={"Chaoyang": 2})
    a, b = street_caseworkers(base, city), street_caseworkers(more, city)
    streets = {city.street_code.index("110105001"): 3.0 * 2, city.street_zh.index("景山街道"): 2.0,
               city.street_names.index("Jiaodaokou"): 0.5}
    chaoyang = np.asarray(city.street_district) == city.district_zh.index("朝阳区")
    for s in range(city.n_streets):
        factor = streets.get(s, 2.0 if chaoyang[s] else 1.0)
        if factor == 1.0:
            assert a[s] == b[s], city.street_zh[s]
        else:  # slots are rounded up per street (and at least min_caseworkers)
            assert abs(b[s] - factor * a[s]) <= max(factor, 1) + base.tickets.streets.min_caseworkers, city.street_zh[s]


@pytest.mark.parametrize("value, key, words", [
    ({"Atlantis": 1.2}, "streets.capacity.street_factor.Atlantis", "9-digit code (e.g. 110101001 for 东华门街道)"),
    ({"八里庄街道": 1.2}, "streets.capacity.street_factor.八里庄街道", "2 streets are called 八里庄街道; give its code: "
                                                                   "110105"),
    ({"110101002": 1.2, "景山街道": 1.3}, "streets.capacity.street_factor.景山街道", "each street once"),
    ({"110101002": -1}, "streets.capacity.street_factor.110101002", "a number > 0"),
    ([1.2], "streets.capacity.street_factor", "a mapping {street: factor}"),
])
def test_bad_street_factors_are_one_line_errors(value, key, words):
    with pytest.raises(ConfigError) as err:
        config(*CITY, street_factor=value)
    assert err.value.key == key and words in str(err.value) and "\n" not in str(err.value)


def _street_lead_h(cfg, rep: int, street: int) -> float:
    """Mean lead time (hours) of the street's tickets created and closed in the window."""
    t = run_replication(cfg, rep).tickets
    lo = cfg.warmup_days * 1440
    sel = (t.street == street) & (t.created_min >= lo) & ~np.isnan(t.closed_min)
    return float(np.mean(t.closed_min[sel] - t.created_min[sel]) / 60)


#: Caseworkers shorter still (0.72 of the sized slots): the busiest street queues for days.
STRESSED = (*CITY, "streets.capacity.scale=0.72")


@pytest.mark.slow
def test_more_caseworkers_in_a_street_shorten_its_lead_times():
    """Same seed, one change: twice the caseworkers in the street with the most work
    (its 9-digit code on the command line). Its tickets' mean lead time falls (paired
    95% CI below 0; measured -8.3 h [-13.3, -3.2] over 4 replications)."""
    base = config(*STRESSED)
    busiest = int(np.argmax(base.city.street_weight))
    code = base.city.street_code[busiest]
    more = config(*STRESSED, f"streets.capacity.street_factor={{{code}: 2}}")
    d = [_street_lead_h(more, r, busiest) - _street_lead_h(base, r, busiest) for r in range(REPS + 1)]
    lo, hi = t_interval(d, 0.95)
    print(f"street {code} lead time {np.mean(d):+.2f} h [{lo:+.2f}, {hi:+.2f}]")
    assert hi < 0, (lo, hi)


# ====================================================================== weekend roster
#: The textbook centre (50 agents all day, Erlang A), two weeks from Monday 3 June 2019.
FLAT = ("scenario=erlang_flat", "horizon_days=14", "warmup_days=0")
SATURDAY = datetime(2019, 6, 8)


def _weekend_mask(cfg, arrival_min: np.ndarray) -> np.ndarray:
    days = np.floor(arrival_min / 1440).astype(int)
    weekday = (cfg.start.weekday() + days) % 7
    return (weekday == 5) | (weekday == 6)


def _service_level(cfg, calls, mask) -> float:
    wait_s = (calls.answer_min[mask] - calls.arrival_min[mask]) * 60
    return float(np.count_nonzero(wait_s <= cfg.call_center.sl_threshold_s) / mask.sum())  # NaN (abandoned) fails


def test_a_weekend_roster_equal_to_the_week_changes_nothing():
    """The weekend machinery honours the roster's times: a weekend roster equal to the
    week's (in slices of another length) gives the same calls, bit for bit."""
    base = run_replication(config(*FLAT, "call_center.roster=[45]"), 0).calls
    same = run_replication(config(*FLAT, "call_center.roster=[45]",
                                  "call_center.weekend_roster=" + str([45] * 48)), 0).calls
    assert np.array_equal(base.answer_min, same.answer_min, equal_nan=True)
    hourly = [45] * 8 + [50] * 10 + [40] * 6
    base = run_replication(config(*FLAT, f"call_center.roster={hourly}"), 0).calls
    same = run_replication(config(*FLAT, f"call_center.roster={hourly}",
                                  f"call_center.weekend_roster={[a for a in hourly for _ in (0, 1)]}"), 0).calls
    assert np.array_equal(base.answer_min, same.answer_min, equal_nan=True)
    # and with a seat change (the weekend roster follows the seats like the roster)
    change = '+call_center.seat_changes=[{from: "2019-06-10", seats: 60}]'
    base = run_replication(config(*FLAT, change), 0).calls
    same = run_replication(config(*FLAT, change, "call_center.weekend_roster=full"), 0).calls
    assert np.array_equal(base.answer_min, same.answer_min, equal_nan=True)


def test_fewer_weekend_agents_lower_the_weekend_service_level_only():
    """Same seed, one change: 42 agents instead of 50 on Saturdays and Sundays. The
    weekend service level falls (paired 95% CI below 0); calls answered before the
    first Saturday are the same."""
    base_cfg = config(*FLAT)
    less_cfg = config(*FLAT, "call_center.weekend_roster=[42]")
    saturday_min = (SATURDAY - base_cfg.start) / timedelta(minutes=1)
    diffs = []
    for r in range(REPS):
        a, b = run_replication(base_cfg, r).calls, run_replication(less_cfg, r).calls
        weekend = _weekend_mask(base_cfg, a.arrival_min)
        diffs.append(_service_level(less_cfg, b, weekend) - _service_level(base_cfg, a, weekend))
        before = a.answer_min < saturday_min
        assert np.array_equal(a.answer_min[before], b.answer_min[before])
        staffed = b.answer_min[~np.isnan(b.answer_min)]
        assert staffed.size and not np.array_equal(a.answer_min, b.answer_min, equal_nan=True)
    lo, hi = t_interval(diffs, 0.95)
    print(f"weekend service level {np.mean(diffs) * 100:+.2f} pp [{lo * 100:+.2f}, {hi * 100:+.2f}]")
    assert hi < 0, (lo, hi)


def test_weekend_roster_is_validated_like_the_roster():
    with pytest.raises(ConfigError) as err:
        config(*FLAT, "call_center.weekend_roster=[60]")  # more agents than seats
    assert err.value.key.startswith("call_center.weekend_roster")
    with pytest.raises(ConfigError) as err:
        config(*FLAT, "call_center.weekend_roster=no_such_roster")
    assert err.value.key == "call_center.weekend_roster"
    with pytest.raises(ConfigError) as err:  # a list of agents cannot follow a seat change
        config(*FLAT, "call_center.weekend_roster=[40]", '+call_center.seat_changes=[{from: "2019-06-10", seats: 60}]')
    assert err.value.key == "call_center.weekend_roster"
    cfg = config(*FLAT, "call_center.weekend_roster=full", '+call_center.seat_changes=[{from: "2019-06-10", seats: 60}]')
    assert cfg.call_center.weekend_roster == (50,) and cfg.call_center.seat_changes[0].weekend_roster == (60,)


def test_a_run_with_names_and_codes_as_district_keys_has_a_fingerprint():
    """A mapping mixing names and codes as keys (YAML reads 110119 as a number) must not
    break the config fingerprint (JSON cannot sort mixed keys)."""
    from analysis.rundir import config_fingerprint
    a = config_fingerprint({"streets": {"capacity": {"district_factor": {"Chaoyang": 1.2, 110119: 0.67}}}})
    b = config_fingerprint({"streets": {"capacity": {"district_factor": {"Chaoyang": 1.2, 110119: 0.5}}}})
    assert a != b
