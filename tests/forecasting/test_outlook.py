"""Next week's outlook (:mod:`forecasting.outlook`) on a small demo store: each part checked
against the pieces it is built on, computed here independently.

The demo: three practices over eight weeks from Monday 3 March 2025. Week 15 (7-13 April) is
an ordinary week; week 16 ends with Good Friday (18 April) and week 17 starts with Easter
Monday (21 April); the demo's appointment book runs to the end of week 17.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from demand.appointments.schema import read_appointments
from demand.demand_capacity import demand_capacity
from demand.simulation.demo import run_demo
from forecasting.base import ForecastInputError
from forecasting.models import MODELS
from forecasting.outlook import (
    PracticeHistory,
    check_last_week,
    forecast_calls,
    outlook_week,
    plan_same_day,
    session_pressure,
)
from forecasting.pipeline import forecast_series
from forecasting.series import read_calendars, series_from_calls
from telephony.store import open_store

TZ = "Europe/London"
PRACTICE = "A81001"
W15 = dt.date(2025, 4, 7)
W17 = dt.date(2025, 4, 21)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("FRONTDOOR_KEY", "test-key-not-secret")
    out = tmp_path_factory.mktemp("outlook_demo")
    run_demo(out, weeks=8, seed=7, start_date=dt.date(2025, 3, 3))
    yield open_store(out / "store")
    mp.undo()


def local(day: dt.date) -> pd.Timestamp:
    return pd.Timestamp(day).tz_localize(TZ)


def history(store, week_start: dt.date, weeks: int = 12) -> PracticeHistory:
    """A81001's calls to the end of the week and slots to the end of the week after."""
    first = week_start - dt.timedelta(weeks=weeks)
    end = week_start + dt.timedelta(days=7)
    calls = store.read_calls([PRACTICE], local(first), local(end))
    slots = read_appointments(store, [PRACTICE], local(first), local(end + dt.timedelta(days=7)))
    cal = read_calendars(store, [PRACTICE])[PRACTICE]
    return PracticeHistory(PRACTICE, calls, slots, cal, week_start, first, TZ)


@pytest.fixture(scope="module")
def normal(store) -> PracticeHistory:
    return history(store, W15)


@pytest.mark.parametrize("freq, h", [("D", 7), ("h", 168)])
def test_next_weeks_calls_are_the_pipeline_forecast_of_the_practice_series(normal, freq, h):
    got = forecast_calls(normal, "seasonal_average", freq)
    assert got.error is None and (got.model.name, got.model.chosen) == ("seasonal_average", False)
    # the demo's first call is on Monday 3 March: the series starts there, not 12 weeks back
    series = series_from_calls(normal.calls, freq, "calls", TZ, "2025-03-03", "2025-04-14")
    want, m = forecast_series(series, "seasonal_average", h, {PRACTICE: normal.calendar}, level=(80, 95))
    fc = got.forecast
    assert fc["ds"].min() == pd.Timestamp("2025-04-14") and len(fc) == h
    if freq == "D":
        np.testing.assert_allclose(fc["mean"], want[m.alias])
        np.testing.assert_allclose(fc["hi95"], want[f"{m.alias}-hi-95"])
    else:
        # the hours are the hourly model's shape scaled to the daily model's totals
        daily = forecast_calls(normal, "seasonal_average", "D").forecast.set_index("ds")["mean"]
        day = fc["ds"].dt.normalize()
        np.testing.assert_allclose(fc.groupby(day)["mean"].sum().to_numpy(), daily.reindex(sorted(day.unique())).to_numpy())
        raw = want[m.alias].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):  # closed days: 0 / 0, left out below
            factor = daily.reindex(day).to_numpy() / pd.Series(raw).groupby(day.to_numpy()).transform("sum").to_numpy()
        open_ = raw > 0
        np.testing.assert_allclose(fc["mean"].to_numpy()[open_], (raw * factor)[open_])
        np.testing.assert_allclose(fc["hi95"].to_numpy()[open_], (want[f"{m.alias}-hi-95"].to_numpy() * factor)[open_])
    # Good Friday closes the practice: the forecast knows, and says nothing will come
    friday = (fc["ds"].dt.date == dt.date(2025, 4, 18)).to_numpy()
    assert fc.loc[friday, "closed"].all() and (fc.loc[friday, "mean"] == 0).all()
    assert not fc.loc[fc["ds"].dt.date == dt.date(2025, 4, 14), "closed"].all()


def test_the_auto_model_says_which_model_it_chose(normal):
    got = forecast_calls(normal, "auto", "D")
    assert got.model.chosen and got.model.name in MODELS and got.model.name != "auto"


def test_last_weeks_check_is_the_forecast_made_from_the_data_before_the_week(normal):
    got = check_last_week(normal, "seasonal_average", "D")
    frame = got.frame
    assert got.error is None and [d.date() for d in frame["ds"]] == [W15 + dt.timedelta(days=i) for i in range(7)]
    # what happened: inbound attempts per local day, counted here from the calls
    c = normal.calls
    inbound = c[c["direction"] == "inbound"]
    per_day = inbound["start_utc"].dt.tz_convert(TZ).dt.date.value_counts()
    assert frame["actual"].tolist() == [float(per_day.get(d.date(), 0)) for d in frame["ds"]]
    # what was forecast: the same model fitted on the series up to the week's start
    before = series_from_calls(normal.calls, "D", "calls", TZ, "2025-03-03", W15.isoformat())
    want, m = forecast_series(before, "seasonal_average", 7, {PRACTICE: normal.calendar}, level=(80, 95))
    np.testing.assert_allclose(frame["forecast"], want[m.alias])
    open_ = ~frame["closed"]
    assert open_.tolist() == [True] * 5 + [False] * 2
    err = (frame["actual"] - frame["forecast"]).abs()[open_].sum()
    assert got.scores["wape"] == pytest.approx(err / frame.loc[open_, "actual"].sum())
    inside = (frame["lo80"] <= frame["actual"]) & (frame["actual"] <= frame["hi80"])
    assert got.scores["coverage_80"] == pytest.approx(inside[open_].mean())
    assert got.scores["actual_total"] == frame.loc[open_, "actual"].sum()


