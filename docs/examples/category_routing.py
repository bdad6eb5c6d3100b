"""Category routing: direct dispatch where the centre's chance of picking the wrong
street depends on the complaint category (a worked example of a dispatch plug-in;
see docs/dispatch_policies.md).

Some problems are easy to place (a broken street light has an address), others are
not (an online shopping dispute, a parking fee): a centre that misroutes the hard
ones more often returns more of them. Copy this file to ``sim/dispatch/`` and
``category_routing.yaml`` to ``conf/dispatch/``, then ``python run.py
dispatch=category_routing``.
"""
from __future__ import annotations

import numpy as np

from sim.dispatch import direct
from sim.errors import ConfigError
from sim.validate import check_category, number


class Policy(direct.Policy):
    label_en = "Category routing"
    label_zh = "分类派单"
    description = ("category routing: direct dispatch whose chance of picking the wrong street depends on "
                   "the complaint category")
    source = "worked example (docs/dispatch_policies.md); misrouting by category [assume]"
    OPTION_KEYS = frozenset({"misroute_by_category"})

    @classmethod
    def parse_options(cls, raw: dict, categories: tuple[str, ...]) -> dict[str, float]:
        """``misroute_by_category``: {category: chance}; others keep centre.misroute_prob."""
        key = "dispatch.misroute_by_category"
        probs = raw.get("misroute_by_category")
        if not isinstance(probs, dict):
            raise ConfigError(key, probs, "a mapping {category: chance of a wrong street}")
        for name, p in probs.items():
            check_category(name, p, f"{key}.{name}", categories)
        return {name: number(p, f"{key}.{name}", lo=0, hi=1) for name, p in probs.items()}

    def __init__(self, system, options: dict[str, float]):
        super().__init__(system, options)
        default = system.cfg.tickets.dispatch.centre_misroute_prob
        self._prob = np.array([options.get(name, default) for name in system.cfg.arrivals.categories])

    def adjust_draws(self, cols: dict, category, rng) -> None:
        """Each problem's chance of a wrong street, as a column the route reads."""
        cols["misroute_p"] = self._prob[category]

    def route(self, tid: int, now: float, row: int, first: bool) -> None:
        s = self.system
        u = s.draw_views["centre_u"][row] if first else s.uniform.next()
        if u < s.draw_views["misroute_p"][row]:
            self.misrouted(tid, now, row)
        else:
            s.deliver(tid, now, row)
