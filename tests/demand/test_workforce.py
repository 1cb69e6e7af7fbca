"""Skill mix, consultation length and continuity (SLICC): hand-computed expectations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from demand.definitions import MetricsInputError
from demand.workforce import (
    CONTINUITY_COLUMNS,
    SKILL_MIX_COLUMNS,
    consultation_length,
    continuity,
    skill_mix,
)
from tests.demand.slot_builders import slot, slots_frame

MARCH, APRIL = pd.Timestamp("2026-03-01"), pd.Timestamp("2026-04-01")


@pytest.fixture
def rota():
    return slots_frame(
        # Dr A: a morning and an afternoon session on Monday 2 March
        slot("2026-03-02 08:00", "attended", clinician="dr-A"),
        slot("2026-03-02 08:10", "dna", clinician="dr-A"),
        slot("2026-03-02 08:20", "available", clinician="dr-A"),
        slot("2026-03-02 14:00", "booked", clinician="dr-A"),
        # Dr B: Tuesday's session cancelled whole; Wednesday's offered but nobody booked
        slot("2026-03-03 09:00", "cancelled", clinician="dr-B"),
        slot("2026-03-04 09:00", "available", clinician="dr-B"),
        # Nurse N: one morning, two appointments
        slot("2026-03-02 09:00", "attended", role="nurse", clinician="nurse-N"),
        slot("2026-03-02 10:00", "attended", role="nurse", clinician="nurse-N"),
        # an HCA slot exported without its session holder
        slot("2026-03-05 09:00", "attended", role="HCA", clinician=None),
        # 00:30 BST on 1 April is 23:30 UTC on 31 March: an April session
        slot("2026-04-01 00:30", "attended", clinician="dr-A"),
    )


def test_skill_mix_hand_computed(rota):
    s = skill_mix(rota, {"A81001": 2000})
    assert list(s.columns) == list(SKILL_MIX_COLUMNS)
    assert list(zip(s["month"], s["role"])) == [(MARCH, "GP"), (MARCH, "nurse"), (MARCH, "HCA"), (APRIL, "GP")]
    s = s.set_index(["month", "role"])
    gp = s.loc[(MARCH, "GP")]
    assert gp["appointments"] == 3  # attended, dna, booked
    assert gp["sessions"] == 3  # Dr A am and pm, Dr B on Wednesday; not the cancelled Tuesday
    assert gp["appointments_per_1000"] == pytest.approx(1.5)
    assert gp["sessions_per_1000"] == pytest.approx(1.5)
    nurse = s.loc[(MARCH, "nurse")]
    assert (nurse["appointments"], nurse["sessions"]) == (2, 1)
    assert nurse["appointments_per_1000"] == pytest.approx(1.0)
    hca = s.loc[(MARCH, "HCA")]
    assert hca["appointments"] == 1 and math.isnan(hca["sessions"])  # nobody to count sessions of
    april = s.loc[(APRIL, "GP")]
    assert (april["appointments"], april["sessions"], april["list_size"]) == (1, 1, 2000)


def test_skill_mix_list_sizes(rota):
    frame = pd.DataFrame({"practice_id": ["A81001", "B82002"], "list_size": [4000, 9000]})
    s = skill_mix(rota, frame)
    assert s.loc[0, "appointments_per_1000"] == pytest.approx(3 / 4)
    series = skill_mix(rota, pd.Series({"A81001": 4000}))
    assert series.loc[0, "appointments_per_1000"] == pytest.approx(3 / 4)
    unknown = skill_mix(rota, {"B82002": 9000})  # A81001's list size not given
    assert unknown["list_size"].isna().all() and unknown["appointments_per_1000"].isna().all()
    assert unknown.loc[0, "appointments"] == 3
    with pytest.raises(MetricsInputError, match="positive"):
        skill_mix(rota, {"A81001": 0})
    with pytest.raises(MetricsInputError, match="numbers"):
        skill_mix(rota, {"A81001": "lots"})
    with pytest.raises(MetricsInputError, match="practice_id and list_size"):
        skill_mix(rota, pd.DataFrame({"practice": ["A81001"], "size": [1]}))
    no_keys = skill_mix(rota.drop(columns=["clinician_key"]), {"A81001": 2000})
    assert no_keys["sessions"].isna().all() and no_keys.loc[0, "appointments"] == 3
    empty = skill_mix(rota.iloc[0:0], {"A81001": 2000})
    assert empty.empty and list(empty.columns) == list(SKILL_MIX_COLUMNS)


def test_consultation_length():
    slots = slots_frame(
        slot("2026-03-02 08:00", "attended", duration=10),
        slot("2026-03-02 08:10", "attended", duration=10),
        slot("2026-03-02 08:20", "attended", duration=15),
        slot("2026-03-02 08:40", "attended", duration=30),
        slot("2026-03-02 09:10", "dna", duration=60),  # not a consultation
        slot("2026-03-02 09:30", "available", duration=60),
        slot("2026-03-02 10:00", "attended", duration=5, mode="telephone"),
        slot("2026-03-02 11:00", "attended", duration=20, role="nurse"),
        slot("2026-03-02 11:20", "attended", duration=20, role="nurse"),
    )
    c = consultation_length(slots).set_index(["role", "mode"])
    assert list(c.index) == [("GP", "face_to_face"), ("GP", "telephone"), ("nurse", "face_to_face")]
    f2f = c.loc[("GP", "face_to_face")]
    assert (f2f["attended"], f2f["minutes_attended"]) == (4, 65.0)
    assert f2f["duration_mean_min"] == pytest.approx(16.25)
    assert f2f["duration_p50_min"] == pytest.approx(12.5)
    assert f2f["duration_p90_min"] == pytest.approx(15 + 0.7 * 15)  # rank 2.7 of [10, 10, 15, 30]
    assert c.loc[("GP", "telephone"), "duration_p90_min"] == 5.0
    assert c.loc[("nurse", "face_to_face"), "duration_mean_min"] == 20.0
    by_role = consultation_length(slots, by="role").set_index("role")
    assert by_role.loc["GP", "attended"] == 5 and by_role.loc["GP", "duration_p50_min"] == 10.0


@pytest.fixture
def visits():
    """Patient 1's usual GP moves from Dr A to Dr B; patient 2 keeps Dr C; patient 3 is new."""

    def gp(when, dr, pt, status="attended", role="GP"):
        return slot(when, status, clinician=dr, patient=pt, role=role)

    return slots_frame(
        gp("2026-01-05 09:00", "dr-A", "pt-1"),
        gp("2026-01-19 09:00", "dr-A", "pt-1"),
        gp("2026-01-12 10:00", "dr-C", "pt-2"),
        gp("2026-02-09 09:00", "dr-B", "pt-1"),
        gp("2026-02-16 10:00", "dr-C", "pt-2"),
        gp("2026-02-23 10:00", "dr-B", "pt-2", status="dna"),  # missed: not seen
        gp("2026-02-24 10:00", "nurse-N", "pt-1", role="nurse"),  # not a GP appointment
        gp("2026-03-10 09:00", "dr-A", "pt-1"),
        gp("2026-03-11 09:00", "dr-A", "pt-3"),
        # 00:30 BST on 1 April is still 31 March in UTC: an April appointment
        gp("2026-04-01 00:30", "dr-B", "pt-1"),
        gp("2026-04-20 09:00", "dr-B", "pt-1"),
        gp("2026-05-11 09:00", "dr-B", "pt-1"),
    )


