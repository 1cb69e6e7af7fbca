#!/usr/bin/env python
"""Ingest benchmark: Frontdoor's ingest against a plain Arrow CSV → Parquet copy of the same file.

Usage::

    python benchmarks/ingest.py [--sizes 1000000 4000000] [--formats queue_log cdr] [--keep DIR]

For each format and size it generates a realistic export in a temporary directory (not timed),
then measures, each in its own subprocess so that peak memory is per measurement:

baseline
    The file read with ``pyarrow.csv`` in 16 MiB blocks (the ingest's block size) and written
    to one Parquet file, every column as a string: no type conversion, no normalisation.
    ``cdr``: the 21 comma-separated, quoted fields. ``queue_log``: its rows have 6 to 10
    fields, which Arrow's CSV reader cannot take with a fixed width, so the baseline reads
    each line as one string column (a delimiter that never occurs, no quoting) and writes that.
ingest
    :func:`telephony.ingest.ingest_file` into a fresh store with the format given explicitly
    (``FRONTDOOR_KEY`` set), everything included: file hash, parsing, pseudonymisation,
    validation, staging, the per-month deduplicating commit, the manifest.

Peak RSS is the child's ``VmHWM`` (``/proc/self/status``), so it includes the interpreter and
its imports. Targets: ingest time ≤ 3× baseline time; ingest peak RSS < 1 GiB; ingest peak RSS
growing < 25 % from the smallest to the largest size (memory must not grow with the file).

The generated data
------------------
Calls arrive in office hours (08:00–18:30 Europe/London, a rush at 08:00 and a smaller
after-lunch bump, Mondays ~40 % busier, a trickle at weekends), about 60,000 calls a month, so
4M calls span about 5½ years of months. Outcomes: ~76 % answered, ~17 % abandoned, ~7 % timed
out; a quarter of calls that waited get RINGNOANSWER lines; agents pause and unpause.

Callers: the target is 10 % distinct caller values (redials), as the pseudonymiser caches per
distinct raw value. Ofcom's drama ranges (07700 900xxx, 01632 960xxx, 020 7946 0xxx) hold only
3,000 numbers, so the pool is those 3,000 numbers in three spellings (``07700900123``,
``+447700900123``, ``447700900123``: 9,000 distinct raw values), topped up with synthetic
numbers in the unassigned country code +999 built from a drama number and a 3-digit suffix
(``+9997700900123045``): fake space, never a real subscriber. Each caller's calls are bunched in
time (a caller redials within a week or two), 2 % are withheld. The +999 numbers miss the UK
patterns of :func:`telephony.privacy.normalise_number`; they are recognised as having no
assigned country code before ``phonenumbers`` is tried, so each distinct one costs about what a
distinct UK number costs (a few microseconds, plus its HMAC), as in a real practice's data.

The ``cdr`` file holds the same calls as ``cdr_csv`` writes them (see :func:`write_cdr`): about
30 % ring a group and leave 2-3 rows sharing ``linkedid``, rows in the order the CDRs were
posted (call end). Phone numbers come only from those ranges; nothing is copied from real
exports.

The machine may be shared: baseline and ingest run back to back for each file, so their ratio
is fairer than either time; CPU seconds are printed too.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
import resource
import statistics

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from telephony.ingest import ingest_file
from telephony.store import Store
import telephony.ingest as ing
import telephony.store as st

TZ = "Europe/London"
START_DAY = "2021-01-04"  # a Monday
CALLS_PER_MONTH = 60_000
BATCH_CALLS = 400_000  # generation batch (cut at day boundaries, so no call spans two)
BLOCK_BYTES = 16 * 1024 * 1024
PRACTICE = "A81001"
SEED = 20260105

FORMAT_NAMES = {"queue_log": "asterisk_queue_log", "cdr": "asterisk_cdr_csv"}
FILE_NAMES = {"queue_log": "queue_log", "cdr": "Master.csv"}

MAX_RATIO = 3.0
MAX_RSS_MB = 1024.0
MAX_GROWTH = 0.25

QUEUES = np.array(["main", "prescriptions", "results"])
QUEUE_P = [0.80, 0.12, 0.08]
QUEUE_DID = np.array(["01632960500", "01632960501", "01632960502"])
AGENTS = np.array([f"PJSIP/{201 + i}" for i in range(12)])
PAUSE_REASONS = np.array(["lunch", "admin", "", "training"])


# ----------------------------------------------------------------------------- generation


def _s(x) -> "pa.Array":
    """Numbers (or strings) as an Arrow string array."""

    arr = pa.array(np.asarray(x))
    return arr if pa.types.is_string(arr.type) else arr.cast(pa.string())


def _j(*parts) -> "pa.Array":
    """Concatenate string arrays and literals element-wise."""

    return pc.binary_join_element_wise(*parts, "")


def _write_lines(fh, lines) -> None:
    """Write an Arrow string array as newline-terminated text straight from its buffers."""

    arr = pc.binary_join_element_wise(lines, "", "\n")  # line + "\n"
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=len(arr) + 1, offset=arr.offset * 4)
    fh.write(memoryview(arr.buffers()[2])[offsets[0] : offsets[-1]])


def caller_pool(n_distinct: int, rng: np.random.Generator) -> np.ndarray:
    """``n_distinct`` distinct caller-number spellings, all in fake number space (see module doc)."""
    nsn = np.array(
        [f"7700900{i:03d}" for i in range(1000)]
        + [f"1632960{i:03d}" for i in range(1000)]
        + [f"207946{i:04d}" for i in range(1000)]
    )
    drama = np.concatenate([np.char.add("0", nsn), np.char.add("+44", nsn), np.char.add("44", nsn)])
    if n_distinct <= len(drama):
        pool = rng.permutation(drama)[:n_distinct]
    else:
        k = np.arange(n_distinct - len(drama))
        if k[-1] // len(nsn) >= 1000:
            raise ValueError("caller pool too large for the synthetic +999 range")
        fake = np.char.add(np.char.add("+999", nsn[k % len(nsn)]), np.char.zfill((k // len(nsn)).astype(str), 3))
        pool = np.concatenate([drama, fake])
    return rng.permutation(pool)


def _day_plan(n_calls: int, rng: np.random.Generator):
    """Days and calls per day: office-hours practice, ~CALLS_PER_MONTH calls a month."""

    months = max(1, math.ceil(n_calls / CALLS_PER_MONTH))
    start = pd.Timestamp(START_DAY)
    days = pd.date_range(start, start + pd.DateOffset(months=months), freq="D", inclusive="left")
    weekday_w = np.array([1.4, 1.0, 0.95, 0.95, 0.9, 0.04, 0.02])
    w = weekday_w[days.day_of_week]
    counts = rng.multinomial(n_calls, w / w.sum())
    return days, counts


def _intraday_p() -> np.ndarray:
    """Probability of each minute 08:00–18:29 local: an 08:00 rush and an after-lunch bump."""
    m = np.arange(8 * 60, 18 * 60 + 30, dtype=float)
    w = 1.0 + 3.0 * np.exp(-(((m - 495) / 40.0) ** 2)) + 0.7 * np.exp(-(((m - 840) / 60.0) ** 2))
    return w / w.sum()


def generate_calls(n_calls: int, seed: int = SEED):
    """Yield batches of calls (dicts of numpy arrays), in time order, cut at day boundaries."""

    rng = np.random.default_rng(seed)
    days, counts = _day_plan(n_calls, rng)
    n_distinct = max(1, n_calls // 10)
    pool = caller_pool(n_distinct, rng)
    p_minute = _intraday_p()
    cum = np.concatenate([[0], np.cumsum(counts)])
    d0 = 0
    while d0 < len(days):
        d1 = int(np.searchsorted(cum, cum[d0] + BATCH_CALLS, side="right"))
        d1 = min(max(d1, d0 + 1), len(days))
        n = int(cum[d1] - cum[d0])
        first = int(cum[d0])
        day_s = np.repeat(days[d0:d1].to_numpy().astype("datetime64[s]").astype(np.int64), counts[d0:d1])
        minute = rng.choice(len(p_minute), size=n, p=p_minute) + 8 * 60
        sec = minute * 60 + rng.integers(0, 60, size=n)
        local = np.sort(day_s + sec.astype(np.int64)).astype("datetime64[s]")
        utc = pd.DatetimeIndex(local).tz_localize(TZ, ambiguous="NaT", nonexistent="shift_forward")
        t0 = utc.as_unit("s").asi8
        seq = np.arange(first, first + n, dtype=np.int64)
        # Callers bunch in time: caller k's attempts fall around call k*10 (redials).
        ci = seq * n_distinct // n_calls + rng.integers(-150, 151, size=n)
        caller = pool[ci % n_distinct].astype(object)
        withheld = rng.random(n) < 0.02
        u = rng.random(n)
        outcome = np.where(u < 0.76, 0, np.where(u < 0.93, 1, 2))  # answered, abandoned, timeout
        hold = np.minimum(rng.exponential(110.0, n).astype(np.int64) + 2, 1800)
        wait = np.where(outcome == 2, 600, np.minimum(rng.exponential(80.0, n).astype(np.int64) + 1, 1800))
        talk = np.minimum(rng.lognormal(5.1, 0.7, n).astype(np.int64) + 5, 3600)
        yield {
            "n": n,
            "seq": seq,
            "t0": t0,
            "local_start": local,
            "caller": caller,
            "withheld": withheld,
            "queue": rng.choice(len(QUEUES), size=n, p=QUEUE_P),
            "agent": rng.integers(0, len(AGENTS), size=n),
            "outcome": outcome,
            "hold": hold,  # answered: seconds queued before CONNECT
            "wait": wait,  # unanswered: seconds queued before ABANDON / EXITWITHTIMEOUT
            "talk": talk,
            "complete_by_agent": rng.random(n) < 0.45,
            "pos": rng.integers(1, 6, size=n),
            "rna": np.where(rng.random(n) < 0.25, rng.integers(1, 3, size=n), 0),
            "legs": np.where(rng.random(n) < 0.70, 1, np.where(rng.random(n) < 0.67, 2, 3)),
            "busy_fail": rng.random(n),
        }
        d0 = d1


def write_queue_log(path: Path, n_calls: int, seed: int = SEED) -> dict:
    """Write a native pipe-delimited Asterisk queue_log of ``n_calls`` calls."""

    rng = np.random.default_rng(seed + 1)
    stats = {"calls": 0, "lines": 0, "callers": set()}
    with open(path, "wb") as fh:
        for b in generate_calls(n_calls, seed):
            n = b["n"]
            t0, seq = b["t0"], b["seq"]
            cid = _j(_s(t0), ".", _s(seq))
            q = pa.array(QUEUES[b["queue"]])
            ag = pa.array(AGENTS[b["agent"]])
            callerid = pa.array(np.where(b["withheld"], "Anonymous", b["caller"]).astype(str))
            stats["callers"].update(b["caller"][~b["withheld"]].tolist())
            pos = _s(b["pos"])
            times, seqs, ranks, texts = [], [], [], []

            def add(t, s, rank, text):
                times.append(np.asarray(t, dtype=np.int64))
                seqs.append(np.asarray(s, dtype=np.int64))
                ranks.append(np.full(len(t), rank, dtype=np.int8))
                texts.append(text)

            add(t0, seq, 0, _j(_s(t0), "|", cid, "|", q, "|NONE|ENTERQUEUE||", callerid, "|", pos))
            # RINGNOANSWER: agents rung for 15 s who did not pick up, while the caller waited.
            waited = np.where(b["outcome"] == 0, b["hold"], b["wait"])
            for k in (1, 2):
                sel = np.flatnonzero((b["rna"] >= k) & (waited > 15 * k + 1))
                t = t0[sel] + 15 * k
                other = pa.array(AGENTS[(b["agent"][sel] + k) % len(AGENTS)])
                add(t, seq[sel], k, _j(_s(t), "|", cid.take(sel), "|", q.take(sel), "|", other, "|RINGNOANSWER|15000"))
            ans = np.flatnonzero(b["outcome"] == 0)
            tc = t0[ans] + b["hold"][ans]
            hold_s, talk_s = _s(b["hold"][ans]), _s(b["talk"][ans])
            c_ans, q_ans, a_ans = cid.take(ans), q.take(ans), ag.take(ans)
            bridged = _j(_s(tc), ".", _s(seq[ans] + 7_000_000_000))
            add(tc, seq[ans], 3, _j(_s(tc), "|", c_ans, "|", q_ans, "|", a_ans, "|CONNECT|", hold_s, "|", bridged, "|", _s(rng.integers(1, 15, size=len(ans)))))
            te = tc + b["talk"][ans]
            ev = pa.array(np.where(b["complete_by_agent"][ans], "COMPLETEAGENT", "COMPLETECALLER"))
            add(te, seq[ans], 4, _j(_s(te), "|", c_ans, "|", q_ans, "|", a_ans, "|", ev, "|", hold_s, "|", talk_s, "|", pos.take(ans)))
            for code, word in ((1, "ABANDON"), (2, "EXITWITHTIMEOUT")):
                sel = np.flatnonzero(b["outcome"] == code)
                t = t0[sel] + b["wait"][sel]
                now_pos = _s(np.maximum(b["pos"][sel] - rng.integers(0, 2, size=len(sel)), 1))
                add(t, seq[sel], 4, _j(_s(t), "|", cid.take(sel), "|", q.take(sel), f"|NONE|{word}|", now_pos, "|", pos.take(sel), "|", _s(b["wait"][sel])))
            # Agents pause and unpause now and then (about one pair per 40 calls).
            npause = max(1, n // 40)
            at = rng.choice(n, size=npause)
            tp = t0[at] + rng.integers(0, 600, size=npause)
            tu = tp + rng.integers(120, 1800, size=npause)
            pq_ = pa.array(QUEUES[rng.integers(0, len(QUEUES), size=npause)])
            pa_ = pa.array(AGENTS[rng.integers(0, len(AGENTS), size=npause)])
            reason = pa.array(PAUSE_REASONS[rng.integers(0, len(PAUSE_REASONS), size=npause)])
            add(tp, seq[at], 5, _j(_s(tp), "|NONE|", pq_, "|", pa_, "|PAUSE|", reason))
            add(tu, seq[at], 6, _j(_s(tu), "|NONE|", pq_, "|", pa_, "|UNPAUSE|", reason))
            t_all, s_all, r_all = np.concatenate(times), np.concatenate(seqs), np.concatenate(ranks)
            order = np.lexsort((r_all, s_all, t_all))
            lines = pa.concat_arrays([x.combine_chunks() if isinstance(x, pa.ChunkedArray) else x for x in texts]).take(order)
            _write_lines(fh, lines)
            stats["calls"] += n
            stats["lines"] += len(lines)
    return {"calls": stats["calls"], "rows": stats["lines"], "distinct_callers": len(stats["callers"])}


def _cdr_time(epoch_s: np.ndarray) -> "pa.Array":
    """Epoch seconds as cdr_csv writes them: server-local wall clock, quoted."""

    local = pd.to_datetime(np.asarray(epoch_s, dtype=np.int64), unit="s", utc=True).tz_convert(TZ).tz_localize(None)
    txt = pc.strftime(pa.array(local.to_numpy().astype("datetime64[s]")), format="%Y-%m-%d %H:%M:%S")
    return _j('"', txt, '"')


def write_cdr(path: Path, n_calls: int, seed: int = SEED) -> dict:
    """Write an Asterisk cdr_csv ``Master.csv`` (no header, 21 columns) of ``n_calls`` calls.

    Quoting follows cdr_csv: strings and dates quoted (quotes inside doubled), integers bare,
    an unset answer time written as an empty unquoted field. About 30 % of calls ring a group
    through Local channels and have 2–3 rows sharing ``linkedid``; rows are in the order the
    CDRs were posted (call end).
    """

    stats = {"calls": 0, "rows": 0, "callers": set()}
    leg_seq = 0
    with open(path, "wb") as fh:
        for b in generate_calls(n_calls, seed):
            n = b["n"]
            legs = b["legs"]
            call = np.repeat(np.arange(n), legs)
            m = len(call)
            leg_no = np.arange(m) - np.repeat(np.cumsum(legs) - legs, legs)
            lseq = leg_seq + np.arange(m, dtype=np.int64)
            leg_seq += m
            t0 = b["t0"][call]
            outcome = b["outcome"][call]
            answered = outcome == 0
            queued = np.where(answered, b["hold"][call], b["wait"][call])
            talk = np.where(answered, b["talk"][call], 0)
            trunk = leg_no == 0
            # The trunk leg lasts the whole call; ring-group legs ring until answer or give-up.
            start = np.where(trunk, t0, t0 + 1)
            ring = np.maximum(np.minimum(queued - 1, 15 + 5 * leg_no), 1)
            end = np.where(trunk, t0 + queued + talk, start + ring)
            ans_t = t0 + queued
            agent = AGENTS[(b["agent"][call] + leg_no) % len(AGENTS)]
            ext = np.char.replace(agent, "PJSIP/", "")
            withheld = b["withheld"][call]
            src = np.where(withheld, "anonymous", b["caller"][call]).astype(str)
            stats["callers"].update(b["caller"][~b["withheld"]].tolist())
            clid = np.where(withheld, '"""Anonymous"" <anonymous>"', np.char.add(np.char.add(np.char.add(np.char.add('"""', src), '"" <'), src), '>"'))
            q = b["queue"][call]
            bf = b["busy_fail"][call]
            disp = np.where(
                trunk & answered,
                "ANSWERED",
                np.where(trunk & (legs[call] == 1) & (bf < 0.02), "BUSY", np.where(trunk & (legs[call] == 1) & (bf > 0.995), "FAILED", "NO ANSWER")),
            )
            uid = _j(_s(start), ".", _s(lseq))
            linked = _j(_s(t0), ".", _s(lseq - leg_no))
            hexid = np.char.zfill(np.char.mod("%x", lseq % 0xFFFFFFFF), 8)
            channel = np.where(trunk, np.char.add("PJSIP/trunk-", hexid), np.char.add(np.char.add(np.char.add("Local/", ext), "@from-queue-"), np.char.add(hexid, ";1")))
            dstchan = np.where(trunk & ~answered, "", np.char.add(np.char.add(agent, "-"), hexid))
            lastapp = np.where(trunk, "Queue", "Dial")
            lastdata = np.where(trunk, np.char.add(QUEUES[q], ",t,,,600"), np.char.add(np.char.add(agent, ",,"), "tr"))
            # The quoted answer time where answered, else an empty unquoted field.
            answer_col = pc.if_else(pa.array(trunk & answered), _cdr_time(ans_t), pa.scalar(""))
            duration = end - start
            billsec = np.where(trunk & answered, talk, 0)
            line = _j(
                '"","', pa.array(src), '","', pa.array(QUEUE_DID[q]), '","from-pstn",', pa.array(clid),
                ',"', pa.array(channel), '","', pa.array(dstchan), '","', pa.array(lastapp), '","',
                pa.array(lastdata), '",', _cdr_time(start), ",", answer_col, ",", _cdr_time(end), ",",
                _s(duration), ",", _s(billsec), ',"', pa.array(disp), '","DOCUMENTATION","', uid,
                '","","","', linked, '",', _s(lseq),
            )
            order = np.lexsort((lseq, end))
            _write_lines(fh, line.take(order))
            stats["calls"] += n
            stats["rows"] += m
    return {"calls": stats["calls"], "rows": stats["rows"], "distinct_callers": len(stats["callers"])}


