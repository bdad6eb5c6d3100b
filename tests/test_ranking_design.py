"""Ranking-design experiments (issue 10): the funnel rectification rule, the experiment's
jobs compose, and the design table from a small synthetic sweep."""
from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from analysis.rankings import funnel as analysis_funnel
from analysis.ranking_design import DESIGN_FILE, design_table, replication_measures, write_design_table
from sim.config import build_config
from sim.errors import ConfigError
from sim.ranking import (FUNNEL_LEVEL, binomial_limit, build_ranking_config, classes, funnel_lower_limit,
                         rank_units, rates_from_counts)

ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = ROOT / "conf"


def config(**over):
    raw = yaml.safe_load((CONF_DIR / "ranking" / "w10_45_45.yaml").read_text(encoding="utf-8"))
    raw.update(over)
    return build_ranking_config(raw)


def month(n=300, seed=0, surveyed_range=(10, 80)):
    """A month of units with survey counts drawn around a common truth (mostly noise)."""
    rng = np.random.default_rng(seed)
    surveyed = rng.integers(*surveyed_range, n)
    known = surveyed + rng.integers(0, 10, n)
    c = {"signed_on_time": rng.binomial(known, 0.97), "responded_known": known, "surveyed": surveyed,
         "resolved": rng.binomial(surveyed, rng.uniform(0.5, 0.8, n)), "satisfied": rng.binomial(surveyed, 0.6),
         "basically_satisfied": np.zeros(n, int)}
    rates = rates_from_counts(c, 0.5)
    scores, ranks = rank_units(rates, config().weights, surveyed, 10, np.arange(n))
    return scores, ranks, surveyed


def member(scores, ranks, surveyed, **over):
    return classes(ranks, scores, None, None, np.zeros(len(ranks)), config(**over), surveyed)


@pytest.mark.parametrize("seed", range(5))
def test_funnel_never_puts_a_street_within_the_limits_into_rectification(seed):
    scores, ranks, surveyed = month(seed=seed)
    lo = funnel_lower_limit(scores, surveyed, ranks > 0)
    funnel = member(scores, ranks, surveyed, rectification_rule="funnel")["rectification"]
    rank = member(scores, ranks, surveyed)["rectification"]
    assert rank.sum() == 10
    assert np.all(scores[funnel] < lo[funnel]), "every funnel rectification is below its limit"
    assert not np.any(funnel & ~rank), "only among the rectification_n worst"
    assert np.array_equal(funnel, rank & (scores < lo)), "and every one of those below it"


def test_funnel_equals_rank_when_every_bottom_street_is_below_the_limit():
    scores, ranks, surveyed = month(seed=1, surveyed_range=(200, 400))
    bottom = ranks > (ranks > 0).sum() - 10
    scores = np.where(bottom, scores - 40.0, scores)  # far below any limit at these counts
    _, ranks = rank_units(np.column_stack([scores / 100] * 3), (0, 0, 1), surveyed, 10, np.arange(len(scores)))
    assert np.all(scores[bottom] < funnel_lower_limit(scores, surveyed, ranks > 0)[bottom])
    funnel = member(scores, ranks, surveyed, rectification_rule="funnel")
    rank = member(scores, ranks, surveyed)
    for c in rank:
        assert np.array_equal(funnel[c], rank[c]), c


def test_rank_rule_is_the_default_and_needs_no_counts():
    scores, ranks, surveyed = month(seed=2)
    default = classes(ranks, scores, None, None, np.zeros(len(ranks)), config())
    explicit = member(scores, ranks, surveyed, rectification_rule="rank")
    assert config().rectification_rule == "rank"
    for c in default:
        assert np.array_equal(default[c], explicit[c])
    with pytest.raises(ValueError, match="surveyed"):
        classes(ranks, scores, None, None, np.zeros(len(ranks)), config(rectification_rule="funnel"))


def test_the_limit_is_the_binomial_one_around_the_callback_weighted_mean():
    scores = np.array([80.0, 60.0, 40.0, np.nan])
    surveyed = np.array([100, 100, 200, 5])
    ranked = np.array([True, True, True, False])
    lo = funnel_lower_limit(scores, surveyed, ranked)
    p0 = (80 * 100 + 60 * 100 + 40 * 200) / 400 / 100
    tail = (1 - FUNNEL_LEVEL) / 2
    assert np.allclose(lo[:3], 100 * binomial_limit(tail, surveyed[:3], p0))
    assert math.isnan(lo[3])
    assert analysis_funnel.binomial_limit is binomial_limit, "the reported funnel plots use the same limits"


@pytest.mark.parametrize("value", ["bottom", 1, None])
def test_a_bad_rectification_rule_is_one_clear_line(value):
    with pytest.raises(ConfigError) as err:
        config(rectification_rule=value)
    text = str(err.value)
    assert "ranking.rectification_rule" in text and "\n" not in text


# ------------------------------------------------------------------ the experiment composes
def experiment_jobs() -> list[str]:
    raw = yaml.safe_load((CONF_DIR / "experiment" / "ranking_design.yaml").read_text(encoding="utf-8"))
    return str(raw["hydra"]["sweeper"]["params"]["ranking_design"]).split(",")


