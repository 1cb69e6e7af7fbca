"""3CX: the web client's call reports and the CDR service's records.

Three formats:

``threecx_report``
    The call log downloaded from the 3CX web client ("Call Reports" before V20, the V20 call
    log)::

        Call Time,Call ID,From,To,Direction,Status,Ringing,Talking,Cost,Call Activity Details
        05/01/2026 08:00:12,00000191A2B3C4D5_17,Jo Bloggs (07700900101),Reception (800),Inbound Queue,Answered,00:00:45,00:04:00,0.00,...

    V20 builds add ``Sentiment, Summary, Transcription`` (3CX's AI features). Rows sharing a
    Call ID (a queue leg and the agent's leg, a transfer) are joined into one call. Times are
    wall-clock local time, day-first (UK) or ISO (``2025-08-16T01:37:00``).

``threecx_inbound``
    The V20 "Inbound Calls" report, a different download::

        Call Time,Caller ID,Destination,Trunk,Trunk number,Did,Status,Ringing,Talking,Total Duration,Call Type,Sentiment,Summary,Transcription
        2026-01-05T08:00:00,07700900101,Welcome message (801),Main line,10004,01632960000,Answered,0:00:00,0:00:14,0:00:14,,,,

    One row per leg (each destination the call reached), every row inbound, no call id:
    legs are joined into calls by caller, trunk, DID and time (see Notes).

``threecx_cdr``
    The CDR service's comma-separated records (a file written by the 3CX CDR output, with or
    without a header line). One call may have several records (transfers, queue polling):
    records sharing ``callid`` are one call.

Outcomes
--------
Report ``Status`` words map through :data:`STATUS_OUTCOMES`. Inbound-report and CDR outcomes
are decided from the legs or records of the call:

=====================================================  ==============================
what the legs or records of the call show              outcome
=====================================================  ==============================
a person answered (an extension, an outside number     answered
the call was forwarded to, the far end of an
outbound call)
a voicemail leg or record                              voicemail
CDR: where the call ended (``final-type``, else        :data:`UNANSWERED_OUTCOMES`,
``to-type``) and who ended it                          e.g. Queue + caller = abandoned,
(``reason-terminated``)                                IVR + caller = ivr_abandoned
inbound report: never got past menus and messages      ivr_abandoned
inbound report: reached a queue, ring group or         missed
extension, nobody answered
3CX's ``EndCall`` destination                          :data:`END_CALL_OUTCOME` (inbound)
a word the reader does not know decides it             unknown (kept, the word counted)
=====================================================  ==============================

Notes
-----
Call reports (``threecx_report``):

- The layout before V20 and the "answered by" text in Call Activity Details are unverified
  (inferred, not read in 3CX's documentation). V20 call logs (seen in public code that reads
  them, not in a real file) write ISO times (``2025-08-16T01:37:00``), statuses ``Answered``,
  ``Unanswered``, ``Waiting``, ``Redirected`` and a last line ``Totals,...``. ``Redirected``
  and ``Waiting`` are statuses of one leg (passed on to another destination; waited in a
  queue), not how the call ended: the call's other legs decide. A call whose legs are all
  ``Redirected``/``Waiting`` is kept with outcome ``unknown`` (a note says so). ``Ringing``,
  ``Talking`` and ``In progress`` are calls still live when the report was run: rejected,
  export again later.
- The AI columns ``Sentiment``, ``Summary`` and ``Transcription`` are free text about what a
  caller said: never read, and left out of reject texts too (in both report formats).
- Unknown ``Status`` or ``Direction`` words keep the call (outcome or direction ``unknown``)
  and are counted; never rejected.
- From/To are written ``Name (number)``, ``number`` or ``Name (ext)``: the number or
  extension is taken from the parenthesis. For inbound calls the caller is From; for outbound
  calls the other party (To) is stored as the caller, as for every Frontdoor format.
- Report ``Ringing`` is taken as the wait (ringing and queueing until answer or hang-up),
  except for ``closed`` and ``ivr_abandoned`` calls, which never queued: their wait is null.
  ``ivr_s`` is null: these reports do not say how long a call spent in menus.
- Status words for calls that never reached a person are unverified guesses at 3CX's
  wording, built from the names 3CX gives the features (documented): the "Outside Office
  Hours" route of an inbound rule (``Out of Office Hours``, ``Outside Office Hours`` ->
  ``closed``), a queue's call-back option (``Callback Requested`` -> ``callback``) and the IVR,
  called "Digital Receptionist" before V20 (``Abandoned in IVR``, ``Abandoned in Digital
  Receptionist`` -> ``ivr_abandoned``). A report that writes ``Unanswered`` for such calls
  gives ``missed`` instead: check a real download before reading closed or IVR figures.
- The totals line (``Totals`` in Call Time, or no time and a "Total" cell) is skipped.

V20 Inbound Calls report (``threecx_inbound``; checked against a real export):

- Newest first, one row per leg, ISO wall-clock times, durations ``0:00:10``, Destination
  ``Name (number)``, and a last line ``Totals,52,...`` (skipped).
- Legs are joined into one call when they come from the same Caller ID on the same Trunk
  number and Did, and each next leg starts no later than :data:`LEG_GAP_S` seconds after the
  latest end (``Call Time`` + ``Total Duration``) of the call's legs so far. Legs of one call
  overlap or follow each other within a second or two (a menu leg runs on while the ring group
  it transferred to rings); a caller who hangs up and redials starts a new call. Withheld
  callers have no number to match, so their legs are joined by trunk, DID and time alone: two
  withheld callers overlapping on one DID count as one call (a note says when this happened).
- The report does not say what a destination is. A destination whose name says so is a queue
  (``queue``), ring group (``ring group``, ``hunt``), voicemail or menu/message (``IVR``,
  ``welcome``, ``message``, ``menu``, ``receptionist``, ``attendant``, ``greeting``,
  ``announcement``). Otherwise a destination that answers without ringing
  (``Answered``, Ringing ``0:00:00``) anywhere in the file so far is taken as a menu or message
  (a person's phone rings first): in the real export, ``Telemarketing incoming calls (805)``
  answered every call at once and passed callers on to a ring group. The rest are extensions,
  and a destination that is only a number is an outside number (a forward to a mobile).
- ``ivr_s`` is the time from the call's first leg to its first queue, ring group or extension
  leg (the whole call when it never got there); ``wait_s`` runs from that leg to the answer
  (the answering leg's start plus its Ringing), or to the end of the last such leg when
  nobody answered. ``talk_s`` is the answering legs' Talking.
- The report does not say who ended an unanswered call: a call that reached a queue, ring
  group or extension and was not answered is ``missed`` (not ``abandoned``); one that never
  got past menus and messages is ``ivr_abandoned``.
- ``Call Type`` (empty in the real export) is not read.

CDR service (``threecx_cdr``; checked against real v16 and later exports):

- The service writes the fields ticked in its settings, in their order, usually without a
  header. Seen: the 27 fields in the documented order (:data:`CDR_FIELDS`, a real v16 file)
  and only the first 20 (no types: a real record, and the header a public export script
  writes); a public conversion script takes the party types to come last
  (:data:`CDR_LAYOUTS`). Without a header the layout is chosen from the values (times, a
  reason word and party-type words at their positions) and a note says which when it is not
  the documented one. ``historyid`` may be written ``Call 9744``; a feature code is a party
  like any DN (``Ext.*777``).
- Party types: newer versions write ``Extension``, ``Line``, ``Queue``, ``IVR``,
  ``RingGroup...``, ``VoiceMail``, ``ConfPlace`` (seen) ...; older ones (a real 2020 file) only
  ``Internal`` (any PBX DN: an extension, a queue or a menu) and ``External``. Without a type
  the kind comes from the number: ``Ext.610`` or 2-6 digits is a PBX DN, a longer number or
  ``anonymous`` an outside party. Pseudo-parties: ``MakeCall`` and ``PlayFile`` as the source
  are calls the PBX itself placed (click-to-call, announcements; typed ``External`` but never
  inbound demand); ``EndCall`` as the destination is 3CX's "End call" destination: the rule
  turned the call away without ringing anyone (inbound: :data:`END_CALL_OUTCOME`; outbound:
  ``failed``). A type word the reader does not know keeps the call, counted; the call's
  direction is ``unknown`` when that word decides it.
- With ``Internal`` types a person's answer is told from the PBX's own: a DN that answers
  within :data:`SYSTEM_ANSWER_S` of the record's start is a queue or menu (a person's phone
  rings first), unless the call was passed on from it (``final-dn`` differs from ``to-dn``:
  ``ReplacedDst``, ``QFwdToDNA``), which means a person answered; a DN listed in
  ``missed-queue-calls`` did not answer. The answer time then belongs to the queue, so such
  a call's wait is null and its talk time includes the time queued.
- ``reason-terminated`` words and who they say ended the call: :data:`REASON_TERMINATED`.
  Seen in real files: ``TerminatedBySrc``, ``TerminatedByDst``, ``Failed``,
  ``Failed_Cancelled`` (the caller gave up before an answer), ``NoRouteExists`` (no route to
  the number: failed), ``RouteBusy`` (busy), ``NotAvailable`` (the destination was not
  available: ended by the system) and ``Connected`` (with ``reason-changed`` ``PickedUp``:
  answered by another DN's call pickup, no answer time written, talk 0). ``reason-changed``
  (``ReplacedDst``, ``ReplacedSrc``, ``QFwdToDNA``, ``Fwd_NoAnswer``, ``FailedBXferOfDst``,
  ``PickedUp``) is not needed for the outcome. An unknown word keeps the call; it decides
  nothing when the call was answered, else the outcome is ``unknown``.
- The clock: ``time-start`` is UTC on some systems and the PBX's local time on others (a
  real 2020 file was 2 h ahead of UTC in May). A callid's first 16 hex digits are the call's
  creation time in milliseconds, counted from 1970 (v16) or from 1601 (later versions, seen
  2023): the reader compares each call's first ``time-start`` with it, rounds the difference
  to 15 minutes and converts the call to UTC (a note gives the offset). When no callid
  carries a time, times are taken as UTC, or as wall clock in the zone given when the user
  gave one (``ReadContext.timezone``).
- ``wait_s`` runs from the first record that is not an IVR to the first answer by a person;
  ``ivr_s`` is the time in IVR records before it (0 when the call went straight to a queue
  or extension; null when the types do not say). For unanswered calls that queued or rang
  the wait runs to the end; it is null for calls that ended in the IVR, failed or were busy.
  An unanswered call ended by the system in an IVR is ``closed``: in a GP set-up that is the
  out-of-hours message (change :data:`UNANSWERED_OUTCOMES` if not).
- ``chain`` lists every hop of the call, outside numbers included: it is never read, so
  none of its numbers goes anywhere (reject texts are masked).

All formats: a date outside the years pandas can hold (a clock at 9999) rejects that row
only, with a reason saying the date is out of range.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import pandas as pd

from telephony.errors import BadInputError
from telephony.privacy import WITHHELD_WORDS, mask_digits
from telephony.sources import Reject, Source, norm_name
from telephony.timeutil import parse_datetimes, parse_durations
from telephony.formats._base import (
    Format,
    GroupCarry,
    ParsedChunk,
    ReadContext,
    map_words,
    raw_frame,
    rejects_from,
    require_columns,
    vendor_word_key,
)
from telephony.formats._records import column, delimited_batches, find_header, head_table, null_if_empty, parse_utc

# ============================================================================ shared

# Free text from 3CX's AI features (V20): summaries and transcriptions of what callers said.
# Never read, and dropped from reject texts.
AI_COLUMNS: frozenset[str] = frozenset({"sentiment", "summary", "transcription"})

# pandas holds nanosecond timestamps from 1677-09-21 to 2262-04-11; a year outside is a broken
# clock, and the row is rejected before any parser can overflow on it.
_FIRST_YEAR, _LAST_YEAR = 1678, 2261
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_DATED = re.compile(r"\d[-/.]\d")


def out_of_range(values: pd.Series) -> pd.Series:
    """True where a written date-time's year is outside what pandas can hold.

    Parameters
    ----------
    values : pandas.Series
        Date-times as the export writes them (``9999-01-05 08:00``, ``05/01/9999 08:00``).

    Returns
    -------
    pandas.Series of bool
    """
    s = values.astype("string").fillna("")
    year = pd.to_numeric(s.str.extract(_YEAR, expand=False), errors="coerce")
    bad = ((year < _FIRST_YEAR) | (year > _LAST_YEAR)).fillna(False)
    return (bad & s.str.contains(_DATED).fillna(False)).astype(bool)


def _range_reason(what: str, value: str) -> str:
    return (
        f"{what} {value!r} is out of range (dates from {_FIRST_YEAR} to {_LAST_YEAR} only): the "
        "PBX clock was wrong when the call was logged; correct or remove the row"
    )


def _reject_frame(original: pd.DataFrame) -> pd.DataFrame:
    """The source's columns for reject texts, without the AI free text."""
    drop = [c for c in original.columns if norm_name(c) in AI_COLUMNS]
    return original.drop(columns=drop) if drop else original


