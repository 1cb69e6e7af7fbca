"""Data safety of the store: the key, re-ingests, taking an ingest back, dry runs, the practice
check, damaged files and line labels (issue 8, points 3, 7 and 8)."""

from __future__ import annotations

import json
import os

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from cli import main
from telephony.errors import KeyMismatchError, KeyMissingError, StoreDamagedError, StoreError
from telephony.firewall import is_line_label, line_label
from telephony.ingest import ingest_file
from telephony.privacy import KEY_FILE_NAME
from telephony.store import Store
from tests.helpers import DATA

PRACTICE = "A81001"
QLOG = DATA / "asterisk_queue_log" / "queue_log"
CDR16 = DATA / "asterisk_cdr_csv" / "Master_16.csv"  # no call ids: the ingest hashes them


def snapshot(root) -> dict[str, bytes]:
    """Every file of the store and its bytes (the writers' lock file is not data)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"}


# ----------------------------------------------------------------------------- the key


def test_another_key_is_refused_and_says_how_to_rotate(tmp_path, monkeypatch):
    """Changing FRONTDOOR_KEY between ingests re-pseudonymised every caller (3 calls became 9)."""
    monkeypatch.setenv("FRONTDOOR_KEY", "first-key")
    store = Store(tmp_path / "s", create=True)
    ingest_file(store, QLOG, PRACTICE)
    n = len(store.read_calls())
    before = snapshot(store.root)
    monkeypatch.setenv("FRONTDOOR_KEY", "second-key")
    with pytest.raises(KeyMismatchError) as info:
        ingest_file(Store(store.root), QLOG, PRACTICE)
    msg = str(info.value)
    assert "created with another pseudonymisation key" in msg and "create a new store" in msg
    assert "first-key" not in msg and "second-key" not in msg  # fingerprints, never keys
    assert snapshot(store.root) == before
    assert len(store.read_calls()) == n
    res = CliRunner().invoke(main, ["ingest", "calls", str(QLOG), "--practice", PRACTICE, "--store", str(store.root)])
    assert res.exit_code == 1 and "created with another pseudonymisation key" in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_a_key_file_that_is_a_directory_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.delenv("FRONTDOOR_KEY", raising=False)
    root = tmp_path / "s"
    (root / KEY_FILE_NAME).mkdir(parents=True)
    with pytest.raises(KeyMissingError, match="is a directory, not a key file"):
        Store(root, create=True)
    res = CliRunner().invoke(main, ["ingest", "calls", str(QLOG), "--practice", PRACTICE, "--store", str(root)])
    assert res.exit_code == 1 and "is a directory, not a key file" in res.output and "Frontdoor bug" not in res.output


# ----------------------------------------------------------------------------- re-ingest replaces


def test_reingest_with_another_timezone_replaces_never_adds(store):
    """A format without call ids: a re-ingest with another --timezone added 53% before."""
    first = ingest_file(store, CDR16, PRACTICE)
    calls = store.read_calls().set_index("call_id").sort_index()
    again = ingest_file(store, CDR16, PRACTICE, timezone="America/New_York")
    after = store.read_calls().set_index("call_id").sort_index()
    assert len(after) == len(calls) == first.written
    assert list(after.index) == list(calls.index)  # call identity does not depend on the zone
    shift = (after["start_utc"] - calls["start_utc"]).unique()
    assert len(shift) == 1 and shift[0] == pd.Timedelta(hours=5)  # January: London UTC+0, New York UTC-5
    assert (again.replaced, again.replaces) == (first.written, [first.ingest_id])
    assert store.ingests()["status"].tolist() == [f"replaced by {again.ingest_id}", "active"]


def test_reingest_replaces_rows_in_partitions_it_no_longer_writes(store, tmp_path):
    """The first ingest's rows are removed across partitions, even where the second writes none."""
    f = tmp_path / "Master.csv"
    # 23:30 on 31 January is 23:30 UTC in London but 04:30 UTC on 1 February in New York.
    f.write_text(
        '"","07700900101","200","from-pstn","""Caller"" <07700900101>","PJSIP/trunk-1","PJSIP/200-2",'
        '"Dial","PJSIP/200","2026-01-31 23:30:00","2026-01-31 23:30:05","2026-01-31 23:31:00",60,55,'
        '"ANSWERED","DOCUMENTATION"\n'
    )
    ingest_file(store, f, PRACTICE)
    assert [m for _, m, _ in store.partitions()] == ["2026-01"]
    again = ingest_file(store, f, PRACTICE, timezone="America/New_York")
    assert [m for _, m, _ in store.partitions()] == ["2026-02"]  # January's partition emptied and gone
    assert not (store.root / "calls" / f"practice_id={PRACTICE}" / "month=2026-01").exists()
    assert len(store.read_calls()) == 1 and again.replaced == 1


