"""Forecasts that add up across practices, and where same-day capacity could be shared.

A federation's practices sit in Primary Care Networks (PCNs), the PCNs in the federation: a
three-level hierarchy (practice → PCN → federation, from the practices registry). Forecasting
each practice, each PCN and the federation separately gives numbers that do not add up; the
functions here *reconcile* them so that they do, with intervals. Pure functions over
DataFrames, no I/O.

Hierarchical reconciliation
---------------------------
Stack the nodes' base forecasts ``ŷ`` (every node: federation, PCNs, practices) and let ``S``
be the summing matrix (a row per node, a column per practice, 1 where the practice is in the
node). A reconciled forecast is ``ỹ = S P ŷ`` for a matrix ``P`` that maps base forecasts to
practice forecasts; it adds up by construction.

- ``bottom_up``: ``P = [0 | I]``: the practices' own forecasts, summed upwards.
- ``mint_shrink`` (Wickramasuriya, Athanasopoulos & Hyndman 2019, "MinT"):
  ``P = (S' W⁻¹ S)⁻¹ S' W⁻¹`` with ``W`` the covariance of the base forecasts' errors,
  estimated from backtest (or in-sample) residuals and shrunk towards its diagonal (Schäfer &
  Strimmer 2005, the shrinkage intensity estimated from the residuals): with a year of weekly
  windows there are far fewer residuals than the ``n x n`` entries of ``W``, and the sample
  covariance is singular. MinT gives the coherent forecast with the least total error
  variance; a PCN's own forecast, often steadier than its practices', then informs theirs.
- ``mint_ols`` (``W = I``) is there for comparison.

Intervals: the base error covariance at each period is ``D R D`` (``R`` the shrunk residual
correlation, ``D`` the base forecasts' standard deviations at that period, read from their
widest interval as if normal); the reconciled covariance is ``S P (D R D) P' S'`` and each
node's interval is its reconciled mean ± ``z`` standard deviations, clipped at zero (a normal
approximation: base count intervals are a little skewed, the sums of several practices less so).
A reconciled practice forecast below zero (MinT can do that on a quiet day) is set to zero and
the sums are made again, so the numbers still add up.

Why not ``hierarchicalforecast``
--------------------------------
Nixtla's package implements the same formulas (``BottomUp``, ``MinTrace(method="mint_shrink")``)
and is well kept, but it brings numba, its own frame conventions and a dozen dependencies for
what is here about sixty lines of NumPy that the tests check against the definitions; and
Frontdoor's intervals come from count models (:mod:`forecasting.intervals`), which its
normal-theory bootstrap does not know. The formulas are the same, so the choice can be revisited
without changing the frames below.

Same-day capacity across practices
----------------------------------
:func:`same_day_pressure` summarises each practice's next-week session pressure
(:func:`forecasting.outlook.session_pressure`); :func:`shareable_capacity` sets, within each PCN
and session, the practices expected to run short against those expected to have slots left:
``E[(C - D)+] = C - μ + E[(D - C)+]`` exactly, from the pressure table's own columns. A slot
left over at one practice can be offered to another's patients only through an arrangement the
PCN already runs (a hub, a shared list), so the table says how many whole slots could move, not
that they will.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from forecasting.backtest import cross_validation
from forecasting.base import ForecastInputError
from forecasting.models import make_model
from forecasting.pipeline import forecast_series

__all__ = [
    "LEVEL_ORDER",
    "METHODS",
    "HierarchyError",
    "hierarchy_from_registry",
    "summing_matrix",
    "aggregate_series",
    "tidy_forecast",
    "backtest_residuals",
    "shrunk_covariance",
    "reconcile",
    "HierarchyForecast",
    "forecast_hierarchy",
    "same_day_pressure",
    "shareable_capacity",
    "outlook_forecasts",
    "outlook_pressure",
]

#: The levels of the hierarchy, top first.
LEVEL_ORDER: tuple[str, ...] = ("federation", "pcn", "practice")
#: Reconciliation methods :func:`reconcile` knows.
METHODS: tuple[str, ...] = ("bottom_up", "mint_shrink", "mint_ols")


class HierarchyError(ForecastInputError):
    """The hierarchy, forecasts or residuals given cannot be reconciled as they are."""


# ============================================================================ the hierarchy


def hierarchy_from_registry(registry: pd.DataFrame, federation: str | None = None) -> pd.DataFrame:
    """The practice → PCN → federation tree from the practices registry.

    Parameters
    ----------
    registry : pandas.DataFrame
        :func:`telephony.practices.read_registry` (or ``read_practices``) rows: at least
        ``practice_id``, ``pcn_code``, ``federation``.
    federation : str, optional
        Keep this federation's practices only. Without it the registry must hold one federation.

    Returns
    -------
    pandas.DataFrame
        ``practice_id, pcn_code, pcn_name, federation``, one row per practice, sorted by PCN
        then practice.

    Raises
    ------
    HierarchyError
        Columns missing, a practice without a PCN or federation, several federations and none
        chosen, or a code used at two levels.
    """
    need = ["practice_id", "pcn_code", "federation"]
    missing = [c for c in need if c not in registry.columns]
    if missing:
        raise HierarchyError(f"the registry lacks column(s) {', '.join(missing)}; pass read_registry(store) rows.")
    reg = registry.copy()
    if "pcn_name" not in reg.columns:
        reg["pcn_name"] = reg["pcn_code"]
    feds = sorted(reg["federation"].dropna().astype(str).unique())
    if federation is not None:
        if federation not in feds:
            raise HierarchyError(
                f"no practice of federation {federation!r} in the registry; give `federation` one of: {', '.join(feds) or 'none'}"
            )
        reg = reg[reg["federation"] == federation]
    elif len(feds) > 1:
        raise HierarchyError(f"the registry holds {len(feds)} federations ({', '.join(feds)}); give `federation`.")
    bad = reg[reg["pcn_code"].isna() | reg["federation"].isna()]
    if len(bad):
        raise HierarchyError(
            f"practice(s) {', '.join(bad['practice_id'].astype(str)[:5])} have no PCN or federation in the registry; "
            "fill `pcn_code` and `federation` (frontdoor practices import)."
        )
    out = reg[["practice_id", "pcn_code", "pcn_name", "federation"]].astype(str).drop_duplicates("practice_id")
    clash = (set(out["practice_id"]) | set(out["federation"])) & set(out["pcn_code"])
    clash |= set(out["practice_id"]) & set(out["federation"])
    if clash:
        raise HierarchyError(f"code(s) {', '.join(sorted(clash))} name nodes at two levels; every code must be unique.")
    return out.sort_values(["pcn_code", "practice_id"]).reset_index(drop=True)


def summing_matrix(hierarchy: pd.DataFrame) -> pd.DataFrame:
    """The summing matrix ``S``: a row per node (federation, PCNs, practices), a column per practice.

    Returns
    -------
    pandas.DataFrame
        Index ``unique_id`` (node code), column ``level`` (:data:`LEVEL_ORDER`) then one 0/1
        int column per practice.
    """
    practices = hierarchy["practice_id"].tolist()
    rows, ids, levels = [], [], []
    for fed in sorted(hierarchy["federation"].unique()):
        rows.append(hierarchy["federation"].eq(fed).to_numpy().astype(np.int64))
        ids.append(fed)
        levels.append("federation")
    for pcn in sorted(hierarchy["pcn_code"].unique()):
        rows.append(hierarchy["pcn_code"].eq(pcn).to_numpy().astype(np.int64))
        ids.append(pcn)
        levels.append("pcn")
    eye = np.eye(len(practices), dtype=np.int64)
    rows.extend(eye)
    ids.extend(practices)
    levels.extend(["practice"] * len(practices))
    s = pd.DataFrame(np.vstack(rows), index=pd.Index(ids, name="unique_id"), columns=practices)
    s.insert(0, "level", levels)
    return s


def _s(hierarchy: pd.DataFrame) -> tuple[np.ndarray, list[str], list[str], list[str]]:
    sm = summing_matrix(hierarchy)
    return sm.drop(columns="level").to_numpy(float), sm.index.tolist(), sm["level"].tolist(), list(sm.columns[1:])


def aggregate_series(df: pd.DataFrame, hierarchy: pd.DataFrame) -> pd.DataFrame:
    """Every node's series from the practices' series: PCN and federation rows are sums.

    Parameters
    ----------
    df : pandas.DataFrame
        Long ``unique_id, ds, y`` with ``unique_id`` the practice ids of ``hierarchy``.

    Returns
    -------
    pandas.DataFrame
        ``unique_id, ds, y`` for every node (federation, PCNs, practices), a period missing for
        a practice counted as 0 in the sums.

    Raises
    ------
    HierarchyError
        A practice of the hierarchy without a series.
    """
    s, ids, _, practices = _s(hierarchy)
    wide = df.pivot_table(index="ds", columns="unique_id", values="y", aggfunc="sum")
    missing = [p for p in practices if p not in wide.columns]
    if missing:
        raise HierarchyError(f"no series for practice(s) {', '.join(missing[:5])}; give every practice of the hierarchy.")
    wide = wide[practices].fillna(0.0)
    allv = wide.to_numpy(float) @ s.T
    out = pd.DataFrame(allv, index=wide.index, columns=ids).rename_axis(columns="unique_id")
    return out.stack().rename("y").reset_index()[["unique_id", "ds", "y"]]


# ============================================================================ forecasts and residuals


def tidy_forecast(fc: pd.DataFrame, alias: str) -> pd.DataFrame:
    """A model's ``predict`` frame as ``unique_id, ds, mean, lo<L>, hi<L>`` (the frames :func:`reconcile` takes)."""
    out = pd.DataFrame({"unique_id": fc["unique_id"].astype(str).to_numpy(), "ds": pd.DatetimeIndex(fc["ds"]),
                        "mean": fc[alias].to_numpy(float)})
    for col in fc.columns:
        if col.startswith(f"{alias}-lo-") or col.startswith(f"{alias}-hi-"):
            side, lv = col[len(alias) + 1:].split("-", 1)
            out[f"{side}{lv}"] = fc[col].to_numpy(float)
    return out


