"""NHS Digital's monthly "Patients Registered at a GP Practice": list size and age profile.

Every practice in England, as at the first of each month: the registered list and its six age
shares (:data:`telephony.practices.AGE_SHARES`), fed into the practices registry dated from
the extract's month (:func:`ingest_registered`).

The published CSV files (checked against NHS Digital's metadata page for the publication and
public pipelines that read it; the column names changed when CCGs became sub-ICB locations in
July 2022, and the files are long, one row per organisation, sex and age):

=============================== ================================================================
file                            columns
=============================== ================================================================
``gp-reg-pat-prac-all.csv``     ``PUBLICATION, EXTRACT_DATE, TYPE, CCG_CODE | SUB_ICB_LOCATION_CODE,
                                ONS_CCG_CODE | ONS_SUB_ICB_LOCATION_CODE, CODE, POSTCODE, SEX, AGE,
                                NUMBER_OF_PATIENTS`` — totals only (``SEX`` and ``AGE`` ``ALL``)
``gp-reg-pat-prac-sing-age-     the same, ``AGE`` ``0`` … ``94``, ``95+`` and ``ALL``; one file per
male/female.csv``               sex (read both together for the whole list); recent files name the
                                practice ``ORG_CODE``
``gp-reg-pat-prac-quin-age.csv`` ``PUBLICATION, EXTRACT_DATE, ORG_TYPE, ORG_CODE, ONS_CODE, POSTCODE,
                                SEX, AGE_GROUP_5, NUMBER_OF_PATIENTS``; every organisation level
                                (``ORG_TYPE`` ``GP``, ``PCN``, ``SUB_ICB``, ``ICB``, ``COMM_REGION``…),
                                ``SEX`` ``ALL``/``MALE``/``FEMALE``, ``AGE_GROUP_5`` ``0_4`` … ``90_94``,
                                ``95+``, ``ALL``
``gp-reg-pat-prac-map.csv``     ``PUBLICATION, EXTRACT_DATE, PRACTICE_CODE, PRACTICE_NAME, …, PCN_CODE,
                                PCN_NAME, SUB_ICB_LOCATION_CODE, SUB_ICB_LOCATION_NAME, ICB_CODE,
                                ICB_NAME, COMM_REGION_CODE, COMM_REGION_NAME`` — no counts: the
                                practice → PCN → sub-ICB → ICB → region mapping
=============================== ================================================================

Notes
-----
- ``EXTRACT_DATE`` is the snapshot's day, written ``01JAN2026`` (also met: ``2026-01-01``,
  ``01/01/2026``); the month it falls in is the row's month.
- Only practice rows are read (``TYPE``/``ORG_TYPE`` ``GP`` where the file has the column).
- Ages map onto the registry's six bands by the band's first year: 0–4, 5–14, 15–44, 45–64,
  65–74, 75 and over; five-year groups and single years both fit these boundaries.
- The shares are of the patients counted by age (they add up to 1); the list size is the
  ``ALL`` row where there is one. With one sex's file alone the list would be half a list: it
  is refused, naming the file to add.
- ONS codes (``ONS_CODE``, ``ONS_CCG_CODE``) are left out: the registry keeps NHS codes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from demand.national.cbt import NationalDataError
from telephony.practices import AGE_SHARES, RegistryUpdate, update_registry
from telephony.sources import norm_name, open_source, read_delimited
from telephony.store import Store
from telephony.tabular_mapping import shown_cell

# Roles of the publication's columns, by normalised header (norm_name), in order of preference.
COLUMN_ROLES: dict[str, tuple[str, ...]] = {
    "practice_id": ("code", "orgcode", "practicecode", "gpcode"),
    "org_type": ("orgtype", "type"),
    "extract_date": ("extractdate",),
    "sex": ("sex",),
    "age": ("agegroup5", "age", "agegroupstart", "agegroup"),
    "patients": ("numberofpatients",),
    "practice_name": ("practicename",),
    "pcn_code": ("pcncode",),
    "pcn_name": ("pcnname",),
    "sub_icb_code": ("subicblocationcode", "subicbcode", "ccgcode"),
    "sub_icb_name": ("subicblocationname", "subicbname", "ccgname"),
    "icb_code": ("icbcode", "stpcode"),
    "icb_name": ("icbname", "stpname"),
    "region_code": ("commregioncode", "regioncode", "nhsercode"),
    "region_name": ("commregionname", "regionname", "nhsername"),
}
HIERARCHY_ROLES: tuple[str, ...] = (
    "practice_name", "pcn_code", "pcn_name", "sub_icb_code", "sub_icb_name", "icb_code", "icb_name",
    "region_code", "region_name",
)
# First year of each registry age band, in order (AGE_SHARES).
BAND_STARTS: tuple[int, ...] = (0, 5, 15, 45, 65, 75)
DATE_FORMATS: tuple[str, ...] = ("%d%b%Y", "%Y-%m-%d", "%d/%m/%Y", "%d-%b-%Y", "%d-%b-%y", "%Y%m%d")
_ALL = "ALL"
_FIRST_YEAR = re.compile(r"^\s*(\d{1,3})")
MAX_PROBLEMS = 10


def _roles(columns: Iterable[str]) -> dict[str, str]:
    """The file's column for each role it has."""
    by_norm = {norm_name(c): c for c in columns}
    found = {}
    for role, names in COLUMN_ROLES.items():
        for n in names:
            if n in by_norm:
                found[role] = by_norm[n]
                break
    return found


