"""Run-directory bookkeeping: the fingerprint that lets a re-run skip finished jobs
changes with the config and with the model's version (its code and data), so a sweep
re-run after a model change simulates again."""
from __future__ import annotations

import shutil

import analysis.rundir as rundir
from analysis.rundir import MODEL_DIRS, config_fingerprint, model_version, tree_hash
from tests.test_tickets import REPO

RAW = {"seed": 1, "replications": 2, "call_center": {"seats": 500}, "executor": {"kind": "local"}}


def test_the_fingerprint_follows_the_config_but_not_where_it_runs():
    assert config_fingerprint(RAW) == config_fingerprint({**RAW, "executor": {"kind": "serial"}})
    assert config_fingerprint(RAW) != config_fingerprint({**RAW, "call_center": {"seats": 650}})


def test_the_fingerprint_follows_the_model_version(monkeypatch):
    before = config_fingerprint(RAW)
    monkeypatch.setattr(rundir, "model_version", lambda: "0.1.0+changed")
    assert config_fingerprint(RAW) != before


def test_the_model_version_changes_with_any_model_file(tmp_path):
    """A copy of sim/ and scenarios/ hashes like the original; one changed byte in a
    module or a data file, or a new file, changes the hash; byte-code does not."""
    for folder in MODEL_DIRS:
        shutil.copytree(REPO / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    original = tree_hash(tmp_path, MODEL_DIRS)
    assert original == tree_hash(REPO, MODEL_DIRS)
    assert model_version().endswith("+" + original)
    (tmp_path / "sim" / "__pycache__").mkdir(exist_ok=True)
    (tmp_path / "sim" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert tree_hash(tmp_path, MODEL_DIRS) == original
    for path, change in ((tmp_path / "sim" / "station.py", b"\n# changed\n"),
                         (tmp_path / "scenarios" / "city" / "beijing_2019_streets.csv", b"\n"),
                         (tmp_path / "sim" / "dispatch" / "mine.py", b"")):
        old = path.read_bytes() if path.exists() else None
        path.write_bytes((old or b"") + change)
        assert tree_hash(tmp_path, MODEL_DIRS) != original, path
        if old is None:
            path.unlink()
        else:
            path.write_bytes(old)
        assert tree_hash(tmp_path, MODEL_DIRS) == original
