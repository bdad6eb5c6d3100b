"""The random numbers of tickets, drawn per problem so that policies line up.

Common random numbers across policies: a ticket's intrinsic randomness (where it
belongs, how urgent, how long the street needs, whether it gets resolved, what the
citizen will answer in the survey, whether they call again) is drawn *per fresh call*
before the run, from its own streams. Two runs with the same seed and arrivals give
the same problem the same numbers, whatever dispatch policy or staffing moved its
timing. Tickets of repeat calls, and the extra steps after a return, draw from block
streams in the order they occur.
"""
from __future__ import annotations

import numpy as np

from sim.city import City
from sim.outcomes import logit
from sim.config import SimConfig
from sim.streams import Streams

#: How many rows / values are drawn at a time for tickets created during the run.
_BLOCK = 1024
DEPARTMENT = -1  # ``dest`` of a ticket for the city departments / utilities


class TicketDraws:
    """One row of draws per problem: rows 0..n-1 for the fresh demand calls (in caller
    order), more appended for repeat calls (in chunks per category, so some appended
    rows stay unused). Columns are numpy arrays; ``row_for`` maps a call's root caller
    id to its row."""

    def __init__(self, cfg: SimConfig, city: City, streams: Streams, is_demand: np.ndarray,
                 category: np.ndarray, adjust=None):
        self.cfg, self.city, self.t = cfg, city, cfg.tickets
        # The dispatch policy's changes to the draws (its own stream, so no other draw moves).
        self._adjust, self._policy_rng = adjust, streams["dispatch_policy"]
        n_fresh = len(is_demand)
        self._fresh_row = np.cumsum(is_demand, dtype=np.int64) - 1  # row of fresh caller i (if demand)
        self._fresh_row_view = memoryview(self._fresh_row)  # plain ints, fast to index
        self._fresh_demand = np.flatnonzero(is_demand)  # fresh callers with a ticket, in row order
        self._n_fresh = n_fresh
        self._extra_row: dict[int, int] = {}
        self._extra_rng = streams["repeat_tickets"]
        self._extra_chunk: dict[int, tuple[int, int]] = {}  # category -> (next row, end) of its chunk
        self.cols = self._draw(streams["tickets"], category[is_demand])
        self.size = len(self.cols["dest"])
        self.views_stale = False  # set when the columns grew: memoryviews must be renewed

    def views(self) -> dict[str, memoryview]:
        """Fast element access for the hot path (plain Python numbers)."""
        self.views_stale = False
        return {name: memoryview(col) for name, col in self.cols.items()}

    def fresh_rows(self) -> memoryview:
        """Row of each fresh caller's problem (meaningful for demand callers only)."""
        return self._fresh_row_view

    def fresh_column(self, name: str, fill: float) -> np.ndarray:
        """Column ``name`` for every fresh caller, in caller order (``fill`` for callers
        who raise no ticket)."""
        out = np.full(self._n_fresh, fill)
        out[self._fresh_demand] = self.cols[name][: len(self._fresh_demand)]
        return out

    def row_for(self, root: int, category: int) -> int:
        """Row of the problem first raised by caller ``root`` (drawn now if new)."""
        if root < self._n_fresh:
            return self._fresh_row_view[root]
        row = self._extra_row.get(root)
        if row is None:
            row = self._next_extra_row(category)
            self._extra_row[root] = row
        return row

    def _next_extra_row(self, category: int) -> int:
        """A row for a new problem of ``category``. Rows are drawn ``_BLOCK`` at a time
        per category, straight into the columns (a chunk of rows per category, handed
        out in order), so a new problem costs no copying; the columns grow
        geometrically (amortised O(1))."""
        row, end = self._extra_chunk.get(category, (0, 0))
        if row == end:
            row, end = self._add_chunk(category)
        self._extra_chunk[category] = (row + 1, end)
        return row

    def _add_chunk(self, category: int) -> tuple[int, int]:
        block = self._draw(self._extra_rng, np.full(_BLOCK, category, dtype=np.int16))
        start, end = self.size, self.size + _BLOCK
        if end > len(self.cols["dest"]):
            self.cols = {k: np.concatenate([v, np.empty(max(len(v) // 2, _BLOCK), v.dtype)])
                         for k, v in self.cols.items()}
            self.views_stale = True
        for name, values in block.items():
            self.cols[name][start:end] = values
        self.size = end
        return start, end

    def _draw(self, rng: np.random.Generator, category: np.ndarray) -> dict[str, np.ndarray]:
        """All intrinsic draws of ``len(category)`` problems, vectorised."""
        t, city, n = self.t, self.city, len(category)
        names = self.cfg.arrivals.categories
        to_street = rng.random(n) < t.dispatch.street_share
        dest = np.where(to_street, rng.choice(city.n_streets, size=n, p=city.street_weight), DEPARTMENT)
        shares = np.array([u.share for u in t.streets.urgency])
        urgency = rng.choice(len(shares), size=n, p=shares / shares.sum()).astype(np.int8)
        for name, cls in t.streets.urgency_by_category.items():  # e.g. heating -> 24 h
            urgency[category == names.index(name)] = cls
        scale = np.array([u.processing_scale for u in t.streets.urgency])[urgency]
        processing = np.empty(n)
        for k, name in enumerate(names):
            sel = np.flatnonzero((category == k) & to_street)
            processing[sel] = t.streets.processing_for(name).sample(rng, len(sel))
        dept = np.flatnonzero(~to_street)
        processing[dept] = t.departments.processing.sample(rng, len(dept))
        processing *= scale
        resolve_p = np.array([t.streets.resolve_prob_for(name) for name in names])[category]
        resolve_p = np.where(to_street, resolve_p, t.departments.resolve_prob)  # before the outcome model
        cols = {
            "dest": dest.astype(np.int16),
            "urgency": urgency,
            "processing_min": processing,
            "resolve_u": rng.random(n),  # solved if below the chance the outcome model gives
            "resolve_logit": logit(resolve_p),
            "sign_min": t.streets.sign_time.sample(rng, n),
            "centre_work_min": t.dispatch.centre_work_time.sample(rng, n),
            "centre_u": rng.random(n),
            "district_work_min": t.dispatch.district_work_time.sample(rng, n),
            "district_u": rng.random(n),
            "surveyed": rng.random(n) < t.survey.share,
            "survey_delay_min": t.survey.delay.sample(rng, n),
            "survey_work_min": t.survey.work_time.sample(rng, n),
            "reached": rng.random(n) >= t.survey.unreachable_prob,
            "contact_u": rng.random(n),
            "satisfaction_noise": rng.logistic(size=n),
            "repeat": rng.random(n) < t.repeat.prob,
            "repeat_delay_min": t.repeat.delay.sample(rng, n),
            "wait_min": np.zeros(n),  # after signing, before work can start (a policy may set it)
            "solved_anyway": np.zeros(n, dtype=bool),  # a policy may set it (sim/dispatch/base.py)
        }
        if self._adjust is not None:
            self._adjust(cols, category, self._policy_rng)
        cols.update(_derived(cols, t))
        return cols


def _derived(cols: dict[str, np.ndarray], t) -> dict[str, np.ndarray]:
    """What the run reads per ticket, worked out for all rows at once (no draws):
    whether a street ticket joins the caseworker queue (its urgency class is queued),
    how long after closure its callback is due and the citizen calls again (NaN: never
    -- not surveyed; no repeat call if unresolved, which is decided at closure), and how
    long after its delivery to the street nothing it sets off can happen."""
    queued = np.array([u.queued for u in t.streets.urgency])[cols["urgency"]]
    survey_after = np.where(cols["surveyed"], cols["survey_delay_min"], np.nan)
    repeat_after = np.where(cols["repeat"], cols["repeat_delay_min"], np.nan)
    return {
        "queued": queued & (cols["dest"] != DEPARTMENT),
        "survey_after_min": survey_after,
        "repeat_after_min": repeat_after,
        # At the earliest, its street signs for it and its work can start sign + wait
        # after delivery (later if the street is closed): the first thing it sets off.
        "quiet_after_delivery_min": cols["sign_min"] + cols["wait_min"],
    }


class BlockSampler:
    """Values of one distribution (or uniforms) drawn ``_BLOCK`` at a time, handed out
    one by one: for the steps whose count is not known before the run (re-dispatch
    after a return, reviews of misrouted tickets)."""

    def __init__(self, rng: np.random.Generator, draw):
        self._rng, self._draw = rng, draw
        self._values: list[float] = []
        self._pos = 0

    def next(self) -> float:
        if self._pos == len(self._values):
            self._values = self._draw(self._rng, _BLOCK).tolist()
            self._pos = 0
        self._pos += 1
        return self._values[self._pos - 1]
