"""The national picture per practice and month: the CBT row with the practice's GPAD counts
beside it.

NHS England's CBT publication counts calls; NHS Digital's GPAD counts appointments (already in
the store's ``gpad`` table, :func:`demand.appointments.schema.read_gpad_counts`). Both are
monthly and per practice, on the same ODS codes: side by side they show calls per appointment
booked, and which practices appear in one collection but not the other.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from demand.appointments.schema import read_gpad_counts
from demand.national.cbt import read_national_cbt
from telephony.store import Store

# GPAD columns beside the CBT row: the appointments of the month, and the splits a comparison
# of calls with appointments needs (GPAD's own words, matched without case or extra spaces).
GPAD_SPLITS: dict[str, tuple[str, str]] = {
    "gpad_attended": ("appt_status", "attended"),
    "gpad_dna": ("appt_status", "dna"),
    "gpad_same_day": ("time_between_book_and_appt", "same day"),
    "gpad_telephone": ("appt_mode", "telephone"),
    "gpad_face_to_face": ("appt_mode", "face-to-face"),
}
GPAD_COLUMNS: tuple[str, ...] = ("gpad_appointments",) + tuple(GPAD_SPLITS)


def gpad_monthly(gpad: pd.DataFrame) -> pd.DataFrame:
    """GPAD counts (:data:`~demand.appointments.schema.GPAD_SCHEMA` rows) summed per practice
    and month: all appointments and the splits of :data:`GPAD_SPLITS`.

    Returns
    -------
    pandas.DataFrame
        ``practice_id``, ``month`` (``datetime64[ns]``, first of the month) and
        :data:`GPAD_COLUMNS` (``Int64``).
    """
    if gpad.empty:
        return pd.DataFrame({"practice_id": pd.Series(dtype="string"), "month": pd.Series(dtype="datetime64[ns]"),
                             **{c: pd.Series(dtype="Int64") for c in GPAD_COLUMNS}})
    df = pd.DataFrame({
        "practice_id": gpad["practice_id"].astype("string"),
        "month": gpad["month_start"].dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]"),
        "gpad_appointments": gpad["count"].astype("int64"),
    })
    for name, (column, word) in GPAD_SPLITS.items():
        words = gpad[column].astype("string").str.lower().str.split().str.join(" ")
        df[name] = gpad["count"].where(words == word, 0).astype("int64")
    out = df.groupby(["practice_id", "month"], as_index=False, sort=True).sum()
    return out.astype({c: "Int64" for c in GPAD_COLUMNS})


def national_picture(cbt: pd.DataFrame, gpad: pd.DataFrame, *, how: str = "left") -> pd.DataFrame:
    """CBT rows with the practice's GPAD appointments of the same month beside them.

    Parameters
    ----------
    cbt : pandas.DataFrame
        National CBT rows (:func:`demand.national.cbt.read_national_cbt`). Unassigned rows are
        kept, with no GPAD figures: GPAD has no such practice.
    gpad : pandas.DataFrame
        GPAD rows (:func:`~demand.appointments.schema.read_gpad_counts`).
    how : {"left", "outer"}
        ``left``: one row per CBT row. ``outer``: also the practices and months GPAD has and
        CBT has not (their CBT columns null, ``unassigned`` false).

    Returns
    -------
    pandas.DataFrame
        The CBT columns, then :data:`GPAD_COLUMNS` (null where GPAD has no row for the
        practice and month, never 0), sorted by month and practice.
    """
    if how not in ("left", "outer"):
        raise ValueError(f"how must be 'left' or 'outer', not {how!r}")
    monthly = gpad_monthly(gpad)
    assigned = cbt[~cbt["unassigned"]]
    joined = assigned.merge(monthly, on=["month", "practice_id"], how=how)
    joined["unassigned"] = joined["unassigned"].fillna(False).astype(bool)
    out = pd.concat([joined, cbt[cbt["unassigned"]]], ignore_index=True)
    out = out.astype({c: "Int64" for c in GPAD_COLUMNS})
    return out.sort_values(["month", "unassigned", "practice_id"], kind="stable").reset_index(drop=True)


def read_national_picture(store: Store, months: Iterable | None = None, *, how: str = "left") -> pd.DataFrame:
    """:func:`national_picture` of the store's national CBT table and GPAD counts.

    Parameters
    ----------
    store : Store
    months : iterable of date-like, optional
        Months wanted (any day of the month, or ``YYYY-MM``); all by default.
    how : {"left", "outer"}
    """
    cbt = read_national_cbt(store, months)
    if months is None:
        gpad = read_gpad_counts(store)
    else:
        starts = sorted({pd.Timestamp(pd.Timestamp(m).year, pd.Timestamp(m).month, 1) for m in months})
        gpad = read_gpad_counts(store, None, starts[0].tz_localize("UTC"), (starts[-1] + pd.offsets.MonthBegin(1)).tz_localize("UTC"))
        gpad = gpad[gpad["month_start"].dt.tz_convert("UTC").dt.tz_localize(None).isin(starts)]
    return national_picture(cbt, gpad, how=how)
