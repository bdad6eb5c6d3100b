"""analysis.compare: paired differences of two runs with the same seed (common random
numbers), by hand and through its command line on two real runs."""
from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from scipy import stats

from analysis.compare import COMPARISON_FILE, ComparisonError, paired_differences

REPO = Path(__file__).resolve().parent.parent


def summary(seed: int, metrics: dict[str, list], replications: int | None = None) -> dict:
    """A summary.json-shaped dict: per-replication values (None = undefined) and means."""
    def mean(values):
        x = [v for v in values if v is not None]
        return sum(x) / len(x) if x else None
    n = replications if replications is not None else len(next(iter(metrics.values())))
    return {"seed": seed, "replications": n,
            "metrics": {k: {"mean": mean(v), "per_replication": list(v)} for k, v in metrics.items()}}


def t_ci(values: list[float], confidence: float = 0.95) -> tuple[float, float, float]:
    n = len(values)
    m = sum(values) / n
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1))
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n)
    return m, m - half, m + half


def test_paired_differences_by_hand():
    a = summary(7, {"asa_s": [10.0, 20.0, 30.0, 40.0], "p_wait": [0.5, 0.6, 0.7, 0.8], "only_in_a": [1, 2, 3, 4]})
    b = summary(7, {"asa_s": [11.0, 22.0, 30.0, 44.0], "p_wait": [0.4, 0.5, 0.6, 0.7], "only_in_b": [1, 2, 3, 4]})
    d = paired_differences(a, b)
    assert set(d) == {"asa_s", "p_wait"}, "only metrics both runs report"
    asa = d["asa_s"]
    assert asa["per_replication"] == [1.0, 2.0, 0.0, 4.0]
    mean, lo, hi = t_ci([1.0, 2.0, 0.0, 4.0])
    assert asa["diff"] == pytest.approx(mean) and asa["diff"] == pytest.approx(1.75)
    assert asa["ci_low"] == pytest.approx(lo) and asa["ci_high"] == pytest.approx(hi)
    assert asa["a"] == pytest.approx(25.0) and asa["b"] == pytest.approx(26.75)
    # a constant shift: the paired CI collapses to the shift, though each run varies a lot
    pw = d["p_wait"]
    assert pw["diff"] == pytest.approx(-0.1)
    assert pw["ci_low"] == pytest.approx(-0.1) and pw["ci_high"] == pytest.approx(-0.1)


def test_undefined_replications_are_left_out_of_the_pairs():
    a = summary(1, {"asa_s": [1.0, None, 3.0, 5.0]})
    b = summary(1, {"asa_s": [2.0, 4.0, 5.0, None]})
    d = paired_differences(a, b)["asa_s"]
    assert d["per_replication"] == [1.0, None, 2.0, None]
    assert d["diff"] == pytest.approx(1.5)
    mean, lo, hi = t_ci([1.0, 2.0])
    assert d["ci_low"] == pytest.approx(lo) and d["ci_high"] == pytest.approx(hi)


def test_runs_are_paired_over_their_common_replications():
    a = summary(3, {"x": [1.0, 2.0, 3.0]})
    b = summary(3, {"x": [2.0, 4.0, 6.0, 100.0, 200.0]})
    d = paired_differences(a, b)["x"]
    assert d["per_replication"] == [1.0, 2.0, 3.0]
    assert d["diff"] == pytest.approx(2.0)


def test_reported_means_are_over_the_paired_replications():
    a = summary(3, {"x": [1.0, 2.0, 3.0]})
    b = summary(3, {"x": [2.0, 4.0, 6.0, 100.0, 200.0]})
    d = paired_differences(a, b)["x"]
    assert d["b"] - d["a"] == pytest.approx(d["diff"])


def test_different_seeds_cannot_be_paired():
    with pytest.raises(ComparisonError, match="seed"):
        paired_differences(summary(1, {"x": [1.0, 2.0]}), summary(2, {"x": [1.0, 2.0]}))


def test_one_replication_cannot_be_paired():
    with pytest.raises(ComparisonError, match="2 replications"):
        paired_differences(summary(1, {"x": [1.0]}), summary(1, {"x": [1.0, 2.0]}))


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_cli_refuses_different_seeds(tmp_path):
    for name, seed in (("a", 1), ("b", 2)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "summary.json").write_text(json.dumps(summary(seed, {"x": [1.0, 2.0]})))
    proc = run("-m", "analysis.compare", str(tmp_path / "a"), str(tmp_path / "b"))
    assert proc.returncode == 2
    assert "seed" in proc.stderr
    assert not (tmp_path / "b" / COMPARISON_FILE).exists()


@pytest.mark.slow
def test_cli_on_two_real_runs(tmp_path):
    """Two tiny runs of the default scenario with the same seed, B with fewer seats;
    the comparison exits 0, writes comparison.csv, and its numbers are the paired
    differences of the two summaries."""
    common = ["replications=2", "horizon_days=2", "warmup_days=0.5"]
    dirs = {"a": tmp_path / "a", "b": tmp_path / "b"}
    for name, extra in (("a", []), ("b", ["call_center.seats=450"])):
        proc = run("run.py", *common, *extra, f"hydra.run.dir={dirs[name]}")
        assert proc.returncode == 0, proc.stderr
    proc = run("-m", "analysis.compare", str(dirs["a"]), str(dirs["b"]))
    assert proc.returncode == 0, proc.stderr
    assert "B - A" in proc.stdout
    out = dirs["b"] / COMPARISON_FILE
    with out.open(newline="", encoding="utf-8-sig") as fh:
        rows = {r["metric"]: r for r in csv.DictReader(fh)}
    sa, sb = (json.loads((d / "summary.json").read_text(encoding="utf-8")) for d in dirs.values())
    assert set(rows) == set(sa["metrics"]) & set(sb["metrics"])
    for name in ("calls_offered", "asa_s", "dispatch_delay_mean_h", "tickets_closed"):
        pa, pb = sa["metrics"][name]["per_replication"], sb["metrics"][name]["per_replication"]
        assert float(rows[name]["diff"]) == pytest.approx((pb[0] - pa[0] + pb[1] - pa[1]) / 2, rel=1e-5)
    assert float(rows["asa_s"]["diff"]) > 0, "fewer seats, longer waits"
    # --out writes elsewhere
    other = tmp_path / "cmp.csv"
    assert run("-m", "analysis.compare", str(dirs["a"]), str(dirs["b"]), "--out", str(other)).returncode == 0
    assert other.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")
