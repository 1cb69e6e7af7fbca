"""Ingest: appointment exports → canonical, pseudonymised slots (or GPAD counts) in the store.

Two kinds of file, two tables, one commit path (:func:`telephony.ingest.ingest_batches`, the
same as calls): a bounded staging write under the store's lock, an atomic deduplicating commit
per partition, rejects with file, line and reason, and a manifest row that reconciles::

    rows read = written + duplicates + rejected + rows skipped

=================== ==================== ========== ============ ==============================
file                table                key        partition    read by
=================== ==================== ========== ============ ==============================
slot report         ``appointments``     slot_id    practice,    a slot mapping (bundled
(EMIS, SystmOne...)                                 UTC month of ``emis_appointments``,
                                                    start_utc    ``systmone_appointments`` or
                                                                 ``--mapping FILE``)
summary counts      ``capacity_counts``  row_key    practice,    a capacity count mapping
(SystmOne grid,                                     UTC month of (bundled
staff × slot type)                                  period_start ``systmone_booked_grid``,
                                                                 ``systmone_slot_summary``,
                                                                 ``systmone_dna_summary`` or
                                                                 ``--mapping FILE``)
GPAD practice-level ``gpad``             row_key    practice,    :func:`demand.appointments.gpad.read_gpad`
monthly CSV                                         month_start
=================== ==================== ========== ============ ==============================

Notes
-----
- ``slot_id`` is the report's own id where it has one. Otherwise it is a hash of the slot's
  identity: its start (UTC), length, session holder's pseudonym, role and slot type, and an
  ordinal counting identical slots in file order (two parallel "available" slots of an
  unnamed holder stay two). Status, patient, booking and mode are left out of the hash on
  purpose: they change as the day goes on, and a later export of the same slot must not add it
  twice. The first ingested version of a slot is kept (the store never updates rows).
- Clinicians and patients are pseudonymised with the store's key in their own namespaces
  (``clinician``, ``patient``; :meth:`telephony.privacy.Pseudonymiser.keys`), so a patient id
  can never share a pseudonym with a phone number or an agent. Patient ids are compared with
  case, spaces and hyphens ignored (``943 476 5919`` = ``9434765919``); clinician names with
  case and runs of spaces ignored.
- Times are the report's wall clock in ``timezone`` (default Europe/London), converted to UTC
  with the clock changes handled (:func:`telephony.timeutil.localize`); a mapping's own
  ``[datetime] timezone`` replaces the default. GPAD months are UTC midnights of the 1st.
- Summary counts: a report without dates counts the period given (``period``, the CLI's
  ``--from``/``--to``, first and last day inclusive); the ingest refuses it without one,
  before anything is written. Clinicians are pseudonymised in the ``clinician`` namespace, so
  a clinician's counts join their slots. ``row_key`` is a keyed hash (HMAC under the store's
  key) of the format, period, clinician pseudonym, site, slot type and the row's ordinal
  among identical ones in the file (a summary may list one staff and slot type twice): the
  same file twice adds nothing, and the first version of a row is kept.
- A GPAD file holds many practices: with ``practice_id`` only that practice's rows are kept
  (the others are skipped, counted as ``other practice``); without it every practice in the
  file is ingested, each into its own partitions, and the manifest row's ``practice_id`` is
  ``*`` (:data:`telephony.store.ALL_PRACTICES`).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd
import pyarrow as pa

from telephony.errors import InvalidPracticeError, UnknownFormatError
from telephony.formats._base import Format
from telephony.ingest import (
    CanonicalBatch,
    IngestResult,
    ProgressFn,
    TableSpec,
    as_datetimes,
    detect_format,
    ingest_batches,
    rejects_at,
)
from telephony.privacy import Pseudonymiser
from telephony.sources import Reject, Source, open_source
from telephony.store import ALL_PRACTICES, Store, validate_practice_id
from telephony.tabular_mapping import load_by_kind, report_zone
from telephony.timeutil import DEFAULT_TZ, localize

from demand.appointments.mapping import (
    RECORD as SLOTS,
    AppointmentMapping,
    bundled_appointment_mappings,
    read_slots,
    slot_format,
)
from demand.appointments.schema import (
    APPOINTMENT_SCHEMA,
    CAPACITY_SCHEMA,
    GPAD_SCHEMA,
    validate_appointments,
    validate_capacity_counts,
)
from demand.appointments.counts import (
    RECORD as SUMMARY_COUNTS,
    CapacityMapping,
    bundled_capacity_mappings,
    capacity_format,
    read_counts,
)
from demand.appointments.gpad import GPAD_FORMAT, read_gpad

APPOINTMENTS = TableSpec("appointments", APPOINTMENT_SCHEMA, "slot_id", "start_utc", "appointment slots")
CAPACITY = TableSpec("capacity_counts", CAPACITY_SCHEMA, "row_key", "period_start", "capacity counts", "record")
GPAD = TableSpec("gpad", GPAD_SCHEMA, "row_key", "month_start", "GPAD rows")

_HINT = (
    " Force one with `fmt` gpad or `fmt` NAME, or describe the report in a mapping file "
    "(`mapping` FILE; bundled: {names})."
)


def appointment_formats() -> dict[str, Format]:
    """The appointment formats by name: the bundled slot mappings, then the bundled capacity
    count mappings (summary reports), then ``gpad``."""
    out = {name: slot_format(m) for name, m in bundled_appointment_mappings().items()}
    out.update({name: capacity_format(m) for name, m in bundled_capacity_mappings().items()})
    out["gpad"] = GPAD_FORMAT
    return out


def load_any_appointment_mapping(path_or_text: str | Path | bytes) -> AppointmentMapping | CapacityMapping:
    """A slot mapping, or a capacity count mapping when the file says ``kind = "capacity_counts"``.

    Raises
    ------
    MappingError
        The file is not a valid mapping of its kind.
    """
    return load_by_kind((SLOTS, SUMMARY_COUNTS), path_or_text)


Readable = AppointmentMapping | CapacityMapping


def _resolve(source: Source, fmt: str, mapping: Readable | str | Path | None) -> Readable | str:
    """The mapping to read ``source`` with, or ``"gpad"``."""
    if mapping is not None:
        if isinstance(mapping, (AppointmentMapping, CapacityMapping)):
            return mapping
        return load_any_appointment_mapping(mapping)
    formats = appointment_formats()
    if fmt in (None, "", "auto"):
        hint = _HINT.format(names=", ".join(n for n in formats if n != "gpad"))
        name = detect_format(source, formats, "an appointment export", hint).name
    elif fmt in formats:
        name = fmt
    else:
        raise UnknownFormatError(
            f"unknown appointment format {fmt!r}. Known formats: {', '.join(sorted(formats))}, "
            "or give `mapping` FILE"
        )
    if name == "gpad":
        return "gpad"
    return bundled_appointment_mappings().get(name) or bundled_capacity_mappings()[name]


def _compact_ids(values: pd.Series) -> pd.Series:
    """Patient ids as compared: spaces and hyphens out (NHS numbers are written both ways)."""
    return values.astype("string").str.replace(r"[\s\-]", "", regex=True)


def _as_us(ts: pd.Series) -> pd.Series:
    return ts.dt.floor("us").dt.as_unit("us")


def _slot_ids(df: pd.DataFrame, seen: dict[str, int]) -> pd.Series:
    """Report ids where given, else a hash of the slot's identity and its ordinal in the file."""
    ids = df["slot_id"].astype("string")
    missing = (ids.isna() | (ids.str.strip() == "")).to_numpy()
    if not missing.any():
        return ids
    sub = df.loc[missing]
    basis = (
        sub["start_utc"].dt.strftime("%Y-%m-%dT%H:%M:%S").fillna("")
        + "|" + sub["duration_min"].round(3).map(str)
        + "|" + sub["clinician_key"].fillna("").astype(str)
        + "|" + sub["role"].fillna("").astype(str)
        + "|" + sub["category"].fillna("").astype(str)
    )
    ordinal = basis.groupby(basis, sort=False).cumcount() + basis.map(lambda b: seen.get(b, 0))
    for b, cnt in basis.value_counts().items():
        seen[b] = seen.get(b, 0) + int(cnt)
    hashed = (basis + "|" + ordinal.astype(str)).map(lambda s: "h:" + hashlib.sha1(s.encode()).hexdigest()[:24])
    ids = ids.copy()
    ids[missing] = hashed.astype("string").to_numpy()
    return ids


