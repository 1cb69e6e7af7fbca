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
    # busy, failed. Quote words with spaces. A row with a word not listed here is
    # rejected with the word in its reason and counted as an unknown word.
    "Answered" = "answered"
    "Queue Timeout" = "missed"
    "Caller Hung Up" = "abandoned"
    "Callback Booked" = "callback"
    # A table also sets the direction, and an outcome for rows with no talk time:
    "Outbound" = { outcome = "answered", direction = "outbound", if_no_talk = "missed" }

    [directions]                    # optional, only with a direction column: vendor word =
    "Incoming" = "inbound"          # inbound / outbound / internal. Added to the built-in
    "Transfer" = "internal"         # words (in, inbound, incoming, out, outbound, ...).

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
- ``[datetime] timezone`` replaces the ``--timezone`` default (Europe/London). A
  ``--timezone`` other than the default still wins: the reader cannot tell an explicit
  ``--timezone Europe/London`` from the default, so the mapping's value is used then.
- Times are wall-clock unless they carry an offset or are epoch seconds; the autumn clock-change
  hour is resolved in file order (:func:`telephony.timeutil.localize`).
- Outcome and direction words are matched case-insensitively with runs of spaces collapsed.
"""

from __future__ import annotations

import codecs
import csv
import datetime as _dt
import difflib
import functools
import io
import re
import tomllib
from collections import Counter
from collections.abc import Mapping as _AbcMapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Iterable, Iterator, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from ..errors import BadInputError, MappingError
from ..privacy import mask_digits
from ..schema import DIRECTIONS, OUTCOMES
from ..sources import HEAD_BYTES, XLSX_CHUNK_ROWS, Chunk, Reject, Source, norm_name, read_delimited

# sources has no way to choose a worksheet yet; the [file] sheet reader reuses its cell rules.
from ..sources import _cell_text, _frame_from_rows
from ..timeutil import DEFAULT_TZ, localize, parse_datetimes, parse_durations
from ._base import Format, ParsedChunk, ReadContext, raw_frame, rejects_from

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
DURATION_FORMATS: tuple[str, ...] = ("auto", "seconds", "minutes", "hh:mm:ss")

# Direction words understood without a [directions] table (a mapping's own words are added).
BUILTIN_DIRECTIONS: dict[str, str] = {
    "inbound": "inbound", "in": "inbound", "incoming": "inbound", "i": "inbound",
    "outbound": "outbound", "out": "outbound", "outgoing": "outbound", "o": "outbound",
    "internal": "internal", "int": "internal", "extension": "internal",
}

_TOP_KEYS = (
    "name", "title", "supplier", "example", "notes",
    "file", "columns", "datetime", "durations", "outcomes", "directions", "short_missed",
)
_TABLE_KEYS = {
    "file": ("delimiter", "skip_lines", "header_row", "encoding", "sheet"),
    "datetime": ("format", "dayfirst", "timezone"),
    "durations": ("format",),
    "short_missed": ("under_seconds", "outcome"),
}
_RULE_KEYS = ("outcome", "direction", "if_no_talk")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# How many non-blank lines of the head may come before the header when it is searched for.
HEADER_SEARCH_LINES = 30
# Data rows of the head looked at by the sniffer's value check.
SNIFF_ROWS = 20


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
class Mapping:
    """A checked mapping file (see the module docstring for the keys).

    Attributes
    ----------
    name, title, supplier, example, notes : str
        Identity of the format; ``name`` is what ``--format`` takes.
    source : str
        Where the mapping came from (a path, or ``<mapping text>``), for messages.
    bundled : bool
        Shipped in ``telephony/mappings/`` (messages then say to copy it before editing).
    delimiter, encoding, sheet : str or None
        ``[file]`` options; None = detect.
    skip_lines : int or None
        Physical lines before the header; None = search for it.
    columns : Mapping[str, tuple of str]
        Canonical name → the report's header(s) for it (alternatives, first found wins).
    datetime_format : str or None
    dayfirst : bool
    timezone : str or None
    durations : str
        One of :data:`DURATION_FORMATS`.
    outcomes : Mapping[str, OutcomeRule]
        Normalised vendor word (lower case, spaces collapsed) → rule.
    directions : Mapping[str, str]
        Normalised vendor word → direction (built-in words included).
    short_missed : ShortMissed or None
    """

    name: str
    title: str
    supplier: str = ""
    example: str = ""
    notes: str = ""
    source: str = "<mapping text>"
    bundled: bool = False
    delimiter: str | None = None
    skip_lines: int | None = None
    encoding: str | None = None
    sheet: str | None = None
    columns: _AbcMapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    datetime_format: str | None = None
    dayfirst: bool = True
    timezone: str | None = None
    durations: str = "auto"
    outcomes: _AbcMapping[str, OutcomeRule] = field(default_factory=lambda: MappingProxyType({}))
    directions: _AbcMapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    short_missed: ShortMissed | None = None

    @property
    def file_name(self) -> str:
        """The mapping file's name (or ``<mapping text>``), for messages."""
        return Path(self.source).name if self.source != "<mapping text>" else self.source

    def required_columns(self) -> list[str]:
        """Canonical columns a report must have for this mapping to read it at all."""
        req = ["start"] if "start" in self.columns else ["date", "time"]
        req.append("outcome")
        req.append(next(c for c in ("talk", "duration", "end") if c in self.columns))
        return req

    def edit_hint(self, section: str) -> str:
        """Where a user adds a word: the file itself, or a copy of a bundled mapping."""
        if self.bundled:
            return f"under [{section}] in a copy of the bundled {self.file_name}, passed with --mapping"
        return f"under [{section}] in {self.file_name}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a mapping file."""

    key: str
    message: str
    fix: str
    line: int | None = None

    def text(self, label: str) -> str:
        where = f"{label}:{self.line}" if self.line else label
        return f"{where}: {self.key}: {self.message}. Fix: {self.fix}"


