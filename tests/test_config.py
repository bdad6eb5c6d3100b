"""Config validation: every bad input stops in sim.config.build_config with ONE readable
line naming the key, the value and what is allowed; good inputs (the shipped Hydra
configs included) build into the typed SimConfig.
"""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from sim.config import MINUTES_PER_DAY, SimConfig, build_config
from sim.errors import ConfigError, shown
from sim.scenario_data import SCENARIOS_DIR, available

REPO = Path(__file__).resolve().parent.parent
CONF_DIR = REPO / "conf"

DELETE = object()  # sentinel: remove the key instead of setting it


def valid_raw() -> dict:
    """A fresh, valid composed config: conf/scenario/erlang_flat.yaml plus the run
    settings of conf/config.yaml (written out so the fixture does not drift with them)."""
    return {
        "seed": 12345,
        "replications": 10,
        "horizon_days": 29,
        "warmup_days": 1,
        "description": "Flat-rate Erlang-A call centre (theory check)",
        "start": "2019-06-03T00:00",
        "arrivals": {
            "daily_calls": 13680,
            "intraday_profile": "flat",
            "category_mix": "uniform",
            "redial_prob": 0.0,
        },
        "call_center": {
            "seats": 50,
            "roster": "full",
            "handle_time": {"dist": "exponential", "mean_min": 5.0},
            "patience": {"dist": "exponential", "mean_min": 3.0},
            "sl_threshold_s": 30,
            "ticket_share": 0.42,
        },
    }


def mutated(path: str, value) -> dict:
    """valid_raw() with the dotted ``path`` set to ``value`` (or removed for DELETE)."""
    raw = valid_raw()
    *parents, last = path.split(".")
    node = raw
    for p in parents:
        node = node[p]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return raw


def assert_one_line_error(raw: dict, key: str, mentions=()) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        build_config(raw)
    err = info.value
    msg = str(err)
    assert err.key == key, msg
    assert "\n" not in msg and "\r" not in msg, msg
    assert msg.startswith(f"config error: {key} = {shown(err.value)} is not allowed; expected "), msg
    assert err.allowed and err.allowed.strip(), msg
    for text in mentions:
        assert text in msg, f"{text!r} not in {msg!r}"
    return err


