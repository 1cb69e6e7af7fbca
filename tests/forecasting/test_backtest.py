"""Backtest metrics against numbers worked out by hand on tiny series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from forecasting.backtest import backtest, cross_validation, plot_backtest, rolling_scores, summarise
from forecasting.base import ClosedDemandWarning, ForecastInputError, Model, check_series, split_series
from forecasting.calendar import Calendar
from forecasting.models import SeasonalNaive

# Three weeks of daily counts, then the week to forecast (Mon 2 Mar to Sun 29 Mar 2026, no
# bank holidays). In-sample weekly-naive errors: |w2 - w1| = 2,2,10,2,2,2,2 and
# |w3 - w2| = 2,2,6,2,2,2,2, so the MASE scale is 40 / 14 = 20/7.
W1 = [10, 10, 10, 10, 10, 10, 10]
W2 = [12, 12, 20, 12, 12, 12, 12]
W3 = [14, 14, 14, 14, 14, 14, 14]
W4 = [15, 13, 14, 16, 14, 14, 12]
OPEN = Calendar(hours=None, close_on_bank_holidays=False)


def tiny() -> pd.DataFrame:
    ds = pd.date_range("2026-03-02", periods=28, freq="D")
    return pd.DataFrame({"unique_id": "P1", "ds": ds, "y": np.array(W1 + W2 + W3 + W4, dtype=float)})


class Fixed(Model):
    """Forecasts 14 with the 80% interval [13, 15] (95%: [12, 16]) whatever the data."""

    name = "fixed_for_tests"
    alias = "Fixed"

    def _fit_series(self, s):
        return None

    def _forecast_series(self, s, state, future):
        return np.full(len(future.ds), 14.0)

    def _fitted_series(self, s, state):
        return np.full(len(s.y), np.nan)

    def _quantiles(self, s, state, future, mu, spread, probs):
        table = {0.1: 13.0, 0.9: 15.0, 0.025: 12.0, 0.975: 16.0}
        return np.array([[table[round(p, 9)]] * len(mu) for p in probs])


def test_metrics_by_hand_always_open():
    res = backtest(tiny(), Fixed(calendar=OPEN), h=7, n_windows=1, horizon="all", calendar=OPEN)
    assert len(res) == 1
    r = res.iloc[0]
    # errors y - 14: 1, -1, 0, 2, 0, 0, -2
    assert r["n"] == 7
    assert r["scale"] == pytest.approx(20 / 7)
    assert r["mase"] == pytest.approx((6 / 7) / (20 / 7))  # 0.3
    assert r["wape"] == pytest.approx(6 / 98)
    assert r["rmse"] == pytest.approx(np.sqrt(10 / 7))
    # inside [13, 15]: 15, 13, 14, 14, 14 (16 and 12 are out)
    assert r["coverage_80"] == pytest.approx(5 / 7)
    # pinball at q=0.1 (x=13): 0.2, 0, 0.1, 0.3, 0.1, 0.1, 0.9 -> 1.7;
    # at q=0.9 (x=15): 0, 0.2, 0.1, 0.9, 0.1, 0.1, 0.3 -> 1.7; mean over 14 terms
    assert r["pinball_80"] == pytest.approx(3.4 / 14)
    assert r["cutoff"] == pd.Timestamp("2026-03-22")


def test_closed_periods_leave_the_metrics_and_the_scale():
    # Wed 11 Mar (the 20) and Thu 26 Mar (the 16) closed: the scale keeps 12 pairs, all 2
    shut = Calendar(hours=None, close_on_bank_holidays=False, extra_closures=("2026-03-11", "2026-03-26"))
    with pytest.warns(ClosedDemandWarning, match="8% of the counts"):  # the 20 of 11 Mar is ignored
        res = backtest(tiny(), Fixed(calendar=shut), h=7, n_windows=1, horizon="all", calendar=shut)
    r = res.iloc[0]
    # errors over the six open days: 1, -1, 0, 0, 0, -2
    assert r["n"] == 6 and r["scale"] == pytest.approx(2.0)
    assert r["mase"] == pytest.approx((4 / 6) / 2)
    assert r["wape"] == pytest.approx(4 / 82)
    assert r["rmse"] == pytest.approx(1.0)
    assert r["coverage_80"] == pytest.approx(5 / 6)
    # pinball sums without the 16: 1.7 - 0.3 and 1.7 - 0.9
    assert r["pinball_80"] == pytest.approx((1.4 + 0.8) / 12)
    with pytest.warns(ClosedDemandWarning):
        cv = cross_validation(tiny(), Fixed(calendar=shut), h=7, n_windows=1, calendar=shut)
    closed_row = cv[cv["ds"] == pd.Timestamp("2026-03-26")].iloc[0]
    assert closed_row["closed"] and closed_row["yhat"] == 0 and closed_row["lo_80"] == closed_row["hi_80"] == 0


def test_per_step_rows_and_the_pooled_summary_agree_with_the_single_cell():
    res = backtest(tiny(), {"fixed": Fixed(calendar=OPEN)}, h=7, n_windows=1, calendar=OPEN)
    assert res["horizon"].tolist() == [1, 2, 3, 4, 5, 6, 7]  # daily data, h <= 14: per step
    assert res.loc[res["horizon"] == 4, "mase"].iloc[0] == pytest.approx(2 / (20 / 7))  # |16 - 14| / scale
    summ = summarise(res)
    row = summ.iloc[0]
    assert row["model"] == "fixed" and row["n"] == 7 and row["best"]
    assert row["mase"] == pytest.approx(0.3)
    assert row["wape"] == pytest.approx(6 / 98)
    assert row["rmse"] == pytest.approx(np.sqrt(10 / 7))
    assert row["coverage_80"] == pytest.approx(5 / 7)
    assert row["pinball_80"] == pytest.approx(3.4 / 14)


def test_two_windows_and_the_best_model_is_marked():
    df = tiny()
    models = {"fixed": Fixed(calendar=OPEN), "naive": SeasonalNaive(calendar=OPEN)}
    cv = cross_validation(df, models, h=7, n_windows=2, step=7, calendar=OPEN)
    assert sorted(cv["cutoff"].unique()) == [pd.Timestamp("2026-03-15"), pd.Timestamp("2026-03-22")]
    naive_w2 = cv[(cv["model"] == "naive") & (cv["window"] == 2)]
    assert naive_w2["yhat"].tolist() == W3  # the seasonal naive repeats week 3
    naive_w1 = cv[(cv["model"] == "naive") & (cv["window"] == 1)]
    assert naive_w1["yhat"].tolist() == W2 and naive_w1["y"].tolist() == W3
    res = backtest(df, models, h=7, n_windows=2, horizon="all", calendar=OPEN)
    # window 1 (scale over weeks 1-2: 22/7): naive errors 2,2,6,2,2,2,2 -> MAE 18/7; the
    # fixed 14 is week 3 exactly. Window 2: both forecast 14s (week 3) for week 4 -> MAE 6/7
    w1 = res[res["window"] == 1].set_index("model")
    assert w1.loc["naive", "mase"] == pytest.approx((18 / 7) / (22 / 7))
    assert w1.loc["fixed", "mase"] == 0
    w2 = res[res["window"] == 2].set_index("model")
    assert w2.loc["naive", "mase"] == pytest.approx(w2.loc["fixed", "mase"]) and w2.loc["naive", "mase"] == pytest.approx(0.3)
    summ = summarise(res).set_index("model")
    # pooled MASE: mean of the scaled errors over both windows (7 periods each)
    assert summ.loc["fixed", "mase"] == pytest.approx((0 + 6 / (20 / 7)) / 14)
    assert summ.loc["naive", "mase"] == pytest.approx((18 / (22 / 7) + 6 / (20 / 7)) / 14)
    assert summ.loc["fixed", "best"] and not summ.loc["naive", "best"]
    assert summ.loc["naive", "wape"] == pytest.approx((18 + 6) / (98 + 98))


def test_rolling_scores_match_the_full_backtest():
    df = tiny()
    data, freq = check_series(df)
    s = next(iter(split_series(data, freq, OPEN)))
    lean = rolling_scores(s, SeasonalNaive(calendar=OPEN), h=7, n_windows=2, step=7)
    full = summarise(backtest(df, SeasonalNaive(calendar=OPEN), h=7, n_windows=2, calendar=OPEN)).iloc[0]
    assert lean["mase"] == pytest.approx(full["mase"])
    assert lean["wape"] == pytest.approx(full["wape"])
    assert lean["rmse"] == pytest.approx(full["rmse"])


def test_hourly_backtest_buckets_by_day_and_plots():
    from tests.forecasting.synthetic import synthetic_series

    df = synthetic_series(start="2026-09-07", end="2026-11-30", freq="h", seed=3)[["unique_id", "ds", "y"]]
    res = backtest(df, [SeasonalNaive(), Fixed()], h=48, n_windows=2, level=(80, 95))
    assert sorted(res["horizon"].unique()) == [1, 2]
    assert {"coverage_95", "pinball_95"} <= set(res.columns)
    # closed hours are out: at most 10.5 open hours a day (08:00-18:30 gives 11 hourly periods)
    assert (res["n"] <= 11).all()
    fig = plot_backtest(res)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert len(fig.axes[0].get_lines()) == 2 + 1  # two models and the MASE = 1 line


def test_backtest_argument_errors():
    df = tiny()
    with pytest.raises(ForecastInputError, match="Use fewer windows or a shorter h"):
        backtest(df, Fixed(calendar=OPEN), h=7, n_windows=4, calendar=OPEN)
    with pytest.raises(ForecastInputError, match="share the alias"):
        backtest(df, [Fixed(calendar=OPEN), Fixed(calendar=OPEN)], h=7, n_windows=1, calendar=OPEN)
    with pytest.raises(ForecastInputError, match="positive whole number"):
        backtest(df, Fixed(calendar=OPEN), h=0, calendar=OPEN)
    with pytest.raises(ForecastInputError, match="Unknown horizon"):
        backtest(df, Fixed(calendar=OPEN), h=7, n_windows=1, horizon="month", calendar=OPEN)