def _raise(label: str, problems: list[Problem]) -> NoReturn:
    # Missing keys (no line) first, then in the file's order, as an editor walks it.
    problems = sorted(problems, key=lambda p: p.line or 0)
    n = len(problems)
    head = f"Mapping file {label} has {n} problem{'s' if n != 1 else ''}:"
    err = MappingError("\n".join([head] + ["  " + p.text(label) for p in problems]))
    err.problems = problems  # type: ignore[attr-defined]  # for callers that list them
    raise err


# ----------------------------------------------------------------------------- loading


_SECTION_LINE = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_KEY_LINE = re.compile(r"""^\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_\-]+)\s*=""")


def _key_lines(text: str) -> dict[tuple[str, str], int]:
    """Line numbers of ``(section, key)`` in the TOML text (section headers as ``(s, "")``)."""
    out: dict[tuple[str, str], int] = {}
    section = ""
    for i, ln in enumerate(text.splitlines(), start=1):
        m = _SECTION_LINE.match(ln)
        if m:
            section = m.group(1).strip()
            out.setdefault((section, ""), i)
            continue
        m = _KEY_LINE.match(ln)
        if m:
            k = m.group(1)
            if k[0] in "\"'":
                k = k[1:-1]
            out.setdefault((section, k), i)
    return out


def _read_text(path_or_text: str | Path | bytes) -> tuple[str, str, Path | None]:
    """The mapping's text, a label for messages and its path (None for literal text)."""
    if isinstance(path_or_text, bytes):
        raw, label, path = path_or_text, "<mapping text>", None
    elif isinstance(path_or_text, Path) or (
        "\n" not in path_or_text
        and "=" not in path_or_text
        and (path_or_text.lower().endswith(".toml") or Path(path_or_text).exists())
    ):
        path = Path(path_or_text)
        label = str(path)
        if not path.is_file():
            _raise(
                label,
                [Problem("(file)", "no such mapping file", "check the path, or pass the TOML text itself")],
            )
        raw = path.read_bytes()
    else:
        return str(path_or_text), "<mapping text>", None
    try:
        # TOML is UTF-8; Windows Notepad may add a BOM, which is harmless.
        return raw.decode("utf-8-sig"), label, path
    except UnicodeDecodeError as exc:
        _raise(
            label,
            [Problem("(file)", f"not UTF-8 text (byte {exc.start})", "save the mapping file as UTF-8")],
        )
    raise AssertionError("unreachable")


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
    text, label, path = _read_text(path_or_text)
    short = path.name if path is not None else label
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(m.group(1)) if m else None
        bad = ""
        if line is not None:
            lines = text.splitlines()
            if 0 < line <= len(lines):
                bad = f" in `{lines[line - 1].strip()[:80]}`"
        _raise(
            short,
            [
                Problem(
                    "(syntax)",
                    f"not valid TOML: {exc}{bad}",
                    'put keys and text values with spaces or punctuation in double quotes, e.g. '
                    '"Callback Requested" = "callback"; only numbers and true/false go unquoted',
                    line,
                )
            ],
        )
    return _Builder(data, text, short, str(path) if path is not None else label, bundled, path).build()


def _module_format_names() -> set[str]:
    """Names of the parser modules' formats (a copy of a bundled mapping may keep its name)."""
    import sys

    # Read from sys.modules, not imported: the registry imports this module while it is built.
    registry = getattr(sys.modules.get("telephony.formats"), "FORMATS", None) or {}
    return set(registry) - {m.name for m in _bundled()}


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word).lower(), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _norm_word(word: object) -> str:
    return " ".join(str(word).split()).lower()


