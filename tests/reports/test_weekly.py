"""The weekly demand report: built from a small demo store, checked against the metrics, opened
in a real headless browser.

One demo store per module: the three demo practices over eight weeks from Monday 3 March 2025,
so that week 15 (7-13 April) is an ordinary week with five weeks of history before it and week
17 (21-27 April) starts with Easter Monday (Good Friday, 18 April, closes the week before).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html.parser
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import forecasting.outlook
from cli import main
from demand.appointments.schema import read_appointments
from demand.callers import caller_metrics_daily, caller_metrics_hourly
from demand.capacity import same_day_exhaustion
from demand.demand_capacity import demand_capacity
from demand.queue import queue_metrics
from demand.simulation.demo import run_demo
from forecasting.planning.peak_pressure import PressureError
from reports import (
    build_weekly_report,
    build_weekly_reports,
    read_last_complete_week,
    read_report_inputs,
    report_week,
    write_weekly_report,
)
from reports.html import render_weekly_html
from reports.pdf import write_pdf
from telephony.errors import PeriodError
from telephony.store import open_store

TZ = "Europe/London"
PRACTICE = "A81001"
NORMAL = "2025-W15"  # Monday 7 - Sunday 13 April 2025
EASTER = "2025-W17"  # Easter Monday 21 April 2025
START, END = "2025-04-07", "2025-04-14"
CHROMIUM = shutil.which("chromium") or (Path("/usr/bin/chromium").exists() and "/usr/bin/chromium") or None
# Ofcom's drama ranges, digits possibly separated as people write them
DRAMA = re.compile(
    r"(?:\+?44[ \-]?\(?0?\)?|0)[ \-]?(?:7700[ \-]?900[ \-]?\d{3}|1632[ \-]?960[ \-]?\d{3}|20[ \-]?7946[ \-]?0\d{3})"
)


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("FRONTDOOR_KEY", "test-key-not-secret")
    out = tmp_path_factory.mktemp("report_demo")
    run_demo(out, weeks=8, seed=7, start_date=dt.date(2025, 3, 3))
    yield out
    mp.undo()


@pytest.fixture(scope="module")
def store(demo):
    return open_store(demo / "store")


@pytest.fixture(scope="module")
def inputs(store):
    return read_report_inputs(store, ["A81001", "A81002", "A81003"], NORMAL)


@pytest.fixture(scope="module")
def report(inputs):
    return build_weekly_report(inputs, PRACTICE)


@pytest.fixture(scope="module")
def page(report, tmp_path_factory):
    """The normal week's report written to a file: (path, html text)."""

    path = tmp_path_factory.mktemp("report_html") / "week15.html"
    text = render_weekly_html(report)
    path.write_text(text, encoding="utf-8")
    return path, text


