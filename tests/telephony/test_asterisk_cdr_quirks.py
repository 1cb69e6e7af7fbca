"""Asterisk CDR quirks found in real FreePBX/Asterisk exports, each reproduced by a synthetic
fixture of its own (drama numbers only): talk time on the leg bridged to the agent, IVR time
apart from the queue wait, conference bridges and calls placed by extensions or by the PBX
kept out of inbound demand, a PBX clock in another zone, NULLs and broken clid quoting, numbers
dialled kept out of caller and agent, unknown dispositions kept, dates out of range."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from telephony.formats import FORMATS, ReadContext
from telephony.formats import asterisk_cdr
from telephony.formats._base import raw_frame
from telephony.ingest import ingest_file
from telephony.sources import open_source
from telephony.store import Store

DATA = Path(__file__).resolve().parents[1] / "data"
PBX = DATA / "freepbx_cdr"
CSV = DATA / "asterisk_cdr_csv"
PRACTICE = "A81001"


def parse(fmt: str, path: Path, **ctx):
    """All chunks of a file: (calls indexed by first source line, rejects by line, chunks)."""
    chunks = list(FORMATS[fmt].read(open_source(path), ReadContext(**ctx)))
    parts = [c.calls for c in chunks if len(c.calls)]
    calls = pd.concat(parts, ignore_index=True).set_index("source_line").sort_index()
    rejects = {r.line: r for c in chunks for r in c.rejects}
    return calls, rejects, chunks


def notes(chunks) -> list[str]:
    return [n for c in chunks for n in c.notes]


def unknown_words(chunks) -> Counter:
    out: Counter = Counter()
    for c in chunks:
        out.update(c.unknown)
    return out


def table_rows(path: Path) -> list[dict[str, str]]:
    """The export's rows as the header names them, with their physical line (header = 1)."""
    with open(path, newline="") as fh:
        return [dict(row, line=str(i + 2)) for i, row in enumerate(csv.DictReader(fh))]


# ----------------------------------------------------------------------------- 1. talk time


def test_queue_call_talk_time_is_on_the_leg_bridged_to_the_agent():
    path = PBX / "cdr_queue_agent_legs.csv"
    calls, rejects, _ = parse("freepbx_cdr", path)
    assert rejects == {}
    # Read the export directly: per call, the answered Queue legs' billsec in file order.
    answered_queue: dict[str, list[int]] = {}
    for row in table_rows(path):
        if row["lastapp"] == "Queue" and row["disposition"] == "ANSWERED":
            answered_queue.setdefault(row["linkedid"], []).append(int(row["billsec"]))
    by_id = calls.set_index("call_id")
    first_leg = {cid: b[0] for cid, b in answered_queue.items()}
    bridged = {cid: max(b) for cid, b in answered_queue.items()}
    # The first call's first answered leg is agent 202 pressing 1 to accept (5 s); the queue
    # then bridges the caller to 202 for 300 s (and 202's own AppDial leg says the same).
    assert first_leg != bridged
    for cid, talk in bridged.items():
        assert by_id.loc[cid, "talk_s"] == talk
    assert by_id["talk_s"].sum() == sum(bridged.values()) == 420  # not 125, the first legs'
    first = calls.loc[2]
    assert (first["outcome"], first["talk_s"], first["agent"], first["n_rows"]) == ("answered", 300, "202", 5)
    # 204 answered the second call at once: its only answered leg is the bridged one.
    assert calls.loc[7, ["outcome", "talk_s", "agent"]].tolist() == ["answered", 120, "204"]


# ----------------------------------------------------------------------------- 2. IVR vs wait


def test_ivr_time_before_the_queue_is_ivr_s_not_wait():
    calls, _, _ = parse("freepbx_cdr", PBX / "cdr_queue_agent_legs.csv")
    # The menu leg (ForkCDR, 08:00:00) lasts until the first Queue leg (08:00:40); the caller
    # then waits until the queue bridges 202 (08:01:00).
    q1 = calls.loc[2]
    assert (q1["ivr_s"], q1["wait_s"]) == (40, 20)
    assert q1["ivr_s"] + q1["wait_s"] == (pd.Timestamp("2026-01-12 08:01:00") - q1["start"]).total_seconds()
    # 30 s in the menu; 203 rang 20 s unanswered, then 204 picked up.
    assert calls.loc[7, ["ivr_s", "wait_s"]].tolist() == [30, 20]
    # Nobody answered: 20 s in the menu, then two members rang 15 s each until the caller left.
    assert calls.loc[10, ["outcome", "ivr_s", "wait_s", "talk_s"]].tolist() == ["missed", 20, 30, 0]
    # Hung up in the menu: all of it IVR, never queued.
    q4 = calls.loc[13]
    assert (q4["outcome"], q4["ivr_s"], q4["talk_s"]) == ("ivr_abandoned", 12, 0)
    assert pd.isna(q4["wait_s"])


