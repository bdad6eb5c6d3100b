"""Issue 12, class 6: nothing a config sets reads or writes files outside the run.

- Run and sweep folders: ``sweep_name`` must be a plain name; a job folder named by its
  overrides (``description=a/../../y``) stays one folder inside ``multirun/<sweep_name>/``
  (sim.names, conf/config.yaml).
- Data names (profiles, rosters, category mixes, city tables) are plain names inside
  ``scenarios/<kind>/``; errors list what exists and never echo a file's contents.
- Scenario (and every other group's) files are data: no ``_target_``, no ``hydra.*``
  except ``hydra.sweeper.params`` (sim.config_files), also through ``--config-dir``.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from sim.config import build_config
from sim.config_files import check_config_dirs, check_file, check_group_choices
from sim.errors import MAX_VALUE_CHARS, ConfigError
from sim.names import MAX_FOLDER_BYTES, folder_name, is_plain, sweep_name

REPO = Path(__file__).resolve().parent.parent
CONF_DIR = REPO / "conf"
RUN = str(REPO / "run.py")
TINY = ["scenario=erlang_flat", "replications=1", "horizon_days=0.05", "warmup_days=0", "executor=serial",
        "charts=none", "report=false"]


def run_in(cwd: Path, args: list[str]) -> subprocess.CompletedProcess:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run([sys.executable, RUN, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


# ------------------------------------------------------------------ run and sweep folders
def test_a_sweep_name_that_is_a_path_is_refused_and_nothing_is_written(tmp_path):
    cwd = tmp_path / "a" / "b"
    proc = run_in(cwd, ["-m", *TINY, "sweep_name=../../x"])
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("config error: sweep_name = '../../x'")
    assert "Traceback" not in proc.stderr
    assert files_under(tmp_path) == {tmp_path / "a", cwd}, "nothing written anywhere"


def test_a_description_with_slashes_and_dots_stays_one_job_folder_inside_the_sweep(tmp_path):
    cwd = tmp_path / "a" / "b"
    proc = run_in(cwd, ["-m", *TINY, "description=a/../../../y"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    sweep = cwd / "multirun" / "sweep"
    outside = {p for p in files_under(tmp_path) if p not in (tmp_path / "a", cwd) and cwd / "multirun" not in
               (p, *p.parents)}
    assert not outside, f"written outside multirun/: {sorted(outside)}"
    jobs = [p for p in sweep.iterdir() if (p / "summary.json").is_file()]
    assert [j.name for j in jobs] == ["description=a_.._.._.._y,horizon_days=0.05,replications=1,"
                                      "scenario=erlang_flat,warmup_days=0"]


def test_folder_names_are_one_folder_and_plain_ones_unchanged():
    assert folder_name("call_center.seats=400,replications=2") == "call_center.seats=400,replications=2"
    assert folder_name("description=a/../../y") == "description=a_.._.._y"
    assert folder_name("..") == "_" and folder_name("") == "_" and folder_name("a\\..\\b") == "a_.._b"
    long_a, long_b = "x" * 300 + "a", "x" * 300 + "b"
    assert len(folder_name(long_a).encode()) <= MAX_FOLDER_BYTES and folder_name(long_a) != folder_name(long_b)
    assert len(folder_name("说" * 200).encode()) <= MAX_FOLDER_BYTES
    for bad in ("../x", "/abs", "a/b", "..", "", " ", "C:x", "..hidden"):
        with pytest.raises(ConfigError, match="sweep_name"):
            sweep_name(bad)
    assert sweep_name("seats_study") == "seats_study"


# ------------------------------------------------------------------ data names
@pytest.fixture(scope="module")
def raw_config() -> dict:
    """The default config, composed once, as the dict build_config reads."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config")
    raw = OmegaConf.to_container(cfg, resolve=True)
    raw["scenario"] = "beijing_2019"
    return raw


DATA_KEYS = [("arrivals", "intraday_profile", "weights", "beijing_weekday"),
             ("call_center", "roster", "agents", "beijing_2019"),
             ("arrivals", "category_mix", "shares", "beijing_2019_06"),
             ("city", "table", None, "beijing_2019")]


