"""What every phone-system parser shares: its contract and small helpers.

A parser module declares, as data, its vendor→canonical column map and its vendor-word→outcome
table, and provides two functions:

``sniff(source) -> float``
    How sure it is (0–1) that the file is in its format, from the first bytes
    (:attr:`telephony.sources.Source.head`). 1.0 = certain, ≥0.5 = "came close".
``read(source, ctx) -> Iterator[ParsedChunk]``
    The file as bounded chunks of *raw calls* (columns :data:`RAW_COLUMNS`).

Raw calls are canonical except for three things the ingest does once for every format:
``start`` may be wall-clock local time (naive) or UTC (aware); ``caller`` and ``agent`` are
still raw (the ingest pseudonymises them); ``call_id`` may be missing (the ingest hashes the
row's identifying fields).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Mapping, Sequence
import csv

import numpy as np
import pandas as pd

from telephony.sources import Reject, Source, norm_name
from telephony.timeutil import DEFAULT_TZ, parse_datetimes
from telephony.errors import BadInputError
from telephony.privacy import mask_digits

RAW_COLUMNS: tuple[str, ...] = (
    "call_id",
    "start",
    "direction",
    "line",
    "caller",
    "outcome",
    "ivr_s",
    "wait_s",
    "talk_s",
    "agent",
    "source_line",
    "n_rows",
)


@dataclass
class ReadContext:
    """Options a reader may need.

    Attributes
    ----------
    timezone : str or None
        IANA timezone of wall-clock times in the export, when the user gave one (``--timezone``);
        ``None`` when not given, so that a format's own zone (a mapping's ``[datetime]
        timezone``) can apply, else :data:`~telephony.timeutil.DEFAULT_TZ`. Parsers that need a
        zone themselves read :attr:`zone`.
    dayfirst : bool
        Read ambiguous slashed dates day-first (UK) unless told otherwise.
    mapping : object, optional
        A parsed mapping file, for the ``mapping`` format.
    """

    timezone: str | None = None
    dayfirst: bool = True
    mapping: object | None = None

    @property
    def zone(self) -> str:
        """The zone of wall-clock times: the one given, else the mapping's, else the default."""
        return self.timezone or getattr(self.mapping, "timezone", None) or DEFAULT_TZ


@dataclass
class ParsedChunk:
    """One bounded batch of a parser's output.

    Attributes
    ----------
    calls : pandas.DataFrame
        Raw calls, columns :data:`RAW_COLUMNS`. ``n_rows`` is how many source rows made the call
        (more than one where legs or continuation records were joined).
    rejects : list of Reject
        Source rows that could not become calls, with line and reason.
    rows_read : int
        Source data rows consumed by this chunk (rows of calls emitted later, from a carried
        group, are counted when read).
    skipped : collections.Counter
        Rows deliberately not calls, by reason (``"agent event AGENTLOGIN"``, ``"blank line"``).
    unknown : collections.Counter
        Vendor words the parser did not know, with counts. The row is kept as a call with
        outcome (or direction) ``unknown``, never rejected for the word nor dropped silently.
    notes : list of str
        What the reader decided about the file that a person should know (which of two
        columns it took for a field, a clock that looks off), printed once with the summary.
        No raw number may be in a note.
    """

    calls: pd.DataFrame
    rejects: list[Reject] = field(default_factory=list)
    rows_read: int = 0
    skipped: Counter = field(default_factory=Counter)
    unknown: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)


#: How sure a reader is of its format, as ``frontdoor formats`` says it.
EVIDENCE: dict[str, str] = {
    "real": "checked against real exports from running systems",
    "documentation": "built from the vendor's documentation only: not yet checked against a real export",
}


