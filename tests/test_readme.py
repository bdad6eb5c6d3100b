"""The README's config-key tables name keys that exist: every key in the first column
of a table row (``arrivals.daily_calls``, ``streets.capacity.{scale, ...}``,
``streets.urgency.<class>.deadline_h``) is a key of the composed config of some
dispatch policy. (The KPI table is checked against the KPI catalogue in
tests/test_catalogue.py.)"""
from __future__ import annotations

import re

import pytest

from sim.dispatch import available
from tests.test_tickets import REPO, full_raw

CELL = re.compile(r"^\| ([^|]+) \|", re.M)
TOKEN = re.compile(r"`([a-z_]+(?:\.(?:[a-z0-9_]+|<[a-z]+>|\*|\{[a-z_, ]+\}))+)`")
#: Keys the README explains that belong to Hydra or a group choice, not to the config tree.
NOT_CONFIG = {"hydra.run.dir"}
FILE_NAME = re.compile(r"\.(json|csv|html|log|parquet|yaml|png|svg)$")  # a file, not a key


def flat_keys(node, prefix="") -> set[str]:
    out = set()
    if isinstance(node, dict):
        for k, v in node.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            out.add(key)
            out |= flat_keys(v, key)
    return out


@pytest.fixture(scope="module")
def config_keys() -> set[str]:
    keys = set()
    for policy in available():
        keys |= flat_keys(full_raw(f"dispatch={policy}"))
    keys |= flat_keys(full_raw("executor=dask"))
    return keys


def readme_keys() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    out = []
    for cell in CELL.findall(text):
        for token in TOKEN.findall(cell):
            head, _, tail = token.partition("{")
            if tail:  # a.b.{c, d} -> a.b.c, a.b.d
                out += [head + name.strip() for name in tail.rstrip("}").split(",")]
            else:
                out.append(token)
    return [k for k in out if k not in NOT_CONFIG and not FILE_NAME.search(k)]


def test_the_readme_names_config_keys_at_all():
    keys = readme_keys()
    assert len(keys) > 40 and "dispatch.street_share" in keys and "streets.capacity.scale" in keys


def test_every_config_key_the_readme_names_exists(config_keys):
    missing = []
    for key in readme_keys():
        pattern = re.escape(key).replace(r"\*", r"[^.]+")
        pattern = re.sub(r"<[a-z]+>", r"[^.]+", pattern)
        if not any(re.fullmatch(pattern, k) for k in config_keys):
            missing.append(key)
    assert not missing, f"README names keys the config does not have: {missing}"
