"""3CX V20 "Inbound Calls" report (``threecx_inbound``): one row per leg, no call id, every row
inbound. Golden calls hand-computed from the synthetic fixture, which reproduces the quirks of
a real export (see the module Notes of telephony.formats.threecx)."""

from __future__ import annotations

from collections import Counter

import pandas as pd

from telephony.formats import FORMATS, ReadContext
from telephony.ingest import detect_format
from telephony.sources import open_source
from telephony.timeutil import localize

from tests.helpers import DATA
from tests.telephony.cloud_parser_checks import check_golden, conserved, read_all, reject_summary, utc

INBOUND = FORMATS["threecx_inbound"]
REPORT = FORMATS["threecx_report"]
DIR = DATA / "threecx_inbound"
CALLS = DIR / "InboundCalls.csv"

# source line of the call's first leg (the file is newest first, so its latest leg's line):
# (start UTC, direction, line, caller, outcome, wait, talk, agent, n_rows, source_line)
GOLDEN = {
    # Welcome message 20 s, queue (Redirected) 1:30, Sam Jones rang 5 s and talked 4 min.
    19: (utc("2026-01-05 08:00"), "inbound", "Reception Queue", "07700900401", "answered", 95.0, 240.0, "202", 3, 19),
    # The menu leg runs on while the ring group and Dr Patel ring (legs overlap, as in the real
    # export): the ring group names the line, Dr Patel answered after 13 s.
    16: (utc("2026-01-05 08:05"), "inbound", "Care team Ring Group", "07700900402", "answered", 13.0, 120.0, "201", 3, 16),
    # Queued 3 minutes, nobody answered: missed (the report does not say who hung up).
    14: (utc("2026-01-05 08:10"), "inbound", "Reception Queue", "07700 900403", "missed", 180.0, 0.0, None, 2, 14),
    # The same caller again 10 s after the queue leg ended: a new call, ended in the menu.
    13: (utc("2026-01-05 08:13:30"), "inbound", "Welcome message", "07700 900403", "ivr_abandoned", None, 0.0, None, 1, 13),
    12: (utc("2026-01-05 08:20"), "inbound", "Welcome message", "07700900404", "ivr_abandoned", None, 0.0, None, 1, 12),
    # Withheld: no caller, legs joined by trunk, DID and time.
    9: (utc("2026-01-05 08:25"), "inbound", "Reception Queue", None, "answered", 44.0, 60.0, "202", 3, 9),
    # The queue's voicemail picked up after a minute's wait.
    6: (utc("2026-01-05 08:30"), "inbound", "Reception Queue", "07700900407", "voicemail", 60.0, 0.0, None, 3, 6),
    # Forwarded to an outside number, which answered: no extension, and the number names no line.
    4: (utc("2026-01-05 09:00"), "inbound", "Welcome message", "07700900408", "answered", 10.0, 90.0, None, 2, 4),
    # "Out of hours (806)" has no telling name but answers without ringing: a message.
    3: (utc("2026-01-05 18:45"), "inbound", "Out of hours", "07700900405", "ivr_abandoned", None, 0.0, None, 1, 3),
    2: (utc("2026-01-05 18:50"), "inbound", "Out of hours", "02079460406", "ivr_abandoned", None, 0.0, None, 1, 2),
}
IVR_S = {19: 20.0, 16: 13.0, 14: 20.0, 13: 8.0, 12: 6.0, 9: 20.0, 6: 20.0, 4: 15.0, 3: 25.0, 2: 0.0}


def read(path, **ctx):
    chunks = list(INBOUND.read(open_source(path), ReadContext(**ctx)))
    calls = pd.concat([c.calls for c in chunks if len(c.calls)], ignore_index=True)
    return calls, [n for c in chunks for n in c.notes]


def test_inbound_report_is_recognised_and_not_taken_for_the_call_log():
    src = open_source(CALLS)
    assert INBOUND.sniff(src) == 1.0
    assert REPORT.sniff(src) < 0.9
    assert detect_format(src).name == "threecx_inbound"


def test_inbound_report_legs_joined_into_calls_by_caller_trunk_did_and_time():
    r = read_all(INBOUND, CALLS)
    check_golden(r.calls, GOLDEN, key="source_line")
    assert r.rejects == [] and not r.unknown
    # 20 legs and the Totals line.
    assert r.rows_read == 21 and r.skipped == Counter({"totals row": 1}) and conserved(r)
    assert r.calls["call_id"].isna().all()


