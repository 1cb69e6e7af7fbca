"""Twilio call-log parser: REST API JSON, API-style and Console CSV, legs joined, rejects, ingest."""

from __future__ import annotations

import functools
import json
import warnings
from collections import Counter

import pytest

from telephony.formats import FORMATS
from telephony.formats import _records
from telephony.ingest import ingest_file
from telephony.sources import open_source

from tests.telephony.cloud_parser_checks import check_golden, conserved, read_all, reject_summary, utc
from tests.telephony import parser_checks as pc
from tests.helpers import DATA, all_fixture_files

FMT = FORMATS["twilio_calls"]
DIR = DATA / "twilio_calls"
OWN = sorted(DIR.iterdir())
P = "+441632960000"


def sid(n: int) -> str:
    """The fixtures' call sids."""
    return "CA" + "%032x" % (0xFEED0000 + n)


# REST API JSON, newest first; every record of the array is on source line 1.
# sid: (start UTC, direction, line, caller, outcome, wait, talk, agent, n_rows, source_line)
API_GOLDEN = {
    # Child leg answered: its answer time is end - duration = 08:01:10, 58 s after the parent
    # started; talk is the leg's 240 s, not the parent's 300.
    sid(1): (utc("2026-01-05 08:00:12"), "inbound", P, "+447700900101", "answered", 58.0, 240.0, "client:reception_1", 2, 1),
    # The leg was cancelled: the caller hung up while it rang.
    sid(3): (utc("2026-01-05 08:10:00"), "inbound", P, "+447700900102", "abandoned", 90.0, 0.0, None, 2, 1),
    sid(5): (utc("2026-01-05 08:20:00"), "inbound", P, "+447700900103", "missed", 60.0, 0.0, None, 2, 1),
    # No legs: completed with a duration is answered (by the application); never queued.
    sid(7): (utc("2026-01-05 08:30:00"), "inbound", "+441632960001", "+447700900104", "answered", None, 45.0, None, 1, 1),
    sid(8): (utc("2026-01-05 09:30:00"), "outbound", None, "+447700900151", "busy", None, 0.0, None, 1, 1),
    # Answering-machine detection said machine: voicemail, no talk.
    sid(9): (utc("2026-01-05 09:40:00"), "outbound", None, "+447700900152", "voicemail", None, 0.0, None, 1, 1),
    # RFC 2822 "+0000" in July: 09:00 UTC, not BST.
    sid(10): (utc("2026-07-06 09:00:00"), "outbound", None, "+447700900150", "answered", None, 125.0, None, 1, 1),
}


def test_rest_api_json_golden():
    r = read_all(FMT, DIR / "calls.json")
    check_golden(r.calls, API_GOLDEN)
    assert str(r.calls["start"].dt.tz) == "UTC"
    assert r.rejects == [] and not r.unknown and not r.skipped
    assert r.rows_read == 10 and conserved(r)


def test_api_style_csv_golden():
    r = read_all(FMT, DIR / "calls_api.csv")
    check_golden(
        r.calls,
        {
            # Two legs: the first unanswered, the second answered at 08:06:00 - 300 s = 08:01:00.
            sid(21): (utc("2026-01-06 08:00:00"), "inbound", P, "07700 900110", "answered", 60.0, 300.0, "client:reception_2", 3, 2),
            # Click-to-call: the API call rings the practice's phone, its leg dials the patient.
            sid(24): (utc("2026-01-06 09:00:00"), "outbound", None, "+447700900160", "answered", None, 180.0, "client:dr_patel", 2, 5),
            sid(26): (utc("2026-01-06 09:30:00"), "inbound", P, "447700900111", "failed", None, 0.0, None, 1, 7),
        },
    )
    assert conserved(r)


