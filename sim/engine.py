"""SimPy's environment with a cheaper event for the model's hot paths.

A replication runs about 2.5 million events, nearly all of them "call this function
with this argument at that time" (a call ends, the next caller arrives, a timer is due).
As SimPy ``Timeout`` events each costs an object with a callback list, its checks and
:meth:`simpy.Environment.step`'s bookkeeping: about half the engine's time went there.

:class:`Engine` keeps SimPy whole (processes, timeouts, ``run(until=...)`` behave as
before and share one event queue) and adds two cheaper ways to be called back:

- :meth:`Engine.call_in`: a heap entry ``(time, NORMAL, id, function, argument)`` with
  no event object, which :meth:`run` calls directly. Entries get their id from SimPy's
  own counter at the same moment a timeout would have, with the time computed the same
  way (``now + delay``), so the order of events is exactly what it was with timeouts.
- :meth:`Engine.feed`: calls at times known before the run, in order (the fresh
  callers' arrivals, 40% of all events). They never enter the heap: :meth:`run` merges
  them with it, taking the next one when it is strictly earlier than the heap's head.
  As a chain of timeouts each was scheduled by the one before it at ``now + (t - now)``;
  the feed computes its times the same way, so only an exact tie with another event
  could be ordered differently (arrival times are continuous draws).
"""
from __future__ import annotations

from heapq import heappop, heappush
from math import inf
from typing import Any, Callable, Sequence

import simpy
from simpy.core import StopSimulation
from simpy.events import NORMAL, URGENT, Event

#: Length of a :meth:`Engine.call_in` entry in the event queue (SimPy's own are 4 long).
_CALL_ENTRY = 5
#: The priority of a :meth:`Engine.call_in` entry: a timeout's.
CALL_PRIORITY = NORMAL


class Engine(simpy.Environment):
    """A :class:`simpy.Environment` that also runs plain calls (:meth:`call_in`,
    :meth:`feed`)."""

    def __init__(self, initial_time: float = 0):
        super().__init__(initial_time)
        self._feed_times: Sequence[float] = ()
        self._feed_function: Callable[[int], None] | None = None
        self._feed_next = 0  # index of the feed's next call
        self._feed_at = inf  # the time of that call (inf: none left)

    def feed(self, times: Sequence[float], function: Callable[[int], None]) -> None:
        """Call ``function(i)`` at ``times[i]`` for every ``i`` (``times`` sorted, none
        before now). One feed per engine."""
        if self._feed_function is not None:
            raise RuntimeError("the engine already has a feed")
        self._feed_times, self._feed_function, self._feed_next = times, function, 0
        self._feed_at = self._now + (times[0] - self._now) if len(times) else inf

    def call_in(self, delay: float, function: Callable[[Any], None], argument: Any) -> None:
        """Call ``function(argument)`` ``delay`` minutes from now (after the events
        already due then, like a timeout)."""
        if delay < 0:
            raise ValueError(f"negative delay {delay}")
        heappush(self._queue, (self._now + delay, CALL_PRIORITY, next(self._eid), function, argument))

    def call_parts(self) -> tuple[list, Any]:
        """The event heap and the id counter, for a hot path that pushes a
        :meth:`call_in` entry itself (a Python call less per event): it must push
        exactly ``(now + delay, CALL_PRIORITY, next(ids), function, argument)`` with
        ``delay >= 0``."""
        return self._queue, self._eid

    def peek(self) -> float:
        """The time of the next call or event (``inf`` if none)."""
        return min(self._queue[0][0] if self._queue else inf, self._feed_at)

    def step(self) -> None:
        """Process the next entry: a plain call, or a SimPy event as SimPy does."""
        queue = self._queue
        if self._feed_at < (queue[0][0] if queue else inf):
            self._call_feed()
        elif queue and len(queue[0]) == _CALL_ENTRY:
            self._now, _, _, function, argument = heappop(queue)
            function(argument)
        else:
            super().step()

    def run(self, until: float | Event | None = None) -> Any:
        """:meth:`simpy.Environment.run` (same ``until`` rules) with the step inlined:
        plain calls are called, SimPy events processed exactly as SimPy's ``step``."""
        if until is not None:
            if not isinstance(until, Event):
                at = until if isinstance(until, int) else float(until)
                if at <= self._now:
                    raise ValueError(f"until ({at}) must be greater than the current simulation time")
                until = Event(self)
                until._ok = True
                until._value = None
                self.schedule(until, URGENT, at - self._now)
            elif until.callbacks is None:
                return until.value
            until.callbacks.append(StopSimulation.callback)
        queue, step = self._queue, super().step
        times, function, n = self._feed_times, self._feed_function, len(self._feed_times)
        k, feed_at = self._feed_next, self._feed_at
        try:
            while True:
                if queue:
                    entry = queue[0]
                    if not feed_at < entry[0]:  # the heap's head first (ties too)
                        if len(entry) == _CALL_ENTRY:
                            heappop(queue)
                            self._now = entry[0]
                            entry[3](entry[4])
                        else:
                            step()  # a SimPy event: callbacks, StopSimulation, failures as SimPy does
                        continue
                elif not feed_at < inf:  # nothing left
                    break
                now = self._now = feed_at  # the feed's next call: earlier than the heap's head, or the heap empty
                k += 1
                feed_at = now + (times[k] - now) if k < n else inf
                function(k - 1)
        except StopSimulation as stop:
            return stop.args[0]
        finally:
            self._feed_next, self._feed_at = k, feed_at
        if until is not None:
            raise RuntimeError(f'No scheduled events left but "until" event was not triggered: {until}')
        return None

    def _call_feed(self) -> None:
        """The feed's next call (for :meth:`step`; :meth:`run` inlines it)."""
        k = self._feed_next
        now = self._now = self._feed_at
        self._feed_next = k + 1
        self._feed_at = now + (self._feed_times[k + 1] - now) if k + 1 < len(self._feed_times) else inf
        self._feed_function(k)
