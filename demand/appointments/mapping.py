"""Appointment slot reports (EMIS Web, SystmOne, ...) onboarded with a mapping file.

Clinical systems' slot reports are bespoke downloads, not documented formats. A mapping file,
in TOML, says where the report keeps each canonical slot field (:mod:`demand.appointments.schema`),
how it writes dates, times and slot lengths, and what its words mean. It is the same kind of
file as a call-report mapping (:mod:`telephony.formats.mapping`), read by the same machinery
(:mod:`telephony.tabular_mapping`), with slot words in place of call outcomes.
:func:`load_appointment_mapping` reads and checks one; :func:`read_slots` reads a report with
it. Files in ``demand/appointments/mappings/`` are bundled (``--format emis_appointments``); any other file
is used with ``--mapping FILE``.

A fully commented mapping file (only ``name``, ``title``, ``[columns]`` with a start, a
duration or end, a role, a category and a status, and the ``[roles]``, ``[categories]`` and
``[statuses]`` tables are required)::

    name = "emis_mine"              # used with --format: lower case letters, digits and _
    title = "EMIS Web appointment slot report (CSV)"
    supplier = "EMIS"               # optional, shown in messages
    example = "Appointment Slot Report.csv"   # optional
    notes = "Reporting > Appointments > Slot report, all columns."   # optional

    [file]                          # optional: as in a call mapping
    skip_lines = 2                  # lines above the header (report title, "Printed ...");
    # header_row = 3                # ...or the header's line; searched for when absent
    # delimiter = ","  encoding = "cp1252"  sheet = "Slots"

    [columns]                       # canonical name = the report's column header(s)
    slot_id = "Slot ID"             # optional: the report's own id (else a hash of the slot)
    date = "Session Date"           # either start = "..." (date and time in one column)
    time = "Slot Time"              # or date + time in two columns
    duration = "Duration"           # one of duration (read with [durations] format) or
    # end = "End Time"              # end (duration = end - start; a bare time is that day's)
    clinician = "Session Holder"    # optional: pseudonymised on ingest, never stored raw
    role = "Holder Role"            # required: read through [roles]
    category = "Slot Type"          # required: read through [categories]
    status = "Slot Status"          # required: read through [statuses]
    mode = "Delivery Mechanism"     # optional: read through [modes]; unknown if absent
    booked = "Booked Date"          # optional: when it was booked (gives lead time)
    patient = "Patient ID"          # optional: pseudonymised on ingest, never stored raw

    [datetime]                      # optional
    format = "%d/%m/%Y %H:%M"       # strptime of the start (date + time joined by a space)
    booked_format = "%d/%m/%Y %H:%M"   # of the booked column; default: format
    dayfirst = true                 # how to read 05/01/2026 when guessing (UK: true)
    timezone = "Europe/London"      # the report's wall clock; replaces the --timezone default

    [durations]                     # optional
    format = "minutes"              # "minutes" (default: 10 = ten minutes), "seconds",
                                    # "hh:mm:ss", or "auto" (bare numbers are minutes,
                                    # 00:10:00 and 10:00 are read as [h:]mm:ss)

    [roles]                         # session holder's role word = GP, ANP, nurse,
    "GP Partner" = "GP"             # pharmacist, HCA, paramedic, physio or other
    "Practice Nurse" = "nurse"

    [categories]                    # slot type word = same_day, pre_bookable or other
    "Same Day" = "same_day"
    "Routine" = "pre_bookable"
    "*" = "other"                   # optional, any table: any other word (kept, and
                                    # reported among the unknown words)

    [statuses]                      # slot status word = available, booked, attended,
    "Slot Available" = "available"  # dna or cancelled
    "Finished" = "attended"

    [modes]                         # required with a mode column: word = face_to_face,
    "Face to Face" = "face_to_face" # telephone, video, home_visit or unknown
    "" = "unknown"                  # an empty cell: without this line, rejected

Notes
-----
- Every problem in a mapping file is reported at once, each with the file, line, key and fix
  (:class:`~telephony.errors.MappingError`).
- Words are matched case-insensitively with runs of spaces collapsed. A row whose role,
  category, status or mode word is not in its table (and no ``"*"`` line) is rejected with a
  reason naming the word and the table to add it to, and the word is counted (under the first
  spelling the file uses: ``Locum`` and ``LOCUM`` are one word).
- A report may mix times with and without a UTC offset: an end time with an offset beside a
  wall-clock start (or the reverse) is brought to the start's clock through the report's zone
  before the slot's length is taken from it.
- Canonical meanings are enforced whatever the report says: an ``available`` slot has no
  patient and no booking time (a report may leave a stale id on a freed slot). Its session
  holder is kept: unbooked capacity still belongs to a clinician's session. A slot with no
  holder named is kept with a null clinician.
- Clinician names and patient ids stay raw only until the ingest pseudonymises them
  (:meth:`telephony.privacy.Pseudonymiser.keys`); they are blanked in reject texts and in
  reasons, and a row whose field count is wrong is rejected without its text (which field is
  which cannot be told).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping as _AbcMapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Iterator

import numpy as np
import pandas as pd

from telephony.formats._base import Format
from telephony.sources import Source
from telephony.tabular_mapping import (
    FILE_KEYS,
    MappingBuilder,
    RecordChunk,
    RecordSpec,
    Rows,
    TabularMapping,
    WordTable,
    bundled_mappings_of,
    format_fields,
    load_record_mapping,
    read_records,
    sniff_mapping,
    typed_frame,
)

from demand.appointments.schema import CATEGORIES, MODES, ROLES, STATUSES

#: Canonical column names an appointment mapping can give, and what each means.
COLUMNS: dict[str, str] = {
    "slot_id": "the report's own slot or appointment id",
    "start": "date and time the slot starts, in one column",
    "date": "date of the slot (with time in another column)",
    "time": "time the slot starts (with date)",
    "duration": "slot length, read with [durations] format",
    "end": "when the slot ends (duration = end - start)",
    "clinician": "the session holder (pseudonymised on ingest)",
    "role": "the session holder's role, read through [roles]",
    "category": "the slot type, read through [categories]",
    "status": "the slot status, read through [statuses]",
    "mode": "how the appointment is delivered, read through [modes]",
    "booked": "when the appointment was booked",
    "patient": "the patient's id (pseudonymised on ingest)",
}

#: Raw slots as :func:`read_slots` yields them (before the ingest's pseudonyms, UTC and ids),
#: with their types (``datetime``: naive wall clock, or UTC where the report wrote offsets).
RAW_SLOT_TYPES: dict[str, str] = {
    "slot_id": "string", "start": "datetime", "duration_min": "float64", "role": "string",
    "mode": "string", "status": "string", "category": "string", "booked": "datetime",
    "clinician": "string", "patient": "string", "source_line": "Int64",
}
RAW_SLOT_COLUMNS: tuple[str, ...] = tuple(RAW_SLOT_TYPES)

#: The word tables: each read through its column into the schema's vocabulary.
WORD_TABLES: tuple[WordTable, ...] = (
    WordTable("roles", "role", ROLES, "role"),
    WordTable("categories", "category", CATEGORIES, "category"),
    WordTable("statuses", "status", STATUSES, "status"),
    WordTable(
        "modes", "mode", MODES, "mode",
        without_column='add mode = "<the report\'s delivery mechanism column>" under [columns], '
        "or remove the table (every slot's mode is then unknown)",
    ),
)
#: The ``kind`` of a slot mapping (the default: a file without ``kind`` describes slots).
KIND = "slots"
#: Names no appointment mapping may take (the built-in GPAD reader's).
RESERVED_NAMES = frozenset({"gpad", "auto"})


@dataclass(frozen=True)
class AppointmentMapping(TabularMapping):
    """A checked appointment-report mapping (see the module docstring for the keys).

    The attributes every mapping has are described in
    :class:`telephony.tabular_mapping.TabularMapping`; ``durations`` defaults to ``minutes``.

    Attributes
    ----------
    booked_format : str or None
        ``strptime`` format of the booked column (None: ``datetime_format``).
    roles, categories, statuses, modes : Mapping[str, str]
        Normalised vendor word (lower case, spaces collapsed) → canonical value; ``"*"``
        for any other word.
    """

    durations: str = "minutes"
    booked_format: str | None = None
    roles: _AbcMapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    categories: _AbcMapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    statuses: _AbcMapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    modes: _AbcMapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


#: One bounded batch of a slot report (:class:`telephony.tabular_mapping.RecordChunk`): its
#: ``records`` are raw slots, columns :data:`RAW_SLOT_COLUMNS` (``start`` and ``booked`` as
#: the report's wall clock, naive, unless it wrote offsets; ``clinician`` and ``patient`` raw;
#: ``slot_id`` null where the report has none); its rejects carry no names or ids.
SlotChunk = RecordChunk
#: A raw-slots frame with :data:`RAW_SLOT_COLUMNS`, nulls where a column is not given.
raw_slot_frame = functools.partial(typed_frame, RAW_SLOT_TYPES)


def _check(b: MappingBuilder, columns: dict) -> dict:
    """The slot mapping's own key: the booked column's format."""
    t = b.data.get("datetime") if isinstance(b.data.get("datetime"), dict) else {}
    return {"booked_format": b.strptime_format("datetime", "booked_format", t.get("booked_format"))}


def _slots(rows: Rows) -> tuple[dict, None]:
    """How a slot report's rows become raw slots (see the module Notes)."""
    mapping: AppointmentMapping = rows.mapping
    index = rows.frame.index
    start = rows.start()
    if rows.has("duration"):
        minutes = rows.duration("duration", bare_unit_s=60.0, required=True) / 60.0
    else:
        minutes = (rows.end(start, required=True) - start).dt.total_seconds() / 60.0
    values = {}
    for table in WORD_TABLES:
        if rows.has(table.column):
            values[table.column] = rows.words(table)
        else:  # only the mode may be left out: every slot's mode is then unknown
            values[table.column] = pd.Series("unknown", index=index, dtype="string")
    booked = pd.Series(np.full(len(index), np.datetime64("NaT", "ns")), index=index)
    if rows.has("booked"):
        booked = rows.times("booked", mapping.booked_format or mapping.datetime_format, "booked date/time")
    # Canonical meaning: a slot nobody booked has no patient and no booking time.
    available = (values["status"] == "available").fillna(False).to_numpy()
    return {
        "slot_id": rows.optional("slot_id"),
        "start": start,
        "duration_min": minutes,
        **values,
        "booked": booked.mask(available),
        "clinician": rows.optional("clinician"),
        "patient": rows.optional("patient").mask(available, pd.NA),
    }, None


