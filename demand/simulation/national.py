"""A simulated England for the demo: a national CBT-style table of a few thousand practices.

NHS England's monthly "Cloud Based Telephony data in General Practice" publication gives, per
practice and month, inbound calls and their outcomes (answered, ended during the IVR stage,
call-back requested, missed), call-backs made and the wait and call-length bands, with the
practice → PCN → sub-ICB → ICB → region hierarchy (:mod:`demand.national.cbt`). The demo has no
such publication to ship, so :func:`simulate_national_cbt` makes one: aggregates only, no call,
for invented practices (``source="simulated"``), so that peers and funnel plots have a country to
compare the demo federation with. :func:`cbt_from_calls` derives the same counts from canonical
calls (the demo's own practices, or any practice's store), with the publication's definitions.

Calibration (January 2026, England)
-----------------------------------
590 inbound calls per 1,000 registered patients a month; of them 55% answered, 26.5% ended during
the IVR stage, 7.6% call-back requested, 10.9% missed (the four add up to the total). About
5,100 practices report, and about 100 ``Unassigned``/``Unmapped`` rows carry about 7% of the
national calls. Practices spread around the national mix the way real ones do: most near it, a
tail much worse (answered share 30-40%, a third of calls missed). The spread is drawn on the
log-ratio scale (each outcome against answered: normal noise per practice, plus a heavy-tailed
(Student t, 3 degrees of freedom) "pressure" that moves a practice's calls from answered to
missed and IVR endings together), and the national shares are then brought to the targets.

The numbers of the invented England (list sizes, the effect of age and deprivation on demand,
the bands' shares) are plausible, not fitted to any published practice: the demo's country is a
backdrop, not evidence.

CBT categories from canonical calls
-----------------------------------
=========================== =====================================================================
CBT column                  Frontdoor outcomes of inbound calls
=========================== =====================================================================
inbound_calls               every inbound call, any outcome
answered                    ``answered``
ended_ivr                   ``ivr_abandoned``, ``closed`` (ended in menus or messages, or heard
                            the closed message: never queued, nobody was meant to answer)
callback_requested          ``callback``
missed                      ``abandoned``, ``missed``, ``voicemail``, ``busy`` (queued or rang,
                            not answered: the publication has no separate "abandoned in queue")
callback_made               outbound calls honouring a call-back request
                            (:func:`demand.queue.nhs_metrics`'s ``callbacks_made``)
answer_* bands              ``wait_s`` of answered calls: <1, 1-2, 2-5, >5 minutes
length_* bands              ``talk_s`` of answered calls
missed_* bands              ``wait_s`` of missed calls (unknown wait counts as under a minute)
=========================== =====================================================================
"""

from __future__ import annotations

import datetime as _dt
import zlib
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from demand.definitions import DEFAULT_TZ
from demand.national.cbt import ANSWER_BANDS, CBT_COLUMNS, LENGTH_BANDS, MISSED_BANDS, UNASSIGNED
from demand.like_for_like import cbt_outcomes
from demand.queue import nhs_metrics

__all__ = [
    "ENGLAND_JAN_2026",
    "cbt_from_calls",
    "cbt_from_simulation",
    "cbt_shares",
    "simulate_national_cbt",
]

#: England, January 2026: calls per 1,000 patients a month and the four outcomes' shares.
ENGLAND_JAN_2026: dict[str, float] = {
    "calls_per_1000": 590.0,
    "answered": 0.55,
    "ended_ivr": 0.265,
    "callback_requested": 0.076,
    "missed": 0.109,
}
_BAND_EDGES_S = (60.0, 120.0, 300.0)
_OUTCOMES4 = ("answered", "ended_ivr", "callback_requested", "missed")


# ============================================================================ from calls


def _bands(seconds: np.ndarray) -> np.ndarray:
    """0..3: under 1 minute, 1 to under 2, 2 to under 5, 5 or more (unknown: under 1)."""
    s = np.nan_to_num(np.asarray(seconds, dtype=float), nan=0.0)
    return np.searchsorted(np.asarray(_BAND_EDGES_S), s, side="right").clip(0, 3)


