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

from .errors import AmbiguousFormatError, BadInputError, UnknownFormatError
from .formats import FORMATS, Format, ParsedChunk, ReadContext
from .privacy import Pseudonymiser, mask_digits
from .schema import CALL_SCHEMA, validate_calls
from .sources import Reject, Source, open_source
from .store import Store, validate_practice_id
from .timeutil import DEFAULT_TZ, localize

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
            extra.append(f"{self.rows_merged:,} legs joined")
        if self.rows_skipped:
            extra.append(f"{self.rows_skipped:,} non-call rows skipped")
        note = f" ({'; '.join(extra)})" if extra else ""
        return (
            f"{self.file}: {self.format}{period}: {self.rows_read:,} rows read{note} -> "
            f"{self.written:,} written, {self.duplicates:,} duplicate, {self.rejected:,} rejected"
        )


def detect_format(source: Source, candidates: dict[str, Format] | None = None) -> Format:
    """Choose the format of ``source`` by sniffing its first bytes.

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
    hint = " Force one with --format NAME, or describe the export in a mapping file (--mapping FILE; see 'frontdoor formats')."
    if len(best) > 1:
        raise AmbiguousFormatError(f"{source.name}: could be any of {', '.join(best)}.{hint}")
    close = [f"{n} ({s:.0%})" for s, n in scores if s >= CLOSE]
    if close:
        raise UnknownFormatError(f"{source.name}: not sure of the format; came close: {', '.join(close)}.{hint}")
    raise UnknownFormatError(f"{source.name}: not a call log Frontdoor recognises.{hint}")


def _call_ids(df: pd.DataFrame, fmt: str) -> pd.Series:
    """Source ids where given, else a hash of the identifying fields (stable across re-imports)."""
    ids = df["call_id"].astype("string")
    missing = ids.isna() | (ids.str.strip() == "")
    if missing.any():
        sub = df.loc[missing]
        basis = (
            fmt
            + "|" + sub["start_utc"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f").fillna("")
            + "|" + sub["caller_key"].fillna("").astype(str)
            + "|" + sub["direction"].fillna("").astype(str)
            + "|" + sub["line"].fillna("").astype(str)
            + "|" + sub["outcome"].fillna("").astype(str)
            # map(str), not astype(str): pandas 3 keeps NaN missing there (no "nan" text).
            + "|" + sub["wait_s"].round(1).map(str)
            + "|" + sub["talk_s"].round(1).map(str)
            + "|" + sub["agent_key"].fillna("").astype(str)
        )
        hashed = basis.map(lambda s: "h:" + hashlib.sha1(s.encode()).hexdigest()[:24])
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
    start = raw["start"]
    if not pd.api.types.is_datetime64_any_dtype(start):
        start = pd.to_datetime(start, errors="coerce")
    start_utc = pc.cast(pa.array(localize(start, timezone, clock)), CALL_SCHEMA.field("start_utc").type, safe=False)
    line = _arrow_strings(raw["line"])
    line = pc.if_else(pc.equal(pc.utf8_trim_whitespace(line), ""), pa.scalar(None, pa.string()), line)
    cols = {
        "practice_id": pa.repeat(pa.scalar(practice_id, pa.string()), n),
        "call_id": _arrow_strings(raw["call_id"]),
        "source_format": pa.repeat(pa.scalar(fmt, pa.string()), n),
        "start_utc": start_utc,
        "direction": _arrow_strings(raw["direction"]),
        "line": line,
        "caller_key": _arrow_strings(pseudo.callers(raw["caller"])),
        "outcome": _arrow_strings(raw["outcome"]),
        "wait_s": pa.array(_seconds(raw["wait_s"]), pa.float64(), from_pandas=True),
        "talk_s": pa.array(_seconds(raw["talk_s"]), pa.float64(), from_pandas=True),
        "agent_key": _arrow_strings(pseudo.agents(raw["agent"])),
    }
    ids = cols["call_id"]
    missing = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(ids), ""), True).to_numpy(zero_copy_only=False)
    if missing.any():
        df = pa.table(cols).to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
        cols["call_id"] = _arrow_strings(_call_ids(df, fmt))
    table = pa.Table.from_arrays([cols[f.name] for f in CALL_SCHEMA], schema=CALL_SCHEMA)
    if not _maybe_invalid(table):
        return table, []
    df = table.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
    valid, reasons = validate_calls(df)
    rejects = []
    if len(reasons):
        lines = raw["source_line"]
        for i, why in reasons.items():
            ln = lines.iloc[i]
            rejects.append(Reject(None if pd.isna(ln) else int(ln), why, ""))
    keep = ~np.isin(np.arange(n), reasons.index.to_numpy())
    return table.filter(pa.array(keep)), rejects


def _maybe_invalid(table: pa.Table) -> bool:
    """Whether any row breaks a rule of :func:`~telephony.schema.validate_calls` (same rules)."""
    from .schema import DIRECTIONS, MAX_DURATION_S, OUTCOMES

    for col in ("practice_id", "call_id", "source_format"):
        if table[col].null_count or pc.any(pc.equal(table[col], "")).as_py():
            return True
    if table["start_utc"].null_count:
        return True
    for col, allowed in (("direction", DIRECTIONS), ("outcome", OUTCOMES)):
        if not pc.all(pc.fill_null(pc.is_in(table[col], value_set=pa.array(allowed)), False)).as_py():
            return True
    for col in ("wait_s", "talk_s"):
        lo, hi = pc.min_max(table[col]).values()
        if lo.as_py() is not None and (lo.as_py() < 0 or hi.as_py() > MAX_DURATION_S):
            return True
    # NaN is null in the table; validate_calls reads both as missing.
    return bool(table["talk_s"].null_count)


def ingest_file(
    store: Store,
    path: str | Path,
    practice_id: str,
    fmt: str | Format = "auto",
    timezone: str = DEFAULT_TZ,
    mapping: object | None = None,
    progress: ProgressFn | None = None,
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
    timezone : str
        Timezone of wall-clock times in the export.
    mapping : object, optional
        A loaded mapping (:func:`telephony.formats.mapping.load_mapping`); implies its format.
    progress : callable, optional
        Called with the number of source rows read so far, after each chunk.

    Returns
    -------
    IngestResult

    Raises
    ------
    BadInputError, UnknownFormatError
        The file cannot be read or recognised. Nothing is written.
    """
    practice_id = validate_practice_id(practice_id)
    path = Path(path)
    source = open_source(path)
    format_ = _resolve_format(source, fmt, mapping)
    # Hashed on a second core while the file is parsed (hashlib releases the GIL).
    sha = _sha256_in_background(path)
    ctx = ReadContext(timezone=timezone, mapping=mapping)
    result = IngestResult(file=path.name, format=format_.name, practice_id=practice_id)
    result.ingest_id = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    started = pd.Timestamp.now(tz="UTC")
    pseudo = Pseudonymiser(store.key())
    rejects: list[Reject] = []
    n_calls = 0
    clock: dict = {}  # the autumn clock change, remembered from chunk to chunk
    with store.lock(), _staging(store) as staging:
        staged = _Staged(staging)
        first = last = None
        total_bytes = path.stat().st_size
        for chunk in _read_ahead(format_.read(source, ctx)):
            result.rows_read += chunk.rows_read
            # Vendor words and reasons come from the file: a misread column may hold numbers.
            result.skipped.update({mask_digits(k): n for k, n in chunk.skipped.items()})
            result.unknown.update({mask_digits(k): n for k, n in chunk.unknown.items()})
            rejects.extend(chunk.rejects)
            result.rows_merged += sum(r.rows - 1 for r in chunk.rejects)
            raw = chunk.calls
            if len(raw):
                result.rows_merged += int(raw["n_rows"].sum()) - len(raw)
            calls, bad = canonical_table(raw, practice_id, format_.name, pseudo, timezone, clock)
            rejects.extend(bad)
            n_calls += calls.num_rows
            if calls.num_rows:
                lo, hi = (pd.Timestamp(v.as_py()) for v in pc.min_max(calls["start_utc"]).values())
                first = lo if first is None or lo < first else first
                last = hi if last is None or hi > last else last
                staged.add(calls)
            if progress is not None:
                progress(result.rows_read)
        if result.rows_read == 0 and n_calls == 0 and not rejects:
            raise BadInputError(f"{path.name}: no call records found in the file")
        # Months are merged and encoded two at a time (both cores), committed in order.
        months = [(m, functools.partial(staged.pop, m)) for m in staged.months()]
        for w, d in store.commit_partitions("calls", practice_id, months, "call_id", "start_utc", CALL_SCHEMA):
            result.written += w
            result.duplicates += d
        result.rejected = len(rejects)
        result.rows_skipped = sum(result.skipped.values())
        result.first_utc, result.last_utc = first, last
        result.rejects_path = store.write_rejects(result.ingest_id, path.name, rejects)
        store.append_manifest(
            [
                {
                    "ingest_id": result.ingest_id,
                    "table": "calls",
                    "practice_id": practice_id,
                    "file_name": path.name,
                    "file_sha256": sha.result(),
                    "file_bytes": total_bytes,
                    "format": format_.name,
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
                }
            ]
        )
    return result


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


