"""The report's two forecast sections: next week, and how last week's forecast did.

Pure functions over :class:`reports.weekly.ReportInputs`; the counts come from
:func:`forecasting.series.series_from_calls` (so from the demand metrics), the forecasts from
a model of :mod:`forecasting.models`, the rota from :mod:`forecasting.planning.staffing`, the check from
:func:`forecasting.backtest.cross_validation`. When the forecasting package (or a piece of it)
is missing, or the history is too short, each part is replaced by a note saying why.

What is forecast
----------------
============================== ========= ========================================================
part                           period    series (:data:`forecasting.series.WHATS`)
============================== ========= ========================================================
calls by day and by hour       D, h      ``calls``: every inbound attempt
call-handler rota              30min, h  ``unique_callers`` (people's first calls) per hour,
                                         spread over the half hours like ``offered``; Erlang A,
                                         then raised where the queue simulation with redials
                                         falls short (as ``frontdoor staff``)
highest-pressure sessions,     D         ``same_day_demand``: same-day slots booked plus callers
clinician sessions                       turned away for lack of capacity, split into am and pm
                                         (:mod:`forecasting.planning.peak_pressure`)
last week's forecast           D, h      ``calls`` from data up to the start of the week
============================== ========= ========================================================
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pandas as pd

from telephony.errors import FrontdoorError

from reports import text as T

__all__ = [
    "NextWeek",
    "ForecastCheck",
    "forecast_week",
    "skipped",
    "ROTA_TARGETS",
    "PLAN_QUANTILE",
    "MODEL_WORDS",
]

LEVELS = (80, 95)
#: Service targets of the recommended call-handler rota (:func:`forecasting.planning.staffing.handlers_per_interval`).
ROTA_TARGETS = {"target_sl": 0.8, "target_t_s": 60.0, "max_abandon": 0.05, "shrinkage": 0.3}
#: Clinician sessions plan for this quantile of same-day demand: the 80% interval's upper
#: bound, enough on nine days in ten.
PLAN_QUANTILE = 0.9
#: Abandons shorter than this are callers balking at the queue, not running out of patience
#: (left out of the patience estimate, as ``frontdoor staff`` does).
BALK_S = 60.0
#: Simulated runs of each day when the rota is checked with redials.
REDIAL_SEEDS = 5
#: Weeks of slots the mix of roles and the slots per session are learnt from.
ROLE_WEEKS = 8
#: Weeks the "usual" same-day capacity of a session is averaged over.
USUAL_WEEKS = 4
#: A session is under pressure when same-day demand exceeds its capacity with more than this
#: probability; extra sessions are suggested until it does not.
PRESSURE_THRESHOLD = 0.1
MODEL_WORDS = {
    "seasonal_average": "the average of the same weekday and time over the last four ordinary weeks",
    "SeasonalAverage": "the average of the same weekday and time over the last four ordinary weeks",
    "seasonal_naive": "the same weekday and time last week",
    "SeasonalNaive": "the same weekday and time last week",
    "ets": "exponential smoothing (ETS) of daily totals, spread by the usual daily shape",
    "ETS": "exponential smoothing (ETS) of daily totals, spread by the usual daily shape",
    "mstl": "MSTL (daily and weekly seasonal decomposition)",
    "MSTL": "MSTL (daily and weekly seasonal decomposition)",
    "prophet": "Prophet with the practice calendar",
    "Prophet": "Prophet with the practice calendar",
}
_NUMERIC_FAILURES = (FrontdoorError, ValueError, ArithmeticError, np.linalg.LinAlgError)


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
        :func:`forecasting.planning.peak_pressure.peak_pressure` of next week's sessions (same-day demand
        against same-day capacity: ``rank, date, session, demand, capacity, p_exceed,
        expected_shortfall, extra_sessions, extra_role``, highest pressure first) and
        ``capacity_source``: ``in the book`` (next week's slots in the store) or ``usual``
        (the same weekday and session's mean over the last four weeks).
    rota : pandas.DataFrame or None
        Per open half hour: ``ds, calls`` (forecast calls reaching the queue, redials
        included), ``first_attempts`` (forecast people's first calls of the day, the demand
        staffed for), ``erlang_agents``, ``agents`` (on the phones, after the redial check),
        ``service_level`` (achieved in the simulation), ``rostered`` and ``seen_last_week``
        (distinct handlers who answered calls in the same half hour of the same weekday last
        week; NaN when the export names no handler).
    rota_settings : dict or None
        ``aht_s, patience_s, checked, quantile`` and :data:`ROTA_TARGETS`.
    sessions : pandas.DataFrame or None
        :func:`forecasting.planning.staffing.clinician_sessions` rows (``ds, role, demand,
        slots_per_session, sessions, capacity``).
    session_days : pandas.DataFrame or None
        Per day with demand: ``ds, demand, demand_hi80, sessions, capacity, roles`` (text)
        and ``booked_slots`` (same-day slots already in next week's book; NaN when the book
        is not in the store).
    session_settings : dict or None
        ``roles_mix, slots_per_session, quantile``.
    notes : list of str
    """

    week: object = None
    daily: pd.DataFrame | None = None
    hourly: pd.DataFrame | None = None
    models: dict = field(default_factory=dict)
    pressure: pd.DataFrame | None = None
    rota: pd.DataFrame | None = None
    rota_settings: dict | None = None
    sessions: pd.DataFrame | None = None
    session_days: pd.DataFrame | None = None
    session_settings: dict | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class ForecastCheck:
    """Last week's forecast (made from data up to the start of the week) against what happened.

    Attributes
    ----------
    daily, hourly : pandas.DataFrame or None
        ``ds, actual, forecast, lo80, hi80, lo95, hi95, closed``.
    scores : dict
        ``daily_wape, hourly_wape`` (sum of absolute errors over the actual total, open
        periods), ``daily_mase``, ``daily_coverage_80, hourly_coverage_80`` (share of open
        periods inside the 80% interval), ``forecast_total, actual_total``
        (:func:`forecasting.backtest.score`).
    model : str or None
    notes : list of str
    """

    daily: pd.DataFrame | None = None
    hourly: pd.DataFrame | None = None
    scores: dict = field(default_factory=dict)
    model: str | None = None
    notes: list[str] = field(default_factory=list)


