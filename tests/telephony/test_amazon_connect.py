"""Amazon Connect CTR parser: transfers joined, callbacks not abandons, rejects, sniffing, ingest."""

from __future__ import annotations

import json
import warnings
from collections import Counter

import pandas as pd
import pytest

from telephony.formats import FORMATS
from telephony.ingest import ingest_file

from tests.telephony.cloud_parser_checks import check_golden, conserved, read_all, reject_summary, utc
from tests.telephony import parser_checks as pc
from tests.helpers import DATA, all_fixture_files

FMT = FORMATS["amazon_connect_ctr"]
DIR = DATA / "amazon_connect_ctr"
OWN = sorted(DIR.iterdir())
SYS = "+441632960000"


def cid(n: int) -> str:
    """The fixtures' contact ids."""
    return "c0ffee%02d-1a2b-4c3d-8e4f-5a6b7c8d9e%02d" % (n, n)


# JSON lines, one contact per line.
# contact: (start UTC, direction, line, caller, outcome, wait, talk, agent, n_rows, source_line)
FIREHOSE_GOLDEN = {
    cid(1): (utc("2026-01-05 08:00:12"), "inbound", "Reception", "+447700900101", "answered", 48.0, 240.0, "sam.jones", 1, 1),
    cid(2): (utc("2026-01-05 08:10:00"), "inbound", "Reception", "+447700900102", "abandoned", 90.0, 0.0, None, 1, 2),
    # Never queued, hung up in the flow; the line is the number dialled.
    cid(3): (utc("2026-01-05 08:20:00"), "inbound", SYS, "+447700900103", "ivr_abandoned", None, 0.0, None, 1, 3),
    # Queued, disconnected by the customer, but a CALLBACK contact names it: a callback.
    cid(5): (utc("2026-01-05 08:30:00"), "inbound", "Reception", "+447700900105", "callback", 120.0, 0.0, None, 1, 4),
    # The callback itself: the practice calling out; answered when the customer's end answered.
    cid(6): (utc("2026-01-05 08:32:25"), "outbound", "Reception callbacks", "+447700900105", "answered", None, 180.0, "sam.jones", 1, 6),
    # Transferred: one call for the initial contact, talk summed over both agents, the first
    # agent's wait (enqueue 09:00:10 → agent 09:00:40).
    cid(7): (utc("2026-01-05 09:00:00"), "inbound", "Reception", "+447700900107", "answered", 30.0, 360.0, "reception.1", 2, 7),
    cid(10): (utc("2026-01-05 09:30:00"), "outbound", None, "+447700900151", "failed", None, 0.0, None, 1, 9),
    cid(11): (utc("2026-01-05 09:40:00"), "outbound", None, "+447700900152", "missed", None, 0.0, None, 1, 10),
    # Ended by the flow before any queue: the out-of-hours branch.
    cid(4): (utc("2026-01-05 19:00:00"), "inbound", SYS, "+447700900104", "closed", None, 0.0, None, 1, 11),
    # July, UTC: stays 10:00 UTC.
    cid(9): (utc("2026-07-06 10:00:00"), "outbound", None, "+447700900150", "answered", None, 120.0, "dr.patel", 1, 12),
}


def test_firehose_json_lines_golden():
    r = read_all(FMT, DIR / "ctr_firehose.jsonl")
    check_golden(r.calls, FIREHOSE_GOLDEN)
    assert str(r.calls["start"].dt.tz) == "UTC"
    assert r.skipped == Counter({"channel CHAT (not a phone call)": 1})
    assert r.rejects == [] and not r.unknown
    assert r.rows_read == 12 and conserved(r)


def test_concatenated_objects_callback_attribute_and_queue_transfer():
    r = read_all(FMT, DIR / "ctr_concatenated.json")
    check_golden(
        r.calls,
        {
            # Two objects back to back on line 1. Attribute callbackRequested=true: callback.
            cid(21): (
                pd.Timestamp("2026-01-06 08:00:00.123", tz="UTC"), "inbound", "Reception", "+447700900121",
                "callback", 120.0, 0.0, None, 1, 1,
            ),
            # callbackRequested=false: an ordinary abandon.
            cid(22): (utc("2026-01-06 08:10:00"), "inbound", "Reception", "+447700900122", "abandoned", 45.0, 0.0, None, 1, 1),
            # QUEUE_TRANSFER to Overflow, answered there: wait from the first enqueue
            # (08:30:10) to the agent (08:33:00).
            cid(24): (utc("2026-01-06 08:30:00"), "inbound", "Reception", "+447700900124", "answered", 170.0, 180.0, "overflow.1", 2, 37),
        },
    )
    assert r.skipped == Counter({"InitiationMethod MONITOR (supervisor monitoring)": 1})
    assert r.rows_read == 5 and conserved(r)


