"""Parsing times and durations as exports write them, and local time to UTC.

Exports write times in many ways: ISO ``2026-01-05 08:00:01``, UK portals ``05/01/2026 08:00``,
spreadsheet re-saves ``2026/1/5 8:00``, epoch seconds, ISO 8601 with an offset; dates alone as
``2026-01-05``, ``05/01/2026`` or ``05JAN2026`` (read as midnight). Durations come as seconds,
``HH:MM:SS`` or ``MM:SS``.

A value that starts with a four-digit year is always read year-month-day: ``dayfirst`` only
decides between ``DD/MM`` and ``MM/DD`` when the year comes last (no export writes
year-day-month, but pandas' general parser told ``dayfirst`` reads ``2026/02/10`` as 2 October).

Local times are converted with the export's timezone (default Europe/London). On the autumn
clock change the hour 01:00–01:59 happens twice; a wall-clock time in it is ambiguous. Rows are
read in file order: the first pass through the hour is taken as summer time and, once the clock
is seen to go back (a time more than 15 minutes earlier than the latest seen in that hour),
the rest as winter time. On the spring change 01:00–01:59 does not exist; such a time can only
come from a misconfigured clock and is moved forward an hour.

Notes
-----
Exports write impossible years: a placeholder ``9999-12-31 23:59:59`` for "never", a zero date
``0000-00-00`` or ``0001-01-01`` (.NET's empty ``DateTime``), ``1677``/``1970`` from a clock
that lost its battery. Pandas' nanosecond timestamps hold only 1677-09-21 to 2262-04-11, and
a value outside that made whole files fail (``OutOfBoundsDatetime``, ``OverflowError``). Every
function here reads a time outside the whole years :data:`YEARS` (1678 to 2261) as ``NaT``,
like any unreadable value, so that only its row is rejected; :func:`years_out_of_range` tells
a reader which values those were, so that the reject can say why.
"""

from __future__ import annotations

import datetime as _dt
import re

import numpy as np
import pandas as pd

from .errors import PeriodError

#: The zone of wall-clock times when nothing else is said: a UK practice's.
DEFAULT_TZ = "Europe/London"

#: The interval lengths Frontdoor measures and forecasts in: canonical name -> minutes (a
#: calendar month has none). The one table: metrics, forecasts and plans take their names here.
FREQ_MINUTES: dict[str, int | None] = {"15min": 15, "30min": 30, "h": 60, "D": 1440, "W": 10080, "MS": None}
FREQS: tuple[str, ...] = tuple(FREQ_MINUTES)
#: Words people type for them (case-insensitive).
FREQ_ALIASES: dict[str, str] = {
    "15min": "15min", "15t": "15min", "15m": "15min", "quarter-hour": "15min",
    "30min": "30min", "30t": "30min", "30m": "30min", "half-hour": "30min",
    "h": "h", "1h": "h", "hour": "h", "hourly": "h", "60min": "h",
    "d": "D", "1d": "D", "day": "D", "daily": "D",
    "w": "W", "w-mon": "W", "week": "W", "weekly": "W",
    "ms": "MS", "m": "MS", "month": "MS", "monthly": "MS",
}


def canonical_freq(freq: object) -> str | None:
    """The canonical name (:data:`FREQS`) of an interval length as people write it, or None."""
    return FREQ_ALIASES.get(str(freq).strip().lower())


_WEEK = re.compile(r"^\s*(\d{4})-?[Ww](\d{1,2})\s*$")


