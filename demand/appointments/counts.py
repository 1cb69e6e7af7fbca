"""Summary counts of appointment capacity (SystmOne report downloads) onboarded with a mapping.

The appointment reports practices actually download and share are often not one row per slot
but counts: SystmOne's "appointments by staff" grid (one row per day, one column per
clinician, each cell the day's booked appointments), and its summaries by staff and slot type
for a chosen period (``Staff, Slot Type, Total Slots, Unused Slots``; ``Staff, Slot Type,
Appointment Count`` of DNAs). They are capacity facts at day × clinician or period × clinician
× slot type grain. A mapping file (TOML, ``kind = "capacity_counts"``) says where a report
keeps each count, read by the machinery every mapping shares
(:mod:`telephony.tabular_mapping`); the counts go to their own table
(:data:`demand.appointments.schema.CAPACITY_SCHEMA`), never mixed with slot-level rows.
:func:`load_capacity_mapping` reads and checks one; :func:`read_counts` reads a report with
it. Files in ``demand/appointments/mappings/`` with ``kind = "capacity_counts"`` are bundled
(``--format systmone_booked_grid``).

A fully commented mapping file (only ``kind``, ``name``, ``title``, ``[columns]`` with at
least one count or a ``[grid]``, are required)::

    kind = "capacity_counts"        # what the file describes (slot mappings leave it out)
    name = "s1_slots_mine"          # used with --format: lower case letters, digits and _
    title = "SystmOne slots by staff and slot type (CSV)"
    supplier = "TPP SystmOne"       # optional
    evidence = "documentation"      # optional: "real" once checked against a real download
    evidence_note = "a download of ours"   # optional: what it was checked against
    optional = ["site", "minutes_total", "minutes_unused"]   # optional: mapped columns a
                                    # download may lack (read as empty); any other mapped
                                    # column missing from a report stops the read

    [file]                          # optional: as in any mapping
    # skip_lines = 2  delimiter = ","  encoding = "cp1252"  sheet = "Report"

    [columns]                       # canonical name = the report's column header(s)
    # date = "Date"                 # optional: the day a row counts; without it, every row
                                    # counts the period given with --from/--to
    # weekday = "Day"               # optional: checked against the date (Mon, Tuesday...)
    clinician = "Staff"             # optional: pseudonymised on ingest, never stored raw
    site = "Branch"                 # optional: the practice's site or branch
    slot_type = "Slot Type"         # optional: read through [categories]
    total = "Total Slots"           # counts, at least one: slots offered,
    unused = "Unused Slots"         # slots not booked,
    # booked = "Booked"             # appointments booked (else total - unused),
    # dna = "Appointment Count"     # appointments not attended;
    minutes_total = "Total Duration"    # optional: minutes of the slots offered,
    minutes_unused = "Unused Duration"  # and of those not booked

    # [grid]                        # instead of count columns: one column per clinician,
    # cells = "booked"              # each cell a count of this (booked, total, unused, dna);
    # not_clinicians = ["Total"]    # headers of columns that are no clinician (the mapped
                                    # columns never are); a grid needs a date column

    [totals]                        # optional: labels of total rows (in the date column of a
    labels = ["Total", "Grand Total"]  # grid, else the clinician column) and total columns

    [datetime]                      # optional: how the date column is written
    format = "%d %b %Y"             # strptime: 01 Aug 2025
    dayfirst = true

    [categories]                    # optional: slot type word = same_day, pre_bookable or
    "GP Same Day" = "same_day"      # other; "*" = any other word (kept, and listed)
    "*" = "other"

Notes
-----
- Seen in real SystmOne downloads: every value double-quoted; dates like ``01 Aug 2025``
  with a ``Day`` column (``Fri``); the grid has a row for every day of the period, weekends
  included, and a cell for every clinician, ``0`` when none were booked; staff columns hold
  titles and full names (``Dr ...``, ``Mrs ...``) and pseudo-staff (``Practice Nurse``, a
  111 service); slot types are the practice's own words, some with double spaces; the
  summaries by staff and slot type carry no dates (the period is what the user chose when
  running the report) and may list one staff and slot type twice.
- A grid is counted cell by cell: each day × clinician cell is one record (rows read are
  cells). A zero or empty cell says no appointments (usually: not working that day) and is
  skipped, not stored. A whole row is rejected cell by cell when its date cannot be read.
- Rows of a summary without dates count the period given (``--from``/``--to``); ``booked``
  is derived as ``total - unused`` when the report gives both but not ``booked`` (SystmOne's
  "unused" is "not booked"). Unused or booked above total is rejected.
- Clinician names stay raw only until the ingest pseudonymises them in the ``clinician``
  namespace (the same pseudonyms as slot reports' session holders). They never appear in a
  reason, a note or an error: a grid's header (a list of names) is never quoted, its columns
  are named by position, and reject texts withhold names.
- Slot types are stored as the report writes them, runs of spaces collapsed. A slot type
  word not in ``[categories]`` is kept (category null, or the ``"*"`` value) and
  counted among the unknown words; it never rejects a row.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from collections import Counter
from collections.abc import Mapping as _AbcMapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Iterator

import numpy as np
import pandas as pd

from telephony.errors import BadInputError
from telephony.formats._base import Format, rejects_from
from telephony.sources import Chunk, Reject, Source, norm_name, read_delimited
from telephony.tabular_mapping import (
    IDENTITY_KEYS,
    FILE_KEYS,
    HeaderLayout,
    MappingBuilder,
    RecordSpec,
    TabularMapping,
    check_kind,
    clipped,
    column_readers,
    column_text,
    durations_seconds,
    find_layout,
    flag,
    format_title,
    head_frame,
    load_document,
    load_folder,
    lookup_words,
    norm_word,
    open_report,
    read_dates,
    read_datetimes,
    reason_series,
    shown,
    sheet_source,
    with_encoding,
)

from demand.appointments.schema import CATEGORIES

#: What a capacity count mapping's file says it is (its ``kind`` key).
KIND = "capacity_counts"

#: The counts a report can give, as the raw counts frame names them.
MEASURES: dict[str, str] = {
    "total": "slots offered",
    "unused": "slots not booked",
    "booked": "appointments booked",
    "dna": "appointments not attended (DNA)",
}
#: Minutes a report can give beside the counts.
MINUTES: dict[str, str] = {
    "minutes_total": "minutes of the slots offered",
    "minutes_unused": "minutes of the slots not booked",
}

#: Canonical column names a capacity count mapping can give, and what each means.
COLUMNS: dict[str, str] = {
    "date": "the day a row counts (without it, the period given with --from/--to)",
    "weekday": "the day's name, checked against the date",
    "clinician": "the staff member (pseudonymised on ingest)",
    "site": "the practice's site or branch",
    "slot_type": "the slot type, read through [categories]",
    **MEASURES,
    **MINUTES,
}

#: The record these mappings describe (see :class:`telephony.tabular_mapping.RecordSpec`).
RECORD = RecordSpec(KIND, "summary count report", COLUMNS, when="date")

#: Raw counts as :func:`read_counts` yields them (before the ingest's pseudonyms and keys).
RAW_COUNT_COLUMNS: tuple[str, ...] = (
    "period_start", "period_end", "clinician", "site", "slot_type", "category",
    "total", "booked", "unused", "dna", "minutes_total", "minutes_unused", "source_line",
)

_TOP_KEYS = IDENTITY_KEYS + ("kind", "optional", "file", "columns", "grid", "totals", "datetime", "categories")
_TABLE_KEYS = {
    "file": FILE_KEYS,
    "datetime": ("format", "dayfirst"),
    "grid": ("cells", "not_clinicians"),
    "totals": ("labels",),
}
#: Labels of total rows and columns when a mapping gives none.
DEFAULT_TOTAL_LABELS: tuple[str, ...] = ("Total", "Totals", "Grand Total", "Sum")
# Day names a weekday column may write, by ISO weekday (Monday = 0).
_WEEKDAYS = {
    **{d[:3].lower(): i for i, d in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))},
    **{d: i for i, d in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))},
    "tues": 1, "weds": 2, "thur": 3, "thurs": 3,
}
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Shown instead of a clinician's name in reject texts.
WITHHELD = "[withheld]"
# A count as reports write it: 12, 12.0 (a workbook), 1,234.
_COUNT = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.0+)?$|^\d+(?:\.0+)?$")


@dataclass(frozen=True)
class Grid:
    """A grid layout: one column per clinician, each cell a count of ``cells``."""

    cells: str
    not_clinicians: tuple[str, ...] = ()


@dataclass(frozen=True)
class CapacityMapping(TabularMapping):
    """A checked capacity count mapping (see the module docstring for the keys).

    Attributes
    ----------
    grid : Grid or None
        The grid layout, when the report has one column per clinician.
    total_labels : tuple of str
        Labels of total rows and columns (skipped).
    categories : Mapping[str, str]
        Normalised slot type word → category; ``"*"`` for any other word.
    """

    grid: Grid | None = None
    total_labels: tuple[str, ...] = DEFAULT_TOTAL_LABELS
    categories: _AbcMapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    optional: tuple[str, ...] = ()

    def required_columns(self) -> list[str]:
        """Canonical columns a report must have for this mapping to read it at all."""
        return [c for c in self.columns if c not in self.optional]

    def optional_columns(self) -> tuple[str, ...]:
        """Mapped columns a download may lack (``optional``): read as empty when absent."""
        return self.optional

    @property
    def dated(self) -> bool:
        """Whether the report dates its rows (else the period is given with the ingest)."""
        return "date" in self.columns


def load_capacity_mapping(path_or_text: str | Path | bytes) -> CapacityMapping:
    """Read and check a capacity count mapping file.

    Parameters
    ----------
    path_or_text : str, Path or bytes
        A path to a ``.toml`` file, or the TOML text itself.

    Returns
    -------
    CapacityMapping

    Raises
    ------
    MappingError
        Listing every problem found, each with the file, line, key and fix.

    Examples
    --------
    >>> m = load_capacity_mapping('''
    ... kind = "capacity_counts"
    ... name = "tiny_grid"
    ... title = "Tiny grid"
    ... [columns]
    ... date = "Date"
    ... [grid]
    ... cells = "booked"
    ... ''')
    >>> m.grid.cells, m.dated
    ('booked', True)
    """
    return _load(path_or_text, bundled=False)


def _load(path_or_text: str | Path | bytes, bundled: bool) -> CapacityMapping:
    return load_document(path_or_text, _Builder, bundled, '"GP Same Day" = "same_day"')


class _Builder(MappingBuilder):
    """Checks a capacity count mapping: the shared keys, then the grid, totals and categories."""

    top_keys = _TOP_KEYS
    table_keys = _TABLE_KEYS
    record = RECORD
    title_fix = 'add title = "<system> summary report (CSV/XLSX)" (shown by frontdoor formats)'
    title_text_fix = 'write title = "<system> summary report"'
    sheet_example = "Report"

    def taken_names(self) -> set[str]:
        return {"gpad", "auto"}

    def build(self) -> CapacityMapping:
        self.unknown_top_keys()
        check_kind(self, KIND, required=True)
        ident = self.identity()
        if ident["name"] in ("gpad", "auto"):
            self.problem("", "name", f"{shown(ident['name'])} is reserved", 'choose another name, e.g. name = "my_counts"')
        f = self.file_options()
        columns = self.record_columns('add a [columns] table: canonical name = "the report\'s column header"')
        dt = self.datetime_options()
        grid = self.grid(columns)
        counted = [c for c in (*MEASURES, *MINUTES) if c in columns]
        if "grid" not in self.data and "columns" in self.data and not any(c in columns for c in MEASURES):
            self.problem(
                "columns", "total", "no count column",
                "map at least one of total, unused, booked or dna to the report's count column, "
                "or describe a grid with a [grid] table",
            )
        if grid is not None and counted:
            self.problem(
                "grid", "", f"given, but [columns] maps counts too ({', '.join(counted)})",
                "a grid's counts are its clinician columns: remove the count columns or the [grid] table",
            )
        if "weekday" in columns and "date" not in columns:
            self.problem("columns", "weekday", "given without a date column", 'add date = "<the report\'s date column>"')
        totals = self.totals()
        optional = self.labels("", "optional", self.data.get("optional", []))
        for c in optional:
            if c not in columns:
                self.problem(
                    "", "optional", f"{shown(c)} is not a column under [columns]",
                    f"list mapped columns only ({', '.join(columns) or 'none mapped'})",
                )
            elif c == "date" or (c in MEASURES and not [m for m in MEASURES if m in columns and m not in optional]):
                self.problem("", "optional", f"{shown(c)} cannot be optional", "a report must give its dates and at least one count")
        categories = {}
        if "categories" in self.data:
            categories = self.words(
                "categories", CATEGORIES, "a category", required=False,
                fix_missing='list slot type words: "GP Same Day" = "same_day"', wildcard=True,
            )
            if "slot_type" not in columns and isinstance(self.data.get("columns"), dict) and "slot_type" not in self.data["columns"]:
                self.problem(
                    "categories", "", "given, but [columns] has no slot_type column",
                    'add slot_type = "<the report\'s slot type column>" under [columns], or remove the table',
                )
        self.raise_if_problems()
        return CapacityMapping(
            **self.common_fields(ident, f, columns, dt, "auto"),
            grid=grid,
            total_labels=totals,
            categories=MappingProxyType(categories),
            optional=tuple(c for c in optional if c in columns),
        )

    def grid(self, columns: dict) -> Grid | None:
        if "grid" not in self.data:
            return None
        t = self.table("grid")
        cells = t.get("cells")
        choices = ", ".join(MEASURES)
        if cells is None:
            self.problem("grid", "cells", "required key missing", f'write cells = "booked" (what a cell counts: one of {choices})')
            return None
        if not isinstance(cells, str) or cells.strip().lower() not in MEASURES:
            self.problem("grid", "cells", f"{shown(cells)} is not a count", f"use one of {choices}")
            return None
        others = self.labels("grid", "not_clinicians", t.get("not_clinicians", []))
        if "date" not in columns and "columns" in self.data:
            self.problem(
                "columns", "date", "required key missing (a grid has one row per day)",
                'add date = "<the grid\'s date column>"',
            )
        return Grid(cells.strip().lower(), others)

    def totals(self) -> tuple[str, ...]:
        if "totals" not in self.data:
            return DEFAULT_TOTAL_LABELS
        t = self.table("totals")
        return self.labels("totals", "labels", t.get("labels", list(DEFAULT_TOTAL_LABELS)))

    def labels(self, section: str, key: str, value: object) -> tuple[str, ...]:
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values) or len(values) > 50:
            self.problem(section, key, f"expected a list of labels in quotes, got {shown(value)}", f'write {key} = ["Total"]')
            return ()
        return tuple(values)


@functools.lru_cache(maxsize=1)
def _bundled() -> tuple[CapacityMapping, ...]:
    return load_folder(Path(__file__).resolve().parent / "mappings", _load, kind=KIND, default_kind="slots")


def bundled_capacity_mappings() -> dict[str, CapacityMapping]:
    """Every capacity count mapping shipped in ``demand/appointments/mappings/``, by name."""
    return {m.name: m for m in _bundled()}


# ----------------------------------------------------------------------------- layout


def _clinician_columns(mapping: CapacityMapping, layout: HeaderLayout) -> list[int]:
    """Positions of a grid's clinician columns: every named column not mapped, not a total."""
    assert mapping.grid is not None
    mapped = set(layout.index.values())
    skip = {norm_name(x) for x in (*mapping.grid.not_clinicians, *mapping.total_labels)}
    return [
        i for i, name in enumerate(layout.names)
        if i not in mapped and norm_name(name) and norm_name(name) not in skip
    ]


