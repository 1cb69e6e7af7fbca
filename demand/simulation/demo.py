"""The demo federation: simulated practices written as real export files, then ingested.

:func:`write_demo` runs the simulation (:mod:`demand.simulation.population`) for three practices on three
phone systems and two clinical systems and writes what those systems would export:

====== =========================== ======================= =====================================
ODS    practice (list size)        calls                   appointments
====== =========================== ======================= =====================================
A81001 Example Street Surgery (6k) Asterisk ``queue_log``  EMIS-style Appointment Slot Report
                                   (native, one file)      (one CSV a month)
A81002 Sample Road Medical Centre  3CX web client Call     EMIS-style Appointment Slot Report
       (9k)                        Reports (CSV a month)
A81003 Specimen Lane Health Centre X-on Surgery Connect    SystmOne-style appointment report
       (12k)                       call report (CSV a      (CSV a month)
                                   month, X-on's words)
all    GPAD practice-level monthly CSV (one file a whole month, every practice in it)
====== =========================== ======================= =====================================

:func:`run_demo` then ingests every file through the normal ingest path
(:func:`telephony.ingest.ingest_file`, the appointment ingest) into ``OUT/store`` and writes the
practices registry.

The simulation is calibrated to England's cloud telephony (CBT) figures for January 2026
(:data:`demand.simulation.population.ENGLAND_QUEUE`). ``run_demo(n_practices=N)`` simulates a
larger federation in PCNs (:mod:`demand.simulation.federation`), and ``national_practices``
adds a national CBT-style table of invented practices (:mod:`demand.simulation.national`).

What each system can say
------------------------
The exports say only what the real systems say, so the store holds what a practice would see,
not the simulation's truth (:data:`EXPORTED_OUTCOMES`):

- Asterisk's queue_log logs queues only: callers who hang up during the IVR message or ring
  when closed never reach a queue and are not in it.
- The 3CX practice offers no call-backs (as configured in
  :func:`demand.simulation.population.default_federation`). Its Call Reports CSV says "Out of Office
  Hours" for a call that heard the closed message (``closed``) and "Abandoned in IVR" for a
  caller who hung up during the message, and would say "Callback Requested" for the others,
  with the call-backs made as Outbound rows: words Frontdoor's 3CX parser knows but that are
  unverified against a real 3CX download (see :mod:`telephony.formats.threecx`).
- X-on calls a queued caller who hung up "Missed" (as it calls a timeout): both are ``missed``
  in the store. X-on's "Abandoned" is a hang-up before any queue (``ivr_abandoned``).

Phone numbers
-------------
Every number is in Ofcom's ranges reserved for drama (07700 900000-900999, 01632
960000-960999, 020 7946 0000-0999): 3,000 numbers. The first ten 01632 numbers are the
practices' own; the other 2,990 are dealt, in a fixed shuffled order, to the practices in
three disjoint pools of 996-997 (each mixing mobile and landline ranges). A practice has more distinct callers in a year than
that, so numbers are reused: a number stands for one patient within a day, and a patient who
rang recently (the last four days, so "ring tomorrow" over a weekend) keeps it when they ring
again; otherwise a number is given afresh each day and may belong to another patient on
another day. Caller metrics over days or weeks therefore undercount distinct people.
"""

from __future__ import annotations

import datetime as _dt
import json
import shutil
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from telephony.errors import FrontdoorError
from telephony.ingest import ingest_file
from telephony.practices import update_registry, write_practices
from telephony.store import open_store

from demand.appointments.ingest import ingest_appointment_file
from demand.national.cbt import write_national_cbt
from demand.simulation.engine import SimulationError
from demand.simulation.federation import federation_practices, federation_registry
from demand.simulation.national import cbt_from_simulation, simulate_national_cbt
from demand.simulation.population import (
    DEFAULT_START,
    PracticeParams,
    build_book,
    default_federation,
    gpad_monthly,
    same_day_bookings,
    simulate_appointments,
    simulate_calls,
)

__all__ = [
    "DemoFile",
    "Demo",
    "DemoResult",
    "SYSTEMS",
    "EXPORTED_OUTCOMES",
    "drama_numbers",
    "caller_numbers",
    "exported_calls",
    "practices_frame",
    "write_demo",
    "run_demo",
    "demo_months",
    "write_demo_national",
]

TZ = "Europe/London"
MARKER = "frontdoor-demo.json"
DEFAULT_SEED = 1

# Phone system and clinical system of each demo practice; the call format name is the ingest's.
SYSTEMS: dict[str, dict[str, str]] = {
    "A81001": {"calls": "asterisk_queue_log", "appointments": "emis_appointments", "clinical": "EMIS"},
    "A81002": {"calls": "threecx_report", "appointments": "emis_appointments", "clinical": "EMIS"},
    "A81003": {"calls": "xon_surgery_connect", "appointments": "systmone_appointments", "clinical": "TPP"},
}
PHONE_SYSTEM_NAMES = {
    "asterisk_queue_log": "Asterisk (queue_log)",
    "threecx_report": "3CX",
    "xon_surgery_connect": "X-on Surgery Connect",
}

# Simulated outcome -> the outcome the export makes of it once ingested; None: not in the export.
EXPORTED_OUTCOMES: dict[str, dict[str, str | None]] = {
    "asterisk_queue_log": {
        "answered": "answered", "abandoned": "abandoned", "missed": "missed", "callback": "callback",
        "ivr_abandoned": None, "closed": None,
    },
    "threecx_report": {
        "answered": "answered", "abandoned": "abandoned", "missed": "missed", "callback": "callback",
        "ivr_abandoned": "ivr_abandoned", "closed": "closed",
    },
    "xon_surgery_connect": {
        "answered": "answered", "abandoned": "missed", "missed": "missed", "callback": "callback",
        "ivr_abandoned": "ivr_abandoned", "closed": "closed",
    },
}

