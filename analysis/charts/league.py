"""The league tables and how far to trust them: the monthly ranks of the best and worst
streets (``rankings.csv``), each street's rank interval when a source of uncertainty is
redrawn and whose class depends on the weights (``robustness.csv``), and the funnel plot
of the rates against their denominators (``funnel.csv``)."""
from __future__ import annotations

import math
from typing import Iterable, Mapping

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from analysis.charts import style as cs
from analysis.charts.chart import Chart, SkipChart
from analysis.charts.formatting import _month_en, _month_zh, _num
from analysis.charts.vocabulary import FLAG_STYLE, RATE_DENOMINATOR, RATE_LABELS, SOURCES


# ---------------------------------------------------------------------- street rows
def _street_label(row: Mapping) -> str:
    """A street (or district) row's name, the official Chinese name first, then the
    pinyin: ``东华门街道 Donghuamen``."""
    en = row.get("street") or row.get("district") or str(row.get("unit", ""))
    zh = row.get("street_zh") if row.get("street") else row.get("district_zh")
    return f"{zh} {en}" if zh else en


def _street_rows(rows: list[dict]) -> list[dict]:
    """Street-level rows if there are any, else the rows as given (district level)."""
    streets = [r for r in rows if str(r.get("street") or "").strip()]
    return streets or rows


def _latest_month(rows: list[dict], month: str | None) -> tuple[str | None, list[dict]]:
    """The rows of ``month`` (default the latest month in them), and that month."""
    months = sorted({str(r.get("month", "")) for r in rows})
    if month is None:
        month = months[-1] if months else None
    return month, [r for r in rows if str(r.get("month", "")) == month]


def _repel(targets: np.ndarray, gap: float, lo: float, hi: float) -> np.ndarray:
    """Positions as close as possible to ``targets`` (any order), at least ``gap``
    apart, inside [lo, hi] (display units)."""
    order = np.argsort(targets)
    pos = targets[order].astype(float).copy()
    for _ in range(50):
        for i in range(1, len(pos)):
            pos[i] = max(pos[i], pos[i - 1] + gap)
        if len(pos) and pos[-1] > hi:
            pos[-1] = hi
            for i in range(len(pos) - 2, -1, -1):
                pos[i] = min(pos[i], pos[i + 1] - gap)
        if len(pos) and pos[0] < lo:
            pos[0] = lo
        if np.all(np.diff(pos) >= gap - 1e-9):
            break
    out = np.empty_like(pos)
    out[order] = pos
    return out


