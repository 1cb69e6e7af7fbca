"""Section 4, next week: the forecasts with their intervals, the highest-pressure sessions, the
call-handler rota per half hour and the clinician sessions per day.

The numbers are :func:`forecasting.outlook.outlook_week`'s; this module only puts them in the
section's shape and says in words what could not be made and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from forecasting.outlook import (
    PLAN_QUANTILE,
    PRESSURE_THRESHOLD,
    HandlerRota,
    ModelUsed,
    SameDayPlan,
    SessionPressure,
    WeekOutlook,
    change_words,
)

from reports import text as T
from reports.week import ReportWeek

__all__ = ["MODEL_WORDS", "NextWeek", "next_week", "model_words", "could_not", "same_day_notes"]

#: How the page names each model (by registry name).
MODEL_WORDS = {
    "seasonal_average": "the average of the same weekday and time over the last four ordinary weeks",
    "seasonal_naive": "the same weekday and time last week",
    "ets": "exponential smoothing (ETS) of daily totals, spread by the usual daily shape",
    "mstl": "MSTL (daily and weekly seasonal decomposition)",
    "prophet": "Prophet with the practice calendar",
}
_PERIOD = {"D": "day", "h": "hour"}


@dataclass
class NextWeek:
    """Next week: forecasts, pressure, rota, sessions.

    Attributes
    ----------
    week : ReportWeek or None
    daily : pandas.DataFrame or None
        ``ds`` (naive local date), ``mean, lo80, hi80, lo95, hi95`` (calls), ``closed``.
    hourly : pandas.DataFrame or None
        The same per local hour.
    models : dict
        Which model made each forecast (words), e.g. ``{"calls by day": "..."}``.
    pressure : pandas.DataFrame or None
        :attr:`forecasting.outlook.SessionPressure.pressure`: next week's sessions ranked by
        the chance of too few same-day slots, with ``capacity_source`` (``in the book`` or
        ``usual``).
    rota : pandas.DataFrame or None
        :attr:`forecasting.outlook.HandlerRota.rota`: per open half hour ``ds, calls,
        first_attempts, erlang_agents`` (the requirement), ``required_rostered, rostered,
        on_phones, unmet, headcount, handlers, service_level, abandon_rate, seen_last_week``.
    rota_settings : dict or None
        ``aht_s, patience_s, checked, quantile, shift_lengths``, the rota's targets, and
        ``headcount`` and ``headcount_source``.
    shifts : pandas.DataFrame or None
        The rota's shifts: ``date, start, end, hours, people``.
    rota_days : pandas.DataFrame or None
        Per day: headcount, people and hours rostered, half hours unmet, simulated service.
    rush : forecasting.planning.rush.RushTradeoff or None
        The busiest opening played for each number of handlers and each lever.
    replay : forecasting.outlook.Replay or None
        The last weeks' rotas, made from the data before each, played against what happened.
    sessions : pandas.DataFrame or None
        :attr:`forecasting.outlook.SameDayPlan.sessions`: ``date, session, role, before,
        after`` (clinician sessions with same-day work, before and after the changes).
    session_changes : pandas.DataFrame or None
        :attr:`forecasting.outlook.SameDayPlan.changes`: the sessions moved or added.
    session_summary : pandas.DataFrame or None
        :attr:`forecasting.outlook.SameDayPlan.summary`: per day and session, demand,
        capacity and the chance of too few before and after.
    session_days : pandas.DataFrame or None
        Per day with demand: ``ds, demand, demand_hi80, sessions_before, sessions_after,
        capacity_before, capacity_after, short_after, booked_slots`` and ``changes`` (words).
    session_settings : dict or None
        ``roles`` (:func:`forecasting.planning.peak_pressure.same_day_roles`), ``source``
        (``in the book`` or ``usual``), ``threshold``, ``quantile``.
    notes : list of str
    """

    week: ReportWeek | None = None
    daily: pd.DataFrame | None = None
    hourly: pd.DataFrame | None = None
    models: dict = field(default_factory=dict)
    pressure: pd.DataFrame | None = None
    rota: pd.DataFrame | None = None
    rota_settings: dict | None = None
    shifts: pd.DataFrame | None = None
    rota_days: pd.DataFrame | None = None
    rush: object = None
    replay: object = None
    sessions: pd.DataFrame | None = None
    session_changes: pd.DataFrame | None = None
    session_summary: pd.DataFrame | None = None
    session_days: pd.DataFrame | None = None
    session_settings: dict | None = None
    notes: list[str] = field(default_factory=list)


def model_words(used: ModelUsed) -> str:
    """How the page says which model made a forecast."""
    parts = [MODEL_WORDS.get(name, name) for name in used.name.split(" + ")]
    words = parts[0] if len(parts) == 1 else "the mean of " + " and ".join([", ".join(parts[:-1]), parts[-1]])
    return f"{words} (chosen by a backtest of the recent weeks)" if used.chosen else words


def could_not(what: str, err: Exception) -> str:
    """The note of a part that could not be made."""
    return f"{what} could not be made: {err}"


def next_week(outlook: WeekOutlook, week: ReportWeek, holidays: dict) -> NextWeek:
    """Next week's section of a report from the outlook of the week after ``week``.

    Parameters
    ----------
    outlook : forecasting.outlook.WeekOutlook
    week : ReportWeek
        The reported week (the outlook's history ends with it).
    holidays : dict
        Bank holidays (date to name) known to the report; those of next week are named.

    Returns
    -------
    NextWeek
    """
    nxt = NextWeek(week=week.shift(1))
    for freq, label in (("D", "daily"), ("h", "hourly")):
        c = outlook.calls[freq]
        if c.error is not None:
            nxt.notes.append(could_not(f"The forecast of calls by {_PERIOD[freq]}", c.error))
            continue
        setattr(nxt, label, c.forecast)
        nxt.models[f"calls by {_PERIOD[freq]}"] = model_words(c.model)
    ahead = {d: n for d, n in holidays.items() if nxt.week.start <= d <= nxt.week.last}
    if ahead:
        names = "; ".join(f"{T.day_label(d)} ({n})" for d, n in sorted(ahead.items()))
        nxt.notes.append(
            f"Next week has a bank holiday: {names}. The practice is closed, so the forecasts and plans leave it out; "
            "expect the day after to surge like a Monday."
        )
    _rota(nxt, outlook.rota, outlook.replay)
    _same_day(nxt, outlook.same_day, outlook.pressure)
    return nxt


def _rota(nxt: NextWeek, r: HandlerRota, replay=None) -> None:
    if r.calls_model is not None:
        nxt.models["calls reaching the queue by half hour"] = model_words(r.calls_model)
        nxt.models["people's first calls by hour"] = model_words(r.callers_model)
    if replay is not None:
        nxt.replay = replay
        nxt.notes.extend(replay.notes)
    if r.rota is None:
        nxt.notes.append(could_not("The call-handler rota", r.error))
        return
    if r.unchecked is not None:
        nxt.notes.append(
            f"The rota could not be played in the queue simulation with redials ({r.unchecked}): its service is not shown."
        )
    if r.headcount_source == "unknown":
        nxt.notes.append(
            "The phone system's export does not say who answered, so the people the practice can roster are not "
            "known: each day may roster its peak requirement. State the headcount to plan within it."
        )
    nxt.rota, nxt.shifts, nxt.rota_days, nxt.rush = r.rota, r.shifts, r.days, r.rush
    nxt.rota_settings = {**r.settings, "headcount": r.headcount, "headcount_source": r.headcount_source}
    if r.rota["seen_last_week"].isna().all():
        nxt.notes.append(
            "The phone system's export does not say who answered, so the rota cannot be set beside last week's."
        )


def _same_day(nxt: NextWeek, sd: SameDayPlan, pressure: SessionPressure | None) -> None:
    if not sd.has_slots:
        nxt.notes.append(
            "No appointment slots in the store, so same-day demand cannot be forecast and clinician sessions cannot "
            "be planned: ingest the slot export ('frontdoor ingest appointments')."
        )
        return
    if sd.model is not None:
        nxt.models["same-day appointment demand"] = model_words(sd.model)
    if sd.error is not None:
        nxt.notes.append(could_not("The same-day demand forecast", sd.error))
        return
    if sd.book is None:
        nxt.notes.append(
            "Next week's appointment book is not in the store yet, so the plan starts from the usual week (the same "
            "weekday's sessions over the last four weeks) rather than from what is already booked in. Ingest a slot "
            f"export that runs to {T.day_label(nxt.week.last)} to see it."
        )
    words = change_words(sd.changes)
    days = sd.days.copy()
    days["changes"] = [
        "; ".join(f"{s} {w}" for (d, s), w in sorted(words.items()) if d == pd.Timestamp(ds))
        for ds in days["ds"]
    ]
    nxt.sessions = sd.sessions
    nxt.session_changes = sd.changes
    nxt.session_summary = sd.summary
    nxt.session_days = days
    nxt.session_settings = {
        "roles": sd.roles,
        "source": sd.source,
        "threshold": PRESSURE_THRESHOLD,
        "quantile": PLAN_QUANTILE,
    }
    nxt.notes.extend(same_day_notes(sd))
    if pressure is not None and pressure.error is not None:
        nxt.notes.append(could_not("The highest-pressure sessions", pressure.error))
    elif pressure is not None:
        nxt.pressure = pressure.pressure


def same_day_notes(sd: SameDayPlan) -> list[str]:
    """What the same-day plan cannot do, in words (the report's notes, ``frontdoor staff``'s)."""
    if sd.summary is None:
        return []
    short = sd.summary[sd.summary["short_after"] > 0]
    if not len(short):
        return []
    who = " and ".join(sd.roles.loc[sd.roles["changeable"], "role"])
    where = ", ".join(f"{T.day_short(pd.Timestamp(d).date())} {s}" for d, s in zip(short["date"], short["session"]))
    return [
        f"Moving and adding sessions cannot close the gap in {T.plural(len(short), 'session')} ({where}): every "
        f"{who} the practice has is already on, and {T.count(short['short_after'].sum())} same-day appointments "
        f"are still short of covering nine sessions in ten. Other ways to meet it: release same-day slots in two "
        "tranches, offer call-backs, or route requests to an online form."
    ]
