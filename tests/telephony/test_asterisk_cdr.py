"""Asterisk CDR parsers (cdr_csv, cdr_custom, FreePBX's CDR table): golden calls from hand-made
fixtures, legs joined into calls, rejects, sniffing against every other fixture, ingest."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telephony.errors import BadInputError
from telephony.formats import FORMATS, ReadContext
from telephony.formats import asterisk_cdr
from telephony.ingest import detect_format, ingest_file
from telephony.privacy import Pseudonymiser
from telephony.schema import OUTCOMES
from telephony.sources import open_source, read_delimited

DATA = Path(__file__).resolve().parents[1] / "data"
MINE = {
    "asterisk_cdr_csv": DATA / "asterisk_cdr_csv",
    "asterisk_cdr_custom": DATA / "asterisk_cdr_custom",
    "freepbx_cdr": DATA / "freepbx_cdr",
}
PRACTICE = "A81001"


def parse(fmt: str, path: Path, **ctx):
    """All chunks of a file: (calls indexed by source_line, rejects by line, chunks)."""
    chunks = list(FORMATS[fmt].read(open_source(path), ReadContext(**ctx)))
    parts = [c.calls for c in chunks if len(c.calls)]
    calls = pd.concat(parts, ignore_index=True) if parts else chunks[0].calls
    rejects = {r.line: r for c in chunks for r in c.rejects}
    return calls.set_index("source_line").sort_index(), rejects, chunks


def totals(chunks) -> tuple[Counter, Counter]:
    skipped, unknown = Counter(), Counter()
    for c in chunks:
        skipped.update(c.skipped)
        unknown.update(c.unknown)
    return skipped, unknown


# Golden calls, keyed by first source line:
# (call_id, start (local), direction, line, caller, outcome, ivr_s, wait_s, talk_s, agent, n_rows)
CSV_21 = {
    # Dial to three phones: two NO ANSWER rows, then the ANSWERED one (rows in end order).
    1: ("1767600001.1", "2026-01-05 08:00:01", "inbound", "01632960000", "07700900101", "answered", 0, 18, 240, "202", 3),
    # Rang two phones 20 s, then voicemail answered at +20 s: voicemail, not answered.
    4: ("1767600600.5", "2026-01-05 08:10:00", "inbound", "01632960000", "+447700900102", "voicemail", 0, 20, 0, None, 3),
    7: ("1767601200.8", "2026-01-05 08:20:00", "inbound", "01632960000", "447700900103", "busy", 0, 1, 0, None, 1),
    8: ("1767603600.10", "2026-01-05 09:00:00", "internal", None, "201", "answered", 0, 4, 60, "202", 1),
    # Outbound: the other party (the number dialled) is the caller, as every reader records
    # it; the extension that dialled is the agent.
    9: ("1767605400.12", "2026-01-05 09:30:00", "outbound", None, "07700900105", "answered", 0, 10, 300, "203", 1),
    # Queue() answered the channel, nobody took it: missed, waited the whole 121 s.
    10: ("1767607200.14", "2026-01-05 10:00:00", "inbound", "01632960001", "01632960106", "missed", 0, 121, 0, None, 2),
    # Queue member through Local/: the ;2 half (own uniqueid) joined by linkedid; its
    # PJSIP/205 answer decides, the trunk row gives caller, line and start.
    12: ("1767609000.16", "2026-01-05 10:30:00", "inbound", "01632960000", "07700900107", "answered", 0, 45, 300, "205", 2),
    # Answered by the IVR only; dst "s": the line is the dcontext. Never queued: wait null,
    # the whole call in the menu.
    14: ("1767610800.20", "2026-01-05 11:00:00", "inbound", "ivr-1", "07700900108", "ivr_abandoned", 25, None, 0, None, 1),
    15: ("1767612600.22", "2026-01-05 11:30:00", "inbound", "01632960000", "02079460109", "failed", 0, 0, 0, None, 1),
    16: ("1767613500.24", "2026-01-05 11:45:00", "inbound", "01632960000", "anonymous", "busy", 0, 0, 0, None, 1),
    17: ("1780300800.30", "2026-06-01 09:00:00", "inbound", "01632960000", "07700900111", "answered", 0, 12, 180, "201", 1),
}
CSV_16 = {
    # No ids at all: the three legs of one caller channel joined by channel name + start.
    1: (None, "2026-01-06 08:00:05", "inbound", "01632960000", "07700900112", "answered", 0, 9, 120, "203", 3),
    4: (None, "2026-01-06 08:05:00", "inbound", "01632960000", "07700900113", "missed", 0, 30, 0, None, 1),
    5: (None, "2026-01-06 08:10:00", "internal", None, "202", "missed", 0, 15, 0, None, 1),
}
CSV_18 = {
    # Ring group through Local/ channels, no linkedid: the ;2 halves (lines 1, 3) are skipped,
    # the trunk's rows (uniqueid 1767772800.40) say 202 answered through Local/202...;1.
    2: ("1767772800.40", "2026-01-07 08:00:00", "inbound", "600", "07700900114", "answered", 0, 14, 200, "202", 2),
    5: ("1767774600.45", "2026-01-07 08:30:00", "inbound", "01632960000", "07700900115", "voicemail", 0, 2, 0, None, 1),
    6: ("1767776400.46", "2026-01-07 09:00:00", "outbound", None, "01632960150", "missed", 0, 25, 0, "204", 1),
}
CUSTOM = {
    1: ("1768204802.101", "2026-01-12 08:00:02", "inbound", "01632960000", "07700900131", "answered", 0, 7, 95, "201", 3),
    4: ("1768205400.105", "2026-01-12 08:10:00", "inbound", "01632960000", "07700900132", "voicemail", 0, 26, 0, None, 2),
    6: ("1768206000.107", "2026-01-12 08:20:00", "inbound", "01632960000", "+441632960133", "busy", 0, 0, 0, None, 1),
    7: ("1768208400.109", "2026-01-12 09:00:00", "internal", None, "203", "answered", 0, 3, 42, "201", 1),
    8: ("1768210200.111", "2026-01-12 09:30:00", "outbound", None, "07700900135", "answered", 0, 8, 125, "202", 1),
    # Line 9 is a Local ;2 half (skipped); the trunk row answered through Local/203...;1.
    10: ("1768212000.113", "2026-01-12 10:00:00", "inbound", "01632960001", "07700900136", "answered", 0, 30, 150, "203", 1),
    11: ("1783335600.116", "2026-07-06 12:00:00", "inbound", "01632960000", "07700900137", "missed", 0, 30, 0, None, 1),
}
FREEPBX = {
    # Line 1 is the header. Ring group 600 over three Local/ legs; no answer column: the wait
    # is duration - billsec of the answering leg (192 - 180).
    2: ("1768809603.201", "2026-01-19 08:00:03", "inbound", "01632960000", "07700900151", "answered", 0, 12, 180, "202", 3),
    5: ("1768810200.205", "2026-01-19 08:10:00", "inbound", "01632960000", "07700900152", "voicemail", 0, 15, 0, None, 2),
    7: ("1768811200.207", "2026-01-19 08:20:00", "inbound", "01632960001", "447700900153", "busy", 0, 3, 0, None, 1),
    8: ("1768813200.209", "2026-01-19 09:00:00", "internal", None, "201", "answered", 0, 5, 60, "203", 1),
    9: ("1768815000.211", "2026-01-19 09:30:00", "outbound", None, "07700900155", "answered", 0, 10, 120, "202", 1),
    # linkedid and did written as the word NULL: uniqueid is the id, dst the line.
    10: ("1768816800.213", "2026-01-19 10:00:00", "inbound", "01632960000", "07700900156", "missed", 0, 20, 0, None, 1),
    # calldate re-saved by a spreadsheet as 19/01/2026 11:00 (day first).
    11: ("1768820400.215", "2026-01-19 11:00:00", "inbound", "01632960000", "07700900157", "missed", 0, 20, 0, None, 1),
    12: ("1782896400.217", "2026-07-01 10:00:00", "inbound", "01632960000", "07700900158", "answered", 0, 9, 300, "201", 1),
}
FREEPBX_OLD = {
    # No did column: inbound from the from-trunk context; legs share the uniqueid.
    2: ("1768896000.301", "2026-01-20 08:00:00", "inbound", "01632960000", "01632960161", "answered", 0, 16, 75, "202", 2),
    4: ("1768896300.304", "2026-01-20 08:05:00", "inbound", "01632960000", "02079460162", "missed", 0, 20, 0, None, 1),
    5: ("1768897800.306", "2026-01-20 08:30:00", "outbound", None, "02079460163", "failed", 0, 0, 0, "201", 1),
}


def check_golden(calls: pd.DataFrame, expected: dict) -> None:
    assert sorted(calls.index) == sorted(expected)
    for ln, (cid, start, direction, line, caller, outcome, ivr, wait, talk, agent, n_rows) in expected.items():
        c = calls.loc[ln]
        assert (pd.isna(c["call_id"]) if cid is None else c["call_id"] == cid), ln
        assert c["start"] == pd.Timestamp(start), ln
        assert c["direction"] == direction, ln
        assert (pd.isna(c["line"]) if line is None else c["line"] == line), ln
        assert c["caller"] == caller, ln
        assert c["outcome"] == outcome, ln
        assert c["ivr_s"] == ivr, ln
        assert (pd.isna(c["wait_s"]) if wait is None else c["wait_s"] == wait), ln
        assert c["talk_s"] == talk, ln
        assert (pd.isna(c["agent"]) if agent is None else c["agent"] == agent), ln
        assert c["n_rows"] == n_rows, ln


# ----------------------------------------------------------------------------- golden calls


@pytest.mark.parametrize(
    "fmt, name, expected, skipped",
    [
        ("asterisk_cdr_csv", "Master.csv", CSV_21, 0),
        ("asterisk_cdr_csv", "Master_16.csv", CSV_16, 0),
        ("asterisk_cdr_csv", "Master_18.csv", CSV_18, 2),
        ("asterisk_cdr_custom", "Master.csv", CUSTOM, 1),
        ("freepbx_cdr", "cdr.csv", FREEPBX, 0),
        ("freepbx_cdr", "cdr_old_table.csv", FREEPBX_OLD, 0),
    ],
)
def test_golden_calls(fmt, name, expected, skipped):
    calls, rejects, chunks = parse(fmt, MINE[fmt] / name)
    check_golden(calls, expected)
    assert rejects == {}
    skip, unknown = totals(chunks)
    assert sum(skip.values()) == skipped
    if skipped:
        assert list(skip) == ["Local channel leg without linkedid (the caller's row has its answer)"]
    assert not unknown
    # Wall-clock times stay naive: the ingest converts them with --timezone.
    assert calls["start"].dt.tz is None
    # The fixtures' clocks are Europe/London's (their uniqueid epochs agree, summer calls too):
    # nothing to note.
    assert [n for c in chunks for n in c.notes] == []


def test_fan_out_collapses_to_one_answered_call():
    calls, _, chunks = parse("asterisk_cdr_csv", MINE["asterisk_cdr_csv"] / "Master.csv")
    assert sum(c.rows_read for c in chunks) == 17
    assert len(calls) == 11  # 17 rows, 11 calls
    fan = calls.loc[1]
    assert (fan["outcome"], fan["n_rows"], fan["agent"]) == ("answered", 3, "202")
    assert (calls["call_id"] == "1767600001.1").sum() == 1


def test_layouts_17_19_20_fields(tmp_path):
    """The optional cdr_csv columns in every combination, from the 21-field fixture's rows."""
    rows = list(csv.reader(open(MINE["asterisk_cdr_csv"] / "Master.csv", newline="")))
    base = list(range(16))
    layouts = {
        # width: (kept field positions, names expected)
        17: (base + [16], list(asterisk_cdr.CSV_BASE) + ["uniqueid"]),
        19: (base + [18, 19, 20], list(asterisk_cdr.CSV_BASE) + ["peeraccount", "linkedid", "sequence"]),
        20: (base + [16, 18, 19, 20], list(asterisk_cdr.CSV_BASE) + ["uniqueid", "peeraccount", "linkedid", "sequence"]),
    }
    for width, (keep, names) in layouts.items():
        path = tmp_path / f"Master_{width}.csv"
        with open(path, "w", newline="") as fh:
            csv.writer(fh, quoting=csv.QUOTE_ALL).writerows([r[i] for i in keep] for r in rows)
        src = open_source(path)
        assert asterisk_cdr._csv_layout(src) == names
        assert FORMATS["asterisk_cdr_csv"].sniff(src) == 1.0
        assert FORMATS["asterisk_cdr_custom"].sniff(src) < 0.9
        calls, rejects, chunks = parse("asterisk_cdr_csv", path)
        assert rejects == {}
        if width == 17:
            # No linkedid: the Local ;2 half of the queue call (line 12) is skipped, and the
            # trunk's own row answers through Local/205...;1.
            assert sum(totals(chunks)[0].values()) == 1
            assert calls.loc[13, ["outcome", "agent", "wait_s", "talk_s"]].tolist() == ["answered", "205", 45, 300]
            assert 12 not in calls.index
        else:
            check_golden(calls, CSV_21)
    # 17 fields where the 17th is the userfield, not a uniqueid.
    path = tmp_path / "Master_17u.csv"
    with open(path, "w", newline="") as fh:
        csv.writer(fh, quoting=csv.QUOTE_ALL).writerows(r[:16] + ["callback-requested"] for r in rows)
    assert asterisk_cdr._csv_layout(open_source(path))[-1] == "userfield"


