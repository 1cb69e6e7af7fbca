"""NHS Digital GPAD practice-level monthly CSV: reading, normalising the lead-time bins,
ingesting as its own ``gpad`` table, idempotence and reconciliation.

Golden rows are the fixture ``tests/data/gpad/practice_level_oct25.csv`` read by hand; the
``single_spaced`` file re-types two of its rows (single spaces, other case, other column order)
and adds a November row; ``with_problems`` has one of each kind of bad row, a blank line and a
truncated last line (no newline).
"""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest
from click.testing import CliRunner

from cli import main
from demand.appointments.mapping import bundled_appointment_mappings, sniff_slots
from demand.appointments.schema import GPAD_SCHEMA, read_gpad_counts
from demand.appointments.gpad import TIME_BETWEEN, read_gpad, sniff_gpad
from demand.appointments.ingest import ingest_appointment_file, ingest_appointments
from telephony.errors import BadInputError, FrontdoorError, InvalidPracticeError
from telephony.sources import open_source
from tests.helpers import DATA

GPAD = DATA / "gpad"
OCT = GPAD / "practice_level_oct25.csv"
SINGLE = GPAD / "practice_level_single_spaced.csv"
PROBLEMS = GPAD / "practice_level_with_problems.csv"
OCT1 = pd.Timestamp("2025-10-01", tz="UTC")

# practice, hcp_type, appt_mode, appt_status, time_between_book_and_appt, national_category, count, supplier
GOLDEN = [
    ("A81001", "GP", "Face-to-Face", "Attended", "Same Day", "General Consultation Acute", 120, "EMIS"),
    ("A81001", "GP", "Telephone", "Attended", "Same Day", "Clinical Triage", 85, "EMIS"),
    ("A81001", "GP", "Face-to-Face", "Attended", "8  to 14 Days", "General Consultation Routine", 40, "EMIS"),
    ("A81001", "GP", "Face-to-Face", "DNA", "8  to 14 Days", "General Consultation Routine", 3, "EMIS"),
    ("A81001", "Other Practice staff", "Face-to-Face", "Attended", "15  to 21 Days", "Planned Clinics", 22, "EMIS"),
    ("A81001", "Other Practice staff", "Home Visit", "Attended", "1 Day", "Home Visit", 4, "EMIS"),
    ("A81002", "GP", "Video Conference/Online", "Attended", "Same Day", "General Consultation Acute", 7, "TPP"),
    ("A81002", "Other Practice staff", "Face-to-Face", "Attended", "22  to 28 Days", "Structured Medication Review", 9, "TPP"),
    ("A81002", "Unknown", "Unknown", "Unknown", "More than 28 Days", "Inconsistent Mapping", 2, "TPP"),
]
COLS = ["practice_id", "hcp_type", "appt_mode", "appt_status", "time_between_book_and_appt", "national_category", "count", "supplier"]


def read_all(path, practices=None):
    batches = list(read_gpad(path, practices))
    table = pd.concat([b.table.to_pandas() for b in batches], ignore_index=True)
    rejects = [r for b in batches for r in b.rejects]
    skipped, unknown = Counter(), Counter()
    for b in batches:
        skipped.update(b.skipped)
        unknown.update(b.unknown)
    return table, rejects, sum(b.rows_read for b in batches), skipped, unknown


def test_golden_rows_keep_the_official_double_spaces():
    table, rejects, rows, skipped, unknown = read_all(OCT)
    assert [tuple(r) for r in table[COLS].itertuples(index=False)] == GOLDEN
    assert (table["month_start"] == OCT1).all()
    assert table["pcn_code"].unique().tolist() == ["U99001"]
    assert (rejects, rows, skipped, unknown) == ([], 9, Counter(), Counter())
    assert table["row_key"].str.fullmatch(r"g:[0-9a-f]{24}").all() and table["row_key"].nunique() == 9
    assert TIME_BETWEEN[3:6] == ("8  to 14 Days", "15  to 21 Days", "22  to 28 Days")


