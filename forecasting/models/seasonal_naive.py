"""Weekly seasonal naive: each period repeats the same weekday-and-time of the latest open week.

The reference every other model has to beat. A closed period is not evidence (last week's bank
holiday says nothing about this Monday), so each slot repeats its latest *open* value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.base import Future, Model, SeriesData, week_matrix

__all__ = ["SeasonalNaive"]


class SeasonalNaive(Model):
    """Weekly seasonal naive forecast.

    Parameters
    ----------
    calendar : Calendar or mapping, optional
        See :class:`forecasting.base.Model`.
    alias : str, optional
        Output column (default ``SeasonalNaive``).

    Notes
    -----
    - Forecast for a period: the value of the latest open period in the same weekly slot
      (weekday and time) before the forecast origin; every week ahead repeats it. A slot that
      was never open forecasts 0.
    - In-sample fitted value (for the interval dispersion): the latest open value of the slot
      in an earlier week, which is exactly the one-week-ahead forecast, so the intervals are
      out-of-sample honest for horizons up to a week.
    """

    name = "seasonal_naive"
    alias = "SeasonalNaive"
    min_weeks = 1.0

    def _latest(self, s: SeriesData) -> tuple[np.ndarray, np.ndarray]:
        mat, rows = week_matrix(s, s.y_open)
        filled = pd.DataFrame(mat).ffill().to_numpy()
        return filled, rows

    def _fit_series(self, s: SeriesData) -> np.ndarray:
        filled, _ = self._latest(s)
        return np.nan_to_num(filled[-1], nan=0.0)

    def _forecast_series(self, s: SeriesData, state: np.ndarray, future: Future) -> np.ndarray:
        return state[s.slots(future.ds)]

    def _fitted_series(self, s: SeriesData, state) -> np.ndarray:
        filled, rows = self._latest(s)
        prev = np.vstack([np.full((1, filled.shape[1]), np.nan), filled[:-1]])
        return prev[rows, s.slots()]
