"""Drawing the charts of a run or a sweep: which charts a run's files allow and with
what settings (:func:`_run_builders`), drawing them -- one after another or in helper
processes -- into ``charts/`` with ``captions.json`` (:func:`make_run_charts`), a
sweep's charts (:func:`make_sweep_charts`), and the command line
(``python -m analysis.charts RUN_DIR [--baseline RUN_A]``).

A chart that cannot be drawn is skipped with its reason in ``captions.json``; one that
fails is logged and does not cost the others.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from analysis.charts import style as cs
from analysis.charts.calls import calls_by_hour
from analysis.charts.chart import Chart, SkipChart
from analysis.charts.compare import policy_comparison
from analysis.charts.formatting import _num
from analysis.charts.league import (funnel_plot, league_bump, rank_caterpillar, rank_caterpillar_all_sources,
                                    weight_sensitivity)
from analysis.charts.rundata import COMPARISON_FILE, FUNNEL_FILE, ROBUSTNESS_FILE, RunData
from analysis.charts.sweep_labels import param_label
from analysis.charts.sweep import _sweep_staffing, _sweep_table, sweep_kpi_chart
from analysis.charts.tickets import deadline_compliance_by_district, lead_time_by_policy, lead_time_distribution
from analysis.charts.vocabulary import SWEEP_KPIS
from analysis.charts.weights import weight_class_changes
from analysis.charts.year import (CITY_FILE, STREET_STATE_FILE, city_trajectory, measured_vs_true, require_year_run,
                                  street_spread)
from analysis.rankings.league import focal_month
from analysis.kpis.practical import threshold_of_config
from analysis.chart_helpers import CHART_MP_CONTEXT, ChartHelpers, chart_helpers  # noqa: F401 (re-exported)
from analysis.run_outputs import RUN_CHARTS, draw_order
from analysis.rundir import CAPTIONS_FILE, CHARTS_DIR

log = logging.getLogger(__name__)



def _run_builders(run: RunData, baseline: RunData | None):
    s = run.summary
    metrics = s.get("metrics") or {}
    cfg = run.config
    cc = cfg.get("call_center") or {}
    rk = run.ranking()
    top_n = int(rk.get("advanced_n", 10) or 10)
    bottom_n = int(rk.get("rectification_n", top_n) or top_n)

    def hourly():
        return calls_by_hour(run.rows("hourly.csv"), sl_threshold_s=float(cc.get("sl_threshold_s", 30)),
                             overall=metrics, note=run.note())

    def lead():
        return lead_time_distribution(run.rows("lead_times.csv"), run.deadlines(), note=run.note(ci=False))

    def lead_policy():
        if baseline is None:
            raise SkipChart("no baseline run given (--baseline RUN_A)")
        hist = {baseline.label(): baseline.rows("lead_times.csv"), run.label(): run.rows("lead_times.csv")}
        if len(hist) < 2:
            hist = {f"A: {baseline.label()}": baseline.rows("lead_times.csv"),
                    f"B: {run.label()}": run.rows("lead_times.csv")}
        return lead_time_by_policy(hist, run.deadlines(), note=run.note(ci=False))

    def compliance():
        return deadline_compliance_by_district(run.rows("districts_monthly.csv"), note=run.note())

    def bump():
        return league_bump(run.rows("rankings.csv"), n=top_n, note=run.note(ci=False))

    def caterpillar():
        return rank_caterpillar(run.rows(ROBUSTNESS_FILE), "sampling", highlight=top_n, note=run.note(ci=False))

    def caterpillar_all():
        return rank_caterpillar_all_sources(run.rows(ROBUSTNESS_FILE), highlight=top_n, note=run.note(ci=False))

    def weights():
        return weight_sensitivity(run.rows(ROBUSTNESS_FILE), top_n=top_n, bottom_n=bottom_n, note=run.note(ci=False))

    def funnel():
        return funnel_plot(run.rows(FUNNEL_FILE), note=run.note(ci=False))

    def comparison():
        rows = run.rows(COMPARISON_FILE)
        # the practical threshold of run B's config (comparison.practical_threshold; defaults if it has none)
        return policy_comparison(rows, baseline.label() if baseline else "run A", run.label(), note=run.note(),
                                 threshold=threshold_of_config(cfg))

    def year_data() -> tuple[list[dict], list[dict]]:
        """city_monthly.csv and street_state_monthly.csv of a year run with the loop."""
        state = run.rows(STREET_STATE_FILE) if run.path(STREET_STATE_FILE).is_file() else None
        city = run.rows(CITY_FILE) if state else []
        require_year_run(city, state)
        return city, state

    def trajectory():
        return city_trajectory(year_data()[0], note=run.note())

    def measured_true():
        return measured_vs_true(year_data()[0], note=run.note())

    def spread():
        return street_spread(year_data()[1], note=run.note(ci=False))

    def weight_sets():
        """experiment=weight_robustness: the focal month's class changes under each weight set."""
        block = s.get("weight_robustness")
        if not block:
            raise SkipChart("not a weight_robustness run (no weight_robustness block in summary.json; "
                            "python run.py experiment=weight_robustness)")
        month, _ = focal_month(s.get("league_months") or {}, (block.get("months") or {}), cfg.get("focal_month"))
        return weight_class_changes(block, month, note=run.note(ci=False))

    return [("calls_by_hour", hourly), ("lead_time_distribution", lead), ("lead_time_by_policy", lead_policy),
            ("deadline_compliance_by_district", compliance), ("league_bump", bump),
            ("rank_caterpillar", caterpillar), ("rank_caterpillar_all_sources", caterpillar_all),
            ("weight_sensitivity", weights), ("funnel_plot", funnel), ("policy_comparison", comparison),
            ("city_trajectory", trajectory), ("measured_vs_true", measured_true), ("street_spread", spread),
            ("weight_class_changes", weight_sets)]


