"""A larger demo federation: N practices in PCNs, with the populations real federations have.

``frontdoor demo --practices N`` simulates the practices returned by :func:`federation_practices`
(no I/O here; :mod:`demand.simulation.demo` writes and ingests their exports). The first three
are always the default demo's (A81001-A81003), so everything that works on the three-practice
demo works on the larger one; then come four practices whose populations make peers matter,
then the rest, spread:

============== =========================================================================
profile        population and how it rings
============== =========================================================================
student        a university practice: a young list (15-44 about 75%), half students;
               less demand per patient, more of it for same-day appointments
care_home      many patients in care homes and over 75: more demand per patient, more
               prescriptions and enquiries later in the day
deprived_urban an inner-city list in the most deprived decile: much more demand per
               patient, no more call handlers than usual for its size (the practice under
               pressure)
rural          a small rural list: a little less demand, calm phones
spread         list sizes 3,000-14,000, demand, staffing and patience varied around the
               defaults
============== =========================================================================

Practices are dealt into PCNs of 3-10 (``ceil(N / 8)`` PCNs, as even as possible; a PCN's
practices are neighbours in code order) and onto the phone systems the demo can write
(Asterisk queue_log, 3CX Call Reports, X-on Surgery Connect) and the two clinical systems, in
turn. A 3CX practice keeps the default 3CX practice's set-up (no call-backs). Every practice starts from
the England calibration (:data:`demand.simulation.population.ENGLAND_DEMAND`, ``ENGLAND_QUEUE``).

How much each profile changes demand and staffing is invented for the demo (plausible, not
fitted), like the rest of the simulation.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from demand.simulation.engine import SimulationError
from demand.simulation.population import (
    ENGLAND_DEMAND,
    ENGLAND_PATIENTS_PER_HANDLER,
    ENGLAND_QUEUE,
    BookParams,
    PracticeParams,
    default_federation,
    default_rota,
)

__all__ = [
    "FederationPractice",
    "PROFILES",
    "CALL_SYSTEMS",
    "MAX_PRACTICES",
    "federation_practices",
    "federation_registry",
]

#: Phone systems the demo writes exports for, dealt in turn (format name, registry name).
CALL_SYSTEMS: tuple[tuple[str, str], ...] = (
    ("asterisk_queue_log", "Asterisk (queue_log)"),
    ("threecx_report", "3CX"),
    ("xon_surgery_connect", "X-on Surgery Connect"),
)
_CLINICAL: tuple[tuple[str, str], ...] = (("emis_appointments", "EMIS"), ("systmone_appointments", "TPP"))
#: The named profiles after the default three practices, in order.
PROFILES: tuple[str, ...] = ("student", "care_home", "deprived_urban", "rural")
#: Most practices a demo federation can have (Ofcom's 3,000 drama numbers are shared among them).
MAX_PRACTICES = 60

_AGE_COLUMNS = ("age_0_4", "age_5_14", "age_15_44", "age_45_64", "age_65_74", "age_75_plus")
_STREETS = (
    "Example", "Sample", "Specimen", "Placeholder", "Mockley", "Testwell", "Madeup", "Fictional", "Notreal",
    "Pretend", "Invented", "Imaginary", "Fakeley", "Standin", "Demo", "Dummy", "Modelton", "Trialby",
)
_KINDS = ("Surgery", "Medical Centre", "Health Centre", "Medical Practice", "Family Practice")


@dataclass(frozen=True)
class FederationPractice:
    """A practice of the demo federation: its simulation, its systems and its peer features.

    Attributes
    ----------
    params : PracticeParams
    profile : str
        ``default``, one of :data:`PROFILES`, or ``spread``.
    calls_format, appointments_format : str
        Ingest format names of its exports.
    phone_system, clinical_system : str
        As the registry names them.
    features : dict
        Registry peer features: the six age shares, ``deprivation_decile``, ``rural``,
        ``share_students``, ``share_care_home``.
    """

    params: PracticeParams
    profile: str
    calls_format: str
    appointments_format: str
    phone_system: str
    clinical_system: str
    features: dict = field(default_factory=dict, hash=False, compare=False)


def _rng(seed: int, stream: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, zlib.crc32(stream.encode())]))


def _ages(young: float = 0.0, old: float = 0.0, rng: np.random.Generator | None = None) -> dict:
    """Age shares around England's, shifted younger (``young``) or older (``old``)."""
    base = np.array([0.05, 0.11, 0.39, 0.26, 0.10, 0.09])
    if rng is not None:
        base = rng.dirichlet(base * 200)
    shifted = base * np.array([1 - young, 1 - young, 1 + 1.2 * young, 1 - young, 1 - young, 1 - young])
    shifted = shifted * np.array([1, 1, 1 - old, 1, 1 + old, 1 + 2.5 * old])
    shifted = shifted / shifted.sum()
    return {c: round(float(v), 4) for c, v in zip(_AGE_COLUMNS, shifted)}


