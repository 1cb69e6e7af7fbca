"""Accountability: the rotas that would have been recommended, played against what happened.

For each of the last N weeks, :func:`replay_weeks` makes the rota from the data *before* that
week only (no look-ahead: :func:`forecasting.outlook.plan_handlers` over a history ending the
week before), then plays that week's actual callers (their first calls of each day, at the
times they really rang) against it in the queue simulation with redials, and sets the
simulated service beside what the practice actually achieved that week (the same definitions:
:func:`forecasting.planning.rush.service_of`). Pure over frames already read, except
:func:`replay_store`, which reads the store.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from demand.appointments.schema import read_appointments
from demand.simulation.engine import NEEDS
from demand.simulation.population import DemandParams
from telephony.store import validate_practice_id
from telephony.timeutil import DEFAULT_TZ, parse_week

from forecasting.calendar import Calendar
from forecasting.outlook import REDIAL_SEEDS, ROTA_TARGETS, PracticeHistory, plan_handlers
from forecasting.pipeline import PlanError, Progress, _say
from forecasting.planning.plan import STAFF_HISTORY_WEEKS, queue_params_for
from forecasting.planning.rota import ShiftRules
from forecasting.planning.rush import play_days, service_of
from forecasting.series import calendars_from_registry
from telephony.practices import read_practices

__all__ = ["REPLAY_COLUMNS", "Replay", "actual_first_calls", "replay_rota", "replay_weeks", "replay_store"]

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
    history_weeks: int = STAFF_HISTORY_WEEKS,
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


def replay_store(
    store,
    practice: str,
    n: int,
    before_week: str,
    model: str = "auto",
    headcount: Mapping[int, int] | None = None,
    shift_rules: ShiftRules | None = None,
    targets: Mapping[str, float | None] | None = None,
    seeds: int = REDIAL_SEEDS,
    progress: Progress | None = None,
) -> Replay:
    """:func:`replay_weeks` of the ``n`` weeks before ISO week ``before_week``, read from the store.

    Raises
    ------
    PlanError
        A bad week.
    """
    practice = validate_practice_id(practice)
    monday = pd.Timestamp(parse_week(before_week)).date()
    last = monday - _dt.timedelta(weeks=1)
    first = last - _dt.timedelta(weeks=int(n) - 1 + 1 + STAFF_HISTORY_WEEKS)
    tz = DEFAULT_TZ
    lo, hi = pd.Timestamp(first).tz_localize(tz), pd.Timestamp(monday).tz_localize(tz)
    _say(progress, f"reading {practice}'s calls from {first}")
    calls = store.read_calls([practice], lo, hi)
    if not len(calls):
        raise PlanError(f"No calls of {practice} in the {n} weeks before {before_week}: pick a `week` after the data.")
    slots = read_appointments(store, [practice], lo, hi)
    reg = read_practices(store)
    rows = reg[reg["practice_id"].astype(str) == practice] if len(reg) else reg
    cals = calendars_from_registry(rows) if len(rows) else {}
    return replay_weeks(practice, calls, slots, cals.get(practice, Calendar()), last, n, model, headcount, shift_rules,
                        targets, seeds, tz, progress=progress)
