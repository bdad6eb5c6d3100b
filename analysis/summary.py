"""Turn per-replication KPIs into the run's summary (mean and 95% CI), its tables and
the short table the CLI prints."""
from __future__ import annotations

import logging
import math
import unicodedata
from pathlib import Path

import numpy as np

from analysis.catalogue import KPIS, SHARE_KPIS
from analysis.kpis.city_monthly import write_city_monthly
from analysis.io import json_ready, write_csv_atomic, write_json_atomic
from analysis.rundir import (BACKLOG_TREND_FILE, DISTRICTS_MONTHLY_FILE, FUNNEL_FILE, HOURLY_FILE,  # noqa: F401
                             LEAD_TIMES_FILE, RANKINGS_FILE, ROBUSTNESS_FILE, STREETS_MONTHLY_FILE, SUMMARY_FILE,
                             get, hydra_files, model_version, read_csv, read_json)
from analysis.kpis.calls import CALL_KPIS, HOURLY_KPIS, HOURS_PER_DAY
from hotline_sim import __version__
from analysis.rankings.league import (FUNNEL_COLUMNS, RANKING_COLUMNS, ROBUSTNESS_COLUMNS, focal_month, league_months,
                                      league_tables, ranking_rows, robustness_outputs)
from sim.ranking import CLASS_ZH, WEIGHT_KEYS
from analysis.kpis.stationarity import check_backlog_trend
from analysis.kpis.stats import mean_ci
from analysis.rankings.street_signal import signal_rows, street_signal
from analysis.kpis.tickets import LEAD_TIME_EDGES_H, MONTHLY_COLUMNS, MONTHLY_SHARES, TICKET_KPIS

log = logging.getLogger(__name__)




def _clean(x):
    """JSON-safe number: NaN and inf become None."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None




def bounded_ci(name: str, values) -> dict:
    """Mean and 95% CI, the interval clipped to the KPI's possible range (a count or
    time is never negative, a share never above 1)."""
    ci = {k: _clean(v) for k, v in mean_ci(values).items()}
    if ci["ci_low"] is not None:
        ci["ci_low"] = max(ci["ci_low"], 0.0)
        ci["ci_high"] = min(ci["ci_high"], 1.0) if name in SHARE_KPIS else ci["ci_high"]
    return ci


def summarise(scenario: str, meta: dict, per_rep: list[dict]) -> dict:
    """The content of ``summary.json`` from the list of per-replication KPI dicts."""
    metrics = {}
    names = CALL_KPIS + (TICKET_KPIS if "tickets_closed" in per_rep[0]["overall"] else ())
    for name in names:
        values = [rep["overall"][name] for rep in per_rep]
        entry = bounded_ci(name, values)
        entry["per_replication"] = [_clean(v) for v in values]
        metrics[name] = entry
    # which hotline-sim made it: the package's version (pyproject.toml), and that version
    # with a hash of the model's code and data (sim/, scenarios/), as the fingerprint uses
    out = {"scenario": scenario, "replications": len(per_rep), "hotline_sim_version": __version__,
           "model_version": model_version(), **meta, "metrics": metrics}
    if per_rep[0].get("monthly"):
        out["league_months"] = league_months(per_rep)
    return out


def hourly_rows(per_rep: list[dict]) -> list[list]:
    """Tidy per-hour-of-day rows: hour, metric, mean, ci_low, ci_high."""
    rows = []
    for hour in range(HOURS_PER_DAY):
        for name in HOURLY_KPIS:
            ci = bounded_ci(name, [rep["hourly"][name][hour] for rep in per_rep])
            rows.append([hour, name, ci["mean"], ci["ci_low"], ci["ci_high"]])
    return rows


def monthly_rows(per_rep: list[dict], level: str, city) -> tuple[list[str], list[list]]:
    """Tidy monthly rows of one level ("streets" or "districts"), one per replication,
    month and unit, with the unit's names."""
    unit_cols = (["district", "district_zh", "street", "street_zh"] if level == "streets"
                 else ["district", "district_zh"])
    header = ["replication", "month", *unit_cols, *MONTHLY_COLUMNS]
    rows = []
    for rep, kpis in enumerate(per_rep):
        table = kpis["monthly"][level]
        for i in range(len(table["unit"])):
            u = int(table["unit"][i])
            if level == "streets":
                d = int(city.street_district[u])
                names = [city.district_names[d], city.district_zh[d], city.street_names[u], city.street_zh[u]]
            else:
                names = [city.district_names[u], city.district_zh[u]]
            values = [_clean(table[c][i]) if c in MONTHLY_SHARES else int(table[c][i]) for c in MONTHLY_COLUMNS]
            rows.append([rep, str(table["month"][i]), *names, *values])
    return header, rows


