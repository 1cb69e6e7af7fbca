"""The practices registry: ``STORE/practices.parquet``, dated rows of facts about each practice.

A practice's facts change (its list size every month, its PCN now and then), so each row
holds from a date: ``valid_from``. A row without one holds "always" (the registry of earlier
versions, or facts imported without a date). The registry *as of* a day is, per practice, the
latest known value of each column among the rows valid by then (:func:`read_registry`), so a
monthly list-size update does not blank the practice's name or opening hours.

Glossary
--------
================== ======= =======================================================================
column             type    meaning
================== ======= =======================================================================
practice_id        string  ODS code
name               string  practice name
list_size          int64   registered patients (for rates per 1,000 patients and demand as a share)
pcn_code           string  Primary Care Network code
pcn_name           string  Primary Care Network name
federation         string  GP federation the practice belongs to (null if none)
opening_hours      string  when the phones are open, e.g. ``Mon-Fri 08:00-18:30``
phone_system       string  e.g. ``3CX`` (null if unknown)
clinical_system    string  ``EMIS``, ``TPP``... (null if unknown)
valid_from         date32  first day the row holds (null: always)
sub_icb_code       string  sub-ICB location code (e.g. ``00L``; a former CCG)
sub_icb_name       string  sub-ICB location name
icb_code           string  Integrated Care Board code (e.g. ``QHM``)
icb_name           string  Integrated Care Board name
region_code        string  NHS England region code (e.g. ``Y63``)
region_name        string  NHS England region name
nation             string  ``ENG``, ``SCT``, ``WLS`` or ``NIR`` (bank holidays, national data)
age_0_4            float64 share of the list aged 0-4 (0-1)
age_5_14           float64 share aged 5-14
age_15_44          float64 share aged 15-44
age_45_64          float64 share aged 45-64
age_65_74          float64 share aged 65-74
age_75_plus        float64 share aged 75 and over
deprivation_decile int64   IMD decile of the practice's population, 1 = most deprived, 10 = least
rural              float64 share of patients living in rural areas (0-1)
share_students     float64 share of the list who are students (0-1)
share_care_home    float64 share of the list living in care homes (0-1)
================== ======= =======================================================================
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from telephony.errors import FrontdoorError, InvalidPracticeError
from telephony.sources import norm_name, open_source, read_delimited
from telephony.store import Store, validate_practice_id
from telephony.tabular_mapping import shown_cell

PRACTICE_SCHEMA = pa.schema(
    [
        pa.field("practice_id", pa.string(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("list_size", pa.int64()),
        pa.field("pcn_code", pa.string()),
        pa.field("pcn_name", pa.string()),
        pa.field("federation", pa.string()),
        pa.field("opening_hours", pa.string()),
        pa.field("phone_system", pa.string()),
        pa.field("clinical_system", pa.string()),
        pa.field("valid_from", pa.date32()),
        pa.field("sub_icb_code", pa.string()),
        pa.field("sub_icb_name", pa.string()),
        pa.field("icb_code", pa.string()),
        pa.field("icb_name", pa.string()),
        pa.field("region_code", pa.string()),
        pa.field("region_name", pa.string()),
        pa.field("nation", pa.string()),
        pa.field("age_0_4", pa.float64()),
        pa.field("age_5_14", pa.float64()),
        pa.field("age_15_44", pa.float64()),
        pa.field("age_45_64", pa.float64()),
        pa.field("age_65_74", pa.float64()),
        pa.field("age_75_plus", pa.float64()),
        pa.field("deprivation_decile", pa.int64()),
        pa.field("rural", pa.float64()),
        pa.field("share_students", pa.float64()),
        pa.field("share_care_home", pa.float64()),
    ]
)
REGISTRY_COLUMNS: tuple[str, ...] = tuple(PRACTICE_SCHEMA.names)
FILE_NAME = "practices.parquet"

AGE_SHARES: tuple[str, ...] = ("age_0_4", "age_5_14", "age_15_44", "age_45_64", "age_65_74", "age_75_plus")
SHARE_COLUMNS: tuple[str, ...] = AGE_SHARES + ("rural", "share_students", "share_care_home")
# The columns the peer features are made of (what a "most alike" comparison standardises).
PEER_FEATURES: tuple[str, ...] = ("list_size",) + AGE_SHARES + (
    "deprivation_decile",
    "rural",
    "share_students",
    "share_care_home",
)
NATIONS: tuple[str, ...] = ("ENG", "SCT", "WLS", "NIR")
_STRINGS = tuple(f.name for f in PRACTICE_SCHEMA if pa.types.is_string(f.type))
_INTS = ("list_size", "deprivation_decile")
_KEY = ("practice_id", "valid_from")


class PracticeRegistryError(FrontdoorError, ValueError):
    """Registry rows that cannot be stored."""


@dataclass(frozen=True)
class RegistryUpdate:
    """What :func:`update_registry` did.

    Attributes
    ----------
    source : str
        Where the rows came from (a file name, ``demo``...).
    added : int
        Rows (practice and ``valid_from``) new to the registry.
    changed : int
        Rows already there whose values the update changed.
    unchanged : int
        Rows already there that the update left as they were.
    practices : int
        Distinct practices the update touched.
    path : str
        The registry file.
    ignored_columns : tuple of str
        Columns of an imported file that are not registry columns (left out, named so that a
        misspelt header is noticed).
    """

    source: str
    added: int
    changed: int
    unchanged: int
    practices: int
    path: str
    ignored_columns: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line for people."""
        text = (
            f"{self.source}: {self.practices:,} practice(s); registry rows added {self.added:,}, "
            f"changed {self.changed:,}, unchanged {self.unchanged:,}"
        )
        if self.ignored_columns:
            text += f" (columns not used: {', '.join(self.ignored_columns)})"
        return text


