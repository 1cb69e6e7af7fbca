"""The store and the ingest path every format shares: idempotence, layout, pruning, practice
ids, reconciliation, crash safety, concurrent writers, and a property test over generated
Asterisk queue_logs."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telephony.errors import BadInputError, InvalidPracticeError, StoreError, UnknownFormatError
from telephony.formats import Format, ParsedChunk
from telephony.formats._base import raw_frame
from telephony.ingest import ingest_file
from telephony.privacy import Pseudonymiser
from telephony.schema import CALL_COLUMNS, CALL_SCHEMA
from telephony.store import Store, validate_practice_id

PRACTICE = "A81001"
# A part file holds the canonical columns but the practice, which its directory names (hive).
PART_SCHEMA = pa.schema([f for f in CALL_SCHEMA if f.name != "practice_id"])

# ----------------------------------------------------------------------------- queue_log maker


def _epoch(ts: str) -> int:
    return int(pd.Timestamp(ts, tz="UTC").timestamp())


def call_lines(cid: str, t: int, outcome: str, caller: str = "07700900100", wait: int = 30,
               talk: int = 120, agent: str = "PJSIP/201", queue: str = "main") -> list[str]:
    """The queue_log lines of one call (native format), and nothing else."""
    enter = f"{t}|{cid}|{queue}|NONE|ENTERQUEUE||{caller}|1"
    if outcome == "answered":
        return [
            enter,
            f"{t + wait}|{cid}|{queue}|{agent}|CONNECT|{wait}|{cid}.9|3",
            f"{t + wait + talk}|{cid}|{queue}|{agent}|COMPLETECALLER|{wait}|{talk}|1",
        ]
    if outcome == "transfer":
        return [
            enter,
            f"{t + wait}|{cid}|{queue}|{agent}|CONNECT|{wait}|{cid}.9|3",
            f"{t + wait + talk}|{cid}|{queue}|{agent}|TRANSFER|300|from-internal|{wait}|{talk}|1",
        ]
    if outcome == "overflow":  # times out of main, answered in overflow after `wait` more
        return [
            enter,
            f"{t + wait}|{cid}|{queue}|NONE|EXITWITHTIMEOUT|1|1|{wait}",
            f"{t + wait}|{cid}|overflow|NONE|ENTERQUEUE||{caller}|1",
            f"{t + 2 * wait}|{cid}|overflow|{agent}|CONNECT|{wait}|{cid}.9|2",
            f"{t + 2 * wait + talk}|{cid}|overflow|{agent}|COMPLETEAGENT|{wait}|{talk}|1",
        ]
    word, fields = {
        "abandoned": ("ABANDON", f"1|1|{wait}"),
        "timeout": ("EXITWITHTIMEOUT", f"1|1|{wait}"),
        "empty": ("EXITEMPTY", f"1|1|{wait}"),
        "callback": ("EXITWITHKEY", f"5|1|1|{wait}"),
    }[outcome]
    return [enter, f"{t + wait}|{cid}|{queue}|NONE|{word}|{fields}"]


# (canonical outcome, wait_s, talk_s) each generated call should become.
def expected_of(outcome: str, wait: int, talk: int) -> tuple[str, float, float]:
    return {
        "answered": ("answered", wait, talk),
        "transfer": ("answered", wait, talk),
        "overflow": ("answered", 2 * wait, talk),
        "abandoned": ("abandoned", wait, 0),
        "timeout": ("missed", wait, 0),
        "empty": ("missed", wait, 0),
        "callback": ("callback", wait, 0),
    }[outcome]


def write_log(path: Path, calls: list[tuple[str, int, list[str]]]) -> Path:
    """Write calls' lines in time order, as Asterisk does."""
    lines = []
    for _cid, _t, ls in calls:
        lines.extend(ls)
    lines.sort(key=lambda ln: int(ln.split("|", 1)[0]))  # stable: a call's own order is kept
    path.write_text("\n".join(lines) + "\n")
    return path


def monthly_log(path: Path, months: int, per_month: int, first: str = "2026-01-01", prefix: str = "") -> tuple[Path, set[str]]:
    """A queue_log spanning ``months`` UTC months, ``per_month`` answered calls in each."""
    calls = []
    start = pd.Timestamp(first, tz="UTC")
    for m in range(months):
        base = int((start + pd.DateOffset(months=m)).timestamp())
        for i in range(per_month):
            t = base + 3600 + i * 600
            cid = f"{prefix}{t}.{i}"
            calls.append((cid, t, call_lines(cid, t, "answered", f"07700900{(m * per_month + i) % 1000:03d}")))
    return write_log(path, calls), {c for c, _, _ in calls}


