"""Run-directory bookkeeping: is this output folder a finished run of this config?

A run (or a sweep job) writes ``run_complete.json`` last, atomically, holding a
fingerprint of the config; re-running the same command finds finished folders by it
and skips them, so an interrupted sweep finishes only what is missing.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
from pathlib import Path

from analysis.io import write_json_atomic

#: Config keys that do not change a run's results (where it runs, what a sweep is called,
#: which charts and whether a report are drawn from them).
NOT_RESULT_KEYS = ("executor", "sweep_name", "charts", "report")


#: What the model's results depend on besides the config: its code and its data files.
MODEL_DIRS = ("sim", "scenarios")
PACKAGE = "hotline-sim"


def config_fingerprint(raw: dict) -> str:
    """A hash of everything that can change the results: the composed config and the
    model's version (:func:`model_version`), so that re-running a sweep after the
    model changed simulates again instead of skipping its finished jobs."""
    relevant = {k: v for k, v in raw.items() if k not in NOT_RESULT_KEYS}
    relevant["_model_version"] = model_version()
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def model_version() -> str:
    """The package version and a hash of the model's code and data (every file under
    ``sim/`` and ``scenarios/``, by relative path and content): ``0.1.0+<hash>``."""
    try:
        version = importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return f"{version}+{tree_hash(Path(__file__).resolve().parent.parent, MODEL_DIRS)}"


def tree_hash(root: Path, folders) -> str:
    """A hash of every file under ``root/<folder>`` (relative path and content;
    byte-code caches left out)."""
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


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
