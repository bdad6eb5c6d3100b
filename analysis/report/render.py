"""Rendering: the Jinja2 environment over ``templates/`` (autoescaping on: every text
from a run, a config file or a chart caption is escaped), and the report files written
atomically."""
from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from analysis.io import write_bytes_atomic
from analysis.report.sections import run_context, sweep_context
from analysis.report.vocabulary import REPORT_FILE, SUMMARY_FILE
from analysis.report.webfont import embed_font


@functools.lru_cache(maxsize=1)
def environment() -> Environment:
    """The templates of the package; an undefined name is an error, not an empty text."""
    return Environment(loader=PackageLoader("analysis.report", "templates"), autoescape=True, trim_blocks=True,
                       lstrip_blocks=True, keep_trailing_newline=True, undefined=StrictUndefined)


def render_report(run_dir: Path) -> str:
    """The HTML of a run's briefing report (see :func:`write_report`)."""
    return embed_font(environment().get_template("run.html.j2").render(run_context(Path(run_dir)), wide=False))


def render_sweep_report(sweep_dir: Path) -> str:
    """The HTML of a sweep's report (see :func:`write_sweep_report`)."""
    return embed_font(environment().get_template("sweep.html.j2").render(sweep_context(Path(sweep_dir)), wide=True))


def write_report(run_dir: Path) -> Path:
    """Write ``run_dir/report.html`` (self-contained, atomically) and return its path."""
    out = Path(run_dir) / REPORT_FILE
    write_bytes_atomic(out, render_report(run_dir).encode("utf-8"))
    return out


def write_sweep_report(sweep_dir: Path) -> Path:
    """Write ``sweep_dir/report.html`` (self-contained, atomically) and return its path."""
    out = Path(sweep_dir) / REPORT_FILE
    write_bytes_atomic(out, render_sweep_report(sweep_dir).encode("utf-8"))
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m analysis.report DIR``: the report of a run directory (it has a
    summary.json) or of a sweep directory."""
    parser = argparse.ArgumentParser(description="Write report.html for a run directory or a sweep directory.")
    parser.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    d = args.directory
    try:
        path = write_report(d) if (d / SUMMARY_FILE).is_file() else write_sweep_report(d)
    except FileNotFoundError as err:
        print(f"report: {err}", file=sys.stderr)
        return 2
    print(f"report: {path}")
    return 0
