"""Caller metrics: people, not calls. How many tried, how often they redialled, who got through.

The NHS collection counts calls; a patient who rings twelve times at 8am is twelve calls in it.
These metrics follow the caller's pseudonym (``caller_key``) through the local day instead.
Pure functions over canonical calls (:mod:`telephony.schema`), no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from telephony.schema import OUTCOMES

from demand.definitions import (
    DAY_NS,
    DEFAULT_TZ,
    HOUR_NS,
    HANDLED_OUTCOMES,
    Prepared,
    _check_columns,
    bucket_keys,
    group_stats,
    in_period,
    names_at,
    prepare,
    wall_ns,
)
__all__ = ["caller_metrics_daily", "caller_metrics_hourly", "time_to_get_through"]

_COLUMNS = ("practice_id", "start_utc", "direction", "caller_key", "outcome", "wait_s")
_NEVER = np.iinfo("int64").max


@dataclass
class _CallerDays:
    """Inbound attempts, and one entry per caller and local day (arrays, practice-day sorted)."""

    practice: np.ndarray  # per attempt
    utc: np.ndarray
    wall: np.ndarray
    caller: np.ndarray  # per attempt: caller code, each withheld call a code of its own
    g_practice: np.ndarray  # per caller-day
    g_day_key: np.ndarray  # naive local midnight, ns
    g_attempts: np.ndarray
    g_first_utc: np.ndarray
    g_first_wall: np.ndarray
    g_through_utc: np.ndarray  # _NEVER when the caller never got through that day
    g_withheld: np.ndarray


def _group_order(practice: np.ndarray, day: np.ndarray, caller: np.ndarray) -> np.ndarray:
    """An order that puts each caller's day together (by practice, day, caller).

    One sort of a packed integer key; within a caller's day the calls come in no particular
    order, since all that is taken of them are counts and minima. Falls back to ``np.lexsort``
    when the codes do not fit in 64 bits.
    """
    if len(day) and (practice.max() < 2**15 and 0 <= day.min() and day.max() < 2**16 and caller.max() < 2**32):
        return np.argsort((practice << 48) | (day << 32) | caller)
    return np.lexsort((caller, day, practice))


def _caller_days(prep) -> _CallerDays:
    """The callers' days of prepared calls (computed once per :class:`~demand.definitions.Prepared`)."""
    return prep.cached("caller_days", lambda: _compute_caller_days(prep))


