"""Sweeps: one KPI against a swept parameter (a sweep's tidy table, :mod:`analysis.sweep`),
and the staffing curve -- service level and abandonment against the agents, simulation
over Erlang-A theory -- with what the theory needs from the jobs' configs."""
from __future__ import annotations

import logging
import math
import re
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
from matplotlib.lines import Line2D

from analysis.charts import style as cs
from analysis.charts.chart import Chart, SkipChart
from analysis.charts.formatting import _fmt, _num
from analysis.charts.sweep_labels import bilingual, param_label, settings_label, tick_label, value_label
from analysis.charts.vocabulary import SWEEP_META_KEYS, UNIT_ZH, _kpi
from analysis.rundir import read_yaml

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------- staffing
def erlang_a_curve(agents_grid: Sequence[int], arrival_rate_per_min: float, mean_handle_min: float,
                   mean_patience_min: float | None, sl_threshold_s: float = 30) -> dict[str, np.ndarray]:
    """Erlang-A (M/M/c+M) service level and abandonment rate (fractions) per agent
    count; with infinite patience (None) Erlang C (NaN where it is unstable)."""
    from analysis.erlang import erlang_a, erlang_c
    mu = 1.0 / mean_handle_min
    t = sl_threshold_s / 60.0
    sl, ab = [], []
    for c in agents_grid:
        c = int(c)
        if c < 1:
            sl.append(np.nan)
            ab.append(np.nan)
            continue
        if mean_patience_min is None or not math.isfinite(mean_patience_min):
            try:
                res = erlang_c(c, arrival_rate_per_min, mu)
                sl.append(res.service_level(t))
                ab.append(0.0)
            except ValueError:
                sl.append(np.nan)
                ab.append(np.nan)
        else:
            res = erlang_a(c, arrival_rate_per_min, mu, 1.0 / mean_patience_min)
            sl.append(res.service_level(t))
            ab.append(res.p_abandon)
    return {"service_level": np.array(sl), "abandonment_rate": np.array(ab)}


