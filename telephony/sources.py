"""Opening export files whatever their wrapping: gzip, encodings, CSV, XLSX, JSON.

Everything a parser reads comes through here, so the real world's variety is handled once:
``.gz`` compression; UTF-8 (with or without BOM), UTF-16 (with BOM, or without when the bytes
say so) and Windows-1252 text, including a UTF-8 file with a few stray Windows-1252 bytes;
Excel ``.xlsx`` workbooks; JSON arrays, JSON lines and concatenated JSON objects.

Delimited text is read in bounded blocks by Arrow's CSV parser (fast path); a block that Arrow
cannot split cleanly (a row with the wrong number of fields, a quoted newline) is re-read by
Python's ``csv`` module so every bad row is reported with its exact line number.

Notes
-----
What goes wrong with real files, and what is done about it:

- Only a regular file is opened. A named pipe (FIFO), a device or a socket would block the
  read for ever (or never end): it is refused from its ``stat``, before anything opens it.
- A gzip file cut short (a download or copy that did not finish) or damaged fails when the
  reading reaches the damage, possibly long after the head: every read goes through a wrapper
  that turns that into :class:`~telephony.errors.BadInputError`, so the ingest writes nothing.
- A file written while it is read (an export still being downloaded, a log being rotated, a
  sync client replacing it) would give half its rows and a clean exit. The file's size,
  modification time and inode are kept when it is opened, and where each full read met the
  end of the file; :meth:`Source.check_unchanged` compares them with the file as it is now.
- A log cut by a crash or a power cut often ends in a run of NUL bytes (the file system had
  allocated the block but not written it). Text followed by NULs to the end of the head is read
  as text, the NUL run becoming a bad row; NULs anywhere else mean binary data.
"""

from __future__ import annotations

import codecs
import csv
import datetime as _dt
import gzip
import io
import json
import os
import re
import stat
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import openpyxl

from telephony.errors import BadInputError
from telephony.privacy import mask_digits

HEAD_BYTES = 64 * 1024
BLOCK_BYTES = 16 * 1024 * 1024
XLSX_CHUNK_ROWS = 50_000
MAX_REJECT_TEXT = 500


def _cp1252_fallback(err: UnicodeDecodeError):
    bad = err.object[err.start : err.end]
    return bad.decode("cp1252", errors="replace"), err.end


codecs.register_error("frontdoor_cp1252", _cp1252_fallback)


@dataclass
class Reject:
    """A source row that could not become a call.

    The text is masked on creation: phone-number-like digit runs never leave this object.
    """

    line: int | None
    reason: str
    text: str = ""
    rows: int = 1  # source rows this reject accounts for (a whole call's events, say)

    def __post_init__(self) -> None:
        self.text = mask_digits(self.text)[:MAX_REJECT_TEXT]
        self.reason = mask_digits(self.reason)


@dataclass
class Chunk:
    """One bounded batch of a delimited source.

    Attributes
    ----------
    frame : pandas.DataFrame
        String columns named from the header (or the parser's names); empty fields are ``""``.
    lines : numpy.ndarray
        Source line number (1-based) of each row of ``frame``.
    rejects : list of Reject
        Rows that could not be split into the expected fields.
    blank : int
        Blank lines skipped in this chunk.
    """

    frame: pd.DataFrame
    lines: np.ndarray
    rejects: list[Reject] = field(default_factory=list)
    blank: int = 0

    @property
    def rows_read(self) -> int:
        """Source rows the chunk accounts for: its rows, the rows rejected, the blank lines."""
        return len(self.frame) + sum(r.rows for r in self.rejects) + self.blank

    def skipped(self) -> Counter:
        """The chunk's blank lines as a parser's skipped-rows counter (``"blank line"``)."""
        return Counter({"blank line": self.blank}) if self.blank else Counter()