def test_freepbx_xlsx_export(tmp_path):
    """The same CDR table saved as an Excel workbook reads to the same calls."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    with open(MINE["freepbx_cdr"] / "cdr.csv", newline="") as fh:
        for i, row in enumerate(csv.reader(fh)):
            if i and row[0][:4].isdigit():
                row[0] = pd.Timestamp(row[0]).to_pydatetime()  # a real date cell
            if i:
                row[9], row[10] = int(row[9]), int(row[10])  # duration, billsec as numbers
            ws.append(row)
    path = tmp_path / "cdr.xlsx"
    wb.save(path)
    assert FORMATS["freepbx_cdr"].sniff(open_source(path)) == 1.0
    calls, rejects, _ = parse("freepbx_cdr", path)
    assert rejects == {}
    check_golden(calls, FREEPBX)


@pytest.mark.parametrize("guards", [True, False], ids=["default", "no-guards"])
def test_legs_joined_across_chunks(monkeypatch, guards):
    """GroupCarry holds a call's legs until complete: tiny blocks give the same calls."""
    from telephony.formats._base import GroupCarry

    if not guards:
        # The bare time rule, without the outlier quantile and the tail of rows always held.
        monkeypatch.setattr(GroupCarry, "OUTLIER_ROWS", 0)
        monkeypatch.setattr(GroupCarry, "OUTLIER_SHARE", 0.0)
        monkeypatch.setattr(GroupCarry, "TAIL_ROWS", 0)
    path = MINE["asterisk_cdr_csv"] / "Master.csv"
    src = open_source(path)
    names = asterisk_cdr._csv_layout(src)
    whole, _, _ = parse("asterisk_cdr_csv", path)
    chunks = list(asterisk_cdr._read_chunks(read_delimited(src, names, header=False, block_bytes=600), ReadContext()))
    # A block holds two or three rows: the fan-out call's three legs span two chunks.
    assert len(chunks) > 6 and chunks[0].rows_read < 3
    released = [c.calls["source_line"].tolist() for c in chunks if len(c.calls)]
    if guards:
        # 17 rows are fewer than the tail always held: everything comes out at the end.
        assert released == [[1, 4, 7, 8, 9, 10, 12, 14, 15, 16, 17]]
    else:
        # Calls leave the carry once a leg ends more than 3 h after their last leg: the 08:xx
        # calls when the 11:30 call is read, the rest when the June call is, the June call last.
        assert released == [[1, 4, 7], [8, 9, 10, 12, 14, 15, 16], [17]]
    calls = pd.concat([c.calls for c in chunks if len(c.calls)]).set_index("source_line").sort_index()
    pd.testing.assert_frame_equal(calls, whole)
    assert sum(c.rows_read for c in chunks) == 17