class _Builder:
    """Checks a parsed TOML document, collecting every problem before raising."""

    def __init__(self, data: dict, text: str, label: str, source: str, bundled: bool, path: Path | None):
        self.data = data
        self.lines = _key_lines(text)
        self.label = label
        self.source = source
        self.bundled = bundled
        self.path = path
        self.problems: list[Problem] = []

    # -- helpers
    def problem(self, section: str, key: str, message: str, fix: str) -> None:
        line = self.lines.get((section, key))
        if line is None and key:
            line = self.lines.get((section, ""))
        if not section:
            k = key
        elif not key:
            k = f"[{section}]"
        elif re.fullmatch(r"[A-Za-z0-9_\-]+", key):
            k = f"{section}.{key}"
        else:
            k = f'{section}."{key}"'
        self.problems.append(Problem(k, message, fix, line))

    def table(self, key: str, required: bool = False, fix: str = "") -> dict:
        v = self.data.get(key)
        if v is None:
            if required:
                self.problem("", key, "required table missing", fix)
            return {}
        if not isinstance(v, dict):
            self.problem(
                "",
                key,
                f"expected a [{key}] table, got {type(v).__name__}",
                f"write it as a [{key}] section",
            )
            return {}
        allowed = _TABLE_KEYS.get(key)
        if allowed:
            for k in v:
                if k not in allowed:
                    self.problem(
                        key, k, "unknown key",
                        f"use one of {', '.join(allowed)}{_suggest(k, allowed)}",
                    )
        return v

    def string(self, section: str, key: str, value: object, fix: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(section, key, f"expected text in quotes, got {value!r}", fix)
            return None
        return value

    def outcome_word(self, section: str, key: str, value: object, what: str = "an outcome") -> str | None:
        valid = ", ".join(OUTCOMES)
        if not isinstance(value, str) or value.strip().lower() not in OUTCOMES:
            self.problem(
                section, key, f"{value!r} is not {what}",
                f"use one of {valid}{_suggest(str(value), OUTCOMES)}",
            )
            return None
        return value.strip().lower()

    def direction_word(self, section: str, key: str, value: object) -> str | None:
        if not isinstance(value, str) or value.strip().lower() not in DIRECTIONS:
            self.problem(
                section, key, f"{value!r} is not a direction",
                f"use one of {', '.join(DIRECTIONS)}{_suggest(str(value), DIRECTIONS)}",
            )
            return None
        return value.strip().lower()

    # -- the document
    def build(self) -> Mapping:
        d = self.data
        for k in d:
            if k not in _TOP_KEYS:
                self.problem(
                    "", k, "unknown key or table",
                    f"use one of {', '.join(_TOP_KEYS)}{_suggest(k, _TOP_KEYS)}",
                )
        name = d.get("name")
        if name is None:
            self.problem(
                "",
                "name",
                "required key missing",
                'add name = "my_supplier" (lower case letters, digits and _; used with --format)',
            )
        elif not isinstance(name, str) or not _NAME.match(name):
            example = re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_") or "my_supplier"
            if not example[0].isalpha():
                example = "x_" + example
            self.problem(
                "", "name", f"{name!r} is not a format name",
                f'use lower case letters, digits and _ starting with a letter, e.g. name = "{example}"',
            )
            name = None
        elif not self.bundled and name in _module_format_names():
            self.problem(
                "", "name", f"{name!r} is already the name of a built-in format",
                f'give the supplier\'s report its own name, e.g. name = "{name}_report"',
            )
        elif self.bundled and self.path is not None and name != self.path.stem:
            self.problem(
                "",
                "name",
                f"{name!r} differs from the file name {self.path.name}",
                f'name a bundled mapping after its file: name = "{self.path.stem}"',
            )
        title = d.get("title")
        if title is None:
            self.problem(
                "",
                "title",
                "required key missing",
                'add title = "<supplier> call report (CSV/XLSX)" (shown by frontdoor formats)',
            )
        else:
            title = self.string("", "title", title, 'write title = "<supplier> call report"')
        supplier = self.string("", "supplier", d.get("supplier"), 'write supplier = "<company>"') or ""
        example = self.string("", "example", d.get("example"), 'write example = "<download file name>"') or ""
        notes = self.string("", "notes", d.get("notes"), 'write notes = "<text>"') or ""

        f = self.file_options()
        columns = self.columns()
        dt = self.datetime_options()
        durations = self.durations()
        outcomes = self.outcomes()
        directions = self.directions(columns)
        short = self.short_missed()

        if self.problems:
            _raise(self.label, self.problems)
        return Mapping(
            name=name,
            title=title,
            supplier=supplier,
            example=example,
            notes=notes,
            source=self.source,
            bundled=self.bundled,
            delimiter=f["delimiter"],
            skip_lines=f["skip_lines"],
            encoding=f["encoding"],
            sheet=f["sheet"],
            columns=MappingProxyType(columns),
            datetime_format=dt["format"],
            dayfirst=dt["dayfirst"],
            timezone=dt["timezone"],
            durations=durations,
            outcomes=MappingProxyType(outcomes),
            directions=MappingProxyType(directions),
            short_missed=short,
        )

    def file_options(self) -> dict:
        t = self.table("file")
        out: dict = {"delimiter": None, "skip_lines": None, "encoding": None, "sheet": None}
        delim = t.get("delimiter")
        if delim is not None:
            if isinstance(delim, str) and delim.lower() in ("tab", "\\t"):
                delim = "\t"
            if not isinstance(delim, str) or len(delim) != 1 or delim in "\"'\r\n" or delim.isalnum():
                self.problem(
                    "file",
                    "delimiter",
                    f"{delim!r} is not a delimiter",
                    'give one character such as ",", ";", "|" or "tab"',
                )
            else:
                out["delimiter"] = delim
        skip, row = t.get("skip_lines"), t.get("header_row")
        if skip is not None and row is not None:
            self.problem(
                "file",
                "header_row",
                "both skip_lines and header_row are given",
                "keep one of them (header_row = skip_lines + 1)",
            )
        elif skip is not None:
            if isinstance(skip, bool) or not isinstance(skip, int) or skip < 0:
                self.problem(
                    "file",
                    "skip_lines",
                    f"expected a whole number 0 or more, got {skip!r}",
                    "give the number of lines above the header, e.g. skip_lines = 2",
                )
            else:
                out["skip_lines"] = skip
        elif row is not None:
            if isinstance(row, bool) or not isinstance(row, int) or row < 1:
                self.problem(
                    "file",
                    "header_row",
                    f"expected a whole number 1 or more, got {row!r}",
                    "give the header's line (or spreadsheet row) number, e.g. header_row = 3",
                )
            else:
                out["skip_lines"] = row - 1
        enc = t.get("encoding")
        if enc is not None:
            try:
                if not isinstance(enc, str):
                    raise LookupError
                out["encoding"] = codecs.lookup(enc).name
            except LookupError:
                self.problem(
                    "file",
                    "encoding",
                    f"{enc!r} is not a text encoding",
                    'use a Python codec name such as "utf-8", "utf-8-sig", "cp1252" or "utf-16", '
                    "or leave it out to detect it",
                )
        out["sheet"] = self.string(
            "file", "sheet", t.get("sheet"), 'write the worksheet\'s name, e.g. sheet = "Calls"'
        )
        return out

    def columns(self) -> dict[str, tuple[str, ...]]:
        fix_missing = 'add a [columns] table: canonical name = "the report\'s column header"'
        t = self.table("columns", required=True, fix=fix_missing)
        if "columns" not in self.data:
            return {}
        cols: dict[str, tuple[str, ...]] = {}
        valid = ", ".join(COLUMNS)
        for k, v in t.items():
            if k not in COLUMNS:
                self.problem(
                    "columns",
                    k,
                    "not a canonical column",
                    f"use one of {valid}{_suggest(k, COLUMNS)}",
                )
                continue
            names = [v] if isinstance(v, str) else v
            if (
                not isinstance(names, list)
                or not names
                or not all(isinstance(n, str) and norm_name(n) for n in names)
            ):
                self.problem(
                    "columns", k, f"expected the report's column header in quotes, got {v!r}",
                    f'write {k} = "<header>" or a list of alternative headers',
                )
                continue
            cols[k] = tuple(names)
        has_start = "start" in cols or "start" in t
        has_date = "date" in t or "time" in t
        if has_start and has_date:
            self.problem(
                "columns",
                "start",
                "both start and date/time are given",
                "use start for one date-and-time column, or date and time for two columns, not both",
            )
        elif not has_start and not has_date:
            self.problem(
                "columns",
                "start",
                "required key missing",
                'add start = "<date and time column>" (or date = "..." and time = "..." when they are split)',
            )
        elif has_date and not ("date" in t and "time" in t):
            missing = "time" if "date" in t else "date"
            self.problem(
                "columns",
                missing,
                "required key missing (date and time go together)",
                f'add {missing} = "<the report\'s {missing} column>", '
                "or use start for a single date-and-time column",
            )
        if "outcome" not in t:
            self.problem(
                "columns",
                "outcome",
                "required key missing",
                'add outcome = "<the report\'s result/status column>"',
            )
        if not any(c in t for c in ("talk", "duration", "end")):
            self.problem(
                "columns",
                "talk",
                "required key missing",
                'add talk = "<talk time column>", or duration = "<total duration column>" '
                'or end = "<end time column>" to derive it',
            )
        return cols

    def datetime_options(self) -> dict:
        t = self.table("datetime")
        out: dict = {"format": None, "dayfirst": True, "timezone": None}
        fmt = t.get("format")
        if fmt is not None:
            ok = isinstance(fmt, str) and "%" in fmt
            if ok:
                try:
                    sample = _dt.datetime(2026, 1, 5, 8, 30, 15)
                    _dt.datetime.strptime(sample.strftime(fmt), fmt)
                except ValueError:
                    ok = False
            if ok:
                out["format"] = fmt
            else:
                self.problem(
                    "datetime",
                    "format",
                    f"{fmt!r} is not a strptime date format",
                    'use strptime codes, e.g. format = "%d/%m/%Y %H:%M" for 05/01/2026 08:30',
                )
        dayfirst = t.get("dayfirst")
        if dayfirst is not None:
            if not isinstance(dayfirst, bool):
                self.problem(
                    "datetime",
                    "dayfirst",
                    f"expected true or false, got {dayfirst!r}",
                    "write dayfirst = true (UK dates) or dayfirst = false, without quotes",
                )
            else:
                out["dayfirst"] = dayfirst
        tz = t.get("timezone")
        if tz is not None:
            try:
                if not isinstance(tz, str) or not tz.strip():
                    raise ValueError
                ZoneInfo(tz)
                out["timezone"] = tz
            except (ZoneInfoNotFoundError, ValueError):
                self.problem(
                    "datetime",
                    "timezone",
                    f"{tz!r} is not an IANA timezone",
                    'use a name like "Europe/London", or leave it out to use --timezone',
                )
        return out

    def durations(self) -> str:
        t = self.table("durations")
        fmt = t.get("format", "auto")
        if not isinstance(fmt, str) or fmt.strip().lower() not in DURATION_FORMATS:
            choices = ", ".join(f'"{c}"' for c in DURATION_FORMATS)
            self.problem("durations", "format", f"{fmt!r} is not a duration format", f"use one of {choices}")
            return "auto"
        return fmt.strip().lower()

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
                            f"unknown key {k!r} in the rule",
                            f"use outcome, direction and if_no_talk{_suggest(k, _RULE_KEYS)}",
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
            key = _norm_word(word)
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
                out[_norm_word(word)] = d
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
                f"expected a number of seconds above 0, got {under!r}",
                "write under_seconds = 10, without quotes",
            )
            return None
        outcome = self.outcome_word("short_missed", "outcome", t.get("outcome", "abandoned"))
        if outcome is None:
            return None
        return ShortMissed(float(under), outcome)


