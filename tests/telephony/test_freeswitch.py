"""FreeSWITCH mod_cdr_csv parser: golden calls from hand-made fixtures, rejects, sniffing, ingest."""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from telephony.formats import FORMATS
from telephony.formats import freeswitch
from telephony.schema import OUTCOMES

from tests.telephony import parser_checks as pc

DATA = Path(__file__).resolve().parents[1] / "data"
FMT = FORMATS["freeswitch_cdr_csv"]
DIR = DATA / "freeswitch_cdr_csv"
U = "3c5e1f0a-6b2d-4e8f-9a1c-7d4b2e6f8a"  # uuid prefix of the fixtures' A-legs


def parse(name: str, **ctx):
    """All chunks of a fixture: (calls indexed by call_id, rejects, chunks)."""
    calls, rejects, chunks = pc.parse_fixture(FMT, DIR / name, **ctx)
    return calls.set_index("call_id"), rejects, chunks


def ts(s: str) -> pd.Timestamp:
    return pd.Timestamp(s)


# uuid suffix: (start (local), direction, line, caller, outcome, wait_s, talk_s, agent, source_line)
MASTER = {
    "01": ("2026-01-05 08:00:01", "inbound", "01632960000", "07700900101", "answered", 18, 240, None, 1),
    "02": ("2026-01-05 08:01:00", "inbound", "01632960000", "+447700900102", "abandoned", 35, 0, None, 2),
    "03": ("2026-01-05 08:02:10", "inbound", "01632960000", "447700900103", "missed", 60, 0, None, 3),
    "04": ("2026-01-05 08:03:00", "inbound", "01632960000", "07700 900104", "busy", 2, 0, None, 4),
    # Outbound: the other party is the number dialled, its access code 9 removed.
    "05": ("2026-01-05 09:15:00", "outbound", None, "07700900105", "answered", 12, 300, "201", 5),
    "06": ("2026-01-05 09:30:00", "internal", None, "202", "answered", 4, 60, "203", 6),
    "07": ("2026-01-05 09:40:00", "outbound", None, "01632960999", "failed", 0, 0, "201", 7),
    "08": ("2026-01-05 10:00:00", "inbound", "01632960000", "anonymous", "missed", 45, 0, None, 8),
    "09": ("2026-06-01 09:00:05", "inbound", "01632960001", "07700900109", "answered", 10, 300, None, 9),
    # answer_stamp set but billsec 0: not answered; NORMAL_CLEARING unanswered is missed.
    "10": ("2026-01-05 10:10:00", "inbound", "01632960000", "07700900110", "missed", 20, 0, None, 10),
    "11": ("2026-01-05 10:20:00", "inbound", "01632960000", "07700900111", "missed", 8, 0, None, 11),
    # Dialled straight to an extension: the extension is the agent and the line.
    "12": ("2026-01-05 10:30:00", "inbound", "203", "07700900112", "answered", 6, 120, "203", 12),
}


def check_golden(calls: pd.DataFrame, expected: dict) -> None:
    assert len(calls) == len(expected)
    for suffix, (start, direction, line, caller, outcome, wait, talk, agent, src) in expected.items():
        c = calls.loc[U + suffix]
        assert c["start"] == ts(start), suffix
        assert c["direction"] == direction, suffix
        assert (pd.isna(c["line"]) if line is None else c["line"] == line), suffix
        assert c["caller"] == caller, suffix
        assert c["outcome"] == outcome, suffix
        assert c["wait_s"] == wait, suffix
        assert c["talk_s"] == talk, suffix
        assert (pd.isna(c["agent"]) if agent is None else c["agent"] == agent), suffix
        assert c["source_line"] == src, suffix
        assert c["n_rows"] == 1, suffix


def test_default_template_golden():
    calls, rejects, chunks = parse("Master.csv")
    check_golden(calls, MASTER)
    assert rejects == []
    assert sum(c.rows_read for c in chunks) == 12
    # Wall-clock times stay naive: the ingest converts them.
    assert calls["start"].dt.tz is None