WRITERS = {"queue_log": write_queue_log, "cdr": write_cdr}


def ensure_file(fmt: str, n_calls: int, folder: Path) -> tuple[Path, dict]:
    """The generated file for ``fmt`` and size (reused when ``folder`` already holds it)."""
    path = folder / f"{n_calls}" / FILE_NAMES[fmt]
    meta_path = path.with_name(path.name + ".json")
    want = {"format": fmt, "n_calls": n_calls, "seed": SEED, "version": 4}
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if all(meta.get(k) == v for k, v in want.items()):
            return path, meta
    path.parent.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    meta = {**want, **WRITERS[fmt](path, n_calls)}
    meta["generate_s"] = round(time.perf_counter() - t, 1)
    meta["bytes"] = path.stat().st_size
    meta_path.write_text(json.dumps(meta))
    return path, meta


# ----------------------------------------------------------------------------- measurements


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _vm_hwm_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child_baseline(fmt: str, path: Path, work: Path) -> dict:
    """Arrow CSV read in blocks, every column a string, streamed to one Parquet file."""

    t, cpu = time.perf_counter(), _cpu_s()
    if fmt == "queue_log":
        names = ["line"]
        parse = pacsv.ParseOptions(delimiter="\x1f", quote_char=False, escape_char=False)
    else:
        names = [f"f{i}" for i in range(21)]
        parse = pacsv.ParseOptions(delimiter=",")
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=names, block_size=BLOCK_BYTES),
        parse_options=parse,
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}),
    )
    rows = 0
    out = work / "baseline.parquet"
    with pq.ParquetWriter(out, reader.schema) as writer:
        for batch in reader:
            rows += batch.num_rows
            writer.write_batch(batch)
    secs = time.perf_counter() - t
    return {"seconds": secs, "cpu_s": _cpu_s() - cpu, "rows": rows, "rss_mb": _vm_hwm_mb(), "out_mb": out.stat().st_size / 2**20}


