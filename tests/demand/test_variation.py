"""Funnel plots and SPC charts with the Making Data Count rules, on hand-made figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from demand.variation import VariationError, funnel, funnel_curve, spc


def _practices():
    # pooled answered share: (5000 + 2000 + 300 + 700) / (10000 + 4000 + 1000 + 1000) = 0.5
    return pd.DataFrame({"practice_id": ["BIG", "MID", "LOW", "HIGH"], "answered": [5000, 2000, 300, 700],
                         "inbound_calls": [10000, 4000, 1000, 1000]})


def test_funnel_limits_narrow_with_volume_and_flag_outliers_by_the_widest_limit_crossed():
    f = funnel(_practices(), "answered", "inbound_calls").set_index("practice_id")
    assert f["target"].iloc[0] == pytest.approx(0.5)
    # large n: close to the normal approximation 0.5 +- z * sqrt(0.25 / n)
    assert f.loc["BIG", "upper_95"] == pytest.approx(0.5 + 1.96 * 0.005, abs=2e-4)
    assert f.loc["BIG", "lower_99.8"] == pytest.approx(0.5 - 3.09 * 0.005, abs=3e-4)
    assert f.loc["MID", "upper_95"] > f.loc["BIG", "upper_95"]  # the funnel widens for smaller practices
    assert f.loc["LOW", "flag"] == "below 99.8% limit" and f.loc["HIGH", "flag"] == "above 99.8% limit"
    assert f.loc["BIG", "flag"] == "" and f.loc["MID", "flag"] == ""
    assert f.index.tolist() == ["LOW", "HIGH", "MID", "BIG"]  # by denominator


def test_a_point_between_the_95_and_998_limits_is_flagged_at_95():
    t = pd.DataFrame({"practice_id": ["A", "B"], "answered": [530, 4970], "inbound_calls": [1000, 10000]})
    f = funnel(t, "answered", "inbound_calls", target=0.5).set_index("practice_id")
    # A: 0.53 with n = 1000: sd 0.0158, z = 1.9 -> inside 95%; make it 0.54 -> z = 2.53
    assert f.loc["A", "flag"] == ""
    t.loc[0, "answered"] = 540
    f = funnel(t, "answered", "inbound_calls", target=0.5).set_index("practice_id")
    assert f.loc["A", "flag"] == "above 95% limit"


def test_rate_funnel_by_list_size_uses_poisson_limits():
    t = pd.DataFrame({"practice_id": ["A", "B", "C"], "inbound_calls": [600, 6000, 900], "list_size": [1000, 10000, 1000]})
    f = funnel(t, "inbound_calls", "list_size", kind="rate").set_index("practice_id")
    assert f["target"].iloc[0] == pytest.approx(7500 / 12000 * 1000)  # pooled, per 1,000
    assert f.loc["C", "value"] == pytest.approx(900.0)
    # Poisson: mean 625 calls at 1,000 patients, sd 25 -> 99.8% upper about 625 + 3.09 * 25
    assert f.loc["C", "upper_99.8"] == pytest.approx(625 + 3.09 * 25, rel=0.01)
    assert f.loc["C", "flag"] == "above 99.8% limit"


def test_funnel_curve_and_errors():
    c = funnel_curve(0.5, [100, 10000], points=20)
    assert c["denominator"].iloc[0] == 100 and c["denominator"].iloc[-1] == 10000
    width = c["upper_95"] - c["lower_95"]
    assert width.is_monotonic_decreasing
    with pytest.raises(VariationError, match="no column answered_calls"):
        funnel(_practices(), "answered_calls", "inbound_calls")
    with pytest.raises(VariationError, match="larger than inbound_calls"):
        funnel(pd.DataFrame({"practice_id": ["A"], "answered": [11], "inbound_calls": [10]}), "answered", "inbound_calls")


def _series(values):
    return pd.DataFrame({"period": pd.date_range("2026-01-05", periods=len(values), freq="W-MON"), "value": values})


def test_spc_limits_are_mean_plus_minus_2_66_moving_ranges():
    s = spc(_series([10, 12, 10, 12, 10, 12, 10, 12]))
    # mean 11, mean moving range 2 -> sigma 2/1.128, limits 11 +- 5.32
    assert s["mean"].iloc[0] == pytest.approx(11.0)
    assert s["upper"].iloc[0] == pytest.approx(11 + 3 * 2 / 1.128)
    assert not s["special_cause"].any()  # alternating around the mean: common cause only


def test_a_point_beyond_the_limits():
    s = spc(_series([10, 12, 10, 12, 30, 12, 10, 12, 10, 12]))
    assert s.loc[4, "rules"] == "beyond_limits" and s.loc[4, "side"] == "high"
    assert s["special_cause"].sum() == 1


def test_a_run_of_seven_on_one_side_flags_every_point_of_it_and_the_length_is_configurable():
    values = [12, 10, 12, 10] + [11.5] * 7 + [10, 12]
    s = spc(_series(values))
    flagged = s.index[s["rules"].str.contains("run")].tolist()
    assert flagged == list(range(4, 11))
    assert set(s.loc[flagged, "side"]) == {"high"}
    # six in a row is not a run of seven; with run=6 it is
    s6 = spc(_series(values[:10] + [10, 12]))
    assert not s6["rules"].str.contains("run").any()
    assert spc(_series(values[:10] + [10, 12]), run=6)["rules"].str.contains("run").any()


def test_a_trend_of_six_up():
    s = spc(_series([10, 14, 10, 14, 9, 10, 11, 12, 13, 14, 10, 14]))
    flagged = s.index[s["rules"].str.contains("trend")].tolist()
    assert flagged == [4, 5, 6, 7, 8, 9]
    assert spc(_series([10, 14, 10, 14, 10, 11, 12, 13, 14, 10]))["rules"].str.contains("trend").sum() == 0  # five only


def test_two_of_three_near_the_limit():
    # limits from a calm baseline (mean 10.5, sigma 1 / 1.128), then two of three points past 2 sigma
    calm = [10, 11] * 6
    s2 = spc(_series(calm + [12.5, 10, 12.5]), baseline=len(calm))
    assert s2["upper_2sigma"].iloc[0] == pytest.approx(10.5 + 2 / 1.128)
    assert s2.index[s2["rules"].str.contains("near_limits")].tolist() == [12, 14]
    assert set(s2.loc[[12, 14], "side"]) == {"high"}


def test_spc_needs_two_values():
    with pytest.raises(VariationError, match="at least two values"):
        spc(_series([5.0]))
