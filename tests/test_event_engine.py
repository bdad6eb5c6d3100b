"""sim.engine.Engine: plain calls and the feed run in exactly the order SimPy timeouts
would, mixed with SimPy's own events, and ``run``/``step``/``peek`` keep SimPy's rules."""
from __future__ import annotations

from heapq import heappush

import numpy as np
import pytest
import simpy

from sim.engine import CALL_PRIORITY, Engine


def _schedule(seed: int, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Arrival times (sorted) and, per arrival, a follow-up delay; ties included on
    purpose (delays on a coarse grid) so the tie rule is exercised."""
    rng = np.random.default_rng(seed)
    arrivals = np.sort(rng.uniform(0, 100, n))
    delays = rng.integers(0, 8, n) * 2.5
    return arrivals, delays


def _trace_with_timeouts(arrivals, delays, until):
    """The reference: a chain of SimPy timeouts, as the model used to schedule."""
    env, log = simpy.Environment(), []

    def follow(ev):
        log.append(("end", ev._value, env.now))

    def arrive(ev):
        i = ev._value
        if i + 1 < len(arrivals):
            nxt = env.timeout(arrivals[i + 1] - env.now, i + 1)
            nxt.callbacks.append(arrive)
        log.append(("arrive", i, env.now))
        end = env.timeout(delays[i], i)
        end.callbacks.append(follow)

    def ticker():
        while True:
            yield env.timeout(7.5)
            log.append(("tick", None, env.now))

    first = env.timeout(arrivals[0], 0)
    first.callbacks.append(arrive)
    env.process(ticker())
    env.run(until=until)
    return log, env.now


def _trace_with_engine(arrivals, delays, until, pushed: bool = False):
    """``pushed``: every other follow-up is pushed as the call centre pushes its call
    ends (:meth:`Engine.call_parts`), the others with :meth:`Engine.call_in`."""
    env, log = Engine(), []
    events, ids = env.call_parts()

    def follow(i):
        log.append(("end", i, env.now))

    def arrive(i):
        log.append(("arrive", i, env.now))
        if pushed and i % 2:
            heappush(events, (env._now + delays[i], CALL_PRIORITY, next(ids), follow, i))
        else:
            env.call_in(delays[i], follow, i)

    def ticker():
        while True:
            yield env.timeout(7.5)
            log.append(("tick", None, env.now))

    env.feed(memoryview(arrivals), arrive)
    env.process(ticker())
    env.run(until=until)
    return log, env.now


@pytest.mark.parametrize("pushed", [False, True], ids=["call_in", "call_parts"])
@pytest.mark.parametrize("seed", range(5))
def test_calls_and_feed_replay_simpy_timeouts_exactly(seed, pushed):
    """Same events, same times (bit for bit), same order, same end time."""
    arrivals, delays = _schedule(seed)
    assert _trace_with_engine(arrivals, delays, 90.0, pushed) == _trace_with_timeouts(arrivals, delays, 90.0)


def test_a_feed_call_due_exactly_at_until_is_not_made():
    """``run(until=t)`` stops before anything due at t, as SimPy does for timeouts."""
    env, seen = Engine(), []
    env.feed(memoryview(np.array([1.0, 2.0, 3.0])), seen.append)
    env.call_in(2.0, seen.append, "call")
    env.run(until=2.0)
    assert seen == [0] and env.now == 2.0
    env.run(until=10)  # resumes where it stopped: the feed's position is kept
    assert seen == [0, "call", 1, 2]  # the feed's 2.0 ties with the call: the queued call first


def test_step_and_peek_see_the_feed_and_calls():
    env, seen = Engine(), []
    env.feed(memoryview(np.array([0.5, 4.0])), seen.append)
    env.call_in(1.0, seen.append, "a")
    assert env.peek() == 0.5
    env.step()
    assert seen == [0] and env.now == 0.5 and env.peek() == 1.0
    env.step()
    assert seen == [0, "a"] and env.peek() == 4.0
    env.step()
    assert seen == [0, "a", 1] and env.peek() == float("inf")
    with pytest.raises(simpy.core.EmptySchedule):
        env.step()


def test_run_without_until_ends_when_nothing_is_left_and_errors_are_clear():
    env, seen = Engine(), []
    env.call_in(3.0, seen.append, 1)
    assert env.run() is None and env.now == 3.0 and seen == [1]
    with pytest.raises(ValueError, match="negative delay"):
        env.call_in(-1.0, seen.append, 2)
    with pytest.raises(RuntimeError, match="already has a feed"):
        env.feed(memoryview(np.array([5.0])), seen.append)
        env.feed(memoryview(np.array([6.0])), seen.append)
    with pytest.raises(ValueError, match="must be greater"):
        env.run(until=1.0)


def test_a_failed_simpy_event_still_crashes_the_run():
    env = Engine()

    def boom():
        yield env.timeout(1)
        raise KeyError("inside a process")

    env.process(boom())
    with pytest.raises(KeyError, match="inside a process"):
        env.run(until=5)
