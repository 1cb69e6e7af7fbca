"""Ingest: export files → canonical, pseudonymised calls in the store.

The one path every format goes through. A parser yields raw calls; here they get, for every
format alike: UTC times (local wall clock converted with the export's timezone), keyed caller and
agent pseudonyms, a stable ``call_id`` where the source has none, validation, then a bounded
staging write and an atomic, deduplicating commit per partition, rejects with reasons, and a
manifest row that reconciles::

    records (calls built + rows rejected) = written + duplicates + rejected
    rows read = records + rows merged into another row's call + rows skipped (not calls)
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as _dt
import functools
import hashlib
import queue
import shutil
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from telephony.errors import AmbiguousFormatError, BadInputError, UnknownFormatError
from telephony.formats import FORMATS, Format, ParsedChunk, ReadContext
from telephony.firewall import LINE_LABEL_PREFIX, guard_table, mask_text
from telephony.privacy import Pseudonymiser
from telephony.schema import CALL_SCHEMA, DIRECTIONS, EARLIEST, LATEST, MAX_DURATION_S, OUTCOMES, validate_calls
from telephony.sources import Reject, Source, open_source
from telephony.store import Store, validate_practice_id
from telephony.timeutil import DEFAULT_TZ, localize
from telephony.formats.mapping import mapping_format

SURE = 0.9
CLOSE = 0.5

ProgressFn = Callable[[int], None]


@dataclass
class IngestResult:
    """What one file's ingest did (the manifest row, as an object)."""

    file: str
    format: str
    practice_id: str
    rows_read: int = 0
    rows_skipped: int = 0
    rows_merged: int = 0
    written: int = 0
    duplicates: int = 0
    rejected: int = 0
    first_utc: pd.Timestamp | None = None
    last_utc: pd.Timestamp | None = None
    skipped: Counter = field(default_factory=Counter)
    unknown: Counter = field(default_factory=Counter)
    rejects_path: Path | None = None
    ingest_id: str = ""
    # What a skipped source row is, singular ("non-call row"): the summary says "1 non-call
    # row skipped", "2 non-call rows skipped".
    skipped_noun: str = "non-call row"
    # Calls emitted twice from the file with different details (a call's rows split): the
    # later parts are among the rejects (see ingest_file).
    split_calls: int = 0
    # What the readers decided that a person should know (a column chosen between two, a clock
    # that looks off): printed under the summary line.
    notes: list[str] = field(default_factory=list)
    # Rows of earlier ingests of the same file that this one replaced, and those ingests.
    replaced: int = 0
    replaces: list[str] = field(default_factory=list)
    # Signs that the file belongs to another practice (see practice_check).
    warnings: list[str] = field(default_factory=list)
    # Nothing was written: the counts say what an ingest would do.
    dry_run: bool = False

    @property
    def records(self) -> int:
        """Calls built plus rows rejected: equals written + duplicates + rejected."""
        return self.written + self.duplicates + self.rejected

    def summary(self) -> str:
        """One line for people."""
        period = ""
        if self.first_utc is not None and self.last_utc is not None:
            period = f", {self.first_utc:%Y-%m-%d} to {self.last_utc:%Y-%m-%d}"
        extra = []
        if self.rows_merged:
            extra.append(f"{count_of(self.rows_merged, 'leg')} joined")
        if self.rows_skipped:
            extra.append(f"{count_of(self.rows_skipped, self.skipped_noun)} skipped")
        if self.split_calls:
            extra.append(f"{count_of(self.split_calls, 'call')} split in the file, later parts rejected")
        note = f" ({'; '.join(extra)})" if extra else ""
        verb = "would be written" if self.dry_run else "written"
        line = (
            f"{self.file}: {self.format}{period}: {count_of(self.rows_read, 'row')} read{note} -> "
            f"{self.written:,} {verb}, {count_of(self.duplicates, 'duplicate')}, {self.rejected:,} rejected"
        )
        if self.replaced or self.replaces:
            line += (
                f"; replacing {count_of(self.replaced, 'row')} of {'its' if len(self.replaces) < 2 else 'their'} "
                f"earlier ingest{'s' if len(self.replaces) > 1 else ''} ({', '.join(self.replaces)})"
            )
        if self.dry_run:
            line = "dry run, nothing written: " + line
        return "\n".join([line] + [f"  note: {n}" for n in self.notes] + [f"  {w}" for w in self.warnings])


def count_of(n: int, noun: str) -> str:
    """A count and its noun in agreement: ``1 row``, ``0 rows``, ``1,200 rows``.

    ``noun`` is the singular; the plural adds ``s`` to its last word (every noun the summaries
    use does).
    """
    return f"{n:,} {noun if n == 1 else noun + 's'}"


_FORMAT_HINT = (
    " Force one with `fmt` NAME, or describe the export in a mapping file (`mapping` FILE; see 'frontdoor formats')."
)


def detect_format(
    source: Source,
    candidates: dict[str, Format] | None = None,
    what: str = "a call log",
    hint: str = _FORMAT_HINT,
) -> Format:
    """Choose the format of ``source`` by sniffing its first bytes.

    ``candidates`` defaults to the call formats; ``what`` (the kind of file) and ``hint`` (how
    to force a format) word the errors.

    Raises
    ------
    UnknownFormatError
        No format is sure; the message lists those that came close.
    AmbiguousFormatError
        Several formats are equally sure.
    """
    candidates = FORMATS if candidates is None else candidates
    scores = []
    for fmt in candidates.values():
        try:
            s = float(fmt.sniff(source))
        except Exception:  # a sniffer must never stop detection
            s = 0.0
        scores.append((s, fmt.name))
    scores.sort(reverse=True)
    best = [n for s, n in scores if s >= SURE and s == scores[0][0]]
    if len(best) == 1:
        return candidates[best[0]]
    if len(best) > 1:
        raise AmbiguousFormatError(f"{source.name}: could be any of {', '.join(best)}.{hint}")
    close = [f"{n} ({s:.0%})" for s, n in scores if s >= CLOSE]
    if close:
        raise UnknownFormatError(f"{source.name}: not sure of the format; came close: {', '.join(close)}.{hint}")
    raise UnknownFormatError(f"{source.name}: not {what} Frontdoor recognises.{hint}")


