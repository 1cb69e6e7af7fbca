"""The federation comparison, page and commands, on the demo federation (three practices, eight
weeks from Monday 3 March 2025) and on hand-made calls."""

from __future__ import annotations

import datetime as dt
import io
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import cli
from cli import main
from demand.queue import nhs_metrics
from demand.simulation.demo import run_demo
from reports.federation import (
    build_federation_page,
    compare_practices,
    comparison_table,
    read_federation_comparison,
    render_federation_html,
    write_federation_report,
)
from reports.week import report_week
from telephony.practices import registry_history
from telephony.store import open_store

FED = "Example Valley GP Federation"
WEEK = "2025-W17"  # Monday 21 to Sunday 27 April 2025, the demo's last week
# Ofcom's drama numbers, however written (the demo's callers ring from them)
DRAMA = re.compile(
    r"(?:\+?44[ \-]?\(?0?\)?|0)[ \-]?(?:7700[ \-]?900[ \-]?\d{3}|1632[ \-]?960[ \-]?\d{3}|20[ \-]?7946[ \-]?0\d{3})"
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("FRONTDOOR_KEY", "test-key-not-secret")
    out = tmp_path_factory.mktemp("federation_demo")
    run_demo(out, weeks=8, seed=7, start_date=dt.date(2025, 3, 3))
    yield out
    mp.undo()


@pytest.fixture(scope="module")
def store(demo):
    return open_store(demo / "store")


def test_comparison_agrees_with_the_nhs_metrics_and_adds_up(store):
    c = read_federation_comparison(store, FED.lower(), "2025-03-01", "2025-03-31", period="month")
    p = c.practices.set_index("practice_id")
    calls = store.read_calls(None, "2025-03-01", "2025-04-01")
    nhs = nhs_metrics(calls, start="2025-03-01", end="2025-04-01").set_index("practice_id")
    # one definition, two implementations: inbound calls and answered agree; the CBT's missed
    # is the contract's missed plus queue hang-ups
    assert (p["inbound_calls"] == nhs["inbound_calls"]).all()
    assert (p["answered"] == nhs["answered"]).all()
    assert (p["missed"] == nhs["missed"] + nhs["abandoned"]).all()
    assert (p["callback_requested"] == nhs["callbacks_requested"]).all()
    fed = c.totals[c.totals["level"] == "federation"].iloc[0]
    assert fed["inbound_calls"] == p["inbound_calls"].sum()
    assert fed["inbound_calls_per_1000"] == pytest.approx(p["inbound_calls"].sum() / p["list_size"].sum() * 1000)
    assert p.loc["A81001", "inbound_calls_per_1000"] == pytest.approx(p.loc["A81001", "inbound_calls"] / 6.0)
    # each row says where its figures come from, and what its system cannot tell
    assert p["source_format"].to_dict() == {"A81001": "asterisk_queue_log", "A81002": "threecx_report", "A81003": "xon_surgery_connect"}
    assert p.loc["A81001", "cannot_tell"] == "ended_ivr" and np.isnan(p.loc["A81001", "ended_ivr_share"])
    assert p.loc["A81002", "cannot_tell"] == "callback_requested"
    assert set(c.systems["practice_id"]) == {"A81001", "A81002", "A81003"}
    # peers: with list sizes only in the demo registry, each practice's peers are the others
    assert c.peers.set_index("practice_id").loc["A81001", "peers"] == "A81002, A81003"


def _calls(counts: dict[str, dict[str, int]]) -> pd.DataFrame:
    rows = []
    for pid, outcomes in counts.items():
        for outcome, n in outcomes.items():
            rows += [(pid, pd.Timestamp("2026-01-05 09:00", tz="Europe/London") + pd.Timedelta(minutes=i), "inbound", outcome, 30.0,
                      "asterisk_cdr_csv") for i in range(n)]
    df = pd.DataFrame(rows, columns=["practice_id", "start_utc", "direction", "outcome", "wait_s", "source_format"])
    df["start_utc"] = df["start_utc"].dt.tz_convert("UTC")
    return df


def _registry():
    return pd.DataFrame({"practice_id": ["P1", "P2", "P3"], "name": ["One", "Two", "Three"], "list_size": [6000, 9000, 3000],
                         "pcn_code": ["U1", "U1", "U1"], "pcn_name": ["North"] * 3, "federation": ["Fed"] * 3,
                         "valid_from": pd.NaT})


def test_small_counts_leave_the_practice_suppressed_and_unrecoverable():
    calls = _calls({"P1": {"answered": 60, "missed": 30, "callback": 3, "ivr_abandoned": 7},
                    "P2": {"answered": 80, "missed": 20, "callback": 12, "ivr_abandoned": 8},
                    "P3": {"answered": 40, "missed": 9, "callback": 6, "ivr_abandoned": 5}})
    c = compare_practices(calls, _registry(), period="week", peers=2)
    t = comparison_table(c).set_index(["level", "practice_id"])
    assert t.loc[("practice", "P1"), "callback_requested"] == "<5"
    assert t.loc[("practice", "P1"), "callback_requested_share"] == "*"
    # 3 = 100 - 60 - 30 - 7 - 0 and 3 = the federation's 21 - 12 - 6: both ways are closed
    hidden_row = [c for c in ("inbound_calls", "answered", "ended_ivr", "missed", "other") if t.loc[("practice", "P1"), c] == "*"]
    assert hidden_row
    others = [t.loc[("practice", p), "callback_requested"] for p in ("P2", "P3")]
    assert "*" in others
    # the page shows the same suppressed cells
    page = build_federation_page("Fed", report_week("2026-W02"), c, [])
    html = render_federation_html(page, charts={})
    assert "&lt;5" in html


def test_federation_page_links_each_practices_report_built_in_parallel(store, tmp_path):
    seen = []
    files = write_federation_report(store, FED, WEEK, tmp_path / "fed", workers=2, model="seasonal_naive",
                                    progress=lambda done, total, p: seen.append((done, total, p)))
    assert sorted(p for _, _, p in seen) == ["A81001", "A81002", "A81003"]
    assert [d for d, _, _ in seen] == [1, 2, 3] and {t for _, t, _ in seen} == {3}
    html = files.page.read_text(encoding="utf-8")
    for pid, path in files.reports.items():
        assert path.exists() and path.parent == files.page.parent
        assert f'href="{path.name}"' in html
        assert pid in path.read_text(encoding="utf-8")
    assert html.count('<img src="data:image/png;base64,') == 1  # the funnel plot
    assert "Example Valley PCN" in html and "asterisk_queue_log" in html
    assert "chance of too few slots" in html
    visible = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "data:", html)
    assert not DRAMA.search(visible)
    calls = store.read_calls(None, columns=["caller_key", "agent_key"])
    keys = set(calls["caller_key"].dropna()) | set(calls["agent_key"].dropna())
    assert keys and not [k for k in keys if k in visible]