# (id, dotted path, new value, expected err.key, texts the message must contain)
BAD_CONFIGS = [
    # unknown keys
    ("unknown-top-key", "colour", "blue", "colour", ["'blue'", "replications"]),
    ("unknown-arrivals-key", "arrivals.daily_call", 100, "arrivals.daily_call", ["100", "daily_calls"]),
    ("unknown-call_center-key", "call_center.seat", 10, "call_center.seat", ["10", "seats"]),
    ("section-not-mapping", "arrivals", [1, 2], "arrivals", ["[1, 2]", "mapping"]),
    # run settings
    ("seed-negative", "seed", -1, "seed", ["-1"]),
    ("replications-0", "replications", 0, "replications", ["0", ">= 1"]),
    ("replications-float", "replications", 2.5, "replications", ["2.5"]),
    ("horizon-0", "horizon_days", 0, "horizon_days", ["0", "> 0"]),
    ("horizon-string", "horizon_days", "29", "horizon_days", ["'29'"]),
    ("warmup-equals-horizon", "warmup_days", 29, "warmup_days", ["29", "horizon_days"]),
    ("warmup-above-horizon", "warmup_days", 30.5, "warmup_days", ["30.5", "horizon_days"]),
    ("warmup-negative", "warmup_days", -1, "warmup_days", ["-1"]),
    ("start-garbage", "start", "June 3rd", "start", ["'June 3rd'", "2019-06-03T00:00"]),
    ("start-bad-month", "start", "2019-13-03T00:00", "start", ["'2019-13-03T00:00'"]),
    ("start-missing", "start", DELETE, "start", ["None"]),
    # call centre
    ("seats-string", "call_center.seats", "500", "call_center.seats", ["'500'", "whole number"]),
    ("seats-float", "call_center.seats", 2.5, "call_center.seats", ["2.5", "whole number"]),
    ("seats-bool", "call_center.seats", True, "call_center.seats", ["True", "whole number"]),
    ("seats-0", "call_center.seats", 0, "call_center.seats", ["0", ">= 1"]),
    ("seats-missing", "call_center.seats", DELETE, "call_center.seats", ["None"]),
    ("roster-above-seats", "call_center.roster", [10, 20, 30, 60], "call_center.roster[3]",
     ["60", "call_center.seats (50)"]),
    ("roster-negative", "call_center.roster", [10, -1, 30, 40], "call_center.roster[1]", ["-1"]),
    ("roster-float", "call_center.roster", [10.5], "call_center.roster[0]", ["10.5"]),
    ("roster-7-values", "call_center.roster", [1] * 7, "call_center.roster", ["7 values", "1440"]),
    ("roster-empty", "call_center.roster", [], "call_center.roster", ["0 values", "1440"]),
    ("roster-unknown-name", "call_center.roster", "night_shift", "call_center.roster",
     ["'night_shift'", *available("rosters")]),
    ("ticket_share-1.5", "call_center.ticket_share", 1.5, "call_center.ticket_share", ["1.5", "from 0 to 1"]),
    ("ticket_share-missing", "call_center.ticket_share", DELETE, "call_center.ticket_share", ["None"]),
    ("sl_threshold-negative", "call_center.sl_threshold_s", -5, "call_center.sl_threshold_s", ["-5"]),
    # distributions
    ("dist-unknown", "call_center.handle_time", {"dist": "weibull", "mean_min": 5.0},
     "call_center.handle_time.dist", ["'weibull'", "exponential", "lognormal"]),
    ("dist-not-mapping", "call_center.handle_time", 5.0, "call_center.handle_time", ["5.0", "mapping"]),
    ("dist-missing-mean", "call_center.handle_time", {"dist": "exponential"},
     "call_center.handle_time.mean_min", ["None", "required"]),
    ("dist-missing-cv", "call_center.handle_time", {"dist": "lognormal", "mean_min": 5.0},
     "call_center.handle_time.cv", ["None", "required"]),
    ("dist-cv-for-deterministic", "call_center.handle_time", {"dist": "deterministic", "mean_min": 5.0, "cv": 0.5},
     "call_center.handle_time.cv", ["0.5", "deterministic", "mean_min"]),
    ("dist-negative-mean", "call_center.handle_time", {"dist": "exponential", "mean_min": -5.0},
     "call_center.handle_time.mean_min", ["-5.0", "> 0"]),
    ("dist-zero-cv", "call_center.handle_time", {"dist": "gamma", "mean_min": 5.0, "cv": 0},
     "call_center.handle_time.cv", ["0", "> 0"]),
    ("dist-string-mean", "call_center.patience", {"dist": "exponential", "mean_min": "3"},
     "call_center.patience.mean_min", ["'3'"]),
    ("empirical-weights-mismatch", "call_center.handle_time",
     {"dist": "empirical", "values_min": [1.0, 2.0, 3.0], "weights": [0.5, 0.5]},
     "call_center.handle_time.weights", ["[0.5, 0.5]", "3"]),
    ("empirical-empty", "call_center.handle_time", {"dist": "empirical", "values_min": []},
     "call_center.handle_time.values_min", ["[]"]),
    ("empirical-negative-value", "call_center.handle_time", {"dist": "empirical", "values_min": [1.0, -2.0]},
     "call_center.handle_time.values_min[1]", ["-2.0"]),
    ("infinite-handle-time", "call_center.handle_time", {"dist": "infinite"},
     "call_center.handle_time.dist", ["'infinite'", "exponential"]),
    ("infinite-demand-handle-time", "call_center.demand_handle_time", {"dist": "infinite"},
     "call_center.demand_handle_time.dist", ["'infinite'"]),
    ("infinite-redial-delay", "arrivals.redial_delay", {"dist": "infinite"},
     "arrivals.redial_delay.dist", ["'infinite'"]),
    ("infinite-with-mean", "call_center.patience", {"dist": "infinite", "mean_min": 3.0},
     "call_center.patience.mean_min", ["3.0", "infinite"]),
    # arrivals
    ("daily_calls-negative", "arrivals.daily_calls", -100, "arrivals.daily_calls", ["-100", ">= 0"]),
    ("daily_calls-nan", "arrivals.daily_calls", float("nan"), "arrivals.daily_calls", ["nan", "finite"]),
    ("daily_calls-string", "arrivals.daily_calls", "lots", "arrivals.daily_calls", ["'lots'"]),
    ("redial_prob-negative", "arrivals.redial_prob", -0.1, "arrivals.redial_prob", ["-0.1", "from 0 to 1"]),
    ("redial_prob-above-1", "arrivals.redial_prob", 1.2, "arrivals.redial_prob", ["1.2", "from 0 to 1"]),
    ("weekday_factors-6", "arrivals.weekday_factors", [1.0] * 6, "arrivals.weekday_factors", ["6 values", "7"]),
    ("month_factors-13", "arrivals.month_factors", [1.0] * 13, "arrivals.month_factors", ["13 values", "12"]),
    ("weekday_factor-negative", "arrivals.weekday_factors", [1, 1, -0.5, 1, 1, 1, 1],
     "arrivals.weekday_factors[2]", ["-0.5", ">= 0"]),
    ("month_factor-string", "arrivals.month_factors", [1] * 11 + ["high"], "arrivals.month_factors[11]", ["'high'"]),
    ("weekday_factors-not-list", "arrivals.weekday_factors", 1.0, "arrivals.weekday_factors", ["1.0", "7"]),
    ("profile-unknown-name", "arrivals.intraday_profile", "rush_hour", "arrivals.intraday_profile",
     ["'rush_hour'", *available("profiles")]),
    ("profile-7-values", "arrivals.intraday_profile", [1, 2, 3, 4, 5, 6, 7], "arrivals.intraday_profile",
     ["7 values", "1440"]),
    ("profile-negative-weight", "arrivals.intraday_profile", [1.0] * 23 + [-1.0], "arrivals.intraday_profile[23]",
     ["-1.0"]),
    ("profile-all-zero", "arrivals.intraday_profile", [0.0] * 24, "arrivals.intraday_profile", ["positive sum"]),
    ("category_mix-unknown-name", "arrivals.category_mix", "beijing_2030", "arrivals.category_mix",
     ["'beijing_2030'", *available("category_mix")]),
    ("category_mix-sum-0.9", "arrivals.category_mix", {"a": 0.5, "b": 0.4}, "arrivals.category_mix",
     ["0.9", "sum to 1"]),
    ("category_mix-sum-1.1", "arrivals.category_mix", {"a": 0.6, "b": 0.5}, "arrivals.category_mix",
     ["1.1", "sum to 1"]),
    ("category_mix-negative-share", "arrivals.category_mix", {"a": 1.5, "b": -0.5}, "arrivals.category_mix.b",
     ["-0.5"]),
    ("category_mix-list", "arrivals.category_mix", [0.5, 0.5], "arrivals.category_mix", ["[0.5, 0.5]", "mapping"]),
    # shocks
    ("shock-unknown-category", "arrivals.shocks",
     [{"start": "2019-06-10T00:00", "days": 1, "factor": 2.0, "categories": ["municipal"]}],
     "arrivals.shocks[0].categories", ["'municipal'", "all"]),
    ("shock-bad-start", "arrivals.shocks", [{"start": "2019-06-31T08:00", "days": 1, "factor": 2.0}],
     "arrivals.shocks[0].start", ["'2019-06-31T08:00'", "ISO"]),
    ("shock-days-0", "arrivals.shocks", [{"start": "2019-06-10T00:00", "days": 0, "factor": 2.0}],
     "arrivals.shocks[0].days", ["0", "> 0"]),
    ("shock-negative-factor", "arrivals.shocks", [{"start": "2019-06-10T00:00", "days": 1, "factor": -2.0}],
     "arrivals.shocks[0].factor", ["-2.0"]),
    ("shock-unknown-key", "arrivals.shocks",
     [{"start": "2019-06-10T00:00", "days": 1, "factor": 2.0, "until": "2019-06-12"}],
     "arrivals.shocks[0].until", ["'2019-06-12'", "factor"]),
    ("second-shock-bad", "arrivals.shocks",
     [{"start": "2019-06-10T00:00", "days": 1, "factor": 2.0}, {"start": "2019-06-12T00:00", "days": -1, "factor": 2}],
     "arrivals.shocks[1].days", ["-1"]),
    ("shock-not-mapping", "arrivals.shocks", ["heating"], "arrivals.shocks[0]", ["'heating'"]),
    ("shocks-not-list", "arrivals.shocks", "heating", "arrivals.shocks", ["'heating'", "list"]),
]


