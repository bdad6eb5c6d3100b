"""Issue 12, "Done when": a seeded fuzz over every config key and every named data file.

Keys: every key path (mappings, lists and their elements) of the composed default
config, of each shipped scenario (conf/scenario/), of each dispatch policy, of the
accountability loop, of the dask executor and of a precision target: each with a value
of each kind the issue names: a wrong type, a negative, NaN or inf, a huge value.

Data files: for each named data file kind (intraday profiles, rosters, category mixes
in YAML; the city tables in CSV) seeded corruptions of a shipped file (truncated,
bytes flipped, a number turned into text, NaN, a negative or a huge value, a row or
column lost, deep nesting, an empty file ...) in a temporary scenarios/ folder.

What must hold: each case passes or is refused with the one-line ``config error``;
never a traceback, never a hang (60 s per case, SIGALRM), and a run writes nothing
outside its run directory. Three ways in, from cheap to real:

- in-process validation as run.py validates (:func:`validate_like_run`; milliseconds
  a case): the bulk;
- in-process ``run.cli()`` with the case as a command-line override (Hydra's compose,
  the whole run of one day when accepted; about a second): a sample, which also checks
  that the validation above says what the CLI says;
- a subprocess ``python run.py``: a small sample.

A few dozen cases of each run in the fast suite (seeded); every key with every value,
and larger samples of the others, under ``-m slow``. tests/test_hardening.py holds the
fixed cases of each class; this file is the random search around them.
"""
from __future__ import annotations

import contextlib
import copy
import math
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from analysis.kpis.calls import CALL_KPIS
from analysis.kpis.practical import build_comparison_config
from analysis.records_io import check_format
from analysis.run_outputs import build_output_config
from analysis.kpis.stats import build_precision_config
from analysis.kpis.tickets import TICKET_KPIS
from analysis.rankings.weight_robustness import build_weight_robustness_config
from sim.budget import check_fits
from sim.compose import force_add_distributions, replace_whole_distributions
from sim.config import build_config
from sim.errors import ConfigError
from sim.experiment import build_executor_config
from sim.ranking import build_ranking_config

REPO = Path(__file__).resolve().parent.parent
CONF_DIR = REPO / "conf"
#: Per case: longer is a hang.
CASE_TIMEOUT_S = 60
#: Cheap runs for the cases that run: one replication of one day, no charts or report.
QUICK = {"replications": "1", "horizon_days": "1", "warmup_days": "0", "executor": "serial", "charts": "none",
         "report": "false"}
#: The memory check compares against a fixed limit, not what the machine has free now.
LIMIT = {"max_memory_gb": "16"}
#: QUICK and LIMIT as the composed config holds them.
QUICK_RAW = {"replications": 1, "horizon_days": 1, "warmup_days": 0, "charts": "none", "report": False,
             "executor": {"kind": "serial", "workers": 0, "address": None}, "max_memory_gb": 16}

#: The bad values, by the kind the issue names.
BAD = {
    "wrong_type": ["text", True, None, [1, "x"], {"a": 1}, {}, []],
    "negative": [-1, -1e-9, -(10**12)],
    "nonfinite": [math.nan, math.inf, -math.inf],
    "huge": [1e308, 10**12, 10**18, 1e30],
}
#: Compositions whose keys the fuzz walks (the first that has a key is its base).
BASES = [[], *([f"scenario={p.stem}"] for p in sorted((CONF_DIR / "scenario").glob("*.yaml"))),
         *([f"dispatch={p.stem}"] for p in sorted((CONF_DIR / "dispatch").glob("*.yaml")) if p.stem != "none"),
         ["accountability=pressure"], ["executor=dask"], ["experiment=weight_robustness"],
         ["precision={metric: service_level, half_width: 0.01, max_replications: 20}"]]


# ------------------------------------------------------------------ the config tree

def composed_raw(overrides: list[str]) -> dict:
    """The composed config as run.py composes it (distributions given whole replace)."""
    overrides = force_add_distributions(overrides)
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
        replace_whole_distributions(cfg, "config", overrides)
    return OmegaConf.to_container(cfg, resolve=True)


def key_paths(node, path=()):
    """Every key path of the tree: each mapping, list, list element and leaf."""
    if path:
        yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from key_paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from key_paths(v, path + (i,))


