"""Pseudonymisation, masking, the key, and THE privacy test: no raw number ever leaves.

The privacy test is parametrised over the directories of ``tests/data``, so a new format's
fixtures are covered as soon as they are added.
"""

from __future__ import annotations

import logging
import re
import stat
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from telephony.errors import FrontdoorError, KeyMissingError
from telephony.formats import FORMATS, ReadContext
from telephony.privacy import (
    KEY_FILE_NAME,
    Pseudonymiser,
    ensure_key_file,
    load_key,
    mask_digits,
    normalise_number,
)
from telephony.sources import open_source

DATA = Path(__file__).resolve().parents[1] / "data"

# ----------------------------------------------------------------------------- normalising

SPELLINGS_MOBILE = [
    "07700900123",
    "07700 900123",
    "07700-900-123",
    "(07700) 900123",
    "07700\u00a0900123",
    "+447700900123",
    "+44 7700 900123",
    "+44 (0)7700 900123",
    "00447700900123",
    "0044 7700 900123",
    "447700900123",
    "7700900123",  # leading zero eaten by a spreadsheet
    "7700900123.0",  # ...and turned into a float
    7700900123,
    7700900123.0,
    '"Jo Bloggs" <07700900123>',
    '"Jo" <+447700900123>',
    "Jo <447700900123>",
    "sip:07700900123@10.0.0.1",
    "sip:+447700900123@pbx.example;user=phone",
    "tel:+447700900123",
    " 07700900123 ",
]


@pytest.mark.parametrize("raw", SPELLINGS_MOBILE, ids=repr)
def test_mobile_spellings_normalise_to_e164(raw):
    assert normalise_number(raw) == "+447700900123"


@pytest.mark.parametrize(
    "raw, e164",
    [
        ("01632960000", "+441632960000"),
        ("01632 960000", "+441632960000"),
        ("+441632960000", "+441632960000"),
        ("1632960000", "+441632960000"),
        ("020 7946 0123", "+442079460123"),
        ("0207 946 0123", "+442079460123"),
        ("02079460123", "+442079460123"),
        ("+44 20 7946 0123", "+442079460123"),
        ("0044 20 7946 0123", "+442079460123"),
        ("2079460123", "+442079460123"),
        ("+12025550123", "+12025550123"),
        ("0012025550123", "+12025550123"),
    ],
)
def test_landline_and_foreign_spellings(raw, e164):
    assert normalise_number(raw) == e164


@pytest.mark.parametrize(
    "raw",
    [
        None, float("nan"), "", "  ", "Anonymous", "ANONYMOUS", "withheld", "Withheld", "Private",
        "Private Number", "unknown", "Unavailable", "restricted", "n/a", "-", "null",
        '"Anonymous" <anonymous>', "<>", "<unknown>", "sip:anonymous@anonymous.invalid",
    ],
    ids=repr,
)
def test_withheld_words_are_none(raw):
    assert normalise_number(raw) is None


def test_extensions_and_oddities_stay_distinct():
    assert normalise_number("201") == "ext:201"
    assert normalise_number("202") == "ext:202"
    odd = normalise_number("PJSIP/trunk-01")
    assert odd.startswith("raw:") and odd != normalise_number("PJSIP/trunk-02")


# ----------------------------------------------------------------------------- pseudonyms


def test_same_number_same_pseudonym_in_every_spelling():
    p = Pseudonymiser(b"key-one")
    keys = {p.caller_key(s) for s in SPELLINGS_MOBILE}
    assert len(keys) == 1
    (k,) = keys
    assert re.fullmatch(r"[0-9a-f]{20}", k)
    assert p.caller_key("07700900124") != k
    assert p.caller_key("Anonymous") is None
    # Under another key the pseudonym differs (a leaked key file does not link stores).
    assert Pseudonymiser(b"key-two").caller_key("07700900123") != k