@dataclass(frozen=True)
class Format:
    """A registered input format.

    ``evidence`` is how sure the reader is (a key of :data:`EVIDENCE`); ``evidence_note`` says
    what it was checked against (e.g. "public sample exports of 3CX v16 and v18"), without
    naming or quoting any file's content.
    """

    name: str
    title: str
    example: str
    sniff: Callable[[Source], float]
    read: Callable[[Source, ReadContext], Iterator[ParsedChunk]]
    # The zone of the format's wall-clock times when --timezone is not given (a mapping's own
    # [datetime] timezone); None: the default zone.
    timezone: str | None = None
    evidence: str = "documentation"
    evidence_note: str = ""


def raw_frame(n: int = 0, index=None, **cols) -> pd.DataFrame:
    """Build a raw-calls frame, filling the columns not given with nulls (``n_rows`` with 1).

    Columns given as Series are taken by position (their index is ignored) and keep their
    storage: Arrow-backed strings stay in Arrow rather than being copied through NumPy objects.
    ``start`` is always a datetime64 column (naive unless the values are aware), even when
    empty or all missing, so that chunks concatenate without falling back to ``object``.
    """
    if index is None:
        index = pd.RangeIndex(n)
    out = {}
    for c in RAW_COLUMNS:
        if c in cols:
            v = cols[c]
            out[c] = v.array if isinstance(v, (pd.Series, pd.Index)) else v
        elif c == "n_rows":
            out[c] = 1
        elif c in ("ivr_s", "wait_s", "talk_s"):
            out[c] = np.nan
        elif c == "start":
            out[c] = np.full(len(index), np.datetime64("NaT", "ns"))
        else:
            out[c] = None
    df = pd.DataFrame(out, index=index)
    for c in ("call_id", "direction", "line", "caller", "outcome", "agent"):
        dt = df[c].dtype
        # Arrow-backed "string" (missing = NA) already: kept as it is, no copy.
        if not (isinstance(dt, pd.StringDtype) and dt.storage == "pyarrow" and dt.na_value is pd.NA):
            df[c] = df[c].astype("string")
    start = df["start"]
    if start.isna().all():
        if start.dtype != "datetime64[ns]":
            df["start"] = pd.Series(np.full(len(df), np.datetime64("NaT", "ns")), index=df.index)
    elif not pd.api.types.is_datetime64_any_dtype(start):
        df["start"] = pd.to_datetime(start, errors="coerce")
    for c in ("ivr_s", "wait_s", "talk_s"):
        if df[c].dtype != np.float64:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    df["source_line"] = df["source_line"].astype("Int64")
    df["n_rows"] = df["n_rows"].astype("int64")
    return df.reset_index(drop=True)


def row_text(frame: pd.DataFrame, mask=None, sep: str = ",") -> pd.Series:
    """The row(s) rebuilt as delimited text, for rejects (masked later by :class:`Reject`)."""
    sub = frame if mask is None else frame.loc[mask]
    if sub.empty:
        return pd.Series([], dtype="string")
    return sub.fillna("").astype(str).agg(sep.join, axis=1)


def rejects_from(frame: pd.DataFrame, lines: np.ndarray, mask, reason, sep: str = ",") -> list[Reject]:
    """Make :class:`Reject` objects for the rows of ``frame`` selected by ``mask``.

    ``reason`` is a string, or a Series aligned with ``frame`` giving each row's reason.
    """
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return []
    texts = row_text(frame, mask, sep).tolist()
    lns = np.asarray(lines)[mask].tolist()
    if isinstance(reason, pd.Series):
        reasons = reason[mask].astype(str).tolist()
    else:
        reasons = [reason] * len(lns)
    return [Reject(int(ln), r, t) for ln, r, t in zip(lns, reasons, texts)]


def vendor_word_key(word: object) -> str:
    """A vendor word as it is looked up: lower case, spaces, ``_`` and ``-`` removed.

    Vendors and versions spell one word several ways (``Failed_Cancelled``,
    ``failedcancelled``, ``Failed Cancelled``, ``NO ANSWER``, ``no-answer``): all meet here.
    """
    return _WORD_JUNK.sub("", str(word).lower())