def skipped(reason: str) -> tuple[NextWeek, ForecastCheck]:
    """Both sections replaced by ``reason``."""
    return NextWeek(notes=[reason]), ForecastCheck(notes=[reason])


# The parts of forecasting each section uses beyond the models: (name here, module, attribute).
# A missing one degrades only the sections that need it.
_PARTS = {
    "rota": (
        ("measure_handling", "forecasting.planning.staffing", "measure_handling"),
        # frontdoor staff's own rota from the forecasts: Erlang A, then the redial check
        ("plan_rota", "forecasting.planning.plan", "plan_rota"),
    ),
    "same_day": (
        ("clinician_sessions", "forecasting.planning.staffing", "clinician_sessions"),
        ("session_roles", "forecasting.planning.plan", "session_roles"),
        ("capacity_from_slots", "forecasting.planning.peak_pressure", "capacity_from_slots"),
        ("peak_pressure", "forecasting.planning.peak_pressure", "peak_pressure"),
        ("session_demand", "forecasting.planning.peak_pressure", "session_demand"),
        ("session_shares", "forecasting.planning.peak_pressure", "session_shares"),
    ),
}


def _forecasting():
    """The forecasting pieces, or the reason they cannot be used at all.

    The models, the series and the backtest are needed for anything; the staffing, planning
    and pressure pieces only by their sections: ``fx.missing[section]`` says why a section
    cannot be made (absent when it can).
    """
    import importlib

    try:
        from forecasting.backtest import cross_validation, score
        from forecasting.models import MODELS, make_model
        from forecasting.series import series_from_calls
    except ImportError as err:
        return None, (
            f"Forecasts are not available in this installation ({err}). The measured sections above are "
            "complete; install Frontdoor with its forecasting package to see next week."
        )
    fx = SimpleNamespace(
        cross_validation=cross_validation,
        score=score,
        MODELS=MODELS,
        make_model=make_model,
        series_from_calls=series_from_calls,
        missing={},
    )
    for section, parts in _PARTS.items():
        for name, module, attr in parts:
            try:
                setattr(fx, name, getattr(importlib.import_module(module), attr))
            except (ImportError, AttributeError) as err:
                fx.missing.setdefault(section, f"{module}.{attr} is not available ({err})")
    return fx, None