def staffing_curve(points: Iterable[Mapping], agents_grid: Sequence[float] | None = None,
                   erlang_curve: Mapping[str, Sequence[float]] | None = None, *, sl_target: float = 0.8,
                   sl_threshold_s: float = 30, x_label: tuple[str, str, str] = ("Agents", "坐席数", "agents"),
                   curve_note: str | None = None, note: str | None = None) -> Chart:
    """Agents or seats (x: ``x_label``, English, Chinese, unit) vs service level and abandonment rate (%): simulated points with 95%
    CI bars over the Erlang-A curve.

    ``points``: rows with ``agents, metric (service_level | abandonment_rate), mean,
    ci_low, ci_high`` (fractions); ``erlang_curve``: metric -> values over
    ``agents_grid`` (:func:`erlang_a_curve`), or None to draw the points alone."""
    pts: dict[str, list[tuple[float, float, float, float]]] = {}
    for p in points:
        pts.setdefault(str(p["metric"]), []).append((_num(p["agents"]), _num(p["mean"]), _num(p["ci_low"]),
                                                     _num(p["ci_high"])))
    metrics = [m for m in ("service_level", "abandonment_rate") if m in pts]
    if not metrics:
        raise SkipChart("no service_level / abandonment_rate points")
    colours = {"service_level": cs.BLUE, "abandonment_rate": cs.VERMILLION}
    names = {"service_level": f"Service level 服务水平 (answered ≤ {sl_threshold_s:g} s)",
             "abandonment_rate": "Abandonment 放弃率"}
    with cs.style():
        fig, ax = cs.new_figure(height=4.6)
        if erlang_curve is not None and agents_grid is not None:
            for m in metrics:
                if m in erlang_curve:
                    ax.plot(agents_grid, np.asarray(erlang_curve[m], float) * 100, color=colours[m], lw=1.4,
                            alpha=0.6, ls="-", zorder=2)
        for m in metrics:
            arr = np.array(sorted(pts[m]))
            err = np.vstack([np.nan_to_num(arr[:, 1] - arr[:, 2]), np.nan_to_num(arr[:, 3] - arr[:, 1])]) * 100
            ax.errorbar(arr[:, 0], arr[:, 1] * 100, yerr=np.maximum(err, 0), fmt="o", color=colours[m], ms=6,
                        elinewidth=1.6, zorder=4, label=names[m])
        if sl_target:
            ax.axhline(sl_target * 100, color=cs.GREY, ls="--", lw=1)
            ax.text(ax.get_xlim()[0], sl_target * 100 + 1.2, f" {sl_target:.0%} target 目标", color=cs.TEXT_GREY,
                    fontsize=cs.BASE_SIZE - 1.5)
        ax.set_ylim(0, 103)
        ax.set_xlabel(cs.label(*x_label))
        ax.set_ylabel(cs.label("Share of calls", "来电占比", "%"))
        handles, labels = ax.get_legend_handles_labels()
        if erlang_curve is not None and agents_grid is not None:
            handles.append(Line2D([], [], color=cs.GREY, lw=1.4, alpha=0.8))
            labels.append("Erlang A theory 理论曲线 (lines); simulation 模拟 (points, 95% CI)")
        ax.legend(handles, labels, loc="center right")
    # finding
    what = x_label[2] or x_label[0].lower()  # what the x axis counts: agents, seats
    sl_pts = np.array(sorted(pts.get("service_level", [])))
    need = None
    if erlang_curve is not None and agents_grid is not None and "service_level" in erlang_curve:
        curve = np.asarray(erlang_curve["service_level"], float)
        ok = np.nonzero(curve >= sl_target)[0]
        need = int(np.asarray(agents_grid)[ok[0]]) if ok.size else None
        gap = math.nan
        if sl_pts.size:
            theory = np.interp(sl_pts[:, 0], np.asarray(agents_grid, float), curve)
            gap = float(np.nanmax(np.abs(sl_pts[:, 1] - theory))) * 100
        if need is not None:
            title = (f"{sl_target:.0%} of calls answered within {sl_threshold_s:g} s needs {need} {what} "
                     "by Erlang A")
            sub = f"按Erlang A模型，{sl_target:.0%}来电在{sl_threshold_s:g}秒内接通需要{need}名坐席"
        else:
            title = f"No staffing level on the chart reaches {sl_target:.0%} within {sl_threshold_s:g} s by Erlang A"
            sub = f"按Erlang A模型，图中坐席数均达不到{sl_target:.0%}的服务水平"
        if math.isfinite(gap):
            title += f"; simulation within {gap:.1f} pp of theory"
            sub += f"；模拟与理论相差不超过{gap:.1f}个百分点"
    else:
        ok = sl_pts[sl_pts[:, 1] >= sl_target] if sl_pts.size else sl_pts
        if ok.size:
            need = ok[0, 0]
            title = (f"{sl_target:.0%} of calls answered within {sl_threshold_s:g} s first reached at {need:,.0f} "
                     f"{what} ({ok[0, 1] * 100:.1f}%)")
            sub = f"坐席数达到{need:,.0f}时，{sl_target:.0%}来电在{sl_threshold_s:g}秒内接通（{ok[0, 1] * 100:.1f}%）"
        else:
            title = f"No simulated staffing level reaches {sl_target:.0%} of calls within {sl_threshold_s:g} s"
            sub = f"模拟的各坐席数均达不到{sl_target:.0%}的服务水平"
    note = note or cs.source_note()
    if curve_note:
        note += " " + curve_note
    cs.finish(fig, title, sub, note)
    return Chart("staffing_curve", fig, title, sub, {"agents_needed": need})


