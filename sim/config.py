"""Typed, validated run configuration.

Hydra composes ``conf/`` into a plain mapping; :func:`build_config` turns it into frozen
dataclasses and stops bad input here, before any simulation, with a one-line
:class:`~sim.errors.ConfigError` that names the key, the value and what is allowed.
The rest of ``sim/`` only ever sees a :class:`SimConfig`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sim.accountability import AccountabilityConfig, build_accountability_config
from sim.capacity_overrides import check_names
from sim.city import City, load_city
from sim.clock import MINUTES_PER_DAY
from sim.distributions import Distribution, parse_distribution
from sim.errors import ConfigError
from sim.ranking import RankingConfig, build_ranking_config
from sim.scenario_data import data_dir_value, load_named, searching
from sim.ticket_config import SECTION_KEYS, TicketsConfig, build_tickets_config
from sim.validate import check_keys, datetime_value, integer, listing, number



@dataclass(frozen=True)
class Shock:
    """A temporary multiplier on arrivals (heating start-up, rainstorm)."""

    start: datetime
    days: float
    factor: float
    categories: tuple[str, ...] | None  # None: every category


@dataclass(frozen=True)
class ArrivalsConfig:
    daily_calls: float
    intraday_profile: tuple[float, ...]  # weights per equal slice of the day, sum 1
    weekday_factors: tuple[float, ...]  # Monday first
    month_factors: tuple[float, ...]  # January first
    shocks: tuple[Shock, ...]
    redial_prob: float
    redial_delay: Distribution
    categories: tuple[str, ...]
    category_shares: tuple[float, ...]  # sum 1, same order as categories


@dataclass(frozen=True)
class SeatChange:
    """From ``at`` (midnight of a date inside the run) on, ``seats`` seats and the
    roster applied to them."""

    at: datetime
    seats: int
    roster: tuple[int, ...]
    weekend_roster: tuple[int, ...] | None = None  # on Saturdays and Sundays (None: ``roster``)


@dataclass(frozen=True)
class CallCenterConfig:
    seats: int
    roster: tuple[int, ...]  # agents on duty per equal slice of the day, repeated daily
    handle_time: Distribution
    demand_handle_time: Distribution
    patience: Distribution
    sl_threshold_s: float
    ticket_share: float
    #: Later seat counts, in date order (empty: ``seats`` and ``roster`` all run long).
    seat_changes: tuple[SeatChange, ...] = ()
    #: Agents on duty per equal slice of a Saturday or Sunday (None: ``roster`` every day).
    weekend_roster: tuple[int, ...] | None = None

    @property
    def roster_interval_min(self) -> float:
        return MINUTES_PER_DAY / len(self.roster)


@dataclass(frozen=True)
class SimConfig:
    """The whole validated run configuration. ``tickets`` and ``city`` are None when
    only the call centre is simulated (no ``dispatch`` section)."""

    scenario: str
    seed: int
    replications: int
    horizon_days: float
    warmup_days: float
    start: datetime
    arrivals: ArrivalsConfig
    call_center: CallCenterConfig
    tickets: TicketsConfig | None = None
    city: City | None = None
    accountability: AccountabilityConfig = AccountabilityConfig()
    #: The league-table settings, when the model ranks inside the run (accountability).
    ranking: RankingConfig | None = None

    @property
    def horizon_min(self) -> float:
        return self.horizon_days * MINUTES_PER_DAY

    @property
    def warmup_min(self) -> float:
        return self.warmup_days * MINUTES_PER_DAY


# Defaults for keys a config may leave out (conf/ always sets them; these serve configs
# built in code). Neutral values elsewhere (no warm-up, factors of 1, no redials) need
# no name; these two are conventions:
DEFAULT_SL_THRESHOLD_S = 30  # the industry's "80/30" service level [assume]
DEFAULT_REDIAL_DELAY = {"dist": "exponential", "mean_min": 10.0}  # hang-up to redial [assume]
#: The most seats a call centre may have: Beijing's 12345 has hundreds; a hundred
#: thousand is beyond any hotline, and refuses sizes that cannot be meant (10^9).
MAX_SEATS = 100_000
#: The most replications a run may have (``replications``, ``precision.max_replications``):
#: CIs narrow as 1/sqrt(n), so 10^5 replications already give a CI 130x narrower than
#: the default 6; 10^9 cannot be meant (the parent keeps a result per replication) [assume].
MAX_REPLICATIONS = 100_000

#: The latest a run may end. Python's calendar stops at the end of year 9999, and the
#: model looks past the run's end (tickets open at the end, the next month's league table).
LATEST_RUN_END = datetime(9990, 1, 1)

TOP_KEYS = {"scenario", "seed", "replications", "horizon_days", "warmup_days", "start", "arrivals", "call_center",
            "accountability", "data_dir", *SECTION_KEYS}
# Free text a scenario may carry (shown in summary.json), the league-table settings
# (validated by analysis.ranking, which uses them), where replications run, and what is
# drawn after the run (charts, report: analysis.run_outputs): not used by the model.
PASS_THROUGH_KEYS = {"description", "ranking", "executor", "sweep_name", "precision", "charts", "report", "records",
                     "focal_month", "comparison", "weight_robustness", "max_memory_gb"}
ARRIVAL_KEYS = {"daily_calls", "intraday_profile", "weekday_factors", "month_factors", "shocks",
                "redial_prob", "redial_delay", "category_mix"}
CALL_CENTER_KEYS = {"seats", "seat_changes", "roster", "weekend_roster", "handle_time", "demand_handle_time", "patience", "sl_threshold_s",
                    "ticket_share"}


def check_focal_month(value, start: datetime, warmup_days: float, horizon_days: float) -> None:
    """``focal_month`` (the month the CLI and report show; analysis.rankings.league.focal_month):
    null, or "YYYY-MM" of a month the measured window reaches."""
    if value is None:
        return
    first = start + timedelta(days=warmup_days)
    last = start + timedelta(days=horizon_days) - timedelta(minutes=1)
    months = []
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        months.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    if str(value) not in months:
        raise ConfigError("focal_month", value, "null or a month of the measured window as YYYY-MM: "
                          + ", ".join(months))


def build_config(raw: dict) -> SimConfig:
    """Validate a composed config mapping and return the typed :class:`SimConfig`; named
    data files are looked for in the config's ``data_dir`` first (sim.scenario_data)."""
    check_keys(raw, TOP_KEYS | PASS_THROUGH_KEYS, "")
    with searching(data_dir_value(raw.get("data_dir"))):
        return _build_config(raw)


