"""Where the config and data files are, and the package's version, in every layout.

- a wheel (``pip install .``): ``site-packages/hotline_sim/conf`` and ``.../scenarios``,
  next to this file (package data, mapped from the repository's ``conf/`` and
  ``scenarios/`` by pyproject.toml);
- a checkout (``python run.py``) and an editable install (``pip install -e .``): the
  repository's own ``conf/`` and ``scenarios/``, one level up from this package.

The package's own folder wins when it holds them, so an installed tool never reads a
stray ``conf/`` beside site-packages; the checkout has no ``hotline_sim/conf``.
"""
from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

#: The distribution's name (pyproject.toml ``[project] name``).
DIST_NAME = "hotline-sim"
_HERE = Path(__file__).resolve().parent
_CHECKOUT = _HERE.parent


def _data_dir(name: str) -> Path:
    """``hotline_sim/<name>`` in an installed wheel, else the checkout's ``<name>/``."""
    inside = _HERE / name
    return inside if inside.is_dir() else _CHECKOUT / name


#: The Hydra config folder (``config.yaml`` and its groups).
CONF_DIR = _data_dir("conf")
#: The shipped named data files: ``profiles/``, ``rosters/``, ``category_mix/``, ``city/``.
SCENARIOS_DIR = _data_dir("scenarios")

_VERSION_LINE = re.compile(r'^version\s*=\s*"([^"]+)"\s*$', re.MULTILINE)
_NAME_LINE = re.compile(r'^name\s*=\s*"([^"]+)"\s*$', re.MULTILINE)


def checkout_version(pyproject: Path = _CHECKOUT / "pyproject.toml") -> str:
    """``[project] version`` of this checkout's pyproject.toml ("" when there is no
    pyproject.toml of hotline-sim beside the package, as in an installed wheel). Read with
    a regular expression: the file's two lines ``name = ...`` and ``version = ...`` of
    ``[project]`` (tomllib is Python 3.11+ only, and the project supports 3.10)."""
    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError:
        return ""
    project = text.split("[project]", 1)[-1].split("\n[", 1)[0] if "[project]" in text else ""
    name, version = _NAME_LINE.search(project), _VERSION_LINE.search(project)
    return version.group(1) if name and version and name.group(1) == DIST_NAME else ""


def package_version() -> str:
    """The version: the checkout's pyproject.toml (current even when an editable install's
    metadata is older), else the installed metadata, else "0+unknown"."""
    found = checkout_version()
    if found:
        return found
    try:
        return importlib.metadata.version(DIST_NAME)
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"