# ----------------------------------------------------------------------------- shaping
def _as_dates(values: pd.Series) -> pd.Series:
    """Midnight timestamps (``datetime64[ns]``; NaT = always) from dates, timestamps or text."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_localize(None)
    out = pd.to_datetime(values, errors="coerce")
    return out.dt.normalize().astype("datetime64[ns]")


def conform_registry(frame: pd.DataFrame) -> pd.DataFrame:
    """Every registry column, in schema order, with the registry's pandas dtypes.

    Columns missing from ``frame`` (an older registry file, a partial update) are added as
    null; ``valid_from`` becomes ``datetime64[ns]`` (NaT = always), ``list_size`` and
    ``deprivation_decile`` nullable ``Int64``, shares ``float64``, the rest ``string``.
    Values are not checked here (:func:`update_registry` does).
    """
    n = len(frame)
    cols = {}
    for f in PRACTICE_SCHEMA:
        col = frame[f.name].reset_index(drop=True) if f.name in frame.columns else pd.Series([None] * n, dtype=object)
        if f.name == "valid_from":
            cols[f.name] = col if col.dtype == "datetime64[ns]" else _as_dates(col)
        elif f.name in _INTS:
            cols[f.name] = col if col.dtype == "Int64" else pd.to_numeric(col, errors="coerce").round().astype("Int64")
        elif pa.types.is_floating(f.type):
            cols[f.name] = col if col.dtype == "float64" else pd.to_numeric(col, errors="coerce").astype("float64")
        else:
            text = (col if isinstance(col.dtype, pd.StringDtype) else col.astype("string")).str.strip()
            blank = text == ""
            cols[f.name] = text.mask(blank) if blank.any() else text
    return pd.DataFrame(cols)


def _to_table(frame: pd.DataFrame) -> pa.Table:
    df = frame.copy()
    # date32 in the file: a day, never a time (pandas has no date dtype, so go through objects)
    df["valid_from"] = [None if pd.isna(v) else v.date() for v in df["valid_from"]]
    df["list_size"] = df["list_size"].astype("Int64")
    return pa.Table.from_pandas(df[list(REGISTRY_COLUMNS)], schema=PRACTICE_SCHEMA, preserve_index=False)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    # rows "always" (NaT) first within a practice: they are the oldest facts
    return frame.sort_values(["practice_id", "valid_from"], kind="stable", na_position="first").reset_index(drop=True)


# ----------------------------------------------------------------------------- reading
def registry_history(store: Store) -> pd.DataFrame:
    """Every dated row of the registry, sorted by practice and ``valid_from`` (undated first).

    A registry written before rows were dated reads with the new columns null.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`REGISTRY_COLUMNS` (see the module's glossary); an empty frame with
        them when the store has no registry.
    """
    path = store.root / FILE_NAME
    if not path.exists():
        return conform_registry(pd.DataFrame(columns=list(REGISTRY_COLUMNS)))
    table = pq.read_table(path)
    return _sorted(conform_registry(table.to_pandas()))


def read_registry(store: Store, as_of=None) -> pd.DataFrame:
    """The registry as of a day: one row per practice.

    Parameters
    ----------
    store : Store
    as_of : date-like, optional
        The day (a date, a timestamp or ``YYYY-MM-DD``). Rows valid from a later day are
        ignored, and a practice without any row valid by then is left out. Default: every row
        (the latest facts).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`REGISTRY_COLUMNS`, sorted by ``practice_id``. Each column holds the
        value of the practice's latest row (by ``valid_from``; undated rows count as the
        oldest) that has one, so that an update of some columns keeps the others;
        ``valid_from`` is the latest ``valid_from`` among the rows used.

    Raises
    ------
    PracticeRegistryError
        For an ``as_of`` that is not a date.
    """
    hist = registry_history(store)
    if as_of is not None:
        day = _as_of_day(as_of)
        hist = hist[hist["valid_from"].isna() | (hist["valid_from"] <= day)]
    if hist.empty:
        return hist.reset_index(drop=True)
    # rows are sorted oldest first within a practice: the last non-null value is the latest
    latest = hist.groupby("practice_id", sort=True).last()  # last() skips nulls column by column
    latest = latest.reset_index()
    return conform_registry(latest)


def _as_of_day(as_of) -> pd.Timestamp:
    try:
        day = pd.Timestamp(as_of)
    except (TypeError, ValueError):
        raise PracticeRegistryError(f"`as_of` {as_of!r} is not a date: give it like 2026-01-31") from None
    if pd.isna(day):
        raise PracticeRegistryError(f"`as_of` {as_of!r} is not a date: give it like 2026-01-31")
    if day.tzinfo is not None:
        day = day.tz_localize(None)
    return day.normalize()


def read_practices(store: Store) -> pd.DataFrame:
    """The registry with every practice's latest facts (:func:`read_registry` with no ``as_of``)."""
    return read_registry(store)


