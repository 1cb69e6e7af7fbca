"""The demo simulation: its queue mechanics by hand, its statistical shape with fixed seeds, and
the demo exports end to end through the real parsers and ingest."""

from __future__ import annotations

import datetime as dt
import filecmp
import re

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from demand.simulation.demo import SYSTEMS, caller_numbers, drama_numbers, exported_calls, run_demo, write_demo
from demand.simulation.engine import QueueParams, simulate_queue
from demand.simulation.population import (
    build_book,
    daily_demand,
    default_federation,
    gpad_monthly,
    same_day_bookings,
    seasonal_factor,
    simulate_appointments,
    simulate_calls,
)

FED = {p.practice_id: p for p in default_federation()}
SEED = 3
WINTER = dt.date(2025, 1, 6)  # a Monday; no bank holiday in the next 12 weeks
EASTER = dt.date(2025, 4, 7)  # Good Friday 18 Apr, Easter Monday 21 Apr, May Day 5 May 2025
AUGUST = dt.date(2025, 8, 4)


def _open(calls: pd.DataFrame) -> pd.DataFrame:
    """Inbound calls on days the practice was open."""
    c = calls[calls["direction"] == "inbound"]
    open_days = set(c.loc[c["outcome"] != "closed", "date"])
    return c[c["date"].isin(open_days)]


@pytest.fixture(scope="module")
def winter():
    """Twelve winter weeks of each practice's calls (book built alongside)."""
    out = {}
    for pid, p in FED.items():
        book = build_book(p, WINTER, 12, SEED)
        out[pid] = (simulate_calls(p, WINTER, 12, SEED, book=book), book)
    return out


@pytest.fixture(scope="module")
def easter():
    return {pid: simulate_calls(p, EASTER, 5, SEED) for pid, p in FED.items()}


# ----------------------------------------------------------------------------- the queue by hand


def test_an_idle_queue_answers_everyone_at_once_and_books_the_earliest_slots_in_reach():
    q = QueueParams(ivr_s=0.0, ivr_hangup_prob=0.0, booking_margin_s=600.0)
    eight = 8 * 3600.0
    arrivals = pd.DataFrame({"t_s": eight + np.array([0.0, 1000.0, 2000.0, 3000.0]), "caller": [1, 2, 3, 4]})
    # Slots at 08:05 (too soon for anyone), 08:30, 08:50 and 09:00.
    slots = [eight + 300, eight + 1800, eight + 3000, eight + 3600]
    calls = simulate_queue(arrivals, [3] * 21, q, np.random.default_rng(0), same_day_slots=slots)
    assert len(calls) == 4 and (calls["outcome"] == "answered").all()
    assert (calls["wait_s"] == 0).all() and (calls["position"] == 1).all()
    assert not calls["is_redial"].any()
    # 08:00 -> 08:30 (08:05 is within the 10-minute margin and goes unused); 08:16:40 -> 08:50;
    # 08:33:20 -> 09:00; 08:50 finds none left.
    assert calls["slot"].tolist() == [1, 2, 3, -1]
    assert calls["resolution"].tolist() == ["booked_same_day"] * 3 + ["ring_tomorrow"]
    assert calls["booked_s"].iloc[:3].tolist() == arrivals["t_s"].iloc[:3].tolist()


def test_with_no_handlers_nobody_gets_through_and_everyone_redials_until_they_give_up():
    q = QueueParams(ivr_s=0.0, ivr_hangup_prob=0.0, max_attempts=4, redial_prob_same_day=1.0, redial_decay=1.0,
                    max_wait_s=120.0, callback_from_position=None)
    arrivals = pd.DataFrame({"t_s": [9 * 3600.0, 9 * 3600.0 + 5], "caller": [7, 8]})
    calls = simulate_queue(arrivals, [0] * 21, q, np.random.default_rng(1))
    assert set(calls["outcome"]) <= {"abandoned", "missed"}
    # Each caller tries exactly max_attempts times: the first call, then three redials.
    assert calls.groupby("caller").size().tolist() == [4, 4]
    assert calls.groupby("caller")["is_redial"].sum().tolist() == [3, 3]
    assert (calls["wait_s"] <= 120.0).all()
    assert calls.groupby("caller")["attempt"].max().tolist() == [4, 4]


