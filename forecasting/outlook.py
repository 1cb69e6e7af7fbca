"""The week after a practice's history: its forecast, call-handler rota, clinician sessions and
same-day pressure, and how the forecast made before the last week of history did.

What the weekly report shows of next week, as numbers: pure functions over one practice's
history (:class:`PracticeHistory`, frames already read), built on the one forecast
orchestration (:func:`forecasting.pipeline.forecast_series`, the registry's models,
:func:`forecasting.backtest.cross_validation`) and the planners
(:mod:`forecasting.planning.plan`, :mod:`forecasting.planning.staffing`,
:mod:`forecasting.planning.peak_pressure`). Nothing here reads a store or writes words for a
page; :mod:`reports.sections.next_week` and :mod:`reports.sections.forecast_check` do.

One function per part, each returning a plain dataclass; a part that cannot be made (a series
too short, a model that does not converge) says why in its ``error`` and leaves the other
parts standing. :func:`outlook_week` makes them all.

What is forecast
----------------
============================== ========= ========================================================
part                           period    series (:data:`forecasting.series.WHATS`)
============================== ========= ========================================================
calls by day and by hour       D, h      ``calls``: every inbound attempt; the hours add up to
(:func:`forecast_calls`)                 the days (:mod:`forecasting.temporal`)
call-handler rota              30min, h  ``unique_callers`` (people's first calls) per hour,
(:func:`plan_handlers`)                  spread over the half hours like ``offered``; Erlang A's
                                         requirement, shifts within headcount, played in the
                                         queue simulation with redials (as ``frontdoor staff``)
clinician sessions             D         ``same_day_demand``: same-day slots booked plus callers
(:func:`plan_same_day`)                  turned away for lack of capacity, split into am and pm;
                                         whole sessions moved or added to the usual week
highest-pressure sessions      D         the same sessions, before and after the changes
(:func:`session_pressure`)               (:mod:`forecasting.planning.peak_pressure`)
last week's forecast           D, h      ``calls`` from data up to the start of the week
(:func:`check_last_week`)
============================== ========= ========================================================
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from demand.appointments.schema import read_appointments
from demand.definitions import to_utc_bound
from demand.demand_capacity import demand_capacity
from demand.simulation.engine import NEEDS
from demand.simulation.population import DemandParams
from telephony.errors import FrontdoorError
from telephony.store import validate_practice_id
from telephony.timeutil import DEFAULT_TZ, parse_week

from forecasting.backtest import cross_validation, score
from forecasting.base import DS, ForecastInputError, Model
from forecasting.calendar import Calendar
from forecasting.models import MODELS, make_model
from forecasting.pipeline import MAX_HORIZON_WEEKS, PlanError, Progress, _say, forecast_series, read_practice_series
from forecasting.planning.peak_pressure import (
    PRESSURE_COLUMNS,
    capacity_from_slots,
    peak_pressure,
    same_day_roles,
    session_changes,
    session_demand,
    session_shares,
    sessions_in_book,
    usual_on,
    usual_week,
    with_slots_per_session,
)
from forecasting.planning.plan import StaffPlan, plan_rota, queue_params_for, session_roles
from forecasting.planning.rota import RotaError, ShiftRules, headcount_from_history
from forecasting.planning.rush import Levers, RushTradeoff, opening_profile, play_days, service_of
from forecasting.planning.staffing import clinician_sessions, measure_handling
from forecasting.series import read_calendars, series_from_calls
from forecasting.temporal import coherent_forecasts

__all__ = [
    "STAFF_HISTORY_WEEKS",
    "staff_week",
    "LEVELS",
    "ROTA_TARGETS",
    "PLAN_QUANTILE",
    "OUTLOOK_FAILURES",
    "PracticeHistory",
    "ModelUsed",
    "CallsForecast",
    "LastWeekCheck",
    "HandlerRota",
    "SameDayPlan",
    "SessionPressure",
    "WeekOutlook",
    "check_model",
    "forecast_calls",
    "check_last_week",
    "practice_headcount",
    "plan_handlers",
    "rota_tables",
    "REPLAY_COLUMNS",
    "Replay",
    "actual_first_calls",
    "replay_rota",
    "replay_weeks",
    "plan_same_day",
    "session_pressure",
    "change_words",
    "same_day_table",
    "read_same_day_plan",
    "outlook_week",
]

#: Interval levels (percent) of every forecast.
LEVELS = (80, 95)
#: Periods forecast: a week of days or of hours.
HORIZON = {"D": 7, "h": 7 * 24}
#: Service targets of the recommended call-handler rota (:func:`forecasting.planning.staffing.handlers_per_interval`).
ROTA_TARGETS = {"target_sl": 0.8, "target_t_s": 60.0, "max_abandon": 0.05, "shrinkage": 0.3}
#: Clinician sessions and handlers plan for this quantile of demand: the 80% interval's upper
#: bound, enough on nine days in ten.
PLAN_QUANTILE = 0.9
#: Abandons shorter than this are callers balking at the queue, not running out of patience
#: (left out of the patience estimate, as ``frontdoor staff`` does).
BALK_S = 60.0
#: Simulated runs of each day when the rota is checked with redials.
REDIAL_SEEDS = 5
#: Weeks the report replays (the rota from the data before each, against what happened).
REPLAY_WEEKS = 4
#: Simulated runs of each replayed day.
REPLAY_SEEDS = 2
#: Weeks of calls the headcount (distinct handlers answering per day) is learned from.
HEADCOUNT_WEEKS = 8
#: Weeks of slots the roles, their share of same-day work and slots a session are learnt from.
ROLE_WEEKS = 8
#: Weeks the "usual" same-day capacity of a session is averaged over.
USUAL_WEEKS = 4
#: A session is under pressure when same-day demand exceeds its capacity with more than this
#: probability; extra sessions are suggested until it does not.
PRESSURE_THRESHOLD = 0.1
#: Mean patience when nobody abandoned (unbounded patience): an hour keeps Erlang A finite,
#: as ``frontdoor staff`` does.
UNBOUNDED_PATIENCE_S = 3600.0
#: What a part's numbers can fail with: its ``error`` holds it and the other parts stand.
OUTLOOK_FAILURES = (FrontdoorError, ValueError, ArithmeticError, np.linalg.LinAlgError)


# ============================================================================ the history


@dataclass
class PracticeHistory:
    """One practice's history up to the end of a week: what the week after is forecast from.

    Attributes
    ----------
    practice_id : str
    calls : pandas.DataFrame
        Canonical calls from ``history_start`` to the end of the week (at least one).
    slots : pandas.DataFrame
        Canonical slots from ``history_start``; those of the week after, when present, are
        next week's appointment book.
    calendar : forecasting.calendar.Calendar
        The practice's opening hours and bank holidays.
    week_start : datetime.date
        The Monday of the history's last week: the outlook is of the week after.
    history_start : datetime.date
        The first local day the frames were read from.
    tz : str
        The practice's wall clock.
    """

    practice_id: str
    calls: pd.DataFrame
    slots: pd.DataFrame
    calendar: Calendar
    week_start: _dt.date
    history_start: _dt.date
    tz: str = DEFAULT_TZ
    # series already made, by (freq, what): the forecast and its check share one
    _series: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def week_end(self) -> _dt.date:
        """The Monday after the history's last week: the first day forecast."""
        return self.week_start + _dt.timedelta(days=7)

    @property
    def next_end(self) -> _dt.date:
        """The Monday after the week forecast (exclusive)."""
        return self.week_start + _dt.timedelta(days=14)

    @property
    def first_day(self) -> _dt.date:
        """The first local day of the series: the history's start, or its first call if later."""
        if not len(self.calls):
            raise ForecastInputError(f"No calls of {self.practice_id} to forecast from.")
        return max(self.history_start, self.calls["start_utc"].min().tz_convert(self.tz).date())

    @property
    def calendars(self) -> dict[str, Calendar]:
        """The calendar under the practice's id, as the models take it."""
        return {self.practice_id: self.calendar}

    def utc(self, day: _dt.date) -> pd.Timestamp:
        """The instant (UTC) a local day starts."""
        return to_utc_bound(day, self.tz)

    def series(self, freq: str, what: str, slots: pd.DataFrame | None = None) -> pd.DataFrame:
        """The practice's ``what`` per ``freq`` from :attr:`first_day` to :attr:`week_end`
        (:func:`forecasting.series.series_from_calls`).

        Made once per ``(freq, what)``: ``slots`` (for ``same_day_demand``) must be the same
        at every call, as they are within :func:`outlook_week`.
        """
        key = (freq, what)
        if key not in self._series:
            kw = {} if slots is None else {"slots": slots}
            self._series[key] = series_from_calls(
                self.calls, freq, what, self.tz, self.first_day.isoformat(), self.week_end.isoformat(), **kw
            )
        return self._series[key]

    def slots_before(self, end: _dt.date) -> pd.DataFrame:
        """Slots starting before the local day ``end``."""
        s = self.slots
        return s.loc[(s["start_utc"] < self.utc(end)).to_numpy(dtype=bool)] if len(s) else s