class _Reader(html.parser.HTMLParser):
    """Headline values (data-key/data-value and the shown text), list items, images, notes."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, tuple[str, str]] = {}
        self.images: list[dict] = []
        self.items: list[str] = []
        self.notes: list[str] = []
        self.sections: list[str] = []
        self._key = None
        self._text: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "span" and "data-key" in a:
            self._key, self._text = (a["data-key"], a["data-value"]), []
        elif tag == "img":
            self.images.append(a)
        elif tag == "li":
            self._in, self._text = "li", []
        elif tag == "p" and a.get("class") == "note":
            self._in, self._text = "note", []
        elif tag == "section":
            self.sections.append(a.get("id"))

    def handle_data(self, data):
        self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "span" and self._key is not None:
            key, value = self._key
            self.values[key] = (value, "".join(self._text))
            self._key = None
        elif tag == "li" and self._in == "li":
            self.items.append("".join(self._text))
            self._in = None
        elif tag == "p" and self._in == "note":
            self.notes.append("".join(self._text))
            self._in = None


def read_page(text: str) -> _Reader:
    r = _Reader()
    r.feed(text)
    return r


def without_images(text: str) -> str:
    return re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "data:", text)


# ----------------------------------------------------------------------------- the week


def test_report_week_reads_iso_weeks_and_dates():
    w = report_week("2026-W47")
    assert (w.start, w.last, w.end, w.iso) == (dt.date(2026, 11, 16), dt.date(2026, 11, 22), dt.date(2026, 11, 23), "2026-W47")
    assert report_week("2026w47") == w == report_week("2026-11-22") == report_week(dt.date(2026, 11, 18))
    assert report_week("2025-W01").start == dt.date(2024, 12, 30)  # ISO week 1 can start in December
    assert report_week("2025-W17").title == "Week 17: 21\u201327 April 2025"
    assert report_week("2025-W18").title == "Week 18: 28 April \u2013 4 May 2025"
    with pytest.raises(PeriodError, match="2025 has no ISO week 53"):
        report_week("2025-W53")
    with pytest.raises(PeriodError, match="write it as an ISO week like 2026-W47"):
        report_week("next week")


def test_last_complete_week_of_the_demo(store):
    # the demo's last day is Sunday 27 April; A81001's phones close at the weekend, so its
    # last call on Friday 25 April completes the week
    assert read_last_complete_week(store, PRACTICE).iso == EASTER


# ----------------------------------------------------------------------------- a normal week


def test_normal_week_has_every_section_and_no_degradation_notes(report, page):
    path, text = page
    r = read_page(text)
    assert r.sections == ["headline", "arrival", "capacity", "next-week", "forecast-check", "quality"]
    # nothing in an ordinary week with appointments and five weeks of history says it could not
    assert not [n for n in r.notes if "could not" in n or "No calls" in n or "No appointment" in n]
    assert report.next_week.daily is not None and report.next_week.rota is not None
    assert report.next_week.session_days is not None and report.forecast_check.daily is not None
    # every chart was drawn, once
    alts = [img["alt"] for img in r.images]
    assert len(alts) == 8 and len(set(alts)) == 8
    assert all(img["src"].startswith("data:image/png;base64,") for img in r.images)
    # self-contained: nothing to fetch, no script
    assert "<script" not in text.lower()
    assert not re.search(r"""(?:src|href)=["'](?!data:)""", text)
    assert "@page { size: A4" in text
    # the week was an ordinary one: every weekday open with calls, the weekend closed
    assert report.quality.days["status"].tolist() == ["open"] * 5 + ["closed"] * 2


def test_headline_numbers_equal_the_metric_functions(store, page):
    lo = pd.Timestamp(START).tz_localize(TZ)
    hi = pd.Timestamp(END).tz_localize(TZ)
    calls = store.read_calls([PRACTICE], lo, hi)
    slots = read_appointments(store, [PRACTICE], lo, hi)
    q = queue_metrics(calls, "W", tz=TZ, start=START, end=END)
    assert len(q) == 1
    q = q.iloc[0]
    daily = caller_metrics_daily(calls, TZ, START, END)
    ex = same_day_exhaustion(slots, TZ, START, END)

    r = read_page(page[1])
    got = {k: float(v) for k, (v, _shown) in r.values.items() if v}
    assert got["calls"] == q["inbound_total"]
    assert got["answered"] == q["answered"]
    assert got["callbacks"] == q["callbacks"]
    assert got["abandoned"] == q["abandoned"]
    assert got["service_level"] == pytest.approx(q["service_level"])
    assert got["people"] == daily["unique_callers"].sum()
    assert got["same_day_used"] == pytest.approx(ex["same_day_booked"].sum() / ex["same_day_released"].sum())
    # what the page shows is that value, formatted
    assert r.values["calls"][1] == f"{int(q['inbound_total']):,}"
    assert r.values["service_level"][1] == f"{100 * q['service_level']:.0f}%"

    # time to get through, computed here from the raw calls: per caller and local day, first
    # attempt to first success (start + wait), identified callers who got through, pooled
    inbound = calls[calls["direction"] == "inbound"].copy()
    inbound["local"] = inbound["start_utc"].dt.tz_convert(TZ)
    inbound["day"] = inbound["local"].dt.date
    ok = inbound["outcome"].isin(["answered", "callback"])
    inbound["through"] = inbound["start_utc"].where(ok) + pd.to_timedelta(inbound["wait_s"].fillna(0).where(ok), unit="s")
    per = inbound[inbound["caller_key"].notna()].groupby(["caller_key", "day"]).agg(
        first=("start_utc", "min"), through=("through", "min")
    )
    secs = ((per["through"] - per["first"]).dt.total_seconds()).dropna().to_numpy()
    assert got["ttg_p50_s"] == pytest.approx(np.percentile(secs, 50))
    assert got["ttg_p90_s"] == pytest.approx(np.percentile(secs, 90))

    # the busiest-hour sentence quotes caller_metrics_hourly's busiest hour
    hourly = caller_metrics_hourly(calls, TZ, START, END)
    top = hourly.sort_values(["attempts", "interval_start"], ascending=[False, True]).iloc[0]
    sentence = next(s for s in r.items if "busiest hour" in s)
    assert f"{int(top['attempts'])} attempts from {int(top['new_callers'])} people" in sentence
    assert sentence.startswith(pd.Timestamp(top["date"]).day_name())


