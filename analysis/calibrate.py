"""Calibrate the accountability loop (issue 10, "calibration, not tuning").

    python -m analysis.calibrate                 # fit, write conf/accountability/fitted_2019.yaml
    python -m analysis.calibrate --dry-run       # show the plan and the starting point only
    python -m analysis.calibrate --help

What is fitted: exactly the four ``[fit]`` parameters of
``conf/accountability/fitted_2019.yaml`` (:data:`PARAMETERS`), to the four published
points (:data:`TARGETS`): city-wide *measured* resolution and satisfaction (as the
callback survey hears them) in January and October 2019. Everything else stays as
composed (scenario ``beijing_2019_year``, ``accountability=pressure``). The year-end
figures (~75%, ~87%) and "repeat complaints fell" stay out of the fit and are reported
as an out-of-sample check (:data:`OUT_OF_SAMPLE`).

How (:func:`calibrate`):

* Each evaluation simulates the year cut after October's callbacks (horizon to
  2019-11-13, :data:`FULL_HORIZON_DAYS`), with common random numbers: the same seed and
  the same replications for every evaluation, so the fit sees a smooth-ish
  deterministic function of the parameters, not fresh noise each time. Evaluations are
  cached (and saved to ``evaluations.json`` as they come).
* At a reduced scale (``--scale``): ``arrivals.daily_calls``, ``call_center.seats``, the
  seat changes' seats and ``departments.servers`` are multiplied by it; street
  caseworkers and the callback team are sized from the volume automatically. Caveat:
  ``streets.capacity.min_caseworkers`` (2) does not scale, so at a small scale more
  streets sit at that floor and the city has slightly more caseworkers than
  scale x full; the report gives both (``scale_effects``).
* Three stages. (1) January: no table is published before 8 February, so January's two
  points depend (almost) only on ``start_effort_logit`` and the satisfaction intercept;
  they are fitted first on a short run (to 25 February, :data:`JANUARY_HORIZON_DAYS`,
  about a quarter of the cost). (2) October: the two loop parameters (effort per unit
  of pressure, service per unit of pressure) with January's fixed, on the full run.
  (3) A joint polish of all four on the four residuals (a few Gauss-Newton steps).
  Every stage is ``scipy.optimize.least_squares`` (trust region, bounds) on the
  residuals in percentage points, with a forward-difference Jacobian whose steps
  (:attr:`Parameter.step`) are large against the CRN noise (a step moves a target by
  a few points; the noise between nearby parameter values is a few tenths).
* Identification (:func:`identification`): the Jacobian at the optimum (points per
  unit), the sandwich covariance ``(J'WJ)^-1 J'W S W J (J'WJ)^-1`` with S the
  covariance of the targets' mean over the replications (pooled over every full-run
  evaluation's replications) and W = diag(1/var), the standard errors, 95% intervals,
  and a flag for a parameter whose interval is wider than its plausible range. With
  four targets and four parameters the fit is exactly identified, so the sandwich is
  J^-1 S J^-T: the errors are those the simulation noise alone puts on the parameters
  (the published points are taken as exact).

Defaults and cost (measured 2026-12-01 on the project's 2-core machine, shared with
other jobs): ``--scale 0.25 --replications 2`` with 2 local workers. One replication of
the full run alone takes 28 s at this scale (about 2.5-3 min at full scale); one
evaluation (both replications in parallel) 16-60 s depending on the load, a January
evaluation 7-25 s. The committed fit took 27 evaluations (5 January, 22 full) and 14
minutes from a nearby start; from the placeholder values the stages need about 10
January and 30-35 full evaluations, 20-30 minutes. ``--max-minutes`` caps the fitting
stages (each then keeps the best point it has seen).

The fit obtained and what it says about the model: ``conf/accountability/fitted_2019.yaml``'s
header and docs/accountability.md ("Calibration").
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np

import hotline_sim

REPO = Path(__file__).resolve().parent.parent
CONF_DIR = hotline_sim.CONF_DIR  # the checkout's conf/, or the installed package's copy
FITTED_YAML = CONF_DIR / "accountability" / "fitted_2019.yaml"
SCENARIO = "beijing_2019_year"
#: 28 warm-up days from 2018-12-04, then 1 January to 13 November 2019 00:00: October's
#: callbacks are then complete (about 1% pending at scale 0.25; a month is ranked with
#: at most 2%); October's own table (published 8 November) is not needed.
FULL_HORIZON_DAYS = 344
#: ... to 25 February 2019 00:00: January's callbacks complete.
JANUARY_HORIZON_DAYS = 84
DEFAULT_SCALE = 0.25
DEFAULT_REPLICATIONS = 2
DEFAULT_WORKERS = 2


@dataclass(frozen=True)
class Target:
    """A published city-wide point the model is fitted to."""

    month: str
    metric: str  # a metric of analysis.kpis.city_monthly (measured by the callback survey)
    value: float  # share (0-1)
    source: str

    @property
    def key(self) -> str:
        return f"{self.month}:{self.metric}"


_SOURCE = ("[pub] docs/DOMAIN.md, 'Figures to calibrate against' (2019 annual data: beijing.shvoice.com/?p=32313; "
           "zt.bjdj.gov.cn/rdztarticle/3000187608.html)")
#: The four published points of 2019 the fit uses.
TARGETS = (
    Target("2019-01", "resolution_rate", 0.5309, _SOURCE),
    Target("2019-01", "satisfaction_rate", 0.6461, _SOURCE),
    Target("2019-10", "resolution_rate", 0.7436, _SOURCE),
    Target("2019-10", "satisfaction_rate", 0.8539, _SOURCE),
)
#: Published, kept out of the fit: the out-of-sample check.
OUT_OF_SAMPLE = {
    "year_resolution_rate": {"value": 0.75, "source": _SOURCE + " (2019 year, ~75%)", "months": ["2019-11", "2019-12"]},
    "year_satisfaction_rate": {"value": 0.87, "source": _SOURCE + " (2019 year, ~87%)", "months": ["2019-11", "2019-12"]},
    "repeat_calls": {"value": "fell", "source": "[pub, seed] repeat complaints fell markedly in H1 2019 (docs/DOMAIN.md)"},
}


@dataclass(frozen=True)
class Parameter:
    """A free parameter: its config key, bounds of the search, the finite-difference
    step and the range of values that would still make sense (for the identification
    flag)."""

    name: str
    key: str  # dotted config key
    lo: float
    hi: float
    step: float
    plausible: tuple[float, float]
    pins: str  # the target it mainly moves


#: Exactly the four parameters of conf/accountability/fitted_2019.yaml.
PARAMETERS = (
    Parameter("start_effort_logit", "accountability.start_effort_logit", -3.0, 2.0, 0.15, (-2.5, 1.5),
              "January resolution"),
    Parameter("effort_logit_per_pressure", "accountability.effort.logit_per_pressure", 0.0, 1.5, 0.05, (0.0, 1.0),
              "October resolution"),
    Parameter("service_logit_per_pressure", "accountability.effort.service_logit_per_pressure", 0.0, 2.0, 0.05,
              (0.0, 1.5), "October satisfaction"),
    Parameter("satisfaction_intercept", "survey.satisfaction.intercept", -6.0, 2.0, 0.15, (-5.0, 1.0),
              "January satisfaction"),
)
NAMES = tuple(p.name for p in PARAMETERS)
JANUARY = ("start_effort_logit", "satisfaction_intercept")
OCTOBER = ("effort_logit_per_pressure", "service_logit_per_pressure")
#: Monthly metrics kept per evaluation (for the report and the out-of-sample check).
KEEP_METRICS = ("tickets", "resolution_rate", "satisfaction_rate", "true_resolution_rate", "gaming_share",
                "repeat_calls")


# ----------------------------------------------------------------------------- config


def get_key(raw: dict, key: str):
    """The value at a dotted key of a plain config dict."""
    node = raw
    for part in key.split("."):
        node = node[part]
    return node


def set_key(raw: dict, key: str, value) -> None:
    """Set a dotted key of a plain config dict (intermediate mappings created)."""
    parts = key.split(".")
    node = raw
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def compose_raw(overrides: list[str] | None = None, conf_dir: Path = CONF_DIR) -> dict:
    """The composed config of the year scenario with ``accountability=pressure`` (and
    ``overrides``) as a plain dict, distributions replaced whole as run.py does."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from sim.compose import replace_whole_distributions

    ov = [f"scenario={SCENARIO}", "accountability=pressure", *(overrides or [])]
    with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
        cfg = compose(config_name="config", overrides=ov)
        replace_whole_distributions(cfg, "config", ov)
    raw = OmegaConf.to_container(cfg, resolve=True)
    raw.pop("hydra", None)
    raw["scenario"] = SCENARIO
    return raw


