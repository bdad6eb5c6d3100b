"""Dispatch policies as plug-ins (sim/dispatch/): the registry, each policy's own
mechanism (exactly, where it can be pinned down; paired with common random numbers
against direct dispatch, where it is statistical), and the worked example of
docs/dispatch_policies.md run as a sixth policy.

Conservation of tickets, times along the path and station records for every policy
are checked in tests/test_tickets.py (its VARIANTS).
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

import sim.dispatch
from sim.config import build_config
from sim.dispatch import available, describe, policy_class
from sim.dispatch.base import DispatchPolicy
from sim.errors import ConfigError
from sim.model import run_replication
from sim.records import FRESH
from tests.conftest import t_interval
from tests.test_tickets import CONF, MONDAY, REPO, SMALL, full_config, full_raw, nan_equal, paired

BUILT_IN = ("direct", "two_level", "first_responsibility", "pooled", "whistle")
QUICK = ("horizon_days=6", "warmup_days=1", MONDAY, *SMALL)
REPS = 4


def ticket_columns(rec) -> dict[str, np.ndarray]:
    t = rec.tickets
    return {name: getattr(t, name) for name in ("caller", "created_min", "street", "dispatched_min", "delivered_min",
                                                "signed_min", "closed_min", "returns", "resolved", "surveyed_min",
                                                "satisfaction")}


def assert_same_records(a, b) -> None:
    for name, col in ticket_columns(a).items():
        other = ticket_columns(b)[name]
        assert col.shape == other.shape and nan_equal(col, other), name
    assert nan_equal(a.calls.answer_min, b.calls.answer_min)


# ====================================================================== registry

def test_the_five_policies_are_found_by_name_with_their_yaml():
    """Every built-in policy is a module of sim.dispatch with a YAML of the same name
    in conf/dispatch/ (and every YAML names a policy), labelled in English and Chinese,
    described, with a source."""
    assert set(BUILT_IN) <= set(available())
    yamls = {p.stem for p in (CONF / "dispatch").glob("*.yaml")} - {"none"}
    assert yamls == set(available())
    for name in available():
        cls = policy_class(name)
        assert issubclass(cls, DispatchPolicy)
        assert cls.label_en and cls.label_zh and cls.description and cls.source, name
        assert describe(name) == (cls.label_en, cls.label_zh, cls.description)
        assert full_config(f"dispatch={name}").tickets.dispatch.policy == name
    assert describe("no_such_policy") == ("no_such_policy", "no_such_policy", "policy no_such_policy")


@pytest.mark.parametrize("name", ["three_level", "base", "../model", "Direct", 3])
def test_an_unknown_policy_is_a_one_line_error_naming_the_policies(name):
    raw = full_raw()
    raw["dispatch"]["policy"] = name
    with pytest.raises(ConfigError) as info:
        build_config(raw)
    text = str(info.value)
    assert "\n" not in text and text.startswith("config error: dispatch.policy = ")
    assert all(p in text for p in BUILT_IN)


@pytest.mark.parametrize(("overrides", "key"), [
    (("dispatch=first_responsibility", "dispatch.coordination_time.mean_h=-1"), "dispatch.coordination_time.mean_h"),
    (("dispatch=pooled", "dispatch.pool.processing_scale=0"), "dispatch.pool.processing_scale"),
    (("dispatch=whistle", "dispatch.whistle.resolve_gain=1.5"), "dispatch.whistle.resolve_gain"),
    (("dispatch=whistle", "+dispatch.whistle.escalate.potholes=0.5"), "dispatch.whistle.escalate.potholes"),
    (("dispatch=whistle", "dispatch.whistle.report_deadline_h=0"), "dispatch.whistle.report_deadline_h"),
    (("dispatch=direct", "+dispatch.pool.processing_scale=1"), "dispatch.pool"),
])
def test_bad_policy_settings_are_one_line_errors(overrides, key):
    with pytest.raises(ConfigError) as info:
        full_config(*overrides)
    text = str(info.value)
    assert "\n" not in text and text.startswith(f"config error: {key}"), text


# ====================================================================== first-contact responsibility

def test_first_responsibility_without_misrouting_is_direct_dispatch():
    """With no wrong street there is nothing to coordinate: the same records as direct."""
    a = run_replication(full_config("dispatch=direct", "dispatch.centre.misroute_prob=0", *QUICK), 0)
    b = run_replication(full_config("dispatch=first_responsibility", "dispatch.centre.misroute_prob=0", *QUICK), 0)
    assert_same_records(a, b)


def test_a_wrongly_assigned_ticket_reaches_its_street_after_the_coordination_time():
    """Every street ticket sent to a wrong street (all of them here: with no returns
    the policy accepts dispatch.centre.misroute_prob=1) reaches the right one exactly
    the coordination time after the centre dispatched it, and none is returned."""
    cfg = full_config("dispatch=first_responsibility", "dispatch.centre.misroute_prob=1",
                      "dispatch.coordination_time.dist=deterministic", "dispatch.coordination_time.mean_h=3",
                      "~dispatch.coordination_time.cv", *QUICK)
    t = run_replication(cfg, 0).tickets
    street = (t.street >= 0) & ~np.isnan(t.delivered_min)
    assert street.sum() > 1000 and t.returns.max() == 0
    delay = t.delivered_min[street] - t.dispatched_min[street]
    assert np.allclose(delay, 180.0)


def test_the_misroute_cap_is_the_policy_s():
    """A policy whose wrong streets return tickets refuses a misroute chance of 1 (every
    ticket would bounce for ever), naming the key and the policy's limit; first-contact
    responsibility (no returns) accepts it."""
    for policy in ("direct", "two_level"):
        with pytest.raises(ConfigError, match=r"dispatch.centre.misroute_prob = 1.*0.99"):
            full_config(f"dispatch={policy}", "dispatch.centre.misroute_prob=1", *QUICK)
    assert full_config("dispatch=first_responsibility", "dispatch.centre.misroute_prob=1",
                       *QUICK).tickets.dispatch.centre_misroute_prob == 1.0


@pytest.mark.slow
def test_first_responsibility_dispatches_faster_than_returns():
    """Same problems, same wrong streets (CRN): coordinating (2 h) instead of a review
    (4 h) plus a new dispatch lowers the mean dispatch delay; no ticket is returned."""
    diff = paired(("dispatch=direct",), ("dispatch=first_responsibility",), "dispatch_delay_mean_h", REPS)
    assert t_interval(diff, 0.95)[1] < 0, diff
    returned = paired(("dispatch=direct",), ("dispatch=first_responsibility",), "returned_share", REPS)
    assert np.all(returned < 0)


# ====================================================================== pooled caseworkers

def test_pooled_stations_hold_their_streets_caseworkers():
    cfg = full_config("dispatch=pooled", *QUICK)
    t = run_replication(cfg, 0).tickets
    pool = t.stations["street_pool"]
    assert set(np.unique(pool["unit"])) <= set(range(cfg.city.n_districts)) and len(pool["job"]) > 1000
    assert np.array_equal(pool["unit"], t.district[pool["job"]])


def pooled_vs_direct(scale: float) -> np.ndarray:
    base = ("streets.capacity.scale=0.8", "horizon_days=10")  # busy streets: queues to pool
    return paired(("dispatch=direct", *base), ("dispatch=pooled", f"dispatch.pool.processing_scale={scale}", *base),
                  "lead_time_mean_h", REPS)


@pytest.mark.slow
def test_pooling_caseworkers_shortens_lead_times_at_equal_speed():
    """One queue per district instead of one per street, the same caseworkers working
    at the same speed: tickets wait less (the pooling effect of queueing theory)."""
    diff = pooled_vs_direct(1.0)
    assert t_interval(diff, 0.95)[1] < 0, diff


@pytest.mark.slow
def test_pooling_loses_when_pooled_caseworkers_are_much_slower():
    """The trade-off: if a caseworker needs half as long again on another street's
    ticket, pooling no longer pays."""
    diff = pooled_vs_direct(1.5)
    assert t_interval(diff, 0.95)[0] > 0, diff


# ====================================================================== whistle and report

def no_escalation() -> tuple[str, ...]:
    escalate = full_raw("dispatch=whistle")["dispatch"]["whistle"]["escalate"]
    return tuple(f"dispatch.whistle.escalate.{c}=0" for c in escalate)


def test_whistle_without_escalation_is_direct_dispatch():
    a = run_replication(full_config("dispatch=direct", *QUICK), 0)
    b = run_replication(full_config("dispatch=whistle", *no_escalation(), *QUICK), 0)
    assert_same_records(a, b)


def test_escalated_tickets_wait_for_the_departments_report():
    """Illegal construction always escalated, the report after exactly 10 h: its queued
    street tickets start work no earlier than 10 h after signing; others as usual."""
    cfg = full_config("dispatch=whistle", *no_escalation(), "dispatch.whistle.escalate.illegal_construction=1",
                      "dispatch.whistle.report_time.dist=deterministic", "dispatch.whistle.report_time.mean_h=10",
                      "~dispatch.whistle.report_time.cv", *QUICK)
    t = run_replication(cfg, 0).tickets
    st = t.stations["street"]
    started = ~np.isnan(st["start_min"])
    job, start = st["job"][started], st["start_min"][started]
    escalated = t.category[job] == cfg.arrivals.categories.index("illegal_construction")
    assert escalated.sum() > 50
    assert np.all(start[escalated] >= t.signed_min[job][escalated] + 600 - 1e-6)
    assert np.any(start[~escalated] < t.signed_min[job][~escalated] + 600)


def test_the_report_deadline_caps_the_wait():
    """Departments that would take 10 h must report within a 4 h deadline: escalated
    tickets wait 4 h after signing, not 10."""
    cfg = full_config("dispatch=whistle", *no_escalation(), "dispatch.whistle.escalate.illegal_construction=1",
                      "dispatch.whistle.report_time.dist=deterministic", "dispatch.whistle.report_time.mean_h=10",
                      "~dispatch.whistle.report_time.cv", "dispatch.whistle.report_deadline_h=4", *QUICK)
    t = run_replication(cfg, 0).tickets
    st = t.stations["street"]
    started = ~np.isnan(st["start_min"])
    job, start = st["job"][started], st["start_min"][started]
    escalated = t.category[job] == cfg.arrivals.categories.index("illegal_construction")
    wait = start[escalated] - t.signed_min[job][escalated]
    assert escalated.sum() > 50 and np.all(wait >= 240 - 1e-6)
    assert np.any(wait < 600 - 1e-6), "some start before the 10 h the departments would have taken"


@pytest.mark.slow
def test_the_departments_help_solves_problems_and_never_unsolves_one():
    """Same problems (CRN), with the outcome model's operational terms off (lateness,
    returns, load: the report's wait may make a ticket late): a fresh call's problem
    solved under direct dispatch is solved under whistle-and-report too, and some more
    are. With the full outcome model, the measured resolution rate still rises over
    replications."""
    static = ("streets.resolution.late_logit=0", "streets.resolution.returned_logit=0",
              "streets.resolution.queue_logit_per_day=0")
    direct = full_config("dispatch=direct", *QUICK, *static)
    whistle = full_config("dispatch=whistle", *QUICK, *static)
    a, b = run_replication(direct, 0), run_replication(whistle, 0)
    fresh = np.intersect1d(a.tickets.caller, b.tickets.caller)  # first calls: the same ids in both runs
    fresh = fresh[(a.calls.origin[fresh] == FRESH) & (b.calls.origin[fresh] == FRESH)]
    ra = dict(zip(a.tickets.caller.tolist(), a.tickets.resolved.tolist()))
    rb = dict(zip(b.tickets.caller.tolist(), b.tickets.resolved.tolist()))
    pairs = np.array([(ra[c], rb[c]) for c in fresh.tolist() if ra[c] >= 0 and rb[c] >= 0])
    assert len(pairs) > 1000
    assert not np.any((pairs[:, 0] == 1) & (pairs[:, 1] == 0)), "a solved problem became unsolved"
    assert np.any((pairs[:, 0] == 0) & (pairs[:, 1] == 1))
    diff = paired(("dispatch=direct", "horizon_days=10"), ("dispatch=whistle", "horizon_days=10"),
                  "resolution_rate", REPS)
    assert t_interval(diff, 0.95)[0] > 0, diff


# ====================================================================== the worked example

EXAMPLES = REPO / "docs" / "examples"


@pytest.fixture
def category_routing(tmp_path, monkeypatch):
    """The worked example installed as docs/dispatch_policies.md says (its module in
    the sim.dispatch package, its YAML in conf/dispatch/), in temporary copies: the
    package's search path gains a folder with the module, the config tree is copied."""
    package = tmp_path / "plugins"
    package.mkdir()
    shutil.copy(EXAMPLES / "category_routing.py", package)
    monkeypatch.setattr(sim.dispatch, "__path__", [*sim.dispatch.__path__, str(package)])
    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    shutil.copy(EXAMPLES / "category_routing.yaml", conf / "dispatch")
    yield conf
    sys.modules.pop("sim.dispatch.category_routing", None)


