"""Outputs are written atomically: a crash mid-write leaves the old complete file (or
none), never a half file that a later step would read as complete."""
from __future__ import annotations

import os

import pytest

from analysis import io as aio


class Crash(Exception):
    pass


def test_a_crash_while_writing_keeps_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "summary.json"
    aio.write_json_atomic(target, {"version": 1})
    real_fsync = os.fsync

    def crash_after_partial_write(fd):
        real_fsync(fd)
        raise Crash("power cut")

    monkeypatch.setattr(aio.os, "fsync", crash_after_partial_write)
    with pytest.raises(Crash):
        aio.write_json_atomic(target, {"version": 2, "big": "x" * 1_000_000})
    assert target.read_text() == '{\n  "version": 1\n}\n', "the old complete file is intact"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"], "no temporary file left behind"


def test_a_crash_before_the_first_write_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(aio.os, "replace", lambda *a: (_ for _ in ()).throw(Crash("killed")))
    with pytest.raises(Crash):
        aio.write_csv_atomic(tmp_path / "t.csv", ["a"], [[1], [2]])
    assert list(tmp_path.iterdir()) == []


def test_writes_replace_whole_files(tmp_path):
    target = tmp_path / "t.csv"
    aio.write_csv_atomic(target, ["a", "b"], [[1, 2]] * 1000)
    aio.write_csv_atomic(target, ["a", "b"], [[3, 4]])
    assert target.read_text(encoding="utf-8-sig") == "a,b\n3,4\n"


# ------------------------------------------------------------------ CSV cells
def _rule(value):
    """The cell rule as analysis/io.py's module doc states it, written plainly (an
    isinstance chain per cell): the reference the fast writer must match byte for byte."""
    import math
    import numbers

    import numpy as np
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        x = float(value)
        if not math.isfinite(x):
            return str(x)
        if x.is_integer() and abs(x) < 1e15:
            return str(int(x))
        text = format(x, ".6g")
        if "e+" in text and abs(x) < 1e15:
            text = str(int(float(text)))
        return text
    return value


def _cells():
    import enum

    import numpy as np

    class Level(enum.IntEnum):
        HIGH = 3

    return [None, True, False, np.bool_(True), np.bool_(False), 0, -7, 10**20, np.int32(-7), np.int64(12), np.uint8(255),
            Level.HIGH, 2.0, -0.0, 0.1234567, 1023730.4, 999999.5, 1e15, 1.5e15, 1e16, 1e-7, float("nan"), float("inf"),
            float("-inf"), np.float64(0.5), np.float32(0.1), np.float64(np.nan), np.float16(3.0), "东城区", "a,b",
            'say "hi"', "", np.str_("x")]


def test_csv_cells_follow_the_rule():
    expected = ["", "1", "0", "1", "0", "0", "-7", "100000000000000000000", "-7", "12", "255", "3", "2", "0",
                "0.123457", "1023730", "1000000", "1e+15", "1.5e+15", "1e+16", "1e-07", "nan", "inf", "-inf",
                "0.5", "0.1", "nan", "3", "东城区", "a,b", 'say "hi"', "", "x"]
    cells = _cells()
    for value, text in zip(cells, expected):
        assert aio.csv_cell(value) == text == _rule(value), (value, text)
        assert aio.csv_cell(value) == text  # twice: the formatter remembered for its type gives the same
    assert len(expected) == len(cells)


def test_write_csv_atomic_writes_the_rule_byte_for_byte(tmp_path):
    """Every cell as :func:`_rule` formats it, whatever mix of types a column holds."""
    import csv
    import io
    import random

    cells = _cells()
    rng = random.Random(7)
    rows = [[rng.choice(cells) for _ in range(9)] + [rng.random() * 10 ** rng.randint(-8, 18)] for _ in range(3000)]
    header = [f"c{i}" for i in range(10)]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([_rule(v) for v in row] for row in rows)
    aio.write_csv_atomic(tmp_path / "t.csv", header, iter(rows))  # any iterable of rows
    assert (tmp_path / "t.csv").read_bytes() == buf.getvalue().encode("utf-8-sig")

