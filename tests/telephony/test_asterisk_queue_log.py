"""Asterisk queue_log: golden calls from the native log and a database CSV export, and problems."""

from __future__ import annotations

import re
from collections import Counter

import pandas as pd
import pytest

from telephony.formats import FORMATS, ReadContext
from telephony.formats.asterisk_queue_log import OPEN_AT_CUT
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
    assert (again.written, again.duplicates) == (0, 2)


@pytest.mark.parametrize("path", [p for p in all_fixture_files() if p.parent.name != "asterisk_queue_log"], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_other_formats_are_not_taken_for_queue_log(path):
    try:
        src = open_source(path)
    except Exception:
        return
    assert FMT.sniff(src) < 0.9


@pytest.mark.parametrize("name", ["queue_log", "queue_log_with_problems", "queue_log_export.csv"])
def test_own_files_sniff_sure(name):
    assert FMT.sniff(open_source(HERE / name)) == 1.0
