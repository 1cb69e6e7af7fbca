"""Mapping files (TOML) for bespoke supplier reports, and the bundled X-on Surgery Connect one.

Golden values are computed by hand from the fixtures in ``tests/data/xon_surgery_connect/``
(UTF-8 with BOM and CRLF; Windows-1252 with the columns in another order; a file with a report
preamble and problems) and from reports built in ``tmp_path`` (a made-up supplier, workbooks).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from telephony.errors import BadInputError, MappingError
from telephony.formats import FORMATS, ReadContext
from telephony.formats import mapping as mp
from telephony.formats.mapping import bundled_mappings, load_mapping, mapping_format
from telephony.ingest import detect_format, ingest_file
from telephony.privacy import Pseudonymiser
from telephony.schema import OUTCOMES
from telephony.sources import open_source

DATA = Path(__file__).resolve().parents[1] / "data"
XON = DATA / "xon_surgery_connect"
XON_TOML = Path(mp.__file__).resolve().parent.parent / "mappings" / "xon_surgery_connect.toml"
PRACTICE = "A81001"


def read_all(fmt, path: Path, ctx: ReadContext | None = None):
    """Every chunk of a read joined: calls, rejects, rows read, skipped and unknown counters."""
    calls, rejects, rows, skipped, unknown = [], [], 0, Counter(), Counter()
    for ch in fmt.read(open_source(path), ctx or ReadContext()):
        calls.append(ch.calls)
        rejects.extend(ch.rejects)
        rows += ch.rows_read
        skipped.update(ch.skipped)
        unknown.update(ch.unknown)
    df = pd.concat(calls, ignore_index=True)
    return df, rejects, rows, skipped, unknown


def assert_conserved(calls, rejects, rows, skipped) -> None:
    """Every source data row is a call's row, a rejected row or a skipped row."""
    assert rows == int(calls["n_rows"].sum()) + sum(r.rows for r in rejects) + sum(skipped.values())


# ----------------------------------------------------------------------------- the bundled mapping


def test_bundled_mapping_is_registered_as_a_format():
    assert set(bundled_mappings()) == {"xon_surgery_connect"}
    m = bundled_mappings()["xon_surgery_connect"]
    assert m.bundled and m.supplier == "X-on"
    assert FORMATS["xon_surgery_connect"].name == "xon_surgery_connect"
    assert "X-on Surgery Connect" in FORMATS["xon_surgery_connect"].title
    # Mappings come after the parser modules in the registry.
    assert list(FORMATS)[-1] == "xon_surgery_connect"


def test_xon_meaning_swap_in_the_table():
    """X-on's "Abandoned" is a contact centre's IVR hang-up; its "Missed" is queued/rang."""
    m = bundled_mappings()["xon_surgery_connect"]
    assert m.outcomes["abandoned"].outcome == "ivr_abandoned"
    assert m.outcomes["missed"].outcome == "missed"
    assert m.outcomes["callback requested"].outcome == "callback"
    assert m.outcomes["out of hours"].outcome == "closed"
    assert m.outcomes["closed"].outcome == "closed"
    assert "abandoned" not in {r.outcome for r in m.outcomes.values()}


# (Call ID, start naive, direction, line, caller raw, outcome, wait_s, talk_s, agent, line no.)
GOLDEN = [
    ("XON-100001", "2026-01-05 08:00", "inbound", "Reception", "07700900123", "answered", 65.0, 192.0, "Reception 1", 2),
    ("XON-100002", "2026-01-05 08:00", "inbound", "Reception", "+447700900124", "missed", 600.0, 0.0, None, 3),
    ("XON-100003", "2026-01-05 08:01", "inbound", None, "07700 900125", "ivr_abandoned", None, 0.0, None, 4),
    ("XON-100004", "2026-01-05 08:02", "inbound", "Prescriptions", "447700900126", "callback", 150.0, 0.0, None, 5),
    # Voicemail: the report's 40 s is the message, not talk to a person.
    ("XON-100005", "2026-01-05 08:03", "inbound", "Reception", "Withheld", "voicemail", 300.0, 0.0, None, 6),
    ("XON-100006", "2026-01-04 19:30", "inbound", None, "07700900127", "closed", None, 0.0, None, 7),
    ("XON-100007", "2026-01-05 07:45", "inbound", None, "07700900128", "closed", None, 0.0, None, 8),
    # Outbound: the caller is the other party (the dialled number), answered by talk time.
    ("XON-100008", "2026-01-05 09:15", "outbound", None, "07700900129", "answered", None, 120.0, "Dr Shah", 9),
    ("XON-100009", "2026-01-05 09:20", "outbound", None, "07700900130", "missed", None, 0.0, None, 10),
    ("XON-100010", "2026-06-15 10:00", "inbound", "Reception", "07700900123", "answered", 8.0, 760.0, "Smith, Jo", 11),
    ("XON-100011", "2026-06-15 10:05", "inbound", "Reception", "07700900131", "missed", 4.0, 0.0, None, 12),
]


