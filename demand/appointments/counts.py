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
from telephony.formats._base import Format
from telephony.sources import Chunk, Reject, Source, norm_name
from telephony.tabular_mapping import (
    FILE_KEYS,
    HeaderLayout,
    MappingBuilder,
    Reading,
    RecordChunk,
    RecordSpec,
    Rows,
    TabularMapping,
    WordTable,
    bundled_mappings_of,
    clipped,
    column_text,
    convert_chunks,
    convert_rows,
    format_fields,
    head_frame,
    load_record_mapping,
    norm_word,
    norm_words,
    open_report,
    read_datetimes,
    reason_series,
    report_zone,
    shown,
    sniff_mapping,
    typed_frame,
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
    "date": "the day a row counts (without it, the period given to the ingest)",
    "weekday": "the day's name, checked against the date",
    "clinician": "the staff member (pseudonymised on ingest)",
    "site": "the practice's site or branch",
    "slot_type": "the slot type, read through [categories]",
    **MEASURES,
    **MINUTES,
}

#: Raw counts as :func:`read_counts` yields them (before the ingest's pseudonyms and keys),
#: with their types.
RAW_COUNT_TYPES: dict[str, str] = {
    "period_start": "datetime64[ns]", "period_end": "datetime64[ns]", "clinician": "string", "site": "string",
    "slot_type": "string", "category": "string", "total": "Int64", "booked": "Int64", "unused": "Int64", "dna": "Int64",
    **{m: "float64" for m in MINUTES}, "source_line": "Int64",
}
RAW_COUNT_COLUMNS: tuple[str, ...] = tuple(RAW_COUNT_TYPES)

#: Slot types read through ``[categories]``: kept whatever the word (never a reject).
CATEGORY_TABLE = WordTable(
    "categories", "slot_type", CATEGORIES, "category",
    required=False,
    without_column='add slot_type = "<the report\'s slot type column>" under [columns], or remove the table',
    counted_as="slot type",
    fix_missing='list slot type words: "GP Same Day" = "same_day"',
)
#: Labels of total rows and columns when a mapping gives none.
DEFAULT_TOTAL_LABELS: tuple[str, ...] = ("Total", "Totals", "Grand Total", "Sum")
# Day names a weekday column may write, by ISO weekday (Monday = 0).
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEKDAYS = {
    **{d[:3].lower(): i for i, d in enumerate(_DAY_NAMES)},
    **{d.lower(): i for i, d in enumerate(_DAY_NAMES)},
    "tues": 1, "weds": 2, "thur": 3, "thurs": 3,
}
# A count as reports write it: 12, 12.0 (a workbook), 1,234.
_COUNT = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.0+)?$|^\d+(?:\.0+)?$")
RESERVED_NAMES = frozenset({"gpad", "auto"})


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
    optional : tuple of str
        Mapped columns a download may lack (read as empty when absent).
    """

    grid: Grid | None = None
    total_labels: tuple[str, ...] = DEFAULT_TOTAL_LABELS
    categories: _AbcMapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    optional: tuple[str, ...] = ()

    def optional_columns(self) -> tuple[str, ...]:
        """Mapped columns a download may lack (``optional``): read as empty when absent."""
        return self.optional

    @property
    def dated(self) -> bool:
        """Whether the report dates its rows (else the period is given with the ingest)."""
        return "date" in self.columns


#: One bounded batch of a summary report (:class:`telephony.tabular_mapping.RecordChunk`): its
#: ``records`` are raw counts, columns :data:`RAW_COUNT_COLUMNS` (periods as naive midnights,
#: ``period_end`` exclusive; ``clinician`` raw); ``rows_read`` counts records (a grid's cells,
#: else rows, blank lines included); its rejects carry no names.
CountChunk = RecordChunk
#: A raw-counts frame with :data:`RAW_COUNT_COLUMNS`, nulls where a column is not given.
raw_count_frame = functools.partial(typed_frame, RAW_COUNT_TYPES)


# ----------------------------------------------------------------------------- checking


def _check(b: MappingBuilder, columns: dict) -> dict:
    """The capacity mapping's own keys: the grid, the count columns, totals and optional columns."""
    grid = _grid(b, columns)
    counted = [c for c in (*MEASURES, *MINUTES) if c in columns]
    if "grid" not in b.data and "columns" in b.data and not any(c in columns for c in MEASURES):
        b.problem(
            "columns", "total", "no count column",
            "map at least one of total, unused, booked or dna to the report's count column, "
            "or describe a grid with a [grid] table",
        )
    if grid is not None and counted:
        b.problem(
            "grid", "", f"given, but [columns] maps counts too ({', '.join(counted)})",
            "a grid's counts are its clinician columns: remove the count columns or the [grid] table",
        )
    if "weekday" in columns and "date" not in columns:
        b.problem("columns", "weekday", "given without a date column", 'add date = "<the report\'s date column>"')
    totals = DEFAULT_TOTAL_LABELS
    if "totals" in b.data:
        totals = _labels(b, "totals", "labels", b.table("totals").get("labels", list(DEFAULT_TOTAL_LABELS)))
    optional = _labels(b, "", "optional", b.data.get("optional", []))
    for c in optional:
        if c not in columns:
            b.problem(
                "", "optional", f"{shown(c)} is not a column under [columns]",
                f"list mapped columns only ({', '.join(columns) or 'none mapped'})",
            )
        elif c == "date" or (c in MEASURES and not [m for m in MEASURES if m in columns and m not in optional]):
            b.problem("", "optional", f"{shown(c)} cannot be optional", "a report must give its dates and at least one count")
    return {"grid": grid, "total_labels": totals, "optional": tuple(c for c in optional if c in columns)}


