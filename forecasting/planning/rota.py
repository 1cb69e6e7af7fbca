"""Call-handler rotas made of shifts, within the people a practice has.

Erlang gives a requirement per half hour; a practice rosters people on shifts. This module
turns the requirement into shifts a practice manager could put on the wall:

1. **Headcount.** The people who can be rostered on a weekday: stated
   (:func:`parse_headcount`, e.g. ``"4"`` or ``"Mon=4,Tue=3"``) or learned from the calls
   (:func:`headcount_from_history`: distinct handlers answering per day, the highest over
   recent weeks of that weekday).
2. **Shifts.** Allowed lengths and starts (:class:`ShiftRules`, default 3 to 8 hours starting
   on the half hour), inside the day's opening hours (:func:`candidate_shifts`).
3. **The choice.** An integer program (:func:`roster_day`, :func:`build_rota`;
   ``scipy.optimize.milp``, HiGHS) chooses how many people work each shift so that the
   requirement left unmet, summed over the half hours, is as small as possible and, among
   rotas leaving as little unmet, the person-hours are fewest. Shrinkage applies: rostered
   people × (1 − shrinkage) are on the phones. Nobody works two shifts a day, so the people
   rostered never exceed the headcount; what cannot be met is shown, not rostered.

Pure functions over arrays and DataFrames; no I/O.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp

from telephony.errors import FrontdoorError

__all__ = [
    "RotaError",
    "ShiftRules",
    "WEEKDAY_NAMES",
    "parse_shift_lengths",
    "parse_headcount",
    "headcount_from_history",
    "candidate_shifts",
    "roster_day",
    "build_rota",
    "Rota",
    "on_phones_whole",
    "headcount_words",
    "SHIFT_COLUMNS",
    "COVER_COLUMNS",
]

WEEKDAY_NAMES: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SHIFT_COLUMNS: tuple[str, ...] = ("date", "start", "end", "hours", "people")
COVER_COLUMNS: tuple[str, ...] = ("ds", "required", "required_rostered", "rostered", "on_phones", "unmet", "headcount")

#: Weight of one person-on-the-phones of requirement left unmet for half an hour, against one
#: person-half-hour rostered. Large enough that no saving in hours ever buys more unmet
#: requirement (a day has at most 48 half hours per person), small enough for HiGHS' tolerances.
_UNMET_WEIGHT = 1000.0
_STEP_MIN = 30
#: Extra weight of requirement unmet below one person on the phones: with the people short,
#: every open half hour keeps someone answering before the peak gets more.
_NOBODY_EXTRA = 2.0


class RotaError(FrontdoorError, ValueError):
    """Shift rules, headcount or requirement a rota cannot be made from; the message says how to fix it."""


@dataclass(frozen=True)
class ShiftRules:
    """Which shifts may be rostered.

    Attributes
    ----------
    lengths_h : tuple of float
        Allowed shift lengths, hours (multiples of half an hour).
    start_step_min : int
        Shifts start on multiples of this many minutes from the opening time (30: the half hour).

    Examples
    --------
    >>> ShiftRules.between(3, 4).lengths_h
    (3.0, 3.5, 4.0)
    """

    lengths_h: tuple[float, ...] = tuple(x / 2 for x in range(6, 17))
    start_step_min: int = _STEP_MIN

    def __post_init__(self):
        if not self.lengths_h:
            raise RotaError("give at least one shift length, e.g. `shift_lengths` 3-8")
        for h in self.lengths_h:
            if not (math.isfinite(h) and h > 0) or abs(h * 2 - round(h * 2)) > 1e-9:
                raise RotaError(f"shift lengths are whole half hours, e.g. 3, 4.5 or 8 (got {h!r})")
        if self.start_step_min <= 0 or self.start_step_min % _STEP_MIN:
            raise RotaError(f"shifts start on the half hour or on the hour (start_step_min 30 or 60, got {self.start_step_min!r})")
        object.__setattr__(self, "lengths_h", tuple(sorted({float(h) for h in self.lengths_h})))

    @classmethod
    def between(cls, shortest_h: float, longest_h: float, start_step_min: int = _STEP_MIN) -> "ShiftRules":
        """Every length from ``shortest_h`` to ``longest_h`` hours in half-hour steps."""
        if not (0 < shortest_h <= longest_h):
            raise RotaError(f"shift lengths {shortest_h:g}-{longest_h:g}: the shortest must be positive and not above the longest")
        n0, n1 = int(math.ceil(shortest_h * 2 - 1e-9)), int(math.floor(longest_h * 2 + 1e-9))
        return cls(tuple(x / 2 for x in range(n0, n1 + 1)), start_step_min)

    @property
    def shortest_h(self) -> float:
        return self.lengths_h[0]

    @property
    def longest_h(self) -> float:
        return self.lengths_h[-1]

    def words(self) -> str:
        """``"3-8 hours"`` or ``"4, 6 or 8 hours"``."""
        ls = self.lengths_h
        if len(ls) > 1 and all(abs(b - a - 0.5) < 1e-9 for a, b in zip(ls, ls[1:])):
            return f"{ls[0]:g}-{ls[-1]:g} hours"
        return (", ".join(f"{h:g}" for h in ls[:-1]) + " or " if len(ls) > 1 else "") + f"{ls[-1]:g} hours"


def parse_shift_lengths(text: str | ShiftRules | None) -> ShiftRules:
    """Shift lengths as written: ``"3-8"`` (every half hour between), ``"4,6,8"`` (those), ``"6"``.

    Raises
    ------
    RotaError
        For anything else.

    Examples
    --------
    >>> parse_shift_lengths("4,8").lengths_h, parse_shift_lengths("3-4").lengths_h
    ((4.0, 8.0), (3.0, 3.5, 4.0))
    """
    if text is None:
        return ShiftRules()
    if isinstance(text, ShiftRules):
        return text
    s = str(text).strip().lower().removesuffix("h").strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)", s)
    if m:
        return ShiftRules.between(float(m.group(1)), float(m.group(2)))
    parts = [p.strip() for p in s.split(",")]
    if parts and all(re.fullmatch(r"\d+(?:\.\d+)?", p) for p in parts):
        return ShiftRules(tuple(float(p) for p in parts))
    raise RotaError(f"Shift lengths {text!r} are not understood; write hours as a range (3-8) or a list (4,6,8) in `shift_lengths`.")


def parse_headcount(text: str | int | Mapping | None) -> dict[int, int] | None:
    """People who can be rostered, per weekday (Monday = 0), as stated.

    ``4`` (every day), ``"4"``, or ``"Mon=4,Tue=3"`` (the weekdays named; others are then
    learned from history). ``None`` gives ``None`` (learn every day).

    Raises
    ------
    RotaError
        For anything else.

    Examples
    --------
    >>> parse_headcount("Mon=4,tue=3")
    {0: 4, 1: 3}
    >>> parse_headcount(2)[6]
    2
    """
    if text is None:
        return None
    if isinstance(text, Mapping):
        out = {}
        for k, v in text.items():
            day = k if isinstance(k, int) else _weekday(str(k), text)
            out[int(day)] = _people(v, text)
        return out
    s = str(text).strip()
    if re.fullmatch(r"\d+", s):
        n = _people(s, text)
        return {d: n for d in range(7)}
    out = {}
    for part in s.split(","):
        m = re.fullmatch(r"\s*([A-Za-z]+)\s*=\s*(\d+)\s*", part)
        if not m:
            raise RotaError(f"Headcount {text!r} is not understood; write `headcount` as a number (4) or per weekday (Mon=4,Tue=3).")
        out[_weekday(m.group(1), text)] = _people(m.group(2), text)
    return out


def _weekday(name: str, text) -> int:
    key = name[:3].title()
    if key not in WEEKDAY_NAMES:
        raise RotaError(
            f"Headcount {text!r}: {name!r} is not a weekday; write `headcount` per weekday as Mon=4,Tue=3 "
            f"({', '.join(WEEKDAY_NAMES)})."
        )
    return WEEKDAY_NAMES.index(key)


def _people(v, text) -> int:
    try:
        n = int(v)
    except (TypeError, ValueError):
        raise RotaError(f"Headcount {text!r}: {v!r} is not a whole number of people in `headcount`.") from None
    if n < 0 or n != float(v):
        raise RotaError(f"Headcount {text!r}: people are whole numbers of 0 or more in `headcount`.")
    return n


def headcount_from_history(
    calls: pd.DataFrame,
    tz: str,
    weeks: int = 8,
    quantile: float = 1.0,
) -> tuple[dict[int, int], pd.DataFrame]:
    """People who answered calls per weekday, learned from the last ``weeks`` weeks of calls.

    Parameters
    ----------
    calls : pandas.DataFrame
        Canonical calls (``start_utc, direction, outcome, agent_key``).
    tz : str
        The practice's wall clock.
    weeks : int
        Recent weeks looked at (counted back from the last call).
    quantile : float
        Of the distinct handlers per day of a weekday, this quantile (1.0: the most seen on any
        such day; a practice that managed that many can roster that many), rounded down.

    Returns
    -------
    (dict, pandas.DataFrame)
        Weekday (Monday = 0) to people, for weekdays with answered calls; and the per-day
        counts ``date, weekday, handlers`` they come from.

    Raises
    ------
    RotaError
        When the calls name no handler (the export has no agent column): state the headcount.
    """
    need = ("start_utc", "direction", "outcome", "agent_key")
    if any(c not in calls.columns for c in need):
        raise RotaError("The calls lack who answered (agent_key), so the headcount cannot be learned; state `headcount`.")
    ans = calls[(calls["direction"].astype(str) == "inbound") & (calls["outcome"].astype(str) == "answered")]
    ans = ans[ans["agent_key"].notna()]
    if not len(ans):
        raise RotaError("No answered call in the history names its handler, so the headcount cannot be learned; state `headcount`.")
    local = ans["start_utc"].dt.tz_convert(tz).dt.tz_localize(None)
    since = local.max().normalize() - pd.Timedelta(weeks=int(weeks)) + pd.Timedelta(days=1)
    keep = (local >= since).to_numpy(dtype=bool)
    per = (
        pd.DataFrame({"date": local[keep].dt.normalize().to_numpy(), "agent": ans["agent_key"].to_numpy()[keep]})
        .groupby("date")["agent"].nunique().rename("handlers").reset_index()
    )
    per["weekday"] = pd.DatetimeIndex(per["date"]).day_of_week
    per = per[["date", "weekday", "handlers"]]
    q = per.groupby("weekday")["handlers"].quantile(float(quantile), interpolation="lower")
    return {int(d): int(n) for d, n in q.items()}, per


# ============================================================================ shifts


def candidate_shifts(open_starts_min: np.ndarray, rules: ShiftRules) -> np.ndarray:
    """Every allowed shift inside a day's open half hours.

    Parameters
    ----------
    open_starts_min : array of int
        Starts of the day's open half hours, minutes after midnight, ascending.
    rules : ShiftRules

    Returns
    -------
    numpy.ndarray
        ``(n, 2)`` int: start and end minute of each shift. Shifts lie inside one run of
        consecutive open half hours; a run shorter than the shortest shift gets one shift
        covering the whole run (a morning-only Saturday is still staffed).
    """
    t = np.asarray(open_starts_min, dtype=np.int64)
    if not len(t):
        return np.zeros((0, 2), dtype=np.int64)
    breaks = np.flatnonzero(np.diff(t) != _STEP_MIN) + 1
    out = []
    lengths = [int(round(h * 60)) for h in rules.lengths_h]
    for run in np.split(t, breaks):
        lo, hi = int(run[0]), int(run[-1]) + _STEP_MIN
        if hi - lo < lengths[0]:
            out.append((lo, hi))
            continue
        for s in range(lo, hi, rules.start_step_min):
            for L in lengths:
                if s + L <= hi:
                    out.append((s, s + L))
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def on_phones_whole(
    rostered: np.ndarray, shrinkage: float, day: np.ndarray | None = None, required: np.ndarray | None = None
) -> np.ndarray:
    """Whole people on the phones per half hour from the people rostered, shrinkage applied.

    ``rostered × (1 − shrinkage)`` is rarely whole (two people with 30% shrinkage are 1.4 on
    the phones). Per day, the whole person-half-hours on the phones are
    ``round(Σ rostered × (1 − shrinkage))``: each half hour with anyone rostered gets one, and
    the rest go where the requirement is least met (breaks and admin taken in the quiet half
    hours, as a practice manager would place them), never above the people rostered. Without
    ``required`` the fractions are carried from one half hour to the next (two rostered give
    1, 2, 1, 2 ...: 1.4 on average).

    Parameters
    ----------
    rostered : array of int
        People rostered per half hour, in time order.
    shrinkage : float
    day : array, optional
        A day label per half hour: each day's time off the phones is placed within it.
    required : array of float, optional
        People needed on the phones per half hour.

    Returns
    -------
    numpy.ndarray of int64
    """
    r = np.asarray(rostered, dtype="float64")
    labels = np.zeros(len(r)) if day is None else np.asarray(day)
    out = np.zeros(len(r), dtype=np.int64)
    eff = 1.0 - float(shrinkage)
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]]) if len(r) else np.array([], dtype=int)
    for lo, hi in zip(starts, np.r_[starts[1:], len(r)]):
        rr = r[lo:hi]
        on = (rr > 0).astype(np.int64)
        if required is None:
            carry = 0.0
            for i, x in enumerate(rr):
                if x <= 0:
                    carry = 0.0
                    continue
                v = x * eff + carry
                n = min(int(x), max(1, int(math.floor(v + 0.5 + 1e-9))))
                carry = v - n
                on[i] = n
        else:
            need = np.asarray(required, dtype="float64")[lo:hi]
            budget = int(math.floor(rr.sum() * eff + 0.5 + 1e-9)) - int(on.sum())
            for _ in range(max(0, budget)):
                room = (on < rr)
                if not room.any():
                    break
                gap = np.where(room, need - on, -np.inf)
                on[int(np.argmax(gap))] += 1
        out[lo:hi] = on
    return out


def roster_day(
    required: np.ndarray,
    open_starts_min: np.ndarray,
    headcount: int,
    shrinkage: float,
    rules: ShiftRules | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One day's shifts: the integer program.

    Parameters
    ----------
    required : array of float
        People needed on the phones in each open half hour (Erlang's agents).
    open_starts_min : array of int
        Those half hours' starts, minutes after midnight.
    headcount : int
        People who can work that day (each works at most one shift).
    shrinkage : float
        Share of rostered time off the phones, ``0 <= shrinkage < 1``.
    rules : ShiftRules, optional

    Returns
    -------
    (shifts, people, cover)
        ``shifts`` ``(n, 2)`` start and end minutes of the shifts used, ``people`` on each,
        ``cover`` people rostered in each half hour.

    Notes
    -----
    Variables: ``x_s`` people on candidate shift ``s`` (integers, 0 to headcount) and ``u_t``
    the requirement unmet in half hour ``t`` (continuous, >= 0). Constraints: ``(1 −
    shrinkage) Σ_s a_ts x_s + u_t >= required_t`` (``a_ts`` = 1 when shift ``s`` covers
    ``t``) and ``Σ_s x_s <= headcount``. Objective: ``W Σ_t ((1 + r_t / max r) u_t + 2 b_t) +
    Σ_s len_s x_s`` (unmet weighted by demand, up to double at the peak) with ``W`` so large that no hours saved are worth unmet requirement: least unmet first,
    then fewest person-hours. ``b_t >= u_t − (required_t − 1)`` is the part of the unmet
    requirement below one person on the phones: with shrinkage every person-half-hour meets
    the same 0.7 of requirement wherever it goes, so without it leaving 17:00 with nobody
    costs the same as a thinner 8am; with it, every open half hour keeps someone answering
    before the peak gets more.
    """
    rules = rules or ShiftRules()
    if not 0 <= shrinkage < 1:
        raise RotaError(f"shrinkage must be a fraction in [0, 1), e.g. 0.3 for 30% (got {shrinkage!r})")
    req = np.asarray(required, dtype="float64")
    t = np.asarray(open_starts_min, dtype=np.int64)
    if len(req) != len(t):
        raise RotaError("required and open_starts_min must have one value per half hour")
    if np.isnan(req).any() or (req < 0).any():
        raise RotaError("the requirement has missing or negative values")
    shifts = candidate_shifts(t, rules)
    n_t = len(t)
    if headcount <= 0 or not len(shifts) or not (req > 0).any():
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(n_t, dtype=np.int64)
    n_s = len(shifts)
    a = ((t[:, None] >= shifts[None, :, 0]) & (t[:, None] < shifts[None, :, 1])).astype("float64")
    eff = 1.0 - float(shrinkage)
    lens = (shifts[:, 1] - shifts[:, 0]) / _STEP_MIN
    # Variables: x (people per shift), u (requirement unmet), b (the part of u below one
    # person on the phones: a half hour nobody answers costs more than a thin one).
    # Unmet requirement weighs more where demand is higher (up to double at the peak): with
    # shrinkage, a person-half-hour meets the same 0.7 anywhere, and the busier half hour
    # is where the callers are.
    weight = _UNMET_WEIGHT * (1.0 + req / req.max())
    c = np.concatenate([lens, weight, np.full(n_t, _UNMET_WEIGHT * _NOBODY_EXTRA)])
    eye, zero = np.eye(n_t), np.zeros((n_t, n_t))
    need = req > 0
    floor_one = np.where(need, 1.0 - req, -np.inf)
    people_row = np.concatenate([np.ones(n_s), np.zeros(2 * n_t)])[None, :]
    cons = [
        LinearConstraint(np.hstack([eff * a, eye, zero]), lb=req, ub=np.inf),
        LinearConstraint(np.hstack([np.zeros((n_t, n_s)), -eye, eye]), lb=floor_one, ub=np.inf),
        LinearConstraint(people_row, lb=0, ub=int(headcount)),
    ]
    integrality = np.concatenate([np.ones(n_s), np.zeros(2 * n_t)])
    bounds = Bounds(np.zeros(n_s + 2 * n_t), np.concatenate([np.full(n_s, int(headcount)), np.full(2 * n_t, np.inf)]))
    res = milp(c, constraints=cons, integrality=integrality, bounds=bounds, options={"time_limit": 20.0})
    if res.x is None:
        raise RotaError(f"the shift program found no rota ({res.message}); try other `shift_lengths`")
    x = np.round(res.x[:n_s]).astype(np.int64)
    used = x > 0
    cover = (a[:, used] @ x[used]).astype(np.int64)
    order = np.lexsort((shifts[used, 1], shifts[used, 0]))
    return shifts[used][order], x[used][order], cover


