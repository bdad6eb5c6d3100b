"""Briefing charts: a small real run gives every chart its data allows (PNG + SVG, with
finding titles); Chinese renders from Noto Sans SC (a dependency, OFL); the charts of the files
other steps write (robustness.csv, funnel.csv, comparison.csv, sweeps) work from
small synthetic tables; charts whose data is missing are skipped with a reason.
"""
from __future__ import annotations

import csv
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib import font_manager, ft2font
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from analysis import chart_style as cs
from analysis import charts, fonts

REPO = Path(__file__).resolve().parent.parent
RUN_ARGS = ["replications=2", "horizon_days=78", "warmup_days=7", "ranking.robustness.enabled=false"]
RUN_CHARTS = ("calls_by_hour", "lead_time_distribution", "deadline_compliance_by_district", "league_bump")
MIN_BYTES = 15_000


def write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def assert_chart_files(out_dir: Path, name: str) -> None:
    png, svg = out_dir / f"{name}.png", out_dir / f"{name}.svg"
    assert png.is_file() and svg.is_file(), name
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > MIN_BYTES and svg.stat().st_size > MIN_BYTES, name
    text = svg.read_text(encoding="utf-8")
    assert "<svg" in text and "<text" not in text, f"{name}.svg must draw text as paths (needs no font)"


