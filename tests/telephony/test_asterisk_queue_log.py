"""Asterisk queue_log: golden calls from the native log and a database CSV export, and problems."""

from __future__ import annotations

import re
from collections import Counter

import pandas as pd
import pytest

from telephony.formats import FORMATS, ReadContext
from telephony.formats.asterisk_queue_log import ENDED_UNCONNECTED, NO_OUTCOME, OPEN_AT_CUT, OPEN_AT_CUT_NOTE
from telephony.ingest import ingest_file
from telephony.sources import open_source
from tests.helpers import DATA, all_fixture_files

FMT = FORMATS["asterisk_queue_log"]
HERE = DATA / "asterisk_queue_log"


def read_all(name: str):
    chunks = list(FMT.read(open_source(HERE / name), ReadContext()))
    calls = pd.concat([c.calls for c in chunks if len(c.calls)], ignore_index=True)
    rejects = [r for c in chunks for r in c.rejects]
    return calls, rejects, chunks


def test_native_log_golden_calls():
    calls, rejects, _ = read_all("queue_log")
    got = {r.call_id: (r.outcome, r.wait_s, r.talk_s, r.line, r.n_rows) for r in calls.itertuples()}
    assert got == {
        "1767603600.1": ("answered", 45.0, 240.0, "main", 5),  # DID + ENTERQUEUE + RINGNOANSWER + CONNECT + COMPLETE
        "1767603700.3": ("abandoned", 90.0, 0.0, "main", 2),
        "1767603800.4": ("answered", 360.0, 240.0, "main", 5),  # overflowed main -> overflow: one call
        "1767604500.6": ("callback", 20.0, 0.0, "main", 2),  # EXITWITHKEY
    }
    withheld = calls.set_index("call_id").loc["1767604500.6", "caller"]
    assert withheld == "Anonymous"  # the ingest turns this into a null caller_key
    assert [(r.line, r.reason) for r in rejects] == [
        (18, "not a queue_log line (expected epoch|callid|queue|agent|EVENT|...)"),
        (19, OPEN_AT_CUT),  # the last call: its end is in the next export
    ]


def test_problems_file_rejects_and_accounts_for_every_row():
    calls, rejects, chunks = read_all("queue_log_with_problems")
    assert list(calls["outcome"]) == ["answered", "abandoned", "missed"]
    assert list(calls["wait_s"]) == [40.0, 30.0, 50.0]
    assert list(calls["talk_s"]) == [120.0, 0.0, 0.0]
    assert [(r.line, r.reason) for r in rejects] == [
        (7, "not a queue_log line (expected epoch|callid|queue|agent|EVENT|...)"),
        (14, "not a queue_log line (expected epoch|callid|queue|agent|EVENT|...)"),
        (13, OPEN_AT_CUT),
    ]
    assert not re.search(r"\d{7,}", " ".join(r.text for r in rejects))  # long digit runs masked
    unknown = sum((c.unknown for c in chunks), start=Counter())
    assert unknown == {"SPYSTART": 1}  # kept inside its call, and reported
    skipped = sum((c.skipped for c in chunks), start=Counter())
    assert skipped == {"agent/system event QUEUESTART": 1, "blank line": 2}
    rows = sum(c.rows_read for c in chunks)
    assert rows == 14 == int(calls["n_rows"].sum()) + sum(r.rows for r in rejects) + sum(skipped.values())


def test_database_export_with_header_is_local_time(store):
    calls, rejects, _ = read_all("queue_log_export.csv")
    assert not rejects
    assert list(calls["outcome"]) == ["answered", "missed"]
    assert list(calls["line"]) == ["main", "prescriptions"]
    assert calls["start"].dt.tz is None  # wall clock: the ingest converts it
    res = ingest_file(store, HERE / "queue_log_export.csv", "A81001")
    assert (res.written, res.duplicates, res.rejected, res.rows_skipped) == (2, 0, 0, 1)
    got = store.read_calls("A81001")
    assert list(got["start_utc"]) == [
        pd.Timestamp("2026-06-01 07:00:05", tz="UTC"),  # 08:00:05 BST
        pd.Timestamp("2026-06-01 07:02:00", tz="UTC"),
    ]
    again = ingest_file(store, HERE / "queue_log_export.csv", "A81001")
    assert (again.written, again.duplicates, again.replaced) == (2, 0, 2)


