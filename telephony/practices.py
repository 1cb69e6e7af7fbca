"""The practices registry: ``STORE/practices.parquet``, one row per practice.

Glossary
--------
=============== ======= ==========================================================================
column          type    meaning
=============== ======= ==========================================================================
practice_id     string  ODS code
name            string  practice name
list_size       int64   registered patients (for rates per 1,000 patients and demand as a share)
pcn_code        string  Primary Care Network code
pcn_name        string  Primary Care Network name
federation      string  GP federation the practice belongs to (null if none)
opening_hours   string  when the phones are open, e.g. ``Mon-Fri 08:00-18:30``
phone_system    string  e.g. ``3CX`` (null if unknown)
clinical_system string  ``EMIS``, ``TPP``... (null if unknown)
=============== ======= ==========================================================================
"""

from __future__ import annotations

import os
import uuid

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from telephony.errors import FrontdoorError
from telephony.store import Store, validate_practice_id

PRACTICE_SCHEMA = pa.schema(
    [
        pa.field("practice_id", pa.string(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("list_size", pa.int64()),
        pa.field("pcn_code", pa.string()),
        pa.field("pcn_name", pa.string()),
        pa.field("federation", pa.string()),
        pa.field("opening_hours", pa.string()),
        pa.field("phone_system", pa.string()),
        pa.field("clinical_system", pa.string()),
    ]
)
FILE_NAME = "practices.parquet"


class PracticeRegistryError(FrontdoorError, ValueError):
    """Registry rows that cannot be stored."""


def read_practices(store: Store) -> pd.DataFrame:
    """The registry (an empty frame with the schema's columns when there is none)."""
    path = store.root / FILE_NAME
    if not path.exists():
        return PRACTICE_SCHEMA.empty_table().to_pandas()
    return pq.read_table(path).to_pandas()


def known_practices(store: Store, registry: pd.DataFrame | None = None) -> set[str]:
    """The practices a store knows: those in its registry, or with calls or appointments.

    A practice is known once any of its data is in the store, registered or not: an ingest
    does not need the registry, and a report or a metric of such a practice is still wanted.

    Parameters
    ----------
    store : Store
    registry : pandas.DataFrame, optional
        The registry already read (:func:`read_practices`), to save reading it again.

    Returns
    -------
    set of str
        ODS codes.
    """
    if registry is None:
        registry = read_practices(store)
    known = set(registry["practice_id"].astype(str))
    for table in ("calls", "appointments"):
        # only directory names are read: a partition's practice is in its path
        known |= {pid for pid, _month, _path in store.partitions(table)}
    return known


def write_practices(store: Store, practices: pd.DataFrame) -> pd.DataFrame:
    """Add or replace practices in the registry, atomically.

    Parameters
    ----------
    store : Store
    practices : pandas.DataFrame
        Rows with ``practice_id`` and any of the other columns of :data:`PRACTICE_SCHEMA`
        (missing ones are null). A practice already in the registry is replaced whole.

    Returns
    -------
    pandas.DataFrame
        The registry as written, sorted by ``practice_id``.

    Raises
    ------
    PracticeRegistryError
        For a missing or repeated practice id, or a negative list size.
    """
    if "practice_id" not in practices.columns:
        raise PracticeRegistryError("practices need a practice_id column")
    new = practices.copy()
    new["practice_id"] = [validate_practice_id(p) for p in new["practice_id"]]
    if new["practice_id"].duplicated().any():
        dup = sorted(set(new.loc[new["practice_id"].duplicated(), "practice_id"]))
        raise PracticeRegistryError(f"practice(s) {', '.join(dup)} given twice")
    for c in PRACTICE_SCHEMA.names:
        if c not in new.columns:
            new[c] = None
    sizes = pd.to_numeric(new["list_size"], errors="coerce")
    if (sizes < 0).any():
        raise PracticeRegistryError("list_size cannot be negative")
    new["list_size"] = sizes.astype("Int64")
    with store.lock():
        old = read_practices(store)
        old = old[~old["practice_id"].isin(new["practice_id"])]
        allp = pd.concat([old, new[list(PRACTICE_SCHEMA.names)]], ignore_index=True)
        allp = allp.sort_values("practice_id", kind="stable").reset_index(drop=True)
        table = pa.Table.from_pandas(allp[list(PRACTICE_SCHEMA.names)], schema=PRACTICE_SCHEMA, preserve_index=False)
        path = store.root / FILE_NAME
        tmp = path.with_name(f"{FILE_NAME}.tmp-{uuid.uuid4().hex}")
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    return allp
