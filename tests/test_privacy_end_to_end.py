"""No phone number from the inputs survives anywhere: the demo's exports go through the store,
every CLI table and every practice's weekly report, and none of their numbers comes out.

The demo's A81002 report once printed ``01632 960001`` under "Lines covered", and
``metrics --by-line`` printed dialled numbers: this walks every output a user sees.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from click.testing import CliRunner

from cli import main

# National significant numbers of Ofcom's drama ranges, found after separators are removed.
_NSN = re.compile(r"7700900\d{3}|1632960\d{3}|2079460\d{3}")
_SEP = re.compile(r"[\s\-().\u00a0/+]")
_IMAGES = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")
PRACTICES = ["A81001", "A81002", "A81003"]


def numbers(text: str) -> set[str]:
    return set(_NSN.findall(_SEP.sub("", text)))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from demand.simulation.demo import run_demo

    mp = pytest.MonkeyPatch()
    mp.setenv("FRONTDOOR_KEY", "test-key-not-secret")
    out = tmp_path_factory.mktemp("privacy_demo")
    run_demo(out, weeks=3, seed=11, start_date=dt.date(2025, 3, 3))
    yield out
    mp.undo()


@pytest.fixture(scope="module")
def input_numbers(demo) -> set[str]:
    found: set[str] = set()
    for f in (demo / "exports").rglob("*"):
        if f.is_file():
            found |= numbers(f.read_bytes().decode("utf-8", errors="replace"))
    assert found, "the demo's exports hold drama-range numbers (the check below can fail)"
    return found


def test_the_store_holds_no_number_from_the_inputs(demo, input_numbers):
    import pyarrow as pa
    import pyarrow.parquet as pq

    leaks = {}
    for f in sorted((demo / "store").rglob("*")):
        if not f.is_file() or f.name == ".frontdoor-key":
            continue
        if f.suffix == ".parquet":
            t = pq.read_table(f)
            text = "\n".join(
                "\n".join(str(v) for v in t[c].cast(pa.string()).to_pylist()) for c in t.column_names
            )
        else:
            text = f.read_bytes().decode("utf-8", errors="replace")
        text += "\n" + str(f.relative_to(demo))
        hit = numbers(text) & input_numbers
        if hit:
            leaks[str(f.relative_to(demo))] = sorted(hit)[:3]
    assert not leaks, leaks


@pytest.mark.parametrize(
    "args",
    [
        ["metrics", "queue", "--from", "2025-03-03", "--to", "2025-03-09", "--by-line", "--format", "csv"],
        ["metrics", "queue", "--from", "2025-03-03", "--to", "2025-03-09", "--by-line"],
        ["metrics", "callers", "--from", "2025-03-03", "--to", "2025-03-09", "--format", "json"],
        ["metrics", "nhs", "--from", "2025-03-03", "--to", "2025-03-09", "--format", "csv"],
        ["store", "info"],
        ["store", "ingests", "--format", "csv"],
        ["store", "lines"],
    ],
    ids=lambda a: " ".join(a[:3]),
)
def test_no_cli_output_holds_a_number(demo, input_numbers, args):
    res = CliRunner().invoke(main, [*args, "--store", str(demo / "store")])
    assert res.exit_code == 0, res.output
    assert not numbers(res.output) & input_numbers


def test_lines_are_labels_the_practice_can_name(demo):
    from telephony.firewall import has_number
    from telephony.store import open_store

    store = open_store(demo / "store")
    lines = store.read_calls(columns=["practice_id", "line"])
    assert not [v for v in lines["line"].dropna().unique() if has_number(v)]


@pytest.mark.parametrize("practice", PRACTICES)
def test_no_report_holds_a_number(demo, input_numbers, practice, tmp_path):
    from reports import read_last_complete_week, write_weekly_report
    from telephony.store import open_store

    store = open_store(demo / "store")
    week = read_last_complete_week(store, practice)
    files = write_weekly_report(store, practice, week, tmp_path)
    text = _IMAGES.sub("", files.html.read_text(encoding="utf-8"))
    assert not numbers(text) & input_numbers
    assert "Lines covered" in text or "lines" in text.lower()
