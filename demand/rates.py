"""Rates per 1,000 registered patients, per practice and period, rolled up to PCN and federation.

A practice of 12,000 patients gets twice the calls of one of 6,000 for the same reason it has
twice the patients; comparing practices starts by dividing every count by the list size. The
list size is the registry's as of the period (list sizes change monthly: see
:func:`list_size_as_of`). Groups of practices (a PCN, a federation) get their rate as the sum of
their counts over the sum of their list sizes, *never* the mean of their practices' rates: a
mean of rates weighs a 3,000-patient practice like a 20,000-patient one.

Frames
------
counts
    ``practice_id``, ``period`` (naive ``datetime64``: the first day of the week, month or
    quarter, see :func:`period_start`) and integer count columns (e.g. the output of
    :func:`demand.like_for_like.cbt_outcomes`).
registry
    The practices registry (:mod:`telephony.practices`): ``practice_id``, ``list_size`` and,
    for roll-ups, ``pcn_code``, ``pcn_name``, ``federation``; optionally dated by
    ``valid_from`` (a row holds from that day until the practice's next row; null = always),
    as ``registry_history`` returns it.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from demand.definitions import MetricsInputError

__all__ = [
    "PERIODS",
    "LEVELS",
    "period_start",
    "count_columns_of",
    "to_periods",
    "list_size_as_of",
    "rates_per_1000",
    "roll_up",
]

#: Period words and the pandas period each stands for (weeks start on Monday).
PERIODS: dict[str, str] = {"day": "D", "week": "W-SUN", "month": "M", "quarter": "Q-DEC"}
#: Roll-up levels and the registry column that names the group.
LEVELS: dict[str, tuple[str, ...]] = {
    "practice": ("practice_id",),
    "pcn": ("pcn_code", "pcn_name"),
    "federation": ("federation",),
}
_KEYS = ("practice_id", "period")
# The day an undated registry row holds from: before any period Frontdoor measures.
_ALWAYS = pd.Timestamp("1900-01-01").as_unit("us")


def _check_period(period: str) -> str:
    if period not in PERIODS:
        raise MetricsInputError(f"Unknown period {period!r}. Use one of: {', '.join(PERIODS)}.")
    return period


def period_start(dates: pd.Series, period: str) -> pd.Series:
    """First day of the week (Monday), month or quarter holding each local date.

    Parameters
    ----------
    dates : pandas.Series
        Local calendar dates (naive ``datetime64`` or ``datetime.date``).
    period : {"day", "week", "month", "quarter"}

    Returns
    -------
    pandas.Series
        Naive ``datetime64[us]`` midnights, same index.
    """
    _check_period(period)
    d = pd.to_datetime(pd.Series(dates)).dt.normalize()
    if period == "day":
        out = d
    else:
        out = d.dt.to_period(PERIODS[period]).dt.start_time
    return out.astype("datetime64[us]")


def count_columns_of(frame: pd.DataFrame, exclude: Iterable[str] = ()) -> list[str]:
    """The integer columns of ``frame`` other than keys and ``exclude``: the counts to rate."""
    skip = set(_KEYS) | {"list_size"} | set(exclude)
    return [c for c in frame.columns if c not in skip and pd.api.types.is_integer_dtype(frame[c])]


def to_periods(counts: pd.DataFrame, period: str, *, date: str = "period", count_columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Sum a practice's daily (or finer-period) counts to weeks, months or quarters.

    Parameters
    ----------
    counts : pandas.DataFrame
        ``practice_id``, a date column ``date`` and count columns.
    period : {"day", "week", "month", "quarter"}
    date : str
        The column holding each row's local date (default ``period``).
    count_columns : sequence of str, optional
        The counts to sum (default: every integer column).

    Returns
    -------
    pandas.DataFrame
        ``practice_id, period`` and the summed counts (int64), sorted.

    Notes
    -----
    Sum days, not weeks: a week that straddles two months belongs to neither whole, so monthly
    and quarterly counts must be built from days (or from the calls themselves).
    """
    cols = list(count_columns) if count_columns is not None else count_columns_of(counts, exclude=[date])
    keyed = pd.DataFrame({"practice_id": counts["practice_id"].astype(str), "period": period_start(counts[date], period)})
    for c in cols:
        keyed[c] = counts[c].to_numpy()
    out = keyed.groupby(["practice_id", "period"], sort=True, as_index=False)[cols].sum()
    for c in cols:
        out[c] = out[c].astype("int64")
    return out


