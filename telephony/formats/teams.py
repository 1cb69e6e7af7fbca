"""Microsoft Teams Phone: PSTN usage and Direct Routing call logs.

Reads the PSTN usage report (Calling Plans, Operator Connect) and the Direct Routing log two
ways:

- JSON from Microsoft Graph ``communications/callRecords/getPstnCalls`` or
  ``getDirectRoutingCalls`` (``{"value": [...]}``, pages concatenated or one record per line
  also accepted)::

      {"id": "9c4984c7-...", "callId": "1835317186_112562680@61.221.3.176",
       "userPrincipalName": "reception@example.nhs.uk", "callerNumber": "+447700900101",
       "calleeNumber": "+441632960000", "callType": "user_in",
       "startDateTime": "2026-01-05T08:00:12Z", "endDateTime": "2026-01-05T08:04:12Z",
       "duration": 240, "charge": 0, "currency": "GBP", ...}

- CSV downloaded from the Teams admin centre (Analytics & reports → PSTN and SMS usage), whose
  headers are spelled with spaces (``Start time``, ``Caller ID``, ``Call Type``...): header
  names are matched through :data:`VARIABLE_MAP`.

Which column holds the caller
-----------------------------
Microsoft documents ``callerNumber`` (``Caller ID`` / ``Caller Number`` in the admin centre)
two ways: its beta Graph documentation as the number of whoever made the call, its v1.0
documentation as "the number that received the call for inbound calls or the number dialed for
outbound calls". Taken by its name when it holds the practice's own number, every inbound
call would get the same "caller". So the data decides (:func:`choose_caller_column`): among
the inbound rows holding both numbers, the practice's own numbers repeat across nearly every
row while callers vary. The column with few distinct values (at most :data:`PRACTICE_SHARE`
of the rows) is the practice's line, the one with many (at least :data:`CALLER_SHARE`) the
caller. Outbound rows are judged the same way (the practice's number repeats, the numbers
dialled vary). When it cannot be told (fewer than :data:`MIN_ROWS` such rows, or no clear
contrast) the documented default applies: :data:`DEFAULT_CALLER`, i.e. ``callerNumber`` is
the caller of an inbound call and ``calleeNumber`` the party of an outbound one, as in the
beta documentation and as the columns are named. The choice and its grounds (counts only,
never a number) are written in :attr:`ParsedChunk.notes`. The decision is taken once per
file, from its first :data:`PROBE_RECORDS` records: a small file written the v1.0 way falls
back to the default and is read with the practice's number as every caller, which its note
warns of (export a longer period, or at least ten inbound calls, to let the data decide).

Notes
-----
- PSTN usage records are billing records: one row per *connected* PSTN call leg. They carry no
  queue outcome (call-queue results are in a different report), so every such call is
  ``answered``, ``talk_s`` is the duration and ``wait_s`` is null. Unanswered and abandoned
  inbound calls are not in this export at all: it cannot give abandonment rates.
- Direct Routing rows (a ``successfulCall`` / ``Success`` column) include failed attempts,
  which are not answered calls: a row with ``successfulCall`` false takes its outcome from
  ``finalSipCode`` (:data:`SIP_OUTCOMES`: 487, the caller cancelling while it rang, is
  ``abandoned``; 486 ``busy``; 408/480 ``missed``; 404 or 5xx ``failed``). The call starts at
  its ``inviteDateTime``; ``wait_s`` is the ring time up to answer (``startDateTime``) or
  failure (``failureDateTime``). Graph writes ``0001-01-01T00:00:00Z`` (.NET's empty date) in
  fields that do not apply; such values are read as empty. (Layout from Microsoft's
  documentation; no real Direct Routing log was found to check.)
- Direction comes from ``callType`` (:data:`CALL_TYPES`, looked up ignoring case, ``_`` and
  spaces). A type not in the table but ending ``_in``/``_out`` (``..._out_transfer``) or
  starting ``Byot``\\ ``In``/``Out`` is kept with the direction it says; any other type is
  kept with direction ``unknown``. Both are counted as unknown words, never rejected.
  Audio-conferencing types (``conf_in``, ``conf_out``) are not calls to the practice: skipped
  and counted.
- Rows sharing ``callId`` (a call forwarded or transferred out gives a second, ``_out``, leg)
  are one call: the earliest leg gives direction, caller, user and talk time.
- Times are UTC (``...Z``); ``start`` is tz-aware UTC. Admin-centre CSV times written without a
  zone are taken as UTC too (unverified: the report is described as UTC).
- The agent is the Teams user (``userPrincipalName``), pseudonymised by the ingest.
- A time with a year before 1678 or after 2261 (a placeholder ``9999``, a wrong clock) or a
  duration that is not a number of seconds up to a day (``1e999999``) rejects its row, with
  the reason; the rest of the file is read.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pandas as pd

from telephony.timeutil import BAD_DURATION, OUT_OF_RANGE, plausible_seconds, years_out_of_range
from telephony.privacy import mask_digits, normalise_number
from telephony.sources import Reject, Source, norm_name
from telephony.formats._base import Format, GroupCarry, ParsedChunk, ReadContext, map_words, raw_frame, rejects_from, require_columns
from telephony.formats._records import column, head_table, looks_like_json, null_if_empty, parse_utc, record_batches, seconds

NAME = "teams_pstn"

# Vendor column (norm_name form) -> canonical column. Graph's camelCase and the admin
# centre's spaced names normalise to the same keys.
VARIABLE_MAP: dict[str, str] = {
    "callid": "callid",
    "id": "id", "usageid": "id", "correlationid": "id",
    "userprincipalname": "upn", "upn": "upn", "userprincipal": "upn", "user": "upn",
    "callernumber": "caller_number", "callerid": "caller_number", "sourcenumber": "caller_number",
    "calleenumber": "callee_number", "destinationnumber": "callee_number", "calleeid": "callee_number",
    "calltype": "call_type",
    "startdatetime": "start", "starttime": "start", "starttimeutc": "start",
    "enddatetime": "end", "endtime": "end", "endtimeutc": "end",
    "invitedatetime": "invite", "invitetime": "invite",
    "failuredatetime": "failure", "failuretime": "failure",
    "duration": "duration", "durationseconds": "duration", "durationsec": "duration",
    "callduration": "duration", "durations": "duration",
    "successfulcall": "success", "success": "success",
    "finalsipcode": "sip_code",
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
    # Direct Routing log ("bring your own trunk").
    "ByotIn": "inbound",
    "ByotOut": "outbound",
}
# callType values that are not calls to or from the practice's lines.
SKIP_CALL_TYPES: dict[str, str] = {
    "conf_in": "audio-conference dial-in, not a call to the practice",
    "conf_out": "audio-conference dial-out, not a call from the practice",
}
# Every PSTN usage record (and every successful Direct Routing call) is a connected call.
OUTCOME = "answered"
# finalSipCode of a failed Direct Routing attempt -> outcome. Codes not listed: 5xx and 6xx
# are failures of the network or the far end; any other is counted and left unknown.
SIP_OUTCOMES: dict[int, str] = {
    487: "abandoned",  # Request Terminated: the caller hung up while it rang
    486: "busy",  # Busy Here
    600: "busy",  # Busy Everywhere
    408: "missed",  # Request Timeout: rang out
    480: "missed",  # Temporarily Unavailable: no one signed in, or did not answer
    603: "missed",  # Decline
    404: "failed",  # Not Found
    484: "failed",  # Address Incomplete
    488: "failed",  # Not Acceptable Here (media)
}
# Which column holds the caller, when the data cannot tell (see the module docstring):
# direction -> the column holding the other party.
DEFAULT_CALLER: dict[str, str] = {"inbound": "caller_number", "outbound": "callee_number"}
# Judging the columns: at least MIN_ROWS rows with both numbers; the practice's column has at
# most PRACTICE_SHARE distinct values per row, the other party's at least CALLER_SHARE and
# twice as many.
MIN_ROWS = 10
PRACTICE_SHARE = 0.2
CALLER_SHARE = 0.3
# Records read to decide (the start of the file).
PROBE_RECORDS = 20_000

_DOTNET_EMPTY = re.compile(r"^0001-01-01")

_SUFFIX = re.compile(r"_(in|out)(?:_[a-z_]+)?$", re.IGNORECASE)
_BYOT = re.compile(r"^byot(in|out)", re.IGNORECASE)
_TYPE_VALUE = re.compile(r'"calltype"\s*:\s*"([a-z_]+)"', re.IGNORECASE)
_COLUMN_LABELS = {"caller_number": "callerNumber", "callee_number": "calleeNumber"}


def _known_type(word: str) -> bool:
    return bool(map_words(pd.Series([word]), {**CALL_TYPES, **SKIP_CALL_TYPES})[0].notna().iloc[0])


def sniff(source: Source) -> float:
    """1.0 for Graph PSTN or Direct Routing records, or an admin-centre CSV with Teams call types."""
    if looks_like_json(source):
        head = source.head
        keys = sum(
            bool(re.search(rf'"{k}"\s*:', head, re.IGNORECASE))
            for k in ("callType", "userPrincipalName", "callerNumber", "calleeNumber", "startDateTime")
        )
        if not re.search(r'"callType"\s*:', head, re.IGNORECASE):
            return 0.0
        types = _TYPE_VALUE.findall(head)
        if keys >= 3 and any(_known_type(t) for t in types):
            return 1.0
        return 0.6 if keys >= 2 else 0.3
    head = head_table(source, VARIABLE_MAP, {"start", "call_type"})
    if head is None:
        return 0.0
    if "caller_number" not in head.canon and "callee_number" not in head.canon:
        return 0.4
    for r in head.rows or []:
        if _known_type(head.value(r, "call_type")):
            return 1.0
    return 0.6


def _directions(ctype: pd.Series) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """(direction, the SKIP_CALL_TYPES key of skipped rows, rows whose type word is unknown)."""
    direction, unknown = map_words(ctype, CALL_TYPES)
    skip_key = map_words(ctype, {k: k for k in SKIP_CALL_TYPES})[0]
    unk = unknown.to_numpy(dtype=bool) & skip_key.isna().to_numpy()
    # Types outside the table: a suffix (..._out_transfer) or a Byot prefix still tells.
    said = ctype.str.extract(_SUFFIX)[0].fillna(ctype.str.extract(_BYOT)[0]).str.lower()
    said = said.map({"in": "inbound", "out": "outbound"}).astype("string")
    return direction.fillna(said).fillna("unknown"), skip_key, unk


@dataclass
class CallerColumns:
    """Which column holds the other party, per direction, and why (for the notes)."""

    other: dict[str, str]
    notes: list[str]

    def line_column(self, direction: str) -> str:
        """The column holding the practice's number for ``direction``."""
        return "callee_number" if self.other[direction] == "caller_number" else "caller_number"


