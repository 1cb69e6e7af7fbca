"""Microsoft Teams PSTN usage parser: Graph JSON and admin-centre CSV, rejects, sniffing, ingest."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

from telephony.formats import FORMATS
from telephony.formats import teams
from telephony.ingest import ingest_file

from tests.telephony.cloud_parser_checks import check_golden, conserved, read_all, reject_summary, utc
from tests.telephony import parser_checks as pc
from tests.helpers import DATA, all_fixture_files

FMT = FORMATS["teams_pstn"]
DIR = DATA / "teams_pstn"
OWN = sorted(DIR.iterdir())

# A Graph array's records all start on the array's line: source_line 1.
# callId: (start UTC, direction, line, caller, outcome, wait, talk, agent, n_rows, source_line)
GRAPH_GOLDEN = {
    "1835317186_112562680@192.0.2.10": (
        utc("2026-01-05 08:00:12"), "inbound", "+441632960000", "+447700900101", "answered", None, 240.0,
        "reception@practice.example", 1, 1,
    ),
    # July, and still 09:00:00 UTC: Graph times are UTC, not wall-clock.
    "1835317190_112562699@192.0.2.10": (
        utc("2026-07-06 09:00:00"), "outbound", None, "+447700900150", "answered", None, 125.0,
        "dr.patel@practice.example", 1, 1,
    ),
    # Seven fractional digits kept to the nanosecond.
    "f1a2b3c4-0001-4000-8000-000000000003": (
        pd.Timestamp("2026-01-05 08:10:00.1234567", tz="UTC"), "inbound", "+441632960001", "+447700900102",
        "answered", None, 30.0, "cq-reception@practice.example", 1, 1,
    ),
    # user_in and its user_out_forwarding leg share a callId: one inbound call, the first
    # leg's duration.
    "f1a2b3c4-0001-4000-8000-000000000004": (
        utc("2026-01-05 10:00:00"), "inbound", "+441632960000", "+447700900103", "answered", None, 300.0,
        "dr.patel@practice.example", 2, 1,
    ),
    "f1a2b3c4-0001-4000-8000-000000000006": (
        utc("2026-01-05 11:00:00"), "outbound", None, "999", "answered", None, 60.0,
        "nurse.jones@practice.example", 1, 1,
    ),
}


def test_graph_json_golden():
    r = read_all(FMT, DIR / "pstn_calls.json")
    check_golden(r.calls, GRAPH_GOLDEN)
    assert str(r.calls["start"].dt.tz) == "UTC"
    assert r.rejects == [] and not r.unknown and not r.skipped
    assert r.rows_read == 6 and conserved(r)


def test_admin_centre_csv_golden():
    r = read_all(FMT, DIR / "pstn_usage_admin_centre.csv")
    check_golden(
        r.calls,
        {
            "c0ffee00-0001-4000-8000-00000000a001": (
                utc("2026-01-06 08:00:12"), "inbound", "+441632960000", "+447700900110", "answered", None, 180.0,
                "reception@practice.example", 1, 2,
            ),
            # Display name "Patel, Amy" quoted; the dialled number is the caller of an outbound call.
            "c0ffee00-0002-4000-8000-00000000a002": (
                utc("2026-01-06 08:30:00"), "outbound", None, "07700 900111", "answered", None, 90.0,
                "dr.patel@practice.example", 1, 3,
            ),
        },
    )
    # The audio-conference dial-in is not a call to the practice.
    assert r.skipped == Counter({"callType conf_in: audio-conference dial-in, not a call to the practice": 1})
    assert r.rows_read == 3 and conserved(r)


def test_json_lines_with_problems():
    r = read_all(FMT, DIR / "pstn_calls_with_problems.jsonl")
    check_golden(
        r.calls,
        {
            "c-0001": (
                utc("2026-01-07 08:00:00"), "inbound", "+441632960000", "447700900120", "answered", None, 120.0,
                "reception@practice.example", 1, 1,
            ),
            # Unknown type, but "_out..." says outbound: kept and counted. No duration given:
            # computed from the start and end times.
            "c-0004": (
                utc("2026-01-07 08:20:00"), "outbound", None, "+447700900123", "answered", None, 100.0,
                "dr.patel@practice.example", 1, 5,
            ),
        },
    )
    assert reject_summary(r.rejects) == [
        (3, "unknown callType 'martian_call'", 1),
        (4, "start time missing or unreadable", 1),
        (6, "invalid JSON", 1),
    ]
    assert r.unknown == Counter({"callType 'martian_call'": 1, "callType 'ucap_out_callback'": 1})
    assert all("0770090" not in x.text for x in r.rejects)
    assert r.rows_read == 5 and conserved(r)


def test_csv_with_problems():
    r = read_all(FMT, DIR / "pstn_usage_with_problems.csv")
    check_golden(
        r.calls,
        {
            # A time without a zone is UTC, read day-first.
            "c-1001": (
                utc("2026-01-07 09:00:00"), "inbound", "01632960000", "07700900130", "answered", None, 60.0,
                "reception@practice.example", 1, 2,
            ),
        },
    )
    assert reject_summary(r.rejects) == [
        (4, "unknown callType 'User_Sideways'", 1),
        (5, "start time missing or unreadable", 1),
        (6, "expected 9 fields, found 4", 1),
    ]
    assert "Add it to teams.CALL_TYPES" in next(x.reason for x in r.rejects if x.line == 4)
    assert r.skipped == Counter({"blank line": 1})
    assert r.unknown == Counter({"callType 'User_Sideways'": 1})
    assert r.rows_read == 5 and conserved(r)


def test_every_call_is_answered_and_never_waits():
    for p in OWN:
        calls = read_all(FMT, p).calls
        assert (calls["outcome"] == "answered").all()
        assert calls["wait_s"].isna().all()


def test_sniff_sure_of_own_files():
    pc.check_sniff_sure(FMT, OWN)


def test_sniff_below_sure_on_other_formats():
    others = [p for p in all_fixture_files() if p.parent != DIR]
    assert others
    pc.check_sniff_not_sure(FMT, others, unopenable=Exception)


def test_not_teams_raises_bad_input():
    # JSON, but Twilio's: no callType.
    pc.check_raises_bad_input(FMT, DATA / "twilio_calls" / "calls.json", "not a teams_pstn export")
    pc.check_raises_bad_input(FMT, DATA / "asterisk_queue_log" / "queue_log", "not a teams_pstn export")


def test_rows_conserved_in_every_fixture():
    for p in OWN:
        assert conserved(read_all(FMT, p)), p.name


def test_small_chunks_give_the_same_calls(monkeypatch):
    whole = read_all(FMT, DIR / "pstn_calls.json")
    # Two records per chunk: the forwarded call's legs arrive in different chunks.
    pc.json_records_per_chunk(monkeypatch, 2)
    small = read_all(FMT, DIR / "pstn_calls.json")
    cols = ["call_id", "start", "direction", "talk_s", "agent", "n_rows"]
    pc.assert_same_calls(whole.calls, small.calls, cols)


@pytest.mark.parametrize(
    "file, written, rejected",
    [
        ("pstn_calls.json", 5, 0),
        ("pstn_usage_admin_centre.csv", 2, 0),
        ("pstn_calls_with_problems.jsonl", 2, 3),
        ("pstn_usage_with_problems.csv", 1, 3),
    ],
)
def test_ingest_end_to_end(store, file, written, rejected):
    calls = pc.ingest_sniffed_twice(store, DIR / file, "teams_pstn", written, rejected)  # format sniffed
    assert calls["agent_key"].notna().all()
    assert not calls["agent_key"].str.contains("@").any()


def test_ingest_keeps_utc_times_whatever_the_timezone(store):
    ingest_file(store, DIR / "pstn_calls.json", "A81001", timezone="America/New_York")
    calls = store.read_calls().set_index("call_id")
    assert calls.loc["1835317190_112562699@192.0.2.10", "start_utc"] == utc("2026-07-06 09:00:00")


def test_call_type_table_directions_are_canonical():
    assert set(teams.CALL_TYPES.values()) <= {"inbound", "outbound", "internal"}
