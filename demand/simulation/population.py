"""The simulated practices: their patients' demand, calls and appointment books (no I/O).

The demo federation (``frontdoor demo``) is generated here and written as real export files by
:mod:`demand.simulation.demo`. Everything is a pure function of its parameters and a seed: the same
inputs give the same frames, row for row.

The model, in the order things happen
-------------------------------------
1. **Needs.** Each open day a number of patients develop a need to contact the practice
   (:func:`daily_demand`): ``list_size x weekly_rate`` a week, shared across weekdays by
   :attr:`DemandParams.weekday_weights` (Monday highest), times an annual cycle peaking in
   January (:func:`seasonal_factor`), times a gamma day effect (so counts are over-dispersed:
   gamma-Poisson). England's bank holidays (``holidays.UK(subdiv="ENG")``) and weekends are
   closed; a share of a closed weekday's demand lands on the next open day, which then surges
   like a Monday. A few people ring on closed days anyway and hear the closed message.
2. **First attempts.** Each need's first call falls in a half-hour of the day drawn from
   :attr:`DemandParams.intraday_weights` (the 8am rush, a smaller early-afternoon peak); a few
   early birds ring before 08:00, hear "closed", and redial at 08:00. What callers want depends
   on when they ring: mostly a same-day appointment at 8am, more admin later.
3. **The queue** (:func:`demand.simulation.engine.simulate_queue`, an event-driven
   simulation, one heap of events per day; the engine's docstring has the model). A rota gives the number of call handlers per half-hour. Callers hear an IVR message
   (a few hang up there), join one FIFO queue, and wait until answered, until their patience
   runs out (abandon), or until the queue's timeout (missed). Told they are far back in the
   queue, some hang up at once to try again (balking: the short abandons of 8am). When many
   are ahead, callers with a visible number are offered a call-back (press 1); those who
   accept leave the line but keep their place (a virtual hold), and a handler rings them back
   when their turn comes. Handle times and patience are lognormal.
4. **Redials.** A caller who abandons, times out or hangs up in the IVR redials after a short
   lognormal delay, persistently for a same-day need, less so with each try; one who gives up
   may ring the next open day.
5. **Same-day capacity.** The day's same-day slots (from the appointment book, released at
   08:00) are booked in the order callers get through, each caller taking the earliest slot
   starting at least :attr:`QueueParams.booking_margin_s` after the call. When none is left,
   callers are told to ring tomorrow, and many do, at the next 8am rush
   (:attr:`QueueParams.ring_tomorrow_prob`).

Appointment books (:func:`build_book`, :func:`simulate_appointments`) have clinicians by role
working am/pm sessions of fixed-length slots, same-day and pre-bookable, in four modes.
Same-day slots are booked by the call simulation's callers (so they run out on busy days);
pre-bookable slots fill ahead with lead times, with a preference for the patient's usual GP
(continuity). Booked slots end attended, did-not-attend (GP ~1.5%, others ~5%) or cancelled.

Times are local wall-clock time (Europe/London): seconds after local midnight inside the
simulation, naive ``datetime64`` in the returned frames. The practice is open 08:00-18:30, so
no clock change ever falls inside a simulated call.
"""

from __future__ import annotations

import datetime as _dt
import math
import zlib
from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np
import pandas as pd

from telephony.calendar import bank_holidays
from demand.simulation.engine import (
    HALF_HOUR,
    LINES,
    NEEDS,
    QUEUE_COLUMNS,
    QueueParams,
    SimulationError,
    _Draws,
    queue_day,
)

__all__ = [
    "DemandParams",
    "BookParams",
    "PracticeParams",
    "default_federation",
    "default_rota",
    "closed_days",
    "seasonal_factor",
    "daily_demand",
    "clinicians",
    "simulate_calls",
    "build_book",
    "simulate_appointments",
    "same_day_bookings",
    "gpad_monthly",
    "DEFAULT_START",
    "ENGLAND_DEMAND",
    "ENGLAND_QUEUE",
    "ENGLAND_PATIENTS_PER_HANDLER",
]

DEFAULT_START = _dt.date(2025, 1, 6)  # a Monday: 56 weeks from it take in two Januaries
# ============================================================================ parameters