def _pcn_sizes(n: int) -> list[int]:
    k = max(1, math.ceil(n / 8))
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def federation_practices(
    n: int, seed: int = 1, federation: str = "Example Valley GP Federation"
) -> tuple[FederationPractice, ...]:
    """The demo federation of ``n`` practices (see the module docstring).

    Parameters
    ----------
    n : int
        Practices, 3 to :data:`MAX_PRACTICES`. ``3`` is the default demo's federation.
    seed : int
        Varies the spread practices (list sizes, demand, staffing).
    federation : str

    Returns
    -------
    tuple of FederationPractice
        In code order (A81001, A81002, ...).

    Raises
    ------
    SimulationError
        ``n`` out of range.
    """
    if not 3 <= int(n) <= MAX_PRACTICES:
        raise SimulationError(f"a demo federation has 3 to {MAX_PRACTICES} practices; `n_practices` was {n}")
    n = int(n)
    defaults = default_federation()
    rng = _rng(seed, "federation")
    out: list[FederationPractice] = []
    sizes = _pcn_sizes(n)
    pcn_of = [i for i, s in enumerate(sizes) for _ in range(s)]
    for k in range(n):
        pid = f"A81{k + 1:03d}"
        pcn = pcn_of[k]
        pcn_code, pcn_name = f"U{pcn + 1:05d}", f"{_STREETS[pcn % len(_STREETS)]} Valley PCN"
        if n == 3:
            pcn_code, pcn_name = "U00001", "Example Valley PCN"
        calls_fmt, phone = CALL_SYSTEMS[k % len(CALL_SYSTEMS)]
        appt_fmt, clinical = _CLINICAL[0] if k < 2 else _CLINICAL[k % 2]
        if k < 3:
            p = replace(defaults[k], pcn_code=pcn_code, pcn_name=pcn_name, federation=federation)
            profile = "default"
            feats = {**_ages(rng=None), "deprivation_decile": (6, 5, 4)[k], "rural": (0.1, 0.05, 0.2)[k],
                     "share_students": 0.01, "share_care_home": (0.004, 0.006, 0.008)[k]}
            # The default three keep their systems (A81003 is X-on on SystmOne).
            appt_fmt, clinical = (_CLINICAL[0], _CLINICAL[0], _CLINICAL[1])[k]
        else:
            profile = PROFILES[k - 3] if k - 3 < len(PROFILES) else "spread"
            p, feats = _profile(profile, pid, rng, calls_fmt)
            p = replace(p, pcn_code=pcn_code, pcn_name=pcn_name, federation=federation)
        out.append(FederationPractice(p, profile, calls_fmt, appt_fmt, phone, clinical, feats))
    return tuple(out)


def _name(pid: str, rng: np.random.Generator) -> str:
    k = int(pid[-3:])
    return f"{_STREETS[(k * 7) % len(_STREETS)]} {('Street', 'Road', 'Lane', 'Green', 'Park')[k % 5]} {_KINDS[int(rng.integers(len(_KINDS)))]}"