def lead_time_rows(per_rep: list[dict], urgency_names: list[str]) -> list[list]:
    """Tidy rows of the lead-time histograms of every replication."""
    edges = LEAD_TIME_EDGES_H
    rows = []
    for rep, kpis in enumerate(per_rep):
        for u, counts in enumerate(kpis["lead_time_hist"]):
            for b, n in enumerate(counts):
                hi = edges[b + 1] if edges[b + 1] < 1e8 else None
                rows.append([rep, urgency_names[u], edges[b], hi, int(n)])
    return rows


def write_outputs(out_dir: Path, summary: dict, per_rep: list[dict], city=None, rank_cfg=None,
                  urgency_names: list[str] | None = None, basic_weight: float = 1.0) -> list[Path]:
    """Write ``summary.json``, ``hourly.csv`` and, with tickets, the monthly street,
    district and city-wide tables, the league tables and the street backlogs' trend test
    (``backlog_trend.csv``, the ``stationarity`` block), each atomically; return their
    paths."""
    out_dir = Path(out_dir)
    written = []
    if rank_cfg is not None and per_rep and per_rep[0].get("monthly"):
        tables = league_tables(per_rep, city, rank_cfg)
        warn_unranked_months(tables, rank_cfg.min_surveys)
        write_csv_atomic(out_dir / RANKINGS_FILE, list(RANKING_COLUMNS), ranking_rows(tables, city))
        written.append(out_dir / RANKINGS_FILE)
        summary["ranking"] = {"weights": dict(zip(WEIGHT_KEYS, rank_cfg.weights)),
                              "min_surveys": rank_cfg.min_surveys}
        if rank_cfg.robustness.enabled:
            rob_rows, funnel_rows, rob_summary = robustness_outputs(per_rep, tables, city, rank_cfg, basic_weight)
            signal = street_signal(tables, rank_cfg.rectification_n, rank_cfg.advanced_n)
            rob_rows += signal_rows(signal, ROBUSTNESS_COLUMNS)
            write_csv_atomic(out_dir / ROBUSTNESS_FILE, list(ROBUSTNESS_COLUMNS), rob_rows)
            write_csv_atomic(out_dir / FUNNEL_FILE, list(FUNNEL_COLUMNS), funnel_rows)
            written += [out_dir / ROBUSTNESS_FILE, out_dir / FUNNEL_FILE]
            summary["ranking"]["robustness"] = json_ready(rob_summary)
            summary["ranking"]["street_signal"] = json_ready(signal)
    summary["stationarity"] = check_backlog_trend(out_dir, per_rep, city, summary.get("warmup_days"))
    if summary["stationarity"]["tested"]:
        written.append(out_dir / BACKLOG_TREND_FILE)
    write_json_atomic(out_dir / SUMMARY_FILE, summary)
    write_csv_atomic(out_dir / HOURLY_FILE, ["hour", "metric", "mean", "ci_low", "ci_high"], hourly_rows(per_rep))
    written += [out_dir / SUMMARY_FILE, out_dir / HOURLY_FILE]
    if per_rep and per_rep[0].get("lead_time_hist") is not None:
        write_csv_atomic(out_dir / LEAD_TIMES_FILE, ["replication", "urgency", "bin_lo_h", "bin_hi_h", "tickets"],
                         lead_time_rows(per_rep, urgency_names))
        written.append(out_dir / LEAD_TIMES_FILE)
    if per_rep and per_rep[0].get("monthly"):
        for level, name in (("streets", STREETS_MONTHLY_FILE), ("districts", DISTRICTS_MONTHLY_FILE)):
            header, rows = monthly_rows(per_rep, level, city)
            write_csv_atomic(out_dir / name, header, rows)
            written.append(out_dir / name)
        written.append(write_city_monthly(out_dir, per_rep, basic_weight))
    return written


def warn_unranked_months(tables: list[dict], min_surveys: int) -> None:
    """A WARNING (console and run.log) for each month whose street table ranks no
    street in some replication, and why: too few answered callbacks."""
    empty: dict[str, list[int]] = {}
    for t in tables:
        if t["level"] == "streets" and not np.any(np.asarray(t["rank"]) > 0):
            empty.setdefault(t["month"], []).append(int(np.max(t["ns"][:, 1], initial=0)))
    n_reps = len({t["replication"] for t in tables})
    for month, most in empty.items():
        log.warning("no street is ranked in %s (%d of %d replication(s)): every street had fewer than "
                    "ranking.min_surveys = %d answered callbacks (the most any street had: %d); look at "
                    "survey_coverage and survey.staffing", month, len(most), n_reps, min_surveys, max(most))


