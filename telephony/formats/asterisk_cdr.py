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
    ignored. ``calldate`` is the start; there is no answer time (it is ``start + duration -
    billsec``).

From rows to calls
------------------
Asterisk writes one row per *leg*: one inbound call that rings a group of phones can leave a
row per phone, a row per ``Local/`` channel of the group, a row for the voicemail it ended in.
Rows sharing ``linkedid`` (else ``uniqueid``) are one call, joined across chunks. Each leg is
ranked (:data:`LEG_RANKS`) and the best leg decides the call:

====  ==========================================================  ==============  =================
rank  leg                                                         call outcome    wait_s / talk_s
====  ==========================================================  ==============  =================
0     ANSWERED, bridged to a phone (``dstchannel`` not Local/)    answered        to answer/billsec
1     ANSWERED, bridged to a ``Local/`` channel                   answered        to answer/billsec
2     ``lastapp`` VoiceMail                                       voicemail       to answer / 0
3     NO ANSWER, or ``lastapp`` Queue without an agent            missed          whole call / 0
4     BUSY, CONGESTION                                            busy            whole call / 0
5     FAILED                                                      failed          whole call / 0
6     ANSWERED by the system only (no ``dstchannel``: IVR,        ivr_abandoned   null / 0
      announcement, ``Playback``)
====  ==========================================================  ==============  =================

"To answer" is from the call's first leg starting to the deciding leg's answer (``answer``,
or ``start + duration - billsec`` where there is no answer column); "whole call" is from the
first leg's start to the last leg's end.

Fields of the call: ``start`` = earliest leg start; ``caller`` = ``src`` of the first leg
(preferring a real channel over a ``Local/`` one; the number inside ``clid``'s ``<...>`` when
``src`` is empty); ``line`` = ``did`` (FreePBX) else ``dst`` of the first leg (``dcontext``
when ``dst`` is empty or ``s``); ``agent`` = the extension of the answering leg's
``dstchannel`` (``SIP/201-0000001a``, ``PJSIP/201-00000012`` and
``Local/201@from-queue-00000034;1`` all give ``201``); ``call_id`` = ``linkedid`` (else
``uniqueid``; null in the 16-field layout, and the ingest hashes the call).

Direction, decided per call (:data:`INBOUND_CONTEXTS`, :data:`INTERNAL_CONTEXTS`):

1. ``inbound`` when any leg's ``dcontext`` is a trunk context (``from-pstn``, ``from-trunk*``,
   ``ext-did*``, ``from-did*``, ``from-external``, ``incoming*``, ...) or FreePBX's ``did`` is
   set;
2. else, when the first leg's ``dcontext`` is a phones' context (``from-internal*``,
   ``from-queue``, ``ext-local``, ``macro-dial*``, ...): ``outbound`` when ``dst`` looks
   external (7 digits or more), else ``inbound`` when ``src`` looks external (withheld, or 7
   digits or more: a call that came in and was sent on by the dialplan), else ``internal``;
3. any other context: ``inbound`` when ``src`` looks external, else ``outbound`` when ``dst``
   does, else ``internal``.

An outbound call's ``caller`` is the number dialled (the other party, as for queue_log's
CALLOUTBOUND) and its ``agent`` the extension that dialled (from ``channel``); its ``line`` is
null, as is an internal call's.

Notes
-----
- Times are the server's local wall clock (naive) and converted with ``--timezone``. A server
  with ``usegmtime=yes`` in ``cdr.conf``/``cdr_csv.conf`` writes UTC: ingest it with
  ``--timezone UTC``.
- The CDR cannot see *why* a queued call ended unanswered: a caller who hung up (abandon) and a
  queue timeout look the same (``lastapp`` Queue, no agent). Such calls are ``missed`` here;
  use the ``queue_log`` for abandons. Likewise a voicemail leg does not say whether a message
  was left, and a call answered only by the IVR or an announcement (``ivr_abandoned``) may have
  heard a "we are closed" message: the opening hours decide ``closed`` downstream.