#: The compositions of the fast suite: those that bring keys the default lacks (the
#: year scenario: the accountability loop; rainstorm: a shock; three policies; the
#: weight sets; a precision target). The others add no key (checked under -m slow).
FAST_BASES = [[], ["scenario=beijing_2019_year"], ["scenario=rainstorm"], ["dispatch=first_responsibility"],
              ["dispatch=pooled"], ["dispatch=whistle"], ["experiment=weight_robustness"], BASES[-1]]
_COMPOSED: dict[tuple, dict] = {}


def compose_bases(chosen: list[list[str]]) -> dict[tuple, dict]:
    """Each base composed as run.py composes it (once per test session)."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        for b in chosen:
            if tuple(b) not in _COMPOSED:
                overrides = force_add_distributions(b)
                cfg = compose(config_name="config", overrides=overrides)
                replace_whole_distributions(cfg, "config", overrides)
                _COMPOSED[tuple(b)] = OmegaConf.to_container(cfg, resolve=True)
    return {tuple(b): _COMPOSED[tuple(b)] for b in chosen}


def first_base(bases: dict[tuple, dict]) -> dict[tuple, tuple]:
    """Key path -> the first base composition it is found in."""
    out: dict[tuple, tuple] = {}
    for base, raw in bases.items():
        for path in key_paths(raw):
            out.setdefault(path, base)
    return out


@pytest.fixture(scope="module")
def bases() -> dict[tuple, dict]:
    return compose_bases(FAST_BASES)


@pytest.fixture(scope="module")
def all_keys(bases) -> dict[tuple, tuple]:
    return first_base(bases)


@pytest.fixture(scope="module")
def every_base() -> dict[tuple, dict]:
    return compose_bases([*FAST_BASES, *(b for b in BASES if b not in FAST_BASES)])


def dotted(path: tuple) -> str:
    return ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in path).replace(".[", "[")


def mutated(raw: dict, path: tuple, value) -> dict:
    out = copy.deepcopy(raw)
    node = out
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = copy.deepcopy(value)
    return out


def validate_like_run(raw: dict) -> None:
    """What run.py's main validates before it simulates, in its order."""
    sim_cfg = build_config({**raw, "scenario": "fuzz"})
    rank_cfg = build_ranking_config(raw.get("ranking")) if sim_cfg.tickets else None
    executor = build_executor_config(raw.get("executor"))
    precision = build_precision_config(raw.get("precision"), CALL_KPIS + (TICKET_KPIS if sim_cfg.tickets else ()),
                                       sim_cfg.replications)
    build_output_config(raw.get("charts", "all"), raw.get("report", True))
    check_format(raw.get("records", "none"))
    build_comparison_config(raw.get("comparison"))
    weight_sets = build_weight_robustness_config(raw.get("weight_robustness"))
    if weight_sets is not None and rank_cfg is None:
        raise ConfigError("weight_robustness", "(weight sets)", "a run with tickets")
    check_fits(sim_cfg, executor, rank_cfg, precision.max_replications if precision else None,
               16 if raw.get("max_memory_gb") is None else raw["max_memory_gb"])  # not the free memory now


@contextlib.contextmanager
def time_limit(what: str, seconds: int = CASE_TIMEOUT_S):
    """Fail the test (not hang the suite) when the block takes longer than ``seconds``."""
    def on_alarm(signum, frame):
        raise TimeoutError(f"hang: {what} took more than {seconds} s")
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def verdict(raw: dict, what: str) -> str | None:
    """None if accepted, the error's key if refused in one line; fails on anything else."""
    try:
        with time_limit(what):
            validate_like_run(raw)
    except ConfigError as err:
        text = str(err)
        assert "\n" not in text and text.startswith("config error: "), f"{what}: {text!r}"
        return err.key
    except Exception as err:  # noqa: BLE001 -- the point of the fuzz
        pytest.fail(f"{what}: {type(err).__name__}: {err}")
    return None


def cases(all_keys: dict, n: int | None, seed: int) -> list[tuple[tuple, tuple, str, object]]:
    """(path, base, kind, value): every key with every value (``n`` None), or ``n``
    seeded cases, each key at most once, the kinds in turn."""
    paths = sorted(all_keys, key=dotted)
    if n is None:
        return [(p, all_keys[p], kind, v) for p in paths for kind, values in BAD.items() for v in values]
    rng = random.Random(seed)
    kinds = list(BAD)
    return [(p, all_keys[p], kinds[i % len(kinds)], rng.choice(BAD[kinds[i % len(kinds)]]))
            for i, p in enumerate(rng.sample(paths, n))]


