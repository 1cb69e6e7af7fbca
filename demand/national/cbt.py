"""The national CBT table: NHS England's "Cloud Based Telephony data in General Practice".

``STORE/national/cbt.parquet``, one file, one row per practice and month (plus the
publication's ``Unassigned`` rows). Several monthly publications make monthly trends; a month
ingested again replaces that month's rows whole.

Glossary
--------
==================== ======= ======================================================================
column               type    meaning
==================== ======= ======================================================================
month                date32  first day of the month the calls were made in
practice_id          string  ODS code, or ``Unassigned`` (calls a supplier could not attribute)
practice_name        string  practice name (``Unmapped`` for the unassigned rows)
pcn_code             string  Primary Care Network code
pcn_name             string  Primary Care Network name
sub_icb_code         string  sub-ICB location code
sub_icb_name         string  sub-ICB location name
icb_code             string  Integrated Care Board code
icb_name             string  Integrated Care Board name
region_code          string  NHS England region code
region_name          string  NHS England region name
unassigned           bool    an ``Unassigned``/``Unmapped`` row: counts in national totals, never
                             in a comparison of practices
inbound_calls        int64   count of inbound calls
answered             int64   answered by a person
ended_ivr            int64   ended during the IVR stage
callback_requested   int64   the caller booked a call-back (not answered: answered + this = handled)
missed               int64   queued or rang, not answered (voicemail included)
callback_made        int64   call-backs the practice made
answer_lt_1m         int64   answered calls by time to answer: less than 1 minute
answer_1_2m          int64   1 - 2 minutes
answer_2_5m          int64   2 - 5 minutes
answer_gt_5m         int64   longer than 5 minutes
length_lt_1m         int64   answered calls by call length: less than 1 minute
length_1_2m          int64   1 - 2 minutes
length_2_5m          int64   2 - 5 minutes
length_gt_5m         int64   longer than 5 minutes
missed_lt_1m         int64   missed calls by time waited: less than 1 minute
missed_1_2m          int64   1 - 2 minutes
missed_2_5m          int64   2 - 5 minutes
missed_gt_5m         int64   longer than 5 minutes
source               string  the publication's file name, or ``simulated``
==================== ======= ======================================================================

In pandas, ``month`` is ``datetime64[ns]`` (midnight of the first), counts are nullable
``Int64`` (a practice missing from one of the tables has nulls there), ``unassigned`` is
``bool``.
"""

from __future__ import annotations

import os
import uuid
from typing import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from telephony.errors import FrontdoorError
from telephony.store import Store

OUTCOME_COUNTS: tuple[str, ...] = (
    "inbound_calls",
    "answered",
    "ended_ivr",
    "callback_requested",
    "missed",
    "callback_made",
)
BANDS: tuple[str, ...] = ("lt_1m", "1_2m", "2_5m", "gt_5m")
ANSWER_BANDS: tuple[str, ...] = tuple(f"answer_{b}" for b in BANDS)
LENGTH_BANDS: tuple[str, ...] = tuple(f"length_{b}" for b in BANDS)
MISSED_BANDS: tuple[str, ...] = tuple(f"missed_{b}" for b in BANDS)
COUNT_COLUMNS: tuple[str, ...] = OUTCOME_COUNTS + ANSWER_BANDS + LENGTH_BANDS + MISSED_BANDS
HIERARCHY: tuple[str, ...] = (
    "pcn_code",
    "pcn_name",
    "sub_icb_code",
    "sub_icb_name",
    "icb_code",
    "icb_name",
    "region_code",
    "region_name",
)

CBT_SCHEMA = pa.schema(
    [pa.field("month", pa.date32(), nullable=False), pa.field("practice_id", pa.string(), nullable=False)]
    + [pa.field("practice_name", pa.string())]
    + [pa.field(c, pa.string()) for c in HIERARCHY]
    + [pa.field("unassigned", pa.bool_(), nullable=False)]
    + [pa.field(c, pa.int64()) for c in COUNT_COLUMNS]
    + [pa.field("source", pa.string())]
)
CBT_COLUMNS: tuple[str, ...] = tuple(CBT_SCHEMA.names)
UNASSIGNED = "Unassigned"
TABLE_DIR = "national"
FILE_NAME = "cbt.parquet"


class NationalDataError(FrontdoorError, ValueError):
    """National data (a CBT publication, a registered-patients file) that cannot be read or stored."""


def cbt_path(store: Store):
    """Where the national CBT table lives in ``store``."""
    return store.root / TABLE_DIR / FILE_NAME


