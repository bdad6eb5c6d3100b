"""Analytic queueing formulas for staffing a call centre.

Three classical models are provided, all in consistent units chosen by the
caller (the simulator uses rates per minute and times in minutes):

* **Erlang B** (M/M/c/c, lost calls): :func:`erlang_b`.
* **Erlang C** (M/M/c, infinitely patient callers): :func:`erlang_c`.
* **Erlang A** (M/M/c+M, exponential patience; Palm 1943, popularised by
  Garnett, Mandelbaum & Reiman 2002, "Designing a call center with impatient
  customers", M&SOM 4(3)): :func:`erlang_a`.

They serve as analytic baselines that the discrete-event simulation must
reproduce in the corresponding special cases, and as quick staffing tools
(:func:`min_agents_for_service_level`).

Erlang A method
---------------
The number in system is a birth-death chain (birth rate ``lambda``, death rate
``min(n, c) * mu + max(n - c, 0) * theta``).  Its stationary law is computed
in log space, so any load (including overload) works without overflow, and
the queue part is truncated once a geometric bound on the remaining tail is
below ``TAIL_TOLERANCE`` of the total mass.

Waiting-time quantities use the tagged-caller view.  An arrival that finds
``k`` callers ahead in the queue reaches an agent after
``D_k = sum_{j=0..k} Exp(c*mu + j*theta)`` (each step is a service completion
or an abandonment of someone ahead) and is served iff ``D_k`` is shorter than
its own patience ``P ~ Exp(theta)``.  Because the rates form an arithmetic
progression, ``exp(-theta * D_k)`` is Beta(``c*mu/theta``, ``k+1``)
distributed, which gives exact closed forms in terms of the regularized
incomplete beta function:

* ``P(served | k) = c*mu / (c*mu + (k+1)*theta)``
* ``P(served, W <= t | k) = P(served | k) * I_x(k+1, (c*mu+theta)/theta)``
  with ``x = 1 - exp(-theta*t)``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np
from scipy.special import betainc, gammaln, logsumexp

#: Relative stationary mass allowed to be discarded by the Erlang A truncation.
TAIL_TOLERANCE = 1e-15

#: Upper limit on queue states kept by Erlang A (memory guard: a tiny
#: ``abandon_rate`` in a heavily overloaded system needs a queue of roughly
#: ``(arrival_rate - c*service_rate) / abandon_rate`` callers).
MAX_QUEUE_STATES = 5_000_000


# --------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------

def _check_servers(value, name: str = "c") -> int:
    """Return ``value`` as an int >= 1, or raise ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if isinstance(value, numbers.Integral):
        servers = int(value)
    elif math.isfinite(value) and float(value).is_integer():
        servers = int(value)
    else:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if servers < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return servers


def _check_positive(value, name: str) -> float:
    """Return ``value`` as a finite float > 0, or raise ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    value = float(value)
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return value


def _check_threshold(value) -> float:
    """Return a waiting-time threshold as a float >= 0 (``inf`` allowed)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"threshold must be a number >= 0, got {value!r}")
    value = float(value)
    if math.isnan(value) or value < 0.0:
        raise ValueError(f"threshold must be a number >= 0, got {value!r}")
    return value


# --------------------------------------------------------------------------
# Erlang B
# --------------------------------------------------------------------------

def erlang_b(c: int, load: float) -> float:
    """Blocking probability of an M/M/c/c loss system (Erlang B formula).

    ``load`` is the offered load in Erlangs (arrival rate / service rate).
    Uses the recursion ``B(k) = a B(k-1) / (k + a B(k-1))``, ``B(0) = 1``,
    whose iterates stay in [0, 1], so it cannot overflow for any ``c`` or
    ``load`` (cost O(c)).  Erlang C is derived from it.
    """
    c = _check_servers(c)
    if isinstance(load, bool) or not isinstance(load, numbers.Real):
        raise ValueError(f"load must be a finite number >= 0, got {load!r}")
    load = float(load)
    if not (math.isfinite(load) and load >= 0.0):
        raise ValueError(f"load must be a finite number >= 0, got {load!r}")
    blocking = 1.0
    for k in range(1, c + 1):
        blocking = load * blocking / (k + load * blocking)
    return blocking


