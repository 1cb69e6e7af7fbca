"""The parsers' shared core (telephony/formats/_base.py): the one carry that joins a call's rows
across chunks, and the raw-calls frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telephony.formats._base import GroupCarry, raw_frame

T0 = pd.Timestamp("2026-01-05 08:00:00")


def rows(*spec: tuple[str, str]) -> pd.DataFrame:
    """(key, time offset like "10min") → rows in the given (file) order."""
    return pd.DataFrame(
        {
            "key": [k for k, _ in spec],
            "t": [T0 + pd.Timedelta(off) for _, off in spec],
            "line": range(1, len(spec) + 1),
        }
    )


def released_keys(carry: GroupCarry, frames: list[pd.DataFrame]) -> list[list[str]]:
    out = [carry.push(f)["key"].drop_duplicates().tolist() for f in frames]
    return out + [carry.push(None, final=True)["key"].drop_duplicates().tolist()]


@pytest.fixture
def bare(monkeypatch):
    """The time rule alone: no tail of rows always held, the newest row taken as it is."""
    monkeypatch.setattr(GroupCarry, "TAIL_ROWS", 0)
    monkeypatch.setattr(GroupCarry, "OUTLIER_ROWS", 0)
    monkeypatch.setattr(GroupCarry, "OUTLIER_SHARE", 0.0)


# ----------------------------------------------------------------------------- the time rule


def test_oldest_first_releases_calls_once_past_the_horizon(bare):
    carry = GroupCarry("key", "t", pd.Timedelta(hours=3))
    got = released_keys(carry, [
        rows(("a", "0min"), ("b", "5min"), ("a", "10min")),
        rows(("b", "3h"), ("c", "3h20min")),  # a (last 10 min) is now 3 h 10 min old; b is not
        rows(("d", "7h")),
    ])
    assert got == [[], ["a"], ["b", "c"], ["d"]]
    assert not carry.descending


def test_newest_first_is_recognised_by_the_majority_of_steps(bare):
    """A web report lists calls newest first; its first two rows happen to go forward."""
    carry = GroupCarry("key", "t", pd.Timedelta(hours=3))
    got = released_keys(carry, [
        rows(("z", "10h"), ("y", "10h05min"), ("x", "9h"), ("w", "8h"), ("z", "7h59min")),
        rows(("v", "6h"), ("u", "4h")),
        rows(("t", "0min")),
    ])
    assert carry.descending
    # Newest first, a call is complete once its earliest row is more than 3 h newer than the
    # oldest read: none while 7:59 is the oldest, z (from 7:59), y, x, w once 4:00 is read,
    # v and u once 0:00 is.
    assert got == [[], ["z", "y", "x", "w"], ["v", "u"], ["t"]]


@pytest.mark.parametrize("robust", [True, False], ids=["quantile", "max"])
def test_one_wrong_future_clock_does_not_release_open_calls(monkeypatch, robust):
    """The newest time is a high quantile, not the maximum: a row dated 2099 among a chunk's
    rows leaves the calls of the last hours open. With the maximum (the old rule) every call
    is released at once and a call straddling the chunk boundary is split in two."""
    monkeypatch.setattr(GroupCarry, "TAIL_ROWS", 0)
    if not robust:
        monkeypatch.setattr(GroupCarry, "OUTLIER_ROWS", 0)
        monkeypatch.setattr(GroupCarry, "OUTLIER_SHARE", 0.0)
    carry = GroupCarry("key", "t", pd.Timedelta(hours=3))
    first = rows(*[(f"k{i}", f"{i}min") for i in range(300)])
    first.loc[150, "t"] = pd.Timestamp("2099-01-01")  # the odd row, its own call k150
    out = carry.push(first)
    later = carry.push(rows(("k299", "5h01min"), ("new", "6h")))
    rest = carry.push(None, final=True)
    if robust:
        # The 4th newest (04:57) is the frontier: calls ending before 01:57 are complete.
        assert set(out["key"]) == {f"k{i}" for i in range(117)}
        assert (pd.concat([later, rest])["key"] == "k299").sum() == 2  # whole, in one release
        assert (rest["key"] == "k299").sum() == 2
    else:
        assert set(out["key"]) == {f"k{i}" for i in range(300) if i != 150}
        assert (out["key"] == "k299").sum() == 1  # split: its second row comes out later
    assert "k150" in set(rest["key"])


@pytest.mark.parametrize("tail", [2, 0])
def test_the_tail_of_the_buffer_is_never_released(monkeypatch, tail):
    """A call with a row among the last rows held waits, whatever its time says (here a clock
    a day behind), so its next row, first of the next chunk, joins it. Without the tail guard
    the call is released at once and split."""
    monkeypatch.setattr(GroupCarry, "TAIL_ROWS", tail)
    carry = GroupCarry("key", "t", pd.Timedelta(hours=3))
    pushes = [
        rows(*[(f"k{i}", f"{10 * i}min") for i in range(30)], ("late", "-30h")),
        rows(("late", "-29h59min"), ("k30", "5h")),
        rows(*[(f"m{i}", f"{5 + i}h") for i in range(4)]),
    ]
    outs = [carry.push(f) for f in pushes] + [carry.push(None, final=True)]
    late = [int((o["key"] == "late").sum()) for o in outs]
    assert late == ([0, 0, 2, 0] if tail else [1, 1, 0, 0])


def test_done_rows_release_a_call_at_once(bare, monkeypatch):
    monkeypatch.setattr(GroupCarry, "TAIL_ROWS", 10)  # done wins over the tail too
    carry = GroupCarry("key", "t", pd.Timedelta(hours=6), done="end")
    f = rows(("a", "0min"), ("b", "1min"), ("a", "2min"), ("c", "3min"))
    f["end"] = [False, True, True, False]
    assert carry.push(f)["key"].tolist() == ["a", "b", "a"]  # file order
    g = rows(("c", "4min"))
    g["end"] = [True]
    assert carry.push(g)["key"].tolist() == ["c", "c"]


def test_no_rows_and_all_missing_times(bare):
    carry = GroupCarry("key", "t")
    assert carry.push(None).empty and carry.push(pd.DataFrame()).empty
    f = rows(("a", "0min"), ("a", "1min"))
    f["t"] = pd.NaT
    assert carry.push(f)["key"].tolist() == ["a", "a"]  # no time to wait on: released


def test_numpy_entry_point_matches_push(bare):
    """The queue_log reader calls open_groups on its own arrays: the same rule."""
    carry = GroupCarry("key", "t", pd.Timedelta(hours=3))
    t = (np.array([0, 10, 200, 210], dtype=np.int64) * 60 * 1_000_000)  # µs
    open_ = carry.open_groups(np.array([0, 1, 0, 2]), 3, t, n_new=4)
    assert open_.tolist() == [True, False, True]


# ----------------------------------------------------------------------------- property

_call = st.tuples(st.integers(0, 5 * 3600), st.lists(st.integers(0, 900), min_size=1, max_size=4))


@settings(max_examples=60, deadline=None)
@given(calls=st.lists(_call, min_size=1, max_size=60), cut=st.integers(1, 40), newest_first=st.booleans(),
       tail=st.sampled_from([0, 3, 256]))
def test_generated_files_never_split_a_call(calls, cut, newest_first, tail):
    """Calls whose rows lie close together (in time and in the file), any chunk size, either
    order, with or without the tail guard: every call comes out whole, exactly once."""
    GroupCarry.TAIL_ROWS, saved = tail, GroupCarry.TAIL_ROWS
    try:
        recs, t = [], T0
        for i, (gap, legs) in enumerate(calls):
            t = t + pd.Timedelta(seconds=gap)
            recs += [(f"c{i}", t + pd.Timedelta(seconds=s)) for s in sorted(legs)]
        recs.sort(key=lambda r: r[1], reverse=newest_first)
        frame = pd.DataFrame(recs, columns=["key", "t"])
        carry = GroupCarry("key", "t", pd.Timedelta(hours=3))
        parts = [carry.push(frame.iloc[a : a + cut]) for a in range(0, len(frame), cut)]
        parts.append(carry.push(None, final=True))
        seen: set[str] = set()
        for p in parts:
            keys = set(p["key"]) if len(p) else set()
            assert not keys & seen, "a call released twice (split)"
            seen |= keys
        assert seen == set(frame["key"])
        assert sum(len(p) for p in parts) == len(frame)
    finally:
        GroupCarry.TAIL_ROWS = saved


# ----------------------------------------------------------------------------- raw_frame


def test_raw_frame_keeps_arrow_strings_and_index_free_series():
    ids = pd.Series(pd.arrays.ArrowStringArray(pa.array(["x1", "x2", None])), index=[7, 8, 9])
    df = raw_frame(3, call_id=ids, outcome="answered", source_line=[1, 2, 3])
    assert isinstance(df["call_id"].array, pd.arrays.ArrowStringArray)
    assert df["call_id"].tolist()[:2] == ["x1", "x2"] and pd.isna(df["call_id"].iloc[2])
    assert df.index.tolist() == [0, 1, 2]  # taken by position, not aligned on the index
    # pandas' default "str" (missing = NaN) and object columns become Arrow "string" (NA).
    other = raw_frame(2, caller=pd.Series(["07700900123", None]), agent=pd.Series([None, "201"], dtype=object))
    for c in ("caller", "agent", "line"):
        assert other[c].dtype.storage == "pyarrow" and other[c].dtype.na_value is pd.NA


@pytest.mark.parametrize("start", [None, [None, None], [pd.NaT, pd.NaT]])
def test_raw_frame_start_is_datetime_even_when_empty(start):
    kw = {} if start is None else {"start": start}
    n = 0 if start is None else 2
    assert raw_frame(n, **kw)["start"].dtype == "datetime64[ns]"
    naive = raw_frame(1, start=pd.Series([T0]))
    both = pd.concat([raw_frame(0), naive, raw_frame(n, **kw)], ignore_index=True)
    assert pd.api.types.is_datetime64_dtype(both["start"]) and both["start"].iloc[0] == T0
