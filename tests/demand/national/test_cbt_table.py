"""The national CBT table in the store (:func:`write_national_cbt`, :func:`read_national_cbt`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from demand.national.cbt import CBT_COLUMNS, COUNT_COLUMNS, NationalDataError, read_national_cbt, write_national_cbt


def cbt_rows(month: str, practices: list[str], seed: int = 0, source: str = "test.xlsx") -> pd.DataFrame:
    """Plausible CBT rows: outcomes that share out the inbound calls, bands that share out theirs."""
    rng = np.random.default_rng(seed)
    rows = []
    for pid in practices:
        inbound = int(rng.integers(2000, 9000))
        ans, ivr, cb, miss = (rng.dirichlet([55, 26, 8, 11]) * inbound).astype(int)
        row = {c: None for c in CBT_COLUMNS}
        row.update(
            month=month, practice_id=pid, practice_name=f"{pid} Surgery", unassigned=pid == "Unassigned",
            inbound_calls=inbound, answered=ans, ended_ivr=ivr, callback_requested=cb, missed=miss,
            callback_made=int(cb * 0.9), icb_code="QHM", source=source,
        )
        for group, total in (("answer", ans), ("length", ans), ("missed", miss)):
            parts = (rng.dirichlet([4, 3, 2, 1]) * total).astype(int)
            row.update({f"{group}_{b}": int(v) for b, v in zip(("lt_1m", "1_2m", "2_5m", "gt_5m"), parts)})
        rows.append(row)
    return pd.DataFrame(rows)


def test_an_empty_store_has_the_columns(store):
    df = read_national_cbt(store)
    assert list(df.columns) == list(CBT_COLUMNS) and df.empty


def test_months_accumulate_and_a_month_ingested_again_is_replaced(store):
    assert write_national_cbt(store, cbt_rows("2025-12-01", ["A99001", "A99002", "Unassigned"])) == 3
    write_national_cbt(store, cbt_rows("2026-01-01", ["A99001", "A99002"], seed=1))
    assert len(read_national_cbt(store)) == 5
    again = cbt_rows("2026-01-01", ["A99001"], seed=2, source="revised.xlsx")
    write_national_cbt(store, again)
    df = read_national_cbt(store)
    jan = df[df["month"] == pd.Timestamp("2026-01-01")]
    assert list(jan["practice_id"]) == ["A99001"] and list(jan["source"]) == ["revised.xlsx"]
    assert jan["inbound_calls"].iloc[0] == again["inbound_calls"].iloc[0]
    dec = read_national_cbt(store, months=["2025-12"])
    assert list(dec["practice_id"]) == ["A99001", "A99002", "Unassigned"]  # unassigned last
    assert dec["unassigned"].tolist() == [False, False, True]
    assert all(str(dec[c].dtype) == "Int64" for c in COUNT_COLUMNS)


@pytest.mark.parametrize(
    "column, value, words",
    [("month", "2026-01-15", "not the first day of a month"), ("answered", -1, "not a count"), ("missed", 2.5, "not a count")],
)
def test_bad_rows_are_refused_and_nothing_is_written(store, column, value, words):
    rows = cbt_rows("2026-01-01", ["A99001", "A99002"])
    rows[column] = rows[column].astype(object)
    rows.loc[1, column] = value
    with pytest.raises(NationalDataError, match=f"row 2: .*{words}"):
        write_national_cbt(store, rows)
    assert read_national_cbt(store).empty


def test_missing_columns_and_a_practice_twice_are_refused(store):
    with pytest.raises(NationalDataError, match="needs column.*inbound_calls"):
        write_national_cbt(store, cbt_rows("2026-01-01", ["A99001"]).drop(columns=["inbound_calls"]))
    with pytest.raises(NationalDataError, match="A99001 2026-01 given twice|given twice.*A99001 2026-01"):
        write_national_cbt(store, cbt_rows("2026-01-01", ["A99001", "A99001"]))