def test_comparisons_are_the_week_before_and_the_four_weeks_before(store, report):
    calls = store.read_calls([PRACTICE])
    weeks = queue_metrics(calls, "W", tz=TZ, start="2025-03-10", end=END)["inbound_total"].to_numpy()
    assert len(weeks) == 5  # weeks 11 to 15
    f = report.headline.figure("calls")
    assert (f.value, f.previous, f.average) == (weeks[4], weeks[3], pytest.approx(weeks[:4].mean()))
    assert report.headline.average_weeks == 4


def test_no_phone_number_name_or_identity_in_the_page(demo, store, page):
    text = page[1]
    visible = without_images(text)
    assert not DRAMA.search(visible)
    # no pseudonym of a caller, a handler or a clinician either
    calls = store.read_calls([PRACTICE], columns=["caller_key", "agent_key"])
    keys = set(calls["caller_key"].dropna()) | set(calls["agent_key"].dropna())

    keys |= set(read_appointments(store, [PRACTICE])["clinician_key"].dropna())
    assert keys and not [k for k in keys if k in visible]
    # nor a clinician's name or a patient id from the practice's slot exports
    names, patients = set(), set()
    for f in (demo / "exports" / PRACTICE / "appointments").glob("*.csv"):
        rows = pd.read_csv(f, skiprows=2, dtype=str)
        names |= set(rows["Session Holder"].dropna())
        patients |= set(rows["Patient ID"].dropna())
    assert names and not [n for n in names if n in visible]
    assert patients and not [p for p in patients if re.search(rf"\b{re.escape(p)}\b", visible)]


# ----------------------------------------------------------------------------- degrading


def test_a_day_missing_from_the_export_is_reported_not_fatal(inputs):
    local_day = inputs.calls["start_utc"].dt.tz_convert(TZ).dt.date
    lost = (inputs.calls["practice_id"] == PRACTICE) & (local_day == dt.date(2025, 4, 9))
    holed = dataclasses.replace(inputs, calls=inputs.calls.loc[~lost.to_numpy()].reset_index(drop=True))
    rep = build_weekly_report(holed, PRACTICE, model="seasonal_average")
    days = rep.quality.days.set_index("date")
    assert days.loc[dt.date(2025, 4, 9), "status"] == "no calls"
    assert (days["status"] == "no calls").sum() == 1
    assert any("No calls at all on Wednesday 9 April" in n for n in rep.quality.notes)
    assert any("opening day without calls" in n for n in rep.forecast_check.notes)
    # the rest of the report still stands
    assert rep.headline.figure("calls").value == inputs_week_calls(inputs) - int(lost.sum())
    assert rep.next_week.daily is not None
    assert "No calls at all on Wednesday 9 April" in render_weekly_html(rep)


def inputs_week_calls(inputs) -> int:
    c = inputs.calls
    sel = (c["practice_id"] == PRACTICE) & (c["direction"] == "inbound") & (c["start_utc"] >= pd.Timestamp(START).tz_localize(TZ))
    return int(sel.sum())


def test_hours_missing_inside_a_day_are_listed(inputs):
    local = inputs.calls["start_utc"].dt.tz_convert(TZ)
    lost = (inputs.calls["practice_id"] == PRACTICE) & (local.dt.date == dt.date(2025, 4, 8)) & (local.dt.hour == 8)
    holed = dataclasses.replace(inputs, calls=inputs.calls.loc[~lost.to_numpy()].reset_index(drop=True))
    rep = build_weekly_report(holed, PRACTICE, forecast=False)
    assert [g for g in rep.quality.gaps if g.startswith("Tuesday 8 April 08:00\u201309:00: no calls")]
    assert rep.quality.days.set_index("date").loc[dt.date(2025, 4, 8), "status"] == "open"


