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

import datetime as _dt
import os
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from telephony.errors import FrontdoorError
from telephony.practices import RegistryUpdate, read_registry, update_registry
from telephony.store import Store
from telephony.tabular_mapping import shown_cell

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
        raise NationalDataError(f"CBT row {i + 1}: month {shown_cell(frame['month'].iloc[i])} is not the first day of a month")
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
            raise NationalDataError(f"CBT row {i + 1}: {c} {shown_cell(frame[c].iloc[i])} is not a count (a whole number, 0 or more)")
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


# ----------------------------------------------------------------------------- the workbook
# Key columns of the per-practice tables, by their header once footnote markers, punctuation and
# spacing are gone (``GP Practice (ODS_CODE)`` → ``gp practice ods code``); first match wins.
KEY_HEADERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("month", ("month",)),
    ("practice_id", ("gp practice ods code", "gp practice code", "practice code", "ods code", "gp practice", "gp code")),
    ("practice_name", ("gp name", "practice name", "gp practice name")),
    ("pcn_code", ("pcn code",)),
    ("pcn_name", ("pcn name",)),
    ("sub_icb_code", ("sub icb code", "sub icb location code")),
    ("sub_icb_name", ("sub icb name", "sub icb location name")),
    ("icb_code", ("icb code",)),
    ("icb_name", ("icb name",)),
    ("region_code", ("region code", "commissioning region code")),
    ("region_name", ("region name", "commissioning region name")),
)
# Outcome counts by words in their header (checked in this order: "call back requested" before
# "answered", "missed" last so that a band of missed calls is never the missed total).
OUTCOME_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("inbound_calls", ("inbound",)),
    ("ended_ivr", ("ivr",)),
    ("callback_requested", ("call back requested", "callback requested", "call backs requested")),
    ("callback_made", ("call back made", "callback made", "call backs made")),
    ("answered", ("answered",)),
    ("missed", ("missed",)),
)
BAND_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("lt_1m", ("less than 1 minute", "under 1 minute", "1 minute or less", "within 1 minute", "0 1 minute")),
    ("1_2m", ("1 2 minutes", "1 to 2 minutes")),
    ("2_5m", ("2 5 minutes", "2 to 5 minutes")),
    ("gt_5m", ("longer than 5 minutes", "over 5 minutes", "more than 5 minutes", "5 minutes or more")),
)
# What a band counts, by words in its group label or else the sheet's title; "missed" first
# ("missed calls by time waited" has "wait" in it too).
BAND_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("missed", ("missed",)),
    ("length", ("length", "duration")),
    ("answer", ("time to answer", "answer", "wait")),
)
SUB_LABELS = {"count", "total", "%", "percent", "percentage", "number"}
# Cells the publication leaves without a count (suppressed, not applicable, not available).
NO_COUNT = {"", "-", "*", "x", "z", "c", "[c]", "[x]", "[z]", "..", ":", "n/a", "na"}
_MARKERS = re.compile(r"\[[^\]]*\]")
_ODS = re.compile(r"^[A-Z0-9]{3,10}$")
_MONTH_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%b-%y", "%b-%Y", "%B %Y", "%b %Y", "%Y-%m", "%d/%m/%Y", "%m/%Y", "%B-%y")
_MONTH_NAMES = re.compile(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\s+(\d{4})\b", re.IGNORECASE)


def _words(text: object) -> str:
    """A header as plain words: footnote markers, punctuation and extra spaces gone, lower case."""
    t = _MARKERS.sub(" ", str(text or "")).replace("%", " % ")
    t = re.sub(r"[^0-9a-z%]+", " ", t.lower())
    return " ".join(t.split())


def _find(words: str, table: tuple[tuple[str, tuple[str, ...]], ...], exact: bool = False) -> str | None:
    """The first name of ``table`` one of whose phrases is ``words`` (or is in it, as whole words)."""
    for name, phrases in table:
        if any(p == words or (not exact and f" {p} " in f" {words} ") for p in phrases):
            return name
    return None


def _month_of(value) -> pd.Timestamp | None:
    """The first of the month a cell names (a date, ``Jan-26``, ``January 2026``...), or None."""
    if isinstance(value, (_dt.datetime, _dt.date)):
        return pd.Timestamp(value.year, value.month, 1)
    text = str(value or "").strip()
    text = _MARKERS.sub("", text).strip()
    for fmt in _MONTH_FORMATS:
        try:
            ts = _dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return pd.Timestamp(ts.year, ts.month, 1)
    return None


def _title_month(title: str) -> pd.Timestamp | None:
    m = _MONTH_NAMES.search(title)
    return None if m is None else _month_of(f"{m.group(1)[:3].title()} {m.group(2)}")


@dataclass
class _Column:
    index: int
    field: str  # a CBT column, or "" to leave out
    label: str  # the header as written, for messages


def _header(rows: list[list], key_row: int) -> tuple[list[int], int]:
    """The header rows around the row naming the practice code, and the first data row.

    Above it: rows whose first cell is empty (group labels over merged cells; a title is in the
    first column). Below it: rows of sub-labels (``Total``, ``Count``, ``%``) or band names.
    """
    top = key_row
    while top - 1 >= 0 and rows[top - 1] and not _cell(rows[top - 1], 0) and any(_cell(rows[top - 1], j) for j in range(len(rows[top - 1]))):
        top -= 1
    bottom = key_row
    while bottom + 1 < len(rows):
        nxt = [_words(v) for v in rows[bottom + 1]]
        labels = [w for w in nxt if w]
        if labels and all(w in SUB_LABELS or _find(w, BAND_WORDS) for w in labels):
            bottom += 1
        else:
            break
    return list(range(top, bottom + 1)), bottom + 1


def _cell(row: list, j: int) -> str:
    return "" if j >= len(row) or row[j] is None else str(row[j]).strip()


def _columns(rows: list[list], header_rows: list[int], title: str) -> list[_Column]:
    width = max(len(rows[i]) for i in header_rows)
    grid = [[_cell(rows[i], j) for j in range(width)] for i in header_rows]
    # a merged group label holds its text in its first cell only: carry it right, into columns
    # that have a label lower down (a sub-label of the group), never into a plain key column
    for r in range(len(grid)):
        carry = ""
        for j in range(width):
            below = any(grid[k][j] for k in range(r + 1, len(grid)))
            if grid[r][j]:
                carry = grid[r][j]
            elif carry and below:
                grid[r][j] = carry
            else:
                carry = ""
    cols = []
    title_kind = _find(_words(title), BAND_KINDS)
    for j in range(width):
        path = [grid[r][j] for r in range(len(grid)) if grid[r][j]]
        if not path:
            continue
        words = [_words(p) for p in path]
        label = " / ".join(path)
        if words[-1] in {"%", "percent", "percentage"} or words[-1].startswith("%"):
            cols.append(_Column(j, "", label))
            continue
        named = [w for w in words if w not in SUB_LABELS]
        field = ""
        key = _find(named[-1], KEY_HEADERS, exact=True) if named else None
        band = next((b for b in (_find(w, BAND_WORDS) for w in named) if b), None)
        if key and len(named) == 1:
            field = key
        elif band:
            context = " ".join(w for w in named if not _find(w, BAND_WORDS))
            kind = _find(context, BAND_KINDS) or title_kind
            field = f"{kind}_{band}" if kind else "?"  # a band of what: refused by the caller
        elif named:
            field = _find(" ".join(named), OUTCOME_WORDS) or ""
        cols.append(_Column(j, field, label))
    return cols


def _count(value, where: str) -> float:
    if value is None:
        return np.nan
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        v = float(value)
    else:
        text = str(value).strip().replace(",", "")
        if text.lower() in NO_COUNT:
            return np.nan
        try:
            v = float(text)
        except ValueError:
            raise NationalDataError(f"{where}: {shown_cell(str(value), 40)} is not a count") from None
    if v < 0 or v != round(v):
        raise NationalDataError(f"{where}: {shown_cell(value)} is not a count (a whole number, 0 or more)")
    return v


def _read_sheet(name: str, rows: list[list], file_name: str) -> pd.DataFrame | None:
    """One per-practice table as CBT columns (those it has), or None if the sheet has none."""
    key_row = None
    for i, row in enumerate(rows[:60]):
        if any(_find(_words(v), KEY_HEADERS[1:2], exact=True) == "practice_id" for v in row if v is not None):
            key_row = i
            break
    if key_row is None:
        return None
    header_rows, first = _header(rows, key_row)
    title = " ".join(_cell(r, 0) for r in rows[: header_rows[0]])
    cols = _columns(rows, header_rows, title)
    unclear = [c.label for c in cols if c.field == "?"]
    if unclear:
        raise NationalDataError(
            f"{file_name}, sheet {name!r}: column {unclear[0]!r} is a band of neither time to answer, call length "
            "nor missed calls (its group label and the sheet's title say none of them)"
        )
    used: dict[str, _Column] = {}
    for c in cols:
        if c.field and c.field not in used:  # a repeated total (answered calls again in Table 4) is the same figure
            used[c.field] = c
    if "practice_id" not in used:
        raise NationalDataError(f"{file_name}, sheet {name!r}: no practice code column in the header")
    counts = [f for f in used if f in COUNT_COLUMNS]
    if not counts:
        return None
    month_from_title = _title_month(title)
    pid_col = used["practice_id"].index
    out = []
    started = False
    for i in range(first, len(rows)):
        row = rows[i]
        where = f"{file_name}, sheet {name!r}, row {i + 1}"
        cells = [_cell(row, j) for j in range(len(row))]
        if not any(cells):
            if started:
                break  # the notes and the copyright line follow a blank row
            continue
        pid = cells[pid_col] if pid_col < len(cells) else ""
        keys = {f: (cells[c.index] if c.index < len(cells) else "") for f, c in used.items() if f not in COUNT_COLUMNS}
        lowered = {v.lower() for v in keys.values()}
        if lowered & {"total", "england", "national", "national total"}:
            started = True
            continue  # the national total: the table's own sum, not a practice
        if not pid:
            if started:
                break  # a note under the table ("Source: ...", "Copyright ...")
            continue
        unassigned = pid.strip().lower() in {"unassigned", "unmapped"}
        if not unassigned and not _ODS.match(pid.strip().upper()):
            if started and not any(cells[c.index] for c in used.values() if c.field in COUNT_COLUMNS and c.index < len(cells)):
                break  # a note that happens to sit in the code's column
            raise NationalDataError(
                f"{where}: {shown_cell(pid, 30)} in column {used['practice_id'].label!r} is not a practice ODS code "
                "(nor Total or Unassigned)"
            )
        started = True
        rec = {f: (" ".join(v.split()) or None) for f, v in keys.items()}  # "Invented  Surgery" as one name
        rec["practice_id"] = UNASSIGNED if unassigned else pid.strip().upper()
        rec["unassigned"] = unassigned
        if "month" in used:
            m = _month_of(row[used["month"].index] if used["month"].index < len(row) else None)
            if m is None:
                raise NationalDataError(f"{where}: {shown_cell(keys['month'])} in column {used['month'].label!r} is not a month")
            rec["month"] = m
        elif month_from_title is not None:
            rec["month"] = month_from_title
        else:
            raise NationalDataError(f"{file_name}, sheet {name!r}: no Month column and no month in the sheet's title")
        for f in counts:
            c = used[f]
            rec[f] = _count(row[c.index] if c.index < len(row) else None, f"{where}, column {c.label!r}")
        out.append(rec)
    if not out:
        raise NationalDataError(f"{file_name}, sheet {name!r}: the per-practice table has no practice rows")
    return pd.DataFrame(out)


def read_cbt_workbook(path, *, progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """The per-practice tables of one CBT publication workbook as rows of the national table.

    Parameters
    ----------
    path : str or pathlib.Path
        The monthly ``.xlsx`` (sheets ``Title sheet, Data Quality, Table 1 … Table 5``).
    progress : callable, optional
        Called with a line for people after each sheet (an England workbook takes tens of
        seconds to read).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CBT_COLUMNS` (:func:`conform_cbt`), one row per practice and month,
        plus the ``Unassigned`` rows (``unassigned`` true; rows with the same geography
        summed); ``source`` is the file's name. A count a table does not give is null.

    Raises
    ------
    NationalDataError
        Naming the file, the sheet and the row: no per-practice table, a code that is not an
        ODS code, a month or a count that cannot be read, a practice twice in a table.

    Notes
    -----
    The layout (``shared/FORMATS.md``): each per-practice sheet (Table 3 outcomes, Table 4
    time to answer and call length, possibly split as 4a/4b, Table 5 missed calls by time
    waited) has title rows in its first column, then a header of two or three rows: the key
    columns (``Month [1]``, ``GP Practice (ODS_CODE)``, ``GP Name``, ``PCN Code``, ``PCN Name
    [2,3]``, ``Sub ICB Code [2]`` … ``Region Name``), group labels merged over their
    ``Total``/``Count``/``%`` columns, and band names (``Less than 1 minute``, ``1 - 2
    minutes``, ``2 - 5 minutes``, ``Longer than 5 minutes``). Headers are matched without
    footnote markers, punctuation, case or doubled spaces; ``%`` columns are left out; a
    band's kind comes from its group label, else the sheet's title. The first data row is the
    national ``Total`` (left out: it is the sum), notes and a copyright line follow the last
    practice. Suppressed cells (``*``, ``-``, ``[c]``...) are null. The four outcomes need not
    add up to the inbound calls for every practice; nothing here makes them.
    """
    path = Path(path)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError:
        raise NationalDataError(f"{path}: no such file") from None
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for what is not a workbook
        raise NationalDataError(f"{path.name}: not a readable .xlsx workbook ({type(exc).__name__})") from None
    tables = []
    try:
        for ws in wb.worksheets:
            rows = [list(r) for r in ws.iter_rows(values_only=True)]
            got = _read_sheet(ws.title, rows, path.name)
            if got is not None:
                tables.append((ws.title, got))
            if progress is not None:
                what = "no practices" if got is None else f"{len(got):,} practice rows"
                progress(f"{path.name}, sheet {ws.title!r}: {what}")
    finally:
        wb.close()
    if not tables:
        raise NationalDataError(
            f"{path.name}: no per-practice table (a sheet with a 'GP Practice (ODS_CODE)' column and counts); "
            f"is it the 'Cloud Based Telephony data in General Practice' publication workbook?"
        )
    key = ["month", "practice_id", "pcn_code", "sub_icb_code", "icb_code", "region_code"]
    merged = None
    for name, t in tables:
        for c in HIERARCHY + ("practice_name",):
            if c not in t.columns:
                t[c] = None
        t = t.copy()
        t[key[2:]] = t[key[2:]].fillna("")
        practice_dup = t[~t["unassigned"]].duplicated(["month", "practice_id"], keep=False)
        if practice_dup.any():
            p = t[~t["unassigned"]].loc[practice_dup, "practice_id"].iloc[0]
            raise NationalDataError(f"{path.name}, sheet {name!r}: practice {p} appears twice in the same month")
        counts = [c for c in COUNT_COLUMNS if c in t.columns]
        names = ["practice_name", "pcn_name", "sub_icb_name", "icb_name", "region_name", "unassigned"]
        # Unassigned rows of the same geography are one pool of calls: summed
        pool = t[t["unassigned"]].groupby(key, sort=False, dropna=False)
        pooled = pool[counts].sum(min_count=1).join(pool[names].first()).reset_index()
        t = pd.concat([t[~t["unassigned"]][key + counts + names], pooled], ignore_index=True)
        if merged is None:
            merged = t
        else:
            new = [c for c in counts if c not in merged.columns]
            merged = merged.merge(t[key + new + names], on=key, how="outer", suffixes=("", "_other"))
            for c in names:
                merged[c] = merged[c].where(merged[c].notna(), merged[f"{c}_other"])
                merged = merged.drop(columns=f"{c}_other")
    merged[key[2:]] = merged[key[2:]].replace("", None)
    for c in COUNT_COLUMNS:
        if c not in merged.columns:
            merged[c] = np.nan
    merged["unassigned"] = merged["unassigned"].fillna(False).astype(bool)
    merged["source"] = path.name
    return _sort(conform_cbt(merged))


# ----------------------------------------------------------------------------- ingest
@dataclass(frozen=True)
class CbtIngest:
    """What :func:`ingest_cbt` did with one workbook."""

    source: str
    months: tuple[str, ...]  # YYYY-MM
    practices: int
    unassigned_rows: int
    rows_written: int
    registry: RegistryUpdate | None

    def summary(self) -> str:
        """One line for people."""
        text = (
            f"{self.source}: {', '.join(self.months)}: {self.practices:,} practice(s) and "
            f"{self.unassigned_rows:,} unassigned row(s) into the national CBT table (the month replaced)"
        )
        if self.registry is not None and (self.registry.added or self.registry.changed):
            text += (
                f"; registry: hierarchy filled where empty for {self.registry.added + self.registry.changed:,} practice(s)"
            )
        return text


# Registry columns the publication fills where the registry has nothing (never overwriting).
_REGISTRY_FILL = {"practice_name": "name", **{c: c for c in HIERARCHY}}


def hierarchy_fill(cbt: pd.DataFrame, registry: pd.DataFrame) -> pd.DataFrame:
    """Registry rows giving each practice's name, PCN, sub-ICB, ICB and region from CBT rows,
    only where the registry (:func:`telephony.practices.read_registry`) has none.

    Parameters
    ----------
    cbt : pandas.DataFrame
        National CBT rows (the latest month of each practice is used).
    registry : pandas.DataFrame
        The registry as it is.

    Returns
    -------
    pandas.DataFrame
        ``practice_id``, ``valid_from`` (null: the facts hold always, as the registry's
        undated rows do) and the registry columns to fill; practices with nothing to fill are
        left out.
    """
    rows = cbt[~cbt["unassigned"]].sort_values("month").drop_duplicates("practice_id", keep="last")
    rows = rows[["practice_id", *_REGISTRY_FILL]].rename(columns=_REGISTRY_FILL).set_index("practice_id")
    have = registry.set_index("practice_id").reindex(rows.index)
    fill = rows.where(have[rows.columns].isna())
    fill = fill[fill.notna().any(axis=1)].reset_index()
    fill.insert(1, "valid_from", pd.NaT)
    return fill


def ingest_cbt(
    store: Store, path, *, fill_registry: bool = True, progress: Callable[[str], None] | None = None
) -> CbtIngest:
    """Read a CBT publication workbook into the national table (its months replaced) and fill
    the registry's hierarchy where it is empty.

    Parameters
    ----------
    store : Store
    path : str or pathlib.Path
        The monthly workbook (:func:`read_cbt_workbook`).
    fill_registry : bool
        Whether to fill the practices registry's name, PCN, sub-ICB, ICB and region where
        it has none (:func:`hierarchy_fill`).
    progress : callable, optional
        As :func:`read_cbt_workbook` takes it.

    Returns
    -------
    CbtIngest
    """
    rows = read_cbt_workbook(path, progress=progress)
    written = write_national_cbt(store, rows)
    update = None
    if fill_registry:
        fill = hierarchy_fill(rows, read_registry(store))
        if len(fill):
            update = update_registry(store, fill, source=Path(path).name)
    return CbtIngest(
        source=Path(path).name,
        months=tuple(sorted(f"{m:%Y-%m}" for m in set(rows["month"]))),
        practices=int(rows.loc[~rows["unassigned"], "practice_id"].nunique()),
        unassigned_rows=int(rows["unassigned"].sum()),
        rows_written=written,
        registry=update,
    )