@dataclass
class FileState:
    """An input file as it was when it was opened, and where full reads of it met its end.

    Attributes
    ----------
    size, mtime_ns, inode, device : int
        From ``os.stat`` when the file was opened.
    ends_at : set of int
        Byte offsets (of the file as stored: compressed bytes for ``.gz``) at which a read met
        the end of the file; each is ``size`` unless the file changed during that read.
    """

    size: int
    mtime_ns: int
    inode: int
    device: int
    ends_at: set[int] = field(default_factory=set)

    @classmethod
    def of(cls, st: os.stat_result) -> "FileState":
        """The state ``os.stat`` gave, no read yet."""
        return cls(st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)


def regular_file_stat(path: str | Path) -> os.stat_result:
    """``os.stat`` of ``path``, refusing anything but an existing regular file, without opening it.

    Raises
    ------
    BadInputError
        The path does not exist, is a folder, or is a named pipe, device or socket (reading
        one would wait for ever for data, or never end).
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise BadInputError(f"{path}: no such file") from None
    except OSError as exc:
        raise BadInputError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    if stat.S_ISDIR(st.st_mode):
        raise BadInputError(f"{path}: is a folder; pass the export files inside it")
    if not stat.S_ISREG(st.st_mode):
        kind = (
            "a named pipe (FIFO)" if stat.S_ISFIFO(st.st_mode)
            else "a socket" if stat.S_ISSOCK(st.st_mode)
            else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
            else "not a regular file"
        )
        raise BadInputError(
            f"{path.name}: {kind}, not a file: Frontdoor reads exports saved as files; save it to a file and pass that"
        )
    return st


class _CheckedReader(io.BufferedIOBase):
    """The bytes of an export (decompressed when gzipped), read safely.

    A gzip stream cut short or damaged raises :class:`BadInputError` (the standard library
    raises ``EOFError``, ``zlib.error`` or ``BadGzipFile`` at the point of damage), and each
    time a read meets the end of the file the offset reached is recorded in ``state``.
    """

    def __init__(self, raw: io.BufferedReader, compressed: bool, name: str, state: FileState | None):
        super().__init__()
        self._raw = raw
        self._stream = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
        self._name = name
        self._state = state

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        return self._guard(self._stream.read, -1 if size is None else size)

    def read1(self, size: int = -1) -> bytes:
        return self._guard(self._stream.read1, size)

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            try:
                if self._stream is not self._raw:
                    self._stream.close()
            finally:
                self._raw.close()
        super().close()

    def _guard(self, read, size: int) -> bytes:
        try:
            data = read(size)
        except EOFError:
            raise BadInputError(
                f"{self._name}: cannot be read: the gzip file is cut short (a download or copy that did not "
                "finish); nothing was written; copy or download it again"
            ) from None
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise BadInputError(
                f"{self._name}: cannot be read: the gzip data is damaged ({exc}); nothing was written; "
                "copy or download it again"
            ) from None
        if not data and size != 0 and self._state is not None:
            self._state.ends_at.add(self._raw.tell())
        return data


def _open_checked(path: Path, compressed: bool, state: FileState | None) -> _CheckedReader:
    """Open ``path`` for :class:`_CheckedReader` without ever blocking.

    ``O_NONBLOCK`` makes opening a FIFO that replaced the file since it was checked return at
    once (a regular file ignores the flag); the opened file is then checked to be the one
    ``state`` describes.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise BadInputError(
            f"{path.name} disappeared while it was being read: nothing was written; copy the export somewhere "
            "stable and ingest the copy"
        ) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or (
        state is not None and (st.st_ino, st.st_dev) != (state.inode, state.device)
    ):
        os.close(fd)
        raise BadInputError(
            f"{path.name} changed while it was being read (it was replaced by another file): nothing was "
            "written; copy the export somewhere stable and ingest the copy"
        )
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return _CheckedReader(os.fdopen(fd, "rb"), compressed, path.name, state)


def norm_name(name: object) -> str:
    """Normalise a column name for matching: lower case, letters and digits only."""
    return re.sub(r"[^0-9a-z]", "", str(name).replace("\ufeff", "").lower())


