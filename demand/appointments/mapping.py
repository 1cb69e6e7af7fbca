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
  reason naming the word and the table to add it to, and the word is counted.
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
from collections import Counter
from collections.abc import Mapping as _AbcMapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Iterator

import numpy as np
import pandas as pd

from telephony.formats._base import Format, rejects_from
from telephony.sources import Chunk, Reject, Source, read_delimited
from telephony.tabular_mapping import (
    IDENTITY_KEYS,
    check_kind,
    head_fits,
    read_datetimes,
    time_reasons,
    load_folder,
    FILE_KEYS,
    HeaderLayout,
    MappingBuilder,
    RecordSpec,
    TabularMapping,
    column_readers,
    column_text,
    durations_seconds,
    end_times,
    flag,
    format_title,
    head_frame,
    load_document,
    lookup_words,
    norm_word,
    open_report,
    read_start,
    reason_series,
    sniff_score,
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

#: The record these mappings describe (see :class:`telephony.tabular_mapping.RecordSpec`).
RECORD = RecordSpec("slots", "slot report", COLUMNS)

#: Raw slots as :func:`read_slots` yields them (before the ingest's pseudonyms, UTC and ids).
RAW_SLOT_COLUMNS: tuple[str, ...] = (
    "slot_id", "start", "duration_min", "role", "mode", "status", "category",
    "booked", "clinician", "patient", "source_line",
)

# The word tables: section, canonical values, what one value is called, mapped column.
WORD_TABLES: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    ("roles", ROLES, "role", "role"),
    ("categories", CATEGORIES, "category", "category"),
    ("statuses", STATUSES, "status", "status"),
    ("modes", MODES, "mode", "mode"),
)

_TOP_KEYS = IDENTITY_KEYS + (
    "kind", "file", "columns", "datetime", "durations", "roles", "categories", "statuses", "modes",
)
#: The ``kind`` of a slot mapping (the default: a file without ``kind`` describes slots).
KIND = "slots"
_TABLE_KEYS = {
    "file": FILE_KEYS,
    "datetime": ("format", "booked_format", "dayfirst", "timezone"),
    "durations": ("format",),
}
#: Names no appointment mapping may take (the built-in GPAD reader's).
RESERVED_NAMES = frozenset({"gpad", "auto"})
# Shown instead of a clinician's name or a patient's id in reasons and reject texts.
WITHHELD = "[withheld]"


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

    def required_columns(self) -> list[str]:
        """Canonical columns a report must have for this mapping to read it at all."""
        req = ["start"] if "start" in self.columns else ["date", "time"]
        req.append("duration" if "duration" in self.columns else "end")
        return req + ["role", "category", "status"]


