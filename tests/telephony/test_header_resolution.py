"""Header resolution shared by every reader with a header (telephony/formats/_base.py
``resolve_header``, used by ``rename_columns``, ``_records.find_header``/``head_table``/
``delimited_batches`` and ``tabular_mapping.resolve_columns``).

When several columns of a header map onto one canonical name, the choice is made by one stated
rule and said in a note; it never crashes, and extra columns, case and column order never change
what is read (the property test at the end runs every reader's tabular fixtures through such
changes and compares the calls stored).
"""

from __future__ import annotations

import csv
import io
import itertools
import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telephony.formats import FORMATS
from telephony.formats._base import rename_columns, resolve_header
from telephony.formats._records import delimited_batches, find_header, head_table
from telephony.formats.asterisk_queue_log import VARIABLE_MAP as QLOG_MAP
from telephony.formats.mapping import bundled_mappings
from telephony.ingest import ingest_file
from telephony.sources import open_source
from telephony.store import Store
from telephony.tabular_mapping import resolve_columns
from tests.helpers import DATA

# The header of a queue_log table saved as CSV by a running system (two time columns).
DB_HEADER = ["uid", "date_time", "callid", "queue_name", "type", "event", "param1", "param2", "param3",
             "entpos", "expos", "htime", "ttime", "time"]
DB_ROW = ["40102", "2026-06-01 07:00:05", "1780297205.21", "main", "NULL", "ENTERQUEUE", "NULL",
          "07700900201", "1", "1", "NULL", "NULL", "NULL", "1780297205"]
REPORT_MAP = {"calltime": "time", "datetime": "time", "date": "time", "status": "status", "callid": "callid"}


# ----------------------------------------------------------------------------- the rule


def test_two_columns_for_the_time_never_crash_and_the_choice_is_noted():
    frame = pd.DataFrame([DB_ROW], columns=DB_HEADER)
    notes: list[str] = []
    out = rename_columns(frame, QLOG_MAP, notes)
    assert out.columns.is_unique
    assert out["time"].tolist() == ["1780297205"]  # the epoch, named exactly like the field
    assert out["date_time"].tolist() == ["2026-06-01 07:00:05"]  # kept under its own name
    assert out[["data1", "data2", "data3"]].values.tolist() == [["NULL", "07700900201", "1"]]
    assert notes == ["two columns could be `time`: took `time` (epoch seconds; it is named like the field), not `date_time`"]


def test_values_that_read_as_times_beat_the_fields_own_name():
    rows = [["", "2026-06-01 08:00:05", "a.1"], ["", "2026-06-01 08:01:00", "a.2"]]
    mapping, notes = resolve_header(["time", "date_time", "callid"], QLOG_MAP, rows)
    assert mapping == {"time": 1, "callid": 2}
    assert notes == ["two columns could be `time`: took `date_time` (its values read as times), not `time`"]
    text = [["soon", "2026-06-01 08:00:05", "a.1"]]  # not a time at all
    assert resolve_header(["time", "date_time", "callid"], QLOG_MAP, text)[0]["time"] == 1


def test_a_column_with_values_beats_an_empty_one_for_other_fields():
    mapping, notes = resolve_header(["Status", "STATUS"], REPORT_MAP, [["", "Answered"], ["NULL", "Missed"]])
    assert mapping == {"status": 1}
    assert notes == ["two columns could be `status`: took `STATUS` (it has values, the other is empty), not `Status`"]


def test_the_readers_first_name_wins_when_both_read():
    rows = [["05/01/2026", "05/01/2026 09:30:00"]]
    mapping, notes = resolve_header(["Date", "Call Time"], REPORT_MAP, rows)
    assert mapping == {"time": 1}
    assert notes == ["two columns could be `time`: took `Call Time` (the name the reader lists first), not `Date`"]


def test_dates_out_of_pandas_range_in_the_head_never_crash_the_choice():
    rows = [["9999999999", "9999-12-31 23:59:59"], ["1780297205", "1677-01-01 00:00:00"], ["1780297265", "junk"]]
    mapping, notes = resolve_header(["date_time", "time"], QLOG_MAP, [r[::-1] for r in rows])
    assert mapping == {"time": 1}  # two of three epochs read; none of the texts
    assert notes == ["two columns could be `time`: took `time` (epoch seconds; its values read as times), not `date_time`"]


def test_without_rows_the_name_decides():
    assert resolve_header(["date_time", "time", "uniqueid", "callid"], QLOG_MAP)[0] == {"time": 1, "callid": 3}


def test_column_order_never_decides():
    names = ["Date", "Status", "Call Time", "STATUS", "Call ID", "extra"]
    row = ["05/01/2026", "Answered", "05/01/2026 09:30:00", "Answered", "c1", "x"]
    chosen = set()
    for perm in itertools.islice(itertools.permutations(range(len(names))), 0, None, 12):  # 60 of the 720
        mapping, _ = resolve_header([names[i] for i in perm], REPORT_MAP, [[row[i] for i in perm]])
        chosen.add(tuple(sorted((canon, names[perm[pos]]) for canon, pos in mapping.items())))
    assert chosen == {(("callid", "Call ID"), ("status", "STATUS"), ("time", "Call Time"))}


