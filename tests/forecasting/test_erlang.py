"""Erlang B, C and A against published values, an independent exact computation, limiting
cases and monotonicity."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import expm

from forecasting.planning.erlang import (
    ErlangError,
    erlang_a_agents,
    erlang_a_metrics,
    erlang_b,
    erlang_c,
    erlang_c_agents,
    erlang_c_asa,
    erlang_c_metrics,
    erlang_c_service_level,
    offered_load,
)


def _solve_load(f, target: float, lo: float, hi: float) -> float:
    """The load at which a decreasing-in-load quantity ``f`` equals ``target`` (bisection)."""
    for _ in range(200):
        mid = (lo + hi) / 2
        if f(mid) > target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


# ============================================================================ published values


def test_worked_example_100_calls_per_half_hour():
    # FORECASTING.md / the widely published Erlang C worked example: 100 calls per 30 min,
    # AHT 3 min, 80% in 20 s -> 10 Erlangs, 14 agents, service level 88.8%; with 11 agents the
    # chance of waiting is 68.2%.
    assert offered_load(100, 1800, 180) == pytest.approx(10.0)
    assert erlang_c_agents(100, 1800, 180, 0.8, 20) == 14
    assert erlang_c_service_level(14, 10.0, 180, 20) == pytest.approx(0.8884, abs=5e-5)
    assert erlang_c_service_level(13, 10.0, 180, 20) < 0.8  # 13 is not enough
    assert erlang_c(11, 10.0) == pytest.approx(0.6821, abs=5e-5)
    assert erlang_c(14, 10.0) == pytest.approx(0.1741, abs=5e-5)
    assert erlang_c_asa(14, 10.0, 180) == pytest.approx(7.84, abs=0.005)
    m = erlang_c_metrics(14, 100, 1800, 180, 20)
    assert m.occupancy == pytest.approx(10 / 14)
    assert m.p_abandon == 0.0
    # An 85% occupancy cap does not bind here (10/14 = 71%); a 70% cap does.
    assert erlang_c_agents(100, 1800, 180, 0.8, 20, max_occupancy=0.85) == 14
    assert erlang_c_agents(100, 1800, 180, 0.8, 20, max_occupancy=0.7) == 15


@pytest.mark.parametrize(
    "agents, table_load, digits",
    # The 1% blocking column of the standard Erlang B table (load in Erlangs, as printed).
    [(1, 0.0101, 4), (2, 0.153, 3), (3, 0.455, 3), (4, 0.869, 3), (5, 1.36, 2), (10, 4.46, 2),
     (20, 12.03, 2), (50, 37.90, 2), (100, 84.06, 2)],
)
def test_erlang_b_table_one_percent_column(agents, table_load, digits):
    load = _solve_load(lambda a: -erlang_b(agents, a), -0.01, 1e-9, 2.0 * agents)
    assert round(load, digits) == pytest.approx(table_load, abs=10 ** -digits / 2)
    assert erlang_b(agents, table_load) == pytest.approx(0.01, rel=0.01)


@pytest.mark.parametrize("fraction, published", [(0.90, 19.0565), (0.95, 17.7949)])
def test_erlang_c_traffic_for_service_level_published(fraction, published):
    # Abstract Micro Systems' Erlang library documents ErlcTrafFromFractionOk(25, 180, 10, f):
    # the Erlangs 25 agents carry with AHT 180 s when a share f starts service within 10 s.
    load = _solve_load(lambda a: erlang_c_service_level(25, a, 180, 10), fraction, 1e-6, 25 - 1e-9)
    assert round(load, 4) == pytest.approx(published, abs=1e-4)


def test_erlang_b_and_c_match_the_factorial_formulas():
    for n in range(1, 12):
        for a in (0.3, 1.0, 2.5, 7.9):
            terms = [a**k / math.factorial(k) for k in range(n + 1)]
            b = terms[-1] / sum(terms)
            assert erlang_b(n, a) == pytest.approx(b, rel=1e-12)
            if a < n:
                top = terms[-1] * n / (n - a)
                assert erlang_c(n, a) == pytest.approx(top / (sum(terms[:-1]) + top), rel=1e-12)


# ============================================================================ Erlang A, exactly


def _reference_erlang_a(n, lam, mu, theta, t, extra=150):
    """Independent exact Erlang A on a truncated chain: the stationary law by linear algebra, and
    each waiting caller's fate from the absorbing chain of 'callers ahead' (matrix exponential
    for 'answered by t', the fundamental matrix for the mean wait)."""
    k_max = n + extra
    q = np.zeros((k_max + 1, k_max + 1))
    for k in range(k_max + 1):
        if k < k_max:
            q[k, k + 1] = lam
        if k > 0:
            q[k, k - 1] = min(k, n) * mu + max(k - n, 0) * theta
        q[k, k] = -q[k].sum()
    pi = np.linalg.lstsq(np.vstack([q.T, np.ones(k_max + 1)]), np.r_[np.zeros(k_max + 1), 1.0], rcond=None)[0]
    assert pi[-1] < 1e-14  # the truncation is harmless
    p_wait = pi[n:].sum()
    p_ab = theta * sum((k - n) * pi[k] for k in range(n, k_max + 1)) / lam
    j_max = k_max - n
    g = np.zeros((j_max + 3, j_max + 3))
    served, gone = j_max + 1, j_max + 2
    for i in range(j_max + 1):
        r = n * mu + i * theta
        g[i, served if i == 0 else i - 1] = r
        g[i, gone] = theta
        g[i, i] = -(r + theta)
    answered_by_t = expm(g * t)[: j_max + 1, served]
    fundamental = -np.linalg.inv(g[: j_max + 1, : j_max + 1])
    p_served_from = fundamental[:, 0] * n * mu
    time_if_served = fundamental @ p_served_from
    w = pi[n:]
    p_served = (1 - p_wait) + w @ p_served_from
    return {
        "p_wait": p_wait,
        "p_abandon": p_ab,
        "service_level": (1 - p_wait) + w @ answered_by_t,
        "asa_s": (w @ time_if_served) / p_served,
    }


@pytest.mark.parametrize(
    "agents, calls, aht, patience, t",
    [(3, 40, 150, 240, 60), (1, 20, 180, 60, 20), (5, 100, 180, 300, 30), (2, 60, 150, 120, 60), (8, 150, 120, 90, 20)],
)
def test_erlang_a_matches_independent_exact_computation(agents, calls, aht, patience, t):
    ref = _reference_erlang_a(agents, calls / 1800, 1 / aht, 1 / patience, t)
    got = erlang_a_metrics(agents, calls, 1800, aht, patience, t)
    for key, value in ref.items():
        assert getattr(got, key) == pytest.approx(value, rel=1e-8), key
    assert got.occupancy == pytest.approx(offered_load(calls, 1800, aht) * (1 - ref["p_abandon"]) / agents)


def test_erlang_a_tends_to_erlang_c_as_patience_grows():
    c = erlang_c_metrics(14, 100, 1800, 180, 20)
    for patience, tol in ((1e7, 1e-4), (1e10, 1e-7)):
        a = erlang_a_metrics(14, 100, 1800, 180, patience, 20)
        assert a.p_wait == pytest.approx(c.p_wait, rel=tol)
        assert a.service_level == pytest.approx(c.service_level, rel=tol)
        assert a.asa_s == pytest.approx(c.asa_s, rel=tol)
        assert a.p_abandon < tol
    assert erlang_a_metrics(14, 100, 1800, 180, math.inf, 20) == c


def test_erlang_a_tends_to_erlang_b_as_patience_vanishes():
    # Callers who will not wait at all: a loss system. Those who find every agent busy leave.
    b = erlang_b(4, 3.0)
    a = erlang_a_metrics(4, 30, 1800, 180, 1e-7, 60)
    assert a.p_wait == pytest.approx(b, rel=1e-6)
    assert a.p_abandon == pytest.approx(b, rel=1e-6)
    assert a.service_level == pytest.approx(1 - b, rel=1e-6)
    assert a.asa_s < 1e-6


def test_erlang_a_with_vanishing_load():
    a = erlang_a_metrics(3, 1e-9, 1800, 180, 120, 20)
    assert a.p_wait < 1e-20 and a.p_abandon < 1e-20
    assert a.service_level == pytest.approx(1.0)
    assert erlang_a_metrics(3, 0, 1800, 180, 120, 20).service_level == 1.0


def test_erlang_a_overloaded_carries_what_the_agents_can():
    # 400 Erlangs on 1 agent: the agent is always busy and carries 1 Erlang, so 1 - 1/400 abandon.
    a = erlang_a_metrics(1, 4000, 1800, 180, 18000, 60)
    assert a.p_wait == pytest.approx(1.0)
    assert a.p_abandon == pytest.approx(1 - 1 / 400, rel=1e-9)
    assert a.occupancy == pytest.approx(1.0)
    assert 0 <= a.service_level < 1e-3
    none = erlang_a_metrics(0, 10, 1800, 180, 60, 60)
    assert (none.p_wait, none.p_abandon, none.service_level, none.occupancy) == (1.0, 1.0, 0.0, 0.0)


def test_erlang_c_unstable_queue():
    m = erlang_c_metrics(10, 100, 1800, 180, 20)  # 10 agents, 10 Erlangs
    assert (m.p_wait, m.service_level, m.asa_s) == (1.0, 0.0, math.inf)


def test_no_nan_inf_or_underflow_up_to_500_agents_and_400_erlangs():
    start = time.perf_counter()
    for n in (1, 2, 5, 10, 50, 100, 250, 500):
        for load in (1e-3, 0.1, 1.0, 10.0, 100.0, 400.0):
            calls = load * 1800 / 180
            for ratio in (0.01, 0.1, 1.0, 10.0, 100.0):  # mean patience / AHT
                a = erlang_a_metrics(n, calls, 1800, 180, 180 * ratio, 60)
                values = (a.p_wait, a.p_abandon, a.service_level, a.asa_s, a.occupancy)
                assert all(math.isfinite(v) for v in values), (n, load, ratio, a)
                assert 0 <= a.p_abandon <= a.p_wait <= 1 and 0 <= a.service_level <= 1 and a.asa_s >= 0
            c = erlang_c_metrics(n, calls, 1800, 180, 60)
            assert 0 <= c.p_wait <= 1 and 0 <= c.service_level <= 1
            assert erlang_b(n, load) >= 0
    # Deep in the tail: B(500, 0.01) is about 1e-2134, still no error and a true 0.0 in floats.
    assert erlang_b(500, 0.01) == 0.0
    assert erlang_a_metrics(500, 0.1, 1800, 180, 180, 60).p_wait == 0.0
    # Large N at large load: N mu T = 500 x 60 / 180 = 167, which underflows naive formulas.
    big = erlang_a_metrics(500, 4000, 1800, 180, 180, 60)
    assert big.service_level == pytest.approx(1.0, abs=1e-6) and big.p_wait > 0
    assert time.perf_counter() - start < 5.0


# ============================================================================ agent searches


@pytest.mark.parametrize("calls", [0.5, 3, 12, 40, 90, 300])
def test_erlang_a_agents_is_the_least_that_meets_both_targets(calls):
    n = erlang_a_agents(calls, 1800, 170, 200, 0.8, 60, max_abandon=0.05)
    ok = erlang_a_metrics(n, calls, 1800, 170, 200, 60)
    assert ok.service_level >= 0.8 and ok.p_abandon <= 0.05
    if n > 1:
        short = erlang_a_metrics(n - 1, calls, 1800, 170, 200, 60)
        assert short.service_level < 0.8 or short.p_abandon > 0.05


@pytest.mark.parametrize("calls", [0.5, 3, 12, 40, 90, 300])
def test_erlang_c_agents_is_the_least_that_meets_the_target(calls):
    n = erlang_c_agents(calls, 1800, 170, 0.8, 60)
    load = offered_load(calls, 1800, 170)
    assert n > load
    assert erlang_c_service_level(n, load, 170, 60) >= 0.8
    assert n - 1 <= load or erlang_c_service_level(n - 1, load, 170, 60) < 0.8


def test_agent_searches_with_no_calls_and_at_practice_scale():
    assert erlang_c_agents(0, 1800, 180, 0.8, 60) == 0
    assert erlang_a_agents(0, 1800, 180, 120, 0.8, 60, 0.05) == 0
    # A practice half-hour: 20 calls, AHT 170 s, patience 3 min. Abandonment lets Erlang A
    # staff no more than Erlang C for the same service level.
    a = erlang_a_agents(20, 1800, 170, 180, 0.8, 60, max_abandon=0.05)
    c = erlang_c_agents(20, 1800, 170, 0.8, 60)
    assert 1 <= a <= c <= 10


def test_bad_arguments_raise_typed_errors():
    with pytest.raises(ErlangError, match="target_sl"):
        erlang_c_agents(10, 1800, 180, 80, 20)  # a percentage, not a fraction
    with pytest.raises(ErlangError, match="calls"):
        erlang_c_metrics(2, -1, 1800, 180, 20)
    with pytest.raises(ErlangError, match="patience_s"):
        erlang_a_metrics(2, 10, 1800, 180, 0, 20)
    with pytest.raises(ErlangError, match="agents"):
        erlang_b(2.5, 1.0)
    with pytest.raises(ErlangError, match="max_occupancy"):
        erlang_c_agents(10, 1800, 180, 0.8, 20, max_occupancy=85)


# ============================================================================ monotonicity

_agents = st.integers(min_value=0, max_value=40)
_calls = st.floats(min_value=0.01, max_value=800)
_aht = st.floats(min_value=30, max_value=600)
_patience = st.floats(min_value=5, max_value=3000)
_t = st.floats(min_value=0, max_value=180)


@settings(max_examples=60, deadline=None)
@given(_agents, _calls, _aht, _patience, _t)
def test_more_agents_never_hurt(n, calls, aht, patience, t):
    a0 = erlang_a_metrics(n, calls, 1800, aht, patience, t)
    a1 = erlang_a_metrics(n + 1, calls, 1800, aht, patience, t)
    assert a1.service_level >= a0.service_level - 1e-12
    assert a1.p_abandon <= a0.p_abandon + 1e-12
    assert a1.p_wait <= a0.p_wait + 1e-12
    c0 = erlang_c_metrics(n, calls, 1800, aht, t)
    c1 = erlang_c_metrics(n + 1, calls, 1800, aht, t)
    assert c1.service_level >= c0.service_level - 1e-12


@settings(max_examples=60, deadline=None)
@given(_agents, _calls, _aht, _patience, _t)
def test_more_calls_and_more_patience_behave(n, calls, aht, patience, t):
    base = erlang_a_metrics(n, calls, 1800, aht, patience, t)
    busier = erlang_a_metrics(n, calls * 1.2, 1800, aht, patience, t)
    assert busier.service_level <= base.service_level + 1e-12
    assert busier.p_abandon >= base.p_abandon - 1e-12
    patient = erlang_a_metrics(n, calls, 1800, aht, patience * 1.5, t)
    assert patient.p_abandon <= base.p_abandon + 1e-12
    if n > 0:  # P(answered), summed from its own positive series, is 1 - P(abandon)
        assert base.occupancy * n / base.load == pytest.approx(1 - base.p_abandon, abs=1e-12)
    # Abandonment shortens the queue: nobody waits more often than under Erlang C.
    assert base.p_wait <= erlang_c_metrics(n, calls, 1800, aht, t).p_wait + 1e-12