def parse_week(value: object) -> _dt.date:
    """The Monday of a week given as an ISO week (``2026-W47``, ``2026W47``) or a date in it.

    Parameters
    ----------
    value : str, datetime.date or datetime.datetime

    Returns
    -------
    datetime.date
        The Monday.

    Raises
    ------
    PeriodError
        For anything else, a week number the year does not have, or a year outside
        :data:`PERIOD_YEARS`.

    Examples
    --------
    >>> parse_week("2026-W47"), parse_week("2026-11-18")
    (datetime.date(2026, 11, 16), datetime.date(2026, 11, 16))
    """
    if isinstance(value, _dt.datetime):
        value = value.date()
    if isinstance(value, _dt.date):
        monday = value - _dt.timedelta(days=value.weekday())
    else:
        text = str(value).strip()
        m = _WEEK.match(text)
        if m:
            try:
                monday = _dt.date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
            except ValueError:
                raise PeriodError(f"{text!r}: {m.group(1)} has no ISO week {int(m.group(2))}") from None
        else:
            try:
                day = _dt.date.fromisoformat(text)
            except ValueError:
                raise PeriodError(
                    f"cannot read the week {text[:40]!r}: write it as an ISO week like 2026-W47, "
                    "or a date in it like 2026-11-16"
                ) from None
            monday = day - _dt.timedelta(days=day.weekday())
    year, week, _ = monday.isocalendar()
    if not PERIOD_YEARS[0] <= year <= PERIOD_YEARS[1]:
        raise PeriodError(
            f"the week {year:04d}-W{week:02d} is outside the years Frontdoor works in "
            f"({PERIOD_YEARS[0]} to {PERIOD_YEARS[1]}); check the year"
        )
    return monday


#: First and last whole years a time may have (pandas' nanosecond range, 1677-09-21 to
#: 2262-04-11, less the partial years, so that a conversion between zones stays inside it).
YEARS = (1678, 2261)
_LOWEST = pd.Timestamp(f"{YEARS[0]}-01-01")
_HIGHEST = pd.Timestamp(f"{YEARS[1] + 1}-01-01")  # exclusive
#: What a reject can say of a value :func:`years_out_of_range` flags.
OUT_OF_RANGE = (
    f"a year before {YEARS[0]} or after {YEARS[1]} (a placeholder or a wrong clock); "
    "correct the row or export again"
)

# Formats tried in order on a sample; the first that parses nearly all of it wins.
_FORMATS_YEARFIRST = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    # Dates alone (midnight).
    "%Y-%m-%d",
    "%Y/%m/%d",
)
_FORMATS_DAYFIRST = (
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d/%m/%y %H:%M:%S",
    "%d/%m/%y %H:%M",
    "%d/%m/%Y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%d/%m/%y",
)
_FORMATS_MONTHFIRST = tuple(f.replace("%d/%m", "%m/%d").replace("%d-%m", "%m-%d").replace("%d.%m", "%m.%d") for f in _FORMATS_DAYFIRST)
# Month names cannot be read the wrong way round: tried whatever ``dayfirst`` says. ``%b`` is
# case-insensitive, so NHS Digital's ``01OCT2025`` reads.
_FORMATS_NAMED_MONTH = (
    "%d%b%Y",
    "%d-%b-%Y",
    "%d %b %Y",
    "%d-%b-%Y %H:%M:%S",
    "%d %b %Y %H:%M:%S",
    "%d %b %Y %H:%M",
)
# A value opening with a four-digit year (2026-02-10, 2026/2/10 8:00, 20260210): year first.
_YEAR_FIRST = re.compile(r"^\d{4}(?:[-/.]|\d{4}(?!\d))")

_EPOCH = re.compile(r"^\d{9,10}(\.\d+)?$")
_EPOCH_MS = re.compile(r"^\d{12,13}$")
# A clock time followed by a zone: "08:00:12Z", "08:00:12.5+01:00", "08:00:12 +0000", "08:00 GMT",
# "8:00:12 AM +0000".
_ZONED = re.compile(
    r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[AP]M\s*)?(?:Z|[+-]\d{2}:?\d{2}|UTC|GMT)$", re.IGNORECASE
)
# RFC 2822, as Twilio's REST API writes dates: "Mon, 05 Jan 2026 08:00:12 +0000".
_RFC2822 = re.compile(r"^[A-Za-z]{3},\s*\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{1,2}:\d{2}:\d{2}\s*(?:[+-]\d{4}|GMT|UTC|Z)$")
# How many values (spread over the column) decide whether a column is UTC or wall clock.
SAMPLE_VALUES = 200
# The first four-digit number of a value not inside a longer number or after a decimal point:
# the year in every spelling read here (``+0000`` offsets come after it).
_YEAR_TOKEN = re.compile(r"(?<![\d.])(\d{4})(?!\d)")
_EPOCH_RANGE_S = (
    (_LOWEST - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1),
    (_HIGHEST - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1),
)


#: A wait or talk longer than this is a data error, not a phone call (a day).
MAX_DURATION_S = 86_400.0
#: First and last years a stored record, a measured period or a plan may touch: no phone-system
#: export predates 1970, and spans longer than ~290 years overflow time arithmetic.
PERIOD_YEARS: tuple[int, int] = (1970, 2199)