def scaled(raw: dict, scale: float) -> dict:
    """A copy of ``raw`` at ``scale``: daily calls, seats (and the seat changes'),
    department servers multiplied (whole numbers rounded, at least 1)."""
    out = json.loads(json.dumps(raw))
    if scale == 1.0:
        return out
    out["arrivals"]["daily_calls"] = raw["arrivals"]["daily_calls"] * scale
    cc = out["call_center"]
    cc["seats"] = max(1, round(cc["seats"] * scale))
    for change in cc.get("seat_changes") or []:
        change["seats"] = max(1, round(change["seats"] * scale))
    if out.get("departments", {}).get("servers") is not None:
        out["departments"]["servers"] = max(1, round(out["departments"]["servers"] * scale))
    return out


def with_horizon(raw: dict, horizon_days: float) -> dict:
    """A copy of ``raw`` run for ``horizon_days``, seat changes after the end dropped."""
    out = json.loads(json.dumps(raw))
    out["horizon_days"] = horizon_days
    end = dt.datetime.fromisoformat(str(raw["start"])) + dt.timedelta(days=horizon_days)
    out["call_center"]["seat_changes"] = [c for c in out["call_center"].get("seat_changes") or []
                                          if dt.datetime.fromisoformat(str(c["from"])) < end]
    return out