# ---------------------------------------------------------------------- sweeps
def _job_config(job: str, job_configs: Mapping | None, out_dir: Path) -> dict | None:
    src = (job_configs or {}).get(job)
    if isinstance(src, Mapping):
        return dict(src)
    candidates = [Path(src)] if src is not None else [out_dir.parent / job, out_dir / job]
    for d in candidates:
        p = d / ".hydra" / "config.yaml" if d.is_dir() else d
        if p.is_file():
            return read_yaml(p)
    return None


def _mean_min(spec) -> float | None:
    if not isinstance(spec, Mapping):
        return None
    if spec.get("dist") == "infinite":
        return math.inf
    v = spec.get("mean_min")
    if v is None and spec.get("mean_h") is not None:
        v = float(spec["mean_h"]) * 60
    return float(v) if v is not None else None


def handle_and_patience(cfg: Mapping) -> tuple[float | None, float | None, str | None]:
    """Mean handle time and mean patience (minutes) of a job's config, and why the
    Erlang-A curve would not apply (None if it does)."""
    cc = (cfg or {}).get("call_center") or {}
    handle = _mean_min(cc.get("handle_time"))
    demand = _mean_min(cc.get("demand_handle_time"))
    share = cc.get("ticket_share")
    if handle is not None and demand is not None and share is not None:
        handle = (1 - float(share)) * handle + float(share) * demand
    patience = _mean_min(cc.get("patience"))
    why = None
    roster = cc.get("roster")
    if roster not in (None, "full"):
        why = (f"the roster ({roster if isinstance(roster, str) else 'a list'}) does not staff every seat all day, "
               "so agents on duty differ from seats")
    elif cc.get("weekend_roster") not in (None, "full"):
        why = "the weekend roster does not staff every seat all day, so agents on duty differ from seats"
    return handle, patience, why


def _sweep_table(rows: Iterable[Mapping]) -> tuple[list[dict], list[str]]:
    rows = [dict(r) for r in rows]
    params = []
    for r in rows:
        for k in r:
            if k not in SWEEP_META_KEYS and k not in params:
                params.append(k)
    params = [p for p in params if len({str(r.get(p, "")) for r in rows}) > 1]
    return rows, params


def _is_numeric(rows: list[dict], p: str) -> bool:
    vals = {str(r.get(p, "")) for r in rows}
    return all(math.isfinite(_num(v)) for v in vals)


