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
  hour is resolved in file order (:func:`telephony.timeutil.localize`). A report may mix the
  two: an end time with an offset beside a wall-clock start (or the reverse) is brought to the
  start's clock through the report's zone before talk time is taken from it.
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
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Iterator
from collections.abc import Mapping as _AbcMapping

import numpy as np
import pandas as pd

from telephony.formats._base import Format, ParsedChunk, ReadContext, raw_frame
from telephony.schema import DIRECTIONS, OUTCOMES
from telephony.sources import Source
from telephony.tabular_mapping import (
    FILE_KEYS,
    DURATION_FORMATS,
    MappingBuilder,
    RecordSpec,
    Rows,
    TabularMapping,
    bundled_mappings_of,
    clipped,
    effective_timezone,
    format_fields,
    load_record_mapping,
    norm_word,
    norm_words,
    read_records,
    shown,
    sniff_mapping,
    suggest,
)
from telephony.timeutil import localize

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

# Direction words understood without a [directions] table (a mapping's own words are added).
BUILTIN_DIRECTIONS: dict[str, str] = {
    "inbound": "inbound", "in": "inbound", "incoming": "inbound", "i": "inbound",
    "outbound": "outbound", "out": "outbound", "outgoing": "outbound", "o": "outbound",
    "internal": "internal", "int": "internal", "extension": "internal",
}

_RULE_KEYS = ("outcome", "direction", "if_no_talk")
# Where the talk time comes from, in order of preference.
_TALK_FROM = ("talk", "duration", "end")
# Distinct unknown words a file's notes explain one by one; beyond, one note points to the list.
NOTED_WORDS = 10


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


# ----------------------------------------------------------------------------- checking


def _outcome_word(b: MappingBuilder, section: str, key: str, value: object, what: str = "an outcome") -> str | None:
    if not isinstance(value, str) or value.strip().lower() not in OUTCOMES:
        b.problem(section, key, f"{shown(value)} is not {what}", f"use one of {', '.join(OUTCOMES)}{suggest(str(value), OUTCOMES)}")
        return None
    return value.strip().lower()


def _direction_word(b: MappingBuilder, section: str, key: str, value: object) -> str | None:
    if not isinstance(value, str) or value.strip().lower() not in DIRECTIONS:
        b.problem(
            section, key, f"{shown(value)} is not a direction",
            f"use one of {', '.join(DIRECTIONS)}{suggest(str(value), DIRECTIONS)}",
        )
        return None
    return value.strip().lower()


def _outcome_rule(b: MappingBuilder, word: str, v: object) -> OutcomeRule | None:
    """One ``[outcomes]`` line: a word's outcome, or a table setting direction and if_no_talk too."""
    if not isinstance(v, dict):
        outcome = _outcome_word(b, "outcomes", word, v)
        return None if outcome is None else OutcomeRule(word, outcome)
    for k in v:
        if k not in _RULE_KEYS:
            b.problem(
                "outcomes", word, f"unknown key {shown(k)} in the rule",
                f"use outcome, direction and if_no_talk{suggest(k, _RULE_KEYS)}",
            )
    if "outcome" not in v:
        b.problem("outcomes", word, "the rule has no outcome", f'write "{word}" = {{ outcome = "answered", ... }}')
        return None
    outcome = _outcome_word(b, "outcomes", word, v["outcome"])
    direction = no_talk = None
    if "direction" in v:
        direction = _direction_word(b, "outcomes", word, v["direction"])
    if "if_no_talk" in v:
        no_talk = _outcome_word(b, "outcomes", word, v["if_no_talk"], "an outcome (if_no_talk)")
    if outcome is None or ("direction" in v and direction is None) or ("if_no_talk" in v and no_talk is None):
        return None
    return OutcomeRule(word, outcome, direction, no_talk)


def _outcomes(b: MappingBuilder) -> dict[str, OutcomeRule]:
    t = b.table(
        "outcomes", required=True,
        fix='add an [outcomes] table: "vendor word" = "outcome", one line per word the report uses',
    )
    if "outcomes" in b.data and isinstance(b.data["outcomes"], dict) and not t:
        b.problem(
            "outcomes", "", "the table is empty",
            'list each word of the report\'s result column: "Answered" = "answered"',
        )
    out: dict[str, OutcomeRule] = {}
    for word, v in t.items():
        rule = _outcome_rule(b, word, v)
        if rule is None:
            continue
        key = norm_word(word)
        prev = out.get(key)
        if prev is not None and replace(prev, word=rule.word) != rule:
            b.problem(
                "outcomes", word,
                f"the same word as {prev.word!r} (case and spaces are ignored) with a different meaning",
                "keep one of the two lines",
            )
            continue
        out[key] = rule
    return out


