"""One forecast at every granularity (:mod:`forecasting.temporal`): the hours add up to the days,
their intervals scale with them, and the forecast starts on the first day after the data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.base import ForecastInputError
from forecasting.pipeline import forecast_series
from forecasting.temporal import coherent_forecasts, day_totals, horizon_days, reconcile
from tests.forecasting.synthetic import synthetic_series


def frame(ds, mean, lo, hi, alias="M", uid="A81001") -> pd.DataFrame:
    return pd.DataFrame(
        {"unique_id": uid, "ds": pd.to_datetime(ds), alias: mean, f"{alias}-lo-80": lo, f"{alias}-hi-80": hi}
    )


def test_hours_are_scaled_to_the_days_total_with_their_bounds():
    daily = frame(["2027-01-11", "2027-01-12"], [120.0, 60.0], [100.0, 45.0], [140.0, 75.0], alias="D")
    hours = pd.date_range("2027-01-11 08:00", periods=3, freq="h").append(pd.date_range("2027-01-12 08:00", periods=3, freq="h"))
    fine = frame(hours, [50.0, 30.0, 20.0, 10.0, 10.0, 20.0], [40, 20, 10, 5, 5, 15], [60, 40, 30, 15, 15, 25], alias="H")
    got = reconcile(daily, fine)
    assert got["H"].tolist() == pytest.approx([60.0, 36.0, 24.0, 15.0, 15.0, 30.0])  # x1.2 and x1.5
    assert got["H-lo-80"].tolist() == pytest.approx([48.0, 24.0, 12.0, 7.5, 7.5, 22.5])
    assert got["H-hi-80"].tolist() == pytest.approx([72.0, 48.0, 36.0, 22.5, 22.5, 37.5])
    assert (got["H-lo-80"] <= got["H"]).all() and (got["H"] <= got["H-hi-80"]).all()


def test_finer_periods_of_other_days_are_left_out_and_a_flat_day_is_spread_evenly():
    daily = frame(["2027-01-12"], [30.0], [20.0], [45.0], alias="D")
    hours = pd.date_range("2027-01-11 22:00", periods=6, freq="h")  # Monday 22:00 to Tuesday 03:00
    fine = frame(hours, [1.0, 1.0, 0.0, 0.0, 0.0, 0.0], [0] * 6, [2, 2, 0, 0, 0, 0], alias="H")
    got = reconcile(daily, fine)
    assert got["ds"].min() == pd.Timestamp("2027-01-12 00:00") and len(got) == 4
    assert got["H"].tolist() == pytest.approx([7.5] * 4)
    assert got["H-hi-80"].tolist() == pytest.approx([7.5 * 1.5] * 4)  # the day's interval relative to its total


def test_a_day_without_finer_periods_is_refused():
    daily = frame(["2027-01-11", "2027-01-12"], [10.0, 10.0], [5, 5], [15, 15], alias="D")
    fine = frame(pd.date_range("2027-01-11 08:00", periods=3, freq="h"), [1.0, 2.0, 3.0], [0, 1, 2], [2, 3, 4], alias="H")
    with pytest.raises(ForecastInputError, match="2027-01-12"):
        reconcile(daily, fine)


def test_day_totals_and_horizon_days():
    s = synthetic_series(start="2025-01-06", end="2025-01-08", freq="h", seed=1)[["unique_id", "ds", "y"]]
    d = day_totals(s)
    assert d["ds"].tolist() == [pd.Timestamp("2025-01-06"), pd.Timestamp("2025-01-07")]
    assert d["y"].tolist() == [s["y"][:24].sum(), s["y"][24:].sum()]
    assert (horizon_days(168, 60), horizon_days(48, 30), horizon_days(25, 60), horizon_days(1, 60)) == (7, 1, 2, 1)


@pytest.mark.parametrize("model", ["seasonal_average", "auto"])
def test_coherent_forecasts_add_up_from_the_first_day_after_the_data(model):
    # eight weeks of hourly calls ending on a Friday at 18:00: the forecast starts on Saturday
    # 00:00 (the horizon's first day), not on Friday evening
    s = synthetic_series(start="2025-01-06", end="2025-03-01", freq="h", day_sd=0.1, seed=3)[["unique_id", "ds", "y"]]
    s = s[s["ds"] <= pd.Timestamp("2025-02-28 18:00")]
    daily, hourly, dm, hm = coherent_forecasts(s, model, 7)
    assert pd.to_datetime(daily["ds"]).min() == pd.Timestamp("2025-03-01")
    assert pd.to_datetime(hourly["ds"]).min() == pd.Timestamp("2025-03-01 00:00") and len(hourly) == 7 * 24
    # the daily forecast is the model's of the day totals, untouched
    want, m = forecast_series(day_totals(s), model, 7)
    np.testing.assert_allclose(daily[dm.alias], want[m.alias])
    per_day = hourly.groupby(pd.to_datetime(hourly["ds"]).dt.normalize())[hm.alias].sum()
    np.testing.assert_allclose(per_day.to_numpy(), daily[dm.alias].to_numpy(), rtol=1e-12, atol=1e-9)
    assert per_day.loc[pd.Timestamp("2025-03-03")] > 100  # a real Monday
    for lv in (80, 95):
        assert (hourly[f"{hm.alias}-lo-{lv}"] <= hourly[hm.alias] + 1e-9).all()
        assert (hourly[hm.alias] <= hourly[f"{hm.alias}-hi-{lv}"] + 1e-9).all()