def test_ivr_s_reaches_the_store(store):
    res = ingest_file(store, PBX / "cdr_queue_agent_legs.csv", PRACTICE)
    assert (res.format, res.written, res.rejected) == ("freepbx_cdr", 4, 0)
    stored = store.read_calls().set_index("call_id").sort_index()
    assert stored["ivr_s"].tolist() == [40, 30, 20, 12]
    assert stored["wait_s"].iloc[:3].tolist() == [20, 20, 30]
    assert pd.isna(stored["wait_s"].iloc[3])


# ----------------------------------------------------------------------------- 3. conference


def test_conference_bridge_call_is_internal_not_inbound_demand():
    calls, rejects, _ = parse("freepbx_cdr", PBX / "cdr_conference_and_extension_calls.csv")
    assert rejects == {}
    # A two-hour PCN meeting dialled into from outside (PIN prompt, then ConfBridge with 204):
    # kept as a call, but internal, so no inbound metric counts it as an answered call.
    meeting = calls.loc[3]
    assert (meeting["direction"], meeting["outcome"], meeting["talk_s"], meeting["n_rows"]) == (
        "internal", "answered", 7200, 2)
    assert pd.isna(meeting["line"]) and pd.isna(meeting["agent"])
    # A dynamic conference adding 205 through Local channels; its src is a conference number
    # (extension 204 and an epoch) that looks like a phone number: still internal.
    assert calls.loc[5, ["direction", "outcome", "agent"]].tolist() == ["internal", "answered", "205"]
    # The patient's call to the ring group in the same file stays inbound.
    assert calls.loc[2, ["direction", "outcome", "line"]].tolist() == ["inbound", "answered", "01632960000"]


# ----------------------------------------------------------------------------- 4. extensions


def test_calls_placed_by_extensions_or_the_pbx_are_not_inbound():
    calls, _, _ = parse("freepbx_cdr", PBX / "cdr_conference_and_extension_calls.csv")
    # 202 dialled the practice's own number (FreePBX filled did; the IVR answered).
    assert calls.loc[7, ["direction", "caller", "outcome"]].tolist() == ["internal", "202", "ivr_abandoned"]
    # 203 rang group 600, whose members are dialled through from-did-direct (a DID-like context).
    assert calls.loc[8, ["direction", "caller", "outcome"]].tolist() == ["internal", "203", "missed"]
    # Click-to-call: only Local channels, src the patient's number; the PBX rang 201 first.
    click = calls.loc[10]
    assert (click["direction"], click["outcome"], click["agent"]) == ("outbound", "answered", "201")
    assert pd.isna(click["line"])
    # 201 calling a patient back: outbound, the patient the other party (the caller column, as
    # every reader records it, so the call-back can be matched to its request), 201 the agent.
    assert calls.loc[12, ["direction", "caller", "agent"]].tolist() == ["outbound", "07700900704", "201"]
    # Of the seven calls, only the patient's call to the ring group is inbound demand.
    assert calls.index[calls["direction"] == "inbound"].tolist() == [2]


def test_extension_calls_in_real_shape_with_did_set():
    """The AcctId export: an extension's call to an external number is outbound; the other
    party is the number dialled (pseudonymised like any caller), the agent the extension."""
    calls, _, _ = parse("freepbx_cdr", PBX / "cdr_null_and_broken_clid.csv")
    assert calls.loc[4, ["direction", "caller", "agent", "outcome"]].tolist() == ["outbound", "011442079460603", "203", "answered"]
    assert calls.loc[7, ["direction", "caller", "agent", "outcome"]].tolist() == ["outbound", "+442079460607", "204", "missed"]


# ----------------------------------------------------------------------------- 5. the clock


def _uniqueid_utc(path: Path) -> dict[str, pd.Timestamp]:
    return {
        r["linkedid"]: pd.Timestamp(int(float(r["uniqueid"])), unit="s", tz="UTC")
        for r in table_rows(path) if r["uniqueid"] == r["linkedid"]
    }


