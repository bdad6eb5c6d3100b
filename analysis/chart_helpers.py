"""The chart helper processes: started before the charts are due, warmed up, handed one
chart at a time, stopped.

A run draws its charts in this process and ``workers - 1`` helpers, each chart in one of
them (:func:`analysis.charts.make_run_charts`). A fresh helper spends a second or two
starting Python and importing matplotlib, the chart modules, SciPy and the fonts
before it can draw. ``run.py`` therefore starts the helpers when its tables
stage begins (:func:`chart_helpers`), so that start-up runs on the core the
single-threaded table writing leaves idle; by the time the charts are due, the helpers
draw at once. They are started only for a run that draws charts, with more than one
process, and are stopped when the ``with`` block ends, however it ends (the tables
failed, Ctrl-C).

The charts are handed out in :data:`analysis.run_outputs.DRAW_ORDER` (the longest
first), each process taking the next one when it is free, so the last chart to finish
is a short one; the results come back by name and the caller writes them in its own
order, so the files are the same as drawn one after another.

This module imports no matplotlib: ``run.py`` imports it at the top, and the local
executor's workers import ``run.py`` again (tests/test_imports.py).
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Iterator, Sequence

from sim.worker_guard import guard_worker, sigint_held

#: The helpers' start and stop, for run.log (run.py keeps these INFO lines off the console).
log = logging.getLogger(__name__)

#: Helper processes start fresh, as the simulation's workers do (sim.experiment).
CHART_MP_CONTEXT = "spawn"


def warm_up() -> int:
    """In a helper: import what drawing needs and load the fonts before the first chart
    is due; return the helper's process id (tests check the helpers are gone)."""
    import analysis.charts.make  # noqa: F401 - matplotlib and every chart module
    from analysis.charts import style
    from analysis.kpis.stats import t_quantile
    t_quantile(0.975, 2)  # SciPy, imported on the first confidence interval
    style.text_width_in("Warm-up 预热", style.BASE_SIZE)  # the Latin and the Chinese font files, loaded
    return os.getpid()


def draw_one(run_dir: Path, baseline_dir: Path | None, out: Path, name: str) -> tuple:
    """Draw one chart (:func:`analysis.charts.make._draw`); top-level and light, so a
    helper can be handed it, and so this process imports the chart modules only when it
    draws its first chart."""
    from analysis.charts.make import _draw
    return _draw(run_dir, baseline_dir, out, name)


class ChartHelpers:
    """``processes`` helper processes, started (and warming up) from construction on.

    :meth:`begin` starts handing them charts, :meth:`finish` draws the rest in this
    thread alongside them and returns the results; :meth:`close` stops them."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        # helpers die with this process and leave Ctrl-C to it (sim.worker_guard); the
        # parent-death signal follows the starting thread, so only when that is the main one
        main_thread = threading.current_thread() is threading.main_thread()
        self._pool = ProcessPoolExecutor(max_workers=processes, mp_context=get_context(CHART_MP_CONTEXT),
                                         initializer=guard_worker, initargs=(os.getpid(), main_thread))
        with sigint_held():  # a Ctrl-C while a helper starts waits until it ignores SIGINT
            self.warm: list[Future] = [self._pool.submit(warm_up) for _ in range(processes)]
        self._job: tuple | None = None
        self._todo: list[str] = []
        self._lock = threading.Lock()
        self._results: dict[str, tuple] = {}
        self._errors: list[BaseException] = []
        self._feeders: list[threading.Thread] = []

    def begin(self, run_dir: Path, baseline_dir: Path | None, out: Path, names: Sequence[str]) -> None:
        """Start handing ``names`` (in this order) to the helpers, one at a time each;
        again with the same job, nothing (a second job is an error)."""
        job = (Path(run_dir), Path(baseline_dir) if baseline_dir else None, Path(out), tuple(names))
        if self._job is not None:
            if job != self._job:
                raise RuntimeError(f"chart helpers already drawing {self._job}, not {job}")
            return
        self._job = job
        self._todo = list(reversed(job[3]))
        self._feeders = [threading.Thread(target=self._feed, daemon=True) for _ in range(self.processes)]
        with sigint_held():  # the feeders hold Ctrl-C (this thread takes it)
            for t in self._feeders:
                t.start()

    def finish(self, draw_here: Callable[[Path, Path | None, Path, str], tuple] = draw_one) -> dict[str, tuple]:
        """Draw the charts not yet taken in this thread with ``draw_here`` until none are
        left; wait for the helpers' last ones; return ``{name: result}``."""
        if self._job is None:
            raise RuntimeError("begin() first")
        run_dir, baseline_dir, out, _ = self._job
        try:
            while (name := self._take()) is not None:
                self._results[name] = draw_here(run_dir, baseline_dir, out, name)
        except BaseException as err:
            self._errors.append(err)
        for t in self._feeders:
            t.join()
        if self._errors:
            raise self._errors[0]
        return dict(self._results)

    def close(self) -> None:
        """Stop the helpers (a chart being drawn is finished first; warm-ups too) and
        wait until they are gone."""
        with self._lock:
            self._todo.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _take(self) -> str | None:
        with self._lock:
            return self._todo.pop() if self._todo and not self._errors else None

    def _feed(self) -> None:  # one thread per helper: hands it the next chart when it is free
        run_dir, baseline_dir, out, _ = self._job
        try:
            while (name := self._take()) is not None:
                self._results[name] = self._pool.submit(draw_one, run_dir, baseline_dir, out, name).result()
        except BaseException as err:  # noqa: BLE001 - re-raised in finish()
            self._errors.append(err)


@contextlib.contextmanager
def chart_helpers(charts: Sequence[str], workers: int) -> Iterator[ChartHelpers | None]:
    """Helpers for drawing ``charts`` in ``workers`` processes (this one included),
    started now and stopped when the block ends; None (nothing started) when no chart is
    asked for or one process draws them."""
    processes = min(workers, len(charts)) - 1
    if processes < 1:
        yield None
        return
    helpers = ChartHelpers(processes)
    log.info("chart helpers: %d process(es) started", processes)
    try:
        yield helpers
    finally:
        helpers.close()
        log.info("chart helpers: stopped")