def sweep_kpi_chart(rows: Iterable[Mapping], metric: str, x: str | None = None, *, note: str | None = None) -> Chart:
    """One KPI against the swept numeric parameter ``x`` (default: call_center.seats,
    else the numeric parameter with most values), one line per combination of the
    other swept parameters, 95% CI bars. Without a numeric parameter, points per
    swept value."""
    rows, params = _sweep_table(rows)
    rows = [r for r in rows if str(r.get("metric")) == metric and math.isfinite(_num(r.get("mean")))]
    if not rows:
        raise SkipChart(f"no rows for {metric}")
    numeric = [p for p in params if _is_numeric(rows, p)]
    if x is None:
        x = "call_center.seats" if "call_center.seats" in numeric else (
            max(numeric, key=lambda p: len({str(r[p]) for r in rows})) if numeric else (params[0] if params else None))
    if x is None:
        raise SkipChart("nothing is swept")
    others = [p for p in params if p != x]
    is_num = x in numeric
    cats = sorted({str(r.get(x, "")) for r in rows}, key=lambda v: _num(v) if is_num else v)
    lines: dict[tuple, list[tuple]] = {}
    for r in rows:
        key = tuple((p, str(r.get(p, ""))) for p in others)
        xv = _num(r[x]) if is_num else cats.index(str(r[x]))
        lines.setdefault(key, []).append((xv, _num(r["mean"]), _num(r["ci_low"]), _num(r["ci_high"])))
    groups = _identical_groups(lines)
    span = (max(_num(c) for c in cats) - min(_num(c) for c in cats)) if is_num else None  # for the dodge
    en, zh, unit, scale, _ = _kpi(metric)
    x_en, x_zh, x_unit = param_label(x)
    changes = []
    no_effect = _no_effect(lines, groups)
    names = {g[0]: _group_name(g, no_effect) for g in groups}
    with cs.style():
        fig, ax = cs.new_figure(height=4.4)
        for i, group in enumerate(groups):
            key = group[0]
            arr = np.array(sorted(lines[key])) * np.array([1, scale, scale, scale])
            colour = cs.CYCLE[i % len(cs.CYCLE)]
            err = np.maximum(np.vstack([np.nan_to_num(arr[:, 1] - arr[:, 2]), np.nan_to_num(arr[:, 3] - arr[:, 1])]), 0)
            # series side by side, not on top of each other: a small sideways offset and a marker of their own
            shift = _dodge(i, len(groups), span)
            ax.errorbar(arr[:, 0] + shift, arr[:, 1], yerr=err, fmt=MARKERS[i % len(MARKERS)] + ("-" if is_num else ""),
                        color=colour, ms=5.5, elinewidth=1.6, label=names[key] or None)
            label = _group_name(group, no_effect, short=True)
            if is_num or len(cats) <= 2:
                changes.append((label, arr[0, 0], arr[-1, 0], arr[0, 1], arr[-1, 1]))
            else:  # several categories (policies): the lowest and the highest
                lo, hi = int(np.nanargmin(arr[:, 1])), int(np.nanargmax(arr[:, 1]))
                changes.append((label, arr[lo, 0], arr[hi, 0], arr[lo, 1], arr[hi, 1]))
        if is_num and len(cats) <= 12:
            ax.set_xticks([_num(c) for c in cats], [f"{_num(c):,.6g}" for c in cats])
        if not is_num:
            # several categories: English over Chinese, so that the labels do not overlap
            name = cs.name if len(cats) <= 2 else (lambda en_, zh_: f"{en_}\n{zh_}" if zh_ else en_)
            ax.set_xticks(range(len(cats)), [name(*tick_label(x, c)) for c in cats])
            ax.set_xlim(-0.5, len(cats) - 0.5)
        ax.set_xlabel(cs.label(x_en, x_zh, x_unit))
        ax.set_ylabel(cs.label(en, zh, unit))
        if unit == "%":  # shares from 0, with room above the highest CI
            top = np.nanmax([max(p[1], p[3]) if math.isfinite(p[3]) else p[1] for pts in lines.values() for p in pts])
            ax.set_ylim(0, min(100.0, top * 100 * 1.08) + 1)
        if any(names.values()):
            ax.legend(loc="best")
    identical = [g for g in groups if len(g) > 1]
    key, x0, x1, v0, v1 = max(changes, key=lambda c: abs(c[4] - c[3]))
    fmtv = (lambda v: f"{v:.1f}%") if unit == "%" else (lambda v: f"{_fmt(v)} {unit}".strip())
    fmtv_zh = (lambda v: f"{v:.1f}%") if unit == "%" else (lambda v: f"{_fmt(v)}{UNIT_ZH.get(unit, unit)}")
    if is_num:
        verb = "rises" if v1 > v0 else "falls"
        title = (f"{en} {verb} from {fmtv(v0)} to {fmtv(v1)} as {x_en.lower()} go from {x0:,.6g} to {x1:,.6g}"
                 + (f" ({key})" if key and len(groups) > 1 else ""))
        sub = f"{x_zh or x_en}由{x0:,.6g}变为{x1:,.6g}时，{zh or en}由{fmtv_zh(v0)}变为{fmtv_zh(v1)}"
    else:
        c0, c1 = cats[int(x0)], cats[int(x1)]
        words = {c: value_label(x, c) for c in (c0, c1)}
        cat_en = {c: en_ for c, (en_, _) in words.items()}
        cat_zh = {c: zh_ or en_ for c, (en_, zh_) in words.items()}
        if len(cats) <= 2:
            title = f"{en} is {fmtv(v0)} with {cat_en[c0]} and {fmtv(v1)} with {cat_en[c1]}"
            sub = f"{zh or en}：{cat_zh[c0]}为{fmtv_zh(v0)}，{cat_zh[c1]}为{fmtv_zh(v1)}"
        else:
            title = (f"{en} ranges from {fmtv(v0)} with {cat_en[c0]} to {fmtv(v1)} with {cat_en[c1]} "
                     f"(across {len(cats)} values of {x_en.lower()})")
            sub = f"{zh or en}：最低为{cat_zh[c0]}（{fmtv_zh(v0)}），最高为{cat_zh[c1]}（{fmtv_zh(v1)}）"
    note = note or cs.source_note()
    # said in words: one line drawn for several runs would otherwise look like a missing run
    for param in no_effect:
        p_en, p_zh, _ = param_label(param)
        values = sorted({dict(k)[param] for k in lines})
        note += (f" {bilingual(p_en, p_zh)} ({', '.join(tick_label(param, v)[0] for v in values)}) changes nothing "
                 f"in {en.lower()}: identical results 结果相同, one line drawn for them.")
    for g in identical:
        named = list(dict.fromkeys(settings_label([(p, v) for p, v in k if p not in no_effect]) for k in g))
        if len(named) > 1:
            note += " Identical results 结果相同: " + " = ".join(bilingual(*n) for n in named) + "."
    if len(groups) > 1:
        note += " Series are drawn slightly apart sideways, each with its own marker, so that none hides another."
    cs.finish(fig, title, sub, note)
    safe = re.sub(r"[^A-Za-z0-9_]+", "_", metric)
    caption = (f"{en} (mean and 95% CI over replications) for each value of {x_en.lower()}"
               + (f", one line per {', '.join(param_label(p)[0].lower() for p in others)}" if others else "")
               + (f"; {sum(len(g) - 1 for g in identical)} line(s) identical to another, drawn once and named "
                  "together" if identical else "") + ".")
    facts = {"x": x, "from": v0, "to": v1, "no_effect": no_effect,
             "identical": [[settings_label(list(k))[0] for k in g] for g in identical]}
    return Chart(f"sweep_{safe}", fig, title, sub, facts, caption)


