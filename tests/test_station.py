"""sim.station.FcfsStation on its own: M/M/c against Erlang C, Little's law on its
records, FCFS and capacity invariants, office hours, and the checks on bad input."""
from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from analysis.erlang import erlang_c
from sim.clock import OfficeHours, minutes_to_calendar
from sim.station import FcfsStation
from tests.conftest import t_interval

MONDAY = datetime(2019, 6, 3)


def feed(station: FcfsStation, arrivals, services) -> tuple[np.ndarray, np.ndarray]:
    """Hand jobs to ``station`` in arrival order; (start, end) arrays as it answered."""
    starts = np.empty(len(arrivals))
    ends = np.empty(len(arrivals))
    for k, (a, s) in enumerate(zip(arrivals.tolist(), services.tolist())):
        starts[k], ends[k] = station.assign(k, a, s)
    return starts, ends


def mmc_jobs(rng: np.random.Generator, n: int, arrival_rate: float, service_rate: float):
    arrivals = np.cumsum(rng.exponential(1.0 / arrival_rate, n))
    return arrivals, rng.exponential(1.0 / service_rate, n)


def records(station: FcfsStation) -> dict[str, np.ndarray]:
    return {"job": np.frombuffer(station.visit_job, np.int64),
            **{k: np.frombuffer(getattr(station, k), np.float64)
               for k in ("arrive_min", "start_min", "end_min")}}


def area_in_window(enter: np.ndarray, leave: np.ndarray, lo: float, hi: float) -> float:
    """Integral over [lo, hi] of #{i: enter_i <= t < leave_i}, by a sweep over the
    sorted entry and exit times (a different computation from summing overlaps)."""
    times = np.concatenate([enter, leave, [lo, hi]])
    steps = np.concatenate([np.ones(len(enter)), -np.ones(len(leave)), [0.0, 0.0]])
    order = np.argsort(times, kind="stable")
    t, level = times[order], np.cumsum(steps[order])
    seg = np.diff(t)
    inside = np.clip(t[1:], lo, hi) - np.clip(t[:-1], lo, hi)
    assert np.all(inside <= seg + 1e-9)
    return float(np.sum(level[:-1] * inside))


# ---------------------------------------------------------------- M/M/c vs Erlang C

MMC_JOBS, MMC_WARMUP, MMC_REPS = 50_000, 5_000, 10


@pytest.mark.parametrize(("servers", "load"), [(1, 0.7), (5, 0.8), (20, 0.9)])
def test_mmc_waits_match_erlang_c(servers, load):
    """Poisson arrivals, exponential service: the mean wait and P(wait > 0) of each
    replication (first jobs discarded: the station starts empty) are averaged over
    independent replications; Erlang C lies inside their 99% t-interval."""
    mu = 1.0 / 5.0
    lam = load * servers * mu
    seeds = np.random.SeedSequence([20240607, servers]).spawn(MMC_REPS)
    mean_wait, p_wait = [], []
    for ss in seeds:
        arrivals, services = mmc_jobs(np.random.default_rng(ss), MMC_JOBS, lam, mu)
        starts, _ = feed(FcfsStation(servers), arrivals, services)
        wait = (starts - arrivals)[MMC_WARMUP:]
        mean_wait.append(wait.mean())
        p_wait.append(np.mean(wait > 0))
    theory = erlang_c(servers, lam, mu)
    for name, values, expected in (("mean wait", mean_wait, theory.mean_wait),
                                   ("P(wait > 0)", p_wait, theory.p_wait)):
        lo, hi = t_interval(values, 0.99)
        assert lo <= expected <= hi, f"{name}: Erlang C {expected:.4g} outside 99% CI [{lo:.4g}, {hi:.4g}]"
        # the check has teeth: the interval is narrow compared with the value
        assert hi - lo < 0.25 * expected, f"{name}: CI [{lo:.4g}, {hi:.4g}] too wide to be a check"


def test_an_extra_server_never_delays_a_start():
    """Same arrivals and services: adding a server never delays any start (FCFS with
    the earliest-free server is monotone in the number of servers), and it does
    bring some starts forward."""
    rng = np.random.default_rng(7)
    arrivals, services = mmc_jobs(rng, 20_000, 0.9 * 3 / 5.0, 1 / 5.0)
    s3, _ = feed(FcfsStation(3), arrivals, services)
    s4, _ = feed(FcfsStation(4), arrivals, services)
    assert np.all(s4 <= s3 + 1e-9)
    assert np.mean(s4 < s3 - 1e-9) > 0.01