- Without ``linkedid`` (the 16- and 18-field ``cdr_csv`` layouts and the ``cdr_custom``
  sample template) a ring group's ``Local/...;2`` halves have uniqueids of their own and would
  look like extra calls; they are skipped and counted ("Local channel leg without linkedid"):
  the caller's own row already says which member answered (its ``dstchannel``). Add
  ``linkedid`` to the export (``newcdrcolumns=yes``) to join every leg. In the 16-field
  layout, which has no id at all, legs of one caller channel are joined by channel name and
  start time.
- ``wait_s`` counts from the call reaching the PBX (its first leg's start), so it includes
  time in IVR menus or announcements before the phones rang: the CDR has no queue-entry time.
- Before Asterisk 12 a channel answered by an IVR stays ``ANSWERED`` whatever happens after,
  with ``dstchannel`` set to the last phone tried: such a call counts as answered here. Read
  those servers' queues from the ``queue_log``.
- Rows of a call are joined across chunks (:class:`~telephony.formats._base.GroupCarry`); a
  database export sorted newest first is recognised from the majority of its time steps and
  joined just as well.
- ``amaflags``, ``accountcode``, ``lastdata``, ``userfield`` and FreePBX's ``recordingfile``,
  ``cnam``, ``outbound_cnum`` are read but not used.
- A row whose start is unreadable, whose disposition is not one of :data:`DISPOSITIONS`, or
  whose duration/billsec is not a number (and cannot be worked out from its times) is
  rejected with the reason; the other legs of its call still make the call. A ``cdr_csv`` file
  whose logging options changed part-way has rows of another width: those are rejected as
  "expected N fields" (split the file where the width changes and ingest the parts).
- Everything is vectorised over each chunk (Arrow compute and NumPy sorts); nothing loops over
  rows in Python except to word rejects.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import BadInputError
from ..sources import Chunk, Reject, Source, norm_name, read_delimited, read_header
from ..timeutil import parse_datetimes, parse_durations
from ._base import (
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

# Vendor disposition word -> what the leg did (CONGESTION is a busy network/trunk).
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
    "voicemail",      # 2 lastapp VoiceMail
    "missed",         # 3 NO ANSWER, or Queue without an agent
    "busy",           # 4 BUSY / CONGESTION
    "failed",         # 5 FAILED
    "ivr_abandoned",  # 6 answered by the system only (IVR, announcement)
)
VOICEMAIL_APPS = frozenset({"voicemail"})
QUEUE_APPS = frozenset({"queue"})

# dcontext prefixes (case-insensitive) of calls arriving from a trunk, and of phones' calls.
INBOUND_CONTEXTS: tuple[str, ...] = (
    "from-pstn", "from-trunk", "from-did", "ext-did", "from-external", "from-sip-external",
    "from-provider", "from-itsp", "from-inbound", "incoming", "inbound",
)
INTERNAL_CONTEXTS: tuple[str, ...] = (
    "from-internal", "from-queue", "ext-local", "macro-dial", "from-users", "from-extensions",
    "internal", "phones", "outbound", "outgoing",
)
_DIRECTIONS = pa.array(["inbound", "outbound", "internal"], pa.large_string())
_OUTCOMES = pa.array(LEG_RANKS, pa.large_string())
_NO_LINE = pa.array(["", "s"], pa.large_string())
WITHHELD = ("", "anonymous", "unknown", "private", "restricted", "withheld", "unavailable")

# A channel name's extension: SIP/201-0000001a, PJSIP/201-00000012, Local/201@ctx-0000a;1:
# what follows the technology, up to @ or ;, less the channel's hex sequence suffix.
_CHANNEL_NOT_EXT = r"^[^/]*/|[@;].*$|-[0-9a-fA-F]{4,8}$"
_LOCAL_HALF2 = r"^Local/.*;2$"

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
            f"writes 16 to 21 (check the file, or pass --format/--mapping)"
        )
    width = widths.most_common(1)[0][0]
    fits = [r for r in rows if len(r) == width and _row_fits(r, *_CSV_POS)]
    if not fits:
        hint = ""
        if sum(len(r) == len(CUSTOM_FIELDS) and _row_fits(r, *_CUSTOM_POS) for r in rows):
            hint = " The columns are in cdr_custom's order: use --format asterisk_cdr_custom."
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
            hint = " The columns are in cdr_csv's order: use --format asterisk_cdr_csv."
        raise BadInputError(
            f"{source.name}: not a cdr_custom Master.csv with the sample template (19 fields, "
            f"start time in field 9, disposition in field 14).{hint} Other templates need a "
            f"mapping file (--mapping)."
        )
    return list(CUSTOM_FIELDS)