#: The record these mappings describe (see :class:`telephony.tabular_mapping.RecordSpec`).
RECORD = RecordSpec(
    KIND,
    "slot report",
    COLUMNS,
    mapping_type=AppointmentMapping,
    tables=("file", "columns", "datetime", "durations", *(t.section for t in WORD_TABLES)),
    table_keys={
        "file": FILE_KEYS,
        "datetime": ("format", "booked_format", "dayfirst", "timezone"),
        "durations": ("format",),
    },
    required=(
        (("duration", "end"), 'add duration = "<slot length column>", or end = "<slot end time column>" to derive it'),
        (("role",), 'add role = "<the report\'s session holder role column>"'),
        (("category",), 'add category = "<the report\'s slot type column>"'),
        (("status",), 'add status = "<the report\'s slot status column>"'),
    ),
    word_tables=WORD_TABLES,
    durations="minutes",
    check=_check,
    syntax_example='"Same Day" = "same_day"',
    title_fix='add title = "<system> appointment slot report (CSV/XLSX)" (shown in messages)',
    title_text_fix='write title = "<system> appointment slot report"',
    sheet_example="Slots",
    name_example="my_slots",
    taken_names=lambda: RESERVED_NAMES,
    reserved_names=RESERVED_NAMES,
    folder=Path(__file__).resolve().parent / "mappings",
    listed_as="slot report",
    record_frame=raw_slot_frame,
    chunk_type=SlotChunk,
    records=_slots,
    withheld=("clinician", "patient"),
    sniff_words=("status", "statuses"),
)