_WORD_JUNK = re.compile(r"[\s_\-]+")


def map_words(words: pd.Series, table: dict[str, str]) -> tuple[pd.Series, pd.Series]:
    """Map vendor words to canonical words, ignoring case, spaces, ``_`` and ``-``.

    Returns
    -------
    mapped : pandas.Series
        Canonical word, ``<NA>`` where unknown.
    unknown : pandas.Series of bool
        Rows whose word was not in ``table``.

    Notes
    -----
    A parser keeps a row whose word is unknown as a call with outcome (or direction)
    ``unknown`` and counts the word; it never rejects the row for it.
    """
    norm = {vendor_word_key(k): v for k, v in table.items()}
    key = words.astype("string").str.lower().str.replace(r"[\s_\-]+", "", regex=True).fillna("")
    mapped = key.map(norm).astype("string")
    return mapped, mapped.isna()


_NAT = np.iinfo(np.int64).min  # NaT as int64


def _int_times(values: pd.Series) -> np.ndarray:
    """Times as int64 microseconds (UTC for aware values; NaT as :data:`_NAT`)."""
    s = values
    if not pd.api.types.is_datetime64_any_dtype(s):
        s = pd.to_datetime(s, errors="coerce", utc=True)
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    # Microseconds: exact enough, and no overflow for a wrong clock centuries out.
    return s.dt.as_unit("us").to_numpy().view(np.int64)