def with_params(raw: dict, theta: dict[str, float]) -> dict:
    """A copy of ``raw`` with the free parameters set."""
    out = json.loads(json.dumps(raw))
    for p in PARAMETERS:
        if p.name in theta:
            set_key(out, p.key, float(theta[p.name]))
    return out


def current_values(raw: dict) -> dict[str, float]:
    """The free parameters' values in a composed config (the fit's starting point)."""
    return {p.name: float(get_key(raw, p.key)) for p in PARAMETERS}


def scale_effects(raw: dict, scale: float) -> dict:
    """Street caseworkers at ``scale`` against scale x full (min_caseworkers does not
    scale): totals and the streets at the floor."""
    from sim.config import build_config
    from sim.ticketing import street_caseworkers

    full = build_config(with_horizon(raw, FULL_HORIZON_DAYS))
    small = build_config(with_horizon(scaled(raw, scale), FULL_HORIZON_DAYS))
    city = full.city  # the city the config read (a data_dir's own, if it has one)
    cw_full, cw_small = street_caseworkers(full, city), street_caseworkers(small, city)
    floor = full.tickets.streets.min_caseworkers
    return {"min_caseworkers": int(floor), "caseworkers_full": int(cw_full.sum()),
            "caseworkers_scaled": int(cw_small.sum()),
            "caseworkers_scaled_over_scale_x_full": round(float(cw_small.sum() / (scale * cw_full.sum())), 4),
            "streets_at_floor_full": int(np.sum(cw_full <= floor)),
            "streets_at_floor_scaled": int(np.sum(cw_small <= floor)), "streets": int(len(cw_full))}


# ----------------------------------------------------------------------------- simulation


def reduce_for_calibration(rec, cfg) -> dict:
    """What a worker sends back: only the monthly tables and month coverage (the rest
    of analysis.kpis.calls.reduce_replication is dropped to keep the transfer small)."""
    from analysis.kpis.calls import reduce_replication

    kpis = reduce_replication(rec, cfg)
    return {"monthly": kpis["monthly"], "month_coverage": kpis["month_coverage"]}


class SimulationModel:
    """The simulated targets as a function of the parameters: runs ``replications``
    replications (seed and replication numbers fixed: common random numbers) of ``raw``
    with the parameters set, and returns each month's city metrics per replication.
    Evaluations are cached by (horizon, rounded parameters)."""

    def __init__(self, raw: dict, scale: float, replications: int, seed: int, executor: str = "local",
                 workers: int = DEFAULT_WORKERS, log=None, on_eval=None):
        self.raw = scaled(raw, scale)
        self.raw["replications"] = replications
        self.raw["seed"] = seed
        self.scale, self.replications, self.seed = scale, replications, seed
        self.executor, self.workers = executor, workers
        self.cache: dict[tuple, dict] = {}
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.on_eval = on_eval

    def __call__(self, theta: dict[str, float], horizon_days: float = FULL_HORIZON_DAYS) -> dict:
        key = cache_key(theta, horizon_days)
        if key not in self.cache:
            self.cache[key] = self._simulate(theta, horizon_days)
            if self.on_eval:
                self.on_eval(self)
        return self.cache[key]

    def _simulate(self, theta: dict[str, float], horizon_days: float) -> dict:
        from analysis.kpis.city_monthly import per_replication
        from sim.config import build_config
        from sim.experiment import ExecutorConfig, run_experiment

        started = time.perf_counter()
        cfg = build_config(with_params(with_horizon(self.raw, horizon_days), theta))
        executor = ExecutorConfig(kind=self.executor, workers=self.workers)
        per_rep = run_experiment(cfg, partial(reduce_for_calibration, cfg=cfg), executor=executor)
        months = per_replication(per_rep, cfg.tickets.survey.basic_satisfied_weight)
        seconds = time.perf_counter() - started
        out = {"theta": {k: float(v) for k, v in theta.items()}, "horizon_days": horizon_days,
               "seconds": round(seconds, 1),
               "monthly": {m: {k: [float(x) for x in v[k]] for k in KEEP_METRICS} for m, v in months.items()}}
        res = targets_per_rep(out)
        self.log(f"  eval {len(self.cache) + 1:3d} ({horizon_days:g} d, {seconds:4.0f} s) "
                 + " ".join(f"{k}={theta[k]:+.4f}" for k in NAMES)
                 + " | " + " ".join(f"{t.month[-2:]} {t.metric[:3]} {np.nanmean(res[t.key]) * 100:5.2f}"
                                    for t in TARGETS if t.key in res))
        return out


