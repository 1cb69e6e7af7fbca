"""Mapping files: onboard a bespoke supplier's CSV or XLSX call report without writing code.

UK GP cloud telephony suppliers (X-on Surgery Connect, Redcentric, Daisy/Wavenet, ...) give
practices report downloads, not documented formats. A mapping file, in TOML, says where the
report keeps each canonical field, how it writes times and durations, and what its words mean.
:func:`load_mapping` reads and checks one; :func:`mapping_format` turns it into a
:class:`~telephony.formats._base.Format` that sniffs and reads like any parser module. Files in
``telephony/mappings/`` are bundled and registered as formats by name
(``--format xon_surgery_connect``); any other file is used with ``--mapping FILE``.

A fully commented mapping file (every key; only ``name``, ``title``, ``[columns]`` with a
start, an outcome and a talk time, and ``[outcomes]`` are required)::

    # Format name used with --format: lower case letters, digits and _.
    name = "acme_voice"
    title = "Acme Voice call report (CSV or XLSX download)"
    supplier = "Acme Voice Ltd"                # optional, shown in 'frontdoor formats'
    example = "CallReport.csv"                 # optional: what the download is called
    notes = "Reports > Calls > Export, all columns."   # optional, for people
    evidence = "documentation"      # optional: "real" once checked against a real export
                                    # (shown by 'frontdoor formats'); "documentation" else
    evidence_note = "from the supplier's help pages"   # optional: what it was checked against

    [file]                          # optional table; every key in it is optional
    delimiter = ";"                 # one character, or "tab"; guessed when absent
    skip_lines = 2                  # lines before the header (report title, date range);
    # header_row = 3                # ...or the header's line/row number (= skip_lines + 1).
                                    # Without either, the header is found in the first
                                    # 30 lines as the line holding the mapped columns.
    encoding = "cp1252"             # Python codec; detected when absent (UTF-8 with or
                                    # without BOM, UTF-16, Windows-1252)
    sheet = "Calls"                 # .xlsx only: the worksheet (default: the first with data)

    [columns]                       # canonical name = the report's column header.
    # Headers match case-, space- and punctuation-insensitively ("Date/Time" = "DATE TIME").
    # A list gives alternative headers, the first found is used.
    date = "Call Date"              # either start = "..." (date and time in one column)
    time = "Call Time"              # or date + time in two columns
    call_id = "Reference"           # optional: the report's own call id (else a hash)
    caller = ["CLI", "Caller"]      # optional: caller's number (pseudonymised on ingest)
    dialled = "Number Dialled"      # optional: on outbound calls the other party (-> caller)
    direction = "Direction"         # optional: read through [directions]; inbound if absent
    line = "Queue"                  # optional: queue / IVR branch / number called
    outcome = "Status"              # required: read through [outcomes]
    wait = "Queue Time"             # optional: time queued or ringing
    talk = "Talk Time"              # one of talk, duration (talk = duration - wait) or
    # duration = "Duration"         # end (talk = end - start - wait) is required
    # end = "End Time"
    agent = "Answered By"           # optional: who answered (pseudonymised on ingest)

    [datetime]                      # optional table
    format = "%d/%m/%Y %H:%M:%S"    # strptime; with date + time columns it reads the two
                                    # joined by a space. Values it does not fit are still
                                    # tried the usual ways before being rejected.
    dayfirst = true                 # how to read 05/01/2026 when guessing (UK: true)
    timezone = "Europe/London"      # the report's wall clock; replaces the --timezone default

    [durations]                     # optional table
    format = "hh:mm:ss"             # "auto" (default: 75, 75.5, 1:15, 00:01:15),
                                    # "seconds", "minutes" or "hh:mm:ss"

    [outcomes]                      # required: vendor word = outcome (case-insensitive).
    # Outcomes: answered, callback, abandoned, ivr_abandoned, missed, voicemail, closed,
    # busy, failed. Quote words with spaces. A call with a word not listed here is kept
    # with outcome unknown, the word counted and a note saying how to map it.
    "Answered" = "answered"
    "Queue Timeout" = "missed"
    "Caller Hung Up" = "abandoned"
    "Callback Booked" = "callback"
    # A table also sets the direction, and an outcome for rows with no talk time:
    "Outbound" = { outcome = "answered", direction = "outbound", if_no_talk = "missed" }

    [directions]                    # optional, only with a direction column: vendor word =
    "Incoming" = "inbound"          # inbound / outbound / internal. Added to the built-in
    "Transfer" = "internal"         # words (in, inbound, incoming, out, outbound, ...); a
                                    # word not known keeps its call with direction unknown.

    [short_missed]                  # optional: X-on style "missed from queue under 10
    under_seconds = 10              # seconds". Inbound calls whose outcome is "missed" with
    outcome = "abandoned"           # a wait under this become this outcome (default
                                    # abandoned: the caller gave up, the queue did not).

Notes
-----
- Every problem in a mapping file is reported at once, each with the file, the line where it
  can be found, the key and the fix (:class:`~telephony.errors.MappingError`).
- Every column named in ``[columns]`` must be in the report's header; a missing one stops the
  read with a one-line :class:`~telephony.errors.BadInputError` rather than silently losing,
  say, every caller number. Extra columns in the report are ignored.
- Canonical meanings are enforced whatever the report says: ``talk_s`` is 0 and ``agent`` is
  null unless the outcome is ``answered`` (a voicemail's message length is not talk time); an
  answered call with no talk time is rejected. An empty wait means "never queued".
- ``[datetime] timezone`` applies when ``--timezone`` is not given (instead of Europe/London);
  a ``--timezone`` given explicitly wins, Europe/London too. The manifest records the zone used.
- Times are wall-clock unless they carry an offset or are epoch seconds; the autumn clock-change
  hour is resolved in file order (:func:`telephony.timeutil.localize`).
- Outcome and direction words are matched case-insensitively with runs of spaces collapsed.
  A word the mapping does not know never costs its call: the call is kept with outcome (or
  direction) ``unknown``, the word counted (under its first spelling in the file), and a note
  says how to map it (at most :data:`NOTED_WORDS` words get their own note). Such a call
  keeps its talk time and agent as reported: an unknown outcome may hide an answer. Only a
  row that cannot be a call (no readable start time), or whose values cannot be read, is
  rejected.
- Dates outside the years that can be stored (a placeholder 31/12/9999, a clock set to
  1677) reject their own row, saying so (:func:`telephony.tabular_mapping.read_datetimes`).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping as _AbcMapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Iterator

import numpy as np
import pandas as pd

from telephony.schema import DIRECTIONS, OUTCOMES
from telephony.sources import Chunk, Source, read_delimited
from telephony.tabular_mapping import (
    IDENTITY_KEYS,
    MAX_YEAR,
    MIN_YEAR,
    clipped,
    head_fits,
    shown,
    load_folder,
    DURATION_FORMATS,
    FILE_KEYS,
    HeaderLayout,
    MappingBuilder,
    RecordSpec,
    TabularMapping,
    column_readers,
    durations_seconds,
    effective_timezone,
    end_times,
    flag,
    format_title,
    load_document,
    norm_word,
    open_report,
    read_start,
    reason_series,
    sniff_score,
    suggest,
)
from telephony.timeutil import DEFAULT_TZ, localize, years_out_of_range
from telephony.formats._base import Format, ParsedChunk, ReadContext, raw_frame, rejects_from

# ----------------------------------------------------------------------------- the vocabulary

#: Canonical column names a mapping can give, and what each means (used in error fixes).
COLUMNS: dict[str, str] = {
    "start": "date and time the call arrived, in one column",
    "date": "date the call arrived (with time in another column)",
    "time": "time of day the call arrived (with date)",
    "call_id": "the report's own call reference",
    "caller": "the caller's number",
    "dialled": "the number dialled (the other party on outbound calls)",
    "direction": "inbound/outbound/internal, read through [directions]",
    "line": "queue, IVR branch or number the call came in on",
    "outcome": "the call's result, read through [outcomes]",
    "wait": "time queued or ringing before answer or hang-up",
    "talk": "time talking after answer",
    "duration": "total call length including the wait",
    "end": "when the call ended",
    "agent": "who answered",
}

#: The record these mappings describe (see :class:`telephony.tabular_mapping.RecordSpec`).
RECORD = RecordSpec("calls", "call report", COLUMNS)

# Direction words understood without a [directions] table (a mapping's own words are added).
BUILTIN_DIRECTIONS: dict[str, str] = {
    "inbound": "inbound", "in": "inbound", "incoming": "inbound", "i": "inbound",
    "outbound": "outbound", "out": "outbound", "outgoing": "outbound", "o": "outbound",
    "internal": "internal", "int": "internal", "extension": "internal",
}

_TOP_KEYS = IDENTITY_KEYS + (
    "file", "columns", "datetime", "durations", "outcomes", "directions", "short_missed",
)
_TABLE_KEYS = {
    "file": FILE_KEYS,
    "datetime": ("format", "dayfirst", "timezone"),
    "durations": ("format",),
    "short_missed": ("under_seconds", "outcome"),
}
_RULE_KEYS = ("outcome", "direction", "if_no_talk")


# ----------------------------------------------------------------------------- the mapping


@dataclass(frozen=True)
class OutcomeRule:
    """What one vendor outcome word means.

    Attributes
    ----------
    word : str
        The word as the mapping file spells it.
    outcome : str
        One of :data:`telephony.schema.OUTCOMES`.
    direction : str or None
        Sets the call's direction (a report that writes "Outbound" as a result).
    if_no_talk : str or None
        Outcome instead when the row has no talk time (an outbound call nobody picked up).
    """

    word: str
    outcome: str
    direction: str | None = None
    if_no_talk: str | None = None


@dataclass(frozen=True)
class ShortMissed:
    """Inbound ``missed`` calls with a wait under ``under_seconds`` become ``outcome``."""

    under_seconds: float
    outcome: str = "abandoned"


@dataclass(frozen=True)
class Mapping(TabularMapping):
    """A checked call-report mapping file (see the module docstring for the keys).

    The attributes every mapping has (identity, ``[file]``, ``[columns]``, ``[datetime]``,
    ``[durations]``) are described in :class:`telephony.tabular_mapping.TabularMapping`;
    ``bundled`` means shipped in ``telephony/mappings/``.

    Attributes
    ----------
    outcomes : Mapping[str, OutcomeRule]
        Normalised vendor word (lower case, spaces collapsed) → rule.
    directions : Mapping[str, str]
        Normalised vendor word → direction (built-in words included).
    short_missed : ShortMissed or None
    """

    outcomes: _AbcMapping[str, OutcomeRule] = field(default_factory=lambda: MappingProxyType({}))
    directions: _AbcMapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    short_missed: ShortMissed | None = None

    def required_columns(self) -> list[str]:
        """Canonical columns a report must have for this mapping to read it at all."""
        req = ["start"] if "start" in self.columns else ["date", "time"]
        req.append("outcome")
        req.append(next(c for c in ("talk", "duration", "end") if c in self.columns))
        return req


# ----------------------------------------------------------------------------- loading


def load_mapping(path_or_text: str | Path | bytes) -> Mapping:
    """Read and check a mapping file.

    Parameters
    ----------
    path_or_text : str, Path or bytes
        A path to a ``.toml`` file, or the TOML text itself (a string with a newline or ``=``).

    Returns
    -------
    Mapping

    Raises
    ------
    MappingError
        Listing every problem found (not just the first), each with the file, line, key and
        fix. Bad TOML syntax stops at the first syntax error, with its line.

    Examples
    --------
    >>> m = load_mapping('''
    ... name = "tiny"
    ... title = "Tiny report"
    ... [columns]
    ... start = "When"
    ... outcome = "Result"
    ... talk = "Talk"
    ... [outcomes]
    ... "Answered" = "answered"
    ... ''')
    >>> m.outcomes["answered"].outcome
    'answered'
    """
    return _load(path_or_text, bundled=False)


def _load(path_or_text: str | Path | bytes, bundled: bool) -> Mapping:
    return load_document(path_or_text, _Builder, bundled, '"Callback Requested" = "callback"')


def _module_format_names() -> set[str]:
    """Names of the parser modules' formats (a copy of a bundled mapping may keep its name)."""
    import sys

    # Read from sys.modules, not imported: the registry imports this module while it is built.
    registry = getattr(sys.modules.get("telephony.formats"), "FORMATS", None) or {}
    return set(registry) - {m.name for m in _bundled()}