def make_run_charts(run_dir: Path, *, baseline_dir: Path | None = None, out_dir: Path | None = None,
                    names: Iterable[str] | None = None, workers: int = 1,
                    helpers: ChartHelpers | None = None) -> list[Path]:
    """Draw every chart the run's data allows into ``run_dir/charts`` (PNG + SVG) and
    ``captions.json`` (titles, captions; skipped charts with the reason); return the
    PNG paths.

    ``baseline_dir``: run A of a comparison (labels the comparison, and adds the
    lead-time overlay of the two runs). ``names``: only these charts (names of
    :data:`analysis.run_outputs.RUN_CHARTS`; default all). ``workers`` > 1: this
    process and ``workers - 1`` helper processes draw them side by side, each chart in
    one of them, the longest first (:mod:`analysis.chart_helpers`); ``helpers``: those
    processes, started already (by ``run.py``, before its tables; they may have begun
    this very job). The files are the same as drawn one after another here."""
    run = RunData(Path(run_dir))
    if not run.path("summary.json").is_file():
        raise FileNotFoundError(f"no summary.json in {run_dir}: not a run directory")
    wanted = RUN_CHARTS if names is None else tuple(names)
    unknown = sorted(set(wanted) - set(RUN_CHARTS))
    if unknown:
        raise ValueError(f"unknown chart name(s) {', '.join(unknown)}; known: {', '.join(RUN_CHARTS)}")
    selected = [name for name in RUN_CHARTS if name in wanted]
    out = Path(out_dir) if out_dir else run.dir / CHARTS_DIR
    baseline = Path(baseline_dir) if baseline_dir else None
    order = draw_order(selected)
    if helpers is not None:
        helpers.begin(run.dir, baseline, out, order)
        results = helpers.finish(_draw)
    elif min(workers, len(selected)) > 1:
        with chart_helpers(selected, workers) as started:
            started.begin(run.dir, baseline, out, order)
            results = started.finish(_draw)
    else:
        results = {name: _draw(run.dir, baseline, out, name) for name in selected}
    drawn = [results[name] for name in selected]
    for name, _, reason, detail in drawn:
        if detail:  # one broken chart must not cost the others: logged here, kept in captions.json
            log.error("chart %s failed\n%s", name, detail)
    _write_index(out, [(name, caption, reason) for name, caption, reason, _ in drawn])
    return [out / f"{name}.png" for name, caption, _, _ in drawn if caption is not None]


