"""Briefing charts of a run, a policy comparison and a sweep: ready to paste.

    python -m analysis.charts RUN_DIR [--baseline RUN_A]

writes ``RUN_DIR/charts/<name>.png`` (150 dpi) and ``.svg`` for every chart whose data
the run has, and ``captions.json`` with each chart's title (the finding, in English and
Chinese) and caption (read by :mod:`analysis.report`) and the charts skipped with the
reason (key ``_skipped``). :func:`make_run_charts` does the same
from Python; :func:`make_sweep_charts` draws a sweep's tidy table
(``analysis.sweep``).

Every chart function takes plain data (lists of row dicts as read from the CSV files,
dicts, arrays) and returns a :class:`Chart` (the figure, its name and its finding
title); ``chart.save(out_dir)`` writes the PNG and SVG. Titles are computed from the
data ("Two-level dispatch raises mean dispatch delay by 8.4 h [8.3, 8.6] ..."), axes
carry bilingual labels with units, and a small note says where the numbers come from
(:mod:`analysis.charts.style` holds the look).

Charts of a run (skipped, with a logged reason, when their data is absent):

=============================== ================================================
``calls_by_hour``               calls offered and answered per hour, service level
``lead_time_distribution``      lead time to closure per urgency class, deadlines
``lead_time_by_policy``         the same for several runs (needs ``--baseline``)
``deadline_compliance_by_district`` compliance per district, 95% CI
``league_bump``                 monthly rank of the best and worst streets
``rank_caterpillar``            median rank and 90% interval (robustness.csv)
``rank_caterpillar_all_sources`` the same, one panel per source of uncertainty
``weight_sensitivity``          streets whose class depends on the weights
``funnel_plot``                 rates vs denominators with 95% / 99.8% limits
``policy_comparison``           paired differences B - A (comparison.csv)
``city_trajectory``             a year's measured rates vs the published 2019 figures
``measured_vs_true``            measured vs true resolution, the gaming share
``street_spread``               street scores' spread, streets named/summoned/inspected
``weight_class_changes``        streets leaving each class under other weight sets
                                (``experiment=weight_robustness``: one simulation re-ranked)
=============================== ================================================

The package, one module per concern (each imports only those above it, no cycles):

================ ==================================================================
``style``        one look for every chart: CJK font, palette, titles, notes, saving
``vocabulary``   names in English and Chinese, units: KPIs, urgency classes,
                 policies, rates, sources, flags
``sweep_labels`` swept config keys and values in words (``seats 400``, ``two-level
                 dispatch``), with a readable fallback for any other key
``chart``        :class:`Chart` (what a chart function returns), :class:`SkipChart`
``formatting``   numbers, CIs, hours and days, months, bilingual labels
``rundata``      :class:`RunData`: a run directory's files, config, deadlines, label
``calls``        calls by hour
``tickets``      lead times per urgency class, deadline compliance by district
``league``       league bump, rank caterpillars, weight sensitivity, funnel plot
``compare``      policy comparison (paired differences)
``sweep``        a KPI against a swept parameter, the staffing curve (Erlang A)
``weights``      class changes under other weight sets (weight_robustness)
``year``         the year month by month under the accountability loop: city
                 trajectory vs published 2019 figures, measured vs true, street spread
``make``         orchestration: :func:`make_run_charts`, :func:`make_sweep_charts`,
                 ``captions.json``, the command line
================ ==================================================================

A new chart is a function in the module of its concern (or a new module) returning a
:class:`Chart`, and a builder in :func:`analysis.charts.make._run_builders` with its
name in :data:`analysis.run_outputs.RUN_CHARTS`. The names below are the package's API,
as they were when it was one module.
"""
from __future__ import annotations

from analysis.charts import style
from analysis.charts.calls import calls_by_hour
from analysis.charts.chart import CAPTIONS, Chart, SkipChart
from analysis.charts.compare import policy_comparison
from analysis.charts.formatting import split_bilingual
from analysis.charts.league import (funnel_plot, league_bump, rank_caterpillar, rank_caterpillar_all_sources,
                                    weight_sensitivity)
from analysis.charts.make import (CAPTIONS_FILE, CHART_MP_CONTEXT, CHARTS_DIR, _run_builders, main, make_run_charts,
                                  make_sweep_charts)
from analysis.charts.rundata import COMPARISON_FILE, FUNNEL_FILE, ROBUSTNESS_FILE, RunData, read_rows
from analysis.charts.sweep import erlang_a_curve, handle_and_patience, staffing_curve, sweep_kpi_chart
from analysis.charts.tickets import (TIME_AXIS_LABEL, deadline_compliance_by_district, lead_time_by_policy,
                                     lead_time_distribution, lead_time_histogram)
from analysis.charts.sweep_labels import PARAMS
from analysis.charts.weights import weight_class_changes
from analysis.charts.vocabulary import (COMPARISON_KPIS, DEFAULT_DEADLINES_H, DIFF_AXIS, DIFF_UNIT, FLAG_STYLE, KPI,
                                        POLICY, RATE_DENOMINATOR, RATE_LABELS, RUN_CONTROL_KEYS, SOURCES,
                                        SWEEP_KPIS, SWEEP_META_KEYS, UNIT_ZH, URGENCY, urgency_names, urgency_zh)

__all__ = [
    "CAPTIONS", "CAPTIONS_FILE", "CHARTS_DIR", "CHART_MP_CONTEXT", "COMPARISON_FILE", "COMPARISON_KPIS",
    "DEFAULT_DEADLINES_H", "DIFF_AXIS", "DIFF_UNIT", "FLAG_STYLE", "FUNNEL_FILE", "KPI", "PARAMS", "POLICY",
    "RATE_DENOMINATOR", "RATE_LABELS", "ROBUSTNESS_FILE", "RUN_CONTROL_KEYS", "SOURCES", "SWEEP_KPIS",
    "SWEEP_META_KEYS", "TIME_AXIS_LABEL", "UNIT_ZH", "URGENCY", "Chart", "RunData", "SkipChart", "calls_by_hour",
    "deadline_compliance_by_district", "erlang_a_curve", "funnel_plot", "handle_and_patience", "lead_time_by_policy",
    "lead_time_distribution", "lead_time_histogram", "league_bump", "main", "make_run_charts", "make_sweep_charts",
    "policy_comparison", "rank_caterpillar", "rank_caterpillar_all_sources", "read_rows", "split_bilingual",
    "staffing_curve", "style", "sweep_kpi_chart", "urgency_names", "urgency_zh", "weight_class_changes",
    "weight_sensitivity",
    "_run_builders",  # the run's chart builders, by name (tests check them against RUN_CHARTS)
]