def conform_cbt(frame: pd.DataFrame) -> pd.DataFrame:
    """The CBT columns in order, with their pandas dtypes (see the module's docstring).

    Raises
    ------
    NationalDataError
        For missing columns, or values that are not what their column holds (a month that is
        not a first of the month, a negative or fractional count, an empty practice id).
    """
    missing = [c for c in CBT_COLUMNS if c not in frame.columns]
    if missing:
        raise NationalDataError(f"the CBT table needs column(s) {', '.join(missing)}; it has {', '.join(map(str, frame.columns))}")
    out = pd.DataFrame(index=frame.index)
    month = frame["month"]
    if isinstance(month.dtype, pd.DatetimeTZDtype):
        month = month.dt.tz_localize(None)
    out["month"] = pd.to_datetime(month, errors="coerce").astype("datetime64[ns]")
    bad = out["month"].isna() | (out["month"] != out["month"].dt.to_period("M").dt.start_time)
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise NationalDataError(f"CBT row {i + 1}: month {frame['month'].iloc[i]!r} is not the first day of a month")
    for c in ("practice_id", "practice_name") + HIERARCHY + ("source",):
        text = frame[c].astype("string").str.strip()
        out[c] = text.mask(text == "")
    if out["practice_id"].isna().any():
        i = int(out["practice_id"].isna().to_numpy().nonzero()[0][0])
        raise NationalDataError(f"CBT row {i + 1}: practice_id is empty")
    flags = frame["unassigned"]
    if flags.isna().any():
        raise NationalDataError("CBT column unassigned must be true or false on every row")
    out["unassigned"] = flags.astype(bool)
    for c in COUNT_COLUMNS:
        num = pd.to_numeric(frame[c], errors="coerce")
        wrong = (frame[c].notna() & num.isna()) | (num < 0) | (num.notna() & (num != num.round()))
        wrong = wrong.fillna(False).to_numpy(dtype=bool)
        if wrong.any():
            i = int(wrong.nonzero()[0][0])
            raise NationalDataError(f"CBT row {i + 1}: {c} {frame[c].iloc[i]!r} is not a count (a whole number, 0 or more)")
        out[c] = num.astype("Int64")
    dup = out.duplicated(["month", "practice_id"], keep=False) & ~out["unassigned"]
    if dup.any():
        pairs = sorted({f"{p} {m:%Y-%m}" for m, p in out.loc[dup, ["month", "practice_id"]].itertuples(index=False)})
        raise NationalDataError(f"practice(s) given twice for a month in the CBT table: {', '.join(pairs[:10])}")
    return out[list(CBT_COLUMNS)].reset_index(drop=True)


def read_national_cbt(store: Store, months: Iterable | None = None) -> pd.DataFrame:
    """The national CBT table, or some months of it.

    Parameters
    ----------
    store : Store
    months : iterable of date-like, optional
        Months wanted (any day of the month, or ``YYYY-MM``). Default: all.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CBT_COLUMNS`, sorted by month, then practice (unassigned rows last);
        empty with those columns when nothing has been ingested.
    """
    path = cbt_path(store)
    if not path.exists():
        return _empty()
    df = conform_cbt(pq.read_table(path).to_pandas())
    if months is not None:
        wanted = {_month_start(m) for m in months}
        df = df[df["month"].isin(wanted)]
    return _sort(df)


def write_national_cbt(store: Store, frame: pd.DataFrame) -> int:
    """Store CBT rows; every month present in ``frame`` replaces that month's rows whole.

    Parameters
    ----------
    store : Store
    frame : pandas.DataFrame
        Columns :data:`CBT_COLUMNS` (others are dropped).

    Returns
    -------
    int
        Rows written for the months given.

    Raises
    ------
    NationalDataError
        For missing columns or values out of place (:func:`conform_cbt`).
    """
    new = conform_cbt(frame)
    months = set(new["month"])
    path = cbt_path(store)
    with store.lock():
        old = conform_cbt(pq.read_table(path).to_pandas()) if path.exists() else _empty()
        keep = old[~old["month"].isin(months)]
        allrows = _sort(pd.concat([keep, new], ignore_index=True) if len(keep) else new)
        table = _to_table(allrows)
        path.parent.mkdir(parents=True, exist_ok=True)
        # the temporary file sits at the store's root, where Store.lock clears a crashed writer's leftovers
        tmp = store.root / f"{FILE_NAME}.tmp-{uuid.uuid4().hex}"
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    return len(new)


def _to_table(frame: pd.DataFrame) -> pa.Table:
    df = frame.copy()
    df["month"] = [v.date() for v in df["month"]]
    return pa.Table.from_pandas(df[list(CBT_COLUMNS)], schema=CBT_SCHEMA, preserve_index=False)


def _sort(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["month", "unassigned", "practice_id"], kind="stable").reset_index(drop=True)


def _empty() -> pd.DataFrame:
    return conform_cbt(pd.DataFrame({c: pd.Series(dtype=object) for c in CBT_COLUMNS}))


def _month_start(m) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(m)
    except (TypeError, ValueError):
        raise NationalDataError(f"month {m!r} is not a month: give it like 2026-01") from None
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return pd.Timestamp(ts.year, ts.month, 1)


def read_cbt_workbook(path) -> pd.DataFrame:
    """The per-practice tables (3, 4, 5) of one CBT publication workbook as CBT rows.

    Not written yet: the contract's place holder, so that callers can import it.
    """
    raise NotImplementedError("read_cbt_workbook is being written (issue 12)")