class _Builder(MappingBuilder):
    """Checks a call mapping document: the shared keys, then outcomes, directions, short_missed."""

    top_keys = _TOP_KEYS
    table_keys = _TABLE_KEYS
    record = RECORD
    title_fix = 'add title = "<supplier> call report (CSV/XLSX)" (shown by frontdoor formats)'
    title_text_fix = 'write title = "<supplier> call report"'
    sheet_example = "Calls"

    def taken_names(self) -> set[str]:
        return _module_format_names()

    def outcome_word(self, section: str, key: str, value: object, what: str = "an outcome") -> str | None:
        valid = ", ".join(OUTCOMES)
        if not isinstance(value, str) or value.strip().lower() not in OUTCOMES:
            self.problem(
                section, key, f"{shown(value)} is not {what}",
                f"use one of {valid}{suggest(str(value), OUTCOMES)}",
            )
            return None
        return value.strip().lower()

    def direction_word(self, section: str, key: str, value: object) -> str | None:
        if not isinstance(value, str) or value.strip().lower() not in DIRECTIONS:
            self.problem(
                section, key, f"{shown(value)} is not a direction",
                f"use one of {', '.join(DIRECTIONS)}{suggest(str(value), DIRECTIONS)}",
            )
            return None
        return value.strip().lower()

    # -- the document
    def build(self) -> Mapping:
        self.unknown_top_keys()
        ident = self.identity()
        f = self.file_options()
        columns = self.record_columns('add a [columns] table: canonical name = "the report\'s column header"')
        self.require_columns(
            [
                (("outcome",), 'add outcome = "<the report\'s result/status column>"'),
                (
                    ("talk", "duration", "end"),
                    'add talk = "<talk time column>", or duration = "<total duration column>" '
                    'or end = "<end time column>" to derive it',
                ),
            ]
        )
        dt = self.datetime_options()
        durations = self.durations()
        outcomes = self.outcomes()
        directions = self.directions(columns)
        short = self.short_missed()

        self.raise_if_problems()
        return Mapping(
            **self.common_fields(ident, f, columns, dt, durations),
            outcomes=MappingProxyType(outcomes),
            directions=MappingProxyType(directions),
            short_missed=short,
        )

    def outcomes(self) -> dict[str, OutcomeRule]:
        t = self.table(
            "outcomes",
            required=True,
            fix='add an [outcomes] table: "vendor word" = "outcome", one line per word the report uses',
        )
        if "outcomes" in self.data and isinstance(self.data["outcomes"], dict) and not t:
            self.problem(
                "outcomes",
                "",
                "the table is empty",
                'list each word of the report\'s result column: "Answered" = "answered"',
            )
        out: dict[str, OutcomeRule] = {}
        for word, v in t.items():
            if isinstance(v, dict):
                for k in v:
                    if k not in _RULE_KEYS:
                        self.problem(
                            "outcomes",
                            word,
                            f"unknown key {shown(k)} in the rule",
                            f"use outcome, direction and if_no_talk{suggest(k, _RULE_KEYS)}",
                        )
                if "outcome" not in v:
                    self.problem(
                        "outcomes",
                        word,
                        "the rule has no outcome",
                        f'write "{word}" = {{ outcome = "answered", ... }}',
                    )
                    continue
                outcome = self.outcome_word("outcomes", word, v["outcome"])
                direction = no_talk = None
                if "direction" in v:
                    direction = self.direction_word("outcomes", word, v["direction"])
                if "if_no_talk" in v:
                    no_talk = self.outcome_word("outcomes", word, v["if_no_talk"], "an outcome (if_no_talk)")
                if outcome is None or ("direction" in v and direction is None):
                    continue
                if "if_no_talk" in v and no_talk is None:
                    continue
                rule = OutcomeRule(word, outcome, direction, no_talk)
            else:
                outcome = self.outcome_word("outcomes", word, v)
                if outcome is None:
                    continue
                rule = OutcomeRule(word, outcome)
            key = norm_word(word)
            prev = out.get(key)
            if prev is not None and replace(prev, word=rule.word) != rule:
                self.problem(
                    "outcomes",
                    word,
                    f"the same word as {prev.word!r} (case and spaces are ignored) with a different meaning",
                    "keep one of the two lines",
                )
                continue
            out[key] = rule
        return out

    def directions(self, columns: dict) -> dict[str, str]:
        t = self.table("directions")
        if t and "direction" not in columns and "direction" not in self.data.get("columns", {}):
            self.problem(
                "directions", "", "given, but [columns] has no direction column",
                'add direction = "<the report\'s direction column>" under [columns], or set a '
                'direction per outcome word: "Outbound" = { outcome = "answered", direction = "outbound" }',
            )
        out = dict(BUILTIN_DIRECTIONS)
        for word, v in t.items():
            d = self.direction_word("directions", word, v)
            if d is not None:
                out[norm_word(word)] = d
        return out

    def short_missed(self) -> ShortMissed | None:
        if "short_missed" not in self.data:
            return None
        t = self.table("short_missed")
        under = t.get("under_seconds")
        if under is None:
            self.problem(
                "short_missed",
                "under_seconds",
                "required key missing",
                "add under_seconds = 10 (or remove the [short_missed] table)",
            )
            return None
        if isinstance(under, bool) or not isinstance(under, (int, float)) or not under > 0:
            self.problem(
                "short_missed",
                "under_seconds",
                f"expected a number of seconds above 0, got {shown(under)}",
                "write under_seconds = 10, without quotes",
            )
            return None
        outcome = self.outcome_word("short_missed", "outcome", t.get("outcome", "abandoned"))
        if outcome is None:
            return None
        return ShortMissed(float(under), outcome)


