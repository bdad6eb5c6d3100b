"""analysis.calibrate: the fitting machinery against a cheap fake model with known
parameters, the fitted YAML (round trip, and the year scenario composes it), the
scaling of a config, and the CLI. Nothing here simulates."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from scipy.special import expit, logit

from analysis import calibrate as cal
from analysis.io import json_ready
from sim.config import build_config

TRUE = {"start_effort_logit": -0.5, "effort_logit_per_pressure": 0.25, "service_logit_per_pressure": 0.4,
        "satisfaction_intercept": -2.8}
START = {"start_effort_logit": -0.7, "effort_logit_per_pressure": 0.3, "service_logit_per_pressure": 0.3,
         "satisfaction_intercept": -2.5}
#: d[target] d[parameter] of the fake model's logits (rows: targets in cal.TARGETS order).
LOGIT_SLOPES = np.array([
    [1.0, 0.0, 0.0, 0.0],   # January resolution: start effort only
    [0.8, 0.0, 0.0, 1.0],   # January satisfaction: start effort and intercept
    [1.0, 3.0, 0.0, 0.0],   # October resolution: + effort per pressure
    [0.5, 2.0, 1.5, 1.0],   # October satisfaction: everything
])
NOISE_PP = 0.3  # replication 0 lies this many points above the mean, replication 1 below


class FakeModel:
    """The SimulationModel interface without a simulation: each target's logit moves
    linearly with the parameters and hits the published point at TRUE; two
    replications at +-NOISE_PP around the mean (common random numbers: the same
    offsets for every parameter value)."""

    replications = 2

    def __init__(self):
        self.cache = {}

    def mean(self, theta: dict) -> np.ndarray:
        d = np.array([theta[k] - TRUE[k] for k in cal.NAMES])
        return expit(logit([t.value for t in cal.TARGETS]) + LOGIT_SLOPES @ d)

    def __call__(self, theta: dict, horizon_days: float = cal.FULL_HORIZON_DAYS) -> dict:
        key = cal.cache_key(theta, horizon_days)
        if key not in self.cache:
            m = self.mean(theta)
            monthly = {"2019-01": {}, "2019-10": {}}
            for t, v in zip(cal.TARGETS, m):
                monthly[t.month][t.metric] = [v + NOISE_PP / 100, v - NOISE_PP / 100]
            for month in monthly.values():
                month.update(tickets=[1000.0, 1000.0], repeat_calls=[100.0, 100.0], true_resolution_rate=[0.5, 0.5],
                             gaming_share=[0.0, 0.0])
            if horizon_days < cal.FULL_HORIZON_DAYS:
                del monthly["2019-10"]
            self.cache[key] = {"theta": dict(theta), "horizon_days": horizon_days, "seconds": 0.0,
                               "monthly": monthly}
        return self.cache[key]


@pytest.fixture(scope="module")
def fitted():
    model = FakeModel()
    return model, cal.calibrate(model, START, max_nfev=(20, 20, 10))


def test_the_fit_recovers_known_parameters(fitted):
    _, result = fitted
    for k, v in TRUE.items():
        assert result["theta"][k] == pytest.approx(v, abs=0.02), k
    assert max(abs(row["residual_pp"]) for row in result["fit"]) < 0.1
    assert [s for s in result["stages"]] == ["january", "october", "joint"]
    # January's stage moved only January's parameters, on the short run
    assert result["stages"]["january"]["theta"]["effort_logit_per_pressure"] == START["effort_logit_per_pressure"]
    assert result["stages"]["january"]["horizon_days"] == cal.JANUARY_HORIZON_DAYS


def test_standard_errors_match_the_analytic_sandwich(fitted):
    model, result = fitted
    ident = result["identification"]
    # the analytic Jacobian (pp per unit) at the truth: 100 p(1-p) x the logit slopes
    p = np.array([t.value for t in cal.TARGETS])
    jac = 100 * (p * (1 - p))[:, None] * LOGIT_SLOPES
    # the replications' covariance (ddof 1) of +-d in every target: 2 d^2 everywhere (fully
    # correlated); that of the mean of the two: d^2
    s = np.ones((4, 4)) * (2 * NOISE_PP ** 2) / model.replications
    cov = np.linalg.inv(jac) @ s @ np.linalg.inv(jac).T
    se = [ident["parameters"][k]["se"] for k in cal.NAMES]
    assert se == pytest.approx(np.sqrt(np.diag(cov)), rel=0.15)
    assert ident["target_sd_pp_per_replication"] == pytest.approx([NOISE_PP * np.sqrt(2)] * 4, rel=1e-6)
    assert ident["noise_dof"] > 3
    assert not any(v["ci_wider_than_plausible_range"] for v in ident["parameters"].values())


def test_a_spent_time_budget_keeps_the_start_and_says_so():
    result = cal.calibrate(FakeModel(), START, max_nfev=(20, 20, 10), deadline=0.0)
    assert result["theta"] == START
    assert all(stage["status"] == -99 for stage in result["stages"].values())
    assert result["identification"]["jacobian_pp_per_unit"]  # still computed at the end


def test_evaluations_read_back_from_json():
    ev = FakeModel()(START)
    ev["monthly"]["2019-01"]["resolution_rate"][1] = float("nan")
    back = cal.from_json(json.loads(json.dumps(json_ready(ev))))
    assert np.isnan(back["monthly"]["2019-01"]["resolution_rate"][1])
    assert cal.cache_key(back["theta"], back["horizon_days"]) == cal.cache_key(START, cal.FULL_HORIZON_DAYS)


def test_a_parameter_no_target_moves_is_flagged():
    jac = np.array([[10.0, 0.0], [0.0, 1e-4]])
    params = cal.PARAMETERS[:2]
    out = cal.identification(jac, np.eye(2), 2, params)["parameters"]
    assert not out[params[0].name]["ci_wider_than_plausible_range"]
    assert out[params[1].name]["ci_wider_than_plausible_range"]


def test_out_of_sample_reports_repeat_calls_and_uncovered_months(fitted):
    _, result = fitted
    oos = result["out_of_sample"]
    assert oos["year_resolution_rate"]["model"] == {} and "not covered" in oos["year_resolution_rate"]["note"]
    assert oos["repeat_calls"]["fell"] is False  # the fake's repeat calls are flat
    json.dumps(json_ready(result), allow_nan=False)


def test_fitted_yaml_round_trips_and_the_year_scenario_composes_it(tmp_path):
    conf = tmp_path / "conf"
    shutil.copytree(cal.CONF_DIR, conf)
    theta = {"start_effort_logit": -0.4321, "effort_logit_per_pressure": 0.1234, "service_logit_per_pressure": 0.2171,
             "satisfaction_intercept": -3.1415}
    path = conf / "accountability" / "fitted_2019.yaml"
    cal.write_fitted_yaml(path, theta, ["written by a test", "", "fit: none"])
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "# @package _global_" and "# written by a test" in text
    assert cal.read_fitted_yaml(path) == theta
    raw = cal.compose_raw(conf_dir=conf)
    assert cal.current_values(raw) == theta
    cfg = build_config(raw)
    assert cfg.accountability.mode == "pressure"
    assert cfg.accountability.start_effort_logit == theta["start_effort_logit"]
    assert cfg.accountability.effort_logit_per_pressure == theta["effort_logit_per_pressure"]
    assert cfg.accountability.service_logit_per_pressure == theta["service_logit_per_pressure"]
    assert cfg.tickets.survey.satisfaction.intercept == theta["satisfaction_intercept"]


def test_the_committed_yaml_is_what_the_year_scenario_runs():
    raw = cal.compose_raw()
    assert cal.current_values(raw) == cal.read_fitted_yaml(cal.FITTED_YAML)


def test_scaling_and_horizon_edit_a_copy():
    raw = cal.compose_raw()
    small = cal.with_horizon(cal.scaled(raw, 0.25), cal.JANUARY_HORIZON_DAYS)
    assert small["arrivals"]["daily_calls"] == raw["arrivals"]["daily_calls"] * 0.25
    assert small["call_center"]["seats"] == round(raw["call_center"]["seats"] * 0.25)
    assert small["departments"]["servers"] == round(raw["departments"]["servers"] * 0.25)
    assert small["call_center"]["seat_changes"] == []  # October's change falls after 25 February
    full = cal.scaled(raw, 0.25)["call_center"]["seat_changes"]
    assert [c["seats"] for c in full] == [round(c["seats"] * 0.25) for c in raw["call_center"]["seat_changes"]]
    assert raw["call_center"]["seat_changes"] and raw["horizon_days"] != cal.JANUARY_HORIZON_DAYS
    build_config(small)
    build_config(cal.with_params(cal.with_horizon(raw, cal.FULL_HORIZON_DAYS), TRUE))


def test_cli_help():
    out = subprocess.run([sys.executable, "-m", "analysis.calibrate", "--help"], capture_output=True, text=True,
                         cwd=cal.REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    for option in ("--scale", "--replications", "--dry-run", "--out", "--no-write", "--seed", "--max-minutes",
                   "--resume"):
        assert option in out.stdout
