"""Arrival series of shapes the demo does not have, each with the truth it was made from.

The demo's three practices are all English GPs open Mon–Fri 08:00–18:30. Forecasting must also
hold on series that are open at night, busiest at weekends, full of holes, or that change level.
Each generator here is pure and seeded (a :class:`numpy.random.Generator` from ``seed``) and
returns a :class:`Shape`: the ``ds, y`` frame a user could pass as ``--input`` and the facts a
test can check a learner against (which weekday-and-period slots are open, which dates are
holidays, which open days are missing from the data).

Glossary
--------
============== ================================================================================
term           meaning
============== ================================================================================
slot           a ``(weekday, minute)`` pair: Monday = 0, minute after local midnight at which
               a period starts (``(0, 480)`` is Monday 08:00).
open slots     every slot in which the service takes calls (all slots for a 24/7 service).
holidays       dates the service is shut although their weekday is open (bank holidays).
gaps           open days whose rows are missing from the data (an export that lost a day):
               not closures, the service was open.
============== ================================================================================

Notes
-----
``ds`` is naive local wall-clock time, as everywhere in forecasting. Counts are Poisson around a
smooth mean with a day-to-day gamma factor (over-dispersion, as in real arrivals); every open
slot's mean is at least a few calls, so an open slot with no demand four weeks running would be
a one-in-many-thousands accident, and a learner that calls it closed is wrong.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from telephony.calendar import bank_holidays

__all__ = ["Shape", "always_open_night_trough", "weekend_busy", "weekday_gp_with_gaps", "gp_level_shift", "SHAPES"]

_DAY_MIN = 24 * 60


@dataclass(frozen=True)
class Shape:
    """A generated series and the truth it was generated from.

    Attributes
    ----------
    name : str
        Short label (``"24/7"``, ``"weekend-busy"``, ...).
    frame : pandas.DataFrame
        ``ds`` (naive local period start, ``datetime64[ns]``) and ``y`` (float counts), sorted.
    freq : str
        Period length (``"h"`` or ``"30min"``).
    open_slots : frozenset of (int, int)
        The ``(weekday, minute)`` slots in which the service is open.
    hours : str
        The same opening hours as text (``"always"`` or e.g. ``"Mon-Fri 08:00-18:30"``).
    holidays : tuple of datetime.date
        Dates within the series on which the service closed although the weekday is open.
    nation : str or None
        Whose bank holidays the service keeps (``"england"``), ``None`` when it keeps none.
    gaps : tuple of datetime.date
        Open days whose rows were removed (data gaps, not closures).
    closed_rows : bool
        Whether closed periods appear as rows with ``y = 0`` (``True``) or not at all.
    shift_at : pandas.Timestamp or None
        Where a level shift starts (``None``: no shift).
    shift_factor : float
        Demand after ``shift_at`` relative to before (1.0: no shift).
    """

    name: str
    frame: pd.DataFrame
    freq: str
    open_slots: frozenset
    hours: str
    holidays: tuple = ()
    nation: str | None = None
    gaps: tuple = ()
    closed_rows: bool = False
    shift_at: pd.Timestamp | None = None
    shift_factor: float = 1.0


def _grid(start: str, weeks: int, freq: str) -> pd.DatetimeIndex:
    first = pd.Timestamp(start).normalize()
    return pd.date_range(first, first + pd.Timedelta(weeks=weeks), freq=freq, inclusive="left")


def _slots(hours: dict[int, tuple[int, int]], step_min: int) -> frozenset:
    """Open slots of per-weekday ``(open, close)`` minutes: a period is open if it overlaps."""
    out = set()
    for wd, (a, b) in hours.items():
        for m in range(0, _DAY_MIN, step_min):
            if m < b and m + step_min > a:
                out.add((wd, m))
    return frozenset(out)


def _counts(rng: np.random.Generator, mean: np.ndarray, days: np.ndarray, dispersion: float) -> np.ndarray:
    """Poisson counts around ``mean`` times one gamma factor per day (mean 1)."""
    uniq, inv = np.unique(days, return_inverse=True)
    shape = 1.0 / dispersion
    factor = rng.gamma(shape, 1.0 / shape, size=len(uniq))[inv]
    return rng.poisson(mean * factor).astype(float)


def _minute(idx: pd.DatetimeIndex) -> np.ndarray:
    return (idx.hour * 60 + idx.minute).to_numpy()


def always_open_night_trough(seed: int = 0, weeks: int = 20, start: str = "2025-09-01") -> Shape:
    """An hourly 24/7 service, like an emergency department: a night trough, no closures.

    Parameters
    ----------
    seed : int
        Seed of the random generator.
    weeks : int
        Whole weeks of history (from ``start``, a Monday by default).
    start : str
        First date.

    Returns
    -------
    Shape
        Every hour of every day open; bank holidays open (``holidays`` empty, ``nation`` None).

    Notes
    -----
    The mean runs from about 2.5 arrivals an hour at 04:00 to about 11 at 11:00–19:00, Mondays
    about 10% busier and weekend nights busier than weekday nights (ED-like).
    """
    rng = np.random.default_rng(seed)
    idx = _grid(start, weeks, "h")
    hour = idx.hour.to_numpy()
    wd = idx.day_of_week.to_numpy()
    # Smooth daily cycle with its trough at 04:00 and its peak mid-afternoon.
    daily = 6.5 - 4.2 * np.cos(2 * np.pi * (hour - 4) / 24) + 0.6 * np.sin(4 * np.pi * (hour - 4) / 24)
    weekly = np.where(wd == 0, 1.10, 1.0) * np.where((wd >= 5) & ((hour < 6) | (hour >= 22)), 1.25, 1.0)
    days = idx.normalize().asi8
    y = _counts(rng, daily * weekly, days, dispersion=0.01)
    frame = pd.DataFrame({"ds": idx.as_unit("ns"), "y": y})
    return Shape(
        name="24/7",
        frame=frame,
        freq="h",
        open_slots=_slots({d: (0, _DAY_MIN) for d in range(7)}, 60),
        hours="always",
    )


def weekend_busy(seed: int = 0, weeks: int = 20, start: str = "2025-09-01") -> Shape:
    """A half-hourly service open every day 08:00–20:00, busiest on Sunday (a bank's call centre).

    Parameters
    ----------
    seed, weeks, start
        As :func:`always_open_night_trough`.

    Returns
    -------
    Shape
        Open 08:00–20:00 all seven days, bank holidays open; closed periods (night) are rows
        with ``y = 0`` (an export that fills the whole day).

    Notes
    -----
    Day totals relative to Monday: Tue–Thu 0.9, Fri 1.0, Sat 1.3, Sun 1.5; the intraday curve
    peaks late morning on weekdays and early afternoon at weekends.
    """
    rng = np.random.default_rng(seed)
    idx = _grid(start, weeks, "30min")
    wd = idx.day_of_week.to_numpy()
    minute = _minute(idx)
    open_ = (minute >= 8 * 60) & (minute < 20 * 60)
    day_level = np.array([1.0, 0.9, 0.9, 0.9, 1.0, 1.3, 1.5])[wd]
    peak = np.where(wd >= 5, 13.5 * 60, 11 * 60)
    intraday = 4.0 + 10.0 * np.exp(-0.5 * ((minute - peak) / 150.0) ** 2)
    mean = np.where(open_, day_level * intraday, 0.0)
    y = _counts(rng, mean, idx.normalize().asi8, dispersion=0.01)
    frame = pd.DataFrame({"ds": idx.as_unit("ns"), "y": y})
    return Shape(
        name="weekend-busy",
        frame=frame,
        freq="30min",
        open_slots=_slots({d: (8 * 60, 20 * 60) for d in range(7)}, 30),
        hours="Mon-Sun 08:00-20:00",
        closed_rows=True,
    )


def _gp_mean(idx: pd.DatetimeIndex, scale: float) -> np.ndarray:
    """Half-hourly GP demand: the 08:00 rush, Monday busiest, open Mon–Fri 08:00–18:30."""
    wd = idx.day_of_week.to_numpy()
    minute = _minute(idx)
    day_level = np.array([1.0, 0.82, 0.7, 0.72, 0.75, 0.0, 0.0])[wd]
    rush = 14.0 * np.exp(-(minute - 8 * 60) / 45.0) * (minute >= 8 * 60)
    base = 4.0 + 2.0 * np.exp(-0.5 * ((minute - 14 * 60) / 90.0) ** 2)
    open_ = (minute >= 8 * 60) & (minute < 18 * 60 + 30)
    return np.where(open_, scale * day_level * (rush + base), 0.0)


def _holiday_dates(nation: str, idx: pd.DatetimeIndex) -> tuple[_dt.date, ...]:
    first, last = idx[0].date(), idx[-1].date()
    return tuple(d for d in sorted(bank_holidays(nation, first, last)) if d.weekday() < 5)


def weekday_gp_with_gaps(
    seed: int = 0, weeks: int = 20, start: str = "2025-09-01", n_gaps: int = 3
) -> Shape:
    """A half-hourly GP-like series with NO rows for closed periods and a few lost open days.

    Parameters
    ----------
    seed, weeks, start
        As :func:`always_open_night_trough`.
    n_gaps : int
        How many open weekdays to drop from the data (chosen at random from weeks 2 onwards,
        never a bank holiday; at most one in the last four weeks, so recent weeks still show
        every open weekday).

    Returns
    -------
    Shape
        Open Mon–Fri 08:00–18:30; England bank holidays closed (no rows); ``gaps`` the dropped
        days.
    """
    rng = np.random.default_rng(seed)
    idx = _grid(start, weeks, "30min")
    mean = _gp_mean(idx, 1.0)
    y = _counts(rng, mean, idx.normalize().asi8, dispersion=0.01)
    holidays = _holiday_dates("ENG", idx)
    dates = idx.normalize()
    open_day = (idx.day_of_week < 5) & ~pd.Index(dates.date).isin(holidays)
    candidates = sorted({d.date() for d in dates[open_day]})
    early = [d for d in candidates[5:] if d < candidates[-1] - _dt.timedelta(days=28)]
    late = [d for d in candidates if d >= candidates[-1] - _dt.timedelta(days=28)]
    n_late = min(1, n_gaps)
    picks = list(rng.choice(len(early), size=n_gaps - n_late, replace=False)) if n_gaps > n_late else []
    gaps = sorted([early[i] for i in picks] + ([late[int(rng.integers(len(late)))]] if n_late else []))
    keep = (mean > 0) & ~pd.Index(dates.date).isin(holidays) & ~pd.Index(dates.date).isin(gaps)
    frame = pd.DataFrame({"ds": idx[keep].as_unit("ns"), "y": y[keep]}).reset_index(drop=True)
    return Shape(
        name="weekday-gaps",
        frame=frame,
        freq="30min",
        open_slots=_slots({d: (8 * 60, 18 * 60 + 30) for d in range(5)}, 30),
        hours="Mon-Fri 08:00-18:30",
        holidays=holidays,
        nation="england",
        gaps=tuple(gaps),
    )


def gp_level_shift(
    seed: int = 0, weeks: int = 20, start: str = "2025-09-01", shift_week: int | None = None, factor: float = 1.4
) -> Shape:
    """A half-hourly GP-like series whose level steps up (a list merger, a new phone line).

    Parameters
    ----------
    seed, weeks, start
        As :func:`always_open_night_trough`.
    shift_week : int or None
        Week (from 0) at whose Monday demand steps up; default four weeks before the end.
    factor : float
        Demand after the shift relative to before.

    Returns
    -------
    Shape
        Open Mon–Fri 08:00–18:30; England bank holidays closed; closed periods are rows with
        ``y = 0`` (nights, weekends, holidays).
    """
    rng = np.random.default_rng(seed)
    idx = _grid(start, weeks, "30min")
    shift_week = weeks - 4 if shift_week is None else shift_week
    shift_at = pd.Timestamp(start).normalize() + pd.Timedelta(weeks=shift_week)
    mean = _gp_mean(idx, 1.0) * np.where(idx >= shift_at, factor, 1.0)
    holidays = _holiday_dates("ENG", idx)
    mean = np.where(pd.Index(idx.normalize().date).isin(holidays), 0.0, mean)
    y = _counts(rng, mean, idx.normalize().asi8, dispersion=0.01)
    frame = pd.DataFrame({"ds": idx.as_unit("ns"), "y": y})
    return Shape(
        name="level-shift",
        frame=frame,
        freq="30min",
        open_slots=_slots({d: (8 * 60, 18 * 60 + 30) for d in range(5)}, 30),
        hours="Mon-Fri 08:00-18:30",
        holidays=holidays,
        nation="england",
        closed_rows=True,
        shift_at=shift_at,
        shift_factor=factor,
    )


#: The generators by name, for benchmarks and parametrised tests.
SHAPES = {
    "24/7": always_open_night_trough,
    "weekend-busy": weekend_busy,
    "weekday-gaps": weekday_gp_with_gaps,
    "level-shift": gp_level_shift,
}
