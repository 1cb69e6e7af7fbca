"""Section 6, data quality: what the numbers rest on. Days without calls, usually busy hours
without any, the ingests covering the week (rejected rows, outcome words not known), the lines
the calls came in on."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from telephony.privacy import mask_digits

from reports import text as T
from reports.inputs import COMPARE_WEEKS, local_midnight_utc
from reports.metrics import WeekMetrics

__all__ = ["GAP_MIN_USUAL", "DataQuality", "data_quality"]

#: An open hour with no call is reported as a likely gap when the same hour of the same
#: weekday averaged at least this many calls over the four weeks before.
GAP_MIN_USUAL = 8.0
_INGEST_COLUMNS = ["table", "file", "format", "rows_read", "written", "duplicates", "rejected", "unknown_words"]


@dataclass
class DataQuality:
    """What the numbers rest on.

    Attributes
    ----------
    days : pandas.DataFrame
        ``date, calls, slots, status`` for each day of the week: ``open``, ``closed``
        (outside the opening days), ``bank holiday: <name>``, or ``no calls`` (an open day
        without any call: probably missing data).
    gaps : list of str
        Open hours without a call that usually have several (probably missing data).
    ingests : pandas.DataFrame
        Ingests whose data overlaps the week: ``table, file, format, rows_read, written,
        duplicates, rejected, unknown_words`` (file names and words digit-masked).
    lines : pandas.DataFrame
        ``line, calls, share`` of the week's inbound calls.
    notes : list of str
    """

    days: pd.DataFrame
    gaps: list[str]
    ingests: pd.DataFrame
    lines: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def data_quality(m: WeekMetrics) -> DataQuality:
    """What the measured week's numbers rest on."""
    notes: list[str] = []
    days = _days(m)
    missing_days = days[days["status"] == "no calls"]
    if m.has_calls and len(missing_days):
        names = ", ".join(T.day_label(d) for d in missing_days["date"])
        notes.append(
            f"No calls at all on {names}, an opening day: the export probably misses it. The week's totals, the "
            "comparisons and the forecasts treat it as a day without calls."
        )
    gaps = _gaps(m)
    ingests = _ingests(m)
    if len(ingests) and int(ingests["rejected"].sum()):
        notes.append(
            f"{T.plural(int(ingests['rejected'].sum()), 'row')} of the files covering this week were rejected at ingest "
            "(the reasons are in the store's rejects folder, phone digits masked)."
        )
    if len(ingests) and (ingests["unknown_words"].str.len() > 0).any():
        notes.append(
            "Some exports used outcome words Frontdoor does not know (listed below): those calls were kept with "
            "an assumed outcome. Check them, or add them to the format's mapping."
        )
    lines, note = _lines(m)
    if note:
        notes.append(note)
    return DataQuality(days, gaps, ingests, lines, notes)


def _days(m: WeekMetrics) -> pd.DataFrame:
    """Each day of the week: its calls, its slots and whether it was open."""
    cal, inp = m.calendar, m.inputs
    calls_by_day = {}
    if m.daily is not None and len(m.daily):
        for d, a in zip(pd.to_datetime(m.daily["date"]).dt.date, m.daily["attempts"]):
            calls_by_day[d] = int(a)
    slots_by_day = {}
    if len(inp.slots):
        slots_by_day = inp.slots["start_utc"].dt.tz_convert(m.tz).dt.date.value_counts().to_dict()
    open_days = {d for d in range(7) if cal is None or cal.hours.spans[d]}
    rows = []
    for d in m.week.days:
        n = calls_by_day.get(d, 0)
        if d in m.week_holidays:
            status = f"bank holiday: {m.week_holidays[d]}"
        elif d.weekday() not in open_days:
            status = "closed"
        elif n == 0:
            status = "no calls"
        else:
            status = "open"
        rows.append({"date": d, "calls": n, "slots": int(slots_by_day.get(d, 0)), "status": status})
    return pd.DataFrame(rows)


