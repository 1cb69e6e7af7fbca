"""Capacity and same-day exhaustion: hand-computed expectations on small slot books."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from demand.capacity import CAPACITY_COUNT_COLUMNS, EXHAUSTION_COLUMNS, capacity_metrics, same_day_exhaustion
from demand.definitions import MetricsInputError
from demand.slots import LEAD_TIME_COLUMNS
from tests.demand.slot_builders import TZ, slot, slots_frame

SD = "same_day"


def L(ts: str) -> pd.Timestamp:
    t = pd.Timestamp(ts)
    return t.tz_localize(TZ) if t.tzinfo is None else t.tz_convert(TZ)


@pytest.fixture
def book():
    """Monday 2 March 2026 runs out of same-day slots at 08:37; Tuesday 3rd never does;
    Wednesday 4th runs out at a time nobody recorded."""
    return slots_frame(
        # Monday: five same-day slots, the last of them booked at 08:37
        slot("2026-03-02 08:00", "attended", SD, booked="2026-03-02 08:01", mode="telephone"),
        slot("2026-03-02 08:10", "attended", SD, booked="2026-03-02 08:05", mode="telephone"),
        slot("2026-03-02 08:20", "dna", SD, booked="2026-03-02 08:12", mode="telephone"),
        slot("2026-03-02 14:00", "booked", SD, booked="2026-03-02 08:37", mode="telephone"),
        slot("2026-03-02 14:10", "attended", SD, booked="2026-03-02 08:30", mode="telephone"),
        # cancelled after the 08:37 booking: not offered, so it neither counts nor moves the time
        slot("2026-03-02 09:00", "cancelled", SD, booked="2026-03-02 08:50"),
        # Monday's pre-bookable book
        slot("2026-03-02 09:00", "attended", booked="2026-02-20 10:00", duration=15),  # 10 days
        slot("2026-03-02 09:10", "available", mode="telephone"),
        slot("2026-03-02 12:50", "dna", booked="2026-02-27 16:00", duration=20, mode="telephone"),  # 3 days
        slot("2026-03-02 10:00", "attended", booked=None),  # booking time not exported
        slot("2026-03-02 13:00", "attended", booked="2026-03-01 18:00", role="nurse"),  # 1 day; pm
        slot("2026-03-02 15:00", "booked", booked="2025-12-01 09:00"),  # 91 days
        slot("2026-03-02 16:00", "cancelled", role="nurse"),
        # Tuesday: one same-day slot left unbooked
        slot("2026-03-03 08:00", "attended", SD, booked="2026-03-03 08:02"),
        slot("2026-03-03 08:10", "available", SD),
        # Wednesday: all booked, but the booking time is missing
        slot("2026-03-04 08:00", "attended", SD, booked=None),
    )


def test_session_totals_hand_computed(book):
    c = capacity_metrics(book, by=()).set_index(["date", "session"])
    am = c.loc[(pd.Timestamp("2026-03-02"), "am")]
    # am: three same-day, 09:00, 09:10, 12:50, 10:00 offered; the cancelled 09:00 apart
    assert am["slots_offered"] == 7
    assert am["cancelled"] == 1
    assert am["booked"] == 6
    assert am["available"] == 1
    assert (am["attended"], am["dna"]) == (4, 2)
    assert am["utilisation"] == pytest.approx(6 / 7)
    assert am["dna_rate"] == pytest.approx(2 / 6)
    assert am["minutes_offered"] == pytest.approx(5 * 10 + 15 + 20)
    assert am["minutes_booked"] == pytest.approx(4 * 10 + 15 + 20)
    leads = {k: am[k] for k in LEAD_TIME_COLUMNS if am[k]}
    assert leads == {"lead_same_day": 3, "lead_2_7_days": 1, "lead_8_14_days": 1, "lead_unknown": 1}
    pm = c.loc[(pd.Timestamp("2026-03-02"), "pm")]
    # 13:00 is already pm
    assert (pm["slots_offered"], pm["booked"], pm["available"], pm["cancelled"]) == (4, 4, 0, 1)
    assert (pm["attended"], pm["dna"], pm["utilisation"], pm["dna_rate"]) == (2, 0, 1.0, 0.0)
    leads = {k: pm[k] for k in LEAD_TIME_COLUMNS if pm[k]}
    assert leads == {"lead_same_day": 2, "lead_1_day": 1, "lead_over_28_days": 1}
    # Wednesday: one row per session that has slots, none for the empty pm
    assert list(c.loc[pd.Timestamp("2026-03-04")].index) == ["am"]


def test_breakdown_by_role_and_mode(book):
    c = capacity_metrics(book)  # by role and mode
    assert list(c.columns[:5]) == ["practice_id", "date", "session", "role", "mode"]
    mon_am = c[(c["date"] == "2026-03-02") & (c["session"] == "am")].set_index(["role", "mode"])
    assert list(mon_am.index) == [("GP", "face_to_face"), ("GP", "telephone")]  # schema order
    tel = mon_am.loc[("GP", "telephone")]
    # three same-day telephone slots, 09:10 available, 12:50 dna
    assert (tel["slots_offered"], tel["booked"], tel["dna"]) == (5, 4, 2)
    f2f = mon_am.loc[("GP", "face_to_face")]
    # 09:00 attended and 10:00 attended; the cancelled 09:00 keeps the row's cancelled count
    assert (f2f["slots_offered"], f2f["booked"], f2f["cancelled"]) == (2, 2, 1)
    nurse = c[(c["role"] == "nurse")].set_index(["date", "session"])
    assert nurse.loc[(pd.Timestamp("2026-03-02"), "pm"), "slots_offered"] == 1
    assert nurse.loc[(pd.Timestamp("2026-03-02"), "pm"), "cancelled"] == 1


def test_breakdown_sums_to_totals(book):
    keys = ["practice_id", "date", "session"]
    fine = capacity_metrics(book, by=("role", "mode", "category")).groupby(keys)[list(CAPACITY_COUNT_COLUMNS)].sum()
    total = capacity_metrics(book, by=()).set_index(keys)[list(CAPACITY_COUNT_COLUMNS)]
    pd.testing.assert_frame_equal(fine, total, check_dtype=False)
    t = capacity_metrics(book, by=())
    assert (t["slots_offered"] == t["booked"] + t["available"]).all()
    assert (t[list(LEAD_TIME_COLUMNS)].sum(axis=1) == t["booked"]).all()


def test_session_split_is_a_parameter(book):
    c = capacity_metrics(book, by=(), session_split="12:00").set_index(["date", "session"])
    mon = pd.Timestamp("2026-03-02")
    assert c.loc[(mon, "am"), "slots_offered"] == 6  # 12:50 has moved to pm
    assert c.loc[(mon, "pm"), "slots_offered"] == 5
    with pytest.raises(MetricsInputError):
        capacity_metrics(book, session_split="25:00")
    with pytest.raises(MetricsInputError):
        capacity_metrics(book, session_split="noon")


def test_exhaustion_ran_out_at_0837_and_never_ran_out(book):
    e = same_day_exhaustion(book).set_index("date")
    assert list(e.columns) == list(EXHAUSTION_COLUMNS[:1] + EXHAUSTION_COLUMNS[2:])
    mon = e.loc["2026-03-02"]
    assert (mon["same_day_released"], mon["same_day_booked"], mon["same_day_unbooked"]) == (5, 5, 0)
    assert bool(mon["exhausted"]) is True
    assert mon["exhausted_at"] == L("2026-03-02 08:37")
    assert str(mon["exhausted_at"].tz) == TZ
    tue = e.loc["2026-03-03"]
    assert (tue["same_day_released"], tue["same_day_booked"], tue["same_day_unbooked"]) == (2, 1, 1)
    assert bool(tue["exhausted"]) is False and pd.isna(tue["exhausted_at"])
    wed = e.loc["2026-03-04"]
    assert bool(wed["exhausted"]) is True and wed["booked_time_unknown"] == 1
    assert pd.isna(wed["exhausted_at"])  # ran out, but when is not known


def test_day_with_no_same_day_slots_is_not_exhausted():
    book = slots_frame(slot("2026-03-05 09:00", "attended", booked="2026-03-01 09:00"))
    e = same_day_exhaustion(book)
    assert len(e) == 1
    assert (e.loc[0, "same_day_released"], bool(e.loc[0, "exhausted"])) == (0, False)


@pytest.fixture
def dst_book():
    return slots_frame(
        # spring forward, Sunday 29 March 2026: 12:30 BST is 11:30 UTC, 13:00 BST is 12:00 UTC
        slot("2026-03-29 12:30", "attended", SD, booked="2026-03-28 12:45"),  # 23h45m before: 1 Day
        slot("2026-03-29 13:00", "attended", SD, booked="2026-03-29 09:00"),
        # 00:30 BST on the 30th is 23:30 UTC on the 29th: the 30th's morning
        slot("2026-03-30 00:30", "available", SD),
        # fall back, Sunday 25 October 2026: 01:30 happens twice
        slot("2026-10-25 01:30+01:00", "attended", SD, booked="2026-10-25 01:00+01:00"),
        slot("2026-10-25 01:30+00:00", "attended", SD, booked="2026-10-25 01:20+00:00"),
        slot("2026-10-25 13:30", "attended", SD, booked="2026-10-25 01:10+00:00"),
    )


def test_dst_days_follow_the_wall_clock(dst_book):
    c = capacity_metrics(dst_book, by=()).set_index(["date", "session"])
    spring = pd.Timestamp("2026-03-29")
    assert c.loc[(spring, "am"), "slots_offered"] == 1
    assert c.loc[(spring, "pm"), "slots_offered"] == 1  # 13:00 BST, though 12:00 UTC
    assert c.loc[(spring, "am"), "lead_1_day"] == 1  # calendar days, not 24-hour periods
    assert c.loc[(pd.Timestamp("2026-03-30"), "am"), "available"] == 1
    autumn = pd.Timestamp("2026-10-25")
    assert c.loc[(autumn, "am"), "slots_offered"] == 2  # both 01:30s
    assert c.loc[(autumn, "pm"), "slots_offered"] == 1
    e = same_day_exhaustion(dst_book).set_index("date")
    assert e.loc["2026-03-29", "exhausted_at"] == L("2026-03-29 09:00")
    # the last booking was at the second 01:20 (GMT), not the first
    assert e.loc["2026-10-25", "exhausted_at"] == pd.Timestamp("2026-10-25 01:20+00:00")
    assert e.loc["2026-10-25", "exhausted_at"].utcoffset() == pd.Timedelta(0)
    assert bool(e.loc["2026-03-30", "exhausted"]) is False


def test_practice_without_slots_gives_empty_result(book):
    empty = book.iloc[0:0]
    c = capacity_metrics(empty)
    assert c.empty and list(c.columns[:5]) == ["practice_id", "date", "session", "role", "mode"]
    assert set(CAPACITY_COUNT_COLUMNS) <= set(c.columns)
    e = same_day_exhaustion(empty)
    assert e.empty and list(e.columns) == list(EXHAUSTION_COLUMNS)
    # a second practice appears only on its own days
    other = slots_frame(slot("2026-03-03 09:00", "attended", SD, booked="2026-03-03 08:00", practice="B82002"))
    both = same_day_exhaustion(pd.concat([book, other], ignore_index=True))
    assert list(both[both["practice_id"] == "B82002"]["date"]) == [pd.Timestamp("2026-03-03")]
    assert len(both[both["practice_id"] == "A81001"]) == 3


def test_period_bounds(book):
    c = capacity_metrics(book, by=(), start="2026-03-03", end="2026-03-04")
    assert list(c["date"].unique()) == [pd.Timestamp("2026-03-03")]
    e = same_day_exhaustion(book, start="2026-03-02 12:00", end="2026-03-03")
    # only the 14:00 and 14:10 same-day slots are in the period: booked, so exhausted at 08:37
    assert e.loc[0, "same_day_released"] == 2 and e.loc[0, "exhausted_at"] == L("2026-03-02 08:37")


def test_bad_input_is_a_metrics_error(book):
    with pytest.raises(MetricsInputError, match="status"):
        capacity_metrics(book.assign(status=book["status"].replace("dna", "no-show")))
    with pytest.raises(MetricsInputError, match="timezone-aware"):
        capacity_metrics(book.assign(start_utc=book["start_utc"].dt.tz_localize(None)))
    with pytest.raises(MetricsInputError, match="lacks"):
        capacity_metrics(book.drop(columns=["booked_utc"]))
    with pytest.raises(MetricsInputError, match="break capacity down"):
        capacity_metrics(book, by=("clinician",))
    with pytest.raises(MetricsInputError, match="timezone"):
        capacity_metrics(book, tz="Mars/Olympus")


def test_utilisation_nan_when_nothing_offered():
    book = slots_frame(slot("2026-03-05 09:00", "cancelled"))
    c = capacity_metrics(book, by=())
    assert c.loc[0, "slots_offered"] == 0 and c.loc[0, "cancelled"] == 1
    assert np.isnan(c.loc[0, "utilisation"]) and np.isnan(c.loc[0, "dna_rate"])
