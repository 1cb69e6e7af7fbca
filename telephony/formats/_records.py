"""Helpers shared by the parsers of record-per-call exports (3CX, Teams, Twilio, Amazon Connect).

These exports differ from Asterisk's logs in three ways that every one of their parsers meets:
their times often carry a zone (``Z``, ``+0000``, RFC 2822), they come as JSON as often as CSV
(nested objects to flatten), and web portals and REST APIs list calls newest first, which the
plain :class:`~telephony.formats._base.GroupCarry` (built for logs in time order) does not expect.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import pandas as pd

from ..sources import Chunk, Reject, Source, norm_name, read_delimited
from ..timeutil import parse_datetimes
from ._base import GroupCarry, rename_columns

# ----------------------------------------------------------------------------- times

# A clock time followed by a zone: "08:00:12Z", "08:00:12.5+01:00", "08:00:12 +0000", "08:00 GMT".
_ZONED = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2}|UTC|GMT)$", re.IGNORECASE)
# RFC 2822, as Twilio's REST API writes dates: "Mon, 05 Jan 2026 08:00:12 +0000".
_RFC2822 = re.compile(r"^[A-Za-z]{3},\s*\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{1,2}:\d{2}:\d{2}\s*(?:[+-]\d{4}|GMT|UTC|Z)$")


def parse_utc(values: pd.Series, dayfirst: bool = True) -> pd.Series:
    """Parse times that are UTC unless they say otherwise.

    Parameters
    ----------
    values : pandas.Series
        Strings as the export wrote them; empty means missing.
    dayfirst : bool
        How to read ambiguous slashed dates.

    Returns
    -------
    pandas.Series
        ``datetime64[ns, UTC]``; ``NaT`` where blank or unreadable.

    Notes
    -----
    Values are classified one by one rather than by the first value (as
    :func:`telephony.timeutil.parse_datetimes` does), so one unreadable value at the top of a
    chunk cannot make the zoned values below it be read as wall-clock time. Values with an
    offset, ``Z``, ``UTC``/``GMT`` or in RFC 2822 form are converted exactly; values without a
    zone are taken as UTC (the callers use this only for sources documented to write UTC).
    """
    s = values.astype("string").str.strip()
    s = s.where(s != "", pd.NA)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns, UTC]")
    present = s.notna()
    if not present.any():
        return out
    rfc = s.str.match(_RFC2822, na=False)
    if rfc.any():
        txt = s[rfc].str.replace(r"\s*(?:GMT|UTC|Z)$", " +0000", regex=True)
        out.loc[rfc] = _ns(pd.to_datetime(txt, format="%a, %d %b %Y %H:%M:%S %z", utc=True, errors="coerce"))
    zoned = s.str.contains(_ZONED, na=False) & ~rfc
    if zoned.any():
        txt = s[zoned].str.replace(r"\s*(?:UTC|GMT)$", "+00:00", regex=True, case=False)
        parsed = pd.to_datetime(txt, format="ISO8601", utc=True, errors="coerce")
        bad = parsed.isna()
        if bad.any():
            # Day-first or spelled-out dates with a zone: the slow, general parser.
            parsed.loc[bad] = pd.to_datetime(txt[bad], format="mixed", dayfirst=dayfirst, utc=True, errors="coerce")
        out.loc[zoned] = _ns(parsed)
    rest = present & ~rfc & ~zoned
    if rest.any():
        t = parse_datetimes(s[rest], dayfirst=dayfirst)
        if getattr(t.dt, "tz", None) is None:
            t = t.dt.tz_localize("UTC")
        out.loc[rest] = _ns(t.dt.tz_convert("UTC"))
    return out


def _ns(t: pd.Series) -> pd.Series:
    # Graph writes 7 fractional digits: keep nanoseconds rather than fail on a lossy cast.
    return t.astype("datetime64[ns, UTC]")


def seconds(values: pd.Series) -> pd.Series:
    """Seconds from ``35``, ``35.0``, ``00:00:35``, ``35s``, ``35 sec``; NaN when blank or bad."""
    from ..timeutil import parse_durations

    s = values.astype("string").str.strip().str.replace(r"\s*(?:s|secs?|seconds?)$", "", regex=True, case=False)
    return parse_durations(s)


# ----------------------------------------------------------------------------- JSON


def _flatten(rec: dict, prefix: str, out: dict) -> None:
    for k, v in rec.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            _flatten(v, name + ".", out)
        elif v is None:
            out[name] = ""
        elif isinstance(v, bool):
            out[name] = "true" if v else "false"
        elif isinstance(v, (list, tuple)):
            out[name] = json.dumps(v)
        else:
            out[name] = str(v)


def records_frame(records: list[dict]) -> pd.DataFrame:
    """JSON records as a frame of strings, nested objects flattened to ``Parent.Child`` columns.

    Missing keys become ``""`` like empty CSV fields, so the same code reads both.
    """
    flat = []
    for r in records:
        d: dict = {}
        _flatten(r, "", d)
        flat.append(d)
    if not flat:
        return pd.DataFrame()
    df = pd.DataFrame.from_records(flat)
    return df.fillna("").astype("string")


def looks_like_json(source: Source) -> bool:
    """Whether the file's text starts like JSON (an object or an array)."""
    return source.kind == "text" and source.head.lstrip()[:1] in ("{", "[")


# ----------------------------------------------------------------------------- CSV


