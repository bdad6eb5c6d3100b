"""A policy comparison: the paired differences B - A of two runs with the same seed
(``comparison.csv``, written by :mod:`analysis.compare`), one panel per unit."""
from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from analysis.charts import style as cs
from analysis.charts.chart import CAPTIONS, Chart, SkipChart
from analysis.charts.formatting import _ci, _dec, _mid, _num, split_bilingual
from analysis.charts.vocabulary import COMPARISON_KPIS, DIFF_AXIS, DIFF_UNIT, UNIT_ZH, _kpi
from analysis.kpis.practical import DEFAULT_ABSOLUTE, PracticalThreshold


#: The default practical thresholds, kept under this name for callers of the chart
#: (analysis/kpis/practical.py holds them and the threshold's logic; a run's own come from
#: its config key ``comparison.practical_threshold``): 0.5 percentage points for shares,
#: 5 s for call-centre times, 0.5 h for ticket times [assume]; any other unit: a share of
#: run A's level. A difference whose 95% CI excludes 0 but which is smaller is "no
#: practical difference".
PRACTICAL_THRESHOLD = dict(DEFAULT_ABSOLUTE)


def policy_comparison(rows: Iterable[Mapping], label_a: str | None = None, label_b: str | None = None, *,
                      metrics: Sequence[str] | None = COMPARISON_KPIS, note: str | None = None,
                      threshold: PracticalThreshold | None = None) -> Chart:
    """Paired differences B - A with 95% CI for the chosen KPIs (``comparison.csv``:
    metric, a, b, diff, ci_low, ci_high), one panel per unit (percentage points,
    hours, seconds), a zero line; green = better, vermillion = worse (the 95% CI
    excludes 0 and the change is at least :func:`practical_threshold`), hollow grey = a
    clear but smaller change (no practical difference), grey = the CI includes 0.
    ``threshold``: the run's ``comparison.practical_threshold`` (None: the defaults)."""
    threshold = threshold or PracticalThreshold()
    table = {str(r["metric"]): r for r in rows}
    names = [m for m in (metrics or table) if m in table and math.isfinite(_num(table[m]["diff"]))]
    if not names:
        raise SkipChart("no KPI of the selection in the comparison")
    label_a = label_a or "run A"
    label_b = label_b or "run B"
    items = []
    for m in names:
        en, zh, unit, scale, better = _kpi(m)
        r = table[m]
        d, lo, hi = (_num(r[k]) * scale for k in ("diff", "ci_low", "ci_high"))
        a, b = _num(r["a"]) * scale, _num(r["b"]) * scale
        clear = math.isfinite(lo) and (lo > 0 or hi < 0)  # the 95% CI excludes 0
        sig = clear and abs(d) >= threshold.of(DIFF_UNIT.get(unit, unit), a)  # ... and it matters
        colour = cs.NEUTRAL if not sig or better == 0 else (cs.BETTER if d * better > 0 else cs.WORSE)
        items.append({"metric": m, "en": en, "zh": zh, "unit": DIFF_UNIT.get(unit, unit), "level_unit": unit,
                      "d": d, "lo": lo, "hi": hi, "a": a, "b": b, "sig": sig, "small": clear and not sig,
                      "colour": colour})
    sig = [i for i in items if i["sig"]]
    minor = [i for i in items if i["small"]]
    # the headline: the significant difference largest relative to A's level
    top = max(sig, key=lambda i: abs(i["d"]) / max(abs(i["a"]), 1e-9) if math.isfinite(i["a"]) else 0) \
        if sig else None
    units = list(dict.fromkeys(([top["unit"]] if top else []) + [i["unit"] for i in items]))
    counts = [sum(i["unit"] == u for i in items) for u in units]
    with cs.style():
        fig = Figure(figsize=(9.0, 1.9 + 0.36 * len(items) + 0.6 * len(units)), layout="constrained")
        gs = fig.add_gridspec(len(units), 2, width_ratios=[2.2, 1.25], height_ratios=counts)
        for k, u in enumerate(units):
            ax = fig.add_subplot(gs[k, 0])
            tab = fig.add_subplot(gs[k, 1], sharey=ax)
            tab.axis("off")
            tab.set_xlim(0, 1)
            sel = [i for i in items if i["unit"] == u]
            yy = np.arange(len(sel))
            for yi, i in zip(yy, sel):
                err = [[i["d"] - i["lo"]], [i["hi"] - i["d"]]] if math.isfinite(i["lo"]) else None
                ax.errorbar([i["d"]], [yi], xerr=err, fmt="o", color=i["colour"], ms=6, elinewidth=2.2,
                            mfc="white" if i["small"] else i["colour"], mew=1.6)
            ax.axvline(0, color=cs.BLACK, lw=0.9)
            ax.set_yticks(yy, [f"{i['en']} {i['zh']}" for i in sel])
            ax.set_ylim(len(sel) - 0.5, -0.5)
            ax.grid(axis="y", visible=False)
            ext = [v for i in sel for v in (i["lo"], i["hi"], i["d"], 0.0) if math.isfinite(v)]
            span = (max(ext) - min(ext)) or 1.0
            ax.set_xlim(min(ext) - 0.08 * span, max(ext) + 0.08 * span)
            small = cs.BASE_SIZE - 1
            if k == 0:
                tab.text(0.0, -0.6, "B − A [95% CI]", fontsize=small - 0.5, color=cs.TEXT_GREY, va="bottom")
                tab.text(0.655, -0.6, "A → B", fontsize=small - 0.5, color=cs.TEXT_GREY, va="bottom")
            for yi, i in zip(yy, sel):
                dec = min(2, _dec(max(abs(i["d"]), abs(i["hi"] - i["lo"]) / 2 if math.isfinite(i["lo"]) else 0)))
                txt = f"{i['d']:+.{dec}f} {_ci(i['lo'], i['hi'], dec)}".replace("-", "−")
                tab.text(0.0, yi, txt, va="center", fontsize=small, color=i["colour"] if i["sig"] else cs.TEXT_GREY)
                lv = i["level_unit"]
                ad = 1 if lv == "%" else _dec(min(abs(i["a"]), abs(i["b"])))
                unit_txt = "%" if lv == "%" else f" {lv}"
                tab.text(0.655, yi, f"{i['a']:,.{ad}f} → {i['b']:,.{ad}f}{unit_txt}", va="center", fontsize=small,
                         color=cs.TEXT_GREY)
            en, zh, unit_txt = DIFF_AXIS.get(u, ("Difference", "差值", u))
            ax.set_xlabel(cs.label(f"{en} B − A", zh, unit_txt), fontsize=cs.BASE_SIZE - 0.5)
        handles = [Line2D([], [], marker="o", ls="", color=c, mfc=f, mew=1.6, label=t) for c, f, t in
                   ((cs.BETTER, cs.BETTER, "better 改善"), (cs.WORSE, cs.WORSE, "worse 变差"),
                    (cs.NEUTRAL, "white", "no practical difference (below the threshold) 差异过小"),
                    (cs.NEUTRAL, cs.NEUTRAL, "no clear difference (95% CI includes 0) 无显著差异"))]
        legend = (handles, [h.get_label() for h in handles])
    a_en, a_zh = split_bilingual(label_a)
    b_en, b_zh = split_bilingual(label_b)
    if top is not None:
        dec = _dec(max(abs(top["d"]), abs(top["hi"] - top["lo"]) / 2))
        u = top["unit"]
        unit_en = {"pp": " pp"}.get(u, f" {u}" if u else "")
        verb = "raises" if top["d"] > 0 else "lowers"
        verb_zh = ("提高" if u in ("pp",) else "增加") if top["d"] > 0 else ("降低" if u in ("pp",) else "减少")
        lvl = top["level_unit"]
        lvl_en = "%" if lvl == "%" else f" {lvl}"
        ad = _dec(top["a"]) if lvl != "%" else 1
        title = (f"{b_en} {verb} {top['en'][0].lower() + top['en'][1:]} by {abs(top['d']):.{dec}f}{unit_en} "
                 f"{_ci(abs(top['lo']) if top['d'] > 0 else abs(top['hi']), abs(top['hi']) if top['d'] > 0 else abs(top['lo']), dec)}"
                 f" vs {_mid(a_en)}, from {top['a']:.{ad}f}{lvl_en} to {top['b']:.{ad}f}{lvl_en}; "
                 f"{len(sig)} of {len(items)} KPIs differ in practice")
        sub = (f"与{a_zh}相比，{b_zh}使{top['zh']}{verb_zh}{abs(top['d']):.{dec}f}{UNIT_ZH.get(u, u)}，"
               f"由{top['a']:.{ad}f}{UNIT_ZH.get(lvl, lvl)}变为{top['b']:.{ad}f}{UNIT_ZH.get(lvl, lvl)}；"
               f"{len(items)}项指标中{len(sig)}项有实际差异")
        facts = {"largest": top["metric"], "diff": top["d"], "ci": (top["lo"], top["hi"]), "significant": len(sig)}
    elif minor:
        title = (f"{b_en} and {a_en} differ in no practical way on any of {len(items)} KPIs "
                 f"({len(minor)} differ by less than the practical threshold)")
        sub = f"{b_zh}与{a_zh}在{len(items)}项指标上均无实际差异（{len(minor)}项差异低于实际意义阈值）"
        facts = {"largest": None, "significant": 0}
    else:
        title = f"{b_en} and {a_en} do not differ clearly on any of {len(items)} KPIs (all 95% CIs include 0)"
        sub = f"{b_zh}与{a_zh}在{len(items)}项指标上均无显著差异"
        facts = {"largest": None, "significant": 0}
    facts["below_threshold"] = [i["metric"] for i in minor]
    note = (note or cs.source_note()) + \
        f" B = {b_en}, A = {a_en}: paired differences per replication (same seed, common random numbers)." + \
        f" Better or worse only when the 95% CI excludes 0 and the change is at least {threshold.text()}."
    cs.finish(fig, title, sub, note, legend=legend, legend_cols=2)
    caption = CAPTIONS["policy_comparison"] + f" Practical threshold: {threshold.text()}."
    return Chart("policy_comparison", fig, title, sub, facts, caption)