# ----------------------------------------------------------------------------- problems


def test_csv_problems():
    calls, rejects, chunks = parse("asterisk_cdr_csv", MINE["asterisk_cdr_csv"] / "Master_with_problems.csv")
    # Line 1: a clid with a comma inside quotes is fine.
    assert calls.loc[1, ["outcome", "wait_s", "talk_s", "agent"]].tolist() == ["answered", 6, 100, "201"]
    # Lines 5 and 7, a blank line between them: one call of two legs.
    assert calls.loc[5, ["outcome", "wait_s", "n_rows"]].tolist() == ["missed", 20, 2]
    # Line 9: duration and billsec blank, worked out from start/answer/end.
    assert calls.loc[9, ["outcome", "wait_s", "talk_s"]].tolist() == ["answered", 10, 60]
    # Line 3: a disposition word the reader does not know keeps the call, outcome unknown,
    # with what the row says (answered 5 s in by 202, 50 s billed); the word is counted.
    assert calls.loc[3, ["outcome", "wait_s", "talk_s", "agent"]].tolist() == ["unknown", 5, 50, "202"]
    assert sorted(calls.index) == [1, 3, 5, 9]
    assert sorted(rejects) == [4, 8, 10, 11]
    assert rejects[4].reason.startswith("start time 'not a date' missing or unreadable")
    assert rejects[8].reason.startswith("expected 21 fields, found 12")
    assert rejects[10].reason.startswith("duration 'n/a' and billsec 'n/a' not a number")
    assert rejects[11].reason.startswith("expected 21 fields, found 5")  # truncated last line
    skipped, unknown = totals(chunks)
    assert skipped == Counter({"blank line": 2})
    assert unknown == Counter({"TRANSFERRED": 1})
    assert sum(c.rows_read for c in chunks) == 11
    # No phone number leaves a reject unmasked.
    assert all("07700900117" not in r.text for r in rejects.values())