def list_size_as_of(registry: pd.DataFrame, keys: pd.DataFrame, columns: Sequence[str] = ("list_size",)) -> pd.DataFrame:
    """Registry values (list size, PCN, federation...) holding for each practice on each day.

    Parameters
    ----------
    registry : pandas.DataFrame
        ``practice_id``, ``columns`` and optionally ``valid_from`` (null = always).
    keys : pandas.DataFrame
        ``practice_id`` and ``period`` (the day the value must hold on: a period's first day).
    columns : sequence of str
        Registry columns to fetch.

    Returns
    -------
    pandas.DataFrame
        ``keys`` with ``columns`` added, same row order; null where the registry has no row
        for the practice holding on that day.

    Notes
    -----
    For each practice, column and day, the value of the row with the latest ``valid_from`` on
    or before the day that has one is used (an update may fill only some columns); a row without ``valid_from`` holds always but gives way to any dated row that holds.
    A practice whose first dated row starts after the day has no list size then (not known,
    and a later one is not guessed back); its other columns (PCN, federation) are taken from
    its first row.
    """
    missing = [c for c in ("practice_id", *columns) if c not in registry.columns]
    if missing:
        raise MetricsInputError(f"The registry has no column {', '.join(missing)}; it has {', '.join(map(str, registry.columns))}.")
    reg = registry[["practice_id", *columns] + (["valid_from"] if "valid_from" in registry.columns else [])].copy()
    reg["practice_id"] = reg["practice_id"].astype(str)
    if "valid_from" in reg.columns:
        vf = pd.to_datetime(reg["valid_from"]).astype("datetime64[us]")
    else:
        vf = pd.Series(pd.NaT, index=reg.index, dtype="datetime64[us]")
    # undated rows sort first (they hold always, but give way to a dated row that holds)
    reg["_from"] = vf.fillna(_ALWAYS)
    reg = reg.sort_values(["_from", "practice_id"], kind="stable")
    left = pd.DataFrame({"practice_id": keys["practice_id"].astype(str).to_numpy(), "_on": pd.to_datetime(keys["period"]).astype("datetime64[us]").to_numpy(), "_row": np.arange(len(keys))})
    left = left.sort_values("_on", kind="stable")
    out = keys.reset_index(drop=True).copy()
    pid = out["practice_id"].astype(str)
    for c in columns:
        # column by column: a registry update may fill some columns and leave others null, and
        # each column's latest known value holds (as telephony.practices.read_registry reads it)
        has = reg[reg[c].notna()]
        merged = pd.merge_asof(left, has[["practice_id", "_from", c]], left_on="_on", right_on="_from", by="practice_id", direction="backward")
        values = pd.Series(merged.sort_values("_row")[c].to_numpy(), index=out.index)
        if c != "list_size":
            # membership (PCN, federation) rarely changes: before a practice's first row, its
            # first row's group holds, so that its counts are not split off into a null group
            first = has.drop_duplicates("practice_id", keep="first").set_index("practice_id")[c]
            values = values.where(values.notna(), pid.map(first))
        out[c] = values.to_numpy()
    if "list_size" in columns:
        out["list_size"] = pd.array(out["list_size"], dtype="Int64")
    return out


def _per_1000(counts: pd.DataFrame, list_size: pd.Series, cols: Sequence[str]) -> dict[str, np.ndarray]:
    size = pd.to_numeric(list_size, errors="coerce").astype("float64").to_numpy()
    size = np.where(size > 0, size, np.nan)  # no list size (or zero): no rate, never a division by zero
    return {f"{c}_per_1000": counts[c].to_numpy(dtype="float64") / size * 1000.0 for c in cols}


def rates_per_1000(counts: pd.DataFrame, registry: pd.DataFrame, *, count_columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Every count per 1,000 registered patients, per practice and period.

    Parameters
    ----------
    counts : pandas.DataFrame
        ``practice_id``, ``period`` and count columns.
    registry : pandas.DataFrame
        ``practice_id``, ``list_size`` (and ``valid_from`` when dated).
    count_columns : sequence of str, optional
        Counts to rate (default: every integer column).

    Returns
    -------
    pandas.DataFrame
        ``counts`` with ``list_size`` (Int64, as of the period's first day) and
        ``<count>_per_1000`` (float; NaN where the list size is unknown or zero).
    """
    cols = list(count_columns) if count_columns is not None else count_columns_of(counts)
    out = list_size_as_of(registry, counts)
    out = out.assign(**_per_1000(out, out["list_size"], cols))
    return out


def roll_up(
    counts: pd.DataFrame,
    registry: pd.DataFrame,
    level: str = "pcn",
    *,
    count_columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Counts and rates per 1,000 of PCNs or federations: sums of counts over sums of list sizes.

    Parameters
    ----------
    counts : pandas.DataFrame
        ``practice_id``, ``period`` and count columns, one row per practice and period.
    registry : pandas.DataFrame
        ``practice_id``, ``list_size``, ``pcn_code``, ``pcn_name``, ``federation`` (and
        ``valid_from`` when dated): a practice belongs to the PCN its registry row of the
        period says.
    level : {"practice", "pcn", "federation"}
    count_columns : sequence of str, optional
        Counts to sum (default: every integer column).

    Returns
    -------
    pandas.DataFrame
        The level's key columns (``pcn_code, pcn_name`` / ``federation`` / ``practice_id``),
        ``period``, ``practices`` (how many practices' rows were summed), the summed counts,
        ``list_size`` (sum) and ``<count>_per_1000``.

    Notes
    -----
    A group's rate is withheld (NaN) for a period when any of its practices has no list size
    then: dividing all the group's calls by part of its patients would overstate it. Practices
    without a PCN (or federation) are grouped under a null key rather than dropped, so that
    the groups' counts add up to all the practices' counts.
    """
    if level not in LEVELS:
        raise MetricsInputError(f"Unknown level {level!r}. Use one of: {', '.join(LEVELS)}.")
    cols = list(count_columns) if count_columns is not None else count_columns_of(counts)
    keys = [k for k in LEVELS[level] if k != "practice_id"]
    fetched = list_size_as_of(registry, counts, ["list_size", *keys])
    group = list(LEVELS[level]) + ["period"]
    fetched["_known"] = fetched["list_size"].notna()
    fetched["_size"] = fetched["list_size"].fillna(0).astype("int64")
    agg = {c: (c, "sum") for c in cols}
    agg.update(practices=("practice_id", "nunique"), list_size=("_size", "sum"), _all_known=("_known", "all"))
    out = fetched.groupby(group, sort=True, dropna=False, as_index=False).agg(**agg)
    out["list_size"] = pd.array(np.where(out["_all_known"], out["list_size"], pd.NA), dtype="Int64")
    out = out.drop(columns="_all_known")
    for c in cols:
        out[c] = out[c].astype("int64")
    out = out.assign(**_per_1000(out, out["list_size"], cols))
    return out[group[:-1] + ["period", "practices"] + cols + ["list_size"] + [f"{c}_per_1000" for c in cols]]