def backtest_residuals(cv: pd.DataFrame) -> pd.DataFrame:
    """Errors of rolling-origin forecasts, one column per node: the input of ``W``.

    Parameters
    ----------
    cv : pandas.DataFrame
        :func:`forecasting.backtest.cross_validation` output for every node and one model
        (``unique_id, cutoff, ds, y, yhat, closed``).

    Returns
    -------
    pandas.DataFrame
        Index ``(cutoff, ds)``, a column per node, ``y - yhat``; closed periods left out (their
        zero errors would make the errors look smaller and more alike than they are); only
        periods every node has.
    """
    need = ["unique_id", "cutoff", "ds", "y", "yhat"]
    missing = [c for c in need if c not in cv.columns]
    if missing:
        raise HierarchyError(f"residuals lack column(s) {', '.join(missing)}; pass cross_validation(...) output.")
    if "model" in cv.columns and cv["model"].nunique() > 1:
        raise HierarchyError("the backtest holds several models; pass one model's rows.")
    c = cv
    if "closed" in c.columns:
        c = c[~c["closed"].astype(bool)]
    e = c.assign(e=c["y"].astype(float) - c["yhat"].astype(float))
    return e.pivot_table(index=["cutoff", "ds"], columns="unique_id", values="e").dropna()


def shrunk_covariance(residuals: np.ndarray) -> tuple[np.ndarray, float]:
    """Covariance of the errors shrunk towards its diagonal (Schäfer & Strimmer 2005, target D).

    Parameters
    ----------
    residuals : numpy.ndarray
        ``T x n`` errors (rows: periods, columns: nodes).

    Returns
    -------
    (numpy.ndarray, float)
        The ``n x n`` covariance and the shrinkage intensity ``λ`` in [0, 1] (1: the diagonal
        only). The intensity minimises the expected squared error of the correlations:
        ``λ = Σ_{i≠j} Var(r_ij) / Σ_{i≠j} r_ij²``, the variances estimated from the
        standardised residuals' cross-products.

    Raises
    ------
    HierarchyError
        Fewer than three periods.
    """
    x = np.asarray(residuals, dtype=float)
    t, n = x.shape
    if t < 3:
        raise HierarchyError(f"{t} residual periods are too few for an error covariance; backtest more windows (at least 3 periods).")
    xc = x - x.mean(axis=0)
    sd = xc.std(axis=0, ddof=1)
    # A node with no error at all (a series of zeros) would divide by zero: it has no variance
    # to share and keeps a tiny one so W stays invertible.
    tiny = sd <= 1e-12
    sd = np.where(tiny, 1.0, sd)
    z = xc / sd
    w = z[:, :, None] * z[:, None, :]  # T x n x n
    r = w.sum(axis=0) / (t - 1)
    var_r = t / (t - 1) ** 3 * ((w - w.mean(axis=0)) ** 2).sum(axis=0)
    off = ~np.eye(n, dtype=bool)
    denom = (r[off] ** 2).sum()
    lam = 1.0 if denom <= 0 else float(np.clip(var_r[off].sum() / denom, 0.0, 1.0))
    rs = np.where(off, (1 - lam) * r, 1.0)
    var = np.where(tiny, 1e-6, xc.std(axis=0, ddof=1) ** 2)
    sdv = np.sqrt(var)
    return rs * np.outer(sdv, sdv), lam