def test_golden_calls_utf8_bom():
    calls, rejects, rows, skipped, unknown = read_all(FORMATS["xon_surgery_connect"], XON / "call_report.csv")
    assert rejects == [] and unknown == Counter() and skipped == Counter()
    assert rows == 11 and len(calls) == 11
    for (cid, start, direction, line, caller, outcome, wait, talk, agent, ln), (_, row) in zip(GOLDEN, calls.iterrows()):
        got = (
            row.call_id, row.start, row.direction, None if pd.isna(row.line) else row.line,
            None if pd.isna(row.caller) else row.caller, row.outcome,
            None if np.isnan(row.wait_s) else row.wait_s, row.talk_s,
            None if pd.isna(row.agent) else row.agent, row.source_line,
        )
        assert got == (cid, pd.Timestamp(start), direction, line, caller, outcome, wait, talk, agent, ln)
    assert (calls["n_rows"] == 1).all()
    # Naive wall-clock times: the ingest converts them with --timezone.
    assert calls["start"].dt.tz is None
    assert_conserved(calls, rejects, rows, skipped)


def test_xon_abandoned_and_missed_rows_keep_xon_meanings():
    calls, *_ = read_all(FORMATS["xon_surgery_connect"], XON / "call_report.csv")
    by_id = calls.set_index("call_id")["outcome"]
    assert by_id["XON-100003"] == "ivr_abandoned"  # their "Abandoned"
    assert by_id["XON-100002"] == "missed"  # their "Missed"
    assert by_id["XON-100011"] == "missed"  # "missed", lower case
    assert "abandoned" not in set(by_id)


def test_windows_1252_columns_in_another_order():
    calls, rejects, rows, skipped, _ = read_all(FORMATS["xon_surgery_connect"], XON / "call_report_windows1252.csv")
    assert rejects == [] and rows == 4
    assert calls["call_id"].tolist() == ["XON-200001", "XON-200002", "XON-200003", "XON-200004"]
    assert calls["line"].tolist() == ["Repeat Prescriptions – Option 2", "Reception", "Reception", "Reception"]
    assert calls["outcome"].tolist() == ["answered", "ivr_abandoned", "callback", "answered"]
    assert calls["wait_s"].tolist()[:1] + calls["wait_s"].tolist()[2:] == [30.0, 60.0, 75.0]
    assert np.isnan(calls["wait_s"].iloc[1])
    # The last row writes plain seconds; "auto" durations read both spellings.
    assert calls["talk_s"].tolist() == [240.0, 0.0, 0.0, 240.0]
    assert calls["agent"].tolist()[0] == "Zoë Clarke" and pd.isna(calls["agent"].iloc[2])
    assert calls["start"].tolist()[0] == pd.Timestamp("2026-02-02 08:30")
    assert_conserved(calls, rejects, rows, skipped)


BUNDLED_HINT = "under [outcomes] in a copy of the bundled xon_surgery_connect.toml, passed with --mapping"
OUTCOME_LIST = "answered, callback, abandoned, ivr_abandoned, missed, voicemail, closed, busy, failed, unknown"


def test_with_problems_exact_rejects():
    calls, rejects, rows, skipped, unknown = read_all(
        FORMATS["xon_surgery_connect"], XON / "call_report_with_problems.csv"
    )
    # The report title and period above the header were found and passed over.
    assert calls["source_line"].tolist() == [5, 9, 12]
    assert calls["call_id"].tolist() == ["XON-300001", "XON-300004", "XON-300001"]
    assert calls["agent"].tolist() == ["Reception 2", "Patel, Anita", "Reception 2"]  # quoted comma
    assert calls["caller"].tolist()[1] == "07700 900153"
    unknown_reason = (
        "unknown outcome 'Transferred' in column 'Result'; add \"Transferred\" = \"<outcome>\" "
        f"{BUNDLED_HINT} (one of {OUTCOME_LIST})"
    )
    assert [(r.line, r.reason) for r in rejects] == [
        (6, unknown_reason),
        (7, "unreadable date/time '31/02/2026 08:02' in column 'Date/Time' (expected like 05/01/2026 08:30)"),
        (10, "unreadable wait 'abc' in column 'Wait Time' (durations format auto)"),
        (11, "talk time empty in column 'Talk Time' for an answered call"),
        (13, unknown_reason),
        (15, "outcome missing: column 'Result' is empty"),
        (16, "expected 9 fields, found 2 (truncated, or a different layout)"),
    ]
    # Reject texts are masked: no caller number survives.
    assert all(not re.search(r"\d{7}", r.text) for r in rejects)
    assert "XXXXXXXXXXX" in rejects[0].text
    assert unknown == Counter({"Transferred": 2})
    assert skipped == Counter({"blank line": 2})
    assert rows == 12
    assert_conserved(calls, rejects, rows, skipped)


@pytest.mark.parametrize("path", sorted(XON.iterdir()), ids=lambda p: p.name)
def test_sniff_own_files(path):
    assert FORMATS["xon_surgery_connect"].sniff(open_source(path)) == 1.0


