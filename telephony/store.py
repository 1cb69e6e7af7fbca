"""The Frontdoor store: a directory of hive-partitioned Parquet.

::

    STORE/calls/practice_id=A81001/month=2026-11/part.parquet
    STORE/appointments/practice_id=A81001/month=2026-11/part.parquet
    STORE/ingests.parquet        manifest: one row per ingest (and per removal of one)
    STORE/lines.parquet          keyed line labels per practice and the names a practice gives them
    STORE/rejects/<ingest>.csv   rejected rows: file, line, reason, text (phone digits masked)
    STORE/.frontdoor-key         pseudonymisation key (0600), unless FRONTDOOR_KEY is set
    STORE/.key-fingerprint       fingerprint of the key the store was created with
    STORE/.lock                  held by a writer

Readable by pandas, pyarrow, DuckDB, Polars and Spark. ``month`` is the UTC month of
``start_utc``.

Guarantees: a partition is replaced atomically (a hidden temporary file in its folder, then
``os.replace``; readers of the dataset skip names starting with ``.``), so a crash leaves each
partition old or new; rows are deduplicated on their key within a partition, so overlapping
exports never double-count, and a re-ingest of the same file replaces the rows its earlier
ingest wrote; every row records the ingest that last wrote it, so an ingest can be taken back
(:meth:`Store.remove_ingest`); the manifest is written last; one writer at a time (a lock
file; a second writer waits); the key's fingerprint is checked, so a store is never fed
pseudonyms made under two keys.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import hmac
import itertools
import json
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Callable, Iterable, Iterator, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from filelock import FileLock, Timeout

from telephony.errors import InvalidPracticeError, KeyMismatchError, StoreDamagedError, StoreError
from telephony.privacy import KEY_ENV, ensure_key_file, load_key, mask_digits
from telephony.schema import CALL_SCHEMA
from telephony.firewall import has_number, mask_text, neutralise_csv

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
        # "ingest", or "remove" (a row recording that ``target`` was taken back).
        ("action", pa.string()),
        # For an ingest: the earlier ingests of the same file it replaced (comma-separated);
        # for a removal: the ingest removed.
        ("target", pa.string()),
        # Rows of earlier ingests removed: replaced by this ingest, or taken back by a removal.
        ("replaced", pa.int64()),
    ]
)

LINES_SCHEMA = pa.schema(
    [
        ("practice_id", pa.string()),
        ("label", pa.string()),
        ("name", pa.string()),
        ("first_utc", pa.timestamp("us", tz="UTC")),
        ("last_utc", pa.timestamp("us", tz="UTC")),
    ]
)

KEY_FINGERPRINT_FILE = ".key-fingerprint"


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
            # masked: a number typed (or read from a wrong column) where an ODS code belongs
            f"practice id {mask_digits(repr(practice_id))} is not an ODS code: use 3-10 letters and digits, e.g. A81001"
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
                    f"no store at {self.root}: ingest some exports first, or give `store` DIR"
                )
            self.root.mkdir(parents=True, exist_ok=True)  # another process may create it too
        elif not self.root.is_dir():
            raise StoreError(f"{self.root} is a file, not a store directory")
        if create and not os.environ.get(KEY_ENV):
            ensure_key_file(self.root)
        if create:
            self.key()  # records the key's fingerprint in a new store

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
        """The pseudonymisation key (``FRONTDOOR_KEY`` or the store's key file), checked.

        The first time a key is used with the store its fingerprint is recorded; from then on
        a different key is refused: pseudonyms are one-way, so rows made under two keys could
        never be linked (one caller would count as two, re-ingests would double-count).

        Raises
        ------
        KeyMismatchError
            The key is not the one the store was created with.
        """
        key = load_key(self.root)
        fp = key_fingerprint(key)
        path = self.root / KEY_FINGERPRINT_FILE
        try:
            recorded = path.read_text().strip()
        except FileNotFoundError:
            recorded = None
        except OSError as exc:
            raise StoreDamagedError(f"store damaged at {path}: {exc.strerror or exc}") from None
        if recorded is None:
            _write_atomic(path, (fp + "\n").encode())
        elif recorded != fp:
            where = f"{KEY_ENV} (set in the environment)" if os.environ.get(KEY_ENV) else f"the key file {self.root / '.frontdoor-key'}"
            raise KeyMismatchError(
                f"the store {self.root} was created with another pseudonymisation key (fingerprint "
                f"{recorded}; {where} has fingerprint {fp}). Use the store's own key. Pseudonyms are "
                "one-way, so a store cannot change its key: to rotate the key, create a new store and "
                "ingest the exports again"
            )
        return key

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
            self._roll_forward()
            yield
        finally:
            lock.release()

    def _temp_files(self) -> Iterator[Path]:
        """Temporary files a crashed writer may have left: only where writers put them.

        Partitions (``<table>/practice_id=*/month=*/.part-*.tmp``, hidden from dataset
        readers; ``part.parquet.tmp-*`` from earlier versions), the manifest and other files
        at the root, and the rejects folder; which partitions a crashed ingest was writing is
        unknown, so every partition directory is listed, one level each, rather than walking
        the whole tree (a large store has many thousands of files).
        """
        yield from self.root.glob(".*.tmp")
        yield from self.root.glob("*.tmp-*")
        yield from self.rejects_dir.glob(".*.tmp")
        yield from self.rejects_dir.glob("*.tmp-*")
        yield from self.root.glob("*/practice_id=*/month=*/.*.tmp")
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
                t = self.read_partition(path, want)
            except pa.ArrowInvalid:
                if want is None or schema is None:
                    raise
                # A partition written by an earlier version lacks a newer column.
                present = set(pq.read_schema(path).names)
                t = self.read_partition(path, [c for c in want if c in present])
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
        Only partitions whose practice and month can hold matching rows are opened. A keyed
        line label (``line-3f9a2c``) that the practice has named (:meth:`name_line`) is read as
        its name.
        """
        t = self.read_calls_arrow(practices, start, end, columns)
        df = t.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
        if "line" in df.columns and len(df) and self.lines_path.exists():
            df = _named_lines(df, self.line_names(practices if not isinstance(practices, str) else [practices]))
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
        drop: frozenset[str] = frozenset(),
        active: frozenset[str] | None = None,
    ) -> "PartitionChange":
        """Merge staged rows into one partition atomically.

        Parameters
        ----------
        table, practice_id, month : str
            The partition.
        new_parts : list of Path or pyarrow.Table
            Staged rows (Arrow tables, or Parquet/Arrow files).
        key, sort_by : str
            Dedupe key and sort column.
        schema : pyarrow.Schema
        drop : frozenset of str
            Ingest ids whose rows leave the partition (an earlier ingest of the same file,
            replaced; or an ingest taken back).
        active : frozenset of str, optional
            The ingest ids the manifest knows. A stored row written by any other ingest (one
            that crashed before its manifest row) gives way to a new row with the same key, so
            that re-running the ingest takes its rows over. None: every row is owned.

        Returns
        -------
        PartitionChange
            ``written`` new rows, ``duplicates`` (new rows already stored, which win), and
            ``replaced`` (stored rows removed by ``drop`` or given way).

        Notes
        -----
        Stored rows win over new rows with the same ``key`` (an overlapping export adds nothing);
        new rows repeated among themselves count once.
        """
        final, payload, change = self._merge_partition(
            table, practice_id, month, new_parts, key, sort_by, schema, drop, active
        )
        if payload is not _UNCHANGED:
            self._publish(final, payload)
        return change

    def commit_partitions(
        self,
        table: str,
        practice_id: str,
        months: Iterable[tuple[str, Callable[[], list[Path | pa.Table]]]],
        key: str,
        sort_by: str,
        schema: pa.Schema,
        workers: int = 2,
        drop: frozenset[str] = frozenset(),
        active: frozenset[str] | None = None,
        publish: bool = True,
    ) -> Iterator["PartitionChange"]:
        """:meth:`commit_partition` for several months, the heavy work on ``workers`` threads.

        ``months`` gives each month with a function returning its staged rows (called when the
        month's turn comes, so only a few months are in memory). Merging, sorting and Parquet
        encoding (in memory; Arrow releases the GIL) run ahead on the threads; the partitions
        are then written and renamed into place one at a time, in the order given, exactly as
        by successive :meth:`commit_partition` calls: a crash leaves each partition old or
        new, and at most one temporary file. With ``publish=False`` nothing is written: the
        changes are only counted (a dry run).

        Yields
        ------
        PartitionChange per month, in order.
        """

        def merge(item):
            month, parts = item
            return self._merge_partition(table, practice_id, month, parts(), key, sort_by, schema, drop, active)

        items = iter(months)
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            pending: collections.deque = collections.deque()
            for item in itertools.islice(items, max(1, workers)):
                pending.append(pool.submit(merge, item))
            while pending:
                final, payload, change = pending.popleft().result()
                nxt = next(items, None)
                if nxt is not None:
                    pending.append(pool.submit(merge, nxt))
                if publish and payload is not _UNCHANGED:
                    self._publish(final, payload)
                yield change

    def read_partition(self, path: Path, columns: list[str] | None = None) -> pa.Table:
        """One Parquet file of the store, or a clear error when it is damaged.

        Raises
        ------
        StoreDamagedError
            The file cannot be read as Parquet (truncated, overwritten, not Parquet).
        """
        try:
            return pq.read_table(path, columns=columns)
        except (pa.ArrowInvalid, OSError) as exc:
            if isinstance(exc, pa.ArrowInvalid) and "No match for FieldRef" in str(exc):
                raise
            raise StoreDamagedError(damaged_message(self, path, exc)) from None

    def _merge_partition(
        self,
        table: str,
        practice_id: str,
        month: str,
        new_parts: list[Path | pa.Table],
        key: str,
        sort_by: str,
        schema: pa.Schema,
        drop: frozenset[str] = frozenset(),
        active: frozenset[str] | None = None,
    ) -> tuple[Path, object, "PartitionChange"]:
        """The partition's new content as encoded Parquet; ``None`` to delete it (no rows left);
        :data:`_UNCHANGED` when nothing changes."""
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
            old = self.read_partition(final)
            if "practice_id" in schema.names and "practice_id" not in old.column_names:
                old = old.append_column("practice_id", pa.array([validate_practice_id(practice_id)] * old.num_rows, pa.string()))
            old = conform(old, schema)
        replaced = 0
        if old is not None and old.num_rows and "ingest_id" in old.column_names:
            owner = old["ingest_id"]
            gone = np.zeros(old.num_rows, dtype=bool)
            if drop:
                gone |= pc.fill_null(pc.is_in(owner, value_set=pa.array(sorted(drop), pa.string())), False).to_numpy(
                    zero_copy_only=False
                )
            if active is not None and n_new:
                # Rows of a crashed ingest (not in the manifest) give way to a new row with their key.
                orphan = pc.and_(pc.is_valid(owner), pc.invert(pc.is_in(owner, value_set=pa.array(sorted(active), pa.string()))))
                orphan = pc.fill_null(orphan, False).to_numpy(zero_copy_only=False)
                if orphan.any():
                    gone |= orphan & pc.is_in(old[key], value_set=new[key]).to_numpy(zero_copy_only=False)
            if gone.any():
                replaced = int(gone.sum())
                old = old.filter(pa.array(~gone))
        # Repeats are rare: look for them only when the keys are not all distinct.
        if pc.count_distinct(new[key]).as_py() == n_new:
            fresh = np.ones(n_new, dtype=bool)
        else:
            fresh = ~new[key].to_pandas().duplicated(keep="first").to_numpy()
        if old is not None and old.num_rows and n_new:
            in_old = pc.is_in(new[key], value_set=old[key]).to_numpy(zero_copy_only=False)
            fresh &= ~in_old
        keep = new if fresh.all() else new.filter(pa.array(fresh))
        written = keep.num_rows
        change = PartitionChange(written, n_new - written, replaced)
        if written == 0 and replaced == 0:
            return final, _UNCHANGED, change
        merged = keep if old is None else pa.concat_tables([old, keep])
        if merged.num_rows == 0:
            return final, None, change
        merged = merged.sort_by([(sort_by, "ascending"), (key, "ascending")])
        # The practice is in the directory name (hive); repeating it as a column makes
        # pandas/pyarrow refuse the dataset (string column vs dictionary partition key).
        if "practice_id" in merged.column_names:
            merged = merged.drop_columns(["practice_id"])
        # The key is unique in the partition: a dictionary for it would be as large as the column.
        dictionary = [c for c in merged.column_names if c != key]
        sink = pa.BufferOutputStream()
        pq.write_table(merged, sink, compression="zstd", use_dictionary=dictionary)
        return final, sink.getvalue(), change

    def _publish(self, final: Path, payload: pa.Buffer | None) -> None:
        """Write a partition's file atomically (a hidden temporary file, then a rename), or
        remove it when ``payload`` is None (its last rows were taken back)."""
        if payload is None:
            with contextlib.suppress(FileNotFoundError):
                final.unlink()
            for d in (final.parent, final.parent.parent):
                with contextlib.suppress(OSError):
                    d.rmdir()  # only when empty
            return
        final.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(final, payload)

    # ------------------------------------------------------------------ manifest and rejects
    def manifest(self) -> pd.DataFrame:
        """Every ingest and removal so far, oldest first (empty frame if none).

        Raises
        ------
        StoreDamagedError
            The manifest cannot be read.
        """
        if not self.manifest_path.exists():
            return MANIFEST_SCHEMA.empty_table().to_pandas()
        t = conform(self.read_partition(self.manifest_path), MANIFEST_SCHEMA)
        df = t.to_pandas()
        df["action"] = df["action"].fillna("ingest")
        df["replaced"] = df["replaced"].fillna(0).astype("int64")
        return df

    def append_manifest(self, rows: list[dict]) -> None:
        """Append rows to the manifest atomically (call with the lock held)."""
        new = pa.Table.from_pylist(rows, schema=MANIFEST_SCHEMA)
        if self.manifest_path.exists():
            new = pa.concat_tables([conform(self.read_partition(self.manifest_path), MANIFEST_SCHEMA), new])
        sink = pa.BufferOutputStream()
        pq.write_table(new, sink)
        _write_atomic(self.manifest_path, sink.getvalue())

    def ingests(self) -> pd.DataFrame:
        """One row per ingest, with what became of it.

        Returns
        -------
        pandas.DataFrame
            The manifest's ingest rows (oldest first) with ``status``: ``active`` (its rows are
            in the store), ``replaced by ID`` (the same file ingested again) or ``removed``
            (taken back with :meth:`remove_ingest`).
        """
        man = self.manifest()
        ing = man[man["action"] == "ingest"].copy()
        status = pd.Series("active", index=ing.index, dtype=object)
        pos = {i: k for k, i in zip(ing.index, ing["ingest_id"])}
        for _, r in man.iterrows():
            targets = [t for t in str(r["target"] or "").split(",") if t]
            for t in targets:
                if t in pos:
                    status[pos[t]] = "removed" if r["action"] == "remove" else f"replaced by {r['ingest_id']}"
        ing["status"] = status
        return ing.reset_index(drop=True)

    def active_ingests(self) -> frozenset[str]:
        """Ids of the ingests whose rows are in the store."""
        ing = self.ingests()
        return frozenset(ing.loc[ing["status"] == "active", "ingest_id"])

    def earlier_ingests_of(self, table: str, practice_id: str, file_sha256: str) -> pd.DataFrame:
        """Active ingests of the same file (same content) into the same table and practice."""
        ing = self.ingests()
        same = (
            (ing["status"] == "active")
            & (ing["table"] == table)
            & (ing["practice_id"] == practice_id)
            & (ing["file_sha256"] == file_sha256)
        )
        return ing[same]

    def partitions_of(self, ingests: pd.DataFrame) -> dict[tuple[str, str], list[str]]:
        """The partitions ``(table, practice_id)`` → months that may hold rows of ``ingests``
        (from each one's table, practice and first and last record)."""
        out: dict[tuple[str, str], set[str]] = {}
        for _, r in ingests.iterrows():
            if pd.isna(r["first_utc"]) or pd.isna(r["last_utc"]):
                continue
            practices = None if r["practice_id"] == ALL_PRACTICES else [r["practice_id"]]
            end = pd.Timestamp(r["last_utc"]) + pd.Timedelta(1, "us")
            for pid, month, _ in self.partitions(r["table"], practices, pd.Timestamp(r["first_utc"]), end):
                out.setdefault((r["table"], pid), set()).add(month)
        return {k: sorted(v) for k, v in out.items()}

    def remove_ingest(self, ingest_id: str) -> int:
        """Take an ingest back: remove exactly the rows it last wrote, and record the removal.

        Parameters
        ----------
        ingest_id : str
            An active ingest (see :meth:`ingests`).

        Returns
        -------
        int
            Rows removed.

        Raises
        ------
        StoreError
            No such ingest, or it is not active.

        Notes
        -----
        All or nothing: a journal naming the removal is written first; if the process dies
        part-way, the next writer to take the store's lock finishes it (removing an ingest's
        rows twice removes nothing more) before doing anything else. A row that this ingest
        wrote first and a later overlapping export also held goes with this ingest (the later
        one counted it as a duplicate): ingest that export again to bring it back.
        """
        with self.lock():
            ing = self.ingests()
            row = ing[ing["ingest_id"] == ingest_id]
            if row.empty:
                raise StoreError(f"no ingest {ingest_id!r} in {self.root}: 'frontdoor store ingests' lists them")
            status = row["status"].iloc[0]
            if status != "active":
                raise StoreError(f"ingest {ingest_id} is {status}: it has no rows left to remove")
            journal = self._journal_path("remove", ingest_id)
            _write_atomic(journal, json.dumps({"remove": ingest_id}).encode())
            return self._finish_remove(ingest_id, row, journal)

    def _finish_remove(self, ingest_id: str, row: pd.DataFrame, journal: Path) -> int:
        removed = 0
        for (table, pid), months in self.partitions_of(row).items():
            for month in months:
                removed += self._drop_rows(self.partition_path(table, pid, month), ingest_id)
        r = row.iloc[0]
        now = pd.Timestamp.now(tz="UTC")
        self.append_manifest(
            [
                {
                    "ingest_id": "remove-" + ingest_id,
                    "table": r["table"],
                    "practice_id": r["practice_id"],
                    "file_name": r["file_name"],
                    "file_sha256": r["file_sha256"],
                    "format": r["format"],
                    "started_utc": now,
                    "finished_utc": now,
                    "action": "remove",
                    "target": ingest_id,
                    "replaced": removed,
                }
            ]
        )
        journal.unlink(missing_ok=True)
        return removed

    def _drop_rows(self, path: Path, ingest_id: str) -> int:
        """Remove one ingest's rows from one partition file (rewritten whole, or deleted)."""
        if not path.exists():
            return 0
        t = self.read_partition(path)
        if "ingest_id" not in t.column_names:
            return 0
        gone = pc.fill_null(pc.equal(t["ingest_id"], ingest_id), False)
        n = pc.sum(gone).as_py() or 0
        if not n:
            return 0
        kept = t.filter(pc.invert(gone))
        if kept.num_rows == 0:
            self._publish(path, None)
        else:
            sink = pa.BufferOutputStream()
            pq.write_table(kept, sink, compression="zstd")
            self._publish(path, sink.getvalue())
        return int(n)

    def _journal_path(self, kind: str, ingest_id: str) -> Path:
        return self.root / ".journal" / f"{kind}-{ingest_id}.json"

    def _roll_forward(self) -> None:
        """Finish removals a crashed writer left half done (see :meth:`remove_ingest`)."""
        folder = self.root / ".journal"
        if not folder.exists():
            return
        for journal in sorted(folder.glob("remove-*.json")):
            ingest_id = json.loads(journal.read_text())["remove"]
            ing = self.ingests()
            row = ing[(ing["ingest_id"] == ingest_id) & (ing["status"] == "active")]
            if row.empty:
                journal.unlink(missing_ok=True)
            else:
                self._finish_remove(ingest_id, row, journal)

    def write_rejects(self, ingest_id: str, file_name: str, rejects: list) -> Path | None:
        """Write rejected rows (already masked) to ``rejects/<ingest_id>.csv``.

        Text cells a spreadsheet would run as a formula are made inert first.
        """

        if not rejects:
            return None
        self.rejects_dir.mkdir(exist_ok=True)
        df = pd.DataFrame(
            {
                "file": mask_text(file_name),
                "line": [r.line for r in rejects],
                "reason": [mask_text(r.reason) for r in rejects],
                "text": [mask_text(r.text) for r in rejects],
            }
        )
        df["line"] = df["line"].astype("Int64")
        path = self.rejects_dir / f"{ingest_id}.csv"
        _write_atomic(path, neutralise_csv(df).to_csv(index=False).encode("utf-8"))
        return path

    # ------------------------------------------------------------------ line labels
    @property
    def lines_path(self) -> Path:
        return self.root / "lines.parquet"

    def lines(self, practices: Iterable[str] | None = None) -> pd.DataFrame:
        """The keyed line labels seen per practice, with the names practices gave them."""
        if not self.lines_path.exists():
            df = LINES_SCHEMA.empty_table().to_pandas()
        else:
            df = conform(self.read_partition(self.lines_path), LINES_SCHEMA).to_pandas()
        if practices is not None:
            df = df[df["practice_id"].isin({validate_practice_id(p) for p in practices})]
        return df.sort_values(["practice_id", "label"]).reset_index(drop=True)

    def record_lines(self, practice_id: str, labels: dict[str, tuple[pd.Timestamp, pd.Timestamp]]) -> None:
        """Remember the labels an ingest wrote for a practice (call with the lock held)."""
        if not labels:
            return
        pid = validate_practice_id(practice_id)
        df = self.lines()
        for label, (lo, hi) in labels.items():
            hit = (df["practice_id"] == pid) & (df["label"] == label)
            if hit.any():
                i = df.index[hit][0]
                df.loc[i, "first_utc"] = min(df.loc[i, "first_utc"], lo) if pd.notna(df.loc[i, "first_utc"]) else lo
                df.loc[i, "last_utc"] = max(df.loc[i, "last_utc"], hi) if pd.notna(df.loc[i, "last_utc"]) else hi
            else:
                df = pd.concat(
                    [df, pd.DataFrame([{"practice_id": pid, "label": label, "name": None, "first_utc": lo, "last_utc": hi}])],
                    ignore_index=True,
                )
        self._write_lines(df)

    def name_line(self, practice_id: str, label: str, name: str | None) -> None:
        """Give a practice's keyed line label a name (``None`` clears it).

        Raises
        ------
        StoreError
            The label is unknown for the practice, or the name holds a phone number.
        """

        pid = validate_practice_id(practice_id)
        if name is not None:
            name = " ".join(str(name).split())
            if not name or len(name) > 60 or has_number(name):
                raise StoreError(
                    f"line name {mask_digits(name)!r} is not usable: give a short name (60 characters at most) "
                    "without a phone number, e.g. Reception"
                )
        with self.lock():
            df = self.lines()
            hit = (df["practice_id"] == pid) & (df["label"] == label)
            if not hit.any():
                known = ", ".join(df.loc[df["practice_id"] == pid, "label"]) or "none"
                raise StoreError(f"{pid} has no line labelled {label!r} (its labels: {known})")
            df.loc[hit, "name"] = name
            self._write_lines(df)

    def _write_lines(self, df: pd.DataFrame) -> None:
        t = pa.Table.from_pandas(df[LINES_SCHEMA.names], schema=LINES_SCHEMA, preserve_index=False)
        sink = pa.BufferOutputStream()
        pq.write_table(t, sink)
        _write_atomic(self.lines_path, sink.getvalue())

    def line_names(self, practices: Iterable[str] | None = None) -> dict[tuple[str, str], str]:
        """``(practice_id, label) -> name`` for the labels a practice has named."""
        df = self.lines(practices)
        df = df[df["name"].notna()]
        return {(p, l): n for p, l, n in zip(df["practice_id"], df["label"], df["name"])}

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
                    try:
                        md = pq.read_metadata(p)
                    except (pa.ArrowInvalid, OSError) as exc:
                        raise StoreDamagedError(damaged_message(self, p, exc)) from None
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


