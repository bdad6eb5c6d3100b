"""What a run makes after its tables: the ``charts`` and ``report`` options.

    charts: all                 # every chart the run's data allows (default)
    charts: none                # no charts/ folder
    charts: [calls_by_hour, funnel_plot]
    report: true                # report.html (false: none)

Validated before any simulation, like every other key, so this module stays light: it
names the charts without importing :mod:`analysis.charts` (and so matplotlib), which
is imported only when charts are drawn.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from analysis.chart_helpers import ChartHelpers
from analysis.rundir import CAPTIONS_FILE, CHARTS_DIR, REPORT_FILE
from sim.errors import ConfigError

#: Stage times (charts, report) for run.log; run.py keeps these INFO lines off the console.
log = logging.getLogger(__name__)

#: The charts :func:`analysis.charts.make_run_charts` can draw for a run, in its order
#: (tests check the two agree).
RUN_CHARTS = (
    "calls_by_hour", "lead_time_distribution", "lead_time_by_policy", "deadline_compliance_by_district",
    "league_bump", "rank_caterpillar", "rank_caterpillar_all_sources", "weight_sensitivity", "funnel_plot",
    "policy_comparison", "city_trajectory", "measured_vs_true", "street_spread", "weight_class_changes",
)
#: The order the charts are handed to the processes that draw them side by side: the
#: longest first, so that the last to finish is a short one (longest-processing-time
#: first). Seconds to build and save each on the default run, in a warmed-up process
#: (matplotlib, SciPy and the fonts loaded, as in run.py's processes; best of 2,
#: docs/speed.md): league_bump 1.06, rank_caterpillar_all_sources 0.86, funnel_plot 0.85,
#: rank_caterpillar 0.81, weight_sensitivity 0.62, calls_by_hour 0.61,
#: deadline_compliance_by_district 0.55, lead_time_distribution 0.43. The charts the
#: default run skips (no baseline, comparison, accountability loop or weight sets) were
#: not timed: they come last, where a skip costs nothing (tests check this is RUN_CHARTS
#: reordered).
DRAW_ORDER = (
    "league_bump", "rank_caterpillar_all_sources", "funnel_plot", "rank_caterpillar", "weight_sensitivity",
    "calls_by_hour", "deadline_compliance_by_district", "lead_time_distribution",
    "city_trajectory", "measured_vs_true", "street_spread", "policy_comparison", "lead_time_by_policy",
    "weight_class_changes",
)
ALL, NONE = "all", "none"
#: Config keys of this module. They change what is drawn, not the results: a run's
#: config fingerprint and a sweep job's folder name leave them out.
KEYS = ("charts", "report")


@dataclass(frozen=True)
class OutputConfig:
    """``charts``: the chart names to draw, in :data:`RUN_CHARTS` order (empty: none);
    ``report``: write report.html."""

    charts: tuple[str, ...] = RUN_CHARTS
    report: bool = True


def build_output_config(charts=ALL, report=True) -> OutputConfig:
    """Validate the ``charts`` and ``report`` values of the composed config."""
    allowed = f"{ALL}, {NONE}, or a list of chart names from: {', '.join(RUN_CHARTS)}"
    if charts == ALL:
        names: tuple[str, ...] = RUN_CHARTS
    elif charts == NONE:
        names = ()
    elif isinstance(charts, str) and charts in RUN_CHARTS:  # one name, without the brackets
        names = (charts,)
    elif isinstance(charts, (list, tuple)) and all(isinstance(c, str) for c in charts):
        unknown = [c for c in charts if c not in RUN_CHARTS]
        if unknown:
            raise ConfigError("charts", list(charts), f"known chart names, not {', '.join(unknown)}; "
                                                      f"known: {', '.join(RUN_CHARTS)}")
        names = tuple(c for c in RUN_CHARTS if c in charts)
    else:
        raise ConfigError("charts", charts, allowed)
    if not isinstance(report, bool):
        raise ConfigError("report", report, "true or false")
    return OutputConfig(charts=names, report=report)


def sweep_job_options(charts, report, overridden: set[str]) -> tuple:
    """``charts`` and ``report`` of one job of a sweep: off unless the command line set
    them (``overridden`` holds the keys it set). A sweep draws its own charts and
    report once, from every job's tables, at its end (:mod:`analysis.sweep`)."""
    return (charts if "charts" in overridden else NONE), (report if "report" in overridden else False)


def draw_order(names) -> list[str]:
    """``names`` in :data:`DRAW_ORDER`."""
    wanted = set(names)
    return [name for name in DRAW_ORDER if name in wanted]


def make_charts_and_report(out_dir: Path, outputs: OutputConfig, workers: int, missing_only: bool = False,
                           helpers: ChartHelpers | None = None) -> None:
    """Draw the charts asked for (in ``workers`` processes), then write the report (which
    embeds them); with ``missing_only``, only what a finished run directory does not
    have yet. The chart and report modules (matplotlib) are imported only here.
    ``helpers``: the chart helper processes, started already
    (:func:`analysis.chart_helpers.chart_helpers`, by run.py before its tables): they
    take the first charts while this process imports the chart modules."""
    charts = bool(outputs.charts) and not (missing_only and (out_dir / CHARTS_DIR / CAPTIONS_FILE).is_file())
    report = outputs.report and not (missing_only and not charts and (out_dir / REPORT_FILE).is_file())
    if charts:
        began = time.perf_counter()
        if helpers is not None:  # hand out the first charts now, before matplotlib is imported here
            helpers.begin(out_dir, None, out_dir / CHARTS_DIR, draw_order(outputs.charts))
        from analysis.charts import make_run_charts
        drawn = make_run_charts(out_dir, names=outputs.charts, workers=workers, helpers=helpers)
        log.info("stage charts: %.1f s (%d chart(s), %d process(es))", time.perf_counter() - began, len(drawn),
                 max(1, min(workers, len(outputs.charts))))
    if report:
        from analysis.report import write_report
        began = time.perf_counter()
        path = write_report(out_dir)
        log.info("stage report: %.1f s", time.perf_counter() - began)
        print(f"report: {path}")