def test_example_template_golden():
    calls, rejects, _ = parse("Master_example_template.csv")
    check_golden(
        calls,
        {
            "21": ("2026-01-06 08:00:00", "inbound", "01632960000", "07700900121", "answered", 30, 120, None, 1),
            "22": ("2026-01-06 08:05:00", "inbound", "01632960000", "07700900122", "missed", 120, 0, None, 2),
            "23": ("2026-01-06 08:10:00", "outbound", None, "+447700900123", "answered", 5, 60, "201", 3),
        },
    )
    assert rejects == []


def test_spreadsheet_resave_minute_dates_and_lost_zeros():
    # Quotes gone, BOM + CRLF, dates to the minute: waits still exact from duration - billsec.
    calls, rejects, _ = parse("Master_spreadsheet.csv")
    check_golden(
        calls,
        {
            "31": ("2026-01-07 08:00", "inbound", "1632960000", "7700900131", "answered", 15, 170, None, 1),
            "32": ("2026-01-07 08:05", "inbound", "1632960000", "7700900132", "abandoned", 50, 0, None, 2),
            "33": ("2026-01-07 08:10", "outbound", None, "7700900133", "answered", 5, 95, "201", 3),
        },
    )
    assert rejects == []


def test_database_export_with_header_found_by_name():
    calls, rejects, _ = parse("cdr_table_export.csv")
    check_golden(
        calls,
        {
            "61": ("2026-01-09 08:00:00", "inbound", "01632960000", "07700900161", "answered", 21, 120, None, 2),
            "62": ("2026-01-09 08:03:00", "inbound", "01632960000", "07700900162", "abandoned", 9, 0, None, 3),
        },
    )
    assert rejects == []


def test_problems_are_rejected_with_reasons():
    calls, rejects, chunks = parse("Master_with_problems.csv")
    assert sorted(calls["source_line"]) == [1, 2, 4, 6, 9, 10]
    got = {r.line: r.reason for r in rejects}
    assert set(got) == {5, 11}
    assert got[5] == "start_stamp missing or unreadable"
    assert got[11] == "expected 13 fields, found 6 (truncated, or a different layout)"
    # Reject texts never carry a phone number.
    assert all("07700" not in r.text for r in rejects)
    assert "XXXXXXXXXXX" in next(r.text for r in rejects if r.line == 5)
    # An unknown cause never loses the call: unanswered, its outcome is unknown; answered, it
    # decides nothing. Both are counted.
    unknown = sum((c.unknown for c in chunks), Counter())
    assert unknown == Counter({"WEIRD_CAUSE": 1, "MADE_UP_CAUSE": 1})
    weird = calls.loc[U + "44"]
    assert (weird["outcome"], weird["wait_s"], weird["talk_s"]) == ("unknown", 30, 0)
    kept = calls.loc[U + "46"]
    assert (kept["outcome"], kept["wait_s"], kept["talk_s"]) == ("answered", 5, 300)
    skipped = sum((c.skipped for c in chunks), Counter())
    assert skipped == Counter({"blank line": 3})
    busy = calls.loc[U + "50"]
    assert (busy["direction"], busy["outcome"], busy["wait_s"], busy["agent"]) == ("outbound", "busy", 3, "201")


def test_unknown_hangup_cause_keeps_the_call_outcome_unknown():
    calls, rejects, chunks = parse("Master_unknown_causes_and_bad_values.csv")
    c = calls.loc[U + "82"]
    assert (c["direction"], c["outcome"], c["wait_s"], c["talk_s"]) == ("inbound", "unknown", 40, 0)
    assert sum((x.unknown for x in chunks), Counter()) == Counter({"CALL_VANISHED": 1})
    assert not any("CALL_VANISHED" in r.reason for r in rejects)


def test_dates_out_of_range_and_1e999999_reject_only_their_line(capfd):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning would fail the read
        calls, rejects, chunks = parse("Master_unknown_causes_and_bad_values.csv")
    assert capfd.readouterr().err == ""
    got = {r.line: r.reason for r in rejects}
    assert got[3].startswith("start_stamp out of range ('9999-12-31 23:59:59')")
    assert got[4].startswith("end_stamp out of range ('1677-01-01 00:00:00')")
    assert got[5].startswith("duration or billsec unreadable ('1e999999', '120')")
    assert all("before 1678 or after 2261" in got[n] for n in (3, 4))
    # The lines around them are read.
    assert sorted(calls["source_line"]) == [1, 2, 6]