def test_calldate_behind_utc_by_the_uniqueid_epochs_is_noted_not_shifted():
    path = PBX / "cdr_calldate_5h_behind_utc.csv"
    calls, _, chunks = parse("freepbx_cdr", path)
    assert notes(chunks) == [
        "calldate runs 5 h behind UTC by the uniqueid epochs, but Europe/London (UTC+0) was applied: "
        "if the PBX is in another zone, re-ingest with `timezone` ZONE, e.g. America/New_York"
    ]
    # Nothing shifted: the wall clock is as written.
    assert calls.loc[2, "start"] == pd.Timestamp("2026-01-15 08:00:00")
    # The zone that fits (winter and summer calls alike): no note.
    _, _, chunks = parse("freepbx_cdr", path, timezone="America/New_York")
    assert notes(chunks) == []


def test_clock_note_reaches_the_summary_and_the_right_zone_gives_true_times(store):
    path = PBX / "cdr_calldate_5h_behind_utc.csv"
    res = ingest_file(store, path, PRACTICE)
    assert len(res.notes) == 1 and "calldate runs 5 h behind UTC" in res.notes[0]
    assert "  note: calldate runs 5 h behind UTC" in res.summary()
    # Read as London time, as told: 08:00 on the wall is stored as 08:00 UTC.
    stored = store.read_calls().set_index("call_id")
    assert stored.loc["1768482000.400", "start_utc"] == pd.Timestamp("2026-01-15 08:00:00", tz="UTC")
    # Re-ingested with the PBX's zone into a fresh store: every start is its uniqueid's epoch.
    ny = Store(store.root.parent / "ny-store", create=True)
    res = ingest_file(ny, path, PRACTICE, timezone="America/New_York")
    assert res.notes == []
    got = ny.read_calls().set_index("call_id")["start_utc"].to_dict()
    assert got == _uniqueid_utc(path)


def test_server_writing_utc_in_summer_is_noted():
    calls, _, chunks = parse("asterisk_cdr_csv", CSV / "Master_utc_clock.csv")
    assert notes(chunks) == [
        "the start column is UTC by the uniqueid epochs, but Europe/London (UTC+1) was applied: "
        "if the PBX writes UTC (usegmtime), re-ingest with `timezone` UTC"
    ]
    _, _, chunks = parse("asterisk_cdr_csv", CSV / "Master_utc_clock.csv", timezone="UTC")
    assert notes(chunks) == []


@pytest.mark.parametrize("late, noted", [(2, False), (10, True)])
def test_a_few_late_records_are_not_a_clock(late, noted):
    """Calls whose first record starts long after their channel was created (a record cut
    from the export) disagree with the zone one by one; only a share of them is a clock."""
    n = 30
    start = pd.Timestamp("2026-01-21 08:00:00") + pd.to_timedelta(np.arange(n) * 300, unit="s")
    epoch = (start - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1)
    epoch = epoch.to_numpy().copy()
    epoch[:late] -= 2 * 3600  # started two hours after their channel
    ids = pd.array([f"{e}.{i}" for i, e in enumerate(epoch)], dtype="string")
    calls = raw_frame(n, call_id=ids, start=start.to_numpy())
    clock = asterisk_cdr.ClockCheck("Europe/London", "calldate")
    clock.add(calls)
    assert (clock.note() is not None) == noted
    if noted:
        assert clock.note().startswith("calldate runs 2 h ahead of UTC by the uniqueid epochs")


def test_cdr_custom_clock_three_hours_ahead_is_noted(tmp_path):
    """A cdr_custom file (sample template) whose server runs on UTC+3 in summer."""
    rows = []
    for k, (t, epoch) in enumerate([("2026-07-20 10:00:00", 1784530800), ("2026-07-20 10:30:00", 1784532600)]):
        rows.append(
            f'"""Reception"" <201>","201","202","from-internal","PJSIP/201-0000000{k}","PJSIP/202-0000001{k}",'
            f'"Dial","PJSIP/202,20","{t}","{t}","{t}","5","5","ANSWERED","DOCUMENTATION","","{epoch}.{k}","",{k}'
        )
    path = tmp_path / "Master.csv"
    path.write_text("\n".join(rows) + "\n")
    _, _, chunks = parse("asterisk_cdr_custom", path)
    assert notes(chunks) == [
        "the start column runs 3 h ahead of UTC by the uniqueid epochs, but Europe/London (UTC+1) was "
        "applied: if the PBX is in another zone, re-ingest with `timezone` ZONE, e.g. Europe/Athens"
    ]


# ----------------------------------------------------------------------------- 6. NULL, clid, numbers


