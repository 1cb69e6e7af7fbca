"""The Frontdoor store: a directory of hive-partitioned Parquet.

::

    STORE/calls/practice_id=A81001/month=2026-11/part.parquet
    STORE/appointments/practice_id=A81001/month=2026-11/part.parquet
    STORE/ingests.parquet        manifest: one row per ingested file
    STORE/rejects/<ingest>.csv   rejected rows: file, line, reason, text (phone digits masked)
    STORE/.frontdoor-key         pseudonymisation key (0600), unless FRONTDOOR_KEY is set
    STORE/.lock                  held by a writer

Readable by pandas, pyarrow, DuckDB, Polars and Spark. ``month`` is the UTC month of
``start_utc``.

Guarantees: a partition is replaced atomically (temporary file, then ``os.replace``), so a crash
leaves each partition old or new; rows are deduplicated on their key within a partition, so the
same file twice never double-counts; the manifest is written last; one writer at a time (a
lock file; a second writer waits).
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import itertools
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from filelock import FileLock, Timeout

from .errors import InvalidPracticeError, StoreError
from .privacy import ensure_key_file, load_key
from .schema import CALL_SCHEMA

STORE_ENV = "FRONTDOOR_STORE"
DEFAULT_STORE = "frontdoor-data"
LOCK_TIMEOUT_S = 600

_PRACTICE = re.compile(r"^[A-Z0-9]{3,10}$")
#: The manifest's ``practice_id`` for a file holding many practices, ingested whole (GPAD).
ALL_PRACTICES = "*"
_MONTH = re.compile(r"^\d{4}-\d{2}$")

MANIFEST_SCHEMA = pa.schema(
    [
        ("ingest_id", pa.string()),
        ("table", pa.string()),
        ("practice_id", pa.string()),
        ("file_name", pa.string()),
        ("file_sha256", pa.string()),
        ("file_bytes", pa.int64()),
        ("format", pa.string()),
        ("timezone", pa.string()),
        ("rows_read", pa.int64()),
        ("rows_skipped", pa.int64()),
        ("rows_merged", pa.int64()),
        ("records", pa.int64()),
        ("written", pa.int64()),
        ("duplicates", pa.int64()),
        ("rejected", pa.int64()),
        ("first_utc", pa.timestamp("us", tz="UTC")),
        ("last_utc", pa.timestamp("us", tz="UTC")),
        ("unknown_words", pa.string()),
        ("started_utc", pa.timestamp("us", tz="UTC")),
        ("finished_utc", pa.timestamp("us", tz="UTC")),
    ]
)


def validate_practice_id(practice_id: str) -> str:
    """Return the practice id upper-cased, or raise if it is not ODS-style.

    Raises
    ------
    InvalidPracticeError
        For anything but 3–10 letters and digits (so no path can be smuggled in).
    """
    pid = str(practice_id).strip().upper()
    if not _PRACTICE.match(pid):
        raise InvalidPracticeError(
            f"practice id {practice_id!r} is not an ODS code: use 3-10 letters and digits, e.g. A81001"
        )
    return pid


def month_of(ts: pd.Series) -> pd.Series:
    """Partition month (``YYYY-MM``, UTC) of each timestamp."""
    return ts.dt.tz_convert("UTC").dt.strftime("%Y-%m")


def _months_between(start: pd.Timestamp | None, end: pd.Timestamp | None) -> tuple[str | None, str | None]:
    lo = None if start is None else start.tz_convert("UTC").strftime("%Y-%m")
    # ``end`` is exclusive: a period ending at midnight on the 1st needs nothing of that month.
    hi = None if end is None else (end.tz_convert("UTC") - pd.Timedelta(1, "us")).strftime("%Y-%m")
    return lo, hi


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with exactly ``schema``'s columns: columns a store written by an earlier
    version lacks (``ivr_s``, ``ingest_id``) are added as nulls, extra ones dropped."""
    for f in schema:
        if f.name not in table.column_names:
            table = table.append_column(f.name, pa.nulls(table.num_rows, f.type))
    return table.select(schema.names).cast(schema)


def _as_utc(t) -> pd.Timestamp | None:
    if t is None:
        return None
    ts = pd.Timestamp(t)
    if ts.tzinfo is None:
        ts = ts.tz_localize("Europe/London")
    return ts.tz_convert("UTC")


