"""Exponential smoothing (Holt's damped trend) on calendar-adjusted daily totals, times an
intraday profile.

Why not Holt-Winters straight on the periods: an hourly series has a weekly season of 168
periods, which statsmodels' ETS handles badly (slow, and pathological on long hourly series),
and closed nights, weekends and bank holidays are zeros that corrupt a multiplicative seasonal
state and drag the level down after every holiday. So the model works the way call centres
plan: forecast each open day's total, then share it over the day by the intraday profile of
that kind of day.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.base import ForecastInputError, Future, Model, SeriesData

__all__ = ["ETS"]

_AFTER = 7  # day type of the first open day after a bank holiday


@dataclass
class _State:
    factors: tuple  # (7 weekday factors, day-after uplift or None: Monday's factor)
    profiles: np.ndarray  # 8 x per_day intraday shares
    level_forecast: object  # callable: n open days ahead -> adjusted totals
    fitted_days: pd.DatetimeIndex
    fitted_adjusted: np.ndarray  # one-step fitted adjusted totals of the open days


class ETS(Model):
    """Damped-trend exponential smoothing of open-day totals, with weekday and intraday shape.

    Parameters
    ----------
    damped : bool
        Damped additive trend (default). ``False`` fits simple exponential smoothing (level
        only), which is steadier on short or flat series.
    window_weeks : int
        Weeks of history used for the weekday factors and intraday profiles (default 12).
        The smoothing itself uses the whole history.
    calendar, alias
        See :class:`forecasting.base.Model`.

    Notes
    -----
    1. Each open day's total is the sum of its open periods. Day types are the weekdays, plus
       "the first open day after a bank holiday", which surges like a Monday.
    2. Day-type factors: the Poisson maximum-likelihood fit of ``total = week level x
       factor[day type]`` over the last ``window_weeks`` weeks (iterative proportional
       fitting, so weeks with a closed day do not bias it), normalised to mean 1 over the
       ordinary weekday types seen. Days after a bank holiday are rare, so their uplift over
       their own weekday is fitted on the whole history (with at least 3 of them; with
       fewer such a day is given Monday's factor).
    3. ``statsmodels.tsa.holtwinters.ExponentialSmoothing`` (additive damped trend, no
       seasonal) on the sequence of adjusted open-day totals ``total / factor``: closed days
       are skipped, so a holiday never pulls the level down. Forecast the next open days,
       multiply back by their factors.
    4. Sub-daily: each period gets its day's total times the share of the day that its slot
       carried on that day type over the window (the day after a holiday takes Monday's
       shape).
    5. In-sample fitted values (for the intervals) are the smoother's one-step-ahead values
       times factor and profile: optimistic for several days ahead, which the residual spread
       partly absorbs (see the backtest's coverage).
    """

    name = "ets"
    alias = "ETS"
    min_weeks = 2.0

    def __init__(self, damped: bool = True, window_weeks: int = 12, calendar=None, alias: str | None = None):
        super().__init__(calendar=calendar, alias=alias)
        if int(window_weeks) != window_weeks or window_weeks < 1:
            raise ForecastInputError(f"window_weeks must be a positive whole number, got {window_weeks!r}.")
        self.damped = damped
        self.window_weeks = int(window_weeks)

    # --- days ------------------------------------------------------------------------------

    @staticmethod
    def _day_types(s: SeriesData, days: pd.DatetimeIndex) -> np.ndarray:
        types = np.asarray(days.day_of_week, dtype="int64")
        return np.where(s.calendar.day_after_bank_holiday(days), _AFTER, types)

    @staticmethod
    def _daily(s: SeriesData) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray, np.ndarray]:
        """Days of the series, their open totals, open flags and each period's day index.

        A day the series only partly covers (it starts or ends mid-day) counts as not open:
        its total is not a day's.
        """
        day_of = pd.DatetimeIndex(s.ds).normalize()
        days, idx = np.unique(day_of.as_unit("ns").asi8, return_inverse=True)
        idx = idx.ravel()
        totals = np.bincount(idx, weights=np.where(s.closed, 0.0, s.y), minlength=len(days))
        open_day = np.bincount(idx, weights=s.open.astype(float), minlength=len(days)) > 0
        open_day &= np.bincount(idx, minlength=len(days)) == s.per_day
        return pd.DatetimeIndex(days.view("M8[ns]")), totals, open_day, idx

    @staticmethod
    def _ipf(totals: np.ndarray, types: np.ndarray, week: np.ndarray) -> np.ndarray:
        """Poisson fit of ``total = week level x factor[type]`` (8 types; 1 where unseen)."""
        wk, w_idx = np.unique(week, return_inverse=True)
        w_idx = w_idx.ravel()
        fac = np.ones(8)
        seen = np.bincount(types, minlength=8) > 0
        for _ in range(50):
            level = np.bincount(w_idx, weights=totals, minlength=len(wk)) / np.maximum(
                np.bincount(w_idx, weights=fac[types], minlength=len(wk)), 1e-12
            )
            num = np.bincount(types, weights=totals, minlength=8)
            den = np.bincount(types, weights=level[w_idx], minlength=8)
            new = np.where(seen & (den > 0), num / np.where(den > 0, den, 1), 1.0)
            ordinary = seen[:7]
            mean = new[:7][ordinary].mean() if ordinary.any() else 1.0
            new = new / mean if mean > 0 else new
            done = np.allclose(new, fac, rtol=1e-6, atol=1e-9)
            fac = new
            if done:
                break
        return np.maximum(fac, 1e-3)

    def _factors(self, days, totals, open_day, types) -> tuple[np.ndarray, float | None]:
        """Weekday factors over the window, and the day-after uplift over the whole history."""
        week = (days.as_unit("ns").asi8 // (86400 * 10**9) - 4) // 7  # weeks from Monday 5 Jan 1970
        recent = open_day & (days >= days[-1] - pd.Timedelta(weeks=self.window_weeks))
        fac = self._ipf(totals[recent], types[recent], week[recent])[:7]
        after = open_day & (types == _AFTER)
        if after.sum() < 3:
            return fac, None
        full = self._ipf(totals[open_day], types[open_day], week[open_day])
        weekday = np.asarray(days.day_of_week)[after]
        return fac, float(full[_AFTER] / full[weekday].mean())

    @staticmethod
    def _day_factors(state_or_pair, types: np.ndarray, weekday: np.ndarray) -> np.ndarray:
        fac, uplift = state_or_pair
        after = fac[0] if uplift is None else fac[weekday] * uplift
        return np.where(types == _AFTER, after, fac[np.minimum(types, 6)])

    def _profiles(self, s: SeriesData, days, idx, types) -> np.ndarray:
        per_day = s.per_day
        prof = np.zeros((8, per_day))
        if per_day == 1:
            prof[:] = 1.0
            return prof
        recent = pd.DatetimeIndex(s.ds) >= days[-1] - pd.Timedelta(weeks=self.window_weeks)
        slot = (s.slots() % per_day).astype("int64")
        ptype = types[idx]
        use = recent & s.open
        sums = np.bincount(ptype[use] * per_day + slot[use], weights=s.y[use], minlength=8 * per_day).reshape(8, per_day)
        for t in range(8):
            tot = sums[t].sum()
            if tot > 0:
                prof[t] = sums[t] / tot
        # the day after a holiday has few examples: Monday's shape
        prof[_AFTER] = prof[0] if prof[0].sum() > 0 else prof[_AFTER]
        # a type never seen open (e.g. Saturday) falls back to the average shape
        avg = sums[:7].sum(axis=0)
        for t in range(8):
            if prof[t].sum() == 0 and avg.sum() > 0:
                prof[t] = avg / avg.sum()
        return prof

    # --- the contract hooks ----------------------------------------------------------------

    def _fit_series(self, s: SeriesData) -> _State:
        from statsmodels.tsa.holtwinters import ExponentialSmoothing  # heavy: imported when a model fits

        days, totals, open_day, idx = self._daily(s)
        types = self._day_types(s, days)
        fac = self._factors(days, totals, open_day, types)
        prof = self._profiles(s, days, idx, types)
        day_fac = self._day_factors(fac, types, np.asarray(days.day_of_week))
        adjusted = totals[open_day] / day_fac[open_day]
        if len(adjusted) < 4:
            raise ForecastInputError(f"Series {s.uid} has {len(adjusted)} open days; ETS needs at least 4.")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self.damped and len(adjusted) >= 10:
                model = ExponentialSmoothing(adjusted, trend="add", damped_trend=True, initialization_method="estimated")
            else:
                model = ExponentialSmoothing(adjusted, trend=None, initialization_method="estimated")
            res = model.fit()
        fitted = np.asarray(res.fittedvalues, dtype="float64")
        return _State(fac, prof, res.forecast, days[open_day], fitted)

    def _forecast_series(self, s: SeriesData, state: _State, future: Future) -> np.ndarray:
        fdays = pd.DatetimeIndex(future.ds).normalize()
        udays, fidx = np.unique(fdays.as_unit("ns").asi8, return_inverse=True)
        udays = pd.DatetimeIndex(udays.view("M8[ns]"))
        fidx = fidx.ravel()
        day_open = ~s.calendar.closed_days(udays)
        # a day with no open period of the future grid is closed too
        day_open &= np.bincount(fidx, weights=(~future.closed).astype(float), minlength=len(udays)) > 0
        types = self._day_types(s, udays)
        n_open = int(day_open.sum())
        totals = np.zeros(len(udays))
        if n_open:
            adj = np.maximum(np.asarray(state.level_forecast(n_open), dtype="float64"), 0.0)
            day_fac = self._day_factors(state.factors, types, np.asarray(udays.day_of_week))
            totals[day_open] = adj * day_fac[day_open]
        slot = (s.slots(future.ds) % s.per_day).astype("int64")
        return totals[fidx] * state.profiles[types[fidx], slot]

    def _fitted_series(self, s: SeriesData, state: _State) -> np.ndarray:
        days, _, open_day, idx = self._daily(s)
        types = self._day_types(s, days)
        day_tot = np.full(len(days), np.nan)
        day_fac = self._day_factors(state.factors, types, np.asarray(days.day_of_week))
        day_tot[open_day] = state.fitted_adjusted * day_fac[open_day]
        slot = (s.slots() % s.per_day).astype("int64")
        return day_tot[idx] * state.profiles[types[idx], slot]
