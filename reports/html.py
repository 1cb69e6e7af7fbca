"""The weekly report as one self-contained HTML page.

Everything is inside the file: CSS inline, charts as PNG data URIs, no script, no font or
image fetched from anywhere, so it opens offline, travels as an e-mail attachment and prints
on A4 (``@page`` rules; sections avoid breaking inside a chart or a table). Every piece of
text that comes from data is escaped.

Headline figures carry their values as ``data-key`` / ``data-value`` attributes (unrounded),
so tools and tests can read the numbers the page shows without parsing formatted text.
"""

from __future__ import annotations

import html as _html
import math

import numpy as np
import pandas as pd

from forecasting.planning.rota import headcount_words
from forecasting.planning.peak_pressure import GP_CONTACTS_PER_DAY, MIN_ROLE_SHARE

from reports import text as T
from reports.charts import Chart, weekly_charts

__all__ = ["render_weekly_html", "CSS"]

CSS = """
:root { --ink: #1b1b1b; --muted: #5a5a5a; --rule: #d6d6d6; --band: #f3f5f8; --accent: #0072B2; --warn: #8a4b00; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { font-family: "Segoe UI", "Helvetica Neue", Arial, "Liberation Sans", sans-serif; color: var(--ink);
       font-size: 10.5pt; line-height: 1.45; margin: 0 auto; max-width: 190mm; padding: 14px 18px 32px; }
header { border-bottom: 2px solid var(--accent); padding-bottom: 6px; margin-bottom: 10px; }
header h1 { font-size: 17pt; margin: 0 0 2px; }
header p { margin: 0; color: var(--muted); }
h2 { font-size: 13pt; margin: 22px 0 6px; border-bottom: 1px solid var(--rule); padding-bottom: 2px; break-after: avoid; }
h3 { font-size: 11pt; margin: 14px 0 4px; break-after: avoid; }
p { margin: 4px 0 8px; }
ul.sentences { margin: 6px 0 10px; padding-left: 18px; }
ul.sentences li { margin-bottom: 3px; }
.note { background: #fff6e5; border-left: 3px solid #e69f00; padding: 4px 8px; color: var(--warn); margin: 6px 0; }
.method { color: var(--muted); font-size: 9pt; }
figure { margin: 6px 0 12px; break-inside: avoid; }
figure img { display: block; width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 9pt; margin-top: 2px; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 12px; font-size: 9pt; break-inside: auto; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
th, td { padding: 3px 6px; border-bottom: 1px solid var(--rule); text-align: right; vertical-align: top; }
th { background: var(--band); font-weight: 600; }
th:first-child, td:first-child, td.text, th.text { text-align: left; }
td.text { overflow-wrap: anywhere; }
td:first-child { white-space: nowrap; }
td.small.num, td.num.value { white-space: nowrap; }
td.num { font-variant-numeric: tabular-nums; }
td.small, span.small { color: var(--muted); font-size: 8.5pt; }
table.headline td.value { font-weight: 700; font-size: 10.5pt; }
table.rota td, table.rota th { padding: 2px 4px; }
table.rota td.rec { font-weight: 600; }
table.rota td.seen { color: var(--muted); }
table.rota td.short { color: var(--bad, #b00020); }
footer { margin-top: 24px; border-top: 1px solid var(--rule); padding-top: 6px; color: var(--muted); font-size: 8.5pt; }
@page { size: A4; margin: 12mm 12mm 14mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 9.5pt; }
  h2 { margin-top: 14px; }
  section { break-inside: auto; }
  a { color: inherit; text-decoration: none; }
}
"""


def e(value) -> str:
    """Escape text for HTML (quotes too: safe inside attributes)."""
    return _html.escape("" if value is None else str(value), quote=True)


def _notes(notes) -> str:
    return "".join(f'<p class="note">{e(n)}</p>' for n in (notes or []))


def _figure(charts: dict, name: str, caption: str) -> str:
    c: Chart | None = charts.get(name)
    if c is None:
        return ""
    return (
        f'<figure><img src="{c.data_uri}" alt="{e(c.alt)}" width="{c.width}" height="{c.height}">'
        f"<figcaption>{e(caption)}</figcaption></figure>"
    )


