"""Every model on synthetic series of known shape: the contract, the shape, closures, intervals."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from forecasting.base import ClosedDemandWarning, ForecastInputError, Model, NotFittedError, check_series
from forecasting.calendar import Calendar
from forecasting.intervals import IntervalError, Spread, count_quantiles, fit_spread
from forecasting.models import MODELS, AutoModel, make_model
from forecasting.models.prophet_model import ProphetModel
from tests.forecasting.synthetic import expected_counts, synthetic_series

FAST = ("seasonal_naive", "seasonal_average", "ets", "mstl")
# history to Sunday 20 Dec 2026; two weeks ahead take in 25 and 28 Dec and 1 Jan 2027
HISTORY = dict(start="2026-08-03", end="2026-12-21", freq="h", seed=7, day_sd=0.05)
H = 14 * 24


@pytest.fixture(scope="module")
def hourly() -> pd.DataFrame:
    return synthetic_series(**HISTORY)


@pytest.fixture(scope="module")
def forecasts(hourly) -> dict[str, pd.DataFrame]:
    train = hourly[["unique_id", "ds", "y"]]
    return {name: make_model(name).fit(train).predict(H, level=(80, 95)) for name in FAST}


def test_registry_is_built_from_the_modules():
    assert set(MODELS) == {"seasonal_naive", "seasonal_average", "ets", "mstl", "prophet", "auto"}
    assert all(issubclass(cls, Model) and cls.name == name for name, cls in MODELS.items())
    with pytest.raises(ForecastInputError, match="Known models: auto, ets, mstl"):
        make_model("arima")


@pytest.mark.parametrize("name", FAST)
def test_output_follows_the_contract(name, forecasts):
    fc = forecasts[name]
    alias = MODELS[name].alias
    assert list(fc.columns) == [
        "unique_id", "ds", alias, f"{alias}-lo-80", f"{alias}-hi-80", f"{alias}-lo-95", f"{alias}-hi-95"
    ]
    assert len(fc) == H and (fc["unique_id"] == "A81001").all()
    assert fc["ds"].iloc[0] == pd.Timestamp("2026-12-21 00:00") and fc["ds"].iloc[-1] == pd.Timestamp("2027-01-03 23:00")
    values = fc.iloc[:, 2:].to_numpy()
    assert np.isfinite(values).all() and (values >= 0).all()
    lo95, lo80, hi80, hi95 = (fc[f"{alias}-{s}"].to_numpy() for s in ("lo-95", "lo-80", "hi-80", "hi-95"))
    assert (lo95 <= lo80).all() and (lo80 <= hi80).all() and (hi80 <= hi95).all()


@pytest.mark.parametrize("name", FAST)
def test_closed_hours_and_bank_holidays_are_exactly_zero(name, forecasts):
    fc = forecasts[name]
    closed = Calendar().closed(fc["ds"], "h")
    assert (fc.iloc[:, 2:].to_numpy()[closed] == 0).all()
    for day in ("2026-12-25", "2026-12-28", "2027-01-01"):
        on_day = fc["ds"].dt.normalize() == pd.Timestamp(day)
        assert on_day.sum() == 24 and (fc.loc[on_day].iloc[:, 2:].to_numpy() == 0).all()
    # an ordinary open weekday hour is forecast above zero
    assert (fc.loc[fc["ds"] == pd.Timestamp("2026-12-22 09:00")].iloc[0, 2:] > 0).all()


@pytest.mark.parametrize(
    "name, tolerance, correlation",
    [("seasonal_naive", 0.25, 0.85), ("seasonal_average", 0.12, 0.95), ("ets", 0.1, 0.95), ("mstl", 0.12, 0.95)],
)
def test_recovers_weekday_and_intraday_shape(name, tolerance, correlation, forecasts):
    fc = forecasts[name]
    alias = MODELS[name].alias
    truth = expected_counts(fc["ds"], "h")
    days = fc["ds"].dt.normalize()
    week = (days >= pd.Timestamp("2026-12-21")) & (days <= pd.Timestamp("2026-12-24"))
    per_day = pd.DataFrame({"f": fc[alias], "t": truth, "d": days})[week].groupby("d").sum()
    # daily totals Mon 21 to Thu 24 Dec within the tolerance of the truth
    assert np.allclose(per_day["f"], per_day["t"], rtol=tolerance), per_day
    # Monday is the busiest day, and its 08:00 hour its busiest hour
    assert per_day["f"].idxmax() == pd.Timestamp("2026-12-21")
    monday = fc[days == pd.Timestamp("2026-12-21")]
    assert monday["ds"].iloc[int(np.argmax(monday[alias]))].hour == 8
    # the intraday shape: correlation with the true hourly means over the open hours
    open_ = truth > 0
    assert np.corrcoef(fc[alias][open_ & week], truth[open_ & week])[0, 1] > correlation


def test_seasonal_naive_repeats_the_latest_open_week():
    df = synthetic_series(start="2026-03-02", end="2026-04-13", freq="D", seed=3)  # ends Sun 12 Apr
    fc = make_model("seasonal_naive").fit(df).predict(7, level=())
    last_week = df.set_index("ds")["y"]
    # Easter Monday 6 Apr was closed, so next Monday repeats Monday 30 Mar instead
    assert fc["SeasonalNaive"].iloc[0] == last_week[pd.Timestamp("2026-03-30")]
    assert fc["SeasonalNaive"].iloc[1:5].tolist() == last_week[pd.Timestamp("2026-04-07"):pd.Timestamp("2026-04-10")].tolist()
    assert fc["SeasonalNaive"].iloc[5:].tolist() == [0.0, 0.0]


def test_seasonal_average_leaves_out_bank_holiday_weeks():
    # daily counts equal to the week number, so each average says which weeks it used
    ds = pd.date_range("2026-03-02", "2026-04-19", freq="D")  # 7 weeks, Mon 2 Mar to Sun 19 Apr
    week = (ds - ds[0]).days // 7
    df = pd.DataFrame({"unique_id": "P", "ds": ds, "y": week.astype(float)})
    df.loc[df["ds"].isin(pd.DatetimeIndex(["2026-04-03", "2026-04-06"])), "y"] = 0.0  # closed
    seven_days = Calendar(hours="Mon-Sun 08:00-18:30")
    fc = make_model("seasonal_average", k=4, calendar=seven_days).fit(df).predict(7, level=())
    # weeks 0..6; week 4 (30 Mar-5 Apr) holds Good Friday and week 5 (6-12 Apr) Easter
    # Monday: both are left out, so the next Tuesday averages weeks 1, 2, 3 and 6
    assert fc["SeasonalAverage"].iloc[1] == pytest.approx((1 + 2 + 3 + 6) / 4)
    plain = make_model("seasonal_average", k=4, exclude_holiday_weeks=False, calendar=seven_days)
    assert plain.fit(df).predict(7, level=())["SeasonalAverage"].iloc[1] == pytest.approx((3 + 4 + 5 + 6) / 4)


def test_daily_models_close_weekends_and_bank_holidays():
    df = synthetic_series(start="2025-06-02", end="2026-12-21", freq="D", seed=11, day_sd=0.05)
    for name in ("seasonal_average", "ets", "mstl"):
        model = make_model(name)
        fc = model.fit(df[["unique_id", "ds", "y"]]).predict(28, level=(80,))
        alias = model.alias
        shut = Calendar().closed(fc["ds"], "D")
        assert (fc.loc[shut, alias] == 0).all() and (fc.loc[~shut, alias] > 0).all(), name
        truth = expected_counts(fc["ds"], "D")
        assert np.allclose(fc.loc[~shut, alias], truth[~shut], rtol=0.15), name


def test_half_hourly_series():
    df = synthetic_series(start="2026-09-07", end="2026-11-02", freq="30min", seed=5)
    fc = make_model("ets").fit(df).predict(48 * 7)
    assert fc["ds"].iloc[1] - fc["ds"].iloc[0] == pd.Timedelta(minutes=30)
    truth = expected_counts(fc["ds"], "30min")
    assert (fc["ETS"][truth == 0] == 0).all()
    assert np.corrcoef(fc["ETS"], truth)[0, 1] > 0.95


@pytest.mark.parametrize("name", ["seasonal_naive", "seasonal_average", "ets", "mstl"])
def test_intervals_cover_near_the_nominal_rate(name):
    """Three year-long hourly Poisson series, four weeks ahead: ~600 open hours each."""
    covered = {80: [], 95: []}
    for seed in (21, 22, 23):
        df = synthetic_series(start="2025-09-01", end="2026-08-31", freq="h", seed=seed)
        fut = synthetic_series(start="2026-08-31", end="2026-09-28", freq="h", seed=seed + 100)
        model = make_model(name)
        fc = model.fit(df[["unique_id", "ds", "y"]]).predict(len(fut), level=(80, 95))
        open_ = fut["expected"].to_numpy() > 0
        y = fut["y"].to_numpy()[open_]
        for lv in (80, 95):
            lo = fc[f"{model.alias}-lo-{lv}"].to_numpy()[open_]
            hi = fc[f"{model.alias}-hi-{lv}"].to_numpy()[open_]
            covered[lv].append((lo <= y) & (y <= hi))
    c80, c95 = np.concatenate(covered[80]).mean(), np.concatenate(covered[95]).mean()
    assert 0.72 <= c80 <= 0.9, c80
    assert 0.9 <= c95 <= 0.99, c95


def test_auto_picks_per_series_and_renames_columns():
    exact = synthetic_series(start="2026-06-01", end="2026-10-05", freq="D", seed=1, uid="EXACT")
    exact["y"] = exact["expected"]  # exactly weekly: last week's copy is perfect, MASE undefined
    short = synthetic_series(start="2026-09-21", end="2026-10-05", freq="D", seed=2, uid="SHORT")
    df = pd.concat([exact, short])[["unique_id", "ds", "y"]]
    auto = AutoModel(candidates=("seasonal_average", "seasonal_naive", "ets"), h=7, n_windows=2).fit(df)
    ch = auto.choices_.set_index("unique_id")
    assert list(ch.columns) == ["model", "reason", "SeasonalAverage", "SeasonalNaive", "ETS"]
    # the seasonal average and naive are both exact (WAPE 0); the tie goes to the first
    assert ch.loc["EXACT", "model"] == "SeasonalAverage"
    assert ch.loc["EXACT", "reason"] == "lowest backtest wape (mase undefined)"
    assert ch.loc["SHORT", "model"] == "SeasonalAverage" and ch.loc["SHORT", "reason"] == "too short to backtest"
    fc = auto.predict(7, level=(80,))
    assert list(fc.columns) == ["unique_id", "ds", "Auto", "Auto-lo-80", "Auto-hi-80"]
    expect = exact.set_index("ds")["expected"].iloc[-7:].to_numpy()
    assert np.allclose(fc.loc[fc["unique_id"] == "EXACT", "Auto"], expect)


def test_auto_choice_follows_the_backtest_scores():
    # a level that jumps by half four weeks before the end: averages of old weeks lag, ETS follows
    df = synthetic_series(start="2026-01-05", end="2026-10-05", freq="D", seed=4, per_day=400)
    df.loc[df["ds"] >= "2026-09-07", "y"] *= 1.5
    auto = AutoModel(candidates=("seasonal_average", "seasonal_naive", "ets"), h=7, n_windows=2, combine=False)
    row = auto.fit(df[["unique_id", "ds", "y"]]).choices_.iloc[0]
    scores = row[["SeasonalAverage", "SeasonalNaive", "ETS"]].astype(float)
    assert row["model"] == scores.idxmin()
    assert row["model"] != "SeasonalAverage"


# --- Prophet: few, small fits ------------------------------------------------------------


@pytest.fixture(scope="module")
def prophet_fc() -> pd.DataFrame:
    df = synthetic_series(start="2026-10-05", end="2026-12-21", freq="h", seed=9)
    return ProphetModel().fit(df[["unique_id", "ds", "y"]]).predict(H, level=(80,))


def test_prophet_contract_closures_and_shape(prophet_fc):
    fc = prophet_fc
    assert list(fc.columns) == ["unique_id", "ds", "Prophet", "Prophet-lo-80", "Prophet-hi-80"]
    assert (fc.iloc[:, 2:].to_numpy() >= 0).all()
    closed = Calendar().closed(fc["ds"], "h")
    assert (fc.iloc[:, 2:].to_numpy()[closed] == 0).all()
    assert (fc.loc[fc["ds"].dt.normalize() == pd.Timestamp("2026-12-25"), "Prophet"] == 0).all()
    truth = expected_counts(fc["ds"], "h")
    assert np.corrcoef(fc["Prophet"][~closed], truth[~closed])[0, 1] > 0.9
    # conditional intraday shapes: Monday's 08:00 peak is higher than Wednesday's
    at = fc.set_index("ds")["Prophet"]
    assert at[pd.Timestamp("2026-12-21 08:00")] > at[pd.Timestamp("2026-12-23 08:00")]


def test_prophet_holiday_frame_uses_the_nation_calendar():
    df = synthetic_series(start="2026-03-02", end="2026-04-20", freq="h", seed=1)
    data, freq = check_series(df)
    from forecasting.base import split_series

    eng = next(iter(split_series(data, freq, Calendar("ENG"))))
    sct = next(iter(split_series(data, freq, Calendar("SCT"))))
    model = ProphetModel()
    eng_days = set(model._holidays(eng)["ds"].dt.strftime("%Y-%m-%d"))
    sct_days = set(model._holidays(sct)["ds"].dt.strftime("%Y-%m-%d"))
    assert {"2026-04-07", "2026-09-01"} <= eng_days  # after Easter Monday, after 31 Aug
    assert "2026-04-07" not in sct_days and "2026-04-06" in sct_days  # Scotland: Good Friday only
    assert "2026-08-04" in sct_days


def test_prophet_default_preset_uses_its_own_intervals():
    df = synthetic_series(start="2026-10-05", end="2026-11-16", freq="h", seed=2)
    model = ProphetModel(preset="default", uncertainty_samples=50)
    fc = model.fit(df[["unique_id", "ds", "y"]]).predict(48, level=(80,))
    assert (fc.iloc[:, 2:].to_numpy() >= 0).all()
    closed = Calendar().closed(fc["ds"], "h")
    assert (fc.iloc[:, 2:].to_numpy()[closed] == 0).all()
    with pytest.raises(ForecastInputError, match="uncertainty_samples"):
        ProphetModel(interval_source="prophet", uncertainty_samples=0)


# --- the contract's checks ----------------------------------------------------------------


def test_input_errors_say_how_to_fix(hourly):
    df = hourly[["unique_id", "ds", "y"]]
    with pytest.raises(ForecastInputError, match="lacks column\\(s\\) unique_id.*add df\\['unique_id'\\]"):
        check_series(df.drop(columns="unique_id"))
    aware = df.assign(ds=df["ds"].dt.tz_localize("Europe/London", ambiguous="NaT", nonexistent="NaT")).dropna()
    with pytest.raises(ForecastInputError, match="timezone-aware"):
        check_series(aware)
    with pytest.raises(ForecastInputError, match="repeated timestamp"):
        check_series(pd.concat([df, df.iloc[[5]]]))
    with pytest.raises(ForecastInputError, match="not a regular h grid.*fill_missing=0"):
        check_series(df.drop(index=df.index[10]))
    with pytest.raises(ForecastInputError, match="negative counts"):
        check_series(df.assign(y=-1.0))
    with pytest.raises(ForecastInputError, match="missing value"):
        check_series(df.assign(y=np.where(np.arange(len(df)) == 3, np.nan, df["y"])))
    with pytest.raises(ForecastInputError, match="not on the h grid"):
        check_series(df.assign(ds=df["ds"] + pd.Timedelta(minutes=15)))


def test_predict_errors_and_short_series():
    with pytest.raises(NotFittedError, match="call fit"):
        make_model("ets").predict(7)
    df = synthetic_series(start="2026-10-05", periods=24 * 9, freq="h")
    with pytest.raises(ForecastInputError, match="MSTL needs at least 2 week"):
        make_model("mstl").fit(df)
    model = make_model("seasonal_average").fit(df)
    with pytest.raises(ForecastInputError, match="positive whole number"):
        model.predict(0)
    with pytest.raises(IntervalError, match="percentages"):
        model.predict(5, level=(0.8,))


def test_counts_in_closed_hours_warn_and_are_ignored():
    df = synthetic_series(start="2026-10-05", end="2026-11-02", freq="h")
    df.loc[df["ds"].dt.hour == 20, "y"] = 50.0  # a series open in the evening, wrong calendar
    with pytest.warns(ClosedDemandWarning, match="Calendar.always_open"):
        fc = make_model("seasonal_average").fit(df).predict(24)
    assert fc.loc[fc["ds"].dt.hour == 20, "SeasonalAverage"].eq(0).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fc = make_model("seasonal_average", calendar=Calendar.always_open()).fit(df).predict(24)
    assert fc.loc[fc["ds"].dt.hour == 20, "SeasonalAverage"].eq(50).all()


def test_per_series_calendars():
    a = synthetic_series(start="2026-10-05", end="2026-11-02", freq="h", uid="A")
    b = a.assign(unique_id="B")
    cals = {"A": Calendar(), "B": Calendar(hours="Mon-Fri 08:00-12:00")}
    with pytest.warns(ClosedDemandWarning, match="Series B"):  # B's afternoons are closed
        fc = make_model("seasonal_average", calendar=cals).fit(pd.concat([a, b])).predict(24)
    at_15 = fc[fc["ds"] == pd.Timestamp("2026-11-02 15:00")].set_index("unique_id")["SeasonalAverage"]
    assert at_15["A"] > 0 and at_15["B"] == 0
    with pytest.raises(Exception, match="No calendar for series B"):
        make_model("seasonal_average", calendar={"A": Calendar()}).fit(pd.concat([a, b]))


# --- intervals ----------------------------------------------------------------------------


def test_count_quantiles_poisson_by_hand():
    # Poisson(2): F(0)=0.1353, F(3)=0.8571, P(4)=0.0902; the 0.9 quantile of Y+U-1/2 is
    # 4 - 0.5 + (0.9 - 0.8571)/0.0902 = 3.9752, the 0.1 quantile 0 - 0.5 + 0.1/0.1353 = 0.2389
    q = count_quantiles(np.array([2.0]), Spread(), [0.1, 0.9])
    assert q[:, 0] == pytest.approx([0.23891, 3.97524], abs=1e-4)


def test_fit_spread_recovers_poisson_and_negative_binomial():
    rng = np.random.default_rng(0)
    mu = rng.uniform(1, 40, 20000)
    assert fit_spread(rng.poisson(mu), mu, calibrate=False) == Spread(1.0, pytest.approx(0.0, abs=0.01))
    alpha = 0.2
    y = rng.poisson(mu * rng.gamma(1 / alpha, alpha, len(mu)))
    raw = fit_spread(y, mu, calibrate=False)
    assert raw.alpha == pytest.approx(alpha, rel=0.15) and raw.phi < 1.5
    # on data that really is negative binomial the 80% calibration hardly moves it
    cal = fit_spread(y, mu)
    assert cal.alpha == pytest.approx(raw.alpha, rel=0.15)
    # a forecast of 0 that met calls gives no leverage: the spread stays sane
    f = np.r_[mu, np.zeros(50)]
    assert fit_spread(np.r_[rng.poisson(mu), np.full(50, 8)], f, calibrate=False).alpha < 0.05


def test_spread_calibration_resists_a_few_huge_residuals():
    rng = np.random.default_rng(1)
    mu = rng.uniform(5, 40, 5000)
    y = rng.poisson(mu * rng.gamma(10, 0.1, len(mu))).astype(float)  # alpha 0.1
    y[:50] *= 6  # 1% wild periods (a surge after a holiday)
    raw, cal = fit_spread(y, mu, calibrate=False), fit_spread(y, mu)
    assert raw.alpha > 0.3  # least squares on squares follows the outliers (true alpha 0.1)
    assert cal.alpha == pytest.approx(0.1, rel=0.4)
    # the calibrated 80% band holds about 80% of the ordinary periods
    lo, hi = count_quantiles(mu, cal, [0.1, 0.9])
    assert 0.76 <= np.mean((lo <= y) & (y <= hi)) <= 0.84