def _z(level: float) -> float:
    return NormalDist().inv_cdf(0.5 + level / 200.0)


def _levels(fc: pd.DataFrame) -> list[int]:
    return sorted({int(c[2:]) for c in fc.columns if c.startswith("lo") and c[2:].isdigit() and f"hi{c[2:]}" in fc.columns})


def reconcile(
    forecasts: pd.DataFrame,
    hierarchy: pd.DataFrame,
    residuals: pd.DataFrame | None = None,
    method: str = "mint_shrink",
    level: Iterable[int] | None = None,
) -> pd.DataFrame:
    """Forecasts of every practice, PCN and the federation that add up, with intervals.

    Parameters
    ----------
    forecasts : pandas.DataFrame
        Base forecasts ``unique_id, ds, mean`` and ``lo<L>, hi<L>`` (:func:`tidy_forecast`,
        or :class:`forecasting.outlook.CallsForecast`'s frame with ``unique_id``), for every
        node of the hierarchy (``bottom_up`` needs the practices only).
    hierarchy : pandas.DataFrame
        :func:`hierarchy_from_registry`.
    residuals : pandas.DataFrame, optional
        :func:`backtest_residuals` of the same nodes and model. Needed by ``mint_shrink``; with
        ``bottom_up`` it gives the sums' intervals the practices' error correlation (without,
        practices' errors are taken as independent).
    method : {"bottom_up", "mint_shrink", "mint_ols"}
    level : iterable of int, optional
        Interval levels (percent); default those of ``forecasts``.

    Returns
    -------
    pandas.DataFrame
        ``unique_id, level`` (``federation``/``pcn``/``practice``), ``ds``, ``mean``,
        ``lo<L>, hi<L>``, ``base`` (the node's own forecast; NaN when it had none) and
        ``method``. Every PCN's ``mean`` is the sum of its practices', the federation's of all.
        ``attrs["shrinkage"]`` holds ``λ`` of :func:`shrunk_covariance` (NaN without residuals).

    Raises
    ------
    HierarchyError
        Unknown method; forecasts or residuals missing for nodes the method needs; periods
        that differ between nodes.
    """
    if method not in METHODS:
        raise HierarchyError(f"unknown reconciliation `method` {method!r}; use one of: {', '.join(METHODS)}")
    s, ids, node_levels, practices = _s(hierarchy)
    n, m = s.shape
    fc = forecasts.copy()
    fc["unique_id"] = fc["unique_id"].astype(str)
    fc["ds"] = pd.DatetimeIndex(fc["ds"])
    need = practices if method == "bottom_up" else ids
    have = set(fc["unique_id"])
    missing = [x for x in need if x not in have]
    if missing:
        raise HierarchyError(
            f"no base forecast for node(s) {', '.join(missing[:5])}; method {method!r} needs "
            f"{'every practice' if method == 'bottom_up' else 'every practice, PCN and the federation'}."
        )
    levels = sorted(set(level)) if level is not None else _levels(fc)
    mean = fc.pivot_table(index="ds", columns="unique_id", values="mean")
    if mean[[x for x in ids if x in mean.columns]].isna().any().any():
        raise HierarchyError("the nodes' forecasts cover different periods; forecast every node for the same periods.")
    base = mean.reindex(columns=ids)  # NaN columns: nodes without a base forecast
    ds = base.index
    # Base standard deviation per node and period from the widest interval (normal approximation).
    widest = max(_levels(fc), default=None)
    if widest is not None:
        half = (fc[f"hi{widest}"] - fc[f"lo{widest}"]) / (2 * _z(widest))
        sd = fc.assign(sd=half.clip(lower=0)).pivot_table(index="ds", columns="unique_id", values="sd").reindex(columns=ids)
    else:
        sd = pd.DataFrame(0.0, index=ds, columns=ids)

    lam = float("nan")
    corr = np.eye(n)
    if residuals is not None and len(residuals):
        cols = [x for x in ids if x in residuals.columns]
        if method.startswith("mint") and len(cols) < n:
            miss = [x for x in ids if x not in residuals.columns]
            raise HierarchyError(f"no residuals for node(s) {', '.join(miss[:5])}; backtest every node with the same model.")
        w_sub, lam = shrunk_covariance(residuals[cols].to_numpy(float))
        d = np.sqrt(np.diag(w_sub))
        idx = [ids.index(c) for c in cols]
        corr[np.ix_(idx, idx)] = w_sub / np.outer(d, d)
        w = np.diag(np.ones(n))
        w[np.ix_(idx, idx)] = w_sub
    elif method == "mint_shrink":
        raise HierarchyError("method 'mint_shrink' needs `residuals` (backtest_residuals of every node).")
    else:
        w = np.eye(n)

    if method == "bottom_up":
        p = np.hstack([np.zeros((m, n - m)), np.eye(m)])
    else:
        winv = np.linalg.inv(np.eye(n) if method == "mint_ols" else w)
        p = np.linalg.solve(s.T @ winv @ s, s.T @ winv)

    yhat = base.to_numpy(float)
    if method == "bottom_up":
        yhat = np.nan_to_num(yhat)  # aggregate columns are not used (P has zeros there)
    bottom = yhat @ p.T  # periods x practices
    # Counts cannot be negative: a practice below zero is set to zero and the sums follow.
    bottom = np.clip(bottom, 0.0, None)
    rec = bottom @ s.T
    sdm = np.nan_to_num(sd.to_numpy(float))
    sp = s @ p
    rows = []
    for i, t in enumerate(ds):
        cov_b = corr * np.outer(sdm[i], sdm[i])
        var = np.clip(np.einsum("ij,jk,ik->i", sp, cov_b, sp), 0.0, None)
        sdr = np.sqrt(var)
        for k, node in enumerate(ids):
            row = {"unique_id": node, "level": node_levels[k], "ds": t, "mean": rec[i, k]}
            for lv in levels:
                row[f"lo{lv}"] = max(0.0, rec[i, k] - _z(lv) * sdr[k])
                row[f"hi{lv}"] = rec[i, k] + _z(lv) * sdr[k]
            row["base"] = yhat[i, k] if not np.isnan(base.iat[i, k]) else np.nan
            rows.append(row)
    out = pd.DataFrame(rows)
    out["method"] = method
    order = {lv: i for i, lv in enumerate(LEVEL_ORDER)}
    out = out.sort_values(["level", "unique_id", "ds"], key=lambda c: c.map(order) if c.name == "level" else c)
    out = out.reset_index(drop=True)
    out.attrs["shrinkage"] = lam
    return out