@pytest.mark.parametrize("section,key,field,existing", DATA_KEYS)
@pytest.mark.parametrize("bad", ["../../{secret}", "{abs}", "sub/name", "..", "", "..\\x", "C:\\x"])
def test_data_names_are_plain_names_and_errors_never_echo_a_file(raw_config, tmp_path, section, key, field,
                                                                   existing, bad):
    secret = tmp_path / "secret"
    secret.with_suffix(".yaml").write_text(f"{field or 'x'}: SECRET-CONTENT\n", encoding="utf-8")
    (tmp_path / "secret_streets.csv").write_text("SECRET-CONTENT\n", encoding="utf-8")
    (tmp_path / "secret_districts.csv").write_text("SECRET-CONTENT\n", encoding="utf-8")
    rel = Path("..", "..", "..", "..", "..", "..", "..", "..", *secret.parts[1:]).as_posix()
    value = bad.format(secret=rel, abs=str(secret))
    raw = {**raw_config, section: {**raw_config[section], key: value}}
    with pytest.raises(ConfigError) as err:
        build_config(raw)
    text = str(err.value)
    assert f"{section}.{key}" in text and "SECRET" not in text
    assert existing in text, "the message lists the names that exist"


def test_an_error_never_shows_more_than_a_bit_of_a_value():
    text = str(ConfigError("arrivals.intraday_profile", list(range(1000)), "weights"))
    assert len(text) < MAX_VALUE_CHARS + 120 and "(4890 characters)" in text


# ------------------------------------------------------------------ scenario files are data
EVIL_SCENARIO = """\
# @package _global_
defaults:
  - erlang_flat
  - _self_
hydra:
  callbacks:
    evil:
      _target_: os.makedirs
      name: {target}
"""


def test_a_scenario_file_cannot_set_hydra_callbacks(tmp_path):
    conf = tmp_path / "myconf"
    (conf / "scenario").mkdir(parents=True)
    target = tmp_path / "pwned"
    (conf / "scenario" / "evil.yaml").write_text(EVIL_SCENARIO.format(target=target), encoding="utf-8")
    proc = run_in(tmp_path / "cwd", ["--config-dir", str(conf), "scenario=evil", *TINY[1:],
                                     f"hydra.run.dir={tmp_path / 'run'}"])
    assert proc.returncode == 2 and not target.exists(), "the callback never ran"
    assert proc.stderr.strip().splitlines() == [
        "config error: config file scenario/evil = 'hydra.callbacks.evil._target_' is not allowed; expected a data "
        "file: no _target_, no hydra settings except hydra.sweeper.params (an experiment's sweep); set Hydra "
        "options on the command line"]
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("text,what", [
    ("# @package _global_\ncall_center:\n  seats: {_target_: os.getcwd}\n", "call_center.seats._target_"),
    ("# @package _global_\nhydra:\n  run:\n    dir: /tmp\n", "hydra.run"),
    ("# @package _global_\nhydra:\n  job:\n    env_set: {A: b}\n", "hydra.job"),
    ("# @package hydra\ncallbacks: {}\n", "# @package hydra"),
    ("# @package _global_.hydra.callbacks\nx: 1\n", "# @package _global_.hydra.callbacks"),
    ("defaults:\n  - override /hydra/callbacks: mine\n", "defaults: override /hydra/callbacks: mine"),
    ("defaults:\n  - /tickets@hydra: beijing\n", "defaults: /tickets@hydra: beijing"),
    ("# @package _global_\nhydra:\n  sweeper:\n    params:\n      hydra.run.dir: a,b\n",
     "hydra.sweeper.params.hydra.run.dir"),
])
def test_config_files_are_data(tmp_path, text, what):
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        check_file(path, "scenario/x")
    assert err.value.value == what


def test_the_shipped_config_files_and_an_experiments_sweep_are_allowed(tmp_path):
    check_config_dirs([CONF_DIR], CONF_DIR / "config.yaml")  # conf/experiment/*.yaml set hydra.sweeper.params
    path = tmp_path / "exp.yaml"
    path.write_text("# @package _global_\nsweep_name: mine\nhydra:\n  sweeper:\n    params:\n"
                    "      call_center.seats: 400,500\n", encoding="utf-8")
    check_file(path, "experiment/exp")
    assert is_plain("beijing_2019") and not is_plain("../beijing_2019")


@pytest.mark.parametrize("arg", ["scenario=../experiment/policy_compare", "dispatch=/etc/x", "+scenario=..\\x",
                                 "scenario=erlang_flat,../config"])
def test_a_config_group_choice_is_a_name_not_a_path(arg):
    with pytest.raises(ConfigError) as err:
        check_group_choices([arg], [CONF_DIR])
    assert err.value.key == arg.split("=")[0].lstrip("+") and "one of " in err.value.allowed
    check_group_choices(["scenario=erlang_flat", "dispatch=two_level,whistle", "description=a/../b"], [CONF_DIR])