def test_a_week_without_any_calls_writes_a_report_that_says_so(store, tmp_path):
    files = write_weekly_report(store, PRACTICE, "2025-W20", tmp_path)  # after the demo's last week
    text = files.html.read_text(encoding="utf-8")
    r = read_page(text)
    assert files.html.name == "frontdoor-report-A81001-2025-W20.html"
    assert any(n.startswith("No calls of A81001 in the store for 12\u201318 May 2025") for n in r.notes)
    assert any("calls in the store run from Monday 3 March 2025 to Friday 25 April 2025" in n for n in r.notes)
    assert any("nothing to forecast from" in n for n in r.notes)
    assert r.images == []  # no chart drawn from nothing
    assert r.sections == ["headline", "arrival", "capacity", "next-week", "forecast-check", "quality"]


def test_bank_holiday_week(store):
    inp = read_report_inputs(store, [PRACTICE], EASTER)
    rep = build_weekly_report(inp, PRACTICE, model="seasonal_average")
    days = rep.quality.days.set_index("date")
    assert days.loc[dt.date(2025, 4, 21), "status"] == "bank holiday: Easter Monday"
    assert days.loc[dt.date(2025, 4, 21), "calls"] == 0
    assert "no calls" not in set(days["status"])  # a holiday is not missing data
    assert any("bank holiday: Monday 21 April (Easter Monday)" in n for n in rep.headline.notes)
    # the forecast made before the week knew the practice would be closed that day
    check = rep.forecast_check.daily.set_index("ds")
    assert bool(check.loc[pd.Timestamp("2025-04-21"), "closed"]) and check.loc[pd.Timestamp("2025-04-21"), "forecast"] == 0
    assert any("bank holiday" in n for n in rep.forecast_check.notes)
    # the week before held Good Friday: it is left out of the Monday profile's days, and the
    # four-week comparison still has its four weeks
    assert rep.headline.average_weeks == 4
    html_text = render_weekly_html(rep)
    assert "Easter Monday" in html_text


def test_a_practice_without_appointment_data(inputs):
    no_slots = dataclasses.replace(inputs, slots=inputs.slots.iloc[0:0])
    rep = build_weekly_report(no_slots, PRACTICE, model="seasonal_average")
    assert rep.capacity.sessions is None and rep.capacity.appointments is None
    assert any("No appointment slots of A81001 in the store for this week" in n for n in rep.capacity.notes)
    assert rep.arrival.monday is None and any("Monday profile" in n for n in rep.arrival.notes)
    assert rep.headline.figure("same_day_used").value is None
    assert rep.headline.figure("calls").value == inputs_week_calls(inputs)  # calls are unaffected
    assert rep.next_week.session_days is None and any("clinician sessions cannot be planned" in n for n in rep.next_week.notes)
    assert rep.next_week.rota is not None  # the phones do not need the appointment book
    text = render_weekly_html(rep)
    assert "frontdoor ingest appointments" in text
    assert len(read_page(text).images) == 5  # no Monday profile, capacity or appointments chart


def test_one_read_serves_several_practices(inputs):
    reps = build_weekly_reports(inputs, ["A81002", "A81003"], forecast=False)
    assert [r.practice_id for r in reps] == ["A81002", "A81003"]
    assert [r.practice_name for r in reps] == ["Sample Road Medical Centre", "Specimen Lane Health Centre"]
    for r in reps:
        assert r.headline.figure("calls").value > 0
        assert r.next_week.notes == ["Forecasts were not asked for."]
    # X-on logs hang-ups in the menu, Asterisk's queue_log does not: only A81001 gets the note
    assert not [n for n in reps[1].quality.notes if "may log only calls that reached a queue" in n]


# ----------------------------------------------------------------------------- the command


def test_report_command_writes_the_page_and_explains_a_missing_pdf_printer(demo, tmp_path, monkeypatch):
    out = tmp_path / "week15.html"
    monkeypatch.setenv("FRONTDOOR_CHROMIUM", str(tmp_path / "no-such-browser"))
    res = CliRunner().invoke(main, ["report", "--practice", "a81001", "--week", NORMAL, "--out", str(out), "--pdf",
                                    "--store", str(demo / "store")])
    assert res.exit_code == 1
    assert res.output.startswith("Writing the weekly report of A81001 for 2025-W15...\nError: A PDF needs a headless Chromium")
    assert "apt-get install chromium" in res.output and str(out) in res.output
    assert out.is_file() and read_page(out.read_text(encoding="utf-8")).values["calls"][0]

    bad = CliRunner().invoke(main, ["report", "--practice", "B99999", "--week", NORMAL, "--store", str(demo / "store")])
    assert bad.exit_code == 1
    assert bad.output.endswith("Error: Unknown practice B99999: the store at " f"{demo / 'store'} holds A81001, A81002, A81003.\n")


