"""What the benchmarks share: the demo federation they measure, built once and kept if asked."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

from demand.simulation.demo import MARKER, run_demo


def ensure_demo(folder: Path, weeks: int, seed: int = 1) -> Path:
    """The demo store in ``folder`` (built unless an equal one is already there)."""

    marker = folder / MARKER
    if marker.exists() and (folder / "store").exists():
        meta = json.loads(marker.read_text())
        if meta.get("weeks") == weeks and meta.get("seed") == seed:
            return folder / "store"
    t = time.perf_counter()
    os.environ.setdefault("FRONTDOOR_KEY", "benchmark-key-not-secret")
    res = run_demo(folder, weeks, seed)
    print(f"built the demo federation in {time.perf_counter() - t:.1f} s: {res.store}", file=sys.stderr)
    return res.store


@contextlib.contextmanager
def demo_folder(keep: Path | None, prefix: str) -> Iterator[Path]:
    """``keep`` (``--keep DIR``), or a temporary folder named ``prefix...``, removed afterwards."""
    if keep is not None:
        yield keep
        return
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
