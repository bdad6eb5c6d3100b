"""A distribution given whole replaces the old one: Hydra composes configs by merging
mappings, so ``call_center.patience={dist: infinite}`` on top of
``{dist: lognormal, mean_min: 3, cv: 1}`` would leave ``mean_min`` and ``cv`` behind
(and the validator would refuse them); so would a scenario file that extends another
(``defaults: [beijing_2019, _self_]``) or a scenario that changes a distribution of
``conf/tickets/`` or ``conf/dispatch/``.

The design: Hydra composes as usual; then :func:`replace_whole_distributions` replays
the same sources in Hydra's own order (the defaults list Hydra computes for this config
name and these overrides, each file read raw, then the command-line overrides) and keeps,
for every mapping that has a ``dist`` key (a distribution), the *last one given whole*,
with any later partial edits merged into it (``call_center.patience.mean_min=5`` on the
command line, or ``patience: {mean_min: 5}`` in a file, still edit the distribution in
place). Those nodes are written over the composed config before it is resolved. Only
nodes with ``dist`` are touched; everything else is Hydra's merge, unchanged. Hydra's own
``hydra/*`` configs are not replayed (they hold no distributions).

On the command line Hydra refuses, before any of this, a mapping that brings a key the
old one lacks (``{dist: empirical, values_min: [...]}`` over a lognormal: "not in
struct"); :func:`force_add_distributions` therefore gives every command-line override
whose value is a distribution Hydra's ``++`` (add or merge, new keys allowed), and
``run.py`` applies it to ``sys.argv`` before Hydra parses it.

Changing only the type key (``call_center.patience.dist=infinite``) is a partial edit,
so the old parameters stay and the validator names them (with a hint to give the
distribution whole).
"""
from __future__ import annotations

import copy
from typing import Iterator

from omegaconf import DictConfig, OmegaConf, open_dict

Path = tuple[str, ...]


def replace_whole_distributions(cfg: DictConfig, config_name: str, overrides: list[str]) -> int:
    """Rewrite, in place, every distribution of the composed ``cfg`` as the last source
    (file in composition order, then the command line) gave it whole, plus later partial
    edits. ``config_name`` and ``overrides`` (the task overrides, e.g.
    ``HydraConfig.get().overrides.task``) must be those ``cfg`` was composed from, inside
    an initialised Hydra (``@hydra.main`` or ``initialize_config_dir``). Returns how
    many distributions differed from Hydra's merge (and were replaced)."""
    return sum(_set(cfg, path, node) for path, node in whole_distributions(config_name, overrides).items())


#: Hydra's command-line options that take the next argument as their value.
_OPTIONS_WITH_VALUE = {"--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd", "--package", "-p",
                       "--experimental-rerun"}


def force_add_distributions(args: list[str]) -> list[str]:
    """``args`` (a command line for Hydra) with ``++`` before each override whose value
    is a distribution mapping (or a sweep of them) and that has no ``+``/``++``/``~``
    of its own; everything else as given."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    out, skip_next = [], False
    for arg in args:
        if skip_next or arg.startswith("-") or "=" not in arg:
            skip_next = arg in _OPTIONS_WITH_VALUE
            out.append(arg)
            continue
        try:
            o = parser.parse_override(arg)
            value = o.value()
        except Exception:  # Hydra reports its own parse errors
            out.append(arg)
            continue
        items = getattr(value, "list", None) or [value]
        if (o.is_add() or o.is_force_add() or o.is_delete() or o.is_hydra_override()
                or not any(isinstance(i, dict) and "dist" in i for i in items)):
            out.append(arg)
        else:
            out.append("++" + arg)
    return out


def whole_distributions(config_name: str, overrides: list[str]) -> dict[Path, dict]:
    """Path -> the distribution mapping there, with whole-replacement semantics."""
    shadow: dict[Path, dict] = {}
    for source, depth in _sources(config_name, overrides):
        given = {p: node for p, node in _distribution_nodes(source) if len(p) >= depth}
        for path in list(shadow):
            if path in given or any(path[:len(p)] == p for p in given if len(p) < len(path)):
                del shadow[path]  # replaced (or an enclosing distribution was given whole)
                continue
            found, sub = _get(source, path)
            if not found:
                continue
            if isinstance(sub, dict):  # a partial edit: merged into the whole one
                shadow[path] = _merge(shadow[path], sub)
            else:  # no longer a mapping: leave it to Hydra's result (and the validator)
                del shadow[path]
        for path, node in given.items():
            shadow[path] = copy.deepcopy(node)
    return shadow


def _sources(config_name: str, overrides: list[str]) -> Iterator[tuple[dict, int]]:
    """The plain nested mappings Hydra merges, in its order: each config file of the
    defaults list (under its package), then each command-line value override; each with
    the depth from which a mapping in it is given whole (an override's key is a path:
    ``call_center.patience.dist=gamma`` edits one key of the distribution, while
    ``call_center.patience={dist: gamma, ...}`` gives it whole)."""
    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import RunMode

    loader = GlobalHydra.instance().config_loader()
    defaults = loader.compute_defaults_list(config_name, list(overrides), RunMode.RUN)
    for d in defaults.defaults:
        path = d.config_path
        if path is None or path == "hydra/config" or path.startswith("hydra/") or d.package.split(".")[0] == "hydra":
            continue
        loaded = loader.repository.load_config(config_path=path)
        if loaded is None or not OmegaConf.is_dict(loaded.config):
            continue
        raw = OmegaConf.to_container(loaded.config, resolve=False)
        raw.pop("defaults", None)
        yield _wrap(d.package, raw), 0
    for o in defaults.config_overrides:
        if o.is_delete():
            continue
        yield _wrap(o.key_or_group, o.value()), len(o.key_or_group.split("."))


def _wrap(package: str, value) -> dict:
    """``value`` placed at the dotted ``package`` ("" is the root)."""
    for key in reversed([k for k in package.split(".") if k]):
        value = {key: value}
    return value if isinstance(value, dict) else {}


def _distribution_nodes(node, path: Path = ()) -> Iterator[tuple[Path, dict]]:
    """Every mapping with a ``dist`` key, with its path (not looking inside one)."""
    if not isinstance(node, dict):
        return
    if "dist" in node:
        yield path, node
        return
    for key, value in node.items():
        yield from _distribution_nodes(value, path + (str(key),))


def _get(node, path: Path):
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return False, None
        node = node[key]
    return True, node


def _merge(base: dict, edit: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in edit.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _set(cfg: DictConfig, path: Path, node: dict) -> bool:
    """Write ``node`` at ``path`` if a mapping is there and differs; True if written."""
    parent = cfg
    for key in path[:-1]:
        if not OmegaConf.is_dict(parent) or key not in parent:
            return False
        parent = parent[key]
    old = parent.get(path[-1]) if OmegaConf.is_dict(parent) else None
    if not OmegaConf.is_dict(old) or OmegaConf.to_container(old, resolve=False) == node:
        return False
    with open_dict(cfg):
        parent[path[-1]] = node
    return True