@dataclass
class Source:
    """An input file, opened lazily.

    Attributes
    ----------
    path : pathlib.Path
    kind : str
        ``"text"`` or ``"xlsx"``.
    encoding : str
        Python codec used for text (``"utf-8"``, ``"utf-16"``, ``"cp1252"``...).
    head : str
        The first bytes decoded (text), or the first rows as CSV (xlsx): what sniffers look at.
        A workbook's rows are one line each, a blank row an empty line, so that the head's
        lines are numbered like the sheet's rows and counted like :func:`read_delimited` counts
        them (blank lines do not count as preamble or header).
    sheet : str or None
        The worksheet read (xlsx): ``None`` for the first with data; see :func:`with_sheet`.
    state : FileState or None
        The file as it was opened (shared by the sources :func:`with_sheet` derives), for
        :meth:`check_unchanged`.
    """

    path: Path
    kind: str
    encoding: str
    compressed: bool
    head: str
    sheet: str | None = None
    state: FileState | None = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def stem_name(self) -> str:
        """File name without ``.gz``, lower case: what extension-based hints look at."""
        n = self.path.name.lower()
        return n[:-3] if n.endswith(".gz") else n

    def open_binary(self) -> BinaryIO:
        """Open the (decompressed) bytes.

        A damaged or cut-short gzip stream raises :class:`BadInputError` where the reading
        meets it; each read to the end is recorded for :meth:`check_unchanged`.
        """
        return _open_checked(self.path, self.compressed, self.state)

    def check_unchanged(self) -> None:
        """Raise if the file changed since :func:`open_source` opened it.

        Call it after the last read and before anything read is committed: a file that grew,
        shrank or was rewritten or replaced while it was read gave a mixture of two files
        (typically its first half).

        Raises
        ------
        BadInputError
            Saying how it changed, that nothing was written, and to ingest a stable copy.
        """
        st = self.state
        if st is None:
            return
        try:
            now = os.stat(self.path)
        except OSError:
            what = "it disappeared"
        else:
            what = None
            if (now.st_ino, now.st_dev) != (st.inode, st.device):
                what = "it was replaced by another file"
            elif now.st_size > st.size:
                what = "it grew"
            elif now.st_size < st.size:
                what = "it shrank"
            elif now.st_mtime_ns != st.mtime_ns or any(end != st.size for end in st.ends_at):
                what = "it was rewritten"
        if what:
            raise BadInputError(
                f"{self.name} changed while it was being read ({what}): nothing was written; copy the export "
                "somewhere stable and ingest the copy"
            )

    def head_lines(self, n: int = 50) -> list[str]:
        """The first ``n`` non-empty lines of the head (the last may be cut short)."""
        return [ln for ln in self.head.splitlines() if ln.strip()][:n]

    def iter_utf8_blocks(self, block_bytes: int = BLOCK_BYTES) -> Iterator[bytes]:
        """Yield the text as valid UTF-8 blocks, each ending at a line end (BOM removed)."""
        if self.kind != "text":
            raise BadInputError(f"{self.name}: not a text file")
        if self.encoding in ("utf-8", "utf-8-sig"):
            yield from _split_blocks(self._raw_utf8_blocks(block_bytes))
        else:
            yield from _split_blocks(self._transcoded_blocks(block_bytes))

    def _raw_utf8_blocks(self, block_bytes: int) -> Iterator[bytes]:
        first = True
        pending = b""
        with self.open_binary() as fh:
            while True:
                raw = fh.read(block_bytes)
                if not raw:
                    break
                raw = pending + raw
                pending = b""
                if first:
                    if raw.startswith(codecs.BOM_UTF8):
                        raw = raw[3:]
                    first = False
                # Do not cut a multi-byte character in two.
                cut = len(raw)
                while cut > 0 and cut > len(raw) - 4 and (raw[cut - 1] & 0xC0) == 0x80:
                    cut -= 1
                if cut > 0 and raw[cut - 1] >= 0xC0:
                    cut -= 1
                if cut < len(raw) and cut > 0:
                    raw, pending = raw[:cut], raw[cut:]
                try:
                    raw.decode("utf-8")
                    yield raw
                except UnicodeDecodeError:
                    yield raw.decode("utf-8", errors="frontdoor_cp1252").encode("utf-8")
            if pending:
                yield pending.decode("utf-8", errors="frontdoor_cp1252").encode("utf-8")

    def _transcoded_blocks(self, block_bytes: int) -> Iterator[bytes]:
        errors = "replace" if self.encoding.startswith("utf-16") else "frontdoor_cp1252"
        enc = "cp1252" if self.encoding == "cp1252" else self.encoding
        with self.open_binary() as fh:
            text = io.TextIOWrapper(fh, encoding=enc, errors=errors, newline="")
            first = True
            while True:
                s = text.read(block_bytes // 2)
                if not s:
                    break
                if first:
                    s = s.lstrip("\ufeff")
                    first = False
                yield s.encode("utf-8")

    def read_text(self) -> str:
        """The whole text, decoded (for small JSON documents)."""
        return b"".join(self.iter_utf8_blocks()).decode("utf-8")


def _split_blocks(blocks: Iterator[bytes]) -> Iterator[bytes]:
    """Re-cut blocks so each ends with a newline; normalise CRLF and lone CR to LF."""
    carry = b""
    for b in blocks:
        b = carry + b
        if b"\r" in b:
            keep_cr = b.endswith(b"\r")  # a CRLF may be split across blocks
            b = b.replace(b"\r\n", b"\n")
            if keep_cr:
                b = b[:-1]
            b = b.replace(b"\r", b"\n")
            if keep_cr:
                b = b + b"\r"
        cut = b.rfind(b"\n")
        if cut < 0:
            carry = b
            continue
        carry = b[cut + 1 :]
        yield b[: cut + 1]
    if carry.strip(b"\r"):
        yield carry.replace(b"\r", b"\n") if carry.endswith(b"\n") else carry.rstrip(b"\r")


def _detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    sample = head[:4096]
    if len(sample) >= 4:
        odd_nuls = sample[1::2].count(0)
        even_nuls = sample[0::2].count(0)
        if odd_nuls > len(sample) // 4 and even_nuls < odd_nuls // 8:
            return "utf-16-le"
        if even_nuls > len(sample) // 4 and odd_nuls < even_nuls // 8:
            return "utf-16-be"
    body = head[: max(0, len(head) - 4)]
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # A UTF-8 file with a few stray Windows-1252 bytes (a name pasted from Word) is still
    # UTF-8: read as such, with the stray bytes decoded as cp1252 by the error handler.
    # Only when invalid bytes outnumber valid multi-byte characters is the file cp1252.
    text = body.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ch > "\x7f" and ch != "\ufffd")
    return "utf-8" if good >= bad else "cp1252"


