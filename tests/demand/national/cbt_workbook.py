"""A CBT publication workbook in NHS England's layout, written with openpyxl for the tests.

Invented practices (A99xxx), PCNs, sub-ICBs and ICBs; counts from a seeded generator. The
layout follows ``shared/FORMATS.md``: title and data-quality sheets, Table 1 (national
summary) and Table 2 (by date and time band) which hold no practices, then Tables 3, 4 and 5
per practice, each with title rows, a header of key columns and merged group labels over
``Total``/``Count``/``%`` (Table 4 and 5: band names, then ``Count``/``%``), footnote markers
and double spaces in names, a national ``Total`` first, ``Unassigned``/``Unmapped`` rows, and
notes with a copyright line after the last practice.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import openpyxl

KEYS = ["Month [1]", "GP Practice (ODS_CODE)", "GP Name", "PCN Code", "PCN Name [2,3]", "Sub ICB Code [2]",
        "Sub ICB Name", "ICB Code  [2]", "ICB Name", "Region Code  [2]", "Region Name"]
OUTCOMES = [("answered", "Answered"), ("ended_ivr", "Ended during the IVR Stage [4]"),
            ("callback_requested", "Call back requested"), ("missed", "Missed"), ("callback_made", "Call back made")]
BANDS = [("lt_1m", "Less than 1 minute"), ("1_2m", "1 - 2 minutes"), ("2_5m", "2 - 5 minutes"), ("gt_5m", "Longer than 5 minutes")]


def practice_rows(month: dt.date, n: int = 6, seed: int = 0, unassigned: int = 2) -> list[dict]:
    """Invented practices' figures: outcomes sharing out the inbound calls (one practice's
    outcomes do not add up, as in the publication), bands sharing out answered and missed."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n + unassigned):
        un = i >= n
        inbound = int(rng.integers(1500, 9000))
        ans, ivr, cb, miss = (rng.dirichlet([55, 26, 8, 11]) * inbound).astype(int)
        if i == 1:
            miss += 17  # a supplier's count that does not add up
        row = {
            "month": month,
            "practice_id": "Unassigned" if un else f"A99{i + 1:03d}",
            "practice_name": "Unmapped" if un else f"Invented  Surgery {i + 1}",  # double space, as published
            "pcn_code": None if un else f"U99{i // 3:03d}",
            "pcn_name": None if un else f"Invented PCN {i // 3}",
            "sub_icb_code": "99X" if i % 2 == 0 else "99Y",
            "sub_icb_name": "NHS Invented Sub ICB",
            "icb_code": "Q99",
            "icb_name": "NHS Invented Integrated Care Board",
            "region_code": None if (un and i % 2) else "Y99",
            "region_name": "Unmapped" if (un and i % 2) else "Invented Region",
            "inbound_calls": inbound, "answered": int(ans), "ended_ivr": int(ivr), "callback_requested": int(cb),
            "missed": int(miss), "callback_made": int(cb * rng.uniform(0.7, 1.0)),
        }
        for kind, total in (("answer", ans), ("length", ans), ("missed", miss)):
            parts = rng.multinomial(total, rng.dirichlet([4, 3, 2, 1]))
            row.update({f"{kind}_{b}": int(v) for (b, _), v in zip(BANDS, parts)})
        rows.append(row)
    return rows


def _title(ws, lines):
    for text in lines:
        ws.append([text])
    ws.append([])


def _keys(row: dict, month_cell) -> list:
    return [month_cell, row["practice_id"], row["practice_name"], row["pcn_code"], row["pcn_name"], row["sub_icb_code"],
            row["sub_icb_name"], row["icb_code"], row["icb_name"], row["region_code"], row["region_name"]]


def _pct(part, whole):
    return round(part / whole, 4) if whole else None


def _notes(ws):
    ws.append([])
    ws.append(["Notes"])
    ws.append(["[1] Month the calls were made in."])
    ws.append(["[2] Organisation codes as at the start of the month."])
    ws.append(["Copyright © NHS England 2026. Invented figures for tests."])