@dataclass
class HierarchyForecast:
    """What :func:`forecast_hierarchy` made.

    Attributes
    ----------
    reconciled : dict of str to pandas.DataFrame
        :func:`reconcile` output per method.
    base : pandas.DataFrame
        Every node's own forecast (:func:`tidy_forecast`).
    residuals : pandas.DataFrame
        :func:`backtest_residuals` the covariance was estimated from.
    scores : pandas.DataFrame
        Per method and level, the backtest's mean absolute error of the reconciled forecasts
        against the truth (``method, level, mae``): how much reconciliation helped, measured.
    """

    reconciled: dict[str, pd.DataFrame]
    base: pd.DataFrame
    residuals: pd.DataFrame
    scores: pd.DataFrame = field(default_factory=pd.DataFrame)


def forecast_hierarchy(
    series: pd.DataFrame,
    hierarchy: pd.DataFrame,
    model: str = "seasonal_average",
    h: int = 7,
    n_windows: int = 6,
    calendar=None,
    methods: Iterable[str] = ("bottom_up", "mint_shrink"),
    level: Iterable[int] = (80, 95),
) -> HierarchyForecast:
    """Base forecasts of every node, their backtest errors, and reconciled forecasts.

    Parameters
    ----------
    series : pandas.DataFrame
        The practices' series ``unique_id, ds, y`` (e.g. daily calls from
        :func:`forecasting.series.series_from_calls`).
    hierarchy : pandas.DataFrame
        :func:`hierarchy_from_registry`.
    model : str
        Registry model (:data:`forecasting.models.MODELS`) used for every node.
    h, n_windows : int
        Periods ahead, and rolling origins of the backtest whose errors estimate ``W`` (each
        window gives ``h`` errors per node, closed periods left out).
    calendar : forecasting.calendar.Calendar, optional
    methods : iterable of str
        :data:`METHODS` to reconcile with.
    level : iterable of int

    Returns
    -------
    HierarchyForecast
    """
    methods = list(methods)
    bad = [x for x in methods if x not in METHODS]
    if bad:
        raise HierarchyError(f"unknown reconciliation method(s) {', '.join(bad)}; use: {', '.join(METHODS)}")
    level = tuple(level)
    allser = aggregate_series(series, hierarchy)
    fc, m = forecast_series(allser, model, horizon=h, calendar=calendar, level=level)
    base = tidy_forecast(fc, m.alias)
    mm = make_model(model)
    if calendar is not None:
        mm.calendar = calendar
    cv = cross_validation(allser, {model: mm}, h=h, n_windows=n_windows, level=level, calendar=calendar)
    resid = backtest_residuals(cv)
    rec = {meth: reconcile(base, hierarchy, resid, meth, level) for meth in methods}
    # How each method would have done in the backtest: reconcile each window's forecasts with
    # residuals of the *other* windows (no peeking at the errors being scored).
    scores = []
    lo_cols = {f"lo_{lv}": f"lo{lv}" for lv in level}
    hi_cols = {f"hi_{lv}": f"hi{lv}" for lv in level}
    for meth in ["base"] + methods:
        errs = []
        for cut, g in cv.groupby("cutoff"):
            if g["closed"].all():
                continue
            if meth == "base":
                r = g.rename(columns={"yhat": "mean"}).assign(level=g["unique_id"].map(_level_of(hierarchy)))
            else:
                others = resid.drop(index=cut, level="cutoff", errors="ignore")
                f = g.rename(columns={"yhat": "mean", **lo_cols, **hi_cols})
                r = reconcile(f, hierarchy, others if len(others) >= 3 else None, meth if len(others) >= 3 else "bottom_up", level)
                r = r.merge(g[["unique_id", "ds", "y", "closed"]], on=["unique_id", "ds"])
            r = r[~r["closed"].astype(bool)]
            errs.append(r.assign(ae=(r["y"] - r["mean"]).abs())[["level", "ae"]])
        if errs:
            e = pd.concat(errs)
            for lv, g in e.groupby("level"):
                scores.append({"method": meth, "level": lv, "mae": float(g["ae"].mean())})
    return HierarchyForecast(rec, base, resid, pd.DataFrame(scores))


