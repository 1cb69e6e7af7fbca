"""One engine interface, two engines: map a per-practice function over the store.

Per-practice work (metrics, forecasts, peers' inputs) is written as a pure function of one
practice's frames::

    def work(practice_id: str, frames: dict[str, pd.DataFrame], **kwargs) -> pd.DataFrame: ...

and :func:`map_practices` runs it over practices, on one of two engines over the same
hive-partitioned Parquet store (``STORE/<table>/practice_id=*/month=*/part.parquet``):

``local`` (default)
    A process pool (:class:`concurrent.futures.ProcessPoolExecutor`, ``workers`` processes,
    default one per core; ``workers=1`` runs in this process). Each worker reads its own
    practice's partitions once (a :mod:`pyarrow.dataset` over the practice's folder, filtered
    on month and time), so no frame crosses a process boundary but the results.
``spark``
    PySpark: the same store read with ``spark.read.parquet`` and
    ``groupBy("practice_id").applyInPandas`` (``cogroup`` for two tables) calling the same
    function. ``spark_master`` points at a cluster (``spark://host:7077``, ``yarn``...); the
    default is ``local[*]``. On a cluster the store must be on storage every executor reads at
    the same path (HDFS, S3, NFS). PySpark is an optional extra (``pip install
    '.[spark]'``), imported only when this engine is asked for.

Both engines give the function the same frames: the rows of each table in the period, sorted
by time then key (a total order, so a function that depends on the order of ties does not get
different answers from the two engines), strings as ``string`` dtype, times as UTC-aware
timestamps, a named line label read as its name (as :meth:`telephony.store.Store.read_calls`
does). Results come back with the dtypes the function gave them.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import threading
import warnings
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from telephony.errors import FrontdoorError, StoreDamagedError
from telephony.schema import CALL_SCHEMA
from telephony.store import Store, _as_utc, _months_between, _named_lines, damaged_message, validate_practice_id

__all__ = ["ENGINES", "EngineError", "EngineProgress", "map_practices", "spark_session"]

#: The engines :func:`map_practices` knows.
ENGINES: tuple[str, ...] = ("local", "spark")

#: ``progress(practice_id, done, total)``, called as each practice's work finishes (local engine).
EngineProgress = Callable[[str, int, int], None]

DEFAULT_SPARK_MASTER = "local[*]"

# Time column and key of the store's tables: frames are sorted by both, a total order.
_ORDER: dict[str, tuple[str, ...]] = {
    "calls": ("start_utc", "call_id"),
    "appointments": ("start_utc", "slot_id"),
    "gpad": ("month_start", "row_key"),
    "capacity": ("period_start", "row_key"),
}
# Columns the store's hive layout adds: the month is where a row is kept, not what it says.
_PARTITION_COLUMNS = ("month",)
_PANDAS_STRINGS = {pa.string(): pd.StringDtype(), pa.large_string(): pd.StringDtype()}.get
# PySpark 4 warns on every conversion that it "does not yet fully support pandas >= 3"; the
# engine tests check the conversions it makes on the installed pandas, so that one message
# (and no other warning) is left out of the user's terminal.
_PYSPARK_PANDAS_WARNING = r"PySpark does not yet fully support pandas"


class EngineError(FrontdoorError):
    """An engine that cannot run: unknown name, PySpark missing, a table it cannot combine."""


# ----------------------------------------------------------------------------- the interface


def map_practices(
    func: Callable[..., pd.DataFrame],
    store: Store | str | os.PathLike,
    practices: Iterable[str] | str | None = None,
    *,
    tables: Sequence[str] = ("calls",),
    engine: str = "local",
    workers: int | None = None,
    spark_master: str | None = None,
    progress: EngineProgress | None = None,
    period: tuple | None = None,
    columns: Mapping[str, Sequence[str]] | None = None,
    output_schema: pa.Schema | None = None,
    **kwargs,
) -> pd.DataFrame:
    """Call ``func`` once per practice with its rows of each table; concatenate the results.

    Parameters
    ----------
    func : callable
        ``func(practice_id, frames, **kwargs) -> DataFrame``, ``frames`` a dict of table name
        to that practice's rows. A module-level pure function (it is pickled to the workers).
    store : Store, path or URI
        The store. The Spark engine also takes a URI it can read (``hdfs://...``,
        ``s3a://...``) where a :class:`~telephony.store.Store` cannot be opened.
    practices : str or iterable of str, optional
        ODS codes; every practice with partitions in the first table when omitted.
    tables : sequence of str
        Store tables to read (``calls``, ``appointments``...); the Spark engine combines at
        most two.
    engine : {"local", "spark"}
    workers : int, optional
        ``local``: processes (default: the machine's cores; ``1`` runs in this process).
    spark_master : str, optional
        ``spark``: the cluster's master URL (default ``local[*]``; an already running Spark
        session is used as it is).
    progress : callable, optional
        ``progress(practice_id, done, total)`` as each practice finishes (``local``; the
        Spark engine reports the start and the end of its one job as practice ``*``).
    period : (start, end), optional
        Only rows whose time (``start_utc`` for calls and slots) is in ``[start, end)``;
        naive values are Europe/London wall-clock time. Only the months that can hold them
        are opened.
    columns : mapping of table name to column names, optional
        Columns to read of each table (fewer read faster); all when omitted.
    output_schema : pyarrow.Schema, optional
        ``spark``: the schema of ``func``'s result; when omitted, ``func`` is first run on
        one practice in the driver and its result's schema used.
    **kwargs
        Passed to ``func`` (picklable values).

    Returns
    -------
    pandas.DataFrame
        The results, each with a ``practice_id`` column (added first where ``func`` left it
        out), sorted by practice (stable: each practice's rows in ``func``'s order).

    Raises
    ------
    EngineError
        An unknown engine, ``workers`` below 1, the Spark engine without PySpark, or more
        than two tables on Spark.
    telephony.errors.InvalidPracticeError
        A practice id that is not an ODS code.

    Notes
    -----
    ``func`` runs for each requested practice that has rows in at least one of the tables in
    the period (a practice without any is not called, on either engine: Spark's groups are
    the practices it finds). An exception in ``func`` stops the run and is raised here with
    a note naming the practice (local engine).

    Examples
    --------
    >>> def calls_per_day(practice_id, frames):                      # doctest: +SKIP
    ...     c = frames["calls"]
    ...     return c.groupby(c["start_utc"].dt.date).size().rename("calls").reset_index()
    >>> map_practices(calls_per_day, store, engine="local", workers=2)  # doctest: +SKIP
    """
    if engine not in ENGINES:
        raise EngineError(f"Unknown engine {engine!r}: use one of {', '.join(ENGINES)} (`engine`).")
    if workers is not None and int(workers) < 1:
        raise EngineError(f"`workers` must be 1 or more, not {workers}.")
    tables = tuple(tables)
    if not tables:
        raise EngineError("Give at least one store table to read (`tables`), e.g. calls.")
    if isinstance(practices, str):
        practices = [practices]
    wanted = None if practices is None else list(dict.fromkeys(validate_practice_id(p) for p in practices))
    columns = {t: list(c) for t, c in (columns or {}).items()}
    if engine == "spark":
        return _map_spark(func, store, wanted, tables, spark_master, progress, period, columns, output_schema, kwargs)
    return _map_local(func, store, wanted, tables, workers, progress, period, columns, kwargs)


# ----------------------------------------------------------------------------- shared


def _bounds(period) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    if period is None:
        return None, None
    start, end = period
    return _as_utc(start), _as_utc(end)


def _order(table: str, present: Iterable[str]) -> list[str]:
    """Sort keys of ``table`` among ``present`` columns (time first, then key)."""
    present = set(present)
    keys = _ORDER.get(table)
    if keys is None:
        return []
    return [k for k in keys if k in present]


def _read_columns(table: str, columns: Mapping[str, list[str]]) -> list[str] | None:
    """Columns to read of ``table``: those asked for plus its sort keys (dropped after)."""
    want = columns.get(table)
    if want is None:
        return None
    extra = list(_ORDER.get(table, ()))
    return list(dict.fromkeys([c for c in want if c != "practice_id"] + extra))


def _finish_frame(
    table: str,
    t: pa.Table,
    practice_id: str,
    columns: Mapping[str, list[str]],
    line_names: Mapping[tuple[str, str], str],
) -> pd.DataFrame:
    """Arrow rows of one practice's table as the frame ``func`` gets, on either engine."""
    t = t.drop_columns([c for c in _PARTITION_COLUMNS + ("practice_id",) if c in t.column_names])
    if table == "calls":
        # A store written by an earlier version lacks the newer columns: nulls, as the store reads.
        for f in CALL_SCHEMA:
            if f.name != "practice_id" and f.name not in t.column_names:
                t = t.append_column(f.name, pa.nulls(t.num_rows, f.type))
    keys = _order(table, t.column_names)
    if keys and t.num_rows:
        t = t.take(pc.sort_indices(t, [(k, "ascending") for k in keys]))
    t = t.add_column(0, "practice_id", pa.array([practice_id] * t.num_rows, pa.string()))
    want = columns.get(table)
    if want is not None:
        t = t.select([c for c in dict.fromkeys(["practice_id"] + list(want)) if c in t.column_names])
    elif table == "calls":
        t = t.select([n for n in CALL_SCHEMA.names if n in t.column_names] + [n for n in t.column_names if n not in CALL_SCHEMA.names])
    df = t.to_pandas(types_mapper=_PANDAS_STRINGS)
    if table == "calls" and "line" in df.columns and line_names:
        df = _named_lines(df, line_names)
    return df


def _with_practice(result: pd.DataFrame, practice_id: str) -> pd.DataFrame:
    if not isinstance(result, pd.DataFrame):
        raise EngineError(
            f"the per-practice function returned {type(result).__name__} for {practice_id}, not a DataFrame"
        )
    if "practice_id" not in result.columns:
        result = result.copy()
        result.insert(0, "practice_id", pd.Series([practice_id] * len(result), index=result.index, dtype="string"))
    return result


def _concat(results: list[pd.DataFrame]) -> pd.DataFrame:
    if not results:
        return pd.DataFrame({"practice_id": pd.Series([], dtype="string")})
    nonempty = [r for r in results if len(r)] or results[:1]
    out = pd.concat(nonempty, ignore_index=True)
    return out.sort_values("practice_id", kind="stable").reset_index(drop=True)


# ----------------------------------------------------------------------------- local


def _store_root(store) -> Path:
    return store.root if isinstance(store, Store) else Path(store)


def _practices_in(root: Path, tables: Sequence[str], wanted: list[str] | None) -> list[str]:
    """Practices with partitions in any table (directory names only), in ``wanted`` order or sorted."""
    have: set[str] = set()
    for table in tables:
        base = root / table
        if base.is_dir():
            have.update(p.name.split("=", 1)[1] for p in base.glob("practice_id=*") if p.is_dir())
    if wanted is None:
        return sorted(have)
    return [p for p in wanted if p in have]


def read_practice_frames(
    root: str | os.PathLike,
    practice_id: str,
    tables: Sequence[str] = ("calls",),
    period: tuple | None = None,
    columns: Mapping[str, Sequence[str]] | None = None,
    line_names: Mapping[tuple[str, str], str] | None = None,
) -> dict[str, pd.DataFrame]:
    """One practice's rows of each table, as the local engine gives them to ``func``.

    Parameters
    ----------
    root : path
        The store directory.
    practice_id : str
    tables, period, columns
        As :func:`map_practices`.
    line_names : mapping, optional
        ``(practice_id, label) -> name`` (:meth:`telephony.store.Store.line_names`).

    Returns
    -------
    dict of str to pandas.DataFrame

    Notes
    -----
    Each table is read as one :mod:`pyarrow.dataset` over the practice's folder, with the
    hive ``month`` partition and the time column in the filter, so only the months of the
    period are opened; files written by earlier versions (fewer columns) are read with the
    union of the schemas.
    """
    root = Path(root)
    pid = validate_practice_id(practice_id)
    columns = {t: list(c) for t, c in (columns or {}).items()}
    lo, hi = _bounds(period)
    m_lo, m_hi = _months_between(lo, hi)
    frames = {}
    for table in tables:
        folder = root / table / f"practice_id={pid}"
        files = sorted(str(p) for p in folder.glob("month=*/part.parquet")) if folder.is_dir() else []
        tcol = _ORDER.get(table, ("start_utc",))[0]
        if not files:
            t = None
        else:
            schema = pa.unify_schemas([_file_schema(root, f) for f in files], promote_options="permissive")
            schema = schema.append(pa.field("month", pa.string())) if "month" not in schema.names else schema
            part = pads.partitioning(pa.schema([("month", pa.string())]), flavor="hive")
            ds = pads.dataset(files, schema=schema, format="parquet", partitioning=part, partition_base_dir=str(folder))
            filt = None
            if m_lo is not None:
                filt = pads.field("month") >= m_lo
            if m_hi is not None:
                f2 = pads.field("month") <= m_hi
                filt = f2 if filt is None else filt & f2
            if tcol in schema.names:
                if lo is not None:
                    f2 = pads.field(tcol) >= pa.scalar(lo.to_pydatetime(), schema.field(tcol).type)
                    filt = f2 if filt is None else filt & f2
                if hi is not None:
                    f2 = pads.field(tcol) < pa.scalar(hi.to_pydatetime(), schema.field(tcol).type)
                    filt = f2 if filt is None else filt & f2
            cols = _read_columns(table, columns)
            if cols is not None:
                cols = [c for c in cols if c in schema.names]
            try:
                t = ds.to_table(columns=cols, filter=filt)
            except (pa.ArrowInvalid, OSError) as exc:
                raise StoreDamagedError(damaged_message(Store(root), folder, exc)) from None
        if t is None:
            t = _empty_table(root, table)
        frames[table] = _finish_frame(table, t, pid, columns, line_names or {})
    return frames


def _file_schema(root: Path, path: str) -> pa.Schema:
    """A partition's schema (its footer), or the store's word for a file that is not Parquet."""
    try:
        return pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise StoreDamagedError(damaged_message(Store(root), Path(path), exc)) from None


def _empty_table(root: Path, table: str) -> pa.Table:
    """No rows of ``table``, with the columns another practice's partition has (as Spark gives
    a practice without rows on one side of a cogroup)."""
    if table == "calls":
        return CALL_SCHEMA.empty_table()
    other = next((root / table).glob("practice_id=*/month=*/part.parquet"), None)
    if other is None:
        return pa.table({"practice_id": pa.array([], pa.string())})
    return pq.read_schema(other).empty_table()


def _run_one(func, root: str, practice_id: str, tables, period, columns, line_names, kwargs) -> pd.DataFrame:
    """One practice's work, in whichever process runs it."""
    frames = read_practice_frames(root, practice_id, tables, period, columns, line_names)
    if not any(len(f) for f in frames.values()):
        return None
    try:
        result = func(practice_id, frames, **kwargs)
    except Exception as exc:
        exc.add_note(f"(in the work of practice {practice_id})")
        raise
    return _with_practice(result, practice_id)


def _line_names(store, practices: list[str]) -> dict:
    """The names practices gave their line labels, from a store on this machine."""
    if not practices:
        return {}
    if not isinstance(store, Store):
        if not Path(store).is_dir():
            return {}  # a URI only Spark reads: the executors get the labels as stored
        store = Store(store)
    return store.line_names(practices)


def _start_method() -> str:
    """How the pool starts its workers: ``fork`` (no re-import: the workers start at once)
    unless other Python threads run here (a Spark gateway's, a server's), which a forked
    child would inherit half-locked; then ``forkserver`` (each worker imports ``func``'s
    module afresh, so a script must guard its work with ``if __name__ == "__main__"``).
    """
    if os.name == "posix" and threading.active_count() == 1:
        return "fork"
    return "forkserver" if os.name == "posix" else "spawn"


def _map_local(func, store, wanted, tables, workers, progress, period, columns, kwargs) -> pd.DataFrame:
    root = _store_root(store)
    pids = _practices_in(root, tables, wanted)
    names = _line_names(store, pids) if "calls" in tables else {}
    n = len(pids)
    workers = (os.cpu_count() or 1) if workers is None else int(workers)
    results: dict[str, pd.DataFrame | None] = {}
    if workers == 1 or n <= 1:
        for i, pid in enumerate(pids, 1):
            results[pid] = _run_one(func, str(root), pid, tables, period, columns, names, kwargs)
            if progress is not None:
                progress(pid, i, n)
    else:
        ctx = multiprocessing.get_context(_start_method())
        with concurrent.futures.ProcessPoolExecutor(max_workers=min(workers, n), mp_context=ctx) as pool:
            futures = {
                pool.submit(_run_one, func, str(root), pid, tables, period, columns, names, kwargs): pid for pid in pids
            }
            try:
                for i, fut in enumerate(concurrent.futures.as_completed(futures), 1):
                    pid = futures[fut]
                    results[pid] = fut.result()
                    if progress is not None:
                        progress(pid, i, n)
            except BaseException:
                for fut in futures:
                    fut.cancel()
                raise
    return _concat([results[p] for p in pids if results.get(p) is not None])


# ----------------------------------------------------------------------------- spark


def spark_session(master: str | None = None):
    """The active Spark session, or a new one at ``master`` (default ``local[*]``).

    Raises
    ------
    EngineError
        PySpark is not installed.
    """
    try:
        # Lazily: PySpark (and a JVM) is an optional extra, only for --engine spark.
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineError(
            "the spark engine needs PySpark: pip install 'frontdoor-analytics[spark]' (and Java 17), "
            "or use `engine` local"
        ) from None
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    return SparkSession.builder.master(master or DEFAULT_SPARK_MASTER).appName("frontdoor").getOrCreate()


def _spark_type(t: pa.DataType):
    """The Spark type a result column of Arrow type ``t`` travels as."""
    from pyspark.sql import types as T

    if pa.types.is_dictionary(t):
        return _spark_type(t.value_type)
    if pa.types.is_boolean(t):
        return T.BooleanType()
    if pa.types.is_int8(t) or pa.types.is_uint8(t):
        return T.ShortType()
    if pa.types.is_int16(t) or pa.types.is_uint16(t):
        return T.IntegerType()
    if pa.types.is_int32(t) or pa.types.is_uint32(t):
        return T.LongType() if pa.types.is_uint32(t) else T.IntegerType()
    if pa.types.is_integer(t):
        return T.LongType()
    if pa.types.is_float32(t):
        return T.FloatType()
    if pa.types.is_floating(t):
        return T.DoubleType()
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
        return T.StringType()
    if pa.types.is_date(t):
        return T.DateType()
    if pa.types.is_timestamp(t):
        return T.TimestampType() if t.tz is not None else T.TimestampNTZType()
    if pa.types.is_duration(t):
        return T.DayTimeIntervalType()
    raise EngineError(f"a result column of type {t} cannot travel through Spark: return plain columns")


def _spark_schema(schema: pa.Schema):
    from pyspark.sql import types as T

    return T.StructType([T.StructField(f.name, _spark_type(f.type), True) for f in schema])


def _from_spark(pdf: pd.DataFrame, arrow_schema: pa.Schema) -> pa.Table:
    """A pandas frame Spark handed over, back to the store's Arrow types.

    Spark gives timestamps as naive wall time of the session's zone (set to UTC while the
    engine runs), strings as the installed pandas' default string dtype, integers with gaps as
    floats; the store's Arrow schema undoes all three.
    """
    cols = {}
    for f in arrow_schema:
        s = pdf[f.name] if f.name in pdf.columns else pd.Series([None] * len(pdf), dtype=object)
        if pa.types.is_timestamp(f.type) and f.type.tz is not None:
            s = pd.to_datetime(s)
            s = s.dt.tz_localize("UTC") if s.dt.tz is None else s.dt.tz_convert("UTC")
            cols[f.name] = pa.array(s, type=f.type, from_pandas=True)
        else:
            cols[f.name] = pa.array(s, from_pandas=True).cast(f.type) if len(s) else pa.array([], f.type)
    return pa.table(cols, schema=arrow_schema)


def _arrow_of_spark(sdf) -> pa.Schema:
    """The Arrow schema of a Spark frame's columns, as the store writes them."""
    from pyspark.sql import types as T

    def one(t):
        if isinstance(t, T.TimestampType):
            return pa.timestamp("us", tz="UTC")
        if isinstance(t, T.TimestampNTZType):
            return pa.timestamp("us")
        if isinstance(t, T.StringType):
            return pa.string()
        if isinstance(t, T.LongType):
            return pa.int64()
        if isinstance(t, T.IntegerType):
            return pa.int32()
        if isinstance(t, T.ShortType):
            return pa.int16()
        if isinstance(t, T.ByteType):
            return pa.int8()
        if isinstance(t, T.DoubleType):
            return pa.float64()
        if isinstance(t, T.FloatType):
            return pa.float32()
        if isinstance(t, T.BooleanType):
            return pa.bool_()
        if isinstance(t, T.DateType):
            return pa.date32()
        if isinstance(t, T.BinaryType):
            return pa.binary()
        raise EngineError(f"a store column of Spark type {t} is not one Frontdoor writes")

    return pa.schema([pa.field(f.name, one(f.dataType)) for f in sdf.schema.fields])


class _SparkWork:
    """The function Spark calls per practice group: frames as the local engine makes them,
    ``func``, and its result with the column types of the output schema."""

    def __init__(self, func, tables, in_schemas, columns, line_names, out_schema, kwargs):
        self.func, self.tables, self.in_schemas = func, tables, in_schemas
        self.columns, self.line_names, self.out_schema, self.kwargs = columns, line_names, out_schema, kwargs

    def frames(self, pdfs: Sequence[pd.DataFrame]) -> tuple[str | None, dict[str, pd.DataFrame]]:
        pid = None
        for pdf in pdfs:
            if len(pdf):
                pid = str(pdf["practice_id"].iloc[0])
                break
        frames = {}
        for table, pdf in zip(self.tables, pdfs):
            t = _from_spark(pdf, self.in_schemas[table])
            frames[table] = _finish_frame(table, t, pid or "", self.columns, self.line_names)
        return pid, frames

    def result(self, pid: str, out: pd.DataFrame) -> pd.DataFrame:
        out = _with_practice(out, pid)
        t = pa.Table.from_pandas(out, preserve_index=False)
        cols = {}
        for f in self.out_schema:
            a = t[f.name] if f.name in t.column_names else pa.nulls(t.num_rows, f.type)
            if pa.types.is_dictionary(a.type):
                a = a.cast(a.type.value_type)
            if pa.types.is_timestamp(f.type) and f.type.tz is not None:
                a = a.cast(pa.timestamp("us", tz="UTC"))
            cols[f.name] = a
        # Plain numpy/object columns: the conversion Spark has supported longest.
        return pa.table(cols).to_pandas(types_mapper=None, timestamp_as_object=False)

    def __call__(self, *pdfs: pd.DataFrame) -> pd.DataFrame:
        warnings.filterwarnings("ignore", message=_PYSPARK_PANDAS_WARNING, category=FutureWarning)
        pid, frames = self.frames(pdfs)
        return self.result(pid, self.func(pid, frames, **self.kwargs))


def _spark_table(spark, root: str, table: str, pids, period, columns):
    """One store table as a Spark frame: the practices and months of the period, the columns."""
    from pyspark.sql import functions as F

    base = f"{root.rstrip('/')}/{table}"
    sdf = spark.read.option("basePath", base).option("mergeSchema", "true").parquet(base)
    lo, hi = _bounds(period)
    m_lo, m_hi = _months_between(lo, hi)
    if pids is not None:
        sdf = sdf.where(F.col("practice_id").isin(list(pids)))
    if m_lo is not None:
        sdf = sdf.where(F.col("month") >= m_lo)
    if m_hi is not None:
        sdf = sdf.where(F.col("month") <= m_hi)
    tcol = _ORDER.get(table, ("start_utc",))[0]
    if tcol in sdf.columns:
        if lo is not None:
            sdf = sdf.where(F.col(tcol) >= F.lit(lo.to_pydatetime()))
        if hi is not None:
            sdf = sdf.where(F.col(tcol) < F.lit(hi.to_pydatetime()))
    cols = _read_columns(table, columns)
    keep = [c for c in sdf.columns if c not in _PARTITION_COLUMNS] if cols is None else ["practice_id"] + [c for c in cols if c in sdf.columns]
    return sdf.select(*dict.fromkeys(keep))


def _collect(sdf) -> pa.Table:
    if hasattr(sdf, "toArrow"):  # PySpark 4
        return sdf.toArrow()
    return pa.Table.from_pandas(sdf.toPandas(), preserve_index=False)


def _map_spark(func, store, wanted, tables, master, progress, period, columns, output_schema, kwargs) -> pd.DataFrame:
    if len(tables) > 2:
        raise EngineError(
            f"the spark engine combines at most two tables per practice, not {len(tables)} ({', '.join(tables)}): "
            "split the work, or use `engine` local"
        )
    spark = spark_session(master)
    root = str(store.root) if isinstance(store, Store) else str(store)
    conf = {
        # Naive timestamps handed to pandas are wall time in this zone: UTC, which _from_spark undoes.
        "spark.sql.session.timeZone": "UTC",
        # month=2026-01 and practice_id stay strings, as the local engine reads them.
        "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }
    before = {k: spark.conf.get(k, None) for k in conf}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_PYSPARK_PANDAS_WARNING, category=FutureWarning)
        for k, v in conf.items():
            spark.conf.set(k, v)
        try:
            return _run_spark(spark, func, store, root, wanted, tables, progress, period, columns, output_schema, kwargs)
        finally:
            for k, v in before.items():
                if v is None:
                    spark.conf.unset(k)
                else:
                    spark.conf.set(k, v)


def _run_spark(spark, func, store, root, wanted, tables, progress, period, columns, output_schema, kwargs):
    from pyspark.sql import functions as F

    sdfs = [_spark_table(spark, root, t, wanted, period, columns) for t in tables]
    in_schemas = {t: _arrow_of_spark(s) for t, s in zip(tables, sdfs)}
    if Path(root).is_dir():
        pids = _practices_in(Path(root), tables, wanted)  # directory names: no Spark job
    else:
        found = set()
        for s in sdfs:
            found.update(r[0] for r in s.select("practice_id").distinct().collect())
        pids = sorted(found) if wanted is None else [p for p in wanted if p in found]
    if not pids:
        return _concat([])
    names = _line_names(store, pids) if "calls" in tables else {}
    if output_schema is None:
        # The result's schema from one practice's run in the driver (Spark needs it up front).
        sample = None
        for first in pids:  # the first practice with rows in the period
            pdfs = [_collect(s.where(F.col("practice_id") == first)).to_pandas() for s in sdfs]
            if any(len(p) for p in pdfs):
                probe = _SparkWork(func, tables, in_schemas, columns, names, None, kwargs)
                _pid, frames = probe.frames(pdfs)
                sample = _with_practice(func(first, frames, **kwargs), first)
                break
        if sample is None:
            return _concat([])
        output_schema = pa.Schema.from_pandas(sample, preserve_index=False).remove_metadata()
        dtypes = sample.dtypes.to_dict()
    else:
        dtypes = None
    work = _SparkWork(func, tables, in_schemas, columns, names, output_schema, kwargs)
    out_schema = _spark_schema(output_schema)
    if progress is not None:
        progress("*", 0, len(pids))
    # Plain functions, not the callable object: PySpark tells grouped from cogrouped work by
    # the number of arguments its function takes.
    if len(sdfs) == 1:
        def one(pdf: pd.DataFrame) -> pd.DataFrame:
            return work(pdf)

        res = sdfs[0].groupBy("practice_id").applyInPandas(one, out_schema)
    else:
        def two(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
            return work(left, right)

        res = sdfs[0].groupBy("practice_id").cogroup(sdfs[1].groupBy("practice_id")).applyInPandas(two, out_schema)
    t = _collect(res)
    if progress is not None:
        progress("*", len(pids), len(pids))
    return _restore(t, output_schema, dtypes)


def _restore(t: pa.Table, schema: pa.Schema, dtypes: Mapping | None) -> pd.DataFrame:
    """Spark's result as the function returned it: the output schema's zones, the sample's dtypes."""
    cols = {}
    for f in schema:
        a = t[f.name]
        if pa.types.is_timestamp(f.type) and f.type.tz is not None:
            a = a.cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp(f.type.unit if f.type.unit != "s" else "us", tz=f.type.tz))
        cols[f.name] = a
    df = pa.table(cols).to_pandas(types_mapper=_PANDAS_STRINGS if dtypes is None else None)
    if dtypes is not None:
        for c, dt in dtypes.items():
            if c in df.columns and str(df[c].dtype) != str(dt):
                try:
                    df[c] = df[c].astype(dt)
                except (TypeError, ValueError):
                    pass  # a dtype the rows cannot take (an int column with gaps): left as Arrow gave it
    if len(df):
        df = df.sort_values("practice_id", kind="stable").reset_index(drop=True)
    return df
