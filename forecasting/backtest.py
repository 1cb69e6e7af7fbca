"""Rolling-origin evaluation of any model: accuracy by horizon, interval coverage, a summary.

Each window cuts every series at a forecast origin, fits the model on what came before and
forecasts the next ``h`` periods; the origins move forward by ``step`` periods, the last window
ending at each series' last period. Every window asked for is forecast and every period in it
scored, except periods the calendar closes (structurally zero: a model gets no credit for
forecasting a bank holiday as 0) and data gaps (nothing to score against); the results' notes
(:func:`window_notes`) count both and name any window left with nothing to score.

Metrics (over the open periods of a cell: one series, model, window and horizon bucket)
--------------------------------------------------------------------------------------
============= ======================================================================================
metric        definition
============= ======================================================================================
mase          mean ``|y - yhat|`` divided by the scale: the mean absolute error of the weekly
              seasonal naive *in sample* (the window's training data), ``mean |y_t - y_{t-week}|``
              over periods open both at ``t`` and a week earlier. Below 1 beats last week's copy
              made in sample.
wape          ``sum |y - yhat| / sum y`` (NaN when nothing happened).
rmse          ``sqrt(mean (y - yhat)**2)``.
coverage_L    share of periods with ``lo_L <= y <= hi_L`` for the central ``L``% interval.
pinball_L     mean pinball (quantile) loss of the interval's two quantiles
              ``q = (1 - L/100)/2`` and ``1 - q``: ``max(q (y - x), (q - 1)(y - x))`` for the
              quantile forecast ``x``, averaged over the periods and the two quantiles.
============= ======================================================================================
"""

from __future__ import annotations

import copy
import time
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from forecasting.base import DS, ID, Y, ForecastInputError, Model, SeriesData, check_series, split_series
from forecasting.intervals import check_levels, interval_columns, level_quantiles

__all__ = [
    "cross_validation",
    "score",
    "backtest",
    "summarise",
    "plot_backtest",
    "seasonal_scale",
    "rolling_scores",
    "METRICS",
    "window_notes",
]

METRICS: tuple[str, ...] = ("mase", "wape", "rmse")
HORIZONS: tuple[str, ...] = ("step", "day", "week", "all")


def _models(models) -> dict[str, Model]:
    if isinstance(models, Model):
        models = [models]
    if isinstance(models, Mapping):
        items = list(models.items())
    else:
        items = [(m.alias, m) for m in models]
    out: dict[str, Model] = {}
    for alias, m in items:
        if not isinstance(m, Model):
            raise ForecastInputError(f"{alias!r} is not a forecasting model (a forecasting.base.Model instance).")
        if alias in out:
            raise ForecastInputError(f"Two models share the alias {alias!r}; give each its own alias=.")
        out[alias] = m
    if not out:
        raise ForecastInputError("Give at least one model to backtest.")
    return out


