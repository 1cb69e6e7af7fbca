"""The queue simulator: an event-driven general-practice phone queue with redials (no I/O).

A reusable engine: give it the day's first calls (seconds after local midnight), a rota of call
handlers per interval and :class:`QueueParams`, and it plays the day out
(:func:`simulate_queue`). The demo's practices (:mod:`demand.simulation.population`) and the
staffing checks (:mod:`forecasting.planning.staffing`) both run it.

The model
---------
Callers hear an IVR message (a few hang up there), join one FIFO queue, and wait until
answered, until their patience runs out (abandon), or until the queue's timeout (missed). Told
they are far back in the queue, some hang up at once to try again (balking: the short abandons
of 8am). When many are ahead, callers with a visible number are offered a call-back (press 1);
those who accept leave the line but keep their place (a virtual hold), and a handler rings them
back when their turn comes. Handle times and patience are lognormal. A caller who abandons,
times out or hangs up in the IVR redials after a short lognormal delay, persistently for a
same-day need, less so with each try; one who gives up may ring the next open day. The day's
same-day slots are booked in the order callers get through; when none is left, callers are told
to ring tomorrow.

Times are seconds after local midnight; the same inputs and seed give the same calls.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from telephony.errors import FrontdoorError

__all__ = ["QueueParams", "simulate_queue", "queue_day", "QUEUE_COLUMNS", "SimulationError", "NEEDS", "LINES", "HALF_HOUR"]

HALF_HOUR = 1800.0

# What a caller wants, and the queue (IVR branch) they choose for it.
NEEDS: tuple[str, ...] = ("same_day", "routine", "prescription", "enquiry")
LINES: dict[str, str] = {
    "same_day": "appointments",
    "routine": "appointments",
    "prescription": "prescriptions",
    "enquiry": "enquiries",
}


class SimulationError(FrontdoorError, ValueError):
    """Parameters the simulation cannot use."""




@dataclass(frozen=True)
class QueueParams:
    """The queue and its callers: handling, patience, IVR, call-backs, redials.

    Attributes
    ----------
    open_s, close_s : float
        Opening and closing times, seconds after local midnight (08:00 and 18:30). Calls
        outside them hear the closed message; callers already queued at closing are served.
    rota_step_s : float
        Length of one rota interval (a rota gives handlers per interval from ``open_s``).
    handle_median_s, handle_sigma : float
        Lognormal handle (talk) time of a call that is dealt with.
    short_talk_median_s : float
        Median talk time of a call that ends in "no appointments left, ring tomorrow".
    admin_factor : float
        Handle time of prescription and enquiry calls relative to appointment calls.
    wrap_s : float
        After-call work before a handler takes the next call.
    patience_median_s, patience_sigma : float
        Lognormal time a caller will wait in the queue before hanging up.
    max_wait_s : float
        The queue's timeout: a caller still waiting then is cut off (``missed``).
    ivr_s : float
        Length of the message before the queue; the call's wait starts after it.
    ivr_hangup_prob : float
        Chance that a caller hangs up during the message (``ivr_abandoned``).
    balk_from_position, balk_prob : int or None, float
        A caller told they are at this place in the queue or further back hangs up within
        the next minute with chance ``balk_prob`` (to redial "for a better place"): the short
        abandons of the 8am rush. ``None``: nobody balks.
    callback_from_position : int or None
        Callers who find at least this many ahead of them are offered a call-back (callers
        with a withheld number are not: there is no number to ring). ``None``: no call-backs.
    callback_accept_prob : float
        Chance an offered caller presses the key.
    callback_key_delay_s : tuple of 2 floats
        Uniform range of seconds after joining the queue when the offer is taken.
    callback_answer_prob : float
        Chance the patient answers the call-back; unanswered ones are tried once more after
        ``callback_retry_s``.
    booking_margin_s : float
        A same-day slot is offered only if it starts at least this long after the call.
    redial_prob_same_day, redial_prob_other : float
        Chance of redialling after a failed attempt (first failure), by need.
    redial_decay : float
        Each further failure multiplies the chance of redialling by this.
    max_attempts : int
        Nobody tries more than this many times in a day.
    redial_median_s, redial_sigma : float
        Lognormal delay before redialling.
    ring_tomorrow_prob : float
        Chance that a caller told "no appointments left, ring tomorrow" does.
    gave_up_tomorrow_prob : float
        Chance that a caller who gave up redialling (or was never rung back) tries the next
        open day.
    """

    open_s: float = 8 * 3600.0
    close_s: float = 18.5 * 3600.0
    rota_step_s: float = HALF_HOUR
    handle_median_s: float = 150.0
    handle_sigma: float = 0.5
    short_talk_median_s: float = 90.0
    admin_factor: float = 0.8
    wrap_s: float = 15.0
    patience_median_s: float = 240.0
    patience_sigma: float = 0.9
    max_wait_s: float = 1800.0
    ivr_s: float = 25.0
    ivr_hangup_prob: float = 0.03
    balk_from_position: int | None = 6
    balk_prob: float = 0.5
    callback_from_position: int | None = 8
    callback_accept_prob: float = 0.4
    callback_key_delay_s: tuple[float, float] = (20.0, 60.0)
    callback_answer_prob: float = 0.9
    callback_retry_s: float = 900.0
    booking_margin_s: float = 600.0
    redial_prob_same_day: float = 0.92
    redial_prob_other: float = 0.55
    redial_decay: float = 0.97
    max_attempts: int = 30
    redial_median_s: float = 40.0
    redial_sigma: float = 1.0
    ring_tomorrow_prob: float = 0.4
    gave_up_tomorrow_prob: float = 0.3


# ============================================================================ random draws


class _Draws:
    """Uniform and normal variates drawn from ``rng`` in blocks (one call per 4,096 draws).

    The event loop needs a few random numbers per event; drawing them one at a time from
    NumPy costs more than the rest of the loop.
    """

    __slots__ = ("rng", "_u", "_iu", "_z", "_iz")
    BLOCK = 4096

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self._u: list[float] = []
        self._iu = 0
        self._z: list[float] = []
        self._iz = 0

    def u(self) -> float:
        if self._iu >= len(self._u):
            self._u = self.rng.random(self.BLOCK).tolist()
            self._iu = 0
        self._iu += 1
        return self._u[self._iu - 1]

    def z(self) -> float:
        if self._iz >= len(self._z):
            self._z = self.rng.standard_normal(self.BLOCK).tolist()
            self._iz = 0
        self._iz += 1
        return self._z[self._iz - 1]

    def lognormal(self, median: float, sigma: float) -> float:
        return median * math.exp(sigma * self.z())


# ============================================================================ the queue

# Event kinds, in the order they are handled when at the same instant: a handler freed or a
# shift change is seen before a new arrival takes its place in the queue.
_SHIFT, _DONE, _ARRIVE, _ENTER, _KEY, _LEAVE, _REQUEUE = range(7)
# Job states.
_WAITING, _VIRTUAL, _GONE, _SERVED = range(4)

QUEUE_COLUMNS: tuple[str, ...] = (
    "need_id", "caller", "need", "line", "withheld", "repeat", "direction", "t_s", "enter_s", "end_s",
    "outcome", "wait_s", "talk_s", "agent", "position", "attempt", "is_redial", "callback_offer",
    "resolution", "slot", "booked_s", "rings_tomorrow",
)


class _Day:
    """One day's queue: the event loop of :func:`simulate_queue`."""

    def __init__(self, arrivals: dict, rota: Sequence[int], p: QueueParams, draws: _Draws, slots):
        self.p = p
        self.d = draws
        self.a = arrivals
        self.rota = [int(x) for x in rota]
        if not self.rota:
            raise SimulationError("a rota needs at least one interval")
        if any(x < 0 for x in self.rota):
            raise SimulationError("a rota cannot have a negative number of handlers")
        self.slots = None if slots is None else [float(s) for s in slots]
        self.ptr = 0
        self.heap: list = []
        self.seq = 0
        n_h = max(self.rota + [1])
        self.busy = [False] * n_h
        self.free_since = [0.0] * n_h
        self.on_duty = 0
        self.queue: list[int] = []  # FIFO of job (record) ids; head at self.qhead
        self.qhead = 0
        self.in_queue = 0  # waiting or virtual jobs in the queue (the position a caller hears)
        self.cb_tries: dict[int, int] = {}
        self.r = {c: [] for c in QUEUE_COLUMNS if c not in ("caller", "need", "line", "withheld", "repeat")}
        self.r["idx"] = []  # arrival row of each record
        self.state: list[int] = []

    # -------------------------------------------------------------- helpers
    def push(self, t: float, kind: int, a: int, b: int = 0) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, kind, self.seq, a, b))

    def record(self, j: int, direction: str, t: float, attempt: int) -> int:
        r = self.r
        k = len(r["idx"])
        r["idx"].append(j)
        r["need_id"].append(self.a["need_id"][j])
        r["direction"].append(direction)
        r["t_s"].append(t)
        r["enter_s"].append(math.nan)
        r["end_s"].append(t)
        r["outcome"].append("")
        r["wait_s"].append(math.nan)
        r["talk_s"].append(0.0)
        r["agent"].append(-1)
        r["position"].append(-1)
        r["attempt"].append(attempt)
        # A call-back made is the practice's call, not the caller trying again.
        r["is_redial"].append(direction == "inbound" and (attempt > 1 or bool(self.a["repeat"][j])))
        r["callback_offer"].append(False)
        r["resolution"].append("")
        r["slot"].append(-1)
        r["booked_s"].append(math.nan)
        r["rings_tomorrow"].append(False)
        self.state.append(_WAITING)
        return k

    def handle_time(self, need: str) -> float:
        t = self.d.lognormal(self.p.handle_median_s, self.p.handle_sigma)
        return t * self.p.admin_factor if need in ("prescription", "enquiry") else t

    def resolve(self, k: int, now: float) -> float:
        """What the handler does for the caller of record ``k``; returns the talk time."""
        j = self.r["idx"][k]
        need = self.a["need"][j]
        if need != "same_day":
            self.r["resolution"][k] = "routine" if need == "routine" else "admin"
            return self.handle_time(need)
        if self.slots is None:
            self.r["resolution"][k] = "handled"
            return self.handle_time(need)
        earliest = now + self.p.booking_margin_s
        while self.ptr < len(self.slots) and self.slots[self.ptr] < earliest:
            self.ptr += 1
        if self.ptr < len(self.slots):
            self.r["resolution"][k] = "booked_same_day"
            self.r["slot"][k] = self.ptr
            self.r["booked_s"][k] = now
            self.ptr += 1
            return self.handle_time(need)
        self.r["resolution"][k] = "ring_tomorrow"
        self.r["rings_tomorrow"][k] = self.d.u() < self.p.ring_tomorrow_prob
        return self.d.lognormal(self.p.short_talk_median_s, 0.4)

    def failed(self, k: int, now: float) -> None:
        """Attempt ``k`` got nowhere: redial, or give up (and maybe ring tomorrow)."""
        p = self.p
        j = self.r["idx"][k]
        attempt = self.r["attempt"][k]
        base = p.redial_prob_same_day if self.a["need"][j] == "same_day" else p.redial_prob_other
        if now < p.close_s and attempt < p.max_attempts and self.d.u() < base * p.redial_decay ** (attempt - 1):
            t = now + self.d.lognormal(p.redial_median_s, p.redial_sigma)
            if now < p.open_s and t < p.open_s:
                # Early birds ring again on the stroke of opening, not later.
                t = p.open_s + self.d.lognormal(15.0, 0.8)
            self.push(t, _ARRIVE, j, attempt + 1)
        else:
            self.r["rings_tomorrow"][k] = self.d.u() < p.gave_up_tomorrow_prob

    def free_handler(self) -> int:
        best = -1
        for h in range(min(self.on_duty, len(self.busy))):
            if not self.busy[h] and (best < 0 or self.free_since[h] < self.free_since[best]):
                best = h
        return best

    # -------------------------------------------------------------- events
    def dispatch(self, now: float) -> None:
        r = self.r
        while self.qhead < len(self.queue):
            h = self.free_handler()
            if h < 0:
                return
            k = self.queue[self.qhead]
            self.qhead += 1
            st = self.state[k]
            if st == _GONE:
                continue
            self.in_queue -= 1
            self.busy[h] = True
            if st == _WAITING:
                self.state[k] = _SERVED
                r["outcome"][k] = "answered"
                r["wait_s"][k] = now - r["enter_s"][k]
                r["agent"][k] = h
                talk = self.resolve(k, now)
                r["talk_s"][k] = talk
                r["end_s"][k] = now + talk
                self.push(now + talk + self.p.wrap_s, _DONE, h)
            else:  # a call-back: the handler rings the patient
                self.state[k] = _SERVED
                j = r["idx"][k]
                o = self.record(j, "outbound", now, r["attempt"][k])
                self.state[o] = _SERVED
                r["agent"][o] = h
                if self.d.u() < self.p.callback_answer_prob:
                    ring = 5.0 + 20.0 * self.d.u()
                    r["outcome"][o] = "answered"
                    r["wait_s"][o] = ring
                    talk = self.resolve(o, now + ring)
                    r["talk_s"][o] = talk
                    r["end_s"][o] = now + ring + talk
                else:
                    ring = 30.0
                    r["outcome"][o] = "missed"
                    r["wait_s"][o] = ring
                    r["end_s"][o] = now + ring
                    talk = 0.0
                    tries = self.cb_tries.get(k, 0) + 1
                    self.cb_tries[k] = tries
                    if tries < 2:
                        self.push(now + ring + self.p.callback_retry_s, _REQUEUE, k)
                    else:
                        r["rings_tomorrow"][o] = self.d.u() < self.p.gave_up_tomorrow_prob
                self.push(now + ring + talk + self.p.wrap_s, _DONE, h)

    def run(self) -> dict:
        p, r, a = self.p, self.r, self.a
        for j, t in enumerate(a["t_s"]):
            self.push(float(t), _ARRIVE, j, 1)
        for i in range(len(self.rota) + 1):
            self.push(p.open_s + i * p.rota_step_s, _SHIFT, i)
        close = p.close_s
        while self.heap:
            now, kind, _, x, y = heapq.heappop(self.heap)
            if kind == _ARRIVE:
                k = self.record(x, "inbound", now, y)
                if now < p.open_s or now >= close:
                    r["outcome"][k] = "closed"
                    r["end_s"][k] = now + 10.0
                    self.state[k] = _GONE
                    self.failed(k, now + 10.0)
                elif p.ivr_hangup_prob > 0 and self.d.u() < p.ivr_hangup_prob:
                    r["outcome"][k] = "ivr_abandoned"
                    end = now + max(2.0, p.ivr_s * self.d.u())
                    r["end_s"][k] = end
                    self.state[k] = _GONE
                    self.failed(k, end)
                else:
                    self.push(now + p.ivr_s, _ENTER, k)
            elif kind == _ENTER:
                k = x
                r["enter_s"][k] = now
                ahead = self.in_queue
                r["position"][k] = ahead + 1
                self.queue.append(k)
                self.in_queue += 1
                j = r["idx"][k]
                if (
                    p.callback_from_position is not None
                    and ahead >= p.callback_from_position
                    and not a["withheld"][j]
                ):
                    r["callback_offer"][k] = True
                    if self.d.u() < p.callback_accept_prob:
                        lo, hi = p.callback_key_delay_s
                        self.push(now + lo + (hi - lo) * self.d.u(), _KEY, k)
                patience = self.d.lognormal(p.patience_median_s, p.patience_sigma)
                if p.balk_from_position is not None and ahead + 1 >= p.balk_from_position and self.d.u() < p.balk_prob:
                    patience = min(patience, 5.0 + 55.0 * self.d.u())
                self.push(now + min(patience, p.max_wait_s), _LEAVE, k, int(patience >= p.max_wait_s))
                self.dispatch(now)
            elif kind == _LEAVE:
                k = x
                if self.state[k] != _WAITING:
                    continue
                self.state[k] = _GONE
                self.in_queue -= 1
                r["outcome"][k] = "missed" if y else "abandoned"
                r["wait_s"][k] = now - r["enter_s"][k]
                r["end_s"][k] = now
                self.failed(k, now)
            elif kind == _KEY:
                k = x
                if self.state[k] != _WAITING:
                    continue
                self.state[k] = _VIRTUAL  # keeps its place in the queue
                r["outcome"][k] = "callback"
                r["wait_s"][k] = now - r["enter_s"][k]
                r["end_s"][k] = now
            elif kind == _DONE:
                self.busy[x] = False
                self.free_since[x] = now
                self.dispatch(now)
            elif kind == _SHIFT:
                # After closing, whoever worked the last interval stays until the queue is empty.
                self.on_duty = self.rota[x] if x < len(self.rota) else max(1, self.rota[-1] if self.rota else 1)
                if self.on_duty > len(self.busy):
                    self.busy += [False] * (self.on_duty - len(self.busy))
                    self.free_since += [now] * (self.on_duty - len(self.free_since))
                self.dispatch(now)
            elif kind == _REQUEUE:
                self.state[x] = _VIRTUAL
                self.queue.append(x)
                self.in_queue += 1
                self.dispatch(now)
        return r


