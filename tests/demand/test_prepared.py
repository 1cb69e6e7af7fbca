"""Prepared once, measured many times: the shared path gives exactly what the frames give.

A two-week demo federation around the autumn clock change (Sunday 26 October 2025) is built
once for the module through the normal ingest path: three practices, redials, call-backs,
same-day slots running out.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from demand.callers import caller_metrics_daily, caller_metrics_hourly
from demand.capacity import capacity_metrics, same_day_exhaustion
from demand.definitions import Layout, bucket_keys, category_codes, group_stats, prepare_calls, value_ranks, wall_ns
from demand.demand_capacity import demand_capacity, monday_profile
from demand.queue import nhs_metrics, queue_metrics
from demand.slots import prepare_slots
from demand.workforce import _most_seen, consultation_length, continuity, skill_mix

TZ = "Europe/London"
START, END = "2025-10-20", "2025-11-03"  # two whole weeks, the clocks go back on the 26th


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    from demand.appointments.schema import read_appointments
    from demand.simulation.demo import run_demo
    from telephony.store import open_store

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FRONTDOOR_KEY", "test-key-not-secret")
        res = run_demo(tmp_path_factory.mktemp("prepared"), weeks=2, seed=5, start_date=dt.date(2025, 10, 20))
    store = open_store(res.store)
    return store.read_calls(), read_appointments(store)


def _all_metrics(calls, slots, start, end):
    p = dict(start=start, end=end)
    sizes = {"A81001": 6000, "A81002": 9000, "A81003": 12000}
    out = {f"queue {f}": queue_metrics(calls, f, **p) for f in ("15min", "30min", "h", "D", "W", "MS")}
    out["queue by line"] = queue_metrics(calls, "h", by_line=True, short_abandon_s=5, service_s=30, **p)
    for by in ("month", "weekday", "hour"):
        out[f"nhs {by}"] = nhs_metrics(calls, by, **p)
    out["nhs pooled"] = nhs_metrics(calls, "hour", per_month=False, **p)
    out["callers daily"] = caller_metrics_daily(calls, **p)
    out["callers hourly"] = caller_metrics_hourly(calls, **p)
    out["capacity"] = capacity_metrics(slots, **p)
    out["capacity by category"] = capacity_metrics(slots, by="category", session_split="12:30", **p)
    out["exhaustion"] = same_day_exhaustion(slots, **p)
    out["pressure"] = demand_capacity(calls, slots, **p)
    out["pressure 8-12 split"] = demand_capacity(calls, slots, session_split=12, **p)
    out["monday"] = monday_profile(calls, slots, **p)
    out["skill mix"] = skill_mix(slots, sizes, **p)
    out["consultation"] = consultation_length(slots, **p)
    out["continuity"] = continuity(slots, window_months=1, **p)
    return out


@pytest.mark.parametrize("start, end", [(START, END), (None, None), ("2025-10-25 10:00", "2025-10-28")])
def test_prepared_once_gives_what_each_frame_gives(frames, start, end):
    calls, slots = frames
    expected = _all_metrics(calls, slots, start, end)
    prep = prepare_calls(calls, TZ, start, end)
    pslots = prepare_slots(slots, TZ, start, end, need=("role", "mode"))
    got = _all_metrics(prep, pslots, start, end)
    for name, exp in expected.items():
        pd.testing.assert_frame_equal(got[name], exp, check_exact=True, obj=name)
    assert expected["queue D"]["offered"].sum() > 500  # a real federation, not empty frames
    assert expected["nhs month"]["callbacks_made"].sum() > 0


def test_prepared_for_one_period_serves_another(frames):
    calls, slots = frames
    prep = prepare_calls(calls, TZ, START, END)
    pslots = prepare_slots(slots, TZ, START, END)
    # a narrower period, and no period at all: prepared again from the source, then kept
    for start, end in (("2025-10-27", "2025-10-29"), (None, None)):
        pd.testing.assert_frame_equal(
            queue_metrics(prep, "h", start=start, end=end), queue_metrics(calls, "h", start=start, end=end)
        )
        pd.testing.assert_frame_equal(
            capacity_metrics(pslots, start=start, end=end), capacity_metrics(slots, start=start, end=end)
        )
    assert sum(1 for k in prep.cache if k[0] == "prepared") == 2
    # the same period prepared again is the same object: nothing is computed twice
    again = prepare_calls(prep, TZ, START, END)
    assert again is prep


def test_prepared_spans_the_whole_period_even_without_calls(frames):
    calls, _ = frames
    one_day = prepare_calls(calls[calls["practice_id"] == "A81002"], TZ, "2025-10-26", "2025-10-27")
    hourly = queue_metrics(one_day, "h", start="2025-10-26", end="2025-10-27")
    assert len(hourly) == 25  # the clocks went back: 01:00 BST and 01:00 GMT
    assert hourly["interval_start"].iloc[1].strftime("%H:%M%z") == "01:00+0100"
    assert hourly["interval_start"].iloc[2].strftime("%H:%M%z") == "01:00+0000"


@pytest.mark.parametrize("tz", ["Australia/Lord_Howe", "America/St_Johns", "Europe/London"])
@pytest.mark.parametrize("freq", ["15min", "30min", "h", "D", "W"])
def test_layout_rows_match_a_binary_search(tz, freq):
    # Lord Howe moves its clocks by half an hour: hourly intervals of 30 and 90 minutes there
    rng = np.random.default_rng(7)
    lo, hi = pd.Timestamp("2024-03-01", tz="UTC").value, pd.Timestamp("2025-05-01", tz="UTC").value
    lay = Layout.build(np.array([lo]), np.array([hi]), np.arange(1), freq, tz)
    utc = np.sort(rng.integers(lo, hi, 50_000))
    keys = bucket_keys(utc, wall_ns(utc, tz), freq)
    rows = lay.rows(np.zeros(len(keys), dtype="int64"), keys)
    assert np.array_equal(rows, np.searchsorted(lay.universe, keys))
    assert np.array_equal(lay.out_keys[rows], keys)


def test_group_stats_with_shared_ranks():
    rows = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    values = np.array([30.0, 10.0, np.nan, 5.0, 5.0, 40.0, 0.0, 20.0, 10.0])
    plain = group_stats(rows, values, 4, (0.5, 0.9))
    ranked = group_stats(rows, values, 4, (0.5, 0.9), value_ranks(values))
    for k in ("mean", 0.5, 0.9):
        np.testing.assert_array_equal(plain[k], ranked[k])
    # hand-computed: row 0 holds 10, 30 (NaN ignored); row 2 holds 0, 10, 20, 40; row 3 nothing
    np.testing.assert_array_equal(plain[0.5], [20.0, 5.0, 15.0, np.nan])
    np.testing.assert_allclose(plain[0.9], [28.0, 5.0, 34.0, np.nan])


@pytest.mark.parametrize("dtype", ["string", "str", object])
def test_category_codes_whatever_the_string_storage(dtype):
    allowed = ("inbound", "outbound", "internal")
    ok = pd.Series(["outbound", "inbound", "inbound", "internal"], dtype=dtype)
    assert category_codes(ok, allowed)[0].tolist() == [1, 0, 0, 2]
    assert category_codes(ok, allowed)[1] == []
    odd = pd.Series(["inbound", "sideways", None, "upward", "sideways"], dtype=dtype)
    codes, names = category_codes(odd, allowed)
    assert codes.tolist() == [0, -1, -1, -1, -1]
    assert names == ["sideways", "upward"]
    assert category_codes(pd.Series(["inbound", None], dtype=dtype), allowed)[1] == ["<missing>"]


def _most_seen_by_hand(p, c, m, t, target, window):
    """The usual GP of each target visit, straight from the definition."""
    out = []
    for i in target:
        seen = [j for j in range(len(p)) if p[j] == p[i] and m[i] - window <= m[j] < m[i]]
        if not seen:
            out.append(-1)
            continue
        count = {}
        last = {}
        for j in seen:
            count[c[j]] = count.get(c[j], 0) + 1
            last[c[j]] = max(last.get(c[j], t[j]), t[j])
        # most visits; ties to the most recently seen; then the lowest code
        out.append(min(count, key=lambda g: (-count[g], -last[g], g)))
    return out


@settings(max_examples=150, deadline=None)
@given(
    visits=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 8), st.integers(0, 2)), min_size=1, max_size=40
    ),
    window=st.integers(1, 6),
    data=st.data(),
)
def test_usual_gp_matches_the_definition(visits, window, data):
    p = np.array([v[0] for v in visits], dtype="int64")
    c = np.array([v[1] for v in visits], dtype="int64")
    m = np.array([600 + v[2] for v in visits], dtype="int64")
    # later months hold later visits (as real timestamps do); a few share an instant: ties
    t = m * 10**6 + np.array([v[3] for v in visits], dtype="int64")
    target = np.array(sorted(data.draw(st.sets(st.integers(0, len(visits) - 1)))), dtype="int64")
    assert _most_seen(p, c, m, t, target, window).tolist() == _most_seen_by_hand(p, c, m, t, target, window)