#: One marker per series of a sweep chart (with its colour), so that series stay
#: apart in print and for colour-blind readers.
MARKERS = ("o", "s", "D", "^", "v", "P", "X", "<", ">")
#: Sideways offset between neighbouring series: this share of the x range (numeric x),
#: or of one category's width (categories) [assume: readable, not misleading].
DODGE_NUMERIC, DODGE_CATEGORY = 0.012, 0.12


def _dodge(i: int, n: int, span: float | None) -> float:
    """The sideways offset of series ``i`` of ``n``: centred on the true x."""
    if n < 2:
        return 0.0
    step = DODGE_CATEGORY if span is None else DODGE_NUMERIC * (span or 1.0)
    step = min(step, 0.6 / (n - 1)) if span is None else step
    return (i - (n - 1) / 2) * step


def _identical_groups(lines: dict[tuple, list[tuple]]) -> list[list[tuple]]:
    """The series of a chart grouped by their points: two series with the same x, means
    and CIs (e.g. ranking weights swept without the accountability loop, which change no
    KPI) form one group, drawn once."""
    groups: list[list[tuple]] = []
    arrays = {k: np.array(sorted(pts), dtype=float) for k, pts in lines.items()}
    for k in sorted(lines):
        for g in groups:
            a, b = arrays[g[0]], arrays[k]
            if a.shape == b.shape and np.array_equal(a, b, equal_nan=True):
                g.append(k)
                break
        else:
            groups.append([k])
    return groups