@functools.lru_cache(maxsize=1)
def _bundled() -> tuple[Mapping, ...]:
    return load_folder(Path(__file__).resolve().parent.parent / "mappings", _load)


def bundled_mappings() -> dict[str, Mapping]:
    """Every mapping shipped in ``telephony/mappings/``, by name.

    Raises
    ------
    MappingError
        If a bundled file is invalid (a packaging error; the tests load them all).
    """
    return {m.name: m for m in _bundled()}


# ----------------------------------------------------------------------------- sniff


def _values_fit(mapping: Mapping, layout: HeaderLayout, rows: list[list[str]]) -> bool:
    """Whether most head rows carry this report's outcome words and readable times."""
    pos = layout.index["outcome"]
    return head_fits(mapping, layout, rows, sum(norm_word(r[pos]) in mapping.outcomes for r in rows))


def _sniff(mapping: Mapping, source: Source) -> float:
    return sniff_score(mapping, source, functools.partial(_values_fit, mapping))


# ----------------------------------------------------------------------------- read


def _convert(
    chunk: Chunk, layout: HeaderLayout, mapping: Mapping, tz: str | None, xlsx: bool, clock: dict, noted: dict | None = None
) -> ParsedChunk:
    """One chunk of report rows → raw calls and rejects (one call or one reject per row).

    ``clock`` carries the autumn clock change from chunk to chunk when the mapping's own
    timezone is applied here (see :func:`telephony.timeutil.localize`); ``noted`` the
    unknown words already explained in a note, from chunk to chunk.
    """
    f = chunk.frame.reset_index(drop=True)
    n = len(f)
    skipped, rows_read = chunk.skipped(), chunk.rows_read
    if n == 0:
        return ParsedChunk(raw_frame(0), list(chunk.rejects), rows_read, skipped, Counter())
    idx = layout.index
    col, label, optional = column_readers(f, layout)

    problems: list[pd.Series] = []
    unknown: Counter = Counter()
    notes: list[str] = []
    noted = {} if noted is None else noted

    # When the call arrived.
    start = read_start(f, layout, mapping, problems)

    # The outcome word, and what it says about direction and no-talk calls.
    words = col("outcome")
    key = words.str.lower().str.replace(r"\s+", " ", regex=True)
    rules = mapping.outcomes
    base = key.map({k: r.outcome for k, r in rules.items()}).astype("string")
    dir_over = key.map({k: r.direction for k, r in rules.items() if r.direction}).astype("string")
    no_talk = key.map({k: r.if_no_talk for k, r in rules.items() if r.if_no_talk}).astype("string")
    # A word the mapping does not know keeps its call: outcome unknown, the word counted, and
    # a note saying how to map it (the call is demand whatever its outcome).
    unk = base.isna().to_numpy()
    if unk.any():
        _count_words(unknown, notes, noted, "outcome", clipped(words)[unk], label("outcome"), mapping)
        base = base.mask(unk, "unknown").astype("string")

    # Direction: the outcome word's rule, else the direction column, else inbound.
    direction = pd.Series("inbound", index=f.index, dtype="string")
    if "direction" in idx:
        dwords = col("direction")
        dkey = dwords.str.lower().str.replace(r"\s+", " ", regex=True)
        dmapped = dkey.map(dict(mapping.directions)).astype("string")
        dunk = (dmapped.isna() & dir_over.isna()).to_numpy()
        if dunk.any():
            _count_words(unknown, notes, noted, "direction", clipped(dwords)[dunk], label("direction"), mapping)
        direction = dmapped.fillna("unknown").astype("string")
    direction = dir_over.fillna(direction).astype("string")

    # Durations.
    def duration(k: str) -> pd.Series:
        if k not in idx:
            return pd.Series(np.nan, index=f.index, dtype="float64")
        raw = col(k)
        secs, badv = durations_seconds(raw, mapping.durations, xlsx)
        if badv.any():
            flag(
                problems,
                badv,
                f"unreadable {k} '" + clipped(raw) + f"' in column {label(k)!r} (durations format {mapping.durations})",
            )
        return secs

    wait = duration("wait")
    if "talk" in idx:
        talk_raw = duration("talk")
    elif "duration" in idx:
        talk_raw = (duration("duration") - wait.fillna(0.0)).clip(lower=0.0)
    else:
        etext = col("end")
        end = end_times(etext, start, mapping.datetime_format, mapping.dayfirst)
        if getattr(end.dt, "tz", None) is not None and getattr(start.dt, "tz", None) is None:
            end = end.dt.tz_convert("UTC").dt.tz_localize(None)
        elif getattr(start.dt, "tz", None) is not None and getattr(end.dt, "tz", None) is None:
            end = localize(end, tz or DEFAULT_TZ)
        bad_end = (end.isna() & (etext != "")).to_numpy()
        end_oob = years_out_of_range(etext)
        flag(
            problems, bad_end & end_oob,
            "end time '" + clipped(etext) + f"' in column {label('end')!r} is out of range "
            f"(years {MIN_YEAR} to {MAX_YEAR} can be stored)",
        )
        flag(problems, bad_end & ~end_oob, "unreadable end time '" + clipped(etext) + f"' in column {label('end')!r}")
        talk_raw = ((end - start).dt.total_seconds() - wait.fillna(0.0)).clip(lower=0.0)

    # Final outcome: the no-talk variant, then the short-missed rule.
    has_talk = (talk_raw.fillna(0.0) > 0).to_numpy()
    outcome = base.copy()
    use_no_talk = (no_talk.notna().to_numpy()) & ~has_talk
    outcome[use_no_talk] = no_talk[use_no_talk]
    sm = mapping.short_missed
    if sm is not None:
        short = (outcome == "missed").fillna(False).to_numpy() & (direction == "inbound").to_numpy() & (
            wait < sm.under_seconds
        ).fillna(False).to_numpy()
        outcome[short] = sm.outcome
    answered = (outcome == "answered").fillna(False).to_numpy()
    no_talk_time = answered & talk_raw.isna().to_numpy()
    tcol = next(c for c in ("talk", "duration", "end") if c in idx)
    flag(
        problems,
        no_talk_time & ~(col(tcol) != "").to_numpy(),
        f"talk time empty in column {label(tcol)!r} for an answered call",
    )
    # An unknown outcome may hide an answer: its talk time and agent are kept as reported, so
    # nothing is lost before the word is mapped.
    keep_talk = answered | unk
    talk = pd.Series(np.where(keep_talk, talk_raw.fillna(0.0).to_numpy(), 0.0), index=f.index)

    # Who: pseudonymised later by the ingest, so raw here.
    caller = optional("caller")
    if "dialled" in idx:
        out = (direction == "outbound").to_numpy()
        caller = caller.copy()
        caller[out] = optional("dialled")[out]
    agent = optional("agent").where(keep_talk, pd.NA)

    if tz is not None and getattr(start.dt, "tz", None) is None:
        start = localize(start, tz, clock)

    reasons = reason_series(problems, f.index)
    badrow = reasons.notna().to_numpy() if len(reasons) else np.zeros(n, dtype=bool)
    rejects = list(chunk.rejects)
    if badrow.any():
        rejects += rejects_from(f, chunk.lines, badrow, reasons.fillna(""), sep=layout.delimiter)
    ok = ~badrow
    calls = raw_frame(
        int(ok.sum()),
        call_id=optional("call_id")[ok],
        start=start[ok],
        direction=direction[ok],
        line=optional("line")[ok],
        caller=caller[ok],
        outcome=outcome[ok],
        wait_s=wait[ok],
        talk_s=talk[ok],
        agent=agent[ok],
        source_line=pd.Series(chunk.lines[ok]),
    )
    return ParsedChunk(calls, rejects, rows_read, skipped, unknown, notes)


