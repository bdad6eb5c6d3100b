"""Issue 13: the CLI's league table shows the scenario's focal month (never a partial
month by default), says why when there is none or when no street of it is ranked; a
missed precision target is recorded and warned about."""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from analysis.io import write_csv_atomic, write_json_atomic
from analysis.rankings.league import RANKING_COLUMNS, focal_month
from analysis.kpis.stats import PrecisionConfig, record_precision
from analysis.summary import format_league, warn_unranked_months

FULL = {"window_share": 1.0, "survey_pending_share": 0.0, "ranked_replications": 2}
PARTIAL = {"window_share": 0.2581, "survey_pending_share": 0.0, "ranked_replications": 2,
           "left_out": "the measured window covers only part of it"}
PENDING = {"window_share": 1.0, "survey_pending_share": 0.09, "ranked_replications": 0,
           "left_out": "surveys incomplete"}


# ---------------------------------------------------------------- which month
def test_default_is_the_last_month_ranked_in_full():
    months = {"2019-06": PARTIAL, "2019-07": FULL, "2019-08": PARTIAL}
    assert focal_month(months, {"2019-07", "2019-08"}) == ("2019-07", None)
    assert focal_month({"2019-10": FULL, "2019-11": FULL, "2019-12": PENDING}, {"2019-10", "2019-11"}) \
        == ("2019-11", None)


def test_no_month_ranked_in_full_says_why_in_one_line():
    month, why = focal_month({"2019-07": {**PARTIAL, "window_share": 0.3226},
                              "2019-08": {**PARTIAL, "window_share": 0.6452, "survey_pending_share": 0.2}},
                             {"2019-07"})
    assert month is None and "\n" not in why
    assert "no month is ranked in full" in why and "2019-07: the measured window covers 32% of it" in why
    assert "2019-08: the measured window covers 65% of it and 20% of its callbacks were still pending" in why
    assert "focal_month" in why and "horizon_days" in why


def test_a_named_focal_month_is_shown_and_a_partial_one_says_so():
    months = {"2019-11": {**PARTIAL, "window_share": 0.7667}, "2019-12": PARTIAL}
    month, note = focal_month(months, {"2019-11", "2019-12"}, "2019-11")
    assert month == "2019-11" and "focal_month" in note and "covers only 77% of it" in note
    assert focal_month({"2019-07": FULL}, {"2019-07"}, "2019-07") == ("2019-07", "the scenario's focal_month")
    month, why = focal_month({"2019-07": FULL, "2019-08": PENDING}, {"2019-07"}, "2019-08")
    assert month is None and "focal_month 2019-08 has no league table" in why and "9% of its callbacks" in why


# ---------------------------------------------------------------- the CLI's table
def _rows(month: str, n: int = 12, ranked: bool = True, answered: int = 40) -> list[list]:
    rows = []
    for u in range(n):
        r = dict.fromkeys(RANKING_COLUMNS, "")
        r.update(replication=0, month=month, level="street", unit=u, district="Dongcheng", district_zh="东城区",
                 street=f"S{u}", street_zh=f"街{u}", score=90 - u if ranked else "", rank=u + 1 if ranked else "",
                 satisfaction_n=answered if ranked else u % 3, **{"class": ""})
        rows.append([r[c] for c in RANKING_COLUMNS])
    return rows


def _run_dir(tmp_path, months: dict, rows: list[list], focal: str | None = None, streets_monthly=None):
    write_csv_atomic(tmp_path / "rankings.csv", list(RANKING_COLUMNS), rows)
    write_json_atomic(tmp_path / "summary.json", {"league_months": months, "ranking": {"min_surveys": 30}})
    (tmp_path / ".hydra").mkdir(exist_ok=True)
    (tmp_path / ".hydra" / "config.yaml").write_text(f"focal_month: {json.dumps(focal)}\n", encoding="utf-8")
    if streets_monthly:
        write_csv_atomic(tmp_path / "streets_monthly.csv", ["replication", "month", "survey_made", "survey_missed"],
                         streets_monthly)
    return tmp_path