@functools.lru_cache(maxsize=1)
def _bundled() -> tuple[Mapping, ...]:
    folder = Path(__file__).resolve().parent.parent / "mappings"
    return tuple(_load(p, bundled=True) for p in sorted(folder.glob("*.toml")))


def bundled_mappings() -> dict[str, Mapping]:
    """Every mapping shipped in ``telephony/mappings/``, by name.

    Raises
    ------
    MappingError
        If a bundled file is invalid (a packaging error; the tests load them all).
    """
    return {m.name: m for m in _bundled()}


# ----------------------------------------------------------------------------- the report's layout


@dataclass
class _Layout:
    """Where a report's header is and which of its columns hold what."""

    delimiter: str
    skip: int  # non-blank rows before the header, as read_delimited counts them
    header_line: int | None  # physical line (or sheet row) of the header
    names: list[str]
    index: dict[str, int]  # canonical → column position
    missing: list[str]  # canonical columns of the mapping not found
    data: list[list[str]]  # head rows after the header (for the sniffer)


def _with_encoding(source: Source, encoding: str | None) -> Source:
    """The source re-decoded with the mapping's encoding (text only; head re-read)."""
    if source.kind != "text" or encoding is None:
        return source
    current = codecs.lookup(source.encoding).name if source.encoding else ""
    if current == encoding or {current, encoding} <= {"utf-8", "utf-8-sig"}:
        return source
    with source.open_binary() as fh:
        raw = fh.read(HEAD_BYTES)
    head = raw.decode(encoding, errors="replace").lstrip("\ufeff")
    return replace(source, encoding=encoding, head=head)