def _no_effect(lines: dict[tuple, list[tuple]], groups: list[list[tuple]]) -> list[str]:
    """Swept keys that change nothing in this chart: every series stays in its group of
    identical series whatever that key's value (e.g. ranking weights without the
    accountability loop). They are left out of the legend and named once in the note."""
    group_of = {k: gi for gi, g in enumerate(groups) for k in g}
    keys = list(lines)
    if not keys or not keys[0]:
        return []
    out = []
    for j, (param, _) in enumerate(keys[0]):
        values = {k[j][1] for k in keys}
        if len(values) > 1 and all(group_of.get(k[:j] + ((param, v),) + k[j + 1:]) == group_of[k]
                                   for k in keys for v in values):
            out.append(param)
    return out


def _group_name(group: list[tuple], drop: Sequence[str] = (), short: bool = False) -> str:
    """A legend entry in words: the settings of a series (``two-level dispatch 两级派单``)
    without the keys in ``drop``, and those of any other series identical to it
    (``= ... (identical 相同)``); ``short``: English only, for a title."""
    names = list(dict.fromkeys(settings_label([(p, v) for p, v in k if p not in drop]) for k in group))
    text = names[0][0] if short else bilingual(*names[0])
    if len(names) > 1 and not short:
        text += " = " + " = ".join(n[0] for n in names[1:]) + " (identical 相同)"
    return text


def _sweep_staffing(rows: list[dict], params: list[str], out_dir: Path, job_configs, note: str) -> Chart:
    others = [p for p in params if p != "call_center.seats"]
    if others:  # one staffing curve: the defaults of the other parameters if the sweep has them, else the first
        combos = list(dict.fromkeys(tuple(str(r.get(p, "")) for p in others) for r in rows))
        first = dict(zip(others, next((c for c in combos if not any(c)), combos[0])))
        rows = [r for r in rows if all(str(r.get(p, "")) == v for p, v in first.items())]
        note += " Staffing curve for " + ", ".join(value_label(p, v)[0] for p, v in first.items()) + \
            " (the sweep's other runs are in the KPI charts)."
    points = [{"agents": _num(r["call_center.seats"]), "metric": r["metric"], "mean": r["mean"],
               "ci_low": r["ci_low"], "ci_high": r["ci_high"]} for r in rows
              if r["metric"] in ("service_level", "abandonment_rate")]
    if not points:
        raise SkipChart("the sweep has no service_level / abandonment_rate")
    jobs = sorted({str(r["job"]) for r in rows})
    cfg = next((c for c in (_job_config(j, job_configs, out_dir) for j in jobs) if c), None)
    offered = [_num(r["mean"]) for r in rows if r["metric"] == "calls_offered_per_day"]
    curve, grid, curve_note = None, None, None
    threshold = 30.0
    if cfg is None:
        curve_note = "No Erlang-A curve: the jobs' configs (.hydra/config.yaml) were not found."
    else:
        threshold = float(((cfg.get("call_center") or {}).get("sl_threshold_s")) or 30)
        handle, patience, why = handle_and_patience(cfg)
        if handle is None or patience is None:
            curve_note = "No Erlang-A curve: the config gives no mean handle time or patience."
        elif not offered:
            curve_note = "No Erlang-A curve: the sweep has no calls_offered_per_day."
        elif why:
            curve_note = f"No Erlang-A curve: {why}."
        else:
            seats = sorted({p["agents"] for p in points})
            lo, hi = max(1, int(seats[0] * 0.85)), int(math.ceil(seats[-1] * 1.1))
            grid = np.arange(lo, hi + 1)
            lam = float(np.nanmean(offered)) / 1440.0
            curve = erlang_a_curve(grid, lam, handle, None if math.isinf(patience) else patience, threshold)
            curve_note = (f"Erlang A: {lam:.2f} calls/min, mean handle {handle:.2f} min, mean patience "
                          f"{patience:.2f} min, all seats staffed, exponential times assumed.")
    if curve is None:
        log.info("staffing curve: %s", curve_note)
    return staffing_curve(points, grid, curve, sl_threshold_s=threshold, x_label=("Seats", "坐席数", ""),
                          curve_note=curve_note, note=note)