# ---------------------------------------------------------------- a real run
@pytest.fixture(scope="module", autouse=True)
def _background_run(request, tmp_path_factory):
    """The small real run starts with the module and simulates while the synthetic
    tests (first in the file) draw; :func:`run_dir` waits for it. Not started when no
    selected test reads it (the default selection leaves those to ``-m slow``)."""
    module = request.module.__name__
    if not any(item.module.__name__ == module and "run_dir" in item.fixturenames for item in request.session.items):
        yield None, None
        return
    out = tmp_path_factory.mktemp("charts") / "run"
    proc = subprocess.Popen([sys.executable, "run.py", *RUN_ARGS, f"hydra.run.dir={out}"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    yield out, proc
    if proc.poll() is None:  # not waited for (e.g. -k chose no test that reads it): stop it and its workers,
        os.killpg(proc.pid, signal.SIGKILL)  # which hold its output pipes open
        proc.communicate()


@pytest.fixture(scope="module")
def run_dir(_background_run) -> Path:
    out, proc = _background_run
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    return out


# ---------------------------------------------------------------- Chinese font
def _ink(text: str) -> np.ndarray:
    with cs.style():
        fig = Figure(figsize=(2.0, 0.6), dpi=100)
        fig.text(0.05, 0.3, text, fontsize=20)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba())[..., 0] < 128


def test_cjk_font_is_installed_registered_and_covers_the_labels():
    path = cs.cjk_font_path()
    assert path is not None, f"install {fonts.FONT_DIST}: Chinese labels would show as boxes"
    family = cs.ensure_fonts()
    # Issue 13: the Simplified Chinese edition (mainland forms: 道 通 房 延 differ from TC)
    assert path.name == "NotoSansSC-Regular.otf" and family == "Noto Sans SC"
    assert any(Path(f.fname) == path for f in font_manager.fontManager.ttflist)
    assert cs.rc_params()["font.family"] == [cs.LATIN_FAMILY, family]
    font = ft2font.FT2Font(str(path))
    used = "".join([*(v[1] for v in charts.KPI.values()), *(v[1] for v in charts.URGENCY.values()),
                    *(v[1] for v in charts.POLICY.values()), *(v[1] for v in charts.SOURCES.values()),
                    *(v[2] for v in charts.FLAG_STYLE.values()), "先进整改排名全市街乡朝阳区"])
    # every CJK character the charts can draw from the project's files: the city tables
    # (real street names, 街道 ... 漷县镇, 大栅栏街道), the KPI catalogue, the chart modules
    sources = [*sorted((REPO / "scenarios" / "city").glob("*.csv")), REPO / "analysis" / "catalogue.py",
               *sorted((REPO / "analysis" / "charts").glob("*.py"))]
    used += "".join(p.read_text(encoding="utf-8-sig") for p in sources)
    assert len(fonts.cjk_chars(used)) > 400
    missing = [ch for ch in fonts.cjk_chars(used) if font.get_char_index(ord(ch)) == 0]
    assert not missing, f"glyphs missing from {path.name}: {missing}"


def test_cjk_font_is_the_published_noto_sans_sc_under_the_ofl():
    """Issue 13: the chart font has a clear licence and source (it was a one-release
    wheel with licence "UNKNOWN" holding the Traditional Chinese edition)."""
    import hashlib
    from importlib import metadata
    path = cs.cjk_font_path()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == fonts.FONT_SHA256  # notofonts/noto-cjk's file
    names = ft2font.FT2Font(str(path)).get_sfnt()
    assert names[(3, 1, 0x409, 1)].decode("utf-16-be") == "Noto Sans SC"
    assert "Open Font License" in names[(3, 1, 0x409, 13)].decode("utf-16-be")
    dist = metadata.distribution(fonts.FONT_DIST)
    assert "SIL Open Font License 1.1 (OFL-1.1)" in " ".join(dist.metadata.get_all("Classifier"))
    licence = [f for f in dist.files if f.name == "LICENSE"]
    assert licence and "SIL OPEN FONT LICENSE Version 1.1" in licence[0].read_text(encoding="utf-8")
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    requires = " ".join(tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
                        ["dependencies"])
    assert fonts.FONT_DIST in requires and "cvttf" not in requires  # installed by the project's own install


def test_chinese_renders_from_noto_not_as_boxes():
    cs.ensure_fonts()
    chinese, boxes = _ink("朝阳区"), _ink("\u25a1\u25a1\u25a1")
    assert chinese.sum() > 50
    assert np.count_nonzero(chinese != boxes) > 0.3 * max(chinese.sum(), boxes.sum())
    # and the glyph of 朝 comes from the Noto file through matplotlib's per-glyph fallback
    with cs.style():
        prop = font_manager.FontProperties()
        paths = font_manager.fontManager._find_fonts_by_props(prop)
        font = font_manager.get_font(paths)
    assert Path(paths[0]).name.startswith("DejaVuSans"), "Latin text stays DejaVu Sans"
    if hasattr(font, "_get_fontmap"):
        fontmap = font._get_fontmap("朝a")
        assert Path(fontmap["朝"].fname) == cs.cjk_font_path()
        assert Path(fontmap["a"].fname).name.startswith("DejaVuSans")


def test_missing_font_warns_once_and_still_draws(monkeypatch, caplog, tmp_path):
    saved = dict(cs._font_state)
    monkeypatch.setattr(cs, "cjk_font_path", lambda: None)
    cs._font_state.clear()
    try:
        with caplog.at_level(logging.WARNING, logger="analysis.chart_style"):
            assert cs.ensure_fonts() is None
            assert cs.ensure_fonts() is None
        assert caplog.text.count("Chinese font missing") == 1
        assert cs.rc_params()["font.family"] == [cs.LATIN_FAMILY]
        rows = [{"hour": h, "metric": m, "mean": v, "ci_low": v * 0.95, "ci_high": v * 1.05}
                for h in range(24) for m, v in (("calls_offered_per_day", 500.0), ("calls_answered_per_day", 450.0),
                                                 ("service_level", 0.8))]
        png = charts.calls_by_hour(rows).save(tmp_path)
        assert png.is_file()
    finally:
        cs._font_state.clear()
        cs._font_state.update(saved)


# ---------------------------------------------------------------- synthetic tables
N_STREETS = 40


def _streets():
    """The first streets of the 2019 table: real names (Chinese, pinyin) and codes."""
    rows = charts.read_rows(REPO / "scenarios" / "city" / "beijing_2019_streets.csv")[:N_STREETS]
    return [{"unit": i, "district": r["district"], "street": r["street"], "street_zh": r["street_zh"],
             "code": r["code"]} for i, r in enumerate(rows)]


@pytest.fixture
def robustness_csv(tmp_path) -> Path:
    rows = []
    for src, spread in (("weights_dirichlet", 3), ("weights_simplex", 8), ("sampling", 12), ("replications", 6)):
        for s in _streets():
            nominal = s["unit"] + 1
            # streets ranked 9-12 are uncertain about the top 10 under both weight sources,
            # 29-32 about the bottom 10; 1-5 are sure top 10, 36-40 sure bottom 10
            p_top = 1.0 if nominal <= 5 else (0.5 if 9 <= nominal <= 12 else (0.95 if nominal <= 8 else 0.0))
            p_bottom = 1.0 if nominal >= 36 else (0.4 if 29 <= nominal <= 32 else (0.95 if nominal >= 33 else 0.0))
            rows.append({"month": "2019-07", "source": src, **s, "nominal_rank": nominal,
                         "median_rank": nominal, "rank_p05": max(1, nominal - spread),
                         "rank_p95": min(N_STREETS, nominal + spread), "p_top_n": p_top, "p_bottom_n": p_bottom})
    # an older month that must be ignored by default, and an unranked street
    rows.append({**rows[0], "month": "2019-06", "rank_p95": 40})
    rows.append({**rows[1], "nominal_rank": "", "median_rank": "", "rank_p05": "", "rank_p95": "",
                 "p_top_n": "", "p_bottom_n": ""})
    return write_csv(tmp_path / "robustness.csv", rows)


def test_rank_caterpillar_from_csv(robustness_csv, tmp_path):
    rows = charts.read_rows(robustness_csv)
    chart = charts.rank_caterpillar(rows)  # default source: sampling
    assert chart.facts["source"] == "sampling" and chart.facts["month"] == "2019-07"
    widths = sorted(float(r["rank_p95"]) - float(r["rank_p05"]) for r in rows
                    if r["source"] == "sampling" and r["month"] == "2019-07" and r["nominal_rank"])
    assert chart.facts["median_width"] == pytest.approx(np.median(widths))
    assert f"{np.median(widths):.0f} places" in chart.title and "Survey sampling noise" in chart.title
    top = [t.get_text() for t in chart.fig.axes[1].get_yticklabels()]
    assert top[0] == "1. 东华门街道 Donghuamen"  # the official Chinese name first, then the pinyin
    assert_chart_files(tmp_path, chart.save(tmp_path).stem)
    combined = charts.rank_caterpillar(rows, source="all")
    assert combined.name == "rank_caterpillar_all_sources"
    assert "Survey sampling noise moves street ranks most" in combined.title
    assert_chart_files(tmp_path, combined.save(tmp_path).stem)
    with pytest.raises(charts.SkipChart):
        charts.rank_caterpillar(rows, source="nonexistent")


def test_weight_sensitivity_from_csv(robustness_csv, tmp_path):
    chart = charts.weight_sensitivity(charts.read_rows(robustness_csv), top_n=10)
    f = chart.facts
    assert (f["uncertain_top"], f["uncertain_bottom"], f["sure_top"], f["sure_bottom"]) == (4, 4, 8, 8)
    assert "class of 8 streets" in chart.title and "4 could be top 10" in chart.title
    assert_chart_files(tmp_path, chart.save(tmp_path).stem)


@pytest.fixture
def funnel_csv(tmp_path) -> Path:
    flags = ["inside"] * 30 + ["below_99.8"] * 3 + ["below_95"] * 3 + ["above_95"] * 2 + ["above_99.8"] * 1 + ["no_data"]
    rows = []
    for rate, p0 in (("response_rate", 0.98), ("resolution_rate", 0.7), ("satisfaction_rate", 0.82)):
        for s, flag in zip(_streets(), flags):
            n = 20 + 10 * s["unit"]
            se = (p0 * (1 - p0) / n) ** 0.5
            shift = {"inside": 0, "below_99.8": -4, "below_95": -2.3, "above_95": 2.3, "above_99.8": 4}.get(flag, 0)
            value = "" if flag == "no_data" else min(1.0, max(0.0, p0 + shift * se))
            rows.append({"month": "2019-07", "rate": rate, **s, "value": value, "n": 0 if flag == "no_data" else n,
                         "p0": p0, "lo95": p0 - 1.96 * se, "hi95": min(1, p0 + 1.96 * se),
                         "lo998": p0 - 3.09 * se, "hi998": min(1, p0 + 3.09 * se), "flag": flag})
    return write_csv(tmp_path / "funnel.csv", rows)


def test_funnel_plot_from_csv(funnel_csv, tmp_path):
    chart = charts.funnel_plot(charts.read_rows(funnel_csv))
    assert chart.facts["below"] == 3 and chart.facts["above"] == 1
    assert chart.facts["counts"]["resolution_rate"]["below_99.8"] == 3
    assert chart.title.startswith("3 of 39 streets fall below the 99.8% limit")
    assert_chart_files(tmp_path, chart.save(tmp_path).stem)


COMPARISON = [  # metric, a, b, diff, ci_low, ci_high (comparison.csv)
    ("service_level", 0.7456, 0.7490, 0.0034, -0.0001, 0.0069),
    ("asa_s", 17.13, 16.75, -0.37, -0.58, -0.17),
    ("dispatch_delay_mean_h", 0.173, 8.617, 8.443, 8.303, 8.584),
    ("lead_time_mean_h", 68.23, 76.08, 7.855, 7.638, 8.073),
    ("deadline_compliance", 0.9011, 0.8676, -0.0335, -0.0341, -0.0329),
    ("resolution_rate", 0.7143, 0.7143, 0.00003, -0.0002, 0.0003),
    ("calls_offered", 892732, 892898, 165.7, -231.6, 563.0),
]


def test_policy_comparison_title_names_the_largest_significant_difference(tmp_path):
    path = write_csv(tmp_path / "comparison.csv", [dict(zip(("metric", "a", "b", "diff", "ci_low", "ci_high"), r))
                                                   for r in COMPARISON])
    chart = charts.policy_comparison(charts.read_rows(path), "Direct dispatch 直派街乡", "Two-level dispatch 两级派单")
    # ASA -0.37 s: its CI excludes 0, but it is below the practical threshold (5 s)
    assert chart.facts["largest"] == "dispatch_delay_mean_h" and chart.facts["significant"] == 3
    assert chart.facts["below_threshold"] == ["asa_s"]
    assert chart.title.startswith("Two-level dispatch raises mean dispatch delay by 8.4 h [8.3, 8.6]")
    assert "vs direct dispatch" in chart.title and "3 of 6 KPIs differ in practice" in chart.title
    assert "两级派单使平均派单时长增加8.4小时" in chart.subtitle
    assert_chart_files(tmp_path, chart.save(tmp_path).stem)
    # nothing significant
    flat = [dict(zip(("metric", "a", "b", "diff", "ci_low", "ci_high"), (m, a, a, 0.0, -1.0, 1.0)))
            for m, a, *_ in COMPARISON]
    assert "do not differ clearly" in charts.policy_comparison(flat, "A", "B").title



def test_policy_comparison_a_tiny_clear_change_is_no_practical_difference(tmp_path):
    from analysis.charts.compare import PRACTICAL_THRESHOLD
    # +0.01 percentage points with a CI that excludes 0: not "better"
    tiny = [{"metric": "service_level", "a": 0.80, "b": 0.8001, "diff": 0.0001, "ci_low": 0.00005,
             "ci_high": 0.00015},
            {"metric": "resolution_rate", "a": 0.70, "b": 0.7001, "diff": 0.0001, "ci_low": -0.001, "ci_high": 0.001}]
    chart = charts.policy_comparison(tiny, "A", "B")
    assert chart.facts["significant"] == 0 and chart.facts["below_threshold"] == ["service_level"]
    assert "differ in no practical way" in chart.title
    assert f"Practical threshold: {PRACTICAL_THRESHOLD['pp']:g} pp (shares)" in chart.describe()
    point = chart.fig.axes[0].lines[0]
    assert point.get_markerfacecolor() == "white"  # hollow grey, not the "better" colour
    # at the threshold it is "better"
    big = [{**tiny[0], "b": 0.806, "diff": 0.006, "ci_low": 0.005, "ci_high": 0.007}]
    assert charts.policy_comparison(big, "A", "B").facts["significant"] == 1
    chart.save(tmp_path)


# ---------------------------------------------------------------- staffing and sweeps
def _sweep_rows(seats=(44, 47, 50, 53, 56), dispatch=None) -> list[dict]:
    from analysis.erlang import erlang_a
    rows = []
    for policy in dispatch or [None]:
        for c in seats:
            res = erlang_a(c, 9.5, 1 / 5.0, 1 / 3.0)
            job = f"call_center.seats={c}" + (f",dispatch={policy}" if policy else "")
            base = {"job": job, "call_center.seats": str(c), **({"dispatch": policy} if policy else {}),
                    "n_replications": 3}
            for metric, v in (("service_level", res.service_level(0.5)), ("abandonment_rate", res.p_abandon),
                              ("calls_offered_per_day", 9.5 * 1440), ("asa_s", 60 * res.asa)):
                extra = 0.02 if policy == "two_level" and metric == "service_level" else 0.0
                rows.append({**base, "metric": metric, "mean": v - extra, "ci_low": 0.97 * (v - extra),
                             "ci_high": 1.03 * (v - extra)})
    return rows


ERLANG_CFG = {"call_center": {"roster": "full", "sl_threshold_s": 30,
                              "handle_time": {"dist": "exponential", "mean_min": 5.0},
                              "patience": {"dist": "exponential", "mean_min": 3.0}}}


def test_erlang_curve_and_staffing_chart(tmp_path):
    grid = np.arange(40, 61)
    curve = charts.erlang_a_curve(grid, 9.5, 5.0, 3.0, 30)
    assert np.all(np.diff(curve["service_level"]) > 0) and np.all(np.diff(curve["abandonment_rate"]) < 0)
    need = int(grid[np.argmax(curve["service_level"] >= 0.8)])
    points = [{"agents": r["call_center.seats"], "metric": r["metric"], "mean": r["mean"], "ci_low": r["ci_low"],
               "ci_high": r["ci_high"]} for r in _sweep_rows() if r["metric"] in ("service_level", "abandonment_rate")]
    chart = charts.staffing_curve(points, grid, curve)
    assert chart.facts["agents_needed"] == need and f"needs {need} agents" in chart.title
    assert "within 0.0 pp of theory" in chart.title
    assert_chart_files(tmp_path, chart.save(tmp_path).stem)


def test_sweep_charts_with_and_without_job_configs(tmp_path):
    rows = _sweep_rows()
    jobs = {r["job"] for r in rows}
    out = tmp_path / "with"
    paths = charts.make_sweep_charts(rows, out, metrics=("service_level", "asa_s"),
                                     job_configs={j: ERLANG_CFG for j in jobs})
    assert {p.stem for p in paths} == {"sweep_service_level", "sweep_asa_s", "staffing_curve"}
    captions = json.loads((out / "captions.json").read_text(encoding="utf-8"))
    assert "as seats go from 44 to 56" in captions["sweep_service_level"]["title"]
    assert "Erlang A" in captions["staffing_curve"]["title"]
    # no configs: the points alone, and the note says why
    out2 = tmp_path / "without"
    charts.make_sweep_charts(rows, out2, metrics=())
    cap = json.loads((out2 / "captions.json").read_text(encoding="utf-8"))["staffing_curve"]
    assert "Erlang A" not in cap["title"] and "first reached at" in cap["title"]
    # two swept parameters: one line per dispatch policy
    chart = charts.sweep_kpi_chart(_sweep_rows(dispatch=["direct", "two_level"]), "service_level")
    assert chart.facts["x"] == "call_center.seats"
    assert len(chart.fig.axes[0].get_legend().get_texts()) == 2


def test_a_sweep_over_many_policies_names_the_lowest_and_highest(tmp_path):
    """Five dispatch policies on the x axis: the title names the lowest and the highest
    (not the first and last), and the tick labels put English over Chinese."""
    means = {"direct": 0.80, "first_responsibility": 0.82, "pooled": 0.90, "two_level": 0.70, "whistle": 0.85}
    rows = [{"job": f"dispatch={p}", "dispatch": p, "metric": "service_level", "mean": v, "ci_low": v - 0.01,
             "ci_high": v + 0.01, "n_replications": 3} for p, v in means.items()]
    chart = charts.sweep_kpi_chart(rows, "service_level")
    assert chart.title.startswith("Service level ranges from 70.0% with two-level dispatch to 90.0% with pooled")
    ticks = [t.get_text() for t in chart.fig.axes[0].get_xticklabels()]
    assert ticks[2] == "Pooled caseworkers\n区级统筹" and len(ticks) == 5
    assert_chart_files(tmp_path, chart.save(tmp_path).stem)


# ---------------------------------------------------------------- charts of the real run
@pytest.fixture(scope="module")
def run_charts(run_dir) -> list[Path]:
    return charts.make_run_charts(run_dir)


def test_run_charts_written(run_dir, run_charts):
    out = run_dir / "charts"
    assert {p.stem for p in run_charts} >= set(RUN_CHARTS)
    for name in RUN_CHARTS:
        assert_chart_files(out, name)
    captions = json.loads((out / "captions.json").read_text(encoding="utf-8"))
    for name in RUN_CHARTS:
        assert captions[name]["title"] and captions[name]["caption"]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in captions[name]["title_zh"])
    # no robustness / funnel / comparison in this run: skipped, with the reason
    skipped = captions["_skipped"]
    assert "robustness.csv is absent" in skipped["rank_caterpillar"]
    assert "funnel.csv is absent" in skipped["funnel_plot"]
    assert "comparison.csv" in skipped["policy_comparison"]


