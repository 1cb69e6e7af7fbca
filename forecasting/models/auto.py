"""Automatic choice of model per series, by a short rolling-origin backtest.

What call centres' workforce suites call "best pick": try several methods on the recent past
of each series and keep, for that series, the one that forecast it best.
"""

from __future__ import annotations

import copy
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from forecasting.backtest import rolling_scores
from forecasting.base import ID, ForecastInputError, Model, NotFittedError, SeriesData
from forecasting.intervals import Spread

__all__ = ["AutoModel", "DEFAULT_CANDIDATES"]

#: Candidates tried by default: the two baselines first (ties go to the simpler model), then
#: ETS. MSTL and Prophet are left out for speed (MSTL costs ~10x ETS per fit and never beat
#: ETS on the synthetic benchmark); pass them in ``candidates`` to try them.
DEFAULT_CANDIDATES: tuple[str, ...] = ("seasonal_average", "seasonal_naive", "ets")
_METRICS = ("mase", "wape", "rmse")


class AutoModel(Model):
    """Per series, the candidate with the best short rolling-origin backtest.

    Parameters
    ----------
    candidates : iterable of str or Model, or mapping of name to Model, optional
        Registry names (see :data:`forecasting.models.MODELS`) or model instances; default
        :data:`DEFAULT_CANDIDATES`. Candidates are fitted with this model's calendar.
    h : int, optional
        Horizon of the selection backtest in periods (default one week of sub-daily data,
        two weeks of daily data).
    n_windows : int, optional
        Origins of the selection backtest (default 2 for sub-daily data, 4 for daily data:
        a week of hourly data has ~55 open periods, two weeks of daily data only 10).
    step : int, optional
        Periods between origins (default ``h``).
    metric : {"mase", "wape", "rmse"}
        What the choice minimises (default MASE, pooled over the windows).
    calendar, alias
        See :class:`forecasting.base.Model`.

    Attributes
    ----------
    choices_ : pandas.DataFrame
        One row per series: ``unique_id``, ``model`` (the choice), ``reason`` and the score
        of every candidate (NaN where it could not be fitted).

    Notes
    -----
    - The selection backtest holds out the last ``n_windows * h`` periods (or
      ``h + (n_windows - 1) * step``); a series too short for it gets the first candidate
      that can fit it (``reason = "too short to backtest"``).
    - Defaults measured on synthetic series (year of history, 8 rolling origins, 4 weeks
      ahead, 6 daily series): 2 one-week windows gave MASE 0.773 and lost to the seasonal
      average on one series; 4 two-week windows 0.765 and lost on none.
    - The chosen model is then refitted on the whole series and forecasts as itself (its
      intervals, its closed periods); only the column is renamed to this model's alias.
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
        self.choices_: pd.DataFrame | None = None
        self._chosen: dict[str, Model] = {}

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

    def fit_series(self, series: list[SeriesData]) -> "AutoModel":
        """Choose a candidate per series by backtest, then fit each choice on its series."""
        if not series:
            raise ForecastInputError("No series to fit.")
        cands = self._candidate_models()
        freq = series[0].freq
        daily = series[0].per_day == 1
        h = self.h or (14 if daily else series[0].per_week)
        n_windows = self.n_windows or (4 if daily else 2)
        step = self.step or h
        held_out = h + (n_windows - 1) * step
        rows, picks = [], {}
        nan = {"mase": np.nan, "wape": np.nan, "rmse": np.nan}
        order = list(cands)
        for s in series:
            results = {}
            for alias, m in cands.items():
                try:
                    if len(s.y) <= held_out:
                        raise ForecastInputError("too short")
                    results[alias] = rolling_scores(s, m, h, n_windows, step)
                except (ValueError, ArithmeticError, np.linalg.LinAlgError):
                    # ForecastInputError is a ValueError: too short, or a window it cannot fit
                    results[alias] = nan
            pick = reason = None
            for metric in dict.fromkeys((self.metric, "wape")):
                ok = {a: r[metric] for a, r in results.items() if np.isfinite(r[metric])}
                if ok:
                    best = min(ok.values())
                    # ties (within rounding) go to the earlier, simpler candidate
                    pick = next(a for a in order if a in ok and ok[a] <= best * (1 + 1e-9) + 1e-12)
                    reason = f"lowest backtest {metric}" + ("" if metric == self.metric else f" ({self.metric} undefined)")
                    break
            if pick is None:
                pick, reason = self._fallback(s, cands), "too short to backtest"
            picks[s.uid] = pick
            rows.append({ID: s.uid, "model": pick, "reason": reason, **{a: r[self.metric] for a, r in results.items()}})
        self.choices_ = pd.DataFrame(rows, columns=[ID, "model", "reason", *cands])
        self._chosen = {}
        for alias in dict.fromkeys(picks.values()):
            group = [s for s in series if picks[s.uid] == alias]
            self._chosen[alias] = copy.deepcopy(cands[alias]).fit_series(group)
        self.freq_ = freq
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

    def predict(self, h: int, level=(80, 95)) -> pd.DataFrame:
        """Forecast each series with its chosen model (columns named with this alias)."""
        if not self._chosen:
            raise NotFittedError("AutoModel is not fitted; call fit(df) before predict(h).")
        parts = []
        for alias, m in self._chosen.items():
            fc = m.predict(h, level)
            fc = fc.rename(columns={c: self.alias + c[len(m.alias) :] for c in fc.columns if c == m.alias or c.startswith(m.alias + "-")})
            parts.append(fc)
        return pd.concat(parts, ignore_index=True).sort_values([ID, "ds"], kind="stable").reset_index(drop=True)

    def predict_means(self, uid: str, h: int):
        """The chosen model's future periods and point forecast for one series."""
        for m in self._chosen.values():
            if uid in m.spread_:
                return m.predict_means(uid, h)
        raise NotFittedError(f"AutoModel has no fitted series {uid!r}.")

    @property
    def spread_(self) -> dict[str, Spread]:
        out = {}
        for m in self._chosen.values():
            out.update(m.spread_)
        return out

    def fitted_values(self) -> pd.DataFrame:
        if not self._chosen:
            raise NotFittedError("AutoModel is not fitted; call fit(df) first.")
        parts = []
        for m in self._chosen.values():
            fv = m.fitted_values().rename(columns={m.alias: self.alias})
            parts.append(fv)
        return pd.concat(parts, ignore_index=True).sort_values([ID, "ds"], kind="stable").reset_index(drop=True)