@dataclass(frozen=True)
class DemandParams:
    """How many patients need the practice, and when they ring.

    Attributes
    ----------
    weekly_rate : float
        New needs per patient per week (the share of the list size that wants the practice in
        a week); NHS guidance puts demand at 5-10%.
    weekday_weights : tuple of 5 floats
        Monday..Friday new needs relative to Monday. The default is calibrated so that the
        *calls* (with "ring tomorrow" carry-over and redials) come out near one practice's
        published weekly call counts, Tue -18%, Wed -49%, Thu -42%, Fri -34% (the demo's
        stores give about -10..-28%, -47..-58%, -48..-51%, -35..-41%): Tuesday's own demand is
        lower than its calls because Monday's unmet demand rings again on Tuesday.
    holiday_carry : float
        Share of a closed weekday's expected demand that arrives on the next open day (on top
        of that day's own): "the day after a bank holiday behaves like a Monday".
    seasonal_amplitude, peak_day : float, int
        Annual cycle ``1 + amplitude * cos(2 pi (day_of_year - peak_day) / 365.25)``: highest in
        mid-January, lowest in mid-July to August.
    day_shape : float
        Shape of the gamma day effect (mean 1): day counts are gamma-Poisson, with a
        coefficient of variation of about ``1/sqrt(day_shape)`` beyond Poisson's.
    intraday_weights : tuple of 21 floats
        Relative chance that a need's first call falls in each half-hour from 08:00 to 18:30.
    rush_mean_s : float
        Within 08:00-08:30 first calls are exponential after 08:00 with this mean (a spike at
        the stroke of eight, not a flat half-hour). Needs carried from yesterday ring this way.
    early_share : float
        Share of first calls made in the ten minutes before opening (they hear "closed").
    closed_day_share : float
        On closed days, callers who ring anyway, as a share of an average weekday's demand.
    closed_carry_prob : float
        Chance that someone who rang on a closed day rings again on the next open day.
    need_mix_rush, need_mix_later : tuple of 4 floats
        Chances of each of :data:`NEEDS` for first calls before 09:00, and after.
    message_resolves : tuple of 4 floats
        Chance, by need (:data:`NEEDS`), that the practice's IVR message deals with a need's
        first call of the day ("order repeat prescriptions on the NHS App", "test results
        after 2pm", "for urgent problems out of hours ring 111"): the caller hangs up during
        the message (``ivr_abandoned``) and does not ring again about it. England's CBT data
        has about a quarter of all calls ending during the IVR stage (January 2026: 26.5%);
        most such calls are answered by the message, not given up on. Only practices with a
        message (``QueueParams.ivr_s > 0``) resolve calls this way.
    """

    weekly_rate: float = 0.07
    weekday_weights: tuple[float, ...] = (1.0, 0.68, 0.5, 0.62, 0.72)
    holiday_carry: float = 0.35
    seasonal_amplitude: float = 0.15
    peak_day: int = 15
    day_shape: float = 50.0
    intraday_weights: tuple[float, ...] = (
        11.0, 6.0, 4.5, 3.5, 3.0, 2.6, 2.3, 2.0, 1.7, 1.6, 2.2,  # 08:00 .. 13:00
        2.6, 2.4, 2.0, 1.8, 1.6, 1.4, 1.2, 1.0, 0.8, 0.5,  # 13:30 .. 18:00
    )
    rush_mean_s: float = 360.0
    early_share: float = 0.03
    closed_day_share: float = 0.04
    closed_carry_prob: float = 0.6
    need_mix_rush: tuple[float, ...] = (0.75, 0.10, 0.08, 0.07)
    need_mix_later: tuple[float, ...] = (0.42, 0.22, 0.20, 0.16)
    message_resolves: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class BookParams:
    """The appointment book: who works which sessions, slot lengths, fill and DNA rates.

    Attributes
    ----------
    sessions_per_1000 : dict
        Clinical sessions a week per 1,000 patients, by role (``GP``, ``ANP``, ``nurse``,
        ``HCA``, ``pharmacist``, ``paramedic``).
    slot_min : dict
        Slot length by role, minutes (GP 10-15).
    same_day_share : dict
        Share of a session's slots kept for the day (released at 08:00), by role.
    am, pm : tuple of 2 floats
        Session start and end, seconds after local midnight.
    home_visits_per_day : int
        30-minute GP home-visit slots a day (same-day, at 12:15).
    leave_prob : float
        Chance a clinician's session does not run (leave, training): its slots are not offered.
    prebook_fill : dict
        Chance a pre-bookable slot is booked, by role.
    lead_mean_days : float
        Mean booking lead time of pre-bookable slots (exponential, at least one day).
    cancel_prob : float
        Chance a booked pre-bookable appointment is cancelled by the patient.
    dna_prob : dict
        Chance a booked appointment is not attended, by role (GP 0.8-2.2%, others 3.4-6.7%
        in one ICS's published assumptions).
    continuity : float
        Share of pre-bookable GP appointments booked by a patient of that GP's own list.
    modes : dict
        ``(role, category) -> {mode: weight}``: how slots are delivered.
    """

    sessions_per_1000: dict = field(
        default_factory=lambda: {"GP": 2.8, "ANP": 0.8, "nurse": 1.2, "HCA": 0.8, "pharmacist": 0.4, "paramedic": 0.3}
    )
    slot_min: dict = field(
        default_factory=lambda: {"GP": 10, "ANP": 15, "nurse": 15, "HCA": 15, "pharmacist": 20, "paramedic": 20}
    )
    same_day_share: dict = field(
        default_factory=lambda: {"GP": 0.5, "ANP": 0.9, "nurse": 0.1, "HCA": 0.0, "pharmacist": 0.3, "paramedic": 0.8}
    )
    am: tuple[float, float] = (8.5 * 3600.0, 11 * 3600.0 + 50 * 60.0)
    pm: tuple[float, float] = (14.5 * 3600.0, 17.5 * 3600.0)
    home_visits_per_day: int = 1
    leave_prob: float = 0.05
    prebook_fill: dict = field(
        default_factory=lambda: {"GP": 0.95, "ANP": 0.9, "nurse": 0.9, "HCA": 0.85, "pharmacist": 0.85, "paramedic": 0.8}
    )
    lead_mean_days: float = 8.0
    cancel_prob: float = 0.03
    dna_prob: dict = field(
        default_factory=lambda: {"GP": 0.015, "ANP": 0.04, "nurse": 0.05, "HCA": 0.06, "pharmacist": 0.05, "paramedic": 0.03}
    )
    continuity: float = 0.6
    modes: dict = field(
        default_factory=lambda: {
            ("GP", "same_day"): {"telephone": 0.6, "face_to_face": 0.4},
            ("GP", "pre_bookable"): {"face_to_face": 0.65, "telephone": 0.3, "video": 0.05},
            ("ANP", "same_day"): {"face_to_face": 0.6, "telephone": 0.4},
            ("ANP", "pre_bookable"): {"face_to_face": 0.8, "telephone": 0.2},
            ("nurse", "same_day"): {"face_to_face": 1.0},
            ("nurse", "pre_bookable"): {"face_to_face": 0.95, "telephone": 0.05},
            ("HCA", "same_day"): {"face_to_face": 1.0},
            ("HCA", "pre_bookable"): {"face_to_face": 1.0},
            ("pharmacist", "same_day"): {"telephone": 0.8, "face_to_face": 0.2},
            ("pharmacist", "pre_bookable"): {"telephone": 0.7, "face_to_face": 0.25, "video": 0.05},
            ("paramedic", "same_day"): {"home_visit": 0.4, "face_to_face": 0.3, "telephone": 0.3},
            ("paramedic", "pre_bookable"): {"home_visit": 0.5, "face_to_face": 0.5},
        }
    )