def compose_in(conf: Path, *overrides: str):
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        return build_config(OmegaConf.to_container(compose("config", overrides=list(overrides)), resolve=True))


def test_the_worked_example_adds_a_sixth_policy_with_one_module_and_one_yaml(category_routing):
    assert "category_routing" in available() and len(available()) >= 6
    assert describe("category_routing")[1] == "分类派单"
    cfg = compose_in(category_routing, "dispatch=category_routing", *QUICK)
    assert cfg.tickets.dispatch.options["market_management"] == 0.20
    rec = run_replication(cfg, 0)
    t = rec.tickets
    names = cfg.arrivals.categories
    returns_by = {c: t.returns[(t.category == names.index(c)) & (t.street >= 0)].mean()
                  for c in ("market_management", "municipal")}
    assert returns_by["market_management"] > 3 * returns_by["municipal"] > 0
    # With every category at the centre's default chance it is direct dispatch.
    flat = [f"dispatch.misroute_by_category.{c}=0.08" for c in ("market_management", "traffic", "municipal")]
    same = run_replication(compose_in(category_routing, "dispatch=category_routing", *flat, *QUICK), 0)
    assert_same_records(same, run_replication(full_config("dispatch=direct", *QUICK), 0))


def test_the_worked_example_documents_what_it_runs():
    """docs/dispatch_policies.md shows the example's files as they are."""
    doc = (REPO / "docs" / "dispatch_policies.md").read_text(encoding="utf-8")
    assert "docs/examples/category_routing.py" in doc and "docs/examples/category_routing.yaml" in doc
    spec = yaml.safe_load((EXAMPLES / "category_routing.yaml").read_text(encoding="utf-8"))
    assert spec["policy"] == "category_routing"