def cross_validation(
    df: pd.DataFrame,
    models,
    h: int,
    n_windows: int = 4,
    step: int | None = None,
    level: Iterable[float] | float | None = (80,),
    calendar=None,
) -> pd.DataFrame:
    """Rolling-origin forecasts of every model, one row per series, model, window and period.

    Parameters
    ----------
    df : pandas.DataFrame
        Long format ``unique_id, ds, y``.
    models : Model, list of Model or mapping of name to Model
        The models (copied before fitting: the caller's objects are not changed). Each is
        fitted with its own calendar.
    h : int
        Periods forecast from each origin.
    n_windows : int
        Number of origins.
    step : int, optional
        Periods between origins (default ``h``: windows tile the last ``n_windows * h``
        periods).
    level : iterable of float
        Interval levels (percent).
    calendar : Calendar or mapping, optional
        Which periods are closed, hence excluded from the metrics (``closed`` column);
        default England, Mon–Fri 08:00–18:30, the models' default.

    Returns
    -------
    pandas.DataFrame
        ``unique_id, model, window (1 = earliest), cutoff (last training ds), ds, step
        (1..h), y, closed`` (closed or a data gap: not scored), ``gap`` (a data gap), ``yhat`` and ``lo_<L>, hi_<L>`` per level; plus ``time_s`` (the
        model's fit + predict time for the window divided by the number of series).

    Raises
    ------
    ForecastInputError
        Bad arguments, or a series too short for the windows.
    """
    data, freq = check_series(df)
    models = _models(models)
    levels = check_levels(level)
    h = _positive(h, "h")
    n_windows = _positive(n_windows, "n_windows")
    step = h if step is None else _positive(step, "step")
    sizes = data.groupby(ID, sort=False).size()
    need = h + (n_windows - 1) * step
    short = sizes[sizes <= need]
    if len(short):
        raise ForecastInputError(
            f"Series {', '.join(map(str, short.index[:5]))} have {int(short.min())} periods; {n_windows} windows of "
            f"h={h} every {step} periods need more than {need}. Use fewer windows or a shorter h."
        )
    truth = list(split_series(data, freq, calendar))  # closed mask of the metrics
    gaps = {s.uid: _gap_mask(s) for s in truth}
    by_calendar: dict[int, list[SeriesData]] = {}
    parts = []
    for w in range(1, n_windows + 1):
        back = h + (n_windows - w) * step  # periods held out after the cutoff
        test = pd.DataFrame(
            {
                ID: np.repeat([s.uid for s in truth], h),
                DS: np.concatenate([s.ds[len(s.y) - back : len(s.y) - back + h] for s in truth]),
                Y: np.concatenate([s.y[len(s.y) - back : len(s.y) - back + h] for s in truth]),
                "closed": np.concatenate([s.closed[len(s.y) - back : len(s.y) - back + h] for s in truth]),
                "gap": np.concatenate([gaps[s.uid][len(s.y) - back : len(s.y) - back + h] for s in truth]),
                "step": np.tile(np.arange(1, h + 1), len(truth)),
                "cutoff": np.repeat([s.ds[len(s.y) - back - 1] for s in truth], h),
            }
        )
        for alias, model in models.items():
            key = id(model.calendar)
            if key not in by_calendar:  # each model fits with its own calendar
                by_calendar[key] = list(split_series(data, freq, model.calendar))
            train = [s.head(len(s.y) - back) for s in by_calendar[key]]
            m = copy.deepcopy(model)
            t0 = time.perf_counter()
            fc = m.fit_series(train).predict(h, level=levels)
            elapsed = time.perf_counter() - t0
            cols = interval_columns(m.alias, levels)
            fc = fc.rename(columns={cols[0]: "yhat", **{c: _bound_name(c, m.alias) for c in cols[1:]}})
            got = test.merge(fc, on=[ID, DS], how="left", validate="one_to_one")
            got.insert(1, "model", alias)
            got.insert(2, "window", w)
            got["time_s"] = elapsed / len(train)
            parts.append(got)
    out = pd.concat(parts, ignore_index=True)
    order = [ID, "model", "window", "cutoff", DS, "step", Y, "closed", "gap", "yhat"]
    order += [c for lv in levels for c in (f"lo_{lv:g}", f"hi_{lv:g}")] + ["time_s"]
    out = out[order]
    out.attrs["freq"] = freq
    out.attrs["levels"] = levels
    return out


def _gap_mask(s: SeriesData) -> np.ndarray:
    """Periods of ``s`` on its calendar's data gaps (masked as closed, but not closures)."""
    is_gap = getattr(s.calendar, "is_gap", None)
    return np.zeros(len(s.ds), dtype=bool) if is_gap is None or not s.calendar.gaps else is_gap(s.ds)


def _bound_name(col: str, alias: str) -> str:
    side, lv = col[len(alias) + 1 :].split("-", 1)
    return f"{side}_{lv}"


def _positive(v, name: str) -> int:
    try:
        iv = int(v)
    except (TypeError, ValueError):
        raise ForecastInputError(f"{name} must be a positive whole number, got {v!r}.") from None
    if iv != v or iv < 1:
        raise ForecastInputError(f"{name} must be a positive whole number, got {v!r}.")
    return iv


def seasonal_scale(s: SeriesData) -> float:
    """In-sample mean absolute error of the weekly seasonal naive over open periods.

    Pairs ``(t, t - week)`` count only when both periods are open. NaN without such a pair.
    """
    k = s.per_week
    if len(s.y) <= k:
        return float("nan")
    both = s.open[k:] & s.open[:-k]
    if not both.any():
        return float("nan")
    return float(np.mean(np.abs(s.y[k:] - s.y[:-k])[both]))