def test_cli_table_is_the_full_month_not_the_partial_last_one(tmp_path):
    run = _run_dir(tmp_path, {"2019-07": FULL, "2019-08": PARTIAL}, _rows("2019-07") + _rows("2019-08"))
    text = format_league(run, None)
    assert text.splitlines()[0] == "street league table 2019-07 (replication 0): top and bottom 5 of 12 ranked"


def test_cli_table_of_a_named_partial_focal_month_says_partial(tmp_path):
    months = {"2019-11": {**PARTIAL, "window_share": 0.7667}, "2019-12": {**PARTIAL, "window_share": 0.2581}}
    run = _run_dir(tmp_path, months, _rows("2019-11") + _rows("2019-12"), focal="2019-11")
    head = format_league(run, None).splitlines()[0]
    assert head.startswith("street league table 2019-11 (replication 0; the scenario's focal_month, partial: "
                           "the measured window covers only 77% of it)")


def test_cli_without_a_full_month_prints_one_line_why(tmp_path):
    run = _run_dir(tmp_path, {"2019-07": PARTIAL, "2019-08": PARTIAL}, _rows("2019-07") + _rows("2019-08"))
    text = format_league(run, None)
    assert len(text.splitlines()) == 1 and "no month is ranked in full" in text


def test_a_month_without_a_ranked_street_says_why(tmp_path):
    made = [[0, "2019-07", 1, 99]] * 3 + [[1, "2019-07", 50, 50]]
    run = _run_dir(tmp_path, {"2019-07": FULL}, _rows("2019-07", ranked=False), streets_monthly=made)
    text = format_league(run, None)
    assert "of 0 ranked" not in text and len(text.splitlines()) == 1
    assert text.startswith("street league table 2019-07 (replication 0): no street ranked")
    assert "fewer answered callbacks than ranking.min_surveys (30)" in text and "the most any street had: 2" in text
    assert "survey coverage 1.0%" in text


def test_a_month_without_a_ranked_street_logs_a_warning(caplog):
    tables = [{"replication": rep, "month": m, "level": "streets", "rank": np.zeros(3) if m == "2019-07" else
               np.arange(1, 4), "ns": np.array([[5, 2, 2], [5, 7, 7], [5, 0, 0]])}
              for rep in (0, 1) for m in ("2019-06", "2019-07")]
    with caplog.at_level(logging.WARNING, logger="analysis.summary"):
        warn_unranked_months(tables, 30)
    [rec] = caplog.records
    assert rec.levelno == logging.WARNING
    assert "no street is ranked in 2019-07 (2 of 2 replication(s))" in rec.getMessage()
    assert "ranking.min_surveys = 30" in rec.getMessage() and "most any street had: 7" in rec.getMessage()


# ---------------------------------------------------------------- precision
def _reps(values):
    return [{"overall": {"service_level": v}} for v in values]


def test_a_missed_precision_target_is_recorded_and_warned(caplog):
    summary = {}
    with caplog.at_level(logging.WARNING, logger="analysis.kpis.stats"):
        record_precision(summary, _reps([0.80, 0.90, 0.85]), PrecisionConfig("service_level", 0.001, 3))
    p = summary["precision"]
    assert p["met"] is False and p["replications"] == 3 and p["target_half_width"] == 0.001
    assert p["metric"] == "service_level" and p["achieved_half_width"] == pytest.approx(0.1242, abs=1e-3)
    assert "precision target missed" in caplog.text and "service_level" in caplog.text
    json.dumps(summary, allow_nan=False)


def test_a_met_precision_target_is_recorded_quietly(caplog):
    summary = {}
    with caplog.at_level(logging.WARNING):
        record_precision(summary, _reps([0.80, 0.81, 0.805]), PrecisionConfig("service_level", 0.05, 10))
        record_precision(other := {}, _reps([0.8]), None)
    assert summary["precision"]["met"] is True and not caplog.records and other == {}
    one = {}
    record_precision(one, _reps([0.8]), PrecisionConfig("service_level", 0.05, 1))
    assert one["precision"]["achieved_half_width"] is None and one["precision"]["met"] is False
