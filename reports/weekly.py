"""The weekly demand report: what a practice manager reads on Monday morning.

The report for a practice and an ISO week (``2026-W47``: Monday 16 to Sunday 22 November) is
built in three steps, so that a federation's reports share one read of the store:

1. :func:`read_report_inputs` reads, once, everything the reports of a list of practices
   need: their calls from ``history_weeks`` before the week to its end, their appointment
   slots to the end of the *next* week (what is already in the book), the practices
   registry and the ingest manifest.
2. :func:`build_weekly_report` (or :func:`build_weekly_reports` for a list) turns those
   frames into a :class:`WeeklyReport`: plain data (numbers, small frames, sentences and
   notes), computed by the demand metrics (:mod:`demand`) and the forecasting models
   (:mod:`forecasting`, see :mod:`reports.outlook`). Pure functions, no I/O.
3. :func:`write_weekly_report` renders it (:mod:`reports.charts`, :mod:`reports.html`) to one
   self-contained HTML file, and optionally a PDF (:mod:`reports.pdf`).

Sections, in the order of the page
----------------------------------
1. **Headline** (:class:`Headline`): the week's figures beside the week before and the four
   weeks before, and sentences computed from them.
2. **When demand arrives** (:class:`Arrival`): attempts and new callers by weekday × hour,
   the Monday profile, new callers against redials by hour.
3. **Demand against capacity** (:class:`Capacity`): per day and session, callers against
   same-day slots, when they ran out, turned-away demand; appointments by role and mode, DNAs.
4. **Next week** (:class:`reports.outlook.NextWeek`): forecasts with intervals, the
   highest-pressure sessions, the call-handler rota per half hour, clinician sessions per day.
5. **How last week's forecast did** (:class:`reports.outlook.ForecastCheck`).
6. **Data quality** (:class:`DataQuality`).

Every section degrades to a note (never an exception) when its data is missing: no calls
that week, no appointment export, too little history to forecast, forecasting not installed.

Definitions
-----------
Everything is local wall-clock time of ``tz`` (default ``Europe/London``); a week runs from
Monday 00:00 to the next Monday 00:00.

- *Calls*: every inbound call attempt (``inbound_total`` of :func:`demand.queue.queue_metrics`).
- *People who rang*: callers counted once per day each (:func:`demand.callers.caller_metrics_daily`'s
  ``unique_callers``, summed over the week's days): a patient ringing on Monday and Tuesday
  counts twice, one ringing twelve times on Monday once.
- *Answered, call-backs, abandoned*: inbound calls by outcome; *service level*: answered
  within 60 seconds over calls that queued (short abandons under 10 s left out), as
  :func:`~demand.queue.queue_metrics`.
- *Time to get through*: per caller-day, from the first attempt to the moment they were
  answered or accepted a call-back (:func:`~demand.callers.caller_metrics_daily`'s definition);
  the week's median and 90th percentile pool every identified caller-day that got through
  (not an average of daily medians).
- *Same-day capacity used*: same-day slots booked over same-day slots offered
  (:func:`demand.capacity.same_day_exhaustion`).
- *The four weeks before*: the four weeks before the reported week; counts are the average
  week, rates and times are pooled over those weeks. Weeks without any call are left out.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from demand.definitions import PERIOD_YEARS
from telephony.errors import FrontdoorError
from telephony.store import Store, validate_practice_id
from telephony.timeutil import DEFAULT_TZ, parse_week

from reports import text as T

__all__ = [
    "HISTORY_WEEKS",
    "ReportError",
    "ReportDataError",
    "ReportWeek",
    "report_week",
    "ReportInputs",
    "read_report_inputs",
    "read_last_complete_week",
    "HeadlineFigure",
    "Headline",
    "Arrival",
    "Capacity",
    "DataQuality",
    "WeekMeasures",
    "WeeklyReport",
    "measure_week",
    "build_weekly_report",
    "build_weekly_reports",
    "ReportFiles",
    "write_weekly_report",
    "write_weekly_reports",
    "default_report_name",
]

#: Weeks of history before the reported week read for comparisons, profiles and forecasts.
HISTORY_WEEKS = 12
#: Weeks before the reported week that the headline compares against.
COMPARE_WEEKS = 4
SERVICE_S = 60.0
SHORT_ABANDON_S = 10.0
#: An open hour with no call is reported as a likely gap when the same hour of the same
#: weekday averaged at least this many calls over the four weeks before.
GAP_MIN_USUAL = 8.0

_CALL_COLUMNS = [
    "practice_id", "start_utc", "source_format", "direction", "line", "caller_key", "outcome", "wait_s",
    "talk_s", "agent_key",
]
# patient_key is never read: nothing in a report needs to know who the patient was
_SLOT_COLUMNS = [
    "practice_id", "slot_id", "start_utc", "duration_min", "role", "mode", "status", "category", "booked_utc",
    "clinician_key",
]


class ReportError(FrontdoorError):
    """A report cannot be written (a bad week, no PDF printer); the message says how to fix it."""


class ReportDataError(ReportError, LookupError):
    """The store has nothing to report on: an unknown practice, no calls at all."""


# ============================================================================ the week


@dataclass(frozen=True)
class ReportWeek:
    """An ISO week: Monday ``start`` to the next Monday (exclusive), local days.

    Examples
    --------
    >>> w = report_week("2026-W47")
    >>> w.start, w.last, w.iso
    (datetime.date(2026, 11, 16), datetime.date(2026, 11, 22), '2026-W47')
    """

    start: _dt.date

    def __post_init__(self):
        if self.start.weekday() != 0:
            raise ReportError(f"A report week starts on a Monday; {self.start} is a {T.WEEKDAYS[self.start.weekday()]}.")
        # A year either side of those reported on, for the weeks a report reads before
        # (history) and after (forecast) the reported one, which report_week checks.
        if not PERIOD_YEARS[0] - 1 <= self.start.isocalendar()[0] <= PERIOD_YEARS[1] + 1:
            raise _outside(self.start)

    @property
    def end(self) -> _dt.date:
        """The Monday after (exclusive bound)."""
        return self.start + _dt.timedelta(days=7)

    @property
    def last(self) -> _dt.date:
        """The Sunday (last day included)."""
        return self.start + _dt.timedelta(days=6)

    @property
    def days(self) -> list[_dt.date]:
        return [self.start + _dt.timedelta(days=i) for i in range(7)]

    @property
    def iso(self) -> str:
        y, w, _ = self.start.isocalendar()
        return f"{y:04d}-W{w:02d}"

    @property
    def title(self) -> str:
        """``Week 47: 16–22 November 2026``."""
        return f"Week {self.start.isocalendar()[1]}: {T.date_range(self.start, self.last)}"

    def shift(self, weeks: int) -> "ReportWeek":
        try:
            return ReportWeek(self.start + _dt.timedelta(weeks=weeks))
        except OverflowError:  # past year 9999
            raise ReportError(f"There is no week {weeks:+d} weeks from {self.iso}.") from None


def _outside(monday: _dt.date) -> ReportError:
    year, week, _ = monday.isocalendar()
    return ReportError(
        f"The week {year:04d}-W{week:02d} is outside the years Frontdoor reports on ({PERIOD_YEARS[0]} to "
        f"{PERIOD_YEARS[1]}); check the year."
    )


def _reported_week(monday: _dt.date) -> ReportWeek:
    """The week starting ``monday``, if its ISO year is one reported on."""
    if not PERIOD_YEARS[0] <= monday.isocalendar()[0] <= PERIOD_YEARS[1]:
        raise _outside(monday)
    return ReportWeek(monday)


def report_week(value) -> ReportWeek:
    """The week a report is for: an ISO week (``2026-W47``), a date in it, or a ReportWeek.

    Raises
    ------
    telephony.errors.PeriodError
        For anything else (see :func:`telephony.timeutil.parse_week`).
    """
    if isinstance(value, ReportWeek):
        return value
    return _reported_week(parse_week(value))


# ============================================================================ reading the store


@dataclass
class ReportInputs:
    """Everything the reports of some practices read from the store (see :func:`read_report_inputs`).

    Attributes
    ----------
    week : ReportWeek
        The reported week.
    practices : tuple of str
        ODS codes asked for.
    calls : pandas.DataFrame
        Canonical calls of those practices from ``history_start`` to the end of the week
        (columns ``practice_id, start_utc, source_format, direction, line, caller_key,
        outcome, wait_s, talk_s, agent_key``).
    slots : pandas.DataFrame
        Canonical slots from ``history_start`` to the end of the week *after* (no
        ``patient_key``).
    registry : pandas.DataFrame
        The practices registry (:func:`telephony.practices.read_practices`).
    manifest : pandas.DataFrame
        Ingest manifest rows of those practices (calls and appointments).
    history_start : datetime.date
        First local day read.
    tz : str
    """

    week: ReportWeek
    practices: tuple[str, ...]
    calls: pd.DataFrame
    slots: pd.DataFrame
    registry: pd.DataFrame
    manifest: pd.DataFrame
    history_start: _dt.date
    tz: str = DEFAULT_TZ

    def for_practice(self, practice: str) -> "ReportInputs":
        """The same inputs restricted to one practice."""
        p = validate_practice_id(practice)
        return ReportInputs(
            self.week,
            (p,),
            _rows_of(self.calls, p),
            _rows_of(self.slots, p),
            self.registry,
            _rows_of(self.manifest, p),
            self.history_start,
            self.tz,
        )


def _rows_of(df: pd.DataFrame, practice: str) -> pd.DataFrame:
    if len(df) == 0:
        return df
    keep = (df["practice_id"].astype(str) == practice).to_numpy(dtype=bool)
    return df if keep.all() else df.loc[keep].reset_index(drop=True)


def _utc(day: _dt.date, tz: str) -> pd.Timestamp:
    return pd.Timestamp(day).tz_localize(tz, ambiguous=True, nonexistent="shift_forward").tz_convert("UTC")


def _known_practices(store: Store, registry: pd.DataFrame) -> set[str]:
    known = set(registry["practice_id"].astype(str))
    for table in ("calls", "appointments"):
        known |= {pid for pid, _m, _p in store.partitions(table)}
    return known


def read_report_inputs(
    store: Store,
    practices: Iterable[str] | str,
    week,
    history_weeks: int = HISTORY_WEEKS,
    tz: str = DEFAULT_TZ,
) -> ReportInputs:
    """Read what the weekly reports of ``practices`` need, once.

    Parameters
    ----------
    store : telephony.store.Store
    practices : str or iterable of str
        ODS codes.
    week : ReportWeek, str or date
        The reported week (``2026-W47`` or a date in it).
    history_weeks : int
        Weeks before the reported week to read (comparisons, the Monday profile, forecasts).
    tz : str
        The practices' wall clock.

    Returns
    -------
    ReportInputs

    Raises
    ------
    ReportDataError
        A practice the store has never heard of (neither registry, calls nor slots).
    InvalidPracticeError
        A practice id that is not an ODS code.
    """
    from demand.appointments.schema import read_appointments
    from telephony.practices import read_practices

    week = report_week(week)
    if isinstance(practices, str):
        practices = [practices]
    wanted = tuple(dict.fromkeys(validate_practice_id(p) for p in practices))
    if not wanted:
        raise ReportDataError("Name at least one practice to report on.")
    if int(history_weeks) < COMPARE_WEEKS:
        raise ReportError(f"history_weeks must be at least {COMPARE_WEEKS} (the headline compares four weeks).")
    registry = read_practices(store)
    known = _known_practices(store, registry)
    unknown = [p for p in wanted if p not in known]
    if unknown:
        held = ", ".join(sorted(known)) or "none"
        raise ReportDataError(f"Unknown practice {', '.join(unknown)}: the store at {store.root} holds {held}.")
    history_start = week.start - _dt.timedelta(weeks=int(history_weeks))
    lo, hi = _utc(history_start, tz), _utc(week.end, tz)
    calls = store.read_calls(list(wanted), lo, hi, _CALL_COLUMNS)
    slots = read_appointments(store, list(wanted), lo, _utc(week.end + _dt.timedelta(days=7), tz), _SLOT_COLUMNS)
    # The ingests whose rows are in the store (not those replaced by a re-ingest or removed).
    manifest = store.ingests()
    if len(manifest):
        manifest = manifest[manifest["status"] == "active"]
        keep = manifest["practice_id"].astype(str).isin(wanted) & manifest["table"].astype(str).isin(["calls", "appointments"])
        manifest = manifest.loc[keep.to_numpy(dtype=bool)].reset_index(drop=True)
    return ReportInputs(week, wanted, calls, slots, registry, manifest, history_start, tz)


def read_last_complete_week(store: Store, practice: str, tz: str = DEFAULT_TZ) -> ReportWeek:
    """The latest week of ``practice`` whose calls are complete in the store.

    The week holding the practice's last call counts as complete when every day after that
    call's day is one the practice is closed (its registry opening hours, or Monday to
    Friday; a Friday-evening export completes its week); otherwise it is the week before.

    Raises
    ------
    ReportDataError
        When the store holds no calls of the practice.
    """
    from telephony.practices import read_practices

    p = validate_practice_id(practice)
    months = sorted(m for pid, m, _ in store.partitions("calls") if pid == p)
    if not months:
        raise ReportDataError(f"The store at {store.root} holds no calls of {p}: ingest its call exports first.")
    last_month = months[-1]
    y, m = (int(x) for x in last_month.split("-"))
    lo = pd.Timestamp(year=y, month=m, day=1, tz="UTC") - pd.Timedelta(days=7)
    calls = store.read_calls([p], lo, None, ["practice_id", "start_utc"])
    last_day = calls["start_utc"].max().tz_convert(tz).date()
    hours = _open_weekdays(read_practices(store), p)
    after = [last_day + _dt.timedelta(days=i) for i in range(1, 7 - last_day.weekday())]
    week = report_week(last_day)
    if any(d.weekday() in hours for d in after):
        week = week.shift(-1)
    return week


def _open_weekdays(registry: pd.DataFrame, practice: str) -> set[int]:
    """Weekdays (0 = Monday) the practice's phones open, from its registry hours."""
    try:
        from forecasting.calendar import Calendar

        cal = _calendar(registry, practice, Calendar)
        return {d for d in range(7) if cal.hours.spans[d]}
    except (ImportError, FrontdoorError):
        return {0, 1, 2, 3, 4}