def rolling_scores(s: SeriesData, model: Model, h: int, n_windows: int, step: int) -> dict[str, float]:
    """Pooled MASE, WAPE and RMSE of one model's rolling-origin forecasts of one series.

    The lean path of :func:`cross_validation` + :func:`score` + :func:`summarise` for one
    series (no frames built), used to choose models per series. Closed periods follow
    ``s.calendar``, which the model is also fitted with.

    Returns
    -------
    dict
        ``mase, wape, rmse`` (NaN where undefined).

    Raises
    ------
    ForecastInputError
        When the series is too short or the model cannot fit a window.
    """
    n = len(s.y)
    scaled = abs_sum = sq_sum = y_sum = 0.0
    count = scaled_count = 0
    for w in range(1, n_windows + 1):
        back = h + (n_windows - w) * step
        if n - back < 1:
            raise ForecastInputError(f"Series {s.uid} is too short for {n_windows} windows of h={h}.")
        train = s.head(n - back)
        m = copy.deepcopy(model).fit_series([train])
        _, mu = m.predict_means(s.uid, h)
        sl = slice(n - back, n - back + h)
        keep = ~s.closed[sl]
        y, e = s.y[sl][keep], np.abs(s.y[sl] - mu)[keep]
        scale = seasonal_scale(train)
        abs_sum += e.sum()
        sq_sum += (e * e).sum()
        y_sum += y.sum()
        count += len(e)
        if scale > 0:
            scaled += e.sum() / scale
            scaled_count += len(e)
    nan = float("nan")
    return {
        "mase": scaled / scaled_count if scaled_count else nan,
        "wape": abs_sum / y_sum if y_sum > 0 else nan,
        "rmse": float(np.sqrt(sq_sum / count)) if count else nan,
    }


def _bucket(step: np.ndarray, horizon: str, per_day: int) -> np.ndarray:
    if horizon == "step":
        return step
    if horizon == "day":
        return (step - 1) // per_day + 1
    if horizon == "week":
        return (step - 1) // (7 * per_day) + 1
    return np.ones_like(step)


