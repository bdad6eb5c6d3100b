"""Generate the Beijing 2019 city data: 16 districts and 333 streets/townships.

Writes, next to this script,

* ``beijing_2019_districts.csv`` -- one row per district:
  ``district,district_zh,population_10k,streets,tickets_2019_k,source``
* ``beijing_2019_streets.csv`` -- one row per street/township (街乡镇):
  ``street_id,street,street_zh,district,population_10k,demand_weight,duty,capacity_factor``

Run from the repository root::

    python scenarios/city/make_beijing_2019.py

The script is deterministic: a fixed seed, one child random stream per quantity
(``numpy.random.SeedSequence(SEED).spawn``), exact integer rounding, and fixed text
formatting, so re-running it rewrites byte-identical files (for a given numpy
version; numpy keeps ``Generator`` streams stable in practice but does not promise
it across versions). Because each quantity has its own stream, changing e.g. the
capacity spread does not change the street populations.

Where the numbers come from ([pub] a published figure, [assume] a named assumption)
---------------------------------------------------------------------------------

Districts
    The 16 districts of Beijing with their official English (pinyin) and Chinese
    names [pub].

population_10k (district)
    Resident population (常住人口) at end-2019, in units of 10,000 persons,
    as given in the Beijing Statistical Yearbook 2020 / the 2019 district
    statistical bulletins [approx]. Chaoyang 347.3, Haidian 323.7,
    Changping 216.6 and Shijingshan 57.0 were checked against quotations of the
    2019 bulletins; the others are recalled values (see ``POP_CHECKED``). Their
    sum is 2152.9 against the published city total of 2153.6, i.e. one or
    more recalled values are off by a few thousand people (0.03 %). Daxing
    includes the Beijing Economic-Technological Development Area (亦庄).

streets (district)
    Number of streets + towns + townships (街道 + 镇 + 乡) per district. The seed
    article (July 2019) ranks "16 districts, 333 streets/townships"; the official
    count was 338 after the 2019 re-divisions. We start from the approximate
    2019 counts (sum 338) [approx] and remove 5 in districts that created new
    streets in 2019: Fengtai -2, Changping -1, Daxing -2 [assume] (which exact
    streets were new is not modelled; only the totals matter to the model).

tickets_2019_k (district)
    Tickets in 2019 in thousands where published (DOMAIN.md "district volumes,
    2019"): Chaoyang 320, Haidian 220, Fengtai 170, Yanqing 40 [pub]. Empty
    elsewhere. Whether these counts include tickets routed to city departments
    is not stated; we treat them as the district's street-level volume [assume].

Street population
    The district population is split over its streets by a symmetric Dirichlet
    draw with concentration ``DIRICHLET_ALPHA`` = 8 per street [assume]: a street's
    share is Gamma(8)-distributed before normalising (coefficient of variation
    0.35), so the 90th-percentile street of a district is ~2.5x the 10th-percentile
    one; the extremes of a district differ 2-9x in the generated files. (Real
    streets vary more -- dense urban streets vs rural townships -- but no
    per-street figures are used here.) Shares
    are apportioned to units of 0.01 (100 persons) by largest remainder, so the
    streets of a district sum *exactly* to the district population.

demand_weight (street)
    The street's share of all street-level tickets of the city; all 333 weights
    sum to exactly 1 (8 decimals, largest-remainder rounding).
    1. District volume: the published ``tickets_2019_k`` where there is one; for
       the other 12 districts, the pooled per-capita rate of the four published
       districts (750 k tickets / 909.2 x 10k residents = 0.825 k per 10k
       residents) times the district population [assume].
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

capacity_factor (street)
    Caseworker capacity of the street relative to what its demand alone would
    call for: lognormal, median 1, sigma ``CAPACITY_SIGMA`` = 0.25, 3 decimals
    [assume]: streets are staffed unevenly, so some are overloaded and some idle.

Names
    Street names are generated placeholders, "<District>-NN" and
    "<区名去掉区>NN街乡", numbered 01.. within the district. They are *not* the
    real street names and must not be read as such.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

SEED = 20190701  # date of the seed article (北京青年报, 2019-07-01)
DIRICHLET_ALPHA = 8.0  # [assume] per-street concentration of the population split
DEMAND_SIGMA = 0.3  # [assume] lognormal sigma of the per-street demand-per-resident factor
CAPACITY_SIGMA = 0.25  # [assume] lognormal sigma of the staffing factor
WEIGHT_DECIMALS = 8
POP_DECIMALS = 2

OUT_DIR = Path(__file__).resolve().parent
DISTRICTS_CSV = OUT_DIR / "beijing_2019_districts.csv"
STREETS_CSV = OUT_DIR / "beijing_2019_streets.csv"

# Planning zones and their share of 24-hour streets [assume].
ZONE_24H_SHARE = {
    "core": 1.00,
    "central": 0.90,
    "plain": 0.65,
    "ecological": 0.45,
}

# district, district_zh, zone, population_10k (end-2019), streets 2019 (approx),
# streets removed to reach 333 [assume], tickets_2019_k or None
DISTRICTS = [
    ("Dongcheng", "东城区", "core", "79.4", 17, 0, None),
    ("Xicheng", "西城区", "core", "113.7", 15, 0, None),
    ("Chaoyang", "朝阳区", "central", "347.3", 43, 0, 320),
    ("Haidian", "海淀区", "central", "323.7", 29, 0, 220),
    ("Fengtai", "丰台区", "central", "202.5", 24, 2, 170),
    ("Shijingshan", "石景山区", "central", "57.0", 9, 0, None),
    ("Mentougou", "门头沟区", "ecological", "34.4", 13, 0, None),
    ("Fangshan", "房山区", "plain", "125.5", 28, 0, None),
    ("Tongzhou", "通州区", "plain", "167.5", 22, 0, None),
    ("Shunyi", "顺义区", "plain", "122.8", 25, 0, None),
    ("Changping", "昌平区", "plain", "216.6", 22, 1, None),
    ("Daxing", "大兴区", "plain", "188.6", 22, 2, None),
    ("Huairou", "怀柔区", "ecological", "42.2", 16, 0, None),
    ("Pinggu", "平谷区", "ecological", "45.7", 18, 0, None),
    ("Miyun", "密云区", "ecological", "50.3", 20, 0, None),
    ("Yanqing", "延庆区", "ecological", "35.7", 15, 0, 40),
]
# District populations checked against quotations of the 2019 district bulletins.
POP_CHECKED = {"Chaoyang", "Haidian", "Changping", "Shijingshan"}
CITY_STREETS = 333  # [pub] seed article: "16 districts, 333 streets/townships"
CITY_POPULATION_PUB_10K = "2153.6"  # [pub] Beijing 2019 statistical communique


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


def district_rows():
    rows = []
    for name, name_zh, _zone, pop, streets_2019, removed, tickets in DISTRICTS:
        pop_src = (
            "population [approx, Beijing Statistical Yearbook 2020; checked vs 2019 district bulletin]"
            if name in POP_CHECKED
            else "population [approx, Beijing Statistical Yearbook 2020]"
        )
        if name == "Daxing":
            pop_src += " incl. Economic-Technological Development Area"
        if removed:
            st_src = (
                f"streets {streets_2019 - removed} = 2019 count {streets_2019} [approx] "
                f"minus {removed} created in 2019 [assume] to reach the 2018 total of 333"
            )
        else:
            st_src = f"streets {streets_2019} [approx, 2019 official count]"
        if tickets is None:
            tk_src = "tickets not published (demand from pooled per-capita rate [assume])"
        else:
            tk_src = f"tickets {tickets}k [pub, DOMAIN.md district volumes 2019]"
        rows.append(
            {
                "district": name,
                "district_zh": name_zh,
                "population_10k": pop,
                "streets": streets_2019 - removed,
                "tickets_2019_k": "" if tickets is None else str(tickets),
                "source": "; ".join([pop_src, st_src, tk_src]),
            }
        )
    return rows


def build():
    ss = np.random.SeedSequence(SEED)
    rng_pop, rng_demand, rng_duty, rng_cap = (np.random.default_rng(s) for s in ss.spawn(4))

    n_streets = np.array([d[4] - d[5] for d in DISTRICTS])
    assert n_streets.sum() == CITY_STREETS, n_streets.sum()
    pop_10k = np.array([float(d[3]) for d in DISTRICTS])

    # District ticket volumes: published, else pooled per-capita rate x population.
    published = np.array([d[6] is not None for d in DISTRICTS])
    tickets = np.array([d[6] if d[6] is not None else np.nan for d in DISTRICTS], dtype=float)
    rate = tickets[published].sum() / pop_10k[published].sum()  # k tickets per 10k residents
    volume = np.where(published, tickets, rate * pop_10k)
    district_share = volume / volume.sum()

    streets = []
    raw_weight = []
    for d, (name, name_zh, zone, pop, _s19, _rm, _tk) in enumerate(DISTRICTS):
        n = int(n_streets[d])
        # Population split (Dirichlet), apportioned exactly in units of 0.01 x 10k.
        shares = rng_pop.dirichlet(np.full(n, DIRICHLET_ALPHA))
        pop_units = apportion(shares, units(pop, POP_DECIMALS))
        # Demand within the district: population x lognormal(0, sigma) factor.
        factor = rng_demand.lognormal(mean=0.0, sigma=DEMAND_SIGMA, size=n)
        w = pop_units * factor
        raw_weight.append(district_share[d] * w / w.sum())
        # Duty: round(share x n) 24-hour streets, which ones by a seeded draw.
        n24 = int(round(ZONE_24H_SHARE[zone] * n))
        is24 = np.zeros(n, dtype=bool)
        is24[rng_duty.choice(n, size=n24, replace=False)] = True
        # Staffing relative to demand: lognormal, median 1.
        cap = rng_cap.lognormal(mean=0.0, sigma=CAPACITY_SIGMA, size=n)
        short_zh = name_zh[:-1] if name_zh.endswith("区") else name_zh
        for i in range(n):
            streets.append(
                {
                    "street": f"{name}-{i + 1:02d}",
                    "street_zh": f"{short_zh}{i + 1:02d}街乡",
                    "district": name,
                    "population_10k": fmt_units(int(pop_units[i]), POP_DECIMALS),
                    "duty": "24h" if is24[i] else "office",
                    "capacity_factor": f"{cap[i]:.3f}",
                }
            )

    weight_units = apportion(np.concatenate(raw_weight), 10**WEIGHT_DECIMALS)
    for i, row in enumerate(streets):
        row["street_id"] = i
        row["demand_weight"] = fmt_units(int(weight_units[i]), WEIGHT_DECIMALS)
    return streets, district_share, rate


def write_csv(path: Path, fieldnames, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fieldnames, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row[k] for k in fieldnames})


def main():
    drows = district_rows()
    streets, district_share, rate = build()

    write_csv(
        DISTRICTS_CSV,
        ["district", "district_zh", "population_10k", "streets", "tickets_2019_k", "source"],
        drows,
    )
    write_csv(
        STREETS_CSV,
        [
            "street_id",
            "street",
            "street_zh",
            "district",
            "population_10k",
            "demand_weight",
            "duty",
            "capacity_factor",
        ],
        streets,
    )

    # Self-checks.
    assert len(drows) == 16
    assert len(streets) == CITY_STREETS
    assert [s["street_id"] for s in streets] == list(range(CITY_STREETS))
    total_w = sum(units(s["demand_weight"], WEIGHT_DECIMALS) for s in streets)
    assert total_w == 10**WEIGHT_DECIMALS, total_w
    for d in drows:
        mine = [s for s in streets if s["district"] == d["district"]]
        assert len(mine) == d["streets"], d["district"]
        pop = sum(units(s["population_10k"], POP_DECIMALS) for s in mine)
        assert pop == units(d["population_10k"], POP_DECIMALS), d["district"]
    assert len({s["street"] for s in streets}) == CITY_STREETS
    assert len({s["street_zh"] for s in streets}) == CITY_STREETS

    n24 = sum(s["duty"] == "24h" for s in streets)
    city_pop = sum(units(d["population_10k"], 1) for d in drows)
    print(f"wrote {DISTRICTS_CSV.name} (16 districts) and {STREETS_CSV.name} ({len(streets)} streets)")
    print(
        f"population sum {fmt_units(city_pop, 1)} x 10k (published city total "
        f"{CITY_POPULATION_PUB_10K}); pooled rate {rate:.4f} k tickets per 10k residents"
    )
    print(f"24h streets: {n24}/{len(streets)} = {n24 / len(streets):.1%}")
    print(f"{'district':<12} {'streets':>7} {'pop_10k':>8} {'demand_share':>12}")
    for d, share in zip(drows, district_share):
        print(f"{d['district']:<12} {d['streets']:>7} {d['population_10k']:>8} {share:>12.4f}")


if __name__ == "__main__":
    main()
