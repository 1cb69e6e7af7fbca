"""Section 2, when demand arrives: attempts and new callers by weekday and hour, the Monday
profile over the history, new callers against redials by hour."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from demand.demand_capacity import monday_profile
from telephony.errors import FrontdoorError

from reports.inputs import local_midnight_utc
from reports.metrics import WeekMetrics

__all__ = ["Arrival", "arrival"]


@dataclass
class Arrival:
    """When demand arrives.

    Attributes
    ----------
    attempts, new_callers : pandas.DataFrame
        7 × 24 (index weekday 0 = Monday, columns local hour 0–23) of the week's inbound
        attempts and of callers ringing for the first time that day
        (:func:`demand.callers.caller_metrics_hourly`).
    by_hour : pandas.DataFrame
        ``hour, attempts, new_callers, repeat_attempts`` summed over the week.
    monday : pandas.DataFrame or None
        :func:`demand.demand_capacity.monday_profile` over the history (bank holidays left out).
    monday_period : tuple of date or None
        First and last day the profile averages.
    notes : list of str
    """

    attempts: pd.DataFrame
    new_callers: pd.DataFrame
    by_hour: pd.DataFrame
    monday: pd.DataFrame | None
    monday_period: tuple | None
    notes: list[str] = field(default_factory=list)


def arrival(m: WeekMetrics) -> Arrival:
    """When the measured week's demand arrived, and the Monday profile of the history."""
    inp = m.inputs
    notes: list[str] = []
    hours = list(range(24))
    wk_hourly = m.week_hourly
    if wk_hourly is not None and len(wk_hourly):
        wd = pd.to_datetime(wk_hourly["date"]).dt.day_of_week.to_numpy()
        hr = wk_hourly["hour"].to_numpy()
        cell = wd * 24 + hr  # the autumn change's two 01:00 hours add up in one cell

        def grid(col):
            v = np.bincount(cell, weights=wk_hourly[col].to_numpy(dtype="float64"), minlength=7 * 24)
            return pd.DataFrame(v.reshape(7, 24).astype("int64"), index=range(7), columns=hours)

        attempts, new = grid("attempts"), grid("new_callers")
        by_hour = pd.DataFrame(
            {
                "hour": hours,
                "attempts": attempts.sum(axis=0).to_numpy(),
                "new_callers": new.sum(axis=0).to_numpy(),
            }
        )
        by_hour["repeat_attempts"] = by_hour["attempts"] - by_hour["new_callers"]
    else:
        attempts = pd.DataFrame(0, index=range(7), columns=hours, dtype="int64")
        new = attempts.copy()
        by_hour = pd.DataFrame({"hour": hours, "attempts": 0, "new_callers": 0, "repeat_attempts": 0})
    if not m.has_calls:
        notes.append("No calls this week, so there is no pattern to show.")

    monday = period = None
    if m.has_calls and len(inp.slots):
        # the days the store has calls for, up to the week's end: days after the last call
        # are missing data, not quiet days, and would drag the averages down
        first = max(inp.history_start, inp.calls["start_utc"].min().tz_convert(inp.tz).date())
        last = inp.calls["start_utc"].max().tz_convert(inp.tz).date()
        after = last + _dt.timedelta(days=1)
        excl = sorted(d for d in m.holidays if first <= d <= last)
        s_utc = inp.slots["start_utc"]
        keep = (s_utc >= local_midnight_utc(first, inp.tz)) & (s_utc < local_midnight_utc(after, inp.tz))
        slots = inp.slots.loc[keep.to_numpy(dtype=bool)]
        try:
            if len(slots):
                monday = monday_profile(inp.calls, slots, inp.tz, first.isoformat(), after.isoformat(), exclude_dates=excl)
                period = (first, last)
        except FrontdoorError as err:
            notes.append(f"The Monday profile could not be measured: {err}")
        if monday is not None:
            days = monday.groupby("day_type")["days"].first()
            if int(days.get("Monday", 0)) == 0:
                notes.append("No Monday in the history (bank holidays left out): no Monday profile.")
                monday = None
    if monday is None and not any("Monday profile" in n for n in notes):
        if not len(inp.slots):
            notes.append(
                "The Monday profile sets calls beside same-day appointments, and the store has no appointment slots "
                f"for {m.practice_id}: ingest its slot export ('frontdoor ingest appointments') to see it."
            )
    return Arrival(attempts, new, by_hour, monday, period, notes)