def _calendar(registry: pd.DataFrame, practice: str, calendar_cls=None):
    """The practice's :class:`forecasting.calendar.Calendar` from its registry hours."""
    from forecasting.series import calendars_from_registry

    rows = registry[registry["practice_id"].astype(str) == practice] if len(registry) else registry
    cals = calendars_from_registry(rows) if len(rows) else {}
    if practice in cals:
        return cals[practice]
    if calendar_cls is None:
        from forecasting.calendar import Calendar as calendar_cls
    return calendar_cls()


# ============================================================================ the sections


@dataclass
class HeadlineFigure:
    """One headline number beside its comparisons.

    ``kind`` says how to read it: ``count`` (a week's total), ``share`` (a fraction) or
    ``seconds``. ``previous`` is the week before; ``average`` the four weeks before (an
    average week for counts, pooled for shares and times); ``None`` when unknown.
    """

    key: str
    label: str
    kind: str
    value: float | None
    previous: float | None
    average: float | None
    help: str = ""


@dataclass
class Headline:
    """The week at a glance: figures, sentences, notes.

    Attributes
    ----------
    figures : list of HeadlineFigure
        Keys ``calls, people, answered, callbacks, abandoned, service_level, ttg_p50_s,
        ttg_p90_s, same_day_used``.
    sentences : list of str
        Plain-English statements computed from the numbers.
    busiest_hour : dict or None
        ``date, hour, attempts, new_callers, ttg_p50_s, ttg_p90_s`` of the hour with most
        attempts (people: callers whose first attempt of the day fell in the hour; times
        over those of them who got through).
    monday_hour : dict or None
        The same for Monday's busiest hour, when the week's busiest hour was not on Monday.
    average_weeks : int
        Weeks (of the four before) that had calls.
    notes : list of str
    """

    figures: list[HeadlineFigure]
    sentences: list[str]
    busiest_hour: dict | None
    average_weeks: int
    notes: list[str] = field(default_factory=list)
    monday_hour: dict | None = None
    other: dict = field(default_factory=dict)  # the week's further counts the sentences use (``missed``)

    def figure(self, key: str) -> HeadlineFigure:
        for f in self.figures:
            if f.key == key:
                return f
        raise KeyError(key)