def _grid(b: MappingBuilder, columns: dict) -> Grid | None:
    if "grid" not in b.data:
        return None
    t = b.table("grid")
    cells = t.get("cells")
    choices = ", ".join(MEASURES)
    if cells is None:
        b.problem("grid", "cells", "required key missing", f'write cells = "booked" (what a cell counts: one of {choices})')
        return None
    if not isinstance(cells, str) or cells.strip().lower() not in MEASURES:
        b.problem("grid", "cells", f"{shown(cells)} is not a count", f"use one of {choices}")
        return None
    others = _labels(b, "grid", "not_clinicians", t.get("not_clinicians", []))
    if "date" not in columns and "columns" in b.data:
        b.problem(
            "columns", "date", "required key missing (a grid has one row per day)",
            'add date = "<the grid\'s date column>"',
        )
    return Grid(cells.strip().lower(), others)


def _labels(b: MappingBuilder, section: str, key: str, value: object) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values) or len(values) > 50:
        b.problem(section, key, f"expected a list of labels in quotes, got {shown(value)}", f'write {key} = ["Total"]')
        return ()
    return tuple(values)


# ----------------------------------------------------------------------------- sniff


def _clinician_columns(mapping: CapacityMapping, layout: HeaderLayout) -> list[int]:
    """Positions of a grid's clinician columns: every named column not mapped, not a total."""
    assert mapping.grid is not None
    mapped = set(layout.index.values())
    skip = {norm_name(x) for x in (*mapping.grid.not_clinicians, *mapping.total_labels)}
    return [
        i for i, name in enumerate(layout.names)
        if i not in mapped and norm_name(name) and norm_name(name) not in skip
    ]


def _layout_fits(mapping: CapacityMapping, layout: HeaderLayout) -> bool:
    """A grid needs a clinician column beside its mapped ones; a summary two mapped columns
    (one alone, "Date", proves nothing)."""
    if mapping.grid is not None:
        return bool(_clinician_columns(mapping, layout))
    return len(layout.index) >= 2


def _values_fit(mapping: CapacityMapping, layout: HeaderLayout, rows: list[list[str]]) -> bool:
    """Whether most head rows (total rows aside) hold counts, and dates where the report has them."""
    if mapping.grid is not None:
        counts = _clinician_columns(mapping, layout)
    else:
        counts = [layout.index[c] for c in MEASURES if c in layout.index]
    frame = head_frame(layout, rows)
    label = "date" if mapping.grid is not None else "clinician"
    if label in layout.index:
        totals = {norm_word(x) for x in mapping.total_labels}
        frame = frame[~norm_words(column_text(frame, layout.index, label)).isin(totals)]
    if frame.empty:
        return True
    fits = pd.Series(True, index=frame.index)
    for pos in counts:
        s = frame.iloc[:, pos].fillna("").str.strip()
        fits &= s.str.match(_COUNT) | (s == "")
    if "date" in layout.index:
        fits &= read_datetimes(column_text(frame, layout.index, "date"), mapping.datetime_format, mapping.dayfirst)[0].notna()
    return bool(fits.mean() >= 0.5)


