"""One simulation's league tables ranked under every candidate weight set
(``experiment=weight_robustness``): which streets change class under which weights.

The official weights of the monthly ranking are not published, so the same month is
ranked under each candidate (``weight_robustness.weight_sets``: by default the four
files of ``conf/ranking/``) with everything else the run's own (``ranking``: class
sizes, rule, tie rule, minimum surveys). Without the accountability loop the weights
change nothing in the simulation -- only the table -- so one run re-ranked is exactly
what simulating each weight set would give, at a quarter of the cost.

With the loop (``accountability`` other than ``none``) the weights change what streets
do (pressure follows the table), so re-ranking one history is *not* simulating each
weight set: it answers "how would this history have been ranked", not "what would
these weights have done" (``experiment=ranking_design`` simulates each). The run then
logs a WARNING and the outputs say so.

Writes ``weight_robustness.csv`` (one row per month, weight set and street: rank and
class in replication 0, the table the city would publish, against the reference's; the
share of replications in which the street's class differs) and summary.json's
``weight_robustness`` block (per month and weight set, the streets leaving each class);
the chart ``weight_class_changes`` and the report read them.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from typing import Mapping

import numpy as np

from analysis.rankings.league import league_tables
from sim.city import City
from sim.errors import ConfigError
from sim.ranking import CLASSES, WEIGHT_KEYS, RankingConfig, class_label

log = logging.getLogger(__name__)

WEIGHT_ROBUSTNESS_FILE = "weight_robustness.csv"
KEY = "weight_robustness"
COLUMNS = ("month", "weight_set", "w_response", "w_resolution", "w_satisfaction", "unit", "district", "district_zh",
           "street", "street_zh", "code", "rank", "class", "reference_rank", "reference_class", "class_changed",
           "change_share", "replications")
#: Classes the weights can move: advanced and rectification by rank, improving by score
#: gain. Governance (tickets per 10,000 residents) does not depend on the weights.
WEIGHTED_CLASSES = ("advanced", "improving", "rectification")
ACCOUNTABILITY_NOTE = ("the accountability loop was on ({mode}): under it the weights change what streets do, so "
                       "these tables re-rank one simulated history under each weight set; they are not what "
                       "simulating each weight set would give (experiment=ranking_design does that)")


@dataclass(frozen=True)
class WeightRobustnessConfig:
    """``weight_sets``: name -> (response, resolution, satisfaction) weights."""

    weight_sets: Mapping[str, tuple[float, float, float]]


def build_weight_robustness_config(raw) -> WeightRobustnessConfig | None:
    """Validate ``weight_robustness`` (null: off). ``weight_sets`` maps a name to a
    ranking config (a file of conf/ranking/, composed by the experiment) or to its
    ``weights`` alone; only the weights are taken."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ConfigError(KEY, raw, "null or a mapping {weight_sets: {name: {weights: {...}}}}")
    unknown = sorted(set(raw) - {"weight_sets"})
    if unknown:
        raise ConfigError(f"{KEY}.{unknown[0]}", raw[unknown[0]], "the key weight_sets only")
    sets = raw.get("weight_sets")
    if not isinstance(sets, Mapping) or len(sets) < 2:
        raise ConfigError(f"{KEY}.weight_sets", sets, "a mapping of at least two named weight sets "
                                                     "(name: {weights: {response, resolution, satisfaction}})")
    out = {}
    for name, entry in sets.items():
        key = f"{KEY}.weight_sets.{name}"
        weights = entry.get("weights", entry) if isinstance(entry, Mapping) else entry
        if not isinstance(weights, Mapping) or set(weights) != set(WEIGHT_KEYS):
            raise ConfigError(f"{key}.weights", weights, "a mapping {response, resolution, satisfaction}")
        values = tuple(weights[k] for k in WEIGHT_KEYS)
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0
               for v in values) or not math.isclose(sum(values), 1.0, abs_tol=1e-6):
            raise ConfigError(f"{key}.weights", dict(weights), "non-negative weights that sum to 1")
        out[str(name)] = tuple(float(v) for v in values)
    return WeightRobustnessConfig(weight_sets=out)


def reference_name(cfg: WeightRobustnessConfig, rank_cfg: RankingConfig, choice: str | None) -> str:
    """The name of the run's own weights: the ``ranking`` choice if it is a candidate with
    the same weights, else the candidate with the same weights, else ``run``."""
    if choice in cfg.weight_sets and np.allclose(cfg.weight_sets[choice], rank_cfg.weights):
        return choice
    same = [n for n, w in cfg.weight_sets.items() if np.allclose(w, rank_cfg.weights)]
    return same[0] if same else "run"


def _street_tables(per_rep: list[dict], city: City, rank_cfg: RankingConfig) -> dict[tuple[int, str], dict]:
    """(replication, month) -> that month's street table, indexed by street id, with each
    street's class label (made once per table: the reference's tables meet every weight set)."""
    out = {}
    for t in league_tables(per_rep, city, rank_cfg):
        if t["level"] != "streets":
            continue
        order = np.argsort(t["unit"])
        classes = {c: np.asarray(t["classes"][c])[order] for c in CLASSES}
        out[(t["replication"], t["month"])] = {"unit": np.asarray(t["unit"])[order],
                                               "rank": np.asarray(t["rank"])[order], "classes": classes,
                                               "labels": [class_label(classes, i) for i in range(len(order))]}
    return out