def snapshot(root: Path) -> dict[str, str]:
    """Every file of a store (but the lock) with its content hash."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def partition_files(root: Path) -> list[Path]:
    return sorted((root / "calls").glob("practice_id=*/month=*/part.parquet"))


def assert_reconciles(res, manifest_row=None) -> None:
    records = res.written + res.duplicates + res.rejected
    assert res.records == records
    assert res.rows_read == records + res.rows_merged + res.rows_skipped
    assert res.rows_skipped == sum(res.skipped.values())
    if manifest_row is not None:
        for col in ("rows_read", "rows_skipped", "rows_merged", "written", "duplicates", "rejected"):
            assert manifest_row[col] == getattr(res, col), col
        assert manifest_row["records"] == records
        assert manifest_row["rows_read"] == (
            manifest_row["records"] + manifest_row["rows_merged"] + manifest_row["rows_skipped"]
        )


# ----------------------------------------------------------------------------- the sample file


def test_sample_ingest_reconciles_and_writes_masked_rejects(store, data_dir):
    path = data_dir / "asterisk_queue_log" / "queue_log"
    res = ingest_file(store, path, PRACTICE)
    assert (res.rows_read, res.rows_skipped, res.rows_merged) == (19, 3, 10)
    assert (res.written, res.duplicates, res.rejected) == (4, 0, 2)
    man = store.manifest()
    assert len(man) == 1
    row = man.iloc[0]
    assert_reconciles(res, row)
    assert row["file_name"] == "queue_log" and row["format"] == "asterisk_queue_log"
    assert row["file_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert row["file_bytes"] == path.stat().st_size
    rej = pd.read_csv(res.rejects_path, dtype=str)
    assert rej["line"].tolist() == ["18", "19"]
    assert rej["reason"].str.startswith("not a queue_log line").iloc[0]
    assert "no outcome" in rej["reason"].iloc[1]
    assert not (store.root / ".staging").exists()


# ----------------------------------------------------------------------------- idempotence


def test_same_file_twice(store, data_dir):
    path = data_dir / "asterisk_queue_log" / "queue_log"
    first = ingest_file(store, path, PRACTICE)
    before = store.read_calls()
    parts = {p: p.read_bytes() for p in partition_files(store.root)}
    second = ingest_file(store, path, PRACTICE)
    assert (second.written, second.duplicates, second.rejected) == (first.written, 0, first.rejected)
    assert second.replaced == first.written and second.replaces == [first.ingest_id]
    assert_reconciles(second, store.manifest().iloc[1])
    after = store.read_calls()
    # The same calls, now owned by the second ingest (the first is replaced, not doubled).
    pd.testing.assert_frame_equal(after.drop(columns="ingest_id"), before.drop(columns="ingest_id"))
    assert set(after["ingest_id"]) == {second.ingest_id}
    assert set(parts) == set(partition_files(store.root))
    assert len(store.manifest()) == 2
    assert store.ingests()["status"].tolist() == [f"replaced by {second.ingest_id}", "active"]


def test_overlapping_exports_count_each_call_once(store, tmp_path):
    calls = []
    for i in range(60):
        t = _epoch("2026-01-30 12:00") + i * 3600 * 7  # crosses into February
        cid = f"{t}.{i}"
        calls.append((cid, t, call_lines(cid, t, ["answered", "abandoned", "timeout"][i % 3], f"07700900{i:03d}")))
    a = write_log(tmp_path / "a_queue_log", calls[:40])
    b = write_log(tmp_path / "b_queue_log", calls[20:])
    ra = ingest_file(store, a, PRACTICE)
    rb = ingest_file(store, b, PRACTICE)
    assert (ra.written, ra.duplicates) == (40, 0)
    assert (rb.written, rb.duplicates) == (20, 20)
    got = store.read_calls()
    assert len(got) == 60
    assert sorted(got["call_id"]) == sorted(c for c, _, _ in calls)
    assert not got["call_id"].duplicated().any()
    assert {p.parent.name for p in partition_files(store.root)} == {"month=2026-01", "month=2026-02"}


# ----------------------------------------------------------------------------- layout and reading


def _layout_calls(tmp_path: Path) -> Path:
    times = {
        "jan": "2026-01-15 10:00",
        "mar_end": "2026-03-31 23:30",  # 00:30 on 1 April in London, but March in UTC
        "apr": "2026-04-10 09:00",
        "may_end": "2026-05-31 23:00",  # midnight 1 June in London: exactly the period's end
        "jun": "2026-06-01 08:00",
    }
    calls = []
    for i, (name, ts) in enumerate(times.items()):
        t = _epoch(ts)
        calls.append((name, t, call_lines(name, t, "answered", f"07700900{i:03d}")))
    return write_log(tmp_path / "queue_log", calls)


def test_partition_layout_is_hive_by_utc_month(store, tmp_path):
    ingest_file(store, _layout_calls(tmp_path), "a81001")  # upper-cased
    files = partition_files(store.root)
    rel = [str(p.relative_to(store.root)) for p in files]
    assert rel == [
        f"calls/practice_id=A81001/month={m}/part.parquet"
        for m in ("2026-01", "2026-03", "2026-04", "2026-05", "2026-06")
    ]
    for p in files:
        t = pq.read_table(p)
        assert t.schema.equals(PART_SCHEMA, check_metadata=False)
        months = pd.Series(t["start_utc"].to_pandas()).dt.strftime("%Y-%m")
        assert (months == p.parent.name.split("=")[1]).all()
    # Readable as a plain hive dataset by other tools.
    ds = pq.read_table(store.root / "calls")
    assert ds.num_rows == 5
    assert set(ds["practice_id"].to_pylist()) == {"A81001"}
    df = pd.read_parquet(store.root / "calls")
    assert sorted(df["month"].astype(str).unique()) == ["2026-01", "2026-03", "2026-04", "2026-05", "2026-06"]
    assert sorted(df["call_id"]) == sorted(store.read_calls()["call_id"])
    assert list(store.read_calls().columns) == list(CALL_COLUMNS)


def test_read_calls_filters_practice_and_half_open_period(store, tmp_path):
    path = _layout_calls(tmp_path)
    ingest_file(store, path, "A81001")
    ingest_file(store, path, "B82002")
    assert len(store.read_calls()) == 10
    a = store.read_calls("A81001")
    assert set(a["practice_id"]) == {"A81001"} and len(a) == 5
    assert list(a.columns) == list(CALL_COLUMNS)
    assert a["start_utc"].is_monotonic_increasing
    both = store.read_calls(["A81001", "B82002"])
    assert list(both["practice_id"]) == ["A81001"] * 5 + ["B82002"] * 5
    # [1 April, 1 June) London time: the 23:30 UTC call of 31 March is 00:30 on 1 April (in);
    # the call at midnight 1 June London (23:00 UTC 31 May) is at the end (out).
    q2 = store.read_calls("A81001", "2026-04-01", "2026-06-01")
    assert sorted(q2["call_id"]) == ["apr", "mar_end"]
    # Aware bounds are taken as given; the start is inclusive.
    q3 = store.read_calls("A81001", pd.Timestamp("2026-05-31 23:00", tz="UTC"), pd.Timestamp("2026-06-02", tz="UTC"))
    assert sorted(q3["call_id"]) == ["jun", "may_end"]
    some = store.read_calls("A81001", columns=["call_id", "outcome"])
    assert list(some.columns) == ["call_id", "outcome"] and len(some) == 5
    assert len(store.read_calls("Z99999")) == 0


def test_read_calls_opens_only_the_needed_partitions(store, tmp_path, monkeypatch):
    path = _layout_calls(tmp_path)
    ingest_file(store, path, "A81001")
    ingest_file(store, path, "B82002")
    opened: list[str] = []
    real = pq.read_table

    def spy(source, *a, **kw):
        opened.append(str(Path(source).relative_to(store.root)))
        return real(source, *a, **kw)

    monkeypatch.setattr(pq, "read_table", spy)
    got = store.read_calls("A81001", pd.Timestamp("2026-04-01", tz="UTC"), pd.Timestamp("2026-05-01", tz="UTC"))
    assert list(got["call_id"]) == ["apr"]
    assert opened == ["calls/practice_id=A81001/month=2026-04/part.parquet"]
    opened.clear()
    # London period [1 April, 1 June): March (UTC) may hold 1 April London; June cannot.
    store.read_calls("A81001", "2026-04-01", "2026-06-01")
    assert opened == [f"calls/practice_id=A81001/month={m}/part.parquet" for m in ("2026-03", "2026-04", "2026-05")]


def test_a_damaged_partition_does_not_stop_reading_another(store, tmp_path):
    ingest_file(store, _layout_calls(tmp_path), PRACTICE)
    (store.root / "calls/practice_id=A81001/month=2026-06/part.parquet").write_bytes(b"not parquet")
    got = store.read_calls(PRACTICE, "2026-01-01", "2026-02-01")
    assert list(got["call_id"]) == ["jan"]
    with pytest.raises(Exception):
        store.read_calls(PRACTICE)  # the damaged month itself cannot be read


def test_empty_store_reads_empty(store):
    df = store.read_calls()
    assert len(df) == 0 and set(df.columns) == set(CALL_COLUMNS)
    assert len(store.manifest()) == 0
    assert len(store.info()) == 0


def test_missing_store_and_file_as_store(tmp_path):
    with pytest.raises(StoreError, match="no store"):
        Store(tmp_path / "none")
    f = tmp_path / "f"
    f.write_text("x")
    with pytest.raises(StoreError, match="is a file"):
        Store(f)


@pytest.mark.parametrize("bad", ["../x", "A81001/..", "", "a b", "..", "A81001\x00", "A" * 11, "A8", "A81001/../../etc"])
def test_invalid_practice_ids_rejected_before_touching_disk(store, tmp_path, bad):
    before = snapshot(store.root)
    with pytest.raises(InvalidPracticeError):
        validate_practice_id(bad)
    # The file does not exist: the practice id is checked before anything is opened.
    with pytest.raises(InvalidPracticeError):
        ingest_file(store, tmp_path / "does-not-exist", bad)
    with pytest.raises(InvalidPracticeError):
        store.read_calls(bad)
    with pytest.raises(InvalidPracticeError):
        store.partition_path("calls", bad, "2026-01")
    assert snapshot(store.root) == before
    assert not any(tmp_path.glob("x*")) and not (tmp_path.parent / "x").exists()


# ----------------------------------------------------------------------------- not a call log


def test_not_a_call_log_writes_nothing(store, tmp_path):
    before = snapshot(store.root)
    cases = {
        "notes.txt": (b"Dear practice manager,\nplease find the rota attached.\n", UnknownFormatError),
        "report.pdf": (b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n", BadInputError),
        "empty.csv": (b"", BadInputError),
    }
    for name, (data, error) in cases.items():
        p = tmp_path / name
        p.write_bytes(data)
        with pytest.raises(error) as info:
            ingest_file(store, p, PRACTICE)
        assert "\n" not in str(info.value) and name in str(info.value)
    assert snapshot(store.root) == before


def _fake_format(chunks) -> Format:
    def read(source, ctx):
        for c in chunks:
            if isinstance(c, Exception):
                raise c
            yield c

    return Format("fake", "a test format", "x", lambda s: 0.0, read)


def _some_calls(n: int = 3, start: str = "2026-01-05 09:00") -> ParsedChunk:
    t = pd.date_range(start, periods=n, freq="1h")
    calls = raw_frame(
        n, call_id=[f"c{i}" for i in range(n)], start=pd.Series(t), direction="inbound",
        outcome="answered", talk_s=10.0, wait_s=5.0, caller="07700900123", source_line=list(range(2, n + 2)),
    )
    return ParsedChunk(calls, rows_read=n)


def test_a_file_with_no_call_records_writes_nothing(store, tmp_path):
    p = tmp_path / "export.csv"
    p.write_text("header\n")
    before = snapshot(store.root)
    with pytest.raises(BadInputError, match="no call records") as info:
        ingest_file(store, p, PRACTICE, fmt=_fake_format([ParsedChunk(raw_frame(0))]))
    assert "\n" not in str(info.value)
    assert snapshot(store.root) == before
    assert not (store.root / ".staging").exists()


def test_a_parser_giving_up_part_way_writes_nothing(store, tmp_path):
    p = tmp_path / "export.csv"
    p.write_text("header\n")
    before = snapshot(store.root)
    fmt = _fake_format([_some_calls(), BadInputError("export.csv: not a fake export: missing column(s) x")])
    with pytest.raises(BadInputError):
        ingest_file(store, p, PRACTICE, fmt=fmt)
    assert snapshot(store.root) == before
    assert not (store.root / ".staging").exists()
    assert len(store.read_calls()) == 0


def test_autumn_clock_change_across_parser_chunks(store, tmp_path):
    """Naive wall-clock starts split into chunks inside the repeated hour: the ingest keeps the
    clock-change state from chunk to chunk, so no call lands an hour early."""
    truth = pd.date_range("2026-10-24 22:00", "2026-10-25 04:00", freq="5min", tz="UTC", inclusive="left")
    wall = truth.tz_convert("Europe/London").tz_localize(None)
    chunks = []
    for lo, hi in [(0, 39), (39, len(wall))]:  # 39: 01:15 BST, inside the first pass
        chunks.append(ParsedChunk(raw_frame(
            hi - lo, call_id=[f"c{i:03d}" for i in range(lo, hi)], start=pd.Series(wall[lo:hi]),
            direction="inbound", outcome="answered", talk_s=1.0, source_line=list(range(lo + 1, hi + 1)),
        ), rows_read=hi - lo))
    p = tmp_path / "export.csv"
    p.write_text("x\n")
    res = ingest_file(store, p, PRACTICE, fmt=_fake_format(chunks))
    assert res.written == len(truth)
    got = store.read_calls().sort_values("call_id")
    assert (pd.DatetimeIndex(got["start_utc"]) == truth).all()
    hourly = got.set_index("start_utc").resample("1h").size()
    assert (hourly == 12).all()


def _calls_chunk(rows: list[tuple], rows_read: int | None = None) -> ParsedChunk:
    """(call_id, start, outcome, talk_s, n_rows, source_line) → a parser's chunk."""
    cid, start, outcome, talk, n_rows, line = zip(*rows)
    calls = raw_frame(
        len(rows), call_id=list(cid), start=pd.Series(pd.to_datetime(list(start))), direction="inbound",
        outcome=list(outcome), talk_s=list(talk), wait_s=5.0, n_rows=list(n_rows), source_line=list(line),
    )
    return ParsedChunk(calls, rows_read=sum(n_rows) if rows_read is None else rows_read)


