"""Appointment slot reports: the bundled EMIS-style and SystmOne-style mappings, the ingest's
guarantees (golden rows, idempotence, reconciliation, rejects), pseudonymised clinicians and
patients, and ``frontdoor ingest appointments``.

Golden values are computed by hand from the fixtures in ``tests/data/emis_appointments/`` (UTF-8
with BOM and CRLF, two report lines above the header) and ``tests/data/systmone_appointments/``.
Times are Europe/London wall clock: GMT in January (UTC = local), BST from 29 March 2026
(UTC = local - 1 h).
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from cli import main
from demand.appointments.mapping import (
    bundled_appointment_mappings,
    load_appointment_mapping,
    sniff_slots,
)
from demand.appointments.schema import read_appointments
from demand.appointments.ingest import ingest_appointment_file, ingest_appointments
from telephony.errors import FrontdoorError, InvalidPracticeError, MappingError, UnknownFormatError
from telephony.privacy import KEY_FILE_NAME, Pseudonymiser
from telephony.sources import open_source
from tests.helpers import APPOINTMENT_FIXTURE_DIRS, DATA

EMIS = DATA / "emis_appointments"
S1 = DATA / "systmone_appointments"
PRACTICE = "A81001"
UTC = "UTC"


def ts(text: str | None) -> pd.Timestamp | None:
    return None if text is None else pd.Timestamp(text, tz=UTC)


def rows_of(df: pd.DataFrame, cols: list[str]) -> list[tuple]:
    out = []
    for r in df[cols].itertuples(index=False):
        out.append(tuple(None if (v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v)) else v for v in r))
    return out


def reconciled(res) -> bool:
    return res.rows_read == res.written + res.duplicates + res.rejected + res.rows_skipped + res.rows_merged


# ----------------------------------------------------------------------------- the bundled mappings


def test_bundled_mappings_describe_the_agreed_layouts():
    ms = bundled_appointment_mappings()
    assert set(ms) == {"emis_appointments", "systmone_appointments"}
    emis, s1 = ms["emis_appointments"], ms["systmone_appointments"]
    assert emis.bundled and emis.durations == "minutes" and emis.required_columns() == [
        "date", "time", "duration", "role", "category", "status",
    ]
    assert s1.required_columns() == ["date", "time", "end", "role", "category", "status"]
    # Words are keyed case- and space-insensitively, values canonical.
    assert emis.roles["gp partner"] == "GP" and emis.roles["first contact physiotherapist"] == "physio"
    assert emis.statuses["cancelled by unit"] == "cancelled" and emis.modes[""] == "unknown"
    assert s1.categories["*"] == "other" and "*" not in emis.categories


@pytest.mark.parametrize(
    "path, name",
    [(p, "emis_appointments") for p in sorted(EMIS.iterdir())] + [(p, "systmone_appointments") for p in sorted(S1.iterdir())],
    ids=lambda v: v.name if isinstance(v, Path) else v,
)
def test_sniff_own_files_and_not_the_other(path, name):
    ms = bundled_appointment_mappings()
    other = "systmone_appointments" if name == "emis_appointments" else "emis_appointments"
    assert sniff_slots(ms[name], open_source(path)) == 1.0
    assert sniff_slots(ms[other], open_source(path)) == 0.0


def test_sniff_call_fixtures_are_not_slot_reports():
    ms = bundled_appointment_mappings()
    for path in sorted(p for p in DATA.rglob("*") if p.is_file() and p.parent.name not in APPOINTMENT_FIXTURE_DIRS):
        try:
            src = open_source(path)
        except FrontdoorError:
            continue
        for m in ms.values():
            assert sniff_slots(m, src) < 0.9, (path.name, m.name)


# ----------------------------------------------------------------------------- EMIS-style, end to end

# slot_id, start_utc, duration_min, role, mode, status, category, booked_utc
EMIS_GOLDEN = [
    ("E1000123", ts("2026-01-05 08:00"), 10.0, "GP", "telephone", "attended", "same_day", ts("2026-01-05 08:02")),
    ("E1000124", ts("2026-01-05 08:10"), 10.0, "GP", "face_to_face", "dna", "same_day", ts("2026-01-05 08:03")),
    ("E1000125", ts("2026-01-05 08:20"), 10.0, "GP", "unknown", "available", "same_day", None),
    ("E1000126", ts("2026-01-05 08:30"), 15.0, "nurse", "face_to_face", "attended", "pre_bookable", ts("2025-12-22 11:40")),
    ("E1000127", ts("2026-01-05 08:45"), 15.0, "nurse", "face_to_face", "cancelled", "pre_bookable", ts("2025-12-20 09:00")),
    ("E1000128", ts("2026-01-05 09:00"), 20.0, "pharmacist", "video", "booked", "pre_bookable", ts("2026-01-02 16:20")),
    ("E1000129", ts("2026-01-05 10:00"), 30.0, "GP", "home_visit", "attended", "same_day", ts("2026-01-05 08:00")),
    ("E1000130", ts("2026-01-05 11:00"), 10.0, "HCA", "unknown", "available", "other", None),
    # June: BST, so 08:00 local is 07:00 UTC.
    ("E1000131", ts("2026-06-01 07:00"), 10.0, "GP", "telephone", "attended", "same_day", ts("2026-06-01 07:01")),
    ("E1000132", ts("2026-06-01 07:10"), 10.0, "GP", "telephone", "cancelled", "same_day", None),
    # "Available" with a stale booking and patient: an available slot has neither.
    ("E1000133", ts("2026-06-01 07:20"), 10.0, "GP", "unknown", "available", "same_day", None),
]
SLOT_COLS = ["slot_id", "start_utc", "duration_min", "role", "mode", "status", "category", "booked_utc"]


def test_emis_golden_rows_and_pseudonyms(store, key):
    res = ingest_appointment_file(store, EMIS / "appointment_slots.csv", PRACTICE)
    assert (res.format, res.rows_read, res.written, res.duplicates, res.rejected, res.rows_skipped) == (
        "emis_appointments", 11, 11, 0, 0, 0,
    )
    assert (res.first_utc, res.last_utc) == (ts("2026-01-05 08:00"), ts("2026-06-01 07:20"))
    slots = read_appointments(store, PRACTICE)
    assert rows_of(slots, SLOT_COLS) == EMIS_GOLDEN
    assert set(slots["source_format"]) == {"emis_appointments"} and set(slots["practice_id"]) == {PRACTICE}
    p = Pseudonymiser(key)
    by_id = slots.set_index("slot_id")
    alpha = p.key("Dr Pretend Alpha", "clinician")
    # Case and runs of spaces do not make another clinician.
    assert by_id.loc[["E1000123", "E1000125", "E1000131", "E1000132", "E1000133"], "clinician_key"].tolist() == [alpha] * 5
    assert by_id.loc["E1000126", "clinician_key"] == p.key("Nurse Pretend Beta", "clinician") != alpha
    # The session holder is on every slot, booked or not: unbooked capacity keeps its clinician.
    assert slots["clinician_key"].notna().all()
    assert by_id.loc["E1000130", "clinician_key"] == p.key("HCA Pretend Zeta", "clinician")
    # The same patient in two slots has one pseudonym; hyphens and case are ignored.
    assert by_id.loc["E1000123", "patient_key"] == by_id.loc["E1000128", "patient_key"] == p.key("ptfake0001", "patient")
    assert by_id.loc["E1000132", "patient_key"] == p.key("PT-FAKE-0007".replace("-", ""), "patient")
    # Available slots have neither a patient nor a booking time (E1000133's stale ones dropped).
    free = slots["status"] == "available"
    assert sorted(slots.loc[free, "slot_id"]) == ["E1000125", "E1000130", "E1000133"]
    assert slots.loc[free, "patient_key"].isna().all() and slots.loc[free, "booked_utc"].isna().all()
    assert slots.loc[~free, "patient_key"].notna().all()
    # Partitions by UTC month of the slot's start.
    assert [(pid, m) for pid, m, _ in store.partitions("appointments")] == [(PRACTICE, "2026-01"), (PRACTICE, "2026-06")]
    man = store.manifest()
    assert man[["table", "practice_id", "format", "timezone", "rows_read", "written"]].values.tolist() == [
        ["appointments", PRACTICE, "emis_appointments", "Europe/London", 11, 11]
    ]


def test_emis_slot_with_no_session_holder_is_kept_without_a_clinician(store, tmp_path, key):
    """Real slot reports name the holder on every slot, but an empty cell (an unassigned
    session) is not an error: the slot is kept with a null clinician_key."""
    text = (EMIS / "appointment_slots.csv").read_bytes()
    one = b"E1000130,05/01/2026,11:00,10,HCA Pretend Zeta,"
    assert text.count(one) == 1
    path = tmp_path / "no_holder.csv"
    path.write_bytes(text.replace(one, b"E1000130,05/01/2026,11:00,10,,"))
    res = ingest_appointment_file(store, path, PRACTICE)
    assert (res.rows_read, res.written, res.rejected) == (11, 11, 0)
    by_id = read_appointments(store, PRACTICE).set_index("slot_id")
    assert pd.isna(by_id.loc["E1000130", "clinician_key"])
    assert by_id.loc["E1000130", ["status", "role", "category"]].tolist() == ["available", "HCA", "other"]
    assert by_id.drop(index="E1000130")["clinician_key"].notna().all()


def test_emis_same_file_twice_adds_nothing(store):
    ingest_appointment_file(store, EMIS / "appointment_slots.csv", PRACTICE)
    again = ingest_appointment_file(store, EMIS / "appointment_slots.csv", "a81001")
    assert (again.written, again.duplicates, again.rejected, again.replaced) == (11, 0, 0, 11)
    assert len(read_appointments(store)) == 11
    assert store.manifest()["written"].tolist() == [11, 11]
    assert store.manifest()["replaced"].tolist() == [0, 11]


def test_emis_with_problems_exact_rejects(store):
    res = ingest_appointment_file(store, EMIS / "appointment_slots_with_problems.csv", PRACTICE, fmt="emis_appointments")
    assert (res.rows_read, res.written, res.duplicates, res.rejected, res.rows_skipped) == (11, 1, 1, 8, 1)
    assert reconciled(res)
    assert res.skipped == Counter({"blank line": 1})
    assert res.unknown == Counter({"role Receptionist": 2, "status Rescheduled": 1})
    bundled = "in a copy of the bundled emis_appointments.toml, given as `mapping`"
    rejects = pd.read_csv(res.rejects_path)
    assert list(zip(rejects["line"], rejects["reason"])) == [
        (5, f'unknown role \'Receptionist\' in column \'Holder Role\'; add "Receptionist" = "<role>" under [roles] {bundled} '
            "(one of GP, ANP, nurse, pharmacist, HCA, paramedic, physio, other)"),
        (6, "unreadable date/time '31/02/2026 08:20' in column 'Session Date/Slot Time' (expected like 05/01/2026 08:30)"),
        (7, "unreadable duration 'ten' in column 'Duration' (durations format minutes)"),
        (8, f'unknown status \'Rescheduled\' in column \'Slot Status\'; add "Rescheduled" = "<status>" under [statuses] '
            f"{bundled} (one of available, booked, attended, dna, cancelled)"),
        (9, "unreadable booked date/time 'yesterday' in column 'Booked Date'"),
        (12, "duration not between 0 and 12 hours"),
        (13, f'unknown role \'Receptionist\' in column \'Holder Role\'; add "Receptionist" = "<role>" under [roles] {bundled} '
            "(one of GP, ANP, nurse, pharmacist, HCA, paramedic, physio, other)"),
        (14, "expected 11 fields, found 6 (truncated, or a different layout)"),
    ]
    assert rejects["file"].unique().tolist() == ["appointment_slots_with_problems.csv"]
    # The row's text is kept to find it, with the holder's name and the patient's id withheld
    # (and the truncated row, whose fields cannot be told apart, without text).
    assert rejects.loc[0, "text"] == (
        "EXXXXXXX,06/01/2026,08:10,10,[withheld],Receptionist,Same Day,Booked,06/01/2026 08:05,[withheld],Telephone"
    )
    assert pd.isna(rejects.loc[7, "text"])
    again = ingest_appointment_file(store, EMIS / "appointment_slots_with_problems.csv", PRACTICE)
    assert (again.written, again.duplicates, again.rejected, again.replaced) == (1, 1, 8, 1)


def test_slot_row_accounting_is_the_chunks_own(monkeypatch):
    """Rows read and blank lines come from telephony.sources.Chunk, the one definition every
    reader shares, not from a copy of its arithmetic."""
    from demand.appointments.mapping import read_slots
    from telephony.sources import Chunk

    monkeypatch.setattr(Chunk, "rows_read", property(lambda self: 4242))
    monkeypatch.setattr(Chunk, "skipped", lambda self: Counter({"counted by Chunk": 1}))
    mapping = bundled_appointment_mappings()["emis_appointments"]
    chunks = list(read_slots(mapping, open_source(EMIS / "appointment_slots_with_problems.csv")))
    assert chunks and all(c.rows_read == 4242 for c in chunks)
    assert all(c.skipped == Counter({"counted by Chunk": 1}) for c in chunks)


# ----------------------------------------------------------------------------- SystmOne-style

S1_GOLDEN = [
    ("S-88213", ts("2026-01-05 08:00"), 15.0, "nurse", "face_to_face", "attended", "same_day", ts("2026-01-05 08:01:12")),
    ("S-88214", ts("2026-01-05 08:00"), 10.0, "GP", "telephone", "dna", "same_day", ts("2026-01-05 08:00:40")),
    ("S-88215", ts("2026-01-05 08:10"), 10.0, "GP", "unknown", "available", "same_day", None),
    ("S-88216", ts("2026-01-05 08:20"), 10.0, "GP", "face_to_face", "booked", "other", ts("2026-01-04 12:00")),
    # 23:50 to 00:10: the end is on the next day.
    ("S-88217", ts("2026-01-05 23:50"), 20.0, "GP", "telephone", "attended", "same_day", ts("2026-01-05 23:40")),
    # 29 March 2026: BST from 01:00 GMT; booked on 20 March, still GMT.
    ("S-88218", ts("2026-03-29 09:00"), 30.0, "pharmacist", "video", "cancelled", "pre_bookable", ts("2026-03-20 09:00")),
    ("S-88219", ts("2026-03-30 08:00"), 20.0, "paramedic", "home_visit", "attended", "same_day", ts("2026-03-30 07:05")),
    ("S-88220", ts("2026-03-30 08:20"), 20.0, "physio", "face_to_face", "booked", "pre_bookable", ts("2026-03-23 10:15")),
]


def test_systmone_golden_rows_durations_from_end_times(store, key):
    res = ingest_appointment_file(store, S1 / "appointments.csv", PRACTICE)
    assert (res.format, res.rows_read, res.written, res.rejected) == ("systmone_appointments", 8, 8, 0)
    # A slot type not listed is read as other through "*", and still reported.
    assert res.unknown == Counter({"category Baby Clinic (read as other)": 1})
    slots = read_appointments(store, PRACTICE)
    assert rows_of(slots, SLOT_COLS) == S1_GOLDEN
    p = Pseudonymiser(key)
    by_id = slots.set_index("slot_id")
    assert by_id.loc["S-88213", "patient_key"] == by_id.loc["S-88220", "patient_key"] == p.key("RXFAKE123", "patient")
    # Period reads prune by month and filter by start (naive bounds: London wall clock).
    march = read_appointments(store, PRACTICE, "2026-03-30", "2026-03-31")
    assert march["slot_id"].tolist() == ["S-88219", "S-88220"]


def test_systmone_with_problems_exact_rejects(store):
    res = ingest_appointment_file(store, S1 / "appointments_with_problems.csv", PRACTICE)
    assert (res.rows_read, res.written, res.duplicates, res.rejected, res.rows_skipped) == (10, 1, 0, 9, 0)
    assert reconciled(res)
    assert res.unknown == Counter({"role Receptionist": 1, "status DNA": 1, "mode Carrier Pigeon": 1})
    bundled = "in a copy of the bundled systmone_appointments.toml, given as `mapping`"
    rejects = pd.read_csv(res.rejects_path)
    assert list(zip(rejects["line"], rejects["reason"])) == [
        (3, "duration not between 0 and 12 hours"),  # ends before it starts: the next day
        (4, "unreadable date/time '06/01/2026 half eight' in column 'Date/Start Time' (expected like 05/01/2026 08:30)"),
        (5, f'unknown role \'Receptionist\' in column \'Staff Role\'; add "Receptionist" = "<role>" under [roles] {bundled} '
            "(one of GP, ANP, nurse, pharmacist, HCA, paramedic, physio, other)"),
        (6, "unreadable end time '25:00' in column 'End Time'"),
        (7, f'unknown status \'DNA\' in column \'Status\'; add "DNA" = "<status>" under [statuses] {bundled} '
            "(one of available, booked, attended, dna, cancelled)"),
        (8, f'unknown mode \'Carrier Pigeon\' in column \'Consultation Type\'; add "Carrier Pigeon" = "<mode>" under '
            f"[modes] {bundled} (one of face_to_face, telephone, video, home_visit, unknown)"),
        (9, f"role missing: column 'Staff Role' is empty; add \"\" = \"<role>\" under [roles] {bundled} to accept empty cells"),
        (10, "expected 11 fields, found 12 (truncated, or a different layout)"),
        (11, "expected 11 fields, found 5 (truncated, or a different layout)"),
    ]


def test_auto_detects_each_layout(store):
    got = [r.format for r in ingest_appointments(store, [EMIS / "appointment_slots.csv", S1 / "appointments.csv"], PRACTICE)]
    assert got == ["emis_appointments", "systmone_appointments"]
    assert len(read_appointments(store)) == 19


# ----------------------------------------------------------------------------- a bespoke report

NO_IDS = """name = "tiny_slots"
title = "Tiny slot report"
[columns]
start = "When"
duration = "Length"
clinician = "Who"
role = "Role"
category = "Type"
status = "Status"
[datetime]
timezone = "America/New_York"
[durations]
format = "auto"
[roles]
"Doctor" = "GP"
[categories]
"On the day" = "same_day"
[statuses]
"Free" = "available"
"Seen" = "attended"
"""


def test_slot_ids_hashed_from_the_slot_not_its_state(store, tmp_path):
    """Without ids: a hash of start, length, holder, role and type, and an ordinal among
    identical slots, so that a later export with new statuses adds nothing."""
    m = load_appointment_mapping(NO_IDS)
    first = tmp_path / "monday.csv"
    first.write_text(
        "When,Length,Who,Role,Type,Status\n"
        "05/01/2026 08:00,10,Dr Pretend Alpha,Doctor,On the day,Free\n"
        "05/01/2026 08:00,10,,Doctor,On the day,Free\n"
        "05/01/2026 08:00,10,,Doctor,On the day,Free\n"  # a second unnamed parallel slot
        "05/01/2026 08:10,00:15:00,Dr Pretend Alpha,Doctor,On the day,Free\n"
    )
    res = ingest_appointment_file(store, first, PRACTICE, mapping=m)
    assert (res.written, res.duplicates) == (4, 0)
    slots = read_appointments(store)
    assert slots["slot_id"].str.fullmatch(r"h:[0-9a-f]{24}").all() and slots["slot_id"].nunique() == 4
    # The mapping's own zone: 08:00 in New York is 13:00 UTC; bare 10 is minutes, 00:15:00 too.
    assert slots["start_utc"].tolist() == [ts("2026-01-05 13:00")] * 3 + [ts("2026-01-05 13:10")]
    assert sorted(slots["duration_min"]) == [10.0, 10.0, 10.0, 15.0]
    later = tmp_path / "monday_later.csv"
    later.write_text(
        "When,Length,Who,Role,Type,Status\n"
        "05/01/2026 08:10,15,Dr  PRETEND alpha,Doctor,On the day,Seen\n"
        "05/01/2026 08:00,10,,Doctor,On the day,Seen\n"
        "05/01/2026 08:00,10,,Doctor,On the day,Free\n"
    )
    again = ingest_appointment_file(store, later, PRACTICE, mapping=m)
    assert (again.written, again.duplicates) == (0, 3)
    # An explicit timezone wins over the mapping's.
    other = ingest_appointment_file(store, first, "A81002", mapping=m, timezone="Europe/London")
    assert other.written == 4
    assert read_appointments(store, "A81002")["start_utc"].min() == ts("2026-01-05 08:00")
    assert store.manifest()["timezone"].tolist() == ["America/New_York", "America/New_York", "Europe/London"]


def test_xlsx_slot_report_on_a_named_sheet(store, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    wb.active.append(["Exported for testing"])
    ws = wb.create_sheet("Slots")
    ws.append(["Slot report"])
    ws.append(["When", "Length", "Who", "Role", "Type", "Status"])
    ws.append(["05/01/2026 08:00", 10, "Dr Pretend Alpha", "Doctor", "On the day", "Seen"])
    ws.append(["05/01/2026 08:10", 10, "Dr Pretend Alpha", "Nurse", "On the day", "Seen"])
    path = tmp_path / "slots.xlsx"
    wb.save(path)
    m = load_appointment_mapping(NO_IDS.replace('[datetime]\ntimezone = "America/New_York"\n', "") + '[file]\nsheet = "Slots"\n')
    res = ingest_appointment_file(store, path, PRACTICE, mapping=m)
    assert (res.rows_read, res.written, res.rejected) == (2, 1, 1)
    assert pd.read_csv(res.rejects_path)["line"].tolist() == [4]  # the sheet's row
    assert read_appointments(store)["start_utc"].tolist() == [ts("2026-01-05 08:00")]


BROKEN = """name = "Slots!"
title = "Broken"
colour = "red"