# Distinct unknown words a file's notes explain one by one; beyond, one note points to the list.
NOTED_WORDS = 10


def _count_words(
    unknown: Counter, notes: list[str], noted: dict, what: str, words: pd.Series, column: str, mapping: Mapping
) -> None:
    """Count a chunk's unknown ``what`` words and note how to map each (see :func:`_note_word`).

    A word is one word whatever its case and spacing (as the mapping looks it up), counted
    under the spelling first seen in the file: outcome words bare, others after ``what``.
    """
    spelled = noted.setdefault("spelling", {})
    for word, cnt in words.value_counts(sort=False).items():
        first = spelled.setdefault((what, norm_word(word)), str(word))
        label = first or f"{what} (empty)"
        if first and what != "outcome":
            label = f"{what} {first}"
        unknown[label] += int(cnt)
        _note_word(notes, noted, what, first, column, mapping)


def _note_word(notes: list[str], noted: dict, what: str, word: str, column: str, mapping: Mapping) -> None:
    """Say once per file how to map an unknown ``what`` ("outcome", "direction") word.

    At most :data:`NOTED_WORDS` words get their own note; the rest share one.
    """
    said = noted.setdefault("said", set())
    if (what, word) in said:
        return
    said.add((what, word))
    if len(said) > NOTED_WORDS:
        if not noted.get("more"):
            noted["more"] = True
            notes.append(
                "more unknown words than are noted here: every one is in the list of unknown "
                "vendor words, each mapped the same way"
            )
        return
    section = "outcomes" if what == "outcome" else "directions"
    values = [o for o in (OUTCOMES if what == "outcome" else DIRECTIONS) if o != "unknown"]
    if word:
        head = f"{what} '{word}' in column {column!r} is not in the mapping: calls kept as {what} unknown"
        add = f'add "{word}" = "<{what}>"'
    else:
        head = f"empty {what} in column {column!r}: calls kept as {what} unknown"
        add = f'to give empty cells a meaning, add "" = "<{what}>"'
    notes.append(f"{head}; {add} {mapping.edit_hint(section)} (one of {', '.join(values)}) and ingest again")