ProgressFn = Callable[[str], None]


class DemoError(FrontdoorError):
    """The demo cannot be written where asked, or its parameters cannot be exported."""


# ============================================================================ phone numbers


def drama_numbers() -> list[str]:
    """All 3,000 Ofcom drama numbers, national format: 07700 900xxx, 01632 960xxx, 020 7946 0xxx."""
    return (
        [f"07700900{i:03d}" for i in range(1000)]
        + [f"01632960{i:03d}" for i in range(1000)]
        + [f"0207946{i:04d}" for i in range(1000)]
    )


#: Numbers in a practice's caller pool when the federation is larger than three practices.
POOL_SIZE = 996


def _pools(n_practices: int) -> tuple[list[str], list[list[str]]]:
    """The practices' own numbers and caller pools mixing the three ranges.

    Up to three practices get disjoint pools (2,990 numbers dealt in turn). A larger federation
    cannot: each practice gets :data:`POOL_SIZE` consecutive numbers of the shuffled list, the
    windows evenly spaced round it, so neighbouring practices share some numbers (as if a few
    people rang two practices; caller metrics are per practice, so nothing is double-counted).
    """
    nums = drama_numbers()
    own = nums[1000:1010]
    rest = nums[:1000] + nums[1010:]
    # Dealt in a fixed shuffled order, so each pool mixes mobiles and landlines.
    order = np.random.default_rng(20250106).permutation(len(rest))
    mixed = [rest[i] for i in order]
    if n_practices <= 3:
        return own, [mixed[k::n_practices] for k in range(n_practices)]
    step = len(mixed) / n_practices
    ring = mixed + mixed
    return own, [ring[int(k * step): int(k * step) + POOL_SIZE] for k in range(n_practices)]


