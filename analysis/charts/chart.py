"""What every chart function returns: a :class:`Chart` (figure, name, finding title in
English and Chinese, the facts behind the title, a caption), or it raises
:class:`SkipChart` with the reason its data does not allow it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from matplotlib.figure import Figure

from analysis.charts import style as cs

#: What each chart shows (the caption under its finding title).
CAPTIONS = {
    "calls_by_hour": "Top: calls offered per hour of day, answered and not answered (mean day, 95% CI bars). "
                     "Bottom: service level and abandonment rate per hour (95% CI bands), with the 80% target.",
    "lead_time_distribution": "Share of closed tickets closed within a given time (log scale), per urgency class; "
                              "circles mark each class's time limit.",
    "lead_time_by_policy": "Share of closed tickets closed within a given time, per urgency class, one line per run; "
                           "circles mark the share within the class's limit.",
    "deadline_compliance_by_district": "Deadline compliance per district with its 95% CI over replications, sorted; "
                                       "dashed: all streets.",
    "league_bump": "Monthly rank of the streets that were best and worst in the last month (one replication, as "
                   "a published league table).",
    "rank_caterpillar": "Each street's rank when the chosen source of uncertainty is redrawn (median and 90% "
                        "interval) against its published rank; right: the top and bottom streets by name.",
    "rank_caterpillar_all_sources": "The same rank intervals for each source of uncertainty, side by side.",
    "weight_sensitivity": "Streets whose class (top / bottom of the table) depends on the weights: chance of the "
                          "class over weight draws, near the nominal weights and over any weights.",
    "funnel_plot": "Each street's rate against its number of answers, with 95% and 99.8% control limits around "
                   "the city rate; colour = where the street falls.",
    "policy_comparison": "Paired differences B − A per KPI with 95% CI (same random numbers in both runs); green "
                         "better, vermillion worse (the CI excludes 0 and the change reaches the practical "
                         "threshold), hollow grey a clear change below that threshold (no practical "
                         "difference), grey not clearly different.",
    "city_trajectory": "City-wide resolution and satisfaction rates by month as the callback survey measures them "
                       "(mean and 95% CI band over replications), against the published 2019 figures: squares "
                       "are the months the calibration fits, the dotted line the year's figure (not fitted).",
    "measured_vs_true": "Resolution as the callback survey measures it and as really solved, by month (95% CI "
                        "bands), the gap between them shaded; below, the share of answered callbacks that were "
                        "gamed.",
    "street_spread": "The streets' composite scores in each month's league table (median, middle half and "
                     "10-90% of streets, replications pooled), and the streets named, summoned and inspected "
                     "after each table (mean over replications).",
    "weight_class_changes": "Streets that leave the advanced, improving and rectification classes when the same "
                            "simulated month is ranked under another weight set (one simulation, re-ranked).",
    "staffing_curve": "Service level and abandonment against the seats swept (agents on duty follow the roster): "
                      "simulation (points, 95% CI) and Erlang-A theory (lines) where it applies (every seat "
                      "staffed all day).",
}


class SkipChart(Exception):
    """A chart cannot be drawn from the data at hand (the message says why)."""


@dataclass
class Chart:
    """A finished figure: ``title`` is the finding (English), ``subtitle`` the same in
    Chinese; ``facts`` holds the numbers the title was built from."""
    name: str
    fig: Figure
    title: str
    subtitle: str = ""
    facts: dict = field(default_factory=dict)
    caption: str = ""

    def save(self, out_dir: Path) -> Path:
        """Write ``<out_dir>/<name>.png`` and ``.svg``; return the PNG path."""
        return cs.save(self.fig, out_dir, self.name, self.title, self.describe())

    def describe(self) -> str:
        """What the chart shows, then the finding in Chinese (a caption)."""
        return " ".join(t for t in (self.caption or CAPTIONS.get(self.name, ""), self.subtitle) if t)

