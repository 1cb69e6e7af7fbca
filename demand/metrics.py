"""Metrics straight from the store: read just the partitions a metric needs, then measure.

The glue between the store (:mod:`telephony.store`, :mod:`demand.appointments.schema`,
:mod:`telephony.practices`) and the pure metric functions, so that ``frontdoor metrics`` stays a
thin skin. :func:`read_metrics` picks the columns and partitions a metric needs, checks that
there is something to measure (an unknown practice, an empty period or a missing appointment
export is a :class:`NoMetricsDataError`, not an empty table), calls the one metric function
and returns its frame unchanged. :func:`format_metrics` turns such a frame into text-ready
columns: everything for ``csv``/``json``, a readable subset for a terminal ``table``.

Kinds
-----
===================== ======================================================== ==============
kind                  function                                                 intervals
===================== ======================================================== ==============
``queue``             :func:`demand.queue.queue_metrics`                       15min, 30min,
                                                                               h, D (default),
                                                                               W, MS
``callers``           :func:`demand.callers.caller_metrics_daily` (``D``,      D (default), h
                      default) or :func:`~demand.callers.caller_metrics_hourly`
                      (``h``)
``capacity``          :func:`demand.capacity.capacity_metrics` per day and     D
                      session, with the day's
                      :func:`~demand.capacity.same_day_exhaustion` beside it
``pressure``          :func:`demand.demand_capacity.demand_capacity`                  D
``monday``            :func:`demand.demand_capacity.monday_profile`, England's bank   (profile)
                      holidays left out
``nhs``               :func:`demand.queue.nhs_metrics` by ``month``,           MS
                      ``weekday`` or ``hour`` (per month)
``skill_mix``         :func:`demand.workforce.skill_mix`, list sizes from the  MS
                      practices registry
``consultation``      :func:`demand.workforce.consultation_length`             (period)
``continuity``        :func:`demand.workforce.continuity`                      MS
===================== ======================================================== ==============

Periods are whole local days: ``first_date`` and ``last_date`` are both *included* (a manager's
"16 to 22 November" is seven days), so the metrics run on ``[first_date 00:00, last_date + 1
day 00:00)`` local time.
"""

from __future__ import annotations

import datetime as _dt
from typing import Iterable

import numpy as np
import pandas as pd

from telephony.calendar import bank_holidays
from telephony.engine import EngineProgress, map_practices
from telephony.errors import FrontdoorError
from telephony.privacy import mask_digits
from telephony.store import Store, validate_practice_id
from telephony.practices import FILE_NAME, codes_for_message, known_practices, read_practices

from demand.definitions import DEFAULT_TZ, MetricsInputError, check_grid, check_period_date, normalise_freq, to_utc_bound
from demand.appointments.schema import read_appointments
from demand.callers import caller_metrics_daily, caller_metrics_hourly
from demand.capacity import capacity_metrics, check_by, same_day_exhaustion
from demand.demand_capacity import demand_capacity, monday_profile
from demand.queue import nhs_metrics, queue_metrics
from demand.slots import prepare_slots
from demand.workforce import consultation_length, continuity, skill_mix

__all__ = [
    "METRIC_KINDS",
    "NoMetricsDataError",
    "read_metrics",
    "measure_practice",
    "format_metrics",
    "TABLE_COLUMNS",
]

METRIC_KINDS: tuple[str, ...] = (
    "queue",
    "callers",
    "capacity",
    "pressure",
    "monday",
    "nhs",
    "skill_mix",
    "consultation",
    "continuity",
)

# Intervals each kind can be reported in; the first is the default. None: not by interval.
KIND_FREQS: dict[str, tuple[str, ...] | None] = {
    "queue": ("D", "15min", "30min", "h", "W", "MS"),
    "callers": ("D", "h"),
    "capacity": ("D",),
    "pressure": ("D",),
    "monday": None,
    "nhs": ("MS",),
    "skill_mix": ("MS",),
    "consultation": None,
    "continuity": ("MS",),
}
_FREQ_WORDS = {"15min": "15min", "30min": "30min", "h": "hour", "D": "day", "W": "week", "MS": "month"}

