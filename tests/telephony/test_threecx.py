"""3CX parsers (Call Reports CSV and CDR service records): golden calls, rejects, sniffing, ingest."""

from __future__ import annotations

import csv
import functools
from collections import Counter

import pandas as pd
import pytest

from telephony.errors import BadInputError
from telephony.formats import FORMATS, ReadContext
from telephony.formats import _records, threecx
from telephony.ingest import detect_format, ingest_file
from telephony.privacy import Pseudonymiser
from telephony.sources import open_source
from telephony.timeutil import localize

from tests.telephony.cloud_parser_checks import check_golden, conserved, read_all, reject_summary, utc
from tests.helpers import DATA, all_fixture_files

REPORT = FORMATS["threecx_report"]
CDR = FORMATS["threecx_cdr"]
INBOUND = FORMATS["threecx_inbound"]
REPORT_DIR = DATA / "threecx_report"
CDR_DIR = DATA / "threecx_cdr"
INBOUND_DIR = DATA / "threecx_inbound"


def read_with(fmt, path, **ctx):
    """Like ``read_all``, with a ReadContext and the readers' notes."""
    chunks = list(fmt.read(open_source(path), ReadContext(**ctx)))
    calls = pd.concat([c.calls for c in chunks if len(c.calls)], ignore_index=True)
    notes = [n for c in chunks for n in c.notes]
    return calls, [r for c in chunks for r in c.rejects], notes


# ============================================================================ Call Reports

C = "00000191A2B3C4D5_"
# call id: (start UTC, direction, line, caller, outcome, wait, talk, agent, n_rows, source_line)
REPORT_GOLDEN = {
    C + "25": (utc("2026-01-05 09:30:00"), "outbound", None, "07700 900150", "answered", 12.0, 150.0, "201", 1, 2),
    C + "24": (utc("2026-01-05 09:10:00"), "internal", None, "202", "answered", 5.0, 60.0, "201", 1, 3),
    C + "23": (utc("2026-01-05 08:45:30"), "inbound", "Prescriptions", "07700900104", "abandoned", 70.0, 0.0, None, 1, 4),
    C + "22": (utc("2026-01-05 08:30:00"), "inbound", "Reception", "+447700900103", "missed", 300.0, 0.0, None, 1, 5),
    # The 40 s of Talking is the message left: voicemail, not a conversation.
    C + "21": (utc("2026-01-05 08:15:00"), "inbound", "Reception", "Anonymous", "voicemail", 120.0, 0.0, None, 1, 6),
    # Two rows, one Call ID (transferred): wait up to the first answer, talk summed, agent
    # from "answered by" in the first row's details; first line is the newer row's (file is
    # newest first).
    C + "20": (utc("2026-01-05 08:00:12"), "inbound", "Reception", "07700900102", "answered", 40.0, 290.0, "202", 2, 7),
    C + "19": (utc("2026-01-05 07:59:00"), "inbound", "Reception", "07700 900101", "answered", 65.0, 240.0, "202", 1, 9),
    # Direct inbound (no queue): the line is the number called.
    C + "18": (utc("2026-01-04 18:30:00"), "inbound", "01632 960000", "020 7946 0123", "missed", 20.0, 0.0, None, 1, 10),
}


def test_report_golden_day_first_newest_first():
    r = read_all(REPORT, REPORT_DIR / "CallReport.csv")
    check_golden(r.calls, REPORT_GOLDEN)
    # Wall-clock times stay naive for the ingest to localise.
    assert r.calls["start"].dt.tz is None
    assert r.rejects == [] and not r.unknown and not r.skipped
    assert r.rows_read == 9 and conserved(r)


def test_report_iso_semicolon_bom_summer_time():
    r = read_all(REPORT, REPORT_DIR / "CallReport_iso_semicolon.csv")
    # No Call ID column: ids left null for the ingest to hash. Keyed by source line.
    assert r.calls["call_id"].isna().all()
    check_golden(
        r.calls,
        {
            # July: 08:00:05 BST is 07:00:05 UTC.
            2: (utc("2026-07-06 07:00:05"), "inbound", "Reception", "07700900110", "answered", 30.0, 120.0, None, 1, 2),
            3: (utc("2026-07-06 07:05:00"), "inbound", "Reception", "447700900111", "abandoned", 45.0, 0.0, None, 1, 3),
            4: (utc("2026-07-06 08:00:00"), "outbound", None, "+447700900112", "missed", 25.0, 0.0, "202", 1, 4),
        },
        key="source_line",
    )
    assert conserved(r)


