"""Seasonal average: the mean of the same weekday-and-time over the last k ordinary weeks.

On half-hourly bank call data a 4-week seasonal average beat MSTL, ETS and default Prophet
day-ahead, and beyond two or three days ahead it is hard to beat at all (Taylor 2008): the
baseline to keep in every comparison.
"""

from __future__ import annotations

import numpy as np

from forecasting.base import Future, Model, SeriesData, week_matrix
from forecasting.base import ForecastInputError

__all__ = ["SeasonalAverage"]


class SeasonalAverage(Model):
    """Mean of the same weekly slot over the last ``k`` weeks without a bank holiday.

    Parameters
    ----------
    k : int
        Number of weeks averaged (default 4).
    exclude_holiday_weeks : bool
        Leave out weeks (Monday–Sunday) containing a bank holiday: the days around a holiday
        are not ordinary (the day after surges), so they would bias the average. Default True.
    calendar, alias
        See :class:`forecasting.base.Model`.

    Notes
    -----
    - Forecast for a period: the mean of its slot's values in the latest ``k`` eligible weeks
      where that slot was open. When no eligible week has the slot open (a short history full
      of holidays) the holiday weeks are used after all; a slot never open forecasts 0.
    - In-sample fitted value: the same mean over the ``k`` eligible weeks *before* the
      period's week, i.e. a genuine forecast, so the dispersion is out-of-sample.
    """

    name = "seasonal_average"
    alias = "SeasonalAverage"
    min_weeks = 1.0

    def __init__(self, k: int = 4, exclude_holiday_weeks: bool = True, calendar=None, alias: str | None = None):
        super().__init__(calendar=calendar, alias=alias)
        if int(k) != k or k < 1:
            raise ForecastInputError(f"k must be a positive whole number of weeks, got {k!r}.")
        self.k = int(k)
        self.exclude_holiday_weeks = exclude_holiday_weeks

    def _matrices(self, s: SeriesData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mat, rows = week_matrix(s, s.y_open)
        ordinary = mat.copy()
        if self.exclude_holiday_weeks:
            hol_rows = np.unique(rows[s.calendar.is_bank_holiday(s.ds)])
            ordinary[hol_rows] = np.nan
        return mat, ordinary, rows

    def _trailing_means(self, mat: np.ndarray) -> np.ndarray:
        """Row ``i`` of the result: per column, the mean of the last ``k`` values in rows ``< i``.

        One extra row at the end holds the means over the whole matrix (the forecast).
        Vectorised over the columns (a half-hourly week has 336): cumulative sums indexed by
        how many values a column has seen, so each trailing mean is two look-ups.
        """
        n_rows, n_cols = mat.shape
        valid = ~np.isnan(mat)
        seen = np.cumsum(valid, axis=0)  # values in rows <= r
        total = np.cumsum(np.where(valid, mat, 0.0), axis=0)
        # by_count[j, c]: the sum of the first j values of column c
        by_count = np.zeros((n_rows + 1, n_cols))
        r, c = np.nonzero(valid)
        by_count[seen[r, c], c] = total[r, c]
        before = np.vstack([np.zeros((1, n_cols), dtype=seen.dtype), seen])  # values in rows < target
        lo = np.maximum(before - self.k, 0)
        cnt = before - lo
        sums = np.take_along_axis(by_count, before, axis=0) - np.take_along_axis(by_count, lo, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(cnt > 0, sums / np.where(cnt > 0, cnt, 1), np.nan)

    def _means(self, s: SeriesData) -> tuple[np.ndarray, np.ndarray]:
        mat, ordinary, rows = self._matrices(s)
        means = self._trailing_means(ordinary)
        if self.exclude_holiday_weeks:
            means = np.where(np.isnan(means), self._trailing_means(mat), means)
        return means, rows

    def _fit_series(self, s: SeriesData) -> np.ndarray:
        means, _ = self._means(s)
        return np.nan_to_num(means[-1], nan=0.0)

    def _forecast_series(self, s: SeriesData, state: np.ndarray, future: Future) -> np.ndarray:
        return state[s.slots(future.ds)]

    def _fitted_series(self, s: SeriesData, state) -> np.ndarray:
        means, rows = self._means(s)
        return means[rows, s.slots()]
