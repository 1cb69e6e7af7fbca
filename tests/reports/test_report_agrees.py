"""The weekly report agrees with itself: every number a sentence states is the one its table
shows, read back from the HTML as a person reads the page (a 12-week demo, its last complete
week, A81001 and A81003: two phone systems, two clinical systems)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

WAIT = re.compile(r"at once|within (\d+) (second|minute)s?")


class Page(HTMLParser):
    """Sections of a report page: their sentences (list items and paragraphs) and tables
    (header texts, then rows of cell texts)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sections: dict[str, dict] = {}
        self._sec = None
        self._text = None
        self._row = None
        self._table = None
        self._cell = None
        self._in_head = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self._sec = self.sections.setdefault(a.get("id"), {"sentences": [], "tables": [], "classes": []})
        elif self._sec is None:
            return
        elif tag in ("li", "p"):
            self._text = [a.get("class") or "", ""]
        elif tag == "table":
            self._table = {"class": a.get("class") or "", "head": [], "rows": []}
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if self._sec is None:
            return
        if tag in ("li", "p") and self._text is not None:
            self._sec["sentences"].append(tuple(self._text))
            self._text = None
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            (self._table["head"] if self._in_head else self._table["rows"]).append(self._row)
            self._row = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "table":
            self._sec["tables"].append(self._table)
            self._table = None
        elif tag == "section":
            self._sec = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        elif self._text is not None:
            self._text[1] += data


def table(section: dict, cls: str) -> dict:
    return next(t for t in section["tables"] if cls in t["class"].split())


def cell_wait(cell: str) -> str:
    """A table's time as the sentence says it: ``7 min`` -> ``within 7 minutes``."""
    if cell == "at once":
        return cell
    n, unit = cell.split()
    return f"within {n} {'second' if unit == 's' else 'minute'}{'' if n == '1' else 's'}"


@pytest.fixture(scope="module", params=["A81001", "A81003"])
def page(request, demo12, tmp_path_factory):
    from reports import read_last_complete_week, write_weekly_report
    from telephony.store import open_store

    store = open_store(demo12 / "store")
    out = tmp_path_factory.mktemp("agrees")
    files = write_weekly_report(store, request.param, read_last_complete_week(store, request.param), out)
    text = files.html.read_text(encoding="utf-8")
    p = Page()
    p.feed(text)
    return p.sections, text


def test_the_headline_sentences_state_the_tables_numbers(page):
    sections, _ = page
    h = sections["headline"]
    rows = table(h, "headline")["rows"]

    def row(label: str) -> list[str]:  # the first cell is the label then its help text
        return next(r for r in rows if r[0].startswith(label))

    said = " ".join(t for _, t in h["sentences"])
    calls, people = row("Calls"), row("People who rang")
    m = re.search(r"the practice had ([\d,]+) calls? from ([\d,]+) people", said)
    assert m and (m.group(1), m.group(2)) == (calls[1], people[1])
    sl = row("Answered within 60 s")
    m = re.search(r"(\d+%) of queued calls were answered within 60 seconds", said)
    assert m and m.group(1) == sl[1]
    p50, p90 = row("Time to get through: median"), row("Time to get through: 9 in 10")
    m = re.search(r"half of the people who got through did so (at once|within \d+ \w+), and 9 in 10 "
                  r"(at once|within \d+ \w+)(?: \(the week before: (at once|within \d+ \w+)\))?", said)
    assert m, said
    assert m.group(1) == cell_wait(p50[1]) and m.group(2) == cell_wait(p90[1])
    if m.group(3):
        assert m.group(3) == cell_wait(p90[2])
    # a real distribution of times is never "0 s"
    for r in (p50, p90):
        assert "0 s" not in r[1:] and all(c == "at once" or re.fullmatch(r"[1-9]\d* (s|min)|\d+ h \d\d min|\u2013", c)
                                          for c in (r[1], r[2], r[4]))


def test_next_weeks_sentence_states_the_forecast_table(page):
    sections, _ = page
    n = sections["next-week"]
    t = table(n, "forecast-days")
    said = next(text for cls, text in n["sentences"] if cls == "forecast-sentence")
    m = re.search(r"About ([\d,]+) calls are expected next week, the most on (\w+) \(([\d,]+); 80% interval ([\d,]+)\u2013([\d,]+)\)", said)
    assert m, said
    day = next(r for r in t["rows"] if r[0].startswith(m.group(2)[:3]))
    assert day[1] == m.group(3) and day[2] == f"{m.group(4)}\u2013{m.group(5)}"
    values = [int(r[1].replace(",", "")) for r in t["rows"]]
    assert max(values) == int(m.group(3))
    # the week's total is the sum of the days (each rounded on its own: within half a call a day)
    assert abs(int(m.group(1).replace(",", "")) - sum(values)) <= len(values) / 2


def test_last_weeks_check_sentence_states_its_table(page):
    sections, _ = page
    c = sections["forecast-check"]
    t = table(c, "forecast-check")
    said = next(text for cls, text in c["sentences"] if cls == "check-sentence")
    m = re.search(r"the forecast was ([\d,]+) calls; there were ([\d,]+)\. .*?(\d+)% of open days", said)
    assert m, said
    week = t["rows"][-1]
    assert week[0] == "Week" and (week[2], week[1]) == (m.group(1), m.group(2))
    days = t["rows"][:-1]
    assert sum(int(r[1].replace(",", "")) for r in days) == int(m.group(2).replace(",", ""))
    inside = sum(r[5] == "yes" for r in days)
    assert week[5] == f"{inside} of {len(days)}" and round(100 * inside / len(days)) == int(m.group(3))


def test_the_clinician_changes_are_stated_alike_in_notes_and_tables(page):
    sections, _ = page
    n = sections["next-week"]
    days = table(n, "sessions")
    assert days["head"][0][2].startswith("Sessions (") and days["head"][0][3] == "Sessions planned"
    short = sum(int(r[7].replace(",", "")) for r in days["rows"] if r[7] != "\u2013")
    note = next((text for cls, text in n["sentences"] if "cannot close the gap" in text), None)
    if short:
        m = re.search(r"and ([\d,]+) same-day appointments are still short", note)
        assert m and int(m.group(1).replace(",", "")) == short
    else:
        assert note is None
    # every change in the pressure table is one of the day table's changes
    pressure = table(n, "pressure")
    changes = " ".join(r[4] for r in days["rows"])
    for r in pressure["rows"]:
        if r[5] != "\u2013":
            assert r[5] in changes