def codes_for_message(codes, most: int = 12) -> str:
    """Practice codes for a message: sorted, at most ``most`` of them and how many more.

    A registry filled from national files holds every practice in England: a message that
    listed them all would be 6,300 codes long.
    """
    codes = sorted(codes)
    shown = ", ".join(codes[:most])
    return f"{shown} and {len(codes) - most} more" if len(codes) > most else shown


def known_practices(store: Store, registry: pd.DataFrame | None = None, *, registered: bool = True) -> set[str]:
    """The practices a store knows: those in its registry, or with calls or appointments.

    A practice is known once any of its data is in the store, registered or not: an ingest
    does not need the registry, and a report or a metric of such a practice is still wanted.

    Parameters
    ----------
    store : Store
    registry : pandas.DataFrame, optional
        The registry already read (:func:`read_practices`), to save reading it again.
    registered : bool
        Whether the registry's practices count. Once national data is in the registry
        (``frontdoor ingest registered``: every practice in England) "all practices" of a
        command that measures calls should be those with data: ``registered=False``.

    Returns
    -------
    set of str
        ODS codes.
    """
    known: set[str] = set()
    if registered:
        if registry is None:
            registry = read_practices(store)
        known = set(registry["practice_id"].astype(str))
    for table in ("calls", "appointments"):
        # only directory names are read: a partition's practice is in its path
        known |= {pid for pid, _month, _path in store.partitions(table)}
    return known


# ----------------------------------------------------------------------------- checking
def check_registry_rows(frame: pd.DataFrame) -> list[tuple[int, str]]:
    """Every problem of registry rows, as ``(row position, reason)`` pairs.

    ``frame`` is already :func:`conform_registry`-ed apart from ``practice_id`` (checked
    here as an ODS code). Used by :func:`update_registry` and by file imports that report the
    file's line of each problem.
    """
    problems: list[tuple[int, str]] = []
    for i, pid in enumerate(frame["practice_id"]):
        if pd.isna(pid) or str(pid).strip() == "":
            problems.append((i, "practice_id is empty"))
            continue
        try:
            validate_practice_id(pid)
        except InvalidPracticeError as err:
            problems.append((i, str(err)))
    checks = [
        ("list_size", lambda s: s < 0, "list_size {v} is negative"),
        ("deprivation_decile", lambda s: (s < 1) | (s > 10), "deprivation_decile {v} is not 1-10 (1 = most deprived)"),
    ] + [(c, lambda s: (s < 0) | (s > 1), c + " {v} is not a share between 0 and 1 (write a percentage with a % sign)") for c in SHARE_COLUMNS]
    for col, bad, text in checks:
        values = frame[col]
        hit = bad(values).fillna(False).to_numpy(dtype=bool)
        problems += [(int(i), text.format(v=values.iloc[i])) for i in np.flatnonzero(hit)]
    nation = frame["nation"]
    wrong = (nation.notna() & ~nation.isin(NATIONS)).to_numpy(dtype=bool)
    problems += [(int(i), f"nation {shown_cell(nation.iloc[i])} is not one of {', '.join(NATIONS)}") for i in np.flatnonzero(wrong)]
    return sorted(problems)