#: What a reject can say of a duration :func:`plausible_seconds` refuses.
BAD_DURATION = "expected seconds, at most a day; correct the row or export again"


def plausible_seconds(values: pd.Series) -> np.ndarray:
    """Per value: a finite number of seconds from 0 to a day (NaN, ``inf``, ``1e999999``: False).

    Examples
    --------
    >>> plausible_seconds(pd.Series(["35", "1e999999", "", "-1", "90000"])).tolist()
    [True, False, False, False, False]
    """
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore", over="ignore"):
        return np.isfinite(v) & (v >= 0) & (v <= MAX_DURATION_S)


def years_out_of_range(values: pd.Series) -> np.ndarray:
    """Which values name a time outside :data:`YEARS` (read as ``NaT`` by this module).

    Parameters
    ----------
    values : pandas.Series
        Time text as an export writes it (any spelling :func:`parse_datetimes` reads).

    Returns
    -------
    numpy.ndarray
        Boolean, per value: its year (the first four-digit number: ``9999-12-31``,
        ``31/12/9999``, ``01JAN0001``, ``0000-00-00 00:00:00``) is before 1678 or after 2261, or
        it is epoch seconds or milliseconds past that range. Blank and other values are False.

    Examples
    --------
    >>> years_out_of_range(pd.Series(["9999-12-31 23:59:59", "05/01/2026 08:00", "", "1677-01-01"])).tolist()
    [True, False, False, True]
    """
    s = values.astype("string").str.strip()
    year = pd.to_numeric(s.str.extract(_YEAR_TOKEN, expand=False), errors="coerce")
    out = ((year < YEARS[0]) | (year > YEARS[1])).fillna(False).to_numpy(dtype=bool)
    for pattern, per_second in ((_EPOCH, 1), (_EPOCH_MS, 1000)):
        epoch = s.str.match(pattern, na=False).to_numpy(dtype=bool)
        if epoch.any():
            secs = pd.to_numeric(s[epoch], errors="coerce").to_numpy(dtype="float64") / per_second
            out[np.flatnonzero(epoch)] |= (secs < _EPOCH_RANGE_S[0]) | (secs >= _EPOCH_RANGE_S[1])
    return out


def _in_range(t: pd.Series) -> pd.Series:
    """``t`` (any resolution) in nanoseconds, ``NaT`` outside :data:`YEARS`; aware times in UTC.

    Pandas parses an impossible year at a coarser resolution without complaint; the cast to
    nanoseconds that every caller needs would then raise for the whole column.
    """
    aware = getattr(t.dt, "tz", None) is not None
    if aware:
        t = t.dt.tz_convert("UTC")
    wall = t.dt.tz_localize(None) if aware else t
    ok = ((wall >= _LOWEST) & (wall < _HIGHEST)).fillna(False).to_numpy(dtype=bool)
    if not ok.all():
        t = t.where(ok)
    return t.astype("datetime64[ns, UTC]" if aware else "datetime64[ns]")


def _to_datetime(values: pd.Series, wall: bool = False, **kwargs) -> pd.Series:
    """:func:`pandas.to_datetime` (``errors="coerce"``) of ``values`` in nanoseconds, each time
    outside :data:`YEARS` ``NaT`` (:func:`_in_range`), whatever pandas makes of such a value.

    ``wall`` drops a zone pandas found (keeping the clock reading). A value pandas cannot even
    hold (epoch milliseconds past 2262 fail inside pandas) makes the column fall back to one
    value at a time, that value ``NaT``. Other errors (zones pandas cannot mix) propagate.
    """

    def parse(v: pd.Series) -> pd.Series:
        t = pd.to_datetime(v, errors="coerce", **kwargs)
        if wall and getattr(t.dt, "tz", None) is not None:
            t = t.dt.tz_localize(None)
        return _in_range(t)

    try:
        return parse(values)
    except (OverflowError, pd.errors.OutOfBoundsDatetime, AssertionError):
        pass
    aware = bool(kwargs.get("utc")) and not wall
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]" if aware else "datetime64[ns]")
    for i in range(len(values)):
        try:
            out.iloc[i] = parse(values.iloc[i : i + 1]).iloc[0]
        except (OverflowError, ValueError, TypeError, AssertionError):
            continue  # NaT, as pandas' own errors="coerce" would have made it
    return out


