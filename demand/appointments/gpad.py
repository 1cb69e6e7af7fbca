"""NHS Digital "Appointments in General Practice" (GPAD) practice-level monthly CSV.

One row per practice, month and combination of dimensions, with a count of appointments:

=================================== ============================ ===========================
GPAD column                         canonical (:data:`GPAD_SCHEMA`) notes
=================================== ============================ ===========================
APPOINTMENT_MONTH_START_DATE        month_start                  ``01OCT2025``: UTC midnight
                                                                 of the month's first day
GP_CODE                             practice_id                  ODS code, upper case
PCN_CODE, SUPPLIER                  pcn_code, supplier           kept as given
HCP_TYPE                            hcp_type                     see :data:`HCP_TYPES`
APPT_MODE                           appt_mode                    see :data:`APPT_MODES`
APPT_STATUS                         appt_status                  see :data:`APPT_STATUSES`
TIME_BETWEEN_BOOK_AND_APPT          time_between_book_and_appt   see :data:`TIME_BETWEEN`
NATIONAL_CATEGORY                   national_category            any text (the list grows)
COUNT_OF_APPOINTMENTS               count                        whole number, 0 or more
=================================== ============================ ===========================

GP_NAME, PCN_NAME, SUB_ICB_LOCATION_CODE and _NAME (and any other column) are not kept: the
practice registry holds names, and the sub-ICB follows from the practice.

Notes
-----
- Known values are stored in NHS Digital's own spelling, matched case-insensitively with runs
  of spaces ignored. Three lead-time bins are published with a double space (``8  to 14 Days``,
  ``15  to 21 Days``, ``22  to 28 Days``): they are stored so, and a single-spaced (re-typed or
  spreadsheet-trimmed) file is read as the same bins. A value not in the lists is kept as
  given (stripped) and counted as an unknown word, not rejected: the publication's vocabulary
  changes over time ("Unknown / Data Quality" is not in the documented list but appears).
- ``row_key`` is a hash of the practice, month and the five dimensions (normalised), so that
  re-ingesting a file, or an overlapping one, adds nothing twice; the first ingested count of a
  row is kept (a republished month with revised counts does not replace it).
- A row is rejected, with its line and every reason, for an unreadable month (or one that is
  not a month's first day), a GP_CODE that is not an ODS code, an empty dimension, or a count
  that is not a whole number 0 or more.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from types import MappingProxyType
from typing import Iterable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa

from telephony.formats._base import Format, rejects_from
from telephony.ingest import CanonicalBatch
from telephony.sources import Chunk, Source, open_source
from telephony.store import validate_practice_id
from telephony.tabular_mapping import (
    HeaderLayout,
    TabularMapping,
    column_readers,
    column_text,
    flag,
    head_frame,
    norm_word,
    open_report,
    reason_series,
    sniff_score,
)
from telephony.timeutil import parse_datetimes

from demand.appointments.schema import GPAD_SCHEMA

HCP_TYPES: tuple[str, ...] = ("GP", "Other Practice staff", "Unknown")
APPT_MODES: tuple[str, ...] = ("Face-to-Face", "Telephone", "Home Visit", "Video Conference/Online", "Unknown")
APPT_STATUSES: tuple[str, ...] = ("Attended", "DNA", "Unknown")
#: Lead-time bins in NHS Digital's spelling (three with a double space), then the unknown bin.
TIME_BETWEEN: tuple[str, ...] = (
    "Same Day",
    "1 Day",
    "2 to 7 Days",
    "8  to 14 Days",
    "15  to 21 Days",
    "22  to 28 Days",
    "More than 28 Days",
    "Unknown / Data Quality",
)

#: Canonical name → GPAD header (all required).
GPAD_COLUMNS: dict[str, str] = {
    "month_start": "APPOINTMENT_MONTH_START_DATE",
    "practice_id": "GP_CODE",
    "supplier": "SUPPLIER",
    "pcn_code": "PCN_CODE",
    "hcp_type": "HCP_TYPE",
    "appt_mode": "APPT_MODE",
    "national_category": "NATIONAL_CATEGORY",
    "time_between_book_and_appt": "TIME_BETWEEN_BOOK_AND_APPT",
    "count": "COUNT_OF_APPOINTMENTS",
    "appt_status": "APPT_STATUS",
}
# The dimensions a row is one of: what row_key hashes, with the practice and the month.
DIMENSIONS: tuple[str, ...] = ("hcp_type", "appt_mode", "appt_status", "time_between_book_and_appt", "national_category")
_KNOWN: dict[str, tuple[str, ...]] = {
    "hcp_type": HCP_TYPES,
    "appt_mode": APPT_MODES,
    "appt_status": APPT_STATUSES,
    "time_between_book_and_appt": TIME_BETWEEN,
}
MONTH_FORMAT = "%d%b%Y"

#: The layout as a mapping, so the header is found (below any preamble, in any column order,
#: in any encoding) by the same code as a mapped report's.
GPAD_LAYOUT = TabularMapping(
    name="gpad",
    title="NHS Digital GPAD practice-level monthly CSV",
    example="Practice_Level_Crosstab_Oct_25.csv",
    source="<built-in gpad layout>",
    columns=MappingProxyType({k: (v,) for k, v in GPAD_COLUMNS.items()}),
    datetime_format=MONTH_FORMAT,
)
_FIX = "Use the practice-level CSV of NHS Digital's Appointments in General Practice publication."


def _values_fit(layout: HeaderLayout, rows: list[list[str]]) -> bool:
    months = column_text(head_frame(layout, rows), layout.index, "month_start")
    return bool(pd.to_datetime(months, format=MONTH_FORMAT, errors="coerce").notna().sum() >= 0.5 * len(rows))


def sniff_gpad(source: Source) -> float:
    """How sure it is that ``source`` is a GPAD practice-level CSV (0–1)."""
    return sniff_score(GPAD_LAYOUT, source, _values_fit)


# Date spellings of a month's first day tried after GPAD's own, before the general parser
# (whose day-first guessing would read an ISO 2025-10-01 as 10 January).
_DATE_FORMATS = (MONTH_FORMAT, "%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M")


def _months(text: pd.Series) -> pd.Series:
    """``01OCT2025`` (or another date spelling of a first of the month) → UTC midnight."""
    m = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    todo = (text != "").to_numpy()
    for fmt in _DATE_FORMATS:
        if not todo.any():
            break
        got = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        ok = got.notna().to_numpy()
        m.iloc[np.flatnonzero(todo)[ok]] = got[ok].to_numpy(dtype="datetime64[ns]")
        todo[np.flatnonzero(todo)[ok]] = False
    if todo.any():
        m.iloc[np.flatnonzero(todo)] = parse_datetimes(text[todo], None, dayfirst=True).to_numpy(dtype="datetime64[ns]")
    return m.dt.tz_localize("UTC")


def _norm(values: pd.Series) -> pd.Series:
    """:func:`~telephony.tabular_mapping.norm_word` of each value (once per distinct value:
    a dimension has a handful)."""
    values = values.astype("string")
    table = {u: norm_word(u) for u in pd.unique(values.dropna())}
    return values.map(table).astype("string")


def _row_keys(df: pd.DataFrame) -> pd.Series:
    """Hash of practice, month and the dimensions (normalised): stable across re-ingests."""
    basis = df["practice_id"] + "|" + df["month_start"].dt.strftime("%Y-%m")
    for c in DIMENSIONS:
        basis = basis + "|" + _norm(df[c])
    return basis.map(lambda s: "g:" + hashlib.sha1(s.encode()).hexdigest()[:24]).astype("string")


def _convert(chunk: Chunk, layout: HeaderLayout, practices: frozenset[str] | None) -> CanonicalBatch:
    f = chunk.frame.reset_index(drop=True)
    n = len(f)
    skipped, rows_read = chunk.skipped(), chunk.rows_read
    if n == 0:
        return CanonicalBatch(GPAD_SCHEMA.empty_table(), list(chunk.rejects), rows_read, 0, skipped, Counter())
    col, label, _optional = column_readers(f, layout)
    problems: list[pd.Series] = []
    unknown: Counter = Counter()

    pid = col("practice_id").str.upper()
    keep = np.ones(n, dtype=bool)
    if practices is not None:
        other = ~pid.isin(practices).to_numpy()
        if other.any():
            skipped["other practice"] += int(other.sum())
            keep = ~other
    ods = pid.str.fullmatch(r"[A-Z0-9]{3,10}").fillna(False).to_numpy(dtype=bool)
    flag(problems, keep & (pid == "").to_numpy(), f"practice missing: column {label('practice_id')!r} is empty")
    flag(problems, keep & ~ods & (pid != "").to_numpy(), "'" + pid + f"' in column {label('practice_id')!r} is not an ODS code")

    mtext = col("month_start")
    month = _months(mtext)
    flag(problems, keep & (mtext == "").to_numpy(), f"month missing: column {label('month_start')!r} is empty")
    flag(
        problems,
        keep & (month.isna() & (mtext != "")).to_numpy(),
        "unreadable month '" + mtext + f"' in column {label('month_start')!r} (expected like 01OCT2025)",
    )
    not_first = (month.notna() & (month.dt.day != 1) | month.notna() & (month.dt.normalize() != month)).to_numpy()
    flag(problems, keep & not_first, "'" + mtext + f"' in column {label('month_start')!r} is not the first day of a month")

    values: dict[str, pd.Series] = {}
    for c in DIMENSIONS:
        v = col(c)
        empty = (v == "").to_numpy()
        flag(problems, keep & empty, f"{label(c)} is empty")
        if c in _KNOWN:
            official = {norm_word(w): w for w in _KNOWN[c]}
            mapped = _norm(v).map(official).astype("string")
            unk = (mapped.isna().to_numpy() & ~empty) & keep
            for word, cnt in v[unk].value_counts().items():
                unknown[f"{label(c)} {word}"] += int(cnt)
            v = mapped.fillna(v).astype("string")
        values[c] = v

    ctext = col("count")
    count = pd.to_numeric(ctext.where(ctext != ""), errors="coerce")
    whole = (count.notna() & (count >= 0) & (count == np.floor(count))).to_numpy()
    flag(problems, keep & (ctext == "").to_numpy(), f"count missing: column {label('count')!r} is empty")
    flag(
        problems,
        keep & ~whole & (ctext != "").to_numpy(),
        "'" + ctext + f"' in column {label('count')!r} is not a whole number of appointments",
    )

    reasons = reason_series(problems, f.index)
    bad = reasons.notna().to_numpy() if len(reasons) else np.zeros(n, dtype=bool)
    rejects = list(chunk.rejects)
    if bad.any():
        rejects += rejects_from(f, chunk.lines, bad, reasons.fillna(""), sep=layout.delimiter)
    ok = keep & ~bad
    df = pd.DataFrame(
        {
            "practice_id": pid[ok].astype("string"),
            "month_start": month[ok],
            **{c: values[c][ok] for c in DIMENSIONS},
            "count": count[ok].astype("int64"),
            "pcn_code": col("pcn_code")[ok].replace("", pd.NA).astype("string"),
            "supplier": col("supplier")[ok].replace("", pd.NA).astype("string"),
        }
    ).reset_index(drop=True)
    df["row_key"] = _row_keys(df) if len(df) else pd.Series([], dtype="string")
    df["ingest_id"] = pd.Series(pd.NA, index=df.index, dtype="string")  # the commit names the ingest
    table = pa.Table.from_pandas(df[GPAD_SCHEMA.names], schema=GPAD_SCHEMA, preserve_index=False)
    return CanonicalBatch(table, rejects, rows_read, 0, skipped, unknown)


def read_gpad(source: str | Path | Source, practices: Iterable[str] | None = None) -> Iterator[CanonicalBatch]:
    """Stream a GPAD practice-level CSV as canonical rows, in bounded batches.

    Parameters
    ----------
    source : str, Path or telephony.sources.Source
        The CSV (any encoding, gzipped or not; a workbook's first sheet also reads).
    practices : iterable of str, optional
        ODS codes to keep; rows of other practices are skipped (counted as
        ``"other practice"``). Every practice in the file when omitted.

    Yields
    ------
    telephony.ingest.CanonicalBatch
        ``table`` holds rows of :data:`demand.appointments.schema.GPAD_SCHEMA`; ``rejects``,
        ``skipped`` and ``unknown`` account for every other source row, so that
        ``rows_read = rows + rejected + skipped`` over the file.

    Raises
    ------
    BadInputError
        The file cannot be opened or lacks a GPAD column.
    InvalidPracticeError
        A practice in ``practices`` is not an ODS code.
    """
    wanted = None if practices is None else frozenset(validate_practice_id(p) for p in practices)
    if not isinstance(source, Source):
        source = open_source(source)
    _src, layout, chunks = open_report(source, GPAD_LAYOUT, "file", fix=_FIX)
    for chunk in chunks:
        yield _convert(chunk, layout, wanted)


#: GPAD as a format, for detection among the appointment formats (its ``read`` streams batches).
GPAD_FORMAT = Format(
    name="gpad",
    title=GPAD_LAYOUT.title,
    example=GPAD_LAYOUT.example,
    sniff=sniff_gpad,
    read=lambda source, ctx=None: read_gpad(source),
)

__all__ = [
    "APPT_MODES",
    "APPT_STATUSES",
    "GPAD_COLUMNS",
    "GPAD_FORMAT",
    "HCP_TYPES",
    "TIME_BETWEEN",
    "read_gpad",
    "sniff_gpad",
]