# ----------------------------------------------------------------------------- a real browser


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; .ci/run installs it)")
def test_page_in_headless_chromium(page, tmp_path):
    from tests.reports.devtools import Page, artefact_dir

    path, text = page
    with Page(CHROMIUM, tmp_path / "profile") as browser:
        browser.open(path)
        images = browser.evaluate(
            "Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight, i.alt])"
        )
        shown = browser.evaluate(
            "Object.fromEntries(Array.from(document.querySelectorAll('[data-key]')).map(e => [e.dataset.key, e.textContent]))"
        )
        heading = browser.evaluate("document.querySelector('h1').textContent")
        # the clinician sessions (before and after), the pressure with its changes, the shifts and
        # the rush trade-off are on the page
        plans = browser.evaluate(
            "['table.sessions', 'table.pressure', 'table.shifts', 'table.rush'].map(s => { const t = document.querySelector(s); "
            "return t ? [t.getBoundingClientRect().height, Array.from(t.querySelectorAll('th')).map(h => h.textContent)] : null; })"
        )
        shot = browser.screenshot(artefact_dir() / "weekly-report-A81001-2025-W15.png")
        errors = browser.console_errors()
        fetched = [u for u in browser.requests() if not (u.startswith("file:") or u == "data:")]
    print(f"\nscreenshot of the weekly report: {shot}")
    assert errors == []
    assert fetched == []
    assert len(images) == 8
    assert all(ok and w > 0 and h > 0 for ok, w, h, _alt in images), images
    assert heading == "Example Street Surgery"
    # the browser shows the numbers the HTML carries
    assert shown == {k: v[1] for k, v in read_page(text).values.items()}
    assert shot.stat().st_size > 50_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (sessions_h, sessions_heads), (pressure_h, pressure_heads), shifts, rush = plans
    # the handlers' shifts and the opening rush's trade-off are shown too
    assert shifts is not None and shifts[0] > 0 and {"From", "To", "People"} <= set(shifts[1])
    assert rush is not None and rush[0] > 0
    assert sessions_h > 0 and "Sessions planned" in sessions_heads and "Still short" in sessions_heads
    assert pressure_h > 0 and "Change" in pressure_heads and "Chance after" in pressure_heads


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; .ci/run installs it)")
def test_pdf_is_printed_with_chromium(page, tmp_path, monkeypatch):
    monkeypatch.setenv("FRONTDOOR_CHROMIUM", CHROMIUM)
    pdf = write_pdf(page[0], tmp_path / "week15.pdf")
    data = pdf.read_bytes()
    assert data[:5] == b"%PDF-" and len(data) > 50_000
    # A4 portrait pages: 595 x 842 points
    assert re.search(rb"/MediaBox \[0 0 59[45]\.?\d* 84[12]\.?\d*\]", data)


# ----------------------------------------------------------------------------- next week


