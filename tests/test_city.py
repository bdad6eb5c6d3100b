"""The city tables (scenarios/city/): the real streets and townships of 2019 (333) and
2022 (343) from the NBS division codes in scenarios/city/sources/, with their codes,
names and kinds row for row; every street keeps capacity headroom; a bad code or kind
stops the run with the one-line ConfigError."""
from __future__ import annotations

import csv
from collections import Counter

import numpy as np
import pytest

import sim.city
from sim.city import KINDS, load_city
from sim.errors import ConfigError
from tests.test_tickets import (GOOD_DISTRICTS, GOOD_STREETS, REPO, STREET_HEADER, assert_config_error, city_dir,
                                full_config)

CITY = REPO / "scenarios" / "city"
TABLES = {"beijing_2019": ("beijing_streets_2019.csv", 333), "beijing_2022": ("beijing_streets_2022.csv", 343)}


def source_rows(name: str) -> list[dict]:
    with (CITY / "sources" / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("table", TABLES)
def test_the_table_is_the_source_file_row_for_row(table):
    source, n = TABLES[table]
    rows = source_rows(source)
    city = load_city(table)
    assert city.n_streets == len(rows) == n and city.n_districts == 16
    assert list(city.street_code) == [r["code"] for r in rows]
    assert list(city.street_zh) == [r["name"] for r in rows]
    assert list(city.street_kind) == [r["kind"] for r in rows]
    assert [city.district_zh[d] for d in city.street_district] == [r["district"] for r in rows]
    assert [city.district_code[d] for d in city.street_district] == [r["district_code"] for r in rows]
    # the districts' street counts are those of the file
    counts = Counter(r["district_code"] for r in rows)
    assert {c: int(np.count_nonzero(city.street_district == d)) for d, c in enumerate(city.district_code)} == counts


def test_2022_has_the_new_streets_of_fengtai_and_tongzhou():
    old, new = load_city("beijing_2019"), load_city("beijing_2022")
    per = {t: Counter(c.district_names[d] for d in c.street_district) for t, c in (("2019", old), ("2022", new))}
    grew = {d: per["2022"][d] - per["2019"][d] for d in per["2022"] if per["2022"][d] != per["2019"][d]}
    assert grew == {"Fengtai": 5, "Tongzhou": 5}
    assert "成寿寺街道" in new.street_zh and "成寿寺街道" not in old.street_zh


@pytest.mark.parametrize("table", TABLES)
def test_names_kinds_and_numbers_of_the_real_tables(table):
    city = load_city(table)
    assert set(city.street_kind) <= set(KINDS)
    assert len(set(city.street_names)) == city.n_streets  # English names unique within a table
    assert all(n.isascii() and n[0].isupper() for n in city.street_names)
    assert "Donghuamen" in city.street_names and "东华门街道" in city.street_zh
    assert city.street_weight.sum() == pytest.approx(1.0, abs=1e-9)
    for d in range(city.n_districts):
        mine = city.street_district == d
        assert city.street_population_10k[mine].sum() == pytest.approx(city.district_population_10k[d], abs=1e-6)


@pytest.mark.parametrize("table", TABLES)
def test_every_street_has_capacity_headroom(table):
    """Slots = workload / 0.7 x capacity_factor, so a factor of at least 0.8 keeps every
    street's nominal utilisation at or below 0.875; the mean stays near 1."""
    factor = load_city(table).capacity_factor
    assert factor.min() >= 0.8
    assert 0.95 <= factor.mean() <= 1.05


def test_the_2024_scenario_uses_the_2022_table_and_2019_the_2019_one():
    assert full_config().city.n_streets == 333
    cfg = full_config("scenario=growth_2024")
    assert cfg.tickets.city.table == "beijing_2022" and cfg.city.n_streets == 343


def _bad_district_code(text: str) -> str:
    return text.replace("South,南,119902", "South,南,11990X")


@pytest.mark.parametrize(("districts", "streets", "key"), [
    pytest.param(GOOD_DISTRICTS, GOOD_STREETS.replace("119901001", "11990100"), "tiny_streets.csv row 1 code",
                 id="eight-digits"),
    pytest.param(GOOD_DISTRICTS, GOOD_STREETS.replace("119901100", "11990110a"), "tiny_streets.csv row 2 code",
                 id="not-digits"),
    pytest.param(GOOD_DISTRICTS, GOOD_STREETS.replace("119901100", "119901001"), "tiny_streets.csv row 2 code",
                 id="repeated"),
    pytest.param(GOOD_DISTRICTS, GOOD_STREETS.replace("119902200", "119901200"), "tiny_streets.csv row 3 code",
                 id="other-district"),
    pytest.param(GOOD_DISTRICTS, GOOD_STREETS.replace(",乡,South", ",村,South"), "tiny_streets.csv row 3 kind",
                 id="unknown-kind"),
    pytest.param(GOOD_DISTRICTS, GOOD_STREETS.replace(",kind", "").replace(",街道,", ",").replace(",镇,", ",")
                 .replace(",乡,", ","), "tiny_streets.csv columns", id="no-kind-column"),
    pytest.param(_bad_district_code(GOOD_DISTRICTS), GOOD_STREETS, "tiny_districts.csv row 2 code",
                 id="district-code"),
    pytest.param(GOOD_DISTRICTS.replace("code,", ""), GOOD_STREETS, "tiny_districts.csv columns",
                 id="no-district-code-column"),
])
def test_bad_code_or_kind_gives_one_line_error(tmp_path, monkeypatch, districts, streets, key):
    monkeypatch.setattr(sim.city, "SCENARIOS_DIR", city_dir(tmp_path, "tiny", districts, streets))
    with pytest.raises(ConfigError) as info:
        load_city("tiny")
    assert_config_error(info, key)


def test_a_bad_code_names_file_row_column_value_and_what_is_allowed(tmp_path, monkeypatch):
    streets = STREET_HEADER + GOOD_STREETS[len(STREET_HEADER):].replace("119901100", "1199011")
    monkeypatch.setattr(sim.city, "SCENARIOS_DIR", city_dir(tmp_path, "tiny", GOOD_DISTRICTS, streets))
    with pytest.raises(ConfigError) as info:
        load_city("tiny")
    assert str(info.value) == ("config error: tiny_streets.csv row 2 code = '1199011' is not allowed; "
                               "expected a 9-digit code")


def test_the_generator_rewrites_the_committed_tables(tmp_path, monkeypatch):
    """scenarios/city/make_beijing.py, run again, writes the files in the repository
    byte for byte (needs pypinyin, a generator-only dependency: `pip install pypinyin`)."""
    pytest.importorskip("pypinyin")
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_beijing", CITY / "make_beijing.py")
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    monkeypatch.setattr(make, "OUT_DIR", tmp_path)
    make.main()
    for table in TABLES:
        for part in ("districts", "streets"):
            name = f"{table}_{part}.csv"
            assert (tmp_path / name).read_bytes() == (CITY / name).read_bytes(), name


def _league_entry(level: str, units: list[int]) -> dict:
    from analysis.ranking import CLASSES
    n = len(units)
    return {"replication": 0, "month": "2019-06", "level": level, "unit": np.array(units),
            "score": np.linspace(90, 60, n), "rank": np.arange(1, n + 1),
            "classes": {c: np.zeros(n, dtype=bool) for c in CLASSES}, "rates": np.full((n, 3), 0.8),
            "ns": np.full((n, 3), 20.0), "tickets": np.full(n, 30.0), "demand_per_10k": np.full(n, 5.0)}


def test_rankings_csv_ends_with_the_official_code():
    """rankings.csv keeps its columns in their order and appends ``code``: the street's
    9-digit code, or the district's 6-digit one."""
    from analysis.rankings.league import RANKING_COLUMNS, ranking_rows
    assert RANKING_COLUMNS[-2:] == ("demand_per_10k", "code")
    assert RANKING_COLUMNS[:8] == ("replication", "month", "level", "unit", "district", "district_zh", "street",
                                   "street_zh")
    city = load_city("beijing_2019")
    rows = [dict(zip(RANKING_COLUMNS, r)) for r in
            ranking_rows([_league_entry("streets", [0, 46]), _league_entry("districts", [2])], city)]
    assert [(r["street_zh"], r["street"], r["code"]) for r in rows[:2]] == [
        ("东华门街道", "Donghuamen", "110101001"), ("八里庄街道", "Balizhuang (Chaoyang)", "110105015")]
    assert (rows[2]["district_zh"], rows[2]["street"], rows[2]["code"]) == ("朝阳区", "", "110105")


def test_cli_league_table_shows_chinese_names_first_in_aligned_columns(tmp_path):
    from analysis.io import write_csv_atomic
    from analysis.rankings.league import RANKING_COLUMNS, ranking_rows
    from analysis.summary import _display_width, format_league
    city = load_city("beijing_2019")
    longest = [46, 109] + list(range(1, 11))  # 八里庄街道 Balizhuang (Chaoyang), (Haidian), ...
    write_csv_atomic(tmp_path / "rankings.csv", list(RANKING_COLUMNS),
                     ranking_rows([_league_entry("streets", longest)], city))
    text = format_league(tmp_path, city, show=5)
    lines = text.splitlines()
    assert "八里庄街道 Balizhuang (Chaoyang)  朝阳区 Chaoyang" in lines[2]
    # the district column starts at the same display column on every row
    rows = [line for line in lines[2:] if line.strip() != "..."]
    assert len(rows) == 10
    starts = {_display_width(line[:min(line.index(d) for d in ("朝阳区", "海淀区", "东城区") if d in line)])
              for line in rows}
    assert len(starts) == 1
