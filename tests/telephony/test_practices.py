"""The practices a store knows (:func:`telephony.practices.known_practices`)."""

from __future__ import annotations

import pandas as pd

from demand.appointments.ingest import ingest_appointments
from telephony.ingest import ingest_file
from telephony.practices import known_practices, read_practices, write_practices
from tests.helpers import DATA


def test_known_practices_are_the_registered_ones_and_those_with_calls_or_slots(store):
    assert known_practices(store) == set()
    write_practices(store, pd.DataFrame({"practice_id": ["A81001"], "name": ["Example Street Surgery"]}))
    # a practice becomes known by its data alone, registered or not
    ingest_file(store, DATA / "asterisk_queue_log" / "queue_log", practice_id="a81002")
    ingest_appointments(store, [DATA / "emis_appointments" / "appointment_slots.csv"], practice_id="A81003")
    assert known_practices(store) == {"A81001", "A81002", "A81003"}
    assert set(read_practices(store)["practice_id"]) == {"A81001"}


def test_known_practices_take_a_registry_already_read(store):
    ingest_file(store, DATA / "asterisk_queue_log" / "queue_log", practice_id="A81002")
    given = pd.DataFrame({"practice_id": ["B82005"]})  # not in the store's registry: proves it is used
    assert known_practices(store, given) == {"A81002", "B82005"}


def test_known_practices_without_the_registry_are_those_with_data(store):
    write_practices(store, pd.DataFrame({"practice_id": ["A81001", "B99001"]}))
    ingest_file(store, DATA / "asterisk_queue_log" / "queue_log", practice_id="A81002")
    assert known_practices(store, registered=False) == {"A81002"}
    assert known_practices(store) == {"A81001", "A81002", "B99001"}