def test_next_week_rota_sessions_and_pressure(store, report):
    nxt = report.next_week
    # week 16 ends with Good Friday: the practice is closed, so nothing is planned for it
    daily = nxt.daily.set_index("ds")
    assert bool(daily.loc[pd.Timestamp("2025-04-18"), "closed"]) and daily.loc[pd.Timestamp("2025-04-18"), "mean"] == 0
    assert nxt.notes[0].startswith("Next week has a bank holiday: Friday 18 April (Good Friday).")
    rota = nxt.rota
    ds = pd.DatetimeIndex(rota["ds"])
    assert sorted(set(ds.date)) == [dt.date(2025, 4, d) for d in (14, 15, 16, 17)]
    assert len(rota) == 4 * 21  # Mon-Fri 08:00-18:30 (the registry's hours): 21 half hours a day
    assert (ds.min().strftime("%H:%M"), ds.max().strftime("%H:%M")) == ("08:00", "18:00")
    # shifts within the people who answered: never more rostered than the headcount, the gap shown
    assert (rota["rostered"] <= rota["headcount"]).all()
    assert rota["required_rostered"].tolist() == [int(np.ceil(a / 0.7 - 1e-9)) for a in rota["erlang_agents"]]
    assert np.allclose(rota["unmet"], np.maximum(0, rota["erlang_agents"] - 0.7 * rota["rostered"]))
    assert nxt.shifts["hours"].between(3, 8).all()
    assert nxt.rota_settings["checked"] and nxt.rota_settings["headcount_source"] == "learned"
    # "last week": distinct handlers answering on Monday 7 April 08:00-08:30, counted here
    calls = store.read_calls([PRACTICE], pd.Timestamp("2025-04-07 08:00").tz_localize(TZ), pd.Timestamp("2025-04-07 08:30").tz_localize(TZ))
    seen = calls[(calls["direction"] == "inbound") & (calls["outcome"] == "answered")]["agent_key"].nunique()
    assert seen > 0 and rota.loc[rota["ds"] == pd.Timestamp("2025-04-14 08:00"), "seen_last_week"].item() == seen

    # sessions start from the same-day slots of week 16 already in the store (the demo's book
    # runs to week 17); after the changes each session is under the threshold, or is short
    # only where every person of the roles that change is already on
    days = nxt.session_days
    assert [d.date() for d in days["ds"]] == [dt.date(2025, 4, d) for d in (14, 15, 16, 17)]
    sm = nxt.session_summary
    roles = nxt.session_settings["roles"].set_index("role")
    after = nxt.sessions.set_index(["date", "session", "role"])["after"]
    for _, x in sm.iterrows():
        if x["short_after"] > 0:
            for role in roles.index[roles["changeable"]]:
                assert after.get((x["date"], x["session"], role), 0) == roles.at[role, "people"]
        else:
            assert x["p_after"] <= 0.1
    book = read_appointments(store, [PRACTICE], pd.Timestamp("2025-04-14").tz_localize(TZ), pd.Timestamp("2025-04-21").tz_localize(TZ))
    book = book[(book["category"] == "same_day") & (book["status"] != "cancelled")]
    local = book["start_utc"].dt.tz_convert(TZ)
    per_day = local.dt.date.value_counts()
    assert [float(per_day.get(d.date(), 0)) for d in days["ds"]] == days["booked_slots"].tolist()
    assert days["booked_slots"].sum() > 0

    # pressure: ranked by the chance of too few slots, against the slots in that book
    p = nxt.pressure
    assert (p["capacity_source"] == "in the book").all() and p["p_exceed"].is_monotonic_decreasing
    per_session = book.groupby([local.dt.date, np.where(local.dt.hour < 13, "am", "pm")]).size()
    for _, row in p.iterrows():
        assert row["capacity"] == per_session.get((pd.Timestamp(row["date"]).date(), row["session"]), 0)


def test_without_next_weeks_book_the_usual_slots_are_assumed(inputs, store):
    s = inputs.slots
    no_book = dataclasses.replace(inputs, slots=s[s["start_utc"] < pd.Timestamp(END).tz_localize(TZ)].reset_index(drop=True))
    rep = build_weekly_report(no_book, PRACTICE, model="seasonal_average")
    nxt = rep.next_week
    assert nxt.session_days["booked_slots"].isna().all()
    assert any("book is not in the store yet" in n for n in nxt.notes)
    # the slots are the usual ones of the same weekday and session over weeks 12-15, from the metric
    p = nxt.pressure
    assert (p["capacity_source"] == "usual").all() and p["p_exceed"].is_monotonic_decreasing
    lo, hi = pd.Timestamp("2025-03-17").tz_localize(TZ), pd.Timestamp(END).tz_localize(TZ)
    hist = demand_capacity(store.read_calls([PRACTICE], lo, hi), read_appointments(store, [PRACTICE], lo, hi), TZ,
                           start="2025-03-17", end=END)
    hist["weekday"] = pd.to_datetime(hist["date"]).dt.day_of_week
    usual = hist.groupby(["weekday", "session"])["same_day_released"].mean()
    for _, row in p.iterrows():
        assert row["capacity"] == pytest.approx(usual[(pd.Timestamp(row["date"]).day_of_week, row["session"])])


