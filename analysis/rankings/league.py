"""The monthly league tables of a run: every replication's ranking of streets and of
districts, month by month, with classes; written to ``rankings.csv``.

Built from the monthly tables each replication produced (analysis.kpis.tickets); the
scoring, tie rule and classes are in :mod:`analysis.ranking`.
"""
from __future__ import annotations

import numpy as np

from sim.ranking import CLASSES, RATES, RankingConfig, class_label, classes, demand_per_10k, rank_units
from sim.city import City

#: Columns of ``rankings.csv`` (one row per replication, month, level and unit); ``code``
#: is the street's 9-digit or the district's 6-digit official code (appended last).
RANKING_COLUMNS = ("replication", "month", "level", "unit", "district", "district_zh", "street", "street_zh",
                   "score", "rank", "class", *[f"is_{c}" for c in CLASSES],
                   "response_rate", "response_n", "resolution_rate", "resolution_n",
                   "satisfaction_rate", "satisfaction_n", "tickets", "demand_per_10k", "code")
RATE_DENOMINATORS = ("responded_known", "surveyed", "surveyed")


def month_slices(table: dict) -> list[tuple[str, np.ndarray]]:
    """The months of a monthly table, in order, with the row mask of each."""
    months = list(dict.fromkeys(str(m) for m in table["month"]))
    return [(m, np.asarray(table["month"]) == m) for m in months]


#: A month is ranked only if the measured window covers at least this share of it
#: (a few days of a month would give a league table of noise), unless no month does.
MIN_MONTH_COVERAGE = 0.999
#: ... and only if its surveys are complete: at most this share of its street tickets
#: drawn for a callback were still undecided (not closed, or inside the callback
#: window) when the run ended [assume]. A month cut off by the end of the run would
#: otherwise be ranked on its early, quick (easy) tickets.
MAX_SURVEY_PENDING_SHARE = 0.02


def survey_pending_share(table: dict) -> dict[str, float]:
    """Per month of a monthly street table: the share of tickets drawn for a callback
    whose callback was still pending at the end of the run."""
    out = {}
    for month, rows in month_slices(table):
        pending = float(np.sum(table["survey_pending"][rows]))
        drawn = pending + float(np.sum(table["survey_made"][rows]) + np.sum(table["survey_missed"][rows]))
        out[month] = pending / drawn if drawn else 0.0
    return out


def ranked_months(coverage: dict[str, float], pending: dict[str, float] | None = None) -> set[str]:
    """The months the league tables cover: those the window covers whole (else all)
    whose surveys are complete (``pending``: :func:`survey_pending_share`)."""
    full = {m for m, c in coverage.items() if c >= MIN_MONTH_COVERAGE} or set(coverage)
    pending = pending or {}
    return {m for m in full if pending.get(m, 0.0) <= MAX_SURVEY_PENDING_SHARE}


def league_months(per_rep: list[dict]) -> dict[str, dict]:
    """Which months the league tables rank and why the others are left out (for
    summary.json and the CLI): per month, the share the measured window covers, the
    mean share of callbacks still pending at the end, and in how many replications it
    is ranked."""
    out: dict[str, dict] = {}
    for kpis in per_rep:
        if not kpis.get("monthly"):
            continue
        pending = survey_pending_share(kpis["monthly"]["streets"])
        ranked = ranked_months(kpis["month_coverage"], pending)
        for month, covered in kpis["month_coverage"].items():
            entry = out.setdefault(month, {"window_share": round(covered, 4), "survey_pending_share": [],
                                           "ranked_replications": 0})
            entry["survey_pending_share"].append(pending.get(month, 0.0))
            entry["ranked_replications"] += month in ranked
    for month, entry in out.items():
        entry["survey_pending_share"] = round(float(np.mean(entry["survey_pending_share"])), 4)
        if entry["window_share"] < MIN_MONTH_COVERAGE:
            entry["left_out"] = "the measured window covers only part of it"
        elif entry["survey_pending_share"] > MAX_SURVEY_PENDING_SHARE:
            entry["left_out"] = (f"surveys incomplete: {entry['survey_pending_share']:.0%} of its callbacks were "
                                 f"still pending when the run ended (at most {MAX_SURVEY_PENDING_SHARE:.0%}); "
                                 "run longer (horizon_days) to rank it")
    return out