def _without_checks() -> None:
    """Switch off the privacy firewall and the store-safety checks (for ``--checks-cost`` only).

    What is switched off: the firewall over every string column (``guard_table``), the
    practice check, the look-up of earlier ingests of the same file (so nothing is replaced),
    the orphan take-over, the key fingerprint, and the changed-while-read check.
    """

    ing.guard_table = lambda table, key, columns=(): table
    ing.practice_check = lambda *a, **k: []
    st.Store.earlier_ingests_of = lambda self, *a: st.MANIFEST_SCHEMA.empty_table().to_pandas()
    st.Store.active_ingests = lambda self: None
    st.Store.key = lambda self: st.load_key(self.root)
    real = ing.ingest_batches

    def no_source_check(*a, **k):
        k["check_source"] = None
        return real(*a, **k)

    ing.ingest_batches = no_source_check


def child_ingest(fmt: str, path: Path, work: Path, checks: bool = True) -> dict:
    """Frontdoor's ingest of the file into a fresh store, the format given explicitly."""
    os.environ["FRONTDOOR_KEY"] = "benchmark-key-not-secret"
    if not checks:
        _without_checks()

    store = Store(work / "store", create=True)
    t, cpu = time.perf_counter(), _cpu_s()
    res = ingest_file(store, path, PRACTICE, fmt=FORMAT_NAMES[fmt])
    secs = time.perf_counter() - t
    return {
        "seconds": secs,
        "cpu_s": _cpu_s() - cpu,
        "rss_mb": _vm_hwm_mb(),
        "rows_read": res.rows_read,
        "written": res.written,
        "duplicates": res.duplicates,
        "rejected": res.rejected,
        "skipped": res.rows_skipped,
        "months": len(store.partitions("calls")),
    }


