"""experiment=weight_robustness is one simulation whose league tables are ranked under
every candidate weight set (issue 13): the same tables as simulating each weight set
(without the accountability loop), class changes counted right, a warning with the loop,
and a clear message for the old sweep command."""
from __future__ import annotations

import csv
import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

import analysis.rankings.weight_robustness as wr
from sim.city import load_city
from sim.errors import ConfigError
from sim.ranking import CLASSES, build_ranking_config

REPO = Path(__file__).resolve().parent.parent
#: a small city day (fewer calls and seats) so that two runs stay short; two months ranked
SMALL = ["replications=2", "arrivals.daily_calls=5000", "call_center.seats=200", "ranking.robustness.enabled=false",
         "executor=serial"]


def _read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


# ---------------------------------------------------------------- config
def test_the_experiment_composes_every_candidate_weight_set():
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = OmegaConf.to_container(compose("config", overrides=["experiment=weight_robustness"]), resolve=True)
    parsed = wr.build_weight_robustness_config(cfg["weight_robustness"])
    files = sorted(p.stem for p in (REPO / "conf" / "ranking").glob("*.yaml"))
    assert sorted(parsed.weight_sets) == files
    for name in files:
        raw = yaml.safe_load((REPO / "conf" / "ranking" / f"{name}.yaml").read_text(encoding="utf-8"))
        assert parsed.weight_sets[name] == build_ranking_config(raw).weights
    assert "sweeper" not in json.dumps(cfg.get("hydra", {}))  # not a sweep any more


@pytest.mark.parametrize("raw, key", [
    ("all", "weight_robustness"), ({"sets": {}}, "weight_robustness.sets"),
    ({"weight_sets": {"a": {"weights": {"response": 1, "resolution": 0, "satisfaction": 0}}}},
     "weight_robustness.weight_sets"),
    ({"weight_sets": {"a": {"weights": {"response": 0.5, "resolution": 0.6, "satisfaction": 0}},
                      "b": {"weights": {"response": 1, "resolution": 0, "satisfaction": 0}}}},
     "weight_robustness.weight_sets.a.weights"),
])
def test_bad_weight_sets_are_refused_naming_the_key(raw, key):
    with pytest.raises(ConfigError) as err:
        wr.build_weight_robustness_config(raw)
    assert err.value.key == key


# ---------------------------------------------------------------- counting, on crafted tables
def _fake_tables(n: int, swap: bool):
    """One month, one replication: streets 0-9 advanced, n-10..n-1 in rectification;
    ``swap``: streets n-10 and n-11 trade places (one leaves rectification, one enters)."""
    rank = np.arange(1, n + 1)
    if swap:
        rank[[n - 11, n - 10]] = rank[[n - 10, n - 11]]
    member = {c: np.zeros(n, bool) for c in CLASSES}
    member["advanced"] = rank <= 10
    member["rectification"] = rank > n - 10
    return [{"replication": 0, "month": "2019-07", "level": "streets", "unit": np.arange(n), "rank": rank,
             "classes": member}]


def test_class_changes_are_counted_and_named(monkeypatch):
    city = load_city("beijing_2019")
    n = city.n_streets
    rank_cfg = build_ranking_config(yaml.safe_load((REPO / "conf/ranking/w10_45_45.yaml").read_text()))
    cfg = wr.WeightRobustnessConfig({"w10_45_45": (0.1, 0.45, 0.45), "w30_35_35": (0.3, 0.35, 0.35)})
    monkeypatch.setattr(wr, "league_tables", lambda per_rep, city, c: _fake_tables(n, c.weights[0] == 0.3))
    rows, block = wr.compare_weight_sets([{}], city, rank_cfg, cfg, "w10_45_45", "none")
    entry = block["months"]["2019-07"]["w30_35_35"]
    rect = entry["classes"]["rectification"]
    assert (rect["left"], rect["entered"], rect["reference_n"]) == (1, 1, 10)
    assert rect["streets_left"] == [city.street_zh[n - 10]] and rect["streets_entered"] == [city.street_zh[n - 11]]
    assert entry["classes"]["advanced"]["left"] == 0 and entry["streets_changing_class"] == 2
    assert block["note"] is None and block["months"]["2019-07"]["w10_45_45"]["same_ranks"]
    changed = [r for r in rows if r[1] == "w30_35_35" and r[wr.COLUMNS.index("class_changed")] == 1]
    assert sorted(r[wr.COLUMNS.index("unit")] for r in changed) == [n - 11, n - 10]
    assert len(rows) == 2 * n
    # with the accountability loop the outputs say that re-ranking is not simulating
    _, block = wr.compare_weight_sets([{}], city, rank_cfg, cfg, "w10_45_45", "pressure")
    assert "not what simulating each weight set would give" in block["note"]


