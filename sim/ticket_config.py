"""Typed, validated config of everything after the call: dispatch, streets, city
departments, callback survey, repeat calls.

The sections are ``dispatch`` (a Hydra group: one YAML per dispatch policy in
``conf/dispatch/``, the policy a plug-in module in ``sim/dispatch/``), ``city``, ``streets``, ``departments``, ``survey`` and ``repeat``.
Without a ``dispatch`` section the model stops at the call centre (tickets are only
counted), which is what the call-centre theory checks use.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sim import dispatch as dispatch_policies
from sim.distributions import Distribution, parse_distribution
from sim.capacity_overrides import parse_district_factor, parse_street_factor
from sim.errors import ConfigError
from sim.validate import check_category, check_keys, integer, listing, number, section

#: Keys of the ``dispatch`` section every policy has (a policy adds its own).
DISPATCH_KEYS = {"policy", "street_share", "centre", "district_desk", "review_time"}
CENTRE_WORKERS = ("after_call", "agents", "desk")
HOURS = ("office", "24h")
RESPONSE_CLOCKS = ("duty_hours", "wall")
SURVEY_STAFFING = ("team", "shared")
URGENCY_KEYS = {"share", "deadline_h", "processing_scale", "queued"}
DEFAULT = "default"
#: The longest deadline or time limit in hours (urgency classes' deadline_h, the response
#: threshold, the survey window): a year. Real ones are hours to weeks; 1e307 h was inf.
MAX_DEADLINE_H = 365 * 24.0
#: The largest urgency-class processing_scale (a multiple of a street's processing time).
MAX_PROCESSING_SCALE = 100.0
#: Logit coefficients beyond this size would make a chance 0 or 1 in all but name.
MAX_LOGIT = 20.0
#: District desks sized to this share of their open time when a config leaves it out
#: (conf/dispatch/*.yaml sets it) [assume].
DEFAULT_DESK_UTILISATION = 0.8
#: The most servers a station may be given in config (departments, a dispatch desk, the
#: survey team, a street's minimum caseworkers): far above any real unit, and a
#: guard against sizes that cannot be meant (10^9) before anything is built.
MAX_STATION_SERVERS = 1_000_000
#: The shortest interval at which callbacks due are handed out (minutes): the survey
#: wakes up once per interval for the whole run, so a tiny one (1e-9) would let
#: simulated time stand still. A minute is finer than any callback schedule.
MIN_BATCH_INTERVAL_MIN = 1.0
#: The largest ``streets.capacity.scale``: a thousand times the streets' sized slots is
#: far beyond any plan, and bounds the caseworkers (stations) built from it.
MAX_CAPACITY_SCALE = 1000.0
#: The lowest target utilisation a unit may be sized to (streets' caseworkers, district
#: desks, the survey team): staff = expected load / target, so 1e-300 would ask for
#: more servers than a number can hold; one per cent (a hundred times the load) is
#: already beyond any plan.
MIN_TARGET_UTILISATION = 0.01


@dataclass(frozen=True)
class OfficeHoursConfig:
    start_h: float
    end_h: float
    weekdays: tuple[int, ...]


@dataclass(frozen=True)
class CityConfig:
    table: str
    office_hours: OfficeHoursConfig


@dataclass(frozen=True)
class DispatchConfig:
    policy: str
    street_share: float
    centre_worker: str
    centre_desk_staff: int
    centre_work_time: Distribution
    centre_misroute_prob: float
    district_desk_staff: int | None  # None: sized per district to its expected load
    district_desk_target_utilisation: float
    district_desk_hours: str
    district_work_time: Distribution
    district_misroute_prob: float
    review_time: Distribution
    options: Any = None  # the policy's own settings (its parse_options)


@dataclass(frozen=True)
class UrgencyClass:
    name: str
    share: float
    deadline_min: float
    processing_scale: float
    queued: bool  # False: handled at once by the street's duty team, not in the caseworker queue


@dataclass(frozen=True)
class ResolutionModel:
    """Logit shifts of the chance a street ticket's problem is solved, on top of the
    category's ``resolve_prob`` and the street's latent quality (sim/outcomes.py)."""

    quality_sd_logit: float  # between-street spread of latent quality
    late_logit: float  # closed after its deadline
    returned_logit: float  # returned at least once
    queue_logit_per_day: float  # x days the ticket waited for a free caseworker (load)


@dataclass(frozen=True)
class StreetsConfig:
    target_utilisation: float
    demand_elasticity: float
    min_caseworkers: int
    capacity_scale: float
    district_factor: tuple[tuple[str, float], ...]  # (district as named, factor): sim/capacity_overrides.py
    street_factor: tuple[tuple[str, float], ...]  # (street as named, factor): sim/capacity_overrides.py
    sign_time: Distribution
    response_threshold_min: float
    response_clock: str  # duty_hours | wall
    resolution: ResolutionModel
    urgency: tuple[UrgencyClass, ...]
    urgency_by_category: dict[str, int]  # category -> index of the urgency class it always gets
    processing: dict[str, Distribution]  # by category, with "default"
    resolve_prob: dict[str, float]  # by category, with "default"

    def processing_for(self, category: str) -> Distribution:
        return self.processing.get(category, self.processing[DEFAULT])

    def resolve_prob_for(self, category: str) -> float:
        return self.resolve_prob.get(category, self.resolve_prob[DEFAULT])


@dataclass(frozen=True)
class DepartmentsConfig:
    servers: int
    processing: Distribution
    resolve_prob: float


@dataclass(frozen=True)
class SatisfactionModel:
    """Ordered logit: latent = intercept + coefficients . x + Logistic noise;
    satisfied if latent > 0, basically satisfied if -basic_band < latent <= 0."""

    intercept: float
    resolved: float
    on_time: float
    returned: float
    contacted: float
    lead_time_per_day: float
    centre_wait_per_min: float
    redials: float
    basic_band: float


@dataclass(frozen=True)
class SurveyConfig:
    share: float
    delay: Distribution
    window_min: float  # a callback not made this long after it is due is missed
    staffing: str  # team | shared
    team_agents: int | None  # None: sized to the expected callbacks (team_target_utilisation)
    team_target_utilisation: float
    batch_interval_min: float  # callbacks due are handed to the agents at this interval
    callbacks_per_job: int  # callbacks an agent makes in a row before checking for calls
    callback_start_h: float  # callbacks are made between these hours of the day
    callback_end_h: float
    work_time: Distribution
    unreachable_prob: float
    contact_prob_on_time: float
    contact_prob_late: float
    satisfaction: SatisfactionModel
    basic_satisfied_weight: float


@dataclass(frozen=True)
class RepeatConfig:
    prob: float
    delay: Distribution


@dataclass(frozen=True)
class TicketsConfig:
    city: CityConfig
    dispatch: DispatchConfig
    streets: StreetsConfig
    departments: DepartmentsConfig
    survey: SurveyConfig
    repeat: RepeatConfig


SECTION_KEYS = ("city", "dispatch", "streets", "departments", "survey", "repeat")


def build_tickets_config(raw: dict, categories: tuple[str, ...]) -> TicketsConfig | None:
    """The ticket side of the config, or None if the config has no ``dispatch``."""
    if raw.get("dispatch") is None:
        return None
    for key in SECTION_KEYS:
        if not isinstance(raw.get(key), dict):
            raise ConfigError(key, raw.get(key), "a mapping (section of the config; needed with dispatch)")
    return TicketsConfig(
        city=_city(raw["city"]),
        dispatch=_dispatch(raw["dispatch"], categories),
        streets=_streets(raw["streets"], categories),
        departments=_departments(raw["departments"]),
        survey=_survey(raw["survey"]),
        repeat=_repeat(raw["repeat"]),
    )


def _choice(value, key: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigError(key, value, "one of " + ", ".join(allowed))
    return value


def _prob(raw: dict, key: str, section: str) -> float:
    return number(raw.get(key), f"{section}.{key}", lo=0, hi=1)


def _misroute_prob(raw: dict, section: str, policy) -> float:
    """A misroute chance, at most what the dispatch policy accepts
    (``MAX_MISROUTE_PROB``: below 1 where wrong units return tickets)."""
    return number(raw.get("misroute_prob"), f"{section}.misroute_prob", lo=0, hi=policy.MAX_MISROUTE_PROB)


def hours_limit(value, key: str) -> float:
    """A deadline or time limit in hours: > 0, at most :data:`MAX_DEADLINE_H`."""
    try:
        return number(value, key, lo=0, lo_open=True, hi=MAX_DEADLINE_H)
    except ConfigError:
        raise ConfigError(key, value, f"a number of hours > 0, at most {MAX_DEADLINE_H:g} (a year)") from None


def _city(raw: dict) -> CityConfig:
    check_keys(raw, {"table", "office_hours"}, "city")
    oh = raw.get("office_hours")
    if not isinstance(oh, dict):
        raise ConfigError("city.office_hours", oh, "a mapping {start_h, end_h, weekdays}")
    check_keys(oh, {"start_h", "end_h", "weekdays"}, "city.office_hours")
    start_h = number(oh.get("start_h"), "city.office_hours.start_h", lo=0, hi=24)
    end_h = number(oh.get("end_h"), "city.office_hours.end_h", lo=0, hi=24)
    if end_h <= start_h:
        raise ConfigError("city.office_hours.end_h", end_h, f"an hour after start_h ({start_h})")
    allowed_days = "a non-empty list of different weekdays, 0 = Monday ... 6 = Sunday"
    days = tuple(integer(d, f"city.office_hours.weekdays[{i}]", lo=0, hi=6, allowed=allowed_days)
                 for i, d in enumerate(listing(oh.get("weekdays"), "city.office_hours.weekdays", allowed_days)))
    if not days or len(set(days)) != len(days):  # no office day: nothing is ever due
        raise ConfigError("city.office_hours.weekdays", list(days), allowed_days)
    if not isinstance(raw.get("table"), str):
        raise ConfigError("city.table", raw.get("table"), "the name of a city in scenarios/city/")
    return CityConfig(table=raw["table"], office_hours=OfficeHoursConfig(start_h, end_h, days))


def _dispatch(raw: dict, categories: tuple[str, ...]) -> DispatchConfig:
    s = "dispatch"
    try:
        policy = dispatch_policies.policy_class(raw.get("policy"))
    except (KeyError, TypeError):
        raise ConfigError(f"{s}.policy", raw.get("policy"),
                          "one of " + ", ".join(dispatch_policies.available()) + " (a module in sim/dispatch/)") from None
    check_keys(raw, DISPATCH_KEYS | policy.OPTION_KEYS, s)
    centre, desk = raw.get("centre"), raw.get("district_desk")
    for name, sec in (("centre", centre), ("district_desk", desk)):
        if not isinstance(sec, dict):
            raise ConfigError(f"{s}.{name}", sec, "a mapping")
    check_keys(centre, {"worker", "desk_staff", "work_time", "misroute_prob"}, f"{s}.centre")
    check_keys(desk, {"staff", "target_utilisation", "hours", "work_time", "misroute_prob"}, f"{s}.district_desk")
    worker = _choice(centre.get("worker"), f"{s}.centre.worker", CENTRE_WORKERS)
    return DispatchConfig(
        policy=raw["policy"],
        street_share=_prob(raw, "street_share", s),
        centre_worker=worker,
        centre_desk_staff=integer(centre.get("desk_staff", 0), f"{s}.centre.desk_staff",
                                  lo=1 if worker == "desk" else 0, hi=MAX_STATION_SERVERS,
                                  allowed=f"a whole number >= {int(worker == 'desk')}, at most {MAX_STATION_SERVERS}"),
        centre_work_time=parse_distribution(centre.get("work_time"), f"{s}.centre.work_time"),
        centre_misroute_prob=_misroute_prob(centre, f"{s}.centre", policy),
        district_desk_staff=(None if desk.get("staff") == "auto" else integer(
            desk.get("staff"), f"{s}.district_desk.staff", lo=1, hi=MAX_STATION_SERVERS,
            allowed=f"auto, or a whole number of dispatchers per district >= 1, at most {MAX_STATION_SERVERS}")),
        district_desk_target_utilisation=number(desk.get("target_utilisation", DEFAULT_DESK_UTILISATION),
                                                f"{s}.district_desk.target_utilisation", lo=MIN_TARGET_UTILISATION, hi=1),
        district_desk_hours=_choice(desk.get("hours"), f"{s}.district_desk.hours", HOURS),
        district_work_time=parse_distribution(desk.get("work_time"), f"{s}.district_desk.work_time"),
        district_misroute_prob=_misroute_prob(desk, f"{s}.district_desk", policy),
        review_time=parse_distribution(raw.get("review_time"), f"{s}.review_time"),
        options=policy.parse_options({k: raw[k] for k in policy.OPTION_KEYS if k in raw}, categories),
    )


def _streets(raw: dict, categories: tuple[str, ...]) -> StreetsConfig:
    s = "streets"
    check_keys(raw, {"capacity", "sign_time", "response_threshold_h", "response_clock", "quality", "resolution",
                     "urgency", "urgency_by_category", "processing", "resolve_prob"}, s)
    cap = raw.get("capacity")
    if not isinstance(cap, dict):
        raise ConfigError(f"{s}.capacity", cap, "a mapping")
    check_keys(cap, {"target_utilisation", "demand_elasticity", "min_caseworkers", "scale", "district_factor",
                     "street_factor"},
               f"{s}.capacity")
    return StreetsConfig(
        target_utilisation=number(cap.get("target_utilisation"), f"{s}.capacity.target_utilisation",
                                  lo=MIN_TARGET_UTILISATION, hi=1),
        demand_elasticity=number(cap.get("demand_elasticity"), f"{s}.capacity.demand_elasticity", lo=0, hi=1),
        min_caseworkers=integer(cap.get("min_caseworkers"), f"{s}.capacity.min_caseworkers", lo=1,
                                hi=MAX_STATION_SERVERS, allowed=f"a whole number >= 1, at most {MAX_STATION_SERVERS}"),
        capacity_scale=number(cap.get("scale", 1.0), f"{s}.capacity.scale", lo=0, hi=MAX_CAPACITY_SCALE,
                              lo_open=True),
        district_factor=parse_district_factor(cap.get("district_factor")),
        street_factor=parse_street_factor(cap.get("street_factor")),
        sign_time=parse_distribution(raw.get("sign_time"), f"{s}.sign_time"),
        response_threshold_min=hours_limit(raw.get("response_threshold_h"), f"{s}.response_threshold_h") * 60,
        response_clock=_choice(raw.get("response_clock", "duty_hours"), f"{s}.response_clock", RESPONSE_CLOCKS),
        resolution=_resolution(raw.get("quality"), raw.get("resolution")),
        urgency=(urgency := _urgency(raw.get("urgency"), f"{s}.urgency")),
        urgency_by_category=_urgency_by_category(raw.get("urgency_by_category") or {}, categories, urgency),
        processing=_by_category(raw.get("processing"), f"{s}.processing", categories,
                                lambda v, k: parse_distribution(v, k)),
        resolve_prob=_by_category(raw.get("resolve_prob"), f"{s}.resolve_prob", categories,
                                  lambda v, k: number(v, k, lo=0, hi=1)),
    )


def _resolution(quality, raw) -> ResolutionModel:
    """``streets.quality`` and ``streets.resolution``."""
    quality = section(quality, "streets.quality", {"sd_logit"})
    fields = ("late_logit", "returned_logit", "queue_logit_per_day")
    raw = section(raw, "streets.resolution", set(fields))
    return ResolutionModel(
        quality_sd_logit=number(quality.get("sd_logit"), "streets.quality.sd_logit", lo=0, hi=MAX_LOGIT),
        **{f: number(raw.get(f), f"streets.resolution.{f}", lo=-MAX_LOGIT, hi=MAX_LOGIT) for f in fields})


def _urgency(raw, key: str) -> tuple[UrgencyClass, ...]:
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(key, raw, "a mapping {class: {share, deadline_h, processing_scale}}")
    classes = []
    for name, spec in raw.items():
        k = f"{key}.{name}"
        if not isinstance(spec, dict):
            raise ConfigError(k, spec, "a mapping {share, deadline_h, processing_scale}")
        check_keys(spec, URGENCY_KEYS, k)
        classes.append(UrgencyClass(
            name=str(name),
            share=number(spec.get("share"), f"{k}.share", lo=0, hi=1),
            deadline_min=hours_limit(spec.get("deadline_h"), f"{k}.deadline_h") * 60,
            processing_scale=number(spec.get("processing_scale"), f"{k}.processing_scale", lo=0, lo_open=True,
                                    hi=MAX_PROCESSING_SCALE),
            queued=_boolean(spec.get("queued", True), f"{k}.queued"),
        ))
    total = sum(c.share for c in classes)
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ConfigError(f"{key} shares", round(total, 6), "shares that sum to 1")
    return tuple(classes)


def _urgency_by_category(raw, categories: tuple[str, ...], urgency: tuple[UrgencyClass, ...]) -> dict[str, int]:
    key = "streets.urgency_by_category"
    if not isinstance(raw, dict):
        raise ConfigError(key, raw, "a mapping {category: urgency class}")
    names = [u.name for u in urgency]
    out = {}
    for cat, cls in raw.items():
        check_category(cat, cls, f"{key}.{cat}", categories)
        if cls not in names:
            raise ConfigError(f"{key}.{cat}", cls, "an urgency class: " + ", ".join(names))
        out[cat] = names.index(cls)
    return out


def _boolean(value, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key, value, "true or false")
    return value


def _by_category(raw, key: str, categories: tuple[str, ...], parse) -> dict:
    if not isinstance(raw, dict) or DEFAULT not in raw:
        raise ConfigError(key, raw, "a mapping {default: ..., <category>: ...}")
    out = {}
    for name, value in raw.items():
        if name != DEFAULT and name not in categories:
            raise ConfigError(f"{key}.{name}", value, "default or a category of arrivals.category_mix: "
                              + ", ".join(categories))
        out[name] = parse(value, f"{key}.{name}")
    return out


def _departments(raw: dict) -> DepartmentsConfig:
    s = "departments"
    check_keys(raw, {"servers", "processing", "resolve_prob"}, s)
    return DepartmentsConfig(
        servers=integer(raw.get("servers"), f"{s}.servers", lo=1, hi=MAX_STATION_SERVERS,
                        allowed=f"a whole number >= 1, at most {MAX_STATION_SERVERS}"),
        processing=parse_distribution(raw.get("processing"), f"{s}.processing"),
        resolve_prob=_prob(raw, "resolve_prob", s),
    )


def _survey(raw: dict) -> SurveyConfig:
    s = "survey"
    check_keys(raw, {"share", "delay", "window_h", "staffing", "team_agents", "team_target_utilisation",
                     "batch_interval_min", "callbacks_per_job", "callback_hours", "work_time", "unreachable_prob",
                     "contact_prob_on_time", "contact_prob_late", "satisfaction", "basic_satisfied_weight"}, s)
    sat = raw.get("satisfaction")
    fields = ("intercept", "resolved", "on_time", "returned", "contacted", "lead_time_per_day",
              "centre_wait_per_min", "redials", "basic_band")
    if not isinstance(sat, dict):
        raise ConfigError(f"{s}.satisfaction", sat, "a mapping {" + ", ".join(fields) + "}")
    check_keys(sat, set(fields), f"{s}.satisfaction")
    model = SatisfactionModel(**{f: number(sat.get(f, 0.0), f"{s}.satisfaction.{f}", lo=-MAX_LOGIT, hi=MAX_LOGIT)
                                 for f in fields})
    hours = listing(raw.get("callback_hours", [0, 24]), f"{s}.callback_hours", "[start_h, end_h]")
    if len(hours) != 2:
        raise ConfigError(f"{s}.callback_hours", hours, "[start_h, end_h] with 0 <= start_h < end_h <= 24")
    hours = [number(h, f"{s}.callback_hours[{i}]", lo=0, hi=24) for i, h in enumerate(hours)]
    if hours[0] >= hours[1]:
        raise ConfigError(f"{s}.callback_hours", hours, "[start_h, end_h] with start_h < end_h")
    if model.basic_band < 0:
        raise ConfigError(f"{s}.satisfaction.basic_band", model.basic_band, "a number >= 0")
    return SurveyConfig(
        share=_prob(raw, "share", s),
        delay=parse_distribution(raw.get("delay"), f"{s}.delay"),
        window_min=hours_limit(raw.get("window_h"), f"{s}.window_h") * 60,
        staffing=_choice(raw.get("staffing", "team"), f"{s}.staffing", SURVEY_STAFFING),
        team_agents=(None if raw.get("team_agents", "auto") == "auto" else integer(
            raw.get("team_agents"), f"{s}.team_agents", lo=1, hi=MAX_STATION_SERVERS,
            allowed=f"auto, or a whole number of agents >= 1, at most {MAX_STATION_SERVERS}")),
        team_target_utilisation=number(raw.get("team_target_utilisation", DEFAULT_DESK_UTILISATION),
                                       f"{s}.team_target_utilisation", lo=MIN_TARGET_UTILISATION, hi=1),
        batch_interval_min=number(raw.get("batch_interval_min"), f"{s}.batch_interval_min",
                                  lo=MIN_BATCH_INTERVAL_MIN),
        callbacks_per_job=integer(raw.get("callbacks_per_job"), f"{s}.callbacks_per_job", lo=1),
        callback_start_h=hours[0],
        callback_end_h=hours[1],
        work_time=parse_distribution(raw.get("work_time"), f"{s}.work_time"),
        unreachable_prob=_prob(raw, "unreachable_prob", s),
        contact_prob_on_time=_prob(raw, "contact_prob_on_time", s),
        contact_prob_late=_prob(raw, "contact_prob_late", s),
        satisfaction=model,
        basic_satisfied_weight=_prob(raw, "basic_satisfied_weight", s),
    )


def _repeat(raw: dict) -> RepeatConfig:
    check_keys(raw, {"prob", "delay"}, "repeat")
    return RepeatConfig(prob=_prob(raw, "prob", "repeat"),
                        delay=parse_distribution(raw.get("delay"), "repeat.delay"))