def _level_of(hierarchy: pd.DataFrame) -> dict[str, str]:
    sm = summing_matrix(hierarchy)
    return dict(zip(sm.index, sm["level"]))


# ============================================================================ from the outlooks


def outlook_forecasts(outlooks: Mapping[str, object], freq: str = "D") -> pd.DataFrame:
    """The practices' next-week call forecasts (:func:`forecasting.outlook.outlook_week`) as one frame.

    Parameters
    ----------
    outlooks : mapping of practice_id to forecasting.outlook.WeekOutlook
    freq : {"D", "h"}

    Returns
    -------
    pandas.DataFrame
        ``unique_id, ds, mean, lo<L>, hi<L>``: :func:`reconcile`'s input for ``bottom_up``
        (MinT also needs the PCNs' and the federation's own forecasts:
        :func:`forecast_hierarchy`).

    Raises
    ------
    HierarchyError
        A practice whose outlook has no forecast (its error is quoted).
    """
    parts = []
    for pid, o in sorted(outlooks.items()):
        cf = o.calls.get(freq)
        if cf is None or cf.forecast is None:
            why = getattr(cf, "error", None) if cf is not None else f"no {freq!r} forecast"
            raise HierarchyError(f"{pid}: no call forecast to reconcile ({why}); leave the practice out or fix its history.")
        parts.append(cf.forecast.drop(columns=["closed"], errors="ignore").assign(unique_id=str(pid)))
    return pd.concat(parts, ignore_index=True)


