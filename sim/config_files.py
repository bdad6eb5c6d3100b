"""Scenario and experiment files are data: they may not configure Hydra or name code.

Hydra lets any config file it composes set ``hydra.*``, and ``hydra.callbacks`` (or any
``_target_``) names a Python callable that Hydra instantiates before the run starts: a
scenario file could run any code. ``run.py`` therefore checks every YAML file of the
config folders (``conf/`` and a ``--config-dir``) before Hydra composes, except the
primary ``conf/config.yaml`` (the project's own, which registers the project's
callbacks) and Hydra's own groups (``hydra/``, chosen only on the command line). A file
may not hold:

- a ``_target_`` key, at any depth;
- ``hydra`` settings other than :data:`SAFE_HYDRA_KEYS` (``hydra.sweeper.params``:
  an experiment's sweep, e.g. conf/experiment/policy_compare.yaml), and no sweep
  parameter that is itself a ``hydra.*`` key;
- a ``# @package`` header that puts its content under ``hydra``;
- a defaults entry that selects a ``hydra/`` group or places a file under ``hydra``.

A refusal is the one-line config error naming the file and what it sets. What the user
types on the command line (``hydra.run.dir=...``, ``hydra/launcher=...``) stays allowed:
that is their explicit choice.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from sim.errors import ConfigError

#: The only ``hydra.*`` settings a config file other than the primary may make.
SAFE_HYDRA_KEYS = ("sweeper.params",)
#: Hydra's own config groups in a config folder: not data, selected on the command line.
HYDRA_GROUP = "hydra"
_PACKAGE = re.compile(r"^#\s*@package\s+(\S+)", re.MULTILINE)
ALLOWED = ("a data file: no _target_, no hydra settings except hydra.sweeper.params "
           "(an experiment's sweep); set Hydra options on the command line")


def check_config_dirs(dirs: list[Path], primary: Path) -> None:
    """Check every ``*.yaml`` under ``dirs`` (except ``primary`` and ``hydra/``); raise
    the one-line ConfigError for the first file that is not data."""
    primary = Path(primary).resolve()
    for folder in dirs:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.yaml")):
            rel = path.relative_to(folder)
            if path.resolve() == primary or rel.parts[0] == HYDRA_GROUP:
                continue
            check_file(path, rel.with_suffix("").as_posix(), at_root=len(rel.parts) == 1)


def check_group_choices(args: list[str], dirs: list[Path]) -> None:
    """Refuse a command-line choice of a config group (``scenario=...``, ``dispatch=...``)
    that is a path rather than a name (``..``, a leading ``/``): Hydra would load that
    file from outside the group's folder (``scenario=../experiment/x``)."""
    groups: dict[str, set[str]] = {}
    for folder in dirs:
        for sub in Path(folder).iterdir() if Path(folder).is_dir() else ():
            if sub.is_dir() and sub.name != HYDRA_GROUP:
                groups.setdefault(sub.name, set()).update(p.stem for p in sub.glob("*.yaml"))
    for arg in args:
        key, eq, value = arg.partition("=")
        group = key.lstrip("+~")
        if not eq or group not in groups:
            continue
        for choice in value.split(","):
            choice = choice.strip()
            if ".." in choice.replace("\\", "/").split("/") or choice.startswith(("/", "\\")):
                raise ConfigError(group, choice, "one of " + ", ".join(sorted(groups[group])))


def check_file(path: Path, name: str, at_root: bool = False) -> None:
    """Refuse config file ``path`` (``name``: group/option, for the message; ``at_root``:
    a file outside any group, whose default package is the root) if it sets what
    :mod:`sim.config_files` forbids. A file that is not readable YAML is left to Hydra,
    which reports it when it is used."""
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return
    header = _PACKAGE.search(text)
    package = header.group(1) if header else ""
    if _under_hydra(package):
        raise ConfigError(f"config file {name}", f"# @package {package}", ALLOWED)
    if not isinstance(data, dict):
        return
    target = _find_target(data, "")
    if target:
        raise ConfigError(f"config file {name}", target, ALLOWED)
    for entry in data.get("defaults") or []:
        text = str(entry) if not isinstance(entry, dict) else " ".join(f"{k}: {v}" for k, v in entry.items())
        if _selects_hydra(entry):
            raise ConfigError(f"config file {name}", f"defaults: {text}", ALLOWED)
    at_global = package == "_global_" or (at_root and package in ("", "_group_"))
    hydra = data.get(HYDRA_GROUP) if at_global else None
    if hydra is not None:
        for key in _leaves(hydra, "", SAFE_HYDRA_KEYS):
            raise ConfigError(f"config file {name}", f"hydra.{key}", ALLOWED)
        params = ((hydra.get("sweeper") or {}).get("params") or {}) if isinstance(hydra, dict) else {}
        for key in params if isinstance(params, dict) else ():
            if _under_hydra(str(key).lstrip("+~")) or "_target_" in str(key):
                raise ConfigError(f"config file {name}", f"hydra.sweeper.params.{key}", ALLOWED)


def _under_hydra(package: str) -> bool:
    """Does a package (``hydra``, ``_global_.hydra.callbacks``, ...) lie under ``hydra``?"""
    parts = [p for p in package.split(".") if p]
    if parts and parts[0] == "_global_":
        parts = parts[1:]
    return bool(parts) and parts[0] == HYDRA_GROUP


def _selects_hydra(entry) -> bool:
    """A defaults entry (``- /hydra/callbacks: x``, ``- /tickets@hydra: x``, ``override
    hydra/...``) that reaches into Hydra's own config."""
    items = entry.items() if isinstance(entry, dict) else [(entry, None)]
    for key, _ in items:
        key = str(key).replace("override ", "").replace("optional ", "").strip()
        group, _, package = key.partition("@")
        if group.strip("/").split("/")[0] == HYDRA_GROUP or _under_hydra(package):
            return True
    return False


def _find_target(node, path: str) -> str:
    """The dotted path of the first ``_target_`` key under ``node`` ('' if none)."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        sub = f"{path}.{key}" if path else str(key)
        if key == "_target_":
            return sub
        found = _find_target(value, sub)
        if found:
            return found
    return ""


def _leaves(node, path: str, allowed: tuple[str, ...]):
    """The keys under ``node`` (dotted, below ``hydra``) that are not within ``allowed``."""
    if any(path == a or path.startswith(a + ".") for a in allowed):
        return
    if isinstance(node, dict) and node:
        for key, value in node.items():
            sub = f"{path}.{key}" if path else str(key)
            if any(a == sub or a.startswith(sub + ".") or sub.startswith(a + ".") for a in allowed):
                yield from _leaves(value, sub, allowed)
            else:
                yield sub
    elif path:
        yield path