def run_cases(bases: dict, chosen: list) -> int:
    refused = 0
    for path, base, kind, value in chosen:
        raw = mutated(bases[base], path, value)
        refused += verdict(raw, f"{' '.join(base)} {dotted(path)} = {value!r} ({kind})") is not None
    return refused


# ------------------------------------------------------------------ config keys

def test_the_fuzz_reaches_every_section_and_the_scenarios_keys(all_keys):
    sections = {p[0] for p in all_keys}
    assert {"arrivals", "call_center", "streets", "dispatch", "survey", "city", "departments", "repeat", "ranking",
            "executor", "accountability", "precision", "comparison", "max_memory_gb", "weight_robustness"} <= sections
    dotted_keys = {dotted(p) for p in all_keys}
    # keys only a scenario, a policy or a group option brings
    assert {"arrivals.shocks[0].factor", "dispatch.district_desk.staff", "executor.address",
            "precision.max_replications", "call_center.seat_changes[0].seats"} <= dotted_keys
    assert len(all_keys) > 300


def test_fuzz_a_few_dozen_keys_with_each_kind_of_bad_value(bases, all_keys):
    chosen = cases(all_keys, 48, seed=12)
    assert {kind for _, _, kind, _ in chosen} == set(BAD)
    assert run_cases(bases, chosen) > len(chosen) // 2


@pytest.mark.slow
def test_the_other_compositions_add_no_key(every_base, all_keys):
    assert set(first_base(every_base)) == set(all_keys)


@pytest.mark.slow
def test_fuzz_every_key_with_every_bad_value(every_base):
    keys = first_base(every_base)
    chosen = cases(keys, None, seed=12)
    assert run_cases(every_base, chosen) > len(chosen) // 2


# ------------------------------------------------------------------ through the CLI

def hydra_value(value) -> str:
    """``value`` in Hydra's override grammar."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, list):
        return "[" + ",".join(hydra_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{hydra_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def command_line(path: tuple, base: tuple, value) -> list[str]:
    key = dotted(path)
    fixed = {k: v for k, v in {**QUICK, **LIMIT}.items() if k != path[0] and not key.startswith(k + ".")}
    if base == ("executor=dask",):
        fixed.pop("executor", None)  # the key fuzzed is dask's; run serially unless it is kind
        base = ("executor=dask", "executor.kind=serial") if key != "executor.kind" else base
    return [*base, *(f"{k}={v}" for k, v in fixed.items()), f"{key}={hydra_value(value)}"]


def cli_cases(all_keys: dict, n: int, seed: int) -> list:
    """Cases a command line can give: keys with no list index inside them."""
    usable = {p: b for p, b in all_keys.items() if not any(isinstance(k, int) for k in p)
              and p[0] not in ("executor", "weight_robustness")}  # executor: dask needs a cluster
    return cases(usable, n, seed)


def outside_run(cwd: Path) -> set[str]:
    """Files a run could have written outside its directory: in the folder it was
    started from (besides its run directories) and the repository's outputs/ and multirun/."""
    found = {p.relative_to(cwd).as_posix() for p in cwd.rglob("*") if not p.relative_to(cwd).parts[0].startswith("run")}
    for folder in ("outputs", "multirun"):
        if (REPO / folder).is_dir():
            found |= {f"REPO/{folder}/{p.name}" for p in (REPO / folder).iterdir()}
    return found


def run_cli_in_process(args: list[str], run_dir: Path, capfd) -> tuple[int, str]:
    """``run.cli()`` with ``args``: its exit code and what it printed. What it changes in
    this process (argv, the environment, Hydra's logging handlers) is put back."""
    import logging

    import run

    argv, env, root = sys.argv, os.environ.get("HYDRA_FULL_ERROR"), logging.getLogger()
    handlers, level = list(root.handlers), root.level
    sys.argv = ["run.py", *args, f"hydra.run.dir={run_dir}"]
    try:
        with time_limit(" ".join(args)):
            try:
                run.cli()
                code = 0
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        sys.argv = argv
        if env is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = env
        for h in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(h)
            h.close()
        for h in handlers:
            if h not in root.handlers:
                root.addHandler(h)
        root.setLevel(level)
    out, err = capfd.readouterr()
    return code, out + err