def test_three_or_more_candidates_are_counted_in_words():
    names = ["calltime", "Date", "date_time", "Call-Time"]
    rows = [["05/01/2026 09:30"] * 4]
    mapping, notes = resolve_header(names, REPORT_MAP, rows)
    assert mapping == {"time": 3}  # "Call-Time" and "calltime" are one name: the first as written
    assert notes == [
        "four columns could be `time`: took `Call-Time` (the same name written another way: the first as written), "
        "not `calltime`, `date_time`, `Date`"
    ]


def test_a_column_not_chosen_never_duplicates_a_canonical_name():
    """A literal `time` column the map does not know, beside one renamed to `time`."""
    frame = pd.DataFrame([["05/01/2026 09:30:00", "x", "Answered"]], columns=["Call Time", "time", "status"])
    out = rename_columns(frame, {"calltime": "time", "status": "status"})
    assert list(out.columns) == ["time", "time (not used)", "status"]
    assert out["time"].tolist() == ["05/01/2026 09:30:00"]
    assert isinstance(out["time"], pd.Series)


def test_the_choice_made_on_the_first_chunk_holds_for_the_file():
    first = pd.DataFrame([["1780297205", "2026-06-01 07:00:05"]], columns=["time", "date_time"])
    later = pd.DataFrame([["", "2026-06-01 09:00:00"]], columns=["time", "date_time"])  # no epoch here
    memo: dict = {}
    rename_columns(first, QLOG_MAP, memo=memo)
    assert rename_columns(later, QLOG_MAP, memo=memo)["time"].tolist() == [""]
    assert rename_columns(later, QLOG_MAP)["time"].tolist() == ["2026-06-01 09:00:00"]  # alone, it would differ


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_find_header_and_head_table_with_two_columns_for_one_field(tmp_path):
    path = write(tmp_path, "report.csv", "Printed 05/01/2026\nDate,Call Time,Call ID,Status\n"
                 "05/01/2026,05/01/2026 09:30:00,c1,Answered\n")
    src = open_source(path)
    assert find_header(src, REPORT_MAP, {"time", "status"}) == (1, ",", ["Date", "Call Time", "Call ID", "Status"])
    head = head_table(src, REPORT_MAP, {"time", "status"})
    assert head.canon == [None, "time", "callid", "status"]
    assert head.value(head.rows[0], "time") == "05/01/2026 09:30:00"
    assert head.notes == ["two columns could be `time`: took `Call Time` (the name the reader lists first), not `Date`"]
    batch = next(delimited_batches(src, REPORT_MAP, skip_lines=1))
    assert batch.frame["time"].tolist() == ["05/01/2026 09:30:00"]
    assert batch.notes == head.notes


def test_mapping_alternatives_both_present_never_crash_and_say_which():
    xon = bundled_mappings()["xon_surgery_connect"]
    names = ["Call Start", "Date/Time", "Call ID", "Caller Number", "CLI", "Result"]
    rows = [["05/01/2026 08:00", "05/01/2026 08:00", "XON-1", "07700900123", "07700900123", "Answered"]]
    notes: list[str] = []
    index, missing = resolve_columns(xon, names, rows, notes)
    assert (index["start"], index["caller"], index["call_id"], index["outcome"]) == (1, 3, 2, 5)
    assert "dialled" in missing
    assert notes == [
        "two columns could be `start`: took `Date/Time` (the name xon_surgery_connect.toml lists first), not `Call Start`",
        "two columns could be `caller`: took `Caller Number` (the name xon_surgery_connect.toml lists first), not `CLI`",
    ]
    empty_first = [["", "05/01/2026 08:00", "XON-1", "", "07700900123", "Answered"]]
    index, _ = resolve_columns(xon, ["Date/Time", "Call Start", "Call ID", "Caller Number", "CLI", "Result"], empty_first)
    assert (index["start"], index["caller"]) == (1, 4)  # the listed-first ones are empty here
    # Without rows (as the layout search calls it) it is the mapping's order, and no crash.
    assert resolve_columns(xon, names)[0]["start"] == 1


def test_a_report_with_two_mapped_alternatives_ingests(store, tmp_path):
    text = (DATA / "xon_surgery_connect" / "call_report.csv").read_text(encoding="utf-8-sig").splitlines()
    rows = list(csv.reader(text))
    both = [r[:1] + r for r in rows]
    both[0][0] = "Call Start"  # the same times under the other header the mapping allows
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(both)
    res = ingest_file(store, write(tmp_path, "call_report.csv", out.getvalue()), "A81001", fmt="xon_surgery_connect")
    assert res.written > 0
    plain = ingest_file(Store(tmp_path / "plain", create=True), DATA / "xon_surgery_connect" / "call_report.csv",
                        "A81001", fmt="xon_surgery_connect")
    assert (res.written, res.rejected) == (plain.written, plain.rejected)