def load_appointment_mapping(path_or_text: str | Path | bytes) -> AppointmentMapping:
    """Read and check an appointment mapping file.

    Parameters
    ----------
    path_or_text : str, Path or bytes
        A path to a ``.toml`` file, or the TOML text itself (a string with a newline or ``=``).

    Returns
    -------
    AppointmentMapping

    Raises
    ------
    MappingError
        Listing every problem found, each with the file, line, key and fix.

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
    return _load(path_or_text, bundled=False)


def _load(path_or_text: str | Path | bytes, bundled: bool) -> AppointmentMapping:
    return load_document(path_or_text, _Builder, bundled, '"Same Day" = "same_day"')


class _Builder(MappingBuilder):
    """Checks an appointment mapping: the shared keys, then the four word tables."""

    top_keys = _TOP_KEYS
    table_keys = _TABLE_KEYS
    record = RECORD
    title_fix = 'add title = "<system> appointment slot report (CSV/XLSX)" (shown in messages)'
    title_text_fix = 'write title = "<system> appointment slot report"'
    sheet_example = "Slots"

    def taken_names(self) -> set[str]:
        return set(RESERVED_NAMES)

    def build(self) -> AppointmentMapping:
        self.unknown_top_keys()
        ident = self.identity()
        check_kind(self, KIND)
        if ident["name"] in RESERVED_NAMES:
            # Bundled or not: "gpad" and "auto" are what --format takes for other things.
            self.problem("", "name", f"{ident['name']!r} is reserved", 'choose another name, e.g. name = "my_slots"')
        f = self.file_options()
        columns = self.record_columns('add a [columns] table: canonical name = "the report\'s column header"')
        self.require_columns(
            [
                (
                    ("duration", "end"),
                    'add duration = "<slot length column>", or end = "<slot end time column>" to derive it',
                ),
                (("role",), 'add role = "<the report\'s session holder role column>"'),
                (("category",), 'add category = "<the report\'s slot type column>"'),
                (("status",), 'add status = "<the report\'s slot status column>"'),
            ]
        )
        dt = self.datetime_options()
        t = self.data.get("datetime") if isinstance(self.data.get("datetime"), dict) else {}
        booked_format = self.strptime_format("datetime", "booked_format", t.get("booked_format"))
        durations = self.durations(default="minutes")
        tables = {}
        declared = self.data.get("columns") if isinstance(self.data.get("columns"), dict) else {}
        for section, allowed, what, column in WORD_TABLES:
            example = f'"<the report\'s word>" = "{allowed[0]}"'
            if column == "mode" and "mode" not in declared:
                if section in self.data:
                    self.problem(
                        section, "", "given, but [columns] has no mode column",
                        'add mode = "<the report\'s delivery mechanism column>" under [columns], '
                        "or remove the table (every slot's mode is then unknown)",
                    )
                tables[section] = {}
                continue
            tables[section] = self.words(
                section,
                allowed,
                f"a {what}",
                required=True,
                fix_missing=f"add a [{section}] table: one line per word of the {what} column, e.g. {example}",
                wildcard=True,
            )
        self.raise_if_problems()
        return AppointmentMapping(
            **self.common_fields(ident, f, columns, dt, durations),
            booked_format=booked_format,
            **{k: MappingProxyType(v) for k, v in tables.items()},
        )


@functools.lru_cache(maxsize=1)
def _bundled() -> tuple[AppointmentMapping, ...]:
    return load_folder(Path(__file__).resolve().parent / "mappings", _load, kind=KIND, default_kind=KIND)


def bundled_appointment_mappings() -> dict[str, AppointmentMapping]:
    """Every appointment mapping shipped in ``demand/appointments/mappings/``, by name.

    Raises
    ------
    MappingError
        If a bundled file is invalid (a packaging error; the tests load them all).
    """
    return {m.name: m for m in _bundled()}


# ----------------------------------------------------------------------------- sniff


def _values_fit(mapping: AppointmentMapping, layout: HeaderLayout, rows: list[list[str]]) -> bool:
    """Whether most head rows carry this report's status words and readable start times."""
    statuses = column_text(head_frame(layout, rows), layout.index, "status")
    return head_fits(mapping, layout, rows, int(lookup_words(statuses, mapping.statuses)[0].notna().sum()))


def sniff_slots(mapping: AppointmentMapping, source: Source) -> float:
    """How sure it is that ``source`` is the slot report ``mapping`` describes (0–1).

    1.0 when the header holds every mapped column and the first rows' status words and start
    times read; 0.6 when the columns are there but the values do not fit, or most are there.
    """
    return sniff_score(mapping, source, functools.partial(_values_fit, mapping))


# ----------------------------------------------------------------------------- read


@dataclass
class SlotChunk:
    """One bounded batch of a slot report.

    Attributes
    ----------
    slots : pandas.DataFrame
        Raw slots, columns :data:`RAW_SLOT_COLUMNS`: ``start`` and ``booked`` as the report's
        wall clock (naive) unless it wrote offsets; ``clinician``, ``patient`` raw;
        ``slot_id`` null where the report has none.
    rejects : list of Reject
        Rows that could not become slots, with line and reason (no names or ids in them).
    rows_read : int
        Source data rows in the batch (blank lines included).
    skipped, unknown : collections.Counter
        Rows skipped by reason (blank lines); vendor words not known, with counts.
    """

    slots: pd.DataFrame
    rejects: list[Reject] = field(default_factory=list)
    rows_read: int = 0
    skipped: Counter = field(default_factory=Counter)
    unknown: Counter = field(default_factory=Counter)


def raw_slot_frame(n: int = 0, **cols) -> pd.DataFrame:
    """A raw-slots frame with :data:`RAW_SLOT_COLUMNS`, nulls where a column is not given."""
    out = {}
    for c in RAW_SLOT_COLUMNS:
        v = cols.get(c)
        if v is None:
            v = np.full(n, np.datetime64("NaT", "ns")) if c in ("start", "booked") else [None] * n
        elif isinstance(v, (pd.Series, pd.Index)):
            v = v.array
        out[c] = v
    df = pd.DataFrame(out, index=pd.RangeIndex(n))
    for c in ("slot_id", "role", "mode", "status", "category", "clinician", "patient"):
        df[c] = df[c].astype("string")
    df["duration_min"] = pd.to_numeric(df["duration_min"], errors="coerce").astype("float64")
    df["source_line"] = df["source_line"].astype("Int64")
    return df


