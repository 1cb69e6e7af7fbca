"""The one forecast orchestration: a practice's series (from the store or a file), a model
from the registry, its forecast and its backtest.

``frontdoor forecast`` and ``frontdoor backtest``, the staffing plan
(:mod:`forecasting.planning.plan`) and the weekly report's outlook
(:mod:`forecasting.outlook`) all go through these functions, so a practice's series is made
and modelled one way. Functions named ``read_*`` read the store; nothing here writes.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Callable

import pandas as pd

from telephony.store import validate_practice_id

from forecasting.backtest import backtest
from forecasting.base import DS, ID, ForecastInputError, Model, freq_minutes, infer_freq
from forecasting.models import make_model
from forecasting.series import _freq, read_calendars, read_series, series_from_store

__all__ = [
    "MAX_HORIZON_WEEKS",
    "PlanError",
    "parse_horizon",
    "read_practice_series",
    "forecast_series",
    "backtest_series",
]

Progress = Callable[[str], None]

#: Furthest ahead a forecast reaches. A seasonal model two years out is already a guess; a
#: horizon of centuries (a slip of the keyboard) overflowed the time arithmetic or memory.
MAX_HORIZON_WEEKS = 104


class PlanError(ForecastInputError):
    """An argument of a planning command that cannot be used; the message says how to fix it."""


def _say(progress: Progress | None, msg: str) -> None:
    if progress is not None:
        progress(msg)


def parse_horizon(text: str | int, freq: str) -> int:
    """Periods of ``freq`` in a horizon: ``"1w"`` (weeks), ``"3d"`` (days) or a plain number of periods.

    Raises
    ------
    PlanError
        For anything else, a horizon shorter than one period, or one beyond
        :data:`MAX_HORIZON_WEEKS`.
    """
    per_day = 1440 // freq_minutes(_freq(freq))
    s = str(text).strip().lower()
    m = re.fullmatch(r"(\d+)\s*([wd]?)", s)
    if not m or int(m.group(1)) < 1:
        raise PlanError(f"Horizon {text!r} is not understood; give weeks (1w, 13w), days (3d) or a number of periods (168).")
    n = int(m.group(1)) * {"w": 7 * per_day, "d": per_day, "": 1}[m.group(2)]
    most = MAX_HORIZON_WEEKS * 7 * per_day
    if n > most:
        periods = {1: "daily", 24: "hourly"}.get(per_day, f"{1440 // per_day}-minute")
        raise PlanError(
            f"Horizon {text!r} is {n:,} {periods} periods, beyond the {MAX_HORIZON_WEEKS} weeks ({most:,} periods) "
            f"a forecast reaches; give a shorter horizon, e.g. 13w."
        )
    return n


def read_practice_series(
    store=None, practice: str | None = None, what: str = "offered", freq: str = "h", input_file: str | Path | None = None
) -> tuple[pd.DataFrame, object]:
    """A series to forecast and its calendar: one practice from the store, or a series file.

    Returns
    -------
    (pandas.DataFrame, Calendar mapping or None)
        The long frame (``unique_id, ds, y``) and the practices' calendars from the registry
        (``None`` for a file: the default calendar, England Mon–Fri 08:00–18:30).

    Raises
    ------
    PlanError
        Neither or both of a practice and a file.
    """
    if (practice is None) == (input_file is None):
        raise PlanError("Give either `practice` ODS (a practice in the store) or `input_file` FILE (a ds,y series), not both.")
    if input_file is not None:
        df = read_series(input_file, freq=freq)
        return df, None
    practice = validate_practice_id(practice)  # "a81001": the registry's calendar is under A81001
    df = series_from_store(store, practice, freq=freq, what=what)
    return df, read_calendars(store, [practice])


def _model(model: str | Model, calendar) -> Model:
    m = make_model(model) if isinstance(model, str) else model
    if calendar is not None:
        m.calendar = calendar
    return m


def forecast_series(
    df: pd.DataFrame, model: str | Model = "auto", horizon: str | int = "1w", calendar=None,
    level=(80, 95),
) -> tuple[pd.DataFrame, Model]:
    """Fit a model (by registry name) and forecast ``horizon`` after each series' end.

    Returns
    -------
    (pandas.DataFrame, Model)
        The model's ``predict`` frame and the fitted model (its ``spread_``, ``choices_``).
    """
    freq = infer_freq(df[DS], df[ID])
    h = parse_horizon(horizon, freq)
    m = _model(model, calendar)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        fc = m.fit(df).predict(h, level=level)
    return fc, m


def backtest_series(
    df: pd.DataFrame, models: list[str], horizon: str | int = "1w", windows: int = 8, calendar=None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Rolling-origin backtest of registry models, one after another; the tidy results.

    Windows are ``horizon`` apart (they tile the last ``windows x horizon`` periods).
    """
    freq = infer_freq(df[DS], df[ID])
    h = parse_horizon(horizon, freq)
    parts = []
    for i, name in enumerate(models, 1):
        _say(progress, f"[{i}/{len(models)}] backtesting {name} over {windows} windows of {h} periods")
        m = _model(name, calendar)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parts.append(backtest(df, {name: m}, h=h, n_windows=windows, level=(80,), calendar=calendar))
    out = pd.concat(parts, ignore_index=True)
    out.attrs = parts[0].attrs
    return out


