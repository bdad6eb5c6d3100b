"""The year month by month under the accountability loop (``city_monthly.csv``,
``street_state_monthly.csv``): the city's measured rates against the published 2019
figures, measured against true resolution with the gaming share, and the spread of the
streets' scores with the consequences the league tables brought.

Drawn for a run with the loop's street table and at least two months
(:func:`require_year_run`); any other run skips them with the reason.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Mapping

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from analysis.charts import style as cs
from analysis.charts.chart import Chart, SkipChart
from analysis.charts.formatting import _num
from analysis.charts.vocabulary import KPI
from analysis.rundir import CITY_MONTHLY_FILE as CITY_FILE
from analysis.rankings.street_state import STREET_STATE_FILE  # the loop's street table


@dataclass(frozen=True)
class PublishedPoint:
    """One published city-wide figure: ``period`` is a month (``YYYY-MM``) or a year
    (``YYYY``); ``use`` is ``fit`` (a calibration target of
    conf/accountability/fitted_2019.yaml) or ``check`` (not fitted: an out-of-sample check)."""
    metric: str
    period: str
    value: float
    use: str


#: Where :data:`PUBLISHED_2019` comes from.
PUBLISHED_2019_SOURCE = ("Beijing 12345, published 2019 figures [pub] (docs/DOMAIN.md, 'Figures to calibrate "
                         "against'; beijing.shvoice.com/?p=32313, zt.bjdj.gov.cn/rdztarticle/3000187608.html)")
#: The same, short, for a chart's source note.
PUBLISHED_2019_NOTE = "Beijing 12345's 2019 figures [pub], sources in docs/DOMAIN.md"
#: The published 2019 resolution and satisfaction rates of Beijing 12345 [pub]: January
#: and October are the calibration targets (analysis.calibrate fits the four
#: parameters of conf/accountability/fitted_2019.yaml to them); the year's figures
#: ("about 75%" and "about 87%") are not fitted, so they check the model out of sample.
PUBLISHED_2019 = (
    PublishedPoint("resolution_rate", "2019-01", 0.5309, "fit"),
    PublishedPoint("resolution_rate", "2019-10", 0.7436, "fit"),
    PublishedPoint("resolution_rate", "2019", 0.75, "check"),
    PublishedPoint("satisfaction_rate", "2019-01", 0.6461, "fit"),
    PublishedPoint("satisfaction_rate", "2019-10", 0.8539, "fit"),
    PublishedPoint("satisfaction_rate", "2019", 0.87, "check"),
)

MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: Consequences of a month in rectification, mildest first: (English, Chinese, colour).
CONSEQUENCE_STYLE = {"named": ("named", "通报", cs.ORANGE), "summoned": ("summoned", "约谈", cs.VERMILLION),
                     "inspection": ("inspected", "督查", cs.BLACK)}


# ---------------------------------------------------------------------- data
def _month_pos(m: str) -> int:
    """'2019-03' -> a month number (consecutive months differ by 1)."""
    d = datetime.strptime(m, "%Y-%m")
    return d.year * 12 + d.month - 1


def _city(rows: Iterable[Mapping]) -> dict[str, dict[str, tuple[float, float, float]]]:
    """metric -> month -> (mean, ci_low, ci_high) of ``city_monthly.csv``."""
    out: dict[str, dict[str, tuple[float, float, float]]] = {}
    for r in rows:
        m = str(r.get("month", ""))
        try:
            _month_pos(m)
        except ValueError:
            continue
        out.setdefault(str(r["metric"]), {})[m] = (_num(r["mean"]), _num(r.get("ci_low")), _num(r.get("ci_high")))
    return out


def _series(city: Mapping, metric: str) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Months (sorted) and mean, low, high (x100, %) of a rate; SkipChart if absent."""
    data = city.get(metric) or {}
    months = sorted(m for m, v in data.items() if math.isfinite(v[0]))
    if len(months) < 2:
        raise SkipChart(f"fewer than 2 months of {metric} in {CITY_FILE}")
    arr = np.array([data[m] for m in months], dtype=float) * 100
    lo = np.where(np.isfinite(arr[:, 1]), arr[:, 1], arr[:, 0])
    hi = np.where(np.isfinite(arr[:, 2]), arr[:, 2], arr[:, 0])
    return months, arr[:, 0], lo, hi


