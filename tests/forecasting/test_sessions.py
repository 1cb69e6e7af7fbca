"""Clinician sessions as changes to the usual week (:mod:`forecasting.planning.peak_pressure`):
the usual week and the roles measured from the book, whole sessions moved before any is added,
only roles that do the same-day work and in proportion to it, within the people each role has.

The last test runs the plan on a 12-week demo for every practice and each of its last four
weeks.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from forecasting.intervals import Spread, count_distribution
from forecasting.planning.peak_pressure import (
    GP_CONTACTS_PER_DAY,
    SESSIONS_PER_DAY,
    PressureError,
    exceedance,
    same_day_roles,
    session_changes,
    sessions_in_book,
    usual_on,
    usual_week,
)
from tests.demand.slot_builders import slot, slots_frame

MON, TUE = pd.Timestamp("2027-01-11"), pd.Timestamp("2027-01-12")


def demand(rows) -> pd.DataFrame:
    """Poisson session demand: ``(date, session, mean)`` rows."""
    return pd.DataFrame(
        [(d, s, float(m), 1.0, 0.0) for d, s, m in rows], columns=["date", "session", "demand", "phi", "alpha"]
    )


def before(rows) -> pd.DataFrame:
    """``(date, session, role, sessions, slots)`` rows."""
    return pd.DataFrame(rows, columns=["date", "session", "role", "sessions", "slots"])


def roles(rows) -> pd.DataFrame:
    """``(role, share, slots_per_session, people)`` rows; changeable from the share."""
    r = pd.DataFrame(rows, columns=["role", "share", "slots_per_session", "people"])
    r["changeable"] = r["share"] >= 0.1
    return r


def poisson_needed(mu: float, threshold: float = 0.1) -> int:
    dist = count_distribution(mu, Spread())
    return next(k for k in range(10_000) if dist.sf(k) <= threshold)


def test_a_gap_is_closed_by_moving_a_session_that_is_not_needed_where_it_is():
    # Monday am: 20 expected, 20 slots; Tuesday am: 5 expected, 30 slots. One GP session of
    # 10 slots moves from Tuesday to Monday; Tuesday stays safe without it; nothing is added.
    d = demand([(MON, "am", 20), (TUE, "am", 5)])
    b = before([(MON, "am", "GP", 2, 20), (TUE, "am", "GP", 3, 30)])
    r = roles([("GP", 1.0, 10, 4)])
    plan, changes, summary = session_changes(d, b, r, threshold=0.1)
    assert changes[["date", "session", "role", "change", "kind", "from_date", "from_session"]].values.tolist() == [
        [MON, "am", "GP", 1, "move", TUE, "am"]
    ]
    s = summary.set_index(["date", "session"])
    assert s.loc[(MON, "am"), "capacity_after"] == 30 and s.loc[(TUE, "am"), "capacity_after"] == 20
    assert s.loc[(MON, "am"), "needed"] == poisson_needed(20) and 20 < poisson_needed(20) <= 30
    assert s.loc[(MON, "am"), "p_after"] == pytest.approx(exceedance(20, Spread(), 30)[0])
    assert s.loc[(MON, "am"), "p_before"] > 0.1 >= s.loc[(MON, "am"), "p_after"]
    assert s.loc[(TUE, "am"), "p_after"] <= 0.1
    got = plan.set_index(["date", "session", "role"])
    assert (got.loc[(MON, "am", "GP"), "before"], got.loc[(MON, "am", "GP"), "after"]) == (2, 3)
    assert (got.loc[(TUE, "am", "GP"), "before"], got.loc[(TUE, "am", "GP"), "after"]) == (3, 2)


def test_sessions_are_added_when_no_session_can_spare_one_and_the_risk_falls_under_the_threshold():
    d = demand([(MON, "am", 30), (TUE, "am", 28)])
    b = before([(MON, "am", "GP", 2, 20), (TUE, "am", "GP", 3, 30)])
    plan, changes, summary = session_changes(d, b, roles([("GP", 1.0, 10, 4)]), threshold=0.1)
    assert set(changes["kind"]) == {"add"}
    assert (summary["p_after"] <= 0.1).all() and (summary["short_after"] == 0).all()
    # the fewest whole sessions: one session fewer would leave the risk over the threshold
    s = summary.set_index(["date", "session"])
    for key in s.index:
        assert exceedance(float(s.loc[key, "demand"]), Spread(), s.loc[key, "capacity_after"] - 10)[0] > 0.1
    # the plan's sessions are the book's plus the changes, in whole sessions
    n = changes.groupby(["date", "session", "role"])["change"].sum()
    for x in plan.itertuples():
        assert x.after == x.before + n.get((x.date, x.session, x.role), 0)
    assert plan["after"].dtype == np.int64 and changes["change"].dtype == np.int64


def test_only_roles_doing_the_same_day_work_change_and_in_proportion_to_it():
    # GP 70%, ANP 25% of the same-day work, nurse 5% (one same-day slot a session): a big gap
    # is filled by GPs and ANPs in about a 70:25 ratio of slots, never by the nurse
    days = pd.date_range("2027-01-11", periods=5)
    d = demand([(x, s, 60) for x in days for s in ("am", "pm")])
    b = before([(x, s, "GP", 1, 10) for x in days for s in ("am", "pm")])
    r = roles([("GP", 0.70, 10, 6), ("ANP", 0.25, 10, 3), ("nurse", 0.05, 1, 2)])
    plan, changes, summary = session_changes(d, b, r, threshold=0.1)
    assert "nurse" not in set(changes["role"])
    slots = changes.groupby("role")["change"].sum() * 10
    assert slots["GP"] / (slots["GP"] + slots["ANP"]) == pytest.approx(0.70 / 0.95, abs=0.08)
    assert (summary["p_after"] <= 0.1).all()


def test_a_gap_the_people_cannot_close_is_said_not_rostered():
    # two GPs and one ANP: at most two GP and one ANP session in an am, however great the need
    d = demand([(MON, "am", 80)])
    b = before([(MON, "am", "GP", 1, 9)])
    r = roles([("GP", 0.7, 9, 2), ("ANP", 0.3, 11, 1)])
    plan, changes, summary = session_changes(d, b, r, threshold=0.1)
    got = plan.set_index("role")["after"]
    assert (got["GP"], got["ANP"]) == (2, 1)
    row = summary.iloc[0]
    assert row["capacity_after"] == 9 + 9 + 11
    assert row["short_after"] == poisson_needed(80) - 29 and row["p_after"] > 0.9


def test_a_plan_already_safe_changes_nothing():
    d = demand([(MON, "am", 5), (MON, "pm", 4)])
    b = before([(MON, "am", "GP", 2, 20), (MON, "pm", "ANP", 1, 11)])
    plan, changes, summary = session_changes(d, b, roles([("GP", 0.6, 10, 3), ("ANP", 0.4, 11, 1)]))
    assert changes.empty and (plan["before"] == plan["after"]).all()
    assert (summary["capacity_before"] == summary["capacity_after"]).all()


def test_bad_inputs_say_how_to_fix():
    d = demand([(MON, "am", 5)])
    r = roles([("GP", 1.0, 10, 3)])
    with pytest.raises(PressureError, match="strictly between 0 and 1"):
        session_changes(d, before([]), r, threshold=1.5)
    with pytest.raises(PressureError, match="sessions_in_book"):
        session_changes(d, pd.DataFrame({"date": [MON]}), r)
    with pytest.raises(PressureError, match="session_demand"):
        session_changes(d.drop(columns="phi"), before([]), r)


def _book() -> pd.DataFrame:
    """Two weeks of a small book: GPs A and B (12 same-day slots each a morning, so capped),
    an ANP (8 a Monday afternoon), a nurse with one same-day slot a morning among her
    pre-bookable ones; the second Monday is a bank holiday with a skeleton session."""
    rows = []
    for monday in ("2027-01-04", "2027-01-11", "2027-01-18"):
        day = pd.Timestamp(monday)
        for gp in ("dr-A", "dr-B"):
            for i in range(14):
                t = day + pd.Timedelta(hours=8, minutes=30 + 10 * i)
                rows.append(slot(str(t), category="same_day", booked=str(t.normalize() + pd.Timedelta(hours=8)), clinician=gp))
        for i in range(8):
            t = day + pd.Timedelta(hours=14, minutes=15 * i)
            rows.append(slot(str(t), category="same_day", role="ANP", clinician="anp-C", booked=str(t.normalize() + pd.Timedelta(hours=8))))
        rows.append(slot(str(day + pd.Timedelta(hours=9)), category="same_day", role="nurse", clinician="rn-D",
                         booked=str(day + pd.Timedelta(hours=8))))
        for i in range(10):
            rows.append(slot(str(day + pd.Timedelta(hours=10, minutes=15 * i)), role="nurse", clinician="rn-D",
                             booked="2026-12-20 10:00"))
    return slots_frame(*rows)


def test_roles_usual_week_and_book_are_measured_from_the_slots():
    book = _book()
    r = same_day_roles(book).set_index("role")
    # 28 GP, 8 ANP, 1 nurse same-day appointments a Monday
    assert r.loc["GP", "share"] == pytest.approx(28 / 37) and r.loc["nurse", "share"] == pytest.approx(1 / 37)
    assert r.loc["GP", "slots_per_session"] == GP_CONTACTS_PER_DAY // SESSIONS_PER_DAY  # 14 a session, capped
    assert (r.loc["ANP", "slots_per_session"], r.loc["nurse", "slots_per_session"]) == (8, 1)
    assert (r.loc["GP", "people"], r.loc["ANP", "people"]) == (2, 1)
    assert r["changeable"].to_dict() == {"GP": True, "ANP": True, "nurse": False}
    b = sessions_in_book(book)
    assert len(b) == 3 * 3  # per Monday: am GP, am nurse, pm ANP
    mon = b[b["date"] == pd.Timestamp("2027-01-04")].set_index(["session", "role"])
    assert mon.loc[("am", "GP"), ["sessions", "slots"]].tolist() == [2, 28]
    usual = usual_week(b, skip_dates=[dt.date(2027, 1, 11)])
    assert usual[["weekday", "session", "role", "sessions"]].values.tolist() == [
        [0, "am", "GP", 2], [0, "am", "nurse", 1], [0, "pm", "ANP", 1]
    ]
    laid = usual_on(usual, [pd.Timestamp("2027-01-25"), pd.Timestamp("2027-01-26")])
    assert set(laid["date"]) == {pd.Timestamp("2027-01-25")}  # Tuesdays have no usual session
    with pytest.raises(PressureError, match="ingest the practice's slot export"):
        same_day_roles(book[book["category"] != "same_day"])


# ---------------------------------------------------------------------------- the demo


@pytest.fixture(scope="module")
def demo_store(demo12):
    from telephony.store import open_store

    return open_store(demo12 / "store")


@pytest.mark.parametrize("practice", ["A81001", "A81002", "A81003"])
def test_on_the_demo_changes_are_whole_sessions_of_the_practices_roles_within_its_people(demo_store, practice):
    from demand.appointments.schema import read_appointments
    from forecasting.outlook import PRESSURE_THRESHOLD, PracticeHistory, plan_same_day, session_pressure
    from forecasting.series import read_calendars

    tz = "Europe/London"
    cal = read_calendars(demo_store, [practice])[practice]
    first = dt.date(2025, 1, 6)
    calls_all = demo_store.read_calls([practice])
    slots_all = read_appointments(demo_store, [practice])
    for back in range(4):  # the last four weeks with a week after them in the demo
        week = dt.date(2025, 3, 17) - dt.timedelta(weeks=back)
        end = pd.Timestamp(week + dt.timedelta(days=7)).tz_localize(tz)
        calls = calls_all[calls_all["start_utc"] < end]
        h = PracticeHistory(practice, calls, slots_all, cal, week, first, tz)
        plan = plan_same_day(h, "seasonal_average")
        assert plan.error is None, plan.error
        roles = plan.roles.set_index("role")
        ch = plan.changes
        assert ch["change"].dtype == np.int64 and (ch["change"] == 1).all()
        assert set(ch["role"]) <= set(roles.index[roles["changeable"]])
        s = plan.sessions
        assert ((s["after"] >= 0) & (s["after"] <= s["role"].map(roles["people"]).clip(lower=s["before"]))).all()
        gp = roles.loc["GP"] if "GP" in roles.index else None
        if gp is not None:
            assert gp["slots_per_session"] * SESSIONS_PER_DAY <= GP_CONTACTS_PER_DAY
            per_day = s[s["role"] == "GP"].groupby("date")["after"].sum()
            assert (per_day <= SESSIONS_PER_DAY * gp["people"]).all()
        sm = plan.summary
        ok = sm["short_after"] == 0
        assert (sm.loc[ok, "p_after"] <= PRESSURE_THRESHOLD).all()
        moved_from = set(zip(ch.loc[ch["kind"] == "move", "from_date"], ch.loc[ch["kind"] == "move", "from_session"]))
        for x in sm.itertuples():  # only a session that gave one away ends with fewer slots
            assert x.capacity_after >= x.capacity_before or (x.date, x.session) in moved_from
        # the ranking is the plan's: same capacity before and after
        p = session_pressure(h, plan).pressure.set_index(["date", "session"])
        for x in sm.itertuples():
            if (x.date, x.session) in p.index:
                assert p.loc[(x.date, x.session), "capacity"] == pytest.approx(x.capacity_before)
                assert p.loc[(x.date, x.session), "capacity_after"] == pytest.approx(x.capacity_after)


def test_changes_read_as_words_on_both_ends_of_a_move():
    from forecasting.outlook import change_words

    wed = pd.Timestamp("2027-01-13")
    ch = pd.DataFrame(
        [(MON, "am", "GP", 1, "move", wed, "pm"), (MON, "am", "GP", 1, "add", pd.NaT, None), (MON, "am", "ANP", 1, "add", pd.NaT, None)],
        columns=["date", "session", "role", "change", "kind", "from_date", "from_session"],
    )
    assert change_words(ch) == {
        (MON, "am"): "+1 GP (moved from Wed pm) \u00b7 +1 GP \u00b7 +1 ANP",
        (wed, "pm"): "\u22121 GP (moved to Mon am)",
    }
