"""Read the named data files in ``scenarios/`` (profiles, rosters, category mixes).

Each file is YAML with the data under a fixed key and a ``source`` line saying where
the numbers come from (a DOMAIN.md figure or a named assumption).

A planner's own files: the config key ``data_dir`` names a folder with the same
sub-folders (``<data_dir>/rosters/<name>.yaml``, ...), searched before the shipped
``scenarios/`` while a config is built (:func:`searching`, set by sim.config), so a
roster of one's own works with the installed tool without touching the package.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import yaml

import hotline_sim

from sim.errors import ConfigError
from sim.names import plain_name

#: The shipped data files (the checkout's scenarios/, or the installed package's copy).
SCENARIOS_DIR = hotline_sim.SCENARIOS_DIR
#: The kinds of named data file: sub-folders of ``scenarios/`` and of a ``data_dir``.
KINDS = ("profiles", "rosters", "category_mix", "city")
#: The user's ``data_dir`` while a config is built (None: the shipped files only).
_DATA_DIR: ContextVar[Path | None] = ContextVar("data_dir", default=None)


def data_dir_value(raw) -> Path | None:
    """The ``data_dir`` key: null, or the path of an existing folder (absolute, or
    relative to the working directory), returned absolute."""
    if raw is None:
        return None
    path = Path(raw).expanduser() if isinstance(raw, str) and raw.strip() else None
    if path is None or not path.is_dir():
        raise ConfigError("data_dir", raw, "null or the path of an existing folder holding your own data files "
                          "in sub-folders like scenarios/ (" + ", ".join(f"{k}/" for k in KINDS) + ")")
    return path.resolve()


@contextmanager
def searching(data_dir: Path | None):
    """Within this block, named data files are looked for in ``data_dir/<kind>/``
    first, then in ``scenarios/<kind>/``."""
    token = _DATA_DIR.set(data_dir)
    try:
        yield
    finally:
        _DATA_DIR.reset(token)


def user_folder(kind: str) -> Path | None:
    """``<data_dir>/<kind>`` of the config being built (None without a data_dir)."""
    data_dir = _DATA_DIR.get()
    return None if data_dir is None else data_dir / kind


def folders(kind: str, shipped: Path | None = None) -> list[Path]:
    """The folders searched for ``kind``, in order: the user's, then the shipped one
    (``shipped``: default ``SCENARIOS_DIR/<kind>``)."""
    user = user_folder(kind)
    return ([user] if user is not None else []) + [shipped if shipped is not None else SCENARIOS_DIR / kind]


def where(kind: str, shipped: Path | None = None) -> str:
    """The folders searched for ``kind``, for messages: ``/my/data/rosters/ or
    scenarios/rosters/``."""
    return " or ".join(label(f) + "/" for f in folders(kind, shipped))


def label(path: Path) -> str:
    """A path as messages show it: relative to the shipped scenarios (``scenarios/...``),
    else in full (a file of the user's data_dir)."""
    try:
        return "scenarios/" + Path(path).relative_to(SCENARIOS_DIR).as_posix()
    except ValueError:
        return Path(path).as_posix()


def available(kind: str) -> list[str]:
    """Names of the data files of one kind, in the user's data_dir and in ``scenarios/``."""
    return sorted({p.stem for folder in folders(kind) for p in folder.glob("*.yaml")})


def load_named(kind: str, name: str, key: str, field: str | tuple[str, ...], inline: str = "a list"):
    """Return ``(field, value)`` for the first of ``field`` present in
    ``scenarios/<kind>/<name>.yaml``; ``key`` names the config key that asked for it,
    for the error message, and ``inline`` what it could have given instead of a name."""
    fields = (field,) if isinstance(field, str) else field
    plain_name(name, key, where(kind), lambda: available(kind), inline=f"{inline}, or ")  # nothing outside it
    path = next((f / f"{name}.yaml" for f in folders(kind) if (f / f"{name}.yaml").is_file()), None)
    if path is None:
        raise ConfigError(key, name, f"{inline}, or a name from {where(kind)}: {', '.join(available(kind))}")
    data = read_yaml(path, key, name, f"a file {label(path)}")
    for f in fields:
        if isinstance(data, dict) and f in data:
            return f, data[f]
    raise ConfigError(key, name, f"a file {label(path)} with a '{' or '.join(fields)}' entry")


def read_yaml(path: Path, key: str, value, what: str):
    """The data of a YAML file, or a one-line :class:`ConfigError` naming the line when it
    is not UTF-8, not YAML or uses a tag such as ``!!python/object`` (safe_load refuses
    those). The file's text is not echoed."""
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except UnicodeDecodeError as err:
        raise ConfigError(key, value, f"{what} in UTF-8 (byte {err.start} is not)") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = " ".join(str(getattr(err, "problem", None) or "not readable").split())[:80]
        raise ConfigError(key, value, f"{what} in plain YAML ({problem}{where})") from None
    except RecursionError:  # nesting (``[[[[...]]]]``) deeper than Python's stack
        raise ConfigError(key, value, f"{what} in plain YAML (nested too deeply)") from None
