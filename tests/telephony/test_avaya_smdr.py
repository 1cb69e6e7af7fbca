"""Avaya IP Office SMDR parser: continuation records joined by Call ID, voicemail, ingest."""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from telephony.formats import FORMATS, ReadContext
from telephony.formats import avaya_smdr
from telephony.schema import OUTCOMES
from telephony.sources import open_source

from tests.telephony import parser_checks as pc

DATA = Path(__file__).resolve().parents[1] / "data"
DIR = DATA / "avaya_smdr"
MAIN = "SMDR_2026-01-05.csv"
FMT = FORMATS["avaya_smdr"]


def parse(name: str, **ctx):
    """All chunks of a fixture: (calls indexed by Call ID, rejects, chunks)."""
    calls, rejects, chunks = pc.parse_fixture(FMT, DIR / name, **ctx)
    calls.index = calls["call_id"].str.split("@").str[0]
    return calls, rejects, chunks


# Call ID: (start (local), direction, line, caller, outcome, wait_s, talk_s, agent, source_line, n_rows)
MAIN_CALLS = {
    "1000101": ("2026-01-05 08:00:03", "inbound", "01632960000", "07700900301", "answered", 14, 192, "201", 1, 1),
    # Answered by reception (40 s), transferred to Dr Khan (4 min, 12 s hold not counted).
    "1000102": ("2026-01-05 08:05:10", "inbound", "01632960000", "447700900302", "answered", 9, 280, "202", 2, 2),
    "1000103": ("2026-01-05 08:06:00", "inbound", "01632960000", "07700900303", "missed", 35, 0, None, 3, 1),
    # Straight to voicemail: Party1 V9501 "VM Channel 1".
    "1000104": ("2026-01-05 08:20:00", "inbound", "01632960001", "07700900304", "voicemail", 20, 0, None, 5, 1),
    # Answered, then transferred to voicemail: a person spoke, so answered; VM time not talk.
    "1000105": ("2026-01-05 08:30:00", "inbound", "01632960000", "07700900305", "answered", 6, 15, "201", 6, 2),
    "1000106": ("2026-01-05 09:00:00", "outbound", None, "07700900306", "answered", 5, 120, "201", 8, 1),
    "1000107": ("2026-01-05 09:10:00", "internal", None, "202", "answered", 4, 44, "210", 9, 1),
    "1000108": ("2026-01-05 09:20:00", "inbound", "01632960000", "", "answered", 11, 90, "202", 10, 1),
    "1000109": ("2026-01-05 09:30:00", "inbound", "01632960000", "07700900310", "answered", 8, 120, "201", 11, 1),
    "1000110": ("2026-06-01 10:00:00", "inbound", "01632960000", "07700900311", "answered", 7, 60, "201", 12, 1),
}


def check_golden(calls: pd.DataFrame, expected: dict) -> None:
    assert sorted(calls.index) == sorted(expected)
    for cid, (start, direction, line, caller, outcome, wait, talk, agent, src, n) in expected.items():
        c = calls.loc[cid]
        assert c["start"] == pd.Timestamp(start), cid
        assert c["call_id"] == f"{cid}@{pd.Timestamp(start):%Y-%m-%dT%H:%M:%S}", cid
        assert c["direction"] == direction, cid
        assert (pd.isna(c["line"]) if line is None else c["line"] == line), cid
        assert c["caller"] == caller, cid
        assert c["outcome"] == outcome, cid
        assert c["wait_s"] == wait, cid
        assert c["talk_s"] == talk, cid
        assert (pd.isna(c["agent"]) if agent is None else c["agent"] == agent), cid
        assert c["source_line"] == src, cid
        assert c["n_rows"] == n, cid


def test_current_release_golden():
    calls, rejects, chunks = parse(MAIN)
    check_golden(calls, MAIN_CALLS)
    assert rejects == []
    assert sum(c.rows_read for c in chunks) == 12
    assert calls["start"].dt.tz is None


def test_old_release_17_fields():
    calls, rejects, _ = parse("smdr_17_fields.txt")
    check_golden(
        calls,
        {
            "1000301": ("2026-01-13 08:00:00", "inbound", "01632960000", "07700900331", "answered", 10, 120, "201", 1, 1),
            "1000302": ("2026-01-13 08:01:00", "inbound", "01632960000", "07700900332", "missed", 25, 0, None, 2, 1),
        },
    )
    assert rejects == []


