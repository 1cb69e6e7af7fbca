"""Section 3, demand against capacity: per day and session, callers against same-day slots, when
the slots ran out and who was turned away; appointments by role and mode, and DNAs."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from demand.capacity import capacity_metrics
from demand.demand_capacity import demand_capacity
from telephony.errors import FrontdoorError

from reports.inputs import local_midnight_utc
from reports.metrics import WeekMetrics

__all__ = ["Capacity", "capacity"]


@dataclass
class Capacity:
    """Demand against capacity.

    Attributes
    ----------
    sessions : pandas.DataFrame or None
        :func:`demand.demand_capacity.demand_capacity` rows of the week (per day and session).
    days : pandas.DataFrame or None
        Per day: ``date, callers`` (people, once a day), ``attempts, same_day_released,
        same_day_booked, exhausted_at`` (local time or NaT), ``turned_away_no_capacity,
        turned_away_not_through, turned_away``.
    appointments : pandas.DataFrame or None
        ``role, mode, booked, slots_offered`` of the week (:func:`demand.capacity.capacity_metrics`).
    dna : pandas.DataFrame or None
        Per role: ``role, attended, dna, dna_rate``.
    notes : list of str
    """

    sessions: pd.DataFrame | None
    days: pd.DataFrame | None
    appointments: pd.DataFrame | None
    dna: pd.DataFrame | None
    notes: list[str] = field(default_factory=list)


def capacity(m: WeekMetrics) -> Capacity:
    """The measured week's demand against its same-day capacity, appointments and DNAs."""
    week, tz = m.week, m.tz
    notes: list[str] = []
    sessions = days = appointments = dna = None
    if not m.has_slots:
        notes.append(
            f"No appointment slots of {m.practice_id} in the store for this week, so demand cannot be set against "
            "capacity. Ingest the clinical system's slot export ('frontdoor ingest appointments')."
        )
        return Capacity(None, None, None, None, notes)
    start, end = week.start.isoformat(), week.end.isoformat()
    sw = m.slots
    ws = sw.loc[(sw["start_utc"] >= local_midnight_utc(week.start, tz)).to_numpy(dtype=bool)]
    if m.has_calls:
        try:
            sessions = demand_capacity(m.calls, sw, tz, start=start, end=end)
        except FrontdoorError as err:
            notes.append(f"Demand against capacity could not be measured: {err}")
    else:
        notes.append("No calls this week: capacity is shown without the demand it met.")
    wex = m.in_week(m.exhaustion)
    if sessions is not None and len(sessions):
        days = sessions.groupby("date", as_index=False).agg(
            callers=("new_callers", "sum"),
            attempts=("attempts", "sum"),
            same_day_released=("same_day_released", "sum"),
            same_day_booked=("same_day_booked", "sum"),
            exhausted_at=("same_day_exhausted_at", "first"),
            turned_away_no_capacity=("turned_away_no_capacity", "sum"),
            turned_away_not_through=("turned_away_not_through", "sum"),
            turned_away=("turned_away", "sum"),
        )
    elif len(wex):
        days = pd.DataFrame(
            {
                "date": wex["date"].to_numpy(),
                "same_day_released": wex["same_day_released"].to_numpy(),
                "same_day_booked": wex["same_day_booked"].to_numpy(),
                "exhausted_at": wex["exhausted_at"].to_numpy(),
            }
        )
    if days is not None and len(days):
        if not (pd.to_datetime(days["exhausted_at"]).notna()).any() and (wex["booked_time_unknown"] > 0).any():
            notes.append(
                "The slot export does not say when every same-day slot was booked, so when capacity ran out is unknown "
                "on some days (and nobody is counted as turned away for lack of capacity then)."
            )
    if len(ws):
        cm = capacity_metrics(ws, tz, ("role", "mode"), start, end)
        appointments = cm.groupby(["role", "mode"], as_index=False, sort=False)[["booked", "slots_offered"]].sum()
        appointments = appointments[(appointments["booked"] > 0) | (appointments["slots_offered"] > 0)].reset_index(drop=True)
        d = cm.groupby("role", as_index=False, sort=False)[["attended", "dna"]].sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            seen = d["attended"] + d["dna"]
            d["dna_rate"] = np.where(seen > 0, d["dna"] / seen.where(lambda x: x > 0), np.nan)
        dna = d.reset_index(drop=True)
    return Capacity(sessions, days, appointments, dna, notes)
