"""Same seed and config, same bytes: compare two run directories file by file.

Every file a run writes is byte-identical in another run of the same seed and config
(any executor, any number of workers, any ``PYTHONHASHSEED``), apart from the fields in
:data:`VARYING`, which say when, how long and where, not what:

- ``run.log``: the whole file (time stamps and durations on every line);
- ``summary.json``: ``wall_time_s``;
- the run's own folder (its output path) and the folder it was started from, wherever
  they appear (``.hydra/hydra.yaml``: ``hydra.run.dir``, ``runtime.output_dir``,
  ``runtime.cwd``, the config search path; ``report.html``: the outputs line);
- in a sweep (``-m``), each job's ``run.log`` and ``summary.json`` as above. The sweep's
  ``report.html`` is titled with the sweep folder's name (and embeds the font glyphs its
  text uses), so two sweeps compare byte for byte when their folders have the same name.

:func:`differing_files` masks exactly those and lists what still differs;
``python -m analysis.reproducible RUN_A RUN_B`` prints it (exit 1 if anything differs).
tests/test_reproducible.py runs the same config twice and expects nothing.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

#: Files left out whole (by name, in any sub-folder): they record when and how long, line by line.
UNCOMPARED = ("run.log",)
#: JSON files and the top-level keys in them that vary between identical runs.
VARYING_JSON_KEYS = {"summary.json": ("wall_time_s",)}
#: Placeholders for the paths masked in text files.
RUN_DIR_MASK, CWD_MASK = b"<RUN_DIR>", b"<CWD>"
#: The stated list (README, "Reproducible outputs").
VARYING = {"run.log": "the whole file (time stamps, durations)", "summary.json": "wall_time_s",
           "any text file": "the run's output path and the folder it was started from"}


def masked(path: Path, run_dir: Path, cwd: Path | None = None) -> bytes:
    """The bytes of ``path`` (a file of ``run_dir``) with the varying fields masked."""
    data = path.read_bytes()
    keys = VARYING_JSON_KEYS.get(path.name)
    if keys:
        obj = json.loads(data.decode("utf-8"))
        for key in keys:
            if key in obj:
                obj[key] = "<varies>"
        data = json.dumps(obj, sort_keys=True).encode("utf-8")
    for where, mask in ((run_dir, RUN_DIR_MASK), (cwd, CWD_MASK)):
        if where is not None:
            data = data.replace(str(where.resolve()).encode("utf-8"), mask).replace(str(where).encode("utf-8"), mask)
    return data


def run_files(run_dir: Path) -> set[str]:
    """The run's files by relative path, those left out whole excepted."""
    return {p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file() and p.name not in UNCOMPARED}


def differing_files(a: Path, b: Path, cwd_a: Path | None = None, cwd_b: Path | None = None) -> list[str]:
    """Relative paths that are in only one of the run directories ``a`` and ``b``, or
    whose bytes differ once the varying fields are masked (sorted)."""
    files_a, files_b = run_files(a), run_files(b)
    differ = {rel for rel in files_a & files_b if masked(a / rel, a, cwd_a) != masked(b / rel, b, cwd_b)}
    return sorted((files_a ^ files_b) | differ)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Compare two run directories byte for byte, apart from the fields "
                                             "that say when, how long and where (analysis/reproducible.py).")
    ap.add_argument("run_a", type=Path)
    ap.add_argument("run_b", type=Path)
    args = ap.parse_args(argv)
    for d in (args.run_a, args.run_b):
        if not d.is_dir():
            print(f"not a run directory: {d}", file=sys.stderr)
            return 2
    diff = differing_files(args.run_a, args.run_b, Path.cwd(), Path.cwd())
    for rel in diff:
        print(f"differs: {rel}")
    if not diff:
        print(f"identical: {len(run_files(args.run_a))} files, apart from "
              + "; ".join(f"{where}: {what}" for where, what in VARYING.items()))
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