def _per_value(values: pd.Series, fn) -> pd.Series:
    """``fn`` applied to each distinct value once (a file of 400,000 rows has a few dozen ages,
    one extract date and some thousands of practices), spread back over the rows."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    done = fn(pd.Series(uniques, dtype=values.dtype))
    return pd.Series(done.to_numpy()[codes], index=values.index, dtype=done.dtype)


def _months(text: pd.Series) -> pd.Series:
    """The first of the month of each extract date (NaT where none of the spellings fits)."""
    clean = text.str.strip().str.upper()
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    for fmt in DATE_FORMATS:
        todo = out.isna()
        if not todo.any():
            break
        parsed = pd.to_datetime(clean[todo].str.title() if "%b" in fmt else clean[todo], format=fmt, errors="coerce")
        out[todo] = parsed.astype("datetime64[ns]")
    return out.dt.to_period("M").dt.start_time.astype("datetime64[ns]")


def _bands(age: pd.Series) -> pd.Series:
    """The registry band of each age label (``ALL`` kept; ``None`` where unreadable)."""
    text = age.str.strip().str.upper()
    first = pd.to_numeric(text.str.extract(_FIRST_YEAR, expand=False), errors="coerce")
    idx = np.searchsorted(np.asarray(BAND_STARTS), first.to_numpy(dtype=float, na_value=np.nan), side="right") - 1
    names = np.asarray(AGE_SHARES, dtype=object)
    band = pd.Series(np.where(first.notna(), names[np.clip(idx, 0, len(names) - 1)], None), index=age.index, dtype=object)
    band[text == _ALL] = _ALL
    return band


def read_patients_registered(path: str | Path | Iterable[str | Path]) -> pd.DataFrame:
    """List size and age shares per practice and month from the publication's CSV files.

    Parameters
    ----------
    path : path or iterable of paths
        One file (``gp-reg-pat-prac-quin-age.csv``, ``gp-reg-pat-prac-all.csv``,
        ``gp-reg-pat-prac-map.csv``), or several read together (the male and female
        single-year files; a counts file and the mapping file). Gzipped or not.

    Returns
    -------
    pandas.DataFrame
        One row per practice and extract month: ``practice_id``, ``month`` (first of the
        month), ``list_size`` (``Int64``; null from a mapping file alone), the six age shares
        (null when the files give no ages), and the hierarchy columns the files have
        (``practice_name``, ``pcn_code`` … ``region_name``), sorted by practice and month.

    Raises
    ------
    NationalDataError
        For a file without the publication's columns (naming the file and its headers), rows
        that cannot be read (file, line, what was wrong), or one sex's patients without the
        other's.
    """
    paths = [Path(path)] if isinstance(path, (str, Path)) else [Path(p) for p in path]
    if not paths:
        raise NationalDataError("give at least one registered-patients file in `path`")
    counts: list[pd.DataFrame] = []
    mapping: list[pd.DataFrame] = []
    sexes_by_file: dict[str, set[str]] = {}
    for p in paths:
        c, m, sexes = _read_one(p)
        if c:
            # one file's counts summed (single years into bands); the same count from two files
            # (a totals file beside a banded one) is the same patients: taken once
            counts.append(pd.concat(c, ignore_index=True).groupby(["practice_id", "month", "sex", "band"], as_index=False)["n"].sum())
        mapping += m
        sexes_by_file[p.name] = sexes
    out = _profile(counts, sexes_by_file) if counts else None
    if mapping:
        hier = pd.concat(mapping, ignore_index=True).drop_duplicates(["practice_id", "month"], keep="last")
        out = hier if out is None else out.merge(hier, on=["practice_id", "month"], how="outer")
    if out is None or out.empty:
        raise NationalDataError(f"{', '.join(p.name for p in paths)}: no GP practice rows")
    for c in ("list_size",) + AGE_SHARES:
        if c not in out.columns:
            out[c] = np.nan
    out["list_size"] = pd.to_numeric(out["list_size"]).round().astype("Int64")
    lead = ["practice_id", "month", "list_size", *AGE_SHARES]
    out = out[lead + [c for c in HIERARCHY_ROLES if c in out.columns]]
    return out.sort_values(["practice_id", "month"], kind="stable").reset_index(drop=True)


def _read_one(path: Path) -> tuple[list[pd.DataFrame], list[pd.DataFrame], set[str]]:
    """A file's practice rows: grouped counts (practice, month, sex, band), hierarchy rows, sexes."""
    source = open_source(path)
    counts, mapping, problems = [], [], []
    sexes: set[str] = set()
    roles = None
    for chunk in read_delimited(source):
        frame, lines = chunk.frame, chunk.lines
        problems += [(r.line, r.reason) for r in chunk.rejects]
        if roles is None:
            roles = _roles(frame.columns)
            needed = ["practice_id", "extract_date"] + (["patients"] if "practice_name" not in roles else [])
            missing = [r for r in needed if r not in roles]
            if missing:
                raise NationalDataError(
                    f"{source.name}: not a 'Patients Registered at a GP Practice' file: no column for "
                    f"{', '.join(missing)} (expected headers like CODE or ORG_CODE, EXTRACT_DATE, "
                    f"NUMBER_OF_PATIENTS); its headers are {', '.join(map(str, frame.columns))}"
                )
        col = {role: frame[name].astype("string").fillna("").str.strip() for role, name in roles.items()}
        keep = np.ones(len(frame), dtype=bool)
        if "org_type" in col:
            keep &= _per_value(col["org_type"], lambda v: v.str.upper() == "GP").to_numpy(dtype=bool)
        pid = _per_value(col["practice_id"], lambda v: v.str.upper())
        month = _per_value(col["extract_date"], _months)
        ods = _per_value(pid, lambda v: v.str.fullmatch(r"[A-Z0-9]{3,10}").fillna(False).astype(bool))
        bad_pid = keep & ~ods.to_numpy(dtype=bool)
        bad_month = keep & month.isna().to_numpy()
        problems += [(int(lines[i]), f"practice code {shown_cell(pid.iloc[i])} is not an ODS code") for i in np.flatnonzero(bad_pid)]
        problems += [
            (int(lines[i]), f"extract date {shown_cell(col['extract_date'].iloc[i])} is not a date (like 01JAN2026)")
            for i in np.flatnonzero(bad_month)
        ]
        ok = keep & ~bad_pid & ~bad_month
        if "patients" in col:
            n = pd.to_numeric(col["patients"], errors="coerce")
            if n.isna().any():  # "6,100": thousands separators, read only where needed
                n = n.fillna(pd.to_numeric(col["patients"].str.replace(",", "", regex=False), errors="coerce"))
            bad_n = ok & (n.isna() | (n < 0)).to_numpy()
            problems += [(int(lines[i]), f"NUMBER_OF_PATIENTS {shown_cell(col['patients'].iloc[i])} is not a count") for i in np.flatnonzero(bad_n)]
            ok &= ~bad_n
            sex = _per_value(col["sex"], lambda v: v.str.upper()) if "sex" in col else pd.Series(_ALL, index=frame.index)
            band = _per_value(col["age"], _bands) if "age" in col else pd.Series(_ALL, index=frame.index, dtype=object)
            bad_age = ok & band.isna().to_numpy()
            problems += [(int(lines[i]), f"age {shown_cell(col['age'].iloc[i])} is not an age or age band") for i in np.flatnonzero(bad_age)]
            ok &= ~bad_age
            part = pd.DataFrame({"practice_id": pid[ok], "month": month[ok], "sex": sex[ok], "band": band[ok], "n": n[ok]})
            sexes |= set(part["sex"].unique())
            counts.append(part.groupby(["practice_id", "month", "sex", "band"], as_index=False, sort=False)["n"].sum())
        if any(r in col for r in HIERARCHY_ROLES):
            hier = pd.DataFrame({"practice_id": pid[ok], "month": month[ok]})
            for r in HIERARCHY_ROLES:
                if r in col:
                    hier[r] = col[r][ok].mask(col[r][ok] == "")
            mapping.append(hier.drop_duplicates(["practice_id", "month"], keep="last"))
    if problems:
        problems = sorted(problems, key=lambda x: (x[0] or 0))
        shown = "; ".join(f"line {ln}: {why}" for ln, why in problems[:MAX_PROBLEMS])
        more = f"; and {len(problems) - MAX_PROBLEMS} more" if len(problems) > MAX_PROBLEMS else ""
        raise NationalDataError(f"{source.name}: {len(problems)} row(s) cannot be read, nothing taken: {shown}{more}")
    return counts, mapping, sexes - {""}