@dataclass(frozen=True)
class ModelUsed:
    """Which model made a forecast.

    Attributes
    ----------
    name : str
        Its registry name (:data:`forecasting.models.MODELS`); for ``auto``, that of the model
        it chose (a candidate outside the registry by its alias), or the names of the models
        whose mean it chose joined by ``" + "``.
    chosen : bool
        Chosen per series by the ``auto`` model's backtest of the recent weeks.
    """

    name: str
    chosen: bool = False


def _model_used(m: Model, name: str) -> ModelUsed:
    choices = getattr(m, "choices_", None)
    if choices is not None and len(choices):
        chosen = str(choices["model"].iloc[0])  # the auto model names its candidates by alias
        by_alias = {cls.alias: registered for registered, cls in MODELS.items()}
        # a mean of candidates is written "ETS + SeasonalAverage": each part by its registry name
        return ModelUsed(" + ".join(by_alias.get(part, part) for part in chosen.split(" + ")), True)
    return ModelUsed(name)


def check_model(model: str) -> str:
    """``model`` if the registry knows it.

    Raises
    ------
    forecasting.base.ForecastInputError
        For an unknown model, listing the known ones.
    """
    if model not in MODELS:
        raise ForecastInputError(f"Unknown forecasting model {model!r}; known models: {', '.join(sorted(MODELS))}.")
    return model


def _forecast(history: PracticeHistory, df: pd.DataFrame, model: str, h: int) -> tuple[pd.DataFrame, Model]:
    return forecast_series(df, model, h, history.calendars, level=LEVELS)


# ============================================================================ calls


@dataclass
class CallsForecast:
    """Next week's calls by day (``freq="D"``) or by hour (``"h"``).

    Attributes
    ----------
    freq : str
    forecast : pandas.DataFrame or None
        ``ds`` (naive local start), ``mean, lo80, hi80, lo95, hi95`` (calls), ``closed``.
    model : ModelUsed or None
    error : Exception or None
        Why there is no forecast.
    """

    freq: str
    forecast: pd.DataFrame | None = None
    model: ModelUsed | None = None
    error: Exception | None = None


def _tidy(fc: pd.DataFrame, alias: str, cal: Calendar, freq: str) -> pd.DataFrame:
    out = pd.DataFrame({"ds": pd.DatetimeIndex(fc["ds"]), "mean": fc[alias].to_numpy()})
    for lv in LEVELS:
        out[f"lo{lv}"] = fc[f"{alias}-lo-{lv}"].to_numpy()
        out[f"hi{lv}"] = fc[f"{alias}-hi-{lv}"].to_numpy()
    out["closed"] = cal.closed(pd.DatetimeIndex(out["ds"]), freq)
    return out


def forecast_calls(history: PracticeHistory, model: str, freq: str) -> CallsForecast:
    """Next week's inbound calls per day or per hour, with 80% and 95% intervals.

    One forecast at both granularities (:mod:`forecasting.temporal`): the daily totals are
    the daily model's, and the hours are the hourly model's shape scaled to add up to them,
    so the page's days and hours (and ``frontdoor forecast --freq day`` and ``--freq hour``)
    agree.

    Parameters
    ----------
    history : PracticeHistory
    model : str
        Registry name (:data:`forecasting.models.MODELS`).
    freq : {"D", "h"}

    Returns
    -------
    CallsForecast
    """
    out = CallsForecast(freq)
    try:
        if freq == "D":
            fc, m = _forecast(history, history.series("D", "calls"), model, HORIZON["D"])
        else:
            _daily, fc, _dm, m = coherent_forecasts(
                history.series(freq, "calls"), model, HORIZON["D"], history.calendars, LEVELS,
                daily_history=history.series("D", "calls"),
            )
    except OUTLOOK_FAILURES as err:
        out.error = err
        return out
    out.forecast = _tidy(fc, m.alias, history.calendar, freq)
    out.model = _model_used(m, model)
    return out


# ============================================================================ last week's forecast


@dataclass
class LastWeekCheck:
    """The forecast of the history's last week, made from the data before it, against what happened.

    Attributes
    ----------
    freq : str
    frame : pandas.DataFrame or None
        ``ds, actual, forecast, lo80, hi80, lo95, hi95, closed``.
    scores : dict
        ``wape`` (sum of absolute errors over the actual total, open periods), ``mase``,
        ``coverage_80`` (share of open periods inside the 80% interval)
        (:func:`forecasting.backtest.score`; absent when no period was open), and
        ``forecast_total, actual_total`` over the open periods.
    error : Exception or None
        Why there is no check.
    """

    freq: str
    frame: pd.DataFrame | None = None
    scores: dict = field(default_factory=dict)
    error: Exception | None = None


def check_last_week(history: PracticeHistory, model: str, freq: str) -> LastWeekCheck:
    """A one-window backtest of ``model`` over the history's last week, per day or per hour.

    Returns
    -------
    LastWeekCheck
    """
    out = LastWeekCheck(freq)
    cals = history.calendars
    try:
        s = history.series(freq, "calls")
        cv = cross_validation(s, make_model(model, calendar=cals), h=HORIZON[freq], n_windows=1, level=LEVELS,
                              calendar=cals)
        sc = score(cv, s, horizon="all", calendar=cals)
    except OUTLOOK_FAILURES as err:
        out.error = err
        return out
    frame = pd.DataFrame(
        {
            "ds": pd.DatetimeIndex(cv["ds"]),
            "actual": cv["y"].to_numpy(),
            "forecast": cv["yhat"].to_numpy(),
            **{f"{b}{lv}": cv[f"{b}_{lv}"].to_numpy() for lv in LEVELS for b in ("lo", "hi")},
            "closed": cv["closed"].to_numpy(dtype=bool),
        }
    )
    if len(sc):
        row = sc.iloc[0]
        out.scores.update(wape=float(row["wape"]), coverage_80=float(row["coverage_80"]), mase=float(row["mase"]))
    open_ = ~frame["closed"]
    out.scores["forecast_total"] = float(frame.loc[open_, "forecast"].sum())
    out.scores["actual_total"] = float(frame.loc[open_, "actual"].sum())
    out.frame = frame
    return out


# ============================================================================ the call-handler rota


