"""National public data beside a practice's own: NHS England's monthly cloud-based telephony
(CBT) publication (:mod:`demand.national.cbt`) and NHS Digital's monthly "Patients Registered
at a GP Practice" (:mod:`demand.national.registered`).

Both are aggregates per practice and month, never call-level data: they give every practice
in England a list size, an age profile and call outcomes to compare with, and the practice →
PCN → sub-ICB → ICB → region hierarchy.
"""
