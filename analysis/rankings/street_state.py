"""What the accountability loop did, street by street (``street_state_monthly.csv``), and
the regression-to-the-mean baseline any effect of the league table is measured against.

``street_state_monthly.csv``: one row per replication, month and street, for every month
whose league table the loop drew up (``accountability=pressure``): the table as the loop
saw it (rank, score, class) and the state it set for the months after (capacity =
caseworker slots, quality = latent quality + effort on the logit of true resolution,
gaming = chance an unsolved closure is gamed, pressure, consequence, 24-hour duty,
gamed tickets caught that month). The state is in force from the table's publication
(``accountability.publish_day`` of the next month) until the next one.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from analysis.io import write_csv_atomic
from analysis.rankings.league import league_tables
from sim.accountability import CONSEQUENCES
from sim.city import City
from sim.outcomes import street_quality
from sim.ranking import CLASSES, class_label

STREET_STATE_FILE = "street_state_monthly.csv"
STREET_STATE_COLUMNS = ("replication", "month", "street", "code", "street_zh", "district", "capacity", "quality",
                        "gaming", "pressure", "class", "rank", "score", "effort", "consequence", "duty_24h", "caught")


def street_state_rows(per_rep: list[dict], city: City, quality: np.ndarray) -> list[list]:
    """Rows of :data:`STREET_STATE_COLUMNS` from each replication's ``street_state``."""
    rows = []
    for rep, kpis in enumerate(per_rep):
        state = kpis.get("street_state")
        if not state:
            continue
        for m, month in enumerate(state["month"]):
            member = {c: state[f"is_{c}"][m] for c in CLASSES}
            for s in range(city.n_streets):
                rows.append([
                    rep, month, s, city.street_code[s], city.street_zh[s],
                    city.district_names[int(city.street_district[s])], int(state["caseworkers"][m][s]),
                    float(quality[s] + state["effort"][m][s]), float(state["gaming"][m][s]),
                    float(state["pressure"][m][s]), class_label(member, s), int(state["rank"][m][s]),
                    float(state["score"][m][s]), float(state["effort"][m][s]),
                    CONSEQUENCES[int(state["consequence"][m][s])], int(bool(state["duty_24h"][m][s])),
                    int(state["caught"][m][s])])
    return rows


def write_street_state(out_dir: Path, per_rep: list[dict], city: City, seed: int, quality_sd_logit: float) -> Path | None:
    """Write ``street_state_monthly.csv`` when the loop ran; return its path (None if not)."""
    if not any(kpis.get("street_state") for kpis in per_rep):
        return None
    quality = street_quality(seed, city.n_streets, quality_sd_logit)
    path = Path(out_dir) / STREET_STATE_FILE
    write_csv_atomic(path, list(STREET_STATE_COLUMNS), street_state_rows(per_rep, city, quality))
    return path


def accountability_summary(per_rep: list[dict], city: City, rank_cfg, mode: str) -> dict:
    """The ``accountability`` block of summary.json: the mode, the regression-to-the-mean
    baseline of the rectification streets (:func:`rectification_gain`) and, under the
    loop, the months it drew up and how many streets it named, summoned and inspected."""
    out = {"mode": mode, "rectification_next_month": rectification_gain(per_rep, city, rank_cfg)}
    states = [k["street_state"] for k in per_rep if k.get("street_state")]
    if states:
        out["months_acted_on"] = list(states[0]["month"])
        out["mean_streets_per_month"] = {
            level: float(np.mean([np.count_nonzero(s["consequence"] == k) / len(s["month"]) for s in states]))
            for k, level in enumerate(CONSEQUENCES) if k > 0}
    return out


def rectification_gain(per_rep: list[dict], city: City, rank_cfg) -> dict:
    """The next month's score gain of the streets in rectification, against everyone
    else's, from the reported league tables: with no feedback this is regression to
    the mean alone (the bottom of a noisy table rises on its own); under the loop it is
    that plus the loop's effect. Mean over (replication, month) pairs, with the number
    of street-months."""
    tables = [t for t in league_tables(per_rep, city, rank_cfg) if t["level"] == "streets"]
    gains, others = [], []
    by_rep: dict[int, list[dict]] = {}
    for t in tables:
        by_rep.setdefault(t["replication"], []).append(t)
    for months in by_rep.values():
        for before, after in zip(months, months[1:]):
            both = (before["rank"] > 0) & (after["rank"] > 0)
            gain = after["score"] - before["score"]
            rect = before["classes"]["rectification"] & both
            gains += gain[rect].tolist()
            others += gain[both & ~rect].tolist()
    if not gains:
        return {"street_months": 0}
    return {"street_months": len(gains), "rectification_gain_points": float(np.mean(gains)),
            "others_gain_points": float(np.mean(others)) if others else None,
            "meaning": "mean change in composite score (points) from a month to the next: streets in "
                       "rectification vs the rest; with accountability=none it is regression to the mean alone"}