def test_console_csv_without_parent_column():
    r = read_all(FMT, DIR / "console_call_log.csv")
    check_golden(
        r.calls,
        {
            sid(31): (utc("2026-01-07 08:00:12"), "inbound", P, "+447700900120", "answered", None, 120.0, None, 1, 2),
            sid(33): (utc("2026-01-07 08:10:00"), "inbound", P, "+447700900121", "missed", None, 0.0, None, 1, 4),
            # Cancelled by the practice before answer: missed, not an abandon.
            sid(34): (utc("2026-01-07 08:20:00"), "outbound", None, "07700900122", "missed", None, 0.0, None, 1, 5),
        },
    )
    # "Outgoing Dial" cannot be joined to its call without a parent column: skipped, counted.
    assert r.skipped == Counter({"outbound-dial leg in a file without a parent call sid column (cannot be joined)": 1})
    assert r.rows_read == 4 and conserved(r)


def test_csv_with_problems():
    r = read_all(FMT, DIR / "calls_with_problems.csv")
    check_golden(
        r.calls,
        {
            sid(41): (utc("2026-01-07 08:00:00"), "inbound", P, "+447700900130", "answered", None, 120.0, None, 1, 2),
            # A status word the reader does not know keeps the call, outcome unknown.
            sid(42): (utc("2026-01-07 08:05:00"), "inbound", P, "+447700900131", "unknown", None, 0.0, None, 1, 4),
        },
    )
    assert reject_summary(r.rejects) == [
        # The parent and its leg both in progress: the whole call, two rows.
        (5, "call not finished when exported", 2),
        (7, "leg of a call whose parent call is not in this file", 1),
        (8, "start time missing or unreadable", 1),
        (9, "expected 14 fields, found 4", 1),
    ]
    assert r.unknown == Counter({"status 'teleported'": 1})
    assert r.skipped == Counter({"blank line": 1})
    assert all("0770090" not in x.text for x in r.rejects)
    assert r.rows_read == 8 and conserved(r)


def test_unknown_status_and_direction_words_keep_the_call():
    r = read_all(FMT, DIR / "calls_unknown_words_and_bad_values.csv")
    calls = r.calls.set_index("call_id")
    # The parent's own status unknown: outcome unknown, never a reject.
    assert calls.loc[sid(82), ["direction", "outcome", "talk_s"]].tolist() == ["inbound", "unknown", 0.0]
    # An unknown direction word: kept as direction unknown, read like an inbound call.
    assert calls.loc[sid(83), ["direction", "outcome", "caller", "line"]].tolist() == [
        "unknown", "answered", "+447700900142", P,
    ]
    # The only leg's status unknown and no leg answered: the call's outcome is unknown.
    assert calls.loc[sid(84), ["outcome", "n_rows"]].tolist() == ["unknown", 2]
    assert r.unknown == Counter({"status 'Transferred-Away'": 1, "status 'rerouted'": 1, "direction 'sideways'": 1})
    assert not any("unknown" in x.reason for x in r.rejects)


def test_dates_out_of_range_reject_only_their_call():
    r = read_all(FMT, DIR / "calls_unknown_words_and_bad_values.csv")
    assert reject_summary(r.rejects) == [
        (7, "start_time out of range", 1),  # 9999-12-31
        (8, "end_time out of range", 1),  # 1677
        (9, "duration unreadable", 2),  # the leg's 1e999999 rejects its whole call
    ]
    assert all("before 1678 or after 2261" in x.reason for x in r.rejects[:2])
    # The calls before and after them are read.
    assert {sid(81), sid(90)} <= set(r.calls["call_id"])
    assert r.rows_read == 10 and conserved(r)


def test_duration_1e999999_rejected_without_numpy_warning(capfd):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning (overflow) would fail the read
        r = read_all(FMT, DIR / "calls_unknown_words_and_bad_values.csv")
    out = capfd.readouterr()
    assert out.out == "" and out.err == ""
    bad = next(x for x in r.rejects if x.line == 9)
    assert bad.reason.startswith("duration unreadable ('1e999999')")
    assert r.calls["talk_s"].max() < 86_400


