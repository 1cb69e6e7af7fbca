"""Like-for-like: NHS England's CBT outcome categories from canonical calls, and what each
practice's phone system can tell.

Practices on different phone systems record different things (an X-on download has no queue
abandons, only "missed"; a 3CX report has no call-back requests; an Asterisk ``queue_log`` never
sees a call that ended in the menus). Comparing their own words would compare systems, not
practices. :func:`cbt_outcomes` puts every practice's calls into the five categories of NHS
England's monthly "Cloud Based Telephony data in General Practice" publication, which every
practice is measured on, and says beside the figures which system (``source_format``) they come
from and which categories that system cannot tell apart.

Categories (from :data:`demand.definitions.NHS_OUTCOME_MAP`, the one outcome table):

================== =========================================================================
column             canonical outcomes (inbound calls only)
================== =========================================================================
inbound_calls      every inbound call, any outcome
answered           ``answered``
ended_ivr          ``ivr_abandoned``, ``closed`` (ended in menus or messages, before a queue)
callback_requested ``callback`` (a call-back was booked: not answered)
missed             ``missed``, ``voicemail``, ``busy`` and ``abandoned`` (hung up in the queue)
other              ``failed``, ``unknown``: in the inbound total only
================== =========================================================================

The publication's outcomes are answered, ended during IVR, call back requested and missed,
which add up to the national total (55% + 26.5% + 7.6% + 10.9% in January 2026) and its Table 5
reports "missed calls by time waited": a caller who hung up while queued is missed there, so
Frontdoor's ``abandoned`` goes to ``missed``. Frontdoor keeps ``abandoned`` apart elsewhere
(:func:`demand.queue.nhs_metrics`) because the contract's "calls abandoned" metric needs it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from demand.definitions import DEFAULT_TZ, NHS_OUTCOME_MAP, MetricsInputError, local_dates
from demand.rates import period_start, _check_period

__all__ = [
    "CBT_CATEGORIES",
    "CBT_FROM_NHS",
    "WAIT_BANDS",
    "SYSTEM_LIMITS",
    "SYSTEM_NOTES",
    "cbt_outcomes",
    "cbt_category",
    "system_notes",
]

#: The publication's outcome columns, in its order, after the inbound total.
CBT_CATEGORIES: tuple[str, ...] = ("answered", "ended_ivr", "callback_requested", "missed")
#: :data:`demand.definitions.NHS_CATEGORIES` (the contract's) → the publication's categories.
CBT_FROM_NHS: dict[str, str] = {
    "answered": "answered",
    "callbacks_requested": "callback_requested",
    "missed": "missed",
    "abandoned": "missed",
    "ended_before_queue": "ended_ivr",
    "other": "other",
}
#: Time-to-answer bands of the publication's Table 4 (seconds, upper bound excluded).
WAIT_BANDS: tuple[tuple[str, float, float], ...] = (
    ("lt_1m", 0.0, 60.0),
    ("1_2m", 60.0, 120.0),
    ("2_5m", 120.0, 300.0),
    ("gt_5m", 300.0, np.inf),
)

#: What each phone system cannot tell, as CBT category → why: such a category's count is not
#: comparable with other systems' (it is zero, or hidden in another category). Systems not
#: listed record all four categories (as far as their exports have been checked).
SYSTEM_LIMITS: dict[str, dict[str, str]] = {
    "asterisk_queue_log": {
        "ended_ivr": "a queue_log only sees calls that reached a queue: calls ending in the menus are in no category and not in the inbound total",
    },
    "threecx_report": {
        "callback_requested": "3CX call reports have no call-back request word in the exports checked: call-backs count as answered or missed",
    },
    "threecx_inbound": {
        "callback_requested": "3CX reports have no call-back request word in the exports checked",
    },
    "threecx_cdr": {
        "callback_requested": "3CX CDRs do not record call-back requests",
    },
}
#: Notes on systems whose words differ but whose CBT categories are the same (shown beside the
#: figures, not withheld): category → note.
SYSTEM_NOTES: dict[str, dict[str, str]] = {
    "threecx_report": {"ended_ivr": "3CX reports name IVR hang-ups in words not yet checked against real exports"},
    "xon_surgery_connect": {
        "missed": "X-on's downloads have no queue abandons: callers who hung up in the queue are 'Missed' (the CBT category is the same; abandonment rates are not comparable)",
    },
    "asterisk_cdr_csv": {"missed": "a CDR cannot tell a queue abandon from a timeout: both are missed (the CBT category is the same)"},
    "asterisk_cdr_custom": {"missed": "a CDR cannot tell a queue abandon from a timeout: both are missed (the CBT category is the same)"},
    "freepbx_cdr": {"missed": "a CDR cannot tell a queue abandon from a timeout: both are missed (the CBT category is the same)"},
}
# Categories that, when a system never records them, make its figures unlike others'.
_MUST_SEE = ("ended_ivr", "callback_requested")


def cbt_category(outcome: pd.Series) -> pd.Series:
    """The CBT category of each canonical outcome (``other`` for failed / unknown)."""
    nhs = outcome.astype("string").map(NHS_OUTCOME_MAP)
    if nhs.isna().any():
        odd = sorted(set(outcome[nhs.isna()].astype(str)))[:5]
        raise MetricsInputError(f"Unknown outcome(s) {', '.join(odd)}. Known outcomes: {', '.join(NHS_OUTCOME_MAP)}.")
    return nhs.map(CBT_FROM_NHS).astype("string")


def cbt_outcomes(calls: pd.DataFrame, period: str = "month", tz: str = DEFAULT_TZ, *, bands: bool = True) -> pd.DataFrame:
    """NHS CBT outcome counts per practice and period, with the system they come from.

    Parameters
    ----------
    calls : pandas.DataFrame
        Canonical calls: ``practice_id, start_utc, direction, outcome, source_format`` (and
        ``wait_s`` for the bands). Only inbound calls are counted.
    period : {"day", "week", "month", "quarter"}
        Local calendar periods (weeks from Monday).
    tz : str
        The practices' wall clock.
    bands : bool
        Add the publication's time bands: ``answer_<band>`` (answered calls by time to answer)
        and ``missed_<band>`` (missed calls by time waited; a missed call with no wait recorded
        is in no band).

    Returns
    -------
    pandas.DataFrame
        One row per practice and period with inbound calls: ``practice_id``, ``period`` (naive
        first day), int64 ``inbound_calls, answered, ended_ivr, callback_requested, missed,
        other`` (and the bands), ``source_format`` (the systems the period's calls come from,
        joined with ``+``), ``cannot_tell`` (categories those systems cannot tell, ``;``-joined,
        empty when none) and ``none_recorded`` (CBT categories with no call at all over *all*
        the practice's calls given: a system that never records one is suspect even when not
        listed in :data:`SYSTEM_LIMITS`).
    """
    _check_period(period)
    need = ["practice_id", "start_utc", "direction", "outcome", "source_format"] + (["wait_s"] if bands else [])
    missing = [c for c in need if c not in calls.columns]
    if missing:
        raise MetricsInputError(f"The calls have no column {', '.join(missing)}: pass canonical calls (telephony.schema).")
    inb = calls[calls["direction"].astype("string") == "inbound"]
    cat = cbt_category(inb["outcome"])
    frame = pd.DataFrame(
        {
            "practice_id": inb["practice_id"].astype(str).to_numpy(),
            "period": period_start(local_dates(inb["start_utc"], tz), period).to_numpy(),
            "category": cat.to_numpy(),
            "source_format": inb["source_format"].astype("string").fillna("unknown").to_numpy(),
        }
    )
    keys = ["practice_id", "period"]
    counts = pd.crosstab([frame["practice_id"], frame["period"]], frame["category"])
    counts = counts.reindex(columns=[*CBT_CATEGORIES, "other"], fill_value=0)
    out = counts.reset_index()
    out.columns.name = None
    out.insert(2, "inbound_calls", counts.sum(axis=1).to_numpy())
    if bands:
        wait = pd.to_numeric(inb["wait_s"], errors="coerce").to_numpy(dtype="float64")
        for kind in ("answer", "missed"):
            want = "answered" if kind == "answer" else "missed"
            for name, lo, hi in WAIT_BANDS:
                frame["_b"] = (frame["category"].to_numpy() == want) & (wait >= lo) & (wait < hi)
                s = frame.groupby(keys, sort=True)["_b"].sum()
                out[f"{kind}_{name}"] = s.reindex(pd.MultiIndex.from_frame(out[keys])).to_numpy()
    for c in out.columns[2:]:
        out[c] = out[c].astype("int64")
    systems = frame.groupby(keys, sort=True)["source_format"].agg(lambda s: "+".join(sorted(set(s))))
    out["source_format"] = systems.reindex(pd.MultiIndex.from_frame(out[keys])).to_numpy()
    out["cannot_tell"] = [
        "; ".join(sorted({c for f in fmts.split("+") for c in SYSTEM_LIMITS.get(f, {})})) for fmts in out["source_format"]
    ]
    seen = frame.groupby("practice_id")["category"].agg(lambda s: set(s))
    out["none_recorded"] = [", ".join(c for c in _MUST_SEE if c not in seen[p]) for p in out["practice_id"]]
    out["period"] = out["period"].astype("datetime64[us]")
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


def system_notes(outcomes: pd.DataFrame) -> pd.DataFrame:
    """One row per practice and system: which figures cannot be compared, and why.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        :func:`cbt_outcomes`' output.

    Returns
    -------
    pandas.DataFrame
        ``practice_id, source_format, category, why``: a row per category a practice's system
        cannot tell (:data:`SYSTEM_LIMITS`), records under other words (:data:`SYSTEM_NOTES`),
        or never recorded in the data given.
    """
    rows = []
    for pid, grp in outcomes.groupby("practice_id", sort=True):
        formats = sorted({f for s in grp["source_format"] for f in str(s).split("+")})
        done = set()
        for f in formats:
            for cat, why in {**SYSTEM_NOTES.get(f, {}), **SYSTEM_LIMITS.get(f, {})}.items():
                rows.append({"practice_id": pid, "source_format": f, "category": cat, "why": why})
                done.add(cat)
        for cat in str(grp["none_recorded"].iloc[0]).split(", "):
            if cat and cat not in done:
                rows.append({"practice_id": pid, "source_format": "+".join(formats), "category": cat,
                             "why": f"no {cat.replace('_', ' ')} call at all in the data: the system may not record it"})
    return pd.DataFrame(rows, columns=["practice_id", "source_format", "category", "why"])