def test_report_with_problems():
    r = read_all(REPORT, REPORT_DIR / "CallReport_with_problems.csv")
    check_golden(
        r.calls,
        {
            # A quoted name with a comma, the number from the parenthesis.
            C + "30": (utc("2026-01-05 10:00:00"), "inbound", "Reception", "07700900120", "answered", 20.0, 100.0, "202", 1, 4),
            # Unknown words keep the call: the status's outcome and the direction are unknown.
            C + "31": (utc("2026-01-05 10:05:00"), "inbound", "Reception", "07700900121", "unknown", 10.0, 0.0, None, 1, 6),
            C + "33": (utc("2026-01-05 10:10:00"), "unknown", "800", "07700900123", "answered", 10.0, 60.0, "800", 1, 8),
        },
    )
    assert reject_summary(r.rejects) == [
        (7, "call time missing or unreadable", 1),
        (9, "call still in progress", 1),
        (11, "expected 10 fields, found 4", 1),
    ]
    assert r.skipped == Counter({"totals row": 1, "blank line": 1})
    assert r.unknown == Counter({"status 'Parked'": 1, "direction 'Sideways'": 1})
    # Reject texts never carry a phone number.
    assert all("0770090" not in x.text for x in r.rejects)
    assert r.rows_read == 8 and conserved(r)


def test_report_words_for_calls_that_never_reached_a_person(tmp_path):
    """The closed message, a call-back request and an IVR hang-up each have their outcome
    (words unverified, see the module Notes); calls that never queued have no wait."""
    path = tmp_path / "CallReport.csv"
    path.write_text(
        "Call Time,Call ID,From,To,Direction,Status,Ringing,Talking,Cost,Call Activity Details\n"
        f"05/01/2026 19:00:00,{C}40,07700900130,Out of hours (01632 960001),Inbound,Out of Office Hours,00:00:00,00:00:00,0.00,\n"
        f"05/01/2026 19:05:00,{C}41,07700900131,Out of hours (01632 960001),Inbound,outside office hours,00:00:00,00:00:00,0.00,\n"
        f"05/01/2026 08:10:00,{C}42,07700900132,Reception (800),Inbound Queue,Callback Requested,00:03:20,00:00:00,0.00,\n"
        f"05/01/2026 08:11:00,{C}43,07700900133,Main IVR (01632 960001),Inbound,Abandoned in IVR,00:00:00,00:00:00,0.00,\n"
        f"05/01/2026 08:12:00,{C}44,07700900134,Main IVR (01632 960001),Inbound,Abandoned in Digital Receptionist,00:00:07,00:00:00,0.00,\n"
    )
    r = read_all(REPORT, path)
    check_golden(
        r.calls,
        {
            C + "40": (utc("2026-01-05 19:00"), "inbound", "01632 960001", "07700900130", "closed", None, 0.0, None, 1, 2),
            C + "41": (utc("2026-01-05 19:05"), "inbound", "01632 960001", "07700900131", "closed", None, 0.0, None, 1, 3),
            C + "42": (utc("2026-01-05 08:10"), "inbound", "Reception", "07700900132", "callback", 200.0, 0.0, None, 1, 4),
            C + "43": (utc("2026-01-05 08:11"), "inbound", "01632 960001", "07700900133", "ivr_abandoned", None, 0.0, None, 1, 5),
            C + "44": (utc("2026-01-05 08:12"), "inbound", "01632 960001", "07700900134", "ivr_abandoned", None, 0.0, None, 1, 6),
        },
    )
    assert r.rejects == [] and not r.unknown and conserved(r)
    assert REPORT.sniff(open_source(path)) == 1.0