def _is_count(values: pd.Series) -> pd.Series:
    s = values.fillna("").str.strip()
    return s.str.match(_COUNT) | (s == "")


def sniff_counts(mapping: CapacityMapping, source: Source) -> float:
    """How sure it is that ``source`` is the summary report ``mapping`` describes (0–1).

    1.0 when the header holds every mapped column (a grid: its date column and at least one
    clinician column) and most of the first rows' counts (and dates) read; 0.6 when the
    columns are there but the values do not fit; else 0.
    """
    try:
        source = sheet_source(with_encoding(source, mapping.encoding), mapping)
        layout = find_layout(source, mapping)
    except BadInputError:
        return 0.0
    if set(layout.missing) - set(mapping.optional) or layout.header_line is None:
        return 0.0
    rows = [r for r in layout.data if len(r) == len(layout.names)]
    if mapping.grid is not None:
        counts = _clinician_columns(mapping, layout)
        if not counts:
            return 0.0
    else:
        counts = [layout.index[c] for c in MEASURES if c in layout.index]
        # Two columns or more named as the mapping says: one alone ("Date") proves nothing.
        if len(layout.index) < 2:
            return 0.0
    if not rows:
        return 1.0
    frame = head_frame(layout, rows)
    skip = {norm_word(x) for x in mapping.total_labels}
    label = "date" if mapping.grid is not None else "clinician"
    if label in layout.index:
        frame = frame[~column_text(frame, layout.index, label).map(norm_word).isin(skip)]
    if frame.empty:
        return 1.0
    fits = pd.Series(True, index=frame.index)
    for pos in counts:
        fits &= _is_count(frame.iloc[:, pos])
    if "date" in layout.index:
        fits &= read_datetimes(column_text(frame, layout.index, "date"), mapping.datetime_format, mapping.dayfirst)[0].notna()
    return 1.0 if fits.mean() >= 0.5 else 0.6


