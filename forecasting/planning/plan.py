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

from telephony.timeutil import DEFAULT_TZ

from demand.simulation.engine import QueueParams

from forecasting.base import DS
from forecasting.pipeline import PlanError
from forecasting.planning.rota import ShiftRules, build_rota, on_phones_whole
from forecasting.planning.rush import Levers, OpeningProfile, RushTradeoff, rush_tradeoff
from forecasting.planning.staffing import (
    check_rota_with_redials,
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
    """What :func:`forecasting.outlook.staff_week` recommends.

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
