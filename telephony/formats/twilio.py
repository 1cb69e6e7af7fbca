"""Twilio Programmable Voice call logs.

Reads three shapes of the same records:

- JSON from the REST API (``GET /2010-04-01/Accounts/{sid}/Calls.json``: ``{"calls": [...]}``,
  pages concatenated, or one call per line), with RFC 2822 dates
  (``Mon, 05 Jan 2026 08:00:12 +0000``);
- CSV with the API's snake_case headers (``sid, date_created, start_time, end_time, duration,
  status, direction, from, to, parent_call_sid, answered_by, queue_time``);
- the Console's call-log CSV download (``Date, Direction, From, To, Type, Status, Duration,
  Call Sid``...; layout unverified).

A call to a Twilio number is a *parent* call (``inbound``) answered by the application
(TwiML); each ``<Dial>`` to an agent creates a *child* leg (``outbound-dial``) whose
``parent_call_sid`` is the parent's sid. The legs of one call are joined into one call, keyed
by the parent's sid:

- a child leg ``completed`` with duration > 0: ``answered``; wait from the parent's start to
  that leg's answer, talk the sum of the connected legs' durations;
- children, none connected: the last leg's status through :data:`CHILD_OUTCOMES`
  (``canceled`` = the caller hung up while it rang: ``abandoned``; ``no-answer``, ``busy``,
  ``failed``: ``missed``); wait the parent's duration;
- no children: the parent's own status through :data:`STATUS_OUTCOMES` (``completed`` is
  ``answered`` only with a duration > 0); wait null, talk the duration.

Notes
-----
- Times are UTC; ``start`` is tz-aware UTC (``start_time``, else ``date_created``). Values
  without a zone are taken as UTC too (the Console shows UTC; unverified).
- The answer time of a leg is not in the record: it is ``end_time - duration``.
- ``queued``, ``ringing``, ``in-progress`` (and ``initiated``) are calls not finished when the
  log was exported: the whole call is rejected with that reason; export again later.
- An outbound call answered by a machine (``answered_by`` ``machine_*``, with answering-machine
  detection on) is ``voicemail``; ``fax`` is ``failed``.
- For an ``outbound-api`` call with child legs (click-to-call: Twilio rings the practice's
  phone first, then dials the patient), the agent is the parent's ``to`` and the caller the
  leg's ``to``. Otherwise outbound calls store the dialled party as caller and no agent.
- A status word not in :data:`STATUS_OUTCOMES` (nor an unfinished one) keeps the call with
  outcome ``unknown``, as does an unknown status on the last leg of a call no leg answered; a
  direction word not in :data:`DIRECTIONS` keeps it with direction ``unknown``, read like an
  inbound call (caller ``from``, line ``to``). Both words are counted, never rejected.
- A time with a year before 1678 or after 2261 (a placeholder ``9999``, a wrong clock) or a
  duration that is not a number of seconds up to a day (``1e999999``) rejects its call (the
  parent with its legs), with the reason; the rest of the file is read.
- The SDKs and the CLI write the same records with camelCase keys (``parentCallSid``,
  ``startTime``) and ISO 8601 times with milliseconds; they are read the same way (checked
  against a public sample of a real account's call record).
- A leg whose parent is not in the file cannot be placed: rejected (export a period that holds
  both). A file without a parent column (the Console's) cannot join legs at all: its
  ``outbound-dial`` rows are skipped and counted, and each parent call's own status decides.
- Twilio's API lists calls newest first; the reader handles either order.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterator

import numpy as np
import pandas as pd

from telephony.timeutil import BAD_DURATION, OUT_OF_RANGE, plausible_seconds, years_out_of_range
from telephony.privacy import mask_digits
from telephony.sources import Reject, Source
from telephony.formats._base import Format, GroupCarry, ParsedChunk, ReadContext, raw_frame, require_columns
from telephony.formats._records import column, head_table, looks_like_json, null_if_empty, parse_utc, record_batches, seconds
from telephony.formats._base import row_text

NAME = "twilio_calls"

# Vendor column (norm_name form) -> canonical column.
VARIABLE_MAP: dict[str, str] = {
    "sid": "sid", "callsid": "sid",
    "parentcallsid": "parent", "parentsid": "parent", "parentcall": "parent",
    "datecreated": "created", "date": "created", "created": "created",
    "starttime": "start", "startdate": "start",
    "endtime": "end", "enddate": "end",
    "duration": "duration", "durationseconds": "duration", "durations": "duration",
    "status": "status", "callstatus": "status",
    "direction": "direction",
    "from": "from", "to": "to",
    "answeredby": "answered_by",
    "queuetime": "queue_time",
    "type": "type",
    "price": "price", "priceunit": "price_unit",
}
REQUIRED = ["sid", "status", "direction", "from", "to"]

# Call status (lower case, spaces/underscores as hyphens) -> outcome of a call that did not
# go through child legs. "completed" is answered only with a duration > 0.
STATUS_OUTCOMES: dict[str, str] = {
    "completed": "answered",
    "busy": "busy",
    "failed": "failed",
    "no-answer": "missed",
    "canceled": "abandoned",
    "cancelled": "abandoned",
}
# An outbound call cancelled before answer was given up by the practice, not by a caller.
OUTBOUND_STATUS_OUTCOMES: dict[str, str] = {**STATUS_OUTCOMES, "canceled": "missed", "cancelled": "missed"}
# Status of the last child leg -> outcome of an inbound call that no leg connected.
CHILD_OUTCOMES: dict[str, str] = {
    "canceled": "abandoned",
    "cancelled": "abandoned",
    "no-answer": "missed",
    "busy": "missed",
    "failed": "missed",
    "completed": "missed",
}
# Calls still going on when the log was exported.
UNFINISHED_STATUS: frozenset[str] = frozenset({"queued", "initiated", "ringing", "in-progress"})

# Direction word -> (direction, whether the row is a leg dialled by another call).
DIRECTIONS: dict[str, tuple[str, bool]] = {
    "inbound": ("inbound", False),
    "incoming": ("inbound", False),
    "trunking-terminating": ("inbound", False),
    "outbound-api": ("outbound", False),
    "outgoing-api": ("outbound", False),
    "outbound": ("outbound", False),
    "outgoing": ("outbound", False),
    "trunking-originating": ("outbound", False),
    "outbound-dial": ("outbound", True),
    "outgoing-dial": ("outbound", True),
}
# answered_by (answering-machine detection) -> outcome overriding "answered".
ANSWERED_BY: dict[str, str | None] = {
    "human": None,
    "unknown": None,
    "machine-start": "voicemail",
    "machine-end-beep": "voicemail",
    "machine-end-silence": "voicemail",
    "machine-end-other": "voicemail",
    "fax": "failed",
}

_CALL_SID = re.compile(r"\bCA[0-9a-f]{32}\b")



def _word(s: pd.Series) -> pd.Series:
    """Status/direction words in one spelling: ``No Answer`` → ``no-answer``."""
    return s.astype("string").fillna("").str.strip().str.lower().str.replace(r"[\s_]+", "-", regex=True)


def sniff(source: Source) -> float:
    """1.0 for Twilio call records (JSON or CSV) with call sids and Twilio's status words."""
    if looks_like_json(source):
        head = source.head
        if not re.search(r'"sid"\s*:\s*"CA[0-9a-f]{32}"', head):
            return 0.0
        # The REST API writes snake_case keys, Twilio's SDKs and CLI camelCase (parentCallSid).
        keys = sum(
            bool(re.search(rf'"{k}"\s*:', head, re.IGNORECASE))
            for k in ("parent_?call_?sid", "direction", "status", "date_?created")
        )
        return 1.0 if keys >= 3 else 0.6
    head = head_table(source, VARIABLE_MAP, {"sid", "status", "direction"})
    if head is None:
        return 0.0
    if "from" not in head.canon or "to" not in head.canon:
        return 0.4
    for r in head.rows or []:
        if head.complete(r):
            st = _word(pd.Series([head.value(r, "status")])).iloc[0]
            dr = _word(pd.Series([head.value(r, "direction")])).iloc[0]
            if (st in STATUS_OUTCOMES or st in UNFINISHED_STATUS) and dr in DIRECTIONS and _CALL_SID.search(head.value(r, "sid")):
                return 1.0
    return 0.6