# ---------------------------------------------------------------------- league bump
def league_bump(rows: Iterable[Mapping], n: int = 10, *, replication: str | int | None = None,
                note: str | None = None) -> Chart:
    """Monthly rank of the ``n`` best and ``n`` worst streets of the last month
    (one replication of ``rankings.csv``, default the first), a bump chart; with one
    month, a dot plot of their scores."""
    rows = [r for r in rows if str(r.get("level", "street")) == "street"]
    if not rows:
        raise SkipChart("no street rows in the rankings")
    reps = sorted({str(r["replication"]) for r in rows}, key=lambda s: int(_num(s)))
    rep = str(replication) if replication is not None else reps[0]
    rows = [r for r in rows if str(r["replication"]) == rep and math.isfinite(_num(r.get("rank")))
            and _num(r["rank"]) > 0]
    months = sorted({str(r["month"]) for r in rows})
    if not months:
        raise SkipChart("no ranked street in the rankings")
    by_month = {m: {str(r["unit"]): r for r in rows if str(r["month"]) == m} for m in months}
    last = months[-1]
    ranked_last = sorted(by_month[last].values(), key=lambda r: _num(r["rank"]))
    n = min(n, len(ranked_last) // 2)
    top, bottom = ranked_last[:n], ranked_last[-n:]
    n_ranked = {m: len(v) for m, v in by_month.items()}
    if len(months) == 1:
        return _league_dots(top, bottom, last, n_ranked[last], note)

    prev = months[-2]
    rank_prev = {u: _num(r["rank"]) for u, r in by_month[prev].items()}
    kept_top = sum(1 for r in top if rank_prev.get(str(r["unit"]), math.inf) <= n)
    kept_bottom = sum(1 for r in bottom if rank_prev.get(str(r["unit"]), -math.inf) > n_ranked[prev] - n)
    xs = np.arange(len(months))
    bumps = []
    with cs.style():
        fig, axes = cs.new_figure(height=8.2, nrows=2)
        for ax, group, colour, head in ((axes[0], top, cs.BLUE, f"Top {n} in {_month_en(last)} 先进"),
                                        (axes[1], bottom, cs.VERMILLION, f"Bottom {n} in {_month_en(last)} 整改")):
            ranks = []
            for r in group:
                u = str(r["unit"])
                ys = np.array([_num(by_month[m][u]["rank"]) if u in by_month[m] else np.nan for m in months])
                ranks.append(ys)
                ax.plot(xs, ys, color=colour, alpha=0.75, lw=1.4, marker="o", ms=4)
            total = max(n_ranked.values())
            ax.set_ylim(total + 0.03 * total, 1 - 0.03 * total)  # rank 1 at the top, same scale in both panels
            ax.set_xlim(-0.15, len(months) - 1 + 0.15)
            ax.set_xticks(xs, [f"{_month_en(m)}\n{_month_zh(m)}" for m in months])
            ax.set_title(head, color=colour)
            ax.set_ylabel(cs.label("Rank", "排名", f"1 = best of {n_ranked[last]}"))
            ticks = [1] + list(range(50, total, 50))
            ax.set_yticks(ticks + ([total] if total - ticks[-1] >= 40 else []))
            ax.grid(axis="x", visible=False)
            labels = [f"{int(_num(r['rank']))}. {_street_label(r)}" for r in group]
            twin = ax.twinx()
            twin.set_ylim(ax.get_ylim())
            twin.set_yticks([ys[-1] for ys in ranks], labels)  # final positions set after layout
            twin.tick_params(axis="y", length=0, labelsize=cs.BASE_SIZE - 1, pad=14)
            twin.grid(False)
            twin.spines[:].set_visible(False)
            bumps.append((ax, twin, np.array([ys[-1] for ys in ranks]), labels))
    def count(k: int, capital: bool = False) -> str:
        word = "none" if k == 0 else (f"only {k}" if k < n / 2 else str(k))
        return word[0].upper() + word[1:] if capital else word

    title = (f"{count(kept_top, True)} of {_month_en(last)}'s {n} best streets {'was' if kept_top <= 1 else 'were'} "
             f"also top {n} in {_month_en(prev)}; {count(kept_bottom)} of its {n} worst "
             f"{'was' if kept_bottom <= 1 else 'were'} bottom {n} then")
    zh_top = f"仅{kept_top}个" if kept_top else "没有一个"
    zh_bottom = f"有{kept_bottom}个" if kept_bottom else "没有一个"
    sub = (f"{_month_zh(last)}排名前{n}的街乡中{zh_top}在{_month_zh(prev)}也位列前{n}；"
           f"后{n}名中{zh_bottom}在{_month_zh(prev)}也位列后{n}")
    note = (note or cs.source_note(ci=False)) + \
        " League table of one simulated replication (as a published table would be); ranks among ranked streets."
    cs.finish(fig, title, sub, note)
    with cs.style():
        fig.draw_without_rendering()
        gap = (cs.BASE_SIZE - 1) * 1.3 * fig.dpi / 72
        for ax, twin, last_y, labels in bumps:
            disp = ax.transData.transform(np.column_stack([np.full(len(last_y), xs[-1]), last_y]))[:, 1]
            bbox = ax.get_window_extent()
            pos = _repel(disp, gap, bbox.y0 + gap / 2, bbox.y1 - gap / 2)
            inv = ax.transData.inverted()
            ypos = [inv.transform((0, p))[1] for p in pos]
            twin.set_yticks(ypos, labels)
            for yv, yp in zip(last_y, ypos):
                ax.annotate("", xy=(xs[-1], yv), xytext=(1.0, yp), textcoords=("axes fraction", "data"),
                            arrowprops={"arrowstyle": "-", "color": cs.GREY, "lw": 0.6, "shrinkA": 0, "shrinkB": 3})
    return Chart("league_bump", fig, title, sub, {"kept_top": kept_top, "kept_bottom": kept_bottom, "n": n,
                                                 "months": months})


def _league_dots(top: list[dict], bottom: list[dict], month: str, n_ranked: int, note: str | None) -> Chart:
    rows = top + bottom
    n = len(top)
    scores = np.array([_num(r.get("score")) for r in rows])
    with cs.style():
        fig, ax = cs.new_figure(height=1.8 + 0.24 * len(rows))
        y = np.arange(len(rows))[::-1]
        colours = [cs.BLUE] * n + [cs.VERMILLION] * n
        ax.hlines(y, np.nanmin(scores) - 1, scores, color=cs.LIGHT_GREY, lw=1)
        ax.scatter(scores, y, c=colours, s=30, zorder=3)
        ax.set_yticks(y, [f"{int(_num(r['rank']))}. {_street_label(r)}" for r in rows])
        ax.axhline(y[n - 1] - 0.5, color=cs.GREY, lw=0.8, ls=":")
        ax.set_xlabel(cs.label("Composite score", "综合得分", "0–100"))
        ax.grid(axis="y", visible=False)
    title = (f"{_month_en(month)} league: the best street scores {scores[0]:.1f}, the worst {scores[-1]:.1f} "
             f"(of {n_ranked} ranked streets)")
    sub = f"{_month_zh(month)}排名：最好街乡得分{scores[0]:.1f}，最差{scores[-1]:.1f}（共{n_ranked}个参评街乡）"
    cs.finish(fig, title, sub, (note or cs.source_note(ci=False)) + " One simulated replication; top and bottom "
              f"{n} streets (先进 / 整改).")
    return Chart("league_bump", fig, title, sub, {"n": n, "months": [month]})


# ---------------------------------------------------------------------- rank caterpillar
def _robust_rows(rows: Iterable[Mapping], month: str | None) -> tuple[str | None, list[dict]]:
    rows = _street_rows(list(rows))
    month, rows = _latest_month(rows, month)
    return month, [r for r in rows if math.isfinite(_num(r.get("nominal_rank"))) and _num(r["nominal_rank"]) > 0
                   and math.isfinite(_num(r.get("median_rank")))]


def _caterpillar_panel(ax, rows: list[dict], highlight: int, n_ranked: int) -> None:
    rows = sorted(rows, key=lambda r: _num(r["nominal_rank"]))
    x = np.array([_num(r["nominal_rank"]) for r in rows])
    med = np.array([_num(r["median_rank"]) for r in rows])
    lo = np.array([_num(r["rank_p05"]) for r in rows])
    hi = np.array([_num(r["rank_p95"]) for r in rows])
    ax.plot([1, n_ranked], [1, n_ranked], color=cs.BLACK, lw=0.6, ls="--", zorder=1)
    top, bottom = x <= highlight, x > n_ranked - highlight
    rest = ~(top | bottom)
    ax.vlines(x[rest], lo[rest], hi[rest], colors=cs.GREY, lw=0.8, alpha=0.35, zorder=2)
    ax.scatter(x[rest], med[rest], color=cs.GREY, s=5, zorder=3, lw=0)
    for m, colour in ((top, cs.BLUE), (bottom, cs.VERMILLION)):
        ax.vlines(x[m], lo[m], hi[m], colors=colour, lw=1.3, alpha=0.8, zorder=4)
        ax.scatter(x[m], med[m], color=colour, s=9, zorder=5, lw=0)
    ax.set_xlim(-2, n_ranked + 3)
    ax.set_ylim(n_ranked + 3, -2)
    ticks = [1] + list(range(50, n_ranked, 50))
    if n_ranked - ticks[-1] >= 40:
        ticks.append(n_ranked)
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)