def test_sdk_camelcase_json_sniffed_and_read():
    # Twilio's SDKs and CLI write camelCase keys (parentCallSid, startTime) and ISO 8601 times
    # with milliseconds, newest first, as a public sample of a real account showed.
    path = DIR / "calls_sdk_camelcase.json"
    assert FMT.sniff(open_source(path)) == 1.0
    r = read_all(FMT, path)
    check_golden(
        r.calls,
        {
            # The leg answered at 08:04:16 - 240 s = 08:00:16, 15 s after the parent started; the
            # call's first line is its leg's object (line 26), listed before the parent's.
            sid(101): (
                utc("2026-01-09 08:00:01"), "inbound", P, "+447700900151", "answered", 15.0, 240.0,
                "sip:reception@practice.sip.example", 2, 26,
            ),
            sid(103): (utc("2026-01-09 09:00:01"), "outbound", None, "+447700900152", "missed", None, 0.0, None, 1, 2),
        },
    )
    assert r.rejects == [] and not r.unknown


def test_sniff_sure_of_own_files():
    pc.check_sniff_sure(FMT, OWN)


def test_sniff_below_sure_on_other_formats():
    others = [p for p in all_fixture_files() if p.parent != DIR]
    assert others
    pc.check_sniff_not_sure(FMT, others, unopenable=Exception)


def test_not_twilio_raises_bad_input():
    pc.check_raises_bad_input(FMT, DATA / "teams_pstn" / "pstn_calls.json", "not a twilio_calls export")
    pc.check_raises_bad_input(FMT, DATA / "threecx_report" / "CallReport.csv", "not a twilio_calls export")


def test_rows_conserved_in_every_fixture():
    for p in OWN:
        assert conserved(read_all(FMT, p)), p.name


def _same_calls(a, b):
    cols = ["call_id", "start", "outcome", "wait_s", "talk_s", "agent", "n_rows"]
    pc.assert_same_calls(a.calls, b.calls, cols)


def test_newest_first_json_lines_one_per_chunk_still_join_legs(monkeypatch, tmp_path):
    whole = read_all(FMT, DIR / "calls.json")
    # The API's order (newest first) as JSON lines, read one record per chunk: each leg
    # arrives a chunk before its parent, hours after the newest call (July) was seen.
    recs = json.loads((DIR / "calls.json").read_text())["calls"]
    path = tmp_path / "calls.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    pc.json_records_per_chunk(monkeypatch, 1)
    small = read_all(FMT, path)
    _same_calls(whole, small)
    assert small.rejects == []


def test_small_csv_blocks_still_join_legs(monkeypatch):
    whole = read_all(FMT, DIR / "calls_api.csv")
    monkeypatch.setattr(_records, "read_delimited", functools.partial(_records.read_delimited, block_bytes=300))
    _same_calls(whole, read_all(FMT, DIR / "calls_api.csv"))


@pytest.mark.parametrize(
    "file, written, rejected",
    [
        ("calls.json", 7, 0),
        ("calls_api.csv", 3, 0),
        ("console_call_log.csv", 3, 0),
        ("calls_with_problems.csv", 2, 4),
        ("calls_unknown_words_and_bad_values.csv", 5, 3),
        ("calls_sdk_camelcase.json", 2, 0),
    ],
)
def test_ingest_end_to_end(store, file, written, rejected):
    pc.ingest_sniffed_twice(store, DIR / file, "twilio_calls", written, rejected)  # format sniffed


def test_ingest_pseudonymises_agents_and_callers(store):
    ingest_file(store, DIR / "calls.json", "A81001")
    calls = store.read_calls().set_index("call_id")
    assert calls.loc[sid(1), "agent_key"] and "client" not in calls.loc[sid(1), "agent_key"]
    assert calls["caller_key"].notna().all()
    assert not calls["caller_key"].str.contains("7700").any()
