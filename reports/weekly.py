"""The weekly demand report: what a practice manager reads on Monday morning.

The report for a practice and an ISO week (``2026-W47``: Monday 16 to Sunday 22 November) is
built in three steps, so that a federation's reports share one read of the store:

1. :func:`reports.inputs.read_report_inputs` reads, once, everything the reports of a list of
   practices need: their calls from ``history_weeks`` before the week to its end, their
   appointment slots to the end of the *next* week (what is already in the book), the
   practices registry and the ingest manifest.
2. :func:`build_weekly_report` (or :func:`build_weekly_reports` for a list) turns those
   frames into a :class:`WeeklyReport`: plain data (numbers, small frames, sentences and
   notes). The week is measured once (:func:`reports.metrics.week_metrics`, from the demand
   metrics), each section made by its module (:mod:`reports.sections`), and next week by
   :func:`forecasting.outlook.outlook_week`. Pure functions, no I/O.
3. :func:`write_weekly_report` renders it (:mod:`reports.charts`, :mod:`reports.html`) to one
   self-contained HTML file, and optionally a PDF (:mod:`reports.pdf`).

Sections, in the order of the page
----------------------------------
1. **Headline** (:class:`reports.sections.headline.Headline`): the week's figures beside the
   week before and the four weeks before, and sentences computed from them.
2. **When demand arrives** (:class:`reports.sections.arrival.Arrival`): attempts and new
   callers by weekday × hour, the Monday profile, new callers against redials by hour.
3. **Demand against capacity** (:class:`reports.sections.capacity.Capacity`): per day and
   session, callers against same-day slots, when they ran out, turned-away demand;
   appointments by role and mode, DNAs.
4. **Next week** (:class:`reports.sections.next_week.NextWeek`): forecasts with intervals,
   the highest-pressure sessions, the call-handler rota per half hour, clinician sessions
   per day.
5. **How last week's forecast did** (:class:`reports.sections.forecast_check.ForecastCheck`).
6. **Data quality** (:class:`reports.sections.quality.DataQuality`).

Every section degrades to a note (never an exception) when its data is missing: no calls
that week, no appointment export, too little history to forecast.

Everything is local wall-clock time of ``tz`` (default ``Europe/London``); a week runs from
Monday 00:00 to the next Monday 00:00. The definitions of the figures are in
:mod:`reports.sections.headline`.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import pandas as pd

from forecasting.base import ForecastInputError
from forecasting.outlook import PracticeHistory, check_model, outlook_week
from telephony.errors import FrontdoorError
from telephony.store import Store, validate_practice_id
from telephony.timeutil import DEFAULT_TZ

from reports.errors import ReportDataError
from reports.html import render_weekly_html
from reports.inputs import HISTORY_WEEKS, ReportInputs, practice_calendar, read_report_inputs
from reports.metrics import week_metrics
from reports.pdf import write_pdf
from reports.sections.arrival import Arrival, arrival
from reports.sections.capacity import Capacity, capacity
from reports.sections.forecast_check import ForecastCheck, forecast_check
from reports.sections.headline import Headline, headline
from reports.sections.next_week import NextWeek, next_week
from reports.sections.quality import DataQuality, data_quality
from reports.week import ReportWeek, report_week

__all__ = [
    "WeekMeasures",
    "WeeklyReport",
    "measure_week",
    "forecast_sections",
    "weekly_report",
    "build_weekly_report",
    "build_weekly_reports",
    "ReportFiles",
    "write_weekly_report",
    "write_weekly_reports",
    "default_report_name",
]


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
    next_week: NextWeek
    forecast_check: ForecastCheck
    quality: DataQuality
    generated: str | None = None

    @property
    def title(self) -> str:
        name = self.practice_name or self.practice_id
        return f"{name} ({self.practice_id}): weekly demand report, {self.week.title}"


# ============================================================================ building


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
    Pure: works on ``inputs`` only. The week's metrics are computed once
    (:func:`reports.metrics.week_metrics`) and shared by the sections.
    """
    m = week_metrics(inputs, practice)
    return WeekMeasures(
        m.practice_id, m.week, headline(m), arrival(m), capacity(m), data_quality(m), m.has_calls, m.has_slots,
        m.week_holidays, m.holidays,
    )


