"""The ingest's fast paths give exactly what the plain paths give.

The hot path (see benchmarks/ingest.py) takes shortcuts: Arrow instead of Python objects,
validation words only when a vectorised check finds a bad row, parallel partition merges, a
parser running one chunk ahead in a thread. Each shortcut is checked here against the plain
computation it replaces.
"""

from __future__ import annotations

import gc
import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from telephony.formats import FORMATS, ReadContext
from telephony.formats._base import raw_frame
from telephony.ingest import canonical_table, ingest_file
from telephony.privacy import Pseudonymiser, normalise_number
from telephony.schema import CALL_SCHEMA, to_arrow, validate_calls
from telephony.sources import open_source
from telephony.store import Store

PRACTICE = "A81001"


def _phonenumbers_says(s: str) -> str:
    try:
        num = phonenumbers.parse(s, "GB")
        if phonenumbers.is_possible_number(num):
            return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        pass
    return "raw:" + s.lower()


@pytest.mark.parametrize("cc", [1, 7, 20, 33, 49, 61, 86, 353, 880, 998, 999, 979, 969, 210, 801, 0])
@pytest.mark.parametrize("rest", ["7700900123", "123", "20794601230", "7700900123045678"])
def test_unassigned_country_code_shortcut_agrees_with_phonenumbers(cc, rest):
    s = f"+{cc}{rest}"
    assert normalise_number(s) == _phonenumbers_says(s)


def test_unparseable_numbers_leave_no_reference_cycles():
    # phonenumbers keeps its exception in its own frame; the frames must not outlive the call.
    gc.collect()
    gc.disable()
    try:
        before = len(gc.get_objects())
        for i in range(200):
            assert normalise_number(f"+8{i:03d}").startswith(("raw:", "+"))
        unreachable = gc.collect()
    finally:
        gc.enable()
    assert unreachable == 0, f"{unreachable} objects were only freed by the cycle collector (before: {before})"


def test_pseudonyms_same_through_arrow_and_python_paths():
    values = [
        "07700900123", "+447700900123", "Anonymous", None, "", "07700 900124", '"Jo" <07700900125>',
        "+9997700900123045", "201", "07700900123", None, "withheld",
    ]
    fast = Pseudonymiser(b"k").callers(pd.Series(values, dtype="string"))
    slow = Pseudonymiser(b"k").callers(pd.Series(values, dtype=object))
    assert fast.dtype == slow.dtype == pd.StringDtype()
    assert fast.tolist() == slow.tolist()
    assert fast.iloc[0] == fast.iloc[1] == fast.iloc[9] and pd.isna(fast.iloc[2]) and pd.isna(fast.iloc[3])
    agents = pd.Series(["PJSIP/201", "pjsip/201", "", None], dtype="string")
    assert Pseudonymiser(b"k").agents(agents).tolist() == Pseudonymiser(b"k").agents(agents.astype(object)).tolist()


def _raw_with_problems() -> pd.DataFrame:
    n = 8
    return raw_frame(
        n,
        call_id=["a", "b", "", None, "e", "f", "g", "h"],
        start=pd.to_datetime(["2026-01-05 09:00"] * 6 + [None, "2026-03-29 01:30"]),
        direction=["inbound", "sideways", "inbound", "outbound", "inbound", "internal", "inbound", "inbound"],
        line=["main", " ", None, "x", "y", "z", "main", "main"],
        caller=["07700900123"] * n,
        outcome=["answered", "answered", "missed", "answered", "teleported", "busy", "answered", "answered"],
        wait_s=[1.0, 2.0, np.nan, -3.0, 4.0, 5.0, 6.0, 90000.0],
        talk_s=[10.0, 20.0, 0.0, 1.0, np.nan, 0.0, 2.0, 3.0],
        agent=["PJSIP/201"] * n,
        source_line=np.arange(1, n + 1),
    )


