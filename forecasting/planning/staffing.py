"""Staffing: call handlers per interval and clinician sessions per day from a forecast.

Pure functions over DataFrames, no I/O. The queueing formulas live in :mod:`forecasting.planning.erlang`;
the queue with redials that checks them is the demo's (:func:`demand.simulation.population.simulate_queue`);
service is measured from simulated calls with the same definitions as real ones
(:func:`demand.queue.queue_metrics`).

From forecast to rota
---------------------
1. **Handling.** :func:`measure_handling` measures the average handle time (mean talk of answered
   calls plus a wrap-up allowance) and the callers' mean patience from history.
2. **Handlers needed.** :func:`handlers_per_interval` turns a forecast's arrivals per interval
   (the point forecast, or a chosen quantile such as the 80% interval's upper bound, so that
   the rota covers a busier-than-expected day) into the agents Erlang A (or C) says meet the
   targets, and the handlers to roster once shrinkage (breaks, training, absence, other work)
   is allowed for: ``rostered = ceil(agents / (1 - shrinkage))``.
3. **Checked with redials.** Erlang models treat every call as a new, independent caller. At
   8am most calls are the same people redialling, and an under-staffed half-hour breeds the
   redials that swamp the next. :func:`check_rota_with_redials` runs the recommended rota in
   the demo practice's queue simulation (first attempts drawn from the forecast, redials,
   balking, call-backs) and reports the service it really achieves. Rotas are made of shifts
   within the practice's headcount (:mod:`forecasting.planning.rota`); where the people do not
   suffice, :mod:`forecasting.planning.rush` shows the trade-off instead of a number nobody
   can roster.

Clinician sessions per day (:func:`clinician_sessions`) follow the same idea for appointments:
forecast same-day demand (a quantile), divided by the slots a session offers, split by role.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from demand.appointments.schema import ROLES
from demand.definitions import DEFAULT_TZ, OFFERED_OUTCOMES, normalise_freq
from demand.queue import queue_metrics
from demand.simulation.engine import NEEDS, QueueParams, simulate_queue
from demand.simulation.population import DemandParams, PracticeParams
from telephony.errors import FrontdoorError

from forecasting.planning.erlang import ErlangError, QueuePerformance, erlang_a_agents, erlang_a_metrics, erlang_c_agents, erlang_c_metrics

__all__ = [
    "StaffingError",
    "Handling",
    "measure_handling",
    "rostered_handlers",
    "forecast_column",
    "handlers_per_interval",
    "check_rota_with_redials",
    "clinician_sessions",
    "STAFFING_COLUMNS",
    "SERVICE_COLUMNS",
    "SESSION_COLUMNS",
]

STAFFING_COLUMNS: tuple[str, ...] = (
    "ds",
    "calls",
    "load_erlangs",
    "agents",
    "rostered",
    "service_level",
    "abandon_rate",
    "asa_s",
    "occupancy",
    "p_wait",
)
SERVICE_COLUMNS: tuple[str, ...] = (
    "ds",
    "handlers",
    "runs",
    "first_attempts",
    "attempts",
    "unique_callers",
    "redial_ratio",
    "offered",
    "answered",
    "answered_within_service",
    "abandoned",
    "callbacks",
    "missed",
    "short_abandons",
    "service_level",
    "abandonment_rate",
    "asa_s",
)
SESSION_COLUMNS: tuple[str, ...] = ("ds", "role", "demand", "slots_per_session", "sessions", "capacity")

_EPS = 1e-9  # rounding guard: 7 / (1 - 0.3) is 10.000000000000002, which is 10 handlers
_PRACTICE = "Z00000"  # placeholder practice of simulated calls (queue_metrics groups by practice)


class StaffingError(FrontdoorError, ValueError):
    """A staffing call was given a frame or a target it cannot use; the message says how to fix it."""


def _ceil(x: float) -> int:
    return int(math.ceil(x - _EPS)) if x > 0 else 0


def rostered_handlers(agents: int, shrinkage: float) -> int:
    """Handlers to roster so that ``agents`` are on the phones: ``ceil(agents / (1 - shrinkage))``.

    Parameters
    ----------
    agents : int
        Handlers needed on the phones.
    shrinkage : float
        Share of rostered time not on the phones (breaks, training, absence, other work),
        ``0 <= shrinkage < 1``.

    Returns
    -------
    int

    Notes
    -----
    Rounded up, but not by floating-point noise: ``14 / (1 - 0.3)`` is
    ``20.000000000000004`` in floats and the answer is 20 people, not 21.

    Examples
    --------
    >>> rostered_handlers(14, 0.3), rostered_handlers(5, 0.3)
    (20, 8)
    """
    if not 0 <= shrinkage < 1:
        raise StaffingError(f"shrinkage must be a fraction in [0, 1), e.g. 0.3 for 30% (got {shrinkage!r})")
    return _ceil(agents / (1.0 - shrinkage))


# ============================================================================ handling


@dataclass(frozen=True)
class Handling:
    """Handle time and patience measured from calls.

    Attributes
    ----------
    aht_s : float
        Average handle time: ``mean_talk_s + wrap_s``.
    mean_talk_s : float
        Mean talk time of answered inbound calls.
    wrap_s : float
        Wrap-up (after-call work) allowance added per call (not in call records).
    mean_patience_s : float
        Exponential maximum-likelihood mean patience (``inf`` when nobody abandoned).
    patience_se_s : float
        Its approximate standard error, ``mean_patience_s / sqrt(abandons)``.
    answered : int
        Answered inbound calls (the talk-time sample).
    queued : int
        Inbound calls that queued with a known wait (the patience sample).
    abandons : int
        Of those, abandons (the events).
    exposure_s : float
        Total seconds waited by the queued calls.
    """

    aht_s: float
    mean_talk_s: float
    wrap_s: float
    mean_patience_s: float
    patience_se_s: float
    answered: int
    queued: int
    abandons: int
    exposure_s: float


def measure_handling(calls: pd.DataFrame, wrap_s: float = 0.0, short_abandon_s: float = 0.0) -> Handling:
    """Average handle time and mean caller patience from call records.

    Parameters
    ----------
    calls : pandas.DataFrame
        Call records with ``direction, outcome, wait_s, talk_s``: canonical calls
        (:meth:`telephony.store.Store.read_calls`) or :func:`demand.simulation.population.simulate_queue`'s
        output. Only inbound calls are used.
    wrap_s : float
        After-call work per call, seconds (call records do not hold it; 0 by default).
    short_abandon_s : float
        Abandons with ``wait_s`` below this are left out of the patience estimate entirely
        (neither events nor exposure): callers who hang up at once on hearing their place in
        the queue are balking, not running out of patience. 0 keeps every abandon.

    Returns
    -------
    Handling

    Raises
    ------
    StaffingError
        A missing column, no answered call (no talk time to average) or a negative wrap-up.

    Notes
    -----
    *Handle time* is the mean ``talk_s`` of answered inbound calls plus ``wrap_s``.

    *Patience* is censored data. A caller who abandoned after waiting ``w`` showed a patience
    of exactly ``w`` (an event); a caller answered, offered a call-back, sent to voicemail or cut
    off by the queue's timeout after waiting ``w`` had a patience longer than ``w`` (censored
    at ``w``). For exponential patience of rate ``theta`` the log-likelihood is
    ``d log(theta) - theta sum(w)`` over every queued call (``d`` abandons), so the maximum
    likelihood estimate is

        ``theta = d / sum(w)``,  mean patience ``= sum(w) / d``,

    the total time all queued callers waited divided by the number who abandoned (Brown et
    al. 2005's ``P(abandon) / E[wait]``). Averaging only the abandoners' waits would
    understate patience badly: the patient callers are the ones who got answered. The
    standard error follows from the Fisher information, ``d / theta^2``.
    """
    need = ("direction", "outcome", "wait_s", "talk_s")
    missing = [c for c in need if c not in calls.columns]
    if missing:
        raise StaffingError(
            f"calls lack column(s) {', '.join(missing)}; pass canonical call records (Store.read_calls)."
        )
    if not (math.isfinite(wrap_s) and wrap_s >= 0):
        raise StaffingError(f"wrap_s must be seconds >= 0 (got {wrap_s!r})")
    inbound = calls[calls["direction"].astype(str) == "inbound"]
    outcome = inbound["outcome"].astype(str).to_numpy()
    wait = pd.to_numeric(inbound["wait_s"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    talk = pd.to_numeric(inbound["talk_s"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    answered = (outcome == "answered") & np.isfinite(talk)
    if not answered.any():
        raise StaffingError("no answered inbound call with a talk time: cannot measure handle time from these calls")
    mean_talk = float(talk[answered].mean())
    queued = np.isin(outcome, OFFERED_OUTCOMES) & np.isfinite(wait) & (wait >= 0)
    aband = queued & (outcome == "abandoned")
    if short_abandon_s > 0:
        short = aband & (wait < short_abandon_s)
        queued &= ~short
        aband &= ~short
    d = int(aband.sum())
    exposure = float(wait[queued].sum())
    if d == 0 or exposure <= 0:
        patience, se = math.inf, math.inf
    else:
        patience = exposure / d
        se = patience / math.sqrt(d)
    return Handling(
        aht_s=mean_talk + float(wrap_s),
        mean_talk_s=mean_talk,
        wrap_s=float(wrap_s),
        mean_patience_s=patience,
        patience_se_s=se,
        answered=int(answered.sum()),
        queued=int(queued.sum()),
        abandons=d,
        exposure_s=exposure,
    )


# ============================================================================ forecast columns


def _value_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c not in ("unique_id", "ds", "y")]


def forecast_column(forecast: pd.DataFrame, quantile: float | None = None, column: str | None = None) -> str:
    """The column of a model forecast holding the point forecast or a chosen quantile.

    Parameters
    ----------
    forecast : pandas.DataFrame
        A model's ``predict`` output: ``unique_id, ds, <alias>, <alias>-lo-80, <alias>-hi-80``...
        (:mod:`forecasting.base`), or any frame with ``ds`` and a value column.
    quantile : float, optional
        ``None`` for the point forecast; else the probability of a quantile that a central
        interval bounds: 0.9 is the 80% interval's upper bound (``<alias>-hi-80``), 0.975 the
        95% one's, 0.1 the 80% lower bound.
    column : str, optional
        Name the column outright (then ``quantile`` must be ``None``).

    Returns
    -------
    str

    Raises
    ------
    StaffingError
        When the column is missing or the forecast holds several models' point columns.
    """
    if column is not None:
        if quantile is not None:
            raise StaffingError("give either quantile or column, not both")
        if column not in forecast.columns:
            raise StaffingError(f"forecast has no column {column!r}; it has {', '.join(map(str, forecast.columns))}")
        return column
    cols = _value_columns(forecast)
    points = [c for c in cols if "-lo-" not in str(c) and "-hi-" not in str(c)]
    if len(points) != 1:
        raise StaffingError(
            f"cannot tell the point forecast among columns {', '.join(map(str, cols)) or '(none)'}; "
            "name it with column=..."
        )
    alias = points[0]
    if quantile is None:
        return alias
    q = float(quantile)
    if not 0 < q < 1 or q == 0.5:
        raise StaffingError(
            f"quantile must be in (0, 1) and not 0.5 (0.5 is the point forecast: use None); got {quantile!r}"
        )
    level = round(abs(2 * q - 1) * 100, 6)
    name = f"{alias}-{'hi' if q > 0.5 else 'lo'}-{level:g}"
    if name not in forecast.columns:
        have = [c for c in cols if c != alias]
        raise StaffingError(
            f"forecast has no column {name!r} for quantile {q:g}; it has {', '.join(have) or 'no intervals'} "
            "(predict with level=... to get that interval)"
        )
    return name


def _interval_s(freq: str) -> float:
    try:
        canon = normalise_freq(freq)
    except FrontdoorError as err:
        raise StaffingError(str(err)) from None
    seconds = {"15min": 900.0, "30min": 1800.0, "h": 3600.0}.get(canon)
    if seconds is None:
        raise StaffingError(f"staffing needs intervals of 15min, 30min or h, not {freq!r}")
    return seconds


# ============================================================================ handlers per interval


def handlers_per_interval(
    forecast: pd.DataFrame,
    aht_s: float,
    patience_s: float | None = None,
    target_sl: float = 0.8,
    target_t_s: float = 60.0,
    max_abandon: float | None = 0.05,
    shrinkage: float = 0.3,
    quantile: float | None = None,
    model: str = "erlang_a",
    interval: str = "30min",
    column: str | None = None,
    max_occupancy: float | None = None,
) -> pd.DataFrame:
    """Call handlers needed in each interval of a forecast to meet a service target.

    Parameters
    ----------
    forecast : pandas.DataFrame
        Forecast arrivals per interval: a model's ``predict`` output (``unique_id, ds`` and its
        columns) or any frame with ``ds`` and one value column.
    aht_s : float
        Average handle time, seconds (:func:`measure_handling`).
    patience_s : float, optional
        Callers' mean patience, seconds (:func:`measure_handling`); required for Erlang A.
    target_sl : float
        Share of callers to answer within ``target_t_s`` (0.8 for 80%).
    target_t_s : float
        Answer-time target, seconds.
    max_abandon : float, optional
        Highest acceptable share of callers abandoning (Erlang A only; 0.05 for 5%).
    shrinkage : float
        Share of rostered handlers' time not on the phones (0 <= shrinkage < 1).
    quantile : float, optional
        Staff for this quantile of the forecast instead of the point forecast (0.9 is the 80%
        interval's upper bound); see :func:`forecast_column`.
    model : {"erlang_a", "erlang_c"}
    interval : str
        Length of the forecast's intervals (``15min``, ``30min``, ``h``).
    column : str, optional
        Use this forecast column outright.
    max_occupancy : float, optional
        Also keep handlers' occupancy at or below this.

    Returns
    -------
    pandas.DataFrame
        One row per forecast row, ``unique_id`` (when the forecast has it) then
        :data:`STAFFING_COLUMNS`: ``calls`` (the arrivals used), ``load_erlangs``, ``agents``
        (on the phones), ``rostered`` (``ceil(agents / (1 - shrinkage))``), and the model's
        predicted ``service_level``, ``abandon_rate``, ``asa_s`` (mean wait of answered calls),
        ``occupancy`` and ``p_wait`` with that many agents. Intervals with no calls expected
        (closed) need 0 handlers; their service figures are NaN.

    Raises
    ------
    StaffingError
        A bad frame, column, model or target.

    Notes
    -----
    Each interval is treated as a steady-state queue on its own (the standard "stationary
    independent period" approach): Erlang A meets ``service_level >= target_sl`` and
    ``abandon_rate <= max_abandon``; Erlang C meets the service level alone. Neither sees
    redials, nor a queue carried over from the interval before: check the rota with
    :func:`check_rota_with_redials`.

    Examples
    --------
    >>> fc = pd.DataFrame({"ds": pd.to_datetime(["2027-01-11 08:00"]), "calls": [100.0]})
    >>> out = handlers_per_interval(fc, 180, target_t_s=20, model="erlang_c", shrinkage=0.3)
    >>> out[["agents", "rostered"]].values.tolist()
    [[14, 20]]
    """
    if "ds" not in forecast.columns:
        raise StaffingError("forecast needs a ds column (interval starts)")
    col = forecast_column(forecast, quantile, column)
    interval_s = _interval_s(interval)
    if model not in ("erlang_a", "erlang_c"):
        raise StaffingError(f"model must be 'erlang_a' or 'erlang_c', not {model!r}")
    if model == "erlang_a" and patience_s is None:
        raise StaffingError("Erlang A needs patience_s (mean patience in seconds; measure_handling gives it)")
    if not 0 <= shrinkage < 1:
        raise StaffingError(f"shrinkage must be a fraction in [0, 1), e.g. 0.3 for 30% (got {shrinkage!r})")
    calls = pd.to_numeric(forecast[col], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    if np.isnan(calls).any() or (calls < 0).any():
        raise StaffingError(f"forecast column {col!r} has missing or negative values")
    perf: dict[tuple, QueuePerformance] = {}
    agents = np.zeros(len(calls), dtype=np.int64)
    rows: list[QueuePerformance | None] = []
    try:
        for i, lam in enumerate(calls):
            if lam <= 0:
                rows.append(None)
                continue
            key = (float(lam),)
            if key not in perf:
                if model == "erlang_a":
                    n = erlang_a_agents(
                        lam, interval_s, aht_s, patience_s, target_sl, target_t_s, max_abandon, max_occupancy
                    )
                    perf[key] = erlang_a_metrics(n, lam, interval_s, aht_s, patience_s, target_t_s)
                else:
                    n = erlang_c_agents(lam, interval_s, aht_s, target_sl, target_t_s, max_occupancy)
                    perf[key] = erlang_c_metrics(n, lam, interval_s, aht_s, target_t_s)
            p = perf[key]
            agents[i] = p.agents
            rows.append(p)
    except ErlangError as err:
        raise StaffingError(str(err)) from None
    out = pd.DataFrame(index=range(len(calls)))
    if "unique_id" in forecast.columns:
        out["unique_id"] = forecast["unique_id"].astype(str).to_numpy()
    out["ds"] = forecast["ds"].to_numpy()
    out["calls"] = calls
    out["load_erlangs"] = calls / interval_s * float(aht_s)
    out["agents"] = agents
    out["rostered"] = np.array([rostered_handlers(int(n), shrinkage) for n in agents], dtype=np.int64)

    def field(name: str) -> np.ndarray:
        return np.array([getattr(p, name) if p is not None else np.nan for p in rows], dtype="float64")

    out["service_level"] = field("service_level")
    out["abandon_rate"] = field("p_abandon")
    out["asa_s"] = field("asa_s")
    out["occupancy"] = field("occupancy")
    out["p_wait"] = field("p_wait")
    return out


# ============================================================================ the check with redials


def _params(params: PracticeParams | QueueParams | None) -> tuple[QueueParams, DemandParams]:
    if params is None:
        return QueueParams(), DemandParams()
    if isinstance(params, PracticeParams):
        return params.queue, params.demand
    if isinstance(params, QueueParams):
        return params, DemandParams()
    raise StaffingError("params must be a demand.simulation.population.PracticeParams or QueueParams (or None for the defaults)")


def _series(frame: pd.DataFrame, column: str, what: str) -> pd.Series:
    """``column`` of ``frame`` indexed by naive local ``ds`` (one row per interval)."""
    if "ds" not in frame.columns or column not in frame.columns:
        raise StaffingError(f"{what} needs columns ds and {column!r}; it has {', '.join(map(str, frame.columns))}")
    if "unique_id" in frame.columns and frame["unique_id"].nunique() > 1:
        raise StaffingError(f"{what} holds several series (unique_id); check one practice's rota at a time")
    ds = pd.to_datetime(frame["ds"])
    if isinstance(ds.dtype, pd.DatetimeTZDtype):
        ds = ds.dt.tz_localize(None)
    s = pd.Series(pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64"), index=pd.DatetimeIndex(ds))
    if s.index.duplicated().any():
        raise StaffingError(f"{what} has repeated ds values")
    if s.isna().any() or (s < 0).any():
        raise StaffingError(f"{what} column {column!r} has missing or negative values")
    return s


def _arrivals_day(means: np.ndarray, starts_s: np.ndarray, step_s: float, q: QueueParams, d: DemandParams,
                  rush_mean_s: float | None, rng: np.random.Generator,
                  rush_profile: np.ndarray | None = None) -> pd.DataFrame:
    """One day's first attempts: Poisson counts per interval, times within it, needs by time."""
    counts = rng.poisson(means)
    n = int(counts.sum())
    start = np.repeat(starts_s, counts)
    u = rng.random(n)
    offset = u * step_s
    if rush_profile is not None:
        # The opening interval's first calls follow the practice's own minutes after opening:
        # a minute drawn by its share, then uniformly within it.
        first = start == q.open_s
        prof = np.asarray(rush_profile, dtype="float64")
        width = step_s / len(prof)
        cdf = np.cumsum(prof / prof.sum())
        minute = np.minimum(np.searchsorted(cdf, u[first], side="right"), len(prof) - 1)
        offset[first] = (minute + rng.random(int(first.sum()))) * width
    elif rush_mean_s is not None and rush_mean_s > 0:
        # The opening interval's first calls spike at the stroke of opening (truncated exponential).
        first = start == q.open_s
        m = float(rush_mean_s)
        offset[first] = -m * np.log1p(-u[first] * (1 - math.exp(-step_s / m)))
    t = start + offset
    order = np.argsort(t, kind="stable")
    t = t[order]
    rush = np.asarray(d.need_mix_rush, dtype=float)
    later = np.asarray(d.need_mix_later, dtype=float)
    v = rng.random(n)
    k = np.where(
        t < q.open_s + 3600.0,
        np.searchsorted(np.cumsum(rush / rush.sum()), v, side="right"),
        np.searchsorted(np.cumsum(later / later.sum()), v, side="right"),
    )
    need = np.asarray(NEEDS, dtype=object)[np.minimum(k, len(NEEDS) - 1)]
    return pd.DataFrame({"t_s": t, "need": need, "withheld": rng.random(n) < 0.03, "caller": np.arange(n)})


def check_rota_with_redials(
    rota: pd.DataFrame,
    arrivals_forecast: pd.DataFrame,
    params: PracticeParams | QueueParams | None = None,
    seeds: Iterable[int] = tuple(range(10)),
    target_t_s: float = 60.0,
    short_abandon_s: float = 0.0,
    rush_mean_s: float | None = None,
    rota_column: str = "agents",
    arrivals_column: str | None = None,
    tz: str = DEFAULT_TZ,
    rush_profile: np.ndarray | None = None,
) -> pd.DataFrame:
    """The service a rota really achieves in the demo practice's queue, redials and all.

    Parameters
    ----------
    rota : pandas.DataFrame
        ``ds`` and handlers on the phones per interval (``rota_column``, default ``agents``,
        as in :func:`handlers_per_interval`'s output). Intervals missing from it have none.
    arrivals_forecast : pandas.DataFrame
        ``ds`` and the expected *first attempts* per interval (callers' first call of the day;
        ``arrivals_column``, default the point forecast column or ``calls``).
    params : PracticeParams or QueueParams, optional
        The practice's queue (patience, handle time, IVR, balking, call-backs, redials) and,
        from a :class:`PracticeParams`, what callers want by time of day. Default: the demo's.
    seeds : iterable of int
        One simulation of every day per seed (the same seeds give the same callers).
    target_t_s : float
        Answer-time target for ``service_level``, seconds.
    short_abandon_s : float
        Abandons shorter than this are left out of service level and abandonment rate, as
        :func:`demand.queue.queue_metrics` does (0: every abandon counts, as in Erlang A).
    rush_mean_s : float, optional
        Shape of first calls inside the opening interval: they spike at the opening time,
        exponential after it with this mean, truncated to the interval. ``None`` takes the
        demand params' ``rush_mean_s`` (the demo's 8am rush: 6 minutes); 0 spreads them evenly
        like every other interval's calls.
    rota_column, arrivals_column : str
        Value columns of ``rota`` and ``arrivals_forecast``.
    tz : str
        Timezone of the naive ``ds`` (for the simulated calls' ``start_utc``).
    rush_profile : array of float, optional
        Shares of the opening interval's first calls by equal slices of it (e.g. 30 minutes
        after opening), measured from the practice's calls
        (:func:`forecasting.planning.rush.opening_profile`); replaces ``rush_mean_s``.

    Returns
    -------
    pandas.DataFrame
        One row per interval in opening hours of each day of the arrivals forecast,
        :data:`SERVICE_COLUMNS`: ``handlers``, ``runs`` (simulations pooled: the seeds), and
        counts as means per simulated day: ``first_attempts``, ``attempts`` (inbound calls
        including redials), ``unique_callers`` (distinct callers who rang in the interval),
        ``offered, answered, answered_within_service, abandoned, callbacks, missed,
        short_abandons``; then
        ``redial_ratio = attempts / unique_callers`` and ``service_level``,
        ``abandonment_rate``, ``asa_s`` over the pooled runs with
        :func:`demand.queue.queue_metrics`'s definitions (answered within target over offered;
        a call-back request is offered but never within target).

    Raises
    ------
    StaffingError
        Bad frames, an interval length different from the simulation's rota step, or no seed.

    Notes
    -----
    Each local date is simulated on its own with :func:`demand.simulation.population.simulate_queue` (no
    slot limit: this checks the phones, not the appointment book). First attempts in each
    interval are Poisson with the forecast mean; what a caller wants (and so how persistently
    they redial and how long the call takes) follows the demo's mix by time of day. Callers who
    fail redial within the day; "ring tomorrow" carry-over is not simulated (tomorrow's first
    attempts are in tomorrow's forecast). The interval length is the simulation's
    ``rota_step_s`` (half an hour unless the params say otherwise) and must match the rota.
    """
    q, d = _params(params)
    rush = d.rush_mean_s if rush_mean_s is None else float(rush_mean_s)
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise StaffingError("give at least one seed")
    col = arrivals_column or (
        "calls" if "calls" in arrivals_forecast.columns else forecast_column(arrivals_forecast)
    )
    arr = _series(arrivals_forecast, col, "arrivals_forecast")
    hands = _series(rota, rota_column, "rota")
    if (hands != np.round(hands)).any():
        raise StaffingError("rota handlers must be whole numbers")
    step = float(q.rota_step_s)
    freq = {900.0: "15min", 1800.0: "30min", 3600.0: "h"}.get(step)
    if freq is None:
        raise StaffingError(f"the simulation's rota step of {step:g} s is not 15, 30 or 60 minutes")
    for what, s in (("arrivals_forecast", arr), ("rota", hands)):
        secs = (s.index - s.index.normalize()) / pd.Timedelta(seconds=1)
        off = np.mod(np.asarray(secs, dtype="float64") - q.open_s, step)
        if (np.minimum(off, step - off) > 1e-6).any():
            raise StaffingError(
                f"{what} intervals do not fall on the simulation's {step / 60:g}-minute rota grid from opening; "
                "give intervals of the simulation's rota_step_s (QueueParams(rota_step_s=...))"
            )
    n_int = int(math.ceil((q.close_s - q.open_s) / step - _EPS))
    starts = q.open_s + step * np.arange(n_int)
    days = sorted(set(arr.index.normalize()))
    day_frames = []
    firsts = []
    for day in days:
        grid = day + pd.to_timedelta(starts, unit="s")
        means = arr.reindex(grid).fillna(0.0).to_numpy()
        handlers = hands.reindex(grid).fillna(0.0).astype(int).tolist()
        for seed in seeds:
            # Arrivals depend on (seed, day) only: a raised rota meets the same callers.
            key = [seed, int(day.value // 86_400_000_000_000) & 0xFFFFFFFF]
            rng_arrivals = np.random.default_rng(np.random.SeedSequence(key + [1]))
            arrivals = _arrivals_day(means, starts, step, q, d, rush, rng_arrivals, rush_profile)
            sim = simulate_queue(arrivals, handlers, q, np.random.default_rng(np.random.SeedSequence(key + [2])))
            sim = sim[sim["direction"] == "inbound"]
            firsts.append(day + pd.to_timedelta(arrivals["t_s"].to_numpy(), unit="s"))
            day_frames.append(
                pd.DataFrame(
                    {
                        "local": day + pd.to_timedelta(sim["t_s"].to_numpy(), unit="s"),
                        "caller": sim["need_id"].to_numpy(),
                        "run": f"{seed}",
                        "outcome": sim["outcome"].to_numpy(),
                        "wait_s": sim["wait_s"].to_numpy(),
                        "talk_s": sim["talk_s"].to_numpy(),
                    }
                )
            )
    calls = pd.concat(day_frames, ignore_index=True)
    grid_all = pd.DatetimeIndex([day + pd.Timedelta(seconds=float(s)) for day in days for s in starts])
    canon = pd.DataFrame(
        {
            "practice_id": _PRACTICE,
            "start_utc": calls["local"].dt.tz_localize(tz).dt.tz_convert("UTC"),
            "direction": "inbound",
            "outcome": calls["outcome"].to_numpy(),
            "wait_s": calls["wait_s"].to_numpy(),
            "talk_s": calls["talk_s"].to_numpy(),
        }
    )
    lo = grid_all[0].tz_localize(tz)
    hi = (grid_all[-1] + pd.Timedelta(seconds=step)).tz_localize(tz)
    qm = queue_metrics(canon, freq=freq, short_abandon_s=short_abandon_s, service_s=target_t_s, tz=tz, start=lo, end=hi)
    qm["ds"] = qm["interval_start"].dt.tz_localize(None)
    qm = qm.set_index("ds").reindex(grid_all)
    # Distinct callers per interval and run (a caller is a need within a simulated day).
    slot = calls["local"].dt.floor(f"{int(step)}s")
    uniq = calls.assign(slot=slot).drop_duplicates(["slot", "run", "caller"]).groupby("slot").size()
    first = pd.DatetimeIndex(np.concatenate([f.to_numpy() for f in firsts])).floor(f"{int(step)}s").value_counts()
    runs = len(seeds)
    out = pd.DataFrame({"ds": grid_all})
    out["handlers"] = hands.reindex(grid_all).fillna(0).astype(np.int64).to_numpy()
    out["runs"] = runs
    out["first_attempts"] = first.reindex(grid_all).fillna(0).to_numpy() / runs
    attempts = qm["inbound_total"].fillna(0).to_numpy(dtype="float64")
    unique = uniq.reindex(grid_all).fillna(0).to_numpy(dtype="float64")
    out["attempts"] = attempts / runs
    out["unique_callers"] = unique / runs
    with np.errstate(invalid="ignore", divide="ignore"):
        out["redial_ratio"] = np.where(unique > 0, attempts / unique, np.nan)
    for c in ("offered", "answered", "answered_within_service", "abandoned", "callbacks", "missed", "short_abandons"):
        out[c] = qm[c].fillna(0).to_numpy(dtype="float64") / runs
    for c in ("service_level", "abandonment_rate", "asa_s"):
        out[c] = qm[c].to_numpy(dtype="float64")
    return out


# ============================================================================ clinician sessions


def clinician_sessions(
    demand_forecast: pd.DataFrame,
    slots_per_session: float | Mapping[str, float],
    roles_mix: Mapping[str, float],
    quantile: float | None = None,
    column: str | None = None,
) -> pd.DataFrame:
    """Clinician sessions per day and role to meet forecast same-day appointment demand.

    Parameters
    ----------
    demand_forecast : pandas.DataFrame
        Daily forecast of same-day appointment demand: a model's ``predict`` output or any frame
        with ``ds`` and a value column.
    slots_per_session : float or mapping of role to float
        Appointments one session offers (e.g. 18 for a GP's 10-minute slots over three hours),
        one number for every role or one per role.
    roles_mix : mapping of role to float
        Share of the demand each role takes (e.g. ``{"GP": 0.6, "ANP": 0.3, "paramedic":
        0.1}``); normalised to sum to 1. Roles as in :data:`demand.appointments.schema.ROLES`.
    quantile, column
        Which forecast column to plan for (:func:`forecast_column`): the point forecast by
        default, e.g. 0.9 to cover nine days in ten.

    Returns
    -------
    pandas.DataFrame
        One row per forecast row and role (``unique_id`` first when present), then
        :data:`SESSION_COLUMNS`: ``demand`` (the role's share of the day's demand),
        ``slots_per_session``, ``sessions`` (int) and ``capacity`` (``sessions x slots``).
        Days with no demand (closed) need no sessions.

    Raises
    ------
    StaffingError
        An unknown role, a share or slot count that is not positive, or a bad column.

    Notes
    -----
    The rule, per day and role ``r``: ``sessions_r = ceil(demand x share_r /
    slots_per_session_r)``, where ``demand`` is the chosen forecast column (a quantile plans
    for a busier-than-expected day) and ``share_r`` the role's normalised share. Rounding up
    per role means the day's total capacity is at least the demand, by less than one session
    per role.

    Examples
    --------
    >>> fc = pd.DataFrame({"ds": pd.to_datetime(["2027-01-11"]), "demand": [100.0]})
    >>> clinician_sessions(fc, {"GP": 18, "ANP": 12}, {"GP": 0.7, "ANP": 0.3})[["role", "sessions"]].values.tolist()
    [['GP', 4], ['ANP', 3]]
    """
    if "ds" not in demand_forecast.columns:
        raise StaffingError("demand_forecast needs a ds column (days)")
    col = forecast_column(demand_forecast, quantile, column)
    if not roles_mix:
        raise StaffingError("roles_mix is empty; give each role's share, e.g. {'GP': 0.7, 'ANP': 0.3}")
    unknown = [r for r in roles_mix if r not in ROLES]
    if unknown:
        raise StaffingError(f"unknown role(s) {', '.join(map(str, unknown))}; use {', '.join(ROLES)}")
    shares = {r: float(v) for r, v in roles_mix.items()}
    if any(not (math.isfinite(v) and v > 0) for v in shares.values()):
        raise StaffingError(
            "every role's share in roles_mix must be a positive number (leave a role out to give it none)"
        )
    total = sum(shares.values())
    if isinstance(slots_per_session, Mapping):
        missing = [r for r in shares if r not in slots_per_session]
        if missing:
            raise StaffingError(f"slots_per_session has no value for role(s) {', '.join(missing)}")
        slots = {r: float(slots_per_session[r]) for r in shares}
    else:
        slots = {r: float(slots_per_session) for r in shares}
    if any(not (math.isfinite(v) and v > 0) for v in slots.values()):
        raise StaffingError("slots_per_session must be positive numbers of appointments")
    demand = pd.to_numeric(demand_forecast[col], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    if np.isnan(demand).any() or (demand < 0).any():
        raise StaffingError(f"demand_forecast column {col!r} has missing or negative values")
    parts = []
    for role, share in shares.items():
        dr = demand * share / total
        sessions = np.array([_ceil(x / slots[role]) for x in dr], dtype=np.int64)
        part = pd.DataFrame(index=range(len(demand)))
        if "unique_id" in demand_forecast.columns:
            part["unique_id"] = demand_forecast["unique_id"].astype(str).to_numpy()
        part["ds"] = demand_forecast["ds"].to_numpy()
        part["role"] = role
        part["demand"] = dr
        part["slots_per_session"] = slots[role]
        part["sessions"] = sessions
        part["capacity"] = sessions * slots[role]
        part["_order"] = np.arange(len(demand))
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out["_role"] = out["role"].map({r: i for i, r in enumerate(shares)})
    out = out.sort_values(["_order", "_role"], kind="stable").drop(columns=["_order", "_role"]).reset_index(drop=True)
    return out
