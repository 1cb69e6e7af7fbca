"""How numbers, times and dates read in a report: one set of rules for sentences and tables.

Pure functions, no I/O. Missing values (``None``, NaN) read as an en dash everywhere, so a
table never shows ``nan`` and a sentence never claims a number it does not have.
"""

from __future__ import annotations

import datetime as _dt
import math

import pandas as pd

__all__ = [
    "DASH",
    "WEEKDAYS",
    "WEEKDAYS_SHORT",
    "missing",
    "count",
    "share",
    "ratio",
    "duration",
    "duration_short",
    "wait",
    "wait_short",
    "change",
    "hour_range",
    "clock",
    "day_label",
    "day_short",
    "date_range",
    "plural",
    "forecast_rows",
    "same_day_rows",
]

DASH = "\u2013"
WEEKDAYS: tuple[str, ...] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAYS_SHORT: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)


def missing(value) -> bool:
    """Whether ``value`` is absent (``None`` or a float NaN)."""
    if value is None:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def count(value) -> str:
    """A whole number with thousands separators: ``1,234`` (rounded half away from zero)."""
    if missing(value):
        return DASH
    v = float(value)
    return f"{int(math.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1):,}"


def share(value, digits: int = 0) -> str:
    """A fraction as a percentage: ``0.456`` → ``46%``."""
    if missing(value):
        return DASH
    return f"{100 * float(value):.{digits}f}%"


def ratio(value, digits: int = 1) -> str:
    """A plain ratio: ``2.345`` → ``2.3``."""
    if missing(value):
        return DASH
    return f"{float(value):.{digits}f}"


def duration(seconds, up: bool = False) -> str:
    """Seconds in words people use: ``45 seconds``, ``14 minutes``, ``1 hour 5 minutes``.

    Under 90 seconds the seconds are kept (a service level is judged in seconds); longer
    times are whole minutes, rounded, or rounded up with ``up`` (for "within": 150 seconds
    is within 3 minutes, not within 2).
    """
    if missing(seconds):
        return DASH
    s = max(0.0, float(seconds))
    if s < 90:
        n = int(math.ceil(s - 1e-9)) if up else int(round(s))
        return plural(n, "second")
    minutes = int(math.ceil(s / 60 - 1e-9)) if up else int(round(s / 60))
    if minutes < 60:
        return plural(minutes, "minute")
    h, m = divmod(minutes, 60)
    return plural(h, "hour") + (f" {plural(m, 'minute')}" if m else "")


def duration_short(seconds) -> str:
    """Seconds for a table cell: ``45 s``, ``14 min``, ``1 h 05 min``."""
    if missing(seconds):
        return DASH
    s = max(0.0, float(seconds))
    if s < 120:
        return f"{int(round(s))} s"
    minutes = int(round(s / 60))
    if minutes < 60:
        return f"{minutes} min"
    h, m = divmod(minutes, 60)
    return f"{h} h {m:02d} min"


def _wait_parts(seconds) -> tuple[int, int, int]:
    """A time to get through as ``(hours, minutes, seconds)``, rounded *up*: the one rounding
    of "within" times, so a sentence and a table cell built from the same number agree."""
    s = max(0.0, float(seconds))
    if s < 60:
        return 0, 0, int(math.ceil(s - 1e-9))
    h, m = divmod(int(math.ceil(s / 60 - 1e-9)), 60)
    return h, m, 0


def wait(seconds) -> str:
    """A time to get through for a sentence: ``at once``, ``within 45 seconds``, ``within 7
    minutes``, ``within 1 hour 5 minutes`` (rounded up: 6 min 10 s is within 7 minutes).

    Zero is ``at once`` (answered on the first attempt without queuing), never "0 seconds".
    """
    if missing(seconds):
        return DASH
    h, m, s = _wait_parts(seconds)
    if not (h or m or s):
        return "at once"
    if not (h or m):
        return f"within {plural(s, 'second')}"
    return "within " + (plural(h, "hour") + (f" {plural(m, 'minute')}" if m else "") if h else plural(m, "minute"))


def wait_short(seconds) -> str:
    """The same time for a table cell: ``at once``, ``45 s``, ``7 min``, ``1 h 05 min`` (as :func:`wait`)."""
    if missing(seconds):
        return DASH
    h, m, s = _wait_parts(seconds)
    if not (h or m or s):
        return "at once"
    if not (h or m):
        return f"{s} s"
    return f"{h} h {m:02d} min" if h else f"{m} min"


def change(value, reference, kind: str = "count") -> str:
    """How ``value`` compares with ``reference``: ``+12%`` for counts and times, ``+3.1 pts``
    for shares (a change of a percentage is in percentage points), en dash when undefined."""
    if missing(value) or missing(reference):
        return DASH
    v, r = float(value), float(reference)
    if kind == "share":
        d = 100 * (v - r)
        return "no change" if round(d, 1) == 0 else f"{d:+.1f} pts"
    if r == 0:
        return DASH
    d = 100 * (v - r) / r
    return "no change" if round(d) == 0 else f"{d:+.0f}%"


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 day``, ``2 days``, ``1,000 calls`` (thousands separated)."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def clock(hour: int, minute: int = 0) -> str:
    """``08:00``."""
    return f"{int(hour):02d}:{int(minute):02d}"