def test_slicc_usual_gp_changes(visits):
    c = continuity(visits)
    assert list(c.columns) == list(CONTINUITY_COLUMNS)
    c = c.set_index("month")
    assert list(c.index.month) == [1, 2, 3, 4, 5]
    jan = c.loc["2026-01-01"]
    assert (jan["gp_appointments"], jan["identified"], jan["with_usual_gp_known"]) == (3, 3, 0)
    assert math.isnan(jan["slicc"]) and "12 months before" in jan["note"]
    # Feb: pt-1's usual is Dr A (Jan: A twice) but saw B; pt-2's usual Dr C, saw C
    feb = c.loc["2026-02-01"]
    assert (feb["gp_appointments"], feb["with_usual_gp_known"], feb["with_usual_gp"]) == (2, 2, 1)
    assert feb["slicc"] == 0.5 and feb["note"] is None
    # Mar: pt-1's history A 2, B 1: saw A. pt-3 has no history and is left out
    mar = c.loc["2026-03-01"]
    assert (mar["gp_appointments"], mar["with_usual_gp_known"], mar["with_usual_gp"]) == (2, 1, 1)
    # Apr: history A 3, B 1: both visits to B miss the usual GP (the month itself never counts)
    apr = c.loc["2026-04-01"]
    assert (apr["gp_appointments"], apr["with_usual_gp_known"], apr["with_usual_gp"]) == (2, 2, 0)
    assert apr["slicc"] == 0.0
    # May: A 3, B 3, tied: the most recently seen, Dr B, is now usual
    may = c.loc["2026-05-01"]
    assert (may["with_usual_gp_known"], may["with_usual_gp"], may["slicc"]) == (1, 1, 1.0)
    assert not c["full_history"].any()  # the data starts in January


