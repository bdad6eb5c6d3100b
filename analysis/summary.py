"""Turn per-replication KPIs into the run's summary (mean and 95% CI), its tables and
the short table the CLI prints."""
from __future__ import annotations

import math
from pathlib import Path

from analysis.io import write_csv_atomic, write_json_atomic
from analysis.kpi import CALL_KPIS, HOURLY_KPIS, HOURS_PER_DAY
from analysis.stats import mean_ci

SUMMARY_FILE = "summary.json"
HOURLY_FILE = "hourly.csv"

#: How the CLI shows each KPI: (label, format, scale).
_DISPLAY = {
    "calls_offered": ("calls offered", "{:,.0f}", 1),
    "calls_offered_per_day": ("calls offered per day", "{:,.0f}", 1),
    "calls_answered": ("calls answered", "{:,.0f}", 1),
    "calls_abandoned": ("calls abandoned", "{:,.0f}", 1),
    "calls_waiting_at_end": ("still waiting at end", "{:,.0f}", 1),
    "redials": ("redials", "{:,.0f}", 1),
    "abandonment_rate": ("abandonment rate", "{:.2f}%", 100),
    "p_wait": ("P(wait > 0)", "{:.1f}%", 100),
    "service_level": ("service level", "{:.1f}%", 100),
    "asa_s": ("ASA (answered), s", "{:.1f}", 1),
    "mean_wait_s": ("mean wait (all offered), s", "{:.1f}", 1),
    "agent_occupancy": ("agent occupancy", "{:.1f}%", 100),
    "agents_on_duty_mean": ("agents on duty (mean)", "{:.1f}", 1),
    "tickets_created": ("tickets created", "{:,.0f}", 1),
    "tickets_per_day": ("tickets per day", "{:,.0f}", 1),
}


def _clean(x):
    """JSON-safe number: NaN and inf become None."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


#: KPIs that are shares, bounded by 1 (all KPIs are >= 0).
SHARE_KPIS = {"abandonment_rate", "p_wait", "service_level", "agent_occupancy"}


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
    for name in CALL_KPIS:
        values = [rep["overall"][name] for rep in per_rep]
        entry = bounded_ci(name, values)
        entry["per_replication"] = [_clean(v) for v in values]
        metrics[name] = entry
    return {"scenario": scenario, "replications": len(per_rep), **meta, "metrics": metrics}


def hourly_rows(per_rep: list[dict]) -> list[list]:
    """Tidy per-hour-of-day rows: hour, metric, mean, ci_low, ci_high."""
    rows = []
    for hour in range(HOURS_PER_DAY):
        for name in HOURLY_KPIS:
            ci = bounded_ci(name, [rep["hourly"][name][hour] for rep in per_rep])
            rows.append([hour, name, ci["mean"], ci["ci_low"], ci["ci_high"]])
    return rows


def write_outputs(out_dir: Path, summary: dict, per_rep: list[dict]) -> list[Path]:
    """Write ``summary.json`` and ``hourly.csv`` atomically; return their paths."""
    out_dir = Path(out_dir)
    write_json_atomic(out_dir / SUMMARY_FILE, summary)
    write_csv_atomic(out_dir / HOURLY_FILE, ["hour", "metric", "mean", "ci_low", "ci_high"], hourly_rows(per_rep))
    return [out_dir / SUMMARY_FILE, out_dir / HOURLY_FILE]


def format_table(summary: dict) -> str:
    """A short, readable table of the headline KPIs with their 95% CIs."""
    n = summary["replications"]
    lines = [f"scenario {summary['scenario']}: {n} replication(s) x {summary['measured_days']:g} measured days "
             f"(after {summary['warmup_days']:g} warm-up), mean and 95% CI over replications", ""]
    width = max(len(label) for label, _, _ in _DISPLAY.values())
    for name, (label, fmt, scale) in _DISPLAY.items():
        m = summary["metrics"][name]
        if m["mean"] is None:
            value = "n/a"
        else:
            value = fmt.format(m["mean"] * scale)
            if m["ci_low"] is not None:
                value += f"   [{fmt.format(m['ci_low'] * scale)} .. {fmt.format(m['ci_high'] * scale)}]"
        lines.append(f"  {label:<{width}}  {value}")
    return "\n".join(lines)