# Columns each kind reads from the store (fewer columns read faster).
_CALLS_QUEUE = ["practice_id", "start_utc", "direction", "outcome", "wait_s", "talk_s"]
_CALLS_CALLERS = ["practice_id", "start_utc", "direction", "caller_key", "outcome", "wait_s"]
_CALLS_NHS = ["practice_id", "start_utc", "direction", "caller_key", "outcome", "wait_s", "talk_s"]
_NEEDS = {
    # kind: (reads calls, reads slots)
    "queue": (True, False),
    "callers": (True, False),
    "capacity": (False, True),
    "pressure": (True, True),
    "monday": (True, True),
    "nhs": (True, False),
    "skill_mix": (False, True),
    "consultation": (False, True),
    "continuity": (False, True),
}


class NoMetricsDataError(FrontdoorError, LookupError):
    """Nothing to measure: an unknown practice, no calls or slots in the period, no list size."""


# ----------------------------------------------------------------------------- the period


def _as_date(value, name: str) -> _dt.date:
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    try:
        return _dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise MetricsInputError(f"The {name} {mask_digits(repr(value))} is not a date; write it as YYYY-MM-DD.") from None


def period_bounds(first_date, last_date) -> tuple[str, str]:
    """Naive local ``[start, end)`` bounds of whole days ``first_date`` to ``last_date`` inclusive.

    Raises
    ------
    MetricsInputError
        When ``last_date`` is before ``first_date``, either is not a date, or either lies
        outside the years measured (:data:`demand.definitions.PERIOD_YEARS`).
    """
    first = check_period_date(_as_date(first_date, "first date"), "first date")
    last = check_period_date(_as_date(last_date, "last date"), "last date")
    if last < first:
        raise MetricsInputError(f"The period is empty: the last date {last} is before the first date {first}.")
    return first.isoformat(), (last + _dt.timedelta(days=1)).isoformat()


# ----------------------------------------------------------------------------- practices


def _coverage(store: Store, table: str) -> dict[str, tuple[str, str]]:
    """First and last partition month of each practice in ``table`` (directory names only)."""
    out: dict[str, tuple[str, str]] = {}
    for pid, month, _path in store.partitions(table):
        lo, hi = out.get(pid, (month, month))
        out[pid] = (min(lo, month), max(hi, month))
    return out


def _resolve_practices(store: Store, practices) -> list[str]:
    """Validated practice ids, all known to the store (all of them when ``practices`` is None)."""
    known = known_practices(store)
    if practices is None or (not isinstance(practices, str) and len(list(practices)) == 0):
        # "all practices" are those with data: once national files are in the registry it holds
        # every practice in England, and a metric of a practice without calls is an error
        with_data = known_practices(store, registered=False)
        if not with_data:
            raise NoMetricsDataError(f"The store at {store.root} holds no practices yet: ingest some exports first.")
        return sorted(with_data)
    if isinstance(practices, str):
        practices = [practices]
    wanted = list(dict.fromkeys(validate_practice_id(p) for p in practices))
    unknown = [p for p in wanted if p not in known]
    if unknown:
        held = codes_for_message(known_practices(store, registered=False)) or "no practice with data"
        raise NoMetricsDataError(
            f"Unknown practice {', '.join(unknown)}: the store at {store.root} holds {held}."
        )
    return wanted