def outlook_pressure(outlooks: Mapping[str, object]) -> dict[str, pd.DataFrame]:
    """Each practice's next-week session pressure frame, for :func:`same_day_pressure` and
    :func:`shareable_capacity`; practices without one (no slots, or its error) are left out."""
    out = {}
    for pid, o in outlooks.items():
        sp = getattr(o, "pressure", None)
        if sp is not None and sp.pressure is not None:
            out[str(pid)] = sp.pressure
    return out


# ============================================================================ same-day capacity


_PRESSURE_NEED = ["date", "session", "demand", "capacity", "p_exceed", "expected_shortfall"]


def same_day_pressure(pressure: Mapping[str, pd.DataFrame], threshold: float = 0.1) -> pd.DataFrame:
    """Next week's same-day pressure per practice, one row each.

    Parameters
    ----------
    pressure : mapping of practice_id to pandas.DataFrame
        Each practice's :class:`forecasting.outlook.SessionPressure` ``pressure`` frame
        (``date, session, demand, capacity, p_exceed, expected_shortfall, extra_sessions``).
    threshold : float
        A session is *under pressure* when ``p_exceed`` is above this (the outlook's
        :data:`forecasting.outlook.PRESSURE_THRESHOLD`).

    Returns
    -------
    pandas.DataFrame
        ``practice_id, demand, capacity`` (the week's same-day demand and slots),
        ``sessions_under_pressure``, ``worst_date, worst_session, worst_p_exceed``,
        ``expected_shortfall`` (patients short over the week), ``expected_spare`` (slots
        expected unused: ``E[(C - D)+]`` summed over sessions) and ``extra_sessions``.
    """
    rows = []
    for pid, pp in sorted(pressure.items()):
        missing = [c for c in _PRESSURE_NEED if c not in pp.columns]
        if missing:
            raise HierarchyError(f"{pid}: pressure lacks column(s) {', '.join(missing)}; pass SessionPressure.pressure.")
        spare = _spare(pp)
        worst = pp.sort_values(["p_exceed", "expected_shortfall"], ascending=False).head(1)
        rows.append({
            "practice_id": str(pid),
            "demand": float(pp["demand"].sum()),
            "capacity": float(pp["capacity"].sum()),
            "sessions_under_pressure": int((pp["p_exceed"] > threshold).sum()),
            "worst_date": worst["date"].iat[0] if len(worst) else pd.NaT,
            "worst_session": worst["session"].iat[0] if len(worst) else None,
            "worst_p_exceed": float(worst["p_exceed"].iat[0]) if len(worst) else np.nan,
            "expected_shortfall": float(pp["expected_shortfall"].sum()),
            "expected_spare": float(spare.sum()),
            "extra_sessions": int(pp["extra_sessions"].sum()) if "extra_sessions" in pp.columns else 0,
        })
    return pd.DataFrame(rows)


