"""Opening and reading export files: encodings, line ends, compression, blocks, xlsx, JSON.

Every test builds its file in ``tmp_path`` so the exact bytes (and so the exact line numbers)
are known.
"""

from __future__ import annotations

import codecs
import datetime as dt
import gzip
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from telephony.errors import BadInputError
from telephony.sources import Source, open_source, read_delimited, read_json_records

TEXT = "id,name,number\n1,Zoë Café,07700900123\n2,£5 Bob,07700 900124\n"
NAMES = ["Zoë Café", "£5 Bob"]


def read_all(path: Path, **kw) -> tuple[pd.DataFrame, list[int], list, int, int]:
    """All chunks of a delimited file joined: frame, lines, rejects, blank lines, chunks."""
    frames, lines, rejects, blank, n = [], [], [], 0, 0
    for chunk in read_delimited(open_source(path), **kw):
        assert len(chunk.frame) == len(chunk.lines)
        frames.append(chunk.frame)
        lines.extend(int(x) for x in chunk.lines)
        rejects.extend(chunk.rejects)
        blank += chunk.blank
        n += 1
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return frame, lines, rejects, blank, n


def _variants() -> dict[str, tuple[bytes, str]]:
    """File bytes for each wrapping of TEXT, and the encoding open_source should report."""
    return {
        "utf8": (TEXT.encode("utf-8"), "utf-8"),
        "utf8_bom": (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        "utf16le_bom": (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), "utf-16"),
        "utf16be_bom": (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16"),
        "utf16le_nobom": (TEXT.encode("utf-16-le"), "utf-16-le"),
        "cp1252": (TEXT.encode("cp1252"), "cp1252"),
        # A UTF-8 file with one stray Windows-1252 byte (a pound sign pasted from Word).
        "utf8_stray_cp1252": (TEXT.encode("utf-8").replace("£".encode("utf-8"), b"\xa3"), "utf-8"),
        "crlf": (TEXT.replace("\n", "\r\n").encode("utf-8"), "utf-8"),
        "lone_cr": (TEXT.replace("\n", "\r").encode("utf-8"), "utf-8"),
        "utf16_crlf": (codecs.BOM_UTF16_LE + TEXT.replace("\n", "\r\n").encode("utf-16-le"), "utf-16"),
        "cp1252_cr": (TEXT.replace("\n", "\r").encode("cp1252"), "cp1252"),
    }


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("variant", list(_variants()))
def test_encodings_line_ends_and_gzip(tmp_path, variant, gz):
    data, encoding = _variants()[variant]
    path = tmp_path / ("export.csv.gz" if gz else "export.csv")
    path.write_bytes(gzip.compress(data) if gz else data)
    source = open_source(path)
    assert source.kind == "text"
    assert source.compressed is gz
    assert source.encoding == encoding
    assert source.stem_name == "export.csv"
    assert "\ufeff" not in source.head
    assert source.head_lines()[0] == "id,name,number"
    frame, lines, rejects, blank, _ = read_all(path)
    assert list(frame.columns) == ["id", "name", "number"]
    assert frame["name"].tolist() == NAMES
    assert frame["number"].tolist() == ["07700900123", "07700 900124"]
    assert lines == [2, 3]
    assert rejects == [] and blank == 0


def test_stray_byte_after_the_head_is_still_read(tmp_path):
    # The head says UTF-8; a cp1252 byte far into the file must not break the read.
    rows = [f"{i},Zoë {i},07700900{i % 1000:03d}" for i in range(3000)]
    rows[2500] = "2500,Ren\xe9e,07700900500"  # placeholder, replaced with a raw byte below
    data = ("id,name,number\n" + "\n".join(rows) + "\n").encode("utf-8")
    data = data.replace("Ren\xe9e".encode("utf-8"), b"Ren\xe9e")
    path = tmp_path / "long.csv"
    path.write_bytes(data)
    assert open_source(path).encoding == "utf-8"
    frame, lines, rejects, _, _ = read_all(path, block_bytes=4096)
    assert len(frame) == 3000 and rejects == []
    assert frame.loc[2500, "name"] == "Renée"
    assert frame.loc[2499, "name"] == "Zoë 2499"
    assert lines == list(range(2, 3002))


# A file whose every row has a known line: blank lines, a quoted newline, a quoted comma,
# an escaped quote, a short row, a long row, padded trailing empty fields, a truncated end.
TRICKY = (
    "id,name,number\n"  # 1
    "1,a,07700900101\n"  # 2
    "\n"  # 3
    "   \n"  # 4
    '2,"two\nlines, with comma",07700900102\n'  # 5-6
    "3,short\n"  # 7  -> reject
    "4,d,07700900104,extra\n"  # 8  -> reject
    "5,e,07700900105\n"  # 9
    "\n"  # 10
    '6,"say ""hi""",07700900106\n'  # 11
    "7,padded,07700900107,,\n"  # 12 (trailing empty fields are harmless)
    "8,cut"  # 13 -> reject (truncated last line, no newline)
)
TRICKY_ROWS = {"1": 2, "2": 5, "5": 9, "6": 11, "7": 12}
TRICKY_REJECTS = {7: "expected 3 fields, found 2", 8: "expected 3 fields, found 4", 13: "expected 3 fields, found 2"}


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
@pytest.mark.parametrize("block_bytes", [None, 64, 23, 5], ids=lambda b: f"block{b}")
def test_exact_lines_rejects_and_blocks(tmp_path, newline, encoding, block_bytes):
    path = tmp_path / "tricky.csv"
    path.write_bytes(TRICKY.replace("\n", newline).encode(encoding))
    kw = {} if block_bytes is None else {"block_bytes": block_bytes}
    frame, lines, rejects, blank, nchunks = read_all(path, **kw)
    assert dict(zip(frame["id"], lines)) == TRICKY_ROWS
    assert frame["id"].tolist() == list(TRICKY_ROWS)  # file order, nothing doubled
    row = frame.set_index("id")
    assert row.loc["2", "name"] == "two\nlines, with comma"
    assert row.loc["2", "number"] == "07700900102"
    assert row.loc["6", "name"] == 'say "hi"'
    assert row.loc["7", "number"] == "07700900107"
    assert {r.line: r.reason for r in rejects}.keys() == TRICKY_REJECTS.keys()
    for r in rejects:
        assert r.reason.startswith(TRICKY_REJECTS[r.line])
    # Reject text is masked: no phone digits survive.
    assert [r.text for r in rejects if r.line == 8] == ["4,d,XXXXXXXXXXX,extra"]
    assert blank == 3
    if block_bytes is not None and block_bytes <= 64:
        assert nchunks > 1  # the test really exercised block boundaries


@pytest.mark.parametrize("block_bytes", [64, 100, 333])
def test_rows_straddling_blocks_are_neither_lost_nor_doubled(tmp_path, block_bytes):
    # Varying row lengths and quoted fields with newlines put block ends everywhere.
    rng = np.random.default_rng(7)
    rows, expect = [], {}
    line = 2
    for i in range(400):
        name = "x" * int(rng.integers(0, 40))
        if i % 7 == 0:
            name = f'"multi\nline {i}, quoted"'
        rows.append(f"{i},{name},07700900{i % 1000:03d}")
        expect[str(i)] = line
        line += 1 + name.count("\n")
    path = tmp_path / "many.csv"
    path.write_bytes(("id,name,number\n" + "\n".join(rows) + "\n").encode())
    frame, lines, rejects, _, nchunks = read_all(path, block_bytes=block_bytes)
    assert rejects == []
    assert nchunks > 10
    assert frame["id"].tolist() == [str(i) for i in range(400)]
    assert dict(zip(frame["id"], lines)) == expect
    assert frame.loc[7, "name"] == "multi\nline 7, quoted"


def test_blocks_of_a_multibyte_text_keep_every_character(tmp_path):
    # Block ends fall inside two- and three-byte characters.
    rows = [f"{i},Zoë–Ünïcödé {'é' * (i % 5)},07700900{i:03d}" for i in range(200)]
    path = tmp_path / "mb.csv"
    path.write_bytes(("id,name,number\n" + "\n".join(rows) + "\n").encode("utf-8"))
    frame, lines, rejects, _, _ = read_all(path, block_bytes=17)
    assert rejects == []
    assert frame["name"].tolist() == [r.split(",")[1] for r in rows]
    assert lines == list(range(2, 202))


def test_headerless_with_names_skip_lines_and_skip_after_header(tmp_path):
    path = tmp_path / "report.csv"
    path.write_text("Call report for A81001\n\nid;name\nstring;string\n1;a\n2;b\n")
    frame, lines, _, _, _ = read_all(path, delimiter=";", skip_lines=1, skip_after_header=1)
    assert list(frame.columns) == ["id", "name"]
    assert frame["id"].tolist() == ["1", "2"] and lines == [5, 6]
    path2 = tmp_path / "noheader.csv"
    path2.write_text("1,a\n2,b\n")
    frame, lines, _, _, _ = read_all(path2, names=["id", "name"], header=False)
    assert frame.values.tolist() == [["1", "a"], ["2", "b"]] and lines == [1, 2]


def test_header_names_deduplicated_and_bom_free(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_bytes(codecs.BOM_UTF8 + b"Time,Number,Number,\n1,2,3,\n")
    frame, _, _, _, _ = read_all(path)
    assert list(frame.columns) == ["Time", "Number", "Number.1", "column"]


# ----------------------------------------------------------------------------- xlsx


def test_xlsx_workbook(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    wb.active.title = "Summary"  # an empty first sheet: the data sheet is found anyway
    ws = wb.create_sheet("Calls")
    ws.append(["Call ID", "Start", "Caller", "Duration"])
    ws.append(["c1", dt.datetime(2026, 2, 10, 22, 41, 5), "07700900123", 65])
    ws.append([None, None, None, None])
    ws.append(["c2", dt.datetime(2026, 2, 10, 22, 45), 7700900124, dt.time(0, 1, 5)])
    ws.append(["c3", dt.datetime(2026, 2, 11), "+447700900125", 12.0])
    path = tmp_path / "calls.xlsx"
    wb.save(path)
    source = open_source(path)
    assert source.kind == "xlsx"
    assert source.head_lines()[0] == "Call ID,Start,Caller,Duration"
    frame, lines, rejects, blank, _ = read_all(path)
    assert list(frame.columns) == ["Call ID", "Start", "Caller", "Duration"]
    assert frame.values.tolist() == [
        ["c1", "2026-02-10 22:41:05", "07700900123", "65"],
        ["c2", "2026-02-10 22:45:00", "7700900124", "00:01:05"],
        ["c3", "2026-02-11 00:00:00", "+447700900125", "12"],
    ]
    assert lines == [2, 4, 5]
    assert rejects == [] and blank == 1
    with pytest.raises(BadInputError, match="not a text file"):
        list(source.iter_utf8_blocks())


def _blank_rows_workbook(tmp_path: Path) -> Path:
    """A report: a blank row, a title, two blank rows, the header, data with a blank row; and
    a second sheet "Totals" with its own header two rows down."""
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Calls"
    ws.cell(row=2, column=1, value="Call report January")
    for c, name in enumerate(["Call ID", "Start", "Result"], start=1):
        ws.cell(row=5, column=c, value=name)
    for r, row in ((6, ["c1", "2026-01-05 08:00", "Answered"]), (8, ["c2", "2026-01-05 08:05", "Missed"])):
        for c, v in enumerate(row, start=1):
            ws.cell(row=r, column=c, value=v)
    totals = wb.create_sheet("Totals")
    totals.cell(row=3, column=1, value="Day")
    totals.cell(row=3, column=2, value="Calls")
    totals.cell(row=4, column=1, value="2026-01-05")
    totals.cell(row=4, column=2, value=2)
    path = tmp_path / "report.xlsx"
    wb.save(path)
    return path


def test_xlsx_head_and_rows_count_lines_alike(tmp_path):
    """Blank rows above the header are blank lines of the head (one line per sheet row), and
    read_header / read_delimited skip the same non-blank lines: skip_lines=1 (the title) finds
    the header whatever blank rows surround it."""
    from telephony.sources import read_header

    path = _blank_rows_workbook(tmp_path)
    source = open_source(path)
    assert source.head.split("\n")[:6] == ["", "Call report January,,", "", "", "Call ID,Start,Result", "c1,2026-01-05 08:00,Answered"]
    assert source.head_lines(2) == ["Call report January,,", "Call ID,Start,Result"]
    assert read_header(source, skip_lines=1) == ["Call ID", "Start", "Result"]
    frame, lines, rejects, blank, _ = read_all(path, skip_lines=1)
    assert list(frame.columns) == ["Call ID", "Start", "Result"]
    assert frame["Call ID"].tolist() == ["c1", "c2"]
    assert lines == [6, 8]  # sheet rows, as the head numbers them
    assert rejects == [] and blank == 1  # the blank row between data rows; the preamble's are not data


def test_read_delimited_sheet_by_name(tmp_path):
    path = _blank_rows_workbook(tmp_path)
    frame, lines, _, _, _ = read_all(path, sheet=" totals ")  # case and spaces ignored
    assert list(frame.columns) == ["Day", "Calls"]
    assert frame.values.tolist() == [["2026-01-05", "2"]] and lines == [4]
    from telephony.sources import with_sheet

    src = with_sheet(open_source(path), "Totals")
    assert src.head_lines(1) == ["Day,Calls"] and src.sheet == "Totals"
    assert with_sheet(open_source(tmp_path / "report.xlsx"), None).sheet is None
    with pytest.raises(BadInputError, match=r"report.xlsx: no worksheet named 'Summary' \(sheets: Calls, Totals\)"):
        list(read_delimited(open_source(path), sheet="Summary"))


# ----------------------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("empty.csv", b"", "the file is empty"),
        ("blank.csv", b"\r\n  \n\t\n", "the file is empty"),
        ("empty.csv.gz", gzip.compress(b""), "the file is empty"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "old Excel .xls"),
        ("report.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "PDF report"),
        ("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary data"),
        ("calls.csv", bytes(range(256)) * 8, "binary data"),
        ("broken.csv.gz", b"\x1f\x8b\x08\x00\x00\x00\x00\x00garbage", "cannot be read"),
        ("calls.xlsx", b"PK\x03\x04" + b"\x00" * 100, "not a readable .xlsx"),
        ("calls.xlsx.gz", gzip.compress(b"PK\x03\x04" + b"\x00" * 100), "gzipped workbook"),
    ],
)
def test_not_a_readable_export(tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(BadInputError) as info:
        list(read_delimited(open_source(path)))
    text = str(info.value)
    assert message in text
    assert name in text
    assert "\n" not in text and len(text) < 300


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(BadInputError, match="no such file") as info:
        open_source(tmp_path / "nope.csv")
    assert "\n" not in str(info.value)
    with pytest.raises(BadInputError, match="is a folder") as info:
        open_source(tmp_path)
    assert "\n" not in str(info.value)


# ----------------------------------------------------------------------------- JSON


def read_json(path: Path) -> tuple[list[dict], list[int], list]:
    recs, lines, rejects = [], [], []
    for r, ln, rj in read_json_records(open_source(path)):
        assert len(r) == len(ln)
        recs.extend(r)
        lines.extend(ln)
        rejects.extend(rj)
    return recs, lines, rejects


def test_json_array_streams_with_each_records_line(tmp_path):
    path = tmp_path / "calls.json"
    path.write_text('[\n  {"id": 1, "tags": [1, 2]},\n  {"id": 2},\n\n  {"id": 3,\n   "x": "[]"}\n]\n')
    recs, lines, rejects = read_json(path)
    assert [r["id"] for r in recs] == [1, 2, 3]
    assert recs[0]["tags"] == [1, 2] and recs[2]["x"] == "[]"
    assert lines == [2, 3, 5]
    assert rejects == []


def test_json_value_wrapper(tmp_path):
    path = tmp_path / "graph.json"
    doc = {"@odata.context": "x", "value": [{"id": "a"}, {"id": "b"}], "@odata.nextLink": "y"}
    path.write_text(json.dumps(doc, indent=2))
    recs, lines, rejects = read_json(path)
    assert [r["id"] for r in recs] == ["a", "b"]
    assert lines == [1, 1] and rejects == []


def test_json_lines_and_back_to_back_objects(tmp_path):
    path = tmp_path / "calls.jsonl"
    path.write_text('{"id": 1}\n{"id": 2}\n\n{"id": 3}\r\n')
    recs, lines, rejects = read_json(path)
    assert [r["id"] for r in recs] == [1, 2, 3] and lines == [1, 2, 4] and rejects == []
    path = tmp_path / "firehose.json"
    path.write_text('{"id": 1}{"id": 2}\n{"id":\n 3}{"id": 4}')
    recs, lines, rejects = read_json(path)
    assert [r["id"] for r in recs] == [1, 2, 3, 4] and lines == [1, 1, 2, 3] and rejects == []


def test_json_broken_line_in_the_middle(tmp_path):
    path = tmp_path / "calls.jsonl"
    path.write_text(
        '{"id": 1}\n{"id": 2}\n{"id": 3, "caller": "07700900123"\n{"id": 4}\n{"id": 5, "bad": tru}\n{"id": 6}\n'
    )
    recs, lines, rejects = read_json(path)
    assert [r["id"] for r in recs] == [1, 2, 4, 6]
    assert lines == [1, 2, 4, 6]
    assert [r.line for r in rejects] == [3, 5]
    assert all(r.reason.startswith("invalid JSON") for r in rejects)
    assert "07700900123" not in rejects[0].text and "XXXXXXXXXXX" in rejects[0].text


def test_json_broken_line_does_not_buffer_the_rest(tmp_path, monkeypatch):
    """With small blocks, records after a broken line arrive in bounded chunks."""
    real = Source.iter_utf8_blocks
    monkeypatch.setattr(Source, "iter_utf8_blocks", lambda self, block_bytes=0: real(self, 256))
    n = 3000
    body = [json.dumps({"id": i, "caller": f"07700900{i % 1000:03d}"}) for i in range(n)]
    body[10] = '{"id": 10, "caller": '  # truncated record
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(body) + "\n")
    got = list(read_json_records(open_source(path), chunk_records=100))
    recs = [r for c in got for r in c[0]]
    lines = [ln for c in got for ln in c[1]]
    rejects = [r for c in got for r in c[2]]
    assert [r["id"] for r in recs] == [i for i in range(n) if i != 10]
    assert lines == [i + 1 for i in range(n) if i != 10]
    assert [r.line for r in rejects] == [11]
    assert len(got) >= n // 100  # streamed in chunks


def test_json_array_across_small_blocks(tmp_path, monkeypatch):
    real = Source.iter_utf8_blocks
    monkeypatch.setattr(Source, "iter_utf8_blocks", lambda self, block_bytes=0: real(self, 64))
    items = [{"id": i, "note": "é" * (i % 7)} for i in range(300)]
    path = tmp_path / "arr.json"
    path.write_text("[\n" + ",\n".join(json.dumps(x, ensure_ascii=False) for x in items) + "\n]\n", encoding="utf-8")
    recs, lines, rejects = read_json(path)
    assert recs == items
    assert lines == list(range(2, 302)) and rejects == []


# ----------------------------------------------------------------------------- files that are not plain files


def _call_in_thread(fn, timeout: float = 10.0):
    """Run ``fn`` in a thread; (finished, result or exception). A hang cannot hang the suite."""
    import threading

    box: dict = {}

    def run():
        try:
            box["result"] = fn()
        except BaseException as exc:  # handed back to the test
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    return not t.is_alive(), box


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_named_pipe_is_refused_before_it_is_opened(tmp_path):
    """Opening a FIFO for reading waits for a writer for ever: refused from its stat."""
    fifo = tmp_path / "calls.csv"
    os.mkfifo(fifo)
    finished, box = _call_in_thread(lambda: open_source(fifo))
    if not finished:  # release the blocked open before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert finished, "open_source blocked on a named pipe"
    err = box.get("error")
    assert isinstance(err, BadInputError)
    assert str(err) == (
        "calls.csv: a named pipe (FIFO), not a file: Frontdoor reads exports saved as files; save it to a file and pass that"
    )
    # A symbolic link to the pipe is the pipe.
    link = tmp_path / "link.csv"
    link.symlink_to(fifo)
    finished, box = _call_in_thread(lambda: open_source(link))
    assert finished and "named pipe" in str(box.get("error"))


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_device_is_refused_not_read_for_ever():
    with pytest.raises(BadInputError, match=r"^zero: a device, not a file"):
        open_source("/dev/zero")


# ----------------------------------------------------------------------------- gzip cut short or damaged


def _big_csv(rows: int = 20_000) -> bytes:
    """A CSV whose text is several times the head (so damage can lie past what sniffing reads)."""
    lines = ["id,when,number"] + [f"{i},2026-01-05 08:{i % 60:02d}:00,07700 900{i % 1000:03d}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def test_gzip_cut_short_past_the_head_fails_when_the_read_reaches_the_cut(tmp_path):
    import telephony.sources as src_mod

    data = gzip.compress(_big_csv())
    path = tmp_path / "calls.csv.gz"
    path.write_bytes(data[: len(data) * 2 // 3])  # a download that stopped two thirds in
    source = open_source(path)  # the head decompresses fine
    assert source.compressed and source.head.startswith("id,when,number")
    assert len(gzip.decompress(data)) > 4 * src_mod.HEAD_BYTES
    with pytest.raises(BadInputError) as info:
        list(read_delimited(source, block_bytes=1 << 16))
    assert str(info.value) == (
        "calls.csv.gz: cannot be read: the gzip file is cut short (a download or copy that did not finish); "
        "nothing was written; copy or download it again"
    )


def test_gzip_cut_short_inside_the_head(tmp_path):
    path = tmp_path / "calls.csv.gz"
    path.write_bytes(gzip.compress(_big_csv())[:200])
    with pytest.raises(BadInputError, match=r"^calls.csv.gz: cannot be read: the gzip file is cut short"):
        open_source(path)


def test_gzip_damaged_past_the_head(tmp_path):
    data = bytearray(gzip.compress(_big_csv()))
    middle = len(data) * 3 // 4
    data[middle : middle + 64] = bytes(64)  # a block of the copy lost
    path = tmp_path / "calls.csv.gz"
    path.write_bytes(bytes(data))
    source = open_source(path)
    with pytest.raises(BadInputError) as info:
        for _ in read_delimited(source, block_bytes=1 << 16):
            pass
    msg = str(info.value)
    assert msg.startswith("calls.csv.gz: cannot be read: the gzip ")
    assert msg.endswith("copy or download it again") and "\n" not in msg


# ----------------------------------------------------------------------------- a file that changes while it is read


def _read_with(path: Path, during) -> Source:
    """Open ``path``, read its first block, call ``during(path)``, read the rest: the source."""
    source = open_source(path)
    chunks = read_delimited(source, block_bytes=1 << 16)
    next(chunks)
    during(path)
    for _ in chunks:
        pass
    return source


def test_file_unchanged_while_read_passes_the_check(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_bytes(_big_csv())
    source = _read_with(path, lambda p: None)
    source.check_unchanged()  # no error
    assert source.state.ends_at == {path.stat().st_size}


def _append(p: Path) -> None:
    with open(p, "ab") as fh:
        fh.write(b"99999,2026-01-05 09:00:00,07700 900999\n")


def _truncate(p: Path) -> None:
    with open(p, "r+b") as fh:
        fh.truncate(p.stat().st_size // 2)


def _rewrite_same_size(p: Path) -> None:
    data = p.read_bytes()
    st = p.stat()
    p.write_bytes(data.replace(b"2026-01-05", b"2026-01-06"))
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))  # a later write, as a clock sees it


def _replace(p: Path) -> None:
    other = p.with_name("new.csv")
    other.write_bytes(p.read_bytes())
    os.replace(other, p)  # a sync client swapping in a new version


@pytest.mark.parametrize(
    "during, how",
    [
        (_append, "it grew"),
        (_truncate, "it shrank"),
        (_rewrite_same_size, "it was rewritten"),
        (_replace, "it was replaced by another file"),
        (lambda p: p.unlink(), "it disappeared"),
    ],
    ids=["appended", "truncated", "rewritten", "replaced", "deleted"],
)
def test_file_changed_while_read_is_told_before_anything_is_written(tmp_path, during, how):
    path = tmp_path / "calls.csv"
    path.write_bytes(_big_csv())
    source = _read_with(path, during)
    with pytest.raises(BadInputError) as info:
        source.check_unchanged()
    assert str(info.value) == (
        f"calls.csv changed while it was being read ({how}): nothing was written; "
        "copy the export somewhere stable and ingest the copy"
    )


def test_file_that_grew_and_shrank_back_is_caught_by_the_bytes_read(tmp_path):
    """A log appended to during the read and cut back to its size (mtime restored, as on a file
    system with a coarse clock): size and time agree, the end the read met does not."""
    path = tmp_path / "calls.csv"
    path.write_bytes(_big_csv())
    st = path.stat()

    def grow(p: Path) -> None:
        _append(p)

    source = _read_with(path, grow)
    with open(path, "r+b") as fh:
        fh.truncate(st.st_size)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns
    with pytest.raises(BadInputError, match=r"\(it was rewritten\)"):
        source.check_unchanged()


def test_workbook_sheet_choice_keeps_the_file_state(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    from telephony.sources import with_sheet

    wb = openpyxl.Workbook()
    wb.active.title = "Calls"
    wb.active.append(["Day", "Calls"])
    wb.create_sheet("Totals").append(["Day", "Calls"])
    path = tmp_path / "report.xlsx"
    wb.save(path)
    source = with_sheet(open_source(path), "Totals")
    _append(path)
    with pytest.raises(BadInputError, match=r"report.xlsx changed while it was being read \(it grew\)"):
        source.check_unchanged()


# ----------------------------------------------------------------------------- NUL bytes


def test_log_ending_in_nul_padding_after_a_crash_reads_its_text(tmp_path):
    """A crash leaves the file's last block allocated but unwritten: text, then NULs. The text is
    read; the NUL run (with the row it cut) is one bad row."""
    text = TEXT.encode() + b"3,Cut Sho"
    path = tmp_path / "calls.csv"
    path.write_bytes(text + b"\x00" * 4096)
    source = open_source(path)
    assert "\x00" not in source.head and source.head.startswith("id,name,number")
    frame, lines, rejects, blank, _ = read_all(path)
    assert frame["name"].tolist() == NAMES and lines == [2, 3]
    assert [r.line for r in rejects] == [4] and "expected 3 fields" in rejects[0].reason


def test_nul_bytes_between_text_are_binary_data(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_bytes(TEXT.encode() + b"\x00" * 16 + TEXT.encode())
    with pytest.raises(BadInputError, match=r"^calls.csv: binary data, not a text export$"):
        open_source(path)


# ----------------------------------------------------------------------------- workbooks that are not


def test_zip_of_exports_named_xlsx_says_unzip(tmp_path):
    import zipfile

    path = tmp_path / "calls.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("calls.csv", TEXT)
    with pytest.raises(BadInputError, match=r"^calls.xlsx: a zip archive, not an Excel workbook; unzip it and pass the files inside$"):
        open_source(path)


def test_workbook_without_a_value_is_empty_not_an_unknown_format(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")

    wb = openpyxl.Workbook()
    wb.create_sheet("Calls")
    path = tmp_path / "calls.xlsx"
    wb.save(path)
    with pytest.raises(BadInputError, match=r"^calls.xlsx: the workbook is empty \(none of its sheets holds a value\)$"):
        open_source(path)
    # A header alone on a later sheet is not empty: left to the readers to judge.
    wb["Calls"].append(["Call Time", "From"])
    wb.save(path)
    assert open_source(path).kind == "xlsx"