def compare_weight_sets(per_rep: list[dict], city: City, rank_cfg: RankingConfig, cfg: WeightRobustnessConfig,
                        reference: str, accountability_mode: str = "none") -> tuple[list[list], dict]:
    """The rows of ``weight_robustness.csv`` and summary.json's block (module docstring).
    ``reference``: the name of the run's own weights (:func:`reference_name`)."""
    ref = _street_tables(per_rep, city, rank_cfg)
    months = sorted({m for _, m in ref})
    rows, block_months = [], {}
    for name, weights in cfg.weight_sets.items():
        cand = ref if np.allclose(weights, rank_cfg.weights) else \
            _street_tables(per_rep, city, replace(rank_cfg, weights=tuple(weights)))
        for month in months:
            reps = sorted(r for r, m in ref if m == month and (r, month) in cand)
            if not reps:
                continue
            changed = np.zeros(city.n_streets)
            per_class: dict[str, list[int]] = {c: [] for c in WEIGHTED_CLASSES}
            n_changed = []
            for r in reps:
                a, b = ref[(r, month)], cand[(r, month)]
                differs = np.array(a["labels"]) != np.array(b["labels"])
                changed[a["unit"]] += differs
                n_changed.append(int(np.sum(differs)))
                for c in WEIGHTED_CLASSES:
                    per_class[c].append(int(np.sum(a["classes"][c] & ~b["classes"][c])))
            a, b = ref[(reps[0], month)], cand[(reps[0], month)]
            la, lb = a["labels"], b["labels"]
            for i, unit in enumerate(a["unit"]):
                u = int(unit)
                d = int(city.street_district[u])
                rows.append([month, name, *weights, u, city.district_names[d], city.district_zh[d],
                             city.street_names[u], city.street_zh[u], city.street_code[u],
                             int(b["rank"][i]) or None, lb[i], int(a["rank"][i]) or None, la[i], int(la[i] != lb[i]),
                             round(float(changed[u]) / len(reps), 4), len(reps)])
            entry = block_months.setdefault(month, {})[name] = {
                "replications": len(reps),
                "streets_changing_class": n_changed[0],
                "same_ranks": bool(np.array_equal(a["rank"], b["rank"])),  # replication 0's table unchanged
                "streets_changing_class_mean": round(float(np.mean(n_changed)), 3),
                "classes": {}}
            for c in WEIGHTED_CLASSES:
                entry["classes"][c] = {
                    "reference_n": int(a["classes"][c].sum()),
                    "left": per_class[c][0],
                    "entered": int(np.sum(b["classes"][c] & ~a["classes"][c])),
                    "left_mean": round(float(np.mean(per_class[c])), 3),
                    "left_min": int(min(per_class[c])), "left_max": int(max(per_class[c])),
                    "streets_left": [city.street_zh[int(u)] for u in a["unit"][a["classes"][c] & ~b["classes"][c]]],
                    "streets_entered": [city.street_zh[int(u)] for u in
                                        a["unit"][b["classes"][c] & ~a["classes"][c]]],
                }
    note = ACCOUNTABILITY_NOTE.format(mode=accountability_mode) if accountability_mode != "none" else None
    block = {"reference": reference, "weight_sets": {n: dict(zip(WEIGHT_KEYS, w)) for n, w in cfg.weight_sets.items()},
             "one_simulation": True, "accountability": accountability_mode, "note": note, "months": block_months}
    return rows, block


def warn_if_feedback(accountability_mode: str) -> None:
    """A WARNING (console and run.log) when the loop makes re-ranking differ from simulating."""
    if accountability_mode != "none":
        log.warning("weight_robustness: %s", ACCOUNTABILITY_NOTE.format(mode=accountability_mode))


def write_weight_robustness(out_dir, rows: list[list]) -> None:
    """``weight_robustness.csv`` in the run directory (atomically)."""
    from pathlib import Path

    from analysis.io import write_csv_atomic
    write_csv_atomic(Path(out_dir) / WEIGHT_ROBUSTNESS_FILE, list(COLUMNS), rows)


def compared_month(block: dict | None, month: str | None = None) -> str | None:
    """``month`` if the block compares it, else the last month it compares (None: none)."""
    months = sorted((block or {}).get("months") or {})
    if not months:
        return None
    return month if month in months else months[-1]


def format_weight_robustness(block: dict, month: str | None = None) -> str:
    """The CLI's lines: per weight set, in ``month`` (default: the last), the streets
    that leave each class against the run's own weights."""
    month = compared_month(block, month)
    if month is None:
        return "weight robustness: no month is ranked, nothing to compare"
    ref = block["reference"]
    lines = [f"weight robustness {month} (replication 0; against {ref}): streets that leave each class under "
             f"other weights ({WEIGHT_ROBUSTNESS_FILE})"]
    for name, entry in block["months"][month].items():
        if name == ref:
            continue
        parts = [f"{c} {e['left']} of {e['reference_n']}" for c, e in entry["classes"].items()]
        lines.append(f"  {name:<12} {', '.join(parts)}; {entry['streets_changing_class']} street(s) change class "
                     f"(mean over {entry['replications']} replication(s): {entry['streets_changing_class_mean']:g})")
    if block.get("note"):
        lines.append(f"  NOTE: {block['note']}")
    return "\n".join(lines)
