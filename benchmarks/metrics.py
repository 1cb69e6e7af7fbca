#!/usr/bin/env python
"""Metrics benchmark: every demand metric against reading the same data from Parquet.

Usage::

    python benchmarks/metrics.py [--keep DIR] [--weeks 56] [--repeat 7] [--practice A81003] [--no-share]

It builds the demo federation (:func:`demand.simulation.demo.run_demo`: three practices of 6,000, 9,000
and 12,000 patients, ``--weeks`` from Monday 6 January 2025, through the real exports and
ingest) in a temporary folder, or reuses the one in ``--keep DIR`` (built there the first
time). Building is not timed. Then, in one process and one run, for one practice-year (the
largest practice, the first 52 weeks) and for the whole federation over the same year:

baseline
    The same partitions (calls and appointments, every column) read with
    ``pyarrow.parquet.read_table(paths).to_pandas()``: no Frontdoor code at all.
read
    Frontdoor's own readers, as the metrics get their data: ``Store.read_calls`` and
    :func:`demand.appointments.schema.read_appointments` (pruned to the period, sorted).
metrics
    Each metric on those frames: queue metrics at 15min, 30min, hour, day, week and month;
    NHS metrics by month, weekday and hour; callers per day and per hour; capacity;
    same-day exhaustion; demand against capacity; the Monday profile; skill mix;
    consultation length; continuity. The calls and slots are first reduced once to integer
    arrays (:func:`demand.definitions.prepare_calls`, :func:`demand.slots.prepare_slots`),
    timed as their own rows and counted in the total, and every metric takes the prepared
    objects, so what they share (wall-clock times, interval layouts, outcome codes, callers'
    days, callbacks made) is computed once. ``--no-share`` gives each metric the frames
    instead, as a single metric would be run.

Each repeat runs baseline, reads and the whole sequence of metrics afresh, so that a load
coming and going on a shared machine hits them alike; each step's time is its best over the
repeats and the metrics total the best total of a whole sequence. Target: all metrics for one
practice-year (the metrics total) within 3x the baseline time of reading its data; the exit
code is 1 when it is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import demo_folder, ensure_demo  # noqa: E402
import pyarrow.parquet as pq

from telephony.store import open_store

from demand.appointments.schema import read_appointments
from demand.callers import caller_metrics_daily, caller_metrics_hourly
from demand.capacity import capacity_metrics, same_day_exhaustion
from demand.definitions import DEFAULT_TZ, prepare_calls
from demand.demand_capacity import demand_capacity, monday_profile
from demand.queue import nhs_metrics, queue_metrics
from demand.simulation.demo import DEFAULT_START
from demand.slots import prepare_slots
from demand.workforce import consultation_length, continuity, skill_mix

TARGET = 3.0
YEAR_DAYS = 364


def measure(store, practices: list[str] | None, start: str, end: str, repeat: int, share: bool = True) -> dict[str, float]:
    """Seconds per step for some practices over ``[start, end)`` (naive local bounds).

    Each repeat reads the data (baseline, then Frontdoor's readers) and runs the whole
    sequence of metrics afresh (new prepared objects: nothing computed in an earlier repeat
    is reused), so a load that comes and goes on a shared machine hits baseline and metrics
    alike. A step's time is its best over the repeats; ``metrics total`` is the best total of
    a whole sequence.
    """

    paths = _split([str(p) for t in ("calls", "appointments") for _pid, _m, p in store.partitions(t, practices, start, end)])
    times: dict[str, list[float]] = {}

    def timed(name: str, fn: Callable[[], object]):
        t = time.perf_counter()
        out = fn()
        times.setdefault(name, []).append(time.perf_counter() - t)
        return out

    totals = []
    for _ in range(repeat):
        timed("baseline: parquet -> pandas", lambda: [pq.read_table(p).to_pandas() for p in paths])
        calls = timed("read: calls", lambda: store.read_calls(practices, start, end))
        slots = timed("read: appointments", lambda: read_appointments(store, practices, start, end))
        before = {k: len(v) for k, v in times.items()}
        for name, fn in metric_steps(calls, slots, start, end, share):
            timed(name, fn)
        totals.append(sum(v[-1] for k, v in times.items() if len(v) > before.get(k, 0) and not k.startswith(("baseline", "read"))))
    out = {k: min(v) for k, v in times.items()}
    out["metrics total"] = min(totals)
    return out


def metric_steps(calls, slots, start: str, end: str, share: bool = True) -> list[tuple[str, Callable[[], object]]]:
    """Every metric of issue 3 on frames of calls and slots, as named zero-argument calls.

    With ``share`` the frames are prepared once (the first two steps) and every metric is
    given the prepared objects; without, each metric prepares its frame itself.
    """

    sizes = {"A81001": 6000, "A81002": 9000, "A81003": 12000}
    p = dict(start=start, end=end)
    src = {"calls": calls, "slots": slots}
    steps: list[tuple[str, Callable[[], object]]] = []
    if share:
        def prep_calls():
            src["calls"] = prepare_calls(calls, DEFAULT_TZ, start, end)

        def prep_slots():
            src["slots"] = prepare_slots(slots, DEFAULT_TZ, start, end, need=("role", "mode"))

        steps += [("prepare calls (shared)", prep_calls), ("prepare slots (shared)", prep_slots)]

    def c():  # the calls (prepared, with share) of this repeat
        return src["calls"]

    def s():
        return src["slots"]

    steps += [(f"queue {f}", (lambda f=f: queue_metrics(c(), f, **p))) for f in ("15min", "30min", "h", "D", "W", "MS")]
    steps += [(f"nhs by {b}", (lambda b=b: nhs_metrics(c(), b, **p))) for b in ("month", "weekday", "hour")]
    steps += [
        ("callers daily", lambda: caller_metrics_daily(c(), **p)),
        ("callers hourly", lambda: caller_metrics_hourly(c(), **p)),
        ("capacity", lambda: capacity_metrics(s(), **p)),
        ("same-day exhaustion", lambda: same_day_exhaustion(s(), **p)),
        ("demand against capacity", lambda: demand_capacity(c(), s(), **p)),
        ("monday profile", lambda: monday_profile(c(), s(), **p)),
        ("skill mix", lambda: skill_mix(s(), sizes, **p)),
        ("consultation length", lambda: consultation_length(s(), **p)),
        ("continuity", lambda: continuity(s(), **p)),
    ]
    return steps


def _split(paths: list[str]) -> list[list[str]]:
    """Calls partitions and appointment partitions, each read as one dataset."""
    calls = [p for p in paths if "/calls/" in p.replace(os.sep, "/")]
    appts = [p for p in paths if p not in calls]
    return [x for x in (calls, appts) if x]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keep", type=Path, help="build the demo here, or reuse the one already here")
    ap.add_argument("--weeks", type=int, default=56, help="weeks of demo data (at least 52)")
    ap.add_argument("--repeat", type=int, default=7, help="runs per measurement; the best is kept")
    ap.add_argument("--practice", default="A81003", help="the practice of the practice-year")
    ap.add_argument("--no-share", action="store_true", help="give each metric the frames, not the prepared data")
    args = ap.parse_args(argv)
    if args.weeks < 52:
        ap.error("--weeks must be at least 52: the benchmark measures a year")

    with demo_folder(args.keep, "frontdoor-metrics-bench-") as folder:
        store = open_store(ensure_demo(folder, args.weeks))
        start = DEFAULT_START.isoformat()
        end = (DEFAULT_START + dt.timedelta(days=YEAR_DAYS)).isoformat()
        one = measure(store, [args.practice], start, end, args.repeat, not args.no_share)
        fed = measure(store, None, start, end, args.repeat, not args.no_share)
        n_calls = len(store.read_calls([args.practice], start, end, ["start_utc"]))
        n_fed = len(store.read_calls(None, start, end, ["start_utc"]))
        report(one, fed, args.practice, start, end, n_calls, n_fed)
        return 0 if one["metrics total"] <= TARGET * one["baseline: parquet -> pandas"] else 1


def report(one: dict, fed: dict, practice: str, start: str, end: str, n_calls: int, n_fed: int) -> None:
    print(f"Metrics benchmark: {practice} ({n_calls:,} calls) and the federation ({n_fed:,} calls), "
          f"{start} to {end} (exclusive); best of the repeats, seconds")
    print(f"{'step':<34}{'practice-year':>15}{'federation':>12}")
    for k in one:
        print(f"{k:<34}{one[k]:>15.4f}{fed[k]:>12.4f}")
    for label, d in (("practice-year", one), ("federation", fed)):
        total = d["metrics total"]
        base = d["baseline: parquet -> pandas"]
        read = d["read: calls"] + d["read: appointments"]
        verdict = f" {'PASS' if total <= TARGET * base else 'FAIL'}" if label == "practice-year" else ""
        print(
            f"{label}: metrics total {total:.3f} s, baseline read {base:.3f} s, ratio {total / base:.2f} "
            f"(target <= {TARGET:g}){verdict}; Frontdoor read {read:.3f} s, "
            f"(read + metrics) / baseline {(read + total) / base:.2f}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