def test_delta_server_header_found_by_name():
    calls, rejects, _ = parse("smdr_delta_server.csv")
    check_golden(
        calls,
        {
            "1000201": ("2026-01-12 08:00:00", "inbound", "01632960000", "07700900321", "answered", 12, 60, "201", 2, 1),
            "1000202": ("2026-01-12 08:10:00", "inbound", "01632960000", "07700900322", "missed", 40, 0, None, 3, 1),
        },
    )
    assert rejects == []


def test_call_id_reused_after_reboot_is_a_new_call():
    chunks = list(FMT.read(open_source(DIR / "smdr_after_reboot.csv"), ReadContext()))
    calls = pd.concat([c.calls for c in chunks if len(c.calls)]).set_index("call_id").sort_values("source_line")
    assert list(calls.index) == [
        "1000001@2026-01-15T08:00:00",
        "1000002@2026-01-15T08:01:00",
        "1000001@2026-01-15T10:00:00",
    ]
    assert list(calls["n_rows"]) == [1, 1, 2]
    assert list(calls["outcome"]) == ["answered", "missed", "answered"]
    assert list(calls["talk_s"]) == [70, 0, 140]
    assert list(calls["wait_s"]) == [6, 30, 15]


def test_problems_are_rejected_with_reasons():
    calls, rejects, chunks = parse("smdr_with_problems.csv")
    assert sorted(calls.index) == ["1000401", "1000402", "1000404", "1000405", "1000406"]
    # A Direction letter the reader does not know keeps the call, direction unknown, counted.
    c = calls.loc["1000402"]
    assert (c["direction"], pd.isna(c["line"])) == ("unknown", True)
    # Joined over a blank line and another call; the first record has a quoted comma.
    c = calls.loc["1000404"]
    assert (c["outcome"], c["wait_s"], c["talk_s"], c["agent"], c["source_line"], c["n_rows"]) == (
        "answered", 7, 200, "202", 5, 2,
    )
    # Continuation 1 with no later record before the end of the file: emitted from what is there.
    c = calls.loc["1000406"]
    assert (c["outcome"], c["wait_s"], c["talk_s"], c["n_rows"]) == ("answered", 9, 50, 1)
    assert calls.loc["1000405", "outcome"] == "missed"
    got = {r.line: r.reason for r in rejects}
    assert set(got) == {4, 10}
    assert got[4] == "Call Start missing or unreadable (expected YYYY/MM/DD HH:MM:SS)"
    assert got[10] == "expected 35 fields, found 7 (truncated, or a different layout)"
    assert all("07700" not in r.text for r in rejects)
    assert sum((c.unknown for c in chunks), Counter()) == Counter({"Direction X": 1})
    assert sum((c.skipped for c in chunks), Counter()) == Counter({"blank line": 2})


def test_unknown_direction_letter_keeps_the_call():
    calls, rejects, chunks = parse("smdr_unknown_words_and_bad_values.csv")
    c = calls.loc["1000602"]
    assert (c["direction"], c["caller"], c["outcome"], c["talk_s"]) == ("unknown", "07700900362", "answered", 60)
    assert pd.isna(c["line"])
    assert sum((x.unknown for x in chunks), Counter()) == Counter({"Direction Q": 1})
    assert not any("Direction" in r.reason for r in rejects)


def test_dates_out_of_range_and_1e999999_reject_only_their_record(capfd):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning would fail the read
        calls, rejects, _ = parse("smdr_unknown_words_and_bad_values.csv")
    assert capfd.readouterr().err == ""
    got = {r.line: r.reason for r in rejects}
    assert got[6].startswith("Call Start out of range ('9999/12/31 23:59:59')")
    assert got[7].startswith("Call Start out of range ('1677/01/01 00:00:00')")
    assert got[8].startswith("Ring Time unreadable ('1e999999')")
    assert got[9].startswith("Connected Time unreadable")
    assert all("before 1678 or after 2261" in got[n] for n in (6, 7))
    assert set(got) == {6, 7, 8, 9}
    # The records around them are read.
    assert sorted(calls["source_line"]) == [1, 2, 3, 4, 5, 10]


SIP = "smdr_sip_callers.csv"


def test_sip_caller_passed_whole_to_caller():
    # "number@gateway": the parser passes the field as written; the ingest's normalisation
    # takes the number before the "@".
    calls, rejects, _ = parse(SIP)
    assert rejects == []
    assert calls.loc["1000501", "caller"] == "07700900351@192.0.2.10"
    assert calls.loc["1000502", "caller"] == "07700900351@192.0.2.20"
    assert calls.loc["1000503", "caller"] == "+447700900351@192.0.2.30"


