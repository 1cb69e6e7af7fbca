"""The report's errors, in a room of their own so that every module of :mod:`reports` can raise
them without importing another (the PDF printer and the week arithmetic alike)."""

from __future__ import annotations

from telephony.errors import FrontdoorError

__all__ = ["ReportError", "ReportDataError"]


class ReportError(FrontdoorError):
    """A report cannot be written (a bad week, no PDF printer); the message says how to fix it."""


class ReportDataError(ReportError, LookupError):
    """The store has nothing to report on: an unknown practice, no calls at all."""
