"""Rates per 1,000 patients and roll-ups, on hand-made frames worked out by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from demand.definitions import MetricsInputError
from demand.rates import list_size_as_of, period_start, rates_per_1000, roll_up, to_periods


def _registry():
    # P1 grows from 6,000 to 6,100 on 1 Feb; P2 has one undated row; P3 only from 1 March
    return pd.DataFrame(
        {
            "practice_id": ["P1", "P1", "P2", "P3"],
            "valid_from": pd.to_datetime(["2026-01-01", "2026-02-01", None, "2026-03-01"]).date,
            "list_size": [6000, 6100, 9000, 3000],
            "pcn_code": ["U1", "U1", "U1", "U2"],
            "pcn_name": ["North", "North", "North", "South"],
            "federation": ["Fed", "Fed", "Fed", "Fed"],
        }
    )


def _counts():
    return pd.DataFrame(
        {
            "practice_id": ["P1", "P2", "P3", "P1", "P2", "P3"],
            "period": pd.to_datetime(["2026-01-01"] * 3 + ["2026-03-01"] * 3),
            "inbound_calls": [3000, 5400, 200, 3050, 4500, 1800],
            "answered": [1500, 2700, 100, 1525, 2250, 900],
        }
    )


def test_period_start_weeks_from_monday_months_and_quarters():
    d = pd.Series(pd.to_datetime(["2026-01-04", "2026-01-05", "2026-05-31"]))  # Sun, Mon, Sun
    assert list(period_start(d, "week").dt.date) == [dt.date(2025, 12, 29), dt.date(2026, 1, 5), dt.date(2026, 5, 25)]
    assert list(period_start(d, "month").dt.date) == [dt.date(2026, 1, 1), dt.date(2026, 1, 1), dt.date(2026, 5, 1)]
    assert list(period_start(d, "quarter").dt.date) == [dt.date(2026, 1, 1), dt.date(2026, 1, 1), dt.date(2026, 4, 1)]
    with pytest.raises(MetricsInputError, match="Unknown period 'fortnight'"):
        period_start(d, "fortnight")


def test_list_size_is_the_registry_row_holding_on_the_day():
    keys = pd.DataFrame({"practice_id": ["P1", "P1", "P1", "P2", "P3", "P3"],
                         "period": pd.to_datetime(["2025-12-01", "2026-01-15", "2026-02-01", "2026-06-01", "2026-02-01", "2026-03-01"])})
    got = list_size_as_of(_registry(), keys)["list_size"]
    # before P1's first dated row: unknown; P3 not known before March (not guessed back)
    assert got.tolist() == [pd.NA, 6000, 6100, 9000, pd.NA, 3000]


def test_rates_per_1000_use_the_list_size_of_the_period():
    r = rates_per_1000(_counts(), _registry())
    jan = r[r["period"] == "2026-01-01"].set_index("practice_id")
    assert jan.loc["P1", "inbound_calls_per_1000"] == pytest.approx(500.0)  # 3000 / 6000
    assert jan.loc["P2", "answered_per_1000"] == pytest.approx(300.0)  # 2700 / 9000
    assert np.isnan(jan.loc["P3", "inbound_calls_per_1000"])  # no list size in January
    mar = r[r["period"] == "2026-03-01"].set_index("practice_id")
    assert mar.loc["P1", "inbound_calls_per_1000"] == pytest.approx(3050 / 6.1)
    assert mar.loc["P3", "inbound_calls_per_1000"] == pytest.approx(600.0)


def test_pcn_roll_up_is_sum_of_counts_over_sum_of_lists_not_a_mean_of_rates():
    up = roll_up(_counts(), _registry(), "pcn")
    mar = up[(up["period"] == "2026-03-01")].set_index("pcn_code")
    # North in March: (3050 + 4500) / (6100 + 9000) * 1000 = 500.0; the mean of the two
    # practices' rates (500 and 500) happens to agree, so check the federation, where it does not
    assert mar.loc["U1", "inbound_calls"] == 7550 and mar.loc["U1", "list_size"] == 15100
    assert mar.loc["U1", "inbound_calls_per_1000"] == pytest.approx(7550 / 15.1)
    fed = roll_up(_counts(), _registry(), "federation").set_index("period")
    # March: (3050 + 4500 + 1800) / (6100 + 9000 + 3000) = 9350 / 18.1 = 516.57..., while the
    # mean of rates (500, 500, 600) would be 533.3
    assert fed.loc[pd.Timestamp("2026-03-01"), "inbound_calls_per_1000"] == pytest.approx(9350 / 18.1)
    assert fed.loc[pd.Timestamp("2026-03-01"), "practices"] == 3
    # January: P3 has no list size yet, so the federation's rate is withheld, its counts kept
    assert fed.loc[pd.Timestamp("2026-01-01"), "inbound_calls"] == 8600
    assert pd.isna(fed.loc[pd.Timestamp("2026-01-01"), "list_size"]) and np.isnan(fed.loc[pd.Timestamp("2026-01-01"), "inbound_calls_per_1000"])


def test_roll_ups_add_up_to_the_practices():
    rng = np.random.default_rng(3)
    counts = pd.DataFrame({"practice_id": np.repeat(["P1", "P2", "P3"], 4),
                           "period": np.tile(pd.date_range("2026-03-01", periods=4, freq="MS"), 3),
                           "inbound_calls": rng.integers(0, 5000, 12)})
    pcn = roll_up(counts, _registry(), "pcn")
    fed = roll_up(counts, _registry(), "federation")
    assert pcn["inbound_calls"].sum() == fed["inbound_calls"].sum() == counts["inbound_calls"].sum()
    assert (pcn.groupby("period")["inbound_calls"].sum().to_numpy() == fed["inbound_calls"].to_numpy()).all()


def test_to_periods_sums_days_into_months_and_quarters():
    days = pd.DataFrame({"practice_id": ["P1"] * 4, "period": pd.to_datetime(["2026-03-30", "2026-03-31", "2026-04-01", "2026-04-02"]),
                         "inbound_calls": [10, 20, 30, 40]})
    m = to_periods(days, "month")
    assert m["inbound_calls"].tolist() == [30, 70]
    w = to_periods(days, "week")  # all four days are in the week of Monday 30 March
    assert w["inbound_calls"].tolist() == [100] and w["period"].iloc[0] == pd.Timestamp("2026-03-30")
    q = to_periods(days, "quarter")
    assert q["inbound_calls"].tolist() == [30, 70]


def test_unknown_level_is_refused():
    with pytest.raises(MetricsInputError, match="Unknown level 'icb'"):
        roll_up(_counts(), _registry(), "icb")


def test_a_registry_update_of_other_columns_keeps_the_list_size():
    reg = pd.DataFrame({"practice_id": ["P1", "P1"], "valid_from": pd.to_datetime(["2026-01-01", "2026-02-01"]).date,
                        "list_size": pd.array([6000, None], dtype="Int64"), "pcn_code": [None, "U9"]})
    keys = pd.DataFrame({"practice_id": ["P1", "P1"], "period": pd.to_datetime(["2026-01-01", "2026-02-01"])})
    got = list_size_as_of(reg, keys, ["list_size", "pcn_code"])
    assert got["list_size"].tolist() == [6000, 6000]
    assert got["pcn_code"].tolist() == ["U9", "U9"]  # before its first PCN row: that row's PCN