def canonical_slots(
    raw: pd.DataFrame,
    practice_id: str,
    fmt: str,
    pseudo: Pseudonymiser,
    timezone: str = DEFAULT_TZ,
    clock: dict | None = None,
    seen: dict[str, int] | None = None,
) -> tuple[pa.Table, list[Reject]]:
    """Turn raw slots (:data:`demand.appointments.mapping.RAW_SLOT_COLUMNS`) into canonical rows.

    Parameters
    ----------
    raw : pandas.DataFrame
        From :func:`demand.appointments.mapping.read_slots`.
    practice_id, fmt : str
    pseudo : telephony.privacy.Pseudonymiser
    timezone : str
        Zone of the report's wall-clock times.
    clock : dict, optional
        The file's clock-change state, one dict for all its chunks
        (:func:`telephony.timeutil.localize`).
    seen : dict, optional
        Counts of hashed slot identities so far in the file, one dict for all its chunks.

    Returns
    -------
    slots : pyarrow.Table
        Rows of :data:`demand.appointments.schema.APPOINTMENT_SCHEMA`.
    rejects : list of Reject
        Slots failing :func:`demand.appointments.schema.validate_appointments`, with line and reasons.
    """
    if raw.empty:
        return APPOINTMENT_SCHEMA.empty_table(), []
    raw = raw.reset_index(drop=True)
    start = as_datetimes(raw["start"])
    booked = as_datetimes(raw["booked"])
    df = pd.DataFrame(
        {
            "practice_id": pd.Series(practice_id, index=raw.index, dtype="string"),
            "slot_id": raw["slot_id"],
            "source_format": pd.Series(fmt, index=raw.index, dtype="string"),
            "start_utc": _as_us(localize(start, timezone, clock)),
            "duration_min": raw["duration_min"].astype("float64"),
            "role": raw["role"],
            "mode": raw["mode"],
            "status": raw["status"],
            "category": raw["category"],
            # Booking times are in no particular order: no clock-change state across rows.
            "booked_utc": _as_us(localize(booked, timezone)),
            "clinician_key": pseudo.keys(raw["clinician"], "clinician"),
            "patient_key": pseudo.keys(_compact_ids(raw["patient"]), "patient"),
            # Filled in by the commit, which names the ingest.
            "ingest_id": pd.Series(pd.NA, index=raw.index, dtype="string"),
        }
    )
    df["slot_id"] = _slot_ids(df, {} if seen is None else seen)
    valid, reasons = validate_appointments(df)
    rejects = rejects_at(reasons, raw["source_line"])
    table = pa.Table.from_pandas(valid.reset_index(drop=True), schema=APPOINTMENT_SCHEMA, preserve_index=False)
    return table, rejects


