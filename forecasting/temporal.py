"""One forecast at every granularity: finer forecasts reconciled to the daily totals.

A practice's calls forecast per day and per hour by two fits disagree: the day's total from
the daily model (Monday 206.8) is not the sum of the hourly model's hours (208.2), and a page
or a command line that shows both contradicts itself. This module makes them one forecast,
top-down (Athanasopoulos, Hyndman, Kourentzes & Petropoulos 2017, "Forecasting with temporal
hierarchies", EJOR 262:60-74, use the same structure; top-down is its simplest reconciliation):

- the **daily** forecast is the total of each day (daily models see the weekly pattern and the
  level with far less noise than 24 hourly series do, and the daily total is what a practice
  plans its week by);
- the **finer** forecast (hour, half hour) only gives each day its *shape*: its periods are
  scaled, per series and day, so that they add up to the day's total exactly.

Intervals: each finer period's bounds are scaled with its point forecast (the same factor),
so an hour keeps the width its own model gave it relative to its level, and ``lo <= mean <=
hi`` holds. Intervals do not add up (the 80% range of a day is narrower than the sum of its
hours' ranges, as the hours' errors partly cancel): the day's interval is the daily model's.

Pure functions over the models' ``predict`` frames (``unique_id, ds, <alias>,
<alias>-lo-80, ...``; ``ds`` naive local time), no I/O.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from forecasting.base import DS, ID, Y, ForecastInputError, freq_minutes, infer_freq
from forecasting.pipeline import forecast_series

__all__ = ["day_totals", "horizon_days", "value_columns", "reconcile", "coherent_forecasts"]


def day_totals(fine: pd.DataFrame) -> pd.DataFrame:
    """A finer history (``unique_id, ds, y``) summed per local day: the daily series it implies.

    A day is counted when it has any period in ``fine``; missing periods count nothing.
    """
    for c in (ID, DS, Y):
        if c not in fine.columns:
            raise ForecastInputError(f"The series lacks column {c}; give unique_id, ds, y.")
    day = pd.to_datetime(fine[DS]).dt.normalize()
    out = fine.assign(**{DS: day}).groupby([ID, DS], as_index=False, sort=True)[Y].sum(min_count=1)
    return out


def value_columns(fc: pd.DataFrame) -> tuple[str, list[str]]:
    """The point-forecast column of a ``predict`` frame and its interval columns."""
    values = [c for c in fc.columns if c not in (ID, DS) and not c.startswith("_")]
    points = [c for c in values if "-lo-" not in c and "-hi-" not in c]
    if len(points) != 1:
        raise ForecastInputError(
            f"A forecast frame needs exactly one point-forecast column beside unique_id, ds and its bounds; got {points}."
        )
    p = points[0]
    return p, [c for c in values if c.startswith(f"{p}-lo-") or c.startswith(f"{p}-hi-")]


def horizon_days(periods: int, freq_minutes: int) -> int:
    """Whole days a horizon of ``periods`` finer periods reaches into (at least one)."""
    per_day = 1440 // int(freq_minutes)
    return max(1, math.ceil(int(periods) / per_day))


def reconcile(daily: pd.DataFrame, fine: pd.DataFrame) -> pd.DataFrame:
    """Scale a finer forecast so that each day's periods add up to the daily forecast.

    Parameters
    ----------
    daily : pandas.DataFrame
        A daily ``predict`` frame (``unique_id, ds`` at midnight, the point column and bounds).
    fine : pandas.DataFrame
        A finer ``predict`` frame of the same series (hourly, half-hourly), covering at least
        the days of ``daily``.

    Returns
    -------
    pandas.DataFrame
        ``fine``'s rows on the days of ``daily`` (periods of other days left out), its point
        forecast and bounds multiplied per series and day by ``daily total / sum of the
        day's finer points``. A day the finer model gives nothing but the daily model does
        (rare: the finer model sees the day as closed) is spread evenly over the day's
        periods, so the totals still agree.

    Raises
    ------
    forecasting.base.ForecastInputError
        When a day of ``daily`` has no finer period at all.
    """
    dp, _ = value_columns(daily)
    fp, fb = value_columns(fine)
    d = daily[[ID, DS, dp]].copy()
    d[DS] = pd.to_datetime(d[DS]).dt.normalize()
    f = fine.copy()
    f["_day"] = pd.to_datetime(f[DS]).dt.normalize()
    f = f.merge(d.rename(columns={DS: "_day", dp: "_total"}), on=[ID, "_day"], how="inner")
    have = set(zip(f[ID], f["_day"]))
    lost = [(u, x) for u, x in zip(d[ID], d[DS]) if (u, x) not in have]
    if lost:
        u, x = lost[0]
        raise ForecastInputError(
            f"The finer forecast has no period on {x:%Y-%m-%d} of series {u}; forecast it as far as the daily one."
        )
    f[fp] = f[fp].clip(lower=0)
    keys = [ID, "_day"]
    s = f.groupby(keys)[fp].transform("sum").to_numpy(dtype="float64")
    n = f.groupby(keys)[fp].transform("size").to_numpy(dtype="float64")
    total = f["_total"].to_numpy(dtype="float64").clip(min=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(s > 0, total / s, 0.0)
    flat = (s <= 0) & (total > 0)
    point = f[fp].to_numpy(dtype="float64") * factor
    point[flat] = total[flat] / n[flat]
    if flat.any():  # a flat day's bounds keep the daily interval's ratio to the daily total
        dd = daily.assign(_day=pd.to_datetime(daily[DS]).dt.normalize()).set_index(keys)
        at = pd.MultiIndex.from_arrays([f[ID], f["_day"]])
    for c in fb:
        v = f[c].to_numpy(dtype="float64").clip(min=0) * factor
        if flat.any():
            ratio = (dd[c.replace(fp, dp, 1)] / dd[dp]).reindex(at).to_numpy(dtype="float64")
            v[flat] = point[flat] * ratio[flat]
        f[c] = v
    f[fp] = point
    return f.drop(columns=["_day", "_total"]).sort_values([ID, DS], kind="stable").reset_index(drop=True)


def coherent_forecasts(
    fine_history: pd.DataFrame,
    model,
    days: int,
    calendar=None,
    level=(80, 95),
    daily_history: pd.DataFrame | None = None,
):
    """Forecast a series per day and per finer period, the finer reconciled to the daily.

    Parameters
    ----------
    fine_history : pandas.DataFrame
        ``unique_id, ds, y`` per hour or half hour (naive local time).
    model : str or Model
        Registry name (:data:`forecasting.models.MODELS`) of both fits.
    days : int
        Days to forecast, from the day after the daily history's last day.
    calendar : optional
        The practices' calendars (:func:`forecasting.pipeline.forecast_series`).
    level : tuple of int
        Interval levels.
    daily_history : pandas.DataFrame, optional
        The daily series, when it is counted apart (e.g. the store's daily series); default:
        :func:`day_totals` of ``fine_history``.

    Returns
    -------
    (daily, fine, daily_model, fine_model)
        Both ``predict`` frames over the same whole days (the finer periods of a day the
        history ends in are left out: the first period printed is the horizon's first), and
        the fitted models.
    """
    daily_history = day_totals(fine_history) if daily_history is None else daily_history
    dfc, dm = forecast_series(daily_history, model, int(days), calendar, level=level)
    first = pd.to_datetime(dfc[DS]).min().normalize()
    end = pd.to_datetime(dfc[DS]).max().normalize() + pd.Timedelta(days=1)
    step = pd.Timedelta(minutes=freq_minutes(infer_freq(fine_history[DS], fine_history[ID])))
    last = pd.to_datetime(fine_history[DS]).max()
    h = int((end - last) / step) - 1
    if h < 1:
        raise ForecastInputError("The finer series runs past the days forecast; give the daily series of the same period.")
    ffc, fm = forecast_series(fine_history, model, h, calendar, level=level)
    ffc = ffc[pd.to_datetime(ffc[DS]) >= first].reset_index(drop=True)
    return dfc, reconcile(dfc, ffc), dm, fm
