"""The opening rush: what the people a practice has can do, and what else helps.

When the requirement at opening exceeds the people who can be rostered (the 8am rush in
general practice), one number of handlers is advice nobody can follow. This module plays the
rush in the queue simulation with redials (:func:`demand.simulation.engine.simulate_queue`)
for each number of handlers on at opening, and for the levers that do not need more people:

- **call-back offers**: callers far back in the queue are offered a call-back and an assumed
  share accept (the share is an input, printed as an assumption);
- **same-day slots released in two tranches**: an assumed share of the opening hour's
  same-day callers ring at the second release instead;
- **an online form**: an assumed share of first calls become online requests.

Arrivals inside the first half hour follow the practice's own minutes after opening
(:func:`opening_profile`), not a constant. Service is measured from the simulated calls with
the definitions of real ones (:func:`demand.queue.queue_metrics`,
:func:`demand.callers.time_to_get_through`). Pure; no I/O.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from demand.callers import time_to_get_through
from demand.queue import queue_metrics
from demand.simulation.engine import QueueParams, simulate_queue
from demand.simulation.population import DemandParams

from forecasting.calendar import Calendar
from forecasting.planning.rota import RotaError, on_phones_whole
from forecasting.planning.staffing import _arrivals_day

__all__ = [
    "Levers",
    "OpeningProfile",
    "opening_profile",
    "play_days",
    "service_of",
    "RushTradeoff",
    "rush_tradeoff",
    "TRADEOFF_COLUMNS",
]

TRADEOFF_COLUMNS: tuple[str, ...] = (
    "option", "handlers_at_opening", "rostered_at_opening", "within_headcount", "answered_within_target",
    "abandoned", "median_s", "p90_s", "rang_back", "callers",
)
_PRACTICE = "Z00000"  # placeholder practice of simulated calls (the metrics group by practice)


@dataclass(frozen=True)
class Levers:
    """Assumptions behind the levers other than people (each printed beside its effect).

    Attributes
    ----------
    callback_accept : float
        Share of callers offered a call-back who accept it.
    callback_from_position : int
        Callers who find this many or more ahead of them are offered a call-back.
    tranche_share : float
        Share of the opening hour's same-day callers who ring at the second release instead.
    tranche_at_min : int
        When the second tranche of same-day slots is released, minutes after midnight.
    online_share : float
        Share of first calls that become online requests instead.
    """

    callback_accept: float = 0.3
    callback_from_position: int = 3
    tranche_share: float = 0.3
    tranche_at_min: int = 13 * 60
    online_share: float = 0.2

    def __post_init__(self):
        for name in ("callback_accept", "tranche_share", "online_share"):
            v = getattr(self, name)
            if not 0 <= v <= 1:
                raise RotaError(f"`{name}` is a share between 0 and 1 (got {v!r})")

    def assumptions(self) -> dict[str, str]:
        """Option name to the assumption its effect rests on, in words."""
        t = f"{self.tranche_at_min // 60:02d}:{self.tranche_at_min % 60:02d}"
        return {
            "call-back offers": (f"{self.callback_accept:.0%} of callers offered a call-back accept it "
                                 f"(offered with {self.callback_from_position} or more ahead)"),
            "same-day slots in two tranches": (f"{self.tranche_share:.0%} of the opening hour's same-day callers ring "
                                               f"at the second release ({t}) instead"),
            "online form": f"{self.online_share:.0%} of first calls become online requests",
        }


# ============================================================================ arrival profile


@dataclass(frozen=True)
class OpeningProfile:
    """Callers' first calls in the first half hour after opening, by minute.

    Attributes
    ----------
    shares : numpy.ndarray
        30 shares (minute 0 to 29 after opening), summing to 1.
    callers : int
        First calls it was measured from.
    days : int
        Open days they fell on.
    """

    shares: np.ndarray
    callers: int
    days: int

    @property
    def first_five_min(self) -> float:
        """Share of the half hour's first calls in its first five minutes."""
        return float(self.shares[:5].sum())


