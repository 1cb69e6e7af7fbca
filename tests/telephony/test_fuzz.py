"""Fuzzing every call reader with mutated real-looking rows (issue 8, "done when").

Each example takes one of a format's own fixture files, mutates it the ways real files go
wrong (cut short, NUL bytes, another encoding, dates out of range, a huge field; for formats
with a header, columns duplicated, reordered or renamed in another case), ingests it with the
format forced, and asserts what must hold whatever the input:

- no unexpected exception: a Frontdoor error (one line for the user) or a reconciled ingest;
- rows read = written + duplicates + rejected + legs joined + rows skipped;
- no raw phone number in the store, the rejects, the manifest or anything said.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telephony.errors import FrontdoorError
from telephony.formats import FORMATS
from telephony.ingest import ingest_file
from telephony.store import Store
from tests.helpers import DATA

_NSN = re.compile(r"7700900\d{3}|1632960\d{3}|2079460\d{3}")
_SEP = re.compile(r"[\s\-().\u00a0/+]")
_DATE = re.compile(rb"(?:19|20)\d\d[-/]\d\d[-/]\d\d|\d\d/\d\d/(?:19|20)\d\d|1[6-8]\d{8}(?=[.|,\"])")
# The files the fuzzer starts from: one ordinary export per format.
SEEDS: dict[str, str] = {
    "asterisk_queue_log": "asterisk_queue_log/queue_log",
    "asterisk_cdr_csv": "asterisk_cdr_csv/Master.csv",
    "asterisk_cdr_custom": "asterisk_cdr_custom/Master.csv",
    "freepbx_cdr": "freepbx_cdr/cdr.csv",
    "freeswitch_cdr_csv": "freeswitch_cdr_csv/Master.csv",
    "threecx_report": "threecx_report/CallReport.csv",
    "cisco_cucm_cdr": "cisco_cucm_cdr/cdr_StandAloneCluster_01_202601050800_1.csv",
    "avaya_smdr": "avaya_smdr/SMDR_2026-01-05.csv",
    "teams_pstn": "teams_pstn/pstn_usage_admin_centre.csv",
    "twilio_calls": "twilio_calls/calls_api.csv",
    "amazon_connect_ctr": "amazon_connect_ctr/ctr_athena.csv",
    "xon_surgery_connect": "xon_surgery_connect/call_report.csv",
}
HEADERED = {"asterisk_queue_log", "freepbx_cdr", "threecx_report", "cisco_cucm_cdr", "teams_pstn", "twilio_calls",
            "amazon_connect_ctr", "xon_surgery_connect"}


def _numbers(text: str) -> set[str]:
    return set(_NSN.findall(_SEP.sub("", text)))


def _cut(data: bytes, at: float) -> bytes:
    return data[: max(1, int(len(data) * at))]


def _nul(data: bytes, at: float) -> bytes:
    i = int(len(data) * at)
    return data[:i] + b"\x00\x00" + data[i:]


def _encode(data: bytes, enc: str) -> bytes:
    text = data.decode("utf-8", errors="replace")
    return codecs.BOM_UTF16_LE + text.encode("utf-16-le") if enc == "utf-16" else text.encode(enc, errors="replace")


def _extreme_date(data: bytes, which: int, year: bytes) -> bytes:
    dates = list(_DATE.finditer(data))
    if not dates:
        return data
    m = dates[which % len(dates)]
    old = m.group(0)
    if old[:2] in (b"16", b"17", b"18") and old[2:3].isdigit() and len(old) == 10:  # an epoch
        new = b"253402300799" if year == b"9999" else b"-9999999999"
    elif old[4:5] in (b"-", b"/"):
        new = year + old[4:]
    else:
        new = old[:-4] + year
    return data[: m.start()] + new + data[m.end():]


def _huge_field(data: bytes, at: float) -> bytes:
    lines = data.split(b"\n")
    i = min(len(lines) - 1, max(1, int(len(lines) * at)))
    lines[i] = lines[i].replace(b",", b"," + b"x" * 100_000 + b",", 1) or b"x" * 100_000
    return b"\n".join(lines)


def _columns(data: bytes, how: str, k: int) -> bytes:
    """Change the header row of a CSV export (the first line with several commas)."""
    lines = data.split(b"\n")
    h = next((i for i, ln in enumerate(lines) if ln.count(b",") >= 3 or ln.count(b";") >= 3), None)
    if h is None:
        return data
    sep = b";" if lines[h].count(b";") > lines[h].count(b",") else b","
    head = lines[h].rstrip(b"\r").split(sep)
    rows = [ln.rstrip(b"\r").split(sep) for ln in lines[h + 1 :]]
    j = k % len(head)
    if how == "case":
        head = [c.swapcase() if i == j else c for i, c in enumerate(head)]
    elif how == "extra":
        head = head + [b"uid"]
        rows = [r + [b"17"] if len(r) > 1 else r for r in rows]
    elif how == "duplicate":
        head = head + [head[j].upper()]
        rows = [r + [r[j]] if len(r) > j and len(r) > 1 else r for r in rows]
    else:  # reorder: move one column to the end (quoted fields with separators stay together only
        # when unquoted; a mis-split row is a reject, which the checks below allow)
        head = head[:j] + head[j + 1 :] + [head[j]]
        rows = [r[:j] + r[j + 1 :] + [r[j]] if len(r) == len(head) else r for r in rows]
    return b"\n".join(lines[:h] + [sep.join(head)] + [sep.join(r) for r in rows])


mutations = st.one_of(
    st.tuples(st.just("cut"), st.floats(0.05, 0.99)),
    st.tuples(st.just("nul"), st.floats(0.0, 1.0)),
    st.tuples(st.just("encode"), st.sampled_from(["utf-16", "cp1252", "latin-1"])),
    st.tuples(st.just("date"), st.integers(0, 50), st.sampled_from([b"9999", b"1677", b"0001", b"2262"])),
    st.tuples(st.just("huge"), st.floats(0.0, 1.0)),
    st.tuples(st.just("columns"), st.sampled_from(["case", "extra", "duplicate", "reorder"]), st.integers(0, 40)),
)


def _mutate(data: bytes, name: str, m: tuple) -> bytes:
    kind = m[0]
    if kind == "cut":
        return _cut(data, m[1])
    if kind == "nul":
        return _nul(data, m[1])
    if kind == "encode":
        return _encode(data, m[1])
    if kind == "date":
        return _extreme_date(data, m[1], m[2])
    if kind == "huge":
        return _huge_field(data, m[1])
    return _columns(data, m[1], m[2]) if name in HEADERED else _cut(data, 0.5)


def _store_text(root: Path) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = []
    for f in root.rglob("*"):
        if not f.is_file() or f.name.startswith(".frontdoor-key"):
            continue
        if f.suffix == ".parquet":
            t = pq.read_table(f)
            out += ["\n".join(str(v) for v in t[c].cast(pa.string()).to_pylist()) for c in t.column_names]
        else:
            out.append(f.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(out)


@pytest.mark.parametrize("name", sorted(SEEDS))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(muts=st.lists(mutations, min_size=1, max_size=3))
def test_fuzzed_exports_never_crash_lose_rows_or_leak(name, muts, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("FRONTDOOR_KEY", "fuzz-key")
    seed = DATA / SEEDS[name]
    data = seed.read_bytes()
    numbers = _numbers(data.decode("utf-8", errors="replace"))
    for m in muts:
        data = _mutate(data, name, m)
    work = tmp_path_factory.mktemp("fuzz")
    f = work / seed.name
    f.write_bytes(data)
    store = Store(work / "store", create=True)
    said = []
    try:
        res = ingest_file(store, f, "A81001", fmt=name)
    except FrontdoorError as exc:
        said.append(str(exc))
        assert "\n" not in str(exc).strip(), "one line for the user"
    else:
        said += [res.summary(), str(dict(res.unknown)), str(dict(res.skipped))]
        assert res.rows_read == res.written + res.duplicates + res.rejected + res.rows_merged + res.rows_skipped
        assert res.written == len(store.read_calls())
    leaked = _numbers("\n".join(said) + _store_text(store.root)) & numbers
    assert not leaked, f"{name} {muts}: raw numbers out: {sorted(leaked)[:3]}"


def test_the_seeds_exist_and_are_their_formats():
    for name, rel in SEEDS.items():
        assert (DATA / rel).exists(), rel
        assert name in FORMATS
