"""Run directories: reading what one holds, and is it a finished run of this config?

Reading (the one reader the charts, the report and the sweep table use): ``summary.json``
and other JSON, the CSV tables, and what Hydra kept in ``.hydra/`` (the composed
config, its runtime section, the task overrides). A file that is missing or unreadable
reads as empty, so a reader can say what is absent instead of failing.

Bookkeeping: a run (or a sweep job) writes ``run_complete.json`` last, atomically,
holding a fingerprint of the config and the model's version; re-running the same
command finds finished folders by it and skips them, so an interrupted sweep finishes
only what is missing.
"""
from __future__ import annotations

import csv
import functools
import hashlib
import json
from pathlib import Path

import yaml

import hotline_sim
from analysis.io import CSV_ENCODING, write_json_atomic
# the sub-folders of a user's ``data_dir`` the model reads: the model's own list
from sim.scenario_data import KINDS as DATA_DIR_KINDS

#: Config keys that do not change a run's results (where it runs, what a sweep is called,
#: which charts and whether a report are drawn from them, what a comparison calls practical).
NOT_RESULT_KEYS = ("executor", "sweep_name", "charts", "report", "comparison", "max_memory_gb")


#: What the model's results depend on besides the config: its code and its data files.
MODEL_DIRS = ("sim", "scenarios")
PACKAGE = hotline_sim.paths.DIST_NAME


def config_fingerprint(raw: dict) -> str:
    """A hash of everything that can change the results: the composed config, the
    model's version (:func:`model_version`), so that re-running a sweep after the
    model changed simulates again instead of skipping its finished jobs, and the content
    of the user's ``data_dir`` (its data sub-folders: an edited roster there is a new run)."""
    relevant = {k: v for k, v in raw.items() if k not in NOT_RESULT_KEYS}
    relevant["_model_version"] = model_version()
    if isinstance(raw.get("data_dir"), str):
        relevant["_data_dir"] = data_dir_hash(Path(raw["data_dir"]).expanduser())
    return hashlib.sha256(json.dumps(_text_keys(relevant), sort_keys=True, default=str).encode()).hexdigest()[:16]


def _text_keys(value):
    """``value`` with every mapping key as text: a mapping may mix names and numbers as
    keys (``streets.capacity.district_factor: {Chaoyang: 1.2, 110119: 0.67}``), which JSON
    cannot sort."""
    if isinstance(value, dict):
        return {str(k): _text_keys(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_text_keys(v) for v in value]
    return value


@functools.lru_cache(maxsize=1)
def model_version() -> str:
    """The package version and a hash of the model's code and data (every file under
    ``sim/`` and ``scenarios/``, by relative path and content): ``0.1.0+<hash>``. The
    folders are found where they are (a checkout, or an installed wheel, whose
    ``scenarios/`` is ``hotline_sim/scenarios``) and hashed under the same names."""
    import sim

    folders = {"sim": Path(sim.__file__).resolve().parent, "scenarios": hotline_sim.SCENARIOS_DIR}
    return f"{package_version() or 'unknown'}+{folders_hash(folders)}"


def package_version() -> str:
    """This package's version (hotline_sim.__version__)."""
    return hotline_sim.__version__


def tree_hash(root: Path, folders) -> str:
    """A hash of every file under ``root/<folder>`` (relative path and content;
    byte-code caches left out)."""
    return folders_hash({folder: Path(root) / folder for folder in folders})


def data_dir_hash(data_dir: Path) -> str:
    """A hash of the data files in a user's ``data_dir`` (its sub-folders the model
    reads, :data:`DATA_DIR_KINDS`; a folder that is missing hashes as empty)."""
    return folders_hash({kind: Path(data_dir) / kind for kind in DATA_DIR_KINDS})


def folders_hash(folders: dict[str, Path]) -> str:
    """A hash of every file under each ``folders[name]``, by ``name/<path inside>`` and
    content (byte-code caches left out), so the same files hash the same wherever the
    folders are."""
    digest = hashlib.sha256()
    for name, folder in folders.items():
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                rel = f"{name}/{path.relative_to(folder).as_posix()}"
                digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


#: The files of a run directory (and a sweep's), named once: the modules that write
#: them and those that read them import these.
DONE_FILE = "run_complete.json"
SUMMARY_FILE = "summary.json"
HOURLY_FILE = "hourly.csv"
STREETS_MONTHLY_FILE = "streets_monthly.csv"
DISTRICTS_MONTHLY_FILE = "districts_monthly.csv"
CITY_MONTHLY_FILE = "city_monthly.csv"
RANKINGS_FILE = "rankings.csv"
ROBUSTNESS_FILE = "robustness.csv"
FUNNEL_FILE = "funnel.csv"
LEAD_TIMES_FILE = "lead_times.csv"
BACKLOG_TREND_FILE = "backlog_trend.csv"
COMPARISON_FILE = "comparison.csv"
CHARTS_DIR = "charts"
CAPTIONS_FILE = "captions.json"
REPORT_FILE = "report.html"
RECORDS_DIR = "records"
SWEEP_FILE = "sweep_summary.csv"


# ------------------------------------------------------------------ reading
def read_json(path: Path) -> dict:
    """A JSON file's content ({} if missing or unreadable)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


#: PyYAML's C loader when it was built with libyaml (same results as the safe loader, ~10x
#: faster on Hydra's config files, which the charts and report read for every run).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path):
    """A YAML file's content (None if missing or unreadable)."""
    try:
        return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except (OSError, yaml.YAMLError):
        return None


def read_csv(path: Path) -> list[dict]:
    """Rows of a CSV table as dicts, all values strings ([] if missing); the BOM of the
    project's CSV files (UTF-8 with BOM) is dropped, a file without one reads the same."""
    try:
        with Path(path).open(encoding=CSV_ENCODING, newline="") as fh:
            return list(csv.DictReader(fh))
    except OSError:
        return []


def get(cfg, dotted: str, default=None):
    """``cfg["a"]["b"]`` for ``"a.b"``; ``default`` if any step is missing."""
    node = cfg
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def hydra_files(run_dir: Path) -> tuple[dict, dict, list[str]]:
    """(composed config, hydra.yaml's ``hydra`` section, task overrides) of a run, as
    Hydra kept them in ``.hydra/`` (empty where absent)."""
    hdir = Path(run_dir) / ".hydra"
    cfg = read_yaml(hdir / "config.yaml") or {}
    hyd = (read_yaml(hdir / "hydra.yaml") or {}).get("hydra", {}) or {}
    overrides = read_yaml(hdir / "overrides.yaml")
    if overrides is None:
        overrides = get(hyd, "overrides.task", []) or []
    return cfg, hyd, [str(o) for o in overrides]


# ------------------------------------------------------------------ bookkeeping


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