def test_run_chart_titles_state_the_numbers(run_dir, run_charts):
    captions = json.loads((run_dir / "charts" / "captions.json").read_text(encoding="utf-8"))
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    sl = summary["metrics"]["service_level"]["mean"]
    assert f"{100 * sl:.1f}%" in captions["calls_by_hour"]["title"]
    rows = charts.read_rows(run_dir / "districts_monthly.csv")
    per_rep = []
    for rep in sorted({r["replication"] for r in rows}):
        met = sum(float(r["deadline_met"]) for r in rows if r["replication"] == rep)
        due = sum(float(r["deadline_due"]) for r in rows if r["replication"] == rep)
        per_rep.append(met / due)
    city = 100 * sum(per_rep) / len(per_rep)
    assert f"all streets {city:.1f}%" in captions["deadline_compliance_by_district"]["title"]
    assert "limit" in captions["lead_time_distribution"]["title"]
    assert "best streets" in captions["league_bump"]["title"]


def test_lead_time_shares_match_the_histogram(run_dir):
    rows = charts.read_rows(run_dir / "lead_times.csv")
    chart = charts.lead_time_distribution(rows, {"emergency": 2, "utilities": 24, "general": 168, "complex": 360})
    within = chart.facts["within_deadline"]
    for cls, limit in (("general", 168), ("utilities", 24)):
        sel = [r for r in rows if r["urgency"] == cls]
        total = sum(float(r["tickets"]) for r in sel)
        ok = sum(float(r["tickets"]) for r in sel if r["bin_hi_h"] and float(r["bin_hi_h"]) <= limit)
        assert within[cls] == pytest.approx(ok / total)
    assert f"{100 * min(within.values()):.1f}%" in chart.title


