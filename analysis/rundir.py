"""Run-directory bookkeeping: is this output folder a finished run of this config?

A run (or a sweep job) writes ``run_complete.json`` last, atomically, holding a
fingerprint of the config; re-running the same command finds finished folders by it
and skips them, so an interrupted sweep finishes only what is missing.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from analysis.io import write_json_atomic

#: Config keys that do not change a run's results (where it runs, what a sweep is called,
#: which charts and whether a report are drawn from them).
NOT_RESULT_KEYS = ("executor", "sweep_name", "charts", "report")


def config_fingerprint(raw: dict) -> str:
    """A hash of everything in the composed config that can change the results."""
    relevant = {k: v for k, v in raw.items() if k not in NOT_RESULT_KEYS}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:16]


DONE_FILE = "run_complete.json"


def mark_done(out_dir: Path, fingerprint: str) -> None:
    """Written last, atomically: the run directory is complete (tables, and the charts
    and report asked for)."""
    write_json_atomic(Path(out_dir) / DONE_FILE, {"config_fingerprint": fingerprint})


def already_done(out_dir: Path, fingerprint: str) -> bool:
    """True if ``out_dir`` holds a complete run of the same config."""
    path = Path(out_dir) / DONE_FILE
    if not path.is_file():
        return False
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("config_fingerprint") == fingerprint
    except ValueError:
        return False