[columns]
start = "When"
who = "Holder"
status = "Status"

[datetime]
booked_format = "%d/%m/%Y %H:%Q"

[durations]
format = "hours"

[roles]
"Doctor" = "doctor"

[statuses]
"Free" = "available"
"FREE" = "booked"

[modes]
"Phone" = "telephone"
"""


def test_every_mapping_problem_reported_at_once(tmp_path):
    path = tmp_path / "slots.toml"
    path.write_text(BROKEN)
    with pytest.raises(MappingError) as exc:
        load_appointment_mapping(path)
    assert str(exc.value).splitlines() == [
        "Mapping file slots.toml has 12 problems:",
        "  slots.toml: categories: required table missing. Fix: add a [categories] table: one line per word of the "
        "category column, e.g. \"<the report's word>\" = \"same_day\"",
        "  slots.toml:1: name: 'Slots!' is not a format name. Fix: use lower case letters, digits and _ starting with "
        "a letter, e.g. name = \"slots\"",
        "  slots.toml:3: colour: unknown key or table. Fix: use one of name, title, supplier, example, notes, evidence, evidence_note, kind, file, "
        "columns, datetime, durations, roles, categories, statuses, modes (did you mean columns?)",
        "  slots.toml:5: columns.duration: required key missing. Fix: add duration = \"<slot length column>\", or "
        "end = \"<slot end time column>\" to derive it",
        "  slots.toml:5: columns.role: required key missing. Fix: add role = \"<the report's session holder role column>\"",
        "  slots.toml:5: columns.category: required key missing. Fix: add category = \"<the report's slot type column>\"",
        "  slots.toml:7: columns.who: not a canonical column. Fix: use one of slot_id, start, date, time, duration, end, "
        "clinician, role, category, status, mode, booked, patient",
        "  slots.toml:11: datetime.booked_format: '%d/%m/%Y %H:%Q' is not a strptime date format. Fix: use strptime "
        "codes, e.g. booked_format = \"%d/%m/%Y %H:%M\" for 05/01/2026 08:30",
        "  slots.toml:14: durations.format: 'hours' is not a duration format. Fix: use one of \"auto\", \"seconds\", "
        "\"minutes\", \"hh:mm:ss\"",
        "  slots.toml:17: roles.Doctor: 'doctor' is not a role. Fix: use one of GP, ANP, nurse, pharmacist, HCA, "
        "paramedic, physio, other",
        "  slots.toml:21: statuses.FREE: the same word as 'Free' (case and spaces are ignored) with a different "
        "meaning. Fix: keep one of the two lines",
        "  slots.toml:23: [modes]: given, but [columns] has no mode column. Fix: add mode = \"<the report's delivery "
        "mechanism column>\" under [columns], or remove the table (every slot's mode is then unknown)",
    ]
    assert len(exc.value.problems) == 12


def test_mapping_syntax_error_and_reserved_name():
    with pytest.raises(MappingError) as exc:
        load_appointment_mapping('name = "x"\ntitle = "X"\n[roles]\nGP Partner = "GP"\n')
    assert str(exc.value).splitlines()[1].startswith("  <mapping text>:4: (syntax): not valid TOML: ")
    assert str(exc.value).endswith(
        'e.g. "Same Day" = "same_day"; only numbers and true/false go unquoted'
    )
    with pytest.raises(MappingError, match=r"<mapping text>:1: name: 'gpad' is reserved"):
        load_appointment_mapping(NO_IDS.replace('name = "tiny_slots"', 'name = "gpad"'))


def test_missing_columns_unknown_format_and_missing_practice(store, tmp_path):
    with pytest.raises(UnknownFormatError) as exc:
        ingest_appointment_file(store, EMIS / "appointment_slots.csv", PRACTICE, fmt="emis")
    assert str(exc.value) == (
        "unknown appointment format 'emis'. Known formats: emis_appointments, gpad, systmone_appointments, "
        "systmone_booked_grid, systmone_dna_summary, systmone_slot_summary, or give `mapping` FILE"
    )
    with pytest.raises(InvalidPracticeError) as exc:
        ingest_appointment_file(store, EMIS / "appointment_slots.csv")
    assert str(exc.value) == (
        "appointment_slots.csv: a slot report holds one practice's appointments: give its ODS code as "
        "`practice_id` (only GPAD files name their practices)"
    )
    with pytest.raises(FrontdoorError) as exc:
        ingest_appointment_file(store, S1 / "appointments.csv", PRACTICE, fmt="emis_appointments")
    assert str(exc.value).startswith(
        "appointments.csv: not a emis_appointments slot report: missing column(s) slot_id = 'Slot ID'; "
        "date = 'Session Date';"
    )
    notes = tmp_path / "notes.csv"
    notes.write_text("Dear practice manager,\nplease find the slots attached.\n")
    with pytest.raises(UnknownFormatError, match=r"^notes.csv: not an appointment export Frontdoor recognises\."):
        ingest_appointment_file(store, notes, PRACTICE)
    assert not store.partitions("appointments") and store.manifest().empty


# ----------------------------------------------------------------------------- privacy


def _private_values() -> set[str]:
    """Every clinician name and patient id in the slot fixtures, as written."""
    found: set[str] = set()
    for folder, cols in ((EMIS, ("Session Holder", "Patient ID")), (S1, ("Clinician", "Patient ID"))):
        for path in sorted(folder.iterdir()):
            for line in path.read_text(encoding="utf-8-sig").splitlines():
                parts = line.split(",")
                if len(parts) < 8 or parts[0] in ("Slot ID", "Appointment ID"):
                    continue
                header = (
                    "Slot ID,Session Date,Slot Time,Duration,Session Holder,Holder Role,Slot Type,Slot Status,Booked Date,Patient ID,Delivery Mechanism"
                    if folder == EMIS
                    else "Appointment ID,Date,Start Time,End Time,Clinician,Staff Role,Slot Type,Consultation Type,Status,Booked Date,Patient ID"
                ).split(",")
                for c in cols:
                    i = header.index(c)
                    if i < len(parts) and parts[i].strip():
                        found.add(parts[i].strip())
    return found


def _leaks(text: str, values: set[str]) -> set[str]:
    flat = " ".join(text.split()).lower()
    return {v for v in values if " ".join(v.split()).lower() in flat}


def test_no_clinician_name_or_patient_id_leaves_the_ingest(store, tmp_path, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    private = _private_values()
    assert {"Dr Pretend Alpha", "PT-FAKE-0001", "Nurse Pretend Jones", "RX-FAKE-123", "Receptionist Pretend Eps"} <= private
    said: list[str] = []
    # A mapping that puts the holder's name in the role column too: the words it reports are
    # names, and must not be shown.
    text = (Path(__file__).resolve().parents[2] / "demand" / "appointments" / "mappings" / "emis_appointments.toml").read_text()
    misread = load_appointment_mapping(text.replace('role = "Holder Role"', 'role = "Session Holder"').replace(
        'name = "emis_appointments"', 'name = "emis_misread"'))
    runs = [(p, None) for d in (EMIS, S1) for p in sorted(d.iterdir())] + [(p, misread) for p in sorted(EMIS.iterdir())]
    for path, mapping in runs:
        for _ in range(2):
            try:
                res = ingest_appointment_file(store, path, PRACTICE, mapping=mapping)
            except FrontdoorError as exc:
                said.append(str(exc))
                continue
            said += [res.summary(), repr(res), str(dict(res.unknown)), str(dict(res.skipped))]
    assert any("[withheld]" in s for s in said)  # the misread mapping's "words" were names
    said += [r.getMessage() for r in caplog.records]
    said += list(capfd.readouterr())
    found = {}
    for p in sorted(store.root.rglob("*")):
        if not p.is_file() or p.name == KEY_FILE_NAME:
            continue
        if p.suffix == ".parquet":
            t = pq.read_table(p)
            text = "\n".join(
                "\n".join("" if v is None else str(v) for v in t[c].cast(pa.string()).to_pylist()) for c in t.column_names
            )
        else:
            text = p.read_bytes().decode("utf-8", errors="replace")
        leaked = _leaks(text + "\n" + str(p.relative_to(store.root)), private)
        if leaked:
            found[str(p.relative_to(store.root))] = leaked
    for i, s in enumerate(said):
        if _leaks(s, private):
            found[f"message {i}"] = _leaks(s, private)
    assert not found, f"names or ids leaked: {found}"
    assert len(read_appointments(store)) > 0


def test_the_leak_check_can_fail(store, tmp_path):
    private = _private_values()
    assert _leaks("x,dr  pretend ALPHA,y", private) == {"Dr Pretend Alpha", "Dr  Pretend ALPHA"}
    assert _leaks("[withheld] 9b7b03caf5c73d574493", private) == set()


def test_namespaced_pseudonyms_never_collide_with_callers_or_agents():
    p = Pseudonymiser(b"k")
    text = "07700900123"
    keys = {p.caller_key(text), p.agent_key(text), p.key(text, "patient"), p.key(text, "clinician")}
    assert len(keys) == 4
    s = pd.Series(["P1", " p1 ", None, "", "n/a", "P2"], dtype="string")
    out = p.keys(s, "patient")
    assert out.dtype == "string" and out[0] == out[1] == p.key("P1", "patient") != out[5]
    assert out[2:5].isna().all()
    for bad in ("agent", "raw", "ext", "Patient", "a:b", ""):
        with pytest.raises(ValueError):
            p.key("x", bad)


# ----------------------------------------------------------------------------- the command line


@pytest.fixture
def runner(key):
    return CliRunner()


def test_cli_ingest_appointments_prints_reconciled_summaries(runner, tmp_path):
    store = tmp_path / "store"
    res = runner.invoke(
        main,
        ["ingest", "appointments", str(EMIS / "appointment_slots_with_problems.csv"), str(S1 / "appointments.csv"),
         "--practice", "a81001", "--store", str(store)],
    )
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0] == (
        "appointment_slots_with_problems.csv: emis_appointments, 2026-01-06 to 2026-01-06: 11 rows read "
        "(1 row skipped) -> 1 written, 1 duplicate, 8 rejected"
    )
    assert lines[1] == "  unknown words: role Receptionist (2), status Rescheduled (1)"
    assert lines[2].startswith(f"  rejected rows and reasons: {store / 'rejects'}")
    assert lines[3].startswith("  ingest ") and "frontdoor store remove --ingest" in lines[3]
    assert lines[4:6] == [
        "appointments.csv: systmone_appointments, 2026-01-05 to 2026-03-30: 8 rows read -> 8 written, 0 duplicates, 0 rejected",
        "  unknown words: category Baby Clinic (read as other) (1)",
    ]
    assert lines[6].startswith("  ingest ") and len(lines) == 7
    info = runner.invoke(main, ["store", "info", "--store", str(store), "--format", "csv"])
    assert info.exit_code == 0
    assert info.output.splitlines()[1].startswith("appointments,A81001,2,9,2026-01-05 08:00:00+00:00,2026-03-30 08:20:00+00:00,2")


def test_cli_one_line_errors(runner, tmp_path):
    store = tmp_path / "store"
    res = runner.invoke(main, ["ingest", "appointments", str(EMIS / "appointment_slots.csv"), "--store", str(store)])
    assert res.exit_code == 1
    assert res.output == (
        "Error: appointment_slots.csv: a slot report holds one practice's appointments: give its ODS code "
        "as --practice (only GPAD files name their practices)\n"
    )
    res = runner.invoke(
        main, ["ingest", "appointments", str(S1 / "appointments.csv"), "--practice", "A81001", "--format", "systmone",
               "--store", str(store)]
    )
    assert res.exit_code == 1
    assert res.output == (
        "Error: unknown appointment format 'systmone'. Known formats: emis_appointments, gpad, "
        "systmone_appointments, systmone_booked_grid, systmone_dna_summary, systmone_slot_summary, or give --mapping FILE\n"
    )
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\ntitle = "Bad"\n')
    res = runner.invoke(
        main, ["ingest", "appointments", str(S1 / "appointments.csv"), "--practice", "A81001", "--mapping", str(bad),
               "--store", str(store)]
    )
    assert res.exit_code == 1
    assert res.output.splitlines() == [
        "Error: Mapping file bad.toml has 4 problems:",
        "  bad.toml: columns: required table missing. Fix: add a [columns] table: canonical name = \"the report's column header\"",
        "  bad.toml: roles: required table missing. Fix: add a [roles] table: one line per word of the role column, "
        "e.g. \"<the report's word>\" = \"GP\"",
        "  bad.toml: categories: required table missing. Fix: add a [categories] table: one line per word of the "
        "category column, e.g. \"<the report's word>\" = \"same_day\"",
        "  bad.toml: statuses: required table missing. Fix: add a [statuses] table: one line per word of the status "
        "column, e.g. \"<the report's word>\" = \"available\"",
    ]
    res = runner.invoke(
        main, ["ingest", "appointments", str(S1 / "appointments.csv"), "--practice", "A81001", "--timezone", "Mars/Base",
               "--store", str(store)]
    )
    assert res.exit_code == 2 and "unknown timezone 'Mars/Base'" in res.output


def test_docstring_example_is_a_valid_mapping():
    import demand.appointments.mapping as am

    block = am.__doc__.split("::\n", 1)[1].split("\nNotes\n", 1)[0]
    m = load_appointment_mapping("\n".join(ln[4:] for ln in block.splitlines()))
    assert (m.name, m.skip_lines, m.durations, m.booked_format) == ("emis_mine", 2, "minutes", "%d/%m/%Y %H:%M")
    assert m.required_columns() == ["date", "time", "duration", "role", "category", "status"]
    assert dict(m.categories) == {"same day": "same_day", "routine": "pre_bookable", "*": "other"}
    assert dict(m.modes) == {"face to face": "face_to_face", "": "unknown"}


def test_slot_report_with_a_date_of_year_9999_rejects_that_slot_only(store, tmp_path):
    """A placeholder date (9999) in a slot report costs its own row, saying it is out of range."""
    header = (S1 / "appointments.csv").read_text().splitlines()[0]
    path = tmp_path / "appointments.csv"
    path.write_text(
        header + "\n"
        "S-1,05/01/2026,08:00,08:10,Dr Pretend Smith,GP,Same Day,Telephone,Finished,05/01/2026 08:00:10,RX-FAKE-300\n"
        "S-2,31/12/9999,08:10,08:20,Dr Pretend Smith,GP,Same Day,Telephone,Booked,05/01/2026 08:00:20,RX-FAKE-301\n"
        "S-3,05/01/2026,08:20,08:30,Dr Pretend Smith,GP,Same Day,Telephone,Booked,01/01/1677 00:00:00,RX-FAKE-302\n"
    )
    res = ingest_appointment_file(store, path, PRACTICE, fmt="systmone_appointments")
    assert (res.rows_read, res.written, res.rejected) == (3, 1, 2)
    reasons = pd.read_csv(res.rejects_path)["reason"].tolist()
    assert reasons == [
        "date/time '31/12/9999 08:10' in column 'Date/Start Time' is out of range (years 1678 to 2261 can be stored)",
        "booked date/time '01/01/1677 00:00:00' in column 'Booked Date' is out of range (years 1678 to 2261 can be stored)",
    ]