@pytest.mark.parametrize(("path", "value", "key", "mentions"),
                         [pytest.param(*case[1:], id=case[0]) for case in BAD_CONFIGS])
def test_bad_config_gives_one_line_naming_key_and_value(path, value, key, mentions):
    err = assert_one_line_error(mutated(path, value), key, mentions)
    assert isinstance(err, ValueError)


def test_value_of_each_error_is_the_offending_value():
    err = assert_one_line_error(mutated("call_center.seats", 2.5), "call_center.seats")
    assert err.value == 2.5
    err = assert_one_line_error(mutated("call_center.roster", [10, 20, 30, 60]), "call_center.roster[3]")
    assert err.value == 60


def test_shock_category_checked_against_the_configured_mix():
    raw = mutated("arrivals.category_mix", "beijing_2019_06")
    raw["arrivals"]["shocks"] = [{"start": "2019-06-10T00:00", "days": 1, "factor": 2.0,
                                  "categories": ["municipal", "potholes"]}]
    err = assert_one_line_error(raw, "arrivals.shocks[0].categories", ["'potholes'", "municipal", "other"])
    assert err.value == "potholes"


# ---------------------------------------------------------------- valid configs


def test_valid_config_builds_into_typed_dataclasses():
    cfg = build_config(valid_raw())
    assert isinstance(cfg, SimConfig)
    assert (cfg.seed, cfg.replications, cfg.horizon_days, cfg.warmup_days) == (12345, 10, 29.0, 1.0)
    assert cfg.start == datetime(2019, 6, 3)
    assert cfg.horizon_min == 29 * MINUTES_PER_DAY and cfg.warmup_min == MINUTES_PER_DAY
    a = cfg.arrivals
    assert a.daily_calls == 13680
    assert a.intraday_profile == (1.0,)
    assert a.weekday_factors == (1.0,) * 7 and a.month_factors == (1.0,) * 12
    assert a.shocks == () and a.redial_prob == 0.0
    assert a.categories == ("all",) and a.category_shares == (1.0,)
    cc = cfg.call_center
    assert cc.seats == 50 and cc.roster == (50,) and cc.roster_interval_min == MINUTES_PER_DAY
    assert cc.handle_time.dist == "exponential" and cc.handle_time.mean == 5.0
    assert cc.demand_handle_time == cc.handle_time  # defaults to handle_time
    assert cc.patience.mean == 3.0 and cc.sl_threshold_s == 30 and cc.ticket_share == 0.42


