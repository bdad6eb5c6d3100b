"""records=parquet: each replication's calls, tickets and monthly tables as Parquet,
counted against the KPIs the same run reports; the documented example runs on them;
output files get the user's usual permissions."""
from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from analysis.io import FILE_MODE, write_bytes_atomic
from analysis.records_io import CALL_SCHEMA, TICKET_SCHEMA
from tests.test_cli import run_cli

REPO = Path(__file__).resolve().parent.parent
ARGS = ["replications=2", "horizon_days=4", "warmup_days=1", "executor=serial", "charts=none", "report=false",
        "records=parquet"]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    result = run_cli(tmp_path_factory.mktemp("records") / "run", ARGS)
    assert result.proc.returncode == 0, result.proc.stderr[-2000:]
    return result.dir


def test_each_replication_writes_its_records_with_the_documented_columns(run):
    names = sorted(p.name for p in (run / "records").iterdir())
    assert names == [f"{kind}_rep{r:03d}.parquet" for kind in ("calls", "districts_monthly", "streets_monthly",
                                                                 "tickets") for r in (0, 1)]
    assert pq.read_schema(run / "records" / "calls_rep000.parquet").names == list(CALL_SCHEMA)
    assert pq.read_schema(run / "records" / "tickets_rep001.parquet").names == list(TICKET_SCHEMA)


def test_records_count_what_the_summary_reports(run):
    """Counted from the records: calls offered, answered, abandoned and waiting in the
    measured window, and tickets created, per replication, as in summary.json."""
    m = json.loads((run / "summary.json").read_text(encoding="utf-8"))["metrics"]
    for r in (0, 1):
        calls = pd.read_parquet(run / "records" / f"calls_rep{r:03d}.parquet")
        meta = {k.decode(): json.loads(v) for k, v in pq.read_schema(run / "records" / f"calls_rep{r:03d}.parquet")
                .metadata.items()}
        assert meta["replication"] == r
        measured = calls[calls.measured]
        assert len(measured) == m["calls_offered"]["per_replication"][r]
        for code, name in ((0, "calls_answered"), (1, "calls_abandoned"), (2, "calls_waiting_at_end")):
            assert int((measured.outcome == code).sum()) == m[name]["per_replication"][r], name
        tickets = pd.read_parquet(run / "records" / f"tickets_rep{r:03d}.parquet")
        created = tickets.created_min >= meta["warmup_min"]
        assert int(created.sum()) == m["tickets_created"]["per_replication"][r]
        assert set(tickets.caller) <= set(calls.call[calls.is_demand])


def test_monthly_records_are_the_monthly_table(run):
    with (run / "streets_monthly.csv").open(encoding="utf-8-sig") as fh:
        rows = [r for r in csv.DictReader(fh) if r["replication"] == "1"]
    table = pd.read_parquet(run / "records" / "streets_monthly_rep001.parquet")
    assert len(table) == len(rows) > 0
    assert np.allclose(table.tickets.to_numpy(), [float(r["tickets"]) for r in rows])


def test_the_documented_example_runs(run, capsys):
    doc = (REPO / "docs" / "records.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", doc, flags=re.S).group(1)
    exec(code.replace('Path("outputs/june")', f"Path({str(run)!r})"), {})
    out = capsys.readouterr().out
    assert "median_lead_h" in out and "late_share" in out


def test_a_bad_records_value_is_a_one_line_config_error(tmp_path):
    proc = run_cli(tmp_path / "x", ["records=csv"]).proc
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["config error: records = 'csv' is not allowed; expected none or parquet"]


def test_output_files_get_the_users_usual_permissions(tmp_path):
    """Not the 0600 of a temporary file: what open() gives a new file (0666 less the
    umask), so colleagues in the group can read a shared run directory."""
    path = tmp_path / "x.csv"
    write_bytes_atomic(path, b"a\n")
    assert os.stat(path).st_mode & 0o777 == FILE_MODE
    mask = os.umask(0)
    os.umask(mask)
    assert FILE_MODE == 0o666 & ~mask