def run_child(kind: str, fmt: str, path: Path, work: Path) -> dict:
    """Run one measurement in a fresh interpreter; its stdout's last line is JSON.

    ``kind``: ``baseline``, ``ingest``, or ``ingest-nochecks`` (the ingest without the firewall
    and store-safety checks, see :func:`_without_checks`).
    """
    work.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=work))  # never shared with another run
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--child-format", fmt,
           "--child-file", str(path), "--child-work", str(work)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    shutil.rmtree(work, ignore_errors=True)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def format_available(fmt: str) -> bool:
    """Whether the parser for ``fmt`` is registered (checked in a child, not imported here)."""
    code = f"import sys; from telephony.formats import FORMATS; sys.exit(0 if {FORMAT_NAMES[fmt]!r} in FORMATS else 1)"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True).returncode == 0


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 4_000_000], help="calls per file")
    ap.add_argument("--formats", nargs="+", default=["queue_log", "cdr"], choices=sorted(FORMAT_NAMES))
    ap.add_argument("--keep", type=Path, help="generate the files here and keep them (reused on the next run)")
    ap.add_argument(
        "--checks-cost",
        type=int,
        metavar="PAIRS",
        help="instead: time the ingest with and without the privacy firewall and store-safety checks, "
        "PAIRS paired runs per file (order alternating), and print the median ratio (target <= 1.10)",
    )
    ap.add_argument("--child", choices=["baseline", "ingest", "ingest-nochecks"], help=argparse.SUPPRESS)
    ap.add_argument("--child-format", help=argparse.SUPPRESS)
    ap.add_argument("--child-file", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--child-work", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        if args.child == "baseline":
            out = child_baseline(args.child_format, args.child_file, args.child_work)
        else:
            out = child_ingest(args.child_format, args.child_file, args.child_work, checks=args.child == "ingest")
        print(json.dumps(out))
        return 0

    sizes = sorted(set(args.sizes))
    tmp = None
    if args.keep is not None:
        folder = args.keep
        folder.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.mkdtemp(prefix="frontdoor-bench-")
        folder = Path(tmp)
    rows = []
    try:
        for fmt in args.formats:
            if not format_available(fmt):
                print(f"{fmt}: format {FORMAT_NAMES[fmt]} is not registered yet; skipped", flush=True)
                continue
            for n in sizes:
                path, meta = ensure_file(fmt, n, folder / fmt)
                print(
                    f"{fmt} {n:,} calls: {meta['bytes'] / 2**20:,.0f} MB, {meta['rows']:,} rows, "
                    f"{meta['distinct_callers']:,} distinct caller values "
                    f"({meta['distinct_callers'] / n:.1%} of calls)",
                    flush=True,
                )
                work = folder / "work"
                if args.checks_cost:
                    rows.append(checks_cost(fmt, n, path, work, args.checks_cost))
                    if tmp is not None:
                        shutil.rmtree(path.parent, ignore_errors=True)
                    continue
                base = run_child("baseline", fmt, path, work / "baseline")
                ing = run_child("ingest", fmt, path, work / "ingest")
                print(f"  baseline {base}\n  ingest   {ing}", flush=True)
                rows.append({"fmt": fmt, "n": n, "meta": meta, "base": base, "ing": ing})
                if tmp is not None:
                    shutil.rmtree(path.parent, ignore_errors=True)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.checks_cost:
        return print_checks_cost(rows)
    print_table(rows)
    return 0 if all(r.get("pass") for r in rows) and rows else 1


MAX_CHECKS_COST = 1.10


def checks_cost(fmt: str, n: int, path: Path, work: Path, pairs: int) -> dict:
    """``pairs`` paired runs of the ingest with and without the checks, order alternating."""
    ratios, with_s, without_s = [], [], []
    for k in range(pairs):
        order = ["ingest", "ingest-nochecks"] if k % 2 == 0 else ["ingest-nochecks", "ingest"]
        got = {kind: run_child(kind, fmt, path, work / kind) for kind in order}
        if any("error" in g for g in got.values()):
            return {"fmt": fmt, "n": n, "error": next(g["error"] for g in got.values() if "error" in g)}
        with_s.append(got["ingest"]["seconds"])
        without_s.append(got["ingest-nochecks"]["seconds"])
        ratios.append(with_s[-1] / without_s[-1])
        print(f"  pair {k + 1}: with checks {with_s[-1]:.2f} s, without {without_s[-1]:.2f} s, ratio {ratios[-1]:.3f}", flush=True)
    return {"fmt": fmt, "n": n, "ratios": ratios, "with": with_s, "without": without_s}


def print_checks_cost(rows: list[dict]) -> int:
    """The median ratio per file, with PASS/FAIL against :data:`MAX_CHECKS_COST`."""

    print(f"\n{'format':<10} {'calls':>9} {'pairs':>5} {'with s (med)':>12} {'without s (med)':>15} "
          f"{'ratio min':>9} {'median':>7} {'max':>6}  verdict")
    ok = bool(rows)
    for r in rows:
        if "error" in r:
            print(f"{r['fmt']:<10} {r['n']:>9,} ERROR: {r['error']}")
            ok = False
            continue
        med = statistics.median(r["ratios"])
        passed = med <= MAX_CHECKS_COST
        ok &= passed
        print(f"{r['fmt']:<10} {r['n']:>9,} {len(r['ratios']):>5} {statistics.median(r['with']):>12.2f} "
              f"{statistics.median(r['without']):>15.2f} {min(r['ratios']):>9.3f} {med:>7.3f} {max(r['ratios']):>6.3f}  "
              f"{_verdict(passed)}")
    print(f"\ntarget: the privacy firewall and store-safety checks cost at most {MAX_CHECKS_COST - 1:.0%} of "
          "ingest time (median of the paired ratios, with / without)")
    return 0 if ok else 1


def print_table(rows: list[dict]) -> None:
    """The results table, with PASS/FAIL per target."""
    by_fmt: dict[str, list[dict]] = {}
    for r in rows:
        by_fmt.setdefault(r["fmt"], []).append(r)
    head = (
        f"{'format':<10} {'calls':>9} {'file MB':>8} {'base s':>7} {'base rows/s':>12} {'base MB':>8} "
        f"{'ingest s':>9} {'calls/s':>9} {'ing MB':>7} {'ratio':>6} {'RSS grow':>8}  verdict"
    )
    print()
    print(head)
    print("-" * len(head))
    for fmt, rs in by_fmt.items():
        rs.sort(key=lambda r: r["n"])
        ok_rss = [r for r in rs if "rss_mb" in r["ing"]]
        growth = None
        if len(ok_rss) >= 2:
            growth = ok_rss[-1]["ing"]["rss_mb"] / ok_rss[0]["ing"]["rss_mb"] - 1
        for r in rs:
            b, i, m = r["base"], r["ing"], r["meta"]
            if "error" in b or "error" in i:
                r["pass"] = False
                print(f"{fmt:<10} {r['n']:>9,} ERROR: {b.get('error') or i.get('error')}")
                continue
            ratio = i["seconds"] / b["seconds"]
            checks = [ratio <= MAX_RATIO, i["rss_mb"] < MAX_RSS_MB]
            failed = []
            if ratio > MAX_RATIO:
                failed.append("time")
            if i["rss_mb"] >= MAX_RSS_MB:
                failed.append("rss")
            g = ""
            if growth is not None and r is rs[-1]:
                g = f"{growth:+.0%}"
                checks.append(growth < MAX_GROWTH)
                if growth >= MAX_GROWTH:
                    failed.append("growth")
            if i.get("written", 0) + i.get("duplicates", 0) + i.get("rejected", 0) == 0:
                checks.append(False)
                failed.append("nothing written")
            r["pass"] = all(checks)
            verdict = _verdict(r["pass"]) + (f" ({', '.join(failed)})" if failed else "")
            print(
                f"{fmt:<10} {r['n']:>9,} {m['bytes'] / 2**20:>8,.0f} {b['seconds']:>7.1f} "
                f"{b['rows'] / b['seconds']:>12,.0f} {b['rss_mb']:>8,.0f} {i['seconds']:>9.1f} "
                f"{r['n'] / i['seconds']:>9,.0f} {i['rss_mb']:>7,.0f} {ratio:>6.2f} {g:>8}  {verdict}"
            )
    for r in rows:
        b, i = r["base"], r["ing"]
        if "cpu_s" in b and "cpu_s" in i:
            print(
                f"cpu seconds {r['fmt']} {r['n']:,}: baseline {b['cpu_s']:.1f}, ingest {i['cpu_s']:.1f} "
                f"(ingest wrote {i['written']:,} calls in {i['months']} months, {i['rejected']:,} rejected)"
            )
    print(
        f"\ntargets: ingest time <= {MAX_RATIO:g}x baseline; ingest peak RSS < {MAX_RSS_MB:,.0f} MB; "
        f"ingest peak RSS growth smallest->largest size < {MAX_GROWTH:.0%}"
    )
    print(
        "baseline: pyarrow.csv streamed in 16 MiB blocks, all columns as strings, to Parquet "
        "(queue_log: one string column per line, its rows having 6-10 fields)"
    )


if __name__ == "__main__":
    sys.exit(main())