# --------------------------------------------------------------------------
# Erlang C
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class ErlangCResult:
    """Steady-state performance of an M/M/c queue (Erlang C).

    Attributes:
        servers, arrival_rate, service_rate: the model inputs.
        p_wait: probability that an arrival has to wait (Erlang C formula).
        mean_wait: mean time in queue over all arrivals.
        asa: average speed of answer; equals ``mean_wait`` since nobody
            abandons in Erlang C.
        occupancy: fraction of time an agent is busy, ``load / c``.
    """

    servers: int
    arrival_rate: float
    service_rate: float
    p_wait: float
    mean_wait: float
    asa: float
    occupancy: float

    def service_level(self, threshold: float) -> float:
        """P(wait <= threshold) = 1 - p_wait * exp(-(c*mu - lambda) * t)."""
        threshold = _check_threshold(threshold)
        drain_rate = self.servers * self.service_rate - self.arrival_rate
        return 1.0 - self.p_wait * math.exp(-drain_rate * threshold)


def erlang_c(c: int, arrival_rate: float, service_rate: float) -> ErlangCResult:
    """Erlang C (M/M/c) waiting probability, mean wait and service level.

    The model has Poisson arrivals, exponential service and infinitely
    patient callers; it is only stable when the offered load
    ``arrival_rate / service_rate`` is below ``c`` (ValueError otherwise).
    """
    c = _check_servers(c)
    arrival_rate = _check_positive(arrival_rate, "arrival_rate")
    service_rate = _check_positive(service_rate, "service_rate")
    load = arrival_rate / service_rate
    if load >= c:
        raise ValueError(
            f"Erlang C is unstable: offered load {load:.6g} Erlangs "
            f"(arrival_rate/service_rate) must be below c={c}; "
            "add agents or use erlang_a (abandonment) instead"
        )
    occupancy = load / c
    blocking = erlang_b(c, load)
    p_wait = blocking / (1.0 - occupancy * (1.0 - blocking))
    mean_wait = p_wait / (c * service_rate - arrival_rate)
    return ErlangCResult(
        servers=c,
        arrival_rate=arrival_rate,
        service_rate=service_rate,
        p_wait=p_wait,
        mean_wait=mean_wait,
        asa=mean_wait,
        occupancy=occupancy,
    )


# --------------------------------------------------------------------------
# Erlang A
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class ErlangAResult:
    """Steady-state performance of an M/M/c+M queue (Erlang A).

    Attributes:
        servers, arrival_rate, service_rate, abandon_rate: the model inputs
            (``abandon_rate`` is theta, 1 / mean patience).
        p_wait: probability that an arrival finds all agents busy (PASTA).
        p_abandon: fraction of arrivals who hang up, ``theta E[Q] / lambda``.
        p_served: fraction of arrivals who are answered, computed
            independently of ``p_abandon`` (the two sum to 1).
        mean_wait: mean time in queue over ALL arrivals, abandoners counted
            until they hang up (``E[Q] / lambda`` by Little's law).
        asa: average speed of answer, mean wait of answered calls only.
        occupancy: agent utilisation, ``lambda (1 - p_abandon) / (c mu)``.
    """

    servers: int
    arrival_rate: float
    service_rate: float
    abandon_rate: float
    p_wait: float
    p_abandon: float
    p_served: float
    mean_wait: float
    asa: float
    occupancy: float
    # Probability that an arrival finds k = 0, 1, ... callers ahead of it.
    _ahead_probs: np.ndarray = field(repr=False, compare=False)
    # 1 - p_wait, kept separately to avoid cancellation when p_wait ~ 1.
    _p_no_wait: float = field(repr=False, compare=False)

    def service_level(self, threshold: float) -> float:
        """P(answered AND wait <= threshold): answered-within-t over offered.

        This is the call-centre definition in which every abandonment is a
        failure, even one that hangs up before ``threshold``.  Equals
        ``1 - p_wait`` at 0 and tends to ``p_served`` as threshold -> inf.
        """
        threshold = _check_threshold(threshold)
        theta = self.abandon_rate
        drain = self.servers * self.service_rate
        positions = np.arange(1, self._ahead_probs.size + 1)
        p_served_if_ahead = drain / (drain + positions * theta)
        x = -math.expm1(-theta * threshold)
        reached = betainc(positions, (drain + theta) / theta, x)
        return self._p_no_wait + float(
            np.dot(self._ahead_probs, p_served_if_ahead * reached)
        )

    def p_served_within(self, threshold: float) -> float:
        """Alias of :meth:`service_level`: P(answered AND wait <= threshold)."""
        return self.service_level(threshold)

    def p_abandon_within(self, threshold: float) -> float:
        """P(caller abandons AND hangs up within ``threshold`` of arriving).

        With ``b = c mu / theta``, ``m = k + 1`` and ``y = exp(-theta t)``,
        ``P(P <= t, P < D_k) = m/(b+m) - y I_y(b, m) + b/(b+m) I_y(b+1, m)``
        (integral of the Beta(b, m) distribution function of exp(-theta D_k)).
        Tends to ``p_abandon`` as threshold -> inf.
        """
        threshold = _check_threshold(threshold)
        theta = self.abandon_rate
        b = self.servers * self.service_rate / theta
        m = np.arange(1, self._ahead_probs.size + 1, dtype=float)
        y = math.exp(-theta * threshold)
        per_position = (
            m / (b + m) - y * betainc(b, m, y) + b / (b + m) * betainc(b + 1.0, m, y)
        )
        return float(np.dot(self._ahead_probs, np.clip(per_position, 0.0, 1.0)))


