"""The one engine that reads a tabular report through a declarative mapping, whatever it records.

A mapping file (TOML) says where a CSV or XLSX report keeps each canonical field, how it writes
times and durations, and what its words mean. Call reports (:mod:`telephony.formats.mapping`),
appointment slot reports (:mod:`demand.appointments.mapping`) and summary counts of capacity
(:mod:`demand.appointments.counts`) are each a :class:`RecordSpec` (what a report of that kind
records: its columns, word tables and their canonical vocabularies, required columns, and how a
row becomes a record) given to the one engine here, so that every rule is written once:

- loading (:func:`load_record_mapping`, :func:`load_by_kind`, :func:`bundled_mappings_of`): the
  TOML text from a path or a string, syntax errors with their line, and one checker
  (:class:`MappingBuilder`) that collects *every* problem, each with the file, line, key and
  fix, before raising one :class:`~telephony.errors.MappingError`;
- the common keys: ``kind``, ``name``, ``title``, ``supplier``, ``example``, ``notes``,
  ``evidence``, ``[file]`` (delimiter, skip_lines/header_row, encoding, sheet), ``[datetime]``
  (format, dayfirst, timezone), ``[durations]`` and vendor-word tables (``"word" = "canonical
  value"``) matched case- and space-insensitively;
- the report's layout: the header found at ``skip_lines`` or searched for below a preamble,
  the mapped columns located in it (headers matched case-, space- and punctuation-
  insensitively, alternatives allowed), and the data read in bounded chunks from CSV (any
  delimiter, any encoding) or a named worksheet;
- sniffing (:func:`sniff_mapping`): how sure it is that a file is the report a mapping
  describes;
- converting (:func:`read_records`, :func:`convert_rows`, :class:`Rows`): date-and-time
  columns, durations, end times given as a bare clock time, word lookups with unknown words
  counted, and per-row reasons for rejects; the record spec's own function turns the values
  into records.

Notes
-----
- A report's rows are never dropped silently: a row is turned into a record or rejected with
  every reason that applies (joined by ``"; "``), and unknown vendor words are counted under
  the first spelling the file uses.
- Times with and without a UTC offset may be mixed in one report: a value with its offset is
  converted, a value without one is read as the report's wall clock (the zone given, else the
  mapping's ``[datetime] timezone``, else Europe/London). An end time is brought to its
  start's clock before the two are subtracted.
- Columns a record withholds (a clinician's name, a patient's id) never appear in a reason, a
  reject's text or a counted word.
"""

from __future__ import annotations

import codecs
import csv
import datetime as _dt
import difflib
import functools
import re
import tomllib
from collections import Counter
from collections.abc import Mapping as _AbcMapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Iterable, Iterator, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from telephony.errors import BadInputError, MappingError
from telephony.privacy import mask_digits
from telephony.sources import HEAD_BYTES, Chunk, Reject, Source, norm_name, read_delimited, with_sheet
from telephony.timeutil import DEFAULT_TZ, YEARS, localize, parse_datetimes, parse_durations, years_out_of_range

#: Duration spellings a mapping can declare under ``[durations] format``.
DURATION_FORMATS: tuple[str, ...] = ("auto", "seconds", "minutes", "hh:mm:ss")
#: A mapping's name: what ``--format`` takes.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# How many non-blank lines of the head may come before the header when it is searched for.
HEADER_SEARCH_LINES = 30
# Data rows of the head looked at by the sniffer's value check.
SNIFF_ROWS = 20
#: Keys of the ``[file]`` table, the same for every kind of mapping.
FILE_KEYS: tuple[str, ...] = ("delimiter", "skip_lines", "header_row", "encoding", "sheet")
#: Top-level keys every kind of mapping takes (each kind adds its own tables).
IDENTITY_KEYS: tuple[str, ...] = ("name", "title", "supplier", "example", "notes", "evidence", "evidence_note")
#: What ``evidence`` may say: checked against a real export, or not (see
#: :data:`telephony.formats._base.EVIDENCE`).
EVIDENCE_VALUES: tuple[str, ...] = ("documentation", "real")
# A mapping's tables hold words and lists of headers: nothing is nested deeper than this. A
# document nested deeper is refused before anything walks it (Python's recursion limit).
MAX_DEPTH = 4
# Alternatives one canonical column may list: a few spellings, not a dictionary.
MAX_ALTERNATIVES = 50
# Problems listed in one MappingError (all are kept on ``.problems``), and characters of a
# value quoted in a message: a message stays a message whatever the file holds.
MAX_PROBLEMS_SHOWN = 20
MAX_QUOTED = 60
# A mapping file is a page of text; a bigger file is not one (and would be slow to check).
MAX_MAPPING_BYTES = 1_000_000
# Years pandas can hold (1677-09-21 to 2262-04-11), whole years only: a date outside is
# rejected as out of range rather than half-read.
MIN_YEAR, MAX_YEAR = YEARS


# ----------------------------------------------------------------------------- the mapping


@dataclass(frozen=True)
class TabularMapping:
    """What every checked mapping file says about its report (subclasses add their words).

    Attributes
    ----------
    name, title, supplier, example, notes : str
        Identity of the format; ``name`` is what ``--format`` takes.
    evidence : str
        How sure the template is: ``"real"`` (checked against a real export) or
        ``"documentation"`` (not: built from a description or guessed); shown by
        ``frontdoor formats``.
    evidence_note : str
        What it was checked against, in words (never a file's content).
    source : str
        Where the mapping came from (a path, or ``<mapping text>``), for messages.
    bundled : bool
        Shipped with Frontdoor (messages then say to copy it before editing).
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
    record : RecordSpec or None
        The record the mapping describes (None for a built-in layout such as GPAD's).
    """

    name: str
    title: str
    supplier: str = ""
    example: str = ""
    notes: str = ""
    evidence: str = "documentation"
    evidence_note: str = ""
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
    record: RecordSpec | None = field(default=None, repr=False, compare=False)

    @property
    def file_name(self) -> str:
        """The mapping file's name (or ``<mapping text>``), for messages."""
        return Path(self.source).name if self.source != "<mapping text>" else self.source

    def required_columns(self) -> list[str]:
        """Canonical columns a report must have for this mapping to read it at all.

        With a record that lists its required columns (:attr:`RecordSpec.required`): its time
        (``start``, or ``date`` and ``time``) and the first mapped alternative of each; else
        every mapped column not optional.
        """
        spec = self.record
        if spec is None or not spec.required:
            return [c for c in self.columns if c not in self.optional_columns()]
        req = []
        if spec.when == "start":
            req = ["start"] if "start" in self.columns else ["date", "time"]
        for alternatives, _fix in spec.required:
            req.append(next((c for c in alternatives if c in self.columns), alternatives[0]))
        return req

    def optional_columns(self) -> tuple[str, ...]:
        """Mapped columns a report may lack (read as empty). None by default: a mapped column
        missing from a report stops the read rather than silently losing, say, every caller."""
        return ()

    def edit_hint(self, section: str) -> str:
        """Where a user adds a word: the file itself, or a copy of a bundled mapping."""
        if self.bundled:
            return f"under [{section}] in a copy of the bundled {self.file_name}, given as `mapping`"
        return f"under [{section}] in {self.file_name}"


@dataclass(frozen=True)
class WordTable:
    """A table of vendor words read through one mapped column: ``"word" = "canonical value"``.

    Attributes
    ----------
    section : str
        The mapping's table (``"roles"``), and the mapping attribute holding it.
    column : str
        The canonical column read through it (``"role"``).
    values : tuple of str
        The canonical vocabulary, in the spelling stored.
    what : str
        What one value is called in messages (``"role"``).
    required : bool
        The table must be given (when its column is mapped).
    without_column : str
        For a column a report may lack: the fix shown when the table is given but its column is
        not mapped (empty: the record requires the column).
    counted_as : str
        What an unknown word is counted as (default ``what``: ``"role Locum"``).
    fix_missing : str
        The fix for a missing or empty table (default: one line per word, with an example).
    """

    section: str
    column: str
    values: tuple[str, ...]
    what: str
    required: bool = True
    without_column: str = ""
    counted_as: str = ""
    fix_missing: str = ""