@pytest.mark.parametrize(
    "path", sorted(p for p in DATA.rglob("*") if p.is_file() and p.parent.name != "xon_surgery_connect"), ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_sniff_other_formats_files(path):
    try:
        source = open_source(path)
    except BadInputError:
        pytest.skip("not a readable export")
    assert FORMATS["xon_surgery_connect"].sniff(source) < 0.9


def test_sniff_came_close(tmp_path):
    text = (XON / "call_report.csv").read_bytes().decode("utf-8-sig")
    # All columns, but none of the result words are X-on's: close, not sure.
    other_words = re.sub(r",(Answered|Missed|Abandoned|Callback Requested|Voicemail|Out of Hours|Closed|Outbound|ANSWERED|missed),", ",Done,", text)
    (tmp_path / "words.csv").write_text(other_words)
    assert mapping_format(bundled_mappings()["xon_surgery_connect"]).sniff(open_source(tmp_path / "words.csv")) == 0.6
    # Most columns (7 of 9) present: close.
    lines = [",".join(f for i, f in enumerate(ln.split(",")) if i not in (7, 8)) for ln in text.splitlines()]
    (tmp_path / "fewer.csv").write_text("\n".join(lines[:2]) + "\n")
    assert FORMATS["xon_surgery_connect"].sniff(open_source(tmp_path / "fewer.csv")) == 0.6
    with pytest.raises(BadInputError) as exc:
        list(FORMATS["xon_surgery_connect"].read(open_source(tmp_path / "fewer.csv"), ReadContext()))
    assert str(exc.value) == (
        "fewer.csv: not a xon_surgery_connect report: missing column(s) talk = 'Talk Time'; "
        "agent = 'Answered By' (header on line 1: 'Date/Time', 'Call ID', 'Caller Number', "
        "'Dialled Number', 'Queue', 'Result', 'Wait Time'). Check the export settings, or fix "
        "[columns] in xon_surgery_connect.toml."
    )
    # Another format's file forced through the mapping: a one-line error, not a traceback.
    with pytest.raises(BadInputError, match=r"^queue_log: not a xon_surgery_connect report: missing column\(s\) start"):
        list(FORMATS["xon_surgery_connect"].read(open_source(DATA / "asterisk_queue_log" / "queue_log"), ReadContext()))


def test_short_missed_rule():
    text = XON_TOML.read_text(encoding="utf-8")
    text = text.replace("# [short_missed]\n# under_seconds = 10\n# outcome = \"abandoned\"", "[short_missed]\nunder_seconds = 10\noutcome = \"abandoned\"")
    m = load_mapping(text)
    assert m.short_missed == mp.ShortMissed(10.0, "abandoned")
    calls, *_ = read_all(mapping_format(m), XON / "call_report.csv")
    out = calls.set_index("call_id")["outcome"]
    assert out["XON-100011"] == "abandoned"  # missed after 4 s in the queue
    assert out["XON-100002"] == "missed"  # missed after 10 minutes
    assert out["XON-100009"] == "missed"  # outbound, no wait: the rule is for inbound queues


# ----------------------------------------------------------------------------- workbooks


def _xlsx_rows():
    return [
        ["Surgery Connect call report"],
        [],
        ["Date/Time", "Call ID", "Caller Number", "Dialled Number", "Queue", "Result", "Wait Time", "Talk Time", "Answered By"],
        [dt.datetime(2026, 1, 5, 8, 0), "XON-1", "07700900123", "01632960000", "Reception", "Answered", dt.time(0, 1, 5), dt.timedelta(seconds=192), "Reception 1"],
        [dt.datetime(2026, 7, 1, 9, 30), "XON-2", 7700900124, "01632960000", None, "Abandoned", None, None, None],
        ["01/07/2026 09:45", "XON-3", "07700900125", "01632960000", "Reception", "Missed", "00:03:00", "00:00:00", None],
    ]


def _workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    wb.save(path)
    return path


def test_xlsx_detected_and_read(tmp_path):
    path = _workbook(tmp_path / "CallReport.xlsx", {"Sheet1": _xlsx_rows()})
    source = open_source(path)
    assert detect_format(source).name == "xon_surgery_connect"
    calls, rejects, rows, skipped, _ = read_all(FORMATS["xon_surgery_connect"], path)
    assert rejects == []
    assert calls["call_id"].tolist() == ["XON-1", "XON-2", "XON-3"]
    assert calls["start"].tolist() == [pd.Timestamp("2026-01-05 08:00"), pd.Timestamp("2026-07-01 09:30"), pd.Timestamp("2026-07-01 09:45")]
    assert calls["outcome"].tolist() == ["answered", "ivr_abandoned", "missed"]
    assert calls["wait_s"].tolist()[0] == 65.0 and np.isnan(calls["wait_s"].iloc[1]) and calls["wait_s"].iloc[2] == 180.0
    assert calls["talk_s"].tolist() == [192.0, 0.0, 0.0]
    assert calls["source_line"].tolist() == [4, 5, 6]  # sheet rows
    assert calls["caller"].tolist()[1] == "7700900124"  # a number cell lost its zero; privacy copes
    # The blank row between title and header is preamble, passed over as in a text file.
    assert skipped == Counter()
    assert_conserved(calls, rejects, rows, skipped)


def test_xlsx_named_sheet(tmp_path):
    path = _workbook(
        tmp_path / "report.xlsx",
        {"Summary": [["Total calls", 3], ["Answered", 1]], "Calls": _xlsx_rows()},
    )
    # The default (first sheet with data) is the summary: not this report.
    assert FORMATS["xon_surgery_connect"].sniff(open_source(path)) == 0.0
    text = XON_TOML.read_text(encoding="utf-8").replace('# sheet = "Calls"', 'sheet = "Calls"')
    text = text.replace('name = "xon_surgery_connect"', 'name = "xon_calls_sheet"')
    fmt = mapping_format(load_mapping(text))
    assert fmt.sniff(open_source(path)) == 1.0
    calls, rejects, rows, skipped, _ = read_all(fmt, path)
    assert calls["call_id"].tolist() == ["XON-1", "XON-2", "XON-3"] and rejects == []
    assert_conserved(calls, rejects, rows, skipped)
    wrong = load_mapping(text.replace('sheet = "Calls"', 'sheet = "Calls 2"'))
    with pytest.raises(BadInputError) as exc:
        list(mapping_format(wrong).read(open_source(path), ReadContext()))
    assert str(exc.value) == (
        "report.xlsx: no worksheet named 'Calls 2' (sheets: Summary, Calls); "
        "fix [file] sheet in <mapping text>"
    )


# ----------------------------------------------------------------------------- a made-up supplier

ACME_TOML = """
name = "acme_voice"
title = "Acme Voice call detail report"
supplier = "Acme Voice Ltd"

[file]
delimiter = ";"
skip_lines = 2

[columns]
date = "Call Date"
time = "Call Time"
call_id = "Ref"
caller = "CLI"
direction = "Direction"
line = "Hunt Group"
outcome = "Status"
wait = "Queue Time"
talk = "Talk Time"
agent = "Extension"

[datetime]
format = "%d/%m/%Y %H:%M:%S"

[durations]
format = "hh:mm:ss"

[outcomes]
"Connected" = "answered"
"Caller Hung Up" = "abandoned"
"Queue  timeout" = "missed"

[directions]
"Transfer" = "internal"
"""

ACME_REPORT = """Acme Voice - Call Detail Report
Site: Hill Road Surgery
Call Date;Call Time;Ref;CLI;Direction;Hunt Group;Status;Queue Time;Talk Time;Extension
05/01/2026;08:00:05;A-1;07700900200;Incoming;Main;Connected;00:00:45;00:04:10;201
05/01/2026;08:01:00;A-2;+447700900201;Incoming;Main;Caller Hung Up;00:02:10;00:00:00;
05/01/2026;08:02:00;A-3;07700900202;Incoming;Main;QUEUE TIMEOUT;00:15:00;00:00:00;
05/01/2026;08:03:00;A-4;07700900203;Outgoing;;Connected;;00:01:30;202
05/01/2026;08:04:00;A-5;07700900204;Transfer;Main;Connected;00:00:05;00:00:20;203
05/01/2026;08:05:00;A-6;07700900205;Sideways;Main;Connected;00:00:05;00:00:20;203
05/01/2026;08:06:00;A-7;07700900206;Incoming;Main;Connected;65;00:00:20;203
28/06/2026;14:00:00;A-8;07700900207;Incoming;Main;Connected;1:02:03;0:00:20;203
"""


@pytest.fixture
def acme_report(tmp_path) -> Path:
    path = tmp_path / "acme_calls.csv"
    path.write_text(ACME_REPORT, encoding="utf-8")
    return path


def test_made_up_supplier_split_date_time_and_hh_mm_ss(acme_report):
    m = load_mapping(ACME_TOML)
    fmt = mapping_format(m)
    assert fmt.name == "acme_voice" and fmt.title == "Acme Voice call detail report [Acme Voice Ltd]"
    assert fmt.sniff(open_source(acme_report)) == 1.0
    calls, rejects, rows, skipped, unknown = read_all(fmt, acme_report)
    expected = [
        # call_id, start, direction, line, outcome, wait_s, talk_s, agent, source line
        ("A-1", "2026-01-05 08:00:05", "inbound", "Main", "answered", 45.0, 250.0, "201", 4),
        ("A-2", "2026-01-05 08:01:00", "inbound", "Main", "abandoned", 130.0, 0.0, None, 5),
        ("A-3", "2026-01-05 08:02:00", "inbound", "Main", "missed", 900.0, 0.0, None, 6),
        ("A-4", "2026-01-05 08:03:00", "outbound", None, "answered", None, 90.0, "202", 7),
        ("A-5", "2026-01-05 08:04:00", "internal", "Main", "answered", 5.0, 20.0, "203", 8),
        ("A-8", "2026-06-28 14:00:00", "inbound", "Main", "answered", 3723.0, 20.0, "203", 11),
    ]
    got = [
        (
            r.call_id, str(r.start), r.direction, None if pd.isna(r.line) else r.line, r.outcome,
            None if np.isnan(r.wait_s) else r.wait_s, r.talk_s, None if pd.isna(r.agent) else r.agent,
            r.source_line,
        )
        for r in calls.itertuples()
    ]
    assert got == expected
    assert [(r.line, r.reason) for r in rejects] == [
        (
            9,
            "unknown direction 'Sideways' in column 'Direction'; add \"Sideways\" = "
            "\"<inbound|outbound|internal>\" under [directions] in <mapping text>",
        ),
        # Declared hh:mm:ss: a bare number in a text report is a mistake, not seconds.
        (10, "unreadable wait '65' in column 'Queue Time' (durations format hh:mm:ss)"),
    ]
    assert unknown == Counter({"direction Sideways": 1})
    assert_conserved(calls, rejects, rows, skipped)


def test_made_up_supplier_end_to_end_utc(store, acme_report):
    res = ingest_file(store, acme_report, PRACTICE, mapping=load_mapping(ACME_TOML))
    assert (res.format, res.written, res.duplicates, res.rejected, res.rows_read) == ("acme_voice", 6, 0, 2, 8)
    got = store.read_calls(PRACTICE).set_index("call_id")["start_utc"]
    assert got["A-1"] == pd.Timestamp("2026-01-05 08:00:05", tz="UTC")
    assert got["A-8"] == pd.Timestamp("2026-06-28 13:00:00", tz="UTC")  # BST


def test_mapping_timezone_replaces_the_default(acme_report):
    m = load_mapping(ACME_TOML.replace('format = "%d/%m/%Y %H:%M:%S"', 'format = "%d/%m/%Y %H:%M:%S"\ntimezone = "UTC"'))
    assert m.timezone == "UTC"
    calls, *_ = read_all(mapping_format(m), acme_report)
    assert calls["start"].iloc[-1] == pd.Timestamp("2026-06-28 14:00:00", tz="UTC")
    # A --timezone other than the default is the user's explicit choice and wins.
    calls, *_ = read_all(mapping_format(m), acme_report, ReadContext(timezone="Europe/Dublin"))
    assert calls["start"].dt.tz is None
    # So does an explicit Europe/London: "not given" is None, not the default's name.
    calls, *_ = read_all(mapping_format(m), acme_report, ReadContext(timezone="Europe/London"))
    assert calls["start"].dt.tz is None
    assert mapping_format(m).timezone == "UTC"


@pytest.mark.parametrize("given, used, last", [
    (None, "UTC", "2026-06-28 14:00:00"),
    ("Europe/London", "Europe/London", "2026-06-28 13:00:00"),
])
def test_manifest_records_the_zone_used(store, acme_report, given, used, last):
    """The mapping's zone applies unless --timezone is given; the manifest says which was used,
    whether the mapping is passed or its format found (a bundled mapping) by detection."""
    m = load_mapping(ACME_TOML.replace('format = "%d/%m/%Y %H:%M:%S"', 'format = "%d/%m/%Y %H:%M:%S"\ntimezone = "UTC"'))
    ingest_file(store, acme_report, PRACTICE, mapping=m, timezone=given)
    ingest_file(store, acme_report, "B82002", fmt=mapping_format(m), timezone=given)
    assert store.manifest()["timezone"].tolist() == [used, used]
    for pid in (PRACTICE, "B82002"):
        got = store.read_calls(pid).set_index("call_id")["start_utc"]
        assert got["A-8"] == pd.Timestamp(last, tz="UTC")


def test_talk_from_duration_and_from_end(tmp_path):
    report = tmp_path / "r.csv"
    report.write_text(
        "When,Result,Queue,Total,Ended\n"
        "05/01/2026 23:58:00,Answered,30,330,00:03:30\n"
        "05/01/2026 10:00:00,No Answer,45,45,10:00:45\n"
        "05/01/2026 10:10:00,Answered,,90,10:11:30\n"
    )
    base = '''
name = "derived"
title = "Derived talk"
[columns]
start = "When"
outcome = "Result"
wait = "Queue"
{talk}
[durations]
format = "seconds"
[outcomes]
"Answered" = "answered"
"No Answer" = "missed"
'''
    by_duration = load_mapping(base.format(talk='duration = "Total"'))
    calls, rejects, *_ = read_all(mapping_format(by_duration), report)
    assert rejects == [] and calls["talk_s"].tolist() == [300.0, 0.0, 90.0]
    # A clock time alone is on the start's day, or the next day when earlier (past midnight).
    by_end = load_mapping(base.format(talk='end = "Ended"'))
    calls, rejects, *_ = read_all(mapping_format(by_end), report)
    assert rejects == [] and calls["talk_s"].tolist() == [300.0, 0.0, 90.0]


def test_seconds_format_rejects_clock_values(tmp_path):
    report = tmp_path / "r.csv"
    report.write_text("When,Result,Talk\n05/01/2026 08:00,Answered,00:01:05\n05/01/2026 08:01,Answered,65\n")
    m = load_mapping('name = "secs"\ntitle = "S"\n[columns]\nstart = "When"\noutcome = "Result"\ntalk = "Talk"\n'
                     '[durations]\nformat = "seconds"\n[outcomes]\n"Answered" = "answered"\n')
    calls, rejects, *_ = read_all(mapping_format(m), report)
    assert calls["talk_s"].tolist() == [65.0]
    assert [(r.line, r.reason) for r in rejects] == [
        (2, "unreadable talk '00:01:05' in column 'Talk' (durations format seconds)")
    ]


# ----------------------------------------------------------------------------- mapping errors


def test_syntax_error_message():
    text = 'name = "acme"\ntitle = "Acme"\n[columns]\nstart = "When"\n[outcomes]\nCallback Requested = "callback"\n'
    with pytest.raises(MappingError) as exc:
        load_mapping(text)
    assert str(exc.value) == (
        "Mapping file <mapping text> has 1 problem:\n"
        "  <mapping text>:6: (syntax): not valid TOML: Expected '=' after a key in a key/value pair "
        "(at line 6, column 10) in `Callback Requested = \"callback\"`. Fix: put keys and text values "
        'with spaces or punctuation in double quotes, e.g. "Callback Requested" = "callback"; only '
        "numbers and true/false go unquoted"
    )


BROKEN = """name = "Acme Voice"
supplier = "Acme"
colour = "blue"

[file]
skip_lines = "2"
delimeter = ";"

[columns]
start = "When"
caller_number = "CLI"
outcome = "Result"

[datetime]
format = "%d/%m/%Y %H:%Q"
timezone = "Europe/Londn"

[durations]
format = "mm:ss"

[outcomes]
"Answered" = "answered"
"Missed" = "mised"
"Outbound" = { outcome = "answered", direction = "outgoing" }
"""


def test_every_problem_reported_at_once(tmp_path):
    path = tmp_path / "acme.toml"
    path.write_text(BROKEN, encoding="utf-8")
    with pytest.raises(MappingError) as exc:
        load_mapping(path)
    assert str(exc.value) == "\n".join(
        [
            "Mapping file acme.toml has 12 problems:",
            "  acme.toml: title: required key missing. Fix: add title = \"<supplier> call report (CSV/XLSX)\" (shown by frontdoor formats)",
            "  acme.toml:1: name: 'Acme Voice' is not a format name. Fix: use lower case letters, digits and _ starting with a letter, e.g. name = \"acme_voice\"",
            "  acme.toml:3: colour: unknown key or table. Fix: use one of name, title, supplier, example, notes, file, columns, datetime, durations, outcomes, directions, short_missed (did you mean columns?)",
            "  acme.toml:6: file.skip_lines: expected a whole number 0 or more, got '2'. Fix: give the number of lines above the header, e.g. skip_lines = 2",
            "  acme.toml:7: file.delimeter: unknown key. Fix: use one of delimiter, skip_lines, header_row, encoding, sheet (did you mean delimiter?)",
            "  acme.toml:9: columns.talk: required key missing. Fix: add talk = \"<talk time column>\", or duration = \"<total duration column>\" or end = \"<end time column>\" to derive it",
            "  acme.toml:11: columns.caller_number: not a canonical column. Fix: use one of start, date, time, call_id, caller, dialled, direction, line, outcome, wait, talk, duration, end, agent (did you mean caller?)",
            "  acme.toml:15: datetime.format: '%d/%m/%Y %H:%Q' is not a strptime date format. Fix: use strptime codes, e.g. format = \"%d/%m/%Y %H:%M\" for 05/01/2026 08:30",
            "  acme.toml:16: datetime.timezone: 'Europe/Londn' is not an IANA timezone. Fix: use a name like \"Europe/London\", or leave it out to use --timezone",
            "  acme.toml:19: durations.format: 'mm:ss' is not a duration format. Fix: use one of \"auto\", \"seconds\", \"minutes\", \"hh:mm:ss\"",
            f"  acme.toml:23: outcomes.Missed: 'mised' is not an outcome. Fix: use one of {OUTCOME_LIST} (did you mean missed?)",
            "  acme.toml:24: outcomes.Outbound: 'outgoing' is not a direction. Fix: use one of inbound, outbound, internal, unknown (did you mean outbound?)",
        ]
    )
    assert len(exc.value.problems) == 12


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            'name = "acme"\ntitle = "Acme"\n',
            [
                "<mapping text>: columns: required table missing. Fix: add a [columns] table: canonical name = \"the report's column header\"",
                "<mapping text>: outcomes: required table missing. Fix: add an [outcomes] table: \"vendor word\" = \"outcome\", one line per word the report uses",
            ],
        ),
        (
            'name = "acme"\ntitle = "Acme"\n[columns]\ndate = "Day"\noutcome = "R"\ntalk = "T"\n[outcomes]\n"Answered" = "answred"\n"answered " = "missed"\n',
            [
                "<mapping text>:3: columns.time: required key missing (date and time go together). Fix: add time = \"<the report's time column>\", or use start for a single date-and-time column",
                "<mapping text>:8: outcomes.Answered: 'answred' is not an outcome. Fix: use one of "
                f"{OUTCOME_LIST} (did you mean answered?)",
            ],
        ),
        (
            'name = "acme"\ntitle = "Acme"\n[columns]\nstart = "When"\noutcome = "R"\ntalk = "T"\n'
            '[outcomes]\n"Answered" = "answered"\n"ANSWERED" = "missed"\n[directions]\n"In" = "inbound"\n',
            [
                "<mapping text>:9: outcomes.ANSWERED: the same word as 'Answered' (case and spaces are ignored) with a different meaning. Fix: keep one of the two lines",
                "<mapping text>:10: [directions]: given, but [columns] has no direction column. Fix: add direction = \"<the report's direction column>\" under [columns], or set a direction per outcome word: \"Outbound\" = { outcome = \"answered\", direction = \"outbound\" }",
            ],
        ),
        (
            'name = "asterisk_queue_log"\ntitle = "Q"\n[columns]\nstart = "W"\noutcome = "R"\ntalk = "T"\n'
            '[outcomes]\n"A" = "answered"\n',
            [
                "<mapping text>:1: name: 'asterisk_queue_log' is already the name of a built-in format. "
                'Fix: give the supplier\'s report its own name, e.g. name = "asterisk_queue_log_report"',
            ],
        ),
    ],
    ids=["missing-tables", "date-without-time", "duplicate-word-and-stray-directions", "name-taken"],
)
def test_mapping_error_messages(text, expected):
    with pytest.raises(MappingError) as exc:
        load_mapping(text)
    lines = str(exc.value).splitlines()
    assert lines[0] == f"Mapping file <mapping text> has {len(expected)} problem{'s' if len(expected) > 1 else ''}:"
    assert [ln.strip() for ln in lines[1:]] == expected


