"""A planner's own data files (``data_dir``): searched before the shipped scenarios/,
listed in the errors, refused when the folder does not exist, and part of the run's
fingerprint (an edited file of one's own is a new run, not "already done").
"""
from __future__ import annotations

import shutil

import pytest
import yaml

from analysis.rundir import config_fingerprint
from sim import scenario_data
from sim.city import load_city
from sim.config import build_config
from sim.errors import ConfigError
from tests.test_config import valid_raw


def write_roster(data_dir, name: str, agents) -> None:
    folder = data_dir / "rosters"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(yaml.safe_dump({"source": "[assume] a test roster", "agents": agents}),
                                         encoding="utf-8")


def with_roster(data_dir, roster) -> dict:
    raw = valid_raw()
    raw["data_dir"] = str(data_dir) if data_dir is not None else None
    raw["call_center"]["roster"] = roster
    return raw


def test_a_roster_of_ones_own_is_found_in_data_dir(tmp_path):
    write_roster(tmp_path, "night_shift", [30])
    cfg = build_config(with_roster(tmp_path, "night_shift"))
    assert cfg.call_center.roster == (30,)
    # outside the config's build the user's folder is not searched
    assert "night_shift" not in scenario_data.available("rosters")


def test_data_dir_is_searched_before_the_shipped_files(tmp_path):
    shipped = build_config(with_roster(None, "beijing_2019_inbound")).call_center.roster
    write_roster(tmp_path, "beijing_2019_inbound", [7])
    assert build_config(with_roster(tmp_path, "beijing_2019_inbound")).call_center.roster == (7,)
    assert shipped != (7,)


def test_an_unknown_name_lists_both_places(tmp_path):
    write_roster(tmp_path, "night_shift", [30])
    with pytest.raises(ConfigError) as info:
        build_config(with_roster(tmp_path, "day_shift"))
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("config error: call_center.roster = 'day_shift'")
    assert f"{tmp_path.resolve().as_posix()}/rosters/ or scenarios/rosters/" in msg
    assert "night_shift" in msg and "beijing_2019" in msg  # one's own and the shipped names


@pytest.mark.parametrize("value", ["/no/such/folder", "", 3, ["a"]])
def test_a_data_dir_that_is_not_a_folder_is_refused(value):
    with pytest.raises(ConfigError) as info:
        build_config(with_roster(None, "full") | {"data_dir": value})
    assert info.value.key == "data_dir" and "existing folder" in str(info.value)


def test_a_file_instead_of_a_folder_is_refused(tmp_path):
    (tmp_path / "plain.txt").write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match="data_dir = .* existing folder"):
        build_config(with_roster(tmp_path / "plain.txt", "full"))


def test_a_city_of_ones_own(tmp_path):
    (tmp_path / "city").mkdir()
    for part in ("districts", "streets"):
        shutil.copy(scenario_data.SCENARIOS_DIR / "city" / f"beijing_2019_{part}.csv",
                    tmp_path / "city" / f"mytown_{part}.csv")
    with scenario_data.searching(tmp_path):
        city = load_city("mytown")
    assert city.n_streets == load_city("beijing_2019").n_streets
    with pytest.raises(ConfigError) as info:
        load_city("mytown")  # not without the data_dir
    assert "beijing_2019" in str(info.value)


def test_editing_a_data_dir_file_changes_the_fingerprint(tmp_path):
    write_roster(tmp_path, "night_shift", [30])
    raw = with_roster(tmp_path, "night_shift")
    before = config_fingerprint(raw)
    assert config_fingerprint(raw) == before  # stable
    write_roster(tmp_path, "night_shift", [31])
    assert config_fingerprint(raw) != before
    # files the model does not read (outside the data sub-folders) do not matter
    after = config_fingerprint(raw)
    (tmp_path / "notes.txt").write_text("my notes", encoding="utf-8")
    assert config_fingerprint(raw) == after


def test_the_report_names_the_data_file_of_ones_own(tmp_path):
    from analysis.report.provenance import _named_data_rows

    write_roster(tmp_path, "beijing_2019", [30])  # shadows the shipped roster of that name
    cfg = {"data_dir": str(tmp_path), "call_center": {"roster": "beijing_2019"},
           "arrivals": {"intraday_profile": "beijing_weekday"}}
    rows = {r["key"]: r for r in _named_data_rows(cfg, scenario_data.SCENARIOS_DIR)}
    assert rows["call_center.roster → data"]["file"] == (tmp_path / "rosters" / "beijing_2019.yaml").as_posix()
    assert rows["arrivals.intraday_profile → data"]["file"] == "scenarios/profiles/beijing_weekday.yaml"
    shipped = {r["key"]: r for r in _named_data_rows({**cfg, "data_dir": None}, scenario_data.SCENARIOS_DIR)}
    assert shipped["call_center.roster → data"]["file"] == "scenarios/rosters/beijing_2019.yaml"