class GroupCarry:
    """Join rows that belong to one call across chunk boundaries, in bounded memory.

    Rows of one call (queue events, ring-group legs, continuation records) sit close together
    in an export. Each chunk's rows are held with the carry; a call (a group of rows sharing
    ``key``) is released once it is complete, the rest wait for the next chunk; at the end of
    the file everything is released. A call is complete when:

    - the file is oldest first and the call's latest row is more than ``horizon`` older than
      the newest rows held, or the file is newest first (web reports, REST APIs, database
      exports sorted by date descending) and its earliest row is more than ``horizon`` newer
      than the oldest rows held. The order is the majority of the time steps seen so far, not
      the first one (a log written at each call's end has starts out of order here and there);
    - or ``done`` is given and the call's last row (in file order) says so (an SMDR record with
      Continuation 0): released at once, whatever the times.

    Robustness: "the newest rows" is a high quantile of the times held (the
    :attr:`OUTLIER_ROWS`-th newest, or the newest :attr:`OUTLIER_SHARE` of them), not the
    maximum, so one row with a wrong (future) clock does not release every open call early; and
    a call with a row among the last :attr:`TAIL_ROWS` rows held is never released before the
    end (its next row may be the first of the next chunk, whatever the times say). A call split
    anyway (its rows far apart in the file) comes out as two calls with the same ``call_id``;
    the ingest reports that (see :func:`telephony.ingest.ingest_file`).

    Parameters
    ----------
    key : str
        Column identifying the call.
    time : str
        A datetime column (naive or aware) used to judge completeness.
    horizon : pandas.Timedelta
        How far apart in time one call's rows can be.
    done : str, optional
        A boolean column marking a call's last row.

    Notes
    -----
    The work is done with NumPy on the key's integer codes and the times as integers
    (:meth:`open_groups`); a parser keeping its own buffer (the queue_log reader keeps Arrow
    arrays) calls that directly with the same rules and state.
    """

    OUTLIER_ROWS = 3
    OUTLIER_SHARE = 0.01
    TAIL_ROWS = 256

    def __init__(
        self, key: str, time: str, horizon: pd.Timedelta = pd.Timedelta(hours=3), *, done: str | None = None
    ):
        self.key = key
        self.time = time
        self.horizon = pd.Timedelta(horizon)
        self.done = done
        self._held: pd.DataFrame | None = None
        self._up = 0  # time steps forward seen so far
        self._down = 0  # ... and backward
        self._last: int | None = None  # the last valid time seen (for the step between chunks)

    @property
    def descending(self) -> bool:
        """Whether the file is judged newest first (so far)."""
        return self._down > self._up

    def _vote(self, t: np.ndarray) -> None:
        """Count the time steps of newly read rows (in file order) towards the file's order."""
        v = t[t != _NAT]
        if not len(v):
            return
        if self._last is not None:
            v = np.concatenate([np.array([self._last], dtype=np.int64), v])
        step = np.diff(v)
        self._up += int(np.count_nonzero(step > 0))
        self._down += int(np.count_nonzero(step < 0))
        self._last = int(v[-1])

    def _frontier(self, t: np.ndarray) -> int:
        """The "newest" of some valid times: a high quantile, robust to a few wrong clocks."""
        n = len(t)
        m = min(n - 1, max(self.OUTLIER_ROWS, int(n * self.OUTLIER_SHARE)))
        k = n - 1 - m
        return int(np.partition(t, k)[k])

    def open_groups(
        self,
        gid: np.ndarray,
        ng: int,
        t: np.ndarray,
        n_new: int,
        done: np.ndarray | None = None,
    ) -> np.ndarray:
        """Which groups are still open (to be held), from rows in file order.

        Parameters
        ----------
        gid : numpy.ndarray
            Group code (0 .. ``ng`` - 1) of each row held, rows in file order (held rows first).
        ng : int
            Number of groups.
        t : numpy.ndarray
            Each row's time as int64 microseconds; NaT as the int64 minimum.
        n_new : int
            How many of the rows (the last ones) are read for the first time: their steps
            update the judged file order.
        done : numpy.ndarray of bool, optional
            Rows that end their call.

        Returns
        -------
        numpy.ndarray of bool
            Per group: True to hold, False when complete.
        """
        n = len(gid)
        t = np.asarray(t, dtype=np.int64)
        if n_new:
            self._vote(t[n - n_new :])
        valid = t != _NAT
        open_ = np.zeros(ng, dtype=bool)
        if valid.any():
            # Newest first: the same rule on negated times (a call's earliest row, the oldest).
            tv = -t[valid] if self.descending else t[valid]
            latest = np.full(ng, _NAT, dtype=np.int64)
            np.maximum.at(latest, gid[valid], tv)
            horizon = int(self.horizon / pd.Timedelta(1, "us"))
            open_ = latest >= self._frontier(tv) - horizon
            open_ &= latest != _NAT
        open_[gid[max(0, n - self.TAIL_ROWS) :]] = True
        if done is not None:
            last_row = np.full(ng, -1, dtype=np.int64)
            np.maximum.at(last_row, gid, np.arange(n, dtype=np.int64))
            open_ &= ~np.asarray(done, dtype=bool)[last_row]
        return open_

    def push(self, frame: pd.DataFrame | None, final: bool = False) -> pd.DataFrame:
        """Add rows (``None`` or an empty frame: none); return the rows of every group now complete.

        Rows come back in file order (held rows first), with a fresh index.
        """
        new = frame if frame is not None and len(frame) and len(frame.columns) else None
        parts = [f for f in (self._held, new) if f is not None]
        if not parts:
            self._held = None
            return frame.iloc[0:0] if frame is not None else pd.DataFrame()
        allrows = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
        if final:
            self._held = None
            return allrows
        gid, uniques = pd.factorize(allrows[self.key], use_na_sentinel=False)
        t = _int_times(allrows[self.time])
        done = None if self.done is None else allrows[self.done].fillna(False).to_numpy(dtype=bool)
        hold = self.open_groups(gid, len(uniques), t, 0 if new is None else len(new), done)[gid]
        if not hold.any():
            self._held = None
            return allrows
        self._held = allrows.loc[hold].reset_index(drop=True)
        return allrows.loc[~hold].reset_index(drop=True)


