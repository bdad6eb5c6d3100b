"""The KPI catalogue (analysis/catalogue.py) is complete: every KPI a run reports is in
it, the charts and the report read their labels from it, and the README's KPI table is
the catalogue's."""
from __future__ import annotations

import re

from analysis import charts, report
from analysis.catalogue import KPIS, SHARE_KPIS, markdown_table
from analysis.kpis.calls import reduce_replication
from sim.model import run_replication
from tests.test_tickets import MONDAY, REPO, SMALL, full_config

QUICK = ("horizon_days=3", "warmup_days=1", MONDAY, *SMALL)


def reported_kpis(*overrides: str) -> set[str]:
    cfg = full_config(*overrides, *QUICK)
    return set(reduce_replication(run_replication(cfg, 0), cfg)["overall"])


def test_every_kpi_a_run_reports_is_in_the_catalogue():
    full = reported_kpis("dispatch=direct")
    centre_only = reported_kpis("dispatch=none")
    assert full - set(KPIS) == set(), "add these to analysis/catalogue.py"
    assert centre_only - set(KPIS) == set()
    assert set(KPIS) == full, "the catalogue lists only what runs report"
    for name, k in KPIS.items():
        assert k.en and k.zh and k.unit and k.meaning and k.group in ("call", "ticket"), name
        assert k.direction in (-1, 0, 1)
        if k.group == "call":
            assert name in centre_only, name  # a call-centre-only run reports every call KPI


def test_charts_and_report_read_the_catalogue():
    for name, k in KPIS.items():
        assert charts.KPI[name] == (k.en, k.zh, k.unit, k.scale, k.direction)
        assert report.KPI_INFO[name][1:4] == (k.en, k.zh, k.unit)
    assert {r[0] for r in report.CALL_ROWS + report.TICKET_ROWS} == {n for n, k in KPIS.items() if k.in_report}
    assert SHARE_KPIS == {n for n, k in KPIS.items() if k.unit == "%"}


def test_the_readme_kpi_table_is_the_catalogue():
    """README.md holds the table ``python -m analysis.catalogue`` prints, unchanged."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme, "regenerate with: python -m analysis.catalogue"
    listed = set(re.findall(r"^\| `([a-z0-9_]+)` \|", markdown_table(), flags=re.M))
    assert listed == set(KPIS)