@dataclass(frozen=True)
class RecordSpec:
    """What one kind of mapping describes: the record it reads from a report, and how.

    Calls (:mod:`telephony.formats.mapping`), appointment slots
    (:mod:`demand.appointments.mapping`) and summary counts of capacity
    (:mod:`demand.appointments.counts`) are each a record spec given to the one builder,
    loader, sniffer and converter of this module; the spec holds only what differs.

    Attributes
    ----------
    kind : str
        The record's name, and what a mapping's ``kind`` key says (``"calls"``, ``"slots"``,
        ``"capacity_counts"``).
    what : str
        What the report is called in messages ("call report").
    columns : Mapping[str, str]
        Canonical column names a mapping may give, and what each means.
    when : str
        ``"start"``: a record happens at a moment (``start``, or ``date`` + ``time``, is
        required); ``"date"``: a record counts a day or a period (an optional ``date``).
    mapping_type : type
        The :class:`TabularMapping` subclass a checked file becomes.
    tables : tuple of str
        Top-level keys and tables the mapping takes after its identity and ``kind``, in the
        order messages list them.
    table_keys : Mapping[str, tuple of str]
        Table → keys allowed in it (tables not listed take any key, e.g. word tables).
    kind_required : bool
        A file must say ``kind`` (else a file without one is of this kind in its folder).
    required : tuple of (tuple of str, str)
        Columns besides the time that ``[columns]`` must map: alternatives, and the fix.
    word_tables : tuple of WordTable
        The vendor-word tables read through mapped columns.
    durations : str
        The ``[durations] format`` when the file gives none.
    check : callable, optional
        ``check(builder, columns) -> dict``: the record's own keys checked (problems go to the
        builder), returned as extra fields of :attr:`mapping_type`.
    syntax_example, title_fix, title_text_fix, sheet_example, name_example : str
        Words of the fixes: a correctly quoted word line, the fixes for a missing title and
        for one that is not text, a worksheet name, a format name.
    taken_names : callable
        Format names a mapping not bundled may not take (those of built-in formats).
    reserved_names : frozenset of str
        Names no mapping may take, bundled or not.
    folder : Path, optional
        Where the bundled mappings of this kind are (a folder may hold several kinds).
    listed_as : str
        What format listings call the report when its mapping gives no ``example``.
    record_frame : callable
        ``record_frame(n, **columns)``: the records frame, nulls where a column is not given.
    chunk_type : type
        ``chunk_type(records, rejects, rows_read, skipped, unknown, notes)``: one batch.
    records : callable
        ``records(rows) -> (columns, passed)``: how a chunk's rows (:class:`Rows`) become
        records: their columns, aligned with the rows, and which rows are neither records nor
        rejects (None: none); reasons go to ``rows``.
    withheld : tuple of str
        Mapped columns never shown (names, ids): blanked in reject texts, replaced by
        :data:`WITHHELD` in reasons and counted words, and every text of a row that could not
        be split.
    sniff_words : (str, str), optional
        ``(column, table)``: the words whose being known tells the report (with its times).
    values_fit, layout_fits : callable, optional
        The sniffer's tests instead of the words' (see :func:`sniff_score`).
    sniff_partial : bool
        Whether a header with most (60 %) of the mapped columns scores 0.6.
    """

    kind: str
    what: str
    columns: _AbcMapping[str, str]
    when: str = "start"
    mapping_type: type = TabularMapping
    tables: tuple[str, ...] = ()
    table_keys: _AbcMapping[str, tuple[str, ...]] = field(default_factory=dict)
    kind_required: bool = False
    required: tuple[tuple[tuple[str, ...], str], ...] = ()
    word_tables: tuple[WordTable, ...] = ()
    durations: str = "auto"
    check: Callable[["MappingBuilder", dict], dict] | None = None
    syntax_example: str = '"Vendor Word" = "value"'
    title_fix: str = 'add title = "<supplier> report (CSV/XLSX)" (shown by frontdoor formats)'
    title_text_fix: str = 'write title = "<supplier> report"'
    sheet_example: str = "Report"
    name_example: str = "my_report"
    taken_names: Callable[[], Iterable[str]] = frozenset
    reserved_names: frozenset[str] = frozenset()
    folder: Path | None = None
    listed_as: str = "report"
    record_frame: Callable[..., pd.DataFrame] | None = None
    chunk_type: type | None = None
    records: Callable[["Rows"], tuple[dict, np.ndarray | None]] | None = None
    withheld: tuple[str, ...] = ()
    sniff_words: tuple[str, str] | None = None
    values_fit: Callable[..., bool] | None = None
    layout_fits: Callable[..., bool] | None = None
    sniff_partial: bool = True

    @property
    def top_keys(self) -> tuple[str, ...]:
        """Every top-level key and table a mapping of this kind takes."""
        return IDENTITY_KEYS + ("kind",) + self.tables


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


def raise_problems(label: str, problems: list[Problem]) -> NoReturn:
    """Raise one :class:`MappingError` listing every problem (``.problems`` holds them)."""
    # Missing keys (no line) first, then in the file's order, as an editor walks it.
    problems = sorted(problems, key=lambda p: p.line or 0)
    n = len(problems)
    head = f"Mapping file {label} has {n} problem{'s' if n != 1 else ''}:"
    lines = [head] + ["  " + p.text(label) for p in problems[:MAX_PROBLEMS_SHOWN]]
    if n > MAX_PROBLEMS_SHOWN:
        lines.append(f"  ... and {n - MAX_PROBLEMS_SHOWN} more (fix these first)")
    err = MappingError("\n".join(lines))
    err.problems = problems  # type: ignore[attr-defined]  # for callers that list them
    raise err


# ----------------------------------------------------------------------------- loading


_SECTION_LINE = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_KEY_LINE = re.compile(r"""^\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_\-]+)\s*=""")


def key_lines(text: str) -> dict[tuple[str, str], int]:
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


def read_mapping_text(path_or_text: str | Path | bytes) -> tuple[str, str, Path | None]:
    """The mapping's text, a label for messages and its path (None for literal text).

    A string is a path when it has no newline and no ``=`` and ends in ``.toml`` or names an
    existing file; otherwise it is the TOML text itself.

    Raises
    ------
    MappingError
        No such file, or not UTF-8.
    """
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
            raise_problems(
                label,
                [Problem("(file)", "no such mapping file", "check the path, or pass the TOML text itself")],
            )
        if path.stat().st_size > MAX_MAPPING_BYTES:
            raise_problems(
                label,
                [
                    Problem(
                        "(file)",
                        f"{path.stat().st_size:,} bytes is not a mapping file (a mapping is a page of text)",
                        "check that `mapping` names the .toml mapping file, not the report",
                    )
                ],
            )
        raw = path.read_bytes()
    else:
        return str(path_or_text), "<mapping text>", None
    try:
        # TOML is UTF-8; Windows Notepad may add a BOM, which is harmless.
        return raw.decode("utf-8-sig"), label, path
    except UnicodeDecodeError as exc:
        raise_problems(
            label,
            [Problem("(file)", f"not UTF-8 text (byte {exc.start})", "save the mapping file as UTF-8")],
        )
    raise AssertionError("unreachable")


def parse_toml(text: str, label: str, example: str) -> dict:
    """The TOML document, or a :class:`MappingError` naming the first syntax error's line.

    ``example`` is a correctly quoted word line shown in the fix (e.g. ``"Callback
    Requested" = "callback"``).
    """
    dotted = _deepest_dotted_key(text)
    if dotted is not None:
        # tomllib takes time and memory quadratic in a dotted key's length (100,000 parts
        # exhaust the memory of a laptop): refused before it sees the text.
        raise_problems(
            label,
            [
                Problem(
                    "(syntax)",
                    f"a dotted key nested more than {MAX_DOTS} levels deep",
                    "a mapping's keys are words, or [sections] one level deep: check the file is "
                    "the mapping you meant",
                    dotted,
                )
            ],
        )
    try:
        data = tomllib.loads(text)
    except RecursionError:
        # tomllib reads nested inline tables and arrays recursively.
        raise_problems(
            label,
            [
                Problem(
                    "(syntax)",
                    "values nested too deeply to be a mapping",
                    "a mapping's tables hold words and lists of headers, nested at most "
                    f"{MAX_DEPTH} levels: check the file is the mapping you meant",
                )
            ],
        )
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(m.group(1)) if m else None
        bad = ""
        if line is not None:
            lines = text.splitlines()
            if 0 < line <= len(lines):
                bad = f" in `{lines[line - 1].strip()[:80]}`"
        raise_problems(
            label,
            [
                Problem(
                    "(syntax)",
                    f"not valid TOML: {exc}{bad}",
                    "put keys and text values with spaces or punctuation in double quotes, e.g. "
                    f"{example}; only numbers and true/false go unquoted",
                    line,
                )
            ],
        )
    deep = too_deep(data)
    if deep is not None:
        raise_problems(
            label,
            [
                Problem(
                    shown_key(deep),
                    f"nested more than {MAX_DEPTH} levels deep",
                    "a mapping's tables hold words and lists of headers: write each table as a "
                    "[section] of key = value lines",
                    key_lines(text).get(("", deep)) or key_lines(text).get((deep, "")),
                )
            ],
        )
    return data


# Dots outside strings on one line: a float or two, a [section.sub] header; never more.
MAX_DOTS = 8


def _deepest_dotted_key(text: str) -> int | None:
    """The first line with more than :data:`MAX_DOTS` dots outside strings and comments, or None.

    A small scanner of TOML's strings (basic, literal, and their multi-line forms) and
    comments, so that dots in words and notes are not counted.
    """
    if text.count(".") <= MAX_DOTS:
        return None
    i, n, line, dots = 0, len(text), 1, 0
    while True:
        m = _SCAN_NEXT.search(text, i)
        if m is None:
            return None
        c, i = m.group(), m.end()
        if c == "\n":
            line, dots = line + 1, 0
        elif c == ".":
            dots += 1
            if dots > MAX_DOTS:
                return line
        elif c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
        else:  # a string: jump past it, counting its lines
            body = _STRING_BODY[c].match(text, i)
            j = body.end() if body else i
            line += text.count("\n", i, j)
            i = j + len(c)


# The next character that matters to _deepest_dotted_key, and the body of each kind of string
# (up to, not including, its closing quote).
_SCAN_NEXT = re.compile(r'"""|\'\'\'|["\'\n#.]')
_STRING_BODY = {
    '"': re.compile(r'(?:[^"\\\n]|\\.)*'),
    "'": re.compile(r"[^'\n]*"),
    '"""': re.compile(r'(?:[^"\\]|\\.|"(?!""))*', re.DOTALL),
    "'''": re.compile(r"(?:[^']|'(?!''))*"),
}


def too_deep(data: dict, limit: int = MAX_DEPTH) -> str | None:
    """The top-level key under which ``data`` nests deeper than ``limit``, or None.

    Walked with an explicit stack: a document nested 100,000 levels deep (dotted keys build one
    without recursion) must not exhaust Python's recursion limit here either.
    """
    for top, value in data.items():
        stack = [(value, 1)]
        while stack:
            v, depth = stack.pop()
            if isinstance(v, dict):
                children = list(v.values())
            elif isinstance(v, list):
                children = v
            else:
                continue
            if depth >= limit and children and any(isinstance(c, (dict, list)) for c in children):
                return str(top)
            stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return None