def test_slicc_window_and_no_look_ahead(visits):
    c = continuity(visits, window_months=2).set_index("month")
    # Mar's window is Jan-Feb (A 2, B 1): full history from March on
    assert list(c["full_history"]) == [False, False, True, True, True]
    # Apr's window Feb-Mar: B 1 (9 Feb), A 1 (10 Mar): tied, A seen last
    assert c.loc["2026-04-01", "with_usual_gp"] == 0
    # May's window Mar-Apr: A 1, B 2
    assert c.loc["2026-05-01", "slicc"] == 1.0
    before = continuity(visits[visits["start_utc"] < pd.Timestamp("2026-05-01", tz="UTC")]).set_index("month")
    after = continuity(visits).set_index("month")
    pd.testing.assert_frame_equal(before, after.loc[before.index])  # later visits change nothing before


def test_slicc_period_uses_earlier_history(visits):
    c = continuity(visits, start="2026-03-01").set_index("month")
    assert list(c.index.month) == [3, 4, 5]
    assert c.loc["2026-03-01", "slicc"] == 1.0  # pt-1's January visits still make Dr A usual


def test_slicc_named_gp(visits):
    c = continuity(visits, usual={"pt-1": "dr-A", "pt-2": "dr-D"}).set_index("month")
    jan = c.loc["2026-01-01"]
    assert (jan["with_usual_gp_known"], jan["with_usual_gp"]) == (3, 2)
    assert c.loc["2026-02-01", "slicc"] == 0.0
    assert c.loc["2026-03-01", "with_usual_gp_known"] == 1  # pt-3 has no named GP
    frame = pd.DataFrame({"patient_key": ["pt-1"], "clinician_key": ["dr-B"]})
    assert continuity(visits, usual=frame).set_index("month").loc["2026-05-01", "slicc"] == 1.0
    with pytest.raises(MetricsInputError):
        continuity(visits, usual="assigned")
    with pytest.raises(MetricsInputError):
        continuity(visits, window_months=0)


def test_slicc_without_pseudonyms_is_nan_with_a_note(visits):
    c = continuity(visits.drop(columns=["patient_key"]))
    assert c["slicc"].isna().all()
    assert (c["note"].str.contains("patient_key")).all()
    assert list(c["gp_appointments"]) == [3, 2, 2, 2, 1]
    blank = visits.assign(patient_key=pd.Series([None] * len(visits), dtype="string"))
    c = continuity(blank)
    assert c["slicc"].isna().all() and c["note"].str.contains("carries").all()
    assert (c["identified"] == 0).all()


def test_slicc_patients_are_per_practice(visits):
    # the same pseudonym at another practice is someone else: no history carries across
    other = visits.assign(practice_id="B82002").iloc[[7]]  # pt-1 with Dr A in March
    c = continuity(pd.concat([visits, other], ignore_index=True))
    b = c[c["practice_id"] == "B82002"].iloc[0]
    assert (b["gp_appointments"], b["with_usual_gp_known"]) == (1, 0)
    a = c[(c["practice_id"] == "A81001")].set_index("month")
    assert a.loc["2026-03-01", "slicc"] == 1.0
    assert np.array_equal(c["practice_id"].unique(), ["A81001", "B82002"])
