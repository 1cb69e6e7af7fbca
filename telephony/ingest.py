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

import datetime as _dt
import hashlib
import shutil
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import AmbiguousFormatError, BadInputError, UnknownFormatError
from .formats import FORMATS, Format, ReadContext
from .privacy import Pseudonymiser
from .schema import CALL_SCHEMA, to_arrow, validate_calls
from .sources import Reject, Source, open_source
from .store import Store, month_of, validate_practice_id
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
            + "|" + sub["wait_s"].round(1).astype(str)
            + "|" + sub["talk_s"].round(1).astype(str)
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
) -> tuple[pd.DataFrame, list[Reject]]:
    """Turn a parser's raw calls into validated canonical rows.

    Returns
    -------
    calls : pandas.DataFrame
        Rows of :data:`telephony.schema.CALL_SCHEMA`.
    rejects : list of Reject
        Calls that failed validation, with their first source line and the reasons.
    """
    if raw.empty:
        return CALL_SCHEMA.empty_table().to_pandas(), []
    raw = raw.sort_values("source_line", kind="stable").reset_index(drop=True)
    start = raw["start"]
    if not pd.api.types.is_datetime64_any_dtype(start):
        start = pd.to_datetime(start, errors="coerce")
    df = pd.DataFrame(
        {
            "practice_id": practice_id,
            "source_format": fmt,
            "start_utc": localize(start, timezone),
            "direction": raw["direction"].astype("string"),
            "line": raw["line"].astype("string"),
            "caller_key": pseudo.callers(raw["caller"]),
            "outcome": raw["outcome"].astype("string"),
            "wait_s": pd.to_numeric(raw["wait_s"], errors="coerce").astype("float64"),
            "talk_s": pd.to_numeric(raw["talk_s"], errors="coerce").astype("float64"),
            "agent_key": pseudo.agents(raw["agent"]),
            "call_id": raw["call_id"].astype("string"),
        }
    )
    df["line"] = df["line"].where(df["line"].str.strip() != "", pd.NA)
    df["call_id"] = _call_ids(df, fmt)
    valid, reasons = validate_calls(df)
    rejects = []
    if len(reasons):
        lines = raw["source_line"]
        for i, why in reasons.items():
            ln = lines.iloc[i]
            rejects.append(Reject(None if pd.isna(ln) else int(ln), why, ""))
    return valid, rejects


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
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            sha.update(block)
    ctx = ReadContext(timezone=timezone, mapping=mapping)
    result = IngestResult(file=path.name, format=format_.name, practice_id=practice_id)
    result.ingest_id = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    started = pd.Timestamp.now(tz="UTC")
    pseudo = Pseudonymiser(store.key())
    rejects: list[Reject] = []
    n_calls = 0
    with store.lock():
        staging = store.new_staging()
        pieces: dict[str, list[Path]] = {}
        seq = 0
        first = last = None
        total_bytes = path.stat().st_size
        for chunk in format_.read(source, ctx):
            result.rows_read += chunk.rows_read
            result.skipped.update(chunk.skipped)
            result.unknown.update(chunk.unknown)
            rejects.extend(chunk.rejects)
            result.rows_merged += sum(r.rows - 1 for r in chunk.rejects)
            raw = chunk.calls
            if len(raw):
                result.rows_merged += int(raw["n_rows"].sum()) - len(raw)
            calls, bad = canonicalise(raw, practice_id, format_.name, pseudo, timezone)
            rejects.extend(bad)
            n_calls += len(calls)
            if len(calls):
                lo, hi = calls["start_utc"].min(), calls["start_utc"].max()
                first = lo if first is None or lo < first else first
                last = hi if last is None or hi > last else last
                months = month_of(calls["start_utc"])
                for month, part in calls.groupby(months, sort=True):
                    seq += 1
                    piece = staging / f"{month}-{seq:06d}.parquet"
                    pq.write_table(to_arrow(part), piece)
                    pieces.setdefault(month, []).append(piece)
            if progress is not None:
                progress(result.rows_read)
        if result.rows_read == 0 and n_calls == 0 and not rejects:
            raise BadInputError(f"{path.name}: no call records found in the file")
        for month in sorted(pieces):
            w, d = store.commit_partition(
                "calls", practice_id, month, pieces[month], "call_id", "start_utc", CALL_SCHEMA
            )
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
                    "file_sha256": sha.hexdigest(),
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
        shutil.rmtree(staging, ignore_errors=True)
    return result


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