def caller_numbers(calls: pd.DataFrame, pool: list[str], seed: int, keep_days: int = 4) -> np.ndarray:
    """A drama number for each call's caller (``None`` when the caller withholds it).

    Parameters
    ----------
    calls : pandas.DataFrame
        :func:`demand.simulation.population.simulate_calls` output (``date``, ``caller``, ``withheld``).
    pool : list of str
        The numbers this practice may use.
    seed : int
    keep_days : int
        A patient who rang within this many days keeps the number they had.

    Returns
    -------
    numpy.ndarray of object

    Raises
    ------
    DemoError
        When a day has more distinct callers than the pool has numbers.

    Notes
    -----
    Within a day each patient has one number and no two patients share one. Patients seen in
    the last ``keep_days`` days keep theirs where it is still free today (most recent first);
    everyone else draws from the free numbers in a shuffled order.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7919]))
    out = np.full(len(calls), None, dtype=object)
    seen: dict[int, tuple[str, int]] = {}  # patient -> (number, day index last seen)
    dates = calls["date"].to_numpy()
    callers = calls["caller"].to_numpy()
    withheld = calls["withheld"].to_numpy(dtype=bool)
    groups = pd.Series(np.arange(len(calls))).groupby(dates, sort=True).indices
    day0 = min(groups) if groups else None
    for day in sorted(groups):
        idx = groups[day]
        k = (day - day0).days
        vis = idx[~withheld[idx]]
        patients = list(dict.fromkeys(callers[vis].tolist()))
        if len(patients) > len(pool):
            raise DemoError(
                f"{day}: {len(patients)} callers but only {len(pool)} drama numbers for the practice; "
                "use smaller list sizes for the demo"
            )
        today: dict[int, str] = {}
        used: set[str] = set()
        recent = sorted((p for p in patients if p in seen and k - seen[p][1] <= keep_days), key=lambda p: -seen[p][1])
        for p in recent:
            num = seen[p][0]
            if num not in used:
                today[p] = num
                used.add(num)
        free = [pool[i] for i in rng.permutation(len(pool)) if pool[i] not in used]
        it = iter(free)
        for p in patients:
            if p not in today:
                today[p] = next(it)
        for p, num in today.items():
            seen[p] = (num, k)
        out[vis] = [today[p] for p in callers[vis].tolist()]
    return out


# ============================================================================ formatting helpers


def _parts(ts: pd.Series) -> tuple[np.ndarray, ...]:
    t = pd.to_datetime(ts)
    return (t.dt.year.to_numpy(), t.dt.month.to_numpy(), t.dt.day.to_numpy(), t.dt.hour.to_numpy(),
            t.dt.minute.to_numpy(), t.dt.second.to_numpy())


def _dmy_hms(ts: pd.Series) -> list[str]:
    """``DD/MM/YYYY HH:MM:SS`` (fast: strftime on 100k rows is slow)."""
    y, m, d, hh, mm, ss = _parts(ts)
    return [f"{a:02d}/{b:02d}/{c:04d} {e:02d}:{f:02d}:{g:02d}" for a, b, c, e, f, g in zip(d, m, y, hh, mm, ss)]


def _dmy_hm(ts: pd.Series) -> list[str]:
    y, m, d, hh, mm, _ = _parts(ts)
    return [f"{a:02d}/{b:02d}/{c:04d} {e:02d}:{f:02d}" for a, b, c, e, f in zip(d, m, y, hh, mm)]


def _hms(seconds) -> list[str]:
    s = np.round(np.nan_to_num(np.asarray(seconds, dtype=float), nan=0.0)).astype(np.int64)
    return [f"{x // 3600:02d}:{x % 3600 // 60:02d}:{x % 60:02d}" for x in s]


def _epoch(ts: pd.Series) -> np.ndarray:
    """Epoch seconds (UTC) of local wall-clock times, truncated to the second."""
    local = pd.to_datetime(ts).dt.floor("s").dt.tz_localize(TZ, ambiguous=True, nonexistent="shift_forward")
    return (local.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[s]").astype(np.int64))


def _write_text(path: Path, lines: list[str], bom: bool = False, newline: str = "\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = newline.join(lines) + newline
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        fh.write(text)


def _csv_cell(v: str) -> str:
    return f'"{v}"' if ("," in v or '"' in v) else v


# ============================================================================ call exports


def exported_calls(calls: pd.DataFrame, fmt: str) -> pd.DataFrame:
    """The simulated calls a phone system's export holds, with the outcome it gives them.

    Returns
    -------
    pandas.DataFrame
        The rows of ``calls`` the export has, with ``outcome`` replaced by what the ingest
        reads from it (:data:`EXPORTED_OUTCOMES`; outbound call-backs keep theirs).

    Raises
    ------
    DemoError
        For a simulated outcome the export cannot express (a parameter set the system does not
        support, such as call-backs on the 3CX practice).
    """
    table = EXPORTED_OUTCOMES[fmt]
    inbound = calls["direction"].to_numpy() == "inbound"
    odd = sorted(set(calls.loc[inbound, "outcome"]) - set(table))
    if odd:
        raise DemoError(f"{fmt} exports cannot express simulated outcome(s) {', '.join(odd)}; change the practice's parameters")
    mapped = calls["outcome"].map(table).where(inbound, calls["outcome"])
    keep = mapped.notna().to_numpy()
    out = calls.loc[keep].copy()
    out["outcome"] = mapped[keep].to_numpy()
    return out


def _write_queue_log(path: Path, calls: pd.DataFrame, numbers: np.ndarray, params: PracticeParams) -> None:
    """Asterisk's native queue_log: ``epoch|callid|queue|agent|EVENT|data1|...``."""
    keep = calls["outcome"].isin(["answered", "abandoned", "missed", "callback"]).to_numpy()
    c = calls.loc[keep]
    num = numbers[keep]
    n = len(c)
    inbound = (c["direction"] == "inbound").to_numpy()
    start = np.where(inbound, _epoch(c["enter_local"].where(inbound, c["start_local"])), _epoch(c["start_local"]))
    wait = np.round(np.nan_to_num(c["wait_s"].to_numpy(float))).astype(np.int64)
    talk = np.round(c["talk_s"].to_numpy(float)).astype(np.int64)
    pos = c["position"].to_numpy()
    agent = c["agent"].to_numpy()
    outcome = c["outcome"].to_numpy()
    queue = c["line"].to_numpy()
    events: list[tuple[int, int, int, str]] = []  # (epoch, order, k, line)
    for k in range(n):
        t0 = int(start[k])
        cid = f"{t0}.{k}"
        q = queue[k]
        member = f"PJSIP/{201 + int(agent[k])}" if agent[k] >= 0 else "NONE"
        who = num[k] if num[k] is not None else "anonymous"
        if inbound[k]:
            events.append((t0, 0, k, f"{t0}|{cid}|{q}|NONE|ENTERQUEUE||{who}|{pos[k]}"))
            t1 = t0 + int(wait[k])
            if outcome[k] == "answered":
                ring = min(int(wait[k]), 4)
                events.append((t1, 1, k, f"{t1}|{cid}|{q}|{member}|CONNECT|{wait[k]}|{t1}.{k}|{ring}"))
                t2 = t1 + int(talk[k])
                ev = "COMPLETECALLER" if k % 3 else "COMPLETEAGENT"
                events.append((t2, 2, k, f"{t2}|{cid}|{q}|{member}|{ev}|{wait[k]}|{talk[k]}|{pos[k]}"))
            elif outcome[k] == "abandoned":
                events.append((t1, 2, k, f"{t1}|{cid}|{q}|NONE|ABANDON|{max(1, pos[k] - 1)}|{pos[k]}|{wait[k]}"))
            elif outcome[k] == "missed":
                events.append((t1, 2, k, f"{t1}|{cid}|{q}|NONE|EXITWITHTIMEOUT|1|{pos[k]}|{wait[k]}"))
            else:  # callback: the caller pressed 1 for a call-back
                events.append((t1, 2, k, f"{t1}|{cid}|{q}|NONE|EXITWITHKEY|1|{max(1, pos[k] - 1)}|{pos[k]}|{wait[k]}"))
        else:  # the call-back made: QueueMetrics-style outbound call
            events.append((t0, 0, k, f"{t0}|{cid}|{q}|{member}|CALLOUTBOUND||{who}"))
            t1 = t0 + int(wait[k])
            if outcome[k] == "answered":
                events.append((t1, 1, k, f"{t1}|{cid}|{q}|{member}|CONNECT|{wait[k]}|{t1}.{k}|{wait[k]}"))
                t2 = t1 + int(talk[k])
                events.append((t2, 2, k, f"{t2}|{cid}|{q}|{member}|COMPLETEAGENT|{wait[k]}|{talk[k]}|1"))
            else:
                events.append((t1, 2, k, f"{t1}|{cid}|{q}|{member}|EXITWITHTIMEOUT|1|1|{wait[k]}"))
    # Members join the queues before opening and leave after closing each working day.
    days = calls.loc[calls["outcome"] != "closed", "date"].drop_duplicates()
    for day in days:
        n_h = max(params.weekday_rota(day.weekday()))
        t_in = int(_epoch(pd.Series([pd.Timestamp(day) + pd.Timedelta(minutes=475)]))[0])
        t_out = int(_epoch(pd.Series([pd.Timestamp(day) + pd.Timedelta(minutes=1125)]))[0])
        for h in range(n_h):
            for q in ("appointments", "prescriptions", "enquiries"):
                events.append((t_in, -1, -1, f"{t_in}|NONE|{q}|PJSIP/{201 + h}|ADDMEMBER|"))
                events.append((t_out, 3, 10**9, f"{t_out}|NONE|{q}|PJSIP/{201 + h}|REMOVEMEMBER|"))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    _write_text(path, [e[3] for e in events])


