"""``frontdoor practices import`` and ``frontdoor practices list``: the registry from files."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from cli import main
from telephony.practices import read_registry, read_registry_file, registry_history
from telephony.store import Store

FEDERATION_CSV = (
    "ODS Code,Practice Name,List size,PCN,Age 0-4 %,Aged 75+,IMD decile,Nation,Phone system,Notes\n"
    "a99001,Harbour View Surgery,\"6,100\",U00001,5.5%,9.0%,3,England,3CX,new roof\n"
    "A99002,Mill Lane Medical Centre,9000,U00001,6.0%,7.5%,7,ENG,X-on,\n"
)


@pytest.fixture
def runner(key):
    return CliRunner()


def _run(runner, *args):
    return runner.invoke(main, [str(a) for a in args])


def test_import_reads_lenient_headers_percentages_and_thousands_and_lists_the_registry(runner, tmp_path):
    f = tmp_path / "federation.csv"
    f.write_text(FEDERATION_CSV, encoding="utf-8-sig")  # a spreadsheet's BOM must not hide the first header
    store_dir = tmp_path / "store"
    res = _run(runner, "practices", "import", f, "--store", store_dir, "--as-of", "2026-01-01")
    assert res.exit_code == 0, res.output
    assert res.output.strip() == (
        "federation.csv: 2 practice(s); registry rows added 2, changed 0, unchanged 0 (columns not used: Notes)"
    )
    reg = read_registry(Store(store_dir)).set_index("practice_id")
    assert reg.loc["A99001", "list_size"] == 6100 and reg.loc["A99001", "age_0_4"] == pytest.approx(0.055)
    assert reg.loc["A99002", "age_75_plus"] == pytest.approx(0.075) and reg.loc["A99001", "nation"] == "ENG"
    assert reg.loc["A99001", "valid_from"] == pd.Timestamp("2026-01-01")

    listed = json.loads(_run(runner, "practices", "list", "--store", store_dir, "--format", "json").output)
    assert [r["practice_id"] for r in listed] == ["A99001", "A99002"]
    assert listed[0]["deprivation_decile"] == 3 and listed[0]["valid_from"] == "2026-01-01"
    assert listed[0]["icb_code"] is None  # every column in json, even empty ones
    table = _run(runner, "practices", "list", "--store", store_dir).output
    assert "Harbour View Surgery" in table and "icb_code" not in table  # the table leaves empty columns out
    before = _run(runner, "practices", "list", "--store", store_dir, "--as-of", "2025-12-31")
    assert before.exit_code == 0 and before.output.strip() == "(nothing)"


def test_a_second_file_updates_some_columns_and_keeps_the_others(runner, tmp_path):
    store_dir = tmp_path / "store"
    (tmp_path / "a.csv").write_text(FEDERATION_CSV)
    (tmp_path / "b.csv").write_text("practice code,rural,care homes %\nA99001,0.8,2\n")
    assert _run(runner, "practices", "import", tmp_path / "a.csv", "--store", store_dir).exit_code == 0
    res = _run(runner, "practices", "import", tmp_path / "b.csv", "--store", store_dir)
    assert "added 0, changed 1, unchanged 0" in res.output
    reg = read_registry(Store(store_dir)).set_index("practice_id")
    assert reg.loc["A99001", "rural"] == 0.8 and reg.loc["A99001", "share_care_home"] == pytest.approx(0.02)
    assert reg.loc["A99001", "name"] == "Harbour View Surgery"
    history = json.loads(_run(runner, "practices", "list", "--history", "--store", store_dir, "--format", "json").output)
    assert [(r["practice_id"], r["valid_from"]) for r in history] == [("A99001", None), ("A99002", None)]


def test_an_xlsx_file_with_dates_in_cells_gives_each_row_its_own_valid_from(tmp_path, store):
    import datetime as dt

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Practice", "Registered patients", "Valid from"])
    ws.append(["A99001", 6100, dt.datetime(2026, 1, 1)])
    ws.append(["A99001", 6150, dt.datetime(2026, 2, 1)])
    ws.append(["A99002", 9000, "01/02/2026"])  # UK day first, as typed
    wb.save(tmp_path / "sizes.xlsx")
    rows, ignored = read_registry_file(tmp_path / "sizes.xlsx", as_of="2025-01-01")
    assert ignored == []
    assert list(rows["valid_from"].dt.strftime("%Y-%m-%d")) == ["2026-01-01", "2026-02-01", "2026-02-01"]
    assert list(rows["list_size"]) == [6100, 6150, 9000]


def test_a_file_with_wrong_rows_imports_nothing_and_names_each_line(runner, tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("ODS code,List size,Age 0-4,Valid from\nA99001,-5,2,2026-01-01\nA99001,5,0.1,2026-01-01\nA9,x,,someday\n")
    store_dir = tmp_path / "store"
    res = _run(runner, "practices", "import", f, "--store", store_dir)
    assert res.exit_code == 1
    out = res.output
    assert out.startswith("Error: bad.csv: 6 problem(s), nothing imported: line 2: age_0_4 2.0 is not a share")
    for words in ("line 2: list_size -5 is negative", "line 3: practice A99001 again (first on line 2)",
                  "line 4: List size 'x' is not a number", "line 4: Valid from 'someday' is not a date",
                  "line 4: practice id 'A9' is not an ODS code"):
        assert words in out
    assert registry_history(Store(store_dir, create=True)).empty


def test_a_phone_number_in_a_registry_file_is_never_quoted_in_the_errors(runner, tmp_path):
    # a practice's phone number typed where its ODS code, list size or nation belongs
    f = tmp_path / "numbers.csv"
    f.write_text("ODS code,List size,Nation\n07700 900123,6000,England\nA99001,01632 960001,020 7946 0123\n")
    res = _run(runner, "practices", "import", f, "--store", tmp_path / "store")
    assert res.exit_code == 1 and "line 2" in res.output and "line 3" in res.output
    for number in ("900123", "960001", "7946 0123", "79460123"):
        assert number not in res.output


def test_a_file_without_ods_codes_or_with_two_columns_for_one_is_refused(runner, tmp_path):
    (tmp_path / "noid.csv").write_text("Name,List size\nHarbour View,6000\n")
    res = _run(runner, "practices", "import", tmp_path / "noid.csv", "--store", tmp_path / "s")
    assert res.exit_code == 1 and "no column holds the practices' ODS codes" in res.output and "Name, List size" in res.output
    (tmp_path / "two.csv").write_text("ODS code,Practice code\nA99001,A99002\n")
    res = _run(runner, "practices", "import", tmp_path / "two.csv", "--store", tmp_path / "s")
    assert res.exit_code == 1 and "columns 'ODS code' and 'Practice code' both give practice_id" in res.output


def test_an_unreadable_as_of_is_a_usage_error(runner, tmp_path):
    res = _run(runner, "practices", "list", "--store", tmp_path, "--as-of", "31/12/2025")
    assert res.exit_code == 2 and "--as-of" in res.output