def head_fields(source: Source, n: int = 20, delimiter: str = ",") -> list[list[str]]:
    """The first ``n`` non-empty lines of the head, split as CSV (the last, maybe cut, dropped)."""

    lines = source.head_lines(n + 1)
    if len(lines) > n:
        lines = lines[:n]
    elif len(source.head) >= 60000 and lines:
        lines = lines[:-1]
    try:
        return [row for row in csv.reader(lines, delimiter=delimiter)]
    except csv.Error:
        return []


# ----------------------------------------------------------------------------- header resolution

#: Data rows of a file's head looked at when two columns could be one field.
HEADER_SAMPLE_ROWS = 20
# Canonical names that hold date-times, when a reader does not say (``times=``): their
# candidates are told apart by whether their values read as times.
_TIME_NAME = re.compile(r"time|date|stamp|start|created|^t_|^(?:end|answer)$")
# Cell values that mean "nothing" in database dumps.
_EMPTY_CELLS = frozenset({"", "null", "none", "nan", "\\n"})
_COUNT_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def resolve_header(
    names: Sequence[object],
    variable_map: Mapping[str, str],
    sample_rows: pd.DataFrame | Sequence[Sequence[object]] | None = None,
    *,
    times: Iterable[str] | None = None,
    exact_first: bool = True,
    preferred_by: str = "the reader",
) -> tuple[dict[str, int], list[str]]:
    """Which column of a header holds each canonical field: one rule for every reader.

    A header maps onto canonical names through ``variable_map`` (keys in
    :func:`~telephony.sources.norm_name` form, so case, spaces and punctuation never matter).
    When several columns map onto one canonical name (a database export with both
    ``date_time`` and an epoch ``time``; a column repeated under another casing), one is
    chosen by this rule, in order:

    1. a column whose head values fit the field beats one whose values do not: for a
       date-time field (``times``, else a name like ``time``, ``date``, ``start``), most of
       its non-empty values read as date-times; for any other field, it has values at all;
    2. then the column named like the field itself (its normalised name *is* the canonical
       name; only when ``exact_first``), then the map's own order of names (a parser's
       ``VARIABLE_MAP`` lists its primary vendor name first; a mapping file lists its
       alternatives in the order the user prefers);
    3. then the name as written, then its position (only exact duplicates are left, and
       their values are the same).

    The header's column order never decides between two different columns, so reordering
    columns, adding unrelated ones, or repeating one under another casing never changes what
    is read.

    Parameters
    ----------
    names : sequence
        The header's column names, as written.
    variable_map : mapping of str to str
        Normalised vendor name → canonical name; its order is the order of preference.
    sample_rows : pandas.DataFrame or sequence of rows, optional
        The first data rows (columns by position); without them rule 1 is skipped.
    times : iterable of str, optional
        Canonical names that hold date-times (default: recognised from the name).
    exact_first : bool
        Whether a column named exactly like the canonical field comes first (rule 2).
    preferred_by : str
        Whose order of names rule 2 follows, for the note (``"the reader"``, a mapping file's
        name).

    Returns
    -------
    mapping : dict of str to int
        Canonical name → position of the column chosen.
    notes : list of str
        One sentence per choice made between columns (for :attr:`ParsedChunk.notes`),
        naming the columns, never quoting values.

    Examples
    --------
    >>> resolve_header(["uid", "date_time", "callid", "time"], {"time": "time", "datetime": "time",
    ...     "callid": "callid"}, [["1", "2026-06-01 08:00:05", "a.1", "1780297205"]])[0]
    {'time': 3, 'callid': 2}
    """
    labels = ["" if n is None else str(n) for n in names]
    keys = [norm_name(n) for n in labels]
    candidates: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        canon = variable_map.get(k)
        if canon:
            candidates.setdefault(canon, []).append(i)
    mapping: dict[str, int] = {}
    notes: list[str] = []
    order: dict[str, dict[str, int]] | None = None
    time_names = None if times is None else set(times)
    for canon, cols in candidates.items():
        if len(cols) == 1:
            mapping[canon] = cols[0]
            continue
        if order is None:
            order = {}
            for k, c in variable_map.items():
                order.setdefault(c, {}).setdefault(k, len(order[c]))
        timeish = canon in time_names if time_names is not None else bool(_TIME_NAME.search(canon))
        fits = {i: _values_fit(_sample_column(sample_rows, i), timeish) for i in cols}
        exact = norm_name(canon)

        def name_rank(i: int) -> int:
            if exact_first and keys[i] == exact:
                return 0
            return 1 + order[canon].get(keys[i], len(order[canon]))

        ranked = sorted(cols, key=lambda i: (not fits[i], name_rank(i), labels[i], i))
        best = ranked[0]
        mapping[canon] = best
        kind = _epoch_kind(_sample_column(sample_rows, best)) if timeish else ""
        notes.append(_choice_note(canon, labels, ranked, fits, name_rank, timeish, preferred_by, kind))
    return mapping, notes