# ----------------------------------------------------------------------------- writing
def _write(store: Store, frame: pd.DataFrame) -> None:
    """Replace the registry file atomically (caller holds the store's lock)."""
    path = store.root / FILE_NAME
    tmp = path.with_name(f"{FILE_NAME}.tmp-{uuid.uuid4().hex}")  # cleared by Store.lock after a crash
    pq.write_table(_to_table(_sorted(frame)), tmp)
    os.replace(tmp, path)


def update_registry(store: Store, frame: pd.DataFrame, *, source: str) -> RegistryUpdate:
    """Add or update dated registry rows: upsert by ``practice_id`` and ``valid_from``.

    Parameters
    ----------
    store : Store
    frame : pandas.DataFrame
        Rows with ``practice_id`` and any of the registry's other columns (missing ones are
        null). ``valid_from`` may be absent or null (the row holds always).
    source : str
        Where the rows come from, for the summary (a file name, ``demo``...).

    Returns
    -------
    RegistryUpdate
        Counts of rows added, changed and unchanged.

    Raises
    ------
    PracticeRegistryError
        For unknown columns, a practice id that is not an ODS code, a practice given twice
        for the same ``valid_from``, an unreadable ``valid_from``, or a value out of range
        (negative list size, a share outside 0-1, a decile outside 1-10, an unknown nation),
        all of them listed with their row.

    Notes
    -----
    Only non-null values overwrite: a row for a practice and day already in the registry
    keeps the values the update leaves null. Rows for other days are never touched.
    """
    unknown = [c for c in frame.columns if c not in REGISTRY_COLUMNS]
    if unknown:
        raise PracticeRegistryError(
            f"unknown registry column(s) {', '.join(map(str, unknown))} from {source}; "
            f"the registry has {', '.join(REGISTRY_COLUMNS)}"
        )
    if "practice_id" not in frame.columns:
        raise PracticeRegistryError(f"rows from {source} need a practice_id column")
    new = conform_registry(frame)
    problems = check_registry_rows(new)
    if "valid_from" in frame.columns:
        given = frame["valid_from"].reset_index(drop=True)
        unreadable = new["valid_from"].isna() & given.notna() & (given.astype(str).str.strip() != "")
        problems += [(int(i), f"valid_from {shown_cell(given.iloc[i])} is not a date") for i in np.flatnonzero(unreadable.to_numpy())]
    if problems:
        raise PracticeRegistryError(_problem_text(source, sorted(problems)))
    new["practice_id"] = [validate_practice_id(p) for p in new["practice_id"]]
    dup = new.duplicated(list(_KEY), keep=False)
    if dup.any():
        pairs = sorted({f"{p} ({'always' if pd.isna(v) else v.date()})" for p, v in new.loc[dup, list(_KEY)].itertuples(index=False)})
        raise PracticeRegistryError(f"practice(s) {', '.join(pairs)} given twice in {source}: give one row per practice and valid_from")
    with store.lock():
        old = registry_history(store)
        pos = pd.Index(_key_text(old)).get_indexer(_key_text(new))
        there = pos >= 0
        before = old.iloc[pos[there]].reset_index(drop=True)
        after = new[there].reset_index(drop=True)
        touched = np.zeros(len(after), dtype=bool)
        for c in REGISTRY_COLUMNS:
            if c in _KEY:
                continue
            same = (before[c] == after[c]).fillna(False).to_numpy(dtype=bool)
            update = after[c].notna().to_numpy(dtype=bool) & ~same  # only non-null values overwrite
            if update.any():
                old.loc[old.index[pos[there][update]], c] = after.loc[update, c].to_numpy()
                touched |= update
        added, changed = int((~there).sum()), int(touched.sum())
        unchanged = int(there.sum()) - changed
        allrows = pd.concat([old, new[~there]], ignore_index=True) if added else old
        _write(store, conform_registry(allrows))
    return RegistryUpdate(
        source=source,
        added=added,
        changed=changed,
        unchanged=unchanged,
        practices=int(new["practice_id"].nunique()),
        path=str(store.root / FILE_NAME),
    )