def _profile(profile: str, pid: str, rng: np.random.Generator, calls_fmt: str) -> tuple[PracticeParams, dict]:
    """Simulation parameters and peer features of one non-default practice."""
    d, q, b = ENGLAND_DEMAND, ENGLAND_QUEUE, BookParams()
    name = _name(pid, rng)
    # Call handlers relative to the England ratio for the list size (1: as usual).
    staff = 1.0
    if profile == "student":
        size = 13000
        d = replace(d, weekly_rate=d.weekly_rate * 0.7, need_mix_rush=(0.85, 0.05, 0.04, 0.06),
                    need_mix_later=(0.55, 0.15, 0.10, 0.20))
        feats = {**_ages(young=0.45), "deprivation_decile": 5, "rural": 0.0, "share_students": 0.5, "share_care_home": 0.0}
        name = "University Health Centre"
    elif profile == "care_home":
        size = 8000
        d = replace(d, weekly_rate=d.weekly_rate * 1.3, need_mix_later=(0.35, 0.20, 0.28, 0.17))
        feats = {**_ages(old=0.6), "deprivation_decile": 7, "rural": 0.3, "share_students": 0.0, "share_care_home": 0.045}
    elif profile == "deprived_urban":
        size = 11000
        d = replace(d, weekly_rate=d.weekly_rate * 1.35)
        q = replace(q, patience_median_s=q.patience_median_s * 0.8)
        # staff stays 1: the same handlers as any practice of its size, for more demand
        feats = {**_ages(young=0.15), "deprivation_decile": 1, "rural": 0.0, "share_students": 0.03, "share_care_home": 0.002}
    elif profile == "rural":
        size = 4200
        d = replace(d, weekly_rate=d.weekly_rate * 0.9)
        feats = {**_ages(old=0.25), "deprivation_decile": 8, "rural": 0.85, "share_students": 0.0, "share_care_home": 0.006}
        staff = 1.15
    else:
        size = int(round(float(rng.uniform(3000, 14000)), -2))
        d = replace(d, weekly_rate=d.weekly_rate * float(rng.lognormal(0.0, 0.12)))
        q = replace(q, patience_median_s=q.patience_median_s * float(rng.lognormal(0.0, 0.2)),
                    ivr_hangup_prob=q.ivr_hangup_prob * float(rng.uniform(0.6, 1.4)))
        staff = float(rng.lognormal(0.0, 0.15))
        feats = {**_ages(rng=rng), "deprivation_decile": int(rng.integers(1, 11)), "rural": round(float(rng.beta(0.6, 2.0)), 3),
                 "share_students": round(float(rng.beta(1, 60)), 3), "share_care_home": round(float(rng.beta(1, 250)), 4)}
    if calls_fmt == "threecx_report":  # as the default 3CX practice is set up
        q = replace(q, ivr_s=20.0, callback_from_position=None)
    rota = default_rota(max(1000, int(size * staff)), ENGLAND_PATIENTS_PER_HANDLER)
    params = PracticeParams(pid, name, size, rota=rota, demand=d, queue=q, book=b)
    return params, feats


def federation_registry(practices: tuple[FederationPractice, ...] | list[FederationPractice]) -> pd.DataFrame:
    """The peer features of the demo practices, for the registry (one row each).

    Returns
    -------
    pandas.DataFrame
        ``practice_id`` and the features of :class:`FederationPractice` plus ``nation``
        (``ENG``) and England's example hierarchy above the federation (one sub-ICB, ICB and
        region, invented codes).
    """
    rows = []
    for fp in practices:
        rows.append({"practice_id": fp.params.practice_id, **fp.features, "nation": "ENG",
                     "sub_icb_code": "99X", "sub_icb_name": "NHS Example ICB - 99X",
                     "icb_code": "QXX", "icb_name": "NHS Example Integrated Care Board",
                     "region_code": "Y60", "region_name": "Midlands"})
    df = pd.DataFrame(rows)
    df["deprivation_decile"] = df["deprivation_decile"].astype("Int64")
    return df