@dataclass
class HandlerRota:
    """Next week's call-handler rota: shifts within headcount, as ``frontdoor staff`` makes it.

    Attributes
    ----------
    rota : pandas.DataFrame or None
        Per open half hour (:attr:`forecasting.planning.plan.RotaPlan.rota`): ``ds, calls,
        first_attempts, erlang_agents`` (the requirement on the phones),
        ``required_rostered, rostered, on_phones, unmet, headcount, handlers``,
        ``service_level, abandon_rate`` (achieved in the simulation with redials; NaN when not
        checked) and ``seen_last_week`` (distinct handlers who answered calls in the same half
        hour of the same weekday of the history's last week; NaN when the calls name no handler).
    shifts : pandas.DataFrame or None
        ``date, start, end, hours, people``.
    days : pandas.DataFrame or None
        Per day: headcount, people rostered, person-hours, half hours with requirement unmet
        and the simulated service (:attr:`forecasting.planning.plan.RotaPlan.days`).
    rush : forecasting.planning.rush.RushTradeoff or None
        The busiest opening's trade-off.
    headcount : dict or None
        Weekday (Monday = 0) to the people who can be rostered.
    headcount_source : str
        ``stated``, ``learned`` (from distinct handlers per day in history), ``stated and
        learned``, or ``unknown`` (no handler in the calls and none stated: each day may roster
        its requirement's peak).
    settings : dict or None
        ``aht_s, patience_s`` (measured; ``inf`` when nobody abandoned), ``patience_used_s`` (what
        Erlang A used), ``checked, quantile, shift_lengths, opening_profile`` and :data:`ROTA_TARGETS`.
    calls_model, callers_model : ModelUsed or None
        The models of calls reaching the queue per half hour and of first callers per hour.
    met : bool or None
        Whether every day's simulated service meets the targets (``None`` when not checked).
    not_met : dict or None
        When it did not: ``reason`` and ``failing`` (the days short).
    unchecked : Exception or None
        Why the simulation could not run (the rota is then unchecked).
    error : Exception or None
        Why there is no rota.
    """

    rota: pd.DataFrame | None = None
    shifts: pd.DataFrame | None = None
    days: pd.DataFrame | None = None
    rush: RushTradeoff | None = None
    headcount: dict | None = None
    headcount_source: str = "unknown"
    settings: dict | None = None
    calls_model: ModelUsed | None = None
    callers_model: ModelUsed | None = None
    met: bool | None = None
    not_met: dict | None = None
    unchecked: Exception | None = None
    error: Exception | None = None


def practice_headcount(history: PracticeHistory, stated: Mapping[int, int] | None = None) -> tuple[dict | None, str]:
    """People who can be rostered per weekday: stated, else learned from the history's calls.

    Weekdays ``stated`` names are taken as stated; the others are learned
    (:func:`forecasting.planning.rota.headcount_from_history` over :data:`HEADCOUNT_WEEKS`).

    Returns
    -------
    (dict or None, str)
        The headcount and its source (see :attr:`HandlerRota.headcount_source`); ``None``
        when nothing is stated and the calls name no handler.
    """
    stated = dict(stated or {})
    if len(stated) == 7:
        return stated, "stated"
    try:
        learned, _ = headcount_from_history(history.calls, history.tz, HEADCOUNT_WEEKS)
    except RotaError:
        return (None, "unknown") if not stated else ({d: stated.get(d, 0) for d in range(7)}, "stated")
    heads = {d: int(stated.get(d, learned.get(d, 0))) for d in range(7)}
    return heads, "stated and learned" if stated else "learned"


def plan_handlers(
    history: PracticeHistory,
    model: str,
    headcount: Mapping[int, int] | None = None,
    shift_rules: ShiftRules | None = None,
    targets: Mapping[str, float | None] | None = None,
    seeds: int = REDIAL_SEEDS,
    weeks_ahead: int = 1,
    levers: Levers | None = None,
    check: bool = True,
    tradeoff: bool = True,
    aht_s: float | None = None,
) -> HandlerRota:
    """The call-handler rota of the week after the history: shifts within headcount.

    Demand is callers' *first attempts* (the redials of an under-staffed 8am are a symptom of
    past staffing, not demand to staff for): the hourly ``unique_callers`` forecast at
    :data:`PLAN_QUANTILE`, spread over its half hours like the calls forecast. Erlang A gives
    the people needed on the phones per half hour; shifts are chosen within each weekday's
    headcount (:func:`practice_headcount`) by the integer program, and the rota is played in
    the queue simulation with redials, arrivals in the opening half hour following the
    practice's own minutes after opening (:func:`forecasting.planning.plan.plan_rota`). When
    the simulation itself fails, the rota stands unchecked and ``unchecked`` says why.

    Parameters
    ----------
    history : PracticeHistory
    model : str
    headcount : mapping of int to int, optional
        Stated people per weekday (Monday = 0); weekdays left out are learned.
    shift_rules : ShiftRules, optional
        Allowed shifts (default 3–8 hours on the half hour).
    targets : mapping, optional
        Overrides of :data:`ROTA_TARGETS` (``target_sl, target_t_s, max_abandon, shrinkage``).
    seeds : int
        Simulated runs of each day.
    weeks_ahead : int
        Plan the ``weeks_ahead``-th week after the history (1: the week right after).
    levers : Levers, optional
        Assumptions of the rush trade-off's levers.
    check, tradeoff : bool
        Play the rota in the simulation; play the busiest opening's trade-off.
    aht_s : float, optional
        Average handle time, seconds; measured from the history's calls when omitted.

    Returns
    -------
    HandlerRota
    """
    out = HandlerRota()
    tg = {**ROTA_TARGETS, **(targets or {})}
    rules = shift_rules or ShiftRules()
    weeks_ahead = max(1, int(weeks_ahead))
    try:
        fc30, m30 = _forecast(history, history.series("30min", "offered"), model, 7 * 48 * weeks_ahead)
        fch, mh = _forecast(history, history.series("h", "unique_callers"), model, 7 * 24 * weeks_ahead)
        out.calls_model, out.callers_model = _model_used(m30, model), _model_used(mh, model)
        handling = measure_handling(history.calls, short_abandon_s=BALK_S)
    except OUTLOOK_FAILURES as err:
        out.error = err
        return out
    first = pd.Timestamp(history.week_end) + pd.Timedelta(weeks=weeks_ahead - 1)
    fc30 = fc30[pd.DatetimeIndex(fc30["ds"]) >= first].reset_index(drop=True)
    fch = fch[pd.DatetimeIndex(fch["ds"]) >= first].reset_index(drop=True)
    patience = handling.mean_patience_s if math.isfinite(handling.mean_patience_s) else UNBOUNDED_PATIENCE_S
    aht = float(aht_s) if aht_s is not None else handling.aht_s
    closed = history.calendar.closed(pd.DatetimeIndex(fc30["ds"]), "30min")
    heads, source = practice_headcount(history, headcount)
    profile = opening_profile(history.calls, history.tz, history.calendar)

    def plan(checked: bool):
        return plan_rota(
            fc30, fch, aht, patience, tg["target_sl"], tg["target_t_s"], tg["max_abandon"], tg["shrinkage"],
            short_abandon_s=BALK_S, quantile=PLAN_QUANTILE, check_redials=checked, seeds=seeds, closed=closed,
            tz=history.tz, headcount=heads, rules=rules, profile=profile, levers=levers, tradeoff=tradeoff,
        )

    try:
        planned = plan(check)
    except OUTLOOK_FAILURES as err:
        if not check:
            out.error = err
            return out
        try:
            planned = plan(False)
        except OUTLOOK_FAILURES as err2:
            out.error = err2
            return out
        out.unchecked = err
    else:
        out.met, out.not_met = planned.met, planned.not_met
    rota = planned.rota
    if not planned.checked:
        rota["service_level"] = np.nan
        rota["abandon_rate"] = np.nan
    keep = ["ds", "calls", "first_attempts", "erlang_agents", "required_rostered", "rostered", "on_phones", "unmet",
            "headcount", "handlers", "service_level", "abandon_rate"]
    rota = rota[keep].copy()
    rota["seen_last_week"] = _handlers_seen(history, rota["ds"])
    out.rota, out.shifts, out.days, out.rush = rota, planned.shifts, planned.days, planned.rush
    out.headcount, out.headcount_source = heads, source
    out.settings = {
        "aht_s": aht,
        "patience_s": handling.mean_patience_s,
        "patience_used_s": patience,
        "checked": planned.checked,
        "quantile": PLAN_QUANTILE,
        "shift_lengths": rules.words(),
        "opening_profile": profile,
        **tg,
    }
    return out


