"""Pooled caseworkers (区级统筹): direct dispatch to the streets, but each district
pools its streets' caseworkers into one team that works every street ticket of the
district, first come first served.

The street still signs for its tickets (its duty hours and sign time: the response
rate is the street's); the work itself queues at the district pool. Pooling is the
classic queueing trade-off (one queue with many servers waits less than many small
queues at the same load; e.g. Whitt 1992, "Understanding the efficiency of
multi-server service systems", Management Science 38:708), against the cost of
caseworkers working streets they know less (``dispatch.pool.processing_scale``,
[assume]). It answers the question researchers ask of 接诉即办: is the street the
right unit of capacity?
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.dispatch import direct
from sim.station import FcfsStation
from sim.validate import number, section


@dataclass(frozen=True)
class PoolOptions:
    processing_scale: float  # a pooled caseworker's time on a ticket, relative to the street's own


class Policy(direct.Policy):
    label_en = "Pooled caseworkers"
    label_zh = "区级统筹"
    description = ("pooled caseworkers: direct dispatch, but each district pools its streets' caseworkers "
                   "into one team that works all of the district's street tickets")
    source = "a research design (pooling in queues, Whitt 1992); not a Beijing policy"
    OPTION_KEYS = frozenset({"pool"})

    @classmethod
    def parse_options(cls, raw: dict, categories: tuple[str, ...]) -> PoolOptions:
        pool = section(raw.get("pool"), "dispatch.pool", {"processing_scale"})
        return PoolOptions(processing_scale=number(pool.get("processing_scale"), "dispatch.pool.processing_scale",
                                                   lo=0, lo_open=True))

    @property
    def processing_scale(self) -> float:
        return self.options.processing_scale

    def caseworker_pools(self, caseworkers):
        """One station per district with the caseworkers of all its streets."""
        district = self.system.city.street_district
        servers = np.bincount(district, weights=caseworkers, minlength=self.system.city.n_districts)
        # (a district without streets gets a one-server pool that no ticket reaches)
        return "street_pool", [FcfsStation(max(int(s), 1)) for s in servers], district.tolist()
