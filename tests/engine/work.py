"""Per-practice work for the engine tests: module-level, so both engines can pickle it."""

from __future__ import annotations

import hashlib

import pandas as pd

from forecasting.pipeline import forecast_series
from forecasting.series import series_from_calls


def describe_frames(practice_id: str, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """What the function was given: per table, rows, dtypes, first and last key, a digest of
    every value in order."""
    rows = []
    for table, df in frames.items():
        text = df.astype(str).to_csv(index=False).encode()
        rows.append(
            {
                "table": table,
                "rows": len(df),
                "columns": ",".join(df.columns),
                "dtypes": ",".join(str(t) for t in df.dtypes),
                "first_time": df["start_utc"].min() if len(df) else pd.NaT,
                "last_time": df["start_utc"].max() if len(df) else pd.NaT,
                "digest": hashlib.sha256(text).hexdigest(),
            }
        )
    return pd.DataFrame(rows)


def next_week_forecast(practice_id: str, frames: dict[str, pd.DataFrame], *, model: str, start: str, end: str) -> pd.DataFrame:
    """Next week's calls per hour for one practice: its series, then the model's forecast."""
    series = series_from_calls(frames["calls"], "h", "calls", "Europe/London", start, end)
    fc, _m = forecast_series(series, model, "1w", level=(80, 95))
    return fc.rename(columns={"unique_id": "practice_id"})


def fails_for(practice_id: str, frames: dict[str, pd.DataFrame], *, bad: str) -> pd.DataFrame:
    if practice_id == bad:
        raise ValueError("this practice's data is not what the work expects")
    return pd.DataFrame({"calls": [len(frames["calls"])]})
