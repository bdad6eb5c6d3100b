"""The chart package (analysis/charts/): a run's urgency classes and deadlines are its
config's, not Beijing's, wherever the run directory has its composed config; the old
names stay importable (``analysis.chart_style`` is the style module itself); the
package's modules import each other in one direction only.

Small synthetic run directories: no simulation, one chart each.
"""
from __future__ import annotations

import ast
import csv
import json
import logging
import subprocess
import sys
from pathlib import Path

import yaml

from analysis import charts

REPO = Path(__file__).resolve().parent.parent
#: lead_times.csv bins (hours), as analysis.summary writes them; the last is open.
EDGES = (0, 1, 2, 4, 8, 12, 24, 36, 48, 72, 96, 120, 144, 168, 216, 264, 312, 360, 480, 720, "")


def lead_time_run(tmp_path: Path, counts: dict[str, list[int]], urgency: dict | None) -> Path:
    """A run directory with lead_times.csv (``counts``: class -> tickets per bin, the
    same in both replications) and, if ``urgency`` is given, a composed config whose
    ``streets.urgency`` it is."""
    d = tmp_path / "run"
    d.mkdir()
    summary = {"scenario": "test", "replications": 2, "dispatch": "direct", "start": "2019-05-25T00:00:00",
               "horizon_days": 40.0, "warmup_days": 3.0, "metrics": {}}
    (d / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    with (d / "lead_times.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["replication", "urgency", "bin_lo_h", "bin_hi_h", "tickets"])
        for rep in (0, 1):
            for cls, per_bin in counts.items():
                for lo, hi, n in zip(EDGES, EDGES[1:], per_bin):
                    w.writerow([rep, cls, lo, hi, n])
    if urgency is not None:
        (d / ".hydra").mkdir()
        cfg = {"seed": 1, "streets": {"urgency": urgency}, "call_center": {"sl_threshold_s": 30}}
        (d / ".hydra" / "config.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return d


def one_bin(i: int, n: int = 100) -> list[int]:
    """``n`` tickets, all in bin ``i`` (from EDGES[i] to EDGES[i + 1] hours)."""
    return [n if k == i else 0 for k in range(len(EDGES) - 1)]


def lead_time_caption(run_dir: Path) -> dict:
    charts.make_run_charts(run_dir, names=["lead_time_distribution"])
    captions = json.loads((run_dir / "charts" / "captions.json").read_text(encoding="utf-8"))
    assert "lead_time_distribution" in captions, captions.get("_skipped")
    return captions["lead_time_distribution"]


def test_urgency_classes_and_deadlines_come_from_the_runs_config(tmp_path):
    # two classes Beijing does not have: "urgent" closes in 2-4 h (limit 4 h: all in time),
    # "routine_case" half in 48-72 h and half in 72-96 h (limit 72 h: half in time)
    urgency = {"urgent": {"share": 0.3, "deadline_h": 4}, "routine_case": {"share": 0.7, "deadline_h": 72}}
    counts = {"urgent": one_bin(2), "routine_case": [a + b for a, b in zip(one_bin(8, 50), one_bin(9, 50))]}
    d = lead_time_run(tmp_path, counts, urgency)
    assert charts.RunData(d).deadlines() == {"urgent": 4.0, "routine_case": 72.0}
    caption = lead_time_caption(d)
    assert caption["title"] == ("Routine case tickets meet their 3 d limit least often: 50.0% of those closed, "
                                "against 100.0% of urgent tickets within 4 h")
    # no Chinese name is invented for a class the vocabulary does not know: the readable English one
    assert caption["title_zh"].startswith("Routine case类工单按时办结比例最低")
    assert "Urgent类4小时内为100.0%" in caption["title_zh"]


def test_beijing_classes_with_other_deadlines_are_charted_against_the_configs(tmp_path):
    # emergency tickets all close in 4-8 h: late against Beijing's 2 h, in time against this config's 8 h
    urgency = {"emergency": {"share": 0.1, "deadline_h": 8}, "general": {"share": 0.9, "deadline_h": 120}}
    counts = {"emergency": one_bin(3), "general": [a + b for a, b in zip(one_bin(9, 60), one_bin(11, 40))]}
    d = lead_time_run(tmp_path, counts, urgency)
    caption = lead_time_caption(d)
    assert caption["title"] == ("General tickets meet their 5 d limit least often: 60.0% of those closed, "
                                "against 100.0% of emergency tickets within 8 h")
    assert caption["title_zh"].startswith("一般类工单按时办结比例最低：已办结的一般类工单中60.0%在5天内办结")

    rows = charts.read_rows(d / "lead_times.csv")
    by_config = charts.lead_time_distribution(rows, charts.RunData(d).deadlines()).facts["within_deadline"]
    by_beijing = charts.lead_time_distribution(rows).facts["within_deadline"]
    assert by_config == {"emergency": 1.0, "general": 0.6}
    assert by_beijing["emergency"] == 0.0 and by_beijing["general"] == 1.0  # 2 h and 7 d


def test_a_run_without_its_config_falls_back_to_the_beijing_deadlines(tmp_path):
    # general: half in 144-168 h, half in 168-216 h; Beijing's limit is 7 d
    general = [a + b for a, b in zip(one_bin(12, 50), one_bin(13, 50))]
    d = lead_time_run(tmp_path, {"emergency": one_bin(1), "general": general}, urgency=None)
    assert charts.RunData(d).deadlines() == charts.DEFAULT_DEADLINES_H
    assert lead_time_caption(d)["title"] == ("General tickets meet their 7 d limit least often: 50.0% of those "
                                             "closed, against 100.0% of emergency tickets within 2 h")


def test_urgency_names_known_and_readable_fallback():
    assert charts.urgency_names("utilities") == ("Utilities", "水电气热")
    assert charts.urgency_names("very_urgent") == ("Very urgent", "")
    assert charts.urgency_zh("very_urgent") == "Very urgent" and charts.urgency_zh("complex") == "疑难"


def test_chart_logs_reach_the_analysis_charts_logger(tmp_path, caplog):
    d = lead_time_run(tmp_path, {"emergency": one_bin(1)}, urgency=None)
    with caplog.at_level(logging.DEBUG, logger="analysis.charts"):
        charts.make_run_charts(d, names=["calls_by_hour"])
    assert any(r.name.startswith("analysis.charts") and "calls_by_hour skipped" in r.getMessage()
               for r in caplog.records)


def test_old_style_module_name_is_the_style_module():
    from analysis import chart_style
    import analysis.charts.style as style
    assert chart_style is style is charts.style


def package_imports() -> dict[str, set[str]]:
    """Module of analysis/charts/ -> the modules of the package it imports (``__init__``
    left out: it only re-exports)."""
    pkg = REPO / "analysis" / "charts"
    mods = {p.stem for p in pkg.glob("*.py")} - {"__init__", "__main__"}
    graph = {}
    for m in mods:
        deps = set()
        for node in ast.walk(ast.parse((pkg / f"{m}.py").read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "analysis.charts":
                deps |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("analysis.charts."):
                deps.add(node.module.split(".")[2])
            elif isinstance(node, ast.Import):
                deps |= {a.name.split(".")[2] for a in node.names if a.name.startswith("analysis.charts.")}
        graph[m] = deps & mods
    return graph


def test_no_import_cycle_inside_the_package():
    graph = package_imports()
    assert {"style", "vocabulary", "chart", "rundata", "tickets", "league", "make"} <= set(graph)
    done: list[str] = []
    while len(done) < len(graph):  # peel off the modules whose imports are all done
        ready = sorted(m for m, deps in graph.items() if m not in done and deps <= set(done))
        assert ready, f"import cycle among {sorted(set(graph) - set(done))}"
        done += ready
    assert done.index("make") == len(done) - 1, "make (orchestration) comes last"


def test_command_line_still_runs_as_a_module(tmp_path):
    d = lead_time_run(tmp_path, {"emergency": one_bin(1), "general": one_bin(13)}, urgency=None)
    proc = subprocess.run([sys.executable, "-m", "analysis.charts", str(d)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (d / "charts" / "lead_time_distribution.png").is_file()
