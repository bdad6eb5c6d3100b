"""Generate the Beijing city tables: 16 districts and their real streets/townships,
333 of 2019 and 343 of 2022.

Reads the official lists in ``sources/`` (see README.md beside this script) and writes,
next to this script, for each table ``beijing_2019`` and ``beijing_2022``,

* ``<table>_districts.csv`` -- one row per district:
  ``district,district_zh,code,population_10k,streets,tickets_2019_k,source``
* ``<table>_streets.csv`` -- one row per street/township (街乡镇), in the order of the
  source file: ``street_id,code,street,street_zh,kind,district,population_10k,
  demand_weight,duty,capacity_factor``

Run from the repository root (pypinyin is needed here only, for the English names;
the model reads the CSV files and does not need it)::

    pip install -e ".[city]"    # pypinyin
    python scenarios/city/make_beijing.py

The script is deterministic: a fixed seed per table, one child random stream per
quantity (``numpy.random.SeedSequence(seed).spawn``), exact integer rounding, and fixed
text formatting, so re-running it rewrites byte-identical files (for a given numpy and
pypinyin version; numpy keeps ``Generator`` streams stable in practice but does not
promise it across versions). Because each quantity has its own stream, changing e.g.
the capacity spread does not change the street populations.

Where the numbers come from ([pub] a published figure, [approx] a published figure
given from memory or a secondary quotation, [assume] a named assumption)
---------------------------------------------------------------------------------

Streets (code, street_zh, kind, district, their number per district)
    [pub] The National Bureau of Statistics' statistical division codes (统计用区划代码),
    copied unchanged into ``sources/``: the codes as of 2019-10-31 (333 streets and
    townships, the number the 2019 league tables ranked) and as of 2022-10-31 (343,
    ranked since 2021). ``code`` is the 9-digit code (its first 6 digits are the
    district's), ``street_zh`` the official name, ``kind`` one of 街道 (urban
    sub-district), 地区 (area office: a street office and a town in one), 镇 (town),
    乡 (township). The rows keep the order of the source file (by code), so
    ``street_id`` i is row i + 1 of the source; a district's ``streets`` is its count
    of rows there.

street (English name)
    Pinyin of the official name without its kind (街道/地区/镇/乡) and without an
    ethnic marker (满族, 回族), syllables joined, an apostrophe before a syllable
    starting with a, o or e (Tian'anmen), first letter capital: 东华门街道 -> Donghuamen,
    长哨营满族乡 -> Changshaoying. A one-character stem keeps its kind: 张镇 -> Zhangzhen.
    Where the stems of two streets of a table would read the same, both add their
    kind in English (Subdistrict, Area, Town, Township): 南苑街道 -> Nanyuan
    Subdistrict, 南苑地区 -> Nanyuan Area (2019); where the kinds are the same too, the
    district instead: 八里庄街道 of Chaoyang -> Balizhuang (Chaoyang). No two streets of a
    table share an English name; a street's name can differ between the tables (南苑街道
    is plain Nanyuan in 2022): the code is the key that lasts.
    pypinyin reads a few place names wrongly (长 as zhang in 长辛店, 什刹海 as
    shensha...); ``PINYIN_FIXES`` gives their readings.

Districts
    The 16 districts of Beijing with their official English (pinyin) and Chinese
    names and their 6-digit codes [pub], in the order of their codes.

population_10k (district), table beijing_2019
    Resident population (常住人口) at end-2019, in units of 10,000 persons,
    as given in the Beijing Statistical Yearbook 2020 / the 2019 district
    statistical bulletins [approx]. Chaoyang 347.3, Haidian 323.7,
    Changping 216.6 and Shijingshan 57.0 were checked against quotations of the
    2019 bulletins; the others are recalled values (see ``POP_CHECKED``). Their
    sum is 2152.9 against the published city total of 2153.6, i.e. one or
    more recalled values are off by a few thousand people (0.03 %). Daxing
    includes the Beijing Economic-Technological Development Area (亦庄).

population_10k (district), table beijing_2022
    Resident population at the 7th census, 2020-11-01 [pub] (Beijing census bulletin
    No. 2, 2021-05-19, as quoted by 北京青年报 the same day), persons / 10,000 rounded
    to 0.01; sum 2189.31 x 10k. The published end-2022 total is 2184.3 x 10k (0.2 %
    fewer); district figures of 2022 are not used [assume: the census split holds].

tickets_2019_k (district)
    Tickets in 2019 in thousands where published (DOMAIN.md "district volumes,
    2019"): Chaoyang 320, Haidian 220, Fengtai 170, Yanqing 40 [pub]. Empty
    elsewhere. Whether these counts include tickets routed to city departments
    is not stated; we treat them as the district's street-level volume [assume].
    Both tables carry the same 2019 figures.

Street population [assume]
    The district population is split over its streets by a symmetric Dirichlet
    draw with concentration ``DIRICHLET_ALPHA`` = 8 per street: a street's
    share is Gamma(8)-distributed before normalising (coefficient of variation
    0.35), so the 90th-percentile street of a district is ~2.5x the 10th-percentile
    one. (Real streets vary more -- dense urban streets vs rural townships -- but no
    per-street figures are published; the kind of a street is not used.) Shares
    are apportioned to units of 0.01 (100 persons) by largest remainder, so the
    streets of a district sum *exactly* to the district population.

demand_weight (street)
    The street's share of all street-level tickets of the city; all weights of a
    table sum to exactly 1 (8 decimals, largest-remainder rounding).
    1. District volume: the published ``tickets_2019_k`` where there is one; for
       the other 12 districts, the pooled per-capita rate of the four published
       districts (750 k tickets / 909.2 x 10k residents = 0.825 k per 10k
       residents) times the district population [assume]. For 2022, each district's
       2019 rate per resident (published volume / 2019 population, else the pooled
       rate) times its census population [assume: demand per resident as in 2019].
    2. District share = district volume / sum over districts.
    3. Within a district, proportional to street population x a lognormal
       factor with median 1 and sigma ``DEMAND_SIGMA`` = 0.3 [assume]: some
       streets generate more demands per resident than others (old housing
       estates, construction sites, markets, ...).

duty (street)
    "24h" or "office". Streets moved to 24-hour ticket acceptance in 2019
    (DOMAIN.md) [pub], but how far this had spread is not published. Rule
    [assume]: the share of 24-hour streets depends on the district's planning
    zone (Beijing master plan 2016-2035 zoning):
      core area 首都功能核心区 (Dongcheng, Xicheng)                       1.00
      rest of the central city 中心城区 (Chaoyang, Haidian, Fengtai, Shijingshan) 0.90
      plain new towns 平原新城 (Tongzhou, Shunyi, Daxing, Changping, Fangshan) 0.65
      ecological conservation 生态涵养区 (Mentougou, Huairou, Pinggu, Miyun, Yanqing) 0.45
    Each district gets round(share x streets) 24-hour streets; which of its
    streets they are is a seeded draw without replacement. This gives about
    70 % 24-hour streets city-wide (the exact count is printed).

capacity_factor (street) [assume]
    Caseworker capacity of the street relative to what its demand alone would call
    for: streets are staffed unevenly, but every street keeps headroom. The model
    sizes a street's slots as workload / target utilisation (0.7) x capacity_factor
    (``street_caseworkers`` in sim/ticketing.py), so a street's nominal utilisation is
    0.7 / capacity_factor. Rule: capacity_factor = ``CAPACITY_FLOOR`` (0.8) + 0.2 x X,
    X lognormal with mean 1 and sigma ``CAPACITY_SIGMA`` = 0.6 (3 decimals): the
    smallest factor is 0.8, i.e. no street is loaded beyond 0.7 / 0.8 = 87.5 % of its
    capacity, and the mean is 1 (in expectation; the printed sample mean is within a
    few per mille). The generator checks the floor.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np

DIRICHLET_ALPHA = 8.0  # [assume] per-street concentration of the population split
DEMAND_SIGMA = 0.3  # [assume] lognormal sigma of the per-street demand-per-resident factor
CAPACITY_FLOOR = 0.8  # [assume] smallest capacity factor: nominal utilisation <= 0.7 / 0.8 = 0.875
CAPACITY_SIGMA = 0.6  # [assume] lognormal sigma of the capacity factor's excess over the floor
WEIGHT_DECIMALS = 8
POP_DECIMALS = 2

OUT_DIR = Path(__file__).resolve().parent
SOURCES_DIR = OUT_DIR / "sources"

# Planning zones and their share of 24-hour streets [assume].
ZONE_24H_SHARE = {
    "core": 1.00,
    "central": 0.90,
    "plain": 0.65,
    "ecological": 0.45,
}

# district, district_zh, code, zone, population_10k end-2019 [approx],
# population at the 2020 census in persons [pub], tickets_2019_k or None. In code order.
DISTRICTS = [
    ("Dongcheng", "东城区", "110101", "core", "79.4", 708829, None),
    ("Xicheng", "西城区", "110102", "core", "113.7", 1106214, None),
    ("Chaoyang", "朝阳区", "110105", "central", "347.3", 3452460, 320),
    ("Fengtai", "丰台区", "110106", "central", "202.5", 2019764, 170),
    ("Shijingshan", "石景山区", "110107", "central", "57.0", 567851, None),
    ("Haidian", "海淀区", "110108", "central", "323.7", 3133469, 220),
    ("Mentougou", "门头沟区", "110109", "ecological", "34.4", 392606, None),
    ("Fangshan", "房山区", "110111", "plain", "125.5", 1312778, None),
    ("Tongzhou", "通州区", "110112", "plain", "167.5", 1840295, None),
    ("Shunyi", "顺义区", "110113", "plain", "122.8", 1324044, None),
    ("Changping", "昌平区", "110114", "plain", "216.6", 2269487, None),
    ("Daxing", "大兴区", "110115", "plain", "188.6", 1993591, None),
    ("Huairou", "怀柔区", "110116", "ecological", "42.2", 441040, None),
    ("Pinggu", "平谷区", "110117", "ecological", "45.7", 457313, None),
    ("Miyun", "密云区", "110118", "ecological", "50.3", 527683, None),
    ("Yanqing", "延庆区", "110119", "ecological", "35.7", 345671, 40),
]
# District populations of 2019 checked against quotations of the 2019 district bulletins.
POP_CHECKED = {"Chaoyang", "Haidian", "Changping", "Shijingshan"}
CITY_POPULATION_PUB_10K = {2019: "2153.6", 2022: "2184.3"}  # [pub] statistical communiques, year end

# The tables: source file, seed, number of streets [pub], population basis.
TABLES = {
    "beijing_2019": {"year": 2019, "source": "beijing_streets_2019.csv", "seed": 20190701, "streets": 333},
    "beijing_2022": {"year": 2022, "source": "beijing_streets_2022.csv", "seed": 20221229, "streets": 343},
}
# seeds: the date of the seed article (北京青年报, 2019-07-01); the publication date of the 2022 codes.

KIND_EN = {"街道": "Subdistrict", "地区": "Area", "镇": "Town", "乡": "Township"}
ETHNIC_MARKERS = ("满族", "回族")
# Place-name readings pypinyin gets wrong (polyphonic characters), as syllables.
PINYIN_FIXES = {
    "什刹海": "shi cha hai",
    "大栅栏": "da shi lan",
    "劲松": "jin song",
    "朝阳门": "chao yang men",
    "佛子庄": "fo zi zhuang",
    "长辛店": "chang xin dian",
    "长阳": "chang yang",
    "长沟": "chang gou",
    "长哨营": "chang shao ying",
}


def units(text: str, decimals: int) -> int:
    """Exact integer of a decimal string in units of 10**-decimals ("347.3", 2 -> 34730)."""
    whole, _, frac = text.partition(".")
    frac = (frac + "0" * decimals)[:decimals]
    return int(whole) * 10**decimals + int(frac or "0")


def fmt_units(value: int, decimals: int) -> str:
    """Inverse of `units`: 34730, 2 -> "347.30"."""
    scale = 10**decimals
    return f"{value // scale}.{value % scale:0{decimals}d}"


def apportion(shares: np.ndarray, total: int) -> np.ndarray:
    """Integers proportional to `shares` that sum exactly to `total` (largest remainder).

    Ties in the remainder are broken by index (stable sort), so the result is deterministic.
    """
    shares = np.asarray(shares, dtype=float)
    exact = shares / shares.sum() * total
    base = np.floor(exact).astype(np.int64)
    missing = int(total - base.sum())
    order = np.argsort(-(exact - base), kind="stable")
    base[order[:missing]] += 1
    return base


def census_10k(persons: int) -> str:
    """Persons -> units of 10,000 with 2 decimals, rounded half up (708829 -> "70.88")."""
    return fmt_units((persons + 50) // 100, 2)


def district_population(year: int) -> list[str]:
    return [d[4] if year == 2019 else census_10k(d[5]) for d in DISTRICTS]


# ---------------------------------------------------------------------- sources and names
def read_source(name: str) -> list[dict]:
    """The rows of a source file, checked: 9-digit unique codes under their district's code."""
    with open(SOURCES_DIR / name, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    zh_of = {d[2]: d[1] for d in DISTRICTS}
    for r in rows:
        assert len(r["code"]) == 9 and r["code"].isdigit(), r
        assert r["code"][:6] == r["district_code"] and zh_of[r["district_code"]] == r["district"], r
        assert r["kind"] in KIND_EN and r["name"].endswith(r["kind"]), r
    assert len({r["code"] for r in rows}) == len(rows), name
    return rows


def stem(row: dict) -> str:
    """The name without its kind and ethnic marker; a one-character stem keeps its kind."""
    base = row["name"]
    for marker in ETHNIC_MARKERS:
        base = base.replace(marker, "")
    short = base[: -len(row["kind"])]
    return short if len(short) > 1 else base


def pinyin(text: str) -> str:
    """Place-name pinyin without tones: syllables joined, an apostrophe before a, o, e."""
    from pypinyin import lazy_pinyin  # generator-only dependency

    syllables = PINYIN_FIXES[text].split() if text in PINYIN_FIXES else lazy_pinyin(text)
    assert all(s.isascii() and s.isalpha() and "v" not in s for s in syllables), (text, syllables)
    word = syllables[0] + "".join(("'" + s) if s[0] in "aoe" else s for s in syllables[1:])
    return word[0].upper() + word[1:]


def english_names(rows: list[dict]) -> list[str]:
    """English names of a table's streets (in its order), unique within the table."""
    district_en = {d[2]: d[0] for d in DISTRICTS}
    bases = [pinyin(stem(r)) for r in rows]
    group = Counter(b.lower() for b in bases)
    kinds = Counter((b.lower(), r["kind"]) for b, r in zip(bases, rows))
    names = []
    for base, r in zip(bases, rows):
        if group[base.lower()] == 1:
            names.append(base)
        elif kinds[(base.lower(), r["kind"])] == 1:
            names.append(f"{base} {KIND_EN[r['kind']]}")
        else:
            names.append(f"{base} ({district_en[r['district_code']]})")
    assert len(set(names)) == len(names), [n for n, c in Counter(names).items() if c > 1]
    return names


# ---------------------------------------------------------------------- tables
def district_rows(year: int, counts: dict[str, int], source: str) -> list[dict]:
    rows = []
    for (name, name_zh, code, _zone, _pop19, _census, tickets), pop in zip(DISTRICTS, district_population(year)):
        if year == 2019:
            pop_src = ("population [approx, Beijing Statistical Yearbook 2020; checked vs 2019 district bulletin]"
                       if name in POP_CHECKED else "population [approx, Beijing Statistical Yearbook 2020]")
            if name == "Daxing":
                pop_src += " incl. Economic-Technological Development Area"
        else:
            pop_src = "population [pub, 7th census 2020-11-01, Beijing census bulletin no. 2]"
        st_src = f"streets {counts[code]} [pub, NBS division codes, sources/{source}]"
        if tickets is None:
            tk_src = "tickets not published (demand from pooled per-capita rate [assume])"
        else:
            tk_src = f"tickets {tickets}k [pub, DOMAIN.md district volumes 2019]"
        if year != 2019:
            tk_src += "; 2019 demand per resident carried to 2022 [assume]"
        rows.append({"district": name, "district_zh": name_zh, "code": code, "population_10k": pop,
                     "streets": counts[code], "tickets_2019_k": "" if tickets is None else str(tickets),
                     "source": "; ".join([pop_src, st_src, tk_src])})
    return rows


def district_volume(year: int) -> tuple[np.ndarray, float]:
    """Street tickets per district (thousands, relative) and the pooled 2019 rate."""
    pop19 = np.array([float(d[4]) for d in DISTRICTS])
    published = np.array([d[6] is not None for d in DISTRICTS])
    tickets = np.array([d[6] if d[6] is not None else np.nan for d in DISTRICTS], dtype=float)
    rate = tickets[published].sum() / pop19[published].sum()  # k tickets per 10k residents, 2019
    per_resident = np.where(published, tickets / pop19, rate)
    pop = np.array([float(p) for p in district_population(year)])
    return per_resident * pop, rate


def build(table: str, source_rows: list[dict]) -> tuple[list[dict], list[dict], np.ndarray, float]:
    spec = TABLES[table]
    year = spec["year"]
    ss = np.random.SeedSequence(spec["seed"])
    rng_pop, rng_demand, rng_duty, rng_cap = (np.random.default_rng(s) for s in ss.spawn(4))

    counts = Counter(r["district_code"] for r in source_rows)
    assert sum(counts.values()) == spec["streets"] and set(counts) == {d[2] for d in DISTRICTS}
    drows = district_rows(year, counts, spec["source"])
    volume, rate = district_volume(year)
    district_share = volume / volume.sum()
    pops = district_population(year)

    names = english_names(source_rows)
    streets = []
    raw_weight = []
    start = 0
    for d, (name, _name_zh, code, zone, _p19, _census, _tk) in enumerate(DISTRICTS):
        n = counts[code]
        mine, mine_en = source_rows[start:start + n], names[start:start + n]
        assert all(r["district_code"] == code for r in mine), f"{spec['source']}: rows not grouped by district"
        start += n
        # Population split (Dirichlet), apportioned exactly in units of 0.01 x 10k.
        shares = rng_pop.dirichlet(np.full(n, DIRICHLET_ALPHA))
        pop_units = apportion(shares, units(pops[d], POP_DECIMALS))
        # Demand within the district: population x lognormal(0, sigma) factor.
        factor = rng_demand.lognormal(mean=0.0, sigma=DEMAND_SIGMA, size=n)
        w = pop_units * factor
        raw_weight.append(district_share[d] * w / w.sum())
        # Duty: round(share x n) 24-hour streets, which ones by a seeded draw.
        n24 = int(round(ZONE_24H_SHARE[zone] * n))
        is24 = np.zeros(n, dtype=bool)
        is24[rng_duty.choice(n, size=n24, replace=False)] = True
        # Staffing relative to demand: floor + 0.2 x lognormal with mean 1.
        excess = rng_cap.lognormal(mean=-CAPACITY_SIGMA**2 / 2, sigma=CAPACITY_SIGMA, size=n)
        cap = CAPACITY_FLOOR + (1.0 - CAPACITY_FLOOR) * excess
        for i, r in enumerate(mine):
            streets.append({
                "code": r["code"],
                "street": mine_en[i],
                "street_zh": r["name"],
                "kind": r["kind"],
                "district": name,
                "population_10k": fmt_units(int(pop_units[i]), POP_DECIMALS),
                "duty": "24h" if is24[i] else "office",
                "capacity_factor": f"{cap[i]:.3f}",
            })
    assert start == len(source_rows)

    weight_units = apportion(np.concatenate(raw_weight), 10**WEIGHT_DECIMALS)
    for i, row in enumerate(streets):
        row["street_id"] = i
        row["demand_weight"] = fmt_units(int(weight_units[i]), WEIGHT_DECIMALS)
    return drows, streets, district_share, rate


def write_csv(path: Path, fieldnames, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fieldnames, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row[k] for k in fieldnames})