def rota_tables(r: HandlerRota) -> dict[str, pd.DataFrame | None]:
    """The rota's tables as people read them, the same for ``frontdoor staff`` and the report.

    Returns
    -------
    dict
        ``shifts`` (``day, start, end, hours, people``), ``rota`` (per open half hour:
        ``ds, required, rostered, on_phones, unmet, last_week, service_level, abandon_rate``)
        and ``rush`` (the trade-off: ``option, on_phones_at_opening, rostered_at_opening,
        within_headcount, answered_within_target, abandoned, median_s, p90_s, rang_back,
        callers``), rounded for reading; ``None`` for a part not made.
    """
    out: dict[str, pd.DataFrame | None] = {"shifts": None, "rota": None, "rush": None}
    if r.shifts is not None:
        sh = r.shifts
        out["shifts"] = pd.DataFrame(
            {
                "day": pd.DatetimeIndex(sh["date"]).strftime("%a %d %b"),
                "start": pd.DatetimeIndex(sh["start"]).strftime("%H:%M"),
                "end": pd.DatetimeIndex(sh["end"]).strftime("%H:%M"),
                "hours": sh["hours"].to_numpy(),
                "people": sh["people"].to_numpy(),
            }
        )
    if r.rota is not None:
        ro = r.rota
        out["rota"] = pd.DataFrame(
            {
                "ds": pd.DatetimeIndex(ro["ds"]).strftime("%a %d %b %H:%M"),
                "required": ro["erlang_agents"].to_numpy(),
                "rostered": ro["rostered"].to_numpy(),
                "on_phones": ro["on_phones"].round(1).to_numpy(),
                "unmet": ro["unmet"].round(1).to_numpy(),
                "last_week": ro["seen_last_week"].to_numpy(),
                "service_level": ro["service_level"].round(2).to_numpy(),
                "abandon_rate": ro["abandon_rate"].round(2).to_numpy(),
            }
        )
    if r.rush is not None:
        t = r.rush.table
        out["rush"] = pd.DataFrame(
            {
                "option": t["option"].to_numpy(),
                "on_phones_at_opening": t["handlers_at_opening"].to_numpy(),
                "rostered_at_opening": t["rostered_at_opening"].to_numpy(),
                "within_headcount": t["within_headcount"].to_numpy(),
                "answered_within_target": t["answered_within_target"].round(2).to_numpy(),
                "abandoned": t["abandoned"].round(2).to_numpy(),
                "median_s": t["median_s"].round(0).to_numpy(),
                "p90_s": t["p90_s"].round(0).to_numpy(),
                "rang_back": t["rang_back"].round(1).to_numpy(),
                "callers": t["callers"].round(1).to_numpy(),
            }
        )
    return out


def _handlers_seen(history: PracticeHistory, slots: pd.Series) -> np.ndarray:
    """Distinct handlers who answered calls in each half hour of the same weekday in the
    history's last week.

    A count of pseudonyms, never a name: who they were is not needed and not shown. NaN
    everywhere when the week's answered calls carry no handler at all.
    """
    c = history.calls
    keep = (
        (c["start_utc"] >= history.utc(history.week_start))
        & (c["direction"].astype(str) == "inbound")
        & (c["outcome"].astype(str) == "answered")
    ).to_numpy(dtype=bool)
    ans = c.loc[keep]
    if not len(ans) or ans["agent_key"].notna().sum() == 0:
        return np.full(len(slots), np.nan)
    ans = ans[ans["agent_key"].notna()]
    local = ans["start_utc"].dt.tz_convert(history.tz).dt.tz_localize(None).dt.floor("30min")
    key = local.dt.day_of_week * 10_000 + local.dt.hour * 100 + local.dt.minute
    seen = ans["agent_key"].groupby(key.to_numpy()).nunique()
    sl = pd.DatetimeIndex(slots)
    want = sl.day_of_week * 10_000 + sl.hour * 100 + sl.minute
    return seen.reindex(np.asarray(want)).fillna(0).to_numpy(dtype="float64")


# ============================================================================ same-day demand


@dataclass
class SameDayPlan:
    """Next week's same-day appointment demand and the clinician sessions to meet it, as changes
    to the practice's usual week.

    Attributes
    ----------
    has_slots : bool
        Whether the history holds any slot (without, nothing below is made).
    model : ModelUsed or None
    forecast : pandas.DataFrame or None
        The model's daily forecast of same-day demand (its ``predict`` frame).
    spread : object
        The model's ``spread_`` (how its intervals are drawn), for the split into sessions.
    demand_history : pandas.DataFrame or None
        :func:`demand.demand_capacity.demand_capacity` of the history, per day and session.
    roles : pandas.DataFrame or None
        :func:`forecasting.planning.peak_pressure.same_day_roles` of the last
        :data:`ROLE_WEEKS` weeks: each role's share of same-day work, its same-day slots a
        session, its people and whether it takes part in changes.
    usual : pandas.DataFrame or None
        :func:`forecasting.planning.peak_pressure.usual_week` of the last :data:`USUAL_WEEKS`
        weeks (bank holidays left out).
    source : str or None
        Where the sessions before any change come from: ``in the book`` (next week's
        slots) or ``usual`` (the usual week laid on next week's days).
    sessions : pandas.DataFrame or None
        Per day, session and role: ``date, session, role, before, after``
        (:func:`forecasting.planning.peak_pressure.session_changes`).
    changes : pandas.DataFrame or None
        The sessions moved or added: ``date, session, role, change, kind, from_date,
        from_session``.
    summary : pandas.DataFrame or None
        Per day and session: ``date, session, demand, needed, capacity_before, p_before,
        capacity_after, p_after, short_after``.
    days : pandas.DataFrame or None
        Per day with demand: ``ds, demand, demand_hi80, sessions_before, sessions_after,
        capacity_before, capacity_after, short_after`` and ``booked_slots`` (same-day slots
        already in next week's book; NaN without a book).
    book : pandas.DataFrame or None
        :func:`forecasting.planning.peak_pressure.capacity_from_slots` of next week's
        appointment book; ``None`` when it is not among the slots.
    error : Exception or None
        Why there is no plan.
    """

    has_slots: bool = True
    model: ModelUsed | None = None
    forecast: pd.DataFrame | None = None
    spread: object = None
    demand_history: pd.DataFrame | None = None
    roles: pd.DataFrame | None = None
    usual: pd.DataFrame | None = None
    source: str | None = None
    sessions: pd.DataFrame | None = None
    changes: pd.DataFrame | None = None
    summary: pd.DataFrame | None = None
    days: pd.DataFrame | None = None
    book: pd.DataFrame | None = None
    error: Exception | None = None


