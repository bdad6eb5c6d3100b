"""Reading what a run or a sweep directory already holds: ``summary.json``, the CSV
tables, ``.hydra/`` (composed config, Hydra's runtime section, task overrides), the
charts with their captions, the sweep table. A file that is missing or unreadable
reads as empty: the report says what is absent instead of failing."""
from __future__ import annotations

import csv
from pathlib import Path

from analysis.io import CSV_ENCODING
from analysis.rundir import get, hydra_files, read_csv, read_json, read_yaml  # noqa: F401 (re-exported)
from analysis.rundir import package_version as version  # noqa: F401 (re-exported)
from analysis.report.formatting import humanise
from analysis.report.vocabulary import (CAPTIONS_FILE, CHART_DEFAULT_CAPTION, CHART_HEADINGS, CHART_KEYWORDS,
                                        KPI_INFO, SWEEP_FILE)
from analysis.sweep_table import aggregate


# ------------------------------------------------------------------ run metadata
#: (composed config, Hydra's runtime section, task overrides) of a run.
hydra = hydra_files


def conf_dir(hyd: dict) -> Path:
    """The repository's conf/ the run was composed from (fallback: this package's)."""
    for src in get(hyd, "runtime.config_sources", []) or []:
        if isinstance(src, dict) and src.get("provider") == "main" and src.get("schema") == "file":
            path = Path(str(src.get("path", "")))
            if path.is_dir():
                return path
    return Path(__file__).resolve().parents[2] / "conf"


def config_dirs(hyd: dict) -> list[Path]:
    """The folders a run's config was composed from, in Hydra's search order (the first
    that has a file wins): the repository's conf/, then any ``--config-dir`` (a user's
    own scenario folder), as ``.hydra/hydra.yaml`` records them in
    ``runtime.config_sources``; the package's conf/ when none is recorded."""
    dirs = []
    for src in get(hyd, "runtime.config_sources", []) or []:
        if isinstance(src, dict) and src.get("schema") == "file" and src.get("path"):
            path = Path(str(src["path"]))
            if path.is_dir() and path not in dirs:
                dirs.append(path)
    main = conf_dir(hyd)
    return dirs if main in dirs else [main, *dirs]


def launch_options(hyd: dict) -> list[str]:
    """The Hydra options a run was started with that its overrides do not record:
    ``--config-dir DIR`` for each folder added to the search path (provider
    ``command-line``) and ``--config-name NAME`` when the primary config was not ``config``."""
    opts = []
    for src in get(hyd, "runtime.config_sources", []) or []:
        if isinstance(src, dict) and src.get("provider") == "command-line" and src.get("schema") == "file":
            opts += ["--config-dir", str(src.get("path", ""))]
    name = get(hyd, "job.config_name")
    if name and name != "config":
        opts += ["--config-name", str(name)]
    return opts


def data_files(run_dir: Path) -> list[str]:
    """The data files of a run (or sweep) directory, by name (not the completion marker)."""
    return sorted(p.name for p in Path(run_dir).iterdir()
                  if p.is_file() and p.suffix in (".csv", ".json", ".parquet") and not p.name.startswith(".")
                  and p.name != "run_complete.json")


# ------------------------------------------------------------------ charts
def chart_entries(chart_dir: Path) -> list[dict]:
    """The PNG charts of a folder: ``name, title, title_zh, caption, data`` (bytes),
    ``svg`` (a vector version exists); in the order of ``captions.json``, then by name."""
    chart_dir = Path(chart_dir)
    if not chart_dir.is_dir():
        return []
    captions = read_json(chart_dir / CAPTIONS_FILE)
    order = {name: i for i, name in enumerate(captions)}
    out = []
    for png in sorted(chart_dir.glob("*.png"), key=lambda p: (order.get(p.stem, len(order)), p.stem)):
        data = png.read_bytes()
        if not data.startswith(b"\x89PNG\r\n\x1a\n"):
            continue
        given = captions.get(png.stem, {}) if isinstance(captions.get(png.stem), dict) else {}
        # the PNG's own text only when captions.json lacks a title or caption: Pillow
        # decodes the whole image to find it (~30 ms a chart)
        meta = {} if given.get("title") and given.get("caption") else _png_text(png)
        title = given.get("title") or meta.get("Title") or humanise(png.stem)
        caption = given.get("caption") or meta.get("Description") or _keyword_caption(png.stem)
        out.append({"name": png.stem, "heading": _chart_heading(png.stem), "title": str(title),
                    "title_zh": str(given.get("title_zh") or ""),
                    "caption": str(caption), "data": data, "svg": png.with_suffix(".svg").is_file()})
    return out


def skipped_charts(chart_dir: Path) -> dict[str, str]:
    """Charts the chart module did not draw, with the reason (``captions.json`` ``_skipped``)."""
    skipped = read_json(Path(chart_dir) / CAPTIONS_FILE).get("_skipped")
    return {str(k): str(v) for k, v in skipped.items()} if isinstance(skipped, dict) else {}


def _chart_heading(stem: str) -> str:
    if stem in CHART_HEADINGS:
        return CHART_HEADINGS[stem]
    if stem.startswith("sweep_") and stem[6:] in KPI_INFO:
        _, label, zh, *_ = KPI_INFO[stem[6:]]
        return f"{label} across the sweep" + (f" {zh}" if zh else "")
    return humanise(stem)


def _png_text(path: Path) -> dict:
    try:
        from PIL import Image
        with Image.open(path) as im:
            return {k: v for k, v in getattr(im, "text", {}).items() if isinstance(v, str)}
    except Exception:  # noqa: BLE001 - no Pillow or unreadable: no metadata
        return {}


def _keyword_caption(stem: str) -> str:
    low = stem.lower()
    return next((caption for word, caption in CHART_KEYWORDS if word in low), CHART_DEFAULT_CAPTION)


# ------------------------------------------------------------------ sweep
def sweep_table(sweep_dir: Path) -> tuple[list[str], list[dict]]:
    """The sweep table (``sweep_summary.csv``) as header and rows of text; without the
    file, aggregated in memory from the jobs (:func:`analysis.sweep_table.aggregate`)."""
    path = Path(sweep_dir) / SWEEP_FILE
    if path.is_file():
        with path.open(encoding=CSV_ENCODING, newline="") as fh:
            reader = csv.DictReader(fh)
            return list(reader.fieldnames or []), list(reader)
    header, rows = aggregate(sweep_dir)
    return header, [dict(zip(header, ("" if v is None else str(v) for v in r))) for r in rows]