@dataclass(frozen=True)
class PracticeParams:
    """One practice of the simulated federation.

    Attributes
    ----------
    practice_id, name : str
        ODS-style code and name (both invented).
    list_size : int
        Registered patients.
    rota : tuple of 5 tuples, optional
        Call handlers per rota interval (half-hours from opening), Monday..Friday. ``None``:
        :func:`default_rota` for the list size.
    demand, queue, book : DemandParams, QueueParams, BookParams
    pcn_code, pcn_name, federation : str
        For the practices registry and GPAD.
    """

    practice_id: str = "A81001"
    name: str = "Example Street Surgery"
    list_size: int = 9000
    rota: tuple[tuple[int, ...], ...] | None = None
    demand: DemandParams = field(default_factory=DemandParams)
    queue: QueueParams = field(default_factory=QueueParams)
    book: BookParams = field(default_factory=BookParams)
    pcn_code: str = "U00001"
    pcn_name: str = "Example Valley PCN"
    federation: str = "Example Valley GP Federation"

    def weekday_rota(self, weekday: int) -> tuple[int, ...]:
        """Handlers per interval on a weekday (0 = Monday)."""
        rota = self.rota if self.rota is not None else default_rota(self.list_size)
        return tuple(rota[weekday])


def default_rota(list_size: int, patients_per_handler: float = 3500.0) -> tuple[tuple[int, ...], ...]:
    """Call handlers per half-hour (08:00-18:30), Monday..Friday, for a list size.

    One handler per ``patients_per_handler`` patients at 8am (rounded, at least one), fewer
    through the day, at least one; the same every weekday (as in many practices, Monday gets no
    more staff for its extra demand).
    """
    peak = max(1, round(list_size / patients_per_handler))
    shape = (1, 1, 1, 0.8, 0.8, 0.7, 0.6, 0.6, 0.5, 0.5, 0.5, 0.6, 0.6, 0.6, 0.6, 0.5, 0.5, 0.5, 0.4, 0.4, 0.3)
    base = tuple(max(1, round(peak * s)) for s in shape)
    return (base,) * 5


#: Demand calibrated to England (see :data:`ENGLAND_QUEUE`): more needs per patient than the
#: plain defaults (the calls come less from redials), a quarter of first calls dealt with by
#: the IVR message, most for prescriptions and enquiries.
ENGLAND_DEMAND = DemandParams(weekly_rate=0.09, message_resolves=(0.12, 0.25, 0.6, 0.5))
#: The queue calibrated to England's CBT figures for January 2026 (590 calls per 1,000 patients
#: a month; 55% answered, 26.5% ended in the IVR, 7.6% call-back requested, 10.9% missed):
#: callers wait longer before hanging up and fewer balk at a long queue than the plain
#: defaults (which gave 35-40% of calls hung up in the queue), call-backs are offered from
#: fifth in the queue.
ENGLAND_QUEUE = QueueParams(patience_median_s=720.0, balk_prob=0.1, callback_from_position=5, callback_accept_prob=0.35)
#: Patients per call handler at 8am with :data:`ENGLAND_DEMAND` (the plain default is 3,500).
ENGLAND_PATIENTS_PER_HANDLER = 2200.0


def default_federation() -> tuple[PracticeParams, ...]:
    """The demo federation: three practices of about 6k, 9k and 12k patients.

    Calibrated to England (:data:`ENGLAND_DEMAND`, :data:`ENGLAND_QUEUE`, a call handler per
    :data:`ENGLAND_PATIENTS_PER_HANDLER` patients at 8am). Their phone systems (for
    :mod:`demand.simulation.demo`) differ, and so do a few behaviours the systems decide: the
    3CX practice (A81002) offers no call-backs (so more of its callers end up missed), the X-on
    one (A81003) offers them from tenth in the queue.
    """
    book10 = BookParams()
    book15 = BookParams(slot_min={**BookParams().slot_min, "GP": 15},
                        sessions_per_1000={**BookParams().sessions_per_1000, "GP": 3.6})

    def practice(pid: str, name: str, size: int, book: BookParams, queue: QueueParams) -> PracticeParams:
        rota = default_rota(size, ENGLAND_PATIENTS_PER_HANDLER)
        return PracticeParams(pid, name, size, rota=rota, demand=ENGLAND_DEMAND, queue=queue, book=book)

    return (
        practice("A81001", "Example Street Surgery", 6000, book10, ENGLAND_QUEUE),
        practice("A81002", "Sample Road Medical Centre", 9000, book15,
                 replace(ENGLAND_QUEUE, ivr_s=20.0, callback_from_position=None)),
        practice("A81003", "Specimen Lane Health Centre", 12000, replace(book10, home_visits_per_day=2),
                 replace(ENGLAND_QUEUE, callback_from_position=10)),
    )


# ============================================================================ calendar


def closed_days(start_date: _dt.date, n_days: int) -> np.ndarray:
    """Which days are closed: weekends and England's bank holidays (bool per day)."""
    days = [start_date + _dt.timedelta(d) for d in range(n_days)]
    bank = bank_holidays("england", start_date, start_date + _dt.timedelta(n_days - 1)) if n_days else {}
    return np.array([d.weekday() >= 5 or d in bank for d in days], dtype=bool)