def test_benchmark_command_prints_the_suppressed_comparison(demo):
    res = CliRunner().invoke(main, ["benchmark", "--federation", FED, "--peers", "2", "--store", str(demo / "store"),
                                    "--format", "csv"])
    assert res.exit_code == 0, res.output
    t = pd.read_csv(io.StringIO(res.output))
    assert t["level"].tolist() == ["practice"] * 3 + ["pcn", "federation"]
    assert t["period"].unique().tolist() == ["2025-04-21"]  # the latest complete week
    assert t.loc[t["level"] == "federation", "inbound_calls"].iloc[0] == t.loc[t["level"] == "practice", "inbound_calls"].sum()
    table = CliRunner().invoke(main, ["benchmark", "--federation", FED, "--store", str(demo / "store")])
    assert table.exit_code == 0 and "A81002, A81003" in table.output and "%" in table.output
    bad = CliRunner().invoke(main, ["benchmark", "--federation", "Nowhere", "--store", str(demo / "store")])
    assert bad.exit_code == 1
    assert bad.output == f"Error: No practice in the federation 'Nowhere': the registry knows '{FED}'.\n"


def test_report_for_several_practices_writes_each_or_refuses(demo, tmp_path, monkeypatch):
    written = []

    def fake(store, practice, week, out=None, pdf=False):
        written.append((practice, week.iso, out))
        from reports.weekly import ReportFiles
        return ReportFiles(practice, week, tmp_path / f"{practice}.html")

    monkeypatch.setattr(cli, "write_weekly_report", fake)
    s = str(demo / "store")
    res = CliRunner().invoke(main, ["report", "--practice", "A81001", "--practice", "a81002", "--week", WEEK, "--out",
                                    str(tmp_path / "out"), "--store", s])
    assert res.exit_code == 0, res.output
    assert [(p, w) for p, w, _ in written] == [("A81001", WEEK), ("A81002", WEEK)]
    assert all(o == tmp_path / "out" for _, _, o in written)  # a folder: each gets its own name in it
    one_file = CliRunner().invoke(main, ["report", "--practice", "A81001", "--practice", "A81002", "--out",
                                         str(tmp_path / "x.html"), "--store", s])
    assert one_file.exit_code == 1 and "2 practices make 2 pages: give --out a folder, not the file x.html" in one_file.output
    both = CliRunner().invoke(main, ["report", "--practice", "A81001", "--federation", FED, "--store", s])
    assert both.exit_code == 1 and "not both" in both.output
    neither = CliRunner().invoke(main, ["report", "--store", s])
    assert neither.exit_code == 1 and "Give --practice ODS" in neither.output


def test_report_federation_command_shows_progress(demo, tmp_path, monkeypatch):
    # the practices' reports are tested above and in test_weekly: here a stand-in writes them,
    # so that the command's wiring (progress, files, the page) is what is under test
    import reports.federation as fed

    def one_report(store_root, practice, week_iso, out_dir, *args):
        name = f"frontdoor-report-{practice}-{week_iso}.html"
        (tmp_path / "f" / name).write_text(practice, encoding="utf-8")
        return fed.PracticeSummary(practice, None, name, calls=100.0, people=60.0, ttg_p50_s=90.0)

    monkeypatch.setattr(fed, "_one_report", one_report)
    res = CliRunner().invoke(main, ["report", "--federation", FED, "--week", WEEK, "--out", str(tmp_path / "f"), "--workers", "1",
                                    "--store", str(demo / "store")])
    assert res.exit_code == 0, res.output
    assert "[1/3] A81001 written" in res.output and "[3/3] A81003 written" in res.output
    assert "Federation page: " in res.output
    assert (tmp_path / "f" / "frontdoor-federation-example-valley-gp-federation-2025-W17.html").exists()