def _build_config(raw: dict) -> SimConfig:
    for key in ("arrivals", "call_center"):
        if not isinstance(raw.get(key), dict):
            raise ConfigError(key, raw.get(key), "a mapping (section of the config)")
    seed = integer(raw.get("seed"), "seed", lo=0)
    replications = integer(raw.get("replications"), "replications", lo=1, hi=MAX_REPLICATIONS,
                           allowed=f"a whole number >= 1, at most {MAX_REPLICATIONS}")
    horizon_days = number(raw.get("horizon_days"), "horizon_days", lo=0, lo_open=True)
    warmup_days = number(raw.get("warmup_days", 0), "warmup_days", lo=0)
    if warmup_days >= horizon_days:
        raise ConfigError("warmup_days", warmup_days, f"a number >= 0 and below horizon_days ({horizon_days})")
    start = datetime_value(raw.get("start"), "start")
    _check_run_end(start, horizon_days)
    check_focal_month(raw.get("focal_month"), start, warmup_days, horizon_days)
    call_center = _call_center(raw["call_center"], start, horizon_days)
    arrivals = _arrivals(raw["arrivals"])
    tickets = build_tickets_config(raw, arrivals.categories)
    accountability = build_accountability_config(raw.get("accountability"))
    if accountability.feedback and tickets is None:
        raise ConfigError("accountability.mode", accountability.mode,
                          "none when only the call centre is simulated (no dispatch section): there is no league table")
    city = load_city(tickets.city.table) if tickets else None
    if tickets and (tickets.streets.district_factor or tickets.streets.street_factor):
        # the units named must be the city's: checked now (not in a worker), on the city loaded once
        check_names(tickets.streets.district_factor, tickets.streets.street_factor, city, tickets.city.table)
    return SimConfig(
        scenario=str(raw.get("scenario", "custom")), seed=seed, replications=replications,
        horizon_days=horizon_days, warmup_days=warmup_days, start=start,
        arrivals=arrivals, call_center=call_center, tickets=tickets,
        city=city,
        accountability=accountability,
        ranking=build_ranking_config(raw.get("ranking")) if accountability.feedback else None,
    )


