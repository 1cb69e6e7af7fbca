#!/usr/bin/env python
"""Federation benchmark: per-practice work for 10, 25 and 50 practices on both engines.

Usage::

    python benchmarks/federation.py [--keep DIR] [--sizes 10 25 50] [--weeks 52] [--model ets]
                                    [--configs local-1 local-2 spark]

It builds the demo federation (three practices, ``--weeks`` from Monday 6 January 2025, through
the real exports and ingest; reused from ``--keep DIR``), then makes federations of N practices
by cloning its practices' call partitions under new ODS-style ids (``B82001``...), each clone
with a seeded perturbation: 0-15% of its calls dropped, its waits scaled by 0.8-1.25, its call
ids and caller pseudonyms made its own. Building is not timed.

Then, for each federation and each engine configuration, in a fresh process (so that each gets
its own peak memory):

metrics
    ``read_metrics`` of the whole year, ``queue`` per day and ``callers`` per day, practice by
    practice on the engine (what ``frontdoor metrics --engine ...`` runs).
forecast
    Next week's calls per hour for each practice (its hourly series, then ``--model``), summed
    over the practices for the federation (the lead swaps in the hierarchical reconciliation).

Configurations: ``local-1`` (the engine in the calling process), ``local-2`` (a pool of two
processes: this machine has two cores), ``spark`` (PySpark ``local[2]``; the session's start
is timed apart and left out of the work's time). Printed: wall time, cost per practice, peak
resident memory of the driver and of its largest child process (a pool worker; for Spark the
JVM, which also waited for its Python workers), the slope of time against practices (a least-
squares line, and the exponent of a log-log fit: 1 is linear), a check that every
configuration gives the same metric totals and the same federation forecast, and what the
measured costs imply for England's ~6,300 practices.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from benchmarks._common import demo_folder, ensure_demo  # noqa: E402
from demand.metrics import read_metrics  # noqa: E402
from forecasting.pipeline import forecast_series  # noqa: E402
from forecasting.series import series_from_calls  # noqa: E402
from telephony.engine import map_practices  # noqa: E402
from telephony.store import open_store  # noqa: E402

TZ = "Europe/London"
FIRST_DAY = pd.Timestamp("2025-01-06")  # the demo's first Monday
CONFIGS = ("local-1", "local-2", "spark")
CLONE_MARKER = "federation.json"
ENGLAND_PRACTICES = 6300


# ----------------------------------------------------------------------------- building


def clone_federation(source: Path, dest: Path, n: int, weeks: int, seed: int = 12) -> list[str]:
    """A store of ``n`` practices cloned from ``source``'s, each perturbed with its own seed.

    Clone ``k`` copies source practice ``k % 3``'s call partitions of the first ``weeks``
    weeks, keeps a random 85-100% of the calls, scales waits by 0.8-1.25 and suffixes call ids
    and caller pseudonyms with its id (pseudonyms stay opaque; no number is involved).
    """
    marker = dest / CLONE_MARKER
    want = {"n": n, "weeks": weeks, "seed": seed, "source": str(source)}
    if marker.exists() and json.loads(marker.read_text()) == want:
        return json.loads((dest / "practices.json").read_text())
    src_root = Path(source) / "calls"
    sources = sorted(p.name.split("=", 1)[1] for p in src_root.glob("practice_id=*"))
    end = (FIRST_DAY + pd.Timedelta(weeks=weeks)).tz_localize(TZ).tz_convert("UTC")
    start = FIRST_DAY.tz_localize(TZ).tz_convert("UTC")
    ids = []
    for k in range(n):
        pid = f"B{82001 + k}"
        ids.append(pid)
        src = sources[k % len(sources)]
        rng = np.random.default_rng([seed, k])
        keep, scale = rng.uniform(0.85, 1.0), rng.uniform(0.8, 1.25)
        for part in sorted((src_root / f"practice_id={src}").glob("month=*/part.parquet")):
            t = pq.read_table(part)
            t = t.filter(pc.and_(pc.greater_equal(t["start_utc"], pa.scalar(start.to_pydatetime(), t["start_utc"].type)),
                                 pc.less(t["start_utc"], pa.scalar(end.to_pydatetime(), t["start_utc"].type))))
            if t.num_rows == 0:
                continue
            t = t.filter(pa.array(rng.random(t.num_rows) < keep))
            suffix = f"-{pid}"
            t = t.set_column(t.schema.get_field_index("call_id"), "call_id", pc.binary_join_element_wise(t["call_id"], suffix, ""))
            t = t.set_column(t.schema.get_field_index("caller_key"), "caller_key",
                             pc.binary_join_element_wise(t["caller_key"], suffix, ""))
            t = t.set_column(t.schema.get_field_index("wait_s"), "wait_s", pc.multiply(t["wait_s"], scale))
            out = dest / "calls" / f"practice_id={pid}" / part.parent.name / "part.parquet"
            out.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(t, out, compression="zstd")
    (dest / "practices.json").write_text(json.dumps(ids))
    marker.write_text(json.dumps(want))
    return ids


# ----------------------------------------------------------------------------- the work


def next_week(practice_id: str, frames: dict[str, pd.DataFrame], *, model: str, start: str, end: str) -> pd.DataFrame:
    """Next week's calls per hour for one practice (the per-practice forecast)."""
    series = series_from_calls(frames["calls"], "h", "calls", TZ, start, end)
    fc, m = forecast_series(series, model, "1w", level=(80, 95))
    return fc.rename(columns={"unique_id": "practice_id", m.alias: "yhat"})