_3CX_QUEUES = {"appointments": "Appointments (800)", "prescriptions": "Prescriptions (801)", "enquiries": "Enquiries (802)"}
# Unverified words for closed, callback and ivr_abandoned: those telephony.formats.threecx reads.
_3CX_STATUS = {"answered": "Answered", "abandoned": "Abandoned", "missed": "Unanswered", "closed": "Out of Office Hours",
               "callback": "Callback Requested", "ivr_abandoned": "Abandoned in IVR"}


def _write_threecx(folder: Path, calls: pd.DataFrame, numbers: np.ndarray, own: str) -> list[Path]:
    """3CX web client Call Reports, one CSV a month, newest call first (as downloaded).

    Call-backs made are Outbound rows from the handler's extension; calls that never reached
    a queue (closed message, IVR hang-up) are Inbound rows to the practice's number.
    """
    header = "Call Time,Call ID,From,To,Direction,Status,Ringing,Talking,Cost,Call Activity Details"
    t = _dmy_hms(calls["start_local"])
    ring, talk = _hms(calls["wait_s"]), _hms(calls["talk_s"])
    outcome = calls["outcome"].to_numpy()
    line = calls["line"].to_numpy()
    names = calls["agent_name"].to_numpy()
    agent = calls["agent"].to_numpy()
    own_sp = f"{own[:5]} {own[5:]}"
    call_no = calls["call_no"].to_numpy()
    inbound = (calls["direction"] == "inbound").to_numpy()
    rows = []
    for k in range(len(calls)):
        cid = f"{0x19C00000000 + int(call_no[k]):016X}_{k % 90 + 10}"
        frm = numbers[k] if numbers[k] is not None else "Anonymous"
        o = outcome[k]
        if not inbound[k]:  # a call-back: the handler rings the patient
            ext = f"{names[k]} ({201 + int(agent[k])})"
            status = "Answered" if o == "answered" else "Unanswered"
            detail = f"Outbound call to {frm} {'answered' if o == 'answered' else 'not answered'}"
            rows.append(f"{t[k]},{cid},{ext},{frm},Outbound,{status},{ring[k]},{talk[k]},0.00,{detail}")
            continue
        if o == "closed":
            to, direction, detail = f"Out of hours ({own_sp})", "Inbound", "Office hours closed message played"
        elif o == "ivr_abandoned":
            to, direction, detail = f"Main IVR ({own_sp})", "Inbound", "Caller hung up in IVR"
        else:
            to, direction = _3CX_QUEUES[line[k]], "Inbound Queue"
            if o == "answered":
                detail = f"Inbound call answered by {names[k]} ({201 + int(agent[k])})"
            elif o == "abandoned":
                detail = f"Caller hung up in queue {to}"
            elif o == "callback":
                detail = f"Caller requested a callback in queue {to}"
            else:
                detail = f"Queue timeout {to}"
        rows.append(f"{t[k]},{cid},{frm},{to},{direction},{_3CX_STATUS[o]},{ring[k]},{talk[k]},0.00,{detail}")
    return _monthly(folder, "CallReport_{m}.csv", calls["start_local"], rows, header, newest_first=True)


_XON_RESULT = {"answered": "Answered", "abandoned": "Missed", "missed": "Missed", "callback": "Callback Requested",
               "ivr_abandoned": "Abandoned"}
_XON_QUEUES = {"appointments": "Appointments", "prescriptions": "Prescriptions", "enquiries": "Enquiries"}


def _write_xon(folder: Path, calls: pd.DataFrame, numbers: np.ndarray, own: str, open_days: set) -> list[Path]:
    """X-on Surgery Connect call reports, one CSV (UTF-8 with BOM) a month, in X-on's words."""
    header = "Date/Time,Call ID,Caller Number,Dialled Number,Queue,Result,Wait Time,Talk Time,Answered By"
    t = _dmy_hms(calls["start_local"])
    wait, talk = _hms(calls["wait_s"]), _hms(calls["talk_s"])
    outcome = calls["outcome"].to_numpy()
    inbound = (calls["direction"] == "inbound").to_numpy()
    line = calls["line"].to_numpy()
    names = calls["agent_name"].to_numpy()
    dates = calls["date"].to_numpy()
    call_no = calls["call_no"].to_numpy()
    rows = []
    for k in range(len(calls)):
        cid = f"XON-{int(call_no[k]) + 1:07d}"
        num = numbers[k] if numbers[k] is not None else "Withheld"
        o = outcome[k]
        if not inbound[k]:
            who = names[k] if o == "answered" else ""
            rows.append(f"{t[k]},{cid},{own},{num},,Outbound,{wait[k]},{talk[k]},{who}")
        elif o == "closed":
            word = "Out of Hours" if dates[k] in open_days else "Closed"
            rows.append(f"{t[k]},{cid},{num},{own},,{word},,,")
        elif o == "ivr_abandoned":
            rows.append(f"{t[k]},{cid},{num},{own},,Abandoned,,,")
        else:
            who = names[k] if o == "answered" else ""
            tk = talk[k] if o == "answered" else "00:00:00"
            rows.append(f"{t[k]},{cid},{num},{own},{_XON_QUEUES[line[k]]},{_XON_RESULT[o]},{wait[k]},{tk},{who}")
    return _monthly(folder, "SurgeryConnect_CallReport_{m}.csv", calls["start_local"], rows, header, bom=True)