DISTRICT_FIELDS = ["district", "district_zh", "code", "population_10k", "streets", "tickets_2019_k", "source"]
STREET_FIELDS = ["street_id", "code", "street", "street_zh", "kind", "district", "population_10k", "demand_weight",
                 "duty", "capacity_factor"]


def check(table: str, source_rows: list[dict], drows: list[dict], streets: list[dict]) -> None:
    n = TABLES[table]["streets"]
    assert len(drows) == 16 and len(streets) == n
    assert [s["street_id"] for s in streets] == list(range(n))
    assert [s["code"] for s in streets] == [r["code"] for r in source_rows]
    assert [s["street_zh"] for s in streets] == [r["name"] for r in source_rows]
    total_w = sum(units(s["demand_weight"], WEIGHT_DECIMALS) for s in streets)
    assert total_w == 10**WEIGHT_DECIMALS, total_w
    for d in drows:
        mine = [s for s in streets if s["district"] == d["district"]]
        assert len(mine) == d["streets"], d["district"]
        assert all(s["code"].startswith(d["code"]) for s in mine), d["district"]
        pop = sum(units(s["population_10k"], POP_DECIMALS) for s in mine)
        assert pop == units(d["population_10k"], POP_DECIMALS), d["district"]
    assert len({s["street"] for s in streets}) == n
    assert min(float(s["capacity_factor"]) for s in streets) >= CAPACITY_FLOOR


