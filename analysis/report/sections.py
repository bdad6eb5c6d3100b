"""The data of each section of a report, as plain dicts and lists of text for the
templates (``templates/run.html.j2``, ``sweep.html.j2``): numbers are formatted here,
the words around them and the markup are the templates'. :func:`run_context` and
:func:`sweep_context` gather a whole report."""
from __future__ import annotations

import base64
import calendar
import datetime as dt
import re
from pathlib import Path
from urllib.parse import quote

from analysis.report.formatting import (date, days, fmt_kpi, fmt_value, last_day, pct, period, reproduce_command,
                                        sweep_command, to_float)
from analysis.report.provenance import assumption_rows, tags
from analysis.report.reader import (chart_entries, data_files, get, hydra, launch_options, read_csv, read_json,
                                    skipped_charts, sweep_table, version)
from analysis.report.vocabulary import (CALL_ROWS, CARDS, CHARTS_DIR, CLASS_ZH, FILE_GROUPS, KPI_INFO, LEAGUE_SHOW,
                                        PACKAGE, RANKINGS_FILE, RATE_COLUMNS, RATE_LABELS, REPORT_FILE,
                                        ROBUSTNESS_SOURCES, SUMMARY_FILE, SWEEP_FILE, SWEEP_JOBS_PER_TABLE,
                                        SWEEP_KPIS, TICKET_ROWS)
from sim import dispatch as dispatch_policies

#: Headings of the three rate columns of the league tables: (Chinese, English).
RATE_HEADS = [(zh, en.lower()) for en, zh in (RATE_LABELS[r] for r in RATE_COLUMNS)]


# ------------------------------------------------------------------ 1. scenario
def scenario(summary: dict, cfg: dict, hyd: dict) -> dict:
    """The scenario in plain words: period, call centre, calls, dispatch, league-table
    weights, replications."""
    p = period(summary)
    out: dict = {"scenario": summary.get("scenario", ""),
                 "description": summary.get("description") or cfg.get("description") or "",
                 "period": None, "centre": None, "calls": None, "dispatch": None, "weights": None,
                 "replications": summary.get("replications"), "seed": summary.get("seed")}
    if p:
        out["period"] = {"start": date(p["start"]), "end": date(last_day(p["end"])), "horizon": days(p["horizon"]),
                         "measure_start": date(p["measure_start"]), "measured": days(p["horizon"] - p["warmup"]),
                         "warmup": days(p["warmup"])}
    seats, roster = get(cfg, "call_center.seats"), get(cfg, "call_center.roster")
    on_duty = get(summary, "metrics.agents_on_duty_mean.mean")
    if seats is not None:
        out["centre"] = {"seats": seats, "roster": None if roster is None else fmt_value(roster, 60),
                         "on_duty": f"{on_duty:,.0f}" if isinstance(on_duty, (int, float)) else None}
    daily = get(cfg, "arrivals.daily_calls")
    if daily is not None:
        offered = get(summary, "metrics.calls_offered_per_day.mean")
        share = get(cfg, "call_center.ticket_share")
        out["calls"] = {"daily": f"{float(daily):,.0f}",
                        "offered": f"{offered:,.0f}" if isinstance(offered, (int, float)) else None,
                        "ticket_share": f"{share:.0%}" if isinstance(share, (int, float)) else None}
    policy = get(cfg, "dispatch.policy") or summary.get("dispatch")
    if policy:
        street = get(cfg, "dispatch.street_share")
        out["dispatch"] = {"words": dispatch_policies.describe(policy)[2],
                           "street_share": f"{street:.0%}" if isinstance(street, (int, float)) else None}
    ranking = summary.get("ranking") if isinstance(summary.get("ranking"), dict) else None
    if ranking and isinstance(ranking.get("weights"), dict):
        out["weights"] = {"weights": [f"{RATE_LABELS.get(k, (k, ''))[1]} {RATE_LABELS.get(k, (k, ''))[0].lower()} "
                                      f"{float(v):.0%}" for k, v in ranking["weights"].items()],
                          "choice": get(hyd, "runtime.choices.ranking"), "min_surveys": ranking.get("min_surveys")}
    return out


