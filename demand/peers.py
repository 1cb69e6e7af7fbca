"""Most-alike peers, and a practice's position among them and among England's practices.

A student practice should be compared with student practices, not with its neighbours: demand
per patient depends on who the patients are. :func:`nearest_peers` finds the practices whose
peer features (age shares, deprivation, rurality, students, care-home residents, list size) are
closest after standardising each feature, with weights the analyst can change, and says for each
peer which features made it alike. :func:`percentile_among` places a practice among its peers
or among all practices of the national CBT table as a percentile (not a league table: where it
sits in the spread, not who beats whom).

Frames
------
features
    One row per practice: ``practice_id`` and the columns of :data:`PEER_FEATURES` (null where
    unknown), e.g. :func:`telephony.practices.read_registry`.
national
    NHS England's CBT table (:mod:`demand.national.cbt`): one row per practice and month;
    ``unassigned`` rows (calls no practice could be given) are left out of every comparison and
    kept in national totals (:func:`national_totals`).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from telephony.errors import FrontdoorError
from telephony.practices import PEER_FEATURES

__all__ = [
    "PEER_FEATURES",
    "FEATURE_WORDS",
    "DEFAULT_WEIGHTS",
    "PeerError",
    "standardise",
    "nearest_peers",
    "explain_peers",
    "percentile_among",
    "cbt_measures",
    "national_position",
    "national_totals",
]

#: How each feature is named to people.
FEATURE_WORDS: dict[str, str] = {
    "list_size": "list size",
    "age_0_4": "under-5s",
    "age_5_14": "children 5-14",
    "age_15_44": "adults 15-44",
    "age_45_64": "adults 45-64",
    "age_65_74": "people 65-74",
    "age_75_plus": "people 75+",
    "deprivation_decile": "deprivation",
    "rural": "rurality",
    "share_students": "students",
    "share_care_home": "care-home residents",
}
#: Every feature counts the same by default; the six age shares together weigh as much as two
#: other features (they describe one thing, the age profile, and would otherwise outvote it).
DEFAULT_WEIGHTS: dict[str, float] = {f: (1.0 / 3.0 if f.startswith("age_") else 1.0) for f in PEER_FEATURES}
# Features closer than this many standard deviations count as "alike" in the explanation.
_ALIKE_SD = 0.5


class PeerError(FrontdoorError, ValueError):
    """Peers cannot be found as asked (unknown practice, unknown feature, too few practices)."""


def _weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    w = dict(DEFAULT_WEIGHTS)
    if weights:
        odd = sorted(set(weights) - set(PEER_FEATURES))
        if odd:
            raise PeerError(f"Unknown peer feature(s) {', '.join(odd)} in `weights`. Peer features: {', '.join(PEER_FEATURES)}.")
        bad = [k for k, v in weights.items() if not np.isfinite(v) or v < 0]
        if bad:
            raise PeerError(f"Weights must be 0 or more; {', '.join(bad)} is not.")
        w.update({k: float(v) for k, v in weights.items()})
    return {k: v for k, v in w.items() if v > 0}


def standardise(features: pd.DataFrame, columns: Sequence[str] = PEER_FEATURES) -> pd.DataFrame:
    """Each feature as standard deviations from the mean of the practices given.

    List sizes are taken on a log scale first (a 3,000- and a 6,000-patient practice differ
    as much as a 10,000- and a 20,000-patient one). A feature that does not vary (or is
    unknown for all) is all zeros. Unknown values stay NaN.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``practice_id``, one column per feature.
    """
    missing = [c for c in ("practice_id", *columns) if c not in features.columns]
    if missing:
        raise PeerError(f"The features have no column {', '.join(missing)}: pass the practices registry (read_registry).")
    x = features.set_index(features["practice_id"].astype(str))[list(columns)].apply(pd.to_numeric, errors="coerce").astype("float64")
    if "list_size" in x.columns:
        x["list_size"] = np.log(x["list_size"].where(x["list_size"] > 0))
    sd = x.std(ddof=0)
    z = (x - x.mean()) / sd.where(sd > 0)
    for c in z.columns:
        if not sd[c] > 0:  # no spread (or nothing known): every known value is "average"
            z[c] = np.where(x[c].notna(), 0.0, np.nan)
    return z


def _distances(z: pd.DataFrame, practice_id: str, w: dict[str, float]) -> tuple[pd.Series, pd.DataFrame]:
    cols = [c for c in w if c in z.columns]
    me = z.loc[practice_id, cols]
    gap = (z[cols] - me).abs()
    wv = pd.Series(w)[cols]
    # features unknown for either practice are left out, the weights of the rest rescaled
    known = gap.notna() & me.notna()
    wk = known.mul(wv, axis=1)
    total_w = wk.sum(axis=1)
    d2 = (gap.fillna(0) ** 2).mul(wv, axis=1).where(known, 0).sum(axis=1) / total_w.where(total_w > 0)
    return np.sqrt(d2), gap


def nearest_peers(
    features: pd.DataFrame,
    practice_id: str,
    k: int = 10,
    weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """The ``k`` practices most alike ``practice_id`` on standardised peer features.

    Parameters
    ----------
    features : pandas.DataFrame
        One row per practice: ``practice_id`` and :data:`PEER_FEATURES` (the population
        standardised over: England's practices for a national comparison, the federation's for
        a local one).
    practice_id : str
    k : int
        How many peers.
    weights : mapping of str to float, optional
        Weight of each feature (default :data:`DEFAULT_WEIGHTS`; 0 leaves a feature out).

    Returns
    -------
    pandas.DataFrame
        ``rank`` (1 = most alike), ``practice_id``, ``distance`` (weighted root mean square gap
        in standard deviations over the features known for both), ``alike_on`` (features within
        half a standard deviation, closest first) and ``differs_on`` (the feature furthest
        apart and by how much), most alike first.

    Raises
    ------
    PeerError
        Unknown practice, a practice with no feature known, ``k`` < 1 or unknown weights.
    """
    if k < 1:
        raise PeerError(f"`peers` must be 1 or more, not {k}.")
    w = _weights(weights)
    z = standardise(features)
    pid = str(practice_id)
    if pid not in z.index:
        raise PeerError(f"Practice {pid} is not among the {len(z)} practices given, so it has no peers there.")
    if z.loc[pid, list(w)].isna().all():
        raise PeerError(f"No peer feature is known for {pid}: import its list size and population ('frontdoor practices import').")
    dist, gap = _distances(z, pid, w)
    dist = dist.drop(pid).dropna().sort_values(kind="stable")
    top = dist.index[:k]
    rows = []
    for i, p in enumerate(top, start=1):
        g = gap.loc[p].dropna().sort_values()
        alike = [FEATURE_WORDS[c] for c in g.index if g[c] < _ALIKE_SD]
        far = g.index[-1] if len(g) else None
        rows.append(
            {
                "rank": i,
                "practice_id": p,
                "distance": float(dist[p]),
                "alike_on": ", ".join(alike),
                "differs_on": f"{FEATURE_WORDS[far]} ({g[far]:.1f} sd)" if far is not None and g[far] >= _ALIKE_SD else "",
            }
        )
    return pd.DataFrame(rows, columns=["rank", "practice_id", "distance", "alike_on", "differs_on"])


def explain_peers(features: pd.DataFrame, practice_id: str, peers: Sequence[str], weights: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Why a peer group is alike: each feature, the practice's value, the group's and everyone's.

    Parameters
    ----------
    features : pandas.DataFrame
        As :func:`nearest_peers`.
    practice_id : str
    peers : sequence of str
        The peer group (e.g. ``nearest_peers(...)["practice_id"]``).
    weights : mapping, optional
        As :func:`nearest_peers` (a weight of 0 is shown as "not used").

    Returns
    -------
    pandas.DataFrame
        One row per feature, the features that made the group alike first: ``feature`` (in
        words), ``practice`` (its value), ``peers_median``, ``all_median`` (of every practice
        given), ``gap_sd`` (mean gap between the practice and its peers in standard deviations)
        and ``verdict`` (``made them alike`` / ``partly alike`` / ``differs`` / ``not used`` /
        ``unknown``).
    """
    w = _weights(weights)
    z = standardise(features)
    pid = str(practice_id)
    peers = [str(p) for p in peers]
    unknown = [p for p in [pid, *peers] if p not in z.index]
    if unknown:
        raise PeerError(f"Practice(s) {', '.join(unknown)} not among the practices given.")
    raw = features.set_index(features["practice_id"].astype(str))[list(PEER_FEATURES)].apply(pd.to_numeric, errors="coerce")
    rows = []
    for f in PEER_FEATURES:
        gap = (z.loc[peers, f] - z.loc[pid, f]).abs().mean()
        if f not in w:
            verdict = "not used"
        elif np.isnan(gap):
            verdict = "unknown"
        else:
            verdict = "made them alike" if gap < _ALIKE_SD else ("partly alike" if gap < 2 * _ALIKE_SD else "differs")
        rows.append({"feature": FEATURE_WORDS[f], "practice": raw.loc[pid, f], "peers_median": raw.loc[peers, f].median(),
                     "all_median": raw[f].median(), "gap_sd": gap, "verdict": verdict})
    out = pd.DataFrame(rows)
    order = {"made them alike": 0, "partly alike": 1, "differs": 2, "unknown": 3, "not used": 4}
    return out.sort_values(["verdict", "gap_sd"], key=lambda s: s.map(order) if s.name == "verdict" else s, kind="stable").reset_index(drop=True)


