"""Asterisk ``queue_log``: the best source for queue behaviour.

Reads the native pipe-delimited log (``/var/log/asterisk/queue_log``) and the same log exported
from a database table (``queue_log`` realtime / QueueMetrics) as CSV with a header.

A call is the set of lines sharing ``callid``. One call can enter several queues (overflow) and
stays one call; its outcome is decided by its events:

=====================================  ============  ============================================
events of the call                     outcome       wait_s / talk_s
=====================================  ============  ============================================
CONNECT (then COMPLETE*/TRANSFER)      answered      holdtime (or first ENTERQUEUE → CONNECT when
                                                     it overflowed) / calltime
ABANDON                                abandoned     waittime / 0
EXITWITHTIMEOUT, EXITEMPTY             missed        waittime / 0
EXITWITHKEY                            callback      waittime / 0 (the key leaves the queue for a
                                                     call-back offer, the usual GP set-up)
=====================================  ============  ============================================

Notes
-----
- Times in the native log are epoch seconds (UTC), exact whatever the clock change. Database
  exports that store a DATETIME are read as wall-clock time in the export's timezone.
- Agent and system events (AGENTLOGIN, PAUSE, QUEUESTART, ...) and lines with callid ``NONE``
  are skipped and counted. A ``DID`` line belongs to its call and gives the dialled number.
- QueueMetrics' ``CALLOUTBOUND`` starts an outbound call (data2 is the number dialled), which
  becomes an ``outbound`` call with the other party as ``caller``.
- A call whose log ends before any outcome (the file was cut, or the call is still queued) is
  rejected with that reason, not guessed.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..sources import Reject, Source, norm_name, read_delimited, read_lines
from ..timeutil import parse_datetimes
from ._base import Format, GroupCarry, ParsedChunk, ReadContext, raw_frame

FIELDS = ["time", "callid", "queue", "agent", "event", "data1", "data2", "data3", "data4", "data5"]

# Database/CSV exports name the columns in several ways.
VARIABLE_MAP = {
    "time": "time", "timestamp": "time", "created": "time", "eventtime": "time", "timeid": "time",
    "datetime": "time", "calltime": "time",
    "callid": "callid", "uniqueid": "callid", "callidnum": "callid",
    "queuename": "queue", "queue": "queue",
    "agent": "agent", "agentname": "agent", "membername": "agent",
    "event": "event", "verb": "event",
    "data1": "data1", "data2": "data2", "data3": "data3", "data4": "data4", "data5": "data5",
    "data": "data",
}

START_EVENTS = {"ENTERQUEUE", "CALLOUTBOUND"}
ANSWER_EVENTS = {"CONNECT"}
END_ANSWERED = {"COMPLETECALLER", "COMPLETEAGENT", "TRANSFER", "BLINDTRANSFER", "ATTENDEDTRANSFER"}
# Event → outcome when the call was never connected, and which data field holds the wait.
UNANSWERED = {
    "ABANDON": ("abandoned", "data3"),
    "EXITWITHTIMEOUT": ("missed", "data3"),
    "EXITEMPTY": ("missed", "data3"),
    "EXITWITHKEY": ("callback", "data4"),
}
IN_CALL = {"DID", "RINGNOANSWER", "RINGCANCELED", "ENTERQUEUE", "CALLOUTBOUND"} | ANSWER_EVENTS | END_ANSWERED | set(UNANSWERED)
IN_CALL |= {"INFO", "HOLD", "UNHOLD", "RECORDING", "MIXMONITOR", "AGENTCALLED", "AGENTDUMP", "SYSCOMPAT_CALL"}
NON_CALL = {
    "AGENTLOGIN", "AGENTLOGOFF", "AGENTCALLBACKLOGIN", "AGENTCALLBACKLOGOFF", "ADDMEMBER",
    "REMOVEMEMBER", "PAUSE", "UNPAUSE", "PAUSEALL", "UNPAUSEALL", "QUEUESTART", "CONFIGRELOAD",
    "SYSCOMPAT", "PENALTY", "PAUSECUSTOM",
}

_NATIVE = re.compile(r"^\d{9,10}(?:\.\d+)?\|[^|]*\|[^|]*\|[^|]*\|[A-Z_]+")


def sniff(source: Source) -> float:
    """1.0 for a native log or a CSV export whose header and events are queue_log's."""
    lines = source.head_lines(40)
    if len(source.head) >= 60000:
        lines = lines[:-1]
    if not lines:
        return 0.0
    native = sum(bool(_NATIVE.match(ln)) for ln in lines)
    if native >= max(1, 0.8 * len(lines)):
        return 1.0
    header = {VARIABLE_MAP.get(norm_name(c)) for c in re.split(r"[,;\t]", lines[0])}
    if {"callid", "event", "time"} <= header and ("queue" in header or "agent" in header):
        body = "\n".join(lines[1:])
        return 1.0 if re.search(r"ENTERQUEUE|CONNECT|ABANDON|COMPLETE(CALLER|AGENT)|EXITWITH", body) else 0.6
    if native:
        return 0.5
    return 0.0