# ----------------------------------------------------------------------------- taking an ingest back


def test_remove_takes_back_exactly_one_ingest(store, tmp_path):
    a = ingest_file(store, QLOG, PRACTICE)
    b = ingest_file(store, CDR16, PRACTICE)
    n_a = len(store.read_calls().query("source_format == 'asterisk_queue_log'"))
    removed = store.remove_ingest(b.ingest_id)
    assert removed == b.written
    left = store.read_calls()
    assert len(left) == n_a and set(left["ingest_id"]) == {a.ingest_id}
    man = store.manifest()
    assert man["action"].tolist() == ["ingest", "ingest", "remove"]
    assert man.iloc[-1]["target"] == b.ingest_id and man.iloc[-1]["replaced"] == b.written
    assert store.ingests().set_index("ingest_id")["status"].to_dict() == {a.ingest_id: "active", b.ingest_id: "removed"}
    with pytest.raises(StoreError, match="is removed"):
        store.remove_ingest(b.ingest_id)
    with pytest.raises(StoreError, match="no ingest 'nope'"):
        store.remove_ingest("nope")
    # Ingested again after the removal, the file comes back whole.
    again = ingest_file(store, CDR16, PRACTICE)
    assert again.written == b.written and again.replaced == 0


def test_a_removal_cut_short_is_finished_by_the_next_writer(store):
    """All or nothing: the journal written first lets the next writer finish a removal."""
    res = ingest_file(store, QLOG, PRACTICE)
    journal = store.root / ".journal" / f"remove-{res.ingest_id}.json"
    journal.parent.mkdir()
    journal.write_text(json.dumps({"remove": res.ingest_id}))  # as if the process died here
    assert len(store.read_calls()) == res.written
    with store.lock():
        pass
    assert len(store.read_calls()) == 0
    assert store.ingests()["status"].tolist() == ["removed"]
    assert not journal.exists()


def test_remove_works_for_appointments_and_gpad(store):
    from demand.appointments.ingest import ingest_appointment_file

    slots = ingest_appointment_file(store, DATA / "emis_appointments" / "appointment_slots.csv", PRACTICE)
    gpad = ingest_appointment_file(store, DATA / "gpad" / "practice_level_oct25.csv")
    assert store.remove_ingest(slots.ingest_id) == slots.written
    assert store.remove_ingest(gpad.ingest_id) == gpad.written
    assert store.partitions("appointments") == [] and store.partitions("gpad") == []


def test_cli_ingests_and_remove(store):
    runner = CliRunner()
    out = runner.invoke(main, ["ingest", "calls", str(QLOG), "--practice", PRACTICE, "--store", str(store.root)])
    assert out.exit_code == 0 and "frontdoor store remove --ingest " in out.output
    listing = runner.invoke(main, ["store", "ingests", "--store", str(store.root), "--format", "json"])
    rows = json.loads(listing.output)
    assert [r["status"] for r in rows] == ["active"]
    gone = runner.invoke(main, ["store", "remove", "--ingest", rows[0]["ingest_id"], "--store", str(store.root)])
    assert gone.exit_code == 0 and f"{rows[0]['written']:,} rows taken out" in gone.output
    assert store.read_calls().empty


# ----------------------------------------------------------------------------- dry run and practice check


def test_dry_run_writes_nothing_and_counts_what_an_ingest_would(store):
    before = snapshot(store.root)
    dry = ingest_file(store, QLOG, PRACTICE, dry_run=True)
    assert snapshot(store.root) == before
    assert dry.summary().startswith("dry run, nothing written: ")
    real = ingest_file(store, QLOG, PRACTICE)
    assert (dry.rows_read, dry.written, dry.duplicates, dry.rejected) == (
        real.rows_read, real.written, real.duplicates, real.rejected
    )
    again = ingest_file(store, QLOG, PRACTICE, dry_run=True)
    assert again.replaced == real.written
    res = CliRunner().invoke(main, ["ingest", "calls", str(QLOG), "--practice", PRACTICE, "--dry-run", "--store", str(store.root)])
    assert res.exit_code == 0 and "dry run, nothing written" in res.output and "store remove" not in res.output