def _utc_kind(s: pd.Series) -> pd.Series:
    """Per value: ``"s"``/``"ms"`` (epoch), ``"rfc"`` (RFC 2822), ``"zoned"``, or ``""`` (wall clock)."""
    kind = pd.Series("", index=s.index, dtype=object)
    for name, pattern, how in (
        ("s", _EPOCH, "match"),
        ("ms", _EPOCH_MS, "match"),
        ("rfc", _RFC2822, "match"),
        ("zoned", _ZONED, "contains"),
    ):
        todo = (kind == "").to_numpy()
        if not todo.any():
            break
        sub = s[todo]
        hit = (sub.str.match(pattern, na=False) if how == "match" else sub.str.contains(pattern, na=False)).to_numpy()
        kind.loc[sub.index[hit]] = name
    return kind


def _parse_utc_kinds(s: pd.Series, kind: pd.Series, fmt: str | None, dayfirst: bool) -> pd.Series:
    """Epoch, RFC 2822 and zoned values (``kind`` not empty) as UTC; ``NaT`` for the others."""
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns, UTC]")
    for unit in ("s", "ms"):
        m = (kind == unit).to_numpy()
        if m.any():
            out.loc[m] = _to_datetime(pd.to_numeric(s[m], errors="coerce"), unit=unit, utc=True)
    m = (kind == "rfc").to_numpy()
    if m.any():
        txt = s[m].str.replace(r"\s*(?:GMT|UTC|Z)$", " +0000", regex=True)
        out.loc[m] = _to_datetime(txt, format="%a, %d %b %Y %H:%M:%S %z", utc=True)
    m = (kind == "zoned").to_numpy()
    if m.any():
        txt = s[m].str.replace(r"\s*(?:UTC|GMT)$", "+00:00", regex=True, case=False)
        parsed = pd.Series(pd.NaT, index=txt.index, dtype="datetime64[ns, UTC]")
        for f in ([fmt] if fmt else []) + ["ISO8601"]:
            bad = parsed.isna()
            if bad.any():
                parsed.loc[bad] = _to_datetime(txt[bad], format=f, utc=True)
        bad = parsed.isna()
        if bad.any():
            # Day-first or spelled-out dates with a zone: the slow, general parser.
            sub = txt[bad]
            for part, first in _reading_orders(sub, dayfirst):
                parsed.loc[sub.index[part]] = _to_datetime(sub[part], format="mixed", dayfirst=first, utc=True)
            parsed.loc[sub.index[years_out_of_range(sub)]] = pd.NaT  # as in _parse_mixed
        out.loc[m] = parsed
    return out


def _reading_orders(s: pd.Series, dayfirst: bool) -> list[tuple[np.ndarray, bool]]:
    """Split ``s`` for pandas' general parser: (mask, dayfirst) for the values that open with a
    four-digit year (never day-first) and for the others (``dayfirst``)."""
    year = s.str.match(_YEAR_FIRST, na=False).to_numpy(dtype=bool)
    return [(m, first) for m, first in ((year, False), (~year, dayfirst)) if m.any()]


def _parse_wall(s: pd.Series, todo: pd.Series, fmt: str | None, dayfirst: bool, mixed: bool = True) -> pd.Series:
    """Wall-clock values (``todo``) tried format by format, then (``mixed``) by pandas' general
    parser; ``NaT`` where none fits."""
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    formats: list[str] = [fmt] if fmt else []
    formats += list(_FORMATS_YEARFIRST)
    formats += list(_FORMATS_DAYFIRST if dayfirst else _FORMATS_MONTHFIRST)
    formats += list(_FORMATS_NAMED_MONTH)
    remaining = todo.copy()
    # A year-first format can only fit a value opening with the year, any other only one that
    # does not: each format is tried on its own values (a day-first column is not run through
    # every year-first format first).
    year = s.str.match(_YEAR_FIRST, na=False).fillna(False).astype(bool)
    for i, f in enumerate(formats):
        if not remaining.any():
            break
        mine = remaining if (fmt and i == 0) else remaining & (year if f.startswith("%Y") else ~year)
        if not mine.any():
            continue
        parsed = _to_datetime(s[mine], format=f)
        ok = parsed.notna()
        if ok.any():
            out.loc[parsed.index[ok]] = parsed[ok].astype("datetime64[ns]")
            remaining.loc[parsed.index[ok]] = False
    if mixed and remaining.any():
        t = _parse_mixed(s[remaining], dayfirst)
        ok = t.notna()
        out.loc[t.index[ok]] = t[ok]
    return out