def _require_rows(store: Store, table: str, frame: pd.DataFrame, practices: list[str], first: str, last: str) -> None:
    """Raise :class:`NoMetricsDataError` naming each practice with no rows of ``table`` in the period."""
    have = set(frame["practice_id"].astype(str).unique()) if len(frame) else set()
    missing = [p for p in practices if p not in have]
    if not missing:
        return
    cover = _coverage(store, table)
    what = "calls" if table == "calls" else "appointment slots"
    parts = []
    for p in missing:
        if p in cover:
            lo, hi = cover[p]
            parts.append(f"{p} (its {what} cover {lo} to {hi})")
        else:
            parts.append(f"{p} (none in the store)")
    hint = "" if table == "calls" else "; ingest slot exports with 'frontdoor ingest appointments'"
    raise NoMetricsDataError(f"No {what} from {first} to {last} for {', '.join(parts)}{hint}.")


def _list_sizes(store: Store, practices: list[str]) -> dict[str, int]:
    reg = read_practices(store)
    sizes = dict(zip(reg["practice_id"].astype(str), reg["list_size"]))
    missing = [p for p in practices if sizes.get(p) is None or pd.isna(sizes.get(p))]
    if missing:
        raise NoMetricsDataError(
            f"No list size for {', '.join(missing)} in the practices registry ({store.root / FILE_NAME}): "
            "skill mix per 1,000 patients needs each practice's registered list size."
        )
    return {p: int(sizes[p]) for p in practices}


# ----------------------------------------------------------------------------- measuring


def _kind_freq(kind: str, freq: str | None) -> str | None:
    allowed = KIND_FREQS[kind]
    if freq is None:
        return allowed[0] if allowed else None
    canon = normalise_freq(freq)
    if allowed is None:
        raise MetricsInputError(f"{kind} is not reported by interval; leave out the interval ({freq!r}).")
    if canon not in allowed:
        words = " or ".join(_FREQ_WORDS[f] for f in allowed)
        raise MetricsInputError(f"{kind} is reported per {words}, not per {_FREQ_WORDS[canon]}.")
    return canon