def test_single_spaced_input_is_read_as_the_official_bins():
    table, rejects, rows, _, unknown = read_all(SINGLE)
    assert table["time_between_book_and_appt"].tolist() == ["8  to 14 Days", "15  to 21 Days", "22  to 28 Days"]
    # Case differs in the file ("other practice staff", "face-to-face", "attended"): official spelling stored.
    assert table.loc[1, ["hcp_type", "appt_mode", "appt_status"]].tolist() == ["Other Practice staff", "Face-to-Face", "Attended"]
    assert table["month_start"].tolist() == [OCT1, OCT1, pd.Timestamp("2025-11-01", tz="UTC")]
    assert (rejects, rows, unknown) == ([], 3, Counter())
    # Same dimensions, same key: the re-typed rows are the October file's rows 3 and 5.
    oct_keys = read_all(OCT)[0]["row_key"].tolist()
    assert table["row_key"].tolist()[:2] == [oct_keys[2], oct_keys[4]]


def test_with_problems_exact_rejects_and_kept_unknown_values():
    table, rejects, rows, skipped, unknown = read_all(PROBLEMS)
    assert [(r.line, r.reason) for r in rejects] == [
        (3, "'eighty' in column 'COUNT_OF_APPOINTMENTS' is not a whole number of appointments"),
        (4, "'31OCT2025' in column 'APPOINTMENT_MONTH_START_DATE' is not the first day of a month"),
        (5, "unreadable month '32OCT2025' in column 'APPOINTMENT_MONTH_START_DATE' (expected like 01OCT2025)"),
        (6, "'A8-1001' in column 'GP_CODE' is not an ODS code"),
        (8, "NATIONAL_CATEGORY is empty"),
        (9, "'-2' in column 'COUNT_OF_APPOINTMENTS' is not a whole number of appointments"),
        (12, "expected 14 fields, found 11 (truncated, or a different layout)"),
    ]
    # Values outside the documented lists are kept as written and reported, not rejected.
    assert unknown == Counter({"APPT_MODE Video/Online": 1, "TIME_BETWEEN_BOOK_AND_APPT Unknown / Data Issue": 1})
    assert table["appt_mode"].tolist() == ["Face-to-Face", "Video/Online", "Face-to-Face"]
    assert skipped == Counter({"blank line": 1})
    assert rows == 11 == len(table) + len(rejects) + sum(skipped.values())


def test_row_accounting_is_the_chunks_own(monkeypatch):
    """Rows read and blank lines come from telephony.sources.Chunk, the one definition every
    reader shares, not from a copy of its arithmetic."""
    from telephony.sources import Chunk

    monkeypatch.setattr(Chunk, "rows_read", property(lambda self: 4242))
    monkeypatch.setattr(Chunk, "skipped", lambda self: Counter({"counted by Chunk": 1}))
    batches = list(read_gpad(PROBLEMS))
    assert batches and all(b.rows_read == 4242 for b in batches)
    assert all(b.skipped == Counter({"counted by Chunk": 1}) for b in batches)


def test_ingest_every_practice_then_again(store):
    res = ingest_appointment_file(store, OCT)
    assert (res.format, res.practice_id, res.rows_read, res.written, res.duplicates, res.rejected) == ("gpad", "*", 9, 9, 0, 0)
    assert [(p, m) for p, m, _ in store.partitions("gpad")] == [("A81001", "2025-10"), ("A81002", "2025-10")]
    counts = read_gpad_counts(store)
    assert list(counts.columns) == GPAD_SCHEMA.names
    assert sorted(tuple(r) for r in counts[COLS].itertuples(index=False)) == sorted(GOLDEN)
    again = ingest_appointments(store, [OCT, SINGLE])
    # The same file again replaces its first ingest; another file overlapping it adds 1 row.
    assert [(r.written, r.duplicates, r.rejected, r.replaced) for r in again] == [(9, 0, 0, 9), (1, 2, 0, 0)]
    assert len(read_gpad_counts(store)) == 10
    man = store.manifest()
    assert man[["table", "practice_id", "format", "rows_read", "written", "duplicates"]].values.tolist() == [
        ["gpad", "*", "gpad", 9, 9, 0],
        ["gpad", "*", "gpad", 9, 9, 0],
        ["gpad", "*", "gpad", 3, 1, 2],
    ]
    info = store.info()
    assert info[["table", "practice_id", "months", "rows", "ingests"]].values.tolist() == [
        ["gpad", "A81001", 2, 7, 3],
        ["gpad", "A81002", 1, 3, 3],
    ]
    assert info["first_utc"].tolist() == [OCT1, OCT1]


