"""The canonical appointment slot record, the capacity count record, and the GPAD table.

Slot-level exports (one row per slot, from EMIS Web or SystmOne reports) map onto
:data:`APPOINTMENT_SCHEMA`; summary counts of capacity (SystmOne's booked-appointments grid by
clinician and day, its slots by staff and slot type for a period) map onto
:data:`CAPACITY_SCHEMA`; NHS Digital's GPAD practice-level monthly counts map onto
:data:`GPAD_SCHEMA`. Each is its own table, never mixed silently with another: counts cannot
be turned back into slots, and GPAD counts by its own definitions.

Glossary (slots)
----------------
=============== ==================== ====== ======================================================
column          type                 unit   meaning
=============== ==================== ====== ======================================================
practice_id     string                      ODS code of the practice
slot_id         string                      unique per practice, stable across re-imports (the
                                            export's id, else a hash of the slot's fields)
source_format   string                      mapping that produced the row
start_utc       timestamp[us, UTC]           slot start
duration_min    float64              min    slot length
role            string                      session holder's role, one of :data:`ROLES`
mode            string                      one of :data:`MODES`
status          string                      one of :data:`STATUSES`
category        string                      one of :data:`CATEGORIES`
booked_utc      timestamp[us, UTC]           when the slot was booked; null if never (lead time)
clinician_key   string                      keyed pseudonym of the session holder; null if none
patient_key     string                      keyed pseudonym of the patient; null if not booked
ingest_id       string                      the ingest that last wrote the row
=============== ==================== ====== ======================================================

Statuses: ``available`` (offered, never booked), ``booked`` (booked, outcome not yet known, or
in the future), ``attended``, ``dna`` (did not attend), ``cancelled``.
Categories: ``same_day`` (released or booked on the day: the "ring at 8am" slots),
``pre_bookable`` (bookable ahead), ``other``.

Glossary (capacity counts)
--------------------------
============== =================== ====== ========================================================
column         type                unit   meaning
============== =================== ====== ========================================================
practice_id    string                     ODS code of the practice
row_key        string                     unique per practice, stable across re-imports: a keyed
                                          hash of the format, period, clinician pseudonym, site,
                                          slot type and the row's ordinal among identical ones
source_format  string                     mapping that produced the row
period_start   timestamp[us, UTC]         first day counted (UTC midnight of the date)
period_end     timestamp[us, UTC]         day after the last day counted (half-open period)
clinician_key  string                     keyed pseudonym of the staff member (the same as slot
                                          reports' session holders); null if none named
site           string                     the practice's site or branch; null if not given
slot_type      string                     the report's slot type word; null if not given
category       string                     :data:`CATEGORIES` value of the slot type; null if unknown
slots_total    int64               slots  slots offered; null if the report does not say
slots_booked   int64               appts  appointments booked (or total - unused)
slots_unused   int64               slots  slots not booked
dna            int64               appts  appointments not attended
minutes_total  float64             min    minutes of the slots offered
minutes_unused float64             min    minutes of the slots not booked
ingest_id      string                     the ingest that last wrote the row
============== =================== ====== ========================================================
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

ROLES: tuple[str, ...] = ("GP", "ANP", "nurse", "pharmacist", "HCA", "paramedic", "physio", "other")
MODES: tuple[str, ...] = ("face_to_face", "telephone", "video", "home_visit", "unknown")
STATUSES: tuple[str, ...] = ("available", "booked", "attended", "dna", "cancelled")
CATEGORIES: tuple[str, ...] = ("same_day", "pre_bookable", "other")

APPOINTMENT_SCHEMA = pa.schema(
    [
        pa.field("practice_id", pa.string(), nullable=False),
        pa.field("slot_id", pa.string(), nullable=False),
        pa.field("source_format", pa.string(), nullable=False),
        pa.field("start_utc", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("duration_min", pa.float64(), nullable=False),
        pa.field("role", pa.string(), nullable=False),
        pa.field("mode", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("category", pa.string(), nullable=False),
        pa.field("booked_utc", pa.timestamp("us", tz="UTC")),
        pa.field("clinician_key", pa.string()),
        pa.field("patient_key", pa.string()),
        pa.field("ingest_id", pa.string()),
    ]
)
APPOINTMENT_COLUMNS: tuple[str, ...] = tuple(APPOINTMENT_SCHEMA.names)

# NHS Digital "Appointments in General Practice", practice-level monthly counts.
GPAD_SCHEMA = pa.schema(
    [
        pa.field("practice_id", pa.string(), nullable=False),
        pa.field("row_key", pa.string(), nullable=False),  # hash of the dimensions: dedupe key
        pa.field("month_start", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("hcp_type", pa.string(), nullable=False),
        pa.field("appt_mode", pa.string(), nullable=False),
        pa.field("appt_status", pa.string(), nullable=False),
        pa.field("time_between_book_and_appt", pa.string(), nullable=False),
        pa.field("national_category", pa.string(), nullable=False),
        pa.field("count", pa.int64(), nullable=False),
        pa.field("pcn_code", pa.string()),
        pa.field("supplier", pa.string()),
        pa.field("ingest_id", pa.string()),
    ]
)

# Summary counts of capacity (demand.appointments.counts): day × clinician, or period × clinician
# × slot type. Dates are days, stored as UTC midnights like GPAD's months.
CAPACITY_SCHEMA = pa.schema(
    [
        pa.field("practice_id", pa.string(), nullable=False),
        pa.field("row_key", pa.string(), nullable=False),
        pa.field("source_format", pa.string(), nullable=False),
        pa.field("period_start", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("period_end", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("clinician_key", pa.string()),
        pa.field("site", pa.string()),
        pa.field("slot_type", pa.string()),
        pa.field("category", pa.string()),
        pa.field("slots_total", pa.int64()),
        pa.field("slots_booked", pa.int64()),
        pa.field("slots_unused", pa.int64()),
        pa.field("dna", pa.int64()),
        pa.field("minutes_total", pa.float64()),
        pa.field("minutes_unused", pa.float64()),
        pa.field("ingest_id", pa.string()),
    ]
)
CAPACITY_COLUMNS: tuple[str, ...] = tuple(CAPACITY_SCHEMA.names)
CAPACITY_COUNTS: tuple[str, ...] = ("slots_total", "slots_booked", "slots_unused", "dna")

MAX_SLOT_MIN = 12 * 60.0


def validate_appointments(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Check canonical slot rows and split off the invalid ones.

    Returns
    -------
    valid : pandas.DataFrame
        Rows that satisfy :data:`APPOINTMENT_SCHEMA`, with exactly its columns.
    reasons : pandas.Series
        Why each invalid row (indexed like ``df``) failed; all failures of a row joined by ``"; "``.
    """
    missing = [c for c in APPOINTMENT_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"canonical appointment frame lacks columns {missing}")
    problems: list[pd.Series] = []

    def flag(mask: pd.Series, reason: str) -> None:
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            problems.append(pd.Series(reason, index=df.index[mask.to_numpy()]))

    for col in ("practice_id", "slot_id", "source_format"):
        flag(df[col].isna() | (df[col].astype("string") == ""), f"{col} is empty")
    flag(df["start_utc"].isna(), "slot start missing or unreadable")
    dur = pd.to_numeric(df["duration_min"], errors="coerce")
    flag(dur.isna(), "duration missing or unreadable")
    flag((dur <= 0) | (dur > MAX_SLOT_MIN), "duration not between 0 and 12 hours")
    for col, allowed in (("role", ROLES), ("mode", MODES), ("status", STATUSES), ("category", CATEGORIES)):
        flag(~df[col].isin(allowed), f"{col} not one of {'/'.join(allowed)}")
    if problems:
        reasons = pd.concat(problems).groupby(level=0, sort=True).agg("; ".join)
    else:
        reasons = pd.Series([], dtype="string")
    valid = df.loc[~df.index.isin(reasons.index), list(APPOINTMENT_COLUMNS)]
    return valid, reasons


