"""Asterisk call detail records (CDR): ``cdr_csv``, ``cdr_custom`` and FreePBX's CDR table.

Three registered formats share one reader, because they hold the same records in different
column orders:

``asterisk_cdr_csv``
    ``/var/log/asterisk/cdr-csv/Master.csv`` written by ``cdr_csv``: no header, the columns
    :data:`CSV_BASE` then, depending on ``cdr_csv.conf``, ``uniqueid`` (``loguniqueid``),
    ``userfield`` (``loguserfield``) and ``peeraccount, linkedid, sequence``
    (``newcdrcolumns``): 16 to 21 fields, the layout decided from the first lines
    (:data:`CSV_OPTIONAL`).
``asterisk_cdr_custom``
    ``/var/log/asterisk/cdr-custom/Master.csv`` written by ``cdr_custom`` with the sample
    template (:data:`CUSTOM_FIELDS`, 19 fields). Same file name, no header and a field count
    that ``cdr_csv`` can also have: the two are told apart by where the date-times, the
    durations and the disposition word sit.
``freepbx_cdr``
    FreePBX's ``asteriskcdrdb.cdr`` table (or any ``cdr_adaptive_odbc`` table) saved as CSV or
    XLSX with a header. Columns are found by name (:data:`VARIABLE_MAP`), in any order, extras
    ignored (``AcctId``, ``tenant``, ``billamount``, ``trunk``, ``sipcallid``, ...).
    ``calldate`` is the start; there is no answer time (it is ``start + duration - billsec``).

From rows to calls
------------------
Asterisk writes one row per *leg*: one inbound call that rings a group of phones can leave a
row per phone, a row per ``Local/`` channel of the group, a row per queue member tried, a row
for the IVR before the queue (where the dialplan forks the CDR), a row for the voicemail it
ended in. Rows sharing ``linkedid`` (else ``uniqueid``) are one call, joined across chunks.
Each leg is ranked (:data:`LEG_RANKS`) and the best leg decides the call's outcome:

====  ============================================================  =============  ==============
rank  leg                                                           call outcome   talk_s
====  ============================================================  =============  ==============
0     ANSWERED, bridged to a phone (``dstchannel`` not Local/)      answered       billsec
1     ANSWERED, bridged to a ``Local/`` channel                     answered       billsec
2     ANSWERED in a conference bridge (``ConfBridge``, ``MeetMe``)  answered       billsec
3     a disposition word not in :data:`DISPOSITIONS`                unknown        billsec
4     ``lastapp`` VoiceMail                                         voicemail      0
5     NO ANSWER, or ``lastapp`` Queue without an agent              missed         0
6     BUSY, CONGESTION                                              busy           0
7     FAILED                                                        failed         0
8     ANSWERED by the system only (no ``dstchannel``: IVR,          ivr_abandoned  0
      announcement, ``Playback``)
====  ============================================================  =============  ==============

Among the legs answered by a person (ranks 0 and 1) the one with the longest ``billsec``
decides: the leg bridged to the agent (``lastapp`` Queue with ``dstchannel`` the agent, or the
agent's own leg) carries the talk time, while the first answered leg of a queue call is often
a short one (an agent's "press 1 to accept", a whisper, a callback-agent confirmation).

Times of the call, from its legs:

- ``start`` = the earliest leg's start;
- *entry* = the earliest start of a leg that queues the caller or rings someone
  (:data:`RING_APPS`: Queue, Dial, AppDial, ...; the deciding leg's start if none does);
- ``ivr_s`` = start to entry: menus, announcements, PIN entry before the queue or the ringing
  (the whole call for an ``ivr_abandoned`` call);
- ``wait_s`` = entry to the deciding leg's answer (answered, unknown, voicemail), or entry to
  the last leg's end (missed, busy, failed); null for ``ivr_abandoned`` (never queued);
- the deciding leg's answer is its ``answer`` column, else ``start + duration - billsec``.

Fields of the call: ``caller`` = ``src`` of the first leg (preferring a real channel over a
``Local/`` one; the number inside ``clid``'s ``<...>`` when ``src`` is empty), whatever the
direction: ``dst``, ``did`` and ``lastdata`` hold numbers *dialled*, never a caller; ``line`` =
``did`` (FreePBX) else ``dst`` of the first leg (``dcontext`` when ``dst`` is empty or ``s``),
for inbound calls only: the one place a dialled number may go (the store's firewall turns a
number there into a keyed label); ``agent`` = the extension of the answering leg's
``dstchannel`` (``SIP/201-0000001a``, ``PJSIP/201-00000012`` and
``Local/201@from-queue-00000034;1`` all give ``201``; a channel naming a phone number, as a
call forwarded to a mobile does, gives none); ``call_id`` = ``linkedid`` (else ``uniqueid``;
null in the 16-field layout, and the ingest hashes the call).

Direction, decided per call, the first rule that applies (:data:`INBOUND_CONTEXTS`,
:data:`INTERNAL_CONTEXTS`):

1. placed by the PBX or an extension, so not inbound: every leg's channel is ``Local/`` (a
   click-to-call, a call file, a conference dialling out: no trunk channel brought it in), or
   the first leg's ``src`` is its own channel's extension (``PJSIP/201-...`` with ``src`` 201),
   or ``src`` is extension-shaped (2 to 6 digits) in the phones' context with no leg in a
   trunk's context: ``outbound`` when ``dst`` looks external (7 digits or more) and is not the
   call's own DID, else ``internal``;
2. ``inbound`` when any leg's ``dcontext`` is a trunk's context (``from-pstn``,
   ``from-trunk*``, ``ext-did*``, ``from-did*``, ``from-external``, ``incoming*``, or one with
   the word ``pstn`` or ``did`` in it, ``site-pstn``), or FreePBX's ``did`` is set;
3. else, when the first leg's ``dcontext`` is a phones' context (``from-internal*``,
   ``from-queue``, ``ext-local``, ``macro-dial*``, ...): ``outbound`` when ``dst`` looks
   external, else ``inbound`` when ``src`` looks external (withheld, or 7 digits or more: a
   call that came in and was sent on by the dialplan), else ``internal``;
4. any other context: ``inbound`` when ``src`` looks external, else ``outbound`` when ``dst``
   does, else ``internal``;
5. a call with a conference leg is never ``inbound``: it becomes ``internal``.

An outbound call's ``caller`` is the other party, the number dialled (``dst``), as every reader
records it: so a call-back made can be matched to the request it answers (pseudonymised like
any caller); its ``agent`` is the extension that dialled (its channel's, else an extension-shaped ``src``); its
``line`` is null, as is an internal call's.

Notes
-----
- Times are the server's local wall clock (naive) and converted with ``--timezone``. A server
  with ``usegmtime=yes`` in ``cdr.conf``/``cdr_csv.conf`` writes UTC: ingest it with
  ``--timezone UTC``. ``calldate`` need not be in Europe/London at all: a PBX hosted abroad
  writes its own zone. The epoch in each call's ``uniqueid``/``linkedid``
  (``1767603600.123``, or ``host-1767603600.123`` with a ``systemname``) is the UTC second
  the call's first channel was created, so start minus epoch is the clock's offset from UTC.
  Where a tenth of the calls or more (:data:`CLOCK_NOTE_SHARE`) agree on another offset than
  the zone applied, the reader says so in the chunk's ``notes`` ("calldate runs 5 h behind UTC
  by the uniqueid epochs, but Europe/London (UTC+0) was applied: ...", :class:`ClockCheck`).
  Nothing is shifted: the user confirms the zone with ``--timezone``.
- Conference bridges (``ConfBridge``, ``MeetMe``) are calls on the phone system but not
  demand on the practice's lines: a two-hour PCN meeting dialled into from outside would
  otherwise count as one long answered inbound call. Such a call is kept (its rows are a call,
  and the store should hold what the phone system did) with direction ``internal``, which
  every inbound metric leaves out, rather than skipped: an outbound call that became a
  three-way conference stays ``outbound``, and a skip would hide a call that did happen.
- The CDR cannot see *why* a queued call ended unanswered: a caller who hung up (abandon) and a
  queue timeout look the same (``lastapp`` Queue, no agent). Such calls are ``missed`` here;
  use the ``queue_log`` for abandons. Likewise a voicemail leg does not say whether a message
  was left, and a call answered only by the IVR or an announcement (``ivr_abandoned``) may have
  heard a "we are closed" message: the opening hours decide ``closed`` downstream.
- ``ivr_s`` is only as fine as the CDR's legs: when the dialplan does not fork the CDR at the
  queue (``ForkCDR``, or FreePBX's own queue legs), the IVR and the queue are one record
  whose start is the call's, ``ivr_s`` is 0 and the IVR time counts as wait.
- A disposition word the reader does not know keeps its leg, ranked ``unknown`` (the call's
  outcome when no person answered), and the word is counted in the chunk's ``unknown``; the
  row is never rejected for it.
- Without ``linkedid`` (the 16- and 18-field ``cdr_csv`` layouts and the ``cdr_custom``
  sample template) a ring group's ``Local/...;2`` halves have uniqueids of their own and would
  look like extra calls; they are skipped and counted ("Local channel leg without linkedid"):
  the caller's own row already says which member answered (its ``dstchannel``). Add
  ``linkedid`` to the export (``newcdrcolumns=yes``) to join every leg. In the 16-field
  layout, which has no id at all, legs of one caller channel are joined by channel name and
  start time.
- Before Asterisk 12 a channel answered by an IVR stays ``ANSWERED`` whatever happens after,
  with ``dstchannel`` set to the last phone tried: such a call counts as answered here. Read
  those servers' queues from the ``queue_log``.
- Rows of a call are joined across chunks (:class:`~telephony.formats._base.GroupCarry`); a
  database export sorted newest first is recognised from the majority of its time steps and
  joined just as well.
- Database dumps write ``NULL`` for an empty field (any column: it is read as empty), and may
  not double the quotes inside ``clid``: ``""Name, maybe" <201>"``, which a CSV reader would
  cut at the comma. The FreePBX reader writes such a field back as CSV quotes it before
  reading, so the row and its caller survive.
- ``amaflags``, ``accountcode``, ``lastdata``, ``userfield`` and FreePBX's ``recordingfile``,
  ``cnam``, ``outbound_cnum`` are read but not used.
- A row whose start is unreadable or out of the range a timestamp holds (a year such as 9999
  or 1677: a placeholder or a broken clock), or whose duration/billsec is not a number (and
  cannot be worked out from its times), is rejected with the reason; the other legs of its
  call still make the call, and the rest of the file is read. A ``cdr_csv`` file whose logging
  options changed part-way has rows of another width: those are rejected as "expected N
  fields" (split the file where the width changes and ingest the parts).
- Everything is vectorised over each chunk (Arrow compute and NumPy sorts); nothing loops over
  rows in Python except to word rejects.
"""

