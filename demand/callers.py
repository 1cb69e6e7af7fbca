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

from .definitions import (
    DAY_NS,
    DEFAULT_TZ,
    HOUR_NS,
    HANDLED_OUTCOMES,
    Layout,
    bucket_keys,
    group_stats,
    outcome_codes,
    prepare,
    wall_ns,
)
__all__ = ["caller_metrics_daily", "caller_metrics_hourly"]

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


def _group_time_order(practice: np.ndarray, day: np.ndarray, caller: np.ndarray, utc: np.ndarray) -> np.ndarray:
    """Order by practice, day, caller, then time (what ``np.lexsort`` would give, 3x faster).

    Sorts by time first (exports are nearly time-ordered, cheap for a stable sort), then stably
    by one packed integer key. Falls back to ``np.lexsort`` when the codes do not fit.
    """
    if len(utc) and (practice.max() < 2**15 and 0 <= day.min() and day.max() < 2**16 and caller.max() < 2**32):
        by_time = np.argsort(utc, kind="stable")
        packed = (practice << 48) | (day << 32) | caller
        return by_time[np.argsort(packed[by_time], kind="stable")]
    return np.lexsort((utc, caller, day, practice))


def _caller_days(prep) -> _CallerDays:
    calls = prep.calls
    inb = (calls["direction"] == "inbound").to_numpy()
    practice, utc, wall = prep.practice[inb], prep.utc[inb], prep.wall[inb]
    success = np.isin(outcome_codes(calls["outcome"])[inb], [OUTCOMES.index(o) for o in HANDLED_OUTCOMES])
    wait = np.nan_to_num(calls["wait_s"].to_numpy(dtype="float64", na_value=np.nan)[inb], nan=0.0)
    reached = np.where(success, utc + np.round(wait * 1e9).astype("int64"), _NEVER)
    caller, _ = pd.factorize(calls["caller_key"].iloc[np.flatnonzero(inb)])
    caller = caller.astype("int64")
    withheld = caller < 0
    # each withheld call is a caller of its own
    caller[withheld] = caller.max(initial=-1) + 1 + np.arange(int(withheld.sum()), dtype="int64")
    day = wall // DAY_NS

    order = _group_time_order(practice, day, caller, utc)
    p, d, c = practice[order], day[order], caller[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (p[1:] != p[:-1]) | (d[1:] != d[:-1]) | (c[1:] != c[:-1])
    starts = np.flatnonzero(new)
    first = order[starts]
    through = (
        np.minimum.reduceat(reached[order], starts) if len(starts) else np.empty(0, dtype="int64")
    )
    return _CallerDays(
        practice=practice,
        utc=utc,
        wall=wall,
        caller=caller,
        g_practice=practice[first],
        g_day_key=day[first] * DAY_NS,
        g_attempts=np.diff(np.append(starts, len(order))),
        g_first_utc=utc[first],
        g_first_wall=wall[first],
        g_through_utc=through,
        g_withheld=withheld[first],
    )


# Public names for the other metrics that follow the same callers (demand.pressure), so that
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
    lay = Layout.build(prep.first_utc, prep.last_utc, np.arange(len(prep.practices)), "D", tz)
    n = lay.n
    row = lay.rows(cd.g_practice, cd.g_day_key)
    through = cd.g_through_utc != _NEVER
    timed = through & ~cd.g_withheld
    ttg = (cd.g_through_utc[timed] - cd.g_first_utc[timed]) / 1e9
    q = group_stats(row[timed], ttg, n, (0.5, 0.9))

    out = pd.DataFrame(
        {
            "practice_id": prep.practices[lay.out_series],
            "date": lay.out_keys.view("M8[ns]").astype("M8[us]"),
            "attempts": np.bincount(row, weights=cd.g_attempts, minlength=n).astype("int64"),
            "unique_callers": np.bincount(row, minlength=n),
        }
    )
    uc = np.where(out["unique_callers"] > 0, out["unique_callers"], np.nan)
    got = np.bincount(row[through], minlength=n)
    out["redial_ratio"] = out["attempts"] / uc
    out["got_through"] = got
    out["share_got_through"] = got / uc
    out["never_got_through"] = out["unique_callers"] - got
    out["time_to_get_through_p50_s"] = q[0.5]
    out["time_to_get_through_p90_s"] = q[0.9]
    for c in ("attempts", "unique_callers", "got_through", "never_got_through"):
        out[c] = out[c].astype("int64")
    out["practice_id"] = out["practice_id"].astype("str")
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
    lay = Layout.build(prep.first_utc, prep.last_utc, np.arange(len(prep.practices)), "h", tz)
    n = lay.n
    attempts = np.bincount(lay.rows(cd.practice, bucket_keys(cd.utc, cd.wall, "h")), minlength=n)
    first_rows = lay.rows(cd.g_practice, bucket_keys(cd.g_first_utc, cd.g_first_wall, "h"))
    new = np.bincount(first_rows, minlength=n)
    wall = wall_ns(lay.out_keys, tz)
    out = pd.DataFrame(
        {
            "practice_id": prep.practices[lay.out_series],
            "date": ((wall // DAY_NS) * DAY_NS).view("M8[ns]").astype("M8[us]"),
            "hour": (wall // HOUR_NS) % 24,
            "interval_start": lay.starts(),
            "attempts": attempts.astype("int64"),
            "new_callers": new.astype("int64"),
            "repeat_attempts": (attempts - new).astype("int64"),
        }
    )
    out["practice_id"] = out["practice_id"].astype("str")
    return out
