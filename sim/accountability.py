"""The monthly accountability loop: league tables with consequences (通过排名传导压力).

In the real system the monthly ranking *is* the policy: the bottom streets' heads are
named at the city's monthly meeting, summoned by district leaders when they stay at
the bottom, inspected by discipline inspectors when they persist; streets respond with
more staff, more effort, 24-hour duty, and some with gaming. This module is that loop,
per street, inside one replication:

1. At ``publish_day`` of month m+1 (00:00), month m's league table is drawn up from
   what is known then (responses, callbacks made so far) with the same code, weights
   and tie rule as the reported tables (:mod:`sim.ranking`).
2. :meth:`StreetState.update` turns the table into each street's state for the next
   month (functional forms below; parameters in ``conf/accountability/*.yaml``, each
   with a source or an ``[assume]`` tag; pressure is in units of "being named once").
3. The ticket system (:mod:`sim.ticketing`) applies the state from then on: caseworker
   slots, the effort added to true resolution, 24-hour duty, gaming at closure.

Functional forms (per street s, at each publication; q_s = the street's position in
the table, 0 best .. 1 worst; k_s = consecutive months in rectification):

    input_s    = exposure + rank_weight * q_s
                 + named * [k_s = 1] + summoned * [k_s = 2] + inspection * [k_s >= 3]
                 + caught_penalty * [a gamed ticket of s was caught last month]
    pressure_s = min(max, keep_share * pressure_s + input_s) * (1 - advanced_relief * [advanced])
    effort_s   = start_effort_logit + min(max_logit, logit_per_pressure * focus * pressure_s) * fatigue_s
    focus      = (w_resolution + w_satisfaction) / effort.reference_outcome_weight
    fatigue_s  = 1 - fatigue.share  once pressure_s >= fatigue.threshold for fatigue.months in a row
    service_s  = min(max_service_logit, service_logit_per_pressure * focus * pressure_s) * fatigue_s
    extra_s    = round(base caseworkers_s * (min(max_share, share_per_pressure * pressure_s)
                      + governance_share * [governance class]))
    24h duty   adopted for good once pressure_s >= duty_24h.pressure
    gaming_s   = min(max, per_pressure * focus * pressure_s) * (1 - caught_cut) ** (times caught)

``focus`` is where the table looks: streets put their effort (and their gaming) into
what is scored (multitasking: Holmstrom & Milgrom 1991). Resolution and satisfaction are
what the callback measures and what true resolution drives; the response rate is
near 100% everywhere and rewards signing fast, not solving. So the ranking weights move
true outcomes: ``focus`` is 1 under the weights the effort response was fitted with
(``reference_outcome_weight``: w10_45_45's 0.9) and smaller when response weighs more.

``service`` is the street's care for the citizen beyond the solution (calling back,
explaining, visiting: 诉求人沟通), added to the satisfaction answer's latent of its
tickets closed from then on; the city's accounts name it among the responses [pub].

Unranked streets (too few answered callbacks) feel only ``exposure``. With ``mode:
none`` nothing is drawn up and the state stays at its start (effort
``start_effort_logit``, no gaming, base caseworkers): the no-feedback baseline.

Gaming (Bevan & Hood 2006: hitting the target and missing the point): when a problem
closes unsolved, the street games it with chance gaming_s (coaches the citizen before
the callback, or reports it solved): the callback then hears "solved", and the
citizen still has the problem (and may call again). Citizen supervisors' spot checks
catch a gamed ticket with ``detect_prob`` (``inspection_detect_prob`` while the
street is under inspection); a caught ticket is answered truthfully and adds
``caught_penalty`` to the street's pressure.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.clock import MINUTES_PER_DAY, month_bounds
from sim.errors import ConfigError
from sim.validate import integer, number, section

MODES = ("none", "pressure")
#: Consequence levels of consecutive months in rectification (k = 0, 1, 2, >= 3).
CONSEQUENCES = ("none", "named", "summoned", "inspection")
#: ``gamed`` codes of a ticket (sim.records): not gamed, gamed and not caught, caught.
NOT_GAMED, GAMED, CAUGHT = 0, 1, 2

KEYS = {"mode", "publish_day", "start_effort_logit", "pressure", "effort", "capacity", "duty_24h", "gaming",
        "calibration"}
PRESSURE_KEYS = {"exposure", "rank_weight", "named", "summoned", "inspection", "caught_penalty", "keep_share",
                 "advanced_relief", "max"}
EFFORT_KEYS = {"logit_per_pressure", "max_logit", "fatigue", "reference_outcome_weight", "service_logit_per_pressure",
               "max_service_logit"}
FATIGUE_KEYS = {"threshold", "months", "share"}
CAPACITY_KEYS = {"share_per_pressure", "max_share", "governance_share"}
GAMING_KEYS = {"per_pressure", "max", "detect_prob", "inspection_detect_prob", "caught_cut"}
#: Logit shifts beyond this would make a chance 0 or 1 in all but name.
MAX_LOGIT = 10.0
#: Extra caseworkers beyond this multiple of a street's own are not a response but a new street.
MAX_CAPACITY_SHARE = 5.0


@dataclass(frozen=True)
class AccountabilityConfig:
    mode: str = "none"
    publish_day: int = 8
    start_effort_logit: float = 0.0
    exposure: float = 0.0
    rank_weight: float = 0.0
    named: float = 1.0
    summoned: float = 1.5
    inspection: float = 2.0
    caught_penalty: float = 1.0
    keep_share: float = 0.5
    advanced_relief: float = 0.5
    max_pressure: float = 10.0
    effort_logit_per_pressure: float = 0.0
    max_effort_logit: float = 1.0
    reference_outcome_weight: float = 0.9
    service_logit_per_pressure: float = 0.0
    max_service_logit: float = 1.0
    fatigue_threshold: float = 3.0
    fatigue_months: int = 3
    fatigue_share: float = 0.0
    capacity_share_per_pressure: float = 0.0
    max_capacity_share: float = 0.0
    governance_capacity_share: float = 0.0
    duty_24h_pressure: float = math.inf
    gaming_per_pressure: float = 0.0
    max_gaming: float = 0.0
    detect_prob: float = 0.0
    inspection_detect_prob: float = 0.0
    caught_cut: float = 0.5

    @property
    def feedback(self) -> bool:
        """True when league tables have consequences during the run."""
        return self.mode == "pressure"


def build_accountability_config(raw) -> AccountabilityConfig:
    """Validate the ``accountability`` section (None or absent: no feedback)."""
    if raw is None:
        return AccountabilityConfig()
    s = "accountability"
    section(raw, s, KEYS)
    mode = raw.get("mode", "none")
    if mode not in MODES:
        raise ConfigError(f"{s}.mode", mode, " or ".join(MODES))
    p = section(raw.get("pressure") or {}, f"{s}.pressure", PRESSURE_KEYS)
    e = section(raw.get("effort") or {}, f"{s}.effort", EFFORT_KEYS)
    f = section(e.get("fatigue") or {}, f"{s}.effort.fatigue", FATIGUE_KEYS)
    c = section(raw.get("capacity") or {}, f"{s}.capacity", CAPACITY_KEYS)
    d = section(raw.get("duty_24h") or {}, f"{s}.duty_24h", {"pressure"})
    g = section(raw.get("gaming") or {}, f"{s}.gaming", GAMING_KEYS)
    base = AccountabilityConfig()

    def num(sub: dict, key: str, full: str, default: float, **limits) -> float:
        return number(sub.get(key, default), f"{s}.{full}", **limits)

    duty = d.get("pressure")
    return AccountabilityConfig(
        mode=mode,
        publish_day=integer(raw.get("publish_day", base.publish_day), f"{s}.publish_day", lo=1, hi=28,
                            allowed="a day of the month from 1 to 28 (the table of month m is drawn up then, in m+1)"),
        start_effort_logit=num(raw, "start_effort_logit", "start_effort_logit", 0.0, lo=-MAX_LOGIT, hi=MAX_LOGIT),
        exposure=num(p, "exposure", "pressure.exposure", base.exposure, lo=0),
        rank_weight=num(p, "rank_weight", "pressure.rank_weight", base.rank_weight, lo=0),
        named=num(p, "named", "pressure.named", base.named, lo=0),
        summoned=num(p, "summoned", "pressure.summoned", base.summoned, lo=0),
        inspection=num(p, "inspection", "pressure.inspection", base.inspection, lo=0),
        caught_penalty=num(p, "caught_penalty", "pressure.caught_penalty", base.caught_penalty, lo=0),
        keep_share=num(p, "keep_share", "pressure.keep_share", base.keep_share, lo=0, hi=1),
        advanced_relief=num(p, "advanced_relief", "pressure.advanced_relief", base.advanced_relief, lo=0, hi=1),
        max_pressure=num(p, "max", "pressure.max", base.max_pressure, lo=0, lo_open=True),
        effort_logit_per_pressure=num(e, "logit_per_pressure", "effort.logit_per_pressure",
                                      base.effort_logit_per_pressure, lo=0, hi=MAX_LOGIT),
        max_effort_logit=num(e, "max_logit", "effort.max_logit", base.max_effort_logit, lo=0, hi=MAX_LOGIT),
        reference_outcome_weight=num(e, "reference_outcome_weight", "effort.reference_outcome_weight",
                                     base.reference_outcome_weight, lo=0, hi=1, lo_open=True),
        service_logit_per_pressure=num(e, "service_logit_per_pressure", "effort.service_logit_per_pressure",
                                       base.service_logit_per_pressure, lo=0, hi=MAX_LOGIT),
        max_service_logit=num(e, "max_service_logit", "effort.max_service_logit", base.max_service_logit, lo=0,
                              hi=MAX_LOGIT),
        fatigue_threshold=num(f, "threshold", "effort.fatigue.threshold", base.fatigue_threshold, lo=0),
        fatigue_months=integer(f.get("months", base.fatigue_months), f"{s}.effort.fatigue.months", lo=1),
        fatigue_share=num(f, "share", "effort.fatigue.share", base.fatigue_share, lo=0, hi=1),
        capacity_share_per_pressure=num(c, "share_per_pressure", "capacity.share_per_pressure",
                                        base.capacity_share_per_pressure, lo=0),
        max_capacity_share=num(c, "max_share", "capacity.max_share", base.max_capacity_share, lo=0,
                               hi=MAX_CAPACITY_SHARE),
        governance_capacity_share=num(c, "governance_share", "capacity.governance_share",
                                      base.governance_capacity_share, lo=0, hi=MAX_CAPACITY_SHARE),
        duty_24h_pressure=math.inf if duty is None else number(duty, f"{s}.duty_24h.pressure", lo=0),
        gaming_per_pressure=num(g, "per_pressure", "gaming.per_pressure", base.gaming_per_pressure, lo=0),
        max_gaming=num(g, "max", "gaming.max", base.max_gaming, lo=0, hi=1),
        detect_prob=num(g, "detect_prob", "gaming.detect_prob", base.detect_prob, lo=0, hi=1),
        inspection_detect_prob=num(g, "inspection_detect_prob", "gaming.inspection_detect_prob",
                                   base.inspection_detect_prob, lo=0, hi=1),
        caught_cut=num(g, "caught_cut", "gaming.caught_cut", base.caught_cut, lo=0, hi=1),
    )


class StreetState:
    """Each street's state under the loop (arrays over streets), updated once a month
    from the published league table (see the module docstring)."""

    def __init__(self, cfg: AccountabilityConfig, base_caseworkers: np.ndarray,
                 weights: tuple[float, float, float] | None = None):
        n = len(base_caseworkers)
        self.cfg = cfg
        # where the table looks: the score's weight on outcomes (resolution, satisfaction)
        self.focus = 1.0 if weights is None else (weights[1] + weights[2]) / cfg.reference_outcome_weight
        self.base_caseworkers = np.asarray(base_caseworkers, dtype=np.int64)
        self.pressure = np.zeros(n)
        self.effort = np.full(n, cfg.start_effort_logit)
        self.service = np.zeros(n)
        self.gaming = np.zeros(n)
        self.caught_times = np.zeros(n, dtype=np.int64)
        self.bottom_run = np.zeros(n, dtype=np.int64)  # consecutive months in rectification
        self.high_run = np.zeros(n, dtype=np.int64)  # consecutive months at or above the fatigue threshold
        self.duty_24h = np.zeros(n, dtype=bool)  # adopted under pressure (beyond the city table's own)
        self.extra_caseworkers = np.zeros(n, dtype=np.int64)

    @property
    def caseworkers(self) -> np.ndarray:
        return self.base_caseworkers + self.extra_caseworkers

    @property
    def consequence(self) -> np.ndarray:
        """Index into :data:`CONSEQUENCES` of each street's current consequence."""
        return np.minimum(self.bottom_run, len(CONSEQUENCES) - 1)

    @property
    def under_inspection(self) -> np.ndarray:
        return self.bottom_run >= len(CONSEQUENCES) - 1

    def detect_prob(self) -> np.ndarray:
        """Chance a gamed ticket of each street is caught, now."""
        c = self.cfg
        return np.where(self.under_inspection, max(c.detect_prob, c.inspection_detect_prob), c.detect_prob)

    def update(self, ranks: np.ndarray, member: dict[str, np.ndarray], caught: np.ndarray) -> None:
        """Month's table -> next month's state. ``ranks``: 1 = best, 0 = not ranked;
        ``member``: class membership (:func:`sim.ranking.classes`); ``caught``: gamed
        tickets of each street caught during the month."""
        c = self.cfg
        rect = member["rectification"]
        self.bottom_run = np.where(rect, self.bottom_run + 1, 0)
        n_ranked = int(np.count_nonzero(ranks > 0))
        q = np.where(ranks > 0, (ranks - 1) / max(n_ranked - 1, 1), 0.0)
        k = self.bottom_run
        inputs = (c.exposure + c.rank_weight * q + c.named * (k == 1) + c.summoned * (k == 2)
                  + c.inspection * (k >= 3) + c.caught_penalty * (caught > 0))
        pressure = np.minimum(c.max_pressure, c.keep_share * self.pressure + inputs)
        self.pressure = pressure * np.where(member["advanced"], 1.0 - c.advanced_relief, 1.0)

        self.high_run = np.where(self.pressure >= c.fatigue_threshold, self.high_run + 1, 0)
        fatigue = np.where(self.high_run >= c.fatigue_months, 1.0 - c.fatigue_share, 1.0)
        self.effort = c.start_effort_logit + np.minimum(
            c.max_effort_logit, c.effort_logit_per_pressure * self.focus * self.pressure) * fatigue
        self.service = np.minimum(c.max_service_logit,
                                  c.service_logit_per_pressure * self.focus * self.pressure) * fatigue
        share = (np.minimum(c.max_capacity_share, c.capacity_share_per_pressure * self.pressure)
                 + c.governance_capacity_share * member["governance"])
        self.extra_caseworkers = np.floor(self.base_caseworkers * share + 0.5).astype(np.int64)  # nearest
        self.duty_24h |= self.pressure >= c.duty_24h_pressure
        self.caught_times += caught > 0
        self.gaming = (np.minimum(c.max_gaming, c.gaming_per_pressure * self.focus * self.pressure)
                       * (1.0 - c.caught_cut) ** self.caught_times)

    def snapshot(self) -> dict[str, np.ndarray]:
        """Copies of the state (for the records)."""
        return {"pressure": self.pressure.copy(), "effort": self.effort.copy(), "service": self.service.copy(),
                "gaming": self.gaming.copy(),
                "caseworkers": self.caseworkers.copy(), "duty_24h": self.duty_24h.copy(),
                "consequence": self.consequence.copy()}


def month_starts(start, horizon_min: float, warmup_min: float) -> list[tuple[str, float, float]]:
    """Calendar months whose whole length lies inside the measured window, as
    (label 'YYYY-MM', start, end) in minutes from ``start`` (a datetime)."""
    return [(label, lo, hi) for label, lo, hi in month_bounds(start, warmup_min, horizon_min)
            if lo >= warmup_min and hi <= horizon_min]


def publication_min(month_end_min: float, publish_day: int) -> float:
    """When month m's table is drawn up: 00:00 on ``publish_day`` of month m+1."""
    return month_end_min + (publish_day - 1) * MINUTES_PER_DAY
