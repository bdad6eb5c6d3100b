"""Unit tests for analysis.erlang.

Reference values come from closed forms (M/M/1, textbook Erlang C, the
theta = mu case of Erlang A whose number in system is Poisson) or from
independent brute-force computations done here: a dense linear solve of the
truncated birth-death generator, and a matrix exponential / fundamental
matrix of the tagged-caller absorbing Markov chain.
"""

import math

import numpy as np
import pytest
from scipy.linalg import expm
from scipy.stats import poisson

from analysis.erlang import (
    erlang_a,
    erlang_b,
    erlang_c,
    min_agents_for_service_level,
)


# --------------------------------------------------------------------------
# Independent brute-force reference for M/M/c+M
# --------------------------------------------------------------------------

def dense_stationary(c, lam, mu, theta, n_max):
    """Stationary law of the truncated chain via a dense linear solve."""
    size = n_max + 1
    generator = np.zeros((size, size))
    for n in range(size):
        if n < n_max:
            generator[n, n + 1] = lam
        if n > 0:
            generator[n, n - 1] = min(n, c) * mu + max(n - c, 0) * theta
        generator[n, n] = -generator[n].sum()
    system = np.vstack([generator.T, np.ones(size)])
    rhs = np.zeros(size + 1)
    rhs[-1] = 1.0
    return np.linalg.lstsq(system, rhs, rcond=None)[0]


def tagged_chain(c, mu, theta, positions):
    """Sub-generator over queue positions and exit-rate vectors.

    Position k means k callers ahead.  From k the caller moves to k-1 (or is
    served from 0) at rate c*mu + k*theta and abandons at rate theta.
    """
    sub = np.zeros((positions, positions))
    to_served = np.zeros(positions)
    for k in range(positions):
        advance = c * mu + k * theta
        sub[k, k] = -(advance + theta)
        if k == 0:
            to_served[k] = advance
        else:
            sub[k, k - 1] = advance
    to_abandon = np.full(positions, theta)
    return sub, to_served, to_abandon


class BruteForceErlangA:
    """Erlang A quantities from dense linear algebra (small systems only)."""

    def __init__(self, c, lam, mu, theta, n_max=150):
        self.pi = dense_stationary(c, lam, mu, theta, n_max)
        self.c, self.lam, self.mu, self.theta = c, lam, mu, theta
        self.ahead = self.pi[c:]
        self.sub, self.to_served, self.to_abandon = tagged_chain(
            c, mu, theta, self.ahead.size)
        self.fundamental = np.linalg.inv(-self.sub)

    @property
    def p_wait(self):
        return self.pi[self.c:].sum()

    @property
    def occupancy(self):
        busy = np.minimum(np.arange(self.pi.size), self.c)
        return float(busy @ self.pi) / self.c

    @property
    def p_served(self):
        return self.pi[:self.c].sum() + self.ahead @ self.fundamental @ self.to_served

    @property
    def mean_wait_all(self):
        return self.ahead @ self.fundamental @ np.ones(self.ahead.size)

    @property
    def asa(self):
        served_from = self.fundamental @ self.to_served
        served_wait = self.ahead @ self.fundamental @ served_from
        return served_wait / self.p_served

    def absorbed_by(self, threshold):
        """(P(served by t) incl. no-wait, P(abandoned by t))."""
        sub, size = self.sub, self.ahead.size
        full = np.zeros((size + 2, size + 2))
        full[:size, :size] = sub
        full[:size, size] = self.to_served
        full[:size, size + 1] = self.to_abandon
        start = np.concatenate([self.ahead, [0.0, 0.0]])
        final = start @ expm(full * threshold)
        return self.pi[:self.c].sum() + final[size], final[size + 1]


# --------------------------------------------------------------------------
# Erlang B
# --------------------------------------------------------------------------

@pytest.mark.parametrize("c, load", [(1, 0.5), (3, 2.0), (7, 9.5), (12, 4.2)])
def test_erlang_b_matches_direct_formula(c, load):
    terms = [load**k / math.factorial(k) for k in range(c + 1)]
    assert erlang_b(c, load) == pytest.approx(terms[-1] / sum(terms), rel=1e-12)


def test_erlang_b_large_system_no_overflow():
    blocking = erlang_b(2000, 1950.0)
    # Independent log-space evaluation: B = Poisson pmf(c) / Poisson cdf(c).
    expected = poisson.pmf(2000, 1950.0) / poisson.cdf(2000, 1950.0)
    assert math.isfinite(blocking)
    assert blocking == pytest.approx(expected, rel=1e-9)


def test_erlang_b_zero_load_never_blocks():
    assert erlang_b(5, 0.0) == 0.0


# --------------------------------------------------------------------------
# Erlang C
# --------------------------------------------------------------------------

def test_erlang_c_mm1():
    lam, mu = 0.6, 1.5
    rho = lam / mu
    result = erlang_c(1, lam, mu)
    assert result.p_wait == pytest.approx(rho, rel=1e-13)
    assert result.mean_wait == pytest.approx(rho / (mu - lam), rel=1e-13)
    assert result.asa == result.mean_wait
    assert result.occupancy == pytest.approx(rho)
    # M/M/1 waiting time: P(W > t) = rho exp(-(mu - lambda) t).
    assert result.service_level(2.0) == pytest.approx(
        1 - rho * math.exp(-(mu - lam) * 2.0), rel=1e-13)


