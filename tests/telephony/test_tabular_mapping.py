"""The one mapping engine (telephony.tabular_mapping) as calls, slots and summary counts use it.

Each test here is a place where the three engines that came before it disagreed, and the rule
the one engine keeps (issue 9). Fixtures in ``tests/data/mixed_offsets/`` are hand-made: a
call report and a slot report from a system that writes some times with a UTC offset and some
without, in British Summer Time, where the difference between the two clocks is an hour.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pandas as pd
import pytest

from demand.appointments.counts import load_capacity_mapping, read_counts
from demand.appointments.ingest import ingest_appointment_file
from demand.appointments.mapping import load_appointment_mapping, read_slots
from demand.appointments.schema import read_appointments
from telephony import tabular_mapping as tm
from telephony.errors import MappingError
from telephony.formats import ReadContext
from telephony.formats.mapping import load_mapping, mapping_format
from telephony.sources import open_source
from tests.helpers import DATA

MIXED = DATA / "mixed_offsets"
PRACTICE = "A81001"

CALLS_BY_END = '''
name = "mixed_calls"
title = "Made-up call report"
[columns]
start = "When"
outcome = "Result"
end = "Ended"
[outcomes]
"Answered" = "answered"
'''

SLOTS = '''
name = "mixed_slots"
title = "Made-up slot report"
[columns]
start = "Start"
end = "End"
clinician = "Holder"
role = "Role"
category = "Type"
status = "Status"
[roles]
"Doctor" = "GP"
[categories]
"On the day" = "same_day"
[statuses]
"Seen" = "attended"
"Free" = "available"
'''


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def read_calls(toml: str, path, timezone: str | None = None):
    """Calls and rejects of a report read through a call mapping."""
    chunks = list(mapping_format(load_mapping(toml)).read(open_source(path), ReadContext(timezone=timezone)))
    return pd.concat([c.calls for c in chunks], ignore_index=True), [r for c in chunks for r in c.rejects]


def read_slot_report(toml: str, path, timezone: str | None = None):
    """Slots, rejects, unknown words and notes of a report read through a slot mapping."""
    chunks = list(read_slots(load_appointment_mapping(toml), open_source(path), timezone))
    unknown = Counter()
    for c in chunks:
        unknown.update(c.unknown)
    slots = pd.concat([c.records for c in chunks], ignore_index=True)
    return slots, [r for c in chunks for r in c.rejects], unknown, [n for c in chunks for n in c.notes]


# ----------------------------------------------------------------------------- times with and without offsets


def test_call_report_with_wall_clock_starts_and_end_times_with_offsets_takes_the_right_talk_time():
    """Starts in wall clock (BST), ends written with Z or +01:00: each end is brought to the
    start's clock before talk time is taken from it. (The call engine took the ends to UTC wall
    time instead, an hour early in summer: every talk time came out 0.)"""
    calls, rejects = read_calls(CALLS_BY_END, MIXED / "call_report_end_times_with_offsets.csv")
    assert rejects == []
    assert calls["talk_s"].tolist() == [300.0, 120.0, 180.0]


def test_call_report_with_utc_starts_and_wall_clock_ends_localises_the_ends_in_the_zone_given():
    """Starts in UTC, ends in the report's wall clock: the ends are localised in the zone given
    for the report (here UTC), not in Europe/London."""
    calls, rejects = read_calls(CALLS_BY_END, MIXED / "call_report_utc_starts_and_wall_clock_ends.csv", "UTC")
    assert rejects == []
    assert calls["talk_s"].tolist() == [300.0, 90.0]
    assert calls["start"].tolist() == [utc("2026-06-01 10:00"), utc("2026-06-01 11:00")]


def test_slot_report_with_wall_clock_starts_and_end_times_with_offsets_reads_the_lengths():
    """The slot engine rejected every such slot ("start and end times in different clocks");
    a time that carries its offset is an exact instant, one that does not is the report's wall
    clock, so the lengths are known."""
    slots, rejects, _unknown, _notes = read_slot_report(SLOTS, MIXED / "slot_report_end_times_with_offsets.csv")
    assert rejects == []
    assert slots["duration_min"].tolist() == [10.0, 15.0, 10.0]


def test_slot_report_with_offset_starts_and_wall_clock_ends_reads_the_lengths_and_instants(store):
    slots, rejects, _unknown, _notes = read_slot_report(SLOTS, MIXED / "slot_report_offset_starts_and_wall_clock_ends.csv")
    assert rejects == []
    assert slots["duration_min"].tolist() == [15.0, 10.0]
    res = ingest_appointment_file(
        store, MIXED / "slot_report_offset_starts_and_wall_clock_ends.csv", PRACTICE, mapping=load_appointment_mapping(SLOTS)
    )
    assert (res.written, res.rejected) == (2, 0)
    got = read_appointments(store, PRACTICE).sort_values("start_utc")
    assert got["start_utc"].tolist() == [utc("2026-06-01 08:00"), utc("2026-06-01 08:15")]


@pytest.mark.parametrize(
    "zone, third",
    [
        (None, "2026-06-01 11:30"),  # Europe/London: 12:30+01:00 is 11:30 UTC either way
        ("UTC", "2026-06-01 11:30"),  # was 12:30: converted to London's wall clock, then read as UTC
    ],
)
def test_start_times_mixing_offsets_and_wall_clock_convert_through_the_reports_zone(store, zone, third):
    """A start written with its offset among wall-clock ones is converted through the report's
    own zone (the one given, else the mapping's), never through Europe/London regardless."""
    from telephony.ingest import ingest_file

    toml = CALLS_BY_END.replace('end = "Ended"', 'talk = "Talk"')
    res = ingest_file(store, MIXED / "call_report_starts_mixing_offsets_and_wall_clock.csv", PRACTICE,
                      mapping=load_mapping(toml), timezone=zone)
    assert (res.written, res.rejected) == (3, 0)
    starts = sorted(store.read_calls(PRACTICE)["start_utc"])
    wall = (lambda t: utc(t)) if zone == "UTC" else (lambda t: pd.Timestamp(t, tz="Europe/London").tz_convert("UTC"))
    assert starts == [wall("2026-06-01 10:00"), wall("2026-06-01 11:00"), utc(third)]


# ----------------------------------------------------------------------------- end times


def test_slot_end_time_out_of_range_says_so(tmp_path):
    """A placeholder end in year 9999: the slot engine called it unreadable, the call engine
    said why; both now say it is out of range."""
    path = tmp_path / "slots.csv"
    path.write_text(
        "Start,End,Holder,Role,Type,Status\n"
        "01/06/2026 09:00,01/06/2026 09:10,Dr Pretend Alpha,Doctor,On the day,Seen\n"
        "01/06/2026 09:10,31/12/9999 00:00,Dr Pretend Alpha,Doctor,On the day,Seen\n"
    )
    slots, rejects, _unknown, _notes = read_slot_report(SLOTS, path)
    assert len(slots) == 1
    assert [(r.line, r.reason) for r in rejects] == [
        (3, "end time '31/12/9999 00:00' in column 'End' is out of range (years 1678 to 2261 can be stored)")
    ]


def test_call_with_no_start_and_a_bare_end_time_is_rejected_for_its_start_only(tmp_path):
    """A bare time of day ends on the start's day: with no start there is nothing to place it
    on, and the start's reason says what is wrong (the call engine also called the end
    unreadable)."""
    path = tmp_path / "calls.csv"
    path.write_text("When,Result,Ended\n01/06/2026 10:00:00,Answered,10:05\n,Answered,10:05\n")
    calls, rejects = read_calls(CALLS_BY_END, path)
    assert calls["talk_s"].tolist() == [300.0]
    assert [(r.line, r.reason) for r in rejects] == [(3, "date/time missing: column 'When' is empty")]


def test_slot_with_no_start_and_an_unreadable_end_says_both(tmp_path):
    """An end that is no time at all is unreadable whether or not the start is there (the slot
    engine said nothing of it when the start was missing too)."""
    path = tmp_path / "slots.csv"
    path.write_text("Start,End,Holder,Role,Type,Status\n,soon,Dr Pretend Alpha,Doctor,On the day,Seen\n")
    _slots, rejects, _unknown, _notes = read_slot_report(SLOTS, path)
    assert [(r.line, r.reason) for r in rejects] == [
        (2, "date/time missing: column 'Start' is empty; unreadable end time 'soon' in column 'End'")
    ]


# ----------------------------------------------------------------------------- words and quoting


def test_slot_report_quotes_a_long_unreadable_value_clipped(tmp_path):
    """A megabyte cell costs its row, not a megabyte of reason: values are quoted by their
    first 60 characters, as the call engine did (the slot engine quoted them whole)."""
    long = "x" * 200
    path = tmp_path / "slots.csv"
    path.write_text(
        "Start,Mins,Holder,Role,Type,Status\n"
        f"01/06/2026 09:00,{long},Dr Pretend Alpha,Doctor,On the day,Seen\n"
        f"01/06/2026 09:10,10,Dr Pretend Alpha,{long},On the day,Seen\n"
    )
    toml = SLOTS.replace('end = "End"', 'duration = "Mins"')
    _slots, rejects, unknown, _notes = read_slot_report(toml, path)
    shown = "x" * 57 + "..."
    assert [(r.line, r.reason) for r in rejects] == [
        (2, f"unreadable duration '{shown}' in column 'Mins' (durations format minutes)"),
        (3, f"unknown role '{shown}' in column 'Role'; add \"{shown}\" = \"<role>\" under [roles] in <mapping text> "
            "(one of GP, ANP, nurse, pharmacist, HCA, paramedic, physio, other)"),
    ]
    assert unknown == Counter({f"role {shown}": 1})


def test_slot_report_counts_an_unknown_word_once_whatever_its_case(tmp_path):
    """"Locum" and "LOCUM" are one word to the mapping (case and spaces ignored), so one word
    to count, under the spelling the file used first (as calls and summary counts did)."""
    path = tmp_path / "slots.csv"
    path.write_text(
        "Start,End,Holder,Role,Type,Status\n"
        "01/06/2026 09:00,01/06/2026 09:10,Dr Pretend Alpha,Locum,On the day,Seen\n"
        "01/06/2026 09:10,01/06/2026 09:20,Dr Pretend Alpha,LOCUM,On the day,Seen\n"
        "01/06/2026 09:20,01/06/2026 09:30,Dr Pretend Alpha,locum  ,On the day,Seen\n"
    )
    _slots, rejects, unknown, _notes = read_slot_report(SLOTS, path)
    assert len(rejects) == 3
    assert unknown == Counter({"role Locum": 3})


def test_slot_report_with_two_of_a_columns_alternatives_says_which_it_took(store, tmp_path):
    """Where a report has two of the headers a mapping lists for one column, the choice is said
    in a note, for slot reports as for call reports (the slot engine chose silently), and the
    note reaches the ingest's result."""
    path = tmp_path / "slots.csv"
    path.write_text(
        "Start,End,Holder,Clinician,Role,Type,Status\n"
        "01/06/2026 09:00,01/06/2026 09:10,Dr Pretend Alpha,Dr Pretend Beta,Doctor,On the day,Seen\n"
    )
    toml = SLOTS.replace('clinician = "Holder"', 'clinician = ["Clinician", "Holder"]')
    slots, rejects, _unknown, notes = read_slot_report(toml, path)
    assert rejects == [] and slots["clinician"].tolist() == ["Dr Pretend Beta"]
    assert notes == [
        "two columns could be `clinician`: took `Clinician` (the name <mapping text> lists first), not `Holder`"
    ]
    res = ingest_appointment_file(store, path, PRACTICE, mapping=load_appointment_mapping(toml))
    assert res.notes == notes


def test_summary_reason_never_quotes_the_rows_staff_name(tmp_path):
    """A summary row whose count cell holds the staff name again (a shifted copy-paste): the
    reject text withheld the name, but the reason quoted it. Names are withheld from reasons
    and counted words too, as in slot reports."""
    path = tmp_path / "summary.csv"
    path.write_text(
        "Staff,Slot Type,Total Slots,Unused Slots\n"
        "Dr Pretend Alpha,GP Same Day,20,5\n"
        "Dr Pretend Beta,Dr Pretend Beta,Dr Pretend Beta,2\n"
    )
    m = load_capacity_mapping(
        'kind = "capacity_counts"\nname = "s1_mine"\ntitle = "Summary"\n[columns]\nclinician = "Staff"\n'
        'slot_type = "Slot Type"\ntotal = "Total Slots"\nunused = "Unused Slots"\n[categories]\n"GP Same Day" = "same_day"\n'
    )
    chunks = list(read_counts(m, open_source(path), (dt.date(2026, 1, 5), dt.date(2026, 1, 30))))
    rejects = [r for c in chunks for r in c.rejects]
    assert [(r.line, r.reason, r.text) for r in rejects] == [
        (3, "unreadable count '[withheld]' in column 'Total Slots'", "[withheld],Dr Pretend Beta,Dr Pretend Beta,2"),
    ]
    assert "Beta" not in repr([c.unknown for c in chunks]) + repr([c.notes for c in chunks])


# ----------------------------------------------------------------------------- rejects and mapping files


def test_call_report_rejects_are_in_line_order(tmp_path):
    """A line that cannot be split and a row with a bad value in one chunk: listed in file
    order, as slot and summary rejects were (the call engine listed the unsplit lines first)."""
    path = tmp_path / "calls.csv"
    path.write_text(
        "When,Result,Ended\n"
        "01/06/2026 10:00:00,Answered,later\n"
        "01/06/2026 10:10:00,Answered,10:15:00\n"
        "01/06/2026 10:20:00,Answered,10:25:00,extra,fields\n"
    )
    _calls, rejects = read_calls(CALLS_BY_END, path)
    assert [r.line for r in rejects] == [2, 4]


def test_call_mapping_may_say_its_kind():
    """Slot and summary mappings say their kind; a call mapping may too (it was an unknown
    key), and one of another kind is told which loader reads it."""
    assert load_mapping('kind = "calls"\n' + CALLS_BY_END).name == "mixed_calls"
    with pytest.raises(MappingError) as exc:
        load_mapping('kind = "slots"\n' + CALLS_BY_END)
    assert str(exc.value).splitlines()[1] == (
        "  <mapping text>:1: kind: 'slots' is not a calls mapping. Fix: write kind = \"calls\" (this loader reads "
        "calls mappings; give the file to the loader of its own kind)"
    )


def test_an_empty_word_table_without_its_column_is_harmless():
    """An empty [modes] table in a slot mapping with no mode column reads nothing and costs
    nothing (the slot builder refused it; the call builder let an empty [directions] be)."""
    m = load_appointment_mapping(SLOTS + "[modes]\n")
    assert dict(m.modes) == {}
    assert load_mapping(CALLS_BY_END + "[directions]\n").name == "mixed_calls"


def test_a_word_table_without_its_column_has_its_words_checked_too():
    """Every problem at once: the table given without its column, and its wrong word."""
    with pytest.raises(MappingError) as exc:
        load_appointment_mapping(SLOTS + '[modes]\n"Phone" = "phone"\n')
    assert [p.key for p in exc.value.problems] == ["[modes]", "modes.Phone"]
    assert exc.value.problems[1].message == "'phone' is not a mode"


# ----------------------------------------------------------------------------- the engine itself


def test_each_kind_is_one_record_spec_over_the_one_engine():
    """The three kinds share the builder, loader, folder lookup, sniffer and converter: what
    a kind declares is data (its columns, words and vocabularies, required columns) and its
    own conversion."""
    from demand.appointments import counts, mapping
    from telephony.formats import mapping as calls

    for module, kind in ((calls, "calls"), (mapping, "slots"), (counts, "capacity_counts")):
        spec = module.RECORD
        assert spec.kind == kind and spec.records is not None and spec.folder.is_dir()
        for m in tm.bundled_mappings_of(spec).values():
            assert m.record is spec and isinstance(m, spec.mapping_type)
    assert [t.values for t in mapping.RECORD.word_tables][-1] == ("face_to_face", "telephone", "video", "home_visit", "unknown")


def test_importing_the_engine_first_works():
    """The engine imports the readers' contract last (see its foot): importing it before the
    call-format registry must work in a fresh interpreter."""
    import subprocess
    import sys

    code = "import telephony.tabular_mapping as t; import telephony.formats as f; print(len(f.FORMATS) > 5)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=DATA.parent.parent)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