def plan_same_day(history: PracticeHistory, model: str, slots_per_session: Mapping[str, float] | None = None) -> SameDayPlan:
    """Forecast next week's same-day demand and change the usual clinician sessions to meet it.

    The week starts from the sessions already in next week's book or, without a book, from
    the practice's usual week (:data:`USUAL_WEEKS` weeks, bank holidays left out). The daily
    forecast is split into am and pm as demand usually falls on each weekday, and whole
    sessions of the roles that do the practice's same-day work are moved, then added, until
    P(demand > capacity) is under :data:`PRESSURE_THRESHOLD` in every session or the roles'
    people are all in use (:func:`forecasting.planning.peak_pressure.session_changes`).

    Parameters
    ----------
    history : PracticeHistory
    model : str
    slots_per_session : mapping of role to float, optional
        Same-day appointments a session of a role offers, where the book's measure should not
        be used (a GP session still counts at most ``GP_CONTACTS_PER_DAY / 2``).

    Returns
    -------
    SameDayPlan
    """
    hist = history.slots_before(history.week_end)
    if not len(hist):
        return SameDayPlan(has_slots=False)
    out = SameDayPlan()
    try:
        fc, m = _forecast(history, history.series("D", "same_day_demand", slots=hist), model, 7)
        out.model = _model_used(m, model)
        out.forecast, out.spread = fc, m.spread_
        since = history.utc(history.week_start - _dt.timedelta(weeks=ROLE_WEEKS - 1))
        recent = hist.loc[(hist["start_utc"] >= since).to_numpy(dtype=bool)]
        out.roles = same_day_roles(recent if len(recent) else hist, history.tz)
        if slots_per_session:
            out.roles = with_slots_per_session(out.roles, slots_per_session)
        out.demand_history = demand_capacity(
            history.calls, hist, history.tz, start=history.first_day.isoformat(), end=history.week_end.isoformat()
        )
        first = history.week_start - _dt.timedelta(weeks=USUAL_WEEKS - 1)
        holidays = history.calendar.bank_holidays(first, history.week_end - _dt.timedelta(days=1))["date"]
        usual_slots = hist.loc[(hist["start_utc"] >= history.utc(first)).to_numpy(dtype=bool)]
        out.usual = usual_week(sessions_in_book(usual_slots, history.tz), skip_dates=holidays)
        demand = session_demand(fc, m.spread_, session_shares(out.demand_history))
        s = history.slots
        lo, hi = history.utc(history.week_end), history.utc(history.next_end)
        book_slots = s.loc[((s["start_utc"] >= lo) & (s["start_utc"] < hi)).to_numpy(dtype=bool)]
        if len(book_slots):
            book = capacity_from_slots(book_slots, history.tz, history.week_end.isoformat(), history.next_end.isoformat())
            out.book = book if book["capacity"].sum() else None
        if out.book is not None:
            before, out.source = sessions_in_book(book_slots, history.tz), "in the book"
        else:
            before, out.source = usual_on(out.usual, demand["date"].unique()), "usual"
        out.sessions, out.changes, out.summary = session_changes(demand, before, out.roles, PRESSURE_THRESHOLD)
    except OUTLOOK_FAILURES as err:
        out.error = err
        return out
    alias = m.alias
    days = pd.DataFrame(
        {"ds": pd.DatetimeIndex(fc["ds"]), "demand": fc[alias].to_numpy(), "demand_hi80": fc[f"{alias}-hi-80"].to_numpy()}
    )
    per_day = out.sessions.groupby("date")[["before", "after"]].sum()
    cap = out.summary.groupby("date")[["capacity_before", "capacity_after", "short_after"]].sum()
    days["sessions_before"] = per_day["before"].reindex(days["ds"]).fillna(0).to_numpy(dtype="int64")
    days["sessions_after"] = per_day["after"].reindex(days["ds"]).fillna(0).to_numpy(dtype="int64")
    for c in ("capacity_before", "capacity_after", "short_after"):
        days[c] = cap[c].reindex(days["ds"]).fillna(0).to_numpy(dtype="float64")
    if out.book is not None:
        booked = out.book.assign(date=pd.to_datetime(out.book["date"])).groupby("date")["capacity"].sum()
        days["booked_slots"] = booked.reindex(days["ds"]).fillna(0).to_numpy()
    else:
        days["booked_slots"] = np.nan
    out.days = days[days["demand"] > 0].reset_index(drop=True)
    return out


@dataclass
class SessionPressure:
    """Next week's sessions (am, pm) ranked by the chance of too few same-day slots.

    Attributes
    ----------
    pressure : pandas.DataFrame or None
        :func:`forecasting.planning.peak_pressure.peak_pressure` rows (``rank, date,
        session, demand, capacity, p_exceed, expected_shortfall``, highest pressure first)
        against the capacity before any change, then ``capacity_source`` (``in the book`` or
        ``usual``), ``capacity_after, p_after`` (with the plan's changes) and ``change``
        (the plan's changes to the session in words, e.g. ``+1 GP (moved from Wed pm)``;
        empty when none).
    error : Exception or None
        Why there is no ranking.
    """

    pressure: pd.DataFrame | None = None
    error: Exception | None = None


def session_pressure(history: PracticeHistory, plan: SameDayPlan) -> SessionPressure:
    """P(same-day demand > same-day capacity) for each session of next week, before and after
    the plan's changes.

    Parameters
    ----------
    history : PracticeHistory
    plan : SameDayPlan
        :func:`plan_same_day`'s, made: the same demand per session and the same capacity
        before and after, so the ranking and the plan agree.

    Returns
    -------
    SessionPressure
    """
    out = SessionPressure()
    try:
        demand = session_demand(plan.forecast, plan.spread, session_shares(plan.demand_history))
        sm = plan.summary.copy()
        capacity = sm[["date", "session"]].assign(
            unique_id=history.practice_id, capacity=sm["capacity_before"].to_numpy()
        )
        slots = dict(zip(plan.roles["role"], plan.roles["slots_per_session"].astype(float)))
        pp = peak_pressure(demand, capacity, slots, threshold=PRESSURE_THRESHOLD)
    except OUTLOOK_FAILURES as err:
        out.error = err
        return out
    pp = pp[list(PRESSURE_COLUMNS[:-2])].copy()
    key = pd.MultiIndex.from_arrays([pd.to_datetime(sm["date"]), sm["session"].astype(str)])
    at = pd.MultiIndex.from_arrays([pd.to_datetime(pp["date"]), pp["session"].astype(str)])
    pp["capacity_source"] = plan.source
    pp["capacity_after"] = pd.Series(sm["capacity_after"].to_numpy(), index=key).reindex(at).to_numpy()
    pp["p_after"] = pd.Series(sm["p_after"].to_numpy(), index=key).reindex(at).to_numpy()
    words = change_words(plan.changes)
    pp["change"] = [words.get((pd.Timestamp(d), str(s)), "") for d, s in zip(pp["date"], pp["session"])]
    out.pressure = pp
    return out


def change_words(changes: pd.DataFrame) -> dict:
    """The plan's changes per ``(date, session)`` in words.

    A session given sessions reads ``+1 GP (moved from Wed pm) · +1 ANP``; one that gives a
    session away reads ``\u22121 GP (moved to Mon am)``.
    """
    out: dict = {}
    if changes is None or not len(changes):
        return out
    ch = changes.assign(date=pd.to_datetime(changes["date"]), from_date=pd.to_datetime(changes["from_date"]))
    words: dict = {}
    for x in ch.itertuples(index=False):
        to = (x.date, str(x.session))
        if x.kind == "move":
            words.setdefault(to, {}).setdefault((x.role, f"moved from {x.from_date:%a} {x.from_session}"), 0)
            words[to][(x.role, f"moved from {x.from_date:%a} {x.from_session}")] += int(x.change)
            away = (x.from_date, str(x.from_session))
            words.setdefault(away, {}).setdefault((x.role, f"moved to {x.date:%a} {x.session}"), 0)
            words[away][(x.role, f"moved to {x.date:%a} {x.session}")] -= int(x.change)
        else:
            words.setdefault(to, {}).setdefault((x.role, ""), 0)
            words[to][(x.role, "")] += int(x.change)
    for key, parts in words.items():
        out[key] = " \u00b7 ".join(
            (f"+{n}" if n > 0 else f"\u2212{-n}") + f" {role}" + (f" ({why})" if why else "")
            for (role, why), n in parts.items()
        )
    return out


