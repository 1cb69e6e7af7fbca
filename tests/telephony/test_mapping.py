"""Mapping files (TOML) for bespoke supplier reports, and the bundled X-on Surgery Connect one.

Golden values are computed by hand from the fixtures in ``tests/data/xon_surgery_connect/``
(UTF-8 with BOM and CRLF; Windows-1252 with the columns in another order; a file with a report
preamble and problems) and from reports built in ``tmp_path`` (a made-up supplier, workbooks).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from telephony.errors import BadInputError, MappingError
from telephony.formats import FORMATS, ReadContext
from telephony import tabular_mapping as tm
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


BUNDLED_HINT = "under [outcomes] in a copy of the bundled xon_surgery_connect.toml, given as `mapping`"
OUTCOME_LIST = "answered, callback, abandoned, ivr_abandoned, missed, voicemail, closed, busy, failed, unknown"


def read_notes(fmt, path: Path) -> list[str]:
    """Every note the reader left, in order."""
    return [n for ch in fmt.read(open_source(path), ReadContext()) for n in ch.notes]


def test_with_problems_exact_rejects():
    calls, rejects, rows, skipped, unknown = read_all(
        FORMATS["xon_surgery_connect"], XON / "call_report_with_problems.csv"
    )
    # The report title and period above the header were found and passed over.
    assert calls["source_line"].tolist() == [5, 6, 9, 12, 13, 15]
    assert calls["call_id"].tolist() == ["XON-300001", "XON-300002", "XON-300004", "XON-300001", "XON-300007", "XON-300008"]
    assert calls["outcome"].tolist() == ["answered", "unknown", "answered", "answered", "unknown", "unknown"]
    assert calls["agent"].tolist()[:3] == ["Reception 2", "Reception 2", "Patel, Anita"]  # quoted comma
    assert calls["caller"].tolist()[2] == "07700 900153"
    assert [(r.line, r.reason) for r in rejects] == [
        (7, "unreadable date/time '31/02/2026 08:02' in column 'Date/Time' (expected like 05/01/2026 08:30)"),
        (10, "unreadable wait 'abc' in column 'Wait Time' (durations format auto)"),
        (11, "talk time empty in column 'Talk Time' for an answered call"),
        (16, "expected 9 fields, found 2 (truncated, or a different layout)"),
    ]
    # Reject texts are masked: no caller number survives.
    assert all(not re.search(r"\d{7}", r.text) for r in rejects)
    assert "XXXXXXXXXXX" in rejects[0].text
    assert unknown == Counter({"Transferred": 2, "outcome (empty)": 1})
    assert skipped == Counter({"blank line": 2})
    assert rows == 12
    assert_conserved(calls, rejects, rows, skipped)


NOT_UNKNOWN = "answered, callback, abandoned, ivr_abandoned, missed, voicemail, closed, busy, failed"


def test_xon_unknown_outcome_words_keep_the_call_as_unknown():
    """'Transferred' is not in the bundled X-on mapping: the calls are demand all the same. They
    are kept with outcome unknown, the word counted, and a note says how to map it; an empty
    result is kept the same way. Talk time and agent are kept as reported (an unknown outcome
    may hide an answer)."""
    fmt = FORMATS["xon_surgery_connect"]
    calls, rejects, rows, skipped, unknown = read_all(fmt, XON / "call_report_unknown_outcomes.csv")
    assert rejects == [] and rows == 9
    got = [(r.call_id, r.outcome, r.talk_s, None if pd.isna(r.agent) else r.agent) for r in calls.itertuples()]
    assert got[:6] == [
        ("XON-400001", "answered", 120.0, "Reception 1"),
        ("XON-400002", "unknown", 95.0, "Reception 1"),
        ("XON-400003", "unknown", 0.0, None),
        ("XON-400004", "unknown", 30.0, "Reception 2"),
        ("XON-400005", "unknown", 0.0, None),
        ("XON-400006", "missed", 0.0, None),
    ]
    # One word whatever its case, counted under its first spelling.
    assert unknown == Counter({"Transferred": 2, "Forwarded To Mobile": 1, "outcome (empty)": 1})
    assert read_notes(fmt, XON / "call_report_unknown_outcomes.csv") == [
        "outcome 'Transferred' in column 'Result' is not in the mapping: calls kept as outcome unknown; "
        f'add "Transferred" = "<outcome>" {BUNDLED_HINT} (one of {NOT_UNKNOWN}) and ingest again',
        "outcome 'Forwarded To Mobile' in column 'Result' is not in the mapping: calls kept as outcome unknown; "
        f'add "Forwarded To Mobile" = "<outcome>" {BUNDLED_HINT} (one of {NOT_UNKNOWN}) and ingest again',
        "empty outcome in column 'Result': calls kept as outcome unknown; to give empty cells a meaning, "
        f'add "" = "<outcome>" {BUNDLED_HINT} (one of {NOT_UNKNOWN}) and ingest again',
    ]


def test_xon_unknown_outcomes_ingested_and_summarised(store):
    res = ingest_file(store, XON / "call_report_unknown_outcomes.csv", PRACTICE, fmt="xon_surgery_connect")
    assert (res.rows_read, res.written, res.rejected) == (9, 9, 0)
    assert res.unknown == Counter({"Transferred": 2, "Forwarded To Mobile": 1, "outcome (empty)": 1})
    assert len(res.notes) == 3
    assert res.summary().splitlines()[1].startswith("  note: outcome 'Transferred' in column 'Result' is not in the mapping")
    stored = store.read_calls(PRACTICE).set_index("call_id")["outcome"]
    assert sorted(stored[stored == "unknown"].index) == ["XON-400002", "XON-400003", "XON-400004", "XON-400005"]
    assert len(stored) == 9


def test_unknown_words_notes_are_bounded(tmp_path):
    """A report with hundreds of unknown words (a mis-mapped column) gets a bounded set of
    notes; every word is still counted."""
    rows = ["Date/Time,Call ID,Result,Talk Time"]
    rows += [f"05/01/2026 08:{i % 60:02d},C-{i},Word {i},00:00:10" for i in range(300)]
    path = tmp_path / "r.csv"
    path.write_text("\n".join(rows) + "\n")
    m = load_mapping('name = "w"\ntitle = "W"\n[columns]\nstart = "Date/Time"\ncall_id = "Call ID"\n'
                     'outcome = "Result"\ntalk = "Talk Time"\n[outcomes]\n"Answered" = "answered"\n')
    fmt = mapping_format(m)
    calls, rejects, rows_read, _, unknown = read_all(fmt, path)
    assert len(calls) == 300 and rejects == [] and set(calls["outcome"]) == {"unknown"}
    assert len(unknown) == 300 and sum(unknown.values()) == 300
    notes = read_notes(fmt, path)
    assert len(notes) == mp.NOTED_WORDS + 1
    assert notes[-1].startswith("more unknown words than are noted here")


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
        ("A-6", "2026-01-05 08:05:00", "unknown", "Main", "answered", 5.0, 20.0, "203", 9),
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
        # Declared hh:mm:ss: a bare number in a text report is a mistake, not seconds.
        (10, "unreadable wait '65' in column 'Queue Time' (durations format hh:mm:ss)"),
    ]
    assert unknown == Counter({"direction Sideways": 1})
    assert_conserved(calls, rejects, rows, skipped)


def test_made_up_supplier_unknown_direction_word_keeps_the_call(acme_report):
    """"Sideways" is no direction the mapping knows: the call is kept with direction unknown
    (left out of inbound metrics until mapped), counted, and a note says how to map it."""
    fmt = mapping_format(load_mapping(ACME_TOML))
    calls, *_ = read_all(fmt, acme_report)
    row = calls.set_index("call_id").loc["A-6"]
    assert (row.direction, row.outcome, row.talk_s, row.source_line) == ("unknown", "answered", 20.0, 9)
    assert read_notes(fmt, acme_report) == [
        "direction 'Sideways' in column 'Direction' is not in the mapping: calls kept as direction unknown; "
        'add "Sideways" = "<direction>" under [directions] in <mapping text> (one of inbound, outbound, internal) '
        "and ingest again"
    ]


def test_made_up_supplier_end_to_end_utc(store, acme_report):
    res = ingest_file(store, acme_report, PRACTICE, mapping=load_mapping(ACME_TOML))
    assert (res.format, res.written, res.duplicates, res.rejected, res.rows_read) == ("acme_voice", 7, 0, 1, 8)
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
            "  acme.toml:3: colour: unknown key or table. Fix: use one of name, title, supplier, example, notes, evidence, evidence_note, kind, file, columns, datetime, durations, outcomes, directions, short_missed (did you mean columns?)",
            "  acme.toml:6: file.skip_lines: expected a whole number 0 or more, got '2'. Fix: give the number of lines above the header, e.g. skip_lines = 2",
            "  acme.toml:7: file.delimeter: unknown key. Fix: use one of delimiter, skip_lines, header_row, encoding, sheet (did you mean delimiter?)",
            "  acme.toml:9: columns.talk: required key missing. Fix: add talk = \"<talk time column>\", or duration = \"<total duration column>\" or end = \"<end time column>\" to derive it",
            "  acme.toml:11: columns.caller_number: not a canonical column. Fix: use one of start, date, time, call_id, caller, dialled, direction, line, outcome, wait, talk, duration, end, agent (did you mean caller?)",
            "  acme.toml:15: datetime.format: '%d/%m/%Y %H:%Q' is not a strptime date format. Fix: use strptime codes, e.g. format = \"%d/%m/%Y %H:%M\" for 05/01/2026 08:30",
            "  acme.toml:16: datetime.timezone: 'Europe/Londn' is not an IANA timezone. Fix: use a name like \"Europe/London\", or leave it out to use the timezone the ingest is given",
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
    assert (res.rows_read, res.written, res.duplicates, res.rejected, res.rows_skipped) == (12, 5, 1, 4, 2)
    assert res.rows_read == res.records + res.rows_merged + res.rows_skipped
    assert res.unknown == Counter({"Transferred": 2, "outcome (empty)": 1})
    rejects = pd.read_csv(res.rejects_path)
    assert rejects["line"].tolist() == [7, 10, 11, 16]
    assert not rejects["text"].astype(str).str.contains(r"\d{7}").any()
    again = ingest_file(store, XON / "call_report_with_problems.csv", PRACTICE, fmt="xon_surgery_connect")
    assert (again.written, again.duplicates, again.rejected, again.replaced) == (5, 1, 4, 5)


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
    monkeypatch.setattr(tm, "read_delimited", functools.partial(tm.read_delimited, block_bytes=60))
    assert len(list(mapping_format(m).read(open_source(path), ReadContext()))) >= 3
    calls, rejects, rows_read, skipped, _ = read_all(mapping_format(m), path)
    assert calls["start"].tolist() == expected
    assert calls["source_line"].tolist() == list(range(2, 10))
    assert rejects == [] and rows_read == 8


# ----------------------------------------------------------------------------- robustness


def test_xon_report_with_dates_of_year_9999_and_1677_rejects_those_rows_only(store):
    """A placeholder 'never' date (31/12/9999) or a clock set to 1677 is outside the years that
    can be stored: that row is rejected saying so, the rest of the file is read."""
    calls, rejects, rows, skipped, _ = read_all(FORMATS["xon_surgery_connect"], XON / "call_report_dates_out_of_range.csv")
    assert calls["call_id"].tolist() == ["XON-500001", "XON-500003", "XON-500005"]
    assert [(r.line, r.reason) for r in rejects] == [
        (3, "date/time '31/12/9999 23:59' in column 'Date/Time' is out of range (years 1678 to 2261 can be stored)"),
        (5, "date/time '01/01/1677 00:00' in column 'Date/Time' is out of range (years 1678 to 2261 can be stored)"),
    ]
    assert_conserved(calls, rejects, rows, skipped)
    res = ingest_file(store, XON / "call_report_dates_out_of_range.csv", PRACTICE, fmt="xon_surgery_connect")
    assert (res.rows_read, res.written, res.rejected) == (5, 3, 2)
    assert (res.first_utc, res.last_utc) == (pd.Timestamp("2026-01-19 08:00", tz="UTC"), pd.Timestamp("2026-01-19 08:04", tz="UTC"))


def test_end_time_out_of_range_rejects_the_row(tmp_path):
    report = tmp_path / "r.csv"
    report.write_text("When,Result,Ended\n05/01/2026 10:00,Answered,05/01/2026 10:05\n05/01/2026 10:10,Answered,01/01/9999 00:00\n")
    m = load_mapping('name = "e"\ntitle = "E"\n[columns]\nstart = "When"\noutcome = "Result"\nend = "Ended"\n'
                     '[outcomes]\n"Answered" = "answered"\n')
    calls, rejects, *_ = read_all(mapping_format(m), report)
    assert calls["talk_s"].tolist() == [300.0]
    assert [(r.line, r.reason) for r in rejects] == [
        (3, "end time '01/01/9999 00:00' in column 'Ended' is out of range (years 1678 to 2261 can be stored)"),
    ]


def _one_problem(exc: pytest.ExceptionInfo) -> str:
    """The single problem line of a MappingError, checked to be short."""
    text = str(exc.value)
    lines = text.splitlines()
    assert len(lines) == 2 and lines[0].endswith("has 1 problem:"), text[:500]
    assert len(text) < 600
    return lines[1].strip()


DEEP_VALUES = (
    "<mapping text>:3: (syntax): values nested too deeply to be a mapping. Fix: a mapping's tables hold "
    "words and lists of headers, nested at most 4 levels: check the file is the mapping you meant"
)
DEEP_KEYS = (
    "<mapping text>:3: (syntax): a dotted key nested more than 8 levels deep. Fix: a mapping's keys are "
    "words, or [sections] one level deep: check the file is the mapping you meant"
)


@pytest.mark.parametrize(
    "nested, expected",
    [
        # Inline tables and arrays: tomllib recurses (RecursionError).
        ("x = " + "{a = " * 100_000 + "1" + "}" * 100_000, DEEP_VALUES.replace(":3:", ":")),
        ("x = " + "[" * 100_000 + "1" + "]" * 100_000, DEEP_VALUES.replace(":3:", ":")),
        # Dotted keys: tomllib takes time and memory quadratic in their length.
        ("[" + ".".join(["a"] * 100_000) + "]\nb = 1", DEEP_KEYS),
        ("x." + ".".join(["a"] * 100_000) + " = 1", DEEP_KEYS),
        ("x = { " + ".".join(["a"] * 100_000) + " = 1 }", DEEP_KEYS),
    ],
    ids=["inline-tables", "arrays", "dotted-table", "dotted-key", "dotted-inline-key"],
)
def test_mapping_nested_100k_tables_deep_is_a_mapping_error(nested, expected):
    text = 'name = "deep"\ntitle = "Deep"\n' + nested + "\n"
    with pytest.raises(MappingError) as exc:
        load_mapping(text)
    assert _one_problem(exc) == expected


def test_dots_in_strings_and_comments_are_not_nesting():
    text = XON_TOML.read_text(encoding="utf-8").replace(
        'notes = "Unverified', 'notes = """a.b.c.d.e.f.g.h.i.j.k\n1.2.3.4.5.6.7.8.9""" # ............\nx_notes = "Unverified'
    )
    with pytest.raises(MappingError) as exc:  # x_notes: only the stray key is wrong
        load_mapping(text)
    assert "x_notes: unknown key or table" in _one_problem(exc)


def test_mapping_nested_too_deep_names_its_key_and_line():
    text = 'name = "deep"\ntitle = "Deep"\n[outcomes]\n"Answered" = { outcome = { a = { b = { c = { d = 1 } } } } }\n'
    with pytest.raises(MappingError) as exc:
        load_mapping(text)
    assert _one_problem(exc) == (
        "<mapping text>:3: outcomes: nested more than 4 levels deep. Fix: a mapping's tables hold words and "
        "lists of headers: write each table as a [section] of key = value lines"
    )


@pytest.mark.parametrize("codec", ["rot13", "base64", "zlib", "hex", "undefined"])
def test_mapping_encoding_that_is_not_a_text_encoding(codec):
    text = XON_TOML.read_text(encoding="utf-8").replace('# encoding = "cp1252"', f'encoding = "{codec}"')
    with pytest.raises(MappingError) as exc:
        load_mapping(text)
    assert _one_problem(exc).endswith(
        f"file.encoding: '{codec}' is not a text encoding. Fix: use a Python codec name such as \"utf-8\", "
        "\"utf-8-sig\", \"cp1252\" or \"utf-16\", or leave it out to detect it"
    )


def test_mapping_with_a_100k_item_header_list_is_refused_in_a_short_message():
    headers = ", ".join(f'"Heading {i}"' for i in range(100_000))
    text = XON_TOML.read_text(encoding="utf-8").replace(
        'start = ["Date/Time", "Call Start", "Start Time"]', f"start = [{headers}]"
    )
    with pytest.raises(MappingError) as exc:
        load_mapping(text)
    assert _one_problem(exc).endswith(
        "columns.start: 100,000 alternative headers. Fix: list the few spellings your reports use (at most 50)"
    )


def test_missing_column_message_quotes_a_few_alternatives_only(tmp_path):
    """Fifty alternatives (the most allowed) are named by their first three and a count."""
    headers = ", ".join(f'"Heading {i}"' for i in range(50))
    m = load_mapping(XON_TOML.read_text(encoding="utf-8").replace(
        'start = ["Date/Time", "Call Start", "Start Time"]', f"start = [{headers}]"
    ).replace('name = "xon_surgery_connect"', 'name = "xon_many"'))
    with pytest.raises(BadInputError) as exc:
        list(mapping_format(m).read(open_source(XON / "call_report.csv"), ReadContext()))
    assert str(exc.value).startswith(
        "call_report.csv: not a xon_many report: missing column(s) start = 'Heading 0' or 'Heading 1' or "
        "'Heading 2' (or 47 more) (header on line 1: 'Date/Time', 'Call ID',"
    )
    assert len(str(exc.value)) < 500


def test_mapping_with_thousands_of_problems_lists_twenty():
    text = 'name = "many"\ntitle = "Many"\n' + "\n".join(f"key{i} = 1" for i in range(5000)) + "\n"
    with pytest.raises(MappingError) as exc:
        load_mapping(text)
    lines = str(exc.value).splitlines()
    assert lines[0] == "Mapping file <mapping text> has 5002 problems:"
    assert len(lines) == 22 and lines[-1] == "  ... and 4982 more (fix these first)"
    assert len(exc.value.problems) == 5002


def test_mapping_values_quoted_short_in_messages():
    text = 'name = "long"\ntitle = "Long"\n[columns]\nstart = "When"\noutcome = "R"\ntalk = "T"\n[outcomes]\n' \
        f'"Answered" = "{"x" * 100_000}"\n'
    with pytest.raises(MappingError) as exc:
        load_mapping(text)
    line = _one_problem(exc)
    assert line.startswith("<mapping text>:8: outcomes.Answered: 'xxxxxxxx") and "...' is not an outcome" in line


def test_a_report_given_as_the_mapping_file_is_refused(tmp_path):
    path = tmp_path / "big.toml"
    path.write_bytes(b"Date/Time,Call ID\n" * 80_000)
    with pytest.raises(MappingError) as exc:
        load_mapping(path)
    assert _one_problem(exc).endswith(
        "(file): 1,440,000 bytes is not a mapping file (a mapping is a page of text). "
        "Fix: check that `mapping` names the .toml mapping file, not the report"
    )


def test_cli_mapping_errors_are_one_message_never_a_frontdoor_bug(tmp_path):
    from click.testing import CliRunner

    from cli import main

    bad = tmp_path / "deep.toml"
    bad.write_text('name = "deep"\ntitle = "Deep"\nx = ' + "[" * 50_000 + "]" * 50_000 + "\n")
    rot = tmp_path / "rot.toml"
    rot.write_text(XON_TOML.read_text(encoding="utf-8").replace('# encoding = "cp1252"', 'encoding = "rot13"')
                   .replace('name = "xon_surgery_connect"', 'name = "xon_rot"'))
    for mapping in (bad, rot):
        res = CliRunner().invoke(
            main, ["ingest", "calls", str(XON / "call_report.csv"), "--practice", PRACTICE,
                   "--mapping", str(mapping), "--store", str(tmp_path / "store")],
        )
        assert res.exit_code == 1
        assert "Frontdoor bug" not in res.output and "Traceback" not in res.output
        assert res.output.startswith(f"Error: Mapping file {mapping.name} has 1 problem:")