def percentile_among(values: pd.Series, practice_id: str) -> float:
    """Where a practice's value sits among others': the percentage of practices below it.

    Ties count half (the mid-rank percentile), so a value equal to everyone's is the 50th.

    Parameters
    ----------
    values : pandas.Series
        Indexed by practice_id (the practice among them); NaN values are left out.
    practice_id : str

    Returns
    -------
    float
        0–100; NaN when the practice's value is unknown or it is alone.
    """
    v = values.dropna()
    pid = str(practice_id)
    if pid not in v.index or len(v) < 2:
        return float("nan")
    me = v[pid]
    others = v.drop(pid)
    below = (others < me).sum() + 0.5 * (others == me).sum()
    return float(100.0 * below / len(others))


def cbt_measures(national: pd.DataFrame, registry: pd.DataFrame | None = None) -> pd.DataFrame:
    """Comparable measures per practice and month from the national CBT table.

    Parameters
    ----------
    national : pandas.DataFrame
        The national CBT table (``month``, ``practice_id``, ``unassigned``, counts).
    registry : pandas.DataFrame, optional
        ``practice_id``, ``list_size`` (one row per practice): adds calls per 1,000 patients.

    Returns
    -------
    pandas.DataFrame
        Practices only (``unassigned`` rows left out): ``month, practice_id, inbound_calls``
        and the shares ``answered_share, ended_ivr_share, callback_requested_share,
        missed_share`` (of inbound calls; NaN with no calls) and, with a registry,
        ``list_size`` and ``inbound_calls_per_1000``.
    """
    t = national[~national["unassigned"].fillna(False).astype(bool)].copy()
    inbound = pd.to_numeric(t["inbound_calls"], errors="coerce").astype("float64")
    out = t[["month", "practice_id"]].copy()
    out["inbound_calls"] = t["inbound_calls"]
    for c in ("answered", "ended_ivr", "callback_requested", "missed"):
        out[f"{c}_share"] = pd.to_numeric(t[c], errors="coerce").astype("float64") / inbound.where(inbound > 0)
    if registry is not None:
        size = registry.drop_duplicates("practice_id", keep="last").set_index("practice_id")["list_size"]
        out["list_size"] = out["practice_id"].map(size)
        ls = pd.to_numeric(out["list_size"], errors="coerce").astype("float64")
        out["inbound_calls_per_1000"] = inbound / ls.where(ls > 0) * 1000.0
    return out.reset_index(drop=True)