def score(cv: pd.DataFrame, df: pd.DataFrame, horizon: str | None = None, calendar=None) -> pd.DataFrame:
    """Metrics of cross-validation forecasts per series, model, window and horizon bucket.

    Parameters
    ----------
    cv : pandas.DataFrame
        Output of :func:`cross_validation`.
    df : pandas.DataFrame
        The series it was run on (for the in-sample MASE scale of each window).
    horizon : {"step", "day", "week", "all"}, optional
        Horizon buckets: each step ahead, each day ahead (periods ``1..per_day`` are day 1),
        each week ahead, or all together. Default: ``day`` for sub-daily data, ``step`` for
        daily data up to two weeks ahead, else ``week``.
    calendar : Calendar or mapping, optional
        As given to :func:`cross_validation` (for the scale's open periods).

    Returns
    -------
    pandas.DataFrame
        One row per ``unique_id, model, window, horizon`` with ``cutoff, n`` (open periods),
        ``mase, wape, rmse``, ``coverage_<L>, pinball_<L>`` per level, the sums the summary
        pools (``sum_abs_error, sum_sq_error, sum_y``), ``scale`` and ``time_s``. Cells with
        no open period are left out.
    """
    data, freq = check_series(df)
    series = {s.uid: s for s in split_series(data, freq, calendar)}
    levels = cv.attrs.get("levels") or tuple(float(c[3:]) for c in cv.columns if c.startswith("lo_"))
    per_day = next(iter(series.values())).per_day
    if horizon is None:
        max_step = int(cv["step"].max()) if len(cv) else 1
        horizon = "day" if per_day > 1 else ("step" if max_step <= 14 else "week")
    if horizon not in HORIZONS:
        raise ForecastInputError(f"Unknown horizon {horizon!r}; use one of {', '.join(HORIZONS)}.")
    scales = {}
    for (uid, cutoff), _ in cv.groupby([ID, "cutoff"], sort=False):
        s = series[uid]
        n_train = int(np.searchsorted(s.ds.as_unit("ns").asi8, pd.Timestamp(cutoff).as_unit("ns").value, side="right"))
        sub = SeriesData(uid, s.ds[:n_train], s.y[:n_train], s.closed[:n_train], s.freq, s.calendar)
        scales[(uid, cutoff)] = seasonal_scale(sub)

    windows = _window_accounts(cv)
    ev = cv.loc[~cv["closed"].to_numpy(dtype=bool)].copy()
    ev["horizon"] = _bucket(ev["step"].to_numpy(), horizon, per_day)
    e = ev[Y].to_numpy() - ev["yhat"].to_numpy()
    ev["abs_error"] = np.abs(e)
    ev["sq_error"] = e * e
    y = ev[Y].to_numpy()
    for lv in levels:
        lo, hi = ev[f"lo_{lv:g}"].to_numpy(), ev[f"hi_{lv:g}"].to_numpy()
        ql, qh = level_quantiles(lv)
        ev[f"covered_{lv:g}"] = ((lo <= y) & (y <= hi)).astype(float)
        ev[f"pin_{lv:g}"] = (_pinball(y, lo, ql) + _pinball(y, hi, qh)) / 2
    keys = [ID, "model", "window", "horizon"]
    agg = {
        "cutoff": ("cutoff", "first"),
        "n": (Y, "size"),
        "sum_abs_error": ("abs_error", "sum"),
        "sum_sq_error": ("sq_error", "sum"),
        "sum_y": (Y, "sum"),
        "time_s": ("time_s", "first"),
    }
    for lv in levels:
        agg[f"coverage_{lv:g}"] = (f"covered_{lv:g}", "mean")
        agg[f"pinball_{lv:g}"] = (f"pin_{lv:g}", "mean")
    out = ev.groupby(keys, sort=True).agg(**agg).reset_index()
    out["scale"] = [scales[(u, c)] for u, c in zip(out[ID], out["cutoff"])]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["mase"] = out["sum_abs_error"] / out["n"] / out["scale"].where(out["scale"] > 0)
        out["wape"] = out["sum_abs_error"] / out["sum_y"].where(out["sum_y"] > 0)
        out["rmse"] = np.sqrt(out["sum_sq_error"] / out["n"])
    cols = keys + ["cutoff", "n", "mase", "wape", "rmse"]
    cols += [c for lv in levels for c in (f"coverage_{lv:g}", f"pinball_{lv:g}")]
    cols += ["sum_abs_error", "sum_sq_error", "sum_y", "scale", "time_s"]
    out = out[cols]
    out.attrs["levels"] = levels
    out.attrs["horizon"] = horizon
    out.attrs["windows"] = windows
    return out


def _window_accounts(cv: pd.DataFrame) -> list[dict]:
    """Per series, model and window: periods forecast, closed, in data gaps, scored (records)."""
    closed = cv["closed"].to_numpy(dtype=bool)
    gap = cv["gap"].to_numpy(dtype=bool) if "gap" in cv.columns else np.zeros(len(cv), dtype=bool)
    missing = ~closed & ~np.isfinite(cv["yhat"].to_numpy(dtype=float))
    acc = pd.DataFrame(
        {
            ID: cv[ID].to_numpy(),
            "model": cv["model"].to_numpy(),
            "window": cv["window"].to_numpy(),
            "cutoff": cv["cutoff"].to_numpy(),
            "periods": 1,
            "closed": (closed & ~gap).astype(int),
            "gaps": gap.astype(int),
            "no_forecast": missing.astype(int),
        }
    )
    out = acc.groupby([ID, "model", "window"], sort=True).agg(
        cutoff=("cutoff", "first"), periods=("periods", "sum"), closed=("closed", "sum"),
        gaps=("gaps", "sum"), no_forecast=("no_forecast", "sum"),
    ).reset_index()
    out["scored"] = out["periods"] - out["closed"] - out["gaps"]
    # records, not a frame: pandas compares attrs when concatenating, and a frame cannot be
    return out.to_dict("records")