def require_year_run(city_rows: list[dict], state_rows: list[dict] | None) -> None:
    """SkipChart unless the run has the loop's street table and at least 2 months."""
    if state_rows is None or not state_rows:
        raise SkipChart(f"{STREET_STATE_FILE} is absent or empty (no accountability loop)")
    months = {str(r.get("month")) for r in city_rows}
    if len(months) < 2:
        raise SkipChart(f"fewer than 2 months in {CITY_FILE}")


def _month_axis(ax, lo: int, hi: int, *, show_labels: bool = True) -> None:
    """Month ticks ``Jan / 1月`` from month number ``lo`` to ``hi``; the year on January
    and on the first tick."""
    ticks = list(range(lo, hi + 1))
    labels = []
    for i, p in enumerate(ticks):
        y, mo = divmod(p, 12)
        lab = f"{MONTH_ABBR[mo]}\n{mo + 1}月"
        if i == 0 or mo == 0:
            lab += f"\n{y}"
        labels.append(lab)
    ax.set_xticks(ticks, labels if show_labels else [""] * len(ticks))
    ax.set_xlim(lo - 0.5, hi + 0.5)
    ax.grid(axis="x", visible=False)


def _band(ax, x, mean, lo, hi, colour, label, *, marker="o", alpha=0.18):
    ax.fill_between(x, lo, hi, color=colour, alpha=alpha, lw=0)
    return ax.plot(x, mean, color=colour, marker=marker, ms=4, label=label)[0]


def _m_en(m: str) -> str:
    return datetime.strptime(m, "%Y-%m").strftime("%B")


def _m_zh(m: str) -> str:
    return f"{_month_pos(m) % 12 + 1}月"


