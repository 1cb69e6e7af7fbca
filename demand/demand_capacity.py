"""Demand against capacity: callers wanting help beside the same-day slots there were.

NHS England's appointment data holds neither demand nor available capacity; this module links
the phone (callers, :mod:`demand.callers`) to the appointment book (same-day slots,
:mod:`demand.capacity`) per local day and session. Pure functions, no I/O.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from demand.appointments.schema import CATEGORIES
from demand.callers import CALLER_COLUMNS, NEVER_THROUGH, caller_days, caller_metrics_hourly
from demand.capacity import day_exhaustion, local_times
from demand.definitions import DAY_NS, DEFAULT_TZ, HOUR_NS, Layout, MetricsInputError, Prepared, names_at, prepare
from demand.slots import NAT, SESSIONS, PreparedSlots, distinct, prepare_slots, session_split_ns

__all__ = ["demand_capacity", "monday_profile", "PRESSURE_COLUMNS", "MONDAY_PROFILE_COLUMNS"]

_SAME_DAY = CATEGORIES.index("same_day")
_NO_CAPACITY = np.iinfo("int64").min  # "ran out" before the day began: nothing was released

PRESSURE_COLUMNS: tuple[str, ...] = (
    "practice_id",
    "date",
    "session",
    "attempts",
    "unique_callers",
    "new_callers",
    "same_day_released",
    "same_day_booked",
    "pressure_index",
    "same_day_exhausted_at",
    "turned_away_no_capacity",
    "turned_away_not_through",
    "turned_away",
)
MONDAY_PROFILE_COLUMNS: tuple[str, ...] = (
    "practice_id",
    "day_type",
    "hour",
    "days",
    "mean_attempts",
    "mean_new_callers",
    "mean_same_day_slots",
    "mean_same_day_booked",
    "full_weeks",
    "monday_share_callers",
    "monday_share_attempts",
)
DAY_TYPES: tuple[str, ...] = ("Monday", "Tuesday-Friday")


def _inbound_on(calls: pd.DataFrame | Prepared, lines: Iterable[str] | None) -> pd.DataFrame | Prepared:
    """Drop inbound calls on other lines (other rows are kept: they still mark the span)."""
    if lines is None:
        return calls
    if isinstance(calls, Prepared):
        calls = calls.source  # prepared for all lines: start again from the frame
    if "line" not in calls.columns:
        raise MetricsInputError("Calls frame lacks column line, needed to pick lines.")
    lines = [lines] if isinstance(lines, str) else list(lines)
    keep = (calls["direction"] != "inbound").to_numpy(dtype=bool, na_value=True) | calls["line"].isin(lines).to_numpy(
        dtype=bool, na_value=False
    )
    return calls.loc[keep]


def _same_practices(call_practices: np.ndarray, slot_practices: np.ndarray) -> None:
    """Both sources must cover the same practices: one without the other is not zero demand."""
    calls_only = sorted(set(call_practices) - set(slot_practices))
    slots_only = sorted(set(slot_practices) - set(call_practices))
    if calls_only or slots_only:
        parts = []
        if calls_only:
            parts.append(f"calls but no appointment slots for {', '.join(map(str, calls_only))}")
        if slots_only:
            parts.append(f"slots but no calls for {', '.join(map(str, slots_only))}")
        raise MetricsInputError(
            f"Demand against capacity needs both calls and slots for every practice in the period: "
            f"{'; '.join(parts)}. Ingest the missing export or choose another period."
        )


def demand_capacity(
    calls: pd.DataFrame,
    slots: pd.DataFrame,
    tz: str = DEFAULT_TZ,
    session_split=13,
    start=None,
    end=None,
    lines: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Callers wanting help against same-day slots per practice, local day and session.

    Parameters
    ----------
    calls : pandas.DataFrame
        Canonical calls (``practice_id, start_utc, direction, caller_key, outcome, wait_s``;
        ``line`` with ``lines``).
    slots : pandas.DataFrame
        Canonical slots (``practice_id, start_utc, status, category, booked_utc,
        duration_min``) of the same practices.
    tz : str
        IANA timezone whose wall clock defines days and sessions (default ``Europe/London``).
    session_split : int, float, str or datetime.time
        Local time at which ``pm`` starts (default 13:00).
    start, end : str or pandas.Timestamp, optional
        Period, ``start`` inclusive, ``end`` exclusive (naive = local time). Without them each
        practice's period runs from its first call or slot to its last.
    lines : iterable of str, optional
        Count only inbound calls on these lines (e.g. leave out a prescriptions line).

    Returns
    -------
    pandas.DataFrame
        Two rows (``am``, ``pm``) for every ``practice_id`` and local ``date`` of the period,
        zeros where nothing happened, sorted, with :data:`PRESSURE_COLUMNS`: ``attempts,
        unique_callers, new_callers, same_day_released, same_day_booked,
        turned_away_no_capacity, turned_away_not_through, turned_away`` (int64),
        ``pressure_index`` (float) and ``same_day_exhausted_at`` (tz-aware local; the day's,
        repeated on both rows). Empty calls and slots give an empty frame.

    Raises
    ------
    MetricsInputError
        A practice with calls but no slots in the period, or slots but no calls (measuring it
        would report pressure from a missing export), or any input error of the call and slot
        metrics.

    Notes
    -----
    Callers are those of :func:`demand.callers.caller_metrics_daily`: a ``caller_key`` within a
    local day, each withheld call a caller of its own; only inbound calls count.

    - ``attempts``: inbound calls starting in the session.
    - ``unique_callers``: distinct callers with at least one attempt in the session. A caller
      who rang in both sessions counts in both, so ``am + pm`` can exceed the day's unique
      callers.
    - ``new_callers``: callers whose first attempt of the day fell in the session (``am + pm``
      is the day's unique callers).
    - ``same_day_released``: offered (not cancelled) same-day slots starting in the session;
      ``same_day_booked``: those of them booked (:func:`demand.capacity.capacity_metrics`).
    - ``pressure_index = unique_callers / same_day_released``: people wanting help per
      same-day slot. NaN when no same-day slot was released in the session (an infinite or
      undefined ratio would break averages and JSON); the callers are then all visible in
      ``unique_callers`` and, if they got through, in ``turned_away_no_capacity``.
    - ``same_day_exhausted_at``: :func:`demand.capacity.same_day_exhaustion`'s ``exhausted_at``.

    Turned-away demand (an estimate: calls cannot be linked to bookings, since the caller's
    and the patient's pseudonyms differ). Each caller-day is counted at most once, in the
    session of its *first* attempt (so both parts are subsets of ``new_callers``):

    - ``turned_away_no_capacity``: callers who got through (first ``answered`` or
      ``callback``, at call start + ``wait_s``) strictly after the day's last same-day slot was
      booked, so no same-day slot was left to offer them; on a day with no same-day slot
      released at all, every caller who got through. A day whose last booking time is unknown
      counts nobody here (see ``booked_time_unknown`` in
      :func:`demand.capacity.same_day_exhaustion`).
    - ``turned_away_not_through``: callers who never got through that day (they gave up, were
      cut off, or rang when closed).
    - ``turned_away``: their sum.

    It counts people who were not offered a same-day slot because there was none or because
    they never reached anyone; it misses callers who got through in time but were refused for
    other reasons, and includes those who only wanted something else (use ``lines``).
    """
    calls = _inbound_on(calls, lines)
    prep = prepare(calls, CALLER_COLUMNS, tz, start, end)
    ps = prepare_slots(slots, tz, start, end, session_split)
    _same_practices(prep.practices, ps.practices)
    split = session_split_ns(session_split)
    n_p = len(prep.practices)
    first = np.minimum(prep.first_utc, ps.first_utc)
    last = np.maximum(prep.last_utc, ps.last_utc)
    if np.array_equal(first, prep.first_utc) and np.array_equal(last, prep.last_utc):
        lay = prep.layout("D")  # the calls' own days (always so for a given period): shared
    else:
        lay = Layout.build(first, last, np.arange(n_p), "D", tz)
    n_days, n = lay.n, 2 * lay.n

    cd = caller_days(prep)
    a_day = cd.wall // DAY_NS * DAY_NS
    a_row = lay.rows(cd.practice, a_day) * 2 + (cd.wall - a_day >= split)
    attempts = np.bincount(a_row, minlength=n)
    width = int(cd.caller.max(initial=0)) + 1
    pairs = distinct(a_row * width + cd.caller)
    unique_callers = np.bincount(pairs // width, minlength=n)

    g_day_row = lay.rows(cd.g_practice, cd.g_day_key)
    g_row = g_day_row * 2 + (cd.g_first_wall - cd.g_day_key >= split)
    new_callers = np.bincount(g_row, minlength=n)

    same_day = ps.offered & (ps.category == _SAME_DAY)
    s_day_row = lay.rows(ps.practice, ps.day * DAY_NS)
    s_row = s_day_row * 2 + ps.session
    released = np.bincount(s_row[same_day], minlength=n)
    sd_booked = np.bincount(s_row[same_day & ps.booked], minlength=n)

    # When each day ran out: never (int64 max) unless exhausted at a known time; before the
    # day began when it released no same-day slot at all.
    released_day = np.bincount(s_day_row[same_day], minlength=n_days)
    ran_out = np.where(released_day > 0, np.iinfo("int64").max, _NO_CAPACITY)
    exhausted_at = np.full(n_days, NAT, dtype="int64")
    ex = day_exhaustion(ps)
    known = ex.exhausted_utc != NAT
    ex_row = lay.rows(ex.practice[known], ex.day[known] * DAY_NS)
    ran_out[ex_row] = ex.exhausted_utc[known]
    exhausted_at[ex_row] = ex.exhausted_utc[known]

    through = cd.g_through_utc != NEVER_THROUGH
    no_capacity = through & (cd.g_through_utc > ran_out[g_day_row])
    ta_cap = np.bincount(g_row[no_capacity], minlength=n)
    ta_not = np.bincount(g_row[~through], minlength=n)

    day_idx = np.repeat(np.arange(n_days), 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        pressure = np.where(released > 0, unique_callers / np.where(released > 0, released, 1), np.nan)
    def counts(x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype="int64")

    return pd.DataFrame(
        {
            "practice_id": names_at(prep.practices, lay.out_series[day_idx]),
            "date": lay.out_keys[day_idx].view("M8[ns]").astype("M8[us]"),
            "session": names_at(SESSIONS, np.tile(np.arange(len(SESSIONS)), n_days)),
            "attempts": counts(attempts),
            "unique_callers": counts(unique_callers),
            "new_callers": counts(new_callers),
            "same_day_released": counts(released),
            "same_day_booked": counts(sd_booked),
            "pressure_index": pressure.astype("float64"),
            "same_day_exhausted_at": local_times(exhausted_at[day_idx], tz),
            "turned_away_no_capacity": counts(ta_cap),
            "turned_away_not_through": counts(ta_not),
            "turned_away": counts(ta_cap + ta_not),
        }
    )


def _slot_hour_sums(ps: PreparedSlots, day_types: np.ndarray, d0: int) -> tuple[np.ndarray, np.ndarray]:
    """Per practice, day type and wall hour: same-day slots starting, same-day slots booked.

    ``day_types[p, day - d0]`` is the day type (0 Monday, 1 Tue–Fri, -1 not counted).
    """
    n_p, n_d = day_types.shape
    same_day = ps.offered & (ps.category == _SAME_DAY)
    shape = (n_p, len(DAY_TYPES), 24)

    def sums(practice: np.ndarray, wall: np.ndarray) -> np.ndarray:
        d = wall // DAY_NS - d0
        inside = (d >= 0) & (d < n_d)
        practice, wall, d = practice[inside], wall[inside], d[inside]
        t = day_types[practice, d]
        keep = t >= 0
        hour = (wall - (wall // DAY_NS) * DAY_NS) // HOUR_NS
        flat = (practice[keep] * len(DAY_TYPES) + t[keep]) * 24 + hour[keep]
        return np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape)

    booked = same_day & ps.booked & (ps.booked_wall != NAT)
    return sums(ps.practice[same_day], ps.wall[same_day]), sums(ps.practice[booked], ps.booked_wall[booked])


def monday_profile(
    calls: pd.DataFrame,
    slots: pd.DataFrame,
    tz: str = DEFAULT_TZ,
    start=None,
    end=None,
    exclude_dates: Iterable | None = None,
    lines: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Mondays against the other weekdays, hour by hour, and Monday's share of the week.

    Parameters
    ----------
    calls : pandas.DataFrame
        Canonical calls (as for :func:`demand.callers.caller_metrics_hourly`).
    slots : pandas.DataFrame
        Canonical slots of the same practices.
    tz : str
        IANA timezone of the wall clock (default ``Europe/London``).
    start, end : str or pandas.Timestamp, optional
        Period (naive = local time); without them each practice's runs from its first call or
        slot to its last.
    exclude_dates : iterable of date-like, optional
        Local dates to leave out, e.g. bank holidays (``holidays.UK(subdiv="ENG")``): they are
        not averaged, and a week containing one is not used for the shares.
    lines : iterable of str, optional
        Count only inbound calls on these lines.

    Returns
    -------
    pandas.DataFrame
        48 rows per practice: ``day_type`` (``Monday``, ``Tuesday-Friday``) × wall-clock
        ``hour`` 0–23, with :data:`MONDAY_PROFILE_COLUMNS`: ``days`` (how many such days were
        averaged, int64), ``mean_attempts``, ``mean_new_callers``, ``mean_same_day_slots``,
        ``mean_same_day_booked`` (float, NaN when ``days`` is 0), and per practice (repeated on
        its rows) ``full_weeks`` (int64), ``monday_share_callers``, ``monday_share_attempts``.

    Raises
    ------
    MetricsInputError
        As :func:`demand_capacity` (a practice with calls but no slots, or the reverse).

    Notes
    -----
    - Means are per day of the type in the period, days with no calls counting as zeros:
      ``mean_x(Monday, h) = sum of x in hour h over the period's Mondays / number of Mondays``.
    - ``mean_attempts``, ``mean_new_callers``: inbound calls, and callers ringing for the first
      time that day, starting in the hour (:func:`demand.callers.caller_metrics_hourly`).
    - ``mean_same_day_slots``: offered same-day slots *starting* in the hour;
      ``mean_same_day_booked``: same-day slots *booked* in the hour (by ``booked_utc``, on that
      day), which shows when capacity is taken.
    - Monday's share of the week: over the period's *full* weeks (Monday to Sunday all inside
      the practice's period, none excluded), the Mondays' unique callers (``new_callers`` summed
      over the day) divided by the whole weeks'; the same with attempts. NHS England's guidance
      puts Monday at about 28% of the week's demand. NaN without a full week or demand.
    - Hours are wall-clock hours, so on a DST day the repeated hour's calls fall in one
      ``hour`` and the skipped hour has none.
    """
    calls = _inbound_on(calls, lines)
    hourly = caller_metrics_hourly(calls, tz, start, end)
    ps = prepare_slots(slots, tz, start, end)
    h_practice, names = pd.factorize(hourly["practice_id"], sort=True)
    names = np.asarray(names, dtype=object)
    _same_practices(names, ps.practices)
    n_p = len(names)
    if n_p == 0:
        return pd.DataFrame({c: [] for c in MONDAY_PROFILE_COLUMNS})

    h_practice = h_practice.astype("int64")
    h_day = hourly["date"].to_numpy().astype("M8[D]").astype("int64")
    s_first = np.full(n_p, np.iinfo("int64").max, dtype="int64")
    s_last = np.full(n_p, np.iinfo("int64").min, dtype="int64")
    np.minimum.at(s_first, ps.practice, ps.day)
    np.maximum.at(s_last, ps.practice, ps.day)
    first, last = s_first.copy(), s_last.copy()
    np.minimum.at(first, h_practice, h_day)
    np.maximum.at(last, h_practice, h_day)
    d0 = int(first.min())
    n_d = int(last.max()) - d0 + 1

    days = np.arange(n_d) + d0
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    excluded = np.zeros(n_d, dtype=bool)
    if exclude_dates is not None:
        ex = pd.to_datetime(pd.Index(list(exclude_dates))).to_numpy().astype("M8[D]").astype("int64") - d0
        excluded[ex[(ex >= 0) & (ex < n_d)]] = True
    in_span = (days[None, :] >= first[:, None]) & (days[None, :] <= last[:, None])
    day_type = np.where(weekday == 0, 0, np.where(weekday <= 4, 1, -1))
    types = np.where(in_span & ~excluded[None, :], day_type[None, :], -1)
    n_days = np.stack([(types == t).sum(axis=1) for t in range(len(DAY_TYPES))], axis=1)

    keep = types[h_practice, h_day - d0] >= 0
    t = types[h_practice, h_day - d0][keep]
    flat = (h_practice[keep] * len(DAY_TYPES) + t) * 24 + hourly["hour"].to_numpy()[keep]
    size = n_p * len(DAY_TYPES) * 24

    def hour_sum(col: str) -> np.ndarray:
        return np.bincount(flat, weights=hourly[col].to_numpy(dtype="float64")[keep], minlength=size)

    slots_h, booked_h = _slot_hour_sums(ps, types, d0)
    den = np.repeat(n_days.ravel(), 24).astype("float64")
    den = np.where(den > 0, den, np.nan)

    # Monday's share over full weeks: every day of the Monday-to-Sunday week in the span and
    # not excluded.
    monday0 = d0 - (d0 + 3) % 7
    week = (days - weekday - monday0) // 7  # week of each day, 0 = the week d0 falls in
    usable = (in_span & ~excluded[None, :]).astype("int64")
    n_w = int(week.max()) + 1
    full = usable @ (week[:, None] == np.arange(n_w)[None, :]).astype("int64") == 7
    in_full = full[h_practice, week[h_day - d0]]
    monday = weekday[h_day - d0] == 0

    def share(col: str) -> np.ndarray:
        v = hourly[col].to_numpy(dtype="float64")
        tot = np.bincount(h_practice[in_full], weights=v[in_full], minlength=n_p)
        mon = np.bincount(h_practice[in_full & monday], weights=v[in_full & monday], minlength=n_p)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(tot > 0, mon / np.where(tot > 0, tot, 1), np.nan)

    rows_p = np.repeat(np.arange(n_p), len(DAY_TYPES) * 24)
    out = pd.DataFrame(
        {
            "practice_id": names_at(names, rows_p),
            "day_type": names_at(DAY_TYPES, np.tile(np.repeat(np.arange(len(DAY_TYPES)), 24), n_p)),
            "hour": np.tile(np.arange(24, dtype="int64"), n_p * len(DAY_TYPES)),
            "days": np.repeat(n_days.ravel(), 24).astype("int64"),
            "mean_attempts": hour_sum("attempts") / den,
            "mean_new_callers": hour_sum("new_callers") / den,
            "mean_same_day_slots": slots_h.ravel() / den,
            "mean_same_day_booked": booked_h.ravel() / den,
            "full_weeks": full.sum(axis=1)[rows_p].astype("int64"),
            "monday_share_callers": share("new_callers")[rows_p],
            "monday_share_attempts": share("attempts")[rows_p],
        }
    )
    return out