def window_notes(results: pd.DataFrame) -> list[str]:
    """What the scores leave out, in sentences: skipped windows (and why), closed and gap periods.

    Parameters
    ----------
    results : pandas.DataFrame
        Output of :func:`backtest` / :func:`score` (its ``attrs["windows"]``).

    Returns
    -------
    list of str
        Empty when every period of every window was scored.
    """
    records = results.attrs.get("windows")
    if not records:
        return []
    acc = pd.DataFrame(list(records))
    notes = []
    for (uid, model), g in acc.groupby([ID, "model"], sort=True):
        skipped = g[g["scored"] == 0]
        for _, w in skipped.iterrows():
            why = []
            if w["closed"]:
                why.append(f"{int(w['closed'])} closed")
            if w["gaps"]:
                why.append(f"{int(w['gaps'])} in data gaps")
            notes.append(
                f"{model}, series {uid}: window {int(w['window'])} (after {pd.Timestamp(w['cutoff']):%Y-%m-%d %H:%M}) "
                f"skipped: none of its {int(w['periods'])} periods could be scored ({' and '.join(why)})"
            )
        closed, gaps, nf = int(g["closed"].sum()), int(g["gaps"].sum()), int(g["no_forecast"].sum())
        if closed or gaps:
            parts = [f"{closed:,} closed" if closed else "", f"{gaps:,} in data gaps" if gaps else ""]
            notes.append(
                f"{model}, series {uid}: {int(g['scored'].sum()):,} of {int(g['periods'].sum()):,} periods scored over "
                f"{int((g['scored'] > 0).sum())} of {len(g)} windows; left out: {' and '.join(p for p in parts if p)}"
            )
        if nf:
            notes.append(f"{model}, series {uid}: {nf:,} open periods had no forecast (scored as missing values)")
    return notes


def _pinball(y: np.ndarray, x: np.ndarray, q: float) -> np.ndarray:
    d = y - x
    return np.maximum(q * d, (q - 1) * d)


def backtest(
    df: pd.DataFrame,
    models,
    h: int,
    n_windows: int = 4,
    step: int | None = None,
    level: Iterable[float] | float | None = (80,),
    horizon: str | None = None,
    calendar=None,
) -> pd.DataFrame:
    """Rolling-origin backtest of any models: :func:`cross_validation` then :func:`score`.

    Parameters
    ----------
    df, models, h, n_windows, step, level, calendar
        See :func:`cross_validation`.
    horizon : {"step", "day", "week", "all"}, optional
        Horizon buckets (see :func:`score`).

    Returns
    -------
    pandas.DataFrame
        Tidy metrics per ``unique_id, model, window, horizon`` (see :func:`score`).

    Examples
    --------
    >>> from forecasting.models import SeasonalNaive, SeasonalAverage   # doctest: +SKIP
    >>> res = backtest(df, [SeasonalNaive(), SeasonalAverage()], h=168, n_windows=4)  # doctest: +SKIP
    >>> summarise(res)  # doctest: +SKIP
    """
    cv = cross_validation(df, models, h, n_windows, step, level, calendar)
    return score(cv, df, horizon, calendar)


