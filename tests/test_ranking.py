"""The league table: scores, tie rule, ranks and the four classes."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.ranking import (CLASSES, build_ranking_config, classes, composite, rank_matrix, rank_units,
                              tie_order)
from sim.errors import ConfigError


def config(**over):
    raw = {"weights": {"response": 0.10, "resolution": 0.45, "satisfaction": 0.45}, "min_surveys": 10,
           "advanced_n": 10, "rectification_n": 10, "improving_n": 10, "improving_by": "score",
           "governance_share": 0.10}
    raw.update(over)
    return build_ranking_config(raw)


def random_month(n=333, seed=0, ties=False):
    rng = np.random.default_rng(seed)
    rates = np.column_stack([rng.uniform(0.9, 1.0, n), rng.uniform(0.5, 0.9, n), rng.uniform(0.6, 0.95, n)])
    if ties:  # coarse rates (like small monthly counts) tie often
        rates = np.round(rates * 20) / 20
    surveyed = rng.integers(0, 200, n)
    return rates, surveyed


def test_weights_on_response_only_rank_by_response_rate_with_the_same_tie_rule():
    rates, surveyed = random_month(ties=True)
    _, ranks = rank_units(rates, (1, 0, 0), surveyed, 10)
    eligible = surveyed >= 10
    # Independent reference: sort by response desc, then resolution, satisfaction, response, index.
    idx = np.flatnonzero(eligible)
    ref = sorted(idx, key=lambda i: (-rates[i, 0], -rates[i, 1], -rates[i, 2], -rates[i, 0], i))
    assert [int(i) for i in ref] == [int(i) for i in idx[np.argsort(ranks[idx])]]
    assert (ranks[~eligible] == 0).all()
    assert sorted(ranks[eligible]) == list(range(1, eligible.sum() + 1))


def test_permuting_the_units_only_permutes_the_rows():
    """Ties fall to the unit id, not the row position, so order in the input is irrelevant."""
    rates, surveyed = random_month(ties=True)
    ids = np.arange(len(rates)) + 1000
    perm = np.random.default_rng(5).permutation(len(rates))
    s1, r1 = rank_units(rates, (0.1, 0.45, 0.45), surveyed, 10, ids)
    s2, r2 = rank_units(rates[perm], (0.1, 0.45, 0.45), surveyed[perm], 10, ids[perm])
    assert np.array_equal(r1[perm], r2)
    assert np.allclose(s1[perm], s2, equal_nan=True)
    assert len(np.unique(np.round(s1[r1 > 0], 9))) < (r1 > 0).sum(), "the case has ties to break"


def test_rank_matrix_is_vectorised_over_draws_and_matches_one_by_one():
    rates, surveyed = random_month()
    weights = np.random.default_rng(2).dirichlet([1, 1, 1], 50)
    eligible = surveyed >= 10
    many = rank_matrix(composite(rates, weights), tie_order(rates), eligible)
    for k in (0, 17, 49):
        _, one = rank_units(rates, weights[k], surveyed, 10)
        assert np.array_equal(many[:, k], one)


def test_class_sizes_match_their_parameters_and_exclude_each_other():
    cfg = config()
    rates, surveyed = random_month()
    prev_rates, _ = random_month(seed=9)
    demand = np.random.default_rng(4).uniform(5, 50, len(rates))
    s0, r0 = rank_units(prev_rates, cfg.weights, surveyed, 10)
    s1, r1 = rank_units(rates, cfg.weights, surveyed, 10)
    first = classes(r0, s0, None, None, demand, cfg)
    second = classes(r1, s1, r0, s0, demand, cfg)
    for member in (first, second):
        assert member["advanced"].sum() == 10 and member["rectification"].sum() == 10
        assert not (member["advanced"] & member["rectification"]).any()
        assert member["governance"].sum() == int(np.ceil(0.10 * len(rates)))
    assert first["improving"].sum() == 0, "no previous month, no improving class"
    assert second["improving"].sum() == 10
    gain = np.where((r1 > 0) & (r0 > 0), s1 - s0, -np.inf)
    assert gain[second["improving"]].min() >= np.sort(gain)[-10]
    assert (demand[second["governance"]].min() >= np.sort(demand)[-int(np.ceil(0.1 * len(rates)))])


def test_classes_shrink_when_few_units_are_ranked():
    cfg = config()
    rates, _ = random_month(n=12)
    surveyed = np.array([50] * 6 + [0] * 6)
    s, r = rank_units(rates, cfg.weights, surveyed, 10)
    member = classes(r, s, None, None, np.ones(12), cfg)
    assert member["advanced"].sum() == 3 and member["rectification"].sum() == 3
    assert not (member["advanced"] & member["rectification"]).any()


@pytest.mark.parametrize("over, key", [
    ({"weights": {"response": 0.5, "resolution": 0.5, "satisfaction": 0.5}}, "ranking.weights"),
    ({"weights": {"response": -0.1, "resolution": 0.6, "satisfaction": 0.5}}, "ranking.weights.response"),
    ({"weights": {"response": 0.1, "resolution": 0.9}}, "ranking.weights.satisfaction"),
    ({"weights": {"response": 0.1, "resolution": 0.4, "satisfaction": 0.4, "speed": 0.1}}, "ranking.weights.speed"),
    ({"improving_by": "mood"}, "ranking.improving_by"),
    ({"governance_share": 1.5}, "ranking.governance_share"),
    ({"min_surveys": 0}, "ranking.min_surveys"),
])
def test_bad_ranking_config_gives_one_clear_line(over, key):
    with pytest.raises(ConfigError) as err:
        config(**over)
    assert err.value.key == key and "\n" not in str(err.value)


def test_every_shipped_weight_set_is_valid():
    from pathlib import Path
    import yaml
    folder = Path(__file__).resolve().parent.parent / "conf" / "ranking"
    names = sorted(p.stem for p in folder.glob("*.yaml"))
    assert {"w10_45_45", "w10_50_40", "w30_35_35", "equal"} <= set(names)
    for name in names:
        cfg = build_ranking_config(yaml.safe_load((folder / f"{name}.yaml").read_text()))
        assert abs(sum(cfg.weights) - 1) < 1e-9
    assert CLASSES == ("advanced", "improving", "rectification", "governance")


@pytest.mark.slow
def test_a_run_writes_the_league_table_with_classes(tmp_path):
    """End to end: rankings.csv has every street and district each month, class sizes
    as configured, improving only from the second month."""
    import csv
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "run.py", "replications=1", "horizon_days=78", "warmup_days=7",
                           "ranking=equal", f"hydra.run.dir={out}"], cwd=root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "street league table" in proc.stdout
    rows = list(csv.DictReader((out / "rankings.csv").open(encoding="utf-8-sig")))
    months = sorted({r["month"] for r in rows})
    assert months == ["2019-06", "2019-07"]
    for month in months:
        streets = [r for r in rows if r["month"] == month and r["level"] == "street"]
        districts = [r for r in rows if r["month"] == month and r["level"] == "district"]
        assert len(streets) == 333 and len(districts) == 16
        ranked = [r for r in streets if r["rank"]]
        assert sorted(int(r["rank"]) for r in ranked) == list(range(1, len(ranked) + 1))
        count = {c: sum(r[f"is_{c}"] == "1" for r in streets) for c in CLASSES}
        expect = min(10, len(ranked) // 2)  # a class never takes more than half the ranked units
        assert count["advanced"] == expect and count["rectification"] == expect
        assert not any(r["is_advanced"] == r["is_rectification"] == "1" for r in streets)
        assert count["governance"] == 34
        assert count["improving"] == (0 if month == "2019-06" else min(10, len(ranked)))
    rob = list(csv.DictReader((out / "robustness.csv").open(encoding="utf-8-sig")))
    assert {r["source"] for r in rob if r["unit"]} == {"weights_dirichlet", "weights_simplex", "sampling"}  # 1 rep.
    signal = {(r["month"], r["statistic"]): r for r in rob if r["source"] == "street_signal"}  # street_signal.py
    ranked = sorted({r["month"] for r in rob if r["unit"]})
    icc = signal[(ranked[0], "icc_score")]
    assert not icc["value"] and "2 replications" in icc["note"]
    persistence = signal[(ranked[-1], "rank_correlation")]  # one replication: a value, no interval
    assert (0 < float(persistence["value"]) <= 1 and not persistence["ci_low"] if len(ranked) > 1
            else "only one ranked month" in persistence["note"])
    for r in rob:
        if r["nominal_rank"] and r["median_rank"]:
            assert float(r["rank_p05"]) <= float(r["median_rank"]) <= float(r["rank_p95"])
    funnel = list(csv.DictReader((out / "funnel.csv").open(encoding="utf-8-sig")))
    assert {r["rate"] for r in funnel} == {"response_rate", "resolution_rate", "satisfaction_rate"}
    import json
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    eff = summary["ranking"]["robustness"]["2019-06"]["effective_weights"]
    assert summary["ranking"]["street_signal"]["icc"] is None  # JSON null: needs 2 replications
    assert abs(sum(v["first_order_normalised"] for v in eff.values()) - 1) < 1e-9
