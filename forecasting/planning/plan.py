"""Next week's staffing for a practice: the call-handler rota and the clinician sessions.

Composes the forecast (:mod:`forecasting.pipeline`) with the planners (Erlang and the redial
simulation in :mod:`forecasting.planning.staffing`) for one practice in the store, so that
``frontdoor staff`` and the weekly report stay thin skins. Functions taking a ``store`` read
it; nothing here writes.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from telephony.store import validate_practice_id
from telephony.timeutil import DEFAULT_TZ
from telephony.timeutil import parse_week

from demand.appointments.schema import read_appointments

from forecasting.base import DS
from forecasting.calendar import Calendar
from forecasting.pipeline import MAX_HORIZON_WEEKS, PlanError, Progress, _say, forecast_series, read_practice_series
from demand.simulation.engine import QueueParams
from forecasting.planning.rota import ShiftRules, build_rota, on_phones_whole
from forecasting.planning.rush import Levers, OpeningProfile, RushTradeoff, rush_tradeoff
from forecasting.planning.staffing import (
    check_rota_with_redials,
    clinician_sessions,
    forecast_column,
    handlers_per_interval,
    rostered_handlers,
)

__all__ = [
    "parse_service_level",
    "StaffPlan",
    "RotaPlan",
    "first_attempt_split",
    "queue_params_for",
    "plan_rota",
    "staff_week",
    "session_roles",
]


def parse_service_level(text: str) -> tuple[float, float]:
    """``"80/60"`` → (0.8, 60.0): the share answered (percent) within the seconds.

    Raises
    ------
    PlanError
        For anything else.
    """
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%?\s*/\s*(\d+(?:\.\d+)?)\s*s?\s*", str(text))
    if not m or not 0 < float(m.group(1)) < 100 or float(m.group(2)) <= 0:
        raise PlanError(f"Service level {text!r} is not understood; write PERCENT/SECONDS, e.g. 80/60.")
    return float(m.group(1)) / 100, float(m.group(2))


# ============================================================================ staffing a week


@dataclass
class StaffPlan:
    """What :func:`staff_week` recommends.

    Attributes
    ----------
    rota : pandas.DataFrame
        Per open half hour: :attr:`forecasting.outlook.HandlerRota.rota` (the requirement,
        the cover rostered and on the phones, the requirement unmet, the simulated service and
        last week's handlers).
    sessions : pandas.DataFrame
        :func:`forecasting.planning.staffing.clinician_sessions` per day and role.
    summary : dict
        Handle time, patience, targets, headcount (and its source), shift lengths, whether the
        simulation met the targets and, when it did not, ``not_met``.
    shifts : pandas.DataFrame or None
        ``date, start, end, hours, people``.
    days : pandas.DataFrame or None
        Per day: headcount, people and hours rostered, half hours unmet, simulated service.
    rush : forecasting.planning.rush.RushTradeoff or None
        The busiest opening's trade-off.
    handlers : forecasting.outlook.HandlerRota
        All of the rota's parts, as the report has them.
    """

    rota: pd.DataFrame
    sessions: pd.DataFrame
    summary: dict
    shifts: pd.DataFrame | None = None
    days: pd.DataFrame | None = None
    rush: RushTradeoff | None = None
    handlers: object = None


def session_roles(slots: pd.DataFrame, session_split_hour: float = 13.0) -> tuple[dict[str, float], dict[str, float]]:
    """Roles' share of same-day appointments, and same-day slots per clinician session, from history.

    Returns
    -------
    (dict, dict)
        ``roles_mix``: role to its share of booked same-day slots; ``slots_per_session``: role
        to the mean number of offered same-day slots per clinician session (a clinician's
        am or pm with any same-day slot).

    Raises
    ------
    PlanError
        When the history holds no booked same-day slot.
    """
    s = slots[(slots["category"].astype(str) == "same_day") & (slots["status"].astype(str) != "cancelled")]
    booked = s[s["status"].astype(str).isin(["booked", "attended", "dna"])]
    if len(booked) == 0:
        raise PlanError("No booked same-day appointments in the history; ingest slot exports or give `slots_per_session`.")
    mix = booked["role"].astype(str).value_counts(normalize=True).to_dict()
    local = s["start_utc"].dt.tz_convert("Europe/London").dt.tz_localize(None)
    pm = local.dt.hour + local.dt.minute / 60 >= session_split_hour
    key = s["clinician_key"].astype(str).fillna("?") if "clinician_key" in s.columns else pd.Series("?", index=s.index)
    per = s.assign(_d=local.dt.normalize(), _pm=pm, _c=key).groupby(["role", "_c", "_d", "_pm"], observed=True).size()
    sps = per.groupby(level=0, observed=True).mean().to_dict()
    return {str(r): float(v) for r, v in mix.items()}, {str(r): float(sps.get(r, 1.0)) for r in mix}


def first_attempt_split(fc30: pd.DataFrame, col30: str, callers_h: pd.DataFrame, colh: str) -> pd.Series:
    """Hourly first attempts spread over the half hours in proportion to the calls forecast.

    Parameters
    ----------
    fc30 : pandas.DataFrame
        Half-hourly forecast of calls offered (``ds`` and ``col30``).
    col30 : str
        Its column to spread by.
    callers_h : pandas.DataFrame
        Hourly forecast of first callers (``ds`` and ``colh``).
    colh : str
        Its column to spread.

    Returns
    -------
    pandas.Series
        First attempts per row of ``fc30`` (same index). An hour whose calls forecast is zero
        splits its first attempts evenly.
    """
    f = fc30[[DS, col30]].copy()
    f["hour"] = f[DS].dt.floor("h")
    tot = f.groupby("hour")[col30].transform("sum")
    share = np.where(tot > 0, f[col30] / tot.where(tot > 0, 1.0), 0.5)
    hourly = callers_h.set_index(DS)[colh]
    return pd.Series(share * f["hour"].map(hourly).fillna(0.0).to_numpy(), index=f.index)


_first_attempt_split = first_attempt_split  # the former private name


@dataclass
class RotaPlan:
    """What :func:`plan_rota` recommends.

    Attributes
    ----------
    rota : pandas.DataFrame
        Per open half hour: ``ds, calls`` (forecast calls offered at the quantile, redials
        included, for reference), ``first_attempts`` (forecast first calls of the day: the
        demand staffed for), ``erlang_agents`` (Erlang A's people on the phones: the
        requirement), ``required_rostered``, ``rostered`` (people whose shift covers the half
        hour), ``on_phones`` (``rostered × (1 − shrinkage)``), ``unmet`` (requirement left
        unmet, on the phones), ``headcount``, ``handlers`` (whole people on the phones in the
        simulation) and, when checked, what the rota achieves in the simulation with redials:
        ``service_level``, ``abandon_rate``, ``attempts``, ``redial_ratio``.
    shifts : pandas.DataFrame
        :data:`forecasting.planning.rota.SHIFT_COLUMNS`: ``date, start, end, hours, people``.
    days : pandas.DataFrame
        Per day: ``date, headcount, rostered_people, person_hours, unmet_half_hours`` and,
        when checked, the day's simulated ``offered, service_level, abandon_rate``.
    checked : bool
        Whether the rota was played in the queue simulation with redials.
    met : bool or None
        Whether every day's simulated service meets the targets (``None`` when not checked).
    not_met : dict or None
        When it did not: ``reason`` and ``failing`` (the days falling short).
    rush : forecasting.planning.rush.RushTradeoff or None
        The busiest opening of the week played for each number of handlers and lever.
    rules : ShiftRules
    """

    rota: pd.DataFrame
    shifts: pd.DataFrame
    days: pd.DataFrame
    checked: bool
    met: bool | None
    not_met: dict | None
    rush: RushTradeoff | None = None
    rules: ShiftRules | None = None


def queue_params_for(rota_ds: pd.Series, aht_s: float | None = None) -> QueueParams:
    """The simulation's queue for a practice: opening and closing from its open half hours,
    handle time from its measured average (the demo's caller behaviour otherwise).

    The lognormal handle time's median is set so that its mean is ``aht_s`` (``median =
    mean × exp(−σ²/2)``).
    """
    q = QueueParams()
    ds = pd.DatetimeIndex(pd.to_datetime(rota_ds))
    if len(ds):
        tod = (ds - ds.normalize()) / pd.Timedelta(seconds=1)
        q = dataclasses.replace(q, open_s=float(np.min(tod)), close_s=float(np.max(tod)) + q.rota_step_s)
    if aht_s is not None and math.isfinite(aht_s) and aht_s > 0:
        q = dataclasses.replace(q, handle_median_s=float(aht_s) * math.exp(-q.handle_sigma ** 2 / 2))
    return q


def plan_rota(
    fc30: pd.DataFrame,
    fc_callers_h: pd.DataFrame,
    aht_s: float,
    patience_s: float,
    target_sl: float = 0.8,
    target_t_s: float = 60.0,
    max_abandon: float | None = 0.05,
    shrinkage: float = 0.3,
    short_abandon_s: float = 60.0,
    quantile: float = 0.9,
    check_redials: bool = True,
    seeds: int = 5,
    closed=None,
    tz: str | None = None,
    headcount: Mapping[int, int] | None = None,
    rules: ShiftRules | None = None,
    profile: OpeningProfile | None = None,
    levers: Levers | None = None,
    tradeoff: bool = True,
) -> RotaPlan:
    """A week's call-handler rota of shifts within headcount, from forecasts already made.

    Pure: no store, no model. Steps: the hourly first callers spread over the half hours like
    the calls forecast (:func:`first_attempt_split`); Erlang A's people on the phones for
    those first attempts, per half hour (the requirement,
    :func:`forecasting.planning.staffing.handlers_per_interval`); shifts chosen by the integer
    program within each weekday's headcount (:func:`forecasting.planning.rota.build_rota`);
    with ``check_redials``, the rota played in the queue simulation with redials
    (:func:`forecasting.planning.staffing.check_rota_with_redials`) and the busiest opening's
    trade-off (:func:`forecasting.planning.rush.rush_tradeoff`).

    Parameters
    ----------
    fc30 : pandas.DataFrame
        Forecast of calls offered per half hour of the week (a model's ``predict`` frame,
        with the ``quantile`` column).
    fc_callers_h : pandas.DataFrame
        Forecast of first callers (``unique_callers``) per hour of the same week.
    aht_s : float
        Average handle time, seconds.
    patience_s : float
        Mean patience, seconds (finite).
    target_sl, target_t_s : float
        Share of callers to answer within ``target_t_s`` seconds.
    max_abandon : float, optional
        Highest acceptable share abandoning.
    shrinkage : float
        Share of rostered time off the phones.
    short_abandon_s : float
        Abandons shorter than this are balking, in the simulation's figures.
    quantile : float
        Forecast quantile staffed for.
    check_redials : bool
        Play the rota in the simulation with redials (and the opening rush's trade-off).
    seeds : int
        Simulated runs of each day.
    closed : array-like of bool, optional
        Half hours of ``fc30`` known to be closed, left out of the rota. Half hours with
        neither calls nor first attempts forecast are left out anyway.
    tz : str, optional
        Timezone of the simulation's days.
    headcount : mapping of int to int, optional
        Weekday (Monday = 0) to people who can be rostered. ``None``: no limit known, the
        requirement's own peak (each day can roster what it needs; say so when reporting).
    rules : ShiftRules, optional
        Allowed shifts (default 3–8 hours on the half hour).
    profile : OpeningProfile, optional
        The practice's first calls by minute after opening (the simulation's opening half hour).
    levers : Levers, optional
        Assumptions of the rush trade-off's levers.
    tradeoff : bool
        Play the busiest opening's trade-off (with ``check_redials``).

    Returns
    -------
    RotaPlan

    Raises
    ------
    forecasting.planning.staffing.StaffingError, forecasting.planning.rota.RotaError
        On inputs they cannot use.
    """
    tz = tz or DEFAULT_TZ
    rules = rules or ShiftRules()
    col = forecast_column(fc30, quantile)
    first = first_attempt_split(fc30, col, fc_callers_h, forecast_column(fc_callers_h, quantile))
    rota = pd.DataFrame(
        {DS: pd.DatetimeIndex(fc30[DS]), "calls": fc30[col].to_numpy(), "first_attempts": first.to_numpy()}
    )
    erl = handlers_per_interval(
        rota, aht_s, patience_s, target_sl, target_t_s, max_abandon, shrinkage, interval="30min", column="first_attempts"
    )
    rota["erlang_agents"] = erl["agents"].to_numpy()
    is_open = ((rota["calls"] > 0) | (rota["first_attempts"] > 0)).to_numpy(dtype=bool)
    if closed is not None:
        is_open = is_open & ~np.asarray(closed, dtype=bool)
    rota = rota[is_open].reset_index(drop=True)
    if headcount is None:
        peak = int(rota["erlang_agents"].max()) if len(rota) else 0
        headcount = {d: rostered_handlers(peak, shrinkage) for d in range(7)}
    built = build_rota(rota.rename(columns={"erlang_agents": "required"})[[DS, "required"]], headcount, shrinkage, rules)
    cover = built.cover.set_index(DS)
    for c in ("required_rostered", "rostered", "on_phones", "unmet", "headcount"):
        rota[c] = cover[c].reindex(rota[DS]).to_numpy()
    rota["handlers"] = on_phones_whole(rota["rostered"].to_numpy(), shrinkage, pd.DatetimeIndex(rota[DS]).normalize().asi8,
                                       rota["erlang_agents"].to_numpy())
    day = pd.DatetimeIndex(rota[DS]).normalize()
    days = pd.DataFrame({"date": pd.unique(day)})
    days["headcount"] = [int(built.headcount.get(pd.Timestamp(d), 0)) for d in days["date"]]
    sh = built.shifts
    days["rostered_people"] = days["date"].map(sh.groupby("date")["people"].sum()).fillna(0).astype("int64").to_numpy()
    days["person_hours"] = days["date"].map((sh["people"] * sh["hours"]).groupby(sh["date"]).sum()).fillna(0.0).to_numpy()
    days["unmet_half_hours"] = (
        days["date"].map(pd.Series(rota["unmet"].to_numpy() > 1e-9).groupby(day).sum()).fillna(0).astype("int64").to_numpy()
    )
    met = None
    not_met = None
    rush = None
    if check_redials and len(rota):
        params = queue_params_for(rota[DS], aht_s)
        service = check_rota_with_redials(
            rota[[DS, "handlers"]], rota[[DS, "first_attempts"]], params, range(seeds), target_t_s, short_abandon_s,
            rota_column="handlers", arrivals_column="first_attempts", tz=tz,
            rush_profile=None if profile is None else profile.shares,
        ).set_index(DS)
        for out_col, sv_col in (("service_level", "service_level"), ("abandon_rate", "abandonment_rate"),
                                ("attempts", "attempts"), ("redial_ratio", "redial_ratio")):
            rota[out_col] = rota[DS].map(service[sv_col]).to_numpy(dtype="float64")
        sv = service.reset_index()
        g = sv.assign(date=pd.DatetimeIndex(sv[DS]).normalize()).groupby("date")[
            ["offered", "answered_within_service", "abandoned", "short_abandons"]].sum()
        judged = (g["offered"] - g["short_abandons"]).where(lambda x: x > 0)
        days["offered"] = days["date"].map(g["offered"]).to_numpy(dtype="float64")
        days["service_level"] = days["date"].map(g["answered_within_service"] / judged).to_numpy(dtype="float64")
        days["abandon_rate"] = days["date"].map((g["abandoned"] - g["short_abandons"]) / judged).to_numpy(dtype="float64")
        short = days["service_level"] < target_sl - 1e-9
        if max_abandon is not None:
            short |= days["abandon_rate"] > max_abandon + 1e-9
        met = not bool(short.any())
        if not met:
            failing = days.loc[short, ["date", "headcount", "service_level", "abandon_rate"]].reset_index(drop=True)
            not_met = {
                "reason": (f"{int(short.sum())} day(s) fall short of the target in the simulation with the people "
                           "available; the requirement left unmet is shown, not rostered"),
                "failing": failing,
            }
        if tradeoff:
            rush = _busiest_rush(rota, built, shrinkage, params, profile, seeds, target_sl, target_t_s, max_abandon,
                                 levers, tz, short_abandon_s)
    return RotaPlan(rota, sh, days, bool(check_redials), met, not_met, rush, rules)


def _busiest_rush(rota, built, shrinkage, params, profile, seeds, target_sl, target_t_s, max_abandon, levers, tz,
                  short_abandon_s) -> RushTradeoff | None:
    """The trade-off of the day whose opening hour expects the most first calls."""
    day = pd.DatetimeIndex(rota[DS]).normalize()
    first_hour = rota.groupby(day, sort=True).head(2)
    per_day = first_hour.groupby(pd.DatetimeIndex(first_hour[DS]).normalize())["first_attempts"].sum()
    if not len(per_day) or per_day.max() <= 0:
        return None
    busiest = per_day.idxmax()
    one = rota[(day == busiest)]
    return rush_tradeoff(
        one[[DS, "first_attempts"]], one[[DS, "handlers"]], int(built.headcount.get(pd.Timestamp(busiest), 0)),
        shrinkage, params, profile, range(seeds), target_sl, target_t_s, max_abandon, levers, tz=tz,
        short_abandon_s=short_abandon_s,
    )


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
    # The outlook composes this module (it imports plan_rota), so it is imported here.
    from forecasting.outlook import PracticeHistory, plan_handlers

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
