"""Accountability from the store: ``frontdoor staff --replay N``.

:func:`forecasting.outlook.replay_weeks` does the work on frames already read (for each week,
the rota from the data *before* it, played against that week's actual callers in the queue
simulation with redials, beside what actually happened); :func:`replay_store` reads what it
needs from the store, as ``frontdoor staff`` does.
"""

from __future__ import annotations

import datetime as _dt
from typing import Mapping

import pandas as pd

from demand.appointments.schema import read_appointments
from telephony.store import validate_practice_id
from telephony.timeutil import DEFAULT_TZ, parse_week

from forecasting.calendar import Calendar
from forecasting.outlook import REDIAL_SEEDS, STAFF_HISTORY_WEEKS, Replay, replay_weeks
from forecasting.pipeline import PlanError, Progress, _say
from forecasting.planning.rota import ShiftRules
from forecasting.series import calendars_from_registry
from telephony.practices import read_practices

__all__ = ["replay_store"]


def replay_store(
    store,
    practice: str,
    n: int,
    before_week: str,
    model: str = "auto",
    headcount: Mapping[int, int] | None = None,
    shift_rules: ShiftRules | None = None,
    targets: Mapping[str, float | None] | None = None,
    seeds: int = REDIAL_SEEDS,
    progress: Progress | None = None,
) -> Replay:
    """:func:`replay_weeks` of the ``n`` weeks before ISO week ``before_week``, read from the store.

    Raises
    ------
    PlanError
        A bad week.
    """
    practice = validate_practice_id(practice)
    monday = pd.Timestamp(parse_week(before_week)).date()
    last = monday - _dt.timedelta(weeks=1)
    first = last - _dt.timedelta(weeks=int(n) - 1 + 1 + STAFF_HISTORY_WEEKS)
    tz = DEFAULT_TZ
    lo, hi = pd.Timestamp(first).tz_localize(tz), pd.Timestamp(monday).tz_localize(tz)
    _say(progress, f"reading {practice}'s calls from {first}")
    calls = store.read_calls([practice], lo, hi)
    if not len(calls):
        raise PlanError(f"No calls of {practice} in the {n} weeks before {before_week}: pick a `week` after the data.")
    slots = read_appointments(store, [practice], lo, hi)
    reg = read_practices(store)
    rows = reg[reg["practice_id"].astype(str) == practice] if len(reg) else reg
    cals = calendars_from_registry(rows) if len(rows) else {}
    return replay_weeks(practice, calls, slots, cals.get(practice, Calendar()), last, n, model, headcount, shift_rules,
                        targets, seeds, tz, history_weeks=STAFF_HISTORY_WEEKS, progress=progress)