def _gaps(m: WeekMetrics) -> list[str]:
    """Open hours of the week without a call that usually have several."""
    hourly, cal, week = m.hourly, m.calendar, m.week
    gaps: list[str] = []
    if hourly is None or not len(hourly) or cal is None:
        return gaps
    h = hourly.assign(day=pd.to_datetime(hourly["date"]).dt.date)
    h = h[~h["day"].isin(list(m.week_holidays))]
    h = h.assign(weekday=pd.to_datetime(h["date"]).dt.day_of_week)
    before = h[h["day"] < week.start]
    usual = before.groupby(["weekday", "hour"])["attempts"].sum() / max(1, COMPARE_WEEKS)
    cur = h[(h["day"] >= week.start) & (h["day"] <= week.last)]
    ds = pd.DatetimeIndex(pd.to_datetime(cur["interval_start"]).dt.tz_localize(None))
    closed = cal.closed(ds, "h") if len(ds) else np.zeros(0, dtype=bool)
    day_calls = cur.groupby("day")["attempts"].transform("sum").to_numpy()
    for (_i, r), shut, dc in zip(cur.iterrows(), closed, day_calls):
        u = float(usual.get((r["weekday"], r["hour"]), 0.0))
        if not shut and r["attempts"] == 0 and u >= GAP_MIN_USUAL and dc > 0:
            gaps.append(
                f"{T.day_label(r['day'])} {T.clock(r['hour'])}{T.DASH}{T.clock((r['hour'] + 1) % 24)}: "
                f"no calls (usually about {T.count(u)})"
            )
    return gaps


def _ingests(m: WeekMetrics) -> pd.DataFrame:
    """The ingests whose data overlaps the week, file names and words digit-masked."""
    manifest = m.inputs.manifest
    if not len(manifest):
        return pd.DataFrame(columns=_INGEST_COLUMNS)
    lo, hi = local_midnight_utc(m.week.start, m.tz), local_midnight_utc(m.week.end, m.tz)
    over = manifest[(manifest["first_utc"] < hi) & (manifest["last_utc"] >= lo)]
    return pd.DataFrame(
        {
            "table": over["table"].astype(str).to_numpy(),
            "file": [mask_digits(x) for x in over["file_name"].astype(str)],
            "format": over["format"].astype(str).to_numpy(),
            "rows_read": over["rows_read"].to_numpy(),
            "written": over["written"].to_numpy(),
            "duplicates": over["duplicates"].to_numpy(),
            "rejected": over["rejected"].to_numpy(),
            "unknown_words": [mask_digits(x) if isinstance(x, str) else "" for x in over["unknown_words"]],
        }
    )


def _lines(m: WeekMetrics) -> tuple[pd.DataFrame, str | None]:
    """The week's inbound calls per line, and a note when the export looks queue-only."""
    c = m.inputs.calls
    if not len(c):
        empty = {"line": pd.Series([], dtype=str), "calls": pd.Series([], dtype="int64"), "share": pd.Series([], dtype=float)}
        return pd.DataFrame(empty), None
    wk = c[(c["start_utc"] >= local_midnight_utc(m.week.start, m.tz)) & (c["direction"].astype(str) == "inbound")]
    line = wk["line"].astype(object).where(wk["line"].notna(), "unknown")
    vc = line.value_counts()
    lines = pd.DataFrame({"line": vc.index.astype(str), "calls": vc.to_numpy(dtype="int64")})
    total = lines["calls"].sum()
    lines["share"] = lines["calls"] / total if total else np.nan
    note = None
    if len(wk) and not set(wk["outcome"].astype(str)) & {"closed", "ivr_abandoned"}:
        fmts = ", ".join(sorted(set(wk["source_format"].astype(str))))
        note = (
            f"The phone system's export ({fmts}) recorded no calls outside opening hours and no hang-ups in the "
            "phone menu: it may log only calls that reached a queue, so calls here count those."
        )
    return lines, note
