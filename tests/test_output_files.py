"""Output files colleagues can open (issue 13): the usual permissions (not a temporary
file's 0600), CSVs in UTF-8 with BOM for Excel, floats without 17-digit noise,
booleans as 0/1, and SVG charts that are the same bytes for the same chart."""
from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analysis import io as aio
from analysis.rundir import read_csv

REPO = Path(__file__).resolve().parent.parent


def test_csv_json_and_report_get_0644_under_umask_022(tmp_path):
    """The mode is what ``open()`` would give (0666 less the umask): 0644 under the
    usual umask 022. In a fresh interpreter, since the mode is read once at import."""
    script = (
        "import os, sys\n"
        "os.umask(0o022)\n"
        "from pathlib import Path\n"
        "from analysis.io import write_bytes_atomic, write_csv_atomic, write_json_atomic\n"
        "d = Path(sys.argv[1])\n"
        "write_csv_atomic(d / 't.csv', ['a'], [[1]])\n"
        "write_json_atomic(d / 't.json', {'a': 1})\n"
        "write_bytes_atomic(d / 'report.html', b'<html></html>')\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for name in ("t.csv", "t.json", "report.html"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "t.csv", "t.json"], "no temp file left"


def test_file_mode_follows_the_umask_of_this_process(tmp_path):
    aio.write_csv_atomic(tmp_path / "t.csv", ["a"], [[1]])
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((tmp_path / "t.csv").stat().st_mode) == 0o666 & ~mask


def test_csv_starts_with_a_bom_and_round_trips_through_the_reader(tmp_path):
    path = tmp_path / "streets.csv"
    rows = [[0, "东城区", "东华门街道", 0.752], [1, "西城区", "", None]]
    aio.write_csv_atomic(path, ["unit", "district_zh", "street_zh", "rate"], rows)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM: Excel shows 东城区"
    assert data[3:].decode("utf-8").startswith("unit,district_zh")
    got = read_csv(path)
    assert list(got[0]) == ["unit", "district_zh", "street_zh", "rate"], "no \\ufeff in the first header name"
    assert got == [{"unit": "0", "district_zh": "东城区", "street_zh": "东华门街道", "rate": "0.752"},
                   {"unit": "1", "district_zh": "西城区", "street_zh": "", "rate": ""}]
    # a file written before (plain UTF-8, no BOM) still reads the same
    plain = tmp_path / "old.csv"
    plain.write_bytes(data[3:])
    assert read_csv(plain) == got


def test_the_report_reads_a_sweep_table_with_a_bom(tmp_path):
    from analysis.report.reader import sweep_table
    from analysis.rundir import SWEEP_FILE
    aio.write_csv_atomic(tmp_path / SWEEP_FILE, ["job", "metric", "mean"], [["a", "service_level", 0.9]])
    header, rows = sweep_table(tmp_path)
    assert header == ["job", "metric", "mean"] and rows == [{"job": "a", "metric": "service_level", "mean": "0.9"}]


def _significant_digits(text: str) -> int:
    """Digits of the mantissa without leading and trailing zeros ("1023730" -> 6)."""
    return len(re.split(r"[eE]", text.lstrip("-"))[0].replace(".", "").strip("0"))


FLOATS = [0.1 + 0.2, 1 / 3, 2 / 3 * 1e-3, 0.7083333333333334, np.float64(207.08215962441315), np.float32(0.1),
          46.55737704918033, 1023728.5, 123456.789, -0.0804119170868054, 1.5e-7, 3.14159265358979e20]


def test_floats_have_at_most_6_significant_digits(tmp_path):
    path = tmp_path / "f.csv"
    aio.write_csv_atomic(path, ["x"], [[x] for x in FLOATS])
    cells = [r["x"] for r in read_csv(path)]
    for x, cell in zip(FLOATS, cells):
        assert _significant_digits(cell) <= 6, (x, cell)
        assert float(cell) == pytest.approx(float(x), rel=5e-6), (x, cell)
    assert cells[:3] == ["0.3", "0.333333", "0.000666667"]
    assert cells[7] == "1023730", "no exponent for a number a spreadsheet shows in full"


def test_integers_stay_integers_and_missing_values_keep_their_text(tmp_path):
    path = tmp_path / "i.csv"
    values = [7, np.int64(110101001), 284.0, np.float64(79.0), 1e12, None, float("nan"), float("inf"), "2019-06"]
    aio.write_csv_atomic(path, ["v"], [[v] for v in values])
    assert [r["v"] for r in read_csv(path)] == ["7", "110101001", "284", "79", "1000000000000", "", "nan", "inf",
                                                 "2019-06"]


def test_booleans_are_written_as_1_and_0(tmp_path):
    path = tmp_path / "b.csv"
    aio.write_csv_atomic(path, ["a", "b", "c", "d"], [[True, False, np.True_, np.False_]])
    assert path.read_bytes() == b"\xef\xbb\xbfa,b,c,d\n1,0,1,0\n"


def test_rankings_class_flags_are_0_and_1(tmp_path):
    """The is_* columns of rankings.csv, through the real row builder."""
    from analysis.rankings.league import RANKING_COLUMNS, ranking_rows
    from analysis.ranking import CLASSES
    from sim.city import load_city
    n = 3
    classes = {c: np.zeros(n, dtype=bool) for c in CLASSES}
    classes["advanced"][0] = True
    entry = {"replication": 0, "month": "2019-06", "level": "streets", "unit": np.arange(n),
             "score": np.array([90.123456789, 75.5, 60.0]), "rank": np.arange(1, n + 1), "classes": classes,
             "rates": np.full((n, 3), 2 / 3), "ns": np.full((n, 3), 20.0), "tickets": np.full(n, 30.0),
             "demand_per_10k": np.full(n, 46.55737704918033)}
    path = tmp_path / "rankings.csv"
    aio.write_csv_atomic(path, list(RANKING_COLUMNS), ranking_rows([entry], load_city("beijing_2019")))
    rows = read_csv(path)
    assert [r["is_advanced"] for r in rows] == ["1", "0", "0"]
    assert {r[f"is_{c}"] for r in rows for c in CLASSES} == {"0", "1"}
    assert rows[0]["score"] == "90.1235" and rows[0]["resolution_rate"] == "0.666667"
    assert rows[0]["demand_per_10k"] == "46.5574" and rows[0]["tickets"] == "30" and rows[0]["rank"] == "1"


def test_json_keeps_full_precision(tmp_path):
    """The rule is for CSV cells: summary.json keeps every digit for code."""
    aio.write_json_atomic(tmp_path / "s.json", {"x": 1 / 3})
    assert json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))["x"] == 1 / 3


def _draw(out_dir: Path) -> bytes:
    from matplotlib.figure import Figure

    from analysis.charts import style as cs
    with cs.style():
        fig = Figure(figsize=(4, 3))
        ax = fig.add_subplot()
        ax.plot([0, 1, 2], [1, 3, 2], label="Calls 来电")
        ax.fill_between([0, 1, 2], [0.5, 2.5, 1.5], [1.5, 3.5, 2.5], alpha=0.3)
        ax.set_title("Service level 服务水平")
        ax.legend()
    cs.save(fig, out_dir, "chart", title="A chart", description="for the test")
    return (out_dir / "chart.svg").read_bytes()


def test_the_same_svg_chart_is_the_same_bytes(tmp_path):
    first, second = _draw(tmp_path / "a"), _draw(tmp_path / "b")
    assert b"<svg" in first and b"clip-path" in first, "a chart with clip paths (ids a salt would change)"
    assert first == second
    assert b"<dc:date>" not in first
