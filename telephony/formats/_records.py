"""Helpers shared by the parsers of record-per-call exports (3CX, Teams, Twilio, Amazon Connect).

These exports differ from Asterisk's logs in three ways that every one of their parsers meets:
their times often carry a zone (``Z``, ``+0000``, RFC 2822), they come as JSON as often as CSV
(nested objects to flatten), and web portals and REST APIs list calls newest first (which
:class:`~telephony.formats._base.GroupCarry` recognises from the rows' time steps).
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import pandas as pd

from telephony.sources import Chunk, Reject, Source, read_delimited
from telephony.timeutil import parse_utc as _parse_utc
from telephony.formats._base import rename_columns, resolve_header
from telephony.errors import BadInputError
from telephony.sources import read_json_records
from telephony.timeutil import parse_durations

# ----------------------------------------------------------------------------- times

# Times that are UTC unless they say otherwise: one parser for every format (timeutil).
parse_utc = _parse_utc


def seconds(values: pd.Series) -> pd.Series:
    """Seconds from ``35``, ``35.0``, ``00:00:35``, ``35s``, ``35 sec``; NaN when blank or bad."""

    s = values.astype("string").str.strip().str.replace(r"\s*(?:s|secs?|seconds?)$", "", regex=True, case=False)
    return parse_durations(s)


# ----------------------------------------------------------------------------- JSON


def _flatten(rec: dict, prefix: str, out: dict) -> None:
    for k, v in rec.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            _flatten(v, name + ".", out)
        elif v is None:
            out[name] = ""
        elif isinstance(v, bool):
            out[name] = "true" if v else "false"
        elif isinstance(v, (list, tuple)):
            out[name] = json.dumps(v)
        else:
            out[name] = str(v)


def records_frame(records: list[dict]) -> pd.DataFrame:
    """JSON records as a frame of strings, nested objects flattened to ``Parent.Child`` columns.

    Missing keys become ``""`` like empty CSV fields, so the same code reads both.
    """
    flat = []
    for r in records:
        d: dict = {}
        _flatten(r, "", d)
        flat.append(d)
    if not flat:
        return pd.DataFrame()
    df = pd.DataFrame.from_records(flat)
    return df.fillna("").astype("string")


def looks_like_json(source: Source) -> bool:
    """Whether the file's text starts like JSON (an object or an array)."""
    return source.kind == "text" and source.head.lstrip()[:1] in ("{", "[")


# ----------------------------------------------------------------------------- CSV


def find_header(
    source: Source, variable_map: dict[str, str], required: set[str], max_lines: int = 15
) -> tuple[int, str, list[str]] | None:
    """Find the header row among the first lines (report downloads put titles above it).

    A line is the header when the canonical names its fields map onto
    (:func:`~telephony.formats._base.resolve_header`) hold every ``required`` one; several
    fields mapping onto one name never stop a line from being the header.

    Returns
    -------
    (skip_lines, delimiter, fields) or None
        Non-blank lines before the header, the delimiter, and the header's fields; ``None`` when
        no line holds every ``required`` canonical column.
    """
    for i, line in enumerate(source.head_lines(max_lines)):
        delim = max([",", ";", "\t", "|"], key=line.count)
        try:
            fields = next(csv.reader([line], delimiter=delim))
        except (csv.Error, StopIteration):
            continue
        mapping, _ = resolve_header(fields, variable_map)
        if required <= set(mapping):
            return i, delim, fields
    return None


@dataclass
class HeadTable:
    """A CSV export's header as found in the head, with the first rows below it (for sniffers).

    Attributes
    ----------
    skip : int
        Non-blank lines before the header.
    delimiter : str
    fields : list of str
        The header's fields as written.
    canon : list of str or None
        Each field's canonical name (``None`` where the variable map has none, and for a field
        not chosen where several map onto one name: see
        :func:`~telephony.formats._base.resolve_header`).
    rows : list of list of str, or None
        Up to 20 rows after the header, split like it; ``None`` when they cannot be split.
    notes : list of str
        The choices made between fields mapping onto one name.
    """

    skip: int
    delimiter: str
    fields: list[str]
    canon: list[str | None]
    rows: list[list[str]] | None
    notes: list[str] = field(default_factory=list)

    def value(self, row: list[str], name: str) -> str:
        """A row's value of canonical column ``name``, stripped; ``""`` when absent or short."""
        i = self.canon.index(name) if name in self.canon else len(row)
        return row[i].strip() if i < len(row) else ""

    def complete(self, row: list[str]) -> bool:
        """Whether the row has as many fields as the header."""
        return len(row) == len(self.fields)