def test_build_config_does_not_modify_its_input():
    raw = valid_raw()
    build_config(raw)
    assert raw == valid_raw()


@pytest.mark.parametrize("seats", [1, 50, 733])
def test_full_roster_is_every_seat(seats):
    cfg = build_config(mutated("call_center.seats", seats))
    assert cfg.call_center.roster == (seats,)


def test_inline_roster_kept_as_given():
    roster = [0, 10, 50, 25] * 6
    cfg = build_config(mutated("call_center.roster", roster))
    assert cfg.call_center.roster == tuple(roster)
    assert cfg.call_center.roster_interval_min == 60


def _seat_share_roster(seats: int) -> tuple[int, ...]:
    raw = mutated("call_center.roster", "beijing_2019")
    raw["call_center"]["seats"] = seats
    return build_config(raw).call_center.roster


def test_seat_share_roster_scales_with_seats():
    r500, r1000 = _seat_share_roster(500), _seat_share_roster(1000)
    assert len(r500) == len(r1000) == 24
    assert all(0 <= a <= 500 for a in r500) and all(0 <= a <= 1000 for a in r1000)
    # round(2x) differs from 2 round(x) by at most 1 per slice
    assert all(abs(b - 2 * a) <= 1 for a, b in zip(r500, r1000))
    assert abs(sum(r1000) - 2 * sum(r500)) <= 24
    assert sum(r1000) > 1.9 * sum(r500)


def test_seat_share_roster_matches_its_documented_example():
    # scenarios/rosters/beijing_2019.yaml: "With 500 seats: 24 agents at 00-01, 148 at 10-11."
    roster = _seat_share_roster(500)
    assert roster[0] == 24 and roster[10] == 148


def test_infinite_patience_allowed():
    cfg = build_config(mutated("call_center.patience", {"dist": "infinite"}))
    assert cfg.call_center.patience.is_infinite and cfg.call_center.patience.mean == float("inf")


def test_shock_with_known_category_builds():
    raw = mutated("arrivals.category_mix", "beijing_2019_06")
    raw["arrivals"]["shocks"] = [{"start": "2019-06-10T10:30", "days": 0.25, "factor": 3, "categories": ["municipal"]}]
    (shock,) = build_config(raw).arrivals.shocks
    assert shock.start == datetime(2019, 6, 10, 10, 30) and shock.days == 0.25 and shock.factor == 3.0
    assert shock.categories == ("municipal",)


def test_named_category_mix_loaded():
    cfg = build_config(mutated("arrivals.category_mix", "beijing_2019_06"))
    assert len(cfg.arrivals.categories) == len(cfg.arrivals.category_shares) == 11
    assert "municipal" in cfg.arrivals.categories
    assert sum(cfg.arrivals.category_shares) == pytest.approx(1.0, abs=1e-9)


