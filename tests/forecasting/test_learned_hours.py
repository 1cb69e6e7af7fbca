"""Opening hours and holidays as facts about the series: learned, stated, never zeroing demand."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest

from demand.simulation.shapes import SHAPES, always_open_night_trough, weekday_gp_with_gaps
from forecasting.base import ClosedDemandWarning
from forecasting.calendar import (
    Calendar,
    CalendarError,
    OpeningHours,
    learn_hours,
    parse_closures,
    read_closures,
    series_calendar,
)
from forecasting.pipeline import WarningTally, backtest_series, forecast_series, read_practice_series, tally_warnings
from forecasting.series import series_from_store
from tests.demand.conftest import call, frame
from tests.forecasting.test_series import _commit_calls


def _write(shape, path):
    shape.frame.to_csv(path, index=False)
    return path


def _slot_of(ds: pd.DatetimeIndex) -> list[tuple[int, int]]:
    return list(zip(ds.day_of_week, ds.hour * 60 + ds.minute))


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_learned_hours_and_gaps_are_the_generators_truth(name, tmp_path):
    shape = SHAPES[name](seed=11)
    df, cals = read_practice_series(input_file=_write(shape, tmp_path / "s.csv"), freq=shape.freq,
                                    holidays=shape.nation or "none")
    cal = cals["s"]
    assert cal.hours == OpeningHours.parse(shape.hours)
    assert [g.date() for g in cal.gaps] == list(shape.gaps)
    # the slots the calendar opens are exactly the generator's open slots
    week = pd.date_range("2026-03-02", periods=7 * 1440 // (60 if shape.freq == "h" else 30), freq=shape.freq)
    opened = {s for s, c in zip(_slot_of(week), cal.closed(week, shape.freq)) if not c}
    assert opened == set(shape.open_slots)
    assert any("learned" in n for n in cal.notes)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_nothing_open_is_forecast_as_zero(name, tmp_path):
    shape = SHAPES[name](seed=12)
    df, cals = read_practice_series(input_file=_write(shape, tmp_path / "s.csv"), freq=shape.freq)
    fc, _ = forecast_series(df, "seasonal_average", "1w", cals, level=(80,))
    slots = _slot_of(pd.DatetimeIndex(fc["ds"]))
    open_ = np.array([s in shape.open_slots for s in slots])
    holiday = fc["ds"].dt.date.isin(shape.holidays).to_numpy()
    assert open_.any()
    assert (fc["SeasonalAverage"].to_numpy()[open_ & ~holiday] > 0).all()
    assert (fc["SeasonalAverage-hi-80"].to_numpy()[open_ & ~holiday] > 0).all()


def test_data_gaps_are_reported_not_closed(tmp_path):
    shape = weekday_gp_with_gaps(seed=4, n_gaps=3)
    df, cals = read_practice_series(input_file=_write(shape, tmp_path / "gp.csv"), freq="30min", holidays="england")
    cal = cals["gp"]
    gaps = pd.DatetimeIndex([pd.Timestamp(g) for g in shape.gaps])
    assert [g.date() for g in cal.gaps] == list(shape.gaps)
    # a lost weekday is masked out of fitting and scoring, yet the weekday stays open...
    assert cal.is_gap(gaps).all() and not cal.closed_days(gaps).any()
    assert all(cal.hours.spans[g.weekday()] for g in gaps)
    assert cal.closed(gaps + pd.Timedelta(hours=10), "30min").all()
    # ... and the same weekday a week later is open and forecast
    assert not cal.closed(gaps + pd.Timedelta(days=7, hours=10), "30min").any()
    note = next(n for n in cal.notes if n.startswith("data gaps"))
    assert f"{len(shape.gaps)} open day(s)" in note and "not taken for closures" in note
    # the rows the export lost were filled in, as gaps, not read as closed periods
    assert pd.Timestamp(shape.gaps[-1]) + pd.Timedelta(hours=9) in set(df["ds"])


def test_holidays_decide_whether_a_bank_holiday_is_shut_or_a_gap(tmp_path):
    # history to Monday 22 December 2025: next week holds Christmas and Boxing Day
    shape = SHAPES["level-shift"](seed=3, start="2025-08-04", weeks=20)
    path = _write(shape, tmp_path / "gp.csv")
    christmas = pd.Timestamp("2025-12-25 10:00")
    got = {}
    for holidays in ("england", "none"):
        df, cals = read_practice_series(input_file=path, freq="30min", holidays=holidays)
        fc, _ = forecast_series(df, "seasonal_average", "1w", cals, level=(80,))
        got[holidays] = fc.set_index("ds")["SeasonalAverage"]
        assert cals["gp"].closed([christmas], "30min")[0] == (holidays == "england")
    assert got["england"][christmas] == 0 and got["none"][christmas] > 0
    # England's summer bank holiday (25 August) was a closed day, not a gap; without holidays a gap
    england, none = (read_practice_series(input_file=path, freq="30min", holidays=h)[1]["gp"] for h in ("england", "none"))
    assert dt.date(2025, 8, 25) not in [g.date() for g in england.gaps]
    assert dt.date(2025, 8, 25) in [g.date() for g in none.gaps]


def test_open_hours_state_more_but_never_close_demand_the_data_shows(tmp_path):
    shape = SHAPES["weekday-gaps"](seed=5)
    path = _write(shape, tmp_path / "gp.csv")
    saturday = pd.DatetimeIndex(["2026-01-24 10:00"])
    learned = read_practice_series(input_file=path, freq="30min")[1]["gp"]
    stated = read_practice_series(input_file=path, freq="30min", open_hours="Mon-Sat 08:00-18:30")[1]["gp"]
    assert learned.closed(saturday, "30min")[0] and not stated.closed(saturday, "30min")[0]
    assert any("from `open_hours`: Mon-Sat 08:00-18:30" in n for n in stated.notes)
    # stated hours narrower than the data: the periods with demand stay open, and it is said
    narrow = read_practice_series(input_file=path, freq="30min", open_hours="Mon-Fri 09:00-17:00")[1]["gp"]
    monday_8 = pd.DatetimeIndex(["2026-01-26 08:00", "2026-01-26 17:30", "2026-01-26 18:30"])
    assert narrow.closed(monday_8, "30min").tolist() == [False, False, True]
    assert any("kept open" in n and "08:00-09:00" in n and "17:00-18:30" in n for n in narrow.notes)
    df, cals = read_practice_series(input_file=path, freq="30min", open_hours="Mon-Fri 09:00-17:00")
    fc, _ = forecast_series(df, "seasonal_average", "1w", cals, level=(80,))
    at8 = fc[(fc["ds"].dt.hour == 8) & (fc["ds"].dt.day_of_week < 5)]
    assert (at8["SeasonalAverage"] > 0).all()


def test_closures_close_stated_days_and_spans(tmp_path):
    shape = always_open_night_trough(seed=6, start="2025-09-01", weeks=12)  # to Sunday 23 November
    path = _write(shape, tmp_path / "ed.csv")
    closures = tmp_path / "closures.txt"
    closures.write_text("# practice closures\n2025-11-26 13:00-18:30 protected learning time\n2025-11-28\n")
    df, cals = read_practice_series(input_file=path, freq="h", closures=closures)
    fc, _ = forecast_series(df, "seasonal_average", "1w", cals, level=(80,))
    y = fc.set_index("ds")["SeasonalAverage"]
    plt = (y.index >= "2025-11-26 13:00") & (y.index < "2025-11-26 18:00")  # 18:00-19:00 is open for half
    whole = y.index.normalize() == pd.Timestamp("2025-11-28")
    assert (y[plt | whole] == 0).all() and plt.sum() == 5 and whole.sum() == 24
    assert (y[~(plt | whole)] > 0).all()
    assert any("1 whole day(s) and 1 part-day span(s) from closures.txt" in n for n in cals["ed"].notes)


def test_closures_file_errors_name_the_line(tmp_path):
    assert parse_closures(["date,start,end", "2026-03-11,13:00,18:30", "2026-03-12"]).spans == (
        (pd.Timestamp("2026-03-11 13:00"), pd.Timestamp("2026-03-11 18:30")),
    )
    with pytest.raises(CalendarError, match=r"x.txt: line 2 \('next Tuesday'\) is not a closure"):
        parse_closures(["2026-03-11", "next Tuesday"], "x.txt")
    with pytest.raises(CalendarError, match="ends before it starts"):
        parse_closures(["2026-03-11 18:00-13:00"])
    with pytest.raises(CalendarError, match="Cannot read the `closures` file"):
        read_closures(tmp_path / "missing.txt")


def test_a_bank_holiday_in_the_last_weeks_does_not_close_its_weekday():
    # four Mondays, the last a bank holiday with no calls: the Monday hours come from the others
    ds = pd.date_range("2026-04-13 08:00", "2026-05-04 18:00", freq="h")
    y = np.where((ds.hour >= 8) & (ds.hour < 18) & (ds.normalize() != pd.Timestamp("2026-05-04")), 3.0, 0.0)
    hours = learn_hours(ds, y, "h", Calendar(nation="ENG", hours=None))
    assert hours.spans[0] == ((480, 1080),)
    cal = series_calendar(ds, y, "h", holidays="england")
    assert cal.gaps == () and cal.closed(pd.DatetimeIndex(["2026-05-04 10:00"]), "h")[0]


def test_a_practice_uses_its_registry_hours_and_the_closed_series_is_its_own(store):
    calls = frame(
        *[call(f"2026-10-{d:02d} 09:{m:02d}", caller=f"07700900{100 + m:03d}") for d in range(5, 31) for m in (5, 35)
          if dt.date(2026, 10, d).weekday() < 5],
        *[call(f"2026-10-{d:02d} 19:10", caller="07700900900", outcome="closed") for d in (6, 13, 20)],
    )
    _commit_calls(store, calls)
    from telephony.practices import write_practices

    write_practices(store, pd.DataFrame({"practice_id": ["A81001"], "opening_hours": ["Mon-Fri 08:00-18:30"]}))
    df, cals = read_practice_series(store, "A81001", "offered", "h")
    cal = cals["A81001"]
    assert cal.hours == OpeningHours.parse("Mon-Fri 08:00-18:30") and cal.nation == "ENG"
    assert any("from the registry" in n for n in cal.notes)
    closed = series_from_store(store, "A81001", "2026-10-05", "2026-10-30", freq="h", what="closed")
    assert closed["y"].sum() == 3 and (closed.loc[closed["y"] > 0, "ds"].dt.hour == 19).all()
    assert df.loc[df["ds"].dt.hour == 19, "y"].sum() == 0  # never mixed into open-hours demand
    _, ccals = read_practice_series(store, "A81001", "closed", "h")
    assert ccals["A81001"].nation is None and ccals["A81001"].hours.spans[1] == ((1140, 1200),)
    write_practices(store, pd.DataFrame({"practice_id": ["A81001"], "opening_hours": ["weekdays"]}))
    with pytest.raises(CalendarError, match="Practice A81001's opening hours in the registry: Cannot read"):
        read_practice_series(store, "A81001", "offered", "h")
    _, stated = read_practice_series(store, "A81001", "offered", "h", open_hours="Mon-Fri 08:00-18:30")
    assert stated["A81001"].hours == OpeningHours.parse("Mon-Fri 08:00-18:30")


def test_third_party_warnings_are_counted_frontdoors_shown():
    tally = WarningTally()
    with pytest.warns(ClosedDemandWarning, match="ours"):
        with tally_warnings(tally):
            for _ in range(3):
                warnings.warn_explicit("did not converge", RuntimeWarning, "/x/site-packages/statsmodels/tsa/a.py", 1)
            warnings.warn("ours", ClosedDemandWarning)
    assert tally.summary() == ["statsmodels warned 3 times: RuntimeWarning (3); e.g. 'did not converge'"]


def test_backtest_glue_shows_frontdoors_warnings():
    shape = always_open_night_trough(seed=1, weeks=6)
    df = shape.frame.assign(unique_id="ed")
    # a weekday-hours calendar on a 24/7 series: Frontdoor warns that demand falls in closed periods
    with pytest.warns(ClosedDemandWarning):
        res = backtest_series(df, ["seasonal_naive"], horizon=24, windows=2, calendar=Calendar())
    assert "warnings" in res.attrs


def test_the_demo_practices_keep_their_registry_calendars(tmp_path_factory):
    # The weekly report's forecasts stay as they were: each demo practice's calendar, from its
    # registry hours, widened by nothing and with no gaps, is the one the report uses.
    from demand.simulation.demo import run_demo
    from forecasting.series import read_calendars
    from telephony.store import open_store

    out = tmp_path_factory.mktemp("hours_demo")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FRONTDOOR_KEY", "test-key-not-secret")
        store = open_store(run_demo(out, weeks=5, seed=3, start_date=dt.date(2025, 1, 6)).store)
        registry = read_calendars(store, ["A81001", "A81002", "A81003"])
        for practice, want in registry.items():
            for what, freq in (("offered", "30min"), ("offered", "h"), ("unique_callers", "h"), ("same_day_demand", "D")):
                _, cals = read_practice_series(store, practice, what, freq)
                assert cals[practice] == want, (practice, what, freq, cals[practice].notes)
        _, sct = read_practice_series(store, "A81001", "offered", "h", holidays="scotland", open_hours="always")
        assert sct["A81001"].nation == "SCT" and sct["A81001"].hours == OpeningHours.always_open()


def test_a_practice_in_scotland_gets_scotlands_bank_holidays_from_the_registry():
    import datetime as dt

    import pandas as pd

    from forecasting.series import calendars_from_registry

    reg = pd.DataFrame({"practice_id": ["S10001", "A81001"], "opening_hours": [None, None], "nation": ["SCT", None]})
    cals = calendars_from_registry(reg)
    # 2 January is a bank holiday in Scotland only; St Andrew's Day 2026 (a Monday) likewise
    days = pd.DatetimeIndex([dt.datetime(2026, 1, 2, 10), dt.datetime(2026, 11, 30, 10)])
    assert cals["S10001"].is_bank_holiday(days).all()
    assert not cals["A81001"].is_bank_holiday(days).any()


def test_a_phone_number_in_a_closures_file_or_in_stated_hours_is_not_quoted(tmp_path):
    from forecasting.calendar import CalendarError, OpeningHours, read_closures

    bad = tmp_path / "closures.txt"
    bad.write_text("2026-03-11\nring 01632 960001 first\n")
    with pytest.raises(CalendarError) as err:
        read_closures(bad)
    assert "line 2" in str(err.value) and "960001" not in str(err.value)
    with pytest.raises(CalendarError) as err:
        OpeningHours.parse("Mon-Fri 08:00-18:30, tel 07700 900123")
    assert "900123" not in str(err.value)