def test_usual_capacity_leaves_out_bank_holidays(store):
    # the history ends with Easter week; week 18 is not in the book, so each session's
    # capacity is its usual same-day slots over weeks 14-17, Good Friday and Easter Monday
    # left out (a closed day would drag the usual down to nothing)
    easter = history(store, W17)
    plan = plan_same_day(easter, "seasonal_average")
    assert plan.error is None and plan.book is None and plan.days["booked_slots"].isna().all()
    got = session_pressure(easter, plan)
    assert got.error is None and (got.pressure["capacity_source"] == "usual").all()
    lo, hi = dt.date(2025, 3, 31), dt.date(2025, 4, 28)
    slots = easter.slots[easter.slots["start_utc"] < local(hi)]
    dc = demand_capacity(easter.calls, slots, TZ, start="2025-03-03", end=hi.isoformat())
    dc["day"] = pd.to_datetime(dc["date"]).dt.date
    dc = dc[(dc["day"] >= lo) & ~dc["day"].isin([dt.date(2025, 4, 18), dt.date(2025, 4, 21)])]
    usual = dc.groupby([pd.to_datetime(dc["date"]).dt.day_of_week, "session"])["same_day_released"].mean()
    p = got.pressure
    for _, row in p.iterrows():
        assert row["capacity"] == pytest.approx(usual[(pd.Timestamp(row["date"]).day_of_week, row["session"])])
    # Monday am's usual is three ordinary Mondays, all with slots released
    assert usual[(0, "am")] > 0 and (p["date"].astype(str) == "2025-04-28").any()


def test_a_history_without_slots_plans_no_sessions(normal):
    bare = PracticeHistory(PRACTICE, normal.calls, normal.slots.iloc[0:0], normal.calendar, W15, normal.history_start, TZ)
    plan = plan_same_day(bare, "seasonal_average")
    assert not plan.has_slots and plan.sessions is None and plan.days is None and plan.error is None


def test_an_unknown_model_or_a_history_without_calls_is_refused(normal):
    with pytest.raises(ForecastInputError, match=r"^Unknown forecasting model 'arima'; known models: auto, ets, "):
        outlook_week(normal, "arima")
    quiet = PracticeHistory(PRACTICE, normal.calls.iloc[0:0], normal.slots, normal.calendar, W15, normal.history_start, TZ)
    with pytest.raises(ForecastInputError, match="^No calls of A81001 to forecast from"):
        outlook_week(quiet, "seasonal_average")


def test_a_mean_chosen_by_auto_is_named_by_its_parts():
    """auto may choose the mean of near-equal candidates, written "ETS + SeasonalAverage"."""
    import pandas as pd

    from forecasting.models import MODELS
    from forecasting.outlook import _model_used
    from reports.sections.next_week import MODEL_WORDS, model_words

    class Chose:
        choices_ = pd.DataFrame({"model": [f"{MODELS['ets'].alias} + {MODELS['seasonal_average'].alias}"]})

    used = _model_used(Chose(), "auto")
    assert used.name == "ets + seasonal_average" and used.chosen
    words = model_words(used)
    assert words.startswith("the mean of " + MODEL_WORDS["ets"]) and MODEL_WORDS["seasonal_average"] in words


def test_the_cli_forecast_of_calls_from_the_reports_history_is_the_reports_next_week(store):
    """`frontdoor forecast --what calls --history-weeks 12 --freq day` gives the weekly report's
    next-week numbers (the same series, history and calendar), and its hours add up to them."""
    import io

    from click.testing import CliRunner

    from cli import main
    from reports import read_last_complete_week

    week = read_last_complete_week(store, PRACTICE)
    got = forecast_calls(history(store, week.start), "seasonal_average", "D").forecast
    args = ["forecast", "--practice", PRACTICE, "--what", "calls", "--history-weeks", "12", "--horizon", "7",
            "--model", "seasonal_average", "--format", "csv", "--store", str(store.root)]
    day = CliRunner().invoke(main, [*args, "--freq", "day"])
    assert day.exit_code == 0, day.output
    cli = pd.read_csv(io.StringIO(day.stdout), parse_dates=["ds"])
    assert cli["ds"].min() == pd.Timestamp(week.end)
    mean = [c for c in cli.columns if c not in ("unique_id", "ds") and "-lo-" not in c and "-hi-" not in c][0]
    np.testing.assert_allclose(cli[mean].to_numpy(), got["mean"].to_numpy())
    hour = CliRunner().invoke(main, [*args[:-4], "--horizon", "1w", "--format", "csv", "--store", str(store.root),
                                     "--freq", "hour"])
    assert hour.exit_code == 0, hour.output
    hours = pd.read_csv(io.StringIO(hour.stdout), parse_dates=["ds"])
    per_day = hours.groupby(hours["ds"].dt.normalize())[mean].sum()
    np.testing.assert_allclose(per_day.reindex(cli["ds"]).fillna(0).to_numpy(), cli[mean].to_numpy(), atol=1e-6)