# ----------------------------------------------------------------------------- read


@dataclass
class CountChunk:
    """One bounded batch of a summary report.

    Attributes
    ----------
    counts : pandas.DataFrame
        Raw counts, columns :data:`RAW_COUNT_COLUMNS`: periods as naive midnights
        (``period_end`` exclusive), ``clinician`` raw.
    rejects : list of Reject
        Records that could not be read, with line and reason (no names in them).
    rows_read : int
        Records read: a grid's cells, else rows (blank lines included).
    skipped, unknown : collections.Counter
        Records skipped by reason; slot type words not known, with counts.
    notes : list of str
        What the reader decided that a person should know.
    """

    counts: pd.DataFrame
    rejects: list[Reject] = field(default_factory=list)
    rows_read: int = 0
    skipped: Counter = field(default_factory=Counter)
    unknown: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)


def raw_count_frame(n: int = 0, **cols) -> pd.DataFrame:
    """A raw-counts frame with :data:`RAW_COUNT_COLUMNS`, nulls where a column is not given."""
    out = {}
    for c in RAW_COUNT_COLUMNS:
        v = cols.get(c)
        if v is None:
            v = np.full(n, np.datetime64("NaT", "ns")) if c.startswith("period") else [None] * n
        elif isinstance(v, (pd.Series, pd.Index)):
            v = v.array
        out[c] = v
    df = pd.DataFrame(out, index=pd.RangeIndex(n))
    for c in ("clinician", "site", "slot_type", "category"):
        df[c] = df[c].astype("string")
    for c in MEASURES:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
    for c in MINUTES:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    for c in ("period_start", "period_end"):
        df[c] = pd.to_datetime(df[c]).astype("datetime64[ns]")
    df["source_line"] = df["source_line"].astype("Int64")
    return df