def _parse_mixed(s: pd.Series, dayfirst: bool) -> pd.Series:
    """The last resort for odd spellings ("5 Jan 2026 8:00am", single-digit parts): naive.

    Values opening with a four-digit year are read year-month-day whatever ``dayfirst`` says.
    """
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    for part, first in _reading_orders(s, dayfirst):
        try:
            parsed = _to_datetime(s[part], wall=True, format="mixed", dayfirst=first)
        except (ValueError, TypeError):  # zones pandas cannot mix in one column
            continue
        out.loc[s.index[part]] = parsed
    # The general parser guesses: it reads 01JAN0001 as 2001. A year written out of range is
    # out of range, whatever it makes of it.
    out[years_out_of_range(s)] = pd.NaT
    return out


def parse_datetimes(
    values: pd.Series, fmt: str | None = None, dayfirst: bool = True, tz: str | None = None
) -> pd.Series:
    """Parse a column of date-times as written in an export.

    Parameters
    ----------
    values : pandas.Series
        Strings (empty means missing).
    fmt : str, optional
        An explicit ``strptime`` format; values it does not fit are tried the other ways.
    dayfirst : bool
        How to read ambiguous dates with the year last, ``01/02/2026`` (UK exports are
        day-first). Values starting with the year are year-month-day either way.
    tz : str, optional
        The export's zone, used only for a column mixing UTC and wall-clock values (see
        Notes); :data:`DEFAULT_TZ` when not given.

    Returns
    -------
    pandas.Series
        ``datetime64[ns]`` naive for wall-clock values, or ``datetime64[ns, UTC]`` when the
        values carry an offset (``Z``, ``+01:00``, ``UTC``, RFC 2822) or are epoch seconds or
        milliseconds; ``NaT`` where nothing fits.

    Notes
    -----
    Whether a column is UTC or wall clock is decided by the majority of a sample of its
    non-empty values (:data:`SAMPLE_VALUES`, spread from the first to the last), never by the
    first alone: one odd value at the top cannot shift the whole column by an hour or make it
    unreadable. Every value is then read as what it is: in a UTC column, wall-clock values are
    converted from ``tz``; in a wall-clock column, values with an offset or epoch values are
    converted to ``tz``'s wall clock (so the ingest's conversion gives the exact instant back,
    but for the repeated autumn hour).
    """
    s = values.astype("string").str.strip()
    s = s.where(s != "", pd.NA)
    todo = s.notna()
    if not todo.any():
        return pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    present = s[todo]
    pick = np.unique(np.linspace(0, len(present) - 1, min(len(present), SAMPLE_VALUES)).astype(np.int64))
    sample_kind = _utc_kind(present.iloc[pick])
    zone = tz or DEFAULT_TZ
    if (sample_kind != "").sum() * 2 > len(sample_kind):
        kind = _utc_kind(present)
        out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns, UTC]")
        out.loc[present.index] = _parse_utc_kinds(present, kind, fmt, dayfirst)
        wall = (kind == "").to_numpy()
        if wall.any():
            sub = present[wall]
            t = _parse_wall(sub, pd.Series(True, index=sub.index), fmt, dayfirst)
            out.loc[sub.index] = localize(t, zone).astype("datetime64[ns, UTC]")
        return out
    out = _parse_wall(s, todo, fmt, dayfirst, mixed=False)
    left = todo & out.isna()
    if left.any():
        sub = s[left]
        kind = _utc_kind(sub)
        aware = (kind != "").to_numpy()
        if aware.any():
            t = _parse_utc_kinds(sub[aware], kind[aware], fmt, dayfirst)
            out.loc[t.index] = t.dt.tz_convert(zone).dt.tz_localize(None).astype("datetime64[ns]")
        if (~aware).any():
            t = _parse_mixed(sub[~aware], dayfirst)
            ok = t.notna()
            out.loc[t.index[ok]] = t[ok]
    return out