def test_a_split_call_is_rejected_not_a_silent_duplicate(store, tmp_path):
    """A call emitted twice from one file with other details (its rows split by the carry) is
    not lost as a duplicate: the later part is rejected with a reason naming the first part's
    line. A call listed twice alike stays a plain duplicate."""
    chunks = [
        _calls_chunk([
            ("c1", "2026-01-05 09:00:00", "missed", 0.0, 2, 2),  # first part of c1: 2 rows
            ("c2", "2026-01-05 09:10:00", "answered", 60.0, 1, 4),
            ("c3", "2026-01-05 09:20:00", "answered", 30.0, 1, 5),
            ("c3", "2026-01-05 09:20:00", "answered", 45.0, 1, 6),  # split within a chunk
        ]),
        _calls_chunk([
            ("c2", "2026-01-05 09:10:00", "answered", 60.0, 1, 7),  # the same call listed again
            ("c1", "2026-01-05 13:05:00", "answered", 120.0, 3, 8),  # the rest of c1, far below
            ("c4", "2026-01-05 13:06:00", "answered", 10.0, 1, 11),
        ]),
    ]
    p = tmp_path / "export.csv"
    p.write_text("x\n")
    res = ingest_file(store, p, PRACTICE, fmt=_fake_format(chunks))
    assert (res.written, res.duplicates, res.rejected, res.split_calls) == (4, 1, 2, 2)
    assert res.rows_read == 10 and res.rows_merged == 1 + 2
    assert_reconciles(res, store.manifest().iloc[-1])
    got = store.read_calls().set_index("call_id")
    assert got.loc["c1", "outcome"] == "missed" and got.loc["c3", "talk_s"] == 30.0
    rej = pd.read_csv(res.rejects_path).set_index("line")
    assert sorted(rej.index) == [6, 8]
    assert rej.loc[8, "reason"].startswith("call id seen before in this file with other details (its first part from line 2)")
    assert "this later part (3 rows) is not written" in rej.loc[8, "reason"]
    assert "(its first part from line 5)" in rej.loc[6, "reason"]
    assert "2 calls split in the file, later parts rejected" in res.summary()
    # The same file again: every call a duplicate, the split parts rejected again.
    again = ingest_file(store, p, PRACTICE, fmt=_fake_format(chunks))
    assert (again.written, again.duplicates, again.rejected, again.split_calls, again.replaced) == (4, 1, 2, 2, 4)