def _arrival_lists(arrivals: pd.DataFrame) -> dict:
    """The arrival columns :func:`simulate_queue` reads, as lists (defaults filled in)."""
    if "t_s" not in arrivals.columns:
        raise SimulationError("arrivals need a t_s column: seconds after local midnight of each first call")
    n = len(arrivals)

    def col(name, default):
        return arrivals[name].tolist() if name in arrivals.columns else [default] * n

    out = {
        "t_s": arrivals["t_s"].astype(float).tolist(),
        "need_id": col("need_id", None),
        "caller": col("caller", -1),
        "need": col("need", "same_day"),
        "line": col("line", None),
        "withheld": [bool(x) for x in col("withheld", False)],
        "repeat": [bool(x) for x in col("repeat", False)],
    }
    if "need_id" not in arrivals.columns:
        out["need_id"] = list(range(n))
    bad = sorted({x for x in out["need"] if x not in NEEDS})
    if bad:
        raise SimulationError(f"unknown need(s) {bad}; use one of {', '.join(NEEDS)}")
    out["line"] = [LINES[nd] if ln is None or (isinstance(ln, float) and ln != ln) else ln for nd, ln in zip(out["need"], out["line"])]
    return out


def queue_day(arrivals: dict, rota, params: QueueParams, draws: _Draws, slots) -> dict:
    """One day of the queue for arrivals prepared by :func:`_arrival_lists`: the calls as columns
    (:data:`QUEUE_COLUMNS`), in the order of the arrivals (the loop :func:`simulate_queue` and the
    demo's days share)."""
    r = _Day(arrivals, rota, params, draws, slots).run()
    idx = r.pop("idx")
    for c in ("caller", "need", "line", "withheld", "repeat"):
        src = arrivals[c]
        r[c] = [src[j] for j in idx]
    return r