def _call_ids(df: pd.DataFrame, raw_start: pd.Series, fmt: str, pseudo: Pseudonymiser) -> pd.Series:
    """Source ids where given, else a keyed hash of the row's identifying fields.

    The basis is what the source wrote, not what Frontdoor made of it: the start as the file
    gives it (wall-clock time, before any zone is applied, or the instant for times that carry
    a zone), the caller's and agent's pseudonyms, the line, and the wait and talk seconds. So
    re-reading a file with another ``--timezone``, or after a vendor word is learned, gives
    every call the same id. The hash is keyed (HMAC under the store's key), so nobody can
    recompute it from a guessed number.
    """
    ids = df["call_id"].astype("string")
    missing = ids.isna() | (ids.str.strip() == "")
    if missing.any():
        sub = df.loc[missing]
        start = raw_start.loc[missing]
        if getattr(start.dt, "tz", None) is not None:
            start = start.dt.tz_convert("UTC")
        basis = (
            fmt
            + "|" + start.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").fillna("")
            + "|" + sub["caller_key"].fillna("").astype(str)
            + "|" + sub["line"].fillna("").astype(str)
            # map(str), not astype(str): pandas 3 keeps NaN missing there (no "nan" text).
            + "|" + sub["wait_s"].round(1).map(str)
            + "|" + sub["talk_s"].round(1).map(str)
            + "|" + sub["agent_key"].fillna("").astype(str)
        )
        hashed = basis.map(lambda s: "h:" + pseudo.digest("call:" + s)[:24])
        ids = ids.copy()
        ids.loc[missing] = hashed.astype("string")
    return ids


def canonicalise(
    raw: pd.DataFrame,
    practice_id: str,
    fmt: str,
    pseudo: Pseudonymiser,
    timezone: str = DEFAULT_TZ,
    clock: dict | None = None,
) -> tuple[pd.DataFrame, list[Reject]]:
    """Turn a parser's raw calls into validated canonical rows.

    ``clock`` is the file's clock-change state (see :func:`telephony.timeutil.localize`): pass
    one dict for all chunks of a file so the repeated autumn hour is resolved across chunks.

    Returns
    -------
    calls : pandas.DataFrame
        Rows of :data:`telephony.schema.CALL_SCHEMA`.
    rejects : list of Reject
        Calls that failed validation, with their first source line and the reasons.
    """
    table, rejects = canonical_table(raw, practice_id, fmt, pseudo, timezone, clock)
    return table.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get), rejects


