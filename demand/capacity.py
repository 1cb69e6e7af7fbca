"""Appointment capacity per day and session, and when same-day capacity ran out.

Pure functions over canonical appointment slots (:mod:`demand.appointments.schema`), one practice or
several; no I/O. What counts as offered, booked and cancelled, the am/pm sessions and the
lead-time bins are defined once in :mod:`demand.slots`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pandas as pd

from demand.appointments.schema import CATEGORIES, MODES, ROLES
from demand.definitions import DAY_NS, DEFAULT_TZ, MetricsInputError, names_at
from demand.slots import LEAD_TIME_COLUMNS, NAT, SESSIONS, PreparedSlots, lead_time_codes, pack, prepare_slots

__all__ = ["capacity_metrics", "same_day_exhaustion", "CAPACITY_COUNT_COLUMNS", "EXHAUSTION_COLUMNS"]

_BY_VALUES = {"role": ROLES, "mode": MODES, "category": CATEGORIES}
_SAME_DAY = CATEGORIES.index("same_day")

CAPACITY_COUNT_COLUMNS: tuple[str, ...] = (
    "slots_offered",
    "booked",
    "available",
    "attended",
    "dna",
    "cancelled",
    *LEAD_TIME_COLUMNS,
)
EXHAUSTION_COLUMNS: tuple[str, ...] = (
    "practice_id",
    "date",
    "same_day_released",
    "same_day_booked",
    "same_day_unbooked",
    "booked_time_unknown",
    "exhausted",
    "exhausted_at",
)


def check_by(by: Iterable[str] | str | None) -> tuple[str, ...]:
    """Validate a breakdown: a subset of ``role``, ``mode``, ``category`` (order kept)."""
    if by is None:
        return ()
    if isinstance(by, str):
        by = (by,)
    by = tuple(by)
    bad = [b for b in by if b not in _BY_VALUES]
    if bad or len(set(by)) != len(by):
        raise MetricsInputError(
            f"Cannot break capacity down by {', '.join(map(repr, by))}; use any of role, mode, category, each once."
        )
    return by


def by_codes(ps: PreparedSlots, by: tuple[str, ...]) -> list[tuple[np.ndarray, int]]:
    """``(codes, size)`` of each breakdown column, for :func:`demand.slots.pack`."""
    got = {"role": ps.role, "mode": ps.mode, "category": ps.category}
    return [(got[b], len(_BY_VALUES[b])) for b in by]


def by_labels(codes: np.ndarray, column: str):
    """Names of breakdown codes (a pandas ``str`` array)."""
    return names_at(_BY_VALUES[column], codes)


def _dates(day: np.ndarray) -> np.ndarray:
    """Naive ``datetime64[us]`` local midnights from day numbers."""
    return (np.asarray(day, dtype="int64") * DAY_NS).view("M8[ns]").astype("M8[us]")


def local_times(utc: np.ndarray, tz: str) -> pd.DatetimeIndex:
    """Tz-aware local timestamps of UTC ns instants (``NaT`` where ``utc`` is ``NAT``)."""
    idx = pd.DatetimeIndex(np.asarray(utc, dtype="int64").view("M8[ns]")).tz_localize("UTC")
    return idx.tz_convert(tz).as_unit("us")


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` as float, NaN where ``den`` is 0."""
    den = np.asarray(den, dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, np.asarray(num, dtype="float64") / np.where(den > 0, den, 1.0), np.nan)