def test_canonical_table_rejects_what_validate_calls_rejects():
    raw = _raw_with_problems()
    table, rejects = canonical_table(raw, PRACTICE, "test_format", Pseudonymiser(b"k"))
    assert [(r.line, r.reason) for r in rejects] == [
        (2, "direction not one of inbound/outbound/internal/unknown"),
        (4, "wait_s is negative"),
        (5, "outcome not recognised; talk_s missing"),
        (7, "start time missing or unreadable"),
        (8, "wait_s longer than a day"),
    ]
    assert table.schema.equals(CALL_SCHEMA)
    assert table["outcome"].to_pylist() == ["answered", "missed", "busy"]
    # The same reasons as the pandas validator gives for the same rows.
    _, reasons = validate_calls(
        pd.DataFrame(
            {
                "practice_id": PRACTICE, "call_id": ["a", "b", "h:1", "h:2", "e", "f", "g", "h"],
                "source_format": "test_format",
                "start_utc": pd.to_datetime(raw["start"]).dt.tz_localize("UTC"),
                "direction": raw["direction"], "line": raw["line"], "caller_key": "x",
                "outcome": raw["outcome"], "ivr_s": None, "wait_s": raw["wait_s"], "talk_s": raw["talk_s"],
                "agent_key": "y", "ingest_id": None,
            }
        )
    )
    assert reasons.tolist() == [r.reason for r in rejects]


def test_canonical_table_matches_to_arrow_of_valid_rows():
    raw = _raw_with_problems().iloc[[0, 2, 5]].reset_index(drop=True)
    table, rejects = canonical_table(raw, PRACTICE, "test_format", Pseudonymiser(b"k"))
    assert rejects == []
    ref = to_arrow(table.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get))
    assert table.equals(ref)
    assert table["line"].to_pylist() == ["main", None, "z"]
    assert table["wait_s"].to_pylist() == [1.0, None, 5.0]
    assert table["call_id"][1].as_py().startswith("h:")


def _table(ids, start="2026-01-05 09:00") -> pa.Table:
    n = len(ids)
    df = pd.DataFrame(
        {
            "practice_id": PRACTICE, "call_id": ids, "source_format": "t",
            "start_utc": pd.date_range(start, periods=n, freq="min", tz="UTC"), "direction": "inbound",
            "line": "main", "caller_key": "c", "outcome": "answered", "ivr_s": None, "wait_s": 1.0, "talk_s": 2.0,
            "agent_key": None, "ingest_id": None,
        }
    )
    return to_arrow(df)


def test_commit_partitions_same_as_one_by_one(tmp_path, key):
    months = {
        "2026-01": [_table(["a", "b", "b", "c"], "2026-01-05"), _table(["c", "d"], "2026-01-06")],
        "2026-02": [_table(["e"], "2026-02-02")],
        "2026-03": [_table(["f", "g"], "2026-03-02")],
    }
    one, many = Store(tmp_path / "one", create=True), Store(tmp_path / "many", create=True)
    for s in (one, many):  # an existing partition: its rows win
        s.commit_partition("calls", PRACTICE, "2026-01", [_table(["a"], "2026-01-01")], "call_id", "start_utc", CALL_SCHEMA)
    expect = [one.commit_partition("calls", PRACTICE, m, parts, "call_id", "start_utc", CALL_SCHEMA) for m, parts in months.items()]
    got = list(many.commit_partitions("calls", PRACTICE, [(m, lambda p=p: p) for m, p in months.items()], "call_id", "start_utc", CALL_SCHEMA))
    assert got == expect == [(3, 3, 0), (1, 0, 0), (2, 0, 0)]
    for (_, m, p), (_, m2, p2) in zip(one.partitions(), many.partitions()):
        assert m == m2 and pq.read_table(p).equals(pq.read_table(p2))
    assert not list((tmp_path / "many").rglob("*.tmp-*")) and not list((tmp_path / "many").rglob(".*.tmp"))