def check_cli_cases(chosen: list, tmp_path: Path, capfd, monkeypatch, bases: dict) -> int:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    before = outside_run(cwd)
    refused = 0
    for i, (path, base, kind, value) in enumerate(chosen):
        args = command_line(path, base, value)
        code, out = run_cli_in_process(args, cwd / f"run{i}", capfd)
        lines = [ln for ln in out.splitlines() if ln.strip()]
        assert "Traceback" not in out, (args, out[-3000:])
        assert code in (0, 2), (args, code, out[-3000:])
        if code == 2:
            refused += 1
            assert len(lines) == 1 and lines[0].startswith("config error: "), (args, lines)
        assert outside_run(cwd) == before, (args, outside_run(cwd) - before)
        if not isinstance(value, (dict, list)):  # Hydra merges a mapping given for a mapping; raw replaces it
            quick = {**bases[base], **{k: v for k, v in QUICK_RAW.items() if k != path[0]}}
            expected = verdict(mutated(quick, path, value), " ".join(args)) is not None
            assert (code == 2) == expected, (args, code, "validation refused" if expected else "validation passed")
    return refused


def test_fuzz_through_the_cli_in_process(bases, all_keys, tmp_path, capfd, monkeypatch):
    chosen = cli_cases(all_keys, 6, seed=5)
    assert check_cli_cases(chosen, tmp_path, capfd, monkeypatch, bases) >= 1


@pytest.mark.slow
def test_fuzz_through_the_cli_in_process_more(bases, all_keys, tmp_path, capfd, monkeypatch):
    check_cli_cases(cli_cases(all_keys, 60, seed=6), tmp_path, capfd, monkeypatch, bases)


@pytest.mark.parametrize("seed", [1, pytest.param(2, marks=pytest.mark.slow), pytest.param(3, marks=pytest.mark.slow)])
def test_fuzz_through_a_subprocess(all_keys, tmp_path, seed):
    """The real command: a sample of 2 cases (a subprocess each, 60 s cap)."""
    for i, (path, base, kind, value) in enumerate(cli_cases(all_keys, 2, seed)):
        cwd = tmp_path / f"cwd{i}"
        cwd.mkdir()
        args = command_line(path, base, value)
        proc = subprocess.run([sys.executable, str(REPO / "run.py"), *args, f"hydra.run.dir={cwd / 'run'}"], cwd=cwd,
                              capture_output=True, text=True, timeout=CASE_TIMEOUT_S)
        out = proc.stdout + proc.stderr
        lines = [ln for ln in out.splitlines() if ln.strip()]
        assert "Traceback" not in out and proc.returncode in (0, 2), (args, out[-3000:])
        assert proc.returncode == 0 or (len(lines) == 1 and lines[0].startswith("config error: ")), (args, lines)
        assert {p.name for p in cwd.iterdir()} <= {"run"}, args


# ------------------------------------------------------------------ named data files

#: (scenarios/ folder, shipped file, config key that names a file of the folder)
YAML_KINDS = [("profiles", "beijing_weekday", "arrivals.intraday_profile"),
              ("rosters", "beijing_2019", "call_center.roster"),
              ("category_mix", "beijing_2019_06", "arrivals.category_mix")]
CITY_TABLE = "beijing_2019"
#: Replacements for a number in a data file.
BAD_TOKENS = ["text", "nan", ".nan", ".inf", "-1", "-1e-9", "1e308", "0", "[]", "{}", "null", "1e400", "true"]


