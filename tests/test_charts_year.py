"""The year's briefing charts (analysis.charts.year): drawn from a small synthetic run
directory (city_monthly.csv, street_state_monthly.csv), the published 2019 points on
the city trajectory, and skipped quietly when the run lacks the loop's table or months.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from analysis.charts import make_run_charts
from analysis.charts.year import (PUBLISHED_2019, PublishedPoint, city_trajectory, measured_vs_true,
                                  street_spread)
from analysis.run_outputs import RUN_CHARTS

YEAR_CHARTS = ("city_trajectory", "measured_vs_true", "street_spread")
MONTHS = [f"2019-{m:02d}" for m in range(1, 11)]


def write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def city_rows(months=MONTHS) -> list[dict]:
    rows = []
    for i, m in enumerate(months):
        vals = {"tickets": 8000 + 100 * i, "response_rate": 1.0, "resolution_rate": 0.50 + 0.025 * i,
                "satisfaction_rate": 0.64 + 0.02 * i, "true_resolution_rate": 0.50 + 0.02 * i,
                "survey_coverage": 0.9, "repeat_calls": 300, "caseworkers": 900,
                "gaming_share": 0.0 if i == 0 else 0.02}
        for metric, v in vals.items():
            half = 0.02 * v if metric.endswith(("rate", "share")) else 0.01 * v
            rows.append({"month": m, "metric": metric, "mean": v, "ci_low": v - half, "ci_high": v + half})
    return rows


def state_rows(months=MONTHS[:4], streets=20, reps=2) -> list[dict]:
    rng = np.random.default_rng(1)
    rows = []
    for rep in range(reps):
        for k, m in enumerate(months):
            for s in range(streets):
                consequence = ("named" if s == 0 else "summoned" if s == 1 and k >= 1 else
                               "inspection" if s == 2 and k >= 2 and rep == 0 else "none")
                score = "nan" if s == streets - 1 else round(60 + 2 * k + rng.normal(0, 8), 2)
                rows.append({"replication": rep, "month": m, "street": s, "code": 110101001 + s,
                             "street_zh": f"街道{s}", "district": "Dongcheng", "capacity": 4, "quality": -0.2,
                             "gaming": 0.02, "pressure": 1.0, "class": "", "rank": s + 1, "score": score,
                             "effort": -0.4, "consequence": consequence, "duty_24h": 0, "caught": 0})
    return rows


@pytest.fixture
def year_run(tmp_path) -> Path:
    d = tmp_path / "run"
    d.mkdir()
    (d / "summary.json").write_text(json.dumps({"scenario": "beijing_2019_year", "replications": 2, "metrics": {}}),
                                    encoding="utf-8")
    write_csv(d / "city_monthly.csv", city_rows())
    write_csv(d / "street_state_monthly.csv", state_rows())
    return d


def published_lines(chart) -> dict[str, tuple[list, list]]:
    return {line.get_gid(): (list(line.get_xdata()), list(line.get_ydata()))
            for ax in chart.fig.axes for line in ax.get_lines() if (line.get_gid() or "").startswith("published:")}


def test_the_published_2019_points_are_one_table():
    got = {(p.metric, p.period): (p.value, p.use) for p in PUBLISHED_2019}
    assert got == {("resolution_rate", "2019-01"): (0.5309, "fit"), ("resolution_rate", "2019-10"): (0.7436, "fit"),
                   ("resolution_rate", "2019"): (0.75, "check"),
                   ("satisfaction_rate", "2019-01"): (0.6461, "fit"),
                   ("satisfaction_rate", "2019-10"): (0.8539, "fit"), ("satisfaction_rate", "2019"): (0.87, "check")}


def test_city_trajectory_plots_the_published_points(tmp_path):
    chart = city_trajectory(city_rows())
    lines = published_lines(chart)
    jan, oct_ = 2019 * 12, 2019 * 12 + 9
    assert lines["published:resolution_rate:2019-01"] == ([jan], [pytest.approx(53.09)])
    assert lines["published:resolution_rate:2019-10"] == ([oct_], [pytest.approx(74.36)])
    assert lines["published:satisfaction_rate:2019-01"] == ([jan], [pytest.approx(64.61)])
    assert lines["published:satisfaction_rate:2019-10"] == ([oct_], [pytest.approx(85.39)])
    x, y = lines["published:resolution_rate:2019"]  # the year: a dotted line across January-December
    assert y == [pytest.approx(75.0)] * 2 and x[0] < jan and x[1] > jan + 11
    assert lines["published:satisfaction_rate:2019"][1] == [pytest.approx(87.0)] * 2
    # the fitted months the run has, with the model's value and CI beside the published one
    fits = {p[0]: p for p in chart.facts["fits"]["resolution_rate"]}
    assert set(fits) == {"2019-01", "2019-10"} and fits["2019-10"][2] == pytest.approx(0.725)
    assert "50.0% in January to 72.5% in October" in chart.title
    assert "53.1% → 74.4%" in chart.title and "公布值" in chart.subtitle
    assert chart.save(tmp_path).is_file() and (tmp_path / "city_trajectory.svg").is_file()


def test_city_trajectory_of_another_year_shows_no_2019_points():
    rows = city_rows([f"2024-{m:02d}" for m in range(1, 4)])
    chart = city_trajectory(rows)
    assert published_lines(chart) == {} and "published" not in chart.title
    own = [PublishedPoint("resolution_rate", "2024-02", 0.9, "check")]
    assert list(published_lines(city_trajectory(rows, published=own))) == ["published:resolution_rate:2024-02"]


def test_measured_vs_true_shades_the_gap_and_shows_gaming(tmp_path):
    chart = measured_vs_true(city_rows())
    assert chart.facts["gap"][0] == pytest.approx(0.0) and chart.facts["gap"][-1] == pytest.approx(4.5)
    assert chart.facts["gaming"][-1] == pytest.approx(2.0)
    assert len(chart.fig.axes) == 2  # rates, and the gaming share below
    assert "overstates resolution by 4.5 points" in chart.title and "72.5% measured, 68.0% really solved" in chart.title
    no_gaming = [r for r in city_rows() if r["metric"] != "gaming_share"]
    assert len(measured_vs_true(no_gaming).fig.axes) == 1
    assert chart.save(tmp_path).is_file()


def test_street_spread_counts_consequences_per_replication(tmp_path):
    chart = street_spread(state_rows())
    c = chart.facts["consequences"]
    assert c["named"] == [1, 1, 1, 1] and c["summoned"] == [0, 1, 1, 1] and c["inspection"] == [0, 0, 0.5, 0.5]
    assert chart.facts["months"] == MONTHS[:4]
    assert len(chart.facts["quantiles"][0]) == 5  # 10, 25, 50, 75, 90% of streets (unranked 'nan' left out)
    assert "named" in chart.title and "通报" in chart.subtitle
    assert chart.save(tmp_path).is_file()


@pytest.mark.slow
def test_make_run_charts_draws_the_year_charts(year_run):
    assert set(YEAR_CHARTS) <= set(RUN_CHARTS)
    paths = make_run_charts(year_run, names=YEAR_CHARTS)
    assert [p.stem for p in paths] == list(YEAR_CHARTS)
    captions = json.loads((year_run / "charts" / "captions.json").read_text(encoding="utf-8"))
    for name in YEAR_CHARTS:
        assert captions[name]["title"] and captions[name]["caption"]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in captions[name]["title_zh"])
        assert (year_run / "charts" / f"{name}.svg").is_file()


@pytest.mark.parametrize("case", ["no street table", "one month"])
def test_a_run_without_the_year_data_skips_them(year_run, case):
    if case == "no street table":
        (year_run / "street_state_monthly.csv").unlink()
        reason = "street_state_monthly.csv is absent"
    else:
        write_csv(year_run / "city_monthly.csv", city_rows(MONTHS[:1]))
        reason = "fewer than 2 months in city_monthly.csv"
    assert make_run_charts(year_run, names=YEAR_CHARTS) == []
    skipped = json.loads((year_run / "charts" / "captions.json").read_text(encoding="utf-8"))["_skipped"]
    assert set(skipped) == set(YEAR_CHARTS)
    assert all(reason in r for r in skipped.values()), skipped
