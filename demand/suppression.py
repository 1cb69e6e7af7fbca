"""Small-number suppression for everything that leaves a practice.

A count of 1 to 4 calls (an hour's missed calls at a small practice, a week's call-backs) can
point at a person. Every table that leaves the practice (a federation page, a benchmark
printout) is passed through :func:`suppress` first:

- *primary*: counts under the threshold (5) are shown as ``"<5"``;
- *complementary*: where a suppressed cell could be worked out from a published total minus
  the other cells (a practice's missed calls = inbound − answered − IVR − call-backs − other;
  one practice's calls = the PCN's total − its other practices'), further cells are withheld
  (``"*"``) until no suppressed cell is determined by the published sums;
- *rates* (per 1,000, shares) made from a suppressed count are withheld too: a rate times a
  public list size gives the count back.

The guarantee is checked, not hoped for: :func:`recoverable` solves the published sums as a
linear system and lists every suppressed cell whose value they fix; :func:`suppression_mask`
keeps adding complementary cells until it lists none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from telephony.errors import FrontdoorError

__all__ = [
    "THRESHOLD",
    "SMALL",
    "WITHHELD",
    "Lines",
    "SuppressionError",
    "suppression_mask",
    "recoverable",
    "suppress",
]

THRESHOLD = 5
SMALL = "<5"
#: Shown for a cell withheld so that a small count cannot be worked out, and for a rate made
#: from a suppressed count.
WITHHELD = "*"


class SuppressionError(FrontdoorError, ValueError):
    """A table that cannot be suppressed as asked (a missing column, a negative count)."""


@dataclass(frozen=True)
class Lines:
    """Which published sums a table's cells are in.

    Attributes
    ----------
    parts : mapping of str to sequence of str
        Within a row, a total column and the columns that add up to it, e.g.
        ``{"inbound_calls": ("answered", "ended_ivr", "callback_requested", "missed",
        "other")}``. The total is a cell of the row.
    groups : sequence of sequence of str
        Sets of key columns whose rows add up to a published total of each count column (a
        PCN's or the federation's figure, printed elsewhere): ``(("period",),)`` says all
        rows of a period add up to a known total; ``(("period",), ("period", "pcn_code"))``
        adds the PCNs' totals. An empty key set ``()`` is the whole table.
    """

    parts: Mapping[str, Sequence[str]] = None  # type: ignore[assignment]
    groups: Sequence[Sequence[str]] = ()

    def __post_init__(self):
        object.__setattr__(self, "parts", dict(self.parts or {}))


def _check(frame: pd.DataFrame, count_columns: Sequence[str], lines: Lines) -> None:
    need = set(count_columns) | {c for k, v in lines.parts.items() for c in (k, *v)} | {k for g in lines.groups for k in g}
    missing = sorted(need - set(frame.columns))
    if missing:
        raise SuppressionError(f"The table has no column {', '.join(missing)}; it has {', '.join(map(str, frame.columns))}.")
    for c in count_columns:
        v = pd.to_numeric(frame[c], errors="coerce")
        if (v < 0).any():
            raise SuppressionError(f"Column {c} has negative counts: suppression needs counts (0 or more).")


def _line_cells(frame: pd.DataFrame, count_columns: Sequence[str], lines: Lines) -> list[np.ndarray]:
    """Each published sum as the flat indices (row * n_cols + col) of the cells in it."""
    cols = list(count_columns)
    where = {c: i for i, c in enumerate(cols)}
    n_c = len(cols)
    rows = np.arange(len(frame))
    out: list[np.ndarray] = []
    for total, parts in lines.parts.items():
        idx = [where[c] for c in (total, *parts) if c in where]
        if len(idx) < len(parts) + 1:
            continue  # a part not shown: the sum cannot be formed from the table
        for r in rows:
            out.append(r * n_c + np.asarray(idx))
    for keys in lines.groups:
        if keys:
            codes = frame.groupby(list(keys), sort=False, dropna=False).ngroup().to_numpy()
        else:
            codes = np.zeros(len(frame), dtype="int64")
        for g in np.unique(codes):
            members = rows[codes == g]
            if len(members) < 2:
                continue  # a group of one row is its own published total: nothing to protect
            for j in range(n_c):
                out.append(members * n_c + j)
    return out


def _matrix(line_cells: list[np.ndarray], n_cells: int) -> np.ndarray:
    a = np.zeros((len(line_cells), n_cells))
    for i, cells in enumerate(line_cells):
        a[i, cells] = 1.0
    return a


def _determined(a: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """Hidden cells whose value the published sums fix (flat indices).

    Every published sum minus its shown cells gives the sum of its hidden cells; a hidden cell
    is fixed exactly when its unit vector lies in the span of those sums' rows (restricted to
    the hidden cells).
    """
    if len(hidden) == 0:
        return hidden
    sub = a[:, hidden]
    sub = sub[sub.any(axis=1)]
    if len(sub) == 0:
        return hidden[:0]
    # e_k is in the row space exactly when it is orthogonal to the null space: the null
    # space's basis vectors (one SVD) all have a zero k-th entry
    _, sv, vt = np.linalg.svd(sub, full_matrices=True)
    tol = max(sub.shape) * np.finfo(float).eps * (sv[0] if len(sv) else 1.0)
    rank = int((sv > tol).sum())
    null = vt[rank:]
    fixed = [hidden[k] for k in range(len(hidden)) if not len(null) or np.abs(null[:, k]).max() < 1e-9]
    return np.asarray(fixed, dtype="int64")


def _values(frame: pd.DataFrame, count_columns: Sequence[str]) -> np.ndarray:
    return np.column_stack([pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype="float64") for c in count_columns]) if len(count_columns) else np.zeros((len(frame), 0))


def suppression_mask(
    frame: pd.DataFrame,
    count_columns: Sequence[str],
    lines: Lines = Lines(),
    *,
    threshold: int = THRESHOLD,
    zeros: bool = False,
) -> pd.DataFrame:
    """Which count cells to hide: ``"small"`` (under ``threshold``), ``"complement"`` or ``""``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table to publish.
    count_columns : sequence of str
        Its count columns.
    lines : Lines
        The sums the table's readers know (row totals, group totals).
    threshold : int
        Counts from 1 to ``threshold - 1`` are small (default 5: "<5").
    zeros : bool
        Suppress zeros too (default False: a count of no one identifies no one).

    Returns
    -------
    pandas.DataFrame
        ``count_columns`` with the same index: ``"small"``, ``"complement"`` or ``""``.

    Notes
    -----
    Complementary cells are chosen greedily: while a hidden cell is fixed by the published sums
    (see :func:`recoverable`), the smallest shown cell of a sum that holds it (and has no other
    hidden cell) is hidden too; that loses the least information and usually needs one cell per
    sum. The loop ends because each round hides one more cell.
    """
    cols = list(count_columns)
    _check(frame, cols, lines)
    vals = _values(frame, cols)
    small = (vals < threshold) & ((vals > 0) | zeros) & ~np.isnan(vals)
    state = np.where(small, "small", "").astype(object)
    n_c = len(cols)
    line_cells = _line_cells(frame, cols, lines)
    if small.any() and line_cells:
        a = _matrix(line_cells, vals.size)
        flat_vals = vals.ravel()
        hidden = set(np.flatnonzero(small.ravel()).tolist())
        while True:
            fixed = _determined(a, np.asarray(sorted(hidden), dtype="int64"))
            if len(fixed) == 0:
                break
            cell = int(fixed[0])
            # the sums holding the fixed cell; hide the smallest shown cell among them
            candidates = {int(c) for cells in line_cells if cell in cells for c in cells if int(c) not in hidden}
            if not candidates:
                raise SuppressionError("A small count cannot be protected: every cell of its sums is already hidden.")
            pick = min(candidates, key=lambda c: (flat_vals[c], c))
            hidden.add(pick)
            state.ravel()[pick] = "complement"
    return pd.DataFrame(state.reshape(len(frame), n_c), index=frame.index, columns=cols)


def recoverable(frame: pd.DataFrame, mask: pd.DataFrame, lines: Lines) -> list[tuple[object, str]]:
    """The hidden cells (index label, column) that the published sums give back exactly.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table before suppression.
    mask : pandas.DataFrame
        :func:`suppression_mask`'s output (any non-empty string is hidden).
    lines : Lines
        The sums the readers know.

    Returns
    -------
    list of (label, column)
        Empty when suppression holds.
    """
    cols = list(mask.columns)
    a = _matrix(_line_cells(frame, cols, lines), len(frame) * len(cols))
    hidden = np.flatnonzero((mask.to_numpy() != "").ravel())
    fixed = _determined(a, hidden)
    return [(frame.index[int(c) // len(cols)], cols[int(c) % len(cols)]) for c in fixed]


def suppress(
    frame: pd.DataFrame,
    count_columns: Sequence[str],
    lines: Lines = Lines(),
    *,
    rates: Mapping[str, Sequence[str]] | None = None,
    threshold: int = THRESHOLD,
    zeros: bool = False,
) -> pd.DataFrame:
    """The table as it may leave the practice: small counts ``"<5"``, complements and rates ``"*"``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table to publish (other columns pass through unchanged).
    count_columns : sequence of str
        Its count columns.
    lines : Lines
        The sums its readers know (see :class:`Lines`).
    rates : mapping of str to sequence of str, optional
        Each rate or share column and the counts it is made of, e.g. ``{"answered_share":
        ("answered", "inbound_calls"), "inbound_calls_per_1000": ("inbound_calls",)}``: withheld
        where any of them is hidden.
    threshold, zeros
        As :func:`suppression_mask`.

    Returns
    -------
    pandas.DataFrame
        Same index and columns; count and rate columns become ``object`` (numbers, ``"<5"`` or
        ``"*"``).
    """
    rates = dict(rates or {})
    missing = sorted({c for k, v in rates.items() for c in (k, *v)} - set(frame.columns))
    if missing:
        raise SuppressionError(f"The table has no column {', '.join(missing)}; it has {', '.join(map(str, frame.columns))}.")
    mask = suppression_mask(frame, count_columns, lines, threshold=threshold, zeros=zeros)
    out = frame.copy()
    for c in count_columns:
        shown = out[c].astype(object)
        shown[mask[c] == "small"] = SMALL
        shown[mask[c] == "complement"] = WITHHELD
        out[c] = shown
    for r, made_of in rates.items():
        hidden = np.zeros(len(frame), dtype=bool)
        for c in made_of:
            if c in mask.columns:
                hidden |= (mask[c] != "").to_numpy()
            else:
                # a count not itself published is checked on its own value
                v = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype="float64")
                hidden |= (v < threshold) & ((v > 0) | zeros)
        shown = out[r].astype(object)
        shown[hidden] = WITHHELD
        out[r] = shown
    return out
