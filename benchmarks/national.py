"""National data at England's size: the registered-patients reader, the CBT workbook reader
and the dated registry, each against a plain read of the same file measured in the same run.

    python benchmarks/national.py [--practices 6300]

Prints wall times and the ratio of each Frontdoor step to its baseline (pandas ``read_csv`` of
the five-year file; openpyxl iterating every row of the workbook, which any reader must do).
The files are generated (invented practices) in a temporary folder and removed afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demand.national.cbt import read_cbt_workbook
from demand.national.registered import ingest_registered, read_patients_registered
from telephony.practices import read_registry
from telephony.store import Store
from tests.demand.national.cbt_workbook import practice_rows, write_cbt_workbook

QUIN = [f"{a}_{a + 4}" for a in range(0, 95, 5)] + ["95+", "ALL"]


def write_quin(path: Path, practices: int, extract: str, seed: int) -> None:
    """A five-year-band file of ``practices`` practices (all sexes) plus PCN rows."""
    rng = np.random.default_rng(seed)
    n = rng.integers(5, 400, size=(practices, 2, len(QUIN) - 1))
    with open(path, "w") as fh:
        fh.write("PUBLICATION,EXTRACT_DATE,ORG_TYPE,ORG_CODE,ONS_CODE,POSTCODE,SEX,AGE_GROUP_5,NUMBER_OF_PATIENTS\n")
        for i in range(practices):
            code = f"A{i:05d}"
            for s, sex in enumerate(("MALE", "FEMALE", "ALL")):
                counts = n[i, s] if s < 2 else n[i].sum(axis=0)
                for a, band in enumerate(QUIN):
                    v = counts.sum() if band == "ALL" else counts[a]
                    fh.write(f"GP_PRAC_PAT_LIST,{extract},GP,{code},,ZZ99 9ZZ,{sex},{band},{v}\n")
        fh.writelines(f"GP_PRAC_PAT_LIST,{extract},PCN,U{j:05d},,,ALL,ALL,50000\n" for j in range(practices // 6))


def timed(label: str, fn):
    t = time.perf_counter()
    out = fn()
    secs = time.perf_counter() - t
    print(f"  {label:<52} {secs:8.2f} s")
    return out, secs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--practices", type=int, default=6300, help="practices in the registered-patients file")
    ap.add_argument("--cbt-practices", type=int, default=5100, help="practices in the CBT workbook")
    args = ap.parse_args()
    os.environ.setdefault("FRONTDOOR_KEY", "benchmark-key-not-secret")
    with tempfile.TemporaryDirectory(prefix="frontdoor-national-") as tmp:
        tmp = Path(tmp)
        quin = tmp / "gp-reg-pat-prac-quin-age.csv"
        write_quin(quin, args.practices, "01JAN2026", 1)
        with open(quin) as fh:
            rows = sum(1 for _ in fh) - 1
        print(f"Patients Registered at a GP Practice, five-year file: {args.practices:,} practices, {rows:,} rows, "
              f"{quin.stat().st_size / 1e6:.1f} MB")
        _, base = timed("baseline: pandas.read_csv", lambda: pd.read_csv(quin))
        prof, ours = timed("read_patients_registered", lambda: read_patients_registered(quin))
        print(f"  {'ratio to baseline':<52} {ours / base:8.2f}x   ({len(prof):,} practices)")
        store = Store(tmp / "store", create=True)
        timed("ingest_registered (empty registry)", lambda: ingest_registered(store, quin))
        feb = tmp / "feb.csv"
        write_quin(feb, args.practices, "01FEB2026", 2)
        timed("ingest_registered (a second month)", lambda: ingest_registered(store, feb))
        timed("ingest_registered (the same month again)", lambda: ingest_registered(store, feb))
        timed("read_registry as of 2026-01-15", lambda: read_registry(store, as_of="2026-01-15"))

        book = tmp / "cbt.xlsx"
        t = time.perf_counter()
        write_cbt_workbook(book, practice_rows(dt.date(2026, 1, 1), n=args.cbt_practices, seed=3, unassigned=100))
        print(f"\nCBT publication workbook: {args.cbt_practices:,} practices + 100 unassigned rows, "
              f"{book.stat().st_size / 1e6:.1f} MB (written in {time.perf_counter() - t:.1f} s)")

        def iterate():
            wb = openpyxl.load_workbook(book, read_only=True, data_only=True)
            try:
                return sum(1 for ws in wb.worksheets for _ in ws.iter_rows(values_only=True))
            finally:
                wb.close()

        _, base = timed("baseline: openpyxl reading every row", iterate)
        cbt, ours = timed("read_cbt_workbook", lambda: read_cbt_workbook(book))
        print(f"  {'ratio to baseline':<52} {ours / base:8.2f}x   ({len(cbt):,} rows)")


if __name__ == "__main__":
    main()