from __future__ import annotations

import csv
import dataclasses
import re
from collections import Counter
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from telephony.errors import BadInputError
from telephony.sources import BLOCK_BYTES, Chunk, Reject, Source, norm_name, read_delimited, read_header
from telephony.timeutil import parse_datetimes, parse_durations
from telephony.formats._base import (
    Format,
    GroupCarry,
    ParsedChunk,
    ReadContext,
    guess_delimiter,
    head_fields,
    map_words,
    raw_frame,
    rejects_from,
    rename_columns,
    require_columns,
)

# ----------------------------------------------------------------------------- layouts as data

CSV_BASE: tuple[str, ...] = (
    "accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp",
    "lastdata", "start", "answer", "end", "duration", "billsec", "disposition", "amaflags",
)
# cdr_csv's optional trailing columns by total field count. 17 and 20 depend on which of
# loguniqueid/loguserfield is on: decided from the values (a uniqueid looks like 1767603600.12).
CSV_OPTIONAL: dict[int, tuple[str, ...]] = {
    16: (),
    17: ("uniqueid",),
    18: ("uniqueid", "userfield"),
    19: ("peeraccount", "linkedid", "sequence"),
    20: ("uniqueid", "peeraccount", "linkedid", "sequence"),
    21: ("uniqueid", "userfield", "peeraccount", "linkedid", "sequence"),
}
CUSTOM_FIELDS: tuple[str, ...] = (
    "clid", "src", "dst", "dcontext", "channel", "dstchannel", "lastapp", "lastdata", "start",
    "answer", "end", "duration", "billsec", "disposition", "amaflags", "accountcode",
    "uniqueid", "userfield", "sequence",
)

# Database/spreadsheet exports of the CDR table: header names (norm_name form) -> our names.
VARIABLE_MAP: dict[str, str] = {
    "calldate": "start", "start": "start", "starttime": "start", "callstart": "start",
    "answer": "answer", "answertime": "answer", "answerdate": "answer",
    "end": "end", "endtime": "end", "enddate": "end",
    "clid": "clid", "callerid": "clid",
    "src": "src", "source": "src",
    "dst": "dst", "destination": "dst",
    "dcontext": "dcontext", "destinationcontext": "dcontext",
    "channel": "channel",
    "dstchannel": "dstchannel", "destinationchannel": "dstchannel",
    "lastapp": "lastapp", "lastapplication": "lastapp",
    "lastdata": "lastdata",
    "duration": "duration",
    "billsec": "billsec", "billableseconds": "billsec",
    "disposition": "disposition",
    "amaflags": "amaflags",
    "accountcode": "accountcode",
    "uniqueid": "uniqueid",
    "linkedid": "linkedid",
    "userfield": "userfield",
    "did": "did",
    "recordingfile": "recordingfile",
    "cnum": "cnum",
    "cnam": "cnam",
    "outboundcnum": "outbound_cnum",
    "peeraccount": "peeraccount",
    "sequence": "sequence",
}
FREEPBX_REQUIRED = ["start", "src", "dst", "duration", "billsec", "disposition"]

# Vendor disposition word -> what the leg did (CONGESTION is a busy network/trunk). Another word
# keeps its leg, ranked "unknown" (:data:`LEG_RANKS`), and is counted in the chunk's unknown.
DISPOSITIONS: dict[str, str] = {
    "ANSWERED": "answered",
    "NO ANSWER": "missed",
    "NOANSWER": "missed",
    "BUSY": "busy",
    "CONGESTION": "busy",
    "FAILED": "failed",
}
_LEG_CODE = {"answered": 0, "missed": 1, "busy": 2, "failed": 3}

# Leg rank (lower decides the call) -> call outcome; see the module docstring's table.
LEG_RANKS: tuple[str, ...] = (
    "answered",       # 0 bridged to a phone
    "answered",       # 1 bridged to a Local/ channel
    "answered",       # 2 in a conference bridge (ConfBridge, MeetMe)
    "unknown",        # 3 a disposition word not in DISPOSITIONS
    "voicemail",      # 4 lastapp VoiceMail
    "missed",         # 5 NO ANSWER, or Queue without an agent
    "busy",           # 6 BUSY / CONGESTION
    "failed",         # 7 FAILED
    "ivr_abandoned",  # 8 answered by the system only (IVR, announcement)
)
_PERSON, _CONFERENCE, _UNKNOWN, _VOICEMAIL, _MISSED, _BUSY, _FAILED, _SYSTEM = 1, 2, 3, 4, 5, 6, 7, 8