@pytest.mark.parametrize("path", [p for p in all_fixture_files() if p.parent.name != "asterisk_queue_log"], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_other_formats_are_not_taken_for_queue_log(path):
    try:
        src = open_source(path)
    except Exception:
        return
    assert FMT.sniff(src) < 0.9


@pytest.mark.parametrize("name", sorted(p.name for p in HERE.iterdir()))
def test_own_files_sniff_sure(name):
    assert FMT.sniff(open_source(HERE / name)) == 1.0


# ----------------------------------------------------------------------------- a running system's database export

DB_EXPORT = "queue_log_db_export.csv"
T0 = pd.Timestamp("2026-06-01 07:00:00", tz="UTC")  # the file's first row, by its epoch `time`


def test_queue_log_db_export_with_date_time_and_epoch_time_columns(store):
    """`uid, date_time, callid, queue_name, type, event, param1..3, entpos, expos, htime, ttime,
    time`: two columns could be the time. It once crashed the ingest ('DataFrame' object has no
    attribute 'str') and nothing was written; now the epoch `time` is taken and the summary says so."""
    res = ingest_file(store, HERE / DB_EXPORT, "A81001")
    assert (res.written, res.rejected, res.rows_skipped) == (9, 1, 2)
    assert res.rows_read == 24 == res.written + res.rejected + res.rows_merged + res.rows_skipped
    assert res.notes[0] == (
        "two columns could be `time`: took `time` (epoch seconds; it is named like the field), not `date_time`"
    )
    assert "note: two columns could be `time`" in res.summary()
    got = store.read_calls("A81001").set_index("call_id")
    # The epoch is the instant; `date_time` is the database server's clock (UTC here), which
    # read as the practice's wall clock (BST in June) would put every call an hour early.
    assert got.loc["1780297205.21", "start_utc"] == T0 + pd.Timedelta(seconds=5)
    assert got.loc["1780298450.37", "start_utc"] == T0 + pd.Timedelta(seconds=1250)


def test_queue_log_db_export_param_columns_are_the_data_fields(store):
    """`param1..3` are `data1..3`: ENTERQUEUE's caller id is in `param2`. Unread, every caller
    key was null and unique callers equalled attempts."""
    ingest_file(store, HERE / DB_EXPORT, "A81001")
    got = store.read_calls("A81001")
    inbound = got[got["direction"] == "inbound"]
    assert inbound["caller_key"].notna().all()
    assert (len(inbound), inbound["caller_key"].nunique()) == (5, 4)  # one caller redialled
    by_id = got.set_index("call_id")
    redial = by_id.loc[["1780297320.23", "1780297600.25"]]
    assert redial["caller_key"].nunique() == 1
    assert list(redial["outcome"]) == ["abandoned", "answered"]
    # Holdtime (param1) and calltime (param2) of the answered calls; no agent column at all.
    assert (by_id.loc["1780297205.21", "wait_s"], by_id.loc["1780297205.21", "talk_s"]) == (60.0, 240.0)
    assert got["agent_key"].isna().all()


def test_queue_log_db_export_null_cells_are_empty():
    calls, _, _ = read_all(DB_EXPORT)
    assert "NULL" not in set(calls["caller"].dropna()) | set(calls["line"].dropna())
    # EXITWITHKEY's wait (data4) is not in a param1..3 table: it comes from the call's times.
    assert calls.set_index("call_id").loc["1780298200.29", ["outcome", "wait_s"]].tolist() == ["callback", 30.0]


def test_queue_log_outbound_dialler_events_are_outbound_calls_not_rejects():
    calls, rejects, chunks = read_all(DB_EXPORT)
    out = calls[calls["direction"] == "outbound"].set_index("call_id")
    assert out[["outcome", "wait_s", "talk_s"]].to_dict("index") == {
        "1780298300.31": {"outcome": "answered", "wait_s": 12.0, "talk_s": 95.0},  # OUTDIAL, OUTANSWER, COMPLETEAGENT
        "1780298350.33": {"outcome": "abandoned", "wait_s": 30.0, "talk_s": 0.0},  # OUTCANCEL
        "1780298400.35": {"outcome": "missed", "wait_s": 30.0, "talk_s": 0.0},  # OUTNOANSWER
        "1780298450.37": {"outcome": "busy", "wait_s": 5.0, "talk_s": 0.0},  # OUTBUSY
    }
    assert list(out["caller"]) == ["07700900210", "07700900211", "07700900212", "07700900213"]
    assert [r.line for r in rejects] == [24]  # only the call still open at the cut
    assert not sum((c.unknown for c in chunks), start=Counter())


def test_queue_log_call_still_open_at_the_cut_has_a_reason_people_understand():
    calls, rejects, chunks = read_all(DB_EXPORT)
    assert [(r.line, r.reason, r.rows) for r in rejects] == [(24, OPEN_AT_CUT, 1)]
    notes = [n for c in chunks for n in c.notes]
    assert notes.count(OPEN_AT_CUT_NOTE) == 1


def test_queue_log_lost_end_mid_file_is_told_apart_from_open_at_the_cut():
    calls, rejects, chunks = read_all("queue_log_lost_end_and_open_at_cut")
    assert [(r.line, r.reason) for r in rejects] == [(1, NO_OUTCOME), (7, OPEN_AT_CUT)]
    assert list(calls["outcome"]) == ["abandoned", "answered"]
    assert [n for c in chunks for n in c.notes] == [OPEN_AT_CUT_NOTE]


def test_queue_log_completed_without_connect_under_its_id_is_not_called_open():
    """Asterisk logs an attended transfer's ATTENDEDTRANSFER under the consulting leg's id and
    the transferred caller's next CONNECT under the caller's own id."""
    calls, rejects, chunks = read_all("queue_log_attended_transfer")
    assert [(r.line, r.reason, r.rows) for r in rejects] == [(4, ENDED_UNCONNECTED, 3)]
    call = calls.set_index("call_id").loc["1767600000.1"]
    assert (call["outcome"], call["wait_s"], call["line"], call["n_rows"]) == ("answered", 12.0, "main", 5)
    assert not [n for c in chunks for n in c.notes]


def test_queue_log_unknown_last_event_keeps_the_call_as_unknown():
    calls, rejects, chunks = read_all("queue_log_unknown_last_event")
    assert not rejects
    assert calls[["outcome", "wait_s"]].values.tolist() == [["unknown", 40.0], ["answered", 25.0]]
    assert sum((c.unknown for c in chunks), start=Counter()) == {"QUEUEVOICEMAIL": 1}


def test_queue_log_wazo_table_short_utc_offsets_and_its_own_queue_events():
    calls, rejects, chunks = read_all("queue_log_wazo_table.csv")
    assert not rejects
    assert calls["start"].iloc[0] == pd.Timestamp("2026-01-05 08:00:01.250114", tz="UTC")  # "+00" read
    got = calls.set_index("call_id")[["outcome", "line", "wait_s"]]
    assert got.loc["1767600312.13", ["outcome", "line"]].tolist() == ["missed", "reception"]  # JOINEMPTY
    assert got.loc["1767638740.14", ["outcome", "line"]].tolist() == ["closed", "reception"]  # CLOSED
    assert got.loc[["1767600312.13", "1767638740.14"], "wait_s"].isna().all()  # never queued


@pytest.mark.parametrize("name", ["queue_log_far_dates", "queue_log_far_dates.csv"])
def test_queue_log_dates_out_of_range_reject_that_line_not_the_file(name, store):
    calls, rejects, _ = read_all(name)
    assert list(calls["outcome"]) == ["abandoned", "missed"]
    assert rejects and all(r.reason.startswith("date out of range") for r in rejects)
    assert [r.line for r in rejects] == ([3] if name == "queue_log_far_dates" else [4, 5])
    res = ingest_file(store, HERE / name, "A81001")
    assert (res.written, res.rejected) == (2, len(rejects))