NATIVE = """1767600000|NONE|NONE|NONE|QUEUESTART|

1767603600|1767603600.1|main|NONE|ENTERQUEUE||07700900101|1
1767603645|1767603600.1|main|PJSIP/202|CONNECT|45|1767603645.2|3
   
1767603885|1767603600.1|main|PJSIP/202|COMPLETECALLER|45|240|1
garbage
1767603700|1767603700.3|main|NONE|ENTERQUEUE||07700900102|2
"""

EXPORT = """time,callid,queuename,agent,event,data1,data2,data3
2026-01-05 09:00:00,1767603600.1,main,NONE,ENTERQUEUE,,07700900101,1

2026-01-05 09:00:45,1767603600.1,main,PJSIP/202,CONNECT,45,1767603645.2,3
not a time,1767603600.1,main,PJSIP/202,COMPLETECALLER,45,240,1
2026-01-05 09:04:45,1767603600.1,main,PJSIP/202,COMPLETECALLER,45,240,1
"""


@pytest.mark.parametrize("name,text", [("queue_log", NATIVE), ("queue_log_export.csv", EXPORT)])
def test_queue_log_counts_every_line_blank_ones_too(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    chunks = list(FORMATS["asterisk_queue_log"].read(open_source(path), ReadContext()))
    rows_read = sum(c.rows_read for c in chunks)
    n_rows = sum(int(c.calls["n_rows"].sum()) for c in chunks if len(c.calls))
    rejected = sum(r.rows for c in chunks for r in c.rejects)
    skipped = sum(sum(c.skipped.values()) for c in chunks)
    data_lines = len(text.splitlines()) - (1 if name.endswith(".csv") else 0)
    assert rows_read == data_lines
    assert rows_read == n_rows + rejected + skipped
    blanks = sum(c.skipped.get("blank line", 0) for c in chunks)
    assert blanks == (2 if name == "queue_log" else 1)


def test_ingest_with_read_ahead_reports_parser_errors(tmp_path, key):
    path = tmp_path / "queue_log"
    path.write_bytes(b"\x00\x01binary")
    store = Store(tmp_path / "store", create=True)
    from telephony.errors import BadInputError

    with pytest.raises(BadInputError):
        ingest_file(store, path, PRACTICE, fmt="asterisk_queue_log")
    assert not store.partitions("calls") and not store.manifest_path.exists()


# ----------------------------------------------------------------------------- queue_log CSV export


@pytest.mark.parametrize(
    "text",
    [
        "Date,From,To,Result\n05/01/2026 09:00,07700900101,01632960000,Answered\n",
        "calldate,clid,src,dst,disposition\n2026-01-05 09:00:00,x,07700900101,200,ANSWERED\n",
    ],
    ids=["call-report", "cdr"],
)
def test_queue_log_forced_on_another_csv_is_refused(tmp_path, text):
    from telephony.errors import BadInputError

    path = tmp_path / "export.csv"
    path.write_text(text)
    with pytest.raises(BadInputError, match=r"not a asterisk_queue_log export: missing column\(s\) time, callid, event") as info:
        list(FORMATS["asterisk_queue_log"].read(open_source(path), ReadContext()))
    assert "\n" not in str(info.value) and "07700900101" not in str(info.value)


def test_queue_log_export_leaves_wall_clock_naive(tmp_path):
    path = tmp_path / "queue_log_export.csv"
    path.write_text(EXPORT)
    calls = pd.concat([c.calls for c in FORMATS["asterisk_queue_log"].read(open_source(path), ReadContext())])
    assert calls["start"].dt.tz is None
    assert calls["start"].tolist() == [pd.Timestamp("2026-01-05 09:00:00")]
    assert calls[["wait_s", "talk_s"]].values.tolist() == [[45.0, 240.0]]
    # Epoch times in an export are UTC, and stay so.
    path.write_text(EXPORT.replace("2026-01-05 09:00:00", "1767603600").replace("2026-01-05 09:00:45", "1767603645")
                    .replace("2026-01-05 09:04:45", "1767603885"))
    calls = pd.concat([c.calls for c in FORMATS["asterisk_queue_log"].read(open_source(path), ReadContext())])
    assert calls["start"].tolist() == [pd.Timestamp("2026-01-05 09:00:00", tz="UTC")]


def test_queue_log_export_autumn_clock_change_across_chunks(tmp_path, key, monkeypatch):
    """A database export in London wall-clock time through the repeated hour, read in small
    chunks: the ingest converts it in file order across chunks, no call an hour out."""
    import functools

    from telephony.formats import asterisk_queue_log as ql

    truth = pd.date_range("2026-10-24 23:00", "2026-10-25 04:00", freq="5min", tz="UTC", inclusive="left")
    wall = truth.tz_convert("Europe/London").tz_localize(None)
    lines = ["time,callid,queuename,agent,event,data1,data2,data3"]
    for i, w in enumerate(wall):
        cid = f"17700{i:05d}.{i}"
        lines += [
            f"{w:%Y-%m-%d %H:%M:%S},{cid},main,NONE,ENTERQUEUE,,07700900{i % 1000:03d},1",
            f"{w + pd.Timedelta(seconds=30):%Y-%m-%d %H:%M:%S},{cid},main,PJSIP/201,CONNECT,30,{cid}9,2",
            f"{w + pd.Timedelta(seconds=90):%Y-%m-%d %H:%M:%S},{cid},main,PJSIP/201,COMPLETECALLER,30,60,1",
        ]
    path = tmp_path / "queue_log.csv"
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(ql, "read_delimited", functools.partial(ql.read_delimited, block_bytes=700))
    monkeypatch.setattr(ql.GroupCarry, "TAIL_ROWS", 4)  # release calls chunk by chunk
    store = Store(tmp_path / "store", create=True)
    res = ingest_file(store, path, PRACTICE, fmt="asterisk_queue_log")
    assert (res.written, res.rejected, res.split_calls) == (len(truth), 0, 0)
    got = store.read_calls(PRACTICE).sort_values("call_id")
    assert (pd.DatetimeIndex(got["start_utc"]) == truth).all()
    assert store.manifest()["timezone"].tolist() == ["Europe/London"]


# ----------------------------------------------------------------------------- repeated call ids

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(chunks=st.lists(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 2)), max_size=25), min_size=1, max_size=8))
def test_repeated_ids_same_as_a_plain_dict(chunks):
    """The ingest's compact memory of call ids (hashes in sorted runs) rejects exactly the rows
    a plain dict of id -> first details would: a repeat with other details, not one alike."""
    from telephony.ingest import _RepeatedIds

    seen: dict[str, tuple[int, int]] = {}
    r = _RepeatedIds()
    line = 0
    for rows in chunks:
        ids = [f"id-{i}" if i else None for i, _ in rows]  # 0: no id (the ingest hashes it later)
        lines = list(range(line + 1, line + 1 + len(rows)))
        line += len(rows)
        raw = raw_frame(
            len(rows), call_id=ids, start=pd.Series(pd.Timestamp("2026-01-05 08:00")).repeat(len(rows)).reset_index(drop=True),
            outcome="answered", talk_s=[float(v) for _, v in rows], source_line=lines,
        )
        kept, rejects = r.split_parts(raw)
        expected = []
        for cid, (_, v), ln in zip(ids, rows, lines):
            if cid is None:
                continue
            if cid in seen:
                if seen[cid][0] != v:
                    expected.append((ln, seen[cid][1]))
            else:
                seen[cid] = (v, ln)
        got = [(rj.line, int(rj.reason.split("from line ")[1].split(")")[0])) for rj in rejects]
        assert got == expected
        assert len(kept) + len(rejects) == len(rows)
