"""A run refused by validation leaves no directory behind.

Hydra creates the run directory (and writes ``.hydra/`` and opens ``run.log``) before
``run.py``'s ``main`` sees the config, so a run that ``main`` refuses (exit 2) would leave
an empty-looking folder in ``outputs/`` or ``multirun/``. The Hydra callback
:class:`NoteNewDirs` (registered in ``conf/config.yaml``) notes, before Hydra creates
anything, which folders do not exist yet; :func:`remove_if_new` then removes a refused
run's folder only if

- this run created it (it did not exist when the run started; for a sweep job, the sweep
  folder had no sub-folder of that name), and
- it holds nothing but what Hydra wrote (``.hydra/`` with its three files, ``run.log``),

so a user's earlier outputs are never touched. A sweep folder this sweep created is
removed too when the refused job was its only content (besides ``multirun.yaml``).
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

try:
    from hydra.experimental.callback import Callback
except ImportError:  # pragma: no cover - hydra is a dependency
    Callback = object

#: What Hydra writes in a run folder before the run's own code starts: ``.hydra/`` and
#: the job's log (``run.log``: ``<job name>.log``).
HYDRA_DIR, LOG_SUFFIX = ".hydra", ".log"
HYDRA_FILES = {"config.yaml", "hydra.yaml", "overrides.yaml"}
#: What Hydra writes in a sweep folder before its jobs.
SWEEP_ENTRIES = {"multirun.yaml"}

#: Noted by :class:`NoteNewDirs` in this process: the run folder that did not exist yet
#: (a plain run), or the sweep folder, whether it existed, and its sub-folders then; and
#: the outermost folder that did not exist (``outputs/`` on a first run), up to which
#: the empty folders left are removed too.
_new_run_dir: Path | None = None
_sweep: tuple[Path, bool, frozenset[str]] | None = None
_new_top: Path | None = None


class NoteNewDirs(Callback):
    """Hydra callback: note which output folders this run will create."""

    def on_run_start(self, config, **kwargs) -> None:
        global _new_run_dir
        from hydra.core.hydra_config import HydraConfig

        try:
            HydraConfig.instance().set_config(config)  # the run dir's ${hydra:...} resolves (run_job sets it again)
            path = Path(str(config.hydra.run.dir)).absolute()
        except Exception:  # noqa: BLE001 -- unknown: nothing will be removed
            return
        _new_run_dir = None if path.exists() else path
        _note_new_top(path)

    def on_multirun_start(self, config, **kwargs) -> None:
        global _sweep
        try:
            path = Path(str(config.hydra.sweep.dir)).absolute()
        except Exception:  # noqa: BLE001 -- a bad sweep_name is refused by Hydra's own resolution
            return
        existing = frozenset(p.name for p in path.iterdir()) if path.is_dir() else frozenset()
        _sweep = (path, path.exists(), existing)
        _note_new_top(path)


def _note_new_top(path: Path) -> None:
    """Note the outermost folder of ``path`` that does not exist yet (None if all do)."""
    global _new_top
    _new_top = None
    for folder in (path, *path.parents):
        if folder.exists():
            return
        _new_top = folder


def remove_if_new(out_dir: Path) -> bool:
    """Remove the refused run's folder ``out_dir`` if this run created it and it holds
    only Hydra's files (and, for the first job of a new sweep, the sweep folder); True if
    removed."""
    out_dir = Path(out_dir).absolute()
    if out_dir == _new_run_dir:
        created = True
    elif _sweep is not None and out_dir.parent == _sweep[0]:
        created = out_dir.name not in _sweep[2]
    else:
        created = False
    if not created or not _only_hydra_files(out_dir):
        return False
    _close_log_files(out_dir)
    shutil.rmtree(out_dir, ignore_errors=True)
    folder = out_dir.parent
    if _sweep is not None and folder == _sweep[0] and not _sweep[1]:
        if folder.is_dir() and {p.name for p in folder.iterdir()} <= SWEEP_ENTRIES:
            shutil.rmtree(folder, ignore_errors=True)
    if _new_top is not None:  # the empty folders this run created above it (outputs/<scenario>/, ...)
        while folder != _new_top.parent and (folder == _new_top or _new_top in folder.parents):
            if folder.is_dir() and any(folder.iterdir()):
                break
            if folder.is_dir():
                folder.rmdir()
            folder = folder.parent
    return not out_dir.exists()


def _only_hydra_files(out_dir: Path) -> bool:
    """Does ``out_dir`` hold only ``.hydra/`` (its three files) and ``run.log``?"""
    if not out_dir.is_dir():
        return False
    if any(p.name != HYDRA_DIR and not (p.name.endswith(LOG_SUFFIX) and p.is_file()) for p in out_dir.iterdir()):
        return False
    hydra_dir = out_dir / HYDRA_DIR
    if not hydra_dir.exists():
        return True
    return hydra_dir.is_dir() and all(p.name in HYDRA_FILES and p.is_file() for p in hydra_dir.iterdir())


def _close_log_files(out_dir: Path) -> None:
    """Close the logging handlers writing into ``out_dir`` (run.log), so it can go."""
    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        for handler in list(getattr(logger, "handlers", ())):
            name = getattr(handler, "baseFilename", None)
            if name and Path(name).absolute().parent == out_dir:
                handler.close()
                logger.removeHandler(handler)