def _seconds(a: pd.Series, b: pd.Series) -> pd.Series:
    """``a - b`` in seconds (NaN where either is missing)."""
    return (a - b).dt.total_seconds()


# ============================================================================ Call Reports CSV

REPORT_NAME = "threecx_report"

# Vendor column (norm_name form) -> canonical column.
REPORT_VARIABLE_MAP: dict[str, str] = {
    "calltime": "time", "datetime": "time", "date": "time", "starttime": "time", "callstart": "time",
    "callid": "callid", "callsid": "callid",
    "from": "from", "caller": "from", "callerid": "from",
    "to": "to", "destination": "to", "callee": "to",
    "direction": "direction", "calldirection": "direction",
    "status": "status", "callstatus": "status", "result": "status",
    "ringing": "ringing", "ringtime": "ringing", "ringingtime": "ringing", "ringingduration": "ringing",
    "talking": "talking", "talktime": "talking", "talkingtime": "talking", "talkingduration": "talking",
    "cost": "cost",
    "callactivitydetails": "details", "activitydetails": "details", "details": "details",
}
REPORT_REQUIRED = ["time", "from", "to", "direction", "status", "talking"]

# Status word -> outcome.
STATUS_OUTCOMES: dict[str, str] = {
    "answered": "answered",
    "unanswered": "missed",
    "not answered": "missed",
    "no answer": "missed",
    "missed": "missed",
    "abandoned": "abandoned",
    "busy": "busy",
    "failed": "failed",
    "voicemail": "voicemail",
    "voice mail": "voicemail",
    # Unverified (see Notes): words for what 3CX's features are called, not read in a report.
    "out of office hours": "closed",
    "outside office hours": "closed",
    "callback requested": "callback",
    "abandoned in ivr": "ivr_abandoned",
    "abandoned in digital receptionist": "ivr_abandoned",
}
# V20 statuses of one leg, not of how the call ended (vendor_word_key form).
LEG_STATUS: frozenset[str] = frozenset({"redirected", "waiting"})
# Status words of a call still live when the report was run (vendor_word_key form).
UNFINISHED_STATUS: frozenset[str] = frozenset({"ringing", "talking", "inprogress", "active"})

# Direction word -> (direction, whether the call went through a queue).
REPORT_DIRECTIONS: dict[str, tuple[str, bool]] = {
    "inbound": ("inbound", False),
    "inbound queue": ("inbound", True),
    "incoming": ("inbound", False),
    "outbound": ("outbound", False),
    "outgoing": ("outbound", False),
    "internal": ("internal", False),
}

# "Jo Bloggs (07700900101)", "Reception (800)", "Jo <07700900101>".
_PARTY = re.compile(r"^\s*(?P<name>.*?)\s*[(<]\s*(?P<num>[^()<>]*?)\s*[)>]\s*$")
_NUMBERISH = re.compile(r"^\+?[\d\s\-]+$|^(?:anonymous|withheld|unknown|private)$", re.IGNORECASE)
# In Call Activity Details (unverified): "... answered by Jo Bloggs (201) ...".
_ANSWERED_BY = re.compile(r"answered by\s+[^;,|]*?\((\d{2,6})\)", re.IGNORECASE)