def _label(name: str, labels: dict[str, str]) -> str:
    return f"`{labels.get(name, _COLUMN_LABELS[name])}`"


def choose_caller_column(
    pairs: pd.DataFrame,
    direction: str,
    labels: dict[str, str] | None = None,
    practice_numbers: frozenset[str] = frozenset(),
) -> tuple[str, str, bool]:
    """Decide which of two number columns holds the other party (the caller, inbound).

    Parameters
    ----------
    pairs : pandas.DataFrame
        Columns ``caller_number`` and ``callee_number`` of rows of one direction, normalised
        (equal numbers spelled alike); rows missing either are ignored.
    direction : str
        ``"inbound"`` or ``"outbound"``: names the default and the note.
    labels : dict, optional
        Column name -> the file's own header, for the note.
    practice_numbers : frozenset of str, optional
        The practice's own numbers as found in the other direction's rows: when the columns'
        spread cannot tell, the column holding these is the practice's.

    Returns
    -------
    (column, note, decided) : tuple
        The column holding the other party (``"caller_number"`` or ``"callee_number"``), a
        sentence saying what was chosen and why (counts only, never a number), and whether the
        data decided it (False: the default).
    """
    labels = labels or {}
    both = pairs.dropna(subset=["caller_number", "callee_number"])
    n = len(both)
    party = "caller" if direction == "inbound" else "other party"
    default = DEFAULT_CALLER[direction]
    if n >= MIN_ROWS:
        distinct = {c: both[c].nunique() for c in ("caller_number", "callee_number")}
        for practice, other in (("callee_number", "caller_number"), ("caller_number", "callee_number")):
            lo, hi = distinct[practice] / n, distinct[other] / n
            if lo <= PRACTICE_SHARE and hi >= CALLER_SHARE and hi >= 2 * lo:
                return other, (
                    f"{direction} calls: took {_label(other, labels)} as the {party} and "
                    f"{_label(practice, labels)} as the practice's line: across {n} {direction} rows "
                    f"{_label(practice, labels)} repeats {distinct[practice]} number(s) while "
                    f"{_label(other, labels)} has {distinct[other]} different ones (the practice's own "
                    "numbers repeat, the other party varies)."
                ), True
        why = (
            f"across {n} {direction} rows neither column repeats a few numbers while the other "
            f"varies ({_label('caller_number', labels)}: {distinct['caller_number']} different, "
            f"{_label('callee_number', labels)}: {distinct['callee_number']})"
        )
    else:
        why = f"only {n} {direction} row(s) hold both numbers; at least {MIN_ROWS} are needed"
    if n and practice_numbers:
        share = {c: both[c].isin(practice_numbers).mean() for c in ("caller_number", "callee_number")}
        for practice, other in (("callee_number", "caller_number"), ("caller_number", "callee_number")):
            if share[practice] >= 1 - PRACTICE_SHARE and share[other] <= PRACTICE_SHARE:
                return other, (
                    f"{direction} calls: took {_label(other, labels)} as the {party}: in "
                    f"{share[practice]:.0%} of {n} {direction} rows {_label(practice, labels)} holds one "
                    "of the practice's own numbers, as found on the calls of the other direction."
                ), True
    return default, (
        f"{direction} calls: could not tell from the data which column holds the {party} ({why}): "
        f"took {_label(default, labels)} as the {party}, the default (Microsoft's beta Graph "
        "documentation and the column's name; its v1.0 documentation describes callerNumber of an "
        "inbound call as the number that received it). Check with a call whose caller you know."
    ), False


