"""Demand against capacity and the Monday profile: hand-computed expectations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from demand.callers import caller_metrics_daily
from demand.definitions import MetricsInputError
from demand.demand_capacity import DAY_TYPES, MONDAY_PROFILE_COLUMNS, PRESSURE_COLUMNS, demand_capacity, monday_profile
from tests.demand.conftest import call, frame
from tests.demand.slot_builders import TZ, slot, slots_frame

SD = "same_day"
X, Y, Z, W, V = (f"+4477009003{i:02d}" for i in range(1, 6))


def L(ts: str) -> pd.Timestamp:
    t = pd.Timestamp(ts)
    return t.tz_localize(TZ) if t.tzinfo is None else t.tz_convert(TZ)


@pytest.fixture
def book():
    """Monday 2 March 2026 runs out at 08:37; Tuesday 3rd does not; Wednesday 4th has no slots."""
    return slots_frame(
        slot("2026-03-02 08:30", "attended", SD, booked="2026-03-02 08:05"),
        slot("2026-03-02 09:00", "attended", SD, booked="2026-03-02 08:20"),
        slot("2026-03-02 10:00", "booked", SD, booked="2026-03-02 08:37"),
        slot("2026-03-02 14:00", "attended", SD, booked="2026-03-02 08:30"),
        slot("2026-03-02 11:00", "attended", booked="2026-02-16 10:00"),  # pre-bookable: not same-day
        slot("2026-03-02 15:00", "cancelled", SD),  # not released
        slot("2026-03-03 08:30", "attended", SD, booked="2026-03-03 08:10"),
        slot("2026-03-03 14:00", "available", SD),
    )


@pytest.fixture
def calls():
    c = call
    return frame(
        # Monday 2 March
        c("2026-03-02 08:00", "abandoned", wait=40, caller=X),
        c("2026-03-02 08:02", "answered", wait=60, caller=X),  # through 08:03, before 08:37
        c("2026-03-02 08:30", "answered", wait=600, caller=Y),  # through 08:40: no slot left
        c("2026-03-02 08:50", "abandoned", wait=90, caller=Z),
        c("2026-03-02 13:30", "answered", wait=30, caller=Z),  # through after 08:37; first rang am
        c("2026-03-02 09:00", "missed", wait=300, caller=W),
        c("2026-03-02 09:10", "ivr_abandoned", caller=W),  # W never gets through
        c("2026-03-02 08:10", "answered", wait=10, caller=None),  # withheld, through at 08:10:10
        c("2026-03-02 14:00", "abandoned", wait=20, caller=None),  # withheld, never through
        c("2026-03-02 13:05", "callback", wait=20, caller=V),  # callback accepted after 08:37
        c("2026-03-02 11:00", "answered", caller=Y, direction="outbound"),  # not demand
        # Tuesday 3 March: capacity never ran out
        c("2026-03-03 08:05", "answered", wait=5, caller=X),
        c("2026-03-03 08:06", "abandoned", wait=5, caller=Y),
        # Wednesday 4 March: no same-day slot released at all
        c("2026-03-04 10:00", "answered", wait=5, caller=X),
    )


def test_monday_hand_computed(calls, book):
    d = demand_capacity(calls, book)
    assert list(d.columns) == list(PRESSURE_COLUMNS)
    assert list(zip(d["date"].dt.day, d["session"])) == [(2, "am"), (2, "pm"), (3, "am"), (3, "pm"), (4, "am"), (4, "pm")]
    d = d.set_index(["date", "session"])
    am, pm = d.loc[(pd.Timestamp("2026-03-02"), "am")], d.loc[(pd.Timestamp("2026-03-02"), "pm")]
    assert am["attempts"] == 7  # X 2, Y 1, Z 1, W 2, withheld 1
    assert am["unique_callers"] == 5  # X, Y, Z, W, one withheld call
    assert am["new_callers"] == 5
    assert pm["attempts"] == 3  # Z 13:30, V 13:05, withheld 14:00
    assert pm["unique_callers"] == 3  # Z rang in both sessions and counts in both
    assert pm["new_callers"] == 2  # V and the withheld 14:00 call; Z first rang in the morning
    assert (am["same_day_released"], am["same_day_booked"]) == (3, 3)
    assert (pm["same_day_released"], pm["same_day_booked"]) == (1, 1)
    assert am["pressure_index"] == pytest.approx(5 / 3)
    assert pm["pressure_index"] == pytest.approx(3.0)
    assert am["same_day_exhausted_at"] == L("2026-03-02 08:37") == pm["same_day_exhausted_at"]
    # Y (through 08:40) and Z (through 13:30:30, first rang 08:50) came after the last slot went
    assert am["turned_away_no_capacity"] == 2
    assert am["turned_away_not_through"] == 1  # W
    assert am["turned_away"] == 3
    # V's callback was accepted at 13:05:20; the withheld 14:00 caller never got through
    assert (pm["turned_away_no_capacity"], pm["turned_away_not_through"], pm["turned_away"]) == (1, 1, 2)


def test_day_that_never_ran_out_and_day_without_slots(calls, book):
    d = demand_capacity(calls, book).set_index(["date", "session"])
    tue_am, tue_pm = d.loc[(pd.Timestamp("2026-03-03"), "am")], d.loc[(pd.Timestamp("2026-03-03"), "pm")]
    assert (tue_am["attempts"], tue_am["unique_callers"], tue_am["same_day_released"]) == (2, 2, 1)
    assert tue_am["pressure_index"] == pytest.approx(2.0)
    assert pd.isna(tue_am["same_day_exhausted_at"])
    assert (tue_am["turned_away_no_capacity"], tue_am["turned_away_not_through"]) == (0, 1)  # Y gave up
    assert tue_pm["pressure_index"] == 0.0  # a slot and no callers
    wed_am, wed_pm = d.loc[(pd.Timestamp("2026-03-04"), "am")], d.loc[(pd.Timestamp("2026-03-04"), "pm")]
    assert wed_am["same_day_released"] == 0 and math.isnan(wed_am["pressure_index"])
    assert wed_am["turned_away_no_capacity"] == 1  # X got through, nothing to offer
    assert math.isnan(wed_pm["pressure_index"]) and wed_pm["unique_callers"] == 0


def test_sessions_add_up_to_the_callers_day(calls, book):
    d = demand_capacity(calls, book).groupby("date")[["attempts", "new_callers"]].sum()
    daily = caller_metrics_daily(calls).set_index("date")
    assert (d["attempts"] == daily["attempts"]).all()
    assert (d["new_callers"] == daily["unique_callers"]).all()
    t = demand_capacity(calls, book)
    assert (t["turned_away"] <= t["new_callers"]).all()


def test_lines_pick_the_demand(calls, book):
    extra = frame(call("2026-03-02 08:45", "answered", wait=5, caller=W, line="prescriptions"))
    both = pd.concat([calls, extra], ignore_index=True)
    with_rx = demand_capacity(both, book).set_index(["date", "session"]).loc[(pd.Timestamp("2026-03-02"), "am")]
    main = demand_capacity(both, book, lines=["main"]).set_index(["date", "session"]).loc[(pd.Timestamp("2026-03-02"), "am")]
    assert with_rx["attempts"] == 8 and main["attempts"] == 7
    # on the prescriptions line W got through (08:45:05, after 08:37): no longer "not through"
    assert (with_rx["turned_away_no_capacity"], with_rx["turned_away_not_through"]) == (3, 0)
    assert (main["turned_away_no_capacity"], main["turned_away_not_through"]) == (2, 1)


def test_dst_spring_day_sessions_follow_the_wall_clock():
    c = frame(
        call("2026-03-29 12:30", "answered", wait=5, caller=X),
        call("2026-03-29 13:10", "answered", wait=5, caller=Y),  # 12:10 UTC, but pm
    )
    s = slots_frame(
        slot("2026-03-29 12:45", "attended", SD, booked="2026-03-29 12:31"),
        slot("2026-03-29 13:15", "available", SD),
    )
    d = demand_capacity(c, s).set_index("session")
    assert list(d["date"].unique()) == [pd.Timestamp("2026-03-29")]
    assert (d.loc["am", "attempts"], d.loc["pm", "attempts"]) == (1, 1)
    assert (d.loc["am", "same_day_released"], d.loc["pm", "same_day_released"]) == (1, 1)
    assert d.loc["pm", "pressure_index"] == 1.0
    assert d["turned_away"].sum() == 0  # one same-day slot stayed free: never ran out


def test_practice_without_slots_is_an_error(calls, book):
    other = frame(call("2026-03-02 08:00", "answered", wait=5, caller=X, practice="B82002"))
    with pytest.raises(MetricsInputError, match="B82002"):
        demand_capacity(pd.concat([calls, other], ignore_index=True), book)
    with pytest.raises(MetricsInputError, match="slots but no calls"):
        demand_capacity(calls.iloc[0:0], book)
    empty = demand_capacity(calls.iloc[0:0], book.iloc[0:0])
    assert empty.empty and list(empty.columns) == list(PRESSURE_COLUMNS)
    # a period that leaves the practice without slots is the same error, naming the cause
    with pytest.raises(MetricsInputError, match="calls but no appointment slots"):
        demand_capacity(calls, book, start="2026-03-04", end="2026-03-05")


@pytest.fixture
def fortnight():
    """Monday 2 to Sunday 15 March 2026: two full weeks."""
    c = call
    calls = frame(
        c("2026-03-02 08:00", "abandoned", wait=30, caller=X),
        c("2026-03-02 08:05", "answered", wait=30, caller=X),
        c("2026-03-02 08:10", "answered", wait=30, caller=Y),
        c("2026-03-09 08:20", "abandoned", wait=30, caller=Z),
        c("2026-03-09 09:00", "answered", wait=30, caller=Z),
        c("2026-03-03 08:00", "answered", wait=30, caller=X),
        c("2026-03-11 10:00", "answered", wait=30, caller=Y),
        c("2026-03-07 10:00", "closed", caller=W),  # Saturday
        c("2026-03-15 23:00", "closed", caller=V),  # Sunday, the last day
    )
    slots = slots_frame(
        slot("2026-03-02 08:30", "attended", SD, booked="2026-03-02 08:05"),
        slot("2026-03-02 08:40", "attended", SD, booked="2026-03-02 08:15"),
        slot("2026-03-02 14:00", "available", SD),
        slot("2026-03-02 08:50", "attended", booked="2026-02-20 09:00"),  # pre-bookable
        slot("2026-03-09 08:30", "attended", SD, booked="2026-03-09 08:25"),
        slot("2026-03-03 09:00", "attended", SD, booked="2026-03-03 08:01"),
    )
    return calls, slots


def test_monday_profile_hand_computed(fortnight):
    calls, slots = fortnight
    m = monday_profile(calls, slots)
    assert list(m.columns) == list(MONDAY_PROFILE_COLUMNS)
    assert len(m) == 48 and list(m["day_type"].unique()) == list(DAY_TYPES)
    m = m.set_index(["day_type", "hour"])
    mon8, mon9 = m.loc[("Monday", 8)], m.loc[("Monday", 9)]
    assert mon8["days"] == 2
    assert mon8["mean_attempts"] == pytest.approx((3 + 1) / 2)
    assert mon8["mean_new_callers"] == pytest.approx((2 + 1) / 2)
    assert (mon9["mean_attempts"], mon9["mean_new_callers"]) == (0.5, 0.0)  # Z's redial
    assert mon8["mean_same_day_slots"] == pytest.approx(1.5)
    assert m.loc[("Monday", 14), "mean_same_day_slots"] == pytest.approx(0.5)
    assert mon8["mean_same_day_booked"] == pytest.approx(1.5)  # 08:05, 08:15; 08:25
    week8 = m.loc[("Tuesday-Friday", 8)]
    assert week8["days"] == 8
    assert (week8["mean_attempts"], week8["mean_new_callers"]) == (1 / 8, 1 / 8)
    assert week8["mean_same_day_booked"] == 1 / 8
    assert m.loc[("Tuesday-Friday", 9), "mean_same_day_slots"] == 1 / 8
    assert m.loc[("Tuesday-Friday", 10), "mean_attempts"] == 1 / 8
    assert m.loc[("Monday", 0), "mean_attempts"] == 0.0
    # callers per day: Mondays 2 + 1, Tue 1, Wed 1, Sat 1, Sun 1; attempts Mondays 3 + 2 of 9
    assert (m["full_weeks"] == 2).all()
    assert np.allclose(m["monday_share_callers"], 3 / 7)
    assert np.allclose(m["monday_share_attempts"], 5 / 9)


def test_monday_profile_excludes_bank_holidays(fortnight):
    calls, slots = fortnight
    m = monday_profile(calls, slots, exclude_dates=["2026-03-09"]).set_index(["day_type", "hour"])
    assert m.loc[("Monday", 8), "days"] == 1
    assert m.loc[("Monday", 8), "mean_attempts"] == 3.0
    assert m.loc[("Monday", 9), "mean_attempts"] == 0.0
    # only the first week is whole: Monday 2 of its 4 callers (Mon 2, Tue 1, Sat 1)
    assert (m["full_weeks"] == 1).all()
    assert np.allclose(m["monday_share_callers"], 2 / 4)


def test_monday_profile_without_a_full_week_has_no_share(fortnight):
    calls, slots = fortnight
    m = monday_profile(calls, slots, end="2026-03-08")
    assert (m["full_weeks"] == 0).all() and m["monday_share_callers"].isna().all()
    assert m.set_index(["day_type", "hour"]).loc[("Monday", 8), "days"] == 1
