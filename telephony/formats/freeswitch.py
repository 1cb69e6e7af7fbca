"""FreeSWITCH ``mod_cdr_csv``: one line per call leg, no header, values double-quoted.

Reads the two templates shipped in ``cdr_csv.conf.xml``:

``default`` (13 fields)
    caller_id_name, caller_id_number, destination_number, context, start_stamp,
    answer_stamp, end_stamp, duration, billsec, hangup_cause, uuid, bleg_uuid, accountcode
``example`` (15 fields)
    the same, then read_codec, write_codec

and the same files after a spreadsheet re-saved them (quotes gone, dates like
``2020/2/10 22:41``, leading zeros of numbers eaten). Lines with more than 13 fields are read
by position too (a template extended at the end); the extra fields are ignored. The same
variables exported from a CDR database table with a header row are found by column name.

Each A-leg line is one call. ``mod_cdr_csv`` logs A-legs only unless ``legs`` is set to ``ab``
(as in a real ``Master.csv`` found in public): then each bridged call also has a B-leg line,
which the A-leg's ``bleg_uuid`` names. The two are joined into one call (written next to each
other, in either order, and joined across chunks); the B-leg only adds the extension that
answered (its ``destination_number``) as the agent.

==========================================  ===========  ======================================
line                                        outcome      wait_s / talk_s
==========================================  ===========  ======================================
answer_stamp set and billsec > 0            answered     duration − billsec / billsec
otherwise, by hangup_cause                  see Notes    duration / 0
==========================================  ===========  ======================================

``duration − billsec`` is exactly answer − start in whole seconds (FreeSWITCH computes both
from the same epochs) and, unlike the stamps, survives a spreadsheet cutting the seconds off;
``answer_stamp − start_stamp`` is used only where the numbers are missing.

Notes
-----
- Times are the server's wall-clock time (naive): the ingest converts them with ``--timezone``.
- ``hangup_cause`` words are Q.850 cause names plus FreeSWITCH's own (ORIGINATOR_CANCEL,
  ALLOTTED_TIMEOUT...). Outcomes of calls that were not answered are data
  (:data:`HANGUP_CAUSES`): the caller cancelling while it rang (ORIGINATOR_CANCEL) is
  ``abandoned``; the system giving up (NO_ANSWER, NO_USER_RESPONSE, ALLOTTED_TIMEOUT,
  timers, an unregistered or declining phone) is ``missed``; USER_BUSY and congestion are
  ``busy``; routing and network faults are ``failed``. NORMAL_CLEARING without an answer
  (the dialplan hung up, e.g. after an early-media announcement) is ``missed``, as is an answered
  leg with billsec 0. CALL_REJECTED (SIP 603 Decline from a phone, but also a 403 to a
  scanner) is ``missed``: the two cannot be told apart from the CDR.
- A cause not in :data:`HANGUP_CAUSES` is counted; it leaves the outcome ``unknown`` when it
  would have decided it (the call was not answered), and decides nothing otherwise. Never a
  reject.
- A stamp with a year before 1678 or after 2261 (a placeholder ``9999``, a wrong clock), or a
  ``duration``/``billsec`` that is not a number of seconds up to a day (``1e999999``), rejects
  its line with the reason; the rest of the file is read.
- Seen in a real spreadsheet-saved ``Master.csv``: calls originated to an application
  (``destination_number`` ``&``, caller id name ``Outbound Call``), a caller id number ``0``,
  and one line written several times with the same ``uuid`` (joined: one call).
- Direction comes from the dialplan ``context`` (:data:`CONTEXT_DIRECTIONS`): ``public`` is
  where calls from the network land (inbound); in ``default`` (registered phones) a 7+ digit
  destination is outbound, a short one internal. Other contexts are site-specific and are
  judged by the numbers: an external caller means inbound, else an external destination means
  outbound, else internal.
- ``caller`` is the other party: the caller for inbound and internal calls, the destination
  for outbound ones. ``line`` is the number dialled (DDI) of inbound calls. ``agent`` is the
  extension on the practice side when the CSV shows it (caller of an outbound call,
  destination of an answered internal call or of an inbound call dialled straight to an
  extension); the default templates do not name the phone that answered an inbound call.
- Limitation: ``answer_stamp`` is when the A-leg was answered, by a person or by the system.
  Where an IVR, a queue (mod_callcenter, mod_fifo) or voicemail answers first, callers who hung
  up in them look ``answered`` here; such sites need a template with ``bridge_stamp`` or
  ``cc_*`` variables, read through a mapping file.
- ``call_id`` is the leg's ``uuid``.
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
from telephony.formats._numbers import is_extension, is_external, strip_access_code

FORMAT_NAME = "freeswitch_cdr_csv"

DEFAULT_FIELDS = [
    "caller_id_name", "caller_id_number", "destination_number", "context", "start_stamp",
    "answer_stamp", "end_stamp", "duration", "billsec", "hangup_cause", "uuid", "bleg_uuid",
    "accountcode",
]
EXAMPLE_FIELDS = DEFAULT_FIELDS + ["read_codec", "write_codec"]

# mod_cdr_csv writes no header and is read by position (the lists above). The same variables
# exported from a CDR database table (mod_cdr_pg_csv, cdr-pusher, FusionPBX) come with a header
# naming them: vendor column (norm_name form) → template field.
VARIABLE_MAP = {
    "calleridname": "caller_id_name",
    "calleridnumber": "caller_id_number",
    "destinationnumber": "destination_number",
    "context": "context",
    "startstamp": "start_stamp",
    "answerstamp": "answer_stamp",
    "endstamp": "end_stamp",
    "duration": "duration",
    "billsec": "billsec",
    "hangupcause": "hangup_cause",
    "uuid": "uuid",
    "bleguuid": "bleg_uuid",
    "accountcode": "accountcode",
}
# Fields a header must name for the file to be read.
REQUIRED = ["caller_id_number", "destination_number", "context", "start_stamp", "answer_stamp",
            "end_stamp", "duration", "billsec", "hangup_cause", "uuid"]

# hangup_cause → outcome of a call that was NOT answered (answered calls are decided by
# answer_stamp and billsec). Q.850 names as FreeSWITCH spells them, then its own causes.
HANGUP_CAUSES = {
    # The caller gave up while it rang or queued.
    "ORIGINATOR_CANCEL": "abandoned",
    # Rang or waited, ended unanswered by the system or the called side.
    "NO_ANSWER": "missed",
    "NO_USER_RESPONSE": "missed",
    "ALLOTTED_TIMEOUT": "missed",
    "PROGRESS_TIMEOUT": "missed",
    "RECOVERY_ON_TIMER_EXPIRE": "missed",
    "NORMAL_CLEARING": "missed",
    "NORMAL_UNSPECIFIED": "missed",
    "CALL_REJECTED": "missed",
    "SUBSCRIBER_ABSENT": "missed",
    "USER_NOT_REGISTERED": "missed",
    "MANAGER_REQUEST": "missed",
    "CALL_AWARDED_DELIVERED": "missed",
    # Busy or no capacity.
    "USER_BUSY": "busy",
    "NORMAL_CIRCUIT_CONGESTION": "busy",
    "SWITCH_CONGESTION": "busy",
    # Could not be connected: numbering, routing, network or system faults.
    "UNSPECIFIED": "failed",
    "UNALLOCATED_NUMBER": "failed",
    "NO_ROUTE_TRANSIT_NET": "failed",
    "NO_ROUTE_DESTINATION": "failed",
    "CHANNEL_UNACCEPTABLE": "failed",
    "NUMBER_CHANGED": "failed",
    "REDIRECTION_TO_NEW_DESTINATION": "failed",
    "EXCHANGE_ROUTING_ERROR": "failed",
    "DESTINATION_OUT_OF_ORDER": "failed",
    "INVALID_NUMBER_FORMAT": "failed",
    "FACILITY_REJECTED": "failed",
    "RESPONSE_TO_STATUS_ENQUIRY": "failed",
    "NETWORK_OUT_OF_ORDER": "failed",
    "NORMAL_TEMPORARY_FAILURE": "failed",
    "ACCESS_INFO_DISCARDED": "failed",
    "REQUESTED_CHAN_UNAVAIL": "failed",
    "PRE_EMPTED": "failed",
    "FACILITY_NOT_SUBSCRIBED": "failed",
    "OUTGOING_CALL_BARRED": "failed",
    "INCOMING_CALL_BARRED": "failed",
    "BEARERCAPABILITY_NOTAUTH": "failed",
    "BEARERCAPABILITY_NOTAVAIL": "failed",
    "SERVICE_UNAVAILABLE": "failed",
    "BEARERCAPABILITY_NOTIMPL": "failed",
    "CHAN_NOT_IMPLEMENTED": "failed",
    "FACILITY_NOT_IMPLEMENTED": "failed",
    "SERVICE_NOT_IMPLEMENTED": "failed",
    "INVALID_CALL_REFERENCE": "failed",
    "INCOMPATIBLE_DESTINATION": "failed",
    "INVALID_MSG_UNSPECIFIED": "failed",
    "MANDATORY_IE_MISSING": "failed",
    "MESSAGE_TYPE_NONEXIST": "failed",
    "WRONG_MESSAGE": "failed",
    "IE_NONEXIST": "failed",
    "INVALID_IE_CONTENTS": "failed",
    "WRONG_CALL_STATE": "failed",
    "MANDATORY_IE_LENGTH_ERROR": "failed",
    "PROTOCOL_ERROR": "failed",
    "INTERWORKING": "failed",
    "CRASH": "failed",
    "SYSTEM_SHUTDOWN": "failed",
    "MEDIA_TIMEOUT": "failed",
    "GATEWAY_DOWN": "failed",
    "INVALID_GATEWAY": "failed",
    "INVALID_PROFILE": "failed",
    "USER_CHALLENGE": "failed",
}

# Dialplan context → direction; None = decide from the numbers (see module Notes).
CONTEXT_DIRECTIONS: dict[str, str | None] = {
    "public": "inbound",
    "default": None,
}

_DATE = re.compile(
    r"^(\d{4}[-/]\d{1,2}[-/]\d{1,2}|\d{1,2}/\d{1,2}/\d{2,4})[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$"
)
_INT = re.compile(r"^\d+$")
_CAUSE = re.compile(r"^[A-Z][A-Z_]+$")

# Legs of one call (legs="ab") are joined while their starts are within this of the newest.
CARRY_HORIZON = pd.Timedelta(hours=6)
# Bytes per read block (a module setting so tests can force many small chunks).
BLOCK_BYTES = 16 * 1024 * 1024



# Share of the first lines that must look like CDR lines for sniff to be sure (a damaged file
# still has mostly good lines; the value checks are specific enough not to fit other formats).
SURE_SHARE = 0.6

_POSITIONS = {name: i for i, name in enumerate(EXAMPLE_FIELDS)}


def _row_fits(row: list[str], pos: dict[str, int] = _POSITIONS) -> bool:
    """Whether one split line looks like a CDR line (fields found at ``pos``)."""
    if len(row) <= max(pos[n] for n in REQUIRED):
        return False

    def v(name: str) -> str:
        return row[pos[name]].strip()

    return (
        bool(_DATE.match(v("start_stamp")))
        and (v("answer_stamp") == "" or bool(_DATE.match(v("answer_stamp"))))
        and bool(_DATE.match(v("end_stamp")))
        and bool(_INT.match(v("duration")))
        and bool(_INT.match(v("billsec")))
        and bool(_CAUSE.match(v("hangup_cause")))
        and v("context") != ""
    )


def _header_positions(row: list[str]) -> dict[str, int] | None:
    """Template field → position when ``row`` is a header naming the required fields."""
    pos: dict[str, int] = {}
    for i, name in enumerate(row):
        canon = VARIABLE_MAP.get(norm_name(name))
        if canon and canon not in pos:
            pos[canon] = i
    return pos if all(n in pos for n in REQUIRED) else None


def _layout(source: Source) -> tuple[float, list[str] | None, bool]:
    """(score, field names or None when there is a header, has header) from the first lines."""
    rows = [r for r in head_fields(source, 50) if r]
    if not rows:
        return 0.0, None, False
    pos = _header_positions(rows[0])
    if pos is not None:
        body = rows[1:]
        if not body:
            return 0.6, None, True
        share = sum(_row_fits(r, pos) for r in body) / len(body)
        return (1.0 if share >= SURE_SHARE else 0.6), None, True
    fits = [r for r in rows if _row_fits(r)]
    share = len(fits) / len(rows)
    if share < 0.3:
        return 0.0, None, False
    width = Counter(len(r) for r in fits).most_common(1)[0][0]
    if width <= len(EXAMPLE_FIELDS):
        names = EXAMPLE_FIELDS[:width]
    else:
        names = EXAMPLE_FIELDS + [f"extra{i}" for i in range(len(EXAMPLE_FIELDS) + 1, width + 1)]
    if share < SURE_SHARE:
        return 0.5, names, False
    # The two shipped templates are certain; a longer line (extended template) came close.
    return (1.0 if width in (len(DEFAULT_FIELDS), len(EXAMPLE_FIELDS)) else 0.7), names, False


def sniff(source: Source) -> float:
    """1.0 when the first lines are default- or example-template CDR lines (or a database export
    of the same variables with a header); 0.7 for a template extended at the end; 0.5 when only
    some lines fit; else 0."""
    return _layout(source)[0]


def _direction(f: pd.DataFrame) -> np.ndarray:
    """inbound / outbound / internal from the context, falling back on number lengths."""
    context = f["context"].str.lower()
    by_context = context.map({k.lower(): v for k, v in CONTEXT_DIRECTIONS.items()})
    from_phone = context.isin([k.lower() for k, v in CONTEXT_DIRECTIONS.items() if v is None]).to_numpy()
    caller_ext = is_external(f["caller_id_number"]).to_numpy()
    dest_ext = is_external(f["destination_number"]).to_numpy()
    guessed = np.select(
        [from_phone & dest_ext, from_phone, caller_ext, dest_ext],
        ["outbound", "internal", "inbound", "outbound"],
        default="internal",
    )
    known = by_context.notna().to_numpy()
    return np.where(known, by_context.fillna("").to_numpy(dtype=object), guessed)


def _times(f: pd.DataFrame, name: str, ctx: ReadContext) -> tuple[pd.Series, np.ndarray]:
    """A stamp column parsed, with the rows whose year pandas cannot hold (blanked first)."""
    oor = years_out_of_range(f[name])
    return parse_datetimes(f[name].where(~oor, ""), dayfirst=ctx.dayfirst), oor


def _legs(chunk: Chunk, ctx: ReadContext) -> tuple[pd.DataFrame, list, Counter]:
    """One chunk's lines as call legs with their call's fields; rejects; unknown causes."""
    f = chunk.frame
    for c in f.columns:
        f[c] = f[c].fillna("").str.strip()
    if "bleg_uuid" not in f.columns:
        f["bleg_uuid"] = ""
    lines = chunk.lines
    start, start_oor = _times(f, "start_stamp", ctx)
    answer, answer_oor = _times(f, "answer_stamp", ctx)
    end, end_oor = _times(f, "end_stamp", ctx)
    duration = parse_durations(f["duration"])
    billsec = parse_durations(f["billsec"])
    # A counter that is not a number of seconds up to a day (1e999999) is corrupt, not a call.
    bad_counter = ((f["duration"] != "") & ~plausible_seconds(duration)) | (
        (f["billsec"] != "") & ~plausible_seconds(billsec)
    )
    duration = duration.where(~bad_counter)
    billsec = billsec.where(~bad_counter)
    cause = f["hangup_cause"].str.upper()

    answered = (answer.notna() & (billsec > 0)).to_numpy()
    mapped, unknown = map_words(cause, HANGUP_CAUSES)
    # A cause this table does not know leaves an unanswered call's outcome unknown (counted).
    outcome = np.where(answered, "answered", mapped.fillna("unknown").to_numpy(dtype=object))

    reason = pd.Series(pd.NA, index=f.index, dtype="string")
    bc = bad_counter.to_numpy()
    reason[bc] = "duration or billsec unreadable ('" + f["duration"][bc].str[:20] + "', '" + f["billsec"][bc].str[:20] + "'): " + BAD_DURATION
    for oor, name in ((end_oor, "end_stamp"), (answer_oor, "answer_stamp"), (start_oor, "start_stamp")):
        reason[oor] = name + " out of range ('" + f[name][oor] + "'): " + OUT_OF_RANGE
    reason[start.isna().to_numpy() & ~start_oor] = "start_stamp missing or unreadable"
    bad = reason.notna().to_numpy()
    rejects = list(chunk.rejects) + rejects_from(f, lines, bad, reason)

    unknown_words = Counter(
        {str(k) if k else "(empty)": int(v) for k, v in cause[unknown.to_numpy() & ~bad].value_counts().items()}
    )

    # Whole seconds from the CDR's own counters; stamps only where a counter is missing.
    stamp_wait = (answer.where(answer.notna(), end) - start).dt.total_seconds()
    wait = (duration - billsec.where(answered, 0.0)).where(duration.notna(), stamp_wait)
    talk = np.where(answered, billsec.to_numpy(dtype=float), 0.0)

    direction = _direction(f)
    inbound = direction == "inbound"
    outbound = direction == "outbound"
    internal = direction == "internal"
    caller = f["caller_id_number"].where(~outbound, strip_access_code(f["destination_number"]))
    dest_is_ext = is_extension(f["destination_number"]).to_numpy()
    agent = pd.Series(pd.NA, index=f.index, dtype="string")
    agent[outbound] = f.loc[outbound, "caller_id_number"]
    on_answer = answered & dest_is_ext & (internal | inbound)
    agent[on_answer] = f.loc[on_answer, "destination_number"]
    line = f["destination_number"].where(inbound, pd.NA)

    # With legs="ab" the B-leg (the phone that rang) has a line of its own, named by the
    # A-leg's bleg_uuid: both are one call, keyed by the B-leg's uuid.
    key = f["bleg_uuid"].where(f["bleg_uuid"] != "", f["uuid"])
    key = key.where(key != "", "\x00line" + pd.Series(lines, index=f.index).astype(str))
    keep = ~bad
    legs = pd.DataFrame(
        {
            "key": key,
            "is_a": f["bleg_uuid"] != "",
            "call_id": f["uuid"].where(f["uuid"] != "", pd.NA),
            "start": start,
            "direction": direction,
            "line": line,
            "caller": caller,
            "outcome": outcome,
            "wait": wait,
            "talk": talk,
            "agent": agent,
            # The extension that answered, as a B-leg shows it.
            "answered_ext": f["destination_number"].where(answered & dest_is_ext, pd.NA),
            "source_line": lines,
        },
        index=f.index,
    ).loc[keep]
    return legs.reset_index(drop=True), rejects, unknown_words


def _assemble(legs: pd.DataFrame) -> pd.DataFrame:
    """One raw call per key: the A-leg's line, named agent from a B-leg when it has none."""
    if legs is None or legs.empty:
        return raw_frame(0)
    legs = legs.sort_values(["key", "is_a", "source_line"], ascending=[True, False, True], kind="stable")
    g = legs.groupby("key", sort=False)
    c = legs.drop_duplicates("key", keep="first").set_index("key")
    b_agent = legs[~legs["is_a"]].groupby("key", sort=False)["answered_ext"].first()
    agent = c["agent"].fillna(b_agent.reindex(c.index).where(c["is_a"]))
    return raw_frame(
        len(c),
        call_id=c["call_id"],
        start=c["start"],
        direction=c["direction"],
        line=c["line"],
        caller=c["caller"],
        outcome=c["outcome"],
        wait_s=c["wait"],
        talk_s=c["talk"],
        agent=agent,
        source_line=g["source_line"].min(),
        n_rows=g.size(),
    ).sort_values("source_line", kind="stable").reset_index(drop=True)