# ------------------------------------------------------------------ 2. KPIs
def cards(metrics: dict) -> list[dict]:
    """The KPI cards: label, Chinese term, value (without a unit the label says), CI."""
    out = []
    for name in CARDS:
        if name not in metrics:
            continue
        _, label, zh, unit, *_ = KPI_INFO[name]
        value, ci = fmt_kpi(name, metrics[name])
        if unit != "%" and value.endswith(" " + unit):  # the label says it ("per day")
            value = value[:-len(unit) - 1]
        out.append({"label": label, "zh": zh, "value": value,
                    "ci": f"95% CI {ci}" if ci and not ci.startswith("(") else ci})
    return out


def kpis(summary: dict, cfg: dict) -> dict:
    """The KPI table, by group (call centre, tickets), with its caption."""
    metrics = summary.get("metrics", {}) or {}
    fill = {"sl": get(cfg, "call_center.sl_threshold_s", "?"), "rt": get(cfg, "streets.response_threshold_h", "?"),
            "bw": get(cfg, "survey.basic_satisfied_weight", "?")}
    groups = []
    for group, spec in (("Call centre", CALL_ROWS), ("Tickets (接诉即办)", TICKET_ROWS)):
        rows = []
        for name, label, zh, _, _, _, meaning in (r for r in spec if r[0] in metrics):
            value, ci = fmt_kpi(name, metrics[name])
            rows.append({"name": name, "label": label, "zh": zh, "value": value, "ci": ci,
                         "meaning": meaning.format(**fill)})
        if rows:
            groups.append({"name": group, "rows": rows})
    n, measured = summary.get("replications"), summary.get("measured_days")
    caption = (f"Mean over {n} replications and its 95% confidence interval; every KPI counts what arrived in the "
               f"{measured:g} measured days." if isinstance(measured, (int, float)) else
               f"Mean over {n} replications and its 95% confidence interval.")
    return {"cards": cards(metrics), "groups": groups, "caption": caption,
            "centre_only": not any(r[0] in metrics for r in TICKET_ROWS)}


# ------------------------------------------------------------------ 3. charts
def charts(chart_dir: Path, rel: str = CHARTS_DIR) -> dict:
    """The charts of a folder, each with its heading, caption, alt text and the PNG as
    base64; the charts not drawn, with the reason."""
    entries = chart_entries(chart_dir)
    return {"rel": rel, "svg": any(c["svg"] for c in entries), "skipped": skipped_charts(chart_dir),
            "charts": [{"name": c["name"], "heading": c["heading"], "caption": c["caption"],
                        "alt": " ".join(t for t in (c["title"], c.get("title_zh", ""), c["caption"]) if t),
                        "b64": base64.b64encode(c["data"]).decode("ascii")} for c in entries]}


# ------------------------------------------------------------------ 4. league table
def _classes(label: str) -> list[tuple[str, str]]:
    """(class, Chinese name) of a "+"-joined class label."""
    return [(c, CLASS_ZH.get(c, "")) for c in (label or "").split("+") if c]


def _score(r: dict) -> str:
    score = to_float(r.get("score"))
    return "n/a" if score is None else f"{score:.1f}"


def _rates(r: dict) -> list[str]:
    return [pct(to_float(r.get(c)), 1) for c in RATE_COLUMNS]


def league_month(run_dir: Path) -> str | None:
    """The focal month of replication 0's street league table (as the CLI's)."""
    months = [r["month"] for r in read_csv(Path(run_dir) / RANKINGS_FILE)
              if r.get("replication") == "0" and r.get("level") == "street"]
    return _focal(run_dir, read_json(Path(run_dir) / SUMMARY_FILE), months)[0]


def _focal(run_dir: Path, summary: dict, months) -> tuple[str | None, str | None]:
    """The scenario's ``focal_month``, else the last month ranked in full, and a note
    (:func:`analysis.rankings.league.focal_month`)."""
    from analysis.rankings.league import focal_month
    return focal_month(summary.get("league_months") or {}, months, get(hydra(run_dir)[0], "focal_month"))