def _rows(batch, source: Source) -> tuple[pd.DataFrame, list[Reject], Counter, Counter]:
    f = batch.frame
    if f.empty and not len(f.columns):
        return pd.DataFrame(), [], Counter(), Counter()
    require_columns(f, REQUIRED, source, NAME)
    if "start" not in f.columns and "created" not in f.columns:
        require_columns(f, ["start_time"], source, NAME)
    skipped: Counter = Counter()
    unknown: Counter = Counter()
    status = _word(column(f, "status"))
    dword = _word(column(f, "direction"))
    direction = dword.map({k: v[0] for k, v in DIRECTIONS.items()}).astype("string")
    is_leg_word = dword.isin([k for k, v in DIRECTIONS.items() if v[1]])
    sid = column(f, "sid")
    parent = column(f, "parent")
    has_parent_col = "parent" in f.columns
    # A time with a year pandas cannot hold is blanked before parsing (it would stop the
    # whole file) and rejects its call below.
    texts = {name: column(f, name) for name in ("start", "created", "end")}
    out_of_range = {name: years_out_of_range(t) for name, t in texts.items()}
    start = parse_utc(texts["start"].where(~out_of_range["start"], ""))
    start = start.fillna(parse_utc(texts["created"].where(~out_of_range["created"], "")))
    end = parse_utc(texts["end"].where(~out_of_range["end"], ""))
    duration_text = column(f, "duration")
    duration = seconds(duration_text)
    bad_duration = (duration_text != "").to_numpy(dtype=bool) & ~plausible_seconds(duration)
    duration = duration.where(~bad_duration)

    # Without a parent column a dialled leg cannot be joined to its call.
    orphan_leg = (is_leg_word & (not has_parent_col)).to_numpy(dtype=bool)
    if orphan_leg.any():
        skipped["outbound-dial leg in a file without a parent call sid column (cannot be joined)"] += int(orphan_leg.sum())

    # Unknown words keep the call: its outcome (status) or direction becomes "unknown".
    known_status = status.isin(list(STATUS_OUTCOMES)) | status.isin(list(UNFINISHED_STATUS))
    for w in column(f, "status")[(~known_status).to_numpy(dtype=bool) & ~orphan_leg]:
        unknown[mask_digits(f"status {w!r}")] += 1
    for w in column(f, "direction")[direction.isna().to_numpy(dtype=bool) & ~orphan_leg]:
        unknown[mask_digits(f"direction {w!r}")] += 1
    direction = direction.fillna("unknown")

    reason = pd.Series("", index=f.index, dtype="object")
    for name, label in (("start", "start_time"), ("created", "date_created"), ("end", "end_time")):
        m = out_of_range[name] & (reason == "").to_numpy()
        reason[m] = [f"{label} out of range ({v!r}): {OUT_OF_RANGE}" for v in texts[name][m]]
    m = start.isna().to_numpy() & ~orphan_leg & (reason == "").to_numpy()
    reason[m] = [
        f"start time missing or unreadable ({v!r}); expected RFC 2822 (Mon, 05 Jan 2026 08:00:12 +0000) or ISO 8601"
        for v in texts["start"].where(texts["start"] != "", texts["created"])[m]
    ]
    m = bad_duration & (reason == "").to_numpy()
    reason[m] = [f"duration unreadable ({v[:20]!r}): {BAD_DURATION}" for v in duration_text[m]]
    m = (sid == "").to_numpy() & ~orphan_leg & (reason == "").to_numpy()
    reason[m] = "call sid missing"
    ab = _word(column(f, "answered_by"))
    ab_unknown = (ab != "") & ~ab.isin(list(ANSWERED_BY))
    for w in column(f, "answered_by")[ab_unknown]:
        # Kept: it only refines an answered outbound call.
        unknown[mask_digits(f"answered_by {w!r}")] += 1

    lines = pd.Series(batch.lines, index=f.index)
    key = parent.where(parent != "", sid)
    key = key.where(key != "", "\x00line" + lines.astype(str))
    rows = pd.DataFrame(
        {
            "key": key,
            "sid": sid,
            "t": start,
            "t_end": end,
            "source_line": lines,
            "status": status,
            "direction": direction,
            "is_main": sid == key,
            "duration": duration,
            "from": column(f, "from"),
            "to": column(f, "to"),
            "answered_by": ab,
            "bad": reason.astype("string"),
            "text": _row_texts(batch),
        }
    ).loc[~orphan_leg]
    return rows.reset_index(drop=True), [], skipped, unknown