def test_call_backs_keep_their_place_and_are_made_as_outbound_calls():
    q = QueueParams(ivr_s=0.0, ivr_hangup_prob=0.0, callback_from_position=3, callback_accept_prob=1.0,
                    callback_answer_prob=1.0, patience_median_s=10_000.0, patience_sigma=0.0, max_wait_s=7200.0,
                    balk_from_position=None)
    arrivals = pd.DataFrame({"t_s": 8 * 3600.0 + np.arange(10.0), "caller": np.arange(10), "need": "routine"})
    calls = simulate_queue(arrivals, [1] * 21, q, np.random.default_rng(2))
    inbound = calls[calls["direction"] == "inbound"]
    requested = inbound[inbound["outcome"] == "callback"]
    # Caller 0 is answered at once; 1, 2 and 3 queue with 0, 1 and 2 ahead and wait; 4..9 find
    # three or more ahead of them and press the key.
    assert sorted(requested["caller"]) == list(range(4, 10))
    assert sorted(inbound.loc[inbound["outcome"] == "answered", "caller"]) == [0, 1, 2, 3]
    made = calls[calls["direction"] == "outbound"]
    assert sorted(made["caller"]) == list(range(4, 10)) and (made["outcome"] == "answered").all()
    # The handler rings them back in queue order (FIFO), after the four answered callers.
    assert made.sort_values("t_s")["caller"].tolist() == list(range(4, 10))
    assert made["t_s"].min() >= inbound.loc[inbound["outcome"] == "answered", "end_s"].max()
    assert (made["resolution"] == "routine").all() and not made["is_redial"].any()


def test_withheld_callers_are_not_offered_a_call_back():
    q = QueueParams(ivr_s=0.0, ivr_hangup_prob=0.0, callback_from_position=0, callback_accept_prob=1.0)
    arrivals = pd.DataFrame({"t_s": [8 * 3600.0] * 4, "caller": [1, 2, 3, 4], "withheld": [True, False, True, False]})
    calls = simulate_queue(arrivals, [0] * 4 + [1] * 17, q, np.random.default_rng(3))
    first = calls[(calls["direction"] == "inbound") & (calls["attempt"] == 1)].set_index("caller")
    assert first["callback_offer"].to_dict() == {1: False, 2: True, 3: False, 4: True}


def test_bad_arguments_are_typed_errors():
    from demand.simulation.engine import SimulationError

    with pytest.raises(SimulationError, match="t_s"):
        simulate_queue(pd.DataFrame({"x": [1]}), [1])
    with pytest.raises(SimulationError, match="unknown need"):
        simulate_queue(pd.DataFrame({"t_s": [30000.0], "need": ["cake"]}), [1])
    with pytest.raises(SimulationError, match="at least one interval"):
        simulate_queue(pd.DataFrame({"t_s": [30000.0]}), [])
    with pytest.raises(SimulationError, match="ascending"):
        simulate_queue(pd.DataFrame({"t_s": [30000.0]}), [1], same_day_slots=[40000.0, 35000.0])


# ----------------------------------------------------------------------------- statistical shape


def test_monday_is_the_busiest_day(winter):
    for pid, (calls, _) in winter.items():
        c = _open(calls)
        per_day = c.groupby("date").size()
        wd = pd.Series([d.weekday() for d in per_day.index], index=per_day.index)
        mean = per_day.groupby(wd).mean()
        assert list(mean.index) == [0, 1, 2, 3, 4], pid
        assert mean[0] > 1.05 * mean[1:].max(), (pid, mean.round(1).to_dict())
        # And demand (new needs) itself follows the weekday weights: Monday highest.
        new = c[~c["is_redial"]].groupby("date")["need_id"].nunique()
        assert new.groupby(wd).mean().idxmax() == 0


def test_the_8am_hour_is_the_peak_with_a_smaller_early_afternoon_peak(winter):
    for pid, (calls, _) in winter.items():
        c = _open(calls)
        by_hour = c.groupby(c["start_local"].dt.hour).size()
        assert by_hour.idxmax() == 8, pid
        assert by_hour[8] > 2.5 * by_hour[9]
        # Calls dip over lunch and rise again after 13:00.
        assert by_hour[13] > by_hour[12] and by_hour[13] > by_hour[16]


