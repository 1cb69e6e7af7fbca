"""Microsoft Teams Phone: PSTN usage records (Calling Plans, Operator Connect, Direct Routing).

Reads the PSTN usage report two ways:

- JSON from Microsoft Graph ``communications/callRecords/getPstnCalls`` (``{"value": [...]}``,
  pages concatenated or one record per line also accepted)::

      {"id": "9c4984c7-...", "callId": "1835317186_112562680@61.221.3.176",
       "userPrincipalName": "reception@example.nhs.uk", "callerNumber": "+447700900101",
       "calleeNumber": "+441632960000", "callType": "user_in",
       "startDateTime": "2026-01-05T08:00:12Z", "endDateTime": "2026-01-05T08:04:12Z",
       "duration": 240, "charge": 0, "currency": "GBP", ...}

- CSV downloaded from the Teams admin centre (Analytics & reports → PSTN usage), whose headers
  are spelled with spaces (``Start time``, ``Caller Number``, ``Call Type``...): header names
  are matched through :data:`VARIABLE_MAP`.

Notes
-----
- Usage records are billing records: one row per *connected* PSTN call leg. They carry no
  queue outcome (call-queue results are in a different report), so every call is
  ``answered``, ``talk_s`` is the duration and ``wait_s`` is null. Unanswered and abandoned
  inbound calls are not in this export at all: it cannot give abandonment rates.
- Direction comes from ``callType`` (:data:`CALL_TYPES`). A type not in the table but ending
  ``_in``/``_out`` (``..._out_transfer``) is kept with the direction its suffix says and
  counted as unknown; any other type is rejected. Audio-conferencing types (``conf_in``,
  ``conf_out``) are not calls to the practice: skipped and counted.
- Rows sharing ``callId`` (a call forwarded or transferred out gives a second, ``_out``, leg)
  are one call: the earliest leg gives direction, caller, user and talk time.
- Times are UTC (``...Z``); ``start`` is tz-aware UTC. Admin-centre CSV times written without a
  zone are taken as UTC too (unverified: the report is described as UTC).
- For inbound calls the caller is ``callerNumber`` and ``line`` the number called
  (``calleeNumber``, the practice's number); for outbound calls the other party
  (``calleeNumber``) is stored as the caller. The agent is the Teams user
  (``userPrincipalName``), pseudonymised by the ingest.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterator

import numpy as np
import pandas as pd

from ..privacy import mask_digits
from ..sources import Reject, Source
from ._base import Format, GroupCarry, ParsedChunk, ReadContext, raw_frame, rejects_from, require_columns
from ._records import column, head_table, looks_like_json, null_if_empty, parse_utc, record_batches, seconds

NAME = "teams_pstn"

# Vendor column (norm_name form) -> canonical column. Graph's camelCase and the admin
# centre's spaced names normalise to the same keys.
VARIABLE_MAP: dict[str, str] = {
    "callid": "callid",
    "id": "id", "usageid": "id",
    "userprincipalname": "upn", "upn": "upn", "userprincipal": "upn", "user": "upn",
    "callernumber": "caller_number", "callerid": "caller_number", "sourcenumber": "caller_number",
    "calleenumber": "callee_number", "destinationnumber": "callee_number", "calleeid": "callee_number",
    "calltype": "call_type",
    "startdatetime": "start", "starttime": "start", "starttimeutc": "start",
    "enddatetime": "end", "endtime": "end", "endtimeutc": "end",
    "duration": "duration", "durationseconds": "duration", "durationsec": "duration",
    "callduration": "duration", "durations": "duration",
    "charge": "charge", "currency": "currency", "destinationname": "destination_name",
}
REQUIRED = ["start", "call_type"]

# callType -> direction.
CALL_TYPES: dict[str, str] = {
    "user_in": "inbound",
    "user_out": "outbound",
    "user_out_transfer": "outbound",
    "user_out_forwarding": "outbound",
    "user_out_conf": "outbound",
    "ucap_in": "inbound",
    "ucap_out": "outbound",
    "ucap_out_transfer": "outbound",
    "ucap_out_forwarding": "outbound",
    "emergency_out": "outbound",
    "dr_in": "inbound",
    "dr_out": "outbound",
    "oc_in": "inbound",
    "oc_out": "outbound",
}
# callType values that are not calls to or from the practice's lines.
SKIP_CALL_TYPES: dict[str, str] = {
    "conf_in": "audio-conference dial-in, not a call to the practice",
    "conf_out": "audio-conference dial-out, not a call from the practice",
}
# Every usage record is a connected call.
OUTCOME = "answered"

_SUFFIX = re.compile(r"_(in|out)(?:_[a-z_]+)?$", re.IGNORECASE)
_TYPE_VALUE = re.compile(r'"calltype"\s*:\s*"([a-z_]+)"', re.IGNORECASE)


def sniff(source: Source) -> float:
    """1.0 for Graph PSTN records or an admin-centre CSV with Teams call types."""
    if looks_like_json(source):
        head = source.head
        keys = sum(
            bool(re.search(rf'"{k}"\s*:', head, re.IGNORECASE))
            for k in ("callType", "userPrincipalName", "callerNumber", "calleeNumber", "startDateTime")
        )
        if not re.search(r'"callType"\s*:', head, re.IGNORECASE):
            return 0.0
        types = _TYPE_VALUE.findall(head)
        known = [t for t in types if t.lower() in CALL_TYPES or t.lower() in SKIP_CALL_TYPES]
        if keys >= 3 and known:
            return 1.0
        return 0.6 if keys >= 2 else 0.3
    head = head_table(source, VARIABLE_MAP, {"start", "call_type"})
    if head is None:
        return 0.0
    if "caller_number" not in head.canon and "callee_number" not in head.canon:
        return 0.4
    for r in head.rows or []:
        word = head.value(r, "call_type").lower()
        if word in CALL_TYPES or word in SKIP_CALL_TYPES:
            return 1.0
    return 0.6


def _rows(batch, source: Source) -> tuple[pd.DataFrame, list[Reject], Counter, Counter]:
    f = batch.frame
    if f.empty and not len(f.columns):
        return pd.DataFrame(), [], Counter(), Counter()
    require_columns(f, REQUIRED, source, NAME)
    if "caller_number" not in f.columns and "callee_number" not in f.columns:
        require_columns(f, ["caller_number"], source, NAME)
    skipped: Counter = Counter()
    unknown: Counter = Counter()
    ctype = column(f, "call_type")
    key_type = ctype.str.lower()
    direction = key_type.map(CALL_TYPES).astype("string")
    skip = key_type.isin(list(SKIP_CALL_TYPES)).to_numpy(dtype=bool)
    for w in key_type[skip]:
        skipped[f"callType {w}: {SKIP_CALL_TYPES[w]}"] += 1
    # Types outside the table: the suffix still tells the direction.
    unk = (direction.isna() & ~pd.Series(skip, index=f.index)).to_numpy(dtype=bool)
    suffix = key_type.str.extract(_SUFFIX)[0].map({"in": "inbound", "out": "outbound"}).astype("string")
    for w in ctype[unk]:
        unknown[mask_digits(f"callType {w!r}")] += 1
    direction = direction.fillna(suffix)
    start = parse_utc(column(f, "start"))
    end = parse_utc(column(f, "end"))
    duration = seconds(column(f, "duration"))
    duration = duration.fillna((end - start).dt.total_seconds())

    reason = pd.Series("", index=f.index, dtype="object")
    m = unk & direction.isna().to_numpy(dtype=bool)
    reason[m] = [
        f"unknown callType {w!r}; known: {', '.join(sorted(CALL_TYPES))}. Add it to teams.CALL_TYPES"
        for w in ctype[m]
    ]
    m = start.isna().to_numpy() & ~skip & (reason == "").to_numpy()
    reason[m] = [
        f"start time missing or unreadable ({v!r}); expected ISO 8601 such as 2026-01-05T08:00:12Z"
        for v in column(f, "start")[m]
    ]
    m = duration.isna().to_numpy() & ~skip & (reason == "").to_numpy()
    reason[m] = "duration missing or unreadable, and no end time to compute it"
    bad = (reason != "").to_numpy()
    rejects = rejects_from(batch.original, batch.lines, bad, reason)

    callid = column(f, "callid")
    rid = column(f, "id")
    lines = pd.Series(batch.lines, index=f.index)
    ident = callid.where(callid != "", rid)
    key = ident.where(ident != "", "\x00line" + lines.astype(str))
    rows = pd.DataFrame(
        {
            "key": key,
            "call_id": ident.where(ident != "", pd.NA),
            "t": start,
            "source_line": lines,
            "direction": direction,
            "duration": duration,
            "caller_number": column(f, "caller_number"),
            "callee_number": column(f, "callee_number"),
            "upn": column(f, "upn"),
        }
    ).loc[~bad & ~skip]
    return rows.reset_index(drop=True), rejects, skipped, unknown


def _assemble(rows: pd.DataFrame) -> pd.DataFrame:
    """One raw call per callId: the earliest leg speaks for the call."""
    if rows is None or rows.empty or "key" not in rows.columns:
        return raw_frame(0)
    rows = rows.sort_values(["key", "t", "source_line"], kind="stable")
    g = rows.groupby("key", sort=False)
    c = rows.drop_duplicates("key", keep="first").set_index("key")
    inbound = c["direction"] == "inbound"
    caller = null_if_empty(c["caller_number"]).where(inbound, null_if_empty(c["callee_number"]))
    line = null_if_empty(c["callee_number"]).where(inbound, pd.NA)
    return raw_frame(
        len(c),
        call_id=c["call_id"],
        start=c["t"],
        direction=c["direction"],
        line=line,
        caller=caller,
        outcome=OUTCOME,
        wait_s=np.nan,
        talk_s=c["duration"],
        agent=null_if_empty(c["upn"]),
        source_line=g["source_line"].min(),
        n_rows=g.size(),
    ).sort_values("source_line", kind="stable").reset_index(drop=True)


def read(source: Source, ctx: ReadContext) -> Iterator[ParsedChunk]:
    """Read Teams PSTN usage (Graph JSON or admin-centre CSV) as raw calls, in bounded chunks.

    Raises
    ------
    BadInputError
        The file is neither Graph PSTN records nor a PSTN usage CSV.
    """
    batches = record_batches(
        source,
        VARIABLE_MAP,
        set(REQUIRED),
        f"not a {NAME} export: no header with Start time and Call Type found in the first lines "
        "(expected the Teams admin centre's PSTN usage CSV)",
    )
    carry = GroupCarry("key", "t")
    for batch in batches:
        rows, rejects, skipped, unknown = _rows(batch, source)
        skipped.update(batch.skipped)
        calls = _assemble(carry.push(rows if len(rows) else None))
        yield ParsedChunk(calls, batch.rejects + rejects, batch.rows_read, skipped, unknown)
    yield ParsedChunk(_assemble(carry.push(None, final=True)), [], 0)


FORMATS = [
    Format(
        name=NAME,
        title="Microsoft Teams PSTN usage (Graph getPstnCalls JSON, or the admin centre's PSTN usage CSV)",
        example="pstn_usage.json",
        sniff=sniff,
        read=read,
    )
]
