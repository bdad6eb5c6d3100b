"""Issue 12, hardening: bad input is a one-line ``config error`` (exit 2), never a hang or
a traceback.

- Changing a distribution's type: a distribution given whole (on the command line, or
  in a scenario file that extends another) replaces the old one instead of being
  merged into it (sim.compose).
- Hangs: durations whose mean could let simulated time stand still (a redial loop at
  one instant, a misroute bounce), a survey batch interval of 1e-9 minutes and station
  sizes that cannot be meant are refused; a big station costs no memory per server.
- Tracebacks: extreme cv, no office days, dates past year 9999, malformed named data
  files, failing interpolations, a dask address that is not one, and Hydra's own errors
  (unknown key, unknown group option, a scenario file that is not YAML) are one line.
- Nonsense: duplicate weekdays, deadlines and means beyond any real one, a misroute
  chance of 1 are refused; a run with no calls or tickets says so in its charts.
- A seeded fuzz of bad values over every config key (a few dozen here, all under -m slow).

The command-line cases run ``run.py`` in a subprocess under a 60 s timeout: a hang
fails the test instead of stalling the suite.
"""
from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from sim.compose import force_add_distributions, replace_whole_distributions
from sim.config import build_config
from sim.errors import ConfigError
from sim.experiment import build_executor_config
from sim.station import FcfsStation
from tests.test_fuzz import mutated

REPO = Path(__file__).resolve().parent.parent
CONF_DIR = REPO / "conf"
#: Short, cheap runs: one replication of a day, no charts or report.
QUICK = ["replications=1", "horizon_days=1", "warmup_days=0", "executor=serial", "charts=none", "report=false"]

#: A scenario that extends beijing_2019 and changes distributions' types (its own, one of
#: conf/tickets/), and edits one distribution in place.
EXTENDING_SCENARIO = """\
# @package _global_
defaults:
  - beijing_2019
  - _self_
description: "extends beijing_2019, changes distribution types"
call_center:
  patience: {dist: exponential, mean_min: 2.0}      # was lognormal with cv
  handle_time: {mean_min: 5.0}                       # a partial edit: stays lognormal, cv 0.8
streets:
  processing:
    default: {dist: deterministic, mean_h: 30}       # conf/tickets/beijing.yaml: lognormal, cv
"""


def run_cli(args: list[str], tmp_path: Path, extra: list[str] = ()) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "run.py", *extra, *args, f"hydra.run.dir={tmp_path / 'run'}"],
                          cwd=REPO, capture_output=True, text=True, timeout=60)


def composed(overrides: list[str], conf_dir: Path = CONF_DIR):
    """The SimConfig of ``conf_dir`` with ``overrides``, composed as run.py does."""
    overrides = force_add_distributions(overrides)
    with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
        replace_whole_distributions(cfg, "config", overrides)
    return build_config(OmegaConf.to_container(cfg, resolve=True))