def simulate_queue(
    arrivals: pd.DataFrame,
    rota: Sequence[int],
    params: QueueParams | None = None,
    rng: np.random.Generator | None = None,
    same_day_slots: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Simulate one day of a practice's phone queue, with abandonment, redials and call-backs.

    Parameters
    ----------
    arrivals : pandas.DataFrame
        One row per caller's first call of the day. ``t_s`` (float, seconds after local
        midnight) is required; optional ``caller`` (int), ``need`` (one of :data:`NEEDS`,
        default ``same_day``), ``need_id``, ``line`` (default from :data:`LINES`),
        ``withheld`` (bool: no call-back offered), ``repeat`` (bool: the need was already
        tried on an earlier day, so every call of it counts as a redial).
    rota : sequence of int
        Call handlers on duty in each interval of ``params.rota_step_s`` from
        ``params.open_s``. After the last interval (and after closing) the last interval's
        handlers (at least one) stay until the queue is empty.
    params : QueueParams, optional
    rng : numpy.random.Generator, optional
        Source of randomness (seeded: ``np.random.default_rng(1)``); a fixed seed when omitted.
    same_day_slots : sequence of float, optional
        Start times (seconds after midnight, ascending) of the day's same-day slots. Each
        same-day caller who gets through takes the earliest slot starting at least
        ``params.booking_margin_s`` later; when none is left the caller is told to ring
        tomorrow. ``None``: unlimited (every same-day caller is ``handled``).

    Returns
    -------
    pandas.DataFrame
        One row per call, inbound attempts and outbound call-backs, in order of ``t_s``:

        ============== ====================================================================
        need_id        the need (from the arrival)
        caller, need, line, withheld, repeat
                       copied from the arrival
        direction      ``inbound``, or ``outbound`` for a call-back made
        t_s            when the call reached the phone system (s after midnight)
        enter_s        when it joined the queue; NaN if it never did
        end_s          when the caller's part ended (hung up, cut off, pressed the key, or
                       the conversation ended)
        outcome        ``answered``, ``callback``, ``abandoned``, ``missed``,
                       ``ivr_abandoned``, ``closed`` (outbound: ``answered`` or ``missed``)
        wait_s         queue wait until answer or leaving (outbound: ring time); NaN if the
                       caller never queued
        talk_s         conversation length; 0 when not answered
        agent          handler number (0-based) who answered or rang back; -1 if none
        position       place in the queue on joining (1 = first); -1 if never queued
        attempt        the need's attempt number today (an outbound call-back carries the
                       attempt that requested it)
        is_redial      not the first call of the need (a second attempt today, or any call
                       of a need carried over from an earlier day)
        callback_offer offered a call-back on joining
        resolution     for calls where a handler spoke to the patient: ``booked_same_day``,
                       ``ring_tomorrow``, ``routine``, ``admin``, ``handled``; else ``""``
        slot           index into ``same_day_slots`` of the slot booked; -1 if none
        booked_s       when the slot was booked
        rings_tomorrow this call ended the need for today and the patient will ring again
                       on the next open day
        ============== ====================================================================

    Notes
    -----
    Definitions: a caller *abandons* when their patience (lognormal) runs out before the
    queue's timeout ``max_wait_s``; otherwise they are cut off at the timeout (*missed*). A
    call-back keeps the caller's place in the queue (virtual hold); the handler's call to the
    patient is an outbound call whose wait is its ring time. Handlers take the longest-waiting
    job first (FIFO) and the handler idle longest takes it. Counts are what matters for
    staffing checks: unlike Erlang C or A, the redials here feed back into the queue.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> arr = pd.DataFrame({"t_s": 8 * 3600 + np.arange(30) * 20.0})
    >>> calls = simulate_queue(arr, [2] * 21, rng=np.random.default_rng(1))
    >>> int((calls["outcome"] == "answered").sum()) <= 30 < len(calls)
    True
    """
    params = params or QueueParams()
    rng = rng if rng is not None else np.random.default_rng(0)
    arr = _arrival_lists(arrivals)
    if same_day_slots is not None:
        s = np.asarray(same_day_slots, dtype=float)
        if len(s) > 1 and np.any(np.diff(s) < 0):
            raise SimulationError("same_day_slots must be in ascending order of start time")
    r = queue_day(arr, rota, params, _Draws(rng), same_day_slots)
    df = pd.DataFrame({c: r[c] for c in QUEUE_COLUMNS})
    return df.sort_values("t_s", kind="stable").reset_index(drop=True)