def _sheet_rows(source: Source, mapping: Mapping) -> Iterator[list[str]]:
    """Rows of the mapping's named worksheet as text cells (like :mod:`telephony.sources`)."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(source.path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        raise BadInputError(f"{source.name}: not a readable .xlsx workbook ({type(exc).__name__})") from None
    try:
        wanted = mapping.sheet or ""
        found = [s for s in wb.sheetnames if s.strip().lower() == wanted.strip().lower()]
        if not found:
            raise BadInputError(
                f"{source.name}: no worksheet named {wanted!r} (sheets: {', '.join(wb.sheetnames)}); "
                f"fix [file] sheet in {mapping.file_name}"
            )
        for row in wb[found[0]].iter_rows(values_only=True):
            yield [_cell_text(v) for v in row]
    finally:
        wb.close()


def _head_lines(source: Source, mapping: Mapping) -> list[tuple[int, str]]:
    """``(physical line, text)`` of the head; xlsx rows as CSV text, one per sheet row."""
    if source.kind == "xlsx" and mapping.sheet:
        out = []
        for i, row in enumerate(_sheet_rows(source, mapping), start=1):
            buf = io.StringIO()
            csv.writer(buf, lineterminator="").writerow(row)
            out.append((i, buf.getvalue()))
            if i >= 60:
                break
        return out
    parts = re.split(r"\r\n|\r|\n", source.head)
    if parts and parts[-1] == "":
        parts.pop()
    elif len(parts) > 1 and source.kind == "text":
        parts.pop()  # the head may end mid-line
    return list(enumerate(parts, start=1))


def _split(text: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([text], delimiter=delimiter), [])
    except csv.Error:
        return []


def _resolve(mapping: Mapping, names: list[str]) -> tuple[dict[str, int], list[str]]:
    normed = [norm_name(n) for n in names]
    index: dict[str, int] = {}
    missing: list[str] = []
    for canon, alts in mapping.columns.items():
        pos = next((normed.index(norm_name(a)) for a in alts if norm_name(a) in normed), None)
        if pos is None:
            missing.append(canon)
        else:
            index[canon] = pos
    return index, missing


def _find_layout(source: Source, mapping: Mapping) -> _Layout:
    """Find the header (at ``skip_lines`` or by searching) and the mapped columns in it."""
    lines = _head_lines(source, mapping)
    if source.kind == "xlsx":
        delims = [","]
    elif mapping.delimiter:
        delims = [mapping.delimiter]
    else:
        delims = [",", ";", "\t", "|"]
    required = set(mapping.required_columns())
    best: tuple | None = None
    best_layout: _Layout | None = None
    for d in delims:
        rows: list[tuple[int, list[str]]] = []
        for ln, text in lines:
            if source.kind == "xlsx":
                fields = _split(text, d)
                if any(f.strip() for f in fields):
                    rows.append((ln, fields))
            elif text.strip():
                rows.append((ln, _split(text, d)))
        if mapping.skip_lines is not None:
            want = mapping.skip_lines + 1
            cands = [i for i, (ln, _) in enumerate(rows) if ln == want]
        else:
            cands = list(range(min(len(rows), HEADER_SEARCH_LINES)))
        for i in cands:
            ln, names = rows[i]
            index, missing = _resolve(mapping, names)
            has_required = not (required & set(missing))
            score = (has_required, len(index), len(names) > 1, -i)
            if best is None or score > best:
                best = score
                data = [r for _, r in rows[i + 1 : i + 1 + SNIFF_ROWS]]
                best_layout = _Layout(d, i, ln, names, index, missing, data)
    if best_layout is None:
        return _Layout(delims[0], 0, None, [], {}, list(mapping.columns), [])
    return best_layout


def _missing_message(source: Source, mapping: Mapping, layout: _Layout) -> str:
    wanted = "; ".join(
        f"{c} = {' or '.join(repr(a) for a in mapping.columns[c])}" for c in layout.missing
    )
    if layout.header_line is None:
        where = (
            f"line {mapping.skip_lines + 1} is blank or past the first 64 KB"
            if mapping.skip_lines is not None
            else "no header line found"
        )
    else:
        found = ", ".join(repr(n) for n in layout.names[:30])
        where = f"header on line {layout.header_line}: {found}"
    # A file without a header shows data where the names should be: never a raw number.
    return mask_digits(
        f"{source.name}: not a {mapping.name} report: missing column(s) {wanted} ({where}). "
        f"Check the export settings, or fix [columns] in {mapping.file_name}."
    )


# ----------------------------------------------------------------------------- sniff


def _sniff(mapping: Mapping, source: Source) -> float:
    try:
        source = _with_encoding(source, mapping.encoding)
        layout = _find_layout(source, mapping)
    except BadInputError:
        return 0.0
    n = len(mapping.columns)
    found = n - len(layout.missing)
    if found < 2:
        return 0.0
    if layout.missing:
        return 0.6 if found >= 0.6 * n else 0.0
    # Every column is there; do the values look like this report's too?
    rows = [r for r in layout.data if len(r) == len(layout.names)]
    if not rows:
        return 1.0
    pos = layout.index["outcome"]
    known = sum(_norm_word(r[pos]) in mapping.outcomes for r in rows)
    start = _start_text(pd.DataFrame(rows, columns=range(len(layout.names))).astype("string"), layout.index)
    parsed = parse_datetimes(start, mapping.datetime_format, mapping.dayfirst).notna().sum()
    if known >= 0.5 * len(rows) and parsed >= 0.5 * len(rows):
        return 1.0
    return 0.6


# ----------------------------------------------------------------------------- read


def _start_text(frame: pd.DataFrame, index: dict[str, int]) -> pd.Series:
    def col(k: str) -> pd.Series:
        return frame.iloc[:, index[k]].fillna("").str.strip()

    if "start" in index:
        return col("start")
    return (col("date") + " " + col("time")).str.strip()


_CLOCK = re.compile(r"^(?:\d+ days?,?\s*)?(?:\d+:)?\d{1,2}:\d{1,2}(?:\.\d+)?$")


def _durations(values: pd.Series, fmt: str, xlsx: bool) -> tuple[pd.Series, pd.Series]:
    """Seconds, and which non-empty values could not be read in ``fmt``."""
    s = values.fillna("").str.strip()
    empty = s == ""
    if fmt == "seconds":
        secs = pd.to_numeric(s.where(~empty), errors="coerce").astype("float64")
    elif fmt == "minutes":
        secs = pd.to_numeric(s.where(~empty), errors="coerce").astype("float64") * 60.0
    elif fmt == "hh:mm:ss":
        # A workbook's duration cell arrives as whole seconds (sources converts timedeltas).
        ok = s.str.match(_CLOCK.pattern) | (s.str.fullmatch(r"\d+(?:\.\d+)?") & xlsx)
        secs = parse_durations(s.where(ok & ~empty))
    else:
        secs = parse_durations(s.where(~empty))
    secs = pd.Series(np.asarray(secs, dtype="float64"), index=s.index)
    bad = (~empty & secs.isna()).to_numpy(dtype=bool)
    return secs, pd.Series(bad, index=s.index)


def _end_times(text: pd.Series, start: pd.Series, mapping: Mapping) -> pd.Series:
    """End times; a bare clock time is taken on the start's day (the next day if earlier)."""
    end = parse_datetimes(text, mapping.datetime_format, mapping.dayfirst)
    clock = text.fillna("").str.strip().str.fullmatch(r"\d{1,2}:\d{2}(?::\d{2})?")
    use = clock.to_numpy(dtype=bool)
    if use.any() and getattr(end.dt, "tz", None) is None and getattr(start.dt, "tz", None) is None:
        clock_text = text[use].str.strip()
        clock_text = clock_text.where(clock_text.str.count(":") == 2, clock_text + ":00")
        tod = pd.to_timedelta(clock_text, errors="coerce")
        cand = start[use].dt.normalize() + tod
        cand = cand.where(cand >= start[use], cand + pd.Timedelta(days=1))
        end = end.copy()
        end.loc[use] = cand
    return end