def test_called_and_dialled_numbers_reach_only_line_or_the_other_party():
    calls, _, _ = parse(SIP)
    rows = [r.split(",") for r in (DIR / SIP).read_text().splitlines()]
    called = {r[9]: (r[5], r[6]) for r in rows}  # Call ID -> (Called Number, Dialled Number)
    for cid, c in calls.iterrows():
        numbers = {n for n in called[cid] if len(n) >= 7}
        for col in ("call_id", "agent"):
            assert not any(n in str(c[col]) for n in numbers), (cid, col)
        if c["direction"] == "inbound":
            # The DDI is the line; the caller is the Caller field, not a dialled number.
            assert c["line"] == called[cid][0]
            assert not any(n in str(c["caller"]) for n in numbers), cid
    # Outbound: the number dialled is the other party (its outside-line 9 removed), no line.
    out = calls.loc["1000505"]
    assert (out["caller"], pd.isna(out["line"]), out["agent"]) == ("07700900353", True, "202")
    # A Dialled Number that is an internal target (2001) is not the agent nor the line.
    assert (calls.loc["1000504", "line"], calls.loc["1000504", "agent"]) == ("01632960001", "203")


def test_one_caller_through_two_gateways_gets_one_caller_key(store):
    pc.ingest_twice(store, DIR / SIP, "avaya_smdr", (5, 5, 0, 0))
    calls = store.read_calls()
    calls.index = calls["call_id"].str.split("@").str[0]
    same = calls.loc[["1000501", "1000502", "1000503"], "caller_key"]
    assert same.notna().all() and same.nunique() == 1
    assert calls.loc["1000504", "caller_key"] != same.iloc[0]


@pytest.mark.parametrize("name", [MAIN, "smdr_with_problems.csv"])
def test_records_joined_across_small_chunks(monkeypatch, name):
    pc.check_small_chunks_same(parse, monkeypatch, avaya_smdr, 300, name)  # about one record a chunk


@pytest.mark.parametrize("path", sorted(DIR.iterdir()), ids=lambda p: p.name)
def test_rows_are_conserved(path):
    pc.check_rows_conserved(FMT, path)


@pytest.mark.parametrize("path", sorted(DIR.iterdir()), ids=lambda p: p.name)
def test_sniff_own_files(path):
    pc.check_sniff_sure(FMT, [path])


@pytest.mark.parametrize("path", pc.other_fixtures(DATA, DIR), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sniff_other_formats_not_sure(path):
    pc.check_sniff_not_sure(FMT, [path])


@pytest.mark.parametrize(
    "other", [DATA / "asterisk_queue_log" / "queue_log", DATA / "freeswitch_cdr_csv" / "Master.csv"]
)
def test_other_files_raise_bad_input(other):
    pc.check_raises_bad_input(FMT, other, "not an Avaya IP Office SMDR file")


def test_tables_are_canonical():
    assert set(avaya_smdr.DIRECTIONS.values()) <= {"inbound", "outbound", "internal"}
    assert avaya_smdr.FIELDS[:11][-2:] == ["call_id", "continuation"]
    assert {"answered", "voicemail", "missed"} <= set(OUTCOMES)


def test_ingest_end_to_end(store):
    res = pc.ingest_twice(store, DIR / MAIN, "avaya_smdr", (12, 10, 0, 0))
    assert res.rows_merged == 2
    calls = store.read_calls()
    calls.index = calls["call_id"].str.split("@").str[0]
    # Europe/London: GMT in January, BST in June.
    assert calls.loc["1000101", "start_utc"] == pd.Timestamp("2026-01-05 08:00:03", tz="UTC")
    assert calls.loc["1000110", "start_utc"] == pd.Timestamp("2026-06-01 09:00:00", tz="UTC")
    assert pd.isna(calls.loc["1000108", "caller_key"])  # withheld
    assert calls.loc["1000102", "agent_key"] == calls.loc["1000108", "agent_key"]  # both extension 202
    assert pd.isna(calls.loc["1000103", "agent_key"])


def test_ingest_problems_file(store):
    pc.ingest_problems_twice(store, DIR / "smdr_with_problems.csv", (10, 5, 0, 2, 2))
