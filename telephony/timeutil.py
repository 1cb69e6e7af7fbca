"""Parsing times and durations as exports write them, and local time to UTC.

Exports write times in many ways: ISO ``2026-01-05 08:00:01``, UK portals ``05/01/2026 08:00``,
spreadsheet re-saves ``2026/1/5 8:00``, epoch seconds, ISO 8601 with an offset. Durations come as
seconds, ``HH:MM:SS`` or ``MM:SS``.

Local times are converted with the export's timezone (default Europe/London). On the autumn
clock change the hour 01:00–01:59 happens twice; a wall-clock time in it is ambiguous. Rows are
read in file order: the first pass through the hour is taken as summer time and, once the clock
is seen to go back (a time more than 15 minutes earlier than the latest seen in that hour),
the rest as winter time. On the spring change 01:00–01:59 does not exist; such a time can only
come from a misconfigured clock and is moved forward an hour.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

DEFAULT_TZ = "Europe/London"

# Formats tried in order on a sample; the first that parses nearly all of it wins.
_FORMATS_YEARFIRST = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
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
)
_FORMATS_MONTHFIRST = tuple(f.replace("%d/%m", "%m/%d").replace("%d-%m", "%m-%d").replace("%d.%m", "%m.%d") for f in _FORMATS_DAYFIRST)

_EPOCH = re.compile(r"^\d{9,10}(\.\d+)?$")
_EPOCH_MS = re.compile(r"^\d{12,13}$")


def parse_datetimes(
    values: pd.Series, fmt: str | None = None, dayfirst: bool = True
) -> pd.Series:
    """Parse a column of date-times as written in an export.

    Parameters
    ----------
    values : pandas.Series
        Strings (empty means missing).
    fmt : str, optional
        An explicit ``strptime`` format; values it does not fit are tried the other ways.
    dayfirst : bool
        How to read ambiguous slashed dates (UK exports are day-first).

    Returns
    -------
    pandas.Series
        ``datetime64[ns]`` naive for wall-clock values, or ``datetime64[ns, UTC]`` when every
        value carried an offset or was epoch seconds; ``NaT`` where nothing fits.
    """
    s = values.astype("string").str.strip()
    s = s.where(s != "", pd.NA)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    todo = s.notna()
    if not todo.any():
        return out
    sample = s[todo]
    first = str(sample.iloc[0])
    if _EPOCH.match(first) or _EPOCH_MS.match(first):
        num = pd.to_numeric(s, errors="coerce")
        unit = "ms" if _EPOCH_MS.match(first) else "s"
        res = pd.to_datetime(num, unit=unit, utc=True, errors="coerce")
        return res
    if re.search(r"(Z|[+-]\d{2}:?\d{2})$", first) and "T" in first:
        res = pd.to_datetime(s, utc=True, errors="coerce", format="ISO8601")
        return res
    formats: list[str] = [fmt] if fmt else []
    formats += list(_FORMATS_YEARFIRST)
    formats += list(_FORMATS_DAYFIRST if dayfirst else _FORMATS_MONTHFIRST)
    remaining = todo.copy()
    for f in formats:
        if not remaining.any():
            break
        parsed = pd.to_datetime(s[remaining], format=f, errors="coerce")
        ok = parsed.notna()
        if ok.any():
            out.loc[parsed.index[ok]] = parsed[ok].astype("datetime64[ns]")
            remaining.loc[parsed.index[ok]] = False
    if remaining.any():
        # Last resort for odd spellings ("5 Jan 2026 8:00am", single-digit parts).
        parsed = pd.to_datetime(s[remaining], format="mixed", dayfirst=dayfirst, errors="coerce")
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        ok = parsed.notna()
        out.loc[parsed.index[ok]] = parsed[ok].astype("datetime64[ns]")
    return out


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
        ``datetime64[ns, UTC]``.
    """
    if getattr(naive.dt, "tz", None) is not None:
        return naive.dt.tz_convert("UTC")
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
    """Seconds from ``123``, ``123.5``, ``00:02:03``, ``2:03``, ``1 day, 00:00:05``; NaN if blank/bad."""
    s = values.astype("string").str.strip()
    num = pd.to_numeric(s, errors="coerce")
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
