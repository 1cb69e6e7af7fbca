"""The dated practices registry (:mod:`telephony.practices`): history, as-of reads, upserts."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from telephony.practices import (
    FILE_NAME,
    REGISTRY_COLUMNS,
    PracticeRegistryError,
    known_practices,
    read_registry,
    registry_history,
    update_registry,
    write_practices,
)


def _month_rows(month: str, sizes: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame({"practice_id": list(sizes), "valid_from": month, "list_size": list(sizes.values())})


def test_an_empty_store_has_every_registry_column(store):
    reg = read_registry(store)
    assert list(reg.columns) == list(REGISTRY_COLUMNS) and reg.empty
    assert list(registry_history(store).columns) == list(REGISTRY_COLUMNS)


def test_an_old_registry_file_without_the_new_columns_reads_as_always(store):
    old = pa.table(
        {"practice_id": ["A81001"], "name": ["Example Street Surgery"], "list_size": pa.array([6000], pa.int64())}
    )
    pq.write_table(old, store.root / FILE_NAME)
    reg = read_registry(store, as_of="2020-01-01")
    assert list(reg.columns) == list(REGISTRY_COLUMNS)
    assert reg.loc[0, "list_size"] == 6000 and pd.isna(reg.loc[0, "valid_from"]) and pd.isna(reg.loc[0, "icb_code"])
    # and an update keeps it while adding dated rows
    update_registry(store, _month_rows("2026-01-01", {"A81001": 6100}), source="test")
    assert len(registry_history(store)) == 2


def test_the_registry_as_of_a_day_takes_the_latest_value_of_each_column(store):
    write_practices(store, pd.DataFrame({"practice_id": ["A81001"], "name": ["Example Street Surgery"], "list_size": [5900]}))
    update_registry(store, _month_rows("2025-12-01", {"A81001": 6000}), source="dec")
    update_registry(store, _month_rows("2026-01-01", {"A81001": 6100, "A81002": 9000}), source="jan")
    update_registry(store, pd.DataFrame({"practice_id": ["A81001"], "valid_from": ["2026-01-01"], "icb_code": ["QHM"]}), source="icb")

    latest = read_registry(store).set_index("practice_id")
    assert latest.loc["A81001", "list_size"] == 6100
    assert latest.loc["A81001", "name"] == "Example Street Surgery"  # kept from the undated row
    assert latest.loc["A81001", "icb_code"] == "QHM"
    assert latest.loc["A81001", "valid_from"] == pd.Timestamp("2026-01-01")

    dec = read_registry(store, as_of=dt.date(2025, 12, 31)).set_index("practice_id")
    assert list(dec.index) == ["A81001"]  # A81002 has no row valid by then
    assert dec.loc["A81001", "list_size"] == 6000 and pd.isna(dec.loc["A81001", "icb_code"])
    assert read_registry(store, as_of="2025-11-30").loc[0, "list_size"] == 5900


def test_an_update_counts_rows_added_changed_and_unchanged_and_only_non_null_values_overwrite(store):
    first = update_registry(store, _month_rows("2026-01-01", {"A81001": 6100, "A81002": 9000}), source="jan")
    assert (first.added, first.changed, first.unchanged, first.practices) == (2, 0, 0, 2)
    again = pd.DataFrame(
        {"practice_id": ["a81001", "A81002"], "valid_from": ["2026-01-01"] * 2, "list_size": [6150, None], "rural": [None, 0.4]}
    )
    second = update_registry(store, again, source="fix")
    assert (second.added, second.changed, second.unchanged) == (0, 2, 0)
    hist = registry_history(store).set_index("practice_id")
    assert hist.loc["A81001", "list_size"] == 6150 and hist.loc["A81002", "list_size"] == 9000
    assert hist.loc["A81002", "rural"] == 0.4
    third = update_registry(store, again, source="fix")
    assert (third.added, third.changed, third.unchanged) == (0, 0, 2)


@pytest.mark.parametrize(
    "column, value, words",
    [
        ("age_0_4", 1.2, "age_0_4 1.2 is not a share"),
        ("deprivation_decile", 11, "deprivation_decile 11 is not 1-10"),
        ("list_size", -3, "list_size -3 is negative"),
        ("nation", "FRA", "nation 'FRA' is not one of ENG"),
        ("valid_from", "soon", "valid_from 'soon' is not a date"),
        ("practice_id", "A8-1", "is not an ODS code"),
    ],
)
def test_bad_values_are_refused_naming_the_row(store, column, value, words):
    frame = pd.DataFrame({"practice_id": ["A81001", "A81002"], "list_size": [6000, 9000]})
    frame[column] = [None, value] if column != "practice_id" else ["A81001", value]
    with pytest.raises(PracticeRegistryError) as err:
        update_registry(store, frame, source="bad.csv")
    assert "row 2" in str(err.value) and words in str(err.value) and "bad.csv" in str(err.value)
    assert not (store.root / FILE_NAME).exists()


def test_unknown_columns_and_repeated_rows_are_refused(store):
    with pytest.raises(PracticeRegistryError, match="unknown registry column.*list_sise"):
        update_registry(store, pd.DataFrame({"practice_id": ["A81001"], "list_sise": [1]}), source="x")
    twice = pd.DataFrame({"practice_id": ["A81001", "A81001"], "valid_from": ["2026-01-01", "2026-01-01"]})
    with pytest.raises(PracticeRegistryError, match=r"A81001 \(2026-01-01\) given twice"):
        update_registry(store, twice, source="x")


def test_write_practices_replaces_a_practice_whole_and_known_practices_still_work(store):
    update_registry(store, _month_rows("2026-01-01", {"A81001": 6100, "A81002": 9000}), source="jan")
    write_practices(store, pd.DataFrame({"practice_id": ["A81001"], "name": ["Example Street Surgery"]}))
    hist = registry_history(store)
    assert list(hist["practice_id"]) == ["A81001", "A81002"]
    assert pd.isna(hist.loc[0, "list_size"]) and pd.isna(hist.loc[0, "valid_from"])
    assert known_practices(store) == {"A81001", "A81002"}