def _normalised(values: pd.Series) -> pd.Series:
    """Numbers in one spelling (E.164), null when empty or withheld; for comparing only."""
    text = values.astype("string").fillna("").str.strip()
    uniq = {v: normalise_number(v) for v in text.unique() if v}
    return text.map(uniq).astype("string")


def _probe(source: Source) -> CallerColumns:
    """Read the first :data:`PROBE_RECORDS` records and decide the caller columns."""
    frames: list[pd.DataFrame] = []
    labels: dict[str, str] = {}
    seen = 0
    for batch in _batches(source):
        f = batch.frame
        if f.empty or "call_type" not in f.columns:
            continue
        for c in batch.original.columns:
            canon = VARIABLE_MAP.get(norm_name(c))
            if canon in _COLUMN_LABELS and canon not in labels:
                labels[canon] = str(c)
        direction = _directions(column(f, "call_type"))[0]
        frames.append(
            pd.DataFrame(
                {
                    "direction": direction.to_numpy(),
                    "caller_number": column(f, "caller_number").to_numpy(),
                    "callee_number": column(f, "callee_number").to_numpy(),
                }
            )
        )
        seen += len(f)
        if seen >= PROBE_RECORDS:
            break
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["direction", "caller_number", "callee_number"]
    )
    pairs = {
        d: pd.DataFrame(
            {c: _normalised(rows.loc[rows["direction"] == d, c]) for c in ("caller_number", "callee_number")}
        )
        for d in ("inbound", "outbound")
    }
    decided: dict[str, tuple[str, str, bool]] = {
        d: choose_caller_column(pairs[d], d, labels) for d in ("inbound", "outbound")
    }
    # A direction the spread cannot tell may be told by the practice's own numbers, as the
    # other direction showed them.
    for d, o in (("inbound", "outbound"), ("outbound", "inbound")):
        if not decided[d][2] and decided[o][2]:
            practice_col = "callee_number" if decided[o][0] == "caller_number" else "caller_number"
            own = frozenset(pairs[o][practice_col].dropna())
            decided[d] = choose_caller_column(pairs[d], d, labels, own)
    other = {d: decided[d][0] for d in decided}
    notes = [decided[d][1] for d in ("inbound", "outbound") if len(pairs[d])]
    return CallerColumns(other, notes)