def _split_native(lines: pa.Array) -> dict[str, pa.Array]:
    """Split pipe-delimited lines into the ten fields, vectorised (short lines padded)."""
    padded = pc.binary_join_element_wise(lines, pa.scalar("|" * 9), "")
    parts = pc.split_pattern(padded, "|", max_splits=9)
    flat = pc.list_flatten(parts)
    n = len(lines)
    cols = {}
    for i, name in enumerate(FIELDS):
        cols[name] = flat.take(pa.array(np.arange(n, dtype=np.int64) * 10 + i))
    cols["data5"] = pc.utf8_rtrim(cols["data5"], "|")
    # The number of real fields, to tell short lines apart.
    cols["_nfields"] = pc.add(pc.count_substring(lines, "|"), 1)
    return cols


def _native_frames(source: Source) -> Iterator[tuple[pd.DataFrame, list[Reject], int, Counter]]:
    for arr, first_line in read_lines(source):
        cols = _split_native(arr)
        df = pd.DataFrame({k: v.to_pandas() for k, v in cols.items()})
        df["source_line"] = np.arange(first_line, first_line + len(arr), dtype=np.int64)
        df["_text"] = arr.to_pandas()
        blank = (df["_text"].str.strip() == "").to_numpy()
        skipped = Counter()
        if blank.any():
            skipped["blank line"] = int(blank.sum())
            df = df.loc[~blank]
        t = pd.to_numeric(df["time"], errors="coerce")
        bad = t.isna() | (df["_nfields"] < 5)
        rejects = [
            Reject(int(ln), "not a queue_log line (expected epoch|callid|queue|agent|EVENT|...)", txt)
            for ln, txt in zip(df.loc[bad, "source_line"], df.loc[bad, "_text"])
        ]
        df = df.loc[~bad].copy()
        df["t"] = pd.to_datetime(t[~bad], unit="s", utc=True)
        yield df.drop(columns=["_text", "_nfields", "time"]), rejects, len(arr) - int(blank.sum()), skipped


def _csv_frames(source: Source, ctx: ReadContext) -> Iterator[tuple[pd.DataFrame, list[Reject], int, Counter]]:
    delim = max([",", ";", "\t"], key=lambda d: source.head_lines(1)[0].count(d))
    for chunk in read_delimited(source, header=True, delimiter=delim):
        f = chunk.frame
        ren = {}
        for c in f.columns:
            canon = VARIABLE_MAP.get(norm_name(c))
            if canon and canon not in ren.values():
                ren[c] = canon
        f = f.rename(columns=ren)
        if "data" in f.columns and "data1" not in f.columns:
            split = f["data"].fillna("").str.split("|", n=4, expand=True)
            for i in range(5):
                f[f"data{i + 1}"] = split[i] if i in split.columns else ""
        for c in FIELDS:
            if c not in f.columns:
                f[c] = ""
        f = f[FIELDS].fillna("")
        t = parse_datetimes(f["time"], dayfirst=ctx.dayfirst)
        if getattr(t.dt, "tz", None) is None:
            from ..timeutil import localize

            t = localize(t, ctx.timezone)
        f["t"] = t.to_numpy()
        f["t"] = pd.to_datetime(f["t"], utc=True)
        f["source_line"] = chunk.lines
        bad = f["t"].isna().to_numpy()
        rejects = list(chunk.rejects)
        for ln, txt in zip(f.loc[bad, "source_line"], f.loc[bad].astype(str).agg(",".join, axis=1) if bad.any() else []):
            rejects.append(Reject(int(ln), "time missing or unreadable", txt))
        skipped = Counter({"blank line": chunk.blank}) if chunk.blank else Counter()
        yield f.loc[~bad].drop(columns=["time"]), rejects, len(chunk.frame) + len(chunk.rejects), skipped


