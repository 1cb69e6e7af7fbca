"""Next week's staffing for a practice: the call-handler rota and the clinician sessions.

Composes the forecast (:mod:`forecasting.pipeline`) with the planners (Erlang and the redial
simulation in :mod:`forecasting.planning.staffing`) for one practice in the store, so that
``frontdoor staff`` and the weekly report stay thin skins. Functions taking a ``store`` read
it; nothing here writes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from telephony.store import validate_practice_id
from telephony.timeutil import parse_week

from demand.appointments.schema import read_appointments

from forecasting.base import DS
from forecasting.pipeline import MAX_HORIZON_WEEKS, PlanError, Progress, _say, forecast_series, read_practice_series
from forecasting.planning.staffing import clinician_sessions, forecast_column, handlers_per_interval, measure_handling, raise_rota_until_met, rostered_handlers

__all__ = [
    "parse_service_level",
    "StaffPlan",
    "RotaPlan",
    "first_attempt_split",
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
        Per half hour of the week's open hours: ``ds, calls`` (forecast calls offered at the
        quantile, redials included: what the phones logged at past staffing, for reference),
        ``first_attempts`` (forecast callers' first calls of the day at the quantile: the
        demand staffed for), ``erlang_agents`` (Erlang A for the first attempts), ``agents``
        (after the redial check), ``added``, ``rostered`` (with shrinkage),
        ``erlang_service_level``, ``erlang_abandon_rate`` and, when checked, what the rota
        achieves in the simulation with redials: ``service_level``, ``abandon_rate``,
        ``attempts`` (calls per interval, redials included) and ``redial_ratio`` (attempts
        per distinct caller).
    sessions : pandas.DataFrame
        :func:`forecasting.planning.staffing.clinician_sessions` per day and role.
    summary : dict
        Handle time, patience, targets, whether the simulation met them and, when it did not,
        ``not_met`` (why, and which intervals fall short).
    """

    rota: pd.DataFrame
    sessions: pd.DataFrame
    summary: dict


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
        Per open half hour: the columns of :attr:`StaffPlan.rota`.
    checked : bool
        Whether the rota was checked (and raised) in the queue simulation with redials.
    met : bool or None
        Whether the simulation met the targets (``None`` when not checked).
    not_met : dict or None
        When it did not: ``reason`` and ``failing`` (the intervals falling short).
    """

    rota: pd.DataFrame
    checked: bool
    met: bool | None
    not_met: dict | None


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
) -> RotaPlan:
    """Half-hourly call handlers from forecasts already made: Erlang A, then the redial check.

    Pure: no store, no model. The steps of :func:`staff_week` (see its Notes) after the
    forecasts: the hourly first callers spread over the half hours like the calls forecast
    (:func:`first_attempt_split`), Erlang A for those first attempts
    (:func:`forecasting.planning.staffing.handlers_per_interval`) and, with ``check_redials``, the
    queue simulation with redials raising the half hours that fall short
    (:func:`forecasting.planning.staffing.raise_rota_until_met`).

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
        Check and raise the rota in the simulation with redials.
    seeds : int
        Simulated runs of each day.
    closed : array-like of bool, optional
        Half hours of ``fc30`` known to be closed, left out of the rota. Half hours with
        neither calls nor first attempts forecast are left out anyway.
    tz : str, optional
        Timezone of the simulation's days (:func:`~forecasting.planning.staffing.raise_rota_until_met`'s
        default when omitted).

    Returns
    -------
    RotaPlan

    Raises
    ------
    forecasting.planning.staffing.StaffingError, ValueError
        From Erlang A or the simulation, on inputs they cannot use.
    """

    col = forecast_column(fc30, quantile)
    first = first_attempt_split(fc30, col, fc_callers_h, forecast_column(fc_callers_h, quantile))
    rota = pd.DataFrame(
        {DS: pd.DatetimeIndex(fc30[DS]), "calls": fc30[col].to_numpy(), "first_attempts": first.to_numpy()}
    )
    erl = handlers_per_interval(
        rota, aht_s, patience_s, target_sl, target_t_s, max_abandon, shrinkage, interval="30min", column="first_attempts"
    )
    rota["erlang_agents"] = erl["agents"].to_numpy()
    rota["erlang_service_level"] = erl["service_level"].to_numpy()
    rota["erlang_abandon_rate"] = erl["abandon_rate"].to_numpy()
    is_open = ((rota["calls"] > 0) | (rota["first_attempts"] > 0)).to_numpy(dtype=bool)
    if closed is not None:
        is_open = is_open & ~np.asarray(closed, dtype=bool)
    met = None
    not_met = None
    if check_redials:
        open_ = rota[is_open]
        raised = raise_rota_until_met(
            open_[[DS]].assign(agents=open_["erlang_agents"].to_numpy()),
            open_[[DS, "first_attempts"]],
            seeds=range(seeds),
            target_sl=target_sl,
            target_t_s=target_t_s,
            max_abandon=max_abandon,
            short_abandon_s=short_abandon_s,
            arrivals_column="first_attempts",
            **({} if tz is None else {"tz": tz}),
        )
        met = bool(raised.met)
        not_met = None if met else {"reason": raised.reason, "failing": raised.failing}
        r = raised.rota.set_index(DS)
        sv = raised.service.set_index(DS)
        rota["agents"] = rota[DS].map(r["agents"]).fillna(rota["erlang_agents"]).astype("int64").to_numpy()
        for out_col, sv_col in (("service_level", "service_level"), ("abandon_rate", "abandonment_rate"),
                                ("attempts", "attempts"), ("redial_ratio", "redial_ratio")):
            rota[out_col] = rota[DS].map(sv[sv_col]).to_numpy(dtype="float64")
    else:
        rota["agents"] = rota["erlang_agents"]
    rota["added"] = rota["agents"] - rota["erlang_agents"]
    rota["rostered"] = [rostered_handlers(int(a), shrinkage) for a in rota["agents"]]
    return RotaPlan(rota[is_open].reset_index(drop=True), check_redials, met, not_met)


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
) -> StaffPlan:
    """Half-hourly call handlers and daily clinician sessions for one practice and ISO week.

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
        Average handle time, seconds; measured from the last ``history_weeks`` when omitted.
    short_abandon_s : float
        Abandons shorter than this are left out of the patience estimate (balking).
    check_redials : bool
        Check (and raise) the Erlang rota in the queue simulation with redials.
    model : str
        Registry model for the three forecasts (calls offered per half hour, first callers per
        hour, same-day demand per day).
    quantile : float
        Forecast quantile staffed for (0.9: the 80% interval's upper bound).
    seeds : int
        Simulated runs of each day in the redial check.
    slots_per_session : mapping of role to float, optional
        Same-day appointments per clinician session; measured from history when omitted.
    history_weeks : int
        Weeks of calls and slots before the forecast origin used for handling and roles.
    progress : callable, optional
        Called with a line per step.

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
    Demand is *first attempts*, not calls offered. A practice's calls offered count every
    redial, and redials are a symptom of the staffing the history had: a caller who cannot get
    through rings again, and again, so an under-staffed 8am logs two to three calls per caller.
    Staffing Erlang A for calls offered staffs that symptom (at the 0.9 quantile of a 9,000-
    patient demo practice, ~240 calls in the 08:00 half hour and 32 rostered handlers) and the
    check below can only raise a rota, never lower it. So the ``unique_callers`` series
    (callers' first call of the local day) is forecast per hour at ``quantile`` and spread over
    its two half hours in proportion to the calls forecast, and Erlang A staffs those first
    attempts, the same arrivals the redial simulation uses. Erlang A sees no redial and no
    queue carried over from the half hour before, so it is a lower bound: the simulation with
    redials (:func:`forecasting.planning.staffing.raise_rota_until_met`) then plays the same first
    attempts against that rota, with callers who fail ringing again, and adds handlers where
    the achieved service falls short; the rota is never below Erlang A's figure. Callers who
    give up and "ring tomorrow" are in tomorrow's first-attempt history, hence its forecast.
    """

    practice = validate_practice_id(practice)
    monday = pd.Timestamp(parse_week(week))
    end = monday + pd.Timedelta(days=7)
    _say(progress, f"reading {practice}'s calls offered per half hour")
    calls30, cal = read_practice_series(store, practice, "offered", "30min")
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

    _say(progress, f"forecasting calls offered with {model}")
    fc30, _ = forecast_series(calls30, model, ahead(calls30, 30), cal, level=(80, 95))
    fc30 = in_week(fc30)
    _say(progress, f"forecasting first callers per hour with {model}")
    callers_h, _ = read_practice_series(store, practice, "unique_callers", "h")
    fch, _ = forecast_series(callers_h, model, ahead(callers_h, 60), cal, level=(80, 95))
    fch = in_week(fch)

    since = (last - pd.Timedelta(weeks=history_weeks)).tz_localize("Europe/London", nonexistent="shift_forward", ambiguous=False)
    hist = store.read_calls([practice], since)
    handling = measure_handling(hist, short_abandon_s=short_abandon_s)
    aht = float(aht_s) if aht_s is not None else handling.aht_s
    patience = handling.mean_patience_s if math.isfinite(handling.mean_patience_s) else 3600.0
    _say(progress, f"Erlang A for first attempts: handle time {aht:.0f} s, patience {patience:.0f} s")
    if check_redials:
        _say(progress, f"checking the rota in the queue simulation with redials ({seeds} runs per day)")
    plan = plan_rota(
        fc30, fch, aht, patience, target_sl, target_t_s, max_abandon, shrinkage, short_abandon_s,
        quantile=quantile, check_redials=check_redials, seeds=seeds,
    )
    rota, met, not_met = plan.rota, plan.met, plan.not_met

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
    summary = {
        "practice": practice,
        "week": week,
        "aht_s": aht,
        "patience_s": patience,
        "target": f"{target_sl:.0%} within {target_t_s:g} s, abandon <= {max_abandon:.0%}" if max_abandon is not None else f"{target_sl:.0%} within {target_t_s:g} s",
        "quantile": quantile,
        "checked_with_redials": check_redials,
        "met_in_simulation": met,
        "not_met": not_met,
    }
    return StaffPlan(rota, sessions, summary)
