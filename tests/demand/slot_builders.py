"""Builders for small hand-made frames of canonical appointment slots (importable by tests).

Clinician and patient keys are obviously fake stand-ins (``dr-A``, ``pt-1``) for the keyed
pseudonyms the store holds.
"""

from __future__ import annotations

import itertools

import pandas as pd

from demand.appointments.schema import APPOINTMENT_COLUMNS

TZ = "Europe/London"
_ids = itertools.count()


def local(when: str | None) -> pd.Timestamp | None:
    """A London wall-clock time (or one carrying its own offset) as a UTC instant."""
    if when is None:
        return None
    ts = pd.Timestamp(when)
    if ts.tzinfo is None:
        ts = ts.tz_localize(TZ)  # raises on the ambiguous autumn hour: give an offset there
    return ts.tz_convert("UTC")


def slot(
    when: str,
    status: str = "attended",
    category: str = "pre_bookable",
    booked: str | None = None,
    role: str = "GP",
    mode: str = "face_to_face",
    duration: float = 10.0,
    clinician: str | None = "dr-A",
    patient: str | None = "pt-1",
    practice: str = "A81001",
) -> dict:
    """One canonical slot starting at ``when`` (local London time unless it has an offset)."""
    return {
        "practice_id": practice,
        "slot_id": f"slot-{next(_ids)}",
        "source_format": "hand_made",
        "start_utc": local(when),
        "duration_min": duration,
        "role": role,
        "mode": mode,
        "status": status,
        "category": category,
        "booked_utc": local(booked),
        "clinician_key": clinician,
        "patient_key": None if status == "available" else patient,
    }


def slots_frame(*slots: dict) -> pd.DataFrame:
    """A canonical slot frame with the store's dtypes."""
    df = pd.DataFrame(list(slots), columns=list(APPOINTMENT_COLUMNS))
    for c in ("start_utc", "booked_utc"):
        df[c] = pd.to_datetime(df[c], utc=True).astype("datetime64[us, UTC]")
    for c in ("practice_id", "slot_id", "source_format", "role", "mode", "status", "category", "clinician_key", "patient_key"):
        df[c] = df[c].astype("string")
    df["duration_min"] = pd.to_numeric(df["duration_min"]).astype("float64")
    return df