def cbt_from_calls(calls: pd.DataFrame, tz: str = DEFAULT_TZ) -> pd.DataFrame:
    """The publication's counts per practice and month, from canonical calls.

    Parameters
    ----------
    calls : pandas.DataFrame
        Canonical calls (:mod:`telephony.schema`: ``practice_id, start_utc, direction,
        outcome, wait_s, talk_s, caller_key``), any number of practices.
    tz : str
        The practices' wall clock: a call belongs to the month of its local start.

    Returns
    -------
    pandas.DataFrame
        ``month`` (naive first of the month), ``practice_id`` and the count columns of
        :data:`demand.national.cbt.CBT_COLUMNS` (int64), one row per practice and month with
        calls. The four outcomes and the wait bands are :func:`demand.like_for_like.cbt_outcomes`'s
        (``inbound_calls`` also counts calls in none of the four, e.g. ``failed`` or ``unknown``;
        a call without a recorded wait or length is in no band).
    """
    # the four outcomes and the wait bands are like_for_like's (one derivation of the CBT
    # categories); the publication also counts call-backs made and answered calls by length
    counts = cbt_outcomes(calls.assign(source_format=calls.get("source_format", "simulation")), "month", tz)
    out = counts.rename(columns={"period": "month"})
    out["month"] = pd.DatetimeIndex(out["month"]).astype("datetime64[ns]")
    nhs = nhs_metrics(calls, by="month", tz=tz)
    made = pd.DataFrame(
        {
            "month": pd.DatetimeIndex(nhs["month"]).tz_localize(None).astype("datetime64[ns]"),
            "practice_id": nhs["practice_id"].astype(str).to_numpy(),
            "callback_made": nhs["callbacks_made"].to_numpy(),
        }
    )
    out = out.merge(made, on=["month", "practice_id"], how="left")
    inb = calls[calls["direction"].to_numpy() == "inbound"]
    local = pd.DatetimeIndex(inb["start_utc"]).tz_convert(tz)
    month = pd.DatetimeIndex(local.tz_localize(None).to_period("M").start_time).astype("datetime64[ns]")
    key = pd.MultiIndex.from_arrays([month, inb["practice_id"].astype(str).to_numpy()], names=["month", "practice_id"])
    answered = inb["outcome"].to_numpy() == "answered"
    talk = pd.to_numeric(inb["talk_s"], errors="coerce").to_numpy(float)
    b = _bands(talk)
    lengths = pd.DataFrame(
        {name: pd.Series((answered & ~np.isnan(talk) & (b == i)).astype(np.int64), index=key).groupby(level=[0, 1]).sum()
         for i, name in enumerate(LENGTH_BANDS)}
    )
    out = out.merge(lengths.reset_index(), on=["month", "practice_id"], how="left")
    counts_cols = [c for c in CBT_COLUMNS if c in out.columns and c not in ("month", "practice_id")]
    out[counts_cols] = out[counts_cols].fillna(0).astype(np.int64)
    out = out[["month", "practice_id", *counts_cols]]
    return out.sort_values(["practice_id", "month"]).reset_index(drop=True)


def cbt_from_simulation(calls: pd.DataFrame, tz: str = DEFAULT_TZ) -> pd.DataFrame:
    """:func:`cbt_from_calls` of simulated calls, every outcome included (what a supplier submits).

    A phone system's export may drop some calls (Asterisk's queue_log has no IVR or closed
    calls); the supplier's submission to NHS England counts them all, so the demo's national
    rows for its own practices come from the simulation's truth.

    Parameters
    ----------
    calls : pandas.DataFrame
        :func:`demand.simulation.population.simulate_calls` output.
    """
    local = pd.DatetimeIndex(calls["start_local"]).tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    canon = pd.DataFrame(
        {
            "practice_id": calls["practice_id"].astype(str).to_numpy(),
            "start_utc": local.tz_convert("UTC"),
            "direction": calls["direction"].to_numpy(),
            "outcome": calls["outcome"].to_numpy(),
            "wait_s": calls["wait_s"].to_numpy(float),
            "talk_s": calls["talk_s"].to_numpy(float),
            # The patient's list index stands in for the caller's pseudonym (never a number).
            "caller_key": np.where(calls["withheld"].to_numpy(bool), None, "p" + calls["caller"].astype(str).to_numpy()),
        }
    )
    return cbt_from_calls(canon, tz)


