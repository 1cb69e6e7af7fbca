"""Small-number suppression: small counts hidden, and no hidden count recoverable from totals."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from demand.suppression import Lines, SuppressionError, recoverable, suppress, suppression_mask

PARTS = Lines(parts={"inbound_calls": ("answered", "ended_ivr", "callback_requested", "missed", "other")})
CATS = ["inbound_calls", "answered", "ended_ivr", "callback_requested", "missed", "other"]


def _practices():
    return pd.DataFrame(
        {
            "practice_id": ["P1", "P2", "P3"],
            "period": pd.Timestamp("2026-01-05"),
            "inbound_calls": [100, 200, 50],
            "answered": [60, 120, 30],
            "ended_ivr": [25, 50, 10],
            "callback_requested": [3, 20, 6],  # P1's 3 is small
            "missed": [12, 10, 4],  # P3's 4 is small
            "other": [0, 0, 0],
        }
    )


def test_a_small_count_is_shown_as_under_five_and_its_row_protected():
    t = _practices()
    out = suppress(t, CATS, PARTS)
    assert out.loc[0, "callback_requested"] == "<5"
    # 100 - 60 - 25 - 12 - 0 = 3: one more cell of P1's row must go, the smallest shown one
    # (other = 0 is smallest)
    assert out.loc[0, "other"] == "*"
    assert out.loc[2, "missed"] == "<5" and out.loc[2, "other"] == "*"
    assert out.loc[1].tolist()[2:] == [200, 120, 50, 20, 10, 0]  # nothing small in P2: all shown
    mask = suppression_mask(t, CATS, PARTS)
    assert recoverable(t, mask, PARTS) == []


def test_without_complementary_cells_the_small_count_would_be_recovered():
    t = _practices()
    only_small = suppression_mask(t, CATS, PARTS).replace("complement", "")
    assert (0, "callback_requested") in recoverable(t, only_small, PARTS)


def test_practices_adding_up_to_a_published_total_are_protected_across_rows():
    # the federation's total per period is published: a practice's small count must not be
    # its total minus the other practices'
    t = pd.DataFrame({"practice_id": ["P1", "P2", "P3", "P4"], "period": "W1", "callback_requested": [3, 40, 9, 17]})
    lines = Lines(groups=[("period",)])
    out = suppress(t, ["callback_requested"], lines)
    assert out["callback_requested"].tolist() == ["<5", 40, "*", 17]  # 9 is the smallest other
    assert recoverable(t, suppression_mask(t, ["callback_requested"], lines), lines) == []


def test_rows_and_groups_together_leave_nothing_recoverable_on_random_tables():
    rng = np.random.default_rng(12)
    lines = Lines(parts=PARTS.parts, groups=[("period",), ("period", "pcn")])
    for trial in range(15):
        n = 6
        parts = rng.choice([0, 1, 2, 3, 4, 6, 9, 15, 40, 120], size=(n, 5), p=[0.1, 0.1, 0.1, 0.05, 0.05, 0.1, 0.1, 0.1, 0.15, 0.15])
        t = pd.DataFrame(parts, columns=CATS[1:])
        t.insert(0, "inbound_calls", parts.sum(axis=1))
        t["period"] = "W1"
        t["pcn"] = ["U1", "U1", "U1", "U2", "U2", "U2"]
        mask = suppression_mask(t, CATS, lines)
        assert recoverable(t, mask, lines) == [], trial
        small = (t[CATS] > 0) & (t[CATS] < 5)
        assert ((mask == "small") == small).all().all()


def test_recovery_is_impossible_by_brute_force_on_a_small_table():
    # every table of non-negative integers consistent with what is shown and the published sums
    # (row totals, column totals): each hidden cell must take more than one value among them
    t = pd.DataFrame({"g": "x", "a": [3, 7, 12], "b": [8, 2, 30]})
    t["total"] = t["a"] + t["b"]
    lines = Lines(parts={"total": ("a", "b")}, groups=[("g",)])
    cols = ["total", "a", "b"]
    mask = suppression_mask(t, cols, lines)
    hidden = [(r, c) for r in range(3) for c in cols if mask.loc[r, c] != ""]
    assert 2 <= len(hidden) <= 4
    grids = np.meshgrid(*[np.arange(41, dtype="int16")] * len(hidden), indexing="ij")
    guesses = np.stack([g.ravel() for g in grids], axis=1)
    ok = np.ones(len(guesses), dtype=bool)
    base = t[cols].to_numpy(dtype="int64")
    def cell(r, c):  # each cell of the table as a vector over the guesses
        if (r, c) in hidden:
            return guesses[:, hidden.index((r, c))].astype("int64")
        return np.full(len(guesses), base[r, cols.index(c)])
    for r in range(3):
        ok &= cell(r, "a") + cell(r, "b") == cell(r, "total")
    for j, c in enumerate(cols):
        ok &= sum(cell(r, c) for r in range(3)) == base[:, j].sum()
    consistent = guesses[ok]
    assert len(consistent) > 1
    for k in range(len(hidden)):
        assert len(np.unique(consistent[:, k])) > 1, hidden[k]
    # and the true table is among them
    truth = np.array([base[r, cols.index(c)] for r, c in hidden])
    assert (consistent == truth).all(axis=1).any()


def test_rates_from_hidden_counts_are_withheld():
    t = _practices()
    t["list_size"] = [6000, 9000, 3000]
    t["callback_requested_per_1000"] = t["callback_requested"] / t["list_size"] * 1000
    t["answered_share"] = t["answered"] / t["inbound_calls"]
    out = suppress(t, CATS, PARTS, rates={"callback_requested_per_1000": ("callback_requested",), "answered_share": ("answered", "inbound_calls")})
    assert out["callback_requested_per_1000"].tolist()[0] == "*"
    assert out["callback_requested_per_1000"].tolist()[1] == pytest.approx(20 / 9)
    assert out["answered_share"].tolist() == [0.6, 0.6, 0.6]


def test_zeros_are_shown_unless_asked():
    t = pd.DataFrame({"a": [0, 7]})
    assert suppress(t, ["a"])["a"].tolist() == [0, 7]
    assert suppress(t, ["a"], zeros=True)["a"].tolist() == ["<5", 7]


def test_a_missing_column_is_named():
    with pytest.raises(SuppressionError, match="no column missed"):
        suppress(pd.DataFrame({"a": [1]}), ["a", "missed"])