def test_erlang_c_textbook_two_servers():
    result = erlang_c(2, 1.0, 1.0)
    assert result.p_wait == pytest.approx(1 / 3, rel=1e-14)
    assert result.mean_wait == pytest.approx(1 / 3, rel=1e-14)
    assert result.occupancy == pytest.approx(0.5)
    assert result.service_level(0.0) == pytest.approx(2 / 3, rel=1e-14)
    assert result.service_level(1.0) == pytest.approx(1 - math.exp(-1) / 3, rel=1e-14)


def test_erlang_c_unstable_raises():
    with pytest.raises(ValueError, match="unstable"):
        erlang_c(5, 5.0, 1.0)
    with pytest.raises(ValueError, match="unstable"):
        erlang_c(5, 6.0, 1.0)


# --------------------------------------------------------------------------
# Erlang A against independent computations
# --------------------------------------------------------------------------

@pytest.mark.parametrize("c, lam, mu, theta", [
    (1, 0.8, 1.0, 0.3),   # M/M/1+M, stable
    (1, 2.5, 1.0, 0.7),   # M/M/1+M, overloaded
    (3, 2.4, 1.0, 0.2),
    (4, 6.0, 1.2, 1.5),   # overloaded, impatient
])
def test_erlang_a_matches_brute_force(c, lam, mu, theta):
    result = erlang_a(c, lam, mu, theta)
    ref = BruteForceErlangA(c, lam, mu, theta)
    assert result.p_wait == pytest.approx(ref.p_wait, rel=1e-9)
    assert result.p_served == pytest.approx(ref.p_served, rel=1e-9)
    assert result.occupancy == pytest.approx(ref.occupancy, rel=1e-9)
    # Little's law (E[Q]/lambda) vs. the tagged-caller expected sojourn.
    assert result.mean_wait == pytest.approx(ref.mean_wait_all, rel=1e-9)
    assert result.asa == pytest.approx(ref.asa, rel=1e-9)
    for threshold in (0.1, 0.5, 2.0, 7.0):
        served, abandoned = ref.absorbed_by(threshold)
        assert result.service_level(threshold) == pytest.approx(served, abs=1e-10)
        assert result.p_abandon_within(threshold) == pytest.approx(abandoned, abs=1e-10)


@pytest.mark.parametrize("c, load", [(3, 2.0), (10, 14.0)])
def test_erlang_a_with_patience_equal_to_service_is_poisson(c, load):
    # theta = mu makes every customer in system leave at rate mu, so the
    # number in system is the M/M/inf Poisson(load) law.
    mu = 0.5
    result = erlang_a(c, load * mu, mu, mu)
    assert result.p_wait == pytest.approx(poisson.sf(c - 1, load), rel=1e-10)
    n = np.arange(0, 400)
    expected_queue = float(np.maximum(n - c, 0) @ poisson.pmf(n, load))
    assert result.p_abandon == pytest.approx(expected_queue / load, rel=1e-10)


@pytest.mark.parametrize("c, lam, mu", [(1, 0.7, 1.0), (10, 8.0, 1.0), (50, 9.0, 0.2)])
def test_erlang_a_converges_to_erlang_c(c, lam, mu):
    theta = 1e-9
    a_result = erlang_a(c, lam, mu, theta)
    c_result = erlang_c(c, lam, mu)
    assert a_result.p_wait == pytest.approx(c_result.p_wait, rel=1e-6)
    assert a_result.mean_wait == pytest.approx(c_result.mean_wait, rel=1e-6)
    assert a_result.asa == pytest.approx(c_result.asa, rel=1e-6)
    assert a_result.p_abandon < 1e-6
    for threshold in (0.0, 0.2, 1.0, 5.0):
        assert a_result.service_level(threshold) == pytest.approx(
            c_result.service_level(threshold), abs=1e-7)


# --------------------------------------------------------------------------
# Erlang A structural properties
# --------------------------------------------------------------------------

@pytest.mark.parametrize("c, lam, mu, theta", [
    (20, 18.0, 1.0, 0.5),
    (20, 30.0, 1.0, 0.5),
    (500, 475.0, 1.0, 0.5),
])
def test_erlang_a_conservation(c, lam, mu, theta):
    result = erlang_a(c, lam, mu, theta)
    assert result.p_abandon + result.p_served == pytest.approx(1.0, abs=1e-12)
    assert result.occupancy * c * mu == pytest.approx(lam * (1 - result.p_abandon), rel=1e-12)
    assert 0.0 <= result.p_wait <= 1.0
    assert 0.0 < result.occupancy <= 1.0