def _check_run_end(start: datetime, horizon_days: float) -> None:
    """The run must end by :data:`LATEST_RUN_END` (dates past year 9999 do not exist)."""
    if start >= LATEST_RUN_END:
        raise ConfigError("start", start.isoformat(), f"a date-time before {LATEST_RUN_END:%Y-%m-%d}")
    if horizon_days > (LATEST_RUN_END - start) / timedelta(days=1):
        raise ConfigError("horizon_days", horizon_days, f"a run that ends by {LATEST_RUN_END:%Y-%m-%d}: at most "
                          f"{(LATEST_RUN_END - start) / timedelta(days=1):g} days from start ({start:%Y-%m-%d})")


def _arrivals(raw: dict) -> ArrivalsConfig:
    check_keys(raw, ARRIVAL_KEYS, "arrivals")
    profile = _day_slices(raw.get("intraday_profile", "flat"), "arrivals.intraday_profile", "profiles", "weights")
    profile_values = tuple(number(w, f"arrivals.intraday_profile[{i}]", lo=0) for i, w in enumerate(profile))
    if sum(profile_values) <= 0:
        raise ConfigError("arrivals.intraday_profile", list(profile), "weights with a positive sum")
    total = sum(profile_values)
    categories, shares = _category_mix(raw.get("category_mix", "uniform"))
    return ArrivalsConfig(
        daily_calls=number(raw.get("daily_calls"), "arrivals.daily_calls", lo=0),
        intraday_profile=tuple(w / total for w in profile_values),
        weekday_factors=_factors(raw.get("weekday_factors", [1.0] * 7), "arrivals.weekday_factors", 7),
        month_factors=_factors(raw.get("month_factors", [1.0] * 12), "arrivals.month_factors", 12),
        shocks=tuple(_shock(s, f"arrivals.shocks[{i}]", categories) for i, s in enumerate(listing(
            [] if raw.get("shocks") is None else raw["shocks"], "arrivals.shocks",
            "a list of {start, days, factor, categories}"))),
        redial_prob=number(raw.get("redial_prob", 0.0), "arrivals.redial_prob", lo=0, hi=1),
        redial_delay=parse_distribution(raw.get("redial_delay", DEFAULT_REDIAL_DELAY),
                                        "arrivals.redial_delay"),
        categories=categories,
        category_shares=shares,
    )