def _arrow_strings(s: pd.Series) -> pa.Array:
    """A column of strings as Arrow (no copy when pandas already holds it in Arrow)."""
    if not isinstance(s.dtype, pd.StringDtype):
        s = s.astype("string")
    arr = pa.array(s.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr if arr.type == pa.string() else arr.cast(pa.string())


def _seconds(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def as_datetimes(values: pd.Series) -> pd.Series:
    """``values`` as datetimes (unparseable ones NaT); a datetime column passes unchanged."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    return pd.to_datetime(values, errors="coerce")


def rejects_at(reasons: pd.Series, source_lines: pd.Series) -> list[Reject]:
    """A :class:`Reject` per invalid row: ``reasons`` by row position, its line from ``source_lines``."""
    rejects = []
    for i, why in reasons.items():
        ln = source_lines.iloc[i]
        rejects.append(Reject(None if pd.isna(ln) else int(ln), why, ""))
    return rejects


def canonical_table(
    raw: pd.DataFrame,
    practice_id: str,
    fmt: str,
    pseudo: Pseudonymiser,
    timezone: str = DEFAULT_TZ,
    clock: dict | None = None,
) -> tuple[pa.Table, list[Reject]]:
    """:func:`canonicalise`, returning an Arrow table of exactly :data:`CALL_SCHEMA`.

    The ingest's hot path: columns go from the parser's frame to Arrow without passing
    through Python objects, and the full :func:`~telephony.schema.validate_calls` (which words
    the reasons) runs only when a vectorised check of the same rules finds a bad row.
    """
    if raw.empty:
        return CALL_SCHEMA.empty_table(), []
    if not raw["source_line"].is_monotonic_increasing:
        raw = raw.sort_values("source_line", kind="stable")
    raw = raw.reset_index(drop=True)
    n = len(raw)
    raw_start = as_datetimes(raw["start"])
    start_utc = pc.cast(pa.array(localize(raw_start, timezone, clock)), CALL_SCHEMA.field("start_utc").type, safe=False)
    line = _arrow_strings(raw["line"])
    line = pc.if_else(pc.equal(pc.utf8_trim_whitespace(line), ""), pa.scalar(None, pa.string()), line)
    cols = {
        "practice_id": pa.repeat(pa.scalar(practice_id, pa.string()), n),
        "call_id": _no_number_ids(_arrow_strings(raw["call_id"]), pseudo),
        "source_format": pa.repeat(pa.scalar(fmt, pa.string()), n),
        "start_utc": start_utc,
        "direction": _arrow_strings(raw["direction"]),
        "line": line,
        "caller_key": _arrow_strings(pseudo.callers(raw["caller"])),
        "outcome": _arrow_strings(raw["outcome"]),
        # Readers that build their frame whole (queue_log) may not say: unknown.
        "ivr_s": pa.array(_seconds(raw["ivr_s"]), pa.float64(), from_pandas=True)
        if "ivr_s" in raw.columns
        else pa.nulls(n, pa.float64()),
        "wait_s": pa.array(_seconds(raw["wait_s"]), pa.float64(), from_pandas=True),
        "talk_s": pa.array(_seconds(raw["talk_s"]), pa.float64(), from_pandas=True),
        "agent_key": _arrow_strings(pseudo.agents(raw["agent"])),
        # Filled in by the commit (ingest_batches), which names the ingest.
        "ingest_id": pa.nulls(n, pa.string()),
    }
    ids = cols["call_id"]
    missing = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(ids), ""), True).to_numpy(zero_copy_only=False)
    if missing.any():
        df = pa.table(cols).to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
        cols["call_id"] = _arrow_strings(_call_ids(df, raw_start, fmt, pseudo))
    table = pa.Table.from_arrays([cols[f.name] for f in CALL_SCHEMA], schema=CALL_SCHEMA)
    if not _maybe_invalid(table):
        return table, []
    df = table.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
    valid, reasons = validate_calls(df)
    rejects = rejects_at(reasons, raw["source_line"])
    keep = ~np.isin(np.arange(n), reasons.index.to_numpy())
    return table.filter(pa.array(keep)), rejects


# A source id spelt like a phone number (national 0..., +.., 00.., 44..., 10 to 15 digits): a
# column read out of place (a damaged export) can put a number where the id belongs.
_NUMBER_ID = r"^(?:0|\+|00|44)\d{9,14}$"


def _no_number_ids(ids: pa.Array, pseudo: Pseudonymiser) -> pa.Array:
    """Source call ids, except that one spelt like a phone number is replaced by its keyed hash.

    ``call_id`` is kept as the source gives it (it is the dedupe key), so it passes the
    firewall unmasked; no real phone system writes a phone number as its id, but a damaged
    export read with its columns out of place can. Such an id keeps its identity (the same
    text gives the same hash) without the number.
    """
    odd = pc.fill_null(pc.match_substring_regex(ids, _NUMBER_ID), False)
    if not pc.any(odd).as_py():
        return ids
    hashed = [("h:" + pseudo.digest("id:" + v)[:24]) if v is not None else None for v in ids.filter(odd).to_pylist()]
    out = ids.to_pylist()
    for i, h in zip(pc.indices_nonzero(odd).to_pylist(), hashed):
        out[i] = h
    return pa.array(out, pa.string())


def _maybe_invalid(table: pa.Table) -> bool:
    """Whether any row breaks a rule of :func:`~telephony.schema.validate_calls` (same rules)."""

    for col in ("practice_id", "call_id", "source_format"):
        if table[col].null_count or pc.any(pc.equal(table[col], "")).as_py():
            return True
    if table["start_utc"].null_count:
        return True
    lo, hi = pc.min_max(table["start_utc"]).values()
    if lo.as_py() is not None and (lo.as_py() < EARLIEST or hi.as_py() >= LATEST):
        return True
    for col, allowed in (("direction", DIRECTIONS), ("outcome", OUTCOMES)):
        if not pc.all(pc.fill_null(pc.is_in(table[col], value_set=pa.array(allowed)), False)).as_py():
            return True
    for col in ("ivr_s", "wait_s", "talk_s"):
        lo, hi = pc.min_max(table[col]).values()
        if lo.as_py() is not None and (lo.as_py() < 0 or hi.as_py() > MAX_DURATION_S):
            return True
    # NaN is null in the table; validate_calls reads both as missing.
    return bool(table["talk_s"].null_count)


def ingest_file(
    store: Store,
    path: str | Path,
    practice_id: str,
    *,
    fmt: str | Format = "auto",
    timezone: str | None = None,
    mapping: object | None = None,
    progress: ProgressFn | None = None,
    dry_run: bool = False,
) -> IngestResult:
    """Ingest one export file into ``store``.

    Parameters
    ----------
    store : Store
    path : str or Path
    practice_id : str
        ODS code the calls belong to.
    fmt : str or Format
        A registered format name, a :class:`Format`, or ``"auto"`` to sniff.
    timezone : str, optional
        Timezone of wall-clock times in the export, when given (``--timezone``). When not,
        the format's own (a mapping's ``[datetime] timezone``), else
        :data:`~telephony.timeutil.DEFAULT_TZ`. The manifest records the zone used.
    mapping : object, optional
        A loaded mapping (:func:`telephony.formats.mapping.load_mapping`); implies its format.
    progress : callable, optional
        Called with the number of source rows read so far, after each chunk.
    dry_run : bool
        Read and check everything, write nothing (see :func:`ingest_batches`).

    Returns
    -------
    IngestResult

    Raises
    ------
    BadInputError, UnknownFormatError
        The file cannot be read or recognised. Nothing is written.

    Notes
    -----
    A call emitted twice from one file (the same source ``call_id``; the parser's carry split
    its rows because they lay far apart in the file or a clock jumped) must not pass as a
    duplicate: its first part would be kept as if whole. So when a ``call_id`` comes again
    with other details (start, outcome, wait, talk or rows), the later part is rejected, its
    reason naming the line of the first part, and counted in ``split_calls``. A repeat with
    the same details (a file listing a call twice, overlapping exports concatenated) stays a
    plain duplicate, as across files.
    """
    practice_id = validate_practice_id(practice_id)
    path = Path(path)
    source = open_source(path)
    format_ = _resolve_format(source, fmt, mapping)
    ctx = ReadContext(timezone=timezone, mapping=mapping)
    zone = timezone or format_.timezone or ctx.zone
    pseudo = Pseudonymiser(store.key())
    repeats = _RepeatedIds()

    def batches() -> Iterator[CanonicalBatch]:
        clock: dict = {}  # the autumn clock change, remembered from chunk to chunk
        for chunk in _read_ahead(format_.read(source, ctx)):
            merged = sum(r.rows - 1 for r in chunk.rejects)
            raw = chunk.calls
            if len(raw):
                merged += int(raw["n_rows"].sum()) - len(raw)
                raw, split = repeats.split_parts(raw)
            else:
                split = []
            calls, bad = canonical_table(raw, practice_id, format_.name, pseudo, zone, clock)
            yield CanonicalBatch(
                calls, chunk.rejects + split + bad, chunk.rows_read, merged, chunk.skipped, chunk.unknown, practice_id,
                chunk.notes,
            )

    result = ingest_batches(
        store, path, CALLS, batches(), practice_id, format_.name, zone, progress,
        dry_run=dry_run, check_source=getattr(source, "check_unchanged", None),
    )
    result.split_calls = repeats.split
    return result


class _RepeatedIds:
    """The source call ids emitted so far in one ingest, to catch a call emitted twice.

    Kept in bounded, compact form: a 64-bit hash of each id with a 32-bit fingerprint of the
    call's details and its first line (16 bytes a call; a few tens of MB for millions of
    calls), in sorted runs merged as they grow (a log-structured set: at most log2(calls) runs,
    each call merged log2(calls) times, every merge linear). A hash collision could at worst
    make a different call with the same details pass as a duplicate (one in 2**64).
    """

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted hashes, fingerprint << 32 | line)
        self.split = 0

    def split_parts(self, raw: pd.DataFrame) -> tuple[pd.DataFrame, list[Reject]]:
        """Drop (as rejects) the rows of ``raw`` repeating an earlier call id with other details."""
        ids = _arrow_strings(raw["call_id"])
        has_id = pc.fill_null(pc.not_equal(pc.utf8_trim_whitespace(ids), ""), False).to_numpy(zero_copy_only=False)
        rows = np.flatnonzero(has_id)
        if not len(rows):
            return raw, []
        sub = raw if len(rows) == len(raw) else raw.iloc[rows]
        h = _hash_strings(ids if len(rows) == len(raw) else ids.filter(pa.array(has_id)))
        lines = sub["source_line"].fillna(0).to_numpy(dtype=np.int64) & 0xFFFFFFFF
        payload = (_fingerprint(sub) << np.uint64(32)) | lines.astype(np.uint64)
        # In hash order (cheap lookups): the first of equal hashes within the chunk leads.
        order = np.argsort(h)  # (SIMD quicksort: several times a stable sort's speed)
        hs = h[order]
        lead = np.ones(len(hs), dtype=bool)
        lead[1:] = hs[1:] != hs[:-1]
        if not lead.all():  # repeats within the chunk (rare): put each run of them in file order
            order = order[np.lexsort((order, np.cumsum(lead)))]
        ps = payload[order]
        first = ps[np.maximum.accumulate(np.where(lead, np.arange(len(hs)), 0))]
        seen = ~lead
        # ... unless an earlier chunk had the id.
        for run_h, run_p in self._runs:
            at = np.minimum(np.searchsorted(run_h, hs), len(run_h) - 1)
            hit = run_h[at] == hs
            first[hit], seen[hit] = run_p[at[hit]], True
        new = ~seen
        if new.any():
            self._add(hs[new], ps[new])
        differ_sorted = seen & ((first >> np.uint64(32)) != (ps >> np.uint64(32)))
        if not differ_sorted.any():
            return raw, []
        self.split += int(differ_sorted.sum())
        drop = rows[np.sort(order[differ_sorted])]
        first_line = np.empty(len(h), dtype=np.uint64)
        first_line[order] = first & np.uint64(0xFFFFFFFF)
        at = np.searchsorted(rows, drop)
        rejects = [
            Reject(
                int(ln) if pd.notna(ln) else None,
                f"call id seen before in this file with other details (its first part from line {int(fl)}): "
                "the call's rows were split, lying far apart in the file or with a clock that jumped; "
                f"this later part ({int(n)} row{'s' if n != 1 else ''}) is not written. Export the calls "
                "in time order, or check the phone system's clock",
                "",
                rows=int(n),
            )
            for ln, fl, n in zip(raw["source_line"].iloc[drop], first_line[at], raw["n_rows"].iloc[drop])
        ]
        keep = np.ones(len(raw), dtype=bool)
        keep[drop] = False
        return raw.loc[keep].reset_index(drop=True), rejects

    def _add(self, h: np.ndarray, payload: np.ndarray) -> None:
        """Add sorted hashes (none already held) as a run; merge runs of similar size."""
        self._runs.append((h, payload))
        while len(self._runs) > 1 and len(self._runs[-2][0]) <= 2 * len(self._runs[-1][0]):
            (h1, p1), (h2, p2) = self._runs[-2], self._runs[-1]
            # A linear merge of two sorted runs: where each of the second goes among the first.
            at = np.searchsorted(h1, h2) + np.arange(len(h2))
            hh = np.empty(len(h1) + len(h2), dtype=h1.dtype)
            pp = np.empty(len(hh), dtype=p1.dtype)
            rest = np.ones(len(hh), dtype=bool)
            rest[at] = False
            hh[at], pp[at] = h2, p2
            hh[rest], pp[rest] = h1, p1
            self._runs[-2:] = [(hh, pp)]


_P = np.uint64(0x100000001B3)


def _hash_strings(arr: pa.Array) -> np.ndarray:
    """A 64-bit hash of each string of an Arrow string array (nulls as ""), vectorised.

    A polynomial hash of the bytes (modulo 2**64) mixed with the length, then scrambled
    (splitmix64's finaliser), computed on the array's buffers: no Python object per value.
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type not in (pa.string(), pa.large_string()):
        arr = arr.cast(pa.large_string())
    n = len(arr)
    _, off_buf, data_buf = arr.buffers()
    wide = np.int64 if arr.type == pa.large_string() else np.int32
    offsets = np.frombuffer(off_buf, dtype=wide)[arr.offset : arr.offset + n + 1].astype(np.int64)
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    starts, lengths = offsets[:-1], np.diff(offsets)
    if arr.null_count:
        lengths = np.where(pc.is_valid(arr).to_numpy(zero_copy_only=False), lengths, 0)
    # Horner's rule a byte column at a time, rows sorted longest first so that the rows still
    # going at column j are a prefix (a few dozen vector passes for call ids).
    longest = int(lengths.max()) if n else 0
    same = n == 0 or int(lengths.min()) == longest
    # (A 16-bit key sorts by radix: linear.)
    order = None if same else np.argsort((longest - lengths).astype(np.uint32 if longest >> 16 else np.uint16), kind="stable")
    st, ln = (starts, lengths) if same else (starts[order], lengths[order])
    going = np.full(longest, n) if same else np.searchsorted(-ln, -(np.arange(longest) + 1), side="right")
    hs = np.zeros(n, dtype=np.uint64)
    for j, k in enumerate(going.tolist()):
        hs[:k] = hs[:k] * _P + data[st[:k] + j]
    if same:
        h = hs
    else:
        h = np.empty(n, dtype=np.uint64)
        h[order] = hs
    z = h ^ (lengths.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _fingerprint(raw: pd.DataFrame) -> np.ndarray:
    """A 32-bit summary of each raw call's details (start to the second, outcome, wait, talk,
    rows), as uint64: equal for a call listed twice, different for two parts of one call."""
    start = raw["start"]
    if getattr(start.dt, "tz", None) is not None:
        start = start.dt.tz_convert("UTC").dt.tz_localize(None)
    secs = start.to_numpy().astype("datetime64[s]").view(np.int64).astype(np.uint64)
    words = pc.dictionary_encode(_arrow_strings(raw["outcome"].fillna("")))
    outcome = _hash_strings(words.dictionary)[words.indices.to_numpy(zero_copy_only=False)]
    z = secs * np.uint64(0x9E3779B97F4A7C15) ^ outcome
    for col in ("wait_s", "talk_s"):
        tenths = np.nan_to_num(raw[col].to_numpy(dtype="float64", na_value=np.nan) * 10, nan=-1).round()
        z = (z ^ tenths.astype(np.int64).astype(np.uint64)) * np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(29)
    z = (z ^ raw["n_rows"].to_numpy(dtype=np.int64).astype(np.uint64)) * np.uint64(0xBF58476D1CE4E5B9)
    return (z ^ (z >> np.uint64(29))) & np.uint64(0xFFFFFFFF)


@dataclass(frozen=True)
class TableSpec:
    """One kind of record in the store: its table, schema, dedupe key and time column.

    Attributes
    ----------
    name : str
        Table directory in the store (``calls``).
    schema : pyarrow.Schema
        The canonical schema; it has a ``practice_id`` column.
    key : str
        Column unique per practice, on which re-ingests are deduplicated.
    time : str
        Timestamp column: partitions are by its UTC month, rows sorted by it.
    what : str
        What the records are called in messages ("call records").
    skipped_noun : str
        What a summary calls one skipped row, singular ("non-call row").
    """

    name: str
    schema: pa.Schema
    key: str
    time: str
    what: str
    skipped_noun: str = "row"


CALLS = TableSpec("calls", CALL_SCHEMA, "call_id", "start_utc", "call records", "non-call row")


@dataclass
class CanonicalBatch:
    """One bounded batch of canonical rows, with what became of the source rows read for it.

    Attributes
    ----------
    table : pyarrow.Table
        Valid rows of the table's schema.
    rejects : list of Reject
        Source rows (or records) rejected, with line and reason (text already masked).
    rows_read : int
        Source data rows consumed.
    rows_merged : int
        Source rows joined into another row's record (call legs).
    skipped, unknown : collections.Counter
        Rows deliberately not records, by reason; vendor words not known, with counts.
    practice_id : str or None
        Every row's practice when the batch has one; None to read each row's ``practice_id``.
    notes : list of str
        What the reader decided about the file that a person should know (each said once).
    """

    table: pa.Table
    rejects: list[Reject] = field(default_factory=list)
    rows_read: int = 0
    rows_merged: int = 0
    skipped: Counter = field(default_factory=Counter)
    unknown: Counter = field(default_factory=Counter)
    practice_id: str | None = None
    notes: list[str] = field(default_factory=list)


def ingest_batches(
    store: Store,
    path: str | Path,
    spec: TableSpec,
    batches: Iterable[CanonicalBatch],
    practice_id: str,
    format_name: str,
    timezone: str,
    progress: ProgressFn | None = None,
    *,
    dry_run: bool = False,
    check_source: Callable[[], None] | None = None,
) -> IngestResult:
    """Commit one file's canonical batches to the store: the part every ingest shares.

    Under the store's lock the batches are consumed (and so the file parsed) into a bounded
    staging area, passed through the privacy firewall (:func:`telephony.firewall.guard_table`:
    numbers in ``line`` become keyed labels, numbers in any other free-text column are masked),
    then merged into their partitions (per practice, per UTC month of ``spec.time``)
    atomically and deduplicated on ``spec.key``; the rejects file and the manifest row
    (``table`` = ``spec.name``) are written last.

    An earlier ingest of the same file (same content) into the same table and practice is
    replaced: its rows leave the store, across partitions, as this ingest's rows come in, and
    the result counts them as ``replaced``. So re-reading a file with a corrected
    ``--timezone``, or after new vendor words are learned, never adds calls.

    Parameters
    ----------
    store : Store
    path : str or Path
        The file read (named in the result and hashed for the manifest).
    spec : TableSpec
    batches : iterable of CanonicalBatch
        Lazily produced: parsing happens while the lock is held, so a file that turns out
        unreadable leaves the store untouched.
    practice_id : str
        The practice the file was ingested for, or :data:`telephony.store.ALL_PRACTICES`.
    format_name, timezone : str
        For the result and the manifest.
    progress : callable, optional
        Called with the number of source rows read so far, after each batch.
    dry_run : bool
        Parse, check and count everything (duplicates and replaced rows included) but write
        nothing: no partition, rejects file, manifest row or line label.
    check_source : callable, optional
        Called once the file has been read, before anything is written: raises when the
        file changed while it was being read (:meth:`telephony.sources.Source.check_unchanged`).

    Returns
    -------
    IngestResult
        Reconciled: ``rows_read = written + duplicates + rejected + rows_merged + rows_skipped``.

    Raises
    ------
    BadInputError
        The file held no rows at all, or changed while read. Nothing is written.
    """
    path = Path(path)
    # Hashed on a second core while the file is parsed (hashlib releases the GIL).
    sha = _sha256_in_background(path)
    result = IngestResult(
        file=mask_text(path.name), format=format_name, practice_id=practice_id, skipped_noun=spec.skipped_noun
    )
    result.dry_run = dry_run
    result.ingest_id = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    started = pd.Timestamp.now(tz="UTC")
    rejects: list[Reject] = []
    n_records = 0
    key = store.key()
    labels: dict[str, dict[str, tuple[pd.Timestamp, pd.Timestamp]]] = {}
    with store.lock(), _staging(store) as staging:
        staged = _Staged(staging, spec)
        first = last = None
        total_bytes = path.stat().st_size
        for batch in batches:
            result.rows_read += batch.rows_read
            # Vendor words and reasons come from the file: a misread column may hold numbers.
            result.skipped.update({mask_text(k): n for k, n in batch.skipped.items()})
            result.unknown.update({mask_text(k): n for k, n in batch.unknown.items()})
            rejects.extend(batch.rejects)
            result.rows_merged += batch.rows_merged
            for note in batch.notes:
                note = mask_text(note)
                if note not in result.notes:
                    result.notes.append(note)
            table = guard_table(_with_ingest_id(batch.table, result.ingest_id), key, LABELLED_COLUMNS)
            n_records += table.num_rows
            if table.num_rows:
                lo, hi = (pd.Timestamp(v.as_py()) for v in pc.min_max(table[spec.time]).values())
                first = lo if first is None or lo < first else first
                last = hi if last is None or hi > last else last
                _collect_labels(table, spec, batch.practice_id, labels)
                staged.add(table, batch.practice_id)
            if progress is not None:
                progress(result.rows_read)
        if check_source is not None:
            check_source()
        if result.rows_read == 0 and n_records == 0 and not rejects:
            raise BadInputError(f"{result.file}: no {spec.what} found in the file")
        file_sha = sha.result()
        earlier = store.earlier_ingests_of(spec.name, practice_id, file_sha)
        drop = frozenset(earlier["ingest_id"])
        active = store.active_ingests()
        result.warnings += practice_check(store, spec, practice_id, format_name, labels)
        # Partitions to rewrite: those the file's rows go to, and those of the ingest replaced.
        old_months = {pid: months for (table_name, pid), months in store.partitions_of(earlier).items()}
        practices = sorted(set(staged.practices()) | set(old_months))
        for pid in practices:
            months = sorted(set(staged.months(pid)) | set(old_months.get(pid, [])))
            parts = [(m, functools.partial(staged.pop, pid, m)) for m in months]
            if len(practices) == 1:
                done = store.commit_partitions(
                    spec.name, pid, parts, spec.key, spec.time, spec.schema, drop=drop, active=active, publish=not dry_run
                )
            else:
                # Many practices (a national GPAD file): thousands of small partitions, for which
                # a thread pool per practice costs more than it saves.
                done = store.commit_partitions(
                    spec.name, pid, parts, spec.key, spec.time, spec.schema, workers=1, drop=drop, active=active,
                    publish=not dry_run,
                )
            for change in done:
                result.written += change.written
                result.duplicates += change.duplicates
                result.replaced += change.replaced
        result.replaces = sorted(drop)
        result.rejected = len(rejects)
        result.rows_skipped = sum(result.skipped.values())
        result.first_utc, result.last_utc = first, last
        if dry_run:
            return result
        result.rejects_path = store.write_rejects(result.ingest_id, result.file, rejects)
        for pid, seen in labels.items():
            store.record_lines(pid, seen)
        store.append_manifest(
            [
                {
                    "ingest_id": result.ingest_id,
                    "table": spec.name,
                    "practice_id": practice_id,
                    "file_name": result.file,
                    "file_sha256": file_sha,
                    "file_bytes": total_bytes,
                    "format": format_name,
                    "timezone": timezone,
                    "rows_read": result.rows_read,
                    "rows_skipped": result.rows_skipped,
                    "rows_merged": result.rows_merged,
                    "records": result.records,
                    "written": result.written,
                    "duplicates": result.duplicates,
                    "rejected": result.rejected,
                    "first_utc": first,
                    "last_utc": last,
                    "unknown_words": ", ".join(f"{w} ({n})" for w, n in result.unknown.most_common()),
                    "started_utc": started,
                    "finished_utc": pd.Timestamp.now(tz="UTC"),
                    "action": "ingest",
                    "target": ",".join(sorted(drop)) or None,
                    "replaced": result.replaced,
                }
            ]
        )
    return result


#: Columns whose values that hold a phone number are stored as keyed labels, not masked.
LABELLED_COLUMNS: tuple[str, ...] = ("line",)


def _collect_labels(
    table: pa.Table, spec: TableSpec, practice_id: str | None, into: dict[str, dict[str, tuple[pd.Timestamp, pd.Timestamp]]]
) -> None:
    """Note the keyed line labels in ``table`` per practice, with the first and last time seen.

    Looked for among the column's distinct values (a handful of lines), then the rows holding
    them grouped by Arrow: no pass over the rows in Python.
    """
    if "line" not in table.column_names:
        return
    distinct = pc.unique(table["line"])
    labels = distinct.filter(pc.fill_null(pc.match_substring_regex(distinct, f"^{LINE_LABEL_PREFIX}[0-9a-f]+$"), False))
    if not len(labels):
        return
    sub = table.filter(pc.is_in(table["line"], value_set=labels))
    keys = ["line"] if practice_id is not None else ["practice_id", "line"]
    got = sub.group_by(keys).aggregate([(spec.time, "min"), (spec.time, "max")]).to_pylist()
    for row in got:
        pid = practice_id if practice_id is not None else row["practice_id"]
        label = row["line"]
        lo, hi = pd.Timestamp(row[f"{spec.time}_min"]), pd.Timestamp(row[f"{spec.time}_max"])
        seen = into.setdefault(pid, {})
        if label in seen:
            lo, hi = min(lo, seen[label][0]), max(hi, seen[label][1])
        seen[label] = (lo, hi)


def practice_check(
    store: Store,
    spec: TableSpec,
    practice_id: str,
    format_name: str,
    labels: dict[str, dict[str, tuple[pd.Timestamp, pd.Timestamp]]],
) -> list[str]:
    """Warnings when a file looks like another practice's: for an ingest of calls.

    A file whose dialled numbers (by their keyed line labels) have never been seen for
    ``practice_id`` but belong to another practice in the store, or whose phone system has
    never been seen for the practice (which has data from other systems) but is another
    practice's, is probably meant for that practice. Queue names prove nothing (every
    practice has an "Appointments" queue): only numbers and phone systems are compared.
    """
    if spec.name != "calls":
        return []
    out = []
    mine = set(labels.get(practice_id, {}))
    known = store.lines()
    if mine and len(known):
        own = set(known.loc[known["practice_id"] == practice_id, "label"])
        if not (mine & own):
            others = known[(known["practice_id"] != practice_id) & known["label"].isin(mine)]
            for other, g in others.groupby("practice_id"):
                shown = ", ".join(sorted(g["label"])[:3])
                out.append(
                    f"warning: this file's dialled numbers ({shown}) belong to {other} in this store and have "
                    f"never been seen for {practice_id}: is `practice` right? If not, take the ingest back "
                    "(`remove_ingest` ID) and ingest the file for the right practice"
                )
    ing = store.ingests()
    ing = ing[(ing["status"] == "active") & (ing["table"] == "calls")]
    if len(ing):
        systems = set(ing.loc[ing["practice_id"] == practice_id, "format"])
        users = sorted(set(ing.loc[(ing["practice_id"] != practice_id) & (ing["format"] == format_name), "practice_id"]))
        if systems and format_name not in systems and users:
            out.append(
                f"warning: {practice_id}'s calls so far come from {', '.join(sorted(systems))}, never {format_name}, "
                f"which is {', '.join(users[:3])}'s phone system: is `practice` right?"
            )
    return out


def _with_ingest_id(table: pa.Table, ingest_id: str) -> pa.Table:
    """The rows, each marked as written by this ingest (the schema's ``ingest_id`` column)."""
    i = table.schema.get_field_index("ingest_id")
    if i < 0:
        return table
    return table.set_column(i, table.schema.field(i), pa.repeat(pa.scalar(ingest_id, pa.string()), table.num_rows))


def _read_ahead(chunks: Iterator[ParsedChunk]) -> Iterator[ParsedChunk]:
    """The parser's chunks, the next one parsed in a thread while this one is canonicalised.

    Parsers spend most of their time in Arrow and NumPy, which release the GIL, and the
    ingest's own work (pseudonyms, validation, staging) runs meanwhile: two cores instead of
    one. At most one parsed chunk waits, so memory stays bounded. An exception in the parser
    is raised here, in the caller's thread, as if the parser ran inline.
    """
    box: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for chunk in chunks:
                if not put(("chunk", chunk)):
                    return
            put(("done", None))
        except BaseException as exc:  # handed to the caller's thread
            put(("error", exc))
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=work, name="frontdoor-parse", daemon=True)
    worker.start()
    try:
        while True:
            kind, item = box.get()
            if kind == "chunk":
                yield item
            elif kind == "done":
                return
            else:
                raise item
    finally:
        stop.set()
        worker.join()


def _sha256_in_background(path: Path) -> "concurrent.futures.Future[str]":
    """The file's SHA-256 (hex), computed in a thread; ``.result()`` waits for it."""

    def digest() -> str:
        sha = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                sha.update(block)
        return sha.hexdigest()

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="frontdoor-sha256")
    try:
        return pool.submit(digest)
    finally:
        pool.shutdown(wait=False)


