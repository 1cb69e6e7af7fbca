"""3CX: the web client's "Call Reports" CSV and the CDR service's records.

Two formats:

``threecx_report``
    The call report downloaded from the 3CX web client (layout unverified)::

        Call Time,Call ID,From,To,Direction,Status,Ringing,Talking,Cost,Call Activity Details
        05/01/2026 08:00:12,00000191A2B3C4D5_17,Jo Bloggs (07700900101),Reception (800),Inbound Queue,Answered,00:00:45,00:04:00,0.00,...

    One row per call (rows sharing a Call ID, as a transferred call may give, are joined).
    Times are wall-clock local time, day-first (UK) or ISO.

``threecx_cdr``
    The CDR service's comma-separated records (a file written by the 3CX CDR output, with or
    without a header line; without one the fields are in the order of :data:`CDR_FIELDS`). One
    call may have several records (transfers, queue polling): records sharing ``callid`` are
    one call.

Outcomes
--------
Report ``Status`` words map through :data:`STATUS_OUTCOMES`. CDR outcomes are decided from the
record fields:

=====================================================  ==============================
CDR records of the call                                outcome
=====================================================  ==============================
a record answered (``time-answered`` set) by an        answered
Extension (or the external Line of an outbound call)
``final-type`` VoiceMail                               voicemail
otherwise: where the call ended (``final-type``, else  :data:`UNANSWERED_OUTCOMES`,
``to-type``) and who ended it (``reason-terminated``)  e.g. Queue + caller = abandoned,
                                                       IVR + caller = ivr_abandoned
=====================================================  ==============================

Notes
-----
- The Call Reports layout, its Status words and the "Answered by" text in Call Activity
  Details are unverified (inferred, not read in 3CX's documentation): unknown Status or
  Direction words are reported, not guessed. ``Waiting``/``Ringing``/``Talking`` statuses are
  calls still in progress when the report was run: rejected, re-export later.
- From/To are written ``Name (number)``, ``number`` or ``Name (ext)``: the number or
  extension is taken from the parenthesis. For inbound calls the caller is From; for outbound
  calls the other party (To) is stored as the caller, as for every Frontdoor format.
- Report ``Ringing`` is taken as the wait (ringing and queueing until answer or hang-up),
  except for ``closed`` and ``ivr_abandoned`` calls, which never queued: their wait is null.
- Status words for calls that never reached a person are unverified guesses at 3CX's
  wording: no 3CX document or report seen lists Status values other than answered/unanswered
  ones. They are built from the names 3CX gives the features (documented): the "Outside
  Office Hours" route of an inbound rule (``Out of Office Hours``, ``Outside Office Hours`` ->
  ``closed``), a queue's call-back option (``Callback Requested`` -> ``callback``) and the IVR,
  called "Digital Receptionist" before V20 (``Abandoned in IVR``, ``Abandoned in Digital
  Receptionist`` -> ``ivr_abandoned``). A report that writes ``Unanswered`` for such calls
  gives ``missed`` instead: check a real download (To column, Call Activity Details) before
  reading closed or IVR figures from 3CX.
- A report row with no Call Time and a "Total" cell is the report's totals line: skipped.
- CDR times are UTC (unverified; 3CX stores call history in UTC): ``start`` is tz-aware UTC,
  so ``--timezone`` does not apply. A value with an explicit offset is converted.
- CDR ``wait_s`` is from the call's first ``time-start`` to the first answer by a person (so it
  includes IVR time before the queue); for unanswered calls that were queued or rang, to the
  end. It is null for calls that ended in the IVR, failed or were busy.
- An unanswered call ended by the system while in an IVR (no queue, no ringing) is taken as
  ``closed``: in a GP set-up that is the out-of-hours message. Change
  :data:`UNANSWERED_OUTCOMES` if a site's IVR hangs up for other reasons.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from typing import Iterator

import numpy as np
import pandas as pd

from ..errors import BadInputError
from ..privacy import mask_digits
from ..sources import Reject, Source, norm_name
from ..timeutil import parse_datetimes, parse_durations
from ._base import Format, GroupCarry, ParsedChunk, ReadContext, map_words, raw_frame, rejects_from, require_columns
from ._records import column, delimited_batches, find_header, head_table, null_if_empty, parse_utc

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
# Status words of a call still in progress when the report was run.
UNFINISHED_STATUS: frozenset[str] = frozenset({"waiting", "ringing", "talking", "in progress", "active"})

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
    for r in head.rows or []:
        if head.complete(r):
            st, dr = head.value(r, "status").lower(), head.value(r, "direction").lower()
            if (st in STATUS_OUTCOMES or st in UNFINISHED_STATUS) and dr in REPORT_DIRECTIONS:
                # The header's Ringing/Talking and one row in 3CX's words: sure.
                return 1.0
    return 0.6


def _report_rows(batch, ctx: ReadContext, source: Source) -> tuple[pd.DataFrame, list[Reject], Counter, Counter]:
    """Row-level parsing of one batch: rows ready for grouping, rejects, skipped, unknown."""
    f = batch.frame
    require_columns(f, REPORT_REQUIRED, source, REPORT_NAME)
    skipped: Counter = Counter()
    unknown: Counter = Counter()
    n = len(f)
    time_txt = column(f, "time")
    # The report's totals line: no time, a "Total" cell.
    has_total = np.zeros(n, dtype=bool)
    for c in batch.original.columns:
        cell = batch.original[c].astype("string").fillna("").str.strip().str.lower()
        has_total |= cell.str.startswith("total").to_numpy(dtype=bool)
    totals = (time_txt == "").to_numpy(dtype=bool) & has_total
    if totals.any():
        skipped["totals row"] += int(totals.sum())
    t = parse_datetimes(time_txt, dayfirst=ctx.dayfirst)
    status = column(f, "status")
    outcome, unk_status = map_words(status, STATUS_OUTCOMES)
    unfinished = status.str.lower().isin(UNFINISHED_STATUS)
    direction_word = column(f, "direction").str.lower()
    dmap = {k: v[0] for k, v in REPORT_DIRECTIONS.items()}
    direction = direction_word.map(dmap).astype("string")
    via_queue = direction_word.isin([k for k, v in REPORT_DIRECTIONS.items() if v[1]]).to_numpy(dtype=bool)

    reason = pd.Series("", index=f.index, dtype="object")
    bad_t = t.isna().to_numpy() & ~totals
    reason[bad_t] = [
        f"call time missing or unreadable ({v!r}); expected DD/MM/YYYY HH:MM:SS or YYYY-MM-DD HH:MM:SS"
        for v in time_txt[bad_t]
    ]
    bad_st = (unk_status & ~unfinished).to_numpy() & ~totals & (reason == "").to_numpy()
    for w in status[bad_st]:
        unknown[mask_digits(f"status {w!r}")] += 1
    reason[bad_st] = [
        f"unknown status {w!r}; known: {', '.join(sorted(STATUS_OUTCOMES))}. "
        "Add it to threecx.STATUS_OUTCOMES or use a mapping file"
        for w in status[bad_st]
    ]
    unf = unfinished.to_numpy() & ~totals & (reason == "").to_numpy()
    reason[unf] = [f"call still in progress (status {w!r}) when the report was run; export again later" for w in status[unf]]
    bad_dir = direction.isna().to_numpy() & ~totals & (reason == "").to_numpy()
    for w in column(f, "direction")[bad_dir]:
        unknown[mask_digits(f"direction {w!r}")] += 1
    reason[bad_dir] = [
        f"unknown direction {w!r}; known: {', '.join(sorted(REPORT_DIRECTIONS))}. "
        "Add it to threecx.REPORT_DIRECTIONS or use a mapping file"
        for w in column(f, "direction")[bad_dir]
    ]
    bad = (reason != "").to_numpy()
    rejects = rejects_from(batch.original, batch.lines, bad, reason)

    keep = ~bad & ~totals
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
            "ringing": parse_durations(column(f, "ringing")),
            "talking": parse_durations(column(f, "talking")),
            "from_num": from_num,
            "to_num": to_num,
            "to_name": to_name,
            "answered_by": answered_by,
        }
    ).loc[keep]
    return rows.reset_index(drop=True), rejects, skipped, unknown


def _assemble_report(rows: pd.DataFrame) -> pd.DataFrame:
    """One raw call per Call ID (or per row where the report gives none)."""
    if rows is None or rows.empty or "key" not in rows.columns:
        return raw_frame(0)
    rows = rows.sort_values(["key", "t", "source_line"], kind="stable").reset_index(drop=True)
    g = rows.groupby("key", sort=False)
    rows["pos"] = g.cumcount()
    first = rows.drop_duplicates("key", keep="first").set_index("key")
    last = rows.drop_duplicates("key", keep="last").set_index("key")
    ans = rows[rows["outcome"] == "answered"].drop_duplicates("key", keep="first").set_index("key")
    c = first[["callid", "t", "direction", "via_queue", "from_num", "to_num", "to_name"]].copy()
    c["n_rows"] = g.size()
    c["source_line"] = g["source_line"].min()
    c["answered"] = c.index.isin(ans.index)
    c["outcome"] = last["outcome"].where(~c["answered"], "answered")
    # Ringing of the rows up to the answering one (all rows when unanswered).
    cut = rows["key"].map(ans["pos"]).fillna(np.inf)
    ring_rows = rows[rows["pos"] <= cut]
    c["wait_s"] = ring_rows.groupby("key", sort=False)["ringing"].sum(min_count=1)
    c["talk_s"] = np.where(c["answered"], g["talking"].sum(min_count=1).reindex(c.index).fillna(0.0), 0.0)
    # Calls that ended before any queue (the closed message, a hang-up in the IVR) never waited.
    c["wait_s"] = c["wait_s"].where(~c["outcome"].isin(["closed", "ivr_abandoned"]))
    ans_to = ans["to_num"].reindex(c.index)
    ans_by = ans["answered_by"].reindex(c.index)

    inbound = c["direction"] == "inbound"
    outbound = c["direction"] == "outbound"
    caller = c["from_num"].where(~outbound, c["to_num"])
    # The answering extension: named in the details, or the To of a call that rang it directly.
    agent_in = ans_by.fillna(ans_to.where(~c["via_queue"]))
    agent = pd.Series(pd.NA, index=c.index, dtype="string")
    agent = agent.mask(inbound & c["answered"], agent_in)
    agent = agent.mask(outbound, c["from_num"])
    agent = agent.mask((c["direction"] == "internal") & c["answered"], ans_to)
    line = pd.Series(pd.NA, index=c.index, dtype="string")
    line = line.mask(inbound & c["via_queue"], c["to_name"].fillna(c["to_num"]))
    line = line.mask(inbound & ~c["via_queue"], c["to_num"])
    return raw_frame(
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


def read_report(source: Source, ctx: ReadContext) -> Iterator[ParsedChunk]:
    """Read a 3CX Call Reports CSV/XLSX as raw calls, in bounded chunks.

    Raises
    ------
    BadInputError
        The file has no 3CX call report header.
    """
    found = find_header(source, REPORT_VARIABLE_MAP, {"time", "status"})
    if found is None:
        raise BadInputError(
            f"{source.name}: not a {REPORT_NAME} export: no header with Call Time, From, To, "
            "Direction, Status, Ringing, Talking found in the first lines"
        )
    skip, delim, _ = found
    carry = GroupCarry("key", "t")
    for batch in delimited_batches(source, REPORT_VARIABLE_MAP, delimiter=delim, skip_lines=skip):
        rows, rejects, skipped, unknown = _report_rows(batch, ctx, source)
        skipped.update(batch.skipped)
        calls = _assemble_report(carry.push(rows))
        yield ParsedChunk(calls, batch.rejects + rejects, batch.rows_read, skipped, unknown)
    yield ParsedChunk(_assemble_report(carry.push(None, final=True)), [], 0)


# ============================================================================ CDR service

CDR_NAME = "threecx_cdr"

# The CDR service's fields, in the order written when there is no header line.
CDR_FIELDS: list[str] = [
    "historyid", "callid", "duration", "time-start", "time-answered", "time-end",
    "reason-terminated", "from-no", "to-no", "from-dn", "to-dn", "dial-no", "reason-changed",
    "final-number", "final-dn", "bill-code", "bill-rate", "bill-cost", "bill-name", "chain",
    "from-type", "to-type", "final-type", "from-dispname", "to-dispname", "final-dispname",
    "missed-queue-calls",
]
# Vendor column (norm_name form) -> canonical column: the CDR's own names, normalised.
CDR_VARIABLE_MAP: dict[str, str] = {norm_name(f): norm_name(f) for f in CDR_FIELDS}
CDR_VARIABLE_MAP.update({"timestarted": "timestart", "timeended": "timeend", "starttime": "timestart"})
CDR_REQUIRED = ["callid", "timestart", "timeanswered", "timeend", "reasonterminated", "fromtype", "totype"]

# DN type word -> kind of place the call was.
DN_TYPES: dict[str, str] = {
    "line": "external",
    "external": "external",
    "externalline": "external",
    "trunk": "external",
    "extension": "extension",
    "queue": "queue",
    "ringgroup": "ringgroup",
    "ringgroupringall": "ringgroup",
    "ringgrouphunt": "ringgroup",
    "ivr": "ivr",
    "digitalreceptionist": "ivr",
    "voicemail": "voicemail",
    "fax": "extension",
}
# reason-terminated word -> who ended the call.
REASON_TERMINATED: dict[str, str] = {
    "terminatedbysrc": "caller",
    "terminatedbydst": "callee",
    "terminatedbyrule": "system",
    "failed": "failed",
    "failedcancelled": "caller",
    "cancelled": "caller",
    "busy": "busy",
    "noanswer": "system",
}
# (where the unanswered call was at the end, who ended it) -> outcome.
UNANSWERED_OUTCOMES: dict[tuple[str, str], str] = {
    ("queue", "caller"): "abandoned",
    ("ringgroup", "caller"): "abandoned",
    ("extension", "caller"): "abandoned",
    ("ivr", "caller"): "ivr_abandoned",
    ("external", "caller"): "missed",
    ("queue", "callee"): "missed",
    ("queue", "system"): "missed",
    ("ringgroup", "callee"): "missed",
    ("ringgroup", "system"): "missed",
    ("extension", "callee"): "missed",
    ("extension", "system"): "missed",
    ("external", "callee"): "missed",
    ("external", "system"): "missed",
    ("ivr", "callee"): "closed",
    ("ivr", "system"): "closed",
}
# Whatever the place: failures and busy are what they say.
BY_ENDER: dict[str, str] = {"failed": "failed", "busy": "busy"}
_QUEUED = ("queue", "ringgroup", "extension")

_REASON_RE = re.compile(r"^(TerminatedBy\w+|Failed\w*|Cancelled|Busy|NoAnswer)$", re.IGNORECASE)
_TIME_RE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}[ T]\d{1,2}:\d{2}")


def _cdr_layout(source: Source) -> tuple[bool, list[str] | None, str]:
    """Whether the file has a header, the names to use when not, and the delimiter."""
    lines = source.head_lines(2)
    if not lines:
        raise BadInputError(f"{source.name}: the file is empty")
    delim = max([",", ";", "\t"], key=lines[0].count)
    first = next(csv.reader([lines[0]], delimiter=delim))
    names = {norm_name(x) for x in first}
    if "historyid" in names or len(names & set(CDR_VARIABLE_MAP)) >= 5:
        return True, None, delim
    n = len(first)
    if n < CDR_FIELDS.index("final-type") + 1:
        raise BadInputError(
            f"{source.name}: not a {CDR_NAME} export: {n} fields per row and no header; the CDR "
            f"service writes {len(CDR_FIELDS)} ({', '.join(CDR_FIELDS[:6])}, ...)"
        )
    names_ = CDR_FIELDS[:n] + [f"extra{i}" for i in range(1, n - len(CDR_FIELDS) + 1)]
    return False, names_, delim


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
    names = [norm_name(x) for x in parsed[0]]
    if "historyid" in names and {"timestart", "reasonterminated", "fromtype"} <= set(names):
        return 1.0
    if {"timestart", "timeanswered", "reasonterminated"} <= set(names):
        return 0.8
    # Without a header: check values at the CDR's positions.
    ri, fi, ti = CDR_FIELDS.index("reason-terminated"), CDR_FIELDS.index("from-type"), CDR_FIELDS.index("to-type")
    good = typed = 0
    for r in parsed:
        if len(r) <= ti:
            continue
        if _TIME_RE.search(r[3]) and _REASON_RE.match(r[ri].strip()):
            good += 1
            typed += norm_name(r[fi]) in DN_TYPES and norm_name(r[ti]) in DN_TYPES
    if good and good >= 0.8 * len(parsed):
        return 1.0 if typed >= 0.8 * good else 0.6
    return 0.5 if good else 0.0


def _cdr_rows(batch, source: Source) -> tuple[pd.DataFrame, list[Reject], Counter]:
    f = batch.frame
    require_columns(f, CDR_REQUIRED, source, CDR_NAME)
    unknown: Counter = Counter()
    t_start = parse_utc(column(f, "timestart"))
    t_ans = parse_utc(column(f, "timeanswered"))
    t_end = parse_utc(column(f, "timeend"))
    kinds = {}
    unk_kind = pd.Series(False, index=f.index)
    for c, label in (("fromtype", "from-type"), ("totype", "to-type"), ("finaltype", "final-type")):
        w = column(f, c).str.replace(r"[^0-9A-Za-z]", "", regex=True)
        k, u = map_words(w, DN_TYPES)
        u = u & (w != "")
        for word in column(f, c)[u]:
            unknown[mask_digits(f"{label} {word!r}")] += 1
        kinds[c] = k
        unk_kind |= u
    rt_word = column(f, "reasonterminated")
    ender, unk_rt = map_words(rt_word, REASON_TERMINATED)
    unk_rt = unk_rt & (rt_word != "")
    for word in rt_word[unk_rt]:
        unknown[mask_digits(f"reason-terminated {word!r}")] += 1
    # An unknown reason matters only when nobody answered (then it decides the outcome).
    unk_rt = unk_rt & t_ans.isna()

    reason = pd.Series("", index=f.index, dtype="object")
    bad_t = t_start.isna().to_numpy()
    reason[bad_t] = "time-start missing or unreadable; expected YYYY-MM-DD HH:MM:SS (UTC)"
    ok = reason == ""
    m = (unk_kind & ok).to_numpy()
    reason[m] = [
        f"unknown DN type in from-type/to-type/final-type ({a!r}/{b!r}/{c!r}); known: "
        f"{', '.join(sorted(DN_TYPES))}. Add it to threecx.DN_TYPES"
        for a, b, c in zip(column(f, "fromtype")[m], column(f, "totype")[m], column(f, "finaltype")[m])
    ]
    ok = reason == ""
    m = (unk_rt & ok).to_numpy()
    reason[m] = [
        f"unknown reason-terminated {w!r}; known: {', '.join(sorted(REASON_TERMINATED))}. "
        "Add it to threecx.REASON_TERMINATED"
        for w in rt_word[m]
    ]
    bad = (reason != "").to_numpy()
    rejects = rejects_from(batch.original, batch.lines, bad, reason)

    callid = column(f, "callid")
    historyid = column(f, "historyid")
    lines = pd.Series(batch.lines, index=f.index)
    key = callid.where(callid != "", historyid.where(historyid != "", "\x00line" + lines.astype(str)))
    final_kind = kinds["finaltype"].fillna(kinds["totype"])
    rows = pd.DataFrame(
        {
            "key": key,
            "callid": key.where(~key.str.startswith("\x00"), pd.NA),
            "t": t_start,
            "t_ans": t_ans,
            "t_end": t_end,
            "source_line": lines,
            "from_kind": kinds["fromtype"],
            "to_kind": kinds["totype"],
            "final_kind": final_kind,
            "ender": ender,
            "duration": parse_durations(column(f, "duration")),
            "from_no": column(f, "fromno"),
            "to_no": column(f, "tono"),
            "dial_no": column(f, "dialno"),
            "from_dn": column(f, "fromdn"),
            "to_dn": column(f, "todn"),
            "final_dn": column(f, "finaldn"),
            "to_dispname": column(f, "todispname"),
        }
    ).loc[~bad]
    return rows.reset_index(drop=True), rejects, unknown


def _assemble_cdr(rows: pd.DataFrame) -> pd.DataFrame:
    """One raw call per callid from its CDR records."""
    if rows is None or rows.empty or "key" not in rows.columns:
        return raw_frame(0)
    rows = rows.sort_values(["key", "t", "source_line"], kind="stable").reset_index(drop=True)
    g = rows.groupby("key", sort=False)
    first = rows.drop_duplicates("key", keep="first").set_index("key")
    direction = pd.Series("internal", index=first.index, dtype="string")
    outbound = (first["to_kind"] == "external") | (first["final_kind"] == "external")
    direction = direction.mask(outbound.fillna(False), "outbound")
    direction = direction.mask((first["from_kind"] == "external").fillna(False), "inbound")
    rows["direction"] = rows["key"].map(direction)
    # Answered by a person: an extension, or an outside number (the far end of an outbound
    # call, or a mobile an inbound call was forwarded to). Queues, IVRs and voicemail also
    # "answer" in the PBX's sense, but nobody spoke to the caller.
    person = rows["final_kind"].isin(["extension", "external"])
    rows["person_ans"] = rows["t_ans"].notna() & person.fillna(False)
    talk_rec = (rows["t_end"] - rows["t_ans"]).dt.total_seconds()
    rows["talk"] = talk_rec.fillna(rows["duration"]).where(rows["person_ans"], 0.0)
    ans = rows[rows["person_ans"]].drop_duplicates("key", keep="first").set_index("key")
    vm = rows[rows["final_kind"].eq("voicemail").fillna(False)].drop_duplicates("key", keep="first").set_index("key")
    last = rows.sort_values(["key", "t_end", "source_line"], kind="stable").drop_duplicates("key", keep="last").set_index("key")

    c = pd.DataFrame(index=first.index)
    c["t"] = g["t"].min()
    c["source_line"] = g["source_line"].min()
    c["n_rows"] = g.size()
    c["direction"] = direction
    answered = c.index.isin(ans.index)
    voicemail = ~answered & c.index.isin(vm.index)
    where = last["final_kind"].reindex(c.index).fillna("")
    who = last["ender"].reindex(c.index).fillna("")
    unans = pd.Series(
        [BY_ENDER.get(w) or UNANSWERED_OUTCOMES.get((p, w), "missed") for p, w in zip(where, who)],
        index=c.index,
        dtype="string",
    )
    outcome = unans.mask(voicemail, "voicemail").mask(answered, "answered")
    t_last_end = g["t_end"].max()
    wait = pd.Series(np.nan, index=c.index)
    wait = wait.mask(answered, (ans["t_ans"].reindex(c.index) - c["t"]).dt.total_seconds())
    rang = ~answered & ~voicemail & where.isin(_QUEUED) & ~who.isin(list(BY_ENDER))
    wait = wait.mask(rang, (t_last_end - c["t"]).dt.total_seconds())
    wait = wait.mask(voicemail, (vm["t_ans"].reindex(c.index) - c["t"]).dt.total_seconds())
    talk = g["talk"].sum().where(answered, 0.0)

    inbound = direction == "inbound"
    out = direction == "outbound"
    caller = null_if_empty(first["from_no"]).fillna(null_if_empty(first["from_dn"]))
    caller = caller.mask(out, null_if_empty(first["to_no"]).fillna(null_if_empty(first["dial_no"])))
    caller = caller.mask(direction == "internal", null_if_empty(first["from_dn"]).fillna(null_if_empty(first["from_no"])))
    agent_ans = null_if_empty(ans["final_dn"]).reindex(c.index)
    agent = pd.Series(pd.NA, index=c.index, dtype="string")
    agent = agent.mask(~out & answered, agent_ans)
    agent = agent.mask(out, null_if_empty(first["from_dn"]))
    line = pd.Series(pd.NA, index=c.index, dtype="string")
    # A queue/IVR by its display name; a directly dialled extension by its number.
    named = first["to_kind"].isin(["queue", "ringgroup", "ivr"])
    line = line.mask(inbound, null_if_empty(first["to_dn"]))
    line = line.mask(inbound & named, null_if_empty(first["to_dispname"]).fillna(null_if_empty(first["to_dn"])))
    return raw_frame(
        len(c),
        call_id=first["callid"],
        start=c["t"],
        direction=c["direction"],
        line=line,
        caller=caller,
        outcome=outcome,
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
    header, names, delim = _cdr_layout(source)
    carry = GroupCarry("key", "t")
    for batch in delimited_batches(source, CDR_VARIABLE_MAP, names=names, header=header, delimiter=delim):
        rows, rejects, unknown = _cdr_rows(batch, source)
        calls = _assemble_cdr(carry.push(rows))
        yield ParsedChunk(calls, batch.rejects + rejects, batch.rows_read, batch.skipped, unknown)
    yield ParsedChunk(_assemble_cdr(carry.push(None, final=True)), [], 0)


FORMATS = [
    Format(
        name=REPORT_NAME,
        title="3CX web client Call Reports (CSV: Call Time, Call ID, From, To, Direction, Status, Ringing, Talking)",
        example="CallReport.csv",
        sniff=sniff_report,
        read=read_report,
    ),
    Format(
        name=CDR_NAME,
        title="3CX CDR service records (historyid, callid, duration, time-start, ...; header optional)",
        example="cdr.log",
        sniff=sniff_cdr,
        read=read_cdr,
    ),
]