def test_repeated_ids_found_across_many_chunks(store, tmp_path):
    """The ingest's memory of call ids (hashed, in merged sorted runs) finds a repeat of the
    first chunk's call after many chunks, and no false repeats among distinct ids."""
    chunks = [
        _calls_chunk([(f"{k}.{i}", f"2026-01-05 {8 + i % 10:02d}:{k % 60:02d}:00", "answered", 10.0, 1, 100 * k + i)
                      for i in range(50)])
        for k in range(40)
    ]
    chunks.append(_calls_chunk([("0.7", "2026-01-06 08:00:00", "answered", 10.0, 1, 99999)]))
    p = tmp_path / "export.csv"
    p.write_text("x\n")
    res = ingest_file(store, p, PRACTICE, fmt=_fake_format(chunks))
    assert (res.written, res.rejected, res.split_calls) == (2000, 1, 1)
    assert "first part from line 7)" in pd.read_csv(res.rejects_path)["reason"].iloc[0]


def test_manifest_records_the_timezone_used(store, tmp_path):
    p = tmp_path / "export.csv"
    p.write_text("x\n")
    res = ingest_file(store, p, PRACTICE, fmt=_fake_format([_some_calls(1, "2026-07-01 09:00")]))
    ingest_file(store, p, "B82002", fmt=_fake_format([_some_calls(1, "2026-07-01 09:00")]), timezone="UTC")
    assert store.manifest()["timezone"].tolist() == ["Europe/London", "UTC"]
    got = store.read_calls().set_index("practice_id")["start_utc"]
    assert got["A81001"] == pd.Timestamp("2026-07-01 08:00", tz="UTC")  # BST, the default zone
    assert got["B82002"] == pd.Timestamp("2026-07-01 09:00", tz="UTC")
    assert res.written == 1