@dataclass
class Arrival:
    """When demand arrives.

    Attributes
    ----------
    attempts, new_callers : pandas.DataFrame
        7 × 24 (index weekday 0 = Monday, columns local hour 0–23) of the week's inbound
        attempts and of callers ringing for the first time that day
        (:func:`demand.callers.caller_metrics_hourly`).
    by_hour : pandas.DataFrame
        ``hour, attempts, new_callers, repeat_attempts`` summed over the week.
    monday : pandas.DataFrame or None
        :func:`demand.demand_capacity.monday_profile` over the history (bank holidays left out).
    monday_period : tuple of date or None
        First and last day the profile averages.
    notes : list of str
    """

    attempts: pd.DataFrame
    new_callers: pd.DataFrame
    by_hour: pd.DataFrame
    monday: pd.DataFrame | None
    monday_period: tuple | None
    notes: list[str] = field(default_factory=list)


@dataclass
class Capacity:
    """Demand against capacity.

    Attributes
    ----------
    sessions : pandas.DataFrame or None
        :func:`demand.demand_capacity.demand_capacity` rows of the week (per day and session).
    days : pandas.DataFrame or None
        Per day: ``date, callers`` (people, once a day), ``attempts, same_day_released,
        same_day_booked, exhausted_at`` (local time or NaT), ``turned_away_no_capacity,
        turned_away_not_through, turned_away``.
    appointments : pandas.DataFrame or None
        ``role, mode, booked, slots_offered`` of the week (:func:`demand.capacity.capacity_metrics`).
    dna : pandas.DataFrame or None
        Per role: ``role, attended, dna, dna_rate``.
    notes : list of str
    """

    sessions: pd.DataFrame | None
    days: pd.DataFrame | None
    appointments: pd.DataFrame | None
    dna: pd.DataFrame | None
    notes: list[str] = field(default_factory=list)


@dataclass
class DataQuality:
    """What the numbers rest on.

    Attributes
    ----------
    days : pandas.DataFrame
        ``date, calls, slots, status`` for each day of the week: ``open``, ``closed``
        (outside the opening days), ``bank holiday: <name>``, or ``no calls`` (an open day
        without any call: probably missing data).
    gaps : list of str
        Open hours without a call that usually have several (probably missing data).
    ingests : pandas.DataFrame
        Ingests whose data overlaps the week: ``table, file, format, rows_read, written,
        duplicates, rejected, unknown_words`` (file names and words digit-masked).
    lines : pandas.DataFrame
        ``line, calls, share`` of the week's inbound calls.
    notes : list of str
    """

    days: pd.DataFrame
    gaps: list[str]
    ingests: pd.DataFrame
    lines: pd.DataFrame
    notes: list[str] = field(default_factory=list)


@dataclass
class WeekMeasures:
    """The measured sections of one practice's week (everything but the forecasts)."""

    practice_id: str
    week: ReportWeek
    headline: Headline
    arrival: Arrival
    capacity: Capacity
    quality: DataQuality
    has_calls: bool
    has_slots: bool
    bank_holidays: dict  # date -> name, in the week
    holidays: dict = field(default_factory=dict)  # date -> name, from the history's start to next week's end


@dataclass
class WeeklyReport:
    """One practice's weekly report as plain data (render it with :mod:`reports.html`)."""

    practice_id: str
    practice_name: str | None
    list_size: int | None
    week: ReportWeek
    tz: str
    headline: Headline
    arrival: Arrival
    capacity: Capacity
    next_week: object  # reports.outlook.NextWeek
    forecast_check: object  # reports.outlook.ForecastCheck
    quality: DataQuality
    generated: str | None = None

    @property
    def title(self) -> str:
        name = self.practice_name or self.practice_id
        return f"{name} ({self.practice_id}): weekly demand report, {self.week.title}"


# ============================================================================ measuring


