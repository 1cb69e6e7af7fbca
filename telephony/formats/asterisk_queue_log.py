"""Asterisk ``queue_log``: the best source for queue behaviour.

Reads the native pipe-delimited log (``/var/log/asterisk/queue_log``) and the same log exported
from a database table (``queue_log`` realtime / QueueMetrics / FreePBX ``asteriskcdrdb``) as CSV
with a header.

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
JOINEMPTY, JOINUNAVAIL, LEAVEEMPTY,    missed        0 / 0 (Wazo's app_queue: the caller never
FULL, DIVERT_* ; CLOSED                ; closed      got in, or was sent elsewhere)
OUTDIAL then OUTANSWER                 answered      dial → answer / answer → the call's end
                                       (outbound)    (COMPLETE*'s calltime when logged)
OUTDIAL then OUTCANCEL, OUTNOANSWER,   abandoned,    dial → result / 0
OUTBUSY, OUTFAIL(ED), OUTCONGESTION,   missed, busy,
OUTCHANUNAVAIL                         failed
last event a word not known            unknown       from the call's times (the word is counted)
=====================================  ============  ============================================

Notes
-----
- Times in the native log are epoch seconds (UTC), exact whatever the clock change. Database
  exports that store a DATETIME are wall-clock time: left naive for the ingest to convert with
  the export's timezone (which resolves the repeated autumn hour in file order across chunks);
  wait and talk worked out from such times are an hour out for a call spanning the change
  itself. Whether an export's times are UTC (epoch, or with an offset) or wall clock is
  decided from its first chunk with readable times and kept for the whole file.
- Seen in a real database export: both a text ``date_time`` (the database server's own clock,
  which need not be the practice's zone) and an epoch ``time``. Which column is the time is
  decided by the rule every reader shares (:func:`~telephony.formats._base.resolve_header`):
  both read as times, so the one named ``time`` (epoch, exact) is taken, and the ingest
  summary says so in a note. The same export names the event's fields ``param1..param3``
  (``data1..data3``: ENTERQUEUE's caller id is in ``param2``), and writes empty fields as
  ``NULL``; extra id columns (``uid``, ``type``, ``entpos``...) are ignored.
- PostgreSQL writes a whole-hour offset short (``15:27:23.896208+00``): read as ``+00:00``.
- A time pandas cannot hold (year 9999, 1677, an epoch past 2262) rejects that line with a
  reason saying the date is out of range; the rest of the file is read.
- Forced (``--format asterisk_queue_log``) on a CSV without time, callid and event columns, it
  refuses the file with a one-line error rather than rejecting every row.
- Agent and system events (AGENTLOGIN, PAUSE, QUEUESTART, RINGINUSE, ...) and lines with
  callid ``NONE`` are skipped and counted. A ``DID`` line belongs to its call and gives the
  dialled number.
- Outbound calls: QueueMetrics' ``CALLOUTBOUND`` (data2 is the number dialled), and an
  outbound dialler's ``OUTDIAL`` with its result (``OUTANSWER``, ``OUTCANCEL``, ...) logged
  beside the queue events, become ``outbound`` calls with the other party as ``caller``
  (for OUTDIAL, the first of data1, data2 that looks like a number: the dialler's fields are
  unverified, so its waits and talk times come from the events' times, not its fields), never
  rejects.
- A call with no outcome is rejected, not guessed, with a reason a person understands: still
  open when the export was cut (its last event within three hours of the newest in the file:
  a later export completes it, and the summary notes that these are not faults of the file),
  its end never logged (mid-file), or completed/transferred with no CONNECT under its id
  (Asterisk logs some attended transfers under the other call's id).
- Blank lines are skipped and counted as read ("blank line"), so rows read = calls' rows +
  rejected + skipped holds for every file.
- Speed (see ``benchmarks/ingest.py``): the native log is split by Arrow in 16 MiB blocks (the
  next block read and split in a thread meanwhile); a call's first/last event of each kind is
  found with NumPy on integer event codes, and fields are taken only from the rows picked.
  Only the lines of calls still open at the end of a block are carried to the next one, as
  :class:`~telephony.formats._base.GroupCarry` judges them (its NumPy entry point, on this
  reader's own arrays).
"""

from __future__ import annotations

import concurrent.futures
import re
from collections import Counter
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from telephony.sources import Reject, Source, norm_name, read_delimited
from telephony.timeutil import localize, parse_datetimes
from telephony.formats._base import (
    Format,
    GroupCarry,
    ParsedChunk,
    ReadContext,
    guess_delimiter,
    raw_frame,
    rename_columns,
    require_columns,
)

FORMAT_NAME = "asterisk_queue_log"

FIELDS = ["time", "callid", "queue", "agent", "event", "data1", "data2", "data3", "data4", "data5"]

# Database/CSV exports name the columns in several ways; the first name listed for a field is
# its primary one (see telephony.formats._base.resolve_header for the choice between two).
VARIABLE_MAP = {
    "time": "time", "timestamp": "time", "created": "time", "eventtime": "time", "timeid": "time",
    "datetime": "time", "calltime": "time",
    "callid": "callid", "uniqueid": "callid", "callidnum": "callid",
    "queuename": "queue", "queue": "queue",
    "agent": "agent", "agentname": "agent", "membername": "agent", "channel": "agent",
    "event": "event", "verb": "event",
    "data1": "data1", "data2": "data2", "data3": "data3", "data4": "data4", "data5": "data5",
    # Tables that call the event's fields param1..param5 (param1 = data1: ENTERQUEUE's caller
    # id is in param2).
    "param1": "data1", "param2": "data2", "param3": "data3", "param4": "data4", "param5": "data5",
    "data": "data",
}
#: Canonical columns holding date-times (for the choice between two columns).
TIME_COLUMNS = frozenset({"time"})

