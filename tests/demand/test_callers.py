"""Caller metrics: hand-computed expectations on small frames, and properties."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from demand.callers import caller_metrics_daily, caller_metrics_hourly, time_to_get_through
from telephony.schema import OUTCOMES

TZ = "Europe/London"
X, Y, Z, W, V = (f"+4477009002{i:02d}" for i in range(1, 6))


def L(ts: str) -> pd.Timestamp:
    t = pd.Timestamp(ts)
    return t.tz_localize(TZ) if t.tzinfo is None else t.tz_convert(TZ)


@pytest.fixture
def days(build):
    """Monday 2 to Thursday 5 March 2026 (GMT); nobody rang on the 4th."""
    c = build.call
    return build.frame(
        # X redials across midnight and gets through on the 3rd
        c("2026-03-02 23:50", "abandoned", wait=60, caller=X),
        c("2026-03-02 23:58", "abandoned", wait=30, caller=X),
        c("2026-03-03 00:05", "answered", wait=30, caller=X),
        # Y books a callback, then rings again and is answered: got through once, at the callback
        c("2026-03-02 08:00", "callback", wait=100, caller=Y),
        c("2026-03-02 08:30", "answered", wait=20, caller=Y),
        # Z redials twice, then waits 120 s to be answered
        c("2026-03-02 08:00:00", "abandoned", wait=60, caller=Z),
        c("2026-03-02 08:02:00", "abandoned", wait=45, caller=Z),
        c("2026-03-02 08:10:00", "answered", wait=120, caller=Z),
        # W gets through first time
        c("2026-03-02 08:05", "answered", wait=40, caller=W),
        # V never gets through
        c("2026-03-02 09:00", "missed", wait=600, caller=V),
        c("2026-03-02 09:20", "ivr_abandoned", caller=V),
        # two withheld calls: two callers
        c("2026-03-02 08:15", "answered", wait=10, caller=None),
        c("2026-03-02 08:20", "abandoned", wait=30, caller=None),
        # outbound: not an attempt
        c("2026-03-02 11:00", "answered", caller=Y, direction="outbound"),
        c("2026-03-05 10:00", "answered", wait=5, caller=Y),
    )


def test_daily_hand_computed(days):
    d = caller_metrics_daily(days).set_index("date")
    assert list(d.index) == list(pd.to_datetime(["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"]))
    mon = d.loc["2026-03-02"]
    assert mon["attempts"] == 12  # X 2, Y 2, Z 3, W 1, V 2, withheld 2
    assert mon["unique_callers"] == 7  # X, Y, Z, W, V and one per withheld call
    assert mon["redial_ratio"] == pytest.approx(12 / 7)
    assert mon["got_through"] == 4  # Y (callback), Z, W, the answered withheld call
    assert mon["never_got_through"] == 3  # X (that day), V, the abandoned withheld call
    assert mon["share_got_through"] == pytest.approx(4 / 7)
    # identified callers who got through: W 40 s, Y 100 s (callback offer), Z 600 + 120 s
    assert mon["time_to_get_through_p50_s"] == pytest.approx(100)
    assert mon["time_to_get_through_p90_s"] == pytest.approx(100 + 0.8 * 620)


def test_time_to_get_through_pooled_hand_computed(days):
    # identified callers who got through: Y 100 s, Z 600 + 120 = 720 s, W 40 s on Monday;
    # X 30 s on the 3rd (from 00:05, the first attempt of that day); Y 5 s on the 5th
    mon = time_to_get_through(days, TZ, "2026-03-02", "2026-03-03")
    assert mon["n"] == 3
    assert mon["median"] == pytest.approx(100.0)
    assert mon["p90"] == pytest.approx(100 + 0.8 * 620)  # between 100 and 720, 0.8 of the way
    whole = time_to_get_through(days, TZ)
    assert whole["n"] == 5  # 5, 30, 40, 100, 720
    assert whole["median"] == pytest.approx(40.0)
    assert whole["p90"] == pytest.approx(100 + 0.6 * 620)
    # callers whose first attempt of the day started between 08:00 and 09:00 on Monday: Y, Z, W
    assert time_to_get_through(days, TZ, "2026-03-02 08:00", "2026-03-02 09:00") == mon
    empty = time_to_get_through(days, TZ, "2026-03-04", "2026-03-05")
    assert empty["n"] == 0 and math.isnan(empty["median"]) and math.isnan(empty["p90"])
    # one day: the daily metric's figures
    d = caller_metrics_daily(days).set_index("date").loc["2026-03-02"]
    assert (mon["median"], mon["p90"]) == pytest.approx((d["time_to_get_through_p50_s"], d["time_to_get_through_p90_s"]))


def test_redial_across_midnight_counts_on_each_day(days):
    d = caller_metrics_daily(days).set_index("date")
    tue = d.loc["2026-03-03"]
    assert (tue["attempts"], tue["unique_callers"], tue["got_through"]) == (1, 1, 1)
    assert tue["time_to_get_through_p50_s"] == pytest.approx(30)  # from 00:05, not from 23:50
    h = caller_metrics_hourly(days).set_index("interval_start")
    assert h.loc[L("2026-03-02 23:00"), "new_callers"] == 1
    assert h.loc[L("2026-03-02 23:00"), "repeat_attempts"] == 1
    assert h.loc[L("2026-03-03 00:00"), "new_callers"] == 1  # a new day, a new caller


def test_day_without_calls_is_zeros(days):
    d = caller_metrics_daily(days).set_index("date")
    wed = d.loc["2026-03-04"]
    assert (wed["attempts"], wed["unique_callers"], wed["got_through"], wed["never_got_through"]) == (0, 0, 0, 0)
    assert math.isnan(wed["redial_ratio"]) and math.isnan(wed["share_got_through"])
    assert math.isnan(wed["time_to_get_through_p50_s"])


def test_withheld_only_day(build):
    c = build.call
    df = build.frame(
        c("2026-03-02 08:00", "answered", wait=5),
        c("2026-03-02 08:01", "answered", wait=5),
        c("2026-03-02 08:02", "abandoned", wait=5),
    )
    d = caller_metrics_daily(df).iloc[0]
    assert (d["attempts"], d["unique_callers"], d["got_through"]) == (3, 3, 2)
    assert d["redial_ratio"] == 1.0
    assert math.isnan(d["time_to_get_through_p50_s"])  # withheld calls have no history
    h = caller_metrics_hourly(df).iloc[0]
    assert (h["attempts"], h["new_callers"], h["repeat_attempts"]) == (3, 3, 0)


def test_hourly_hand_computed(days):
    h = caller_metrics_hourly(days)
    first = h.iloc[0]
    assert first["interval_start"] == L("2026-03-02 08:00")
    assert (first["attempts"], first["new_callers"], first["repeat_attempts"]) == (8, 5, 3)
    assert first["date"] == pd.Timestamp("2026-03-02") and first["hour"] == 8
    nine = h[h["interval_start"] == L("2026-03-02 09:00")].iloc[0]
    assert (nine["attempts"], nine["new_callers"], nine["repeat_attempts"]) == (2, 1, 1)
    ten = h[h["interval_start"] == L("2026-03-02 10:00")].iloc[0]
    assert (ten["attempts"], ten["new_callers"]) == (0, 0)
    # every hour from the first call (08:00 on the 2nd) to the last (10:00 on the 5th)
    assert len(h) == 16 + 24 + 24 + 11
    daily = caller_metrics_daily(days).set_index("date")
    per_day = h.groupby("date")[["attempts", "new_callers"]].sum()
    assert (per_day["attempts"] == daily["attempts"]).all()
    assert (per_day["new_callers"] == daily["unique_callers"]).all()


def test_dst_days_hourly(build):
    c = build.call
    Q = "+447700900299"
    autumn = build.frame(
        c("2026-10-25T01:30:00+01:00", "abandoned", wait=50, caller=Q),  # first 01:30 (BST)
        c("2026-10-25T01:30:00+00:00", "answered", wait=10, caller=Q),  # an hour later (GMT)
    )
    h = caller_metrics_hourly(autumn, start="2026-10-25", end="2026-10-26")
    assert len(h) == 25 and h["interval_start"].is_unique
    ones = h[h["hour"] == 1]
    assert ones["attempts"].tolist() == [1, 1]
    assert ones["new_callers"].tolist() == [1, 0] and ones["repeat_attempts"].tolist() == [0, 1]
    d = caller_metrics_daily(autumn).iloc[0]
    assert (d["attempts"], d["unique_callers"], d["got_through"]) == (2, 1, 1)
    assert d["time_to_get_through_p50_s"] == pytest.approx(3600 + 10)  # one real hour apart

    spring = build.frame(
        c("2026-03-29 00:30", "abandoned", wait=50, caller=Q),  # GMT
        c("2026-03-29 02:30", "answered", wait=10, caller=Q),  # BST: one real hour later
    )
    h = caller_metrics_hourly(spring, start="2026-03-29", end="2026-03-30")
    assert len(h) == 23 and 1 not in h["hour"].tolist()
    assert h.set_index("hour").loc[2, "repeat_attempts"] == 1
    d = caller_metrics_daily(spring).iloc[0]
    assert d["time_to_get_through_p50_s"] == pytest.approx(3600 + 10)


def test_practices_are_separate(build):
    c = build.call
    df = build.frame(
        c("2026-03-02 08:00", "abandoned", wait=5, caller=X, practice="A81001"),
        c("2026-03-02 08:05", "answered", wait=5, caller=X, practice="B82002"),
    )
    d = caller_metrics_daily(df).set_index("practice_id")
    assert d.loc["A81001", "got_through"] == 0 and d.loc["B82002", "got_through"] == 1
    assert d["unique_callers"].tolist() == [1, 1]


def test_empty(build):
    assert caller_metrics_daily(build.frame()).empty
    assert caller_metrics_hourly(build.frame()).empty


@st.composite
def call_frames(draw, max_calls=50):
    n = draw(st.integers(1, max_calls))
    w0 = draw(st.sampled_from([pd.Timestamp("2026-03-27", tz="UTC"), pd.Timestamp("2026-10-23", tz="UTC")]))
    rows = []
    for i in range(n):
        outcome = draw(st.sampled_from(OUTCOMES))
        rows.append(
            {
                "practice_id": draw(st.sampled_from(["A81001", "B82002"])),
                "call_id": f"c{i}",
                "source_format": "hypothesis",
                "start_utc": w0 + pd.Timedelta(seconds=draw(st.integers(0, 4 * 86400))),
                "direction": draw(st.sampled_from(["inbound", "inbound", "outbound"])),
                "line": "main",
                "caller_key": draw(st.sampled_from([X, Y, Z, None])),
                "outcome": outcome,
                "wait_s": draw(st.one_of(st.none(), st.floats(0, 900, allow_nan=False))),
                "talk_s": 0.0,
                "agent_key": None,
            }
        )
    df = pd.DataFrame(rows)
    df["start_utc"] = pd.to_datetime(df["start_utc"], utc=True).astype("datetime64[us, UTC]")
    for col in ("practice_id", "direction", "caller_key", "outcome"):
        df[col] = df[col].astype("string")
    df["wait_s"] = df["wait_s"].astype("float64")
    return df


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=call_frames())
def test_caller_properties(df):
    d = caller_metrics_daily(df)
    h = caller_metrics_hourly(df)
    assert d["attempts"].sum() == h["attempts"].sum() == (df["direction"] == "inbound").sum()
    assert (d["got_through"] + d["never_got_through"] == d["unique_callers"]).all()
    assert (d["unique_callers"] <= d["attempts"]).all()
    assert (d["redial_ratio"].dropna() >= 1).all()
    assert (d["time_to_get_through_p50_s"].dropna() >= 0).all()
    assert (d["time_to_get_through_p90_s"].fillna(0) >= d["time_to_get_through_p50_s"].fillna(0)).all()
    assert (h["repeat_attempts"] >= 0).all()
    per_day = h.groupby(["practice_id", "date"])[["attempts", "new_callers"]].sum()
    dd = d.set_index(["practice_id", "date"])
    assert (per_day["attempts"] == dd.loc[per_day.index, "attempts"]).all()
    assert (per_day["new_callers"] == dd.loc[per_day.index, "unique_callers"]).all()
    for _, g in h.groupby("practice_id"):
        assert g["interval_start"].is_unique