def read(source: Source, ctx: ReadContext) -> Iterator[ParsedChunk]:
    """Read a ``mod_cdr_csv`` file as raw calls, one per A-leg, in bounded chunks.

    Raises
    ------
    BadInputError
        When the first lines are not CDR lines of the default or example template.
    """
    score, names, header = _layout(source)
    if score < 0.5:
        raise BadInputError(
            f"{source.name}: not a FreeSWITCH cdr_csv export: expected lines of 13 (default "
            "template) or 15 (example template) fields: caller_id_name, caller_id_number, "
            "destination_number, context, start_stamp, answer_stamp, end_stamp, duration, "
            "billsec, hangup_cause, uuid... Check the export, or give `fmt` or `mapping`."
        )
    # A B-leg and its A-leg are written when each ends, next to each other; a call is held
    # until no leg of it can still come.
    carry = GroupCarry("key", "start", CARRY_HORIZON)
    memo: dict = {}
    for chunk in read_delimited(source, names, header=header, block_bytes=BLOCK_BYTES):
        notes: list[str] = []  # which column was taken where two could be one field
        if header:
            chunk.frame = rename_columns(chunk.frame, VARIABLE_MAP, notes, memo=memo)
            require_columns(chunk.frame, REQUIRED, source, FORMAT_NAME)
        legs, rejects, unknown = _legs(chunk, ctx)
        calls = _assemble(carry.push(legs if len(legs) else None))
        yield ParsedChunk(calls, rejects, chunk.rows_read, chunk.skipped(), unknown, notes)
    yield ParsedChunk(_assemble(carry.push(None, final=True)), [], 0)


FORMATS = [
    Format(
        name=FORMAT_NAME,
        title="FreeSWITCH mod_cdr_csv (default or example template, no header)",
        example="Master.csv",
        sniff=sniff,
        read=read,
        evidence="real",
        evidence_note=(
            "public Master.csv files of real servers: example template quoted, with legs a and ab, "
            "and a spreadsheet re-save of originated calls"
        ),
    )
]