def test_missing_mapping_file(tmp_path):
    with pytest.raises(MappingError) as exc:
        load_mapping(tmp_path / "nope.toml")
    assert str(exc.value) == (
        f"Mapping file {tmp_path / 'nope.toml'} has 1 problem:\n"
        f"  {tmp_path / 'nope.toml'}: (file): no such mapping file. Fix: check the path, or pass the TOML text itself"
    )


def test_docstring_example_is_a_valid_mapping():
    doc = mp.__doc__
    block = doc.split("::\n", 1)[1].split("\nNotes\n", 1)[0]
    text = "\n".join(ln[4:] for ln in block.splitlines())
    m = load_mapping(text)
    assert m.name == "acme_voice" and m.delimiter == ";" and m.skip_lines == 2
    assert m.columns["caller"] == ("CLI", "Caller")
    assert m.outcomes["outbound"] == mp.OutcomeRule("Outbound", "answered", "outbound", "missed")
    assert m.directions["transfer"] == "internal" and m.directions["outgoing"] == "outbound"
    assert m.short_missed == mp.ShortMissed(10.0, "abandoned")
    assert set(r.outcome for r in m.outcomes.values()) <= set(OUTCOMES)


def test_load_from_path_and_text_agree():
    from_path = load_mapping(XON_TOML)
    from_text = load_mapping(XON_TOML.read_text(encoding="utf-8"))
    assert from_path.outcomes == from_text.outcomes and from_path.columns == from_text.columns
    assert from_path.file_name == "xon_surgery_connect.toml" and not from_path.bundled
    with pytest.raises(Exception):
        from_path.name = "other"  # frozen


