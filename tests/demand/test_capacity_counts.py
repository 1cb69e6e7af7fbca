"""Summary counts of capacity: SystmOne's booked-appointments grid (day × clinician) and its
summaries by staff and slot type for a period (total/unused slots, DNAs), read through the
bundled capacity count mappings into the ``capacity_counts`` table.

Fixtures in ``tests/data/systmone_summary/`` are hand-made (invented staff, no real person),
shaped like the real public SystmOne downloads the templates were checked against: every
value double-quoted, ``01 Aug 2025`` dates with a ``Day`` column, a row for every day with
``0`` for no appointments, a ``Branch`` column and durations in minutes, double spaces in slot
types, one staff and slot type listed twice. Golden values are computed by hand from them.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from cli import main
from demand.appointments.mapping import load_appointment_mapping
from demand.appointments.schema import CAPACITY_SCHEMA, read_appointments, read_capacity_counts
from demand.appointments.counts import (
    RAW_COUNT_COLUMNS,
    bundled_capacity_mappings,
    load_capacity_mapping,
    read_counts,
    sniff_counts,
)
from demand.appointments.ingest import (
    appointment_formats,
    ingest_appointment_file,
    load_any_appointment_mapping,
)
from telephony.errors import BadInputError, FrontdoorError, MappingError
from telephony.ingest import detect_format
from telephony.privacy import KEY_FILE_NAME, Pseudonymiser
from telephony.sources import open_source
from tests.helpers import DATA

S1 = DATA / "systmone_summary"
PRACTICE = "A81001"
JAN = (dt.date(2026, 1, 5), dt.date(2026, 1, 30))
STAFF = ("Dr Pretend Alpha", "Mrs Pretend Gamma", "Dr Pretend Locum", "HCA Pretend Delta", "Practice Nurse")


def read_all(name: str, path: Path, period=None):
    """Every chunk of a read joined: counts, rejects, records read, skipped, unknown, notes."""
    counts, rejects, rows, skipped, unknown, notes = [], [], 0, Counter(), Counter(), []
    for ch in read_counts(bundled_capacity_mappings()[name], open_source(path), period):
        counts.append(ch.records)
        rejects.extend(ch.rejects)
        rows += ch.rows_read
        skipped.update(ch.skipped)
        unknown.update(ch.unknown)
        notes += ch.notes
    return pd.concat(counts, ignore_index=True), rejects, rows, skipped, unknown, notes


def reconciled(res) -> bool:
    return res.rows_read == res.written + res.duplicates + res.rejected + res.rows_skipped + res.rows_merged


def day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


# ----------------------------------------------------------------------------- the bundled templates


def test_bundled_summary_templates_say_they_were_checked_against_real_downloads():
    ms = bundled_capacity_mappings()
    assert set(ms) == {"systmone_booked_grid", "systmone_slot_summary", "systmone_dna_summary"}
    assert {m.evidence for m in ms.values()} == {"real"}
    assert ms["systmone_booked_grid"].grid.cells == "booked" and ms["systmone_booked_grid"].dated
    summary = ms["systmone_slot_summary"]
    assert not summary.dated and summary.optional == ("site", "minutes_total", "minutes_unused")
    assert summary.required_columns() == ["clinician", "slot_type", "total", "unused"]
    # The slot formats and GPAD are still there, beside them.
    assert set(appointment_formats()) == {
        "emis_appointments", "systmone_appointments", "systmone_booked_grid", "systmone_dna_summary",
        "systmone_slot_summary", "gpad",
    }


@pytest.mark.parametrize(
    "path, name",
    [
        (S1 / "booked_grid.csv", "systmone_booked_grid"),
        (S1 / "booked_grid_with_problems.csv", "systmone_booked_grid"),
        (S1 / "slot_summary.csv", "systmone_slot_summary"),
        (S1 / "slot_summary_with_problems.csv", "systmone_slot_summary"),
        (S1 / "dna_summary.csv", "systmone_dna_summary"),
    ],
    ids=lambda v: v.name if isinstance(v, Path) else v,
)
def test_each_summary_layout_is_detected_as_itself_only(path, name):
    src = open_source(path)
    assert detect_format(src, appointment_formats(), "an appointment export").name == name
    scores = {n: sniff_counts(m, src) for n, m in bundled_capacity_mappings().items()}
    assert scores == {n: (1.0 if n == name else 0.0) for n in scores}


def test_other_fixtures_are_not_summary_reports():
    for path in sorted(p for p in DATA.rglob("*") if p.is_file() and p.parent != S1):
        try:
            src = open_source(path)
        except FrontdoorError:
            continue
        for m in bundled_capacity_mappings().values():
            assert sniff_counts(m, src) < 0.9, (path.name, m.name)


# ----------------------------------------------------------------------------- the grid


def test_systmone_grid_of_booked_appointments_by_clinician_and_day():
    """One record per day × clinician cell; zero cells (weekends, days not worked) skipped."""
    counts, rejects, rows, skipped, unknown, notes = read_all("systmone_booked_grid", S1 / "booked_grid.csv")
    assert rejects == [] and unknown == Counter()
    assert rows == 8 * 5 and skipped == Counter({"zero or empty cell": 25})
    got = {(r.clinician, str(r.period_start.date())): r.booked for r in counts.itertuples()}
    assert got == {
        ("Dr Pretend Alpha", "2026-01-05"): 28, ("Dr Pretend Alpha", "2026-01-06"): 26,
        ("Dr Pretend Alpha", "2026-01-08"): 31, ("Dr Pretend Alpha", "2026-01-09"): 27,
        ("Mrs Pretend Gamma", "2026-01-06"): 19, ("Mrs Pretend Gamma", "2026-01-07"): 22,
        ("Mrs Pretend Gamma", "2026-01-09"): 18,
        ("Dr Pretend Locum", "2026-01-05"): 14, ("Dr Pretend Locum", "2026-01-07"): 15,
        ("Dr Pretend Locum", "2026-01-09"): 12,
        # A pseudo-staff column is a clinician column like any other.
        ("Practice Nurse", "2026-01-07"): 6,
        ("HCA Pretend Delta", "2026-01-05"): 31, ("HCA Pretend Delta", "2026-01-07"): 29,
        ("HCA Pretend Delta", "2026-01-09"): 33,
        # A Saturday clinic (flu season): a day like any other.
        ("HCA Pretend Delta", "2026-01-17"): 118,
    }
    assert (counts["period_end"] - counts["period_start"] == pd.Timedelta(days=1)).all()
    assert counts[["total", "unused", "dna"]].isna().all().all()
    assert notes == [
        "the grid is counted cell by cell (one record per day and clinician); zero and empty cells are "
        "no appointments and are not stored"
    ]
    assert list(counts.columns) == list(RAW_COUNT_COLUMNS)


def test_grid_with_preamble_total_row_total_column_and_bad_cells():
    counts, rejects, rows, skipped, _, _ = read_all("systmone_booked_grid", S1 / "booked_grid_with_problems.csv")
    # The title lines above the header are passed over; the Total column is no clinician.
    assert rows == 12 * 2 - 2 + 1  # 11 dated lines and the total line, 2 clinicians; the cut line is 1
    assert skipped == Counter({"zero or empty cell": 3, "total row cell": 2})
    assert [(r.line, r.reason, r.text) for r in rejects] == [
        (6, "grid column 4: unreadable count 'n/a'", "03 Feb 2026,Tue,21,n/a,21"),
        # 4 February 2026 is a Wednesday: a date read the wrong way (day/month) is caught.
        (7, "grid column 3: the date is a Wednesday but column 'Day' says 'Thu' (check [datetime] format and dayfirst)",
         "04 Feb 2026,Thu,20,17,37"),
        (7, "grid column 4: the date is a Wednesday but column 'Day' says 'Thu' (check [datetime] format and dayfirst)",
         "04 Feb 2026,Thu,20,17,37"),
        (8, "grid column 3: unreadable date '31 Feb 2026' in column 'Date' (expected like 05 Jan 2026)", "31 Feb 2026,Wed,20,17,37"),
        (8, "grid column 4: unreadable date '31 Feb 2026' in column 'Date' (expected like 05 Jan 2026)", "31 Feb 2026,Wed,20,17,37"),
        (9, "grid column 3: date '05 Feb 9999' in column 'Date' is out of range (years 1678 to 2261 can be stored)",
         "05 Feb 9999,Thu,23,12,35"),
        (9, "grid column 4: date '05 Feb 9999' in column 'Date' is out of range (years 1678 to 2261 can be stored)",
         "05 Feb 9999,Thu,23,12,35"),
        (10, "expected 5 fields, found 3 (truncated, or a different layout)", ""),
    ]
    assert len(counts) == 10 and counts["booked"].sum() == 25 + 21 + 24 + 26 + 19 + 25 + 15 + 16 + 14 + 13
    assert rows == len(counts) + sum(r.rows for r in rejects) + sum(skipped.values())


def test_grid_header_of_names_is_never_quoted_in_an_error(tmp_path):
    """A grid's header is a list of clinicians' names: a report without the date column says
    how many columns it found, not what they are."""
    path = tmp_path / "grid.csv"
    path.write_text('"When","Dr Pretend Alpha","Mrs Pretend Gamma"\n"05 Jan 2026","3","4"\n')
    with pytest.raises(BadInputError) as exc:
        list(read_counts(bundled_capacity_mappings()["systmone_booked_grid"], open_source(path)))
    message = str(exc.value)
    assert "Pretend" not in message
    assert message == (
        "grid.csv: not a systmone_booked_grid summary count report: missing column(s) date = 'Date' (the "
        "header taken on line 1 has 3 columns, not shown). Check the export settings, or fix [columns] in "
        "systmone_booked_grid.toml."
    )


def test_grid_without_a_day_column_is_read_too(tmp_path):
    """The Day column is optional: without it every column after the date is a clinician."""
    path = tmp_path / "grid.csv"
    path.write_text("Date,Dr Pretend Alpha,Mrs Pretend Gamma\n05/01/2026,3,0\n06/01/2026,,4\n")
    counts, rejects, rows, skipped, *_ = read_all("systmone_booked_grid", path)
    assert rejects == [] and rows == 4 and skipped == Counter({"zero or empty cell": 2})
    assert counts[["clinician", "booked"]].values.tolist() == [["Dr Pretend Alpha", 3], ["Mrs Pretend Gamma", 4]]
    assert counts["period_start"].tolist() == [pd.Timestamp("2026-01-05"), pd.Timestamp("2026-01-06")]


def test_grid_without_clinician_columns_is_a_clear_error(tmp_path):
    path = tmp_path / "grid.csv"
    path.write_text('"Date","Day","Total"\n"05 Jan 2026","Mon","7"\n')
    with pytest.raises(BadInputError, match=r"^grid.csv: not a systmone_booked_grid grid: the header on line 1 has no clinician columns"):
        list(read_counts(bundled_capacity_mappings()["systmone_booked_grid"], open_source(path)))


# ----------------------------------------------------------------------------- summaries for a period


def test_systmone_slot_summary_by_staff_and_slot_type_for_a_period():
    counts, rejects, rows, skipped, unknown, notes = read_all("systmone_slot_summary", S1 / "slot_summary.csv", JAN)
    assert rejects == [] and rows == 7 and skipped == Counter({"total row": 1})
    got = [
        (r.clinician, r.site, r.slot_type, None if pd.isna(r.category) else r.category, r.total, r.booked, r.unused,
         r.minutes_total, r.minutes_unused)
        for r in counts.itertuples()
    ]
    assert got == [
        ("Dr Pretend Alpha", "Main Site", "GP Same Day", None, 180, 156, 24, 1800.0, 240.0),
        ("Dr Pretend Alpha", "Main Site", "Routine", "pre_bookable", 240, 234, 6, 2400.0, 60.0),
        # Double spaces in a slot type collapsed: one slot type however the report spaces it.
        ("Mrs Pretend Gamma", "Main Site", "Nurse Clinic", None, 300, 255, 45, 4500.0, 675.0),
        ("Mrs Pretend Gamma", "Hill Road", "Embargo", "same_day", 12, 9, 3, 120.0, 30.0),
        ("HCA Pretend Delta", "Hill Road", "Blood Test", None, 410, 400, 10, 2050.0, 50.0),
        ("Practice Nurse", "Main Site", "Childrens Flu", None, 60, 40, 20, 600.0, 200.0),
    ]
    # The whole period, first to last day, half-open.
    assert set(counts["period_start"]) == {pd.Timestamp("2026-01-05")}
    assert set(counts["period_end"]) == {pd.Timestamp("2026-01-31")}
    # Slot types not in [categories] are kept and listed, and a note says how to map them.
    assert unknown == Counter({
        "slot type GP Same Day": 1, "slot type Nurse Clinic": 1, "slot type Blood Test": 1, "slot type Childrens Flu": 1,
    })
    assert notes == [
        # "Unused Slots %" is "Unused Slots" written another way (punctuation is ignored): the
        # choice between the two is said, as for every report read through a mapping.
        "two columns could be `unused`: took `Unused Slots` (the same name written another way: the first as "
        "written), not `Unused Slots %`",
        "two columns could be `minutes_unused`: took `Unused Duration` (the same name written another way: the "
        "first as written), not `Unused Duration %`",
        'slot types not under [categories] are kept with no category and listed among the unknown words: add each '
        'as "<slot type>" = "<same_day|pre_bookable|other>" under [categories] in a copy of the bundled '
        "systmone_slot_summary.toml, given as `mapping` and ingest again"
    ]


def test_slot_summary_without_branch_or_durations_is_read_too(tmp_path):
    """The layout as often shared (Staff, Slot Type, Total Slots, Unused Slots): the optional
    columns read as empty; a missing count column still stops the read."""
    path = tmp_path / "slots.csv"
    path.write_text("Staff,Slot Type,Total Slots,Unused Slots\nDr Pretend Alpha,Routine,30,4\n")
    counts, rejects, *_ = read_all("systmone_slot_summary", path, JAN)
    assert rejects == []
    row = counts.iloc[0]
    assert (row.total, row.booked, row.unused, row.category) == (30, 26, 4, "pre_bookable")
    assert pd.isna(row.site) and pd.isna(row.minutes_total)
    path.write_text("Staff,Slot Type,Total Slots\nDr Pretend Alpha,Routine,30\n")
    with pytest.raises(BadInputError, match=r"missing column\(s\) unused = 'Unused Slots' \(header on line 1"):
        read_all("systmone_slot_summary", path, JAN)


def test_slot_summary_with_problems_exact_rejects():
    counts, rejects, rows, skipped, _, _ = read_all("systmone_slot_summary", S1 / "slot_summary_with_problems.csv", JAN)
    assert [(r.line, r.reason, r.text) for r in rejects] == [
        (3, "'Unused Slots' is more than 'Total Slots'", "[withheld],Routine,40,55"),
        (4, "unreadable count 'many' in column 'Total Slots'", "[withheld],Nurse Clinic,many,3"),
        (5, "no count: 'Total Slots' and 'Unused Slots' empty", "[withheld],Blood Test,,"),
    ]
    # Unallocated slots (no staff named) are capacity too: kept with no clinician.
    got = [(None if pd.isna(r.clinician) else r.clinician, r.slot_type, r.total, r.booked) for r in counts.itertuples()]
    assert got == [("Dr Pretend Alpha", "GP Same Day", 100, 88), (None, "Unallocated", 20, 0), ("Dr Pretend Alpha", "GP Same Day", 10, 9)]
    assert rows == len(counts) + len(rejects) + sum(skipped.values())


def test_slot_summary_from_a_workbook(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Branch", "Staff", "Slot Type", "Total Slots", "Unused Slots", "Total Duration", "Unused Duration"])
    ws.append(["Main Site", "Dr Pretend Alpha", "Routine", 1234, 34, 12340, 340.5])
    ws.append(["Main Site", "Mrs Pretend Gamma", "Embargo", 12.0, 0, 120, 0])
    wb.save(tmp_path / "Unused.xlsx")
    counts, rejects, *_ = read_all("systmone_slot_summary", tmp_path / "Unused.xlsx", JAN)
    assert rejects == []
    assert counts[["total", "unused", "booked"]].values.tolist() == [[1234, 34, 1200], [12, 0, 12]]
    assert counts["minutes_unused"].tolist() == [340.5, 0.0]


def test_dna_summary_keeps_a_staff_and_slot_type_listed_twice(store, key):
    counts, rejects, rows, *_ = read_all("systmone_dna_summary", S1 / "dna_summary.csv", JAN)
    assert rejects == [] and rows == 5
    assert counts[["clinician", "slot_type", "dna"]].values.tolist() == [
        ["Dr Pretend Alpha", "GP Same Day", 4], ["Dr Pretend Alpha", "Routine", 9], ["Mrs Pretend Gamma", "Nurse Clinic", 7],
        ["HCA Pretend Delta", "Blood Test", 11], ["Dr Pretend Alpha", "Routine", 3],
    ]
    res = ingest_appointment_file(store, S1 / "dna_summary.csv", PRACTICE, period=JAN)
    assert (res.format, res.written, res.duplicates, res.rejected) == ("systmone_dna_summary", 5, 0, 0)
    again = ingest_appointment_file(store, S1 / "dna_summary.csv", PRACTICE, period=JAN)
    assert (again.written, again.duplicates, again.replaced) == (5, 0, 5)
    stored = read_capacity_counts(store, PRACTICE)
    alpha = Pseudonymiser(key).key("Dr Pretend Alpha", "clinician")
    assert stored.loc[(stored["clinician_key"] == alpha) & (stored["slot_type"] == "Routine"), "dna"].sum() == 12


# ----------------------------------------------------------------------------- the period


def test_summary_without_dates_needs_the_period(store):
    with pytest.raises(BadInputError) as exc:
        ingest_appointment_file(store, S1 / "slot_summary.csv", PRACTICE)
    assert str(exc.value) == (
        "slot_summary.csv: a systmone_slot_summary report counts a period it does not state: give its first and "
        "last day as `period` (the dates the report was run for)"
    )
    with pytest.raises(BadInputError, match=r"the period ends \(2026-01-04\) before it starts \(2026-01-05\)"):
        ingest_appointment_file(store, S1 / "slot_summary.csv", PRACTICE, period=(dt.date(2026, 1, 5), dt.date(2026, 1, 4)))
    assert not store.partitions("capacity_counts") and store.manifest().empty


def test_period_given_for_a_dated_grid_is_noted_and_not_used(store):
    res = ingest_appointment_file(store, S1 / "booked_grid.csv", PRACTICE, period=JAN)
    assert res.notes[0] == "the report dates its own rows (column 'Date'): the period given was not used"
    assert (res.first_utc, res.last_utc) == (day("2026-01-05"), day("2026-01-17"))


# ----------------------------------------------------------------------------- the store


def test_ingest_grid_end_to_end_pseudonymised_and_idempotent(store, key):
    res = ingest_appointment_file(store, S1 / "booked_grid.csv", PRACTICE)
    assert (res.format, res.rows_read, res.written, res.duplicates, res.rejected, res.rows_skipped) == (
        "systmone_booked_grid", 40, 15, 0, 0, 25,
    )
    assert reconciled(res)
    assert store.manifest()["table"].tolist() == ["capacity_counts"]
    counts = read_capacity_counts(store, PRACTICE)
    assert pa.Schema.from_pandas(counts, preserve_index=False).names == CAPACITY_SCHEMA.names
    p = Pseudonymiser(key)
    by_key = counts.groupby("clinician_key")["slots_booked"].sum().to_dict()
    assert by_key == {
        p.key("Dr Pretend Alpha", "clinician"): 112, p.key("Mrs Pretend Gamma", "clinician"): 59,
        p.key("Dr Pretend Locum", "clinician"): 41, p.key("Practice Nurse", "clinician"): 6,
        p.key("HCA Pretend Delta", "clinician"): 211,
    }
    # Days are UTC midnights of their dates, the period half-open.
    assert set(counts["period_start"].dt.hour) == {0}
    assert (counts["period_end"] - counts["period_start"] == pd.Timedelta(days=1)).all()
    # A period filter on the first day counted.
    week2 = read_capacity_counts(store, PRACTICE, "2026-01-10", "2026-01-20")
    assert week2["slots_booked"].tolist() == [118]
    again = ingest_appointment_file(store, S1 / "booked_grid.csv", PRACTICE)
    assert (again.written, again.duplicates, again.replaced) == (15, 0, 15)
    # Counts never reach the slot table.
    assert read_appointments(store).empty


def test_clinician_pseudonyms_join_slot_reports_and_summaries(store, tmp_path, key):
    """The same clinician in a slot report and a summary has one pseudonym."""
    slots = tmp_path / "slots.csv"
    slots.write_text(
        "Appointment ID,Date,Start Time,End Time,Clinician,Staff Role,Slot Type,Consultation Type,Status,Booked Date,Patient ID\n"
        "S-1,05/01/2026,08:00,08:10,dr pretend  ALPHA,GP,Same Day,Telephone,Finished,05/01/2026 08:00:10,RX-FAKE-901\n"
    )
    ingest_appointment_file(store, slots, PRACTICE, fmt="systmone_appointments")
    ingest_appointment_file(store, S1 / "slot_summary.csv", PRACTICE, period=JAN)
    slot_key = read_appointments(store, PRACTICE)["clinician_key"].iloc[0]
    assert slot_key in set(read_capacity_counts(store, PRACTICE)["clinician_key"])


def test_no_staff_name_leaves_the_ingest(store, capfd):
    said = []
    for path, period in [(S1 / "booked_grid.csv", None), (S1 / "booked_grid_with_problems.csv", None),
                         (S1 / "slot_summary.csv", JAN), (S1 / "slot_summary_with_problems.csv", JAN),
                         (S1 / "dna_summary.csv", JAN)]:
        res = ingest_appointment_file(store, path, PRACTICE, period=period)
        said += [res.summary(), repr(res), str(dict(res.unknown)), str(dict(res.skipped))]
    said += list(capfd.readouterr())
    texts = []
    for p in sorted(store.root.rglob("*")):
        if not p.is_file() or p.name == KEY_FILE_NAME:
            continue
        if p.suffix == ".parquet":
            t = pq.read_table(p)
            texts.append("\n".join(str(v) for c in t.column_names for v in t[c].to_pylist()))
        else:
            texts.append(p.read_bytes().decode("utf-8", errors="replace"))
    everything = "\n".join(said + texts).lower()
    leaked = [s for s in STAFF if s.lower() in everything]
    assert leaked == []
    assert "[withheld]" in everything  # the rejects kept their rows, names withheld
    # The check can fail: the names are in the fixtures.
    assert all(s in (S1 / "booked_grid.csv").read_text() for s in STAFF)


# ----------------------------------------------------------------------------- mapping files


def test_mapping_kind_decides_which_loader_reads_a_file(tmp_path):
    text = (Path(__file__).resolve().parents[2] / "demand" / "appointments" / "mappings" / "systmone_slot_summary.toml").read_text()
    mine = tmp_path / "mine.toml"
    mine.write_text(text.replace('name = "systmone_slot_summary"', 'name = "s1_mine"'))
    assert load_any_appointment_mapping(mine).name == "s1_mine"
    assert type(load_any_appointment_mapping(mine)).__name__ == "CapacityMapping"
    with pytest.raises(MappingError) as exc:
        load_appointment_mapping(mine)
    assert (
        "mine.toml:18: kind: 'capacity_counts' is not a slots mapping. Fix: write kind = \"slots\" (this loader reads "
        "slots mappings; give the file to the loader of its own kind)"
    ) in str(exc.value)


@pytest.mark.parametrize(
    "text, problem",
    [
        ('name = "x"\ntitle = "X"\n[columns]\nclinician = "Staff"\ntotal = "Total"\n',
         "<mapping text>: kind: required key missing. Fix: write kind = \"capacity_counts\" (this loader reads capacity counts mappings)"),
        ('kind = "capacity_counts"\nname = "x"\ntitle = "X"\n[columns]\nclinician = "Staff"\n',
         "<mapping text>:4: columns.total: no count column. Fix: map at least one of total, unused, booked or dna to the "
         "report's count column, or describe a grid with a [grid] table"),
        ('kind = "capacity_counts"\nname = "x"\ntitle = "X"\n[columns]\ndate = "Date"\ntotal = "T"\n[grid]\ncells = "booked"\n',
         "<mapping text>:7: [grid]: given, but [columns] maps counts too (total). Fix: a grid's counts are its clinician "
         "columns: remove the count columns or the [grid] table"),
        ('kind = "capacity_counts"\nname = "x"\ntitle = "X"\n[columns]\ndate = "Date"\n[grid]\ncells = "slots"\n',
         "<mapping text>:7: grid.cells: 'slots' is not a count. Fix: use one of total, unused, booked, dna"),
        ('kind = "capacity_counts"\nname = "x"\ntitle = "X"\noptional = ["site"]\n[columns]\ntotal = "T"\n',
         "<mapping text>:4: optional: 'site' is not a column under [columns]. Fix: list mapped columns only (total)"),
        ('kind = "capacity_counts"\nname = "x"\ntitle = "X"\n[columns]\nstart = "When"\ntotal = "T"\n',
         "<mapping text>:5: columns.start: not a canonical column. Fix: use one of date, weekday, clinician, site, slot_type, "
         "total, unused, booked, dna, minutes_total, minutes_unused"),
    ],
    ids=["no-kind", "no-count", "grid-and-counts", "bad-cells", "optional-not-mapped", "a-time-column"],
)
def test_capacity_mapping_errors(text, problem):
    with pytest.raises(MappingError) as exc:
        load_capacity_mapping(text)
    lines = str(exc.value).splitlines()
    assert lines[0] == "Mapping file <mapping text> has 1 problem:"
    assert lines[1].strip() == problem


def test_docstring_example_is_a_valid_mapping():
    import demand.appointments.counts as cc

    block = cc.__doc__.split("::\n", 1)[1].split("\nNotes\n", 1)[0]
    m = load_capacity_mapping("\n".join(ln[4:] for ln in block.splitlines()))
    assert m.name == "s1_slots_mine" and m.grid is None and not m.dated
    assert m.optional == ("site", "minutes_total", "minutes_unused")
    assert m.categories == {"gp same day": "same_day", "*": "other"}
    assert m.total_labels == ("Total", "Grand Total")


# ----------------------------------------------------------------------------- the command line


@pytest.fixture
def runner(key):
    return CliRunner()


def test_cli_ingest_summaries_with_and_without_the_period(runner, tmp_path):
    store = tmp_path / "store"
    res = runner.invoke(main, ["ingest", "appointments", str(S1 / "slot_summary.csv"), "--practice", PRACTICE, "--store", str(store)])
    assert res.exit_code == 1
    assert res.output == (
        "Error: slot_summary.csv: a systmone_slot_summary report counts a period it does not state: give its first "
        "and last day as --from/--to (the dates the report was run for)\n"
    )
    res = runner.invoke(main, ["ingest", "appointments", str(S1 / "slot_summary.csv"), "--practice", PRACTICE,
                               "--from", "2026-01-05", "--store", str(store)])
    assert res.exit_code == 2 and "--from needs --to too" in res.output
    res = runner.invoke(main, ["ingest", "appointments", str(S1 / "slot_summary.csv"), str(S1 / "booked_grid.csv"),
                               "--practice", PRACTICE, "--from", "2026-01-05", "--to", "2026-01-30", "--store", str(store)])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0] == (
        "slot_summary.csv: systmone_slot_summary, 2026-01-05 to 2026-01-05: 7 rows read (1 record skipped) -> "
        "6 written, 0 duplicates, 0 rejected"
    )
    assert "booked_grid.csv: systmone_booked_grid, 2026-01-05 to 2026-01-17: 40 rows read (25 records skipped) -> 15 written" in res.output
    assert "  unknown words: slot type GP Same Day (1)" in res.output.replace("slot type Nurse Clinic (1), ", "")


def test_cli_formats_lists_summary_counts_and_how_sure_each_template_is(runner):
    res = runner.invoke(main, ["formats", "--format", "json"])
    assert res.exit_code == 0
    rows = {r["name"]: r for r in pd.read_json(io.StringIO(res.output)).to_dict("records")}
    # Summaries are appointment exports (ingest appointments), checked against real downloads.
    for name in ("systmone_booked_grid", "systmone_slot_summary", "systmone_dna_summary"):
        assert (rows[name]["kind"], rows[name]["checked"]) == ("appointments", "real exports")
        assert "staff" in rows[name]["reads"]
    for name in ("emis_appointments", "systmone_appointments", "gpad"):
        assert (rows[name]["kind"], rows[name]["checked"]) == ("appointments", "documentation only")
    assert (rows["xon_surgery_connect"]["kind"], rows["xon_surgery_connect"]["checked"]) == ("calls", "documentation only")