# ============================================================================ replaying past weeks


REPLAY_COLUMNS: tuple[str, ...] = (
    "week", "headcount", "person_hours", "on_phones_monday_opening", "unmet_half_hours",
    "replayed_answered", "replayed_within_target", "replayed_abandoned",
    "actual_answered", "actual_within_target", "actual_abandoned", "target_sl", "max_abandon",
)


@dataclass
class Replay:
    """Replayed weeks.

    Attributes
    ----------
    table : pandas.DataFrame
        :data:`REPLAY_COLUMNS`, one row per week (ISO ``week``): the recommended rota's
        headcount, person-hours, people on the phones at Monday's opening and half hours with
        requirement unmet; its service replayed against the week's callers (``replayed_*``:
        share of calls offered answered or called back, answered within target, abandoned)
        beside the week's actual service (``actual_*``), and the targets.
    notes : list of str
        Weeks that could not be replayed, and why.
    """

    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def actual_first_calls(calls: pd.DataFrame, tz: str, seed: int = 0) -> dict[pd.Timestamp, pd.DataFrame]:
    """Each local day's callers' first calls, at the times they rang.

    A caller is a ``caller_key`` within a day; each withheld call is its own caller (as the
    caller metrics count them). What a caller wanted is not in call records: it is drawn from
    the demo's mix by time of day (it sets how persistently they redial).

    Returns
    -------
    dict
        Naive local midnight to arrivals (``t_s, need, withheld``) for
        :func:`demand.simulation.engine.simulate_queue`.
    """
    inb = calls[calls["direction"].astype(str) == "inbound"]
    if not len(inb):
        return {}
    local = inb["start_utc"].dt.tz_convert(tz).dt.tz_localize(None)
    key = inb["caller_key"].astype("object")
    withheld = key.isna().to_numpy()
    key = key.where(~withheld, pd.Series(np.arange(len(inb)).astype(str), index=inb.index).radd("withheld-"))
    f = pd.DataFrame({"t": local.to_numpy(), "day": local.dt.normalize().to_numpy(), "key": key.to_numpy(),
                      "withheld": withheld})
    first = f.sort_values("t", kind="stable").drop_duplicates(["day", "key"])
    d = DemandParams()
    rush = np.asarray(d.need_mix_rush, dtype=float)
    later = np.asarray(d.need_mix_later, dtype=float)
    out = {}
    for day, g in first.groupby("day", sort=True):
        t_s = ((pd.DatetimeIndex(g["t"]) - pd.Timestamp(day)) / pd.Timedelta(seconds=1)).to_numpy(dtype="float64")
        rng = np.random.default_rng([seed, int(pd.Timestamp(day).value // 86_400_000_000_000) & 0xFFFFFFFF, 5])
        v = rng.random(len(t_s))
        k = np.where(
            t_s < t_s.min() + 3600.0 if len(t_s) else False,
            np.searchsorted(np.cumsum(rush / rush.sum()), v, side="right"),
            np.searchsorted(np.cumsum(later / later.sum()), v, side="right"),
        )
        need = np.asarray(NEEDS, dtype=object)[np.minimum(k, len(NEEDS) - 1)]
        out[pd.Timestamp(day)] = pd.DataFrame({"t_s": t_s, "need": need, "withheld": g["withheld"].to_numpy()})
    return out


def replay_rota(
    week_calls: pd.DataFrame,
    handlers: pd.DataFrame,
    tz: str,
    aht_s: float | None = None,
    seeds: int = REDIAL_SEEDS,
    target_t_s: float = 60.0,
    short_abandon_s: float = 60.0,
) -> dict:
    """A rota (``ds, handlers`` on the phones per half hour) played against a week's actual callers.

    Returns
    -------
    dict
        :func:`forecasting.planning.rush.service_of` of the simulated week (pooled over
        ``seeds`` runs).
    """
    hs = pd.Series(handlers["handlers"].to_numpy(), index=pd.DatetimeIndex(pd.to_datetime(handlers["ds"])))
    firsts = actual_first_calls(week_calls, tz)
    params = queue_params_for(pd.Series(hs.index), aht_s)
    days = []
    for day, arr in firsts.items():
        grid = day + pd.to_timedelta(params.open_s + params.rota_step_s * np.arange(
            int(math.ceil((params.close_s - params.open_s) / params.rota_step_s))), unit="s")
        rota = hs.reindex(grid).fillna(0).astype(int).to_numpy()
        if rota.sum() == 0:
            continue  # a closed day: its callers heard the closed message, nothing to staff
        days.append((day, arr, rota))
    if not days:
        return service_of(week_calls.iloc[0:0], tz, pd.Timestamp("2000-01-01"), pd.Timestamp("2000-01-02"))
    sims = pd.concat([play_days(days, params, tz, seed) for seed in range(seeds)], ignore_index=True)
    lo = min(d for d, _, _ in days)
    hi = max(d for d, _, _ in days) + pd.Timedelta(days=1)
    return service_of(sims, tz, lo, hi, target_t_s, short_abandon_s, runs=seeds)


def replay_weeks(
    practice: str,
    calls: pd.DataFrame,
    slots: pd.DataFrame,
    calendar: Calendar,
    last_week: _dt.date,
    n: int,
    model: str = "auto",
    headcount: Mapping[int, int] | None = None,
    shift_rules: ShiftRules | None = None,
    targets: Mapping[str, float | None] | None = None,
    seeds: int = REDIAL_SEEDS,
    tz: str = DEFAULT_TZ,
    history_weeks: int = 12,
    progress: Progress | None = None,
) -> Replay:
    """For each of ``n`` weeks up to ``last_week``, the rota from the data before it, replayed.

    Parameters
    ----------
    practice : str
    calls, slots : pandas.DataFrame
        The practice's calls and slots, from at least ``history_weeks`` before the first
        replayed week to the end of ``last_week``.
    calendar : Calendar
    last_week : datetime.date
        Monday of the last week replayed.
    n : int
        Weeks replayed.
    model, headcount, shift_rules, targets, seeds
        As :func:`forecasting.outlook.plan_handlers` (the rota's simulation check and rush
        trade-off are skipped: the replay is the check).
    tz : str
    history_weeks : int
        Weeks of history each rota is made from (as the report and ``frontdoor staff``).
    progress : callable, optional

    Returns
    -------
    Replay
    """
    tg = {**ROTA_TARGETS, **(targets or {})}
    rows, notes = [], []
    t_utc = calls["start_utc"]
    for k in range(int(n) - 1, -1, -1):
        week = last_week - _dt.timedelta(weeks=k)
        iso = f"{week.isocalendar()[0]}-W{week.isocalendar()[1]:02d}"
        before = week - _dt.timedelta(weeks=1)
        first = before - _dt.timedelta(weeks=history_weeks)
        lo, mid, hi = (pd.Timestamp(d).tz_localize(tz) for d in (first, week, week + _dt.timedelta(weeks=1)))
        hist_calls = calls.loc[((t_utc >= lo) & (t_utc < mid)).to_numpy(dtype=bool)].reset_index(drop=True)
        week_calls = calls.loc[((t_utc >= mid) & (t_utc < hi)).to_numpy(dtype=bool)].reset_index(drop=True)
        if not len(hist_calls) or not len(week_calls):
            notes.append(f"{iso} cannot be replayed: no calls {'before it' if not len(hist_calls) else 'in it'}.")
            continue
        _say(progress, f"replaying {iso}: the rota from the data before it")
        sl = slots.loc[(slots["start_utc"] < mid).to_numpy(dtype=bool)] if len(slots) else slots
        history = PracticeHistory(practice, hist_calls, sl, calendar, before, first, tz)
        hr = plan_handlers(history, model, headcount, shift_rules, tg, seeds, check=False, tradeoff=False)
        if hr.error is not None:
            notes.append(f"{iso} cannot be replayed: {hr.error}")
            continue
        ro = hr.rota
        sim = replay_rota(week_calls, ro[["ds", "handlers"]], tz, hr.settings["aht_s"], seeds, tg["target_t_s"])
        act = service_of(week_calls, tz, pd.Timestamp(week), pd.Timestamp(week + _dt.timedelta(weeks=1)), tg["target_t_s"])
        ds = pd.DatetimeIndex(ro["ds"])
        monday = ro.loc[np.asarray(ds.normalize() == pd.Timestamp(week), dtype=bool)]
        rows.append({
            "week": iso,
            "headcount": max(hr.headcount.values()) if hr.headcount else np.nan,
            "person_hours": float(hr.days["person_hours"].sum()),
            "on_phones_monday_opening": int(monday["handlers"].iloc[0]) if len(monday) else 0,
            "unmet_half_hours": int(hr.days["unmet_half_hours"].sum()),
            "replayed_answered": sim["answered"],
            "replayed_within_target": sim["within_target"],
            "replayed_abandoned": sim["abandoned"],
            "actual_answered": act["answered"],
            "actual_within_target": act["within_target"],
            "actual_abandoned": act["abandoned"],
            "target_sl": tg["target_sl"],
            "max_abandon": tg["max_abandon"],
        })
    return Replay(pd.DataFrame(rows, columns=list(REPLAY_COLUMNS)), notes)

def same_day_table(plan: SameDayPlan) -> pd.DataFrame:
    """The plan per day and session, as ``frontdoor staff --view sessions`` and the report show it.

    Returns
    -------
    pandas.DataFrame
        :attr:`SameDayPlan.summary` (``date, session, demand, needed, capacity_before,
        p_before, capacity_after, p_after, short_after``) with ``sessions_before,
        sessions_after`` (clinician sessions with same-day work) and ``changes`` (words,
        :func:`change_words`), sessions with neither demand nor slots left out.
    """
    sm = plan.summary.copy()
    n = plan.sessions.groupby(["date", "session"])[["before", "after"]].sum()
    at = pd.MultiIndex.from_arrays([pd.to_datetime(sm["date"]), sm["session"].astype(str)])
    sm.insert(4, "sessions_before", n["before"].reindex(at).fillna(0).to_numpy(dtype="int64"))
    sm.insert(7, "sessions_after", n["after"].reindex(at).fillna(0).to_numpy(dtype="int64"))
    words = change_words(plan.changes)
    sm["changes"] = [words.get((pd.Timestamp(d), str(x)), "") for d, x in zip(sm["date"], sm["session"])]
    return sm.reset_index(drop=True)


def read_same_day_plan(store, practice: str, week, model: str = "auto", history_weeks: int = 12,
                       tz: str = DEFAULT_TZ, slots_per_session: Mapping[str, float] | None = None) -> SameDayPlan:
    """Read a practice's history from the store and plan the same-day sessions of ``week``.

    The same history the weekly report of the week before reads (``history_weeks`` of calls
    and slots, the book to the end of ``week``), so ``frontdoor staff`` and the report give
    the same sessions for the same week.

    Parameters
    ----------
    store : telephony.store.Store
    practice : str
        ODS code.
    week : datetime.date
        The Monday of the week to plan.
    model : str
    history_weeks : int
    tz : str
    slots_per_session : mapping of role to float, optional
        As :func:`plan_same_day`.

    Returns
    -------
    SameDayPlan
    """
    monday = pd.Timestamp(week).date()
    if monday.weekday() != 0:
        raise ForecastInputError(f"A week to plan starts on a Monday; {monday} is not one.")
    last = monday - _dt.timedelta(weeks=1)
    first = last - _dt.timedelta(weeks=int(history_weeks))
    lo, hi = to_utc_bound(first, tz), to_utc_bound(monday, tz)
    calls = store.read_calls([practice], lo, hi)
    slots = read_appointments(store, [practice], lo, to_utc_bound(monday + _dt.timedelta(days=7), tz))
    cal = read_calendars(store, [practice])[practice]
    history = PracticeHistory(practice, calls, slots, cal, last, first, tz)
    check_model(model)
    return plan_same_day(history, model, slots_per_session)


# ============================================================================ all of it


@dataclass
class WeekOutlook:
    """Every part of the week after a practice's history (see the module docstring).

    Attributes
    ----------
    calls : dict of str to CallsForecast
        By day (``"D"``) and by hour (``"h"``).
    checks : dict of str to LastWeekCheck
        The same periods' check of the last week; absent where the forecast failed.
    rota : HandlerRota
    same_day : SameDayPlan
    pressure : SessionPressure or None
        ``None`` when there is no same-day plan to rank.
    replay : forecasting.replay.Replay or None
        :func:`replay_weeks`: the last :data:`REPLAY_WEEKS` weeks' rotas, each made from the data before it, played
        against what happened (``None`` when not asked for).
    """

    calls: dict[str, CallsForecast]
    checks: dict[str, LastWeekCheck]
    rota: HandlerRota
    same_day: SameDayPlan
    pressure: SessionPressure | None
    replay: object = None


def outlook_week(history: PracticeHistory, model: str = "auto", n_replay: int = REPLAY_WEEKS) -> WeekOutlook:
    """Forecast, plans and last week's check for the week after ``history``.

    Parameters
    ----------
    history : PracticeHistory
    model : str
        Registry name of the model of every forecast (:data:`forecasting.models.MODELS`;
        default ``auto``: per series, the best of seasonal average, seasonal naive and ETS by a
        short backtest).
    n_replay : int
        Replay this many of the history's last weeks (:func:`replay_weeks`,
        :data:`REPLAY_SEEDS` runs); 0 for none.

    Returns
    -------
    WeekOutlook

    Raises
    ------
    forecasting.base.ForecastInputError
        An unknown model, or a history without calls. Anything a single part fails with is in
        that part's ``error``.
    """
    check_model(model)
    if not len(history.calls):
        raise ForecastInputError(f"No calls of {history.practice_id} to forecast from: give a history with calls.")
    calls, checks = {}, {}
    for freq in ("D", "h"):
        calls[freq] = forecast_calls(history, model, freq)
        if calls[freq].error is None:  # no check of a model that cannot forecast
            checks[freq] = check_last_week(history, model, freq)
    rota = plan_handlers(history, model)
    same_day = plan_same_day(history, model)
    made = same_day.has_slots and same_day.error is None
    pressure = session_pressure(history, same_day) if made else None
    replay = None
    if n_replay > 0 and rota.error is None:
        replay = replay_weeks(history.practice_id, history.calls, history.slots, history.calendar, history.week_start,
                              n_replay, model, seeds=REPLAY_SEEDS, tz=history.tz)
    return WeekOutlook(calls, checks, rota, same_day, pressure, replay)


# ============================================================================ frontdoor staff


#: Weeks of history before the planned week's predecessor read for the rota, as the weekly
#: report reads (``reports.inputs.HISTORY_WEEKS``): the same history gives the same rota.
STAFF_HISTORY_WEEKS = 12


def staff_week(
    store,
    practice: str,
    week: str,
    target_sl: float = 0.8,
    target_t_s: float = 60.0,
    max_abandon: float | None = 0.05,
    shrinkage: float = 0.3,
    aht_s: float | None = None,
    short_abandon_s: float = 60.0,
    check_redials: bool = True,
    model: str = "auto",
    quantile: float = 0.9,
    seeds: int = 5,
    slots_per_session: Mapping[str, float] | None = None,
    history_weeks: int = 8,
    progress: Progress | None = None,
    headcount: Mapping[int, int] | None = None,
    shift_rules: ShiftRules | None = None,
    levers: Levers | None = None,
    open_hours: str | None = None,
    holidays: str | None = None,
    closures=None,
) -> StaffPlan:
    """Call-handler shifts and daily clinician sessions for one practice and ISO week.

    Parameters
    ----------
    store : telephony.store.Store
    practice : str
        ODS code.
    week : str
        ISO week ``YYYY-Www``, after the practice's history.
    target_sl, target_t_s : float
        Share of callers to answer within ``target_t_s`` seconds (0.8, 60).
    max_abandon : float, optional
        Highest acceptable share abandoning.
    shrinkage : float
        Share of rostered time off the phones.
    aht_s : float, optional
        Average handle time, seconds; measured from the calls when omitted (as the report does).
    short_abandon_s : float
        Kept for the former signature (the rota uses the report's 60 s).
    check_redials : bool
        Play the rota in the queue simulation with redials (and the opening rush's trade-off).
    model : str
        Registry model for the forecasts.
    quantile : float
        Forecast quantile the sessions plan for (the rota uses the report's).
    seeds : int
        Simulated runs of each day.
    slots_per_session : mapping of role to float, optional
        Same-day appointments per clinician session; measured from history when omitted.
    history_weeks : int
        Weeks of slots before the forecast origin used for roles.
    progress : callable, optional
        Called with a line per step.
    headcount : mapping of int to int, optional
        People who can be rostered per weekday (Monday = 0); weekdays left out are learned.
    shift_rules : ShiftRules, optional
        Allowed shifts (default 3–8 hours on the half hour).
    levers : Levers, optional
        Assumptions of the rush trade-off's levers.
    open_hours, holidays, closures : optional
        The practice's calendar, as :func:`forecasting.pipeline.read_practice_series` takes it
        (default: the registry's hours and nation, else learned from the calls).

    Returns
    -------
    StaffPlan

    Raises
    ------
    PlanError
        A bad week, or a week that does not lie after the history or lies more than
        :data:`MAX_HORIZON_WEEKS` after it.

    Notes
    -----
    The rota is :func:`forecasting.outlook.plan_handlers` over the same history the weekly
    report reads (the :data:`STAFF_HISTORY_WEEKS` weeks up to the last complete week of
    calls), so ``frontdoor staff`` and the report give the same shifts for the same week.
    Demand is callers' *first attempts*, not calls offered: redials are a symptom of the
    staffing the history had.
    """
    practice = validate_practice_id(practice)
    monday = pd.Timestamp(parse_week(week))
    end = monday + pd.Timedelta(days=7)
    _say(progress, f"reading {practice}'s calls offered per half hour")
    calls30, cal = read_practice_series(store, practice, "offered", "30min", open_hours=open_hours, holidays=holidays,
                                        closures=closures)
    last = calls30[DS].max()
    if monday <= last:
        raise PlanError(
            f"Week {week} starts {monday.date()}, inside {practice}'s history (to {last:%Y-%m-%d %H:%M}); "
            "staff a week after the history's end."
        )
    if end - last > pd.Timedelta(weeks=MAX_HORIZON_WEEKS):
        raise PlanError(
            f"Week {week} (to {(end - pd.Timedelta(days=1)).date()}) reaches more than {MAX_HORIZON_WEEKS} weeks past "
            f"{practice}'s history (to {last:%Y-%m-%d}): too far ahead to forecast; staff an earlier week, or ingest "
            "the recent calls."
        )

    def ahead(df: pd.DataFrame, freq_min: int) -> int:
        return int((end - df[DS].max()) / pd.Timedelta(minutes=freq_min)) - 1

    def in_week(fc: pd.DataFrame) -> pd.DataFrame:
        return fc[(fc[DS] >= monday) & (fc[DS] < end)].reset_index(drop=True)

    # The history's last complete week: the last Monday-to-Sunday the calls run through.
    last_day = last.normalize()
    hist_week = last_day - pd.Timedelta(days=(last_day.day_of_week + 1) % 7) - pd.Timedelta(days=6)
    hist_week = min(hist_week, monday - pd.Timedelta(days=7))
    weeks_ahead = int((monday - hist_week) / pd.Timedelta(weeks=1))
    tz = DEFAULT_TZ
    first = (hist_week - pd.Timedelta(weeks=STAFF_HISTORY_WEEKS)).date()
    lo = pd.Timestamp(first).tz_localize(tz)
    hi = (hist_week + pd.Timedelta(days=7)).tz_localize(tz)
    _say(progress, f"forecasting first callers and planning shifts with {model}")
    hist_calls = store.read_calls([practice], lo, hi)
    slots_all = read_appointments(store, [practice], lo)
    history = PracticeHistory(practice, hist_calls, slots_all, cal.get(practice, Calendar()) if isinstance(cal, dict) else cal,
                              hist_week.date(), first, tz)
    targets = {"target_sl": target_sl, "target_t_s": target_t_s, "max_abandon": max_abandon, "shrinkage": shrinkage}
    if check_redials:
        _say(progress, f"playing the rota in the queue simulation with redials ({seeds} runs per day)")
    handlers = plan_handlers(history, model, headcount, shift_rules, targets, seeds, weeks_ahead, levers,
                             check=check_redials, aht_s=aht_s)
    if handlers.error is not None:
        raise PlanError(f"No rota for {practice}: {handlers.error}")

    since = (last - pd.Timedelta(weeks=history_weeks)).tz_localize("Europe/London", nonexistent="shift_forward", ambiguous=False)
    _say(progress, f"forecasting same-day appointment demand per day with {model}")
    demand_d, _ = read_practice_series(store, practice, "same_day_demand", "D")
    fcd, _ = forecast_series(demand_d, model, ahead(demand_d, 1440), cal, level=(80, 95))
    fcd = in_week(fcd)
    slots = read_appointments(store, [practice], since)
    mix, sps = session_roles(slots)
    if slots_per_session:
        sps = {**sps, **{r: float(v) for r, v in slots_per_session.items()}}
    sessions = clinician_sessions(fcd, sps, mix, quantile=quantile)
    sessions = sessions[sessions["demand"] > 0].reset_index(drop=True)
    st = handlers.settings
    summary = {
        "practice": practice,
        "week": week,
        "aht_s": st["aht_s"],
        "patience_s": st["patience_used_s"],
        "target": f"{target_sl:.0%} within {target_t_s:g} s, abandon <= {max_abandon:.0%}" if max_abandon is not None else f"{target_sl:.0%} within {target_t_s:g} s",
        "quantile": st["quantile"],
        "checked_with_redials": st["checked"],
        "met_in_simulation": handlers.met,
        "not_met": handlers.not_met,
        "headcount": handlers.headcount,
        "headcount_source": handlers.headcount_source,
        "shift_lengths": st["shift_lengths"],
    }
    return StaffPlan(handlers.rota, sessions, summary, handlers.shifts, handlers.days, handlers.rush, handlers)