# ----------------------------------------------------------------------------- ingest end to end


def test_ingest_with_mapping_file_and_idempotence(store, key):
    res = ingest_file(store, XON / "call_report.csv", PRACTICE, mapping=load_mapping(XON_TOML))
    assert (res.format, res.rows_read, res.written, res.duplicates, res.rejected) == ("xon_surgery_connect", 11, 11, 0, 0)
    calls = store.read_calls(PRACTICE).set_index("call_id")
    expected_utc = {cid: pd.Timestamp(start, tz="Europe/London").tz_convert("UTC") for cid, start, *_ in GOLDEN}
    assert calls["start_utc"].to_dict() == expected_utc
    assert calls.loc["XON-100010", "start_utc"] == pd.Timestamp("2026-06-15 09:00", tz="UTC")
    assert calls["outcome"].to_dict() == {g[0]: g[5] for g in GOLDEN}
    pseudo = Pseudonymiser(key)
    assert calls.loc["XON-100001", "caller_key"] == calls.loc["XON-100010", "caller_key"]
    assert calls.loc["XON-100008", "caller_key"] == pseudo.caller_key("07700900129")
    assert pd.isna(calls.loc["XON-100005", "caller_key"])  # withheld
    assert calls["agent_key"].notna().sum() == 3  # answered calls only
    again = ingest_file(store, XON / "call_report.csv", PRACTICE, mapping=load_mapping(XON_TOML))
    assert (again.written, again.duplicates, again.rejected, again.replaced) == (11, 0, 0, 11)
    assert len(store.read_calls(PRACTICE)) == 11