def test_every_job_of_the_experiment_composes_and_changes_one_factor():
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    jobs = experiment_jobs()
    assert {p.stem for p in (CONF_DIR / "ranking_design").glob("*.yaml")} == set(jobs)
    built = {}
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        for job in jobs:
            cfg = compose(config_name="config", overrides=["experiment=ranking_design", f"ranking_design={job}"])
            built[job] = build_config(OmegaConf.to_container(cfg, resolve=True))

    def factors(c):
        return (c.ranking.weights, c.ranking.rectification_rule, c.ranking.rectification_n,
                c.accountability.detect_prob)

    base = factors(built["default"])
    assert base == ((0.10, 0.45, 0.45), "rank", 10, 0.1)
    for job, c in built.items():
        assert c.accountability.feedback and c.arrivals.daily_calls == 1380 and c.call_center.seats == 60
        assert c.replications == 2 and c.seed == built["default"].seed, "common random numbers"
        changed = sum(a != b for a, b in zip(factors(c), base))
        assert changed == (0 if job == "default" else 1), job
    assert built["funnel"].ranking.rectification_rule == "funnel"
    assert {built[j].ranking.rectification_n for j in ("rect5", "rect20")} == {5, 20}
    assert {built[j].accountability.detect_prob for j in ("detect005", "detect03")} == {0.05, 0.3}


# ------------------------------------------------------------------ the design table
def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


STATE = ["replication", "month", "street", "code", "street_zh", "district", "capacity", "quality", "gaming",
         "pressure", "class", "rank", "score", "effort", "consequence", "duty_24h", "caught"]
STREETS = ["replication", "month", "district", "street_zh", "solved", "closed", "resolved", "surveyed", "caseworkers"]


def fake_job(sweep: Path, design: str, solved: list[int], extra: int) -> Path:
    """Two replications, four streets, months 01-03 reported (02-03 acted on), tables 01-02."""
    job = sweep / f"ranking_design={design}"
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(f"- ranking_design={design}\n", encoding="utf-8")
    (job / "summary.json").write_text("{}", encoding="utf-8")
    (job / "run_complete.json").write_text("{}", encoding="utf-8")  # a finished job (sweep tables take only those)
    write_csv(job / "city_monthly.csv", ["month", "metric", "mean", "ci_low", "ci_high"],
              [[m, "tickets", 1, 1, 1] for m in ("2019-01", "2019-02", "2019-03")])
    streets, state = [], []
    for rep in (0, 1):
        for m in ("2019-01", "2019-02", "2019-03", "2019-04"):  # 04 not reported: left out
            for s in range(4):
                # 10 closed per street-month; solved[rep] of them in street 0, 5 elsewhere;
                # 80 callbacks answered, 60 said solved
                streets.append([rep, m, "D", f"s{s}", solved[rep] if s == 0 else 5, 10, 60, 80, 2])
        for m, effort in (("2019-01", [0.0, 0.0, 0.0, 0.0]), ("2019-02", [1.0, 0.0, 0.0, 0.0])):
            latent = [-1.0, 0.0, 1.0, 2.0]
            for s in range(4):
                # street 0 (worst latent) in rectification both months; street 3 (best) named in 02
                cls = "rectification" if s == 0 or (m == "2019-02" and s == 3) else ""
                state.append([rep, m, s, s, f"s{s}", "D", 2 + (extra if s == 0 else 0), latent[s] + effort[s], 0,
                              0, cls, s + 1, 5 if s == 0 else 50, effort[s], "none", 0, 0])
    write_csv(job / "streets_monthly.csv", STREETS, streets)
    write_csv(job / "street_state_monthly.csv", STATE, state)
    return job


def test_the_design_table_is_computed_from_the_run_directories(tmp_path):
    sweep = tmp_path / "ranking_design"
    default = fake_job(sweep, "default", solved=[5, 7], extra=0)
    fake_job(sweep, "rect20", solved=[9, 9], extra=1)
    reps = replication_measures(default)
    # acted-on months 02, 03: replication 0 solves 5 of 10 everywhere, replication 1 street 0 7 of 10
    assert reps[0]["true_resolution"] == pytest.approx(0.5)
    assert reps[1]["true_resolution"] == pytest.approx((7 + 15) / 40)
    assert reps[0]["gap"] == pytest.approx(60 / 80 - 0.5)
    assert reps[0]["extra_caseworker_months"] == 0
    assert reps[0]["mean_effort_logit"] == pytest.approx(1 / 8)
    # month 01: street 0 (quality -1) below the median 0.5; month 02: street 0 worked at -1 + 0
    # (the effort in force was table 01's, 0) below, street 3 (2) above: 1 of 3 by noise
    assert reps[0]["noise_share"] == pytest.approx(1 / 3)
    assert reps[0]["rectification_per_month"] == pytest.approx(1.5)
    # street 0 scores 5 on 80 callbacks, far below its limit; street 3 scores 50: within
    assert funnel_lower_limit(np.array([5.0, 50, 50, 50]), np.full(4, 80), np.ones(4, bool))[0] > 5
    assert reps[0]["within_limits_share"] == pytest.approx(1 / 3)

    header, rows = design_table(sweep)
    table = {(r[0], r[2]): dict(zip(header, r)) for r in rows}
    d = table[("rect20", "true_resolution")]
    # paired differences: replication 0: (9+15)/40 - 0.5 = 0.1; replication 1: 0.6 - 0.55 = 0.05
    assert d["diff_vs_default"] == pytest.approx(0.075)
    t = 12.706204736174705  # Student t, 1 df, 97.5%
    assert d["diff_ci_high"] - d["diff_vs_default"] == pytest.approx(t * 0.025, rel=1e-6)
    assert table[("rect20", "extra_caseworker_months")]["mean"] == pytest.approx(2)
    assert table[("default", "gap")]["diff_vs_default"] == pytest.approx(0)
    assert table[("default", "true_resolution")]["n_replications"] == 2

    path = write_design_table(sweep)
    assert path == sweep / DESIGN_FILE and path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert (sweep / "charts" / "ranking_design.png").is_file()