def test_call_centre_only_run_skips_ticket_charts(tmp_path, run_dir, caplog):
    """A run with no tickets (dispatch=none) has only summary.json and hourly.csv."""
    d = tmp_path / "cc_only"
    d.mkdir()
    for name in ("summary.json", "hourly.csv"):
        (d / name).write_bytes((run_dir / name).read_bytes())
    with caplog.at_level(logging.DEBUG, logger="analysis.charts"):
        paths = charts.make_run_charts(d)
    assert [p.stem for p in paths] == ["calls_by_hour"]
    assert "lead_times.csv is absent" in caplog.text and "rankings.csv is absent" in caplog.text


def test_comparison_in_a_run_dir_is_drawn(run_dir, tmp_path):
    d = tmp_path / "run_b"
    d.mkdir()
    for name in ("summary.json", "hourly.csv"):
        (d / name).write_bytes((run_dir / name).read_bytes())
    write_csv(d / "comparison.csv", [dict(zip(("metric", "a", "b", "diff", "ci_low", "ci_high"), r))
                                     for r in COMPARISON])
    paths = charts.make_run_charts(d)
    assert "policy_comparison" in {p.stem for p in paths}


def test_lead_time_by_policy(run_dir, tmp_path):
    rows = charts.read_rows(run_dir / "lead_times.csv")
    slower = [{**r, "bin_lo_h": r["bin_lo_h"], "tickets": r["tickets"]} for r in rows]
    # shift every emergency ticket one bin later: fewer within 2 h
    by_bin = {}
    for r in slower:
        if r["urgency"] == "emergency":
            by_bin.setdefault(r["replication"], []).append(r)
    for reps in by_bin.values():
        counts = [r["tickets"] for r in reps]
        for r, c in zip(reps, ["0"] + counts[:-1]):
            r["tickets"] = c
    chart = charts.lead_time_by_policy({"Direct dispatch 直派街乡": rows, "Two-level dispatch 两级派单": slower})
    lab, cls, delta, a, b = chart.facts["largest"]
    assert lab.startswith("Two-level") and cls == "emergency" and delta < 0
    assert f"from {100 * a:.1f}% to {100 * b:.1f}%" in chart.title
    assert_chart_files(tmp_path, chart.save(tmp_path).stem)