# lastapp values (compared in lower case) that say what a leg did.
VOICEMAIL_APPS = frozenset({"voicemail"})
QUEUE_APPS = frozenset({"queue"})
CONFERENCE_APPS = frozenset({"confbridge", "meetme"})
# Apps that queue the caller or ring someone: the first leg running one is where the caller
# left the IVR (ivr_s ends, wait_s starts). AppDial* are the rung side of a Local channel.
RING_APPS = frozenset({"queue", "dial", "appdial", "appdial2", "appqueue", "followme"})

# dcontext prefixes (case-insensitive) of calls arriving from a trunk, and of phones' calls.
INBOUND_CONTEXTS: tuple[str, ...] = (
    "from-pstn", "from-trunk", "from-did", "ext-did", "from-external", "from-sip-external",
    "from-provider", "from-itsp", "from-inbound", "incoming", "inbound",
)
# ... and a trunk's context named after the site (``stadion-pstn``, ``did-direct``): the word
# "pstn" or "did" between dashes or underscores, anywhere in the name.
_INBOUND_WORDS = r"(?i)(?:^|[-_])(?:pstn|did)(?:[-_]|$)"
INTERNAL_CONTEXTS: tuple[str, ...] = (
    "from-internal", "from-queue", "ext-local", "macro-dial", "from-users", "from-extensions",
    "internal", "phones", "outbound", "outgoing",
)
_DIRECTIONS = pa.array(["inbound", "outbound", "internal"], pa.large_string())
_IN, _OUT, _INT = 0, 1, 2
_OUTCOMES = pa.array(LEG_RANKS, pa.large_string())
_NO_LINE = pa.array(["", "s"], pa.large_string())
WITHHELD = ("", "anonymous", "unknown", "private", "restricted", "withheld", "unavailable")
# An extension as a src or a channel names it: 2 to 6 digits (longer is a phone number).
_EXTENSION_NUMBER = r"^\d{2,6}$"

# A channel name's extension: SIP/201-0000001a, PJSIP/201-00000012, Local/201@ctx-0000a;1:
# what follows the technology, up to @ or ;, less the channel's hex sequence suffix.
_CHANNEL_NOT_EXT = r"^[^/]*/|[@;].*$|-[0-9a-fA-F]{4,8}$"
_LOCAL_HALF2 = r"^Local/.*;2$"

# The epoch in a uniqueid/linkedid (``1767603600.123``, ``pbx1-1767603600.123`` when the
# server's systemname is set): when the channel was created, in UTC.
_ID_EPOCH = r"(?:^|[^0-9])(?P<epoch>\d{9,10})\.\d+$"
# Years that pandas' nanosecond timestamps hold (1677-09-21 to 2262-04-11), whole years only.
_YEARS = (1678, 2261)
_YEAR_TOKEN = r"(?:^|[^0-9])(?P<year>\d{4})(?:[^0-9]|$)"

_DT_RE = re.compile(
    r"^\s*(\d{4}[-/]\d{1,2}[-/]\d{1,2}[ T]\d{1,2}:\d{2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}[ T]\d{1,2}:\d{2})"
)
_INT_RE = re.compile(r"^\s*(\d+(\.\d+)?)?\s*$")
_UNIQUEID_RE = re.compile(r"^\s*\d{9,10}\.\d+\s*$")
_DISPOSITION_WORDS = frozenset(k.upper() for k in DISPOSITIONS)

# Where start and disposition sit in the headerless layouts (0-based).
_CSV_POS = (9, 14)
_CUSTOM_POS = (8, 13)


# ----------------------------------------------------------------------------- sniffing


def _row_fits(row: list[str], start_i: int, disp_i: int) -> bool:
    """A headerless row with a date-time at ``start_i`` and at least two of: duration and
    billsec as numbers (or blank) just before ``disp_i``, a disposition word at ``disp_i``.

    Two of three, so that a row with one bad value (the rows a parser must reject) still
    shows the layout."""
    if len(row) <= disp_i or not _DT_RE.match(row[start_i]):
        return False
    hits = (
        bool(_INT_RE.match(row[disp_i - 2]))
        + bool(_INT_RE.match(row[disp_i - 1]))
        + (row[disp_i].strip().upper() in _DISPOSITION_WORDS)
    )
    return hits >= 2


def _headerless_score(source: Source, widths: set[int], pos: tuple[int, int]) -> float:
    """How sure a headerless layout is: most rows have one of its widths and, of those, most
    have its values where it puts them."""
    rows = [r for r in head_fields(source, 30) if any(f.strip() for f in r)]
    if not rows:
        return 0.0
    sized = [r for r in rows if len(r) in widths]
    wide = len(sized) / len(rows)
    fit = sum(_row_fits(r, *pos) for r in sized) / len(sized) if sized else 0.0
    if wide >= 0.6 and fit >= 0.6:
        return 1.0
    if wide >= 0.5 and fit >= 0.3:
        return 0.7
    worded = sum(any(f.strip().upper() in _DISPOSITION_WORDS for f in r) for r in sized)
    if wide >= 0.8 and worded >= 0.5 * len(sized):
        return 0.5  # Asterisk's width and words, values elsewhere (the other layout): came close
    return 0.0


def _looks_like_header(source: Source) -> bool:
    rows = head_fields(source, 1)
    if not rows:
        return False
    names = {VARIABLE_MAP.get(norm_name(c)) for c in rows[0]}
    return len(names & {"start", "disposition", "billsec", "dcontext", "src", "dst"}) >= 3


def sniff_csv(source: Source) -> float:
    """1.0 for an Asterisk ``cdr_csv`` Master.csv: 16–21 fields, start date-time in field 10,
    duration and billsec in 13–14 and a disposition word in 15."""
    if source.kind != "text" or _looks_like_header(source):
        return 0.0
    return _headerless_score(source, set(CSV_OPTIONAL), _CSV_POS)


def sniff_custom(source: Source) -> float:
    """1.0 for a ``cdr_custom`` Master.csv with the sample template: 19 fields, start
    date-time in field 9, duration and billsec in 12–13 and a disposition word in 14."""
    if source.kind != "text" or _looks_like_header(source):
        return 0.0
    return _headerless_score(source, {len(CUSTOM_FIELDS)}, _CUSTOM_POS)


def sniff_freepbx(source: Source) -> float:
    """1.0 for a CDR table export with a header naming calldate/start, disposition, billsec,
    src or dst, and one of Asterisk's own columns (dcontext, dstchannel, lastapp, ...):
    FreePBX ``asteriskcdrdb.cdr``, ``cdr_adaptive_odbc``."""
    lines = source.head_lines(1)
    if not lines:
        return 0.0
    delim = guess_delimiter(source)
    try:
        header = next(csv.reader(lines, delimiter=delim))
    except (csv.Error, StopIteration):
        return 0.0
    names = {VARIABLE_MAP.get(norm_name(c)) for c in header}
    core = {"start", "disposition", "billsec"}
    asterisk = {"dcontext", "dstchannel", "lastapp", "channel", "uniqueid", "clid"}
    if core <= names and ({"src", "dst"} & names) and (asterisk & names):
        return 1.0
    if core <= names or (len(names & (core | {"dcontext", "dstchannel", "lastapp"})) >= 3):
        return 0.6
    return 0.0


# ----------------------------------------------------------------------------- layouts


