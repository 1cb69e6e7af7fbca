"""Checks shared by the tests of the 3CX, Teams, Twilio and Amazon Connect parsers."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from telephony.formats import Format, ReadContext
from telephony.sources import open_source
from telephony.timeutil import localize

# The order of the fields in a golden expectation tuple.
FIELDS = ("start_utc", "direction", "line", "caller", "outcome", "wait_s", "talk_s", "agent", "n_rows", "source_line")


def utc(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


def read_all(fmt: Format, path: Path) -> SimpleNamespace:
    """Every chunk of a file, gathered: calls, rejects and the counts."""
    chunks = list(fmt.read(open_source(path), ReadContext()))
    calls = pd.concat([c.calls for c in chunks if len(c.calls)], ignore_index=True)
    return SimpleNamespace(
        calls=calls,
        rejects=[r for c in chunks for r in c.rejects],
        rows_read=sum(c.rows_read for c in chunks),
        skipped=sum((c.skipped for c in chunks), Counter()),
        unknown=sum((c.unknown for c in chunks), Counter()),
    )


def check_golden(calls: pd.DataFrame, expected: dict, key: str = "call_id") -> None:
    """Compare each call with its hand-computed expectation (``None`` = null).

    ``start_utc`` is the parser's ``start`` as the ingest converts it (Europe/London for
    wall-clock times).
    """
    calls = calls.assign(start_utc=localize(calls["start"]))
    got = {r[key]: r for r in calls.to_dict("records")}
    assert len(got) == len(calls), "duplicate keys"
    assert set(got) == set(expected)
    for k, exp in expected.items():
        row = got[k]
        for f, e in zip(FIELDS, exp):
            v = row[f]
            if e is None:
                assert v is None or pd.isna(v), (k, f, v)
            elif isinstance(e, float):
                assert not pd.isna(v) and math.isclose(v, e), (k, f, v, e)
            else:
                assert v == e, (k, f, v, e)


def conserved(r: SimpleNamespace) -> bool:
    """Every source row is in a call, a reject or a skip count."""
    return r.rows_read == int(r.calls["n_rows"].sum()) + sum(x.rows for x in r.rejects) + sum(r.skipped.values())


def reject_summary(rejects) -> list[tuple[int, str, int]]:
    """(line, reason up to its first ';' or ' (', rows), sorted."""
    return sorted((x.line, x.reason.split(";")[0].split(" (")[0], x.rows) for x in rejects)