def _slot_batches(
    source: Source, mapping: AppointmentMapping, practice_id: str, pseudo: Pseudonymiser, timezone: str
) -> Iterator[CanonicalBatch]:
    clock: dict = {}
    seen: dict[str, int] = {}
    for chunk in read_slots(mapping, source, timezone):
        table, bad = canonical_slots(chunk.records, practice_id, mapping.name, pseudo, timezone, clock, seen)
        rejects = sorted(chunk.rejects + bad, key=lambda r: r.line or 0)
        yield CanonicalBatch(
            table, rejects, chunk.rows_read, 0, chunk.skipped, chunk.unknown, practice_id, chunk.notes
        )


def _utc_days(days: pd.Series) -> pd.Series:
    """Naive midnights as the UTC midnights of the same dates (days, not instants)."""
    return _as_us(pd.to_datetime(days).dt.tz_localize("UTC"))


def canonical_counts(
    raw: pd.DataFrame, practice_id: str, fmt: str, pseudo: Pseudonymiser, seen: dict[str, int] | None = None
) -> tuple[pa.Table, list[Reject]]:
    """Turn raw counts (:data:`demand.appointments.counts.RAW_COUNT_COLUMNS`) into canonical rows.

    Parameters
    ----------
    raw : pandas.DataFrame
        From :func:`demand.appointments.counts.read_counts`.
    practice_id, fmt : str
    pseudo : telephony.privacy.Pseudonymiser
    seen : dict, optional
        Counts of row identities so far in the file, one dict for all its chunks (rows that
        repeat an identity get the next ordinal, so both are kept).

    Returns
    -------
    counts : pyarrow.Table
        Rows of :data:`demand.appointments.schema.CAPACITY_SCHEMA`.
    rejects : list of Reject
        Rows failing :func:`demand.appointments.schema.validate_capacity_counts`.
    """
    if raw.empty:
        return CAPACITY_SCHEMA.empty_table(), []
    raw = raw.reset_index(drop=True)
    n = len(raw)
    df = pd.DataFrame(
        {
            "practice_id": pd.Series(practice_id, index=raw.index, dtype="string"),
            "row_key": pd.Series(pd.NA, index=raw.index, dtype="string"),
            "source_format": pd.Series(fmt, index=raw.index, dtype="string"),
            "period_start": _utc_days(raw["period_start"]),
            "period_end": _utc_days(raw["period_end"]),
            "clinician_key": pseudo.keys(raw["clinician"], "clinician"),
            "site": raw["site"],
            "slot_type": raw["slot_type"],
            "category": raw["category"],
            "slots_total": raw["total"],
            "slots_booked": raw["booked"],
            "slots_unused": raw["unused"],
            "dna": raw["dna"],
            "minutes_total": raw["minutes_total"],
            "minutes_unused": raw["minutes_unused"],
            "ingest_id": pd.Series(pd.NA, index=raw.index, dtype="string"),
        }
    )
    basis = (
        fmt
        + "|" + df["period_start"].dt.strftime("%Y-%m-%d").fillna("")
        + "|" + df["period_end"].dt.strftime("%Y-%m-%d").fillna("")
        + "|" + df["clinician_key"].fillna("").astype(str)
        + "|" + df["site"].fillna("").astype(str)
        + "|" + df["slot_type"].fillna("").astype(str)
    )
    seen = {} if seen is None else seen
    ordinal = basis.groupby(basis, sort=False).cumcount() + basis.map(lambda b: seen.get(b, 0))
    for b, cnt in basis.value_counts().items():
        seen[b] = seen.get(b, 0) + int(cnt)
    # Keyed: the basis holds a clinician's pseudonym and the practice's own words.
    df["row_key"] = (basis + "|" + ordinal.astype(str)).map(lambda t: "k:" + pseudo.digest("capacity:" + t)[:24]).astype("string")
    valid, reasons = validate_capacity_counts(df)
    rejects = rejects_at(reasons, raw["source_line"])
    table = pa.Table.from_pandas(valid.reset_index(drop=True), schema=CAPACITY_SCHEMA, preserve_index=False)
    assert table.num_rows + len(rejects) == n
    return table, rejects