def parse_utc(values: pd.Series, dayfirst: bool = True) -> pd.Series:
    """Parse times that are UTC unless they say otherwise (cloud exports and REST APIs).

    :func:`parse_datetimes` with the zone of wall-clock values being UTC: values with an
    offset, ``Z``, ``UTC``/``GMT`` or in RFC 2822 form are converted exactly, values without a
    zone are taken as UTC. Use it only for sources documented to write UTC.

    Returns
    -------
    pandas.Series
        ``datetime64[ns, UTC]``; ``NaT`` where blank or unreadable.
    """
    t = parse_datetimes(values, dayfirst=dayfirst, tz="UTC")
    if getattr(t.dt, "tz", None) is None:
        t = t.dt.tz_localize("UTC")
    # Graph writes 7 fractional digits: nanoseconds keep them.
    return t.astype("datetime64[ns, UTC]")


def localize(naive: pd.Series, tz: str = DEFAULT_TZ, state: dict | None = None) -> pd.Series:
    """Convert wall-clock times in ``tz`` to UTC, resolving the clock changes.

    Parameters
    ----------
    naive : pandas.Series
        ``datetime64`` without timezone, in file order. Already-aware values are converted.
    tz : str
        IANA timezone name of the export.
    state : dict, optional
        For a file read in chunks: pass the same (initially empty) dict with each chunk, in
        file order, so that a chunk starting inside the repeated autumn hour knows whether
        the clock has already gone back.

    Returns
    -------
    pandas.Series
        ``datetime64[ns, UTC]``; ``NaT`` where ``naive`` is, or is a time outside :data:`YEARS`
        (``9999-12-31`` from a reader that parsed it itself).
    """
    naive = _in_range(naive)
    if getattr(naive.dt, "tz", None) is not None:
        return naive
    if naive.empty:
        return naive.dt.tz_localize("UTC")
    # Which rows fall in an ambiguous hour? Localise both ways and compare.
    as_dst = naive.dt.tz_localize(tz, ambiguous=np.ones(len(naive), dtype=bool), nonexistent="shift_forward")
    as_std = naive.dt.tz_localize(tz, ambiguous=np.zeros(len(naive), dtype=bool), nonexistent="shift_forward")
    amb = (as_dst != as_std).to_numpy() & naive.notna().to_numpy()
    if not amb.any():
        return as_dst.dt.tz_convert("UTC")
    flags = np.ones(len(naive), dtype=bool)  # True = summer time (first pass)
    vals = naive.to_numpy()
    days = naive.dt.normalize().to_numpy()
    for day in np.unique(days[amb]):
        idx = np.flatnonzero(amb & (days == day))
        latest, back = (None, False) if state is None else state.get(day, (None, False))
        for i in idx:
            v = vals[i]
            if latest is not None and not back and v < latest - np.timedelta64(15, "m"):
                back = True
            if not back:
                latest = v if latest is None or v > latest else latest
            flags[i] = not back
        if state is not None:
            state[day] = (latest, back)
    res = naive.dt.tz_localize(tz, ambiguous=flags, nonexistent="shift_forward")
    return res.dt.tz_convert("UTC")


_HMS = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")


def parse_durations(values: pd.Series) -> pd.Series:
    """Seconds from ``123``, ``123.5``, ``00:02:03``, ``2:03``, ``1 day, 00:00:05``; NaN if blank/bad.

    ``inf``, ``1e400`` and ``NaN`` spelt out are bad values too (NaN): no call lasts forever.
    """
    s = values.astype("string").str.strip()
    num = pd.to_numeric(s, errors="coerce")
    num = pd.Series(num.to_numpy(dtype="float64", na_value=np.nan), index=s.index)
    num[~np.isfinite(num.to_numpy())] = np.nan
    need = num.isna() & s.notna() & (s != "")
    if need.any():
        parts = s[need].str.extract(r"^(?:(\d+) days?,?\s*)?(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")
        secs = (
            pd.to_numeric(parts[0], errors="coerce").fillna(0) * 86400
            + pd.to_numeric(parts[1], errors="coerce").fillna(0) * 3600
            + pd.to_numeric(parts[2], errors="coerce") * 60
            + pd.to_numeric(parts[3], errors="coerce")
        )
        num = num.astype("float64")
        num.loc[need] = secs.to_numpy()
    return num.astype("float64")