class Store:
    """A Frontdoor store on disk.

    Parameters
    ----------
    root : str or Path
        The store directory.
    create : bool
        Create the directory and its key file if missing; otherwise a missing store is an error.

    Examples
    --------
    >>> store = Store("frontdoor-data")                         # doctest: +SKIP
    >>> calls = store.read_calls(["A81001"], "2026-11-01", "2026-12-01")  # doctest: +SKIP
    """

    def __init__(self, root: str | Path, create: bool = False):
        self.root = Path(root)
        if not self.root.exists():
            if not create:
                raise StoreError(
                    f"no store at {self.root}: ingest some exports first, or pass --store DIR"
                )
            self.root.mkdir(parents=True, exist_ok=True)  # another process may create it too
        elif not self.root.is_dir():
            raise StoreError(f"{self.root} is a file, not a store directory")
        if create and not os.environ.get("FRONTDOOR_KEY"):
            ensure_key_file(self.root)

    # ------------------------------------------------------------------ layout
    def table_dir(self, table: str) -> Path:
        return self.root / table

    @property
    def manifest_path(self) -> Path:
        return self.root / "ingests.parquet"

    @property
    def rejects_dir(self) -> Path:
        return self.root / "rejects"

    @property
    def staging_dir(self) -> Path:
        return self.root / ".staging"

    def partition_path(self, table: str, practice_id: str, month: str) -> Path:
        pid = validate_practice_id(practice_id)
        if not _MONTH.match(month):
            raise ValueError(f"bad month {month!r}")
        return self.table_dir(table) / f"practice_id={pid}" / f"month={month}" / "part.parquet"

    def key(self) -> bytes:
        """The pseudonymisation key (``FRONTDOOR_KEY`` or the store's key file)."""
        return load_key(self.root)

    # ------------------------------------------------------------------ locking
    @contextlib.contextmanager
    def lock(self, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
        """Hold the store's write lock; clear leftovers of crashed writers on entry."""
        lock = FileLock(str(self.root / ".lock"))
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise StoreError(
                f"the store {self.root} has been locked by another ingest for {timeout:.0f} s; "
                "wait for it to finish"
            ) from None
        try:
            if self.staging_dir.exists():
                shutil.rmtree(self.staging_dir, ignore_errors=True)
            for tmp in self._temp_files():
                with contextlib.suppress(OSError):
                    tmp.unlink()
            yield
        finally:
            lock.release()

    def _temp_files(self) -> Iterator[Path]:
        """Temporary files a crashed writer may have left: only where writers put them.

        Partitions (``<table>/practice_id=*/month=*/part.parquet.tmp-*``), the manifest and
        other files at the root, and the rejects folder; which partitions a crashed ingest was
        writing is unknown, so every partition directory is listed, one level each, rather
        than walking the whole tree (a large store has many thousands of files).
        """
        yield from self.root.glob("*.tmp-*")
        yield from self.rejects_dir.glob("*.tmp-*")
        yield from self.root.glob("*/practice_id=*/month=*/*.tmp-*")

    def new_staging(self) -> Path:
        path = self.staging_dir / uuid.uuid4().hex
        path.mkdir(parents=True)
        return path

    # ------------------------------------------------------------------ partitions
    def partitions(
        self,
        table: str = "calls",
        practices: Iterable[str] | None = None,
        start=None,
        end=None,
    ) -> list[tuple[str, str, Path]]:
        """List ``(practice_id, month, path)`` of partitions that may hold rows in the period.

        Only directory names are read: this is the partition pruning every reader relies on.
        """
        # Validate first: a bad id is an error even in an empty store.
        wanted = None if practices is None else {validate_practice_id(p) for p in practices}
        base = self.table_dir(table)
        if not base.exists():
            return []
        lo, hi = _months_between(_as_utc(start), _as_utc(end))
        out = []
        for pdir in sorted(base.glob("practice_id=*")):
            pid = pdir.name.split("=", 1)[1]
            if wanted is not None and pid not in wanted:
                continue
            for mdir in sorted(pdir.glob("month=*")):
                month = mdir.name.split("=", 1)[1]
                if lo is not None and month < lo:
                    continue
                if hi is not None and month > hi:
                    continue
                f = mdir / "part.parquet"
                if f.exists():
                    out.append((pid, month, f))
        return out

    def read_table(
        self,
        table: str,
        practices: Iterable[str] | str | None = None,
        start=None,
        end=None,
        columns: list[str] | None = None,
        time_column: str = "start_utc",
        schema: pa.Schema | None = None,
    ) -> pa.Table:
        """Read rows of ``table`` for some practices and a period ``[start, end)`` as Arrow.

        Naive ``start``/``end`` are read as Europe/London wall-clock times.
        """
        if isinstance(practices, str):
            practices = [practices]
        parts = self.partitions(table, practices, start, end)
        cols = None if columns is None else list(dict.fromkeys(list(columns) + [time_column]))
        tables = []
        for pid, _month, path in parts:
            want = [c for c in cols if c != "practice_id"] if cols else None
            try:
                t = pq.read_table(path, columns=want)
            except pa.ArrowInvalid:
                if want is None or schema is None:
                    raise
                present = set(pq.read_schema(path).names)
                t = pq.read_table(path, columns=[c for c in want if c in present])
            if schema is not None:
                # A partition written by an earlier version lacks the newer columns: nulls.
                for f in schema:
                    if f.name != "practice_id" and f.name not in t.column_names and (cols is None or f.name in cols):
                        t = t.append_column(f.name, pa.nulls(t.num_rows, f.type))
            if "practice_id" not in t.column_names:
                t = t.append_column("practice_id", pa.array([pid] * t.num_rows, pa.string()))
            tables.append(t)
        if not tables:
            empty = schema.empty_table() if schema is not None else pa.table({})
            return empty.select(columns) if (columns and schema is not None) else empty
        out = pa.concat_tables(tables, promote_options="default")
        s, e = _as_utc(start), _as_utc(end)
        if s is not None:
            out = out.filter(pc.greater_equal(out[time_column], pa.scalar(s.to_pydatetime(), out[time_column].type)))
        if e is not None:
            out = out.filter(pc.less(out[time_column], pa.scalar(e.to_pydatetime(), out[time_column].type)))
        if columns:
            out = out.select(list(columns))
        elif schema is not None:
            out = out.select([n for n in schema.names if n in out.column_names])
        return out

    def read_calls_arrow(self, practices=None, start=None, end=None, columns=None) -> pa.Table:
        """Calls as an Arrow table (see :meth:`read_calls`)."""
        return self.read_table("calls", practices, start, end, columns, "start_utc", CALL_SCHEMA)

    def read_calls(self, practices=None, start=None, end=None, columns=None) -> pd.DataFrame:
        """Calls for some practices and a period, as a DataFrame sorted by practice and time.

        Parameters
        ----------
        practices : str or list of str, optional
            ODS codes; all practices when omitted.
        start, end : str or Timestamp, optional
            Half-open period ``[start, end)``. Naive values are Europe/London wall-clock time.
        columns : list of str, optional
            Columns to read (fewer columns read faster).

        Returns
        -------
        pandas.DataFrame
            Canonical call records (:mod:`telephony.schema`).

        Notes
        -----
        Only partitions whose practice and month can hold matching rows are opened.
        """
        t = self.read_calls_arrow(practices, start, end, columns)
        df = t.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
        sort = [c for c in ("practice_id", "start_utc") if c in df.columns]
        if sort and len(df):
            df = df.sort_values(sort, kind="stable").reset_index(drop=True)
        return df

    def commit_partition(
        self,
        table: str,
        practice_id: str,
        month: str,
        new_parts: list[Path | pa.Table],
        key: str,
        sort_by: str,
        schema: pa.Schema,
    ) -> tuple[int, int]:
        """Merge staged rows into one partition atomically.

        Existing rows win over new rows with the same ``key``; new rows repeated among
        themselves count once.

        Returns
        -------
        (written, duplicates) : tuple of int
        """
        final, payload, written, duplicates = self._merge_partition(
            table, practice_id, month, new_parts, key, sort_by, schema
        )
        if payload is not None:
            self._publish(final, payload)
        return written, duplicates

    def commit_partitions(
        self,
        table: str,
        practice_id: str,
        months: Iterable[tuple[str, Callable[[], list[Path | pa.Table]]]],
        key: str,
        sort_by: str,
        schema: pa.Schema,
        workers: int = 2,
    ) -> Iterator[tuple[int, int]]:
        """:meth:`commit_partition` for several months, the heavy work on ``workers`` threads.

        ``months`` gives each month with a function returning its staged rows (called when the
        month's turn comes, so only a few months are in memory). Merging, sorting and Parquet
        encoding (in memory; Arrow releases the GIL) run ahead on the threads; the partitions
        are then written and renamed into place one at a time, in the order given, exactly as
        by successive :meth:`commit_partition` calls: a crash leaves each partition old or
        new, and at most one temporary file.

        Yields
        ------
        (written, duplicates) per month, in order.
        """

        def merge(item):
            month, parts = item
            return self._merge_partition(table, practice_id, month, parts(), key, sort_by, schema)

        items = iter(months)
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            pending: collections.deque = collections.deque()
            for item in itertools.islice(items, max(1, workers)):
                pending.append(pool.submit(merge, item))
            while pending:
                final, payload, written, duplicates = pending.popleft().result()
                nxt = next(items, None)
                if nxt is not None:
                    pending.append(pool.submit(merge, nxt))
                if payload is not None:
                    self._publish(final, payload)
                yield written, duplicates

    def _merge_partition(
        self,
        table: str,
        practice_id: str,
        month: str,
        new_parts: list[Path | pa.Table],
        key: str,
        sort_by: str,
        schema: pa.Schema,
    ) -> tuple[Path, pa.Buffer | None, int, int]:
        """The partition's new content as encoded Parquet (``None``: nothing new to write)."""
        final = self.partition_path(table, practice_id, month)
        # Staged rows come as Parquet files or as Arrow tables already in memory.
        new = (
            pa.concat_tables([p if isinstance(p, pa.Table) else pq.read_table(p) for p in new_parts])
            if new_parts
            else schema.empty_table()
        )
        n_new = new.num_rows
        old = None
        if final.exists():
            old = pq.read_table(final)
            if "practice_id" in schema.names and "practice_id" not in old.column_names:
                old = old.append_column("practice_id", pa.array([validate_practice_id(practice_id)] * old.num_rows, pa.string()))
            old = conform(old, schema)
        # Repeats are rare: look for them only when the keys are not all distinct.
        if pc.count_distinct(new[key]).as_py() == n_new:
            fresh = np.ones(n_new, dtype=bool)
        else:
            fresh = ~new[key].to_pandas().duplicated(keep="first").to_numpy()
        if old is not None and old.num_rows:
            in_old = pc.is_in(new[key], value_set=old[key]).to_numpy(zero_copy_only=False)
            fresh &= ~in_old
        keep = new if fresh.all() else new.filter(pa.array(fresh))
        written = keep.num_rows
        if written == 0:
            return final, None, 0, n_new
        merged = keep if old is None else pa.concat_tables([old, keep])
        merged = merged.sort_by([(sort_by, "ascending"), (key, "ascending")])
        # The practice is in the directory name (hive); repeating it as a column makes
        # pandas/pyarrow refuse the dataset (string column vs dictionary partition key).
        if "practice_id" in merged.column_names:
            merged = merged.drop_columns(["practice_id"])
        # The key is unique in the partition: a dictionary for it would be as large as the column.
        dictionary = [c for c in merged.column_names if c != key]
        sink = pa.BufferOutputStream()
        pq.write_table(merged, sink, compression="zstd", use_dictionary=dictionary)
        return final, sink.getvalue(), written, n_new - written

    def _publish(self, final: Path, payload: pa.Buffer) -> None:
        """Write a partition's file atomically: a temporary file, then a rename."""
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f"part.parquet.tmp-{uuid.uuid4().hex}")
        with open(tmp, "wb") as fh:
            fh.write(memoryview(payload))
        os.replace(tmp, final)

    # ------------------------------------------------------------------ manifest and rejects
    def manifest(self) -> pd.DataFrame:
        """All ingests so far (empty frame if none)."""
        if not self.manifest_path.exists():
            return MANIFEST_SCHEMA.empty_table().to_pandas()
        return pq.read_table(self.manifest_path).to_pandas()

    def append_manifest(self, rows: list[dict]) -> None:
        """Append rows to the manifest atomically (call with the lock held)."""
        new = pa.Table.from_pylist(rows, schema=MANIFEST_SCHEMA)
        if self.manifest_path.exists():
            new = pa.concat_tables([pq.read_table(self.manifest_path).cast(MANIFEST_SCHEMA), new])
        tmp = self.manifest_path.with_name(f"ingests.parquet.tmp-{uuid.uuid4().hex}")
        pq.write_table(new, tmp)
        os.replace(tmp, self.manifest_path)

    def write_rejects(self, ingest_id: str, file_name: str, rejects: list) -> Path | None:
        """Write rejected rows (already masked) to ``rejects/<ingest_id>.csv``."""
        if not rejects:
            return None
        self.rejects_dir.mkdir(exist_ok=True)
        df = pd.DataFrame(
            {
                "file": file_name,
                "line": [r.line for r in rejects],
                "reason": [r.reason for r in rejects],
                "text": [r.text for r in rejects],
            }
        )
        df["line"] = df["line"].astype("Int64")
        path = self.rejects_dir / f"{ingest_id}.csv"
        tmp = path.with_name(path.name + f".tmp-{uuid.uuid4().hex}")
        df.to_csv(tmp, index=False)
        os.replace(tmp, path)
        return path

    # ------------------------------------------------------------------ summary
    def tables(self) -> list[str]:
        """Tables present in the store: ``calls`` and ``appointments`` first, then the others.

        A table is a directory of ``practice_id=*`` partitions; the store's own folders
        (rejects, staging) are not tables.
        """
        found = [
            p.name
            for p in self.root.iterdir()
            if p.is_dir() and not p.name.startswith(".") and p != self.rejects_dir and any(p.glob("practice_id=*"))
        ] if self.root.exists() else []
        first = [t for t in ("calls", "appointments") if t in found]
        return first + sorted(t for t in found if t not in first)

    def info(self, tables: Iterable[str] | None = None) -> pd.DataFrame:
        """One row per practice and table: partitions, rows, first and last record, ingests.

        Parameters
        ----------
        tables : iterable of str, optional
            Tables to summarise; every table in the store (:meth:`tables`) when omitted.

        Notes
        -----
        First and last record are the minimum and maximum of the table's first timestamp
        column (``start_utc`` for calls and slots, ``month_start`` for GPAD counts). Ingests
        count the manifest rows of the practice, and those of files ingested for all the
        practices they hold (``practice_id`` ``*``).
        """
        rows = []
        man = self.manifest()
        for table in self.tables() if tables is None else list(tables):
            by_practice: dict[str, list[Path]] = {}
            for pid, _m, path in self.partitions(table):
                by_practice.setdefault(pid, []).append(path)
            for pid, paths in by_practice.items():
                n = 0
                first = last = None
                for p in paths:
                    md = pq.read_metadata(p)
                    n += md.num_rows
                schema = pq.read_schema(paths[0])
                tcol = next((f.name for f in schema if pa.types.is_timestamp(f.type)), "start_utc")
                try:
                    t0 = pq.read_table(paths[0], columns=[tcol])[tcol]
                    t1 = pq.read_table(paths[-1], columns=[tcol])[tcol]
                    first, last = pc.min(t0).as_py(), pc.max(t1).as_py()
                except (KeyError, pa.ArrowInvalid):
                    pass
                n_ing = int((man["practice_id"].isin([pid, ALL_PRACTICES]) & (man["table"] == table)).sum()) if len(man) else 0
                rows.append(
                    {
                        "table": table,
                        "practice_id": pid,
                        "months": len(paths),
                        "rows": n,
                        "first_utc": first,
                        "last_utc": last,
                        "ingests": n_ing,
                    }
                )
        return pd.DataFrame(rows, columns=["table", "practice_id", "months", "rows", "first_utc", "last_utc", "ingests"])


def default_store_path() -> Path:
    """``FRONTDOOR_STORE`` if set, else ``./frontdoor-data``."""
    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE)


def open_store(path: str | Path | None = None, create: bool = False) -> Store:
    """Open (or create) a store; ``path`` defaults to :func:`default_store_path`."""
    return Store(path if path is not None else default_store_path(), create=create)
