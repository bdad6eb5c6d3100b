"""The monthly league tables of a run: every replication's ranking of streets and of
districts, month by month, with classes; written to ``rankings.csv``.

Built from the monthly tables each replication produced (analysis.ticket_kpi); the
scoring, tie rule and classes are in :mod:`analysis.ranking`.
"""
from __future__ import annotations

import numpy as np

from analysis.ranking import CLASSES, RATES, RankingConfig, classes, rank_units
from sim.city import City

#: Columns of ``rankings.csv`` (one row per replication, month, level and unit).
RANKING_COLUMNS = ("replication", "month", "level", "unit", "district", "district_zh", "street", "street_zh",
                   "score", "rank", "class", *[f"is_{c}" for c in CLASSES],
                   "response_rate", "response_n", "resolution_rate", "resolution_n",
                   "satisfaction_rate", "satisfaction_n", "tickets", "demand_per_10k")
RATE_DENOMINATORS = ("responded_known", "surveyed", "surveyed")


def month_slices(table: dict) -> list[tuple[str, np.ndarray]]:
    """The months of a monthly table, in order, with the row mask of each."""
    months = list(dict.fromkeys(str(m) for m in table["month"]))
    return [(m, np.asarray(table["month"]) == m) for m in months]


def league_tables(per_rep: list[dict], city: City, cfg: RankingConfig) -> list[dict]:
    """One dict per (replication, month, level) with arrays over that level's units:
    ``unit, score, rank, classes, rates, ns, tickets, demand_per_10k``."""
    population = {"streets": city.street_population_10k,
                  "districts": city.district_population_10k}
    out = []
    for rep, kpis in enumerate(per_rep):
        for level in ("streets", "districts"):
            table = kpis["monthly"][level]
            prev = None
            for month, rows in month_slices(table):
                rates = np.column_stack([table[r][rows] for r in RATES]).astype(float)
                ns = np.column_stack([table[d][rows] for d in RATE_DENOMINATORS]).astype(float)
                scores, ranks = rank_units(rates, cfg.weights, ns[:, 1], cfg.min_surveys, table["unit"][rows])
                tickets = table["tickets"][rows].astype(float)
                demand = np.divide(tickets, population[level], out=np.full(len(tickets), np.nan),
                                   where=population[level] > 0)
                member = classes(ranks, scores, None if prev is None else prev["rank"],
                                 None if prev is None else prev["score"], demand, cfg)
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
            else:
                names = [city.district_names[u], city.district_zh[u], "", ""]
            member = [bool(t["classes"][c][i]) for c in CLASSES]
            label = "+".join(c for c, m in zip(CLASSES, member) if m)
            rates = [_num(t["rates"][i, k]) for k in range(3)]
            ns = [int(t["ns"][i, k]) for k in range(3)]
            rows.append([t["replication"], t["month"], t["level"][:-1], u, *names, _num(t["score"][i]),
                         int(t["rank"][i]) or None, label, *member,
                         rates[0], ns[0], rates[1], ns[1], rates[2], ns[2], int(t["tickets"][i]),
                         _num(t["demand_per_10k"][i])])
    return rows


def _num(x):
    x = float(x)
    return x if np.isfinite(x) else None
