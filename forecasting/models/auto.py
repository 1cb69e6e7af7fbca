"""Automatic forecasting per series: the best of the candidates or of their combinations, by backtest.

What call centres' workforce suites call "best pick", with the lesson of the M4 competition
(Makridakis et al. 2020): combinations of a few good models beat picking one. Each series gets
a short rolling-origin backtest of every candidate; the candidates are ranked, the means of the
best two, three, ... are scored on the same windows (free: they reuse the windows' forecasts),
and the series is forecast by whichever single model or combination scored best. Its
intervals come from the same backtest's out-of-sample errors, not from in-sample fits.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from forecasting.backtest import seasonal_scale
from forecasting.base import ID, ForecastInputError, Future, Model, SeriesData, _Fitted
from forecasting.intervals import fit_spread

__all__ = ["AutoModel", "DEFAULT_CANDIDATES"]

#: Candidates tried by default: the 4-week seasonal average first (ties go to the simpler
#: model), then ETS. The seasonal naive is left out: it was never the best on the benchmark and
#: dragged the combinations it joined. MSTL and Prophet are left out for speed (MSTL costs ~100x
#: ETS per fit on half-hourly data and Prophet more; with the backtest they would break the
#: budget of 5x faster than default Prophet); pass them in ``candidates`` to try them.
DEFAULT_CANDIDATES: tuple[str, ...] = ("seasonal_average", "ets")
_METRICS = ("mase", "wape", "rmse")
#: A combination must beat the best single candidate by this share of its score to be chosen:
#: a few windows cannot tell smaller differences from noise, and on the benchmark's level shift
#: a combination that won the windows by less (thanks to the Christmas fortnight in them) lost
#: 4% day-ahead afterwards.
_COMBINE_MARGIN = 0.03
#: Only candidates within this share of the best score are averaged: an equal-weight mean with a
#: clearly worse model drags the forecast towards it (on a demo practice, averaging in a seasonal
#: average 9% worse than ETS on the windows cost 3% afterwards).
_NEAR = 0.05


@dataclass
class _State:
    members: tuple[str, ...]  # aliases of the candidates averaged
    models: dict[str, Model]  # each member fitted on the whole series


def _days_with_calls(s: SeriesData) -> np.ndarray:
    """Open periods on days that had at least one call: what the selection backtest scores.

    A whole day without a call, under a calendar that says it was open, is a closure nobody
    told the calendar about (a bank holiday under an always-open calendar, a lost export): no
    model can forecast it, and scoring it rewards whichever model happens to remember the last
    closure (a 4-week average that still holds Christmas forecasts New Year's Day lower).
    """
    day = pd.DatetimeIndex(s.ds).normalize().as_unit("ns").asi8
    _, idx = np.unique(day, return_inverse=True)
    idx = idx.ravel()
    has_calls = np.bincount(idx, weights=np.where(s.closed, 0.0, s.y)) > 0
    return s.open & has_calls[idx]


class AutoModel(Model):
    """Per series, the best candidate or the mean of the best few, by a rolling-origin backtest.

    Parameters
    ----------
    candidates : iterable of str or Model, or mapping of name to Model, optional
        Registry names (see :data:`forecasting.models.MODELS`) or model instances; default
        :data:`DEFAULT_CANDIDATES`. Candidates are fitted with this model's calendar.
    h : int, optional
        Horizon of the selection backtest in periods (default two days of sub-daily data,
        a week of daily data).
    n_windows : int, optional
        Origins of the selection backtest (default 7 for sub-daily data: the last two weeks
        forecast two days at a time; 4 for daily data: the last four weeks a week at a time).
    step : int, optional
        Periods between origins (default ``h``: the windows tile the held-out stretch).
    metric : {"mase", "wape", "rmse"}
        What the choice minimises (default MASE, pooled over the windows).
    combine : bool
        Also score the means of the best 2, 3, ... candidates and choose among them too
        (default ``True``).
    calendar, alias
        See :class:`forecasting.base.Model`.

    Attributes
    ----------
    choices_ : pandas.DataFrame
        One row per series: ``unique_id``, ``model`` (the choice: a candidate's alias, or
        aliases joined by ``" + "`` for a combination), ``reason`` and the backtest score of
        every candidate (NaN where it could not be fitted).

    Notes
    -----
    - The selection backtest holds out the last ``h + (n_windows - 1) * step`` periods; a
      series too short for it gets the first candidate that can fit it (``reason = "too
      short to backtest"``) with that model's own intervals.
    - Only open periods of days that had calls are scored (:func:`_days_with_calls`): a
      whole day without a call is a closure the calendar missed, which no model forecasts.
    - Combinations: candidates within 5% of the best score are ranked; the equal-weight
      means of the best ``k`` of them (``k = 2 ..``) are scored on the same windows; one is
      chosen only when it beats the best single model by 3% (a tie goes to the single model).
      Equal weights, not fitted ones: weights estimated from a few windows are noise (the
      "forecast combination puzzle").
    - Why short windows near the origin: with one-week windows overlapping the Christmas
      fortnight, the choice followed the holidays and lost up to 15% MASE on the demo
      practices in January; two-day windows over the last two weeks matched the day-ahead
      use and halved the fits of day-ahead windows over the same span
      (``benchmarks/forecast.py``).
    - Intervals: the negative-binomial spread (:func:`forecasting.intervals.fit_spread`) of
      the chosen forecast's errors in the backtest windows, which are out-of-sample, so the
      80% interval covers about 80% of what happens next, not of what was fitted.
    - The chosen models are refitted on the whole series; the forecast is their mean.
    - A candidate that fails on a series (too short, or a numerical failure) scores NaN
      there and is never chosen for it.
    - MASE is undefined when the in-sample seasonal naive is exact (a perfectly weekly or
      all-zero history): the choice then falls back to WAPE, and says so in ``reason``.
    - Ties go to the earlier candidate, so list simpler models first.
    """

    name = "auto"
    alias = "Auto"
    min_weeks = 1.0

    def __init__(
        self,
        candidates: Iterable[str | Model] | Mapping[str, Model] | None = None,
        h: int | None = None,
        n_windows: int | None = None,
        step: int | None = None,
        metric: str = "mase",
        combine: bool = True,
        calendar=None,
        alias: str | None = None,
    ):
        super().__init__(calendar=calendar, alias=alias)
        if metric not in _METRICS:
            raise ForecastInputError(f"Unknown metric {metric!r}; use one of {', '.join(_METRICS)}.")
        self.candidates = DEFAULT_CANDIDATES if candidates is None else candidates
        self.h = h
        self.n_windows = n_windows
        self.step = step
        self.metric = metric
        self.combine = combine
        self.choices_: pd.DataFrame | None = None

    def _candidate_models(self) -> dict[str, Model]:
        from forecasting.models import make_model  # the registry imports this module: looked up at use

        items = self.candidates.items() if isinstance(self.candidates, Mapping) else None
        out: dict[str, Model] = {}
        if items is None:
            items = []
            for c in self.candidates:
                m = make_model(c) if isinstance(c, str) else c
                items.append((m.alias, m))
        for key, m in items:
            if not isinstance(m, Model):
                raise ForecastInputError(f"Candidate {key!r} is not a forecasting model.")
            if isinstance(m, AutoModel):
                raise ForecastInputError("An AutoModel cannot be its own candidate.")
            m = copy.deepcopy(m)
            m.calendar = self.calendar
            if key in out:
                raise ForecastInputError(f"Two candidates share the alias {key!r}; give each its own alias=.")
            out[key] = m
        if not out:
            raise ForecastInputError("AutoModel needs at least one candidate.")
        return out

    def _design(self, s: SeriesData) -> tuple[int, int, int]:
        if s.per_day == 1:
            h = self.h or 7
            return h, self.n_windows or 4, self.step or h
        h = self.h or 2 * s.per_day
        return h, self.n_windows or 7, self.step or h

    @staticmethod
    def _score(errors: list[np.ndarray], ys: list[np.ndarray], scales: list[float], metric: str) -> float:
        """Pooled ``metric`` of window errors (open periods only), as :func:`rolling_scores`."""
        e = np.concatenate(errors) if errors else np.zeros(0)
        if len(e) == 0:
            return float("nan")
        if metric == "mase":
            num = sum(float(np.abs(x).sum()) / sc for x, sc in zip(errors, scales) if sc > 0)
            cnt = sum(len(x) for x, sc in zip(errors, scales) if sc > 0)
            return num / cnt if cnt else float("nan")
        if metric == "wape":
            tot = float(np.concatenate(ys).sum())
            return float(np.abs(e).sum()) / tot if tot > 0 else float("nan")
        return float(np.sqrt(np.mean(e * e)))

    def fit_series(self, series: list[SeriesData]) -> "AutoModel":
        """Backtest the candidates per series, choose a model or combination, fit it."""
        if not series:
            raise ForecastInputError("No series to fit.")
        cands = self._candidate_models()
        order = list(cands)
        rows, fits = [], {}
        for s in series:
            self._check_length(s)
            h, n_windows, step = self._design(s)
            held_out = h + (n_windows - 1) * step
            n = len(s.y)
            # the windows: what each candidate forecast, and what happened
            cuts = [n - (h + (n_windows - w) * step) for w in range(1, n_windows + 1)]
            forecasts: dict[str, list[np.ndarray]] = {}
            if n > held_out:
                trains = [s.head(c) for c in cuts]
                scales = [seasonal_scale(t) for t in trains]
                informative = _days_with_calls(s)
                keeps = [informative[c : c + h] for c in cuts]
                ys = [s.y[c : c + h][k] for c, k in zip(cuts, keeps)]
                for alias, m in cands.items():
                    try:
                        forecasts[alias] = [m.point_forecast(t, h)[k] for t, k in zip(trains, keeps)]
                    except (ValueError, ArithmeticError, np.linalg.LinAlgError):
                        # ForecastInputError is a ValueError: too short, or a window it cannot fit
                        continue
            options: dict[tuple[str, ...], list[np.ndarray]] = {(a,): f for a, f in forecasts.items()}
            scores = {}
            pick = reason = None
            for metric in dict.fromkeys((self.metric, "wape")):
                scored = {k: self._score([y - f for y, f in zip(ys, fc)], ys, scales, metric) for k, fc in options.items()}
                ok = {k: v for k, v in scored.items() if np.isfinite(v)}
                if not ok:
                    continue
                if not scores:
                    scores = {k[0]: v for k, v in scored.items()}
                if self.combine and len(ok) > 1:
                    top = min(ok.values())
                    # only near-equals are averaged: a much worse model drags a mean down
                    near = [k for k in ok if ok[k] <= top * (1 + _NEAR)]
                    ranked = sorted(near, key=lambda k: (ok[k], order.index(k[0])))
                    for size in range(2, len(ranked) + 1):
                        members = tuple(a for k in ranked[:size] for a in k)
                        fc = [np.mean([options[(a,)][w] for a in members], axis=0) for w in range(n_windows)]
                        options[members] = fc
                        ok[members] = self._score([y - f for y, f in zip(ys, fc)], ys, scales, metric)
                best_single = min(v for k, v in ok.items() if len(k) == 1)
                best = min(ok.values())
                singles = [(a,) for a in order if (a,) in ok and ok[(a,)] <= best_single * (1 + 1e-9) + 1e-12]
                if best < best_single * (1 - _COMBINE_MARGIN) - 1e-12:
                    pick = min((k for k in ok if len(k) > 1), key=lambda k: (ok[k], len(k)))
                    how = "lowest backtest"
                else:
                    # ties (within rounding) go to the earlier, simpler candidate
                    pick, how = singles[0], "lowest backtest"
                reason = f"{how} {metric}" + ("" if metric == self.metric else f" ({self.metric} undefined)")
                if len(pick) > 1:
                    reason += f" (mean of the best {len(pick)})"
                break
            if pick is None:
                pick, reason = (self._fallback(s, cands),), "too short to backtest"
                models = {pick[0]: copy.deepcopy(cands[pick[0]]).fit_series([s])}
                spread = models[pick[0]].spread_[s.uid]
            else:
                models = {a: copy.deepcopy(cands[a]).fit_series([s]) for a in pick}
                mu = np.concatenate(options[pick])
                spread = fit_spread(np.concatenate(ys), mu)
            fits[s.uid] = _Fitted(s, _State(pick, models), spread)
            rows.append({ID: s.uid, "model": " + ".join(pick), "reason": reason, **{a: scores.get(a, np.nan) for a in cands}})
        self.choices_ = pd.DataFrame(rows, columns=[ID, "model", "reason", *cands])
        self._fits, self.freq_ = fits, series[0].freq
        return self

    @staticmethod
    def _fallback(s: SeriesData, cands: dict[str, Model]) -> str:
        for alias, m in cands.items():
            try:
                copy.deepcopy(m).fit_series([s])
                return alias
            except ForecastInputError:
                continue
        raise ForecastInputError(f"No candidate can fit series {s.uid} ({len(s.y)} periods): give a longer history.")

    def _forecast_series(self, s: SeriesData, state: _State, future: Future) -> np.ndarray:
        h = len(future.ds)
        return np.mean([m.predict_means(s.uid, h)[1] for m in state.models.values()], axis=0)

    def _fitted_series(self, s: SeriesData, state: _State) -> np.ndarray:
        parts = []
        for m in state.models.values():
            fv = m.fitted_values()
            parts.append(fv[m.alias].to_numpy())
        return np.mean(parts, axis=0)