def _practice_slices(table: pa.Table) -> list[tuple[str, pa.Table]]:
    """Split canonical rows by their ``practice_id`` (sorted, so each practice is one slice)."""
    pids = table["practice_id"]
    lo, hi = pc.min_max(pids).values()
    if lo.as_py() == hi.as_py():
        return [(lo.as_py(), table)]
    order = pc.sort_indices(pids)
    table = table.take(order)
    codes = pc.dictionary_encode(table["practice_id"]).combine_chunks()
    idx = codes.indices.to_numpy(zero_copy_only=False)
    cuts = np.flatnonzero(idx[1:] != idx[:-1]) + 1
    bounds = [0, *cuts.tolist(), len(idx)]
    names = codes.dictionary.to_pylist()
    return [(names[idx[a]], table.slice(a, b - a)) for a, b in zip(bounds[:-1], bounds[1:])]


def _month_slices(table: pa.Table, time: str = "start_utc") -> list[tuple[str, pa.Table]]:
    """Split canonical rows by partition month (``YYYY-MM`` of ``time``, UTC)."""
    m = table[time].to_numpy().astype("datetime64[M]").astype(np.int64)
    if len(m) > 1 and not np.all(m[1:] >= m[:-1]):
        order = np.argsort(m, kind="stable")
        table, m = table.take(pa.array(order)), m[order]
    cuts = np.flatnonzero(m[1:] != m[:-1]) + 1
    bounds = [0, *cuts.tolist(), len(m)]
    return [
        (f"{1970 + int(m[a]) // 12:04d}-{int(m[a]) % 12 + 1:02d}", table.slice(a, b - a))
        for a, b in zip(bounds[:-1], bounds[1:])
    ]


