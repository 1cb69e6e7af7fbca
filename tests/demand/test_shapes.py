"""The generated shapes are seeded and have the truth they state."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from demand.simulation.shapes import SHAPES, gp_level_shift, weekday_gp_with_gaps


def _slot(ds: pd.Series) -> pd.Series:
    return list(zip(ds.dt.day_of_week, ds.dt.hour * 60 + ds.dt.minute))


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_seeded(name):
    a, b, c = SHAPES[name](seed=3), SHAPES[name](seed=3), SHAPES[name](seed=4)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.gaps == b.gaps
    assert not a.frame["y"].equals(c.frame["y"])


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_demand_only_in_open_slots_and_every_open_slot_busy(name):
    shape = SHAPES[name](seed=1)
    f = shape.frame
    assert f["ds"].is_monotonic_increasing and f["ds"].is_unique
    slots = pd.Series(_slot(f["ds"]), index=f.index)
    inside = slots.isin(shape.open_slots)
    assert (f.loc[~inside, "y"] == 0).all()
    # every open slot sees demand in each of the last four weeks that have its weekday
    open_rows = f[inside & ~f["ds"].dt.date.isin(shape.holidays)]
    days = sorted(open_rows["ds"].dt.normalize().unique())
    recent = open_rows[open_rows["ds"] >= days[-1] - pd.Timedelta(days=27)]
    per_slot = recent.groupby(pd.Series(_slot(recent["ds"]), index=recent.index))["y"].sum()
    assert set(per_slot.index) == set(shape.open_slots)
    assert (per_slot > 0).all()


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_holidays_are_shut(name):
    shape = SHAPES[name](seed=2)
    f = shape.frame
    on_holiday = f["ds"].dt.date.isin(shape.holidays)
    assert (f.loc[on_holiday, "y"] == 0).all()
    if shape.nation:
        # the default range (Sep to Jan) holds England's Christmas, Boxing Day and New Year
        assert {dt.date(2025, 12, 25), dt.date(2025, 12, 26), dt.date(2026, 1, 1)} <= set(shape.holidays)


def test_night_trough_and_weekend_peak():
    ed = SHAPES["24/7"](seed=0).frame
    by_hour = ed.groupby(ed["ds"].dt.hour)["y"].mean()
    assert by_hour.idxmin() in (3, 4, 5) and by_hour.min() > 1.5
    assert by_hour.max() > 3 * by_hour.min()
    bank = SHAPES["weekend-busy"](seed=0).frame
    by_day = bank.groupby(bank["ds"].dt.day_of_week)["y"].sum()
    assert by_day.idxmax() == 6


def test_gaps_have_no_rows_and_closed_periods_no_rows():
    shape = weekday_gp_with_gaps(seed=5, n_gaps=4)
    f = shape.frame
    assert len(shape.gaps) == 4
    dates = set(f["ds"].dt.date)
    assert not dates & set(shape.gaps)
    assert not dates & set(shape.holidays)
    assert all(d.weekday() < 5 for d in shape.gaps)
    assert set(_slot(f["ds"])) == set(shape.open_slots)
    # one gap falls in the last four weeks, so a learner meets it in its window
    last = max(dates)
    assert any(g > last - dt.timedelta(days=28) for g in shape.gaps)


def test_level_shift():
    shape = gp_level_shift(seed=0, factor=1.5)
    f = shape.frame
    weekday = f["ds"].dt.day_of_week < 5
    before = f[weekday & (f["ds"] < shape.shift_at) & (f["ds"] >= shape.shift_at - pd.Timedelta(weeks=4))]
    after = f[weekday & (f["ds"] >= shape.shift_at)]
    ratio = after["y"].sum() / max(1, after["ds"].dt.date.nunique() - sum(d >= shape.shift_at.date() for d in shape.holidays))
    ratio /= before["y"].sum() / before["ds"].dt.date.nunique()
    assert 1.3 < ratio < 1.7
    assert shape.closed_rows and (f["ds"].diff().dropna() == pd.Timedelta("30min")).all()
