"""The briefing report of a run (or of a sweep): one self-contained HTML file.

    python -m analysis.report outputs/beijing_2019/<run>      # -> <run>/report.html
    python -m analysis.report multirun/<sweep_name>           # -> sweep report.html

:func:`write_report` reads what a run directory already holds (``summary.json``,
``.hydra/``, ``rankings.csv``, ``charts/*.png``) and writes ``report.html`` for a
policy-briefing reader: the scenario in plain words, the headline KPIs with 95% CIs,
the charts, the league table of the last month, the robustness of the ranking, the
assumptions behind the numbers (every ``[pub]`` / ``[assume]`` parameter of the config
files the run used, with its comment) and how to reproduce the run.
:func:`write_sweep_report` does the same for a sweep directory.

Self-contained on purpose: one file that can be mailed, archived and opened offline.
Charts are embedded as base64 PNG, the CSS is inline, there is no script and no
reference to any URL. The Chinese font travels with the page: a subset of Noto Sans SC
holding only the page's CJK characters, a base64 WOFF ``@font-face``
(:mod:`~analysis.report.webfont`; tens of KB), so Chinese renders on a machine without
a CJK font; Latin text uses the reader's system fonts. Printed, the page is A4 portrait
and its tables wrap to the page width. Every text is HTML-escaped. Files are written
atomically.

Charts: every ``charts/*.png``, in the order of ``charts/captions.json`` (written by
:mod:`analysis.charts`: ``{name: {"title", "title_zh", "caption"}, "_skipped": {name:
reason}}``), each under a short heading (known chart names, else the file name) with
its caption; the finding (``title``, already drawn in the image) goes into the alt
text. Without ``captions.json`` the PNG's ``Title`` / ``Description`` text chunks are
used, else a caption chosen by keywords of the file name. No chart: a note, not an
error.

Robustness: ``summary.json["ranking"]["robustness"]`` as written by
:func:`analysis.rankings.league.robustness_outputs` (``{month: {"sources": {source: stats},
"effective_weights": {rate: {...}}}}``); the month of the league table is shown, the
other months in brief.

Assumptions table: every ``[pub]`` / ``[assume]`` parameter of the config files the run
was composed from, in Hydra's merge order (:mod:`analysis.report.provenance` says which
comment belongs to which key).

One module per concern:

- :mod:`~analysis.report.vocabulary`: file names, KPI rows, labels, chart headings (data only);
- :mod:`~analysis.report.formatting`: numbers, dates, config values, command lines as text;
- :mod:`~analysis.report.reader`: what a run or sweep directory holds (summary, CSVs,
  ``.hydra/``, charts, the sweep table);
- :mod:`~analysis.report.provenance`: the conf/ files in merge order, their tags, the
  assumption rows;
- :mod:`~analysis.report.sections`: the data of each section, for the templates;
- :mod:`~analysis.report.webfont`: the page's own Chinese font (a subset, embedded);
- :mod:`~analysis.report.render`: the Jinja2 environment (autoescaping on), writing the files;
- ``templates/``: ``report.css``, ``base.html.j2`` (the page), ``run.html.j2`` and
  ``sweep.html.j2`` with their partials (``_scenario``, ``_kpis``, ``_charts``, ``_league``,
  ``_robustness``, ``_assumptions``, ``_footer``) and ``_macros.html.j2``.

The sweep table comes from :mod:`analysis.sweep_table` (not :mod:`analysis.sweep`, which
imports this package to write the sweep's report).
"""
from __future__ import annotations

from analysis.report.formatting import flow, fmt_kpi, fmt_value, fmt_value_lines, pct, reproduce_command, sweep_command
from analysis.report.provenance import (KEY_RE, NAMED_DATA, TAG_RE, TICKET_GROUPS, _continues, _group_files,
                                        assumption_rows, config_files, parse_commented_yaml, tags)
from analysis.report.reader import chart_entries, hydra, read_json, skipped_charts, sweep_table
from analysis.report.render import (environment, main, render_report, render_sweep_report, write_report,
                                    write_sweep_report)
from analysis.report.sections import MONTH_RE, RATE_HEADS, robustness_by_month, run_context, sweep_context
from analysis.report.vocabulary import (CALL_ROWS, CAPTIONS_FILE, CARDS, CHART_HEADINGS, CHART_KEYWORDS, CHARTS_DIR,
                                        CLASS_ZH, FILE_GROUPS, KPI_INFO, KPI_ROWS, LEAGUE_SHOW, MONTH_NAMES, PACKAGE,
                                        RANKINGS_FILE, RATE_LABELS, REPORT_FILE, ROBUSTNESS_SOURCES, SUMMARY_FILE,
                                        SWEEP_FILE, SWEEP_JOBS_PER_TABLE, SWEEP_KPIS, TICKET_ROWS)

__all__ = [
    "CALL_ROWS", "CAPTIONS_FILE", "CARDS", "CHARTS_DIR", "CHART_HEADINGS", "CHART_KEYWORDS", "CLASS_ZH",
    "FILE_GROUPS", "KEY_RE", "KPI_INFO", "KPI_ROWS", "LEAGUE_SHOW", "MONTH_NAMES", "MONTH_RE", "NAMED_DATA",
    "PACKAGE", "RANKINGS_FILE", "RATE_HEADS", "RATE_LABELS", "REPORT_FILE", "ROBUSTNESS_SOURCES", "SUMMARY_FILE",
    "SWEEP_FILE", "SWEEP_JOBS_PER_TABLE", "SWEEP_KPIS", "TAG_RE", "TICKET_GROUPS", "TICKET_ROWS", "_continues",
    "_group_files", "assumption_rows", "chart_entries", "config_files", "environment", "flow", "fmt_kpi",
    "fmt_value", "fmt_value_lines", "hydra", "main", "parse_commented_yaml", "pct", "read_json", "render_report",
    "render_sweep_report", "reproduce_command", "robustness_by_month", "run_context", "skipped_charts",
    "sweep_command", "sweep_context", "sweep_table", "tags", "write_report", "write_sweep_report",
]
