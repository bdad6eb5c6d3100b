"""The tickets: how long they take to close per urgency class against its deadline
(``lead_times.csv``, one run or several side by side), and deadline compliance per
district (``districts_monthly.csv``).

Urgency classes and deadlines are given by the caller (a run's own, from its config:
:meth:`~analysis.charts.rundata.RunData.deadlines`); names come from
:func:`~analysis.charts.vocabulary.urgency_names`, so a class the Beijing vocabulary
does not know is still charted, under its readable name."""
from __future__ import annotations

import math
from typing import Iterable, Mapping

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from analysis.charts import style as cs
from analysis.charts.chart import Chart, SkipChart
from analysis.charts.formatting import _hours, _hours_zh, _mid, _num, split_bilingual
from analysis.charts.vocabulary import DEFAULT_DEADLINES_H, urgency_names, urgency_zh
from analysis.kpis.stats import mean_ci


# ---------------------------------------------------------------------- lead times
def lead_time_histogram(rows: Iterable[Mapping]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Sum ``lead_times.csv`` rows over replications: (bin edges in hours, the last
    one inf) and class -> counts per bin, classes in order of appearance."""
    bins: dict[tuple[float, float], int] = {}
    counts: dict[str, dict[float, float]] = {}
    for r in rows:
        lo, hi = _num(r["bin_lo_h"]), _num(r["bin_hi_h"])
        hi = math.inf if not math.isfinite(hi) else hi
        bins[(lo, hi)] = 1
        c = counts.setdefault(str(r["urgency"]), {})
        c[lo] = c.get(lo, 0.0) + _num(r["tickets"])
    if not bins:
        raise SkipChart("no lead-time rows")
    los = sorted({lo for lo, _ in bins})
    his = {lo: hi for lo, hi in bins}
    edges = np.array(los + [his[los[-1]]])
    return edges, {u: np.array([c.get(lo, 0.0) for lo in los]) for u, c in counts.items()}


def _cdf(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return np.cumsum(counts) / total if total > 0 else np.full(len(counts), np.nan)


def _share_within(edges: np.ndarray, counts: np.ndarray, limit_h: float) -> float:
    """Share of closed tickets with lead time <= limit (exact when the limit is a bin
    edge, else interpolated on the log scale inside its bin)."""
    cdf = np.concatenate([[0.0], _cdf(counts)])
    if limit_h in edges:
        return float(cdf[list(edges).index(limit_h)])
    i = int(np.searchsorted(edges, limit_h)) - 1
    lo, hi = edges[i], edges[i + 1]
    if not math.isfinite(hi) or lo <= 0:
        frac = 0.5
    else:
        frac = math.log(limit_h / lo) / math.log(hi / lo)
    return float(cdf[i] + frac * (cdf[i + 1] - cdf[i]))


TIME_AXIS_LABEL = cs.label("Lead time to closure", "办理时长", "h = hours, d = days; log scale")


def _time_axis(ax, edges: np.ndarray, xlabel: bool = True) -> None:
    ax.set_xscale("log")
    ticks = [t for t in (1, 2, 8, 24, 48, 96, 168, 360, 720) if t <= edges[-2] * 1.01]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _hours(v)))
    ax.set_xlim(0.8, edges[-2] * 1.15)
    if xlabel:
        ax.set_xlabel(TIME_AXIS_LABEL)


def lead_time_distribution(rows: Iterable[Mapping], deadlines_h: Mapping[str, float] | None = None, *,
                           note: str | None = None) -> Chart:
    """Share of closed tickets closed within each time, per urgency class (cumulative,
    log time axis), each class's deadline marked.

    ``rows``: rows of ``lead_times.csv`` (summed over replications).
    ``deadlines_h``: class -> deadline in hours, in the order to draw them (a run's own:
    :meth:`RunData.deadlines <analysis.charts.rundata.RunData.deadlines>`; default the
    Beijing classes' 2 h, 24 h, 7 d, 15 d)."""
    edges, hist = lead_time_histogram(rows)
    hist = {c: h for c, h in hist.items() if h.sum() > 0}  # a class with no closed ticket has no shares
    if not hist:
        raise SkipChart("no ticket was closed in the measured window")
    deadlines = dict(deadlines_h or DEFAULT_DEADLINES_H)
    classes = [c for c in deadlines if c in hist] + [c for c in hist if c not in deadlines]
    x = edges[1:-1]
    facts = {}
    with cs.style():
        fig, ax = cs.new_figure(height=4.8)
        for i, cls in enumerate(classes):
            colour = cs.CYCLE[i % len(cs.CYCLE)]
            cdf = _cdf(hist[cls])[:-1] * 100
            en, zh = urgency_names(cls)
            total = hist[cls].sum()
            lab = cs.name(en, zh)
            if cls in deadlines:
                d = deadlines[cls]
                share = _share_within(edges, hist[cls], d)
                facts[cls] = share
                lab += f": {share * 100:.1f}% within {_hours(d)}"
                ax.plot([d, d], [0, share * 100], color=colour, ls=":", lw=1.2)
                ax.plot([d], [share * 100], marker="o", ms=7, mfc="white", mec=colour, mew=1.8, zorder=5)
            ax.plot(x, cdf, color=colour, marker=".", ms=4, label=f"{lab} (n = {total:,.0f})", zorder=4)
        _time_axis(ax, edges)
        ax.set_ylim(0, 102)
        ax.set_ylabel(cs.label("Closed within", "办结占比", "% of closed tickets"))
        legend = ax.get_legend_handles_labels()
    if not facts:
        raise SkipChart("no urgency class with a known deadline")
    worst = min(facts, key=facts.get)
    en, zh = urgency_names(worst)[0], urgency_zh(worst)
    d = deadlines[worst]
    best = max(facts, key=facts.get)
    title = (f"{en} tickets meet their {_hours(d)} limit least often: {facts[worst] * 100:.1f}% of those closed, "
             f"against {facts[best] * 100:.1f}% of {urgency_names(best)[0].lower()} tickets "
             f"within {_hours(deadlines[best])}")
    sub = (f"{zh}类工单按时办结比例最低：已办结的{zh}类工单中{facts[worst] * 100:.1f}%在{_hours_zh(d)}内办结"
           f"（{urgency_zh(best)}类{_hours_zh(deadlines[best])}内为{facts[best] * 100:.1f}%）")
    note = (note or cs.source_note(ci=False)) + \
        " Tickets closed by the end of the run (still-open tickets are not counted); circles mark each class's limit."
    cs.finish(fig, title, sub, note, legend=legend, legend_cols=2)
    return Chart("lead_time_distribution", fig, title, sub, {"within_deadline": facts})


def lead_time_by_policy(histograms: Mapping[str, Iterable[Mapping]], deadlines_h: Mapping[str, float] | None = None,
                        *, note: str | None = None) -> Chart:
    """Cumulative lead time per urgency class (one panel each) for several runs, one
    line per run: ``histograms`` maps a label (e.g. 'Direct dispatch 直派街乡') to the
    rows of that run's ``lead_times.csv``; the first is the reference."""
    if len(histograms) < 2:
        raise SkipChart("a policy comparison of lead times needs at least two runs")
    data = {lab: lead_time_histogram(rows) for lab, rows in histograms.items()}
    deadlines = dict(deadlines_h or DEFAULT_DEADLINES_H)
    first = next(iter(data))
    classes = [c for c in deadlines if c in data[first][1]] + [c for c in data[first][1] if c not in deadlines]
    ncols = 2 if len(classes) > 1 else 1
    nrows = math.ceil(len(classes) / ncols)
    shares: dict[str, dict[str, float]] = {lab: {} for lab in data}
    with cs.style():
        fig, axes = cs.new_figure(height=2.6 * nrows + 1.6, nrows=nrows, ncols=ncols, sharex=True, sharey=True,
                                  squeeze=False)
        for k, cls in enumerate(classes):
            ax = axes.flat[k]
            en, zh = urgency_names(cls)
            d = deadlines.get(cls)
            for i, (lab, (edges, hist)) in enumerate(data.items()):
                if cls not in hist:
                    continue
                colour = cs.CYCLE[i % len(cs.CYCLE)]
                ax.plot(edges[1:-1], _cdf(hist[cls])[:-1] * 100, color=colour, marker=".", ms=3,
                        label=lab if k == 0 else None)
                if d is not None:
                    s = _share_within(edges, hist[cls], d)
                    shares[lab][cls] = s
                    ax.plot([d], [s * 100], marker="o", ms=6, mfc="white", mec=colour, mew=1.6, zorder=5)
            if d is not None:
                ax.axvline(d, color=cs.GREY, ls=":", lw=1)
            ax.set_title(cs.name(en, zh) + (f" (limit {_hours(d)} 时限{_hours_zh(d)})" if d is not None else ""))
            _time_axis(ax, data[first][0], xlabel=False)
            ax.set_ylim(0, 102)
        for ax in axes.flat[len(classes):]:
            ax.set_visible(False)
        for k, ax in enumerate(axes.flat[:len(classes)]):
            if k >= len(classes) - ncols:
                ax.set_xlabel(cs.label("Lead time", "办理时长", "log scale"))
            if k % ncols == 0:
                ax.set_ylabel(cs.label("Closed within", "办结占比", "% of closed"))
        legend = axes.flat[0].get_legend_handles_labels()
    # finding: the largest change, against the first run, of a class's share within its limit
    best = None
    for lab in list(data)[1:]:
        for cls, s in shares[lab].items():
            if cls in shares[first]:
                delta = s - shares[first][cls]
                if best is None or abs(delta) > abs(best[2]):
                    best = (lab, cls, delta, shares[first][cls], s)
    if best is None:
        raise SkipChart("no urgency class with a deadline in both runs")
    lab, cls, delta, a, b = best
    lab_en, lab_zh = split_bilingual(lab)
    first_en, first_zh = split_bilingual(first)
    en, zh = urgency_names(cls)[0], urgency_zh(cls)
    d = deadlines[cls]
    verb, verb_zh = ("rises", "升至") if delta > 0 else ("falls", "降至")
    title = (f"{lab_en}: the share of {en.lower()} tickets closed within {_hours(d)} {verb} from {a * 100:.1f}% to "
             f"{b * 100:.1f}% (vs {_mid(first_en)})")
    sub = f"{lab_zh}：{zh}类工单{_hours_zh(d)}内办结比例由{a * 100:.1f}%（{first_zh}）{verb_zh}{b * 100:.1f}%"
    note = (note or cs.source_note(ci=False)) + " Tickets closed by the end of each run; circles: share within the limit."
    cs.finish(fig, title, sub, note, legend=legend)
    return Chart("lead_time_by_policy", fig, title, sub, {"shares": shares, "largest": best})


# ---------------------------------------------------------------------- compliance by district
def deadline_compliance_by_district(rows: Iterable[Mapping], *, note: str | None = None) -> Chart:
    """Deadline compliance (sum deadline_met / sum deadline_due over months) per
    district, mean and 95% CI over replications, sorted; the all-streets line.

    ``rows``: rows of ``districts_monthly.csv``."""
    per: dict[tuple[str, str], dict[str, list[float]]] = {}
    city: dict[str, list[float]] = {}
    for r in rows:
        if "deadline_due" not in r or "deadline_met" not in r:
            raise SkipChart("the district table has no deadline_due / deadline_met columns")
        rep = str(r["replication"])
        key = (str(r["district"]), str(r.get("district_zh") or ""))
        due, met = _num(r["deadline_due"]), _num(r["deadline_met"])
        d = per.setdefault(key, {}).setdefault(rep, [0.0, 0.0])
        d[0] += met
        d[1] += due
        c = city.setdefault(rep, [0.0, 0.0])
        c[0] += met
        c[1] += due
    if not per:
        raise SkipChart("no district rows")
    stats = []
    for key, reps in per.items():
        vals = [m / n for m, n in reps.values() if n > 0]
        ci = mean_ci(vals)
        if ci["mean"] is None:
            continue
        stats.append((key, ci["mean"], _num(ci["ci_low"]), _num(ci["ci_high"])))
    city_ci = mean_ci([m / n for m, n in city.values() if n > 0])
    city_mean = city_ci["mean"]
    if city_mean is None or not stats:
        raise SkipChart("no ticket came due in the measured window")
    stats.sort(key=lambda s: s[1])
    y = np.arange(len(stats))
    with cs.style():
        fig, ax = cs.new_figure(height=1.9 + 0.27 * len(stats))
        colours = []
        for (key, m, lo, hi) in stats:
            if math.isfinite(hi) and hi < city_mean:
                colours.append(cs.VERMILLION)
            elif math.isfinite(lo) and lo > city_mean:
                colours.append(cs.BLUE)
            else:
                colours.append(cs.GREY)
        means = np.array([s[1] for s in stats]) * 100
        lo = np.array([s[2] for s in stats]) * 100
        hi = np.array([s[3] for s in stats]) * 100
        err = np.vstack([np.nan_to_num(means - lo), np.nan_to_num(hi - means)])
        ax.errorbar(means, y, xerr=err, fmt="none", ecolor=colours, elinewidth=2.2, alpha=0.55)
        ax.scatter(means, y, c=colours, s=28, zorder=3)
        ax.axvline(city_mean * 100, color=cs.BLACK, lw=1, ls="--")
        trans = ax.get_yaxis_transform()  # x in axes fraction, y in data
        ax.text(1.01, len(stats) - 0.35, "mean\n均值", transform=trans, fontsize=cs.BASE_SIZE - 1.5,
                color=cs.TEXT_GREY, va="bottom", ha="left")
        for yi, m, c in zip(y, means, colours):
            ax.text(1.01, yi, f"{m:.1f}%", transform=trans, va="center", ha="left", fontsize=cs.BASE_SIZE - 1,
                    color=c if c != cs.GREY else cs.TEXT_GREY)
        ax.set_yticks(y, [cs.name(*s[0]) for s in stats])
        ax.grid(axis="y", visible=False)
        lo_f = np.where(np.isfinite(lo), lo, means)
        hi_f = np.where(np.isfinite(hi), hi, means)
        span = max(np.nanmax(hi_f) - np.nanmin(lo_f), 1.0)
        x0, x1 = np.nanmin(lo_f) - 0.05 * span, np.nanmax(hi_f) + 0.05 * span
        ax.set_xlim(x0, x1)
        # the all-streets label in a band of its own below the districts (the "mean" header
        # of the value column is above them), running towards the wider side of the line
        ax.set_ylim(-1.3, len(stats) + 0.4)
        right = (city_mean * 100 - x0) / (x1 - x0) > 0.5
        ax.text(city_mean * 100, -0.9, f"all streets 全市街乡 {city_mean * 100:.1f}% ", fontsize=cs.BASE_SIZE - 1,
                va="center", ha="right" if right else "left",
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0})
        ax.set_xlabel(cs.label("Deadline compliance", "按时办结率", "% of street tickets due, closed in time"))
        handles = [Line2D([], [], color=c, marker="o", ls="", label=t) for c, t in
                   ((cs.BLUE, "above all streets 高于全市"), (cs.GREY, "not clearly different 无显著差异"),
                    (cs.VERMILLION, "below all streets 低于全市"))]
        legend = (handles, [h.get_label() for h in handles])
    (w_en, w_zh), w = stats[0][0], stats[0][1]
    (b_en, b_zh), b = stats[-1][0], stats[-1][1]
    n_below = sum(c == cs.VERMILLION for c in colours)
    has_ci = any(math.isfinite(s[2]) for s in stats)
    if has_ci:
        tail = f", {'none' if n_below == 0 else n_below} of {len(stats)} districts clearly below"
        tail_zh = f"，{n_below}个区显著偏低" if n_below else "，没有区显著偏低"
    else:
        tail, tail_zh = " (one replication: no CI)", "（仅一次重复，无置信区间）"
    title = (f"Deadline compliance ranges from {w * 100:.1f}% in {w_en} to {b * 100:.1f}% in {b_en}; "
             f"all streets {city_mean * 100:.1f}%{tail}")
    sub = (f"各区按时办结率从{w_zh or w_en}的{w * 100:.1f}%到{b_zh or b_en}的{b * 100:.1f}%不等；"
           f"全市街乡为{city_mean * 100:.1f}%{tail_zh}")
    note = (note or cs.source_note()) + " Street tickets whose deadline fell inside the run, all months pooled; " \
        "colour: the district's 95% CI lies above / below the all-streets value."
    cs.finish(fig, title, sub, note, legend=legend)
    return Chart("deadline_compliance_by_district", fig, title, sub,
                 {"city": city_mean, "worst": (w_en, w), "best": (b_en, b), "below": n_below})

