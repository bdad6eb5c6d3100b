"""Issue 12, hardening: bad input is a one-line ``config error`` (exit 2), never a hang or
a traceback.

- Changing a distribution's type: a distribution given whole (on the command line, or
  in a scenario file that extends another) replaces the old one instead of being
  merged into it (sim.compose).
- Hangs: durations whose mean could let simulated time stand still (a redial loop at
  one instant, a misroute bounce), a survey batch interval of 1e-9 minutes and station
  sizes that cannot be meant are refused; a big station costs no memory per server.

The command-line cases run ``run.py`` in a subprocess under a 60 s timeout: a hang
fails the test instead of stalling the suite.
"""
from __future__ import annotations

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
from sim.station import FcfsStation

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
    ("dispatch.review_time.mean_h", ["dispatch.centre.misroute_prob=1", "dispatch.review_time={dist: exponential, mean_h: 1e-12}"]),
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
