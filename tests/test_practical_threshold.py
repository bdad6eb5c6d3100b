"""The practical threshold of a comparison is config (``comparison.practical_threshold``),
validated in one line and read by ``policy_comparison`` from the run's composed config."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from analysis.kpis.practical import PracticalThreshold, build_comparison_config, threshold_of_config
from sim.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
#: +0.6 percentage points of service level, CI clear of 0
ROW = {"metric": "service_level", "a": 0.80, "b": 0.806, "diff": 0.006, "ci_low": 0.005, "ci_high": 0.007}


def test_the_root_config_names_the_thresholds_with_their_units():
    cfg = yaml.safe_load((REPO / "conf" / "config.yaml").read_text(encoding="utf-8"))
    t = build_comparison_config(cfg["comparison"])
    assert t == PracticalThreshold()  # the defaults the chart falls back on are the config's
    assert t.of("pp", 80.0) == 0.5 and t.of("s", 20.0) == 5.0 and t.of("h", 30.0) == 0.5
    assert t.of("calls", 1000.0) == pytest.approx(20.0)  # 2% of A otherwise
    text = (REPO / "conf" / "config.yaml").read_text(encoding="utf-8")
    assert "practical_threshold:" in text and "[assume]" in text.split("practical_threshold:")[1].splitlines()[0]


@pytest.mark.parametrize("section, key", [
    ("loose", "comparison"), ({"threshold": 1}, "comparison.threshold"),
    ({"practical_threshold": {"pp": -1}}, "comparison.practical_threshold.pp"),
    ({"practical_threshold": {"minutes": 3}}, "comparison.practical_threshold.minutes"),
    ({"practical_threshold": {"relative": "two"}}, "comparison.practical_threshold.relative"),
])
def test_bad_thresholds_are_refused_naming_the_key(section, key):
    with pytest.raises(ConfigError) as err:
        build_comparison_config(section)
    assert err.value.key == key and "\n" not in str(err.value)


def test_the_chart_uses_the_threshold_it_is_given():
    from analysis.charts import policy_comparison
    assert policy_comparison([ROW], "A", "B").facts["significant"] == 1  # 0.6 pp >= 0.5 pp
    strict = PracticalThreshold(absolute={"pp": 1.0, "s": 5.0, "h": 0.5})
    chart = policy_comparison([ROW], "A", "B", threshold=strict)
    assert chart.facts["significant"] == 0 and chart.facts["below_threshold"] == ["service_level"]
    assert "1 pp (shares)" in chart.describe()


def _run_dir(path: Path, practical: dict | None) -> Path:
    path.mkdir()
    (path / "summary.json").write_text(json.dumps({"scenario": "x", "replications": 3, "metrics": {}}))
    (path / ".hydra").mkdir()
    cfg = {"seed": 1} if practical is None else {"seed": 1, "comparison": {"practical_threshold": practical}}
    (path / ".hydra" / "config.yaml").write_text(yaml.safe_dump(cfg))
    with (path / "comparison.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(ROW))
        w.writeheader()
        w.writerow(ROW)
    return path


def test_the_run_chart_reads_the_threshold_from_the_run_config(tmp_path):
    from analysis.charts import make_run_charts
    assert threshold_of_config({}) == PracticalThreshold()
    strict = _run_dir(tmp_path / "strict", {"pp": 1.0})
    make_run_charts(strict, names=["policy_comparison"])
    cap = json.loads((strict / "charts" / "captions.json").read_text(encoding="utf-8"))["policy_comparison"]
    assert "differ in no practical way" in cap["title"] and "1 pp (shares)" in cap["caption"]
    old = _run_dir(tmp_path / "old", None)  # a run from before the key: the defaults
    make_run_charts(old, names=["policy_comparison"])
    cap = json.loads((old / "charts" / "captions.json").read_text(encoding="utf-8"))["policy_comparison"]
    assert "differ in practice" in cap["title"] and "0.5 pp (shares)" in cap["caption"]


def test_a_bad_threshold_on_the_command_line_is_a_one_line_error(tmp_path):
    proc = subprocess.run([sys.executable, "run.py", "comparison.practical_threshold.pp=-2",
                           f"hydra.run.dir={tmp_path}"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "config error: comparison.practical_threshold.pp = -2 is not allowed; expected a number >= 0 (pp (shares))"]