def child(config: str, store_dir: Path, weeks: int, model: str) -> dict:
    """One configuration on one federation: times, memory, and the results' totals."""
    engine, workers = ("spark", None) if config == "spark" else ("local", int(config.split("-")[1]))
    out = {"config": config}
    if engine == "spark":
        t = time.perf_counter()
        from pyspark.sql import SparkSession  # only this configuration needs it

        spark = (
            SparkSession.builder.master("local[2]").appName("frontdoor-benchmark")
            .config("spark.sql.shuffle.partitions", "8").config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false").getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        out["startup_s"] = time.perf_counter() - t
    store = open_store(store_dir)
    last_day = (FIRST_DAY + pd.Timedelta(weeks=weeks) - pd.Timedelta(days=1)).date()
    first, last = FIRST_DAY.date(), last_day
    run = dict(engine=engine, workers=workers)

    t = time.perf_counter()
    queue = read_metrics(store, "queue", None, first, last, **run)
    callers = read_metrics(store, "callers", None, first, last, **run)
    out["metrics_s"] = time.perf_counter() - t
    out["practices"] = int(queue["practice_id"].nunique())
    out["offered"] = int(queue["offered"].sum())
    out["unique_callers"] = int(callers["unique_callers"].sum())

    t = time.perf_counter()
    end = (pd.Timestamp(last) + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    fc = map_practices(next_week, store, engine=engine, workers=workers, period=(str(first), end),
                       columns={"calls": ["start_utc", "direction", "outcome", "wait_s", "talk_s"]},
                       model=model, start=str(first), end=end)
    federation = fc.groupby("ds")["yhat"].sum()  # bottom-up: the lead swaps in the reconciliation
    out["forecast_s"] = time.perf_counter() - t
    out["federation_week"] = float(federation.sum())
    out["forecast_rows"] = len(fc)
    if engine == "spark":
        spark.stop()  # the JVM exits and is waited for: its memory joins the children's
        time.sleep(1)
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out["rss_self_mb"], out["rss_child_mb"] = me / 1024, kids / 1024
    return out


# ----------------------------------------------------------------------------- the run


def run_child(config: str, store_dir: Path, weeks: int, model: str) -> dict:
    cmd = [sys.executable, __file__, "--child", config, str(store_dir), "--weeks", str(weeks), "--model", model]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.stderr.write(res.stderr[-3000:])
        raise SystemExit(f"{config} on {store_dir} failed")
    return json.loads(res.stdout.strip().splitlines()[-1])


def fit(ns: list[int], ts: list[float]) -> tuple[float, float, float]:
    """Least-squares ``t = a + b n`` and the log-log exponent ``k`` of ``t ~ n^k``."""
    b, a = np.polyfit(ns, ts, 1)
    k, _c = np.polyfit(np.log(ns), np.log(ts), 1)
    return a, b, k


def store_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in (root / "calls").rglob("part.parquet"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keep", type=Path, help="folder to build the stores in and keep (reused when there)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 25, 50])
    ap.add_argument("--weeks", type=int, default=52)
    ap.add_argument("--model", default="ets")
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=CONFIGS)
    ap.add_argument("--child", nargs=2, metavar=("CONFIG", "STORE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    os.environ.setdefault("FRONTDOOR_KEY", "benchmark-key-not-secret")
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]), args.weeks, args.model)))
        return 0

    with demo_folder(args.keep, "frontdoor-federation-") as folder:
        source = ensure_demo(folder / "demo", max(args.weeks, 52))
        rows = []
        info = {}
        for n in args.sizes:
            t = time.perf_counter()
            dest = folder / f"federation-{n}"
            clone_federation(source, dest, n, args.weeks)
            nrows = sum(pq.read_metadata(p).num_rows for p in (dest / "calls").rglob("part.parquet"))
            info[n] = (nrows, store_bytes(dest))
            print(f"federation of {n}: {nrows:,} calls, {info[n][1] / 1e6:.1f} MB of Parquet "
                  f"(built in {time.perf_counter() - t:.1f} s)", file=sys.stderr)
            for config in args.configs:
                r = run_child(config, dest, args.weeks, args.model)
                r["n"] = n
                rows.append(r)
                print(f"  {config}: {r['metrics_s'] + r['forecast_s']:.1f} s", file=sys.stderr)

    df = pd.DataFrame(rows)
    df["total_s"] = df["metrics_s"] + df["forecast_s"]
    df["per_practice_ms"] = 1000 * df["total_s"] / df["n"]
    print(f"\nFederations of {', '.join(map(str, args.sizes))} practices x {args.weeks} weeks; metrics: queue and "
          f"callers per day for the year; forecast: next week per hour ({args.model}), summed for the federation.\n")
    show = df[["n", "config", "metrics_s", "forecast_s", "total_s", "per_practice_ms", "rss_self_mb", "rss_child_mb"]].copy()
    show["spark_start_s"] = df.get("startup_s")
    print(show.to_string(index=False, float_format=lambda v: f"{v:.1f}"))

    print("\nGrowth with practices (t = a + b*n; exponent k of t ~ n^k, 1 = linear):")
    base = {}
    for config, g in df.groupby("config", sort=False):
        if g["n"].nunique() < 2:
            continue
        a, b, k = fit(list(g["n"]), list(g["total_s"]))
        base[config] = b
        verdict = "linear or better" if k <= 1.1 else "worse than linear"
        print(f"  {config:8s} a = {a:6.1f} s  b = {b:6.3f} s/practice  k = {k:.2f}  ({verdict})")
    big = df[df["n"] == df["n"].max()].set_index("config")["total_s"]
    if "local-1" in big:
        for config, t in big.items():
            print(f"  {config:8s} at {df['n'].max()} practices: {big['local-1'] / t:.2f}x the speed of local-1")

    same = df.groupby("n").agg(offered=("offered", "nunique"), callers=("unique_callers", "nunique"),
                               spread=("federation_week", lambda s: float(s.max() - s.min())))
    ok = bool((same["offered"] == 1).all() and (same["callers"] == 1).all() and (same["spread"] < 1e-6).all())
    print(f"\nEvery configuration gives the same metric totals and federation forecast: {'yes' if ok else 'NO'}")
    print(same.to_string())

    # England on paper, from what was measured here.
    n_max = max(info)
    calls_per_practice = info[n_max][0] / n_max * 52 / args.weeks
    bytes_per_call = info[n_max][1] / info[n_max][0]
    rows_england = calls_per_practice * ENGLAND_PRACTICES
    # cost per practice on one core: the largest local-1 federation's (its fixed costs spread thin)
    one = df[df["config"] == "local-1"]
    one_core = float((one if len(one) else df).sort_values("n")["per_practice_ms"].iloc[-1]) / 1000
    core_hours = one_core * ENGLAND_PRACTICES / 3600
    print(
        f"\nEngland on paper ({ENGLAND_PRACTICES:,} practices, one year of call-level data, at this benchmark's "
        f"practice size):\n"
        f"  rows: {calls_per_practice:,.0f} calls per practice-year x {ENGLAND_PRACTICES:,} = {rows_england / 1e9:.2f} "
        f"billion (the demo's practices are 6-12k patients; England's mean list is ~10k, and\n"
        f"        real practices' 50-300k calls a year put it at 0.3-1.9 billion)\n"
        f"  Parquet: {bytes_per_call:.0f} bytes per call (zstd) -> {rows_england * bytes_per_call / 1e9:.0f} GB; "
        f"~{ENGLAND_PRACTICES * 12:,} partition files of ~{info[n_max][1] / n_max / 12 / 1e6:.1f} MB\n"
        f"  work: {one_core:.2f} s per practice on one core (local-1, largest federation) -> {core_hours:.1f} executor-core-hours "
        f"for metrics + next-week forecasts;\n"
        f"        on 25 executors x 4 cores, ~{core_hours / 100 * 60:.0f} minutes of work plus job start, if tasks "
        f"spread evenly (one practice per task, so the largest practice bounds the tail)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
