"""Synthetic call-count series with known structure, for the forecasting tests.

A weekday × intraday shape (Monday busiest, an 8am rush, a smaller early-afternoon peak), open
Mon–Fri 08:00–18:30, England's bank holidays closed, Poisson noise around the expected count
(optionally gamma-mixed by day, as real arrivals are over-dispersed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.calendar import Calendar

WEEKDAY_FACTOR = np.array([1.4, 1.05, 0.9, 0.95, 0.85, 0.0, 0.0])


def intraday_shape(minutes: np.ndarray) -> np.ndarray:
    """Relative rate at wall-clock minutes after midnight (mean 1 over 08:00–18:30)."""
    h = minutes / 60.0
    rush = 2.5 * np.exp(-0.5 * ((h - 8.6) / 0.6) ** 2)
    afternoon = 0.8 * np.exp(-0.5 * ((h - 14.0) / 1.2) ** 2)
    base = 0.6 + rush + afternoon
    inside = (h >= 8) & (h < 18.5)
    grid = np.arange(8 * 60, 18 * 60 + 30, 1.0) / 60.0
    norm = np.mean(0.6 + 2.5 * np.exp(-0.5 * ((grid - 8.6) / 0.6) ** 2) + 0.8 * np.exp(-0.5 * ((grid - 14.0) / 1.2) ** 2))
    return np.where(inside, base / norm, 0.0)


def expected_counts(ds: pd.DatetimeIndex, freq: str, per_day: float = 150.0, calendar: Calendar | None = None) -> np.ndarray:
    """Expected count of each period: ``per_day`` calls on an average open weekday."""
    cal = calendar or Calendar()
    ds = pd.DatetimeIndex(ds)
    if freq == "D":
        rate = per_day * WEEKDAY_FACTOR[ds.day_of_week] / WEEKDAY_FACTOR[:5].mean()
    else:
        step = pd.Timedelta(pd.tseries.frequencies.to_offset(freq)).total_seconds() / 60
        mins = ds.hour.to_numpy() * 60 + ds.minute.to_numpy()
        # integrate the shape over the period (1-minute steps)
        sub = mins[:, None] + np.arange(int(step))[None, :]
        shape = intraday_shape(sub).sum(axis=1) / 630.0
        rate = per_day * WEEKDAY_FACTOR[ds.day_of_week] / WEEKDAY_FACTOR[:5].mean() * shape
    rate = np.where(cal.closed(ds, freq), 0.0, rate)
    return rate


def synthetic_series(
    start: str = "2025-01-06",
    periods: int | None = None,
    end: str | None = None,
    freq: str = "h",
    per_day: float = 150.0,
    day_sd: float = 0.0,
    seed: int = 0,
    uid: str = "A81001",
) -> pd.DataFrame:
    """Long-format ``unique_id, ds, y`` with ``expected`` (the true mean) as a fourth column.

    ``day_sd`` is the standard deviation of a gamma day effect of mean 1 (0: pure Poisson).
    """
    ds = pd.date_range(start, end=end, periods=periods, freq=freq, inclusive="left" if end else "both")
    rng = np.random.default_rng(seed)
    mu = expected_counts(ds, freq, per_day)
    if day_sd > 0:
        days = (ds.normalize() - ds[0].normalize()).days.to_numpy()
        shape = 1 / day_sd**2
        effect = rng.gamma(shape, 1 / shape, size=days.max() + 1)[days]
        mu_draw = mu * effect
    else:
        mu_draw = mu
    y = rng.poisson(mu_draw).astype(float)
    return pd.DataFrame({"unique_id": uid, "ds": ds, "y": y, "expected": mu})
