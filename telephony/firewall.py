"""The privacy firewall: the one check every value passes before Frontdoor writes or prints it.

Parsers decide what a vendor's columns mean; they cannot be trusted to know every place a phone
number hides (a dialled number in a "line" column, a DID in a queue name, a number in a file
name, a vendor word that is really a number). So the store boundary checks every string value
itself, whatever the format:

- ``line`` values (the practice's lines, queues and IVR branches) that hold a phone number
  become a stable keyed label, ``line-3f9a2c``: the same number in any spelling gives the same
  label under the store's key, and the practice can name it (``frontdoor store lines``);
- a number anywhere else (a free-text column, a file name, a message) is masked digit by digit,
  dates and clock times kept readable;
- keyed columns (pseudonyms, source ids, ingest ids) pass as they are: they are hashes, or the
  source's own call id, which is never a number field of its own row.

Every writer goes through here: the ingest's commit (:func:`guard_table`), rejects and the
manifest (:func:`mask_text`), and every table the CLI prints or writes as CSV
(:func:`guard_frame`, :func:`neutralise_csv`).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from telephony.privacy import mask_digits, normalise_number

#: Prefix of a keyed line label.
LINE_LABEL_PREFIX = "line-"
LINE_LABEL_HEX = 6

# A cheap Arrow (RE2) test for "may hold a phone number": seven or more digits, each separated
# from the next by at most four separators (spaces of any kind, - ( ) . /). Values it picks are
# then looked at in Python (mask_digits keeps dates and clock times).
_MAYBE_NUMBER_RE2 = r"\d(?:[\s\x{00A0}\x{2007}\x{202F}\-()./]{0,4}\d){6,}"
# The digit runs a line label is keyed on (mask_digits finds the same runs).
_RUN = re.compile(r"\+?\d(?:[^\S\r\n]{0,4}|[\-()./]{0,4})(?:\d(?:[^\S\r\n]{0,4}|[\-()./]{0,4})){5,}\d")

#: Columns that pass the firewall unchanged: pseudonyms and ids (hashes, or the source's own
#: call id), the practice code and Frontdoor's own format names.
KEYED_SUFFIXES: tuple[str, ...] = ("_key", "_id")
KEYED_COLUMNS: frozenset[str] = frozenset({"source_format", "row_key", "file_sha256", "format"})

# Spreadsheet programs run a text cell that starts with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def has_number(text: object) -> bool:
    """Whether ``text`` holds a phone-number-like run of digits (however spelt)."""
    if text is None or (isinstance(text, float) and text != text):
        return False
    s = str(text)
    return mask_digits(s) != s


def mask_text(text: object) -> str:
    """``text`` with every phone-number-like digit run masked (see :func:`~telephony.privacy.mask_digits`)."""
    return mask_digits(text)


def line_label(value: object, key: bytes) -> object:
    """A line value as it may be stored: unchanged, or a keyed label when it holds a number.

    The label is keyed on the number(s) in the value normalised to E.164, so ``01632 960001``,
    ``+441632960001`` and ``Main 01632-960001`` give one label, and nobody without the key can
    tell which number it was.
    """
    if not has_number(value):
        return value
    runs = [normalise_number(m.group(0)) or m.group(0) for m in _RUN.finditer(str(value))]
    basis = "|".join(runs) if runs else re.sub(r"\D", "", str(value))
    digest = hmac.digest(key, ("line:" + basis).encode("utf-8"), "sha256").hex()
    return LINE_LABEL_PREFIX + digest[:LINE_LABEL_HEX]


def is_line_label(value: object) -> bool:
    """Whether ``value`` is a keyed line label made by :func:`line_label`."""
    return isinstance(value, str) and bool(re.fullmatch(LINE_LABEL_PREFIX + r"[0-9a-f]{%d}" % LINE_LABEL_HEX, value))


def is_keyed(column: str) -> bool:
    """Whether a column holds pseudonyms or ids that pass the firewall unchanged."""
    return column in KEYED_COLUMNS or column.endswith(KEYED_SUFFIXES)


def _guard_array(arr: pa.Array, fn) -> pa.Array:
    """Apply ``fn`` to the distinct values of a string array that may hold a number."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if len(arr) == 0 or arr.null_count == len(arr):
        return arr
    # Looked for among the distinct values: a column of queue names or outcome words holds a
    # handful of them, so the pattern runs a few times, not once per row.
    maybe = pc.match_substring_regex(pc.unique(arr), _MAYBE_NUMBER_RE2)
    if not pc.any(pc.fill_null(maybe, False)).as_py():
        return arr
    enc = pc.dictionary_encode(arr)
    values = enc.dictionary.to_pylist()
    out = [fn(v) if v is not None and has_number(v) else v for v in values]
    return pa.array(out, pa.string()).take(enc.indices)


def guard_table(table: pa.Table, key: bytes, label_columns: Iterable[str] = ("line",)) -> pa.Table:
    """The firewall at the store boundary: a table as it may be written.

    Parameters
    ----------
    table : pyarrow.Table
        Canonical rows about to be committed.
    key : bytes
        The store's key (line labels are keyed).
    label_columns : iterable of str
        Columns whose number-bearing values become keyed labels (:func:`line_label`); every
        other string column outside the keyed ones (:func:`is_keyed`) has numbers masked.

    Returns
    -------
    pyarrow.Table
        Same schema; only values holding a phone-number-like run are changed.
    """
    labels = set(label_columns)
    for i, f in enumerate(table.schema):
        if not pa.types.is_string(f.type) or is_keyed(f.name):
            continue
        fn = (lambda v: line_label(v, key)) if f.name in labels else mask_digits
        col = _guard_array(table.column(i), fn)
        if col is not table.column(i):
            table = table.set_column(i, f, col)
    return table


def guard_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A table as it may be printed or written for people: numbers masked in text columns.

    Keyed columns (:func:`is_keyed`) pass; numeric columns are numbers, not phone numbers.
    """
    out = df
    for c in df.columns:
        s = df[c]
        if is_keyed(str(c)) or not (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
            continue
        vals = s.dropna()
        strs = vals[vals.map(lambda v: isinstance(v, str))]
        bad = strs[strs.map(has_number)]
        if len(bad):
            if out is df:
                out = df.copy()
            out.loc[bad.index, c] = bad.map(mask_digits)
    return out


def neutralise_csv(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula, made inert with a leading ``'``.

    Only text cells: a number (``-5``) stays a number. Every CSV Frontdoor writes (rejects,
    ``--format csv``) goes through this.
    """
    out = df
    for c in df.columns:
        s = df[c]
        if not (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
            continue
        vals = s.dropna()
        strs = vals[vals.map(lambda v: isinstance(v, str))]
        risky = strs[strs.map(_is_formula)]
        if len(risky):
            if out is df:
                out = df.copy()
            out[c] = out[c].astype(object)
            out.loc[risky.index, c] = "'" + risky
    return out


def _is_formula(text: str) -> bool:
    if not text.startswith(_FORMULA_START):
        return False
    try:
        float(text)
    except ValueError:
        return True
    return False  # a signed number, not a formula