def _display_width(text: str) -> int:
    """Terminal columns of ``text``: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def format_table(summary: dict) -> str:
    """A short, readable table of the headline KPIs with their 95% CIs."""
    n = summary["replications"]
    lines = [f"scenario {summary['scenario']}: {n} replication(s) x {summary['measured_days']:g} measured days "
             f"(after {summary['warmup_days']:g} warm-up), mean and 95% CI over replications", ""]
    shown = [(name, KPIS[name]) for name in KPIS if name in summary["metrics"]]
    width = max((_display_width(k.cli_label) for _, k in shown), default=0)
    for name, k in shown:
        m = summary["metrics"][name]
        if m["mean"] is None:
            value = "n/a"
        else:
            value = k.show(m["mean"])
            if m["ci_low"] is not None:
                value += f"   [{k.show(m['ci_low'])} .. {k.show(m['ci_high'])}]"
        lines.append(f"  {k.cli_label}{' ' * (width - _display_width(k.cli_label))}  {value}")
    return "\n".join(lines)


def format_league(out_dir: Path, city, show: int = 5) -> str:
    """The top and bottom of the focal month's street table (replication 0: the
    scenario's ``focal_month``, else the last month ranked in full,
    :func:`analysis.rankings.league.focal_month`), read back from ``rankings.csv`` so the CLI
    shows exactly what was written; one line saying why when there is none, or when
    no street of that month is ranked."""
    out_dir = Path(out_dir)
    rows = [r for r in read_csv(out_dir / RANKINGS_FILE) if r["replication"] == "0" and r["level"] == "street"]
    summary = read_json(out_dir / SUMMARY_FILE)
    months = summary.get("league_months", {})
    if not rows:
        why = "; ".join(f"{m}: {e['left_out']}" for m, e in months.items() if e.get("left_out"))
        return "street league table: no month is ranked" + (f" ({why})" if why else "")
    month, note = focal_month(months, {r["month"] for r in rows}, get(hydra_files(out_dir)[0], "focal_month"))
    if month is None:
        return f"street league table: {note}"
    this = [r for r in rows if r["month"] == month]
    ranked = sorted((r for r in this if r["rank"]), key=lambda r: int(r["rank"]))
    head = f"street league table {month} (replication 0" + (f"; {note}" if note else "") + ")"
    if not ranked:
        return f"{head}: no street ranked: {no_ranked_reason(out_dir, month, this, summary)}"
    shown = ranked[:show] + ranked[-show:]

    def names(r):  # Chinese name first, then the pinyin (rankings.csv also has the code)
        return " ".join(x for x in (r["street_zh"], r["street"]) if x), \
            " ".join(x for x in (r.get("district_zh", ""), r["district"]) if x)

    w_street = max([_display_width(names(r)[0]) for r in shown] + [6]) + 2
    w_district = max([_display_width(names(r)[1]) for r in shown] + [8]) + 2
    lines = [f"{head}: top and bottom {show} of {len(ranked)} ranked",
             f"  {'rank':>4}  {'score':>5}  {'street':<{w_street}}{'district':<{w_district}}class"]

    def line(r):
        cls = " ".join(f"{c}({CLASS_ZH[c]})" for c in r["class"].split("+") if c)
        street, district = names(r)
        return (f"  {int(r['rank']):>4}  {float(r['score']):5.1f}  {street}{' ' * (w_street - _display_width(street))}"
                f"{district}{' ' * (w_district - _display_width(district))}{cls}")
    lines += [line(r) for r in ranked[:show]] + ["   ..."] + [line(r) for r in ranked[-show:]]
    return "\n".join(lines)


def no_ranked_reason(out_dir: Path, month: str, rows: list[dict], summary: dict) -> str:
    """Why no street of ``month`` is ranked (replication 0's rows of rankings.csv): the
    answered callbacks against ``ranking.min_surveys``, and the month's survey coverage
    (streets_monthly.csv)."""
    min_surveys = get(summary, "ranking.min_surveys")
    answered = [int(float(r.get("satisfaction_n") or 0)) for r in rows]
    most, total = max(answered, default=0), sum(answered)
    text = (f"every street had fewer answered callbacks than ranking.min_surveys ({min_surveys}); "
            f"the most any street had: {most:,}, {total:,} in all") if min_surveys is not None else \
        f"too few answered callbacks (the most any street had: {most:,}, {total:,} in all)"
    made = missed = 0
    for r in read_csv(Path(out_dir) / STREETS_MONTHLY_FILE):
        if r.get("replication") == "0" and r.get("month") == month:
            made += float(r.get("survey_made") or 0)
            missed += float(r.get("survey_missed") or 0)
    if made + missed:
        text += (f"; survey coverage {made / (made + missed):.1%} (callbacks made within their window, "
                 "of those decided: see survey.staffing)")
    return text