def test_flattened_csv_golden():
    r = read_all(FMT, DIR / "ctr_athena.csv")
    check_golden(
        r.calls,
        {
            # Athena-style times without a zone are UTC.
            cid(31): (utc("2026-01-07 08:00:00"), "inbound", "Reception", "+447700900131", "answered", 40.0, 180.0, "sam.jones", 1, 2),
            # Queued, then the flow ended it (queue timeout): missed.
            cid(32): (utc("2026-01-07 08:10:00"), "inbound", "Reception", "+447700900132", "missed", 600.0, 0.0, None, 1, 3),
        },
    )
    assert r.skipped == Counter({"channel TASK (not a phone call)": 1})
    assert conserved(r)


def test_with_problems():
    r = read_all(FMT, DIR / "ctr_with_problems.jsonl")
    check_golden(
        r.calls,
        {
            # A queue name with a comma.
            cid(51): (utc("2026-01-08 08:00:00"), "inbound", "Reception, main", "+447700900141", "answered", 40.0, 120.0, "sam.jones", 1, 1),
            # An InitiationMethod the reader does not know: kept, direction unknown; no agent
            # took it, so its outcome is unknown too.
            cid(52): (utc("2026-01-08 08:05:00"), "unknown", None, "+447700900142", "unknown", None, 0.0, None, 1, 3),
            # Queued, not answered, and an unknown DisconnectReason would decide: outcome unknown.
            cid(54): (utc("2026-01-08 08:20:00"), "inbound", "Reception", "+447700900144", "unknown", 110.0, 0.0, None, 1, 5),
            # Unknown DisconnectReason on an answered call: it decides nothing; kept, counted.
            cid(55): (utc("2026-01-08 08:30:00"), "inbound", "Reception", "+447700900145", "answered", 50.0, 180.0, "sam.jones", 1, 6),
        },
    )
    assert reject_summary(r.rejects) == [
        (4, "InitiationTimestamp missing or unreadable", 1),
        (7, "transfer contact of initial contact '" + cid(56) + "', which is not in this file", 1),
        (8, "invalid JSON", 1),
    ]
    assert r.unknown == Counter(
        {"InitiationMethod 'TELEPORT'": 1, "DisconnectReason 'SOLAR_FLARE'": 1, "DisconnectReason 'COSMIC_RAY'": 1}
    )
    assert all("0770090" not in x.text for x in r.rejects)
    assert r.rows_read == 7 and conserved(r)


def test_contact_record_written_again_when_updated_is_one_call():
    # Amazon Connect writes a contact's record again when it is updated (a real stream held
    # three versions of one contact): the latest stands, talk is not counted twice.
    r = read_all(FMT, DIR / "ctr_updates_and_bad_values.jsonl")
    calls = r.calls.set_index("call_id")
    c = calls.loc[cid(61)]
    assert (c["outcome"], c["talk_s"], c["wait_s"], c["n_rows"], c["source_line"]) == ("answered", 235.0, 40.0, 2, 1)
    assert list(r.calls["call_id"]).count(cid(61)) == 1


def test_callback_settings_in_attributes_are_not_a_callback_request():
    # CallbackNumber, a configuration id, a whisper text and "CallbackOffered" say what the
    # flow can do, not that this caller asked for a callback: still an abandon.
    calls = read_all(FMT, DIR / "ctr_updates_and_bad_values.jsonl").calls.set_index("call_id")
    assert calls.loc[cid(62), "outcome"] == "abandoned"


def test_unknown_initiation_method_answered_by_an_agent_is_kept():
    r = read_all(FMT, DIR / "ctr_updates_and_bad_values.jsonl")
    c = r.calls.set_index("call_id").loc[cid(64)]
    assert (c["direction"], c["outcome"], c["wait_s"], c["talk_s"], c["agent"]) == (
        "unknown", "answered", 30.0, 200.0, "sam.jones",
    )
    assert r.unknown == Counter({"InitiationMethod 'CAMPAIGN_PREVIEW'": 1})


def test_dates_out_of_range_and_1e999999_reject_only_their_record(capfd):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = read_all(FMT, DIR / "ctr_updates_and_bad_values.jsonl")
    assert capfd.readouterr().err == ""
    assert reject_summary(r.rejects) == [
        (5, "InitiationTimestamp out of range", 1),  # 9999-12-31
        (6, "Agent.ConnectedToAgentTimestamp out of range", 1),  # 1677
        (7, "Agent.AgentInteractionDuration unreadable", 1),  # 1e999999
    ]
    assert all("before 1678 or after 2261" in x.reason for x in r.rejects[:2])
    # The record after them is read.
    assert cid(68) in set(r.calls["call_id"])
    assert r.rows_read == 8 and conserved(r)


