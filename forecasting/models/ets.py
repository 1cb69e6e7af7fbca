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

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.base import ForecastInputError, Future, Model, SeriesData

__all__ = ["ETS", "Smoother", "damped_holt", "shrink_profiles"]

_AFTER = 7  # day type of the first open day after a bank holiday
# A day type whose factor is below this share of an average day carries no level information
_QUIET = 0.02
# The smoothing parameters tried (a grid: statsmodels' optimiser cost ~0.1-0.5 s a fit, which
# the automatic choice pays once per candidate and window; the grid costs about a millisecond)
_ALPHAS = np.array([0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0])
_BETAS = np.array([0.0, 0.01, 0.03, 0.1])  # share of alpha given to the trend
_PHIS = np.array([0.8, 0.9, 0.95, 0.98])


@dataclass
class Smoother:
    """A fitted damped Holt smoother: its parameters, one-step fitted values and last state."""

    alpha: float
    beta: float
    phi: float
    level: float
    trend: float
    fitted: np.ndarray

    def forecast(self, n: int) -> np.ndarray:
        """The next ``n`` values: ``level + (phi + ... + phi**k) * trend``."""
        k = np.arange(1, int(n) + 1)
        damp = np.cumsum(self.phi ** k)
        return self.level + damp * self.trend


def damped_holt(x: np.ndarray, damped: bool = True) -> Smoother:
    """Additive damped-trend exponential smoothing fitted by least squares over a grid.

    Parameters
    ----------
    x : numpy.ndarray
        The series (at least 2 values).
    damped : bool
        Damped additive trend; ``False`` fits simple exponential smoothing (level only).

    Returns
    -------
    Smoother
        The parameters with the least sum of squared one-step errors.

    Notes
    -----
    Error-correction form (Hyndman et al. 2008, ETS(A,Ad,N)): ``f_t = l + phi b``,
    ``l <- f_t + alpha e_t``, ``b <- phi b + alpha beta e_t``. Starting level the mean of the
    first week's values, trend 0. All grid points run at once as numpy vectors, so a fit
    costs about a millisecond against 0.1-0.5 s for statsmodels' optimiser, and it cannot
    fail to converge. The grid's coarseness costs nothing measurable on call totals.
    """
    x = np.asarray(x, dtype="float64")
    a, b, p = np.meshgrid(_ALPHAS, _BETAS if damped else [0.0], _PHIS if damped else [1.0], indexing="ij")
    a, b, p = a.ravel(), a.ravel() * b.ravel(), p.ravel()
    level = np.full(len(a), float(np.mean(x[: min(7, len(x))])))
    trend = np.zeros(len(a))
    sse = np.zeros(len(a))
    fitted = np.empty((len(x), len(a)))
    for t, v in enumerate(x):
        f = level + p * trend
        fitted[t] = f
        e = v - f
        sse += e * e
        level = f + a * e
        trend = p * trend + b * e
    i = int(np.argmin(sse))
    return Smoother(float(a[i]), float(b[i]), float(p[i]), float(level[i]), float(trend[i]), fitted[:, i].copy())


@dataclass
class _State:
    factors: tuple  # (7 weekday factors, day-after uplift or None: Monday's factor)
    profiles: np.ndarray  # 8 x per_day intraday shares
    level_forecast: object  # callable: n open days ahead -> adjusted totals
    fitted_days: pd.DatetimeIndex
    fitted_adjusted: np.ndarray  # one-step fitted adjusted totals of the open days


def shrink_profiles(prof: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Intraday shares per day type, each pulled towards the shape of all types together.

    Parameters
    ----------
    prof : numpy.ndarray
        ``(types, periods)`` shares, rows summing to 1 (all 0 for a type never seen).
    counts : numpy.ndarray
        Calls behind each row.

    Returns
    -------
    numpy.ndarray
        Rows ``pooled + w_t (row - pooled)``, still summing to 1.

    Notes
    -----
    Empirical Bayes (James-Stein): a share estimated from ``N`` calls has sampling variance
    about ``p / N`` (multinomial); the true shapes differ between types by ``tau2 * p``,
    estimated by moments over all types and periods. Each type keeps ``w = tau2 / (tau2 +
    1 / N)`` of its own deviation. Weekdays whose shapes really differ (a GP's Monday rush) keep
    theirs (``w`` near 1); a 24/7 service whose days share one shape stops fitting noise: on the
    benchmark's 24/7 series the weekday shapes from 12 weeks of ~150 calls a day were noise
    that cost about 3% MASE against Prophet's smooth curves.
    """
    seen = counts > 0
    if seen.sum() < 2:
        return prof
    n = counts[seen].astype("float64")
    rows = prof[seen]
    pooled = (rows * n[:, None]).sum(axis=0) / n.sum()
    live = pooled > 0
    dev = (rows[:, live] - pooled[live]) ** 2 / pooled[live]
    tau2 = max(float(np.mean(dev - (1 - pooled[live]) / n[:, None])), 0.0)
    w = tau2 / (tau2 + 1.0 / n)
    out = prof.copy()
    out[seen] = pooled + w[:, None] * (rows - pooled)
    return out


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
    3. Damped Holt (:func:`damped_holt`, additive damped trend, no seasonal) on the sequence of
       adjusted open-day totals ``total / factor``: closed days, days with no calls at all
       (closures the calendar does not know) and day types that are always quiet are
       skipped, so a holiday never pulls the level down. Forecast the next open days,
       multiply back by their factors (0 for a weekday with no calls in the window).
    4. Sub-daily: each period gets its day's total times the share of the day that its slot
       carried on that day type over the window, each type's shape pulled towards the shape
       of all days by as much as its own is noise (:func:`shrink_profiles`); the day after a
       holiday takes Monday's shape.
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
        # a weekday with no demand on any day of the window (a closed weekend the calendar
        # does not know) is forecast as quiet, not as an average day
        seen = np.bincount(np.minimum(types[recent], 6), minlength=7) > 0
        fac = np.where(seen, fac, 0.0)
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
        prof[:7] = shrink_profiles(prof[:7], sums[:7].sum(axis=1))
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
        days, totals, open_day, idx = self._daily(s)
        # A day the calendar calls open but with no demand at all is a closure nobody told the
        # calendar about (a bank holiday under an always-open calendar, a weekend): it says
        # nothing about the level, so it is left out of the factors and the smoothing.
        informative = open_day & (totals > 0)
        types = self._day_types(s, days)
        fac = self._factors(days, totals, informative, types)
        prof = self._profiles(s, days, idx, types)
        day_fac = self._day_factors(fac, types, np.asarray(days.day_of_week))
        use = informative & (day_fac > _QUIET)
        adjusted = totals[use] / day_fac[use]
        if len(adjusted) < 4:
            raise ForecastInputError(f"Series {s.uid} has {len(adjusted)} open days with calls; ETS needs at least 4.")
        smoother = damped_holt(adjusted, damped=self.damped and len(adjusted) >= 10)
        return _State(fac, prof, smoother.forecast, days[use], smoother.fitted)

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
        days, _, _, idx = self._daily(s)
        types = self._day_types(s, days)
        day_tot = np.full(len(days), np.nan)
        day_fac = self._day_factors(state.factors, types, np.asarray(days.day_of_week))
        use = np.isin(days, state.fitted_days)
        day_tot[use] = state.fitted_adjusted * day_fac[use]
        slot = (s.slots() % s.per_day).astype("int64")
        return day_tot[idx] * state.profiles[types[idx], slot]