def test_column_pseudonyms_and_agents():
    p = Pseudonymiser(b"k")
    s = pd.Series(["07700 900123", "+447700900123", None, "withheld", "01632960000"], dtype="string")
    out = p.callers(s)
    assert out.dtype == "string"
    assert out[0] == out[1] == p.caller_key("07700900123")
    assert out[2] is pd.NA and out[3] is pd.NA
    assert out[4] == p.caller_key("+441632960000") != out[0]
    agents = p.agents(pd.Series(["PJSIP/201", "pjsip/201", "", None, "PJSIP/202"], dtype="string"))
    assert agents[0] == agents[1] and agents[0] != agents[4]
    assert agents[2] is pd.NA and agents[3] is pd.NA
    # A caller and an agent with the same text never share a pseudonym.
    assert p.agent_key("201") != p.caller_key("201")


def test_empty_key_refused():
    with pytest.raises(KeyMissingError):
        Pseudonymiser(b"")


# ----------------------------------------------------------------------------- masking


@pytest.mark.parametrize(
    "text, expected",
    [
        ("call from 07700 900123 at 2026-01-05 08:00:01", "call from XXXXX XXXXXX at 2026-01-05 08:00:01"),
        ("+44 7700 900123 on 05/01/2026 08:00", "+XX XXXX XXXXXX on 05/01/2026 08:00"),
        ("1767603600.1|main|ENTERQUEUE||07700900102|1", "XXXXXXXXXX.X|main|ENTERQUEUE||XXXXXXXXXXX|1"),
        ('"Jo" <447700900123>,12:30:01', '"Jo" <XXXXXXXXXXXX>,12:30:01'),
        ("(07700) 900-123", "(XXXXX) XXX-XXX"),
        ("2026-10-25T01:30:00", "2026-10-25T01:30:00"),
        ("ext 201, queue 5, wait 00:01:05, 123456", "ext 201, queue 5, wait 00:01:05, 123456"),
        (None, ""),
        # Slashes separate a number's digits as normalise_number reads them.
        ("07700/900123", "XXXXX/XXXXXX"),
        ("020/7946/0123 called", "XXX/XXXX/XXXX called"),
        ("from 07700 / 900123", "from XXXXX / XXXXXX"),
        # ... but dates with slashes, dots or dashes stay readable (Avaya writes 2026/01/05).
        ("2026/01/05 08:00:00,07700/900123", "2026/01/05 08:00:00,XXXXX/XXXXXX"),
        ("05.01.2026 08:00:00 and 05-01-2026, 5/1/26", "05.01.2026 08:00:00 and 05-01-2026, 5/1/26"),
        ("12/34/5678901", "XX/XX/XXXXXXX"),  # not a date: too many digits after
        # Spellings real rejects kept whole: a no-break space, a tab, several spaces, 011/0044.
        ("07700\u00a0900123", "XXXXX\u00a0XXXXXX"),
        ("07700\t900123,x", "XXXXX\tXXXXXX,x"),
        ("07700    900123", "XXXXX    XXXXXX"),
        ("011 44 20 7946 0123", "XXX XX XX XXXX XXXX"),
        ("0044 1632 960001@192.0.2.10", "XXXX XXXX XXXXXX@XXX.X.X.XX"),
    ],
)
def test_mask_digits(text, expected):
    assert mask_digits(text) == expected


@pytest.mark.parametrize(
    "raw",
    ["07700/900123", "07700 / 900123", "020/7946/0123", "+44 (0)20 7946 0123", "0044-7700-900123", "01632.960001"],
)
def test_every_spelling_normalise_number_reads_is_masked(raw):
    """What normalise_number accepts as a UK number leaves no digit when masked."""
    assert normalise_number(raw).startswith("+44")
    assert not any(ch.isdigit() for ch in mask_digits(raw))


# ----------------------------------------------------------------------------- the key


def test_key_file_created_0600(tmp_path, monkeypatch):
    monkeypatch.delenv("FRONTDOOR_KEY", raising=False)
    from telephony.store import Store

    store = Store(tmp_path / "s", create=True)
    path = store.root / KEY_FILE_NAME
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    assert load_key(store.root) == key.encode()
    assert store.key() == key.encode()
    # Not rewritten when it exists.
    ensure_key_file(store.root)
    assert path.read_text().strip() == key
    # A second store gets a different key.
    assert Store(tmp_path / "t", create=True).key() != key.encode()


