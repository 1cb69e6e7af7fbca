"""Rotas of shifts within headcount: parsing, the integer program by hand, headcount from calls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.planning.rota import (
    COVER_COLUMNS,
    SHIFT_COLUMNS,
    RotaError,
    ShiftRules,
    build_rota,
    candidate_shifts,
    headcount_from_history,
    headcount_words,
    on_phones_whole,
    parse_headcount,
    parse_shift_lengths,
    roster_day,
)

MONDAY = pd.Timestamp("2027-01-11")
DAY = np.arange(8 * 60, 18 * 60 + 30, 30)  # 08:00-18:30, 21 half hours


def test_parse_shift_lengths_and_headcount():
    assert parse_shift_lengths("3-8").lengths_h == tuple(x / 2 for x in range(6, 17))
    assert parse_shift_lengths("4,8").lengths_h == (4.0, 8.0)
    assert parse_shift_lengths("6h").lengths_h == (6.0,)
    for bad in ("3 to 8", "0-2", "2.25", "8-3"):
        with pytest.raises(RotaError, match="shift"):
            parse_shift_lengths(bad)
    assert parse_headcount("4") == {d: 4 for d in range(7)}
    assert parse_headcount("Mon=4, tue=3") == {0: 4, 1: 3}
    assert parse_headcount({"Fri": 2}) == {4: 2}
    assert parse_headcount(None) is None
    for bad in ("Mon=4;Tue=3", "Funday=2", "-1", "Mon=x"):
        with pytest.raises(RotaError, match="`headcount`"):
            parse_headcount(bad)
    assert headcount_words({d: 2 for d in range(5)}) == "2 every weekday"
    assert headcount_words({0: 4, 1: 3}) == "Mon 4, Tue 3"


def test_candidate_shifts_stay_inside_opening_runs():
    rules = ShiftRules.between(3, 4)
    # 08:00-12:00 and 14:00-18:00 with a closed lunch: no shift crosses it
    t = np.concatenate([np.arange(480, 720, 30), np.arange(840, 1080, 30)])
    sh = candidate_shifts(t, rules)
    assert len(sh) and ((sh[:, 1] <= 720) | (sh[:, 0] >= 840)).all()
    assert set((sh[:, 1] - sh[:, 0]).tolist()) == {180, 210, 240}
    assert (sh[:, 0] % 30 == 0).all()
    # a run shorter than the shortest shift (a 2-hour Saturday morning) gets one shift of the run
    assert candidate_shifts(np.arange(540, 660, 30), rules).tolist() == [[540, 660]]


def test_roster_day_by_hand_meets_a_flat_requirement_with_fewest_hours():
    # 2 on the phones all day, no shrinkage, 8-hour-max shifts over a 10.5-hour day: at least
    # 4 people (two pairs), covering exactly, and the fewest person-hours that do (21 x 2 = 42
    # half hours).
    req = np.full(len(DAY), 2.0)
    shifts, people, cover = roster_day(req, DAY, headcount=6, shrinkage=0.0)
    assert (cover >= 2).all()
    lens = (shifts[:, 1] - shifts[:, 0]) / 30
    assert int((lens * people).sum()) == 42
    assert people.sum() == 4


def test_roster_day_within_headcount_shows_the_unmet_requirement():
    # the 8am rush needs 9 on the phones, the practice has 3 people and 30% shrinkage
    req = np.array([9, 5, 3] + [2] * 18, dtype=float)
    shifts, people, cover = roster_day(req, DAY, headcount=3, shrinkage=0.3)
    assert people.sum() <= 3 and cover.max() <= 3
    assert ((shifts[:, 1] - shifts[:, 0]) >= 180).all() and ((shifts[:, 1] - shifts[:, 0]) <= 480).all()
    # nobody is left alone with an empty half hour while people sit at home: everyone covered
    assert (cover >= 1).all()
    # with everyone working, the people left over go to the rush: 08:00 has the most
    assert people.sum() == 3 and cover[0] >= 2 and cover[0] >= cover[-1]


def test_build_rota_week_columns_and_limits():
    ds = pd.DatetimeIndex([MONDAY + pd.Timedelta(days=d, minutes=int(m)) for d in range(5) for m in DAY])
    req = np.tile(np.array([6, 4, 3] + [2] * 18, dtype=float), 5)
    r = build_rota(pd.DataFrame({"ds": ds, "required": req}), {0: 4, 1: 3, 2: 2, 3: 2, 4: 1}, 0.3,
                   parse_shift_lengths("4-8"))
    assert list(r.shifts.columns) == list(SHIFT_COLUMNS) and list(r.cover.columns) == list(COVER_COLUMNS)
    per_day = r.shifts.groupby("date")["people"].sum()
    assert per_day.to_dict() == {MONDAY + pd.Timedelta(days=d): n for d, n in enumerate([4, 3, 2, 2, 1])}
    assert (r.cover["rostered"] <= r.cover["headcount"]).all()
    assert r.shifts["hours"].between(4, 8).all()
    assert np.allclose(r.cover["on_phones"], r.cover["rostered"] * 0.7)
    assert np.allclose(r.cover["unmet"], np.maximum(0, r.cover["required"] - r.cover["on_phones"]))
    assert (r.cover.loc[r.cover["ds"].dt.day_of_week == 4, "unmet"] > 0).all()  # one person on Friday
    with pytest.raises(RotaError, match="half-hour"):
        build_rota(pd.DataFrame({"ds": [MONDAY + pd.Timedelta(minutes=485)], "required": [1.0]}), {0: 1}, 0.3)


def test_on_phones_whole_carries_the_fractions_within_a_day():
    two = on_phones_whole(np.full(10, 2), 0.3)
    assert set(two.tolist()) == {1, 2} and two.mean() == pytest.approx(1.4, abs=0.11)
    assert on_phones_whole(np.array([1, 0, 3]), 0.3).tolist() == [1, 0, 2]
    assert (on_phones_whole(np.full(6, 4), 0.3) <= 4).all()


def test_headcount_from_history_is_the_most_seen_per_weekday():
    rows = []
    for week in range(3):
        for d, n in ((0, 3 + (week == 1)), (1, 2), (4, 1)):
            day = MONDAY + pd.Timedelta(weeks=week, days=d)
            for a in range(n):
                for k in range(3):
                    rows.append((day + pd.Timedelta(hours=9 + k), f"agent-{a}"))
    calls = pd.DataFrame(rows, columns=["local", "agent_key"])
    calls["start_utc"] = calls["local"].dt.tz_localize("Europe/London").dt.tz_convert("UTC")
    calls["direction"] = "inbound"
    calls["outcome"] = "answered"
    heads, per = headcount_from_history(calls, "Europe/London", weeks=8)
    assert heads == {0: 4, 1: 2, 4: 1}
    assert len(per) == 9 and per["handlers"].max() == 4
    with pytest.raises(RotaError, match="state `headcount`"):
        headcount_from_history(calls.assign(agent_key=None), "Europe/London")


def test_on_phones_whole_places_breaks_where_the_need_is_least():
    # two rostered all day with 30% shrinkage: 0.7 x 2 x 6 = 8.4 -> 8 person-half-hours on the
    # phones; the rush (need 3) keeps both, the quiet half hours give up the breaks
    need = np.array([3, 3, 1, 1, 1, 1], dtype=float)
    on = on_phones_whole(np.full(6, 2), 0.3, required=need)
    assert on.sum() == 8 and on[:2].tolist() == [2, 2] and (on >= 1).all() and (on <= 2).all()
    # each day places its own
    two_days = on_phones_whole(np.full(12, 2), 0.3, np.repeat([0, 1], 6), np.tile(need, 2))
    assert two_days.tolist() == on.tolist() * 2