def cache_key(theta: dict[str, float], horizon_days: float) -> tuple:
    """Evaluations closer than 1e-6 in every parameter are the same evaluation."""
    return (float(horizon_days),) + tuple(round(float(theta[k]), 6) for k in NAMES)


def targets_per_rep(evaluation: dict) -> dict[str, list[float]]:
    """{target key: [value per replication]} of the targets the evaluation covers."""
    out = {}
    for t in TARGETS:
        month = evaluation["monthly"].get(t.month)
        if month is not None:
            out[t.key] = month[t.metric]
    return out


# ----------------------------------------------------------------------------- fitting


def residuals_pp(model, theta: dict[str, float], targets=TARGETS, horizon_days: float = FULL_HORIZON_DAYS) -> np.ndarray:
    """Model minus published, in percentage points, for ``targets``. ``model(theta,
    horizon_days)`` returns an evaluation (see :class:`SimulationModel`)."""
    values = targets_per_rep(model(theta, horizon_days))
    return np.array([(float(np.nanmean(values[t.key])) - t.value) * 100 for t in targets])


def fd_jacobian(fun, x: np.ndarray, steps: np.ndarray, lo: np.ndarray, hi: np.ndarray, f0=None) -> np.ndarray:
    """Forward-difference Jacobian of ``fun`` at ``x`` with absolute ``steps`` (a step
    that would leave the bounds goes the other way)."""
    f0 = fun(x) if f0 is None else f0
    jac = np.empty((len(f0), len(x)))
    for j in range(len(x)):
        h = steps[j] if x[j] + steps[j] <= hi[j] else -steps[j]
        xj = x.copy()
        xj[j] += h
        jac[:, j] = (fun(xj) - f0) / h
    return jac


class OutOfBudget(Exception):
    """The time budget (``--max-minutes``) ran out inside a stage."""


def fit_stage(model, theta0: dict[str, float], free: tuple[str, ...], targets, horizon_days: float,
              max_nfev: int, parameters=PARAMETERS, deadline: float | None = None) -> tuple[dict[str, float], dict]:
    """Least squares on ``targets``' residuals (pp) over the ``free`` parameters (the
    others held at ``theta0``); returns the fitted parameters and a summary. Past
    ``deadline`` (time.perf_counter()) no new point is simulated (but the first): the
    stage ends at the best point it has seen."""
    from scipy.optimize import least_squares

    params = [p for p in parameters if p.name in free]
    lo = np.array([p.lo for p in params])
    hi = np.array([p.hi for p in params])
    steps = np.array([p.step for p in params])

    def theta_of(x):
        return {**theta0, **{p.name: float(v) for p, v in zip(params, x)}}

    best = {"cost": math.inf}

    def fun(x):
        theta = theta_of(x)
        cached = cache_key(theta, horizon_days) in getattr(model, "cache", {})
        if deadline is not None and not cached and "x" in best and time.perf_counter() > deadline:
            raise OutOfBudget
        r = residuals_pp(model, theta, targets, horizon_days)
        if float(r @ r) < best["cost"]:
            best.update(cost=float(r @ r), x=np.array(x, dtype=float), r=r)
        return r

    def jac(x):
        return fd_jacobian(fun, np.asarray(x, dtype=float), steps, lo, hi)

    x0 = np.clip([theta0[p.name] for p in params], lo, hi)
    try:
        result = least_squares(fun, x0, jac=jac, bounds=(lo, hi), x_scale=steps * 4, max_nfev=max_nfev,
                               xtol=1e-3, ftol=1e-3, gtol=1e-6)
        x, r = result.x, result.fun
        info = {"nfev": int(result.nfev), "njev": int(result.njev or 0), "status": int(result.status),
                "message": str(result.message)}
    except OutOfBudget:
        x, r = best["x"], best["r"]
        info = {"status": -99, "message": "time budget (--max-minutes) ran out: the best point seen"}
    theta = theta_of(x)
    return theta, {"free": list(free), "targets": [t.key for t in targets], "horizon_days": horizon_days,
                   "theta": theta, "residuals_pp": [float(v) for v in r], **info}