def _row_texts(batch) -> np.ndarray:
    """Each source row rebuilt as text, for rejects decided later at the call level."""

    if not len(batch.original):
        return np.array([], dtype=object)
    return row_text(batch.original).to_numpy(dtype=object)


def _assemble(rows: pd.DataFrame) -> tuple[pd.DataFrame, list[Reject]]:
    """One raw call per parent sid from the parent and its legs; bad calls rejected whole."""
    if rows is None or rows.empty or "key" not in rows.columns:
        return raw_frame(0), []
    rows = rows.sort_values(["key", "t", "source_line"], kind="stable").reset_index(drop=True)
    g = rows.groupby("key", sort=False)
    n_rows = g.size()
    first_line = g["source_line"].min()
    rejects: list[Reject] = []

    # Calls rejected whole: a bad leg, a leg still in progress, or legs without their parent.
    bad = rows[rows["bad"].fillna("") != ""].drop_duplicates("key", keep="first").set_index("key")
    unfinished = rows[rows["status"].isin(list(UNFINISHED_STATUS))].drop_duplicates("key", keep="first").set_index("key")
    has_main = g["is_main"].any()
    why = pd.Series("", index=n_rows.index, dtype="object")
    why = why.mask(~has_main, "leg of a call whose parent call is not in this file; export a period holding both")
    why = why.mask(why.index.isin(unfinished.index), unfinished["status"].reindex(why.index).map(
        lambda s: f"call not finished when exported (status {s!r}); export again later"
    ))
    why = why.mask(why.index.isin(bad.index), bad["bad"].reindex(why.index))
    rej_keys = why[why != ""].index
    if len(rej_keys):
        text = rows.drop_duplicates("key", keep="first").set_index("key")["text"]
        for k in rej_keys:
            rejects.append(Reject(int(first_line[k]), str(why[k]), str(text[k]), rows=int(n_rows[k])))
        rows = rows[~rows["key"].isin(rej_keys)]
        if rows.empty:
            return raw_frame(0), rejects
        g = rows.groupby("key", sort=False)

    main = rows[rows["is_main"]].drop_duplicates("key", keep="first").set_index("key")
    legs = rows[~rows["is_main"]]
    connected = legs[(legs["status"] == "completed") & (legs["duration"] > 0)]
    conn_first = connected.drop_duplicates("key", keep="first").set_index("key")
    last_leg = legs.drop_duplicates("key", keep="last").set_index("key")
    k = main.index
    has_legs = k.isin(legs["key"].unique())
    answered_leg = k.isin(conn_first.index)
    outbound = main["direction"] == "outbound"

    own = pd.Series(
        np.where(outbound, main["status"].map(OUTBOUND_STATUS_OUTCOMES), main["status"].map(STATUS_OUTCOMES)),
        index=k,
        dtype="string",
    )
    own = own.mask((main["status"] == "completed") & ~(main["duration"] > 0), "missed")
    machine = main["answered_by"].map(ANSWERED_BY).astype("string")
    own = own.mask((own == "answered") & outbound & machine.notna(), machine)
    # A leg status this table does not know leaves the outcome unknown (counted when read).
    leg_outcome = last_leg["status"].reindex(k).map(CHILD_OUTCOMES).astype("string").fillna("unknown")
    # Legs decide only when the parent itself connected; a busy/failed parent is what it says.
    parent_ok = main["status"] == "completed"
    outcome = own.mask(has_legs & parent_ok, leg_outcome).mask(answered_leg, "answered").fillna("unknown")

    talk = connected.groupby("key", sort=False)["duration"].sum().reindex(k)
    talk = talk.where(answered_leg, main["duration"].where(outcome == "answered", 0.0)).fillna(0.0)
    leg_answer = conn_first["t_end"] - pd.to_timedelta(conn_first["duration"], unit="s")
    leg_answer = leg_answer.fillna(conn_first["t"]).reindex(k)
    wait = (leg_answer - main["t"]).dt.total_seconds().where(answered_leg)
    parent_span = (main["t_end"] - main["t"]).dt.total_seconds().fillna(main["duration"])
    wait = wait.mask(has_legs & ~answered_leg & parent_ok & ~outbound, parent_span)
    wait = wait.where(~outbound)

    leg_to = conn_first["to"].reindex(k).fillna(last_leg["to"].reindex(k))
    caller = main["from"].where(~outbound, main["to"])
    caller = caller.mask(outbound & has_legs, leg_to)
    agent = pd.Series(pd.NA, index=k, dtype="string")
    agent = agent.mask(~outbound & answered_leg, conn_first["to"].reindex(k))
    agent = agent.mask(outbound & has_legs, main["to"])
    line = null_if_empty(main["to"]).where(~outbound, pd.NA)
    calls = raw_frame(
        len(main),
        call_id=pd.Series(k, index=k),
        start=main["t"],
        direction=main["direction"],
        line=line,
        caller=null_if_empty(caller),
        outcome=outcome,
        wait_s=wait,
        talk_s=talk,
        agent=null_if_empty(agent),
        source_line=first_line.reindex(k),
        n_rows=n_rows.reindex(k),
    ).sort_values("source_line", kind="stable").reset_index(drop=True)
    return calls, rejects