def test_custom_problems():
    calls, rejects, chunks = parse("asterisk_cdr_custom", MINE["asterisk_cdr_custom"] / "Master_with_problems.csv")
    assert sorted(calls.index) == [1, 4, 7]
    assert calls.loc[1, ["outcome", "wait_s", "talk_s", "agent"]].tolist() == ["answered", 11, 70, "202"]
    # CANCEL: not a word Asterisk writes; kept as unknown. Nothing billed: no talk, no agent.
    assert calls.loc[4, ["outcome", "wait_s", "talk_s"]].tolist() == ["unknown", 20, 0]
    assert pd.isna(calls.loc[4, "agent"])
    assert sorted(rejects) == [5, 6, 8]
    # 30 February is refused, not rolled over to 2 March.
    assert rejects[5].reason.startswith("start time '2026-02-30 08:10:00' missing or unreadable")
    assert rejects[6].reason.startswith("expected 19 fields, found 20")
    assert rejects[8].reason.startswith("expected 19 fields, found 9")
    skipped, unknown = totals(chunks)
    assert skipped == Counter({"blank line": 2})
    assert unknown == Counter({"CANCEL": 1})
    assert sum(c.rows_read for c in chunks) == 8


def test_freepbx_problems():
    calls, rejects, chunks = parse("freepbx_cdr", MINE["freepbx_cdr"] / "cdr_with_problems.csv")
    assert sorted(calls.index) == [2, 4, 8]
    # The disposition written as the word UNKNOWN: kept, outcome unknown, 90 s billed to 201.
    assert calls.loc[4, ["outcome", "wait_s", "talk_s", "agent"]].tolist() == ["unknown", 8, 90, "201"]
    assert calls.loc[2, ["outcome", "wait_s", "talk_s", "agent"]].tolist() == ["answered", 8, 90, "201"]
    # Blank billsec is harmless on an unanswered leg.
    assert calls.loc[8, ["outcome", "wait_s", "talk_s"]].tolist() == ["missed", 25, 0]
    assert sorted(rejects) == [5, 6, 9]
    # MySQL's zero date is a placeholder, year 0: out of range.
    assert rejects[5].reason.startswith("start time '0000-00-00 00:00:00' is out of range")
    assert rejects[6].reason.startswith("billsec '' not a number of seconds")  # answered: needed
    assert rejects[9].reason.startswith("expected 23 fields, found 6")
    skipped, unknown = totals(chunks)
    assert skipped == Counter({"blank line": 2})
    assert unknown == Counter({"UNKNOWN": 1})
    assert sum(c.rows_read for c in chunks) == 8