def cbt_shares(cbt: pd.DataFrame, per_1000: pd.Series | None = None) -> pd.DataFrame:
    """The four outcomes as shares of inbound calls (and calls per 1,000 patients when list sizes are given).

    Parameters
    ----------
    cbt : pandas.DataFrame
        Rows with ``inbound_calls`` and the four outcome counts.
    per_1000 : pandas.Series, optional
        List size aligned with ``cbt``'s rows.

    Returns
    -------
    pandas.DataFrame
        ``cbt``'s key columns present (``month, practice_id``) and ``answered, ended_ivr,
        callback_requested, missed`` as fractions; ``calls_per_1000`` with list sizes.
    """
    keys = [c for c in ("month", "practice_id") if c in cbt.columns]
    total = cbt["inbound_calls"].astype(float).to_numpy()
    out = cbt[keys].copy()
    for c in _OUTCOMES4:
        out[c] = np.where(total > 0, cbt[c].astype(float).to_numpy() / np.where(total > 0, total, 1), np.nan)
    if per_1000 is not None:
        out["calls_per_1000"] = total / per_1000.astype(float).to_numpy() * 1000.0
    return out


# ============================================================================ the invented England

_REGIONS = (
    ("Y56", "London"), ("Y58", "South West"), ("Y59", "South East"), ("Y60", "Midlands"),
    ("Y61", "East of England"), ("Y62", "North West"), ("Y63", "North East and Yorkshire"),
)
_AGE_COLUMNS = ("age_0_4", "age_5_14", "age_15_44", "age_45_64", "age_65_74", "age_75_plus")
_AGE_MEAN = np.array([0.05, 0.11, 0.39, 0.26, 0.10, 0.09])


def _rng(seed: int, stream: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, zlib.crc32(stream.encode())]))


def _england(n: int, rng: np.random.Generator, taken: set[str]) -> pd.DataFrame:
    """Invented practices with codes, names, hierarchy and peer features."""
    region = rng.integers(0, len(_REGIONS), size=n)
    # ~6 ICBs a region, ~2.5 sub-ICBs an ICB, PCNs of 3-10 practices within a sub-ICB.
    icb = region * 6 + rng.integers(0, 6, size=n)
    sub = icb * 3 + rng.integers(0, 3, size=n)
    order = np.lexsort((rng.random(n), sub))
    rows = []
    pcn_no, left, cur_sub = 0, 0, -1
    letters = "BCDEFGHJKLMNPRSTVWY"
    k = 0
    for j in order:
        if sub[j] != cur_sub or left == 0:
            pcn_no += 1
            left = int(rng.integers(3, 11))
            cur_sub = sub[j]
        left -= 1
        while True:
            code = f"{letters[k % len(letters)]}{85000 + k // len(letters):05d}"
            k += 1
            if code not in taken:
                break
        r = int(region[j])
        rows.append({
            "practice_id": code, "name": f"Simulated Practice {code}",
            "pcn_code": f"U{90000 + pcn_no:05d}", "pcn_name": f"Simulated PCN {pcn_no}",
            "sub_icb_code": f"{90 + int(sub[j]) // 100}{chr(65 + int(sub[j]) % 26)}{int(sub[j]) % 10}",
            "sub_icb_name": f"Simulated Sub-ICB Location {int(sub[j]) + 1}",
            "icb_code": f"Q{int(icb[j]):02d}", "icb_name": f"Simulated ICB {int(icb[j]) + 1}",
            "region_code": _REGIONS[r][0], "region_name": _REGIONS[r][1],
        })
    df = pd.DataFrame(rows)
    n = len(df)
    df["list_size"] = np.clip(np.round(rng.lognormal(np.log(8500), 0.5, size=n)), 1500, 45000).astype(np.int64)
    ages = rng.dirichlet(_AGE_MEAN * 60, size=n)
    students = np.where(rng.random(n) < 0.02, rng.uniform(0.3, 0.85, n), rng.beta(1, 60, n))
    ages[:, 2] += students * 0.5  # student lists are young
    ages /= ages.sum(axis=1, keepdims=True)
    for i, c in enumerate(_AGE_COLUMNS):
        df[c] = np.round(ages[:, i], 4)
    df["deprivation_decile"] = rng.integers(1, 11, size=n).astype(np.int64)
    df["rural"] = np.round(np.clip(rng.beta(0.6, 2.0, n), 0, 1), 3)
    df["share_students"] = np.round(students, 3)
    df["share_care_home"] = np.round(np.where(rng.random(n) < 0.05, rng.uniform(0.02, 0.08, n), rng.beta(1, 300, n)), 4)
    df["nation"] = "ENG"
    return df


