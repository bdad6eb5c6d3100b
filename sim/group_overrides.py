"""A config group chosen with a value that is not a name: one line, not Hydra's traceback.

``ranking=-1``, ``dispatch=1`` or ``accountability=null`` name a config group
(``conf/ranking/`` ...) with a number or null; Hydra raises a plain ``ValueError``
("Config group override must be a string or a list") while composing, which is not
one of its composition errors, so it printed a traceback. :func:`check_group_values`
looks at the command line before Hydra does and refuses such a choice with the
one-line :class:`~sim.errors.ConfigError` listing the options.
"""
from __future__ import annotations

from pathlib import Path

from sim.errors import ConfigError


def check_group_values(args: list[str], conf_dir: Path) -> None:
    """Raise :class:`ConfigError` for a command-line override that chooses an option of a
    config group of ``conf_dir`` (a sub-folder) with a value that is not a name or a
    list of names. Other arguments are left to Hydra."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    groups = {p.name for p in conf_dir.iterdir() if p.is_dir()}
    parser = OverridesParser.create()
    for arg in args:
        if arg.startswith("-") or "=" not in arg:
            continue
        try:
            override = parser.parse_override(arg)
            value = override.value()
        except Exception:  # noqa: BLE001 -- Hydra reports its own parse errors
            continue
        group = override.key_or_group
        if group not in groups or override.is_delete() or override.is_sweep_override():
            continue
        if not isinstance(value, (str, list, dict)) or (isinstance(value, list)
                                                        and not all(isinstance(v, str) for v in value)):
            options = sorted(p.stem for p in (conf_dir / group).glob("*.yaml"))
            raise ConfigError(group, value, "the name of one of " + ", ".join(options)
                              + f" (conf/{group}/)")