def read_metrics(
    store: Store,
    kind: str,
    practices: Iterable[str] | str | None = None,
    first_date=None,
    last_date=None,
    freq: str | None = None,
    *,
    by_line: bool = False,
    service_s: float = 60,
    short_abandon_s: float = 10,
    nhs_by: str = "month",
    capacity_by: Iterable[str] | None = (),
    tz: str = DEFAULT_TZ,
    engine: str | None = None,
    workers: int | None = None,
    spark_master: str | None = None,
    progress: EngineProgress | None = None,
) -> pd.DataFrame:
    """Read what one metric needs from the store and compute it.

    Parameters
    ----------
    store : telephony.store.Store
    kind : str
        One of :data:`METRIC_KINDS` (see the module's table).
    practices : str or iterable of str, optional
        ODS codes; every practice the store knows (registry, calls or slots) when omitted.
    first_date, last_date : date or ``YYYY-MM-DD`` str
        The period, whole local days, **both included**.
    freq : str, optional
        Interval (``15min``, ``30min``, ``hour``, ``day``, ``week``, ``month`` or the names of
        :data:`demand.definitions.FREQS`); each kind accepts those in the module's table and
        defaults to the first of them.
    by_line : bool
        ``queue`` only: split by line.
    service_s, short_abandon_s : float
        ``queue`` only: service-level target and short-abandon threshold, seconds.
    nhs_by : {"month", "weekday", "hour"}
        ``nhs`` only: the grouping (weekday and hour profiles are per month).
    capacity_by : iterable of {"role", "mode", "category"}
        ``capacity`` only: breakdown within each session (``()``: session totals).
    tz : str
        IANA timezone of the wall clock (default ``Europe/London``).
    engine : {"local", "spark"}, optional
        Measure practice by practice (:func:`measure_practice`) on this engine
        (:func:`telephony.engine.map_practices`); omitted: all practices in one pass in
        this process.
    workers, spark_master, progress
        The engine's (:func:`telephony.engine.map_practices`).

    Returns
    -------
    pandas.DataFrame
        The metric function's frame, unchanged, except ``capacity``: the capacity rows with
        the day's same-day exhaustion joined on ``practice_id`` and ``date`` as
        ``day_same_day_released, day_same_day_booked, day_booked_time_unknown`` (int64),
        ``same_day_exhausted`` (bool) and ``same_day_exhausted_at`` (tz-aware local) — the
        day's figures, repeated on each of its rows.

    Raises
    ------
    NoMetricsDataError
        An unknown practice; a practice without calls (or slots, for the kinds that need
        them) in the period; ``skill_mix`` without a list size in the registry.
    MetricsInputError
        An unknown kind, an interval the kind is not reported in, a period whose last date
        is before its first or outside the years measured, a period whose intervals would be
        too many rows (:func:`demand.definitions.check_grid`: it says how many, and to take a
        longer interval or a shorter period), or any input error of the metric function.

    Notes
    -----
    Only the partitions (practice, month) that can hold rows of the period are opened, and
    only the columns the metric reads. ``continuity`` also reads the ``12`` months before the
    period: the usual GP of an appointment is found from the patient's earlier visits.
    ``monday`` leaves England's bank holidays out (:func:`demand.demand_capacity.monday_profile`'s
    ``exclude_dates``). ``pressure`` and ``monday`` need calls *and* slots for each practice.
    """
    if kind not in METRIC_KINDS:
        raise MetricsInputError(f"Unknown metric {kind!r}. Use one of: {', '.join(METRIC_KINDS)}.")
    freq = _kind_freq(kind, freq)
    if first_date is None or last_date is None:
        raise MetricsInputError("Give the period: a first and a last date (both included).")
    start, end = period_bounds(first_date, last_date)
    first_s, last_s = str(_as_date(first_date, "first date")), str(_as_date(last_date, "last date"))
    wanted = _resolve_practices(store, practices)
    lo, hi = to_utc_bound(start, tz), to_utc_bound(end, tz)
    # Before reading anything: one series per practice at least (lines can only add). The
    # Monday profile counts per hour of the period whatever the interval.
    grid_freq = "h" if kind == "monday" else freq
    if grid_freq is not None:
        n = len(wanted)
        check_grid(
            np.full(n, lo.as_unit("ns").value), np.full(n, hi.as_unit("ns").value - 1), np.arange(n), grid_freq, tz,
            fix="measure a shorter period" if kind == "monday" else None,
        )
    needs_calls, needs_slots = _NEEDS[kind]
    s_lo = lo
    if kind == "continuity":
        s_lo = to_utc_bound(pd.Timestamp(start) - pd.DateOffset(months=12), tz)
    call_cols = {"queue": _CALLS_QUEUE + (["line"] if by_line else []), "nhs": _CALLS_NHS}.get(kind, _CALLS_CALLERS)
    options = dict(kind=kind, first_date=first_s, last_date=last_s, freq=freq, by_line=by_line, service_s=service_s,
                   short_abandon_s=short_abandon_s, nhs_by=nhs_by, capacity_by=tuple(capacity_by or ()), tz=tz,
                   list_sizes=_list_sizes(store, wanted) if kind == "skill_mix" else None)

    if engine is not None:
        tables = (["calls"] if needs_calls else []) + (["appointments"] if needs_slots else [])
        # Before any work, from directory names: a practice without partitions of a table it needs.
        for table in tables:
            held = {pid for pid, _m, _p in store.partitions(table, wanted, s_lo if table == "appointments" else lo, hi)}
            _require_rows(store, table, pd.DataFrame({"practice_id": sorted(held)}), wanted, first_s, last_s)
        out = map_practices(
            measure_practice, store, wanted, tables=tables, engine=engine, workers=workers,
            spark_master=spark_master, progress=progress, period=(s_lo if needs_slots and not needs_calls else lo, hi),
            columns={"calls": call_cols}, **options,
        )
        have = pd.DataFrame({"practice_id": out["practice_id"].astype(str).unique() if len(out) else []})
        _require_rows(store, "calls" if needs_calls else "appointments", have, wanted, first_s, last_s)
        return out

    calls = slots = None
    if needs_calls:
        calls = store.read_calls(wanted, lo, hi, call_cols)
        _require_rows(store, "calls", calls, wanted, first_s, last_s)
    if needs_slots:
        slots = read_appointments(store, wanted, s_lo, hi)
        in_period = slots if kind != "continuity" else slots[slots["start_utc"] >= lo]
        _require_rows(store, "appointments", in_period, wanted, first_s, last_s)
    return _measure(calls, slots, **options)


