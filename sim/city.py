"""The city a scenario stands on: 16 districts and their streets/townships.

Read from ``scenarios/city/<table>_districts.csv`` and ``<table>_streets.csv`` (see
``scenarios/city/README.md``), checked column by column: a missing column, an unknown
district, a bad or repeated code, an unknown kind or a bad number stops the run with
the one-line :class:`ConfigError`.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.errors import ConfigError
from sim.names import plain_name
from sim.scenario_data import SCENARIOS_DIR, folders, where as searched_in

DISTRICT_COLUMNS = ("district", "district_zh", "code", "population_10k", "streets")
STREET_COLUMNS = ("street_id", "code", "street", "street_zh", "kind", "district", "population_10k", "demand_weight",
                  "duty", "capacity_factor")
DUTY_VALUES = ("24h", "office")
#: Kinds of street-level unit (NBS division codes): urban sub-district, area office
#: (a street office and a town in one), town, township; and their English names.
KINDS = {"街道": "subdistrict", "地区": "area", "镇": "town", "乡": "township"}
DISTRICT_CODE_DIGITS = 6  # NBS code of a district (110105: Chaoyang)
STREET_CODE_DIGITS = 9  # NBS code of a street: its district's code + 3 digits


@dataclass(frozen=True)
class City:
    district_names: tuple[str, ...]
    district_zh: tuple[str, ...]
    district_population_10k: np.ndarray
    street_names: tuple[str, ...]  # English (pinyin of the Chinese name)
    street_zh: tuple[str, ...]  # official Chinese name (two streets may share one)
    street_district: np.ndarray  # district index of each street
    street_population_10k: np.ndarray
    street_weight: np.ndarray  # share of the city's street tickets, sums to 1
    street_24h: np.ndarray  # True: 24-hour duty; False: office hours
    capacity_factor: np.ndarray  # relative staffing, 1 = as demand alone calls for
    district_code: tuple[str, ...]  # 6-digit NBS code
    street_code: tuple[str, ...]  # 9-digit NBS code, unique
    street_kind: tuple[str, ...]  # 街道, 地区, 镇 or 乡 (KINDS)

    @property
    def n_streets(self) -> int:
        return len(self.street_names)

    @property
    def n_districts(self) -> int:
        return len(self.district_names)


def city_names(folder: Path) -> list[str]:
    """The cities of ``folder``: the names of its ``<name>_streets.csv`` files."""
    return sorted(p.name[: -len("_streets.csv")] for p in folder.glob("*_streets.csv"))


def load_city(table: str, key: str = "city.table") -> City:
    """Load and check the two CSV files of city ``table``: from the user's
    ``<data_dir>/city/`` if it holds both, else from ``scenarios/city/``
    (sim.scenario_data.folders)."""
    searched, shown = folders("city", SCENARIOS_DIR / "city"), searched_in("city", SCENARIOS_DIR / "city")

    def cities() -> list[str]:  # listed only for an error
        return sorted({n for folder in searched for n in city_names(folder)})

    plain_name(table, key, shown, cities)  # nothing outside it
    folder = next((f for f in searched if (f / f"{table}_districts.csv").is_file()
                   and (f / f"{table}_streets.csv").is_file()), None)
    if folder is None:
        raise ConfigError(key, table, f"a city in {shown}: " + ", ".join(cities()))
    dist_path, street_path = folder / f"{table}_districts.csv", folder / f"{table}_streets.csv"
    districts = _read(dist_path, DISTRICT_COLUMNS, key, table)
    streets = _read(street_path, STREET_COLUMNS, key, table)
    names = tuple(r["district"] for r in districts)
    index = {name: i for i, name in enumerate(names)}
    where = street_path.name
    district_code = _codes(districts, dist_path.name, DISTRICT_CODE_DIGITS)
    street_code = _codes(streets, where, STREET_CODE_DIGITS)
    for i, row in enumerate(streets):
        if row["district"] not in index:
            raise ConfigError(f"{where} row {i + 1} district", row["district"], "a district of " + dist_path.name)
        if row["duty"] not in DUTY_VALUES:
            raise ConfigError(f"{where} row {i + 1} duty", row["duty"], " or ".join(DUTY_VALUES))
        if row["kind"] not in KINDS:
            raise ConfigError(f"{where} row {i + 1} kind", row["kind"], " or ".join(KINDS))
        own = district_code[index[row["district"]]]
        if not street_code[i].startswith(own):
            raise ConfigError(f"{where} row {i + 1} code", row["code"],
                              f"a code starting with the code of district {row['district']} ({own})")
    weight = _column(streets, "demand_weight", where, lo=0.0)
    if not np.isclose(weight.sum(), 1.0, atol=1e-6):
        raise ConfigError(f"{where} demand_weight", round(float(weight.sum()), 6), "weights that sum to 1")
    street_district = np.array([index[r["district"]] for r in streets], dtype=np.int16)
    for d, row in enumerate(districts):
        listed = int(np.count_nonzero(street_district == d))
        if str(listed) != row["streets"].strip():
            raise ConfigError(f"{dist_path.name} {row['district']} streets", row["streets"],
                              f"the number of its streets in {where} ({listed})")
    return City(
        district_names=names,
        district_zh=tuple(r["district_zh"] for r in districts),
        district_population_10k=_column(districts, "population_10k", dist_path.name, lo=0.0),
        street_names=tuple(r["street"] for r in streets),
        street_zh=tuple(r["street_zh"] for r in streets),
        street_district=street_district,
        street_population_10k=_column(streets, "population_10k", where, lo=0.0),
        street_weight=weight,
        street_24h=np.array([r["duty"] == "24h" for r in streets]),
        capacity_factor=_column(streets, "capacity_factor", where, lo=0.0),
        district_code=district_code,
        street_code=street_code,
        street_kind=tuple(r["kind"] for r in streets),
    )


def _read(path, columns: tuple[str, ...], key: str, table: str) -> list[dict]:
    """The rows of a CSV file; a file that is not UTF-8 CSV is a one-line ConfigError,
    a short row reads as empty cells (which the checks then refuse)."""
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh, restval="")
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise ConfigError(f"{path.name} columns", reader.fieldnames, "columns including " + ", ".join(missing))
            rows = list(reader)
    except UnicodeDecodeError as err:
        raise ConfigError(key, table, f"a city whose scenarios/city/{path.name} is UTF-8 (byte {err.start} is not)") \
            from None
    except csv.Error as err:
        raise ConfigError(key, table, f"a city whose scenarios/city/{path.name} is plain CSV ({err})") from None
    if not rows:
        raise ConfigError(path.name, "no rows", "at least one row")
    return rows


def _codes(rows: list[dict], where: str, digits: int) -> tuple[str, ...]:
    """The ``code`` column: ``digits`` digits, no two rows the same."""
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        code = row["code"]
        if len(code) != digits or not (code.isascii() and code.isdigit()):
            raise ConfigError(f"{where} row {i + 1} code", code, f"a {digits}-digit code")
        if code in seen:
            raise ConfigError(f"{where} row {i + 1} code", code, f"a code no other row has (row {seen[code]} has it)")
        seen[code] = i + 1
    return tuple(seen)


def _column(rows: list[dict], name: str, where: str, lo: float) -> np.ndarray:
    try:
        values = np.array([float(r[name]) for r in rows])
    except ValueError:
        bad = next(r[name] for r in rows if not _is_number(r[name]))
        raise ConfigError(f"{where} {name}", bad, "a number") from None
    if not np.isfinite(values).all() or (values < lo).any():
        bad = values[~np.isfinite(values) | (values < lo)][0]
        raise ConfigError(f"{where} {name}", float(bad), f"a finite number >= {lo}")
    return values


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False