def test_ingest_one_practice_skips_the_others(store):
    res = ingest_appointment_file(store, PROBLEMS, "a81002", fmt="gpad")
    # The one row of A81002 is written; the rows of other practices (A8-1001 cannot be
    # A81002 either), good or bad, are skipped with the blank line; the truncated line is
    # rejected, whatever practice it was.
    assert (res.practice_id, res.rows_read, res.written, res.rejected, res.rows_skipped) == ("A81002", 11, 1, 1, 9)
    assert res.skipped == Counter({"other practice": 8, "blank line": 1})
    assert res.rows_read == res.written + res.duplicates + res.rejected + res.rows_skipped
    assert pd.read_csv(res.rejects_path)["line"].tolist() == [12]
    assert read_gpad_counts(store)["practice_id"].unique().tolist() == ["A81002"]
    assert store.manifest()["practice_id"].tolist() == ["A81002"]


def test_read_gpad_counts_by_months(store):
    ingest_appointments(store, [OCT, SINGLE])
    nov = read_gpad_counts(store, "A81001", "2025-11-01", "2025-12-01")
    assert nov[["month_start", "count"]].values.tolist() == [[pd.Timestamp("2025-11-01", tz="UTC"), 31]]
    assert len(read_gpad_counts(store, ["A81002"], "2025-10-01", "2025-11-01")) == 3
    assert read_gpad_counts(store, "A81002", "2025-11-01").empty


def test_sniff_tells_gpad_from_slot_reports():
    assert all(sniff_gpad(open_source(p)) == 1.0 for p in sorted(GPAD.iterdir()))
    for p in sorted((DATA / "emis_appointments").iterdir()) + sorted((DATA / "systmone_appointments").iterdir()):
        assert sniff_gpad(open_source(p)) == 0.0
    for m in bundled_appointment_mappings().values():
        assert all(sniff_slots(m, open_source(p)) == 0.0 for p in sorted(GPAD.iterdir()))


def test_other_spellings_of_the_month_and_errors(tmp_path, store):
    path = tmp_path / "gpad.csv"
    header = OCT.read_text().splitlines()[0]
    row = OCT.read_text().splitlines()[1]
    path.write_text("\n".join([header, row.replace("01OCT2025", "2025-10-01"), row.replace("01OCT2025", "01/11/2025")]) + "\n")
    table = read_all(path)[0]
    assert table["month_start"].tolist() == [OCT1, pd.Timestamp("2025-11-01", tz="UTC")]
    missing = tmp_path / "missing.csv"
    missing.write_text(header.replace(",COUNT_OF_APPOINTMENTS", "") + "\n")
    with pytest.raises(BadInputError) as exc:
        list(read_gpad(missing))
    assert str(exc.value) == (
        "missing.csv: not a gpad file: missing column(s) count = 'COUNT_OF_APPOINTMENTS' (header on line 1: "
        "'APPOINTMENT_MONTH_START_DATE', 'GP_CODE', 'GP_NAME', 'SUPPLIER', 'PCN_CODE', 'PCN_NAME', "
        "'SUB_ICB_LOCATION_CODE', 'SUB_ICB_LOCATION_NAME', 'HCP_TYPE', 'APPT_MODE', 'NATIONAL_CATEGORY', "
        "'TIME_BETWEEN_BOOK_AND_APPT', 'APPT_STATUS'). Use the practice-level CSV of NHS Digital's "
        "Appointments in General Practice publication."
    )
    with pytest.raises(InvalidPracticeError):
        list(read_gpad(OCT, ["not an ods code"]))
    with pytest.raises(FrontdoorError):
        ingest_appointment_file(store, missing, fmt="gpad")
    assert store.manifest().empty


def test_cli_gpad_without_practice(key, tmp_path):
    runner = CliRunner()
    store = tmp_path / "store"
    res = runner.invoke(main, ["ingest", "appointments", str(PROBLEMS), "--store", str(store)])
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[:2] == [
        "practice_level_with_problems.csv: gpad, 2025-10-01 to 2025-10-01: 11 rows read (1 row skipped) -> "
        "2 written, 1 duplicate, 7 rejected",
        "  unknown words: APPT_MODE Video/Online (1), TIME_BETWEEN_BOOK_AND_APPT Unknown / Data Issue (1)",
    ]
    info = runner.invoke(main, ["store", "info", "--store", str(store), "--format", "csv"])
    assert info.output.splitlines()[1:] == [
        "gpad,A81001,1,1,2025-10-01 00:00:00+00:00,2025-10-01 00:00:00+00:00,1",
        "gpad,A81002,1,1,2025-10-01 00:00:00+00:00,2025-10-01 00:00:00+00:00,1",
    ]