def measure_practice(practice_id: str, frames: dict[str, pd.DataFrame], **options) -> pd.DataFrame:
    """One metric of one practice from its frames: the per-practice work of :func:`read_metrics`.

    The function :func:`telephony.engine.map_practices` maps over practices, locally or on
    Spark.

    Parameters
    ----------
    practice_id : str
    frames : dict
        ``calls`` and/or ``appointments`` of the practice, as the kind needs (the slots of
        ``continuity`` from 12 months before the period).
    **options
        ``kind``, ``first_date``, ``last_date`` (``YYYY-MM-DD``, both included), ``freq``
        (canonical), ``by_line``, ``service_s``, ``short_abandon_s``, ``nhs_by``,
        ``capacity_by``, ``tz`` and, for ``skill_mix``, ``list_sizes``, as
        :func:`read_metrics` passes them.

    Returns
    -------
    pandas.DataFrame
        The metric's rows for the practice (those :func:`read_metrics` gives for it).
    """
    return _measure(frames.get("calls"), frames.get("appointments"), **options)


def _measure(
    calls: pd.DataFrame | None,
    slots: pd.DataFrame | None,
    *,
    kind: str,
    first_date: str,
    last_date: str,
    freq: str | None,
    by_line: bool,
    service_s: float,
    short_abandon_s: float,
    nhs_by: str,
    capacity_by,
    tz: str,
    list_sizes: dict[str, int] | None,
) -> pd.DataFrame:
    """The one metric function of ``kind`` on the rows read for it."""
    start, end = period_bounds(first_date, last_date)
    if kind == "queue":
        return queue_metrics(calls, freq, by_line, short_abandon_s, service_s, tz, start, end)
    if kind == "callers":
        fn = caller_metrics_daily if freq == "D" else caller_metrics_hourly
        return fn(calls, tz, start, end)
    if kind == "nhs":
        return nhs_metrics(calls, nhs_by, tz, True, start, end)
    if kind == "capacity":
        return _capacity_with_exhaustion(slots, tz, start, end, capacity_by)
    if kind == "pressure":
        return demand_capacity(calls, slots, tz, start=start, end=end)
    if kind == "monday":
        # England's bank holidays (the registry does not yet say a practice's nation).
        days = bank_holidays("england", _as_date(first_date, "first date"), _as_date(last_date, "last date"))
        return monday_profile(calls, slots, tz, start, end, exclude_dates=sorted(days))
    if kind == "skill_mix":
        return skill_mix(slots, list_sizes, tz, start, end)
    if kind == "consultation":
        return consultation_length(slots, ("role", "mode"), tz, start, end)

    return continuity(slots, "most_seen", tz, 12, start, end)


def _capacity_with_exhaustion(slots: pd.DataFrame, tz: str, start, end, by) -> pd.DataFrame:
    by = check_by(by)
    prepared = prepare_slots(slots, tz, start, end, need=[b for b in by if b != "category"])  # once for both
    cap = capacity_metrics(prepared, tz, by, start, end)
    ex = same_day_exhaustion(prepared, tz, start, end)
    day = ex[["practice_id", "date"]].assign(
        day_same_day_released=ex["same_day_released"],
        day_same_day_booked=ex["same_day_booked"],
        day_booked_time_unknown=ex["booked_time_unknown"],
        same_day_exhausted=ex["exhausted"],
        same_day_exhausted_at=ex["exhausted_at"],
    )
    # both are keyed by the days that have any slot, so every capacity row finds its day
    return cap.merge(day, on=["practice_id", "date"], how="left", validate="many_to_one")