def seasonal_factor(dates: Sequence[_dt.date], amplitude: float, peak_day: int) -> np.ndarray:
    """The annual cycle of demand (mean 1 over a year): highest around ``peak_day``."""
    doy = np.array([d.timetuple().tm_yday for d in dates], dtype=float)
    return 1.0 + amplitude * np.cos(2 * np.pi * (doy - peak_day) / 365.25)


def daily_demand(params: PracticeParams, start_date: _dt.date, n_days: int) -> pd.DataFrame:
    """Expected new needs per day, before the gamma day effect.

    Returns
    -------
    pandas.DataFrame
        One row per day: ``date``, ``closed`` (bool), ``expected`` (new needs expected on an
        open day, including the share carried from closed weekdays before it; on a closed day,
        the expected number of people who ring anyway).

    Notes
    -----
    ``expected = list_size * weekly_rate * season * w[weekday] / sum(w)`` on an open day,
    plus ``holiday_carry`` times the same for each closed weekday since the last open day.
    """
    d = params.demand
    if len(d.weekday_weights) != 5:
        raise SimulationError("weekday_weights needs five values, Monday to Friday")
    dates = [start_date + _dt.timedelta(i) for i in range(n_days)]
    closed = closed_days(start_date, n_days)
    season = seasonal_factor(dates, d.seasonal_amplitude, d.peak_day)
    w = np.array(d.weekday_weights, dtype=float)
    per_week = params.list_size * d.weekly_rate
    base = np.array([per_week * w[x.weekday()] / w.sum() if x.weekday() < 5 else 0.0 for x in dates]) * season
    expected = np.zeros(n_days)
    carry = 0.0
    average_day = per_week / 5
    for i in range(n_days):
        if closed[i]:
            carry += d.holiday_carry * base[i]  # weekends have base 0: Monday's weight has them
            expected[i] = d.closed_day_share * average_day * season[i]
        else:
            expected[i] = base[i] + carry
            carry = 0.0
    return pd.DataFrame({"date": dates, "closed": closed, "expected": expected})


# ============================================================================ calls over weeks


def _rng(seed: int, practice_id: str, stream: str) -> np.random.Generator:
    """An independent, reproducible stream per (seed, practice, purpose)."""
    key = [int(seed) & 0xFFFFFFFF, zlib.crc32(practice_id.encode()), zlib.crc32(stream.encode())]
    return np.random.default_rng(np.random.SeedSequence(key))


def _first_call_times(d: DemandParams, n: int, rng: np.random.Generator) -> np.ndarray:
    """Seconds after midnight of ``n`` first calls, from the intraday shape."""
    w = np.asarray(d.intraday_weights, dtype=float)
    b = rng.choice(len(w), size=n, p=w / w.sum())
    u = rng.random(n)
    # Truncated exponential inside the first half-hour: the spike at 08:00.
    m = d.rush_mean_s
    rush = -m * np.log1p(-u * (1 - math.exp(-HALF_HOUR / m)))
    offset = np.where(b == 0, rush, u * HALF_HOUR)
    t = 8 * 3600.0 + b * HALF_HOUR + offset
    early = rng.random(n) < d.early_share
    t[early] = 8 * 3600.0 - 600.0 * rng.random(int(early.sum()))
    return t


def _rush_times(d: DemandParams, n: int, rng: np.random.Generator) -> np.ndarray:
    """First calls of needs carried from an earlier day: at the 8am rush."""
    u = rng.random(n)
    t = 8 * 3600.0 - d.rush_mean_s * np.log1p(-u * (1 - math.exp(-2 * HALF_HOUR / d.rush_mean_s)))
    early = rng.random(n) < d.early_share
    t[early] = 8 * 3600.0 - 600.0 * rng.random(int(early.sum()))
    return t


