"""Distributions are specified by mean and coefficient of variation; the samplers must
deliver exactly those moments (checked against the sampling error of the draw)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.distributions import parse_distribution

N = 400_000


@pytest.mark.parametrize("spec, cv", [
    ({"dist": "exponential", "mean_min": 5.0}, 1.0),
    ({"dist": "lognormal", "mean_min": 4.5, "cv": 0.8}, 0.8),
    ({"dist": "gamma", "mean_min": 7.0, "cv": 0.5}, 0.5),
    ({"dist": "gamma", "mean_min": 2.0, "cv": 1.7}, 1.7),
])
def test_mean_and_cv_match_the_spec(spec, cv):
    x = parse_distribution(spec, "t").sample(np.random.default_rng(11), N)
    mean = spec["mean_min"]
    # The sample mean is within 4 standard errors of the specified mean.
    assert abs(x.mean() - mean) < 4 * mean * cv / np.sqrt(N)
    assert x.std() / x.mean() == pytest.approx(cv, rel=0.03)
    assert (x > 0).all()


def test_exponential_passes_a_goodness_of_fit_test():
    x = parse_distribution({"dist": "exponential", "mean_min": 3.0}, "t").sample(np.random.default_rng(5), 20_000)
    assert stats.kstest(x, "expon", args=(0, 3.0)).pvalue > 0.001


def test_deterministic_and_infinite():
    rng = np.random.default_rng(0)
    assert (parse_distribution({"dist": "deterministic", "mean_min": 2.5}, "t").sample(rng, 10) == 2.5).all()
    inf = parse_distribution({"dist": "infinite"}, "t", allow_infinite=True)
    assert inf.is_infinite and np.isinf(inf.sample(rng, 3)).all() and inf.mean == np.inf


def test_empirical_draws_values_with_their_weights():
    d = parse_distribution({"dist": "empirical", "values_min": [1.0, 2.0, 10.0], "weights": [1, 1, 2]}, "t")
    x = d.sample(np.random.default_rng(3), 40_000)
    counts = [np.count_nonzero(x == v) for v in (1.0, 2.0, 10.0)]
    assert sum(counts) == len(x)
    assert stats.chisquare(counts, np.array([0.25, 0.25, 0.5]) * len(x)).pvalue > 0.001
    assert d.mean == pytest.approx(5.75)


def test_sample_into_fills_in_place():
    d = parse_distribution({"dist": "lognormal", "mean_min": 3.0, "cv": 1.0}, "t")
    out = np.zeros(1000)
    assert d.sample_into(np.random.default_rng(1), out) is out and (out > 0).all()