def _fig_texts(fig) -> list:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig).draw()
    return [t for t in fig.findobj(match=lambda a: hasattr(a, "get_text")) if t.get_text()]


def test_staffing_curve_of_a_merged_sweep_says_seats_and_names_the_other_values(tmp_path):
    # jobs that set the seats, and one that set only the dispatch policy (seats as configured)
    rows = _sweep_rows() + [dict(r, job="dispatch=two_level", dispatch="two_level")
                            for r in _sweep_rows(seats=(50,))]
    for r in rows:
        r.setdefault("dispatch", "")
    charts.make_sweep_charts(rows, tmp_path, metrics=(), job_configs={r["job"]: ERLANG_CFG for r in rows})
    cap = json.loads((tmp_path / "captions.json").read_text(encoding="utf-8"))["staffing_curve"]
    assert "seats by Erlang A" in cap["title"] and "agents" not in cap["title"]
    assert "against the seats" in cap["caption"]
    from analysis.charts.sweep import _sweep_staffing, _sweep_table
    table, params = _sweep_table(rows)
    chart = _sweep_staffing(table, params, tmp_path, {r["job"]: ERLANG_CFG for r in rows}, "Note.")
    texts = " ".join(t.get_text() for t in _fig_texts(chart.fig))
    assert "dispatch=." not in texts and "dispatch policy: as configured" in texts
    assert "Seats 坐席数" in texts