def _profile(counts: list[pd.DataFrame], sexes_by_file: dict[str, set[str]]) -> pd.DataFrame:
    """List size and age shares per practice and month from grouped counts."""
    allc = pd.concat(counts, ignore_index=True).groupby(["practice_id", "month", "sex", "band"], as_index=False)["n"].max()
    sexes = set(allc["sex"].unique())
    if _ALL in sexes:
        allc = allc[allc["sex"] == _ALL]
    elif sexes and sexes <= {"MALE", "FEMALE"} and len(sexes) == 1:
        (only,) = sexes
        other = "FEMALE" if only == "MALE" else "MALE"
        files = ", ".join(f for f, s in sexes_by_file.items() if only in s)
        raise NationalDataError(
            f"{files}: only {only} patients; read it with the {other.lower()} file "
            f"(gp-reg-pat-prac-sing-age-{other.lower()}.csv) for whole lists"
        )
    wide = allc.pivot_table(index=["practice_id", "month"], columns="band", values="n", aggfunc="sum")
    bands = wide.reindex(columns=list(AGE_SHARES))
    aged = bands.sum(axis=1, min_count=1)
    out = pd.DataFrame(index=wide.index)
    out["list_size"] = wide[_ALL] if _ALL in wide.columns else aged
    out["list_size"] = out["list_size"].fillna(aged)
    for c in AGE_SHARES:
        out[c] = (bands[c].fillna(0) / aged).where(aged > 0)
    return out.reset_index()


def registry_rows(registered: pd.DataFrame) -> pd.DataFrame:
    """Registry rows (:func:`telephony.practices.update_registry`) from
    :func:`read_patients_registered`: valid from the extract's month; only the columns the
    files gave (the others stay as the registry holds them)."""
    rows = registered.rename(columns={"month": "valid_from", "practice_name": "name"})
    filled = [c for c in rows.columns if c in ("practice_id", "valid_from") or rows[c].notna().any()]
    return rows[filled]


def ingest_registered(store: Store, paths: str | Path | Iterable[str | Path]) -> RegistryUpdate:
    """Read registered-patients files into the practices registry, dated by extract month.

    Parameters
    ----------
    store : Store
    paths : path or iterable of paths
        As :func:`read_patients_registered` takes them.

    Returns
    -------
    RegistryUpdate
        Rows added and changed (a month read again changes nothing).
    """
    paths = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    reg = read_patients_registered(paths)
    return update_registry(store, registry_rows(reg), source=", ".join(p.name for p in paths))