def league(run_dir: Path, summary: dict) -> dict:
    """Replication 0's street (top and bottom) and district tables of the focal month
    (the scenario's ``focal_month``, else the last month ranked in full); ``note``
    instead when there is none."""
    rows = read_csv(Path(run_dir) / RANKINGS_FILE)
    if not rows:
        reason = ("this scenario has no ticket side" if not summary.get("dispatch")
                  else f"no {RANKINGS_FILE} in the run directory")
        return {"note": f"No league table: {reason}."}
    rep0 = [r for r in rows if r.get("replication") == "0"]
    streets = [r for r in rep0 if r.get("level") == "street"]
    if not streets:
        return {"note": "No street rows in replication 0 of rankings.csv."}
    month, why = _focal(run_dir, summary, {r["month"] for r in streets})
    if month is None:
        return {"note": f"No league table shown: {why}."}
    this = [r for r in streets if r["month"] == month]
    ranked = sorted((r for r in this if r.get("rank")), key=lambda r: int(float(r["rank"])))

    def street_row(r):
        return {"rank": int(float(r["rank"])), "street": (r.get("street", ""), r.get("street_zh", "")),
                "district": (r.get("district", ""), r.get("district_zh", "")), "score": _score(r),
                "rates": _rates(r), "callbacks": r.get("satisfaction_n", ""), "classes": _classes(r.get("class", ""))}

    if len(ranked) <= 2 * LEAGUE_SHOW:
        body = [street_row(r) for r in ranked]
        caption = f"All {len(ranked)} ranked streets"
    else:
        gap = {"gap": f"… {len(ranked) - 2 * LEAGUE_SHOW} streets ranked {LEAGUE_SHOW + 1}–"
                      f"{len(ranked) - LEAGUE_SHOW} not shown (all in rankings.csv) …"}
        body = [street_row(r) for r in ranked[:LEAGUE_SHOW]] + [gap] + [street_row(r) for r in ranked[-LEAGUE_SHOW:]]
        caption = f"Top and bottom {LEAGUE_SHOW} of {len(ranked)} ranked streets"
    districts = [r for r in rep0 if r.get("level") == "district" and r["month"] == month]
    districts.sort(key=lambda r: (0, int(float(r["rank"]))) if r.get("rank") else (1, r.get("district", "")))
    district_rows = [{"rank": int(float(r["rank"])) if r.get("rank") else "–",
                      "district": (r.get("district", ""), r.get("district_zh", "")), "score": _score(r),
                      "rates": _rates(r),
                      "tickets": "" if to_float(r.get("tickets")) is None else f"{to_float(r.get('tickets')):,.0f}",
                      "classes": _classes(r.get("class", ""))} for r in districts]
    return {"note": None, "month": month, "ranked": len(ranked), "streets": len(this),
            "unranked": len(this) - len(ranked), "min_surveys": get(summary, "ranking.min_surveys"),
            "partial": partial_month(month, summary, others=len({r["month"] for r in streets}) > 1),
            "rows": body, "caption": caption, "districts": district_rows,
            "districts_caption": f"All {len(districts)} districts, {month}, replication 0"}


def partial_month(month: str, summary: dict, others: bool = False) -> dict | None:
    """How many days of ``month`` the run measured, when not all of them."""
    p = period(summary)
    try:
        year, mon = (int(x) for x in month.split("-")[:2])
    except ValueError:
        return None
    if not p:
        return None
    first = dt.datetime(year, mon, 1)
    days_in = calendar.monthrange(year, mon)[1]
    nxt = first + dt.timedelta(days=days_in)
    covered = (min(nxt, p["end"]) - max(first, p["measure_start"])).total_seconds() / 86400
    if covered >= days_in - 1e-9:
        return None
    return {"covered": f"{covered:g}", "days": days_in, "month": month, "others": others, "file": RANKINGS_FILE}


# ------------------------------------------------------------------ 5. robustness
MONTH_RE = re.compile(r"^\d{4}-\d{2}$")