def _spare(pp: pd.DataFrame) -> pd.Series:
    # E[(C - D)+] = C - E[D] + E[(D - C)+]: exact, from the columns peak_pressure wrote.
    return (pp["capacity"] - pp["demand"] + pp["expected_shortfall"]).clip(lower=0.0)


def shareable_capacity(
    pressure: Mapping[str, pd.DataFrame], hierarchy: pd.DataFrame, threshold: float = 0.1, keep_back: float = 1.0
) -> pd.DataFrame:
    """Within each PCN and session next week: who is expected to run short, who to have slots left.

    Parameters
    ----------
    pressure : mapping of practice_id to pandas.DataFrame
        As for :func:`same_day_pressure`.
    hierarchy : pandas.DataFrame
        :func:`hierarchy_from_registry` (practices outside it are left out).
    threshold : float
        A practice is *short* in a session when ``p_exceed`` is above this.
    keep_back : float
        Slots a practice keeps for its own late callers before offering any (a practice
        with spare slots on average can still be busy on the day).

    Returns
    -------
    pandas.DataFrame
        One row per PCN, date and session where some practice is short: ``pcn_code, date,
        session``, ``short`` (practices short, ``;``-joined), ``expected_shortfall`` (their
        patients short, summed), ``offering`` (practices with slots to spare), ``spare_slots``
        (whole slots they could offer: ``floor(E[(C - D)+] - keep_back)`` per practice),
        ``shareable`` (whole slots: the smaller of shortfall, rounded up, and spare) and
        ``uncovered`` (shortfall left after sharing: needs extra sessions). Sorted by
        shortfall, largest first.
    """
    pcn_of = dict(zip(hierarchy["practice_id"].astype(str), hierarchy["pcn_code"].astype(str)))
    parts = []
    for pid, pp in pressure.items():
        if str(pid) not in pcn_of or not len(pp):
            continue
        missing = [c for c in _PRESSURE_NEED if c not in pp.columns]
        if missing:
            raise HierarchyError(f"{pid}: pressure lacks column(s) {', '.join(missing)}; pass SessionPressure.pressure.")
        parts.append(pp[_PRESSURE_NEED].assign(practice_id=str(pid), pcn_code=pcn_of[str(pid)], spare=_spare(pp).to_numpy()))
    cols = ["pcn_code", "date", "session", "short", "expected_shortfall", "offering", "spare_slots", "shareable", "uncovered"]
    if not parts:
        return pd.DataFrame(columns=cols)
    allp = pd.concat(parts, ignore_index=True)
    allp["date"] = pd.to_datetime(allp["date"]).dt.normalize()
    rows = []
    for (pcn, date, session), g in allp.groupby(["pcn_code", "date", "session"], sort=True):
        short = g[g["p_exceed"] > threshold]
        if not len(short):
            continue
        offer = g[(g["p_exceed"] <= threshold)]
        slots = np.floor(offer["spare"] - keep_back).clip(lower=0)
        offer = offer[slots.to_numpy() > 0]
        slots = slots[slots > 0]
        need = float(short["expected_shortfall"].sum())
        spare = int(slots.sum())
        share = min(int(np.ceil(need)), spare)
        rows.append({
            "pcn_code": pcn, "date": date, "session": session,
            "short": ";".join(short["practice_id"]), "expected_shortfall": need,
            "offering": ";".join(f"{p} ({int(k)})" for p, k in zip(offer["practice_id"], slots)),
            "spare_slots": spare, "shareable": share, "uncovered": max(0.0, need - share),
        })
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values("expected_shortfall", ascending=False, kind="stable").reset_index(drop=True)
