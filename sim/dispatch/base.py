"""The interface every dispatch policy implements, and what it may call.

A policy decides the path of a **street ticket** from the moment the centre has
dispatched it (first time, or again after a return) until a street takes it: where it
goes first, what happens when it was sent to the wrong unit, which staff the path
needs (district desks, caseworker pools). Everything before (the call, the centre's
dispatch work) and after (signing, the caseworkers' queue, closure, callback survey,
repeat call) is the ticket system's (:class:`sim.ticketing.TicketSystem`), the same
for every policy; tickets for the city departments never reach a policy.

What the ticket system calls (per ticket, so keep it lean: no branching on config):

* :meth:`DispatchPolicy.route` -- the centre has just dispatched street ticket ``tid``.
* :meth:`DispatchPolicy.hand_over_due` -- before every callback-listing tick and at the
  end of the run: hand over to the streets what is due by ``now`` (for policies that
  hold tickets back; see ``two_level``).

What a policy may call on the system (``self.system``), its public steps:

* ``deliver(tid, at, row)``: the ticket reaches its street at ``at`` (the current
  time, or a time not before the last delivery: streets take tickets in time order);
  the street signs for it and works it, and its closure, callback and repeat call are
  planned.
* ``misroute(tid, at, back)``: a wrong unit got the ticket at ``at``; it reviews it and
  hands it to ``back`` (a :class:`sim.timers.Timers`) when the review ends;
  ``returns_to_centre`` sends it back to the centre's dispatch work; ``returned(tid)``
  books a return (退单) for a policy's own ``back``.
* per-problem draws through ``system.draw_views`` (memoryviews, renewed when they grow:
  read them through the system each time): ``centre_u`` and ``district_u`` (routing
  uniforms), ``district_work_min``; block samplers ``system.uniform`` and
  ``system.review`` for steps after a return; ``system.policy_rng`` for a policy's own
  numbers (its own stream: it moves no other part of the model).
* ``system.env`` (SimPy), ``system.cfg``, ``system.city``, ``system.office`` (office hours),
  ``system.row_of(tid)``.

A subclass sets the class attributes below, implements :meth:`route`, and, if it has
settings of its own, lists their keys in ``OPTION_KEYS`` and validates them in
:meth:`parse_options` (one-line :class:`sim.errors.ConfigError` on a bad value).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from sim.station import FcfsStation


class DispatchPolicy(ABC):
    """Base class of dispatch policies (see the module docstring); a policy must at
    least say where a street ticket goes (:meth:`route`)."""

    #: English and Chinese names (tables, charts, report) and one sentence on what it does.
    label_en: ClassVar[str] = ""
    label_zh: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: Where the policy comes from (a regulation, a reform, a paper) or why it is studied.
    source: ClassVar[str] = ""
    #: Whether tickets pass the district desks (``dispatch.district_desk``).
    uses_district_desk: ClassVar[bool] = False
    #: Keys of the ``dispatch`` section that belong to this policy alone.
    OPTION_KEYS: ClassVar[frozenset[str]] = frozenset()
    #: The highest ``misroute_prob`` the policy accepts. Where a wrong unit returns the
    #: ticket, 1 would bounce every ticket between wrong units and reviews for ever;
    #: below it the expected bounces are at most 1 / (1 - p) = 100. A policy with no
    #: returns may accept 1 (every ticket to a wrong unit first).
    MAX_MISROUTE_PROB: ClassVar[float] = 0.99
    #: A queued ticket's caseworker time, relative to its drawn processing time.
    processing_scale: float = 1.0

    def __init__(self, system, options: Any):
        self.system = system
        self.options = options

    @classmethod
    def parse_options(cls, raw: dict, categories: tuple[str, ...]) -> Any:
        """This policy's own settings from the ``dispatch`` section ``raw`` (its keys in
        ``OPTION_KEYS`` only), validated (``categories``: the scenario's complaint
        categories); None if it has none."""
        return None

    def adjust_draws(self, cols: dict, category, rng) -> None:
        """Change the problems' intrinsic draws before they are used (in place): called
        for every block of problems drawn, the fresh calls' before the run and the
        repeat calls' during it, before what follows from them is worked out. Columns
        a policy may change: ``wait_min`` (after signing, before a caseworker can start:
        0 unless a policy sets it) and ``solved_anyway`` (solved whatever the street's
        quality, load and timing: sim/outcomes.py); ``category`` holds each row's
        category code (``cfg.arrivals.categories``); ``rng`` is the policy's own stream.
        Nothing here."""

    # ------------------------------------------------------------ called per ticket
    @abstractmethod
    def route(self, tid: int, now: float, row: int, first: bool) -> None:
        """The centre dispatched street ticket ``tid`` (problem draws in row ``row``) at
        ``now``: take it on. ``first``: the first dispatch (use the problem's own draws,
        for common random numbers across policies); else a re-dispatch after a return
        (draw afresh)."""

    def hand_over_due(self, now: float) -> None:
        """Hand the tickets held back and due by ``now`` to their streets (none here)."""

    # ------------------------------------------------------------ staff and records
    def caseworker_pools(self, caseworkers) -> tuple[str, list[FcfsStation], list[int]]:
        """Who works the street tickets: (station kind for the records, the stations,
        the station of each street). Here every street has its own caseworkers."""
        return "street", [FcfsStation(int(c)) for c in caseworkers], list(range(len(caseworkers)))

    def stations(self) -> dict[str, list[FcfsStation]]:
        """Stations of the policy's own (e.g. district desks), by kind, for the records."""
        return {}

    def engine_counts(self) -> dict[str, int]:
        """Tickets the policy holds at the end of the run, by state (for the records'
        conservation checks): ``to_deliver`` (a hand-over planned after the end),
        ``coordinating`` (between units, at no station and not under review)."""
        return {"to_deliver": 0, "coordinating": 0}