def test_lock_clears_writers_temp_files_without_walking_the_store(store, monkeypatch):
    """Temp files are looked for only where writers put them (every table's partitions, the
    root, rejects), never by walking the whole tree."""
    root = store.root
    leftovers = [
        root / "ingests.parquet.tmp-1a2b",
        root / "rejects" / "20260105-abc.csv.tmp-3c4d",
        root / "calls" / "practice_id=A81001" / "month=2026-01" / "part.parquet.tmp-5e6f",
        root / "appointments" / "practice_id=B82002" / "month=2025-12" / "part.parquet.tmp-7a8b",
    ]
    kept = [
        root / "calls" / "practice_id=A81001" / "month=2026-01" / "part.parquet",
        root / "notes" / "draft.tmp-1",  # not where a writer writes: not the lock's business
    ]
    for f in leftovers + kept:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"x")

    def no_walk(self, pattern, *a, **k):
        raise AssertionError(f"rglob({pattern!r}) walks the whole store")

    monkeypatch.setattr(Path, "rglob", no_walk)
    with store.lock():
        pass
    assert [f.exists() for f in leftovers] == [False] * 4
    assert all(f.exists() for f in kept)


# ----------------------------------------------------------------------------- crashes

PY = sys.executable

INGEST = textwrap.dedent(
    """
    import os, signal, sys
    from telephony.store import Store
    from telephony.ingest import ingest_file
    kill_at = int(os.environ.get("KILL_AT_REPLACE", "0"))
    if kill_at:
        import telephony.store as st
        real, seen = os.replace, [0]
        def replace(src, dst):
            if str(dst).endswith("part.parquet"):
                seen[0] += 1
                if seen[0] == kill_at:  # the temp file is written; die before the rename
                    os.kill(os.getpid(), signal.SIGKILL)
            return real(src, dst)
        st.os.replace = replace
    go = os.environ.get("GO_FILE")
    if go:
        import time
        while not os.path.exists(go):
            time.sleep(0.005)
    res = ingest_file(Store(sys.argv[1], create=True), sys.argv[2], sys.argv[3])
    print(res.written, res.duplicates, res.rejected)
    """
)


