"""The demo is pinned: for one seed its export files hash to fixed digests and its store holds
fixed rows.

A move of code (issue 9) must not change what the demo writes. A change that does so on
purpose (a new column, a new label) re-pins these digests in the same commit and says why.
The rows are hashed without ``ingest_id`` (a new id per run) and with a fixed key.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

# Pinned when the house was put in order (issue 9), before any module moved. Re-pinned with the
# reason each time they change on purpose:
# Issue 12 (calibration to England's CBT figures for January 2026: the IVR message deals with a
# quarter of first calls, callers wait longer and balk less, more handlers for more needs; the
# 3CX practice has an IVR message now): every demo file and row changed on purpose.
EXPORTS_SHA256 = "0c3aec8f57993e5c8aea53a068ac6c4daaf3350c735111a34e06d1197f282599"
STORE_SHA256 = "a9d70a0ad1734c411f038d1cdc8505bc86156e051386abde95df14bfb4510fcf"


def _digest_exports(root) -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in (root / "exports").rglob("*") if p.is_file()):
        h.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def _digest_store(root) -> str:
    h = hashlib.sha256()
    for table in ("calls", "appointments", "gpad"):
        for part in sorted((root / "store" / table).rglob("part.parquet")):
            t = pq.read_table(part)
            t = t.drop_columns([c for c in ("ingest_id",) if c in t.column_names])
            rows = t.sort_by([(c, "ascending") for c in t.column_names if not pa.types.is_floating(t.schema.field(c).type)])
            h.update(str(part.relative_to(root)).encode() + b"\0")
            for c in rows.column_names:
                h.update(c.encode() + b"=" + repr(rows[c].to_pylist()).encode() + b"\0")
    return h.hexdigest()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from demand.simulation.demo import run_demo

    mp = pytest.MonkeyPatch()
    mp.setenv("FRONTDOOR_KEY", "pinned-demo-key")
    out = tmp_path_factory.mktemp("pinned")
    run_demo(out, weeks=2, seed=5, start_date=dt.date(2025, 10, 20))
    yield out
    mp.undo()


def test_the_demo_exports_are_pinned(demo):
    assert _digest_exports(demo) == EXPORTS_SHA256


def test_the_demo_store_rows_are_pinned(demo):
    assert _digest_store(demo) == STORE_SHA256


# The report of the demo's last complete week, its pictures and generation time left out.
# Re-pinned for issue 12's calibration (the report's figures are of the new calls) and for
# issue 11's report (shifts within headcount, the rush trade-off and replay, clinician sessions
# as changes to the usual week, next week's daily table, times to get through never "0 s").
REPORT_SHA256 = "0f1762b8a32a68735e51335b9409545dfbc025d08efb678a8561544d49d15732"


def test_the_demo_report_is_pinned(demo, tmp_path):
    import re

    from reports import read_last_complete_week, write_weekly_report
    from telephony.store import open_store

    store = open_store(demo / "store")
    files = write_weekly_report(store, "A81001", read_last_complete_week(store, "A81001"), tmp_path)
    text = files.html.read_text(encoding="utf-8")
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "data:", text)
    text = re.sub(r" Generated [^.<]*\.", "", text)
    assert hashlib.sha256(text.encode()).hexdigest() == REPORT_SHA256
