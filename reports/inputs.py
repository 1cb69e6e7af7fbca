"""What a weekly report reads from the store, read once for any number of practices.

:func:`read_report_inputs` is the report's one read of the store: calls through
:meth:`telephony.store.Store.read_calls`, slots through
:func:`demand.appointments.schema.read_appointments`, the registry through
:func:`telephony.practices.read_practices` and the ingest manifest. Everything after it
(:mod:`reports.measures`, the sections, :mod:`forecasting.outlook`) works on the frames of a
:class:`ReportInputs` and reads nothing. :func:`read_last_complete_week` finds the week to
report on when none is named.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Iterable

import pandas as pd

from demand.appointments.schema import read_appointments
from demand.definitions import to_utc_bound
from forecasting.calendar import Calendar
from forecasting.series import calendars_from_registry
from telephony.errors import FrontdoorError
from telephony.practices import codes_for_message, known_practices, read_practices
from telephony.store import Store, validate_practice_id
from telephony.timeutil import DEFAULT_TZ

from reports.errors import ReportDataError, ReportError
from reports.week import ReportWeek, report_week

__all__ = [
    "HISTORY_WEEKS",
    "COMPARE_WEEKS",
    "ReportInputs",
    "read_report_inputs",
    "read_last_complete_week",
    "practice_calendar",
    "local_midnight_utc",
]

#: Weeks of history before the reported week read for comparisons, profiles and forecasts.
HISTORY_WEEKS = 12
#: Weeks before the reported week that the headline compares against.
COMPARE_WEEKS = 4

_CALL_COLUMNS = [
    "practice_id", "start_utc", "source_format", "direction", "line", "caller_key", "outcome", "wait_s",
    "talk_s", "agent_key",
]
# patient_key is never read: nothing in a report needs to know who the patient was
_SLOT_COLUMNS = [
    "practice_id", "slot_id", "start_utc", "duration_min", "role", "mode", "status", "category", "booked_utc",
    "clinician_key",
]


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


def local_midnight_utc(day: _dt.date, tz: str) -> pd.Timestamp:
    """The instant (UTC) a local day starts in ``tz``: the bound the report filters rows by."""
    return to_utc_bound(day, tz)


def practice_calendar(registry: pd.DataFrame, practice: str) -> Calendar:
    """The practice's :class:`forecasting.calendar.Calendar` from its registry hours.

    A practice missing from the registry, or without hours, gets the default calendar
    (England, Monday to Friday 08:00-18:30).

    Raises
    ------
    forecasting.calendar.CalendarError
        For registry hours that cannot be read.
    """
    rows = registry[registry["practice_id"].astype(str) == practice] if len(registry) else registry
    cals = calendars_from_registry(rows) if len(rows) else {}
    return cals[practice] if practice in cals else Calendar()


def read_report_inputs(
    store: Store,
    practices: Iterable[str] | str,
    week: ReportWeek | str | _dt.date,
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
    ReportError
        Fewer ``history_weeks`` than the headline compares.
    InvalidPracticeError
        A practice id that is not an ODS code.
    """
    week = report_week(week)
    if isinstance(practices, str):
        practices = [practices]
    wanted = tuple(dict.fromkeys(validate_practice_id(p) for p in practices))
    if not wanted:
        raise ReportDataError("Name at least one practice to report on.")
    if int(history_weeks) < COMPARE_WEEKS:
        raise ReportError(f"history_weeks must be at least {COMPARE_WEEKS} (the headline compares four weeks).")
    registry = read_practices(store)
    known = known_practices(store, registry)
    unknown = [p for p in wanted if p not in known]
    if unknown:
        held = codes_for_message(known_practices(store, registry, registered=False)) or "no practice with data"
        raise ReportDataError(f"Unknown practice {', '.join(unknown)}: the store at {store.root} holds {held}.")
    history_start = week.start - _dt.timedelta(weeks=int(history_weeks))
    lo, hi = local_midnight_utc(history_start, tz), local_midnight_utc(week.end, tz)
    calls = store.read_calls(list(wanted), lo, hi, _CALL_COLUMNS)
    book_end = local_midnight_utc(week.end + _dt.timedelta(days=7), tz)
    slots = read_appointments(store, list(wanted), lo, book_end, _SLOT_COLUMNS)
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
    p = validate_practice_id(practice)
    months = sorted(m for pid, m, _ in store.partitions("calls") if pid == p)
    if not months:
        raise ReportDataError(f"The store at {store.root} holds no calls of {p}: ingest its call exports first.")
    y, m = (int(x) for x in months[-1].split("-"))
    lo = pd.Timestamp(year=y, month=m, day=1, tz="UTC") - pd.Timedelta(days=7)
    calls = store.read_calls([p], lo, None, ["practice_id", "start_utc"])
    last_day = calls["start_utc"].max().tz_convert(tz).date()
    open_days = _open_weekdays(read_practices(store), p)
    after = [last_day + _dt.timedelta(days=i) for i in range(1, 7 - last_day.weekday())]
    week = report_week(last_day)
    if any(d.weekday() in open_days for d in after):
        week = week.shift(-1)
    return week


def _open_weekdays(registry: pd.DataFrame, practice: str) -> set[int]:
    """Weekdays (0 = Monday) the practice's phones open, from its registry hours."""
    try:
        cal = practice_calendar(registry, practice)
    except FrontdoorError:  # hours that cannot be read: the usual Monday to Friday
        return {0, 1, 2, 3, 4}
    return {d for d in range(7) if cal.hours.spans[d]}