def simulate_national_cbt(
    months: Sequence[_dt.date] | Iterable,
    n_practices: int = 3000,
    n_unassigned: int = 100,
    seed: int = 1,
    exclude: Iterable[str] = (),
    target: dict[str, float] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A national CBT-style table of invented practices, calibrated to England.

    Parameters
    ----------
    months : sequence of date-like
        Months of the table (first of the month).
    n_practices : int
        Practices reporting (England: about 5,100 of 6,200).
    n_unassigned : int
        ``Unassigned``/``Unmapped`` rows a month; together they carry about 7% of the calls.
    seed : int
    exclude : iterable of str
        Practice codes not to invent (the demo federation's own).
    target : dict, optional
        Calls per 1,000 and outcome shares to calibrate to (default :data:`ENGLAND_JAN_2026`).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The table (:data:`demand.national.cbt.CBT_COLUMNS`, ``source="simulated"``; for
        :func:`demand.national.cbt.write_national_cbt`) and the invented practices' registry
        rows (list size, hierarchy, age shares, deprivation, rurality, students, care homes;
        for :func:`telephony.practices.update_registry`).

    Notes
    -----
    Demand per patient rises with the shares aged under 5 and over 75, with deprivation and
    with care-home residents, and falls with students (coefficients invented for the demo).
    Each practice keeps its level and its outcome mix from month to month, with small monthly
    noise, so monthly trends look like trends. The national shares of the four outcomes, over
    all rows (unassigned included), are brought to ``target`` by a shift of the log-ratios.
    """
    t = dict(ENGLAND_JAN_2026 if target is None else target)
    months = [pd.Timestamp(m).to_period("M").start_time for m in months]
    if not months:
        raise ValueError("give at least one month")
    rng = _rng(seed, "england")
    reg = _england(int(n_practices), rng, set(exclude))
    n = len(reg)
    # Demand per patient: practice level (fixed) times month-to-month noise.
    level = (
        1.0
        + 1.2 * (reg["age_0_4"] - 0.05) + 1.5 * (reg["age_75_plus"] - 0.09)
        + 0.04 * (5.5 - reg["deprivation_decile"]) - 0.6 * reg["share_students"] + 2.0 * reg["share_care_home"]
    ).to_numpy() * rng.lognormal(0.0, 0.22, size=n)
    pressure = rng.standard_t(3, size=n).clip(-4, 6) * 0.35 + 0.05 * (5.5 - reg["deprivation_decile"].to_numpy())
    tgt = np.array([t["answered"], t["ended_ivr"], t["callback_requested"], t["missed"]])
    base = np.log(tgt[1:] / tgt[0])
    noise = rng.normal(0.0, [0.35, 0.6, 0.45], size=(n, 3))
    pressure_dir = np.array([0.6, 0.1, 1.0])
    un_calls = None
    rows = []
    for mi, month in enumerate(months):
        mr = _rng(seed, f"month-{month:%Y-%m}")
        per_1000 = t["calls_per_1000"] * level * mr.lognormal(0.0, 0.05, size=n)
        calls = mr.poisson(per_1000 * reg["list_size"].to_numpy() / 1000.0)
        lr_p = noise + np.outer(pressure, pressure_dir) + mr.normal(0.0, 0.08, size=(n, 3))
        # Unassigned rows: ~7% of the national calls, national mix.
        if un_calls is None:
            un_w = _rng(seed, "unassigned").lognormal(0.0, 1.0, size=n_unassigned)
            un_calls = un_w / un_w.sum()
        total_un = int(calls.sum() * 0.07 / 0.93)
        calls_u = np.round(un_calls * total_un).astype(np.int64)
        # Shift the log-ratios so the national shares (calls-weighted, all rows) hit the target.
        shift = np.zeros(3)
        for _ in range(30):
            lr = base + shift + lr_p
            e = np.exp(np.column_stack([np.zeros(n), lr]))
            sh = e / e.sum(axis=1, keepdims=True)
            nat = (sh * calls[:, None]).sum(axis=0) + tgt * calls_u.sum()
            nat = nat / nat.sum()
            step = np.log(tgt[1:] / tgt[0]) - np.log(nat[1:] / nat[0])
            shift += step
            if np.abs(step).max() < 1e-6:
                break
        counts = np.array([mr.multinomial(c, p) for c, p in zip(calls, sh)])
        cu = np.array([mr.multinomial(c, tgt / tgt.sum()) for c in calls_u])
        allc = np.vstack([counts, cu])
        total = np.concatenate([calls, calls_u])
        m_all = len(total)
        press_all = np.concatenate([pressure, np.zeros(len(calls_u))])
        df = pd.DataFrame(index=np.arange(m_all))
        df["month"] = month
        df["practice_id"] = list(reg["practice_id"]) + [UNASSIGNED] * len(calls_u)
        df["practice_name"] = list(reg["name"]) + ["Unmapped"] * len(calls_u)
        un_region = _rng(seed, "unassigned-region").integers(0, len(_REGIONS), size=len(calls_u))
        for c in ("pcn_code", "pcn_name", "sub_icb_code", "sub_icb_name", "icb_code", "icb_name"):
            df[c] = list(reg[c]) + [None] * len(calls_u)
        df["region_code"] = list(reg["region_code"]) + [_REGIONS[r][0] for r in un_region]
        df["region_name"] = list(reg["region_name"]) + [_REGIONS[r][1] for r in un_region]
        df["unassigned"] = [False] * n + [True] * len(calls_u)
        df["inbound_calls"] = total
        for i, c in enumerate(_OUTCOMES4):
            df[c] = allc[:, i]
        df["callback_made"] = mr.binomial(df["callback_requested"].to_numpy(), 0.92)
        # Bands: a practice under pressure answers later, and its missed callers waited longer.
        pz = np.clip(press_all, -1.5, 3.0)
        ans = np.column_stack([np.full(m_all, 0.0), -1.2 + 0.5 * pz, -1.0 + 0.7 * pz, -1.5 + 1.0 * pz])
        for names, lr_b, n_col in (
            (ANSWER_BANDS, ans, "answered"),
            (LENGTH_BANDS, np.tile([0.0, 0.25, 0.7, -0.3], (m_all, 1)), "answered"),
            (MISSED_BANDS, np.column_stack([np.zeros(m_all), -0.6 + 0.2 * pz, -0.4 + 0.4 * pz, -0.9 + 0.6 * pz]), "missed"),
        ):
            p = np.exp(lr_b + mr.normal(0, 0.15, size=lr_b.shape))
            p /= p.sum(axis=1, keepdims=True)
            b = np.array([mr.multinomial(k, q) for k, q in zip(df[n_col].to_numpy(), p)])
            for i, c in enumerate(names):
                df[c] = b[:, i]
        df["source"] = "simulated"
        rows.append(df[list(CBT_COLUMNS)])
    table = pd.concat(rows, ignore_index=True)
    registry = reg.assign(valid_from=months[0].date())
    return table, registry
