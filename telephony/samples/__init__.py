"""Sample exports bundled with Frontdoor, so a new user can see it work before bringing data.

Every phone number in them is in Ofcom's ranges reserved for drama (07700 900xxx, 01632 960xxx),
so no real person's number is in the repository.
"""

from __future__ import annotations

from pathlib import Path

from telephony.ingest import ingest_file

HERE = Path(__file__).parent

# (file, practice, format): one practice per phone system, as a federation would have.
SAMPLES: tuple[tuple[str, str, str], ...] = (
    ("A81001_queue_log", "A81001", "asterisk_queue_log"),
)


def sample_paths() -> list[tuple[Path, str, str]]:
    """The bundled sample files with their practice and format."""
    return [(HERE / f, p, fmt) for f, p, fmt in SAMPLES]


def ingest_samples(store) -> list:
    """Ingest every bundled sample into ``store``; returns the ingest results."""

    return [ingest_file(store, path, practice) for path, practice, _fmt in sample_paths()]