def _monthly(
    folder: Path, pattern: str, when: pd.Series, rows: list[str], header: str | list[str],
    newest_first: bool = False, bom: bool = False, newline: str = "\n",
) -> list[Path]:
    """Write ``rows`` to one file per calendar month of ``when`` (the rows' local times)."""
    month = pd.to_datetime(when).dt.strftime("%Y-%m").to_numpy()
    order = np.argsort(pd.to_datetime(when).to_numpy(), kind="stable")
    if newest_first:
        order = order[::-1]
    heads = [header] if isinstance(header, str) else header
    paths = []
    by_month: dict[str, list[str]] = {}
    for i in order:
        by_month.setdefault(month[i], []).append(rows[i])
    for m in sorted(by_month):
        p = folder / pattern.format(m=m)
        lines = [h.format(m=m) if "{m}" in h else h for h in heads] + by_month[m]
        _write_text(p, lines, bom=bom, newline=newline)
        paths.append(p)
    return paths


# ============================================================================ appointment exports

_EMIS_ROLE = {"ANP": "Advanced Nurse Practitioner", "nurse": "Practice Nurse", "HCA": "Healthcare Assistant",
              "pharmacist": "Clinical Pharmacist", "paramedic": "Paramedic Practitioner"}
_EMIS_GP = {"partner": "GP Partner", "salaried": "Salaried GP", "registrar": "GP Registrar", "locum": "Locum GP"}
_EMIS_STATUS = {"available": "Slot Available", "attended": "Finished", "dna": "Did Not Attend",
                "cancelled": "Cancelled by Patient", "booked": "Booked"}
_EMIS_MODE = {"face_to_face": "Face to Face", "telephone": "Telephone", "video": "Video Conference", "home_visit": "Home Visit"}
_S1_ROLE = {"ANP": "Advanced Nurse Practitioner", "nurse": "Practice Nurse", "HCA": "Health Care Assistant",
            "pharmacist": "Pharmacist", "paramedic": "Paramedic"}
_S1_GP = {"partner": "GP", "salaried": "GP", "registrar": "GP Registrar", "locum": "GP Locum"}
_S1_STATUS = {"available": "Available", "attended": "Finished", "dna": "Did Not Attend",
              "cancelled": "Cancelled By Patient", "booked": "Booked"}
_S1_MODE = {"face_to_face": "Face To Face", "telephone": "Telephone", "video": "Video", "home_visit": "Home Visit"}


def _practice_digit(practice_id: str) -> int:
    return int(practice_id[-1]) if practice_id[-1].isdigit() else zlib.crc32(practice_id.encode()) % 10


def _emis_slot_type(role: str, category: str, slot_no: int) -> str:
    if category == "same_day":
        return "Same Day" if role == "GP" else "Urgent On The Day"
    if role in ("nurse", "HCA"):
        return "Routine"
    return "Online Bookable" if slot_no % 5 == 0 else "Pre-Bookable"


def _write_emis(folder: Path, appts: pd.DataFrame) -> list[Path]:
    """EMIS-style Appointment Slot Reports, one a month, with the two report lines above."""
    pid = appts["practice_id"].iat[0] if len(appts) else "A00000"
    dig = _practice_digit(pid)
    date = _dmy_hm(appts["start_local"])
    booked = appts["booked_local"]
    bk = _dmy_hm(booked.fillna(pd.Timestamp("2000-01-01")))
    has_b = booked.notna().to_numpy()
    rows = []
    cols = zip(appts["slot_no"], appts["duration_min"], appts["clinician"], appts["role"], appts["grade"],
               appts["category"], appts["status"], appts["mode"], appts["patient"])
    for k, (no, dur, who, role, grade, cat, st, mode, pat) in enumerate(cols):
        d, hm = date[k].split(" ")
        role_w = _EMIS_GP[grade] if role == "GP" else _EMIS_ROLE[role]
        free = st == "available"
        # The session holder on every slot, as slot reports show it (the capacity is theirs);
        # booking date, patient and delivery only on booked slots.
        rows.append(
            f"E{dig}{no:07d},{d},{hm},{dur},{who},{role_w},{_emis_slot_type(role, cat, no)},{_EMIS_STATUS[st]},"
            f"{bk[k] if has_b[k] and not free else ''},{'' if free else f'P{dig}{pat:06d}'},{'' if free else _EMIS_MODE[mode]}"
        )
    header = "Slot ID,Session Date,Slot Time,Duration,Session Holder,Holder Role,Slot Type,Slot Status,Booked Date,Patient ID,Delivery Mechanism"

    def printed(m: str) -> str:
        nxt = (pd.Period(m, "M") + 1).start_time
        return f"Printed {nxt:%d/%m/%Y} 09:14 by practice manager"

    return _monthly_with(folder, "Appointment_Slot_Report_{m}.csv", appts["start_local"], rows,
                         lambda m: ["Appointment Slot Report", printed(m), header], newline="\r\n")


