"""Helpers shared by test modules (importable, unlike conftest)."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).parent / "data"

# Fixture folders of appointment exports (slot reports, GPAD), not call logs: the call privacy
# test skips them and tests/demand/test_appointments_ingest.py checks them instead.
APPOINTMENT_FIXTURE_DIRS = frozenset({"emis_appointments", "systmone_appointments", "systmone_summary", "gpad"})


def all_fixture_files() -> list[Path]:
    """Every fixture file under tests/data (for cross-format sniff and privacy tests)."""
    return sorted(p for p in DATA.rglob("*") if p.is_file())
