"""Prophet with the GP calendar: bank holidays, the day after them, and a weekday-dependent
intraday shape; closed hours left out of the fit.

Prophet's defaults go wrong on practice call counts in known ways (see /work/shared's notes):
its built-in UK holidays miss Easter Monday and the summer bank holiday; it forecasts negative
counts; it fits a smooth daily curve through closed hours that have no data; and it has one
daily shape for every weekday, though Monday's 8am rush is not Wednesday's. This model fixes
each, and keeps ``preset="default"`` as the untuned reference for benchmarks.
"""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from forecasting.base import ForecastInputError, Future, Model, SeriesData
from forecasting.intervals import Spread

__all__ = ["ProphetModel"]

PRESETS = ("tuned", "default")
INTERVAL_SOURCES = ("count", "prophet")
# Day groups for the conditional intraday seasonalities: name -> weekdays (Monday = 0). The
# first open day after a bank holiday joins the first group (it behaves like a Monday).
DEFAULT_DAY_GROUPS: dict[str, tuple[int, ...]] = {"monday": (0,), "tue_fri": (1, 2, 3, 4), "weekend": (5, 6)}


def quiet_stan() -> None:
    """Silence cmdstanpy's and Prophet's progress logging (warnings still show)."""
    for name in ("cmdstanpy", "prophet"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)  # "Importing plotly failed"
    logging.getLogger("cmdstanpy").disabled = True


