"""What every declarative mapping of a tabular report shares, whatever the report describes.

A mapping file (TOML) says where a CSV or XLSX report keeps each canonical field, how it writes
times and durations, and what its words mean. Call reports (:mod:`telephony.formats.mapping`)
and appointment slot reports (:mod:`demand.appointments.mapping`) are onboarded the same way;
this module holds the machinery they share, so that one rule is written once:

- loading: the TOML text from a path or a string, syntax errors with their line, and a checker
  base class (:class:`MappingBuilder`) that collects *every* problem, each with the file, line,
  key and fix, before raising one :class:`~telephony.errors.MappingError`;
- the common keys: ``name``, ``title``, ``supplier``, ``example``, ``notes``, ``[file]``
  (delimiter, skip_lines/header_row, encoding, sheet), ``[datetime]`` (format, dayfirst,
  timezone), ``[durations]`` and vendor-word tables (``"word" = "canonical value"``) matched
  case- and space-insensitively;
- the report's layout: the header found at ``skip_lines`` or searched for below a preamble,
  the mapped columns located in it (headers matched case-, space- and punctuation-
  insensitively, alternatives allowed), and the data read in bounded chunks from CSV (any
  delimiter, any encoding) or a named worksheet;
- value parsing: date-and-time columns, durations, end times given as a bare clock time, word
  lookups, and per-row reasons for rejects.

Notes
-----
A report's rows are never dropped silently: a row is turned into a record or rejected with
every reason that applies (joined by ``"; "``), and unknown vendor words are counted.
"""

from __future__ import annotations

import codecs
import csv
import datetime as _dt
import difflib
import re
import tomllib
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
from telephony.sources import HEAD_BYTES, Chunk, Source, norm_name, read_delimited, with_sheet
from telephony.timeutil import YEARS, parse_datetimes, parse_durations, years_out_of_range

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

    @property
    def file_name(self) -> str:
        """The mapping file's name (or ``<mapping text>``), for messages."""
        return Path(self.source).name if self.source != "<mapping text>" else self.source

    def required_columns(self) -> list[str]:
        """Canonical columns a report must have for this mapping to read it at all."""
        return list(self.columns)

    def optional_columns(self) -> tuple[str, ...]:
        """Mapped columns a report may lack (read as empty). None by default: a mapped column
        missing from a report stops the read rather than silently losing, say, every caller."""
        return ()

    def edit_hint(self, section: str) -> str:
        """Where a user adds a word: the file itself, or a copy of a bundled mapping."""
        if self.bundled:
            return f"under [{section}] in a copy of the bundled {self.file_name}, passed with --mapping"
        return f"under [{section}] in {self.file_name}"


@dataclass(frozen=True)
class RecordSpec:
    """What one kind of mapping describes: the record it reads from a report.

    Calls (:mod:`telephony.formats.mapping`), appointment slots
    (:mod:`demand.appointments.mapping`) and summary counts of capacity
    (:mod:`demand.appointments.counts`) are each a record spec over the same machinery.

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
    """

    kind: str
    what: str
    columns: _AbcMapping[str, str]
    when: str = "start"


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
                        "check that --mapping names the .toml mapping, not the report",
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


class MappingBuilder:
    """Checks a parsed TOML document, collecting every problem before raising.

    Subclasses set the class attributes and write ``build()`` from the checks here.

    Attributes
    ----------
    top_keys : tuple of str
        Keys and tables allowed at the top level.
    table_keys : dict
        Table name → keys allowed in it (tables not listed take any key, e.g. word tables).
    title_fix, title_text_fix : str
        Fixes shown for a missing title and for a title that is not text.
    sheet_example : str
        A worksheet name used in the ``[file] sheet`` fix.
    """

    top_keys: tuple[str, ...] = ()
    table_keys: dict[str, tuple[str, ...]] = {}
    record: RecordSpec | None = None
    title_fix: str = 'add title = "<supplier> report (CSV/XLSX)" (shown by frontdoor formats)'
    title_text_fix: str = 'write title = "<supplier> report"'
    sheet_example: str = "Report"

    def __init__(self, data: dict, text: str, label: str, source: str, bundled: bool, path: Path | None):
        self.data = data
        self.lines = key_lines(text)
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
        )

    def taken_names(self) -> set[str]:
        """Format names a (non-bundled) mapping may not take."""
        return set()

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
                'add name = "my_supplier" (lower case letters, digits and _; used with --format)',
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
        elif not self.bundled and name in self.taken_names():
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
            self.problem("", "title", "required key missing", self.title_fix)
        else:
            title = self.string("", "title", title, self.title_text_fix)
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
            "file", "sheet", t.get("sheet"), f'write the worksheet\'s name, e.g. sheet = "{self.sheet_example}"'
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
        assert self.record is not None
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
                    'use a name like "Europe/London", or leave it out to use --timezone',
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