def opening_profile(calls: pd.DataFrame, tz: str, calendar: Calendar | None = None, minutes: int = 30) -> OpeningProfile | None:
    """The practice's own profile of first calls over the first ``minutes`` after opening.

    Parameters
    ----------
    calls : pandas.DataFrame
        Canonical calls (``start_utc, direction, caller_key``).
    tz : str
    calendar : Calendar, optional
        Opening time per weekday (its first span); default Mon–Fri 08:00.
    minutes : int

    Returns
    -------
    OpeningProfile or None
        ``None`` when no first call fell in the window (then a flat profile is the fallback).

    Notes
    -----
    A caller's first call of the local day (a ``caller_key`` within one day; each withheld
    call its own caller, as :func:`demand.callers.caller_metrics_daily` counts them). Redials
    are left out: they follow the queue the history had, not when people want to ring.
    """
    cal = calendar or Calendar()
    inb = calls[calls["direction"].astype(str) == "inbound"]
    if not len(inb):
        return None
    local = inb["start_utc"].dt.tz_convert(tz).dt.tz_localize(None)
    day = local.dt.normalize()
    key = inb["caller_key"].astype("object")
    key = key.where(key.notna(), pd.Series(np.arange(len(inb)).astype(str), index=inb.index).radd("withheld-"))
    first = pd.DataFrame({"t": local, "day": day, "key": key}).groupby(["day", "key"], sort=False)["t"].min()
    t = pd.DatetimeIndex(first.to_numpy())
    wd = t.day_of_week
    opens = np.array([s[0][0] if s else -1 for s in cal.hours.spans])[wd]
    since = (t.hour * 60 + t.minute + t.second / 60).to_numpy() - opens
    ok = (opens >= 0) & (since >= 0) & (since < minutes)
    if not ok.any():
        return None
    counts = np.bincount(np.floor(since[ok]).astype(int), minlength=minutes)[:minutes].astype("float64")
    return OpeningProfile(counts / counts.sum(), int(ok.sum()), int(pd.Index(t[ok].normalize()).nunique()))


# ============================================================================ playing days