def league_tables(per_rep: list[dict], city: City, cfg: RankingConfig) -> list[dict]:
    """One dict per (replication, month, level) with arrays over that level's units:
    ``unit, score, rank, classes, rates, ns, tickets, demand_per_10k``. Only complete
    months, with complete surveys, are ranked (:func:`ranked_months`)."""
    population = {"streets": city.street_population_10k,
                  "districts": city.district_population_10k}
    out = []
    for rep, kpis in enumerate(per_rep):
        ranked = ranked_months(kpis["month_coverage"], survey_pending_share(kpis["monthly"]["streets"]))
        for level in ("streets", "districts"):
            table = kpis["monthly"][level]
            prev = None
            for month, rows in month_slices(table):
                if month not in ranked:
                    continue
                rates = np.column_stack([table[r][rows] for r in RATES]).astype(float)
                ns = np.column_stack([table[d][rows] for d in RATE_DENOMINATORS]).astype(float)
                scores, ranks = rank_units(rates, cfg.weights, ns[:, 1], cfg.min_surveys, table["unit"][rows])
                tickets = table["tickets"][rows].astype(float)
                demand = demand_per_10k(tickets, population[level])
                member = classes(ranks, scores, None if prev is None else prev["rank"],
                                 None if prev is None else prev["score"], demand, cfg, ns[:, 1])
                entry = {"replication": rep, "month": month, "level": level, "unit": table["unit"][rows],
                         "score": scores, "rank": ranks, "classes": member, "rates": rates, "ns": ns,
                         "tickets": tickets, "demand_per_10k": demand}
                out.append(entry)
                prev = entry
    return out


def ranking_rows(tables: list[dict], city: City) -> list[list]:
    """Rows of ``rankings.csv`` in :data:`RANKING_COLUMNS` order."""
    rows = []
    for t in tables:
        for i, u in enumerate(t["unit"]):
            u = int(u)
            if t["level"] == "streets":
                d = int(city.street_district[u])
                names = [city.district_names[d], city.district_zh[d], city.street_names[u], city.street_zh[u]]
                code = city.street_code[u]
            else:
                names = [city.district_names[u], city.district_zh[u], "", ""]
                code = city.district_code[u]
            member = [bool(t["classes"][c][i]) for c in CLASSES]
            label = class_label(t["classes"], i)
            rates = [_num(t["rates"][i, k]) for k in range(3)]
            ns = [int(t["ns"][i, k]) for k in range(3)]
            rows.append([t["replication"], t["month"], t["level"][:-1], u, *names, _num(t["score"][i]),
                         int(t["rank"][i]) or None, label, *member,
                         rates[0], ns[0], rates[1], ns[1], rates[2], ns[2], int(t["tickets"][i]),
                         _num(t["demand_per_10k"][i]), code])
    return rows


def _num(x):
    x = float(x)
    return x if np.isfinite(x) else None


#: Columns of ``robustness.csv``: a street's rank distribution per month and source
#: (:mod:`analysis.rankings.robustness`), then the run-level statistics of the street-signal rows
#: (source ``street_signal``, no unit; :func:`analysis.rankings.street_signal.signal_rows`),
#: empty in the per-street rows.
UNIT_ROBUSTNESS_COLUMNS = ("month", "source", "unit", "district", "street", "street_zh", "nominal_rank",
                           "median_rank", "rank_p05", "rank_p95", "p_top_n", "p_bottom_n", "share_ranked")
SIGNAL_COLUMNS = ("statistic", "previous_month", "value", "ci_low", "ci_high", "n", "note")
ROBUSTNESS_COLUMNS = UNIT_ROBUSTNESS_COLUMNS + SIGNAL_COLUMNS
FUNNEL_COLUMNS = ("month", "rate", "unit", "district", "street", "street_zh", "value", "n", "p0", "lo95", "hi95",
                  "lo998", "hi998", "flag")
COUNT_COLUMNS = ("signed_on_time", "responded_known", "surveyed", "resolved", "satisfied", "basically_satisfied")


def street_counts(per_rep: list[dict], rep: int, month: str) -> dict[str, np.ndarray]:
    """One month's street counts of one replication, indexed by street id."""
    table = per_rep[rep]["monthly"]["streets"]
    rows = np.asarray(table["month"]) == month
    order = np.argsort(table["unit"][rows])
    return {c: np.asarray(table[c][rows])[order] for c in COUNT_COLUMNS}


