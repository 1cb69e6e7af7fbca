"""Peak pressure: where forecast same-day demand will exceed the capacity in the book.

For each practice, day and session (``am``/``pm``) of the coming weeks this module sets the
forecast demand for same-day appointments against the same-day capacity (the slots already in
the appointment book, or a stated plan of clinician sessions) and answers three questions:
how likely is demand to exceed capacity, how many patients short would the session be on
average, and how many extra clinician sessions of which role bring the risk under a chosen
threshold. Pure functions over DataFrames, no I/O.

From a daily forecast to sessions
---------------------------------
Same-day demand (:mod:`forecasting.series`, ``what="same_day_demand"``: same-day slots booked
plus callers turned away for lack of capacity) is counted per day. :func:`session_shares`
measures each practice's historical share of it falling in the morning, per weekday, from the
demand-against-capacity metrics (:func:`demand.demand_capacity.demand_capacity`; turned-away callers
count in the session of their first call). :func:`session_demand` splits the daily forecast
with it. If the day's count ``D`` has mean ``mu`` and variance ``phi mu + alpha mu^2`` (the
model's :class:`~forecasting.intervals.Spread`) and each patient falls in the morning with
probability ``s`` independently (binomial thinning), the morning's count has mean ``s mu``
and variance ``s^2 var(D) + s (1 - s) mu``, that is

    ``phi_s = s phi + (1 - s)``,  ``alpha_s = alpha``

in the same variance function of the session's own mean: a gamma-mixed Poisson thinned stays
one with the same ``alpha``; the quasi-Poisson part shrinks towards Poisson.

Probabilities
-------------
:func:`exceedance` reads the session's integer count from
:func:`forecasting.intervals.count_distribution` (negative binomial, Poisson when not
over-dispersed): ``P(D > C) = sf(C)`` and ``E[(D - C)+] = mu - C + sum_{k<C} (C - k) P(D=k)``,
an exact finite sum. :func:`extra_sessions` finds, per role, the fewest added sessions of
``slots_per_session[role]`` that bring ``P(D > C + n x slots)`` to the threshold or below.
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import pandas as pd

from demand.appointments.schema import CATEGORIES, ROLES
from demand.definitions import DAY_NS, DEFAULT_TZ
from demand.slots import SESSIONS, prepare_slots
from telephony.errors import FrontdoorError

from forecasting.intervals import Spread, count_distribution
from forecasting.planning.staffing import StaffingError, forecast_column

__all__ = [
    "PressureError",
    "SHARE_COLUMNS",
    "PRESSURE_COLUMNS",
    "session_shares",
    "session_demand",
    "capacity_from_slots",
    "capacity_from_plan",
    "exceedance",
    "extra_sessions",
    "peak_pressure",
    "MIN_ROLE_SHARE",
    "GP_CONTACTS_PER_DAY",
    "SESSIONS_PER_DAY",
    "same_day_roles",
    "with_slots_per_session",
    "sessions_in_book",
    "usual_week",
    "usual_on",
    "session_changes",
]

SHARE_COLUMNS: tuple[str, ...] = ("unique_id", "weekday", "am_share", "days", "source")
PRESSURE_COLUMNS: tuple[str, ...] = (
    "rank",
    "unique_id",
    "date",
    "session",
    "demand",
    "capacity",
    "p_exceed",
    "expected_shortfall",
    "extra_sessions",
    "extra_role",
)
_SAME_DAY = CATEGORIES.index("same_day")
_KEYS = ["unique_id", "date", "session"]
_MAX_EXTRA = 200  # sessions of one role in one session: beyond this the answer is "not by adding sessions"


class PressureError(FrontdoorError, ValueError):
    """Inputs the pressure calculation cannot use; the message says how to fix the call."""


# ============================================================================ demand per session


def session_shares(history: pd.DataFrame, min_days: int = 4) -> pd.DataFrame:
    """Each practice's share of same-day demand falling in the morning, per weekday.

    Parameters
    ----------
    history : pandas.DataFrame
        :func:`demand.demand_capacity.demand_capacity` output (``practice_id, date, session,
        same_day_booked, turned_away_no_capacity``): past days, two rows (am, pm) per day.
    min_days : int
        Days with demand a weekday needs for its own share; with fewer, the practice's share
        over all days is used (``source = "practice"``), and 0.5 with no demand at all
        (``source = "even"``).

    Returns
    -------
    pandas.DataFrame
        :data:`SHARE_COLUMNS`: seven rows per practice (``weekday`` 0 = Monday),
        ``am_share`` (float in [0, 1]), ``days`` (days with demand behind the weekday's own
        share) and ``source`` (``weekday``, ``practice`` or ``even``).

    Notes
    -----
    Demand per session is ``same_day_booked + turned_away_no_capacity`` (the same count as the
    daily ``same_day_demand`` series, so the two sessions add up to it). The share is the
    ratio of sums over the days, ``sum(am) / sum(am + pm)``, not a mean of daily ratios, so a
    quiet day weighs less than a busy one.
    """
    need = ["practice_id", "date", "session", "same_day_booked", "turned_away_no_capacity"]
    missing = [c for c in need if c not in history.columns]
    if missing:
        raise PressureError(
            f"history lacks column(s) {', '.join(missing)}; pass demand.demand_capacity.demand_capacity(calls, slots) "
            "(or read_metrics(store, 'pressure', ...))."
        )
    h = pd.DataFrame(
        {
            "unique_id": history["practice_id"].astype(str).to_numpy(),
            "date": pd.to_datetime(history["date"]).dt.tz_localize(None) if isinstance(history["date"].dtype, pd.DatetimeTZDtype) else pd.to_datetime(history["date"]),
            "am": (history["session"].astype(str) == "am").to_numpy(),
            "y": (history["same_day_booked"] + history["turned_away_no_capacity"]).to_numpy(dtype="float64"),
        }
    )
    h["weekday"] = h["date"].dt.day_of_week
    day = h.groupby(["unique_id", "date", "weekday"], sort=True).agg(total=("y", "sum"))
    day["am"] = h[h["am"]].groupby(["unique_id", "date", "weekday"])["y"].sum()
    day = day.fillna(0.0).reset_index()
    day = day[day["total"] > 0]
    rows = []
    for uid in sorted(h["unique_id"].unique()):
        d = day[day["unique_id"] == uid]
        overall = d["am"].sum() / d["total"].sum() if len(d) else math.nan
        for wd in range(7):
            w = d[d["weekday"] == wd]
            if len(w) >= min_days:
                rows.append((uid, wd, float(w["am"].sum() / w["total"].sum()), len(w), "weekday"))
            elif not math.isnan(overall):
                rows.append((uid, wd, float(overall), len(w), "practice"))
            else:
                rows.append((uid, wd, 0.5, 0, "even"))
    out = pd.DataFrame(rows, columns=list(SHARE_COLUMNS))
    out["days"] = out["days"].astype("int64")
    return out


def _spreads(spreads: Spread | Mapping[str, Spread], ids) -> dict[str, Spread]:
    if isinstance(spreads, Spread):
        return {u: spreads for u in ids}
    missing = [u for u in ids if u not in spreads]
    if missing:
        raise PressureError(f"no count spread for series {', '.join(missing)}; pass model.spread_ of the fitted model.")
    return {u: spreads[u] for u in ids}


def session_demand(
    forecast: pd.DataFrame,
    spreads: Spread | Mapping[str, Spread],
    shares: pd.DataFrame | float,
    column: str | None = None,
) -> pd.DataFrame:
    """Split a daily same-day demand forecast into am and pm sessions with their count spread.

    Parameters
    ----------
    forecast : pandas.DataFrame
        A daily forecast: ``unique_id, ds`` and the point forecast (a model's ``predict``
        output; intervals are ignored).
    spreads : Spread or mapping of unique_id to Spread
        The daily count's variance function (``model.spread_`` of the fitted model).
    shares : pandas.DataFrame or float
        :func:`session_shares` output, or one morning share for every day.
    column : str, optional
        The point-forecast column (default: the one column that is not an interval bound).

    Returns
    -------
    pandas.DataFrame
        Two rows per forecast row: ``unique_id, date, session, am_share, demand`` (the
        session's expected count) and ``phi, alpha`` (its spread; see the module Notes).

    Raises
    ------
    PressureError
        A missing column, share or spread.
    """

    for c in ("unique_id", "ds"):
        if c not in forecast.columns:
            raise PressureError(f"forecast lacks column {c}; pass a model's predict() output of a daily series.")
    try:
        col = forecast_column(forecast, None, column)
    except StaffingError as err:
        raise PressureError(str(err)) from None
    f = pd.DataFrame(
        {
            "unique_id": forecast["unique_id"].astype(str).to_numpy(),
            "date": pd.to_datetime(forecast["ds"]).dt.normalize().to_numpy(),
            "mu": pd.to_numeric(forecast[col], errors="coerce").to_numpy(dtype="float64"),
        }
    )
    if f["mu"].isna().any() or (f["mu"] < 0).any():
        raise PressureError(f"forecast column {col!r} has missing or negative values.")
    if isinstance(shares, pd.DataFrame):
        f["weekday"] = f["date"].dt.day_of_week
        f = f.merge(shares[["unique_id", "weekday", "am_share"]], on=["unique_id", "weekday"], how="left")
        if f["am_share"].isna().any():
            miss = sorted(f.loc[f["am_share"].isna(), "unique_id"].unique())
            raise PressureError(f"no session share for series {', '.join(miss)}; measure them with session_shares(history).")
        f = f.drop(columns="weekday")
    else:
        s = float(shares)
        if not 0 <= s <= 1:
            raise PressureError(f"a morning share must lie in [0, 1], got {shares!r}.")
        f["am_share"] = s
    sp = _spreads(spreads, f["unique_id"].unique())
    phi = f["unique_id"].map({u: v.phi for u, v in sp.items()}).to_numpy(dtype="float64")
    alpha = f["unique_id"].map({u: v.alpha for u, v in sp.items()}).to_numpy(dtype="float64")
    parts = []
    for session in SESSIONS:
        s = f["am_share"].to_numpy() if session == "am" else 1.0 - f["am_share"].to_numpy()
        parts.append(
            pd.DataFrame(
                {
                    "unique_id": f["unique_id"],
                    "date": f["date"],
                    "session": session,
                    "am_share": f["am_share"],
                    "demand": f["mu"].to_numpy() * s,
                    "phi": s * phi + (1.0 - s),
                    "alpha": alpha,
                    "_order": np.arange(len(f)),
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    out["_s"] = (out["session"] == "pm").astype(int)
    return out.sort_values(["_order", "_s"], kind="stable").drop(columns=["_order", "_s"]).reset_index(drop=True)


# ============================================================================ capacity


def capacity_from_slots(
    slots: pd.DataFrame, tz: str = DEFAULT_TZ, start=None, end=None, session_split=13
) -> pd.DataFrame:
    """Same-day capacity already in the appointment book, per practice, day and session.

    Parameters
    ----------
    slots : pandas.DataFrame
        Canonical slots (:func:`demand.appointments.schema.read_appointments`), typically the future
        ones.
    tz : str
        Wall clock of days and sessions.
    start, end : str or pandas.Timestamp, optional
        Period ``[start, end)`` (naive = local time).
    session_split : int, float or str
        Local time at which ``pm`` starts (default 13:00, as :func:`demand.demand_capacity.demand_capacity`).

    Returns
    -------
    pandas.DataFrame
        ``unique_id, date, session, capacity``: same-day slots offered (any status but
        cancelled, booked or not yet), for every day and session that has any slot in the book.

    Notes
    -----
    The same slots :func:`demand.demand_capacity.demand_capacity` counts as ``same_day_released``,
    so history and future are measured alike.
    """
    ps = prepare_slots(slots, tz, start, end, session_split)
    keep = ps.offered & (ps.category == _SAME_DAY)
    frame = pd.DataFrame(
        {
            "unique_id": np.asarray(ps.practices, dtype=object)[ps.practice],
            "date": (ps.day * DAY_NS).view("M8[ns]").astype("M8[us]"),
            "session": np.asarray(SESSIONS, dtype=object)[ps.session],
            "capacity": keep.astype("int64"),
        }
    )
    return frame.groupby(_KEYS, as_index=False, sort=True)["capacity"].sum()


def _check_role_numbers(values: Mapping[str, float], what: str, allow_zero: bool) -> dict[str, float]:
    if not isinstance(values, Mapping) or not values:
        raise PressureError(f"{what} must map roles to numbers, e.g. {{'GP': 18, 'ANP': 12}}.")
    unknown = [r for r in values if r not in ROLES]
    if unknown:
        raise PressureError(f"unknown role(s) {', '.join(map(str, unknown))} in {what}; use {', '.join(ROLES)}.")
    out = {r: float(v) for r, v in values.items()}
    bad = [r for r, v in out.items() if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero)]
    if bad:
        raise PressureError(f"{what} must hold {'non-negative' if allow_zero else 'positive'} numbers (role {bad[0]}).")
    return out


def capacity_from_plan(
    sessions: pd.DataFrame, plan: Mapping[str, float], slots_per_session: Mapping[str, float]
) -> pd.DataFrame:
    """Same-day capacity of a stated plan: clinician sessions per role in every session.

    Parameters
    ----------
    sessions : pandas.DataFrame
        The sessions to plan (``unique_id, date, session``), e.g. :func:`session_demand`'s
        output.
    plan : mapping of role to float
        Clinician sessions of same-day work each role runs in every am and pm session (e.g.
        ``{"GP": 2, "ANP": 1}``).
    slots_per_session : mapping of role to float
        Same-day appointments one clinician session of the role offers.

    Returns
    -------
    pandas.DataFrame
        ``unique_id, date, session, capacity`` with ``capacity = sum_r plan[r] x
        slots_per_session[r]`` on every row (0 on days the demand forecast is 0, closed days).
    """
    plan = _check_role_numbers(plan, "plan", allow_zero=True)
    slots = _check_role_numbers(slots_per_session, "slots_per_session", allow_zero=False)
    missing = [r for r in plan if r not in slots]
    if missing:
        raise PressureError(f"slots_per_session has no value for role(s) {', '.join(missing)} of the plan.")
    per = sum(plan[r] * slots[r] for r in plan)
    out = sessions[_KEYS].copy()
    out["capacity"] = float(per)
    if "demand" in sessions.columns:
        out.loc[sessions["demand"].to_numpy() == 0, "capacity"] = 0.0
    return out.reset_index(drop=True)


# ============================================================================ probabilities


def exceedance(demand: float, spread: Spread, capacity: float) -> tuple[float, float]:
    """Probability that demand exceeds capacity, and the expected shortfall.

    Parameters
    ----------
    demand : float
        Expected count of the session (0: nobody, e.g. closed).
    spread : Spread
        Its variance function (:func:`session_demand` gives ``phi, alpha``).
    capacity : float
        Appointments available; a fractional capacity counts its whole appointments.

    Returns
    -------
    (float, float)
        ``P(D > C)`` and ``E[max(D - C, 0)]`` (patients without a slot, on average).

    Examples
    --------
    >>> p, es = exceedance(2.0, Spread(), 0)   # Poisson(2) against no slot at all
    >>> round(p, 4), es
    (0.8647, 2.0)
    """
    c = float(capacity)
    if not (math.isfinite(c) and c >= 0):
        raise PressureError(f"capacity must be a number >= 0, got {capacity!r}.")
    c = math.floor(c + 1e-9)
    dist = count_distribution(demand, spread)
    mu = float(dist.mean())
    p = float(dist.sf(c))
    if c == 0:
        return p, mu
    k = np.arange(c)
    below = float(np.sum((c - k) * dist.pmf(k)))  # E[(C - D)+]
    return p, max(mu - c + below, 0.0)


def extra_sessions(
    demand: float, spread: Spread, capacity: float, slots_per_session: Mapping[str, float], threshold: float = 0.1
) -> dict[str, int]:
    """Per role, the fewest extra clinician sessions that bring ``P(D > C)`` to the threshold.

    Parameters
    ----------
    demand, spread, capacity
        As :func:`exceedance`.
    slots_per_session : mapping of role to float
        Appointments one added session of the role offers.
    threshold : float
        Highest acceptable probability that demand exceeds capacity (0.1: one session in ten).

    Returns
    -------
    dict
        Role to whole sessions (0 when the capacity already meets the threshold).

    Notes
    -----
    With ``k`` the least count such that ``P(D > k) <= threshold``, a role needs
    ``ceil((k - C) / slots)`` sessions (none if ``C >= k``).
    """
    if not 0 < threshold < 1:
        raise PressureError(f"threshold must be a probability strictly between 0 and 1, got {threshold!r}.")
    slots = _check_role_numbers(slots_per_session, "slots_per_session", allow_zero=False)
    dist = count_distribution(demand, spread)
    k = float(dist.ppf(1.0 - threshold))
    if not math.isfinite(k):
        k = 0.0
    k = int(k)
    while k > 0 and dist.sf(k - 1) <= threshold:  # ppf's floating rounding, either way
        k -= 1
    while dist.sf(k) > threshold:
        k += 1
    c = math.floor(float(capacity) + 1e-9)
    gap = max(k - c, 0)
    return {r: min(_MAX_EXTRA, int(math.ceil(gap / s - 1e-9))) for r, s in slots.items()}


def peak_pressure(
    demand: pd.DataFrame,
    capacity: pd.DataFrame,
    slots_per_session: Mapping[str, float],
    threshold: float = 0.1,
    top: int | None = None,
) -> pd.DataFrame:
    """Sessions ranked by the risk that same-day demand exceeds capacity, with the fix.

    Parameters
    ----------
    demand : pandas.DataFrame
        :func:`session_demand` output (``unique_id, date, session, demand, phi, alpha``).
    capacity : pandas.DataFrame
        ``unique_id, date, session, capacity`` (:func:`capacity_from_slots` or
        :func:`capacity_from_plan`); a session missing from it has no capacity (0).
    slots_per_session : mapping of role to float
        Same-day appointments one clinician session of each role offers; the roles that may
        be added, in order of preference (ties go to the earlier role).
    threshold : float
        Acceptable probability that demand exceeds capacity.
    top : int, optional
        Keep only the ``top`` highest-pressure sessions.

    Returns
    -------
    pandas.DataFrame
        :data:`PRESSURE_COLUMNS` then ``extra_<role>`` per role: ``rank`` (1 = highest
        pressure), ``p_exceed = P(D > C)``, ``expected_shortfall = E[(D - C)+]``,
        ``extra_sessions`` and ``extra_role`` (the role needing the fewest added sessions to
        bring ``p_exceed`` to ``threshold``; empty when none are needed), and the sessions
        each role alone would need. Sorted by ``p_exceed`` then ``expected_shortfall``,
        highest first. Sessions with neither demand nor capacity (closed days) are left out.
    """
    need = ["unique_id", "date", "session", "demand", "phi", "alpha"]
    missing = [c for c in need if c not in demand.columns]
    if missing:
        raise PressureError(f"demand lacks column(s) {', '.join(missing)}; pass session_demand(...) output.")
    missing = [c for c in _KEYS + ["capacity"] if c not in capacity.columns]
    if missing:
        raise PressureError(f"capacity lacks column(s) {', '.join(missing)}; pass capacity_from_slots or capacity_from_plan output.")
    slots = _check_role_numbers(slots_per_session, "slots_per_session", allow_zero=False)
    if not 0 < threshold < 1:
        raise PressureError(f"threshold must be a probability strictly between 0 and 1, got {threshold!r}.")
    d = demand[need].copy()
    d["date"] = pd.to_datetime(d["date"]).dt.normalize()
    cap = capacity[_KEYS + ["capacity"]].copy()
    cap["date"] = pd.to_datetime(cap["date"]).dt.normalize()
    cap["unique_id"] = cap["unique_id"].astype(str)
    d["unique_id"] = d["unique_id"].astype(str)
    m = d.merge(cap, on=_KEYS, how="left", validate="one_to_one")
    m["capacity"] = m["capacity"].fillna(0.0)
    m = m[(m["demand"] > 0) | (m["capacity"] > 0)].reset_index(drop=True)
    p_ex, short, extra = [], [], {r: [] for r in slots}
    for mu, phi, alpha, c in zip(m["demand"], m["phi"], m["alpha"], m["capacity"]):
        sp = Spread(float(phi), float(alpha))
        p, es = exceedance(mu, sp, c)
        p_ex.append(p)
        short.append(es)
        for r, n in extra_sessions(mu, sp, c, slots, threshold).items():
            extra[r].append(n)
    m["p_exceed"] = np.asarray(p_ex, dtype="float64")
    m["expected_shortfall"] = np.asarray(short, dtype="float64")
    ex = pd.DataFrame({f"extra_{r}": np.asarray(v, dtype="int64") for r, v in extra.items()}, index=m.index)
    m["extra_sessions"] = ex.min(axis=1).astype("int64") if len(m) else pd.Series(dtype="int64")
    best = ex.idxmin(axis=1).str.removeprefix("extra_") if len(m) else pd.Series(dtype=object)
    m["extra_role"] = np.where(m["extra_sessions"] > 0, best, "")
    m = pd.concat([m, ex], axis=1)
    m = m.sort_values(["p_exceed", "expected_shortfall"], ascending=False, kind="stable").reset_index(drop=True)
    m.insert(0, "rank", np.arange(1, len(m) + 1, dtype="int64"))
    if top is not None:
        m = m.head(int(top))
    return m[list(PRESSURE_COLUMNS) + list(ex.columns)]


# ============================================================================ the usual week and changes to it

#: A role takes part in session changes when it does at least this share of the practice's
#: booked same-day work: a nurse who sees one same-day patient a session is not the practice's
#: same-day workforce, and a session of hers adds one slot.
MIN_ROLE_SHARE = 0.1
#: BMA safe-working guidance: about 25 patient contacts a day for a GP, over two sessions.
GP_CONTACTS_PER_DAY = 25
#: Sessions a clinician works in a day (am and pm).
SESSIONS_PER_DAY = 2
SESSION_PLAN_COLUMNS: tuple[str, ...] = ("date", "session", "role", "before", "after")
CHANGE_COLUMNS: tuple[str, ...] = ("date", "session", "role", "change", "kind", "from_date", "from_session")
SESSION_SUMMARY_COLUMNS: tuple[str, ...] = (
    "date",
    "session",
    "demand",
    "needed",
    "capacity_before",
    "p_before",
    "capacity_after",
    "p_after",
    "short_after",
)


def _same_day_sessions(slots: pd.DataFrame, tz: str, session_split: float) -> pd.DataFrame:
    """One row per clinician session holding same-day slots: ``date, session, role, clinician, slots, booked``."""
    s = slots[(slots["category"].astype(str) == "same_day") & (slots["status"].astype(str) != "cancelled")]
    local = s["start_utc"].dt.tz_convert(tz).dt.tz_localize(None)
    pm = (local.dt.hour + local.dt.minute / 60.0) >= session_split
    who = s["clinician_key"].astype(object).where(s["clinician_key"].notna(), "?") if "clinician_key" in s.columns else "?"
    f = pd.DataFrame(
        {
            "date": local.dt.normalize().astype("M8[us]"),
            "session": np.where(pm, "pm", "am"),
            "role": s["role"].astype(str).to_numpy(),
            "clinician": who,
            "booked": s["status"].astype(str).isin(["booked", "attended", "dna"]).to_numpy(),
        }
    )
    return f.groupby(["date", "session", "role", "clinician"], as_index=False).agg(slots=("booked", "size"), booked=("booked", "sum"))


def same_day_roles(
    slots: pd.DataFrame, tz: str = DEFAULT_TZ, session_split: float = 13, min_share: float = MIN_ROLE_SHARE
) -> pd.DataFrame:
    """The roles a practice uses for same-day work, measured from its appointment book.

    Parameters
    ----------
    slots : pandas.DataFrame
        Canonical slots of recent weeks (history, not the week planned).
    tz : str
        Wall clock of days and sessions.
    session_split : float
        Local hour at which ``pm`` starts.
    min_share : float
        Share of booked same-day work a role needs to take part in changes (:data:`MIN_ROLE_SHARE`).

    Returns
    -------
    pandas.DataFrame
        One row per role with same-day slots, largest share first: ``role``, ``share`` (of
        booked same-day appointments), ``slots_per_session`` (median same-day slots a
        clinician session of the role offers; for GPs at most ``GP_CONTACTS_PER_DAY /
        SESSIONS_PER_DAY``, whole slots), ``people`` (distinct clinicians of the role with
        any slot in ``slots``: the most sessions of the role in one am or pm) and
        ``changeable`` (``share >= min_share``).

    Raises
    ------
    PressureError
        When the slots hold no booked same-day appointment.
    """
    sess = _same_day_sessions(slots, tz, session_split)
    if not len(sess) or sess["booked"].sum() == 0:
        raise PressureError(
            "No booked same-day appointments in the slots: ingest the practice's slot export "
            "('frontdoor ingest appointments') to plan clinician sessions."
        )
    booked = sess.groupby("role")["booked"].sum()
    share = booked / booked.sum()
    per = sess.groupby("role")["slots"].median()
    who = slots["clinician_key"].astype(object).where(slots["clinician_key"].notna(), "?") if "clinician_key" in slots.columns else pd.Series("?", index=slots.index)
    people = pd.Series(who.to_numpy()).groupby(slots["role"].astype(str).to_numpy()).nunique()
    out = pd.DataFrame({"role": share.index.astype(str), "share": share.to_numpy(dtype="float64")})
    out["slots_per_session"] = [max(1, int(round(per[r]))) for r in out["role"]]
    gp_cap = GP_CONTACTS_PER_DAY // SESSIONS_PER_DAY
    out.loc[out["role"] == "GP", "slots_per_session"] = out.loc[out["role"] == "GP", "slots_per_session"].clip(upper=gp_cap)
    out["people"] = [int(people.get(r, 1)) for r in out["role"]]
    out["changeable"] = out["share"] >= float(min_share)
    out["slots_per_session"] = out["slots_per_session"].astype("int64")
    return out.sort_values(["share", "role"], ascending=[False, True], kind="stable").reset_index(drop=True)


def with_slots_per_session(roles: pd.DataFrame, slots_per_session: Mapping[str, float]) -> pd.DataFrame:
    """:func:`same_day_roles` with stated same-day slots a session for some roles (whole
    slots; a GP session still at most ``GP_CONTACTS_PER_DAY / SESSIONS_PER_DAY``).

    Raises
    ------
    PressureError
        A role the practice does no same-day work in, or a number that is not positive.
    """
    stated = _check_role_numbers(slots_per_session, "slots_per_session", allow_zero=False)
    unknown = [r for r in stated if r not in set(roles["role"])]
    if unknown:
        raise PressureError(
            f"`slots_per_session` names role(s) {', '.join(unknown)} that do no same-day work in the book; "
            f"the practice's same-day roles are {', '.join(roles['role'])}."
        )
    out = roles.copy()
    for r, v in stated.items():
        n = max(1, int(round(v)))
        if r == "GP":
            n = min(n, GP_CONTACTS_PER_DAY // SESSIONS_PER_DAY)
        out.loc[out["role"] == r, "slots_per_session"] = n
    return out


def sessions_in_book(slots: pd.DataFrame, tz: str = DEFAULT_TZ, session_split: float = 13) -> pd.DataFrame:
    """Clinician sessions with same-day slots per day, session and role, as the book holds them.

    Returns
    -------
    pandas.DataFrame
        ``date, session, role, sessions, slots`` (same-day slots offered, any status but
        cancelled).
    """
    sess = _same_day_sessions(slots, tz, session_split)
    out = sess.groupby(["date", "session", "role"], as_index=False).agg(sessions=("clinician", "size"), slots=("slots", "sum"))
    out[["sessions", "slots"]] = out[["sessions", "slots"]].astype("int64")
    return out


def usual_week(book: pd.DataFrame, skip_dates=()) -> pd.DataFrame:
    """The practice's usual same-day sessions per weekday, session and role.

    Parameters
    ----------
    book : pandas.DataFrame
        :func:`sessions_in_book` of recent whole weeks.
    skip_dates : iterable of dates
        Days left out (bank holidays): they are not a usual day.

    Returns
    -------
    pandas.DataFrame
        ``weekday`` (0 = Monday), ``session, role, sessions`` (whole sessions: the mean over
        the weeks the weekday had any same-day session, rounded) and ``slots`` (the mean
        same-day slots they offered, so that the roles add up to the usual capacity).
    """
    b = book.copy()
    b["date"] = pd.to_datetime(b["date"])
    skip = {pd.Timestamp(d).normalize() for d in skip_dates}
    b = b[~b["date"].isin(skip)]
    b["weekday"] = b["date"].dt.day_of_week
    days = b.groupby("weekday")["date"].nunique()
    tot = b.groupby(["weekday", "session", "role"], as_index=False)[["sessions", "slots"]].sum()
    n = tot["weekday"].map(days).to_numpy(dtype="float64")
    tot["sessions"] = np.floor(tot["sessions"] / n + 0.5).astype("int64")
    tot["slots"] = tot["slots"] / n
    return tot[tot["sessions"] > 0].reset_index(drop=True)


def usual_on(usual: pd.DataFrame, dates) -> pd.DataFrame:
    """The usual week (:func:`usual_week`) laid on the given days: ``date, session, role, sessions, slots``."""
    days = pd.DataFrame({"date": pd.to_datetime(pd.Index(dates)).normalize()})
    days["weekday"] = days["date"].dt.day_of_week
    out = days.merge(usual, on="weekday", how="inner").drop(columns="weekday")
    return out.sort_values(["date", "session", "role"], kind="stable").reset_index(drop=True)


def _needed(mu: float, sp: Spread, threshold: float) -> int:
    """The least whole capacity ``k`` with ``P(D > k) <= threshold``."""
    if mu <= 0:
        return 0
    dist = count_distribution(mu, sp)
    k = float(dist.ppf(1.0 - threshold))
    k = int(k) if math.isfinite(k) else 0
    while k > 0 and dist.sf(k - 1) <= threshold:
        k -= 1
    while dist.sf(k) > threshold:
        k += 1
    return k


def session_changes(
    demand: pd.DataFrame, before: pd.DataFrame, roles: pd.DataFrame, threshold: float = 0.1
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Whole clinician sessions to move or add so that P(same-day demand > capacity) falls under ``threshold``.

    Parameters
    ----------
    demand : pandas.DataFrame
        :func:`session_demand` output of one practice (``date, session, demand, phi, alpha``).
    before : pandas.DataFrame
        The sessions planned before any change, per ``date, session, role``: ``sessions``
        and ``slots`` (next week's book via :func:`sessions_in_book`, or the usual week laid
        on next week's dates).
    roles : pandas.DataFrame
        :func:`same_day_roles`: which roles may change (``changeable``), in what proportion
        (``share``), by how many slots a session (``slots_per_session``) and within how many
        people (``people``).
    threshold : float
        Highest acceptable P(demand > capacity) of a session.

    Returns
    -------
    (sessions, changes, summary) : tuple of pandas.DataFrame
        ``sessions`` (:data:`SESSION_PLAN_COLUMNS`): sessions per day, session and role before
        and after; ``changes`` (:data:`CHANGE_COLUMNS`): one row per session moved (``kind =
        "move"``, ``change`` +1 at its new place, ``from_date, from_session`` its old one) or
        added (``kind = "add"``); ``summary`` (:data:`SESSION_SUMMARY_COLUMNS`): per day and
        session, the demand, the capacity ``needed`` to meet the threshold, capacity and
        P(demand > capacity) before and after, and ``short_after`` (whole slots still short of
        ``needed`` when the roles' people are all in use: a gap changes cannot close).

    Notes
    -----
    Greedy, highest-risk session first. Gaps are filled first by *moving* sessions of a
    changeable role from sessions of the same week that keep their own risk under the threshold
    without them (largest spare capacity first; a session that was given one never gives one
    away), then by *adding* sessions. Each move or addition
    takes the role whose added capacity lies furthest below its share of same-day work
    (D'Hondt's rule on ``share``), so changes follow the work each role actually does. A role
    never has more sessions in one am or pm than it has people, which also keeps every
    clinician to :data:`SESSIONS_PER_DAY` sessions and GPs to about
    :data:`GP_CONTACTS_PER_DAY` same-day contacts a day.
    """
    if not 0 < threshold < 1:
        raise PressureError(f"threshold must be a probability strictly between 0 and 1, got {threshold!r}.")
    need = ["date", "session", "demand", "phi", "alpha"]
    missing = [c for c in need if c not in demand.columns]
    if missing:
        raise PressureError(f"demand lacks column(s) {', '.join(missing)}; pass session_demand(...) output.")
    missing = [c for c in ("date", "session", "role", "sessions", "slots") if c not in before.columns]
    if missing:
        raise PressureError(f"before lacks column(s) {', '.join(missing)}; pass sessions_in_book(...) output.")
    r = roles.set_index("role")
    spr = r["slots_per_session"].astype(int).to_dict()
    people = r["people"].astype(int).to_dict()
    share = r["share"].astype(float).to_dict()
    changeable = [x for x in r.index if bool(r.at[x, "changeable"])]
    d = demand[need].copy()
    d["date"] = pd.to_datetime(d["date"]).dt.normalize()
    d = d.groupby(["date", "session"], as_index=False, sort=True).agg(demand=("demand", "sum"), phi=("phi", "first"), alpha=("alpha", "first"))
    b = before.copy()
    b["date"] = pd.to_datetime(b["date"]).dt.normalize()
    keys = list(zip(d["date"], d["session"]))
    sessions = {(k, ro): 0 for k in keys for ro in r.index}
    cap = {k: 0.0 for k in keys}
    for row in b.itertuples(index=False):
        k = (row.date, row.session)
        if k not in cap:
            continue  # a session without demand (closed day): nothing to plan
        sessions[(k, str(row.role))] = sessions.get((k, str(row.role)), 0) + int(row.sessions)
        cap[k] += float(row.slots)
    before_n = dict(sessions)
    cap_before = dict(cap)
    spread = {k: Spread(float(p), float(a)) for k, p, a in zip(keys, d["phi"], d["alpha"])}
    mu = dict(zip(keys, d["demand"].astype(float)))
    needed = {k: _needed(mu[k], spread[k], threshold) for k in keys}
    added_cap = {ro: 0.0 for ro in changeable}
    changes = []

    def spare(k) -> float:
        return cap[k] - needed[k]

    def pick(ok) -> str | None:
        cands = [ro for ro in changeable if ok(ro)]
        if not cands:
            return None
        return min(cands, key=lambda ro: ((added_cap[ro] + spr[ro]) / max(share[ro], 1e-9), -share[ro]))

    order = sorted(keys, key=lambda k: (-exceedance(mu[k], spread[k], cap[k])[0], k))
    received: set = set()  # sessions given a session are never donors (no move undoing an addition)

    def room(k, ro) -> bool:
        return sessions[(k, ro)] < people.get(ro, 1)

    def can_give(j, ro) -> bool:
        return j not in received and sessions[(j, ro)] > 0 and cap[j] - spr[ro] >= needed[j]

    for k in order:  # first moves: a session that is not needed where it is
        while spare(k) < 0:
            donors = [j for j in keys if j != k and any(can_give(j, ro) and room(k, ro) for ro in changeable)]
            if not donors:
                break
            j = max(donors, key=lambda j: (spare(j), j))
            ro = pick(lambda ro: can_give(j, ro) and room(k, ro))
            sessions[(j, ro)] -= 1
            sessions[(k, ro)] += 1
            cap[j] -= spr[ro]
            cap[k] += spr[ro]
            added_cap[ro] += spr[ro]
            received.add(k)
            changes.append((k[0], k[1], ro, 1, "move", j[0], j[1]))
    for k in order:  # then additions, within the roles' people
        while spare(k) < 0:
            ro = pick(lambda ro: room(k, ro))
            if ro is None:
                break  # every person of every changeable role already works this session
            sessions[(k, ro)] += 1
            cap[k] += spr[ro]
            added_cap[ro] += spr[ro]
            received.add(k)
            changes.append((k[0], k[1], ro, 1, "add", pd.NaT, None))
    rows = [
        (k[0], k[1], ro, before_n.get((k, ro), 0), n)
        for (k, ro), n in sessions.items()
        if n or before_n.get((k, ro), 0)
    ]
    plan = pd.DataFrame(rows, columns=list(SESSION_PLAN_COLUMNS))
    plan = plan.sort_values(["date", "session", "role"], kind="stable").reset_index(drop=True)
    plan[["before", "after"]] = plan[["before", "after"]].astype("int64")
    ch = pd.DataFrame(changes, columns=list(CHANGE_COLUMNS))
    ch["change"] = ch["change"].astype("int64")
    summary = pd.DataFrame(
        [
            (
                k[0],
                k[1],
                mu[k],
                needed[k],
                cap_before[k],
                exceedance(mu[k], spread[k], cap_before[k])[0],
                cap[k],
                exceedance(mu[k], spread[k], cap[k])[0],
                float(max(math.ceil(needed[k] - cap[k] - 1e-9), 0)),
            )
            for k in keys
        ],
        columns=list(SESSION_SUMMARY_COLUMNS),
    )
    summary = summary[(summary["demand"] > 0) | (summary["capacity_before"] > 0)].reset_index(drop=True)
    return plan, ch, summary