def pooled_target_covariance(evaluations, targets=TARGETS) -> tuple[np.ndarray, int]:
    """Covariance between replications of the targets (pp^2), pooled over every
    evaluation that covers all ``targets`` (deviations from each evaluation's own mean),
    and its degrees of freedom."""
    devs, dof = [], 0
    for ev in evaluations:
        values = targets_per_rep(ev)
        if not all(t.key in values for t in targets):
            continue
        x = np.array([values[t.key] for t in targets], dtype=float).T * 100  # reps x targets
        if len(x) < 2 or np.isnan(x).any():
            continue
        devs.append(x - x.mean(axis=0))
        dof += len(x) - 1
    if not dof:
        return np.full((len(targets), len(targets)), np.nan), 0
    d = np.vstack(devs)
    return d.T @ d / dof, dof


def identification(jac: np.ndarray, rep_cov: np.ndarray, replications: int, parameters=PARAMETERS) -> dict:
    """Standard errors of the fitted parameters from the simulation noise (sandwich):
    S = rep_cov / replications (covariance of the targets' means), W = diag(1/diag S),
    Cov = (J'WJ)^-1 J'W S W J (J'WJ)^-1. Also 95% intervals, the interval against the
    plausible range, the correlation matrix and the condition number of J scaled by
    each parameter's plausible range."""
    jac = np.asarray(jac, dtype=float)
    s = np.asarray(rep_cov, dtype=float) / replications
    w = np.diag(1.0 / np.diag(s))
    bread = np.linalg.pinv(jac.T @ w @ jac)
    cov = bread @ jac.T @ w @ s @ w @ jac @ bread
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    corr = cov / np.outer(se, se) if np.all(se > 0) else np.full_like(cov, np.nan)
    widths = np.array([p.plausible[1] - p.plausible[0] for p in parameters])
    scaled_jac = jac * widths
    out = {"jacobian_pp_per_unit": jac.tolist(), "target_sd_pp_per_replication": np.sqrt(np.diag(rep_cov)).tolist(),
           "covariance": cov.tolist(), "correlation": corr.tolist(),
           "condition_number_scaled": float(np.linalg.cond(scaled_jac)), "parameters": {}}
    for j, p in enumerate(parameters):
        half = 1.96 * se[j]
        out["parameters"][p.name] = {
            "se": float(se[j]), "ci95_half_width": float(half), "plausible": list(p.plausible),
            "ci_wider_than_plausible_range": bool(2 * half > widths[j]),
            "sensitivity_pp_per_step": [float(v * p.step) for v in jac[:, j]], "step": p.step,
        }
    return out


def calibrate(model, theta0: dict[str, float], max_nfev: tuple[int, int, int] = (6, 6, 3),
              deadline: float | None = None) -> dict:
    """The three stages (see the module doc) and the identification at the optimum.
    ``model`` is a :class:`SimulationModel` (or any callable with its interface).
    ``deadline`` (time.perf_counter()) ends the stages early (the Jacobian at the
    optimum is still computed)."""
    jan = tuple(t for t in TARGETS if t.month == "2019-01")
    octo = tuple(t for t in TARGETS if t.month == "2019-10")
    stages = {}
    theta, stages["january"] = fit_stage(model, theta0, JANUARY, jan, JANUARY_HORIZON_DAYS, max_nfev[0],
                                        deadline=deadline)
    theta, stages["october"] = fit_stage(model, theta, OCTOBER, octo, FULL_HORIZON_DAYS, max_nfev[1],
                                        deadline=deadline)
    theta, stages["joint"] = fit_stage(model, theta, NAMES, TARGETS, FULL_HORIZON_DAYS, max_nfev[2],
                                      deadline=deadline)
    # the Jacobian at the optimum (cached points reused) and the noise of the targets
    x = np.array([theta[k] for k in NAMES])

    def fun(v):
        return residuals_pp(model, dict(zip(NAMES, map(float, v))), TARGETS, FULL_HORIZON_DAYS)

    jac = fd_jacobian(fun, x, np.array([p.step for p in PARAMETERS]), np.array([p.lo for p in PARAMETERS]),
                      np.array([p.hi for p in PARAMETERS]))
    full_evals = [ev for ev in model_evaluations(model) if ev["horizon_days"] == FULL_HORIZON_DAYS]
    rep_cov, dof = pooled_target_covariance(full_evals)
    ident = identification(jac, rep_cov, model_replications(model))
    ident["noise_dof"] = dof
    final = model(theta, FULL_HORIZON_DAYS)
    means = monthly_means(final)
    return {"theta": theta, "stages": stages, "identification": ident, "fit": fit_table(final),
            "out_of_sample": out_of_sample(final), "satisfaction_per_resolution": satisfaction_slope(means),
            "monthly": means}