def test_key_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("FRONTDOOR_KEY", raising=False)
    with pytest.raises(KeyMissingError):
        load_key(tmp_path)
    with pytest.raises(KeyMissingError):
        load_key(None)
    ensure_key_file(tmp_path)
    from_file = load_key(tmp_path)
    monkeypatch.setenv("FRONTDOOR_KEY", "from-env")
    assert load_key(tmp_path) == b"from-env"
    assert load_key(None) == b"from-env"
    monkeypatch.setenv("FRONTDOOR_KEY", "")  # set but empty: the file is used
    assert load_key(tmp_path) == from_file


def test_no_key_file_written_when_env_key_set(tmp_path, key):
    from telephony.store import Store

    store = Store(tmp_path / "s", create=True)
    assert not (store.root / KEY_FILE_NAME).exists()
    assert store.key() == key


# ============================================================================= THE privacy test

# National significant numbers of Ofcom's drama ranges.
_DRAMA_NSN = re.compile(r"7700900\d{3}|1632960\d{3}|2079460\d{3}")
# Characters that separate digit groups in the spellings exports use.
_SEPARATORS = re.compile(r"[\s\-().\u00a0/+]")


def _fixture_dirs() -> list[Path]:
    """Call-log fixture folders (appointment exports have their own privacy test)."""
    from tests.helpers import APPOINTMENT_FIXTURE_DIRS

    dirs = sorted(p for p in DATA.iterdir() if p.is_dir()) if DATA.exists() else []
    return [p for p in dirs if p.name not in APPOINTMENT_FIXTURE_DIRS]


def _fixture_files(d: Path) -> list[Path]:
    return sorted(p for p in d.rglob("*") if p.is_file() and not p.name.startswith("."))


def _file_text(path: Path) -> str:
    """The fixture's content as text, however it is wrapped (gzip, UTF-16, xlsx...)."""
    parts = [path.read_bytes().decode("latin-1")]
    try:
        src = open_source(path)
        if src.kind == "xlsx":
            from telephony.sources import _xlsx_rows

            parts.append("\n".join(",".join(r) for r in _xlsx_rows(path)))
        else:
            parts.append(src.read_text())
    except FrontdoorError:
        pass
    return "\n".join(parts)


def _numbers_in(text: str) -> set[str]:
    """Drama-range numbers in any spelling, as national significant numbers."""
    return set(_DRAMA_NSN.findall(_SEPARATORS.sub("", text)))


def _leaks(text: str, nsns: set[str]) -> set[str]:
    flat = _SEPARATORS.sub("", text)
    return {n for n in nsns if n in flat}


def _table_text(path: Path, skip: set[str]) -> str:
    t = pq.read_table(path)
    out = [str(t.schema.metadata or "")]
    for name in t.column_names:
        if name in skip:
            continue
        col = t[name]
        if not pa.types.is_string(col.type):
            col = col.cast(pa.string())
        out.append("\n".join("" if v is None else v for v in col.to_pylist()))
    return "\n".join(out)


def _store_texts(root: Path) -> dict[str, str]:
    """Every file of the store as text, every column (``line`` too: a dialled number is personal
    data like a caller's, and is stored as a keyed label)."""
    texts = {}
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.name == KEY_FILE_NAME:
            continue
        rel = str(p.relative_to(root))
        texts["path:" + rel] = rel
        if p.suffix == ".parquet":
            texts[rel] = _table_text(p, set())
        else:
            texts[rel] = p.read_bytes().decode("utf-8", errors="replace")
    return texts