# ----------------------------------------------------------------------------- the property over real-looking fixtures

# (fixture, format): every reader's tabular fixture with a header row on its first line.
TABULAR = [
    ("asterisk_queue_log/queue_log_db_export.csv", "asterisk_queue_log"),
    ("freepbx_cdr/cdr.csv", "freepbx_cdr"),
    ("cisco_cucm_cdr/cdr_StandAloneCluster_01_202601050800_1.csv", "cisco_cucm_cdr"),
    ("threecx_report/CallReport.csv", "threecx_report"),
    ("teams_pstn/pstn_usage_admin_centre.csv", "teams_pstn"),
    ("twilio_calls/calls_api.csv", "twilio_calls"),
    ("amazon_connect_ctr/ctr_athena.csv", "amazon_connect_ctr"),
    ("xon_surgery_connect/call_report.csv", "xon_surgery_connect"),
]
# Cases that fail for a reason in the parser's own code, not the shared header functions.
XFAIL: dict[str, str] = {}

CASINGS = (str.upper, str.lower, str.swapcase, str.title)


@st.composite
def header_changes(draw, n_columns: int):
    """A list of changes to a header: (kind, arguments)."""
    changes = []
    for k in range(draw(st.integers(0, 2))):
        changes.append(("extra", f"Extra Info {chr(65 + k)}", draw(st.text("abc xyz-", max_size=6))))
    if draw(st.booleans()):
        changes.append(("duplicate", draw(st.integers(0, n_columns - 1)), draw(st.sampled_from(CASINGS))))
    for i in draw(st.sets(st.integers(0, n_columns - 1), max_size=4)):
        changes.append(("recase", i, draw(st.sampled_from(CASINGS))))
    changes.append(("order", draw(st.randoms(use_true_random=False))))
    return changes


def apply_changes(rows: list[list[str]], changes) -> list[list[str]]:
    """The table with its header changed; every data row follows its columns."""
    header, body = rows[0], rows[1:]
    cols = [[h] + [r[i] if i < len(r) else "" for r in body] for i, h in enumerate(header)]
    for change in changes:
        kind = change[0]
        if kind == "extra":
            cols.append([change[1]] + [change[2]] * len(body))
        elif kind == "duplicate":
            col = cols[change[1]]
            name = change[2](col[0])
            if name != col[0]:  # another casing only (a name without letters cannot have one)
                cols.append([name] + col[1:])
        elif kind == "recase":
            cols[change[1]] = [change[2](cols[change[1]][0])] + cols[change[1]][1:]
        elif kind == "order":
            change[1].shuffle(cols)
    return [list(r) for r in zip(*cols)]


def read_table(path: Path) -> tuple[list[list[str]], bool]:
    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig")))), bom


def stored_calls(root: Path, path: Path, fmt: str) -> tuple[pd.DataFrame, tuple]:
    store = Store(root, create=True)
    res = ingest_file(store, path, "A81001", fmt=fmt)
    calls = store.read_calls("A81001").drop(columns=["ingest_id"]).sort_values("call_id").reset_index(drop=True)
    return calls, (res.rows_read, res.written, res.duplicates, res.rejected)


@pytest.fixture(scope="module")
def property_key():
    saved = os.environ.get("FRONTDOOR_KEY")
    os.environ["FRONTDOOR_KEY"] = "header-property-key"  # hypothesis forbids function-scoped monkeypatch
    yield
    if saved is None:
        os.environ.pop("FRONTDOOR_KEY", None)
    else:
        os.environ["FRONTDOOR_KEY"] = saved


@pytest.mark.parametrize(
    "fixture,fmt",
    [pytest.param(f, fmt, marks=pytest.mark.xfail(reason=XFAIL[f], strict=True)) if f in XFAIL else (f, fmt) for f, fmt in TABULAR],
    ids=[f for f, _ in TABULAR],
)
def test_extra_columns_case_and_order_never_change_the_calls(fixture, fmt, tmp_path_factory, property_key):
    assert fmt in FORMATS
    path = DATA / fixture
    rows, bom = read_table(path)
    base_dir = tmp_path_factory.mktemp("base")
    expected, counts = stored_calls(base_dir / "store", path, fmt)
    assert counts[1] > 0, "the fixture must store calls for the property to mean anything"

    @settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
    @given(changes=header_changes(len(rows[0])))
    def check(changes):
        tmp = tmp_path_factory.mktemp("changed")
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(apply_changes(rows, changes))
        changed = tmp / path.name
        changed.write_bytes((b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8"))
        got, got_counts = stored_calls(tmp / "store", changed, fmt)
        assert got_counts == counts, changes
        pd.testing.assert_frame_equal(got, expected, obj=f"calls of {fixture} after {changes}")

    check()
