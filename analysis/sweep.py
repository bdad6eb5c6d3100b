"""Sweeps: collect every job of a Hydra multirun into one tidy table, plus charts.

A sweep directory (``multirun/<sweep_name>/``) holds one sub-directory per job, each a
normal run directory (``summary.json``, tables, ``.hydra/overrides.yaml``). The
aggregation reads them all and writes ``sweep_summary.csv``: one row per job x KPI,
with the swept values as columns, so a researcher can filter and plot without
re-running anything. It runs automatically at the end of a multirun (the Hydra
callback :class:`AggregateSweep`, registered in ``conf/config.yaml``) and can be re-run
on an existing sweep directory (when the jobs ran the accountability loop, it also writes
``ranking_design.csv`` and its chart: :mod:`analysis.ranking_design`):

    python -m analysis.sweep multirun/<sweep_name>

Re-running it on the same directory gives the same table (jobs are sorted by name).
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from analysis.io import write_csv_atomic
from analysis.rundir import DONE_FILE
from analysis.summary import SUMMARY_FILE
# The table itself lives in analysis.sweep_table (shared with the report); its names
# stay importable from here.
from analysis.sweep_table import SWEEP_FILE, aggregate, job_dirs, left_out, swept_values

__all__ = ["SWEEP_FILE", "AggregateSweep", "aggregate", "job_dirs", "left_out", "main", "swept_values", "write_sweep"]
log = logging.getLogger(__name__)


def write_sweep(sweep_dir: Path) -> Path:
    """Aggregate a sweep directory into ``sweep_summary.csv`` (atomically) and its
    charts (``charts/`` of the sweep directory, when the chart module is present)."""
    sweep_dir = Path(sweep_dir)
    for job, why in left_out(sweep_dir):  # only finished jobs are aggregated
        log.warning("sweep %s: job %s left out: %s", sweep_dir, job, why)
    header, rows = aggregate(sweep_dir)
    out = sweep_dir / SWEEP_FILE
    write_csv_atomic(out, header, rows)
    try:
        from analysis.charts import make_sweep_charts
    except ImportError:  # charts are optional for the table
        log.info("no chart module; sweep charts skipped")
    else:
        make_sweep_charts([dict(zip(header, r)) for r in rows], sweep_dir / "charts")
    from analysis.ranking_design import write_design_table  # ranking_design.csv when the loop ran
    design = write_design_table(sweep_dir)
    if design is not None:
        log.info("sweep %s: design table %s", sweep_dir, design)
    from analysis.report import write_sweep_report  # jinja2: imported only here
    write_sweep_report(sweep_dir)
    n_jobs = len({r[0] for r in rows})
    log.info("sweep %s: %d jobs aggregated into %s", sweep_dir, n_jobs, out)
    return out


try:
    from hydra.experimental.callback import Callback
except ImportError:  # pragma: no cover - hydra is a dependency
    Callback = object


class AggregateSweep(Callback):
    """Hydra callback: aggregate the sweep when a multirun ends."""

    def on_multirun_end(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if sweep_dir.is_dir():
            path = write_sweep(sweep_dir)
            print(f"sweep table: {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Aggregate a finished (or partial) sweep directory.")
    parser.add_argument("sweep_dir", type=Path)
    args = parser.parse_args(argv)
    if not job_dirs(args.sweep_dir):
        for job, why in left_out(args.sweep_dir):
            print(f"sweep {args.sweep_dir}: job {job} left out: {why}", file=sys.stderr)
        print(f"sweep: no finished job (no */{SUMMARY_FILE} with {DONE_FILE}) in {args.sweep_dir}", file=sys.stderr)
        return 2
    print(f"sweep table: {write_sweep(args.sweep_dir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