def capacity_metrics(
    slots: pd.DataFrame,
    tz: str = DEFAULT_TZ,
    by: Iterable[str] | str | None = ("role", "mode"),
    start=None,
    end=None,
    session_split=13,
) -> pd.DataFrame:
    """Slots offered, booked and used per practice, local day, session and breakdown.

    Parameters
    ----------
    slots : pandas.DataFrame
        Canonical slots (:data:`demand.appointments.schema.APPOINTMENT_COLUMNS`; ``role``/``mode``
        only when broken down by them), one practice or several.
    tz : str
        IANA timezone whose wall clock defines days and sessions (default ``Europe/London``).
    by : iterable of {"role", "mode", "category"}, optional
        Breakdown within each session; ``()`` or ``None`` for session totals.
    start, end : str or pandas.Timestamp, optional
        Slots starting in ``[start, end)`` (naive = local time in ``tz``).
    session_split : int, float, str or datetime.time
        Local time at which ``pm`` starts (default 13:00), see :mod:`demand.slots`.

    Returns
    -------
    pandas.DataFrame
        One row per ``practice_id``, ``date`` (naive local date), ``session`` (``am``/``pm``)
        and breakdown value that has at least one slot (any status): days and combinations
        without slots are absent, not zero. Columns: the keys, then the counts (int64)
        ``slots_offered, booked, available, attended, dna, cancelled``, the lead-time counts
        ``lead_same_day, lead_1_day, lead_2_7_days, lead_8_14_days, lead_15_21_days,
        lead_22_28_days, lead_over_28_days, lead_unknown``, ``minutes_offered``,
        ``minutes_booked`` (float) and ``utilisation``, ``dna_rate`` (float, NaN when the
        denominator is 0). Sorted by the keys (breakdown values in schema order). An empty
        frame (or one emptied by the period) gives an empty result with these columns.

    Raises
    ------
    MetricsInputError
        A missing column, a naive ``start_utc``, an unknown status/role/mode/category, an
        unknown ``by``, ``tz`` or ``session_split``.

    Notes
    -----
    - ``slots_offered``: slots not cancelled (``available + booked + attended + dna``);
      ``cancelled`` slots are counted apart and excluded everywhere else, because the export
      does not say who cancelled (see :mod:`demand.slots`).
    - ``booked``: slots taken by a patient, ``booked + attended + dna`` statuses (``booked``
      alone means the outcome is not recorded yet); ``available``: offered and never booked.
      ``slots_offered = booked + available``.
    - ``utilisation = booked / slots_offered``; ``dna_rate = dna / (attended + dna)`` (slots
      still ``booked`` have no outcome and are left out).
    - Lead time, for booked slots only: local calendar days from ``booked_utc`` to the slot's
      start, in GPAD's bins (``lead_*`` sum to ``booked``); ``lead_unknown`` holds slots with no
      booking time or booked on a later day than the appointment.
    - ``minutes_offered`` / ``minutes_booked``: sums of ``duration_min`` of offered / booked
      slots.
    - A slot counts on the local day and in the session of its *start*.

    All counts are additive: sum rows to get a day, a practice-month or a role total, and
    recompute the ratios from the sums.
    """
    by = check_by(by)
    ps = prepare_slots(slots, tz, start, end, session_split, need=[b for b in by if b != "category"])
    n_p = len(ps.practices)
    d0 = int(ps.day.min()) if len(ps.day) else 0
    n_d = int(ps.day.max()) - d0 + 1 if len(ps.day) else 1
    dims = [(ps.practice, n_p), (ps.day - d0, n_d), (ps.session, 2), *by_codes(ps, by)]
    key = pack(*dims)
    uniq, row = np.unique(key, return_inverse=True)
    row = row.ravel()
    n = len(uniq)
    parts = np.unravel_index(uniq, tuple(max(int(s), 1) for _, s in dims))

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(row[mask], minlength=n).astype("int64")

    offered, booked = ps.offered, ps.booked
    cols: dict = {
        "practice_id": names_at(ps.practices, parts[0]),
        "date": _dates(parts[1] + d0),
        "session": names_at(SESSIONS, parts[2]),
    }
    for i, b in enumerate(by):
        cols[b] = by_labels(parts[3 + i], b)
    cols["slots_offered"] = count(offered)
    cols["booked"] = count(booked)
    cols["available"] = count(ps.is_status("available"))
    cols["attended"] = count(ps.is_status("attended"))
    cols["dna"] = count(ps.is_status("dna"))
    cols["cancelled"] = count(ps.is_status("cancelled"))
    lead = lead_time_codes(ps)
    lead_counts = np.bincount(row[booked] * len(LEAD_TIME_COLUMNS) + lead[booked], minlength=n * len(LEAD_TIME_COLUMNS))
    lead_counts = lead_counts.reshape(n, len(LEAD_TIME_COLUMNS))
    for i, c in enumerate(LEAD_TIME_COLUMNS):
        cols[c] = lead_counts[:, i].astype("int64")
    dur = np.nan_to_num(ps.duration, nan=0.0)
    cols["minutes_offered"] = np.bincount(row[offered], weights=dur[offered], minlength=n)
    cols["minutes_booked"] = np.bincount(row[booked], weights=dur[booked], minlength=n)
    cols["utilisation"] = _ratio(cols["booked"], cols["slots_offered"])
    cols["dna_rate"] = _ratio(cols["dna"], cols["attended"] + cols["dna"])
    # built at once: inserting columns one by one costs more than the counting
    return pd.DataFrame(cols)


