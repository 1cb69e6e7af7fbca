"""Reports: the weekly demand report a practice manager reads, built from the layers below.

``reports`` sits above :mod:`telephony`, :mod:`demand` and :mod:`forecasting` and composes
them; nothing below imports it. The rooms, from the bottom:

- :mod:`reports.text` (how numbers and dates read), :mod:`reports.errors`,
  :mod:`reports.week` (the ISO week reported on);
- :mod:`reports.inputs`: the one read of the store (:func:`read_report_inputs`);
- :mod:`reports.metrics`: the week's demand metrics, computed once;
- :mod:`reports.sections`: one module per section of the page; next week's numbers come from
  :mod:`forecasting.outlook`;
- :mod:`reports.charts` draws the figures, :mod:`reports.html` writes the self-contained
  page, :mod:`reports.pdf` prints it;
- :mod:`reports.weekly` builds a report's data and writes its files.

>>> from reports import write_weekly_report                      # doctest: +SKIP
>>> write_weekly_report(store, "A81001", "2026-W47", "week47.html")  # doctest: +SKIP
"""

from reports.errors import ReportDataError, ReportError
from reports.inputs import ReportInputs, read_last_complete_week, read_report_inputs
from reports.week import ReportWeek, report_week
from reports.weekly import (
    WeeklyReport,
    build_weekly_report,
    build_weekly_reports,
    write_weekly_report,
    write_weekly_reports,
)

__all__ = [
    "ReportDataError",
    "ReportError",
    "ReportWeek",
    "ReportInputs",
    "WeeklyReport",
    "build_weekly_report",
    "build_weekly_reports",
    "report_week",
    "read_last_complete_week",
    "read_report_inputs",
    "write_weekly_report",
    "write_weekly_reports",
]
