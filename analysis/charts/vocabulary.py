"""Vocabulary of the charts: what things are called in English and Chinese, and their
units -- KPIs (from the catalogue), urgency classes, dispatch policies, rates, sources
of rank uncertainty, funnel flags -- and which KPIs a comparison and a
sweep show.

Names only: the chart functions draw with them, and what a run actually has (its
urgency classes and deadlines, its policy) comes from the run (:mod:`.rundata`).
"""
from __future__ import annotations

from typing import Mapping

from analysis.catalogue import KPIS
from analysis.charts import style as cs
from sim import dispatch as dispatch_policies

#: metric -> (English, Chinese, unit, scale to the unit, +1 higher is better / -1 lower / 0),
#: from the KPI catalogue (analysis/catalogue.py).
KPI = {name: (k.en, k.zh, k.unit, k.scale, k.direction) for name, k in KPIS.items()}
UNIT_ZH = {"%": "%", "pp": "个百分点", "h": "小时", "s": "秒", "calls": "个来电", "calls/day": "个来电/日",
           "tickets": "件工单", "tickets/day": "件工单/日", "agents": "名坐席"}
#: Unit of a difference, and the axis label of a panel of differences.
DIFF_UNIT = {"%": "pp"}
DIFF_AXIS = {"pp": ("Difference", "差值", "percentage points 百分点"), "h": ("Difference", "差值", "hours 小时"),
             "s": ("Difference", "差值", "seconds 秒")}

#: English and Chinese names of the urgency classes of the Beijing configuration
#: (conf/tickets/beijing.yaml). A run's classes and their deadlines are its config's
#: (``streets.urgency``, read by :meth:`RunData.deadlines <analysis.charts.rundata.RunData.deadlines>`);
#: this only names the known ones, :func:`urgency_names` any other.
URGENCY = {"emergency": ("Emergency", "紧急"), "utilities": ("Utilities", "水电气热"),
           "general": ("General", "一般"), "complex": ("Complex", "疑难")}
#: The Beijing deadlines (hours): only for a run directory without its composed config
#: (``.hydra/config.yaml``) and for a chart function called without deadlines.
DEFAULT_DEADLINES_H = {"emergency": 2, "utilities": 24, "general": 168, "complex": 360}


def urgency_names(cls: str) -> tuple[str, str]:
    """English and Chinese name of an urgency class: the known Beijing classes from
    :data:`URGENCY`; any other made readable in English (``"very_urgent"`` ->
    ``("Very urgent", "")``), with no Chinese name invented for it."""
    if cls in URGENCY:
        return URGENCY[cls]
    en = " ".join(str(cls).replace("_", " ").split()) or str(cls)
    return en[:1].upper() + en[1:], ""


def urgency_zh(cls: str) -> str:
    """The name of an urgency class inside a Chinese sentence: its Chinese name, else
    its readable English one."""
    en, zh = urgency_names(cls)
    return zh or en


class _PolicyNames(Mapping):
    """Dispatch policy -> (English, Chinese) name, from the policy plug-ins themselves
    (sim/dispatch/), so that a new policy needs no edit here; ``none``: no dispatch."""

    _NONE = {"none": ("Call centre only", "仅话务")}

    def __getitem__(self, name):
        if name in self._NONE:
            return self._NONE[name]
        if not isinstance(name, str) or name not in dispatch_policies.available():
            raise KeyError(name)
        return dispatch_policies.describe(name)[:2]

    def __iter__(self):
        return iter((*dispatch_policies.available(), *self._NONE))

    def __len__(self) -> int:
        return len(dispatch_policies.available()) + len(self._NONE)


POLICY = _PolicyNames()
RATE_LABELS = {"response_rate": ("Response rate", "响应率"), "resolution_rate": ("Resolution rate", "解决率"),
               "satisfaction_rate": ("Satisfaction rate", "满意率")}
RATE_DENOMINATOR = {"response_rate": ("Tickets with a known response", "应响应工单", "n"),
                    "resolution_rate": ("Callbacks answered", "回访成功数", "n"),
                    "satisfaction_rate": ("Callbacks answered", "回访成功数", "n")}
SOURCES = {"weights_dirichlet": ("Weights near the nominal ones", "权重小幅变动"),
           "weights_simplex": ("Any weights", "任意权重"),
           "sampling": ("Survey sampling noise", "回访抽样误差"),
           "replications": ("Simulation noise (replications)", "模拟重复间差异")}
FLAG_STYLE = {  # flag -> (colour, English, Chinese)
    "above_99.8": (cs.BLUE, "above 99.8% limit", "高于99.8%限"),
    "above_95": (cs.SKY, "above 95% limit", "高于95%限"),
    "inside": (cs.LIGHT_GREY, "inside the limits", "限内"),
    "below_95": (cs.ORANGE, "below 95% limit", "低于95%限"),
    "below_99.8": (cs.VERMILLION, "below 99.8% limit", "低于99.8%限"),
}
#: Run settings that do not describe a scenario (left out of run labels).
RUN_CONTROL_KEYS = {"replications", "horizon_days", "warmup_days", "seed", "executor", "sweep_name", "charts",
                    "report"}
#: KPIs shown by default in a policy comparison and a sweep.
COMPARISON_KPIS = ("service_level", "abandonment_rate", "asa_s", "dispatch_delay_mean_h", "lead_time_mean_h",
                   "lead_time_p90_h", "deadline_compliance", "returned_share", "response_rate", "resolution_rate",
                   "satisfaction_rate")
SWEEP_KPIS = ("service_level", "abandonment_rate", "asa_s", "agent_occupancy", "deadline_compliance",
              "lead_time_mean_h", "dispatch_delay_mean_h", "resolution_rate", "satisfaction_rate")
SWEEP_META_KEYS = {"job", "metric", "mean", "ci_low", "ci_high", "n_replications"}


def _kpi(metric: str) -> tuple[str, str, str, float, int]:
    """(English, Chinese, unit, scale, direction) of a KPI; an unknown one by its name."""
    return KPI.get(metric, (metric.replace("_", " "), "", "", 1, 0))

