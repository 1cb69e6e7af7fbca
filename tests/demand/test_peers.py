"""Most-alike peers and positions among peers and England, on hand-made practices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from demand.peers import (
    PeerError,
    cbt_measures,
    explain_peers,
    national_position,
    national_totals,
    nearest_peers,
    percentile_among,
    standardise,
)
from telephony.practices import PEER_FEATURES


def _practice(pid, size, students=0.01, care=0.005, depr=5, rural=0.1, young=0.40, old=0.08):
    # age shares: young adults vs 75+, the rest split evenly so that they sum to 1
    rest = (1 - young - old) / 4
    return {"practice_id": pid, "list_size": size, "age_0_4": rest, "age_5_14": rest, "age_15_44": young,
            "age_45_64": rest, "age_65_74": rest, "age_75_plus": old, "deprivation_decile": depr,
            "rural": rural, "share_students": students, "share_care_home": care}


def _federation():
    return pd.DataFrame([
        _practice("STU1", 20000, students=0.55, young=0.75, old=0.01, depr=4),   # student practices
        _practice("STU2", 18000, students=0.50, young=0.72, old=0.02, depr=5),
        _practice("STU3", 25000, students=0.60, young=0.78, old=0.01, depr=3),
        _practice("CARE", 8000, care=0.06, young=0.25, old=0.20, depr=7),        # care-home heavy
        _practice("RUR1", 5000, rural=0.95, young=0.30, old=0.14, depr=8),       # rural
        _practice("RUR2", 5500, rural=0.90, young=0.31, old=0.13, depr=8),
        _practice("URB1", 9000, depr=1, young=0.45, old=0.05),                  # deprived urban
        _practice("URB2", 11000, depr=1, young=0.47, old=0.05),
        _practice("MID1", 7000), _practice("MID2", 7500), _practice("MID3", 6500),
    ])


def test_a_student_practice_finds_student_practices_not_its_neighbours():
    peers = nearest_peers(_federation(), "STU1", k=2)
    assert set(peers["practice_id"]) == {"STU2", "STU3"}
    assert peers["rank"].tolist() == [1, 2]
    assert peers["distance"].is_monotonic_increasing
    assert "students" in peers["alike_on"].iloc[0]


def test_weights_change_who_is_alike():
    # on rurality alone a rural practice's nearest is the other rural one; on list size alone the
    # care-home practice (8,000) is nearest the 7,500-patient one, not a care-home-like practice
    only_rural = {f: 0.0 for f in PEER_FEATURES} | {"rural": 1.0}
    assert nearest_peers(_federation(), "RUR1", k=1, weights=only_rural)["practice_id"].tolist() == ["RUR2"]
    size_only = {f: 0.0 for f in PEER_FEATURES} | {"list_size": 1.0}
    assert nearest_peers(_federation(), "CARE", k=1, weights=size_only)["practice_id"].tolist() == ["MID2"]  # 7,500 vs 8,000


def test_explanation_says_which_features_made_them_alike():
    f = _federation()
    peers = nearest_peers(f, "STU1", k=2)["practice_id"]
    ex = explain_peers(f, "STU1", peers).set_index("feature")
    assert ex.loc["students", "verdict"] == "made them alike"
    assert ex.loc["students", "peers_median"] == pytest.approx(0.55)
    assert ex.loc["students", "practice"] == pytest.approx(0.55)
    assert ex.loc["students", "all_median"] == pytest.approx(0.01)
    assert ex.iloc[0]["verdict"] == "made them alike"  # alike features first


def test_standardise_uses_log_list_size_and_leaves_unknowns_unknown():
    f = pd.DataFrame([_practice("A", 1000), _practice("B", 10000), _practice("C", 100000)])
    f.loc[2, "rural"] = np.nan
    z = standardise(f)
    assert z.loc["B", "list_size"] == pytest.approx(0.0)  # the log-scale middle
    assert z.loc["A", "list_size"] == pytest.approx(-z.loc["C", "list_size"])
    assert np.isnan(z.loc["C", "rural"])
    assert (z["share_students"] == 0).all()  # no spread: everyone is average


def test_unknown_features_are_left_out_of_the_distance_not_taken_as_zero():
    f = _federation()
    f.loc[f["practice_id"] == "STU2", "share_students"] = np.nan
    peers = nearest_peers(f, "STU1", k=2)
    assert set(peers["practice_id"]) == {"STU2", "STU3"}


def test_errors_say_what_to_do():
    with pytest.raises(PeerError, match="X99999 is not among the 11 practices"):
        nearest_peers(_federation(), "X99999")
    with pytest.raises(PeerError, match="Unknown peer feature.*age.*Peer features: list_size"):
        nearest_peers(_federation(), "STU1", weights={"age": 1})
    blank = _federation()
    blank.loc[0, list(PEER_FEATURES)] = np.nan
    with pytest.raises(PeerError, match="No peer feature is known for STU1"):
        nearest_peers(blank, "STU1")


def test_percentile_is_mid_rank():
    v = pd.Series([10.0, 20.0, 20.0, 30.0, np.nan], index=["A", "B", "C", "D", "E"])
    assert percentile_among(v, "A") == 0.0
    assert percentile_among(v, "D") == 100.0
    assert percentile_among(v, "B") == pytest.approx(100 * 1.5 / 3)  # one below, one tie
    assert np.isnan(percentile_among(v, "E"))


def _national():
    rows = []
    for i, (inb, ans) in enumerate([(1000, 500), (2000, 1200), (500, 200), (3000, 1800)]):
        rows.append({"month": pd.Timestamp("2026-01-01"), "practice_id": f"P{i}", "unassigned": False,
                     "inbound_calls": inb, "answered": ans, "ended_ivr": inb // 4, "callback_requested": inb // 10,
                     "missed": inb - ans - inb // 4 - inb // 10})
    rows.append({"month": pd.Timestamp("2026-01-01"), "practice_id": "Unassigned", "unassigned": True,
                 "inbound_calls": 700, "answered": 0, "ended_ivr": 0, "callback_requested": 0, "missed": 0})
    t = pd.DataFrame(rows)
    for c in ("inbound_calls", "answered", "ended_ivr", "callback_requested", "missed"):
        t[c] = t[c].astype("Int64")
    return t


def test_national_comparison_leaves_out_unassigned_rows_and_totals_keep_them():
    reg = pd.DataFrame({"practice_id": ["P0", "P1", "P2", "P3"], "list_size": [2000, 4000, 2000, 5000]})
    m = cbt_measures(_national(), reg)
    assert "Unassigned" not in set(m["practice_id"])
    assert m.set_index("practice_id").loc["P1", "inbound_calls_per_1000"] == pytest.approx(500.0)
    pos = national_position(m, "P1", peers=["P0", "P3"]).set_index("measure")
    # answered shares: P0 .5, P1 .6, P2 .4, P3 .6 -> P1 above P0 and P2, tied with P3
    assert pos.loc["answered_share", "england_percentile"] == pytest.approx(100 * 2.5 / 3)
    assert pos.loc["answered_share", "practices"] == 4
    assert pos.loc["answered_share", "peers_percentile"] == pytest.approx(100 * 1.5 / 2)
    tot = national_totals(_national())
    assert tot["inbound_calls"].iloc[0] == 7200 and tot["practices"].iloc[0] == 4
    assert tot["unassigned_share"].iloc[0] == pytest.approx(700 / 7200)
    with pytest.raises(PeerError, match="Z1 is not in the national CBT table"):
        national_position(m, "Z1")