def _key_text(frame: pd.DataFrame) -> pd.Series:
    """``practice_id|YYYY-MM-DD`` (``always`` for an undated row): the registry's row key."""
    day = frame["valid_from"].dt.strftime("%Y-%m-%d").fillna("always")
    return (frame["practice_id"].astype("string") + "|" + day).astype(object)


def _keys(frame: pd.DataFrame) -> list[tuple[str, object]]:
    return [(p, None if pd.isna(v) else pd.Timestamp(v)) for p, v in zip(frame["practice_id"], frame["valid_from"])]


def _problem_text(source: str, problems: list[tuple[int, str]], limit: int = 10) -> str:
    shown = "; ".join(f"row {i + 1}: {why}" for i, why in problems[:limit])
    more = f"; and {len(problems) - limit} more" if len(problems) > limit else ""
    return f"{len(problems)} problem(s) in the practices from {source}: {shown}{more}"


def write_practices(store: Store, practices: pd.DataFrame) -> pd.DataFrame:
    """Add or replace practices in the registry whole, atomically.

    Unlike :func:`update_registry`, every dated row of a practice given is replaced by the
    rows given (the demo writes its federation this way).

    Parameters
    ----------
    store : Store
    practices : pandas.DataFrame
        Rows with ``practice_id`` and any of the other columns of :data:`PRACTICE_SCHEMA`
        (missing ones are null).

    Returns
    -------
    pandas.DataFrame
        Every row of the registry as written (:func:`registry_history`).

    Raises
    ------
    PracticeRegistryError
        For a missing or repeated practice id (for the same ``valid_from``), or a value out
        of range.
    """
    if "practice_id" not in practices.columns:
        raise PracticeRegistryError("practices need a practice_id column")
    new = conform_registry(practices)
    problems = check_registry_rows(new)
    if problems:
        raise PracticeRegistryError(_problem_text("the rows given", problems))
    new["practice_id"] = [validate_practice_id(p) for p in new["practice_id"]]
    if new.duplicated(list(_KEY)).any():
        dup = sorted(set(new.loc[new.duplicated(list(_KEY)), "practice_id"]))
        raise PracticeRegistryError(f"practice(s) {', '.join(dup)} given twice")
    with store.lock():
        old = registry_history(store)
        old = old[~old["practice_id"].isin(new["practice_id"])]
        allp = conform_registry(pd.concat([old, new], ignore_index=True)) if len(old) else new
        _write(store, allp)
    return _sorted(allp)


def month_start(day) -> dt.date:
    """The first day of ``day``'s month (a ``valid_from`` for monthly figures)."""
    ts = pd.Timestamp(day)
    return dt.date(ts.year, ts.month, 1)