def satisfaction_slope(means: dict) -> dict:
    """How satisfaction moves with resolution: the model's least-squares slope over the
    months January-October (points of satisfaction per point of resolution) against the
    published two-point slope, (85.39 - 64.61) / (74.36 - 53.09) = 0.98. Gaming and effort
    both move satisfaction through the callback's "solved", so the four parameters can
    match both months only if the model's slope is about the published one."""
    months = sorted(m for m in means if "2019-01" <= m <= "2019-10")
    res = np.array([means[m]["resolution_rate"] for m in months])
    sat = np.array([means[m]["satisfaction_rate"] for m in months])
    pub = {(t.month, t.metric): t.value for t in TARGETS}
    published = ((pub[("2019-10", "satisfaction_rate")] - pub[("2019-01", "satisfaction_rate")])
                 / (pub[("2019-10", "resolution_rate")] - pub[("2019-01", "resolution_rate")]))
    model = float(np.polyfit(res, sat, 1)[0]) if len(months) > 2 and np.ptp(res) > 0 else None
    return {"model": model, "published": published, "months": months}


def model_evaluations(model) -> list[dict]:
    return list(getattr(model, "cache", {}).values())


def model_replications(model) -> int:
    return int(getattr(model, "replications", 1))


def fit_table(evaluation: dict) -> list[dict]:
    """Model against published for each target: mean, per replication, residual (pp)."""
    values = targets_per_rep(evaluation)
    return [{"month": t.month, "metric": t.metric, "published": t.value, "model": float(np.nanmean(values[t.key])),
             "model_per_replication": values[t.key],
             "residual_pp": (float(np.nanmean(values[t.key])) - t.value) * 100, "source": t.source}
            for t in TARGETS]


def monthly_means(evaluation: dict) -> dict:
    """{month: {metric: mean over replications}}."""
    return {m: {k: float(np.nanmean(v)) for k, v in metrics.items()} for m, metrics in evaluation["monthly"].items()}


def out_of_sample(evaluation: dict) -> dict:
    """The checks kept out of the fit: November/December against the year's figures
    (when the run covers them) and repeat calls January -> October."""
    means = monthly_means(evaluation)
    out = {}
    for name, metric in (("year_resolution_rate", "resolution_rate"), ("year_satisfaction_rate", "satisfaction_rate")):
        ref = OUT_OF_SAMPLE[name]
        model = {m: means[m][metric] for m in ref["months"] if m in means}
        out[name] = {"published": ref["value"], "source": ref["source"], "model": model,
                     "note": "" if model else "not covered: the fit's run ends after October's callbacks"}
    if "2019-01" in means and "2019-10" in means:
        jan, octo = means["2019-01"], means["2019-10"]
        out["repeat_calls"] = {
            "published": OUT_OF_SAMPLE["repeat_calls"]["value"], "source": OUT_OF_SAMPLE["repeat_calls"]["source"],
            "model_jan": jan["repeat_calls"], "model_oct": octo["repeat_calls"],
            "model_share_of_tickets_jan": jan["repeat_calls"] / jan["tickets"],
            "model_share_of_tickets_oct": octo["repeat_calls"] / octo["tickets"],
            "fell": bool(octo["repeat_calls"] / octo["tickets"] < jan["repeat_calls"] / jan["tickets"]),
        }
    return out


# ----------------------------------------------------------------------------- output


def from_json(evaluation: dict) -> dict:
    """An evaluation read back from evaluations.json (None -> NaN)."""
    monthly = {m: {k: [math.nan if v is None else float(v) for v in values] for k, values in metrics.items()}
               for m, metrics in evaluation["monthly"].items()}
    return {**evaluation, "monthly": monthly}


def format_value(x: float) -> str:
    """A fitted value as written to the YAML: 4 decimals (0.0001 is far below its SE)."""
    text = f"{x:.4f}"
    return "0.0" if float(text) == 0 else text


def fitted_yaml(theta: dict[str, float], header: list[str]) -> str:
    """The text of fitted_2019.yaml: ``# @package _global_``, the header as comments,
    then the four parameters in the structure pressure.yaml expects."""
    lines = ["# @package _global_"] + [f"# {h}".rstrip() for h in header]
    lines += [
        "accountability:",
        f"  start_effort_logit: {format_value(theta['start_effort_logit'])}   # January 2019 resolution",
        f"  effort: {{logit_per_pressure: {format_value(theta['effort_logit_per_pressure'])}, "
        f"service_logit_per_pressure: {format_value(theta['service_logit_per_pressure'])}}}"
        "   # October 2019 resolution, satisfaction",
        "survey:",
        f"  satisfaction: {{intercept: {format_value(theta['satisfaction_intercept'])}}}   # January 2019 satisfaction",
    ]
    return "\n".join(lines) + "\n"