START_EVENTS = {"ENTERQUEUE", "CALLOUTBOUND", "OUTDIAL"}
#: Events that start an outbound call: QueueMetrics' CALLOUTBOUND, and an outbound dialler's
#: OUTDIAL.
OUTBOUND_START = {"CALLOUTBOUND", "OUTDIAL"}
ANSWER_EVENTS = {"CONNECT", "OUTANSWER"}
END_ANSWERED = {"COMPLETECALLER", "COMPLETEAGENT", "TRANSFER", "BLINDTRANSFER", "ATTENDEDTRANSFER"}
# Event → (outcome, the data field holding the wait or None: from the call's own times) when
# the call was never answered.
UNANSWERED = {
    "ABANDON": ("abandoned", "data3"),
    "EXITWITHTIMEOUT": ("missed", "data3"),
    "EXITEMPTY": ("missed", "data3"),
    "EXITWITHKEY": ("callback", "data4"),
    # An outbound dialler's results (its data fields are not documented where we could check:
    # the times of the events are used, not the fields).
    "OUTCANCEL": ("abandoned", None),  # the practice hung up before it was answered
    "OUTNOANSWER": ("missed", None),
    "OUTBUSY": ("busy", None),
    "OUTFAIL": ("failed", None),
    "OUTFAILED": ("failed", None),
    "OUTCONGESTION": ("failed", None),
    "OUTCHANUNAVAIL": ("failed", None),
    # Wazo's (XiVO's) app_queue: the caller never got into the queue, or was sent elsewhere.
    "JOINEMPTY": ("missed", None),
    "JOINUNAVAIL": ("missed", None),
    "LEAVEEMPTY": ("missed", None),
    "FULL": ("missed", None),
    "DIVERT_CA_RATIO": ("missed", None),
    "DIVERT_HOLDTIME": ("missed", None),
    "CLOSED": ("closed", None),
}
IN_CALL = {"DID", "RINGNOANSWER", "RINGCANCELED"} | START_EVENTS | ANSWER_EVENTS | END_ANSWERED | set(UNANSWERED)
IN_CALL |= {"INFO", "HOLD", "UNHOLD", "RECORDING", "MIXMONITOR", "AGENTCALLED", "AGENTDUMP", "SYSCOMPAT_CALL"}
NON_CALL = {
    "AGENTLOGIN", "AGENTLOGOFF", "AGENTCALLBACKLOGIN", "AGENTCALLBACKLOGOFF", "ADDMEMBER",
    "REMOVEMEMBER", "PAUSE", "UNPAUSE", "PAUSEALL", "UNPAUSEALL", "QUEUESTART", "CONFIGRELOAD",
    "SYSCOMPAT", "PENALTY", "PAUSECUSTOM", "RINGINUSE",
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
    header = {VARIABLE_MAP.get(norm_name(c)) for c in re.split(r"[,;\t|]", lines[0])}
    if {"callid", "event", "time"} <= header and ("queue" in header or "agent" in header):
        body = "\n".join(lines[1:])
        return 1.0 if re.search(r"ENTERQUEUE|CONNECT|ABANDON|COMPLETE(CALLER|AGENT)|EXITWITH", body) else 0.6
    if native:
        return 0.5
    return 0.0


# ----------------------------------------------------------------------------- events as codes

# Every event word known, as a small integer code (CODE_UNKNOWN for any other word): the
# assembly below works on these codes and row numbers with NumPy, never row by row.
EVENT_WORDS: tuple[str, ...] = tuple(sorted(IN_CALL | NON_CALL))
_CODE = {w: i for i, w in enumerate(EVENT_WORDS)}
CODE_UNKNOWN = len(EVENT_WORDS)
_WORDS = pa.array(EVENT_WORDS)


def _is(words) -> np.ndarray:
    """Lookup table: code -> whether the code's word is in ``words``."""
    m = np.zeros(len(EVENT_WORDS) + 1, dtype=bool)
    m[[_CODE[w] for w in words]] = True
    return m


_IS_NON_CALL = _is(NON_CALL)
_IS_IN_CALL = _is(IN_CALL)
_IS_START = _is(START_EVENTS)
_IS_ENTER = _is({"ENTERQUEUE"})
_IS_DID = _is({"DID"})
_IS_CONNECT = _is(ANSWER_EVENTS)
_IS_QUEUE_CONNECT = _is({"CONNECT"})
_IS_END = _is(END_ANSWERED)
_IS_TRANSFER = _is({"TRANSFER", "BLINDTRANSFER", "ATTENDEDTRANSFER"})
_IS_TERM = _is(set(UNANSWERED))
_IS_OUTBOUND = _is(OUTBOUND_START)
_IS_OUTDIAL = _is({"OUTDIAL"})
_IS_ANY = np.ones(len(EVENT_WORDS) + 1, dtype=bool)
OUTCOME_WORDS: tuple[str, ...] = ("answered",) + tuple(sorted({v[0] for v in UNANSWERED.values()})) + ("unknown",)
_OUTCOMES = pa.array(OUTCOME_WORDS)
_UNKNOWN_OUTCOME = OUTCOME_WORDS.index("unknown")
_DIRECTIONS = pa.array(["inbound", "outbound"])
# Outcome index (into OUTCOME_WORDS) of each terminating event's code; -1 for other codes; and
# which data field holds its wait (3, 4; 0: none, the span of the call's times is used).
_TERM_OUTCOME = np.full(len(EVENT_WORDS) + 1, -1, dtype=np.int64)
_WAIT_FIELD = np.zeros(len(EVENT_WORDS) + 1, dtype=np.int64)
for _w, (_o, _f) in UNANSWERED.items():
    _TERM_OUTCOME[_CODE[_w]] = OUTCOME_WORDS.index(_o)
    _WAIT_FIELD[_CODE[_w]] = 0 if _f is None else int(_f[-1])
_FIELD_INDEX = {name: i for i, name in enumerate(FIELDS)}
_NO_CALLID = pa.array(["NONE", ""])
HORIZON = pd.Timedelta(hours=3)  # how far apart in time one call's lines can be (see GroupCarry)
_BAD_LINE = "not a queue_log line (expected epoch|callid|queue|agent|EVENT|...)"


class _Rows:
    """A pass's call rows: line number, time (µs), event code and callid as columns, and
    ``field(name, rows, missing)`` giving any other field of some rows as strings (null where
    ``missing``, ``""`` where the line is too short), read only for the rows the assembly picks.
    """

    __slots__ = ("line", "t", "code", "callid", "field")

    def __init__(self, line, t, code, callid, field):
        self.line, self.t, self.code, self.callid, self.field = line, t, code, callid, field


def _event_codes(words: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes of event words, case and surrounding spaces ignored.

    Returns the codes, and for the rows whose word was not written exactly as known (sorted
    row numbers) the word upper-cased and stripped, for reporting.
    """
    codes = pc.index_in(words, value_set=_WORDS).fill_null(CODE_UNKNOWN)
    codes = codes.to_numpy(zero_copy_only=False).astype(np.int16)
    miss = np.flatnonzero(codes == CODE_UNKNOWN)
    fixed = np.array([], dtype=object)
    if len(miss):
        norm = pc.utf8_upper(pc.utf8_trim_whitespace(words.take(pa.array(miss))))
        codes[miss] = pc.index_in(norm, value_set=_WORDS).fill_null(CODE_UNKNOWN).to_numpy(zero_copy_only=False)
        fixed = norm.to_numpy(zero_copy_only=False)
    return codes, miss, fixed


def _words_of(rows: np.ndarray, codes: np.ndarray, miss: np.ndarray, fixed: np.ndarray) -> Counter:
    """How many of ``rows`` have each (normalised) event word."""
    out: Counter = Counter()
    c = codes[rows]
    known = c != CODE_UNKNOWN
    if known.any():
        counts = np.bincount(c[known], minlength=len(EVENT_WORDS))
        out.update({EVENT_WORDS[i]: int(counts[i]) for i in np.flatnonzero(counts)})
    if (~known).any():
        out.update(str(w) for w in fixed[np.searchsorted(miss, rows[~known])])
    return out


def _classify(words: pa.Array, callid: pa.Array, new: np.ndarray) -> tuple[np.ndarray, np.ndarray, Counter, Counter]:
    """Event codes, and which rows are calls' rows (not agent or system events).

    ``new`` marks the rows read for the first time (not carried from the previous chunk): only
    those are counted in the returned skipped and unknown-word counters.
    """
    codes, miss, fixed = _event_codes(words)
    non_call = _IS_NON_CALL[codes] | pc.is_in(callid, value_set=_NO_CALLID).to_numpy(zero_copy_only=False)
    skipped: Counter = Counter()
    if non_call.any():
        words_ = _words_of(np.flatnonzero(non_call & new), codes, miss, fixed)
        skipped.update({f"agent/system event {w}": n for w, n in words_.items()})
    odd = ~non_call & ~_IS_IN_CALL[codes] & new
    unknown = _words_of(np.flatnonzero(odd), codes, miss, fixed) if odd.any() else Counter()
    return codes, ~non_call, skipped, unknown


def _line_views(source: Source) -> Iterator[tuple[pa.Array, int]]:
    """The file as Arrow string arrays of lines, without copying the text.

    Each element is ``"\\n" + line`` (the first of a block has no newline): the offsets of an
    Arrow string array must be contiguous, so each line carries the newline before it; only
    the time field sees it, and it is trimmed.
    """
    line = 1
    for block in source.iter_utf8_blocks():
        ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
        if not block.endswith(b"\n"):
            ends = np.append(ends, len(block))
        n = len(ends)
        if n == 0:
            continue
        offsets = np.empty(n + 1, dtype=np.int32)
        offsets[0] = 0
        offsets[1:] = ends
        yield pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(block)), line
        line += n


def _epoch_us(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Epoch seconds (whole or fractional) as int64 microseconds, and which were readable."""
    try:
        v = pc.cast(text, pa.int64()).to_numpy(zero_copy_only=False)
        return v * 1_000_000, np.ones(len(v), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    try:
        f = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        f = pd.to_numeric(pd.Series(text.to_numpy(zero_copy_only=False)), errors="coerce").to_numpy(dtype=float)
    ok = ~np.isnan(f)
    return np.where(ok, np.round(f * 1e6), 0).astype(np.int64), ok


def _split_lines(lines: pa.Array) -> pa.Array:
    """Each line's fields, as an Arrow list array (a line has at most ``len(FIELDS)``)."""
    return pc.split_pattern(lines, "|", max_splits=len(FIELDS) - 1)


def _ahead(items: Iterator, fn) -> Iterator:
    """``fn(item)`` for each item, the next one read and computed in a thread meanwhile.

    For the native log: reading a block and splitting it (file reads and Arrow release the
    GIL) overlap with assembling the previous block's calls.
    """
    it = iter(items)
    done = object()

    def step():
        item = next(it, done)
        return done if item is done else fn(item)

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="frontdoor-split")
    try:
        fut = pool.submit(step)
        while True:
            res = fut.result()
            if res is done:
                break
            fut = pool.submit(step)
            yield res
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        close = getattr(it, "close", None)
        if close is not None:
            close()


class _Split:
    """Log lines split on ``|`` (see :func:`_split_lines`); fields taken only where read."""

    def __init__(self, parts: pa.Array):
        self.parts = parts
        offs = parts.offsets.to_numpy()
        self.flat = parts.values
        self.nf = np.diff(offs)
        self.start = offs[:-1]

    def take(self, k: int, lines: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
        """Field ``k`` of some lines: ``""`` where a line is too short, null where ``missing``."""
        idx = self.start[lines] + k
        short = self.nf[lines] <= k
        mask = short if missing is None else short | missing
        if not mask.any():
            return self.flat.take(pa.array(idx))
        out = self.flat.take(pa.array(idx, mask=mask))
        empty = short if missing is None else short & ~missing
        return pc.if_else(pa.array(empty), "", out) if empty.any() else out


class _NativeLines:
    """One pass over native log lines: the lines carried from the previous chunk, then the
    chunk's own. ``rows`` are the calls' rows, ``keep`` their index among the lines."""

    def __init__(self, sp: _Split, lineno: np.ndarray, n_held: int, lines: pa.Array | None):
        n = len(lineno)
        self.split = sp
        new = np.arange(n) >= n_held
        wide = np.flatnonzero(sp.nf >= 5)
        t_us = np.zeros(n, dtype=np.int64)
        ok = np.zeros(n, dtype=bool)
        if len(wide):
            t_us[wide], ok[wide] = _epoch_us(pc.utf8_trim_whitespace(sp.take(0, wide)))
        one = np.flatnonzero(sp.nf == 1)
        blank = np.zeros(n, dtype=bool)
        if len(one):
            blank[one] = pc.equal(pc.utf8_trim_whitespace(sp.take(0, one)), "").to_numpy(zero_copy_only=False)
        # A time pandas cannot hold (a wrong clock centuries out) rejects its line, not the file.
        far = ok & ((t_us < _MIN_US) | (t_us > _MAX_US))
        ok &= ~far
        bad = np.flatnonzero(~ok & ~blank & new)
        # Only new lines can be bad (carried ones were read before): their text is in ``lines``.
        self.rejects = [
            Reject(int(lineno[i]), _OUT_OF_RANGE if far[i] else _BAD_LINE, lines[int(i) - n_held].as_py().lstrip("\n"))
            for i in bad
        ]
        self.blank = int((blank & new).sum())
        self.t_new = t_us[ok & new]
        good = np.flatnonzero(ok)
        callid = pc.utf8_trim_whitespace(sp.take(1, good))
        codes, is_call, self.skipped, self.unknown = _classify(sp.take(4, good), callid, new[good])
        keep = good[is_call]
        self.keep = keep
        # The accessor holds the split, never this object: no reference cycle keeps a chunk alive.
        self.rows = _Rows(
            lineno[keep],
            t_us[keep],
            codes[is_call],
            callid.filter(pa.array(is_call)),
            lambda name, rows, missing: sp.take(_FIELD_INDEX[name], keep[rows], missing),
        )


def _native(source: Source) -> Iterator[ParsedChunk]:
    """Native pipe-delimited log, in blocks; open calls' lines are carried to the next block."""
    held: pa.Array | None = None  # the carried lines, split
    held_no = np.zeros(0, dtype=np.int64)
    carry = GroupCarry("callid", "time", HORIZON)  # its rules, on this reader's own arrays
    state = _FileState()
    for lines, first_line, parts in _ahead(_line_views(source), lambda b: (*b, _split_lines(b[0]))):
        n_new = len(lines)
        lineno = np.arange(first_line, first_line + n_new, dtype=np.int64)
        n_held = 0 if held is None else len(held)
        if n_held:
            parts = pa.concat_arrays([held, parts])
            lineno = np.concatenate([held_no, lineno])
        p = _NativeLines(_Split(parts), lineno, n_held, lines)
        state.see(p.t_new)
        calls, bad, hold = _assemble(p.rows, carry, n_new=int(np.count_nonzero(p.keep >= n_held)), state=state)
        held_rows = p.keep[hold]
        held, held_no = parts.take(pa.array(held_rows)), lineno[held_rows]
        skipped = p.skipped
        if p.blank:
            skipped["blank line"] += p.blank
        yield ParsedChunk(calls, p.rejects + bad, n_new, skipped, p.unknown)
    calls, bad = raw_frame(0), []
    if held is not None and len(held):
        p = _NativeLines(_Split(held), held_no, len(held), None)
        calls, bad, _ = _assemble(p.rows, None, state=state)
    yield ParsedChunk(calls, bad, 0, Counter(), Counter(), [OPEN_AT_CUT_NOTE] if state.open_at_cut else [])


def _csv(source: Source, ctx: ReadContext) -> Iterator[ParsedChunk]:
    """A database export as CSV with a header (column names varying by tool).

    Times stay as the export wrote them: wall-clock (naive) for the ingest to convert with the
    export's timezone (the autumn clock change resolved across chunks there), or UTC when they
    are epoch seconds or carry an offset. Which of the two is decided by the first chunk with
    readable times and kept for the whole file, so every chunk's calls agree. Which column is
    the time (or any field) when two could be is decided once, on the first chunk, and said in
    the notes (:func:`~telephony.formats._base.resolve_header`).
    """
    delim = guess_delimiter(source)
    carry = GroupCarry("callid", "time", HORIZON)
    state = _FileState()
    utc: bool | None = None  # the file's times are UTC (True) or wall clock (False)
    clock: dict = {}  # for a chunk that must be brought to UTC like the ones before it
    memo: dict = {}  # the columns chosen on the first chunk, for every chunk
    held = None
    for chunk in read_delimited(source, header=True, delimiter=delim):
        notes: list[str] = []
        f = rename_columns(chunk.frame, VARIABLE_MAP, notes, times=TIME_COLUMNS, memo=memo)
        if "data" in f.columns and "data1" not in f.columns:
            split = f["data"].fillna("").str.split("|", n=4, expand=True)
            for i in range(5):
                f[f"data{i + 1}"] = split[i] if i in split.columns else ""
        require_columns(f, ["time", "callid", "event"], source, FORMAT_NAME)
        for c in FIELDS:
            if c not in f.columns:
                f[c] = ""
        f = f[FIELDS].fillna("").astype(str).reset_index(drop=True)
        # Database dumps write an empty field as NULL (or \N): not a caller id nor a queue.
        f = f.mask(f.isin(_NULL_CELLS), "")
        f["_line"] = np.asarray(chunk.lines, dtype=np.int64)
        # PostgreSQL writes a whole-hour offset short ("...:23.896208+00"): spelled out to be read
        # (a table writes every time alike, so its first rows tell).
        if f["time"].head(20).str.contains(_SHORT_OFFSET_END).any():
            f["time"] = f["time"].str.replace(_SHORT_OFFSET, r"\1:00", regex=True)
        t, far = _times(f["time"], ctx)
        aware = getattr(t.dt, "tz", None) is not None
        if utc is None and t.notna().any():
            utc = aware
        if utc and not aware:
            t = localize(t, ctx.zone, clock)
        elif utc is False and aware:
            t = t.dt.tz_convert(ctx.zone).dt.tz_localize(None)
        if getattr(t.dt, "tz", None) is not None:
            t = t.dt.tz_convert("UTC").dt.tz_localize(None)
        bad = t.isna().to_numpy()
        rejects = list(chunk.rejects)
        if bad.any():
            texts = f.loc[bad, FIELDS].agg(delim.join, axis=1)
            why = np.where(far.to_numpy()[bad], _OUT_OF_RANGE, "time missing or unreadable")
            rejects += [Reject(int(ln), str(w), txt) for ln, w, txt in zip(f.loc[bad, "_line"], why, texts)]
        f["_t"] = t.dt.as_unit("us").to_numpy().view(np.int64)
        f = f.loc[~bad]
        state.see(f["_t"].to_numpy())
        n_held = 0 if held is None else len(held)
        if n_held:
            f = pd.concat([held, f], ignore_index=True)
        calls, bad_calls, held, skipped, unknown = _csv_pass(f.reset_index(drop=True), n_held, carry, bool(utc), state)
        # Blank rows are source rows too (counted as skipped), so they count as read.
        skipped.update(chunk.skipped())
        yield ParsedChunk(calls, rejects + bad_calls, chunk.rows_read, skipped, unknown, notes)
    calls, bad_calls = raw_frame(0), []
    if held is not None and len(held):
        calls, bad_calls, _, _, _ = _csv_pass(held, len(held), None, bool(utc), state)
    yield ParsedChunk(calls, bad_calls, 0, Counter(), Counter(), [OPEN_AT_CUT_NOTE] if state.open_at_cut else [])


_NULL_CELLS = ["NULL", "null", "\\N"]
# The times pandas can hold (nanoseconds since 1970 in 64 bits: 1677-09-21 to 2262-04-11), in µs.
_MIN_US = pd.Timestamp.min.value // 1000 + 1
_MAX_US = pd.Timestamp.max.value // 1000
_OUT_OF_RANGE = "date out of range (before 1678 or after 2261): a wrong clock?"
_SHORT_OFFSET = re.compile(r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*[+-]\d{2})$")
_SHORT_OFFSET_END = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*[+-]\d{2}$")
_YEAR = re.compile(r"^\s*(\d{4})[-/.]")
_EPOCH_TEXT = re.compile(r"^\s*(\d+)(?:\.\d*)?\s*$")


def _times(text: pd.Series, ctx: ReadContext) -> tuple[pd.Series, pd.Series]:
    """The times parsed, and which texts are out of pandas' range (those are NaT).

    The parser gives up on a whole column for one time centuries out: such texts are found
    (only then, or where a time did not read) and left out, so they reject their own rows.
    """
    try:
        t = parse_datetimes(text, dayfirst=ctx.dayfirst, tz=ctx.zone)
    except (pd.errors.OutOfBoundsDatetime, OverflowError, AssertionError):
        far = _out_of_range(text)
        return parse_datetimes(text.where(~far, ""), dayfirst=ctx.dayfirst, tz=ctx.zone), far
    far = pd.Series(False, index=text.index)
    missing = t.isna().to_numpy()
    if missing.any():
        far[missing] = _out_of_range(text[missing]).to_numpy()
    return t, far


def _out_of_range(text: pd.Series) -> pd.Series:
    """Which time texts name an instant pandas cannot hold: a year before 1678 or after 2261
    written first, or epoch seconds (milliseconds, from 12 digits) past 2262."""
    year = pd.to_numeric(text.str.extract(_YEAR, expand=False), errors="coerce")
    far = (year < 1678) | (year > 2261)
    digits = text.str.extract(_EPOCH_TEXT, expand=False)
    n = digits.str.len()
    value = pd.to_numeric(digits, errors="coerce")
    # As the time parser reads them: 9-10 digits are seconds, 12-13 milliseconds.
    seconds = value.where((n >= 9) & (n <= 10), value.where((n >= 12) & (n <= 13)) / 1000)
    far |= seconds > _MAX_US / 1e6
    return far.fillna(False).astype(bool)


def _csv_pass(f: pd.DataFrame, n_held: int, carry: GroupCarry | None, utc: bool, state: _FileState):
    new = np.arange(len(f)) >= n_held
    callid = pa.array(f["callid"].str.strip().to_numpy(dtype=object), pa.string())
    codes, is_call, skipped, unknown = _classify(pa.array(f["event"].to_numpy(dtype=object), pa.string()), callid, new)
    calls_f = f.loc[is_call].reset_index(drop=True)
    columns: dict[str, pa.Array] = {}

    def field(name: str, rows: np.ndarray, missing: np.ndarray) -> pa.Array:
        if name not in columns:
            columns[name] = pa.array(calls_f[name].to_numpy(dtype=object), pa.string())
        return columns[name].take(pa.array(rows, mask=missing))

    rows = _Rows(calls_f["_line"].to_numpy(), calls_f["_t"].to_numpy(), codes[is_call], callid.filter(pa.array(is_call)), field)
    calls, bad, hold = _assemble(rows, carry, n_new=int(np.count_nonzero(new[is_call])), utc=utc, state=state)
    return calls, bad, calls_f.loc[hold], skipped, unknown


def _to_float(arr: pa.Array) -> np.ndarray:
    """Numbers from strings; NaN where empty, null or not a number."""
    arr = pc.if_else(pc.equal(pc.binary_length(arr), 0), pa.scalar(None, pa.string()), arr)
    try:
        return pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pd.to_numeric(pd.Series(arr.to_numpy(zero_copy_only=False)), errors="coerce").to_numpy(dtype=float)


def _strings(arr) -> pd.Series:
    """An Arrow string array as a pandas ``string`` Series."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return pd.Series(pd.arrays.ArrowStringArray(arr))


class _FileState:
    """What the passes over one file share: the newest event time seen (µs), to tell a call
    still open when the export was cut from one whose end was never logged, and whether any
    call was still open at the cut (for the note)."""

    __slots__ = ("newest", "open_at_cut")

    def __init__(self) -> None:
        self.newest: int | None = None
        self.open_at_cut = False

    def see(self, t: np.ndarray) -> None:
        """Take in the times (µs) of rows read for the first time."""
        if len(t):
            m = int(t.max())
            self.newest = m if self.newest is None else max(self.newest, m)


#: Reason for a call with no outcome whose last event is near the end of the export.
OPEN_AT_CUT = "no outcome yet: the call was still open when the export was cut (a later export completes it)"
#: Reason for a call with no outcome in the middle of the file.
NO_OUTCOME = "no outcome event: the call's end was not logged"
#: Reason for a call that ends (completed, transferred) with no CONNECT under its id.
ENDED_UNCONNECTED = (
    "no outcome: the call ends with a completion or transfer but no CONNECT is logged under its id "
    "(Asterisk logs some attended transfers under the other call's id)"
)
#: The note said once when calls were open at the cut.
OPEN_AT_CUT_NOTE = (
    "calls still open when the export was cut are rejected as such: not faults of the file; "
    "a later export covering them completes them"
)
# A dialled number in an outbound dialler's data fields: digits, maybe + and spaces.
_DIALLED = re.compile(r"^\+?[\d ()-]{6,20}$")


def _assemble(
    r: _Rows, carry: GroupCarry | None, n_new: int = 0, utc: bool = True, state: _FileState | None = None
) -> tuple[pd.DataFrame, list[Reject], np.ndarray]:
    """One raw call per callid from its rows; calls with no outcome are rejected.

    With a ``carry``, only the calls it judges complete (:meth:`GroupCarry.open_groups`, on
    the callid codes and µs times; ``n_new`` of the rows, the last, read for the first time)
    are assembled now; the rows of the others are returned as a mask, to be carried into the
    next pass. Without one (the end of the file), every call is. ``utc``: the times are UTC
    (else wall clock, and ``start`` is left naive). ``state`` (shared by the file's passes)
    tells a call still open at the cut of the export (its last event within
    :data:`HORIZON` of the newest event of the file) from one whose end was never logged.
    """
    n = len(r.line)
    if n == 0:
        return raw_frame(0), [], np.zeros(0, dtype=bool)
    line, t, code = r.line, r.t, r.code
    enc = pc.dictionary_encode(r.callid)
    gid = enc.indices.to_numpy(zero_copy_only=False)
    ng = len(enc.dictionary)
    # Rank of each row in (time, line) order: a call's first/last event of a kind.
    if n < 2 or (np.all(t[1:] >= t[:-1]) and np.all(line[1:] > line[:-1])):
        order = np.arange(n)
        rank = order
    else:
        order = np.lexsort((line, t))
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)

    def first(kind: np.ndarray) -> np.ndarray:
        sel = np.flatnonzero(kind[code])
        k = np.full(ng, n, dtype=np.int64)
        np.minimum.at(k, gid[sel], rank[sel])
        return np.where(k < n, order[np.minimum(k, n - 1)], -1)

    def last(kind: np.ndarray) -> np.ndarray:
        sel = np.flatnonzero(kind[code])
        k = np.full(ng, -1, dtype=np.int64)
        np.maximum.at(k, gid[sel], rank[sel])
        return np.where(k >= 0, order[np.maximum(k, 0)], -1)

    first_line = np.full(ng, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_line, gid, line)
    t_first = np.full(ng, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(t_first, gid, t)
    n_rows = np.bincount(gid, minlength=ng)
    done = np.ones(ng, dtype=bool) if carry is None else ~carry.open_groups(gid, ng, t, n_new)
    hold = ~done[gid]
    g = np.flatnonzero(done)
    if not len(g):
        return raw_frame(0), [], hold
    g = g[np.argsort(first_line[g], kind="stable")]
    er, cr, dr, nr, tr, lr = (
        x[g] for x in (first(_IS_START), first(_IS_CONNECT), first(_IS_DID), last(_IS_END), last(_IS_TERM), last(_IS_ANY))
    )
    answered = cr >= 0
    has_term = tr >= 0
    # A call whose last event is a word this reader does not know (a dialler's own result,
    # say) is kept with outcome "unknown" (the word is counted), not rejected.
    unknown_end = ~answered & ~has_term & (code[lr] == CODE_UNKNOWN)
    pending = ~answered & ~has_term & ~unknown_end
    rejects: list[Reject] = []
    if pending.any():
        newest = state.newest if state is not None and state.newest is not None else int(t.max())
        horizon = int(HORIZON / pd.Timedelta(1, "us"))
        ended = nr[pending] >= 0
        at_cut = (t[lr[pending]] >= newest - horizon) & ~ended
        if state is not None and at_cut.any():
            state.open_at_cut = True
        why = np.where(ended, ENDED_UNCONNECTED, np.where(at_cut, OPEN_AT_CUT, NO_OUTCOME))
        rejects = [
            Reject(int(ln), str(w), "", rows=int(k)) for ln, k, w in zip(first_line[g][pending], n_rows[g][pending], why)
        ]
    keep = ~pending
    g, er, cr, dr, nr, tr, lr = (x[keep] for x in (g, er, cr, dr, nr, tr, lr))
    answered, has_term, unknown_end = answered[keep], has_term[keep], unknown_end[keep]

    # Fields are read only for the rows that matter (the picks are most of the assembly's cost).
    def pick(rows: np.ndarray, name: str, where: np.ndarray | None = None) -> pa.Array:
        """Strings of the picked rows; null where there is no such row (or not ``where``)."""
        missing = rows < 0 if where is None else (rows < 0) | ~where
        if missing.all():
            return pa.nulls(len(rows), pa.string())
        return r.field(name, np.where(missing, 0, rows), missing)

    def number(rows: np.ndarray, name: str, where: np.ndarray | None = None) -> np.ndarray:
        """Numbers of the picked rows; NaN where there is no such row (or not ``where``)."""
        sel = rows >= 0 if where is None else (rows >= 0) & where
        out = np.full(len(rows), np.nan)
        if sel.any():
            out[sel] = _to_float(r.field(name, rows[sel], np.zeros(int(sel.sum()), dtype=bool)))
        return out

    def at(x: np.ndarray, rows: np.ndarray, fill):
        return np.where(rows >= 0, x[np.maximum(rows, 0)], fill)

    nan = np.nan
    t0 = np.where(er >= 0, t[np.maximum(er, 0)], t_first[g])
    start_code = at(code, er, -1)
    term_code = at(code, tr, CODE_UNKNOWN)
    end_code = at(code, nr, CODE_UNKNOWN)
    outcome = np.where(answered, 0, np.where(unknown_end, _UNKNOWN_OUTCOME, _TERM_OUTCOME[term_code]))
    wait_field = _WAIT_FIELD[term_code]
    wait_unans = np.full(len(g), nan)
    for k in (3, 4):
        sel = has_term & (wait_field == k)
        if sel.any():
            wait_unans = np.where(sel, number(tr, f"data{k}", sel), wait_unans)
    # CONNECT's data1 is the hold time; an outbound answer's fields are not (times are used).
    queue_connect = _IS_QUEUE_CONNECT[at(code, cr, CODE_UNKNOWN)]
    hold_s = number(cr, "data1", queue_connect)
    t_conn = at(t, cr, 0)
    overflowed = np.bincount(gid[_IS_ENTER[code]], minlength=ng)[g] > 1
    span_wait = np.where(answered, (t_conn - t0) / 1e6, nan)
    wait_ans = np.where(overflowed | np.isnan(hold_s), span_wait, hold_s)
    wait = np.where(answered, wait_ans, wait_unans)
    # Unanswered calls with no recorded wait: from entering to leaving (or the last event);
    # none for a call never seen entering (Wazo's JOINEMPTY, CLOSED: it was never queued).
    t_term = np.where(has_term, (at(t, tr, 0) - t0) / 1e6, (t[lr] - t0) / 1e6)
    wait = np.where(np.isnan(wait) & ~answered & (er >= 0), t_term, wait)
    transfer = _IS_TRANSFER[end_code]
    has_end = nr >= 0
    talk_end = np.where(transfer, number(nr, "data4", transfer), number(nr, "data2", has_end & ~transfer))
    # No end event (an outbound dialler's call, or a file cut while talking): to the call's
    # last event, which is the answer itself when nothing came after it.
    t_talk_end = np.where(has_end, at(t, nr, 0), t[lr])
    talk_span = np.where(answered, np.maximum(t_talk_end - t_conn, 0) / 1e6, nan)
    talk = np.where(answered, np.where(np.isnan(talk_end), talk_span, talk_end), 0.0)

    # The queue entered; else the queue that connected; else the dialled number (DID).
    q_enter = pick(er, "queue")
    use_enter = pc.fill_null(pc.not_equal(q_enter, ""), False)
    line_ = pc.if_else(use_enter, q_enter, pick(cr, "queue", ~use_enter.to_numpy(zero_copy_only=False)))
    if line_.null_count:
        line_ = pc.coalesce(line_, pick(dr, "data1", line_.is_null().to_numpy(zero_copy_only=False)))
    if line_.null_count:
        # Never entered a queue (Wazo's JOINEMPTY, a dialler's result): the queue it names.
        line_ = pc.coalesce(line_, pick(tr, "queue", line_.is_null().to_numpy(zero_copy_only=False)))
        line_ = pc.coalesce(line_, pick(lr, "queue", line_.is_null().to_numpy(zero_copy_only=False)))
    outbound = _IS_OUTBOUND[np.where(start_code >= 0, start_code, CODE_UNKNOWN)]
    raw = pd.DataFrame(
        {
            "call_id": _strings(enc.dictionary.take(pa.array(g))),
            "start": pd.to_datetime(t0, unit="us", utc=True) if utc else pd.to_datetime(t0, unit="us"),
            "direction": _strings(_DIRECTIONS.take(pa.array(outbound.astype(np.int8)))),
            "line": _strings(line_),
            "caller": _strings(_callers(er, start_code, pick)),
            "outcome": _strings(_OUTCOMES.take(pa.array(outcome))),
            "wait_s": np.asarray(wait, dtype=float),
            "talk_s": np.nan_to_num(np.asarray(talk, dtype=float), nan=0.0),
            "agent": _strings(_null_if_empty(pick(cr, "agent"))),
            "source_line": pd.array(first_line[g], dtype="Int64"),
            "n_rows": n_rows[g].astype(np.int64),
        }
    )
    return raw, rejects, hold


def _null_if_empty(arr: pa.Array) -> pa.Array:
    """The strings, with empty ones (a column the export lacks) as null."""
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def _callers(er: np.ndarray, start_code: np.ndarray, pick) -> pa.Array:
    """The other party of each call: ENTERQUEUE's and CALLOUTBOUND's data2; for an outbound
    dialler's OUTDIAL, the first of data1, data2 that looks like a dialled number."""
    caller = pick(er, "data2")
    dial = _IS_OUTDIAL[np.where(start_code >= 0, start_code, CODE_UNKNOWN)]
    if not dial.any():
        return caller
    found = pa.nulls(len(er), pa.string())
    for name in ("data2", "data1"):
        v = pc.utf8_trim_whitespace(pick(er, name, dial))
        looks = pc.fill_null(pc.match_substring_regex(v, _DIALLED.pattern), False)
        found = pc.if_else(looks, v, found)
    return pc.if_else(pa.array(dial), found, caller)


def read(source: Source, ctx: ReadContext) -> Iterator[ParsedChunk]:
    """Read a queue_log (native or CSV export) as raw calls, in bounded chunks."""
    head = source.head_lines(3)
    native = bool(head) and bool(_NATIVE.match(head[0]))
    yield from (_native(source) if native else _csv(source, ctx))


FORMATS = [
    Format(
        name=FORMAT_NAME,
        title="Asterisk queue_log (native pipe-delimited, or a database export as CSV with a header)",
        example="queue_log",
        sniff=sniff,
        read=read,
        evidence="real",
        evidence_note=(
            "native logs from public bug reports of running Asterisk/FreePBX systems; database "
            "exports by the headers of real queue_log tables (FreePBX, MySQL realtime, Wazo) and "
            "the layout reported from a running system's export (date_time and epoch time, "
            "param1..3); outbound dialler events (OUTDIAL, OUTANSWER, ...) by their names only"
        ),
    )
]