def _did_file(tmp_path, name: str, did: str) -> object:
    """A FreePBX-style CDR export of two inbound calls to the DID ``did``."""
    f = tmp_path / name
    rows = [
        f'"","0770090010{i}","{did}","from-pstn","""Caller"" <0770090010{i}>","PJSIP/trunk-{i}","PJSIP/200-{i}",'
        f'"Dial","PJSIP/200","2026-01-0{i} 09:00:00","2026-01-0{i} 09:00:05","2026-01-0{i} 09:01:00",60,55,'
        '"ANSWERED","DOCUMENTATION"'
        for i in (5, 6)
    ]
    f.write_text("\n".join(rows) + "\n")
    return f


def test_a_file_for_another_practice_warns_naming_it(store, tmp_path):
    """Another practice's export went into A81001 silently and nearly tripled its week."""
    ingest_file(store, _did_file(tmp_path, "b.csv", "01632960002"), "A81002")
    ingest_file(store, _did_file(tmp_path, "a.csv", "01632960001"), PRACTICE)
    wrong = ingest_file(store, _did_file(tmp_path, "b2.csv", "+44 1632 960002"), PRACTICE, dry_run=True)
    assert any("belong to A81002" in w for w in wrong.warnings), wrong.warnings
    assert "belong to A81002" in wrong.summary()
    right = ingest_file(store, _did_file(tmp_path, "a2.csv", "01632 960001"), PRACTICE, dry_run=True)
    assert right.warnings == []


def test_a_phone_system_another_practice_uses_warns(store, tmp_path):
    ingest_file(store, QLOG, PRACTICE)
    ingest_file(store, CDR16, "A81002")
    res = ingest_file(store, CDR16, PRACTICE, dry_run=True)
    assert any("never asterisk_cdr_csv, which is A81002's phone system" in w for w in res.warnings), res.warnings


# ----------------------------------------------------------------------------- damaged files


def test_a_corrupted_partition_says_store_damaged_at_path(store):
    ingest_file(store, QLOG, PRACTICE)
    (_, _, part), = store.partitions()
    part.write_bytes(b"PAR1 this is not a parquet file")
    with pytest.raises(StoreDamagedError, match=f"store damaged at {part}") as info:
        store.read_calls()
    assert "delete it and ingest again" in str(info.value)
    for args in (["store", "info"], ["metrics", "queue", "--from", "2026-01-05", "--to", "2026-01-05"]):
        res = CliRunner().invoke(main, [*args, "--store", str(store.root)])
        assert res.exit_code == 1 and "store damaged at" in res.output and "Frontdoor bug" not in res.output


def test_a_corrupted_manifest_says_store_damaged(store):
    ingest_file(store, QLOG, PRACTICE)
    store.manifest_path.write_bytes(b"garbage")
    with pytest.raises(StoreDamagedError, match="ingests.parquet"):
        store.manifest()
    res = CliRunner().invoke(main, ["ingest", "calls", str(QLOG), "--practice", PRACTICE, "--store", str(store.root)])
    assert res.exit_code == 1 and "store damaged at" in res.output


# ----------------------------------------------------------------------------- line labels


def test_a_did_in_any_spelling_is_one_keyed_label(key):
    spellings = ["01632960001", "01632 960001", "+44 1632 960001", "0044\u00a01632\t960001", "Main 01632-960001"]
    labels = {line_label(s, key) for s in spellings}
    assert len(labels) == 1 and is_line_label(labels.pop())
    assert line_label("Appointments", key) == "Appointments"  # queue names are not personal data
    assert line_label("PR Welcome message (801)", key) == "PR Welcome message (801)"
    assert line_label("01632960001", b"another key") != line_label("01632960001", key)


def test_lines_are_labelled_listed_and_named(store, tmp_path):
    ingest_file(store, _did_file(tmp_path, "a.csv", "01632960001"), PRACTICE)
    calls = store.read_calls()
    label = calls["line"].iloc[0]
    assert is_line_label(label) and label == line_label("01632960001", store.key())
    assert store.lines()[["practice_id", "label"]].values.tolist() == [[PRACTICE, label]]
    runner = CliRunner()
    res = runner.invoke(main, ["store", "lines", "--practice", PRACTICE, "--name", label, "Reception", "--store", str(store.root)])
    assert res.exit_code == 0, res.output
    assert set(store.read_calls()["line"]) == {"Reception"}
    bad = runner.invoke(main, ["store", "lines", "--practice", PRACTICE, "--name", label, "Line 01632 960001", "--store", str(store.root)])
    assert bad.exit_code == 1 and "without a phone number" in bad.output and "960001" not in bad.output


