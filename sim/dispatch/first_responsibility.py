"""First-contact responsibility (首接负责): the street that receives a ticket may not
return it.

Direct dispatch, except for what happens when the centre picks the wrong street:
instead of reviewing the ticket and returning it to the centre (退单, then a new
dispatch), the receiving street takes responsibility and coordinates with the unit the
problem belongs to, which gets the ticket after ``dispatch.coordination_time``. No
return is booked, so the citizen's callback does not hear of one; the cost is the
coordination time (a delay between units, not caseworker time [assume]).

Source: Beijing's 接诉即办 rules make the first unit to receive a demand responsible
for it (首接负责, no passing the buck); the Regulations on Responding to Public
Complaints (北京市接诉即办工作条例, 2021) put it into law. How long coordination takes
is not published: an assumption, set in ``conf/dispatch/first_responsibility.yaml``.
"""
from __future__ import annotations

from sim.dispatch import direct
from sim.distributions import parse_distribution
from sim.timers import Timers


class Policy(direct.Policy):
    label_en = "First-contact responsibility"
    label_zh = "首接负责"
    description = ("first-contact responsibility (首接负责): direct dispatch, but a street that got a ticket "
                   "by mistake may not return it; it coordinates with the right street instead")
    source = "北京市接诉即办工作条例 (2021): 首接负责 (the first unit to receive a demand is responsible for it)"
    OPTION_KEYS = frozenset({"coordination_time"})
    MAX_MISROUTE_PROB = 1.0  # no returns, so no bouncing: every ticket may go to a wrong street first

    @classmethod
    def parse_options(cls, raw: dict, categories: tuple[str, ...]):
        return parse_distribution(raw.get("coordination_time"), "dispatch.coordination_time")

    def __init__(self, system, options):
        super().__init__(system, options)
        self._coordination = system.sampler(options.sample, system.policy_rng)
        self._coordinating = Timers(system.env, self._on_coordinated)

    def misrouted(self, tid: int, now: float, row: int) -> None:
        """A wrong street got it: it keeps responsibility and hands the problem to the
        right street after coordinating (no return to the centre)."""
        self._coordinating.add(now + self._coordination.next(), tid)

    def _on_coordinated(self, tid: int) -> None:
        s = self.system
        s.deliver(tid, s.env.now, s.row_of(tid))

    def engine_counts(self) -> dict[str, int]:
        return {"to_deliver": 0, "coordinating": len(self._coordinating)}