def _prepared(calls: pd.DataFrame, tz: str, start, end):
    """Calls prepared once for every call metric of the same period (or the frame itself)."""
    try:
        from demand.definitions import prepare_calls
    except ImportError:  # an older demand without shared preparation: each metric prepares
        return calls
    return prepare_calls(calls, tz, start, end)


def _week_index(dates: pd.Series, start: _dt.date) -> np.ndarray:
    """Whole weeks from ``start`` to each local date (or tz-aware local start) of ``dates``."""
    d = pd.DatetimeIndex(dates)
    if d.tz is not None:
        d = d.tz_localize(None)  # the local wall-clock day, whatever the offset
    return np.asarray((d.normalize() - pd.Timestamp(start)).days // 7, dtype="int64")


def _times_to_get_through(prep, tz: str, start: _dt.date, n_weeks: int) -> dict:
    """Median and 90th percentile time to get through, pooled per week (and over the first
    ``n_weeks - 1`` weeks), by :func:`demand.callers.time_to_get_through`.

    Returns ``{"p50": array, "p90": array, "n": array}`` of length ``n_weeks + 1`` (the last
    entry pools weeks ``0 .. n_weeks - 2``: the weeks before).
    """
    from demand.callers import time_to_get_through

    def week(i: int) -> _dt.date:
        return start + _dt.timedelta(weeks=i)

    periods = [(week(i), week(i + 1)) for i in range(n_weeks)] + [(week(0), week(n_weeks - 1))]
    got = [time_to_get_through(prep, tz, a.isoformat(), b.isoformat()) for a, b in periods]
    return {
        "p50": np.array([g["median"] for g in got]),
        "p90": np.array([g["p90"] for g in got]),
        "n": np.array([g["n"] for g in got], dtype="int64"),
    }


def _bank_holidays(cal, first: _dt.date, last: _dt.date) -> dict:
    if cal is None:
        return {}
    bh = cal.bank_holidays(first, last)
    return {pd.Timestamp(d).date(): str(n) for d, n in zip(bh["date"], bh["name"])}


def measure_week(inputs: ReportInputs, practice: str) -> WeekMeasures:
    """Measure one practice's week: headline, arrival, capacity and data quality.

    Parameters
    ----------
    inputs : ReportInputs
        From :func:`read_report_inputs` (for this practice or a list holding it).
    practice : str
        ODS code.

    Returns
    -------
    WeekMeasures

    Notes
    -----
    Pure: works on ``inputs`` only. Every call metric of the comparison window (the week
    and the four before) shares one preparation of the calls
    (:func:`demand.definitions.prepare_calls`).
    """
    from demand.callers import caller_metrics_daily, caller_metrics_hourly
    from demand.capacity import same_day_exhaustion
    from demand.queue import queue_metrics

    inp = inputs.for_practice(practice)
    p, tz, week = inp.practices[0], inp.tz, inp.week
    w0 = week.shift(-COMPARE_WEEKS)
    start, end = w0.start.isoformat(), week.end.isoformat()
    calls, slots = inp.calls, inp.slots
    try:
        cal = _calendar(inp.registry, p)
    except (ImportError, FrontdoorError):
        cal = None
    holidays = _bank_holidays(cal, inp.history_start, week.end + _dt.timedelta(days=7))
    week_holidays = {d: n for d, n in holidays.items() if week.start <= d <= week.last}

    utc = calls["start_utc"] if len(calls) else pd.Series([], dtype="datetime64[us, UTC]")
    in_window = (utc >= _utc(w0.start, tz)).to_numpy(dtype=bool)
    cw = calls.loc[in_window] if len(calls) else calls
    in_week = (utc >= _utc(week.start, tz)).to_numpy(dtype=bool)
    has_calls = bool(in_week.any())
    s_utc = slots["start_utc"] if len(slots) else pd.Series([], dtype="datetime64[us, UTC]")
    s_window = ((s_utc >= _utc(w0.start, tz)) & (s_utc < _utc(week.end, tz))).to_numpy(dtype=bool)
    sw = slots.loc[s_window] if len(slots) else slots
    s_in_week = (s_utc >= _utc(week.start, tz)) & (s_utc < _utc(week.end, tz))
    has_slots = bool(np.asarray(s_in_week, dtype=bool).any())

    n_w = COMPARE_WEEKS + 1
    notes_h: list[str] = []
    if len(cw):
        prep = _prepared(cw, tz, start, end)
        qw = queue_metrics(prep, "W", short_abandon_s=SHORT_ABANDON_S, service_s=SERVICE_S, tz=tz, start=start, end=end)
        daily = caller_metrics_daily(prep, tz, start, end)
        hourly = caller_metrics_hourly(prep, tz, start, end)
        ttg = _times_to_get_through(prep, tz, w0.start, n_w)
    else:
        prep = qw = daily = hourly = None
        ttg = None

    # ---- weekly figures -------------------------------------------------------------------
    def weekly(frame, date_col, cols):
        """Sum ``cols`` of a metric's rows into the window's weeks (0 = four weeks before)."""
        if frame is None or len(frame) == 0:
            return {c: np.zeros(n_w) for c in cols}
        idx = _week_index(frame[date_col], w0.start)
        inside = (idx >= 0) & (idx < n_w)
        return {
            c: np.bincount(idx[inside], weights=frame[c].to_numpy(dtype="float64")[inside], minlength=n_w)
            for c in cols
        }

    q = weekly(qw, "interval_start", ["inbound_total", "answered", "callbacks", "abandoned", "missed", "offered",
                                     "short_abandons", "answered_within_service"])
    dsum = weekly(daily, "date", ["unique_callers"])
    if len(sw):
        ex = same_day_exhaustion(sw, tz, start, end)
        sd = weekly(ex, "date", ["same_day_released", "same_day_booked"])
    else:
        ex = None
        sd = {c: np.zeros(n_w) for c in ("same_day_released", "same_day_booked")}
    had_calls = q["inbound_total"][:COMPARE_WEEKS] > 0
    had_slots = sd["same_day_released"][:COMPARE_WEEKS] > 0
    n_avg = int(had_calls.sum())

    def trio_count(values, mask=had_calls):
        cur = float(values[COMPARE_WEEKS])
        prev = float(values[COMPARE_WEEKS - 1]) if mask[-1] else None
        avg = float(values[:COMPARE_WEEKS][mask].mean()) if mask.any() else None
        return cur, prev, avg

    def trio_ratio(num, den, mask=had_calls):
        def r(a, b):
            return float(a) / float(b) if b > 0 else None

        cur = r(num[COMPARE_WEEKS], den[COMPARE_WEEKS])
        prev = r(num[COMPARE_WEEKS - 1], den[COMPARE_WEEKS - 1]) if mask[-1] else None
        avg = r(num[:COMPARE_WEEKS][mask].sum(), den[:COMPARE_WEEKS][mask].sum()) if mask.any() else None
        return cur, prev, avg

    queued = q["offered"] - q["short_abandons"]
    figures = []

    def add(key, label, kind, trio, help_text):
        cur, prev, avg = trio
        if not has_calls:  # a week without a single call is missing data, not a quiet week
            cur = None
        figures.append(HeadlineFigure(key, label, kind, cur, prev, avg, help_text))

    add("calls", "Calls", "count", trio_count(q["inbound_total"]), "every inbound call attempt, whatever happened to it")
    add("people", "People who rang", "count", trio_count(dsum["unique_callers"]),
        "callers counted once a day each (a withheld number counts every time)")
    add("answered", "Answered", "count", trio_count(q["answered"]), "calls a person answered")
    add("callbacks", "Call-backs", "count", trio_count(q["callbacks"]), "calls that accepted a call-back offer")
    add("abandoned", "Abandoned", "count", trio_count(q["abandoned"]), "callers who hung up while queuing")
    add("service_level", "Answered within 60 s", "share", trio_ratio(q["answered_within_service"], queued),
        "share of queued calls answered within 60 seconds (hang-ups within 10 s left out)")
    if ttg is not None:
        def trio_t(key):
            v = ttg[key]
            cur = None if ttg["n"][COMPARE_WEEKS] == 0 else float(v[COMPARE_WEEKS])
            prev = None if not had_calls[-1] or ttg["n"][COMPARE_WEEKS - 1] == 0 else float(v[COMPARE_WEEKS - 1])
            avg = None if ttg["n"][n_w] == 0 else float(v[n_w])
            return cur, prev, avg
        t50, t90 = trio_t("p50"), trio_t("p90")
    else:
        t50 = t90 = (None, None, None)
    add("ttg_p50_s", "Time to get through: median", "seconds", t50,
        "from a caller's first attempt of the day to being answered or offered a call-back")
    add("ttg_p90_s", "Time to get through: 9 in 10 within", "seconds", t90, "the 90th percentile of the same")
    figures.append(
        HeadlineFigure(
            "same_day_used", "Same-day capacity used", "share",
            *trio_ratio(sd["same_day_booked"], sd["same_day_released"], had_slots),
            help="same-day slots booked of those offered",
        )
    )
    if not has_slots:
        figures[-1].value = None

    # ---- the week's hours -----------------------------------------------------------------
    wk_hourly = None
    if hourly is not None:
        d = pd.to_datetime(hourly["date"]).dt.date
        wk_hourly = hourly.loc[((d >= week.start) & (d <= week.last)).to_numpy(dtype=bool)]
    busiest = monday = None
    sentences: list[str] = []

    def hour_facts(row) -> dict:
        day = pd.Timestamp(row["date"]).date()
        from demand.callers import time_to_get_through

        at = pd.Timestamp(day) + pd.Timedelta(hours=int(row["hour"]))
        t = time_to_get_through(prep, tz, at, at + pd.Timedelta(hours=1))
        through = t["n"]
        return {
            "date": day,
            "hour": int(row["hour"]),
            "attempts": int(row["attempts"]),
            "new_callers": int(row["new_callers"]),
            "ttg_p50_s": t["median"] if through else None,
            "ttg_p90_s": t["p90"] if through else None,
            "got_through": through,
        }

    if has_calls and wk_hourly is not None and wk_hourly["attempts"].sum() > 0:
        ranked = wk_hourly.sort_values(["attempts", "interval_start"], ascending=[False, True], kind="stable")
        busiest = hour_facts(ranked.iloc[0])
        # NHS England's advice starts with Mondays: say how Monday's peak went too
        mondays = ranked[(pd.to_datetime(ranked["date"]).dt.day_of_week == 0).to_numpy() & (ranked["attempts"] > 0).to_numpy()]
        if len(mondays) and busiest["date"].weekday() != 0:
            monday = hour_facts(mondays.iloc[0])
    headline = Headline(figures, sentences, busiest, n_avg, notes_h, monday, {"missed": float(q["missed"][COMPARE_WEEKS])})
    _headline_sentences(headline, week, week_holidays, ex, has_calls, has_slots)
    if not has_calls:
        notes_h.append(_no_calls_note(inp, p, week))
    elif n_avg < COMPARE_WEEKS:
        notes_h.append(
            f"Only {T.plural(n_avg, 'week')} of the four before had calls in the store: the comparison averages "
            f"{'those' if n_avg else 'nothing'}."
        )
    if week_holidays:
        names = "; ".join(f"{T.day_label(d)} ({n})" for d, n in sorted(week_holidays.items()))
        notes_h.append(
            f"This week had a bank holiday: {names}. The practice was closed, so the week's totals are lower than a "
            "normal week's, and the day after usually surges like a Monday."
        )

    arrival = _arrival(inp, p, wk_hourly, holidays, has_calls, has_slots)
    capacity = _capacity(inp, p, cw, sw, ex, holidays, has_calls, has_slots)
    quality = _quality(inp, p, cal, hourly, daily, week_holidays, has_calls)
    return WeekMeasures(p, week, headline, arrival, capacity, quality, has_calls, has_slots, week_holidays, holidays)


def _no_calls_note(inp: ReportInputs, p: str, week: ReportWeek) -> str:
    m = inp.manifest
    cover = ""
    if len(m):
        c = m[m["table"].astype(str) == "calls"]
        if len(c):
            lo = c["first_utc"].min().tz_convert(inp.tz).date()
            hi = c["last_utc"].max().tz_convert(inp.tz).date()
            cover = f" Its calls in the store run from {T.day_label(lo)} {lo.year} to {T.day_label(hi)} {hi.year}."
    return (
        f"No calls of {p} in the store for {T.date_range(week.start, week.last)}: there is nothing to measure this "
        f"week.{cover} Ingest the week's call export ('frontdoor ingest calls') or choose another --week."
    )


def _headline_sentences(h: Headline, week: ReportWeek, holidays: dict, ex, has_calls: bool, has_slots: bool) -> None:
    f = {x.key: x for x in h.figures}
    out = h.sentences
    if has_calls:
        calls, people = f["calls"], f["people"]
        comp = []
        if calls.previous is not None:
            comp.append(f"{_more_less(calls.value, calls.previous)} the week before")
        if calls.average is not None:
            before = "four weeks" if h.average_weeks == COMPARE_WEEKS else T.plural(h.average_weeks, "week")
            comp.append(f"{_more_less(calls.value, calls.average)} the average of the {before} before")
        s = (
            f"In the week of {T.date_range(week.start, week.last)} the practice had "
            f"{T.plural(int(calls.value), 'call')} from {T.count(people.value)} people (each counted once a day)"
        )
        out.append(s + (": " + " and ".join(comp) if comp else "") + ".")
        for b, lead in ((h.busiest_hour, " was the busiest hour"), (h.monday_hour, "")):
            if b is None:
                continue
            s = (
                f"{T.WEEKDAYS[b['date'].weekday()]} {T.hour_range(b['hour'])}{lead}: "
                f"{T.plural(b['attempts'], 'attempt')} from {T.plural(b['new_callers'], 'person', 'people')} ringing "
                "for the first time that day"
            )
            if b["ttg_p50_s"] is not None:
                s += (
                    f"; half of those who got through did so {_within(b['ttg_p50_s'])}, "
                    f"and 9 in 10 {_within(b['ttg_p90_s'])}"
                )
            out.append(s + ".")
        tot = calls.value or 0
        if tot:
            parts = [f"{T.share(f['answered'].value / tot)} of calls were answered"]
            counts = {
                "accepted a call-back": f["callbacks"].value,
                "hung up while queuing": f["abandoned"].value,
                # ended by the system (timeout, nobody free); some suppliers log hang-ups so too
                "went unanswered otherwise": h.other.get("missed", 0.0),
            }
            parts += [f"{T.share(n / tot)} {words}" for words, n in counts.items() if n]
            listed = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
            out.append(
                f"{listed}; {T.share(f['service_level'].value)} of queued calls were answered within 60 seconds."
            )
        t50, t90 = f["ttg_p50_s"], f["ttg_p90_s"]
        if t50.value is not None:
            out.append(
                f"Across the week, half of the people who got through did so {_within(t50.value)} of their first "
                f"attempt, and 9 in 10 {_within(t90.value)}"
                + (f" (the week before: {_within(t90.previous)})" if t90.previous is not None else "")
                + "."
            )
    if has_slots and ex is not None and len(ex):
        used = f["same_day_used"]
        wk = ex[(pd.to_datetime(ex["date"]).dt.date >= week.start) & (pd.to_datetime(ex["date"]).dt.date <= week.last)]
        released, booked = int(wk["same_day_released"].sum()), int(wk["same_day_booked"].sum())
        s = f"Same-day appointments: {T.count(booked)} of {T.count(released)} booked ({T.share(used.value)})"
        ran_out = wk[wk["exhausted"].to_numpy(dtype=bool)]
        days_with = int((wk["same_day_released"] > 0).sum())
        if len(ran_out):
            at = ran_out["exhausted_at"].dropna()
            s += f"; they ran out on {len(ran_out)} of {T.plural(days_with, 'day')}"
            if len(at):
                first = at.min()
                s += f", the earliest at {first.strftime('%H:%M')} on {T.WEEKDAYS[first.weekday()]}"
        out.append(s + ".")


def _within(seconds) -> str:
    """``within 14 minutes``; ``within a minute`` below one (a queue of seconds is no wait)."""
    if seconds is None or T.missing(seconds):
        return "within an unknown time"
    return "within a minute" if float(seconds) <= 60 else f"within {T.duration(seconds, up=True)}"


def _more_less(value, reference) -> str:
    if value is None or reference is None or reference == 0:
        return "no comparison with"
    d = (float(value) - float(reference)) / float(reference)
    if abs(d) < 0.005:
        return "about the same as"
    return f"{T.share(abs(d))} {'more than' if d > 0 else 'fewer than'}"


def _arrival(inp: ReportInputs, p: str, wk_hourly, holidays: dict, has_calls: bool, has_slots: bool) -> Arrival:
    notes: list[str] = []
    hours = list(range(24))
    empty = pd.DataFrame(0, index=range(7), columns=hours, dtype="int64")
    if wk_hourly is not None and len(wk_hourly):
        wd = pd.to_datetime(wk_hourly["date"]).dt.day_of_week.to_numpy()
        hr = wk_hourly["hour"].to_numpy()
        cell = wd * 24 + hr  # the autumn change's two 01:00 hours add up in one cell

        def grid(col):
            v = np.bincount(cell, weights=wk_hourly[col].to_numpy(dtype="float64"), minlength=7 * 24)
            return pd.DataFrame(v.reshape(7, 24).astype("int64"), index=range(7), columns=hours)

        attempts, new = grid("attempts"), grid("new_callers")
        by_hour = pd.DataFrame(
            {
                "hour": hours,
                "attempts": attempts.sum(axis=0).to_numpy(),
                "new_callers": new.sum(axis=0).to_numpy(),
            }
        )
        by_hour["repeat_attempts"] = by_hour["attempts"] - by_hour["new_callers"]
    else:
        attempts, new = empty, empty.copy()
        by_hour = pd.DataFrame({"hour": hours, "attempts": 0, "new_callers": 0, "repeat_attempts": 0})
    if not has_calls:
        notes.append("No calls this week, so there is no pattern to show.")

    monday = period = None
    if has_calls and len(inp.slots):
        from demand.demand_capacity import monday_profile

        # the days the store has calls for, up to the week's end: days after the last call
        # are missing data, not quiet days, and would drag the averages down
        first = max(inp.history_start, inp.calls["start_utc"].min().tz_convert(inp.tz).date())
        last = inp.calls["start_utc"].max().tz_convert(inp.tz).date()
        start, end = first.isoformat(), (last + _dt.timedelta(days=1)).isoformat()
        excl = sorted(d for d in holidays if first <= d <= last)
        s_utc = inp.slots["start_utc"]
        slots = inp.slots.loc[((s_utc >= _utc(first, inp.tz)) & (s_utc < _utc(last + _dt.timedelta(days=1), inp.tz))).to_numpy(dtype=bool)]
        try:
            if len(slots):
                monday = monday_profile(inp.calls, slots, inp.tz, start, end, exclude_dates=excl)
                period = (first, last)
        except FrontdoorError as err:
            notes.append(f"The Monday profile could not be measured: {err}")
        if monday is not None:
            days = monday.groupby("day_type")["days"].first()
            if int(days.get("Monday", 0)) == 0:
                notes.append("No Monday in the history (bank holidays left out): no Monday profile.")
                monday = None
    if monday is None and not any("Monday profile" in n for n in notes):
        if not len(inp.slots):
            notes.append(
                "The Monday profile sets calls beside same-day appointments, and the store has no appointment slots "
                f"for {p}: ingest its slot export ('frontdoor ingest appointments') to see it."
            )
    return Arrival(attempts, new, by_hour, monday, period, notes)


def _capacity(inp: ReportInputs, p: str, cw, sw, ex, holidays: dict, has_calls: bool, has_slots: bool) -> Capacity:
    from demand.capacity import capacity_metrics
    from demand.demand_capacity import demand_capacity

    week, tz = inp.week, inp.tz
    notes: list[str] = []
    sessions = days = appointments = dna = None
    if not has_slots:
        notes.append(
            f"No appointment slots of {p} in the store for this week, so demand cannot be set against capacity. "
            "Ingest the clinical system's slot export ('frontdoor ingest appointments')."
        )
        return Capacity(None, None, None, None, notes)
    start, end = week.start.isoformat(), week.end.isoformat()
    s_utc = sw["start_utc"]
    ws = sw.loc[(s_utc >= _utc(week.start, tz)).to_numpy(dtype=bool)]
    if has_calls:
        try:
            sessions = demand_capacity(cw, sw, tz, start=start, end=end)
        except FrontdoorError as err:
            notes.append(f"Demand against capacity could not be measured: {err}")
    else:
        notes.append("No calls this week: capacity is shown without the demand it met.")
    wex = ex[(pd.to_datetime(ex["date"]).dt.date >= week.start) & (pd.to_datetime(ex["date"]).dt.date <= week.last)]
    if sessions is not None and len(sessions):
        g = sessions.groupby("date", as_index=False).agg(
            callers=("new_callers", "sum"),
            attempts=("attempts", "sum"),
            same_day_released=("same_day_released", "sum"),
            same_day_booked=("same_day_booked", "sum"),
            exhausted_at=("same_day_exhausted_at", "first"),
            turned_away_no_capacity=("turned_away_no_capacity", "sum"),
            turned_away_not_through=("turned_away_not_through", "sum"),
            turned_away=("turned_away", "sum"),
        )
        days = g
    elif len(wex):
        days = pd.DataFrame(
            {
                "date": wex["date"].to_numpy(),
                "same_day_released": wex["same_day_released"].to_numpy(),
                "same_day_booked": wex["same_day_booked"].to_numpy(),
                "exhausted_at": wex["exhausted_at"].to_numpy(),
            }
        )
    if days is not None and len(days):
        if not (pd.to_datetime(days["exhausted_at"]).notna()).any() and (wex["booked_time_unknown"] > 0).any():
            notes.append(
                "The slot export does not say when every same-day slot was booked, so when capacity ran out is unknown "
                "on some days (and nobody is counted as turned away for lack of capacity then)."
            )
    if len(ws):
        cm = capacity_metrics(ws, tz, ("role", "mode"), start, end)
        appointments = cm.groupby(["role", "mode"], as_index=False, sort=False)[["booked", "slots_offered"]].sum()
        appointments = appointments[(appointments["booked"] > 0) | (appointments["slots_offered"] > 0)].reset_index(drop=True)
        d = cm.groupby("role", as_index=False, sort=False)[["attended", "dna"]].sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            d["dna_rate"] = np.where(d["attended"] + d["dna"] > 0, d["dna"] / (d["attended"] + d["dna"]).where(lambda x: x > 0), np.nan)
        dna = d.reset_index(drop=True)
    return Capacity(sessions, days, appointments, dna, notes)


def _quality(inp: ReportInputs, p: str, cal, hourly, daily, week_holidays: dict, has_calls: bool) -> DataQuality:
    from telephony.privacy import mask_digits

    week, tz = inp.week, inp.tz
    notes: list[str] = []
    # days
    calls_by_day = {}
    if daily is not None and len(daily):
        for d, a in zip(pd.to_datetime(daily["date"]).dt.date, daily["attempts"]):
            calls_by_day[d] = int(a)
    slots_by_day = {}
    if len(inp.slots):
        sd = inp.slots["start_utc"].dt.tz_convert(tz).dt.date
        slots_by_day = sd.value_counts().to_dict()
    open_days = {d for d in range(7) if cal is None or cal.hours.spans[d]}
    rows = []
    for d in week.days:
        n = calls_by_day.get(d, 0)
        if d in week_holidays:
            status = f"bank holiday: {week_holidays[d]}"
        elif d.weekday() not in open_days:
            status = "closed"
        elif n == 0:
            status = "no calls"
        else:
            status = "open"
        rows.append({"date": d, "calls": n, "slots": int(slots_by_day.get(d, 0)), "status": status})
    days = pd.DataFrame(rows)
    missing_days = days[days["status"] == "no calls"]
    if has_calls and len(missing_days):
        names = ", ".join(T.day_label(d) for d in missing_days["date"])
        notes.append(
            f"No calls at all on {names}, an opening day: the export probably misses it. The week's totals, the "
            "comparisons and the forecasts treat it as a day without calls."
        )
    # hours that are usually busy and had nothing
    gaps: list[str] = []
    if hourly is not None and len(hourly) and cal is not None:
        h = hourly.assign(day=pd.to_datetime(hourly["date"]).dt.date)
        h = h[~h["day"].isin(list(week_holidays))]
        h = h.assign(weekday=pd.to_datetime(h["date"]).dt.day_of_week)
        before = h[h["day"] < week.start]
        usual = before.groupby(["weekday", "hour"])["attempts"].sum() / max(1, COMPARE_WEEKS)
        cur = h[(h["day"] >= week.start) & (h["day"] <= week.last)]
        ds = pd.DatetimeIndex(pd.to_datetime(cur["interval_start"]).dt.tz_localize(None))
        closed = cal.closed(ds, "h") if len(ds) else np.zeros(0, dtype=bool)
        day_calls = cur.groupby("day")["attempts"].transform("sum").to_numpy()
        for (i, r), shut, dc in zip(cur.iterrows(), closed, day_calls):
            u = float(usual.get((r["weekday"], r["hour"]), 0.0))
            if not shut and r["attempts"] == 0 and u >= GAP_MIN_USUAL and dc > 0:
                gaps.append(
                    f"{T.day_label(r['day'])} {T.clock(r['hour'])}{T.DASH}{T.clock((r['hour'] + 1) % 24)}: "
                    f"no calls (usually about {T.count(u)})"
                )
    # ingests overlapping the week
    m = inp.manifest
    if len(m):
        lo, hi = _utc(week.start, tz), _utc(week.end, tz)
        over = m[(m["first_utc"] < hi) & (m["last_utc"] >= lo)]
        ingests = pd.DataFrame(
            {
                "table": over["table"].astype(str).to_numpy(),
                "file": [mask_digits(x) for x in over["file_name"].astype(str)],
                "format": over["format"].astype(str).to_numpy(),
                "rows_read": over["rows_read"].to_numpy(),
                "written": over["written"].to_numpy(),
                "duplicates": over["duplicates"].to_numpy(),
                "rejected": over["rejected"].to_numpy(),
                "unknown_words": [mask_digits(x) if isinstance(x, str) else "" for x in over["unknown_words"]],
            }
        )
    else:
        ingests = pd.DataFrame(columns=["table", "file", "format", "rows_read", "written", "duplicates", "rejected", "unknown_words"])
    if len(ingests) and int(ingests["rejected"].sum()):
        notes.append(
            f"{T.plural(int(ingests['rejected'].sum()), 'row')} of the files covering this week were rejected at ingest "
            "(the reasons are in the store's rejects folder, phone digits masked)."
        )
    if len(ingests) and (ingests["unknown_words"].str.len() > 0).any():
        notes.append(
            "Some exports used outcome words Frontdoor does not know (listed below): those calls were kept with "
            "an assumed outcome. Check them, or add them to the format's mapping."
        )
    # lines
    c = inp.calls
    if len(c):
        wk = c[(c["start_utc"] >= _utc(week.start, tz)) & (c["direction"].astype(str) == "inbound")]
        line = wk["line"].astype(object).where(wk["line"].notna(), "unknown")
        vc = line.value_counts()
        lines = pd.DataFrame({"line": vc.index.astype(str), "calls": vc.to_numpy(dtype="int64")})
        total = lines["calls"].sum()
        lines["share"] = lines["calls"] / total if total else np.nan
        outcomes = set(wk["outcome"].astype(str))
        if len(wk) and not outcomes & {"closed", "ivr_abandoned"}:
            fmts = ", ".join(sorted(set(wk["source_format"].astype(str))))
            notes.append(
                f"The phone system's export ({fmts}) recorded no calls outside opening hours and no hang-ups in the "
                "phone menu: it may log only calls that reached a queue, so calls here count those."
            )
    else:
        lines = pd.DataFrame({"line": pd.Series([], dtype=str), "calls": pd.Series([], dtype="int64"), "share": pd.Series([], dtype=float)})
    return DataQuality(days, gaps, ingests, lines, notes)


# ============================================================================ building


def _registry_row(registry: pd.DataFrame, practice: str) -> dict:
    if not len(registry):
        return {}
    rows = registry[registry["practice_id"].astype(str) == practice]
    return {} if not len(rows) else rows.iloc[0].to_dict()


def build_weekly_report(
    inputs: ReportInputs,
    practice: str,
    model: str = "auto",
    forecast: bool = True,
    generated: str | None = None,
) -> WeeklyReport:
    """Build one practice's weekly report from inputs read once.

    Parameters
    ----------
    inputs : ReportInputs
        From :func:`read_report_inputs`.
    practice : str
        ODS code (one of ``inputs.practices``).
    model : str
        Forecasting model (:data:`forecasting.models.MODELS`; default ``auto``: per series,
        the best of seasonal average, seasonal naive and ETS by a short backtest).
    forecast : bool
        ``False`` leaves the two forecast sections out (with a note).
    generated : str, optional
        When the report was made, shown at the foot of the page.

    Returns
    -------
    WeeklyReport
    """
    from reports import outlook

    p = validate_practice_id(practice)
    if p not in inputs.practices:
        raise ReportDataError(f"{p} was not read: the inputs hold {', '.join(inputs.practices)}.")
    measures = measure_week(inputs, p)
    if forecast:
        next_week, check = outlook.forecast_week(inputs, p, measures, model)
    else:
        next_week, check = outlook.skipped("Forecasts were not asked for.")
    reg = _registry_row(inputs.registry, p)
    size = reg.get("list_size")
    return WeeklyReport(
        practice_id=p,
        practice_name=None if reg.get("name") is None or pd.isna(reg.get("name")) else str(reg["name"]),
        list_size=None if size is None or pd.isna(size) else int(size),
        week=inputs.week,
        tz=inputs.tz,
        headline=measures.headline,
        arrival=measures.arrival,
        capacity=measures.capacity,
        next_week=next_week,
        forecast_check=check,
        quality=measures.quality,
        generated=generated,
    )


def build_weekly_reports(
    inputs: ReportInputs,
    practices: Sequence[str] | None = None,
    model: str = "auto",
    forecast: bool = True,
    generated: str | None = None,
) -> list[WeeklyReport]:
    """:func:`build_weekly_report` for each practice (all of ``inputs.practices`` by default)."""
    return [build_weekly_report(inputs, p, model, forecast, generated) for p in (practices or inputs.practices)]


# ============================================================================ writing


@dataclass
class ReportFiles:
    """What :func:`write_weekly_report` wrote."""

    practice_id: str
    week: ReportWeek
    html: Path
    pdf: Path | None = None


def default_report_name(practice: str, week) -> str:
    """``frontdoor-report-A81001-2026-W47.html``."""
    return f"frontdoor-report-{validate_practice_id(practice)}-{report_week(week).iso}.html"


def _now_text() -> str:
    return pd.Timestamp.now(tz=DEFAULT_TZ).strftime("%d %B %Y %H:%M")


def _write_html(path: Path, html_text: str) -> None:
    """Write the page atomically: a reader never sees half a report."""
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(html_text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_weekly_report(
    store: Store,
    practice: str,
    week,
    out: str | Path | None = None,
    pdf: bool = False,
    model: str = "auto",
    history_weeks: int = HISTORY_WEEKS,
    tz: str = DEFAULT_TZ,
) -> ReportFiles:
    """Write one practice's weekly report as a self-contained HTML file (and a PDF).

    Parameters
    ----------
    store : telephony.store.Store
    practice : str
        ODS code.
    week : str, date or ReportWeek
        ``2026-W47`` or a date in the week.
    out : str or Path, optional
        The HTML file (default :func:`default_report_name` in the current folder); a folder
        gets the default name inside it.
    pdf : bool
        Also print it to ``<out>.pdf`` with headless Chromium (:func:`reports.pdf.write_pdf`).
    model, history_weeks, tz
        See :func:`build_weekly_report` and :func:`read_report_inputs`.

    Returns
    -------
    ReportFiles

    Raises
    ------
    ReportDataError
        An unknown practice.
    ReportError
        A bad week, or ``pdf`` without Chromium (the HTML is written first).
    """
    return write_weekly_reports(store, [practice], week, out, pdf, model, history_weeks, tz)[0]


def write_weekly_reports(
    store: Store,
    practices: Sequence[str],
    week,
    out: str | Path | None = None,
    pdf: bool = False,
    model: str = "auto",
    history_weeks: int = HISTORY_WEEKS,
    tz: str = DEFAULT_TZ,
) -> list[ReportFiles]:
    """Write the weekly report of each practice, reading the store once.

    ``out`` is the HTML file for a single practice, or a folder (default the current one)
    that receives :func:`default_report_name` for each.
    """
    from reports.html import render_weekly_html
    from reports.pdf import write_pdf

    week = report_week(week)
    practices = [validate_practice_id(p) for p in practices]
    inputs = read_report_inputs(store, practices, week, history_weeks, tz)
    generated = _now_text()
    written = []
    for report in build_weekly_reports(inputs, practices, model, True, generated):
        path = _out_path(out, report.practice_id, week, single=len(practices) == 1)
        _write_html(path, render_weekly_html(report))
        written.append(ReportFiles(report.practice_id, week, path))
    if pdf:
        for f in written:
            f.pdf = write_pdf(f.html, f.html.with_suffix(".pdf"))
    return written


def _out_path(out, practice: str, week: ReportWeek, single: bool) -> Path:
    name = default_report_name(practice, week)
    if out is None:
        return Path(name)
    out = Path(out)
    if out.is_dir() or not single or not out.suffix:
        return out / name
    return out