def test_ingest_by_format_name_with_problems(store):
    res = ingest_file(store, XON / "call_report_with_problems.csv", PRACTICE, fmt="xon_surgery_connect")
    assert (res.rows_read, res.written, res.duplicates, res.rejected, res.rows_skipped) == (12, 2, 1, 7, 2)
    assert res.rows_read == res.records + res.rows_merged + res.rows_skipped
    assert res.unknown == Counter({"Transferred": 2})
    rejects = pd.read_csv(res.rejects_path)
    assert rejects["line"].tolist() == [6, 7, 10, 11, 13, 15, 16]
    assert not rejects["text"].astype(str).str.contains(r"\d{7}").any()
    again = ingest_file(store, XON / "call_report_with_problems.csv", PRACTICE, fmt="xon_surgery_connect")
    assert (again.written, again.duplicates, again.rejected, again.replaced) == (2, 1, 7, 2)


def test_ingest_auto_detects_windows_1252(store):
    res = ingest_file(store, XON / "call_report_windows1252.csv", PRACTICE)
    assert (res.format, res.written, res.rejected) == ("xon_surgery_connect", 4, 0)
    calls = store.read_calls(PRACTICE)
    assert "Repeat Prescriptions – Option 2" in set(calls["line"])
    assert calls["start_utc"].min() == pd.Timestamp("2026-02-02 08:30", tz="UTC")


