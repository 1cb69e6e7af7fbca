"""Peak pressure: exceedance and shortfall against scipy, the am/pm split, capacity, ranking."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from forecasting.intervals import Spread, count_distribution
from forecasting.planning.peak_pressure import (
    PressureError,
    capacity_from_plan,
    capacity_from_slots,
    exceedance,
    extra_sessions,
    peak_pressure,
    session_demand,
    session_shares,
)
from tests.demand.slot_builders import slot, slots_frame


def _shortfall_by_sum(dist, c: int) -> float:
    k = np.arange(c + 1, 2000)
    return float(np.sum((k - c) * dist.pmf(k)))


def test_poisson_against_no_capacity_is_hand_computable():
    p, es = exceedance(2.0, Spread(), 0)
    assert p == pytest.approx(1 - math.exp(-2))
    assert es == pytest.approx(2.0)


@pytest.mark.parametrize("mu,c", [(4.0, 3), (10.0, 8), (10.0, 15), (0.7, 1)])
def test_poisson_exceedance_and_shortfall_match_scipy(mu, c):
    p, es = exceedance(mu, Spread(), c)
    assert p == pytest.approx(stats.poisson(mu).sf(c), rel=1e-12)
    assert es == pytest.approx(_shortfall_by_sum(stats.poisson(mu), c), rel=1e-9)


@pytest.mark.parametrize("mu,alpha,c", [(10.0, 0.5, 8), (25.0, 0.1, 30), (3.0, 2.0, 2)])
def test_negative_binomial_exceedance_and_shortfall_match_scipy(mu, alpha, c):
    # NB2 with variance mu + alpha mu^2 is scipy's nbinom(n = 1/alpha, p = n / (n + mu))
    n = 1 / alpha
    ref = stats.nbinom(n, n / (n + mu))
    assert ref.var() == pytest.approx(mu + alpha * mu * mu)
    p, es = exceedance(mu, Spread(1.0, alpha), c)
    assert p == pytest.approx(ref.sf(c), rel=1e-10)
    assert es == pytest.approx(_shortfall_by_sum(ref, c), rel=1e-8)


def test_fractional_capacity_counts_whole_appointments_and_zero_demand_is_certain():
    assert exceedance(4.0, Spread(), 3.7) == exceedance(4.0, Spread(), 3)
    assert exceedance(0.0, Spread(1.5, 0.3), 0) == (0.0, 0.0)
    with pytest.raises(PressureError, match="capacity"):
        exceedance(4.0, Spread(), -1)


def test_extra_sessions_per_role_bring_risk_under_threshold():
    # Poisson(10): P(D > 13) = 0.1355, P(D > 14) = 0.0835 -> need capacity 14; have 8, gap 6
    assert stats.poisson(10).sf(13) > 0.1 >= stats.poisson(10).sf(14)
    got = extra_sessions(10.0, Spread(), 8, {"GP": 5, "ANP": 2}, threshold=0.1)
    assert got == {"GP": 2, "ANP": 3}
    assert extra_sessions(10.0, Spread(), 14, {"GP": 5}, threshold=0.1) == {"GP": 0}
    # one fewer session would not do
    assert exceedance(10.0, Spread(), 8 + 5)[0] > 0.1 >= exceedance(10.0, Spread(), 8 + 10)[0]


def test_session_split_thins_the_count_spread():
    phi, alpha, mu, s = 2.0, 0.1, 20.0, 0.6
    fc = pd.DataFrame({"unique_id": "P", "ds": pd.to_datetime(["2027-01-11"]), "Auto": [mu]})
    out = session_demand(fc, {"P": Spread(phi, alpha)}, s)
    am, pm = out.iloc[0], out.iloc[1]
    assert (am["session"], pm["session"]) == ("am", "pm")
    assert am["demand"] == pytest.approx(12.0) and pm["demand"] == pytest.approx(8.0)
    # variance of a binomially thinned count: s^2 var(D) + s (1 - s) mu
    var_day = phi * mu + alpha * mu * mu
    for row, share in ((am, s), (pm, 1 - s)):
        m = row["demand"]
        assert row["phi"] * m + row["alpha"] * m * m == pytest.approx(share**2 * var_day + share * (1 - share) * mu)


def test_thinned_negative_binomial_matches_simulation():
    rng = np.random.default_rng(0)
    mu, alpha, s = 30.0, 0.2, 0.7
    day = stats.nbinom(1 / alpha, (1 / alpha) / (1 / alpha + mu)).rvs(200_000, random_state=rng)
    am = rng.binomial(day, s)
    fc = pd.DataFrame({"unique_id": "P", "ds": pd.to_datetime(["2027-01-11"]), "y_hat": [mu]})
    row = session_demand(fc, Spread(1.0, alpha), s).iloc[0]
    dist = count_distribution(row["demand"], Spread(row["phi"], row["alpha"]))
    assert dist.var() == pytest.approx(am.var(), rel=0.02)
    assert dist.sf(25) == pytest.approx((am > 25).mean(), abs=0.005)


def _history(rows):
    return pd.DataFrame(
        [
            {"practice_id": p, "date": pd.Timestamp(d), "session": s, "same_day_booked": b, "turned_away_no_capacity": t}
            for p, d, s, b, t in rows
        ]
    )


def test_session_shares_by_weekday_with_practice_fallback():
    rows = []
    for d in ("2027-01-04", "2027-01-11", "2027-01-18", "2027-01-25"):  # four Mondays: 30 + 6 vs 12
        rows += [("P", d, "am", 30, 6), ("P", d, "pm", 12, 0)]
    for d in ("2027-01-05", "2027-01-12"):  # two Tuesdays only: 10 vs 10
        rows += [("P", d, "am", 10, 0), ("P", d, "pm", 10, 0)]
    sh = session_shares(_history(rows), min_days=4).set_index("weekday")
    assert sh.loc[0, "am_share"] == pytest.approx(36 / 48) and sh.loc[0, "source"] == "weekday"
    overall = (4 * 36 + 2 * 10) / (4 * 48 + 2 * 20)
    assert sh.loc[1, "am_share"] == pytest.approx(overall) and sh.loc[1, "source"] == "practice"
    assert sh.loc[1, "days"] == 2
    empty = session_shares(_history([("Q", "2027-01-04", "am", 0, 0), ("Q", "2027-01-04", "pm", 0, 0)]))
    assert (empty["am_share"] == 0.5).all() and (empty["source"] == "even").all()


def test_capacity_from_slots_counts_offered_same_day_slots_per_session():
    slots = slots_frame(
        slot("2027-01-11 08:30", "available", "same_day"),
        slot("2027-01-11 09:00", "booked", "same_day", booked="2027-01-11 08:01"),
        slot("2027-01-11 09:10", "cancelled", "same_day"),
        slot("2027-01-11 10:00", "available", "pre_bookable"),
        slot("2027-01-11 14:00", "available", "same_day"),
        slot("2027-01-12 08:30", "available", "pre_bookable"),
    )
    cap = capacity_from_slots(slots)
    got = {(str(r.date.date()), r.session): r.capacity for r in cap.itertuples()}
    assert got == {("2027-01-11", "am"): 2, ("2027-01-11", "pm"): 1, ("2027-01-12", "am"): 0}


def test_peak_pressure_ranks_sessions_and_recommends_the_cheapest_role():
    demand = pd.DataFrame(
        {
            "unique_id": "P",
            "date": pd.to_datetime(["2027-01-11", "2027-01-11", "2027-01-12", "2027-01-12", "2027-01-16", "2027-01-16"]),
            "session": ["am", "pm", "am", "pm", "am", "pm"],
            "demand": [10.0, 4.0, 6.0, 3.0, 0.0, 0.0],  # Saturday closed
            "phi": 1.0,
            "alpha": 0.0,
        }
    )
    cap = capacity_from_plan(demand, {"GP": 1}, {"GP": 6, "ANP": 4})
    assert cap["capacity"].tolist() == [6, 6, 6, 6, 0, 0]
    out = peak_pressure(demand, cap.iloc[:3], {"GP": 6, "ANP": 4}, threshold=0.1)  # Tue pm: no capacity
    assert len(out) == 4  # the closed Saturday is left out
    assert out["rank"].tolist() == [1, 2, 3, 4]
    first = out.iloc[0]
    assert (str(first["date"].date()), first["session"]) == ("2027-01-12", "pm")
    assert first["capacity"] == 0 and first["p_exceed"] == pytest.approx(1 - math.exp(-3))
    assert first["expected_shortfall"] == pytest.approx(3.0)
    mon_am = out[(out["session"] == "am") & (out["date"] == "2027-01-11")].iloc[0]
    assert mon_am["p_exceed"] == pytest.approx(stats.poisson(10).sf(6))
    # needs capacity 14: GP 6 more -> 2 sessions, ANP 4 more -> 2 sessions: a tie goes to GP (listed first)
    assert (mon_am["extra_GP"], mon_am["extra_ANP"], mon_am["extra_role"], mon_am["extra_sessions"]) == (2, 2, "GP", 2)
    ok = out[out["p_exceed"] <= 0.1]
    assert (ok["extra_sessions"] == 0).all() and (ok["extra_role"] == "").all()
    assert peak_pressure(demand, cap, {"GP": 6}, top=1)["rank"].tolist() == [1]


def test_bad_inputs_say_how_to_fix():
    with pytest.raises(PressureError, match="unknown role"):
        capacity_from_plan(pd.DataFrame(columns=["unique_id", "date", "session"]), {"Wizard": 1}, {"GP": 6})
    with pytest.raises(PressureError, match="threshold"):
        extra_sessions(5.0, Spread(), 3, {"GP": 6}, threshold=10)
    with pytest.raises(PressureError, match="session_capacity|demand_capacity"):
        session_shares(pd.DataFrame({"practice_id": ["P"]}))
    fc = pd.DataFrame({"unique_id": "P", "ds": pd.to_datetime(["2027-01-11"]), "Auto": [5.0]})
    with pytest.raises(PressureError, match="spread"):
        session_demand(fc, {"Q": Spread()}, 0.5)