def _assemble(ev: pd.DataFrame) -> tuple[pd.DataFrame, list[Reject]]:
    """One raw call per callid from its events; calls with no outcome are rejected."""
    if ev.empty:
        return raw_frame(0), []
    ev = ev.sort_values(["callid", "t", "source_line"], kind="stable")
    g = ev.groupby("callid", sort=False)
    first = g.agg(first_line=("source_line", "min"), n_rows=("source_line", "size"), t_first=("t", "min"))

    def first_of(events, cols):
        sub = ev[ev["event"].isin(events)]
        return sub.groupby("callid", sort=False)[cols].first()

    def last_of(events, cols):
        sub = ev[ev["event"].isin(events)]
        return sub.groupby("callid", sort=False)[cols].last()

    start = first_of(START_EVENTS, ["t", "queue", "data2", "event"]).rename(
        columns={"t": "t_enter", "queue": "q_enter", "data2": "cid", "event": "start_event"}
    )
    n_enter = ev[ev["event"] == "ENTERQUEUE"].groupby("callid", sort=False).size().rename("n_enter")
    did = first_of({"DID"}, ["data1"]).rename(columns={"data1": "did"})
    conn = first_of(ANSWER_EVENTS, ["t", "agent", "data1", "queue"]).rename(
        columns={"t": "t_conn", "agent": "agent", "data1": "holdtime", "queue": "q_conn"}
    )
    end = last_of(END_ANSWERED, ["event", "data2", "data4", "t"]).rename(
        columns={"event": "end_event", "data2": "e_d2", "data4": "e_d4", "t": "t_end"}
    )
    term = last_of(set(UNANSWERED), ["event", "data3", "data4", "t"]).rename(
        columns={"event": "term_event", "data3": "u_d3", "data4": "u_d4", "t": "t_term"}
    )
    c = first.join([start, n_enter, did, conn, end, term])
    answered = c["t_conn"].notna()
    has_term = c["term_event"].notna()
    outbound = c["start_event"].eq("CALLOUTBOUND").fillna(False)

    outcome = pd.Series(pd.NA, index=c.index, dtype="string")
    outcome[answered] = "answered"
    unans = ~answered & has_term
    outcome[unans] = c.loc[unans, "term_event"].map({k: v[0] for k, v in UNANSWERED.items()})

    wait_unans = np.where(
        c["term_event"].eq("EXITWITHKEY").fillna(False),
        pd.to_numeric(c["u_d4"], errors="coerce"),
        pd.to_numeric(c["u_d3"], errors="coerce"),
    )
    hold = pd.to_numeric(c["holdtime"], errors="coerce")
    t0 = c["t_enter"].fillna(c["t_first"])
    overflowed = c["n_enter"].fillna(0) > 1
    span_wait = (c["t_conn"] - t0).dt.total_seconds()
    wait_ans = np.where(overflowed | hold.isna(), span_wait, hold)
    wait = np.where(answered, wait_ans, wait_unans)
    # Unanswered calls with no recorded wait: from entering to leaving.
    wait = np.where(np.isnan(wait) & ~answered, (c["t_term"] - t0).dt.total_seconds(), wait)

    talk_end = np.where(
        c["end_event"].isin(["TRANSFER", "BLINDTRANSFER", "ATTENDEDTRANSFER"]),
        pd.to_numeric(c["e_d4"], errors="coerce"),
        pd.to_numeric(c["e_d2"], errors="coerce"),
    )
    talk_span = (c["t_end"] - c["t_conn"]).dt.total_seconds()
    talk = np.where(answered, np.where(np.isnan(talk_end), talk_span, talk_end), 0.0)

    pending = outcome.isna()
    rejects: list[Reject] = []
    for ln, n in zip(c.loc[pending, "first_line"], c.loc[pending, "n_rows"]):
        rejects.append(Reject(int(ln), "call has no outcome event (log ends mid-call?)", "", rows=int(n)))
    keep = ~pending
    c = c.loc[keep]
    k = keep.to_numpy()
    line = c["q_enter"].where(c["q_enter"].fillna("") != "", c["q_conn"]).fillna(c["did"])
    raw = raw_frame(
        len(c),
        call_id=c.index.astype(str),
        start=t0[keep],
        direction=np.where(outbound[keep], "outbound", "inbound"),
        line=line,
        caller=c["cid"],
        outcome=outcome[keep],
        wait_s=np.asarray(wait, dtype=float)[k],
        talk_s=np.nan_to_num(np.asarray(talk, dtype=float)[k], nan=0.0),
        agent=c["agent"].where(answered[keep]),
        source_line=c["first_line"],
        n_rows=c["n_rows"],
    )
    return raw, rejects


def read(source: Source, ctx: ReadContext) -> Iterator[ParsedChunk]:
    """Read a queue_log (native or CSV export) as raw calls, in bounded chunks."""
    head = source.head_lines(3)
    native = bool(head) and bool(_NATIVE.match(head[0]))
    frames = _native_frames(source) if native else _csv_frames(source, ctx)
    carry = GroupCarry("callid", "t")
    for df, rejects, nrows, skipped in frames:
        df["event"] = df["event"].str.strip().str.upper()
        df["callid"] = df["callid"].str.strip()
        non_call = df["event"].isin(NON_CALL) | df["callid"].isin(["NONE", ""])
        for ev, n in df.loc[non_call, "event"].value_counts().items():
            skipped[f"agent/system event {ev}"] += int(n)
        df = df.loc[~non_call]
        unknown = Counter(
            {str(k): int(v) for k, v in df.loc[~df["event"].isin(IN_CALL), "event"].value_counts().items()}
        )
        calls, bad = _assemble(carry.push(df))
        yield ParsedChunk(calls, rejects + bad, nrows, skipped, unknown)
    calls, bad = _assemble(carry.push(None, final=True))
    yield ParsedChunk(calls, bad, 0, Counter(), Counter())


FORMATS = [
    Format(
        name="asterisk_queue_log",
        title="Asterisk queue_log (native pipe-delimited, or a database export as CSV with a header)",
        example="queue_log",
        sniff=sniff,
        read=read,
    )
]
