"""What citizens get: whether a problem is solved, and what they answer in the survey.

Outcomes follow from operations (the functional forms; parameters in
``conf/tickets/*.yaml``, ``streets.quality``, ``streets.resolution`` and
``survey.satisfaction``, each with its source tag):

- **Resolution** (decided when the ticket closes, during the run, since it decides
  whether the citizen calls again): a logit model,

      logit P(solved) = logit(resolve_prob[category]) + quality[street] + effort[street]
                        + late_logit * [closed after its deadline]
                        + returned_logit * [returned at least once]
                        + queue_logit_per_day * (days it waited for a free caseworker)

  where ``effort`` is what the accountability loop adds (:mod:`sim.accountability`;
  its start, 0 without the loop) and ``quality`` is the street's persistent latent quality (Normal(0, sd_logit),
  drawn once per seed: a property of the city, the same in every replication) and the
  queue wait measures the load its caseworkers were under: a ticket that waited days
  for a free caseworker is worked with less time left and under pressure (rushed work
  solves less: KC & Terwiesch 2009). Tickets of the city departments have quality 0;
  the duty team's urgent tickets never wait in the queue. The
  uniform it is compared with is drawn per problem (common random numbers).
- **Survey answers** (after the run: they change nothing during it): contacted with a
  chance that depends on whether the street signed for it in time; satisfaction from
  an ordered logit of resolved, contacted, closed on time, returned, lead time, and the
  citizen's wait and redials at the centre. A ticket the street gamed (and was not
  caught) is answered as solved.
"""
from __future__ import annotations

import math

import numpy as np

from sim.accountability import GAMED
from sim.clock import MINUTES_PER_DAY
from sim.records import BASIC, DISSATISFIED, SATISFIED
from sim.streams import city_stream
from sim.ticket_config import TicketsConfig



def logit(p: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)), with 0 and 1 mapped to -inf and +inf."""
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore"):
        return np.log(p) - np.log1p(-p)


def street_quality(seed: int, n_streets: int, sd_logit: float) -> np.ndarray:
    """Each street's latent quality (logit scale) for the run's ``seed``: the same in
    every replication and whatever else the config changes (its own seed branch)."""
    return city_stream(seed, "street_quality").normal(0.0, 1.0, n_streets) * sd_logit


class Resolution:
    """Decides at closure whether a ticket's problem was solved (see the module
    docstring); one instance per replication."""

    def __init__(self, t: TicketsConfig, quality: np.ndarray):
        m = t.streets.resolution
        self._quality = quality.tolist()
        self._late, self._returned = m.late_logit, m.returned_logit
        self._queue_per_min = m.queue_logit_per_day / MINUTES_PER_DAY
        self._base_quality = quality

    def set_effort(self, effort: np.ndarray) -> None:
        """From now on, each street's true resolution has ``effort`` (logit) added to
        its latent quality (the accountability loop's response; 0: none)."""
        self._quality = (self._base_quality + effort).tolist()

    def solved(self, u: float, base_logit: float, street: int, late: bool, returned: bool,
               queue_min: float) -> bool:
        """``u`` the problem's uniform, ``base_logit`` its category's; ``street`` -1 for
        the departments; ``queue_min`` how long it waited for a free caseworker."""
        x = base_logit
        if street >= 0:
            x += self._quality[street]
        if late:
            x += self._late
        if returned:
            x += self._returned
        if queue_min > 0:
            x += self._queue_per_min * queue_min
        if x >= 0:
            return u < 1.0 / (1.0 + math.exp(-x))
        e = math.exp(x)
        return u < e / (1.0 + e)


def centre_experience(callers, n: int, now: float) -> tuple[np.ndarray, np.ndarray]:
    """Per problem root: minutes the citizen waited at the centre over all attempts
    (until answered, hung up, or the end of the run), and the number of attempts."""
    arrival, answer, deadline = callers.arrival_min[:n], callers.answer_min[:n], callers.deadline_min[:n]
    left = np.minimum(np.where(np.isnan(answer), deadline, answer), now)
    root = callers.root[:n]
    waited = np.bincount(root, weights=left - arrival, minlength=n)
    attempts = np.bincount(root, minlength=n)
    return waited, attempts


def survey_answers(c: dict[str, np.ndarray], draws: dict[str, np.ndarray], t: TicketsConfig,
                   waited_min: np.ndarray, attempts: np.ndarray) -> None:
    """Fill ``reached``, ``contacted`` and ``satisfaction`` of the surveyed tickets in
    the columns ``c`` (vectorised); ``waited_min`` and ``attempts`` per ticket."""
    s, m = t.survey, t.survey.satisfaction
    done = ~np.isnan(c["surveyed_min"])
    row = c["row"][done]
    reached = draws["reached"][row]
    p_contact = np.where(c["responded"][done] == 1, s.contact_prob_on_time, s.contact_prob_late)
    contacted = draws["contact_u"][row] < p_contact
    lead_days = (c["closed_min"][done] - c["created_min"][done]) / MINUTES_PER_DAY
    # A gamed ticket (sim.accountability) is answered as solved: the citizen was coached.
    said_solved = (c["resolved"][done] == 1) | (c["gamed"][done] == GAMED)
    latent = (m.intercept + m.resolved * said_solved + m.contacted * contacted
              + m.on_time * (c["closed_min"][done] <= c["deadline_min"][done])
              + m.returned * (c["returns"][done] > 0) + m.lead_time_per_day * lead_days
              + m.centre_wait_per_min * waited_min[done] + m.redials * (attempts[done] - 1)
              + draws["satisfaction_noise"][row]
              + np.nan_to_num(c["service_logit"][done]))  # the street's care (sim.accountability; 0 without)
    answer = np.where(latent > 0, SATISFIED, np.where(latent > -m.basic_band, BASIC, DISSATISFIED))
    for name in ("reached", "contacted", "satisfaction"):
        c[name] = np.full(len(done), -1, dtype=np.int8)
    c["reached"][done] = reached
    c["contacted"][done] = np.where(reached, contacted, -1)
    c["satisfaction"][done] = np.where(reached, answer, -1)
