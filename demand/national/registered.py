"""NHS Digital's monthly "Patients Registered at a GP Practice": list size and age profile.

Not written yet: the contract's place holder, so that callers can import it.
"""

from __future__ import annotations

import pandas as pd


def read_patients_registered(path) -> pd.DataFrame:
    """One row per practice: practice_id, month, list_size, the six age shares (issue 12)."""
    raise NotImplementedError("read_patients_registered is being written (issue 12)")
