"""Checks shared by the parser tests: parsing a fixture whole or in small chunks, row
conservation, sniffing, refusing other formats and end-to-end ingest (run twice)."""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd
import pytest

import telephony.sources as sources
from telephony.errors import BadInputError
from telephony.formats import Format, ReadContext
from telephony.ingest import ingest_file
from telephony.sources import open_source

SITE = "A81001"


def parse_fixture(fmt: Format, path: Path, **ctx):
    """All chunks of a file: (calls, rejects, chunks); calls not yet indexed."""
    chunks = list(fmt.read(open_source(path), ReadContext(**ctx)))
    calls = pd.concat([c.calls for c in chunks if len(c.calls)], ignore_index=True)
    rejects = [r for c in chunks for r in c.rejects]
    return calls, rejects, chunks


def check_small_chunks_same(parse, monkeypatch, module, block_bytes: int, name: str) -> None:
    """``parse(name)`` gives the same calls and rejects with ``module.BLOCK_BYTES`` made small."""
    whole, whole_rej, _ = parse(name)
    monkeypatch.setattr(module, "BLOCK_BYTES", block_bytes)
    small, small_rej, chunks = parse(name)
    assert len(chunks) > 5
    pd.testing.assert_frame_equal(whole.sort_index(), small.sort_index())
    assert sorted((r.line, r.reason) for r in whole_rej) == sorted((r.line, r.reason) for r in small_rej)


def json_records_per_chunk(monkeypatch, n: int) -> None:
    """Make JSON sources yield ``n`` records a chunk."""
    monkeypatch.setattr(sources, "read_json_records", functools.partial(sources.read_json_records, chunk_records=n))


def check_rows_conserved(fmt: Format, path: Path) -> None:
    """Every row read is in a call, a reject or a skip count, and some rows were read."""
    chunks = list(fmt.read(open_source(path), ReadContext()))
    read = sum(c.rows_read for c in chunks)
    accounted = (
        sum(int(c.calls["n_rows"].sum()) for c in chunks)
        + sum(r.rows for c in chunks for r in c.rejects)
        + sum(sum(c.skipped.values()) for c in chunks)
    )
    assert read == accounted
    assert read > 0


def other_fixtures(data: Path, own_dir: Path) -> list[Path]:
    """Every fixture file not in ``own_dir``, sorted."""
    return sorted(p for p in data.rglob("*") if p.is_file() and p.parent != own_dir)


def check_sniff_sure(fmt: Format, paths) -> None:
    for p in paths:
        assert fmt.sniff(open_source(p)) == 1.0, p.name


def check_sniff_not_sure(fmt: Format, paths, unopenable=(BadInputError,)) -> None:
    """Below 0.9 on each file that opens (those that do not are passed over)."""
    for p in paths:
        try:
            src = open_source(p)
        except unopenable:
            continue
        assert fmt.sniff(src) < 0.9, p


def check_raises_bad_input(fmt: Format, path: Path, match: str) -> None:
    with pytest.raises(BadInputError, match=match):
        list(fmt.read(open_source(path), ReadContext()))


def check_reingest_replaces(store, first, again) -> None:
    """The same file ingested again replaces what its first ingest wrote: the store holds as
    many rows as before, all now the second ingest's."""
    assert (again.written, again.duplicates, again.rejected) == (first.written, first.duplicates, first.rejected)
    assert again.replaced == first.written and again.replaces == [first.ingest_id]


def ingest_twice(store, path: Path, fmt_name: str, counts: tuple[int, int, int, int], **kw):
    """Ingest (format sniffed), check (rows_read, written, duplicates, rejected), ingest
    again and check that the second ingest replaces the first, adding nothing. Returns the
    first result."""
    res = ingest_file(store, path, SITE, **kw)
    assert res.format == fmt_name
    assert (res.rows_read, res.written, res.duplicates, res.rejected) == counts
    n = len(store.read_calls())
    again = ingest_file(store, path, SITE)
    check_reingest_replaces(store, res, again)
    assert len(store.read_calls()) == n
    return res


def ingest_problems_twice(store, path: Path, counts: tuple[int, int, int, int, int]):
    """Ingest a file with problems: (rows_read, written, duplicates, rejected, rows_skipped),
    rows balanced, and a second ingest adds nothing. Returns the first result."""
    res = ingest_file(store, path, SITE)
    assert (res.rows_read, res.written, res.duplicates, res.rejected, res.rows_skipped) == counts
    assert res.rows_read == res.records + res.rows_merged + res.rows_skipped
    n = len(store.read_calls())
    again = ingest_file(store, path, SITE)
    check_reingest_replaces(store, res, again)
    assert len(store.read_calls()) == n
    return res


def ingest_sniffed_twice(store, path: Path, fmt_name: str, written: int, rejected: int) -> pd.DataFrame:
    """Cloud exports: ingest (format sniffed), rows balanced, again replacing the first;
    returns the stored calls (checked to number ``written``)."""
    r = ingest_file(store, path, SITE)
    assert r.format == fmt_name
    assert (r.written, r.duplicates, r.rejected) == (written, 0, rejected)
    assert r.rows_read == r.records + r.rows_merged + r.rows_skipped
    again = ingest_file(store, path, SITE)
    check_reingest_replaces(store, r, again)
    calls = store.read_calls()
    assert len(calls) == written
    return calls


def assert_same_calls(a: pd.DataFrame, b: pd.DataFrame, cols: list[str]) -> None:
    """The same calls in ``cols``, whatever the order."""
    pd.testing.assert_frame_equal(
        a.sort_values("call_id")[cols].reset_index(drop=True),
        b.sort_values("call_id")[cols].reset_index(drop=True),
    )