# ============================================================================ a week


@dataclass
class Rota:
    """A week's rota: shifts and the cover they give.

    Attributes
    ----------
    shifts : pandas.DataFrame
        :data:`SHIFT_COLUMNS`: ``date`` (naive local midnight), ``start`` and ``end``
        (naive local times), ``hours``, ``people``.
    cover : pandas.DataFrame
        Per open half hour, :data:`COVER_COLUMNS`: ``required`` (people on the phones the
        requirement asks for), ``required_rostered`` (``ceil(required / (1 − shrinkage))``),
        ``rostered`` (people whose shift covers it), ``on_phones`` (``rostered × (1 −
        shrinkage)``), ``unmet`` (requirement on the phones left unmet), ``headcount``.
    headcount : dict
        Date to the people who could be rostered that day.
    rules : ShiftRules
    shrinkage : float
    """

    shifts: pd.DataFrame
    cover: pd.DataFrame
    headcount: dict
    rules: ShiftRules
    shrinkage: float


def build_rota(
    requirement: pd.DataFrame,
    headcount: Mapping[int, int],
    shrinkage: float,
    rules: ShiftRules | None = None,
    column: str = "required",
) -> Rota:
    """Shifts for every day of a requirement, each day within its weekday's headcount.

    Parameters
    ----------
    requirement : pandas.DataFrame
        ``ds`` (naive local half-hour starts of the open half hours) and ``column``: people
        needed on the phones.
    headcount : mapping of int to int
        Weekday (Monday = 0) to people who can be rostered; a weekday missing has none.
    shrinkage : float
    rules : ShiftRules, optional
    column : str

    Returns
    -------
    Rota

    Raises
    ------
    RotaError
        Bad frames or shrinkage, or half hours not on the half-hour grid.
    """
    rules = rules or ShiftRules()
    if "ds" not in requirement.columns or column not in requirement.columns:
        raise RotaError(f"the requirement needs columns ds and {column!r}")
    if not 0 <= shrinkage < 1:
        raise RotaError(f"shrinkage must be a fraction in [0, 1), e.g. 0.3 for 30% (got {shrinkage!r})")
    ds = pd.DatetimeIndex(pd.to_datetime(requirement["ds"]))
    if ((ds.minute % _STEP_MIN) != 0).any() or (ds.second != 0).any():
        raise RotaError("the requirement's ds must be half-hour starts (:00 or :30)")
    req = pd.to_numeric(requirement[column], errors="coerce").to_numpy(dtype="float64")
    order = np.argsort(ds.asi8, kind="stable")
    ds, req = ds[order], req[order]
    days = ds.normalize()
    rostered = np.zeros(len(ds), dtype=np.int64)
    heads = np.zeros(len(ds), dtype=np.int64)
    shift_rows = []
    per_day = {}
    for day in pd.unique(days):
        idx = np.flatnonzero(days == day)
        minutes = (ds[idx].hour * 60 + ds[idx].minute).to_numpy(dtype=np.int64)
        h = int(headcount.get(int(pd.Timestamp(day).day_of_week), 0))
        per_day[pd.Timestamp(day)] = h
        sh, people, cover = roster_day(req[idx], minutes, h, shrinkage, rules)
        rostered[idx] = cover
        heads[idx] = h
        for (s, e), n in zip(sh, people):
            shift_rows.append(
                (pd.Timestamp(day), pd.Timestamp(day) + pd.Timedelta(minutes=int(s)),
                 pd.Timestamp(day) + pd.Timedelta(minutes=int(e)), (e - s) / 60.0, int(n))
            )
    shifts = pd.DataFrame(shift_rows, columns=list(SHIFT_COLUMNS))
    shifts["people"] = shifts["people"].astype("int64")
    shifts["hours"] = shifts["hours"].astype("float64")
    eff = 1.0 - float(shrinkage)
    cover = pd.DataFrame({"ds": ds, "required": req})
    cover["required_rostered"] = np.array([math.ceil(r / eff - 1e-9) if r > 0 else 0 for r in req], dtype=np.int64)
    cover["rostered"] = rostered
    cover["on_phones"] = rostered * eff
    cover["unmet"] = np.maximum(0.0, req - rostered * eff)
    cover["headcount"] = heads
    return Rota(shifts, cover.reset_index(drop=True), per_day, rules, float(shrinkage))


def headcount_words(headcount: Mapping[int, int] | None) -> str:
    """``"2 every weekday"`` or ``"Mon 4, Tue 3, ..."`` (open weekdays: those with anyone)."""
    if not headcount:
        return "not known"
    days = {d: n for d, n in sorted(headcount.items()) if n > 0}
    if not days:
        return "nobody"
    if len(set(days.values())) == 1:
        n = next(iter(days.values()))
        which = "weekday" if set(days) == {0, 1, 2, 3, 4} else "open day"
        return f"{n} every {which}"
    return ", ".join(f"{WEEKDAY_NAMES[d]} {n}" for d, n in days.items())