def write_fitted_yaml(path: Path, theta: dict[str, float], header: list[str]) -> None:
    """Write fitted_2019.yaml atomically."""
    from analysis.io import write_bytes_atomic

    write_bytes_atomic(Path(path), fitted_yaml(theta, header).encode("utf-8"))


def read_fitted_yaml(path: Path) -> dict[str, float]:
    """The four parameters of a fitted_2019.yaml (by name)."""
    import yaml

    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return {p.name: float(get_key(raw, p.key)) for p in PARAMETERS}


def yaml_header(report: dict) -> list[str]:
    """Header comments of fitted_2019.yaml: what wrote it, how, the fit and the
    identification."""
    run = report["run"]
    ident = report["identification"]["parameters"]
    lines = ["The [fit] parameters of conf/accountability/pressure.yaml, written by",
             f"  {run['command']}",
             f"on {run['date']} ({run['wall_minutes']:.0f} min, {run['evaluations']} evaluations): scenario "
             f"{SCENARIO}, accountability=pressure, horizon {FULL_HORIZON_DAYS} d (to 2019-11-13),",
             f"scale {run['scale']} (daily calls, seats, department servers), {run['replications']} replications, "
             f"seed {run['seed']} (common random numbers); model {report.get('model_version')} "
             f"(git {str(report.get('git_head'))[:10]}{run.get('code_note', '')}).",
             "Fit (model vs published [pub, docs/DOMAIN.md], measured by the callback survey):"]
    for row in report["fit"]:
        lines.append(f"  {row['month']} {row['metric']:<18} {row['model'] * 100:6.2f}% vs {row['published'] * 100:6.2f}%"
                     f"  ({row['residual_pp']:+.2f} pp)")
    slope = report.get("satisfaction_per_resolution") or {}
    if slope.get("model") is not None:
        lines.append(f"Satisfaction rises {slope['model']:.2f} points per point of resolution in the model "
                     f"(Jan-Oct), {slope['published']:.2f} between the published points.")
    lines.append("Identification (SE from the simulation noise at this scale, sandwich; 95% CI vs plausible range):")
    for p in PARAMETERS:
        i = ident[p.name]
        flag = "  WIDER THAN PLAUSIBLE RANGE" if i["ci_wider_than_plausible_range"] else ""
        lines.append(f"  {p.name:<26} {report['theta'][p.name]:+.4f} +/- {i['ci95_half_width']:.4f} "
                     f"(plausible {p.plausible[0]:g}..{p.plausible[1]:g}){flag}")
    lines.append(f"  scaled condition number of the Jacobian {report['identification']['condition_number_scaled']:.1f}; "
                 "details: calibration.json")
    return lines


def print_summary(report: dict, file=sys.stdout) -> None:
    """The fit and the identification, for the console."""
    print("\n".join(yaml_header(report)), file=file)
    oos = report["out_of_sample"]
    rc = oos.get("repeat_calls")
    if rc:
        print(f"Out of sample: repeat calls / tickets {rc['model_share_of_tickets_jan']:.1%} (Jan) -> "
              f"{rc['model_share_of_tickets_oct']:.1%} (Oct): {'fell' if rc['fell'] else 'did NOT fall'} "
              "(published: fell)", file=file)
    for name in ("year_resolution_rate", "year_satisfaction_rate"):
        o = oos[name]
        print(f"Out of sample: {name} published {o['published']:.0%}; model {o['model'] or o['note']}", file=file)


# ----------------------------------------------------------------------------- CLI


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m analysis.calibrate",
        description="Fit the accountability loop's four parameters (conf/accountability/fitted_2019.yaml: "
                    "start_effort_logit, effort.logit_per_pressure, effort.service_logit_per_pressure, "
                    "survey.satisfaction.intercept) to the published city-wide resolution and satisfaction of "
                    "January and October 2019 (53.09/64.61%%, 74.36/85.39%%), simulating scenario "
                    f"{SCENARIO} (accountability=pressure) to 2019-11-13 with common random numbers. "
                    "Writes calibration.json (and evaluations.json) to the output directory and rewrites "
                    "the fitted YAML. Default cost: about 20-25 min on 2 cores.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--scale", type=float, default=DEFAULT_SCALE,
                    help="multiplies arrivals.daily_calls, call_center.seats (and seat changes), departments.servers")
    ap.add_argument("--replications", type=int, default=DEFAULT_REPLICATIONS,
                    help="replications per evaluation (the same ones every time)")
    ap.add_argument("--seed", type=int, default=None, help="root seed (default: the composed config's)")
    ap.add_argument("--executor", choices=("serial", "local"), default="local", help="where replications run")
    ap.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="local executor's worker processes")
    ap.add_argument("--max-nfev", type=int, nargs=3, default=(6, 6, 3), metavar=("JAN", "OCT", "JOINT"),
                    help="least_squares evaluation budget of each stage (Jacobian evaluations not counted)")
    ap.add_argument("--max-minutes", type=float, default=None,
                    help="time budget of the fitting stages: past it, no new point is tried and each remaining "
                         "stage keeps the best point seen (the Jacobian at the end still costs up to 4 evaluations)")
    ap.add_argument("--resume", type=Path, default=None,
                    help="an evaluations.json of an earlier run with the same options: its evaluations are reused")
    ap.add_argument("--out", type=Path, default=None,
                    help="output directory (default outputs/calibration/<timestamp>/)")
    ap.add_argument("--fitted", type=Path, default=FITTED_YAML, help="the YAML to rewrite with the fitted values")
    ap.add_argument("--no-write", action="store_true", help="do not rewrite the fitted YAML (report only)")
    ap.add_argument("--dry-run", action="store_true",
                    help="compose, print the targets, parameters, starting point and scale effects; simulate nothing")
    ap.add_argument("overrides", nargs="*", help="extra Hydra overrides for the composed config (key=value)")
    args = ap.parse_args(argv)
    if not 0 < args.scale <= 1 or args.replications < 1 or args.workers < 1:
        ap.error("--scale must be in (0, 1], --replications and --workers at least 1")
    return args