def main():
    for table, spec in TABLES.items():
        source_rows = read_source(spec["source"])
        drows, streets, district_share, rate = build(table, source_rows)
        check(table, source_rows, drows, streets)
        write_csv(OUT_DIR / f"{table}_districts.csv", DISTRICT_FIELDS, drows)
        write_csv(OUT_DIR / f"{table}_streets.csv", STREET_FIELDS, streets)

        n24 = sum(s["duty"] == "24h" for s in streets)
        city_pop = sum(units(d["population_10k"], POP_DECIMALS) for d in drows)
        cap = np.array([float(s["capacity_factor"]) for s in streets])
        kinds = Counter(s["kind"] for s in streets)
        print(f"{table}: wrote {table}_districts.csv (16 districts) and {table}_streets.csv ({len(streets)} streets: "
              + ", ".join(f"{k} {v}" for k, v in kinds.items()) + ")")
        print(f"  population sum {fmt_units(city_pop, POP_DECIMALS)} x 10k (published city total end-{spec['year']} "
              f"{CITY_POPULATION_PUB_10K[spec['year']]}); pooled 2019 rate {rate:.4f} k tickets per 10k residents")
        print(f"  24h streets: {n24}/{len(streets)} = {n24 / len(streets):.1%}; capacity_factor min {cap.min():.3f} "
              f"(utilisation <= {0.7 / cap.min():.3f} at target 0.7), mean {cap.mean():.3f}, max {cap.max():.3f}")
        print(f"  {'district':<12} {'streets':>7} {'pop_10k':>8} {'demand_share':>12}")
        for d, share in zip(drows, district_share):
            print(f"  {d['district']:<12} {d['streets']:>7} {d['population_10k']:>8} {share:>12.4f}")


if __name__ == "__main__":
    main()