def _call_center(raw: dict, start: datetime, horizon_days: float) -> CallCenterConfig:
    check_keys(raw, CALL_CENTER_KEYS, "call_center")
    seats = integer(raw.get("seats"), "call_center.seats", lo=1, hi=MAX_SEATS,
                    allowed=f"a whole number >= 1, at most {MAX_SEATS}")
    roster = _roster(raw.get("roster", "full"), seats)
    weekend_raw = raw.get("weekend_roster")
    weekend = None if weekend_raw is None else _roster(weekend_raw, seats, WEEKEND_ROSTER_KEY)
    seat_changes = _seat_changes(raw.get("seat_changes"), raw.get("roster", "full"), start, horizon_days, weekend_raw)
    handle_time = parse_distribution(raw.get("handle_time"), "call_center.handle_time")
    demand_raw = raw.get("demand_handle_time")
    demand_handle = handle_time if demand_raw is None else parse_distribution(
        demand_raw, "call_center.demand_handle_time")
    return CallCenterConfig(
        seats=seats,
        roster=roster,
        weekend_roster=weekend,
        handle_time=handle_time,
        demand_handle_time=demand_handle,
        patience=parse_distribution(raw.get("patience"), "call_center.patience", allow_infinite=True),
        sl_threshold_s=number(raw.get("sl_threshold_s", DEFAULT_SL_THRESHOLD_S), "call_center.sl_threshold_s", lo=0),
        ticket_share=number(raw.get("ticket_share"), "call_center.ticket_share", lo=0, hi=1),
        seat_changes=seat_changes,
    )


def _seat_changes(raw, roster_raw, start: datetime, horizon_days: float,
                  weekend_raw=None) -> tuple[SeatChange, ...]:
    """``call_center.seat_changes``: a list of ``{from: "YYYY-MM-DD", seats: N}``, dates
    inside the run (after its start, before its end) and in order; from each date's
    midnight on, the roster is applied to the new seat count. Only a roster that scales
    with seats (``full`` or a file giving ``seat_share``) can follow a seat change."""
    key = "call_center.seat_changes"
    items = listing([] if raw is None else raw, key, 'a list of {from: "YYYY-MM-DD", seats: N}')
    if not items:
        return ()
    if not _roster_scales(roster_raw):
        raise ConfigError("call_center.roster", roster_raw,
                          "full or a roster file giving seat_share when call_center.seat_changes is set "
                          "(a list of agent counts cannot follow a change of seats)")
    if weekend_raw is not None and not _roster_scales(weekend_raw, WEEKEND_ROSTER_KEY):
        raise ConfigError(WEEKEND_ROSTER_KEY, weekend_raw,
                          "null, full or a roster file giving seat_share when call_center.seat_changes is set "
                          "(a list of agent counts cannot follow a change of seats)")
    end = start + timedelta(days=horizon_days)
    out, previous = [], start
    for i, item in enumerate(items):
        k = f"{key}[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(k, item, 'a mapping {from: "YYYY-MM-DD", seats: N}')
        check_keys(item, {"from", "seats"}, k)
        when = item.get("from")
        allowed = (f"a date YYYY-MM-DD after the run's start ({start:%Y-%m-%d %H:%M})"
                   f"{' and after the previous change' if out else ''}, before its end ({end:%Y-%m-%d %H:%M})")
        try:
            at = datetime.combine(date.fromisoformat(str(when)), time()) if isinstance(when, (str, date)) else None
        except ValueError:
            at = None
        if at is not None and at >= end and not isinstance(when, datetime):
            allowed += f"; a shorter run drops the later changes ({key}=[] drops them all)"
        if isinstance(when, datetime) or at is None or not previous < at < end:
            raise ConfigError(f"{k}.from", when if not isinstance(when, date) else str(when), allowed)
        seats = integer(item.get("seats"), f"{k}.seats", lo=1, hi=MAX_SEATS,
                        allowed=f"a whole number >= 1, at most {MAX_SEATS}")
        out.append(SeatChange(at=at, seats=seats, roster=_roster(roster_raw, seats),
                              weekend_roster=None if weekend_raw is None else _roster(weekend_raw, seats,
                                                                                      WEEKEND_ROSTER_KEY)))
        previous = at
    return tuple(out)


def _roster_scales(raw, key: str = "call_center.roster") -> bool:
    """Does this ``call_center.roster`` (or ``weekend_roster``) scale with the seats?"""
    if raw == "full":
        return True
    if isinstance(raw, str):
        field, _ = load_named("rosters", raw, key, ("agents", "seat_share"))
        return field == "seat_share"
    return False


