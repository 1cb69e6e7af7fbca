"""Microsoft Teams PSTN usage parser: Graph JSON and admin-centre CSV, rejects, sniffing, ingest."""

from __future__ import annotations

import re
import warnings
from collections import Counter

import pandas as pd
import pytest

from telephony.formats import FORMATS, ReadContext
from telephony.formats import teams
from telephony.ingest import ingest_file
from telephony.sources import open_source

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
            # A call type the reader does not know and nothing in it says the direction: kept,
            # direction unknown (read like an inbound call, without a line), counted.
            "c-0002": (
                utc("2026-01-07 08:05:00"), "unknown", None, "+447700900121", "answered", None, 60.0,
                "reception@practice.example", 1, 3,
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
            "c-1002": (
                utc("2026-01-07 09:05:00"), "unknown", None, "07700900131", "answered", None, 60.0,
                "reception@practice.example", 1, 4,
            ),
        },
    )
    assert reject_summary(r.rejects) == [
        (5, "start time missing or unreadable", 1),
        (6, "expected 9 fields, found 4", 1),
    ]
    assert r.skipped == Counter({"blank line": 1})
    assert r.unknown == Counter({"callType 'User_Sideways'": 1})
    assert r.rows_read == 5 and conserved(r)


def test_unknown_call_types_keep_the_call_and_bad_values_reject_only_their_row(capfd):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning would fail the read
        r = read_all(FMT, DIR / "pstn_calls_unknown_words_and_bad_values.jsonl")
    assert capfd.readouterr().err == ""
    calls = r.calls.set_index("call_id")
    assert calls.loc["f00d0202-0000-4000-8000-000000000000", "direction"] == "unknown"
    # Unknown, but "_in..." still says inbound.
    assert calls.loc["f00d0203-0000-4000-8000-000000000000", "direction"] == "inbound"
    assert r.unknown == Counter({"callType 'teleport_call'": 1, "callType 'user_in_via_partner'": 1})
    assert reject_summary(r.rejects) == [
        (4, "start time out of range", 1),  # 9999-12-31
        (5, "end time out of range", 1),  # 1677, and no duration
        (6, "duration unreadable", 1),  # 1e999999
    ]
    assert all("before 1678 or after 2261" in x.reason for x in r.rejects[:2])
    # The row after them is read.
    assert "f00d0207-0000-4000-8000-000000000000" in calls.index
    assert r.rows_read == 7 and conserved(r)


def _notes(path):
    return [n for c in FMT.read(open_source(path), ReadContext()) for n in c.notes]


def test_caller_column_chosen_from_the_data_either_convention():
    # The same calls written both ways Microsoft documents callerNumber: the practice's
    # numbers repeat in one column, the callers vary in the other, and the reader follows.
    beta = read_all(FMT, DIR / "pstn_calls_beta_convention.json").calls
    v1 = read_all(FMT, DIR / "pstn_calls_v1_convention.json").calls
    cols = ["call_id", "direction", "line", "caller", "talk_s", "agent"]
    pc.assert_same_calls(beta, v1, cols)
    inbound = v1[v1["direction"] == "inbound"]
    assert set(inbound["line"]) == {"+441632960000", "+441632960001"}
    assert inbound["caller"].str.startswith("+4477009002").all()
    assert inbound["caller"].nunique() == 9  # three redials among twelve calls
    # The outbound call's other party is the number dialled, in either convention.
    assert set(v1.loc[v1["direction"] == "outbound", "caller"]) == {"+447700900250"}


def test_caller_column_choice_is_said_in_the_notes():
    notes = _notes(DIR / "pstn_calls_v1_convention.json")
    assert notes[0].startswith("inbound calls: took `calleeNumber` as the caller and `callerNumber` as the practice's line")
    assert "across 12 inbound rows `callerNumber` repeats 2 number(s) while `calleeNumber` has 9" in notes[0]
    # Too few outbound rows to judge by spread: the practice's numbers seen inbound tell.
    assert notes[1].startswith("outbound calls: took `callerNumber` as the other party")
    assert _notes(DIR / "pstn_calls_beta_convention.json")[0].startswith(
        "inbound calls: took `callerNumber` as the caller and `calleeNumber` as the practice's line"
    )
    for path in OWN:
        assert not any(re.search(r"\d{6}", n) for n in _notes(path)), path.name


