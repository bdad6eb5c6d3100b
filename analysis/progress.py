"""How far a run is, by simulated day: what the user sees while replications run.

On a terminal a bar redrawn in place; under a pipe, nohup or CI (not a terminal) one
line each time another tenth of the work is done, so logs stay short but never silent
for long. Both say which simulated date the running replications have reached, how
many replications are done, the elapsed time and an estimate of the time left (from the
simulated days per second so far).

The work is replications x simulated days; a finished replication counts whole.
"""
from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta
from typing import TextIO

#: Under a pipe: a line each time the work done crosses another multiple of this share.
LINE_STEP = 0.1
#: On a terminal: redraw at most this often (seconds).
REDRAW_S = 0.25
BAR_WIDTH = 20


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class RunProgress:
    """Collects ``on_days(rep, days)`` and ``on_done(done, total, rep)`` from
    :func:`sim.experiment.run_experiment` and shows them on ``stream``."""

    def __init__(self, start: datetime, horizon_days: float, replications: int, stream: TextIO | None = None,
                 tty: bool | None = None, clock=time.perf_counter):
        self.start, self.horizon_days, self.replications = start, horizon_days, replications
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.clock = clock
        self.t0 = clock()
        self.days: dict[int, float] = {}  # running replications: simulated days done
        self.finished = 0
        self._last_draw = float("-inf")
        self._last_step = 0

    # ------------------------------------------------------------ callbacks
    def on_days(self, rep: int, days: float) -> None:
        self.days[rep] = days
        self.replications = max(self.replications, rep + 1)
        self._show()

    def on_done(self, done: int, total: int, rep: int) -> None:
        """``done`` of this batch of ``total`` finished, the last being replication
        ``rep`` (a precision run adds batches): it is no longer running."""
        self.finished += 1
        self.replications = max(self.replications, self.finished, rep + 1)
        self.days.pop(rep, None)
        self._show(force=True)

    def close(self) -> None:
        """End the bar's line on a terminal."""
        if self.tty and self._last_draw > float("-inf"):
            print(file=self.stream, flush=True)

    # ------------------------------------------------------------ display
    @property
    def share(self) -> float:
        work = self.replications * self.horizon_days
        done = self.finished * self.horizon_days + sum(self.days.values())
        return min(1.0, done / work) if work else 1.0

    def status(self) -> str:
        """One line: share done, the simulated dates reached, replications, times."""
        elapsed = self.clock() - self.t0
        share = self.share
        text = f"{share:4.0%}"
        if self.days:
            reached = sorted({(self.start + timedelta(days=d)).strftime("%Y-%m-%d") for d in self.days.values()})
            text += f" | simulating {', '.join(reached)}"
        text += f" | {self.finished}/{self.replications} replication(s) done | {_duration(elapsed)}"
        if 0 < share < 1:
            text += f", about {_duration(elapsed * (1 - share) / share)} left"
        return text

    def _show(self, force: bool = False) -> None:
        now = self.clock()
        if self.tty:
            if not force and now - self._last_draw < REDRAW_S:
                return
            self._last_draw = now
            bar = "#" * round(BAR_WIDTH * self.share)
            print(f"\r  [{bar:<{BAR_WIDTH}}] {self.status()}\033[K", end="", file=self.stream, flush=True)
            return
        step = int(self.share / LINE_STEP + 1e-9)
        if step > self._last_step:
            self._last_step = step
            print(f"  progress {self.status()}", file=self.stream, flush=True)