#: The key of the weekend roster (Saturdays and Sundays; sim/callcenter.py WEEKEND_DAYS).
WEEKEND_ROSTER_KEY = "call_center.weekend_roster"


def _roster(raw, seats: int, key: str = "call_center.roster") -> tuple[int, ...]:
    """Agents on duty per slice of the day. ``full``: every seat; a list of agent
    counts; or a named file in scenarios/rosters/ giving ``agents`` or ``seat_share``
    (a share of ``seats`` per slice, so the roster scales when seats change). ``key``:
    ``call_center.roster`` or ``call_center.weekend_roster`` (the same forms)."""
    if raw == "full":
        return (seats,)
    field, values = "agents", raw
    if isinstance(raw, str):
        field, values = load_named("rosters", raw, key, ("agents", "seat_share"))
    values = _day_slices(values, key, "rosters", field)
    if field == "seat_share":
        shares = [number(v, f"{key}[{i}] (seat_share in scenarios/rosters/{raw}.yaml)", lo=0, hi=1)
                  for i, v in enumerate(values)]
        return tuple(int(round(s * seats)) for s in shares)
    allowed = f"a whole number of agents from 0 to call_center.seats ({seats})"
    return tuple(integer(a, f"{key}[{i}]", lo=0, hi=seats, allowed=allowed) for i, a in enumerate(values))


def _day_slices(raw, key: str, kind: str, field: str) -> list:
    """A list of per-slice values covering one day, given inline or by name."""
    if isinstance(raw, str):
        _, raw = load_named(kind, raw, key, field)
    values = listing(raw, key, f"a list, or a name from scenarios/{kind}/")
    if not values or MINUTES_PER_DAY % len(values) != 0:
        raise ConfigError(key, f"a list of {len(values)} values",
                          "one value per equal slice of the day (1, 24, 48, 96, ... values; the count must divide 1440)")
    return values


def _category_mix(raw) -> tuple[tuple[str, ...], tuple[float, ...]]:
    key = "arrivals.category_mix"
    if isinstance(raw, str):
        _, raw = load_named("category_mix", raw, key, "shares", inline="a mapping {category: share}")
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(key, raw, "a mapping {category: share} or a name from scenarios/category_mix/")
    names = tuple(str(k) for k in raw)
    shares = tuple(number(v, f"{key}.{k}", lo=0) for k, v in raw.items())
    total = sum(shares)
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ConfigError(key, round(total, 6), "shares that sum to 1")
    return names, shares


def _shock(raw, key: str, categories: tuple[str, ...]) -> Shock:
    if not isinstance(raw, dict):
        raise ConfigError(key, raw, "a mapping {start, days, factor, categories (optional)}")
    check_keys(raw, {"start", "days", "factor", "categories"}, key)
    cats = raw.get("categories")
    if cats is not None:
        cats = tuple(listing(cats, f"{key}.categories", "a non-empty list of category names (omit for all)"))
        if not cats:
            raise ConfigError(f"{key}.categories", [], "a non-empty list of category names (omit it for all)")
        for c in cats:
            if c not in categories:
                raise ConfigError(f"{key}.categories", c, "a category of arrivals.category_mix: " + ", ".join(categories))
    return Shock(
        start=datetime_value(raw.get("start"), f"{key}.start"),
        days=number(raw.get("days"), f"{key}.days", lo=0, lo_open=True),
        factor=number(raw.get("factor"), f"{key}.factor", lo=0),
        categories=cats,
    )


def _factors(raw, key: str, n: int) -> tuple[float, ...]:
    values = listing(raw, key, f"a list of {n} non-negative factors")
    if len(values) != n:
        raise ConfigError(key, f"a list of {len(values)} values", f"exactly {n} non-negative factors")
    return tuple(number(v, f"{key}[{i}]", lo=0) for i, v in enumerate(values))
