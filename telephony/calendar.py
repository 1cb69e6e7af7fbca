"""Bank holidays of the UK's nations: the one lookup every layer uses.

A practice in England closes on England's bank holidays, one in Scotland on Scotland's (St
Andrew's Day, 2 January), and so on. The dates come from the ``holidays`` package
(``holidays.UK(subdiv=...)``), which includes substitute days and one-off holidays (a
coronation, a state funeral); Prophet's own UK list misses some (FORECASTING.md).

Nations are named as the registry and the CLI name them (``england``, ``scotland``, ``wales``,
``northern-ireland``) or by their ``holidays`` code (``ENG``, ``SCT``, ``WLS``, ``NIR``).
"""

from __future__ import annotations

import datetime as _dt
from functools import lru_cache

import holidays

from .errors import FrontdoorError

#: The nations' codes, as ``holidays.UK(subdiv=...)`` takes them.
NATIONS: tuple[str, ...] = ("ENG", "SCT", "WLS", "NIR")
#: The names people use for them.
NATION_NAMES: dict[str, str] = {"england": "ENG", "scotland": "SCT", "wales": "WLS", "northern-ireland": "NIR"}


class CalendarError(FrontdoorError, ValueError):
    """A nation, opening hours or a closure that cannot be read."""


def nation_code(nation: str) -> str:
    """``ENG``, ``SCT``, ``WLS`` or ``NIR`` for a nation's name or code (any case).

    Raises
    ------
    CalendarError
        For anything else, listing the names.
    """
    text = str(nation).strip()
    code = NATION_NAMES.get(text.lower().replace(" ", "-").replace("_", "-"), text.upper())
    if code not in NATIONS:
        raise CalendarError(
            f"unknown nation {nation!r}: use one of {', '.join(NATION_NAMES)} (or {', '.join(NATIONS)})"
        )
    return code


@lru_cache(maxsize=512)
def _year(nation: str, year: int) -> tuple[tuple[_dt.date, str], ...]:
    """One nation's bank holidays of one year, sorted (cached: the package's lookup is slow)."""
    return tuple(sorted((d, str(n)) for d, n in holidays.UK(subdiv=nation, years=year).items()))


def bank_holidays(nation: str, first: _dt.date, last: _dt.date) -> dict[_dt.date, str]:
    """A nation's bank holidays from ``first`` to ``last`` (both included), with their names.

    Parameters
    ----------
    nation : str
        A name or code (:func:`nation_code`).
    first, last : datetime.date

    Returns
    -------
    dict of date to str
        In date order.

    Examples
    --------
    >>> bank_holidays("england", _dt.date(2026, 4, 1), _dt.date(2026, 4, 30))
    {datetime.date(2026, 4, 3): 'Good Friday', datetime.date(2026, 4, 6): 'Easter Monday'}
    """
    code = nation_code(nation)
    first, last = _as_date(first), _as_date(last)
    return {d: n for y in range(first.year, last.year + 1) for d, n in _year(code, y) if first <= d <= last}


def _as_date(value) -> _dt.date:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    return _dt.date.fromisoformat(str(value)[:10])
