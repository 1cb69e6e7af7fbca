"""The week a report is for: an ISO week, Monday to Sunday in the practice's wall clock.

:func:`report_week` reads what people write (``2026-W47``, a date in the week) with
:func:`telephony.timeutil.parse_week` and checks the year against the years Frontdoor reports
on; :class:`ReportWeek` does the arithmetic (its days, the weeks before and after, its title).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from telephony.timeutil import PERIOD_YEARS, parse_week

from reports import text as T
from reports.errors import ReportError

__all__ = ["ReportWeek", "report_week"]


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
        """The week ``weeks`` weeks later (earlier when negative)."""
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


def report_week(value: "ReportWeek | str | _dt.date") -> ReportWeek:
    """The week a report is for: an ISO week (``2026-W47``), a date in it, or a ReportWeek.

    Raises
    ------
    telephony.errors.PeriodError
        For anything else (see :func:`telephony.timeutil.parse_week`).
    ReportError
        For a week outside the years Frontdoor reports on.
    """
    if isinstance(value, ReportWeek):
        return value
    monday = parse_week(value)
    if not PERIOD_YEARS[0] <= monday.isocalendar()[0] <= PERIOD_YEARS[1]:
        raise _outside(monday)
    return ReportWeek(monday)