def load_appointment_mapping(path_or_text: str | Path | bytes) -> AppointmentMapping:
    """Read and check a slot mapping file (:func:`telephony.tabular_mapping.load_record_mapping`
    with :data:`RECORD`): a path to a ``.toml`` file, or the TOML text itself.

    Raises :class:`~telephony.errors.MappingError` listing every problem found.

    Examples
    --------
    >>> m = load_appointment_mapping('''
    ... name = "tiny_slots"
    ... title = "Tiny slot report"
    ... [columns]
    ... start = "When"
    ... duration = "Mins"
    ... role = "Role"
    ... category = "Type"
    ... status = "Status"
    ... [roles]
    ... "Doctor" = "GP"
    ... [categories]
    ... "Book on the day" = "same_day"
    ... [statuses]
    ... "Free" = "available"
    ... ''')
    >>> m.roles["doctor"], m.durations
    ('GP', 'minutes')
    """
    return load_record_mapping(RECORD, path_or_text)


def bundled_appointment_mappings() -> dict[str, AppointmentMapping]:
    """Every appointment mapping shipped in ``demand/appointments/mappings/``, by name.

    Raises
    ------
    MappingError
        If a bundled file is invalid (a packaging error; the tests load them all).
    """
    return bundled_mappings_of(RECORD)