class _Staged:
    """Canonical rows waiting for their partition's commit, in bounded memory.

    Rows are held in memory per practice and month; past :attr:`LIMIT_ROWS` rows in all, every
    partition's rows are written to one uncompressed Arrow file each in the staging directory.
    Few, large pieces: a month of a time-ordered export is staged once or twice, not once per
    chunk.
    """

    LIMIT_ROWS = 250_000

    def __init__(self, folder: Path, spec: TableSpec):
        self.folder = folder
        self.spec = spec
        self.held: dict[tuple[str, str], list[pa.Table]] = {}
        self.files: dict[tuple[str, str], list[Path]] = {}
        self.index: dict[str, set[str]] = {}  # practice -> months staged (a national file: thousands)
        self.rows = 0
        self.seq = 0

    def add(self, table: pa.Table, practice_id: str | None = None) -> None:
        """Hold rows; ``practice_id`` when all are that practice's, else read from the rows."""
        parts = [(practice_id, table)] if practice_id is not None else _practice_slices(table)
        for pid, rows in parts:
            for month, part in _month_slices(rows, self.spec.time):
                self.held.setdefault((pid, month), []).append(part)
                self.index.setdefault(pid, set()).add(month)
        self.rows += table.num_rows
        if self.rows > self.LIMIT_ROWS:
            self.spill()

    def spill(self) -> None:
        for (pid, month), parts in self.held.items():
            self.seq += 1
            path = self.folder / f"{pid}-{month}-{self.seq:06d}.arrow"
            with ipc.new_file(path, self.spec.schema) as writer:
                for part in parts:
                    writer.write_table(part)
            self.files.setdefault((pid, month), []).append(path)
        self.held.clear()
        self.rows = 0

    def practices(self) -> list[str]:
        return sorted(self.index)

    def months(self, practice_id: str) -> list[str]:
        return sorted(self.index.get(practice_id, ()))

    def pop(self, practice_id: str, month: str) -> list[pa.Table]:
        """The partition's rows (as tables), forgetting them here."""

        key = (practice_id, month)
        out = [ipc.open_file(pa.memory_map(str(p))).read_all() for p in self.files.pop(key, [])]
        return out + self.held.pop(key, [])


