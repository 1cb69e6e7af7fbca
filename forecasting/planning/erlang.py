"""Erlang B, Erlang C and Erlang A (M/M/N+M): queue performance and the agents a target needs.

Pure functions of numbers, no I/O. Times are seconds; ``calls`` arrive in an interval of
``interval_s`` seconds, so the arrival rate is ``lambda = calls / interval_s`` and the offered
load in Erlangs is ``A = lambda x AHT``.

The three models
----------------
Erlang B (M/M/N/N, a caller who finds every line busy is lost)
    ``B(0) = 1``, ``B(n) = A B(n-1) / (n + A B(n-1))``: the textbook stable recursion, run here
    in logarithms so that ``B`` never underflows on the way (``B(500, 0.01)`` is about
    ``1e-2134``; its logarithm is an ordinary float).
Erlang C (M/M/N, infinitely patient callers)
    ``C = N B / (N - A (1 - B))`` (probability of waiting), ``SL(T) = 1 - C exp(-(N - A) T /
    AHT)``, ``ASA = C AHT / (N - A)``, occupancy ``A / N``. Defined for ``N > A``; with ``N <=
    A`` the queue grows without end and :func:`erlang_c_metrics` reports ``p_wait = 1``,
    ``service_level = 0`` and an infinite ASA.
Erlang A (M/M/N+M, Palm 1946; Garnett, Mandelbaum & Reiman 2002; Mandelbaum & Zeltyn 2007)
    Callers abandon after an exponential patience of mean ``1 / theta``. Always stable, so
    it also answers for the overloaded 8am half-hour, where Erlang C has no answer.

How Erlang A is computed (exactly)
----------------------------------
Write ``mu = 1 / AHT``, ``c = N mu``, ``a = c / theta`` and ``x = lambda / theta``. The number in
the system is a birth-death chain with birth rate ``lambda`` and death rate ``k mu`` (``k <= N``)
or ``N mu + (k - N) theta`` (``k > N``). Its stationary law is Erlang B's up to ``N`` and then

    ``pi(N + j) = pi(N) t_j``,  ``t_0 = 1``,  ``t_j = t_{j-1} x / (a + j)``.

With ``S = sum_j t_j`` (Garnett et al.'s ``A(a, x)``, a confluent hypergeometric sum)

    ``P(wait) = B S / (1 - B + B S)``,  ``pi(N) = P(wait) / S``.

A caller who finds ``j`` waiting ahead (PASTA) moves up at rate ``c + i theta`` while ``i`` are
ahead (service completions plus abandonments of those ahead; FIFO), so the *offered wait* ``V``
(the wait an infinitely patient caller would have) is a sum of exponentials of rates
``c, c + theta, ..., c + j theta``, whose density is
``theta e^{-cv} (1 - e^{-theta v})^j (a)_{j+1} / j!``. The caller is answered iff ``V`` is shorter
than their own patience ``tau ~ Exp(theta)``. Hence, with ``y_T = 1 - exp(-theta T)`` and
``I_y(p, q)`` the regularised incomplete beta function:

    ``P(answered | j ahead)              = a / (a + j + 1)``
    ``P(answered within T | j ahead)     = a / (a + j + 1) * I_{y_T}(j + 1, a + 1)``
    ``E[wait; answered | j ahead]        = a / (a + j + 1) * sum_{i=0..j} 1 / (c + (i + 1) theta)``

(substitute ``y = 1 - e^{-theta v}`` in ``E[e^{-theta V}; V <= T]``; the last line is minus the
derivative of the Laplace transform of ``V`` at ``theta``). Summed over ``j`` with weights
``pi(N + j)``:

- ``P(abandon) = pi(N) sum_j j t_j / x`` (``theta E[queue] / lambda``);
- ``service_level(T) = P(no wait) + pi(N) sum_j t_j a / (a + j + 1) I_{y_T}(j + 1, a + 1)``:
  the share of *all* callers answered within ``T`` seconds. Callers who abandon count
  against it, as in :func:`demand.queue.queue_metrics` (answered within target over offered).
  Summing the ``j`` series gives Mandelbaum & Zeltyn's closed form
  ``P(no wait) + pi(N) c int_0^T exp(-(c + theta) v + x (1 - e^{-theta v})) dv``, an incomplete
  gamma function; the series is used because every term is positive (no cancellation);
- ``P(answered) = P(no wait) + pi(N) sum_j t_j a / (a + j + 1)``, which equals
  ``1 - P(abandon)`` (a check in the tests) but is summed from positive terms;
- ``asa_s``: mean wait of *answered* callers, ``E[wait; answered] / P(answered)`` (what
  ``queue_metrics`` reports as ``asa_s``);
- ``occupancy``: carried load per agent, ``A P(answered) / N``.

Every sum is of positive terms, taken in logarithms (``log t_j`` is a running sum of
``log x - log(a + j)``) and normalised by its largest term, so neither ``t_j`` (which can exceed
``1e300`` when ``lambda >> N mu`` and patience is long) nor ``B`` (tiny for large ``N``)
overflows or underflows. The series is summed until the remaining terms are below ``e^-52`` of
the largest (the terms fall geometrically once ``a + j > x``), in bounded chunks.

pyworkforce's Erlang A is the cautionary tale: the version read here gets the service level by
uniformising the waiting caller's chain, starting from the Poisson weight ``exp(-L T)`` with
``L = N mu + J theta`` over the whole truncated queue. Once ``L T`` passes about 745 that weight
is 0.0 in floating point and every waiting caller's chance of being answered in time silently
becomes 0 (the service level drops to the no-wait share); its ``asa`` argument is also the
service-level threshold, and its ASA the mean wait of *all* callers. Nothing here copies it:
the closed form above needs no matrix exponential, and every factor stays in logarithms.

References
----------
Garnett, O., Mandelbaum, A. & Reiman, M. (2002). Designing a call center with impatient
customers. *Manufacturing & Service Operations Management* 4(3), 208-227.
Mandelbaum, A. & Zeltyn, S. (2007). Service engineering in action: the Palm/Erlang-A queue,
with applications to call centers. In *Advances in Services Innovations*, Springer, 17-45.
Brown, L. et al. (2005). Statistical analysis of a telephone call center. *JASA* 100, 36-50
(the patience estimate ``theta = P(abandon) / E[wait]`` used by :mod:`forecasting.planning.staffing`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import betainc

from telephony.errors import FrontdoorError

__all__ = [
    "ErlangError",
    "QueuePerformance",
    "offered_load",
    "erlang_b",
    "erlang_c",
    "erlang_c_service_level",
    "erlang_c_asa",
    "erlang_c_metrics",
    "erlang_c_agents",
    "erlang_a_metrics",
    "erlang_a_agents",
    "MAX_AGENTS",
]

MAX_AGENTS = 100_000  # the agent searches give up (with an error) beyond this
_MAX_TERMS = 10_000_000  # Erlang A series terms before giving up (see _tail_sums)
_CHUNK = 65_536  # Erlang A series terms summed at a time (bounds memory)
_TAIL_LOG = -52.0  # stop when the rest of the series is below e^-52 (about 2.6e-23) of it


class ErlangError(FrontdoorError, ValueError):
    """An Erlang calculation was given arguments it cannot use (negative load, bad target...)."""


@dataclass(frozen=True)
class QueuePerformance:
    """Steady-state performance of one interval's queue with a given number of agents.

    Attributes
    ----------
    agents : int
        Agents (call handlers) answering.
    load : float
        Offered load in Erlangs, ``calls / interval_s x aht_s``.
    p_wait : float
        Probability that a caller has to wait (finds every agent busy).
    p_abandon : float
        Probability that a caller hangs up before being answered (0 in Erlang C).
    service_level : float
        Share of all callers answered within ``target_t_s`` (abandons count against it).
    asa_s : float
        Average speed of answer: mean wait of answered callers, seconds (``inf`` when the
        Erlang C queue is unstable or, with no agents, nobody is answered).
    occupancy : float
        Share of agents' time spent handling calls (carried load / agents; 0 with no agents).
    """

    agents: int
    load: float
    p_wait: float
    p_abandon: float
    service_level: float
    asa_s: float
    occupancy: float


# ============================================================================ checks


def _check_nonneg(name: str, value: float) -> float:
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise ErlangError(f"{name} must be a finite number >= 0 (got {value!r})")
    return v


def _check_pos(name: str, value: float) -> float:
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise ErlangError(f"{name} must be a finite number > 0 (got {value!r})")
    return v


def _check_agents(agents) -> int:
    if isinstance(agents, bool) or int(agents) != agents or agents < 0:
        raise ErlangError(f"agents must be a whole number >= 0 (got {agents!r})")
    return int(agents)


def _check_fraction(name: str, value: float) -> float:
    v = float(value)
    if not 0 < v < 1:
        raise ErlangError(f"{name} must be a fraction strictly between 0 and 1, e.g. 0.8 for 80% (got {value!r})")
    return v


def offered_load(calls: float, interval_s: float, aht_s: float) -> float:
    """Offered load in Erlangs: ``calls / interval_s x aht_s``.

    Parameters
    ----------
    calls : float
        Expected calls arriving in the interval (need not be whole).
    interval_s : float
        Length of the interval, seconds (1800 for half-hours).
    aht_s : float
        Average handle time (talk plus wrap-up), seconds.

    Returns
    -------
    float

    Examples
    --------
    >>> offered_load(100, 1800, 180)
    10.0
    """
    calls = _check_nonneg("calls", calls)
    return calls / _check_pos("interval_s", interval_s) * _check_pos("aht_s", aht_s)


# ============================================================================ Erlang B and C


def _log_b_step(log_b: float, n: int, log_load: float) -> float:
    """``log B(n)`` from ``log B(n-1)``: ``B(n) = A B(n-1) / (n + A B(n-1))`` in logarithms."""
    lab = log_load + log_b
    return lab - np.logaddexp(math.log(n), lab)


def _log_erlang_b(agents: int, load: float) -> float:
    """``log B(agents, load)`` by the recursion (``-inf`` when ``load == 0`` and agents > 0)."""
    if agents == 0:
        return 0.0
    if load == 0:
        return -math.inf
    ll = math.log(load)
    lb = 0.0
    for n in range(1, agents + 1):
        lb = _log_b_step(lb, n, ll)
    return float(lb)


def erlang_b(agents: int, load: float) -> float:
    """Erlang B: probability that all ``agents`` lines are busy (a lost call) at ``load`` Erlangs.

    Parameters
    ----------
    agents : int
        Servers (lines, agents), ``>= 0``.
    load : float
        Offered load in Erlangs, ``>= 0``.

    Returns
    -------
    float
        ``B(agents, load)`` in [0, 1].

    Notes
    -----
    The recursion ``B(0) = 1``, ``B(n) = A B(n-1) / (n + A B(n-1))`` run in logarithms: no
    factorial or power is ever formed, so ``agents`` in the thousands are fine. A value below
    about ``1e-308`` is returned as 0.0 (its true size).

    Examples
    --------
    >>> round(erlang_b(10, 4.461), 4)  # the 1% column of the Erlang B table
    0.01
    """
    n = _check_agents(agents)
    a = _check_nonneg("load", load)
    return float(math.exp(_log_erlang_b(n, a)))


def _c_from_b(b: float, agents: int, load: float) -> float:
    """Erlang C from Erlang B: ``N B / (N - A (1 - B))`` (1 when ``N <= A``)."""
    if agents <= load:
        return 1.0
    return agents * b / (agents - load * (1.0 - b))


def erlang_c(agents: int, load: float) -> float:
    """Erlang C: probability that a caller waits, for ``agents`` agents at ``load`` Erlangs.

    Parameters
    ----------
    agents : int
    load : float

    Returns
    -------
    float
        ``C = N B / (N - A (1 - B))``; 1.0 when ``agents <= load`` (the queue is unstable and
        everyone waits).

    Examples
    --------
    >>> round(erlang_c(11, 10.0), 4)
    0.6821
    """
    n = _check_agents(agents)
    a = _check_nonneg("load", load)
    return _c_from_b(math.exp(_log_erlang_b(n, a)), n, a)


def erlang_c_service_level(agents: int, load: float, aht_s: float, target_t_s: float) -> float:
    """Erlang C service level: share of callers answered within ``target_t_s`` seconds.

    ``SL(T) = 1 - C exp(-(N - A) T / AHT)``; 0.0 when ``agents <= load``.

    Examples
    --------
    >>> round(erlang_c_service_level(14, 10.0, 180, 20), 4)
    0.8884
    """
    n = _check_agents(agents)
    a = _check_nonneg("load", load)
    aht = _check_pos("aht_s", aht_s)
    t = _check_nonneg("target_t_s", target_t_s)
    return _sl_c(_c_from_b(math.exp(_log_erlang_b(n, a)), n, a), n, a, aht, t)


def _sl_c(c: float, n: int, a: float, aht: float, t: float) -> float:
    if n <= a:
        return 0.0
    return 1.0 - c * math.exp(-(n - a) * t / aht)


def erlang_c_asa(agents: int, load: float, aht_s: float) -> float:
    """Erlang C average speed of answer, seconds: ``C AHT / (N - A)`` (``inf`` if ``N <= A``).

    Examples
    --------
    >>> round(erlang_c_asa(14, 10.0, 180), 2)
    7.84
    """
    n = _check_agents(agents)
    a = _check_nonneg("load", load)
    aht = _check_pos("aht_s", aht_s)
    if n <= a:
        return math.inf
    return _c_from_b(math.exp(_log_erlang_b(n, a)), n, a) * aht / (n - a)


def _perf_c(n: int, a: float, lb: float, aht: float, t: float) -> QueuePerformance:
    if a == 0:
        return QueuePerformance(n, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    c = _c_from_b(math.exp(lb), n, a)
    if n <= a:
        return QueuePerformance(n, a, 1.0, 0.0, 0.0, math.inf, 1.0 if n > 0 else 0.0)
    return QueuePerformance(n, a, c, 0.0, _sl_c(c, n, a, aht, t), c * aht / (n - a), a / n)


def erlang_c_metrics(agents: int, calls: float, interval_s: float, aht_s: float, target_t_s: float) -> QueuePerformance:
    """Erlang C performance of an interval's queue with ``agents`` agents.

    Parameters
    ----------
    agents : int
    calls : float
        Expected calls in the interval.
    interval_s : float
        Interval length, seconds.
    aht_s : float
        Average handle time, seconds.
    target_t_s : float
        Service-level answer time, seconds.

    Returns
    -------
    QueuePerformance
        ``p_abandon`` is 0 (nobody abandons in Erlang C). With ``agents <= load`` the queue
        is unstable: ``p_wait = 1``, ``service_level = 0``, ``asa_s = inf``, occupancy 1.

    Examples
    --------
    >>> m = erlang_c_metrics(14, 100, 1800, 180, 20)
    >>> round(m.service_level, 3), round(m.occupancy, 3)
    (0.888, 0.714)
    """
    n = _check_agents(agents)
    a = offered_load(calls, interval_s, aht_s)
    t = _check_nonneg("target_t_s", target_t_s)
    return _perf_c(n, a, _log_erlang_b(n, a), float(aht_s), t)


def erlang_c_agents(
    calls: float,
    interval_s: float,
    aht_s: float,
    target_sl: float,
    target_t_s: float,
    max_occupancy: float | None = None,
) -> int:
    """Fewest agents for which Erlang C meets a service-level target.

    Parameters
    ----------
    calls, interval_s, aht_s
        As for :func:`erlang_c_metrics`.
    target_sl : float
        Share of callers to answer within ``target_t_s`` (0 < target_sl < 1), e.g. 0.8.
    target_t_s : float
        Answer time, seconds (e.g. 20 or 60).
    max_occupancy : float, optional
        Also keep occupancy ``A / N`` at or below this (e.g. 0.85).

    Returns
    -------
    int
        The smallest ``N > A`` with ``SL(target_t_s) >= target_sl`` (and the occupancy cap);
        0 when no calls are expected.

    Raises
    ------
    ErlangError
        A bad argument, or no ``N`` up to :data:`MAX_AGENTS` meets the target.

    Notes
    -----
    The search starts at ``floor(A) + 1`` (the least stable ``N``) and carries Erlang B
    upward one agent at a time, so it costs ``O(N)`` however large the answer.

    Examples
    --------
    >>> erlang_c_agents(100, 1800, 180, 0.8, 20)  # the worked example: 14 agents, SL 0.888
    14
    """
    a = offered_load(calls, interval_s, aht_s)
    sl = _check_fraction("target_sl", target_sl)
    t = _check_nonneg("target_t_s", target_t_s)
    occ = None if max_occupancy is None else _check_occupancy(max_occupancy)
    if a == 0:
        return 0
    ll = math.log(a)
    lb = 0.0
    n0 = math.floor(a) + 1
    if occ is not None:
        n0 = max(n0, math.ceil(a / occ - 1e-12))
    for n in range(1, n0 + 1):
        lb = _log_b_step(lb, n, ll)
    n = n0
    while n <= MAX_AGENTS:
        c = _c_from_b(math.exp(lb), n, a)
        if n > a and _sl_c(c, n, a, float(aht_s), t) >= sl and (occ is None or a / n <= occ):
            return n
        n += 1
        lb = _log_b_step(lb, n, ll)
    raise ErlangError(f"no number of agents up to {MAX_AGENTS} meets the target; check calls and aht_s")


def _check_occupancy(value: float) -> float:
    v = float(value)
    if not 0 < v <= 1:
        raise ErlangError(f"max_occupancy must be a fraction in (0, 1], e.g. 0.85 (got {value!r})")
    return v


# ============================================================================ Erlang A


class _LogSum:
    """A running ``log(sum(exp(v)))`` over chunks of log-values (memory does not grow)."""

    __slots__ = ("mx", "total")

    def __init__(self) -> None:
        self.mx = -math.inf
        self.total = 0.0  # sum of exp(v - mx)

    def add(self, v: np.ndarray) -> None:
        top = float(v.max())
        if top == -math.inf:
            return
        if top > self.mx:
            self.total = self.total * math.exp(self.mx - top) if self.mx > -math.inf else 0.0
            self.mx = top
        self.total += float(np.exp(v - self.mx).sum())

    @property
    def log(self) -> float:
        return self.mx + math.log(self.total) if self.total > 0 else -math.inf


def _tail_sums(a: float, x: float, c: float, theta: float, t: float) -> tuple[float, ...]:
    """Logarithms of the five Erlang A series.

    ``log sum_j`` of ``t_j``, ``j t_j``, ``t_j a/(a+j+1)``, ``t_j a/(a+j+1) I_{y_T}(j+1, a+1)``
    and ``t_j a/(a+j+1) H_j``, with ``H_j = sum_{i<=j} 1/(c + (i+1) theta)``, summed in chunks
    of at most :data:`_CHUNK` terms until the rest is below ``e^-52`` of the largest term.
    """
    peak = max(0.0, x - a)  # terms grow while a + j < x
    if peak + 12.0 * math.sqrt(x) > _MAX_TERMS:
        raise ErlangError(
            "Erlang A would need more than 10 million terms: patience is extremely long for a heavily "
            "overloaded queue (more agents, a finite patience_s, or erlang_c)"
        )
    y = -math.expm1(-theta * t)  # 1 - exp(-theta T)
    lx = math.log(x)
    la = math.log(a) if a > 0 else -math.inf
    sums = [_LogSum() for _ in range(5)]
    start = 0  # j of the chunk's first term
    last_lt = 0.0  # log t_{start-1}
    last_h = 0.0  # H_{start-1}
    m = -math.inf  # largest log t_j so far
    size = int(min(_CHUNK, max(64, peak + 12.0 * math.sqrt(x) + 64)))
    while True:
        j = np.arange(start, start + size, dtype=np.float64)
        with np.errstate(divide="ignore"):
            steps = lx - np.log(a + j)  # j = 0 with no agents gives log 0: replaced next
            if start == 0:
                steps[0] = 0.0  # t_0 = 1
            lt = last_lt + np.cumsum(steps)
            h = last_h + np.cumsum(1.0 / (c + (j + 1.0) * theta))
            served = la - np.log(a + j + 1.0)
            lbeta = np.log(betainc(j + 1.0, a + 1.0, y)) if y > 0 else np.full(size, -math.inf)
            sums[0].add(lt)
            sums[1].add(lt + np.log(j))
            sums[2].add(lt + served)
            sums[3].add(lt + served + lbeta)
            sums[4].add(lt + served + np.log(h))
        m = max(m, float(lt.max()))
        start += size
        last_lt, last_h = float(lt[-1]), float(h[-1])
        ratio = x / (a + start)  # t_start / t_{start-1}; it only falls from here on
        if ratio < 1.0:
            # The rest is at most t_last r / (1 - r), and the j-weighted rest that times
            # (start + 1 / (1 - r)): stop when both are negligible against the largest term.
            rest = last_lt + math.log(ratio) - math.log1p(-ratio) + math.log(start + 1.0 / (1.0 - ratio))
            if rest - m < _TAIL_LOG:
                break
        if start >= _MAX_TERMS:
            raise ErlangError("Erlang A series did not converge within 10 million terms; check the arguments")
        size = min(_CHUNK, size * 2)
    return tuple(s.log for s in sums)


def _expit(z: float) -> float:
    """``1 / (1 + e^-z)`` without overflow."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _perf_a(n: int, a_load: float, lb: float, lam: float, aht: float, theta: float, t: float) -> QueuePerformance:
    """Erlang A performance from ``log B(n, A)`` (see the module notes for the formulas)."""
    if a_load == 0:
        return QueuePerformance(n, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    mu = 1.0 / aht
    c = n * mu
    a = c / theta
    x = lam / theta
    log_s, lm1, lsv, lsl, lw = _tail_sums(a, x, c, theta, t)
    # P(wait) = B S / (1 - B + B S) = expit(log B + log S - log(1 - B)).
    l1mb = math.log(-math.expm1(lb)) if lb < 0 else -math.inf
    z = lb + log_s - l1mb
    p_wait = _expit(z)
    p_nowait = _expit(-z)
    lpin = -float(np.logaddexp(0.0, -z)) - log_s  # log pi(N) = log P(wait) - log S
    p_ab = math.exp(lpin + lm1 - math.log(x))
    p_served_waited = math.exp(lpin + lsv) if lsv > -math.inf else 0.0
    sl = p_nowait + (math.exp(lpin + lsl) if lsl > -math.inf else 0.0)
    p_served = p_nowait + p_served_waited
    wait_served = math.exp(lpin + lw) if lw > -math.inf else 0.0
    asa = wait_served / p_served if p_served > 0 else math.inf
    occ = a_load * p_served / n if n > 0 else 0.0  # carried load per agent
    return QueuePerformance(
        n, a_load, min(1.0, p_wait), min(1.0, p_ab), min(1.0, max(0.0, sl)), asa, min(1.0, occ)
    )


def erlang_a_metrics(
    agents: int,
    calls: float,
    interval_s: float,
    aht_s: float,
    patience_s: float,
    target_t_s: float,
) -> QueuePerformance:
    """Erlang A (M/M/N+M) performance of an interval's queue with ``agents`` agents.

    Parameters
    ----------
    agents : int
        Agents answering (0 allowed: everyone abandons).
    calls : float
        Expected calls in the interval.
    interval_s : float
        Interval length, seconds.
    aht_s : float
        Average handle time, seconds.
    patience_s : float
        Callers' mean patience (exponential), seconds. ``inf`` gives Erlang C.
    target_t_s : float
        Service-level answer time, seconds.

    Returns
    -------
    QueuePerformance
        ``service_level`` is the share of all callers answered within ``target_t_s``
        (abandons count against it); ``asa_s`` the mean wait of answered callers.

    Notes
    -----
    Exact (to double precision) for any ``agents``, load and patience: see the module notes for
    the birth-death chain, the offered-wait distribution and the series used. Unlike Erlang C it
    is defined for ``agents <= load`` (the 8am rush), where abandonment keeps the queue finite.

    Examples
    --------
    >>> m = erlang_a_metrics(2, 40, 1800, 150, 240, 60)
    >>> 0 < m.p_abandon < m.p_wait < 1
    True
    """
    n = _check_agents(agents)
    a = offered_load(calls, interval_s, aht_s)
    t = _check_nonneg("target_t_s", target_t_s)
    patience = float(patience_s)
    if not patience > 0:
        raise ErlangError(f"patience_s must be > 0 seconds (got {patience_s!r}); use math.inf for Erlang C")
    lb = _log_erlang_b(n, a)
    if math.isinf(patience):
        return _perf_c(n, a, lb, float(aht_s), t)
    return _perf_a(n, a, lb, float(calls) / float(interval_s), float(aht_s), 1.0 / patience, t)


def erlang_a_agents(
    calls: float,
    interval_s: float,
    aht_s: float,
    patience_s: float,
    target_sl: float,
    target_t_s: float,
    max_abandon: float | None = None,
    max_occupancy: float | None = None,
) -> int:
    """Fewest agents for which Erlang A meets a service-level target and an abandonment cap.

    Parameters
    ----------
    calls, interval_s, aht_s, patience_s
        As for :func:`erlang_a_metrics`.
    target_sl : float
        Share of all callers to answer within ``target_t_s`` (0 < target_sl < 1).
    target_t_s : float
        Answer time, seconds.
    max_abandon : float, optional
        Highest acceptable probability of abandoning (e.g. 0.05).
    max_occupancy : float, optional
        Highest acceptable occupancy.

    Returns
    -------
    int
        The smallest ``N`` meeting every target; 0 when no calls are expected.

    Raises
    ------
    ErlangError
        A bad argument, or no ``N`` up to :data:`MAX_AGENTS` meets the targets.

    Notes
    -----
    Service level rises and abandonment and occupancy fall as ``N`` grows, so the targets hold
    from some ``N`` on and the answer is found by doubling the step from a lower bound, then
    halving back (``O(log N)`` evaluations). The lower bound: the carried load
    ``A (1 - P(abandon))`` cannot exceed ``N``, so ``P(abandon) >= 1 - N / A`` and
    ``SL <= P(answered) <= N / A``; no ``N`` below ``A x target_sl`` or
    ``A (1 - max_abandon)`` can meet the targets.

    Examples
    --------
    >>> erlang_a_agents(100, 1800, 180, 180, 0.8, 20) <= erlang_c_agents(100, 1800, 180, 0.8, 20)
    True
    """
    a = offered_load(calls, interval_s, aht_s)
    sl = _check_fraction("target_sl", target_sl)
    t = _check_nonneg("target_t_s", target_t_s)
    ab = None if max_abandon is None else _check_fraction("max_abandon", max_abandon)
    occ = None if max_occupancy is None else _check_occupancy(max_occupancy)
    patience = float(patience_s)
    if not patience > 0:
        raise ErlangError(f"patience_s must be > 0 seconds (got {patience_s!r})")
    if math.isinf(patience):
        return erlang_c_agents(calls, interval_s, aht_s, target_sl, target_t_s, max_occupancy)
    if a == 0:
        return 0
    lam, aht, theta = float(calls) / float(interval_s), float(aht_s), 1.0 / patience
    ll = math.log(a)
    log_b = [0.0]  # log B(0..len-1), extended on demand

    def meets(n: int) -> bool:
        while len(log_b) <= n:
            log_b.append(float(_log_b_step(log_b[-1], len(log_b), ll)))
        p = _perf_a(n, a, log_b[n], lam, aht, theta, t)
        return p.service_level >= sl and (ab is None or p.p_abandon <= ab) and (occ is None or p.occupancy <= occ)

    lo = max(1, math.floor(a * sl), math.floor(a * (1.0 - ab)) if ab is not None else 1)
    if meets(lo):
        return lo
    step = 1
    while True:  # gallop: lo fails; find hi that meets
        hi = lo + step
        if hi > MAX_AGENTS:
            if meets(MAX_AGENTS):
                hi = MAX_AGENTS
                break
            raise ErlangError(f"no number of agents up to {MAX_AGENTS} meets the targets; check calls and aht_s")
        if meets(hi):
            break
        lo, step = hi, step * 2
    while hi - lo > 1:  # lo fails, hi meets
        mid = (lo + hi) // 2
        if meets(mid):
            hi = mid
        else:
            lo = mid
    return hi
