"""Avaya IP Office SMDR (Station Message Detail Recording) call records.

IP Office sends one comma-separated record per call segment to a collector, which saves them
as text, with no header (Delta Server / SMDR Viewer files of older releases start with a
header row; it is recognised and then columns are found by name). The fields this parser
uses, by position:

===  ================  ===================================================================
 #   field             use
===  ================  ===================================================================
 1   Call Start        ``YYYY/MM/DD HH:MM:SS``, wall clock; the same on every record of a
                       call (except after an off-switch forward with Call Splitting)
 2   Connected Time    ``HH:MM:SS`` talking in this segment (not ringing, hold or park)
 3   Ring Time         seconds from arrival to answer, queueing included
 4   Caller            CLI of an external caller (empty when withheld), or the extension
 5   Direction         ``I`` inbound, ``O`` outbound (internal calls are ``O`` too)
 6   Called Number     DDI of an inbound call, digits dialled for an outbound one
 9   Is_Internal       ``1`` when both ends are internal
10   Call ID           shared by every record of one call
11   Continuation      ``1`` when more records of this call follow, ``0`` on the last
12   Party1Device      ``E<ext>`` extension, ``T<n>`` trunk line, ``V<n>`` voicemail or
13   Party1Name        other channel; with the user or line name
14   Party2Device
15   Party2Name
===  ================  ===================================================================

Fields 16 onwards (Hold Time, Park Time, authorisation, advice of charge, targeting, server
addresses, record time: 17 fields on old releases, 30+ on current ones) are not needed, and
lines of any width from 11 fields up are read (the width of a file is taken from its first
lines). The order past Continuation is from Avaya's documentation but unverified against every
release; only fields 12–15 are read from it, and only to name the answering extension and spot
voicemail.

Records sharing a Call ID are one call, joined across chunks; a call is complete at its
Continuation-0 record (held until then, for at most :data:`CARRY_HORIZON`), and a Call ID seen
again after that starts a new call:

=====================================================  ==========  ============================
the call's records                                     outcome     wait_s / talk_s
=====================================================  ==========  ============================
a record with Connected Time > 0 to a person           answered    Ring Time of the first
                                                                   record / Connected Time
                                                                   summed over the records
                                                                   connected to a person
connected only to voicemail (a ``V`` device named      voicemail   Ring Time of the first / 0
``VM Channel ...``)
never connected                                        missed      Ring Time of the first / 0
=====================================================  ==========  ============================

Notes
-----
- SMDR cannot tell who ended an unanswered call, so a caller hanging up while it rang and the
  system giving up are both ``missed`` (no ``abandoned`` from this format); short-ring hang-ups
  can be told apart later from ``wait_s``.
- Direction: ``Is_Internal`` 1 is internal; otherwise ``I`` inbound and ``O`` outbound
  (:data:`DIRECTIONS`); another letter keeps the record with direction ``unknown`` (caller the
  Caller field, no line) and is counted, never rejected.
- SIP callers are written ``number@gateway`` (``07700900123@192.0.2.10``, as a public SMDR
  logger's example shows): Caller is passed whole, and the ingest's normalisation takes the
  number before the ``@``, so one caller ringing through two gateways keeps one pseudonym.
  Called Number and Dialled Number reach only ``line`` (inbound) or, for an outbound call, the
  other party (``caller``, pseudonymised); never ``agent`` or ``call_id``.
- A Call Start with a year before 1678 or after 2261 (a placeholder ``9999``, a wrong clock),
  or a Ring Time or Connected Time that is not a time up to a day (``1e999999``), rejects its
  record with the reason; the rest of the file is read.
- ``caller`` is the other party: Caller for inbound and internal calls, Called Number for
  outbound ones (an outside-line ``9`` before a national number removed). ``line`` is the
  Called Number (DDI) of an inbound call. ``agent`` is the extension (``E`` removed) among the
  parties of the first record connected to a person: Party2 when it is an extension (internal
  calls), else Party1 (inbound and outbound calls show the extension as Party1 and the trunk as
  Party2 in Avaya's examples).
- ``call_id`` is ``<Call ID>@<Call Start of the first record>``: IP Office restarts its Call
  IDs after a reboot, so the number alone would collide within a month. A call whose last
  record (Continuation 0) is beyond the end of the file (or lost) is still emitted from the
  records present; its remaining records in the next file give the same ``call_id`` only if
  they keep the same Call Start, and are then dropped as duplicates.
- Times are the system's wall-clock time (naive): the ingest converts them with ``--timezone``.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterator

import numpy as np
import pandas as pd

from telephony.errors import BadInputError
from telephony.sources import Chunk, Source, norm_name, read_delimited
from telephony.timeutil import BAD_DURATION, OUT_OF_RANGE, parse_datetimes, parse_durations, plausible_seconds, years_out_of_range
from telephony.formats._base import (
    Format,
    GroupCarry,
    ParsedChunk,
    ReadContext,
    head_fields,
    map_words,
    raw_frame,
    rejects_from,
    rename_columns,
    require_columns,
)
from telephony.formats._numbers import strip_access_code

FORMAT_NAME = "avaya_smdr"

# Field names by position (no header).
FIELDS = [
    "call_start", "connected_time", "ring_time", "caller", "direction", "called_number",
    "dialled_number", "account", "is_internal", "call_id", "continuation", "party1_device",
    "party1_name", "party2_device", "party2_name", "hold_time", "park_time", "auth_valid",
    "auth_code", "user_charged", "call_charge", "currency", "amount_at_last_user_change",
    "call_units", "units_at_last_user_change", "cost_per_unit", "mark_up",
    "external_targeting_cause", "external_targeter_id", "external_targeted_number",
    "calling_party_server_ip", "caller_unique_call_id", "called_party_server_ip",
    "called_unique_call_id", "smdr_record_time",
]
MIN_FIELDS = 11  # up to Continuation

# Header names of Delta Server / SMDR Viewer files (norm_name form) → field.
VARIABLE_MAP = {
    "callstart": "call_start", "callstarttime": "call_start",
    "connectedtime": "connected_time", "callduration": "connected_time",
    "ringtime": "ring_time", "ringduration": "ring_time",
    "caller": "caller",
    "direction": "direction",
    "callednumber": "called_number",
    "diallednumber": "dialled_number",
    "account": "account",
    "isinternal": "is_internal",
    "callid": "call_id",
    "continuation": "continuation",
    "party1device": "party1_device", "party1name": "party1_name",
    "party2device": "party2_device", "party2name": "party2_name",
    "holdtime": "hold_time", "parktime": "park_time",
}
REQUIRED = FIELDS[:MIN_FIELDS]

# Direction letter → direction (Is_Internal = 1 overrides it with "internal").
DIRECTIONS = {"I": "inbound", "O": "outbound"}
# A party that is voicemail: a V device with a voicemail channel name.
VOICEMAIL_NAME = re.compile(r"^VM\b|voice ?mail", re.IGNORECASE)

# A call whose Continuation-0 record has not come is held while its Call Start is within this
# of the newest seen, then released from the records present.
CARRY_HORIZON = pd.Timedelta(hours=6)
# Bytes per read block (a module setting so tests can force many small chunks).
BLOCK_BYTES = 16 * 1024 * 1024


_START = re.compile(r"^\d{4}/\d{1,2}/\d{1,2} \d{1,2}:\d{2}:\d{2}$")
_HMS = re.compile(r"^\d+:\d{2}:\d{2}$")
_INT = re.compile(r"^\d+$")


def _row_fits(row: list[str]) -> bool:
    if len(row) < MIN_FIELDS:
        return False
    f = [v.strip() for v in row[:MIN_FIELDS]]
    return (
        bool(_START.match(f[0]))
        and bool(_HMS.match(f[1]))
        and bool(_INT.match(f[2]))
        and f[4].upper() in ("I", "O")
        and bool(_INT.match(f[9]))
        and f[10] in ("0", "1")
    )


def _layout(source: Source) -> tuple[float, list[str] | None, bool]:
    """(score, field names by position or None with a header, has header)."""
    rows = [r for r in head_fields(source, 50) if r]
    if not rows:
        return 0.0, None, False
    header = False
    if rows and rows[0] and norm_name(rows[0][0]) in ("callstart", "callstarttime"):
        named = {VARIABLE_MAP.get(norm_name(c)) for c in rows[0]}
        if all(f in named for f in REQUIRED):
            header = True
            rows = rows[1:]
    if not rows:
        return (0.6 if header else 0.0), None, header
    fits = [r for r in rows if _row_fits(r)]
    share = len(fits) / len(rows)
    if share < 0.3:
        return 0.0, None, header
    if header:
        return (1.0 if share >= 0.6 else 0.5), None, True
    width = Counter(len(r) for r in fits).most_common(1)[0][0]
    names = FIELDS[:width] + [f"extra{i}" for i in range(len(FIELDS) + 1, width + 1)]
    return (1.0 if share >= 0.6 else 0.5), names, False


def sniff(source: Source) -> float:
    """1.0 when most first lines are SMDR records (date, HH:MM:SS, ring seconds, I/O, ...)."""
    return _layout(source)[0]


def _prepare(chunk: Chunk, ctx: ReadContext) -> tuple[pd.DataFrame, list, Counter, Counter, int]:
    f = chunk.frame
    for c in ("party1_device", "party1_name", "party2_device", "party2_name"):
        if c not in f.columns:
            f[c] = ""
    cols = REQUIRED + ["party1_device", "party1_name", "party2_device", "party2_name"]
    f = f[cols].fillna("")
    for c in cols:
        f[c] = f[c].str.strip()
    lines = chunk.lines
    skipped, rows_read = chunk.skipped(), chunk.rows_read

    # A year pandas cannot hold is blanked before parsing (it would stop the whole file) and
    # rejects its record.
    start_oor = years_out_of_range(f["call_start"])
    start = parse_datetimes(f["call_start"].where(~start_oor, ""), fmt="%Y/%m/%d %H:%M:%S", dayfirst=ctx.dayfirst)
    connected = parse_durations(f["connected_time"])
    ring = pd.to_numeric(f["ring_time"], errors="coerce")
    bad_connected = ~plausible_seconds(connected)
    bad_ring = (f["ring_time"] != "").to_numpy() & ~plausible_seconds(ring)
    letter = f["direction"].str.upper()
    direction, unknown_dir = map_words(letter, DIRECTIONS)
    internal = (f["is_internal"] == "1").to_numpy()
    direction = direction.where(~internal, "internal")
    unknown_dir = unknown_dir.to_numpy() & ~internal
    # A Direction letter this table does not know keeps the record, direction unknown.
    direction = direction.fillna("unknown")

    reason = pd.Series(pd.NA, index=f.index, dtype="string")
    reason[bad_ring] = "Ring Time unreadable ('" + f["ring_time"][bad_ring].str[:20] + "'): " + BAD_DURATION
    reason[bad_connected] = "Connected Time unreadable (expected HH:MM:SS, at most a day)"
    reason[(f["call_id"] == "").to_numpy()] = "Call ID is empty"
    reason[start.isna().to_numpy()] = "Call Start missing or unreadable (expected YYYY/MM/DD HH:MM:SS)"
    reason[start_oor] = "Call Start out of range ('" + f["call_start"][start_oor] + "'): " + OUT_OF_RANGE
    bad = reason.notna().to_numpy()
    rejects = list(chunk.rejects) + rejects_from(chunk.frame, lines, bad, reason)
    unknown = Counter(
        {f"Direction {k}": int(v) for k, v in letter[unknown_dir & ~bad].value_counts().items()}
    )

    keep = ~bad
    recs = pd.DataFrame(
        {
            "call_id": f["call_id"][keep].to_numpy(),
            "start": start[keep].to_numpy(),
            "connected": connected[keep].to_numpy(),
            "ring": ring[keep].to_numpy(),
            "caller": f["caller"][keep].to_numpy(),
            "direction": direction[keep].to_numpy(),
            "called": f["called_number"][keep].to_numpy(),
            "cont": f["continuation"][keep].to_numpy(),
            "p1": f["party1_device"][keep].to_numpy(),
            "p1name": f["party1_name"][keep].to_numpy(),
            "p2": f["party2_device"][keep].to_numpy(),
            "p2name": f["party2_name"][keep].to_numpy(),
            "source_line": lines[keep],
        }
    )
    # A call ends with its Continuation-0 record; a Call ID seen again after that (IDs restart
    # when the system reboots) starts a new call. Within a chunk the calls of one Call ID are
    # numbered by the ends before them; a call open at the end of the previous chunk is held by
    # the carry with number 0, which its remaining records (before any end) also get.
    recs["ended"] = recs["cont"] != "1"
    ended = recs["ended"].astype("int64")
    seg = ended.groupby(recs["call_id"], sort=False).cumsum() - ended
    recs["key"] = recs["call_id"] + "#" + seg.astype(str)
    return recs, rejects, skipped, unknown, rows_read


def _extension(device: pd.Series) -> pd.Series:
    """The extension number of an ``E<ext>`` (or bare-digits) device, else NA."""
    ext = device.astype("string").str.extract(r"^E?(\d{2,6})$", expand=False)
    return ext.astype("string")


def _assemble(recs: pd.DataFrame) -> pd.DataFrame:
    """One raw call per Call ID from its records."""
    if recs.empty:
        return raw_frame(0)
    recs = recs.sort_values(["key", "source_line"], kind="stable").reset_index(drop=True)
    is_vm = (
        recs["p1"].str.startswith("V") & recs["p1name"].str.contains(VOICEMAIL_NAME)
    ) | (recs["p2"].str.startswith("V") & recs["p2name"].str.contains(VOICEMAIL_NAME))
    talked = (recs["connected"] > 0) & ~is_vm
    to_vm = (recs["connected"] > 0) & is_vm
    ext2 = _extension(recs["p2"])
    recs["agent"] = ext2.where(ext2.notna(), _extension(recs["p1"]))
    recs["talk"] = recs["connected"].where(talked, 0.0)
    recs["talked"] = talked
    recs["to_vm"] = to_vm

    g = recs.groupby("key", sort=False)
    c = g.agg(
        call_id=("call_id", "first"),
        first_line=("source_line", "min"),
        n_rows=("source_line", "size"),
        start=("start", "first"),
        ring=("ring", "first"),
        caller=("caller", "first"),
        direction=("direction", "first"),
        called=("called", "first"),
        talk=("talk", "sum"),
        answered=("talked", "any"),
        voicemail=("to_vm", "any"),
    )
    agent = recs[talked].groupby("key", sort=False)["agent"].first()
    c = c.join(agent)
    answered = c["answered"].to_numpy()
    outcome = np.select(
        [answered, c["voicemail"].to_numpy()], ["answered", "voicemail"], default="missed"
    )
    outbound = (c["direction"] == "outbound").to_numpy()
    inbound = (c["direction"] == "inbound").to_numpy()
    caller = c["caller"].where(~outbound, strip_access_code(c["called"]))
    line = c["called"].where(inbound & (c["called"] != "").to_numpy())
    call_id = c["call_id"].astype(str) + "@" + c["start"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    return raw_frame(
        len(c),
        call_id=pd.Series(call_id, index=c.index),
        start=c["start"],
        direction=c["direction"],
        line=line,
        caller=caller,
        outcome=outcome,
        wait_s=c["ring"],
        talk_s=c["talk"],
        agent=c["agent"].where(answered),
        source_line=c["first_line"],
        n_rows=c["n_rows"],
    )


def read(source: Source, ctx: ReadContext) -> Iterator[ParsedChunk]:
    """Read IP Office SMDR records as raw calls (records joined by Call ID), in bounded chunks.

    Raises
    ------
    BadInputError
        When the first lines are not SMDR records.
    """
    score, names, header = _layout(source)
    if score < 0.5:
        raise BadInputError(
            f"{source.name}: not an Avaya IP Office SMDR file: expected comma-separated records "
            "starting Call Start (YYYY/MM/DD HH:MM:SS), Connected Time (HH:MM:SS), Ring Time, "
            "Caller, Direction (I/O), ... Call ID, Continuation. Check the export, or give "
            "`fmt` or `mapping`."
        )
    # Released when its Continuation-0 record is read; a call still open after CARRY_HORIZON
    # of newer calls (its last record lost) is released as it is, which bounds memory.
    carry = GroupCarry("key", "start", CARRY_HORIZON, done="ended")
    memo: dict = {}
    for chunk in read_delimited(source, names, header=header, block_bytes=BLOCK_BYTES):
        notes: list[str] = []  # which column was taken where two could be one field
        if header:
            chunk.frame = rename_columns(chunk.frame, VARIABLE_MAP, notes, memo=memo)
            require_columns(chunk.frame, REQUIRED, source, FORMAT_NAME)
        recs, rejects, skipped, unknown, rows_read = _prepare(chunk, ctx)
        calls = _assemble(carry.push(recs))
        yield ParsedChunk(calls, rejects, rows_read, skipped, unknown, notes)
    yield ParsedChunk(_assemble(carry.push(None, final=True)), [], 0, Counter(), Counter())


FORMATS = [
    Format(
        name=FORMAT_NAME,
        title="Avaya IP Office SMDR records (comma-separated, no header)",
        example="SMDR.csv",
        sniff=sniff,
        read=read,
        evidence="documentation",
        evidence_note=(
            "built from Avaya's SMDR field list and example records; no real SMDR file found in "
            "public (only hand-made test lines and a logger's example of SIP callers as number@IP)"
        ),
    )
]