def test_winter_is_busier_than_august():
    for pid, p in FED.items():
        jan = _open(simulate_calls(p, WINTER, 4, SEED)).groupby("date").size().mean()
        aug = _open(simulate_calls(p, AUGUST, 4, SEED)).groupby("date").size().mean()
        assert jan > 1.2 * aug, (pid, jan, aug)


def test_bank_holidays_are_closed_and_the_next_day_surges(easter):
    holidays = [dt.date(2025, 4, 18), dt.date(2025, 4, 21), dt.date(2025, 5, 5)]
    after = [dt.date(2025, 4, 22), dt.date(2025, 5, 6)]
    for pid, calls in easter.items():
        c = calls[calls["direction"] == "inbound"]
        on_hol = c[c["date"].isin(holidays)]
        assert len(on_hol) > 0 and (on_hol["outcome"] == "closed").all()
        per_day = _open(calls).groupby("date").size()
        tuesdays = per_day[[d.weekday() == 1 and d not in after for d in per_day.index]]
        mondays = per_day[[d.weekday() == 0 for d in per_day.index]]
        assert per_day[after].sum() > 1.2 * len(after) * tuesdays.mean(), pid
        assert per_day[after].mean() > 0.9 * mondays.mean(), pid
        assert len(on_hol) < 0.1 * mondays.mean() * len(holidays)
        # The closed-day callers hear the closed message; nobody queues or is answered.
        assert on_hol["wait_s"].isna().all() and (on_hol["talk_s"] == 0).all()


def test_redials_at_8am_make_attempts_far_exceed_callers(winter):
    for pid, (calls, _) in winter.items():
        c = _open(calls)
        rush = c[c["start_local"].dt.hour == 8]
        g = rush.groupby("date")
        ratio = g.size() / g["caller"].nunique()
        # Calibrated to England (issue 12: about 11% of calls missed, not 35-40% hung up in
        # the queue), the 8am redials are fewer than before (1.5 or more attempts per caller)
        # but still clearly there, and only at the rush.
        assert ratio.median() > 1.12, (pid, ratio.median())
        assert len(rush) > 1.12 * g["caller"].nunique().sum()
        # Later in the day people rarely redial.
        late = c[c["start_local"].dt.hour >= 14].groupby("date")
        assert (late.size() / late["caller"].nunique()).median() < 1.2


def test_same_day_capacity_runs_out_on_most_mondays(winter):
    for pid, (calls, book) in winter.items():
        slots = book[book["category"] == "same_day"].groupby("date").size()
        booked = calls[calls["resolution"] == "booked_same_day"].groupby("date").size().reindex(slots.index, fill_value=0)
        told = calls[calls["resolution"] == "ring_tomorrow"].groupby("date").size().reindex(slots.index, fill_value=0)
        # Ran out: every same-day slot taken and callers still told to ring tomorrow.
        ran_out = (booked == slots) & (told > 0)
        wd = np.array([d.weekday() for d in slots.index])
        assert ran_out[wd == 0].mean() >= 0.75, pid
        assert ran_out[wd == 2].mean() < ran_out[wd == 0].mean()
        # Nobody is ever booked into more slots than there are.
        assert (booked <= slots).all()