def own_files() -> list[tuple[str, Path]]:
    return [(fmt, p) for fmt, d in MINE.items() for p in sorted(d.iterdir()) if p.is_file()]


@pytest.mark.parametrize("fmt, path", own_files(), ids=lambda v: v.name if isinstance(v, Path) else v)
def test_rows_are_conserved(fmt, path):
    """rows read = rows in calls + rows rejected + rows skipped, for every fixture."""
    chunks = list(FORMATS[fmt].read(open_source(path), ReadContext()))
    read = sum(c.rows_read for c in chunks)
    in_calls = sum(int(c.calls["n_rows"].sum()) for c in chunks)
    rejected = sum(r.rows for c in chunks for r in c.rejects)
    skipped = sum(sum(c.skipped.values()) for c in chunks)
    assert read == in_calls + rejected + skipped
    # ... and every non-empty line of the file is a row read (plus the header).
    text = path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
    lines = text.split("\n")
    if lines[-1] == "":
        lines = lines[:-1]
    assert read == len(lines) - (fmt == "freepbx_cdr")


# ----------------------------------------------------------------------------- sniffing


@pytest.mark.parametrize("fmt, path", own_files(), ids=lambda v: v.name if isinstance(v, Path) else v)
def test_sniff_own_files(fmt, path):
    src = open_source(path)
    assert FORMATS[fmt].sniff(src) == 1.0
    assert detect_format(src).name == fmt  # no other registered format is as sure


def test_cdr_csv_and_custom_told_apart_by_values():
    """Both are headerless Master.csv files; a 19-field cdr_csv has cdr_custom's width."""
    for path in MINE["asterisk_cdr_csv"].iterdir():
        assert FORMATS["asterisk_cdr_custom"].sniff(open_source(path)) < 0.9, path.name
    for path in MINE["asterisk_cdr_custom"].iterdir():
        src = open_source(path)
        # Same width as cdr_csv with newcdrcolumns and the same words: came close, not sure.
        assert FORMATS["asterisk_cdr_csv"].sniff(src) == 0.5, path.name
    for path in MINE["freepbx_cdr"].iterdir():
        src = open_source(path)
        assert FORMATS["asterisk_cdr_csv"].sniff(src) < 0.9
        assert FORMATS["asterisk_cdr_custom"].sniff(src) < 0.9


