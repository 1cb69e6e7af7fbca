"""Reading canonical appointment slots for the capacity, pressure and workforce metrics.

One place for what a slot counts as, so :mod:`demand.capacity`, :mod:`demand.demand_capacity` and
:mod:`demand.workforce` agree. Slots are the canonical rows of :mod:`demand.appointments.schema`.

Status groups
-------------
========== ======================================= ==============================================
group      statuses                                why
========== ======================================= ==============================================
offered    ``available, booked, attended, dna``    capacity a patient could have had
booked     ``booked, attended, dna``               taken by a patient (``booked`` = outcome not
                                                   recorded yet)
cancelled  ``cancelled``                           reported apart, never offered (see below)
========== ======================================= ==============================================

The canonical status has a single ``cancelled`` (the exports' "Cancelled by Patient" and
"Cancelled by Unit" both map to it), so who cancelled is unknown. A slot the practice withdrew
(a session cancelled for sickness or training) was never capacity a patient could have; when a
patient cancels, clinical systems free the slot again, and the freed slot shows up as available
or rebooked, so counting the cancelled row too would count that capacity twice. Either way a
cancelled row is not offered: it is counted in its own column and left out of utilisation.

Sessions
--------
A slot (or call) belongs to the local calendar day of its start and to the ``am`` session when
its local wall-clock time of day is before ``session_split`` (default 13:00), else ``pm``. Days
run from local midnight to local midnight, so a DST day is 23 or 25 hours and still one day; the
split is a wall-clock reading, so on the autumn change both 01:30s fall in ``am``.

Lead time
---------
Lead time is counted in *local calendar days* from the day the slot was booked to the day of the
appointment, as NHS Digital's GPAD does ("Same Day" = booked on the day): a slot booked at
23:50 for 00:10 the next day is "1 Day" although 20 minutes passed, and one booked at noon on
the Saturday before the spring change for noon on the Sunday is "1 Day" although 23 hours
passed. The bins are GPAD's seven, ``15 to 21`` and ``22 to 28`` kept apart so that counts can be
set beside GPAD's (sum them for "15 to 28"). A booked slot with no ``booked_utc``, or one booked
on a later day than the appointment (a retrospective entry), has an unknown lead time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Iterable

import numpy as np
import pandas as pd

from demand.appointments.schema import CATEGORIES, MODES, ROLES, STATUSES
from demand.definitions import (
    DAY_NS,
    HOUR_NS,
    MetricsInputError,
    Memoised,
    category_codes,
    check_tz,
    distinct,
    in_period,
    spans,
    to_utc_bound,
    utc_ns,
    wall_ns,
)

__all__ = [
    "OFFERED_STATUSES",
    "BOOKED_STATUSES",
    "SESSIONS",
    "LEAD_TIME_BINS",
    "LEAD_TIME_COLUMNS",
    "PreparedSlots",
    "prepare_slots",
    "session_split_ns",
    "lead_time_codes",
    "in_period",
    "pack",
    "distinct",
]

OFFERED_STATUSES: tuple[str, ...] = ("available", "booked", "attended", "dna")
BOOKED_STATUSES: tuple[str, ...] = ("booked", "attended", "dna")
SESSIONS: tuple[str, ...] = ("am", "pm")

# (output column, GPAD TIME_BETWEEN_BOOK_AND_APPT value verbatim, first day, last day)
LEAD_TIME_BINS: tuple[tuple[str, str, int, int], ...] = (
    ("lead_same_day", "Same Day", 0, 0),
    ("lead_1_day", "1 Day", 1, 1),
    ("lead_2_7_days", "2 to 7 Days", 2, 7),
    ("lead_8_14_days", "8  to 14 Days", 8, 14),
    ("lead_15_21_days", "15  to 21 Days", 15, 21),
    ("lead_22_28_days", "22  to 28 Days", 22, 28),
    ("lead_over_28_days", "More than 28 Days", 29, np.iinfo("int32").max),
)
LEAD_TIME_COLUMNS: tuple[str, ...] = tuple(b[0] for b in LEAD_TIME_BINS) + ("lead_unknown",)

NAT = np.iinfo("int64").min  # what a missing timestamp reads as in int64 nanoseconds

_STATUS = {s: i for i, s in enumerate(STATUSES)}
_OFFERED_CODES = np.array([_STATUS[s] for s in OFFERED_STATUSES])
_BOOKED_CODES = np.array([_STATUS[s] for s in BOOKED_STATUSES])


def session_split_ns(split) -> int:
    """Wall-clock time of day (ns after local midnight) at which the ``pm`` session starts.

    Parameters
    ----------
    split : int, float, str or datetime.time
        Hours after midnight (``13``, ``12.5``), ``"HH:MM"``, or a :class:`datetime.time`.

    Raises
    ------
    MetricsInputError
        For anything else, or a time not strictly between 00:00 and 24:00.
    """
    try:
        if isinstance(split, dt.time):
            ns = ((split.hour * 60 + split.minute) * 60 + split.second) * 10**9
        elif isinstance(split, str):
            hh, _, mm = split.strip().partition(":")
            ns = (int(hh) * 60 + int(mm or 0)) * 60 * 10**9
        elif isinstance(split, bool):
            raise TypeError
        else:
            ns = int(round(float(split) * HOUR_NS))
    except (TypeError, ValueError) as err:
        raise MetricsInputError(f"session_split {split!r} is not a time of day; use e.g. 13 or '13:00'.") from err
    if not 0 < ns < DAY_NS:
        raise MetricsInputError(f"session_split {split!r} must fall strictly between 00:00 and 24:00.")
    return ns


def _codes(values: pd.Series, allowed: tuple[str, ...], column: str) -> np.ndarray:
    """Index of each value in ``allowed`` (int64); unknown or missing values raise."""
    codes, odd = category_codes(values, allowed)
    if odd:
        odd = odd[:5]
        raise MetricsInputError(
            f"Unknown {column} value(s) {', '.join(odd)}. Known values: {', '.join(allowed)}; "
            "validate slots with demand.appointments.schema.validate_appointments."
        )
    return codes


def _instants(col: pd.Series, name: str, nullable: bool) -> np.ndarray:
    """A timestamp column as UTC int64 ns (``NAT`` where missing), checking it is tz-aware."""
    if not isinstance(col.dtype, pd.DatetimeTZDtype):
        if nullable and col.isna().all():
            return np.full(len(col), NAT, dtype="int64")
        raise MetricsInputError(
            f"{name} must be a timezone-aware (UTC) datetime column, got {col.dtype}; read slots "
            "from the store or use pd.to_datetime(..., utc=True)."
        )
    if not nullable and col.isna().any():
        raise MetricsInputError(f"{name} has missing values; validate slots before measuring them.")
    return utc_ns(col)


def check_slots(slots: pd.DataFrame, columns: Iterable[str]) -> None:
    """Raise :class:`MetricsInputError` unless ``slots`` has every one of ``columns``."""
    missing = [c for c in columns if c not in slots.columns]
    if missing:
        raise MetricsInputError(
            f"Slots frame lacks column(s) {', '.join(missing)}; pass canonical appointment slots "
            "(demand.appointments.schema.APPOINTMENT_COLUMNS)."
        )


@dataclass
class PreparedSlots(Memoised):
    """Canonical slots reduced to integer arrays (one entry per slot of ``slots``).

    ``practice`` codes index ``practices`` (sorted names). ``day`` is the local calendar day as
    whole days since 1970-01-01 (``day * DAY_NS`` is the naive local midnight), ``session`` 0 for
    ``am`` and 1 for ``pm``. ``status``, ``role``, ``mode``, ``category`` are indices into
    :data:`~demand.appointments.schema.STATUSES` and friends (``role``/``mode`` only if asked for).
    ``booked_utc``/``booked_wall`` read ``NAT`` where the slot has no booking time.
    ``first_utc``/``last_utc`` give each practice's span, as in :func:`demand.definitions.prepare`.

    Every slot metric accepts a ``PreparedSlots`` in place of the frame: prepared once
    (:func:`prepare_slots`, e.g. with ``need=("role", "mode")``), it serves capacity,
    exhaustion, demand against capacity, the Monday profile and the workforce metrics, each of
    which would otherwise repeat the coding and the timezone work. One prepared for another
    period or session split is prepared again from ``source`` (and kept, for the next metric
    that asks). The arrays are shared: treat them as read-only. ``cache`` holds only values
    that depend on the slots alone, never on the spans: two prepared for periods that keep
    the same slots share it.
    """

    slots: pd.DataFrame
    practices: np.ndarray
    practice: np.ndarray
    utc: np.ndarray
    wall: np.ndarray
    day: np.ndarray
    session: np.ndarray
    status: np.ndarray
    category: np.ndarray
    role: np.ndarray | None
    mode: np.ndarray | None
    booked_utc: np.ndarray
    booked_wall: np.ndarray
    duration: np.ndarray
    first_utc: np.ndarray
    last_utc: np.ndarray
    source: pd.DataFrame | None = field(default=None, repr=False)
    args: tuple = ()  # (tz, start ns, end ns, split ns): what "prepared the same way" means
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def offered(self) -> np.ndarray:
        """Mask of offered slots (not cancelled)."""
        return self.cached("offered", lambda: np.isin(self.status, _OFFERED_CODES))

    @property
    def booked(self) -> np.ndarray:
        """Mask of booked slots (booked, attended, dna)."""
        return self.cached("booked", lambda: np.isin(self.status, _BOOKED_CODES))

    def key_codes(self, column: str, sort: bool = False) -> np.ndarray:
        """Codes of ``patient_key`` / ``clinician_key`` (-1: none); in pseudonym order if ``sort``."""
        key = ("codes", column, sort)
        return self.cached(key, lambda: pd.factorize(self.slots[column], sort=sort)[0].astype("int64"))

    def is_status(self, status: str) -> np.ndarray:
        return self.status == _STATUS[status]


def prepare_slots(
    slots: pd.DataFrame | PreparedSlots,
    tz: str,
    start=None,
    end=None,
    session_split=13,
    need: Iterable[str] = (),
) -> PreparedSlots:
    """Check, restrict to ``start <= start_utc < end`` and reduce slots to integer arrays.

    Parameters
    ----------
    slots : pandas.DataFrame or PreparedSlots
        Canonical slots; always needs ``practice_id, start_utc, status, category,
        booked_utc, duration_min``. A :class:`PreparedSlots` prepared with the same ``tz``,
        period and split is returned as it is (with the ``need`` columns coded if they were
        not yet); otherwise its source frame is prepared (once: the result is kept in it).
    tz : str
        IANA timezone of the wall clock.
    start, end : optional
        Period bounds (naive = local time in ``tz``), as for the call metrics.
    session_split : int, float, str or datetime.time
        Start of the ``pm`` session, see :func:`session_split_ns`.
    need : iterable of str
        Further columns to check and code: ``role``, ``mode``.

    Raises
    ------
    MetricsInputError
        A missing column, naive or missing ``start_utc``, an unknown status/category/role/mode.
    """
    check_tz(tz)
    need = tuple(need)
    split = session_split_ns(session_split)
    lo, hi = to_utc_bound(start, tz), to_utc_bound(end, tz)
    args = (tz, None if lo is None else lo.as_unit("ns").value, None if hi is None else hi.as_unit("ns").value, split)
    if isinstance(slots, PreparedSlots):
        if slots.args == args:
            return _with_codes(slots, need)
        shared = slots
        other = shared.cache.get(("prepared", args))
        if other is None:
            if (
                shared.args[0] == tz
                and shared.args[3] == split
                and len(shared.slots) == len(shared.source)
                and in_period(shared.utc, start, end, tz).all()
            ):
                # the other period keeps the very same slots: only the spans differ
                first, last = spans(shared.practice, shared.utc, len(shared.practices), start, end, tz)
                other = replace(shared, first_utc=first, last_utc=last, args=args, cache=shared.cache)
            else:
                other = prepare_slots(shared.source, tz, start, end, session_split, need)
            shared.cache[("prepared", args)] = other
        return _with_codes(other, need)
    check_slots(slots, ("practice_id", "start_utc", "status", "category", "booked_utc", "duration_min") + need)
    utc = _instants(slots["start_utc"], "start_utc", nullable=False)
    source = slots
    keep = in_period(utc, start, end, tz)
    if not keep.all():  # (a period holding every slot needs no copy of the frame)
        slots, utc = slots.loc[keep], utc[keep]
    codes, names = pd.factorize(slots["practice_id"], sort=True)
    if (codes < 0).any():
        raise MetricsInputError("practice_id has missing values; validate slots before measuring them.")
    codes = codes.astype("int64")
    wall = wall_ns(utc, tz)
    booked_utc = _instants(slots["booked_utc"], "booked_utc", nullable=True)
    has = booked_utc != NAT
    booked_wall = np.full(len(slots), NAT, dtype="int64")
    booked_wall[has] = wall_ns(booked_utc[has], tz)
    day = wall // DAY_NS
    first, last = spans(codes, utc, len(names), start, end, tz)
    return PreparedSlots(
        slots=slots,
        practices=np.asarray(names, dtype=object),
        practice=codes,
        utc=utc,
        wall=wall,
        day=day,
        session=(wall - day * DAY_NS >= split).astype("int64"),
        status=_codes(slots["status"], STATUSES, "status"),
        category=_codes(slots["category"], CATEGORIES, "category"),
        role=_codes(slots["role"], ROLES, "role") if "role" in need else None,
        mode=_codes(slots["mode"], MODES, "mode") if "mode" in need else None,
        booked_utc=booked_utc,
        booked_wall=booked_wall,
        duration=pd.to_numeric(slots["duration_min"]).to_numpy(dtype="float64", na_value=np.nan),
        first_utc=first,
        last_utc=last,
        source=source,
        args=args,
    )


def _with_codes(ps: PreparedSlots, need: tuple[str, ...]) -> PreparedSlots:
    """``ps`` with the ``role`` / ``mode`` codes in ``need`` filled in (checked like the rest)."""
    check_slots(ps.slots, need)
    if "role" in need and ps.role is None:
        ps.role = _codes(ps.slots["role"], ROLES, "role")
    if "mode" in need and ps.mode is None:
        ps.mode = _codes(ps.slots["mode"], MODES, "mode")
    return ps


def lead_time_codes(ps: PreparedSlots) -> np.ndarray:
    """Lead-time bin of each slot: an index into :data:`LEAD_TIME_COLUMNS` (int64).

    The last index (``lead_unknown``) is used for slots without a booking time and for those
    booked on a later local day than the appointment. Unbooked slots get a code too; callers
    count only booked ones.
    """
    has = ps.booked_wall != NAT
    days = np.full(len(ps.day), -1, dtype="int64")
    days[has] = ps.day[has] - ps.booked_wall[has] // DAY_NS
    lasts = np.array([b[3] for b in LEAD_TIME_BINS], dtype="int64")
    code = np.searchsorted(lasts, days, side="left")
    code[days < 0] = len(LEAD_TIME_BINS)
    return code.astype("int64")


def pack(*codes_and_sizes: tuple[np.ndarray, int]) -> np.ndarray:
    """One int64 key from several non-negative codes, ordered like a lexicographic sort.

    Each argument is ``(codes, size)`` with ``0 <= codes < size``.
    """
    key = np.zeros(len(codes_and_sizes[0][0]), dtype="int64")
    total = 1
    for codes, size in codes_and_sizes:
        size = max(int(size), 1)
        total *= size
        if total >= 2**62:
            raise MetricsInputError("Too many groups to count at once; split the frame by practice.")
        key = key * size + codes
    return key
