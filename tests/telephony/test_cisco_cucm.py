"""Cisco Unified CM CDR parser: legs joined by globalCallID, Q.850 outcomes, type row, ingest."""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from telephony.errors import BadInputError
from telephony.formats import FORMATS, ReadContext
from telephony.formats import cisco_cucm
from telephony.schema import OUTCOMES
from telephony.sources import open_source

from tests.telephony import parser_checks as pc

DATA = Path(__file__).resolve().parents[1] / "data"
DIR = DATA / "cisco_cucm_cdr"
MAIN = "cdr_StandAloneCluster_01_202601050800_1.csv"
FMT = FORMATS["cisco_cucm_cdr"]


def parse(name: str, **ctx):
    """All chunks of a fixture: (calls indexed by call_id, rejects, chunks)."""
    calls, rejects, chunks = pc.parse_fixture(FMT, DIR / name, **ctx)
    return calls.set_index("call_id"), rejects, chunks


def utc(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


# call_id: (start UTC, direction, line, caller, outcome, wait_s, talk_s, agent, source_line, n_rows)
MAIN_CALLS = {
    "1-2063271": ("2026-01-05 08:00:00", "inbound", "2000", "07700900201", "answered", 12, 180, "2001", 4, 1),
    # Transferred: two legs (one written before another call's leg); answered by 2002 at
    # 08:01:08, the transferred leg ends 08:08:08; the legs are 3 lines apart.
    "1-2063272": ("2026-01-05 08:01:00", "inbound", "2000", "+447700900202", "answered", 8, 360, "2002", 3, 2),
    # Queued, caller hung up: origCause 16 / destCause 0.
    "1-2063273": ("2026-01-05 08:03:00", "inbound", "2000", "447700900203", "abandoned", 95, 0, None, 5, 1),
    # Not queued, caller hung up while it rang: also abandoned (CALLER_HANGUP_OUTCOMES).
    "1-2063274": ("2026-01-05 08:10:00", "inbound", "2001", "07700900204", "abandoned", 20, 0, None, 7, 1),
    "1-2063275": ("2026-01-05 08:15:00", "inbound", "2000", "07700900205", "missed", 60, 0, None, 8, 1),  # 19
    "1-2063276": ("2026-01-05 08:20:00", "inbound", "2004", "07700900206", "busy", 1, 0, None, 9, 1),  # 17
    # Outbound: caller is the outpulsed number; agent the calling extension.
    "1-2063277": ("2026-01-05 08:30:00", "outbound", None, "07700900207", "answered", 9, 120, "2003", 10, 1),
    "1-2063278": ("2026-01-05 08:40:00", "internal", None, "2001", "answered", 3, 60, "2004", 11, 1),
    "1-2063279": ("2026-01-05 08:50:00", "outbound", None, "01632960999", "failed", 2, 0, "2002", 12, 1),  # 1
    # Forwarded to a Unity Connection port (the start record on line 13 is skipped).
    "1-2063280": ("2026-01-05 09:00:00", "inbound", "2001", "07700900210", "voicemail", 18, 0, None, 14, 1),
    "1-2063282": ("2026-01-05 09:10:00", "inbound", "2000", "", "answered", 5, 60, "2002", 15, 1),  # withheld
    # Same callId on another CUCM node: another call.
    "2-2063271": ("2026-01-05 09:20:00", "inbound", "2000", "07700900214", "answered", 7, 60, "2001", 16, 1),
    "1-2063283": ("2026-06-01 08:00:00", "inbound", "2000", "+447700900213", "answered", 10, 60, "2001", 18, 1),
}


def check_golden(calls: pd.DataFrame, expected: dict) -> None:
    assert sorted(calls.index) == sorted(expected)
    for cid, (start, direction, line, caller, outcome, wait, talk, agent, src, n) in expected.items():
        c = calls.loc[cid]
        assert c["start"] == utc(start), cid
        assert c["direction"] == direction, cid
        assert (pd.isna(c["line"]) if line is None else c["line"] == line), cid
        assert c["caller"] == caller, cid
        assert c["outcome"] == outcome, cid
        assert c["wait_s"] == wait, cid
        assert c["talk_s"] == talk, cid
        assert (pd.isna(c["agent"]) if agent is None else c["agent"] == agent), cid
        assert c["source_line"] == src, cid
        assert c["n_rows"] == n, cid


def test_cdr_file_golden():
    calls, rejects, chunks = parse(MAIN)
    check_golden(calls, MAIN_CALLS)
    assert rejects == []
    skipped = sum((c.skipped for c in chunks), Counter())
    assert skipped == Counter({"start record (cdrRecordType 0)": 1, "CMR record (cdrRecordType 2)": 1})
    assert sum(c.rows_read for c in chunks) == 16
    # Epoch times: aware UTC from the parser.
    assert str(calls["start"].dt.tz) == "UTC"


def test_car_export_without_type_row_columns_by_name():
    calls, rejects, _ = parse("car_cdr_export.csv")
    check_golden(
        calls,
        {
            "1-3100001": ("2026-01-12 08:00:00", "inbound", "2000", "07700900221", "answered", 25, 180, "2002", 2, 1),
            # The hunt pilot gave up (destCause 16, origCause 0): missed, even though queued.
            "1-3100002": ("2026-01-12 08:05:00", "inbound", "2000", "07700900222", "missed", 120, 0, None, 3, 1),
            # Call rejected (21).
            "1-3100003": ("2026-01-12 08:10:00", "inbound", "2004", "07700900223", "missed", 4, 0, None, 4, 1),
        },
    )
    assert rejects == []


def test_problems_are_rejected_with_reasons():
    calls, rejects, chunks = parse("cdr_with_problems.csv")
    assert sorted(calls.index) == ["1-4000001", "1-4000004", "1-4000005", "1-4000006"]
    # The row with a quoted comma in the login id parsed whole.
    c = calls.loc["1-4000004"]
    assert (c["direction"], c["outcome"], c["wait_s"], c["talk_s"], c["agent"]) == ("internal", "answered", 2, 60, "2003")
    assert calls.loc["1-4000005", "outcome"] == "missed"
    # A cause value the table does not know, on a call that never connected: kept, unknown.
    assert calls.loc["1-4000006", "outcome"] == "unknown"
    got = {r.line: r.reason for r in rejects}
    assert set(got) == {5, 6, 12, 13}
    assert got[5] == "dateTimeOrigination missing or unreadable (expected epoch seconds)"
    assert got[6].startswith("unknown cdrRecordType '7'")
    assert got[12].startswith("call never connected and no cause recorded")
    assert got[13] == "expected 40 fields, found 12 (truncated, or a different layout)"
    assert all("07700" not in r.text for r in rejects)
    unknown = sum((c.unknown for c in chunks), Counter())
    assert unknown == Counter({"cdrRecordType 7": 1, "cause 999": 1})
    skipped = sum((c.skipped for c in chunks), Counter())
    assert skipped == Counter({"blank line": 1, "repeated header row": 1, "repeated type row": 1})


FULL = "cdr_StandAloneCluster_01_202601150800_2.csv"


def test_full_129_field_file_with_its_type_row():
    # Every field of a CUCM 10+ flat file, and its row of SQL types (VARCHAR(2048),
    # UNIQUEIDENTIFIER...), as real CUCM systems write them.
    calls, rejects, chunks = parse(FULL)
    assert len(pd.read_csv(DIR / FULL, nrows=0).columns) == 129
    assert sorted(calls.index) == [f"1-510000{i}" for i in (1, 2, 3, 4, 5, 8, 9)]
    assert calls.loc["1-5100001", ["direction", "line", "outcome", "wait_s", "agent"]].tolist() == [
        "inbound", "2000", "answered", 12, "2001",
    ]
    assert sum(c.rows_read for c in chunks) == 9


def test_no_number_reaches_call_id_or_agent():
    calls, _, _ = parse(FULL)
    assert calls.index.str.fullmatch(r"\d+-\d+").all()
    assert calls["agent"].dropna().str.fullmatch(r"\d{2,6}").all()
    # Forwarded to a mobile and answered there: the number that answered is not an agent.
    c = calls.loc["1-5100002"]
    assert (c["outcome"], pd.isna(c["agent"]), c["line"], c["caller"]) == ("answered", True, "2002", "07700900242")


def test_international_dialled_numbers_only_in_line_or_the_other_party():
    calls, _, _ = parse(FULL)
    # A DDI arriving as a full international number is the line (labelled by the ingest).
    assert calls.loc["1-5100003", ["line", "caller", "agent"]].tolist() == ["+441632960000", "+447700900244", "2001"]
    # Outbound, 9 + 011 44 ...: the number as sent to the network is the other party; no line.
    out = calls.loc["1-5100004"]
    assert (out["caller"], pd.isna(out["line"]), out["agent"]) == ("011442079460123", True, "2003")
    out = calls.loc["1-5100005"]
    assert (out["caller"], pd.isna(out["line"]), out["agent"]) == ("900442079460124", True, "2003")


def test_dates_out_of_range_and_1e999999_reject_only_their_leg(capfd):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning would fail the read
        calls, rejects, chunks = parse(FULL)
    assert capfd.readouterr().err == ""
    got = {r.line: r.reason for r in rejects}
    assert set(got) == {8, 9}
    assert got[8].startswith("dateTimeOrigination out of range")  # 9999-12-31
    assert got[9].startswith("dateTimeDisconnect out of range")  # 1e999999
    # The year-10000 start no longer reaches the calls; the rest is read.
    assert calls["start"].max() < utc("2027-01-01")
    assert "1-5100009" in calls.index
    assert sum((c.unknown for c in chunks), Counter()) == Counter({"cause 888": 1})


@pytest.mark.parametrize("name", [MAIN, "cdr_with_problems.csv"])
def test_legs_joined_across_small_chunks(monkeypatch, name):
    pc.check_small_chunks_same(parse, monkeypatch, cisco_cucm, 700, name)  # about two records a chunk


@pytest.mark.parametrize("path", sorted(DIR.iterdir()), ids=lambda p: p.name)
def test_rows_are_conserved(path):
    pc.check_rows_conserved(FMT, path)


@pytest.mark.parametrize("path", sorted(DIR.iterdir()), ids=lambda p: p.name)
def test_sniff_own_files(path):
    pc.check_sniff_sure(FMT, [path])


@pytest.mark.parametrize("path", pc.other_fixtures(DATA, DIR), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sniff_other_formats_not_sure(path):
    pc.check_sniff_not_sure(FMT, [path])


def test_missing_column_is_named(tmp_path):
    p = tmp_path / "cdr.csv"
    p.write_text(
        "cdrRecordType,globalCallID_callId,dateTimeOrigination,callingPartyNumber,dateTimeDisconnect,"
        "origCause_value,destCause_value\n1,1,1767600000,07700900201,1767600060,16,0\n"
    )
    with pytest.raises(BadInputError, match="missing column.*t_conn"):
        list(FMT.read(open_source(p), ReadContext()))


def test_other_file_raises_bad_input():
    pc.check_raises_bad_input(FMT, DATA / "freeswitch_cdr_csv" / "cdr_table_export.csv", "not a cisco_cucm_cdr export")


def test_outcome_tables_are_canonical():
    assert set(cisco_cucm.Q850_OUTCOMES.values()) <= set(OUTCOMES)
    assert set(cisco_cucm.CALLER_HANGUP_OUTCOMES.values()) <= set(OUTCOMES)
    assert (cisco_cucm.Q850_OUTCOMES[17], cisco_cucm.Q850_OUTCOMES[19], cisco_cucm.Q850_OUTCOMES[1]) == (
        "busy",
        "missed",
        "failed",
    )


def test_ingest_end_to_end_epoch_times_ignore_timezone(store):
    # Epoch times are UTC: a wrong --timezone must not move them.
    res = pc.ingest_twice(store, DIR / MAIN, "cisco_cucm_cdr", (16, 13, 0, 0), timezone="America/New_York")
    assert (res.rows_merged, res.rows_skipped) == (1, 2)
    assert res.rows_read == res.records + res.rows_merged + res.rows_skipped
    calls = store.read_calls().set_index("call_id")
    for cid, exp in MAIN_CALLS.items():
        assert calls.loc[cid, "start_utc"] == utc(exp[0]), cid
        assert calls.loc[cid, "outcome"] == exp[4], cid
    assert pd.isna(calls.loc["1-2063282", "caller_key"])  # withheld
    assert calls.loc["1-2063271", "agent_key"] == calls.loc["2-2063271", "agent_key"]  # both 2001


def test_ingest_problems_file(store):
    pc.ingest_problems_twice(store, DIR / "cdr_with_problems.csv", (11, 4, 0, 4, 3))


def test_ingest_full_file(store):
    pc.ingest_problems_twice(store, DIR / FULL, (9, 7, 0, 2, 0))
    calls = store.read_calls().set_index("call_id")
    assert pd.isna(calls.loc["1-5100002", "agent_key"])
    assert calls.loc["1-5100008", "outcome"] == "unknown"