def _write_systmone(folder: Path, appts: pd.DataFrame) -> list[Path]:
    """SystmOne-style appointment reports, one CSV a month, no preamble."""
    start = _dmy_hm(appts["start_local"])
    end = _dmy_hm(pd.to_datetime(appts["start_local"]) + pd.to_timedelta(appts["duration_min"], unit="m"))
    booked = appts["booked_local"]
    bk = _dmy_hms(booked.fillna(pd.Timestamp("2000-01-01")))
    has_b = booked.notna().to_numpy()
    rows = []
    cols = zip(appts["slot_no"], appts["clinician"], appts["role"], appts["grade"], appts["category"],
               appts["status"], appts["mode"], appts["patient"])
    for k, (no, who, role, grade, cat, st, mode, pat) in enumerate(cols):
        d, t0 = start[k].split(" ")
        t1 = end[k].split(" ")[1]
        role_w = _S1_GP[grade] if role == "GP" else _S1_ROLE[role]
        if cat == "same_day":
            stype = "Embargoed" if role == "GP" else "Urgent"
        else:
            stype = "Routine" if role in ("nurse", "HCA") else "Pre-bookable"
        free = st == "available"
        rows.append(
            f"S-{no + 100001},{d},{t0},{t1},{who},{role_w},{stype},{_S1_MODE[mode]},{_S1_STATUS[st]},"
            f"{bk[k] if has_b[k] and not free else ''},{'' if free else f'R{pat:06d}'}"
        )
    header = "Appointment ID,Date,Start Time,End Time,Clinician,Staff Role,Slot Type,Consultation Type,Status,Booked Date,Patient ID"
    return _monthly(folder, "Appointments_{m}.csv", appts["start_local"], rows, header)


def _monthly_with(folder: Path, pattern: str, when: pd.Series, rows: list[str], heads, newline: str = "\n") -> list[Path]:
    month = pd.to_datetime(when).dt.strftime("%Y-%m").to_numpy()
    order = np.argsort(pd.to_datetime(when).to_numpy(), kind="stable")
    by_month: dict[str, list[str]] = {}
    for i in order:
        by_month.setdefault(month[i], []).append(rows[i])
    paths = []
    for m in sorted(by_month):
        p = folder / pattern.format(m=m)
        _write_text(p, heads(m) + by_month[m], newline=newline)
        paths.append(p)
    return paths


GPAD_HEADER = (
    "APPOINTMENT_MONTH_START_DATE,GP_CODE,GP_NAME,SUPPLIER,PCN_CODE,PCN_NAME,SUB_ICB_LOCATION_CODE,"
    "SUB_ICB_LOCATION_NAME,HCP_TYPE,APPT_MODE,NATIONAL_CATEGORY,TIME_BETWEEN_BOOK_AND_APPT,"
    "COUNT_OF_APPOINTMENTS,APPT_STATUS"
)


def _write_gpad(folder: Path, appts: list[pd.DataFrame], practices: list[PracticeParams], first: _dt.date, last: _dt.date,
                systems: Mapping[str, Mapping[str, str]] | None = None) -> list[Path]:
    """GPAD practice-level monthly CSVs: one file a whole month simulated, all practices in it."""
    counts = pd.concat([gpad_monthly(a) for a in appts], ignore_index=True)
    meta = {p.practice_id: p for p in practices}
    m0 = pd.Period(first, "M") + (0 if first.day == 1 else 1)
    m1 = pd.Period(last, "M") - (0 if (last + _dt.timedelta(1)).day == 1 else 1)
    paths = []
    for per in pd.period_range(m0, m1, freq="M"):
        month = per.start_time.date()
        sub = counts[counts["month"] == month]
        lines = [GPAD_HEADER]
        for r in sub.itertuples(index=False):
            p = meta[r.practice_id]
            supplier = "TPP" if _systems_of(p.practice_id, systems).get("clinical") == "TPP" else "EMIS"
            lines.append(
                ",".join(
                    [
                        f"{month:%d}{month.strftime('%b').upper()}{month:%Y}", p.practice_id, _csv_cell(p.name.upper()),
                        supplier, p.pcn_code, _csv_cell(p.pcn_name.upper()), "99X",
                        "NHS EXAMPLE ICB - 99X", r.hcp_type, r.appt_mode, r.national_category,
                        r.time_between_book_and_appt, str(int(r.count)), r.appt_status,
                    ]
                )
            )
        path = folder / f"Practice_Level_Crosstab_{per.strftime('%b_%y')}.csv"
        _write_text(path, lines)
        paths.append(path)
    return paths


# ============================================================================ the demo


@dataclass
class DemoFile:
    """One export written by :func:`write_demo`."""

    path: Path
    practice_id: str | None  # None: a file of several practices (GPAD)
    kind: str  # "calls", "appointments" or "gpad"
    fmt: str


@dataclass
class Demo:
    """What :func:`write_demo` wrote, with the simulated truth behind it."""

    out_dir: Path
    files: list[DemoFile]
    practices: tuple[PracticeParams, ...]
    calls: dict[str, pd.DataFrame] = field(default_factory=dict)
    appointments: dict[str, pd.DataFrame] = field(default_factory=dict)
    start_date: _dt.date = DEFAULT_START
    weeks: int = 56
    seed: int = DEFAULT_SEED

    @property
    def exports(self) -> Path:
        return self.out_dir / "exports"


@dataclass
class DemoResult:
    """What :func:`run_demo` did: the files, the ingests, where the store is."""

    demo: Demo
    store: Path
    call_results: list = field(default_factory=list)
    appointment_results: list = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # why some files were not ingested


def _systems_of(practice_id: str, systems: Mapping[str, Mapping[str, str]] | None = None) -> Mapping[str, str]:
    """A practice's call and appointment formats and clinical system (X-on and SystmOne if unknown)."""
    if systems is not None and practice_id in systems:
        return systems[practice_id]
    return SYSTEMS.get(practice_id, {"calls": "xon_surgery_connect", "appointments": "systmone_appointments", "clinical": "TPP"})