def split_party(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Split 3CX ``Name (number)`` parties into name and number.

    Parameters
    ----------
    values : pandas.Series
        From or To cells.

    Returns
    -------
    name, number : pandas.Series
        ``number`` is the parenthesised number/extension, or the whole cell when it is a number
        or a withheld word; ``name`` is the text before the parenthesis, or the whole cell when
        it is not a number (a queue or IVR name). ``<NA>`` where not given.
    """
    s = values.astype("string").fillna("").str.strip()
    parts = s.str.extract(_PARTY)
    num_in_paren = parts["num"].fillna("").str.match(_NUMBERISH)
    whole_is_num = s.str.match(_NUMBERISH)
    number = pd.Series(pd.NA, index=s.index, dtype="string")
    name = pd.Series(pd.NA, index=s.index, dtype="string")
    number = number.mask(num_in_paren, parts["num"])
    name = name.mask(num_in_paren, parts["name"])
    rest = ~num_in_paren
    number = number.mask(rest & whole_is_num, s)
    name = name.mask(rest & ~whole_is_num, s)
    name = name.where(name.fillna("").str.strip() != "", pd.NA)
    number = number.where(number.fillna("").str.strip() != "", pd.NA)
    return name, number


def _looks_inbound_report(fields: list[str]) -> bool:
    """Whether a header is the V20 Inbound Calls report's (no Direction, a Did or Trunk)."""
    names = {norm_name(f) for f in fields}
    return "direction" not in names and bool(names & {"did", "trunknumber", "trunk"}) and "destination" in names


def sniff_report(source: Source) -> float:
    """1.0 for a Call Reports header with Ringing/Talking whose rows carry 3CX's words."""
    head = head_table(source, REPORT_VARIABLE_MAP, {"time", "from", "to", "status"})
    if head is None:
        return 0.0
    if not {"ringing", "talking"} <= set(head.canon):
        # Twilio's console export shares Date/From/To/Direction/Status, but not these two.
        return 0.0
    if "direction" not in head.canon:
        return 0.5
    known_status = {vendor_word_key(w) for w in STATUS_OUTCOMES} | LEG_STATUS | UNFINISHED_STATUS
    known_dir = {vendor_word_key(w) for w in REPORT_DIRECTIONS}
    for r in head.rows or []:
        if head.complete(r):
            st, dr = vendor_word_key(head.value(r, "status")), vendor_word_key(head.value(r, "direction"))
            if st in known_status and dr in known_dir:
                # The header's Ringing/Talking and one row in 3CX's words: sure.
                return 1.0
    return 0.6


def _totals_rows(batch, time_txt: pd.Series) -> np.ndarray:
    """The report's totals line: ``Totals`` in Call Time, or no time and a "Total" cell."""
    n = len(time_txt)
    has_total = np.zeros(n, dtype=bool)
    for c in batch.original.columns:
        cell = batch.original[c].astype("string").fillna("").str.strip().str.lower()
        has_total |= cell.str.startswith("total").to_numpy(dtype=bool)
    named = time_txt.str.lower().str.startswith("total").to_numpy(dtype=bool)
    return named | ((time_txt == "").to_numpy(dtype=bool) & has_total)


def _report_rows(batch, ctx: ReadContext, source: Source) -> tuple[pd.DataFrame, list[Reject], Counter, Counter]:
    """Row-level parsing of one batch: rows ready for grouping, rejects, skipped, unknown."""
    f = batch.frame
    require_columns(f, REPORT_REQUIRED, source, REPORT_NAME)
    skipped: Counter = Counter()
    unknown: Counter = Counter()
    time_txt = column(f, "time")
    totals = _totals_rows(batch, time_txt)
    if totals.any():
        skipped["totals row"] += int(totals.sum())
    oor = out_of_range(time_txt).to_numpy() & ~totals
    t = parse_datetimes(time_txt.mask(oor, ""), dayfirst=ctx.dayfirst)
    status = column(f, "status")
    skey = status.map(vendor_word_key).astype("string")
    outcome, unk_status = map_words(status, STATUS_OUTCOMES)
    leg = skey.isin(LEG_STATUS).to_numpy(dtype=bool)
    unfinished = skey.isin(UNFINISHED_STATUS).to_numpy(dtype=bool)
    unk_status = unk_status.to_numpy(dtype=bool) & ~leg & ~unfinished
    outcome = outcome.mask(unk_status, "unknown")
    direction_word = column(f, "direction")
    dkey = direction_word.map(vendor_word_key)
    dmap = {vendor_word_key(k): v[0] for k, v in REPORT_DIRECTIONS.items()}
    direction = dkey.map(dmap).astype("string")
    via_queue = dkey.isin([vendor_word_key(k) for k, v in REPORT_DIRECTIONS.items() if v[1]]).to_numpy(dtype=bool)
    unk_dir = direction.isna().to_numpy()
    direction = direction.fillna("unknown")

    reason = pd.Series("", index=f.index, dtype="object")
    reason[oor] = [_range_reason("call time", v) for v in time_txt[oor]]
    bad_t = t.isna().to_numpy() & ~totals & (reason == "").to_numpy()
    reason[bad_t] = [
        f"call time missing or unreadable ({v!r}); expected DD/MM/YYYY HH:MM:SS or YYYY-MM-DD HH:MM:SS"
        for v in time_txt[bad_t]
    ]
    unf = unfinished & ~totals & (reason == "").to_numpy()
    reason[unf] = [f"call still in progress (status {w!r}) when the report was run; export again later" for w in status[unf]]
    bad = (reason != "").to_numpy()
    rejects = rejects_from(_reject_frame(batch.original), batch.lines, bad, reason)

    keep = ~bad & ~totals
    for w in status[keep & unk_status]:
        unknown[mask_digits(f"status {w!r}")] += 1
    for w in direction_word[keep & unk_dir]:
        unknown[mask_digits(f"direction {w!r}")] += 1
    from_name, from_num = split_party(column(f, "from"))
    to_name, to_num = split_party(column(f, "to"))
    details = column(f, "details")
    answered_by = details.str.extract(_ANSWERED_BY)[0].astype("string")
    callid = column(f, "callid")
    lines = pd.Series(batch.lines, index=f.index)
    key = callid.where(callid != "", "\x00line" + lines.astype(str))
    rows = pd.DataFrame(
        {
            "key": key,
            "callid": callid.where(callid != "", pd.NA),
            "t": t,
            "source_line": lines,
            "direction": direction,
            "via_queue": via_queue,
            "outcome": outcome,
            "leg": leg,
            "ringing": parse_durations(column(f, "ringing")),
            "talking": parse_durations(column(f, "talking")),
            "from_num": from_num,
            "to_num": to_num,
            "to_name": to_name,
            "answered_by": answered_by,
        }
    ).loc[keep]
    return rows.reset_index(drop=True), rejects, skipped, unknown


def _assemble_report(rows: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """One raw call per Call ID (or per row where the report gives none).

    Returns the calls and whether a call had only ``Redirected``/``Waiting`` legs.
    """
    if rows is None or rows.empty or "key" not in rows.columns:
        return raw_frame(0), False
    rows = rows.sort_values(["key", "t", "source_line"], kind="stable").reset_index(drop=True)
    g = rows.groupby("key", sort=False)
    rows["pos"] = g.cumcount()
    first = rows.drop_duplicates("key", keep="first").set_index("key")
    # How the call ended: its last leg that says so (not a Redirected/Waiting leg).
    final = rows[~rows["leg"]].drop_duplicates("key", keep="last").set_index("key")
    ans = rows[rows["outcome"] == "answered"].drop_duplicates("key", keep="first").set_index("key")
    c = first[["callid", "t", "direction", "via_queue", "from_num", "to_num", "to_name"]].copy()
    c["n_rows"] = g.size()
    c["source_line"] = g["source_line"].min()
    c["answered"] = c.index.isin(ans.index)
    legs_only = ~c.index.isin(final.index)
    c["outcome"] = final["outcome"].reindex(c.index).where(~legs_only, "unknown").where(~c["answered"], "answered")
    # Ringing of the rows up to the answering one (all rows when unanswered).
    cut = rows["key"].map(ans["pos"]).fillna(np.inf)
    ring_rows = rows[rows["pos"] <= cut]
    c["wait_s"] = ring_rows.groupby("key", sort=False)["ringing"].sum(min_count=1)
    c["talk_s"] = np.where(c["answered"], g["talking"].sum(min_count=1).reindex(c.index).fillna(0.0), 0.0)
    # Calls that ended before any queue (the closed message, a hang-up in the IVR) never waited.
    c["wait_s"] = c["wait_s"].where(~c["outcome"].isin(["closed", "ivr_abandoned"]))
    ans_to = ans["to_num"].reindex(c.index)
    ans_by = ans["answered_by"].reindex(c.index)

    inbound = c["direction"].isin(["inbound", "unknown"])
    outbound = c["direction"] == "outbound"
    caller = c["from_num"].where(~outbound, c["to_num"])
    # The answering extension: named in the details, or the To of a call that rang it directly.
    agent_in = ans_by.fillna(ans_to.where(~ans["via_queue"].reindex(c.index).fillna(True).astype(bool)))
    agent = pd.Series(pd.NA, index=c.index, dtype="string")
    agent = agent.mask(inbound & c["answered"], agent_in)
    agent = agent.mask(outbound, c["from_num"])
    agent = agent.mask((c["direction"] == "internal") & c["answered"], ans_to)
    line = pd.Series(pd.NA, index=c.index, dtype="string")
    line = line.mask(inbound & c["via_queue"], c["to_name"].fillna(c["to_num"]))
    line = line.mask(inbound & ~c["via_queue"], c["to_num"])
    calls = raw_frame(
        len(c),
        call_id=c["callid"],
        start=c["t"],
        direction=c["direction"],
        line=line,
        caller=caller,
        outcome=c["outcome"],
        wait_s=c["wait_s"],
        talk_s=c["talk_s"],
        agent=agent,
        source_line=c["source_line"],
        n_rows=c["n_rows"],
    ).sort_values("source_line", kind="stable").reset_index(drop=True)
    return calls, bool(legs_only.any())


_LEGS_ONLY_NOTE = (
    "some calls have only 'Redirected' or 'Waiting' legs (passed on or queued, with no leg saying "
    "how the call ended): kept as demand with outcome unknown"
)


def read_report(source: Source, ctx: ReadContext) -> Iterator[ParsedChunk]:
    """Read a 3CX Call Reports CSV/XLSX as raw calls, in bounded chunks.

    Raises
    ------
    BadInputError
        The file has no 3CX call report header, or is the V20 Inbound Calls report (read with
        ``threecx_inbound``).
    """
    found = find_header(source, REPORT_VARIABLE_MAP, {"time", "status"})
    if found is None:
        raise BadInputError(
            f"{source.name}: not a {REPORT_NAME} export: no header with Call Time, From, To, "
            "Direction, Status, Ringing, Talking found in the first lines"
        )
    skip, delim, fields = found
    if _looks_inbound_report(fields):
        raise BadInputError(
            f"{source.name}: this is 3CX's Inbound Calls report (Caller ID, Destination, Trunk, Did; "
            f"no Direction), not a {REPORT_NAME} export: read it with `fmt` {INBOUND_NAME}"
        )
    carry = GroupCarry("key", "t")
    noted = False
    for batch in delimited_batches(source, REPORT_VARIABLE_MAP, delimiter=delim, skip_lines=skip):
        rows, rejects, skipped, unknown = _report_rows(batch, ctx, source)
        skipped.update(batch.skipped)
        calls, legs_only = _assemble_report(carry.push(rows))
        notes = [_LEGS_ONLY_NOTE] if legs_only and not noted else []
        noted |= legs_only
        yield ParsedChunk(calls, batch.rejects + rejects, batch.rows_read, skipped, unknown, batch.notes + notes)
    calls, legs_only = _assemble_report(carry.push(None, final=True))
    yield ParsedChunk(calls, [], 0, notes=[_LEGS_ONLY_NOTE] if legs_only and not noted else [])


# ============================================================================ V20 Inbound Calls

INBOUND_NAME = "threecx_inbound"

# Vendor column (norm_name form) -> canonical column.
INBOUND_VARIABLE_MAP: dict[str, str] = {
    "calltime": "time", "starttime": "time",
    "callerid": "caller", "callernumber": "caller",
    "destination": "dest",
    "trunk": "trunk", "trunkname": "trunk",
    "trunknumber": "trunkno",
    "did": "did", "didnumber": "did",
    "status": "status",
    "ringing": "ringing",
    "talking": "talking",
    "totalduration": "total",
    "calltype": "calltype",
}
INBOUND_REQUIRED = ["time", "caller", "dest", "status", "ringing", "talking"]

# Leg status word -> what happened on that leg.
LEG_OUTCOMES: dict[str, str] = {"answered": "answered", "unanswered": "unanswered", "redirected": "redirected"}
# Seconds a call's next leg may start after the latest end of its legs so far (rounding of
# the report's whole seconds); a redial comes later than this.
LEG_GAP_S = 3.0
# Destination names that say what the destination is (checked in this order).
DESTINATION_KINDS: tuple[tuple[str, re.Pattern], ...] = (
    ("voicemail", re.compile(r"voice\s*mail|\bvm\b", re.IGNORECASE)),
    ("queue", re.compile(r"\bqueue\b", re.IGNORECASE)),
    ("ringgroup", re.compile(r"ring\s*group|\bhunt\b", re.IGNORECASE)),
    (
        "ivr",
        re.compile(
            r"\b(?:ivr|welcome|message|menu|receptionist|attendant|greeting|announcement)s?\b", re.IGNORECASE
        ),
    ),
)
_PERSON_KINDS = ("extension", "external")
# Which destination names the call's line when several are reached at once (a ring group and
# the member who answered): the queue or group, not the person.
_LINE_RANK = {"queue": 0, "ringgroup": 1, "voicemail": 2, "extension": 3, "external": 4}


def sniff_inbound(source: Source) -> float:
    """1.0 for the Inbound Calls report's header with rows in 3CX's words."""
    head = head_table(source, INBOUND_VARIABLE_MAP, {"time", "caller", "dest", "status"})
    if head is None or not {"ringing", "talking"} <= set(head.canon) or not _looks_inbound_report(head.fields):
        return 0.0
    for r in head.rows or []:
        if head.complete(r):
            st = vendor_word_key(head.value(r, "status"))
            dest = head.value(r, "dest")
            if st in LEG_OUTCOMES and _PARTY.match(dest):
                return 1.0
    return 0.6


def _destination_kind(names: pd.Series, numbers: pd.Series) -> pd.Series:
    """What a destination's name says it is; an outside number; else ``<NA>``."""
    kind = pd.Series(pd.NA, index=names.index, dtype="string")
    n = names.fillna("")
    for k, pattern in DESTINATION_KINDS:
        kind = kind.mask(kind.isna() & n.str.contains(pattern), k)
    outside = names.isna() & numbers.fillna("").str.replace(r"[\s\-]", "", regex=True).str.fullmatch(r"\+?\d{7,}")
    return kind.mask(kind.isna() & outside.fillna(False), "external")


def _inbound_rows(batch, ctx: ReadContext, source: Source) -> tuple[pd.DataFrame, list[Reject], Counter, Counter]:
    f = batch.frame
    require_columns(f, INBOUND_REQUIRED, source, INBOUND_NAME)
    skipped: Counter = Counter()
    unknown: Counter = Counter()
    time_txt = column(f, "time")
    totals = _totals_rows(batch, time_txt)
    if totals.any():
        skipped["totals row"] += int(totals.sum())
    oor = out_of_range(time_txt).to_numpy() & ~totals
    t = parse_datetimes(time_txt.mask(oor, ""), dayfirst=ctx.dayfirst)
    reason = pd.Series("", index=f.index, dtype="object")
    reason[oor] = [_range_reason("call time", v) for v in time_txt[oor]]
    bad_t = t.isna().to_numpy() & ~totals & (reason == "").to_numpy()
    reason[bad_t] = [
        f"call time missing or unreadable ({v!r}); expected YYYY-MM-DDTHH:MM:SS or DD/MM/YYYY HH:MM:SS"
        for v in time_txt[bad_t]
    ]
    bad = (reason != "").to_numpy()
    rejects = rejects_from(_reject_frame(batch.original), batch.lines, bad, reason)
    keep = ~bad & ~totals

    status_word = column(f, "status")
    status, unk = map_words(status_word, LEG_OUTCOMES)
    unk = unk.to_numpy(dtype=bool)
    for w in status_word[keep & unk]:
        unknown[mask_digits(f"status {w!r}")] += 1
    status = status.fillna("unknown")
    caller = column(f, "caller")
    withheld = caller.str.lower().isin(WITHHELD_WORDS)
    caller_digits = caller.str.replace(r"\D", "", regex=True)
    trunk = column(f, "trunkno").where(column(f, "trunkno") != "", column(f, "trunk"))
    key = caller_digits.where(~withheld, "") + "|" + trunk + "|" + column(f, "did").str.replace(r"\D", "", regex=True)
    name, number = split_party(column(f, "dest"))
    ringing = parse_durations(column(f, "ringing"))
    talking = parse_durations(column(f, "talking"))
    total = parse_durations(column(f, "total"))
    total = total.fillna(ringing.fillna(0.0) + talking.fillna(0.0))
    legs = pd.DataFrame(
        {
            "key": key,
            "withheld": withheld.to_numpy(dtype=bool),
            "t": t,
            "source_line": pd.Series(batch.lines, index=f.index),
            "caller": caller.where(~withheld & (caller != ""), pd.NA),
            "dest_name": name,
            "dest_id": number.fillna(name).fillna(""),
            "dest_kind": _destination_kind(name, number),
            "status": status,
            "ringing": ringing,
            "talking": talking,
            "total": total,
        }
    ).loc[keep]
    return legs.reset_index(drop=True), rejects, skipped, unknown


@dataclass
class _InboundState:
    """What the reader has learned from the file so far."""

    # Destinations seen answering without ringing: menus and messages.
    system_dests: set = field(default_factory=set)
    withheld_joined: bool = False


def _assemble_inbound(legs: pd.DataFrame, state: _InboundState) -> pd.DataFrame:
    """Join legs into calls (see the module Notes) and make one raw call each."""
    if legs is None or legs.empty or "key" not in legs.columns:
        return raw_frame(0)
    legs = legs.sort_values(["key", "t", "source_line"], kind="stable").reset_index(drop=True)
    legs["end"] = legs["t"] + pd.to_timedelta(legs["total"].fillna(0.0), unit="s")
    # A leg starts a new call when it starts later than the latest end of the caller's legs
    # before it (plus the rounding gap).
    reach = legs.groupby("key", sort=False)["end"].cummax()
    prev_reach = reach.groupby(legs["key"], sort=False).shift()
    new = prev_reach.isna() | (legs["t"] > prev_reach + pd.Timedelta(seconds=LEG_GAP_S))
    legs["call"] = new.cumsum()

    answered_now = (legs["status"] == "answered") & (legs["ringing"].fillna(0.0) == 0) & legs["dest_kind"].isna()
    state.system_dests |= set(legs.loc[answered_now, "dest_id"])
    kind = legs["dest_kind"].fillna(
        pd.Series(np.where(legs["dest_id"].isin(state.system_dests), "ivr", "extension"), index=legs.index)
    )
    legs["kind"] = kind
    g = legs.groupby("call", sort=False)
    n_legs = g.size()
    if (legs.groupby("call", sort=False)["withheld"].first() & (n_legs > 1)).any():
        state.withheld_joined = True

    first_t = g["t"].min()
    not_ivr = kind != "ivr"
    q0 = legs["t"].where(not_ivr).groupby(legs["call"], sort=False).min()
    last_end = g["end"].max()
    ivr_s = _seconds(q0, first_t).where(q0.notna(), _seconds(last_end, first_t))
    person = kind.isin(_PERSON_KINDS) & (legs["status"] == "answered")
    ans_at = (legs["t"] + pd.to_timedelta(legs["ringing"].fillna(0.0), unit="s")).where(person)
    ans_t = ans_at.groupby(legs["call"], sort=False).min()
    answered = ans_t.notna()
    q_end = legs["end"].where(not_ivr).groupby(legs["call"], sort=False).max()
    wait = pd.Series(np.nan, index=first_t.index)
    wait = wait.mask(answered, _seconds(ans_t, q0))
    wait = wait.mask(~answered & q0.notna(), _seconds(q_end, q0))
    # Voicemail: the wait ends when voicemail picks up.
    vm_t = legs["t"].where(kind == "voicemail").groupby(legs["call"], sort=False).min()
    wait = wait.mask(~answered & vm_t.notna(), _seconds(vm_t, q0))
    talk = legs["talking"].where(person, 0.0).groupby(legs["call"], sort=False).sum().where(answered, 0.0)
    voicemail = (kind == "voicemail").groupby(legs["call"], sort=False).any()
    unknown = (legs["status"] == "unknown").groupby(legs["call"], sort=False).any()
    decided = (not_ivr & (legs["status"] != "redirected")).groupby(legs["call"], sort=False).any()
    outcome = pd.Series("missed", index=first_t.index, dtype="object")
    outcome[q0.notna() & ~decided] = "unknown"
    outcome[q0.isna()] = "ivr_abandoned"
    outcome[unknown] = "unknown"
    outcome[voicemail] = "voicemail"
    outcome[answered] = "answered"

    # The first answering leg's extension; the first queue, ring group or extension reached
    # (else the first menu) as the line.
    ans_leg = legs[person].sort_values(["call", "t"], kind="stable").drop_duplicates("call").set_index("call")
    agent = ans_leg["dest_id"].where(ans_leg["dest_id"].str.fullmatch(r"\d{2,6}")).reindex(first_t.index)
    # A person's extension is named by its number, not the person's name.
    # An outside number never names a line.
    legs["label"] = legs["dest_name"].where(kind != "extension").fillna(legs["dest_id"]).where(kind != "external")
    legs["rank"] = kind.map(_LINE_RANK).fillna(9)
    first_leg = legs.drop_duplicates("call").set_index("call")
    reached = legs[not_ivr].sort_values(["call", "t", "rank"], kind="stable").drop_duplicates("call")
    line = reached.set_index("call")["label"].reindex(first_t.index).fillna(first_leg["label"])
    return raw_frame(
        len(first_t),
        start=first_t,
        direction=pd.Series("inbound", index=first_t.index, dtype="string"),
        line=line.astype("string"),
        caller=first_leg["caller"].reindex(first_t.index),
        outcome=outcome.astype("string"),
        ivr_s=ivr_s,
        wait_s=wait,
        talk_s=talk,
        agent=agent.astype("string"),
        source_line=g["source_line"].min(),
        n_rows=n_legs,
    ).sort_values("source_line", kind="stable").reset_index(drop=True)


_WITHHELD_NOTE = (
    "legs of calls from withheld numbers were joined by trunk, DID and time alone: two withheld "
    "callers overlapping in time on one DID count as one call"
)
_SYSTEM_NOTE = (
    "destinations that answer without ringing are taken as menus or messages (IVR time, not a "
    "person answering) unless their name says queue or ring group"
)


def read_inbound(source: Source, ctx: ReadContext) -> Iterator[ParsedChunk]:
    """Read a 3CX V20 Inbound Calls report (one row per leg) as raw calls.

    Raises
    ------
    BadInputError
        The file has no Inbound Calls header.
    """
    found = find_header(source, INBOUND_VARIABLE_MAP, {"time", "caller", "dest", "status"})
    if found is None:
        raise BadInputError(
            f"{source.name}: not a {INBOUND_NAME} export: no header with Call Time, Caller ID, "
            "Destination, Status, Ringing, Talking found in the first lines"
        )
    skip, delim, _ = found
    carry = GroupCarry("key", "t")
    state = _InboundState()
    said: set[str] = set()

    def notes() -> list[str]:
        out = []
        if state.withheld_joined and _WITHHELD_NOTE not in said:
            out.append(_WITHHELD_NOTE)
        if state.system_dests and _SYSTEM_NOTE not in said:
            out.append(_SYSTEM_NOTE)
        said.update(out)
        return out

    for batch in delimited_batches(source, INBOUND_VARIABLE_MAP, delimiter=delim, skip_lines=skip):
        legs, rejects, skipped, unknown = _inbound_rows(batch, ctx, source)
        skipped.update(batch.skipped)
        calls = _assemble_inbound(carry.push(legs), state)
        yield ParsedChunk(calls, batch.rejects + rejects, batch.rows_read, skipped, unknown, batch.notes + notes())
    calls = _assemble_inbound(carry.push(None, final=True), state)
    yield ParsedChunk(calls, [], 0, notes=notes())


# ============================================================================ CDR service

CDR_NAME = "threecx_cdr"

# The CDR service's fields in the documented order (a real v16 file wrote them so).
CDR_FIELDS: list[str] = [
    "historyid", "callid", "duration", "time-start", "time-answered", "time-end",
    "reason-terminated", "from-no", "to-no", "from-dn", "to-dn", "dial-no", "reason-changed",
    "final-number", "final-dn", "bill-code", "bill-rate", "bill-cost", "bill-name", "chain",
    "from-type", "to-type", "final-type", "from-dispname", "to-dispname", "final-dispname",
    "missed-queue-calls",
]
_TYPES = ("from-type", "to-type", "final-type")
# Headerless layouts of 27 fields, tried against the values (see Notes).
CDR_LAYOUTS: dict[str, list[str]] = {
    "the documented order": CDR_FIELDS,
    "the party types last": CDR_FIELDS[:20]
    + ["missed-queue-calls", "from-dispname", "to-dispname", "final-dispname", *_TYPES],
}
# Vendor column (norm_name form) -> canonical column: the CDR's own names, normalised.
CDR_VARIABLE_MAP: dict[str, str] = {norm_name(f): norm_name(f) for f in CDR_FIELDS}
CDR_VARIABLE_MAP.update({"timestarted": "timestart", "timeended": "timeend", "starttime": "timestart"})
CDR_REQUIRED = ["callid", "timestart", "reasonterminated"]

# DN type word -> kind of place the call was.
DN_TYPES: dict[str, str] = {
    "line": "external",
    "external": "external",
    "externalline": "external",
    "trunk": "external",
    "extension": "extension",
    # Older versions (a real 2020 file): any PBX DN, an extension, a queue or a menu.
    "internal": "internal",
    "queue": "queue",
    "ringgroup": "ringgroup",
    "ringgroupringall": "ringgroup",
    "ringgrouphunt": "ringgroup",
    "ivr": "ivr",
    "digitalreceptionist": "ivr",
    "voicemail": "voicemail",
    "fax": "extension",
    "confplace": "conference",
    "conference": "conference",
}
# reason-terminated word -> who ended the call (see Notes for the words seen in real files).
REASON_TERMINATED: dict[str, str] = {
    "terminatedbysrc": "caller",
    "terminatedbydst": "callee",
    "terminatedbyrule": "system",
    "failed": "failed",
    "failed_cancelled": "caller",
    "cancelled": "caller",
    "busy": "busy",
    "noanswer": "system",
    "norouteexists": "failed",
    "routebusy": "busy",
    "notavailable": "system",
    "connected": "connected",
}
# (where the unanswered call was at the end, who ended it) -> outcome.
UNANSWERED_OUTCOMES: dict[tuple[str, str], str] = {
    ("queue", "caller"): "abandoned",
    ("ringgroup", "caller"): "abandoned",
    ("extension", "caller"): "abandoned",
    ("internal", "caller"): "abandoned",
    ("conference", "caller"): "abandoned",
    ("ivr", "caller"): "ivr_abandoned",
    ("external", "caller"): "missed",
    ("queue", "callee"): "missed",
    ("queue", "system"): "missed",
    ("ringgroup", "callee"): "missed",
    ("ringgroup", "system"): "missed",
    ("extension", "callee"): "missed",
    ("extension", "system"): "missed",
    ("internal", "callee"): "missed",
    ("internal", "system"): "missed",
    ("external", "callee"): "missed",
    ("external", "system"): "missed",
    ("ivr", "callee"): "closed",
    ("ivr", "system"): "closed",
}
# Whatever the place: failures and busy are what they say.
BY_ENDER: dict[str, str] = {"failed": "failed", "busy": "busy"}
# An inbound call sent to 3CX's "End call" destination: turned away by the rule, nobody rang.
END_CALL_OUTCOME = "closed"
# A PBX DN that answers this soon after the record starts is a queue or menu, not a person.
SYSTEM_ANSWER_S = 1.0

_QUEUED = ("queue", "ringgroup", "extension", "internal", "conference")
_DN_KINDS = ("extension", "internal", "queue", "ringgroup", "ivr", "voicemail", "conference", "system")
# Kinds whose first record tells that the call did not start in an IVR.
_NOT_IVR = ("extension", "queue", "ringgroup", "voicemail", "conference", "external", "endcall")
# Sentinel kind/ender for a word the reader does not know (distinct from a blank field).
_UNKNOWN = "?"

_WORD_RE = re.compile(r"^[A-Z][A-Za-z]*(?:_[A-Za-z]+)*$")
_TIME_RE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}[ T]\d{1,2}:\d{2}")
_CALLID_RE = re.compile(r"^[0-9A-Fa-f]{8,}_\d+$")
_PARTY_RE = re.compile(r"^(?:Ext\.\S+|\+?\d[\d\s]*|anonymous|EndCall|MakeCall|PlayFile)$", re.IGNORECASE)


def _layouts_for(n: int) -> dict[str, list[str]]:
    """The headerless layouts a row of ``n`` fields can be (none below 20)."""
    if n >= len(CDR_FIELDS):
        extra = [f"extra{i}" for i in range(1, n - len(CDR_FIELDS) + 1)]
        return {label: names + extra for label, names in CDR_LAYOUTS.items()}
    if n >= 20:
        return {"the documented order": CDR_FIELDS[:n]}
    return {}


def _fit(rows: list[list[str]], names: list[str]) -> tuple[int, int, int]:
    """(rows whose time and reason fit, of those whose party types are known words, rows)."""
    at = {n: i for i, n in enumerate(names)}
    types = [at[x] for x in _TYPES if x in at]
    good = typed = n = 0
    for r in rows:
        if len(r) != len(names):
            continue
        n += 1
        if _TIME_RE.search(r[at["time-start"]]) and _WORD_RE.match(r[at["reason-terminated"]].strip()):
            good += 1
            typed += bool(types) and all(vendor_word_key(r[i]) in DN_TYPES for i in types)
    return good, typed, n


def _choose_layout(rows: list[list[str]]) -> tuple[str, list[str], int, int, int] | None:
    """The headerless layout that fits the rows best: (label, names, good, typed, rows)."""
    counts = Counter(len(r) for r in rows)
    if not counts:
        return None
    n = counts.most_common(1)[0][0]
    best = None
    for label, names in _layouts_for(n).items():
        good, typed, m = _fit(rows, names)
        if best is None or (typed, good) > (best[3], best[2]):
            best = (label, names, good, typed, m)
    return best


def _cdr_layout(source: Source) -> tuple[bool, list[str] | None, str, str | None]:
    """Whether the file has a header, the names to use when not, the delimiter, and a note
    when the layout is not the documented one."""
    lines = source.head_lines(21)
    if not lines:
        raise BadInputError(f"{source.name}: the file is empty")
    if len(source.head) >= 60000 and len(lines) > 1:
        lines = lines[:-1]
    delim = max([",", ";", "\t"], key=lines[0].count)
    try:
        rows = list(csv.reader(lines, delimiter=delim))
    except csv.Error:
        rows = [next(csv.reader([lines[0]], delimiter=delim))]
    names = {norm_name(x) for x in rows[0]}
    if "historyid" in names or len(names & set(CDR_VARIABLE_MAP)) >= 5:
        return True, None, delim, None
    chosen = _choose_layout(rows)
    if chosen is None or chosen[2] == 0:
        n = len(rows[0])
        raise BadInputError(
            f"{source.name}: not a {CDR_NAME} export: {n} fields per row and no header, and no "
            f"time-start and reason-terminated where the CDR service writes them "
            f"({', '.join(CDR_FIELDS[:7])}, ...)"
        )
    label, names_, *_ = chosen
    note = None
    if label != "the documented order":
        note = f"CDR fields without a header read in {label} (chosen from the values)"
    elif len(names_) < len(CDR_FIELDS):
        note = "CDR records without party types: whether each party is inside the PBX is told from its number"
    return False, names_, delim, note


def sniff_cdr(source: Source) -> float:
    """1.0 for the CDR service's header, or headerless rows with its times, reasons and types."""
    rows = source.head_lines(21)
    if len(source.head) >= 60000:
        rows = rows[:-1]
    if not rows:
        return 0.0
    delim = max([",", ";", "\t"], key=rows[0].count)
    try:
        parsed = list(csv.reader(rows, delimiter=delim))
    except csv.Error:
        return 0.0
    names = {norm_name(x) for x in parsed[0]}
    if "historyid" in names and {"timestart", "reasonterminated", "callid"} <= names:
        return 1.0
    if {"timestart", "timeanswered", "reasonterminated"} <= names:
        return 0.8
    chosen = _choose_layout(parsed)
    if chosen is None:
        return 0.0
    label, names_, good, typed, n = chosen
    if not good:
        return 0.0
    if good < 0.8 * len(parsed):
        return 0.5
    if any(x in names_ for x in _TYPES):
        return 1.0 if typed >= 0.8 * good else 0.6
    # No types written: sure when the call ids and parties are 3CX's.
    at = {x: i for i, x in enumerate(names_)}
    own = sum(
        1
        for r in parsed
        if len(r) == len(names_)
        and _CALLID_RE.match(r[at["callid"]].strip())
        and _PARTY_RE.match(r[at["from-no"]].strip())
        and _PARTY_RE.match(r[at["to-no"]].strip())
    )
    return 1.0 if own >= 0.8 * good else 0.6


def _party_kind(values: pd.Series) -> pd.Series:
    """The kind of a party from how 3CX writes its number ("" when it does not say)."""
    s = values.fillna("").str.strip()
    low = s.str.lower()
    kind = pd.Series("", index=s.index, dtype="object")
    kind[s.str.fullmatch(r"(?i:ext\.)\S+|\d{2,6}").fillna(False).to_numpy(dtype=bool)] = "internal"
    outside = s.str.replace(r"[\s\-]", "", regex=True).str.fullmatch(r"\+?\d{7,}").fillna(False) | (
        low.isin(WITHHELD_WORDS) & (low != "")
    )
    kind[outside.to_numpy(dtype=bool)] = "external"
    return kind


def _party_number(values: pd.Series) -> pd.Series:
    """A party as a number to pseudonymise: ``Ext.610`` -> ``610``; words that are not numbers
    (``EndCall``, ``PickupExt.610``, a name) -> ``<NA>``; withheld words kept (they mean none)."""
    s = values.fillna("").str.strip().str.replace(r"^(?i:ext\.)", "", regex=True)
    low = s.str.lower()
    number = s.str.replace(r"[\s\-()]", "", regex=True).str.fullmatch(r"\+?\d+").fillna(False)
    ok = number | (low.isin(WITHHELD_WORDS) & (low != ""))
    return s.where(ok, pd.NA).astype("string")


_CALLID_TIME = re.compile(r"^([0-9A-Fa-f]{16})_")
_MS_1601_TO_1970 = 11_644_473_600_000
_MS_2000, _MS_2100 = 946_684_800_000, 4_102_444_800_000


def callid_times(callids: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The creation time a 3CX callid carries, read both ways it is written.

    Parameters
    ----------
    callids : pandas.Series
        ``00000171DEE41BB3_2501``: 16 hex digits of milliseconds, then ``_`` and a counter.

    Returns
    -------
    since_1970, since_1601 : pandas.Series
        UTC times reading the milliseconds from 1970 (v16) and from 1601 (later versions);
        ``NaT`` where the callid is not so written or the time is not between 2000 and 2100.
    """
    hexes = callids.astype("string").str.extract(_CALLID_TIME, expand=False)
    unix = np.full(len(hexes), np.iinfo(np.int64).min, dtype=np.int64)
    win = unix.copy()
    for i, h in enumerate(hexes.to_numpy(dtype=object)):
        if isinstance(h, str):
            v = int(h, 16)
            if _MS_2000 <= v < _MS_2100:
                unix[i] = v
            if _MS_2000 <= v - _MS_1601_TO_1970 < _MS_2100:
                win[i] = v - _MS_1601_TO_1970

    def as_time(ms: np.ndarray) -> pd.Series:
        t = pd.to_datetime(pd.Series(ms, index=callids.index).where(ms != np.iinfo(np.int64).min), unit="ms", utc=True)
        return t.astype("datetime64[ns, UTC]")

    return as_time(unix), as_time(win)


def _cdr_rows(batch, source: Source) -> tuple[pd.DataFrame, list[Reject], Counter]:
    f = batch.frame
    require_columns(f, CDR_REQUIRED, source, CDR_NAME)
    unknown: Counter = Counter()
    reason = pd.Series("", index=f.index, dtype="object")
    times = {}
    for c, label in (("timestart", "time-start"), ("timeanswered", "time-answered"), ("timeend", "time-end")):
        txt = column(f, c)
        oor = out_of_range(txt).to_numpy() & (reason == "").to_numpy()
        reason[oor] = [_range_reason(label, v) for v in txt[oor]]
        times[c] = parse_utc(txt.mask(out_of_range(txt), ""))
    t_start, t_ans, t_end = times["timestart"], times["timeanswered"], times["timeend"]
    bad_t = t_start.isna().to_numpy() & (reason == "").to_numpy()
    reason[bad_t] = "time-start missing or unreadable; expected YYYY-MM-DD HH:MM:SS or YYYY/MM/DD HH:MM:SS"
    bad = (reason != "").to_numpy()
    rejects = rejects_from(batch.original, batch.lines, bad, reason)

    from_no, to_no, final_no = column(f, "fromno"), column(f, "tono"), column(f, "finalnumber")
    kinds = {}
    for c, label, number in (("fromtype", "from-type", from_no), ("totype", "to-type", to_no), ("finaltype", "final-type", final_no)):
        w = column(f, c)
        k, u = map_words(w, DN_TYPES)
        u = (u & (w != "")).to_numpy(dtype=bool)
        for word in w[u & ~bad]:
            unknown[mask_digits(f"{label} {word!r}")] += 1
        kind = pd.Series(k.fillna("").to_numpy(dtype=object), index=f.index)
        kind[u] = _UNKNOWN
        # No type written: the kind from how the number is written.
        blank = (w == "").to_numpy(dtype=bool)
        kind[blank] = _party_kind(number)[blank]
        kinds[c] = kind
    # 3CX's pseudo-parties, whatever type they are given.
    kinds["fromtype"][from_no.str.lower().isin(["makecall", "playfile"]).to_numpy(dtype=bool)] = "system"
    kinds["totype"][(to_no.str.lower() == "endcall").to_numpy(dtype=bool)] = "endcall"
    kinds["finaltype"][(final_no.str.lower() == "endcall").to_numpy(dtype=bool)] = "endcall"
    # Nothing changed on the way (no final number or DN): the call ended where it was sent.
    moved = ((final_no != "") | (column(f, "finaldn") != "")).to_numpy(dtype=bool)
    final_kind = kinds["finaltype"].where(moved, kinds["totype"])

    rt_word = column(f, "reasonterminated")
    ender, unk_rt = map_words(rt_word, REASON_TERMINATED)
    unk_rt = (unk_rt & (rt_word != "")).to_numpy(dtype=bool)
    for word in rt_word[unk_rt & ~bad]:
        unknown[mask_digits(f"reason-terminated {word!r}")] += 1
    ender = pd.Series(ender.fillna("").to_numpy(dtype=object), index=f.index)
    ender[unk_rt] = _UNKNOWN

    callid = column(f, "callid")
    historyid = column(f, "historyid").str.replace(r"^(?i:call)\s+", "", regex=True)
    lines = pd.Series(batch.lines, index=f.index)
    key = callid.where(callid != "", historyid.where(historyid != "", "\x00line" + lines.astype(str)))
    unix, win = callid_times(callid)
    far = pd.Timedelta(days=36500)
    d_unix = (t_start - unix).abs().fillna(far)
    d_win = (t_start - win).abs().fillna(far)
    t_id = unix.where(d_unix <= d_win, win)
    rows = pd.DataFrame(
        {
            "key": key,
            "callid": key.where(~key.str.startswith("\x00"), pd.NA),
            "t": t_start,
            "t_ans": t_ans,
            "t_end": t_end,
            "t_id": t_id,
            "source_line": lines,
            "from_kind": kinds["fromtype"],
            "to_kind": kinds["totype"],
            "final_kind": final_kind,
            "ender": ender,
            "duration": parse_durations(column(f, "duration")),
            "from_no": from_no,
            "to_no": to_no,
            "dial_no": column(f, "dialno"),
            "from_dn": column(f, "fromdn"),
            "to_dn": column(f, "todn"),
            # Where the call ended: the final DN, else (nothing changed) the DN it was sent to.
            "final_dn": column(f, "finaldn").where(column(f, "finaldn") != "", column(f, "todn")),
            "final_no": final_no,
            "missed": column(f, "missedqueuecalls"),
            "to_dispname": column(f, "todispname"),
        }
    ).loc[~bad]
    return rows.reset_index(drop=True), rejects, unknown


@dataclass
class _Clock:
    """How ``time-start`` relates to UTC, learned call by call from the callids (see Notes).

    ``mode`` is decided at the first calls: ``"callid"`` (offsets from the callids), ``"wall"``
    (no callid times, a zone given: wall clock for the ingest to convert) or ``"utc"``.
    """

    timezone: str | None = None
    mode: str | None = None
    seen: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    _said: set = field(default_factory=set)

    def offsets(self, first: pd.DataFrame) -> pd.Series:
        """Per call (index of ``first``, its first record): the offset to subtract."""
        q = ((first["t"] - first["t_id"]) / pd.Timedelta(minutes=15)).round()
        mins = (q * 15).where(q.abs() <= 14 * 4)
        if self.mode is None and len(first):
            if mins.notna().any():
                self.mode = "callid"
            elif self.timezone:
                self.mode = "wall"
                self._say(
                    "the callids carry no time to check the CDR clock against: time-start read as "
                    "local time in the zone given"
                )
            else:
                self.mode = "utc"
                self._say(
                    "the callids carry no time to check the CDR clock against: time-start taken as UTC; "
                    "give the PBX's timezone if it writes local time"
                )
        self.seen.update(int(m) for m in mins.dropna())
        default = self.seen.most_common(1)[0][0] if self.seen else 0
        mins = mins.fillna(default) if self.mode == "callid" else mins * 0 + 0
        for m in sorted(set(int(v) for v in mins.dropna()) - {0}):
            h, r = divmod(abs(m), 60)
            text = f"{h} h" + (f" {r} min" if r else "")
            self._say(
                f"time-start is the PBX's local time, {text} {'ahead of' if m > 0 else 'behind'} UTC on "
                "some calls (told by the time each callid carries): those calls were converted to UTC"
            )
        return pd.to_timedelta(mins.fillna(0), unit="m")

    def _say(self, text: str) -> None:
        if text not in self._said:
            self._said.add(text)
            self.notes.append(text)

    def take_notes(self) -> list[str]:
        out, self.notes = self.notes, []
        return out


def _assemble_cdr(rows: pd.DataFrame, clock: _Clock) -> pd.DataFrame:
    """One raw call per callid from its CDR records."""
    if rows is None or rows.empty or "key" not in rows.columns:
        return raw_frame(0)
    rows = rows.sort_values(["key", "t", "source_line"], kind="stable").reset_index(drop=True)
    first = rows.drop_duplicates("key", keep="first").set_index("key")
    shift = rows["key"].map(clock.offsets(first))
    for c in ("t", "t_ans", "t_end"):
        rows[c] = rows[c] - shift
        if clock.mode == "wall":
            rows[c] = rows[c].dt.tz_localize(None)
    g = rows.groupby("key", sort=False)
    first = rows.drop_duplicates("key", keep="first").set_index("key")

    fk, tk, xk = first["from_kind"], first["to_kind"], first["final_kind"]
    dn_side = fk.isin(_DN_KINDS)
    far = tk.isin(["external", "endcall"]) | xk.isin(["external", "endcall"])
    direction = pd.Series("internal", index=first.index, dtype="object")
    direction[dn_side & far] = "outbound"
    direction[fk == "external"] = "inbound"
    direction[(fk == _UNKNOWN) | (dn_side & ~far & ((tk == _UNKNOWN) | (xk == _UNKNOWN)))] = "unknown"
    rows["direction"] = rows["key"].map(direction)

    # Answered by a person (see Notes): an extension, an outside number (the far end of an
    # outbound call, a mobile an inbound call was forwarded to), or an Internal DN that did not
    # answer at once unless the call was passed on from it.
    kind = rows["final_kind"]
    passed_on = (rows["final_dn"] != "") & (rows["final_dn"] != rows["to_dn"])
    at_once = _seconds(rows["t_ans"], rows["t"]) <= SYSTEM_ANSWER_S
    listed = [
        bool(dn) and dn in re.split(r"[,;\s]+", m) for dn, m in zip(rows["final_dn"], rows["missed"])
    ]
    internal_person = (kind == "internal") & rows["t_ans"].notna() & (passed_on | ~at_once.fillna(False)) & ~np.array(listed, dtype=bool)
    typed_person = kind.isin(["extension", "external", "conference"]) & rows["t_ans"].notna()
    picked_up = (rows["ender"] == "connected") & kind.isin(["extension", "external", "internal", "conference"])
    rows["person_ans"] = (internal_person | typed_person | picked_up) & (kind != "endcall")
    talk_rec = _seconds(rows["t_end"], rows["t_ans"]).fillna(rows["duration"]).fillna(0.0)
    rows["talk"] = talk_rec.where(rows["person_ans"], 0.0)
    ans = rows[rows["person_ans"]].drop_duplicates("key", keep="first").set_index("key")
    vm = rows[rows["final_kind"] == "voicemail"].drop_duplicates("key", keep="first").set_index("key")
    last = rows.sort_values(["key", "t_end", "source_line"], kind="stable").drop_duplicates("key", keep="last").set_index("key")

    c = pd.DataFrame(index=first.index)
    c["t"] = g["t"].min()
    c["source_line"] = g["source_line"].min()
    c["n_rows"] = g.size()
    answered = c.index.isin(ans.index)
    voicemail = ~answered & c.index.isin(vm.index)
    where = last["final_kind"].reindex(c.index).fillna("")
    who = last["ender"].reindex(c.index).fillna("")
    inbound = direction == "inbound"
    out = direction == "outbound"

    def unanswered(p: str, w: str, inb: bool) -> str:
        if w in BY_ENDER:
            return BY_ENDER[w]
        if p == "endcall":
            return END_CALL_OUTCOME if inb else "failed"
        if p == _UNKNOWN or w == _UNKNOWN:
            return "unknown"
        return UNANSWERED_OUTCOMES.get((p, w), "missed")

    unans = pd.Series([unanswered(p, w, i) for p, w, i in zip(where, who, inbound)], index=c.index, dtype="object")
    outcome = unans.mask(voicemail, "voicemail").mask(answered, "answered")

    # IVR time: records that went to an IVR before the first that did not (inbound only).
    not_ivr = rows["to_kind"] != "ivr"
    q0 = rows["t"].where(not_ivr).groupby(rows["key"], sort=False).min().reindex(c.index)
    t_last_end = g["t_end"].max()
    first_to = tk.reindex(c.index)
    ivr = pd.Series(np.nan, index=c.index)
    ivr = ivr.mask(first_to.isin(_NOT_IVR), 0.0)
    ivr = ivr.mask(first_to == "ivr", _seconds(q0, c["t"]).fillna(_seconds(t_last_end, c["t"])))
    ivr = ivr.where(inbound)

    ans_rec = ans.reindex(c.index)
    # The answer time is the person's, unless it belongs to a queue or IVR the call was passed on
    # from within one record.
    ans_own = ~(
        ((ans_rec["final_kind"] == "internal") & (ans_rec["final_dn"] != ans_rec["to_dn"]))
        | (ans_rec["to_kind"] == "ivr")
    )
    wait = pd.Series(np.nan, index=c.index)
    wait = wait.mask(answered & ans_own.to_numpy(dtype=bool), _seconds(ans_rec["t_ans"], q0))
    rang = ~answered & ~voicemail & where.isin(_QUEUED) & ~who.isin(list(BY_ENDER))
    wait = wait.mask(rang, _seconds(t_last_end, q0))
    wait = wait.mask(voicemail, _seconds(vm["t_ans"].reindex(c.index), q0))
    talk = g["talk"].sum().where(answered, 0.0)

    first_from = _party_number(first["from_no"])
    caller = first_from.copy()
    # Outbound: the outside party (To, else the final number when the PBX rang an extension
    # first, as click-to-call does, else the digits dialled).
    far_no = _party_number(first["to_no"]).where(tk == "external")
    far_no = far_no.fillna(_party_number(first["final_no"]).where(xk == "external"))
    caller = caller.mask(out, far_no.fillna(_party_number(first["dial_no"])))
    caller = caller.mask(
        direction.isin(["internal", "unknown"]),
        _party_number(first["from_dn"]).fillna(first_from),
    )
    agent_ans = _party_number(ans["final_dn"]).reindex(c.index)
    # An extension answered; not a trunk DN standing for an outside number the call went to.
    outside_end = (_party_kind(ans["final_no"]) == "external").reindex(c.index).fillna(False).astype(bool)
    agent_ans = agent_ans.where(agent_ans.fillna("").str.fullmatch(r"\d{2,6}") & ~outside_end)
    agent = pd.Series(pd.NA, index=c.index, dtype="string")
    agent = agent.mask(~out & answered, agent_ans)
    agent = agent.mask(out, _party_number(first["from_dn"]).fillna(_party_number(first["from_no"])))
    line = pd.Series(pd.NA, index=c.index, dtype="string")
    # A queue/IVR by its display name; a directly dialled DN by its number.
    named = tk.isin(["queue", "ringgroup", "ivr"])
    line = line.mask(inbound, null_if_empty(first["to_dn"]))
    line = line.mask(inbound & named, null_if_empty(first["to_dispname"]).fillna(null_if_empty(first["to_dn"])))
    return raw_frame(
        len(c),
        call_id=first["callid"],
        start=c["t"],
        direction=direction.astype("string"),
        line=line,
        caller=caller,
        outcome=outcome.astype("string"),
        ivr_s=ivr,
        wait_s=wait,
        talk_s=talk,
        agent=agent,
        source_line=c["source_line"],
        n_rows=c["n_rows"],
    ).sort_values("source_line", kind="stable").reset_index(drop=True)


def read_cdr(source: Source, ctx: ReadContext) -> Iterator[ParsedChunk]:
    """Read 3CX CDR service records (with or without a header line) as raw calls.

    Raises
    ------
    BadInputError
        The file is not laid out like the CDR service's output.
    """
    header, names, delim, layout_note = _cdr_layout(source)
    carry = GroupCarry("key", "t")
    clock = _Clock(ctx.timezone)
    pending = [layout_note] if layout_note else []
    for batch in delimited_batches(source, CDR_VARIABLE_MAP, names=names, header=header, delimiter=delim):
        rows, rejects, unknown = _cdr_rows(batch, source)
        calls = _assemble_cdr(carry.push(rows), clock)
        notes, pending = pending + clock.take_notes(), []
        yield ParsedChunk(calls, batch.rejects + rejects, batch.rows_read, batch.skipped, unknown, batch.notes + notes)
    calls = _assemble_cdr(carry.push(None, final=True), clock)
    yield ParsedChunk(calls, [], 0, notes=pending + clock.take_notes())


FORMATS = [
    Format(
        name=REPORT_NAME,
        title="3CX web client call log / Call Reports (CSV: Call Time, Call ID, From, To, Direction, Status, Ringing, Talking)",
        example="CallReport.csv",
        sniff=sniff_report,
        read=read_report,
        evidence="documentation",
        evidence_note=(
            "layout from 3CX's documentation and public code that reads V20 call logs (column names, "
            "statuses, the Totals line); no real export checked"
        ),
    ),
    Format(
        name=INBOUND_NAME,
        title="3CX V20 Inbound Calls report (CSV: Call Time, Caller ID, Destination, Trunk, Did, Status; one row per leg)",
        example="InboundCalls.csv",
        sniff=sniff_inbound,
        read=read_inbound,
        evidence="real",
        evidence_note="checked against a public sample V20 Inbound Calls report (52 legs, newest first, Totals line)",
    ),
    Format(
        name=CDR_NAME,
        title="3CX CDR service records (historyid, callid, duration, time-start, ...; header optional)",
        example="cdr.log",
        sniff=sniff_cdr,
        read=read_cdr,
        evidence="real",
        evidence_note=(
            "checked against public samples: a headerless v16 CDR file from 2020 (Internal/External "
            "party types, local-time clock) and a later 20-field record without types; the newer "
            "type words (Extension, Queue, IVR) are from documentation"
        ),
    ),
]
