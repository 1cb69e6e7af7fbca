"""Section 1, the headline: the week's figures beside the week before and the four weeks before,
and sentences computed from them.

Definitions
-----------
- *Calls*: every inbound call attempt (``inbound_total`` of :func:`demand.queue.queue_metrics`).
- *People who rang*: callers counted once per day each (:func:`demand.callers.caller_metrics_daily`'s
  ``unique_callers``, summed over the week's days): a patient ringing on Monday and Tuesday
  counts twice, one ringing twelve times on Monday once.
- *Answered, call-backs, abandoned*: inbound calls by outcome; *service level*: answered
  within 60 seconds over calls that queued (short abandons under 10 s left out), as
  :func:`~demand.queue.queue_metrics`.
- *Time to get through*: per caller-day, from the first attempt to the moment they were
  answered or accepted a call-back (:func:`~demand.callers.caller_metrics_daily`'s definition);
  the week's median and 90th percentile pool every identified caller-day that got through
  (not an average of daily medians).
- *Same-day capacity used*: same-day slots booked over same-day slots offered
  (:func:`demand.capacity.same_day_exhaustion`).
- *The four weeks before*: the four weeks before the reported week; counts are the average
  week, rates and times are pooled over those weeks. Weeks without any call are left out.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from demand.callers import time_to_get_through
from demand.queue import queue_metrics

from reports import text as T
from reports.inputs import COMPARE_WEEKS
from reports.metrics import WeekMetrics

__all__ = ["SERVICE_S", "SHORT_ABANDON_S", "HeadlineFigure", "Headline", "headline"]

SERVICE_S = 60.0
SHORT_ABANDON_S = 10.0
_QUEUE_COUNTS = [
    "inbound_total", "answered", "callbacks", "abandoned", "missed", "offered", "short_abandons",
    "answered_within_service",
]


@dataclass
class HeadlineFigure:
    """One headline number beside its comparisons.

    ``kind`` says how to read it: ``count`` (a week's total), ``share`` (a fraction) or
    ``seconds``. ``previous`` is the week before; ``average`` the four weeks before (an
    average week for counts, pooled for shares and times); ``None`` when unknown.
    """

    key: str
    label: str
    kind: str
    value: float | None
    previous: float | None
    average: float | None
    help: str = ""


@dataclass
class Headline:
    """The week at a glance: figures, sentences, notes.

    Attributes
    ----------
    figures : list of HeadlineFigure
        Keys ``calls, people, answered, callbacks, abandoned, service_level, ttg_p50_s,
        ttg_p90_s, same_day_used``.
    sentences : list of str
        Plain-English statements computed from the numbers.
    busiest_hour : dict or None
        ``date, hour, attempts, new_callers, ttg_p50_s, ttg_p90_s`` of the hour with most
        attempts (people: callers whose first attempt of the day fell in the hour; times
        over those of them who got through).
    monday_hour : dict or None
        The same for Monday's busiest hour, when the week's busiest hour was not on Monday.
    average_weeks : int
        Weeks (of the four before) that had calls.
    notes : list of str
    """

    figures: list[HeadlineFigure]
    sentences: list[str]
    busiest_hour: dict | None
    average_weeks: int
    notes: list[str] = field(default_factory=list)
    monday_hour: dict | None = None
    other: dict = field(default_factory=dict)  # the week's further counts the sentences use (``missed``)

    def figure(self, key: str) -> HeadlineFigure:
        for f in self.figures:
            if f.key == key:
                return f
        raise KeyError(key)


def _week_index(dates: pd.Series, start: _dt.date) -> np.ndarray:
    """Whole weeks from ``start`` to each local date (or tz-aware local start) of ``dates``."""
    d = pd.DatetimeIndex(dates)
    if d.tz is not None:
        d = d.tz_localize(None)  # the local wall-clock day, whatever the offset
    return np.asarray((d.normalize() - pd.Timestamp(start)).days // 7, dtype="int64")


def _times_to_get_through(prep, tz: str, start: _dt.date, n_weeks: int) -> dict:
    """Median and 90th percentile time to get through, pooled per week (and over the first
    ``n_weeks - 1`` weeks), by :func:`demand.callers.time_to_get_through`.

    Returns ``{"p50": array, "p90": array, "n": array}`` of length ``n_weeks + 1`` (the last
    entry pools weeks ``0 .. n_weeks - 2``: the weeks before).
    """

    def week(i: int) -> _dt.date:
        return start + _dt.timedelta(weeks=i)

    periods = [(week(i), week(i + 1)) for i in range(n_weeks)] + [(week(0), week(n_weeks - 1))]
    got = [time_to_get_through(prep, tz, a.isoformat(), b.isoformat()) for a, b in periods]
    return {
        "p50": np.array([g["median"] for g in got]),
        "p90": np.array([g["p90"] for g in got]),
        "n": np.array([g["n"] for g in got], dtype="int64"),
    }


def _hour_facts(prep, tz: str, row) -> dict:
    """An hour of the week: its attempts, new callers and how fast those got through."""
    day = pd.Timestamp(row["date"]).date()
    at = pd.Timestamp(day) + pd.Timedelta(hours=int(row["hour"]))
    t = time_to_get_through(prep, tz, at, at + pd.Timedelta(hours=1))
    through = t["n"]
    return {
        "date": day,
        "hour": int(row["hour"]),
        "attempts": int(row["attempts"]),
        "new_callers": int(row["new_callers"]),
        "ttg_p50_s": t["median"] if through else None,
        "ttg_p90_s": t["p90"] if through else None,
        "got_through": through,
    }


def headline(m: WeekMetrics) -> Headline:
    """The headline of a measured week (figures, busiest hours, sentences, notes)."""
    tz, w0 = m.tz, m.window
    n_w = COMPARE_WEEKS + 1
    has_calls, has_slots = m.has_calls, m.has_slots
    if m.prepared is not None:
        qw = queue_metrics(m.prepared, "W", short_abandon_s=SHORT_ABANDON_S, service_s=SERVICE_S, tz=tz, start=m.start,
                           end=m.end)
        ttg = _times_to_get_through(m.prepared, tz, w0.start, n_w)
    else:
        qw = ttg = None

    def weekly(frame, date_col, cols):
        """Sum ``cols`` of a metric's rows into the window's weeks (0 = four weeks before)."""
        if frame is None or len(frame) == 0:
            return {c: np.zeros(n_w) for c in cols}
        idx = _week_index(frame[date_col], w0.start)
        inside = (idx >= 0) & (idx < n_w)
        return {
            c: np.bincount(idx[inside], weights=frame[c].to_numpy(dtype="float64")[inside], minlength=n_w)
            for c in cols
        }

    q = weekly(qw, "interval_start", _QUEUE_COUNTS)
    dsum = weekly(m.daily, "date", ["unique_callers"])
    sd = weekly(m.exhaustion, "date", ["same_day_released", "same_day_booked"])
    had_calls = q["inbound_total"][:COMPARE_WEEKS] > 0
    had_slots = sd["same_day_released"][:COMPARE_WEEKS] > 0
    n_avg = int(had_calls.sum())

    def trio_count(values, mask=had_calls):
        cur = float(values[COMPARE_WEEKS])
        prev = float(values[COMPARE_WEEKS - 1]) if mask[-1] else None
        avg = float(values[:COMPARE_WEEKS][mask].mean()) if mask.any() else None
        return cur, prev, avg

    def trio_ratio(num, den, mask=had_calls):
        def r(a, b):
            return float(a) / float(b) if b > 0 else None

        cur = r(num[COMPARE_WEEKS], den[COMPARE_WEEKS])
        prev = r(num[COMPARE_WEEKS - 1], den[COMPARE_WEEKS - 1]) if mask[-1] else None
        avg = r(num[:COMPARE_WEEKS][mask].sum(), den[:COMPARE_WEEKS][mask].sum()) if mask.any() else None
        return cur, prev, avg

    queued = q["offered"] - q["short_abandons"]
    figures = []

    def add(key, label, kind, trio, help_text):
        cur, prev, avg = trio
        if not has_calls:  # a week without a single call is missing data, not a quiet week
            cur = None
        figures.append(HeadlineFigure(key, label, kind, cur, prev, avg, help_text))

    add("calls", "Calls", "count", trio_count(q["inbound_total"]), "every inbound call attempt, whatever happened to it")
    add("people", "People who rang", "count", trio_count(dsum["unique_callers"]),
        "callers counted once a day each (a withheld number counts every time)")
    add("answered", "Answered", "count", trio_count(q["answered"]), "calls a person answered")
    add("callbacks", "Call-backs", "count", trio_count(q["callbacks"]), "calls that accepted a call-back offer")
    add("abandoned", "Abandoned", "count", trio_count(q["abandoned"]), "callers who hung up while queuing")
    add("service_level", "Answered within 60 s", "share", trio_ratio(q["answered_within_service"], queued),
        "share of queued calls answered within 60 seconds (hang-ups within 10 s left out)")
    if ttg is not None:
        def trio_t(key):
            v = ttg[key]
            cur = None if ttg["n"][COMPARE_WEEKS] == 0 else float(v[COMPARE_WEEKS])
            prev = None if not had_calls[-1] or ttg["n"][COMPARE_WEEKS - 1] == 0 else float(v[COMPARE_WEEKS - 1])
            avg = None if ttg["n"][n_w] == 0 else float(v[n_w])
            return cur, prev, avg
        t50, t90 = trio_t("p50"), trio_t("p90")
    else:
        t50 = t90 = (None, None, None)
    add("ttg_p50_s", "Time to get through: median", "seconds", t50,
        "from a caller's first attempt of the day to being answered or offered a call-back")
    add("ttg_p90_s", "Time to get through: 9 in 10 within", "seconds", t90, "the 90th percentile of the same")
    figures.append(
        HeadlineFigure(
            "same_day_used", "Same-day capacity used", "share",
            *trio_ratio(sd["same_day_booked"], sd["same_day_released"], had_slots),
            help="same-day slots booked of those offered",
        )
    )
    if not has_slots:
        figures[-1].value = None

    # ---- the week's busiest hours ---------------------------------------------------------
    wk_hourly = m.week_hourly
    busiest = monday = None
    if has_calls and wk_hourly is not None and wk_hourly["attempts"].sum() > 0:
        ranked = wk_hourly.sort_values(["attempts", "interval_start"], ascending=[False, True], kind="stable")
        busiest = _hour_facts(m.prepared, tz, ranked.iloc[0])
        # NHS England's advice starts with Mondays: say how Monday's peak went too
        mondays = ranked[(pd.to_datetime(ranked["date"]).dt.day_of_week == 0).to_numpy() & (ranked["attempts"] > 0).to_numpy()]
        if len(mondays) and busiest["date"].weekday() != 0:
            monday = _hour_facts(m.prepared, tz, mondays.iloc[0])
    notes: list[str] = []
    h = Headline(figures, [], busiest, n_avg, notes, monday, {"missed": float(q["missed"][COMPARE_WEEKS])})
    _sentences(h, m)
    if not has_calls:
        notes.append(_no_calls_note(m))
    elif n_avg < COMPARE_WEEKS:
        notes.append(
            f"Only {T.plural(n_avg, 'week')} of the four before had calls in the store: the comparison averages "
            f"{'those' if n_avg else 'nothing'}."
        )
    if m.week_holidays:
        names = "; ".join(f"{T.day_label(d)} ({n})" for d, n in sorted(m.week_holidays.items()))
        notes.append(
            f"This week had a bank holiday: {names}. The practice was closed, so the week's totals are lower than a "
            "normal week's, and the day after usually surges like a Monday."
        )
    return h


def _no_calls_note(m: WeekMetrics) -> str:
    manifest, week = m.inputs.manifest, m.week
    cover = ""
    if len(manifest):
        c = manifest[manifest["table"].astype(str) == "calls"]
        if len(c):
            lo = c["first_utc"].min().tz_convert(m.tz).date()
            hi = c["last_utc"].max().tz_convert(m.tz).date()
            cover = f" Its calls in the store run from {T.day_label(lo)} {lo.year} to {T.day_label(hi)} {hi.year}."
    return (
        f"No calls of {m.practice_id} in the store for {T.date_range(week.start, week.last)}: there is nothing to "
        f"measure this week.{cover} Ingest the week's call export ('frontdoor ingest calls') or report on another week."
    )


def _sentences(h: Headline, m: WeekMetrics) -> None:
    week = m.week
    f = {x.key: x for x in h.figures}
    out = h.sentences
    if m.has_calls:
        calls, people = f["calls"], f["people"]
        comp = []
        if calls.previous is not None:
            comp.append(f"{_more_less(calls.value, calls.previous)} the week before")
        if calls.average is not None:
            before = "four weeks" if h.average_weeks == COMPARE_WEEKS else T.plural(h.average_weeks, "week")
            comp.append(f"{_more_less(calls.value, calls.average)} the average of the {before} before")
        s = (
            f"In the week of {T.date_range(week.start, week.last)} the practice had "
            f"{T.plural(int(calls.value), 'call')} from {T.count(people.value)} people (each counted once a day)"
        )
        out.append(s + (": " + " and ".join(comp) if comp else "") + ".")
        for b, lead in ((h.busiest_hour, " was the busiest hour"), (h.monday_hour, "")):
            if b is None:
                continue
            s = (
                f"{T.WEEKDAYS[b['date'].weekday()]} {T.hour_range(b['hour'])}{lead}: "
                f"{T.plural(b['attempts'], 'attempt')} from {T.plural(b['new_callers'], 'person', 'people')} ringing "
                "for the first time that day"
            )
            if b["ttg_p50_s"] is not None:
                s += (
                    f"; half of those who got through did so {_within(b['ttg_p50_s'])}, "
                    f"and 9 in 10 {_within(b['ttg_p90_s'])}"
                )
            out.append(s + ".")
        tot = calls.value or 0
        if tot:
            parts = [f"{T.share(f['answered'].value / tot)} of calls were answered"]
            counts = {
                "accepted a call-back": f["callbacks"].value,
                "hung up while queuing": f["abandoned"].value,
                # ended by the system (timeout, nobody free); some suppliers log hang-ups so too
                "went unanswered otherwise": h.other.get("missed", 0.0),
            }
            parts += [f"{T.share(n / tot)} {words}" for words, n in counts.items() if n]
            listed = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
            out.append(
                f"{listed}; {T.share(f['service_level'].value)} of queued calls were answered within 60 seconds."
            )
        t50, t90 = f["ttg_p50_s"], f["ttg_p90_s"]
        if t50.value is not None:
            out.append(
                f"Across the week, counting from their first attempt of the day, half of the people who got "
                f"through did so {_within(t50.value)}, and 9 in 10 {_within(t90.value)}"
                + (f" (the week before: {_within(t90.previous)})" if t90.previous is not None else "")
                + "."
            )
    ex = m.exhaustion
    if m.has_slots and ex is not None and len(ex):
        used = f["same_day_used"]
        wk = m.in_week(ex)
        released, booked = int(wk["same_day_released"].sum()), int(wk["same_day_booked"].sum())
        s = f"Same-day appointments: {T.count(booked)} of {T.count(released)} booked ({T.share(used.value)})"
        ran_out = wk[wk["exhausted"].to_numpy(dtype=bool)]
        days_with = int((wk["same_day_released"] > 0).sum())
        if len(ran_out):
            at = ran_out["exhausted_at"].dropna()
            s += f"; they ran out on {len(ran_out)} of {T.plural(days_with, 'day')}"
            if len(at):
                first = at.min()
                s += f", the earliest at {first.strftime('%H:%M')} on {T.WEEKDAYS[first.weekday()]}"
        out.append(s + ".")


def _within(seconds) -> str:
    """``within 14 minutes``, ``within 40 seconds``, ``at once``: :func:`reports.text.wait`,
    the rounding of the table's cells (:func:`reports.text.wait_short`), so the two agree."""
    if seconds is None or T.missing(seconds):
        return "within an unknown time"
    return T.wait(seconds)


def _more_less(value, reference) -> str:
    if value is None or reference is None or reference == 0:
        return "no comparison with"
    d = (float(value) - float(reference)) / float(reference)
    if abs(d) < 0.005:
        return "about the same as"
    return f"{T.share(abs(d))} {'more than' if d > 0 else 'fewer than'}"