def validate_capacity_counts(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Check canonical capacity count rows and split off the invalid ones.

    Returns
    -------
    valid : pandas.DataFrame
        Rows that satisfy :data:`CAPACITY_SCHEMA`, with exactly its columns.
    reasons : pandas.Series
        Why each invalid row (indexed like ``df``) failed, all reasons joined by ``"; "``.
    """
    missing = [c for c in CAPACITY_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"canonical capacity frame lacks columns {missing}")
    problems: list[pd.Series] = []

    def flag(mask: pd.Series, reason: str) -> None:
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            problems.append(pd.Series(reason, index=df.index[mask.to_numpy()]))

    for col in ("practice_id", "row_key", "source_format"):
        flag(df[col].isna() | (df[col].astype("string") == ""), f"{col} is empty")
    flag(df["period_start"].isna() | df["period_end"].isna(), "period missing or unreadable")
    flag(df["period_end"] <= df["period_start"], "period ends before it starts")
    counts = df[list(CAPACITY_COUNTS)]
    flag(counts.isna().all(axis=1), "no count")
    flag((counts < 0).any(axis=1), "a count below 0")
    for col in ("slots_booked", "slots_unused"):
        flag(df[col] > df["slots_total"], f"{col} more than slots_total")
    for col in ("minutes_total", "minutes_unused"):
        flag(pd.to_numeric(df[col], errors="coerce") < 0, f"{col} below 0")
    flag(df["category"].notna() & ~df["category"].isin(CATEGORIES), f"category not one of {'/'.join(CATEGORIES)}")
    if problems:
        reasons = pd.concat(problems).groupby(level=0, sort=True).agg("; ".join)
    else:
        reasons = pd.Series([], dtype="string")
    valid = df.loc[~df.index.isin(reasons.index), list(CAPACITY_COLUMNS)]
    return valid, reasons


# ----------------------------------------------------------------------------- reading the store


def _frame(table: pa.Table, sort: list[str]) -> pd.DataFrame:
    df = table.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
    sort = [c for c in sort if c in df.columns]
    if sort and len(df):
        df = df.sort_values(sort, kind="stable").reset_index(drop=True)
    return df


def read_appointments(store, practices=None, start=None, end=None, columns: list[str] | None = None) -> pd.DataFrame:
    """Appointment slots of some practices starting in ``[start, end)``, from the store.

    Parameters
    ----------
    store : telephony.store.Store
    practices : str or list of str, optional
        ODS codes; all practices when omitted.
    start, end : str or Timestamp, optional
        Half-open period on ``start_utc``. Naive values are Europe/London wall-clock time.
    columns : list of str, optional
        Columns to read (fewer read faster).

    Returns
    -------
    pandas.DataFrame
        Rows of :data:`APPOINTMENT_SCHEMA`, sorted by practice, start and slot id.

    Notes
    -----
    Only the partitions (practice, UTC month) that can hold matching slots are opened.
    """
    t = store.read_table("appointments", practices, start, end, columns, "start_utc", APPOINTMENT_SCHEMA)
    return _frame(t, ["practice_id", "start_utc", "slot_id"])


def read_gpad_counts(store, practices=None, start=None, end=None) -> pd.DataFrame:
    """GPAD monthly counts of some practices for the months starting in ``[start, end)``.

    Parameters
    ----------
    store : telephony.store.Store
    practices : str or list of str, optional
        ODS codes; all practices when omitted.
    start, end : str or Timestamp, optional
        Half-open period on ``month_start`` (UTC midnight of each month's first day): e.g.
        ``"2025-10-01", "2026-01-01"`` for October to December. Naive values are
        Europe/London wall-clock time.

    Returns
    -------
    pandas.DataFrame
        Rows of :data:`GPAD_SCHEMA`, sorted by practice, month and row key. Never mixed with
        slot data: GPAD counts booked appointments by its own definitions.
    """
    t = store.read_table("gpad", practices, start, end, None, "month_start", GPAD_SCHEMA)
    return _frame(t, ["practice_id", "month_start", "row_key"])


def read_capacity_counts(store, practices=None, start=None, end=None) -> pd.DataFrame:
    """Capacity counts of some practices whose period starts in ``[start, end)``, from the store.

    Parameters
    ----------
    store : telephony.store.Store
    practices : str or list of str, optional
        ODS codes; all practices when omitted.
    start, end : str or Timestamp, optional
        Half-open period on ``period_start`` (UTC midnight of the first day counted), e.g.
        ``"2026-01-05", "2026-01-12"`` for the week of 5 January. Naive values are
        Europe/London wall-clock time.

    Returns
    -------
    pandas.DataFrame
        Rows of :data:`CAPACITY_SCHEMA`, sorted by practice, period start and row key. Counts
        are ``Int64`` (null where the report does not give that count). Never mixed with slot
        data: a count of a period cannot be placed at a time of day.
    """
    t = store.read_table("capacity_counts", practices, start, end, None, "period_start", CAPACITY_SCHEMA)
    df = _frame(t, ["practice_id", "period_start", "row_key"])
    for c in CAPACITY_COUNTS:
        df[c] = df[c].astype("Int64")
    return df
