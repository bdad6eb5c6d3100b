"""The table of a sweep: every finished job of a Hydra multirun, one row per job x KPI,
with the swept values as columns (``sweep_summary.csv``).

Kept apart from :mod:`analysis.sweep` (which writes the table, the sweep charts and the
sweep report at the end of a multirun) so that the report, which needs the table when
the file is not there yet, can read it without importing :mod:`analysis.sweep`: the
sweep imports the report, the report imports this module, and neither imports the other
back.
"""
from __future__ import annotations

from pathlib import Path

from analysis.rundir import DONE_FILE, NOT_RESULT_KEYS, SUMMARY_FILE, SWEEP_FILE, hydra_files, read_json  # noqa: F401

#: Why a job folder of a sweep is left out of its table.
UNFINISHED = f"not finished (no {DONE_FILE}: interrupted, failed or still running)"
NO_SUMMARY = f"no {SUMMARY_FILE} (stopped before its results were written)"


def job_dirs(sweep_dir: Path) -> list[Path]:
    """Finished jobs of a sweep, in a stable order: those with a summary and the
    ``run_complete.json`` a run writes last. A job stopped part-way (Ctrl-C, a kill, a
    crash) may have a summary but is not finished: :func:`left_out` names it."""
    return sorted(p.parent for p in Path(sweep_dir).glob(f"*/{SUMMARY_FILE}") if (p.parent / DONE_FILE).is_file())


def left_out(sweep_dir: Path) -> list[tuple[str, str]]:
    """(job folder, why) for each job folder of a sweep (one with Hydra's ``.hydra/``)
    that :func:`job_dirs` leaves out."""
    out = []
    for hydra_dir in sorted(Path(sweep_dir).glob("*/.hydra")):
        job = hydra_dir.parent
        if not (job / SUMMARY_FILE).is_file():
            out.append((job.name, NO_SUMMARY))
        elif not (job / DONE_FILE).is_file():
            out.append((job.name, UNFINISHED))
    return out


def swept_values(job_dir: Path) -> dict[str, str]:
    """The command-line overrides of a job (``key=value``), as a mapping."""
    overrides = hydra_files(job_dir)[2]
    out = {}
    for item in overrides or []:
        key, _, value = str(item).partition("=")
        key = key.lstrip("+~")
        if not key.startswith("hydra.") and key not in NOT_RESULT_KEYS:
            out[key] = value
    return out


def aggregate(sweep_dir: Path) -> tuple[list[str], list[list]]:
    """The tidy table of a sweep: header and rows (job x KPI)."""
    jobs = job_dirs(sweep_dir)
    values = {job: swept_values(job) for job in jobs}
    keys = sorted({k for v in values.values() for k in v})
    header = ["job", *keys, "metric", "mean", "ci_low", "ci_high", "n_replications"]
    rows = []
    for job in jobs:
        summary = read_json(job / SUMMARY_FILE)
        for metric, m in summary["metrics"].items():
            rows.append([job.name, *(values[job].get(k, "") for k in keys), metric, m["mean"], m["ci_low"],
                         m["ci_high"], summary["replications"]])
    return header, rows