def practices_frame(
    practices: tuple[PracticeParams, ...] | list[PracticeParams],
    systems: Mapping[str, Mapping[str, str]] | None = None,
    features: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The practices registry rows of the demo federation (:func:`telephony.practices.write_practices`).

    Parameters
    ----------
    practices : sequence of PracticeParams
    systems : mapping, optional
        Per practice ``calls``/``appointments`` formats and ``clinical`` system (default
        :data:`SYSTEMS`).
    features : pandas.DataFrame, optional
        Registry columns to add per ``practice_id`` (peer features, hierarchy:
        :func:`demand.simulation.federation.federation_registry`).
    """
    rows = []
    for p in practices:
        sysinfo = (systems or {}).get(p.practice_id) or SYSTEMS.get(p.practice_id, {})
        q = p.queue
        rows.append(
            {
                "practice_id": p.practice_id,
                "name": p.name,
                "list_size": int(p.list_size),
                "pcn_code": p.pcn_code,
                "pcn_name": p.pcn_name,
                "federation": p.federation,
                "opening_hours": f"Mon-Fri {_clock(q.open_s)}-{_clock(q.close_s)}",
                "phone_system": PHONE_SYSTEM_NAMES.get(sysinfo.get("calls", ""), ""),
                "clinical_system": sysinfo.get("clinical", ""),
            }
        )
    out = pd.DataFrame(rows)
    if features is not None and len(features):
        out = out.merge(features, on="practice_id", how="left")
    return out


def _clock(s: float) -> str:
    return f"{int(s // 3600):02d}:{int(s % 3600 // 60):02d}"


def _prepare(out_dir: Path) -> None:
    """Make ``out_dir`` ready: an earlier demo's exports and store are replaced, nothing else."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise DemoError(f"{out_dir} is a file; give `out_dir` a folder")
    marker = out_dir / MARKER
    busy = [p for p in (out_dir / "exports", out_dir / "store") if p.exists()]
    if busy and not marker.exists():
        raise DemoError(
            f"{out_dir} already has {', '.join(p.name for p in busy)} not written by 'frontdoor demo'; "
            "choose another folder for `out_dir`"
        )
    for p in busy:
        shutil.rmtree(p)
    out_dir.mkdir(parents=True, exist_ok=True)


def write_demo(
    out_dir: str | Path,
    weeks: int = 56,
    seed: int = DEFAULT_SEED,
    start_date: _dt.date = DEFAULT_START,
    practices: tuple[PracticeParams, ...] | None = None,
    progress: ProgressFn | None = None,
    systems: Mapping[str, Mapping[str, str]] | None = None,
) -> Demo:
    """Simulate the demo federation and write its exports under ``out_dir/exports``.

    Parameters
    ----------
    out_dir : str or Path
        Folder for ``exports/`` (and, with :func:`run_demo`, ``store/``). An earlier demo's
        ``exports/`` and ``store/`` there are replaced; a folder holding other such folders is
        refused.
    weeks : int
        Weeks simulated from ``start_date`` (default 56: two Januaries, every bank holiday).
    seed : int
        The same seed (and other arguments) writes the same files, byte for byte.
    start_date : datetime.date
    practices : tuple of PracticeParams, optional
        Default :func:`demand.simulation.population.default_federation`. Practices beyond the three of
        :data:`SYSTEMS` get the X-on and SystmOne layouts.
    progress : callable, optional
        Called with a short message as each practice is done.
    systems : mapping, optional
        Per practice id, ``calls`` and ``appointments`` (format names) and ``clinical``: which
        exports to write (default :data:`SYSTEMS`; others X-on and SystmOne).

    Returns
    -------
    Demo
        The files written (in ingest order), and the simulated calls and appointments per
        practice (the truth the files were written from).

    Raises
    ------
    DemoError
    """
    if weeks < 1:
        raise DemoError("`weeks` must be at least 1")
    out_dir = Path(out_dir)
    _prepare(out_dir)
    practices = tuple(practices) if practices is not None else default_federation()
    own, pools = _pools(len(practices))
    exports = out_dir / "exports"
    demo = Demo(out_dir, [], practices, start_date=start_date, weeks=weeks, seed=seed)
    last = start_date + _dt.timedelta(7 * weeks - 1)
    appts_all = []
    for k, p in enumerate(practices):
        sysinfo = _systems_of(p.practice_id, systems)
        try:
            book = build_book(p, start_date, weeks, seed)
            calls = simulate_calls(p, start_date, weeks, seed, book=book)
            appts = simulate_appointments(p, start_date, weeks, seed, same_day_bookings(calls), book=book)
        except SimulationError as exc:
            raise DemoError(f"{p.practice_id}: {exc}") from None
        numbers = caller_numbers(calls, pools[k], seed)
        calls = calls.assign(number=numbers)
        folder = exports / p.practice_id
        fmt = sysinfo["calls"]
        exported_calls(calls, fmt)  # raises if the system cannot express the simulation
        own_no = own[k % len(own)]
        if fmt == "asterisk_queue_log":
            path = folder / "calls" / "queue_log"
            _write_queue_log(path, calls, numbers, p)
            paths = [path]
        elif fmt == "threecx_report":
            paths = _write_threecx(folder / "calls", calls, numbers, own_no)
        else:
            open_days = set(calls.loc[calls["outcome"] != "closed", "date"])
            paths = _write_xon(folder / "calls", calls, numbers, own_no, open_days)
        demo.files += [DemoFile(x, p.practice_id, "calls", fmt) for x in paths]
        afmt = sysinfo["appointments"]
        apaths = (_write_emis if afmt == "emis_appointments" else _write_systmone)(folder / "appointments", appts)
        demo.files += [DemoFile(x, p.practice_id, "appointments", afmt) for x in apaths]
        demo.calls[p.practice_id] = calls
        demo.appointments[p.practice_id] = appts
        appts_all.append(appts)
        if progress is not None:
            progress(f"simulated {p.practice_id} {p.name}: {len(calls):,} calls, {len(appts):,} slots")
    gpaths = _write_gpad(exports / "gpad", appts_all, list(practices), start_date, last, systems)
    demo.files += [DemoFile(x, None, "gpad", "gpad") for x in gpaths]
    (out_dir / MARKER).write_text(
        json.dumps({"weeks": weeks, "seed": seed, "start_date": start_date.isoformat(),
                    "practices": [p.practice_id for p in practices]}, indent=1) + "\n"
    )
    return demo


def run_demo(
    out_dir: str | Path,
    weeks: int = 56,
    seed: int = DEFAULT_SEED,
    progress: ProgressFn | None = None,
    start_date: _dt.date = DEFAULT_START,
    practices: tuple[PracticeParams, ...] | None = None,
    n_practices: int | None = None,
    national_practices: int = 0,
) -> DemoResult:
    """Write the demo's exports and ingest them into ``out_dir/store`` the normal way.

    Calls go through :func:`telephony.ingest.ingest_file` with each file's format; slot
    exports and the GPAD files through the appointment ingest with the bundled mappings
    (``emis_appointments``, ``systmone_appointments``) and format ``gpad``. The practices
    registry is written to ``store/practices.parquet``.

    Parameters
    ----------
    out_dir, weeks, seed, progress, start_date, practices
        As for :func:`write_demo`.
    n_practices : int, optional
        A federation of this many practices in PCNs
        (:func:`demand.simulation.federation.federation_practices`; 3 is the default demo),
        with their peer features in the registry. Not with ``practices``.
    national_practices : int
        Also write a national CBT-style table (:func:`demand.simulation.national.simulate_national_cbt`)
        of this many invented practices, plus the demo's own, for the demo's last complete
        months (at most three), and add the invented practices to the registry
        (``update_registry(..., source="simulated")``). 0: none.

    Returns
    -------
    DemoResult
        Ingest results per file (the same objects ``frontdoor ingest`` reports).
    """
    systems = features = None
    if n_practices is not None:
        if practices is not None:
            raise DemoError("give `practices` or `n_practices`, not both")
        try:
            fed = federation_practices(n_practices, seed)
        except SimulationError as exc:
            raise DemoError(str(exc)) from None
        practices = tuple(fp.params for fp in fed)
        systems = {fp.params.practice_id: {"calls": fp.calls_format, "appointments": fp.appointments_format,
                                           "clinical": fp.clinical_system} for fp in fed}
        features = federation_registry(fed)
    demo = write_demo(out_dir, weeks, seed, start_date, practices, progress, systems)
    store_dir = Path(out_dir) / "store"
    store = open_store(store_dir, create=True)
    result = DemoResult(demo, store_dir)
    for f in demo.files:
        if f.kind != "calls":
            continue
        result.call_results.append(ingest_file(store, f.path, f.practice_id, fmt=f.fmt, timezone=TZ))
    if progress is not None:
        progress(f"ingested {sum(1 for f in demo.files if f.kind == 'calls')} call exports")
    appt_files = [f for f in demo.files if f.kind != "calls"]
    for f in appt_files:
        if f.kind == "gpad":
            res = ingest_appointment_file(store, f.path, None, fmt="gpad", timezone=TZ)
        else:
            res = ingest_appointment_file(store, f.path, f.practice_id, fmt=f.fmt, timezone=TZ)
        result.appointment_results.append(res)
    if progress is not None:
        progress(f"ingested {len(appt_files)} appointment exports")
    registry = practices_frame(demo.practices, systems, features)
    write_practices(store, registry)
    if national_practices:
        rows = write_demo_national(store, demo, registry, national_practices)
        if progress is not None:
            progress(f"wrote the national CBT-style table: {rows:,} rows ({national_practices:,} simulated practices)")
    return result


def demo_months(demo: Demo, most: int = 3) -> list[_dt.date]:
    """The demo's last complete calendar months (at most ``most``); else the month it covers most of."""
    last = demo.start_date + _dt.timedelta(7 * demo.weeks - 1)
    first = pd.Period(demo.start_date, "M") + (0 if demo.start_date.day == 1 else 1)
    end = pd.Period(last, "M") - (0 if (last + _dt.timedelta(1)).day == 1 else 1)
    months = [p.start_time.date() for p in pd.period_range(first, end, freq="M")] if first <= end else []
    if months:
        return months[-most:]
    days = pd.Series(pd.date_range(demo.start_date, last, freq="D")).dt.to_period("M").value_counts()
    return [days.index[days.argmax()].start_time.date()]


def write_demo_national(store, demo: Demo, registry: pd.DataFrame, n_practices: int) -> int:
    """Write the national CBT-style table: invented England plus the demo's own practices.

    The demo practices' rows come from their simulated calls, every outcome counted
    (:func:`demand.simulation.national.cbt_from_simulation`: what their supplier would submit,
    not what their export shows), with their registry hierarchy. The invented practices are
    added to the registry with ``source="simulated"`` (no federation: they are England).

    Returns
    -------
    int
        Rows written to the national table.
    """
    months = demo_months(demo)
    own = [p.practice_id for p in demo.practices]
    table, invented = simulate_national_cbt(months, n_practices, seed=demo.seed, exclude=own)
    parts = [cbt_from_simulation(c) for c in demo.calls.values()]
    mine = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["month", "practice_id"])
    mine = mine[mine["month"].isin([pd.Timestamp(m) for m in months])]
    reg = registry.set_index("practice_id")
    mine = mine.assign(
        practice_name=mine["practice_id"].map(reg["name"]),
        unassigned=False,
        source="simulated",
        **{c: mine["practice_id"].map(reg[c]) if c in reg.columns else None for c in
           ("pcn_code", "pcn_name", "sub_icb_code", "sub_icb_name", "icb_code", "icb_name", "region_code", "region_name")},
    )
    allrows = pd.concat([table, mine[list(table.columns)]], ignore_index=True)
    update_registry(store, invented, source="simulated")
    return write_national_cbt(store, allrows)
