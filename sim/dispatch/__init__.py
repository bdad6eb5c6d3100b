"""Dispatch policies as plug-ins: how a street ticket gets from the centre to the
caseworkers who work it.

One module per policy in this package, each defining ``Policy`` (a subclass of
:class:`sim.dispatch.base.DispatchPolicy`), and one YAML per policy in
``conf/dispatch/`` whose ``policy`` key names the module. The registry finds a policy
by that name, so a new policy is one new module here plus one YAML there, with no edit
anywhere else (see ``docs/dispatch_policies.md``).

Only modules of this package can be named: a config file is data and cannot make the
model import code from elsewhere.
"""
from __future__ import annotations

import importlib
import pkgutil
import re

from sim.dispatch.base import DispatchPolicy

#: Module names that are not policies.
_NOT_POLICIES = {"base"}
_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


def available() -> tuple[str, ...]:
    """Names of the policies in this package (its modules that define ``Policy``)."""
    return tuple(sorted(m.name for m in pkgutil.iter_modules(__path__)
                        if _NAME.match(m.name) and m.name not in _NOT_POLICIES))


def policy_class(name: str) -> type[DispatchPolicy]:
    """The policy called ``name``. KeyError (with the known names) if there is none."""
    if not isinstance(name, str) or not _NAME.match(name) or name not in available():
        raise KeyError(name)
    module = importlib.import_module(f"{__name__}.{name}")
    cls = getattr(module, "Policy", None)
    if not (isinstance(cls, type) and issubclass(cls, DispatchPolicy)):
        raise TypeError(f"module {module.__name__} defines no Policy (a DispatchPolicy subclass)")
    return cls


def describe(name: str) -> tuple[str, str, str]:
    """(English label, Chinese label, one-sentence description) of policy ``name``,
    for tables, charts and the report; the name itself if there is no such policy."""
    try:
        cls = policy_class(name)
    except (KeyError, TypeError):
        return name, name, f"policy {name}"
    return cls.label_en, cls.label_zh, cls.description
