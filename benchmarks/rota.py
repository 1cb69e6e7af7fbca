#!/usr/bin/env python
"""Rota benchmark: the shift integer program's speed and what it leaves unmet, against baselines
measured in the same run.

Usage::

    python benchmarks/rota.py [--weeks 20] [--seed 1]

For ``--weeks`` seeded practice-weeks (Monday to Friday 08:00-18:30; an opening rush of 6 to 14
people needed on the phones, 2 to 4 through the day; headcount 2 to 6; 30% shrinkage), prints:

- seconds per practice-week of :func:`forecasting.planning.rota.build_rota` (3-8 hour shifts on
  the half hour), beside Erlang A's requirement for the same week
  (:func:`forecasting.planning.staffing.handlers_per_interval`, the step before it) and the
  ratio of the two;
- the requirement left unmet (people-on-the-phones x half hours) by the integer program and by
  the naive rota a spreadsheet would give (each half hour's need rostered, cut at headcount,
  ignoring that people work whole shifts), and the share of open half hours where each leaves
  nobody on the phones. The naive rota is not a rota anyone can work; it is the bound the
  integer program approaches when the shifts allow.

The integer program is a per-practice job: at England's ~6,300 practices a nightly run is
``seconds x 6,300``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # BLAS threads fight over a small machine's cores

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's code, not an installed one

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from forecasting.planning.rota import build_rota  # noqa: E402
from forecasting.planning.staffing import handlers_per_interval  # noqa: E402

MONDAY = pd.Timestamp("2027-01-11")
HALF_HOURS = np.arange(8 * 60, 18 * 60 + 30, 30)


def _week(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[int, int]]:
    rows = []
    for d in range(5):
        rush = rng.integers(20, 70)
        calls = np.concatenate([[rush, rush / 3, rush / 4], rng.uniform(4, 14, len(HALF_HOURS) - 3)])
        for m, c in zip(HALF_HOURS, calls):
            rows.append((MONDAY + pd.Timedelta(days=d, minutes=int(m)), float(c)))
    fc = pd.DataFrame(rows, columns=["ds", "calls"])
    heads = {d: int(rng.integers(2, 7)) for d in range(5)}
    return fc, heads


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weeks", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    t_erlang = t_milp = 0.0
    unmet_milp = unmet_naive = nobody_milp = nobody_naive = slots = 0.0
    for _ in range(args.weeks):
        fc, heads = _week(rng)
        t = time.perf_counter()
        need = handlers_per_interval(fc, 160.0, 300.0, 0.8, 60.0, 0.05, 0.3, interval="30min")
        t_erlang += time.perf_counter() - t
        req = need[["ds"]].assign(required=need["agents"].astype(float))
        t = time.perf_counter()
        r = build_rota(req, heads, 0.3)
        t_milp += time.perf_counter() - t
        cap = np.array([heads[d] for d in pd.DatetimeIndex(req["ds"]).day_of_week])
        naive = np.minimum(cap, np.ceil(req["required"].to_numpy() / 0.7 - 1e-9))
        unmet_milp += float(r.cover["unmet"].sum())
        unmet_naive += float(np.maximum(0, req["required"].to_numpy() - 0.7 * naive).sum())
        nobody_milp += float((r.cover["rostered"] == 0).sum())
        nobody_naive += float((naive == 0).sum())
        slots += len(req)
    n = args.weeks
    print(f"practice-weeks: {n}")
    print(f"Erlang A requirement (baseline): {t_erlang / n * 1000:8.1f} ms per practice-week")
    print(f"shift integer program:           {t_milp / n * 1000:8.1f} ms per practice-week "
          f"(ratio to baseline {t_milp / max(t_erlang, 1e-9):.2f})")
    print(f"unmet need, people x half hours per week: integer program {unmet_milp / n:.1f}, "
          f"naive per-half-hour rota {unmet_naive / n:.1f} (not workable: no shifts)")
    print(f"open half hours with nobody rostered: integer program {nobody_milp / slots:.1%}, naive {nobody_naive / slots:.1%}")


if __name__ == "__main__":
    main()
