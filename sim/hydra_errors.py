"""Hydra's and OmegaConf's own errors as the one-line :class:`~sim.errors.ConfigError`.

Hydra composes the config before ``run.py``'s ``main`` runs and prints its errors in
several lines (exit 1). ``run.py`` lets them propagate (``HYDRA_FULL_ERROR``) and turns
those listed in :data:`COMPOSITION_ERRORS` into one line here: the key, the value and
what is allowed (exit 2).
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml
from hydra.errors import HydraException, MissingConfigException, OverrideParseException
from omegaconf import OmegaConf
from omegaconf.errors import GrammarParseError, InterpolationResolutionError, MissingMandatoryValue

from sim.errors import ConfigError

#: What a bad command line or a bad config file raises while Hydra composes (or while
#: run.py resolves interpolations): all mean bad input, never a bug of the model.
COMPOSITION_ERRORS = (HydraException, yaml.YAMLError, InterpolationResolutionError, MissingMandatoryValue,
                      GrammarParseError)

_QUOTED = re.compile(r"'([^']*)'")


def as_config_error(err: BaseException, overrides: list[str], conf_dir: Path) -> ConfigError:
    """The one-line error for one of :data:`COMPOSITION_ERRORS`. ``overrides``: the
    command line's arguments (to find the value given), ``conf_dir``: the primary
    config folder (to name a bad file by its group)."""
    if isinstance(err, ConfigError):
        return err
    inner = _config_error_within(err)  # one of ours, raised by a resolver (sim.names) while Hydra resolved
    if inner is not None:
        return inner
    if isinstance(err, OverrideParseException):
        key, _, value = err.override.partition("=")
        return ConfigError(key.lstrip("+~") or err.override, value, "a value in Hydra's override grammar "
                           "(quote text with spaces or special characters: key='a value')")
    if isinstance(err, MissingConfigException):
        group, _, name = str(err.missing_cfg_file or "").rpartition("/")
        options = ", ".join(sorted(err.options or ())) or "none"
        if group:
            return ConfigError(group.replace("/", "."), name, f"one of {options}")
        return ConfigError("config", err.missing_cfg_file, f"an existing config file ({_first_line(err)})")
    if isinstance(err, yaml.YAMLError):
        return _yaml_error(err, conf_dir)
    if isinstance(err, (InterpolationResolutionError, MissingMandatoryValue, GrammarParseError)):
        key = getattr(err, "full_key", None) or "config"
        value = _given(overrides, key)
        if isinstance(err, MissingMandatoryValue):
            return ConfigError(key, value or "???", "a value (it is required)")
        cause = getattr(err, "msg", None) or _first_line(err)
        return ConfigError(key, value, f"an interpolation that resolves ({_short(cause)})")
    # ConfigCompositionException and the rest: the cause names the key
    cause = err.__cause__
    if isinstance(cause, yaml.YAMLError):
        return _yaml_error(cause, conf_dir)
    key = getattr(cause, "full_key", None) or _quoted_key(err)
    if not key:
        return ConfigError("config", "?", _short(_first_line(err)))
    value = _given(overrides, key)
    text = str(err)
    if "not in struct" in str(cause) or "Could not override" in text or "Could not append" in text:
        parent = key.rpartition(".")[0]
        known = _known_keys(conf_dir, parent)
        where = f" under {parent}" if parent else ""
        return ConfigError(key, value, f"a key of the config{where}" + (f" ({', '.join(known)})" if known else "")
                           + f"; a new key needs a + (+{key}=...)")
    problem = str(getattr(cause, "msg", None) or _first_line(cause or err))
    return ConfigError(key, value, f"a valid value ({_short(problem)})")


def _config_error_within(err: BaseException) -> ConfigError | None:
    """The :class:`ConfigError` that caused ``err`` (its cause or context chain), if any."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, ConfigError):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


def resolve(cfg) -> dict:
    """``OmegaConf.to_container(cfg, resolve=True)``; an interpolation that fails
    (``seed='${oc.env:NOPE}'``) is a one-line ConfigError naming its key."""
    try:
        return OmegaConf.to_container(cfg, resolve=True)
    except (InterpolationResolutionError, MissingMandatoryValue, GrammarParseError) as err:
        key, value = _failing_interpolation(cfg)
        cause = _short(getattr(err, "msg", None) or _first_line(err))
        raise ConfigError(key, value, f"an interpolation that resolves ({cause})") from None


def _failing_interpolation(cfg, prefix: str = "") -> tuple[str, object]:
    """The first key of ``cfg`` whose interpolation fails, with its text."""
    raw = OmegaConf.to_container(cfg, resolve=False) if not isinstance(cfg, (dict, list)) else cfg
    stack = [(prefix, raw)]
    while stack:
        path, node = stack.pop(0)
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in items:
            sub = f"{path}[{k}]" if isinstance(node, list) else (f"{path}.{k}" if path else str(k))
            if isinstance(v, (dict, list)):
                stack.append((sub, v))
            elif isinstance(v, str) and ("${" in v or v == "???"):
                try:
                    OmegaConf.select(cfg, sub, throw_on_resolution_failure=True, throw_on_missing=True)
                except Exception:  # noqa: BLE001 -- this is the one that fails
                    return sub, v
    return "config", "an interpolation"


def _yaml_error(err: yaml.YAMLError, conf_dir: Path) -> ConfigError:
    mark = getattr(err, "problem_mark", None)
    path = Path(mark.name) if mark is not None and mark.name else None
    where = f" at line {mark.line + 1}" if mark is not None else ""
    problem = _short(str(getattr(err, "problem", None) or "not readable"))
    if path is None:
        return ConfigError("config", "a file", f"plain YAML ({problem}{where})")
    try:
        rel = path.resolve().relative_to(conf_dir.resolve())
        group = ".".join(rel.parent.parts)
    except ValueError:  # a file of another --config-dir
        group = path.parent.name
    return ConfigError(group or "config", path.stem, f"a config file {path.name} in plain YAML (no tabs, no "
                       f"duplicate keys): {problem}{where}")


def _given(overrides: list[str], key: str):
    """The value ``key`` (or the nearest of its parents) was given on the command line
    (None if none was)."""
    given = {k.lstrip("+~"): v for k, eq, v in (a.partition("=") for a in overrides) if eq}
    while key:
        if key in given:
            return given[key]
        key = key.rpartition(".")[0]
    return None


def _known_keys(conf_dir: Path, parent: str) -> list[str]:
    """The keys under ``parent`` in the default config (empty if it cannot be composed)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    try:
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
            cfg = compose(config_name="config")
        node = OmegaConf.select(cfg, parent) if parent else cfg
        return sorted(str(k) for k in node.keys()) if OmegaConf.is_dict(node) else []
    except Exception:  # noqa: BLE001 -- only the message's list of keys is lost
        return []


def _quoted_key(err: BaseException) -> str | None:
    match = _QUOTED.search(str(err))
    return match.group(1) if match else None


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def _short(text: str, limit: int = 120) -> str:
    """One line of at most ``limit`` characters, without OmegaConf's ``full_key: ...`` tail."""
    text = " ".join(str(text).split(" full_key:")[0].split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