def _csv_layout(source: Source) -> list[str]:
    """cdr_csv's column names for this file, from the field counts of its first lines."""
    rows = [r for r in head_fields(source, 30) if any(f.strip() for f in r)]
    widths = Counter(len(r) for r in rows if len(r) in CSV_OPTIONAL)
    if not widths:
        found = Counter(len(r) for r in rows).most_common(1)
        n = found[0][0] if found else 0
        raise BadInputError(
            f"{source.name}: not an Asterisk cdr_csv file: its lines have {n} fields, cdr_csv "
            f"writes 16 to 21 (check the file, or give `fmt` or `mapping`)"
        )
    width = widths.most_common(1)[0][0]
    fits = [r for r in rows if len(r) == width and _row_fits(r, *_CSV_POS)]
    if not fits:
        hint = ""
        if sum(len(r) == len(CUSTOM_FIELDS) and _row_fits(r, *_CUSTOM_POS) for r in rows):
            hint = " The columns are in cdr_custom's order: give `fmt` asterisk_cdr_custom."
        raise BadInputError(
            f"{source.name}: not an Asterisk cdr_csv file: no line has the start time in field 10 "
            f"and a disposition (ANSWERED, NO ANSWER, ...) in field 15.{hint}"
        )
    extra = list(CSV_OPTIONAL[width])
    if width in (17, 20):
        # One of uniqueid/userfield is logged: a uniqueid looks like 1767603600.12.
        ids = sum(bool(_UNIQUEID_RE.match(r[16])) for r in fits)
        if ids * 2 < len(fits):
            extra[0] = "userfield"
    return list(CSV_BASE) + extra


def _custom_layout(source: Source) -> list[str]:
    rows = [r for r in head_fields(source, 30) if any(f.strip() for f in r)]
    if not any(len(r) == len(CUSTOM_FIELDS) and _row_fits(r, *_CUSTOM_POS) for r in rows):
        hint = ""
        if any(len(r) in CSV_OPTIONAL and _row_fits(r, *_CSV_POS) for r in rows):
            hint = " The columns are in cdr_csv's order: give `fmt` asterisk_cdr_csv."
        raise BadInputError(
            f"{source.name}: not a cdr_custom Master.csv with the sample template (19 fields, "
            f"start time in field 9, disposition in field 14).{hint} Other templates need a "
            f"mapping file (`mapping`)."
        )
    return list(CUSTOM_FIELDS)


# ----------------------------------------------------------------------------- vectorised helpers


def _text(frame: pd.DataFrame, name: str, trim: bool = False) -> pa.ChunkedArray:
    """A column as Arrow strings, ``""`` for a missing column or value.

    The word ``NULL`` is blanked in every column (database dumps write SQL NULL so); ``trim``
    also trims spaces, for the columns whose exact value matters row by row (the others are
    compared per distinct value, by pattern, or only at call level).
    """
    n = len(frame)
    if name not in frame.columns:
        return pa.chunked_array([pc.fill_null(pa.nulls(n, pa.large_string()), "")])
    arr = pa.array(frame[name].array)
    if not isinstance(arr, pa.ChunkedArray):
        arr = pa.chunked_array([arr])
    if not pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.large_string())
    if arr.null_count:
        arr = pc.fill_null(arr, "")
    if trim:
        arr = pc.utf8_trim_whitespace(arr)
    null_word = pc.equal(arr, "NULL")
    if pc.any(null_word).as_py():
        arr = pc.if_else(null_word, pa.scalar("", pa.large_string()), arr)
    return arr


# Seconds since the epoch that a nanosecond timestamp holds (1677-09-21 to 2262-04-11).
_NS_SECONDS = (np.iinfo(np.int64).min // 10**9 + 1, np.iinfo(np.int64).max // 10**9)


def _datetimes(arr: pa.Array, ctx: ReadContext) -> tuple[np.ndarray, np.ndarray]:
    """Naive wall-clock ``datetime64[ns]`` (NaT where empty or unreadable), and which values
    are dates out of the range a timestamp holds (year 9999, 1677: NaT too).

    The Asterisk spelling goes through Arrow's strptime; anything else (spreadsheet re-saves,
    fractions of seconds) through :func:`~telephony.timeutil.parse_datetimes`. A year out of
    range is refused before either could overflow, so that the row's reject can say why.
    """
    ts = pc.strptime(arr, format="%Y-%m-%d %H:%M:%S", unit="s", error_is_null=True)
    # Arrow's strptime rolls an impossible day over (30 February -> 2 March): take those back.
    day = pc.utf8_slice_codeunits(pc.if_else(pc.is_valid(ts), arr, pa.scalar(None, arr.type)), 8, 10)
    rolled = pc.fill_null(pc.not_equal(pc.day(ts), pc.cast(day, pa.int64())), False)
    ts = pc.if_else(rolled, pa.scalar(None, ts.type), ts)
    secs = ts.cast(pa.int64())
    out_of_range = _bool(pc.or_(pc.less(secs, _NS_SECONDS[0]), pc.greater(secs, _NS_SECONDS[1])))
    if out_of_range.any():
        ts = pc.if_else(pa.array(out_of_range), pa.scalar(None, ts.type), ts)
    out = np.array(ts.cast(pa.timestamp("ns")).to_numpy(zero_copy_only=False), dtype="datetime64[ns]")
    need = np.isnat(out) & ~out_of_range & pc.not_equal(arr, "").to_numpy(zero_copy_only=False)
    if need.any():
        sub_arr = arr.filter(pa.array(need))
        year = pc.struct_field(pc.extract_regex(sub_arr, _YEAR_TOKEN), [0])
        year = pc.cast(pc.fill_null(year, "2000"), pa.int32())
        bad_year = _bool(pc.or_(pc.less(year, _YEARS[0]), pc.greater(year, _YEARS[1])))
        idx = np.flatnonzero(need)
        out_of_range[idx[bad_year]] = True
        idx = idx[~bad_year]
        if len(idx):
            sub = pd.Series(sub_arr.filter(pa.array(~bad_year)).to_pylist(), dtype="string")
            parsed = parse_datetimes(sub, dayfirst=ctx.dayfirst, tz=ctx.zone)
            if getattr(parsed.dt, "tz", None) is not None:
                # Epoch or offset times: back to the export's wall clock, like the rest.
                parsed = parsed.dt.tz_convert(ctx.zone).dt.tz_localize(None)
            out[idx] = parsed.to_numpy(dtype="datetime64[ns]")
    return out, out_of_range


def _numbers(arr: pa.Array) -> np.ndarray:
    """Seconds as float64 (NaN where empty or unreadable)."""
    a = pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)
    try:
        return np.array(pc.cast(a, pa.float64()).to_numpy(zero_copy_only=False), dtype="float64")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return np.array(parse_durations(pd.Series(a.to_pylist(), dtype="string")), dtype="float64")


def _on_uniques(arr: pa.Array, fn) -> np.ndarray:
    """Apply ``fn`` (Arrow array of distinct values -> NumPy array) once per distinct value."""
    enc = pc.dictionary_encode(arr)
    if isinstance(enc, pa.ChunkedArray):
        # The chunks of an encoded chunked array share one dictionary (unified to be sure).
        enc = enc.unify_dictionaries()
        if enc.num_chunks == 0:
            return np.asarray(fn(pa.array([], pa.large_string())))[np.zeros(0, dtype=np.int64)]
        dictionary = enc.chunk(0).dictionary
        idx = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in enc.chunks])
    else:
        dictionary, idx = enc.dictionary, enc.indices.to_numpy(zero_copy_only=False)
    return np.asarray(fn(dictionary))[idx]