def _draw(run_dir: Path, baseline_dir: Path | None, out: Path, name: str) -> tuple:
    """Build and save one chart: ``(name, caption entry or None, reason skipped or
    None, traceback text if it failed)``. Top-level and fed with paths only, so a
    worker process can run it."""
    run = RunData(Path(run_dir))
    baseline = RunData(Path(baseline_dir)) if baseline_dir else None
    build = dict(_run_builders(run, baseline))[name]
    try:
        chart = build()
    except SkipChart as err:
        # Expected for a single run (no comparison, no baseline): the reason is kept
        # in captions.json and the report; the console stays quiet.
        log.debug("chart %s skipped: %s", name, err)
        return name, None, str(err), None
    except Exception as err:  # noqa: BLE001 - one broken chart must not cost the others
        import traceback
        return name, None, f"failed: {err!r}", traceback.format_exc()
    chart.save(out)
    return name, _caption_entry(chart), None, None


def _caption_entry(chart: Chart) -> dict:
    return {"title": chart.title, "title_zh": chart.subtitle, "caption": chart.describe()}


def _write_index(out_dir: Path, index: list[tuple[str, Chart | dict | None, str | None]]) -> None:
    """``captions.json``: ``{name: {"title", "caption", "title_zh"}}`` for the charts
    drawn (a :class:`Chart` or its entry; read by :mod:`analysis.report`), and
    ``"_skipped": {name: reason}``."""
    from analysis.io import write_json_atomic
    out = {name: _caption_entry(c) if isinstance(c, Chart) else c for name, c, _ in index if c is not None}
    skipped = {name: reason for name, caption, reason in index if caption is None}
    if skipped:
        out["_skipped"] = skipped
    write_json_atomic(Path(out_dir) / CAPTIONS_FILE, out)


def make_sweep_charts(sweep_table_rows: Iterable[Mapping], out_dir: Path, *, metrics: Sequence[str] | None = None,
                      x: str | None = None, job_configs: Mapping | None = None) -> list[Path]:
    """Charts of a sweep's tidy table (rows: job, swept parameters, metric, mean,
    ci_low, ci_high): one per KPI against the numeric swept parameter, and the
    staffing curve when ``call_center.seats`` is swept. Job configs (for the Erlang-A
    curve) come from ``job_configs`` (job -> config dict or run directory) or from
    ``<out_dir>/../<job>/.hydra/config.yaml``. Returns the PNG paths."""
    out_dir = Path(out_dir)
    rows, params = _sweep_table(sweep_table_rows)
    if not rows:
        log.info("sweep charts skipped: empty sweep table")
        return []
    n_reps = {str(r.get("n_replications")) for r in rows if r.get("n_replications") not in (None, "")}
    note = cs.source_note(int(_num(next(iter(n_reps)))) if len(n_reps) == 1 else None,
                          f"Sweep of {len({r['job'] for r in rows})} runs over "
                          f"{', '.join(param_label(p)[0].lower() for p in params) or 'nothing'}.")
    present = {str(r["metric"]) for r in rows}
    written, index = [], []
    for metric in [m for m in (SWEEP_KPIS if metrics is None else metrics) if m in present]:
        try:
            chart = sweep_kpi_chart(rows, metric, x, note=note)
        except SkipChart as err:
            log.info("sweep chart %s skipped: %s", metric, err)
            index.append((f"sweep_{metric}", None, str(err)))
            continue
        written.append(chart.save(out_dir))
        index.append((chart.name, chart, None))
    if "call_center.seats" in params:
        try:
            chart = _sweep_staffing(rows, params, out_dir, job_configs, note)
            written.append(chart.save(out_dir))
            index.append((chart.name, chart, None))
        except SkipChart as err:
            log.info("staffing curve skipped: %s", err)
            index.append(("staffing_curve", None, str(err)))
    _write_index(out_dir, index)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Briefing charts of a run directory (PNG + SVG).")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--baseline", type=Path, help="run A of a comparison (the run given first to analysis.compare)")
    parser.add_argument("--out", type=Path, help="output folder (default RUN_DIR/charts)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        paths = make_run_charts(args.run_dir, baseline_dir=args.baseline, out_dir=args.out)
    except FileNotFoundError as err:
        print(f"charts: {err}", file=sys.stderr)
        return 2
    for p in paths:
        print(p)
    return 0

