"""Telling extensions from external numbers, for parsers of call-detail records (CDRs).

CDR exports (FreeSWITCH, Cisco Unified CM, Avaya IP Office) say who called whom but rarely
say, as a word, whether a party was inside the practice. The length of the number does: a
desk phone is a 2–6 digit extension, anything from the public network has 7 or more digits
(``07700 900123``, ``+447700900123``, ``447700900123``). These helpers work on whole columns.
"""

from __future__ import annotations

import pandas as pd

# Separators phone numbers are written with; removed before counting digits.
_SEPARATORS = r"[\s\-().\u00a0/]"
# An outside-line access code (``9``) in front of a UK national number, as PBXs record the
# digits a user dialled (``907700900123``). Stripped so the number pseudonymises like the
# same number written elsewhere.
_ACCESS_CODE_UK = r"^9(?=0\d{9,10}$)"


def clean_number(values: pd.Series) -> pd.Series:
    """Numbers with separators removed and ``+`` kept; ``""`` for missing."""
    return values.astype("string").fillna("").str.strip().str.replace(_SEPARATORS, "", regex=True)


def is_external(values: pd.Series, min_digits: int = 7) -> pd.Series:
    """True where a value is a public-network number (at least ``min_digits`` digits)."""
    s = clean_number(values).str.lstrip("+")
    return (s.str.fullmatch(r"\d+") & (s.str.len() >= min_digits)).fillna(False).astype(bool)


def is_extension(values: pd.Series) -> pd.Series:
    """True where a value is a short internal extension (2–6 digits)."""
    return clean_number(values).str.fullmatch(r"\d{2,6}").fillna(False).astype(bool)


def strip_access_code(values: pd.Series) -> pd.Series:
    """Remove a leading outside-line ``9`` from dialled UK national numbers."""
    s = values.astype("string")
    return s.str.replace(_ACCESS_CODE_UK, "", regex=True)
