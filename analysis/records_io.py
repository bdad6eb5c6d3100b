"""Per-call and per-ticket records as Parquet files, for one's own analysis.

With ``records=parquet`` each replication writes, where it was simulated, into
``<run>/records/``:

* ``calls_rep<R>.parquet``: one row per call offered (fresh calls, redials, repeat calls);
* ``tickets_rep<R>.parquet``: one row per ticket (with ``dispatch=none``: caller,
  created and category only);
* ``streets_monthly_rep<R>.parquet``, ``districts_monthly_rep<R>.parquet``: the monthly
  tables of that replication (the columns of ``streets_monthly.csv``).

Times are minutes from the scenario's start (the file's metadata ``start`` gives it, so
``pd.Timestamp(start) + pd.to_timedelta(t, "min")`` is a date-time); NaN where a step had
not happened by the end of the run. :data:`CALL_SCHEMA` and :data:`TICKET_SCHEMA` say
what each column means; ``docs/records.md`` shows them with an example.

pyarrow is imported only when records are written (``pip install -e ".[records]"``).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from analysis.io import write_bytes_atomic
from analysis.rundir import RECORDS_DIR

FORMATS = ("none", "parquet")

#: column -> meaning, of ``calls_rep<R>.parquet``.
CALL_SCHEMA = {
    "call": "call id (row number in the run's caller table)",
    "arrival_min": "arrival, minutes from the start",
    "category": "complaint category code (metadata 'categories' names them)",
    "is_demand": "a demand (诉求) that becomes a ticket; else a consultation",
    "origin": "0 first call, 1 redial after hanging up, 2 repeat call about an unresolved problem",
    "root": "id of the first call about the same problem",
    "outcome": "0 answered, 1 abandoned, 2 still waiting at the end",
    "answer_min": "answered, minutes from the start (NaN: never)",
    "wait_min": "time in queue: until answered, hanging up or the end of the run",
    "handle_min": "talk time if answered",
    "patience_min": "how long the caller would wait (inf: forever)",
    "measured": "arrived after the warm-up (the KPIs count these)",
}
#: column -> meaning, of ``tickets_rep<R>.parquet``.
TICKET_SCHEMA = {
    "ticket": "ticket id",
    "caller": "the call that raised it (call id in calls_rep<R>.parquet)",
    "created_min": "created (the call ended), minutes from the start",
    "category": "complaint category code",
    "urgency": "urgency class code (metadata 'urgency' names them)",
    "street": "street index (metadata 'streets'); -1: city departments",
    "district": "district index (metadata 'districts'); -1: city departments",
    "deadline_min": "deadline, minutes from the start",
    "dispatched_min": "the centre's first dispatch done",
    "delivered_min": "reached the unit that works it (after any returns)",
    "signed_min": "signed for (签收)",
    "closed_min": "closed with feedback",
    "returns": "times returned by a wrong unit (退单)",
    "resolved": "1 solved, 0 not, -1 not closed",
    "surveyed_min": "callback (回访) made",
    "reached": "1 the callback reached the citizen, 0 not, -1 no callback",
    "contacted": "the citizen says the unit contacted them (1/0; -1 unknown)",
    "satisfaction": "2 satisfied, 1 basically, 0 dissatisfied, -1 no answer",
}


def check_format(value) -> str:
    """The validated ``records`` option (config error otherwise)."""
    from sim.errors import ConfigError
    if value not in FORMATS:
        raise ConfigError("records", value, " or ".join(FORMATS))
    if value == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ConfigError("records", value, 'none, or install pyarrow first: pip install -e ".[records]"') from None
    return value


def call_columns(calls) -> dict[str, np.ndarray]:
    n = len(calls.arrival_min)
    return {"call": np.arange(n), "arrival_min": calls.arrival_min, "category": calls.category,
            "is_demand": calls.is_demand, "origin": calls.origin, "root": calls.root, "outcome": calls.outcome,
            "answer_min": calls.answer_min, "wait_min": calls.wait_min, "handle_min": calls.handle_min,
            "patience_min": calls.patience_min, "measured": calls.arrival_min >= calls.warmup_min}


def ticket_columns(tickets) -> dict[str, np.ndarray]:
    cols = {"ticket": np.arange(len(tickets.caller))}
    for name in TICKET_SCHEMA:
        value = getattr(tickets, name, None) if name != "ticket" else None
        if isinstance(value, np.ndarray):
            cols[name] = value
    return cols


def write_parquet(path: Path, columns: dict[str, np.ndarray], metadata: dict) -> None:
    """One table, written atomically (analysis.io), metadata as JSON strings."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = pa.table({k: np.asarray(v) for k, v in columns.items()})
    table = table.replace_schema_metadata({k: json.dumps(v, ensure_ascii=False) for k, v in metadata.items()})
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer)
    write_bytes_atomic(path, buffer.getvalue().to_pybytes())


class SaveRecordsThenReduce:
    """The worker's job with ``records=parquet``: write the replication's records, then
    reduce them as usual (picklable, so process pools and dask can run it)."""

    def __init__(self, reduce, out_dir: Path, cfg):
        self.reduce, self.out_dir, self.meta = reduce, Path(out_dir) / RECORDS_DIR, _metadata(cfg)

    def __call__(self, rec):
        r = rec.replication
        meta = {**self.meta, "replication": r}
        write_parquet(self.out_dir / f"calls_rep{r:03d}.parquet", call_columns(rec.calls),
                      {**meta, "schema": CALL_SCHEMA})
        write_parquet(self.out_dir / f"tickets_rep{r:03d}.parquet", ticket_columns(rec.tickets),
                      {**meta, "schema": TICKET_SCHEMA})
        out = self.reduce(rec)
        for level, cols in (out.get("monthly") or {}).items():
            write_parquet(self.out_dir / f"{level}_monthly_rep{r:03d}.parquet",
                          {"replication": np.full(len(cols["month"]), r), **cols}, meta)
        return out


def _metadata(cfg) -> dict:
    """What a reader needs to decode codes and times."""
    meta = {"start": cfg.start.isoformat(), "warmup_min": cfg.warmup_min, "horizon_min": cfg.horizon_min,
            "categories": list(cfg.arrivals.categories)}
    if cfg.tickets is not None:
        meta["urgency"] = [u.name for u in cfg.tickets.streets.urgency]
        meta["dispatch"] = cfg.tickets.dispatch.policy
    if cfg.city is not None:
        meta["streets"] = [f"{en} {zh}" for en, zh in zip(cfg.city.street_names, cfg.city.street_zh)]
        meta["districts"] = [f"{en} {zh}" for en, zh in zip(cfg.city.district_names, cfg.city.district_zh)]
    return meta