@contextmanager
def _prophet_quiet():
    """Prophet's own pandas deprecation warnings are not the caller's business."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"prophet(\.|$)")
        yield


@dataclass
class _State:
    model: Any
    fitted: np.ndarray
    conditions: tuple[str, ...]  # condition columns of the fitted seasonalities
    last_prediction: Any = None  # Prophet's frame of the last predict (for its own intervals)


class ProphetModel(Model):
    """Prophet tuned for practice call counts (or Prophet's defaults, as a reference).

    Parameters
    ----------
    preset : {"tuned", "default"}
        ``"tuned"`` (default): everything below. ``"default"``: ``Prophet()`` as shipped,
        fitted on every period (closed ones included), with its own intervals (1,000
        uncertainty samples): the reference in benchmarks. The contract still holds for both
        (clipped at 0, closed periods 0).
    seasonality_mode : {"multiplicative", "additive"}
        Multiplicative (default) scales the intraday shape with the day's level, as call
        counts do.
    day_groups : dict of str to tuple of int, optional
        Weekdays sharing one intraday shape (conditional seasonalities); default Monday,
        Tuesday–Friday, weekend (see :data:`DEFAULT_DAY_GROUPS`).
    daily_fourier_order : int
        Fourier order of each intraday shape (default 10; an 8am rush is sharp).
    uncertainty_samples : int
        Prophet's sampling for its own intervals; 0 (default) skips it, which is most of
        Prophet's predict time, since the count intervals do not use it.
    interval_source : {"count", "prophet"}
        ``"count"`` (default): negative-binomial intervals around the forecast with the
        spread of the in-sample residuals, like every other model. ``"prophet"``: Prophet's
        own (Gaussian) intervals, clipped at 0; needs ``uncertainty_samples > 0``.
    changepoint_prior_scale, holidays_prior_scale : float
        Passed to Prophet (defaults 0.05 and 10, Prophet's own).
    prophet_kwargs : dict, optional
        Further arguments for ``prophet.Prophet``.
    calendar, alias
        See :class:`forecasting.base.Model`.

    Notes
    -----
    Tuned preset:

    - Only open periods are fitted (Prophet issue #1316: seasonality is unconstrained where
      there is no data, so closed hours would bend the daily curve).
    - Holidays are a custom frame from :class:`forecasting.calendar.Calendar`
      (``holidays.UK(subdiv=nation)``): ``day_after_bank_holiday`` on the first open day after
      one, and ``bank_holiday`` itself when the calendar keeps bank holidays open.
    - ``daily_seasonality=False`` and instead one conditional daily seasonality per day group
      (Prophet issue #907); the day after a bank holiday takes the first group's shape.
    - Sub-daily data only get the intraday shapes; daily data get the weekly seasonality and
      the holidays. Yearly seasonality is Prophet's "auto" (on with two years of history).
    - Forecasts are clipped at 0 (issues #337, #1214).
    - Fitted values for the count intervals are Prophet's in-sample ``yhat``.
    """

    name = "prophet"
    alias = "Prophet"
    min_weeks = 2.0
    # in-sample values have seen the data: intervals recalibrated on a held-out week
    holdout_days = 7

    def __init__(
        self,
        preset: str = "tuned",
        seasonality_mode: str = "multiplicative",
        day_groups: dict[str, tuple[int, ...]] | None = None,
        daily_fourier_order: int = 10,
        uncertainty_samples: int | None = None,
        interval_source: str | None = None,
        changepoint_prior_scale: float = 0.05,
        holidays_prior_scale: float = 10.0,
        prophet_kwargs: dict | None = None,
        calendar=None,
        alias: str | None = None,
    ):
        super().__init__(calendar=calendar, alias=alias)
        if preset not in PRESETS:
            raise ForecastInputError(f"Unknown preset {preset!r}; use one of {', '.join(PRESETS)}.")
        default = preset == "default"
        if uncertainty_samples is None:
            uncertainty_samples = 1000 if default else 0
        if interval_source is None:
            interval_source = "prophet" if default else "count"
        if interval_source not in INTERVAL_SOURCES:
            raise ForecastInputError(f"Unknown interval_source {interval_source!r}; use one of {', '.join(INTERVAL_SOURCES)}.")
        if interval_source == "prophet" and not uncertainty_samples:
            raise ForecastInputError("interval_source='prophet' needs uncertainty_samples > 0 (e.g. 1000).")
        if seasonality_mode not in ("multiplicative", "additive"):
            raise ForecastInputError("seasonality_mode must be 'multiplicative' or 'additive'.")
        self.preset = preset
        self.seasonality_mode = seasonality_mode
        self.day_groups = dict(DEFAULT_DAY_GROUPS if day_groups is None else day_groups)
        self.daily_fourier_order = int(daily_fourier_order)
        self.uncertainty_samples = int(uncertainty_samples)
        self.interval_source = interval_source
        self.changepoint_prior_scale = changepoint_prior_scale
        self.holidays_prior_scale = holidays_prior_scale
        self.prophet_kwargs = dict(prophet_kwargs or {})

    # --- frames ----------------------------------------------------------------------------

    def _holidays(self, s: SeriesData, horizon_days: int = 800) -> pd.DataFrame | None:
        lo = s.ds[0].normalize()
        hi = s.ds[-1].normalize() + pd.Timedelta(days=horizon_days)
        days = pd.date_range(lo, hi, freq="D")
        frames = []
        after = days[s.calendar.day_after_bank_holiday(days)]
        if len(after):
            frames.append(pd.DataFrame({"holiday": "day_after_bank_holiday", "ds": after}))
        if not s.calendar.close_on_bank_holidays:
            bank = days[s.calendar.is_bank_holiday(days)]
            if len(bank):
                frames.append(pd.DataFrame({"holiday": "bank_holiday", "ds": bank}))
        if not frames:
            return None
        out = pd.concat(frames, ignore_index=True)
        out["lower_window"] = 0
        out["upper_window"] = 0
        return out

    def _conditions(self, s: SeriesData, ds: pd.DatetimeIndex) -> dict[str, np.ndarray]:
        weekday = np.asarray(ds.day_of_week)
        after = s.calendar.day_after_bank_holiday(ds)
        out = {}
        for i, (name, days) in enumerate(self.day_groups.items()):
            member = np.isin(weekday, days)
            member = (member | after) if i == 0 else (member & ~after)
            out[f"is_{name}"] = member
        return out

    def _frame(self, s: SeriesData, ds: pd.DatetimeIndex, y: np.ndarray | None = None) -> pd.DataFrame:
        df = pd.DataFrame({"ds": ds})
        if y is not None:
            df["y"] = y
        if self.preset == "tuned" and s.per_day > 1:
            for k, v in self._conditions(s, pd.DatetimeIndex(ds)).items():
                df[k] = v
        return df

    # --- the contract hooks ----------------------------------------------------------------

    def _fit_series(self, s: SeriesData) -> _State:
        quiet_stan()
        from prophet import Prophet  # heavy (Stan): imported when a model fits

        if self.preset == "default":
            m = Prophet(uncertainty_samples=self.uncertainty_samples, **self.prophet_kwargs)
            train = self._frame(s, s.ds, s.y)
        else:
            keep = s.open
            train = self._frame(s, s.ds[keep], s.y[keep])
            m = Prophet(
                seasonality_mode=self.seasonality_mode,
                daily_seasonality=False,
                weekly_seasonality=True,
                holidays=self._holidays(s),
                uncertainty_samples=self.uncertainty_samples,
                changepoint_prior_scale=self.changepoint_prior_scale,
                holidays_prior_scale=self.holidays_prior_scale,
                **self.prophet_kwargs,
            )
            if s.per_day > 1:
                for name in self.day_groups:
                    cond = f"is_{name}"
                    if train[cond].any():
                        m.add_seasonality(name=f"daily_{name}", period=1, fourier_order=self.daily_fourier_order, condition_name=cond)
                    else:
                        train = train.drop(columns=cond)
        with _prophet_quiet():
            m.fit(train)
            fitted_open = m.predict(train.drop(columns="y"))["yhat"].to_numpy()
        fitted = np.full(len(s.y), np.nan)
        if self.preset == "default":
            fitted[:] = fitted_open
        else:
            fitted[s.open] = fitted_open
        conditions = tuple(c for c in train.columns if c.startswith("is_"))
        return _State(m, np.maximum(fitted, 0.0), conditions)

    def _kept(self, future: Future) -> np.ndarray:
        return np.ones(len(future.ds), dtype=bool) if self.preset == "default" else ~future.closed

    def _forecast_series(self, s: SeriesData, state: _State, future: Future) -> np.ndarray:
        keep = self._kept(future)
        frame = self._frame(s, future.ds[keep])
        frame = frame.drop(columns=[c for c in frame.columns if c.startswith("is_") and c not in state.conditions])
        out = np.zeros(len(future.ds))
        state.last_prediction = None
        if keep.any():
            with _prophet_quiet():
                pred = state.model.predict(frame)
            out[keep] = pred["yhat"].to_numpy()
            state.last_prediction = pred
        return np.maximum(out, 0.0)

    def _fitted_series(self, s: SeriesData, state: _State) -> np.ndarray:
        return state.fitted

    def _quantiles(self, s: SeriesData, state: _State, future: Future, mu: np.ndarray, spread: Spread, probs) -> np.ndarray:
        if self.interval_source == "count":
            return spread.quantiles(mu, probs)
        # Prophet's own interval (interval_width, from its samples) read as Gaussian
        out = np.zeros((len(probs), len(mu)))
        pred = state.last_prediction
        if pred is None:
            return out
        keep = self._kept(future)
        width = state.model.interval_width
        z = NormalDist().inv_cdf(0.5 + width / 2)
        sd = (pred["yhat_upper"].to_numpy() - pred["yhat_lower"].to_numpy()) / (2 * z)
        yhat = pred["yhat"].to_numpy()
        for i, p in enumerate(probs):
            out[i, keep] = np.maximum(yhat + NormalDist().inv_cdf(p) * sd, 0.0)
        return out
