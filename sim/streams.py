"""Named random streams: common random numbers by construction.

One ``numpy.random.SeedSequence`` tree per run seed. Each (replication, stream name)
pair gets its own generator, keyed by a fixed number per name, so that changing one
part of the model (say, the number of seats) never shifts the random numbers another
part draws (say, the arrival times). Same seed and config -> bit-identical output.
"""
from __future__ import annotations

import numpy as np

#: Stable stream ids. Append new names; never renumber (that would change results).
STREAM_IDS = {
    "arrivals": 0,
    "category": 1,
    "demand": 2,
    "handling": 3,
    "demand_handling": 4,
    "patience": 5,
    "redial": 6,
    "later_callers": 7,  # redials and repeat calls, drawn in blocks
    "tickets": 8,  # intrinsic draws of the fresh calls' tickets
    "repeat_tickets": 9,  # the same for tickets of repeat calls
    "redispatch": 10,  # steps after a return (re-dispatch, review)
    "dispatch_policy": 11,  # a dispatch policy's own numbers (sim/dispatch/)
    "accountability": 12,  # gaming and its detection (sim/accountability.py)
}
#: Streams of the city itself (the same in every replication of a seed), e.g. each
#: street's latent quality: a branch of the seed tree no replication number reaches.
CITY_BRANCH = 2**32 - 1
CITY_STREAM_IDS = {"street_quality": 0}


def city_stream(seed: int, name: str) -> np.random.Generator:
    """The generator of city property ``name`` for ``seed``: what every replication of
    a run shares (persistent differences between streets)."""
    seq = np.random.SeedSequence(seed, spawn_key=(CITY_BRANCH, CITY_STREAM_IDS[name]))
    return np.random.Generator(np.random.PCG64(seq))


class Streams:
    """The generators of one replication, created on first use."""

    def __init__(self, seed: int, replication: int):
        self.seed = seed
        self.replication = replication
        self._cache: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        if name not in self._cache:
            if name not in STREAM_IDS:
                raise KeyError(f"unknown random stream {name!r}; known: {', '.join(STREAM_IDS)}")
            seq = np.random.SeedSequence(self.seed, spawn_key=(self.replication, STREAM_IDS[name]))
            self._cache[name] = np.random.Generator(np.random.PCG64(seq))
        return self._cache[name]