def test_inbound_report_menu_and_message_time_is_ivr_s_not_wait_s():
    calls, _ = read(CALLS)
    assert calls.set_index("source_line")["ivr_s"].to_dict() == IVR_S


def test_inbound_report_redial_by_the_same_caller_is_a_new_call(tmp_path):
    """Legs 1 s apart join; 10 s after the last leg ended is a redial."""
    head = CALLS.read_text().splitlines()[0]
    rows = [
        "2026-01-05T08:00:21,07700900450,Reception Queue (800),T,10001,01632960000,Unanswered,0:00:30,0:00:00,0:00:30,,,,",
        "2026-01-05T08:00:00,07700900450,Welcome message (801),T,10001,01632960000,Answered,0:00:00,0:00:20,0:00:20,,,,",
        "2026-01-05T08:01:01,07700900450,Welcome message (801),T,10001,01632960000,Answered,0:00:00,0:00:05,0:00:05,,,,",
    ]
    path = tmp_path / "inbound.csv"
    path.write_text("\n".join([head, *rows]) + "\n")
    calls, _ = read(path)
    assert sorted(calls["n_rows"]) == [1, 2]
    # On another DID, the same caller at the same time is another call.
    path.write_text("\n".join([head, rows[0].replace("01632960000", "01632960001"), rows[1]]) + "\n")
    calls, _ = read(path)
    assert sorted(calls["n_rows"]) == [1, 1]


def test_inbound_report_withheld_legs_joined_by_time_with_a_note():
    calls, notes = read(CALLS)
    withheld = calls[calls["caller"].isna()]
    assert withheld["n_rows"].tolist() == [3]
    assert any("withheld" in n for n in notes)


def test_inbound_report_destination_answering_without_ringing_is_a_menu(tmp_path):
    """Learned from the file: once 806 answers at once, its unanswered leg is a menu leg too."""
    head = CALLS.read_text().splitlines()[0]
    unanswered = "2026-01-05T18:50:00,02079460406,Out of hours (806),T,10001,01632960000,Unanswered,0:00:00,0:00:00,0:00:00,,,,"
    path = tmp_path / "one.csv"
    path.write_text("\n".join([head, unanswered]) + "\n")
    alone, _ = read(path)
    # Alone, nothing says 806 is a message: an extension nobody answered.
    assert alone["outcome"].tolist() == ["missed"]
    calls, notes = read(CALLS)
    assert calls.set_index("source_line").loc[2, "outcome"] == "ivr_abandoned"
    assert any("answer without ringing" in n for n in notes)


def test_inbound_report_with_problems():
    r = read_all(INBOUND, DIR / "InboundCalls_with_problems.csv")
    check_golden(
        r.calls,
        {
            2: (utc("2026-01-06 10:00"), "inbound", "202", "07700900420", "answered", 7.0, 60.0, "202", 1, 2),
            # An unknown status keeps the call; its outcome is unknown, the word counted.
            5: (utc("2026-01-06 10:15"), "inbound", "Reception Queue", "07700900423", "unknown", 30.0, 0.0, None, 1, 5),
        },
        key="source_line",
    )
    assert reject_summary(r.rejects) == [
        (3, "call time '9999-01-06T10:05:00' is out of range", 1),
        (4, "call time missing or unreadable", 1),
        (7, "expected 14 fields, found 3", 1),
    ]
    assert r.unknown == Counter({"status 'Parked'": 1})
    assert r.skipped == Counter({"totals row": 1, "blank line": 1})
    # The AI columns are left out of reject texts.
    assert all("PRIVATE-" not in x.text and "Negative" not in x.text for x in r.rejects)
    assert conserved(r)


def test_inbound_report_times_are_wall_clock(tmp_path):
    """ISO times without a zone are the PBX's wall clock: the ingest converts them (BST here)."""
    head = CALLS.read_text().splitlines()[0]
    path = tmp_path / "summer.csv"
    path.write_text(head + "\n2026-07-06T08:00:00,07700900460,Sam Jones (202),T,10001,01632960000,Answered,0:00:03,0:01:00,0:01:03,,,,\n")
    calls, _ = read(path)
    assert calls["start"].dt.tz is None
    assert localize(calls["start"])[0] == pd.Timestamp("2026-07-06 07:00", tz="UTC")