def _arrow(series: pd.Series) -> pa.Array:
    """A string Series' Arrow data as one large_string array (no copy when possible)."""
    a = pa.array(series.array)
    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks() if a.num_chunks != 1 else a.chunk(0)
    return a if pa.types.is_large_string(a.type) else a.cast(pa.large_string())


def _strings(a: pa.Array) -> pd.api.extensions.ExtensionArray:
    """An Arrow string array as a pandas ``string`` array, without a round trip via Python
    (:func:`raw_frame` keeps an array as it is, where it would copy a Series to NumPy)."""
    if not pa.types.is_large_string(a.type):
        a = a.cast(pa.large_string())
    return pd.arrays.ArrowStringArray(a)


def _prefix_regex(prefixes: tuple[str, ...]) -> str:
    return "(?i)^(?:" + "|".join(re.escape(p) for p in prefixes) + ")"


def _bool(arr) -> np.ndarray:
    return pc.fill_null(arr, False).to_numpy(zero_copy_only=False).astype(bool)


def _apps(arr: pa.Array, apps: frozenset[str]) -> np.ndarray:
    """Which legs ran one of ``apps`` (lastapp compared in lower case, per distinct value)."""
    names = pa.array(sorted(apps), pa.large_string())
    return _on_uniques(arr, lambda u: _bool(pc.is_in(pc.utf8_lower(u), value_set=names)))


def _looks_external(arr: pa.Array, withheld: bool) -> np.ndarray:
    """Numbers with 7+ digits (``+44 7700 900123``); withheld words too when ``withheld``."""
    ext = _bool(pc.match_substring_regex(arr, r"^\+?(?:[\s\-()]*\d){7,}[\s\-()]*$"))
    if withheld:
        ext |= _bool(pc.is_in(pc.utf8_lower(arr), value_set=pa.array(WITHHELD, pa.large_string())))
    return ext


def _extension(channel: pa.Array) -> pa.Array:
    """The extension in a channel name, null when there is none or it is a phone number.

    ``Local/07700900123@from-internal-0000001;1`` (a call forwarded to a mobile, or dialled
    out by the PBX) names a number, not an agent: a dialled number goes nowhere but ``line``.
    """
    ext = pc.replace_substring_regex(channel, _CHANNEL_NOT_EXT, "")
    ext = pc.fill_null(ext, "")
    bad = pa.array(_looks_external(ext, withheld=False) | _bool(pc.equal(ext, "")))
    return pc.if_else(bad, pa.scalar(None, ext.type), ext)


# ----------------------------------------------------------------------------- rows -> legs


def _start_reject(raw: object, out_of_range: bool) -> str:
    if out_of_range:
        return (
            f"start time '{raw}' is out of range (years {_YEARS[0]} to {_YEARS[1]} only): a "
            f"placeholder or a broken clock; fix the date or leave the row out"
        )
    return f"start time '{raw}' missing or unreadable (expected YYYY-MM-DD HH:MM:SS)"


def _legs(
    frame: pd.DataFrame, lines: np.ndarray, ctx: ReadContext
) -> tuple[pd.DataFrame, list[Reject], Counter, Counter]:
    """Normalise one chunk's rows into legs; reject and skip what cannot be a leg.

    Returns
    -------
    legs : pandas.DataFrame
        One row per usable leg, with the fields :func:`_assemble` needs.
    rejects, skipped, unknown
    """
    n = len(frame)
    if n == 0:
        return pd.DataFrame(), [], Counter(), Counter()
    col = {c: _text(frame, c) for c in (
        "start", "end", "src", "dst", "clid", "channel", "duration", "billsec", "disposition",
        "dcontext", "lastapp",
    )}
    col.update({c: _text(frame, c, trim=True) for c in ("answer", "dstchannel", "uniqueid", "linkedid", "did")})
    start, start_oor = _datetimes(col["start"], ctx)
    duration = _numbers(col["duration"])
    billsec = _numbers(col["billsec"])
    disp_code = _on_uniques(
        col["disposition"],
        lambda u: map_words(pd.Series(u.to_pylist(), dtype="string"), DISPOSITIONS)[0]
        .map(_LEG_CODE).fillna(-1).to_numpy(dtype=np.int8),
    )
    answered = disp_code == 0
    unknown_disp = disp_code < 0
    no_time = np.full(n, np.datetime64("NaT"), "datetime64[ns]")
    answer = _datetimes(col["answer"], ctx)[0] if "answer" in frame.columns else no_time

    # Durations missing: work them out from the times where the layout has them.
    if np.isnan(duration).any() and "end" in frame.columns:
        end = _datetimes(col["end"], ctx)[0]
        fix = np.isnan(duration) & ~np.isnat(end) & ~np.isnat(start)
        duration[fix] = (end[fix] - start[fix]) / np.timedelta64(1, "s")
        fixb = np.isnan(billsec) & ~np.isnat(end) & ~np.isnat(answer)
        billsec[fixb] = (end[fixb] - answer[fixb]) / np.timedelta64(1, "s")
    # A blank billsec on a leg that was not answered is no talk; on an answered one, a fault.
    billsec[np.isnan(billsec) & ~answered] = 0.0

    # Rejects: one reason per row, the first problem found. An unknown disposition is not one.
    bad_start = np.isnat(start)
    bad_num = (np.isnan(duration) | np.isnan(billsec)) & ~bad_start
    bad = bad_start | bad_num
    rejects: list[Reject] = []
    if bad.any():
        raw_start = np.asarray(col["start"].to_pylist(), dtype=object)
        raw_dur = np.asarray(col["duration"].to_pylist(), dtype=object)
        raw_bill = np.asarray(col["billsec"].to_pylist(), dtype=object)
        reason = pd.Series("", index=frame.index, dtype=object)
        for i in np.flatnonzero(bad):  # rejected rows only: few
            if bad_start[i]:
                reason.iat[i] = _start_reject(raw_start[i], start_oor[i])
            else:
                what = [f"{name} '{raw[i]}'" for name, raw, v in (
                    ("duration", raw_dur, duration), ("billsec", raw_bill, billsec)) if np.isnan(v[i])]
                reason.iat[i] = f"{' and '.join(what)} not a number of seconds (nor given by the times)"
        rejects = rejects_from(frame, lines, bad, reason)
    unknown: Counter = Counter()
    if (unknown_disp & ~bad).any():
        raw_disp = np.asarray(col["disposition"].to_pylist(), dtype=object)
        for w, k in Counter(raw_disp[unknown_disp & ~bad].tolist()).items():
            unknown[str(w) if w else "(empty disposition)"] += k

    # Keys: linkedid, else uniqueid, else (16 fields) channel name + start time.
    linked, uniq = col["linkedid"], col["uniqueid"]
    has_link = _bool(pc.not_equal(linked, ""))
    ident = pc.if_else(pa.array(has_link), linked, uniq)
    has_id = _bool(pc.not_equal(ident, ""))
    if has_id.all():
        key = ident
    else:
        fallback = pc.binary_join_element_wise(col["channel"], col["start"], pa.scalar("|", pa.large_string()))
        key = pc.if_else(pa.array(has_id), ident, fallback)
    call_id = pc.if_else(pa.array(has_id), ident, pa.scalar(None, pa.large_string()))

    # A Local/...;2 half with no linkedid cannot be joined to its call: skip, counted.
    skipped: Counter = Counter()
    local_half = _bool(pc.match_substring_regex(col["channel"], _LOCAL_HALF2)) & ~has_link & ~bad
    if local_half.any():
        skipped["Local channel leg without linkedid (the caller's row has its answer)"] = int(local_half.sum())
    keep = ~bad & ~local_half

    # Leg rank (LEG_RANKS).
    is_vm = _apps(col["lastapp"], VOICEMAIL_APPS)
    is_queue = _apps(col["lastapp"], QUEUE_APPS)
    is_conf = _apps(col["lastapp"], CONFERENCE_APPS)
    is_ring = _apps(col["lastapp"], RING_APPS)
    has_dst = _bool(pc.not_equal(col["dstchannel"], ""))
    dst_local = _bool(pc.starts_with(col["dstchannel"], "Local/"))
    rank = np.select(
        [
            unknown_disp,
            is_conf & answered,
            is_vm,
            answered & has_dst & ~dst_local,
            answered & has_dst,
            (disp_code == 1) | is_queue,
            disp_code == 2,
            disp_code == 3,
        ],
        [_UNKNOWN, _CONFERENCE, _VOICEMAIL, 0, _PERSON, _MISSED, _BUSY, _FAILED],
        default=_SYSTEM,
    ).astype(np.int8)

    dur_ns = np.nan_to_num(duration, nan=0.0) * 1e9
    tend = start + dur_ns.astype("int64").astype("timedelta64[ns]")
    # The leg's answer: its answer column, else start + (duration - billsec).
    ring_ns = np.clip(np.nan_to_num(duration - billsec, nan=0.0), 0, None) * 1e9
    ans = np.where(np.isnat(answer), start + ring_ns.astype("int64").astype("timedelta64[ns]"), answer)

    # dcontext per distinct value: 1 = a trunk's context, 2 = the phones' context.
    ctx_kind = _on_uniques(col["dcontext"], lambda u: np.where(
        _bool(pc.match_substring_regex(u, _prefix_regex(INBOUND_CONTEXTS)))
        | _bool(pc.match_substring_regex(u, _INBOUND_WORDS)), 1,
        np.where(_bool(pc.match_substring_regex(u, _prefix_regex(INTERNAL_CONTEXTS))), 2, 0)))
    has_did = _bool(pc.not_equal(col["did"], ""))

    # What the call takes from its first leg, worked out per leg while the rows are columns.
    # Line: DID, else dst (unless empty or the catch-all "s"), else dcontext.
    dst_ok = pc.invert(pc.is_in(col["dst"], value_set=_NO_LINE))
    line_v = pc.if_else(dst_ok, col["dst"], col["dcontext"])
    line_v = pc.if_else(pa.array(has_did), col["did"], line_v)
    # Caller: src, or the number in clid's <...> where src is empty (never dst, did, lastdata:
    # those hold numbers dialled).
    caller = col["src"]
    no_src = _bool(pc.equal(caller, ""))
    if no_src.any():
        clid_num = pc.struct_field(pc.extract_regex(col["clid"], r"<(?P<n>[^<>]*)>"), [0])
        caller = pc.if_else(pa.array(no_src), pc.fill_null(clid_num, ""), caller)

    k = pa.array(keep)

    def s(a: pa.Array) -> pd.Series:
        return pd.Series(a.filter(k), dtype=pd.ArrowDtype(pa.large_string()))

    legs = pd.DataFrame(
        {
            "_key": s(key),
            "call_id": s(call_id),
            "start": start[keep],
            "_tend": tend[keep],
            "_ans": ans[keep],
            "billsec": billsec[keep],
            "_rank": rank[keep],
            "_ring": is_ring[keep],
            "_conf": is_conf[keep],
            "_localch": _bool(pc.starts_with(col["channel"], "Local/"))[keep],
            "_trunkctx": (ctx_kind == 1)[keep],
            "_intctx": (ctx_kind == 2)[keep],
            "_hasdid": has_did[keep],
            "_caller": s(caller),
            "_line": s(line_v),
            "_did": s(col["did"]),
            "dst": s(col["dst"]),
            "channel": s(col["channel"]),
            "dstchannel": s(col["dstchannel"]),
            "source_line": np.asarray(lines, dtype=np.int64)[keep],
        }
    )
    return legs, rejects, skipped, unknown