def _withhold(text: pd.Series, values: list[pd.Series]) -> pd.Series:
    """``text`` with each row's own clinician/patient values replaced by :data:`WITHHELD`."""
    out = text.astype("string")
    for v in values:
        # Very short values ("1") would mangle the reason and identify no one.
        has = (v.fillna("").str.len() >= 3).to_numpy() & out.notna().to_numpy()
        for i in np.flatnonzero(has):
            out.iat[i] = str(out.iat[i]).replace(str(v.iat[i]), WITHHELD)
    return out


def _convert(
    chunk: Chunk, layout: HeaderLayout, mapping: AppointmentMapping, xlsx: bool
) -> SlotChunk:
    """One chunk of report rows → raw slots and rejects (one slot or one reject per row)."""
    f = chunk.frame.reset_index(drop=True)
    n = len(f)
    skipped, rows_read = chunk.skipped(), chunk.rows_read
    # A row with the wrong number of fields: which one is the patient's id cannot be told.
    structural = [Reject(r.line, r.reason, "", r.rows) for r in chunk.rejects]
    if n == 0:
        return SlotChunk(raw_slot_frame(0), structural, rows_read, skipped, Counter())
    idx = layout.index
    col, label, optional = column_readers(f, layout)

    problems: list[pd.Series] = []
    unknown: Counter = Counter()
    clinician, patient = optional("clinician"), optional("patient")
    # Normalised names and ids of this chunk: never shown as a "word" (a mis-mapped column).
    private = set(clinician.dropna().map(norm_word)) | set(patient.dropna().map(norm_word))

    start = read_start(f, layout, mapping, problems)

    if "duration" in idx:
        raw = col("duration")
        secs, bad = durations_seconds(raw, mapping.durations, xlsx, bare_unit_s=60.0)
        flag(problems, (raw == "").to_numpy(), f"duration missing: column {label('duration')!r} is empty")
        flag(
            problems,
            bad.to_numpy(),
            "unreadable duration '" + raw + f"' in column {label('duration')!r} (durations format {mapping.durations})",
        )
        minutes = secs / 60.0
    else:
        etext = col("end")
        end = end_times(etext, start, mapping.datetime_format, mapping.dayfirst)
        flag(problems, (etext == "").to_numpy(), f"end time missing: column {label('end')!r} is empty")
        # A bare end time is read on the start's day: with no start, the start's reason says it.
        unreadable = (end.isna() & (etext != "") & start.notna()).to_numpy()
        flag(problems, unreadable, "unreadable end time '" + etext + f"' in column {label('end')!r}")
        if getattr(end.dt, "tz", None) is not None and getattr(start.dt, "tz", None) is not None:
            minutes = (end - start).dt.total_seconds() / 60.0
        elif getattr(end.dt, "tz", None) is None and getattr(start.dt, "tz", None) is None:
            minutes = (end - start).dt.total_seconds() / 60.0
        else:  # one with offsets, the other wall clock: no honest difference
            minutes = pd.Series(np.nan, index=f.index)
            flag(problems, np.ones(n, dtype=bool), "start and end times in different clocks (one has a UTC offset)")

    values: dict[str, pd.Series] = {}
    for section, allowed, what, column in WORD_TABLES:
        if column not in idx:
            values[column] = pd.Series("unknown" if column == "mode" else pd.NA, index=f.index, dtype="string")
            continue
        words = col(column)
        mapped, by_default = lookup_words(words, getattr(mapping, section))
        shown = words.where(~words.map(norm_word).isin(private), WITHHELD)
        for word, cnt in shown[by_default.to_numpy()].value_counts().items():
            unknown[f"{what} {word} (read as {mapping_default(mapping, section)})"] += int(cnt)
        unk = mapped.isna().to_numpy()
        if unk.any():
            empty = (words == "").to_numpy()
            flag(
                problems, unk & empty,
                f"{what} missing: column {label(column)!r} is empty; add \"\" = \"<{what}>\" "
                + mapping.edit_hint(section) + " to accept empty cells",
            )
            for word, cnt in shown[unk & ~empty].value_counts().items():
                unknown[f"{what} {word}"] += int(cnt)
            reason = (
                f"unknown {what} '" + shown + f"' in column {label(column)!r}; add \"" + shown
                + f"\" = \"<{what}>\" " + mapping.edit_hint(section) + f" (one of {', '.join(allowed)})"
            )
            flag(problems, unk & ~empty, reason)
        values[column] = mapped

    booked = pd.Series(np.full(n, np.datetime64("NaT", "ns")), index=f.index)
    if "booked" in idx:
        btext = col("booked")
        booked, oob = read_datetimes(btext, mapping.booked_format or mapping.datetime_format, mapping.dayfirst)
        # An empty booked cell is a slot never booked, not a problem.
        time_reasons(problems, btext, booked, oob, "booked date/time", label("booked"), skip=(btext == "").to_numpy())

    # Canonical meaning: a slot nobody booked has no patient and no booking time.
    available = (values["status"] == "available").fillna(False).to_numpy()
    patient = patient.mask(available, pd.NA)
    booked = booked.mask(available)

    reasons = reason_series(problems, f.index)
    badrow = reasons.notna().to_numpy() if len(reasons) else np.zeros(n, dtype=bool)
    rejects = structural
    if badrow.any():
        reasons = _withhold(reasons.fillna(""), [optional("clinician"), optional("patient")])
        shown_frame = f.copy()
        for k in ("clinician", "patient"):
            if k in idx:
                c = shown_frame.columns[idx[k]]
                shown_frame[c] = shown_frame[c].where(shown_frame[c].fillna("").str.strip() == "", WITHHELD)
        rejects = rejects + rejects_from(shown_frame, chunk.lines, badrow, reasons, sep=layout.delimiter)
    rejects.sort(key=lambda r: r.line or 0)
    ok = ~badrow
    slots = raw_slot_frame(
        int(ok.sum()),
        slot_id=optional("slot_id")[ok],
        start=start[ok],
        duration_min=minutes[ok],
        role=values["role"][ok],
        mode=values["mode"][ok],
        status=values["status"][ok],
        category=values["category"][ok],
        booked=booked[ok],
        clinician=clinician[ok],
        patient=patient[ok],
        source_line=pd.Series(chunk.lines[ok]),
    )
    return SlotChunk(slots, rejects, rows_read, skipped, unknown)