def test_profile_weights_are_normalised():
    cfg = build_config(mutated("arrivals.intraday_profile", [1, 3] * 12))
    assert sum(cfg.arrivals.intraday_profile) == pytest.approx(1.0, abs=1e-12)
    assert cfg.arrivals.intraday_profile[1] == pytest.approx(3 * cfg.arrivals.intraday_profile[0])


@pytest.mark.parametrize("name", available("profiles"))
def test_every_shipped_profile_is_usable(name):
    cfg = build_config(mutated("arrivals.intraday_profile", name))
    assert MINUTES_PER_DAY % len(cfg.arrivals.intraday_profile) == 0
    assert sum(cfg.arrivals.intraday_profile) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("name", available("category_mix"))
def test_every_shipped_category_mix_is_usable(name):
    build_config(mutated("arrivals.category_mix", name))


@pytest.mark.parametrize("name", available("rosters"))
def test_every_shipped_roster_is_usable(name):
    raw = mutated("call_center.roster", name)
    raw["call_center"]["seats"] = 500
    roster = build_config(raw).call_center.roster
    assert MINUTES_PER_DAY % len(roster) == 0 and all(0 <= a <= 500 for a in roster)


@pytest.mark.parametrize("kind", ["profiles", "rosters", "category_mix"])
def test_every_shipped_data_file_says_where_its_numbers_come_from(kind):
    for name in available(kind):
        data = yaml.safe_load((SCENARIOS_DIR / kind / f"{name}.yaml").read_text(encoding="utf-8"))
        assert isinstance(data.get("source"), str) and data["source"].strip(), f"{kind}/{name}.yaml"


@pytest.mark.parametrize("start", ["2019-06-03T00:00+08:00", 20190603])
def test_start_must_be_a_naive_iso_date_time(start):
    """Times are local Beijing time; a time zone (or a bare number) would only
    surface later as a crash, so it is refused up front."""
    with pytest.raises(ConfigError) as err:
        build_config(mutated("start", start))
    assert err.value.key == "start"


def test_shock_with_empty_category_list_is_refused():
    raw = valid_raw()
    raw["arrivals"]["shocks"] = [{"start": "2019-06-04T00:00", "days": 1, "factor": 2.0, "categories": []}]
    with pytest.raises(ConfigError) as err:
        build_config(raw)
    assert err.value.key == "arrivals.shocks[0].categories"


# ---------------------------------------------------------------- the real Hydra config


def _compose(overrides: list[str]):
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    return build_config(OmegaConf.to_container(cfg, resolve=True))


def test_default_hydra_config_builds():
    cfg = _compose([])
    assert cfg.call_center.seats == 500
    assert len(cfg.call_center.roster) == 24 and max(cfg.call_center.roster) <= 500
    assert len(cfg.arrivals.intraday_profile) == 24 and len(cfg.arrivals.categories) > 1
    assert cfg.warmup_days < cfg.horizon_days


@pytest.mark.parametrize("scenario", sorted(p.stem for p in (CONF_DIR / "scenario").glob("*.yaml")))
def test_every_scenario_composes_and_builds(scenario):
    cfg = _compose([f"scenario={scenario}"])
    assert cfg.replications >= 1


def test_erlang_flat_hydra_config_matches_the_fixture():
    cfg = _compose(["scenario=erlang_flat"])
    assert cfg.call_center.roster == (cfg.call_center.seats,)
    assert cfg.arrivals.intraday_profile == (1.0,) and cfg.arrivals.categories == ("all",)
    assert cfg.call_center.handle_time.dist == cfg.call_center.patience.dist == "exponential"


def test_hydra_seat_override_scales_the_default_roster():
    base, doubled = _compose([]), _compose(["call_center.seats=1000"])
    assert all(abs(b - 2 * a) <= 1 for a, b in zip(base.call_center.roster, doubled.call_center.roster))


# ---------------------------------------------------------------- the CLI fails fast


@pytest.mark.parametrize(("override", "key", "value_text"), [
    pytest.param("call_center.roster=[600]", "call_center.roster[0]", "600", id="roster-above-seats"),
    pytest.param("call_center.handle_time.dist=weibull", "call_center.handle_time.dist", "'weibull'",
                 id="unknown-dist"),
    pytest.param("+colour=blue", "colour", "'blue'", id="unknown-top-key"),
])
def test_cli_bad_config_exits_2_with_one_line(tmp_path, override, key, value_text):
    run_dir = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "run.py", override, f"hydra.run.dir={run_dir}"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"config error: {key} = "), lines[0]
    assert value_text in lines[0]
    # failed before simulating: no progress, no table, no outputs
    assert "replication 1/" not in proc.stderr and proc.stdout.strip() == ""
    assert not (run_dir / "summary.json").exists()