def _skipped(reason: str) -> tuple[NextWeek, ForecastCheck]:
    """Both forecast sections replaced by ``reason``."""
    return NextWeek(notes=[reason]), ForecastCheck(notes=[reason])


def forecast_sections(
    inputs: ReportInputs, measures: WeekMeasures, model: str = "auto"
) -> tuple[NextWeek, ForecastCheck]:
    """Next week and last week's check, from the outlook of the week after the reported one.

    Parameters
    ----------
    inputs : ReportInputs
        From :func:`read_report_inputs` (for the practice or a list holding it).
    measures : WeekMeasures
        The practice's measured week (:func:`measure_week`): whether it had calls, its bank
        holidays, its days without calls.
    model : str
        See :func:`build_weekly_report`.

    Returns
    -------
    (NextWeek, ForecastCheck)
        Both replaced by a note when nothing can be forecast (no calls this week, an unknown
        model, opening hours that cannot be read).
    """
    inp = inputs.for_practice(measures.practice_id)
    if not measures.has_calls:
        return _skipped(
            "No calls this week, so there is nothing to forecast from: forecasts start from the latest complete week."
        )
    try:
        check_model(model)
    except ForecastInputError as err:
        return _skipped(str(err))
    try:
        cal = practice_calendar(inp.registry, measures.practice_id)
    except FrontdoorError as err:
        return _skipped(f"The practice's opening hours cannot be read, so nothing can be forecast: {err}")
    history = PracticeHistory(measures.practice_id, inp.calls, inp.slots, cal, inp.week.start, inp.history_start, inp.tz)
    outlook = outlook_week(history, model)
    missing_day = bool((measures.quality.days["status"] == "no calls").any())
    return (
        next_week(outlook, inp.week, measures.holidays),
        forecast_check(outlook, bool(measures.bank_holidays), missing_day),
    )


def _registry_row(registry: pd.DataFrame, practice: str) -> dict:
    if not len(registry):
        return {}
    rows = registry[registry["practice_id"].astype(str) == practice]
    return {} if not len(rows) else rows.iloc[0].to_dict()


def weekly_report(
    inputs: ReportInputs,
    measures: WeekMeasures,
    forecasts: tuple[NextWeek, ForecastCheck],
    generated: str | None = None,
) -> WeeklyReport:
    """One practice's sections put together, with its name and list size from the registry.

    ``forecasts`` is :func:`forecast_sections`'s pair (next week, last week's check).
    """
    upcoming, check = forecasts
    reg = _registry_row(inputs.registry, measures.practice_id)
    name, size = reg.get("name"), reg.get("list_size")
    return WeeklyReport(
        practice_id=measures.practice_id,
        practice_name=None if name is None or pd.isna(name) else str(name),
        list_size=None if size is None or pd.isna(size) else int(size),
        week=inputs.week,
        tz=inputs.tz,
        headline=measures.headline,
        arrival=measures.arrival,
        capacity=measures.capacity,
        next_week=upcoming,
        forecast_check=check,
        quality=measures.quality,
        generated=generated,
    )


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

    Raises
    ------
    ReportDataError
        A practice that ``inputs`` were not read for.
    """
    p = validate_practice_id(practice)
    if p not in inputs.practices:
        raise ReportDataError(f"{p} was not read: the inputs hold {', '.join(inputs.practices)}.")
    measures = measure_week(inputs, p)
    forecasts = forecast_sections(inputs, measures, model) if forecast else _skipped("Forecasts were not asked for.")
    return weekly_report(inputs, measures, forecasts, generated)


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


def default_report_name(practice: str, week: ReportWeek | str | _dt.date) -> str:
    """``frontdoor-report-A81001-2026-W47.html``."""
    return f"frontdoor-report-{validate_practice_id(practice)}-{report_week(week).iso}.html"


def _now_text() -> str:
    return pd.Timestamp.now(tz=DEFAULT_TZ).strftime("%d %B %Y %H:%M")


def _write_html(path: Path, html_text: str) -> None:
    """Write the page atomically: a reader never sees half a report."""
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
    week: ReportWeek | str | _dt.date,
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
    week: ReportWeek | str | _dt.date,
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


def _out_path(out: str | Path | None, practice: str, week: ReportWeek, single: bool) -> Path:
    name = default_report_name(practice, week)
    if out is None:
        return Path(name)
    out = Path(out)
    if out.is_dir() or not single or not out.suffix:
        return out / name
    return out