def _month_slices(table: pa.Table) -> list[tuple[str, pa.Table]]:
    """Split canonical rows by partition month (``YYYY-MM`` of ``start_utc``, UTC)."""
    m = table["start_utc"].to_numpy().astype("datetime64[M]").astype(np.int64)
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
    """Canonical rows waiting for their month's commit, in bounded memory.

    Rows are held in memory per month; past :attr:`LIMIT_ROWS` rows in all, every month's rows
    are written to one uncompressed Arrow file each in the staging directory. Few, large
    pieces: a month of a time-ordered export is staged once or twice, not once per chunk.
    """

    LIMIT_ROWS = 250_000

    def __init__(self, folder: Path):
        self.folder = folder
        self.held: dict[str, list[pa.Table]] = {}
        self.files: dict[str, list[Path]] = {}
        self.rows = 0
        self.seq = 0

    def add(self, table: pa.Table) -> None:
        for month, part in _month_slices(table):
            self.held.setdefault(month, []).append(part)
        self.rows += table.num_rows
        if self.rows > self.LIMIT_ROWS:
            self.spill()

    def spill(self) -> None:
        import pyarrow.ipc as ipc

        for month, parts in self.held.items():
            self.seq += 1
            path = self.folder / f"{month}-{self.seq:06d}.arrow"
            with ipc.new_file(path, CALL_SCHEMA) as writer:
                for part in parts:
                    writer.write_table(part)
            self.files.setdefault(month, []).append(path)
        self.held.clear()
        self.rows = 0

    def months(self) -> list[str]:
        return sorted(set(self.held) | set(self.files))

    def pop(self, month: str) -> list[pa.Table]:
        """The month's rows (as tables), forgetting them here."""
        import pyarrow.ipc as ipc

        out = [ipc.open_file(pa.memory_map(str(p))).read_all() for p in self.files.pop(month, [])]
        return out + self.held.pop(month, [])


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
        from .formats.mapping import mapping_format

        return mapping_format(mapping)
    if isinstance(fmt, Format):
        return fmt
    if fmt in (None, "", "auto"):
        return detect_format(source)
    if fmt not in FORMATS:
        raise UnknownFormatError(
            f"unknown format {fmt!r}. Known formats: {', '.join(sorted(FORMATS))}, or pass --mapping FILE"
        )
    return FORMATS[fmt]


def ingest_calls(
    store: Store,
    paths: Iterable[str | Path],
    practice_id: str,
    fmt: str | Format = "auto",
    timezone: str = DEFAULT_TZ,
    mapping: object | None = None,
    progress: ProgressFn | None = None,
) -> list[IngestResult]:
    """Ingest several export files of one practice; see :func:`ingest_file`."""
    return [ingest_file(store, p, practice_id, fmt, timezone, mapping, progress) for p in paths]
