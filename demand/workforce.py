"""Workforce and continuity: skill mix, consultation length, and the St Leonard's index.

Pure functions over canonical appointment slots (:mod:`demand.appointments.schema`); no I/O.
Patient and clinician identifiers are the keyed pseudonyms written at ingest
(``patient_key``, ``clinician_key``); nothing here needs, or could recover, the real ones.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from demand.appointments.schema import ROLES
from demand.capacity import by_codes, by_labels, check_by
from demand.definitions import DEFAULT_TZ, MetricsInputError, bucket_keys, group_stats, names_at
from demand.slots import PreparedSlots, distinct, in_period, pack, prepare_slots

__all__ = [
    "skill_mix",
    "consultation_length",
    "continuity",
    "SKILL_MIX_COLUMNS",
    "CONSULTATION_LENGTH_COLUMNS",
    "CONTINUITY_COLUMNS",
]

_GP = ROLES.index("GP")

SKILL_MIX_COLUMNS: tuple[str, ...] = (
    "practice_id",
    "month",
    "role",
    "list_size",
    "appointments",
    "sessions",
    "appointments_per_1000",
    "sessions_per_1000",
)
CONSULTATION_LENGTH_COLUMNS: tuple[str, ...] = (
    "attended",
    "minutes_attended",
    "duration_mean_min",
    "duration_p50_min",
    "duration_p90_min",
)
CONTINUITY_COLUMNS: tuple[str, ...] = (
    "practice_id",
    "month",
    "gp_appointments",
    "identified",
    "with_usual_gp_known",
    "with_usual_gp",
    "slicc",
    "full_history",
    "note",
)


def _month_index(ps: PreparedSlots) -> np.ndarray:
    """Local calendar month of each slot as whole months since January 1970 (shared, read-only)."""
    return ps.cached("month_index", lambda: bucket_keys(ps.utc, ps.wall, "MS").view("M8[ns]").astype("M8[M]").astype("int64"))


def _months(index: np.ndarray) -> np.ndarray:
    """Naive ``datetime64[us]`` first days of months from month numbers."""
    return np.asarray(index, dtype="int64").view("M8[M]").astype("M8[us]")


def _list_sizes(list_size, practices: np.ndarray) -> np.ndarray:
    """List size of each practice (float, NaN when not given)."""
    if isinstance(list_size, pd.DataFrame):
        if not {"practice_id", "list_size"} <= set(list_size.columns):
            raise MetricsInputError("list_size frame needs columns practice_id and list_size.")
        if list_size["practice_id"].duplicated().any():
            raise MetricsInputError("list_size frame has more than one row for a practice.")
        sizes = dict(zip(list_size["practice_id"].astype(str), list_size["list_size"]))
    elif isinstance(list_size, pd.Series):
        sizes = {str(k): v for k, v in list_size.items()}
    elif isinstance(list_size, Mapping):
        sizes = {str(k): v for k, v in list_size.items()}
    else:
        raise MetricsInputError("list_size must be a mapping practice_id -> list size, or a frame practice_id, list_size.")
    try:
        out = np.array([float(sizes[p]) if sizes.get(p) is not None else np.nan for p in practices], dtype="float64")
    except (TypeError, ValueError) as err:
        raise MetricsInputError("list sizes must be numbers of registered patients.") from err
    if (out <= 0).any():
        raise MetricsInputError("list sizes must be positive numbers of registered patients.")
    return out


def skill_mix(
    slots: pd.DataFrame,
    list_size,
    tz: str = DEFAULT_TZ,
    start=None,
    end=None,
    session_split=13,
) -> pd.DataFrame:
    """Appointments and clinical sessions by role per 1,000 registered patients, per month.

    Parameters
    ----------
    slots : pandas.DataFrame
        Canonical slots (``practice_id, start_utc, role, status, category, booked_utc,
        duration_min``; ``clinician_key`` for sessions).
    list_size : mapping, pandas.Series or pandas.DataFrame
        Registered patients per practice: ``{practice_id: size}``, a Series indexed by
        practice_id, or a frame with columns ``practice_id, list_size``.
    tz : str
        IANA timezone whose calendar months and sessions are used (default ``Europe/London``).
    start, end : str or pandas.Timestamp, optional
        Slots starting in ``[start, end)`` (naive = local time).
    session_split : int, float, str or datetime.time
        Local time at which the ``pm`` session starts (default 13:00).

    Returns
    -------
    pandas.DataFrame
        One row per ``practice_id``, ``month`` (naive first day of the local month) and
        ``role`` with at least one slot (any status), in schema role order, with
        :data:`SKILL_MIX_COLUMNS`: ``list_size`` (float, NaN if not given), ``appointments``
        (int64), ``sessions`` (float: NaN when no slot of the group carries a
        ``clinician_key``), ``appointments_per_1000``, ``sessions_per_1000`` (float, NaN
        without a list size).

    Raises
    ------
    MetricsInputError
        A missing column, a bad list size (not a number, zero or negative), or any input
        error of :func:`demand.capacity.capacity_metrics`.

    Notes
    -----
    - ``appointments``: booked slots (``booked + attended + dna``) starting in the month.
    - ``sessions``: distinct ``clinician_key`` × local day × session (am/pm) with at least one
      offered (not cancelled) slot of that role: a clinician's morning surgery is one session
      however many slots it has; a session cancelled whole is not one. Only slots carrying a
      ``clinician_key`` can be counted (some exports leave it empty on unbooked slots).
    - ``x_per_1000 = x / list_size * 1000`` for the month (not annualised). One list size per
      practice: for long periods pass the size that fits the period.
    """
    ps = prepare_slots(slots, tz, start, end, session_split, need=("role",))
    sizes = _list_sizes(list_size, ps.practices)
    month = _month_index(ps)
    n_p = len(ps.practices)
    m0 = int(month.min()) if len(month) else 0
    n_m = int(month.max()) - m0 + 1 if len(month) else 1
    group = pack((ps.practice, n_p), (month - m0, n_m), (ps.role, len(ROLES)))
    uniq, row = np.unique(group, return_inverse=True)
    row = row.ravel()
    n = len(uniq)
    g_practice, rest = np.divmod(uniq, n_m * len(ROLES))
    g_month, g_role = np.divmod(rest, len(ROLES))

    appointments = np.bincount(row[ps.booked], minlength=n)
    if "clinician_key" in ps.slots.columns:
        clinician = ps.key_codes("clinician_key", sort=True)  # as continuity's: computed once
        keyed = ps.offered & (clinician >= 0)
        d0 = int(ps.day.min()) if len(ps.day) else 0
        n_d = int(ps.day.max()) - d0 + 1 if len(ps.day) else 1
        sess = pack(
            (row[keyed], n),
            (clinician[keyed], int(clinician.max(initial=0)) + 1),
            (ps.day[keyed] - d0, n_d),
            (ps.session[keyed], 2),
        )
        per_clin = int(clinician.max(initial=0) + 1) * n_d * 2
        sessions = np.bincount(distinct(sess) // per_clin, minlength=n).astype("float64")
        sessions[np.bincount(row[keyed], minlength=n) == 0] = np.nan
    else:
        sessions = np.full(n, np.nan)
    size = sizes[g_practice]
    out = pd.DataFrame(
        {
            "practice_id": names_at(ps.practices, g_practice),
            "month": _months(g_month + m0),
            "role": names_at(ROLES, g_role),
            "list_size": size,
            "appointments": appointments.astype("int64"),
            "sessions": sessions,
            "appointments_per_1000": appointments / size * 1000,
            "sessions_per_1000": sessions / size * 1000,
        }
    )
    return out


def consultation_length(
    slots: pd.DataFrame,
    by: Iterable[str] | str | None = ("role", "mode"),
    tz: str = DEFAULT_TZ,
    start=None,
    end=None,
) -> pd.DataFrame:
    """Length of attended appointments (slot duration) by role and mode.

    Parameters
    ----------
    slots : pandas.DataFrame
        Canonical slots (``practice_id, start_utc, status, category, booked_utc,
        duration_min`` and the ``by`` columns).
    by : iterable of {"role", "mode", "category"}, optional
        Breakdown (default role and mode); ``()`` for one row per practice.
    tz : str
        IANA timezone, only used to read naive ``start``/``end``.
    start, end : str or pandas.Timestamp, optional
        Slots starting in ``[start, end)``.

    Returns
    -------
    pandas.DataFrame
        One row per ``practice_id`` and breakdown value with at least one attended slot
        (schema order), with :data:`CONSULTATION_LENGTH_COLUMNS`: ``attended`` (int64),
        ``minutes_attended``, ``duration_mean_min``, ``duration_p50_min``,
        ``duration_p90_min`` (float).

    Notes
    -----
    - Over ``attended`` slots only (a DNA or unused slot says nothing about consultations).
    - The length is the slot's booked ``duration_min``: exports carry no actual consultation
      times, and a clinician who runs late still has 10-minute slots. Median and 90th
      percentile interpolate linearly (numpy's default).
    """
    by = check_by(by)
    ps = prepare_slots(slots, tz, start, end, need=[b for b in by if b != "category"])
    att = ps.is_status("attended")
    dims = [(ps.practice, len(ps.practices)), *by_codes(ps, by)]
    key = pack(*[(c[att], s) for c, s in dims])
    uniq, row = np.unique(key, return_inverse=True)
    row = row.ravel()
    n = len(uniq)
    parts = np.unravel_index(uniq, tuple(max(int(s), 1) for _, s in dims))
    dur = ps.duration[att]
    stats = group_stats(row, dur, n, (0.5, 0.9))
    out = pd.DataFrame({"practice_id": names_at(ps.practices, parts[0])})
    for i, b in enumerate(by):
        out[b] = by_labels(parts[1 + i], b)
    out["attended"] = np.bincount(row, minlength=n).astype("int64")
    out["minutes_attended"] = np.bincount(row, weights=np.nan_to_num(dur), minlength=n)
    out["duration_mean_min"] = stats["mean"]
    out["duration_p50_min"] = stats[0.5]
    out["duration_p90_min"] = stats[0.9]
    return out


def _named_gp(usual, patient: pd.Series, practice: pd.Series) -> pd.Series:
    """The named (personal-list) GP of each patient, from a mapping or a frame; null if none."""
    if isinstance(usual, pd.DataFrame):
        if not {"patient_key", "clinician_key"} <= set(usual.columns):
            raise MetricsInputError("A usual-GP frame needs columns patient_key and clinician_key.")
        on = ["practice_id", "patient_key"] if "practice_id" in usual.columns else ["patient_key"]
        if usual.duplicated(on).any():
            raise MetricsInputError("A usual-GP frame names more than one GP for a patient.")
        left = pd.DataFrame({"practice_id": practice.astype("object"), "patient_key": patient.astype("object")})
        right = usual[on + ["clinician_key"]].astype("object")
        return left.merge(right, how="left", on=on)["clinician_key"]
    if isinstance(usual, Mapping):
        return patient.astype("object").map(dict(usual)).reset_index(drop=True)
    raise MetricsInputError(
        f"usual must be 'most_seen', or a mapping / frame of each patient_key's named GP, got {usual!r}."
    )


def _most_seen(p: np.ndarray, c: np.ndarray, m: np.ndarray, t: np.ndarray, target: np.ndarray, window: int) -> np.ndarray:
    """Usual GP (clinician code, -1 if none) of each target appointment.

    Parameters
    ----------
    p, c, m, t : numpy.ndarray
        Patient code, clinician code, month number and UTC ns of every identified attended GP
        appointment (the history, target months included).
    target : numpy.ndarray
        Indices into those arrays of the appointments to judge.
    window : int
        Months of history before the appointment's month.

    Notes
    -----
    Visits are counted per patient, GP and month, sorted by (patient, GP, month), with a
    running total; a patient-month's visits to a GP in its window are then the difference of
    two running totals found by binary search, and the last visit in the window is the last
    of the latest month in it (later months hold later visits). Only the GPs each patient has
    ever seen are candidates, so the work grows with the appointments, not with patients x GPs
    x months.
    """
    empty = np.full(len(target), -1, dtype="int64")
    if len(target) == 0 or len(p) == 0:
        return empty
    n_pat = int(p.max()) + 1
    n_c = int(c.max()) + 1
    m_lo = int(m.min())
    span = int(m.max()) - m_lo + 1
    key = pack((p, n_pat), (c, n_c), (m - m_lo, span))
    order = np.argsort(key)  # visits of one key are only counted and their latest taken
    k = key[order]
    new = np.ones(len(k), dtype=bool)
    new[1:] = k[1:] != k[:-1]
    starts = np.flatnonzero(new)
    agg_key = k[starts]  # one per patient, GP and month, sorted
    before = np.append(starts, len(k))  # visits before each aggregated row (and the total)
    last = np.maximum.reduceat(t[order], starts)

    pair = distinct(agg_key // span)  # patient x GP pairs seen, sorted
    pair_patient = pair // n_c
    tkey = pack((p[target], n_pat), (m[target] - m_lo, span))
    pm, target_pm = np.unique(tkey, return_inverse=True)  # target patient-months
    pm_patient, pm_month = np.divmod(pm, span)
    lo = np.searchsorted(pair_patient, pm_patient, side="left")
    hi = np.searchsorted(pair_patient, pm_patient, side="right")
    per = hi - lo
    cand_pm = np.repeat(np.arange(len(pm)), per)  # each target patient-month x each GP of the patient
    cand_pair = pair[np.arange(int(per.sum())) - np.repeat(np.cumsum(per) - per, per) + np.repeat(lo, per)]
    month = pm_month[cand_pm]
    a = np.searchsorted(agg_key, cand_pair * span + np.maximum(month - window, 0), side="left")
    b = np.searchsorted(agg_key, cand_pair * span + month, side="left")  # months before the target's
    visits = before[b] - before[a]
    seen = visits > 0
    cand_pm, cand_c, visits = cand_pm[seen], (cand_pair % n_c)[seen], visits[seen]
    cand_last = last[b[seen] - 1]
    usual = np.full(len(pm), -1, dtype="int64")
    if len(cand_pm) == 0:
        return usual[target_pm.ravel()]
    # candidates come grouped by patient-month: most visits; ties to the most recently seen;
    # then the lowest code (sorted pseudonym), each a reduction over the group
    group_start = np.flatnonzero(np.diff(cand_pm, prepend=-1) != 0)
    group = np.cumsum(np.diff(cand_pm, prepend=-1) != 0) - 1
    best = visits == np.maximum.reduceat(visits, group_start)[group]
    latest = np.where(best, cand_last, np.iinfo("int64").min)
    best &= cand_last == np.maximum.reduceat(latest, group_start)[group]
    lowest = np.minimum.reduceat(np.where(best, cand_c, np.iinfo("int64").max), group_start)
    usual[cand_pm[group_start]] = lowest
    return usual[target_pm.ravel()]


def continuity(
    slots: pd.DataFrame,
    usual="most_seen",
    tz: str = DEFAULT_TZ,
    window_months: int = 12,
    start=None,
    end=None,
) -> pd.DataFrame:
    """The St Leonard's Index of Continuity of Care (SLICC) per practice and local month.

    Parameters
    ----------
    slots : pandas.DataFrame
        Canonical slots (``practice_id, start_utc, role, status, category, booked_utc,
        duration_min``, and ``patient_key``, ``clinician_key`` to measure anything).
    usual : "most_seen", mapping or pandas.DataFrame
        How a patient's usual GP is found. ``"most_seen"`` (default): from their history, see
        Notes. A mapping ``patient_key -> clinician_key`` or a frame with ``patient_key,
        clinician_key`` (and optionally ``practice_id``): the named GP of a personal list,
        which is how the index was first defined.
    tz : str
        IANA timezone whose calendar months are used (default ``Europe/London``).
    window_months : int
        Months of history before an appointment's month that define the usual GP (default 12).
    start, end : str or pandas.Timestamp, optional
        Months to report: appointments starting in ``[start, end)`` (naive = local time).
        History is read from every slot given, including before ``start``.

    Returns
    -------
    pandas.DataFrame
        One row per ``practice_id`` and ``month`` (naive first day of the local month) with at
        least one attended GP appointment, with :data:`CONTINUITY_COLUMNS`:
        ``gp_appointments``, ``identified``, ``with_usual_gp_known``, ``with_usual_gp``
        (int64), ``slicc`` (float, NaN when not measurable), ``full_history`` (bool) and
        ``note`` (why ``slicc`` is NaN; null otherwise).

    Raises
    ------
    MetricsInputError
        A bad ``usual`` or ``window_months``, or any input error of the slot metrics.

    Notes
    -----
    - ``gp_appointments``: attended slots with ``role == "GP"`` in the month;
      ``identified``: those carrying both ``patient_key`` and ``clinician_key``.
    - Usual GP, ``"most_seen"``: the GP the patient saw at most attended GP appointments in
      the ``window_months`` whole calendar months *before* the appointment's month (for an
      appointment in March 2026 with the default, March 2025 to February 2026). The month
      itself is left out, so the usual GP is known before the visit (no look-ahead) and a
      visit never makes its own clinician usual. Ties go to the GP seen most recently, then
      to the lowest pseudonym. A patient with no GP appointment in the window has no usual GP.
    - ``with_usual_gp_known``: identified appointments whose patient has a usual GP;
      ``with_usual_gp``: those with that GP. ``slicc = with_usual_gp / with_usual_gp_known``,
      the St Leonard's share of GP appointments with the patient's usual GP (Sidaway-Lee et
      al., 2019), over the appointments where "usual" means something.
    - ``full_history``: the whole window lies within the practice's slot data (its first
      slot's month or later); early months rest on a shorter history.
    - ``note`` says why ``slicc`` is NaN: the export lacks the pseudonyms, no appointment of
      the month carries them, or no patient of the month had a usual GP.
    """
    if not isinstance(window_months, (int, np.integer)) or isinstance(window_months, bool) or window_months < 1:
        raise MetricsInputError(f"window_months must be a whole number of months, 1 or more, got {window_months!r}.")
    most_seen = isinstance(usual, str)
    if most_seen and usual != "most_seen":
        raise MetricsInputError(f"usual must be 'most_seen' or a mapping of named GPs, got {usual!r}.")
    # the whole frame is read: months before `start` are the first months' history
    ps = prepare_slots(slots, tz, need=("role",))
    month = _month_index(ps)
    n_p = len(ps.practices)
    first_month = np.full(n_p, np.iinfo("int64").max, dtype="int64")
    np.minimum.at(first_month, ps.practice, month)
    gp = ps.is_status("attended") & (ps.role == _GP)
    report = gp & in_period(ps.utc, start, end, tz)

    missing = [c for c in ("patient_key", "clinician_key") if c not in ps.slots.columns]
    if missing:
        identified = np.zeros(len(gp), dtype=bool)
    else:
        pat = ps.key_codes("patient_key")
        clinician = ps.key_codes("clinician_key", sort=True)  # ties go to the lowest pseudonym
        identified = gp & (pat >= 0) & (clinician >= 0)
        # a patient is a pseudonym within a practice: the same key at two practices is two people
        patient = pack((ps.practice, n_p), (np.maximum(pat, 0), int(pat.max(initial=0)) + 1))
    target = np.flatnonzero(identified & report)
    has_usual = np.zeros(len(gp), dtype=bool)
    saw_usual = np.zeros(len(gp), dtype=bool)
    if len(target) and most_seen:
        hist = np.flatnonzero(identified)
        u = _most_seen(
            patient[hist], clinician[hist], month[hist], ps.utc[hist], np.searchsorted(hist, target), window_months
        )
        has_usual[target] = u >= 0
        saw_usual[target] = clinician[target] == u
    elif len(target):
        named = _named_gp(
            usual,
            ps.slots["patient_key"].iloc[target].reset_index(drop=True),
            pd.Series(ps.practices[ps.practice[target]]),
        ).to_numpy(dtype=object)
        seen = ps.slots["clinician_key"].iloc[target].astype("object").to_numpy()
        has_usual[target] = pd.notna(named)
        saw_usual[target] = pd.notna(named) & (named == seen)

    m0 = int(month.min(initial=0))
    n_m = int(month.max(initial=0)) - m0 + 1
    uniq, row = np.unique(pack((ps.practice[report], n_p), (month[report] - m0, n_m)), return_inverse=True)
    row = row.ravel()
    n = len(uniq)
    g_practice, g_month = np.divmod(uniq, n_m)
    g_month = g_month + m0
    ident = np.bincount(row[identified[report]], minlength=n)
    known = np.bincount(row[has_usual[report]], minlength=n)
    with_usual = np.bincount(row[saw_usual[report]], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        slicc = np.where(known > 0, with_usual / np.where(known > 0, known, 1), np.nan)
    if missing:
        why_none = f"the slot export has no {' or '.join(missing)}: continuity needs both pseudonyms"
    else:
        why_none = "no GP appointment of the month carries both patient_key and clinician_key"
    why_unknown = (
        f"no patient seen this month had a GP appointment in the {window_months} months before"
        if most_seen
        else "no patient seen this month has a named GP"
    )
    notes = np.where(ident == 0, why_none, np.where(known == 0, why_unknown, "")).astype(object)
    notes[notes == ""] = None
    full = (g_month - window_months >= first_month[g_practice]) if most_seen else np.ones(n, dtype=bool)
    return pd.DataFrame(
        {
            "practice_id": names_at(ps.practices, g_practice),
            "month": _months(g_month),
            "gp_appointments": np.bincount(row, minlength=n).astype("int64"),
            "identified": ident.astype("int64"),
            "with_usual_gp_known": known.astype("int64"),
            "with_usual_gp": with_usual.astype("int64"),
            "slicc": slicc.astype("float64"),
            "full_history": full.astype(bool),
            "note": pd.Series(notes, dtype="object"),
        }
    )