def test_legs_ab_b_leg_joined_to_its_a_leg():
    # With legs="ab" (seen in a real Master.csv) each bridged call writes its B-leg too; the
    # A-leg's bleg_uuid names it. One call each, the B-leg naming the extension that answered.
    calls, rejects, _ = parse("Master_legs_ab.csv")
    assert rejects == []
    assert list(calls.index) == [U + "71", U + "72", U + "73", U + "74"]
    assert calls["n_rows"].tolist() == [2, 2, 2, 2]
    # Inbound to the IVR number, answered by 201 (the B-leg), B-leg written first.
    c = calls.loc[U + "71"]
    assert (c["direction"], c["line"], c["caller"], c["outcome"], c["agent"], c["source_line"]) == (
        "inbound", "01632960000", "07700900171", "answered", "201", 1,
    )
    assert calls.loc[U + "72", ["direction", "agent"]].tolist() == ["internal", "203"]
    # The caller gave up while 202 rang: the B-leg answered nothing, so no agent.
    assert calls.loc[U + "73", ["outcome", "agent"]].isna().tolist() == [False, True]
    assert calls.loc[U + "73", "outcome"] == "abandoned"
    # The A-leg written before its B-leg: joined all the same.
    assert calls.loc[U + "74", ["agent", "talk_s", "source_line"]].tolist() == ["204", 120, 7]


def test_legs_ab_joined_across_small_chunks(monkeypatch):
    pc.check_small_chunks_same(parse, monkeypatch, freeswitch, 200, "Master_legs_ab.csv")  # about a line a chunk


def test_originate_lines_resaved_by_a_spreadsheet():
    # As a real Master.csv re-saved by a spreadsheet: originated calls to an application ("&"),
    # a caller id of 0, minute-only dates, and one line written three times with the same uuid.
    calls, rejects, _ = parse("Master_originate_resaved.csv")
    assert rejects == []
    assert (calls["direction"] == "internal").all()
    assert calls.loc[U + "91", ["caller", "outcome", "talk_s"]].tolist() == ["201", "answered", 61]
    assert calls.loc[U + "92", ["caller", "outcome"]].tolist() == ["0", "missed"]
    assert calls.loc[U + "93", "n_rows"] == 2


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
    "other", [DATA / "asterisk_queue_log" / "queue_log", DATA / "cisco_cucm_cdr" / "car_cdr_export.csv"]
)
def test_other_files_raise_bad_input(other):
    pc.check_raises_bad_input(FMT, other, "not a FreeSWITCH cdr_csv export")


def test_outcome_table_is_canonical():
    assert set(freeswitch.HANGUP_CAUSES.values()) <= set(OUTCOMES)
    assert freeswitch.HANGUP_CAUSES["ORIGINATOR_CANCEL"] == "abandoned"
    assert freeswitch.HANGUP_CAUSES["NO_ANSWER"] == "missed"
    assert freeswitch.HANGUP_CAUSES["USER_BUSY"] == "busy"


def test_ingest_end_to_end(store):
    pc.ingest_twice(store, DIR / "Master.csv", "freeswitch_cdr_csv", (12, 12, 0, 0))  # detected, not forced

    calls = store.read_calls().set_index("call_id")
    # Europe/London: GMT in January, BST (UTC+1) in June.
    assert calls.loc[U + "01", "start_utc"] == pd.Timestamp("2026-01-05 08:00:01", tz="UTC")
    assert calls.loc[U + "09", "start_utc"] == pd.Timestamp("2026-06-01 08:00:05", tz="UTC")
    # Callers pseudonymised: the same number in three spellings is one key; withheld is null.
    assert calls["caller_key"].str.fullmatch(r"[0-9a-f]{20}").sum() == 11
    assert pd.isna(calls.loc[U + "08", "caller_key"])
    assert calls.loc[U + "12", "agent_key"] == calls.loc[U + "06", "agent_key"]  # both extension 203


def test_ingest_problems_file(store):
    res = pc.ingest_problems_twice(store, DIR / "Master_with_problems.csv", (11, 6, 0, 2, 3))
    assert dict(res.unknown) == {"WEIRD_CAUSE": 1, "MADE_UP_CAUSE": 1}