def read(source: Source, ctx: ReadContext) -> Iterator[ParsedChunk]:
    """Read Twilio call logs (REST API JSON, API-style CSV or Console CSV) as raw calls.

    Raises
    ------
    BadInputError
        The file is not a Twilio call log.
    """
    batches = record_batches(
        source,
        VARIABLE_MAP,
        {"sid", "status", "direction"},
        f"not a {NAME} export: no header with Call Sid, Status and Direction found in the first lines",
    )
    # Legs are created seconds after their parent and end with it.
    carry = GroupCarry("key", "t", horizon=pd.Timedelta(hours=3))
    for batch in batches:
        rows, _, skipped, unknown = _rows(batch, source)
        skipped.update(batch.skipped)
        calls, rejects = _assemble(carry.push(rows if len(rows) else None))
        yield ParsedChunk(calls, batch.rejects + rejects, batch.rows_read, skipped, unknown, batch.notes)
    calls, rejects = _assemble(carry.push(None, final=True))
    yield ParsedChunk(calls, rejects, 0)


FORMATS = [
    Format(
        name=NAME,
        title="Twilio call logs (REST API JSON, API-style CSV, or the Console's call-log CSV)",
        example="calls.json",
        sniff=sniff,
        read=read,
        evidence="documentation",
        evidence_note=(
            "built from Twilio's API reference; one public call record of a real account (SDK "
            "camelCase JSON) read; no real call-log CSV export found"
        ),
    )
]
