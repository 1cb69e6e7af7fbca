"""Builders for small hand-made frames of canonical calls.

Caller keys are written as drama-range numbers (Ofcom's 07700 900xxx) so a reader can follow a
caller; the metrics treat them as the opaque pseudonyms they stand for.
"""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from telephony.schema import CALL_COLUMNS

TZ = "Europe/London"
_ids = itertools.count()


def call(
    when: str,
    outcome: str = "answered",
    wait: float | None = None,
    talk: float | None = None,
    caller: str | None = None,
    direction: str = "inbound",
    line: str | None = "main",
    practice: str = "A81001",
) -> dict:
    """One canonical call. ``when`` is local London time, or carries its own UTC offset."""
    ts = pd.Timestamp(when)
    if ts.tzinfo is None:
        ts = ts.tz_localize(TZ)  # raises on the ambiguous autumn hour: give an offset there
    if talk is None:
        talk = 60.0 if outcome == "answered" else 0.0
    return {
        "practice_id": practice,
        "call_id": f"call-{next(_ids)}",
        "source_format": "hand_made",
        "start_utc": ts.tz_convert("UTC"),
        "direction": direction,
        "line": line,
        "caller_key": caller,
        "outcome": outcome,
        "wait_s": wait,
        "talk_s": talk,
        "agent_key": "agent-1" if outcome == "answered" else None,
    }


def frame(*calls: dict) -> pd.DataFrame:
    """A canonical frame with the store's dtypes."""
    df = pd.DataFrame(list(calls), columns=list(CALL_COLUMNS))
    df["start_utc"] = pd.to_datetime(df["start_utc"], utc=True).astype("datetime64[us, UTC]")
    for c in ("practice_id", "call_id", "source_format", "direction", "line", "caller_key", "outcome", "agent_key"):
        df[c] = df[c].astype("string")
    for c in ("wait_s", "talk_s"):
        df[c] = pd.to_numeric(df[c]).astype("float64")
    return df


@pytest.fixture(scope="session")
def build():
    """``build.call(...)`` makes one call, ``build.frame(*calls)`` the frame."""

    class Builder:
        pass

    b = Builder()
    b.call = staticmethod(call)
    b.frame = staticmethod(frame)
    b.tz = TZ
    return b