def _count_batches(
    source: Source, mapping: CapacityMapping, practice_id: str, pseudo: Pseudonymiser, period
) -> Iterator[CanonicalBatch]:
    seen: dict[str, int] = {}
    for chunk in read_counts(mapping, source, period):
        table, bad = canonical_counts(chunk.records, practice_id, mapping.name, pseudo, seen)
        rejects = sorted(chunk.rejects + bad, key=lambda r: r.line or 0)
        yield CanonicalBatch(table, rejects, chunk.rows_read, 0, chunk.skipped, chunk.unknown, practice_id, chunk.notes)


def ingest_appointment_file(
    store: Store,
    path: str | Path,
    practice_id: str | None = None,
    *,
    fmt: str = "auto",
    timezone: str | None = None,
    mapping: AppointmentMapping | CapacityMapping | str | Path | None = None,
    progress: ProgressFn | None = None,
    dry_run: bool = False,
    period: tuple[_dt.date, _dt.date] | None = None,
) -> IngestResult:
    """Ingest one appointment export (a slot report, a summary count report or a GPAD CSV).

    Parameters
    ----------
    store : Store
    path : str or Path
    practice_id : str, optional
        ODS code. Required for slot reports; for GPAD, the one practice to keep (all when
        omitted).
    fmt : str
        ``"auto"`` (sniff), ``"gpad"``, or a bundled slot or capacity count mapping's name.
    mapping : AppointmentMapping, CapacityMapping, str or Path, optional
        A mapping (or its file: a capacity count mapping says ``kind = "capacity_counts"``)
        for a bespoke report; overrides ``fmt``.
    timezone : str, optional
        Zone of wall-clock times in a slot report: the mapping's own, else Europe/London,
        when omitted.
    progress : callable, optional
        Called with the number of source rows read so far.
    period : (date, date), optional
        First and last day (inclusive) a summary report without dates counts: required for
        one, not used otherwise.
    dry_run : bool
        Read and check everything, write nothing.

    Returns
    -------
    IngestResult
        ``table`` is ``appointments``, ``capacity_counts`` or ``gpad`` in the manifest.

    Raises
    ------
    BadInputError, UnknownFormatError, MappingError
        The file cannot be read or recognised, the mapping is invalid, or a summary without
        dates came without ``period``. Nothing is written.
    InvalidPracticeError
        A slot or summary report without a practice, or a practice id that is not an ODS code.
    """
    pid = None if practice_id is None else validate_practice_id(practice_id)
    path = Path(path)
    source = open_source(path)
    how = _resolve(source, fmt, mapping)
    safety = {"dry_run": dry_run, "check_source": source.check_unchanged}
    if how == "gpad":
        batches = read_gpad(source, None if pid is None else [pid])
        return ingest_batches(store, path, GPAD, batches, pid or ALL_PRACTICES, "gpad", "UTC", progress, **safety)
    what = "summary report" if isinstance(how, CapacityMapping) else "slot report"
    if pid is None:
        raise InvalidPracticeError(
            f"{path.name}: a {what} holds one practice's appointments: give its ODS code "
            "as `practice_id` (only GPAD files name their practices)"
        )
    if isinstance(how, CapacityMapping):
        pseudo = Pseudonymiser(store.key())
        batches = _count_batches(source, how, pid, pseudo, period)
        # Days, not instants: stored as UTC midnights of their dates, like GPAD's months.
        return ingest_batches(store, path, CAPACITY, batches, pid, how.name, "UTC", progress, **safety)
    tz = report_zone(how, timezone)
    pseudo = Pseudonymiser(store.key())
    batches = _slot_batches(source, how, pid, pseudo, tz)
    return ingest_batches(store, path, APPOINTMENTS, batches, pid, how.name, tz, progress, **safety)