def shown(value: object, limit: int = MAX_QUOTED) -> str:
    """``repr(value)`` for a message, at most ``limit`` characters (a list says how long it is).

    A mapping or a report may hold anything: a 100,000-item list or a megabyte cell is quoted
    by its start, never whole.
    """
    if isinstance(value, (list, tuple)) and len(value) > 3:
        head = ", ".join(shown(v, limit // 3) for v in value[:3])
        return f"[{head}, ... ({len(value):,} items)]"
    if isinstance(value, dict):
        text = "{" + ", ".join(f"{shown(k, 20)}: ..." for k in list(value)[:3]) + (", ...}" if len(value) > 3 else "}")
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def shown_cell(value: object, limit: int = MAX_QUOTED) -> str:
    """A cell of a user's file as a message quotes it: :func:`shown`, phone-number-like runs
    masked (a registry, a national file or a report may hold a number where a count belongs)."""
    return mask_digits(shown(value, limit))


def shown_key(key: object, limit: int = MAX_QUOTED) -> str:
    """A key as messages name it: itself, cut to ``limit`` characters."""
    k = str(key)
    return k if len(k) <= limit else k[: limit - 3] + "..."


def clipped(text: pd.Series, limit: int = MAX_QUOTED) -> pd.Series:
    """Cell texts cut to ``limit`` characters for a reason (the reject keeps the whole row)."""
    long = text.str.len() > limit
    if not long.any():
        return text
    return text.where(~long, text.str.slice(0, limit - 3) + "...")


def suggest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean X?)`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(str(word)[:MAX_QUOTED].lower(), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def norm_word(word: object) -> str:
    """A vendor word as tables key it: lower case, runs of spaces collapsed, trimmed."""
    return " ".join(str(word).split()).lower()


def norm_words(words: pd.Series) -> pd.Series:
    """:func:`norm_word` of a column of words (empty for missing), vectorised."""
    return words.fillna("").astype("string").str.lower().str.replace(r"\s+", " ", regex=True).str.strip()


class MappingBuilder:
    """Checks a parsed TOML document against a record spec, collecting every problem before raising.

    :meth:`build` checks what every mapping has (identity, ``kind``, ``[file]``, ``[columns]``,
    ``[datetime]``, ``[durations]``, the word tables) and then the record's own keys
    (:attr:`RecordSpec.check`), and returns the checked mapping.

    Parameters
    ----------
    record : RecordSpec
    data : dict
        The parsed document.
    text, label, source : str
        The TOML text (for line numbers), its name in messages, where it came from.
    bundled : bool
        Shipped with Frontdoor.
    path : Path or None
    """

    def __init__(
        self, record: RecordSpec, data: dict, text: str, label: str, source: str, bundled: bool, path: Path | None
    ):
        self.record = record
        self.data = data
        self.lines = key_lines(text)
        self.label = label
        self.source = source
        self.bundled = bundled
        self.path = path
        self.problems: list[Problem] = []

    @property
    def top_keys(self) -> tuple[str, ...]:
        return self.record.top_keys

    @property
    def table_keys(self) -> _AbcMapping[str, tuple[str, ...]]:
        return self.record.table_keys

    def build(self) -> TabularMapping:
        """Check the document and return the mapping it describes.

        Raises
        ------
        MappingError
            Listing every problem found.
        """
        spec = self.record
        self.unknown_top_keys()
        check_kind(self, spec.kind, required=spec.kind_required)
        ident = self.identity()
        if ident["name"] in spec.reserved_names:
            # Bundled or not: these names are what a format choice takes for other things.
            self.problem(
                "", "name", f"{shown(ident['name'])} is reserved", f'choose another name, e.g. name = "{spec.name_example}"'
            )
        f = self.file_options()
        columns = self.record_columns('add a [columns] table: canonical name = "the report\'s column header"')
        self.require_columns(spec.required)
        dt = self.datetime_options()
        durations = self.durations(spec.durations) if "durations" in spec.tables else spec.durations
        words = {t.section: MappingProxyType(self.word_table(t)) for t in spec.word_tables}
        extra = spec.check(self, columns) if spec.check is not None else {}
        self.raise_if_problems()
        return spec.mapping_type(**self.common_fields(ident, f, columns, dt, durations), **words, **extra)

    # -- helpers
    def problem(self, section: str, key: str, message: str, fix: str) -> None:
        line = self.lines.get((section, key))
        if line is None and key:
            line = self.lines.get((section, ""))
        key = shown_key(key)
        if not section:
            k = key
        elif not key:
            k = f"[{section}]"
        elif re.fullmatch(r"[A-Za-z0-9_\-]+", key):
            k = f"{section}.{key}"
        else:
            k = f'{section}."{key}"'
        self.problems.append(Problem(k, message, fix, line))

    def raise_if_problems(self) -> None:
        if self.problems:
            raise_problems(self.label, self.problems)

    def common_fields(self, ident: dict, file_options: dict, columns: dict, dt: dict, durations: str) -> dict:
        """The :class:`TabularMapping` fields every kind of mapping fills the same way.

        ``ident``, ``file_options``, ``columns`` and ``dt`` are what :meth:`identity`,
        :meth:`file_options`, :meth:`columns` and :meth:`datetime_options` returned.
        """
        return dict(
            **ident,
            source=self.source,
            bundled=self.bundled,
            delimiter=file_options["delimiter"],
            skip_lines=file_options["skip_lines"],
            encoding=file_options["encoding"],
            sheet=file_options["sheet"],
            columns=MappingProxyType(columns),
            datetime_format=dt["format"],
            dayfirst=dt["dayfirst"],
            timezone=dt["timezone"],
            durations=durations,
            record=self.record,
        )

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
        allowed = self.table_keys.get(key)
        if allowed:
            for k in v:
                if k not in allowed:
                    self.problem(
                        key, k, "unknown key",
                        f"use one of {', '.join(allowed)}{suggest(k, allowed)}",
                    )
        return v

    def string(self, section: str, key: str, value: object, fix: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(section, key, f"expected text in quotes, got {shown(value)}", fix)
            return None
        return value

    # -- the keys every mapping has
    def unknown_top_keys(self) -> None:
        for k in self.data:
            if k not in self.top_keys:
                self.problem(
                    "", k, "unknown key or table",
                    f"use one of {', '.join(self.top_keys)}{suggest(k, self.top_keys)}",
                )

    def identity(self) -> dict:
        """``name``, ``title``, ``supplier``, ``example``, ``notes``, ``evidence`` and
        ``evidence_note``, checked."""
        d = self.data
        name = d.get("name")
        if name is None:
            self.problem(
                "",
                "name",
                "required key missing",
                'add name = "my_supplier" (lower case letters, digits and _; the format\'s name, given as `fmt`)',
            )
        elif not isinstance(name, str) or not NAME_PATTERN.match(name):
            example = re.sub(r"[^a-z0-9]+", "_", str(name)[:40].lower()).strip("_") or "my_supplier"
            if not example[0].isalpha():
                example = "x_" + example
            self.problem(
                "", "name", f"{shown(name)} is not a format name",
                f'use lower case letters, digits and _ starting with a letter, e.g. name = "{example}"',
            )
            name = None
        elif not self.bundled and name in set(self.record.taken_names()):
            self.problem(
                "", "name", f"{shown(name)} is already the name of a built-in format",
                f'give the supplier\'s report its own name, e.g. name = "{name}_report"',
            )
        elif self.bundled and self.path is not None and name != self.path.stem:
            self.problem(
                "",
                "name",
                f"{shown(name)} differs from the file name {self.path.name}",
                f'name a bundled mapping after its file: name = "{self.path.stem}"',
            )
        title = d.get("title")
        if title is None:
            self.problem("", "title", "required key missing", self.record.title_fix)
        else:
            title = self.string("", "title", title, self.record.title_text_fix)
        supplier = self.string("", "supplier", d.get("supplier"), 'write supplier = "<company>"') or ""
        example = self.string("", "example", d.get("example"), 'write example = "<download file name>"') or ""
        notes = self.string("", "notes", d.get("notes"), 'write notes = "<text>"') or ""
        evidence = d.get("evidence", "documentation")
        if not isinstance(evidence, str) or evidence.strip().lower() not in EVIDENCE_VALUES:
            self.problem(
                "", "evidence", f"{shown(evidence)} is not how sure a mapping can be",
                'write evidence = "real" only when the mapping was checked against a real export, '
                'else evidence = "documentation" (the default)',
            )
            evidence = "documentation"
        evidence_note = self.string(
            "", "evidence_note", d.get("evidence_note"),
            'write evidence_note = "<what it was checked against>"',
        ) or ""
        return {
            "name": name, "title": title, "supplier": supplier, "example": example, "notes": notes,
            "evidence": evidence.strip().lower(), "evidence_note": evidence_note,
        }

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
                    f"{shown(delim)} is not a delimiter",
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
                    f"expected a whole number 0 or more, got {shown(skip)}",
                    "give the number of lines above the header, e.g. skip_lines = 2",
                )
            else:
                out["skip_lines"] = skip
        elif row is not None:
            if isinstance(row, bool) or not isinstance(row, int) or row < 1:
                self.problem(
                    "file",
                    "header_row",
                    f"expected a whole number 1 or more, got {shown(row)}",
                    "give the header's line (or spreadsheet row) number, e.g. header_row = 3",
                )
            else:
                out["skip_lines"] = row - 1
        enc = t.get("encoding")
        if enc is not None:
            try:
                if not isinstance(enc, str):
                    raise LookupError
                info = codecs.lookup(enc)
                # Codecs such as rot13, base64 or zlib transform text or bytes; they do not
                # decode a file (and "undefined" decodes nothing).
                if not getattr(info, "_is_text_encoding", True):
                    raise LookupError
                codecs.getincrementaldecoder(info.name)().decode(b"Date,")
                out["encoding"] = info.name
            except (LookupError, UnicodeError, TypeError, ValueError):
                self.problem(
                    "file",
                    "encoding",
                    f"{shown(enc)} is not a text encoding",
                    'use a Python codec name such as "utf-8", "utf-8-sig", "cp1252" or "utf-16", '
                    "or leave it out to detect it",
                )
        out["sheet"] = self.string(
            "file", "sheet", t.get("sheet"), f'write the worksheet\'s name, e.g. sheet = "{self.record.sheet_example}"'
        )
        return out

    def columns(
        self, valid: _AbcMapping[str, str], fix_missing: str, when: str = "start"
    ) -> dict[str, tuple[str, ...]]:
        """``[columns]``: each key a canonical column, each value a header or list of headers.

        With ``when="start"`` (records at a moment: calls, slots) also checks that the time is
        given as ``start`` or as ``date`` + ``time`` (not both); with ``when="date"`` (records
        of a day or a period: summary counts) a ``date`` column is optional and checked by the
        caller. The caller checks its own required columns after this (see
        :meth:`require_columns`).
        """
        t = self.table("columns", required=True, fix=fix_missing)
        if "columns" not in self.data:
            return {}
        cols: dict[str, tuple[str, ...]] = {}
        names = ", ".join(valid)
        for k, v in t.items():
            if k not in valid:
                self.problem(
                    "columns",
                    k,
                    "not a canonical column",
                    f"use one of {names}{suggest(k, valid)}",
                )
                continue
            headers = [v] if isinstance(v, str) else v
            if (
                not isinstance(headers, list)
                or not headers
                or not all(isinstance(n, str) and norm_name(n) for n in headers)
            ):
                self.problem(
                    "columns", k, f"expected the report's column header in quotes, got {shown(v)}",
                    f'write {k} = "<header>" or a list of alternative headers',
                )
                continue
            if len(headers) > MAX_ALTERNATIVES:
                self.problem(
                    "columns", k, f"{len(headers):,} alternative headers",
                    f"list the few spellings your reports use (at most {MAX_ALTERNATIVES})",
                )
                continue
            cols[k] = tuple(headers)
        if when != "start":
            return cols
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
        return cols

    def record_columns(self, fix_missing: str) -> dict[str, tuple[str, ...]]:
        """``[columns]`` checked against the builder's :attr:`record` (see :meth:`columns`)."""
        return self.columns(self.record.columns, fix_missing, self.record.when)

    def require_columns(self, required: Iterable[tuple[tuple[str, ...], str]]) -> None:
        """For each ``(alternatives, fix)``: one of the alternatives must be under ``[columns]``.

        A missing one is reported against its first alternative.
        """
        t = self.data.get("columns")
        if not isinstance(t, dict):
            return
        for alternatives, fix in required:
            if not any(c in t for c in alternatives):
                self.problem("columns", alternatives[0], "required key missing", fix)

    def strptime_format(self, section: str, key: str, value: object) -> str | None:
        """A ``strptime`` format that round-trips a sample date-time, or a problem."""
        if value is None:
            return None
        ok = isinstance(value, str) and "%" in value
        if ok:
            try:
                sample = _dt.datetime(2026, 1, 5, 8, 30, 15)
                _dt.datetime.strptime(sample.strftime(value), value)
            except ValueError:
                ok = False
        if ok:
            return value  # type: ignore[return-value]
        self.problem(
            section,
            key,
            f"{shown(value)} is not a strptime date format",
            f'use strptime codes, e.g. {key} = "%d/%m/%Y %H:%M" for 05/01/2026 08:30',
        )
        return None

    def datetime_options(self) -> dict:
        t = self.table("datetime")
        out: dict = {"format": None, "dayfirst": True, "timezone": None}
        out["format"] = self.strptime_format("datetime", "format", t.get("format"))
        dayfirst = t.get("dayfirst")
        if dayfirst is not None:
            if not isinstance(dayfirst, bool):
                self.problem(
                    "datetime",
                    "dayfirst",
                    f"expected true or false, got {shown(dayfirst)}",
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
                    f"{shown(tz)} is not an IANA timezone",
                    'use a name like "Europe/London", or leave it out to use the timezone the ingest is given',
                )
        return out

    def durations(self, default: str = "auto") -> str:
        t = self.table("durations")
        fmt = t.get("format", default)
        if not isinstance(fmt, str) or fmt.strip().lower() not in DURATION_FORMATS:
            choices = ", ".join(f'"{c}"' for c in DURATION_FORMATS)
            self.problem("durations", "format", f"{shown(fmt)} is not a duration format", f"use one of {choices}")
            return default
        return fmt.strip().lower()

    def words(
        self,
        section: str,
        allowed: Iterable[str],
        what: str,
        required: bool,
        fix_missing: str,
        wildcard: bool = False,
    ) -> dict[str, str]:
        """A vendor-word table: ``"word" = "canonical value"``, keyed by :func:`norm_word`.

        Values are matched case-insensitively and returned in their canonical spelling (as in
        ``allowed``). The same word twice (case and spaces ignored) with different meanings is
        a problem. With ``wildcard``, the key ``"*"`` gives the value for any other word.
        """
        t = self.table(section, required=required, fix=fix_missing)
        if section in self.data and isinstance(self.data[section], dict) and not t:
            self.problem(section, "", "the table is empty", fix_missing)
        canon = {str(a).lower(): a for a in allowed}
        out: dict[str, str] = {}
        seen: dict[str, str] = {}
        for word, v in t.items():
            value = canon.get(v.strip().lower()) if isinstance(v, str) else None
            if value is None:
                self.problem(
                    section, word, f"{shown(v)} is not {what}",
                    f"use one of {', '.join(allowed)}{suggest(str(v), list(canon))}",
                )
                continue
            if word == "*" and not wildcard:
                self.problem(
                    section, word, "a default for every other word is not allowed here",
                    "list each word the report uses",
                )
                continue
            key = "*" if word == "*" else norm_word(word)
            if key in out and out[key] != value:
                self.problem(
                    section,
                    word,
                    f"the same word as {shown(seen[key])} (case and spaces are ignored) with a different meaning",
                    "keep one of the two lines",
                )
                continue
            out[key] = value
            seen.setdefault(key, word)
        return out


    def table_needs_column(self, section: str, column: str, fix: str) -> bool:
        """Whether the table ``section`` may be read: not when it holds words but ``[columns]``
        maps no ``column`` to read them from (a problem, with ``fix``)."""
        declared = self.data.get("columns")
        if isinstance(declared, dict) and column in declared:
            return True
        if self.data.get(section):
            self.problem(section, "", f"given, but [columns] has no {column} column", fix)
        return False

    def word_table(self, table: WordTable) -> dict[str, str]:
        """One of the record's word tables (see :meth:`words`), checked against its column.

        A table whose column is not mapped is a problem when it holds words (its words are
        checked too: every problem at once); empty or absent, it is nothing to read.
        """
        required = table.required
        if table.without_column and not self.table_needs_column(table.section, table.column, table.without_column):
            if not self.data.get(table.section):
                return {}
            required = False
        example = f'"<the report\'s word>" = "{table.values[0]}"'
        fix = table.fix_missing or (
            f"add a [{table.section}] table: one line per word of the {table.what} column, e.g. {example}"
        )
        return self.words(table.section, table.values, f"a {table.what}", required, fix, wildcard=True)


def load_record_mapping(record: RecordSpec, path_or_text: str | Path | bytes, bundled: bool = False) -> TabularMapping:
    """Read and check a mapping file of the kind ``record`` describes.

    Parameters
    ----------
    record : RecordSpec
    path_or_text : str, Path or bytes
        A path to a ``.toml`` file, or the TOML text itself (a string with a newline or ``=``).
    bundled : bool
        Shipped with Frontdoor (named after its file; messages say to copy it before editing).

    Returns
    -------
    TabularMapping
        Of :attr:`RecordSpec.mapping_type`.

    Raises
    ------
    MappingError
        Listing every problem found (not just the first), each with the file, line, key and
        fix. Bad TOML syntax stops at the first syntax error, with its line.
    """
    text, label, path = read_mapping_text(path_or_text)
    short = path.name if path is not None else label
    data = parse_toml(text, short, record.syntax_example)
    source = str(path) if path is not None else label
    return MappingBuilder(record, data, text, short, source, bundled, path).build()


def load_by_kind(records: Iterable[RecordSpec], path_or_text: str | Path | bytes) -> TabularMapping:
    """Read a mapping file of whichever kind of ``records`` its ``kind`` key names.

    A file without ``kind`` is of the kind that does not require the key.

    Raises
    ------
    MappingError
        The file is not a valid mapping of its kind.
    """
    records = list(records)
    default = next((r.kind for r in records if not r.kind_required), None)
    text, _label, path = read_mapping_text(path_or_text)
    kind = mapping_kind(text, default)
    # A kind none of them reads is reported by the default kind's loader ("'x' is not a ...").
    record = next((r for r in records if r.kind == kind), next(r for r in records if r.kind == default))
    return load_record_mapping(record, path if path is not None else text)


# Bundled mappings, loaded once per record kind and folder.
_BUNDLED: dict[tuple[str, Path], tuple[TabularMapping, ...]] = {}


def bundled_mappings_of(record: RecordSpec) -> dict[str, TabularMapping]:
    """Every mapping of ``record``'s kind shipped in its folder, by name.

    Raises
    ------
    MappingError
        If a bundled file is invalid (a packaging error; the tests load them all).
    """
    assert record.folder is not None, f"{record.kind} mappings have no bundled folder"
    key = (record.kind, record.folder)
    if key not in _BUNDLED:
        default = None if record.kind_required else record.kind
        load = functools.partial(load_record_mapping, record)
        _BUNDLED[key] = load_folder(record.folder, load, kind=record.kind, default_kind=default)
    return {m.name: m for m in _BUNDLED[key]}


# ----------------------------------------------------------------------------- the report's layout


@dataclass
class HeaderLayout:
    """Where a report's header is and which of its columns hold what."""

    delimiter: str
    skip: int  # non-blank rows before the header, as read_delimited counts them
    header_line: int | None  # physical line (or sheet row) of the header
    names: list[str]
    index: dict[str, int]  # canonical → column position
    missing: list[str]  # canonical columns of the mapping not found
    data: list[list[str]]  # head rows after the header (for the sniffer)
    # Which column was taken where the report has two of a field's alternatives (for the notes).
    notes: list[str] = field(default_factory=list)


def with_encoding(source: Source, encoding: str | None) -> Source:
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


def sheet_source(source: Source, mapping: TabularMapping) -> Source:
    """The workbook reading the mapping's named worksheet (``[file] sheet``), if it names one.

    Raises
    ------
    BadInputError
        The workbook has no such sheet.
    """
    try:
        return with_sheet(source, mapping.sheet)
    except BadInputError as exc:
        raise BadInputError(f"{exc}; fix [file] sheet in {mapping.file_name}") from None


def _head_lines(source: Source, mapping: TabularMapping) -> list[tuple[int, str]]:
    """``(physical line, text)`` of the head; xlsx rows as CSV text, one per sheet row (the
    source already reading the mapping's sheet: :func:`sheet_source`)."""
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


def resolve_columns(
    mapping: TabularMapping,
    names: list[str],
    rows: list[list[str]] | None = None,
    notes: list[str] | None = None,
) -> tuple[dict[str, int], list[str]]:
    """Position of each mapped column among ``names``, and the mapped columns missing.

    A mapping may list alternative headers for a canonical column; when a report has more
    than one of them, the one read is chosen by the rule every reader shares
    (:func:`telephony.formats._base.resolve_header`): the one whose values fit (``rows``, the
    first data rows, when given), then the alternative listed first in the mapping, then the
    name; never a crash, and the choice is said in ``notes`` when given.

    Parameters
    ----------
    mapping : TabularMapping
    names : list of str
        The report's header.
    rows : list of list of str, optional
        Data rows below the header, split like it.
    notes : list of str, optional
        Each choice made between alternatives is appended here once.
    """
    index: dict[str, int] = {}
    missing: list[str] = []
    for canon, alts in mapping.columns.items():
        # One canonical column at a time: a report's column may serve two of them.
        pos, found = resolve_header(
            names,
            {k: canon for k in dict.fromkeys(norm_name(a) for a in alts)},
            rows,
            exact_first=False,
            preferred_by=mapping.file_name,
        )
        if canon in pos:
            index[canon] = pos[canon]
        else:
            missing.append(canon)
        if notes is not None:
            notes.extend(n for n in found if n not in notes)
    return index, missing


def find_layout(source: Source, mapping: TabularMapping) -> HeaderLayout:
    """Find the header (at ``skip_lines`` or by searching) and the mapped columns in it.

    Without ``skip_lines`` the header is the line, among the first :data:`HEADER_SEARCH_LINES`
    non-blank ones, holding the required columns and most of the others (a report title or a
    "printed on" line above it is passed over).
    """
    source = sheet_source(source, mapping)
    lines = _head_lines(source, mapping)
    if source.kind == "xlsx":
        delims = [","]
    elif mapping.delimiter:
        delims = [mapping.delimiter]
    else:
        delims = [",", ";", "\t", "|"]
    required = set(mapping.required_columns())
    best: tuple | None = None
    best_layout: HeaderLayout | None = None
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
            index, missing = resolve_columns(mapping, names)
            has_required = not (required & set(missing))
            score = (has_required, len(index), len(names) > 1, -i)
            if best is None or score > best:
                best = score
                data = [r for _, r in rows[i + 1 : i + 1 + SNIFF_ROWS]]
                best_layout = HeaderLayout(d, i, ln, names, index, missing, data)
    if best_layout is None:
        return HeaderLayout(delims[0], 0, None, [], {}, list(mapping.columns), [])
    # The header chosen, its columns now resolved with its first rows, the choices said.
    notes: list[str] = []
    index, missing = resolve_columns(mapping, best_layout.names, best_layout.data, notes)
    return replace(best_layout, index=index, missing=missing, notes=notes)


def missing_message(
    source: Source,
    mapping: TabularMapping,
    layout: HeaderLayout,
    what: str = "report",
    fix: str | None = None,
    show_header: bool = True,
) -> str:
    """The one-line error for a report lacking mapped columns (digits masked).

    ``fix`` ends the message; by default it says to check the export or the mapping's columns.
    Without ``show_header`` the line taken for the header is not quoted, only counted: in a
    grid with one column per clinician the header is a list of names (and a line mistaken for
    the header may be a data row).
    """

    def alternatives(alts: tuple[str, ...]) -> str:
        text = " or ".join(shown(a) for a in alts[:3])
        return text + (f" (or {len(alts) - 3:,} more)" if len(alts) > 3 else "")

    wanted = "; ".join(f"{c} = {alternatives(mapping.columns[c])}" for c in layout.missing)
    if layout.header_line is None:
        where = (
            f"line {mapping.skip_lines + 1} is blank or past the first 64 KB"
            if mapping.skip_lines is not None
            else "no header line found"
        )
    elif not show_header:
        where = f"the header taken on line {layout.header_line} has {len(layout.names)} columns, not shown"
    else:
        found = ", ".join(shown(n) for n in layout.names[:30])
        more = f" (and {len(layout.names) - 30} more)" if len(layout.names) > 30 else ""
        where = f"header on line {layout.header_line}: {found}{more}"
    # A file without a header shows data where the names should be: never a raw number.
    if fix is None:
        fix = f"Check the export settings, or fix [columns] in {mapping.file_name}."
    return mask_digits(f"{source.name}: not a {mapping.name} {what}: missing column(s) {wanted} ({where}). {fix}")


def sniff_score(
    mapping: TabularMapping,
    source: Source,
    values_fit: Callable[[HeaderLayout, list[list[str]]], bool],
    partial: bool = True,
    layout_fits: Callable[[HeaderLayout], bool] | None = None,
) -> float:
    """How sure it is that ``source`` is the report ``mapping`` describes.

    1.0 when the header holds every mapped column (optional ones aside) and
    ``values_fit(layout, rows)`` accepts the first data rows (or there are none); 0.6 when the
    columns are all there but the values do not fit, or (with ``partial``) when most (60 %) of
    the columns are there; else 0. ``layout_fits(layout)`` must accept the header first (by
    default: two mapped columns or more found; one alone, "Date", proves nothing).
    """
    try:
        source = with_encoding(source, mapping.encoding)
        layout = find_layout(source, mapping)
    except BadInputError:
        return 0.0
    if not (layout_fits(layout) if layout_fits is not None else len(layout.index) >= 2):
        return 0.0
    if [c for c in layout.missing if c not in mapping.optional_columns()]:
        n = len(mapping.columns)
        return 0.6 if partial and len(layout.index) >= 0.6 * n else 0.0
    rows = [r for r in layout.data if len(r) == len(layout.names)]
    if not rows:
        return 1.0
    return 1.0 if values_fit(layout, rows) else 0.6


def sniff_mapping(mapping: TabularMapping, source: Source) -> float:
    """How sure it is that ``source`` is the report ``mapping`` describes (0–1).

    :func:`sniff_score` with the tests of the mapping's record (:attr:`TabularMapping.record`):
    by default, whether most of the first rows carry known words in
    :attr:`RecordSpec.sniff_words` and readable start times (:func:`head_fits`).
    """
    record = mapping.record
    values_fit = record.values_fit or _words_fit
    layout_fits = None if record.layout_fits is None else functools.partial(record.layout_fits, mapping)
    return sniff_score(mapping, source, functools.partial(values_fit, mapping), record.sniff_partial, layout_fits)


def _words_fit(mapping: TabularMapping, layout: HeaderLayout, rows: list[list[str]]) -> bool:
    """Whether most head rows carry the record's decisive words and readable start times."""
    column, section = mapping.record.sniff_words
    words = column_text(head_frame(layout, rows), layout.index, column)
    return head_fits(mapping, layout, rows, known_words(words, getattr(mapping, section)))


def known_words(words: pd.Series, table: _AbcMapping) -> int:
    """How many of ``words`` a :func:`norm_word`-keyed table knows (``"*"`` knows any non-empty one)."""
    known = norm_words(words).isin(set(table))
    if "*" in table:
        known |= words.fillna("") != ""
    return int(known.sum())


def load_folder(folder: Path, load, kind: str | None = None, default_kind: str | None = None) -> tuple:
    """Every ``*.toml`` mapping in ``folder``, loaded with ``load(path, bundled=True)``, by name order.

    With ``kind``, only the files whose top-level ``kind`` key (``default_kind`` when absent)
    is ``kind``: one folder can hold mappings of several kinds of record.
    """
    paths = sorted(Path(folder).glob("*.toml"))
    if kind is not None:
        paths = [p for p in paths if mapping_kind(p.read_text(encoding="utf-8"), default_kind) == kind]
    return tuple(load(p, bundled=True) for p in paths)


def mapping_kind(text: str, default: str | None = None) -> str | None:
    """The top-level ``kind`` of a mapping's TOML text (``default`` when absent or unreadable:
    the loader then reports what is wrong)."""
    try:
        kind = tomllib.loads(text).get("kind", default) if "kind" in text else default
    except (tomllib.TOMLDecodeError, RecursionError):
        return default
    return kind if isinstance(kind, str) else default


def check_kind(builder: "MappingBuilder", kind: str, required: bool = False) -> None:
    """Check the document's ``kind`` key: it must be ``kind`` (and be given when ``required``)."""
    given = builder.data.get("kind")
    if given is None and not required:
        return
    if given != kind:
        builder.problem(
            "",
            "kind",
            "required key missing" if given is None else f"{shown(given)} is not a {kind.replace('_', ' ')} mapping",
            f'write kind = "{kind}" (this loader reads {kind.replace("_", " ")} mappings'
            + ("" if given is None else "; give the file to the loader of its own kind")
            + ")",
        )
        if given is not None:
            # A mapping of another kind: its other keys would only be noise.
            builder.problems = builder.problems[-1:]
            builder.raise_if_problems()


def head_fits(mapping: TabularMapping, layout: HeaderLayout, rows: list[list[str]], known_words: int) -> bool:
    """Whether most head rows carry known words (``known_words`` of them) and readable start times.

    The value half of :func:`sniff_score`'s test, shared by every kind of mapping; each kind
    counts its own decisive words (outcomes for calls, statuses for slots).
    """
    start = date_time_text(head_frame(layout, rows), layout.index)
    parsed = read_datetimes(start, mapping.datetime_format, mapping.dayfirst)[0].notna().sum()
    return known_words >= 0.5 * len(rows) and parsed >= 0.5 * len(rows)


def head_frame(layout: HeaderLayout, rows: list[list[str]]) -> pd.DataFrame:
    """The sniffer's head rows as a frame of strings with positional columns."""
    return pd.DataFrame(rows, columns=range(len(layout.names))).astype("string")


def open_report(
    source: Source,
    mapping: TabularMapping,
    what: str = "report",
    reader: Callable[..., Iterator[Chunk]] | None = None,
    fix: str | None = None,
    show_header: bool = True,
) -> tuple[Source, HeaderLayout, Iterator[Chunk]]:
    """The report's layout and its data rows as bounded chunks (CSV, or a named worksheet).

    ``reader`` reads delimited text (default :func:`telephony.sources.read_delimited`, looked
    up when called so that a test can swap in small blocks); ``what``, ``fix`` and ``show_header`` word the error for missing columns
    (:func:`missing_message`).

    Raises
    ------
    BadInputError
        A mapped column is not in the header (:func:`missing_message`).
    """
    source = sheet_source(with_encoding(source, mapping.encoding), mapping)
    layout = find_layout(source, mapping)
    needed = [c for c in layout.missing if c not in mapping.optional_columns()]
    if needed:
        raise BadInputError(missing_message(source, mapping, replace(layout, missing=needed), what, fix, show_header))
    # A workbook is read from the source's sheet (the mapping's, or the first with data).
    chunks = (reader or read_delimited)(source, names=layout.names, header=True, delimiter=layout.delimiter, skip_lines=layout.skip)
    return source, layout, chunks


# ----------------------------------------------------------------------------- values


def column_text(frame: pd.DataFrame, index: dict[str, int], key: str) -> pd.Series:
    """The mapped column ``key`` of a chunk, stripped, empty for missing."""
    return frame.iloc[:, index[key]].fillna("").str.strip()


def column_readers(
    frame: pd.DataFrame, layout: HeaderLayout
) -> tuple[Callable[[str], pd.Series], Callable[[str], str], Callable[[str], pd.Series]]:
    """Readers of a chunk's mapped columns, by canonical key: ``col, label, optional``.

    ``col(key)`` is the column's text (:func:`column_text`); ``label(key)`` its header as the
    report writes it; ``optional(key)`` its text with empty cells missing (``pd.NA``), all
    missing when the mapping has no such column.
    """
    idx = layout.index
    header = layout.names

    def col(k: str) -> pd.Series:
        return column_text(frame, idx, k)

    def label(k: str) -> str:
        return header[idx[k]]

    def optional(k: str) -> pd.Series:
        if k not in idx:
            return pd.Series(pd.NA, index=frame.index, dtype="string")
        v = col(k)
        return v.where(v != "", pd.NA).astype("string")

    return col, label, optional


def format_title(mapping: TabularMapping) -> str:
    """The mapping's title as format listings show it: its supplier added when not named in it."""
    title = mapping.title
    if mapping.supplier and mapping.supplier.lower() not in title.lower():
        title = f"{title} [{mapping.supplier}]"
    return title


def date_time_text(frame: pd.DataFrame, index: dict[str, int]) -> pd.Series:
    """The ``start`` column, or ``date`` and ``time`` joined by a space."""
    if "start" in index:
        return column_text(frame, index, "start")
    return (column_text(frame, index, "date") + " " + column_text(frame, index, "time")).str.strip()


def read_datetimes(
    text: pd.Series, fmt: str | None, dayfirst: bool, tz: str | None = None
) -> tuple[pd.Series, pd.Series]:
    """Date-times as :func:`telephony.timeutil.parse_datetimes` reads them, and which are out of range.

    ``tz`` is the report's zone, for a column mixing values with and without a UTC offset
    (each is read as what it is: see :func:`telephony.timeutil.parse_datetimes`).

    A value whose year pandas cannot hold (year 9999 or 1677, a wrong clock or a placeholder
    "never" date) must cost its own row, never the file: such values are set aside before
    parsing (:func:`telephony.timeutil.years_out_of_range`), and the parser itself reads any
    other value outside those years as ``NaT``.

    Returns
    -------
    times : pandas.Series
        Naive wall clock (or UTC when the values carry offsets); ``NaT`` where unreadable or
        out of range.
    out_of_range : pandas.Series of bool
        Rows whose value is a date outside the years that can be stored.
    """
    s = text.fillna("").astype(str)
    year_out = years_out_of_range(s)
    times = parse_datetimes(s.where(~year_out, ""), fmt, dayfirst, tz)
    return times, pd.Series(year_out, index=text.index)


def time_reasons(
    problems: list[pd.Series], text: pd.Series, times: pd.Series, out_of_range: pd.Series, what: str, where: str,
    hint: str = "", skip=None,
) -> None:
    """Flag a time column's empty, out-of-range and unreadable values (see :func:`flag`).

    ``what`` names the value ("date/time", "end time"), ``where`` the column as the report
    heads it; ``hint`` ends the unreadable reason (e.g. the expected spelling). Rows in
    ``skip`` are already flagged for their time.
    """
    bad = times.isna().to_numpy(dtype=bool)
    if skip is not None:
        bad = bad & ~np.asarray(skip, dtype=bool)
    if not bad.any():
        return
    empty = (text.fillna("") == "").to_numpy()
    oob = out_of_range.to_numpy(dtype=bool)
    quoted = clipped(text.fillna("").astype(str))
    flag(problems, bad & empty, f"{what} missing: column {where!r} is empty")
    flag(
        problems, bad & ~empty & oob,
        f"{what} '" + quoted + f"' in column {where!r} is out of range (years {MIN_YEAR} to {MAX_YEAR} can be stored)",
    )
    flag(problems, bad & ~empty & ~oob, f"unreadable {what} '" + quoted + f"' in column {where!r}{hint}")


def read_start(
    frame: pd.DataFrame,
    layout: HeaderLayout,
    mapping: TabularMapping,
    problems: list[pd.Series],
    zone: str | None = None,
) -> pd.Series:
    """Parse the ``start`` (or ``date`` + ``time``) column, flagging empty, out-of-range and
    unreadable values.

    Returns the times as :func:`read_datetimes` gives them (naive wall-clock unless the values
    carry offsets; a value mixed in with the others' kind converted through ``zone``, the
    report's); reasons go to ``problems`` (see :func:`flag`).
    """
    idx = layout.index
    text = date_time_text(frame, idx)
    start, oob = read_datetimes(text, mapping.datetime_format, mapping.dayfirst, zone)
    where = layout.names[idx["start"]] if "start" in idx else f"{layout.names[idx['date']]}/{layout.names[idx['time']]}"
    hint = ""
    if mapping.datetime_format:
        hint = f" (expected like {_dt.datetime(2026, 1, 5, 8, 30, 15).strftime(mapping.datetime_format)})"
    time_reasons(problems, text, start, oob, "date/time", where, hint)
    return start


def read_dates(
    frame: pd.DataFrame, layout: HeaderLayout, mapping: TabularMapping, problems: list[pd.Series], key: str = "date"
) -> pd.Series:
    """Parse a column of days (``date``): midnights, with empty, out-of-range and unreadable
    values flagged (a value with a time of day other than midnight is not a day either).

    Returns
    -------
    pandas.Series
        Naive ``datetime64[ns]`` midnights; ``NaT`` where flagged.
    """
    text = column_text(frame, layout.index, key)
    days, oob = read_datetimes(text, mapping.datetime_format, mapping.dayfirst)
    if getattr(days.dt, "tz", None) is not None:  # a day written with an offset: its own date
        days = days.dt.tz_localize(None)
    where = layout.names[layout.index[key]]
    hint = ""
    if mapping.datetime_format:
        hint = f" (expected like {_dt.date(2026, 1, 5).strftime(mapping.datetime_format)})"
    timed = (days.notna() & (days != days.dt.normalize())).to_numpy(dtype=bool)
    if timed.any():
        flag(problems, timed, "'" + clipped(text) + f"' in column {where!r} is a time, not a day")
        days = days.mask(timed)
    time_reasons(problems, text, days, oob, "date", where, hint, skip=timed)
    return days


_CLOCK = re.compile(r"^(?:\d+ days?,?\s*)?(?:\d+:)?\d{1,2}:\d{1,2}(?:\.\d+)?$")


def durations_seconds(
    values: pd.Series, fmt: str, xlsx: bool, bare_unit_s: float = 1.0
) -> tuple[pd.Series, pd.Series]:
    """Seconds, and which non-empty values could not be read in ``fmt``.

    Parameters
    ----------
    values : pandas.Series
        Text as the report writes it.
    fmt : str
        One of :data:`DURATION_FORMATS`.
    xlsx : bool
        From a workbook, whose duration cells arrive as whole seconds.
    bare_unit_s : float
        With ``auto``, what a bare number counts (1 = seconds; 60 for reports whose bare
        numbers are minutes, like appointment slot lengths). Clock values (``00:10:00``,
        ``10:00``) are read as ``[h:]mm:ss`` either way.
    """
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
        if bare_unit_s != 1.0:
            bare = s.str.fullmatch(r"\d+(?:\.\d+)?").fillna(False).to_numpy(dtype=bool)
            secs = pd.Series(np.asarray(secs, dtype="float64"), index=s.index)
            secs[bare] = secs[bare] * bare_unit_s
    secs = pd.Series(np.asarray(secs, dtype="float64"), index=s.index)
    bad = (~empty & secs.isna()).to_numpy(dtype=bool)
    return secs, pd.Series(bad, index=s.index)


# A time of day that exists: "25:00" is unreadable, not 01:00 the next day.
_TIME_OF_DAY = r"(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?"


def end_times(
    text: pd.Series, start: pd.Series, fmt: str | None, dayfirst: bool, tz: str | None = None
) -> pd.Series:
    """End times; a bare clock time is taken on the start's day (the next day if earlier).

    Values out of the years that can be stored are ``NaT`` (see :func:`read_datetimes`, which
    ``tz``, the report's zone, is given to).
    """
    end = read_datetimes(text, fmt, dayfirst, tz)[0]
    clock = text.fillna("").str.strip().str.fullmatch(_TIME_OF_DAY)
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


def lookup_words(words: pd.Series, table: _AbcMapping[str, str]) -> tuple[pd.Series, pd.Series]:
    """Each word's value in a :func:`norm_word`-keyed table; NA where the table has none.

    ``"*"`` in the table is the value of any other non-empty word (an empty word takes only
    the table's ``""``).

    Returns
    -------
    values : pandas.Series
        ``string`` dtype.
    by_default : pandas.Series of bool
        Rows whose value came from ``"*"``.
    """
    key = norm_words(words)
    out = key.map({k: v for k, v in table.items() if k != "*"}).astype("string")
    default = pd.Series(False, index=words.index)
    if "*" in table:
        default = (out.isna() & (key != "")).fillna(False).astype(bool)
        out = out.mask(default.to_numpy(), table["*"]).astype("string")
    return out, default


def reason_series(problems: list[pd.Series], index: pd.Index) -> pd.Series:
    """Every row's reasons joined by ``"; "`` (NA where none), from :func:`flag` entries."""
    if not problems:
        return pd.Series([], dtype="string")
    allp = pd.concat(problems)
    return allp.groupby(level=0, sort=True).agg("; ".join).reindex(index)


def flag(problems: list[pd.Series], mask, reason) -> None:
    """Record ``reason`` (text, or a Series of per-row texts) for the rows in ``mask``."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return
    if isinstance(reason, pd.Series):
        problems.append(reason[mask].astype(str))
    else:
        idx = np.flatnonzero(mask)
        problems.append(pd.Series(reason, index=idx))


# ----------------------------------------------------------------------------- records

#: Shown instead of a withheld value (a clinician's name, a patient's id) in reasons, reject
#: texts and counted words.
WITHHELD = "[withheld]"


def report_zone(mapping: TabularMapping, timezone: str | None) -> str:
    """The zone of the report's wall clock: the one given, else the mapping's, else the default."""
    return timezone or mapping.timezone or DEFAULT_TZ


def effective_timezone(mapping: TabularMapping, timezone: str | None) -> str | None:
    """The mapping's own zone when it applies, else None.

    The mapping's ``[datetime] timezone`` applies when no zone was given (``timezone`` is
    ``None``); a zone given explicitly wins, Europe/London too.
    """
    return mapping.timezone if timezone is None and mapping.timezone else None


def same_clock(times: pd.Series, like: pd.Series, zone: str) -> pd.Series:
    """``times`` on the clock of ``like``, so that the two can be subtracted.

    Values with a UTC offset beside wall-clock ``like`` are converted to ``zone``'s wall
    clock; wall-clock values beside UTC ``like`` are localised in ``zone``. Never refused: a
    value that says its offset is an exact instant, and one that does not is the report's
    wall clock.
    """
    aware = getattr(times.dt, "tz", None) is not None
    like_aware = getattr(like.dt, "tz", None) is not None
    if aware and not like_aware:
        return times.dt.tz_convert(zone).dt.tz_localize(None)
    if like_aware and not aware:
        return localize(times, zone)
    return times


def withhold(text: pd.Series, values: list[pd.Series]) -> pd.Series:
    """``text`` with each row's own withheld values (names, ids) replaced by :data:`WITHHELD`."""
    out = text.astype("string")
    for v in values:
        # Very short values ("1") would mangle the reason and identify no one.
        has = (v.fillna("").str.len() >= 3).to_numpy() & out.notna().to_numpy()
        for i in np.flatnonzero(has):
            out.iat[i] = str(out.iat[i]).replace(str(v.iat[i]), WITHHELD)
    return out


def count_words(
    unknown: Counter, spelled: dict, what: str, words: pd.Series, suffix: str = "", bare: bool = False
) -> list[str]:
    """Count words a table does not know, each under the first spelling the file used.

    A word is one word whatever its case and spacing (as the tables look it up). Counted as
    ``"<what> <word><suffix>"`` (the word alone with ``bare``; ``"<what> (empty)"`` for an
    empty cell). ``spelled`` carries the first spellings from chunk to chunk.

    Returns
    -------
    list of str
        The first spellings of this chunk's words, in order of appearance.
    """
    firsts = []
    for word, cnt in words.value_counts(sort=False).items():
        first = spelled.setdefault((what, norm_word(word)), str(word))
        if not first:
            label = f"{what} (empty)"
        else:
            label = first if bare else f"{what} {first}"
        unknown[label + suffix] += int(cnt)
        firsts.append(first)
    return firsts


def typed_frame(dtypes: _AbcMapping[str, str], n: int = 0, **cols) -> pd.DataFrame:
    """A frame of ``dtypes``' columns in order, nulls where a column is not given.

    Columns given as Series are taken by position. ``dtypes`` values: ``"string"``,
    ``"float64"``, ``"Int64"``, ``"datetime64[ns]"`` (naive) or ``"datetime"`` (as given:
    naive wall clock, or UTC where the report wrote offsets).
    """
    out = {}
    for c, dtype in dtypes.items():
        v = cols.get(c)
        if v is None:
            v = np.full(n, np.datetime64("NaT", "ns")) if dtype.startswith("datetime") else [None] * n
        elif isinstance(v, (pd.Series, pd.Index)):
            v = v.array
        out[c] = v
    df = pd.DataFrame(out, index=pd.RangeIndex(n))
    for c, dtype in dtypes.items():
        if dtype == "string":
            df[c] = df[c].astype("string")
        elif dtype in ("float64", "Int64"):
            df[c] = pd.to_numeric(df[c], errors="coerce").astype(dtype)
        elif dtype == "datetime64[ns]":
            df[c] = pd.to_datetime(df[c]).astype(dtype)
    return df


@dataclass
class RecordChunk:
    """One bounded batch of records read from a report.

    Attributes
    ----------
    records : pandas.DataFrame
        The records (:attr:`RecordSpec.record_frame`), ``source_line`` giving each one's line.
    rejects : list of Reject
        Rows that could not become records, with line and reason (withheld values blanked).
    rows_read : int
        Source records read in the batch (blank lines included).
    skipped, unknown : collections.Counter
        Rows skipped by reason; vendor words not known, with counts.
    notes : list of str
        What the reader decided that a person should know.
    """

    records: pd.DataFrame
    rejects: list[Reject] = field(default_factory=list)
    rows_read: int = 0
    skipped: Counter = field(default_factory=Counter)
    unknown: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)


@dataclass
class Reading:
    """One report being read: its mapping and layout, and what holds for every chunk.

    Attributes
    ----------
    mapping : TabularMapping
    layout : HeaderLayout
    zone : str
        The report's wall clock (:func:`report_zone`): values mixed in with an offset, or
        without one beside offsets, are converted through it.
    xlsx : bool
        From a workbook (duration cells arrive as whole seconds).
    options : dict
        What the record's conversion is told (calls: the zone applied in the reader; summary
        counts: the period).
    state : dict
        What carries from chunk to chunk (first spellings of words, notes said, the clock).
    """

    mapping: TabularMapping
    layout: HeaderLayout
    zone: str = DEFAULT_TZ
    xlsx: bool = False
    options: dict = field(default_factory=dict)
    state: dict = field(default_factory=dict)


class Rows:
    """One chunk of a report's rows on their way to records: its mapped columns, and every
    reason a row is rejected for.

    A record's conversion (:attr:`RecordSpec.records`) reads values through the methods here,
    which flag what is wrong (see :func:`flag`), and returns the records' columns.

    Attributes
    ----------
    frame : pandas.DataFrame
        The chunk's rows as text, positional columns.
    reading : Reading
    mapping : TabularMapping
    layout : HeaderLayout
    skipped, unknown : collections.Counter
    notes : list of str
    col, label, optional : callable
        See :func:`column_readers`.
    """

    def __init__(self, frame: pd.DataFrame, reading: Reading, skipped: Counter):
        self.frame = frame
        self.reading = reading
        self.mapping = reading.mapping
        self.layout = reading.layout
        self.skipped = skipped
        self.unknown: Counter = Counter()
        self.notes: list[str] = []
        self.problems: list[pd.Series] = []
        self.col, self.label, self.optional = column_readers(frame, reading.layout)
        record = self.mapping.record
        self.withheld = [k for k in (record.withheld if record is not None else ()) if k in self.layout.index]
        # This chunk's withheld values, normalised: never shown as a word (a mis-mapped column).
        self.private = {norm_word(v) for k in self.withheld for v in self.optional(k).dropna()}

    def has(self, key: str) -> bool:
        """Whether the mapping maps ``key`` (and the report has it)."""
        return key in self.layout.index

    def flag(self, mask, reason) -> None:
        """Reject the rows in ``mask`` for ``reason`` (text, or a Series of per-row texts)."""
        flag(self.problems, mask, reason)

    def start(self) -> pd.Series:
        """When each record starts (``start``, or ``date`` + ``time``): see :func:`read_start`."""
        return read_start(self.frame, self.layout, self.mapping, self.problems, self.reading.zone)

    def dates(self, key: str = "date") -> pd.Series:
        """The days of a date column: see :func:`read_dates`."""
        return read_dates(self.frame, self.layout, self.mapping, self.problems, key)

    def times(self, key: str, fmt: str | None, what: str) -> pd.Series:
        """An optional date-and-time column (empty cells are no time, not a problem)."""
        text = self.col(key)
        times, oob = read_datetimes(text, fmt, self.mapping.dayfirst, self.reading.zone)
        time_reasons(self.problems, text, times, oob, what, self.label(key), skip=(text == "").to_numpy())
        return times

    def end(self, start: pd.Series, required: bool = False) -> pd.Series:
        """End times (``end``) on the clock of ``start`` (:func:`same_clock`).

        A bare time of day is on the start's day (the next day if earlier): with no start, the
        start's own reason says what is wrong. An empty end is a problem when ``required``.
        """
        text = self.col("end")
        m = self.mapping
        end = end_times(text, start, m.datetime_format, m.dayfirst, self.reading.zone)
        end = same_clock(end, start, self.reading.zone)
        unplaced = (text.str.fullmatch(_TIME_OF_DAY) & start.isna()).to_numpy(dtype=bool)
        skip = unplaced if required else unplaced | (text == "").to_numpy()
        oob = pd.Series(years_out_of_range(text), index=text.index)
        time_reasons(self.problems, text, end, oob, "end time", self.label("end"), skip=skip)
        return end

    def duration(
        self, key: str, what: str | None = None, bare_unit_s: float = 1.0, required: bool = False,
        show_format: bool = True,
    ) -> pd.Series:
        """Seconds in the duration column ``key``, read with the mapping's ``[durations] format``
        (see :func:`durations_seconds`); NaN where empty or unreadable, or when not mapped.

        ``what`` names the value in reasons (default ``key``); an empty cell is a problem when
        ``required``.
        """
        if not self.has(key):
            return pd.Series(np.nan, index=self.frame.index, dtype="float64")
        what = what or key
        text = self.col(key)
        secs, bad = durations_seconds(text, self.mapping.durations, self.reading.xlsx, bare_unit_s)
        where = self.label(key)
        if required:
            self.flag((text == "").to_numpy(), f"{what} missing: column {where!r} is empty")
        hint = f" (durations format {self.mapping.durations})" if show_format else ""
        self.flag(bad.to_numpy(), f"unreadable {what} '" + clipped(text) + f"' in column {where!r}{hint}")
        return secs

    def shown_words(self, words: pd.Series) -> pd.Series:
        """Words as reasons and counts may quote them: withheld values out, long ones clipped."""
        if self.private:
            words = words.where(~words.map(norm_word).isin(self.private), WITHHELD)
        return clipped(words)

    def count(self, what: str, words: pd.Series, suffix: str = "", bare: bool = False) -> list[str]:
        """Count unknown words under their first spelling in the file (see :func:`count_words`)."""
        return count_words(self.unknown, self.reading.state.setdefault("spelling", {}), what, words, suffix, bare)

    def words(self, table: WordTable, values: pd.Series | None = None, reject: bool = True) -> pd.Series:
        """The canonical values of ``table``'s words (its column, or ``values``).

        A word the table does not know (and no ``"*"`` line) is counted under its first
        spelling; with ``reject`` its row is rejected with a reason naming the word and the
        table to add it to (an empty cell: how to accept empty cells), else it is kept as NA.
        Words read through ``"*"`` are counted too, saying what they were read as.
        """
        lookup = getattr(self.mapping, table.section)
        words = (self.col(table.column) if values is None else values).fillna("")
        if not lookup:
            return pd.Series(pd.NA, index=words.index, dtype="string")
        mapped, by_default = lookup_words(words, lookup)
        shown = self.shown_words(words)
        counted = table.counted_as or table.what
        self.count(counted, shown[by_default.to_numpy()], f" (read as {lookup.get('*', '')})")
        unk = mapped.isna().to_numpy()
        empty = (words == "").to_numpy()
        self.count(counted, shown[unk & ~empty])
        if reject:
            where, hint, what = self.label(table.column), self.mapping.edit_hint(table.section), table.what
            self.flag(
                unk & empty,
                f'{what} missing: column {where!r} is empty; add "" = "<{what}>" {hint} to accept empty cells',
            )
            self.flag(
                unk & ~empty,
                f"unknown {what} '" + shown + f"' in column {where!r}; add \"" + shown
                + f'" = "<{what}>" {hint} (one of {", ".join(table.values)})',
            )
        return mapped

    def rejects(self, lines: np.ndarray, mask: np.ndarray, reasons: pd.Series) -> list[Reject]:
        """The rows in ``mask`` as rejects, with their reasons; withheld values blanked."""
        frame, reasons = self.frame, reasons.fillna("")
        if self.withheld:
            reasons = withhold(reasons, [self.optional(k) for k in self.withheld])
            frame = frame.copy()
            for k in self.withheld:
                c = frame.columns[self.layout.index[k]]
                frame[c] = frame[c].where(frame[c].fillna("").str.strip() == "", WITHHELD)
        return rejects_from(frame, lines, mask, reasons, sep=self.layout.delimiter)


def convert_rows(chunk: Chunk, reading: Reading) -> RecordChunk:
    """One chunk of report rows → records and rejects (one record, one reject or one skip per row).

    The record's own conversion (:attr:`RecordSpec.records`) reads the rows through
    :class:`Rows`; a row with any reason is rejected with all of them (joined by ``"; "``).

    Returns
    -------
    RecordChunk
        Of :attr:`RecordSpec.chunk_type`; rejects in line order.
    """
    record = reading.mapping.record
    frame = chunk.frame.reset_index(drop=True)
    n = len(frame)
    structural = list(chunk.rejects)
    if record.withheld:
        # A row with the wrong number of fields: which field is a name or an id cannot be told.
        structural = [Reject(r.line, r.reason, "", r.rows) for r in structural]
    rows = Rows(frame, reading, chunk.skipped())
    if n == 0:
        return record.chunk_type(record.record_frame(0), structural, chunk.rows_read, rows.skipped, Counter(), [])
    columns, passed = record.records(rows)
    reasons = reason_series(rows.problems, frame.index)
    bad = reasons.notna().to_numpy() if len(reasons) else np.zeros(n, dtype=bool)
    keep = ~bad
    if passed is not None:
        bad, keep = bad & ~passed, keep & ~passed
    rejects = structural + (rows.rejects(chunk.lines, bad, reasons) if bad.any() else [])
    rejects.sort(key=lambda r: r.line or 0)
    records = record.record_frame(
        int(keep.sum()), **{k: v[keep] for k, v in columns.items()}, source_line=pd.Series(chunk.lines[keep])
    )
    return record.chunk_type(records, rejects, chunk.rows_read, rows.skipped, rows.unknown, rows.notes)


def convert_chunks(
    chunks: Iterable[Chunk],
    reading: Reading,
    notes: Iterable[str] = (),
    convert: Callable[[Chunk, Reading], RecordChunk] = convert_rows,
) -> Iterator[RecordChunk]:
    """Each chunk converted (by ``convert``), the reading's notes said with the first one:
    which column was taken where the report has two of a field's alternatives, then ``notes``."""
    pending = list(reading.layout.notes) + list(notes)
    for chunk in chunks:
        out = convert(chunk, reading)
        out.notes, pending = pending + list(out.notes), []
        yield out


def read_records(
    mapping: TabularMapping, source: Source, timezone: str | None = None, options: dict | None = None
) -> Iterator[RecordChunk]:
    """Read a report as ``mapping`` describes it, in bounded chunks of its record.

    Parameters
    ----------
    mapping : TabularMapping
        Of a record (:attr:`TabularMapping.record`).
    source : telephony.sources.Source
        From :func:`telephony.sources.open_source` (CSV in any encoding, or XLSX).
    timezone : str, optional
        The report's wall clock, when given (:func:`report_zone`).
    options : dict, optional
        What the record's conversion is told (:attr:`Reading.options`).

    Yields
    ------
    RecordChunk
        Of the record's :attr:`RecordSpec.chunk_type`.

    Raises
    ------
    BadInputError
        A mapped column is missing from the report's header.
    """
    source, layout, chunks = open_report(source, mapping, mapping.record.what)
    reading = Reading(mapping, layout, report_zone(mapping, timezone), source.kind == "xlsx", dict(options or {}))
    yield from convert_chunks(chunks, reading)


def format_fields(mapping: TabularMapping) -> dict:
    """What a format listing says of a mapping: name, title, example, evidence and its note."""
    return dict(
        name=mapping.name,
        title=format_title(mapping),
        example=mapping.example or f"{mapping.record.listed_as} .csv/.xlsx (mapping {mapping.file_name})",
        evidence=mapping.evidence,
        evidence_note=mapping.evidence_note,
    )



__all__ = [
    "DURATION_FORMATS",
    "EVIDENCE_VALUES",
    "FILE_KEYS",
    "IDENTITY_KEYS",
    "MAX_YEAR",
    "MIN_YEAR",
    "WITHHELD",
    "HeaderLayout",
    "MappingBuilder",
    "Problem",
    "Reading",
    "RecordChunk",
    "RecordSpec",
    "Rows",
    "TabularMapping",
    "WordTable",
    "bundled_mappings_of",
    "check_kind",
    "clipped",
    "column_readers",
    "column_text",
    "convert_chunks",
    "convert_rows",
    "count_words",
    "date_time_text",
    "durations_seconds",
    "effective_timezone",
    "end_times",
    "find_layout",
    "flag",
    "format_fields",
    "format_title",
    "head_fits",
    "head_frame",
    "key_lines",
    "known_words",
    "load_by_kind",
    "load_folder",
    "load_record_mapping",
    "lookup_words",
    "mapping_kind",
    "missing_message",
    "norm_word",
    "norm_words",
    "open_report",
    "parse_toml",
    "raise_problems",
    "read_dates",
    "read_datetimes",
    "read_mapping_text",
    "read_records",
    "read_start",
    "reason_series",
    "report_zone",
    "resolve_columns",
    "same_clock",
    "sheet_source",
    "shown",
    "shown_key",
    "sniff_mapping",
    "sniff_score",
    "suggest",
    "time_reasons",
    "too_deep",
    "typed_frame",
    "with_encoding",
    "withhold",
]

# The readers' shared contract (telephony.formats._base) is imported last, after every name
# above exists: importing it runs the call-format registry (telephony/formats/__init__.py),
# which loads the bundled call mappings through this module. Only functions that read a report
# use these two names, never the loading. (With the contract in a module outside the registry's
# package, this import could stand at the top.)
from telephony.formats._base import rejects_from, resolve_header  # noqa: E402