def _log_queue_terms(c: int, arrival_rate: float, service_rate: float,
                     abandon_rate: float, queue_states: int) -> np.ndarray:
    """Unnormalised log P(n = c + k), k = 0..queue_states-1, scaled so P(n=0) = 1."""
    load = arrival_rate / service_rate
    k = np.arange(1, queue_states)
    steps = math.log(arrival_rate) - np.log(c * service_rate + k * abandon_rate)
    log_at_c = c * math.log(load) - gammaln(c + 1)
    return log_at_c + np.concatenate(([0.0], np.cumsum(steps)))


def _stationary_erlang_a(c: int, arrival_rate: float, service_rate: float,
                         abandon_rate: float) -> tuple[float, np.ndarray]:
    """Stationary law of the M/M/c+M number in system, in log space.

    Returns ``(P(n < c), array of P(n = c + k) for k = 0..K)``.  The queue
    part is extended (doubling K) until the ratio ``r`` of successive
    probabilities at K is below 1 and the geometric tail bound
    ``P(c + K) * r / (1 - r)`` is under ``TAIL_TOLERANCE`` of the total.
    """
    load = arrival_rate / service_rate
    n = np.arange(c)
    log_low = n * math.log(load) - gammaln(n + 1)
    log_low_mass = logsumexp(log_low)

    overload_queue = max(0.0, (arrival_rate - c * service_rate) / abandon_rate)
    queue_states = int(2 * overload_queue) + 64
    while True:
        if queue_states > MAX_QUEUE_STATES:
            raise ValueError(
                f"abandon_rate={abandon_rate!r} is too small for this overload "
                f"(queue would need more than {MAX_QUEUE_STATES} states)"
            )
        log_queue = _log_queue_terms(
            c, arrival_rate, service_rate, abandon_rate, queue_states
        )
        log_total = np.logaddexp(log_low_mass, logsumexp(log_queue))
        ratio = arrival_rate / (c * service_rate + queue_states * abandon_rate)
        if ratio < 1.0:
            log_tail_bound = log_queue[-1] + math.log(ratio / (1.0 - ratio))
            if log_tail_bound - log_total < math.log(TAIL_TOLERANCE):
                break
        queue_states *= 2
    # Normalise by the sum of the exponentiated terms so probabilities add
    # to 1 to rounding, regardless of the magnitude of the logs.
    shift = max(log_low.max(), log_queue.max())
    low_weights = np.exp(log_low - shift)
    queue_weights = np.exp(log_queue - shift)
    total = low_weights.sum() + queue_weights.sum()
    return float(low_weights.sum() / total), queue_weights / total


