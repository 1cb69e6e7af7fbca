"""The registry of input formats: one plain dict, from which ``frontdoor formats`` and the CLI's
choices are generated.

To add a phone system, write one module in this package declaring ``FORMATS`` (a list of
:class:`~telephony.formats._base.Format`) and import it below. To add a bespoke supplier's
report, write a mapping file instead (see :mod:`telephony.formats.mapping`): files in
``telephony/mappings/`` are registered automatically.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from telephony.formats._base import EVIDENCE, RAW_COLUMNS, Format, ParsedChunk, ReadContext
from telephony.formats import asterisk_queue_log
from telephony.formats import freeswitch, cisco_cucm, avaya_smdr
from telephony.formats import asterisk_cdr
from telephony.formats import threecx, teams, twilio, amazon_connect

_MODULES = [
    asterisk_queue_log,
    freeswitch,
    cisco_cucm,
    avaya_smdr,
    asterisk_cdr,
    threecx,
    teams,
    twilio,
    amazon_connect,
]

FORMATS: dict[str, Format] = {}
for _m in _MODULES:
    for _f in _m.FORMATS:
        if _f.name in FORMATS:
            raise RuntimeError(f"format {_f.name} registered twice")
        FORMATS[_f.name] = _f

# Bundled mapping files (telephony/mappings/*.toml), after the modules: a name clash is then
# reported against the mapping file, and a parser module's name is never taken.
from telephony.formats import mapping as _mapping

for _mp in _mapping.bundled_mappings().values():
    if _mp.name in FORMATS:
        raise RuntimeError(f"format {_mp.name} registered twice (mapping {_mp.file_name})")
    FORMATS[_mp.name] = _mapping.mapping_format(_mp)


def format_table(formats: Mapping[str, Format], kind: str) -> pd.DataFrame:
    """A registry of formats as the rows ``frontdoor formats`` lists.

    Parameters
    ----------
    formats : mapping of str to Format
        A registry, e.g. :data:`FORMATS` (or another layer's, such as the appointment formats).
    kind : str
        What the formats hold, written in every row (``"calls"``, ``"appointments"``).

    Returns
    -------
    pandas.DataFrame
        One row per format in registry order: ``kind``, ``name``, ``reads`` (its title),
        ``example file`` and ``checked`` (how sure the reader is: :data:`EVIDENCE`).
    """
    rows = [
        {
            "kind": kind,
            "name": f.name,
            "reads": f.title,
            "example file": f.example,
            "checked": "real exports" if getattr(f, "evidence", "documentation") == "real" else "documentation only",
        }
        for f in formats.values()
    ]
    return pd.DataFrame(rows, columns=["kind", "name", "reads", "example file", "checked"])


__all__ = ["EVIDENCE", "FORMATS", "Format", "ParsedChunk", "ReadContext", "RAW_COLUMNS", "format_table"]
