"""Names that become paths: data-file names and run folder names stay inside their folders.

Two kinds of text from a config end up in a file system path:

- the name of a data file (``arrivals.intraday_profile``, ``call_center.roster``,
  ``arrivals.category_mix``, ``city.table``, ...): read from ``scenarios/<kind>/``. It
  must be a plain name (:func:`plain_name`): no ``/``, ``\\``, ``..``, no absolute path,
  not empty, else the one-line config error listing the names that exist;
- the name of a run or sweep folder (``sweep_name``, the job folder a sweep names by its
  overrides, ``description`` among them, and the scenario's name in ``outputs/``): the
  resolvers registered by :func:`register_resolvers` refuse a ``sweep_name`` that is not a
  plain name and turn the other names into one folder name each (:func:`folder_name`),
  so nothing a config sets puts a run outside ``outputs/`` or ``multirun/``.
  ``hydra.run.dir`` / ``hydra.sweep.dir`` given on the command line stay the user's choice.
"""
from __future__ import annotations

import hashlib
import re
from typing import Callable

from sim.errors import ConfigError

#: What a plain name may not hold: a path separator of any platform, or a NUL.
_SEPARATORS = re.compile(r"[/\\\x00]")
#: A Windows drive ("C:") makes a name absolute there.
_DRIVE = re.compile(r"^[A-Za-z]:")
#: Longest folder name written (bytes, UTF-8): file systems allow 255; the rest is the
#: room for a hash that keeps long names distinct.
MAX_FOLDER_BYTES = 200
#: Hex digits of the hash that ends a shortened folder name.
HASH_DIGITS = 12


def is_plain(name) -> bool:
    """True for a non-empty string that names a file inside one folder: no separator,
    not ``.`` or ``..``, no leading ``..``, no drive letter."""
    return (isinstance(name, str) and name.strip() != "" and not _SEPARATORS.search(name)
            and name not in (".", "..") and not name.startswith("..") and not _DRIVE.match(name))


def plain_name(name, key: str, where: str, existing: Callable[[], list[str]], inline: str = "") -> str:
    """``name`` if it is plain (:func:`is_plain`), else a one-line ConfigError for
    ``key`` listing the names ``existing()`` gives of folder ``where`` (listed only for
    the error; ``inline``: what the key accepts besides a name, e.g. "a list, or ")."""
    if not is_plain(name):
        raise ConfigError(key, name, f"{inline}a plain name (no /, \\, .., not a path) of a file in {where}: "
                          + (", ".join(existing()) or "none"))
    return name


def folder_name(text) -> str:
    """``text`` as one folder name: separators become ``_``, ``.``/``..``/empty become
    ``_``, and a name longer than :data:`MAX_FOLDER_BYTES` is cut and ends with a hash of
    the whole (so two long names stay apart). A name that is already safe is unchanged,
    so existing sweep folders keep their names."""
    text = str(text)  # None as an interpolation shows it ("None"), as before
    safe = _SEPARATORS.sub("_", text)
    if safe in ("", ".", ".."):
        safe = "_"
    if len(safe.encode("utf-8")) > MAX_FOLDER_BYTES:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_DIGITS]
        cut = safe.encode("utf-8")[: MAX_FOLDER_BYTES - HASH_DIGITS - 1].decode("utf-8", "ignore")
        safe = f"{cut}_{digest}"
    return safe


def sweep_name(name) -> str:
    """The ``sweep_name`` resolver: a plain name, or the one-line config error."""
    if not is_plain(str(name)) or len(str(name).encode("utf-8")) > MAX_FOLDER_BYTES:
        raise ConfigError("sweep_name", name, f"a plain folder name for multirun/<sweep_name>/ (no /, \\, .., "
                          f"at most {MAX_FOLDER_BYTES} bytes), e.g. sweep_name=seats_study")
    return str(name)


#: The resolvers conf/config.yaml uses in ``hydra.run.dir`` and ``hydra.sweep.*``.
RESOLVERS = {"folder_name": folder_name, "plain_sweep_name": sweep_name}


def register_resolvers() -> None:
    """Register :data:`RESOLVERS` with OmegaConf (once; again is harmless)."""
    from omegaconf import OmegaConf

    for name, func in RESOLVERS.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, func)