@contextlib.contextmanager
def _staging(store: Store):
    """A staging directory removed however the ingest ends (a failed one leaves nothing)."""
    path = store.new_staging()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        with contextlib.suppress(OSError):
            path.parent.rmdir()


def _resolve_format(source: Source, fmt: str | Format, mapping: object | None) -> Format:
    if mapping is not None:
        return mapping_format(mapping)
    if isinstance(fmt, Format):
        return fmt
    if fmt in (None, "", "auto"):
        return detect_format(source)
    if fmt not in FORMATS:
        raise UnknownFormatError(
            f"unknown format {fmt!r}. Known formats: {', '.join(sorted(FORMATS))}, or give `mapping` FILE"
        )
    return FORMATS[fmt]


def ingest_calls(
    store: Store,
    paths: Iterable[str | Path],
    practice_id: str,
    *,
    fmt: str | Format = "auto",
    timezone: str | None = None,
    mapping: object | None = None,
    progress: ProgressFn | None = None,
    dry_run: bool = False,
) -> list[IngestResult]:
    """Ingest several export files of one practice; see :func:`ingest_file`."""
    return [
        ingest_file(store, p, practice_id, fmt=fmt, timezone=timezone, mapping=mapping, progress=progress, dry_run=dry_run)
        for p in paths
    ]