def _named_lines(df: pd.DataFrame, names: dict[tuple[str, str], str]) -> pd.DataFrame:
    """Calls with each named line label replaced by the practice's name for it."""
    if not names:
        return df
    pids = df["practice_id"] if "practice_id" in df.columns else None
    if pids is None:
        return df
    key = pids.astype(str) + "\x00" + df["line"].astype("string").fillna("")
    lookup = {f"{p}\x00{l}": n for (p, l), n in names.items()}
    named = key.map(lookup)
    df = df.copy()
    df["line"] = named.where(named.notna(), df["line"]).astype("string")
    return df


class PartitionChange(NamedTuple):
    """What a commit did to one partition."""

    written: int
    duplicates: int
    replaced: int = 0


# A merge that changes nothing: the partition is not rewritten.
_UNCHANGED = object()


def key_fingerprint(key: bytes) -> str:
    """A short public fingerprint of a key (keyed hash of a constant): tells keys apart
    without revealing them."""
    return hmac.digest(key, b"frontdoor key fingerprint", "sha256").hex()[:16]


def damaged_message(store: "Store", path: Path, exc: BaseException) -> str:
    """What to say about a store file that cannot be read, and what to do."""
    rel = path.relative_to(store.root) if path.is_relative_to(store.root) else path
    what = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return (
        f"store damaged at {path}: {what}. Restore {rel} from a backup, or delete it and ingest again "
        "the exports that wrote it ('frontdoor store ingests' lists them)"
    )


def _write_atomic(final: Path, payload) -> None:
    """Write a file whole: a hidden temporary file beside it (readers of a dataset skip names
    starting with ``.``), flushed to disk, then renamed into place."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.stem}-{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(memoryview(payload) if not isinstance(payload, bytes) else payload)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, final)


def default_store_path() -> Path:
    """``FRONTDOOR_STORE`` if set, else ``./frontdoor-data``."""
    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE)


def open_store(path: str | Path | None = None, create: bool = False) -> Store:
    """Open (or create) a store; ``path`` defaults to :func:`default_store_path`."""
    return Store(path if path is not None else default_store_path(), create=create)
