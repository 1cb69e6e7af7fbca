"""Reports: the weekly demand report a practice manager reads, built from the layers below.

``reports`` sits above :mod:`telephony`, :mod:`demand` and :mod:`forecasting` and composes
them; nothing below imports it. :mod:`reports.weekly` builds a report's data (pure functions
over frames read once from the store), :mod:`reports.charts` draws its figures,
:mod:`reports.html` writes the self-contained page and :mod:`reports.pdf` prints it.

>>> from reports import write_weekly_report                      # doctest: +SKIP
>>> write_weekly_report(store, "A81001", "2026-W47", "week47.html")  # doctest: +SKIP
"""

from reports.weekly import (
    ReportDataError,
    ReportError,
    ReportWeek,
    build_weekly_report,
    build_weekly_reports,
    report_week,
    read_last_complete_week,
    read_report_inputs,
    write_weekly_report,
    write_weekly_reports,
)

__all__ = [
    "ReportDataError",
    "ReportError",
    "ReportWeek",
    "build_weekly_report",
    "build_weekly_reports",
    "report_week",
    "read_last_complete_week",
    "read_report_inputs",
    "write_weekly_report",
    "write_weekly_reports",
]