def _directions(b: MappingBuilder) -> dict[str, str]:
    out = dict(BUILTIN_DIRECTIONS)
    fix = (
        'add direction = "<the report\'s direction column>" under [columns], or set a direction per '
        'outcome word: "Outbound" = { outcome = "answered", direction = "outbound" }'
    )
    b.table_needs_column("directions", "direction", fix)
    # Added to the built-in words, a later line winning: a [directions] table is lenient.
    for word, v in b.table("directions").items():
        d = _direction_word(b, "directions", word, v)
        if d is not None:
            out[norm_word(word)] = d
    return out


def _short_missed(b: MappingBuilder) -> ShortMissed | None:
    if "short_missed" not in b.data:
        return None
    t = b.table("short_missed")
    under = t.get("under_seconds")
    if under is None:
        b.problem(
            "short_missed", "under_seconds", "required key missing",
            "add under_seconds = 10 (or remove the [short_missed] table)",
        )
        return None
    if isinstance(under, bool) or not isinstance(under, (int, float)) or not under > 0:
        b.problem(
            "short_missed", "under_seconds", f"expected a number of seconds above 0, got {shown(under)}",
            "write under_seconds = 10, without quotes",
        )
        return None
    outcome = _outcome_word(b, "short_missed", "outcome", t.get("outcome", "abandoned"))
    return None if outcome is None else ShortMissed(float(under), outcome)


def _check(b: MappingBuilder, columns: dict) -> dict:
    """The call mapping's own tables: outcomes, directions and the short-missed rule."""
    return {
        "outcomes": MappingProxyType(_outcomes(b)),
        "directions": MappingProxyType(_directions(b)),
        "short_missed": _short_missed(b),
    }


def _module_format_names() -> set[str]:
    """Names of the parser modules' formats (a copy of a bundled mapping may keep its name)."""
    # Read from sys.modules, not imported: the registry imports this module while it is built.
    registry = getattr(sys.modules.get("telephony.formats"), "FORMATS", None) or {}
    return set(registry) - set(bundled_mappings())


# ----------------------------------------------------------------------------- read


def _calls(rows: Rows) -> tuple[dict, None]:
    """How a call report's rows become raw calls (see the module Notes)."""
    mapping: Mapping = rows.mapping
    index = rows.frame.index
    noted = rows.reading.state.setdefault("noted", {})

    # When the call arrived.
    start = rows.start()

    # The outcome word, and what it says about direction and no-talk calls.
    words = rows.col("outcome")
    key = norm_words(words)
    rules = mapping.outcomes
    base = key.map({k: r.outcome for k, r in rules.items()}).astype("string")
    dir_over = key.map({k: r.direction for k, r in rules.items() if r.direction}).astype("string")
    no_talk = key.map({k: r.if_no_talk for k, r in rules.items() if r.if_no_talk}).astype("string")
    # A word the mapping does not know keeps its call: outcome unknown, the word counted, and
    # a note saying how to map it (the call is demand whatever its outcome).
    unk = base.isna().to_numpy()
    if unk.any():
        _unknown_words(rows, noted, "outcome", clipped(words)[unk])
        base = base.mask(unk, "unknown").astype("string")

    # Direction: the outcome word's rule, else the direction column, else inbound.
    direction = pd.Series("inbound", index=index, dtype="string")
    if rows.has("direction"):
        dwords = rows.col("direction")
        dmapped = norm_words(dwords).map(dict(mapping.directions)).astype("string")
        dunk = (dmapped.isna() & dir_over.isna()).to_numpy()
        if dunk.any():
            _unknown_words(rows, noted, "direction", clipped(dwords)[dunk])
        direction = dmapped.fillna("unknown").astype("string")
    direction = dir_over.fillna(direction).astype("string")

    # Durations: talk time given, or derived from the total or the end time.
    wait = rows.duration("wait")
    if rows.has("talk"):
        talk_raw = rows.duration("talk")
    elif rows.has("duration"):
        talk_raw = (rows.duration("duration") - wait.fillna(0.0)).clip(lower=0.0)
    else:
        end = rows.end(start)
        talk_raw = ((end - start).dt.total_seconds() - wait.fillna(0.0)).clip(lower=0.0)

    # Final outcome: the no-talk variant, then the short-missed rule.
    has_talk = (talk_raw.fillna(0.0) > 0).to_numpy()
    outcome = base.copy()
    use_no_talk = no_talk.notna().to_numpy() & ~has_talk
    outcome[use_no_talk] = no_talk[use_no_talk]
    sm = mapping.short_missed
    if sm is not None:
        short = (outcome == "missed").fillna(False).to_numpy() & (direction == "inbound").to_numpy() & (
            wait < sm.under_seconds
        ).fillna(False).to_numpy()
        outcome[short] = sm.outcome
    answered = (outcome == "answered").fillna(False).to_numpy()
    tcol = next(c for c in _TALK_FROM if rows.has(c))
    rows.flag(
        answered & talk_raw.isna().to_numpy() & (rows.col(tcol) == "").to_numpy(),
        f"talk time empty in column {rows.label(tcol)!r} for an answered call",
    )
    # An unknown outcome may hide an answer: its talk time and agent are kept as reported, so
    # nothing is lost before the word is mapped.
    keep_talk = answered | unk
    talk = pd.Series(np.where(keep_talk, talk_raw.fillna(0.0).to_numpy(), 0.0), index=index)

    # Who: pseudonymised later by the ingest, so raw here.
    caller = rows.optional("caller")
    if rows.has("dialled"):
        out = (direction == "outbound").to_numpy()
        caller = caller.copy()
        caller[out] = rows.optional("dialled")[out]
    agent = rows.optional("agent").where(keep_talk, pd.NA)

    tz = rows.reading.options.get("tz")
    if tz is not None and getattr(start.dt, "tz", None) is None:
        start = localize(start, tz, rows.reading.state.setdefault("clock", {}))
    return {
        "call_id": rows.optional("call_id"),
        "start": start,
        "direction": direction,
        "line": rows.optional("line"),
        "caller": caller,
        "outcome": outcome,
        "wait_s": wait,
        "talk_s": talk,
        "agent": agent,
    }, None


