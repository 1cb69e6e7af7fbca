"""The CBT publication workbook (:func:`read_cbt_workbook`) and ``frontdoor ingest cbt``.

The workbooks are written by :mod:`tests.demand.national.cbt_workbook` in the publication's
layout; the expected figures are the generator's own rows, not the reader's.
"""

from __future__ import annotations

import datetime as dt

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from cli import main
from demand.national.cbt import (
    CBT_COLUMNS,
    COUNT_COLUMNS,
    NationalDataError,
    ingest_cbt,
    read_cbt_workbook,
    read_national_cbt,
)
from telephony.practices import read_registry, update_registry
from tests.demand.national.cbt_workbook import practice_rows, write_cbt_workbook

JAN = dt.date(2026, 1, 1)


def _expected(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows).set_index("practice_id")


@pytest.mark.parametrize("split", [False, True], ids=["table 4", "tables 4a and 4b"])
def test_every_count_of_every_practice_is_read_from_tables_3_4_and_5(tmp_path, split):
    rows = practice_rows(JAN, n=6, seed=1, unassigned=0)
    write_cbt_workbook(tmp_path / "cbt.xlsx", rows, split_table_4=split)
    df = read_cbt_workbook(tmp_path / "cbt.xlsx")
    assert list(df.columns) == list(CBT_COLUMNS)
    assert list(df["practice_id"]) == [f"A99{i:03d}" for i in range(1, 7)]  # no national Total, no notes
    exp = _expected(rows)
    got = df.set_index("practice_id")
    for c in COUNT_COLUMNS:
        assert got[c].astype(int).tolist() == exp[c].tolist(), c
    assert (df["month"] == pd.Timestamp("2026-01-01")).all() and (df["source"] == "cbt.xlsx").all()
    a = got.loc["A99001"]
    # footnote markers and double spaces are gone from the headers; names keep one space
    assert (a["practice_name"], a["pcn_code"], a["icb_code"], a["region_name"]) == (
        "Invented Surgery 1", "U99000", "Q99", "Invented Region")


def test_unassigned_rows_are_kept_apart_and_count_in_national_totals(tmp_path):
    rows = practice_rows(JAN, n=4, seed=2, unassigned=2)
    write_cbt_workbook(tmp_path / "cbt.xlsx", rows)
    df = read_cbt_workbook(tmp_path / "cbt.xlsx")
    un = df[df["unassigned"]]
    assert len(un) == 2 and set(un["practice_id"]) == {"Unassigned"}
    assert un["region_code"].isna().sum() == 1  # the Unmapped one has no region
    assert int(df["inbound_calls"].sum()) == sum(r["inbound_calls"] for r in rows)
    assert list(df["unassigned"]) == [False] * 4 + [True] * 2


def test_a_month_written_as_text_is_read(tmp_path):
    rows = practice_rows(dt.date(2025, 11, 1), n=2, seed=3, unassigned=0)
    write_cbt_workbook(tmp_path / "a.xlsx", rows, month_label="November 2025", month_cell="Nov-25")
    assert set(read_cbt_workbook(tmp_path / "a.xlsx")["month"]) == {pd.Timestamp("2025-11-01")}


def test_a_practice_code_that_is_not_an_ods_code_names_file_sheet_and_row(tmp_path):
    rows = practice_rows(JAN, n=3, seed=4, unassigned=0)
    write_cbt_workbook(tmp_path / "cbt.xlsx", rows)
    wb = openpyxl.load_workbook(tmp_path / "cbt.xlsx")
    ws = wb["Table 3"]
    bad_row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 2).value == "A99002")
    ws.cell(bad_row, 2).value = "A99-02"
    ws.cell(bad_row + 1, 13).value = "lots"  # the next practice's answered count
    wb.save(tmp_path / "cbt.xlsx")
    with pytest.raises(NationalDataError) as err:
        read_cbt_workbook(tmp_path / "cbt.xlsx")
    assert str(err.value) == (
        f"cbt.xlsx, sheet 'Table 3', row {bad_row}: 'A99-02' in column 'GP Practice (ODS_CODE)' is not a practice "
        "ODS code (nor Total or Unassigned)"
    )
    ws.cell(bad_row, 2).value = "A99002"
    wb.save(tmp_path / "cbt.xlsx")
    with pytest.raises(NationalDataError, match=rf"sheet 'Table 3', row {bad_row + 1}, column 'Answered / Count': 'lots' is not a count"):
        read_cbt_workbook(tmp_path / "cbt.xlsx")