# ----------------------------------------------------------------------------- importing files
# Header spellings met in practice and federation spreadsheets, beyond the registry's own names
# (matched after norm_name: lower case, letters and digits only).
HEADER_ALIASES: dict[str, str] = {
    "practiceid": "practice_id", "practicecode": "practice_id", "odscode": "practice_id", "ods": "practice_id",
    "code": "practice_id", "gpcode": "practice_id", "gppracticecode": "practice_id", "orgcode": "practice_id",
    "practice": "practice_id", "gppracticeodscode": "practice_id", "odspracticecode": "practice_id",
    "practicename": "name", "gpname": "name", "gppracticename": "name", "surgery": "name", "orgname": "name",
    "listsize": "list_size", "registeredpatients": "list_size", "registeredlist": "list_size",
    "numberofpatients": "list_size", "patients": "list_size", "registeredlistsize": "list_size",
    "pcn": "pcn_code", "pcncode": "pcn_code", "pcnname": "pcn_name",
    "federation": "federation", "federationname": "federation", "gpfederation": "federation",
    "openinghours": "opening_hours", "phonehours": "opening_hours", "hours": "opening_hours",
    "phonesystem": "phone_system", "telephonysystem": "phone_system", "telephony": "phone_system",
    "clinicalsystem": "clinical_system", "gpsystem": "clinical_system", "supplier": "clinical_system",
    "validfrom": "valid_from", "asof": "valid_from", "from": "valid_from", "date": "valid_from",
    "subicb": "sub_icb_code", "subicbcode": "sub_icb_code", "subicblocationcode": "sub_icb_code",
    "ccgcode": "sub_icb_code", "subicbname": "sub_icb_name", "subicblocationname": "sub_icb_name",
    "ccgname": "sub_icb_name", "icb": "icb_code", "icbcode": "icb_code", "icbname": "icb_name",
    "region": "region_code", "regioncode": "region_code", "commissioningregioncode": "region_code",
    "regionname": "region_name", "country": "nation",
    "age0to4": "age_0_4", "age5to14": "age_5_14", "age15to44": "age_15_44", "age45to64": "age_45_64",
    "age65to74": "age_65_74", "age75": "age_75_plus", "age75over": "age_75_plus", "age75andover": "age_75_plus",
    "age75plus": "age_75_plus", "imddecile": "deprivation_decile", "deprivation": "deprivation_decile",
    "decile": "deprivation_decile", "rurality": "rural", "ruralshare": "rural", "sharerural": "rural",
    "students": "share_students", "studentshare": "share_students", "carehome": "share_care_home",
    "carehomes": "share_care_home", "carehomeshare": "share_care_home", "sharecarehomes": "share_care_home",
}
_NATION_WORDS = {"england": "ENG", "eng": "ENG", "scotland": "SCT", "sct": "SCT", "wales": "WLS", "wls": "WLS",
                 "northernireland": "NIR", "nir": "NIR", "ni": "NIR"}


def registry_column_for(header: str) -> str | None:
    """The registry column a file's header names (case, spaces, punctuation and a ``%`` sign
    ignored), or ``None``."""
    names = {norm_name(c): c for c in REGISTRY_COLUMNS} | HEADER_ALIASES
    key = norm_name(header)
    # "Age 0-4 %", "Share aged 0-4", "% students": the same column as a share or a percentage
    for candidate in (key, key.removesuffix("pct"), key.removesuffix("percent"), key.removeprefix("share"),
                      key.removeprefix("shareof"), key.replace("aged", "age")):
        if candidate in names:
            return names[candidate]
    return None


def _parse_days(text: pd.Series) -> pd.Series:
    """ISO days (``2026-01-01``, as a workbook's dates read) or UK ``DD/MM/YYYY``; NaT if neither."""
    iso = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    iso = iso.fillna(pd.to_datetime(text.str.slice(0, 10), format="%Y-%m-%d", errors="coerce"))
    uk = pd.to_datetime(text, format="%d/%m/%Y", errors="coerce")
    return iso.fillna(uk)