def _read(mapping: Mapping, source: Source, ctx: ReadContext) -> Iterator[ParsedChunk]:
    # read_delimited is looked up here, at call time, so a test can swap in small blocks.
    source, layout, chunks = open_report(source, mapping, reader=read_delimited)
    tz = effective_timezone(mapping, ctx.timezone)
    xlsx = source.kind == "xlsx"
    clock: dict = {}
    noted: dict = {}
    header_notes = list(layout.notes)  # said once, with the first chunk
    for chunk in chunks:
        parsed = _convert(chunk, layout, mapping, tz, xlsx, clock, noted)
        parsed.notes = header_notes + parsed.notes
        header_notes = []
        yield parsed


def mapping_format(mapping: Mapping) -> Format:
    """A registered-style format reading reports as ``mapping`` describes.

    Parameters
    ----------
    mapping : Mapping
        From :func:`load_mapping` or :func:`bundled_mappings`.

    Returns
    -------
    Format
        Named ``mapping.name``. Its sniffer returns 1.0 when the report's header holds every
        mapped column and the first rows' outcome words and times read, 0.6 when the columns
        are all there but the values do not fit or when most (60 %) of the columns are there,
        else 0. Its reader streams CSV (any delimiter) or XLSX in bounded chunks.
    """
    title = format_title(mapping)
    example = mapping.example or f"call report .csv/.xlsx (mapping {mapping.file_name})"
    return Format(
        name=mapping.name,
        title=title,
        example=example,
        sniff=functools.partial(_sniff, mapping),
        read=functools.partial(_read, mapping),
        timezone=mapping.timezone,
        evidence=mapping.evidence,
        evidence_note=mapping.evidence_note,
    )


__all__ = [
    "COLUMNS",
    "DURATION_FORMATS",
    "Mapping",
    "OutcomeRule",
    "ShortMissed",
    "bundled_mappings",
    "load_mapping",
    "mapping_format",
]
