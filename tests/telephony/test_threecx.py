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
from telephony.ingest import ingest_file
from telephony.sources import open_source

from tests.telephony.cloud_parser_checks import check_golden, conserved, read_all, reject_summary, utc
from tests.helpers import DATA, all_fixture_files

REPORT = FORMATS["threecx_report"]
CDR = FORMATS["threecx_cdr"]
REPORT_DIR = DATA / "threecx_report"
CDR_DIR = DATA / "threecx_cdr"


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
    # The one good row: a quoted name with a comma, the number from the parenthesis.
    check_golden(
        r.calls,
        {C + "30": (utc("2026-01-05 10:00:00"), "inbound", "Reception", "07700900120", "answered", 20.0, 100.0, "202", 1, 4)},
    )
    assert reject_summary(r.rejects) == [
        (6, "unknown status 'Parked'", 1),
        (7, "call time missing or unreadable", 1),
        (8, "unknown direction 'Sideways'", 1),
        (9, "call still in progress", 1),
        (11, "expected 10 fields, found 4", 1),
    ]
    assert "threecx.STATUS_OUTCOMES" in next(x.reason for x in r.rejects if x.line == 6)
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


def test_cdr_without_header_times_are_utc():
    r = read_all(CDR, CDR_DIR / "cdr_no_header.log")
    check_golden(
        r.calls,
        {
            # July, but CDR times are UTC: 08:00:12 stays 08:00:12 UTC (not BST).
            "2001": (utc("2026-07-06 08:00:12"), "inbound", "Reception", "+447700900110", "answered", 30.0, 180.0, "202", 1, 1),
            "2002": (utc("2026-07-06 08:05:00"), "inbound", "Reception", "07700900111", "missed", 300.0, 0.0, None, 1, 2),
            # Rang an extension directly and the caller gave up.
            "2003": (utc("2026-07-06 08:20:00"), "inbound", "201", "01632960112", "abandoned", 18.0, 0.0, None, 1, 3),
        },
    )
    assert conserved(r)


def test_cdr_with_problems():
    r = read_all(CDR, CDR_DIR / "cdr_with_problems.csv")
    check_golden(
        r.calls,
        {
            "3001": (utc("2026-01-06 08:00:00"), "inbound", "Reception", "07700900120", "answered", 30.0, 120.0, "201", 1, 2),
            # Unknown reason-terminated on an answered call: kept (it decides nothing), counted.
            "3005": (utc("2026-01-06 08:20:00"), "inbound", "800", "07700900124", "answered", 10.0, 60.0, "202", 1, 7),
        },
    )
    assert reject_summary(r.rejects) == [
        (4, "unknown reason-terminated 'TerminatedByAlien'", 1),
        (5, "unknown DN type in from-type/to-type/final-type", 1),
        (6, "time-start missing or unreadable", 1),
        (8, "expected 27 fields, found 6", 1),
    ]
    assert r.unknown == Counter(
        {"to-type 'Spaceship'": 1, "reason-terminated 'TerminatedByAlien'": 1, "reason-terminated 'TerminatedByMoon'": 1}
    )
    assert r.skipped == Counter({"blank line": 1})
    assert r.rows_read == 7 and conserved(r)


# ============================================================================ both

OWN = {
    "threecx_report": sorted(REPORT_DIR.iterdir()),
    "threecx_cdr": sorted(CDR_DIR.iterdir()),
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
        ("threecx_cdr", "cdr_with_header.csv"),
        ("threecx_cdr", "cdr_with_problems.csv"),
    ],
)
def test_small_blocks_give_the_same_calls(monkeypatch, name, file):
    path = (REPORT_DIR if name == "threecx_report" else CDR_DIR) / file
    whole = read_all(FORMATS[name], path)
    # Blocks of ~100 bytes, about a row each: a call's rows fall in different chunks and
    # must still be joined, whichever order the file is in (the report is newest first).
    monkeypatch.setattr(_records, "read_delimited", functools.partial(_records.read_delimited, block_bytes=100))
    small = read_all(FORMATS[name], path)
    cols = ["call_id", "start", "outcome", "wait_s", "talk_s", "agent", "n_rows", "source_line"]
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
        ("threecx_report", "CallReport_with_problems.csv", 1, 5),
        ("threecx_cdr", "cdr_with_header.csv", 9, 0),
        ("threecx_cdr", "cdr_no_header.log", 3, 0),
        ("threecx_cdr", "cdr_with_problems.csv", 2, 4),
    ],
)
def test_ingest_end_to_end(store, name, file, written, rejected):
    path = (REPORT_DIR if name == "threecx_report" else CDR_DIR) / file
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
    # A row shifted by one field puts a number where the Status word should be.
    path = tmp_path / "report.csv"
    path.write_text(
        "Call Time,Call ID,From,To,Direction,Status,Ringing,Talking,Cost\n"
        "05/01/2026 08:00:00,X_1,07700900101,Reception (800),Inbound Queue,Answered,00:00:10,00:01:00,0.00\n"
        "05/01/2026 08:05:00,X_2,Jo,Inbound Queue,07700900102,Answered,00:00:10,00:01:00,0.00\n"
    )
    r = read_all(REPORT, path)
    assert len(r.calls) == 1
    assert r.unknown == Counter({"direction 'XXXXXXXXXXX'": 1})
    assert all("07700900102" not in x.reason + x.text for x in r.rejects)
