"""City-wide monthly outputs of a run (``city_monthly.csv``): per ranked month and
metric, the mean over replications and its 95% t-interval.

Each replication's city-wide value of a month is computed from its monthly street table
(analysis.kpis.tickets.monthly_tables) as a ratio of sums over the streets (sums of
counts, never a mean of the streets' rates), so a city-wide rate weighs every ticket
alike. The months are those the league tables rank (``analysis.rankings.league.league_months``:
whole months whose callbacks were complete when the run ended); a month the league tables
leave out is left out here too.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from analysis.io import write_csv_atomic
from analysis.rankings.league import league_months, month_slices
from analysis.rundir import CITY_MONTHLY_FILE
from analysis.kpis.stats import mean_ci

CITY_MONTHLY_COLUMNS = ("month", "metric", "mean", "ci_low", "ci_high")

#: The metrics, in the file's order: name -> meaning (counts are of the month's street
#: tickets, by the month they were created in).
CITY_MONTHLY_METRICS = {
    "tickets": "street tickets created that month",
    "response_rate": "signed for in time / tickets whose response is known",
    "resolution_rate": "the citizen says solved / callbacks that reached the citizen (measured)",
    "satisfaction_rate": "(satisfied + w x basically satisfied) / callbacks that reached the citizen (measured)",
    "true_resolution_rate": "problem really solved / closed tickets, surveyed or not",
    "survey_coverage": "callbacks made in their window / callbacks decided",
    "repeat_calls": "tickets of repeat calls about a problem the street closed unsolved",
    "caseworkers": "street caseworker slots, all streets (in force at the month's end)",
    "gaming_share": "callbacks that heard 'solved' about an unsolved problem (gamed) / callbacks that reached the citizen",
}
#: Metrics that are shares (their interval is clipped to [0, 1]).
CITY_MONTHLY_SHARES = ("response_rate", "resolution_rate", "satisfaction_rate", "true_resolution_rate",
                       "survey_coverage", "gaming_share")


def _ratio(num: float, den: float) -> float:
    return num / den if den else float("nan")


def city_values(totals: dict[str, float], basic_weight: float) -> dict[str, float]:
    """The metrics of one month from the sums of its street counts."""
    s = totals
    return {
        "tickets": s["tickets"],
        "response_rate": _ratio(s["signed_on_time"], s["responded_known"]),
        "resolution_rate": _ratio(s["resolved"], s["surveyed"]),
        "satisfaction_rate": _ratio(s["satisfied"] + basic_weight * s["basically_satisfied"], s["surveyed"]),
        "true_resolution_rate": _ratio(s["solved"], s["closed"]),
        "survey_coverage": _ratio(s["survey_made"], s["survey_made"] + s["survey_missed"]),
        "repeat_calls": s["repeat_calls"],
        "caseworkers": s["caseworkers"],
        "gaming_share": _ratio(s.get("gamed", 0.0), s["surveyed"]),
    }


COUNTS = ("tickets", "signed_on_time", "responded_known", "resolved", "surveyed", "satisfied",
          "basically_satisfied", "solved", "closed", "survey_made", "survey_missed", "repeat_calls", "caseworkers",
          "gamed")


def city_months(per_rep: list[dict]) -> list[str]:
    """The months reported: those the league tables rank, in calendar order."""
    return sorted(m for m, entry in league_months(per_rep).items() if "left_out" not in entry)


def per_replication(per_rep: list[dict], basic_weight: float) -> dict[str, dict[str, list[float]]]:
    """``{month: {metric: [value of each replication]}}`` for the reported months."""
    months = city_months(per_rep)
    out = {m: {name: [] for name in CITY_MONTHLY_METRICS} for m in months}
    for kpis in per_rep:
        table = kpis["monthly"]["streets"]
        rows = dict(month_slices(table))
        for m in months:
            mask = rows.get(m)
            totals = {c: float(np.sum(np.asarray(table[c], dtype=float)[mask])) if mask is not None and c in table
                      else 0.0 for c in COUNTS}
            for name, value in city_values(totals, basic_weight).items():
                out[m][name].append(value)
    return out


def city_monthly_rows(per_rep: list[dict], basic_weight: float) -> list[list]:
    """Rows of ``city_monthly.csv``: month, metric, mean, ci_low, ci_high (None where
    unknown, e.g. the interval of a single replication); shares clipped to [0, 1]."""
    rows = []
    for month, metrics in per_replication(per_rep, basic_weight).items():
        for name, values in metrics.items():
            ci = mean_ci(values)
            if ci["ci_low"] is not None:
                ci["ci_low"] = max(ci["ci_low"], 0.0)
                if name in CITY_MONTHLY_SHARES:
                    ci["ci_high"] = min(ci["ci_high"], 1.0)
            rows.append([month, name, ci["mean"], ci["ci_low"], ci["ci_high"]])
    return rows


def write_city_monthly(out_dir: Path, per_rep: list[dict], basic_weight: float) -> Path:
    """Write ``city_monthly.csv`` into the run directory atomically; return its path."""
    path = Path(out_dir) / CITY_MONTHLY_FILE
    write_csv_atomic(path, list(CITY_MONTHLY_COLUMNS), city_monthly_rows(per_rep, basic_weight))
    return path