def open_source(path: str | Path) -> Source:
    """Open an export file for sniffing and reading.

    The file's state is kept (:attr:`Source.state`): call :meth:`Source.check_unchanged`
    after the last read, before committing what was read.

    Raises
    ------
    BadInputError
        If the file does not exist, is a folder, a named pipe, a device or a socket (refused
        before anything opens it), is empty, is a gzip cut short or damaged in its head, or is
        a binary format Frontdoor does not read (a zip archive, an empty workbook...).
    """
    path = Path(path)
    state = FileState.of(regular_file_stat(path))
    try:
        with _open_checked(path, False, state) as fh:
            magic = fh.read(4)
        compressed = magic[:2] == b"\x1f\x8b"
        with _open_checked(path, compressed, state) as fh:
            head = fh.read(HEAD_BYTES)
    except OSError as exc:
        raise BadInputError(f"{path.name}: cannot be read ({exc.strerror or exc})") from None
    if not head.strip():
        raise BadInputError(f"{path.name}: the file is empty")
    if head[:4] == b"PK\x03\x04":
        if compressed:
            raise BadInputError(f"{path.name}: a gzipped workbook; unzip it first")
        head = _xlsx_head(path)
        if not head.strip() and not _xlsx_has_cells(path):
            raise BadInputError(f"{path.name}: the workbook is empty (none of its sheets holds a value)")
        return Source(path, "xlsx", "", False, head, state=state)
    if head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise BadInputError(
            f"{path.name}: an old Excel .xls workbook; open it and save as .xlsx or CSV"
        )
    if head[:5] == b"%PDF-":
        raise BadInputError(f"{path.name}: a PDF report, not a data export; download the CSV")
    enc = _detect_encoding(head)
    if enc.startswith("utf-16"):
        text = head.decode(enc if enc != "utf-16" else "utf-16", errors="replace")
    elif enc == "cp1252":
        text = head.decode("cp1252", errors="replace")
    else:
        text = head.decode("utf-8", errors="frontdoor_cp1252")
    text = text.lstrip("\ufeff")
    nul = text.find("\x00")
    if nul >= 0:
        if text[:nul].strip() and not text[nul:].strip("\x00"):
            # Text, then NULs to the end of what was read: a log cut by a crash. The text is
            # read; the NUL run reaches the parser as one bad row.
            text = text[:nul]
        else:
            raise BadInputError(f"{path.name}: binary data, not a text export")
    return Source(path, "text", enc, compressed, text, state=state)