def _ingest_proc(store_root: Path, path: Path, practice: str = PRACTICE, **env) -> subprocess.Popen:
    return subprocess.Popen(
        [PY, "-c", INGEST, str(store_root), str(path), practice],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_store_sound(root: Path, expected_ids: set[str]) -> pd.DataFrame:
    """After a crash: every partition is valid parquet, nothing is duplicated or invented."""
    store = Store(root)
    for p in partition_files(root):
        t = pq.read_table(p)
        assert t.schema.equals(PART_SCHEMA, check_metadata=False)
        assert t.num_rows > 0
    got = store.read_calls()
    assert not got["call_id"].duplicated().any()
    assert set(got["call_id"]) <= expected_ids
    return got


def test_crash_mid_commit_deterministic(tmp_path, key):
    """The writer dies between writing a partition's temp file and renaming it."""
    path, ids = monthly_log(tmp_path / "queue_log", months=12, per_month=20)
    root = tmp_path / "store"
    proc = _ingest_proc(root, path, KILL_AT_REPLACE="5")
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert len(partition_files(root)) == 4  # months 1-4 committed, the 5th was not
    # The temporary file is hidden (a leading dot): readers of the dataset never see it.
    leftovers = list(root.rglob(".part-*.tmp"))
    assert len(leftovers) == 1 and not list(root.rglob("part.parquet.tmp-*"))
    assert len(pd.read_parquet(root / "calls")) == 4 * 20
    assert pq.ParquetDataset(root / "calls").read().num_rows == 4 * 20
    assert not (root / "ingests.parquet").exists()  # the manifest is written last
    got = assert_store_sound(root, ids)
    assert len(got) == 4 * 20
    assert set(pd.DatetimeIndex(got["start_utc"]).strftime("%Y-%m")) == {"2026-01", "2026-02", "2026-03", "2026-04"}
    res = ingest_file(Store(root), path, PRACTICE)
    # The crashed ingest never reached the manifest: the re-run takes its rows over.
    assert (res.written, res.duplicates, res.replaced) == (12 * 20, 0, 4 * 20)
    assert set(Store(root).read_calls()["ingest_id"]) == {res.ingest_id}
    assert set(Store(root).read_calls()["call_id"]) == ids and len(Store(root).read_calls()) == len(ids)
    assert not list(root.rglob("*.tmp-*")) and not list(root.rglob(".*.tmp")) and not (root / ".staging").exists()
    assert len(Store(root).manifest()) == 1


def test_crash_sigkill_from_outside(tmp_path, key):
    """SIGKILL an ingest of a log spanning many months while it commits; the store stays sound
    and a re-run completes it to exactly the full set."""
    path, ids = monthly_log(tmp_path / "queue_log", months=120, per_month=6, first="2010-01-01")
    caught_mid_commit = False
    for attempt, delay in enumerate([0.05, 0.15, 0.0, 0.3]):
        root = tmp_path / f"store{attempt}"
        proc = _ingest_proc(root, path)
        calls_dir = root / "calls" / "practice_id=A81001"
        deadline = time.monotonic() + 60
        while not calls_dir.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        n_parts = len(partition_files(root))
        got = assert_store_sound(root, ids) if root.exists() else None
        if got is not None:
            assert len(got) == 6 * n_parts  # whole months only: each partition old or new
        res = ingest_file(Store(root, create=True), path, PRACTICE)
        assert res.written + res.duplicates == len(ids)
        final = Store(root).read_calls()
        assert len(final) == len(ids) and set(final["call_id"]) == ids
        assert not list(root.rglob("*.tmp-*")) and not (root / ".staging").exists()
        if 0 < n_parts < 120:
            caught_mid_commit = True
            assert not (root / "ingests.parquet").exists() or len(Store(root).manifest()) == 1
            break
    if not caught_mid_commit:
        pytest.skip("could not catch the writer mid-commit on this machine (store was checked anyway)")


# ----------------------------------------------------------------------------- concurrency


def test_two_writers_at_once_equal_sequential(tmp_path, key):
    a, ids_a = monthly_log(tmp_path / "a_queue_log", months=6, per_month=300, first="2026-01-01", prefix="a")
    b, ids_b = monthly_log(tmp_path / "b_queue_log", months=6, per_month=300, first="2026-04-01", prefix="b")
    root = tmp_path / "together"
    go = tmp_path / "go"
    procs = [_ingest_proc(root, p, GO_FILE=str(go)) for p in (a, b)]
    time.sleep(0.3)
    go.write_text("go")
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-2000:]
        assert out.split() == ["1800", "0", "0"]
    seq = Store(tmp_path / "sequential", create=True)
    ingest_file(seq, a, PRACTICE)
    ingest_file(seq, b, PRACTICE)
    # Each ingest names its rows (ingest_id): equal apart from that.
    together = Store(root).read_calls().sort_values("call_id").reset_index(drop=True).drop(columns="ingest_id")
    expected = seq.read_calls().sort_values("call_id").reset_index(drop=True).drop(columns="ingest_id")
    assert len(together) == len(ids_a | ids_b) == 3600
    pd.testing.assert_frame_equal(together, expected)
    assert len(Store(root).manifest()) == 2
    # Months both files wrote hold both files' calls.
    apr = Store(root).read_calls(PRACTICE, "2026-04-01", "2026-05-01")
    assert apr["call_id"].str[0].value_counts().to_dict() == {"a": 300, "b": 300}