def test_header_row_and_a_wrong_skip_lines(acme_report):
    by_skip = read_all(mapping_format(load_mapping(ACME_TOML)), acme_report)[0]
    by_row = read_all(mapping_format(load_mapping(ACME_TOML.replace("skip_lines = 2", "header_row = 3"))), acme_report)[0]
    pd.testing.assert_frame_equal(by_skip, by_row)
    wrong = mapping_format(load_mapping(ACME_TOML.replace("skip_lines = 2", "skip_lines = 0")))
    assert wrong.sniff(open_source(acme_report)) == 0.0
    with pytest.raises(BadInputError) as exc:
        list(wrong.read(open_source(acme_report), ReadContext()))
    assert str(exc.value).startswith(
        "acme_calls.csv: not a acme_voice report: missing column(s) date = 'Call Date'; time = 'Call Time';"
    )
    assert str(exc.value).endswith(
        "(header on line 1: 'Acme Voice - Call Detail Report'). Check the export settings, or fix "
        "[columns] in <mapping text>."
    )


def test_mapping_encoding_overrides_detection(tmp_path):
    # These Windows-1252 bytes happen to be valid UTF-8 too ("Ã©" is C3 A9): detection says
    # UTF-8 and reads "é"; the mapping knows better.
    path = tmp_path / "r.csv"
    path.write_bytes("When,Result,Talk,Queue\n05/01/2026 08:00,Answered,60,CafÃ©\n".encode("cp1252"))
    text = 'name = "enc"\ntitle = "E"\n[columns]\nstart = "When"\noutcome = "Result"\ntalk = "Talk"\nline = "Queue"\n[outcomes]\n"Answered" = "answered"\n'
    detected = read_all(mapping_format(load_mapping(text)), path)[0]
    assert detected["line"].tolist() == ["Café"]
    forced = read_all(mapping_format(load_mapping(text + '[file]\nencoding = "windows-1252"\n')), path)[0]
    assert forced["line"].tolist() == ["CafÃ©"]


