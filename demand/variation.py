"""Variation shown honestly: funnel plots across practices, SPC charts over time.

A small practice's rate swings more from week to week than a large one's by chance alone; a
league table ranks that chance. A funnel plot draws, for every size of practice, the range
chance alone would give around the overall figure (95% and 99.8% control limits, narrowing as
practices get larger): a practice outside them is worth a question, the rest are noise.
Statistical process control (SPC) does the same over time for one practice, with NHS England's
"Making Data Count" rules: an XmR chart (mean, and process limits at ±2.66 mean moving ranges)
and special-cause variation flagged by the rule that found it.

References: Spiegelhalter, "Funnel plots for comparing institutional performance", Statistics
in Medicine 24 (2005); NHS England / Improvement, "Making Data Count" (2019, 2021).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from telephony.errors import FrontdoorError

__all__ = [
    "LEVELS",
    "VariationError",
    "funnel",
    "funnel_curve",
    "spc",
    "SPC_RULES",
]

#: Control-limit coverages drawn on a funnel: about 2 and 3 standard errors.
LEVELS: tuple[float, ...] = (0.95, 0.998)
#: Rule names as flagged, in the order they are checked.
SPC_RULES: dict[str, str] = {
    "beyond_limits": "a point beyond the process limits",
    "run": "a run of {run} or more points on one side of the mean",
    "trend": "{trend} or more points in a row going up (or down)",
    "near_limits": "two of three points close to a limit (beyond 2 sigma), on one side",
}
# XmR constants: sigma is the mean moving range / d2, d2 = 1.128 for ranges of two points;
# 3 sigma is then 2.66 mean moving ranges.
_D2 = 1.128


class VariationError(FrontdoorError, ValueError):
    """A funnel or SPC chart that cannot be drawn from the data given."""


def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2))


def _label(level: float) -> str:
    return f"{level * 100:g}"


def _limits(target: float, n: np.ndarray, kind: str, per: float, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Control limits of a proportion (binomial) or a rate (Poisson) at denominators ``n``."""
    n = np.asarray(n, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "proportion":
            # exact binomial quantiles, interpolated as Spiegelhalter does, so small practices'
            # limits stay inside 0..1
            p = min(max(target, 0.0), 1.0)
            lo_q = stats.binom.ppf((1 - level) / 2, n, p)
            hi_q = stats.binom.ppf(1 - (1 - level) / 2, n, p)
            lo = _interp(lo_q, n, p, (1 - level) / 2, "binom") / n
            hi = _interp(hi_q, n, p, 1 - (1 - level) / 2, "binom") / n
        else:
            lam = target / per  # events per unit (per patient)
            mu = lam * n
            lo_q = stats.poisson.ppf((1 - level) / 2, mu)
            hi_q = stats.poisson.ppf(1 - (1 - level) / 2, mu)
            lo = _interp(lo_q, n, lam, (1 - level) / 2, "poisson") / n * per
            hi = _interp(hi_q, n, lam, 1 - (1 - level) / 2, "poisson") / n * per
    return lo, hi


def _interp(q: np.ndarray, n: np.ndarray, p: float, prob: float, dist: str) -> np.ndarray:
    """Spiegelhalter's smoothing of a discrete quantile (so that limits are smooth in n)."""
    if dist == "binom":
        cdf_q = stats.binom.cdf(q, n, p)
        cdf_q1 = stats.binom.cdf(q - 1, n, p)
    else:
        cdf_q = stats.poisson.cdf(q, p * n)
        cdf_q1 = stats.poisson.cdf(q - 1, p * n)
    span = cdf_q - cdf_q1
    alpha = np.where(span > 0, (cdf_q - prob) / np.where(span > 0, span, 1.0), 0.0)
    return q - alpha


def funnel(
    frame: pd.DataFrame,
    numerator: str,
    denominator: str,
    *,
    kind: str = "proportion",
    per: float = 1000.0,
    levels: Sequence[float] = LEVELS,
    target: float | None = None,
    unit: str = "practice_id",
) -> pd.DataFrame:
    """Funnel-plot points: each practice's figure, the target and the control limits at its size.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per practice (for one period): ``unit``, ``numerator`` and ``denominator``
        counts.
    numerator, denominator : str
        E.g. ``answered`` over ``inbound_calls`` (a proportion; limits by call volume) or
        ``inbound_calls`` over ``list_size`` (a rate per ``per`` patients; limits by list
        size).
    kind : {"proportion", "rate"}
        Binomial limits for a share, Poisson limits for a rate.
    per : float
        The rate's unit (per 1,000 patients); ignored for proportions.
    levels : sequence of float
        Coverages of the limits (default 95% and 99.8%).
    target : float, optional
        The centre line (default: the pooled figure, sum of numerators over sum of
        denominators, never a mean of the practices' figures).
    unit : str
        The column naming each point.

    Returns
    -------
    pandas.DataFrame
        ``unit``, ``numerator``, ``denominator``, ``value`` (the practice's share or rate),
        ``target``, ``lower_<level>`` / ``upper_<level>`` for each level (e.g. ``lower_95``,
        ``upper_99.8``), and ``flag``: ``""``, ``"above 95% limit"``, ``"below 99.8% limit"``
        (the widest limit crossed), sorted by denominator. Rows with no denominator are left
        out.

    Notes
    -----
    Limits assume each practice's count is binomial (Poisson) around the target. Real
    practices vary more than that (over-dispersion); a funnel where most practices fall
    outside the 99.8% limits says so, and the limits should then be widened (Spiegelhalter's
    additive random-effects adjustment) rather than the practices blamed.
    """
    if kind not in ("proportion", "rate"):
        raise VariationError(f"Unknown funnel kind {kind!r}. Use one of: proportion, rate.")
    missing = [c for c in (unit, numerator, denominator) if c not in frame.columns]
    if missing:
        raise VariationError(f"The table has no column {', '.join(missing)}; it has {', '.join(map(str, frame.columns))}.")
    num = pd.to_numeric(frame[numerator], errors="coerce").astype("float64")
    den = pd.to_numeric(frame[denominator], errors="coerce").astype("float64")
    keep = (den > 0) & num.notna()
    if not keep.any():
        raise VariationError(f"No practice has a {denominator} above 0: nothing to draw a funnel of.")
    if kind == "proportion" and (num[keep] > den[keep]).any():
        raise VariationError(f"{numerator} is larger than {denominator} for some practice: a proportion needs a part of a whole.")
    scale = 1.0 if kind == "proportion" else per
    pooled = float(num[keep].sum() / den[keep].sum() * scale)
    centre = pooled if target is None else float(target)
    out = pd.DataFrame({unit: frame.loc[keep, unit].to_numpy(), numerator: num[keep].to_numpy(), denominator: den[keep].to_numpy()})
    out["value"] = out[numerator] / out[denominator] * scale
    out["target"] = centre
    flag = np.full(len(out), "", dtype=object)
    for level in sorted(levels):
        lo, hi = _limits(centre, out[denominator].to_numpy(), kind, per, level)
        out[f"lower_{_label(level)}"] = lo
        out[f"upper_{_label(level)}"] = hi
        flag = np.where(out["value"] > hi, f"above {_label(level)}% limit", np.where(out["value"] < lo, f"below {_label(level)}% limit", flag))
    out["flag"] = flag
    return out.sort_values(denominator, kind="stable").reset_index(drop=True)


def funnel_curve(target: float, denominators: Sequence[float] | np.ndarray, *, kind: str = "proportion", per: float = 1000.0,
                 levels: Sequence[float] = LEVELS, points: int = 100) -> pd.DataFrame:
    """The funnel's limit lines over the range of ``denominators`` (for drawing).

    Returns
    -------
    pandas.DataFrame
        ``denominator`` (``points`` values spaced evenly on a log scale from the smallest to
        the largest given) and ``lower_<level>`` / ``upper_<level>``.
    """
    d = np.asarray(denominators, dtype="float64")
    d = d[d > 0]
    if len(d) == 0:
        raise VariationError("No denominator above 0: nothing to draw a funnel over.")
    grid = np.unique(np.round(np.geomspace(d.min(), d.max(), points)))
    out = pd.DataFrame({"denominator": grid})
    for level in sorted(levels):
        lo, hi = _limits(target, grid, kind, per, level)
        out[f"lower_{_label(level)}"] = lo
        out[f"upper_{_label(level)}"] = hi
    return out


def spc(
    series: pd.DataFrame,
    value: str = "value",
    *,
    time: str = "period",
    run: int = 7,
    trend: int = 6,
    baseline: int | None = None,
) -> pd.DataFrame:
    """An XmR (individuals) SPC chart with the "Making Data Count" rules.

    Parameters
    ----------
    series : pandas.DataFrame
        One practice's figure over time: ``time`` and ``value`` columns, one row per period.
    value, time : str
        Column names.
    run : int
        Points in a row on one side of the mean that make a shift (Making Data Count: 7).
    trend : int
        Points in a row each higher (or each lower) than the one before that make a trend
        (Making Data Count: 6).
    baseline : int, optional
        Compute the mean and limits from the first ``baseline`` points only (e.g. the year
        before a change), then judge every point against them. Default: all points.

    Returns
    -------
    pandas.DataFrame
        ``time``, ``value``, ``mean``, ``lower`` and ``upper`` (process limits: mean ± 3
        sigma, sigma = mean moving range / 1.128), ``lower_2sigma``/``upper_2sigma``,
        ``rules`` (the rules that flag the point, ``;``-joined names of :data:`SPC_RULES`),
        ``special_cause`` (bool) and ``side`` (``high``/``low``/``""``: which way).

    Notes
    -----
    Every point of a run or trend is flagged, not only the one that completes it, as the
    Making Data Count charts colour them. A point equal to the mean breaks a run; a point
    equal to the one before breaks a trend. Fewer than ``run`` or ``trend`` points cannot
    flag that rule. At least two points with a value are needed for a moving range.
    """
    for name, n in (("run", run), ("trend", trend)):
        if n < 2:
            raise VariationError(f"`{name}` must be 2 or more, not {n}.")
    missing = [c for c in (time, value) if c not in series.columns]
    if missing:
        raise VariationError(f"The series has no column {', '.join(missing)}; it has {', '.join(map(str, series.columns))}.")
    s = series[[time, value]].sort_values(time, kind="stable").reset_index(drop=True)
    y = pd.to_numeric(s[value], errors="coerce").astype("float64").to_numpy()
    base = y[:baseline] if baseline else y
    base = base[~np.isnan(base)]
    if len(base) < 2:
        raise VariationError(f"An SPC chart needs at least two values to measure variation; the series has {len(base)}.")
    mean = float(base.mean())
    mr = np.abs(np.diff(base)).mean()
    sigma = mr / _D2
    upper, lower = mean + 3 * sigma, mean - 3 * sigma
    n = len(y)
    rules = [[] for _ in range(n)]
    side = np.full(n, "", dtype=object)

    def mark(i: int, rule: str, direction: str) -> None:
        if rule not in rules[i]:
            rules[i].append(rule)
        side[i] = side[i] or direction

    for i in range(n):
        if y[i] > upper:
            mark(i, "beyond_limits", "high")
        elif y[i] < lower:
            mark(i, "beyond_limits", "low")
    # runs on one side of the mean
    sign = np.sign(np.nan_to_num(y - mean, nan=0.0))
    i = 0
    while i < n:
        j = i
        while j + 1 < n and sign[j + 1] == sign[i] and sign[i] != 0:
            j += 1
        if sign[i] != 0 and j - i + 1 >= run:
            for k in range(i, j + 1):
                mark(k, "run", "high" if sign[i] > 0 else "low")
        i = j + 1
    # trends: each point higher (lower) than the one before
    step = np.sign(np.nan_to_num(np.diff(y), nan=0.0))
    i = 0
    while i < len(step):
        j = i
        while j + 1 < len(step) and step[j + 1] == step[i] and step[i] != 0:
            j += 1
        if step[i] != 0 and j - i + 2 >= trend:  # steps i..j join points i..j+1
            for k in range(i, j + 2):
                mark(k, "trend", "high" if step[i] > 0 else "low")
        i = j + 1
    # two of three points beyond 2 sigma on the same side
    hi2, lo2 = mean + 2 * sigma, mean - 2 * sigma
    for direction, beyond in (("high", y > hi2), ("low", y < lo2)):
        for i in range(n - 2):
            window = beyond[i : i + 3]
            if window.sum() >= 2:
                for k in range(i, i + 3):
                    if window[k - i]:
                        mark(k, "near_limits", direction)
    out = s.rename(columns={value: "value"}) if value != "value" else s.copy()
    out["mean"] = mean
    out["lower"] = lower
    out["upper"] = upper
    out["lower_2sigma"] = lo2
    out["upper_2sigma"] = hi2
    out["rules"] = [";".join(r) for r in rules]
    out["special_cause"] = [bool(r) for r in rules]
    out["side"] = side
    return out
