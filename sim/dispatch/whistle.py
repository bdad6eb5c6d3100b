"""Streets blow the whistle, departments report (街乡吹哨、部门报到).

Direct dispatch, plus escalation: a street ticket about a problem that needs the city
or district departments (law enforcement for illegal construction, land bureaus for
rural land disputes, ...) is escalated by its street, which "blows the whistle"; the
departments must report to the street (come and act) within
``dispatch.whistle.report_deadline_h``. The ticket waits for them after signing and
before the street's caseworkers can finish it. With the departments on site, some
problems the street alone could not solve are solved (``resolve_gain``).

Which tickets: each category has a chance of being escalated
(``dispatch.whistle.escalate``, a category missing there is never escalated). The
departments report after ``report_time``, and by the deadline at the latest (they
comply; a late report is not modelled [assume]).

Source: Beijing's reform "街乡吹哨、部门报到" (from Pinggu district in 2017, city-wide in
2018 by the municipal party committee's implementation plan), the base 接诉即办 was built
on in 2019. Escalation shares, report times and the gain in resolution are not
published: assumptions, set in ``conf/dispatch/whistle.yaml``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.clock import MINUTES_PER_HOUR
from sim.dispatch import direct
from sim.distributions import Distribution, parse_distribution
from sim.errors import ConfigError
from sim.ticket_config import hours_limit
from sim.validate import check_category, number, section

KEYS = {"escalate", "report_time", "report_deadline_h", "resolve_gain"}


@dataclass(frozen=True)
class WhistleOptions:
    escalate: dict[str, float]  # category -> chance its street escalates a ticket
    report_time: Distribution  # until the departments report to the street
    report_deadline_min: float  # they report by then at the latest
    resolve_gain: float  # share of the problems the street alone would not solve that get solved


class Policy(direct.Policy):
    label_en = "Whistle and report"
    label_zh = "吹哨报到"
    description = ("whistle and report (街乡吹哨、部门报到): direct dispatch; streets escalate cross-department "
                   "problems to the departments, which must report to the street within a deadline")
    source = "Beijing 街乡吹哨、部门报到 reform (Pinggu 2017, city-wide 2018)"
    OPTION_KEYS = frozenset({"whistle"})

    @classmethod
    def parse_options(cls, raw: dict, categories: tuple[str, ...]) -> WhistleOptions:
        key = "dispatch.whistle"
        w = section(raw.get("whistle"), key, KEYS)
        escalate = w.get("escalate")
        if not isinstance(escalate, dict):
            raise ConfigError(f"{key}.escalate", escalate, "a mapping {category: chance of escalation}")
        for c, p in escalate.items():
            check_category(c, p, f"{key}.escalate.{c}", categories)
        return WhistleOptions(
            escalate={str(c): number(p, f"{key}.escalate.{c}", lo=0, hi=1) for c, p in escalate.items()},
            report_time=parse_distribution(w.get("report_time"), f"{key}.report_time"),
            report_deadline_min=hours_limit(w.get("report_deadline_h"), f"{key}.report_deadline_h") * MINUTES_PER_HOUR,
            resolve_gain=number(w.get("resolve_gain"), f"{key}.resolve_gain", lo=0, hi=1),
        )

    def __init__(self, system, options: WhistleOptions):
        super().__init__(system, options)
        names = system.cfg.arrivals.categories
        self._escalate_prob = np.array([options.escalate.get(name, 0.0) for name in names])

    def adjust_draws(self, cols: dict, category, rng) -> None:
        """Escalated street problems wait for the departments' report and are solved
        more often (each block of problems: three draws per problem, whatever is used)."""
        o, n = self.options, len(category)
        escalated = (rng.random(n) < self._escalate_prob[category]) & (cols["dest"] >= 0)
        report = np.minimum(o.report_time.sample(rng, n), o.report_deadline_min)
        gained = rng.random(n) < o.resolve_gain
        cols["wait_min"] = np.where(escalated, report, cols["wait_min"])
        cols["solved_anyway"] = cols["solved_anyway"] | (escalated & gained)