def find_header(
    source: Source, variable_map: dict[str, str], required: set[str], max_lines: int = 15
) -> tuple[int, str, list[str]] | None:
    """Find the header row among the first lines (report downloads put titles above it).

    Returns
    -------
    (skip_lines, delimiter, fields) or None
        Non-blank lines before the header, the delimiter, and the header's fields; ``None`` when
        no line holds every ``required`` canonical column.
    """
    for i, line in enumerate(source.head_lines(max_lines)):
        delim = max([",", ";", "\t", "|"], key=line.count)
        try:
            fields = next(csv.reader([line], delimiter=delim))
        except (csv.Error, StopIteration):
            continue
        canon = {variable_map.get(norm_name(f)) for f in fields}
        if required <= canon:
            return i, delim, fields
    return None


@dataclass
class Batch:
    """One chunk of records renamed to canonical columns, with its accounting.

    Attributes
    ----------
    frame : pandas.DataFrame
        String columns renamed by the parser's ``VARIABLE_MAP`` (others kept as they were).
    original : pandas.DataFrame
        The same rows with the source's own columns, for reject texts.
    lines : numpy.ndarray
        Source line of each row.
    rejects : list of Reject
        Rows the reader could not split (truncated lines, invalid JSON).
    rows_read : int
        Source rows consumed: rows of ``frame`` + rejects + blank lines.
    skipped : collections.Counter
        Blank lines.
    """

    frame: pd.DataFrame
    original: pd.DataFrame
    lines: np.ndarray
    rejects: list[Reject] = field(default_factory=list)
    rows_read: int = 0
    skipped: Counter = field(default_factory=Counter)


def delimited_batches(
    source: Source,
    variable_map: dict[str, str],
    *,
    names: list[str] | None = None,
    header: bool = True,
    delimiter: str = ",",
    skip_lines: int = 0,
) -> Iterator[Batch]:
    """:func:`~telephony.sources.read_delimited` chunks renamed and accounted for."""
    for chunk in read_delimited(source, names, header=header, delimiter=delimiter, skip_lines=skip_lines):
        yield _batch(chunk, variable_map)


def _batch(chunk: Chunk, variable_map: dict[str, str]) -> Batch:
    skipped = Counter({"blank line": chunk.blank}) if chunk.blank else Counter()
    frame = rename_columns(chunk.frame, variable_map)
    rows = len(chunk.frame) + sum(r.rows for r in chunk.rejects) + chunk.blank
    return Batch(frame, chunk.frame, np.asarray(chunk.lines, dtype=np.int64), list(chunk.rejects), rows, skipped)


def json_batches(source: Source, variable_map: dict[str, str]) -> Iterator[Batch]:
    """JSON records (array, wrapped array, JSON lines or concatenated objects) as batches."""
    from ..sources import read_json_records

    for records, lines, rejects in read_json_records(source):
        original = records_frame(records)
        frame = rename_columns(original, variable_map)
        rows = len(records) + sum(r.rows for r in rejects)
        yield Batch(frame, original, np.asarray(lines, dtype=np.int64), list(rejects), rows, Counter())


def column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A canonical column as stripped strings, ``""`` where the export lacks it."""
    if name in frame.columns:
        return frame[name].astype("string").fillna("").str.strip()
    return pd.Series("", index=frame.index, dtype="string")


# ----------------------------------------------------------------------------- grouping

_MIRROR = pd.Timestamp("2100-01-01")


class OrderedCarry:
    """:class:`GroupCarry` for exports in either time order.

    Web reports and REST APIs (3CX call reports, Twilio's ``/Calls``) list calls newest first.
    ``GroupCarry`` releases a group once it is ``horizon`` older than the newest row, which in
    a newest-first file would release every group at once. The order is judged from the first
    chunk (held until it holds two distinct times) by the majority of its steps, and for a
    newest-first file the carry runs on mirrored times, so the logic is the same either way.
    """

    _UNDECIDED_LIMIT = 100_000  # rows held before assuming oldest first (all times equal)

    def __init__(self, key: str, time: str, horizon: pd.Timedelta = pd.Timedelta(hours=3)):
        self._carry = GroupCarry(key, "_carry_t", horizon)
        self._time = time
        self._descending: bool | None = None
        self._pending: list[pd.DataFrame] = []

    @property
    def descending(self) -> bool:
        """Whether the file was judged newest first."""
        return bool(self._descending)

    def _decide(self) -> None:
        valid = pd.concat([f[self._time] for f in self._pending]).dropna()
        # The majority of steps, not the first: a log written at each call's end (Amazon
        # Connect) has starts out of order here and there.
        steps = np.sign(valid.diff().dt.total_seconds().dropna().to_numpy())
        if steps.any():
            self._descending = bool(steps.sum() < 0)
        elif sum(len(f) for f in self._pending) >= self._UNDECIDED_LIMIT:
            self._descending = False

    def _with_carry_time(self, frame: pd.DataFrame) -> pd.DataFrame:
        t = frame[self._time]
        if self._descending:
            t0 = _MIRROR.tz_localize(t.dt.tz) if t.dt.tz is not None else _MIRROR
            t = t0 + (t0 - t)
        return frame.assign(_carry_t=t)

    def push(self, frame: pd.DataFrame | None, final: bool = False) -> pd.DataFrame:
        """Add rows (``None`` at the end); return the rows of every complete group."""
        if frame is not None and len(frame):
            if self._descending is None:
                self._pending.append(frame)
                self._decide()
                if self._descending is None and not final:
                    return frame.iloc[0:0]
                frame = pd.concat(self._pending, ignore_index=True)
                self._pending = []
        elif final and self._pending:
            frame = pd.concat(self._pending, ignore_index=True)
            self._pending = []
        if frame is not None and len(frame):
            frame = self._with_carry_time(frame)
        out = self._carry.push(frame, final)
        return out.drop(columns=["_carry_t"], errors="ignore")