@pytest.mark.parametrize("fixture_dir", _fixture_dirs(), ids=lambda p: p.name)
def test_no_raw_number_leaves_the_ingest(fixture_dir, tmp_path, key, caplog, capfd):
    """Ingest every fixture file of one directory and look for its numbers everywhere."""
    from telephony.ingest import ingest_file
    from telephony.store import Store

    caplog.set_level(logging.DEBUG)
    files = _fixture_files(fixture_dir)
    nsns: set[str] = set()
    for f in files:
        nsns |= _numbers_in(_file_text(f))
    if not nsns:
        pytest.skip(f"no drama-range numbers in {fixture_dir.name} fixtures")

    fmt = fixture_dir.name if fixture_dir.name in FORMATS else "auto"
    store = Store(tmp_path / "store", create=True)
    said: list[str] = []  # everything the ingest told the world
    crashes: list[str] = []
    ingested = 0
    for f in files:
        for attempt in range(2):  # the second ingest of a file exercises the duplicate path
            try:
                res = ingest_file(store, f, "A81001", fmt=fmt)
            except FrontdoorError as exc:
                said.append(str(exc))
                break
            except Exception as exc:  # a crash is a bug, and its message must not leak either
                said.append(f"{type(exc).__name__}: {exc}")
                crashes.append(f"{f.name}: {type(exc).__name__}: {mask_digits(exc)}")
                break
            ingested += attempt == 0
            said += [res.summary(), repr(res), str(dict(res.skipped)), str(dict(res.unknown))]
    said += [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    out, err = capfd.readouterr()
    said += [out, err]

    found = {}
    for what, text in _store_texts(store.root).items():
        leaked = _leaks(text, nsns)
        if leaked:
            found[what] = leaked
    for i, text in enumerate(said):
        leaked = _leaks(text, nsns)
        if leaked:
            found[f"message {i}: {mask_digits(text)[:200]}"] = leaked
    assert not found, f"raw numbers leaked: {found}"

    # Every line value is a name or a keyed label, never a number in any spelling.
    calls = store.read_calls()
    if len(calls):
        from telephony.firewall import has_number

        bad = [mask_digits(v) for v in calls["line"].dropna().unique() if has_number(v)]
        assert not bad, f"a number is stored as a line: {bad}"
    assert not crashes, f"ingest crashed (never a traceback for bad input): {crashes}"
    if fmt == "auto" and not ingested:
        pytest.skip(f"{fixture_dir.name} is not a registered format and no file was recognised")
    assert ingested > 0, f"no fixture in {fixture_dir.name} could be ingested"


@pytest.mark.parametrize("fixture_dir", _fixture_dirs(), ids=lambda p: p.name)
def test_no_raw_number_in_errors_of_wrong_formats(fixture_dir):
    """Every format forced on every fixture (what ``--format X`` on the wrong file does):
    whatever it says, in errors and rejects, carries no raw number."""
    files = _fixture_files(fixture_dir)
    found = {}
    for f in files:
        nsns = _numbers_in(_file_text(f))
        if not nsns:
            continue
        for name, fmt in FORMATS.items():
            said = []
            try:
                src = open_source(f)
                for chunk in fmt.read(src, ReadContext()):
                    said += [f"{r.line} {r.reason} {r.text}" for r in chunk.rejects]
            except Exception as exc:
                said.append(f"{type(exc).__name__}: {exc}")
            for text in said:
                leaked = _leaks(text, nsns)
                if leaked:
                    found[f"{f.name} as {name}: {mask_digits(text)[:200]}"] = leaked
    assert not found, f"raw numbers leaked: {found}"


def test_the_privacy_check_can_fail(tmp_path):
    """The leak detector finds numbers in every spelling (so the tests above can fail)."""
    nsns = _numbers_in("a,07700900123,+44 1632 960000,020 7946 0123,b")
    assert nsns == {"7700900123", "1632960000", "2079460123"}
    for spelling in ["07700 900123", "+44 (0)7700 900123", "447700900123", "7700900123.0", "tel:+447700900123"]:
        assert _leaks(f"x {spelling} y", nsns) == {"7700900123"}
    assert _leaks("XXXXX XXXXXX 2026-01-05 a1b2c3", nsns) == set()
    # And the store walk sees inside parquet.
    path = tmp_path / "calls" / "t.parquet"
    path.parent.mkdir()
    pq.write_table(pa.table({"caller_key": ["07700900123"], "line": ["main"]}), path)
    assert _leaks(_store_texts(tmp_path)["calls/t.parquet"], nsns) == {"7700900123"}