def ingest_appointments(
    store: Store,
    paths: Iterable[str | Path],
    practice_id: str | None = None,
    *,
    fmt: str = "auto",
    timezone: str | None = None,
    mapping: AppointmentMapping | CapacityMapping | str | Path | None = None,
    progress: ProgressFn | None = None,
    dry_run: bool = False,
    period: tuple[_dt.date, _dt.date] | None = None,
) -> list[IngestResult]:
    """Ingest several appointment exports; see :func:`ingest_appointment_file`.

    Examples
    --------
    >>> from telephony.store import Store                                   # doctest: +SKIP
    >>> store = Store("frontdoor-data", create=True)                        # doctest: +SKIP
    >>> [r.summary() for r in ingest_appointments(store, ["slots.csv"], "A81001")]  # doctest: +SKIP
    """
    return [
        ingest_appointment_file(
            store, p, practice_id, fmt=fmt, timezone=timezone, mapping=mapping, progress=progress, dry_run=dry_run,
            period=period,
        )
        for p in paths
    ]


__all__ = [
    "APPOINTMENTS",
    "CAPACITY",
    "GPAD",
    "appointment_formats",
    "canonical_counts",
    "canonical_slots",
    "load_any_appointment_mapping",
    "ingest_appointment_file",
    "ingest_appointments",
]