# ----------------------------------------------------------------------------- read


def _counts(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Whole counts (``Int64``; empty → NA) and which non-empty values are not counts."""
    s = text.fillna("").str.strip()
    ok = s.str.match(_COUNT).to_numpy(dtype=bool)
    values = pd.to_numeric(s.str.replace(",", "", regex=False).where(ok), errors="coerce")
    bad = ~ok & (s != "").to_numpy(dtype=bool)
    return values.round().astype("Int64"), bad


def _days(rows: Rows) -> pd.Series:
    """The days of the date column, checked against the weekday column where there is one (a
    date read the wrong way round names another day)."""
    days = rows.dates()
    if not rows.has("weekday"):
        return days
    text = rows.col("weekday")
    said = text.str.lower().str.rstrip(".").map(_WEEKDAYS)
    where = rows.label("weekday")
    rows.flag(((text != "") & said.isna()).to_numpy(), "unreadable day name '" + clipped(text) + f"' in column {where!r}")
    wrong = (said.notna() & days.notna() & (said != days.dt.day_of_week)).to_numpy(dtype=bool)
    if wrong.any():
        actual = days.dt.day_of_week.map(lambda d: _DAY_NAMES[int(d)] if pd.notna(d) else "")
        rows.flag(
            wrong,
            "the date is a " + actual + f" but column {where!r} says '" + clipped(text)
            + "' (check [datetime] format and dayfirst)",
        )
    return days


def _category_note(mapping: CapacityMapping) -> str:
    """How to give the listed slot types a category (said once per file)."""
    default = mapping.categories.get("*")
    kept = f"read as {default}" if default else "kept with no category"
    return (
        f"slot types not under [categories] are {kept} and listed among the unknown words: add each "
        f'as "<slot type>" = "<{"|".join(CATEGORIES)}>" {mapping.edit_hint("categories")} and ingest again'
    )


def _summary_counts(rows: Rows) -> tuple[dict, np.ndarray]:
    """How a summary's rows (clinician × slot type, per period or per day) become raw counts;
    total rows are skipped."""
    mapping: CapacityMapping = rows.mapping
    index = rows.frame.index
    n = len(index)
    totals = {norm_word(x) for x in mapping.total_labels}
    clinician = rows.optional("clinician")
    total_row = norm_words(clinician).isin(totals).to_numpy(dtype=bool) if rows.has("clinician") else np.zeros(n, bool)

    if mapping.dated:
        start = _days(rows)
        end = start + pd.Timedelta(days=1)
    else:
        lo, hi = rows.reading.options["period"]
        start = pd.Series(lo, index=index, dtype="datetime64[ns]")
        end = pd.Series(hi, index=index, dtype="datetime64[ns]")

    values: dict[str, pd.Series] = {}
    for m in MEASURES:
        if rows.has(m):
            v, bad = _counts(rows.col(m))
            rows.flag(bad, "unreadable count '" + clipped(rows.col(m)) + f"' in column {rows.label(m)!r}")
            values[m] = v
        else:
            values[m] = pd.Series(pd.NA, index=index, dtype="Int64")
    given = [m for m in MEASURES if rows.has(m)]
    none = np.ones(n, dtype=bool)
    for m in given:
        none &= values[m].isna().to_numpy(dtype=bool)
    rows.flag(none & ~total_row, "no count: " + " and ".join(repr(rows.label(m)) for m in given) + " empty")
    if not rows.has("booked") and rows.has("total") and rows.has("unused"):
        values["booked"] = (values["total"] - values["unused"]).astype("Int64")
    for m in ("unused", "booked"):
        above = (values[m] > values["total"]).fillna(False).to_numpy(dtype=bool)
        if rows.has(m) and rows.has("total"):
            rows.flag(above, f"{rows.label(m)!r} is more than {rows.label('total')!r}")
    minutes = {
        m: rows.duration(m, "minutes", bare_unit_s=60.0, show_format=False) / 60.0 for m in MINUTES if rows.has(m)
    }
    # Runs of spaces collapsed ("Minor  Surgery"): one slot type however the report spaces it.
    slot_type = rows.optional("slot_type").str.replace(r"\s+", " ", regex=True)
    category = rows.words(CATEGORY_TABLE, slot_type, reject=False)
    state = rows.reading.state
    if rows.unknown and not state.get("noted categories"):
        state["noted categories"] = True
        rows.notes.append(_category_note(mapping))
    if total_row.any():
        rows.skipped["total row"] += int(total_row.sum())
    return {
        "period_start": start,
        "period_end": end,
        "clinician": clinician,
        "site": rows.optional("site"),
        "slot_type": slot_type,
        "category": category,
        **values,
        **minutes,
    }, total_row


def _grid_counts(chunk: Chunk, reading: Reading) -> CountChunk:
    """One chunk of a grid: each day × clinician cell a record (see the module Notes)."""
    mapping: CapacityMapping = reading.mapping
    clinicians: list[int] = reading.options["clinicians"]
    f = chunk.frame.reset_index(drop=True)
    n, k = len(f), len(clinicians)
    rows = Rows(f, reading, chunk.skipped())
    # A line that could not be split: which field is which cannot be told, so no text.
    structural = [Reject(r.line, r.reason, "", r.rows) for r in chunk.rejects]
    # A record is a cell; a line that could not be split, or a blank one, is one record.
    rows_read = n * k + sum(r.rows for r in chunk.rejects) + chunk.blank
    if n == 0:
        return CountChunk(raw_count_frame(0), structural, rows_read, rows.skipped)
    days = _days(rows)
    label = rows.col("date")
    total_row = norm_words(label).isin({norm_word(x) for x in mapping.total_labels}).to_numpy(dtype=bool)
    reasons = reason_series(rows.problems, f.index)
    row_bad = (reasons.notna().to_numpy() if len(reasons) else np.zeros(n, dtype=bool)) & ~total_row
    if total_row.any():
        rows.skipped["total row cell"] += int(total_row.sum()) * k

    # Cells, clinician by clinician (column-major): counts, and which cannot be read.
    cells = pd.concat([f.iloc[:, p].fillna("").str.strip() for p in clinicians], ignore_index=True) if k else pd.Series([], dtype="string")
    values, unreadable = _counts(cells)
    row_of = np.tile(np.arange(n), k)
    col_of = np.repeat(np.array(clinicians, dtype=np.int64), n)
    live = ~total_row[row_of]
    nothing = (values.fillna(0) == 0).to_numpy(dtype=bool) & ~unreadable
    skip = live & nothing & ~row_bad[row_of]
    if skip.any():
        rows.skipped["zero or empty cell"] += int(skip.sum())
    bad_cell = live & ~nothing & (row_bad[row_of] | unreadable)
    keep = live & ~nothing & ~bad_cell

    rejects = list(structural)
    if bad_cell.any():
        texts = f.astype(str).agg(reading.layout.delimiter.join, axis=1)
        for i in np.flatnonzero(bad_cell):
            r, p = int(row_of[i]), int(col_of[i])
            why = []
            if row_bad[r]:
                why.append(str(reasons.iloc[r]))
            if unreadable[i]:
                why.append(f"unreadable count '{clipped(cells.iloc[i:i + 1]).iloc[0]}'")
            rejects.append(Reject(int(chunk.lines[r]), f"grid column {p + 1}: " + "; ".join(why), texts.iloc[r]))
    names = pd.Series([reading.layout.names[p] for p in col_of[keep]], dtype="string")
    start = days.to_numpy()[row_of[keep]]
    counts = raw_count_frame(
        int(keep.sum()),
        period_start=pd.Series(start),
        period_end=pd.Series(start) + pd.Timedelta(days=1),
        clinician=names,
        **{mapping.grid.cells: values[keep].reset_index(drop=True)},
        source_line=pd.Series(np.asarray(chunk.lines)[row_of[keep]]),
    )
    rejects.sort(key=lambda r: r.line or 0)
    return CountChunk(counts, rejects, rows_read, rows.skipped, Counter())


#: The record these mappings describe (see :class:`telephony.tabular_mapping.RecordSpec`).
RECORD = RecordSpec(
    KIND,
    "summary count report",
    COLUMNS,
    when="date",
    mapping_type=CapacityMapping,
    tables=("optional", "file", "columns", "grid", "totals", "datetime", "categories"),
    table_keys={
        "file": FILE_KEYS,
        "datetime": ("format", "dayfirst"),
        "grid": ("cells", "not_clinicians"),
        "totals": ("labels",),
    },
    kind_required=True,
    word_tables=(CATEGORY_TABLE,),
    check=_check,
    syntax_example='"GP Same Day" = "same_day"',
    title_fix='add title = "<system> summary report (CSV/XLSX)" (shown by frontdoor formats)',
    title_text_fix='write title = "<system> summary report"',
    name_example="my_counts",
    taken_names=lambda: RESERVED_NAMES,
    reserved_names=RESERVED_NAMES,
    folder=Path(__file__).resolve().parent / "mappings",
    listed_as="summary report",
    record_frame=raw_count_frame,
    chunk_type=CountChunk,
    records=_summary_counts,
    withheld=("clinician",),
    values_fit=_values_fit,
    layout_fits=_layout_fits,
    sniff_partial=False,
)


# ----------------------------------------------------------------------------- the public face


def load_capacity_mapping(path_or_text: str | Path | bytes) -> CapacityMapping:
    """Read and check a capacity count mapping file
    (:func:`telephony.tabular_mapping.load_record_mapping` with :data:`RECORD`): a path to a
    ``.toml`` file, or the TOML text itself.

    Raises :class:`~telephony.errors.MappingError` listing every problem found.

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
    return load_record_mapping(RECORD, path_or_text)


def bundled_capacity_mappings() -> dict[str, CapacityMapping]:
    """Every capacity count mapping shipped in ``demand/appointments/mappings/``, by name."""
    return bundled_mappings_of(RECORD)


def sniff_counts(mapping: CapacityMapping, source: Source) -> float:
    """How sure it is that ``source`` is the summary report ``mapping`` describes (0–1).

    1.0 when the header holds every mapped column (a grid: its date column and at least one
    clinician column) and most of the first rows' counts (and dates) read; 0.6 when the
    columns are there but the values do not fit; else 0.
    """
    return sniff_mapping(mapping, source)


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
            "last day as `period` (the dates the report was run for)"
        )
    options: dict = {}
    if period is not None:
        lo, hi = (pd.Timestamp(d) for d in period)
        if hi < lo:
            raise BadInputError(f"{source.name}: the period ends ({hi:%Y-%m-%d}) before it starts ({lo:%Y-%m-%d})")
        if lo.year < 1678 or hi.year > 2261:
            raise BadInputError(f"{source.name}: the period {lo:%Y-%m-%d} to {hi:%Y-%m-%d} is out of range")
        options["period"] = (lo.normalize(), hi.normalize() + pd.Timedelta(days=1))
    source, layout, chunks = open_report(source, mapping, RECORD.what, show_header=mapping.grid is None)
    notes: list[str] = []
    if mapping.dated and period is not None:
        notes.append(f"the report dates its own rows (column {layout.names[layout.index['date']]!r}): the period given was not used")
    convert = convert_rows
    if mapping.grid is not None:
        options["clinicians"] = _clinician_columns(mapping, layout)
        if not options["clinicians"]:
            raise BadInputError(
                f"{source.name}: not a {mapping.name} grid: the header on line {layout.header_line} has no "
                "clinician columns beside the mapped ones. Check the export, or [grid] not_clinicians in "
                f"{mapping.file_name}."
            )
        notes.append(
            "the grid is counted cell by cell (one record per day and clinician); "
            "zero and empty cells are no appointments and are not stored"
        )
        convert = _grid_counts
    reading = Reading(mapping, layout, report_zone(mapping, None), source.kind == "xlsx", options)
    yield from convert_chunks(chunks, reading, notes, convert)


def capacity_format(mapping: CapacityMapping) -> Format:
    """The mapping as a :class:`~telephony.formats._base.Format` for detection and listing.

    Only ``sniff`` is meant to be used from it; ``read`` yields :class:`CountChunk` objects.
    """
    return Format(
        **format_fields(mapping),
        sniff=functools.partial(sniff_mapping, mapping),
        read=lambda source, ctx=None: read_counts(mapping, source),
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