def _counts(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Whole counts (``Int64``; empty → NA) and which non-empty values are not counts."""
    s = text.fillna("").str.strip()
    ok = s.str.match(_COUNT).to_numpy(dtype=bool)
    values = pd.to_numeric(s.str.replace(",", "", regex=False).where(ok), errors="coerce")
    bad = ~ok & (s != "").to_numpy(dtype=bool)
    return values.round().astype("Int64"), bad


def _weekday_check(frame: pd.DataFrame, layout: HeaderLayout, days: pd.Series, problems: list[pd.Series]) -> None:
    """Flag rows whose weekday column disagrees with their date (a date read the wrong way)."""
    text = column_text(frame, layout.index, "weekday")
    said = text.str.lower().str.rstrip(".").map(_WEEKDAYS)
    where = layout.names[layout.index["weekday"]]
    flag(problems, ((text != "") & said.isna()).to_numpy(), "unreadable day name '" + clipped(text) + f"' in column {where!r}")
    wrong = (said.notna() & days.notna() & (said != days.dt.day_of_week)).to_numpy(dtype=bool)
    if wrong.any():
        actual = days.dt.day_of_week.map(lambda d: _DAY_NAMES[int(d)] if pd.notna(d) else "")
        flag(
            problems, wrong,
            "the date is a " + actual + f" but column {where!r} says '" + clipped(text)
            + "' (check [datetime] format and dayfirst)",
        )


class _State:
    """What reading one file carries from chunk to chunk."""

    def __init__(self) -> None:
        self.spelled: dict[str, str] = {}
        self.noted_categories = False


def _categories(
    mapping: CapacityMapping, slot_type: pd.Series, unknown: Counter, state: _State
) -> pd.Series:
    """Slot types' categories (NA where unknown); unknown and defaulted words counted."""
    if not mapping.categories:
        return pd.Series(pd.NA, index=slot_type.index, dtype="string")
    mapped, by_default = lookup_words(slot_type, mapping.categories)
    default = mapping.categories.get("*", "")
    todo = (mapped.isna() & (slot_type.fillna("") != "")) | by_default
    for word, cnt in clipped(slot_type.fillna(""))[todo.to_numpy()].value_counts(sort=False).items():
        first = state.spelled.setdefault(norm_word(word), str(word))
        unknown[f"slot type {first}" + (f" (read as {default})" if default else "")] += int(cnt)
    return mapped


def _category_note(mapping: CapacityMapping) -> str:
    """How to give the listed slot types a category (said once per file)."""
    default = mapping.categories.get("*")
    kept = f"read as {default}" if default else "kept with no category"
    return (
        f"slot types not under [categories] are {kept} and listed among the unknown words: add each "
        f'as "<slot type>" = "<{"|".join(CATEGORIES)}>" {mapping.edit_hint("categories")} and ingest again'
    )


def _convert_rows(
    chunk: Chunk, layout: HeaderLayout, mapping: CapacityMapping, period: tuple[pd.Timestamp, pd.Timestamp] | None,
    xlsx: bool, state: _State,
) -> CountChunk:
    """One chunk of a summary by rows (clinician × slot type, per period or per day)."""
    f = chunk.frame.reset_index(drop=True)
    n = len(f)
    skipped = chunk.skipped()
    structural = [Reject(r.line, r.reason, "", r.rows) for r in chunk.rejects]
    if n == 0:
        return CountChunk(raw_count_frame(0), structural, chunk.rows_read, skipped)
    idx = layout.index
    col, label, optional = column_readers(f, layout)
    problems: list[pd.Series] = []
    unknown: Counter = Counter()

    clinician = optional("clinician")
    totals = {norm_word(x) for x in mapping.total_labels}
    total_row = clinician.fillna("").map(norm_word).isin(totals).to_numpy(dtype=bool) if "clinician" in idx else np.zeros(n, bool)

    if mapping.dated:
        start = read_dates(f, layout, mapping, problems)
        if "weekday" in idx:
            _weekday_check(f, layout, start, problems)
        end = start + pd.Timedelta(days=1)
    else:
        assert period is not None
        start = pd.Series(period[0], index=f.index, dtype="datetime64[ns]")
        end = pd.Series(period[1], index=f.index, dtype="datetime64[ns]")

    values: dict[str, pd.Series] = {}
    for m in MEASURES:
        if m in idx:
            v, bad = _counts(col(m))
            flag(problems, bad, "unreadable count '" + clipped(col(m)) + f"' in column {label(m)!r}")
            values[m] = v
        else:
            values[m] = pd.Series(pd.NA, index=f.index, dtype="Int64")
    given = [m for m in MEASURES if m in idx]
    none = np.ones(n, dtype=bool)
    for m in given:
        none &= values[m].isna().to_numpy(dtype=bool)
    flag(problems, none & ~total_row, "no count: " + " and ".join(repr(label(m)) for m in given) + " empty")
    if "booked" not in idx and "total" in idx and "unused" in idx:
        values["booked"] = (values["total"] - values["unused"]).astype("Int64")
    for m in ("unused", "booked"):
        above = (values[m] > values["total"]).fillna(False).to_numpy(dtype=bool)
        if m in idx and "total" in idx:
            flag(problems, above, f"{label(m)!r} is more than {label('total')!r}")
    minutes: dict[str, pd.Series] = {}
    for m in MINUTES:
        if m in idx:
            secs, bad = durations_seconds(col(m), "auto", xlsx, bare_unit_s=60.0)
            flag(problems, bad.to_numpy(), "unreadable minutes '" + clipped(col(m)) + f"' in column {label(m)!r}")
            minutes[m] = secs / 60.0
    # Runs of spaces collapsed ("Minor  Surgery"): one slot type however the report spaces it.
    slot_type = optional("slot_type").str.replace(r"\s+", " ", regex=True)
    category = _categories(mapping, slot_type, unknown, state)
    notes = []
    if unknown and not state.noted_categories:
        state.noted_categories = True
        notes.append(_category_note(mapping))

    reasons = reason_series(problems, f.index)
    bad = (reasons.notna().to_numpy() if len(reasons) else np.zeros(n, dtype=bool)) & ~total_row
    if total_row.any():
        skipped["total row"] += int(total_row.sum())
    rejects = structural
    if bad.any():
        shown_frame = f.copy()
        if "clinician" in idx:
            c = shown_frame.columns[idx["clinician"]]
            shown_frame[c] = shown_frame[c].where(shown_frame[c].fillna("").str.strip() == "", WITHHELD)
        rejects = rejects + rejects_from(shown_frame, chunk.lines, bad, reasons.fillna(""), sep=layout.delimiter)
    ok = ~bad & ~total_row
    counts = raw_count_frame(
        int(ok.sum()),
        period_start=start[ok],
        period_end=end[ok],
        clinician=clinician[ok],
        site=optional("site")[ok],
        slot_type=slot_type[ok],
        category=category[ok],
        **{m: values[m][ok] for m in MEASURES},
        **{m: minutes[m][ok] for m in minutes},
        source_line=pd.Series(chunk.lines[ok]),
    )
    return CountChunk(counts, sorted(rejects, key=lambda r: r.line or 0), chunk.rows_read, skipped, unknown, notes)


def _convert_grid(chunk: Chunk, layout: HeaderLayout, mapping: CapacityMapping, clinicians: list[int]) -> CountChunk:
    """One chunk of a grid: each day × clinician cell a record (see the module Notes)."""
    assert mapping.grid is not None
    f = chunk.frame.reset_index(drop=True)
    n, k = len(f), len(clinicians)
    skipped = chunk.skipped()
    structural = [Reject(r.line, r.reason, "", r.rows) for r in chunk.rejects]
    # A record is a cell; a line that could not be split, or a blank one, is one record.
    rows_read = n * k + sum(r.rows for r in chunk.rejects) + chunk.blank
    if n == 0:
        return CountChunk(raw_count_frame(0), structural, rows_read, skipped)
    problems: list[pd.Series] = []
    days = read_dates(f, layout, mapping, problems)
    if "weekday" in layout.index:
        _weekday_check(f, layout, days, problems)
    label = column_text(f, layout.index, "date")
    total_row = label.map(norm_word).isin({norm_word(x) for x in mapping.total_labels}).to_numpy(dtype=bool)
    reasons = reason_series(problems, f.index)
    row_bad = (reasons.notna().to_numpy() if len(reasons) else np.zeros(n, dtype=bool)) & ~total_row
    if total_row.any():
        skipped["total row cell"] += int(total_row.sum()) * k

    # Cells, clinician by clinician (column-major): counts, and which cannot be read.
    cells = pd.concat([f.iloc[:, p].fillna("").str.strip() for p in clinicians], ignore_index=True) if k else pd.Series([], dtype="string")
    values, unreadable = _counts(cells)
    row_of = np.tile(np.arange(n), k)
    col_of = np.repeat(np.array(clinicians, dtype=np.int64), n)
    live = ~total_row[row_of]
    nothing = (values.fillna(0) == 0).to_numpy(dtype=bool) & ~unreadable
    skip = live & nothing & ~row_bad[row_of]
    if skip.any():
        skipped["zero or empty cell"] += int(skip.sum())
    bad_cell = live & ~nothing & (row_bad[row_of] | unreadable)
    keep = live & ~nothing & ~bad_cell

    rejects = list(structural)
    if bad_cell.any():
        texts = f.astype(str).agg(layout.delimiter.join, axis=1)
        for i in np.flatnonzero(bad_cell):
            r, p = int(row_of[i]), int(col_of[i])
            why = []
            if row_bad[r]:
                why.append(str(reasons.iloc[r]))
            if unreadable[i]:
                why.append(f"unreadable count '{clipped(cells.iloc[i:i + 1]).iloc[0]}'")
            rejects.append(Reject(int(chunk.lines[r]), f"grid column {p + 1}: " + "; ".join(why), texts.iloc[r]))
    names = pd.Series([layout.names[p] for p in col_of[keep]], dtype="string")
    start = days.to_numpy()[row_of[keep]]
    measure = {mapping.grid.cells: values[keep].reset_index(drop=True)}
    counts = raw_count_frame(
        int(keep.sum()),
        period_start=pd.Series(start),
        period_end=pd.Series(start) + pd.Timedelta(days=1),
        clinician=names,
        **measure,
        source_line=pd.Series(np.asarray(chunk.lines)[row_of[keep]]),
    )
    rejects.sort(key=lambda r: r.line or 0)
    return CountChunk(counts, rejects, rows_read, skipped, Counter())


def read_counts(
    mapping: CapacityMapping, source: Source, period: tuple[_dt.date, _dt.date] | None = None
) -> Iterator[CountChunk]:
    """Read a summary report as ``mapping`` describes it, in bounded chunks.

    Parameters
    ----------
    mapping : CapacityMapping
    source : telephony.sources.Source
    period : (date, date), optional
        First and last day (inclusive) the report counts: required when the report has no
        date column, not used when it has one (a note says so).

    Yields
    ------
    CountChunk

    Raises
    ------
    BadInputError
        A mapped column is missing; an undated report without ``period``; a period that ends
        before it starts or lies outside the years that can be stored.
    """
    if not mapping.dated and period is None:
        raise BadInputError(
            f"{source.name}: a {mapping.name} report counts a period it does not state: give its first and "
            "last day with --from YYYY-MM-DD --to YYYY-MM-DD (the dates the report was run for)"
        )
    bounds = None
    if period is not None:
        lo, hi = (pd.Timestamp(d) for d in period)
        if hi < lo:
            raise BadInputError(f"{source.name}: the period ends ({hi:%Y-%m-%d}) before it starts ({lo:%Y-%m-%d})")
        if lo.year < 1678 or hi.year > 2261:
            raise BadInputError(f"{source.name}: the period {lo:%Y-%m-%d} to {hi:%Y-%m-%d} is out of range")
        bounds = (lo.normalize(), hi.normalize() + pd.Timedelta(days=1))
    source, layout, chunks = open_report(
        source, mapping, RECORD.what, reader=read_delimited, show_header=mapping.grid is None,
    )
    state = _State()
    notes: list[str] = []
    if mapping.dated and period is not None:
        notes.append(f"the report dates its own rows (column {layout.names[layout.index['date']]!r}): the period given was not used")
    if mapping.grid is not None:
        clinicians = _clinician_columns(mapping, layout)
        if not clinicians:
            raise BadInputError(
                f"{source.name}: not a {mapping.name} grid: the header on line {layout.header_line} has no "
                "clinician columns beside the mapped ones. Check the export, or [grid] not_clinicians in "
                f"{mapping.file_name}."
            )
        notes.append(
            "the grid is counted cell by cell (one record per day and clinician); "
            "zero and empty cells are no appointments and are not stored"
        )
    for chunk in chunks:
        if mapping.grid is not None:
            out = _convert_grid(chunk, layout, mapping, clinicians)
        else:
            out = _convert_rows(chunk, layout, mapping, bounds, source.kind == "xlsx", state)
        out.notes, notes = notes + out.notes, []
        yield out


def capacity_format(mapping: CapacityMapping) -> Format:
    """The mapping as a :class:`~telephony.formats._base.Format` for detection and listing.

    Only ``sniff`` is meant to be used from it; ``read`` yields :class:`CountChunk` objects.
    """
    return Format(
        name=mapping.name,
        title=format_title(mapping),
        example=mapping.example or f"summary report .csv/.xlsx (mapping {mapping.file_name})",
        sniff=functools.partial(sniff_counts, mapping),
        read=lambda source, ctx=None: read_counts(mapping, source),
        evidence=mapping.evidence,
        evidence_note=mapping.evidence_note,
    )


__all__ = [
    "COLUMNS",
    "KIND",
    "MEASURES",
    "MINUTES",
    "RAW_COUNT_COLUMNS",
    "RECORD",
    "CapacityMapping",
    "CountChunk",
    "Grid",
    "bundled_capacity_mappings",
    "capacity_format",
    "load_capacity_mapping",
    "raw_count_frame",
    "read_counts",
    "sniff_counts",
]