def _fail(what: str, err: Exception) -> str:
    return f"{what} could not be made: {err}"


def _tidy(fc: pd.DataFrame, alias: str, cal, freq: str) -> pd.DataFrame:
    out = pd.DataFrame({"ds": pd.DatetimeIndex(fc["ds"]), "mean": fc[alias].to_numpy()})
    for lv in LEVELS:
        out[f"lo{lv}"] = fc[f"{alias}-lo-{lv}"].to_numpy()
        out[f"hi{lv}"] = fc[f"{alias}-hi-{lv}"].to_numpy()
    out["closed"] = cal.closed(pd.DatetimeIndex(out["ds"]), freq)
    return out


def _model_words(m, name: str) -> str:
    choices = getattr(m, "choices_", None)
    if choices is not None and len(choices):
        chosen = str(choices["model"].iloc[0])
        return f"{MODEL_WORDS.get(chosen, chosen)} (chosen by a backtest of the recent weeks)"
    return MODEL_WORDS.get(name, name)


def forecast_week(inputs, practice: str, measures, model: str = "auto") -> tuple[NextWeek, ForecastCheck]:
    """The two forecast sections of one practice's report.

    Parameters
    ----------
    inputs : reports.weekly.ReportInputs
    practice : str
    measures : reports.weekly.WeekMeasures
        The practice's measured week (which days had calls, usual same-day slots).
    model : str
        Registry name of the model (:data:`forecasting.models.MODELS`).

    Returns
    -------
    (NextWeek, ForecastCheck)
    """
    from reports.weekly import _calendar

    inp = inputs.for_practice(practice)
    week, tz = inp.week, inp.tz
    if not measures.has_calls:
        return skipped(
            "No calls this week, so there is nothing to forecast from: forecasts start from the latest complete week."
        )
    fx, why = _forecasting()
    if fx is None:
        return skipped(why)
    if model not in fx.MODELS:
        return skipped(f"Unknown forecasting model {model!r}; known models: {', '.join(sorted(fx.MODELS))}.")
    try:
        cal = _calendar(inp.registry, measures.practice_id)
    except FrontdoorError as err:
        return skipped(f"The practice's opening hours cannot be read, so nothing can be forecast: {err}")
    cals = {measures.practice_id: cal}
    first = max(inp.history_start, inp.calls["start_utc"].min().tz_convert(tz).date())
    start, end = first.isoformat(), week.end.isoformat()
    calls = inp.calls
    nxt = NextWeek(week=week.shift(1))
    check = ForecastCheck()

    def new_model():
        return fx.make_model(model, calendar=cals)

    def series(freq, what, **kw):
        return fx.series_from_calls(calls, freq, what, tz, start, end, **kw)

    # calls by day and by hour, and the check of last week's forecast
    for freq, h, label in (("D", 7, "daily"), ("h", 168, "hourly")):
        try:
            s = series(freq, "calls")
            m = new_model().fit(s)
            fc = m.predict(h, level=LEVELS)
            setattr(nxt, label, _tidy(fc, m.alias, cal, freq))
            nxt.models[f"calls by {'day' if freq == 'D' else 'hour'}"] = _model_words(m, model)
        except _NUMERIC_FAILURES as err:
            nxt.notes.append(_fail(f"The forecast of calls by {'day' if freq == 'D' else 'hour'}", err))
            continue
        try:
            cv = fx.cross_validation(s, new_model(), h=h, n_windows=1, level=LEVELS, calendar=cals)
            sc = fx.score(cv, s, horizon="all", calendar=cals)
            frame = pd.DataFrame(
                {
                    "ds": pd.DatetimeIndex(cv["ds"]),
                    "actual": cv["y"].to_numpy(),
                    "forecast": cv["yhat"].to_numpy(),
                    **{f"{b}{lv}": cv[f"{b}_{lv}"].to_numpy() for lv in LEVELS for b in ("lo", "hi")},
                    "closed": cv["closed"].to_numpy(dtype=bool),
                }
            )
            setattr(check, label, frame)
            if len(sc):
                row = sc.iloc[0]
                check.scores[f"{label}_wape"] = float(row["wape"])
                check.scores[f"{label}_coverage_80"] = float(row["coverage_80"])
                check.scores[f"{label}_mase"] = float(row["mase"])
            if freq == "D":
                open_ = ~frame["closed"]
                check.scores["forecast_total"] = float(frame.loc[open_, "forecast"].sum())
                check.scores["actual_total"] = float(frame.loc[open_, "actual"].sum())
                check.model = _model_words(m, model)
        except _NUMERIC_FAILURES as err:
            check.notes.append(_fail(f"Last week's forecast by {'day' if freq == 'D' else 'hour'}", err))
    if measures.bank_holidays:
        check.notes.append(
            "Last week had a bank holiday: the forecast knew it (the practice calendar closes it) but the days "
            "around a holiday are harder to forecast."
        )
    missing = measures.quality.days
    if (missing["status"] == "no calls").any():
        check.notes.append(
            "Last week has an opening day without calls (see data quality): the errors on that day measure the "
            "missing export, not the forecast."
        )

    ahead = {d: n for d, n in measures.holidays.items() if nxt.week.start <= d <= nxt.week.last}
    if ahead:
        names = "; ".join(f"{T.day_label(d)} ({n})" for d, n in sorted(ahead.items()))
        nxt.notes.append(
            f"Next week has a bank holiday: {names}. The practice is closed, so the forecasts and plans leave it out; "
            "expect the day after to surge like a Monday."
        )
    _rota(fx, nxt, inp, series, new_model, cal, model)
    _same_day(fx, nxt, inp, series, new_model, start, end, model, measures.holidays)
    return nxt, check