def write_cbt_workbook(path, rows: list[dict], month_label: str = "January 2026", month_cell=None,
                       split_table_4: bool = False) -> None:
    """Write ``rows`` (:func:`practice_rows`) as a publication workbook at ``path``."""
    month = rows[0]["month"]
    month_cell = month_cell if month_cell is not None else dt.datetime(month.year, month.month, 1)
    total = {k: sum(r[k] for r in rows) for k in rows[0] if isinstance(rows[0][k], int)}
    total_row = {**{k: None for k in rows[0]}, **total, "practice_id": "Total"}
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Title sheet"
    _title(ws, ["Cloud Based Telephony data in General Practice", month_label, "Official statistics in development"])
    dq = wb.create_sheet("Data Quality")
    _title(dq, ["Data Quality", "Coverage: practices whose supplier sent data."])
    t1 = wb.create_sheet("Table 1")
    _title(t1, [f"Table 1: National summary, {month_label}"])
    t1.append(["Group", "Measure", "Value"])
    t1.append(["Inbound calls", "Total Inbound Calls", total["inbound_calls"]])
    t1.append(["Inbound calls", "Rate of inbound calls per 1,000 patients", 590.1])
    t2 = wb.create_sheet("Table 2")
    _title(t2, [f"Table 2: Inbound calls by date and time band, {month_label}"])
    t2.append(["Date", "00:00 - 05:59", "06:00 - 07:59", "08:00 - 09:59", "Total"])
    t2.append([month_cell, 10, 20, 300, 330])

    t3 = wb.create_sheet("Table 3")
    _title(t3, [f"Table 3: Inbound calls by outcome, by GP practice, {month_label}", "Source: NHS England"])
    top = KEYS + ["Count of Inbound calls"]
    for _, label in OUTCOMES:
        top += [label, None]
    t3.append(top)
    t3.append([None] * len(KEYS) + ["Total"] + ["Count", "%"] * len(OUTCOMES))
    col = len(KEYS) + 2
    for _ in OUTCOMES:  # merged group labels, as the publication has them
        t3.merge_cells(start_row=t3.max_row - 1, start_column=col, end_row=t3.max_row - 1, end_column=col + 1)
        col += 2
    for r in [total_row] + rows:
        line = _keys(r, month_cell if r is not total_row else None) + [r["inbound_calls"]]
        for k, _ in OUTCOMES:
            line += [r[k], _pct(r[k], r["inbound_calls"])]
        t3.append(line)
    _notes(t3)

    def band_sheet(ws, title, groups):
        _title(ws, [title, "Source: NHS England"])
        first = KEYS[:]
        second = [None] * len(KEYS)
        third = [None] * len(KEYS)
        for group, _kind in groups:
            first += [group] + [None] * (1 + 2 * len(BANDS))
            second += ["Total", None] + [b for _, label in BANDS for b in (label, None)]
            third += ["Count", "%"] + ["Count", "%"] * len(BANDS)
        ws.append(first)
        ws.append(second)
        ws.append(third)
        for r in [total_row] + rows:
            line = _keys(r, month_cell if r is not total_row else None)
            for _group, kind in groups:
                whole = r["missed"] if kind == "missed" else r["answered"]
                line += [whole, 1.0 if whole else None]
                for b, _ in BANDS:
                    v = r[f"{kind}_{b}"]
                    line += [v, _pct(v, whole)]
            ws.append(line)
        _notes(ws)

    answer = ("Answered calls by time to answer", "answer")
    length = ("Answered calls by call length", "length")
    if split_table_4:
        band_sheet(wb.create_sheet("Table 4a"), f"Table 4a: time to answer, by GP practice, {month_label}", [("Answered calls", "answer")])
        band_sheet(wb.create_sheet("Table 4b"), f"Table 4b: call length, by GP practice, {month_label}", [("Answered calls", "length")])
    else:
        band_sheet(wb.create_sheet("Table 4"), f"Table 4: Answered calls by GP practice, {month_label}", [answer, length])
    band_sheet(wb.create_sheet("Table 5"), f"Table 5: Missed calls by time waited, by GP practice, {month_label}",
               [("Missed calls", "missed")])
    wb.save(path)