def _sample_column(rows, i: int) -> list[str]:
    """Column ``i`` of the sample rows as strings (``[]`` without rows)."""
    if rows is None:
        return []
    if isinstance(rows, pd.DataFrame):
        if i >= rows.shape[1]:
            return []
        return rows.iloc[:HEADER_SAMPLE_ROWS, i].fillna("").astype(str).tolist()
    return [str(r[i]) if i < len(r) and r[i] is not None else "" for r in list(rows)[:HEADER_SAMPLE_ROWS]]


def _values_fit(values: list[str], timeish: bool) -> bool:
    """Whether a column's head values fit its field: present, and read as times for a time."""
    present = [v.strip() for v in values if v.strip().lower() not in _EMPTY_CELLS]
    if not present:
        return False
    if not timeish:
        return True
    ok = _count_times(present)
    return ok > 0 and 2 * ok >= len(present)


def _count_times(values: list[str]) -> int:
    """How many of the values read as date-times; one out of pandas' range counts as not."""
    try:
        return int(parse_datetimes(pd.Series(values, dtype="string")).notna().sum())
    except (pd.errors.OutOfBoundsDatetime, OverflowError, ValueError, AssertionError):
        # The parser gives up on the whole column for one value centuries out (pandas raises
        # AssertionError for some epochs past 2262): count value by value instead.
        n = 0
        for v in values:
            try:
                n += int(parse_datetimes(pd.Series([v], dtype="string")).notna().sum())
            except (pd.errors.OutOfBoundsDatetime, OverflowError, ValueError, AssertionError):
                pass
        return n


def _epoch_kind(values: list[str]) -> str:
    """``"epoch seconds"`` (or milliseconds) when every present value is one, else ``""``."""
    present = [v.strip() for v in values if v.strip().lower() not in _EMPTY_CELLS]
    if present and all(_EPOCH_S.match(v) for v in present):
        return "epoch seconds"
    if present and all(_EPOCH_MS.match(v) for v in present):
        return "epoch milliseconds"
    return ""


_EPOCH_S = re.compile(r"^\d{9,10}(?:\.\d+)?$")
_EPOCH_MS = re.compile(r"^\d{12,13}$")


def _choice_note(canon, labels, ranked, fits, name_rank, timeish, preferred_by, kind="") -> str:
    """The sentence saying which of several columns was taken for ``canon``, and why."""
    best, rest = ranked[0], ranked[1:]
    n = len(ranked)
    count = _COUNT_WORDS[n] if n < len(_COUNT_WORDS) else "several"
    if fits[best] and not all(fits[i] for i in rest):
        why = "its values read as times" if timeish else "it has values, the other is empty"
    elif name_rank(best) == 0:
        why = "it is named like the field"
    elif name_rank(best) < min(name_rank(i) for i in rest):
        why = f"the name {preferred_by} lists first"
    else:
        why = "the same name written another way: the first as written"
    if kind:
        why = f"{kind}; {why}"
    others = ", ".join(f"`{labels[i]}`" for i in rest)
    return f"{count} columns could be `{canon}`: took `{labels[best]}` ({why}), not {others}"