def _rota(fx, nxt: NextWeek, inp, series, new_model, cal, model: str) -> None:
    """The call-handler rota per half hour, as ``frontdoor staff`` makes it.

    Demand is callers' *first attempts* (the redials of an under-staffed 8am are a symptom of
    past staffing, not demand to staff for): the hourly ``unique_callers`` forecast at
    :data:`PLAN_QUANTILE`, spread over its half hours like the calls forecast. Erlang A staffs
    them; the queue simulation with redials then raises the half hours that still fall short.
    """
    if "rota" in fx.missing:
        nxt.notes.append(f"The call-handler rota cannot be made: {fx.missing['rota']}.")
        return
    try:
        s30 = series("30min", "offered")
        m30 = new_model().fit(s30)
        fc30 = m30.predict(7 * 48, level=LEVELS)
        sh = series("h", "unique_callers")
        mh = new_model().fit(sh)
        fch = mh.predict(7 * 24, level=LEVELS)
        nxt.models["calls reaching the queue by half hour"] = _model_words(m30, model)
        nxt.models["people's first calls by hour"] = _model_words(mh, model)
        handling = fx.measure_handling(inp.calls, short_abandon_s=BALK_S)
    except _NUMERIC_FAILURES as err:
        nxt.notes.append(_fail("The call-handler rota", err))
        return
    # nobody abandoned: patience is unbounded; an hour keeps Erlang A finite (as frontdoor staff)
    patience = handling.mean_patience_s if math.isfinite(handling.mean_patience_s) else 3600.0

    def plan(check: bool):
        return fx.plan_rota(
            fc30,
            fch,
            handling.aht_s,
            patience,
            ROTA_TARGETS["target_sl"],
            ROTA_TARGETS["target_t_s"],
            ROTA_TARGETS["max_abandon"],
            ROTA_TARGETS["shrinkage"],
            short_abandon_s=BALK_S,
            quantile=PLAN_QUANTILE,
            check_redials=check,
            seeds=REDIAL_SEEDS,
            closed=cal.closed(pd.DatetimeIndex(fc30["ds"]), "30min"),
            tz=inp.tz,
        )

    try:
        planned = plan(True)
    except _NUMERIC_FAILURES as err:
        try:
            planned = plan(False)  # Erlang A's alone
        except _NUMERIC_FAILURES as err2:
            nxt.notes.append(_fail("The call-handler rota", err2))
            return
        nxt.notes.append(f"The rota could not be checked in the queue simulation with redials ({err}): it is Erlang A's alone.")
    else:
        if not planned.met:
            nxt.notes.append(f"Even the raised rota falls short of the targets in the simulation: {planned.not_met['reason']}.")
    checked = planned.checked
    rota = planned.rota
    if not checked:
        rota["service_level"] = np.nan
    rota = rota[["ds", "calls", "first_attempts", "erlang_agents", "agents", "service_level", "rostered"]].copy()
    rota["seen_last_week"] = _handlers_seen(inp, rota["ds"])
    nxt.rota = rota
    nxt.rota_settings = {
        "aht_s": handling.aht_s,
        "patience_s": handling.mean_patience_s,
        "checked": checked,
        "quantile": PLAN_QUANTILE,
        **ROTA_TARGETS,
    }
    if rota["seen_last_week"].isna().all():
        nxt.notes.append(
            "The phone system's export does not say who answered, so the rota cannot be set beside last week's."
        )