# ---------------------------------------------------------------------- city trajectory
def city_trajectory(city_rows: Iterable[Mapping], *, published: Iterable[PublishedPoint] = PUBLISHED_2019,
                    note: str | None = None) -> Chart:
    """Measured resolution and satisfaction by month (mean, 95% CI band), one panel
    each, against the published points of the same year (filled: calibration targets;
    dotted line: a year's figure, checked out of sample)."""
    city = _city(city_rows)
    metrics = ("resolution_rate", "satisfaction_rate")
    series = {m: _series(city, m) for m in metrics}
    years = {_month_pos(mo) // 12 for months, *_ in series.values() for mo in months}
    pub = [p for p in published if p.metric in metrics and int(p.period[:4]) in years]
    positions = [_month_pos(mo) for months, *_ in series.values() for mo in months]
    for p in pub:
        positions += [_month_pos(p.period)] if len(p.period) == 7 else [int(p.period) * 12, int(p.period) * 12 + 11]
    x_lo, x_hi = min(positions), max(positions)
    colours = {"resolution_rate": cs.BLUE, "satisfaction_rate": cs.GREEN}
    fits: dict[str, list] = {}
    with cs.style():
        fig, axes = cs.new_figure(height=6.6, nrows=2, sharex=True)
        for ax, metric in zip(axes, metrics):
            en, zh = KPI[metric][:2]
            months, mean, lo, hi = series[metric]
            x = [_month_pos(m) for m in months]
            _band(ax, x, mean, lo, hi, colours[metric], "simulated, measured by the callback survey (95% CI)")
            for p in (q for q in pub if q.metric == metric):
                v = p.value * 100
                if len(p.period) == 7:
                    xp = _month_pos(p.period)
                    ax.plot([xp], [v], ls="", marker="s", ms=7, color=cs.BLACK, zorder=4,
                            label=f"published {p.period} ({p.use})", gid=f"published:{metric}:{p.period}")
                    near_year = any(abs(q.value * 100 - v) < 4 for q in pub
                                    if q.metric == metric and len(q.period) == 4)
                    ax.annotate(f"{v:.1f}%", (xp, v), xytext=(7, -4 if near_year else 4), textcoords="offset points",
                                va="top" if near_year else "bottom", fontsize=cs.BASE_SIZE - 1, fontweight="bold")
                    if p.period in months:
                        i = months.index(p.period)
                        fits.setdefault(metric, []).append((p.period, p.value, mean[i] / 100, lo[i] / 100,
                                                            hi[i] / 100))
                else:
                    y0 = int(p.period) * 12
                    ax.plot([y0 - 0.4, y0 + 11.4], [v, v], ls=(0, (1.5, 2)), lw=1.6, color=cs.BLACK, zorder=3,
                            label=f"published {p.period} ({p.use})", gid=f"published:{metric}:{p.period}")
                    ax.annotate(f"year 全年 ≈{v:.0f}%", (y0 + 11.4, v), xytext=(0, 4), textcoords="offset points",
                                ha="right", va="bottom", fontsize=cs.BASE_SIZE - 1)
            ax.set_ylabel(cs.label("Rate", "比率", "%"))
            ax.set_title(f"{en} {zh}", loc="left", fontsize=cs.BASE_SIZE + 0.5)
            vals = [*lo, *hi, *(p.value * 100 for p in pub if p.metric == metric)]
            span = max(max(vals) - min(vals), 5.0)
            ax.set_ylim(max(0.0, min(vals) - 0.12 * span), min(100.0, max(vals) + 0.15 * span))
            _month_axis(ax, x_lo, x_hi, show_labels=ax is axes[-1])
        axes[-1].set_xlabel(cs.label("Month", "月份"))
        handles = [Line2D([], [], color=cs.GREY, marker="o", ms=4,
                          label="simulated, as the survey measures it 模拟（回访口径）"),
                   Patch(color=cs.GREY, alpha=0.25, label="95% CI"),
                   Line2D([], [], color=cs.BLACK, marker="s", ls="", ms=7,
                          label="published month, fitted 公布值（校准月份）"),
                   Line2D([], [], color=cs.BLACK, ls=(0, (1.5, 2)), lw=1.6,
                          label="published year, not fitted 全年公布值（未拟合）")]
        legend = (handles, [h.get_label() for h in handles])
    res, sat = series["resolution_rate"], series["satisfaction_rate"]
    m0, m1 = res[0][0], res[0][-1]
    title = (f"Simulated resolution rises from {res[1][0]:.1f}% in {_m_en(m0)} to {res[1][-1]:.1f}% in {_m_en(m1)}, "
             f"satisfaction from {sat[1][0]:.1f}% to {sat[1][-1]:.1f}%")
    sub = (f"模拟解决率由{_m_zh(m0)}的{res[1][0]:.1f}%升至{_m_zh(m1)}的{res[1][-1]:.1f}%，"
           f"满意率由{sat[1][0]:.1f}%升至{sat[1][-1]:.1f}%")
    if res[1][-1] < res[1][0]:
        title, sub = title.replace("rises", "falls"), sub.replace("升至", "降至")
    pub_txt = _published_text(pub)
    if pub_txt:
        title += f" (published: {pub_txt[0]})"
        sub += f"（公布值{pub_txt[1]}）"
    extra = (f"Published: {PUBLISHED_2019_NOTE if published is PUBLISHED_2019 else 'as given'}; squares: the "
             "months the calibration fits, dotted: the year's figure, not fitted (an out-of-sample check).") if pub \
        else "No published figures for these months."
    note = (note or cs.source_note()) + " " + extra
    cs.finish(fig, title, sub, note, legend=legend, legend_cols=2)
    return Chart("city_trajectory", fig, title, sub, {"series": {m: s[1].tolist() for m, s in series.items()},
                                                     "published": pub, "fits": fits})


def _published_text(pub: list[PublishedPoint]) -> tuple[str, str] | None:
    """The fitted months' published values: ('53.1% → 74.4% and 64.6% → 85.4%, January →
    October', Chinese)."""
    per = {}
    for metric in ("resolution_rate", "satisfaction_rate"):
        pts = sorted((p for p in pub if p.metric == metric and len(p.period) == 7), key=lambda p: p.period)
        if pts:
            per[metric] = pts
    if not per:
        return None
    months = sorted({p.period for pts in per.values() for p in pts})
    vals = " and ".join(" → ".join(f"{p.value * 100:.1f}%" for p in pts) for pts in per.values())
    vals_zh = "，".join(("解决率" if m == "resolution_rate" else "满意率") + "→".join(f"{p.value * 100:.1f}%" for p in pts)
                       for m, pts in per.items())
    return f"{vals}, {' → '.join(_m_en(m) for m in months)}", f"{'→'.join(_m_zh(m) for m in months)}：{vals_zh}"


# ---------------------------------------------------------------------- measured vs true
def measured_vs_true(city_rows: Iterable[Mapping], *, note: str | None = None) -> Chart:
    """Measured (callback survey) against true resolution by month, with 95% CI bands
    and the gap between the means shaded; below, the gaming share (when the run has it)."""
    city = _city(city_rows)
    months, meas, meas_lo, meas_hi = _series(city, "resolution_rate")
    t_months, true, true_lo, true_hi = _series(city, "true_resolution_rate")
    common = [m for m in months if m in t_months]
    if len(common) < 2:
        raise SkipChart("fewer than 2 months with both measured and true resolution")
    im = [months.index(m) for m in common]
    it = [t_months.index(m) for m in common]
    meas, meas_lo, meas_hi = meas[im], meas_lo[im], meas_hi[im]
    true, true_lo, true_hi = true[it], true_lo[it], true_hi[it]
    x = np.array([_month_pos(m) for m in common])
    gaming = None
    try:
        g_months, g, g_lo, g_hi = _series(city, "gaming_share")
        gaming = [(_month_pos(m), g[i], g_lo[i], g_hi[i]) for i, m in enumerate(g_months) if m in common]
    except SkipChart:
        pass
    gap = meas - true
    with cs.style():
        if gaming:
            fig, (ax, axg) = cs.new_figure(height=6.2, nrows=2, sharex=True, gridspec_kw={"height_ratios": [3, 1.25]})
        else:
            fig, ax = cs.new_figure(height=4.8)
            axg = None
        ax.fill_between(x, true, meas, where=gap >= 0, interpolate=True, color=cs.ORANGE, alpha=0.6, lw=0,
                        zorder=2.5)
        ax.fill_between(x, true, meas, where=gap < 0, interpolate=True, color=cs.SKY, alpha=0.6, lw=0,
                        zorder=2.5)
        _band(ax, x, meas, meas_lo, meas_hi, cs.BLUE, "measured", alpha=0.10)
        _band(ax, x, true, true_lo, true_hi, cs.VERMILLION, "true", marker="D", alpha=0.10)
        ax.annotate(f"{gap[-1]:+.1f} pp", (x[-1], (meas[-1] + true[-1]) / 2), xytext=(8, 0),
                    textcoords="offset points", va="center", fontsize=cs.BASE_SIZE - 1, color="#8A5A00")
        ax.set_ylabel(cs.label("Resolution rate", "解决率", "%"))
        vals = [*meas_lo, *meas_hi, *true_lo, *true_hi]
        span = max(max(vals) - min(vals), 5.0)
        ax.set_ylim(max(0.0, min(vals) - 0.08 * span), min(100.0, max(vals) + 0.08 * span))
        x_lo, x_hi = int(x.min()), int(x.max())
        _month_axis(ax, x_lo, x_hi, show_labels=axg is None)
        handles = [Line2D([], [], color=cs.BLUE, marker="o", ms=4,
                          label="measured: solved, of callbacks answered 回访测得解决率"),
                   Line2D([], [], color=cs.VERMILLION, marker="D", ms=4,
                          label="true: really solved, of closed tickets 实际解决率"),
                   Patch(color=cs.ORANGE, alpha=0.6, label="gap: measured above true 测量值高于实际"),
                   Patch(color=cs.GREY, alpha=0.18, label="95% CI")]
        if gaming:
            gx = np.array([p[0] for p in gaming])
            gm, glo, ghi = (np.array([p[i] for p in gaming]) for i in (1, 2, 3))
            axg.fill_between(gx, glo, ghi, color=cs.PURPLE, alpha=0.2, lw=0)
            axg.plot(gx, gm, color=cs.PURPLE, marker="o", ms=3.5)
            axg.set_ylabel(cs.label("Gaming 虚报", None, "%"))
            axg.set_title("Gaming share: answered callbacks that heard “solved” about an unsolved problem "
                          "虚报解决占比", loc="left", fontsize=cs.BASE_SIZE - 0.5, fontweight="normal")
            axg.set_ylim(0, max(1.0, float(np.nanmax(ghi)) * 1.15))
            _month_axis(axg, x_lo, x_hi)
            axg.set_xlabel(cs.label("Month", "月份"))
        else:
            ax.set_xlabel(cs.label("Month", "月份"))
        if (gap < 0).any():
            handles.insert(3, Patch(color=cs.SKY, alpha=0.6, label="measured below true 测量值低于实际"))
        legend = (handles, [h.get_label() for h in handles])
    last = common[-1]
    mean_gap = float(np.mean(gap))
    if abs(gap[-1]) < 0.05:
        title = f"Measured resolution matches true resolution in {_m_en(last)} ({meas[-1]:.1f}%)"
        sub = f"{_m_zh(last)}回访测得解决率与实际解决率一致（{meas[-1]:.1f}%）"
    else:
        word, word_zh = ("overstates", "高出") if gap[-1] > 0 else ("understates", "低于")
        title = (f"In {_m_en(last)} the callback survey {word} resolution by {abs(gap[-1]):.1f} points: "
                 f"{meas[-1]:.1f}% measured, {true[-1]:.1f}% really solved")
        sub = f"{_m_zh(last)}回访测得解决率{meas[-1]:.1f}%，实际解决率{true[-1]:.1f}%，{word_zh}{abs(gap[-1]):.1f}个百分点"
    if gaming:
        title += f"; {gaming[-1][1]:.1f}% of answered callbacks were gamed"
        sub += f"；{gaming[-1][1]:.1f}%的回访为虚报解决"
    note = (note or cs.source_note()) + (" Measured: the callback survey's resolution rate; true: closed street "
                                         "tickets whose problem was really solved, surveyed or not; "
                                         "pp = percentage points.")
    cs.finish(fig, title, sub, note, legend=legend, legend_cols=2)
    return Chart("measured_vs_true", fig, title, sub, {"months": common, "measured": meas.tolist(),
                                                      "true": true.tolist(), "gap": gap.tolist(),
                                                      "mean_gap": mean_gap,
                                                      "gaming": [p[1] for p in gaming] if gaming else None})


# ---------------------------------------------------------------------- street spread
def street_spread(state_rows: Iterable[Mapping], *, note: str | None = None) -> Chart:
    """Per league-table month, the streets' composite score (median, 25-75% and
    10-90% bands over streets and replications), and below the streets named,
    summoned and inspected (mean over replications) as stacked bars."""
    scores: dict[str, list[float]] = {}
    counts: dict[str, dict[str, dict[str, int]]] = {}  # month -> replication -> consequence -> n
    for r in state_rows:
        m = str(r.get("month", ""))
        try:
            _month_pos(m)
        except ValueError:
            continue
        s = _num(r.get("score"))
        if math.isfinite(s):
            scores.setdefault(m, []).append(s)
        rep = counts.setdefault(m, {}).setdefault(str(r.get("replication", "0")), {})
        c = str(r.get("consequence") or "none")
        rep[c] = rep.get(c, 0) + 1
    months = sorted(m for m in counts if len(scores.get(m, ())) >= 2)
    if len(months) < 2:
        raise SkipChart(f"fewer than 2 months of street scores in {STREET_STATE_FILE}")
    q = np.array([np.percentile(scores[m], [10, 25, 50, 75, 90]) for m in months])
    x = np.array([_month_pos(m) for m in months])
    mean_counts = {c: np.array([np.mean([reps.get(c, 0) for reps in counts[m].values()]) for m in months])
                   for c in CONSEQUENCE_STYLE}
    n_reps = max(len(counts[m]) for m in months)
    n_streets = max(len(scores[m]) for m in months) / max(n_reps, 1)
    with cs.style():
        fig, (ax, axb) = cs.new_figure(height=6.4, nrows=2, sharex=True, gridspec_kw={"height_ratios": [2.6, 1.4]})
        ax.fill_between(x, q[:, 0], q[:, 4], color=cs.BLUE, alpha=0.14, lw=0)
        ax.fill_between(x, q[:, 1], q[:, 3], color=cs.BLUE, alpha=0.28, lw=0)
        ax.plot(x, q[:, 2], color=cs.BLUE, marker="o", ms=4)
        ax.set_ylabel(cs.label("Score", "得分", "points 分"))
        ax.set_title("Composite score of the streets in each month's league table 各月排名街乡综合得分",
                     loc="left", fontsize=cs.BASE_SIZE, fontweight="normal")
        _month_axis(ax, int(x.min()), int(x.max()), show_labels=False)
        bottom = np.zeros(len(months))
        for c, (en, zh, colour) in CONSEQUENCE_STYLE.items():
            axb.bar(x, mean_counts[c], bottom=bottom, width=0.62, color=colour, label=f"{en} {zh}")
            bottom = bottom + mean_counts[c]
        axb.set_ylim(0, max(1.0, float(bottom.max())) * 1.12)
        axb.set_ylabel(cs.label("Streets", "街乡", "n"))
        axb.set_title("Consequences drawn from the table 排名后果", loc="left", fontsize=cs.BASE_SIZE,
                      fontweight="normal")
        _month_axis(axb, int(x.min()), int(x.max()))
        axb.set_xlabel(cs.label("League-table month", "排名月份"))
        handles = [Line2D([], [], color=cs.BLUE, marker="o", ms=4, label="median street 中位数"),
                   Patch(color=cs.BLUE, alpha=0.42, label="middle half (25–75%) 中间一半街乡"),
                   Patch(color=cs.BLUE, alpha=0.14, label="10–90% of streets 10–90%街乡"),
                   *(Patch(color=colour, label=f"{en} {zh}") for en, zh, colour in CONSEQUENCE_STYLE.values())]
        legend = (handles, [h.get_label() for h in handles])
    spread = q[:, 4] - q[:, 0]
    per = {c: float(np.mean(v)) for c, v in mean_counts.items()}
    total = sum(per.values())
    m0, m1 = months[0], months[-1]
    verb, verb_zh = ("rises", "升至") if q[-1, 2] >= q[0, 2] else ("falls", "降至")
    title = (f"The median street's score {verb} from {q[0, 2]:.0f} in {_m_en(m0)} to {q[-1, 2]:.0f} in {_m_en(m1)}; "
             f"the middle 80% of streets spans {spread[0]:.0f} points, then {spread[-1]:.0f}. Each month "
             f"{total:.0f} streets face consequences: {per['named']:.1f} named, {per['summoned']:.1f} summoned, "
             f"{per['inspection']:.1f} inspected")
    sub = (f"街乡得分中位数由{_m_zh(m0)}的{q[0, 2]:.0f}分{verb_zh}{_m_zh(m1)}的{q[-1, 2]:.0f}分，中间80%街乡的得分跨度由"
           f"{spread[0]:.0f}分变为{spread[-1]:.0f}分；每月平均{total:.0f}个街乡受到问责：通报{per['named']:.1f}个、"
           f"约谈{per['summoned']:.1f}个、督查{per['inspection']:.1f}个")
    note = (note or cs.source_note(ci=False)) + (
        f" Ranked streets of each replication pooled (about {n_streets:.0f} ranked streets x {n_reps} replications); "
        "bars: mean over replications of the streets whose consecutive months in rectification earned them "
        "being named (1st month), summoned (2nd) or inspected (3rd and later).")
    cs.finish(fig, title, sub, note, legend=legend, legend_cols=3)
    return Chart("street_spread", fig, title, sub, {"months": months, "quantiles": q.tolist(),
                                                   "consequences": {c: v.tolist() for c, v in mean_counts.items()}})