def load_document(
    path_or_text: str | Path | bytes,
    builder: type[MappingBuilder],
    bundled: bool,
    syntax_example: str,
):
    """Read, parse and check a mapping file with ``builder``; return what its ``build()`` makes."""
    text, label, path = read_mapping_text(path_or_text)
    short = path.name if path is not None else label
    data = parse_toml(text, short, syntax_example)
    return builder(data, text, short, str(path) if path is not None else label, bundled, path).build()


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
    # Imported here: telephony.formats imports the mapping engines, which import this module.
    from telephony.formats._base import resolve_header

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
) -> float:
    """How sure it is that ``source`` is the report ``mapping`` describes.

    1.0 when the header holds every mapped column and ``values_fit(layout, rows)`` accepts the
    first data rows (or there are none); 0.6 when the columns are all there but the values do
    not fit, or when most (60 %) of the columns are there; else 0.
    """
    try:
        source = with_encoding(source, mapping.encoding)
        layout = find_layout(source, mapping)
    except BadInputError:
        return 0.0
    n = len(mapping.columns)
    found = n - len(layout.missing)
    if found < 2:
        return 0.0
    if layout.missing:
        return 0.6 if found >= 0.6 * n else 0.0
    rows = [r for r in layout.data if len(r) == len(layout.names)]
    if not rows:
        return 1.0
    return 1.0 if values_fit(layout, rows) else 0.6


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
    reader: Callable[..., Iterator[Chunk]] = read_delimited,
    fix: str | None = None,
    show_header: bool = True,
) -> tuple[Source, HeaderLayout, Iterator[Chunk]]:
    """The report's layout and its data rows as bounded chunks (CSV, or a named worksheet).

    ``reader`` reads delimited text (:func:`telephony.sources.read_delimited` or a stand-in);
    ``what``, ``fix`` and ``show_header`` word the error for missing columns
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
    chunks = reader(source, names=layout.names, header=True, delimiter=layout.delimiter, skip_lines=layout.skip)
    return source, layout, chunks


def effective_timezone(mapping: TabularMapping, timezone: str | None) -> str | None:
    """The mapping's own zone when it applies, else None.

    The mapping's ``[datetime] timezone`` applies when no zone was given (``timezone`` is
    ``None``: ``--timezone`` not passed); a zone given explicitly wins, Europe/London too.
    """
    return mapping.timezone if timezone is None and mapping.timezone else None


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


def read_datetimes(text: pd.Series, fmt: str | None, dayfirst: bool) -> tuple[pd.Series, pd.Series]:
    """Date-times as :func:`telephony.timeutil.parse_datetimes` reads them, and which are out of range.

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
    times = parse_datetimes(s.where(~year_out, ""), fmt, dayfirst)
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
    frame: pd.DataFrame, layout: HeaderLayout, mapping: TabularMapping, problems: list[pd.Series]
) -> pd.Series:
    """Parse the ``start`` (or ``date`` + ``time``) column, flagging empty, out-of-range and
    unreadable values.

    Returns the times as :func:`read_datetimes` gives them (naive wall-clock unless the values
    carry offsets); reasons go to ``problems`` (see :func:`flag`).
    """
    idx = layout.index
    text = date_time_text(frame, idx)
    start, oob = read_datetimes(text, mapping.datetime_format, mapping.dayfirst)
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


def end_times(text: pd.Series, start: pd.Series, fmt: str | None, dayfirst: bool) -> pd.Series:
    """End times; a bare clock time is taken on the start's day (the next day if earlier).

    Values out of the years that can be stored are ``NaT`` (see :func:`read_datetimes`).
    """
    end = read_datetimes(text, fmt, dayfirst)[0]
    # A time of day that exists: "25:00" is unreadable, not 01:00 the next day.
    clock = text.fillna("").str.strip().str.fullmatch(r"(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?")
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
    key = words.fillna("").str.lower().str.replace(r"\s+", " ", regex=True).str.strip()
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


__all__ = [
    "DURATION_FORMATS",
    "EVIDENCE_VALUES",
    "FILE_KEYS",
    "IDENTITY_KEYS",
    "MAX_YEAR",
    "MIN_YEAR",
    "check_kind",
    "clipped",
    "load_folder",
    "mapping_kind",
    "read_dates",
    "read_datetimes",
    "shown",
    "shown_key",
    "time_reasons",
    "too_deep",
    "HeaderLayout",
    "MappingBuilder",
    "Problem",
    "RecordSpec",
    "TabularMapping",
    "column_readers",
    "column_text",
    "date_time_text",
    "durations_seconds",
    "effective_timezone",
    "end_times",
    "find_layout",
    "flag",
    "format_title",
    "head_frame",
    "key_lines",
    "load_document",
    "lookup_words",
    "missing_message",
    "norm_word",
    "open_report",
    "parse_toml",
    "read_start",
    "raise_problems",
    "read_mapping_text",
    "reason_series",
    "resolve_columns",
    "sheet_source",
    "sniff_score",
    "suggest",
    "with_encoding",
]