def _handlers_seen(inp, slots: pd.Series) -> np.ndarray:
    """Distinct handlers who answered calls in each half hour of the same weekday last week.

    A count of pseudonyms, never a name: who they were is not needed and not shown. NaN
    everywhere when the week's answered calls carry no handler at all.
    """
    from reports.weekly import _utc

    week, tz = inp.week, inp.tz
    c = inp.calls
    keep = (
        (c["start_utc"] >= _utc(week.start, tz))
        & (c["direction"].astype(str) == "inbound")
        & (c["outcome"].astype(str) == "answered")
    ).to_numpy(dtype=bool)
    ans = c.loc[keep]
    if not len(ans) or ans["agent_key"].notna().sum() == 0:
        return np.full(len(slots), np.nan)
    ans = ans[ans["agent_key"].notna()]
    local = ans["start_utc"].dt.tz_convert(tz).dt.tz_localize(None).dt.floor("30min")
    key = local.dt.day_of_week * 10_000 + local.dt.hour * 100 + local.dt.minute
    seen = ans["agent_key"].groupby(key.to_numpy()).nunique()
    sl = pd.DatetimeIndex(slots)
    want = sl.day_of_week * 10_000 + sl.hour * 100 + sl.minute
    return seen.reindex(np.asarray(want)).fillna(0).to_numpy(dtype="float64")