def _compute_caller_days(prep) -> _CallerDays:
    inb = prep.inbound
    practice, utc, wall = prep.practice[inb], prep.utc[inb], prep.wall[inb]
    success = np.isin(prep.outcome[inb], [OUTCOMES.index(o) for o in HANDLED_OUTCOMES])
    wait = np.nan_to_num(prep.floats("wait_s")[inb], nan=0.0)
    reached = np.where(success, utc + np.round(wait * 1e9).astype("int64"), _NEVER)
    caller = prep.caller[inb]  # a copy: withheld calls get codes of their own below
    withheld = caller < 0
    # each withheld call is a caller of its own
    caller[withheld] = caller.max(initial=-1) + 1 + np.arange(int(withheld.sum()), dtype="int64")
    day = wall // DAY_NS

    order = _group_order(practice, day, caller)
    p, d, c = practice[order], day[order], caller[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (p[1:] != p[:-1]) | (d[1:] != d[:-1]) | (c[1:] != c[:-1])
    starts = np.flatnonzero(new)
    one = order[starts]  # any call of the caller's day: practice, day, caller are the same
    if len(starts):
        first_utc = np.minimum.reduceat(utc[order], starts)
        through = np.minimum.reduceat(reached[order], starts)
    else:
        first_utc = through = np.empty(0, dtype="int64")
    return _CallerDays(
        practice=practice,
        utc=utc,
        wall=wall,
        caller=caller,
        g_practice=practice[one],
        g_day_key=day[one] * DAY_NS,
        g_attempts=np.diff(np.append(starts, len(order))),
        g_first_utc=first_utc,
        g_first_wall=wall_ns(first_utc, prep.tz),  # the wall clock is a function of the instant
        g_through_utc=through,
        g_withheld=withheld[one],
    )


# Public names for the other metrics that follow the same callers (demand.demand_capacity), so that
# "a caller" is defined once.
CALLER_COLUMNS = _COLUMNS
NEVER_THROUGH = _NEVER
CallerDays = _CallerDays
caller_days = _caller_days


def caller_metrics_daily(calls: pd.DataFrame, tz: str = DEFAULT_TZ, start=None, end=None) -> pd.DataFrame:
    """Callers per practice and local day: attempts, unique callers, redials, who got through.

    Parameters
    ----------
    calls : pandas.DataFrame
        Canonical calls (``practice_id, start_utc, direction, caller_key, outcome, wait_s``),
        one practice or several. Only inbound calls are counted.
    tz : str
        IANA timezone whose calendar days are used (default ``Europe/London``).
    start, end : str or pandas.Timestamp, optional
        Period, ``start`` inclusive, ``end`` exclusive (naive = local time). Without them each
        practice's period runs from its first to its last call. Every day of it is reported.

    Returns
    -------
    pandas.DataFrame
        One row per ``practice_id`` and ``date`` (naive local calendar date) with ``attempts,
        unique_callers, got_through, never_got_through`` (int64), ``redial_ratio,
        share_got_through, time_to_get_through_p50_s, time_to_get_through_p90_s`` (float, NaN
        when undefined). Days without calls are present with zeros.

    Notes
    -----
    - A *caller* is a ``caller_key`` within one local day. A withheld number (null key) cannot
      be followed, so each withheld call is a caller of its own.
    - Callers are tracked within the local day only: someone who rings at 23:55 and again at
      00:05 is a caller on each day, and a day's figures never depend on the day before.
    - ``attempts``: inbound calls (all outcomes, closed and IVR hang-ups included).
    - ``unique_callers``: distinct callers. ``redial_ratio = attempts / unique_callers``.
    - ``got_through``: callers with at least one ``answered`` or ``callback`` call that day (a
      booked callback counts: the caller's request was taken). ``never_got_through =
      unique_callers - got_through``; ``share_got_through = got_through / unique_callers``.
    - Time to get through, per caller who got through: from the start of their first attempt
      of the day to the moment they first got through, that is the start of the first
      successful call plus its ``wait_s`` (queue time before the answer or the callback offer;
      0 if unknown). It includes the redials and the final wait. Median and 90th percentile
      (linear interpolation) are over *identified* callers only: a withheld call has no
      history, and counting it as 0 s would flatter the figure.
    """
    prep = prepare(calls, _COLUMNS, tz, start, end)
    cd = _caller_days(prep)
    lay = prep.layout("D")
    n = lay.n
    row = lay.rows(cd.g_practice, cd.g_day_key)
    through = cd.g_through_utc != _NEVER
    timed = through & ~cd.g_withheld
    ttg = (cd.g_through_utc[timed] - cd.g_first_utc[timed]) / 1e9
    q = group_stats(row[timed], ttg, n, (0.5, 0.9))

    attempts = np.bincount(row, weights=cd.g_attempts, minlength=n).astype("int64")
    unique = np.bincount(row, minlength=n).astype("int64")
    uc = np.where(unique > 0, unique, np.nan)
    got = np.bincount(row[through], minlength=n).astype("int64")
    out = pd.DataFrame(
        {
            "practice_id": names_at(prep.practices, lay.out_series),
            "date": lay.out_keys.view("M8[ns]").astype("M8[us]"),
            "attempts": attempts,
            "unique_callers": unique,
            "redial_ratio": attempts / uc,
            "got_through": got,
            "share_got_through": got / uc,
            "never_got_through": unique - got,
            "time_to_get_through_p50_s": q[0.5],
            "time_to_get_through_p90_s": q[0.9],
        }
    )
    return out


def caller_metrics_hourly(calls: pd.DataFrame, tz: str = DEFAULT_TZ, start=None, end=None) -> pd.DataFrame:
    """New callers against repeat attempts per practice and local hour.

    Parameters
    ----------
    calls : pandas.DataFrame
        Canonical calls (``practice_id, start_utc, direction, caller_key, outcome, wait_s``).
    tz : str
        IANA timezone of the wall clock (default ``Europe/London``).
    start, end : str or pandas.Timestamp, optional
        Period, ``start`` inclusive, ``end`` exclusive (naive = local time). Every hour of it is
        reported, with zeros where there were no calls.

    Returns
    -------
    pandas.DataFrame
        One row per ``practice_id`` and local hour: ``date`` (naive local date), ``hour`` (the
        wall-clock hour, 0–23), ``interval_start`` (tz-aware local start of the hour, which
        tells the two 01:00 hours of the autumn change apart), ``attempts``, ``new_callers``,
        ``repeat_attempts`` (int64).

    Notes
    -----
    - ``attempts``: inbound calls starting in the hour.
    - ``new_callers``: callers whose first attempt *of the local day* started in the hour (a
      caller as in :func:`caller_metrics_daily`: a pseudonym within a day, each withheld call
      its own caller, so a withheld call is always new).
    - ``repeat_attempts = attempts - new_callers``: redials by someone who already rang that
      day. Summed over a day, ``new_callers`` is the day's ``unique_callers``.
    - Hours follow the wall clock: the spring DST day has 23 rows, the autumn one 25.
    """
    prep = prepare(calls, _COLUMNS, tz, start, end)
    cd = _caller_days(prep)
    lay = prep.layout("h")
    n = lay.n
    attempts = np.bincount(prep.rows("h")[prep.inbound], minlength=n)
    first_rows = lay.rows(cd.g_practice, bucket_keys(cd.g_first_utc, cd.g_first_wall, "h"))
    new = np.bincount(first_rows, minlength=n)
    wall = wall_ns(lay.out_keys, tz)
    out = pd.DataFrame(
        {
            "practice_id": names_at(prep.practices, lay.out_series),
            "date": ((wall // DAY_NS) * DAY_NS).view("M8[ns]").astype("M8[us]"),
            "hour": (wall // HOUR_NS) % 24,
            "interval_start": lay.starts(),
            "attempts": attempts.astype("int64"),
            "new_callers": new.astype("int64"),
            "repeat_attempts": (attempts - new).astype("int64"),
        }
    )
    return out


def time_to_get_through(calls, tz: str = DEFAULT_TZ, start=None, end=None) -> dict:
    """Time to get through pooled over every identified caller-day of a period.

    Parameters
    ----------
    calls : pandas.DataFrame or demand.definitions.Prepared
        Canonical calls (``practice_id, start_utc, direction, caller_key, outcome, wait_s``),
        or calls prepared for ``tz`` (:func:`demand.definitions.prepare_calls`), whose
        callers' days are then reused as they are (prepared for a period, they hold that
        period's calls only).
    tz : str
        IANA timezone whose calendar days are used (default ``Europe/London``).
    start, end : str, datetime.date or pandas.Timestamp, optional
        Period, ``start`` inclusive, ``end`` exclusive (naive = local time): the caller-days
        whose first attempt starts in it are pooled. Open where omitted.

    Returns
    -------
    dict
        ``median`` and ``p90`` (seconds, float, NaN when nobody identified got through) and
        ``n`` (int: identified callers who got through, the caller-days pooled).

    Notes
    -----
    The definition of :func:`caller_metrics_daily`: a caller is a ``caller_key`` within one
    local day; their time to get through runs from the start of their first attempt of the
    day to the start of their first ``answered`` or ``callback`` call plus its ``wait_s``.
    Withheld calls are left out. Quantiles interpolate linearly. Pooled, not an average of
    daily figures: a period's median is the median of all its callers' times. Several
    practices' callers are pooled together.

    Examples
    --------
    >>> t = time_to_get_through(calls, start="2026-03-02", end="2026-03-09")  # doctest: +SKIP
    >>> t["median"], t["p90"], t["n"]  # doctest: +SKIP
    """
    if isinstance(calls, Prepared) and calls.tz == tz:
        _check_columns(calls.calls, _COLUMNS)
        prep = calls
    else:
        prep = prepare(calls, _COLUMNS, tz)
    cd = _caller_days(prep)
    ok = (cd.g_through_utc != _NEVER) & ~cd.g_withheld
    ok &= in_period(cd.g_first_utc, start, end, tz)
    secs = (cd.g_through_utc[ok] - cd.g_first_utc[ok]) / 1e9
    q = group_stats(np.zeros(len(secs), dtype="int64"), secs, 1, (0.5, 0.9))
    return {"median": float(q[0.5][0]), "p90": float(q[0.9][0]), "n": int(len(secs))}