def apply_header(frame: pd.DataFrame, mapping: Mapping[str, int]) -> pd.DataFrame:
    """The frame with the chosen columns renamed to their canonical names (no copy of data).

    Columns not chosen keep their names, except one whose name would clash with a canonical
    name (or with another column): it is renamed aside (``"<name> (not used)"``), so a frame
    never has two columns of one name.
    """
    by_pos = {pos: canon for canon, pos in mapping.items()}
    out_names: list[str] = []
    taken = set(mapping)
    for i, c in enumerate(frame.columns):
        if i in by_pos:
            out_names.append(by_pos[i])
            continue
        name = str(c)
        while name in taken:
            name = f"{name} (not used)"
        taken.add(name)
        out_names.append(name)
    if out_names == [str(c) for c in frame.columns]:
        return frame
    out = frame.copy(deep=False)
    out.columns = out_names
    return out


def rename_columns(
    frame: pd.DataFrame,
    variable_map: Mapping[str, str],
    notes: list[str] | None = None,
    *,
    times: Iterable[str] | None = None,
    memo: dict | None = None,
) -> pd.DataFrame:
    """Rename vendor columns to canonical names via ``variable_map``; never two of one name.

    ``variable_map`` keys are vendor column names in :func:`~telephony.sources.norm_name` form
    (lower case, letters and digits only), so ``Call Time``, ``call_time`` and ``CALLTIME`` all
    match ``"calltime"``. Where several columns map onto one canonical name, the one kept is
    chosen by :func:`resolve_header` from the names and the frame's first rows; the others are
    kept under their own names (renamed aside if that name is a canonical one). Extra columns
    are kept as they are (and ignored by the parser).

    Parameters
    ----------
    frame : pandas.DataFrame
    variable_map : mapping of str to str
    notes : list of str, optional
        Each choice made between columns is appended here once (for :attr:`ParsedChunk.notes`).
    times : iterable of str, optional
        Canonical names holding date-times (see :func:`resolve_header`).
    memo : dict, optional
        Kept by the caller across the chunks of one file: the choice made on the first chunk
        is reused for every later chunk with the same header, so all chunks agree.

    Returns
    -------
    pandas.DataFrame
        The same data, columns renamed.
    """
    key = tuple(str(c) for c in frame.columns)
    if memo is not None and key in memo:
        mapping, found = memo[key]
    else:
        mapping, found = resolve_header(list(frame.columns), variable_map, frame, times=times)
        if memo is not None:
            memo[key] = (mapping, found)
    if notes is not None:
        notes.extend(n for n in found if n not in notes)
    return apply_header(frame, mapping)


def require_columns(frame: pd.DataFrame, required: list[str], source: Source, fmt: str) -> None:
    """Raise :class:`~telephony.errors.BadInputError` naming the columns a file lacks.

    The message says the file, the missing canonical columns, the columns found (digits of
    phone-number-like runs masked: a headerless file's "names" are its first row) and how to
    fix it.
    """

    missing = [c for c in required if c not in frame.columns]
    if missing:
        # A headerless file's "column names" are its first row: maybe phone numbers.
        found = mask_digits(", ".join(str(c) for c in frame.columns[:30]))
        raise BadInputError(
            f"{source.name}: not a {fmt} export: missing column(s) {', '.join(missing)} "
            f"(found: {found}). Check the export settings or give `fmt` or `mapping`."
        )


def guess_delimiter(source: Source) -> str:
    """The delimiter of a delimited export: the commonest of , ; tab | in its first line."""
    first = (source.head_lines(1) or [""])[0]
    return max([",", ";", "\t", "|"], key=first.count)