def _same_day(fx, nxt: NextWeek, inp, series, new_model, start: str, end: str, model: str, holidays: dict) -> None:
    """Next week's same-day demand: the highest-pressure sessions and the clinician sessions."""
    from demand.demand_capacity import demand_capacity

    from reports.weekly import _utc

    week, tz = inp.week, inp.tz
    nw = week.shift(1)
    if "same_day" in fx.missing:
        nxt.notes.append(f"Same-day demand and clinician sessions cannot be planned: {fx.missing['same_day']}.")
        return
    s = inp.slots
    hist = s.loc[(s["start_utc"] < _utc(week.end, tz)).to_numpy(dtype=bool)] if len(s) else s
    if not len(hist):
        nxt.notes.append(
            "No appointment slots in the store, so same-day demand cannot be forecast and clinician sessions cannot "
            "be planned: ingest the slot export ('frontdoor ingest appointments')."
        )
        return
    try:
        sd = series("D", "same_day_demand", slots=hist)
        m = new_model().fit(sd)
        fc = m.predict(7, level=LEVELS)
        nxt.models["same-day appointment demand"] = _model_words(m, model)
        recent = hist.loc[(hist["start_utc"] >= _utc(week.start - _dt.timedelta(weeks=ROLE_WEEKS - 1), tz)).to_numpy(dtype=bool)]
        mix, per_session = fx.session_roles(recent if len(recent) else hist)
        cs = fx.clinician_sessions(fc, per_session, mix, quantile=PLAN_QUANTILE)
        history = demand_capacity(inp.calls, hist, tz, start=start, end=end)
    except _NUMERIC_FAILURES as err:
        nxt.notes.append(_fail("The same-day demand forecast", err))
        return
    book = None
    nxt_slots = s.loc[((s["start_utc"] >= _utc(nw.start, tz)) & (s["start_utc"] < _utc(nw.end, tz))).to_numpy(dtype=bool)]
    if len(nxt_slots):
        book = fx.capacity_from_slots(nxt_slots, tz, nw.start.isoformat(), nw.end.isoformat())
        if not book["capacity"].sum():
            book = None
    # sessions per day, beside what is already in the book
    alias = m.alias
    days = pd.DataFrame(
        {"ds": pd.DatetimeIndex(fc["ds"]), "demand": fc[alias].to_numpy(), "demand_hi80": fc[f"{alias}-hi-80"].to_numpy()}
    )
    tot = cs.groupby("ds", sort=False)[["sessions", "capacity"]].sum()
    days["sessions"] = tot["sessions"].reindex(days["ds"]).fillna(0).to_numpy(dtype="int64")
    days["capacity"] = tot["capacity"].reindex(days["ds"]).fillna(0).to_numpy()
    days["roles"] = [
        " \u00b7 ".join(f"{r} {int(n)}" for r, n in zip(g["role"], g["sessions"]) if n > 0)
        for g in (cs[cs["ds"] == d] for d in days["ds"])
    ]
    if book is not None:
        per_day = book.assign(date=pd.to_datetime(book["date"])).groupby("date")["capacity"].sum()
        days["booked_slots"] = per_day.reindex(days["ds"]).fillna(0).to_numpy()
    else:
        days["booked_slots"] = np.nan
        nxt.notes.append(
            "Next week's appointment book is not in the store yet, so the plan cannot be set beside what is already "
            f"booked in; the pressure below assumes same-day slots as usual. Ingest a slot export that runs to "
            f"{T.day_label(nw.last)} to see it."
        )
    nxt.sessions = cs
    nxt.session_days = days[days["demand"] > 0].reset_index(drop=True)
    nxt.session_settings = {"roles_mix": mix, "slots_per_session": per_session, "quantile": PLAN_QUANTILE}

    # the highest-pressure sessions: P(same-day demand > same-day capacity)
    try:
        shares = fx.session_shares(history)
        demand = fx.session_demand(fc, m.spread_, shares)
        if book is not None:
            capacity, source = book, "in the book"
        else:
            capacity, source = _usual_capacity(history, demand, week, holidays), "usual"
        pp = fx.peak_pressure(demand, capacity, per_session, threshold=PRESSURE_THRESHOLD)
    except _NUMERIC_FAILURES as err:
        nxt.notes.append(_fail("The highest-pressure sessions", err))
        return
    pp = pp.assign(capacity_source=source)
    nxt.pressure = pp


def _usual_capacity(history: pd.DataFrame, demand: pd.DataFrame, week, holidays: dict) -> pd.DataFrame:
    """Same-day slots each session of next week would have if released as usual.

    The mean ``same_day_released`` of the same weekday and session over the last four weeks
    up to the reported one, bank holidays left out.
    """
    h = history.assign(date=pd.to_datetime(history["date"]))
    d = h["date"].dt.date
    keep = (d >= week.start - _dt.timedelta(weeks=USUAL_WEEKS - 1)) & (d <= week.last) & ~d.isin(list(holidays))
    h = h[keep.to_numpy(dtype=bool)]
    usual = (
        h.assign(weekday=h["date"].dt.day_of_week, session=h["session"].astype(str))
        .groupby(["weekday", "session"])["same_day_released"]
        .mean()
    )
    out = demand[["unique_id", "date", "session"]].copy()
    key = list(zip(pd.to_datetime(out["date"]).dt.day_of_week, out["session"].astype(str)))
    out["capacity"] = [float(usual.get(k, 0.0)) for k in key]
    return out
