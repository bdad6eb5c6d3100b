"""Read the named data files in ``scenarios/`` (profiles, rosters, category mixes).

Each file is YAML with the data under a fixed key and a ``source`` line saying where
the numbers come from (a DOMAIN.md figure or a named assumption).
"""
from __future__ import annotations

from pathlib import Path

import yaml

import hotline_sim
from sim.errors import ConfigError
from sim.names import plain_name

#: The shipped data files (the checkout's scenarios/, or the installed package's copy).
SCENARIOS_DIR = hotline_sim.SCENARIOS_DIR


def available(kind: str) -> list[str]:
    """Names of the data files of one kind (a sub-folder of ``scenarios/``)."""
    folder = SCENARIOS_DIR / kind
    return sorted(p.stem for p in folder.glob("*.yaml"))


def load_named(kind: str, name: str, key: str, field: str | tuple[str, ...], inline: str = "a list"):
    """Return ``(field, value)`` for the first of ``field`` present in
    ``scenarios/<kind>/<name>.yaml``; ``key`` names the config key that asked for it,
    for the error message, and ``inline`` what it could have given instead of a name."""
    fields = (field,) if isinstance(field, str) else field
    plain_name(name, key, f"scenarios/{kind}/", available(kind), inline=f"{inline}, or ")  # nothing outside it
    path = SCENARIOS_DIR / kind / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(key, name, f"{inline}, or a name from scenarios/{kind}/: {', '.join(available(kind))}")
    data = read_yaml(path, key, name, f"a file scenarios/{kind}/{name}.yaml")
    for f in fields:
        if isinstance(data, dict) and f in data:
            return f, data[f]
    raise ConfigError(key, name, f"a file scenarios/{kind}/{name}.yaml with a '{' or '.join(fields)}' entry")


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