def read_registry_file(path, *, as_of=None) -> tuple[pd.DataFrame, list[str]]:
    """Registry rows from a CSV or XLSX file with any subset of the registry's columns.

    Parameters
    ----------
    path : str or pathlib.Path
        CSV (any encoding Frontdoor reads, gzipped or not) or an ``.xlsx`` workbook's first
        sheet with data. Header names are matched leniently (:func:`registry_column_for`):
        ``ODS code``, ``Practice code``, ``List size``, ``Age 0-4 %``, ``IMD decile``...
    as_of : date-like, optional
        ``valid_from`` of the rows that do not give their own (default: always).

    Returns
    -------
    (pandas.DataFrame, list of str)
        The rows, conformed to the registry's columns (only those the file has, plus
        ``practice_id`` and ``valid_from``), and the file's headers that are not registry
        columns.

    Raises
    ------
    PracticeRegistryError
        When no column is the practice's ODS code, two columns name the same registry column,
        or rows are wrong: every problem with its line in the file.
    BadInputError
        When the file cannot be read at all.

    Notes
    -----
    Numbers may carry thousands separators (``6,100``); a share given with a ``%`` sign, or
    under a header with one, is a percentage (``12.5%`` is 0.125). Nations may be written out
    (``England``). Empty cells are null: they never overwrite what the registry holds.
    """
    source = open_source(path)
    chunks = list(read_delimited(source))
    frame = pd.concat([c.frame for c in chunks], ignore_index=True) if chunks else pd.DataFrame()
    lines = np.concatenate([c.lines for c in chunks]) if chunks else np.array([], dtype=np.int64)
    problems: list[tuple[int, str]] = [(int(r.line or 0), r.reason) for c in chunks for r in c.rejects]
    mapped: dict[str, str] = {}
    ignored: list[str] = []
    for header in frame.columns:
        col = registry_column_for(header)
        if col is None:
            ignored.append(str(header))
        elif col in mapped.values():
            other = next(h for h, c in mapped.items() if c == col)
            raise PracticeRegistryError(
                f"{source.name}: columns {other!r} and {header!r} both give {col}; keep one of them"
            )
        else:
            mapped[header] = col
    if "practice_id" not in mapped.values():
        raise PracticeRegistryError(
            f"{source.name}: no column holds the practices' ODS codes (a header like 'practice_id', "
            f"'ODS code' or 'Practice code'); the file's headers are {', '.join(map(str, frame.columns))}"
        )
    raw = pd.DataFrame({col: frame[h].astype("string").str.strip() for h, col in mapped.items()})
    raw = raw.mask(raw == "")
    out = pd.DataFrame(index=raw.index)
    where = {col: h for h, col in mapped.items()}

    def flag(mask, values: pd.Series, header: str, what: str) -> None:
        problems.extend(
            (int(lines[i]), f"{header} {shown_cell(values.iloc[i])} {what}") for i in np.flatnonzero(np.asarray(mask, dtype=bool))
        )

    for col in raw.columns:
        values = raw[col]
        if col == "valid_from":
            days = _parse_days(values)
            flag(values.notna() & days.isna(), values, where[col], "is not a date (use 2026-01-01 or 01/01/2026)")
            out[col] = days
        elif col in _INTS or col in SHARE_COLUMNS:
            text = values.str.replace(",", "", regex=False)
            pct = text.str.endswith("%").fillna(False) | ("%" in where[col]) | norm_name(where[col]).endswith(("pct", "percent"))
            num = pd.to_numeric(text.str.rstrip("%").str.strip(), errors="coerce").astype("float64")
            if col in SHARE_COLUMNS:
                num = num.where(~pct, num / 100)
            flag(values.notna() & num.isna(), values, where[col], "is not a number")
            if col in _INTS:
                frac = (num.notna() & (num != num.round())).fillna(False)
                flag(frac, values, where[col], "is not a whole number")
            out[col] = num
        elif col == "nation":
            word = values.map(lambda v: v if pd.isna(v) else _NATION_WORDS.get(norm_name(v), str(v).upper()))
            out[col] = word
        elif col == "practice_id":
            out[col] = values.str.upper()
        else:
            out[col] = values
    if "valid_from" not in out.columns:
        out["valid_from"] = pd.NaT
    if as_of is not None:
        out["valid_from"] = out["valid_from"].fillna(_as_of_day(as_of))
    conformed = conform_registry(out)
    keep = [c for c in REGISTRY_COLUMNS if c in out.columns]
    for i, why in check_registry_rows(conformed):
        problems.append((int(lines[i]), why))
    first_line: dict[tuple[str, object], int] = {}
    for i, key in enumerate(_keys(conformed)):
        if pd.isna(key[0]):
            continue
        if key in first_line:
            problems.append((int(lines[i]), f"practice {key[0]} again (first on line {first_line[key]}) for the same valid_from"))
        else:
            first_line[key] = int(lines[i])
    if problems:
        problems = sorted(set(problems))
        shown = "; ".join(f"line {ln}: {why}" for ln, why in problems[:10])
        more = f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise PracticeRegistryError(f"{source.name}: {len(problems)} problem(s), nothing imported: {shown}{more}")
    return conformed[keep].assign(practice_id=[validate_practice_id(p) for p in conformed["practice_id"]]), ignored


def import_registry_file(store: Store, path, *, as_of=None) -> RegistryUpdate:
    """Import a CSV or XLSX of practices into the registry (:func:`read_registry_file`, then
    :func:`update_registry`); nothing is written when any row is wrong.

    Returns
    -------
    RegistryUpdate
        With the file's name as ``source`` and the headers left out as ``ignored_columns``.
    """
    rows, ignored = read_registry_file(path, as_of=as_of)
    name = Path(path).name
    res = update_registry(store, rows, source=name)
    return replace(res, ignored_columns=tuple(ignored))