def test_weekly_demand_is_5_to_10_percent_of_the_list(winter):
    for pid, (calls, _) in winter.items():
        p = FED[pid]
        first = calls[(calls["direction"] == "inbound") & ~calls["repeat"]]
        weeks = first.groupby([(d - WINTER).days // 7 for d in first["date"]])["need_id"].nunique() / p.list_size
        # The guidance is a year's average; January to March run above it (the annual cycle),
        # so the weeks are compared once the cycle is taken out (issue 12 calibrated the demo
        # to England's 590 calls per 1,000 a month: 9% of the list a week, 10% in winter).
        days = [WINTER + dt.timedelta(7 * k + 2) for k in weeks.index]
        weeks = weeks / seasonal_factor(days, p.demand.seasonal_amplitude, p.demand.peak_day)
        assert 0.05 <= weeks.mean() <= 0.10, (pid, weeks.mean())
        assert weeks.between(0.04, 0.11).all()


def test_daily_demand_expectation_follows_the_stated_formula():
    p = FED["A81001"]
    d = daily_demand(p, dt.date(2025, 4, 14), 9)  # Mon 14 .. Tue 22 April 2025
    dem = p.demand
    w = np.array(dem.weekday_weights)
    season = 1 + dem.seasonal_amplitude * np.cos(2 * np.pi * (104 - dem.peak_day) / 365.25)  # 14 April: day 104
    rate = dem.weekly_rate
    assert d["expected"].iloc[0] == pytest.approx(6000 * rate * season * w[0] / w.sum())
    assert d["closed"].tolist() == [False] * 4 + [True] * 4 + [False]  # Good Friday, weekend, Easter Monday
    # Tuesday 22 April carries 35% of Good Friday's and Easter Monday's expected demand.
    seas = lambda doy: 1 + dem.seasonal_amplitude * np.cos(2 * np.pi * (doy - dem.peak_day) / 365.25)
    base = lambda wd, doy: 6000 * rate * seas(doy) * w[wd] / w.sum()
    want = base(1, 112) + 0.35 * (base(4, 108) + base(0, 111))
    assert d["expected"].iloc[8] == pytest.approx(want)


def test_appointments_have_roles_modes_and_dna_rates_by_role():
    p = FED["A81003"]
    book = build_book(p, WINTER, 8, SEED)
    calls = simulate_calls(p, WINTER, 8, SEED, book=book)
    a = simulate_appointments(p, WINTER, 8, SEED, same_day_bookings(calls), book=book)
    assert set(a["role"]) == {"GP", "ANP", "nurse", "HCA", "pharmacist", "paramedic"}
    assert set(a["mode"]) == {"face_to_face", "telephone", "video", "home_visit"}
    assert set(a.loc[a["role"] == "GP", "duration_min"]) == {10, 30}  # 30: home visits
    done = a[a["status"].isin(["attended", "dna"])]
    dna = done.assign(d=done["status"] == "dna").groupby(done["role"] == "GP")["d"].mean()
    assert 0.005 < dna[True] < 0.03 and 0.02 < dna[False] < 0.08
    # Same-day slots were booked by callers, at the time they got through, on the day.
    sd = a[(a["category"] == "same_day") & (a["patient"] >= 0)]
    assert len(sd) == (calls["resolution"] == "booked_same_day").sum()
    assert (pd.to_datetime(sd["booked_local"]).dt.date == sd["date"]).all()
    assert (pd.to_datetime(sd["booked_local"]).dt.hour >= 8).all()
    assert (pd.to_datetime(sd["booked_local"]) < sd["start_local"]).all()
    # Pre-bookable slots are booked at least a day ahead; continuity makes usual-GP visits common.
    pre = a[(a["category"] == "pre_bookable") & (a["patient"] >= 0)]
    assert (pd.to_datetime(pre["booked_local"]).dt.normalize() < pre["start_local"].dt.normalize()).all()
    gp = pre[pre["role"] == "GP"]
    assert (gp["usual_gp"] == gp["clinician_no"]).mean() > 0.5


def test_gpad_counts_are_the_booked_appointments_with_gpads_double_spaces():
    p = FED["A81001"]
    a = simulate_appointments(p, WINTER, 6, SEED)
    g = gpad_monthly(a)
    assert g["count"].sum() == a["status"].isin(["attended", "dna"]).sum()
    assert set(g["time_between_book_and_appt"]) <= {
        "Same Day", "1 Day", "2 to 7 Days", "8  to 14 Days", "15  to 21 Days", "22  to 28 Days", "More than 28 Days"
    }
    assert "8  to 14 Days" in set(g["time_between_book_and_appt"])
    assert set(g["hcp_type"]) == {"GP", "Other Practice staff"}


# ----------------------------------------------------------------------------- phone numbers


def test_numbers_are_drama_numbers_one_per_patient_a_day_and_kept_by_ring_tomorrow_callers(winter):
    calls, _ = winter["A81003"]
    pool = drama_numbers()[:500] + drama_numbers()[2000:2500]
    nums = caller_numbers(calls, pool, SEED)
    c = calls.assign(num=nums)
    vis = c[~c["withheld"]]
    assert c.loc[c["withheld"], "num"].isna().all() and vis["num"].notna().all()
    assert set(vis["num"]) <= set(pool)
    per_day = vis.groupby("date")
    # Within a day: one number per patient and one patient per number.
    assert (per_day["num"].nunique() == per_day["caller"].nunique()).all()
    assert (vis.groupby(["date", "caller"])["num"].nunique() == 1).all()
    # A need carried to the next open day rings from the same number.
    carried = vis[vis["repeat"]]
    prev = vis[~vis["repeat"]].drop_duplicates("need_id").set_index("need_id")["num"]
    both = carried.drop_duplicates("need_id").set_index("need_id")["num"].reindex(prev.index).dropna()
    assert len(both) > 50 and (both == prev.reindex(both.index)).mean() > 0.95


def test_number_pools_are_disjoint_mixed_and_never_hold_the_practices_own_numbers():
    from demand.simulation.demo import _pools

    own, pools = _pools(3)
    flat = [n for p in pools for n in p]
    assert len(flat) == len(set(flat)) == 2990 and not set(flat) & set(own)
    assert set(flat) | set(own) == set(drama_numbers())
    for p in pools:
        assert {n[:5] for n in p} == {"07700", "01632", "02079"}


# ----------------------------------------------------------------------------- the demo end to end


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("FRONTDOOR_KEY", "test-key-not-secret")
    out = tmp_path_factory.mktemp("demo")
    try:
        yield run_demo(out, weeks=8, seed=SEED)  # 6 Jan - 2 Mar 2025: February is a whole month
    finally:
        mp.undo()


def test_demo_exports_parse_with_zero_rejects_and_ingested_counts_equal_the_simulation(demo_run):
    from telephony.store import open_store

    assert demo_run.skipped == []
    results = demo_run.call_results + demo_run.appointment_results
    assert results and all(r.rejected == 0 and r.duplicates == 0 for r in results)
    store = open_store(demo_run.store)
    calls = store.read_calls()
    for pid, sim in demo_run.demo.calls.items():
        want = exported_calls(sim, SYSTEMS[pid]["calls"])
        got = calls[calls["practice_id"] == pid]
        assert len(got) == len(want), pid
        assert got["outcome"].value_counts().to_dict() == want["outcome"].value_counts().to_dict(), pid
        assert got["direction"].value_counts().to_dict() == want["direction"].value_counts().to_dict()
        # Per local day, the same numbers of calls.
        got_days = got["start_utc"].dt.tz_convert("Europe/London").dt.date.value_counts().sort_index()
        assert got_days.to_dict() == want["date"].value_counts().sort_index().to_dict()
        # Distinct callers per day: the simulation's patients (withheld ones are null keys).
        vis = want[~want["withheld"]].groupby("date")["caller"].nunique()
        keys = got.dropna(subset=["caller_key"])
        kd = keys.groupby(keys["start_utc"].dt.tz_convert("Europe/London").dt.date)["caller_key"].nunique()
        assert kd.to_dict() == vis.to_dict()
    slots = store.read_table("appointments").to_pandas()
    for pid, sim in demo_run.demo.appointments.items():
        got = slots[slots["practice_id"] == pid]
        assert len(got) == len(sim)
        assert got["status"].value_counts().to_dict() == sim["status"].value_counts().to_dict()
        assert got["role"].value_counts().to_dict() == sim["role"].value_counts().to_dict()
        # No raw patient id or clinician name reached the store.
        assert not got["patient_key"].dropna().str.match(r"^[PR]\d+$").any()
    gpad = store.read_table("gpad", time_column="month_start").to_pandas()
    assert set(gpad["practice_id"]) == set(FED)
    assert set(gpad["month_start"].dt.strftime("%Y-%m")) == {"2025-02"}  # whole months only
    feb = {pid: int((a["status"].isin(["attended", "dna"]) & (a["start_local"].dt.month == 2)).sum())
           for pid, a in demo_run.demo.appointments.items()}
    assert gpad.groupby("practice_id")["count"].sum().to_dict() == feb
    reg = pq.read_table(demo_run.store / "practices.parquet").to_pandas()
    assert reg["practice_id"].tolist() == ["A81001", "A81002", "A81003"]
    assert reg["list_size"].tolist() == [6000, 9000, 12000]


def test_demo_slot_reports_name_the_session_holder_on_every_slot(demo_run):
    """Unbooked capacity keeps its clinician: the holder is on every slot row (as real slot
    reports show it), while patient, booking and delivery are empty on available slots."""
    from telephony.store import open_store

    for f in demo_run.demo.files:
        if f.fmt != "emis_appointments":
            continue
        lines = f.path.read_text(encoding="utf-8-sig").splitlines()
        header = lines[2].split(",")
        rows = [dict(zip(header, ln.split(","))) for ln in lines[3:]]
        assert rows and all(r["Session Holder"] for r in rows), f.path.name
        free = [r for r in rows if r["Slot Status"] == "Slot Available"]
        assert free and all(r["Patient ID"] == r["Booked Date"] == r["Delivery Mechanism"] == "" for r in free)
    slots = open_store(demo_run.store).read_table("appointments").to_pandas()
    assert slots["clinician_key"].notna().all()
    free = slots["status"] == "available"
    assert free.any() and slots.loc[free, "patient_key"].isna().all() and slots.loc[free, "booked_utc"].isna().all()
    # Every simulated clinician's sessions, booked or not, are in the store under one pseudonym.
    for pid, sim in demo_run.demo.appointments.items():
        got = slots[slots["practice_id"] == pid]
        assert got["clinician_key"].nunique() == sim["clinician"].nunique(), pid


def test_the_3cx_report_tells_closed_callback_and_ivr_calls_apart(tmp_path, monkeypatch):
    """The 3CX practice given an IVR message and call-backs: every call is in its report
    (call-backs made as Outbound rows) and reads back with the simulated outcome."""
    import dataclasses

    from telephony.store import open_store

    monkeypatch.setenv("FRONTDOOR_KEY", "test-key-not-secret")
    p = FED["A81002"]
    q = dataclasses.replace(p.queue, ivr_s=20.0, ivr_hangup_prob=0.05, callback_from_position=8)
    res = run_demo(tmp_path, weeks=1, seed=SEED, practices=(dataclasses.replace(p, queue=q),))
    sim = res.demo.calls["A81002"]
    inbound = sim[sim["direction"] == "inbound"]
    assert {"closed", "callback", "ivr_abandoned", "answered"} <= set(inbound["outcome"])
    assert (sim["direction"] == "outbound").any()
    want = exported_calls(sim, "threecx_report")
    assert len(want) == len(sim) and want["outcome"].tolist() == sim["outcome"].tolist()
    assert all(r.rejected == 0 for r in res.call_results)
    got = open_store(res.store).read_calls()
    by = ["direction", "outcome"]
    assert got.groupby(by).size().to_dict() == want.groupby(by).size().to_dict()
    # Calls that never queued have no wait; a call-back request waited in the queue first.
    assert got.loc[got["outcome"].isin(["closed", "ivr_abandoned"]), "wait_s"].isna().all()
    assert got.loc[got["outcome"] == "callback", "wait_s"].notna().all()


def test_demo_exports_hold_only_drama_numbers(demo_run):
    allowed = set(drama_numbers())
    pat = re.compile(r"(?<![\d.])(0\d{10}|0\d{4} \d{6}|\+44\d{10})(?![\d.])")
    seen = set()
    for f in demo_run.demo.files:
        for m in pat.findall(f.path.read_text(encoding="utf-8-sig")):
            seen.add(m)
    norm = {s.replace(" ", "").replace("+44", "0") for s in seen}
    assert norm and norm <= allowed, sorted(norm - allowed)[:5]


def test_the_same_seed_writes_the_same_files_byte_for_byte(tmp_path):
    a = write_demo(tmp_path / "a", weeks=2, seed=11)
    b = write_demo(tmp_path / "b", weeks=2, seed=11)
    c = write_demo(tmp_path / "c", weeks=2, seed=12)
    rel = lambda d: sorted(p.path.relative_to(d.out_dir) for p in d.files)
    assert rel(a) == rel(b) and len(rel(a)) >= 6
    match, mismatch, errors = filecmp.cmpfiles(a.out_dir, b.out_dir, [str(r) for r in rel(a)], shallow=False)
    assert not mismatch and not errors
    q = "exports/A81001/calls/queue_log"
    assert (a.out_dir / q).read_bytes() != (c.out_dir / q).read_bytes()


def test_the_demo_refuses_a_folder_it_did_not_write(tmp_path):
    from demand.simulation.demo import DemoError

    (tmp_path / "store").mkdir()
    with pytest.raises(DemoError, match="not written by 'frontdoor demo'"):
        write_demo(tmp_path, weeks=1)