# ----------------------------------------------------------------------------- xlsx


def _cell_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, _dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, _dt.date):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, _dt.time):
        return v.strftime("%H:%M:%S")
    if isinstance(v, _dt.timedelta):
        return str(int(v.total_seconds()))
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _xlsx_rows(path: Path, sheet: str | None = None) -> Iterator[list[str]]:
    """A worksheet's rows as text cells: the one named ``sheet`` (case and surrounding spaces
    ignored), else the first with data."""

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        if _is_plain_zip(path):
            raise BadInputError(
                f"{path.name}: a zip archive, not an Excel workbook; unzip it and pass the files inside"
            ) from None
        raise BadInputError(f"{path.name}: not a readable .xlsx workbook ({type(exc).__name__})") from None
    try:
        if sheet is None:
            ws = next((s for s in wb.worksheets if s.max_row and s.max_row > 1), wb.worksheets[0])
        else:
            found = [n for n in wb.sheetnames if n.strip().lower() == sheet.strip().lower()]
            if not found:
                raise BadInputError(
                    f"{path.name}: no worksheet named {sheet!r} (sheets: {', '.join(wb.sheetnames)})"
                )
            ws = wb[found[0]]
        for row in ws.iter_rows(values_only=True):
            yield [_cell_text(v) for v in row]
    finally:
        wb.close()


def _xlsx_has_cells(path: Path) -> bool:
    """Whether any sheet of the workbook holds a value (reading up to the first that does)."""

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return any(
            any(v is not None and str(v).strip() for v in row)
            for ws in wb.worksheets
            for row in ws.iter_rows(values_only=True)
        )
    finally:
        wb.close()


