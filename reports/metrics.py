"""The demand metrics of one practice's reported week and the four before, computed once.

Several sections read the same metrics (the hourly callers feed the headline's busiest hour,
the arrival grids and the data-quality gaps; same-day exhaustion feeds the headline and the
capacity section), so :func:`week_metrics` computes them once, over one preparation of the
calls (:func:`demand.definitions.prepare_calls`), and each section module
(:mod:`reports.sections`) takes what it needs from a :class:`WeekMetrics`.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from demand.callers import caller_metrics_daily, caller_metrics_hourly
from demand.capacity import same_day_exhaustion
from demand.definitions import Prepared, prepare_calls
from forecasting.calendar import Calendar
from telephony.errors import FrontdoorError

from reports.inputs import COMPARE_WEEKS, ReportInputs, local_midnight_utc, practice_calendar
from reports.week import ReportWeek

__all__ = ["WeekMetrics", "week_metrics", "bank_holidays"]

_EMPTY_UTC = pd.Series([], dtype="datetime64[us, UTC]")


@dataclass
class WeekMetrics:
    """One practice's week measured once, for every measured section.

    Attributes
    ----------
    inputs : ReportInputs
        The practice's inputs (:meth:`ReportInputs.for_practice`).
    practice_id : str
    week : ReportWeek
        The reported week.
    window : ReportWeek
        The first of the weeks compared: :data:`~reports.inputs.COMPARE_WEEKS` before.
    calendar : Calendar or None
        The practice's calendar (``None`` when its registry hours cannot be read).
    holidays : dict
        Bank holidays (date to name) from the history's start to next week's end.
    week_holidays : dict
        Those in the reported week.
    calls, slots : pandas.DataFrame
        The calls from the window's start, the slots of the window's weeks.
    prepared : demand.definitions.Prepared or None
        The window's calls prepared once for every call metric (``None`` without calls).
    daily, hourly : pandas.DataFrame or None
        :func:`demand.callers.caller_metrics_daily` and ``_hourly`` of the window.
    exhaustion : pandas.DataFrame or None
        :func:`demand.capacity.same_day_exhaustion` of the window's slots.
    has_calls, has_slots : bool
        Whether the reported week has any call, any slot.
    """

    inputs: ReportInputs
    practice_id: str
    week: ReportWeek
    window: ReportWeek
    calendar: Calendar | None
    holidays: dict
    week_holidays: dict
    calls: pd.DataFrame
    slots: pd.DataFrame
    prepared: Prepared | None
    daily: pd.DataFrame | None
    hourly: pd.DataFrame | None
    exhaustion: pd.DataFrame | None
    has_calls: bool
    has_slots: bool

    @property
    def tz(self) -> str:
        return self.inputs.tz

    @property
    def start(self) -> str:
        """The window's first day (ISO), the metrics' ``start``."""
        return self.window.start.isoformat()

    @property
    def end(self) -> str:
        """The day after the reported week (ISO), the metrics' ``end``."""
        return self.week.end.isoformat()

    @property
    def week_hourly(self) -> pd.DataFrame | None:
        """:attr:`hourly`'s rows of the reported week."""
        if self.hourly is None:
            return None
        d = pd.to_datetime(self.hourly["date"]).dt.date
        return self.hourly.loc[((d >= self.week.start) & (d <= self.week.last)).to_numpy(dtype=bool)]

    def in_week(self, frame: pd.DataFrame, column: str = "date") -> pd.DataFrame:
        """Rows of a daily metric whose local ``column`` date lies in the reported week."""
        d = pd.to_datetime(frame[column]).dt.date
        return frame[(d >= self.week.start) & (d <= self.week.last)]


def bank_holidays(cal: Calendar | None, first: _dt.date, last: _dt.date) -> dict:
    """The calendar's bank holidays from ``first`` to ``last`` inclusive: date to name."""
    if cal is None:
        return {}
    bh = cal.bank_holidays(first, last)
    return {pd.Timestamp(d).date(): str(n) for d, n in zip(bh["date"], bh["name"])}


def week_metrics(inputs: ReportInputs, practice: str) -> WeekMetrics:
    """Measure one practice's week and the :data:`~reports.inputs.COMPARE_WEEKS` before.

    Parameters
    ----------
    inputs : ReportInputs
        From :func:`reports.inputs.read_report_inputs` (for this practice or a list holding it).
    practice : str
        ODS code.

    Returns
    -------
    WeekMetrics

    Notes
    -----
    Pure: works on ``inputs`` only. Every call metric of the window shares one preparation
    of the calls (:func:`demand.definitions.prepare_calls`).
    """
    inp = inputs.for_practice(practice)
    p, tz, week = inp.practices[0], inp.tz, inp.week
    w0 = week.shift(-COMPARE_WEEKS)
    start, end = w0.start.isoformat(), week.end.isoformat()
    calls, slots = inp.calls, inp.slots
    try:
        cal = practice_calendar(inp.registry, p)
    except FrontdoorError:  # hours that cannot be read: no closed days, no holidays, no gaps
        cal = None
    holidays = bank_holidays(cal, inp.history_start, week.end + _dt.timedelta(days=7))
    week_holidays = {d: n for d, n in holidays.items() if week.start <= d <= week.last}

    utc = calls["start_utc"] if len(calls) else _EMPTY_UTC
    cw = calls.loc[(utc >= local_midnight_utc(w0.start, tz)).to_numpy(dtype=bool)] if len(calls) else calls
    has_calls = bool((utc >= local_midnight_utc(week.start, tz)).to_numpy(dtype=bool).any())
    s_utc = slots["start_utc"] if len(slots) else _EMPTY_UTC
    week_end = local_midnight_utc(week.end, tz)
    s_window = ((s_utc >= local_midnight_utc(w0.start, tz)) & (s_utc < week_end)).to_numpy(dtype=bool)
    sw = slots.loc[s_window] if len(slots) else slots
    has_slots = bool(np.asarray((s_utc >= local_midnight_utc(week.start, tz)) & (s_utc < week_end), dtype=bool).any())

    prep = daily = hourly = None
    if len(cw):
        prep = prepare_calls(cw, tz, start, end)
        daily = caller_metrics_daily(prep, tz, start, end)
        hourly = caller_metrics_hourly(prep, tz, start, end)
    ex = same_day_exhaustion(sw, tz, start, end) if len(sw) else None
    return WeekMetrics(inp, p, week, w0, cal, holidays, week_holidays, cw, sw, prep, daily, hourly, ex, has_calls, has_slots)