def robustness_outputs(per_rep: list[dict], tables: list[dict], city: City, cfg: RankingConfig,
                       basic_weight: float) -> tuple[list[list], list[list], dict]:
    """Rank robustness and funnel data of every month, for replication 0's league table
    (the one the city would publish), with the other replications as simulation noise.

    Returns (robustness rows, funnel rows, summary {month: {"sources": overall stats,
    "effective_weights": ...}})."""
    from analysis.rankings.funnel import funnel_table
    from analysis.rankings.robustness import effective_weights, rank_distributions, rates_from_counts

    names = _street_names(city)
    rob_rows, funnel_rows, summary = [], [], {}
    months = sorted({t["month"] for t in tables if t["level"] == "streets"})
    for month in months:
        counts = street_counts(per_rep, 0, month)
        by_rep = [t for t in tables if t["level"] == "streets" and t["month"] == month]
        rep_ranks = np.column_stack([t["rank"][np.argsort(t["unit"])] for t in by_rep]) if len(by_rep) > 1 else None
        result = rank_distributions(counts, basic_weight, cfg.weights, cfg.robustness, cfg.min_surveys,
                                    cfg.advanced_n, cfg.rectification_n, rep_ranks)
        u = result.units
        for i in range(len(u["unit"])):
            unit = int(u["unit"][i])
            rob_rows.append([month, str(u["source"][i]), unit, *names[unit], int(u["nominal_rank"][i]) or None,
                             *(_num(u[c][i]) for c in UNIT_ROBUSTNESS_COLUMNS[7:]), *[None] * len(SIGNAL_COLUMNS)])
        rates = rates_from_counts(counts, basic_weight)
        eligible = result.nominal_ranks > 0
        eff = effective_weights(rates, cfg.weights, eligible)
        summary[month] = {"sources": result.overall,
                          "effective_weights": {str(r): {"nominal": float(nw), "first_order": float(fo),
                                                         "first_order_normalised": float(fn)}
                                                for r, nw, fo, fn in zip(eff["rate"], eff["nominal_weight"],
                                                                         eff["first_order"],
                                                                         eff["first_order_normalised"])}}
        f = funnel_table(counts, basic_weight)
        for i in range(len(f["unit"])):
            unit = int(f["unit"][i])
            funnel_rows.append([month, str(f["rate"][i]), unit, *names[unit],
                                *(_num(f[c][i]) for c in ("value", "n", "p0", "lo95", "hi95", "lo998", "hi998")),
                                str(f["flag"][i])])
    return rob_rows, funnel_rows, summary


def _street_names(city: City) -> list[tuple[str, str, str]]:
    return [(city.district_names[int(city.street_district[s])], city.street_names[s], city.street_zh[s])
            for s in range(city.n_streets)]


def _why_not_full(month: str, entry: dict) -> str:
    """Why ``month`` has no complete league table, in a few words."""
    parts = []
    share = entry.get("window_share")
    if share is not None and share < MIN_MONTH_COVERAGE:
        parts.append(f"the measured window covers {share:.0%} of it")
    pending = entry.get("survey_pending_share")
    if pending is not None and pending > MAX_SURVEY_PENDING_SHARE:
        parts.append(f"{pending:.0%} of its callbacks were still pending at the end")
    if not parts and entry.get("left_out"):
        parts.append(entry["left_out"])
    return f"{month}: " + (" and ".join(parts) if parts else "not ranked")


def focal_month(months: dict[str, dict], tabled, requested: str | None = None) -> tuple[str | None, str | None]:
    """The month the CLI and the report show, and a note: the scenario's ``focal_month``
    if it has a table (the note says so when the window covers only part of it), else
    the last month ranked in full (whole month measured, surveys complete). ``months``:
    summary.json's ``league_months``; ``tabled``: the months with a table (in
    rankings.csv). Without one, (None, why) in one line."""
    tabled = sorted(set(tabled))
    if requested:
        requested = str(requested)
        if requested in tabled:
            share = (months.get(requested) or {}).get("window_share")
            partial = share is not None and share < MIN_MONTH_COVERAGE
            return requested, ("the scenario's focal_month" + (
                f", partial: the measured window covers only {share:.0%} of it" if partial else ""))
        entry = months.get(requested)
        why = _why_not_full(requested, entry) if entry else f"{requested} is outside the measured window"
        return None, f"the scenario's focal_month {requested} has no league table ({why})"
    if not months:  # an older run without league_months: its last table
        return (tabled[-1], None) if tabled else (None, "no month is ranked")
    full = [m for m in tabled if m in months and not months[m].get("left_out")]
    if full:
        return full[-1], None
    why = "; ".join(_why_not_full(m, e) for m, e in sorted(months.items()))
    hint = ("rankings.csv has the partial months' tables; name one with focal_month, or lengthen horizon_days"
            if tabled else "lengthen horizon_days")
    return None, f"no month is ranked in full ({why}): {hint}"
