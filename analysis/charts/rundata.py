"""Reading a run directory: its tables (CSV rows as dicts), ``summary.json``, the
composed config and overrides Hydra kept (``.hydra/``), and what the charts take from
them: the urgency classes and their deadlines, the ranking settings, a label for the
run and the source note under its charts.

Files are read when asked for, so a chart whose file is absent is skipped
(:class:`~analysis.charts.chart.SkipChart`) without costing the others.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from datetime import datetime, timedelta
from pathlib import Path
from typing import Mapping

from analysis.charts import style as cs
from analysis.charts.chart import SkipChart
from analysis.charts.vocabulary import DEFAULT_DEADLINES_H, POLICY, RUN_CONTROL_KEYS
from analysis.rundir import (COMPARISON_FILE, FUNNEL_FILE, ROBUSTNESS_FILE, SUMMARY_FILE,  # noqa: F401
                             hydra_files, read_csv, read_json)



def read_rows(path: Path) -> list[dict]:
    """Rows of a CSV file as dicts (all values strings); FileNotFoundError if absent."""
    if not Path(path).is_file():
        raise FileNotFoundError(path)
    return read_csv(path)


@dataclass
class RunData:
    """The files of a run directory, read on demand."""
    dir: Path

    def path(self, name: str) -> Path:
        return self.dir / name

    def rows(self, name: str) -> list[dict]:
        p = self.path(name)
        if not p.is_file():
            raise SkipChart(f"{name} is absent")
        return read_rows(p)

    @property
    def summary(self) -> dict:
        return read_json(self.path(SUMMARY_FILE))

    @cached_property
    def _hydra(self) -> tuple[dict, dict, list[str]]:
        """``.hydra/`` read once: the charts of a run ask for the config many times."""
        return hydra_files(self.dir)

    @property
    def config(self) -> dict:
        return self._hydra[0]

    @property
    def overrides(self) -> list[str]:
        return self._hydra[2]

    def deadlines(self) -> dict[str, float]:
        """Urgency class -> deadline in hours, in the config's order: the run's own
        classes (``streets.urgency.<class>.deadline_h`` of ``.hydra/config.yaml``), so a
        scenario with other classes or limits is charted against its own. The Beijing
        defaults (:data:`~analysis.charts.vocabulary.DEFAULT_DEADLINES_H`) only for a
        folder whose config is absent or names no classes."""
        urgency = ((self.config.get("streets") or {}).get("urgency")) or {}
        out = {k: float(v["deadline_h"]) for k, v in urgency.items() if isinstance(v, Mapping) and "deadline_h" in v}
        return out or dict(DEFAULT_DEADLINES_H)

    def ranking(self) -> dict:
        return self.config.get("ranking") or {}

    def label(self) -> str:
        """What distinguishes this run: its dispatch policy, or its overrides."""
        s = self.summary
        overrides = [o for o in self.overrides if o.split("=")[0].lstrip("+~") not in RUN_CONTROL_KEYS
                     and not o.startswith("hydra.")]
        policy = s.get("dispatch")
        if any(o.startswith("dispatch=") for o in overrides) or not overrides:
            if policy in POLICY:
                return cs.name(*POLICY[policy])
        return ", ".join(overrides) if overrides else (s.get("scenario") or self.dir.name)

    def note(self, ci: bool = True) -> str:
        s = self.summary
        extra = []
        if s.get("scenario"):
            extra.append(f"scenario {s['scenario']}")
        if s.get("dispatch") in POLICY:
            extra.append(POLICY[s["dispatch"]][0].lower())
        window = _window(s)
        if window:
            extra.append(f"measured {window}")
        detail = ", ".join(extra)
        ci = ci and (s.get("replications") or 0) >= 2  # one replication has no CI
        return cs.source_note(s.get("replications"), (detail[0].upper() + detail[1:] + ".") if detail else None, ci=ci)


def _window(s: dict) -> str | None:
    try:
        start = datetime.fromisoformat(str(s["start"]))
        a = start + timedelta(days=float(s["warmup_days"]))
        b = start + timedelta(days=float(s["horizon_days"])) - timedelta(minutes=1)
    except (KeyError, ValueError, TypeError):
        return None
    return f"{a.day} {a:%b %Y} – {b.day} {b:%b %Y} ({float(s['horizon_days']) - float(s['warmup_days']):g} days)"

