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

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from ..sources import Reject, Source
from ..timeutil import DEFAULT_TZ

RAW_COLUMNS: tuple[str, ...] = (
    "call_id",
    "start",
    "direction",
    "line",
    "caller",
    "outcome",
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
    timezone : str
        IANA timezone of wall-clock times in the export.
    dayfirst : bool
        Read ambiguous slashed dates day-first (UK) unless told otherwise.
    mapping : object, optional
        A parsed mapping file, for the ``mapping`` format.
    """

    timezone: str = DEFAULT_TZ
    dayfirst: bool = True
    mapping: object | None = None


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
        Vendor words the parser did not know, with counts. Each such row is either rejected
        (when the word decides the outcome) or kept (when it does not), never dropped silently.
    """

    calls: pd.DataFrame
    rejects: list[Reject] = field(default_factory=list)
    rows_read: int = 0
    skipped: Counter = field(default_factory=Counter)
    unknown: Counter = field(default_factory=Counter)


@dataclass(frozen=True)
class Format:
    """A registered input format."""

    name: str
    title: str
    example: str
    sniff: Callable[[Source], float]
    read: Callable[[Source, ReadContext], Iterator[ParsedChunk]]


def raw_frame(n: int = 0, index=None, **cols) -> pd.DataFrame:
    """Build a raw-calls frame, filling the columns not given with nulls (``n_rows`` with 1)."""
    if index is None:
        index = pd.RangeIndex(n)
    out = {}
    for c in RAW_COLUMNS:
        if c in cols:
            v = cols[c]
            out[c] = v.to_numpy() if isinstance(v, pd.Series) else v
        elif c == "n_rows":
            out[c] = 1
        elif c in ("wait_s", "talk_s"):
            out[c] = np.nan
        elif c == "start":
            out[c] = pd.NaT
        else:
            out[c] = None
    df = pd.DataFrame(out, index=index)
    for c in ("call_id", "direction", "line", "caller", "outcome", "agent"):
        df[c] = df[c].astype("string")
    for c in ("wait_s", "talk_s"):
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


def map_words(words: pd.Series, table: dict[str, str]) -> tuple[pd.Series, pd.Series]:
    """Map vendor words to canonical words, case- and space-insensitively.

    Returns
    -------
    mapped : pandas.Series
        Canonical word, ``<NA>`` where unknown.
    unknown : pandas.Series of bool
        Rows whose word was not in ``table``.
    """
    norm = {str(k).strip().lower(): v for k, v in table.items()}
    key = words.astype("string").str.strip().str.lower().fillna("")
    mapped = key.map(norm).astype("string")
    return mapped, mapped.isna()


class GroupCarry:
    """Join rows that belong to one call across chunk boundaries, in bounded memory.

    Rows of one call (queue events, ring-group legs, continuation records) sit close together
    in an export. Each chunk's rows are held with the carry; groups whose latest row is more
    than ``horizon`` older than the newest row seen are complete and released, the rest wait
    for the next chunk. At the end of the file everything is released.

    Parameters
    ----------
    key : str
        Column identifying the call.
    time : str
        A datetime column used to judge completeness.
    horizon : pandas.Timedelta
        How far apart in time one call's rows can be.
    """

    def __init__(self, key: str, time: str, horizon: pd.Timedelta = pd.Timedelta(hours=3)):
        self.key = key
        self.time = time
        self.horizon = horizon
        self._held: pd.DataFrame | None = None

    def push(self, frame: pd.DataFrame, final: bool = False) -> pd.DataFrame:
        """Add rows; return the rows of every group now complete."""
        parts = [f for f in (self._held, frame) if f is not None and len(f)]
        if not parts:
            self._held = None
            return frame.iloc[0:0] if frame is not None else pd.DataFrame()
        allrows = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
        if final:
            self._held = None
            return allrows
        t = allrows[self.time]
        newest = t.max()
        if pd.isna(newest):
            self._held = None
            return allrows
        last = t.groupby(allrows[self.key], sort=False).transform("max")
        open_ = (last >= newest - self.horizon).to_numpy()
        self._held = allrows.loc[open_].reset_index(drop=True)
        return allrows.loc[~open_].reset_index(drop=True)


def head_fields(source: Source, n: int = 20, delimiter: str = ",") -> list[list[str]]:
    """The first ``n`` non-empty lines of the head, split as CSV (the last, maybe cut, dropped)."""
    import csv

    lines = source.head_lines(n + 1)
    if len(lines) > n:
        lines = lines[:n]
    elif len(source.head) >= 60000 and lines:
        lines = lines[:-1]
    try:
        return [row for row in csv.reader(lines, delimiter=delimiter)]
    except csv.Error:
        return []


def rename_columns(frame: pd.DataFrame, variable_map: dict[str, str]) -> pd.DataFrame:
    """Rename vendor columns to canonical names via ``variable_map``.

    ``variable_map`` keys are vendor column names in :func:`~telephony.sources.norm_name` form
    (lower case, letters and digits only), so ``Call Time``, ``call_time`` and ``CALLTIME`` all
    match ``"calltime"``. The first column that maps to a name wins; extra columns are kept
    under their own names (and ignored by the parser).
    """
    from ..sources import norm_name

    ren: dict[str, str] = {}
    taken: set[str] = set()
    for c in frame.columns:
        canon = variable_map.get(norm_name(c))
        if canon and canon not in taken:
            ren[c] = canon
            taken.add(canon)
    return frame.rename(columns=ren)


def require_columns(frame: pd.DataFrame, required: list[str], source: Source, fmt: str) -> None:
    """Raise :class:`~telephony.errors.BadInputError` naming the columns a file lacks."""
    from ..errors import BadInputError
    from ..privacy import mask_digits

    missing = [c for c in required if c not in frame.columns]
    if missing:
        # A headerless file's "column names" are its first row: maybe phone numbers.
        found = mask_digits(", ".join(str(c) for c in frame.columns[:30]))
        raise BadInputError(
            f"{source.name}: not a {fmt} export: missing column(s) {', '.join(missing)} "
            f"(found: {found}). Check the export settings or pass --format/--mapping."
        )


def guess_delimiter(source: Source) -> str:
    """The delimiter of a delimited export: the commonest of , ; tab | in its first line."""
    first = (source.head_lines(1) or [""])[0]
    return max([",", ";", "\t", "|"], key=first.count)