# ----------------------------------------------------------------------------- legs -> calls


def _assemble(legs: pd.DataFrame) -> pd.DataFrame:
    """One raw call per key from its legs (see the module docstring)."""
    if legs is None or legs.empty:
        return raw_frame(0)
    n = len(legs)
    codes = pc.dictionary_encode(_arrow(legs["_key"])).indices.to_numpy(zero_copy_only=False)
    line = legs["source_line"].to_numpy(dtype=np.int64)
    start_i = legs["start"].to_numpy(dtype="datetime64[ns]").view("int64")
    rank = legs["_rank"].to_numpy()
    billsec = legs["billsec"].to_numpy(dtype="float64")
    # First leg: a real channel before a Local/ one, then earliest, then first in the file.
    o1 = np.lexsort((line, start_i, legs["_localch"].to_numpy(), codes))
    sc = codes[o1]
    bounds = np.flatnonzero(np.r_[True, sc[1:] != sc[:-1]])
    first = o1[bounds]
    # Deciding leg: the best rank; among legs answered by a person, the longest talk (the leg
    # bridged to the agent, not a short agent-confirmation or whisper leg before it), then
    # the rank, then the first-leg order.
    pos = np.empty(n, dtype=np.int64)
    pos[o1] = np.arange(n)
    person = rank <= _PERSON
    klass = np.where(person, 0, rank)
    dec_order = np.lexsort((pos, rank, np.where(person, -billsec, 0.0), klass, codes))
    dec = dec_order[np.flatnonzero(np.r_[True, codes[dec_order][1:] != codes[dec_order][:-1]])]
    # dec and the groups of o1 are both in ascending key-code order: one deciding leg per group.
    dec = dec[np.searchsorted(codes[dec], sc[bounds])]

    def per_call(values: np.ndarray, ufunc) -> np.ndarray:
        return ufunc.reduceat(values[o1], bounds)

    n_rows = np.diff(np.r_[bounds, n])
    call_start = per_call(start_i, np.minimum)
    first_line = per_call(line, np.minimum)
    last_end = per_call(legs["_tend"].to_numpy(dtype="datetime64[ns]").view("int64"), np.maximum)
    ring_start = np.where(legs["_ring"].to_numpy(), start_i, np.iinfo(np.int64).max)
    entry = np.minimum(per_call(ring_start, np.minimum), start_i[dec])
    trunk = per_call(legs["_trunkctx"].to_numpy(), np.maximum).astype(bool)
    has_did = per_call(legs["_hasdid"].to_numpy(), np.maximum).astype(bool)
    all_local = per_call(legs["_localch"].to_numpy(), np.minimum).astype(bool)
    conference = per_call(legs["_conf"].to_numpy(), np.maximum).astype(bool)
    g = len(first)

    def take(name: str, idx: np.ndarray) -> pa.Array:
        return _arrow(legs[name]).take(pa.array(idx))

    # Times (module docstring): IVR until the first leg that queues or rings, wait from there.
    dec_rank = rank[dec]
    dec_ans = legs["_ans"].to_numpy(dtype="datetime64[ns]").view("int64")[dec]
    system = dec_rank == _SYSTEM
    ivr = np.where(system, last_end - call_start, entry - call_start) / 1e9
    wait = np.where(dec_rank <= _VOICEMAIL, dec_ans - entry, last_end - entry) / 1e9
    wait = np.where(system, np.nan, np.clip(wait, 0, None))
    ivr = np.clip(ivr, 0, None)
    talk = np.where(dec_rank <= _UNKNOWN, np.nan_to_num(billsec[dec], nan=0.0), 0.0)

    # Direction (module docstring).
    caller, dst = take("_caller", first), take("dst", first)
    int_ctx = legs["_intctx"].to_numpy()[first]
    src_ext = _looks_external(caller, withheld=True)

    def extension_of(idx: np.ndarray, names: pa.Array) -> pa.Array:
        """``_extension`` of ``names`` at the calls ``idx`` (bool mask), null elsewhere: only
        where it can matter, as channel names are all distinct and the pattern is not cheap."""
        if not idx.any():
            return pa.nulls(g, pa.large_string())
        w = np.flatnonzero(idx)
        ext = _extension(names.take(pa.array(w))).to_numpy(zero_copy_only=False)
        full = np.full(g, None, dtype=object)
        full[w] = ext
        return pa.array(full, pa.large_string())

    # The first leg's channel's extension, where the caller is not a phone number.
    channel_first = take("channel", first)
    chan_ext = extension_of(~src_ext, channel_first)
    # Placed from an extension: src is the extension of the caller's own channel (PJSIP/201-...,
    # whatever context the legs went through); or, weaker, src is extension-shaped in the
    # phones' context on a call that no leg says came in from a trunk.
    own_phone = _bool(pc.equal(caller, pc.fill_null(chan_ext, ""))) & _bool(pc.not_equal(caller, ""))
    src_extension = _bool(pc.match_substring_regex(caller, _EXTENSION_NUMBER))
    short_src = src_extension & int_ctx & ~trunk
    dst_ext = _looks_external(dst, withheld=False)
    # A call from an extension to the practice's own number (its DID) stays inside.
    dials_out = dst_ext & ~_bool(pc.equal(dst, take("_did", first)))
    dir_code = np.select(
        [all_local | own_phone | short_src, trunk, has_did, int_ctx],
        [
            np.where(dials_out, _OUT, _INT),
            _IN,
            _IN,
            np.where(dst_ext, _OUT, np.where(src_ext, _IN, _INT)),
        ],
        default=np.where(src_ext, _IN, np.where(dst_ext, _OUT, _INT)),
    ).astype(np.int8)
    # A conference bridge is not demand on the practice's lines (module docstring, Notes).
    dir_code[conference & (dir_code == _IN)] = _INT
    inbound = dir_code == _IN
    outbound = dir_code == _OUT
    direction = _DIRECTIONS.take(pa.array(dir_code))

    # Line: the first leg's (DID, dst or dcontext), for inbound calls only.
    line_v = take("_line", first)
    line_v = pc.if_else(pa.array(inbound), line_v, pa.scalar(None, line_v.type))

    # Agent: the answering leg's extension; for outbound calls, the extension that dialled
    # (its channel, else an extension-shaped src, else the phone the answering leg rang).
    # An unknown disposition with talk time was answered by someone: say whom, as the CDR does.
    answering = (dec_rank <= _PERSON) | ((dec_rank == _UNKNOWN) & (talk > 0))
    agent = extension_of(answering | outbound, take("dstchannel", dec))
    if outbound.any():
        local_first = legs["_localch"].to_numpy()[first]
        dialler = extension_of(outbound & ~local_first, channel_first)
        by_src = pc.if_else(pa.array(src_extension), caller, pa.scalar(None, caller.type))
        # A click-to-call has only Local/ channels and the patient's number as src: the phone
        # in the call is the one its answering leg rang.
        dialler = pc.coalesce(dialler, by_src, agent)
        agent = pc.if_else(pa.array(outbound), dialler, agent)
    agent = pc.if_else(pa.array(answering | outbound), agent, pa.scalar(None, agent.type))

    # An outbound call's other party is the number dialled (a call-back made to a patient).
    party = pc.if_else(pa.array(outbound), dst, caller)
    return raw_frame(
        g,
        call_id=_strings(take("call_id", first)),
        start=call_start.view("datetime64[ns]"),
        direction=_strings(direction),
        line=_strings(line_v),
        caller=_strings(party),
        outcome=_strings(_OUTCOMES.take(pa.array(dec_rank))),
        ivr_s=ivr.astype("float64"),
        wait_s=wait.astype("float64"),
        talk_s=talk.astype("float64"),
        agent=_strings(agent),
        source_line=first_line,
        n_rows=n_rows.astype("int64"),
    )