# ----------------------------------------------------------------------------- presenting

# What a terminal shows of each kind (csv and json get every column).
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "queue": (
        "practice_id", "line", "interval_start", "inbound_total", "offered", "answered", "callbacks",
        "abandoned", "short_abandons", "missed", "service_level", "abandonment_rate", "asa_s",
        "wait_p90_s", "mean_talk_s",
    ),
    "callers": (
        "practice_id", "date", "hour", "attempts", "unique_callers", "new_callers", "repeat_attempts",
        "redial_ratio", "got_through", "share_got_through", "never_got_through",
        "time_to_get_through_p50_s", "time_to_get_through_p90_s",
    ),
    "capacity": (
        "practice_id", "date", "session", "role", "mode", "category", "slots_offered", "booked",
        "available", "utilisation", "dna_rate", "lead_same_day", "same_day_exhausted_at",
    ),
    "pressure": (
        "practice_id", "date", "session", "attempts", "unique_callers", "new_callers",
        "same_day_released", "same_day_booked", "pressure_index", "same_day_exhausted_at",
        "turned_away_no_capacity", "turned_away_not_through", "turned_away",
    ),
    "monday": (
        "practice_id", "day_type", "hour", "days", "mean_attempts", "mean_new_callers",
        "mean_same_day_slots", "mean_same_day_booked", "monday_share_callers",
    ),
    "nhs": (
        "practice_id", "month", "weekday_name", "hour", "inbound_calls", "answered",
        "callbacks_requested", "missed", "abandoned", "ended_before_queue", "callbacks_made",
        "time_to_answer_median_s", "abandon_wait_mean_s", "mean_call_duration_s",
    ),
    "skill_mix": (
        "practice_id", "month", "role", "list_size", "appointments", "sessions",
        "appointments_per_1000", "sessions_per_1000",
    ),
    "consultation": (
        "practice_id", "role", "mode", "attended", "duration_mean_min", "duration_p50_min",
        "duration_p90_min",
    ),
    "continuity": (
        "practice_id", "month", "gp_appointments", "identified", "with_usual_gp_known",
        "with_usual_gp", "slicc", "full_history",
    ),
}
_PERCENT = ("service_level", "abandonment_rate", "share_got_through", "utilisation", "dna_rate", "slicc",
            "monday_share_callers", "monday_share_attempts")
_MONTH_COLUMNS = ("month",)


def _percent(v: np.ndarray) -> list[str]:
    return ["-" if np.isnan(x) else f"{100 * x:.1f}%" for x in v]


def _fixed(v: np.ndarray, digits: int) -> list[str]:
    return ["-" if np.isnan(x) else f"{x:.{digits}f}" for x in v]


