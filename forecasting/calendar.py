"""The practice calendar: bank holidays, the day after them, and opening hours.

A forecast must know when the practice is shut. Demand in a closed period is structurally zero
(calls then hear the closed message and are not offered to anyone), so closed periods are left
out of every fit and forecast as exactly 0, and a bank holiday is a closed day.

Timestamps here are *naive local wall-clock* times (the ``ds`` of :mod:`forecasting.base`).

Glossary
--------
================ ===============================================================================
term             meaning
================ ===============================================================================
nation           ``ENG``, ``SCT``, ``WLS`` or ``NIR``: whose bank holidays apply
                 (``holidays.UK(subdiv=...)``).
bank holiday     a date in that nation's list, substitute days ("observed") and one-off days
                 (a coronation, a state funeral) included.
day after        the first open day after a run of closed days that contains a bank holiday
                 (Easter Monday → Tuesday; Christmas on a Friday with Boxing Day observed on
                 Monday → Tuesday). GP demand surges then like a Monday.
opening hours    per weekday, wall-clock spans when the phones are open; default Mon–Fri
                 08:00–18:30. A period is open when any part of it is inside a span.
closed           a period on a bank holiday or a stated closure, or entirely outside the opening
                 hours.
learned hours    opening hours read from a series: a weekday-and-period is closed when it had no
                 demand in each of the last :data:`RECENT_WEEKS` weeks in which that weekday has
                 data (:func:`learn_hours`). Demand the data shows is never closed.
data gap         an open weekday (not a holiday or closure) with no rows or no demand at all: the
                 export lost it. Left out of fitting and scoring like a closed period, but said
                 as a gap and never taken for a closure (:attr:`Calendar.gaps`).
closure          a stated date (a whole day) or a date and time span (a protected-learning-time
                 afternoon) when the service is shut (:func:`read_closures`).
================ ===============================================================================
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from telephony.calendar import NATIONS, CalendarError, bank_holidays, nation_code
from telephony.tabular_mapping import shown_cell

__all__ = [
    "NATIONS",
    "CalendarError",
    "OpeningHours",
    "Calendar",
    "DEFAULT_HOURS",
    "RECENT_WEEKS",
    "HOLIDAY_CHOICES",
    "learn_hours",
    "data_gaps",
    "series_calendar",
    "parse_closures",
    "read_closures",
    "holiday_nation",
    "Closures",
]

#: Weeks with data that decide whether a weekday-and-period is open (see :func:`learn_hours`).
RECENT_WEEKS = 4
#: Dates (of the recent ones) with demand outside stated hours before those hours are widened.
STATED_WIDEN_DAYS = 2
_NATION_TITLES = {"ENG": "England", "SCT": "Scotland", "WLS": "Wales", "NIR": "Northern Ireland"}
#: What ``holidays`` (the CLI's ``--holidays``) accepts: a nation or ``none``.
HOLIDAY_CHOICES: tuple[str, ...] = ("england", "scotland", "wales", "northern-ireland", "none")

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MIN_NS = 60 * 10**9
_DAY_MIN = 24 * 60


def _minutes(text: str) -> int:
    m = re.fullmatch(r"\s*(\d{1,2})(?::|\.)?(\d{2})\s*", text)
    if not m:
        raise CalendarError(f"Cannot read the time {text!r}; write times as HH:MM, e.g. 08:00-18:30.")
    h, mi = int(m.group(1)), int(m.group(2))
    if mi >= 60 or h > 24 or (h == 24 and mi):
        raise CalendarError(f"{text.strip()!r} is not a time of day; use 00:00 to 24:00.")
    return h * 60 + mi


def _day_index(text: str) -> int:
    key = text.strip().lower()[:3]
    if key not in _DAYS:
        raise CalendarError(f"Unknown day {text.strip()!r}; use Mon, Tue, Wed, Thu, Fri, Sat or Sun.")
    return _DAYS.index(key)


@dataclass(frozen=True)
class OpeningHours:
    """When the phones are open, per weekday, in local wall-clock minutes after midnight.

    Parameters
    ----------
    spans : tuple of 7 tuples of (int, int)
        ``spans[weekday]`` (Monday = 0) lists ``(open_minute, close_minute)`` pairs, half-open
        ``[open, close)``; an empty tuple is a closed day.

    Examples
    --------
    >>> OpeningHours.parse("Mon-Fri 08:00-18:30; Sat 09:00-12:00").spans[5]
    ((540, 720),)
    """

    spans: tuple[tuple[tuple[int, int], ...], ...]

    def __post_init__(self):
        if len(self.spans) != 7:
            raise CalendarError("OpeningHours needs seven entries, Monday to Sunday.")
        for day in self.spans:
            for a, b in day:
                if not 0 <= a < b <= _DAY_MIN:
                    raise CalendarError(
                        f"Opening span {a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d} is empty or "
                        "crosses midnight; give each day's spans within 00:00-24:00, opening before closing."
                    )

    @classmethod
    def parse(cls, text: str) -> "OpeningHours":
        """Read hours written like the practices registry: ``"Mon-Fri 08:00-18:30"``.

        Parameters
        ----------
        text : str
            ``;``-separated entries ``DAYS SPANS``: ``DAYS`` a day (``Sat``) or a range
            (``Mon-Fri``), or several joined by ``,``; ``SPANS`` one or more ``HH:MM-HH:MM``
            joined by ``,``, or ``closed``. Days not mentioned are closed; a later entry for a
            day replaces an earlier one. ``"24/7"`` is always open.

        Returns
        -------
        OpeningHours

        Raises
        ------
        CalendarError
            For text that does not follow the pattern, saying which part.
        """
        if not isinstance(text, str) or not text.strip():
            raise CalendarError("Opening hours are empty; write e.g. 'Mon-Fri 08:00-18:30'.")
        if text.strip().lower() in ("24/7", "always", "always open"):
            return cls.always_open()
        spans: list[tuple[tuple[int, int], ...]] = [()] * 7
        for entry in filter(None, (e.strip() for e in text.split(";"))):
            m = re.fullmatch(r"([A-Za-z,\-\s]+?)\s+(closed|[\d:.,\-\s]+)", entry, flags=re.IGNORECASE)
            if not m:
                raise CalendarError(
                    f"Cannot read opening hours {shown_cell(entry)}; write e.g. 'Mon-Fri 08:00-18:30; Sat 09:00-12:00'."
                )
            days: list[int] = []
            for part in m.group(1).split(","):
                if "-" in part:
                    a, b = (_day_index(x) for x in part.split("-", 1))
                    days.extend(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
                elif part.strip():
                    days.append(_day_index(part))
            if m.group(2).lower() == "closed":
                day_spans: tuple[tuple[int, int], ...] = ()
            else:
                pairs = []
                for rng in m.group(2).split(","):
                    if rng.count("-") != 1:
                        raise CalendarError(f"Cannot read the span {rng.strip()!r} in {entry!r}; write HH:MM-HH:MM.")
                    a, b = rng.split("-")
                    pairs.append((_minutes(a), _minutes(b)))
                day_spans = tuple(sorted(pairs))
            for d in days:
                spans[d] = day_spans
        return cls(tuple(spans))

    @classmethod
    def always_open(cls) -> "OpeningHours":
        """Open every minute of every day (a series with no closed hours)."""
        return cls(tuple(((0, _DAY_MIN),) for _ in range(7)))

    @classmethod
    def from_slots(cls, slots: Iterable[tuple[int, int]], step_min: int) -> "OpeningHours":
        """The hours made of ``(weekday, start minute)`` periods of ``step_min`` minutes.

        Consecutive periods are joined into one span; a daily step (1440) opens the whole day.
        """
        by_day: list[list[tuple[int, int]]] = [[] for _ in range(7)]
        for wd, m in sorted(set(slots)):
            a, b = int(m), min(int(m) + int(step_min), _DAY_MIN)
            day = by_day[int(wd)]
            if day and day[-1][1] >= a:
                day[-1] = (day[-1][0], max(day[-1][1], b))
            else:
                day.append((a, b))
        return cls(tuple(tuple(d) for d in by_day))

    def union(self, other: "OpeningHours") -> "OpeningHours":
        """Open when either is open (overlapping or touching spans joined)."""
        out: list[tuple[tuple[int, int], ...]] = []
        for d in range(7):
            merged: list[tuple[int, int]] = []
            for a, b in sorted(self.spans[d] + other.spans[d]):
                if merged and merged[-1][1] >= a:
                    merged[-1] = (merged[-1][0], max(merged[-1][1], b))
                else:
                    merged.append((a, b))
            out.append(tuple(merged))
        return OpeningHours(tuple(out))

    def describe(self) -> str:
        """The hours as :meth:`parse` reads them: ``"Mon-Fri 08:00-18:30"``, ``"always"``.

        Examples
        --------
        >>> OpeningHours.parse("Mon-Fri 08:00-18:30; Sat 09:00-12:00").describe()
        'Mon-Fri 08:00-18:30; Sat 09:00-12:00'
        """
        if self == OpeningHours.always_open():
            return "always"
        if not any(self.spans):
            return "closed"

        def hm(m: int) -> str:
            return f"{m // 60:02d}:{m % 60:02d}"

        names = [d.capitalize() for d in _DAYS]
        parts, d = [], 0
        while d < 7:
            e = d
            while e + 1 < 7 and self.spans[e + 1] == self.spans[d]:
                e += 1
            if self.spans[d]:
                days = names[d] if e == d else f"{names[d]}-{names[e]}"
                parts.append(f"{days} " + ",".join(f"{hm(a)}-{hm(b)}" for a, b in self.spans[d]))
            d = e + 1
        return "; ".join(parts)

    def open_minutes(self, weekday: np.ndarray, start_min: np.ndarray, length_min: float) -> np.ndarray:
        """Whether each period ``[start, start + length)`` overlaps an opening span (bool).

        Parameters
        ----------
        weekday : numpy.ndarray
            Weekday of each period (Monday = 0).
        start_min : numpy.ndarray
            Wall-clock minute after midnight at which each period starts.
        length_min : float
            Period length in minutes (a day is 1440: open when the day has any span).
        """
        out = np.zeros(len(weekday), dtype=bool)
        end_min = start_min + length_min
        for d in range(7):
            on_day = weekday == d
            for a, b in self.spans[d]:
                out |= on_day & (start_min < b) & (end_min > a)
        return out


DEFAULT_HOURS = OpeningHours.parse("Mon-Fri 08:00-18:30")


@dataclass(frozen=True)
class Calendar:
    """Bank holidays and opening hours of one practice (or of any series).

    Parameters
    ----------
    nation : {"ENG", "SCT", "WLS", "NIR"} or None
        Whose bank holidays apply (default England); ``None``: no bank holidays at all (none
        closed, none known to the models).
    hours : OpeningHours, str or None
        Opening hours (a string is parsed with :meth:`OpeningHours.parse`); default Mon–Fri
        08:00–18:30. ``None`` means always open.
    close_on_bank_holidays : bool
        Whether a bank holiday is a closed day (default ``True``).
    extra_closures : iterable of date-like
        Further whole days closed (a practice's own closures).
    closure_spans : iterable of (start, end)
        Closed spans of naive local time, ``[start, end)`` (a protected-learning-time
        afternoon): a period entirely inside one is closed.
    gaps : iterable of date-like
        Data gaps: days the data lost. Their periods are masked like closed ones in
        :meth:`closed` (left out of fitting and scoring) but they are not closures:
        :meth:`closed_days` and the day after a bank holiday ignore them, and they say so in
        :attr:`notes`.
    notes : tuple of str
        Where the hours, holidays, closures and gaps came from, one sentence each, for people
        (not compared).

    Examples
    --------
    >>> cal = Calendar()
    >>> cal.is_bank_holiday(pd.DatetimeIndex(["2026-04-06", "2026-04-07"])).tolist()
    [True, False]
    """

    nation: str | None = "ENG"
    hours: OpeningHours | str | None = DEFAULT_HOURS
    close_on_bank_holidays: bool = True
    extra_closures: tuple = field(default_factory=tuple)
    closure_spans: tuple = field(default_factory=tuple)
    gaps: tuple = field(default_factory=tuple)
    notes: tuple = field(default=(), compare=False)

    def __post_init__(self):
        object.__setattr__(self, "nation", None if self.nation is None else nation_code(self.nation))
        spans = []
        for pair in self.closure_spans:
            a, b = (pd.Timestamp(x) for x in pair)
            if a.tzinfo is not None or b.tzinfo is not None or not a < b:
                raise CalendarError(
                    f"Closure {a} to {b} is not a span of local time; give naive local start < end, e.g. "
                    "2026-03-11 13:00 to 2026-03-11 18:30."
                )
            spans.append((a, b))
        object.__setattr__(self, "closure_spans", tuple(sorted(spans)))
        object.__setattr__(self, "gaps", tuple(sorted({pd.Timestamp(d).normalize() for d in self.gaps})))
        object.__setattr__(self, "notes", tuple(self.notes))
        hours = self.hours
        if hours is None:
            hours = OpeningHours.always_open()
        elif isinstance(hours, str):
            hours = OpeningHours.parse(hours)
        elif not isinstance(hours, OpeningHours):
            raise CalendarError("hours must be OpeningHours, text like 'Mon-Fri 08:00-18:30', or None.")
        object.__setattr__(self, "hours", hours)
        extra = tuple(sorted({pd.Timestamp(d).normalize() for d in self.extra_closures}))
        object.__setattr__(self, "extra_closures", extra)

    @classmethod
    def always_open(cls, nation: str = "ENG") -> "Calendar":
        """A calendar with nothing closed: no opening hours, bank holidays open."""
        return cls(nation=nation, hours=None, close_on_bank_holidays=False)

    # --- bank holidays ---------------------------------------------------------------------

    def bank_holidays(self, start, end) -> pd.DataFrame:
        """The nation's bank holidays from ``start`` to ``end`` inclusive.

        Returns
        -------
        pandas.DataFrame
            ``date`` (naive midnight, ``datetime64[us]``) and ``name``, sorted.

        Notes
        -----
        From ``holidays.UK(subdiv=nation)``, which includes substitute days and one-off bank
        holidays. Prophet's built-in UK list misses Easter Monday and the summer bank holiday,
        so nothing here uses it.
        """
        lo, hi = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
        if hi < lo or self.nation is None:
            return pd.DataFrame({"date": pd.Series([], dtype="datetime64[us]"), "name": pd.Series([], dtype=str)})
        rows = list(bank_holidays(self.nation, lo.date(), hi.date()).items())
        return pd.DataFrame(
            {
                "date": pd.Series([d for d, _ in rows], dtype="datetime64[us]"),
                "name": pd.Series([n for _, n in rows], dtype=str),
            }
        )

    def _holiday_days(self, days: np.ndarray) -> np.ndarray:
        """Bank-holiday flag of int64 day numbers (days since 1970-01-01)."""
        if len(days) == 0:
            return np.zeros(0, dtype=bool)
        lo, hi = int(days.min()), int(days.max())
        bh = self.bank_holidays(pd.Timestamp(lo, unit="D"), pd.Timestamp(hi, unit="D"))
        hol = bh["date"].to_numpy().astype("M8[D]").astype("int64")
        return np.isin(days, hol)

    def is_bank_holiday(self, ds) -> np.ndarray:
        """Whether the local date of each timestamp is a bank holiday (bool array)."""
        return self._holiday_days(_day_numbers(ds))

    def closed_days(self, ds) -> np.ndarray:
        """Whether the whole local date of each timestamp is closed (bool array).

        A day is closed when it is a bank holiday (if ``close_on_bank_holidays``), an extra
        closure, or a weekday without opening hours.
        """
        days = _day_numbers(ds)
        out = np.array([not self.hours.spans[w] for w in range(7)])[_weekday(days)] if len(days) else np.zeros(0, bool)
        if self.close_on_bank_holidays:
            out = out | self._holiday_days(days)
        if self.extra_closures:
            extra = np.array([t.value // (86400 * 10**9) for t in self.extra_closures], dtype="int64")
            out = out | np.isin(days, extra)
        return out

    def day_after_bank_holiday(self, ds) -> np.ndarray:
        """Whether each timestamp falls on the first open day after a bank holiday (bool).

        Notes
        -----
        "Open" follows this calendar's opening days, so with the default hours the day after
        Good Friday is not Saturday but, Easter Monday being a holiday too, the Tuesday. With a
        calendar that keeps bank holidays open, it is simply the next day. Holidays are looked
        up over the two weeks before the earliest date, so the first dates of ``ds`` are right.
        """
        days = _day_numbers(ds)
        if len(days) == 0:
            return np.zeros(0, dtype=bool)
        lo, hi = int(days.min()) - 14, int(days.max())
        every = np.arange(lo, hi + 1, dtype="int64")
        bank = self._holiday_days(every)
        closed = self.closed_days(every.astype("M8[D]"))
        flag = np.zeros(len(every), dtype=bool)
        pending = False
        for i in range(len(every)):
            if closed[i]:
                pending = pending or bank[i]
                continue
            if pending or (i > 0 and bank[i - 1]):
                flag[i] = True
            pending = False
        return flag[days - lo]

    # --- periods ---------------------------------------------------------------------------

    def closed(self, ds, freq: str) -> np.ndarray:
        """The closed mask of a grid of periods (bool array, ``True`` = closed).

        Parameters
        ----------
        ds : array-like of datetime
            Naive local wall-clock starts of the periods.
        freq : str
            Period length: ``"15min"``, ``"30min"``, ``"h"`` or ``"D"``.

        Returns
        -------
        numpy.ndarray
            ``True`` where the period lies on a closed day (:meth:`closed_days`), entirely
            outside the opening hours or entirely inside a closure span, or on a data gap (whose
            values are not to be used either); a period that is open for any part of it is open
            (an hourly 18:00 period with closing at 18:30 is open).
        """
        idx = pd.DatetimeIndex(ds)
        length = pd.Timedelta(pd.tseries.frequencies.to_offset(freq)).value / _MIN_NS
        days = _day_numbers(idx)
        wall = idx.as_unit("ns").asi8
        start_min = (wall - days * 86400 * 10**9) / _MIN_NS
        open_ = self.hours.open_minutes(_weekday(days), start_min, min(length, _DAY_MIN))
        out = ~open_ | self.closed_days(idx)
        if self.closure_spans:
            end = wall + int(length * _MIN_NS)
            for a, b in self.closure_spans:
                out |= (wall >= a.as_unit("ns").value) & (end <= b.as_unit("ns").value)
        if self.gaps:
            out |= self.is_gap(idx)
        return out

    def is_gap(self, ds) -> np.ndarray:
        """Whether the local date of each timestamp is a data gap (bool array)."""
        days = _day_numbers(ds)
        gaps = np.array([t.value // (86400 * 10**9) for t in self.gaps], dtype="int64")
        return np.isin(days, gaps)


def _day_numbers(ds) -> np.ndarray:
    """Local day number (days since 1970-01-01) of naive timestamps."""
    idx = pd.DatetimeIndex(ds)
    if idx.tz is not None:
        raise CalendarError(
            "Calendar lookups take naive local wall-clock times; convert with "
            "ds.tz_convert('Europe/London').tz_localize(None)."
        )
    return idx.as_unit("ns").asi8 // (86400 * 10**9)


def _weekday(days: np.ndarray) -> np.ndarray:
    return (days + 3) % 7  # 1970-01-01 was a Thursday


def calendars_for(ids: Iterable[str], calendar: "Calendar | Mapping[str, Calendar] | None") -> dict[str, Calendar]:
    """One calendar per series id from a single calendar, a mapping, or ``None`` (the default).

    Raises
    ------
    CalendarError
        When a mapping lacks an id (a series without a calendar would be forecast on the wrong
        hours silently).
    """
    ids = list(ids)
    if calendar is None:
        calendar = Calendar()
    if isinstance(calendar, Calendar):
        return {i: calendar for i in ids}
    missing = [i for i in ids if i not in calendar]
    if missing:
        raise CalendarError(
            f"No calendar for series {', '.join(map(str, missing[:5]))}; give one Calendar for all "
            "series or a mapping with every unique_id."
        )
    return {i: calendar[i] for i in ids}


# --- facts read from a series ---------------------------------------------------------------


def holiday_nation(holidays: str | None) -> str | None:
    """The nation code of ``holidays`` (``england`` ... or a code), ``None`` for ``none``.

    Raises
    ------
    CalendarError
        For anything else, listing the choices.
    """
    if holidays is None:
        return None
    text = str(holidays).strip().lower()
    if text == "none":
        return None
    try:
        return nation_code(text)
    except CalendarError:
        raise CalendarError(
            f"`holidays` {holidays!r} is not known; use one of {', '.join(HOLIDAY_CHOICES)}."
        ) from None


def _grid_parts(ds, freq: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Day numbers, weekdays, start minutes and the step (minutes) of naive period starts."""
    idx = pd.DatetimeIndex(ds)
    step = int(pd.Timedelta(pd.tseries.frequencies.to_offset(freq)).value // _MIN_NS)
    days = _day_numbers(idx)
    minute = ((idx.as_unit("ns").asi8 - days * 86400 * 10**9) // _MIN_NS).astype("int64")
    return days, _weekday(days), minute, min(step, _DAY_MIN)


def _skip_days(cal: "Calendar", days: np.ndarray) -> np.ndarray:
    """Days that are no evidence about the hours: bank holidays closed, stated closures."""
    if len(days) == 0:
        return np.zeros(0, dtype=bool)
    closed = np.zeros(len(days), dtype=bool)
    if cal.close_on_bank_holidays:
        closed |= cal._holiday_days(days)
    if cal.extra_closures:
        extra = np.array([t.value // (86400 * 10**9) for t in cal.extra_closures], dtype="int64")
        closed |= np.isin(days, extra)
    return closed


def learn_hours(ds, y, freq: str, calendar: "Calendar | None" = None, weeks: int = RECENT_WEEKS) -> OpeningHours:
    """Opening hours read from a series: open where the recent weeks show demand.

    Parameters
    ----------
    ds : array-like of datetime
        Naive local period starts of one series (missing periods allowed: an export may list
        only open periods).
    y : array-like of float
        Counts.
    freq : str
        Period length (``"15min"``, ``"30min"``, ``"h"``, ``"D"``).
    calendar : Calendar, optional
        Whose bank holidays (when closed) and stated closures are no evidence: those days are
        skipped, so a bank holiday in the last weeks does not close a Monday.
    weeks : int
        How many weeks with data decide (default :data:`RECENT_WEEKS`).

    Returns
    -------
    OpeningHours
        For each weekday, the periods with demand on at least one of that weekday's last
        ``weeks`` dates with data (any demand that day); a weekday without such a date is
        closed.

    Notes
    -----
    The rule: a weekday-and-period is closed when it had no demand in each of the last
    ``weeks`` weeks that have data. A day without rows or without any demand is a data gap,
    not evidence of closure (:func:`data_gaps`), so a lost Tuesday does not shut Tuesdays.
    """
    slots, step = _seen_slots(ds, y, freq, calendar, weeks)
    return OpeningHours.from_slots(slots, step)


def _seen_slots(ds, y, freq: str, calendar: "Calendar | None", weeks: int, min_days: int = 1) -> tuple[set, int]:
    """The ``(weekday, minute)`` periods :func:`learn_hours` opens, and the period length.

    ``min_days``: on how many of the weekday's recent dates a period must have had demand.
    """
    y = np.asarray(y, dtype=float)
    days, wd, minute, step = _grid_parts(ds, freq)
    cal = calendar if calendar is not None else Calendar(nation=None, hours=None)
    has = np.isfinite(y) & (y > 0)
    uniq, inv = np.unique(days, return_inverse=True)
    total = np.bincount(inv, weights=np.where(has, y, 0.0), minlength=len(uniq))
    usable = (total > 0) & ~_skip_days(cal, uniq)
    slots = set()
    for d in range(7):
        mine = uniq[usable & (_weekday(uniq) == d)]
        recent = mine[-weeks:]
        if len(recent) == 0:
            continue
        rows = np.isin(days, recent) & has
        # distinct (day, minute) pairs, then how many recent days each minute had demand on
        pairs = np.unique(np.stack([days[rows].astype("int64"), minute[rows].astype("int64")]), axis=1)
        mins, n_days = np.unique(pairs[1], return_counts=True)
        slots.update((d, int(m)) for m, n in zip(mins, n_days) if n >= min_days)
    return slots, step


def data_gaps(ds, y, freq: str, calendar: "Calendar") -> tuple[pd.Timestamp, ...]:
    """Days the data lost: open weekdays, not holidays or closures, with no rows or no demand.

    Parameters
    ----------
    ds, y, freq
        As :func:`learn_hours` (one series).
    calendar : Calendar
        The hours, holidays and closures that decide which days should have had demand.

    Returns
    -------
    tuple of pandas.Timestamp
        Midnights of the gap days from the series' first to its last day (the first and last
        days included only when they have no demand at all), sorted.
    """
    y = np.asarray(y, dtype=float)
    days, _, _, _ = _grid_parts(ds, freq)
    if len(days) == 0:
        return ()
    every = np.arange(int(days.min()), int(days.max()) + 1, dtype="int64")
    total = np.zeros(len(every))
    np.add.at(total, days - every[0], np.where(np.isfinite(y) & (y > 0), y, 0.0))
    open_weekday = np.array([bool(calendar.hours.spans[d]) for d in range(7)])[_weekday(every)]
    gap = (total == 0) & open_weekday & ~_skip_days(calendar, every)
    return tuple(pd.Timestamp(int(d), unit="D") for d in every[gap])


def series_calendar(
    ds,
    y,
    freq: str,
    hours: "OpeningHours | str | None" = None,
    holidays: str | None = "none",
    closures: "Closures | None" = None,
    hours_source: str = "stated",
    keep_demand_open: bool = True,
) -> "Calendar":
    """The calendar of one series: stated or learned hours, holidays, closures and data gaps.

    Parameters
    ----------
    ds, y, freq
        The series (naive local period starts, counts, period length).
    hours : OpeningHours, str or None
        Stated hours (``"Mon-Fri 08:00-18:30"``, ``"always"``); ``None``: learn them from the
        series (:func:`learn_hours`).
    holidays : str or None
        ``england``, ``scotland``, ``wales``, ``northern-ireland`` (or a code): that nation's
        bank holidays are closed days; ``"none"`` (or ``None``): no bank holidays.
    closures : Closures, optional
        Stated closed days and spans (:func:`read_closures`).
    hours_source : str
        Who stated ``hours``, for the notes (``"the registry"``, ``"open_hours"``).
    keep_demand_open : bool
        Whether periods with demand in the recent weeks stay open whatever ``hours`` say
        (default). ``False`` for a count that includes calls made while closed (unique
        callers count the callers who heard the closed message), whose demand outside the
        hours is not open-hours demand.

    Returns
    -------
    Calendar
        With :attr:`Calendar.gaps` and :attr:`Calendar.notes` filled in.

    Notes
    -----
    Demand the data shows is never forecast as zero: periods with demand in the last
    :data:`RECENT_WEEKS` weeks with data stay open even when stated hours say closed (the
    notes name them), because a forecast of 0 where calls arrive is certainly wrong.
    """
    nation = holiday_nation(holidays)
    closures = closures or Closures()
    base = Calendar(nation=nation, hours=None, close_on_bank_holidays=nation is not None, extra_closures=closures.days)
    seen_slots, step = _seen_slots(ds, y, freq, base, RECENT_WEEKS)
    seen = OpeningHours.from_slots(seen_slots, step)
    notes = []
    if hours is None:
        effective = seen
        notes.append(
            f"opening hours learned from the last {RECENT_WEEKS} weeks with data: {seen.describe()} "
            "(give `open_hours` to state them)"
        )
    else:
        stated = hours if isinstance(hours, OpeningHours) else OpeningHours.parse(hours)
        # Only periods the stated hours leave wholly closed: an hourly 18:00 period is open
        # under 08:00-18:30 already, and must not stretch the hours to 19:00. And only demand
        # seen on at least two of the recent dates: one call queued at 18:30:23 after the
        # closing message (a queue log stamps the queue entry, after the menus) is a straggler,
        # not opening hours.
        recurring, _ = _seen_slots(ds, y, freq, base, RECENT_WEEKS, min_days=STATED_WIDEN_DAYS)
        outside = {
            (d, m) for d, m in recurring
            if not stated.open_minutes(np.array([d]), np.array([m]), float(step))[0]
        }
        effective = stated.union(OpeningHours.from_slots(outside, step)) if keep_demand_open else stated
        notes.append(f"opening hours from {hours_source}: {stated.describe()}")
        if effective != stated:
            extra = _difference(effective, stated)
            notes.append(
                f"the last {RECENT_WEEKS} weeks show demand outside them ({extra}): those periods are kept open, "
                "as demand the data shows is never forecast as zero"
            )
    notes.append("bank holidays: none" if nation is None else f"bank holidays: {_NATION_TITLES[nation]}'s, closed")
    if closures:
        notes.append(f"closures: {closures.describe()}")
    cal = Calendar(nation=nation, hours=effective, close_on_bank_holidays=nation is not None,
                   extra_closures=closures.days, closure_spans=closures.spans)
    gaps = data_gaps(ds, y, freq, cal)
    if gaps:
        shown = ", ".join(f"{g:%a %Y-%m-%d}" for g in gaps[:6]) + (f" and {len(gaps) - 6} more" if len(gaps) > 6 else "")
        notes.append(
            f"data gaps: {len(gaps)} open day(s) without any data ({shown}): left out of fitting and scoring, "
            "not taken for closures"
        )
    return Calendar(nation=nation, hours=effective, close_on_bank_holidays=nation is not None,
                    extra_closures=closures.days, closure_spans=closures.spans, gaps=gaps, notes=tuple(notes))


def _difference(a: OpeningHours, b: OpeningHours) -> str:
    """The spans open in ``a`` but not in ``b``, as text (minute resolution)."""
    out = []
    for d in range(7):
        mins = np.zeros(_DAY_MIN, dtype=bool)
        for x, y in a.spans[d]:
            mins[x:y] = True
        for x, y in b.spans[d]:
            mins[x:y] = False
        edges = np.flatnonzero(np.diff(np.r_[0, mins.astype(int), 0]))
        out.append(tuple(zip(edges[::2].tolist(), edges[1::2].tolist())))
    return OpeningHours(tuple(out)).describe()


@dataclass(frozen=True)
class Closures:
    """Stated closures: whole days and date-and-time spans of naive local time.

    Parameters
    ----------
    days : tuple of pandas.Timestamp
        Whole closed days (midnights).
    spans : tuple of (pandas.Timestamp, pandas.Timestamp)
        Closed ``[start, end)`` spans (a protected-learning-time afternoon).
    source : str
        Where they were read from, for the notes.
    """

    days: tuple = ()
    spans: tuple = ()
    source: str = ""

    def __bool__(self) -> bool:
        return bool(self.days or self.spans)

    def describe(self) -> str:
        what = []
        if self.days:
            what.append(f"{len(self.days)} whole day(s)")
        if self.spans:
            what.append(f"{len(self.spans)} part-day span(s)")
        return " and ".join(what) + (f" from {self.source}" if self.source else "")


_CLOSURE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})(?:[ T,;]+(?P<a>\d{1,2}[:.]\d{2})\s*(?:-|,|;|to)\s*(?P<b>\d{1,2}[:.]\d{2}))?"
)


def parse_closures(lines: Iterable[str], source: str = "") -> Closures:
    """Closures from lines of text: ``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM-HH:MM``.

    Parameters
    ----------
    lines : iterable of str
        One closure a line; text after the date (and span) is a note (``2026-03-11
        13:00-18:30 protected learning time``); blank lines, lines starting with ``#`` and a
        header line (``date,start,end``) are skipped. A CSV's ``date,start,end`` columns read
        the same way.
    source : str
        A name for messages (the file's).

    Returns
    -------
    Closures

    Raises
    ------
    CalendarError
        Naming the line that is not a date (or date and span) and how to write one.
    """
    days, spans = set(), []
    where = f"{source}: " if source else ""
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#") or (n == 1 and line.lower().startswith("date")):
            continue
        m = _CLOSURE.match(line)
        if not m:
            raise CalendarError(
                f"{where}line {n} ({shown_cell(line, 40)}) is not a closure; write a date (2026-03-11) or a date and "
                "span (2026-03-11 13:00-18:30), one a line."
            )
        try:
            day = pd.Timestamp(_dt.date.fromisoformat(m.group("date")))
        except ValueError:
            raise CalendarError(f"{where}line {n}: {m.group('date')!r} is not a date.") from None
        if m.group("a") is None:
            days.add(day)
            continue
        a, b = _minutes(m.group("a")), _minutes(m.group("b"))
        if not a < b:
            raise CalendarError(f"{where}line {n}: the span {m.group('a')}-{m.group('b')} ends before it starts.")
        spans.append((day + pd.Timedelta(minutes=a), day + pd.Timedelta(minutes=b)))
    return Closures(tuple(sorted(days)), tuple(sorted(set(spans))), source)


def read_closures(path: str | Path) -> Closures:
    """Closures from a text or CSV file (see :func:`parse_closures`).

    Raises
    ------
    CalendarError
        A file that cannot be read, or a line that is not a closure.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise CalendarError(f"Cannot read the `closures` file {path.name}: {err}.") from None
    return parse_closures(text.splitlines(), path.name)