def robustness_by_month(rob) -> dict[str, dict]:
    """``summary["ranking"]["robustness"]`` as ``{month: {"sources": {source: stats},
    "effective_weights": ...}}``: the month-keyed form as written by
    :func:`analysis.rankings.league.robustness_outputs`; a single-month form (``{"overall" or
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


def _tau_gt10(v) -> str:
    if not isinstance(v, dict):
        return "–"
    tau = to_float(v.get("kendall_tau_mean"))
    return f"{'n/a' if tau is None else f'{tau:.2f}'} · {pct(to_float(v.get('share_shift_gt10')))}"


def robustness(summary: dict, cfg: dict, run_dir: Path, month_shown: str | None = None) -> dict:
    """How firm the league table is: per source of uncertainty (Kendall τ, moves), the
    other months in brief, the effective weights. ``state``: ``"no_ranking"``,
    ``"missing"`` (with ``switched_off``) or ``"ok"``."""
    ranking = summary.get("ranking") if isinstance(summary.get("ranking"), dict) else None
    if ranking is None:
        return {"state": "no_ranking"}
    months = robustness_by_month(ranking.get("robustness"))
    if not months:
        return {"state": "missing", "switched_off": get(cfg, "ranking.robustness.enabled") is False}
    month = month_shown if month_shown in months else list(months)[-1]
    overall = months[month]["sources"] or {}
    sources = _source_names(overall)
    out: dict = {"state": "ok", "month": month, "sources": [], "worst": None, "others": None, "effective": None}
    for src in sources:
        v = overall[src]
        tau = to_float(v.get("kendall_tau_mean"))
        lo, hi = to_float(v.get("kendall_tau_p05")), to_float(v.get("kendall_tau_p95"))
        shift = to_float(v.get("mean_abs_shift"))
        out["sources"].append({
            "label": ROBUSTNESS_SOURCES.get(src, src), "name": src, "tau": "n/a" if tau is None else f"{tau:.2f}",
            "range": f"{lo:.2f} – {hi:.2f}" if lo is not None and hi is not None else "",
            "shift": "n/a" if shift is None else f"{shift:.1f}",
            "gt3": pct(to_float(v.get("share_shift_gt3"))), "gt10": pct(to_float(v.get("share_shift_gt10")))})
    taus = {x: to_float(overall[x].get("kendall_tau_mean")) for x in sources}
    worst = min((x for x in sources if taus[x] is not None), key=lambda x: taus[x], default=None)
    if worst is not None:
        v = overall[worst]
        units = to_float(v.get("units"))
        out["worst"] = {"label": ROBUSTNESS_SOURCES.get(worst, worst).lower(), "tau": f"{taus[worst]:.2f}",
                        "gt3": pct(to_float(v.get("share_shift_gt3"))),
                        "of": f"of the {units:,.0f} ranked streets" if units else "of the ranked streets",
                        "gt10": pct(to_float(v.get("share_shift_gt10")))}
    others = [m for m in months if m != month and months[m]["sources"]]
    if others:
        cols = _source_names(months[others[0]]["sources"])
        out["others"] = {"heads": [ROBUSTNESS_SOURCES.get(c, c).split(" (")[0] for c in cols],
                         "rows": [(m, [_tau_gt10(months[m]["sources"].get(c)) for c in cols]) for m in others]}
    eff = _effective_weight_rows(months[month].get("effective_weights") or ranking.get("effective_weights"),
                                 ranking.get("weights") or {})
    if eff:
        out["effective"] = [(f"{zh} {en}", pct(nom), pct(e)) for en, zh, nom, e in eff]
    out["signal"] = street_signal(ranking.get("street_signal"))
    out["files"] = [f for f in ("robustness.csv", "funnel.csv") if (Path(run_dir) / f).is_file()]
    return out


def street_signal(sig) -> dict | None:
    """The two headline numbers of ``summary["ranking"]["street_signal"]``
    (:mod:`analysis.rankings.street_signal`) as text: the ICC of the composite score across
    replications and the month-to-month rank correlation, each with its 95% CI or the
    reason it is not available; None without that block."""
    if not isinstance(sig, dict):
        return None
    reasons = sig.get("reasons") if isinstance(sig.get("reasons"), dict) else {}

    def value(key: str, reason_key: str) -> dict:
        v = to_float(sig.get(key))
        ci = sig.get(f"{key}_ci") if isinstance(sig.get(f"{key}_ci"), list) else [None, None]
        lo, hi = (to_float(c) for c in (ci + [None, None])[:2])
        return {"value": None if v is None else f"{v:.2f}",
                "ci": f"{lo:.2f} – {hi:.2f}" if lo is not None and hi is not None else "",
                "reason": reasons.get(reason_key) or "not available"}

    stay, chance = to_float(sig.get("bottom_n_stay")), to_float(sig.get("bottom_n_stay_chance"))
    n = to_float(sig.get("bottom_n"))
    return {"month": sig.get("icc_month") or "", "icc": value("icc", "icc"),
            "share": pct(to_float(sig.get("icc"))),
            "rho": value("rank_correlation", "rank_correlation"),
            "stay": None if stay is None or n is None else
            {"stay": f"{stay:.1f}", "n": f"{n:.0f}", "chance": "n/a" if chance is None else f"{chance:.1f}"}}


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
            out.append((en, zh, to_float(nom), to_float(col[i]) if col else None))
        return out
    for rate, v in eff.items():
        en, zh = RATE_LABELS.get(rate, (rate, ""))
        if isinstance(v, dict):
            e = next((v[k] for k in pick if k in v), None)
            nom = v.get("nominal_weight", v.get("nominal", nominal.get(str(rate).replace("_rate", ""))))
        else:
            e, nom = v, nominal.get(str(rate).replace("_rate", ""))
        out.append((en, zh, to_float(nom), to_float(e)))
    return out


# ------------------------------------------------------------------ 6. assumptions
def _file_order(path: str) -> int:
    """The group of a config file by its place in conf/ (a user's ``--config-dir`` file:
    its place in that folder, ``scenario/x.yaml`` as ``conf/scenario/x.yaml``)."""
    return next((i for i, (prefix, _) in enumerate(FILE_GROUPS) if path.startswith(prefix)), len(FILE_GROUPS))


def assumptions(run_dir: Path, cfg: dict) -> dict:
    """The assumptions table: a heading row per group of config files (with the file
    when the group has one), then its tagged parameters."""
    rows = sorted(assumption_rows(run_dir), key=lambda r: _file_order(r.get("place", r["file"])))
    body = []
    group = None
    for r in rows:
        order = _file_order(r.get("place", r["file"]))
        files = sorted({x["file"] for x in rows if _file_order(x.get("place", x["file"])) == order})
        if order != group:
            group = order
            body.append({"group": FILE_GROUPS[order][1] if order < len(FILE_GROUPS) else "Other",
                         "file": files[0] if len(files) == 1 else None})
        body.append({"key": r["key"].split("."), "file": r["file"] if len(files) > 1 else None,
                     "value": r["value"].split("\n"), "flags": r["flags"], "comment": r["comment"],
                     "tags": [("pub" if t[1:].startswith("pub") else "assume", t) for t in tags(" ".join(r["tags"]))]})
    n_pub = sum(any(t.startswith("[pub") for t in r["tags"]) for r in rows)
    n_assume = sum(any(t.startswith("[assume") for t in r["tags"]) for r in rows)
    return {"centre_only": cfg.get("dispatch") is None and "dispatch" in cfg, "rows": body,
            "caption": f"{len(rows)} parameters: {n_pub} with a published source, {n_assume} with a modelling "
                       f"assumption (a parameter can carry both)"}


# ------------------------------------------------------------------ footer
def footer(cmd: str, run_dir: Path, what: str = "run") -> dict:
    """Who made the report, when, from what; how to reproduce the run or sweep."""
    return {"package": PACKAGE, "version": version(), "what": what, "cmd": cmd,
            "now": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip(),
            "dir": str(Path(run_dir).resolve()), "files": data_files(run_dir)}


# ------------------------------------------------------------------ whole reports
def weight_sets(summary: dict, month: str | None) -> dict | None:
    """experiment=weight_robustness: per other weight set, the streets that leave (and
    enter) each class in ``month`` (default the last compared) against the run's own
    weights (summary.json's ``weight_robustness`` block); None for other runs."""
    from analysis.rankings.weight_robustness import WEIGHTED_CLASSES, compared_month
    from sim.ranking import WEIGHT_KEYS

    block = summary.get("weight_robustness")
    month = compared_month(block, month)
    if month is None:
        return None

    def percent(w: dict) -> str:  # weights 0.3/0.35/0.35 as 30/35/35
        return "/".join(f"{100 * w.get(k, 0):.0f}" for k in WEIGHT_KEYS)

    ref = block["reference"]
    rows = []
    for name, e in block["months"][month].items():
        if name == ref:
            continue
        cls = e["classes"]
        rows.append({"name": name, "weights": percent(block["weight_sets"].get(name) or {}),
                     "changed": e["streets_changing_class"], "changed_mean": f"{e['streets_changing_class_mean']:g}",
                     "same": e.get("same_ranks", False),
                     "cells": [f"{cls[c]['left']} of {cls[c]['reference_n']}" for c in WEIGHTED_CLASSES],
                     "out": "、".join(cls["rectification"]["streets_left"]),
                     "in": "、".join(cls["rectification"]["streets_entered"])})
    w = block["weight_sets"].get(ref) or {}
    return {"month": month, "reference": ref, "note": block.get("note"), "rows": rows,
            "reference_weights": percent(w) if w else ""}


def run_context(run_dir: Path) -> dict:
    """Everything ``run.html.j2`` shows of a run directory."""
    run_dir = Path(run_dir)
    summary = read_json(run_dir / SUMMARY_FILE)
    if not summary:
        raise FileNotFoundError(f"no readable {SUMMARY_FILE} in {run_dir}")
    cfg, hyd, overrides = hydra(run_dir)
    return {"title": f"12345 hotline simulation: {summary.get('scenario', '')}", "package": PACKAGE,
            "version": version(), "description": summary.get("description") or "",
            "scenario": scenario(summary, cfg, hyd), "kpis": kpis(summary, cfg),
            "charts": charts(run_dir / CHARTS_DIR), "league": league(run_dir, summary), "rate_heads": RATE_HEADS,
            "robustness": robustness(summary, cfg, run_dir, league_month(run_dir)),
            "weight_sets": weight_sets(summary, league_month(run_dir)),
            "assumptions": assumptions(run_dir, cfg),
            "footer": footer(reproduce_command(overrides, launch_options(hyd)), run_dir)}


def _report_link(sweep_dir: Path, job: str) -> str | None:
    """The link to a job's own report, relative to the sweep's (None: no report yet)."""
    return f"{quote(job)}/{REPORT_FILE}" if (sweep_dir / job / REPORT_FILE).is_file() else None


def sweep_context(sweep_dir: Path) -> dict:
    """Everything ``sweep.html.j2`` shows of a sweep directory: what was swept, the
    KPIs of every job side by side, the sweep's charts, the links to the jobs' reports."""
    sweep_dir = Path(sweep_dir)
    header, rows = sweep_table(sweep_dir)
    if not rows:
        raise FileNotFoundError(f"no finished job in {sweep_dir} (no {SWEEP_FILE} rows, no */{SUMMARY_FILE})")
    keys = header[header.index("job") + 1:header.index("metric")] if "job" in header and "metric" in header else []
    jobs = list(dict.fromkeys(r["job"] for r in rows))
    table = {(r["job"], r["metric"]): r for r in rows}
    by_job = {r["job"]: r for r in rows}
    first = read_json(sweep_dir / jobs[0] / SUMMARY_FILE)
    values = {k: list(dict.fromkeys(by_job[j].get(k, "") for j in jobs)) for k in keys}
    varied = [k for k in keys if len(values[k]) > 1]
    shown = varied or keys
    kpi_names = [k for k in SWEEP_KPIS if any((j, k) in table for j in jobs)]

    def kpi_rows(group: list[str]) -> list[dict]:
        out = []
        for k in kpi_names:
            cells = []
            for j in group:
                r = table.get((j, k))
                m = ({"mean": to_float(r["mean"]), "ci_low": to_float(r["ci_low"]), "ci_high": to_float(r["ci_high"])}
                     if r else None)
                cells.append(fmt_kpi(k, m))
            out.append({"name": k, "label": KPI_INFO[k][1], "zh": KPI_INFO[k][2], "cells": cells})
        return out

    tables = []
    for i in range(0, len(jobs), SWEEP_JOBS_PER_TABLE):
        group = jobs[i:i + SWEEP_JOBS_PER_TABLE]
        tables.append({
            "heads": [(k, [by_job[j].get(k, "") or "(default)" if shown else j for j in group]) for k in shown or ["job"]],
            "links": [_report_link(sweep_dir, j) for j in group], "rows": kpi_rows(group)})
    name = sweep_dir.name
    _, job_hydra, job_overrides = hydra(sweep_dir / jobs[0])
    options = launch_options(job_hydra)
    return {"title": f"12345 hotline simulation: sweep {name}", "package": PACKAGE, "version": version(),
            "jobs": [{"name": j, "href": _report_link(sweep_dir, j), "dir": str(sweep_dir / j)} for j in jobs],
            "scenario": first.get("scenario", ""), "description": first.get("description"), "seed": first.get("seed"),
            "replications": ", ".join(sorted({r.get("n_replications", "") for r in rows})),
            "varied": [(k, ", ".join(v or "(default)" for v in values[k])) for k in varied],
            "fixed": [(k, values[k][0]) for k in keys if len(values[k]) == 1],
            "tables": tables, "charts": charts(sweep_dir / CHARTS_DIR), "report_file": REPORT_FILE,
            "footer": footer(sweep_command(keys, values, name, options) or reproduce_command(job_overrides, options),
                             sweep_dir, "sweep")}
