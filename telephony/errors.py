"""Typed exceptions for Frontdoor.

Library code raises these; only ``cli.py`` turns them into one-line messages for people.
No message may contain a raw phone number: build messages from masked text
(:func:`telephony.privacy.mask_digits`).
"""

from __future__ import annotations


class FrontdoorError(Exception):
    """Base class of every error Frontdoor raises on purpose."""


class UnknownFormatError(FrontdoorError):
    """A file's format could not be recognised, or a format name is not known."""


class AmbiguousFormatError(UnknownFormatError):
    """More than one format fits a file equally well."""


class BadInputError(FrontdoorError):
    """An input file cannot be read at all (missing, empty, not a call log, unreadable)."""


class BadRowsError(FrontdoorError):
    """Rows of an input failed validation.

    Parameters
    ----------
    message : str
        What was wrong, with where.
    rejects : pandas.DataFrame, optional
        The failing rows (``line``, ``reason``, ``text``) with phone digits masked.
    """

    def __init__(self, message: str, rejects=None):
        super().__init__(message)
        self.rejects = rejects


class MappingError(FrontdoorError):
    """A mapping file (TOML) is invalid: a missing key, an unknown outcome word, bad syntax."""


class InvalidPracticeError(FrontdoorError):
    """A practice id is not an ODS-style code (e.g. ``A81001``)."""


class StoreError(FrontdoorError):
    """The store is missing, locked for too long, or damaged."""


class KeyMissingError(StoreError):
    """No pseudonymisation key: neither ``FRONTDOOR_KEY`` nor the store's key file."""


class KeyMismatchError(StoreError):
    """The key in use is not the key the store was created with."""


class StoreDamagedError(StoreError):
    """A file of the store cannot be read (a corrupted partition, manifest or table)."""


class PeriodError(FrontdoorError, ValueError):
    """A week, a date, a period or an interval length that cannot be used."""
