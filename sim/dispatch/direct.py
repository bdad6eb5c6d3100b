"""Direct dispatch (直派街乡): the centre sends a street ticket straight to one of the
streets and townships.

Since 2019 Beijing's 12345 centre dispatches street-level tickets directly to the
333 streets and townships (街乡镇) instead of through the districts (接诉即办 reform,
2019). With ``dispatch.centre.misroute_prob`` the centre picks a wrong street, which
reviews the ticket and returns it (退单) after ``dispatch.review_time``; the centre
then dispatches it again (with fresh draws).
"""
from __future__ import annotations

from sim.dispatch.base import DispatchPolicy


class Policy(DispatchPolicy):
    label_en = "Direct dispatch"
    label_zh = "直派街乡"
    description = ("direct dispatch (直派, since 2019): the centre sends each street ticket straight to one "
                   "street or township (街乡镇)")
    source = "Beijing 接诉即办 reform, 2019: the centre dispatches street tickets directly to streets and townships"

    def __init__(self, system, options):
        super().__init__(system, options)
        self._misroute_prob = system.cfg.tickets.dispatch.centre_misroute_prob

    def route(self, tid: int, now: float, row: int, first: bool) -> None:
        s = self.system
        u = s.draw_views["centre_u"][row] if first else s.uniform.next()
        if u < self._misroute_prob:  # a wrong street
            self.misrouted(tid, now, row)
        else:
            s.deliver(tid, now, row)

    def misrouted(self, tid: int, now: float, row: int) -> None:
        """A wrong street got it: it reviews the ticket and returns it to the centre."""
        s = self.system
        s.misroute(tid, now, s.returns_to_centre)