def test_report_xlsx_reads_like_csv(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    with open(REPORT_DIR / "CallReport.csv", newline="") as fh:
        for row in csv.reader(fh):
            ws.append(row)
    path = tmp_path / "CallReport.xlsx"
    wb.save(path)
    assert REPORT.sniff(open_source(path)) == 1.0
    r = read_all(REPORT, path)
    check_golden(r.calls, REPORT_GOLDEN)


V20 = REPORT_DIR / "CallLog_v20_ai_columns.csv"
C20 = "00000194A1B2C3D4_"


def test_report_v20_call_log_with_ai_columns_and_leg_statuses():
    """ISO times, a Totals line, and V20's leg statuses: Waiting (the queue leg before the agent's
    Answered leg) and Redirected (passed on) do not say how the call ended."""
    assert REPORT.sniff(open_source(V20)) == 1.0
    r = read_all(REPORT, V20)
    check_golden(
        r.calls,
        {
            C20 + "5": (utc("2026-01-06 09:15:00"), "outbound", None, "07700900355", "answered", 8.0, 120.0, "201", 1, 2),
            # Waited 1:30 in the queue, rang Sam Jones 5 s: the agent is the answering leg's To.
            C20 + "4": (utc("2026-01-06 08:40:00"), "inbound", "Reception", "07700900354", "answered", 95.0, 180.0, "202", 2, 3),
            # Redirected by the queue to Dr Patel, who did not answer: missed.
            C20 + "3": (utc("2026-01-06 08:30:00"), "inbound", "Reception", "07700900353", "missed", 50.0, 0.0, None, 2, 5),
            # Only a Redirected leg: how it ended is not in the report.
            C20 + "2": (utc("2026-01-06 08:20:00"), "inbound", "Care team", "07700900352", "unknown", 25.0, 0.0, None, 1, 7),
            C20 + "1": (utc("2026-01-06 08:10:00"), "inbound", "Reception", "07700900351", "missed", 130.0, 0.0, None, 1, 8),
        },
    )
    assert r.skipped == Counter({"totals row": 1})
    assert not r.unknown
    _, _, notes = read_with(REPORT, V20)
    assert notes == [threecx._LEGS_ONLY_NOTE]


def test_report_row_dated_9999_rejects_that_row_only():
    r = read_all(REPORT, V20)
    assert reject_summary(r.rejects) == [(9, "call time '9999-01-06T08:05:00' is out of range", 1)]
    assert len(r.calls) == 5 and conserved(r)


def test_report_ai_columns_never_reach_the_store_or_the_rejects(store):
    """Sentiment, Summary and Transcription are free text about what a caller said."""
    text = V20.read_text()
    assert "PRIVATE-TRANSCRIPT-MARKER" in text and "PRIVATE-SUMMARY-MARKER" in text
    res = ingest_file(store, V20, "A81001")
    assert res.rejected == 1
    found = []
    for f in store.root.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            found += [(f.name, m) for m in (b"PRIVATE-", b"Jo Bloggs", b"repeat prescription", b"Neutral") if m in data]
    assert found == []
    said = " ".join([res.summary(), *res.notes, str(dict(res.unknown))])
    assert "PRIVATE-" not in said


def test_report_live_statuses_are_rejected_to_export_again(tmp_path):
    path = tmp_path / "report.csv"
    path.write_text(
        "Call Time,Call ID,From,To,Direction,Status,Ringing,Talking,Cost\n"
        "05/01/2026 08:00:00,X_1,07700900101,Reception (800),Inbound Queue,Talking,00:00:10,00:01:00,0.00\n"
        "05/01/2026 08:01:00,X_2,07700900102,Reception (800),Inbound Queue,In Progress,00:00:10,00:00:00,0.00\n"
        "05/01/2026 08:02:00,X_3,07700900103,Reception (800),Inbound Queue,Answered,00:00:10,00:01:00,0.00\n"
    )
    r = read_all(REPORT, path)
    assert reject_summary(r.rejects) == [(2, "call still in progress", 1), (3, "call still in progress", 1)]
    assert r.calls["call_id"].tolist() == ["X_3"]


def test_inbound_calls_report_forced_as_threecx_report_names_the_right_format():
    with pytest.raises(BadInputError, match="Inbound Calls report.*`fmt` threecx_inbound"):
        list(REPORT.read(open_source(INBOUND_DIR / "InboundCalls.csv"), ReadContext()))


@pytest.mark.parametrize(
    "cell, name, number",
    [
        ("Jo Bloggs (07700900123)", "Jo Bloggs", "07700900123"),
        ("Reception (800)", "Reception", "800"),
        ("07700 900123", None, "07700 900123"),
        ("Smith (Dr) (201)", "Smith (Dr)", "201"),
        ("Jo <+447700900123>", "Jo", "+447700900123"),
        ("Reception", "Reception", None),
        ("Anonymous", None, "Anonymous"),
        ("", None, None),
    ],
)
def test_split_party(cell, name, number):
    n, num = threecx.split_party(pd.Series([cell], dtype="string"))
    assert (None if pd.isna(n.iloc[0]) else n.iloc[0]) == name
    assert (None if pd.isna(num.iloc[0]) else num.iloc[0]) == number


# ============================================================================ CDR service

CDR_GOLDEN = {
    "1001": (utc("2026-01-05 08:00:12"), "inbound", "Reception", "07700900101", "answered", 48.0, 240.0, "201", 1, 2),
    "1002": (utc("2026-01-05 08:10:00"), "inbound", "Reception", "+447700900102", "abandoned", 90.0, 0.0, None, 1, 3),
    # The IVR "answered" (time-answered set) but nobody spoke to the caller.
    "1003": (utc("2026-01-05 08:20:00"), "inbound", "Main menu", "07700 900103", "ivr_abandoned", None, 0.0, None, 1, 4),
    "1004": (utc("2026-01-05 08:30:00"), "inbound", "Reception", "447700900104", "voicemail", 40.0, 0.0, None, 1, 5),
    # Two records, one callid: first answer at 08:40:20 by 202, then transferred to 201.
    "1005": (utc("2026-01-05 08:40:00"), "inbound", "Reception", "07700900105", "answered", 20.0, 280.0, "202", 2, 6),
    "1006": (utc("2026-01-05 09:00:00"), "outbound", None, "07700900150", "answered", 15.0, 120.0, "201", 1, 8),
    "1007": (utc("2026-01-05 09:10:00"), "internal", None, "202", "answered", 4.0, 60.0, "201", 1, 9),
    "1008": (utc("2026-01-05 09:20:00"), "inbound", "Reception", "02079460108", "failed", None, 0.0, None, 1, 10),
    # Ended by the IVR itself, never queued: the out-of-hours message.
    "1009": (utc("2026-01-05 19:00:00"), "inbound", "Closed message", "07700900109", "closed", None, 0.0, None, 1, 11),
}


def test_cdr_golden_with_header():
    r = read_all(CDR, CDR_DIR / "cdr_with_header.csv")
    check_golden(r.calls, CDR_GOLDEN)
    assert str(r.calls["start"].dt.tz) == "UTC"
    assert r.rejects == [] and not r.unknown
    assert r.rows_read == 10 and conserved(r)


def test_cdr_without_header_and_without_callid_times_is_taken_as_utc():
    calls, rejects, notes = read_with(CDR, CDR_DIR / "cdr_no_header.log")
    check_golden(
        calls,
        {
            # July, but nothing tells the clock: 08:00:12 is taken as UTC (not BST).
            "2001": (utc("2026-07-06 08:00:12"), "inbound", "Reception", "+447700900110", "answered", 30.0, 180.0, "202", 1, 1),
            "2002": (utc("2026-07-06 08:05:00"), "inbound", "Reception", "07700900111", "missed", 300.0, 0.0, None, 1, 2),
            # Rang an extension directly and the caller gave up.
            "2003": (utc("2026-07-06 08:20:00"), "inbound", "201", "01632960112", "abandoned", 18.0, 0.0, None, 1, 3),
        },
    )
    assert rejects == []
    assert any("taken as UTC" in n for n in notes)


def test_cdr_without_callid_times_reads_wall_clock_in_the_zone_given():
    """With a zone given and no callid time to check against, times are the PBX's wall clock."""
    calls, _, notes = read_with(CDR, CDR_DIR / "cdr_no_header.log", timezone="Europe/London")
    assert calls["start"].dt.tz is None
    start = localize(calls.set_index("call_id")["start"], "Europe/London")
    assert start["2001"] == utc("2026-07-06 07:00:12")  # 08:00:12 BST
    assert any("local time in the zone given" in n for n in notes)


# The 2020 v16 file's quirks, in synthetic form: no header, "Call 7001" history ids, Ext.NNN
# parties, 2026/07/06 times in local time (BST) with callids counting UTC milliseconds since
# 1970, party types Internal/External, reasons Failed_Cancelled, NoRouteExists, RouteBusy,
# NotAvailable, Connected, the EndCall, MakeCall and PlayFile pseudo-parties.
V16 = CDR_DIR / "cdr_v16_internal_external_local_clock.log"
# source line: (start UTC, direction, line, caller, outcome, wait, talk, agent, n_rows, source_line)
V16_GOLDEN = {
    # The reception DN answered at once and passed the call to 201 (ReplacedDst): answered, but
    # the answer time is the DN's, so the wait is unknown and the talk includes the queueing.
    1: (utc("2026-07-06 07:00:05"), "inbound", "800", "07700900301", "answered", None, 250.0, "201", 1, 1),
    # Answered at once by the DN, nobody took it over, the caller hung up: abandoned in 95 s.
    2: (utc("2026-07-06 07:02:00"), "inbound", "800", "01632960302", "abandoned", 95.0, 0.0, None, 1, 2),
    # The DN is listed in missed-queue-calls: it did not answer.
    3: (utc("2026-07-06 07:05:00"), "inbound", "800", "02079460303", "abandoned", 1.0, 0.0, None, 1, 3),
    # Rang 12 s before a person answered: not the PBX.
    4: (utc("2026-07-06 07:10:00"), "inbound", "202", "+447700900304", "answered", 12.0, 180.0, "202", 1, 4),
    # QFwdToDNA: the queue forwarded the call to 203, who answered.
    5: (utc("2026-07-06 07:20:00"), "inbound", "801", "07700900305", "answered", None, 400.0, "203", 1, 5),
    # Sent to EndCall (typed External): turned away, not answered by an outside party.
    6: (utc("2026-07-06 18:30:00"), "inbound", "EndCall", "07700900306", "closed", None, 0.0, None, 1, 6),
    7: (utc("2026-07-06 08:00:00"), "internal", None, "202", "abandoned", 15.0, 0.0, None, 1, 7),  # Failed_Cancelled
    8: (utc("2026-07-06 08:05:00"), "outbound", None, "07700900307", "failed", None, 0.0, "201", 1, 8),  # NoRouteExists
    9: (utc("2026-07-06 08:10:00"), "internal", None, "201", "busy", None, 0.0, None, 1, 9),  # RouteBusy
    10: (utc("2026-07-06 08:15:00"), "inbound", "203", "07700900308", "missed", 25.0, 0.0, None, 1, 10),  # NotAvailable
    # Connected + PickedUp: 203 picked the call up; no answer time is written.
    11: (utc("2026-07-06 08:20:00"), "inbound", "202", "07700900309", "answered", None, 0.0, "203", 1, 11),
    # MakeCall and PlayFile are typed External but are calls the PBX placed: never inbound.
    12: (utc("2026-07-06 08:25:00"), "internal", None, None, "answered", None, 40.0, "202", 1, 12),
    13: (utc("2026-07-06 08:30:00"), "internal", None, None, "answered", 4.0, 7.0, "202", 1, 13),
    14: (utc("2026-07-06 08:35:00"), "inbound", "800", "anonymous", "answered", None, 120.0, "202", 1, 14),
    15: (utc("2026-07-06 08:40:00"), "outbound", None, "07700900310", "answered", 9.0, 300.0, "201", 1, 15),
}


def test_cdr_v16_headerless_file_with_internal_external_types_is_recognised():
    src = open_source(V16)
    assert CDR.sniff(src) == 1.0
    assert detect_format(src).name == "threecx_cdr"


def test_cdr_v16_internal_external_types_and_reason_words_keep_every_call():
    calls, rejects, notes = read_with(CDR, V16)
    check_golden(calls, V16_GOLDEN, key="source_line")
    assert rejects == []
    chunks = list(CDR.read(open_source(V16), ReadContext()))
    assert sum((c.unknown for c in chunks), Counter()) == Counter()
    # Internal DNs do not say whether a menu came first: no IVR time, but for the EndCall call.
    ivr = calls.set_index("source_line")["ivr_s"]
    assert ivr[6] == 0.0 and ivr.drop(6).isna().all()


def test_cdr_local_clock_is_converted_to_utc_with_the_time_each_callid_carries():
    calls, _, notes = read_with(CDR, V16)
    # Written 08:00:05 (BST); the callid says 07:00:05.347 UTC.
    assert str(calls["start"].dt.tz) == "UTC"
    assert calls.set_index("source_line").loc[1, "start"] == utc("2026-07-06 07:00:05")
    assert notes == [
        "time-start is the PBX's local time, 1 h ahead of UTC on some calls (told by the time each "
        "callid carries): those calls were converted to UTC"
    ]
    # Another zone given does not override what the callids say.
    again, _, _ = read_with(CDR, V16, timezone="America/New_York")
    pd.testing.assert_series_equal(again["start"], calls["start"])


@pytest.mark.parametrize(
    "callid, unix, win",
    [
        # v16: milliseconds since 1970.
        ("0000019F363A1A63_3101", "2026-07-06 07:00:05.347", None),
        # Later versions: milliseconds since 1601.
        ("00000C32CE86BC70_6501", None, "2026-01-08 13:33:54.672"),
        ("1001", None, None),
        ("FFFFFFFFFFFFFFFF_1", None, None),
    ],
)
def test_callid_times_read_both_epochs(callid, unix, win):
    a, b = threecx.callid_times(pd.Series([callid], dtype="string"))
    for got, want in ((a.iloc[0], unix), (b.iloc[0], win)):
        assert (pd.isna(got) and want is None) or got == pd.Timestamp(want, tz="UTC")


def test_cdr_party_types_last_layout_is_chosen_from_the_values():
    path = CDR_DIR / "cdr_types_last_no_header.log"
    assert CDR.sniff(open_source(path)) == 1.0
    calls, rejects, notes = read_with(CDR, path)
    check_golden(
        calls,
        {
            # Two records, one callid: 20 s in the menu, 45 s queued, then Dr Patel (201).
            1: (utc("2026-01-07 09:00:00"), "inbound", "Main menu", "07700900320", "answered", 45.0, 180.0, "201", 2, 1),
            3: (utc("2026-01-07 09:10:00"), "inbound", "Reception", "07700900321", "abandoned", 120.0, 0.0, None, 1, 3),
            4: (utc("2026-01-07 09:20:00"), "outbound", None, "07700900322", "answered", 12.0, 120.0, "202", 1, 4),
        },
        key="source_line",
    )
    assert calls.set_index("source_line")["ivr_s"].tolist()[:2] == [20.0, 0.0]
    assert rejects == []
    # The callids count from 1601 and agree with time-start: UTC, nothing to convert.
    assert notes == ["CDR fields without a header read in the party types last (chosen from the values)"]


def test_cdr_20_fields_without_types_tells_parties_from_their_numbers():
    path = CDR_DIR / "cdr_20_fields_no_types.log"
    assert CDR.sniff(open_source(path)) == 1.0
    calls, rejects, notes = read_with(CDR, path)
    check_golden(
        calls,
        {
            1: (utc("2026-01-08 13:33:54"), "inbound", "960", "+447700900330", "answered", None, 337.0, "504", 1, 1),
            2: (utc("2026-01-08 13:40:00"), "outbound", None, "07700900331", "answered", 8.0, 70.0, "504", 1, 2),
            3: (utc("2026-01-08 13:45:00"), "inbound", "960", "07700900332", "abandoned", 45.0, 0.0, None, 1, 3),
        },
        key="source_line",
    )
    assert rejects == []
    assert any("without party types" in n for n in notes)


def test_cdr_header_without_types_as_a_script_writes_it(tmp_path):
    """A public export script writes a 20-field header (no types) above the records."""
    path = tmp_path / "3CXDailyCallLog.log"
    path.write_text(
        ",".join(threecx.CDR_FIELDS[:20]) + "\n"
        "Call 5,00000C32CE90E600_7,00:00:30,2026/01/08 13:45:00,2026/01/08 13:45:09,2026/01/08 13:45:39,"
        "TerminatedBySrc,07700900340,Ext.202,10021,202,202,,,,,,,,Chain: 07700900340;Ext.202;\n"
    )
    assert CDR.sniff(open_source(path)) == 1.0
    calls, rejects, _ = read_with(CDR, path)
    check_golden(
        calls,
        {"00000C32CE90E600_7": (utc("2026-01-08 13:45:00"), "inbound", "202", "07700900340", "answered", 9.0, 30.0, "202", 1, 2)},
    )


def test_cdr_unknown_words_keep_the_call_and_are_counted():
    r = read_all(CDR, CDR_DIR / "cdr_with_problems.csv")
    check_golden(
        r.calls,
        {
            "3001": (utc("2026-01-06 08:00:00"), "inbound", "Reception", "07700900120", "answered", 30.0, 120.0, "201", 1, 2),
            # Unknown reason-terminated on an unanswered call: it would decide the outcome.
            "3002": (utc("2026-01-06 08:05:00"), "inbound", "800", "07700900121", "unknown", 60.0, 0.0, None, 1, 4),
            # Unknown to-type where the call ended.
            "3003": (utc("2026-01-06 08:10:00"), "inbound", "800", "07700900122", "unknown", None, 0.0, None, 1, 5),
            # Unknown reason-terminated on an answered call: it decides nothing.
            "3005": (utc("2026-01-06 08:20:00"), "inbound", "800", "07700900124", "answered", 10.0, 60.0, "202", 1, 7),
        },
    )
    assert r.unknown == Counter(
        {"to-type 'Spaceship'": 1, "reason-terminated 'TerminatedByAlien'": 1, "reason-terminated 'TerminatedByMoon'": 1}
    )
    assert r.skipped == Counter({"blank line": 1})
    assert r.rows_read == 8 and conserved(r)


def test_cdr_row_dated_9999_rejects_that_row_only():
    r = read_all(CDR, CDR_DIR / "cdr_with_problems.csv")
    assert reject_summary(r.rejects) == [
        (6, "time-start missing or unreadable", 1),
        (8, "time-start '9999-01-06 08:25:00' is out of range", 1),
        (9, "expected 27 fields, found 6", 1),
    ]
    assert len(r.calls) == 4


def test_cdr_chain_numbers_go_nowhere(store, key):
    """The chain lists every hop, numbers included: 07700 900999 is only there (a forward
    tried on the way): nothing of it may reach the store, the summary or its notes."""
    assert "07700900999" in V16.read_text()
    res = ingest_file(store, V16, "A81001")
    calls = store.read_calls()
    hidden = Pseudonymiser(key).caller_key("07700900999")
    assert hidden not in set(calls["caller_key"].dropna()) | set(calls["agent_key"].dropna())
    said = " ".join([res.summary(), repr(res), *res.notes, str(dict(res.unknown))])
    assert "900999" not in said
    for f in store.root.rglob("*"):
        if f.is_file():
            assert b"900999" not in f.read_bytes(), f
    # The callers are pseudonymised; the DN a call went to is its line, never a chain number.
    assert set(calls["line"].dropna()) == {"800", "801", "202", "203", "EndCall"}


# ============================================================================ all three

DIRS = {"threecx_report": REPORT_DIR, "threecx_cdr": CDR_DIR, "threecx_inbound": INBOUND_DIR}

OWN = {
    "threecx_report": sorted(REPORT_DIR.iterdir()),
    "threecx_cdr": sorted(CDR_DIR.iterdir()),
    "threecx_inbound": sorted(INBOUND_DIR.iterdir()),
}


@pytest.mark.parametrize("name", sorted(OWN))
def test_sniff_sure_of_own_files(name):
    for p in OWN[name]:
        assert FORMATS[name].sniff(open_source(p)) == 1.0, p.name


@pytest.mark.parametrize("name", sorted(OWN))
def test_sniff_below_sure_on_other_formats(name):
    others = [p for p in all_fixture_files() if p not in OWN[name]]
    assert others
    for p in others:
        try:
            src = open_source(p)
        except Exception:
            continue
        assert FORMATS[name].sniff(src) < 0.9, p


def test_not_3cx_raises_bad_input():
    queue_log = DATA / "asterisk_queue_log" / "queue_log"
    with pytest.raises(BadInputError, match="not a threecx_report export"):
        list(REPORT.read(open_source(queue_log), ReadContext()))
    # A call report is not CDR output: too few fields and no CDR header.
    with pytest.raises(BadInputError, match="not a threecx_cdr export"):
        list(CDR.read(open_source(REPORT_DIR / "CallReport.csv"), ReadContext()))


@pytest.mark.parametrize("name", sorted(OWN))
def test_rows_conserved_in_every_fixture(name):
    for p in OWN[name]:
        assert conserved(read_all(FORMATS[name], p)), p.name


@pytest.mark.parametrize(
    "name, file",
    [
        ("threecx_report", "CallReport.csv"),
        ("threecx_report", "CallReport_with_problems.csv"),
        ("threecx_report", "CallLog_v20_ai_columns.csv"),
        ("threecx_cdr", "cdr_with_header.csv"),
        ("threecx_cdr", "cdr_with_problems.csv"),
        ("threecx_cdr", "cdr_v16_internal_external_local_clock.log"),
        ("threecx_inbound", "InboundCalls.csv"),
    ],
)
def test_small_blocks_give_the_same_calls(monkeypatch, name, file):
    path = DIRS[name] / file
    whole = read_all(FORMATS[name], path)
    # Blocks of ~100 bytes, about a row each: a call's rows fall in different chunks and
    # must still be joined, whichever order the file is in (the report is newest first).
    monkeypatch.setattr(_records, "read_delimited", functools.partial(_records.read_delimited, block_bytes=100))
    small = read_all(FORMATS[name], path)
    cols = ["call_id", "start", "outcome", "ivr_s", "wait_s", "talk_s", "agent", "n_rows", "source_line"]
    a = whole.calls.sort_values("source_line")[cols].reset_index(drop=True)
    b = small.calls.sort_values("source_line")[cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    assert sorted((x.line, x.reason) for x in whole.rejects) == sorted((x.line, x.reason) for x in small.rejects)
    assert conserved(small)


@pytest.mark.parametrize(
    "name, file, written, rejected",
    [
        ("threecx_report", "CallReport.csv", 8, 0),
        ("threecx_report", "CallReport_iso_semicolon.csv", 3, 0),
        ("threecx_report", "CallReport_with_problems.csv", 3, 3),
        ("threecx_report", "CallLog_v20_ai_columns.csv", 5, 1),
        ("threecx_cdr", "cdr_with_header.csv", 9, 0),
        ("threecx_cdr", "cdr_no_header.log", 3, 0),
        ("threecx_cdr", "cdr_with_problems.csv", 4, 3),
        ("threecx_cdr", "cdr_v16_internal_external_local_clock.log", 15, 0),
        ("threecx_cdr", "cdr_types_last_no_header.log", 3, 0),
        ("threecx_cdr", "cdr_20_fields_no_types.log", 3, 0),
        ("threecx_inbound", "InboundCalls.csv", 10, 0),
        ("threecx_inbound", "InboundCalls_with_problems.csv", 2, 3),
    ],
)
def test_ingest_end_to_end(store, name, file, written, rejected):
    path = DIRS[name] / file
    r = ingest_file(store, path, "A81001")  # format sniffed
    assert r.format == name
    assert (r.written, r.duplicates, r.rejected) == (written, 0, rejected)
    assert r.rows_read == r.records + r.rows_merged + r.rows_skipped
    again = ingest_file(store, path, "A81001")
    assert (again.written, again.duplicates, again.replaced) == (written, 0, written)
    calls = store.read_calls()
    assert len(calls) == written
    assert (calls["source_format"] == name).all()
    if rejected:
        rej = pd.read_csv(r.rejects_path)
        assert len(rej) == rejected
        assert not rej["text"].fillna("").str.contains("0770090").any()


def test_ingest_report_pseudonymises_and_localises(store):
    ingest_file(store, REPORT_DIR / "CallReport.csv", "A81001", fmt="threecx_report")
    calls = store.read_calls().set_index("call_id")
    # Withheld caller: no pseudonym. The same number in two spellings: one pseudonym.
    assert pd.isna(calls.loc[C + "21", "caller_key"])
    ingest_file(store, REPORT_DIR / "CallReport_iso_semicolon.csv", "A81001", fmt="threecx_report")
    calls = store.read_calls()
    assert calls["start_utc"].min() == utc("2026-01-04 18:30:00")
    assert utc("2026-07-06 07:00:05") in set(calls["start_utc"])
    assert not calls["caller_key"].fillna("").str.contains("7700").any()


def test_unknown_words_never_carry_phone_numbers(tmp_path):
    # A row shifted by one field puts a number where the Direction word should be: the call is
    # kept (direction unknown) and the word is counted with its digits masked.
    path = tmp_path / "report.csv"
    path.write_text(
        "Call Time,Call ID,From,To,Direction,Status,Ringing,Talking,Cost\n"
        "05/01/2026 08:00:00,X_1,07700900101,Reception (800),Inbound Queue,Answered,00:00:10,00:01:00,0.00\n"
        "05/01/2026 08:05:00,X_2,Jo,Inbound Queue,07700900102,Answered,00:00:10,00:01:00,0.00\n"
    )
    r = read_all(REPORT, path)
    assert r.rejects == []
    assert r.calls.set_index("call_id")["direction"].to_dict() == {"X_1": "inbound", "X_2": "unknown"}
    assert r.unknown == Counter({"direction 'XXXXXXXXXXX'": 1})