# ----------------------------------------------------------------------------- the PBX's clock

# Zones offered as examples when the start times run off the zone applied, by their offset at
# the time of the calls (the first that fits is named).
EXAMPLE_ZONES: tuple[str, ...] = (
    "UTC", "Europe/London", "Europe/Paris", "Europe/Athens", "Europe/Moscow", "Asia/Dubai",
    "Asia/Karachi", "Asia/Kolkata", "Asia/Dhaka", "Asia/Bangkok", "Asia/Shanghai", "Asia/Tokyo",
    "Australia/Sydney", "Pacific/Auckland", "America/Sao_Paulo", "America/Halifax",
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "America/Anchorage", "Pacific/Honolulu", "Africa/Nairobi",
)
# Share of the calls checked that must agree on an offset other than the zone's before it is
# reported: a few calls whose first record started long after the channel (a record cut from
# the export) are not a clock.
CLOCK_NOTE_SHARE = 0.1


def _hours(minutes: int) -> str:
    h, m = divmod(abs(int(minutes)), 60)
    return " ".join(p for p in (f"{h} h" if h else "", f"{m} min" if m else "") if p) or "0 h"


def _utc_label(minutes: int) -> str:
    h, m = divmod(abs(int(minutes)), 60)
    return f"UTC{'-' if minutes < 0 else '+'}{h}" + (f":{m:02d}" if m else "")


