"""Many long timers behind one engine event.

Thousands of tickets wait days for something (a repeat call, an office opening). As
separate events they would sit in SimPy's event heap and make every event of
the run dearer (a deeper heap). Here they wait in a heap of their own, and only the
earliest has an engine event; the rest cost one heap push each.
"""
from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # no SimPy import for modules that only name Timers (dispatch policies)
    from sim.engine import Engine

INF = float("inf")


class Timers:
    """``add(when, item)`` calls ``fire(item)`` at simulated time ``when``. Items due
    at the same time fire in the order they were added."""

    def __init__(self, env: Engine, fire: Callable[[int], None]):
        self.env = env
        self.fire = fire
        self._heap: list[tuple[float, int, int]] = []  # (when, sequence, item)
        self._seq = 0
        self._armed_at = INF
        self._token = 0  # identifies the one wake-up event that is current

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, when: float, item: int) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, item))
        if when < self._armed_at:
            self._arm(when)

    def _arm(self, when: float) -> None:
        self._armed_at = when
        self._token += 1
        self.env.call_in(when - self.env._now, self._wake, self._token)

    def _wake(self, token: int) -> None:
        if token != self._token:  # superseded by an earlier wake-up
            return
        heap, now = self._heap, self.env._now
        self._armed_at = INF
        while heap and heap[0][0] <= now:
            self.fire(heapq.heappop(heap)[2])
        if heap and self._armed_at == INF:
            self._arm(heap[0][0])