def summarise(results: pd.DataFrame, by_horizon: bool = False) -> pd.DataFrame:
    """Pool backtest results per model (and horizon bucket) and mark the best model.

    Parameters
    ----------
    results : pandas.DataFrame
        Output of :func:`backtest` / :func:`score`.
    by_horizon : bool
        One row per model and horizon bucket instead of per model.

    Returns
    -------
    pandas.DataFrame
        ``model`` (and ``horizon``), ``series, windows`` (windows scored), ``n`` (periods
        scored), ``mase`` (mean scaled error over
        every open period: ``sum(|e| / scale) / n``), ``wape`` (pooled), ``rmse`` (pooled),
        ``coverage_<L>``, ``pinball_<L>`` (period-weighted means), ``time_s`` (mean fit +
        predict seconds per series and window) and ``best`` (lowest MASE of its group).
        Sorted by MASE within each group. ``attrs["notes"]``: skipped windows and why, and the
        closed and data-gap periods left out (:func:`window_notes`).
    """
    levels = results.attrs.get("levels") or tuple(float(c[9:]) for c in results.columns if c.startswith("coverage_"))
    r = results.copy()
    r["_scaled"] = r["mase"] * r["n"]
    r["_ok"] = r["n"].where(r["mase"].notna(), 0)
    for lv in levels:
        r[f"_cov_{lv:g}"] = r[f"coverage_{lv:g}"] * r["n"]
        r[f"_pin_{lv:g}"] = r[f"pinball_{lv:g}"] * r["n"]
    keys = ["model", "horizon"] if by_horizon else ["model"]
    g = r.groupby(keys, sort=True)
    out = g.agg(
        series=(ID, "nunique"),
        windows=("window", "nunique"),
        n=("n", "sum"),
        _scaled=("_scaled", "sum"),
        _ok=("_ok", "sum"),
        _abs=("sum_abs_error", "sum"),
        _sq=("sum_sq_error", "sum"),
        _y=("sum_y", "sum"),
        **{f"_cov_{lv:g}": (f"_cov_{lv:g}", "sum") for lv in levels},
        **{f"_pin_{lv:g}": (f"_pin_{lv:g}", "sum") for lv in levels},
    ).reset_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        out["mase"] = out["_scaled"] / out["_ok"].where(out["_ok"] > 0)
        out["wape"] = out["_abs"] / out["_y"].where(out["_y"] > 0)
        out["rmse"] = np.sqrt(out["_sq"] / out["n"])
        for lv in levels:
            out[f"coverage_{lv:g}"] = out[f"_cov_{lv:g}"] / out["n"]
            out[f"pinball_{lv:g}"] = out[f"_pin_{lv:g}"] / out["n"]
    # time per series and window: the time of a window is repeated on each of its cells
    per_window = results.drop_duplicates([ID, "model", "window"])
    times = per_window.groupby("model")["time_s"].mean()
    out["time_s"] = out["model"].map(times).to_numpy()
    group = ["horizon"] if by_horizon else []
    best = out.groupby(group)["mase"].transform("min") if group else pd.Series(out["mase"].min(), index=out.index)
    out["best"] = out["mase"].eq(best) & out["mase"].notna()
    cols = keys + ["series", "windows", "n", "mase", "wape", "rmse"]
    cols += [c for lv in levels for c in (f"coverage_{lv:g}", f"pinball_{lv:g}")] + ["time_s", "best"]
    out = out[cols].sort_values(group + ["mase"], kind="stable").reset_index(drop=True)
    out.attrs["levels"] = levels
    out.attrs["notes"] = window_notes(results)
    return out


def plot_backtest(results: pd.DataFrame):
    """A figure of backtest results: MASE by horizon per model, and interval coverage.

    Parameters
    ----------
    results : pandas.DataFrame
        Output of :func:`backtest`.

    Returns
    -------
    matplotlib.figure.Figure
        Left: MASE per horizon bucket, one line per model. Right: coverage of each interval
        level per model, with the nominal levels dashed. Nothing is shown or saved.
    """
    from matplotlib.figure import Figure  # heavy, and only for the optional plot

    levels = results.attrs.get("levels") or tuple(float(c[9:]) for c in results.columns if c.startswith("coverage_"))
    by_h = summarise(results, by_horizon=True)
    overall = summarise(results)
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    for model, g in by_h.groupby("model", sort=True):
        g = g.sort_values("horizon")
        ax1.plot(g["horizon"], g["mase"], marker="o", label=str(model))
    ax1.axhline(1.0, color="grey", lw=0.8, ls=":")
    ax1.set_xlabel(f"horizon ({results.attrs.get('horizon', 'bucket')})")
    ax1.set_ylabel("MASE (weekly seasonal scale)")
    ax1.set_title("Accuracy by horizon")
    ax1.legend(fontsize="small")
    models = list(overall["model"])
    x = np.arange(len(models))
    width = 0.8 / max(len(levels), 1)
    for i, lv in enumerate(levels):
        ax2.bar(x + i * width, overall[f"coverage_{lv:g}"], width, label=f"{lv:g}% interval")
        ax2.axhline(lv / 100, color="grey", lw=0.8, ls="--")
    ax2.set_xticks(x + width * (len(levels) - 1) / 2, models, rotation=30, ha="right")
    ax2.set_ylim(0, 1)
    ax2.set_ylabel("share of periods inside the interval")
    ax2.set_title("Interval coverage")
    if levels:
        ax2.legend(fontsize="small")
    return fig
