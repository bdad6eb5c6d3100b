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
Charts are embedded as base64 PNG, the CSS is inline, there is no script, no web font
and no reference to any URL (fonts are the reader's own: a system font stack with the
usual Chinese fonts). Every text is HTML-escaped. Files are written atomically.

Charts: every ``charts/*.png``, in the order of ``charts/captions.json`` (written by
:mod:`analysis.charts`: ``{name: {"title", "title_zh", "caption"}, "_skipped": {name:
reason}}``), each under a short heading (known chart names, else the file name) with
its caption; the finding (``title``, already drawn in the image) goes into the alt
text. Without ``captions.json`` the PNG's ``Title`` / ``Description`` text chunks are
used, else a caption chosen by keywords of the file name. No chart: a note, not an
error.

Robustness: ``summary.json["ranking"]["robustness"]`` as written by
:func:`analysis.league.robustness_outputs` (``{month: {"sources": {source: stats},
"effective_weights": {rate: {...}}}}``); the month of the league table is shown, the
other months in brief.

Assumptions table: the config files are found from ``.hydra/hydra.yaml`` (the group
choices and the config directory) and read in Hydra's merge order; values are the
run's (``.hydra/config.yaml``), comments are the repository's. A comment belongs to
the key on its line, together with comment-only lines that continue it (indented
deeper than the next key); a comment block right above a key belongs to that key
(unless the key has a comment of its own and the block carries no tag); an inline
comment whose sentence runs on (the one above ends in ``;`` ``:`` ``,`` or a word like
"the", or it starts with "(") joins the key above it; a file's opening comment that
explains the tags themselves belongs to no key. Only keys whose comment carries a
``[pub...]`` or ``[assume...]`` tag are listed, with a flag when the command line or a
later file set the value; the named data files (``scenarios/``) a run uses add their
``source`` line.
"""
from __future__ import annotations

import argparse
import base64
import calendar
import csv
import datetime as dt
import html
import json
import re
import shlex
import sys
from pathlib import Path
from urllib.parse import quote

import yaml

from analysis.catalogue import CALL, KPIS, TICKET
from analysis.io import write_bytes_atomic
from sim import dispatch as dispatch_policies

REPORT_FILE = "report.html"
SUMMARY_FILE = "summary.json"
RANKINGS_FILE = "rankings.csv"
SWEEP_FILE = "sweep_summary.csv"
CHARTS_DIR = "charts"
CAPTIONS_FILE = "captions.json"
PACKAGE = "hotline-sim"
LEAGUE_SHOW = 10

# ------------------------------------------------------------------ KPI display
#: (metric, label, Chinese term or "", unit, format, scale, meaning)
#: The report's KPI tables, from the KPI catalogue (analysis/catalogue.py):
#: (name, English, Chinese, unit, number format, scale, meaning).
KPI_ROWS = {group: tuple((name, k.en, k.zh, k.unit, k.fmt, k.scale, k.meaning) for name, k in KPIS.items()
                         if k.group == group and k.in_report) for group in (CALL, TICKET)}
CALL_ROWS, TICKET_ROWS = KPI_ROWS[CALL], KPI_ROWS[TICKET]
#: KPI cards at the top of a run report.
CARDS = ("calls_offered_per_day", "service_level", "abandonment_rate", "response_rate", "resolution_rate",
         "satisfaction_rate")
#: KPIs of the sweep table (those present).
SWEEP_KPIS = ("calls_offered_per_day", "service_level", "abandonment_rate", "asa_s", "agent_occupancy",
              "dispatch_delay_mean_h", "deadline_compliance", "response_rate", "resolution_rate",
              "satisfaction_rate")
#: Every catalogue KPI (a sweep chart or a comparison may show any of them).
KPI_INFO = {name: (name, k.en, k.zh, k.unit, k.fmt, k.scale, k.meaning) for name, k in KPIS.items()}

CLASS_ZH = {"advanced": "先进", "improving": "进步", "rectification": "整改", "governance": "治理"}
RATE_LABELS = {"response_rate": ("Response", "响应率"), "resolution_rate": ("Resolution", "解决率"),
               "satisfaction_rate": ("Satisfaction", "满意率"),
               "response": ("Response", "响应率"), "resolution": ("Resolution", "解决率"),
               "satisfaction": ("Satisfaction", "满意率")}
ROBUSTNESS_SOURCES = {
    "weights_dirichlet": "Weights near the nominal ones (Dirichlet draws)",
    "weights_simplex": "Any weights at all (uniform over all weight sets)",
    "sampling": "Survey sampling noise (bootstrap of the callbacks)",
    "replications": "Simulation noise (the same month in other replications)",
}
#: Chart captions by keyword in the file name (first match), when the chart does not carry its own.
CHART_KEYWORDS = (
    ("funnel", "Funnel plot: only streets outside the control limits differ from the city rate by more than "
               "chance allows."),
    ("robust", "How firm the league table is: rank intervals under other weights, survey noise and "
               "simulation noise."),
    ("effective", "Effective weights: how much each rate really moves the composite score, against its "
                  "nominal weight."),
    ("weight", "The league table under other ranking weights."),
    ("league", "The street league table of the last month: composite score and classes."),
    ("rank", "Street ranks and their uncertainty."),
    ("hour", "The day hour by hour: calls, waiting and agents on duty (bands = 95% CI)."),
    ("intraday", "The day hour by hour: calls, waiting and agents on duty (bands = 95% CI)."),
    ("lead", "How long tickets take to close, by urgency class, against their time limits."),
    ("deadline", "Deadline compliance with its 95% CI."),
    ("district", "The districts side by side."),
    ("rate", "The three rates (响应率, 解决率, 满意率) with 95% CIs."),
    ("kpi", "Headline KPIs with 95% CIs."),
    ("service", "Service level and waiting at the call centre."),
    ("seat", "The call centre's KPIs against the number of seats."),
    ("dispatch", "Dispatch policies compared."),
    ("sweep", "The KPIs across the jobs of the sweep (bars = 95% CI)."),
)
TAG_RE = re.compile(r"\[(?:pub|assume)\b[^\]]*\]")
KEY_RE = re.compile(r"^(\s*)([A-Za-z_][\w-]*)\s*:(?=\s|$)")

CSS = """
:root { --ink:#1d1d1f; --muted:#5f6368; --rule:#d9dce1; --band:#f5f6f8; --accent:#0b5394;
        --pub:#0f6e3f; --pub-bg:#e3f3ea; --assume:#8a4b00; --assume-bg:#fdf0dc; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--ink); background: #fff;
       font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
             "Noto Sans", "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Hiragino Sans GB",
             "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif; }
main { max-width: 980px; margin: 0 auto; padding: 28px 28px 40px; }
main.wide { max-width: 1220px; }
header.top { border-bottom: 3px solid var(--accent); padding-bottom: 12px; margin-bottom: 8px; }
.kicker { color: var(--accent); font-weight: 600; letter-spacing: .04em; text-transform: uppercase;
          font-size: 12px; margin: 0; }
h1 { font-size: 26px; line-height: 1.25; margin: 4px 0 6px; }
h2 { font-size: 20px; margin: 34px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--rule); }
h3 { font-size: 16px; margin: 22px 0 6px; }
p { margin: 8px 0; }
.lead { font-size: 16px; color: #333; margin: 0; }
.muted, .note { color: var(--muted); }
.note { font-size: 13.5px; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace;
       font-size: 13px; background: var(--band); padding: 1px 4px; border-radius: 3px; overflow-wrap: break-word; }
table.sweep { font-size: 14px; }
table.sweep thead th { font-size: 14px; color: var(--ink); }
table.sweep thead th[scope=row] { color: var(--muted); font-weight: 400; }
table.sweep thead tr:last-child th { border-bottom: 2px solid #9aa0a6; }
table.sweep thead tr:not(:last-child) th { border-bottom: none; }
table.sweep tr.links td { font-size: 13px; }
pre { background: var(--band); padding: 10px 12px; border-radius: 4px; overflow-x: auto; white-space: pre-wrap;
      overflow-wrap: anywhere; }
pre code { background: none; padding: 0; }
nav.toc { font-size: 13.5px; margin: 10px 0 0; }
nav.toc a { color: var(--accent); text-decoration: none; margin-right: 14px; white-space: nowrap; }
a { color: var(--accent); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 10px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap: 10px; margin: 14px 0 6px; }
.card { border: 1px solid var(--rule); border-radius: 6px; padding: 10px 12px; background: #fff; }
.card .k { font-size: 12.5px; color: var(--muted); line-height: 1.3; }
.card .v { font-size: 24px; font-weight: 650; font-variant-numeric: tabular-nums; margin-top: 2px; }
.card .k .zh { display: block; color: var(--ink); font-size: 13.5px; }
.card .ci { font-size: 12px; color: var(--muted); font-variant-numeric: tabular-nums; }
.table-wrap { overflow-x: auto; margin: 8px 0 4px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
caption { text-align: left; color: var(--muted); font-size: 13px; padding: 0 0 6px; caption-side: top; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--rule); vertical-align: top; text-align: left; }
thead th { border-bottom: 2px solid #9aa0a6; font-size: 12.5px; color: #333; font-weight: 650; }
tbody tr:nth-child(even) { background: #fafbfc; }
tr.group th { background: var(--band); font-size: 13px; color: var(--accent); border-bottom: 1px solid var(--rule); }
tr.gap td { text-align: center; color: var(--muted); background: #fff; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.ci { color: var(--muted); white-space: nowrap; font-variant-numeric: tabular-nums; }
td.meaning { color: var(--muted); font-size: 13px; }
table.fixed { table-layout: fixed; }
table.fixed td { overflow-wrap: break-word; }
table.fixed code { background: none; padding: 0; }
td.name { white-space: nowrap; }
td.val code { font-size: 12.5px; }
td.classes { min-width: 170px; }
table.league { font-size: 13.5px; }
table.league th, table.league td { padding: 5px 6px; }
table.league .cls { font-size: 11.5px; }
td.comment { font-size: 13px; }
.small { display: block; font-size: 12px; color: var(--muted); }
.tag { display: inline-block; font-size: 11.5px; line-height: 1.35; padding: 1px 6px; border-radius: 9px;
       margin: 1px 2px 1px 0; }
.tag.pub { color: var(--pub); background: var(--pub-bg); }
.tag.assume { color: var(--assume); background: var(--assume-bg); }
.cls { display: inline-block; font-size: 12px; padding: 0 6px; border-radius: 9px; margin: 1px 2px 1px 0;
       white-space: nowrap; border: 1px solid var(--rule); }
.cls.advanced { background: #e3f3ea; } .cls.improving { background: #e6f0fb; }
.cls.rectification { background: #fde7e4; } .cls.governance { background: #f1e8f6; }
.flag { display: block; font-size: 12px; color: #a33; }
figure { margin: 18px 0 26px; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--rule); }
figcaption { font-size: 13.5px; color: var(--muted); margin-top: 6px; }
.callout { border-left: 4px solid var(--accent); background: var(--band); padding: 8px 12px; margin: 12px 0; }
.two-col { display: grid; grid-template-columns: 1fr 1fr; gap: 0 24px; }
@media (max-width: 760px) { .two-col { grid-template-columns: 1fr; } main { padding: 16px; } }
footer { margin-top: 40px; padding-top: 10px; border-top: 1px solid var(--rule); font-size: 13px;
         color: var(--muted); }
@page { margin: 16mm 14mm; }
@media print {
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  nav.toc { display: none; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  figure, tr, .card, .callout { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  .table-wrap { overflow: visible; }
  a { color: inherit; text-decoration: none; }
  tbody tr:nth-child(even) { background: none; }
}
"""


# ------------------------------------------------------------------ small helpers
def esc(text) -> str:
    """HTML-escaped text (quotes too)."""
    return html.escape("" if text is None else str(text), quote=True)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _read_yaml(path: Path):
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None


def _read_csv(path: Path) -> list[dict]:
    try:
        with Path(path).open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))
    except OSError:
        return []


def _float(x):
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if v == v and abs(v) != float("inf") else None


def _version() -> str:
    try:
        from importlib.metadata import version
        return version(PACKAGE)
    except Exception:  # noqa: BLE001 - not installed: no version to show
        return ""



def _uses_district_desk(policy) -> bool:
    """Whether the dispatch policy routes tickets through the district desks."""
    try:
        return dispatch_policies.policy_class(policy).uses_district_desk
    except (KeyError, TypeError):
        return False

def _get(cfg, dotted: str, default=None):
    """``cfg["a"]["b"]`` for ``"a.b"``; ``default`` if any step is missing."""
    node = cfg
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def _fmt(value, fmt: str, scale: float) -> str:
    return "n/a" if value is None else fmt.format(value * scale)


def _fmt_kpi(name: str, m: dict | None) -> tuple[str, str]:
    """(value with unit, CI text) of a KPI entry of summary.json."""
    _, _, _, unit, fmt, scale, _ = KPI_INFO[name]
    if not m or m.get("mean") is None:
        return "n/a", ""
    sep = "" if unit == "%" else " "
    value = f"{_fmt(m['mean'], fmt, scale)}{sep}{unit}"
    if m.get("ci_low") is None or m.get("ci_high") is None:
        return value, "(one replication: no CI)"
    return value, f"{_fmt(m['ci_low'], fmt, scale)}–{_fmt(m['ci_high'], fmt, scale)}{'%' if unit == '%' else ''}"


def _fmt_value(value, limit: int = 160) -> str:
    """A config value as compact YAML flow text."""
    text = _flow(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


_DIST_UNITS = (("mean_min", "min"), ("mean_h", "h"), ("mean_s", "s"), ("mean_days", "days"))


def _flow(value) -> str:
    """Compact YAML-like flow text; a distribution ``{dist: lognormal, mean_h: 48, cv: 1.0}``
    reads ``lognormal(mean 48 h, cv 1.0)``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        if isinstance(value.get("dist"), str) and set(value) <= {"dist", "cv"} | {k for k, _ in _DIST_UNITS}:
            args = [f"mean {_flow(value[k])} {u}" for k, u in _DIST_UNITS if k in value]
            args += [f"cv {_flow(value['cv'])}"] if "cv" in value else []
            return f"{value['dist']}({', '.join(args)})" if args else str(value["dist"])
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return str(value)


def _fmt_value_lines(value, width: int = 70, max_lines: int = 14) -> str:
    """Like :func:`_fmt_value`, but a long mapping one entry per line ("\n")."""
    text = _fmt_value(value, 10 ** 6)
    if not isinstance(value, dict) or len(text) <= width:
        return _fmt_value(value)
    lines = [f"{k}: {_fmt_value(v, 110)}" for k, v in value.items()]
    return "\n".join(lines[:max_lines] + (["…"] if len(lines) > max_lines else []))


def _pct(x, digits: int = 0) -> str:
    return "n/a" if x is None else f"{x * 100:.{digits}f}%"


def _tags(comment: str) -> list[str]:
    """The [pub...] / [assume...] tags of a comment, each once, in order."""
    return list(dict.fromkeys(TAG_RE.findall(comment)))


def _tags_html(comment: str) -> str:
    out = []
    for tag in _tags(comment):
        kind = "pub" if tag[1:].startswith("pub") else "assume"
        out.append(f'<span class="tag {kind}">{esc(tag)}</span>')
    return "".join(out)


def _table(head: list[str], rows: list[str], caption: str | None = None, num_cols: set[int] = frozenset(),
           cls: str = "") -> str:
    ths = "".join(f'<th{" class=num" if i in num_cols else ""} scope="col">{h}</th>' for i, h in enumerate(head))
    cap = f"<caption>{caption}</caption>" if caption else ""
    return (f'<div class="table-wrap"><table class="{cls}">{cap}<thead><tr>{ths}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def _page(title: str, body: str, wide: bool = False) -> bytes:
    main_cls = ' class="wide"' if wide else ""
    doc = (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
           f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
           f'<meta name="generator" content="{esc(PACKAGE)} {esc(_version())}">\n'
           f'<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main{main_cls}>\n{body}\n</main>\n'
           f'</body>\n</html>\n')
    return doc.encode("utf-8")


# ------------------------------------------------------------------ run metadata
def _hydra(run_dir: Path) -> tuple[dict, dict, list[str]]:
    """(composed config, hydra.yaml's ``hydra`` section, task overrides) of a run."""
    hdir = Path(run_dir) / ".hydra"
    cfg = _read_yaml(hdir / "config.yaml") or {}
    hyd = (_read_yaml(hdir / "hydra.yaml") or {}).get("hydra", {}) or {}
    overrides = _read_yaml(hdir / "overrides.yaml")
    if overrides is None:
        overrides = _get(hyd, "overrides.task", []) or []
    return cfg, hyd, [str(o) for o in overrides]


def _conf_dir(hyd: dict) -> Path:
    """The repository's conf/ the run was composed from (fallback: this package's)."""
    for src in _get(hyd, "runtime.config_sources", []) or []:
        if isinstance(src, dict) and src.get("provider") == "main" and src.get("schema") == "file":
            path = Path(str(src.get("path", "")))
            if path.is_dir():
                return path
    return Path(__file__).resolve().parent.parent / "conf"


def reproduce_command(overrides: list[str]) -> str:
    """The command line that reproduces a run from its Hydra task overrides."""
    return " ".join(["python", "run.py", *(shlex.quote(o) for o in overrides)])


def _period(summary: dict) -> dict:
    """Dates of the simulated and measured period (end exclusive)."""
    try:
        start = dt.datetime.fromisoformat(str(summary["start"]))
        horizon = float(summary["horizon_days"])
        warmup = float(summary["warmup_days"])
    except (KeyError, TypeError, ValueError):
        return {}
    return {"start": start, "measure_start": start + dt.timedelta(days=warmup),
            "end": start + dt.timedelta(days=horizon), "horizon": horizon, "warmup": warmup}


def _date(d: dt.datetime) -> str:
    text = f"{d.day} {MONTH_NAMES[d.month - 1]} {d.year}"  # English whatever the locale
    return text + ("" if d.time() == dt.time(0) else f" {d:%H:%M}")


MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
               "November", "December")


def _last_day(end: dt.datetime) -> dt.datetime:
    """The last day touched by a period ending (exclusively) at ``end``."""
    return end - dt.timedelta(days=1) if end.time() == dt.time(0) else end


def _days(x: float) -> str:
    return f"{x:g} day" + ("" if x == 1 else "s")


# ------------------------------------------------------------------ assumptions from conf/*.yaml
def _split_comment(line: str) -> tuple[str, str | None, int]:
    """(code, comment text or None, column of '#') of a YAML line; '#' inside quotes
    or not preceded by a space is not a comment."""
    quote_ch = None
    for i, ch in enumerate(line):
        if quote_ch:
            if ch == quote_ch:
                quote_ch = None
        elif ch in "\"'":
            quote_ch = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip(), line[i + 1:].strip(), i
    return line.rstrip(), None, -1


def _is_legend(text: str) -> bool:
    """A comment that explains the tags themselves ("[pub] a published figure, [assume] ...")."""
    return "[pub]" in text and "[assume]" in text and re.search(r"\[pub\]\s+(a\s+)?publish", text) is not None


_RUN_ON_WORDS = {"a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "the", "to",
                 "with"}


def _continues(before: str, after: str) -> bool:
    """Whether the inline comment ``after`` continues the sentence of ``before`` (the
    comment of a key above, same level or a parent): ``before`` ends in ``;`` ``:`` ``,``
    or a word like "the", or ``after`` starts with "(" right after a word."""
    before, after = before.rstrip(), after.lstrip()
    if not before or not after:
        return False
    if before[-1] in ";:,":
        return True
    last = re.findall(r"[A-Za-z]+$", before)
    if last and last[0].lower() in _RUN_ON_WORDS:
        return True
    return bool(last) and after[0] == "("


def parse_commented_yaml(path: Path) -> tuple[str | None, list[tuple[str, str]]]:
    """The ``# @package`` of a config file and its keys in order as (dotted key,
    comment) pairs (comment "" when none); keys under ``defaults`` and ``hydra`` and
    inside block lists are skipped. See the module docstring for which comment
    belongs to which key."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    package = None
    keys: list[list] = []  # [dotted, indent, comments]
    stack: list[tuple[int, str]] = []
    pending: list[tuple[int, str]] = []  # comment-only lines not yet assigned
    list_parent_indent = None  # inside a block list under a key at this indent
    seen_key = False
    chain = None  # the key whose inline comment the next key's comment may continue

    def flush(next_indent: int | None) -> list[str]:
        """Assign pending comment lines: deeper than the next key -> the previous key;
        the rest lead the next key (returned)."""
        nonlocal pending
        lead = []
        for col, text in pending:
            if keys and (next_indent is None or col > next_indent) and col > keys[-1][1]:
                keys[-1][2].append(text)
            elif next_indent is not None:
                lead.append(text)
        pending = []
        return lead

    for raw in lines:
        code, comment, col = _split_comment(raw)
        stripped = code.strip()
        if not stripped and comment is None:  # blank line: a leading block ends here
            flush(None)
            chain = None
            continue
        if not stripped:  # comment-only line
            if comment.startswith("@package"):
                package = comment.split(None, 1)[1].strip() if len(comment.split()) > 1 else None
                continue
            pending.append((col, comment))
            continue
        indent = len(code) - len(code.lstrip())
        if list_parent_indent is not None and (indent > list_parent_indent or stripped.startswith("-")):
            # inside a block list: its inline comments describe the list's key
            flush(indent)
            if comment and keys:
                keys[-1][2].append(comment)
            continue
        list_parent_indent = None
        if stripped.startswith("-"):
            chain = None
            list_parent_indent = stack[-1][0] if stack else -1
            flush(indent)
            if comment and keys:
                keys[-1][2].append(comment)
            continue
        m = KEY_RE.match(code)
        if not m:  # e.g. a continued flow value: keep its comment with the key
            flush(indent)
            if comment and keys:
                keys[-1][2].append(comment)
            continue
        lead = flush(indent)
        if not seen_key and lead and _is_legend(" ".join(lead)):
            lead = []
        if lead and comment and not TAG_RE.search(" ".join(lead)):
            lead = []  # an untagged block above a key with its own comment is context, not source
        seen_key = True
        name = m.group(2)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        dotted = ".".join([k for _, k in stack] + [name])
        stack.append((indent, name))
        if (comment and not lead and chain is not None and indent >= keys[chain][1]
                and _continues(" ".join(keys[chain][2]), comment)):
            keys[chain][2].append(comment)  # a sentence running on from the key above
            keys.append([dotted, indent, []])
            continue
        keys.append([dotted, indent, lead + ([comment] if comment else [])])
        chain = len(keys) - 1 if comment else None
    flush(None)
    out = [(d, " ".join(c).strip()) for d, _, c in keys if d.split(".")[0] not in ("defaults", "hydra")]
    return package, out


def config_files(run_dir: Path) -> list[tuple[Path, str]]:
    """The conf/ files a run was composed from, in the order Hydra merged them (later
    wins), each with the key prefix its ``@package`` gives."""
    _, hyd, _ = _hydra(run_dir)
    conf = _conf_dir(hyd)
    choices = _get(hyd, "runtime.choices", {}) or {}
    primary = conf / "config.yaml"
    defaults = (_read_yaml(primary) or {}).get("defaults", []) if primary.is_file() else []
    order: list[tuple[str, str | None]] = []
    for item in defaults or []:
        if item == "_self_":
            order.append(("_self_", None))
        elif isinstance(item, dict):
            for group in item:
                order.append((str(group).split("@")[0].lstrip("/").replace("override ", ""), None))
    if ("_self_", None) not in order:
        order.insert(0, ("_self_", None))
    files = []
    for group, _ in order:
        if group == "_self_":
            if primary.is_file():
                files.append((primary, ""))
            continue
        choice = choices.get(group)
        path = conf / group / f"{choice}.yaml"
        if choice in (None, "null") or not path.is_file():
            continue
        files.extend(_group_files(path, group))
    return files


def _group_files(path: Path, group: str, seen: frozenset = frozenset()) -> list[tuple[Path, str]]:
    """A group's chosen file preceded by the files of its group its own ``defaults``
    list names (e.g. conf/dispatch/pooled.yaml extends direct.yaml), in merge order
    (``_self_`` where it stands, else last)."""
    defaults = (_read_yaml(path) or {}).get("defaults") or []
    before, after, self_seen = [], [], False
    for item in defaults:
        if item == "_self_":
            self_seen = True
        elif isinstance(item, str) and (path.parent / f"{item}.yaml").is_file() and item not in seen:
            (after if self_seen else before).extend(
                _group_files(path.parent / f"{item}.yaml", group, seen | {path.stem}))
    return [*before, (path, group), *after]


#: Config groups of the ticket side (unused when ``dispatch`` is null).
TICKET_GROUPS = ("tickets", "ranking")


def assumption_rows(run_dir: Path) -> list[dict]:
    """Every parameter of the run's config files whose comment carries a [pub] or
    [assume] tag: ``key, value, tags, comment, file, flags`` (flags: overridden on the
    command line or by a later file)."""
    run_dir = Path(run_dir)
    cfg, hyd, overrides = _hydra(run_dir)
    conf = _conf_dir(hyd)
    groups = _get(hyd, "runtime.choices", {}) or {}
    # A group choice (dispatch=pooled) picks a file; it sets no value on the command line.
    over_keys = [k for k in (o.split("=", 1)[0].lstrip("+~") for o in overrides if "=" in o) if k not in groups]
    parsed = []
    for path, group in config_files(run_dir):
        if group in TICKET_GROUPS and cfg.get("dispatch") is None and "dispatch" in cfg:
            continue  # dispatch=none: the ticket side is not simulated, its parameters are unused
        package, keys = parse_commented_yaml(path)
        prefix = "" if package == "_global_" or (group == "" and package is None) else (package or group)
        parsed.append((path, [(f"{prefix}.{k}" if prefix else k, c) for k, c in keys]))
    defined_in: dict[str, list[int]] = {}
    for i, (_, keys) in enumerate(parsed):
        for key, _ in keys:
            defined_in.setdefault(key, []).append(i)
    rows = []
    for i, (path, keys) in enumerate(parsed):
        for key, comment in keys:
            if not TAG_RE.search(comment):
                continue
            later = [j for j in defined_in[key] if j > i]
            if any(TAG_RE.search(c) for j in later for k, c in parsed[j][1] if k == key):
                continue  # a later file's own tagged comment describes the value in force
            flags = []
            if later:
                flags.append(f"value set by {_rel(parsed[later[-1]][0], conf)}")
            if any(o == key or o.startswith(key + ".") or key.startswith(o + ".") for o in over_keys):
                flags.append("set on the command line")
            if key.startswith("dispatch.district_desk") and not _uses_district_desk(_get(cfg, "dispatch.policy")):
                flags.append("not used by this policy (only by policies through the district desks)")
            rows.append({"key": key, "value": _get(cfg, key, "—"), "tags": _tags(comment),
                         "comment": comment, "file": _rel(path, conf), "flags": flags})
    listed = {r["key"] for r in rows}
    for r in rows:  # a section shows the entries that have no row of their own
        v = r["value"]
        if isinstance(v, dict) and any(f"{r['key']}.{k}" in listed for k in v):
            rest = {k: x for k, x in v.items() if f"{r['key']}.{k}" not in listed}
            shown = [k for k in v if k not in rest]
            r["value"] = (_fmt_value_lines(rest, width=0) + f"\n({', '.join(shown)}: own rows below)" if rest
                          else "(a section: its entries are in the rows below)")
        else:
            r["value"] = _fmt_value_lines(v)
    rows += _named_data_rows(cfg, conf.parent / "scenarios")
    return rows


#: Config keys naming a data file in scenarios/<folder>/<name>.yaml that states its source.
NAMED_DATA = (("arrivals.intraday_profile", "profiles"), ("arrivals.category_mix", "category_mix"),
              ("call_center.roster", "rosters"))


def _named_data_rows(cfg: dict, scenarios: Path) -> list[dict]:
    rows = []
    for key, folder in NAMED_DATA:
        name = _get(cfg, key)
        path = scenarios / folder / f"{name}.yaml"
        if not isinstance(name, str) or not path.is_file():
            continue
        source = str((_read_yaml(path) or {}).get("source", ""))
        if TAG_RE.search(source):
            rows.append({"key": f"{key} → data", "value": name, "tags": _tags(source),
                         "comment": source, "file": f"scenarios/{folder}/{name}.yaml", "flags": []})
    return rows


def _rel(path: Path, conf: Path) -> str:
    try:
        return str(Path(path).relative_to(conf.parent))
    except ValueError:
        return str(path)


# ------------------------------------------------------------------ charts
def chart_entries(chart_dir: Path) -> list[dict]:
    """The PNG charts of a folder: ``name, title, title_zh, caption, data`` (bytes),
    ``svg`` (a vector version exists); in the order of ``captions.json``, then by name."""
    chart_dir = Path(chart_dir)
    if not chart_dir.is_dir():
        return []
    captions = _read_json(chart_dir / CAPTIONS_FILE)
    order = {name: i for i, name in enumerate(captions)}
    out = []
    for png in sorted(chart_dir.glob("*.png"), key=lambda p: (order.get(p.stem, len(order)), p.stem)):
        data = png.read_bytes()
        if not data.startswith(b"\x89PNG\r\n\x1a\n"):
            continue
        meta = _png_text(png)
        given = captions.get(png.stem, {}) if isinstance(captions.get(png.stem), dict) else {}
        title = given.get("title") or meta.get("Title") or _humanise(png.stem)
        caption = given.get("caption") or meta.get("Description") or _keyword_caption(png.stem)
        out.append({"name": png.stem, "heading": _chart_heading(png.stem), "title": str(title),
                    "title_zh": str(given.get("title_zh") or ""),
                    "caption": str(caption), "data": data, "svg": png.with_suffix(".svg").is_file()})
    return out


def skipped_charts(chart_dir: Path) -> dict[str, str]:
    """Charts the chart module did not draw, with the reason (``captions.json`` ``_skipped``)."""
    skipped = _read_json(Path(chart_dir) / CAPTIONS_FILE).get("_skipped")
    return {str(k): str(v) for k, v in skipped.items()} if isinstance(skipped, dict) else {}


#: Short headings of the known charts (analysis.charts); the chart's own title states the finding.
CHART_HEADINGS = {
    "calls_by_hour": "Calls and service level by hour of day 分时段来电与服务水平",
    "lead_time_distribution": "Time to close a ticket, by urgency class 工单办结时长",
    "lead_time_by_policy": "Time to close a ticket under each dispatch policy 派单方式与办结时长",
    "deadline_compliance_by_district": "Deadline compliance by district 各区按时办结率",
    "league_bump": "Monthly ranks of the best and worst streets 街乡月度排名",
    "rank_caterpillar": "How certain is each street's rank? 排名区间",
    "rank_caterpillar_all_sources": "Rank intervals by source of uncertainty 各不确定性来源的排名区间",
    "weight_sensitivity": "Streets whose class depends on the weights 权重与四类",
    "funnel_plot": "Funnel plot: which streets differ from the city? 漏斗图",
    "policy_comparison": "Policy comparison: paired differences 政策比较",
    "staffing_curve": "Seats, staffing and service level 座席与服务水平",
}


def _chart_heading(stem: str) -> str:
    if stem in CHART_HEADINGS:
        return CHART_HEADINGS[stem]
    if stem.startswith("sweep_") and stem[6:] in KPI_INFO:
        _, label, zh, *_ = KPI_INFO[stem[6:]]
        return f"{label} across the sweep" + (f" {zh}" if zh else "")
    return _humanise(stem)


def _png_text(path: Path) -> dict:
    try:
        from PIL import Image
        with Image.open(path) as im:
            return {k: v for k, v in getattr(im, "text", {}).items() if isinstance(v, str)}
    except Exception:  # noqa: BLE001 - no Pillow or unreadable: no metadata
        return {}


def _humanise(stem: str) -> str:
    text = re.sub(r"^\d+[_-]+", "", stem).replace("_", " ").replace("-", " ").strip()
    return (text[:1].upper() + text[1:]) if text else stem


def _keyword_caption(stem: str) -> str:
    low = stem.lower()
    for word, caption in CHART_KEYWORDS:
        if word in low:
            return caption
    return "Chart from the simulation outputs (see the chart's own title and source note)."


def _charts_html(charts: list[dict], chart_rel: str, skipped: dict[str, str] | None = None) -> str:
    skipped_html = ""
    if skipped:
        items = "".join(f"<li><code>{esc(k)}</code>: {esc(v)}</li>" for k, v in skipped.items())
        skipped_html = f'<p class="note">Charts not drawn for this run:</p><ul class="note">{items}</ul>'
    if not charts:
        return (f'<p class="note">No charts in <code>{esc(chart_rel)}/</code> yet: they are drawn by '
                f'<code>analysis.charts</code> (<code>make_run_charts</code> / <code>make_sweep_charts</code>); '
                f're-create this report after them.</p>' + skipped_html)
    svg = any(c["svg"] for c in charts)
    parts = [f'<p class="note">{len(charts)} chart{"s" if len(charts) != 1 else ""}, each titled with its finding. '
             f'The files are in <code>{esc(chart_rel)}/</code> as PNG'
             + (" and SVG (vector, for print and slides)" if svg else "") + ".</p>"]
    for i, c in enumerate(charts, 1):
        b64 = base64.b64encode(c["data"]).decode("ascii")
        alt = " ".join(t for t in (c["title"], c.get("title_zh", ""), c["caption"]) if t)
        parts.append(f'<figure id="chart-{esc(c["name"])}"><h3>Figure {i}. {esc(c["heading"])}</h3>'
                     f'<img src="data:image/png;base64,{b64}" alt="{esc(alt)}">'
                     f'<figcaption>{esc(c["caption"])} <span class="muted">({esc(c["name"])}.png)</span>'
                     f'</figcaption></figure>')
    return "\n".join(parts) + skipped_html


# ------------------------------------------------------------------ sections of a run report
def _scenario_section(summary: dict, cfg: dict, hyd: dict, run_dir: Path) -> str:
    p = _period(summary)
    facts = []
    if p:
        facts.append(("Period simulated", f"{esc(_date(p['start']))} to {esc(_date(_last_day(p['end'])))} "
                      f"({esc(_days(p['horizon']))})"))
        facts.append(("Period measured", f"{esc(_date(p['measure_start']))} to {esc(_date(_last_day(p['end'])))} "
                      f"({esc(_days(p['horizon'] - p['warmup']))}; the first {esc(_days(p['warmup']))} are a "
                      f"warm-up, discarded, because queues and street backlogs start empty)"))
    seats = _get(cfg, "call_center.seats")
    roster = _get(cfg, "call_center.roster")
    on_duty = _get(summary, "metrics.agents_on_duty_mean.mean")
    if seats is not None:
        roster_txt = f"roster <code>{esc(_fmt_value(roster, 60))}</code>" if roster is not None else ""
        duty = f"; on average {on_duty:,.0f} agents on duty" if isinstance(on_duty, (int, float)) else ""
        facts.append(("Call centre", f"{esc(seats)} seats, {roster_txt}{esc(duty)}"))
    daily = _get(cfg, "arrivals.daily_calls")
    offered = _get(summary, "metrics.calls_offered_per_day.mean")
    if daily is not None:
        txt = f"{float(daily):,.0f} expected calls a day before weekday and seasonal factors"
        if isinstance(offered, (int, float)):
            txt += f"; {offered:,.0f} offered a day in the measured period (redials included)"
        share = _get(cfg, "call_center.ticket_share")
        if isinstance(share, (int, float)):
            txt += f"; {share:.0%} of calls are demands (诉求) that become tickets (工单)"
        facts.append(("Calls", esc(txt)))
    policy = _get(cfg, "dispatch.policy") or summary.get("dispatch")
    if policy:
        words = dispatch_policies.describe(policy)[2]
        street = _get(cfg, "dispatch.street_share")
        extra = (f"; {street:.0%} of tickets go to streets, the rest to city departments (委办局) and utilities"
                 if isinstance(street, (int, float)) else "")
        facts.append(("Dispatch", esc(words + extra)))
    else:
        facts.append(("Dispatch", "none: the call centre alone (tickets are only counted)"))
    ranking = summary.get("ranking") if isinstance(summary.get("ranking"), dict) else None
    if ranking and isinstance(ranking.get("weights"), dict):
        w = ranking["weights"]
        choice = _get(hyd, "runtime.choices.ranking")
        txt = " / ".join(f"{RATE_LABELS.get(k, (k, ''))[1]} {RATE_LABELS.get(k, (k, ''))[0].lower()} "
                         f"{float(v):.0%}" for k, v in w.items())
        txt += (f" (candidate weight set {choice}; the official weights are not published)" if choice
                else " (the official weights are not published)")
        if ranking.get("min_surveys") is not None:
            txt += f"; a street needs at least {ranking['min_surveys']} answered callbacks in a month to be ranked"
        facts.append(("League-table weights", esc(txt)))
    reps = summary.get("replications")
    facts.append(("Replications", esc(f"{reps} independent replications, root seed {summary.get('seed')}; "
                                      f"95% confidence intervals are Student-t intervals over the replications")))
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
    desc = summary.get("description") or cfg.get("description") or ""
    words = (f"This run simulates Beijing's 12345 citizen hotline (接诉即办), scenario "
             f"<code>{esc(summary.get('scenario', ''))}</code>")
    words += f" ({esc(desc)})." if desc else "."
    words += (" Citizens call; agents answer; demands become tickets that are dispatched, worked by streets and "
              "city departments, and followed by a callback survey (回访) that yields the monthly rates."
              if policy else " Only the call centre is simulated.")
    return f'<h2 id="scenario">1. The scenario</h2><p>{words}</p><dl class="facts">{dl}</dl>'


def _cards_html(metrics: dict) -> str:
    cards = []
    for name in CARDS:
        if name not in metrics:
            continue
        _, label, zh, unit, *_ = KPI_INFO[name]
        value, ci = _fmt_kpi(name, metrics[name])
        ci_txt = f"95% CI {ci}" if ci and not ci.startswith("(") else ci
        if unit != "%" and value.endswith(" " + unit):  # the label says it ("per day")
            value = value[:-len(unit) - 1]
        zh_html = f'<span class="zh">{esc(zh)}</span>' if zh else ""
        cards.append(f'<div class="card"><div class="k">{esc(label)}{zh_html}</div>'
                     f'<div class="v">{esc(value)}</div><div class="ci">{esc(ci_txt)}</div></div>')
    return f'<div class="cards">{"".join(cards)}</div>' if cards else ""


def _kpi_section(summary: dict, cfg: dict) -> str:
    metrics = summary.get("metrics", {}) or {}
    fill = {"sl": _get(cfg, "call_center.sl_threshold_s", "?"), "rt": _get(cfg, "streets.response_threshold_h", "?"),
            "bw": _get(cfg, "survey.basic_satisfied_weight", "?")}
    rows = []
    for group, spec in (("Call centre", CALL_ROWS), ("Tickets (接诉即办)", TICKET_ROWS)):
        present = [r for r in spec if r[0] in metrics]
        if not present:
            continue
        rows.append(f'<tr class="group"><th colspan="4" scope="rowgroup">{esc(group)}</th></tr>')
        for name, label, zh, unit, fmt, scale, meaning in present:
            value, ci = _fmt_kpi(name, metrics[name])
            term = f" {esc(zh)}" if zh else ""
            rows.append(f'<tr data-metric="{esc(name)}"><td title="{esc(name)} in summary.json">{esc(label)}{term}</td>'
                        f'<td class="num">{esc(value)}</td><td class="ci">{esc(ci)}</td>'
                        f'<td class="meaning">{esc(meaning.format(**fill))}</td></tr>')
    n = summary.get("replications")
    days = summary.get("measured_days")
    cap = esc(f"Mean over {n} replications and its 95% confidence interval; every KPI counts what arrived in the "
              f"{days:g} measured days." if isinstance(days, (int, float)) else
              f"Mean over {n} replications and its 95% confidence interval.")
    table = _table(["KPI", "mean", "95% CI", "meaning"], rows, cap, num_cols={1})
    note = ("" if any(r[0] in metrics for r in TICKET_ROWS) else
            '<p class="note">This scenario simulates the call centre only: no ticket KPIs.</p>')
    return f'<h2 id="kpis">2. Headline KPIs</h2>{_cards_html(metrics)}{table}{note}'


def _classes_html(label: str) -> str:
    parts = [c for c in (label or "").split("+") if c]
    return "".join(f'<span class="cls {esc(c)}">{esc(CLASS_ZH.get(c, ""))} {esc(c)}</span>' for c in parts)


def _unit_name(en: str, zh: str) -> str:
    return f"{esc(zh)} <span class=muted>{esc(en)}</span>" if zh else esc(en)


def _league_month(run_dir: Path) -> str | None:
    """The last month of replication 0's street league table."""
    months = [r["month"] for r in _read_csv(run_dir / RANKINGS_FILE)
              if r.get("replication") == "0" and r.get("level") == "street"]
    return max(months) if months else None


def _league_section(run_dir: Path, summary: dict) -> str:
    head = '<h2 id="league">4. League table of the last month</h2>'
    rows = _read_csv(run_dir / RANKINGS_FILE)
    if not rows:
        reason = ("this scenario has no ticket side" if not summary.get("dispatch")
                  else f"no {RANKINGS_FILE} in the run directory")
        return head + f'<p class="note">No league table: {esc(reason)}.</p>'
    rep0 = [r for r in rows if r.get("replication") == "0"]
    streets = [r for r in rep0 if r.get("level") == "street"]
    if not streets:
        return head + '<p class="note">No street rows in replication 0 of rankings.csv.</p>'
    month = max(r["month"] for r in streets)
    this = [r for r in streets if r["month"] == month]
    ranked = sorted((r for r in this if r.get("rank")), key=lambda r: int(float(r["rank"])))
    unranked = len(this) - len(ranked)
    min_surveys = _get(summary, "ranking.min_surveys")
    intro = (f"<p>Replication 0, month <b>{esc(month)}</b>: {len(ranked)} of {len(this)} streets ranked"
             + (f" ({unranked} with fewer than {esc(min_surveys)} answered callbacks are not ranked)"
                if unranked and min_surveys is not None else "")
             + ". Score = weighted sum of the three rates (0–100). Classes (四类): 先进 advanced (best ranked), "
               "进步 improving (largest gain on the previous month), 整改 rectification (worst ranked), "
               "治理 governance (most tickets per 10,000 residents). One replication is one possible month: "
               "section 5 shows how much of the order is chance.</p>")
    partial = _partial_month_note(month, summary, others=len({r["month"] for r in streets}) > 1)
    rate_cols = ("response_rate", "resolution_rate", "satisfaction_rate")

    def street_row(r):
        rates = "".join(f'<td class="num">{esc(_pct(_float(r.get(c)), 1))}</td>' for c in rate_cols)
        score = _float(r.get("score"))
        return (f'<tr><td class="num">{esc(int(float(r["rank"])))}</td>'
                f'<td class="name">{_unit_name(r.get("street", ""), r.get("street_zh", ""))}</td>'
                f'<td class="name">{_unit_name(r.get("district", ""), r.get("district_zh", ""))}</td>'
                f'<td class="num">{esc("n/a" if score is None else f"{score:.1f}")}</td>{rates}'
                f'<td class="num">{esc(r.get("satisfaction_n", ""))}</td>'
                f'<td class="classes">{_classes_html(r.get("class", ""))}</td>'
                f'</tr>')

    head_cols = ["rank", "street 街乡镇", "district 区", "score", *RATE_HEADS, "callbacks", "class"]
    nums = {0, 3, 4, 5, 6, 7}
    if len(ranked) <= 2 * LEAGUE_SHOW:
        body = [street_row(r) for r in ranked]
        cap = f"All {len(ranked)} ranked streets"
    else:
        gap = (f'<tr class="gap"><td colspan="{len(head_cols)}">… {len(ranked) - 2 * LEAGUE_SHOW} streets '
               f'ranked {LEAGUE_SHOW + 1}–{len(ranked) - LEAGUE_SHOW} not shown (all in rankings.csv) …</td></tr>')
        body = [street_row(r) for r in ranked[:LEAGUE_SHOW]] + [gap] + [street_row(r) for r in ranked[-LEAGUE_SHOW:]]
        cap = f"Top and bottom {LEAGUE_SHOW} of {len(ranked)} ranked streets"
    if ranked:
        out = head + intro + partial + _table(head_cols, body, esc(cap), nums, cls="league")
    else:
        out = head + intro + partial + ('<p class="note">No street has enough answered callbacks to be ranked in '
                                        'this month.</p>')

    districts = [r for r in rep0 if r.get("level") == "district" and r["month"] == month]
    if districts:
        districts.sort(key=lambda r: (0, int(float(r["rank"]))) if r.get("rank") else (1, r.get("district", "")))

        def district_row(r):
            rates = "".join(f'<td class="num">{esc(_pct(_float(r.get(c)), 1))}</td>' for c in rate_cols)
            score = _float(r.get("score"))
            rank = int(float(r["rank"])) if r.get("rank") else "–"
            tickets = _float(r.get("tickets"))
            name = _unit_name(r.get("district", ""), r.get("district_zh", ""))
            return (f'<tr><td class="num">{esc(rank)}</td><td class="name">{name}'
                    f'</td><td class="num">{esc("n/a" if score is None else f"{score:.1f}")}</td>{rates}'
                    f'<td class="num">{esc("" if tickets is None else f"{tickets:,.0f}")}</td>'
                    f'<td class="classes">{_classes_html(r.get("class", ""))}</td></tr>')

        out += "<h3>Districts (区)</h3>" + _table(
            ["rank", "district 区", "score", *RATE_HEADS, "tickets", "class"],
            [district_row(r) for r in districts], esc(f"All {len(districts)} districts, {month}, replication 0"),
            {0, 2, 3, 4, 5, 6}, cls="league")
    return out


RATE_HEADS = [f'{zh}<span class="small">{en.lower()}</span>' for en, zh in
              (RATE_LABELS[r] for r in ("response_rate", "resolution_rate", "satisfaction_rate"))]


def _partial_month_note(month: str, summary: dict, others: bool = False) -> str:
    p = _period(summary)
    try:
        year, mon = (int(x) for x in month.split("-")[:2])
    except ValueError:
        return ""
    if not p:
        return ""
    first = dt.datetime(year, mon, 1)
    days_in = calendar.monthrange(year, mon)[1]
    nxt = first + dt.timedelta(days=days_in)
    covered = (min(nxt, p["end"]) - max(first, p["measure_start"])).total_seconds() / 86400
    if covered >= days_in - 1e-9:
        return ""
    return (f'<p class="callout">The run measures only {covered:g} of the {days_in} days of {esc(month)}: '
            f'few callbacks per street, so the ranks are noisier than in a full month and streets may be '
            f'left unranked.' + (f' The earlier months are in <code>{RANKINGS_FILE}</code>.' if others else '')
            + '</p>')


MONTH_RE = re.compile(r"^\d{4}-\d{2}$")


def robustness_by_month(rob) -> dict[str, dict]:
    """``summary["ranking"]["robustness"]`` as ``{month: {"sources": {source: stats},
    "effective_weights": ...}}``: the month-keyed form as written by
    :func:`analysis.league.robustness_outputs`; a single-month form (``{"overall" or
    "sources": ..., "effective_weights": ..., "month": ...}``) is accepted too."""
    if not isinstance(rob, dict) or not rob:
        return {}
    if all(MONTH_RE.match(str(k)) and isinstance(v, dict) for k, v in rob.items()):
        return {str(k): {"sources": v.get("sources") or v.get("overall") or {},
                         "effective_weights": v.get("effective_weights")} for k, v in sorted(rob.items())}
    sources = rob.get("sources") or rob.get("overall") or {k: v for k, v in rob.items() if isinstance(v, dict)}
    return {str(rob.get("month") or ""): {"sources": sources, "effective_weights": rob.get("effective_weights")}}


def _source_names(overall: dict) -> list[str]:
    names = [s for s in ROBUSTNESS_SOURCES if isinstance(overall.get(s), dict)]
    return names + [s for s, v in overall.items() if s not in names and isinstance(v, dict) and
                    any(str(k).startswith(("kendall", "share_shift")) for k in v)]


def _robustness_section(summary: dict, cfg: dict, run_dir: Path, league_month: str | None = None) -> str:
    head = '<h2 id="robustness">5. How robust is the ranking?</h2>'
    ranking = summary.get("ranking") if isinstance(summary.get("ranking"), dict) else None
    if ranking is None:
        return head + '<p class="note">No league table in this run, so no robustness analysis.</p>'
    months = robustness_by_month(ranking.get("robustness"))
    if not months:
        enabled = _get(cfg, "ranking.robustness.enabled")
        how = ("It is switched off in this run: re-run with <code>ranking.robustness.enabled=true</code>."
               if enabled is False else
               "It is computed by <code>analysis.robustness</code> when <code>ranking.robustness.enabled=true</code> "
               "(the default in <code>conf/ranking/*.yaml</code>); this run's <code>summary.json</code> has no "
               "<code>ranking.robustness</code> section, so re-run it with a version that writes one.")
        return head + (f'<p class="note">No robustness summary. It would show how far the street ranks move '
                       f'under other weights, survey sampling noise and simulation noise (Kendall τ, share of '
                       f'streets moving more than 3 or 10 places) and the effective weights of the three rates. '
                       f'{how}</p>')
    month = league_month if league_month in months else list(months)[-1]
    overall = months[month]["sources"] or {}
    sources = _source_names(overall)
    parts = [head]
    when = f" of {esc(month)}" if month else ""
    parts.append(f"<p>Each source of uncertainty behind the league table{when} (replication 0, the table the city "
                 "would publish) is redrawn in turn and the streets re-ranked; the table compares the redrawn "
                 "tables with the published one. Kendall τ = 1: the same order; 0: unrelated. "
                 "&ldquo;Move&rdquo; counts ranked streets whose place changes by more than 3 or 10.</p>")
    if sources:
        body = []
        for src in sources:
            v = overall[src]
            tau = _float(v.get("kendall_tau_mean"))
            lo, hi = _float(v.get("kendall_tau_p05")), _float(v.get("kendall_tau_p95"))
            rng = f"{lo:.2f} – {hi:.2f}" if lo is not None and hi is not None else ""
            shift = _float(v.get("mean_abs_shift"))
            body.append(f'<tr><td>{esc(ROBUSTNESS_SOURCES.get(src, src))}<span class="small"><code>{esc(src)}</code>'
                        f'</span></td><td class="num">{esc("n/a" if tau is None else f"{tau:.2f}")}</td>'
                        f'<td class="ci">{esc(rng)}</td>'
                        f'<td class="num">{esc("n/a" if shift is None else f"{shift:.1f}")}</td>'
                        f'<td class="num">{esc(_pct(_float(v.get("share_shift_gt3"))))}</td>'
                        f'<td class="num">{esc(_pct(_float(v.get("share_shift_gt10"))))}</td></tr>')
        taus = {x: _float(overall[x].get("kendall_tau_mean")) for x in sources}
        worst = min((x for x in sources if taus[x] is not None), key=lambda x: taus[x], default=None)
        if worst is not None:
            v = overall[worst]
            units = _float(v.get("units"))
            of = f"of the {units:,.0f} ranked streets" if units else "of the ranked streets"
            parts.append(f"<p>The order is least stable under <b>{esc(ROBUSTNESS_SOURCES.get(worst, worst).lower())}"
                         f"</b> (Kendall τ {taus[worst]:.2f}): on average "
                         f"{esc(_pct(_float(v.get('share_shift_gt3'))))} "
                         f"{esc(of)} move more than 3 places and {esc(_pct(_float(v.get('share_shift_gt10'))))} more "
                         f"than 10. A street's place in the top or bottom ten should be read with that in mind.</p>")
        parts.append(_table(["source of uncertainty", "Kendall τ (mean)", "τ, 90% of draws",
                             "mean move (places)", "move &gt; 3 places", "move &gt; 10 places"], body,
                            esc(f"Agreement with the nominal league table{' of ' + month if month else ''}, "
                                f"averaged over the draws"), {1, 3, 4, 5}))
    others = [m for m in months if m != month and months[m]["sources"]]
    if others:
        cols = _source_names(months[others[0]]["sources"])
        body = []
        for m in others:
            ov = months[m]["sources"]
            cells = "".join(
                f'<td class="num">{esc(_tau_gt10(ov.get(c)))}</td>' for c in cols)
            body.append(f"<tr><td>{esc(m)}</td>{cells}</tr>")
        parts.append("<h3>Other months</h3>" + _table(
            ["month", *[esc(ROBUSTNESS_SOURCES.get(c, c).split(" (")[0]) for c in cols]], body,
            "Kendall τ (mean) · share of streets moving more than 10 places", set(range(1, len(cols) + 1))))
    eff = _effective_weight_rows(months[month].get("effective_weights") or ranking.get("effective_weights"),
                                 ranking.get("weights") or {})
    if eff:
        body = [f'<tr><td>{esc(zh)} {esc(en)}</td><td class="num">{esc(_pct(nom))}</td>'
                f'<td class="num">{esc(_pct(e))}</td></tr>' for en, zh, nom, e in eff]
        parts.append("<h3>Effective weights</h3><p>A nominal weight is not an importance: a rate that hardly "
                     "varies between streets (the response rate is near 100%) barely moves the score whatever "
                     "its weight. The effective weight is each rate's first-order sensitivity index "
                     "(Paruolo, Saisana &amp; Saltelli 2013), normalised to sum to 100%.</p>"
                     + _table(["rate", "nominal weight", "effective weight"], body,
                              esc(f"Effective weights{' in ' + month if month else ''}"), {1, 2}))
    files = [f for f in ("robustness.csv", "funnel.csv") if (run_dir / f).is_file()]
    if files:
        parts.append('<p class="note">Per-street rank intervals and funnel limits: '
                     + ", ".join(f"<code>{f}</code>" for f in files) + ".</p>")
    if len(parts) == 2:
        parts.append('<p class="note">The robustness section of summary.json holds no summary this report '
                     'can read.</p>')
    return "".join(parts)


def _tau_gt10(v) -> str:
    if not isinstance(v, dict):
        return "–"
    tau = _float(v.get("kendall_tau_mean"))
    return f"{'n/a' if tau is None else f'{tau:.2f}'} · {_pct(_float(v.get('share_shift_gt10')))}"


def _effective_weight_rows(eff, nominal: dict) -> list[tuple[str, str, float | None, float | None]]:
    """(English, Chinese, nominal, effective) per rate from either a columnar dict
    (``rate: [...]``, ``first_order_normalised: [...]``) or ``{rate: {...}}``."""
    if not isinstance(eff, dict) or not eff:
        return []
    pick = ("first_order_normalised", "effective_weight", "effective", "first_order")
    out = []
    if isinstance(eff.get("rate"), list):
        n = len(eff["rate"])
        col = next((eff[k] for k in pick if isinstance(eff.get(k), list) and len(eff[k]) == n), None)
        for i, rate in enumerate(eff["rate"]):
            en, zh = RATE_LABELS.get(rate, (rate, ""))
            nom = (eff["nominal_weight"][i] if isinstance(eff.get("nominal_weight"), list)
                   else nominal.get(str(rate).replace("_rate", "")))
            out.append((en, zh, _float(nom), _float(col[i]) if col else None))
        return out
    for rate, v in eff.items():
        en, zh = RATE_LABELS.get(rate, (rate, ""))
        if isinstance(v, dict):
            e = next((v[k] for k in pick if k in v), None)
            nom = v.get("nominal_weight", v.get("nominal", nominal.get(str(rate).replace("_rate", ""))))
        else:
            e, nom = v, nominal.get(str(rate).replace("_rate", ""))
        out.append((en, zh, _float(nom), _float(e)))
    return out


#: Order and headings of the assumption table's groups, by file path prefix.
FILE_GROUPS = (("conf/scenario/", "The scenario"), ("scenarios/", "Named data files of the scenario"),
               ("conf/tickets/", "After the call: city, streets, departments, survey"),
               ("conf/dispatch/", "Dispatch policy"), ("conf/ranking/", "League table"),
               ("conf/experiment/", "Experiment"), ("conf/config.yaml", "Run settings"))


def _file_order(path: str) -> int:
    return next((i for i, (prefix, _) in enumerate(FILE_GROUPS) if path.startswith(prefix)), len(FILE_GROUPS))


def _assumptions_section(run_dir: Path) -> str:
    rows = assumption_rows(run_dir)
    head = '<h2 id="assumptions">6. Assumptions and their sources</h2>'
    intro = ("<p>Every number of the scenario says where it comes from. <span class=\"tag pub\">[pub]</span> marks "
             "a published figure (see the project's <code>DOMAIN.md</code>); <span class=\"tag assume\">[assume]"
             "</span> marks a modelling assumption: a value nobody has published, chosen to be plausible and "
             "named so it can be changed (<code>python run.py key=value</code>) and tested for its effect. "
             "Results that depend strongly on [assume] values are scenarios, not forecasts. Values are this run's; "
             "comments are from the repository's config files.</p>")
    cfg = _hydra(run_dir)[0]
    if cfg.get("dispatch") is None and "dispatch" in cfg:
        intro += ('<p class="note">This scenario simulates the call centre only (<code>dispatch: null</code>): '
                  'the parameters of the ticket side and the league table are not used and not listed.</p>')
    if not rows:
        return head + intro + ('<p class="note">No tagged parameters found (the run has no '
                               '<code>.hydra/</code> folder or its config files are not available).</p>')
    body = []
    group = None
    rows = sorted(rows, key=lambda r: _file_order(r["file"]))
    for r in rows:
        order = _file_order(r["file"])
        files = sorted({x["file"] for x in rows if _file_order(x["file"]) == order})
        if order != group:
            group = order
            what = FILE_GROUPS[order][1] if order < len(FILE_GROUPS) else "Other"
            where = f' · <code>{esc(files[0])}</code>' if len(files) == 1 else ""
            body.append(f'<tr class="group"><th colspan="4" scope="rowgroup">{esc(what)}{where}</th></tr>')
        flags = "".join(f'<span class="flag">{esc(f)}</span>' for f in r["flags"])
        key = esc(r["key"]).replace(".", ".<wbr>")
        value = "<br>".join(esc(line) for line in r["value"].split("\n"))
        where = f'<span class="small">{esc(r["file"])}</span>' if len(files) > 1 else ""
        body.append(f'<tr><td class="key"><code>{key}</code>{where}</td>'
                    f'<td class="val"><code>{value}</code>{flags}</td>'
                    f'<td>{_tags_html(" ".join(r["tags"]))}</td><td class="comment">{esc(r["comment"])}</td></tr>')
    n_pub = sum(any(t.startswith("[pub") for t in r["tags"]) for r in rows)
    n_assume = sum(any(t.startswith("[assume") for t in r["tags"]) for r in rows)
    cap = esc(f"{len(rows)} parameters: {n_pub} with a published source, {n_assume} with a modelling assumption "
              f"(a parameter can carry both)")
    cols = ('<colgroup><col style="width:27%"><col style="width:26%"><col style="width:13%">'
            '<col style="width:34%"></colgroup>')
    return head + intro + _table(["parameter", "value", "source", "comment"], body, cap, cls="fixed").replace(
        "<thead>", cols + "<thead>", 1)


def _footer(cmd: str, run_dir: Path, what: str = "run") -> str:
    now = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()
    files = sorted(p.name for p in Path(run_dir).iterdir()
                   if p.is_file() and p.suffix in (".csv", ".json", ".parquet") and not p.name.startswith(".")
                   and p.name != "run_complete.json")
    files_txt = (f"<p>Data files next to this report: {', '.join(f'<code>{esc(f)}</code>' for f in files)}.</p>"
                 if files else "")
    again = ("Same seed and config give identical results; add <code>hydra.run.dir=&lt;folder&gt;</code> to "
             "choose the output folder." if what == "run" else
             "Jobs already finished are skipped on a re-run.")
    return (f'<footer><p>Generated by {esc(PACKAGE)} {esc(_version())} on {esc(now)} from '
            f'<code>{esc(Path(run_dir).resolve())}</code>.</p>'
            f'<p>Reproduce this {what} (from the repository root):</p><pre><code>{esc(cmd)}</code></pre>'
            f'<p>{again}</p>{files_txt}</footer>')


# ------------------------------------------------------------------ public API
def render_report(run_dir: Path) -> str:
    """The HTML of a run's briefing report (see :func:`write_report`)."""
    run_dir = Path(run_dir)
    summary = _read_json(run_dir / SUMMARY_FILE)
    if not summary:
        raise FileNotFoundError(f"no readable {SUMMARY_FILE} in {run_dir}")
    cfg, hyd, overrides = _hydra(run_dir)
    scenario = summary.get("scenario", "")
    title = f"12345 hotline simulation: {scenario}"
    desc = summary.get("description") or ""
    toc = "".join(f'<a href="#{a}">{t}</a>' for a, t in (
        ("scenario", "1 Scenario"), ("kpis", "2 KPIs"), ("charts", "3 Charts"), ("league", "4 League table"),
        ("robustness", "5 Robustness"), ("assumptions", "6 Assumptions")))
    header = (f'<header class="top"><p class="kicker">Briefing · 接诉即办 · Beijing 12345 simulation</p>'
              f'<h1>{esc(title)}</h1>' + (f'<p class="lead">{esc(desc)}</p>' if desc else "")
              + f'<nav class="toc">{toc}</nav></header>')
    charts = chart_entries(run_dir / CHARTS_DIR)
    body = [header, _scenario_section(summary, cfg, hyd, run_dir), _kpi_section(summary, cfg),
            '<h2 id="charts">3. Charts</h2>' + _charts_html(charts, CHARTS_DIR, skipped_charts(run_dir / CHARTS_DIR)),
            _league_section(run_dir, summary), _robustness_section(summary, cfg, run_dir, _league_month(run_dir)),
            _assumptions_section(run_dir), _footer(reproduce_command(overrides), run_dir)]
    return _page(title, "\n".join(body)).decode("utf-8")


def write_report(run_dir: Path) -> Path:
    """Write ``run_dir/report.html`` (self-contained, atomically) and return its path."""
    run_dir = Path(run_dir)
    out = run_dir / REPORT_FILE
    write_bytes_atomic(out, render_report(run_dir).encode("utf-8"))
    return out


def _sweep_table(sweep_dir: Path) -> tuple[list[str], list[dict]]:
    path = sweep_dir / SWEEP_FILE
    if path.is_file():
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            return list(reader.fieldnames or []), list(reader)
    from analysis.sweep import aggregate  # no table yet: build it in memory
    header, rows = aggregate(sweep_dir)
    return header, [dict(zip(header, ("" if v is None else str(v) for v in r))) for r in rows]


def render_sweep_report(sweep_dir: Path) -> str:
    """The HTML of a sweep's report (see :func:`write_sweep_report`)."""
    sweep_dir = Path(sweep_dir)
    header, rows = _sweep_table(sweep_dir)
    if not rows:
        raise FileNotFoundError(f"no finished job in {sweep_dir} (no {SWEEP_FILE} rows, no */{SUMMARY_FILE})")
    keys = header[header.index("job") + 1:header.index("metric")] if "job" in header and "metric" in header else []
    jobs = list(dict.fromkeys(r["job"] for r in rows))
    table = {(r["job"], r["metric"]): r for r in rows}
    by_job = {r["job"]: r for r in rows}
    first = _read_json(sweep_dir / jobs[0] / SUMMARY_FILE)
    name = sweep_dir.name
    title = f"12345 hotline simulation: sweep {name}"
    values = {k: list(dict.fromkeys(by_job[j].get(k, "") for j in jobs)) for k in keys}
    varied = [k for k in keys if len(values[k]) > 1]
    fixed = [k for k in keys if len(values[k]) == 1]
    swept = "".join(f"<dt><code>{esc(k)}</code></dt><dd>{esc(', '.join(v or '(default)' for v in values[k]))}</dd>"
                    for k in varied)
    if fixed:
        swept += ("<dt>the same in every job</dt><dd>"
                  + ", ".join(f"<code>{esc(k)}={esc(values[k][0])}</code>" for k in fixed) + "</dd>")
    reps = sorted({r.get("n_replications", "") for r in rows})
    intro = (f"<p>{len(jobs)} jobs of scenario <code>{esc(first.get('scenario', ''))}</code>"
             + (f" ({esc(first.get('description'))})" if first.get("description") else "")
             + f", each a full run with {esc(', '.join(reps))} replications and root seed {esc(first.get('seed'))}: "
               "jobs with the same seed share their random numbers (common random numbers), so differences "
               "between them are due to what was swept, not to chance alone.</p>")
    facts = f'<dl class="facts">{swept}</dl>' if swept else '<p class="note">No swept keys found.</p>'
    kpis = [k for k in SWEEP_KPIS if any((j, k) in table for j in jobs)]
    all_keys, keys = keys, varied or keys
    kpi_table = "".join(_sweep_kpi_table(sweep_dir, jobs[i:i + SWEEP_JOBS_PER_TABLE], keys, kpis, table, by_job)
                        for i in range(0, len(jobs), SWEEP_JOBS_PER_TABLE))
    links = "".join(f'<li><code>{esc(j)}</code>: '
                    + (f'<a href="{esc(quote(j))}/{REPORT_FILE}">{esc(j)}/{REPORT_FILE}</a>'
                       if (sweep_dir / j / REPORT_FILE).is_file() else
                       f'no report yet (<code>python -m analysis.report {esc(sweep_dir / j)}</code>)')
                    + "</li>" for j in jobs)
    overrides = _hydra(sweep_dir / jobs[0])[2]
    sweep_cmd = _sweep_command(all_keys, values, name)
    charts = chart_entries(sweep_dir / CHARTS_DIR)
    body_html = [
        f'<header class="top"><p class="kicker">Briefing · 接诉即办 · sweep</p><h1>{esc(title)}</h1>'
        f'<nav class="toc"><a href="#swept">What was swept</a><a href="#kpis">KPIs per job</a>'
        f'<a href="#charts">Charts</a><a href="#jobs">Job reports</a></nav></header>',
        f'<h2 id="swept">1. What was swept</h2>{intro}{facts}',
        f'<h2 id="kpis">2. Headline KPIs per job</h2>{kpi_table}',
        f'<h2 id="charts">3. Charts</h2>{_charts_html(charts, CHARTS_DIR, skipped_charts(sweep_dir / CHARTS_DIR))}',
        f'<h2 id="jobs">4. Each job\'s own report</h2><p>Every job is a full run with its own briefing report '
        f'(scenario, league table, assumptions):</p><ul>{links}</ul>',
        _footer(sweep_cmd or reproduce_command(overrides), sweep_dir, "sweep"),
    ]
    return _page(title, "\n".join(body_html), wide=True).decode("utf-8")