def test_stable_svg_ids_rename_hashed_ids_in_order_of_first_appearance():
    """matplotlib hashes a clip path's unrounded coordinates into its SVG id; constrained
    layout can give them differently in the last bit after other charts were drawn in
    the same process (a chart helper draws several; seen on the default run's
    weight_sensitivity.svg), the coordinates written the same. Renamed in order, the
    bytes depend on the drawing only."""
    def svg(a: str, b: str) -> bytes:
        return (f'<defs><clipPath id="p{a}"><rect/></clipPath><path id="m{b}" d="M 0 0"/></defs>'
                f'<g clip-path="url(#p{a})"><use xlink:href="#m{b}" x="1"/></g>'
                f'<g clip-path="url(#p{a})"/><text>p0123456789 #pabcdef0123x</text>').encode()
    one, two = svg("0a1b2c3d4e", "ffffffffff"), svg("9999999999", "0000000000")
    assert one != two and cs.stable_svg_ids(one) == cs.stable_svg_ids(two)
    renamed = cs.stable_svg_ids(one).decode()
    assert 'id="p_1"' in renamed and renamed.count("url(#p_1)") == 2 and 'href="#m_2"' in renamed
    assert "<text>p0123456789 #pabcdef0123x</text>" in renamed  # not an id: left alone


def test_saved_svg_has_no_hashed_ids_and_every_reference_resolves(robustness_csv, tmp_path):
    import re
    svg = charts.weight_sensitivity(charts.read_rows(robustness_csv), top_n=10).save(tmp_path).with_suffix(".svg")
    text = svg.read_text(encoding="utf-8")
    assert not re.search(r'(?<=["#])[phm][0-9a-f]{10}(?=[")])', text), "a layout-hashed id is left"
    ids = set(re.findall(r'id="([^"]+)"', text))
    used = set(re.findall(r'url\(#([^)]+)\)', text)) | set(re.findall(r'href="#([^"]+)"', text))
    assert used and used <= ids, sorted(used - ids)[:5]
    assert not list(tmp_path.glob(".*.tmp")), "written atomically: no temp file left"
