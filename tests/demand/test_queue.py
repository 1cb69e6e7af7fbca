"""Queue metrics and NHS metrics: hand-computed expectations on small frames, and properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from demand.definitions import (
    FREQS,
    NHS_CATEGORIES,
    NHS_OUTCOME_MAP,
    MetricsInputError,
    interval_grid,
    interval_starts,
)
from demand.queue import NHS_COUNT_COLUMNS, QUEUE_COUNT_COLUMNS, nhs_metrics, queue_metrics
from telephony.schema import OUTCOMES

TZ = "Europe/London"
A = "+447700900101"
B = "+447700900102"
C = "+447700900103"
D = "+447700900104"


def L(ts: str) -> pd.Timestamp:
    t = pd.Timestamp(ts)
    return t.tz_localize(TZ) if t.tzinfo is None else t.tz_convert(TZ)


@pytest.fixture
def morning(build):
    """A Monday morning, 2 Mar 2026 (GMT), with every outcome; hour 10 has no calls."""
    c = build.call
    return build.frame(
        c("2026-03-02 07:55", "closed", caller=A),
        # 08:00-09:00: 11 inbound calls + 1 outbound
        c("2026-03-02 08:00:05", "answered", wait=20, talk=100, caller=B),
        c("2026-03-02 08:01", "answered", wait=50, talk=200, caller=C),
        c("2026-03-02 08:02", "answered", wait=90, talk=300, caller=D),
        c("2026-03-02 08:03", "answered", wait=200, talk=400, caller="+447700900105"),
        c("2026-03-02 08:04", "callback", wait=300, caller="+447700900106"),
        c("2026-03-02 08:05", "abandoned", wait=5, caller="+447700900107"),  # short
        c("2026-03-02 08:06", "abandoned", wait=40, caller="+447700900108"),
        c("2026-03-02 08:07", "missed", wait=600, caller="+447700900109"),
        c("2026-03-02 08:08", "voicemail", wait=120, caller="+447700900110"),
        c("2026-03-02 08:09", "ivr_abandoned", caller=None),
        c("2026-03-02 08:59:59", "busy", caller="+447700900111"),
        c("2026-03-02 08:30", "answered", wait=0, talk=999, caller=A, direction="outbound"),
        c("2026-03-02 09:10", "failed", caller=None),
        c("2026-03-02 11:30", "answered", wait=10, talk=60, caller=B),
    )


def test_hourly_hand_computed(morning):
    q = queue_metrics(morning, freq="h")
    assert list(q["interval_start"]) == [L(f"2026-03-02 {h:02d}:00") for h in (7, 8, 9, 10, 11)]
    assert list(q["interval_end"]) == [L(f"2026-03-02 {h:02d}:00") for h in (8, 9, 10, 11, 12)]
    r = q.set_index(q["interval_start"].dt.hour)
    h8 = r.loc[8]
    assert h8["inbound_total"] == 11
    assert h8["offered"] == 9  # 4 answered + 1 callback + 2 abandoned + 1 missed + 1 voicemail
    assert (h8["answered"], h8["callbacks"], h8["abandoned"], h8["short_abandons"]) == (4, 1, 2, 1)
    assert (h8["missed"], h8["voicemail"], h8["ivr_abandoned"], h8["busy"]) == (1, 1, 1, 1)
    assert (h8["closed"], h8["failed"], h8["handled"]) == (0, 0, 5)
    assert h8["answered_within_service"] == 2  # waits 20 and 50 of 20, 50, 90, 200
    assert h8["service_level"] == pytest.approx(2 / 8)  # 9 offered - 1 short abandon
    assert h8["abandonment_rate"] == pytest.approx(1 / 8)  # the 40 s abandon; the callback is not one
    assert h8["asa_s"] == pytest.approx(90.0)
    assert h8["wait_p50_s"] == pytest.approx(70.0)
    assert h8["wait_p90_s"] == pytest.approx(90 + 0.7 * 110)  # linear between 90 and 200
    assert h8["mean_talk_s"] == pytest.approx(250.0)  # the outbound call's 999 s is not in it

    assert r.loc[7, "closed"] == 1 and r.loc[7, "offered"] == 0
    assert math.isnan(r.loc[7, "service_level"]) and math.isnan(r.loc[7, "asa_s"])
    assert r.loc[9, "failed"] == 1 and r.loc[9, "inbound_total"] == 1


def test_interval_with_no_calls_is_zeros(morning):
    q = queue_metrics(morning, freq="h")
    h10 = q[q["interval_start"] == L("2026-03-02 10:00")]
    assert len(h10) == 1
    counts = h10[list(QUEUE_COUNT_COLUMNS)].iloc[0]
    assert (counts == 0).all()
    assert counts.dtype == np.int64
    assert h10[["service_level", "abandonment_rate", "asa_s", "wait_p50_s", "mean_talk_s"]].isna().all(axis=None)


def test_thresholds_are_inclusive_and_strict(build):
    c = build.call
    df = build.frame(
        c("2026-03-02 08:00", "answered", wait=60),
        c("2026-03-02 08:01", "answered", wait=60.5),
        c("2026-03-02 08:02", "abandoned", wait=10),  # not short: short means < 10 s
        c("2026-03-02 08:03", "abandoned", wait=9.9),
        c("2026-03-02 08:04", "abandoned", wait=None),  # unknown wait: an abandon, not short
        c("2026-03-02 08:05", "answered", wait=None),  # unknown wait: not within target
    )
    r = queue_metrics(df, freq="h").iloc[0]
    assert r["answered_within_service"] == 1
    assert r["short_abandons"] == 1
    assert r["service_level"] == pytest.approx(1 / 5)
    assert r["abandonment_rate"] == pytest.approx(2 / 5)
    assert r["asa_s"] == pytest.approx(60.25)  # over known waits only
    r2 = queue_metrics(df, freq="h", service_s=61, short_abandon_s=11).iloc[0]
    assert r2["answered_within_service"] == 2 and r2["short_abandons"] == 2


def test_short_abandons_excluded_from_service_level(build):
    c = build.call
    df = build.frame(
        c("2026-03-02 08:00", "answered", wait=30),
        c("2026-03-02 08:01", "abandoned", wait=3),
        c("2026-03-02 08:02", "abandoned", wait=4),
        c("2026-03-02 08:03", "abandoned", wait=90),
    )
    r = queue_metrics(df, freq="D").iloc[0]
    assert r["offered"] == 4 and r["short_abandons"] == 2
    assert r["service_level"] == pytest.approx(1 / 2)
    assert r["abandonment_rate"] == pytest.approx(1 / 2)


def test_spring_dst_day_has_23_hours(build):
    c = build.call
    df = build.frame(
        c("2026-03-29 00:30", "answered", wait=5),  # GMT
        c("2026-03-29T01:30:00+00:00", "answered", wait=5),  # 02:30 BST: the clock jumped
        c("2026-03-29 02:45", "missed", wait=50),  # BST
        c("2026-03-29 23:30", "abandoned", wait=70),
    )
    q = queue_metrics(df, freq="h")
    assert len(q) == 23
    assert q["interval_start"].is_unique
    walls = q["interval_start"].dt.hour.tolist()
    assert 1 not in walls and walls[:3] == [0, 2, 3]
    assert (q["interval_end"] - q["interval_start"] == pd.Timedelta(hours=1)).all()
    by_hour = q.set_index(q["interval_start"].dt.hour)["inbound_total"]
    assert by_hour[0] == 1 and by_hour[2] == 2 and by_hour[23] == 1 and by_hour.sum() == 4
    d = queue_metrics(df, freq="D").iloc[0]
    assert d["inbound_total"] == 4
    assert d["interval_end"] - d["interval_start"] == pd.Timedelta(hours=23)
    day = {"start": "2026-03-29", "end": "2026-03-30"}
    assert len(queue_metrics(df, freq="15min", **day)) == 23 * 4
    assert len(queue_metrics(df, freq="h", **day)) == 23


def test_autumn_dst_day_has_25_hours(build):
    c = build.call
    df = build.frame(
        c("2026-10-25 00:10", "answered", wait=5),
        c("2026-10-25T01:30:00+01:00", "answered", wait=5),  # first 01:30 (BST)
        c("2026-10-25T01:40:00+01:00", "abandoned", wait=15),
        c("2026-10-25T01:30:00+00:00", "missed", wait=30),  # second 01:30 (GMT)
        c("2026-10-25 23:50", "answered", wait=5),
    )
    q = queue_metrics(df, freq="h")
    assert len(q) == 25
    assert q["interval_start"].is_unique
    ones = q[q["interval_start"].dt.hour == 1]
    assert len(ones) == 2
    assert ones["interval_start"].dt.tz_convert("UTC").dt.hour.tolist() == [0, 1]
    assert ones["inbound_total"].tolist() == [2, 1]
    assert ones["abandoned"].tolist() == [1, 0] and ones["missed"].tolist() == [0, 1]
    assert (q["interval_end"] - q["interval_start"] == pd.Timedelta(hours=1)).all()
    d = queue_metrics(df, freq="D").iloc[0]
    assert d["inbound_total"] == 5
    assert d["interval_end"] - d["interval_start"] == pd.Timedelta(hours=25)
    day = {"start": "2026-10-25", "end": "2026-10-26"}
    assert len(queue_metrics(df, freq="30min", **day)) == 50
    assert len(queue_metrics(df, freq="15min", **day)) == 100


def test_weeks_start_monday_and_months_are_calendar(build):
    c = build.call
    df = build.frame(
        c("2026-03-29 12:00", "answered", wait=5),  # Sunday
        c("2026-03-30 00:00", "answered", wait=5),  # Monday midnight: next week
        c("2026-03-31 23:59:59", "missed", wait=5),
        c("2026-04-01 00:00", "answered", wait=5),
        c("2026-04-14 09:00", "answered", wait=5),
    )
    w = queue_metrics(df, freq="W")
    assert list(w["interval_start"]) == [L("2026-03-23"), L("2026-03-30"), L("2026-04-06"), L("2026-04-13")]
    assert w["inbound_total"].tolist() == [1, 3, 0, 1]
    assert (w["interval_start"].dt.day_of_week == 0).all()
    m = queue_metrics(df, freq="MS")
    assert list(m["interval_start"]) == [L("2026-03-01"), L("2026-04-01")]
    assert list(m["interval_end"]) == [L("2026-04-01"), L("2026-05-01")]
    assert m["inbound_total"].tolist() == [3, 2]
    d = queue_metrics(df, freq="D")
    assert len(d) == 17 and d["inbound_total"].sum() == 5


def test_by_line_and_totals(build):
    c = build.call
    df = build.frame(
        c("2026-03-02 08:00", "answered", wait=5, line="main"),
        c("2026-03-02 08:10", "abandoned", wait=50, line="prescriptions"),
        c("2026-03-02 09:10", "answered", wait=5, line=None),
        c("2026-03-02 10:10", "answered", wait=5, line="main"),
    )
    q = queue_metrics(df, freq="h", by_line=True)
    assert sorted(q["line"].unique()) == ["main", "prescriptions", "unknown"]
    assert len(q) == 3 * 3  # every line for every hour 08-10
    tot = queue_metrics(df, freq="h")
    summed = q.groupby("interval_start")[list(QUEUE_COUNT_COLUMNS)].sum().reset_index()
    pd.testing.assert_frame_equal(summed, tot[["interval_start", *QUEUE_COUNT_COLUMNS]], check_dtype=False)
    pres = q[q["line"] == "prescriptions"]
    pres = pres.set_index(pres["interval_start"].dt.hour)
    assert pres.loc[8, "abandoned"] == 1 and pres.loc[9, "inbound_total"] == 0


def test_practices_keep_their_own_span(build):
    c = build.call
    df = build.frame(
        c("2026-03-02 08:00", "answered", wait=5, practice="A81001"),
        c("2026-03-04 08:00", "answered", wait=5, practice="A81001"),
        c("2026-03-03 08:00", "answered", wait=5, practice="B82002"),
    )
    q = queue_metrics(df, freq="D")
    assert q.groupby("practice_id").size().to_dict() == {"A81001": 3, "B82002": 1}
    assert q[q["practice_id"] == "A81001"]["inbound_total"].tolist() == [1, 0, 1]


def test_period_bounds_fill_and_filter(build):
    c = build.call
    df = build.frame(
        c("2026-03-02 08:00", "answered", wait=5),
        c("2026-03-04 08:00", "answered", wait=5),
        c("2026-03-09 08:00", "answered", wait=5),
    )
    q = queue_metrics(df, freq="D", start="2026-03-01", end="2026-03-08")
    assert list(q["interval_start"]) == [L(f"2026-03-0{d}") for d in range(1, 8)]
    assert q["inbound_total"].tolist() == [0, 1, 0, 1, 0, 0, 0]


def test_outbound_and_internal_are_not_counted(build):
    c = build.call
    df = build.frame(
        c("2026-03-02 08:00", "answered", wait=5, direction="outbound"),
        c("2026-03-02 08:00", "answered", wait=5, direction="internal"),
        c("2026-03-02 08:30", "answered", wait=5),
    )
    assert queue_metrics(df, freq="h")["inbound_total"].tolist() == [1]


def test_bad_arguments(build, morning):
    with pytest.raises(MetricsInputError, match="Unknown interval 'fortnight'.*15min"):
        queue_metrics(morning, freq="fortnight")
    bad = morning.copy()
    bad["start_utc"] = bad["start_utc"].dt.tz_localize(None)
    with pytest.raises(MetricsInputError, match="timezone-aware"):
        queue_metrics(bad)
    bad = morning.copy()
    bad.loc[0, "outcome"] = "hung_up"
    with pytest.raises(MetricsInputError, match="hung_up"):
        queue_metrics(bad)
    with pytest.raises(MetricsInputError, match="line"):
        queue_metrics(morning.drop(columns="line"), by_line=True)
    with pytest.raises(MetricsInputError):
        nhs_metrics(morning, by="quarter")
    with pytest.raises(MetricsInputError, match="timezone 'Europe/Londres'"):
        queue_metrics(morning, tz="Europe/Londres")
    with pytest.raises(MetricsInputError, match="period is empty"):
        queue_metrics(morning, start="2026-03-02", end="2026-03-01")
    assert queue_metrics(morning, freq="hour").equals(queue_metrics(morning, freq="h"))


def test_empty_frame(build):
    q = queue_metrics(build.frame(), freq="h")
    assert q.empty and "service_level" in q.columns


# --- NHS metrics -----------------------------------------------------------------------------


def test_nhs_map_covers_every_outcome_once():
    assert set(NHS_OUTCOME_MAP) == set(OUTCOMES)
    assert set(NHS_OUTCOME_MAP.values()) <= set(NHS_CATEGORIES)
    assert NHS_OUTCOME_MAP["callback"] == "callbacks_requested"
    assert NHS_OUTCOME_MAP["voicemail"] == "missed"


def test_nhs_month_hand_computed(morning):
    n = nhs_metrics(morning, by="month")
    assert len(n) == 1
    r = n.iloc[0]
    assert r["month"] == L("2026-03-01")
    assert r["inbound_calls"] == 14  # every inbound call, closed/IVR/busy/failed included
    assert r["answered"] == 5 and r["callbacks_requested"] == 1 and r["handled"] == 6
    assert r["missed"] == 3  # missed + voicemail + busy
    assert r["abandoned"] == 2  # short abandon included, IVR hang-up not
    assert r["ended_before_queue"] == 2  # IVR hang-up + closed
    assert r["other"] == 1  # failed
    assert r["callbacks_made"] == 0  # the outbound call to A followed no callback request
    assert r["time_to_answer_mean_s"] == pytest.approx((20 + 50 + 90 + 200 + 10) / 5)
    assert r["time_to_answer_median_s"] == pytest.approx(50)
    assert r["abandon_wait_mean_s"] == pytest.approx(22.5)
    assert r["mean_call_duration_s"] == pytest.approx((100 + 200 + 300 + 400 + 60) / 5)


def test_callbacks_made_matching(build):
    c = build.call
    df = build.frame(
        # A: one request, two outbound calls after it: one callback made (the second is a retry)
        c("2026-03-02 08:05", "callback", wait=60, caller=A),
        c("2026-03-02 10:00", "missed", caller=A, direction="outbound"),
        c("2026-03-02 10:30", "answered", caller=A, direction="outbound"),
        # B: an outbound call *before* the request does not honour it
        c("2026-03-02 08:30", "answered", caller=B, direction="outbound"),
        c("2026-03-02 09:00", "callback", wait=60, caller=B),
        # C: requests at 23:50, rung back after midnight: another day, not counted
        c("2026-03-02 23:50", "callback", wait=60, caller=C),
        c("2026-03-03 00:10", "answered", caller=C, direction="outbound"),
        # D: two requests, two callbacks
        c("2026-03-02 08:01", "callback", wait=60, caller=D),
        c("2026-03-02 08:20", "callback", wait=60, caller=D),
        c("2026-03-02 11:00", "answered", caller=D, direction="outbound"),
        c("2026-03-02 11:05", "answered", caller=D, direction="outbound"),
        # withheld request: cannot be matched
        c("2026-03-02 08:40", "callback", wait=60, caller=None),
        c("2026-03-02 12:00", "answered", caller=None, direction="outbound"),
    )
    m = nhs_metrics(df, by="month").iloc[0]
    assert m["callbacks_requested"] == 6
    assert m["callbacks_made"] == 3  # A once, D twice
    assert m["inbound_calls"] == 6 and m["answered"] == 0
    h = nhs_metrics(df, by="hour").set_index("hour")
    assert h.loc[10, "callbacks_made"] == 1 and h.loc[11, "callbacks_made"] == 2
    assert h["callbacks_made"].sum() == 3
    assert h.loc[8, "callbacks_requested"] == 4


def test_nhs_weekday_and_hour_profiles(build):
    c = build.call
    df = build.frame(
        c("2026-03-02 08:00", "answered", wait=5),  # Monday
        c("2026-03-09 08:30", "missed", wait=5),  # Monday
        c("2026-03-10 14:00", "answered", wait=5),  # Tuesday
        c("2026-04-06 08:15", "answered", wait=5),  # Monday, April
    )
    w = nhs_metrics(df, by="weekday")
    assert len(w) == 2 * 7
    assert w["weekday_name"].iloc[:7].tolist()[0] == "Monday"
    march = w[w["month"] == L("2026-03-01")].set_index("weekday")
    assert march.loc[0, "inbound_calls"] == 2 and march.loc[1, "inbound_calls"] == 1
    assert march.loc[6, "inbound_calls"] == 0
    pooled = nhs_metrics(df, by="weekday", per_month=False)
    assert len(pooled) == 7 and "month" not in pooled.columns
    assert pooled.set_index("weekday").loc[0, "inbound_calls"] == 3
    h = nhs_metrics(df, by="hour")
    assert len(h) == 2 * 24
    hp = nhs_metrics(df, by="hour", per_month=False).set_index("hour")
    assert hp.loc[8, "inbound_calls"] == 3 and hp.loc[14, "answered"] == 1


def test_nhs_hour_profile_on_autumn_change(build):
    c = build.call
    df = build.frame(
        c("2026-10-25T01:30:00+01:00", "answered", wait=5),
        c("2026-10-25T01:30:00+00:00", "answered", wait=5),
    )
    h = nhs_metrics(df, by="hour").set_index("hour")
    assert h.loc[1, "inbound_calls"] == 2 and h["inbound_calls"].sum() == 2


# --- properties ------------------------------------------------------------------------------

# Each frame lies in one window crossing a clock change and a month end (short spans keep
# the grids small); across examples both changes are crossed.
_WINDOWS = [
    (pd.Timestamp("2026-03-25", tz="UTC"), 9 * 86400),  # 29 Mar spring forward, 1 Apr
    (pd.Timestamp("2026-10-22", tz="UTC"), 12 * 86400),  # 25 Oct fall back, 1 Nov
]


@st.composite
def call_frames(draw, max_calls=60):
    n = draw(st.integers(1, max_calls))
    w0, width = draw(st.sampled_from(_WINDOWS))
    rows = []
    for i in range(n):
        t = w0 + pd.Timedelta(seconds=draw(st.integers(0, width)))
        outcome = draw(st.sampled_from(OUTCOMES))
        wait = draw(st.one_of(st.none(), st.floats(0, 900, allow_nan=False)))
        rows.append(
            {
                "practice_id": draw(st.sampled_from(["A81001", "B82002"])),
                "call_id": f"c{i}",
                "source_format": "hypothesis",
                "start_utc": t,
                "direction": draw(st.sampled_from(["inbound", "inbound", "inbound", "outbound", "internal"])),
                "line": draw(st.sampled_from(["main", "prescriptions", None])),
                "caller_key": draw(st.sampled_from([A, B, C, D, None])),
                "outcome": outcome,
                "wait_s": wait,
                "talk_s": draw(st.floats(0, 1200, allow_nan=False)) if outcome == "answered" else 0.0,
                "agent_key": None,
            }
        )
    df = pd.DataFrame(rows)
    df["start_utc"] = pd.to_datetime(df["start_utc"], utc=True).astype("datetime64[us, UTC]")
    for col in ("practice_id", "call_id", "direction", "line", "caller_key", "outcome"):
        df[col] = df[col].astype("string")
    df["wait_s"] = df["wait_s"].astype("float64")
    return df


_OUTCOME_COLS = ["answered", "callbacks", "abandoned", "missed", "voicemail", "ivr_abandoned", "closed", "busy", "failed", "unknown_outcome"]
_PROP = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_PROP
@given(df=call_frames(), freq=st.sampled_from(FREQS), by_line=st.booleans())
def test_offered_is_sum_of_its_outcomes(df, freq, by_line):
    q = queue_metrics(df, freq=freq, by_line=by_line)
    assert (q["offered"] == q[["answered", "callbacks", "abandoned", "missed", "voicemail"]].sum(axis=1)).all()
    assert (q["inbound_total"] == q[_OUTCOME_COLS].sum(axis=1)).all()
    assert (q["handled"] == q["answered"] + q["callbacks"]).all()
    assert (q["short_abandons"] <= q["abandoned"]).all()
    assert (q["answered_within_service"] <= q["answered"]).all()
    assert q["inbound_total"].sum() == (df["direction"] == "inbound").sum()
    sl = q["service_level"].dropna()
    assert ((sl >= 0) & (sl <= 1)).all()
    # no interval lost or doubled: consecutive and unique per practice (and line)
    keys = ["practice_id", "line"] if by_line else ["practice_id"]
    for _, g in q.groupby(keys):
        assert g["interval_start"].is_unique
        assert (g["interval_end"].iloc[:-1].to_numpy() == g["interval_start"].iloc[1:].to_numpy()).all()


_PAIRS = [("15min", "30min"), ("30min", "h"), ("15min", "h"), ("h", "D"), ("D", "W"), ("D", "MS"), ("h", "MS")]


@_PROP
@given(df=call_frames(), pair=st.sampled_from(_PAIRS))
def test_counts_conserved_across_frequencies(df, pair):
    fine_f, coarse_f = pair
    fine = queue_metrics(df, freq=fine_f)
    coarse = queue_metrics(df, freq=coarse_f)
    fine["coarse"] = interval_starts(fine["interval_start"], coarse_f, TZ).astype(coarse["interval_start"].dtype)
    rolled = fine.groupby(["practice_id", "coarse"])[list(QUEUE_COUNT_COLUMNS)].sum()
    got = coarse.set_index(["practice_id", "interval_start"])[list(QUEUE_COUNT_COLUMNS)]
    rolled.index.names = got.index.names
    # every coarse interval holding a fine one is present, and the counts agree
    pd.testing.assert_frame_equal(rolled, got.loc[rolled.index], check_dtype=False)
    assert got.drop(rolled.index)[list(QUEUE_COUNT_COLUMNS)].eq(0).all(axis=None)


@_PROP
@given(df=call_frames())
def test_nhs_categories_partition_inbound_calls(df):
    totals = None
    for by in ("month", "weekday", "hour"):
        n = nhs_metrics(df, by=by)
        assert (n["inbound_calls"] == n[list(NHS_CATEGORIES)].sum(axis=1)).all()
        assert (n["handled"] == n["answered"] + n["callbacks_requested"]).all()
        assert (n["callbacks_made"] >= 0).all()
        t = n.groupby("practice_id")[list(NHS_COUNT_COLUMNS)].sum()
        if totals is None:
            totals = t
        pd.testing.assert_frame_equal(t, totals)
    assert totals["inbound_calls"].sum() == (df["direction"] == "inbound").sum()
    # answered / missed agree with the queue metrics' outcome counts
    q = queue_metrics(df, freq="MS").groupby("practice_id")[["answered", "missed", "voicemail", "busy", "callbacks"]].sum()
    assert (totals["answered"] == q["answered"]).all()
    assert (totals["missed"] == q["missed"] + q["voicemail"] + q["busy"]).all()
    assert (totals["callbacks_requested"] == q["callbacks"]).all()


def test_grid_has_no_gap_or_double_across_a_year():
    g = interval_grid(pd.Timestamp("2026-01-01", tz=TZ), pd.Timestamp("2026-12-31 23:59", tz=TZ), "h", TZ)
    assert len(g) == 365 * 24  # one hour lost in March, one gained in October
    assert g.is_unique and g.is_monotonic_increasing
    steps = np.diff(g.tz_convert("UTC").asi8)
    assert (steps == steps[0]).all()


def test_input_resolution_and_zone_do_not_matter(morning):
    base = queue_metrics(morning, freq="15min")
    other = morning.copy()
    other["start_utc"] = other["start_utc"].astype("datetime64[ns, Europe/London]")
    pd.testing.assert_frame_equal(queue_metrics(other, freq="15min"), base)


def test_utc_wall_clock_has_24_hours_on_dst_day(build):
    c = build.call
    df = build.frame(c("2026-10-25 00:10", "answered", wait=5), c("2026-10-25 23:50", "answered", wait=5))
    assert len(queue_metrics(df, freq="h", tz="UTC", start="2026-10-25", end="2026-10-26")) == 24
    assert len(queue_metrics(df, freq="h", start="2026-10-25", end="2026-10-26")) == 25


def test_callbacks_are_matched_within_a_practice(build):
    c = build.call
    df = build.frame(
        c("2026-03-02 08:00", "callback", wait=60, caller=A, practice="A81001"),
        c("2026-03-02 09:00", "answered", caller=A, direction="outbound", practice="B82002"),
    )
    n = nhs_metrics(df).set_index("practice_id")
    assert n["callbacks_made"].tolist() == [0, 0]
    assert n.loc["A81001", "callbacks_requested"] == 1