def test_admin_centre_csv_with_caller_id_holding_the_practice_number():
    r = read_all(FMT, DIR / "pstn_usage_admin_centre_v1_convention.csv")
    inbound = r.calls
    assert (inbound["direction"] == "inbound").all() and len(inbound) == 10
    assert set(inbound["line"]) == {"+441632960000", "+441632960001"}
    assert inbound["caller"].str.startswith("+4477009002").all()
    # The note names the columns as the file does.
    assert _notes(DIR / "pstn_usage_admin_centre_v1_convention.csv")[0].startswith(
        "inbound calls: took `Destination Number` as the caller and `Caller ID` as the practice's line"
    )


def test_tiny_file_falls_back_to_the_documented_default_and_says_so():
    # Two inbound calls cannot show which column repeats: the default (callerNumber is the
    # caller) applies, and the note says it was not told by the data.
    calls = read_all(FMT, DIR / "pstn_calls_tiny.json").calls
    assert sorted(calls["caller"]) == ["+447700900231", "+447700900232"]
    assert teams.DEFAULT_CALLER["inbound"] == "caller_number"
    (note,) = _notes(DIR / "pstn_calls_tiny.json")
    assert note.startswith("inbound calls: could not tell from the data which column holds the caller")
    assert "only 2 inbound row(s) hold both numbers; at least 10 are needed" in note
    assert "took `callerNumber` as the caller, the default" in note


def test_choose_caller_column_cannot_tell_when_both_columns_vary():
    pairs = pd.DataFrame(
        {
            "caller_number": [f"+4477009003{i:02d}" for i in range(12)],
            "callee_number": [f"+4477009004{i:02d}" for i in range(12)],
        }
    )
    col, note, decided = teams.choose_caller_column(pairs, "inbound")
    assert (col, decided) == ("caller_number", False)
    assert "neither column repeats a few numbers" in note


def test_direct_routing_failed_attempts_are_not_answered():
    r = read_all(FMT, DIR / "direct_routing_calls.json")
    calls = r.calls.set_index("call_id")
    dr = "d1a10000-0000-4000-8000-0000000000%02d"
    got = {i: tuple(calls.loc[dr % i, ["direction", "outcome", "wait_s", "talk_s"]]) for i in range(1, 8)}
    assert got == {
        # Answered 6 s after the invite; its failureDateTime 0001-01-01 (.NET's empty date) ignored.
        1: ("inbound", "answered", 6.0, 180.0),
        2: ("inbound", "abandoned", 25.0, 0.0),  # 487: the caller hung up while it rang
        3: ("inbound", "busy", 1.0, 0.0),  # 486
        4: ("inbound", "missed", 30.0, 0.0),  # 480
        5: ("inbound", "failed", 2.0, 0.0),  # 503
        6: ("inbound", "unknown", 3.0, 0.0),  # a code the table does not know: counted
        7: ("outbound", "answered", 9.0, 180.0),
    }
    assert r.unknown == Counter({"finalSipCode 299": 1})
    assert r.rejects == [] and conserved(r)


def test_pstn_usage_calls_are_all_answered_and_never_wait():
    for p in OWN:
        if p.name.startswith("direct_routing"):
            continue
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
        ("pstn_calls_with_problems.jsonl", 3, 2),
        ("pstn_usage_with_problems.csv", 2, 2),
        ("pstn_calls_beta_convention.json", 13, 0),
        ("pstn_calls_v1_convention.json", 13, 0),
        ("pstn_usage_admin_centre_v1_convention.csv", 10, 0),
        ("direct_routing_calls.json", 7, 0),
        ("pstn_calls_unknown_words_and_bad_values.jsonl", 4, 3),
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


def test_ingest_keeps_one_caller_key_per_caller_and_reports_the_choice(store):
    res = ingest_file(store, DIR / "pstn_calls_v1_convention.json", "A81001")
    assert any(n.startswith("inbound calls: took `calleeNumber` as the caller") for n in res.notes)
    calls = store.read_calls()
    inbound = calls[calls["direction"] == "inbound"]
    # Twelve inbound calls from nine callers: nine caller keys (the practice's two numbers
    # would have given two), and the practice's two numbers as the lines.
    assert inbound["caller_key"].nunique() == 9
    assert inbound["line"].nunique() == 2