def head_table(
    source: Source, variable_map: dict[str, str], required: set[str], n_rows: int = 20
) -> HeadTable | None:
    """:func:`find_header`, with each field's canonical name and the rows below it.

    Where several fields map onto one canonical name, the one chosen (from the names and the
    rows below, :func:`~telephony.formats._base.resolve_header`) is the one the reader's
    batches will use, and only it carries the name in :attr:`HeadTable.canon`.
    """
    found = find_header(source, variable_map, required)
    if found is None:
        return None
    skip, delim, fields = found
    try:
        rows: list[list[str]] | None = list(
            csv.reader(source.head_lines(skip + n_rows + 1)[skip + 1 :], delimiter=delim)
        )
    except csv.Error:
        rows = None
    mapping, notes = resolve_header(fields, variable_map, rows)
    canon: list[str | None] = [None] * len(fields)
    for name, pos in mapping.items():
        canon[pos] = name
    return HeadTable(skip, delim, fields, canon, rows, notes)


@dataclass
class Batch:
    """One chunk of records renamed to canonical columns, with its accounting.

    Attributes
    ----------
    frame : pandas.DataFrame
        String columns renamed by the parser's ``VARIABLE_MAP`` (others kept as they were).
    original : pandas.DataFrame
        The same rows with the source's own columns, for reject texts.
    lines : numpy.ndarray
        Source line of each row.
    rejects : list of Reject
        Rows the reader could not split (truncated lines, invalid JSON).
    rows_read : int
        Source rows consumed: rows of ``frame`` + rejects + blank lines.
    skipped : collections.Counter
        Blank lines.
    notes : list of str
        Choices made between columns mapping onto one canonical name (for
        :attr:`~telephony.formats._base.ParsedChunk.notes`: a parser passes them on).
    """

    frame: pd.DataFrame
    original: pd.DataFrame
    lines: np.ndarray
    rejects: list[Reject] = field(default_factory=list)
    rows_read: int = 0
    skipped: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)


def delimited_batches(
    source: Source,
    variable_map: dict[str, str],
    *,
    names: list[str] | None = None,
    header: bool = True,
    delimiter: str = ",",
    skip_lines: int = 0,
) -> Iterator[Batch]:
    """:func:`~telephony.sources.read_delimited` chunks renamed and accounted for.

    Columns are resolved once, on the first chunk (:func:`~telephony.formats._base.rename_columns`
    with a memo), so every chunk of the file reads the same columns.
    """
    memo: dict = {}
    for chunk in read_delimited(source, names, header=header, delimiter=delimiter, skip_lines=skip_lines):
        yield _batch(chunk, variable_map, memo)


def _batch(chunk: Chunk, variable_map: dict[str, str], memo: dict | None = None) -> Batch:
    skipped = chunk.skipped()
    notes: list[str] = []
    frame = rename_columns(chunk.frame, variable_map, notes, memo=memo)
    return Batch(
        frame, chunk.frame, np.asarray(chunk.lines, dtype=np.int64), list(chunk.rejects), chunk.rows_read, skipped, notes
    )


def json_batches(source: Source, variable_map: dict[str, str]) -> Iterator[Batch]:
    """JSON records (array, wrapped array, JSON lines or concatenated objects) as batches."""

    for records, lines, rejects in read_json_records(source):
        original = records_frame(records)
        frame = rename_columns(original, variable_map)
        rows = len(records) + sum(r.rows for r in rejects)
        yield Batch(frame, original, np.asarray(lines, dtype=np.int64), list(rejects), rows, Counter())


def record_batches(
    source: Source, variable_map: dict[str, str], required: set[str], not_found: str
) -> Iterator[Batch]:
    """The export's records as batches: JSON records (:func:`json_batches`), or CSV rows below
    a header holding the ``required`` canonical columns (:func:`delimited_batches`).

    Raises
    ------
    BadInputError
        A CSV without such a header: ``"<file>: " + not_found``.
    """

    if looks_like_json(source):
        return json_batches(source, variable_map)
    found = find_header(source, variable_map, required)
    if found is None:
        raise BadInputError(f"{source.name}: {not_found}")
    skip, delim, _ = found
    return delimited_batches(source, variable_map, delimiter=delim, skip_lines=skip)


def null_if_empty(s: pd.Series) -> pd.Series:
    """The values, with ``""`` (and missing) as null."""
    return s.where(s.fillna("") != "", pd.NA)


def column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A canonical column as stripped strings, ``""`` where the export lacks it."""
    if name in frame.columns:
        return frame[name].astype("string").fillna("").str.strip()
    return pd.Series("", index=frame.index, dtype="string")