def _timestamps_text(col: pd.Series, iso: bool, fmt_time: str = "%Y-%m-%d %H:%M") -> pd.Series:
    """Datetimes as text: a date when every value is a midnight, else a date and a time.

    ``iso`` writes what other tools parse (``2026-11-16T08:00:00+00:00``, local time with its
    UTC offset; ``2026-11-16`` for dates); otherwise what people read.
    """
    s = col
    local = s.dt.tz_localize(None) if isinstance(s.dtype, pd.DatetimeTZDtype) else s
    present = local.dropna()
    midnight = bool(len(present)) and bool((present == present.dt.normalize()).all())
    if midnight:
        text = local.dt.strftime("%Y-%m-%d")
    elif iso:
        text = local.dt.strftime("%Y-%m-%dT%H:%M:%S").astype(object)
        us = local.dt.microsecond.fillna(0).astype("int64").to_numpy()
        if (us != 0).any():  # as isoformat(): a fraction only where there is one
            text = text + pd.Series([f".{u:06d}" if u else "" for u in us], index=s.index)
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            # the UTC offset in force at each instant, as isoformat() writes it (+01:00)
            minutes = ((local - s.dt.tz_convert("UTC").dt.tz_localize(None)) // pd.Timedelta(minutes=1)).fillna(0)
            minutes = minutes.astype("int64")
            sign = np.where(minutes < 0, "-", "+")
            hhmm = [f"{m // 60:02d}:{m % 60:02d}" for m in np.abs(minutes.to_numpy())]
            text = text.astype(object) + pd.Series(sign, index=s.index).astype(object) + pd.Series(hhmm, index=s.index)
    else:
        text = local.dt.strftime(fmt_time)
    return text.astype(object).where(s.notna(), None)


def format_metrics(df: pd.DataFrame, kind: str, fmt: str = "table") -> pd.DataFrame:
    """Make a :func:`read_metrics` frame ready to print.

    Parameters
    ----------
    df : pandas.DataFrame
        A frame returned by :func:`read_metrics` for ``kind``.
    kind : str
        One of :data:`METRIC_KINDS`.
    fmt : {"table", "csv", "json"}
        ``csv``/``json``: every column, numbers untouched, times as ISO-8601 local time with
        the UTC offset (``2026-11-16T08:00:00+00:00``), dates as ``YYYY-MM-DD``, missing
        values empty (csv) or null (json). ``table``: the columns of :data:`TABLE_COLUMNS`,
        rates as percentages, seconds whole, other fractions rounded, times as local
        ``YYYY-MM-DD HH:MM`` (a time alone where the row's ``date`` says the day), months as
        ``YYYY-MM``, ``-`` where a value is undefined.

    Returns
    -------
    pandas.DataFrame
        Text-ready columns (a copy).
    """
    if kind not in TABLE_COLUMNS:
        raise MetricsInputError(f"Unknown metric {kind!r}. Use one of: {', '.join(METRIC_KINDS)}.")
    out = df.copy()
    if fmt != "table":
        for c in out.columns:
            if pd.api.types.is_datetime64_any_dtype(out[c]):
                out[c] = _timestamps_text(out[c], iso=True)
        return out
    out = out[[c for c in TABLE_COLUMNS[kind] if c in out.columns]]
    for c in out.columns:
        col = out[c]
        if pd.api.types.is_datetime64_any_dtype(col):
            if c in _MONTH_COLUMNS:
                local = col.dt.tz_localize(None) if isinstance(col.dtype, pd.DatetimeTZDtype) else col
                out[c] = local.dt.strftime("%Y-%m").astype(object).where(col.notna(), "-")
            elif c.endswith("_at") and "date" in out.columns:
                local = col.dt.tz_localize(None) if isinstance(col.dtype, pd.DatetimeTZDtype) else col
                same = local.dt.normalize() == pd.to_datetime(out["date"])
                text = np.where(same, local.dt.strftime("%H:%M"), local.dt.strftime("%Y-%m-%d %H:%M"))
                out[c] = pd.Series(text, index=out.index, dtype=object).where(col.notna(), "-")
            else:
                out[c] = _timestamps_text(col, iso=False).fillna("-")
        elif pd.api.types.is_float_dtype(col):
            v = col.to_numpy(dtype="float64", na_value=np.nan)
            if c in _PERCENT:
                out[c] = _percent(v)
            elif c.endswith("_s"):
                out[c] = _fixed(v, 0)
            elif c in ("list_size", "sessions"):
                out[c] = _fixed(v, 0)
            elif c.endswith("_ratio") or c.endswith("_index"):
                out[c] = _fixed(v, 2)
            else:
                out[c] = _fixed(v, 1)
        elif pd.api.types.is_bool_dtype(col):
            out[c] = np.where(col.to_numpy(dtype=bool), "yes", "no")
    return out