def _width(rows: list[dict]) -> float:
    w = [_num(r["rank_p95"]) - _num(r["rank_p05"]) for r in rows]
    w = [v for v in w if math.isfinite(v)]
    return float(np.median(w)) if w else math.nan


def rank_caterpillar(rows: Iterable[Mapping], source: str = "sampling", *, month: str | None = None,
                     highlight: int = 10, note: str | None = None) -> Chart:
    """Median rank with its 90% interval for every street, ordered by the published
    (nominal) rank, from ``robustness.csv``; the best and worst ``highlight`` streets
    in colour, and listed by name on the right.

    ``source``: one of weights_dirichlet, weights_simplex, sampling, replications, or
    ``"all"`` for one panel per source (:func:`rank_caterpillar_all_sources`)."""
    rows = list(rows)
    if source == "all":
        return rank_caterpillar_all_sources(rows, month=month, highlight=highlight, note=note)
    month, rows = _robust_rows(rows, month)
    rows = [r for r in rows if str(r.get("source")) == source]
    if not rows:
        raise SkipChart(f"no ranked street rows for source {source!r}")
    rows.sort(key=lambda r: _num(r["nominal_rank"]))
    n_ranked = int(max(_num(r["nominal_rank"]) for r in rows))
    highlight = min(highlight, n_ranked // 2)
    src_en, src_zh = SOURCES.get(source, (source, source))
    top, bottom = rows[:highlight], rows[-highlight:]
    with cs.style():
        fig = Figure(figsize=(cs.WIDTH_IN, 6.6), layout="constrained")
        gs = fig.add_gridspec(2, 2, width_ratios=[1.05, 1])
        ax = fig.add_subplot(gs[:, 0])
        _caterpillar_panel(ax, rows, highlight, n_ranked)
        ax.set_xlabel(cs.label("Published rank", "名义排名", "1 = best"))
        ax.set_ylabel(cs.label("Rank when redrawn", "重抽排名", "median and 90% interval"))
        ax.set_title(f"All {n_ranked} ranked streets 全部街乡", loc="left")
        for sub_ax, group, colour, head in ((fig.add_subplot(gs[0, 1]), top, cs.BLUE, f"Top {highlight} 前{highlight}名"),
                                            (fig.add_subplot(gs[1, 1]), bottom, cs.VERMILLION,
                                             f"Bottom {highlight} 后{highlight}名")):
            yy = np.arange(len(group))
            med = np.array([_num(r["median_rank"]) for r in group])
            lo = np.array([_num(r["rank_p05"]) for r in group])
            hi = np.array([_num(r["rank_p95"]) for r in group])
            sub_ax.hlines(yy, lo, hi, color=colour, lw=2.2, alpha=0.5)
            sub_ax.scatter(med, yy, color=colour, s=18, zorder=3)
            sub_ax.scatter([_num(r["nominal_rank"]) for r in group], yy, marker="|", color=cs.BLACK, s=40, zorder=4,
                           lw=1.2)
            sub_ax.set_yticks(yy, [f"{int(_num(r['nominal_rank']))}. {_street_label(r)}" for r in group],
                              fontsize=cs.BASE_SIZE - 1.5)
            sub_ax.set_ylim(len(group) - 0.5, -0.5)
            sub_ax.set_title(head, color=colour, loc="left")
            sub_ax.grid(axis="y", visible=False)
            # right-aligned: long street names narrow the panel, and the label may be wider
            sub_ax.set_xlabel(cs.label("Rank", "排名", "| published, ● median, bar 90%"), fontsize=cs.BASE_SIZE - 1,
                              loc="right")
    width = _width(rows)
    p_top = [_num(r.get("p_top_n")) for r in top]
    stay = sum(1 for p in p_top if math.isfinite(p) and p >= 0.9)
    stay_en = "none" if stay == 0 else f"only {stay}" if stay < highlight / 2 else f"{stay}"
    title = (f"{src_en}: a typical street's 90% rank interval spans {width:.0f} places; "
             f"{stay_en} of the top {highlight} {'stays' if stay <= 1 else 'stay'} top {highlight} "
             f"in at least 90% of redraws")
    sub = (f"{src_zh}：街乡排名90%区间宽度的中位数为{width:.0f}位；前{highlight}名中"
           + ("没有一个" if stay == 0 else f"{stay}个") + f"能在至少90%的重抽中保持前{highlight}")
    note = (note or cs.source_note(ci=False)) + \
        f" Month {month}; {src_en.lower()} redrawn, streets re-ranked each draw (analysis.rankings.robustness)."
    cs.finish(fig, title, sub, note)
    return Chart("rank_caterpillar", fig, title, sub, {"median_width": width, "stay_top": stay, "source": source,
                                                       "month": month})


def rank_caterpillar_all_sources(rows: Iterable[Mapping], *, month: str | None = None, highlight: int = 10,
                                 note: str | None = None) -> Chart:
    """One caterpillar panel per source of uncertainty, same axes: which source moves
    the ranks most."""
    month, rows = _robust_rows(rows, month)
    sources = [s for s in SOURCES if any(str(r.get("source")) == s for r in rows)]
    sources += sorted({str(r.get("source")) for r in rows} - set(sources))
    if not sources:
        raise SkipChart("no ranked street rows in robustness.csv")
    n_ranked = int(max(_num(r["nominal_rank"]) for r in rows))
    widths = {}
    ncols = 2 if len(sources) > 1 else 1
    nrows = math.ceil(len(sources) / ncols)
    with cs.style():
        fig, axes = cs.new_figure(height=2.9 * nrows + 1.5, nrows=nrows, ncols=ncols, sharex=True, sharey=True,
                                  squeeze=False)
        for k, src in enumerate(sources):
            ax = axes.flat[k]
            sel = [r for r in rows if str(r.get("source")) == src]
            _caterpillar_panel(ax, sel, min(highlight, n_ranked // 2), n_ranked)
            widths[src] = _width(sel)
            en, zh = SOURCES.get(src, (src, src))
            ax.set_title(f"{en} {zh}\ntypical 90% interval: {widths[src]:.0f} places", fontsize=cs.BASE_SIZE)
            if k % ncols == 0:
                ax.set_ylabel(cs.label("Rank redrawn", "重抽排名", "median, 90%"))
            if k >= len(sources) - ncols:
                ax.set_xlabel(cs.label("Published rank", "名义排名", "1 = best"))
        for ax in axes.flat[len(sources):]:
            ax.set_visible(False)
    big = max(widths, key=lambda s: widths[s] if math.isfinite(widths[s]) else -1)
    small = min(widths, key=lambda s: widths[s] if math.isfinite(widths[s]) else math.inf)
    title = (f"{SOURCES.get(big, (big,))[0]} moves street ranks most (typical 90% interval {widths[big]:.0f} places), "
             f"{SOURCES.get(small, (small,))[0].lower()} least ({widths[small]:.0f})")
    sub = (f"{SOURCES.get(big, (big, big))[1]}对街乡排名影响最大（90%区间宽度中位数{widths[big]:.0f}位），"
           f"{SOURCES.get(small, (small, small))[1]}最小（{widths[small]:.0f}位）")
    note = (note or cs.source_note(ci=False)) + f" Month {month}; blue: top {highlight}, vermillion: bottom {highlight}; " \
        "dashed: redrawn rank = published rank."
    cs.finish(fig, title, sub, note)
    return Chart("rank_caterpillar_all_sources", fig, title, sub, {"widths": widths, "month": month})


# ---------------------------------------------------------------------- weight sensitivity
def weight_sensitivity(rows: Iterable[Mapping], *, month: str | None = None, top_n: int = 10,
                       bottom_n: int | None = None, lo: float = 0.1, hi: float = 0.9, max_streets: int = 14,
                       note: str | None = None) -> Chart:
    """Streets whose class depends on the weights: the chance, over weight draws
    (sources weights_dirichlet and weights_simplex of ``robustness.csv``), of being
    among the best ``top_n`` (先进) or worst ``bottom_n`` (整改), for the streets where
    that chance is uncertain (``lo < p < hi``) under either source."""
    bottom_n = top_n if bottom_n is None else bottom_n
    month, rows = _robust_rows(rows, month)
    srcs = [s for s in ("weights_dirichlet", "weights_simplex") if any(str(r.get("source")) == s for r in rows)]
    if not srcs:
        raise SkipChart("robustness.csv has no weights_dirichlet / weights_simplex rows")
    by_unit: dict[str, dict] = {}
    for r in rows:
        if str(r.get("source")) in srcs:
            by_unit.setdefault(str(r["unit"]), {"row": r})[str(r["source"])] = r
    groups = {}
    for col in ("p_top_n", "p_bottom_n"):
        unsure, sure = [], 0
        for u, d in by_unit.items():
            ps = [_num(d[s][col]) for s in srcs if s in d]
            if any(lo < p < hi for p in ps if math.isfinite(p)):
                unsure.append(d)
            elif ps and all(math.isfinite(p) and p >= hi for p in ps):
                sure += 1
        # most uncertain first (p closest to one half), then by nominal rank
        unsure.sort(key=lambda d: min(abs(_num(d[s][col]) - 0.5) for s in srcs if s in d))
        groups[col] = (unsure, sure)
    n_top, n_bottom = len(groups["p_top_n"][0]), len(groups["p_bottom_n"][0])
    top_sure, bottom_sure = groups["p_top_n"][1], groups["p_bottom_n"][1]
    if n_top + n_bottom == 0:
        raise SkipChart(f"no street's class depends on the weights ({top_sure} always top {top_n}, "
                        f"{bottom_sure} always bottom {bottom_n})")
    shown = {col: sorted(g[0][:max_streets], key=lambda d: _num(d["row"]["nominal_rank"])) for col, g in groups.items()}
    panels = [(col, head, colour) for col, head, colour in
              (("p_top_n", f"Could be top {top_n} (先进) — or not", cs.BLUE),
               ("p_bottom_n", f"Could be bottom {bottom_n} (整改) — or not", cs.VERMILLION)) if shown[col]]
    heights = [len(shown[col]) for col, _, _ in panels]
    markers = {"weights_dirichlet": ("o", cs.BLUE, "full"), "weights_simplex": ("D", cs.ORANGE, "none")}
    with cs.style():
        fig, axes = cs.new_figure(height=2.4 + 0.23 * sum(heights) + 0.5 * len(panels), nrows=len(panels),
                                  sharex=True, squeeze=False, gridspec_kw={"height_ratios": heights})
        axes = axes[:, 0]
        for ax, (col, head, colour) in zip(axes, panels):
            ds = shown[col]
            ax.axvspan(lo * 100, hi * 100, color=cs.LIGHT_GREY, alpha=0.35, lw=0)
            yy = np.arange(len(ds))
            for s in srcs:
                mk, c, fill = markers[s]
                ps = [_num(d[s][col]) * 100 if s in d else np.nan for d in ds]
                ax.scatter(ps, yy, marker=mk, s=30, facecolors=c if fill == "full" else "white", edgecolors=c,
                           lw=1.4, zorder=3, label=f"{SOURCES[s][0]} {SOURCES[s][1]}")
            for yi, d in zip(yy, ds):
                ps = [_num(d[s][col]) * 100 for s in srcs if s in d]
                ax.plot([min(ps), max(ps)], [yi, yi], color=cs.GREY, lw=0.8, zorder=2)
            ax.set_yticks(yy, [f"{int(_num(d['row']['nominal_rank']))}. {_street_label(d['row'])}" for d in ds])
            ax.set_ylim(len(ds) - 0.5, -0.6)
            more = len(groups[col][0]) - len(ds)
            ax.set_title(head + (f"  (the {len(ds)} most uncertain of {len(groups[col][0])})" if more > 0 else ""),
                         color=colour)
            ax.grid(axis="y", visible=False)
        axes[-1].set_xlim(-3, 103)
        axes[-1].set_xlabel(cs.label("Chance of the class over weight draws", "权重抽样中归入该类的概率", "%"))
        legend = axes[0].get_legend_handles_labels()
    n_unsure = len({id(d) for g in groups.values() for d in g[0]})
    title = (f"Weights decide the class of {n_unsure} street{'' if n_unsure == 1 else 's'}: "
             f"{n_top} could be top {top_n} or not, {n_bottom} bottom {bottom_n} or not; "
             f"{top_sure} are top {top_n} and {bottom_sure} bottom {bottom_n} under any weights")
    sub = (f"权重选择决定了{n_unsure}个街乡的类别："
           f"{n_top}个可能进入或跌出前{top_n}名（先进），{n_bottom}个可能进入或跌出后{bottom_n}名（整改）；"
           f"{top_sure}个无论权重如何都列前{top_n}，{bottom_sure}个都列后{bottom_n}")
    note = (note or cs.source_note(ci=False)) + \
        f" Month {month}; uncertain = chance between {lo:.0%} and {hi:.0%} (shaded) under either weight source; " \
        "numbers before names are published ranks."
    cs.finish(fig, title, sub, note, legend=legend)
    return Chart("weight_sensitivity", fig, title, sub, {"uncertain_top": n_top, "uncertain_bottom": n_bottom,
                                                         "sure_top": top_sure, "sure_bottom": bottom_sure})


# ---------------------------------------------------------------------- funnel plot
def funnel_plot(rows: Iterable[Mapping], *, month: str | None = None, label_worst: int = 2,
                note: str | None = None) -> Chart:
    """Per rate, each street's value against its denominator with the 95% and 99.8%
    control limits around the city rate (``funnel.csv``), points coloured by flag."""
    month, rows = _latest_month(_street_rows(list(rows)), month)
    rates = [r for r in RATE_LABELS if any(str(x.get("rate")) == r for x in rows)]
    rates += sorted({str(x.get("rate")) for x in rows} - set(rates))
    rows = [r for r in rows if str(r.get("flag")) != "no_data" and math.isfinite(_num(r.get("value")))]
    if not rows or not rates:
        raise SkipChart("no funnel rows with data")
    counts = {}
    with cs.style():
        fig, axes = cs.new_figure(height=5.4, ncols=len(rates), squeeze=False)
        for ax, rate in zip(axes.flat, rates):
            sel = sorted((r for r in rows if str(r["rate"]) == rate), key=lambda r: _num(r["n"]))
            n = np.array([_num(r["n"]) for r in sel])
            val = np.array([_num(r["value"]) for r in sel]) * 100
            flags = [str(r["flag"]) for r in sel]
            p0 = np.nanmedian([_num(r["p0"]) for r in sel]) * 100
            for lo_col, hi_col, ls, lab in (("lo95", "hi95", "--", "95% limits"), ("lo998", "hi998", "-", "99.8% limits")):
                lo = np.array([_num(r[lo_col]) for r in sel]) * 100
                hi = np.array([_num(r[hi_col]) for r in sel]) * 100
                ax.plot(n, lo, color=cs.GREY, ls=ls, lw=0.9)
                ax.plot(n, hi, color=cs.GREY, ls=ls, lw=0.9)
            ax.axhline(p0, color=cs.BLACK, lw=0.8)
            order = ["inside", "above_95", "below_95", "above_99.8", "below_99.8"]
            for f in order:
                m = np.array([fl == f for fl in flags])
                if m.any():
                    colour = FLAG_STYLE[f][0]
                    ax.scatter(n[m], val[m], s=14 if f == "inside" else 20, color=colour, zorder=3 + order.index(f),
                               edgecolors="#777777" if f == "inside" else "none", lw=0.3)
            counts[rate] = {f: flags.count(f) for f in FLAG_STYLE}
            worst = [i for i in np.argsort(val) if flags[i] == "below_99.8"]
            worst = worst[:label_worst] if len(worst) <= 5 else []  # name a few outliers, not a crowd
            for i in worst:
                ax.annotate(sel[i].get("street_zh") or sel[i].get("street") or "", (n[i], val[i]),
                            xytext=(4, -2), textcoords="offset points", fontsize=cs.BASE_SIZE - 2,
                            color=cs.VERMILLION, va="top")
            en, zh = RATE_LABELS.get(rate, (rate, ""))
            ax.set_title(f"{en} {zh}\ncity {p0:.1f}%", fontsize=cs.BASE_SIZE)
            d_en, d_zh, unit = RATE_DENOMINATOR.get(rate, ("Denominator", "分母", "n"))
            ax.set_xlabel(cs.label(d_en, d_zh, unit), fontsize=cs.BASE_SIZE - 1)
            ax.set_xlim(left=0)
            pad = max(2.0, 0.06 * (np.nanmax(val) - np.nanmin(val)))
            ax.set_ylim(max(0, np.nanmin(val) - pad), min(100, np.nanmax(val)) + pad)
        axes.flat[0].set_ylabel(cs.label("Rate", "比率", "%"))
        handles = [Line2D([], [], marker="o", ls="", color=FLAG_STYLE[f][0], label=f"{FLAG_STYLE[f][1]} {FLAG_STYLE[f][2]}")
                   for f in ("above_99.8", "above_95", "inside", "below_95", "below_99.8")]
        handles += [Line2D([], [], color=cs.BLACK, lw=0.8, label="city rate 全市"),
                    Line2D([], [], color=cs.GREY, ls="--", label="95% limits 95%控制限"),
                    Line2D([], [], color=cs.GREY, ls="-", label="99.8% limits 99.8%控制限")]
        legend = (handles, [h.get_label() for h in handles])
    below_units = {str(r["unit"]) for r in rows if str(r["flag"]) == "below_99.8"}
    above_units = {str(r["unit"]) for r in rows if str(r["flag"]) == "above_99.8"}
    parts = ", ".join(f"{RATE_LABELS.get(r, (r,))[0].split()[0].lower()} {counts[r]['below_99.8']}" for r in rates)
    parts_zh = "、".join(f"{RATE_LABELS.get(r, (r, r))[1]}{counts[r]['below_99.8']}个" for r in rates)
    total = len({str(r["unit"]) for r in rows})
    expected = 0.001 * len(rows)  # one-sided 0.1% per street and rate under "on target"
    title = (f"{len(below_units)} of {total} streets fall below the 99.8% limit on some rate ({parts}; "
             f"~{expected:.0f} expected by chance); {len(above_units)} lie above it")
    sub = (f"{total}个街乡中有{len(below_units)}个至少一项比率低于99.8%控制下限（{parts_zh}；"
           f"纯随机波动约{expected:.0f}个），{len(above_units)}个高于上限")
    note = (note or cs.source_note(ci=False)) + \
        f" Month {month}; limits are exact binomial around the city rate (analysis.rankings.funnel); each point a street."
    cs.finish(fig, title, sub, note, legend=legend, legend_cols=3)
    return Chart("funnel_plot", fig, title, sub, {"below": len(below_units), "above": len(above_units),
                                                  "counts": counts})