def _ampm(hour: int) -> str:
    h = int(hour) % 24
    if h == 0:
        return "midnight"
    if h == 12:
        return "noon"
    return f"{h % 12 or 12}{'am' if h < 12 else 'pm'}"


def hour_range(hour: int) -> str:
    """The local hour starting at ``hour`` as people say it: ``8–9am``, ``11am–noon``, ``1–2pm``."""
    a, b = _ampm(hour), _ampm(hour + 1)
    if a[-2:] == b[-2:] and a[-2:] in ("am", "pm"):
        return f"{a[:-2]}{DASH}{b}"
    return f"{a}{DASH}{b}"


def day_label(day: _dt.date, weekday: bool = True) -> str:
    """``Monday 16 November`` (or ``16 November``)."""
    text = f"{day.day} {_MONTHS[day.month - 1]}"
    return f"{WEEKDAYS[day.weekday()]} {text}" if weekday else text


def day_short(day: _dt.date) -> str:
    """``Mon 16 Nov``, for table rows."""
    return f"{WEEKDAYS_SHORT[day.weekday()]} {day.day} {_MONTHS[day.month - 1][:3]}"


def date_range(first: _dt.date, last: _dt.date) -> str:
    """``16–22 November 2026``; ``28 April – 4 May 2025``; ``29 December 2025 – 4 January 2026``."""
    if first.year != last.year:
        return f"{day_label(first, False)} {first.year} {DASH} {day_label(last, False)} {last.year}"
    if first.month != last.month:
        return f"{day_label(first, False)} {DASH} {day_label(last, False)} {last.year}"
    return f"{first.day}{DASH}{last.day} {_MONTHS[last.month - 1]} {last.year}"


def forecast_rows(fc: pd.DataFrame, freq: str = "D") -> pd.DataFrame:
    """A forecast as people read it: one row per period, whole calls, intervals as ranges.

    Parameters
    ----------
    fc : pandas.DataFrame
        A model's ``predict`` frame (``unique_id, ds``, the point column and its ``-lo-N`` /
        ``-hi-N`` bounds), e.g. :func:`forecasting.temporal.coherent_forecasts`'.
    freq : {"D", "h", "30min"}
        Its period: days read ``Mon 31 Mar 2025``, finer periods add the time.

    Returns
    -------
    pandas.DataFrame
        ``practice`` (when the frame has several series), ``day``, ``time`` (finer periods),
        ``forecast`` and one ``N% interval`` column per level (``125-216``). A day forecast
        as nothing at all reads ``closed``; closed hours are left out (a day's hours start
        when it opens).
    """
    point = [c for c in fc.columns if c not in ("unique_id", "ds") and "-lo-" not in c and "-hi-" not in c][0]
    levels = sorted({int(c.rsplit("-", 1)[1]) for c in fc.columns if c.startswith(f"{point}-lo-")})
    ds = pd.to_datetime(fc["ds"])
    out = pd.DataFrame(index=fc.index)
    if "unique_id" in fc.columns and fc["unique_id"].nunique() > 1:
        out["series"] = fc["unique_id"].astype(str)
    out["day"] = [f"{WEEKDAYS_SHORT[d.weekday()]} {d.day} {_MONTHS[d.month - 1][:3]} {d.year}" for d in ds]
    if freq != "D":
        out["time"] = ds.dt.strftime("%H:%M").to_numpy()
    shut = (fc[point].to_numpy(dtype="float64") == 0) & (fc[[c for c in fc.columns if c.startswith(f"{point}-hi-")]] == 0).all(axis=1).to_numpy()
    out["forecast"] = ["closed" if s else count(v) for s, v in zip(shut, fc[point])]
    for lv in levels:
        lo, hi = fc[f"{point}-lo-{lv}"], fc[f"{point}-hi-{lv}"]
        out[f"{lv}% interval"] = ["" if s else f"{count(a)}{DASH}{count(b)}" for s, a, b in zip(shut, lo, hi)]
    if freq != "D":
        out = out[~shut]
    return out.reset_index(drop=True)


def same_day_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The same-day plan per session (:func:`forecasting.outlook.same_day_table`) as people read it.

    Returns
    -------
    pandas.DataFrame
        ``day, session, demand`` (whole appointments), ``slots before``, ``chance of too
        few`` (before), ``changes``, ``slots after``, ``chance after`` and ``still short``
        (blank when none), the numbers rounded as the report rounds them.
    """
    return pd.DataFrame(
        {
            "day": [day_short(pd.Timestamp(d).date()) for d in table["date"]],
            "session": table["session"].astype(str).to_numpy(),
            "demand": [count(v) for v in table["demand"]],
            "slots before": [count(v) for v in table["capacity_before"]],
            "chance of too few": [share(v) for v in table["p_before"]],
            "changes": [c or DASH for c in table["changes"]],
            "slots after": [count(v) for v in table["capacity_after"]],
            "chance after": [share(v) for v in table["p_after"]],
            "still short": [count(v) if v > 0 else "" for v in table["short_after"]],
        }
    )