def national_position(measures: pd.DataFrame, practice_id: str, peers: Sequence[str] | None = None, month=None) -> pd.DataFrame:
    """A practice's percentile on each measure among England's practices (and its peers).

    Parameters
    ----------
    measures : pandas.DataFrame
        :func:`cbt_measures`' output (Unassigned rows already left out).
    practice_id : str
    peers : sequence of str, optional
        Its peer group: adds the percentile among them.
    month : date-like, optional
        The month (default: the latest month the practice has).

    Returns
    -------
    pandas.DataFrame
        One row per measure: ``measure``, ``value``, ``england_median``, ``england_percentile``
        (and ``peers_median``, ``peers_percentile``), ``practices`` compared.
    """
    pid = str(practice_id)
    mine = measures[measures["practice_id"] == pid]
    if mine.empty:
        raise PeerError(f"Practice {pid} is not in the national CBT table: ingest a month that covers it ('frontdoor ingest cbt').")
    m = pd.Timestamp(month) if month is not None else pd.Timestamp(mine["month"].max())
    now = measures[pd.to_datetime(measures["month"]) == m].set_index("practice_id")
    cols = [c for c in now.columns if c.endswith("_share") or c.endswith("_per_1000")]
    rows = []
    for c in cols:
        row = {"measure": c, "value": now[c].get(pid, np.nan), "england_median": now[c].median(),
               "england_percentile": percentile_among(now[c], pid), "practices": int(now[c].notna().sum())}
        if peers is not None:
            group = now.loc[now.index.intersection([pid, *map(str, peers)]), c]
            row["peers_median"] = group.drop(pid, errors="ignore").median()
            row["peers_percentile"] = percentile_among(group, pid)
        rows.append(row)
    return pd.DataFrame(rows)


def national_totals(national: pd.DataFrame) -> pd.DataFrame:
    """England's totals per month: every row, the Unassigned ones included.

    Returns
    -------
    pandas.DataFrame
        ``month``, the summed counts, ``practices`` (assigned practices reporting) and
        ``unassigned_share`` of inbound calls.
    """
    counts = [c for c in national.columns if c not in ("month", "practice_id", "unassigned") and pd.api.types.is_integer_dtype(national[c])]
    t = national.copy()
    t["_assigned"] = ~t["unassigned"].fillna(False).astype(bool)
    out = t.groupby("month", sort=True).agg(**{c: (c, "sum") for c in counts}, practices=("_assigned", "sum"))
    un = t[~t["_assigned"]].groupby("month")["inbound_calls"].sum()
    out["unassigned_share"] = un.reindex(out.index).fillna(0).astype("float64") / out["inbound_calls"].astype("float64")
    return out.reset_index()