def test_a_workbook_without_practice_tables_is_refused(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["Appointments in General Practice"])
    wb.save(tmp_path / "other.xlsx")
    with pytest.raises(NationalDataError, match="other.xlsx: no per-practice table"):
        read_cbt_workbook(tmp_path / "other.xlsx")
    (tmp_path / "notes.xlsx").write_text("not a workbook")
    with pytest.raises(NationalDataError, match="notes.xlsx: not a readable .xlsx workbook"):
        read_cbt_workbook(tmp_path / "notes.xlsx")


def test_monthly_files_make_a_trend_a_month_again_replaces_it_and_the_registry_is_filled_where_empty(tmp_path, store):
    update_registry(store, pd.DataFrame({"practice_id": ["A99001"], "name": ["Our Own Name"], "pcn_code": ["U12345"]}), source="mine")
    dec = practice_rows(dt.date(2025, 12, 1), n=3, seed=5)
    jan = practice_rows(JAN, n=3, seed=6)
    write_cbt_workbook(tmp_path / "dec.xlsx", dec, month_label="December 2025")
    write_cbt_workbook(tmp_path / "jan.xlsx", jan)
    first = ingest_cbt(store, tmp_path / "dec.xlsx")
    assert first.summary().startswith("dec.xlsx: 2025-12: 3 practice(s) and 2 unassigned row(s)")
    ingest_cbt(store, tmp_path / "jan.xlsx")
    trend = read_national_cbt(store)
    assert trend.groupby("month")["practice_id"].count().tolist() == [5, 5]
    revised = practice_rows(JAN, n=2, seed=7, unassigned=0)
    write_cbt_workbook(tmp_path / "jan_v2.xlsx", revised)
    ingest_cbt(store, tmp_path / "jan_v2.xlsx")
    now = read_national_cbt(store, months=["2026-01"])
    assert list(now["practice_id"]) == ["A99001", "A99002"] and set(now["source"]) == {"jan_v2.xlsx"}
    assert len(read_national_cbt(store, months=["2025-12"])) == 5
    reg = read_registry(store).set_index("practice_id")
    assert reg.loc["A99001", "name"] == "Our Own Name" and reg.loc["A99001", "pcn_code"] == "U12345"  # never overwritten
    assert reg.loc["A99001", "icb_code"] == "Q99"  # filled where empty
    assert reg.loc["A99003", "name"] == "Invented Surgery 3" and "Unassigned" not in reg.index


def test_the_command_ingests_each_file_and_says_what_it_did(tmp_path, key):
    write_cbt_workbook(tmp_path / "jan.xlsx", practice_rows(JAN, n=3, seed=8, unassigned=1))
    res = CliRunner().invoke(main, ["ingest", "cbt", str(tmp_path / "jan.xlsx"), "--store", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == (
        "jan.xlsx: 2026-01: 3 practice(s) and 1 unassigned row(s) into the national CBT table (the month replaced); "
        "registry: hierarchy filled where empty for 3 practice(s)"
    )
    # progress, sheet by sheet, on stderr
    assert "jan.xlsx, sheet 'Table 1': no practices" in res.stderr and "jan.xlsx, sheet 'Table 3': 4 practice rows" in res.stderr
    res = CliRunner().invoke(main, ["ingest", "cbt", str(tmp_path / "missing.xlsx"), "--store", str(tmp_path / "s")])
    assert res.exit_code == 1 and "missing.xlsx: no such file" in res.output


def test_a_band_whose_kind_neither_its_group_nor_the_title_names_is_refused(tmp_path):
    write_cbt_workbook(tmp_path / "cbt.xlsx", practice_rows(JAN, n=2, seed=9, unassigned=0))
    wb = openpyxl.load_workbook(tmp_path / "cbt.xlsx")
    ws = wb["Table 5"]
    ws["A1"] = "Table 5: by GP practice, January 2026"  # the title no longer says "missed"
    for row in ws.iter_rows():
        for cell in row:
            if cell.value == "Missed calls":
                cell.value = "Calls"
    wb.save(tmp_path / "cbt.xlsx")
    with pytest.raises(NationalDataError, match="sheet 'Table 5': column 'Calls / Less than 1 minute / Count' is a band of neither"):
        read_cbt_workbook(tmp_path / "cbt.xlsx")