def test_rejected_rows_and_unknown_words_from_the_manifest(inputs):
    m = inputs.manifest
    row = m[(m["practice_id"] == PRACTICE) & (m["table"] == "calls")].iloc[[0]].copy()
    row["file_name"] = "queue_log_07700 900123.csv"  # a number where a file name should be
    row["rejected"] = 3
    row["unknown_words"] = "TRANSFERRED (2), CALLER 01632 960456 (1)"
    odd = dataclasses.replace(inputs, manifest=pd.concat([m, row], ignore_index=True))
    rep = build_weekly_report(odd, PRACTICE, forecast=False)
    ing = rep.quality.ingests
    assert int(ing["rejected"].sum()) == 3
    # (mask_digits errs on the side of masking: the count after the number goes too)
    assert ing["unknown_words"].tolist()[-1] == "TRANSFERRED (2), CALLER XXXXX XXXXXX (X)"
    assert ing["file"].tolist()[-1] == "queue_log_XXXXX XXXXXX.csv"
    assert any(n.startswith("3 rows of the files covering this week were rejected") for n in rep.quality.notes)
    assert any("outcome words Frontdoor does not know" in n for n in rep.quality.notes)
    text = without_images(render_weekly_html(rep))
    assert "TRANSFERRED (2)" in text and not DRAMA.search(text)


def test_a_part_of_next_week_that_fails_leaves_the_others_standing(inputs, monkeypatch):
    def no_room(*args, **kwargs):
        raise PressureError("capacity has no session for Monday am")

    # the pressure ranking fails: its note says why, the sessions, rota and forecasts stand
    monkeypatch.setattr(forecasting.outlook, "peak_pressure", no_room)
    rep = build_weekly_report(inputs, PRACTICE, model="seasonal_average")
    nxt = rep.next_week
    assert nxt.pressure is None
    assert "The highest-pressure sessions could not be made: capacity has no session for Monday am" in nxt.notes
    assert nxt.session_days is not None and nxt.rota is not None and nxt.daily is not None
    assert rep.forecast_check.daily is not None
    assert "capacity has no session for Monday am" in render_weekly_html(rep)


def test_the_rota_stands_unchecked_when_the_redial_check_fails(inputs, monkeypatch):
    real = forecasting.outlook.plan_rota

    def no_simulation(*args, check_redials, **kwargs):
        if check_redials:
            raise ValueError("the simulation needs at least one open half hour")
        return real(*args, check_redials=check_redials, **kwargs)

    monkeypatch.setattr(forecasting.outlook, "plan_rota", no_simulation)
    rep = build_weekly_report(inputs, PRACTICE, model="seasonal_average")
    nxt = rep.next_week
    assert ("The rota could not be played in the queue simulation with redials (the simulation needs at least one "
            "open half hour): its service is not shown.") in nxt.notes
    assert not nxt.rota_settings["checked"] and nxt.rush is None
    assert (nxt.rota["rostered"] <= nxt.rota["headcount"]).all() and nxt.rota["service_level"].isna().all()
    assert "In the simulation with redials this rota answers" not in render_weekly_html(rep)


def test_an_unknown_model_replaces_both_forecast_sections_with_a_note(inputs):
    rep = build_weekly_report(inputs, PRACTICE, model="arima")
    note = rep.next_week.notes
    assert len(note) == 1 and note[0].startswith("Unknown forecasting model 'arima'; known models: auto, ets,")
    assert rep.forecast_check.notes == note and rep.next_week.daily is None and rep.forecast_check.daily is None
    assert rep.headline.figure("calls").value == inputs_week_calls(inputs)  # the measured sections stand


def test_notes_name_what_to_do_without_command_line_flags(store, inputs):
    """A report is read by a practice manager, and the library's words are the library's:
    no note or sentence tells anyone to pass a flag."""
    reports_made = [
        build_weekly_report(read_report_inputs(store, [PRACTICE], "2025-W20"), PRACTICE),  # no calls at all
        build_weekly_report(dataclasses.replace(inputs, slots=inputs.slots.iloc[0:0]), PRACTICE, forecast=False),
        build_weekly_report(inputs, PRACTICE, model="arima"),
    ]
    said = [
        text
        for rep in reports_made
        for section in (rep.headline, rep.arrival, rep.capacity, rep.next_week, rep.forecast_check, rep.quality)
        for text in section.notes + getattr(section, "sentences", [])
    ]
    assert any("or report on another week" in t for t in said)
    assert not [t for t in said if re.search(r"(?<![\w-])--[a-z]", t)]