# ----------------------------------------------------------------------------- vectorised helpers


def _text(frame: pd.DataFrame, name: str, clean: bool = False) -> pa.ChunkedArray:
    """A column as Arrow strings, ``""`` for a missing column.

    ``clean`` trims spaces and blanks the word ``NULL`` (database dumps write SQL NULL so), for
    the columns whose exact value matters row by row; the others are compared per distinct
    value, or only at call level.
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
    if clean:
        arr = pc.utf8_trim_whitespace(arr)
        arr = pc.if_else(pc.equal(arr, "NULL"), pa.scalar("", pa.large_string()), arr)
    return arr


def _datetimes(arr: pa.Array, ctx: ReadContext) -> np.ndarray:
    """Naive wall-clock ``datetime64[ns]`` (NaT where empty or unreadable).

    The Asterisk spelling goes through Arrow's strptime; anything else (spreadsheet re-saves,
    fractions of seconds) through :func:`~telephony.timeutil.parse_datetimes`.
    """
    ts = pc.strptime(arr, format="%Y-%m-%d %H:%M:%S", unit="s", error_is_null=True)
    # Arrow's strptime rolls an impossible day over (30 February -> 2 March): take those back.
    day = pc.utf8_slice_codeunits(pc.if_else(pc.is_valid(ts), arr, pa.scalar(None, arr.type)), 8, 10)
    rolled = pc.fill_null(pc.not_equal(pc.day(ts), pc.cast(day, pa.int64())), False)
    ts = pc.if_else(rolled, pa.scalar(None, ts.type), ts)
    out = np.array(ts.cast(pa.timestamp("ns")).to_numpy(zero_copy_only=False), dtype="datetime64[ns]")
    need = np.isnat(out) & pc.not_equal(arr, "").to_numpy(zero_copy_only=False)
    if need.any():
        sub = pd.Series(arr.filter(pa.array(need)).to_pylist(), dtype="string")
        parsed = parse_datetimes(sub, dayfirst=ctx.dayfirst, tz=ctx.zone)
        if getattr(parsed.dt, "tz", None) is not None:
            # Epoch or offset times: back to the export's wall clock, like the rest.
            parsed = parsed.dt.tz_convert(ctx.zone).dt.tz_localize(None)
        out[need] = parsed.to_numpy(dtype="datetime64[ns]")
    return out


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


def _looks_external(arr: pa.Array, withheld: bool) -> np.ndarray:
    """Numbers with 7+ digits (``+44 7700 900123``); withheld words too when ``withheld``."""
    ext = _bool(pc.match_substring_regex(arr, r"^\+?(?:[\s\-()]*\d){7,}[\s\-()]*$"))
    if withheld:
        ext |= _bool(pc.is_in(pc.utf8_lower(arr), value_set=pa.array(WITHHELD, pa.large_string())))
    return ext


def _extension(channel: pa.Array) -> pa.Array:
    """The extension in a channel name, null when there is none."""
    ext = pc.replace_substring_regex(channel, _CHANNEL_NOT_EXT, "")
    return pc.if_else(pc.equal(pc.fill_null(ext, ""), ""), pa.scalar(None, ext.type), ext)


# ----------------------------------------------------------------------------- rows -> legs


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
        "start", "src", "dst", "clid", "channel", "duration", "billsec", "disposition", "dcontext",
        "lastapp",
    )}
    col.update({c: _text(frame, c, clean=True) for c in ("answer", "dstchannel", "uniqueid", "linkedid")})
    # Only FreePBX's table has a DID column.
    col["did"] = _text(frame, "did", clean=True) if "did" in frame.columns else None
    start = _datetimes(col["start"], ctx)
    duration = _numbers(col["duration"])
    billsec = _numbers(col["billsec"])
    disp_code = _on_uniques(
        col["disposition"],
        lambda u: map_words(pd.Series(u.to_pylist(), dtype="string"), DISPOSITIONS)[0]
        .map(_LEG_CODE).fillna(-1).to_numpy(dtype=np.int8),
    )
    answered = disp_code == 0
    answer = _datetimes(col["answer"], ctx) if "answer" in frame.columns else np.full(n, np.datetime64("NaT"), "datetime64[ns]")

    # Durations missing: work them out from the times where the layout has them.
    if np.isnan(duration).any() and "end" in frame.columns:
        end = _datetimes(_text(frame, "end"), ctx)
        fix = np.isnan(duration) & ~np.isnat(end) & ~np.isnat(start)
        duration[fix] = (end[fix] - start[fix]) / np.timedelta64(1, "s")
        fixb = np.isnan(billsec) & ~np.isnat(end) & ~np.isnat(answer)
        billsec[fixb] = (end[fixb] - answer[fixb]) / np.timedelta64(1, "s")
    billsec[np.isnan(billsec) & ~answered & (disp_code >= 0)] = 0.0

    # Rejects: one reason per row, the first problem found.
    bad_start = np.isnat(start)
    unknown_disp = (disp_code < 0) & ~bad_start
    bad_num = (np.isnan(duration) | np.isnan(billsec)) & ~bad_start & ~unknown_disp
    bad = bad_start | unknown_disp | bad_num
    rejects: list[Reject] = []
    unknown: Counter = Counter()
    if bad.any():
        raw_start = np.asarray(col["start"].to_pylist(), dtype=object)
        raw_disp = np.asarray(col["disposition"].to_pylist(), dtype=object)
        raw_dur = np.asarray(col["duration"].to_pylist(), dtype=object)
        raw_bill = np.asarray(col["billsec"].to_pylist(), dtype=object)
        reason = pd.Series("", index=frame.index, dtype=object)
        for i in np.flatnonzero(bad):  # rejected rows only: few
            if bad_start[i]:
                reason.iat[i] = (
                    f"start time '{raw_start[i]}' missing or unreadable (expected YYYY-MM-DD HH:MM:SS)"
                )
            elif unknown_disp[i]:
                reason.iat[i] = (
                    f"unknown disposition '{raw_disp[i]}'; expected ANSWERED, NO ANSWER, BUSY, FAILED "
                    f"or CONGESTION (check the export, or describe it in a mapping file)"
                )
            else:
                what = [f"{name} '{raw[i]}'" for name, raw, v in (
                    ("duration", raw_dur, duration), ("billsec", raw_bill, billsec)) if np.isnan(v[i])]
                reason.iat[i] = f"{' and '.join(what)} not a number of seconds (nor given by the times)"
        for w, k in Counter(raw_disp[unknown_disp].tolist()).items():
            unknown[str(w) if w else "(empty disposition)"] += k
        rejects = rejects_from(frame, lines, bad, reason)

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
    app = _on_uniques(col["lastapp"], lambda u: pc.utf8_lower(u).to_numpy(zero_copy_only=False).astype(object))
    is_vm = np.isin(app, list(VOICEMAIL_APPS))
    is_queue = np.isin(app, list(QUEUE_APPS))
    has_dst = _bool(pc.not_equal(col["dstchannel"], ""))
    dst_local = _bool(pc.starts_with(col["dstchannel"], "Local/"))
    rank = np.select(
        [
            is_vm,
            answered & has_dst & ~dst_local,
            answered & has_dst,
            (disp_code == 1) | is_queue,
            disp_code == 2,
            disp_code == 3,
        ],
        [2, 0, 1, 3, 4, 5],
        default=6,
    ).astype(np.int8)

    dur_ns = np.nan_to_num(duration, nan=0.0) * 1e9
    tend = start + dur_ns.astype("int64").astype("timedelta64[ns]")
    # The leg's answer: its answer column, else start + (duration - billsec).
    ring_ns = np.clip(np.nan_to_num(duration - billsec, nan=0.0), 0, None) * 1e9
    ans = np.where(np.isnat(answer), start + ring_ns.astype("int64").astype("timedelta64[ns]"), answer)

    # dcontext per distinct value: 1 = a trunk's context, 2 = the phones' context.
    ctx_kind = _on_uniques(col["dcontext"], lambda u: np.where(
        _bool(pc.match_substring_regex(u, _prefix_regex(INBOUND_CONTEXTS))), 1,
        np.where(_bool(pc.match_substring_regex(u, _prefix_regex(INTERNAL_CONTEXTS))), 2, 0)))
    ctx_in, ctx_int = ctx_kind == 1, ctx_kind == 2
    has_did = np.zeros(n, dtype=bool) if col["did"] is None else _bool(pc.not_equal(col["did"], ""))
    inbound_mark = ctx_in | has_did

    # What the call takes from its first leg, worked out per leg while the rows are columns.
    # Line: DID, else dst (unless empty or the catch-all "s"), else dcontext.
    dst_ok = pc.invert(pc.is_in(col["dst"], value_set=_NO_LINE))
    line_v = pc.if_else(dst_ok, col["dst"], col["dcontext"])
    if col["did"] is not None:
        line_v = pc.if_else(pa.array(has_did), col["did"], line_v)
    # Caller: src, or the number in clid's <...> where src is empty.
    caller = col["src"]
    no_src = _bool(pc.equal(caller, ""))
    if no_src.any():
        clid_num = pc.struct_field(pc.extract_regex(col["clid"], r"<(?P<n>[^>]*)>"), [0])
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
            "_localch": _bool(pc.starts_with(col["channel"], "Local/"))[keep],
            "_inbound": inbound_mark[keep],
            "_intctx": ctx_int[keep],
            "_caller": s(caller),
            "_line": s(line_v),
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
    # First leg: a real channel before a Local/ one, then earliest, then first in the file.
    o1 = np.lexsort((line, start_i, legs["_localch"].to_numpy(), codes))
    sc = codes[o1]
    bounds = np.flatnonzero(np.r_[True, sc[1:] != sc[:-1]])
    first = o1[bounds]
    # Deciding leg: best rank, ties in the first-leg order (position in o1 breaks them).
    pos = rank[o1].astype(np.int64) * n + np.arange(n, dtype=np.int64)
    dec = o1[np.minimum.reduceat(pos, bounds) % n]
    n_rows = np.diff(np.r_[bounds, n])
    call_start = np.minimum.reduceat(start_i[o1], bounds)
    first_line = np.minimum.reduceat(line[o1], bounds)
    last_end = np.maximum.reduceat(legs["_tend"].to_numpy(dtype="datetime64[ns]").view("int64")[o1], bounds)
    inbound = np.maximum.reduceat(legs["_inbound"].to_numpy()[o1], bounds).astype(bool)
    g = len(first)

    def take(name: str, idx: np.ndarray) -> pa.Array:
        return _arrow(legs[name]).take(pa.array(idx))

    dec_rank = rank[dec]
    dec_ans = legs["_ans"].to_numpy(dtype="datetime64[ns]").view("int64")[dec]
    to_answer = (dec_ans - call_start) / 1e9
    whole = (last_end - call_start) / 1e9
    wait = np.where(dec_rank <= 2, to_answer, np.where(dec_rank <= 5, whole, np.nan))
    wait = np.where(np.isnan(wait), wait, np.clip(wait, 0, None))
    person = dec_rank <= 1
    talk = np.where(person, np.nan_to_num(legs["billsec"].to_numpy(dtype="float64")[dec], nan=0.0), 0.0)

    # Direction (module docstring); number shapes only needed where no leg says inbound.
    src, dst = take("_caller", first), take("dst", first)
    dir_code = np.zeros(g, dtype=np.int8)  # 0 inbound, 1 outbound, 2 internal
    rest = np.flatnonzero(~inbound)
    if len(rest):
        r = pa.array(rest)
        src_ext = _looks_external(src.take(r), withheld=True)
        dst_ext = _looks_external(dst.take(r), withheld=False)
        int_ctx = legs["_intctx"].to_numpy()[first[rest]]
        dir_code[rest] = np.where(
            int_ctx,
            np.where(dst_ext, 1, np.where(src_ext, 0, 2)),
            np.where(src_ext, 0, np.where(dst_ext, 1, 2)),
        )
    inbound = dir_code == 0
    outbound = dir_code == 1
    direction = _DIRECTIONS.take(pa.array(dir_code))

    # Caller: the first leg's (src, or clid's number); the number dialled for outbound calls.
    caller = take("_caller", first)
    if outbound.any():
        caller = pc.if_else(pa.array(outbound), dst, caller)
    # Line: the first leg's (DID, dst or dcontext), for inbound calls only.
    line_v = take("_line", first)
    line_v = pc.if_else(pa.array(inbound), line_v, pa.scalar(None, line_v.type))

    # Agent: the answering leg's extension; for outbound calls, the extension that dialled.
    want = person | outbound
    agent = pa.nulls(g, pa.large_string())
    if want.any():
        w = np.flatnonzero(want)
        chan = pc.if_else(pa.array(outbound[w]), take("channel", first[w]), take("dstchannel", dec[w]))
        agent = pc.replace_with_mask(agent, pa.array(want), _extension(chan))

    return raw_frame(
        g,
        call_id=_strings(take("call_id", first)),
        start=call_start.view("datetime64[ns]"),
        direction=_strings(direction),
        line=_strings(line_v),
        caller=_strings(caller),
        outcome=_strings(_OUTCOMES.take(pa.array(dec_rank))),
        wait_s=wait.astype("float64"),
        talk_s=talk.astype("float64"),
        agent=_strings(agent),
        source_line=first_line,
        n_rows=n_rows.astype("int64"),
    )


# ----------------------------------------------------------------------------- readers


def _read_chunks(chunks: Iterator[Chunk], ctx: ReadContext) -> Iterator[ParsedChunk]:
    carry = GroupCarry("_key", "_tend")
    for chunk in chunks:
        legs, rejects, skipped, unknown = _legs(chunk.frame, chunk.lines, ctx)
        skipped.update(chunk.skipped())
        calls = _assemble(carry.push(legs))
        yield ParsedChunk(calls, list(chunk.rejects) + rejects, chunk.rows_read, skipped, unknown)
    calls = _assemble(carry.push(None, final=True))
    yield ParsedChunk(calls, [], 0, Counter(), Counter())


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


def read_freepbx(source: Source, ctx: ReadContext) -> Iterator[ParsedChunk]:
    """Read a FreePBX/Asterisk CDR table export (with a header) as raw calls, in chunks.

    Raises
    ------
    BadInputError
        The header lacks the columns a CDR needs.
    """
    delim = guess_delimiter(source)
    header = read_header(source, delim)
    require_columns(rename_columns(pd.DataFrame(columns=header), VARIABLE_MAP), FREEPBX_REQUIRED, source, "freepbx_cdr")

    def renamed() -> Iterator[Chunk]:
        for chunk in read_delimited(source, header=True, delimiter=delim):
            chunk.frame = rename_columns(chunk.frame, VARIABLE_MAP)
            yield chunk

    yield from _read_chunks(renamed(), ctx)


FORMATS = [
    Format(
        name="asterisk_cdr_csv",
        title="Asterisk cdr_csv Master.csv (no header; 16 to 21 columns, with uniqueid/linkedid when logged)",
        example="Master.csv",
        sniff=sniff_csv,
        read=read_csv,
    ),
    Format(
        name="asterisk_cdr_custom",
        title="Asterisk cdr_custom Master.csv with the sample template (no header, 19 columns)",
        example="cdr-custom/Master.csv",
        sniff=sniff_custom,
        read=read_custom,
    ),
    Format(
        name="freepbx_cdr",
        title="FreePBX asteriskcdrdb.cdr table (or cdr_adaptive_odbc) exported as CSV/XLSX with a header",
        example="cdr.csv",
        sniff=sniff_freepbx,
        read=read_freepbx,
    ),
]