@dataclass
class DayExhaustion:
    """Same-day capacity per practice and local day that has at least one slot (any kind).

    Arrays are aligned and sorted by practice, then day. ``exhausted_utc`` is the booking
    time (UTC ns) of the last same-day slot of the day when the day ran out *and* every such
    booking time is known, else ``NAT``.
    """

    practice: np.ndarray
    day: np.ndarray
    released: np.ndarray
    booked: np.ndarray
    time_unknown: np.ndarray
    exhausted: np.ndarray
    exhausted_utc: np.ndarray


def day_exhaustion(ps: PreparedSlots) -> DayExhaustion:
    """Compute :class:`DayExhaustion` from prepared slots (shared with :mod:`demand.demand_capacity`).

    Computed once per :class:`~demand.slots.PreparedSlots`; the arrays are shared, read-only.
    """
    return ps.cached("day_exhaustion", lambda: _day_exhaustion(ps))


def _day_exhaustion(ps: PreparedSlots) -> DayExhaustion:
    n_p = len(ps.practices)
    d0 = int(ps.day.min()) if len(ps.day) else 0
    n_d = int(ps.day.max()) - d0 + 1 if len(ps.day) else 1
    uniq, row = np.unique(pack((ps.practice, n_p), (ps.day - d0, n_d)), return_inverse=True)
    row = row.ravel()
    n = len(uniq)
    same_day = ps.offered & (ps.category == _SAME_DAY)
    taken = same_day & ps.booked
    known = taken & (ps.booked_utc != NAT)
    released = np.bincount(row[same_day], minlength=n)
    booked = np.bincount(row[taken], minlength=n)
    unknown = booked - np.bincount(row[known], minlength=n)
    last = np.full(n, NAT, dtype="int64")
    np.maximum.at(last, row[known], ps.booked_utc[known])
    exhausted = (released > 0) & (booked == released)
    return DayExhaustion(
        practice=uniq // n_d,
        day=uniq % n_d + d0,
        released=released.astype("int64"),
        booked=booked.astype("int64"),
        time_unknown=unknown.astype("int64"),
        exhausted=exhausted,
        exhausted_utc=np.where(exhausted & (unknown == 0), last, NAT),
    )


def same_day_exhaustion(slots: pd.DataFrame, tz: str = DEFAULT_TZ, start=None, end=None) -> pd.DataFrame:
    """When each day's same-day capacity ran out, per practice and local day.

    Parameters
    ----------
    slots : pandas.DataFrame
        Canonical slots (``practice_id, start_utc, status, category, booked_utc,
        duration_min``), one practice or several.
    tz : str
        IANA timezone of the wall clock (default ``Europe/London``).
    start, end : str or pandas.Timestamp, optional
        Slots starting in ``[start, end)`` (naive = local time in ``tz``).

    Returns
    -------
    pandas.DataFrame
        One row per ``practice_id`` and ``date`` (naive local date) that has at least one slot
        of any kind (days without any slot are absent; an empty input gives an empty frame):
        ``same_day_released, same_day_booked, same_day_unbooked, booked_time_unknown`` (int64),
        ``exhausted`` (bool) and ``exhausted_at`` (tz-aware local time, ``NaT`` when the day did
        not run out or the time is unknown).

    Notes
    -----
    - ``same_day_released``: the day's same-day slots (``category == "same_day"``, starting
      that local day) that were offered, i.e. not cancelled (:mod:`demand.slots`). The export
      does not say *when* a slot was released, only which day it is for.
    - ``same_day_booked``: those booked (``booked``, ``attended`` or ``dna``);
      ``same_day_unbooked = same_day_released - same_day_booked`` (still ``available``).
    - ``exhausted``: the day had same-day slots and all were booked. A day with none released
      is not exhausted (``same_day_released == 0`` says there was nothing to run out of).
    - ``exhausted_at``: the booking time of the last of those slots to be booked, i.e. the
      booking that left no same-day slot of that day available. It can fall before the day
      (a same-day slot booked the evening before) or after the slot's own start.
      ``NaT`` when not exhausted, or when ``booked_time_unknown`` (booked same-day slots
      without ``booked_utc``) is above 0, since the last booking cannot then be known.
    - A day that kept any same-day slot unbooked to the end is not exhausted, even if that
      slot's time had passed before anyone could book it.
    """
    ps = prepare_slots(slots, tz, start, end)
    ex = day_exhaustion(ps)
    out = pd.DataFrame(
        {
            "practice_id": names_at(ps.practices, ex.practice),
            "date": _dates(ex.day),
            "same_day_released": ex.released,
            "same_day_booked": ex.booked,
            "same_day_unbooked": ex.released - ex.booked,
            "booked_time_unknown": ex.time_unknown,
            "exhausted": ex.exhausted.astype(bool),
            "exhausted_at": local_times(ex.exhausted_utc, tz),
        }
    )
    return out
