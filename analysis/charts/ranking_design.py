"""League-table designs under the accountability loop (``ranking_design.csv``,
:mod:`analysis.ranking_design`): per design, true resolution and the measured - true gap
as paired differences from the default design, and the shares of rectification streets
there by noise alone, each with its 95% CI over replications (dots and bars)."""
from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np

from analysis.charts import style as cs
from analysis.charts.chart import Chart, SkipChart
from analysis.charts.formatting import _num

#: (measure, title, Chinese, scale, unit, paired): paired panels show the difference from
#: the default design, replication by replication (common random numbers); the others levels.
PANELS = (("true_resolution", "True resolution vs default", "真实解决率差", 100.0, "points", True),
          ("gap", "Measured − true vs default", "测评与真实之差的差", 100.0, "points", True),
          ("noise_share", "Rectified, true quality ≥ median", "整改但真实质量不低于中位", 100.0, "%", False),
          ("within_limits_share", "Rectified, within funnel limits", "整改但在控制限内", 100.0, "%", False))
CAPTION = ("Per league-table design (one factor changed from the default at a time, same random numbers). Top: "
           "true resolution over the months acted on and the gap measured − true resolution, each as the paired "
           "difference from the default design. Bottom: the shares of rectification street-months whose true "
           "quality was not below the median, and whose score was within its 99.8% funnel limit (dashed: the "
           "default design). Dots: mean; bars: 95% CI over replications.")


def ranking_design_chart(rows: Iterable[Mapping], default: str = "default") -> Chart:
    """Dot-and-CI chart of :data:`PANELS` per design (rows of ``ranking_design.csv``)."""
    rows = [r for r in rows if r.get("measure") in {p[0] for p in PANELS}]
    designs = list(dict.fromkeys(str(r["design"]) for r in rows))
    if not designs:
        raise SkipChart("no design rows")
    with cs.style():
        fig, axes = cs.new_figure(height=2.0 + 0.5 * len(designs), nrows=2, ncols=2, sharey=True)
        y = np.arange(len(designs))[::-1]
        for ax, (measure, en, zh, scale, unit, paired) in zip(axes.flat, PANELS):
            vals = {str(r["design"]): r for r in rows if r["measure"] == measure}
            keys = ("diff_vs_default", "diff_ci_low", "diff_ci_high") if paired else ("mean", "ci_low", "ci_high")
            for yi, d in zip(y, designs):
                r = vals.get(d)
                if r is None:
                    continue
                m, lo, hi = (_num(r[k]) * scale for k in keys)
                colour = cs.BLUE if d == default else cs.BLACK
                if np.isfinite(lo) and np.isfinite(hi):
                    ax.plot([lo, hi], [yi, yi], color=colour, lw=1.4)
                if np.isfinite(m):
                    ax.plot([m], [yi], "o", color=colour, ms=5)
                if d == default and np.isfinite(m):
                    ax.axvline(m, color=cs.GREY, ls="--", lw=0.8, zorder=0)
            ax.set_title(f"{en}\n{zh} ({unit})", fontsize=cs.BASE_SIZE)
            ax.set_yticks(y, designs)
        reps = {str(r.get("n_replications")) for r in rows}
        note = cs.source_note(int(_num(next(iter(reps)))) if len(reps) == 1 else None,
                              "One factor at a time around the default design.")
        title = "League-table designs under the accountability loop"
        subtitle = "排名设计比较：真实解决率、测评差距与因噪声整改"
        cs.finish(fig, title, subtitle, note)
    return Chart("ranking_design", fig, title, subtitle, facts={"designs": designs}, caption=CAPTION)