def play_days(
    days: Sequence[tuple[pd.Timestamp, pd.DataFrame, Sequence[int]]],
    params: QueueParams,
    tz: str,
    seed: int,
) -> pd.DataFrame:
    """Play days of first calls against rotas in the queue simulation with redials.

    Parameters
    ----------
    days : sequence of (day, arrivals, handlers)
        Naive local midnight; first calls (``t_s`` seconds after midnight, optional ``need``,
        ``withheld``); handlers on the phones per rota interval from ``params.open_s``.
    params : QueueParams
    tz : str
    seed : int
        One run: the same seed gives the same calls.

    Returns
    -------
    pandas.DataFrame
        Canonical calls (``practice_id, start_utc, direction, caller_key, outcome, wait_s,
        talk_s``): a caller is a need within a day and run.
    """
    frames = []
    for day, arrivals, handlers in days:
        key = [int(seed), int(pd.Timestamp(day).value // 86_400_000_000_000) & 0xFFFFFFFF, 3]
        sim = simulate_queue(arrivals, list(handlers), params, np.random.default_rng(np.random.SeedSequence(key)))
        local = pd.Timestamp(day) + pd.to_timedelta(sim["t_s"].to_numpy(), unit="s")
        frames.append(
            pd.DataFrame(
                {
                    "practice_id": _PRACTICE,
                    "start_utc": local.tz_localize(tz, nonexistent="shift_forward", ambiguous=False).tz_convert("UTC"),
                    "direction": sim["direction"].to_numpy(),
                    "caller_key": [f"{seed}:{pd.Timestamp(day).date()}:{n}" for n in sim["need_id"]],
                    "outcome": sim["outcome"].to_numpy(),
                    "wait_s": sim["wait_s"].to_numpy(dtype="float64"),
                    "talk_s": sim["talk_s"].to_numpy(dtype="float64"),
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["practice_id", "start_utc", "direction", "caller_key", "outcome", "wait_s", "talk_s"])
    return pd.concat(frames, ignore_index=True)


def service_of(
    calls: pd.DataFrame,
    tz: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    target_t_s: float = 60.0,
    short_abandon_s: float = 60.0,
    runs: int = 1,
) -> dict:
    """Service of calls started in ``[start, end)`` (naive local), real or simulated.

    Returns
    -------
    dict
        ``offered`` and ``callers`` (per run), ``answered`` (share of calls offered answered or
        given a call-back), ``within_target`` and ``abandoned`` (:func:`demand.queue.queue_metrics`'s
        service level and abandonment rate, short abandons left out), ``median_s`` and
        ``p90_s`` (time to get through of callers whose first call fell in the window,
        :func:`demand.callers.time_to_get_through`) and ``rang_back`` (those callers who rang
        more than once, per run).
    """
    s, e = pd.Timestamp(start), pd.Timestamp(end)
    inb = calls[calls["direction"].astype(str) == "inbound"]
    out = {"offered": 0.0, "answered": math.nan, "within_target": math.nan, "abandoned": math.nan,
           "median_s": math.nan, "p90_s": math.nan, "rang_back": 0.0, "callers": 0.0}
    if not len(inb):
        return out
    # The calls started in the window (queue_metrics counts a call where it starts).
    local = inb["start_utc"].dt.tz_convert(tz).dt.tz_localize(None)
    win = inb.loc[((local >= s) & (local < e)).to_numpy(dtype=bool)]
    if not len(win):
        return out
    qm = queue_metrics(win, freq="D", short_abandon_s=short_abandon_s, service_s=target_t_s, tz=tz)
    tot = qm[["offered", "answered", "callbacks", "abandoned", "short_abandons", "answered_within_service"]].sum()
    offered = float(tot["offered"])
    judged = offered - float(tot["short_abandons"])
    out["offered"] = offered / runs
    if offered > 0:
        out["answered"] = float(tot["answered"] + tot["callbacks"]) / offered
    if judged > 0:
        out["within_target"] = float(tot["answered_within_service"]) / judged
        out["abandoned"] = float(tot["abandoned"] - tot["short_abandons"]) / judged
    # Callers whose first call of the day fell in the window.
    known = inb[inb["caller_key"].notna()]
    if len(known):
        lk = known["start_utc"].dt.tz_convert(tz).dt.tz_localize(None)
        g = pd.DataFrame({"k": known["caller_key"].to_numpy(), "d": lk.dt.normalize().to_numpy(), "t": lk.to_numpy()})
        per = g.groupby(["k", "d"]).agg(first=("t", "min"), n=("t", "size"))
        inw = (per["first"] >= s) & (per["first"] < e)
        out["callers"] = float(inw.sum()) / runs
        out["rang_back"] = float((inw & (per["n"] > 1)).sum()) / runs
        through = time_to_get_through(calls, tz, start=s, end=e)
        out["median_s"], out["p90_s"] = through["median"], through["p90"]
    return out


# ============================================================================ the trade-off


@dataclass
class RushTradeoff:
    """The opening rush of one day: handlers at opening and levers, each simulated.

    Attributes
    ----------
    day : pandas.Timestamp
        The day played (the busiest opening of the week).
    table : pandas.DataFrame
        :data:`TRADEOFF_COLUMNS`, one row per option: ``handlers N`` for N on the phones
        through the opening hour (``within_headcount`` whether the practice's people can
        roster it), then each lever at the most the headcount allows.
    assumptions : dict
        Lever to the assumption its row rests on.
    met_within_headcount : bool
        Whether some number of handlers the practice can roster meets the target at opening.
    needed : int or None
        The fewest handlers on at opening that meet the target (``None``: not within those tried).
    most : int
        The most handlers on the phones at opening the headcount allows.
    planned : int
        Handlers on at opening in the recommended rota.
    words : str
        The verdict in plain words.
    profile : OpeningProfile or None
        The arrival profile used (``None``: flat).
    """

    day: pd.Timestamp
    table: pd.DataFrame
    assumptions: dict
    met_within_headcount: bool
    needed: int | None
    most: int
    planned: int
    words: str
    profile: OpeningProfile | None = None


def rush_tradeoff(
    first_attempts: pd.DataFrame,
    handlers: pd.DataFrame,
    headcount: int,
    shrinkage: float,
    params: QueueParams | None = None,
    profile: OpeningProfile | None = None,
    seeds: Sequence[int] = tuple(range(5)),
    target_sl: float = 0.8,
    target_t_s: float = 60.0,
    max_abandon: float | None = 0.05,
    levers: Levers | None = None,
    rush_intervals: int = 2,
    tz: str = "Europe/London",
    short_abandon_s: float = 60.0,
    max_tried: int = 30,
) -> RushTradeoff:
    """Play one day's opening rush for each number of handlers at opening, and each lever.

    Parameters
    ----------
    first_attempts : pandas.DataFrame
        ``ds`` (naive local half hours of ONE day, open ones) and ``first_attempts`` (expected
        callers' first calls).
    handlers : pandas.DataFrame
        ``ds`` and ``handlers``: people on the phones in the recommended rota.
    headcount : int
        People who can be rostered that day.
    shrinkage : float
    params : QueueParams, optional
        The practice's queue; its opening time is taken from the first half hour.
    profile : OpeningProfile, optional
        First calls by minute after opening (:func:`opening_profile`); flat when omitted.
    seeds : sequence of int
    target_sl, target_t_s, max_abandon
        The service target judged over the rush.
    levers : Levers, optional
    rush_intervals : int
        Half hours from opening that make the rush (2: the opening hour). Handlers are set
        to N for these; later half hours keep the rota's.
    tz : str
    short_abandon_s : float
    max_tried : int
        Most handlers tried when the target is beyond the headcount (one at a time up to three
        beyond what the headcount allows, then in twos, until the target is met).

    Returns
    -------
    RushTradeoff

    Notes
    -----
    Each option plays the first ``rush_intervals + 4`` half hours (redials of the rush
    settle in them) with the same callers (same seeds); only the rush's first calls are judged.
    """
    levers = levers or Levers()
    q0 = params or QueueParams()
    fa = first_attempts.sort_values("ds")
    ds = pd.DatetimeIndex(pd.to_datetime(fa["ds"]))
    if not len(ds) or ds.normalize().nunique() != 1:
        raise RotaError("rush_tradeoff plays one day: give that day's open half hours")
    day = ds[0].normalize()
    open_s = float((ds[0] - day).total_seconds())
    n_int = min(len(ds), rush_intervals + 4)
    grid = ds[:n_int]
    means = fa["first_attempts"].to_numpy(dtype="float64")[:n_int]
    hmap = pd.Series(handlers["handlers"].to_numpy(), index=pd.DatetimeIndex(pd.to_datetime(handlers["ds"])))
    base_rota = hmap.reindex(grid).fillna(0).astype(int).to_numpy()
    q = dataclasses.replace(q0, open_s=open_s, close_s=open_s + n_int * q0.rota_step_s)
    starts = open_s + q.rota_step_s * np.arange(n_int)
    window = (ds[0], ds[0] + pd.Timedelta(seconds=rush_intervals * q.rota_step_s))
    d = DemandParams()
    seeds = [int(s) for s in seeds]
    arrivals = {}
    for seed in seeds:
        rng = np.random.default_rng(np.random.SeedSequence([seed, int(day.value // 86_400_000_000_000) & 0xFFFFFFFF, 1]))
        arrivals[seed] = _arrivals_day(means, starts, q.rota_step_s, q, d, 0.0, rng,
                                       None if profile is None else profile.shares)

    def play(h: int, qp: QueueParams = q, change=None) -> dict:
        rota = base_rota.copy()
        rota[:rush_intervals] = h
        calls = []
        for seed in seeds:
            arr = arrivals[seed] if change is None else change(arrivals[seed], seed)
            calls.append(play_days([(day, arr, rota)], qp, tz, seed))
        allc = pd.concat(calls, ignore_index=True)
        return service_of(allc, tz, window[0], window[1], target_t_s, short_abandon_s, runs=len(seeds))

    def met(r: dict) -> bool:
        ok = r["within_target"] >= target_sl - 1e-9
        if max_abandon is not None:
            ok = ok and r["abandoned"] <= max_abandon + 1e-9
        return bool(ok)

    # The most on the phones through the opening hour: everyone rostered, shrinkage staggered.
    most = int(on_phones_whole(np.full(rush_intervals, headcount), shrinkage).max()) if headcount > 0 else 0
    eff = 1.0 - shrinkage

    def rostered_for(h: int) -> int:
        # The fewest rostered through the opening hour that put h on the phones at some point.
        r = max(1, int(math.floor(h / eff)))
        while on_phones_whole(np.full(rush_intervals, r), shrinkage).max() < h:
            r += 1
        return r

    rows = []
    needed = None
    h = 1
    while h <= max_tried:
        r = play(h)
        rows.append({"option": f"handlers {h}", "handlers_at_opening": h,
                     "rostered_at_opening": rostered_for(h), "within_headcount": h <= most, **_cols(r)})
        if met(r):
            needed = h
            break
        # one at a time up to a few beyond the headcount, then in twos to show what it would take
        h += 1 if h < most + 3 else 2
    best = max(1, most)

    def tranche(arr: pd.DataFrame, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng([seed, 7])
        t = arr["t_s"].to_numpy(dtype="float64").copy()
        move = (arr["need"].to_numpy() == "same_day") & (t < window_end_s) & (rng.random(len(arr)) < levers.tranche_share)
        # They ring at the second release: out of the rush (and out of the hours played).
        return arr.loc[~move].reset_index(drop=True)

    def online(arr: pd.DataFrame, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng([seed, 8])
        return arr.loc[rng.random(len(arr)) >= levers.online_share].reset_index(drop=True)

    window_end_s = open_s + rush_intervals * q.rota_step_s
    cb = dataclasses.replace(q, callback_from_position=levers.callback_from_position, callback_accept_prob=levers.callback_accept)
    for name, qp, change in (("call-back offers", cb, None), ("same-day slots in two tranches", q, tranche),
                             ("online form", q, online)):
        r = play(best, qp, change)
        rows.append({"option": name, "handlers_at_opening": best, "rostered_at_opening": rostered_for(best),
                     "within_headcount": True, **_cols(r)})
    table = pd.DataFrame(rows, columns=list(TRADEOFF_COLUMNS))
    met_within = needed is not None and needed <= most
    planned = int(base_rota[0]) if len(base_rota) else 0
    tgt = f"{target_sl:.0%} answered within {target_t_s:g} s" + (f", at most {max_abandon:.0%} abandoning" if max_abandon is not None else "")
    if met_within:
        words = f"The opening rush can be met with {needed} on the phones ({tgt}); the practice can roster {most}."
    elif needed is not None:
        words = (f"The opening rush cannot be met by the staff that exist: it needs {needed} on the phones for {tgt}, "
                 f"and {headcount} people rostered put at most {most} on the phones. The levers below are what else helps.")
    else:
        words = (f"The opening rush cannot be met by the staff that exist: even {h} on the phones fall short of {tgt}; "
                 f"{headcount} people rostered put at most {most} on the phones. The levers below are what else helps.")
    return RushTradeoff(day, table, levers.assumptions(), met_within, needed, most, planned, words, profile)


def _cols(r: dict) -> dict:
    return {"answered_within_target": r["within_target"], "abandoned": r["abandoned"], "median_s": r["median_s"],
            "p90_s": r["p90_s"], "rang_back": r["rang_back"], "callers": r["callers"]}