def test_the_report_reads_a_policy_yaml_with_the_file_it_extends():
    """The report's assumptions table takes a policy's inherited keys from the file
    they are in (pooled.yaml extends direct.yaml: direct first, then pooled)."""
    from analysis.report import _group_files
    files = _group_files(CONF / "dispatch" / "pooled.yaml", "dispatch")
    assert [p.name for p, _ in files] == ["direct.yaml", "pooled.yaml"]
    assert [p.name for p, _ in _group_files(CONF / "dispatch" / "two_level.yaml", "dispatch")] == ["two_level.yaml"]


# ====================================================================== from the command line

@pytest.mark.slow
def test_every_policy_runs_from_the_cli_in_the_policy_compare_experiment(tmp_path):
    """``python run.py -m experiment=policy_compare`` runs all five policies (tiny
    runs): each job names its policy in summary.json, and the sweep's table and
    report have them all; analysis.compare pairs any two."""
    import json
    import subprocess

    from analysis.compare import load_summary, paired_differences
    from analysis.sweep import SWEEP_FILE
    from analysis.rundir import read_csv

    sweep = tmp_path / "policies"
    proc = subprocess.run([sys.executable, "run.py", "-m", "experiment=policy_compare", "replications=2",
                           "horizon_days=2", "warmup_days=0.5", "executor=serial", f"hydra.sweep.dir={sweep}"],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    job_of = {name: sweep / f"dispatch={name},horizon_days=2,replications=2,warmup_days=0.5" for name in BUILT_IN}
    for name, job in job_of.items():
        assert json.loads((job / "summary.json").read_text(encoding="utf-8"))["dispatch"] == name
    assert {r["dispatch"] for r in read_csv(sweep / SWEEP_FILE)} == set(BUILT_IN)
    report = (sweep / "report.html").read_text(encoding="utf-8")
    assert all(describe(name)[1] in report or name in report for name in BUILT_IN)
    diffs = paired_differences(load_summary(job_of["direct"]), load_summary(job_of["whistle"]))
    assert diffs["returned_share"]["per_replication"] and "resolution_rate" in diffs
