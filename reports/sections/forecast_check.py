"""Section 5, how last week's forecast did: the forecast made from the data up to the start of the
reported week, against what happened.

The numbers are :func:`forecasting.outlook.check_last_week`'s (through
:func:`forecasting.outlook.outlook_week`); this module puts them in the section's shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from forecasting.outlook import WeekOutlook

from reports.sections.next_week import could_not, model_words

__all__ = ["ForecastCheck", "forecast_check"]

_PERIODS = (("D", "daily", "day"), ("h", "hourly", "hour"))


@dataclass
class ForecastCheck:
    """Last week's forecast (made from data up to the start of the week) against what happened.

    Attributes
    ----------
    daily, hourly : pandas.DataFrame or None
        ``ds, actual, forecast, lo80, hi80, lo95, hi95, closed``.
    scores : dict
        ``daily_wape, hourly_wape`` (sum of absolute errors over the actual total, open
        periods), ``daily_mase``, ``daily_coverage_80, hourly_coverage_80`` (share of open
        periods inside the 80% interval), ``forecast_total, actual_total``
        (:func:`forecasting.backtest.score`).
    model : str or None
    notes : list of str
    """

    daily: pd.DataFrame | None = None
    hourly: pd.DataFrame | None = None
    scores: dict = field(default_factory=dict)
    model: str | None = None
    notes: list[str] = field(default_factory=list)


def forecast_check(outlook: WeekOutlook, had_bank_holiday: bool, had_missing_day: bool) -> ForecastCheck:
    """The check section of a report from the outlook made at the end of the reported week.

    Parameters
    ----------
    outlook : forecasting.outlook.WeekOutlook
    had_bank_holiday : bool
        The reported week had a bank holiday.
    had_missing_day : bool
        The reported week had an opening day without calls (see the data quality section).

    Returns
    -------
    ForecastCheck
    """
    check = ForecastCheck()
    for freq, label, period in _PERIODS:
        c = outlook.checks.get(freq)
        if c is None:  # the forecast itself failed: next week's section says why
            continue
        if c.error is not None:
            check.notes.append(could_not(f"Last week's forecast by {period}", c.error))
            continue
        setattr(check, label, c.frame)
        for key in ("wape", "coverage_80", "mase"):
            if key in c.scores:
                check.scores[f"{label}_{key}"] = c.scores[key]
        if freq == "D":
            check.scores["forecast_total"] = c.scores["forecast_total"]
            check.scores["actual_total"] = c.scores["actual_total"]
            check.model = model_words(outlook.calls[freq].model)
    if had_bank_holiday:
        check.notes.append(
            "Last week had a bank holiday: the forecast knew it (the practice calendar closes it) but the days "
            "around a holiday are harder to forecast."
        )
    if had_missing_day:
        check.notes.append(
            "Last week has an opening day without calls (see data quality): the errors on that day measure the "
            "missing export, not the forecast."
        )
    return check