def other_files() -> list[Path]:
    mine = set(MINE.values())
    return [p for p in sorted(DATA.rglob("*")) if p.is_file() and p.parent not in mine]


@pytest.mark.parametrize("path", other_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sniff_other_formats_not_sure(path):
    try:
        src = open_source(path)
    except BadInputError:
        return
    for fmt in MINE:
        assert FORMATS[fmt].sniff(src) < 0.9, fmt


def test_wrong_layout_raises_bad_input():
    csv_file = MINE["asterisk_cdr_csv"] / "Master.csv"
    custom_file = MINE["asterisk_cdr_custom"] / "Master.csv"
    pbx_file = MINE["freepbx_cdr"] / "cdr.csv"
    with pytest.raises(BadInputError, match="cdr_csv's order: give `fmt` asterisk_cdr_csv"):
        list(FORMATS["asterisk_cdr_custom"].read(open_source(csv_file), ReadContext()))
    with pytest.raises(BadInputError, match="cdr_custom's order: give `fmt` asterisk_cdr_custom"):
        list(FORMATS["asterisk_cdr_csv"].read(open_source(custom_file), ReadContext()))
    with pytest.raises(BadInputError, match="not a freepbx_cdr export: missing column"):
        list(FORMATS["freepbx_cdr"].read(open_source(csv_file), ReadContext()))
    with pytest.raises(BadInputError, match="not an Asterisk cdr_csv file: its lines have 23 fields"):
        list(FORMATS["asterisk_cdr_csv"].read(open_source(pbx_file), ReadContext()))
    queue_log = DATA / "asterisk_queue_log" / "queue_log"
    for fmt in MINE:
        with pytest.raises(BadInputError):
            list(FORMATS[fmt].read(open_source(queue_log), ReadContext()))


# ----------------------------------------------------------------------------- tables and helpers


def test_tables_are_canonical():
    assert set(asterisk_cdr.LEG_RANKS) <= set(OUTCOMES)
    assert set(asterisk_cdr.DISPOSITIONS.values()) <= set(OUTCOMES)
    assert asterisk_cdr.DISPOSITIONS["CONGESTION"] == "busy"
    assert set(asterisk_cdr.VARIABLE_MAP.values()) >= set(asterisk_cdr.FREEPBX_REQUIRED)
    assert len(asterisk_cdr.CUSTOM_FIELDS) == 19
    assert all(len(asterisk_cdr.CSV_BASE) + len(v) == k for k, v in asterisk_cdr.CSV_OPTIONAL.items())


def test_channel_extension():
    import pyarrow as pa

    chans = pa.array(
        ["SIP/201-0000001a", "PJSIP/201-00000012", "Local/203@from-queue-00000034;1", "IAX2/204-5321",
         "PJSIP/gamma-trunk-000000ab", "SIP/205", "", "DAHDI/i1/01632960000-5"],
        pa.large_string(),
    )
    assert asterisk_cdr._extension(chans).to_pylist() == [
        "201", "201", "203", "204", "gamma-trunk", "205", None, "i1/01632960000-5",
    ]


# ----------------------------------------------------------------------------- ingest


@pytest.mark.parametrize(
    "fmt, name, n_calls, summer_line, summer_utc",
    [
        ("asterisk_cdr_csv", "Master.csv", 11, 17, "2026-06-01 08:00:00"),
        ("asterisk_cdr_custom", "Master.csv", 7, 11, "2026-07-06 11:00:00"),
        ("freepbx_cdr", "cdr.csv", 8, 12, "2026-07-01 09:00:00"),
    ],
)
def test_ingest_end_to_end(store, key, fmt, name, n_calls, summer_line, summer_utc):
    path = MINE[fmt] / name
    res = ingest_file(store, path, PRACTICE)  # format sniffed
    assert res.format == fmt
    assert (res.written, res.duplicates, res.rejected) == (n_calls, 0, 0)
    assert res.rows_read == res.records + res.rows_merged + res.rows_skipped
    calls = store.read_calls()
    assert len(calls) == n_calls
    assert set(calls["source_format"]) == {fmt}
    # Local wall clock converted to UTC (summer time: an hour behind).
    expected, _, _ = parse(fmt, path)
    summer = calls[calls["call_id"] == expected.loc[summer_line, "call_id"]].iloc[0]
    assert summer["start_utc"] == pd.Timestamp(summer_utc, tz="UTC")
    # Callers and agents are pseudonymised; nothing raw reaches the store.
    pseudo = Pseudonymiser(key)
    answered = expected[expected["outcome"] == "answered"].iloc[0]
    row = calls[calls["call_id"] == answered["call_id"]].iloc[0]
    assert row["agent_key"] == pseudo.agent_key(answered["agent"])
    assert row["caller_key"] == pseudo.caller_key(answered["caller"])
    assert not calls.astype(str).apply(lambda c: c.str.contains("07700900")).any().any()
    # Idempotent: the same file again replaces its first ingest, adding nothing.
    again = ingest_file(store, path, PRACTICE)
    assert (again.written, again.duplicates, again.rejected, again.replaced) == (n_calls, 0, 0, n_calls)
    assert len(store.read_calls()) == n_calls


def test_ingest_withheld_caller_has_no_key(store):
    ingest_file(store, MINE["asterisk_cdr_csv"] / "Master.csv", PRACTICE, fmt="asterisk_cdr_csv")
    calls = store.read_calls().set_index("call_id")
    assert pd.isna(calls.loc["1767613500.24", "caller_key"])  # "anonymous"
    assert pd.isna(calls.loc["1767610800.20", "wait_s"])  # IVR only: never queued


def test_ingest_16_fields_hashes_call_ids(store):
    """No ids in the file: the ingest hashes each call, stably across re-imports."""
    path = MINE["asterisk_cdr_csv"] / "Master_16.csv"
    res = ingest_file(store, path, PRACTICE)
    assert (res.written, res.rows_merged) == (3, 2)
    ids = set(store.read_calls()["call_id"])
    assert all(i.startswith("h:") for i in ids)
    again = ingest_file(store, path, PRACTICE)
    assert (again.written, again.duplicates, again.replaced) == (3, 0, 3)
    assert set(store.read_calls()["call_id"]) == ids


@pytest.mark.parametrize(
    "fmt, name, written, rejected, skipped",
    [
        ("asterisk_cdr_csv", "Master_with_problems.csv", 4, 4, 2),
        ("asterisk_cdr_custom", "Master_with_problems.csv", 3, 3, 2),
        ("freepbx_cdr", "cdr_with_problems.csv", 3, 3, 2),
    ],
)
def test_ingest_problems_files(store, fmt, name, written, rejected, skipped):
    res = ingest_file(store, MINE[fmt] / name, PRACTICE)
    assert res.format == fmt
    assert (res.written, res.duplicates, res.rejected, res.rows_skipped) == (written, 0, rejected, skipped)
    assert res.rows_read == res.records + res.rows_merged + res.rows_skipped
    assert sum(res.unknown.values()) == 1
    rejects = pd.read_csv(res.rejects_path, dtype=str)
    assert len(rejects) == rejected
    assert not rejects.astype(str).apply(lambda c: c.str.contains("0770090")).any().any()


def test_newest_first_export_keeps_calls_whole(tmp_path, monkeypatch):
    """A database export sorted newest first, read in tiny blocks: no call split in two."""
    from telephony.formats._base import GroupCarry, rename_columns

    # A file this small sits wholly in the carry's guard tail: without the guards, the early
    # release (as the reading goes back in time) shows.
    monkeypatch.setattr(GroupCarry, "OUTLIER_ROWS", 0)
    monkeypatch.setattr(GroupCarry, "TAIL_ROWS", 0)

    lines = (MINE["freepbx_cdr"] / "cdr.csv").read_text().splitlines()
    path = tmp_path / "cdr_newest_first.csv"
    path.write_text("\n".join([lines[0]] + lines[1:][::-1]) + "\n")
    src = open_source(path)

    def renamed():
        for chunk in read_delimited(src, header=True, block_bytes=700):
            chunk.frame = rename_columns(chunk.frame, asterisk_cdr.VARIABLE_MAP)
            yield chunk

    chunks = list(asterisk_cdr._read_chunks(renamed(), ReadContext()))
    assert len(chunks) > 4 and max(c.rows_read for c in chunks) <= 3
    calls = pd.concat([c.calls for c in chunks if len(c.calls)], ignore_index=True)
    assert calls["call_id"].is_unique
    got = calls.set_index("call_id")
    for _, (cid, start, direction, line, caller, outcome, ivr, wait, talk, agent, n_rows) in FREEPBX.items():
        c = got.loc[cid]
        assert (c["start"], c["outcome"], c["wait_s"], c["talk_s"], c["n_rows"]) == (
            pd.Timestamp(start), outcome, wait, talk, n_rows), cid
    # Calls leave the carry as the reading goes back in time, not all at the end.
    assert sum(len(c.calls) > 0 for c in chunks) >= 2


# ----------------------------------------------------------------------------- property

_DISP = ["ANSWERED", "NO ANSWER", "BUSY", "FAILED"]
_leg = st.tuples(st.sampled_from(_DISP), st.integers(0, 60), st.integers(0, 900))  # disposition, ring, talk
# gap before, seconds in the menu first (0: straight to the phones), legs
_call = st.tuples(st.integers(1, 6 * 3600), st.sampled_from([0, 0, 7, 45]), st.lists(_leg, min_size=1, max_size=4))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=st.lists(_call, min_size=1, max_size=12), block=st.integers(300, 4000))
def test_generated_fan_outs(tmp_path, calls, block):
    """Any mix of legs, rows in end order, any block size: one call per linkedid, decided by
    its best leg, every row accounted for; time in a menu leg before the phones ring is ivr_s,
    never wait."""
    t = pd.Timestamp("2026-03-02 08:00:00")
    rows, expected = [], {}
    for i, (gap, menu, legs) in enumerate(calls):
        t += pd.Timedelta(seconds=gap)
        cid = f"{int((t - pd.Timestamp('1970-01-01')).total_seconds())}.{i}"
        if menu:
            # The IVR's own leg (the dialplan forks the CDR when it dials): answered by the
            # system, no dstchannel.
            end = t + pd.Timedelta(seconds=menu)
            rows.append((end, (
                f'"","07700900{i:03d}","01632960000","from-pstn","""x"" <07700900{i:03d}>","PJSIP/gamma-{i:08x}",'
                f'"","BackGround","custom/menu","{t:%Y-%m-%d %H:%M:%S}","{t:%Y-%m-%d %H:%M:%S}",'
                f'"{end:%Y-%m-%d %H:%M:%S}",{menu},{menu},"ANSWERED","DOCUMENTATION","{cid}","","","{cid}",9'
            )))
        ring_from = t + pd.Timedelta(seconds=menu)
        # At most one phone answers: later ANSWERED legs become NO ANSWER.
        first_ans = next((k for k, leg in enumerate(legs) if leg[0] == "ANSWERED"), None)
        legs = [leg if leg[0] != "ANSWERED" or k == first_ans else ("NO ANSWER", leg[1], 0) for k, leg in enumerate(legs)]
        ends = []
        for j, (disp, ring, talk) in enumerate(legs):
            talk = talk if disp == "ANSWERED" else 0
            start = ring_from.strftime("%Y-%m-%d %H:%M:%S")
            answer = (ring_from + pd.Timedelta(seconds=ring)).strftime("%Y-%m-%d %H:%M:%S") if disp == "ANSWERED" else ""
            end = ring_from + pd.Timedelta(seconds=ring + talk)
            ends.append(ring + talk)
            rows.append((end, (
                f'"","07700900{i:03d}","01632960000","from-pstn","""x"" <07700900{i:03d}>","PJSIP/gamma-{i:08x}",'
                f'"PJSIP/{201 + j}-{i * 8 + j:08x}","Dial","PJSIP/{201 + j},20","{start}","{answer}",'
                f'"{end:%Y-%m-%d %H:%M:%S}",{ring + talk},{talk},"{disp}","DOCUMENTATION","{cid}","","","{cid}",{j}'
            )))
        best = min(legs, key=lambda leg: _DISP.index(leg[0]))  # answered > missed > busy > failed
        outcome = {"ANSWERED": "answered", "NO ANSWER": "missed", "BUSY": "busy", "FAILED": "failed"}[best[0]]
        n_rows = len(legs) + (menu > 0)
        if outcome == "answered":
            expected[cid] = (outcome, menu, best[1], best[2], str(201 + legs.index(best)), n_rows)
        else:
            expected[cid] = (outcome, menu, max(ends), 0, None, n_rows)
    rows.sort(key=lambda r: r[0])  # cdr_csv posts a row when its leg ends
    path = tmp_path / "Master.csv"
    path.write_text("".join(r[1] + "\n" for r in rows))
    src = open_source(path)
    chunks = list(asterisk_cdr._read_chunks(
        read_delimited(src, asterisk_cdr._csv_layout(src), header=False, block_bytes=block), ReadContext()))
    got = pd.concat([c.calls for c in chunks], ignore_index=True)
    assert got["call_id"].is_unique and set(got["call_id"]) == set(expected)
    for _, c in got.iterrows():
        outcome, ivr, wait, talk, agent, n_rows = expected[c["call_id"]]
        assert (c["outcome"], c["ivr_s"], c["wait_s"], c["talk_s"], c["n_rows"]) == (outcome, ivr, wait, talk, n_rows)
        assert (pd.isna(c["agent"]) if agent is None else c["agent"] == agent)
    assert sum(c.rows_read for c in chunks) == len(rows) == int(got["n_rows"].sum())
    # Call ids carry their start's epoch (Europe/London is UTC in March): no clock note.
    assert [n for c in chunks for n in c.notes] == []