def test_erlang_a_overloaded_large_system_fluid_limit():
    c, mu, theta = 500, 1.0, 0.5
    lam = 1.3 * c * mu
    result = erlang_a(c, lam, mu, theta)
    fields = [result.p_wait, result.p_abandon, result.mean_wait, result.asa,
              result.occupancy, result.service_level(0.5)]
    assert all(math.isfinite(value) for value in fields)
    assert result.p_abandon == pytest.approx(1 - c * mu / lam, abs=0.01)
    assert result.occupancy == pytest.approx(1.0, abs=0.01)
    # Fluid queue (lam - c mu)/theta gives a mean wait of about that / lam.
    assert result.mean_wait == pytest.approx((lam - c * mu) / theta / lam, rel=0.05)


def test_erlang_a_service_level_shape():
    result = erlang_a(20, 19.0, 1.0, 0.4)
    thresholds = np.linspace(0.0, 10.0, 41)
    levels = [result.service_level(t) for t in thresholds]
    assert np.all(np.diff(levels) >= -1e-15)
    assert levels[0] == pytest.approx(1 - result.p_wait, abs=1e-14)
    assert result.service_level(1e4) == pytest.approx(1 - result.p_abandon, abs=1e-12)
    assert result.service_level(math.inf) == pytest.approx(result.p_served, abs=1e-14)
    assert result.p_served_within(1.5) == result.service_level(1.5)
    assert result.p_abandon_within(0.0) == pytest.approx(0.0, abs=1e-15)
    assert result.p_abandon_within(1e4) == pytest.approx(result.p_abandon, rel=1e-10)
    for t in thresholds:
        assert result.service_level(t) + result.p_abandon_within(t) <= 1.0 + 1e-12


def test_erlang_a_large_system_is_fast_enough():
    result = erlang_a(500, 475.0, 1.0, 0.5)
    level = result.service_level(0.5)
    assert 1 - result.p_wait <= level <= result.p_served
    assert result.asa > 0.0


# --------------------------------------------------------------------------
# Staffing
# --------------------------------------------------------------------------

def _erlang_c_level(c, lam, mu, threshold):
    if c <= lam / mu:
        return 0.0  # unstable: waits grow without bound
    return erlang_c(c, lam, mu).service_level(threshold)


@pytest.mark.parametrize("lam, mu, target, threshold", [
    (10.0, 1.0, 0.8, 0.2),
    (100.0, 0.2, 0.8, 1 / 3),
    (0.5, 1.0, 0.95, 0.0),
])
def test_min_agents_erlang_c(lam, mu, target, threshold):
    agents = min_agents_for_service_level(lam, mu, target, threshold)
    assert _erlang_c_level(agents, lam, mu, threshold) >= target
    assert _erlang_c_level(agents - 1, lam, mu, threshold) < target


@pytest.mark.parametrize("lam, mu, theta, target, threshold", [
    (10.0, 1.0, 0.5, 0.8, 0.2),
    (100.0, 0.2, 0.5, 0.8, 1 / 3),
    (50.0, 1.0, 2.0, 0.6, 0.0),
])
def test_min_agents_erlang_a(lam, mu, theta, target, threshold):
    agents = min_agents_for_service_level(lam, mu, target, threshold, abandon_rate=theta)

    def level(c):
        return erlang_a(c, lam, mu, theta).service_level(threshold)

    assert level(agents) >= target
    assert agents == 1 or level(agents - 1) < target


@pytest.mark.parametrize("target", [0.0, 1.0, 1.5, -0.1])
def test_min_agents_rejects_targets_outside_unit_interval(target):
    with pytest.raises(ValueError, match="target_sl"):
        min_agents_for_service_level(10.0, 1.0, target, 0.2)


def test_min_agents_unreachable_within_cap():
    with pytest.raises(ValueError, match="max_agents"):
        min_agents_for_service_level(100.0, 1.0, 0.9, 0.2, abandon_rate=0.5, max_agents=50)
    with pytest.raises(ValueError, match="max_agents"):
        min_agents_for_service_level(100.0, 1.0, 0.9, 0.2, max_agents=100)


# --------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------

@pytest.mark.parametrize("call, name", [
    (lambda: erlang_c(0, 1.0, 1.0), "c"),
    (lambda: erlang_c(2.5, 1.0, 1.0), "c"),
    (lambda: erlang_c(3, 0.0, 1.0), "arrival_rate"),
    (lambda: erlang_c(3, 1.0, -1.0), "service_rate"),
    (lambda: erlang_a(3, 1.0, 1.0, 0.0), "abandon_rate"),
    (lambda: erlang_a(3, float("nan"), 1.0, 1.0), "arrival_rate"),
    (lambda: erlang_b(-1, 1.0), "c"),
    (lambda: erlang_b(3, -2.0), "load"),
    (lambda: erlang_c(3, 1.0, 1.0).service_level(-1.0), "threshold"),
    (lambda: erlang_a(3, 1.0, 1.0, 1.0).service_level(-0.5), "threshold"),
    (lambda: min_agents_for_service_level(1.0, 1.0, 0.8, -1.0), "threshold"),
])
def test_invalid_inputs_raise_naming_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name} "):
        call()


def test_integral_float_servers_accepted():
    assert erlang_c(2.0, 1.0, 1.0).p_wait == pytest.approx(1 / 3)