# ---------------------------------------------------------------- Little's law


@pytest.fixture(scope="module")
def long_run():
    """An M/M/4 station at load 0.85 fed 200,000 jobs."""
    rng = np.random.default_rng(4242)
    lam, mu = 0.85 * 4 / 5.0, 1 / 5.0
    arrivals, services = mmc_jobs(rng, 200_000, lam, mu)
    station = FcfsStation(4)
    starts, ends = feed(station, arrivals, services)
    return station, arrivals, services, starts, ends


def test_littles_law_on_the_station_records(long_run):
    """Over a window [lo, hi) well inside the run: the time-average number in system
    (from the records, by a sweep over entries and exits) equals the arrival rate in
    the window times the mean sojourn of the jobs that arrived in it, and the same for
    the queue (arrive..start). This is a sample-path identity, exact up to the jobs
    straddling the window's two ends, whose share is ~L / (jobs in window) ~ 1e-4."""
    station = long_run[0]
    r = records(station)
    arrive, start, end = r["arrive_min"], r["start_min"], r["end_min"]
    lo, hi = arrive[10_000], arrive[190_000]
    in_window = (arrive >= lo) & (arrive < hi)
    rate = in_window.sum() / (hi - lo)
    for name, leave in (("system", end), ("queue", start)):
        L = area_in_window(arrive, leave, lo, hi) / (hi - lo)
        W = float(np.mean(leave[in_window] - arrive[in_window]))
        assert L == pytest.approx(rate * W, rel=2e-3), name
        # and exactly, once the two edges are accounted for
        before = (arrive < lo) & (leave > lo)
        area = (np.sum(np.minimum(leave[in_window], hi) - arrive[in_window])
                + np.sum(np.minimum(leave[before], hi) - lo))
        assert L * (hi - lo) == pytest.approx(area, rel=1e-9), name


def test_records_are_what_assign_returned(long_run):
    station, arrivals, services, starts, ends = long_run
    r = records(station)
    assert np.array_equal(r["job"], np.arange(len(arrivals)))
    assert np.array_equal(r["arrive_min"], arrivals)
    assert np.array_equal(r["start_min"], starts)
    assert np.array_equal(r["end_min"], ends)


# ---------------------------------------------------------------- FCFS and capacity


