"""The opening rush: the practice's own arrival profile, service of calls by hand, and the
trade-off table of handlers and levers played in the simulation with redials."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.calendar import Calendar
from forecasting.planning.rota import RotaError
from forecasting.planning.rush import TRADEOFF_COLUMNS, Levers, opening_profile, rush_tradeoff, service_of

TZ = "Europe/London"
MONDAY = pd.Timestamp("2027-01-11")


def _calls(local_times, keys, outcome="answered", wait=10.0):
    local = pd.DatetimeIndex(local_times)
    return pd.DataFrame(
        {
            "practice_id": "A81001",
            "start_utc": local.tz_localize(TZ).tz_convert("UTC"),
            "direction": "inbound",
            "caller_key": keys,
            "outcome": outcome,
            "wait_s": wait,
            "talk_s": 100.0,
        }
    )


def test_opening_profile_counts_first_calls_by_minute_after_each_days_opening():
    rng = np.random.default_rng(3)
    # Monday opens at 08:00, Tuesday at 08:30 (the registry's hours); callers' first calls
    # cluster in the first minutes, and their redials (same caller, later) are left out
    cal = Calendar(hours="Mon 08:00-18:30; Tue 08:30-18:30")
    times, keys = [], []
    for d, opens in ((0, 8 * 60), (1, 8 * 60 + 30)):
        day = MONDAY + pd.Timedelta(days=d)
        mins = np.minimum(rng.exponential(4.0, 400), 29.9)
        for i, m in enumerate(mins):
            t = day + pd.Timedelta(minutes=opens + float(m))
            times += [t, t + pd.Timedelta(minutes=2)]
            keys += [f"c{d}-{i}", f"c{d}-{i}"]
    # a call before opening and one well after are outside the window
    times += [MONDAY + pd.Timedelta(hours=7, minutes=50), MONDAY + pd.Timedelta(hours=11)]
    keys += ["early", "late"]
    prof = opening_profile(_calls(times, keys), TZ, cal)
    assert prof.callers == 800 and prof.days == 2
    assert prof.shares.sum() == pytest.approx(1.0) and len(prof.shares) == 30
    # exponential with a 4-minute mean: about 71% in the first five minutes, decreasing
    assert prof.first_five_min == pytest.approx(1 - np.exp(-5 / 4), abs=0.06)
    assert prof.shares[0] > prof.shares[10] > 0
    assert opening_profile(_calls([MONDAY + pd.Timedelta(hours=12)], ["x"]), TZ, cal) is None


def test_service_of_by_hand():
    t = [MONDAY + pd.Timedelta(hours=8, minutes=m) for m in (0, 1, 2, 3, 40)]
    calls = _calls(t, ["a", "a", "b", "c", "d"], outcome=["abandoned", "answered", "answered", "abandoned", "answered"],
                   wait=[90.0, 30.0, 120.0, 20.0, 5.0])
    s = service_of(calls, TZ, MONDAY + pd.Timedelta(hours=8), MONDAY + pd.Timedelta(hours=8, minutes=30))
    # four calls offered in the window; the 20 s abandon is short (balking), left out of the rates
    assert s["offered"] == 4 and s["answered"] == pytest.approx(2 / 4)
    assert s["within_target"] == pytest.approx(1 / 3) and s["abandoned"] == pytest.approx(1 / 3)
    # callers a, b, c started in the window; a rang twice; a got through after 1 min + 30 s
    assert s["callers"] == 3 and s["rang_back"] == 1
    assert s["median_s"] == pytest.approx((90 + 120) / 2)


def _rush_day(peak=60.0):
    ds = pd.date_range(MONDAY + pd.Timedelta(hours=8), MONDAY + pd.Timedelta(hours=18), freq="30min")
    first = np.full(len(ds), 6.0)
    first[:2] = [peak, peak / 3]
    return pd.DataFrame({"ds": ds, "first_attempts": first})


def test_rush_tradeoff_more_handlers_serve_more_and_levers_print_their_assumptions():
    fa = _rush_day()
    handlers = fa[["ds"]].assign(handlers=1)
    levers = Levers(callback_accept=0.5, online_share=0.25)
    r = rush_tradeoff(fa, handlers, headcount=3, shrinkage=0.3, seeds=(0, 1), levers=levers)
    t = r.table
    assert list(t.columns) == list(TRADEOFF_COLUMNS)
    people = t[t["option"].str.startswith("handlers")]
    h = people["handlers_at_opening"].tolist()
    assert h[:5] == list(range(1, min(5, len(h)) + 1)) and all(b - a == 2 for a, b in zip(h[4:], h[5:]))
    # the same callers every row: more people on at opening answer more in time, fewer abandon
    assert people["answered_within_target"].iloc[-1] > people["answered_within_target"].iloc[0]
    assert people["abandoned"].iloc[-1] < people["abandoned"].iloc[0]
    assert people["rang_back"].iloc[-1] < people["rang_back"].iloc[0]
    assert (people["callers"] == people["callers"].iloc[0]).all()
    # three people rostered with 30% shrinkage: at most 2 on the phones at opening
    assert r.most == 2 and people["within_headcount"].tolist() == [h <= 2 for h in people["handlers_at_opening"]]
    if r.met_within_headcount:
        assert "can be met" in r.words
    else:
        assert "cannot be met by the staff that exist" in r.words
    # levers at the most the headcount allows, each beside its assumption
    levs = t[~t["option"].str.startswith("handlers")].set_index("option")
    assert (levs["handlers_at_opening"] == 2).all()
    assert "50% of callers offered a call-back accept it" in r.assumptions["call-back offers"]
    assert "25% of first calls" in r.assumptions["online form"]
    # an online form takes a quarter of the callers out of the phones
    assert levs.loc["online form", "callers"] == pytest.approx(people["callers"].iloc[0] * 0.75, rel=0.15)
    with pytest.raises(RotaError, match="share"):
        Levers(online_share=1.5)


def test_rush_tradeoff_says_when_the_target_is_met_within_headcount():
    fa = _rush_day(peak=8.0)
    r = rush_tradeoff(fa, fa[["ds"]].assign(handlers=2), headcount=6, shrinkage=0.3, seeds=(0, 1))
    assert r.met_within_headcount and r.needed is not None and r.needed <= r.most
    assert r.words.startswith(f"The opening rush can be met with {r.needed} on the phones")
    with pytest.raises(RotaError, match="one day"):
        two = pd.concat([fa, fa.assign(ds=fa["ds"] + pd.Timedelta(days=1))])
        rush_tradeoff(two, two[["ds"]].assign(handlers=1), 3, 0.3)
