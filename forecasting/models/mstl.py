"""MSTL: daily and weekly seasonal components by repeated STL, plus a damped trend forecast.

statsmodels' ``MSTL`` takes several seasonal periods at once (ETS takes one), which is what a
half-hourly or hourly call series has: a day and a week.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.base import ForecastInputError, Future, Model, SeriesData, fill_closed

__all__ = ["MSTLModel"]


@dataclass
class _State:
    seasonal_by_slot: np.ndarray  # summed seasonal components of recent weeks, by weekly slot
    trend_forecast: object  # callable: days ahead -> daily trend level
    last_day: pd.Timestamp
    start: int  # first period of the window
    fitted: np.ndarray  # trend + last week's seasonal over the window


class MSTLModel(Model):
    """Multiple seasonal-trend decomposition (statsmodels ``MSTL``), clipped at 0.

    Parameters
    ----------
    window_weeks : int
        Weeks of history decomposed (default 12): recent enough to follow a changing
        shape, long enough for the weekly STL, and fast (MSTL's cost grows with length).
    damped : bool
        Forecast the trend with a damped additive trend (default); ``False`` holds it flat.
    seasonal_windows : tuple of int, optional
        Lengths of the seasonal smoothers, one per period (odd); statsmodels' default when
        omitted.
    iterate : int
        MSTL's passes over the seasonal components (default 2).
    seasonal_weeks : int
        Weeks of the seasonal component averaged into the forecast's shape (default 8).
    calendar, alias
        See :class:`forecasting.base.Model`.

    Notes
    -----
    1. Closed periods are filled first (:func:`forecasting.base.fill_closed`): always-closed
       slots with 0, a bank holiday with its slot's usual level, so holidays neither dent the
       trend nor imprint on the seasonal shape.
    2. Periods: ``[per_day, per_week]`` for sub-daily data, ``[7]`` for daily data.
    3. Seasonal forecast: each future period takes the summed seasonal components of its
       weekly slot averaged over the last ``seasonal_weeks`` weeks. The last cycle alone sits
       at the edge of STL's smoothers and is noisy: on synthetic hourly series it scored MASE
       0.82 against 0.75 for the 8-week mean, with 80% intervals covering 73% against 79%.
    4. Trend forecast: ``ExponentialSmoothing`` with an additive damped trend on the daily
       means of the trend component, forecast per day ahead (daily resolution keeps it fast
       and stops the trend reacting to one busy morning).
    5. Forecast = trend + seasonal, clipped at 0; closed periods are 0 (the contract).
    6. In-sample fitted values (for the intervals): trend + seasonal of the same slot a week
       earlier, as a week-ahead forecast would see it. Plain trend + seasonal has seen the
       data, and its 80% intervals covered under 70% in backtests.
    """

    name = "mstl"
    alias = "MSTL"
    min_weeks = 2.0
    # in-sample values have seen the data: intervals recalibrated on a held-out week
    holdout_days = 7

    def __init__(
        self,
        window_weeks: int = 12,
        damped: bool = True,
        seasonal_windows: tuple[int, ...] | None = None,
        iterate: int = 2,
        seasonal_weeks: int = 8,
        calendar=None,
        alias: str | None = None,
    ):
        super().__init__(calendar=calendar, alias=alias)
        if int(window_weeks) != window_weeks or window_weeks < 2:
            raise ForecastInputError(f"window_weeks must be a whole number of weeks, at least 2; got {window_weeks!r}.")
        if int(seasonal_weeks) != seasonal_weeks or seasonal_weeks < 1:
            raise ForecastInputError(f"seasonal_weeks must be a positive whole number, got {seasonal_weeks!r}.")
        self.window_weeks = int(window_weeks)
        self.damped = damped
        self.seasonal_windows = seasonal_windows
        self.iterate = iterate
        self.seasonal_weeks = int(seasonal_weeks)

    def _windows(self, periods: tuple[int, ...]):
        if self.seasonal_windows is None:
            return None
        w = tuple(self.seasonal_windows)
        return w[-len(periods) :] if len(w) >= len(periods) else None

    def _fit_series(self, s: SeriesData) -> _State:
        # statsmodels is heavy (about a second): imported when a model fits.
        from statsmodels.tsa.holtwinters import ExponentialSmoothing
        from statsmodels.tsa.seasonal import MSTL

        x = fill_closed(s, recent_weeks=self.window_weeks)
        start = max(0, len(x) - self.window_weeks * s.per_week)
        xw = x[start:]
        periods = (s.per_day, s.per_week) if s.per_day > 1 else (7,)
        if len(xw) < 2 * max(periods):
            raise ForecastInputError(
                f"Series {s.uid} has {len(xw)} periods; MSTL needs two full weeks ({2 * max(periods)} periods)."
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = MSTL(xw, periods=periods, windows=self._windows(periods), iterate=self.iterate).fit()
        seasonal = np.asarray(res.seasonal, dtype="float64")
        seasonal = seasonal.sum(axis=1) if seasonal.ndim == 2 else seasonal
        trend = np.asarray(res.trend, dtype="float64")
        slots = s.slots()[start:]
        recent = slice(max(0, len(xw) - self.seasonal_weeks * s.per_week), None)
        by_slot = np.bincount(slots[recent], weights=seasonal[recent], minlength=s.per_week) / np.maximum(
            np.bincount(slots[recent], minlength=s.per_week), 1
        )

        # the trend, per day
        days = pd.DatetimeIndex(s.ds[start:]).normalize().as_unit("ns").asi8
        udays, didx = np.unique(days, return_inverse=True)
        daily = np.bincount(didx.ravel(), weights=trend) / np.bincount(didx.ravel())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self.damped and len(daily) >= 10:
                tf = ExponentialSmoothing(daily, trend="add", damped_trend=True, initialization_method="estimated").fit()
                trend_forecast = tf.forecast
            else:
                last = float(daily[-1])
                trend_forecast = lambda n: np.full(n, last)  # noqa: E731
        # in-sample "fitted": the decomposition a week earlier, as a week-ahead forecast sees it
        lagged = np.full(len(xw), np.nan)
        lagged[s.per_week :] = (trend + seasonal)[: -s.per_week]
        return _State(by_slot, trend_forecast, pd.Timestamp(udays[-1]), start, lagged)

    def _forecast_series(self, s: SeriesData, state: _State, future: Future) -> np.ndarray:
        fdays = pd.DatetimeIndex(future.ds).normalize()
        ahead = ((fdays - state.last_day) // pd.Timedelta(days=1)).to_numpy().astype("int64")
        # the rest of the last (partial) day of history takes the first day's trend
        path = np.asarray(state.trend_forecast(max(int(ahead.max()), 1)), dtype="float64")
        level = path[np.maximum(ahead, 1) - 1]
        return np.maximum(level + state.seasonal_by_slot[s.slots(future.ds)], 0.0)

    def _fitted_series(self, s: SeriesData, state: _State) -> np.ndarray:
        out = np.full(len(s.y), np.nan)
        out[state.start :] = np.maximum(state.fitted, 0.0)
        return out