def check_fcfs(station: FcfsStation, arrivals, services, starts, ends, grid) -> None:
    c = station.servers
    assert np.all(starts >= arrivals)
    assert np.array_equal(ends, starts + services)
    assert np.all(np.diff(starts) >= 0), "FCFS: starts follow the order of arrival"
    s_sorted, e_sorted = np.sort(starts), np.sort(ends)
    in_service = np.searchsorted(s_sorted, grid, "right") - np.searchsorted(e_sorted, grid, "right")
    assert in_service.max() <= c
    assert in_service.min() >= 0
    # exactly at every start (right after it), the worst moments
    at_start = np.searchsorted(s_sorted, starts, "right") - np.searchsorted(e_sorted, starts, "right")
    assert at_start.max() <= c
    # and the station's own answer agrees with the arrays on a few probes
    waiting_arr = np.searchsorted(np.sort(arrivals), grid, "right") - np.searchsorted(s_sorted, grid, "right")
    for t in grid[:: max(len(grid) // 50, 1)]:
        k = np.searchsorted(grid, t)
        assert station.in_system(float(t)) == (int(waiting_arr[k]), int(in_service[k]))


@pytest.mark.parametrize("servers", [1, 3, 12])
def test_fcfs_order_and_capacity(servers):
    rng = np.random.default_rng(servers)
    # bursty arrivals (batches at the same instant) and heavy-tailed service
    arrivals = np.repeat(np.cumsum(rng.exponential(3.0, 1500)), rng.integers(1, 4, 1500))
    services = rng.lognormal(np.log(4.0 * servers), 1.0, len(arrivals))
    station = FcfsStation(servers)
    starts, ends = feed(station, arrivals, services)
    grid = np.linspace(0, ends.max(), 4000)
    check_fcfs(station, arrivals, services, starts, ends, grid)
    assert np.any(starts > arrivals), "the station was loaded enough to queue"
    # work-conserving: a job waits only while every server is busy
    waited = starts > arrivals
    busy_at_arrival = (np.searchsorted(np.sort(starts), arrivals, "right")
                       - np.searchsorted(np.sort(ends), arrivals, "right"))
    assert np.all(busy_at_arrival[waited] >= servers)


# ---------------------------------------------------------------- office hours


@pytest.fixture(scope="module")
def office_run():
    horizon = 21 * 1440.0
    hours = OfficeHours(MONDAY, horizon, 8.5, 17.5, (0, 1, 2, 3, 4))
    rng = np.random.default_rng(99)
    # around the clock, all week: 500 hours of work against 8 x 90 open hours
    arrivals = np.sort(rng.uniform(0, 14 * 1440.0, 500))
    services = rng.exponential(60.0, len(arrivals))  # hour-long jobs: some run past closing
    station = FcfsStation(8, hours)
    starts, ends = feed(station, arrivals, services)
    return station, hours, arrivals, services, starts, ends


def test_office_hours_no_start_outside_opening(office_run):
    station, hours, arrivals, services, starts, ends = office_run
    assert np.isfinite(starts).all()
    weekday, _, minute = minutes_to_calendar(MONDAY, starts)
    assert np.all(weekday <= 4), "no job starts at the weekend"
    assert np.all((minute >= 8.5 * 60 - 1e-6) & (minute < 17.5 * 60)), "starts only 08:30-17:30"
    # jobs that arrived while closed start at an opening time or later
    arr_wd, _, arr_minute = minutes_to_calendar(MONDAY, arrivals)
    closed = (arr_wd > 4) | (arr_minute < 510) | (arr_minute >= 1050)
    assert closed.sum() > 200 and np.all(starts[closed] > arrivals[closed])
    check_fcfs(station, arrivals, services, starts, ends, np.linspace(0, ends.max(), 5000))


def test_office_hours_jobs_started_before_closing_may_finish_after(office_run):
    _, _, _, _, starts, ends = office_run
    _, _, start_minute = minutes_to_calendar(MONDAY, starts)
    end_day = np.floor((ends) / 1440.0)
    start_day = np.floor(starts / 1440.0)
    past_closing = (start_day == end_day) & (start_minute + (ends - starts) > 1050)
    assert past_closing.sum() > 10, "jobs started before closing run on after it"


def test_office_hours_start_is_an_arrival_a_release_or_an_opening(office_run):
    """Nothing idles while open and a job waits: a start is its arrival, the end of an
    earlier job (a server freed), or an opening time."""
    station, hours, arrivals, _, starts, ends = office_run
    candidates = np.sort(np.concatenate([ends, hours.opens]))
    k = np.clip(np.searchsorted(candidates, starts), 0, len(candidates) - 1)
    k_prev = np.clip(k - 1, 0, len(candidates) - 1)
    nearest = np.minimum(np.abs(candidates[k] - starts), np.abs(candidates[k_prev] - starts))
    waited = starts > arrivals
    assert np.all(nearest[waited] < 1e-6)


# ---------------------------------------------------------------- ready times


def test_ready_time_delays_the_start_but_not_the_order():
    """A job with a ``ready`` time (a ticket not yet signed for) takes the next server
    in order of arrival and starts once ready: start = max(arrival, ready, earliest
    free). A ready time at or before the arrival changes nothing."""
    rng = np.random.default_rng(11)
    arrivals, services = mmc_jobs(rng, 5000, 0.8 * 3 / 5.0, 1 / 5.0)
    ready = arrivals + rng.exponential(2.0, len(arrivals))
    station = FcfsStation(3)
    free = [0.0] * 3
    for k in range(len(arrivals)):
        start, end = station.assign(k, float(arrivals[k]), float(services[k]), ready=float(ready[k]))
        expected = max(arrivals[k], ready[k], min(free))
        assert start == expected and end == start + services[k]
        free[free.index(min(free))] = end
    plain, early = FcfsStation(3), FcfsStation(3)
    s_plain, _ = feed(plain, arrivals, services)
    s_early = np.array([early.assign(k, float(a), float(s), ready=float(a) - 1.0)[0]
                        for k, (a, s) in enumerate(zip(arrivals, services))])
    assert np.array_equal(s_plain, s_early)


def test_station_without_visit_records_answers_the_same():
    rng = np.random.default_rng(12)
    arrivals, services = mmc_jobs(rng, 3000, 0.9 * 2 / 5.0, 1 / 5.0)
    kept, lean = FcfsStation(2), FcfsStation(2, keep_visits=False)
    assert np.array_equal(np.vstack(feed(kept, arrivals, services)), np.vstack(feed(lean, arrivals, services)))
    assert len(lean.arrive_min) == 0 and len(kept.arrive_min) == len(arrivals)


@pytest.mark.parametrize("with_hours", [False, True])
def test_big_station_counting_idle_servers_answers_like_the_heap(monkeypatch, with_hours):
    """A big station counts idle servers instead of keeping a heap while some are
    surely idle, and falls back to the heap when all are busy. Under waves of load
    that make it switch both ways many times (checked), with ready times and office
    hours, every job gets the same start and end as on the plain heap."""
    import sim.station as station_module
    rng = np.random.default_rng(2024)
    n, servers = 60_000, 300
    arrivals = np.cumsum(rng.exponential(1.0, n))
    load = 0.2 if with_hours else 0.8  # open 45 h of 168 a week: a lighter load to switch back
    services = rng.exponential(servers * load, n) * (1 + 0.5 * np.sin(arrivals / 5000))
    ready = np.where(rng.random(n) < 0.3, arrivals + rng.exponential(30.0, n), np.nan)
    hours = OfficeHours(MONDAY, float(arrivals[-1]) + 1e5, 8.5, 17.5, (0, 1, 2, 3, 4)) if with_hours else None

    def answers(min_servers: int):
        monkeypatch.setattr(station_module, "IDLE_COUNT_MIN_SERVERS", min_servers)
        station = FcfsStation(servers, hours)
        modes = []
        out = []
        for k in range(n):
            r = None if np.isnan(ready[k]) else float(ready[k])
            out.append(station.assign(k, float(arrivals[k]), float(services[k]), r))
            modes.append(station._counting)
        return np.array(out), np.array(modes)

    counted, modes = answers(min_servers=1)
    heap, heap_modes = answers(min_servers=10**9)
    assert not heap_modes.any()
    switches = np.count_nonzero(np.diff(modes.astype(int)))
    assert switches >= 4, f"the load waves should make the station switch modes, got {switches}"
    assert modes.mean() > 0.1 and (~modes).mean() > 0.1
    assert np.array_equal(counted, heap)


# ---------------------------------------------------------------- bad input


def test_handing_over_out_of_time_order_raises():
    station = FcfsStation(2)
    station.assign(0, 10.0, 5.0)
    station.assign(1, 10.0, 5.0)  # the same time is fine
    with pytest.raises(ValueError, match="time order"):
        station.assign(2, 9.999, 1.0)
    # the refused job left no trace
    assert len(station.arrive_min) == 2


@pytest.mark.parametrize("servers", [0, -1])
def test_station_needs_a_server(servers):
    with pytest.raises(ValueError, match="at least one server"):
        FcfsStation(servers)


@pytest.mark.parametrize("servers", [1, 7, 300])
@pytest.mark.parametrize("with_hours", [False, True])
def test_assign_many_gives_the_answers_of_next_start_and_assign_job_by_job(servers, with_hours):
    """Batches arriving together (a callback list at each listing tick), some jobs too
    late to take: the batch method and the one-job-at-a-time reference agree start for
    start and leave the same visits, also for a big (counting) station."""
    rng = np.random.default_rng(servers)
    hours = OfficeHours(MONDAY, 30 * 1440.0, 8.5, 17.5, (0, 1, 2, 3, 4)) if with_hours else None
    batch, single = FcfsStation(servers, hours), FcfsStation(servers, hours)
    job = 0
    for now in np.sort(rng.uniform(0, 20 * 1440.0, 60)):
        n = int(rng.integers(0, 3 * servers + 5))
        jobs = list(range(job, job + n))
        job += n
        work = rng.exponential(30.0, n).tolist()
        latest = (now + rng.exponential(600.0, n)).tolist()
        expected = []
        for j, w, late in zip(jobs, work, latest):
            expected.append(np.nan if single.next_start(now) > late else single.assign(j, now, w)[0])
        got = batch.assign_many(jobs, float(now), work, latest)
        np.testing.assert_array_equal(np.array(got, dtype=float), np.array(expected, dtype=float))
    assert 0 < len(batch.visit_job) < job  # some taken, some too late
    for name in ("visit_job", "arrive_min", "start_min", "end_min"):
        assert getattr(batch, name) == getattr(single, name)
