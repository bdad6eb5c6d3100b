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