# ----------------------------------------------------------------------------- outputs


def test_formula_cells_are_neutralised_in_every_csv(store, tmp_path):
    f = tmp_path / "queue_log"
    f.write_text(
        "1767603600|1767603600.1|main|NONE|ENTERQUEUE||07700900101|1\n"
        "=HYPERLINK(\"http://x\")|junk\n"
        "1767603645|1767603600.1|main|PJSIP/202|CONNECT|45|1767603645.2|3\n"
        "1767603885|1767603600.1|main|PJSIP/202|COMPLETECALLER|45|240|1\n"
    )
    res = ingest_file(store, f, PRACTICE, fmt="asterisk_queue_log")
    text = res.rejects_path.read_text()
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text
    from telephony.firewall import neutralise_csv

    df = neutralise_csv(pd.DataFrame({"a": ["=1+1", "+SUM(A1)", "@cmd", "-5", "plain"], "n": [-1, 2, 3, 4, 5]}))
    assert df["a"].tolist() == ["'=1+1", "'+SUM(A1)", "'@cmd", "-5", "plain"]
    assert df["n"].tolist() == [-1, 2, 3, 4, 5]


def test_a_number_in_a_file_name_never_leaves(store, tmp_path):
    f = tmp_path / "calls from 07700 900123.log"
    f.write_bytes(QLOG.read_bytes() + b"garbage line\n")
    res = CliRunner().invoke(main, ["ingest", "calls", str(f), "--practice", PRACTICE, "--store", str(store.root)])
    assert res.exit_code == 0, res.output
    assert "900123" not in res.output
    assert not store.manifest()["file_name"].str.contains("900123").any()
    rejects = list(store.rejects_dir.glob("*.csv"))
    assert rejects and all("900123" not in p.read_text() for p in rejects)


def test_no_call_id_is_a_number_of_its_own_row():
    """call_id is kept as the source gives it: never a phone number from the same row."""
    from telephony.formats import FORMATS, ReadContext
    from telephony.ingest import detect_format
    from telephony.privacy import normalise_number
    from telephony.sources import open_source
    from tests.helpers import APPOINTMENT_FIXTURE_DIRS

    checked = 0
    for d in sorted(p for p in DATA.iterdir() if p.is_dir() and p.name not in APPOINTMENT_FIXTURE_DIRS):
        for f in sorted(p for p in d.rglob("*") if p.is_file()):
            try:
                src = open_source(f)
                fmt = FORMATS[d.name] if d.name in FORMATS else detect_format(src)
                chunks = list(fmt.read(src, ReadContext()))
            except Exception:
                continue
            for c in chunks:
                for cid, caller, line in zip(c.calls["call_id"], c.calls["caller"], c.calls["line"]):
                    if pd.isna(cid):
                        continue
                    numbers = {normalise_number(v) for v in (caller, line) if isinstance(v, str)} - {None}
                    assert normalise_number(cid) not in numbers or not str(cid).strip(), (f.name, "call id is a number")
                    checked += 1
    assert checked > 100


def test_a_source_id_spelt_like_a_phone_number_is_hashed(store, tmp_path):
    """Found by the fuzz test: a FreePBX export with a column out of place put the DID where
    uniqueid belongs, and call_id (which passes the firewall as the source gives it) held it."""
    from telephony.ingest import _no_number_ids
    from telephony.privacy import Pseudonymiser
    import pyarrow as pa

    ids = pa.array(["1767600001.1", "01632960000", "+441632960001", "CA1234abcd", "1767600001", None])
    out = _no_number_ids(ids, Pseudonymiser(b"k")).to_pylist()
    assert out[0] == "1767600001.1" and out[3] == "CA1234abcd" and out[4] == "1767600001" and out[5] is None
    assert out[1].startswith("h:") and out[2].startswith("h:") and out[1] != out[2]
    assert _no_number_ids(pa.array(["01632960000"]), Pseudonymiser(b"k")).to_pylist() == [out[1]]  # stable