def _needs_for(d: DemandParams, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    rush = np.asarray(d.need_mix_rush, dtype=float)
    later = np.asarray(d.need_mix_later, dtype=float)
    u = rng.random(len(t))
    cum_r, cum_l = np.cumsum(rush / rush.sum()), np.cumsum(later / later.sum())
    k = np.where(t < 9 * 3600.0, np.searchsorted(cum_r, u, side="right"), np.searchsorted(cum_l, u, side="right"))
    return np.asarray(NEEDS, dtype=object)[np.minimum(k, len(NEEDS) - 1)]


def _withheld(params: PracticeParams, seed: int) -> np.ndarray:
    """Which patients withhold their number (fixed per patient, about 3%)."""
    return _rng(seed, params.practice_id, "withheld").random(params.list_size) < 0.03


def simulate_calls(
    params: PracticeParams,
    start_date: _dt.date = DEFAULT_START,
    weeks: int = 56,
    seed: int = 0,
    book: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Simulate every call attempt of one practice over ``weeks`` weeks.

    Parameters
    ----------
    params : PracticeParams
    start_date : datetime.date
        First day simulated (any weekday; the demo starts on a Monday).
    weeks : int
    seed : int
    book : pandas.DataFrame, optional
        The practice's slots from :func:`build_book` for the same arguments (built here when
        omitted): its same-day slots are the capacity callers book into.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`simulate_queue` (``t_s``, ``enter_s``, ``end_s``, ``booked_s``
        replaced by local wall-clock datetimes ``start_local``, ``enter_local``, ``end_local``,
        ``booked_local``, and ``slot`` by the book's ``slot_no``), plus ``practice_id``,
        ``date``, ``call_no`` (0.. in time order) and ``agent_name``. ``caller`` is the
        patient's index in the list (0 .. list_size-1). Sorted by ``start_local``.

    Notes
    -----
    *Demand* is the number of new needs a day (:func:`daily_demand` times a gamma(day_shape)
    day effect, then Poisson). A need's calls are all its attempts; ``is_redial`` marks every
    call after a need's first (including the calls of a need carried over from an earlier
    day). On closed days callers hear the closed message and some ring again on the next
    open day.
    """
    if weeks < 1:
        raise SimulationError("weeks must be at least 1")
    n_days = 7 * int(weeks)
    rng = _rng(seed, params.practice_id, "calls")
    draws = _Draws(_rng(seed, params.practice_id, "queue"))
    d, q = params.demand, params.queue
    if book is None:
        book = build_book(params, start_date, weeks, seed)
    sd = book[book["category"] == "same_day"].sort_values(["date", "start_s", "slot_no"], kind="stable")
    sd_by_date = {day: (g["start_s"].to_numpy(), g["slot_no"].to_numpy()) for day, g in sd.groupby("date", sort=False)}
    demand = daily_demand(params, start_date, n_days)
    day_effect = rng.gamma(d.day_shape, 1.0 / d.day_shape, size=n_days)
    n_new = rng.poisson(demand["expected"].to_numpy() * day_effect)
    withheld = _withheld(params, seed)
    closed_flags = demand["closed"].to_numpy()
    next_need = 0
    carried: list[tuple[int, int, str]] = []  # (need_id, caller, need) ringing the next open day
    out: dict[str, list] = {c: [] for c in QUEUE_COLUMNS}
    out["date"] = []
    for i in range(n_days):
        day = start_date + _dt.timedelta(i)
        n = int(n_new[i])
        taken = {c for _, c, _ in carried}
        pool = rng.choice(params.list_size, size=min(params.list_size, n + len(taken) + 5), replace=False)
        callers = [int(c) for c in pool if int(c) not in taken][:n]
        n = len(callers)
        need_ids = list(range(next_need, next_need + n))
        next_need += n
        if closed_flags[i]:
            # People who ring anyway hear the closed message; some try the next open day.
            w = np.asarray(d.intraday_weights, dtype=float)
            t = 8 * 3600.0 + rng.choice(len(w), size=n, p=w / w.sum()) * HALF_HOUR + rng.random(n) * HALF_HOUR
            needs = _needs_for(d, t, rng)
            again = rng.random(n) < d.closed_carry_prob
            order = np.argsort(t, kind="stable")
            for j in order:
                c = callers[j]
                _append(out, day, need_ids[j], c, needs[j], bool(withheld[c]), False, float(t[j]))
                if again[j]:
                    carried.append((need_ids[j], c, needs[j]))
            continue
        t_new = _first_call_times(d, n, rng)
        needs_new = _needs_for(d, t_new, rng)
        if q.ivr_s > 0 and any(d.message_resolves):
            # The message deals with some first calls: they end in the IVR and never queue.
            chance = np.array([d.message_resolves[NEEDS.index(x)] for x in needs_new], dtype=float)
            done = (rng.random(n) < chance) & (t_new >= q.open_s) & (t_new < q.close_s)
            for j in np.flatnonzero(done):
                c = callers[j]
                _append(out, day, need_ids[j], c, needs_new[j], bool(withheld[c]), False, float(t_new[j]),
                        outcome="ivr_abandoned", length=q.ivr_s * (0.3 + 0.7 * rng.random()))
            keep = ~done
            t_new, needs_new = t_new[keep], needs_new[keep]
            callers = [c for c, k in zip(callers, keep) if k]
            need_ids = [x for x, k in zip(need_ids, keep) if k]
            n = len(callers)
        t_old = _rush_times(d, len(carried), rng)
        arrivals = {
            "t_s": t_new.tolist() + t_old.tolist(),
            "need_id": need_ids + [x[0] for x in carried],
            "caller": callers + [x[1] for x in carried],
            "need": list(needs_new) + [x[2] for x in carried],
            "repeat": [False] * n + [True] * len(carried),
        }
        arrivals["withheld"] = [bool(withheld[c]) for c in arrivals["caller"]]
        arrivals["line"] = [LINES[x] for x in arrivals["need"]]
        slot_t, slot_no = sd_by_date.get(day, (np.zeros(0), np.zeros(0, dtype=np.int64)))
        r = queue_day(arrivals, params.weekday_rota(day.weekday()), q, draws, slot_t)
        r["slot"] = [int(slot_no[s]) if s >= 0 else -1 for s in r["slot"]]
        for c in QUEUE_COLUMNS:
            out[c].extend(r[c])
        out["date"].extend([day] * len(r["t_s"]))
        carried = [
            (nid, c, nd)
            for nid, c, nd, go in zip(r["need_id"], r["caller"], r["need"], r["rings_tomorrow"])
            if go
        ]
    return _calls_frame(out, params)


def _append(out: dict, day, need_id, caller, need, withheld, repeat, t, outcome: str = "closed", length: float = 10.0) -> None:
    """One call that never queues: a closed-day call, or one the IVR message dealt with."""
    row = {
        "need_id": need_id, "caller": caller, "need": need, "line": LINES[need], "withheld": withheld,
        "repeat": repeat, "direction": "inbound", "t_s": t, "enter_s": math.nan, "end_s": t + length,
        "outcome": outcome, "wait_s": math.nan, "talk_s": 0.0, "agent": -1, "position": -1, "attempt": 1,
        "is_redial": repeat, "callback_offer": False, "resolution": "", "slot": -1, "booked_s": math.nan,
        "rings_tomorrow": False,
    }
    for c in QUEUE_COLUMNS:
        out[c].append(row[c])
    out["date"].append(day)


def _calls_frame(out: dict, params: PracticeParams) -> pd.DataFrame:
    df = pd.DataFrame(out)
    midnight = pd.to_datetime(df["date"])
    for s, name in (("t_s", "start_local"), ("enter_s", "enter_local"), ("end_s", "end_local"), ("booked_s", "booked_local")):
        # Whole milliseconds: exports print seconds, and float noise must not differ by platform.
        df[name] = midnight + pd.to_timedelta(np.round(df[s].to_numpy() * 1000.0), unit="ms")
    df = df.drop(columns=["t_s", "enter_s", "end_s", "booked_s"])
    df = df.sort_values(["start_local", "direction"], kind="stable").reset_index(drop=True)
    df.insert(0, "practice_id", params.practice_id)
    df.insert(1, "call_no", np.arange(len(df), dtype=np.int64))
    df["agent_name"] = [_HANDLERS[a % len(_HANDLERS)] if a >= 0 else None for a in df["agent"]]
    df["slot_no"] = df.pop("slot")
    return df


# Call handlers (receptionists / care navigators): obviously invented names.
_HANDLERS: tuple[str, ...] = (
    "Sam Example", "Alex Sample", "Jo Specimen", "Chris Placeholder", "Pat Dummy", "Robin Mockley",
    "Kim Testwell", "Lee Madeup", "Ash Fictional", "Drew Notreal", "Max Pretend", "Val Invented",
)


# ============================================================================ appointment book

_SURNAMES = (
    "Example", "Sample", "Specimen", "Placeholder", "Dummy", "Mockley", "Testwell", "Madeup",
    "Fictional", "Notreal", "Pretend", "Invented", "Imaginary", "Fakeley", "Standin", "Demo",
)
_TITLES = {"GP": "Dr", "ANP": "ANP", "nurse": "Nurse", "HCA": "HCA", "pharmacist": "Pharmacist", "paramedic": "Paramedic"}
_ROLE_ORDER = ("GP", "ANP", "nurse", "HCA", "pharmacist", "paramedic")
_MAX_SESSIONS = {"GP": 8, "ANP": 8, "nurse": 8, "HCA": 8, "pharmacist": 6, "paramedic": 8}
BOOK_COLUMNS: tuple[str, ...] = (
    "practice_id", "slot_no", "date", "start_s", "duration_min", "clinician_no", "clinician", "role",
    "grade", "session", "category", "mode",
)


def clinicians(params: PracticeParams) -> pd.DataFrame:
    """The practice's clinicians and their weekly sessions.

    Returns
    -------
    pandas.DataFrame
        ``clinician_no, clinician`` (an invented name such as ``Dr A Example``), ``role``,
        ``grade`` (GPs: ``partner``, ``salaried``, ``registrar``, ``locum``), ``sessions``
        (tuple of (weekday, "am"/"pm")).

    Notes
    -----
    Sessions a week per role = ``sessions_per_1000 x list_size / 1000``, dealt out to
    full-timers (8 sessions; pharmacists 6) and one part-timer. Sessions off rotate through the
    week, so capacity is about the same every weekday, Monday included (as in most practices:
    the day with the most demand has no more appointments).
    """
    b = params.book
    rows = []
    slots10 = [(wd, half) for wd in range(5) for half in ("am", "pm")]
    k = 0
    for role in _ROLE_ORDER:
        total = round(b.sessions_per_1000.get(role, 0.0) * params.list_size / 1000)
        per = _MAX_SESSIONS[role]
        i = 0
        while total > 0:
            s = min(per, total)
            total -= s
            # Off sessions rotate over the week so cover is even (Monday no better staffed).
            off_order = [(k * 3 + m * 7) % 10 for m in range(10)]
            off = set(off_order[: 10 - s])
            sessions = tuple(slots10[m] for m in range(10) if m not in off)
            if len(sessions) > s:  # part-timers: drop from the end of the week
                sessions = sessions[:s]
            initial = chr(ord("A") + (k % 26))
            name = f"{_TITLES[role]} {initial} {_SURNAMES[k % len(_SURNAMES)]}"
            grade = ""
            if role == "GP":
                grade = ("partner", "partner", "salaried", "registrar", "salaried", "locum")[i % 6]
            rows.append({"clinician_no": k, "clinician": name, "role": role, "grade": grade, "sessions": sessions})
            k += 1
            i += 1
    return pd.DataFrame(rows)


def build_book(params: PracticeParams, start_date: _dt.date = DEFAULT_START, weeks: int = 56, seed: int = 0) -> pd.DataFrame:
    """The practice's appointment slots over the period, before any booking.

    Returns
    -------
    pandas.DataFrame
        One row per slot: ``practice_id, slot_no`` (0.., in date and time order),
        ``date``, ``start_s`` (seconds after local midnight), ``duration_min``,
        ``clinician_no, clinician, role, grade``, ``session`` (``am``/``pm``), ``category``
        (``same_day``/``pre_bookable``), ``mode``.

    Notes
    -----
    No sessions on closed days. A session is lost with ``leave_prob``. Same-day slots are
    spread evenly through each session (every k-th slot), plus ``home_visits_per_day``
    30-minute GP home-visit slots at 12:15.
    """
    b = params.book
    rng = _rng(seed, params.practice_id, "book")
    n_days = 7 * int(weeks)
    closed = closed_days(start_date, n_days)
    staff = clinicians(params)
    gps = staff.index[staff["role"] == "GP"].tolist()
    # One block of arrays per session (and per day's home visits), joined at the end.
    blocks: list[dict] = []
    modes = {key: (np.array(list(v)), np.cumsum(np.asarray(list(v.values()), float)) / sum(v.values())) for key, v in b.modes.items()}
    people = list(staff.itertuples(index=False))
    for i in range(n_days):
        if closed[i]:
            continue
        day = start_date + _dt.timedelta(i)
        wd = day.weekday()
        for half, (t0, t1) in (("am", b.am), ("pm", b.pm)):
            for row in people:
                if (wd, half) not in row.sessions or rng.random() < b.leave_prob:
                    continue
                length = int(b.slot_min[row.role])
                n = int((t1 - t0) // (60 * length))
                share = float(b.same_day_share.get(row.role, 0.0))
                pos = np.arange(n)
                same = np.floor((pos + 1) * share) > np.floor(pos * share)
                u = rng.random(n)
                mode = np.empty(n, dtype=object)
                for cat, mask in (("same_day", same), ("pre_bookable", ~same)):
                    if mask.any():
                        names, cum = modes[(row.role, cat)]
                        mode[mask] = names[np.minimum(np.searchsorted(cum, u[mask], side="right"), len(names) - 1)]
                blocks.append(
                    {
                        "date": [day] * n, "start_s": t0 + 60.0 * length * pos, "duration_min": [length] * n,
                        "clinician_no": [row.clinician_no] * n, "clinician": [row.clinician] * n,
                        "role": [row.role] * n, "grade": [row.grade] * n, "session": [half] * n,
                        "category": np.where(same, "same_day", "pre_bookable"), "mode": mode,
                    }
                )
        hv = b.home_visits_per_day if gps else 0
        for v in range(hv):
            g = staff.loc[gps[(i + v) % len(gps)]]
            blocks.append(
                {
                    "date": [day], "start_s": [12.25 * 3600.0 + 1800.0 * v], "duration_min": [30],
                    "clinician_no": [int(g["clinician_no"])], "clinician": [g["clinician"]], "role": ["GP"],
                    "grade": [g["grade"]], "session": ["am"], "category": ["same_day"], "mode": ["home_visit"],
                }
            )
    names = [c for c in BOOK_COLUMNS if c not in ("practice_id", "slot_no")]
    cols = {c: np.concatenate([np.asarray(bl[c], dtype=object if c not in ("start_s", "duration_min", "clinician_no") else None) for bl in blocks]) if blocks else [] for c in names}
    df = pd.DataFrame(cols)
    df = df.sort_values(["date", "start_s", "clinician_no"], kind="stable").reset_index(drop=True)
    df.insert(0, "practice_id", params.practice_id)
    df.insert(1, "slot_no", np.arange(len(df), dtype=np.int64))
    df["duration_min"] = df["duration_min"].astype(np.int64)
    return df


def same_day_bookings(calls: pd.DataFrame) -> pd.DataFrame:
    """The same-day slots callers booked: ``slot_no, booked_local, caller`` (one row per slot)."""
    b = calls.loc[calls["resolution"] == "booked_same_day", ["slot_no", "booked_local", "caller"]]
    return b.reset_index(drop=True)


def simulate_appointments(
    params: PracticeParams,
    start_date: _dt.date = DEFAULT_START,
    weeks: int = 56,
    seed: int = 0,
    same_day_bookings: pd.DataFrame | None = None,
    book: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The appointment book with its bookings and outcomes.

    Parameters
    ----------
    params, start_date, weeks, seed
        As for :func:`simulate_calls` (use the same values: the same-day slots are shared).
    same_day_bookings : pandas.DataFrame, optional
        ``slot_no, booked_local, caller`` of same-day slots booked by callers
        (:func:`same_day_bookings` of :func:`simulate_calls`). Unbooked same-day slots stay
        available. ``None``: no same-day bookings.
    book : pandas.DataFrame, optional
        :func:`build_book`'s slots (built when omitted).

    Returns
    -------
    pandas.DataFrame
        :func:`build_book`'s columns plus ``start_local`` (naive local datetime), ``status``
        (``available``, ``attended``, ``dna``, ``cancelled``), ``booked_local`` (NaT if never
        booked), ``patient`` (list index; -1 if none), ``usual_gp`` (clinician_no of the
        patient's usual GP; -1 if none).

    Notes
    -----
    Pre-bookable slots are booked with ``prebook_fill[role]``, ``1 + Exponential(lead_mean_days
    - 1)`` days ahead at a random time of the working day; a GP's pre-bookable slot goes to one
    of that GP's own patients with chance ``continuity``, else to anyone. Booked slots are
    cancelled by the patient (pre-bookable, ``cancel_prob``), else not attended with
    ``dna_prob[role]`` (home visits always happen), else attended.
    """
    b = params.book
    if book is None:
        book = build_book(params, start_date, weeks, seed)
    rng = _rng(seed, params.practice_id, "appointments")
    staff = clinicians(params)
    gp_rows = staff[staff["role"] == "GP"]
    n = len(book)
    df = book.copy()
    midnight = pd.to_datetime(df["date"])
    df["start_local"] = midnight + pd.to_timedelta(df["start_s"], unit="s")
    patient = np.full(n, -1, dtype=np.int64)
    booked = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    # Usual GP of each patient, in proportion to the GPs' sessions.
    usual = np.full(params.list_size, -1, dtype=np.int64)
    if len(gp_rows):
        weight = gp_rows["sessions"].map(len).to_numpy(float)
        usual = gp_rows["clinician_no"].to_numpy()[
            _rng(seed, params.practice_id, "usual_gp").choice(len(gp_rows), size=params.list_size, p=weight / weight.sum())
        ]
    by_gp = {g: np.flatnonzero(usual == g) for g in np.unique(usual)}

    if same_day_bookings is not None and len(same_day_bookings):
        pos = df.index.get_indexer(same_day_bookings["slot_no"].to_numpy())  # slot_no == row number
        if (pos < 0).any() or (df["category"].to_numpy()[pos] != "same_day").any():
            raise SimulationError("same_day_bookings name slots that are not same-day slots of this book")
        patient[pos] = same_day_bookings["caller"].to_numpy()
        booked[pos] = pd.to_datetime(same_day_bookings["booked_local"]).to_numpy()

    pre = np.flatnonzero(df["category"].to_numpy() == "pre_bookable")
    roles = df["role"].to_numpy()
    fill = np.array([b.prebook_fill.get(r, 0.9) for r in roles[pre]])
    take = pre[rng.random(len(pre)) < fill]
    lead_days = 1 + np.floor(rng.exponential(max(b.lead_mean_days - 1, 0.1), size=len(take)))
    at = 8 * 3600 + rng.random(len(take)) * 10 * 3600
    booked[take] = (
        midnight.to_numpy()[take] - lead_days.astype("timedelta64[D]") + np.round(at).astype(np.int64).astype("timedelta64[s]")
    ).astype("datetime64[ns]")
    anyone = rng.integers(0, params.list_size, size=len(take))
    own = rng.random(len(take)) < b.continuity
    chosen = anyone.copy()
    clin = df["clinician_no"].to_numpy()
    is_gp = roles[take] == "GP"
    pick = rng.random(len(take))
    for k in np.flatnonzero(is_gp & own):
        mine = by_gp.get(clin[take[k]])
        if mine is not None and len(mine):
            chosen[k] = mine[int(pick[k] * len(mine))]
    patient[take] = chosen

    status = np.where(patient >= 0, "attended", "available").astype(object)
    is_booked = patient >= 0
    cancel = is_booked & (df["category"].to_numpy() == "pre_bookable") & (rng.random(n) < b.cancel_prob)
    dna_p = np.array([b.dna_prob.get(r, 0.05) for r in roles])
    dna = is_booked & ~cancel & (df["mode"].to_numpy() != "home_visit") & (rng.random(n) < dna_p)
    status[cancel] = "cancelled"
    status[dna] = "dna"
    df["status"] = status
    df["booked_local"] = booked
    df["patient"] = patient
    df["usual_gp"] = np.where(patient >= 0, usual[np.maximum(patient, 0)], -1)
    return df


# ============================================================================ GPAD

GPAD_LEAD_BINS: tuple[str, ...] = (
    "Same Day", "1 Day", "2 to 7 Days", "8  to 14 Days", "15  to 21 Days", "22  to 28 Days", "More than 28 Days",
)
_GPAD_MODE = {
    "face_to_face": "Face-to-Face", "telephone": "Telephone", "home_visit": "Home Visit",
    "video": "Video Conference/Online", "unknown": "Unknown",
}


def gpad_monthly(appointments: pd.DataFrame) -> pd.DataFrame:
    """NHS Digital GPAD-style monthly counts of booked appointments (attended or DNA).

    Returns
    -------
    pandas.DataFrame
        ``practice_id, month`` (first day, ``datetime.date``), ``hcp_type`` (``GP`` /
        ``Other Practice staff``), ``appt_mode``, ``national_category``,
        ``time_between_book_and_appt`` (GPAD's bins, with their double spaces),
        ``appt_status`` (``Attended`` / ``DNA``), ``count``.

    Notes
    -----
    GPAD counts appointments, not slots: available and cancelled slots are left out. Lead time
    is whole calendar days between booking and appointment. National categories are assigned
    from role, mode and category: GP home visits "Home Visit"; GP same-day telephone "Clinical
    Triage", other GP same-day "General Consultation Acute", GP pre-bookable "General
    Consultation Routine"; ANP and paramedic same-day "Unplanned Clinical Activity";
    pharmacists "Structured Medication Review"; nurses, HCAs and other pre-bookable "Planned
    Clinics".
    """
    a = appointments[appointments["status"].isin(["attended", "dna"])]
    role, mode, cat = a["role"].to_numpy(), a["mode"].to_numpy(), a["category"].to_numpy()
    national = np.select(
        [
            mode == "home_visit",
            (role == "GP") & (cat == "same_day") & (mode == "telephone"),
            (role == "GP") & (cat == "same_day"),
            role == "GP",
            np.isin(role, ["ANP", "paramedic"]) & (cat == "same_day"),
            role == "pharmacist",
        ],
        [
            "Home Visit", "Clinical Triage", "General Consultation Acute", "General Consultation Routine",
            "Unplanned Clinical Activity", "Structured Medication Review",
        ],
        default="Planned Clinics",
    )
    days = (
        pd.to_datetime(a["start_local"]).dt.normalize() - pd.to_datetime(a["booked_local"]).dt.normalize()
    ).dt.days.to_numpy()
    lead = np.select(
        [days <= 0, days == 1, days <= 7, days <= 14, days <= 21, days <= 28],
        list(GPAD_LEAD_BINS[:6]),
        default=GPAD_LEAD_BINS[6],
    )
    out = pd.DataFrame(
        {
            "practice_id": a["practice_id"].to_numpy(),
            "month": pd.to_datetime(a["start_local"]).dt.to_period("M").dt.start_time.dt.date.to_numpy(),
            "hcp_type": np.where(role == "GP", "GP", "Other Practice staff"),
            "appt_mode": [_GPAD_MODE[m] for m in mode],
            "national_category": national,
            "time_between_book_and_appt": lead,
            "appt_status": np.where(a["status"].to_numpy() == "dna", "DNA", "Attended"),
        }
    )
    keys = list(out.columns)
    return out.groupby(keys, sort=True).size().rename("count").reset_index()