def _unknown_words(rows: Rows, noted: dict, what: str, words: pd.Series) -> None:
    """Count a chunk's unknown ``what`` words (outcome words bare, others after ``what``) and
    note how to map each (see :func:`_note_word`)."""
    for first in rows.count(what, words, bare=what == "outcome"):
        _note_word(rows.notes, noted, what, first, rows.label(what), rows.mapping)


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


#: The record these mappings describe (see :class:`telephony.tabular_mapping.RecordSpec`).
RECORD = RecordSpec(
    "calls",
    # Messages say "not a xon_surgery_connect report": the format's name says it holds calls.
    "report",
    COLUMNS,
    mapping_type=Mapping,
    tables=("file", "columns", "datetime", "durations", "outcomes", "directions", "short_missed"),
    table_keys={
        "file": FILE_KEYS,
        "datetime": ("format", "dayfirst", "timezone"),
        "durations": ("format",),
        "short_missed": ("under_seconds", "outcome"),
    },
    required=(
        (("outcome",), 'add outcome = "<the report\'s result/status column>"'),
        (
            _TALK_FROM,
            'add talk = "<talk time column>", or duration = "<total duration column>" '
            'or end = "<end time column>" to derive it',
        ),
    ),
    check=_check,
    syntax_example='"Callback Requested" = "callback"',
    title_fix='add title = "<supplier> call report (CSV/XLSX)" (shown by frontdoor formats)',
    title_text_fix='write title = "<supplier> call report"',
    sheet_example="Calls",
    taken_names=_module_format_names,
    folder=Path(__file__).resolve().parent.parent / "mappings",
    listed_as="call report",
    record_frame=raw_frame,
    chunk_type=ParsedChunk,
    records=_calls,
    sniff_words=("outcome", "outcomes"),
)


# ----------------------------------------------------------------------------- the public face


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
    return load_record_mapping(RECORD, path_or_text)


def bundled_mappings() -> dict[str, Mapping]:
    """Every mapping shipped in ``telephony/mappings/``, by name.

    Raises
    ------
    MappingError
        If a bundled file is invalid (a packaging error; the tests load them all).
    """
    return bundled_mappings_of(RECORD)


def _read(mapping: Mapping, source: Source, ctx: ReadContext) -> Iterator[ParsedChunk]:
    # The mapping's own zone is applied here (the ingest applies a zone given to it).
    options = {"tz": effective_timezone(mapping, ctx.timezone)}
    return read_records(mapping, source, ctx.timezone, options)


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
    return Format(
        **format_fields(mapping),
        sniff=functools.partial(sniff_mapping, mapping),
        read=functools.partial(_read, mapping),
        timezone=mapping.timezone,
    )


__all__ = [
    "COLUMNS",
    "DURATION_FORMATS",
    "RECORD",
    "Mapping",
    "OutcomeRule",
    "ShortMissed",
    "bundled_mappings",
    "load_mapping",
    "mapping_format",
]
