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


def make_charts_and_report(out_dir: Path, outputs: OutputConfig, workers: int, missing_only: bool = False) -> None:
    """Draw the charts asked for (in ``workers`` processes), then write the report (which
    embeds them); with ``missing_only``, only what a finished run directory does not
    have yet. The chart and report modules (matplotlib) are imported only here."""
    charts = bool(outputs.charts) and not (missing_only and (out_dir / CHARTS_DIR / CAPTIONS_FILE).is_file())
    report = outputs.report and not (missing_only and not charts and (out_dir / REPORT_FILE).is_file())
    if charts:
        from analysis.charts import make_run_charts
        began = time.perf_counter()
        drawn = make_run_charts(out_dir, names=outputs.charts, workers=workers)
        log.info("stage charts: %.1f s (%d chart(s), %d process(es))", time.perf_counter() - began, len(drawn), workers)
    if report:
        from analysis.report import write_report
        began = time.perf_counter()
        path = write_report(out_dir)
        log.info("stage report: %.1f s", time.perf_counter() - began)
        print(f"report: {path}")
