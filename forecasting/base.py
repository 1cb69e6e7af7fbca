"""The one contract every forecasting model follows.

Input: a long-format frame (Prophet's and statsforecast's convention)

=========== =================== ===============================================================
column      type                meaning
=========== =================== ===============================================================
unique_id   str                 which series (a practice, a practice and line, ...)
ds          datetime64, naive   local wall-clock start of the period, on a regular grid of
                                ``15min``, ``30min``, ``h`` or ``D``, no gaps, no repeats
y           number >= 0         the count in the period (calls offered, callers, ...)
=========== =================== ===============================================================

A model is a class with an ``alias`` (its output column), ``fit(df) -> self`` and
``predict(h, level=(80, 95)) -> DataFrame``: ``h`` periods after each series' last ``ds``, with
columns ``unique_id, ds, <alias>, <alias>-lo-80, <alias>-hi-80, <alias>-lo-95, <alias>-hi-95``.

What every model guarantees (this module enforces it, so a new model cannot break it)
-------------------------------------------------------------------------------------
- Point forecasts are expected counts, never negative.
- Closed periods (:class:`forecasting.calendar.Calendar`: bank holidays, hours outside the
  opening hours) are forecast as exactly 0 with zero-width intervals, and are never fitted:
  a model sees them marked in :attr:`SeriesData.closed` and must ignore their values.
- Intervals are central intervals of a negative-binomial count around the point forecast,
  with variance ``phi * mu + alpha * mu**2`` fitted per series to the model's in-sample
  residuals on open periods, and quantiles of the count spread over its unit bin, so an 80%
  interval covers about 80% even at a few calls an hour (:mod:`forecasting.intervals`). A
  model whose in-sample values have seen the data sets ``holdout_days``: its spread is then
  rescaled on a forecast of those last days made without them. A model may override
  ``_quantiles`` with its own (Prophet's ``interval_source="prophet"``).

Writing a model
---------------
Subclass :class:`Model`, set ``name`` (registry key) and ``alias``, and implement three hooks
working on one series at a time: ``_fit_series(s) -> state``,
``_forecast_series(s, state, future) -> mean counts`` and ``_fitted_series(s, state) ->
in-sample means`` (NaN where the model has none; make them honest forecasts where you can,
they set the interval width). Drop the file in ``forecasting/models/``; the registry finds it.

Wall-clock time and the clock changes
-------------------------------------
``ds`` is naive local time, so every day has the same number of periods: the spring change's
missing 01:00 hour is a period with 0 and the autumn change's repeated 01:00 hour is one period
holding both (:func:`forecasting.series.series_from_store` does this). A practice is closed at
01:00, so demand is never touched.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, ClassVar, Iterable, Mapping

import numpy as np
import pandas as pd

from telephony.errors import FrontdoorError
from telephony.timeutil import FREQ_MINUTES

from forecasting.calendar import Calendar, calendars_for
from forecasting.intervals import Spread, check_levels, fit_spread, interval_columns, level_quantiles, recalibrate

__all__ = [
    "ID",
    "DS",
    "Y",
    "FREQS",
    "ForecastInputError",
    "NotFittedError",
    "ClosedDemandWarning",
    "SeriesData",
    "Future",
    "Model",
    "check_series",
    "infer_freq",
    "freq_minutes",
    "week_matrix",
    "fill_closed",
]

ID, DS, Y = "unique_id", "ds", "y"
#: The interval lengths forecasts are made in (of :data:`telephony.timeutil.FREQ_MINUTES`).
FREQS: dict[str, int] = {f: FREQ_MINUTES[f] for f in ("15min", "30min", "h", "D")}
_MIN_NS = 60 * 10**9
_DAY_NS = 1440 * _MIN_NS
_WEEK_NS = 7 * _DAY_NS
# 1970-01-05 was a Monday: weeks are numbered from it
_MONDAY0_NS = 4 * _DAY_NS


class ForecastInputError(FrontdoorError, ValueError):
    """A series or an argument a model cannot use; the message says how to fix it."""


class NotFittedError(ForecastInputError):
    """``predict`` was called before ``fit``."""


class ClosedDemandWarning(UserWarning):
    """A series has counts in periods its calendar says are closed (they are ignored)."""


def freq_minutes(freq: str) -> int:
    """Minutes in one period of ``freq`` (one of :data:`FREQS`)."""
    try:
        return FREQS[freq]
    except KeyError:
        raise ForecastInputError(f"Unsupported frequency {freq!r}; use one of {', '.join(FREQS)}.") from None


def infer_freq(ds: pd.Series | pd.DatetimeIndex, ids: pd.Series | None = None) -> str:
    """The period length of a long-format ``ds`` column (the commonest step within a series).

    Raises
    ------
    ForecastInputError
        When the commonest step is not one of :data:`FREQS` or there is no step at all.
    """
    values = pd.DatetimeIndex(ds).as_unit("ns").asi8
    if ids is not None:
        codes = pd.factorize(ids)[0]
        order = np.lexsort((values, codes))
        same = codes[order][1:] == codes[order][:-1]
        diffs = np.diff(values[order])[same]
    else:
        diffs = np.diff(np.sort(values))
    diffs = diffs[diffs > 0]
    if len(diffs) == 0:
        raise ForecastInputError("Cannot tell the frequency: every series has a single timestamp. Give a longer history.")
    vals, counts = np.unique(diffs, return_counts=True)
    step = int(vals[np.argmax(counts)])
    for name, minutes in FREQS.items():
        if step == minutes * _MIN_NS:
            return name
    raise ForecastInputError(
        f"The commonest step between timestamps is {pd.Timedelta(step)}; forecasts need a regular "
        f"grid of {', '.join(FREQS)}. Resample the series first (e.g. df.resample('h', on='ds').sum())."
    )


def check_series(df: pd.DataFrame, freq: str | None = None) -> tuple[pd.DataFrame, str]:
    """Validate a long-format frame and return it tidied with its frequency.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns ``unique_id, ds, y`` (others are ignored).
    freq : str, optional
        Expected frequency; inferred when omitted.

    Returns
    -------
    (pandas.DataFrame, str)
        ``unique_id`` (str), ``ds`` (naive datetime64), ``y`` (float64), sorted by id and
        time; and the frequency.

    Raises
    ------
    ForecastInputError
        A missing column; timezone-aware, unparseable or missing ``ds``; missing, negative or
        non-numeric ``y``; a repeated ``ds`` within a series; a gap or a step off the grid.
        Each message names the series and the first offending timestamps.
    """
    if not isinstance(df, pd.DataFrame):
        raise ForecastInputError("Give a pandas DataFrame with columns unique_id, ds, y.")
    missing = [c for c in (ID, DS, Y) if c not in df.columns]
    if missing:
        hint = " (add df['unique_id'] = 'series' for a single series)" if missing == [ID] else ""
        raise ForecastInputError(
            f"The series frame lacks column(s) {', '.join(missing)}{hint}; columns must be unique_id, ds, y."
        )
    out = pd.DataFrame({ID: df[ID].astype(str).to_numpy()})
    ds = df[DS]
    if not pd.api.types.is_datetime64_any_dtype(ds):
        try:
            ds = pd.to_datetime(ds)
        except (ValueError, TypeError) as err:
            raise ForecastInputError(f"Column ds is not readable as date-times ({err}).") from err
    if isinstance(ds.dtype, pd.DatetimeTZDtype):
        raise ForecastInputError(
            "Column ds is timezone-aware; models take naive local wall-clock times. Convert with "
            "forecasting.series.to_wall_clock(df, tz='Europe/London')."
        )
    if ds.isna().any():
        raise ForecastInputError(f"Column ds has {int(ds.isna().sum())} missing value(s); drop or fill them.")
    out[DS] = ds.to_numpy()
    y = pd.to_numeric(df[Y], errors="coerce")
    bad = y.isna() & df[Y].notna()
    if bad.any():
        raise ForecastInputError(f"Column y has non-numeric values, e.g. {df[Y][bad].iloc[0]!r}; y must be counts.")
    if y.isna().any():
        first = out.loc[y.isna().to_numpy()].iloc[0]
        raise ForecastInputError(
            f"Column y has {int(y.isna().sum())} missing value(s) (first: series {first[ID]} at {first[DS]}); "
            "fill them (0 when there were no calls) or shorten the series."
        )
    if (y < 0).any():
        first = out.loc[(y < 0).to_numpy()].iloc[0]
        raise ForecastInputError(f"Column y has negative counts (first: series {first[ID]} at {first[DS]}).")
    out[Y] = y.astype("float64").to_numpy()
    if len(out) == 0:
        raise ForecastInputError("The series frame is empty.")
    out = out.sort_values([ID, DS], kind="stable").reset_index(drop=True)
    dup = out.duplicated([ID, DS])
    if dup.any():
        rows = out.loc[dup, [ID, DS]].head(3)
        where = "; ".join(f"{r[ID]} {r[DS]}" for _, r in rows.iterrows())
        raise ForecastInputError(
            f"{int(dup.sum())} repeated timestamp(s) within a series (e.g. {where}); each unique_id needs one "
            "row per period: sum or drop the repeats."
        )
    freq = infer_freq(out[DS], out[ID]) if freq is None else freq
    step = freq_minutes(freq) * _MIN_NS
    values = pd.DatetimeIndex(out[DS]).as_unit("ns").asi8
    codes = pd.factorize(out[ID])[0]
    same = codes[1:] == codes[:-1]
    gaps = np.flatnonzero(same & (np.diff(values) != step))
    if len(gaps):
        i = gaps[0]
        raise ForecastInputError(
            f"Series {out[ID].iloc[i]} is not a regular {freq} grid: {out[DS].iloc[i]} is followed by "
            f"{out[DS].iloc[i + 1]} ({len(gaps)} irregular step(s)). Fill missing periods (with 0 when there "
            "were no calls: forecasting.series.read_series(..., fill_missing=0)) or resample."
        )
    off = (values - _MONDAY0_NS) % step if freq != "D" else values % _DAY_NS
    if (off != 0).any():
        i = int(np.flatnonzero(off != 0)[0])
        raise ForecastInputError(
            f"Timestamp {out[DS].iloc[i]} (series {out[ID].iloc[i]}) is not on the {freq} grid; "
            "periods must start on whole steps (e.g. :00 and :30 for 30min, midnight for D)."
        )
    return out, freq


@dataclass
class SeriesData:
    """One series as a model sees it.

    Attributes
    ----------
    uid : str
    ds : pandas.DatetimeIndex
        Naive local period starts, regular.
    y : numpy.ndarray
        Counts (float64).
    closed : numpy.ndarray
        ``True`` where the calendar says the period is closed: ignore ``y`` there.
    freq : str
    calendar : Calendar
    """

    uid: str
    ds: pd.DatetimeIndex
    y: np.ndarray
    closed: np.ndarray
    freq: str
    calendar: Calendar

    @property
    def step_ns(self) -> int:
        return freq_minutes(self.freq) * _MIN_NS

    def head(self, n: int) -> "SeriesData":
        """The first ``n`` periods (a training window)."""
        return SeriesData(self.uid, self.ds[:n], self.y[:n], self.closed[:n], self.freq, self.calendar)

    @property
    def per_day(self) -> int:
        """Periods in a day (1 for daily data)."""
        return max(1, 1440 // freq_minutes(self.freq))

    @property
    def per_week(self) -> int:
        """Periods in a week: the weekly season."""
        return 7 * self.per_day

    @property
    def open(self) -> np.ndarray:
        return ~self.closed

    @property
    def y_open(self) -> np.ndarray:
        """``y`` with NaN in closed periods."""
        return np.where(self.closed, np.nan, self.y)

    def slots(self, ds: pd.DatetimeIndex | None = None) -> np.ndarray:
        """Position of each period in its week (0 = Monday's first period)."""
        v = pd.DatetimeIndex(self.ds if ds is None else ds).as_unit("ns").asi8
        return ((v - _MONDAY0_NS) % _WEEK_NS) // self.step_ns

    def weeks(self, ds: pd.DatetimeIndex | None = None) -> np.ndarray:
        """Week number of each period (weeks start Monday 00:00)."""
        v = pd.DatetimeIndex(self.ds if ds is None else ds).as_unit("ns").asi8
        return (v - _MONDAY0_NS) // _WEEK_NS

    def future(self, h: int) -> "Future":
        """The ``h`` periods after the last one, with their calendar."""
        ds = pd.DatetimeIndex(self.ds[-1] + pd.to_timedelta(np.arange(1, h + 1) * self.step_ns, unit="ns"))
        return Future(ds=ds.as_unit(self.ds.unit), closed=self.calendar.closed(ds, self.freq))


@dataclass
class Future:
    """Periods to forecast: naive starts and the closed mask."""

    ds: pd.DatetimeIndex
    closed: np.ndarray


def week_matrix(s: SeriesData, values: np.ndarray, extra: pd.DatetimeIndex | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Lay a series out as weeks × slots (NaN where the grid has no value).

    Parameters
    ----------
    s : SeriesData
    values : numpy.ndarray
        One value per period of ``s``.
    extra : pandas.DatetimeIndex, optional
        Later periods to make room for (their cells stay NaN).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The matrix (float64, rows = weeks from the first week of ``s``) and the row of each
        period of ``s``.
    """
    weeks = s.weeks()
    w0 = int(weeks[0])
    last = int(weeks[-1]) if extra is None or len(extra) == 0 else int(s.weeks(extra)[-1])
    mat = np.full((last - w0 + 1, s.per_week), np.nan)
    rows = weeks - w0
    mat[rows, s.slots()] = values
    return mat, rows


def fill_closed(s: SeriesData, recent_weeks: int | None = None) -> np.ndarray:
    """``y`` with each closed period replaced by the mean of its weekly slot's open values.

    A slot never open (nights, weekends) gets 0; a slot that is usually open but closed that
    day (a bank holiday) gets the slot's usual level, so smoothing models are not dragged down
    by holidays. ``recent_weeks`` limits the mean to that many latest weeks.
    """
    mat, rows = week_matrix(s, s.y_open)
    if recent_weeks is not None:
        mat = mat[-recent_weeks:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        level = np.nanmean(mat, axis=0)
    level = np.nan_to_num(level, nan=0.0)
    return np.where(s.closed, level[s.slots()], s.y)


@dataclass
class _Fitted:
    series: SeriesData
    state: Any
    spread: Spread


class Model:
    """Base class of every forecasting model (see the module docstring for the contract).

    Parameters
    ----------
    calendar : Calendar or mapping of unique_id to Calendar, optional
        Opening hours and bank holidays; default :class:`Calendar` (England, Mon–Fri
        08:00–18:30). Use :meth:`Calendar.always_open` for a series that never closes.
    alias : str, optional
        Output column name (default the class's ``alias``).

    Attributes
    ----------
    freq_ : str
        Frequency of the fitted series.
    spread_ : dict
        :class:`forecasting.intervals.Spread` per series, from in-sample residuals.
    """

    name: ClassVar[str] = "model"
    alias: str = "Model"
    #: History needed, in weeks, to fit a series
    min_weeks: ClassVar[float] = 1.0
    #: Days held out to recalibrate the intervals on forecasts the model did not fit (0: the
    #: in-sample residuals are honest enough). Costs one more fit per series.
    holdout_days: ClassVar[int] = 0

    def __init__(self, calendar: Calendar | Mapping[str, Calendar] | None = None, alias: str | None = None):
        self.calendar = calendar
        if alias is not None:
            self.alias = alias
        self._fits: dict[str, _Fitted] = {}
        self.freq_: str | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(alias={self.alias!r})"

    # --- hooks for subclasses --------------------------------------------------------------

    def _fit_series(self, s: SeriesData) -> Any:
        """Fit one series; return whatever :meth:`_forecast_series` needs."""
        raise NotImplementedError

    def _forecast_series(self, s: SeriesData, state: Any, future: Future) -> np.ndarray:
        """Expected counts for ``future.ds`` (closed periods are zeroed afterwards)."""
        raise NotImplementedError

    def _fitted_series(self, s: SeriesData, state: Any) -> np.ndarray:
        """In-sample expected counts (NaN where undefined), for the dispersion."""
        raise NotImplementedError

    def _quantiles(self, s: SeriesData, state: Any, future: Future, mu: np.ndarray, spread: Spread, probs: list[float]) -> np.ndarray:
        """Quantiles ``(len(probs), h)`` of the forecast counts; override for a model's own."""
        return spread.quantiles(mu, probs)

    # --- the contract ----------------------------------------------------------------------

    def fit(self, df: pd.DataFrame) -> "Model":
        """Fit every series of ``df``.

        Parameters
        ----------
        df : pandas.DataFrame
            Long format ``unique_id, ds, y`` (see the module docstring).

        Returns
        -------
        Model
            ``self``.

        Raises
        ------
        ForecastInputError
            An invalid frame (:func:`check_series`) or a series shorter than the model needs.

        Warns
        -----
        ClosedDemandWarning
            When more than 5% of a series' total falls in periods its calendar says are closed
            (wrong opening hours would then throw demand away).
        """
        data, freq = check_series(df)
        return self.fit_series(list(split_series(data, freq, self.calendar)))

    def fit_series(self, series: list[SeriesData]) -> "Model":
        """Fit series already checked and split (what :meth:`fit` does after checking).

        Backtests call it on truncated :class:`SeriesData` to skip re-checking the frame.
        The series carry their calendar; this model's ``calendar`` is not consulted.
        """
        if not series:
            raise ForecastInputError("No series to fit.")
        fits = {}
        for s in series:
            self._check_length(s)
            _warn_closed_demand(s)
            state = self._fit_series(s)
            fitted = np.asarray(self._fitted_series(s, state), dtype="float64")
            use = s.open & ~np.isnan(fitted)
            fits[s.uid] = _Fitted(s, state, self._held_out_spread(s, fit_spread(s.y[use], fitted[use])))
        self._fits, self.freq_ = fits, series[0].freq
        return self

    def _held_out_spread(self, s: SeriesData, spread: Spread) -> Spread:
        """``spread`` recalibrated on a forecast of the last ``holdout_days`` days from before them.

        Nothing changes when ``holdout_days`` is 0 or the series is too short to hold them out.
        """
        held = self.holdout_days * s.per_day
        if held <= 0 or len(s.y) - held < int(np.ceil(self.min_weeks * s.per_week)):
            return spread
        cut = len(s.y) - held
        try:
            mu = self.point_forecast(s.head(cut), held)
        except ForecastInputError:
            return spread
        keep = s.open[cut:]
        return recalibrate(spread, s.y[cut:][keep], mu[keep])

    def point_forecast(self, s: SeriesData, h: int) -> np.ndarray:
        """Fit one series and return its point forecast of ``h`` periods, contract applied.

        What a backtest that only scores points needs: no fit is stored and no in-sample
        spread is computed (for the seasonal average and ETS that is most of the cost).

        Raises
        ------
        ForecastInputError
            When the series is too short for this model.
        """
        self._check_length(s)
        state = self._fit_series(s)
        fut = s.future(h)
        mu = np.asarray(self._forecast_series(s, state, fut), dtype="float64")
        return np.where(fut.closed | ~np.isfinite(mu), 0.0, np.maximum(mu, 0.0))

    def predict_means(self, uid: str, h: int) -> tuple[Future, np.ndarray]:
        """The future periods of one fitted series and its point forecast (contract applied)."""
        f = self._fits[uid]
        fut = f.series.future(h)
        mu = np.asarray(self._forecast_series(f.series, f.state, fut), dtype="float64")
        if mu.shape != (h,):
            raise RuntimeError(f"{type(self).__name__} returned {mu.shape} values for h={h}")
        return fut, np.where(fut.closed | ~np.isfinite(mu), 0.0, np.maximum(mu, 0.0))

    def predict(self, h: int, level: Iterable[float] | float | None = (80, 95)) -> pd.DataFrame:
        """Forecast ``h`` periods after each series' last ``ds``.

        Parameters
        ----------
        h : int
            Number of periods (of the fitted frequency).
        level : iterable of float, optional
            Central interval levels in percent.

        Returns
        -------
        pandas.DataFrame
            ``unique_id, ds, <alias>`` and ``<alias>-lo-<level>, <alias>-hi-<level>`` per
            level, sorted by id and time. Non-negative; closed periods exactly 0.
        """
        if not self._fits:
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit(df) before predict(h).")
        h = _check_h(h)
        levels = check_levels(level)
        probs = [p for lv in levels for p in level_quantiles(lv)]
        cols = interval_columns(self.alias, levels)
        parts = []
        for uid, f in self._fits.items():
            fut, mu = self.predict_means(uid, h)
            out = {ID: np.full(h, uid, dtype=object), DS: fut.ds, self.alias: mu}
            if probs:
                qs = self._quantiles(f.series, f.state, fut, mu, f.spread, probs)
                qs[:, fut.closed] = 0.0
                for j, c in enumerate(cols[1:]):
                    out[c] = qs[j]
            parts.append(pd.DataFrame(out))
        res = pd.concat(parts, ignore_index=True)
        res[ID] = res[ID].astype(str)
        return res

    def forecast(self, df: pd.DataFrame, h: int, level: Iterable[float] | float | None = (80, 95)) -> pd.DataFrame:
        """``fit(df).predict(h, level)`` in one call."""
        return self.fit(df).predict(h, level)

    @property
    def spread_(self) -> dict[str, Spread]:
        """The count spread (variance function) of each series, from in-sample residuals."""
        return {uid: f.spread for uid, f in self._fits.items()}

    def fitted_values(self) -> pd.DataFrame:
        """In-sample expected counts: ``unique_id, ds, y, <alias>`` (NaN where undefined, 0 closed)."""
        if not self._fits:
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit(df) first.")
        parts = []
        for uid, f in self._fits.items():
            fv = np.asarray(self._fitted_series(f.series, f.state), dtype="float64")
            fv = np.where(f.series.closed, 0.0, np.maximum(fv, 0.0))
            parts.append(pd.DataFrame({ID: uid, DS: f.series.ds, Y: f.series.y, self.alias: fv}))
        return pd.concat(parts, ignore_index=True)

    def _check_length(self, s: SeriesData) -> None:
        need = int(np.ceil(self.min_weeks * s.per_week))
        if len(s.y) < need or not s.open.any():
            raise ForecastInputError(
                f"Series {s.uid} has {len(s.y)} {s.freq} periods ({int(s.open.sum())} open); {self.alias} needs "
                f"at least {self.min_weeks:g} week(s) ({need} periods) with open periods. Give a longer history."
            )


def split_series(data: pd.DataFrame, freq: str, calendar) -> Iterable[SeriesData]:
    """Cut a checked long frame into :class:`SeriesData`, one per ``unique_id``."""
    ids = pd.unique(data[ID])
    cals = calendars_for(ids, calendar)
    codes = data[ID].to_numpy()
    bounds = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1], True])
    for a, b in zip(bounds[:-1], bounds[1:]):
        uid = codes[a]
        ds = pd.DatetimeIndex(data[DS].iloc[a:b])
        cal = cals[uid]
        yield SeriesData(uid, ds, data[Y].to_numpy()[a:b].copy(), cal.closed(ds, freq), freq, cal)


def _check_h(h) -> int:
    try:
        hi = int(h)
    except (TypeError, ValueError):
        raise ForecastInputError(f"h must be a positive whole number of periods, got {h!r}.") from None
    if hi != h or hi < 1:
        raise ForecastInputError(f"h must be a positive whole number of periods, got {h!r}.")
    return hi


def _warn_closed_demand(s: SeriesData) -> None:
    total = float(s.y.sum())
    shut = float(s.y[s.closed].sum())
    if total > 0 and shut / total > 0.05:
        warnings.warn(
            f"Series {s.uid}: {shut / total:.0%} of the counts fall in periods its calendar marks closed; they "
            "are ignored and forecast as 0. Pass a Calendar with the right opening hours (or "
            "Calendar.always_open()) if the series is really open then.",
            ClosedDemandWarning,
            stacklevel=3,
        )