def _batches(source: Source):
    return record_batches(
        source,
        VARIABLE_MAP,
        set(REQUIRED),
        f"not a {NAME} export: no header with Start time and Call Type found in the first lines "
        "(expected the Teams admin centre's PSTN usage CSV)",
    )


def _times(f: pd.DataFrame, name: str) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """(text, UTC times, out of range) of a time column; .NET's empty date read as empty."""
    text = column(f, name)
    text = text.where(~text.str.match(_DOTNET_EMPTY), "")
    oor = years_out_of_range(text)
    return text, parse_utc(text.where(~oor, "")), oor


def _rows(batch, source: Source, callers: CallerColumns) -> tuple[pd.DataFrame, list[Reject], Counter, Counter]:
    f = batch.frame
    if f.empty and not len(f.columns):
        return pd.DataFrame(), [], Counter(), Counter()
    require_columns(f, REQUIRED, source, NAME)
    if "caller_number" not in f.columns and "callee_number" not in f.columns:
        require_columns(f, ["caller_number"], source, NAME)
    skipped: Counter = Counter()
    unknown: Counter = Counter()
    ctype = column(f, "call_type")
    direction, skip_key, unk = _directions(ctype)
    skip = skip_key.notna().to_numpy()
    for k in skip_key[skip]:
        skipped[f"callType {k}: {SKIP_CALL_TYPES[k]}"] += 1
    for w in ctype[unk]:
        unknown[mask_digits(f"callType {w!r}")] += 1

    # Direct Routing: a failed attempt is not a connected call.
    dr = "success" in f.columns
    success = column(f, "success").str.lower()
    failed = (success.isin(["false", "0", "no"])).to_numpy(dtype=bool) if dr else np.zeros(len(f), dtype=bool)
    sip = pd.to_numeric(column(f, "sip_code"), errors="coerce")
    sip_outcome = sip.map(SIP_OUTCOMES)
    sip_outcome = sip_outcome.where(sip_outcome.notna() | ~(sip >= 500), "failed").astype("string")
    unknown_sip = failed & sip_outcome.isna().to_numpy()
    for code in column(f, "sip_code")[unknown_sip]:
        unknown[mask_digits(f"finalSipCode {code or '(empty)'}")] += 1
    outcome = pd.Series(OUTCOME, index=f.index, dtype="string")
    outcome[failed] = sip_outcome[failed].fillna("unknown")

    start_text, start, start_oor = _times(f, "start")
    end_text, end, end_oor = _times(f, "end")
    invite_text, invite, invite_oor = _times(f, "invite")
    failure_text, failure, failure_oor = _times(f, "failure")
    failure_oor &= failed  # only read where it applies
    duration_text = column(f, "duration")
    duration = seconds(duration_text)
    bad_duration = (duration_text != "").to_numpy(dtype=bool) & ~plausible_seconds(duration)
    duration = duration.where(~bad_duration)
    duration = duration.fillna((end - start).dt.total_seconds())
    # The call reaches the system at its invite (Direct Routing); PSTN usage gives the start.
    arrival = invite.fillna(start)
    ring = (start - invite).dt.total_seconds().where(~failed, (failure - invite).dt.total_seconds())
    ring = ring.where(ring >= 0)

    reason = pd.Series("", index=f.index, dtype="object")
    for oor, text, label in (
        (start_oor, start_text, "start time"),
        (end_oor, end_text, "end time"),
        (invite_oor, invite_text, "invite time"),
        (failure_oor, failure_text, "failure time"),
    ):
        m = oor & ~skip & (reason == "").to_numpy()
        reason[m] = [f"{label} out of range ({v!r}): {OUT_OF_RANGE}" for v in text[m]]
    m = arrival.isna().to_numpy() & ~skip & (reason == "").to_numpy()
    reason[m] = [
        f"start time missing or unreadable ({v!r}); expected ISO 8601 such as 2026-01-05T08:00:12Z"
        for v in start_text[m]
    ]
    m = bad_duration & ~skip & (reason == "").to_numpy()
    reason[m] = [f"duration unreadable ({v[:20]!r}): {BAD_DURATION}" for v in duration_text[m]]
    m = duration.isna().to_numpy() & ~failed & ~skip & (reason == "").to_numpy()
    reason[m] = "duration missing or unreadable, and no end time to compute it"
    bad = (reason != "").to_numpy()
    rejects = rejects_from(batch.original, batch.lines, bad, reason)

    # The other party and the practice's line, by the columns chosen for the file.
    numbers = {c: column(f, c) for c in ("caller_number", "callee_number")}
    other = pd.Series("", index=f.index, dtype="string")
    line = pd.Series("", index=f.index, dtype="string")
    for d in ("inbound", "outbound", "unknown"):
        m = (direction == d).to_numpy()
        # A call of unknown direction is read like an inbound one, without a line (which
        # number is the practice's is not known).
        other[m] = numbers[callers.other["inbound" if d == "unknown" else d]][m]
        if d == "inbound":
            line[m] = numbers[callers.line_column(d)][m]

    callid = column(f, "callid")
    rid = column(f, "id")
    lines = pd.Series(batch.lines, index=f.index)
    ident = callid.where(callid != "", rid)
    key = ident.where(ident != "", "\x00line" + lines.astype(str))
    rows = pd.DataFrame(
        {
            "key": key,
            "call_id": ident.where(ident != "", pd.NA),
            "t": arrival,
            "source_line": lines,
            "direction": direction,
            "outcome": outcome,
            "ring": ring,
            "duration": duration.where(~pd.Series(failed, index=f.index), 0.0),
            "other": other,
            "line": line,
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
    return raw_frame(
        len(c),
        call_id=c["call_id"],
        start=c["t"],
        direction=c["direction"],
        line=null_if_empty(c["line"]),
        caller=null_if_empty(c["other"]),
        outcome=c["outcome"],
        wait_s=c["ring"],
        talk_s=c["duration"],
        agent=null_if_empty(c["upn"]),
        source_line=g["source_line"].min(),
        n_rows=g.size(),
    ).sort_values("source_line", kind="stable").reset_index(drop=True)


def read(source: Source, ctx: ReadContext) -> Iterator[ParsedChunk]:
    """Read Teams PSTN usage or Direct Routing logs (Graph JSON or admin-centre CSV) as raw calls.

    The file's first records are read once more beforehand to decide which column holds the
    caller (:func:`choose_caller_column`); the decision is in the first chunk's notes.

    Raises
    ------
    BadInputError
        The file is neither Graph PSTN records nor a PSTN usage CSV.
    """
    batches = _batches(source)
    callers = _probe(source)
    carry = GroupCarry("key", "t")
    notes = list(callers.notes)
    for batch in batches:
        rows, rejects, skipped, unknown = _rows(batch, source, callers)
        skipped.update(batch.skipped)
        calls = _assemble(carry.push(rows if len(rows) else None))
        yield ParsedChunk(calls, batch.rejects + rejects, batch.rows_read, skipped, unknown, batch.notes + notes)
        notes = []
    yield ParsedChunk(_assemble(carry.push(None, final=True)), [], 0, notes=notes)


FORMATS = [
    Format(
        name=NAME,
        title="Microsoft Teams PSTN usage or Direct Routing log (Graph JSON, or the admin centre's CSV)",
        example="pstn_usage.json",
        sniff=sniff,
        read=read,
        evidence="documentation",
        evidence_note=(
            "built from Microsoft's Graph and admin-centre documentation (whose two definitions of "
            "callerNumber disagree, hence the check on the data); no real export found to check"
        ),
    )
]
