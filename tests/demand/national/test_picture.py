"""GPAD appointments beside the CBT rows (:mod:`demand.national.picture`)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from demand.appointments.ingest import ingest_appointment_file
from demand.national.cbt import write_national_cbt
from demand.national.picture import GPAD_COLUMNS, read_national_picture
from tests.demand.national.test_cbt_table import cbt_rows

HEADER = ("APPOINTMENT_MONTH_START_DATE,GP_CODE,GP_NAME,SUPPLIER,PCN_CODE,PCN_NAME,SUB_ICB_LOCATION_CODE,"
          "SUB_ICB_LOCATION_NAME,HCP_TYPE,APPT_MODE,NATIONAL_CATEGORY,TIME_BETWEEN_BOOK_AND_APPT,COUNT_OF_APPOINTMENTS,APPT_STATUS")
MODES = ["Face-to-Face", "Telephone", "Home Visit"]
STATUSES = ["Attended", "DNA", "Unknown"]
WAITS = ["Same Day", "1 Day", "8  to 14 Days"]


def _gpad_file(path, months, practices, seed=0):
    """A GPAD practice-level CSV, and the expected sums per practice and month, by hand."""
    rng = np.random.default_rng(seed)
    lines, expected = [HEADER], {}
    for m in months:
        for p in practices:
            e = dict.fromkeys(GPAD_COLUMNS, 0)
            for mode in MODES:
                for status in STATUSES:
                    for wait in WAITS:
                        n = int(rng.integers(0, 60))
                        lines.append(f"{m:%d%b%Y}".upper() + f",{p},INVENTED SURGERY,EMIS,U99001,INVENTED PCN,99X,"
                                     f"NHS INVENTED,GP,{mode},Clinical Triage,{wait},{n},{status}")
                        e["gpad_appointments"] += n
                        e["gpad_attended"] += n * (status == "Attended")
                        e["gpad_dna"] += n * (status == "DNA")
                        e["gpad_same_day"] += n * (wait == "Same Day")
                        e["gpad_telephone"] += n * (mode == "Telephone")
                        e["gpad_face_to_face"] += n * (mode == "Face-to-Face")
            expected[(p, pd.Timestamp(m))] = e
    path.write_text("\n".join(lines) + "\n")
    return expected


def test_gpad_monthly_appointments_sit_beside_the_cbt_row_of_the_same_practice_and_month(tmp_path, store):
    dec, jan = dt.date(2025, 12, 1), dt.date(2026, 1, 1)
    write_national_cbt(store, cbt_rows("2025-12-01", ["A99001", "A99002", "Unassigned"]))
    write_national_cbt(store, cbt_rows("2026-01-01", ["A99001", "A99002", "A99003"], seed=1))
    expected = _gpad_file(tmp_path / "gpad.csv", [dec, jan], ["A99001", "A99002", "A99004"])
    ingest_appointment_file(store, tmp_path / "gpad.csv", None, fmt="gpad")

    pic = read_national_picture(store)
    assert len(pic) == 6  # one row per CBT row, the Unassigned one included
    for _, row in pic[~pic["unassigned"]].iterrows():
        want = expected.get((row["practice_id"], row["month"]))
        if want is None:  # A99003 is in CBT, not in GPAD: unknown, not zero
            assert row["practice_id"] == "A99003" and pic.loc[_, list(GPAD_COLUMNS)].isna().all()
        else:
            assert {c: int(row[c]) for c in GPAD_COLUMNS} == want
    assert pic.loc[pic["unassigned"], list(GPAD_COLUMNS)].isna().all().all()

    jan_only = read_national_picture(store, months=["2026-01"], how="outer")
    assert sorted(jan_only["practice_id"]) == ["A99001", "A99002", "A99003", "A99004"]
    a4 = jan_only.set_index("practice_id").loc["A99004"]
    assert pd.isna(a4["inbound_calls"]) and int(a4["gpad_appointments"]) == expected[("A99004", pd.Timestamp(jan))]["gpad_appointments"]