@pytest.fixture(scope="module")
def extra_conf(tmp_path_factory) -> Path:
    """A config dir of its own holding only the extending scenario (for --config-dir)."""
    d = tmp_path_factory.mktemp("extra_conf")
    (d / "scenario").mkdir()
    (d / "scenario" / "extends_2019.yaml").write_text(EXTENDING_SCENARIO, encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def conf_copy(tmp_path_factory, extra_conf) -> Path:
    """conf/ plus the extending scenario (for compose)."""
    d = tmp_path_factory.mktemp("conf") / "conf"
    shutil.copytree(CONF_DIR, d)
    shutil.copy(extra_conf / "scenario" / "extends_2019.yaml", d / "scenario")
    return d


# ------------------------------------------------- A: a distribution given whole replaces


def test_command_line_distribution_replaces_the_old_one():
    cfg = composed(["call_center.patience={dist: infinite}",
                    "call_center.handle_time={dist: deterministic, mean_min: 4}",
                    "streets.processing.default={dist: exponential, mean_h: 10}"])
    assert cfg.call_center.patience.is_infinite
    assert cfg.call_center.handle_time.dist == "deterministic" and cfg.call_center.handle_time.mean_min == 4
    proc = cfg.tickets.streets.processing["default"]
    assert proc.dist == "exponential" and proc.mean_min == 600


def test_command_line_distribution_may_bring_new_keys():
    cfg = composed(["call_center.patience={dist: exponential, mean_s: 90}",
                    "arrivals.redial_delay={dist: empirical, values_min: [5, 10], weights: [1, 3]}"])
    assert (cfg.call_center.patience.dist, cfg.call_center.patience.mean_min) == ("exponential", 1.5)
    assert cfg.arrivals.redial_delay.values_min == (5, 10) and cfg.arrivals.redial_delay.weights == (1, 3)


def test_force_add_touches_only_distribution_values():
    args = ["-m", "call_center.patience={dist: infinite},{dist: exponential, mean_min: 2}", "--config-dir", "/a=b",
            "call_center.seats=600", "+x={dist: infinite}", "call_center.patience.dist=gamma", "hydra.run.dir=/tmp/x"]
    assert force_add_distributions(args) == ["-m", "++" + args[1], *args[2:]]


def test_command_line_partial_edits_still_edit_in_place():
    cfg = composed(["call_center.patience.mean_min=5", "call_center.handle_time.dist=gamma"])
    assert (cfg.call_center.patience.dist, cfg.call_center.patience.mean_min, cfg.call_center.patience.cv) == \
        ("lognormal", 5.0, 1.0)
    assert (cfg.call_center.handle_time.dist, cfg.call_center.handle_time.cv) == ("gamma", 0.8)


def test_changing_only_the_type_key_names_the_leftover_parameter():
    with pytest.raises(ConfigError) as err:
        composed(["call_center.patience.dist=infinite"])
    assert err.value.key == "call_center.patience.cv" and "give the distribution whole" in str(err.value)


def test_scenario_extending_another_changes_distribution_types(conf_copy):
    cfg = composed(["scenario=extends_2019"], conf_copy)
    p, h = cfg.call_center.patience, cfg.call_center.handle_time
    assert (p.dist, p.mean_min) == ("exponential", 2.0)
    assert (h.dist, h.mean_min, h.cv) == ("lognormal", 5.0, 0.8)
    proc = cfg.tickets.streets.processing["default"]
    assert (proc.dist, proc.mean_min) == ("deterministic", 30 * 60)
    # and the command line still wins over the scenario file
    again = composed(["scenario=extends_2019", "call_center.patience={dist: gamma, mean_min: 3, cv: 0.5}"], conf_copy)
    assert (again.call_center.patience.dist, again.call_center.patience.cv) == ("gamma", 0.5)


def test_readme_infinite_patience_runs_end_to_end(tmp_path):
    proc = run_cli(["call_center.patience={dist: infinite}", "dispatch=none", *QUICK], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    saved = OmegaConf.load(tmp_path / "run" / ".hydra" / "config.yaml")  # the run's copy says what ran
    assert OmegaConf.to_container(saved.call_center.patience) == {"dist": "infinite"}


def test_cli_scenario_extending_another_runs(tmp_path, extra_conf):
    proc = run_cli(["scenario=extends_2019", "dispatch=none", *QUICK], tmp_path,
                   extra=["--config-dir", str(extra_conf)])
    assert proc.returncode == 0, proc.stderr[-2000:]


# ------------------------------------------------- B: nothing may make time stand still

HANGS = [
    # zero-delay redials after (near) zero patience looped for ever at one instant
    ("call_center.patience.mean_min", ["arrivals.redial_prob=1", "arrivals.redial_delay={dist: deterministic, mean_min: 1e-12}",
                                       "call_center.patience={dist: deterministic, mean_min: 1e-12}"]),
    ("arrivals.redial_delay.mean_min", ["arrivals.redial_prob=1", "arrivals.redial_delay={dist: deterministic, mean_min: 1e-12}"]),
    ("call_center.patience.mean_s", ["call_center.patience={dist: exponential, mean_s: 0.001}"]),
    ("arrivals.redial_delay.values_min", ["arrivals.redial_prob=0.9", "arrivals.redial_delay={dist: empirical, values_min: [0, 0]}"]),
    # a misroute bounce with a near-zero review
    ("dispatch.review_time.mean_h", ["dispatch.centre.misroute_prob=0.99", "dispatch.review_time={dist: exponential, mean_h: 1e-12}"]),
    ("survey.batch_interval_min", ["survey.batch_interval_min=1e-9"]),
    # stations and seats of sizes that cannot be meant
    ("departments.servers", ["departments.servers=1000000000"]),
    ("dispatch.centre.desk_staff", ["dispatch.centre.desk_staff=1000000000"]),
    ("dispatch.district_desk.staff", ["dispatch=two_level", "dispatch.district_desk.staff=1000000000"]),
    ("survey.team_agents", ["survey.team_agents=1000000000"]),
    ("streets.capacity.min_caseworkers", ["streets.capacity.min_caseworkers=1000000000"]),
    ("streets.capacity.scale", ["streets.capacity.scale=1e9"]),
    ("call_center.seats", ["call_center.seats=1000000000"]),
    # ... and sizes derived from a target utilisation next to zero
    ("streets.capacity.target_utilisation", ["streets.capacity.target_utilisation=1e-300"]),
    ("dispatch.district_desk.target_utilisation", ["dispatch=two_level", "dispatch.district_desk.target_utilisation=1e-300"]),
    ("survey.team_target_utilisation", ["survey.team_target_utilisation=1e-300"]),
]


@pytest.mark.parametrize(("key", "args"), HANGS, ids=[k for k, _ in HANGS])
def test_what_could_hang_is_a_one_line_config_error(tmp_path, key, args):
    proc = run_cli([*args, *QUICK], tmp_path)
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith(f"config error: {key} = "), lines


def test_a_big_station_costs_no_memory_per_server():
    tracemalloc.start()
    try:
        station = FcfsStation(10**9, keep_visits=False)
        for job in range(1000):
            station.assign(job, job * 0.1, 5.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


# ------------------------------------------- C: a one-line error, never a traceback

def one_line_error(proc: subprocess.CompletedProcess, key: str) -> None:
    """The run was refused with exactly one line, ``config error: <key> = ...``, exit 2."""
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
    assert proc.returncode == 2, (proc.stdout + proc.stderr)[-2000:]
    assert len(lines) == 1 and lines[0].startswith(f"config error: {key} = "), lines


def refused(overrides: list[str], key: str, conf_dir: Path = CONF_DIR) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        composed(overrides, conf_dir)
    assert err.value.key == key and "\n" not in str(err.value), str(err.value)
    return err.value


TRACEBACKS = [  # (refused key, overrides): each raised a traceback before
    ("call_center.patience.cv", ["call_center.patience={dist: gamma, mean_min: 2, cv: 1e-200}"]),
    ("call_center.patience.cv", ["call_center.patience={dist: gamma, mean_min: 2, cv: 1e200}"]),
    ("call_center.handle_time.cv", ["call_center.handle_time={dist: lognormal, mean_min: 5, cv: 1e-200}"]),
    ("streets.processing.default.cv", ["streets.processing.default={dist: lognormal, mean_h: 48, cv: 1e200}"]),
    ("city.office_hours.weekdays", ["city.office_hours.weekdays=[]"]),
    ("start", ["start=9999-12-31T00:00"]),
    ("horizon_days", ["start=9989-12-31T00:00", "horizon_days=10", "warmup_days=0"]),
    ("horizon_days", ["horizon_days=1e300"]),
    ("start", ["start=10000-01-01T00:00"]),
    ("call_center.seat_changes[0].from", ['call_center.seat_changes=[{from: "10000-01-01", seats: 400}]']),
    ("arrivals.shocks[0].start", ['arrivals.shocks=[{start: "10000-01-01T00:00", days: 1, factor: 2}]']),
]


@pytest.mark.parametrize(("key", "args"), TRACEBACKS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(TRACEBACKS)])
def test_extreme_values_are_a_config_error(key, args):
    refused(args, key)


@pytest.mark.parametrize("address", ["notaurl", "tcp://", "tcp://host", "host:99999", "tcp://a b:1", 5])
def test_a_dask_address_that_is_not_one_is_refused(address):
    with pytest.raises(ConfigError) as err:
        build_executor_config({"kind": "dask", "address": address})
    assert err.value.key == "executor.address"


@pytest.mark.parametrize("address", ["tcp://10.0.0.5:8786", "localhost:8786", "tls://sched.example.org:8786",
                                     "[::1]:8786"])
def test_dask_addresses_that_are_one_pass(address):
    pytest.importorskip("distributed")
    assert build_executor_config({"kind": "dask", "address": address}).address == address


#: Malformed contents of a named data file (YAML): syntax, not UTF-8, a python tag.
BAD_YAML = {
    "syntax": b"weights: [1, 2\nsource: x\n",
    "tab": b"weights:\t[1]\n",
    "not_utf8": b"weights: [1]\nsource: \xff\xfe caf\xe9\n",
    "python_tag": b"weights: !!python/object/apply:os.system ['echo hi']\nsource: x\n",
}
#: (scenarios folder, config key that names a file of it)
DATA_KEYS = [("profiles", "arrivals.intraday_profile"), ("rosters", "call_center.roster"),
             ("category_mix", "arrivals.category_mix")]


@pytest.mark.parametrize("kind,key", DATA_KEYS, ids=[k for k, _ in DATA_KEYS])
@pytest.mark.parametrize("bad", sorted(BAD_YAML))
def test_a_malformed_named_data_file_is_a_config_error(scenarios_copy, kind, key, bad):
    (scenarios_copy / kind / "broken.yaml").write_bytes(BAD_YAML[bad])
    err = refused([f"{key}=broken"], key)
    assert f"scenarios/{kind}/broken.yaml" in err.allowed
    assert "echo" not in str(err) and "caf" not in str(err)  # the file's text is not echoed


CITY_BAD = {
    "not_utf8": lambda text: text.encode("utf-8") + "x,\xe9\n".encode("latin-1"),
    "header_only": lambda text: text.split("\n", 1)[0].encode("utf-8") + b"\n",
    "short_row": lambda text: (text + "999\n").encode("utf-8"),
}


@pytest.mark.parametrize("bad", sorted(CITY_BAD))
def test_a_malformed_city_table_is_a_config_error(scenarios_copy, bad):
    city = scenarios_copy / "city"
    for part in ("districts", "streets"):
        shutil.copy(city / f"beijing_2019_{part}.csv", city / f"broken_{part}.csv")
    streets = city / "broken_streets.csv"
    streets.write_bytes(CITY_BAD[bad](streets.read_text(encoding="utf-8")))
    with pytest.raises(ConfigError) as err:
        composed(["city.table=broken"])
    assert "\n" not in str(err.value)


HYDRA_ERRORS = [  # (key, arguments): Hydra's own errors, several lines and exit 1 before
    ("call_center.foo", ["call_center.foo=1"]),
    ("dispatch", ["dispatch=three_level"]),
    ("seed", ["seed=${oc.env:HOTLINE_SIM_NO_SUCH_VARIABLE}"]),
    ("arrivals.weekday_factors[6]", ["arrivals.weekday_factors=[1,1,1,1,1,1,${nope}]"]),
    ("seed", ["seed=["]),
    ("scenario", ["scenario=with_tab"]),
    ("scenario", ["scenario=duplicate_key"]),
]


@pytest.fixture(scope="module")
def bad_scenarios(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("bad_conf")
    (d / "scenario").mkdir()
    head = "# @package _global_\ndefaults:\n  - beijing_2019\n  - _self_\n"
    (d / "scenario" / "with_tab.yaml").write_text(head + "seed:\t1\n", encoding="utf-8")
    (d / "scenario" / "duplicate_key.yaml").write_text(head + "seed: 1\nseed: 2\n", encoding="utf-8")
    return d


@pytest.mark.parametrize(("key", "args"), HYDRA_ERRORS, ids=[a[0] for _, a in HYDRA_ERRORS])
def test_hydra_and_omegaconf_errors_are_one_line(tmp_path, bad_scenarios, key, args):
    proc = run_cli([*args, *QUICK], tmp_path, extra=["--config-dir", str(bad_scenarios)])
    one_line_error(proc, key)


def test_an_unknown_key_names_the_keys_there(tmp_path):
    proc = run_cli(["call_center.foo=1", *QUICK], tmp_path)
    one_line_error(proc, "call_center.foo")
    assert "seats" in proc.stderr and "+call_center.foo" in proc.stderr


# ------------------------------------------------------ D: nonsense is refused

NONSENSE = [
    ("city.office_hours.weekdays", ["city.office_hours.weekdays=[0,0,1,2,3]"]),
    ("streets.urgency.general.deadline_h", ["streets.urgency.general.deadline_h=1e307"]),
    ("streets.urgency.general.processing_scale", ["streets.urgency.general.processing_scale=1e300"]),
    ("streets.response_threshold_h", ["streets.response_threshold_h=1e307"]),
    ("survey.window_h", ["survey.window_h=1e307"]),
    ("dispatch.review_time.mean_h", ["dispatch.review_time={dist: exponential, mean_h: 1e307}"]),
    ("call_center.patience.mean_min", ["call_center.patience={dist: exponential, mean_min: 1e300}"]),
    ("dispatch.centre.misroute_prob", ["dispatch.centre.misroute_prob=1",
                                       "dispatch.review_time={dist: exponential, mean_s: 1}"]),
    ("dispatch.district_desk.misroute_prob", ["dispatch=two_level", "dispatch.district_desk.misroute_prob=1"]),
    ("call_center.seats", ["call_center.seats=1000000000"]),
]


@pytest.mark.parametrize(("key", "args"), NONSENSE, ids=[k for k, _ in NONSENSE])
def test_nonsense_is_refused(key, args):
    refused(args, key)


def test_limits_leave_the_shipped_values_alone():
    cfg = composed([])
    assert max(u.deadline_min for u in cfg.tickets.streets.urgency) == 360 * 60
    assert composed(["dispatch.centre.misroute_prob=0.99"]).tickets.dispatch.centre_misroute_prob == 0.99


@pytest.mark.slow
def test_a_run_with_no_calls_says_so_in_its_charts_and_exits_0(tmp_path):
    charts = "charts=[calls_by_hour,lead_time_distribution,deadline_compliance_by_district]"
    proc = run_cli(["arrivals.daily_calls=0.001", "replications=1", "horizon_days=2", "warmup_days=1",
                    "executor=serial", charts, "report=false"], tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "Traceback" not in out and "ERROR" not in out, out[-3000:]
    skipped = json.loads((tmp_path / "run" / "charts" / "captions.json").read_text(encoding="utf-8"))["_skipped"]
    assert skipped["calls_by_hour"] == "no calls in the measured window"
    assert "no ticket" in skipped["lead_time_distribution"]
    assert "no ticket" in skipped["deadline_compliance_by_district"]


def test_empty_data_skips_the_ticket_charts_with_a_reason():
    from analysis.charts.chart import SkipChart
    from analysis.charts.tickets import deadline_compliance_by_district, lead_time_distribution
    empty_lead = [{"bin_lo_h": lo, "bin_hi_h": hi, "urgency": "general", "tickets": 0, "replication": 0}
                  for lo, hi in ((0, 1), (1, float("inf")))]
    with pytest.raises(SkipChart, match="no ticket was closed"):
        lead_time_distribution(empty_lead)
    with pytest.raises(SkipChart):
        deadline_compliance_by_district([])


def test_empty_data_skips_the_calls_chart_with_a_reason():
    from analysis.charts.calls import calls_by_hour
    from analysis.charts.chart import SkipChart
    rows = [{"hour": h, "metric": m, "mean": 0.0 if m != "service_level" else "", "ci_low": "", "ci_high": ""}
            for h in range(24) for m in ("calls_offered_per_day", "calls_answered_per_day", "service_level")]
    with pytest.raises(SkipChart, match="no calls"):
        calls_by_hour(rows)


# ------------------------------------------- E: a seeded fuzz of bad configurations

#: Bad values of every kind: wrong types, negative, NaN/inf, huge, empty.
BAD_VALUES = ["text", True, None, -1, -1e-9, 0, float("nan"), float("inf"), -float("inf"), 1e308, 10**12,
              1e-300, [], {}, [1, "x"], {"dist": "gamma", "mean_min": 1, "cv": 1e300}]


@pytest.fixture(scope="module")
def default_raw() -> dict:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["dispatch=two_level"])
    return OmegaConf.to_container(cfg, resolve=True)


def leaf_paths(node, path=()):
    """Every key path of the config (mappings and lists are walked; their leaves listed)."""
    if isinstance(node, dict) and node:
        yield path
        for k, v in node.items():
            yield from leaf_paths(v, path + (k,))
    elif isinstance(node, list) and node:
        yield path
        for i, v in enumerate(node):
            yield from leaf_paths(v, path + (i,))
    else:
        yield path


def validate(raw: dict) -> None:
    """What run.py validates before it simulates (every bad value must stop here): the
    one mirror of it, tests/test_fuzz.py's (which checks it against run.py's CLI)."""
    from tests.test_fuzz import validate_like_run

    validate_like_run(raw)


def fuzz(default_raw: dict, n: int | None, seed: int = 12) -> int:
    """Validate ``n`` seeded (path, bad value) cases (None: every pair); each must pass or
    raise a one-line ConfigError. Returns how many were refused."""
    paths = [p for p in leaf_paths(default_raw) if p and p[0] not in ("description", "sweep_name")]
    cases = [(p, v) for p in paths for v in BAD_VALUES]
    if n is not None:
        cases = random.Random(seed).sample(cases, n)
    refused_count = 0
    for path, value in cases:
        try:
            validate(mutated(default_raw, path, value))
        except ConfigError as err:
            assert "\n" not in str(err) and str(err).startswith("config error: "), (path, value, str(err))
            refused_count += 1
        except Exception as err:  # noqa: BLE001 -- the point of the test
            pytest.fail(f"{'.'.join(map(str, path))} = {value!r}: {type(err).__name__}: {err}")
    return refused_count


def test_fuzz_every_top_level_and_section_key_is_reached(default_raw):
    sections = {p[0] for p in leaf_paths(default_raw) if p}
    assert {"arrivals", "call_center", "streets", "dispatch", "survey", "city", "executor"} <= sections


def test_fuzz_a_few_dozen_bad_configs(default_raw):
    assert fuzz(default_raw, 60) > 30


@pytest.mark.slow
def test_fuzz_every_key_with_every_bad_value(default_raw):
    assert fuzz(default_raw, None) > 0


def test_nan_and_inf_never_pass(default_raw):
    for path in [p for p in leaf_paths(default_raw) if p and isinstance(_get(default_raw, p), float)]:
        for value in (float("nan"), float("inf")):
            with pytest.raises(ConfigError):
                validate(mutated(default_raw, path, value))


def _get(raw, path):
    for k in path:
        raw = raw[k]
    return raw