def _fmt(value, kind: str) -> str:
    if kind == "count":
        return T.count(value)
    if kind == "share":
        return T.share(value)
    if kind == "seconds":
        return T.wait_short(value)  # times to get through: the sentences' rounding
    if kind == "ratio":
        return T.ratio(value)
    if kind == "decimal":
        return T.ratio(value, 1)
    return e(value)


def _data_value(v) -> str:
    if T.missing(v):
        return ""
    return repr(float(v))


def _table(headers: list[tuple[str, str]], rows: list[list[tuple[str, str]]], cls: str = "") -> str:
    """A table from ``(html, css class)`` cells; headers are ``(text, css class)``."""
    head = "".join(f'<th class="{c}">{e(h)}</th>' for h, c in headers)
    body = "".join("<tr>" + "".join(f'<td class="{c}">{h}</td>' for h, c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _local_time(v) -> str:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return T.DASH
    return pd.Timestamp(v).strftime("%H:%M")


# ----------------------------------------------------------------------------- sections


def _headline(r) -> str:
    h = r.headline
    avg_label = "4 weeks before" if h.average_weeks in (0, 4) else T.plural(h.average_weeks, "week") + " before"
    rows = []
    for f in h.figures:
        kind = f.kind
        rows.append(
            [
                (f'{e(f.label)}<br><span class="small">{e(f.help)}</span>', "text"),
                (f'<span data-key="{e(f.key)}" data-value="{_data_value(f.value)}">{_fmt(f.value, kind)}</span>', "num value"),
                (_fmt(f.previous, kind), "num"),
                (e(T.change(f.value, f.previous, kind)), "num small"),
                (_fmt(f.average, kind), "num"),
                (e(T.change(f.value, f.average, kind)), "num small"),
            ]
        )
    table = _table(
        [("", "text"), ("This week", ""), ("Week before", ""), ("change", ""), (f"{avg_label} (average week)", ""), ("change", "")],
        rows,
        "headline",
    )
    sentences = "".join(f"<li>{e(s)}</li>" for s in h.sentences)
    if all(T.missing(f.value) and T.missing(f.previous) and T.missing(f.average) for f in h.figures):
        table = ""  # nothing measured: the note says why
    return (
        '<section id="headline"><h2>1. The week at a glance</h2>'
        + (f'<ul class="sentences">{sentences}</ul>' if sentences else "")
        + _notes(h.notes)
        + table
        + '<p class="method">Counts in the comparison columns are an average week; shares and times are pooled over '
        "those weeks. Times to get through are over people whose number was not withheld.</p></section>"
    )


def _arrival(r, charts) -> str:
    a = r.arrival
    parts = ['<section id="arrival"><h2>2. When demand arrives</h2>', _notes(a.notes)]
    parts.append(
        _figure(
            charts,
            "heatmap",
            "Left: every call attempt, by the hour it started. Right: people ringing for the first time that day "
            "(a caller who redials counts once, in the hour of their first call).",
        )
    )
    if a.monday is not None:
        share = a.monday["monday_share_callers"].iloc[0]
        first, last = a.monday_period
        weeks = int(a.monday["full_weeks"].iloc[0])
        cap = (
            f"Average per day from {T.day_label(first, False)} {first.year} to {T.day_label(last, False)} {last.year}, "
            "bank holidays left out."
        )
        if not T.missing(share):
            cap += (
                f" Mondays brought {T.share(share)} of the week's callers over {T.plural(weeks, 'full week')} "
                "(a fifth would be an even spread over five days)."
            )
        if "monday" in charts:
            parts.append("<h3>The Monday profile</h3>" + _figure(charts, "monday", cap))
    if "redials" in charts:
        parts.append(
            "<h3>New callers and redials</h3>"
            + _figure(
                charts,
                "redials",
                "Each hour's attempts: people's first call of the day (green) and calls from people who had already "
                "rung that day (orange).",
            )
        )
    parts.append("</section>")
    return "".join(parts)


def _capacity(r, charts) -> str:
    c = r.capacity
    parts = ['<section id="capacity"><h2>3. Demand against capacity</h2>', _notes(c.notes)]
    parts.append(
        _figure(
            charts,
            "capacity",
            "Per session (am before 13:00): people who rang, same-day slots starting in the session, and people "
            "estimated to have been turned away (counted in the session of their first call).",
        )
    )
    if c.days is not None and len(c.days):
        rows = []
        d = c.days
        has_calls = "callers" in d.columns
        quiet = (d["same_day_released"] == 0) & ((d["callers"] == 0) if has_calls else True)
        d = d[~quiet.to_numpy(dtype=bool)]  # closed days with nothing at all: no row
        for _, x in d.iterrows():
            day = pd.Timestamp(x["date"]).date()
            row = [(e(T.day_short(day)), "text")]
            if has_calls:
                row += [(T.count(x["callers"]), "num"), (T.count(x["attempts"]), "num")]
            row += [
                (T.count(x["same_day_released"]), "num"),
                (T.count(x["same_day_booked"]), "num"),
                (e(_local_time(x["exhausted_at"])), "num"),
            ]
            if has_calls:
                row += [
                    (T.count(x["turned_away_not_through"]), "num"),
                    (T.count(x["turned_away_no_capacity"]), "num"),
                    (f"<b>{T.count(x['turned_away'])}</b>", "num"),
                ]
            rows.append(row)
        heads = [("Day", "text")]
        if has_calls:
            heads += [("People", ""), ("Attempts", "")]
        heads += [("Same-day slots", ""), ("booked", ""), ("ran out at", "")]
        if has_calls:
            heads += [("Never got through", ""), ("Through after they ran out", ""), ("Turned away", "")]
        parts.append(_table(heads, rows))
        parts.append(
            '<p class="method">Turned away is an estimate: people who never got through that day, plus people who got '
            "through only after the day's last same-day slot was booked. \u201cRan out at\u201d is when the last "
            "same-day slot of the day was booked.</p>"
        )
    if "appointments" in charts:
        parts.append("<h3>Appointments by role and mode</h3>")
        parts.append(_figure(charts, "appointments", "Appointments booked in the week (all categories), by the session holder's role and the mode."))
    if c.dna is not None and len(c.dna):
        rows = [
            [
                (e(x["role"]), "text"),
                (T.count(x["attended"]), "num"),
                (T.count(x["dna"]), "num"),
                (T.share(x["dna_rate"], 1), "num"),
            ]
            for _, x in c.dna.iterrows()
        ]
        parts.append(_table([("Role", "text"), ("Attended", ""), ("Did not attend", ""), ("DNA rate", "")], rows))
    parts.append("</section>")
    return "".join(parts)


def _shifts_table(shifts: pd.DataFrame) -> str:
    rows = []
    for _, x in shifts.iterrows():
        start, end = pd.Timestamp(x["start"]), pd.Timestamp(x["end"])
        rows.append(
            [
                (e(T.day_short(pd.Timestamp(x["date"]).date())), "text"),
                (T.clock(start.hour, start.minute), "text"),
                (T.clock(end.hour, end.minute), "text"),
                (f"{x['hours']:g}", "num"),
                (f"{int(x['people'])}", "num rec"),
            ]
        )
    return _table([("Day", "text"), ("From", "text"), ("To", "text"), ("Hours", ""), ("People", "")], rows, "rota shifts")


def _cover_table(rota: pd.DataFrame) -> str:
    """Per half hour and day: people needed on the phones, rostered, and seen last week."""
    ds = pd.DatetimeIndex(rota["ds"])
    days = sorted(set(ds.normalize()))
    times = sorted(set(zip(ds.hour, ds.minute)))
    by = {
        (t.normalize(), t.hour, t.minute): (need, rec, seen)
        for t, need, rec, seen in zip(ds, rota["required_rostered"], rota["rostered"], rota["seen_last_week"])
    }
    show_seen = not rota["seen_last_week"].isna().all()
    heads = [("Time", "text")]
    for d in days:
        heads += [(f"{T.WEEKDAYS_SHORT[d.weekday()]} {d.day} need", ""), ("rostered", "")]
        if show_seen:
            heads.append(("last wk", ""))
    rows = []
    for hh, mm in times:
        row = [(T.clock(hh, mm), "text")]
        for d in days:
            need, rec, seen = by.get((d, hh, mm), (None, None, None))
            short = rec is not None and need is not None and rec < need
            row.append((T.DASH if need is None else f"{int(need)}", "num need"))
            row.append((T.DASH if rec is None else f"{int(rec)}", "num rec short" if short else "num rec"))
            if show_seen:
                row.append((T.DASH if seen is None or T.missing(seen) else f"{int(seen)}", "num seen"))
        rows.append(row)
    return _table(heads, rows, "rota cover")


def _seconds(v) -> str:
    # Half the callers answered at once is a median of 0 s: say so rather than "0 s".
    if T.missing(v):
        return T.DASH
    return "at once" if float(v) < 1 else T.duration(float(v))


def _rush_block(rush, st) -> str:
    t = rush.table
    rows = []
    for _, x in t.iterrows():
        lever = not str(x["option"]).startswith("handlers")
        what = (f"{x['option']} ({int(x['handlers_at_opening'])} on the phones)" if lever
                else f"{int(x['handlers_at_opening'])} on the phones ({int(x['rostered_at_opening'])} rostered)")
        if not lever and not bool(x["within_headcount"]):
            what += " — more people than the practice has"
        rows.append(
            [
                (e(what), "text"),
                (T.share(x["answered_within_target"]), "num"),
                (T.share(x["abandoned"]), "num"),
                (e(_seconds(x["median_s"])), "num"),
                (e(_seconds(x["p90_s"])), "num"),
                (T.ratio(x["rang_back"], 0), "num"),
                (T.ratio(x["callers"], 0), "num"),
            ]
        )
    day = pd.Timestamp(rush.day).date()
    parts = [f"<h4>The opening rush on {e(T.day_label(day))}</h4>", f"<p>{e(rush.words)}</p>"]
    parts.append(
        _table(
            [("Option", "text"), (f"Answered within {int(st['target_t_s'])} s", ""), ("Abandoned", ""),
             ("Median time to get through", ""), ("9 in 10 got through within", ""), ("People who rang back", ""),
             ("People ringing", "")],
            rows,
            "rush",
        )
    )
    assumed = "".join(f"<li>{e(k.capitalize())}: assumed {e(v)}.</li>" for k, v in rush.assumptions.items())
    prof = rush.profile
    shape = (
        f"Calls in the first half hour follow your own callers' minutes after opening ({T.share(prof.first_five_min)} "
        f"of them in the first five minutes, from {T.count(prof.callers)} first calls)."
        if prof is not None
        else "Calls in the first half hour are spread evenly (no first calls after opening in the history)."
    )
    parts.append(
        '<p class="method">'
        + e(
            "Each row plays the opening hour in a queue simulation where callers who cannot get through ring again, "
            f"with the same callers every time. {shape} The levers are played with the most people the practice can "
            "put on the phones at opening; what each rests on:"
        )
        + f'</p><ul class="method">{assumed}</ul>'
    )
    return "".join(parts)


def _replay_block(rep) -> str:
    t = rep.table
    if not len(t):
        return ""
    rows = []
    for _, x in t.iterrows():
        rows.append(
            [
                (e(x["week"]), "text"),
                (f"{int(x['on_phones_monday_opening'])}", "num"),
                (T.share(x["replayed_within_target"]), "num"),
                (T.share(x["actual_within_target"]), "num"),
                (T.share(x["replayed_answered"]), "num"),
                (T.share(x["actual_answered"]), "num"),
                (T.share(x["replayed_abandoned"]), "num"),
                (T.share(x["actual_abandoned"]), "num"),
            ]
        )
    first = t.iloc[0]
    return (
        "<h3>How the recommended rotas would have done</h3>"
        + _table(
            [("Week", "text"), ("On the phones at Monday’s opening", ""), ("Answered in time: rota", ""),
             ("actual", ""), ("Answered: rota", ""), ("actual", ""), ("Abandoned: rota", ""), ("actual", "")],
            rows,
            "replay",
        )
        + '<p class="method">'
        + e(
            "For each week, the rota this report would have recommended from the data before that week only, played "
            "against that week's actual callers (their first calls at the times they rang, redials simulated), beside "
            f"what actually happened. Answered in time: within the target's {T.share(first['target_sl'])} goal."
        )
        + "</p>"
    )


def _next_week(r, charts) -> str:
    n = r.next_week
    week = n.week
    title = "4. Next week" + (f": {T.date_range(week.start, week.last)}" if week is not None else "")
    parts = [f'<section id="next-week"><h2>{e(title)}</h2>', _notes(n.notes)]
    if n.daily is not None:
        d = n.daily[~n.daily["closed"].to_numpy(dtype=bool)]
        total = float(d["mean"].sum())
        busiest = d.loc[d["mean"].idxmax()] if len(d) else None
        s = f"About {T.count(total)} calls are expected next week"
        if busiest is not None:
            s += (
                f", the most on {T.WEEKDAYS[pd.Timestamp(busiest['ds']).weekday()]} "
                f"({T.count(busiest['mean'])}; 80% interval {T.count(busiest['lo80'])}{T.DASH}{T.count(busiest['hi80'])})"
            )
        parts.append(f'<p class="forecast-sentence">{e(s)}.</p>')
        rows = [
            [
                (e(T.day_short(pd.Timestamp(x["ds"]).date())), "text"),
                (T.count(x["mean"]), "num"),
                (f"{T.count(x['lo80'])}{T.DASH}{T.count(x['hi80'])}", "num"),
                (f"{T.count(x['lo95'])}{T.DASH}{T.count(x['hi95'])}", "num"),
            ]
            for _, x in d.iterrows()
        ]
        parts.append(
            _table([("Day", "text"), ("Calls expected", ""), ("80% interval", ""), ("95% interval", "")], rows,
                   "forecast-days")
        )
        parts.append(
            _figure(
                charts,
                "forecast_days",
                "Forecast calls per day (dot), with the ranges the day's count should fall in four times in five "
                "(thick) and 19 times in 20 (thin); dashes: last week.",
            )
        )
    parts.append(_figure(charts, "forecast_hours", "Forecast calls per hour the practice is open, with 80% and 95% bands."))
    if n.models:
        used: dict[str, list[str]] = {}
        for what, how in n.models.items():
            used.setdefault(how, []).append(what)
        items = "".join(f"<li>{e(', '.join(whats).capitalize())}: {e(how)}.</li>" for how, whats in used.items())
        parts.append(f'<p class="method">How the forecasts were made:</p><ul class="method">{items}</ul>')
    if n.pressure is not None and len(n.pressure):
        top = n.pressure.head(5)
        rows = []
        for _, x in top.iterrows():
            dd = pd.Timestamp(x["date"])
            rows.append(
                [
                    (e(f"{T.day_short(dd.date())} {x['session']}"), "text"),
                    (T.count(x["demand"]), "num"),
                    (f"{T.count(x['capacity'])} <span class=\"small\">{e(x['capacity_source'])}</span>", "num"),
                    (T.share(x["p_exceed"]), "num"),
                    (T.ratio(x["expected_shortfall"]), "num"),
                    (e(x["change"] or T.DASH), "text small"),
                    (T.count(x["capacity_after"]), "num"),
                    (T.share(x["p_after"]), "num"),
                ]
            )
        parts.append("<h3>Highest-pressure sessions</h3>")
        parts.append(
            _table(
                [("Session", "text"), ("Same-day demand", ""), ("Same-day slots", ""), ("Chance of too few", ""),
                 ("Expected short by", ""), ("Change", "text"), ("Slots after", ""), ("Chance after", "")],
                rows,
                "pressure",
            )
        )
        parts.append(
            '<p class="method">Same-day demand: forecast same-day appointments wanted (booked, or asked for after '
            "they ran out), split into am and pm as it usually falls on that weekday. Same-day slots: those already "
            "in next week's book, else the usual number for that weekday and session over the last four weeks. "
            "Chance of too few: the probability that demand exceeds the slots; expected short by: patients without "
            "a slot on average. Change: the clinician sessions moved or added below.</p>"
        )
    if n.rota is not None and len(n.rota):
        st = n.rota_settings
        parts.append("<h3>Call handlers: shifts within the people you have</h3>")
        if n.shifts is not None and len(n.shifts):
            parts.append(_shifts_table(n.shifts))
        heads = st.get("headcount") or {}
        src = st.get("headcount_source", "unknown")
        people = (
            "People who can be rostered: " + headcount_words(heads)
            + {"learned": " (the most who answered calls on that weekday in the last eight weeks)",
               "stated": " (as stated)", "stated and learned": " (as stated; other days learned from who answered)"}.get(src, "")
            + "."
        ) if src != "unknown" else "The people the practice can roster are not known; each day may roster its peak."
        if n.rota_days is not None and len(n.rota_days) and "service_level" in n.rota_days.columns:
            d = n.rota_days
            served = ", ".join(
                f"{T.WEEKDAYS_SHORT[pd.Timestamp(x['date']).weekday()]} {T.share(x['service_level'])}"
                for _, x in d.iterrows()
            )
            people += (f" In the simulation with redials this rota answers within {int(st['target_t_s'])} s: {served} "
                       f"(target {T.share(st['target_sl'])}).")
        parts.append(f"<p>{e(people)}</p>")
        parts.append(_cover_table(n.rota))
        patience = "" if not math.isfinite(st["patience_s"]) else f", callers' mean patience {T.duration(st['patience_s'])}"
        parts.append(
            '<p class="method">'
            + e(
                f"Need: people to roster so that {T.share(st['target_sl'])} of callers are answered within "
                f"{int(st['target_t_s'])} seconds and no more than {T.share(st['max_abandon'])} hang up, with "
                f"{T.share(st['shrinkage'])} of rostered time off the phones (Erlang A per half hour for people's first "
                "calls of the day, at the upper end of the 80% interval; average handling "
                f"{T.duration(st['aht_s'])}{patience}, measured from your calls). Rostered: people whose shift "
                f"({st.get('shift_lengths', '3-8 hours')}, starting on the half hour) covers the half hour, chosen to "
                "leave as little of the need unmet as the people allow; where rostered is below need, the gap is "
                "shown, not rostered. \u201cLast wk\u201d: how many different people answered calls in that half "
                "hour last week."
            )
            + "</p>"
        )
        if n.rush is not None:
            parts.append(_rush_block(n.rush, st))
    if n.replay is not None:
        parts.append(_replay_block(n.replay))
    if n.session_days is not None and len(n.session_days):
        sd = n.session_days
        st = n.session_settings
        start = "in the book" if st["source"] == "in the book" else "usual"
        rows = []
        for _, x in sd.iterrows():
            rows.append(
                [
                    (e(T.day_short(pd.Timestamp(x["ds"]).date())), "text"),
                    (f"{T.count(x['demand'])} <span class=\"small\">(up to {T.count(x['demand_hi80'])})</span>", "num"),
                    (f"{int(x['sessions_before'])}", "num"),
                    (f"{int(x['sessions_after'])}", "num"),
                    (e(x["changes"] or T.DASH), "text small"),
                    (T.count(x["capacity_before"]), "num"),
                    (T.count(x["capacity_after"]), "num"),
                    (T.count(x["short_after"]) if x["short_after"] > 0 else T.DASH, "num"),
                ]
            )
        parts.append("<h3>Clinician sessions for same-day demand: changes to the usual week</h3>")
        parts.append(
            _table(
                [("Day", "text"), ("Same-day demand", ""), (f"Sessions ({start})", ""), ("Sessions planned", ""),
                 ("Changes", "text"), ("Slots before", ""), ("Slots after", ""), ("Still short", "")],
                rows,
                "sessions",
            )
        )
        roles = st["roles"]
        used = roles[roles["changeable"]]
        few = roles[~roles["changeable"]]
        mix = ", ".join(
            f"{x.role} {T.share(x.share)} ({T.plural(int(x.slots_per_session), 'same-day slot')} a session, "
            f"{T.plural(int(x.people), 'person', 'people')})"
            for x in used.itertuples()
        )
        rest = ""
        if len(few):
            names = list(few["role"])
            names = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
            rest = (
                f" The {names} {'role does' if len(few) == 1 else 'roles do'} little same-day work (under "
                f"{T.share(MIN_ROLE_SHARE)} of it) and {'is' if len(few) == 1 else 'are'} left as usual."
            )
        parts.append(
            '<p class="method">'
            + e(
                "Same-day demand: same-day appointments booked plus people turned away for lack of them. Starting from "
                + ("the sessions already in next week's book" if start == "in the book" else "the practice's usual week")
                + f", whole sessions are moved (from a session that stays safe without them), then added, until the "
                f"chance of too few same-day slots is under {T.share(st['threshold'])} in every am and pm. Only the "
                f"roles that do the practice's same-day work change, in proportion to it: {mix}.{rest} No role has "
                "more sessions in an am or pm than it has people, so nobody works more than two sessions a day, and a "
                f"GP session counts at most {GP_CONTACTS_PER_DAY // 2} same-day contacts (about "
                f"{GP_CONTACTS_PER_DAY} a day, as the BMA advises). Still short: slots the changes cannot find."
            )
            + "</p>"
        )
    parts.append("</section>")
    return "".join(parts)


def _check(r, charts) -> str:
    c = r.forecast_check
    parts = ['<section id="forecast-check"><h2>5. How last week\u2019s forecast did</h2>', _notes(c.notes)]
    sc = c.scores
    if "daily_wape" in sc:
        fc, ac = sc.get("forecast_total"), sc.get("actual_total")
        s = (
            f"Before the week began, the forecast was {T.count(fc)} calls; there were {T.count(ac)}. "
            f"Day by day it was out by {T.share(sc['daily_wape'])} of the calls"
        )
        if "hourly_wape" in sc:
            s += f", hour by hour by {T.share(sc['hourly_wape'])}"
        s += (
            f". {T.share(sc.get('daily_coverage_80'))} of open days"
            + (f" and {T.share(sc.get('hourly_coverage_80'))} of open hours" if "hourly_coverage_80" in sc else "")
            + " fell inside the 80% interval (about 80% is right)."
        )
        parts.append(f'<p class="check-sentence">{e(s)}</p>')
        if c.model:
            parts.append(f'<p class="method">{e("Model: " + c.model + ".")}</p>')
    parts.append(
        _figure(
            charts,
            "forecast_check",
            "Bars and black line: what happened. Purple: the forecast made from the data up to the start of the "
            "week, with its 80% interval.",
        )
    )
    if c.daily is not None and len(c.daily):
        d = c.daily[~c.daily["closed"].to_numpy(dtype=bool)]
        rows = []
        for _, x in d.iterrows():
            err = x["forecast"] - x["actual"]
            rel = err / x["actual"] if x["actual"] > 0 else np.nan
            inside = x["lo80"] <= x["actual"] <= x["hi80"]
            rows.append(
                [
                    (e(T.day_short(pd.Timestamp(x["ds"]).date())), "text"),
                    (T.count(x["actual"]), "num"),
                    (T.count(x["forecast"]), "num"),
                    (f"{T.count(x['lo80'])}{T.DASH}{T.count(x['hi80'])}", "num"),
                    (e(f"{err:+.0f}" + ("" if T.missing(rel) else f" ({100 * rel:+.0f}%)")), "num"),
                    ("yes" if inside else "no", "num"),
                ]
            )
        if "forecast_total" in sc and len(d):
            # the sentence's totals, in the table too
            err = sc["forecast_total"] - sc["actual_total"]
            rel = err / sc["actual_total"] if sc["actual_total"] > 0 else np.nan
            inside = int(((d["lo80"] <= d["actual"]) & (d["actual"] <= d["hi80"])).sum())
            rows.append(
                [
                    ("Week", "text total"),
                    (T.count(sc["actual_total"]), "num total"),
                    (T.count(sc["forecast_total"]), "num total"),
                    ("", "num total"),
                    (e(f"{err:+.0f}" + ("" if T.missing(rel) else f" ({100 * rel:+.0f}%)")), "num total"),
                    (f"{inside} of {len(d)}", "num total"),
                ]
            )
        parts.append(
            _table(
                [("Day", "text"), ("Actual", ""), ("Forecast", ""), ("80% interval", ""), ("Error", ""), ("Inside", "")],
                rows,
                "forecast-check",
            )
        )
    parts.append("</section>")
    return "".join(parts)


def _quality(r) -> str:
    q = r.quality
    parts = ['<section id="quality"><h2>6. Data quality</h2>', _notes(q.notes)]
    rows = [
        [
            (e(T.day_short(x["date"])), "text"),
            (T.count(x["calls"]), "num"),
            (T.count(x["slots"]), "num"),
            (e(x["status"]), "text"),
        ]
        for _, x in q.days.iterrows()
    ]
    parts.append(_table([("Day", "text"), ("Calls", ""), ("Appointment slots", ""), ("", "text")], rows))
    if q.gaps:
        items = "".join(f"<li>{e(g)}</li>" for g in q.gaps[:20])
        more = f"<li>and {len(q.gaps) - 20} more</li>" if len(q.gaps) > 20 else ""
        parts.append(f"<h3>Hours with no calls that usually have some</h3><ul>{items}{more}</ul>")
    if len(q.lines):
        rows = [
            [(e(x["line"]), "text"), (T.count(x["calls"]), "num"), (T.share(x["share"]), "num")]
            for _, x in q.lines.iterrows()
        ]
        parts.append("<h3>Lines covered</h3>" + _table([("Line (queue or menu option)", "text"), ("Calls", ""), ("Share", "")], rows))
    if len(q.ingests):
        rows = [
            [
                (e(x["table"]), "text"),
                (e(x["file"]), "text"),
                (e(x["format"]), "text"),
                (T.count(x["rows_read"]), "num"),
                (T.count(x["written"]), "num"),
                (T.count(x["duplicates"]), "num"),
                (T.count(x["rejected"]), "num"),
                (e(x["unknown_words"] or T.DASH), "text small"),
            ]
            for _, x in q.ingests.iterrows()
        ]
        parts.append(
            "<h3>Files behind this week</h3>"
            + _table(
                [("Data", "text"), ("File", "text"), ("Format", "text"), ("Rows read", ""), ("Written", ""),
                 ("Duplicates", ""), ("Rejected", ""), ("Unknown words", "text")],
                rows,
            )
        )
    else:
        parts.append('<p class="note">No ingest in the store\u2019s manifest covers this week.</p>')
    parts.append("</section>")
    return "".join(parts)


def render_weekly_html(report, charts: dict[str, Chart] | None = None) -> str:
    """The whole page for a :class:`reports.weekly.WeeklyReport`.

    Parameters
    ----------
    report : WeeklyReport
    charts : dict, optional
        :func:`reports.charts.weekly_charts` of the report (drawn here when omitted).

    Returns
    -------
    str
        A complete HTML5 document, UTF-8, self-contained.
    """
    if charts is None:
        charts = weekly_charts(report)
    sub = [f"{report.week.title}"]
    if report.list_size:
        sub.append(f"{T.count(report.list_size)} registered patients")
    sub.append(f"ODS {report.practice_id}")
    name = report.practice_name or report.practice_id
    body = "".join(
        [
            f"<header><h1>{e(name)}</h1><p>{e(' · '.join(sub))}</p><p>Weekly demand report: calls, callers, "
            "same-day capacity and next week.</p></header>",
            _headline(report),
            _arrival(report, charts),
            _capacity(report, charts),
            _next_week(report, charts),
            _check(report, charts),
            _quality(report),
            "<footer>"
            + e(
                "Made by Frontdoor from the practice's phone and appointment exports. Callers are pseudonymised at "
                "import: no phone number, name or staff identity is in this report. Times are local "
                f"({report.tz})."
                + (f" Generated {report.generated}." if report.generated else "")
            )
            + "</footer>",
        ]
    )
    return (
        "<!DOCTYPE html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(report.title)}</title><style>{CSS}</style></head><body>{body}</body></html>\n"
    )