def test_mapping_timezone_clock_change_across_chunks(tmp_path, monkeypatch):
    """Europe/Dublin goes back an hour on 25 Oct 2026 like London: the repeated hour is
    resolved in file order, also when the file is read in many small chunks."""
    rows = ["When,Result,Talk"]
    times = ["00:50", "01:10", "01:30", "01:50", "01:05", "01:25", "01:45", "02:10"]
    rows += [f"25/10/2026 {t},Answered,60" for t in times]
    path = tmp_path / "dst.csv"
    path.write_text("\n".join(rows) + "\n")
    m = load_mapping(
        'name = "dublin"\ntitle = "D"\n[columns]\nstart = "When"\noutcome = "Result"\ntalk = "Talk"\n'
        '[datetime]\ntimezone = "Europe/Dublin"\n[outcomes]\n"Answered" = "answered"\n'
    )
    expected = [
        pd.Timestamp(t, tz="UTC")
        for t in [
            "2026-10-24 23:50", "2026-10-25 00:10", "2026-10-25 00:30", "2026-10-25 00:50",  # summer time
            "2026-10-25 01:05", "2026-10-25 01:25", "2026-10-25 01:45", "2026-10-25 02:10",  # winter time
        ]
    ]
    whole = read_all(mapping_format(m), path)[0]
    assert whole["start"].tolist() == expected
    # Blocks of ~60 bytes: two or three rows per chunk, the clock state carried between them.
    import functools

    monkeypatch.setattr(mp, "read_delimited", functools.partial(mp.read_delimited, block_bytes=60))
    calls, rejects, rows_read, skipped, _ = read_all(mapping_format(m), path)
    assert calls["start"].tolist() == expected
    assert calls["source_line"].tolist() == list(range(2, 10))
    assert rejects == [] and rows_read == 8