def _reason_series(problems: list[pd.Series], index: pd.Index) -> pd.Series:
    if not problems:
        return pd.Series([], dtype="string")
    allp = pd.concat(problems)
    return allp.groupby(level=0, sort=True).agg("; ".join).reindex(index)


def _flag(problems: list[pd.Series], mask, reason) -> None:
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return
    if isinstance(reason, pd.Series):
        problems.append(reason[mask].astype(str))
    else:
        idx = np.flatnonzero(mask)
        problems.append(pd.Series(reason, index=idx))


def _convert(
    chunk: Chunk, layout: _Layout, mapping: Mapping, tz: str | None, xlsx: bool, clock: dict
) -> ParsedChunk:
    """One chunk of report rows → raw calls and rejects (one call or one reject per row).

    ``clock`` carries the autumn clock change from chunk to chunk when the mapping's own
    timezone is applied here (see :func:`telephony.timeutil.localize`).
    """
    f = chunk.frame.reset_index(drop=True)
    n = len(f)
    skipped = Counter({"blank line": chunk.blank}) if chunk.blank else Counter()
    rows_read = n + sum(r.rows for r in chunk.rejects) + chunk.blank
    if n == 0:
        return ParsedChunk(raw_frame(0), list(chunk.rejects), rows_read, skipped, Counter())
    idx = layout.index
    header = layout.names

    def col(k: str) -> pd.Series:
        return f.iloc[:, idx[k]].fillna("").str.strip()

    def label(k: str) -> str:
        return header[idx[k]]

    problems: list[pd.Series] = []
    unknown: Counter = Counter()

    # When the call arrived.
    text = _start_text(f, idx)
    start = parse_datetimes(text, mapping.datetime_format, mapping.dayfirst)
    where = label("start") if "start" in idx else f"{label('date')}/{label('time')}"
    bad = start.isna().to_numpy()
    if bad.any():
        hint = ""
        if mapping.datetime_format:
            hint = f" (expected like {_dt.datetime(2026, 1, 5, 8, 30, 15).strftime(mapping.datetime_format)})"
        empty = (text == "").to_numpy()
        _flag(problems, bad & empty, f"date/time missing: column {where!r} is empty")
        _flag(problems, bad & ~empty, "unreadable date/time '" + text + f"' in column {where!r}{hint}")

    # The outcome word, and what it says about direction and no-talk calls.
    words = col("outcome")
    key = words.str.lower().str.replace(r"\s+", " ", regex=True)
    rules = mapping.outcomes
    base = key.map({k: r.outcome for k, r in rules.items()}).astype("string")
    dir_over = key.map({k: r.direction for k, r in rules.items() if r.direction}).astype("string")
    no_talk = key.map({k: r.if_no_talk for k, r in rules.items() if r.if_no_talk}).astype("string")
    unk = base.isna().to_numpy()
    if unk.any():
        empty = (words == "").to_numpy()
        _flag(problems, unk & empty, f"outcome missing: column {label('outcome')!r} is empty")
        w = words[unk & ~empty]
        for word, cnt in w.value_counts().items():
            unknown[str(word)] += int(cnt)
        reason = (
            "unknown outcome '" + words + f"' in column {label('outcome')!r}; add \"" + words
            + "\" = \"<outcome>\" " + mapping.edit_hint("outcomes")
            + f" (one of {', '.join(OUTCOMES)})"
        )
        _flag(problems, unk & ~empty, reason)

    # Direction: the outcome word's rule, else the direction column, else inbound.
    direction = pd.Series("inbound", index=f.index, dtype="string")
    if "direction" in idx:
        dwords = col("direction")
        dkey = dwords.str.lower().str.replace(r"\s+", " ", regex=True)
        dmapped = dkey.map(dict(mapping.directions)).astype("string")
        dunk = (dmapped.isna() & dir_over.isna()).to_numpy()
        if dunk.any():
            for word, cnt in dwords[dunk].value_counts().items():
                unknown[f"direction {word}" if word else "direction (empty)"] += int(cnt)
            reason = (
                "unknown direction '" + dwords + f"' in column {label('direction')!r}; add \"" + dwords
                + "\" = \"<inbound|outbound|internal>\" " + mapping.edit_hint("directions")
            )
            _flag(problems, dunk, reason)
        direction = dmapped.fillna("inbound").astype("string")
    direction = dir_over.fillna(direction).astype("string")

    # Durations.
    def duration(k: str) -> pd.Series:
        if k not in idx:
            return pd.Series(np.nan, index=f.index, dtype="float64")
        raw = col(k)
        secs, badv = _durations(raw, mapping.durations, xlsx)
        if badv.any():
            _flag(
                problems,
                badv,
                f"unreadable {k} '" + raw + f"' in column {label(k)!r} (durations format {mapping.durations})",
            )
        return secs

    wait = duration("wait")
    if "talk" in idx:
        talk_raw = duration("talk")
    elif "duration" in idx:
        talk_raw = (duration("duration") - wait.fillna(0.0)).clip(lower=0.0)
    else:
        etext = col("end")
        end = _end_times(etext, start, mapping)
        if getattr(end.dt, "tz", None) is not None and getattr(start.dt, "tz", None) is None:
            end = end.dt.tz_convert("UTC").dt.tz_localize(None)
        elif getattr(start.dt, "tz", None) is not None and getattr(end.dt, "tz", None) is None:
            end = localize(end, tz or DEFAULT_TZ)
        bad_end = (end.isna() & (etext != "")).to_numpy()
        _flag(problems, bad_end, "unreadable end time '" + etext + f"' in column {label('end')!r}")
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
    _flag(
        problems,
        no_talk_time & ~(col(tcol) != "").to_numpy(),
        f"talk time empty in column {label(tcol)!r} for an answered call",
    )
    talk = pd.Series(np.where(answered, talk_raw.to_numpy(), 0.0), index=f.index)

    # Who: pseudonymised later by the ingest, so raw here.
    def optional(k: str) -> pd.Series:
        if k not in idx:
            return pd.Series(pd.NA, index=f.index, dtype="string")
        v = col(k)
        return v.where(v != "", pd.NA).astype("string")

    caller = optional("caller")
    if "dialled" in idx:
        out = (direction == "outbound").to_numpy()
        caller = caller.copy()
        caller[out] = optional("dialled")[out]
    agent = optional("agent").where(answered, pd.NA)

    if tz is not None and getattr(start.dt, "tz", None) is None:
        start = localize(start, tz, clock)

    reasons = _reason_series(problems, f.index)
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
    return ParsedChunk(calls, rejects, rows_read, skipped, unknown)