def test_a_warning_with_the_accountability_loop(caplog):
    with caplog.at_level(logging.WARNING, logger="analysis.rankings.weight_robustness"):
        wr.warn_if_feedback("none")
        assert not caplog.records
        wr.warn_if_feedback("pressure")
    assert "re-rank one simulated history" in caplog.text


# ---------------------------------------------------------------- the command line
def test_the_old_sweep_command_gets_a_clear_message(tmp_path):
    proc = subprocess.run([sys.executable, "run.py", "-m", "experiment=weight_robustness",
                           f"hydra.sweep.dir={tmp_path}"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "experiment=weight_robustness is one run, not a sweep: it simulates once and ranks the league tables under "
        "every weight set; run it without -m: python run.py experiment=weight_robustness"]
    assert not any(tmp_path.iterdir())


def test_a_sweep_of_other_keys_with_the_experiment_is_allowed():
    """-m with something else to sweep (seats) runs the experiment once per job."""
    sys.path.insert(0, str(REPO))
    from run import refuse_weight_robustness_sweep
    assert refuse_weight_robustness_sweep(["-m", "experiment=weight_robustness", "call_center.seats=400,500"]) is None
    assert refuse_weight_robustness_sweep(["experiment=weight_robustness"]) is None
    assert refuse_weight_robustness_sweep(["-m", "call_center.seats=400,500"]) is None
    assert refuse_weight_robustness_sweep(["--multirun", "experiment=weight_robustness", "seed=1",
                                           "arrivals.shocks=[{start: x, days: 1}]"]) is not None


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The experiment (one simulation), and the same seed simulated with ranking=w10_50_40."""
    base = tmp_path_factory.mktemp("wr")
    one, other = base / "experiment", base / "w10_50_40"
    printed = []
    for out, args in ((one, ["experiment=weight_robustness", "charts=[weight_class_changes]", "report=true"]),
                      (other, ["ranking=w10_50_40", "charts=none", "report=false"])):
        proc = subprocess.run([sys.executable, "run.py", *SMALL, *args, f"hydra.run.dir={out}"], cwd=REPO,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        printed.append(proc.stdout)
    return one, other, printed[0]


def test_one_simulation_gives_the_tables_of_simulating_each_weight_set(runs):
    one, other, _ = runs
    rows = _read(one / wr.WEIGHT_ROBUSTNESS_FILE)
    assert {r["weight_set"] for r in rows} == {"w10_45_45", "w10_50_40", "w30_35_35", "equal"}
    assert all(r["class_changed"] == "0" for r in rows if r["weight_set"] == "w10_45_45")
    # the experiment's table for 10/50/40 is replication 0's table of a run simulated with those weights
    simulated = {(r["month"], r["unit"]): (r["rank"], r["class"]) for r in _read(other / "rankings.csv")
                 if r["replication"] == "0" and r["level"] == "street"}
    reranked = {(r["month"], r["unit"]): (r["rank"], r["class"]) for r in rows if r["weight_set"] == "w10_50_40"}
    assert reranked and reranked == simulated
    # and the reference rows are the experiment's own rankings.csv
    own = {(r["month"], r["unit"]): (r["rank"], r["class"]) for r in _read(one / "rankings.csv")
           if r["replication"] == "0" and r["level"] == "street"}
    assert own == {(r["month"], r["unit"]): (r["reference_rank"], r["reference_class"]) for r in rows
                   if r["weight_set"] == "w10_50_40"}


def test_the_run_records_prints_draws_and_reports_the_comparison(runs):
    one, _, stdout = runs
    assert "weight robustness 2019-07 (replication 0; against w10_45_45)" in stdout
    summary = json.loads((one / "summary.json").read_text(encoding="utf-8"))
    block = summary["weight_robustness"]
    assert block["reference"] == "w10_45_45" and block["one_simulation"] and block["note"] is None
    assert summary["replications"] == 2
    captions = json.loads((one / "charts" / "captions.json").read_text(encoding="utf-8"))
    assert "weight_class_changes" in captions and (one / "charts" / "weight_class_changes.png").is_file()
    report = (one / "report.html").read_text(encoding="utf-8")
    assert "Under other weight sets" in report and "weight_robustness.csv" in report