def _is_plain_zip(path: Path) -> bool:
    """A readable zip without a workbook inside (exports zipped, then named ``.xlsx``)."""
    try:
        with zipfile.ZipFile(path) as z:
            return "xl/workbook.xml" not in z.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _xlsx_head(path: Path, sheet: str | None = None) -> str:
    """The first rows as CSV lines, one line per sheet row; a blank row is an empty line."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    for i, row in enumerate(_xlsx_rows(path, sheet)):
        if any(row):
            w.writerow(row)
        else:
            out.write("\n")
        if i >= 50:
            break
    return out.getvalue()


def with_sheet(source: Source, sheet: str | None) -> Source:
    """The workbook ``source`` reading the worksheet named ``sheet`` (its head re-read).

    A text source, or ``sheet`` ``None`` or already chosen, is returned as it is.

    Raises
    ------
    BadInputError
        The workbook has no such sheet (the message lists those it has).
    """
    if source.kind != "xlsx" or sheet is None or sheet == source.sheet:
        return source
    return replace(source, head=_xlsx_head(source.path, sheet), sheet=sheet)


# ----------------------------------------------------------------------------- delimited


def _dedupe_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        n = n.strip().strip('"').replace("\ufeff", "") or "column"
        if n in seen:
            seen[n] += 1
            n = f"{n}.{seen[n]}"
        else:
            seen[n] = 0
        out.append(n)
    return out


def _frame_from_rows(rows: list[list[str]], names: list[str]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame({n: pd.Series([], dtype="string") for n in names})
    cols = list(zip(*rows))
    return pd.DataFrame({n: pd.array(c, dtype="string") for n, c in zip(names, cols)})


def _drop_blank(frame: pd.DataFrame, lines: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, int]:
    if frame.empty:
        return frame, lines, 0
    # Column by column, only on the rows still blank so far: usually one or two columns decide.
    cand = np.arange(len(frame))
    for c in frame.columns:
        col = frame[c] if len(cand) == len(frame) else frame[c].iloc[cand]
        cand = cand[(col.fillna("").str.strip() == "").to_numpy(dtype=bool)]
        if not len(cand):
            return frame, lines, 0
    blank = np.zeros(len(frame), dtype=bool)
    blank[cand] = True
    n = int(blank.sum())
    if n:
        keep = ~blank
        return frame.loc[keep].reset_index(drop=True), lines[keep], n
    return frame, lines, 0


def _slow_parse(block: bytes, names: list[str], start_line: int, delimiter: str) -> Chunk:
    width = len(names)
    rows: list[list[str]] = []
    lines: list[int] = []
    rejects: list[Reject] = []
    blank = 0
    text = block.decode("utf-8")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    prev = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            rejects.append(Reject(start_line + prev, f"unreadable row ({exc})", ""))
            prev = reader.line_num
            continue
        line = start_line + prev  # the row's first line
        prev = reader.line_num
        if not row or all(not f.strip() for f in row):
            blank += 1
            continue
        if len(row) != width:
            # Trailing empty fields are harmless (a spreadsheet padded the row).
            if len(row) > width and not any(f.strip() for f in row[width:]):
                row = row[:width]
            else:
                rejects.append(
                    Reject(
                        line,
                        f"expected {width} fields, found {len(row)} (truncated, or a different layout)",
                        delimiter.join(row),
                    )
                )
                continue
        rows.append(row)
        lines.append(line)
    return Chunk(_frame_from_rows(rows, names), np.asarray(lines, dtype=np.int64), rejects, blank)


def _fast_parse(block: bytes, names: list[str], start_line: int, delimiter: str) -> Chunk | None:
    bad: list[object] = []

    def handler(row):
        bad.append(row)
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(block),
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 22),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                invalid_row_handler=handler,
                ignore_empty_lines=False,
                newlines_in_values=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    if bad:
        return None
    n = table.num_rows
    if n != block.count(b"\n") + (0 if block.endswith(b"\n") else 1):
        return None  # rows and lines disagree (quoted newline): let the slow path number them
    frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
    lines = np.arange(start_line, start_line + n, dtype=np.int64)
    frame, lines, blank = _drop_blank(frame, lines)
    return Chunk(frame, lines, [], blank)


def _whole_rows(blocks: Iterator[bytes], limit: int) -> Iterator[bytes]:
    """Re-cut line-ended blocks so that none ends inside a quoted field.

    A block cut at a newline that sits inside quotes would split one row in two (the first
    half rejected, the second read as a row). A block with an odd number of quote characters
    ends inside a quoted field: it is cut after the last line end with an even number of
    quotes before it and the rest carried into the next block. A stray quote in the middle
    of an unquoted field (``O"Brien``) also makes the count odd, so the carry is bounded by
    ``limit`` bytes, after which the block is passed on as it is.
    """
    carry = b""
    for b in blocks:
        if carry:
            b = carry + b
            carry = b""
        if b.count(b'"') % 2 == 0 or len(b) > limit:
            yield b
            continue
        cut = 0
        quotes_after = 0
        end = len(b)
        while end > 0:
            nl = b.rfind(b"\n", 0, end)
            quotes_after += b.count(b'"', nl + 1, end)
            if nl < 0:
                break
            if quotes_after % 2:
                cut = nl + 1
                break
            end = nl
        if cut:
            yield b[:cut]
        carry = b[cut:]
    if carry:
        yield carry


def read_header(source: Source, delimiter: str = ",", skip_lines: int = 0) -> list[str]:
    """The header row's field names (after ``skip_lines`` preamble lines), deduplicated."""
    lines = source.head.splitlines()
    lines = [ln for ln in lines if ln.strip()]
    if len(lines) <= skip_lines:
        raise BadInputError(f"{source.name}: no header row")
    row = next(csv.reader([lines[skip_lines]], delimiter=delimiter))
    return _dedupe_names(row)


def read_delimited(
    source: Source,
    names: list[str] | None = None,
    *,
    header: bool = True,
    delimiter: str = ",",
    skip_lines: int = 0,
    skip_after_header: int = 0,
    block_bytes: int = BLOCK_BYTES,
    sheet: str | None = None,
) -> Iterator[Chunk]:
    """Read a delimited export in bounded chunks of string columns.

    Parameters
    ----------
    source : Source
        From :func:`open_source`; ``.xlsx`` workbooks are read row by row the same way.
    names : list of str, optional
        Column names. Required when ``header`` is false; when a header is present and names
        are given, the header is skipped and ``names`` used instead.
    header : bool
        Whether the first row (after ``skip_lines``) is a header.
    delimiter : str
    skip_lines : int
        Preamble lines before the header (report titles).
    skip_after_header : int
        Lines after the header that are not data (Cisco's row of types).
    block_bytes : int
        Bytes per block; memory is bounded by a few blocks whatever the file's size.
    sheet : str, optional
        For a workbook: the worksheet to read, by name (see :func:`with_sheet`); by default
        the source's (the first with data).

    Yields
    ------
    Chunk

    Notes
    -----
    Lines are counted alike in text and workbooks: ``skip_lines`` counts non-blank lines
    (blank ones before the header are passed over, not counted as read), and a row's line is
    its physical line (a workbook's row number), as in :attr:`Source.head`.
    """
    source = with_sheet(source, sheet)
    if header and names is None:
        names = read_header(source, delimiter, skip_lines)
    if names is None:
        raise ValueError("names are required when there is no header")
    names = _dedupe_names(list(names))
    lead = skip_lines + (1 if header else 0) + skip_after_header
    if source.kind == "xlsx":
        yield from _read_xlsx(source, names, lead)
        return
    line = 1
    skipped = 0
    blocks = _whole_rows(source.iter_utf8_blocks(block_bytes), max(4 * block_bytes, 1 << 20))
    for block in blocks:
        if skipped < lead:
            # Drop preamble, header and type rows (leading blank lines do not count).
            while skipped < lead and block:
                nl = block.find(b"\n")
                first, block = (block, b"") if nl < 0 else (block[:nl], block[nl + 1 :])
                line += 1
                if first.strip():
                    skipped += 1
            if not block:
                continue
        nlines = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
        chunk = _fast_parse(block, names, line, delimiter)
        if chunk is None:
            chunk = _slow_parse(block, names, line, delimiter)
        line += nlines
        yield chunk


def _read_xlsx(source: Source, names: list[str], lead: int) -> Iterator[Chunk]:
    width = len(names)
    rows: list[list[str]] = []
    lines: list[int] = []
    rejects: list[Reject] = []
    blank = 0
    skipped = 0
    for i, row in enumerate(_xlsx_rows(source.path, source.sheet), start=1):
        if not any(row):
            # Blank rows among the preamble are passed over, as blank lines of a text file are.
            blank += skipped >= lead
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


def read_lines(source: Source, block_bytes: int = BLOCK_BYTES) -> Iterator[tuple[pa.Array, int]]:
    """Yield ``(lines, first_line_number)``: raw text lines as an Arrow string array.

    For line formats (``queue_log``) that are split by the parser, vectorised.
    """
    line = 1
    for block in source.iter_utf8_blocks(block_bytes):
        arr = pa.array(block.split(b"\n"), type=pa.binary()).cast(pa.string())
        if block.endswith(b"\n"):
            arr = arr.slice(0, len(arr) - 1)
        yield arr, line
        line += len(arr)


# ----------------------------------------------------------------------------- JSON


_RECORD_KEYS = ("value", "records", "Records", "data", "calls", "Calls", "items", "results", "contacts")


def _records_of(obj: object) -> list[dict]:
    if isinstance(obj, list):
        out: list[dict] = []
        for o in obj:
            out.extend(_records_of(o) if isinstance(o, list) else [o] if isinstance(o, dict) else [])
        return out
    if isinstance(obj, dict):
        for k in _RECORD_KEYS:
            if isinstance(obj.get(k), list):
                return [o for o in obj[k] if isinstance(o, dict)]
        return [obj]
    return []


def read_json_records(source: Source, chunk_records: int = 50_000) -> Iterator[tuple[list[dict], list[int], list[Reject]]]:
    """Yield ``(records, line_numbers, rejects)`` from JSON, JSON lines or concatenated objects.

    An object wrapping an array (``{"value": [...]}`` from Microsoft Graph, ``{"calls": [...]}``
    from Twilio) is decoded whole; a top-level array, JSON lines and back-to-back objects (Amazon
    Connect via Kinesis Firehose) are streamed value by value, each record with its own line.
    """
    decoder = json.JSONDecoder()
    # Between values: whitespace, commas, and the brackets of a top-level array, whose
    # elements are then read one by one like JSON lines (bounded memory, exact lines).
    between = re.compile(r"[\s,\[\]]*")
    buf = ""
    pos = 0
    line = 1
    depth = 0  # inside a top-level array: its elements are records as they are
    out: list[dict] = []
    lines: list[int] = []
    rejects: list[Reject] = []
    blocks = (b.decode("utf-8") for b in source.iter_utf8_blocks())
    exhausted = False

    def more() -> None:
        """Append the next block to what is left of the buffer (or note the end of the text)."""
        nonlocal buf, pos, exhausted
        nxt = next(blocks, None)
        if nxt is None:
            exhausted = True
        else:
            buf, pos = buf[pos:] + nxt, 0
    while True:
        # Skip whitespace, counting lines.
        while True:
            m = between.match(buf, pos)
            line += buf.count("\n", pos, m.end())
            depth = max(0, depth + buf.count("[", pos, m.end()) - buf.count("]", pos, m.end()))
            pos = m.end()
            if pos < len(buf) or exhausted:
                break
            more()
        if pos >= len(buf):
            break
        try:
            obj, end = decoder.raw_decode(buf, pos)
        except json.JSONDecodeError as exc:
            # Read on only when the value may just be cut by the block end; an error well
            # before the end is bad data, reported now (else one bad line would make the
            # rest of the file accumulate in memory).
            at_end = exc.pos >= len(buf) - 16 or exc.msg.startswith("Unterminated string")
            if not exhausted and at_end:
                more()
                continue
            # Unparseable value: report it at the line it starts on, then resynchronise at
            # the next line.
            nl = buf.find("\n", pos)
            bad = buf[pos : nl if nl >= 0 else len(buf)]
            rejects.append(Reject(line, f"invalid JSON ({exc.msg})", bad))
            if nl < 0:
                break
            pos = nl
            continue
        if depth and isinstance(obj, dict):
            recs = [obj]
        else:
            recs = _records_of(obj)
        out.extend(recs)
        lines.extend([line] * len(recs) if len(recs) != 1 else [line])
        line += buf.count("\n", pos, end)
        pos = end
        if len(out) >= chunk_records:
            yield out, lines, rejects
            out, lines, rejects = [], [], []
            buf = buf[pos:]
            pos = 0
    if out or rejects:
        yield out, lines, rejects