# ----------------------------------------------------------------------------- property test

OUTCOMES = ["answered", "transfer", "overflow", "abandoned", "timeout", "empty", "callback"]
CALLERS = st.one_of(
    st.integers(0, 999).map(lambda n: f"07700900{n:03d}"),
    st.integers(0, 999).map(lambda n: f"+447700900{n:03d}"),
    st.integers(0, 999).map(lambda n: f"01632 960{n:03d}"),
    st.sampled_from(["Anonymous", "", "withheld"]),
)
CALL = st.tuples(
    st.sampled_from(OUTCOMES),
    CALLERS,
    st.integers(0, 400 * 86400),  # start offset: over a year, so many partitions
    st.integers(0, 900),  # wait
    st.integers(1, 3600),  # talk
    st.sampled_from(["PJSIP/201", "PJSIP/202", "Agent/3001"]),
)
AGENT_EVENT = st.tuples(st.integers(0, 400 * 86400), st.sampled_from(["PAUSE", "UNPAUSE", "AGENTLOGIN", "ADDMEMBER"]))
T0 = _epoch("2025-12-01")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calls=st.lists(CALL, min_size=1, max_size=40), noise=st.lists(AGENT_EVENT, max_size=10))
def test_generated_queue_logs(tmp_path_factory, calls, noise):
    tmp = tmp_path_factory.mktemp("prop")
    saved = os.environ.get("FRONTDOOR_KEY")
    os.environ["FRONTDOOR_KEY"] = "property-key"  # hypothesis forbids the monkeypatch fixture
    try:
        store = Store(tmp / "store", create=True)
        made, expect = [], {}
        for i, (outcome, caller, off, wait, talk, agent) in enumerate(calls):
            t = T0 + off
            cid = f"{t}.{i}"
            made.append((cid, t, call_lines(cid, t, outcome, caller, wait, talk, agent)))
            expect[cid] = (t, outcome, caller, *expected_of(outcome, wait, talk))
        for j, (off, ev) in enumerate(noise):
            made.append((f"noise{j}", T0 + off, [f"{T0 + off}|NONE|main|PJSIP/20{j % 3}|{ev}|"]))
        path = write_log(tmp / "queue_log", made)
        res = ingest_file(store, path, PRACTICE)

        n_lines = sum(len(ls) for _, _, ls in made)
        assert res.rows_read == n_lines
        assert res.rows_skipped == len(noise)
        assert (res.written, res.duplicates, res.rejected) == (len(calls), 0, 0)
        assert_reconciles(res, store.manifest().iloc[0])

        got = store.read_calls()
        assert len(got) == len(calls)
        assert sorted(got["call_id"]) == sorted(expect)
        pseudo = Pseudonymiser(b"property-key")
        for row in got.itertuples():
            t, outcome, caller, out, wait, talk = expect[row.call_id]
            assert row.outcome == out, (row.call_id, outcome)
            assert row.start_utc == pd.Timestamp(t, unit="s", tz="UTC")
            assert row.wait_s == wait and row.talk_s == talk, (outcome, row.wait_s, row.talk_s)
            assert row.direction == "inbound" and row.line == "main"
            want_key = pseudo.caller_key(caller)
            assert (pd.isna(row.caller_key) and want_key is None) or row.caller_key == want_key
            assert pd.isna(row.agent_key) == (out != "answered")
        counts = Counter(got["outcome"])
        assert counts == Counter(expected_of(o, 1, 1)[0] for o, *_ in calls)
        again = ingest_file(store, path, PRACTICE)
        assert (again.written, again.duplicates, again.replaced) == (len(calls), 0, len(calls))
    finally:
        if saved is None:
            os.environ.pop("FRONTDOOR_KEY", None)
        else:
            os.environ["FRONTDOOR_KEY"] = saved



def test_store_created_by_another_process_meanwhile(tmp_path, monkeypatch):
    """Between our 'does it exist?' and mkdir another process made the store: not an error,
    and the key file it wrote whole is the one both use."""
    from pathlib import Path

    from telephony import privacy

    monkeypatch.delenv("FRONTDOOR_KEY", raising=False)
    root = tmp_path / "store"
    first = Store(root, create=True)  # "the other process"
    key = privacy.load_key(first.root)
    real_exists = Path.exists
    monkeypatch.setattr(Path, "exists", lambda self: False if self in (root, root / ".frontdoor-key") else real_exists(self))
    second = Store(root, create=True)
    monkeypatch.setattr(Path, "exists", real_exists)
    assert privacy.load_key(second.root) == key and len(key) == 64
    # No temporary key left; the key's fingerprint recorded.
    assert sorted(f.name for f in root.iterdir()) == [".frontdoor-key", ".key-fingerprint"]
