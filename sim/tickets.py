"""Where the call centre hands its tickets: the downstream interface.

The call centre calls ``submit(caller, time_min, category)`` when a demand call ends.
Dispatch to districts and streets plugs in here by providing another sink with the
same method; until then :class:`TicketLog` records the tickets so they are counted.
"""
from __future__ import annotations

from array import array
from typing import Protocol

import numpy as np

from sim.records import TicketRecords


class TicketSink(Protocol):
    def submit(self, caller: int, time_min: float, category: int, root: int) -> None:
        """Take one new ticket created at ``time_min`` by call ``caller`` about the
        problem first raised by call ``root``. A sink may also offer
        ``after_call_min(root, category)``: work the agent does right after a demand
        call about problem ``root`` (the call centre then adds it to the call; for its
        fresh callers the sink hands it over in one go with
        ``CallCentre.add_after_call_work``)."""


class TicketLog:
    """A sink that only records each ticket (caller id, creation time, category)."""

    def __init__(self) -> None:
        # Compact typed arrays: 8 + 8 + 2 bytes a ticket, not three Python objects.
        self._caller = array("q")
        self._time = array("d")
        self._category = array("h")

    def submit(self, caller: int, time_min: float, category: int, root: int) -> None:
        self._caller.append(caller)
        self._time.append(time_min)
        self._category.append(category)

    def records(self) -> TicketRecords:
        return TicketRecords(
            caller=np.frombuffer(self._caller, dtype=np.int64),
            created_min=np.frombuffer(self._time, dtype=np.float64),
            category=np.frombuffer(self._category, dtype=np.int16),
        )