def erlang_a(c: int, arrival_rate: float, service_rate: float,
             abandon_rate: float) -> ErlangAResult:
    """Erlang A (M/M/c+M): c agents, exponential patience of rate theta.

    Palm's model as analysed by Garnett, Mandelbaum & Reiman (2002).  It is
    stable for any load because impatient callers leave the queue, so it
    covers the overloaded regimes that Erlang C cannot.  The stationary law
    is truncated with relative error below ``TAIL_TOLERANCE``; all waiting
    quantities are exact given that law (see the module docstring).
    """
    c = _check_servers(c)
    arrival_rate = _check_positive(arrival_rate, "arrival_rate")
    service_rate = _check_positive(service_rate, "service_rate")
    theta = _check_positive(abandon_rate, "abandon_rate")

    p_no_wait, ahead = _stationary_erlang_a(c, arrival_rate, service_rate, theta)
    drain = c * service_rate
    positions = np.arange(1, ahead.size + 1)
    exit_rates = drain + positions * theta
    p_served_if_ahead = drain / exit_rates
    expected_queue = float(np.dot(positions - 1, ahead))
    # E[W 1{served} | k ahead] = P(served | k) * sum_{j<=k} 1/(c mu + (j+1) theta)
    served_wait = float(np.dot(ahead, p_served_if_ahead * np.cumsum(1.0 / exit_rates)))
    p_served = p_no_wait + float(np.dot(ahead, p_served_if_ahead))
    p_abandon = theta * expected_queue / arrival_rate
    return ErlangAResult(
        servers=c,
        arrival_rate=arrival_rate,
        service_rate=service_rate,
        abandon_rate=theta,
        p_wait=min(1.0, float(ahead.sum())),
        p_abandon=p_abandon,
        p_served=p_served,
        mean_wait=expected_queue / arrival_rate,
        asa=served_wait / p_served,
        occupancy=arrival_rate * (1.0 - p_abandon) / drain,
        _ahead_probs=ahead,
        _p_no_wait=p_no_wait,
    )


# --------------------------------------------------------------------------
# Staffing
# --------------------------------------------------------------------------

def _smallest_meeting(meets, known_failure: int, max_agents: int) -> int | None:
    """Smallest c in (known_failure, max_agents] with ``meets(c)``.

    ``meets`` must be monotone in c (more agents never hurt).  The search
    gallops upward from ``known_failure`` with doubling steps, then bisects;
    returns None if even ``max_agents`` does not meet the target.
    """
    failing, step = known_failure, 1
    candidate = failing + 1
    while not meets(candidate):
        if candidate >= max_agents:
            return None
        failing = candidate
        candidate = min(max_agents, failing + step)
        step *= 2
    while candidate - failing > 1:
        middle = (failing + candidate) // 2
        if meets(middle):
            candidate = middle
        else:
            failing = middle
    return candidate


def min_agents_for_service_level(arrival_rate: float, service_rate: float,
                                 target_sl: float, threshold: float,
                                 abandon_rate: float | None = None,
                                 max_agents: int = 100000) -> int:
    """Fewest agents c with ``service_level(threshold) >= target_sl``.

    Uses Erlang C when ``abandon_rate`` is None (only stable c > load are
    considered) and Erlang A otherwise.  With abandonment the answered
    fraction cannot exceed ``c / load`` (agents are at most fully busy), so
    the search starts at ``c >= target_sl * load``.  Raises ValueError if
    ``target_sl`` is not in (0, 1) or no c <= ``max_agents`` meets it.
    """
    arrival_rate = _check_positive(arrival_rate, "arrival_rate")
    service_rate = _check_positive(service_rate, "service_rate")
    threshold = _check_threshold(threshold)
    max_agents = _check_servers(max_agents, "max_agents")
    if isinstance(target_sl, bool) or not isinstance(target_sl, numbers.Real) \
            or not 0.0 < target_sl < 1.0:
        raise ValueError(f"target_sl must be strictly between 0 and 1, got {target_sl!r}")
    load = arrival_rate / service_rate

    if abandon_rate is None:
        def meets(c: int) -> bool:
            result = erlang_c(c, arrival_rate, service_rate)
            return result.service_level(threshold) >= target_sl
        known_failure = math.floor(load)
    else:
        abandon_rate = _check_positive(abandon_rate, "abandon_rate")

        def meets(c: int) -> bool:
            result = erlang_a(c, arrival_rate, service_rate, abandon_rate)
            return result.service_level(threshold) >= target_sl
        known_failure = max(0, math.ceil(target_sl * load) - 1)

    best = None
    if known_failure < max_agents:
        best = _smallest_meeting(meets, known_failure, max_agents)
    if best is None:
        raise ValueError(
            f"target_sl={target_sl!r} within threshold={threshold!r} is not "
            f"reachable with at most max_agents={max_agents} agents "
            f"(offered load {load:.6g} Erlangs)"
        )
    return best