def test_null_fields_and_broken_clid_quoting_keep_the_row_and_the_caller():
    path = PBX / "cdr_null_and_broken_clid.csv"
    # The file really is broken for a CSV reader: the name with a comma splits the row.
    with open(path, newline="") as fh:
        widths = [len(r) for r in csv.reader(fh)]
    assert widths[0] == 26 and widths[1] == 27
    calls, rejects, chunks = parse("freepbx_cdr", path)
    assert rejects == {}
    assert sorted(calls.index) == [2, 3, 4, 5, 6, 7]
    assert sum(c.rows_read for c in chunks) == 6
    # "Smith, Jo" <...>: the row survives with its caller.
    assert calls.loc[2, ["caller", "outcome", "talk_s", "agent"]].tolist() == ["07700900601", "answered", 90, "201"]
    # src NULL: the caller is the number in clid.
    assert calls.loc[3, "caller"] == "07700900602"
    # lastapp, dstchannel written NULL: an unanswered call to the practice, no agent.
    assert calls.loc[6, ["outcome", "wait_s"]].tolist() == ["missed", 25]
    assert pd.isna(calls.loc[6, "agent"])
    # The word NULL reaches no field.
    text = calls.reset_index().astype(str)
    assert not text.apply(lambda c: c.str.contains("NULL")).any().any()


def test_dialled_numbers_go_nowhere_but_line():
    path = PBX / "cdr_null_and_broken_clid.csv"
    calls, _, _ = parse("freepbx_cdr", path)
    # Numbers dialled, as dst and lastdata hold them (011 and + international spellings), and
    # the mobile a call was forwarded to (in dstchannel).
    dialled = ["2079460603", "2079460607", "07700900605"]
    out = calls.reset_index()[["call_id", "line", "agent"]].astype(str)
    for number in dialled:
        assert not out.apply(lambda c: c.str.contains(number)).any().any(), number
    # An outbound call's number dialled is its other party: only in caller (pseudonymised).
    inbound_callers = calls.loc[calls["direction"] == "inbound", "caller"].astype(str)
    assert not any(n in c for n in dialled for c in inbound_callers)
    # The forwarded call was answered, by someone who is not an extension: no agent.
    assert calls.loc[5, ["outcome", "talk_s"]].tolist() == ["answered", 185]
    assert pd.isna(calls.loc[5, "agent"])
    # An inbound call's line is its DID, as written (the store's firewall labels a number).
    assert calls.loc[5, "line"] == "+441632960000"


# ----------------------------------------------------------------------------- 7. words, dates


def test_unknown_disposition_keeps_the_call_as_unknown(store):
    path = CSV / "Master_out_of_range_dates.csv"
    calls, rejects, chunks = parse("asterisk_cdr_csv", path)
    assert 5 not in rejects
    assert calls.loc[5, ["outcome", "wait_s", "talk_s", "agent"]].tolist() == ["unknown", 4, 60, "203"]
    assert unknown_words(chunks) == Counter({"PICKEDUP": 1})
    res = ingest_file(store, path, PRACTICE)
    assert res.unknown == Counter({"PICKEDUP": 1})
    assert (store.read_calls()["outcome"] == "unknown").sum() == 1


@pytest.mark.parametrize(
    "fmt, path, rejected, kept",
    [
        ("asterisk_cdr_csv", CSV / "Master_out_of_range_dates.csv",
         {2: "9999-12-31 23:59:59", 3: "1677-01-01 00:00:00"}, [1, 4, 5]),
        ("freepbx_cdr", PBX / "cdr_out_of_range_dates.csv",
         {3: "9999-12-31 23:59:59", 4: "31/12/9999 10:00", 5: "01/01/1677 00:00"}, [2, 6]),
    ],
    ids=["cdr_csv", "freepbx"],
)
def test_out_of_range_dates_reject_only_their_row(store, fmt, path, rejected, kept):
    calls, rejects, _ = parse(fmt, path)
    assert sorted(rejects) == sorted(rejected)
    for line, text in rejected.items():
        assert rejects[line].reason.startswith(f"start time '{text}' is out of range (years 1678 to 2261 only)")
    assert sorted(calls.index) == kept
    res = ingest_file(store, path, PRACTICE)
    assert (res.rejected, res.written) == (len(rejected), len(kept))


def test_placeholder_answer_date_falls_back_to_duration_minus_billsec():
    calls, _, _ = parse("asterisk_cdr_csv", CSV / "Master_out_of_range_dates.csv")
    # Answer written 9999-12-31: answered after duration - billsec = 8 s.
    assert calls.loc[4, ["outcome", "wait_s", "talk_s"]].tolist() == ["answered", 8, 90]