def mapping_default(mapping: AppointmentMapping, section: str) -> str:
    """The value a table's ``"*"`` line gives."""
    return getattr(mapping, section).get("*", "")


def read_slots(mapping: AppointmentMapping, source: Source) -> Iterator[SlotChunk]:
    """Read a slot report as ``mapping`` describes it, in bounded chunks.

    Parameters
    ----------
    mapping : AppointmentMapping
    source : telephony.sources.Source
        From :func:`telephony.sources.open_source` (CSV in any encoding, or XLSX).

    Yields
    ------
    SlotChunk

    Raises
    ------
    BadInputError
        A mapped column is missing from the report's header.
    """
    source, layout, chunks = open_report(source, mapping, "slot report", reader=read_delimited)
    xlsx = source.kind == "xlsx"
    for chunk in chunks:
        yield _convert(chunk, layout, mapping, xlsx)


def slot_format(mapping: AppointmentMapping) -> Format:
    """The mapping as a :class:`~telephony.formats._base.Format` for format detection.

    Only ``sniff`` is meant to be used from it (with :func:`telephony.ingest.detect_format`);
    ``read`` yields :class:`SlotChunk` objects, not call chunks.
    """
    return Format(
        name=mapping.name,
        title=format_title(mapping),
        example=mapping.example or f"slot report .csv/.xlsx (mapping {mapping.file_name})",
        sniff=functools.partial(sniff_slots, mapping),
        read=lambda source, ctx=None: read_slots(mapping, source),
        evidence=mapping.evidence,
        evidence_note=mapping.evidence_note,
    )


__all__ = [
    "COLUMNS",
    "RAW_SLOT_COLUMNS",
    "AppointmentMapping",
    "SlotChunk",
    "bundled_appointment_mappings",
    "load_appointment_mapping",
    "read_slots",
    "slot_format",
    "sniff_slots",
]