def test_time_in_the_contact_flow_is_ivr_s_not_wait():
    calls = read_all(FMT, DIR / "ctr_firehose.jsonl").calls.set_index("call_id")
    # Arrived 08:00:12, queued 08:00:40: 28 s in the flow, then 48 s in the queue.
    assert (calls.loc[cid(1), "ivr_s"], calls.loc[cid(1), "wait_s"]) == (28.0, 48.0)
    # Never queued, hung up in the flow after 40 s: all of it in the IVR, no wait.
    assert calls.loc[cid(3), "ivr_s"] == 40.0 and pd.isna(calls.loc[cid(3), "wait_s"])
    # Outbound calls do not go through the flow.
    assert pd.isna(calls.loc[cid(10), "ivr_s"])


def test_callback_contact_before_original_still_marks_it(tmp_path):
    # Records are written when contacts end; make the callback's record come first.
    lines = (DIR / "ctr_firehose.jsonl").read_text().splitlines()
    recs = [json.loads(x) for x in lines]
    cb = next(x for x in recs if x["ContactId"] == cid(6))
    orig = next(x for x in recs if x["ContactId"] == cid(5))
    path = tmp_path / "ctr.jsonl"
    path.write_text(json.dumps(cb) + "\n" + json.dumps(orig) + "\n")
    calls = read_all(FMT, path).calls.set_index("call_id")
    assert calls.loc[cid(5), "outcome"] == "callback"
    assert calls.loc[cid(6), "outcome"] == "answered"


def test_without_callback_contact_the_original_is_an_abandon(tmp_path):
    lines = (DIR / "ctr_firehose.jsonl").read_text().splitlines()
    keep = [x for x in lines if json.loads(x)["ContactId"] != cid(6)]
    path = tmp_path / "ctr.jsonl"
    path.write_text("\n".join(keep) + "\n")
    calls = read_all(FMT, path).calls.set_index("call_id")
    assert calls.loc[cid(5), "outcome"] == "abandoned"


def test_sniff_sure_of_own_files():
    pc.check_sniff_sure(FMT, OWN)


def test_sniff_below_sure_on_other_formats():
    others = [p for p in all_fixture_files() if p.parent != DIR]
    assert others
    pc.check_sniff_not_sure(FMT, others, unopenable=Exception)


def test_not_ctr_raises_bad_input():
    pc.check_raises_bad_input(FMT, DATA / "twilio_calls" / "calls.json", "not a amazon_connect_ctr export")
    pc.check_raises_bad_input(FMT, DATA / "threecx_cdr" / "cdr_with_header.csv", "not a amazon_connect_ctr export")


def test_rows_conserved_in_every_fixture():
    for p in OWN:
        assert conserved(read_all(FMT, p)), p.name


def test_one_record_per_chunk_gives_the_same_calls(monkeypatch):
    whole = read_all(FMT, DIR / "ctr_firehose.jsonl")
    # One record per chunk: transfer legs and callbacks always arrive in later chunks.
    pc.json_records_per_chunk(monkeypatch, 1)
    small = read_all(FMT, DIR / "ctr_firehose.jsonl")
    cols = ["call_id", "start", "outcome", "wait_s", "talk_s", "agent", "n_rows", "source_line"]
    pc.assert_same_calls(whole.calls, small.calls, cols)


@pytest.mark.parametrize(
    "file, written, rejected",
    [
        ("ctr_firehose.jsonl", 10, 0),
        ("ctr_concatenated.json", 3, 0),
        ("ctr_athena.csv", 2, 0),
        ("ctr_with_problems.jsonl", 4, 3),
        ("ctr_updates_and_bad_values.jsonl", 4, 3),
    ],
)
def test_ingest_end_to_end(store, file, written, rejected):
    calls = pc.ingest_sniffed_twice(store, DIR / file, "amazon_connect_ctr", written, rejected)  # format sniffed
    assert not calls["caller_key"].fillna("").str.contains("7700").any()


def test_ingest_counts_callbacks_apart_from_abandons(store):
    ingest_file(store, DIR / "ctr_firehose.jsonl", "A81001")
    calls = store.read_calls()
    inbound = calls[calls["direction"] == "inbound"]["outcome"].value_counts().to_dict()
    assert inbound == {"answered": 2, "abandoned": 1, "ivr_abandoned": 1, "callback": 1, "closed": 1}
