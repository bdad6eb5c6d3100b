"""Which streets change class under other weights (``experiment=weight_robustness``):
the league table of one simulation ranked under every candidate weight set
(summary.json's ``weight_robustness`` block, :mod:`analysis.rankings.weight_robustness`)."""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator

from analysis.charts import style as cs
from analysis.charts.chart import Chart, SkipChart
from analysis.charts.formatting import _month_en, _month_zh
from analysis.charts.sweep_labels import bilingual, tick_label, value_label
from analysis.rankings.weight_robustness import compared_month

#: The classes the weights can move, with their colours and names.
CLASS_STYLE = (("advanced", cs.BLUE, "advanced", "先进"), ("improving", cs.GREEN, "improving", "进步"),
               ("rectification", cs.VERMILLION, "rectification", "整改"))


def weight_class_changes(block: dict, month: str | None = None, *, note: str | None = None) -> Chart:
    """Per candidate weight set (one row each) the streets that leave each class against
    the run's own weights in ``month`` (default: the last compared): bars = mean over
    replications, whiskers = fewest to most, the label ``k of n`` = replication 0."""
    month = compared_month(block, month)
    if month is None:
        raise SkipChart("no weight_robustness block with a ranked month in summary.json "
                        "(python run.py experiment=weight_robustness)")
    ref = block["reference"]
    sets = [n for n in block["months"][month] if n != ref]
    if not sets:
        raise SkipChart("no weight set other than the run's own")
    data = block["months"][month]
    ref_en, ref_zh = value_label("ranking", ref)
    with cs.style():
        fig, ax = cs.new_figure(height=2.2 + 0.8 * len(sets))
        height = 0.8 / len(CLASS_STYLE)
        for k, (cls, colour, en, zh) in enumerate(CLASS_STYLE):
            y = np.arange(len(sets)) + (k - 1) * height
            mean = np.array([data[s]["classes"][cls]["left_mean"] for s in sets], float)
            lo = np.array([data[s]["classes"][cls]["left_min"] for s in sets], float)
            hi = np.array([data[s]["classes"][cls]["left_max"] for s in sets], float)
            ax.barh(y, mean, height=height * 0.9, color=colour, label=f"{en} {zh}")
            ax.errorbar(mean, y, xerr=np.vstack([mean - lo, hi - mean]), fmt="none", ecolor=cs.BLACK, elinewidth=1,
                        capsize=2)
            for yi, s, m_hi in zip(y, sets, hi):
                e = data[s]["classes"][cls]
                ax.annotate(f"{e['left']} of {e['reference_n']}", (m_hi, yi), xytext=(5, 0), textcoords="offset points",
                            va="center", fontsize=cs.BASE_SIZE - 1.5, color=cs.TEXT_GREY)
        ax.set_yticks(np.arange(len(sets)), [bilingual(*tick_label("ranking", s)) for s in sets])
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(len(sets) - 0.5, -0.5)
        top = max([1.0] + [data[s]["classes"][c]["left_max"] for s in sets for c, *_ in CLASS_STYLE])
        ax.set_xlim(0, top * 1.25 + 1)
        ax.set_xlabel(cs.label("Streets that leave the class", "离开该类的街乡数", f"against {ref_en}"))
        ax.grid(axis="y", visible=False)
        ax.legend(loc="lower right")
    rect = {s: data[s]["classes"]["rectification"] for s in sets}
    worst = max(sets, key=lambda s: (rect[s]["left_mean"], data[s]["streets_changing_class_mean"]))
    w_en, w_zh = value_label("ranking", worst)
    m_en, m_zh = _month_en(month), _month_zh(month)
    if rect[worst]["left_mean"] > 0:
        e = rect[worst]
        title = (f"Under {w_en}, {e['left_mean']:g} of the {e['reference_n']} streets in rectification would differ "
                 f"from {ref_en} ({m_en}, mean over replications)")
        sub = f"{m_zh}：采用{w_zh}时，{e['reference_n']}个整改街乡中平均有{e['left_mean']:g}个与{ref_zh}不同"
    elif any(data[s]["streets_changing_class_mean"] for s in sets):
        most = max(data[s]["streets_changing_class_mean"] for s in sets)
        title = (f"No rectification street changes under any of {len(sets)} other weight sets; at most {most:g} "
                 f"streets change class ({m_en})")
        sub = f"{m_zh}：{len(sets)}种其他权重下整改街乡均不变，最多{most:g}个街乡类别改变"
    else:
        title = f"No street changes class under any of {len(sets)} other weight sets ({m_en})"
        sub = f"{m_zh}：{len(sets)}种其他权重下没有街乡改变类别"
    same = [s for s in sets if data[s].get("same_ranks")]
    extra = [f"One simulation ranked under each weight set (weights: response/resolution/satisfaction), everything else the "
             f"run's own; against {bilingual(ref_en, ref_zh)}. Governance (治理) does not depend on the weights."]
    if same:
        extra.append(f"The very same ranks as {ref_en} (replication 0): "
                     f"{', '.join(value_label('ranking', s)[0] for s in same)}.")
    if block.get("note"):
        extra.append("NOTE: " + block["note"] + ".")
    cs.finish(fig, title, sub, (note or cs.source_note(ci=False)) + " " + " ".join(extra))
    caption = ("Streets that leave the advanced, improving and rectification classes when the same simulated month "
               "is ranked under another weight set (bars: mean over replications, whiskers: fewest to most; "
               "label: replication 0, the published table); per street in weight_robustness.csv.")
    facts = {"month": month, "reference": ref, "worst": worst, "rectification_left_mean": rect[worst]["left_mean"],
             "same_ranks": same}
    return Chart("weight_class_changes", fig, title, sub, facts, caption)
