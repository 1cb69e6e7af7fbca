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
closed           a period on a bank holiday, or entirely outside the opening hours.
================ ===============================================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from telephony.calendar import NATIONS, CalendarError, bank_holidays, nation_code

__all__ = [
    "NATIONS",
    "CalendarError",
    "OpeningHours",
    "Calendar",
    "DEFAULT_HOURS",
]

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
                    f"Cannot read opening hours {entry!r}; write e.g. 'Mon-Fri 08:00-18:30; Sat 09:00-12:00'."
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
    nation : {"ENG", "SCT", "WLS", "NIR"}
        Whose bank holidays apply (default England).
    hours : OpeningHours, str or None
        Opening hours (a string is parsed with :meth:`OpeningHours.parse`); default Mon–Fri
        08:00–18:30. ``None`` means always open.
    close_on_bank_holidays : bool
        Whether a bank holiday is a closed day (default ``True``).
    extra_closures : iterable of date-like
        Further whole days closed (protected learning time, a practice's own closures).

    Examples
    --------
    >>> cal = Calendar()
    >>> cal.is_bank_holiday(pd.DatetimeIndex(["2026-04-06", "2026-04-07"])).tolist()
    [True, False]
    """

    nation: str = "ENG"
    hours: OpeningHours | str | None = DEFAULT_HOURS
    close_on_bank_holidays: bool = True
    extra_closures: tuple = field(default_factory=tuple)

    def __post_init__(self):
        object.__setattr__(self, "nation", nation_code(self.nation))
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
        if hi < lo:
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
            ``True`` where the period lies on a closed day (:meth:`closed_days`) or entirely
            outside the opening hours; a period that is open for any part of it is open (an
            hourly 18:00 period with closing at 18:30 is open).
        """
        idx = pd.DatetimeIndex(ds)
        length = pd.Timedelta(pd.tseries.frequencies.to_offset(freq)).value / _MIN_NS
        days = _day_numbers(idx)
        wall = idx.as_unit("ns").asi8
        start_min = (wall - days * 86400 * 10**9) / _MIN_NS
        open_ = self.hours.open_minutes(_weekday(days), start_min, min(length, _DAY_MIN))
        return ~open_ | self.closed_days(idx)


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