def sniff_slots(mapping: AppointmentMapping, source: Source) -> float:
    """How sure it is that ``source`` is the slot report ``mapping`` describes (0–1).

    1.0 when the header holds every mapped column and the first rows' status words and start
    times read; 0.6 when the columns are there but the values do not fit, or most are there.
    """
    return sniff_mapping(mapping, source)


def read_slots(mapping: AppointmentMapping, source: Source, timezone: str | None = None) -> Iterator[SlotChunk]:
    """Read a slot report as ``mapping`` describes it, in bounded chunks.

    Parameters
    ----------
    mapping : AppointmentMapping
    source : telephony.sources.Source
        From :func:`telephony.sources.open_source` (CSV in any encoding, or XLSX).
    timezone : str, optional
        The report's wall clock (default: the mapping's own, else Europe/London): a time
        written with a UTC offset among wall-clock ones is converted through it.

    Yields
    ------
    SlotChunk

    Raises
    ------
    BadInputError
        A mapped column is missing from the report's header.
    """
    return read_records(mapping, source, timezone)


def slot_format(mapping: AppointmentMapping) -> Format:
    """The mapping as a :class:`~telephony.formats._base.Format` for format detection.

    Only ``sniff`` is meant to be used from it (with :func:`telephony.ingest.detect_format`);
    ``read`` yields :class:`SlotChunk` objects, not call chunks.
    """
    return Format(
        **format_fields(mapping),
        sniff=functools.partial(sniff_mapping, mapping),
        read=lambda source, ctx=None: read_slots(mapping, source, None if ctx is None else ctx.timezone),
    )


__all__ = [
    "COLUMNS",
    "RAW_SLOT_COLUMNS",
    "RECORD",
    "AppointmentMapping",
    "SlotChunk",
    "bundled_appointment_mappings",
    "load_appointment_mapping",
    "raw_slot_frame",
    "read_slots",
    "slot_format",
    "sniff_slots",
]