class ClockCheck:
    """Compare the zone applied to the start times with the offset the uniqueid epochs imply.

    A uniqueid (and so a linkedid) is ``<epoch>.<sequence>``: the UTC second the channel was
    created, which is the start of the call it names. Start times minus that epoch give the
    offset of the PBX's clock from UTC, call by call, to the quarter hour; where a share of the
    calls (:data:`CLOCK_NOTE_SHARE`) agree on an offset other than the one of the zone being
    applied (``--timezone``, default Europe/London), :meth:`note` says so and what to do.
    Nothing is shifted: the user confirms the zone.

    Parameters
    ----------
    zone : str
        The zone the start times are read in (:attr:`ReadContext.zone`).
    label : str
        The start column as the export names it, for the note (``calldate``, or
        ``the start column`` in a file without a header).
    """

    def __init__(self, zone: str, label: str):
        self.zone = zone
        self.label = label
        self.pairs: Counter = Counter()  # (offset the epochs imply, the zone's) in minutes -> calls
        self._when: dict[tuple[int, int], pd.Timestamp] = {}

    def add(self, calls: pd.DataFrame) -> None:
        """Count the calls of one chunk whose id carries an epoch."""
        if calls.empty:
            return
        ids = pa.array(calls["call_id"].array)
        if isinstance(ids, pa.ChunkedArray):
            ids = ids.combine_chunks()
        epoch = pc.struct_field(pc.extract_regex(pc.fill_null(ids.cast(pa.large_string()), ""), _ID_EPOCH), [0])
        epoch = pc.cast(epoch, pa.float64()).to_numpy(zero_copy_only=False)
        wall = calls["start"].to_numpy(dtype="datetime64[ns]")
        ok = ~np.isnan(epoch) & ~np.isnat(wall)
        if not ok.any():
            return
        wall = pd.Series(wall[ok])
        implied = np.round((wall.to_numpy().view("int64") / 1e9 - epoch[ok]) / 900.0).astype(np.int64) * 15
        # The zone's offset at each wall time (NaT in the hour a clock change skips or repeats).
        utc = wall.dt.tz_localize(self.zone, ambiguous="NaT", nonexistent="NaT")
        zone_min = ((wall - utc.dt.tz_convert("UTC").dt.tz_localize(None)) / pd.Timedelta(minutes=1)).round()
        fine = zone_min.notna().to_numpy() & (np.abs(implied) <= 14 * 60)
        if not fine.any():
            return
        zone_min = zone_min.to_numpy()[fine].astype(np.int64)
        implied = implied[fine]
        pairs, first, counts = np.unique(np.c_[implied, zone_min], axis=0, return_index=True, return_counts=True)
        for (i, z), f, c in zip(pairs.tolist(), first.tolist(), counts.tolist()):
            self.pairs[(i, z)] += c
            self._when.setdefault((i, z), wall[fine].iloc[f])

    def _example_zone(self, minutes: int, when: pd.Timestamp) -> str | None:
        for name in EXAMPLE_ZONES:
            offset = when.tz_localize(name, ambiguous=True, nonexistent="shift_forward").utcoffset()
            if offset == pd.Timedelta(minutes=minutes) and name != self.zone:
                return name
        return None

    def note(self) -> str | None:
        """The note for the summary, or ``None`` when the zone fits (or nothing could be checked)."""
        total = sum(self.pairs.values())
        off = {p: c for p, c in self.pairs.items() if p[0] != p[1]}
        if not total or not off:
            return None
        (implied, zone_min), calls = max(off.items(), key=lambda kv: (kv[1], kv[0]))
        if calls < CLOCK_NOTE_SHARE * total:
            return None
        applied = f"{self.zone} ({_utc_label(zone_min)})"
        example = self._example_zone(implied, self._when[(implied, zone_min)])
        if implied == 0:
            return (
                f"{self.label} is UTC by the uniqueid epochs, but {applied} was applied: if the "
                f"PBX writes UTC (usegmtime), re-ingest with `timezone` UTC"
            )
        way = "ahead of" if implied > 0 else "behind"
        eg = f", e.g. {example}" if example else f" (a zone at {_utc_label(implied)} then)"
        return (
            f"{self.label} runs {_hours(implied)} {way} UTC by the uniqueid epochs, but {applied} "
            f"was applied: if the PBX is in another zone, re-ingest with `timezone` ZONE{eg}"
        )


# ----------------------------------------------------------------------------- readers


def _read_chunks(
    chunks: Iterator[Chunk], ctx: ReadContext, label: str = "the start column"
) -> Iterator[ParsedChunk]:
    carry = GroupCarry("_key", "_tend")
    clock = ClockCheck(ctx.zone, label)
    for chunk in chunks:
        legs, rejects, skipped, unknown = _legs(chunk.frame, chunk.lines, ctx)
        skipped.update(chunk.skipped())
        calls = _assemble(carry.push(legs))
        clock.add(calls)
        yield ParsedChunk(calls, list(chunk.rejects) + rejects, chunk.rows_read, skipped, unknown)
    calls = _assemble(carry.push(None, final=True))
    clock.add(calls)
    note = clock.note()
    yield ParsedChunk(calls, [], 0, Counter(), Counter(), [note] if note else [])


def read_csv(source: Source, ctx: ReadContext) -> Iterator[ParsedChunk]:
    """Read an Asterisk ``cdr_csv`` Master.csv as raw calls, in bounded chunks.

    Raises
    ------
    BadInputError
        The file's lines are not cdr_csv records.
    """
    names = _csv_layout(source)
    yield from _read_chunks(read_delimited(source, names, header=False), ctx)


def read_custom(source: Source, ctx: ReadContext) -> Iterator[ParsedChunk]:
    """Read a ``cdr_custom`` Master.csv (sample template) as raw calls, in bounded chunks.

    Raises
    ------
    BadInputError
        The file's lines are not in the sample template's layout.
    """
    names = _custom_layout(source)
    yield from _read_chunks(read_delimited(source, names, header=False), ctx)


# A clid a database dump wrote without doubling its inner quotes: ,""Name, maybe" <1115>",
# A CSV reader ends the field at the second quote and the row falls apart at a comma in the
# name; written back as CSV quotes it (,"""Name, maybe"" <1115>",). Well-formed fields start
# with three quotes, or four, and do not match.
_BROKEN_CLID = re.compile(rb'(?m)(^|[,;\t|])""([^"\r\n]+)" <([^"<>\r\n]*)>"(?=[,;\t|]|\r?$)')


@dataclasses.dataclass
class _RepairedClid(Source):
    """A text source whose blocks have broken clid quoting written back as CSV."""

    def iter_utf8_blocks(self, block_bytes: int = BLOCK_BYTES) -> Iterator[bytes]:
        for block in super().iter_utf8_blocks(block_bytes):
            yield _BROKEN_CLID.sub(rb'\1"""\2"" <\3>"', block)


def read_freepbx(source: Source, ctx: ReadContext) -> Iterator[ParsedChunk]:
    """Read a FreePBX/Asterisk CDR table export (with a header) as raw calls, in chunks.

    Raises
    ------
    BadInputError
        The header lacks the columns a CDR needs.
    """
    delim = guess_delimiter(source)
    header = read_header(source, delim)
    frame = rename_columns(pd.DataFrame(columns=header), VARIABLE_MAP)
    require_columns(frame, FREEPBX_REQUIRED, source, "freepbx_cdr")
    if source.kind == "text":
        source = _RepairedClid(**{f.name: getattr(source, f.name) for f in dataclasses.fields(source)})
    label = next((h for h, c in zip(header, frame.columns) if c == "start"), "calldate")

    notes: list[str] = []  # which column was taken where two could be one field
    memo: dict = {}

    def renamed() -> Iterator[Chunk]:
        for chunk in read_delimited(source, header=True, delimiter=delim):
            chunk.frame = rename_columns(chunk.frame, VARIABLE_MAP, notes, memo=memo)
            yield chunk

    for parsed in _read_chunks(renamed(), ctx, label):
        parsed.notes = notes + parsed.notes
        notes.clear()
        yield parsed


FORMATS = [
    Format(
        name="asterisk_cdr_csv",
        title="Asterisk cdr_csv Master.csv (no header; 16 to 21 columns, with uniqueid/linkedid when logged)",
        example="Master.csv",
        sniff=sniff_csv,
        read=read_csv,
        evidence="real",
        evidence_note=(
            "a public 21-column Master.csv from a running Asterisk: ring groups through Local "
            "channels, uniqueids with a systemname prefix, a server clock in UTC"
        ),
    ),
    Format(
        name="asterisk_cdr_custom",
        title="Asterisk cdr_custom Master.csv with the sample template (no header, 19 columns)",
        example="cdr-custom/Master.csv",
        sniff=sniff_custom,
        read=read_custom,
        evidence="real",
        evidence_note=(
            "a public cdr_custom Master.csv written with the sample template by a running "
            "Asterisk (endpoints named by name, a server clock three hours ahead of UTC)"
        ),
    ),
    Format(
        name="freepbx_cdr",
        title="FreePBX asteriskcdrdb.cdr table (or cdr_adaptive_odbc) exported as CSV/XLSX with a header",
        example="cdr.csv",
        sniff=sniff_freepbx,
        read=read_freepbx,
        evidence="real",
        evidence_note=(
            "a public CDR table export from a running PBX (AcctId/tenant layout: NULLs, broken "
            "clid quoting, queue calls with agent-confirmation legs, conference bridges, "
            "extension-originated calls, calldate five hours behind UTC)"
        ),
    ),
]