def _sheet_chunks(source: Source, mapping: Mapping, width: int, lead: int) -> Iterator[Chunk]:
    """Chunks of a named worksheet, like :func:`telephony.sources.read_delimited` does for xlsx."""
    rows: list[list[str]] = []
    lines: list[int] = []
    rejects: list[Reject] = []
    blank = skipped = 0
    names = [f"c{i}" for i in range(width)]
    for i, row in enumerate(_sheet_rows(source, mapping), start=1):
        if not any(row):
            blank += 1
            continue
        if skipped < lead:
            skipped += 1
            continue
        if len(row) < width:
            row = row + [""] * (width - len(row))
        elif len(row) > width:
            if any(row[width:]):
                rejects.append(Reject(i, f"expected {width} fields, found {len(row)}", ",".join(row)))
                continue
            row = row[:width]
        rows.append(row)
        lines.append(i)
        if len(rows) >= XLSX_CHUNK_ROWS:
            yield Chunk(_frame_from_rows(rows, names), np.asarray(lines, dtype=np.int64), rejects, blank)
            rows, lines, rejects, blank = [], [], [], 0
    yield Chunk(_frame_from_rows(rows, names), np.asarray(lines, dtype=np.int64), rejects, blank)


def _effective_timezone(mapping: Mapping, ctx: ReadContext) -> str | None:
    """The zone the parser converts with itself, or None to leave it to the ingest."""
    if mapping.timezone and ctx.timezone == DEFAULT_TZ and mapping.timezone != DEFAULT_TZ:
        return mapping.timezone
    return None


def _read(mapping: Mapping, source: Source, ctx: ReadContext) -> Iterator[ParsedChunk]:
    source = _with_encoding(source, mapping.encoding)
    layout = _find_layout(source, mapping)
    if layout.missing:
        raise BadInputError(_missing_message(source, mapping, layout))
    tz = _effective_timezone(mapping, ctx)
    xlsx = source.kind == "xlsx"
    if xlsx and mapping.sheet:
        chunks = _sheet_chunks(source, mapping, len(layout.names), layout.skip + 1)
    else:
        chunks = read_delimited(
            source, names=layout.names, header=True, delimiter=layout.delimiter, skip_lines=layout.skip
        )
    clock: dict = {}
    for chunk in chunks:
        yield _convert(chunk, layout, mapping, tz, xlsx, clock)


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
    title = mapping.title
    if mapping.supplier and mapping.supplier.lower() not in title.lower():
        title = f"{title} [{mapping.supplier}]"
    example = mapping.example or f"call report .csv/.xlsx (mapping {mapping.file_name})"
    return Format(
        name=mapping.name,
        title=title,
        example=example,
        sniff=functools.partial(_sniff, mapping),
        read=functools.partial(_read, mapping),
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