def corrupt(data: bytes, rng: random.Random, csv: bool) -> bytes:
    """One seeded corruption of a data file's bytes."""
    text = data.decode("utf-8")
    ops = ["truncate", "flip", "token", "empty", "bom_only", "nul", "duplicate"]
    ops += ["drop_column", "short_row", "long_row", "blank_cell"] if csv else ["deep", "top_list", "tag", "tab"]
    op = rng.choice(ops)
    if op == "truncate":
        return data[:rng.randrange(len(data))]
    if op == "flip":
        out = bytearray(data)
        for _ in range(rng.randint(1, 5)):
            out[rng.randrange(len(out))] = rng.randrange(256)
        return bytes(out)
    if op == "token":
        numbers = [i for i, ch in enumerate(text) if ch.isdigit() and (i == 0 or not text[i - 1].isalnum())]
        i = rng.choice(numbers)
        j = i
        while j < len(text) and (text[j].isalnum() or text[j] in ".-+"):
            j += 1
        return (text[:i] + rng.choice(BAD_TOKENS) + text[j:]).encode("utf-8")
    if op == "empty":
        return b""
    if op == "bom_only":
        return b"\xef\xbb\xbf"
    if op == "nul":
        return data[: len(data) // 2] + b"\x00" + data[len(data) // 2:]
    if op == "duplicate":
        lines = text.splitlines(keepends=True)
        k = rng.randrange(len(lines))
        return "".join(lines[:k + 1] + [lines[k]] + lines[k + 1:]).encode("utf-8")
    if op == "drop_column":
        rows = [ln.split(",") for ln in text.splitlines()]
        k = rng.randrange(len(rows[0]))
        return "\n".join(",".join(r[:k] + r[k + 1:]) for r in rows).encode("utf-8")
    if op == "short_row":
        lines = text.splitlines()
        k = rng.randrange(1, len(lines))
        lines[k] = lines[k].rsplit(",", 1)[0]
        return "\n".join(lines).encode("utf-8")
    if op == "long_row":
        lines = text.splitlines()
        k = rng.randrange(1, len(lines))
        lines[k] += ",1,2"
        return "\n".join(lines).encode("utf-8")
    if op == "blank_cell":
        lines = text.splitlines()
        k = rng.randrange(1, len(lines))
        cells = lines[k].split(",")
        cells[rng.randrange(len(cells))] = rng.choice(["", "text", "nan", "-1", "1e308", "inf"])
        lines[k] = ",".join(cells)
        return "\n".join(lines).encode("utf-8")
    if op == "deep":
        return b"weights: " + b"[" * 1500 + b"1" + b"]" * 1500 + b"\n"
    if op == "top_list":
        return b"- 1\n- 2\n"
    if op == "tag":
        return b"weights: !!python/name:os.system\n" + data
    return data.replace(b": ", b":\t", 1)  # tab


def data_cases(n_per_kind: int, seed: int):
    rng = random.Random(seed)
    for kind, shipped, key in YAML_KINDS:
        for i in range(n_per_kind):
            yield kind, shipped, key, i, rng.randrange(2**32)
    for which in ("streets", "districts"):
        for i in range(n_per_kind):
            yield "city", which, "city.table", i, rng.randrange(2**32)


def check_data_cases(scenarios_copy: Path, default: dict, n_per_kind: int, seed: int) -> int:
    refused = 0
    for kind, shipped, key, i, case_seed in data_cases(n_per_kind, seed):
        rng = random.Random(case_seed)
        folder = scenarios_copy / kind
        if kind == "city":
            for part in ("streets", "districts"):
                src = (folder / f"{CITY_TABLE}_{part}.csv").read_bytes()
                (folder / f"fuzzed_{part}.csv").write_bytes(corrupt(src, rng, csv=True) if part == shipped else src)
        else:
            (folder / "fuzzed.yaml").write_bytes(corrupt((folder / f"{shipped}.yaml").read_bytes(), rng, csv=False))
        raw = mutated(default, tuple(key.split(".")), "fuzzed")
        got = verdict(raw, f"{kind}/{shipped} corruption {i} (seed {case_seed})")
        if got is not None:
            # names the config key that named the file, or the file (and its column)
            assert got.startswith(key) or "fuzzed" in got, (kind, i, got)
            refused += 1
    return refused


def test_fuzz_malformed_named_data_files(scenarios_copy, bases):
    assert check_data_cases(scenarios_copy, bases[()], 6, seed=3) > 10


@pytest.mark.slow
def test_fuzz_malformed_named_data_files_more(scenarios_copy, bases):
    check_data_cases(scenarios_copy, bases[()], 60, seed=4)


# ------------------------------------------------------------------ what the fuzz found

@pytest.mark.parametrize("arg", ["ranking=-1", "dispatch=1", "ranking=null", "accountability=1.5", "executor=[1]"])
def test_a_config_group_chosen_by_a_number_is_one_line(arg, tmp_path, capfd, monkeypatch):
    """Hydra raised a ValueError (a traceback) for a group option that is not a name."""
    monkeypatch.chdir(tmp_path)
    code, out = run_cli_in_process([arg, *(f"{k}={v}" for k, v in QUICK.items() if k != arg.split("=")[0])],
                                   tmp_path / "run", capfd)
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"config error: {arg.split('=')[0]} = ") and "the name of one of" in lines[0]


def test_a_yaml_data_file_nested_too_deeply_is_one_line(scenarios_copy, bases):
    """PyYAML recursed past Python's stack (RecursionError, a traceback)."""
    (scenarios_copy / "profiles" / "deep.yaml").write_bytes(b"weights: " + b"[" * 1500 + b"1" + b"]" * 1500 + b"\n")
    raw = mutated(bases[()], ("arrivals", "intraday_profile"), "deep")
    with pytest.raises(ConfigError, match="nested too deeply") as err:
        validate_like_run(raw)
    assert err.value.key == "arrivals.intraday_profile"