def git_head() -> str | None:
    """The commit of the code that ran (a HEAD file beside it, for a snapshot of a work
    tree, or git's own), or None."""
    import subprocess

    if (REPO / "HEAD").is_file():
        return (REPO / "HEAD").read_text().strip()
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              timeout=10).stdout.strip() or None
    except OSError:
        return None


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    stamp = dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    out_dir = args.out or REPO / "outputs" / "calibration" / stamp
    raw = compose_raw(args.overrides)
    seed = int(raw["seed"] if args.seed is None else args.seed)
    theta0 = current_values(raw)
    effects = scale_effects(raw, args.scale)
    plan = {"targets": [asdict(t) for t in TARGETS], "parameters": [asdict(p) for p in PARAMETERS],
            "start": theta0, "scale": args.scale, "replications": args.replications, "seed": seed,
            "horizon_days": {"january": JANUARY_HORIZON_DAYS, "full": FULL_HORIZON_DAYS},
            "scale_effects": effects, "overrides": args.overrides}
    if args.dry_run:
        print(json.dumps(plan, indent=2, ensure_ascii=False))
        return 0
    from analysis.io import json_ready, write_json_atomic

    out_dir.mkdir(parents=True, exist_ok=True)
    log_file = open(out_dir / "calibrate.log", "a", encoding="utf-8")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)
        print(msg, file=log_file, flush=True)

    def save(model) -> None:
        write_json_atomic(out_dir / "evaluations.json", json_ready(list(model.cache.values())))

    from analysis.rundir import model_version

    plan["model_version"] = model_version()
    plan["git_head"] = git_head()
    log(f"model {plan['model_version']} (code of {REPO}, git HEAD {plan['git_head']})")
    log(f"calibration: scale {args.scale}, {args.replications} replications, seed {seed}, "
        f"executor {args.executor} ({args.workers} workers); output {out_dir}")
    log("start: " + " ".join(f"{k}={v:+.4f}" for k, v in theta0.items()))
    model = SimulationModel(raw, args.scale, args.replications, seed, args.executor, args.workers, log=log,
                            on_eval=save)
    if args.resume:
        for ev in json.loads(args.resume.read_text(encoding="utf-8")):
            model.cache[cache_key(ev["theta"], ev["horizon_days"])] = from_json(ev)
        log(f"resumed {len(model.cache)} evaluations from {args.resume}")
    deadline = None if args.max_minutes is None else started + 60 * args.max_minutes
    result = calibrate(model, theta0, tuple(args.max_nfev), deadline)
    command = "python -m analysis.calibrate " + " ".join(sys.argv[1:] if argv is None else argv)
    report = {**result, **plan, "run": {
        "command": command.strip(), "date": dt.date.today().isoformat(), "scale": args.scale,
        "replications": args.replications, "seed": seed, "wall_minutes": (time.perf_counter() - started) / 60,
        "evaluations": len(model.cache),
        "eval_seconds": {str(h): float(np.mean([e["seconds"] for e in model.cache.values() if e["horizon_days"] == h]))
                         for h in (JANUARY_HORIZON_DAYS, FULL_HORIZON_DAYS)
                         if any(e["horizon_days"] == h for e in model.cache.values())}}}
    report = json_ready(report)
    write_json_atomic(out_dir / "calibration.json", report)
    if not args.no_write:
        write_fitted_yaml(args.fitted, report["theta"], yaml_header(report))
        log(f"wrote {args.fitted}")
    print_summary(report)
    print(f"\noutputs: {out_dir}")
    log_file.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