#: Jobs side by side in one table of the sweep report (more: another table below).
SWEEP_JOBS_PER_TABLE = 6


def _sweep_kpi_table(sweep_dir: Path, jobs: list[str], keys: list[str], kpis: list[str], table: dict,
                     by_job: dict) -> str:
    """One table of the sweep report: a column per job (headed by its swept values and
    a link to its report), a row per KPI (mean, and the 95% CI below it)."""
    head_rows = []
    for k in keys or ["job"]:
        cells = "".join(f'<th class="num" scope="col">{esc(by_job[j].get(k, "") or "(default)") if keys else esc(j)}'
                        f'</th>' for j in jobs)
        head_rows.append(f'<tr><th scope="row" title="{esc(k)}"><code>{esc(k)}</code></th>{cells}</tr>')
    links = "".join('<td class="num">' + (f'<a href="{esc(quote(j))}/{REPORT_FILE}">report</a>'
                                          if (sweep_dir / j / REPORT_FILE).is_file()
                                          else '<span class="muted">no report yet</span>') + "</td>"
                    for j in jobs)
    body = [f'<tr class="links"><td class="muted">the job\'s own report</td>{links}</tr>']
    for k in kpis:
        _, label, zh, unit, *_ = KPI_INFO[k]
        cells = []
        for j in jobs:
            r = table.get((j, k))
            m = ({"mean": _float(r["mean"]), "ci_low": _float(r["ci_low"]), "ci_high": _float(r["ci_high"])}
                 if r else None)
            value, ci = _fmt_kpi(k, m)
            cells.append(f'<td class="num">{esc(value)}<span class="small">{esc(ci)}</span></td>')
        term = f" {esc(zh)}" if zh else ""
        body.append(f'<tr data-metric="{esc(k)}"><td>{esc(label)}{term}</td>{"".join(cells)}</tr>')
    cap = esc("Mean over the replications; below it, smaller, its 95% CI.")
    return (f'<div class="table-wrap"><table class="sweep"><caption>{cap}</caption><thead>{"".join(head_rows)}'
            f'</thead><tbody>{"".join(body)}</tbody></table></div>')


def _sweep_command(keys: list[str], values: dict, name: str) -> str:
    """The multirun command that re-creates a sweep from its swept values."""
    if not keys:
        return ""
    parts = [f"{k}={','.join(v for v in values[k] if v)}" for k in keys if any(values[k])]
    return " ".join(["python", "run.py", "-m", *(shlex.quote(p) for p in parts),
                     shlex.quote(f"sweep_name={name}")])


def write_sweep_report(sweep_dir: Path) -> Path:
    """Write ``sweep_dir/report.html`` (self-contained, atomically) and return its path."""
    sweep_dir = Path(sweep_dir)
    out = sweep_dir / REPORT_FILE
    write_bytes_atomic(out, render_sweep_report(sweep_dir).encode("utf-8"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write report.html for a run directory or a sweep directory.")
    parser.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    d = args.directory
    try:
        if (d / SUMMARY_FILE).is_file():
            path = write_report(d)
        else:
            path = write_sweep_report(d)
    except FileNotFoundError as err:
        print(f"report: {err}", file=sys.stderr)
        return 2
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
