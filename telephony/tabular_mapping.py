"""What every declarative mapping of a tabular report shares, whatever the report describes.

A mapping file (TOML) says where a CSV or XLSX report keeps each canonical field, how it writes
times and durations, and what its words mean. Call reports (:mod:`telephony.formats.mapping`)
and appointment slot reports (:mod:`demand.appointment_mapping`) are onboarded the same way;
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

from .errors import BadInputError, MappingError
from .privacy import mask_digits
from .sources import HEAD_BYTES, Chunk, Source, norm_name, read_delimited, with_sheet
from .timeutil import parse_datetimes, parse_durations

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


# ----------------------------------------------------------------------------- the mapping


@dataclass(frozen=True)
class TabularMapping:
    """What every checked mapping file says about its report (subclasses add their words).

    Attributes
    ----------
    name, title, supplier, example, notes : str
        Identity of the format; ``name`` is what ``--format`` takes.
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


def raise_problems(label: str, problems: list[Problem]) -> NoReturn:
    """Raise one :class:`MappingError` listing every problem (``.problems`` holds them)."""
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
    try:
        return tomllib.loads(text)
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
    raise AssertionError("unreachable")


def suggest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean X?)`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(str(word).lower(), list(choices), n=1, cutoff=0.6)
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
            self.problem(section, key, f"expected text in quotes, got {value!r}", fix)
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
        """``name``, ``title``, ``supplier``, ``example`` and ``notes``, checked."""
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
            example = re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_") or "my_supplier"
            if not example[0].isalpha():
                example = "x_" + example
            self.problem(
                "", "name", f"{name!r} is not a format name",
                f'use lower case letters, digits and _ starting with a letter, e.g. name = "{example}"',
            )
            name = None
        elif not self.bundled and name in self.taken_names():
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
            self.problem("", "title", "required key missing", self.title_fix)
        else:
            title = self.string("", "title", title, self.title_text_fix)
        supplier = self.string("", "supplier", d.get("supplier"), 'write supplier = "<company>"') or ""
        example = self.string("", "example", d.get("example"), 'write example = "<download file name>"') or ""
        notes = self.string("", "notes", d.get("notes"), 'write notes = "<text>"') or ""
        return {"name": name, "title": title, "supplier": supplier, "example": example, "notes": notes}

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
            "file", "sheet", t.get("sheet"), f'write the worksheet\'s name, e.g. sheet = "{self.sheet_example}"'
        )
        return out

    def columns(self, valid: _AbcMapping[str, str], fix_missing: str) -> dict[str, tuple[str, ...]]:
        """``[columns]``: each key a canonical column, each value a header or list of headers.

        Also checks that the time is given as ``start`` or as ``date`` + ``time`` (not both).
        The caller checks its own required columns after this (see :meth:`require_columns`).
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
                    "columns", k, f"expected the report's column header in quotes, got {v!r}",
                    f'write {k} = "<header>" or a list of alternative headers',
                )
                continue
            cols[k] = tuple(headers)
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
            f"{value!r} is not a strptime date format",
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

    def durations(self, default: str = "auto") -> str:
        t = self.table("durations")
        fmt = t.get("format", default)
        if not isinstance(fmt, str) or fmt.strip().lower() not in DURATION_FORMATS:
            choices = ", ".join(f'"{c}"' for c in DURATION_FORMATS)
            self.problem("durations", "format", f"{fmt!r} is not a duration format", f"use one of {choices}")
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
                    section, word, f"{v!r} is not {what}",
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
                    f"the same word as {seen[key]!r} (case and spaces are ignored) with a different meaning",
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
class Layout:
    """Where a report's header is and which of its columns hold what."""

    delimiter: str
    skip: int  # non-blank rows before the header, as read_delimited counts them
    header_line: int | None  # physical line (or sheet row) of the header
    names: list[str]
    index: dict[str, int]  # canonical → column position
    missing: list[str]  # canonical columns of the mapping not found
    data: list[list[str]]  # head rows after the header (for the sniffer)


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
    from .formats._base import resolve_header

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


def find_layout(source: Source, mapping: TabularMapping) -> Layout:
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
    best_layout: Layout | None = None
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
                best_layout = Layout(d, i, ln, names, index, missing, data)
    if best_layout is None:
        return Layout(delims[0], 0, None, [], {}, list(mapping.columns), [])
    return best_layout


def missing_message(
    source: Source, mapping: TabularMapping, layout: Layout, what: str = "report", fix: str | None = None
) -> str:
    """The one-line error for a report lacking mapped columns (digits masked).

    ``fix`` ends the message; by default it says to check the export or the mapping's columns.
    """
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
    if fix is None:
        fix = f"Check the export settings, or fix [columns] in {mapping.file_name}."
    return mask_digits(f"{source.name}: not a {mapping.name} {what}: missing column(s) {wanted} ({where}). {fix}")


def sniff_score(
    mapping: TabularMapping,
    source: Source,
    values_fit: Callable[[Layout, list[list[str]]], bool],
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


def load_folder(folder: Path, load) -> tuple:
    """Every ``*.toml`` mapping in ``folder``, loaded with ``load(path, bundled=True)``, by name order."""
    return tuple(load(p, bundled=True) for p in sorted(Path(folder).glob("*.toml")))


def head_fits(mapping: TabularMapping, layout: Layout, rows: list[list[str]], known_words: int) -> bool:
    """Whether most head rows carry known words (``known_words`` of them) and readable start times.

    The value half of :func:`sniff_score`'s test, shared by every kind of mapping; each kind
    counts its own decisive words (outcomes for calls, statuses for slots).
    """
    start = date_time_text(head_frame(layout, rows), layout.index)
    parsed = parse_datetimes(start, mapping.datetime_format, mapping.dayfirst).notna().sum()
    return known_words >= 0.5 * len(rows) and parsed >= 0.5 * len(rows)


def head_frame(layout: Layout, rows: list[list[str]]) -> pd.DataFrame:
    """The sniffer's head rows as a frame of strings with positional columns."""
    return pd.DataFrame(rows, columns=range(len(layout.names))).astype("string")


def open_report(
    source: Source,
    mapping: TabularMapping,
    what: str = "report",
    reader: Callable[..., Iterator[Chunk]] = read_delimited,
    fix: str | None = None,
) -> tuple[Source, Layout, Iterator[Chunk]]:
    """The report's layout and its data rows as bounded chunks (CSV, or a named worksheet).

    ``reader`` reads delimited text (:func:`telephony.sources.read_delimited` or a stand-in);
    ``what`` and ``fix`` word the error for missing columns (:func:`missing_message`).

    Raises
    ------
    BadInputError
        A mapped column is not in the header (:func:`missing_message`).
    """
    source = sheet_source(with_encoding(source, mapping.encoding), mapping)
    layout = find_layout(source, mapping)
    if layout.missing:
        raise BadInputError(missing_message(source, mapping, layout, what, fix))
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
    frame: pd.DataFrame, layout: Layout
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


def read_start(
    frame: pd.DataFrame, layout: Layout, mapping: TabularMapping, problems: list[pd.Series]
) -> pd.Series:
    """Parse the ``start`` (or ``date`` + ``time``) column, flagging empty and unreadable values.

    Returns the times as :func:`telephony.timeutil.parse_datetimes` gives them (naive
    wall-clock unless the values carry offsets); reasons go to ``problems`` (see :func:`flag`).
    """
    idx = layout.index
    text = date_time_text(frame, idx)
    start = parse_datetimes(text, mapping.datetime_format, mapping.dayfirst)
    where = layout.names[idx["start"]] if "start" in idx else f"{layout.names[idx['date']]}/{layout.names[idx['time']]}"
    bad = start.isna().to_numpy()
    if bad.any():
        hint = ""
        if mapping.datetime_format:
            hint = f" (expected like {_dt.datetime(2026, 1, 5, 8, 30, 15).strftime(mapping.datetime_format)})"
        empty = (text == "").to_numpy()
        flag(problems, bad & empty, f"date/time missing: column {where!r} is empty")
        flag(problems, bad & ~empty, "unreadable date/time '" + text + f"' in column {where!r}{hint}")
    return start


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
    """End times; a bare clock time is taken on the start's day (the next day if earlier)."""
    end = parse_datetimes(text, fmt, dayfirst)
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
    "FILE_KEYS",
    "Layout",
    "MappingBuilder",
    "Problem",
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
